"""What every cell's batch-sliced loop shares (`bptt.cells.lstm.slices`, `bptt.cells.gru.slices`,
`bptt.cells.rnn.slices`): when to slice, the slices' bounds, the per-step products' row blocks,
and running the slices' kernels at once.

The recurrence is independent across the batch: slice s, a block of the batch's columns, runs
the whole sequence, forward and then BPTT, on its own thread, in one numba kernel with no Python
between steps. (A split driven from Python hands the GIL over at every call of every step, and is
slower than one thread: benchmarks/RESULTS.md.) The kernels multiply through NumPy's own OpenBLAS
(`bptt.cells.cblas`), passed in as an argument, held to one thread while the slices run.
"""
from __future__ import annotations

import contextlib
import os

import numpy as np

from . import cblas, threads
from .fastpath import SMALL_GEMM
from .jit import AVAILABLE, numba

MIN_COLUMNS = 4          # fewest batch columns a slice gets: the per-step products run at
                         # 83-97 GFLOP/s with 4 columns, 105-109 with 16 or 32, 60-80 with 2
                         # (T50 H256, one core of the AMD EPYC machine, benchmarks/RESULTS.md)
_ROW, _N = cblas.ROW_MAJOR, cblas.NO_TRANS
_ONE = np.float32(1)


def count(B: int, flops: float, dtype, jit: bool, slices, min_flops: float) -> int:
    """How many slices a layer's pass runs in: 0 for the unsliced path. B the batch, flops the
    pass's GEMM flops (the cell's own formula), jit whether its numba kernels may run.
    slices None: k = min(OpenBLAS's threads, B // MIN_COLUMNS) when k >= 2 and flops >= min_flops
    (handing work to the threads costs ≈ 60 µs a time); otherwise 1, one slice on the calling
    thread (no hand-over, and no Python between steps: on one core it beats the unsliced loop at
    every size measured, T25 B1 H100 to T100 B64 H512, by 5-60 %), except for a pass of at least
    min_flops on 2+ threads whose batch is too small to split, which keeps OpenBLAS's threads
    inside each product (0). Always 0 when the kernels are off, without NumPy's OpenBLAS, or for
    float64. An int forces that many (1 included; 0 none), at most B. BPTT_SLICES=0 turns
    slicing off."""
    if slices is not None and (isinstance(slices, bool) or not isinstance(slices, (int, np.integer))
                               or slices < 0):
        raise ValueError(f"slices must be None (decide by OpenBLAS's threads) or an int >= 0 "
                         f"(0: never). Got {slices!r}.")
    if slices == 0 or not (jit and cblas.AVAILABLE and np.dtype(dtype) == np.float32 and B > 0):
        return 0
    if slices is None:
        if os.environ.get("BPTT_SLICES", "1") == "0":
            return 0
        threads_ = cblas.threads()
        k = min(threads_, B // MIN_COLUMNS)
        if k >= 2 and flops >= min_flops:
            return k
        return 1 if threads_ == 1 or flops < min_flops else 0
    return max(1, min(int(slices), B))


def bounds(B: int, k: int) -> list:
    """k nearly equal blocks of range(B): [(b0, b1), ...]."""
    edges = [B * s // k for s in range(k + 1)]
    return list(zip(edges[:-1], edges[1:]))


def rows(M: int, K: int, n: int) -> int:
    """Rows per block of an (M, K) @ (K, n) product: a multiple of 8 under SMALL_GEMM, or M (also
    where OpenBLAS has no small-matrix kernels: `bptt.cells.fastpath.SMALL_GEMM`)."""
    if not cblas.SMALL_KERNELS:
        return M
    m = SMALL_GEMM // max(n * K, 1) // 8 * 8
    return M if m < 8 else min(m, M)


def held(k: int):
    """OpenBLAS held to one thread for a whole sliced pass (k > 0), else nothing: between the
    layers its spinning workers would take the slices' cores."""
    return cblas.one_thread() if k else contextlib.nullcontext()


def run(jobs) -> None:
    """The slices' kernels at once on bptt's threads, OpenBLAS held to one thread."""
    with cblas.one_thread():
        threads.run(jobs)


def gemm(sgemm, A, Bm, out, rows, beta):
    """Inside a kernel: out (M, n) = A (M, K) @ Bm (K, n) + beta·out, in blocks of `rows` rows;
    all C-contiguous float32. sgemm: `bptt.cells.cblas.SGEMM`."""
    M, K = A.shape
    n = Bm.shape[1]
    size = A.itemsize
    for r0 in range(0, M, rows):
        m = min(rows, M - r0)
        sgemm(_ROW, _N, _N, m, n, K, _ONE, A.ctypes.data + r0 * K * size, K, Bm.ctypes.data, n,
              beta, out.ctypes.data + r0 * n * size, n)


if AVAILABLE:
    gemm = numba.njit(inline="always", fastmath=False, error_model="numpy")(gemm)
    kernel = numba.njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
    # fused multiply-adds allowed (LLVM's "contract", nothing else of fast-math): the polynomials
    # of tanh32 and exp32 inlined into a kernel run 20-25 % faster, as accurate
    kernel_fma = numba.njit(cache=True, fastmath={"contract"}, error_model="numpy", nogil=True)
    inline = numba.njit(inline="always", fastmath=False, error_model="numpy")
else:
    def kernel(f):
        """Without numba: the plain Python function (slow, never run by the cells)."""
        return f

    inline = kernel_fma = kernel
