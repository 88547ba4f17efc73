"""Sampling text from a trained character model, one step at a time, state carried."""
from __future__ import annotations

import numpy as np

from .. import _validate as v
from ..data import DataError
from ..nn.losses import log_softmax


def sample(model, vocab, length=500, *, temperature=0.8, prime="", seed=0) -> str:
    """`length` characters after `prime`: feed the prime through the model, then draw each next
    character from softmax(o(t) / temperature) and feed it back in."""
    o = "sample"
    from ..data import Vocab
    if not isinstance(vocab, Vocab):
        raise TypeError(f"The 'vocab' argument of sample must be a bptt.data.Vocab. "
                        f"Got {type(vocab).__name__}.")
    if getattr(model, "output", None) != "softmax" or not (
            model.input_size == model.output_size == vocab.size):
        raise ValueError(f"The 'model' argument of sample must be a character model with "
                         f"output='softmax' reading and predicting the vocabulary's {vocab.size} "
                         f"characters. Got {model!r}.")
    length = v.check_int(length, "length", o, minimum=1)
    temperature = v.check_float(temperature, "temperature", o, low=0, low_open=True)
    rng = v.check_rng(seed, o)
    if not isinstance(prime, str):
        raise TypeError(f"The 'prime' parameter of sample must be a str. Got {type(prime).__name__}.")
    unknown = sorted(set(prime) - set(vocab.chars))
    if unknown:
        raise DataError(f"The 'prime' text has characters outside the model's vocabulary: "
                        f"{', '.join(repr(c) for c in unknown)}.")
    state = model.zero_state(1)
    if prime:
        out = model.forward(vocab.encode(prime)[:, None], state)      # (T, 1) token ids
        logits, state = out.o[-1, 0], out.last_state
    else:
        logits = np.zeros(vocab.size)                                  # uniform first character
    ids = []
    for _ in range(length):
        logp = log_softmax(np.asarray(logits, dtype=np.float64) / temperature)
        nxt = int(rng.choice(vocab.size, p=np.exp(logp) / np.exp(logp).sum()))
        ids.append(nxt)
        out = model.forward(np.array([[nxt]]), state)
        logits = out.o[-1, 0]
        state = out.last_state
    return prime + vocab.decode(ids)
