"""What the backward pass of a cell whose state is one array h returns (the simple RNN's and the
GRU's); the LSTM's, with the pair (h, c), is in `bptt.cells.lstm.results`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass
class HiddenStateBackward:
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
