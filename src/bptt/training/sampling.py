"""Text from a trained character model: the vocabulary's side of bptt.decode (characters in, the
prime checked against the vocabulary, characters out). The decoding itself — the state carried
one step at a time, temperature, top-k, top-p, greedy, beam search — is bptt.decode's."""
from __future__ import annotations

from .. import _validate as v
from .. import decode
from ..data import DataError


def lm_stepper(model, vocab, prime="", owner="sample") -> decode.LMStepper:
    """A bptt.decode.LMStepper of `model` conditioned on the text `prime`, after checking that the
    model reads and predicts the vocabulary's characters and that the prime uses only them."""
    from ..data import Vocab
    if not isinstance(vocab, Vocab):
        raise TypeError(f"The 'vocab' argument of {owner} must be a bptt.data.Vocab. "
                        f"Got {type(vocab).__name__}.")
    if getattr(model, "output", None) != "softmax" or not (
            getattr(model, "input_size", None) == getattr(model, "output_size", None) == vocab.size):
        raise ValueError(f"The 'model' argument of {owner} must be a character model with "
                         f"output='softmax' reading and predicting the vocabulary's {vocab.size} "
                         f"characters. Got {model!r}.")
    if not isinstance(prime, str):
        raise TypeError(f"The 'prime' parameter of {owner} must be a str. Got {type(prime).__name__}.")
    unknown = sorted(set(prime) - set(vocab.chars))
    if unknown:
        raise DataError(f"The 'prime' text has characters outside the model's vocabulary: "
                        f"{', '.join(repr(c) for c in unknown)}.")
    return decode.LMStepper(model, vocab.encode(prime))


def sample(model, vocab, length=500, *, temperature=0.8, prime="", seed=0, top_k=None,
           top_p=None) -> str:
    """`prime` and `length` characters after it: feed the prime through the model, then draw each
    next character from softmax(o(t) / temperature), filtered by top_k and top_p
    (bptt.decode.filter_logits), and feed it back in. An empty prime: the first character is drawn
    uniformly. The same seed gives the same text as before bptt.decode existed (the same
    probabilities, the same `rng.choice` calls)."""
    o = "sample"
    stepper = lm_stepper(model, vocab, prime, o)
    length = v.check_int(length, "length", o, minimum=1)
    temperature = v.check_float(temperature, "temperature", o, low=0, low_open=True)
    rng = v.check_rng(seed, o)
    h = decode.sample(stepper, max_len=length, temperature=temperature, top_k=top_k, top_p=top_p,
                      seed=rng)
    return prime + vocab.decode(list(h.tokens))
