"""bptt: recurrent neural networks from scratch on NumPy, with explicit, exact and visible
back-propagation through time.

Dimension letters everywhere: T time steps, B batch, D input size, H hidden size, O output size.
Layout is time-major: x (T, B, D) or token ids (T, B); states (B, H); outputs (T, B, O).
"""
from . import clipping, data, optim, schedules, viz
from .chardata import CharData
from .dense import MLP
from .gradcheck import gradcheck
from .interop import from_torch, to_torch
from .optim import make_optimizer
from .lstm import LSTM
from .rnn import SimpleRNN
from .train import TrainConfig, TrainingError, evaluate, train

__version__ = "0.1.0"
__all__ = ["CharData", "LSTM", "MLP", "SimpleRNN", "TrainConfig", "TrainingError", "clipping", "data",
           "evaluate", "from_torch", "gradcheck", "make_optimizer", "optim", "schedules", "to_torch", "train", "viz", "__version__"]
