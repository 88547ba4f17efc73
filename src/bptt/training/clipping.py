"""Gradient clipping on gradient dicts, in place, returning the norm it saw.

    norm = clip_by_norm(grads, 5.0)    # log or plot `norm`: it is the norm before clipping
    norm = clip_by_value(grads, 1.0)

The global norm is the L2 norm of all entries of all arrays taken together,

    ‖g‖ = √(Σ_k Σ_i g_k[i]²)

accumulated in float64 whatever the gradients' dtype, so that float32 gradients of a few 1e19
(an exploding gradient) give a finite norm instead of overflowing.

A non-finite norm (an inf or nan entry, or a sum of squares past float64's range) is returned
unchanged and the gradients are left as they are: scaling by max_norm/inf = 0 or by nan would
hide the blow-up. Deciding what to do about it is the caller's job (the trainer checks the
returned norm). This is where ``clip_by_norm`` departs from ``torch.nn.utils.clip_grad_norm_``
(which scales by 0 or nan); for finite norms the two agree.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .. import _validate as v

__all__ = ["global_norm", "clip_by_norm", "clip_by_value"]

NORM_EPS = 1e-6  # as torch.nn.utils.clip_grad_norm_: scale = max_norm / (norm + 1e-6)


def _check_grads(grads, owner: str, in_place: bool) -> None:
    if not isinstance(grads, Mapping):
        raise TypeError(f"The 'grads' argument of {owner} must be a dict of arrays. "
                        f"Got {type(grads).__name__} instead.")
    for k, g in grads.items():
        if in_place and not isinstance(g, np.ndarray):
            raise TypeError(f"grads[{k!r}] given to {owner} must be a numpy array (it is clipped "
                            f"in place). Got {type(g).__name__} instead.")
        if np.asarray(g).dtype.kind != "f":
            raise TypeError(f"grads[{k!r}] given to {owner} must hold floats. "
                            f"Got dtype {np.asarray(g).dtype} instead.")


def _norm(grads) -> float:
    """√(Σ_k Σ_i g_k[i]²), accumulated in float64; no checks. The sums are einsum's, not BLAS's
    dot: OpenBLAS runs long dots on its threads, which then spin for a while and take the cores
    from the next pass's batch slices (`bptt.cells.slicing`: a 2-thread LSTM step went from
    22 to 38 ms at T50 B32 H256)."""
    total = 0.0
    for g in grads.values():
        g64 = np.asarray(g, dtype=np.float64).ravel()
        total += float(np.einsum("i,i->", g64, g64))  # Σ_i g_k[i]²
    return math.sqrt(total)  # ‖g‖ = √(Σ_k Σ_i g_k[i]²)


def global_norm(grads) -> float:
    """The L2 norm of all entries of all arrays in `grads` together (0.0 for an empty dict):
    a dict of arrays of any shapes, e.g. W (H, H) and b (H,).

    Examples:
        >>> from bptt.clipping import global_norm
        >>> grads = {"W": np.array([[3.0, 0.0], [0.0, 0.0]]), "b": np.array([4.0, 0.0])}
        >>> global_norm(grads)                                      # √(3² + 4²)
        5.0
    """
    _check_grads(grads, "global_norm", in_place=False)
    return _norm(grads)


def clip_by_norm(grads, max_norm) -> float:
    """Rescale `grads` in place so that their global norm is at most `max_norm`.

    As ``torch.nn.utils.clip_grad_norm_``::

        scale = max_norm / (‖g‖ + 1e-6)
        g_k ← scale · g_k   for every key, when scale < 1 (left untouched otherwise)

    Returns ‖g‖ before clipping. A non-finite ‖g‖ is returned unchanged and nothing is scaled.
    grads: a dict of arrays of any shapes, e.g. W (H, H) and b (H,).

    Examples:
        >>> from bptt.clipping import clip_by_norm, global_norm
        >>> grads = {"W": np.array([[3.0, 0.0], [0.0, 0.0]]), "b": np.array([4.0, 0.0])}
        >>> clip_by_norm(grads, 1.0)                                # the norm it saw
        5.0
        >>> grads["b"], round(global_norm(grads), 6)                # scaled by 1 / (5 + 1e-6)
        (array([0.8, 0. ]), 1.0)
    """
    owner = "clip_by_norm"
    max_norm = v.check_float(max_norm, "max_norm", owner, low=0, low_open=True)
    _check_grads(grads, owner, in_place=True)
    norm = _norm(grads)
    if not math.isfinite(norm):
        return norm
    scale = max_norm / (norm + NORM_EPS)  # max_norm / (‖g‖ + 1e-6)
    if scale < 1.0:
        for g in grads.values():
            g *= scale  # g_k ← scale · g_k (in the gradient's own dtype)
    return norm


def clip_by_value(grads, limit) -> float:
    """Clip every entry of `grads` to [-limit, limit] in place, as
    ``torch.nn.utils.clip_grad_value_``: g_k[i] ← min(max(g_k[i], −limit), limit).

    Returns the global norm ‖g‖ before clipping. nan entries stay nan. grads: a dict of
    arrays of any shapes, e.g. W (H, H) and b (H,).

    Examples:
        >>> from bptt.clipping import clip_by_value
        >>> grads = {"W": np.array([[3.0, 0.0], [0.0, 0.0]]), "b": np.array([4.0, 0.0])}
        >>> clip_by_value(grads, 1.0), grads["W"], grads["b"]
        (5.0, array([[1., 0.],
               [0., 0.]]), array([1., 0.]))
    """
    owner = "clip_by_value"
    limit = v.check_float(limit, "limit", owner, low=0, low_open=True)
    _check_grads(grads, owner, in_place=True)
    norm = _norm(grads)
    for g in grads.values():
        np.clip(g, -limit, limit, out=g)  # g_k[i] ← min(max(g_k[i], −limit), limit)
    return norm
