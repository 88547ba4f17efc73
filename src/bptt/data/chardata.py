"""A character-level corpus ready for training: vocabulary, train and validation ids."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from . import Vocab, split


@dataclass
class CharData:
    """A character corpus ready for training: `vocab`, `train_ids` (N_train,) and `val_ids`
    (N_val,), the tail of the text; `bptt.train` cuts the training ids into batches (T, B).

    Examples:
        >>> from bptt import CharData
        >>> data = CharData.from_text("hello world, hello", val_fraction=0.25)
        >>> data.vocab.chars, data.train_ids.shape, data.val_ids.shape
        (' ,dehlorw', (13,), (5,))
        >>> data.vocab.decode(data.val_ids)
        'hello'
        >>> len(data.fingerprint())                     # SHA-256, hex
        64
    """

    vocab: Vocab
    train_ids: np.ndarray      # (N_train,) ids
    val_ids: np.ndarray        # (N_val,) ids, the tail of the text

    @classmethod
    def from_text(cls, text: str, *, val_fraction: float = 0.1, vocab: Vocab | None = None):
        """The vocabulary of the whole text (or the given one), then the tail split off: ids
        (N,) into (N_train,) and (N_val,) with `split`."""
        vocab = Vocab(text) if vocab is None else vocab
        train, val = split(vocab.encode(text), val_fraction)
        return cls(vocab, train, val)

    def fingerprint(self) -> str:
        """SHA-256 of the training ids (N_train,) as int64: a resumed run must see the same data."""
        return hashlib.sha256(np.ascontiguousarray(self.train_ids, dtype=np.int64).tobytes()).hexdigest()
