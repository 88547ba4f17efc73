"""The LSTM (Greff et al. 2017 notation): `model` (LSTM), `reference` (the mirrored per-step
functions), `fused` (the fast path), `kernels` (optional numba kernels), `trace` (errors and the
cell-path and hidden-path flows)."""
from .model import LSTM
from .results import LSTMBackward, LSTMForward
from .trace import LSTMTrace

__all__ = ["LSTM", "LSTMBackward", "LSTMForward", "LSTMTrace"]
