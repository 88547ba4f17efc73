"""Optimizers that update parameter dicts in place, keeping their state per key.

    opt = Adam(lr=1e-3)
    opt.step(model.params, grads)     # params[k] -= update(grads[k]) for every key
    opt.lr = schedule(step)           # schedules (bptt.schedules) set the lr between steps

Hyperparameters are attributes of the optimizer (`opt.lr`, `opt.betas`, ...); per-parameter
state (moments, velocities) lives in dicts keyed like the parameters (`opt.m["W"]`), one dict per
state slot, created at the first step. `opt.t` counts the steps taken. Every update equals the
one of the torch.optim class of the same name with the same settings (tested in float64).

`step` updates the arrays of `params` in place (they keep their identity) and computes in their
dtype (float32 stays float32). It checks that grads has the keys and shapes of params and that
the state matches them, but not finiteness (the trainer checks the clipped norm).

Checkpoints. ``state_dict()`` returns plain data that fits an npz (the arrays) plus JSON (the
rest)::

    {"type":  "Adam",                                  # the class name
     "hyper": {"lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-08, "weight_decay": 0.0},
     "step":  12,                                      # opt.t
     "state": {"m": {"U": array, "W": array, ...},     # one dict per slot, keyed like params
               "v": {"U": array, "W": array, ...}}}

Arrays are copies. ``load_state_dict(d)`` checks the type, the hyperparameters, the step, the
slot names (they depend on the settings: RMSProp has "grad_avg" only when centered) and that all
slots have the same keys and shapes, then replaces hyperparameters, step and state at once (or
raises and changes nothing). Shapes against the parameters are checked at the next `step`.

Gradient clipping (bptt.clipping) and learning-rate schedules (bptt.schedules) are re-exported
here: ``from bptt.optim import Adam, clip_by_norm, cosine_with_warmup``.
"""
from __future__ import annotations

import inspect
import math

import numpy as np

from .. import _validate as v
from .clipping import clip_by_norm, clip_by_value, global_norm
from .optimizer import Optimizer
from .schedules import (Constant, CosineWithWarmup, StepDecay, constant, cosine_with_warmup,
                        step_decay)

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSProp", "Adam", "OPTIMIZERS", "make_optimizer",
           "global_norm", "clip_by_norm", "clip_by_value", "Constant", "StepDecay",
           "CosineWithWarmup", "constant", "step_decay", "cosine_with_warmup"]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and L2 weight decay.

        g ← g + λ θ                 (weight_decay λ > 0)
        v ← μ v + g                 (momentum μ > 0; v starts at 0, so v = g at the first step)
        g ← g + μ v  (Nesterov)  or  g ← v
        θ ← θ − lr g

    Entry by entry on params and grads of the same keys and shapes (U (H, D), W (H, H), ...);
    v (the state `velocity`, with momentum) is keyed and shaped like them.

    Examples:
        >>> from bptt.optim import SGD
        >>> params, grads = {"W": np.ones((2, 2))}, {"W": np.full((2, 2), 0.5)}   # W (H, H)
        >>> opt = SGD(lr=0.1, momentum=0.9)
        >>> opt.step(params, grads); opt.step(params, grads)    # v = 0.5, then 0.9·0.5 + 0.5
        >>> params["W"]                                         # 1 − 0.1·0.5 − 0.1·0.95
        array([[0.855, 0.855],
               [0.855, 0.855]])
        >>> opt.hyperparameters()
        {'lr': 0.1, 'momentum': 0.9, 'nesterov': False, 'weight_decay': 0.0}
    """

    def __init__(self, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        o = "SGD"
        self.lr = lr
        self.momentum = v.check_float(momentum, "momentum", o, low=0, high=1, high_open=True)
        self.nesterov = v.check_bool(nesterov, "nesterov", o)
        if self.nesterov and self.momentum == 0:
            raise ValueError("The 'nesterov' parameter of SGD needs a momentum > 0. "
                             "Got nesterov=True with momentum=0.0.")
        self.weight_decay = v.check_float(weight_decay, "weight_decay", o, low=0)
        super().__init__()

    def hyperparameters(self) -> dict:
        """The constructor's keyword arguments (JSON-able): SGD(**opt.hyperparameters())."""
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}

    def _slots(self) -> tuple:
        return ("velocity",) if self.momentum else ()

    def _update(self, k, p, g):
        if self.weight_decay:
            g = g + self.weight_decay * p  # g ← g + λθ
        if self.momentum:
            vel = self.velocity[k]
            vel *= self.momentum
            vel += g  # v ← μ v + g
            g = g + self.momentum * vel if self.nesterov else vel  # g ← g + μ v, or g ← v
        p -= self.lr * g  # θ ← θ − lr g


class Adagrad(Optimizer):
    """Duchi, Hazan & Singer (2011): per-entry rates shrinking with the summed squared gradients.

        g ← g + λ θ                 (weight_decay λ > 0)
        G ← G + g²                  (G starts at initial_accumulator_value)
        θ ← θ − lr g / (√G + eps)

    Entry by entry on params and grads of the same keys and shapes (W (H, H), ...); G (the
    state `sum_sq`) is keyed and shaped like them.

    Examples:
        >>> from bptt.optim import Adagrad
        >>> params = {"W": np.ones(2)}                            # W (H,), H = 2
        >>> grads = {"W": np.array([0.5, -2.0])}                  # shaped like params
        >>> opt = Adagrad(lr=0.1)
        >>> opt.step(params, grads)                               # G = g²: a step of lr·sign(g)
        >>> params["W"], opt.sum_sq["W"], opt.hyperparameters()["eps"]
        (array([0.9, 1.1]), array([0.25, 4.  ]), 1e-10)
    """

    def __init__(self, lr=1e-2, eps=1e-10, initial_accumulator_value=0.0, weight_decay=0.0):
        o = "Adagrad"
        self.lr = lr
        self.eps = v.check_float(eps, "eps", o, low=0)
        self.initial_accumulator_value = v.check_float(
            initial_accumulator_value, "initial_accumulator_value", o, low=0)
        self.weight_decay = v.check_float(weight_decay, "weight_decay", o, low=0)
        super().__init__()

    def hyperparameters(self) -> dict:
        """The constructor's keyword arguments (JSON-able): Adagrad(**opt.hyperparameters())."""
        return {"lr": self.lr, "eps": self.eps,
                "initial_accumulator_value": self.initial_accumulator_value,
                "weight_decay": self.weight_decay}

    def _slots(self) -> tuple:
        return ("sum_sq",)

    def _initial(self, slot):
        return self.initial_accumulator_value  # G starts here

    def _update(self, k, p, g):
        if self.weight_decay:
            g = g + self.weight_decay * p  # g ← g + λθ
        G = self.sum_sq[k]
        G += g * g  # G ← G + g²
        p -= self.lr * g / (np.sqrt(G) + self.eps)  # θ ← θ − lr g / (√G + eps)


class RMSProp(Optimizer):
    """Tieleman & Hinton (2012), with Graves' (2013) centered variant, as torch.optim.RMSprop.

        g ← g + λ θ                         (weight_decay λ > 0)
        s ← α s + (1 − α) g²                (square_avg)
        ḡ ← α ḡ + (1 − α) g                 (grad_avg, centered only)
        d ← √(s − ḡ²) + eps  (centered)  or  d ← √s + eps
        b ← μ b + g / d,  θ ← θ − lr b      (momentum μ > 0; velocity b)
        θ ← θ − lr g / d                    (no momentum)

    s − ḡ² ≥ 0 in exact arithmetic; it is clamped at 0 against rounding (where torch gives nan).
    Entry by entry on params and grads of the same keys and shapes (W (H, H), ...).

    Examples:
        >>> from bptt.optim import RMSProp
        >>> params = {"W": np.ones(2)}                            # W (H,), H = 2
        >>> grads = {"W": np.array([0.5, -2.0])}                  # shaped like params
        >>> opt = RMSProp(lr=0.01, alpha=0.99)
        >>> opt.step(params, grads)                   # s = 0.01 g²: θ − 0.01 g / (0.1 |g|)
        >>> params["W"], opt.hyperparameters()["centered"]
        (array([0.9, 1.1]), False)
    """

    def __init__(self, lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.0, centered=False,
                 weight_decay=0.0):
        o = "RMSProp"
        self.lr = lr
        self.alpha = v.check_float(alpha, "alpha", o, low=0, high=1, high_open=True)
        self.eps = v.check_float(eps, "eps", o, low=0)
        self.momentum = v.check_float(momentum, "momentum", o, low=0, high=1, high_open=True)
        self.centered = v.check_bool(centered, "centered", o)
        self.weight_decay = v.check_float(weight_decay, "weight_decay", o, low=0)
        super().__init__()

    def hyperparameters(self) -> dict:
        """The constructor's keyword arguments (JSON-able): RMSProp(**opt.hyperparameters())."""
        return {"lr": self.lr, "alpha": self.alpha, "eps": self.eps, "momentum": self.momentum,
                "centered": self.centered, "weight_decay": self.weight_decay}

    def _slots(self) -> tuple:
        return (("square_avg",) + (("grad_avg",) if self.centered else ())
                + (("velocity",) if self.momentum else ()))

    def _update(self, k, p, g):
        a = self.alpha
        if self.weight_decay:
            g = g + self.weight_decay * p  # g ← g + λθ
        s = self.square_avg[k]
        s *= a
        s += (1 - a) * g * g  # s ← α s + (1 − α) g²
        if self.centered:
            gbar = self.grad_avg[k]
            gbar *= a
            gbar += (1 - a) * g  # ḡ ← α ḡ + (1 − α) g
            d = np.sqrt(np.maximum(s - gbar * gbar, 0)) + self.eps  # d ← √(s − ḡ²) + eps
        else:
            d = np.sqrt(s) + self.eps  # d ← √s + eps
        if self.momentum:
            b = self.velocity[k]
            b *= self.momentum
            b += g / d  # b ← μ b + g / d
            p -= self.lr * b  # θ ← θ − lr b
        else:
            p -= self.lr * g / d  # θ ← θ − lr g / d


class Adam(Optimizer):
    """Kingma & Ba (2015), with L2 weight decay added to the gradient as torch.optim.Adam
    (not the decoupled AdamW).

        g ← g + λ θ                         (weight_decay λ > 0)
        m ← β1 m + (1 − β1) g
        v ← β2 v + (1 − β2) g²
        θ ← θ − lr m̂ / (√v̂ + eps),   m̂ = m / (1 − β1ᵗ),  v̂ = v / (1 − β2ᵗ)

    Entry by entry on params and grads of the same keys and shapes (W (H, H), ...); m and v
    are keyed and shaped like them.

    Examples:
        >>> from bptt.optim import Adam
        >>> params = {"W": np.ones(2)}                            # W (H,), H = 2
        >>> grads = {"W": np.array([0.5, -2.0])}                  # shaped like params
        >>> opt = Adam(lr=0.1)
        >>> opt.step(params, grads)                   # m̂ = g, v̂ = g²: a step of lr·sign(g)
        >>> params["W"], opt.m["W"], opt.hyperparameters()["betas"]
        (array([0.9, 1.1]), array([ 0.05, -0.2 ]), [0.9, 0.999])
    """

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        o = "Adam"
        self.lr = lr
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"The 'betas' parameter of Adam must be a pair (beta1, beta2). "
                             f"Got {betas!r} instead.")
        self.betas = (v.check_float(betas[0], "betas[0]", o, low=0, high=1, high_open=True),
                      v.check_float(betas[1], "betas[1]", o, low=0, high=1, high_open=True))
        self.eps = v.check_float(eps, "eps", o, low=0)
        self.weight_decay = v.check_float(weight_decay, "weight_decay", o, low=0)
        super().__init__()

    def hyperparameters(self) -> dict:
        """The constructor's keyword arguments (JSON-able): Adam(**opt.hyperparameters())."""
        return {"lr": self.lr, "betas": list(self.betas), "eps": self.eps,
                "weight_decay": self.weight_decay}

    def _slots(self) -> tuple:
        return ("m", "v")

    def _update(self, k, p, g):
        b1, b2 = self.betas
        if self.weight_decay:
            g = g + self.weight_decay * p  # g ← g + λθ
        m, s = self.m[k], self.v[k]  # s is the paper's v (v names the validation module)
        m *= b1
        m += (1 - b1) * g  # m ← β1 m + (1 − β1) g
        s *= b2
        s += (1 - b2) * g * g  # v ← β2 v + (1 − β2) g²
        step_size = self.lr / (1 - b1 ** self.t)  # lr / (1 − β1ᵗ), so that lr·m̂ = step_size·m
        d = np.sqrt(s) / math.sqrt(1 - b2 ** self.t) + self.eps  # √v̂ + eps
        p -= step_size * m / d  # θ ← θ − lr m̂ / (√v̂ + eps)


# name → (class, defaults); make_optimizer's keyword arguments override the defaults
OPTIMIZERS = {
    "sgd": (SGD, {}),
    "momentum": (SGD, {"momentum": 0.9}),
    "nesterov": (SGD, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (Adagrad, {}),
    "rmsprop": (RMSProp, {}),
    "adam": (Adam, {}),
}
"""The optimizers by name: (class, default keyword arguments), as make_optimizer builds them.

Examples:
    >>> from bptt.optim import OPTIMIZERS
    >>> sorted(OPTIMIZERS), OPTIMIZERS["nesterov"][1]
    (['adagrad', 'adam', 'momentum', 'nesterov', 'rmsprop', 'sgd'], {'momentum': 0.9, 'nesterov': True})
"""


def make_optimizer(name, lr, **kwargs) -> Optimizer:
    """Build an optimizer by name: 'sgd', 'momentum' (SGD, momentum 0.9), 'nesterov' (SGD,
    Nesterov momentum 0.9), 'adagrad', 'rmsprop' or 'adam'. Keyword arguments go to the class
    (and override the defaults of 'momentum' and 'nesterov'). The optimizer's step takes
    params and grads of the same keys and shapes (U (H, D), W (H, H), ...).

    Examples:
        >>> from bptt import make_optimizer
        >>> make_optimizer("momentum", 0.1)
        SGD(lr=0.1, momentum=0.9, nesterov=False, weight_decay=0.0)
        >>> make_optimizer("adam", 1e-3, betas=(0.8, 0.9))
        Adam(lr=0.001, betas=[0.8, 0.9], eps=1e-08, weight_decay=0.0)
    """
    v.check_choice(name, "name", "make_optimizer", tuple(OPTIMIZERS))
    cls, defaults = OPTIMIZERS[name]
    accepted = [a for a in inspect.signature(cls).parameters if a != "lr"]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise TypeError(f"make_optimizer({name!r}) got unknown options {unknown}; "
                        f"{cls.__name__} takes {', '.join(accepted)}.")
    return cls(lr, **{**defaults, **kwargs})
