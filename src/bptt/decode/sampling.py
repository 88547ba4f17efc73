"""Sampling: each next token drawn from the filtered distribution (bptt.decode.filters).

    y(t) ~ filter(softmax(o(t) / τ); top-k, top-p)      o(t): the stepper's logits after y(1..t−1)

The draw is `rng.choice(V, p=p)` with the given numpy Generator (or one seeded from an int), so a
seed gives the same sequence every time. The returned logprob is the model's own (τ = 1,
unfiltered) log-probability of the drawn tokens; the score is the logprob.
"""
from __future__ import annotations

import numpy as np

from .. import _validate as v
from ..nn.losses import log_softmax
from .filters import check_filters, filter_logits
from .hypothesis import Hypothesis, make
from .stepper import check_eos, check_stepper, checked_logits

OWNER = "sample"


def sample(stepper, *, max_len, temperature=1.0, top_k=None, top_p=None, eos=None,
           seed=0) -> Hypothesis:
    """A sequence of at most `max_len` tokens drawn from `stepper` (a bptt.decode.Stepper); it
    stops after EOS (included). `seed`: an int or a numpy.random.Generator. Each draw is
    from filter_logits of the stepper's logits (N, V) with N = 1.

    Examples:
        >>> from bptt import SimpleRNN
        >>> from bptt.decode import LMStepper
        >>> from bptt.decode import sample
        >>> model = SimpleRNN(4, 8, 4, seed=1)
        >>> h = sample(LMStepper(model, prime_ids=[0, 1]), max_len=5, temperature=0.8, seed=0)
        >>> h == sample(LMStepper(model, prime_ids=[0, 1]), max_len=5, temperature=0.8, seed=0)
        True
        >>> o = model.forward(np.array([[0, 1, *h.tokens]]).T).o[1:-1, 0]   # o(t) → token t+1
        >>> logp = o - np.log(np.exp(o).sum(axis=1, keepdims=True))          # (5, V)
        >>> bool(np.isclose(h.logprob, logp[np.arange(5), h.tokens].sum()))  # the model's, τ = 1
        True
    """
    V = check_stepper(stepper, OWNER, conditioned=False)
    max_len = v.check_int(max_len, "max_len", OWNER)
    temperature, top_k, top_p = check_filters(temperature, top_k, top_p, OWNER)
    eos = check_eos(eos, V, OWNER)
    rng = v.check_rng(seed, OWNER)
    logits, state = stepper.start(1)
    tokens, logprob = [], 0.0
    for t in range(max_len):
        o = checked_logits(logits, 1, V, OWNER)[0]                         # (V,)
        p = filter_logits(o, temperature=temperature, top_k=top_k, top_p=top_p)
        y = int(rng.choice(V, p=p))
        tokens.append(y)
        logprob += log_softmax(o)[y]                                       # the model's, τ = 1
        if y == eos:
            return make(tokens, logprob, finished=True)
        if t + 1 < max_len:
            logits, state = stepper.step(state, np.array([y], dtype=np.int64))
    return make(tokens, logprob, finished=False)
