"""The GRU's reference path: mirrored per-step functions and sequence loops over them.

Gated recurrent unit of Cho et al. (2014), in the project's notation: input weights U_*, recurrent
weights W_*, biases b_*. Dimension letters: T time steps, B batch, D input size (H for layers
above the first), H hidden size, O output size. A hat marks a pre-activation: r̂(t) is the
argument of the σ that gives r(t).

Forward, one step of one layer, batched with row vectors (U_g x(t) → x_t @ U_g.T):

    r(t) = σ(r̂(t)),   r̂(t) = U_r x(t) + W_r h(t−1) + b_r                     reset gate
    z(t) = σ(ẑ(t)),   ẑ(t) = U_z x(t) + W_z h(t−1) + b_z                     update gate
    reset="after" (PyTorch, cuDNN; the default):
    n(t) = tanh(n̂(t)), n̂(t) = U_n x(t) + b_n + r(t) ⊙ ĥn(t),  ĥn(t) = W_n h(t−1) + b_hn
    reset="before" (Cho et al. 2014, d2l):
    n(t) = tanh(n̂(t)), n̂(t) = U_n x(t) + W_n (r(t) ⊙ h(t−1)) + b_n          candidate
    h(t) = (1 − z(t)) ⊙ n(t) + z(t) ⊙ h(t−1)                                 new state

Layer l+1 takes layer l's h(t) as its x(t); the output layer reads the top layer:
o(t) = c + V h(t), as in SimpleRNN.

Backward, one step, given ∂J/∂h(t) (total: from o(t) or the layer above, and from step t+1):

    ∂J/∂n̂(t) = ∂J/∂h(t) ⊙ (1 − z(t)) ⊙ tanh'(n̂(t))
    ∂J/∂ẑ(t) = ∂J/∂h(t) ⊙ (h(t−1) − n(t)) ⊙ σ'(ẑ(t))
    reset="after":
      ∂J/∂ĥn(t) = r(t) ⊙ ∂J/∂n̂(t)                      (the error of the gated term W_n h(t−1) + b_hn)
      ∂J/∂r̂(t) = ∂J/∂n̂(t) ⊙ ĥn(t) ⊙ σ'(r̂(t))
      ∂J/∂h(t−1) ⊇ z(t) ⊙ ∂J/∂h(t) + W_rᵀ ∂J/∂r̂(t) + W_zᵀ ∂J/∂ẑ(t) + W_nᵀ ∂J/∂ĥn(t)
      (∂J/∂W_n)^(t) = ∂J/∂ĥn(t) h(t−1)ᵀ     (∂J/∂b_hn)^(t) = ∂J/∂ĥn(t)
    reset="before", with q(t) = W_nᵀ ∂J/∂n̂(t), the error of r(t) ⊙ h(t−1):
      ∂J/∂r̂(t) = q(t) ⊙ h(t−1) ⊙ σ'(r̂(t))
      ∂J/∂h(t−1) ⊇ z(t) ⊙ ∂J/∂h(t) + r(t) ⊙ q(t) + W_rᵀ ∂J/∂r̂(t) + W_zᵀ ∂J/∂ẑ(t)
      (∂J/∂W_n)^(t) = ∂J/∂n̂(t) (r(t) ⊙ h(t−1))ᵀ
    (∂J/∂U_g)^(t) = ∂J/∂ĝ(t) x(t)ᵀ   (∂J/∂b_g)^(t) = ∂J/∂ĝ(t)   (g ∈ r, z, n)
    (∂J/∂W_r)^(t) = ∂J/∂r̂(t) h(t−1)ᵀ   (∂J/∂W_z)^(t) = ∂J/∂ẑ(t) h(t−1)ᵀ
    ∂J/∂x(t) = U_rᵀ ∂J/∂r̂(t) + U_zᵀ ∂J/∂ẑ(t) + U_nᵀ ∂J/∂n̂(t)

with σ'(a) = σ(a)(1 − σ(a)) and tanh'(a) = 1 − tanh²(a), both taken from the forward's outputs.
("⊇": step t−1 adds the error from outside the recurrence, Vᵀ ∂J/∂o(t−1) or the layer above's.)

Parameter keys: layer 0 uses the plain names ("U_r", "W_n", "b_hn"); layer l >= 1 appends ".l"
("U_r.1", shape (H, H)). The step functions take one layer's parameters under the plain names.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from ...nn.activations import sigmoid
from ..layers import layer_key
from ..rnn.reference import input_projection, output_step_backward, output_step_forward

GATES = ("r", "z", "n")                # reset gate, update gate, candidate
RESETS = ("after", "before")           # where r(t) applies in the candidate; see the module docstring


def layer_names(reset: str) -> tuple:
    """One layer's parameter names, in the order they are created (b_hn only with reset="after")."""
    names = tuple(f"{w}_{g}" for w in ("U", "W", "b") for g in GATES)
    return names + (("b_hn",) if reset == "after" else ())


def param_shapes(D: int, H: int, O: int, num_layers: int, reset: str) -> dict:
    """{key: shape} of every parameter, in order: layer 0, layer 1, ..., then V and c."""
    shapes = {}
    for layer in range(num_layers):
        D_l = D if layer == 0 else H                              # layer l's input size
        for name in layer_names(reset):
            shapes[layer_key(name, layer)] = {"U": (H, D_l), "W": (H, H), "b": (H,)}[name[0]]
    shapes["V"], shapes["c"] = (O, H), (O,)
    return shapes


def layer_params(params: dict, layer: int) -> dict:
    """One layer's parameters under the plain names (the same arrays, no copies)."""
    reset = "after" if layer_key("b_hn", layer) in params else "before"
    return {name: params[layer_key(name, layer)] for name in layer_names(reset)}


def reset_of(p: dict) -> str:
    """The reset placement of one layer's plain-named parameters: b_hn exists only with "after"."""
    return "after" if "b_hn" in p else "before"


class StepCache(NamedTuple):
    x_t: np.ndarray             # (B, D) floats, or (B,) token ids
    h_prev: np.ndarray          # (B, H) h(t−1)
    r: np.ndarray               # (B, H) r(t) = σ(r̂(t)); σ'(r̂(t)) = r(t)(1 − r(t))
    z: np.ndarray               # (B, H) z(t) = σ(ẑ(t))
    n: np.ndarray               # (B, H) n(t) = tanh(n̂(t)); tanh'(n̂(t)) = 1 − n(t)²
    hn: Optional[np.ndarray]    # (B, H) ĥn(t) = W_n h(t−1) + b_hn (reset="after"), else None
    params: dict                # the layer's parameters, plain names


class StepErrors(NamedTuple):
    """The errors of one step, kept for the trace."""
    h: np.ndarray               # (B, H) ∂J/∂h(t), total
    r_hat: np.ndarray           # (B, H) ∂J/∂r̂(t)
    z_hat: np.ndarray           # (B, H) ∂J/∂ẑ(t)
    n_hat: np.ndarray           # (B, H) ∂J/∂n̂(t)
    hn_hat: Optional[np.ndarray]  # (B, H) ∂J/∂ĥn(t) = r(t) ⊙ ∂J/∂n̂(t) (reset="after"), else None


def step_forward(x_t, h_prev, p):
    """One step of one layer: (h(t), cache) from x(t) and h(t−1). The reset placement follows
    the parameters: b_hn present means reset="after"."""
    def pre(g):                                                            # U_g x(t) + W_g h(t−1) + b_g
        return input_projection(x_t, p[f"U_{g}"]) + h_prev @ p[f"W_{g}"].T + p[f"b_{g}"]

    r = sigmoid(pre("r"))                                                  # r(t) = σ(r̂(t))          (B, H)
    z = sigmoid(pre("z"))                                                  # z(t) = σ(ẑ(t))          (B, H)
    if reset_of(p) == "after":
        hn = h_prev @ p["W_n"].T + p["b_hn"]                               # ĥn(t) = W_n h(t−1) + b_hn
        n = np.tanh(input_projection(x_t, p["U_n"]) + p["b_n"] + r * hn)   # n(t) = tanh(U_n x + b_n + r ⊙ ĥn)
    else:
        hn = None
        n = np.tanh(input_projection(x_t, p["U_n"]) + (r * h_prev) @ p["W_n"].T
                    + p["b_n"])                                            # n(t) = tanh(U_n x + W_n (r ⊙ h(t−1)) + b_n)
    h = (1 - z) * n + z * h_prev                                           # h(t) = (1 − z) ⊙ n + z ⊙ h(t−1)
    return h, StepCache(x_t, h_prev, r, z, n, hn, p)


def step_backward(dh_t, cache: StepCache):
    """From ∂J/∂h(t) (total) to (∂J/∂x(t), the recurrent part of ∂J/∂h(t−1), grads, errors).

    ∂J/∂x(t) is None for token inputs; grads are this step's contributions (∂J/∂θ)^(t) under the
    layer's plain names, summed over the batch.
    """
    p, k = cache.params, cache
    dn_hat = dh_t * (1 - k.z) * (1 - k.n ** 2)               # ∂J/∂n̂ = ∂J/∂h ⊙ (1 − z) ⊙ tanh'(n̂)     (B, H)
    dz_hat = dh_t * (k.h_prev - k.n) * k.z * (1 - k.z)       # ∂J/∂ẑ = ∂J/∂h ⊙ (h(t−1) − n) ⊙ σ'(ẑ)    (B, H)
    dh_prev = k.z * dh_t                                     # the direct path z ⊙ ∂J/∂h                (B, H)
    if k.hn is not None:                                     # reset="after"
        dhn_hat = k.r * dn_hat                               # ∂J/∂ĥn = r ⊙ ∂J/∂n̂                       (B, H)
        dr_hat = dn_hat * k.hn * k.r * (1 - k.r)             # ∂J/∂r̂ = ∂J/∂n̂ ⊙ ĥn ⊙ σ'(r̂)               (B, H)
        dh_prev = dh_prev + dhn_hat @ p["W_n"]               #   + W_nᵀ ∂J/∂ĥn
        dWn = dhn_hat.T @ k.h_prev                           # ∂J/∂ĥn h(t−1)ᵀ                           (H, H)
    else:                                                    # reset="before"
        dhn_hat = None
        q = dn_hat @ p["W_n"]                                # q = W_nᵀ ∂J/∂n̂: the error of r ⊙ h(t−1)  (B, H)
        dr_hat = q * k.h_prev * k.r * (1 - k.r)              # ∂J/∂r̂ = q ⊙ h(t−1) ⊙ σ'(r̂)               (B, H)
        dh_prev = dh_prev + k.r * q                          #   + r ⊙ q
        dWn = dn_hat.T @ (k.r * k.h_prev)                    # ∂J/∂n̂ (r ⊙ h(t−1))ᵀ                     (H, H)
    dh_prev = dh_prev + dr_hat @ p["W_r"] + dz_hat @ p["W_z"]   # + W_rᵀ ∂J/∂r̂ + W_zᵀ ∂J/∂ẑ            (B, H)
    d_hat = {"r": dr_hat, "z": dz_hat, "n": dn_hat}
    tokens = k.x_t.dtype.kind in "iu"
    grads = {}
    for g in GATES:
        if tokens:
            dU = np.zeros_like(p[f"U_{g}"])
            np.add.at(dU.T, k.x_t, d_hat[g])                 # columns picked by the ids              (H, D)
        else:
            dU = d_hat[g].T @ k.x_t                          # ∂J/∂ĝ x(t)ᵀ                            (H, D)
        grads[f"U_{g}"] = dU
    grads["W_r"] = dr_hat.T @ k.h_prev                       # ∂J/∂r̂ h(t−1)ᵀ                          (H, H)
    grads["W_z"] = dz_hat.T @ k.h_prev                       # ∂J/∂ẑ h(t−1)ᵀ                          (H, H)
    grads["W_n"] = dWn
    for g in GATES:
        grads[f"b_{g}"] = d_hat[g].sum(axis=0)               # ∂J/∂ĝ                                  (H,)
    if dhn_hat is not None:
        grads["b_hn"] = dhn_hat.sum(axis=0)                  # ∂J/∂ĥn                                 (H,)
    dx = None if tokens else sum(d_hat[g] @ p[f"U_{g}"] for g in GATES)   # Σ_g U_gᵀ ∂J/∂ĝ    (B, D)
    return dx, dh_prev, grads, StepErrors(dh_t, dr_hat, dz_hat, dn_hat, dhn_hat)


def layer_forward(x, h0, p):
    """Loop of step_forward over t = 0..T−1 for one layer from h(−1) = h0 (B, H).

    Returns (Hs, caches): Hs the states h(t) (T, B, H)."""
    h, hs, caches = h0, [], []
    for t in range(x.shape[0]):
        h, cache = step_forward(x[t], h, p)
        hs.append(h)
        caches.append(cache)
    return np.stack(hs), caches


def layer_backward(dh_ext, caches):
    """Full BPTT through one layer: the loop of step_backward from t = T−1 down to 0.

    dh_ext (T, B, H): the error reaching h(t) from outside the recurrence (Vᵀ ∂J/∂o(t) for the top
    layer, the layer above's ∂J/∂x(t) below it). Returns (dx, dh0, per_step, errors): dx
    (T, B, D) or None for token ids, dh0 = ∂J/∂h(−1) (B, H), per_step[name] the contributions
    (T, *shape) under plain names, errors[name] (T, B, H) for the StepErrors fields (None fields
    left out).
    """
    T = len(caches)
    dh_rec = np.zeros_like(caches[0].h_prev)                 # nothing reaches h(T−1) from step T
    dxs, per_step, errors = [None] * T, {}, {}
    for t in reversed(range(T)):
        dh_t = dh_ext[t] + dh_rec                            # ∂J/∂h(t) = [outside] + [from step t+1]
        dxs[t], dh_rec, g, e = step_backward(dh_t, caches[t])
        for name, val in g.items():
            per_step.setdefault(name, [None] * T)[t] = val
        for name, val in e._asdict().items():
            if val is not None:
                errors.setdefault(name, [None] * T)[t] = val
    per_step = {k: np.stack(v) for k, v in per_step.items()}
    errors = {k: np.stack(v) for k, v in errors.items()}
    dx = None if dxs[0] is None else np.stack(dxs)
    return dx, dh_rec, per_step, errors                      # dh_rec is now ∂J/∂h(−1)


def sequence_forward(x, h0, params, num_layers):
    """Every layer over all steps, then the output layer. h0: (num_layers, B, H).

    Returns (layers, o): layers[l] = (Hs, caches) of layer l, o the logits (T, B, O)."""
    layers, inp = [], x
    for layer in range(num_layers):
        Hs, caches = layer_forward(inp, h0[layer], layer_params(params, layer))
        layers.append((Hs, caches))
        inp = Hs                                             # layer l's h(t) is layer l+1's x(t)
    o = np.stack([output_step_forward(h_t, params) for h_t in inp])   # o(t) = c + V h(t)  (T, B, O)
    return layers, o


def sequence_backward(do, layers, params):
    """Full BPTT through every layer, top first. do: ∂J/∂o(t) (T, B, O).

    Returns (dx, dh0, grads, per_step, errors): dh0 (num_layers, B, H), grads and per_step
    (T, *shape) keyed like params, errors[l] the dict of layer l's errors (T, B, H).
    """
    L = len(layers)
    H_top = layers[-1][0]
    per_step = {"V": [], "c": []}
    dh_ext = []
    for t in range(do.shape[0]):
        dh_t, dV, dc_out = output_step_backward(do[t], H_top[t], params)   # Vᵀ ∂J/∂o(t), ...
        dh_ext.append(dh_t)
        per_step["V"].append(dV)                              # (∂J/∂V)^(t) = ∂J/∂o(t) h(t)ᵀ
        per_step["c"].append(dc_out)                          # (∂J/∂c)^(t) = ∂J/∂o(t)
    per_step = {k: np.stack(v) for k, v in per_step.items()}
    dh_ext = np.stack(dh_ext)                                 # (T, B, H)
    dh0, errors = [None] * L, [None] * L
    for layer in reversed(range(L)):
        dx, dh0[layer], ps, errors[layer] = layer_backward(dh_ext, layers[layer][1])
        per_step.update({layer_key(name, layer): v for name, v in ps.items()})
        dh_ext = dx                                           # ∂J/∂x(t) of layer l = error on h(t) of layer l−1
    per_step = {k: per_step[k] for k in params}
    grads = {k: v.sum(axis=0) for k, v in per_step.items()}   # ∂J/∂θ = Σ_t (∂J/∂θ)^(t)
    return dh_ext, np.stack(dh0), grads, per_step, errors
