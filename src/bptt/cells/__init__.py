"""The recurrent cells: the shared base (`base.RecurrentModel`, which states the contract every
cell keeps), the registry of kinds (`registry`), truncated BPTT (`truncated`), and one subpackage
per cell — `rnn`, `lstm`, `gru` — each with `model.py`, `reference.py`, `fused.py`, `trace.py`.

Nothing here imports training, pictures, files, the CLI or benchmarks.
"""
from .base import RecurrentModel
from .gru import GRU, GRUTrace
from .lstm import LSTM, LSTMTrace
from .output_rnn import OutputRNN, OutputRNNTrace
from .registry import MAX_PARAMS, MODEL_KINDS, build_model, model_class
from .rnn import SimpleRNN, Trace

TRACE_CLASSES = tuple(cls.trace_class for cls in MODEL_KINDS.values())

__all__ = ["GRU", "GRUTrace", "LSTM", "LSTMTrace", "MAX_PARAMS", "MODEL_KINDS", "OutputRNN",
           "OutputRNNTrace", "RecurrentModel",
           "SimpleRNN", "TRACE_CLASSES", "Trace", "build_model", "model_class"]
