"""Exhaustive search: every sequence the decoders could return, scored — the reference that beam
search, greedy decoding and the docs are checked against.

The sequences: every token string that ends at its first EOS, or has max_len tokens without EOS
(eos=None: all V**max_len strings of max_len tokens). Their number,

    Σ_{t=1..max_len} (V−1)**(t−1)  +  (V−1)**max_len     with eos,      V**max_len without,

is refused past MAX_SEQUENCES before any work. They are scored as beam search scores them
(score = logprob / len**α, bptt.decode.hypothesis) and sorted best first. The stepper is run one
level at a time, all prefixes of t tokens side by side.
"""
from __future__ import annotations

import numpy as np

from .. import _validate as v
from ..nn.losses import log_softmax
from .hypothesis import Hypothesis, check_length_penalty, make, rank_key
from .stepper import check_eos, check_stepper, checked_logits

OWNER = "exhaustive_search"
MAX_SEQUENCES = 200_000
"""The most sequences exhaustive_search scores (count_sequences); more are refused.

Examples:
    >>> from bptt.decode import MAX_SEQUENCES, count_sequences
    >>> count_sequences(4, 10, eos=3) <= MAX_SEQUENCES < count_sequences(4, 11, eos=3)
    True
"""


def count_sequences(V: int, max_len: int, eos) -> int:
    """How many sequences exhaustive_search would score (Python ints: no overflow). No arrays.

    Examples:
        >>> from bptt.decode import count_sequences
        >>> count_sequences(4, 2, eos=None), count_sequences(4, 2, eos=3)   # 4², then 1 + 3 + 3²
        (16, 13)
    """
    if eos is None:
        return V ** max_len
    return sum((V - 1) ** (t - 1) for t in range(1, max_len + 1)) + (V - 1) ** max_len


def exhaustive_search(stepper, *, max_len, eos=None, length_penalty=0.0) -> list[Hypothesis]:
    """Every sequence of at most `max_len` tokens (ending at its first `eos`, or at max_len) from
    `stepper` (a bptt.decode.Stepper, logits (N, V)), best first: count_sequences(V, max_len,
    eos) Hypothesis objects, at most MAX_SEQUENCES.

    Examples:
        >>> from bptt import SimpleRNN
        >>> from bptt.decode import LMStepper
        >>> from bptt.decode import count_sequences, exhaustive_search
        >>> stepper = LMStepper(SimpleRNN(4, 8, 4, seed=1), prime_ids=[0, 1])
        >>> hyps = exhaustive_search(stepper, max_len=3, eos=3)
        >>> len(hyps) == count_sequences(4, 3, eos=3), hyps[0].tokens
        (True, (3,))
        >>> bool(np.isclose(sum(np.exp(h.logprob) for h in hyps), 1.0))   # every sequence once
        True
    """
    V = check_stepper(stepper, OWNER, conditioned=True)
    max_len = v.check_int(max_len, "max_len", OWNER)
    eos = check_eos(eos, V, OWNER)
    alpha = check_length_penalty(length_penalty, OWNER)
    n = count_sequences(V, max_len, eos)
    if n > MAX_SEQUENCES:
        raise ValueError(f"exhaustive_search would score {n} sequences (V = {V}, max_len = "
                         f"{max_len}, eos = {eos!r}); it refuses more than {MAX_SEQUENCES}. "
                         f"Use a smaller 'max_len' or vocabulary.")
    logits, state = stepper.start(1)
    seqs = np.zeros((1, 0), dtype=np.int64)              # the prefixes of t−1 tokens (K, t−1)
    lps = np.zeros(1)                                    # their logprobs (K,)
    out: list[Hypothesis] = []
    for t in range(1, max_len + 1):
        K = len(lps)
        cand = lps[:, None] + log_softmax(checked_logits(logits, K, V, OWNER))   # (K, V)
        parent, token = np.divmod(np.arange(K * V), V)
        is_eos = token == eos if eos is not None else np.zeros(K * V, dtype=bool)
        for p, y in zip(parent[is_eos], token[is_eos]):
            out.append(make([*seqs[p], y], cand[p, y], finished=True, alpha=alpha))
        parent, token = parent[~is_eos], token[~is_eos]
        seqs = np.concatenate([seqs[parent], token[:, None]], axis=1)    # (K', t)
        lps = cand[parent, token]
        if t == max_len:
            out += [make(s, lp, finished=False, alpha=alpha) for s, lp in zip(seqs, lps)]
        elif len(lps):
            logits, state = stepper.step(stepper.select(state, parent), token)
    return sorted(out, key=rank_key)
