"""What the GRU's forward and backward passes return (shared by the model and its trace)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..results import HiddenStateBackward

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


class GRUBackward(HiddenStateBackward):
    """The GRU's backward pass: loss, grads, dh0, dx and the states h(t) of every layer."""
