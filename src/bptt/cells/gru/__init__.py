"""The GRU (Cho et al. 2014; reset gate after W_n as in PyTorch, or before it): `model` (GRU),
`reference` (the mirrored per-step functions), `fused` (the fast path), `trace` (errors and
flows)."""
from .model import GRU
from .results import GRUBackward, GRUForward
from .trace import GRUTrace

__all__ = ["GRU", "GRUBackward", "GRUForward", "GRUTrace"]
