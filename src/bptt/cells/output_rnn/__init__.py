"""The output-recurrent network (Goodfellow et al. §10.2.1): `model` (OutputRNN: teacher forcing,
free running, scheduled sampling), `reference` (the mirrored per-step functions and loops),
`trace` (errors and the error flow by source step)."""
from .model import MODES, OutputBackward, OutputForward, OutputRNN
from .trace import OutputRNNTrace

__all__ = ["MODES", "OutputBackward", "OutputForward", "OutputRNN", "OutputRNNTrace"]
