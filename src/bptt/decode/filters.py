"""The distribution a sampler draws from: temperature, then top-k, then top-p (nucleus).

For logits o (..., V) of V tokens:

    p      = softmax(o / τ)                       temperature τ > 0 (τ → 0: the argmax; τ = 1: the model)
    top-k  : keep the k most probable tokens, renormalise
    top-p  : keep the smallest set of most probable tokens whose probability reaches p, renormalise
             (Holtzman et al. 2020, "The Curious Case of Neural Text Degeneration")

Both filters rank the tokens by a stable sort of the descending probabilities: tokens of equal
probability are ranked by id, lowest first. So top-k keeps exactly min(k, V) tokens (of several
tied with the k-th, the lowest ids), and top-p keeps the tokens whose ranked predecessors hold
less than p together — the first ranked token always, so at least one; of tokens tied at the
boundary, the lowest ids. top_p = 1 keeps every token. top-p works on top-k's renormalised
distribution.
"""
from __future__ import annotations

import numpy as np

from .. import _validate as v
from ..nn.losses import log_softmax

OWNER = "filter_logits"


def check_filters(temperature, top_k, top_p, owner: str):
    """(temperature, top_k, top_p) checked: τ finite > 0, k None or an int >= 1, p None or in (0, 1]."""
    temperature = v.check_float(temperature, "temperature", owner, low=0, low_open=True)
    if top_k is not None:
        top_k = v.check_int(top_k, "top_k", owner, minimum=1)
    if top_p is not None:
        top_p = v.check_float(top_p, "top_p", owner, low=0, high=1, low_open=True)
    return temperature, top_k, top_p


def filter_logits(logits, *, temperature=1.0, top_k=None, top_p=None) -> np.ndarray:
    """Probabilities (..., V) float64 (each row sums to 1) from logits (..., V): softmax(o / τ),
    then top-k, then top-p (the module docstring defines both and their ties).

    Examples:
        >>> from bptt.decode import filter_logits
        >>> logits = np.log([0.5, 0.3, 0.2])                  # (V,)
        >>> filter_logits(logits, top_k=2)                     # 0.5 / 0.8, 0.3 / 0.8
        array([0.625, 0.375, 0.   ])
        >>> filter_logits(logits, top_p=0.7)                   # 0.5 + 0.3 reaches 0.7
        array([0.625, 0.375, 0.   ])
        >>> filter_logits(logits, temperature=0.5)             # p² renormalised: 0.25 / 0.38, ...
        array([0.6579, 0.2368, 0.1053])
    """
    temperature, top_k, top_p = check_filters(temperature, top_k, top_p, OWNER)
    arr = v.as_array(logits, "logits", OWNER)
    if arr.ndim < 1 or arr.shape[-1] < 1:
        raise ValueError(f"The 'logits' argument of {OWNER} must have shape (..., V) with V >= 1. "
                         f"Got shape {arr.shape} instead.")
    z = np.asarray(arr, dtype=np.float64) / temperature              # o / τ  (..., V)
    if np.isnan(z).any() or (z == np.inf).any():
        raise ValueError(f"The 'logits' argument of {OWNER} must hold no NaN and no +inf.")
    p = _normalised(np.exp(log_softmax(z)))                          # softmax(o / τ)
    if top_k is None and (top_p is None or top_p == 1.0):
        return p
    order = np.argsort(-p, axis=-1, kind="stable")                   # ranks: most probable first
    ranked = np.take_along_axis(p, order, axis=-1)                   # (..., V) descending
    keep = np.ones(p.shape, dtype=bool)                              # in rank order
    if top_k is not None:
        keep[..., top_k:] = False
        ranked = _normalised(np.where(keep, ranked, 0.0))
    if top_p is not None and top_p < 1.0:
        total = np.cumsum(ranked, axis=-1)                           # mass up to each rank
        before = np.concatenate([np.zeros_like(total[..., :1]), total[..., :-1]], axis=-1)
        keep &= before < top_p                                       # rank 0 always: before = 0
    kept = np.zeros(p.shape, dtype=bool)
    np.put_along_axis(kept, order, keep, axis=-1)                    # back to token order
    return _normalised(np.where(kept, p, 0.0))


def _normalised(p: np.ndarray) -> np.ndarray:
    return p / p.sum(axis=-1, keepdims=True)
