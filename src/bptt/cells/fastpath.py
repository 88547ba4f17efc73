"""What the cells' fast paths share: glibc's freed-memory pad, per-step products in row blocks
under OpenBLAS's small-matrix bound, and ∂J/∂U for token inputs as a sorted segment sum.

Dimension letters: T time steps, B batch, D input size (the vocabulary for token ids), H rows of
the gradient (H, or 4H / 3H for fused gates), N = T·B positions.
"""
from __future__ import annotations

import ctypes
import os
from typing import Optional

import numpy as np

from . import cblas

# glibc's malloc returns freed memory at the top of the heap to the system as soon as more than
# about twice the largest recently freed block sits there. Each training step frees and then
# re-allocates a few (T, B, H) arrays, so without a pad every step page-faults and zero-fills
# them again: 1.5 ms of an 8.4 ms step at T50 B32 H256, 10 ms of 115 ms at T100 B64 H512 (see
# benchmarks/RESULTS.md). Keeping a pad of freed memory for reuse removes that.
#
# Setting M_TOP_PAD also switches off glibc's dynamic mmap threshold, which would leave every
# block of 128 KiB or more to its own mmap/munmap, faulted in afresh at each use: that made
# torch's LSTM in the same process 17-35 % slower (T50 B32 H256: 39 → 47 ms on one thread,
# 20 → 27 ms on two). So the threshold is set too, to glibc's largest (32 MiB on 64-bit), with a
# trim threshold of twice the pad: blocks up to 32 MiB come from the heap and are reused.
MALLOC_TOP_PAD = 64 << 20            # bytes; BPTT_MALLOC_TOP_PAD=0 in the environment turns it off
MMAP_THRESHOLD = 32 << 20            # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3   # mallopt's parameters (malloc.h)


def retain_freed_memory(nbytes: int = MALLOC_TOP_PAD) -> bool:
    """Ask glibc's malloc to keep up to `nbytes` of freed heap memory for reuse instead of
    returning it to the system (mallopt M_TOP_PAD, with M_TRIM_THRESHOLD = 2·nbytes and
    M_MMAP_THRESHOLD = 32 MiB: see above); process-wide. Returns whether it was set (False off
    glibc, or for nbytes <= 0)."""
    try:
        if nbytes <= 0 or not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
        mallopt = ctypes.CDLL(None).mallopt
        return all(bool(mallopt(p, int(v))) for p, v in (
            (_M_MMAP_THRESHOLD, min(MMAP_THRESHOLD, 2 * nbytes)), (_M_TRIM_THRESHOLD, 2 * nbytes),
            (_M_TOP_PAD, nbytes)))
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


SMALL_GEMM = 10**6   # OpenBLAS takes its small-matrix kernels while M·N·K <= 100³, on the cores
                     # that have them (`cblas.SMALL_KERNELS`: SkylakeX and later). Cutting a
                     # product into calls under it pays only there: elsewhere (the Haswell
                     # kernels, which AMD Zen 1-3 run too) every call packs, and one call per
                     # product is faster (AMD EPYC Zen 3, one thread, T50 B32 H256: SimpleRNN
                     # 7 %, GRU 4 %, LSTM 2.5 %; T100 B64 H512: 14 %; benchmarks/RESULTS.md)


def row_blocks(A, out, N: int, split: Optional[bool] = None):
    """[(A[r], out[r])] over row blocks r of out = A @ X, X with N columns: blocks of a multiple
    of 8 rows that each stay under SMALL_GEMM, or the whole product when it does or they cannot.
    split None: only when numpy's BLAS is OpenBLAS with small-matrix kernels on one thread (with
    more, its threaded GEMM on the whole product is faster: 21.6 ms against 27 ms for the
    benchmark's pass on 2 threads)."""
    M, K = A.shape
    m = SMALL_GEMM // (N * K) // 8 * 8
    if split is None:
        split = cblas.SMALL_KERNELS and _openblas_single_threaded()
    if not split or M * N * K <= SMALL_GEMM or m < 8:
        return [(A, out)]
    return [(A[s:s + m], out[s:s + m]) for s in range(0, M, m)]


_BLAS = []     # numpy's OpenBLAS as a threadpoolctl controller, or None: looked up once


def _openblas_single_threaded() -> bool:
    """Whether numpy's BLAS is OpenBLAS running one thread now: asked through threadpoolctl when
    it is installed (0.4 µs a query; it sees threadpool_limits), else read from the environment."""
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController
            libs = [c for c in ThreadpoolController().lib_controllers if c.internal_api == "openblas"]
            _BLAS.append(next((c for c in libs if "numpy" in c.filepath), libs[0] if libs else None))
        except ImportError:
            _BLAS.append("environment")
    blas = _BLAS[0]
    if blas == "environment":
        return any(os.environ.get(v) == "1" for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"))
    return blas is not None and blas.num_threads == 1
