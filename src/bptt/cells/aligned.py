"""Arrays whose data starts on a cache line (64 bytes), for the sliced kernels' buffers.

NumPy's arrays start where malloc puts them: 16 bytes past a 64-byte boundary for the sizes a
pass allocates (glibc's heap chunks, `bptt.cells.fastpath`). Then every row of a (·, 4H) or (·, H)
float32 array starts 16 bytes into a cache line, and every 64-byte vector load or store along it
touches two lines. The LSTM's sliced pass at T50 B32 H256, one core: forward 9.5–9.7 → 9.0 ms,
forward + BPTT 18.6–18.8 → 17.9–18.2 with its buffers aligned (benchmarks/RESULTS.md, round 7).
"""
from __future__ import annotations

import numpy as np

LINE = 64                # bytes: a cache line, and one AVX-512 vector


def empty(shape, dtype) -> np.ndarray:
    """np.empty(shape, dtype), C-contiguous, its first element on a LINE-byte boundary (unless it
    has no elements)."""
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(d) for d in shape)
    if any(d < 0 for d in shape):
        raise ValueError(f"array dimensions must be >= 0. Got shape {shape}.")
    dtype = np.dtype(dtype)
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    buf = np.empty(size + LINE, dtype=np.uint8)
    start = -buf.ctypes.data % LINE
    return buf[start:start + size].view(dtype).reshape(shape)


def zeros(shape, dtype) -> np.ndarray:
    """np.zeros(shape, dtype), aligned as `empty`."""
    out = empty(shape, dtype)
    out.fill(0)
    return out
