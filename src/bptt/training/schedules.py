"""Learning-rate schedules: callables from the step number to the learning rate.

    schedule = cosine_with_warmup(3e-3, warmup_steps=100, total_steps=2000)
    for step in range(2000):
        opt.lr = schedule(step)       # the lr for the update about to be made
        opt.step(params, grads)

`step` counts the updates already made (0 for the first). A schedule returns the learning rate
itself, not a multiplier. Schedules are frozen dataclasses: they keep no counter (the caller owns
the step number), compare by value and print their settings.

The formulas (lr: the peak/base rate, s: the step):

    constant(lr)                                   lr(s) = lr
    step_decay(lr, step_size, gamma)               lr(s) = lr · gamma^⌊s / step_size⌋
    cosine_with_warmup(lr, W, S, min_lr)           lr(s) = lr · (s + 1) / (W + 1)                    s < W
                                                   lr(s) = min_lr + ½ (lr − min_lr)(1 + cos(π p))    W ≤ s < S,
                                                           p = (s − W) / (S − W)
                                                   lr(s) = min_lr                                     s ≥ S

step_decay equals torch.optim.lr_scheduler.StepLR after s calls of its step(). The warm-up
rises linearly from lr/(W+1) (never exactly 0, so the first update moves) to lr at s = W, where
the cosine starts; it reaches min_lr at s = S and stays there.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .. import _validate as v

__all__ = ["Constant", "StepDecay", "CosineWithWarmup", "constant", "step_decay",
           "cosine_with_warmup"]


def _check_step(step, owner: str) -> int:
    return v.check_int(step, "step", owner, minimum=0)


@dataclass(frozen=True)
class Constant:
    """lr(s) = lr.

    Examples:
        >>> from bptt.schedules import Constant, constant
        >>> Constant(0.01)(1000), Constant(0.01) == constant(0.01)
        (0.01, True)
    """
    lr: float

    def __post_init__(self):
        object.__setattr__(self, "lr", v.check_float(self.lr, "lr", "constant", low=0))

    def __call__(self, step) -> float:
        _check_step(step, "Constant")
        return self.lr  # lr(s) = lr


@dataclass(frozen=True)
class StepDecay:
    """lr(s) = lr · gamma^⌊s / step_size⌋ (torch's StepLR).

    Examples:
        >>> from bptt.schedules import StepDecay
        >>> StepDecay(1.0, step_size=2, gamma=0.5)
        StepDecay(lr=1.0, step_size=2, gamma=0.5)
    """
    lr: float
    step_size: int
    gamma: float = 0.1

    def __post_init__(self):
        o = "step_decay"
        object.__setattr__(self, "lr", v.check_float(self.lr, "lr", o, low=0))
        object.__setattr__(self, "step_size", v.check_int(self.step_size, "step_size", o, minimum=1))
        object.__setattr__(self, "gamma", v.check_float(self.gamma, "gamma", o, low=0, high=1,
                                                        low_open=True))

    def __call__(self, step) -> float:
        s = _check_step(step, "StepDecay")
        return self.lr * self.gamma ** (s // self.step_size)  # lr · gamma^⌊s / step_size⌋


@dataclass(frozen=True)
class CosineWithWarmup:
    """Linear warm-up over `warmup_steps`, then a half cosine from lr down to min_lr at
    `total_steps`, then min_lr (formulas in the module docstring).

    Examples:
        >>> from bptt.schedules import CosineWithWarmup, cosine_with_warmup
        >>> CosineWithWarmup(1.0, 3, 7, 0.1) == cosine_with_warmup(1.0, 3, 7, min_lr=0.1)
        True
    """
    lr: float
    warmup_steps: int
    total_steps: int
    min_lr: float = 0.0

    def __post_init__(self):
        o = "cosine_with_warmup"
        lr = v.check_float(self.lr, "lr", o, low=0)
        warmup = v.check_int(self.warmup_steps, "warmup_steps", o, minimum=0)
        total = v.check_int(self.total_steps, "total_steps", o, minimum=1)
        if warmup > total:
            raise ValueError(f"The 'warmup_steps' parameter of {o} must be <= total_steps "
                             f"({total}). Got {warmup} instead.")
        min_lr = v.check_float(self.min_lr, "min_lr", o, low=0, high=lr)
        for name, value in (("lr", lr), ("warmup_steps", warmup), ("total_steps", total),
                            ("min_lr", min_lr)):
            object.__setattr__(self, name, value)

    def __call__(self, step) -> float:
        s = _check_step(step, "CosineWithWarmup")
        W, S = self.warmup_steps, self.total_steps
        if s < W:
            return self.lr * (s + 1) / (W + 1)  # lr · (s + 1) / (W + 1)
        if s >= S:
            return self.min_lr  # min_lr after the end
        p = (s - W) / (S - W)  # progress through the decay, in [0, 1)
        return self.min_lr + 0.5 * (self.lr - self.min_lr) * (1 + math.cos(math.pi * p))
        # min_lr + ½ (lr − min_lr)(1 + cos(π p))


def constant(lr) -> Constant:
    """lr(s) = lr.

    Examples:
        >>> from bptt.schedules import constant
        >>> [constant(0.01)(step) for step in (0, 1, 1000)]
        [0.01, 0.01, 0.01]
    """
    return Constant(lr)


def step_decay(lr, step_size, gamma=0.1) -> StepDecay:
    """lr(s) = lr · gamma^⌊s / step_size⌋, as torch's StepLR; gamma in (0, 1].

    Examples:
        >>> from bptt.schedules import step_decay
        >>> schedule = step_decay(1.0, step_size=2, gamma=0.5)
        >>> [schedule(step) for step in range(6)]
        [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """
    return StepDecay(lr, step_size, gamma)


def cosine_with_warmup(lr, warmup_steps, total_steps, min_lr=0.0) -> CosineWithWarmup:
    """Linear warm-up from lr/(W+1) to lr over W = warmup_steps, cosine down to min_lr at
    total_steps, min_lr afterwards. 0 <= warmup_steps <= total_steps, 0 <= min_lr <= lr.

    Examples:
        >>> from bptt.schedules import cosine_with_warmup
        >>> schedule = cosine_with_warmup(1.0, warmup_steps=3, total_steps=7, min_lr=0.1)
        >>> [round(schedule(step), 4) for step in range(9)]     # up 4 steps, down 4, then flat
        [0.25, 0.5, 0.75, 1.0, 0.8682, 0.55, 0.2318, 0.1, 0.1]
    """
    return CosineWithWarmup(lr, warmup_steps, total_steps, min_lr)
