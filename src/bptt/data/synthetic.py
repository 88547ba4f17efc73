"""Synthetic long-memory tasks with known chance-level baselines, time-major.

Adding problem (Hochreiter & Schmidhuber 1997; the version of Le, Jaitly & Hinton 2015):

    x[t, n, 0] ~ U[0, 1)                      # values
    x[t, n, 1] ∈ {0, 1}, exactly two 1s:      # markers: one at t1 ∈ [0, T//2), one at t2 ∈ [T//2, T)
    y[T-1, n, 0] = x[t1, n, 0] + x[t2, n, 0]  # target at the last step only (mask[T-1] = 1)

The sum of two U[0, 1) values has mean 1 and variance 2 · 1/12 = 1/6, so always predicting 1
has mean squared error MSE = E[(1 − y)²] = 1/6 (ADDING_BASELINE_MSE). The library's loss is
½(o − y)² summed over the masked steps and averaged over the batch, so that baseline reads as a
loss J = ½ · MSE = 1/12; a model has learned the task when its MSE = 2J is well below 1/6.

Copy memory (Arjovsky, Shah & Bengio 2016), ids: 0 blank, 1..n_symbols symbols,
n_symbols + 1 delimiter (vocabulary n_symbols + 2), T_total = T_delay + 2·length steps:

    x = [s_1 … s_length] [0 × (T_delay − 1)] [delimiter] [0 × length]
    y = [0 × (T_delay + length)] [s_1 … s_length]

A model without memory of the symbols predicts blanks (loss 0) and then the uniform
distribution over the symbols (loss log n_symbols at each of the last `length` steps), so the
chance-level cross-entropy per step is length · log(n_symbols) / T_total (natural log, nats).

Vowel tagging (a task where reading ahead matters; for bidirectional models), ids into
VOWEL_ALPHABET, words of lengths[b] letters drawn uniformly and independently, padded at the end:

    x[t, b]   the letter at position t of word b (0 on the padding)
    y[t, b] = 1 if the letter at t+1 exists and is a vowel (a, e, i, o, u), else 0
    mask[t, b] = [t < lengths[b]]

The letter at t+1 is independent of the letters up to t, so a model that reads only x(0..t)
cannot beat the majority class (always 0), whose accuracy is 1 − (5/12)·(L−1)/L on average over
the words' positions; one that also reads x(t+1) can be always right.

Parity (sequence classification, one target per sequence: `pooling="last"` with `lengths`), bit
strings of lengths[b] bits drawn uniformly and independently, padded at the end:

    x[t, b] ∈ {0, 1}   bit t of string b (0 on the padding)
    y[b] = (Σ_t x[t, b]) mod 2          lengths (n,), T = max_len

Every bit flips the answer, so the class depends on the whole string and no strict part of it
tells anything: chance is 50 %. `string_keys` numbers the strings (2^len + their bits), so a
held-out set can be kept out of training (`exclude`).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .. import _validate as v

#: MSE of always predicting 1 on the adding problem: Var(u1 + u2) = 2/12 (MSE = mean (o − y)²).
ADDING_BASELINE_MSE = 1.0 / 6.0
"""MSE of always predicting 1 on the adding problem: Var(u1 + u2) = 2/12.

Examples:
    >>> from bptt.data import ADDING_BASELINE_MSE, adding_baseline_mse, adding_problem
    >>> p = adding_problem(10, 20000, seed=0)
    >>> abs(adding_baseline_mse(p.y, p.mask) - ADDING_BASELINE_MSE) < 0.005
    True
"""


class AddingProblem(NamedTuple):
    """What adding_problem returns: x (T, n, 2) values and markers, y (T, n, 1) the sum of the
    two marked values at the last step, mask (T, n), 1 at the last step only.

    Examples:
        >>> from bptt.data import adding_problem
        >>> p = adding_problem(6, 3, seed=0)
        >>> p.x.shape, p.y.shape, p.mask[:, 0]
        ((6, 3, 2), (6, 3, 1), array([0., 0., 0., 0., 0., 1.]))
        >>> bool(np.allclose(p.y[-1, :, 0], (p.x[..., 0] * p.x[..., 1]).sum(axis=0)))
        True
    """
    x: np.ndarray        # (T, n, 2) float64: values, markers
    y: np.ndarray        # (T, n, 1) float64: the sum at T-1, 0 elsewhere
    mask: np.ndarray     # (T, n) float64: 1 at T-1 only


class VowelTagging(NamedTuple):
    """What vowel_tagging returns: x (T, n) letter ids, y (T, n) the tags, lengths (n,),
    mask (T, n) 1 on the real steps.

    Examples:
        >>> from bptt.data import VOWEL_ALPHABET, vowel_tagging
        >>> w = vowel_tagging(2, seed=0, max_len=5)
        >>> "".join(VOWEL_ALPHABET[i] for i in w.x[:w.lengths[0], 0]), w.y[:, 0]
        ('doaig', array([1, 1, 1, 0, 0]))
        >>> w.mask[:, 1], w.lengths
        (array([1., 1., 1., 1., 0.]), array([5, 4]))
    """
    x: np.ndarray        # (T, n) intp letter ids into VOWEL_ALPHABET, 0 on the padding
    y: np.ndarray        # (T, n) intp: 1 where the next letter is a vowel
    lengths: np.ndarray  # (n,) intp: the words' lengths
    mask: np.ndarray     # (T, n) float64: 1 on the real steps (a prefix)


#: The letters of vowel_tagging: 5 vowels (ids 0-4), then 7 consonants.
VOWEL_ALPHABET = "aeioubdgkmst"
"""The letters of vowel_tagging: 5 vowels (ids 0-4), then 7 consonants.

Examples:
    >>> from bptt.data import VOWEL_ALPHABET
    >>> VOWEL_ALPHABET[:5], len(VOWEL_ALPHABET)
    ('aeiou', 12)
"""
VOWELS = 5


class Parity(NamedTuple):
    """What parity returns: x (T, n) bits (0 on the padding), y (n,) the parity of each string,
    lengths (n,).

    Examples:
        >>> from bptt.data import parity
        >>> p = parity(3, seed=0, max_len=4)
        >>> p.x.T, p.y, p.lengths
        (array([[0, 0, 1, 1],
               [0, 0, 1, 0],
               [0, 0, 1, 0]]), array([0, 1, 1]), array([4, 3, 3]))
    """
    x: np.ndarray        # (T, n) intp bits, 0 on the padding
    y: np.ndarray        # (n,) intp: the parity of each string
    lengths: np.ndarray  # (n,) intp: the strings' lengths


class CopyMemory(NamedTuple):
    """What copy_memory returns: x, y (T_total, n) ids, mask (T_total, n), and baseline, the
    chance-level cross-entropy per counted step (nats).

    Examples:
        >>> from bptt.data import copy_memory
        >>> c = copy_memory(5, 2, seed=0, n_symbols=3, length=2)   # T_total = 5 + 2·2
        >>> c.x[:, 0], c.y[:, 0]                  # 3 2, blanks, delimiter 4, blanks; recall 3 2
        (array([3, 2, 0, 0, 0, 0, 4, 0, 0]), array([0, 0, 0, 0, 0, 0, 0, 3, 2]))
        >>> bool(np.isclose(c.baseline, 2 * np.log(3) / 9))
        True
    """
    x: np.ndarray        # (T_total, n) intp input ids
    y: np.ndarray        # (T_total, n) intp target ids
    mask: np.ndarray     # (T_total, n) float64: all ones, or 1 at the last `length` steps only
    baseline: float      # chance-level cross-entropy per step that the mask counts (nats)


def adding_problem(T: int, n: int, seed) -> AddingProblem:
    """n sequences of the adding problem of length T (T >= 2), from an int seed or a Generator:
    x (T, n, 2), y (T, n, 1), mask (T, n) (an AddingProblem).

    Examples:
        >>> from bptt import SimpleRNN
        >>> from bptt.data import adding_problem
        >>> x, y, mask = adding_problem(T=20, n=8, seed=0)
        >>> model = SimpleRNN(2, 16, 1, output="identity", seed=0)   # J = ½‖o − y‖² / n
        >>> o = model.forward(x).o                                   # (T, n, 1)
        >>> by_hand = 0.5 * ((o[-1] - y[-1]) ** 2).sum() / 8         # the last step only
        >>> bool(np.isclose(model.loss(x, y, mask=mask), by_hand))
        True
    """
    owner = "adding_problem"
    T = v.check_int(T, "T", owner, minimum=2)
    n = v.check_int(n, "n", owner)
    rng = v.check_rng(seed, owner)
    half = T // 2
    values = rng.random((T, n))                              # (T, n) ~ U[0, 1)
    t1 = rng.integers(0, half, size=n)                       # (n,) first marker, first half
    t2 = rng.integers(half, T, size=n)                       # (n,) second marker, second half
    cols = np.arange(n)
    markers = np.zeros((T, n))
    markers[t1, cols] = 1.0
    markers[t2, cols] = 1.0
    x = np.stack([values, markers], axis=-1)                 # (T, n, 2)
    y = np.zeros((T, n, 1))
    y[-1, :, 0] = values[t1, cols] + values[t2, cols]        # y(T-1) = u(t1) + u(t2)
    mask = np.zeros((T, n))
    mask[-1] = 1.0                                           # many-to-one: the last step only
    return AddingProblem(x, y, mask)


def adding_baseline_mse(y, mask) -> float:
    """Empirical MSE of always predicting 1: Σ mask·(1 − y)² / Σ mask over y (T, n, 1), mask
    (T, n). Close to ADDING_BASELINE_MSE = 1/6 for many sequences; the library's loss J of the
    same prediction is half of it.

    Examples:
        >>> from bptt.data import adding_baseline_mse, adding_problem
        >>> p = adding_problem(6, 4, seed=0)
        >>> by_hand = ((1 - p.y[-1, :, 0]) ** 2).mean()         # the last step, every sequence
        >>> bool(np.isclose(adding_baseline_mse(p.y, p.mask), by_hand))
        True
    """
    owner = "adding_baseline_mse"
    y = v.check_float_array(y, "y", owner, (None, None, 1), np.float64)
    mask = v.check_float_array(mask, "mask", owner, y.shape[:2], np.float64)
    total = mask.sum()
    if not total > 0:
        raise ValueError(f"The 'mask' argument of {owner} must select at least one step "
                         f"(a positive sum). Got a sum of {float(total)!r}.")
    return float((mask * (1.0 - y[..., 0]) ** 2).sum() / total)


def copy_memory(T_delay: int, n: int, seed, *, n_symbols: int = 8, length: int = 10,
                recall_only: bool = False) -> CopyMemory:
    """n sequences of the copy-memory task, T_total = T_delay + 2·length steps each.

    recall_only=False: the mask is all ones and baseline = length · log(n_symbols) / T_total,
    the figure of Arjovsky et al. recall_only=True: the mask keeps only the last `length` steps
    (the recall) and baseline = log(n_symbols), the chance level per recalled symbol.
    In both cases baseline = Σ_t mask·L_chance(t) / Σ_t mask for one sequence. x and y are
    (T_total, n) ids below n_symbols + 2, mask (T_total, n).

    Examples:
        >>> from bptt.data import copy_memory
        >>> c = copy_memory(5, 2, seed=0, n_symbols=3, length=2, recall_only=True)
        >>> c.x.shape, c.mask[:, 0], bool(np.isclose(c.baseline, np.log(3)))
        ((9, 2), array([0., 0., 0., 0., 0., 0., 0., 1., 1.]), True)
    """
    owner = "copy_memory"
    T_delay = v.check_int(T_delay, "T_delay", owner)
    n = v.check_int(n, "n", owner)
    n_symbols = v.check_int(n_symbols, "n_symbols", owner)
    length = v.check_int(length, "length", owner)
    if not isinstance(recall_only, bool):
        raise TypeError(f"The 'recall_only' parameter of {owner} must be a bool. "
                        f"Got {recall_only!r} instead.")
    rng = v.check_rng(seed, owner)
    T_total = T_delay + 2 * length
    delimiter = n_symbols + 1
    symbols = rng.integers(1, n_symbols + 1, size=(length, n))   # (length, n) ids in 1..n_symbols
    x = np.zeros((T_total, n), dtype=np.intp)
    x[:length] = symbols                                          # the sequence to remember
    x[T_delay + length - 1] = delimiter                           # "now repeat it"
    y = np.zeros((T_total, n), dtype=np.intp)
    y[T_delay + length:] = symbols                                # recalled in the last steps
    mask = np.ones((T_total, n))
    if recall_only:
        mask[:T_delay + length] = 0.0
        baseline = math.log(n_symbols)
    else:
        baseline = length * math.log(n_symbols) / T_total
    return CopyMemory(x, y, mask, baseline)


def vowel_tagging(n: int, seed, *, min_len: int = 3, max_len: int = 8) -> VowelTagging:
    """n random words of min_len..max_len letters, each letter tagged 1 when the next letter is a
    vowel; time-major and padded at the end to T = max_len (see the module docstring): x, y
    (T, n), lengths (n,), mask (T, n).

    Examples:
        >>> from bptt.data import vowel_tagging
        >>> w = vowel_tagging(4, seed=0, max_len=6)
        >>> w.x.shape, bool(np.array_equal(w.y[:-1], (w.x[1:] < 5) * w.mask[1:]))
        ((6, 4), True)
    """
    owner = "vowel_tagging"
    n = v.check_int(n, "n", owner)
    min_len = v.check_int(min_len, "min_len", owner)
    max_len = v.check_int(max_len, "max_len", owner)
    if max_len < min_len:
        raise ValueError(f"The 'max_len' parameter of {owner} must be >= min_len = {min_len}. "
                         f"Got {max_len}.")
    rng = v.check_rng(seed, owner)
    lengths = rng.integers(min_len, max_len + 1, size=n)                 # (n,)
    mask = (np.arange(max_len)[:, None] < lengths[None, :]).astype(float)  # (T, n) real steps
    x = rng.integers(0, len(VOWEL_ALPHABET), size=(max_len, n)) * (mask > 0)   # (T, n), 0 on padding
    y = np.zeros((max_len, n), dtype=np.intp)
    y[:-1] = (x[1:] < VOWELS) & (mask[1:] > 0)                           # the next letter is a vowel
    return VowelTagging(x.astype(np.intp), y, lengths.astype(np.intp), mask)


def string_keys(x, lengths) -> np.ndarray:
    """(n,) int64: a different number for each bit string, 2^len + Σ_t x[t] 2^t (len <= 62)."""
    T = x.shape[0]
    bits = (np.asarray(x, dtype=np.int64) * (np.arange(T)[:, None] < lengths[None, :]))
    return (np.int64(1) << lengths.astype(np.int64)) + (bits << np.arange(T, dtype=np.int64)[:, None]).sum(0)


def parity(n: int, seed, *, min_len: int = 1, max_len: int = 10, exclude=None) -> Parity:
    """n random bit strings of min_len..max_len bits with their parity; time-major and padded at
    the end to T = max_len. `exclude`: keys (`string_keys`) of strings never to draw (a held-out
    set); those rows are drawn again. x (T, n) bits, y (n,), lengths (n,).

    Examples:
        >>> from bptt.data import parity
        >>> p = parity(5, seed=0, max_len=6)
        >>> p.x.shape, bool(np.array_equal(p.y, p.x.sum(axis=0) % 2))
        ((6, 5), True)
    """
    owner = "parity"
    n = v.check_int(n, "n", owner)
    min_len = v.check_int(min_len, "min_len", owner)
    max_len = v.check_int(max_len, "max_len", owner)
    if not min_len <= max_len <= 62:
        raise ValueError(f"The 'max_len' parameter of {owner} must be in [min_len, 62] = "
                         f"[{min_len}, 62]. Got {max_len}.")
    rng = v.check_rng(seed, owner)
    excluded = None if exclude is None else np.unique(np.asarray(exclude, dtype=np.int64))
    if excluded is not None and excluded.size >= 2 ** (max_len + 1) - 2 ** min_len:
        raise ValueError(f"The 'exclude' argument of {owner} leaves no string of {min_len}..{max_len} "
                         f"bits to draw. Got {excluded.size} keys.")
    x = np.zeros((max_len, n), dtype=np.intp)
    lengths = np.zeros(n, dtype=np.intp)
    todo = np.arange(n)
    while todo.size:                                                    # draw (again) the rows to do
        k = todo.size
        lengths[todo] = rng.integers(min_len, max_len + 1, size=k)
        real = np.arange(max_len)[:, None] < lengths[todo][None, :]
        x[:, todo] = rng.integers(0, 2, size=(max_len, k)) * real
        if excluded is None:
            break
        todo = todo[np.isin(string_keys(x[:, todo], lengths[todo]), excluded)]
    return Parity(x, x.sum(axis=0) % 2, lengths)
