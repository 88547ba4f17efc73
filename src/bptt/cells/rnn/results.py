"""What the SimpleRNN's forward and backward passes return (shared by the model and its trace)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..results import HiddenStateBackward


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


class RNNBackward(HiddenStateBackward):
    """The SimpleRNN's backward pass: loss, grads, dh0, dx and the states h(t) of every layer."""
