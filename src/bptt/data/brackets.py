"""Balanced brackets: sequence classification that needs memory of the whole string (a counter,
or with two kinds of bracket a stack), one target per sequence like `parity`, time-major.

Ids into BRACKETS = "()[]": "(" 0, ")" 1, "[" 2, "]" 3, i.e. id = 2·kind + (1 for a closer);
kinds=1 uses "()" only, kinds=2 both pairs. Strings of lengths[b] brackets, padded at the end:

    x[t, b]   bracket t of string b (0 on the padding)            (T, n), T = max_len
    y[b] = 1  if string b is balanced: every closer closes the most recent open bracket, of its
              own kind, and none is left open (a stack empties with no mismatch); else 0
    lengths   (n,), even, drawn uniformly from min_len, min_len + 2, ..., max_len

Odd lengths are never drawn: an odd string is never balanced, so its length would tell. Exactly
n // 2 strings are balanced when n is even (n // 2 or n // 2 + 1 when n is odd), at random rows.

Balanced strings are uniform among the balanced strings of their length's shape (Dyck words, by
the cycle lemma: a random arrangement of m + 1 openers and m closers, rotated to the one rotation
whose prefixes all hold more openers, first opener dropped); each matched pair has a uniform kind.
An unbalanced string is a balanced one with one change, each with equal probability:

    "flip"   one bracket turned round ("(" <-> ")", same kind): the counts differ by 2;
    "swap"   a top-level pair turned round, (u) -> )u( : equal counts, but the prefix that ends at
             the first ")" holds one closer too many — counting the totals does not see it;
    "cross"  (kinds=2) a pair and one nested inside it get different kinds and exchange their
             closers' kinds, ([]) -> ([)] : each kind's counts stay equal and no prefix of either
             kind goes negative, yet a closer meets an opener of the other kind — only a stack
             sees it (a string without nesting, as ()(), gets a "swap" instead).

So, with kinds=1, "balanced iff the counts are equal" scores 75 % (it misses "swap") and a depth
counter that also watches the prefixes 100 %; with kinds=2 the totals per kind score about 67 %
and per-kind depth counters about 86 % for 2..20 brackets (they miss "cross"). `decode` gives
the strings; they are also the keys that keep a held-out set out of training (`exclude`).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _validate as v

#: The brackets' characters by id: "(" 0, ")" 1, "[" 2, "]" 3.
BRACKETS = "()[]"
"""The brackets' characters by id: "(" 0, ")" 1, "[" 2, "]" 3.

Examples:
    >>> from bptt.data import BRACKETS
    >>> [BRACKETS.index(c) for c in "([])"]
    [0, 2, 3, 1]
"""
#: Redraws of excluded strings before `brackets` gives up (an `exclude` covering nearly all).
MAX_REDRAWS = 100


class Brackets(NamedTuple):
    """What brackets returns: x (T, n) ids into BRACKETS, y (n,) 1 for a balanced string,
    lengths (n,).

    Examples:
        >>> from bptt.data import BRACKETS, brackets
        >>> b = brackets(4, seed=1, max_len=6, min_len=4)
        >>> [("".join(BRACKETS[i] for i in b.x[:n, j]), int(b.y[j])) for j, n in enumerate(b.lengths)]
        [('()()', 1), ('(()())', 1), ('(()))(', 0), ('(()(', 0)]
    """
    x: np.ndarray        # (T, n) intp ids into BRACKETS, 0 on the padding
    y: np.ndarray        # (n,) intp: 1 balanced, 0 unbalanced
    lengths: np.ndarray  # (n,) intp: the strings' lengths (even)


def decode(x, lengths) -> np.ndarray:
    """(n,) str: the strings of x (T, n) ids with lengths (n,), e.g. "(()[])"."""
    x = np.asarray(x)
    chars = np.array(list(BRACKETS))
    return np.array(["".join(chars[x[:n, b]]) for b, n in enumerate(np.asarray(lengths))])


def encode(strings, max_len=None) -> tuple:
    """(x (T, n) intp, lengths (n,) intp) of bracket strings, padded with 0 to T = max_len
    (default the longest string's length)."""
    owner = "encode"
    strings = list(strings)
    for s in strings:
        if not isinstance(s, str) or set(s) - set(BRACKETS):
            raise ValueError(f"The 'strings' argument of {owner} must hold strings of the characters "
                             f"{BRACKETS!r}. Got {s!r}.")
    lengths = np.array([len(s) for s in strings], dtype=np.intp)
    longest = int(lengths.max(initial=0))
    T = longest if max_len is None else v.check_int(max_len, "max_len", owner)
    if T < longest:
        raise ValueError(f"The 'max_len' parameter of {owner} must be >= the longest string's "
                         f"length {longest}. Got {T}.")
    x = np.zeros((T, len(strings)), dtype=np.intp)
    for b, s in enumerate(strings):
        x[:len(s), b] = [BRACKETS.index(c) for c in s]
    return x, lengths


def _dyck(m, T, rng) -> np.ndarray:
    """(T, k) bool: openers of a uniform Dyck word of 2·m[b] brackets per column (the cycle lemma),
    False on the padding."""
    k = m.size
    N = 2 * m + 1                                            # m + 1 openers, m closers
    rows = np.arange(T + 1)[:, None]
    keys = rng.random((T + 1, k))
    keys[rows >= N] = 2.0                                    # the padding sorts last
    up = keys.argsort(0).argsort(0) < (m + 1)[None, :]       # a random arrangement
    step = np.where(up, 1, -1)
    before = np.vstack([np.zeros((1, k), int), np.cumsum(step, 0)[:-1]])   # S_j: sum before j
    before[rows >= N] = T + 2                                # never the minimum
    start = T - before[::-1].argmin(0)                       # the last j < N with the least S_j
    idx = (start[None, :] + 1 + np.arange(T)[:, None]) % N[None, :]        # rotate, drop one "("
    opens = np.take_along_axis(up, idx, 0)
    return opens & (np.arange(T)[:, None] < 2 * m[None, :])


def _partners(opens, lengths) -> np.ndarray:
    """(T, k) intp: the position of each bracket's partner in a Dyck word (a stack per column)."""
    T, k = opens.shape
    stack = np.zeros((T, k), dtype=np.intp)
    depth = np.zeros(k, dtype=np.intp)
    partner = np.zeros((T, k), dtype=np.intp)
    cols = np.arange(k)
    for t in range(T):
        real = t < lengths
        o, c = cols[opens[t] & real], cols[~opens[t] & real]
        stack[depth[o], o] = t                               # push the opener's position
        depth[o] += 1
        depth[c] -= 1
        partner[t, c] = stack[depth[c], c]                   # pop it for the closer
        partner[stack[depth[c], c], c] = t
    return partner


def _pick(candidates, rng, rank=0) -> np.ndarray:
    """(k,): per column a uniform choice among the rows where candidates (T, k) is True (the
    rank-th of a random order: rank 1 gives a second, different one)."""
    keys = np.where(candidates, rng.random(candidates.shape), -1.0)
    return np.argsort(-keys, axis=0)[rank]


def _draw(y, lengths, kinds, T, rng) -> np.ndarray:
    """(T, k) ids: a balanced string where y = 1, a near miss (flip, swap or cross) where y = 0."""
    k = y.size
    cols = np.arange(k)
    opens = _dyck(lengths // 2, T, rng)
    partner = _partners(opens, lengths)
    kind = rng.integers(0, kinds, size=(T, k))
    kind = np.where(opens, kind, np.take_along_axis(kind, partner, 0))      # a closer: its opener's
    x = 2 * kind + ~opens                                    # 2·kind + (1 for a closer)
    t = np.arange(T)[:, None]
    real = t < lengths[None, :]
    outer = opens & real & (partner > t + 1)                 # cross: a pair with one inside it
    change = rng.integers(0, 3 if kinds == 2 else 2, size=k)                # 0 flip, 1 swap, 2 cross
    change[(change == 2) & ~outer.any(0)] = 1                # none ("()()"): swap instead
    p = _pick(real, rng)                                     # flip: any bracket
    f = cols[(y == 0) & (change == 0)]
    x[p[f], f] ^= 1
    depth_before = np.cumsum(np.where(opens, 1, -1), 0) - np.where(opens, 1, -1)
    p = _pick(real & (depth_before == 0), rng)               # swap: a top-level opener ...
    s = cols[(y == 0) & (change == 1)]
    x[p[s], s] ^= 1
    x[partner[p[s], s], s] ^= 1                              # ... and its closer
    c = cols[(y == 0) & (change == 2)]
    p1 = _pick(outer, rng)                                   # cross: an enclosing pair ...
    p2 = _pick(opens & (t > p1) & (t < partner[p1, cols]), rng)          # ... and one inside it
    a = rng.integers(0, 2, size=k)
    for pos, value in ((p1, 2 * a), (partner[p1, cols], 2 * (1 - a) + 1),
                       (p2, 2 * (1 - a)), (partner[p2, cols], 2 * a + 1)):
        x[pos[c], c] = value[c]                              # ( [ ) ] : kinds a, 1−a, a, 1−a
    return np.where(real, x, 0)


def brackets(n: int, *, seed, max_len: int = 20, min_len: int = 2, kinds: int = 1,
             exclude=None) -> Brackets:
    """n bracket strings of even lengths min_len..max_len, half of them balanced, the others near
    misses (see the module docstring); time-major, padded at the end to T = max_len. kinds: 1
    ("()") or 2 ("()" and "[]"). `exclude`: strings (as `decode` gives them) never to draw (a
    held-out set); those rows are drawn again, with the same label. x (T, n), y (n,),
    lengths (n,).

    Examples:
        >>> from bptt.data import brackets
        >>> b = brackets(6, seed=0, max_len=8, kinds=2)
        >>> b.x.shape, int(b.y.sum()), bool((b.lengths % 2 == 0).all())   # half balanced
        ((8, 6), 3, True)
    """
    owner = "brackets"
    n = v.check_int(n, "n", owner)
    max_len = v.check_int(max_len, "max_len", owner, minimum=2)
    min_len = v.check_int(min_len, "min_len", owner, minimum=2)
    for name, value in (("min_len", min_len), ("max_len", max_len)):
        if value % 2:
            raise ValueError(f"The '{name}' parameter of {owner} must be even (an odd string is "
                             f"never balanced). Got {value}.")
    if max_len < min_len:
        raise ValueError(f"The 'max_len' parameter of {owner} must be >= min_len = {min_len}. "
                         f"Got {max_len}.")
    if isinstance(kinds, bool) or kinds not in (1, 2):
        raise ValueError(f"The 'kinds' parameter of {owner} must be 1 (\"()\") or 2 (\"()\" and "
                         f"\"[]\"). Got {kinds!r}.")
    rng = v.check_rng(seed, owner)
    excluded = None if exclude is None else np.unique(np.asarray(exclude, dtype=str))
    y = (rng.permutation(n) < (n + rng.integers(0, 2)) // 2).astype(np.intp)
    x = np.zeros((max_len, n), dtype=np.intp)
    lengths = np.zeros(n, dtype=np.intp)
    todo = np.arange(n)
    for _ in range(MAX_REDRAWS):                                     # draw (again) the rows to do
        lengths[todo] = 2 * rng.integers(min_len // 2, max_len // 2 + 1, size=todo.size)
        x[:, todo] = _draw(y[todo], lengths[todo], kinds, max_len, rng)
        if excluded is None:
            return Brackets(x, y, lengths)
        todo = todo[np.isin(decode(x[:, todo], lengths[todo]), excluded)]
        if not todo.size:
            return Brackets(x, y, lengths)
    raise ValueError(f"The 'exclude' argument of {owner} leaves too few strings of {min_len}.."
                     f"{max_len} brackets to draw: {todo.size} rows were still excluded after "
                     f"{MAX_REDRAWS} draws. Got {excluded.size} strings.")
