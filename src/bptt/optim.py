"""Optimizers that update parameter dicts in place, keeping their state per key.

    opt = Adam(lr=1e-3)
    opt.step(model.params, grads)     # params[k] -= update(grads[k]) for every key

Hyperparameters live on the optimizer; per-parameter state (moments, velocities) lives in dicts
keyed like the parameters.
"""
from __future__ import annotations

import numpy as np

from . import _validate as v


class Optimizer:
    def _check(self, params, grads):
        if set(params) != set(grads):
            raise ValueError(f"The 'grads' argument of {type(self).__name__}.step must have the keys "
                             f"of params ({sorted(params)}). Got {sorted(grads)}.")
        for k, g in grads.items():
            if np.shape(g) != params[k].shape:
                raise ValueError(f"grads[{k!r}] must have the shape of params[{k!r}] "
                                 f"{params[k].shape}. Got {np.shape(g)}.")


class SGD(Optimizer):
    """θ ← θ − lr·v with v ← momentum·v + g (v = g without momentum)."""

    def __init__(self, lr, momentum=0.0):
        self.lr = v.check_float(lr, "lr", "SGD", low=0, low_open=True)
        self.momentum = v.check_float(momentum, "momentum", "SGD", low=0, high=1, high_open=True)
        self.velocity = {}

    def step(self, params, grads):
        self._check(params, grads)
        for k, p in params.items():
            g = grads[k]
            if self.momentum:
                buf = self.velocity.get(k)
                self.velocity[k] = buf = g.copy() if buf is None else buf * self.momentum + g
                g = buf
            p -= self.lr * g


class Adam(Optimizer):
    """Kingma & Ba (2015): m ← β1 m + (1−β1) g;  s ← β2 s + (1−β2) g²;
    θ ← θ − lr · m̂ / (√ŝ + eps) with the bias-corrected m̂, ŝ."""

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        o = "Adam"
        self.lr = v.check_float(lr, "lr", o, low=0, low_open=True)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"The 'betas' parameter of Adam must be a pair (beta1, beta2). Got {betas!r}.")
        self.betas = (v.check_float(betas[0], "betas[0]", o, low=0, high=1, high_open=True),
                      v.check_float(betas[1], "betas[1]", o, low=0, high=1, high_open=True))
        self.eps = v.check_float(eps, "eps", o, low=0)
        self.t = 0
        self.m, self.s = {}, {}

    def step(self, params, grads):
        self._check(params, grads)
        self.t += 1
        b1, b2 = self.betas
        for k, p in params.items():
            g = grads[k]
            m = self.m.setdefault(k, np.zeros_like(p))
            s = self.s.setdefault(k, np.zeros_like(p))
            m *= b1
            m += (1 - b1) * g
            s *= b2
            s += (1 - b2) * g * g
            m_hat = m / (1 - b1 ** self.t)
            s_hat = s / (1 - b2 ** self.t)
            p -= self.lr * m_hat / (np.sqrt(s_hat) + self.eps)
