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
    max_len, or when there is no EOS at all, as for a language model)."""

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
