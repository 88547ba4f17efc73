"""Sequence-to-sequence data: (source, target) string pairs → padded, time-major id batches.

A `PairVocab` numbers characters after three special ids, which are ids only, never characters
(so a text may hold "\\x00" or "<" like any other character):

    PAD = 0   padding after the end of a sequence (mask 0)
    BOS = 1   begin of sequence: the decoder's first input
    EOS = 2   end of sequence: the last source step and the last target the decoder predicts
    3 + i     chars[i], the distinct characters in increasing code-point order

`batch_pairs` lays a list of B pairs out for `bptt.Seq2Seq` (S source steps, T target steps):

    src       (S, B)     the source characters, EOS, then PAD       S = max(len(source)) + 1
    src_mask  (S, B)     1 on the characters and the EOS, 0 on the PAD
    tgt       (T, B)     BOS, the target characters, EOS, then PAD  T = max(len(target)) + 2
    tgt_mask  (T − 1, B) 1 where tgt[1:] is predicted: the characters and the EOS (teacher
                         forcing feeds tgt[:-1] and predicts tgt[1:])
    src_lengths = src_mask.sum(0) = len(source) + 1,  tgt_lengths = tgt_mask.sum(0) = len(target) + 1

For example ("ab", "yx") and ("c", "") with a = 3, b = 4, c = 5 and x = 3, y = 4:

    src = [[3, 5], [4, 2], [2, 0]]           tgt = [[1, 1], [4, 2], [3, 0], [2, 0]]
    src_mask = [[1, 1], [1, 1], [1, 0]]      tgt_mask = [[1, 1], [1, 0], [1, 0]]

An empty target is allowed (the decoder learns to emit EOS at once); an empty source is not.
`read_pairs` reads `source<TAB>target` lines, `split_pairs` holds out pairs whose sources never
occur in training, `exact_match` scores whole predicted strings.
"""
from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from .. import _validate as v
from ._checks import check_ids
from .errors import DataError
from .text import check_encoding, read_text_file

PAD = 0
"""Padding after the end of a sequence (mask 0).

Examples:
    >>> from bptt.data import PAD, PairVocab
    >>> PairVocab("ab").decode([3, 4, PAD, PAD])
    'ab'
"""
BOS = 1
"""Begin of sequence: the decoder's first input.

Examples:
    >>> from bptt.data import BOS, PairVocab
    >>> int(PairVocab("ab").encode("ba", bos=True)[0]) == BOS
    True
"""
EOS = 2
"""End of sequence: the last source step and the last target predicted.

Examples:
    >>> from bptt.data import EOS, PairVocab
    >>> PairVocab("ab").decode([3, EOS, 4])          # decoding stops at the first EOS
    'a'
"""
N_SPECIALS = 3                                  # ids below this are PAD, BOS, EOS
_JSON_KEYS = ("chars", "pad", "bos", "eos")


def _listed(chars) -> str:
    """The characters, each once, sorted, repr'd: "'x', 'é'"."""
    return ", ".join(repr(c) for c in sorted(set(chars)))


class PairVocab:
    """Characters after the special ids PAD, BOS, EOS: id 3 + i ↔ chars[i]. A text of N
    characters encodes to ids (N,), with BOS and EOS (N + 2,).

    Examples:
        >>> from bptt.data import PairVocab
        >>> vocab = PairVocab("cab")
        >>> vocab.chars, vocab.size
        ('abc', 6)
        >>> vocab.encode("cab", bos=True, eos=True).tolist()
        [1, 5, 3, 4, 2]
        >>> vocab.decode([1, 5, 3, 4, 2, 0, 0])
        'cab'
        >>> PairVocab.from_texts(["ab", "ca"]) == PairVocab.from_json(vocab.to_json()) == vocab
        True
    """

    def __init__(self, chars: str):
        if not isinstance(chars, str):
            raise TypeError(f"The 'chars' argument of PairVocab must be a str. "
                            f"Got {type(chars).__name__} instead.")
        self._chars = "".join(sorted(set(chars)))
        self._ids = {c: N_SPECIALS + i for i, c in enumerate(self._chars)}

    @classmethod
    def from_texts(cls, texts) -> PairVocab:
        """The vocabulary of every character in an iterable of strings (e.g. all the targets)."""
        owner = "PairVocab.from_texts"
        if isinstance(texts, (str, bytes)) or not hasattr(texts, "__iter__"):
            raise TypeError(f"The 'texts' argument of {owner} must be an iterable of strings "
                            f"(use PairVocab(chars) for one string). Got {type(texts).__name__}.")
        seen, count = set(), 0
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"The 'texts' argument of {owner} must hold strings. Got "
                                f"{text!r} of type {type(text).__name__} at index {i}.")
            seen.update(text)
            count += 1
        if count == 0:
            raise DataError(f"The 'texts' argument of {owner} must hold at least one text. "
                            f"Got none.")
        return cls("".join(seen))

    # ------------------------------------------------------------------ properties
    @property
    def size(self) -> int:
        """Number of ids: the 3 specials and the characters; ids run over 0 .. size - 1."""
        return N_SPECIALS + len(self._chars)

    @property
    def chars(self) -> str:
        """The characters in id order: chars[i] has id 3 + i."""
        return self._chars

    def __len__(self) -> int:
        return self.size

    def __eq__(self, other) -> bool:
        return isinstance(other, PairVocab) and self._chars == other._chars

    def __hash__(self) -> int:
        return hash(("PairVocab", self._chars))

    def __repr__(self) -> str:
        shown = self._chars if len(self._chars) <= 40 else self._chars[:37] + "..."
        return f"PairVocab(size={self.size}, chars={shown!r})"

    # ------------------------------------------------------------------ encode / decode
    def _encode(self, text: str, where: str, vocab: str = "the vocabulary") -> list[int]:
        """The ids of text's characters; DataError '<where> contains ...' for unknown ones."""
        try:
            return [self._ids[c] for c in text]
        except KeyError:
            unknown = [c for c in text if c not in self._ids]
            raise DataError(f"{where} contains {len(set(unknown))} character(s) not in "
                            f"{vocab} ({len(self._chars)} characters): {_listed(unknown)}."
                            ) from None

    def encode(self, text: str, *, bos: bool = False, eos: bool = False) -> np.ndarray:
        """The ids of `text`, (N,) int64 with N = len(text) + bos + eos: [BOS] characters [EOS]."""
        owner = "PairVocab.encode"
        if not isinstance(text, str):
            raise TypeError(f"The 'text' argument of {owner} must be a str. "
                            f"Got {type(text).__name__} instead.")
        bos, eos = v.check_bool(bos, "bos", owner), v.check_bool(eos, "eos", owner)
        ids = self._encode(text, f"The 'text' argument of {owner}")
        return np.array([BOS] * bos + ids + [EOS] * eos, dtype=np.int64)

    def decode(self, ids) -> str:
        """The text of a 1-D sequence of ids (N,): up to the first EOS, skipping BOS and PAD."""
        arr = check_ids(ids, "PairVocab.decode", self.size)
        out = []
        for i in arr.tolist():
            if i == EOS:
                break
            if i >= N_SPECIALS:
                out.append(self._chars[i - N_SPECIALS])
        return "".join(out)

    # ------------------------------------------------------------------ saving
    def to_json(self) -> dict:
        """A plain dict for a checkpoint's JSON: the characters and the special ids."""
        return {"chars": self._chars, "pad": PAD, "bos": BOS, "eos": EOS}

    @classmethod
    def from_json(cls, data) -> PairVocab:
        """The vocabulary saved by `to_json()`; its characters must be sorted and distinct and
        its special ids those of this module, so that every id means what it meant."""
        owner = "PairVocab.from_json"
        if not isinstance(data, dict):
            raise TypeError(f"The 'data' argument of {owner} must be a dict as written by "
                            f"to_json(). Got {type(data).__name__} instead.")
        if set(data) != set(_JSON_KEYS):
            raise DataError(f"The 'data' argument of {owner} must have exactly the keys "
                            f"{', '.join(_JSON_KEYS)}. Got {', '.join(sorted(map(str, data)))}.")
        for key, want in (("pad", PAD), ("bos", BOS), ("eos", EOS)):
            if isinstance(data[key], bool) or data[key] != want:
                raise DataError(f"The 'data' argument of {owner} has {key}={data[key]!r}, but "
                                f"this library's {key.upper()} id is {want}.")
        chars = data["chars"]
        if not isinstance(chars, str):
            raise DataError(f"The 'data' argument of {owner} must hold the characters as a str "
                            f"under 'chars'. Got {type(chars).__name__}.")
        for i in range(1, len(chars)):
            if chars[i] <= chars[i - 1]:
                raise DataError(f"The 'data' argument of {owner} must hold sorted characters "
                                f"without repeats (as saved by to_json()). Got {chars[i - 1]!r} "
                                f"before {chars[i]!r} at index {i}.")
        return cls(chars)


# ---------------------------------------------------------------------- batches
class PairBatch(NamedTuple):
    """What batch_pairs returns: src (S, B), src_mask (S, B), tgt (T, B), tgt_mask (T − 1, B),
    src_lengths (B,) and tgt_lengths (B,), the inputs of `bptt.Seq2Seq` (module docstring).

    Examples:
        >>> from bptt.data import PairVocab, batch_pairs
        >>> b = batch_pairs([("ab", "yx"), ("c", "")], PairVocab("abc"), PairVocab("xy"))
        >>> b.src.shape, b.tgt.shape, b.tgt_mask.shape, b.src_lengths, b.tgt_lengths
        ((3, 2), (4, 2), (3, 2), array([3, 2]), array([3, 1]))
    """
    src: np.ndarray           # (S, B) int64: source ids, EOS, then PAD
    src_mask: np.ndarray      # (S, B) float64: 1 on the real source steps (EOS included)
    tgt: np.ndarray           # (T, B) int64: BOS, target ids, EOS, then PAD
    tgt_mask: np.ndarray      # (T - 1, B) float64: 1 where tgt[1:] is predicted (up to EOS)
    src_lengths: np.ndarray   # (B,) int64: len(source) + 1 = src_mask.sum(0)
    tgt_lengths: np.ndarray   # (B,) int64: len(target) + 1 = tgt_mask.sum(0), the decoder steps


def _check_pairs(pairs, owner: str) -> list[tuple[str, str]]:
    """A non-empty list or tuple of (source, target) pairs of strings, as a list of tuples."""
    if not isinstance(pairs, (list, tuple)):
        raise TypeError(f"The 'pairs' argument of {owner} must be a list of (source, target) "
                        f"string pairs. Got {type(pairs).__name__} instead.")
    if len(pairs) == 0:
        raise DataError(f"The 'pairs' argument of {owner} must hold at least one pair. "
                        f"Got an empty {type(pairs).__name__}.")
    for i, p in enumerate(pairs):
        if not (isinstance(p, (list, tuple)) and len(p) == 2
                and isinstance(p[0], str) and isinstance(p[1], str)):
            raise TypeError(f"The 'pairs' argument of {owner} must hold (source, target) pairs "
                            f"of strings. Got {p!r} at index {i}.")
    return [(s, t) for s, t in pairs]


def _padded(seqs: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(ids (L, B) int64 padded with PAD, lengths (B,) int64) of B id lists."""
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)        # (B,)
    ids = np.full((int(lengths.max()), len(seqs)), PAD, dtype=np.int64)
    for b, s in enumerate(seqs):
        ids[:len(s), b] = s
    return ids, lengths


def batch_pairs(pairs, src_vocab: PairVocab, tgt_vocab: PairVocab) -> PairBatch:
    """B (source, target) pairs as one padded, time-major batch (see the module's docstring):
    a PairBatch of src (S, B), tgt (T, B) and their masks.

    Examples:
        >>> from bptt.data import PairVocab, batch_pairs
        >>> b = batch_pairs([("ab", "yx"), ("c", "")], PairVocab("abc"), PairVocab("xy"))
        >>> b.src.T.tolist(), b.tgt.T.tolist()        # a=3 b=4 c=5, x=3 y=4; EOS 2, PAD 0
        ([[3, 4, 2], [5, 2, 0]], [[1, 4, 3, 2], [1, 2, 0, 0]])
        >>> b.tgt_mask.T.tolist()                      # where tgt[1:] is predicted
        [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]
    """
    owner = "batch_pairs"
    pairs = _check_pairs(pairs, owner)
    for name, vocab in (("src_vocab", src_vocab), ("tgt_vocab", tgt_vocab)):
        if not isinstance(vocab, PairVocab):
            raise TypeError(f"The '{name}' argument of {owner} must be a PairVocab. "
                            f"Got {type(vocab).__name__} instead.")
    src_seqs, tgt_seqs = [], []
    for i, (source, target) in enumerate(pairs):
        if not source:
            raise DataError(f"The 'pairs' argument of {owner} has an empty source at index {i} "
                            f"(target {target!r}): nothing to translate.")
        where = f"The 'pairs' argument of {owner}: pair {i}"
        src_seqs.append(src_vocab._encode(source, f"{where}, source {source!r},",
                                          "src_vocab") + [EOS])
        tgt_seqs.append([BOS] + tgt_vocab._encode(target, f"{where}, target {target!r},",
                                                  "tgt_vocab") + [EOS])
    src, src_lengths = _padded(src_seqs)                              # (S, B), (B,)
    tgt, tgt_full = _padded(tgt_seqs)                                 # (T, B), (B,)
    tgt_lengths = tgt_full - 1                                        # BOS is never predicted
    src_mask = (np.arange(src.shape[0])[:, None] < src_lengths).astype(np.float64)     # (S, B)
    tgt_mask = (np.arange(tgt.shape[0] - 1)[:, None] < tgt_lengths).astype(np.float64)  # (T-1, B)
    return PairBatch(src, src_mask, tgt, tgt_mask, src_lengths, tgt_lengths)


# ---------------------------------------------------------------------- files, splits, scores
def read_pairs(path, *, encoding: str = "utf-8") -> list[tuple[str, str]]:
    """The (source, target) pairs of a text file with one `source<TAB>target` pair a line.

    Lines end with "\\n" or "\\r\\n"; blank lines (empty or whitespace only) are skipped; the
    characters of source and target are kept exactly (spaces too). A line without exactly one
    tab, an empty source, or a file without pairs raises DataError naming the file (and line).
    No arrays: batch_pairs makes them.

    Examples:
        >>> import pathlib, tempfile
        >>> from bptt.data import read_pairs
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "pairs.tsv"
        >>> _ = path.write_text("ab\\tba\\n\\nabc\\tcba\\n", encoding="utf-8")
        >>> read_pairs(path)
        [('ab', 'ba'), ('abc', 'cba')]
    """
    owner = "read_pairs"
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"The 'path' argument of {owner} must be a path (str or os.PathLike). "
                        f"Got {path!r} of type {type(path).__name__} instead.")
    encoding = check_encoding(encoding, owner)
    name = os.fsdecode(path)
    pairs = []
    for number, line in enumerate(read_text_file(path, encoding).split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        tabs = line.count("\t")
        if tabs != 1:
            shown = line if len(line) <= 60 else line[:57] + "..."
            raise DataError(f"Cannot read {name!r}, line {number}: expected one "
                            f"'source<TAB>target' pair (exactly one tab), found {tabs} tabs "
                            f"in {shown!r}.")
        source, target = line.split("\t")
        if not source:
            raise DataError(f"Cannot read {name!r}, line {number}: the source is empty "
                            f"(nothing to translate).")
        pairs.append((source, target))
    if not pairs:
        raise DataError(f"Cannot use {name!r}: it holds no pairs (one 'source<TAB>target' "
                        f"pair a line).")
    return pairs


def split_pairs(pairs, val_fraction: float = 0.1, seed=0):
    """(train, val): pairs held out at random, no held-out source ever in train.

    The pairs are first deduplicated by source (the first pair of each source is kept); then
    round(val_fraction · n) of the n distinct sources, at least 1 and at most n − 1, are drawn
    for validation with the seed (an int or a numpy Generator). Both lists keep the input order.
    No arrays: lists of string pairs.

    Examples:
        >>> from bptt.data import split_pairs
        >>> pairs = [("a", "1"), ("b", "2"), ("c", "3"), ("a", "4"), ("d", "5")]
        >>> split_pairs(pairs, val_fraction=0.25, seed=0)       # ("a", "4") repeats a source
        ([('a', '1'), ('b', '2'), ('d', '5')], [('c', '3')])
    """
    owner = "split_pairs"
    pairs = _check_pairs(pairs, owner)
    val_fraction = v.check_float(val_fraction, "val_fraction", owner, low=0, high=1,
                                 low_open=True, high_open=True)
    rng = v.check_rng(seed, owner)
    first = {}
    for source, target in pairs:
        first.setdefault(source, (source, target))
    unique = list(first.values())                                     # input order
    n = len(unique)
    if n < 2:
        raise DataError(f"The 'pairs' argument of {owner} must hold at least 2 distinct sources "
                        f"(1 for training, 1 for validation). Got {n} among {len(pairs)} pairs.")
    n_val = min(max(round(val_fraction * n), 1), n - 1)
    held = np.zeros(n, dtype=bool)
    held[rng.permutation(n)[:n_val]] = True
    train = [p for p, h in zip(unique, held) if not h]
    val = [p for p, h in zip(unique, held) if h]
    return train, val


def exact_match(predictions, targets) -> float:
    """The fraction of predictions equal to their targets, whole strings compared: in [0, 1].
    No arrays: lists of strings.

    Examples:
        >>> from bptt.data import exact_match
        >>> exact_match(["ab", "c"], ["ab", "d"])
        0.5
    """
    owner = "exact_match"
    for name, seq in (("predictions", predictions), ("targets", targets)):
        if not isinstance(seq, (list, tuple)):
            raise TypeError(f"The '{name}' argument of {owner} must be a list of strings. "
                            f"Got {type(seq).__name__} instead.")
        for i, s in enumerate(seq):
            if not isinstance(s, str):
                raise TypeError(f"The '{name}' argument of {owner} must hold strings. "
                                f"Got {s!r} of type {type(s).__name__} at index {i}.")
    if len(predictions) != len(targets):
        raise ValueError(f"The 'predictions' and 'targets' arguments of {owner} must have the "
                         f"same length. Got {len(predictions)} and {len(targets)}.")
    if not targets:
        raise ValueError(f"The 'targets' argument of {owner} must hold at least one string. "
                         f"Got none.")
    return sum(p == t for p, t in zip(predictions, targets)) / len(targets)
