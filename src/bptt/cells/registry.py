"""The model kinds a checkpoint or the CLI can name, and building them safely from a config."""
from __future__ import annotations

import numbers

from .gru.model import GRU
from .lstm.model import LSTM
from .rnn.model import SimpleRNN

MODEL_KINDS = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}
MAX_PARAMS = 200_000_000      # refuse absurd configs before allocating anything


def model_class(kind: str):
    if not isinstance(kind, str) or kind not in MODEL_KINDS:
        known = ", ".join(repr(k) for k in MODEL_KINDS)
        raise ValueError(f"Unknown model kind {kind!r}: expected one of {known}.")
    return MODEL_KINDS[kind]


def build_model(kind: str, config: dict, *, max_params: int = MAX_PARAMS, seed=0):
    """Build a model of `kind` from its config, after checking the sizes it would allocate."""
    cls = model_class(kind)
    if not isinstance(config, dict):
        raise ValueError(f"The model config must be a JSON object. Got {type(config).__name__}.")
    for key in ("input_size", "hidden_size", "output_size"):
        val = config.get(key)
        if isinstance(val, bool) or not isinstance(val, numbers.Integral) or val < 1:
            raise ValueError(f"The model config's {key!r} must be an int >= 1. Got {val!r}.")
    n = cls.num_params(config)
    if n > max_params:
        raise ValueError(f"The model config asks for {n:,} parameters (hidden_size="
                         f"{config['hidden_size']:,}), above the limit of {max_params:,}; "
                         f"refusing to allocate it.")
    return cls(**config, seed=seed)
