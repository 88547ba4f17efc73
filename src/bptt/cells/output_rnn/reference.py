"""The output-recurrent network's reference path: mirrored per-step functions and the loops over
them (Goodfellow et al. §10.2.1, figs. 10.4 and 10.6). There is no fused path: in free-running and
scheduled modes step t needs the output of step t−1, so the steps are inherently sequential.

Dimension letters: T time steps, B batch, D input size, H hidden size, O output size.
Parameters: U (H, D), W (H, O) — output-to-hidden —, b (H,), V (O, H), c (O,).

Forward, one step, batched with row vectors; f(t−1) (B, O) is the fed-back output:

    a(t) = b + W f(t−1) + U x(t)     →  a = b + f_prev @ W.T + x_t @ U.T       (B, H)
    h(t) = tanh(a(t))                                                        (B, H)
    o(t) = c + V h(t)                →  o = c + h @ V.T                        (B, O)
    ŷ(t) = f(o(t))                      softmax (classes) or identity (regression)

What is fed back as f(t) (see `feedback`): the target y(t) (one-hot for classes), or the model's
own output — ŷ(t) ("probs"; for identity outputs ŷ(t) = o(t) itself), a one-hot of argmax o(t)
("argmax"), or a one-hot of a class drawn from ŷ(t) ("sample"). f(−1) = y0.

Backward, one step, given ∂J/∂o(t) — the loss's own error plus, when f(t) = ŷ(t) was fed back,
the error that comes back through the feedback, J_f(o(t))ᵀ ∂J/∂f(t):

    ∂J/∂h(t)     = Vᵀ ∂J/∂o(t)                     (no hidden-to-hidden path: no Wᵀ ∂J/∂a(t+1))
    ∂J/∂a(t)     = (1 − h(t)²) ⊙ ∂J/∂h(t)
    ∂J/∂f(t−1)   = Wᵀ ∂J/∂a(t)                     (reaches o(t−1) only if f(t−1) = ŷ(t−1))
    ∂J/∂x(t)     = Uᵀ ∂J/∂a(t)
    (∂J/∂U)^(t) = ∂J/∂a(t) x(t)ᵀ   (∂J/∂W)^(t) = ∂J/∂a(t) f(t−1)ᵀ   (∂J/∂b)^(t) = ∂J/∂a(t)
    (∂J/∂V)^(t) = ∂J/∂o(t) h(t)ᵀ   (∂J/∂c)^(t) = ∂J/∂o(t)

The softmax's Jacobian-vector product: J_softmaxᵀ g = ŷ ⊙ (g − ⟨g, ŷ⟩). A target (teacher
forcing) or a one-hot choice (argmax, sample) is a constant: no error flows through it, so
∂J/∂o(t) is the loss's own error and errors never cross time steps.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..rnn.reference import input_projection

FEEDBACKS = ("probs", "argmax", "sample")


class StepCache(NamedTuple):
    x_t: np.ndarray        # (B, D) floats, or (B,) token ids
    f_prev: np.ndarray     # (B, O) f(t−1), the fed-back output
    h: np.ndarray          # (B, H) h(t) = tanh(a(t)); tanh'(a(t)) = 1 − h(t)² from it
    y_hat: np.ndarray      # (B, O) ŷ(t)
    params: dict           # the parameters (shared by every step)


class Pass(NamedTuple):
    a: np.ndarray          # (T, B, H)
    h: np.ndarray          # (T, B, H)
    o: np.ndarray          # (T, B, O)
    y_hat: np.ndarray      # (T, B, O)
    fed: np.ndarray        # (T, B, O): fed[t] = f(t−1), what step t read (fed[0] = y0)
    through: np.ndarray    # (T, B) 1.0 where f(t) = ŷ(t) fed back differentiably into step t+1
    caches: list           # [StepCache] of every step


def one_hot(ids, O, dtype):
    """(B,) ids → (B, O) one-hot rows."""
    out = np.zeros((ids.shape[0], O), dtype=dtype)
    out[np.arange(ids.shape[0]), ids] = 1
    return out


def step_forward(x_t, f_prev, params, output):
    """One step. Returns (a(t), h(t), o(t), ŷ(t), cache)."""
    a = params["b"] + f_prev @ params["W"].T + input_projection(x_t, params["U"])   # a(t)  (B, H)
    h = np.tanh(a)                                                                  # h(t)  (B, H)
    o = params["c"] + h @ params["V"].T                                             # o(t)  (B, O)
    if output == "softmax":
        e = np.exp(o - o.max(axis=1, keepdims=True))
        y_hat = e / e.sum(axis=1, keepdims=True)                                    # ŷ(t)  (B, O)
    else:
        y_hat = o.copy()
    return a, h, o, y_hat, StepCache(x_t, f_prev, h, y_hat, params)


def step_backward(do_t, cache: StepCache):
    """From ∂J/∂o(t) (total) to (∂J/∂x(t), ∂J/∂f(t−1), the step's gradients, ∂J/∂h(t), ∂J/∂a(t)).

    ∂J/∂x(t) is None for token inputs. The gradients are this step's contributions, summed over
    the batch."""
    p = cache.params
    dh = do_t @ p["V"]                                     # ∂J/∂h(t) = Vᵀ ∂J/∂o(t)          (B, H)
    da = (1 - cache.h * cache.h) * dh                      # ∂J/∂a(t) = tanh'(a(t)) ⊙ ∂J/∂h(t)
    if cache.x_t.dtype.kind in "iu":
        dU = np.zeros_like(p["U"])
        np.add.at(dU.T, cache.x_t, da)                     # columns picked by the ids       (H, D)
        dx = None
    else:
        dU = da.T @ cache.x_t                              # ∂J/∂a(t) x(t)ᵀ                   (H, D)
        dx = da @ p["U"]                                   # ∂J/∂x(t) = Uᵀ ∂J/∂a(t)           (B, D)
    grads = {"U": dU,
             "W": da.T @ cache.f_prev,                     # ∂J/∂a(t) f(t−1)ᵀ                 (H, O)
             "b": da.sum(axis=0),                          # ∂J/∂a(t)                         (H,)
             "V": do_t.T @ cache.h,                        # ∂J/∂o(t) h(t)ᵀ                   (O, H)
             "c": do_t.sum(axis=0)}                        # ∂J/∂o(t)                         (O,)
    df_prev = da @ p["W"]                                  # ∂J/∂f(t−1) = Wᵀ ∂J/∂a(t)         (B, O)
    return dx, df_prev, grads, dh, da


def feedback_backward(df_t, y_hat_t, through_t, output):
    """The part of ∂J/∂o(t) that comes back through f(t): J_f(o(t))ᵀ ∂J/∂f(t) on the rows where
    f(t) = ŷ(t) was fed back (through_t = 1), zero where a target or a one-hot choice was."""
    if output == "softmax":
        g = y_hat_t * (df_t - (df_t * y_hat_t).sum(axis=1, keepdims=True))  # ŷ ⊙ (g − ⟨g, ŷ⟩)
    else:
        g = df_t                                           # ŷ = o: the identity's Jacobian
    return through_t[:, None] * g


def fed_back(o_t, y_hat_t, target_t, use_model_t, u_t, output, feedback):
    """f(t) (B, O) and through(t) (B,): per row, the model's own output where use_model_t, else
    the target (one-hot for classes). u_t (B,) uniform draws pick the "sample" class by the
    inverse CDF of ŷ(t): the first k with ŷ_0 + … + ŷ_k > u."""
    O = o_t.shape[1]
    if output == "identity" or feedback == "probs":
        own, diff = y_hat_t, 1.0
    elif feedback == "argmax":
        own, diff = one_hot(o_t.argmax(axis=1), O, o_t.dtype), 0.0
    else:
        k = (np.cumsum(y_hat_t, axis=1) <= u_t[:, None]).sum(axis=1)
        own, diff = one_hot(np.minimum(k, O - 1), O, o_t.dtype), 0.0
    if target_t is None:
        return own, np.full(o_t.shape[0], diff, o_t.dtype)
    target = one_hot(target_t, O, o_t.dtype) if output == "softmax" else target_t
    f = np.where(use_model_t[:, None], own, target)
    return f, use_model_t.astype(o_t.dtype) * diff


def sequence_forward(x, y, y0, params, output, feedback, use_model, u_sample):
    """The loop of step_forward over t = 0..T−1, f(−1) = y0 (B, O); after each step f(t) is chosen
    by fed_back (y may be None when use_model is all True). Returns a Pass."""
    T = x.shape[0]
    a, h, o, y_hat, fed, through, caches = [], [], [], [], [], [], []
    f_prev = y0
    for t in range(T):
        a_t, h_t, o_t, yh_t, cache = step_forward(x[t], f_prev, params, output)
        fed.append(f_prev)
        f_prev, thr = fed_back(o_t, yh_t, None if y is None else y[t], use_model[t], u_sample[t],
                               output, feedback)
        for seq, val in ((a, a_t), (h, h_t), (o, o_t), (y_hat, yh_t), (through, thr), (caches, cache)):
            seq.append(val)
    through[-1] = np.zeros_like(through[-1])              # f(T−1) is read by no step
    return Pass(*(np.stack(s) for s in (a, h, o, y_hat, fed, through)), caches)


def sequence_backward(do_loss, fwd: Pass, output):
    """Full BPTT from t = T−1 down to 0. do_loss: the loss's own ∂J/∂o(t) (T, B, O).

    Returns (dx, dy0, grads, errors, per_step): dx (T, B, D) or None for token ids; dy0 = ∂J/∂f(−1)
    (B, O); errors {"o", "h", "a", "f"} each (T, B, .), "f"[t] = ∂J/∂f(t) (zero at T−1); per_step
    [name] (T, *shape) whose sum over t is grads[name].
    """
    T = do_loss.shape[0]
    df = np.zeros_like(fwd.fed[0])                        # ∂J/∂f(T−1) = 0: no step reads it
    errs = {k: [None] * T for k in ("o", "h", "a", "f")}
    steps = {k: [None] * T for k in ("U", "W", "b", "V", "c")}
    dxs = [None] * T
    for t in reversed(range(T)):
        cache = fwd.caches[t]
        do_t = do_loss[t] + feedback_backward(df, cache.y_hat, fwd.through[t], output)   # ∂J/∂o(t)
        errs["f"][t] = df
        dxs[t], df, g, errs["h"][t], errs["a"][t] = step_backward(do_t, cache)
        errs["o"][t] = do_t
        for k in steps:
            steps[k][t] = g[k]
    per_step = {k: np.stack(s) for k, s in steps.items()}
    grads = {k: s.sum(axis=0) for k, s in per_step.items()}       # ∂J/∂θ = Σ_t (∂J/∂θ)^(t)
    errors = {k: np.stack(e) for k, e in errs.items()}
    dx = None if dxs[0] is None else np.stack(dxs)
    return dx, df, grads, errors, per_step                # df is now ∂J/∂f(−1) = ∂J/∂y0


def errors_by_source(do_loss, fwd: Pass, output):
    """Back-propagate each loss term L(s) on its own: {"a", "h"} (T, T, B, H) with [s, t] =
    ∂L(s)/∂a(t) and ∂L(s)/∂h(t), zero for t > s — and zero for t < s wherever no ŷ was fed back
    (teacher forcing: the matrix is diagonal)."""
    T, B, H = fwd.h.shape
    V, W = fwd.caches[0].params["V"], fwd.caches[0].params["W"]
    deriv = 1 - fwd.h * fwd.h                             # tanh'(a(t))          (T, B, H)
    da_src = np.zeros((T, T, B, H), dtype=fwd.h.dtype)
    dh_src = np.zeros_like(da_src)
    for s in range(T):
        do = do_loss[s]                                   # ∂L(s)/∂o(s)
        for t in range(s, -1, -1):
            dh_src[s, t] = do @ V                         # ∂L(s)/∂h(t) = Vᵀ ∂L(s)/∂o(t)
            da_src[s, t] = deriv[t] * dh_src[s, t]        # ∂L(s)/∂a(t)
            if t and not fwd.through[t - 1].any():
                break                                     # nothing crosses into step t−1
            if t:                                         # ∂L(s)/∂o(t−1) through f(t−1) = ŷ(t−1)
                do = feedback_backward(da_src[s, t] @ W, fwd.y_hat[t - 1], fwd.through[t - 1], output)
    return {"a": da_src, "h": dh_src}
