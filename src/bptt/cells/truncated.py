"""Truncated back-propagation through time, TBPTT(k1, k2) (Williams & Peng 1990; Sutskever 2013).

The sequence is processed in order. Every k1 steps one update is computed from the losses of the
last k1 steps, back-propagated through the last k2 steps (k2 >= k1), starting from the state
carried in from before the window, treated as a constant:

    window w ends at  t_end = k1−1, 2k1−1, …  (and T−1 when T is not a multiple of k1)
    loss steps        t_end−k1+1 … t_end      (for a last, short window: the steps since the previous one)
    gradient steps    t_start = max(0, t_end−k2+1) … t_end
    carried state     h(t_start−1), or h0 when t_start = 0

Each window's forward runs from the carried state with the parameters as they are when the
window is computed (windows are computed lazily, so an optimizer step between windows takes
effect in the next one). Where windows overlap (k2 > k1), the overlap's forward is re-run with the
current parameters, and the carried state h(t_start−1) is the value from the most recent window
that computed it. k1 = k2 is the common "chunked" form (PyTorch's detach between chunks); k1 = 1
back-propagates each loss term k2 steps; k1 = T with k2 >= T is full BPTT.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import _validate as v


@dataclass
class Window:
    t_start: int        # first step the gradient flows through
    t_end: int          # last step (inclusive); the losses are those of steps loss_start..t_end
    loss_start: int
    loss: float         # (1/B) Σ_b Σ_{t=loss_start..t_end} mask[t, b] L(t, b)
    grads: dict         # ∂loss/∂θ through steps t_start..t_end
    h: object           # the state after step t_end, as the window's forward computed it
    dh_start: object    # ∂loss/∂(carried state): the error that truncation stops


def window_bounds(T: int, k1: int, k2: int):
    """[(t_start, loss_start, t_end)] for every window, in order."""
    ends = list(range(k1 - 1, T, k1))
    if not ends or ends[-1] != T - 1:
        ends.append(T - 1)
    out, prev_end = [], -1
    for t_end in ends:
        out.append((max(0, t_end - k2 + 1), prev_end + 1, t_end))
        prev_end = t_end
    return out


def tbptt(model, x, y, k1, k2, h0=None, mask=None):
    """Validate everything now, then return a lazy iterator of `Window`s."""
    owner = f"{type(model).__name__}.tbptt"
    k1 = v.check_int(k1, "k1", owner)
    k2 = v.check_int(k2, "k2", owner)
    if k2 < k1:
        raise ValueError(f"The 'k2' parameter of {owner} must be >= k1 = {k1} (gradients flow back "
                         f"at least over the steps whose losses they carry). Got {k2}.")
    x, y, h0, mask = model._inputs(x, y, h0, mask)
    return _windows(model, x, y, k1, k2, h0, mask)


def _windows(model, x, y, k1, k2, h0, mask):
    T = x.shape[0]
    states = {-1: h0}                  # states[t] = the latest computed state after step t
    for t_start, loss_start, t_end in window_bounds(T, k1, k2):
        sl = slice(t_start, t_end + 1)
        m = mask[sl].copy()
        m[: loss_start - t_start] = 0                           # overlap steps carry no loss
        res = model._backward(x[sl], y[sl], states[t_start - 1], m, need_dx=False)
        for i in range(t_end - t_start + 1):
            states[t_start + i] = res.state(i)
        for t in [t for t in states if t < t_end - k2]:          # keep only what later windows need
            del states[t]
        yield Window(t_start, t_end, loss_start, res.loss, res.grads, res.state(t_end - t_start),
                     res.dh0)
