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

from ...nn.activations import Activation

LAYER_NAMES = ("U", "W", "b")   # one layer's parameters; layer l >= 1 names them "U.l", ...


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


def sequence_forward(x, h0s, layers, out, act: Activation):
    """The loop of step_forward over t = 0..T−1 and, within a step, over the layers bottom to top
    (layer l's h(t) is layer l+1's x(t)); the output layer reads the top layer.

    h0s: the initial state of each layer, [(B, H)]; layers: each layer's {U, W, b}; out: {V, c}.
    Returns (a, h, o, caches): a[l], h[l] (T, B, H) per layer, o (T, B, O), caches[l][t].
    """
    T, L = x.shape[0], len(layers)
    a = [[None] * T for _ in range(L)]
    h = [[None] * T for _ in range(L)]
    caches = [[None] * T for _ in range(L)]
    o = []
    h_prev = list(h0s)                                      # h(−1) = h0 of each layer
    for t in range(T):
        inp = x[t]
        for l in range(L):
            a[l][t], h[l][t], caches[l][t] = step_forward(inp, h_prev[l], layers[l], act)
            h_prev[l] = inp = h[l][t]
        o.append(output_step_forward(inp, out))             # o(t) = c + V h_top(t)
    return [np.stack(v) for v in a], [np.stack(v) for v in h], np.stack(o), caches


def sequence_backward(do, caches, layers, out):
    """Full BPTT: the loop of step_backward from t = T−1 down to 0 (and, within a step, from the
    top layer down).

    do: ∂J/∂o(t) for every step (T, B, O). Returns (dx, dh0s, grads, errors, per_step):
    dx (T, B, D), or None for token inputs; dh0s [∂J/∂h0 of each layer]; grads[l] = {U, W, b}
    of layer l, the top layer's dict also holding V and c; errors[l] = {"h", "a"}, each (T, B, H);
    per_step[l][name] the contributions (T, *shape) whose sum over t is grads[l][name].
    """
    T, L = do.shape[0], len(layers)
    dh_rec = [np.zeros_like(caches[l][0].h_prev) for l in range(L)]   # Wᵀ ∂J/∂a(T) = 0
    err_h = [[None] * T for _ in range(L)]
    err_a = [[None] * T for _ in range(L)]
    steps = [{k: [None] * T for k in ("U", "W", "b")} for _ in range(L)]
    out_steps = {"V": [None] * T, "c": [None] * T}
    dxs = [None] * T
    for t in reversed(range(T)):
        h_top = caches[L - 1][t].h
        from_above, out_steps["V"][t], out_steps["c"][t] = output_step_backward(do[t], h_top, out)
        for l in reversed(range(L)):
            cache = caches[l][t]
            dh_t = from_above + dh_rec[l]                   # ∂J/∂h(t) = (from o(t) or the layer above) + Wᵀ ∂J/∂a(t+1)
            from_above, dh_rec[l], g = step_backward(dh_t, cache)    # from_above: ∂J/∂x(t) = Uᵀ ∂J/∂a(t)
            err_h[l][t] = dh_t
            err_a[l][t] = cache.act.grad_from_output(cache.h) * dh_t   # ∂J/∂a(t), kept for the trace
            for k in ("U", "W", "b"):
                steps[l][k][t] = g[k]
        dxs[t] = from_above
    per_step = [{k: np.stack(v) for k, v in s.items()} for s in steps]
    per_step[-1].update({k: np.stack(v) for k, v in out_steps.items()})
    grads = [{k: v.sum(axis=0) for k, v in s.items()} for s in per_step]   # ∂J/∂θ = Σ_t (∂J/∂θ)^(t)
    errors = [{"h": np.stack(err_h[l]), "a": np.stack(err_a[l])} for l in range(L)]
    dx = None if dxs[0] is None else np.stack(dxs)
    return dx, dh_rec, grads, errors, per_step              # dh_rec is now [∂J/∂h(−1)] = ∂J/∂h0
