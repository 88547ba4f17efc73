"""The checks of `bptt.Seq2Seq`'s inputs: token ids, masks, the begin and end ids.

src (S, B) and tgt (T, B) ids; src_mask (S, B) and tgt_mask (T − 1, B) of zeros and ones.
A source mask is a prefix of ones (padding at the end, as pack_padded_sequence) with at least one
real step per sequence (an empty source has nothing to attend to). Each target sequence has at
least one real target, its first input is the begin id, and with `eos_id` set its last real
target is the end id (a model never shown the end id never learns to stop).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ... import _validate as v


class Checked(NamedTuple):
    src: np.ndarray        # (S, B) intp
    tgt: np.ndarray        # (T, B) intp
    real: np.ndarray       # (S, B) bool
    weight: np.ndarray     # (T − 1, B) tgt_mask / B


def _ids(value, name, o, vocab, rows_min):
    arr = v.as_array(value, name, o)
    if arr.ndim != 2 or arr.shape[0] < rows_min or arr.shape[1] < 1:
        raise ValueError(f"The '{name}' argument of {o} must be token ids of shape (steps, batch) "
                         f"with at least {rows_min} step(s). Got shape {arr.shape}.")
    return v.check_token_ids(arr, name, o, arr.shape, vocab)


def _mask(value, name, o, shape, dtype):
    if value is None:
        return np.ones(shape, dtype)
    m = v.check_float_array(value, name, o, shape, dtype)
    if not np.isin(m, (0, 1)).all():
        raise ValueError(f"The '{name}' argument of {o} must hold only 0 and 1.")
    return m


def check(model, src, tgt, src_mask, tgt_mask) -> Checked:
    o = model.owner
    src = _ids(src, "src", o, model.src_vocab_size, 1)
    tgt = _ids(tgt, "tgt", o, model.tgt_vocab_size, 2)
    S, B = src.shape
    if tgt.shape[1] != B:
        raise ValueError(f"The 'tgt' argument of {o} must have the batch size of 'src' ({B}). "
                         f"Got shape {tgt.shape}.")
    sm = _mask(src_mask, "src_mask", o, (S, B), model.dtype)
    if (np.diff(sm, axis=0) > 0).any():
        raise ValueError(f"The 'src_mask' argument of {o} must be ones then zeros in each column "
                         f"(padding at the end of shorter sources).")
    empty = np.flatnonzero(sm[0] == 0)
    if empty.size:
        raise ValueError(f"The 'src_mask' argument of {o} leaves sequence {int(empty[0])} with no "
                         f"source step: an empty source has nothing to encode.")
    tm = _mask(tgt_mask, "tgt_mask", o, (tgt.shape[0] - 1, B), model.dtype)
    counts = tm.sum(axis=0)
    if (counts == 0).any():
        raise ValueError(f"The 'tgt_mask' argument of {o} leaves sequence "
                         f"{int(np.flatnonzero(counts == 0)[0])} with no target.")
    if model.bos_id is not None and (tgt[0] != model.bos_id).any():
        b = int(np.flatnonzero(tgt[0] != model.bos_id)[0])
        raise ValueError(f"The 'tgt' argument of {o} must start every sequence with the begin id "
                         f"bos_id={model.bos_id} (tgt[0] is the decoder's first input). "
                         f"Sequence {b} starts with {int(tgt[0, b])}.")
    if model.eos_id is not None:
        T1 = tm.shape[0]
        last = T1 - 1 - np.argmax(tm[::-1] > 0, axis=0)               # last real target step
        ends = tgt[1:][last, np.arange(B)]
        bad = np.flatnonzero(ends != model.eos_id)
        if bad.size:
            b = int(bad[0])
            raise ValueError(f"The 'tgt' argument of {o} must end every sequence's targets with "
                             f"the end id eos_id={model.eos_id}; sequence {b}'s last target is "
                             f"{int(ends[b])}. Append the end id, or pass eos_id=None to the model.")
    return Checked(src, tgt, sm > 0, tm / B)
