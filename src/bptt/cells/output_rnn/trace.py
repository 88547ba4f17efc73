"""The trace of one forward + BPTT pass of an OutputRNN, in a given training mode.

    tr = model.trace(x, y, mask=None, mode="teacher" | "free" | "scheduled", p_model=0.5, seed=0)
    tr.forward                 a, h, o, y_hat, fed (f(t−1) read by step t), through, use_model
    tr.loss, tr.grads          equal to loss_and_grads(...) with the same mode, p_model and seed
    tr.errors["o"|"h"|"a"|"f"] ∂J/∂o(t) (total), ∂J/∂h(t), ∂J/∂a(t), ∂J/∂f(t), each (T, B, .)
    tr.per_step[name]          (T, *shape): (∂J/∂θ)^(t); sums over axis 0 to grads[name]
    tr.errors_by_source["a"]   (T, T, B, H): [s, t] = ∂L(s)/∂a(t); also "h"
    tr.flow                    (T, T): ‖errors_by_source["a"][s, t]‖ over (B, H)

L(s) is the weighted loss term of step s (Σ_s L(s) = J), so Σ_s ∂L(s)/∂a(t) = ∂J/∂a(t).
The point of the design (Goodfellow et al. §10.2.1): with teacher forcing f(t−1) = y(t−1) is a
constant, no error crosses a time step and the flow matrix is diagonal — training needs no
BPTT and its steps could run in parallel; running free with feedback="probs", the error of L(s)
reaches every earlier step through ŷ(s−1), ŷ(s−2), …: a full lower triangle. With argmax or
sampled feedback the fed-back one-hots are constants too, so that flow is diagonal as well.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..tracing import TraceTooLarge, check_size  # noqa: F401  (TraceTooLarge re-exported)
from . import reference


@dataclass
class OutputRNNTrace:
    model: object
    mode: str
    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    forward: object
    loss: float
    grads: dict
    errors: dict
    per_step: dict
    dy0: np.ndarray
    max_bytes: int
    _do_loss: np.ndarray = field(default=None, repr=False)
    _pass: object = field(default=None, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def errors_by_source(self) -> dict:
        """{"a", "h"}: (T, T, B, H) with [s, t] = ∂L(s)/∂a(t) and ∂L(s)/∂h(t); computed on first
        access, refused (with the size) beyond max_bytes."""
        if "by_source" not in self._cache:
            T, B, H = self.forward.h.shape
            check_size("errors_by_source", (2, T, T, B, H), self.max_bytes)
            self._cache["by_source"] = reference.errors_by_source(self._do_loss, self._pass,
                                                                  self.model.output)
        return self._cache["by_source"]

    @property
    def flow(self) -> np.ndarray:
        """(T, T): [s, t] = ‖∂L(s)/∂a(t)‖ over (B, H); zero for t > s."""
        return np.sqrt((self.errors_by_source["a"] ** 2).sum(axis=(2, 3)))
