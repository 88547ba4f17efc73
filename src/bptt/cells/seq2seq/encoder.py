"""The encoder of `bptt.Seq2Seq`: stacked layers of one cell, one or two directions, run one step
at a time over source token ids with the masked update of `steps.py` for variable lengths.

Dimension letters: S source steps, B batch, H hidden size, K = H × directions, L layers.

Layer l, direction 0 runs t = 0..S−1, direction 1 runs t = S−1..0; layer 0 reads the ids src(t),
layer l >= 1 reads [h_{l−1}(t); g_{l−1}(t)] (the concatenation of both directions, as PyTorch).
The encoder's states e(j) are the top layer's [h(j); g(j)] (S, B, K); its final state per layer
is [h(last real step); g(0)] for every state part (the LSTM's y and c), (B, K) each: what the
decoder starts from (Goodfellow et al. fig. 10.12: the context C).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .steps import add_grads, masked_backward, masked_forward


class EncoderRun(NamedTuple):
    E: np.ndarray            # (S, B, K) the top layer's states e(j)
    finals: list             # per layer: a tuple of state parts, each (B, K)
    caches: list             # caches[l][d][t]
    real: np.ndarray         # (S, B) bool


def _order(S: int, d: int):
    return range(S) if d == 0 else range(S - 1, -1, -1)


def forward(step, cell, layer_params, src, real, L: int, dirs: int, H: int, dtype) -> EncoderRun:
    """layer_params(l, d) -> that direction's parameters under the plain names."""
    S, B = src.shape
    x = src
    finals, caches = [], []
    for l in range(L):
        outs, fins, cl = [], [], []
        for d in range(dirs):
            p = layer_params(l, d)
            state = tuple(np.zeros((B, H), dtype) for _ in range(step.parts))   # s(−1) = 0
            out, cs = np.empty((S, B, H), dtype), [None] * S
            for t in _order(S, d):
                state, cs[t] = masked_forward(step, cell, x[t], state, p, real[t])
                out[t] = state[0]
            outs.append(out)
            fins.append(state)
            cl.append(cs)
        x = outs[0] if dirs == 1 else np.concatenate(outs, axis=-1)         # (S, B, K)
        finals.append(tuple(np.concatenate([f[i] for f in fins], axis=-1) for i in range(step.parts)))
        caches.append(cl)
    return EncoderRun(x, finals, caches, real)


def backward(step, run: EncoderRun, dE, d_finals, layer_keys, H: int, *, record=False):
    """BPTT through the encoder from the errors reaching it from outside: dE (S, B, K) at the top
    layer's states (or None) and d_finals[l] (a tuple of (B, K) parts, or None) at each layer's
    final state. Returns (grads {params key: array}, errors): errors (S, B, K), when record, holds
    the total error ∂J/∂e(j) of the top layer's states (the first state part), else None."""
    L, dirs = len(run.caches), len(run.caches[0])
    S, B = run.real.shape
    grads, errors = {}, None
    d_above = dE
    for l in reversed(range(L)):
        keys = layer_keys(l)
        dx_total = np.zeros((S, B, dirs * H), run.E.dtype) if l > 0 else None
        if record and l == L - 1:
            errors = np.zeros((S, B, dirs * H), run.E.dtype)
        for d in range(dirs):
            sl = slice(d * H, (d + 1) * H)
            fin = None if d_finals is None else d_finals[l]
            dstate = (tuple(np.zeros((B, H), run.E.dtype) for _ in range(step.parts)) if fin is None
                      else tuple(part[:, sl].copy() for part in fin))   # error at the final state
            for t in reversed(list(_order(S, d))):
                if d_above is not None:                     # ∂J/∂s(t) = [outside] + [step after t]
                    dstate = (dstate[0] + d_above[t][:, sl],) + dstate[1:]
                if record and l == L - 1:
                    errors[t][:, sl] = dstate[0]
                dx, dstate, g = masked_backward(step, dstate, run.caches[l][d][t], run.real[t])
                add_grads(grads, g, keys[d])
                if dx_total is not None:
                    dx_total[t] += dx                       # to the layer below's [h; g](t)
        d_above = dx_total
    return grads, errors
