"""Hidden activations g and their derivatives.

Every derivative here is written in terms of the activation's *output* h = g(a), so a forward
pass only needs to keep h(t) for the backward pass, never a(t) as well:

    tanh:      g(a) = tanh(a)            g'(a) = 1 − h²
    sigmoid:   g(a) = 1 / (1 + e^(−a))   g'(a) = h (1 − h)
    relu:      g(a) = max(a, 0)          g'(a) = [h > 0]
    identity:  g(a) = a                  g'(a) = 1
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np


class Activation(NamedTuple):
    name: str
    fn: Callable[[np.ndarray], np.ndarray]                  # h = g(a)
    grad_from_output: Callable[[np.ndarray], np.ndarray]    # g'(a) from h
    apply: Callable[[np.ndarray, np.ndarray], None]         # out[...] = g(a), no allocation


def sigmoid(a: np.ndarray) -> np.ndarray:
    # σ(a) = ½ tanh(½a) + ½: no overflow for any a, in float32 as in float64
    return 0.5 * np.tanh(0.5 * a) + 0.5


def _relu(a):
    return np.maximum(a, 0)


def _sigmoid_into(a, out):
    np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5


def _copy_into(a, out):
    out[...] = a


ACTIVATIONS = {
    "tanh": Activation("tanh", np.tanh, lambda h: 1 - h * h,
                       lambda a, out: np.tanh(a, out=out)),
    "sigmoid": Activation("sigmoid", sigmoid, lambda h: h * (1 - h), _sigmoid_into),
    "relu": Activation("relu", _relu, lambda h: (h > 0).astype(h.dtype),
                       lambda a, out: np.maximum(a, 0, out=out)),
    "identity": Activation("identity", lambda a: a.copy(), lambda h: np.ones_like(h), _copy_into),
}


def get_activation(name: str, owner: str) -> Activation:
    from .._validate import check_choice
    return ACTIVATIONS[check_choice(name, "activation", owner, tuple(ACTIVATIONS))]
