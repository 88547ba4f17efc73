"""bptt: recurrent neural networks from scratch on NumPy, with explicit, exact and visible
back-propagation through time.

Dimension letters everywhere: T time steps, B batch, D input size, H hidden size, O output size.
Layout is time-major: x (T, B, D) or token ids (T, B); states (B, H); outputs (T, B, O).

The packages (see ARCHITECTURE.md): `nn` (activations, losses, dense layers, gradcheck), `cells`
(the recurrent models, one subpackage per cell), `training`, `io` (checkpoints, PyTorch interop),
`data`, `viz`, `bench`, `cli`.
"""
import sys as _sys

from . import data, viz
from . import decode as decode          # re-exported: bptt.decode
from .cells import GRU, LSTM, OutputRNN, SimpleRNN
from .cells.seq2seq import Seq2Seq
from .data.chardata import CharData
from .io.interop import from_torch, to_torch
from .nn.dense import MLP
from .nn.gradcheck import gradcheck
from .training import clipping, optim, schedules
from .training.lab_replay import load_lab_export  # bptt.io.lab_export's, with LabExport.replay
from .training.loop import TrainConfig, TrainingError, evaluate, train
from .training.optim import make_optimizer

# Module paths users import from before the packages existed: `bptt.optim`, `bptt.clipping` and
# `bptt.schedules` (`import bptt.optim`, `from bptt.optim import Adam`) are the same modules.
for _name in ("optim", "clipping", "schedules"):
    _sys.modules[f"{__name__}.{_name}"] = globals()[_name]

__version__ = "0.1.0"
"""The version of this bptt, as its package metadata states it.

Examples:
    >>> import importlib.metadata
    >>> import bptt
    >>> bptt.__version__ == importlib.metadata.version("bptt")
    True
"""
__all__ = ["CharData", "GRU", "LSTM", "MLP", "OutputRNN", "Seq2Seq", "SimpleRNN", "TrainConfig", "TrainingError",
           "clipping", "data", "decode", "evaluate", "from_torch", "gradcheck", "load_lab_export",
           "make_optimizer", "optim", "schedules", "to_torch", "train", "viz", "__version__"]
