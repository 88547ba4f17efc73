"""bptt: recurrent neural networks from scratch on NumPy, with explicit, exact and visible
back-propagation through time.

Dimension letters everywhere: T time steps, B batch, D input size, H hidden size, O output size.
Layout is time-major: x (T, B, D) or token ids (T, B); states (B, H); outputs (T, B, O).
"""
from . import optim
from .dense import MLP
from .gradcheck import gradcheck
from .rnn import SimpleRNN

__version__ = "0.1.0"
__all__ = ["MLP", "SimpleRNN", "gradcheck", "optim", "__version__"]
