"""Many-to-one (Goodfellow et al. fig. 10.5): one target per sequence, for every cell.

Dimension letters: T time steps, B batch, O output size.

    loss, grads = model.loss_and_grads(x, y, pooling="last", lengths=lengths)   # y (B,) or (B, O)
    res = model.backward(x, y, h0, pooling="mean")                              # res.dh0, res.dx
    tr = model.trace(x, y, pooling="last")

y holds class ids (B,) for a softmax output, or targets (B, O) for an identity output. Sequence b
has real steps t < n_b, n_b = lengths[b] (T without lengths); J = (1/B) Σ_b L_b as elsewhere.

pooling="last" scores each sequence's last real step:

    L_b = L(o(n_b − 1, b), y(b))
    ∂J/∂o(t, b) = (1/B) ∂L_b/∂o(t, b) at t = n_b − 1, and 0 at every other step

which is the per-step loss J = (1/B) Σ_b Σ_t m[t, b] L(o(t, b), y(b)) with the mask
m[t, b] = [t = n_b − 1] and y broadcast over time — so it runs on the existing step-wise BPTT
unchanged (tests show it equals torch's o[n_b − 1] fed to the loss).

pooling="mean" scores the mean of the outputs over the real steps:

    ō(b) = (1/n_b) Σ_{t < n_b} o(t, b)          L_b = L(ō(b), y(b))
    ∂J/∂o(t, b) = (1/n_b) · (1/B) ∂L_b/∂ō(b)    for t < n_b, 0 on the padding

a loss on pooled logits (`bptt.nn.losses.MeanPooled`, with the mask m[t, b] = [t < n_b]) whose
error ∂J/∂o(t) enters the same BPTT as any per-step loss's.

lengths: a one-directional model is causal, so padding after step n_b − 1 changes nothing before
it: lengths only choose the steps that are scored. A bidirectional model keeps its meaning of
lengths (`bptt.cells.bidirectional`, as pack_padded_sequence): its backward direction starts at
step n_b − 1. `mask` is refused with pooling (lengths say which steps are real).
"""
from __future__ import annotations

import numpy as np

from .. import _validate as v
from ..nn.losses import MeanPooled
from . import sequences

POOLINGS = ("last", "mean")


def check_targets(y, owner: str, output: str, B: int, O: int, dtype, pooling: str) -> np.ndarray:
    """y (B,) class ids for softmax, (B, O) floats for identity: one target per sequence."""
    want = f"({B},) class ids" if output == "softmax" else f"({B}, {O}) floats"
    arr = None if y is None else v.as_array(y, "y", owner)
    if arr is None or arr.shape != ((B,) if output == "softmax" else (B, O)):
        got = "None" if arr is None else f"shape {arr.shape}"
        raise ValueError(f"The 'y' argument of {owner} with pooling={pooling!r} must hold one "
                         f"target per sequence: {want} for output={output!r}. Got {got}.")
    if output == "softmax":
        return v.check_token_ids(arr, "y", owner, (B,), O)
    return v.check_float_array(arr, "y", owner, (B, O), dtype)


def prepare(model, x, y, mask, lengths, pooling):
    """(x, y, mask, lengths) for the step-wise methods: y broadcast over time with a one-step
    mask ("last"), or MeanPooled(y) with the real steps' mask ("mean"); lengths stay only for a
    bidirectional model."""
    o = model.owner
    v.check_choice(pooling, "pooling", o, POOLINGS)
    if mask is not None:
        raise ValueError(f"The 'mask' argument of {o} cannot be combined with pooling={pooling!r}: "
                         f"give each sequence's number of real steps as lengths (B,) instead. "
                         f"Got a mask.")
    x = sequences.check_x(x, o, model.input_size, model.dtype)
    T, B = x.shape[:2]
    y = check_targets(y, o, model.output, B, model.output_size, model.dtype, pooling)
    n = (np.full(B, T, dtype=np.intp) if lengths is None
         else sequences.check_lengths(lengths, o, T, B))
    t = np.arange(T)[:, None]
    if pooling == "last":
        mask = (t == n[None, :] - 1).astype(model.dtype)       # m[t, b] = [t = n_b − 1]
        y = np.broadcast_to(y, (T,) + y.shape)                  # y(b) at every step
    else:
        mask = (t < n[None, :]).astype(model.dtype)            # m[t, b] = [t < n_b]
        y = MeanPooled(y)
    return x, y, mask, (n if model.bidirectional and lengths is not None else None)


def pool(o: np.ndarray, lengths, pooling: str) -> np.ndarray:
    """The pooled logits (B, O) of outputs o (T, B, O): o(n_b − 1, b), or the mean over t < n_b."""
    T, B = o.shape[:2]
    n = np.full(B, T, dtype=np.intp) if lengths is None else lengths
    if pooling == "last":
        return o[n - 1, np.arange(B)]                                   # o(n_b − 1, b)
    m = (np.arange(T)[:, None] < n[None, :]).astype(o.dtype)           # m[t, b] = [t < n_b]
    return np.einsum("tb,tbo->bo", m, o) / n[:, None]                  # ō(b) = Σ_t m o(t) / n_b


def pooled_logits(model, x, h0=None, *, lengths=None, pooling="last") -> np.ndarray:
    """(B, O): the logits a pooled loss scores, for predictions (argmax for classes)."""
    o = model.owner
    v.check_choice(pooling, "pooling", o, POOLINGS)
    x = sequences.check_x(x, o, model.input_size, model.dtype)
    T, B = x.shape[:2]
    n = None if lengths is None else sequences.check_lengths(lengths, o, T, B)
    bi = model.bidirectional and n is not None
    fwd = model.forward(x, h0, **({"lengths": n} if bi else {}))
    return pool(fwd.o, n, pooling)
