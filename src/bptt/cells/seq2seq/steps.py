"""One step of any cell, the same call for each kind, with the masked update of variable lengths.

The encoder and the decoder of `bptt.Seq2Seq` run their cells one step at a time (the decoder
must: its next input depends on the attention over its last state). Each kind's equations are in
its own `reference.py`; this module only gives them one signature:

    forward(cell, x_t, state, p) -> (new_state, cache)      state: a tuple of (B, H) arrays,
                                                            (h,) for rnn/gru, (y, c) for lstm
    backward(d_state, cache) -> (dx or None, d_state_prev, grads)
        d_state: the total error of every state part at step t; d_state_prev: the recurrent part
        of the errors at step t − 1; grads: the step's contributions under the plain names

`cell` is the bptt model whose layers are run (SimpleRNN needs its activation g). The first state
part is the step's output (h(t), or the LSTM's block output y(t)).

Variable lengths, as `pack_padded_sequence`: where mask m(t) = 0 the state is kept, not updated,

    s(t) = m(t) s_new(t) + (1 − m(t)) s(t−1),

so the forward direction's state after the last real step is its state at T − 1, and a backward
direction run from T − 1 down to 0 starts from its zero state at each sequence's last real step.
Back through it: ∂J/∂s_new(t) = m(t) ∂J/∂s(t) and ∂J/∂s(t−1) ⊇ (1 − m(t)) ∂J/∂s(t).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..gru import reference as gru_ref
from ..lstm import reference as lstm_ref
from ..rnn import reference as rnn_ref


def _rnn_forward(cell, x_t, state, p):
    _, h, cache = rnn_ref.step_forward(x_t, state[0], p, cell.act)       # h(t) = g(b + W h(t−1) + U x(t))
    return (h,), cache


def _rnn_backward(d_state, cache):
    dx, dh_prev, g = rnn_ref.step_backward(d_state[0], cache)
    return dx, (dh_prev,), g


def _lstm_forward(cell, x_t, state, p):
    return lstm_ref.step_forward(x_t, state, p)                          # ((y(t), c(t)), cache)


def _lstm_backward(d_state, cache):
    dx, d_prev, g, _ = lstm_ref.step_backward(d_state[0], d_state[1], cache)
    return dx, d_prev, g


def _gru_forward(cell, x_t, state, p):
    h, cache = gru_ref.step_forward(x_t, state[0], p)                    # h(t) = (1 − z) n + z h(t−1)
    return (h,), cache


def _gru_backward(d_state, cache):
    dx, dh_prev, g, _ = gru_ref.step_backward(d_state[0], cache)
    return dx, (dh_prev,), g


class Step(NamedTuple):
    forward: object
    backward: object
    parts: int               # state parts: 1 (h) or 2 (y, c)


STEPS = {
    "rnn": Step(_rnn_forward, _rnn_backward, 1),
    "lstm": Step(_lstm_forward, _lstm_backward, 2),
    "gru": Step(_gru_forward, _gru_backward, 1),
}


def masked_forward(step: Step, cell, x_t, state, p, m_t):
    """s(t) = m s_new(t) + (1 − m) s(t−1) with m_t (B,) in {0, 1}; returns (state, cache)."""
    new, cache = step.forward(cell, x_t, state, p)
    if m_t is None or m_t.all():
        return new, cache
    keep = m_t[:, None] > 0
    return tuple(np.where(keep, n, s) for n, s in zip(new, state)), cache


def masked_backward(step: Step, d_state, cache, m_t):
    """Back through the masked update: (dx, d_state_prev, grads)."""
    if m_t is None or m_t.all():
        return step.backward(d_state, cache)
    m = m_t[:, None].astype(d_state[0].dtype)
    dx, d_prev, g = step.backward(tuple(m * d for d in d_state), cache)
    d_prev = tuple(dp + (1 - m) * d for dp, d in zip(d_prev, d_state))
    return dx, d_prev, g                                      # dx is zero on kept rows already


def add_grads(total: dict, step_grads: dict, keys: dict) -> None:
    """total[keys[name]] += step_grads[name]: one step's contributions under the params' keys."""
    for name, g in step_grads.items():
        k = keys[name]
        if k in total:
            total[k] += g
        else:
            total[k] = g.copy()
