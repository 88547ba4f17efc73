"""What the cells' fast paths share: glibc's freed-memory pad, and ∂J/∂U for token inputs as a
sorted segment sum.

Dimension letters: T time steps, B batch, D input size (the vocabulary for token ids), H rows of
the gradient (H, or 4H / 3H for fused gates), N = T·B positions.
"""
from __future__ import annotations

import ctypes
import os

import numpy as np

# glibc's malloc returns freed memory at the top of the heap to the system as soon as more than
# about twice the largest recently freed block sits there. Each training step frees and then
# re-allocates a few (T, B, H) arrays, so without a pad every step page-faults and zero-fills
# them again: 1.5 ms of an 8.4 ms step at T50 B32 H256, 10 ms of 115 ms at T100 B64 H512 (see
# benchmarks/RESULTS.md). Keeping a pad of freed memory for reuse removes that.
MALLOC_TOP_PAD = 64 << 20            # bytes; BPTT_MALLOC_TOP_PAD=0 in the environment turns it off
_M_TOP_PAD = -2                      # mallopt's parameter number (malloc.h)


def retain_freed_memory(nbytes: int = MALLOC_TOP_PAD) -> bool:
    """Ask glibc's malloc to keep up to `nbytes` of freed heap memory for reuse instead of
    returning it to the system (mallopt(M_TOP_PAD)); process-wide. Returns whether it was set
    (False off glibc, or for nbytes <= 0)."""
    try:
        if nbytes <= 0 or not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
        return bool(ctypes.CDLL(None).mallopt(_M_TOP_PAD, int(nbytes)))
    except (OSError, AttributeError, ValueError, OverflowError):   # not glibc, or no confstr
        return False


try:
    _pad = int(os.environ.get("BPTT_MALLOC_TOP_PAD", MALLOC_TOP_PAD))
except ValueError:
    _pad = MALLOC_TOP_PAD
MALLOC_TUNED = retain_freed_memory(_pad)



# Up to this many positions (N = T·B) the token gradient is one np.add.reduceat call; above it,
# one np.add.reduce per distinct id (faster there: 0.30 ms against 0.82 ms at N = 1600, H = 256).
_REDUCEAT_MAX = 256


def token_gradient(ids, dA, shape, dtype):
    """∂J/∂U (shape (H, D)) for token inputs: column U[:, k] gets Σ of ∂J/∂a over the positions
    where id = k.

    A sorted segment sum, never np.add.at (2.8 ms at N = 1600, H = 256, D = 65): positions
    sorted stably by id, then each id's rows summed — by np.add.reduceat for small N, by one
    np.add.reduce per id for larger N. (The two round differently in the last bit.)
    """
    H, D = shape
    flat = ids.ravel()
    rows = dA.reshape(flat.size, H)                         # ∂J/∂a, one row per position (N, H)
    order = np.argsort(flat, kind="stable")
    sorted_ids = flat[order]
    grouped = np.take(rows, order, axis=0)                  # rows sorted by id           (N, H)
    first = np.empty(flat.size, dtype=bool)                 # where a new id starts
    first[0] = True
    np.not_equal(sorted_ids[1:], sorted_ids[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    dUT = np.zeros((D, H), dtype=dtype)                     # (D, H)
    if flat.size <= _REDUCEAT_MAX:
        dUT[sorted_ids[starts]] = np.add.reduceat(grouped, starts, axis=0)
        return dUT.T
    bounds = starts.tolist() + [flat.size]
    for s, e in zip(bounds[:-1], bounds[1:]):
        np.add.reduce(grouped[s:e], axis=0, out=dUT[sorted_ids[s]])   # Σ over the id's positions
    return dUT.T
