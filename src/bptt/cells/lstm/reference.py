"""The LSTM's reference path: mirrored per-step functions and sequence loops over them.

Notation of Greff et al., "LSTM: A Search Space Odyssey" (2017). Dimension letters: T time steps,
B batch, D input size (H for layers above the first), H hidden size, O output size.
A hat marks a pre-activation: ẑ(t) is the argument of the tanh that gives z(t).

Forward, one step of one layer, batched with row vectors (W_g x(t) → x_t @ W_g.T):

    z(t) = tanh(ẑ(t)),  ẑ(t) = W_z x(t) + R_z y(t−1) + b_z                    block input
    i(t) = σ(î(t)),     î(t) = W_i x(t) + R_i y(t−1) + p_i ⊙ c(t−1) + b_i      input gate
    f(t) = σ(f̂(t)),     f̂(t) = W_f x(t) + R_f y(t−1) + p_f ⊙ c(t−1) + b_f      forget gate
    c(t) = z(t) ⊙ i(t) + c(t−1) ⊙ f(t)                                       cell
    o(t) = σ(ô(t)),     ô(t) = W_o x(t) + R_o y(t−1) + p_o ⊙ c(t) + b_o        output gate
    y(t) = tanh(c(t)) ⊙ o(t)                                                 block output (h)

The peepholes p_i, p_f, p_o (H,) are there only when the model has them; the output gate's
peephole sees the new cell c(t). Layer l+1 takes layer l's y(t) as its x(t); the output layer
reads the top layer: o(t) = c + V y(t) (the "c" here is the output bias, named as in SimpleRNN;
the cell c(t) is never a parameter).

Backward, one step, given ∂J/∂y(t) (total) and the part of ∂J/∂c(t) that comes from step t+1:

    ∂J/∂ô(t) = ∂J/∂y(t) ⊙ tanh(c(t)) ⊙ σ'(ô(t))
    ∂J/∂c(t) = ∂J/∂y(t) ⊙ o(t) ⊙ tanh'(c(t)) + p_o ⊙ ∂J/∂ô(t) + [from t+1]
    ∂J/∂î(t) = ∂J/∂c(t) ⊙ z(t) ⊙ σ'(î(t))       ∂J/∂f̂(t) = ∂J/∂c(t) ⊙ c(t−1) ⊙ σ'(f̂(t))
    ∂J/∂ẑ(t) = ∂J/∂c(t) ⊙ i(t) ⊙ tanh'(ẑ(t))
    [from t] to c(t−1) = ∂J/∂c(t) ⊙ f(t) + p_i ⊙ ∂J/∂î(t) + p_f ⊙ ∂J/∂f̂(t)
    ∂J/∂y(t−1) ⊇ Σ_g R_gᵀ ∂J/∂ĝ(t)      ∂J/∂x(t) = Σ_g W_gᵀ ∂J/∂ĝ(t)      (g ∈ z, i, f, o)
    (∂J/∂W_g)^(t) = ∂J/∂ĝ(t) x(t)ᵀ   (∂J/∂R_g)^(t) = ∂J/∂ĝ(t) y(t−1)ᵀ   (∂J/∂b_g)^(t) = ∂J/∂ĝ(t)
    (∂J/∂p_i)^(t) = ∂J/∂î(t) ⊙ c(t−1)   (∂J/∂p_f)^(t) = ∂J/∂f̂(t) ⊙ c(t−1)   (∂J/∂p_o)^(t) = ∂J/∂ô(t) ⊙ c(t)

with σ'(a) = σ(a)(1 − σ(a)) and tanh'(a) = 1 − tanh²(a), both taken from the forward's outputs.

Parameter keys: layer 0 uses the plain names ("W_z", "R_f", "p_o"); layer l >= 1 appends ".l"
("W_z.1", "R_f.2"). The step functions take one layer's parameters under the plain names.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ...nn.activations import sigmoid
from ..rnn.reference import input_projection, output_step_backward, output_step_forward

GATES = ("z", "i", "f", "o")           # block input and the three gates, in the fused order
PEEPHOLES = ("p_i", "p_f", "p_o")


def key(name: str, layer: int) -> str:
    """The params key of `name` in `layer`: "W_z" for layer 0, "W_z.1" for layer 1, ..."""
    return name if layer == 0 else f"{name}.{layer}"


def layer_names(peepholes: bool) -> tuple:
    """One layer's parameter names, in the order they are created."""
    names = tuple(f"{w}_{g}" for w in ("W", "R", "b") for g in GATES)
    return names + (PEEPHOLES if peepholes else ())


def param_shapes(D: int, H: int, O: int, num_layers: int, peepholes: bool) -> dict:
    """{key: shape} of every parameter, in order: layer 0, layer 1, ..., then V and c."""
    shapes = {}
    for layer in range(num_layers):
        D_l = D if layer == 0 else H                          # layer l's input size
        for name in layer_names(peepholes):
            shape = {"W": (H, D_l), "R": (H, H), "b": (H,), "p": (H,)}[name[0]]
            shapes[key(name, layer)] = shape
    shapes["V"], shapes["c"] = (O, H), (O,)
    return shapes


def layer_params(params: dict, layer: int) -> dict:
    """One layer's parameters under the plain names (the same arrays, no copies)."""
    names = layer_names(key("p_i", layer) in params)
    return {name: params[key(name, layer)] for name in names}


class StepCache(NamedTuple):
    x_t: np.ndarray        # (B, D) floats, or (B,) token ids
    y_prev: np.ndarray     # (B, H) y(t−1)
    c_prev: np.ndarray     # (B, H) c(t−1)
    z: np.ndarray          # (B, H) z(t) = tanh(ẑ(t)); tanh'(ẑ(t)) = 1 − z(t)²
    i: np.ndarray          # (B, H) i(t) = σ(î(t)); σ'(î(t)) = i(t)(1 − i(t))
    f: np.ndarray          # (B, H) f(t)
    c: np.ndarray          # (B, H) c(t)
    o: np.ndarray          # (B, H) o(t)
    tanh_c: np.ndarray     # (B, H) tanh(c(t))
    params: dict           # the layer's parameters, plain names


class StepErrors(NamedTuple):
    """The errors of one step, kept for the trace."""
    y: np.ndarray          # (B, H) ∂J/∂y(t), total
    c: np.ndarray          # (B, H) ∂J/∂c(t), total
    z_hat: np.ndarray      # (B, H) ∂J/∂ẑ(t)
    i_hat: np.ndarray      # (B, H) ∂J/∂î(t)
    f_hat: np.ndarray      # (B, H) ∂J/∂f̂(t)
    o_hat: np.ndarray      # (B, H) ∂J/∂ô(t)


def step_forward(x_t, state_prev, p):
    """One step of one layer: ((y(t), c(t)), cache) from x(t) and (y(t−1), c(t−1))."""
    y_prev, c_prev = state_prev                                                # (B, H) each
    peep = "p_i" in p

    def pre(g):                                                                # W_g x(t) + R_g y(t−1) + b_g
        return input_projection(x_t, p[f"W_{g}"]) + y_prev @ p[f"R_{g}"].T + p[f"b_{g}"]

    z = np.tanh(pre("z"))                                                      # z(t) = tanh(ẑ(t))       (B, H)
    i = sigmoid(pre("i") + p["p_i"] * c_prev if peep else pre("i"))            # i(t) = σ(î(t))          (B, H)
    f = sigmoid(pre("f") + p["p_f"] * c_prev if peep else pre("f"))            # f(t) = σ(f̂(t))          (B, H)
    c = z * i + c_prev * f                                                     # c(t) = z ⊙ i + c(t−1) ⊙ f
    o = sigmoid(pre("o") + p["p_o"] * c if peep else pre("o"))                 # o(t) = σ(ô(t)), p_o sees c(t)
    tanh_c = np.tanh(c)                                                        # (B, H)
    y = tanh_c * o                                                             # y(t) = tanh(c(t)) ⊙ o(t)
    return (y, c), StepCache(x_t, y_prev, c_prev, z, i, f, c, o, tanh_c, p)


def step_backward(dy_t, dc_t, cache: StepCache):
    """From ∂J/∂y(t) (total) and the part of ∂J/∂c(t) from step t+1, to
    (∂J/∂x(t), (∂J/∂y(t−1) recurrent part, ∂J/∂c(t−1) part from step t), grads, errors).

    ∂J/∂x(t) is None for token inputs; grads are this step's contributions (∂J/∂θ)^(t) under the
    layer's plain names, summed over the batch.
    """
    p, k = cache.params, cache
    peep = "p_i" in p
    do_hat = dy_t * k.tanh_c * k.o * (1 - k.o)               # ∂J/∂ô = ∂J/∂y ⊙ tanh(c) ⊙ σ'(ô)      (B, H)
    dc = dc_t + dy_t * k.o * (1 - k.tanh_c ** 2)             # ∂J/∂c = ∂J/∂y ⊙ o ⊙ tanh'(c) + [t+1]  (B, H)
    if peep:
        dc = dc + p["p_o"] * do_hat                          #        + p_o ⊙ ∂J/∂ô
    di_hat = dc * k.z * k.i * (1 - k.i)                      # ∂J/∂î = ∂J/∂c ⊙ z ⊙ σ'(î)              (B, H)
    df_hat = dc * k.c_prev * k.f * (1 - k.f)                 # ∂J/∂f̂ = ∂J/∂c ⊙ c(t−1) ⊙ σ'(f̂)        (B, H)
    dz_hat = dc * k.i * (1 - k.z ** 2)                       # ∂J/∂ẑ = ∂J/∂c ⊙ i ⊙ tanh'(ẑ)           (B, H)
    dc_prev = dc * k.f                                       # to c(t−1): ∂J/∂c ⊙ f
    if peep:
        dc_prev = dc_prev + p["p_i"] * di_hat + p["p_f"] * df_hat   # + p_i ⊙ ∂J/∂î + p_f ⊙ ∂J/∂f̂
    d_hat = {"z": dz_hat, "i": di_hat, "f": df_hat, "o": do_hat}
    dy_prev = sum(d_hat[g] @ p[f"R_{g}"] for g in GATES)     # Σ_g R_gᵀ ∂J/∂ĝ(t)                     (B, H)
    grads = {}
    tokens = k.x_t.dtype.kind in "iu"
    for g in GATES:
        if tokens:
            dW = np.zeros_like(p[f"W_{g}"])
            np.add.at(dW.T, k.x_t, d_hat[g])                 # columns picked by the ids              (H, D)
        else:
            dW = d_hat[g].T @ k.x_t                          # ∂J/∂ĝ(t) x(t)ᵀ                         (H, D)
        grads[f"W_{g}"] = dW
        grads[f"R_{g}"] = d_hat[g].T @ k.y_prev              # ∂J/∂ĝ(t) y(t−1)ᵀ                       (H, H)
        grads[f"b_{g}"] = d_hat[g].sum(axis=0)               # ∂J/∂ĝ(t)                               (H,)
    if peep:
        grads["p_i"] = (di_hat * k.c_prev).sum(axis=0)       # ∂J/∂î ⊙ c(t−1)                         (H,)
        grads["p_f"] = (df_hat * k.c_prev).sum(axis=0)       # ∂J/∂f̂ ⊙ c(t−1)                         (H,)
        grads["p_o"] = (do_hat * k.c).sum(axis=0)            # ∂J/∂ô ⊙ c(t)                           (H,)
    dx = None if tokens else sum(d_hat[g] @ p[f"W_{g}"] for g in GATES)   # Σ_g W_gᵀ ∂J/∂ĝ(t)    (B, D)
    errors = StepErrors(dy_t, dc, dz_hat, di_hat, df_hat, do_hat)
    return dx, (dy_prev, dc_prev), grads, errors


def layer_forward(x, state0, p):
    """Loop of step_forward over t = 0..T−1 for one layer. state0 = (y(−1), c(−1)), (B, H) each.

    Returns (Y, C, caches): Y, C the block outputs and cells (T, B, H)."""
    state, ys, cs, caches = state0, [], [], []
    for t in range(x.shape[0]):
        state, cache = step_forward(x[t], state, p)
        ys.append(state[0])
        cs.append(state[1])
        caches.append(cache)
    return np.stack(ys), np.stack(cs), caches


def layer_backward(dy_ext, caches):
    """Full BPTT through one layer: the loop of step_backward from t = T−1 down to 0.

    dy_ext (T, B, H): the error reaching y(t) from outside the recurrence (Vᵀ ∂J/∂o(t) for the top
    layer, the layer above's ∂J/∂x(t) below it). Returns (dx, (dy0, dc0), per_step, errors):
    dx (T, B, D) or None for token ids, dy0 = ∂J/∂y(−1), dc0 = ∂J/∂c(−1), per_step[name] the
    contributions (T, *shape) under plain names, errors[name] (T, B, H) for the StepErrors fields.
    """
    T = len(caches)
    dy_rec = np.zeros_like(caches[0].y_prev)                 # Σ_g R_gᵀ ∂J/∂ĝ(T) = 0: no step T
    dc_next = np.zeros_like(caches[0].c_prev)                # nothing reaches c(T−1) from step T
    dxs, per_step, errors = [None] * T, {}, {}
    for t in reversed(range(T)):
        dy_t = dy_ext[t] + dy_rec                            # ∂J/∂y(t) = [outside] + Σ_g R_gᵀ ∂J/∂ĝ(t+1)
        dxs[t], (dy_rec, dc_next), g, e = step_backward(dy_t, dc_next, caches[t])
        for name, val in g.items():
            per_step.setdefault(name, [None] * T)[t] = val
        for name, val in e._asdict().items():
            errors.setdefault(name, [None] * T)[t] = val
    per_step = {k: np.stack(v) for k, v in per_step.items()}
    errors = {k: np.stack(v) for k, v in errors.items()}
    dx = None if dxs[0] is None else np.stack(dxs)
    return dx, (dy_rec, dc_next), per_step, errors           # now ∂J/∂y(−1) and ∂J/∂c(−1)


def sequence_forward(x, h0, c0, params, num_layers):
    """Every layer over all steps, then the output layer. h0, c0: (num_layers, B, H).

    Returns (layers, o): layers[l] = (Y, C, caches) of layer l, o the logits (T, B, O)."""
    layers, inp = [], x
    for layer in range(num_layers):
        Y, C, caches = layer_forward(inp, (h0[layer], c0[layer]), layer_params(params, layer))
        layers.append((Y, C, caches))
        inp = Y                                              # layer l's y(t) is layer l+1's x(t)
    o = np.stack([output_step_forward(y_t, params) for y_t in inp])   # o(t) = c + V y(t)  (T, B, O)
    return layers, o


def sequence_backward(do, layers, params):
    """Full BPTT through every layer, top first. do: ∂J/∂o(t) (T, B, O).

    Returns (dx, dh0, dc0, grads, per_step, errors): dh0, dc0 (num_layers, B, H), grads and
    per_step (T, *shape) keyed like params, errors[l] the dict of layer l's errors (T, B, H).
    """
    L = len(layers)
    Y_top = layers[-1][0]
    per_step = {"V": [], "c": []}
    dy_ext = []
    for t in range(do.shape[0]):
        dy_t, dV, dc_out = output_step_backward(do[t], Y_top[t], params)   # Vᵀ ∂J/∂o(t), ...
        dy_ext.append(dy_t)
        per_step["V"].append(dV)                              # (∂J/∂V)^(t) = ∂J/∂o(t) y(t)ᵀ
        per_step["c"].append(dc_out)                          # (∂J/∂c)^(t) = ∂J/∂o(t)
    per_step = {k: np.stack(v) for k, v in per_step.items()}
    dy_ext = np.stack(dy_ext)                                 # (T, B, H)
    dh0, dc0, errors = [None] * L, [None] * L, [None] * L
    for layer in reversed(range(L)):
        dx, (dh0[layer], dc0[layer]), ps, errors[layer] = layer_backward(dy_ext, layers[layer][2])
        per_step.update({key(name, layer): v for name, v in ps.items()})
        dy_ext = dx                                           # ∂J/∂x(t) of layer l = error on y(t) of layer l−1
    per_step = {k: per_step[k] for k in params}
    grads = {k: v.sum(axis=0) for k, v in per_step.items()}   # ∂J/∂θ = Σ_t (∂J/∂θ)^(t)
    return dy_ext, np.stack(dh0), np.stack(dc0), grads, per_step, errors
