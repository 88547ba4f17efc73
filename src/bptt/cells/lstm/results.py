"""What the LSTM's forward and backward passes return (shared by the model and its trace)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .reference import GATES


@dataclass
class LSTMForward:
    h: np.ndarray        # (T, B, H) block outputs y(t) of the top layer
    c: np.ndarray        # (T, B, H) cells c(t) of the top layer
    o: np.ndarray        # (T, B, O) logits o(t) (not the output gate: that is gates["o"])
    y_hat: np.ndarray    # (T, B, O) f(o(t))
    h_last: np.ndarray   # y(T−1) of every layer, in the state's layout: (B, H) or (L, B, H)
    c_last: np.ndarray   # c(T−1) likewise
    layers: list         # layers[l] = {"h", "c", "z", "i", "f", "o"}: layer l's y(t), c(t) and
                         # gate values, each (T, B, H); the last entry is the top layer

    @property
    def gates(self) -> dict:
        """The top layer's {"z", "i", "f", "o"} values, each (T, B, H)."""
        return {g: self.layers[-1][g] for g in GATES}

    @property
    def last_state(self):
        """The state to pass as h0 of the next call: (h_last, c_last)."""
        return self.h_last, self.c_last


@dataclass
class LSTMBackward:
    loss: float                  # J
    grads: dict                  # ∂J/∂θ, keyed like params
    dh0: tuple                   # (∂J/∂h0, ∂J/∂c0) in the state's layout
    dx: Optional[np.ndarray]     # ∂J/∂x (T, B, D), None for token inputs
    ys: list                     # ys[l] (T, B, H): layer l's y(t) in this pass
    cs: list                     # cs[l] (T, B, H): layer l's c(t)

    @property
    def h(self) -> np.ndarray:
        """(T, B, H) the top layer's y(t)."""
        return self.ys[-1]

    def state(self, t: int):
        """The state (h, c) after step t of this pass, in the layout of h0."""
        if len(self.ys) == 1:
            return self.ys[0][t], self.cs[0][t]
        return np.stack([y[t] for y in self.ys]), np.stack([c[t] for c in self.cs])

    @property
    def h_last(self):
        return self.state(-1)[0]

    @property
    def c_last(self):
        return self.state(-1)[1]

    @property
    def last_state(self):
        return self.state(-1)
