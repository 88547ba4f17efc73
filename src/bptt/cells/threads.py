"""bptt's own worker threads for a pass run in batch slices (`bptt.cells.slicing`), and the
large GEMMs of that pass split over them.

While a sliced pass runs, OpenBLAS is held to one thread (`bptt.cells.cblas.one_thread`) for all
of it, not only for the slices' loops: OpenBLAS's own worker threads spin for a while after each
threaded call, and on a machine with as many cores as slices they take the cores the slices
need (measured on 2 cores: the sliced forward at T50 B32 H256 took 13 ms after a threaded GEMM,
6.6 ms without). So the pass's large products (the output layer, the weight gradients) are split
by rows over the same threads instead (`dot`), each row block one single-threaded GEMM.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import cblas

_POOL: list = []        # [executor, its number of workers]
_LOCK = threading.Lock()
MIN_SPLIT_FLOPS = 2e7   # smaller products run on the calling thread: ≈ 0.2 ms on one core, where
                        # handing them to the threads and back costs ≈ 0.06 ms a time
MIN_SPLIT_SUM = 1 << 18  # partial products with fewer entries in all are summed on the calling thread


def _forget_pool() -> None:
    """In a forked child: the parent's pool threads do not exist there, so start a new pool."""
    _POOL.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def run(jobs) -> None:
    """Run [(function, args), ...] at once: the first on this thread, the rest on the pool's; the
    functions must release the GIL (numba nogil kernels, BLAS) to run in parallel. Waits for all,
    then raises the first error."""
    if len(jobs) == 1:
        jobs[0][0](*jobs[0][1])
        return
    extra = len(jobs) - 1
    with _LOCK:                                          # callers on several threads at once
        if not _POOL or _POOL[1] < extra:                # a bigger pool; the old one finishes what
            if _POOL:                                    # it holds, then its threads end
                _POOL[0].shutdown(wait=False)
            _POOL[:] = [ThreadPoolExecutor(extra, thread_name_prefix="bptt-slice"), extra]
        futures = [_POOL[0].submit(f, *a) for f, a in jobs[1:]]
    try:
        jobs[0][0](*jobs[0][1])
    finally:
        errors = [fu.exception() for fu in futures]
    for e in errors:
        if e is not None:
            raise e


def dot(A, B, k: int) -> np.ndarray:
    """A @ B for 2-D arrays over k threads (k <= 1, or under MIN_SPLIT_FLOPS: np.dot). A with
    contiguous rows: its rows in k blocks, one product each. A a transposed view (the weight
    gradients' ∂J/∂ĝ rows read as (4H, N)), float32 with NumPy's OpenBLAS: its rows in k blocks
    too, each block's transposed GEMM called in BLAS directly (`_rows_tn`; `np.dot` multiplies
    such a block at about half the rate: 7.7 ms for half of ∂J/∂R's (1024, 1600) @ (1600, 256)
    on one thread, 4.5 ms through BLAS). Otherwise (float64, other BLAS): its columns in k
    blocks, products of the matching rows of B, then summed."""
    (M, K), N = A.shape, B.shape[1]
    dt = np.result_type(A, B)
    if k <= 1 or min(M, K) < k or 2 * M * K * N < MIN_SPLIT_FLOPS:
        return np.dot(A, B)
    if A.strides[1] == A.itemsize:
        out = np.empty((M, N), dtype=dt)
        edges = [M * s // k for s in range(k + 1)]
        run([(np.dot, (A[r0:r1], B, out[r0:r1])) for r0, r1 in zip(edges[:-1], edges[1:])])
        return out
    if _gemm_tn(A, B, dt):                               # float32: its rows straight from BLAS
        out = np.empty((M, N), dtype=dt)
        run(band_jobs(A, B, out, k))
        return out
    parts = np.empty((k, M, N), dtype=dt)
    edges = [K * s // k for s in range(k + 1)]
    run([(np.dot, (A[:, k0:k1], B[k0:k1], parts[i]))
         for i, (k0, k1) in enumerate(zip(edges[:-1], edges[1:]))])
    out = np.empty((M, N), dtype=dt)                     # the partial products summed, each
    rows = [M * s // k for s in range(k + 1)]            # thread a band of rows (a small sum
    if parts.size < MIN_SPLIT_SUM:                       # here: cheaper than a hand-over)
        return np.sum(parts, axis=0, out=out)
    run([(np.sum, (parts[:, r0:r1], 0, None, out[r0:r1])) for r0, r1 in zip(rows[:-1], rows[1:])])
    return out


def band_jobs(A, B, out, k: int):
    """[(function, args)] k jobs, job s writing band s of out's rows: out = A @ B, A (M, K) a
    transposed view that `_gemm_tn` accepts (float32, NumPy's OpenBLAS), out (M, N) C-contiguous;
    None where `_gemm_tn` refuses A and B. For callers that run the bands inside their own jobs
    (`bptt.cells.lstm.pipeline`)."""
    if (not _gemm_tn(A, B, np.result_type(A, B)) or out.dtype != np.float32
            or out.shape != (A.shape[0], B.shape[1]) or not out.flags.c_contiguous):
        return None
    M = A.shape[0]
    edges = [M * s // k for s in range(k + 1)]
    return [(_rows_tn, (A, B, out, r0, r1)) for r0, r1 in zip(edges[:-1], edges[1:])]


def _gemm_tn(A, B, dt) -> bool:
    """Whether `_rows_tn` can multiply A (M, K) @ B (K, N): float32, NumPy's OpenBLAS, A a
    transposed view whose columns are contiguous, B's rows contiguous."""
    f4 = np.dtype(np.float32)
    return (cblas.AVAILABLE and dt == f4 and A.dtype == f4 and B.dtype == f4
            and A.strides[0] == 4 and A.strides[1] % 4 == 0 and A.strides[1] >= 4 * A.shape[0]
            and B.strides[1] == 4 and B.strides[0] % 4 == 0 and B.strides[0] >= 4 * B.shape[1])


def _rows_tn(A, B, out, r0: int, r1: int) -> None:
    """out[r0:r1] = A[r0:r1] @ B in one BLAS call, A read as the transpose of its (K, M) rows."""
    K, N = A.shape[1], B.shape[1]
    one, zero = np.float32(1), np.float32(0)
    cblas.SGEMM(cblas.ROW_MAJOR, cblas.TRANS, cblas.NO_TRANS, r1 - r0, N, K, one,
                A.ctypes.data + 4 * r0, A.strides[1] // 4, B.ctypes.data, B.strides[0] // 4,
                zero, out.ctypes.data + 4 * r0 * N, N)
