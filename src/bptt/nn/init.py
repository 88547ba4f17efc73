"""Parameter initialization, as PyTorch does it for nn.Linear, nn.RNN and nn.LSTM:
every entry uniform in [−1/√fan_in, 1/√fan_in] (for recurrent layers fan_in is the hidden size)."""
from __future__ import annotations

import numpy as np


def uniform_fan_in(rng: np.random.Generator, shape, fan_in: int, dtype) -> np.ndarray:
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)
