"""Greedy decoding: at every step the most probable next token (ties: the lowest id).

    y(t) = argmax_v log softmax(o(t))[v]        o(t): the stepper's logits after y(1..t−1)

It stops after EOS (included) or after max_len tokens. It is beam search of width 1, and the
same hypothesis (tests/decode check both). The score is the logprob (no length normalisation).
"""
from __future__ import annotations

import numpy as np

from .. import _validate as v
from ..nn.losses import log_softmax
from .hypothesis import Hypothesis, make
from .stepper import check_eos, check_stepper, checked_logits

OWNER = "greedy"


def greedy(stepper, *, max_len, eos=None) -> Hypothesis:
    """The greedy sequence of at most `max_len` tokens from `stepper` (a bptt.decode.Stepper,
    logits (N, V)), a Hypothesis.

    Examples:
        >>> from bptt import SimpleRNN
        >>> from bptt.decode import LMStepper
        >>> from bptt.decode import beam_search, greedy
        >>> stepper = LMStepper(SimpleRNN(4, 8, 4, seed=1), prime_ids=[0, 1])
        >>> h = greedy(stepper, max_len=4, eos=3)
        >>> h.tokens, h.finished
        ((1, 3), True)
        >>> h == beam_search(stepper, width=1, max_len=4, eos=3)[0]     # a beam of width 1
        True
    """
    V = check_stepper(stepper, OWNER, conditioned=True)
    max_len = v.check_int(max_len, "max_len", OWNER)
    eos = check_eos(eos, V, OWNER)
    logits, state = stepper.start(1)
    tokens, logprob = [], 0.0
    for t in range(max_len):
        logp = log_softmax(checked_logits(logits, 1, V, OWNER))[0]     # (V,)
        y = int(np.argmax(logp))                                       # the first of equal maxima
        tokens.append(y)
        logprob += logp[y]
        if y == eos:
            return make(tokens, logprob, finished=True)
        if t + 1 < max_len:
            logits, state = stepper.step(state, np.array([y], dtype=np.int64))
    return make(tokens, logprob, finished=False)
