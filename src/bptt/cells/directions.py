"""One recurrent layer run in one direction, the same way for every cell: what the bidirectional
layers (`bptt.cells.bidirectional`) run twice per layer, once on x(0..T−1) and once on the
reversed sequence.

Dimension letters: T time steps, B batch, D the layer's input size, H hidden size.

Each cell has one `Direction`: four functions over its *existing* layer code (nothing is
re-derived here; the equations are in each cell's reference.py) and its slice count:

    forward(model, x, state0, p, reference, slices) -> Run   # x (T, B, D) or (T, B) ids
        state0: the layer's initial state as a tuple of (B, H) arrays, (h,) or (y, c)
        p: the layer's parameters under the plain names (U, W, b; W_z ... b_o; U_r ... b_hn)
        slices: the fast path's batch slices (None: the cell decides; `bptt.cells.slicing`)
        Run.out (T, B, H) the layer's output h(t); Run.states: the state parts, each (T, B, H)
    backward(model, d_out, run, need_dx, k) -> (dx or None, d_state0 tuple, grads {plain name})
        d_out (T, B, H): the error reaching h(t) from outside the recurrence (read only);
        k: bptt's threads for ∂J/∂x's product (a sliced pass's count, else 0)
    slices(model, x, p) -> int: how many batch slices the fast path runs a layer with input x
        and parameters p in on OpenBLAS's current threads (0: unsliced). A bidirectional pass
        decides once, then holds OpenBLAS to one thread for all of it (`bptt.cells.bidirectional`).
    trace_backward(model, d_out, run) -> (dx, d_state0, per_step {name: (T, *shape)}, errors)
        on the reference path only: errors {name: (T, B, H)} holding at least "h" (the LSTM's
        "h" is ∂J/∂y(t), plus "c"), per_step the contributions whose sum over t is the gradient

`reference=True` runs the loop of the cell's per-step functions, False its fused fast path.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import threads
from .gru import fused as gru_fused
from .gru import reference as gru_reference
from .gru import slices as gru_slices
from .lstm import fused as lstm_fused
from .lstm import reference as lstm_reference
from .lstm import slices as lstm_slices
from .lstm.trace import ERROR_NAMES as LSTM_ERROR_NAMES
from .rnn import fused as rnn_fused
from .rnn import reference as rnn_reference
from .rnn import slices as rnn_slices


class Run(NamedTuple):
    out: np.ndarray          # (T, B, H) h(t) (the LSTM's block output y(t))
    states: tuple            # the state parts over time, each (T, B, H): (h,) or (y, c)
    reference: bool
    ctx: object              # what backward needs: caches (reference) or the fused pass


def _ids(x) -> bool:
    return x.dtype.kind in "iu"


# -- the simple RNN ------------------------------------------------------------------------------
def _rnn_forward(model, x, state0, p, reference, slices=None):
    if reference:
        h, hs, caches = state0[0], [], []
        for t in range(x.shape[0]):
            _, h, cache = rnn_reference.step_forward(x[t], h, p, model.act)   # h(t) = g(b + W h(t−1) + U x(t))
            hs.append(h)
            caches.append(cache)
        H = np.stack(hs)
        return Run(H, (H,), True, caches)
    _, Hs = rnn_fused.layer_forward(x, state0[0], p["U"], p["W"], p["b"], model.act, slices=slices)
    return Run(Hs[1:], (Hs[1:],), False, (x, Hs, p))


def _rnn_trace_backward(model, d_out, run):
    caches = run.ctx
    T = len(caches)
    dh_rec = np.zeros_like(caches[0].h_prev)                  # Wᵀ ∂J/∂a(T) = 0
    dxs, steps, err_h, err_a = [None] * T, {}, [None] * T, [None] * T
    for t in reversed(range(T)):
        dh_t = d_out[t] + dh_rec                              # ∂J/∂h(t) = [outside] + Wᵀ ∂J/∂a(t+1)
        dxs[t], dh_rec, g = rnn_reference.step_backward(dh_t, caches[t])
        err_h[t] = dh_t
        err_a[t] = caches[t].act.grad_from_output(caches[t].h) * dh_t   # ∂J/∂a(t)
        for k, val in g.items():
            steps.setdefault(k, [None] * T)[t] = val
    dx = None if dxs[0] is None else np.stack(dxs)
    errors = {"h": np.stack(err_h), "a": np.stack(err_a)}
    return dx, (dh_rec,), {k: np.stack(v) for k, v in steps.items()}, errors


def _rnn_backward(model, d_out, run, need_dx, k=0):
    if run.reference:
        return _sum_steps(_rnn_trace_backward(model, d_out, run))
    x, Hs, p = run.ctx
    dA = d_out.copy()                                         # overwritten with ∂J/∂a(t)
    dx, dh0, dU, dW, db = rnn_fused.layer_backward(dA, x, Hs, p["U"], p["W"], model.act, need_dx,
                                                   slices=k)
    return dx, (dh0,), {"U": dU, "W": dW, "b": db}


def _rnn_slices(model, x, p) -> int:
    return rnn_slices.count(x, p["W"], model.act)


# -- the LSTM ------------------------------------------------------------------------------------
def _lstm_forward(model, x, state0, p, reference, slices=None):
    if reference:
        Y, C, caches = lstm_reference.layer_forward(x, tuple(state0), p)
        return Run(Y, (Y, C), True, caches)
    lp = lstm_fused.layer_forward(x, state0[0], state0[1], lstm_fused.fuse(p, 0), slices=slices)
    return Run(lp.Ys[1:], (lp.Ys[1:], lp.Cs[1:]), False, lp)


def _lstm_trace_backward(model, d_out, run):
    dx, (dy0, dc0), per_step, errs = lstm_reference.layer_backward(d_out, run.ctx)
    return dx, (dy0, dc0), per_step, {LSTM_ERROR_NAMES[k]: e for k, e in errs.items()}


def _lstm_backward(model, d_out, run, need_dx, k=0):
    if run.reference:
        return _sum_steps(_lstm_trace_backward(model, d_out, run))
    lp = run.ctx
    dG, dy0, dc0, grads = lstm_fused.layer_backward(d_out, lp)
    dx = None
    if need_dx and not _ids(lp.x):
        dx = threads.dot(dG.T, lp.fl.W, k).reshape(lp.x.shape)   # ∂J/∂x(t) = Σ_g W_gᵀ ∂J/∂ĝ(t)
    return dx, (dy0, dc0), grads


def _lstm_slices(model, x, p) -> int:
    fl = lstm_fused.fuse(p, 0)
    return lstm_slices.count(x, fl, lstm_fused.use_kernels(None, fl))


# -- the GRU -------------------------------------------------------------------------------------
def _gru_forward(model, x, state0, p, reference, slices=None):
    if reference:
        Hs, caches = gru_reference.layer_forward(x, state0[0], p)
        return Run(Hs, (Hs,), True, caches)
    lp = gru_fused.layer_forward(x, state0[0], gru_fused.fuse(p, 0), slices)
    return Run(lp.Hs[1:], (lp.Hs[1:],), False, lp)


def _gru_trace_backward(model, d_out, run):
    dx, dh0, per_step, errors = gru_reference.layer_backward(d_out, run.ctx)
    return dx, (dh0,), per_step, errors


def _gru_backward(model, d_out, run, need_dx, k=0):
    if run.reference:
        return _sum_steps(_gru_trace_backward(model, d_out, run))
    lp = run.ctx
    dGin, dh0, grads = gru_fused.layer_backward(d_out, lp)
    dx = None
    if need_dx and not _ids(lp.x):
        dx = threads.dot(dGin.T, lp.fl.U, k).reshape(lp.x.shape)   # ∂J/∂x(t) = Σ_g U_gᵀ ∂J/∂ĝ(t)
    return dx, (dh0,), grads


def _gru_slices(model, x, p) -> int:
    return gru_slices.count(x, gru_fused.fuse(p, 0), gru_slices.AVAILABLE)


def _sum_steps(result):
    dx, d0, per_step, _ = result
    return dx, d0, {k: v.sum(axis=0) for k, v in per_step.items()}   # ∂J/∂θ = Σ_t (∂J/∂θ)^(t)


class Direction(NamedTuple):
    forward: object
    backward: object
    trace_backward: object
    source_paths: tuple      # the state paths of errors_by_source, the main one (the flow's) first
    slices: object


DIRECTIONS = {
    "rnn": Direction(_rnn_forward, _rnn_backward, _rnn_trace_backward, ("a", "h"), _rnn_slices),
    "lstm": Direction(_lstm_forward, _lstm_backward, _lstm_trace_backward, ("c", "h"), _lstm_slices),
    "gru": Direction(_gru_forward, _gru_backward, _gru_trace_backward, ("h",), _gru_slices),
}
