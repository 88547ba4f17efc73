"""The simple RNN's reference path: mirrored per-step functions and sequence loops over them.

Dimension letters: T time steps, B batch, D input size, H hidden size, O output size.
Parameters (Goodfellow et al., eq. 10.8–10.11): U (H, D), W (H, H), b (H,), V (O, H), c (O,).

Forward, one step, batched with row vectors:

    a(t) = b + W h(t−1) + U x(t)      →  a = b + h_prev @ W.T + x_t @ U.T     (B, H)
    h(t) = g(a(t))                                                          (B, H)
    o(t) = c + V h(t)                 →  o = c + h @ V.T                     (B, O)

Backward, one step, given ∂J/∂h(t) (the total error of h(t), from o(t) and from a(t+1)):

    ∂J/∂a(t)     = g'(a(t)) ⊙ ∂J/∂h(t)
    (∂J/∂U)^(t)  = ∂J/∂a(t) x(t)ᵀ     (∂J/∂W)^(t) = ∂J/∂a(t) h(t−1)ᵀ     (∂J/∂b)^(t) = ∂J/∂a(t)
    ∂J/∂h(t−1)  ⊇ Wᵀ ∂J/∂a(t)         (the recurrent part; step t−1 adds Vᵀ ∂J/∂o(t−1))
    ∂J/∂x(t)     = Uᵀ ∂J/∂a(t)

Token inputs: x(t) holds integer ids (B,), the one-hot x(t) is never built: U x(t) is the
column U[:, id], and (∂J/∂U)^(t) adds ∂J/∂a(t) into those columns.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .activations import Activation


class StepCache(NamedTuple):
    x_t: np.ndarray        # (B, D) floats, or (B,) token ids
    h_prev: np.ndarray     # (B, H) h(t−1)
    h: np.ndarray          # (B, H) h(t) = g(a(t)); g'(a(t)) is computed from it
    params: dict           # the parameters used (shared by every step)
    act: Activation


def input_projection(x_t, U):
    """U x(t) for every row of the batch: (B, H). Token ids pick columns of U."""
    if x_t.dtype.kind in "iu":
        return U.T[x_t]                    # column U[:, id] for each id     (B, H)
    return x_t @ U.T                       # (B, D) @ (D, H)                 (B, H)


def step_forward(x_t, h_prev, params, act: Activation):
    """One step of the recurrence. Returns (a(t), h(t), cache)."""
    a = params["b"] + h_prev @ params["W"].T + input_projection(x_t, params["U"])   # a(t)  (B, H)
    h = act.fn(a)                                                                   # h(t)  (B, H)
    return a, h, StepCache(x_t, h_prev, h, params, act)


def step_backward(dh_t, cache: StepCache):
    """From ∂J/∂h(t) to (∂J/∂x(t), the recurrent part of ∂J/∂h(t−1), the step's gradients).

    ∂J/∂x(t) is None for token inputs. The gradients are this step's contributions
    (∂J/∂U)^(t), (∂J/∂W)^(t), (∂J/∂b)^(t), summed over the batch.
    """
    p = cache.params
    da = cache.act.grad_from_output(cache.h) * dh_t        # ∂J/∂a(t) = g'(a(t)) ⊙ ∂J/∂h(t)   (B, H)
    if cache.x_t.dtype.kind in "iu":
        dU = np.zeros_like(p["U"])
        np.add.at(dU.T, cache.x_t, da)                     # columns picked by the ids       (H, D)
        dx = None
    else:
        dU = da.T @ cache.x_t                              # ∂J/∂a(t) x(t)ᵀ                   (H, D)
        dx = da @ p["U"]                                   # ∂J/∂x(t) = Uᵀ ∂J/∂a(t)           (B, D)
    grads = {
        "U": dU,
        "W": da.T @ cache.h_prev,                          # ∂J/∂a(t) h(t−1)ᵀ                 (H, H)
        "b": da.sum(axis=0),                               # ∂J/∂a(t)                         (H,)
    }
    dh_prev = da @ p["W"]                                  # Wᵀ ∂J/∂a(t)                      (B, H)
    return dx, dh_prev, grads


def output_step_forward(h_t, params):
    """o(t) = c + V h(t)."""
    return params["c"] + h_t @ params["V"].T               # (B, O)


def output_step_backward(do_t, h_t, params):
    """From ∂J/∂o(t) to (Vᵀ ∂J/∂o(t), (∂J/∂V)^(t), (∂J/∂c)^(t))."""
    return do_t @ params["V"], do_t.T @ h_t, do_t.sum(axis=0)


def sequence_forward(x, h0, params, act: Activation):
    """Loop of step_forward over t = 0..T−1. Returns (a, h, o) each (T, B, .) and the caches."""
    a_list, h_list, o_list, caches = [], [], [], []
    h_prev = h0                                             # h(−1) = h0
    for t in range(x.shape[0]):
        a_t, h_t, cache = step_forward(x[t], h_prev, params, act)
        o_list.append(output_step_forward(h_t, params))
        a_list.append(a_t)
        h_list.append(h_t)
        caches.append(cache)
        h_prev = h_t
    return np.stack(a_list), np.stack(h_list), np.stack(o_list), caches


def sequence_backward(do, caches, params):
    """Full BPTT: the loop of step_backward from t = T−1 down to 0.

    do: ∂J/∂o(t) for every step (T, B, O). Returns (dx, dh0, grads, errors, per_step) where
    errors = {"o", "h", "a"} each (T, B, .), per_step[name] the contributions (T, *shape) whose
    sum over t is grads[name], and dx is None for token inputs.
    """
    T = do.shape[0]
    dh_rec = np.zeros_like(caches[0].h_prev)                # Wᵀ ∂J/∂a(T): absent at the last step
    errors_h, errors_a, dxs = [None] * T, [None] * T, [None] * T
    per_step = {k: [None] * T for k in ("U", "W", "b", "V", "c")}
    for t in reversed(range(T)):
        h_t = caches[t].h
        dh_out, per_step["V"][t], per_step["c"][t] = output_step_backward(do[t], h_t, params)
        dh_t = dh_out + dh_rec                              # ∂J/∂h(t) = Vᵀ ∂J/∂o(t) + Wᵀ ∂J/∂a(t+1)
        dxs[t], dh_rec, g = step_backward(dh_t, caches[t])
        errors_h[t] = dh_t
        errors_a[t] = caches[t].act.grad_from_output(h_t) * dh_t    # ∂J/∂a(t), kept for the trace
        for k in ("U", "W", "b"):
            per_step[k][t] = g[k]
    per_step = {k: np.stack(v) for k, v in per_step.items()}
    grads = {k: per_step[k].sum(axis=0) for k in params}    # ∂J/∂θ = Σ_t (∂J/∂θ)^(t)
    errors = {"o": do, "h": np.stack(errors_h), "a": np.stack(errors_a)}
    dx = None if dxs[0] is None else np.stack(dxs)
    return dx, dh_rec, grads, errors, per_step               # dh_rec is now ∂J/∂h(−1) = ∂J/∂h0
