"""A character-level corpus ready for training: vocabulary, train and validation ids."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from . import Vocab, split


@dataclass
class CharData:
    vocab: Vocab
    train_ids: np.ndarray      # (N_train,) ids
    val_ids: np.ndarray        # (N_val,) ids, the tail of the text

    @classmethod
    def from_text(cls, text: str, *, val_fraction: float = 0.1, vocab: Vocab | None = None):
        """The vocabulary of the whole text (or the given one), then the tail split off."""
        vocab = Vocab(text) if vocab is None else vocab
        train, val = split(vocab.encode(text), val_fraction)
        return cls(vocab, train, val)

    def fingerprint(self) -> str:
        """SHA-256 of the training ids: a resumed run must see the same data."""
        return hashlib.sha256(np.ascontiguousarray(self.train_ids, dtype=np.int64).tobytes()).hexdigest()
