"""What the SimpleRNN's forward and backward passes return (shared by the model and its trace)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass
class RNNForward:
    a: np.ndarray        # (T, B, H) pre-activations a(t) of the top layer
    h: np.ndarray        # (T, B, H) hidden states h(t) of the top layer
    o: np.ndarray        # (T, B, O) logits o(t)
    y_hat: np.ndarray    # (T, B, O) f(o(t))
    h_last: np.ndarray   # (B, H), or (L, B, H): the state to carry into the next call
    layers_h: list = None  # h(t) of every layer, [(T, B, H)]

    @property
    def last_state(self):
        """The state to pass as h0 of the next call (for an LSTM it is the pair (h, c))."""
        return self.h_last


@dataclass
class RNNBackward:
    loss: float                  # J
    grads: dict                  # ∂J/∂θ, keyed like params
    dh0: np.ndarray              # ∂J/∂h0, (B, H) or (L, B, H)
    dx: Optional[np.ndarray]     # ∂J/∂x (T, B, D), None for token inputs
    hs: list                     # h(t) of each layer this pass, [(T, B, H)]

    @property
    def h(self) -> np.ndarray:
        return self.hs[-1]

    def state(self, t: int) -> np.ndarray:
        """The recurrent state after step t of this pass: h(t), (B, H) or (L, B, H)."""
        return self.hs[0][t] if len(self.hs) == 1 else np.stack([h[t] for h in self.hs])

    @property
    def h_last(self) -> np.ndarray:
        return self.state(-1)
