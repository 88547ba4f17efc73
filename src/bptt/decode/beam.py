"""Beam search: the `width` most probable prefixes kept at every step.

At step t (choosing token t = 1..max_len) each active hypothesis h of t−1 tokens is extended by
every token v, with

    logprob(h + v) = logprob(h) + log softmax(o_h(t))[v]

and the K·V candidates are ranked by logprob (all have t tokens, so this is also the rank by
score; ties by a stable sort: parent row, then token id). Walking down the ranking, a candidate
that chooses `eos` is finished and set aside, any other becomes active, until `width` active
candidates are found; the rest are dropped. The search stops

- after max_len tokens (the active ones are returned, finished=False),
- when `width` hypotheses have finished (before max_len: the active ones are dropped),
- or when no active hypothesis is left.

The result: the n_best best of the finished (and, at max_len, unfinished) hypotheses, ranked by
score = logprob / len**α (α = length_penalty; len counts the tokens chosen, EOS included;
α = 0: the raw log-probability), higher first, finished before unfinished at equal scores. With
eos=None (a language model) every hypothesis has exactly max_len tokens. Width 1 is greedy
decoding; a width >= V**(max_len−1) never drops a candidate before the last step and returns
the best sequences of exhaustive_search (tests/decode check both).
"""
from __future__ import annotations

import numpy as np

from .. import _validate as v
from ..nn.losses import log_softmax
from .hypothesis import Hypothesis, check_length_penalty, make, rank_key
from .stepper import check_eos, check_stepper, checked_logits

OWNER = "beam_search"


def beam_search(stepper, *, width, max_len, eos=None, length_penalty=0.0,
                n_best=1) -> list[Hypothesis]:
    """The `n_best` best hypotheses (best first; fewer only when fewer exist) of a beam of
    `width` over `stepper` (a bptt.decode.Stepper, logits (N, V) for N rows of the beam); the
    module docstring defines the search.

    Examples:
        >>> from bptt import SimpleRNN
        >>> from bptt.decode import LMStepper
        >>> from bptt.decode import beam_search, exhaustive_search, greedy
        >>> stepper = LMStepper(SimpleRNN(4, 8, 4, seed=1), prime_ids=[0, 1])
        >>> best, second = beam_search(stepper, width=3, max_len=4, eos=3, n_best=2)
        >>> best.tokens, second.tokens, best.logprob > greedy(stepper, max_len=4, eos=3).logprob
        ((3,), (1, 3), True)
        >>> best == exhaustive_search(stepper, max_len=4, eos=3)[0]
        True
    """
    V = check_stepper(stepper, OWNER, conditioned=True)
    width = v.check_int(width, "width", OWNER)
    max_len = v.check_int(max_len, "max_len", OWNER)
    n_best = v.check_int(n_best, "n_best", OWNER)
    if n_best > width:
        raise ValueError(f"The 'n_best' parameter of {OWNER} must be an int in [1, width] = "
                         f"[1, {width}]. Got {n_best!r} instead.")
    eos = check_eos(eos, V, OWNER)
    alpha = check_length_penalty(length_penalty, OWNER)

    logits, state = stepper.start(1)
    seqs = np.zeros((1, 0), dtype=np.int64)              # active prefixes (K, t−1)
    lps = np.zeros(1)                                    # their logprobs (K,)
    finished: list[Hypothesis] = []
    for t in range(1, max_len + 1):
        K = len(lps)
        logp = log_softmax(checked_logits(logits, K, V, OWNER))         # (K, V)
        cand = lps[:, None] + logp                                       # logprob(h + v)  (K, V)
        order = np.argsort(-cand.ravel(), kind="stable")                 # best first
        parent, token = np.divmod(order, V)
        is_eos = token == eos if eos is not None else np.zeros(len(order), dtype=bool)
        active_at = np.flatnonzero(~is_eos)
        cut = active_at[width - 1] + 1 if len(active_at) >= width else len(order)
        parent, token, is_eos = parent[:cut], token[:cut], is_eos[:cut]
        new_lps = cand[parent, token]
        for p, lp in zip(parent[is_eos], new_lps[is_eos]):              # chose EOS: set aside
            finished.append(make([*seqs[p], eos], lp, finished=True, alpha=alpha))
        keep = ~is_eos
        seqs = np.concatenate([seqs[parent[keep]], token[keep, None]], axis=1)   # (K', t)
        lps = new_lps[keep]
        if t == max_len:                                                 # unfinished at max_len
            finished += [make(s, lp, finished=False, alpha=alpha) for s, lp in zip(seqs, lps)]
            break
        if len(finished) >= width or len(lps) == 0:
            break
        state = stepper.select(state, parent[keep])
        logits, state = stepper.step(state, token[keep])
    return sorted(finished, key=rank_key)[:n_best]
