"""What the GRU's forward and backward passes return (shared by the model and its trace)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .reference import GATES


@dataclass
class GRUForward:
    h: np.ndarray        # (T, B, H) states h(t) of the top layer
    o: np.ndarray        # (T, B, O) logits o(t)
    y_hat: np.ndarray    # (T, B, O) f(o(t))
    h_last: np.ndarray   # h(T−1) of every layer, in the state's layout: (B, H) or (L, B, H)
    layers: list         # layers[l] = {"h", "r", "z", "n"}: layer l's h(t) and gate values,
                         # each (T, B, H); the last entry is the top layer

    @property
    def gates(self) -> dict:
        """The top layer's {"r", "z", "n"} values, each (T, B, H)."""
        return {g: self.layers[-1][g] for g in GATES}

    @property
    def last_state(self):
        """The state to pass as h0 of the next call: h_last."""
        return self.h_last


@dataclass
class GRUBackward:
    loss: float                  # J
    grads: dict                  # ∂J/∂θ, keyed like params
    dh0: np.ndarray              # ∂J/∂h0 in the state's layout, (B, H) or (L, B, H)
    dx: Optional[np.ndarray]     # ∂J/∂x (T, B, D), None for token inputs (or when not asked for)
    hs: list                     # hs[l] (T, B, H): layer l's h(t) in this pass

    @property
    def h(self) -> np.ndarray:
        """(T, B, H) the top layer's h(t)."""
        return self.hs[-1]

    def state(self, t: int) -> np.ndarray:
        """The state after step t of this pass, in the layout of h0: (B, H) or (L, B, H)."""
        return self.hs[0][t] if len(self.hs) == 1 else np.stack([h[t] for h in self.hs])

    @property
    def h_last(self) -> np.ndarray:
        return self.state(-1)

    @property
    def last_state(self) -> np.ndarray:
        return self.state(-1)
