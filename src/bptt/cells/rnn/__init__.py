"""The simple RNN (Goodfellow et al., eq. 10.8–10.11): `model` (SimpleRNN), `reference` (the
mirrored per-step functions), `fused` (the fast path), `trace` (errors and flows)."""
from .model import SimpleRNN
from .results import RNNBackward, RNNForward
from .trace import Trace

__all__ = ["RNNBackward", "RNNForward", "SimpleRNN", "Trace"]
