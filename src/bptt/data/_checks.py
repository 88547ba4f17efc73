"""Validation shared by the modules of `bptt.data` (on top of `bptt._validate`)."""
from __future__ import annotations

import numpy as np

from .. import _validate as v


def check_ids(ids, owner: str, vocab: int | None = None, *, cast: bool = True) -> np.ndarray:
    """A 1-D array of integer token ids (each in [0, vocab) when vocab is given), as intp; with
    cast=False in its own integer dtype, never copied (a memmap stays a view of the file)."""
    arr = v.as_array(ids, "ids", owner)
    if arr.ndim == 1 and arr.size == 0:
        return np.zeros(0, dtype=np.intp)                 # [] converts to float64; accept it
    if arr.dtype.kind not in "iu":
        raise TypeError(f"The 'ids' argument of {owner} must hold integer token ids. "
                        f"Got dtype {arr.dtype} instead.")
    if arr.ndim != 1:
        raise ValueError(f"The 'ids' argument of {owner} must be a 1-D sequence of token ids. "
                         f"Got shape {arr.shape} instead.")
    if vocab is not None and arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= vocab:
            raise ValueError(f"The 'ids' argument of {owner} must hold ids in [0, {vocab}). "
                             f"Got {lo if lo < 0 else hi}.")
    return arr.astype(np.intp, copy=False) if cast else arr
