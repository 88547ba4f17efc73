"""What a decoder returns: a chosen sequence with its log-probability and its score.

    logprob = Σ_t log softmax(o(t))[y(t)]     the model's own log-probability of the chosen tokens
                                              y(1..n) (EOS included when it ends the hypothesis),
                                              whatever temperature or filter chose them
    score   = logprob / n**α                  length normalisation, α = length_penalty >= 0;
                                              n = len(tokens); α = 0: score = logprob

Sorting best first: the higher score; at equal scores finished before unfinished, then the
tokens in lexicographic order (so the order is total and reproducible).
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import _validate as v


@dataclass(frozen=True)
class Hypothesis:
    """A decoded sequence: `tokens` (ids, EOS included when finished), `logprob` (above), `score`
    (logprob after length normalisation), `finished` (it chose EOS; False when it reached
    max_len, or when there is no EOS at all, as for a language model). No arrays: the tokens
    are a tuple of ints, the stepper's logits (N, V) are summed into logprob.

    Examples:
        >>> from bptt import SimpleRNN
        >>> from bptt.decode import LMStepper
        >>> from bptt.decode import beam_search
        >>> stepper = LMStepper(SimpleRNN(4, 8, 4, seed=1), prime_ids=[0, 1])
        >>> h = beam_search(stepper, width=3, max_len=4, eos=3, length_penalty=1.0)[0]
        >>> h.finished, h.tokens[-1], len(h)
        (True, 3, 2)
        >>> h.score == h.logprob / len(h)                 # score = logprob / n**α, α = 1
        True
    """

    tokens: tuple[int, ...]
    logprob: float
    score: float
    finished: bool

    def __len__(self):
        return len(self.tokens)


def check_length_penalty(alpha, owner: str) -> float:
    return v.check_float(alpha, "length_penalty", owner, low=0)


def length_normalised(logprob: float, n: int, alpha: float) -> float:
    """score = logprob / n**α (n >= 1 tokens; α = 0 gives logprob itself: n**0 = 1)."""
    return logprob / n ** alpha


def make(tokens, logprob: float, finished: bool, alpha: float = 0.0) -> Hypothesis:
    tokens = tuple(int(t) for t in tokens)
    logprob = float(logprob)
    return Hypothesis(tokens, logprob, length_normalised(logprob, len(tokens), alpha), bool(finished))


def rank_key(h: Hypothesis):
    """sorted(hyps, key=rank_key): best first (higher score, finished first, then the tokens)."""
    return (-h.score, not h.finished, h.tokens)
