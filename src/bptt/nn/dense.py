"""Dense (densely connected) layers and the MLP: the article's first section.

Dimension letters: B batch, D input size, H layer width, O output size.

One dense layer with weights W (H, D) and bias b (H,), in batched row-vector form:

    z = b + x @ W.T          # (B, H)  pre-activation
    h = g(z)                 # (B, H)

and its backward pass, given the error ∂J/∂h arriving from the layer above:

    ∂J/∂z = g'(z) ⊙ ∂J/∂h    # (B, H)
    ∂J/∂W = ∂J/∂zᵀ x         # (H, D)   summed over the batch
    ∂J/∂b = Σ_batch ∂J/∂z    # (H,)
    ∂J/∂x = ∂J/∂z W          # (B, D)   the error the layer below needs

"In order to adjust parameters of a layer you need errors in the next layer": ∂J/∂x of one layer
is ∂J/∂h of the layer beneath it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import _validate as v
from .activations import Activation, get_activation
from .losses import OUTPUTS, loss_and_error
from .init import uniform_fan_in


class DenseCache(NamedTuple):
    x: np.ndarray   # (B, D) the layer's input
    h: np.ndarray   # (B, H) its activated output


def dense_forward(x, W, b, act: Activation):
    """h = g(b + x Wᵀ). Returns (h, cache)."""
    z = b + x @ W.T                     # (B, H)
    h = act.fn(z)                       # (B, H)
    return h, DenseCache(x, h)


def dense_backward(dh, W, cache: DenseCache, act: Activation):
    """From ∂J/∂h to (∂J/∂x, ∂J/∂W, ∂J/∂b)."""
    dz = act.grad_from_output(cache.h) * dh   # ∂J/∂z = g'(z) ⊙ ∂J/∂h       (B, H)
    dW = dz.T @ cache.x                        # ∂J/∂W = ∂J/∂zᵀ x            (H, D)
    db = dz.sum(axis=0)                        # ∂J/∂b = Σ_batch ∂J/∂z       (H,)
    dx = dz @ W                                # ∂J/∂x = ∂J/∂z W             (B, D)
    return dx, dW, db


@dataclass
class MLPForward:
    hidden: list          # h of each hidden layer, (B, H_l)
    o: np.ndarray         # (B, O) logits of the output layer
    y_hat: np.ndarray     # (B, O) f(o)


class MLP:
    """A multi-layer perceptron of dense layers: sizes = [D, H_1, ..., H_k, O].

    Parameters are ``params["W1"], params["b1"], ..., params["W{n}"], params["b{n}"]`` for the n =
    len(sizes) − 1 layers; layer l maps sizes[l−1] to sizes[l]. The last layer is the output layer,
    followed by f (softmax + cross-entropy, or identity + squared error). The loss is the mean over
    the batch. x (B, D); y (B,) class ids (softmax) or (B, O) (identity); W{l} (H_l, H_{l−1}),
    b{l} (H_l,).

    Examples:
        >>> from bptt import MLP, gradcheck
        >>> mlp = MLP([2, 3, 2], seed=0)                   # D = 2, one hidden layer of 3, O = 2
        >>> {k: p.shape for k, p in mlp.params.items()}, mlp.num_layers
        ({'W1': (3, 2), 'b1': (3,), 'W2': (2, 3), 'b2': (2,)}, 2)
        >>> x, y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([1, 1, 0])
        >>> out = mlp.forward(x)
        >>> out.hidden[0].shape, out.y_hat.shape, mlp.predict(x).shape
        ((3, 3), (3, 2), (3,))
        >>> J, grads = mlp.loss_and_grads(x, y)
        >>> gradcheck(mlp, x, y).max_error < 1e-7
        True
    """

    def __init__(self, sizes, *, activation="tanh", output="softmax", dtype="float64", seed=0):
        owner = "MLP"
        if not isinstance(sizes, (list, tuple)) or len(sizes) < 2:
            raise ValueError(f"The 'sizes' parameter of MLP must be a list of at least 2 layer sizes "
                             f"[input, ..., output]. Got {sizes!r} instead.")
        self.sizes = [v.check_int(s, f"sizes[{i}]", owner) for i, s in enumerate(sizes)]
        self.act = get_activation(activation, owner)
        self.activation = activation
        self.output = v.check_choice(output, "output", owner, OUTPUTS)
        self.dtype = v.check_dtype(dtype, owner)
        rng = v.check_rng(seed, owner)
        self.params = {}
        for l in range(1, len(self.sizes)):
            fan_in, fan_out = self.sizes[l - 1], self.sizes[l]
            self.params[f"W{l}"] = uniform_fan_in(rng, (fan_out, fan_in), fan_in, self.dtype)
            self.params[f"b{l}"] = uniform_fan_in(rng, (fan_out,), fan_in, self.dtype)

    @property
    def num_layers(self) -> int:
        """The number of dense layers, len(sizes) − 1: W{l} (H_l, H_{l−1}) for l = 1 .. num_layers."""
        return len(self.sizes) - 1

    def _check_x(self, x):
        x = v.check_float_array(x, "x", "MLP", (None, self.sizes[0]), self.dtype)
        if x.shape[0] < 1:
            raise ValueError(f"The 'x' argument of MLP must hold at least one row (B >= 1). "
                             f"Got shape {x.shape}.")
        return x

    def _check_y(self, y, B):
        O = self.sizes[-1]
        if self.output == "softmax":
            return v.check_token_ids(y, "y", "MLP", (B,), O)
        return v.check_float_array(y, "y", "MLP", (B, O), self.dtype)

    def _forward(self, x):
        caches, h = [], x
        for l in range(1, self.num_layers):
            h, cache = dense_forward(h, self.params[f"W{l}"], self.params[f"b{l}"], self.act)
            caches.append(cache)
        n = self.num_layers
        o = self.params[f"b{n}"] + h @ self.params[f"W{n}"].T      # (B, O) output layer, no g
        return caches, h, o

    def forward(self, x) -> MLPForward:
        """x (B, D) → `.hidden` [(B, H_l)], `.o` (B, O) logits and `.y_hat` (B, O) = f(o)."""
        from .losses import output_fn
        caches, _, o = self._forward(self._check_x(x))
        return MLPForward([c.h for c in caches], o, output_fn(self.output, o))

    def predict(self, x) -> np.ndarray:
        """Class ids (B,) (softmax) or the regression outputs (B, O) (identity) for x (B, D)."""
        out = self.forward(x)
        return out.y_hat.argmax(axis=-1) if self.output == "softmax" else out.y_hat

    def loss_and_grads(self, x, y):
        """(J, grads) for x (B, D) and y (B,) or (B, O): J the mean loss over the batch, grads
        keyed and shaped like params."""
        x = self._check_x(x)
        B = x.shape[0]
        y = self._check_y(y, B)
        caches, h_top, o = self._forward(x)
        n = self.num_layers
        weight = np.full(B, 1.0 / B, dtype=self.dtype)                  # mean over the batch
        loss, _, do = loss_and_error(self.output, o, y, weight)         # ∂J/∂o   (B, O)
        grads = {f"W{n}": do.T @ h_top, f"b{n}": do.sum(axis=0)}        # output layer is linear
        dh = do @ self.params[f"W{n}"]                                  # ∂J/∂h of the top hidden layer
        for l in range(n - 1, 0, -1):
            dh, grads[f"W{l}"], grads[f"b{l}"] = dense_backward(dh, self.params[f"W{l}"],
                                                                caches[l - 1], self.act)
        return loss, {k: grads[k] for k in self.params}
