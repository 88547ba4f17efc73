"""A deterministic character vocabulary: text ↔ integer ids.

The vocabulary of a text is its set of distinct characters sorted by code point, so the same
text always gives the same ids: id i ↔ chars[i], 0 <= i < size. `to_list()`/`from_list()` save
and restore it as a JSON-friendly list of one-character strings.

Encoding and decoding are vectorised: the text is viewed as an array of code points (UTF-32),
and each code point is found among the sorted vocabulary code points by binary search.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_ids
from .errors import DataError

_OWNER = "Vocab"


def _code_points(text: str) -> np.ndarray:
    """The code points of `text` as uint32, (len(text),). Lone surrogates pass through."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def _from_code_points(cps: np.ndarray) -> str:
    return np.ascontiguousarray(cps, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")


class Vocab:
    """Sorted unique characters of a text, with `encode(text) -> ids` and `decode(ids) -> text`.

    A text of N characters encodes to ids (N,); the ids are the inputs (T, B) of a character
    model with input_size = size.

    Examples:
        >>> from bptt.data import Vocab
        >>> vocab = Vocab("hello")
        >>> vocab.chars, vocab.size
        ('ehlo', 4)
        >>> vocab.encode("hole").tolist()
        [1, 3, 2, 0]
        >>> vocab.decode([1, 3, 2, 0])
        'hole'
        >>> Vocab.from_list(vocab.to_list()) == vocab
        True
    """

    def __init__(self, text: str):
        if not isinstance(text, str):
            raise TypeError(f"The 'text' argument of {_OWNER} must be a str. "
                            f"Got {type(text).__name__} instead.")
        if not text:
            raise DataError(f"The 'text' argument of {_OWNER} must hold at least one character. "
                            f"Got an empty string.")
        self._cps = np.unique(_code_points(text))       # sorted unique code points, (size,)
        self._chars = _from_code_points(self._cps)

    # ------------------------------------------------------------------ properties
    @property
    def size(self) -> int:
        """Number of distinct characters; ids run over 0 .. size - 1."""
        return int(self._cps.size)

    @property
    def chars(self) -> str:
        """All characters in id order: chars[i] is the character of id i."""
        return self._chars

    def __len__(self) -> int:
        return self.size

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocab) and self._chars == other._chars

    def __hash__(self) -> int:
        return hash(self._chars)

    def __repr__(self) -> str:
        shown = self._chars if self.size <= 40 else self._chars[:37] + "..."
        return f"Vocab(size={self.size}, chars={shown!r})"

    # ------------------------------------------------------------------ encode / decode
    def encode(self, text: str) -> np.ndarray:
        """Ids of the characters of `text`, (N,) intp for N = len(text).

        Raises DataError (a ValueError) naming every character of `text` that is not in the
        vocabulary, each once, sorted, repr'd.
        """
        if not isinstance(text, str):
            raise TypeError(f"The 'text' argument of {_OWNER}.encode must be a str. "
                            f"Got {type(text).__name__} instead.")
        cps = _code_points(text)                                    # (N,)
        ids = np.searchsorted(self._cps, cps)                       # position in the sorted vocab
        ids = np.minimum(ids, self.size - 1)                        # past-the-end → any valid slot
        unknown = self._cps[ids] != cps                             # not found where it would sit
        if unknown.any():
            missing = _from_code_points(np.unique(cps[unknown]))
            listed = ", ".join(repr(c) for c in missing)
            raise DataError(f"The 'text' argument of {_OWNER}.encode contains {len(missing)} "
                            f"character(s) not in the vocabulary of size {self.size}: {listed}.")
        return ids.astype(np.intp, copy=False)

    def decode(self, ids) -> str:
        """The text of a 1-D sequence of ids (N,) (each 0 <= id < size)."""
        arr = check_ids(ids, f"{_OWNER}.decode", self.size)
        return _from_code_points(self._cps[arr])

    # ------------------------------------------------------------------ saving
    def to_list(self) -> list[str]:
        """The characters in id order, as a list of one-character strings (JSON-friendly)."""
        return list(self._chars)

    @classmethod
    def from_list(cls, chars) -> "Vocab":
        """Rebuild a vocabulary saved by `to_list()`: a list of distinct one-character strings
        in increasing code-point order (so the ids are those of the saved vocabulary)."""
        if not isinstance(chars, (list, tuple)):
            raise TypeError(f"The 'chars' argument of {_OWNER}.from_list must be a list of "
                            f"one-character strings. Got {type(chars).__name__} instead.")
        if len(chars) == 0:
            raise ValueError(f"The 'chars' argument of {_OWNER}.from_list must hold at least one "
                             f"character. Got an empty {type(chars).__name__}.")
        for i, c in enumerate(chars):
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"The 'chars' argument of {_OWNER}.from_list must hold "
                                 f"one-character strings. Got {c!r} at index {i}.")
        for i in range(1, len(chars)):
            if chars[i] <= chars[i - 1]:
                raise ValueError(f"The 'chars' argument of {_OWNER}.from_list must be sorted and "
                                 f"without repeats (as saved by to_list()). Got {chars[i - 1]!r} "
                                 f"before {chars[i]!r} at index {i}.")
        return cls("".join(chars))
