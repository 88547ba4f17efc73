"""The output layer and the loss of a sliced pass over bands of positions, on bptt's threads.

Between the layers' forward and their BPTT, a pass run in batch slices (`bptt.cells.slicing`)
needs, over all N = T·B positions: the logits o = c + V y, the loss J and ∂J/∂o, the outside
errors Vᵀ ∂J/∂o of the top layer, and ∂J/∂V, ∂J/∂c. None of it depends on time, so each of k
threads does all of it for one band of positions (contiguous rows of the (N, H) top outputs):
one hand-over to the threads instead of four (the three products split, the loss on one
thread), and the loss's passes over the (N, O) logits run in parallel too. The band's partial
J, ∂J/∂V and ∂J/∂c are summed after.

Per-step losses only: a loss pooled over time (`bptt.nn.losses.MeanPooled`) couples positions, and
its pass keeps the one-thread head.

Softmax with token targets, in float32 with NumPy's OpenBLAS and numba, and an output layer small
enough for OpenBLAS's small-matrix kernels (8·O·H <= 10⁶: O·H up to 125,000), runs each band as
one numba kernel (`softmax_band`) over blocks of m = 16 rows (64 where OpenBLAS packs at every
call: `BLOCK_PACKED`): the block's logits transposed, oᵀ = V Yᵀ (O, m), so that the max, the
exponentials (`bptt.cells.exp32`), the sums and ∂J/∂oᵀ run along contiguous rows of m positions;
then Vᵀ ∂J/∂o into dY, ∂J/∂V += ∂J/∂oᵀ Y and ∂J/∂c, while the block is in cache. At T50 B32
O65 H256 on one core: 1.68 ms against 2.10 for NumPy's three band products and five passes of
the loss. Other heads run the NumPy band.
"""
from __future__ import annotations

import math

import numpy as np

from . import aligned, cblas, threads
from .exp32 import exp32
from .fastpath import SMALL_GEMM
from .jit import AVAILABLE
from .slicing import kernel
from ..nn.losses import loss_and_error

BLOCK = 16       # positions per block of `softmax_band`: T50 B32 O65 H256, one core, 1.68 ms a
                 # pass with 16, 1.89 with 8, 1.86 with 32, 1.88 with 56, 1.95 with 128 (NumPy: 2.10)
BLOCK_PACKED = 64  # the same where OpenBLAS has no small-matrix kernels (`cblas.SMALL_KERNELS`) and
                   # every call packs V: fewer, longer calls (AMD EPYC Zen 3, Haswell kernels: 16,
                   # 4.8 ms; 32, 4.3; 64, 4.0; 128, 3.9; NumPy's band 5.1)
_ROW, _N, _T = cblas.ROW_MAJOR, cblas.NO_TRANS, cblas.TRANS
_ONE, _ZERO = np.float32(1), np.float32(0)


def head_backward(Y, V, c, output: str, y, weight, k: int):
    """Y (T, B, H) the top layer's outputs y(t); V (O, H), c (O,); y the targets (T, B) or
    (T, B, O); weight (T, B) = mask / B. Returns (J, dY (T, B, H) = Vᵀ ∂J/∂o(t) batch-major,
    ∂J/∂V (O, H), ∂J/∂c (O,))."""
    T, B, H = Y.shape
    N = T * B
    Y2 = Y.reshape(N, H)
    y2 = y.reshape((N,) + y.shape[2:])
    w2 = weight.reshape(N)
    edges = [N * s // k for s in range(k + 1)]
    if softmax_kernel(output, y, V):
        return _softmax_head(Y2, V, c, y2, w2, edges, (T, B, H))
    dY = np.empty((N, H), dtype=Y.dtype)
    parts = [None] * k

    def band(i, r0, r1):
        o = np.dot(Y2[r0:r1], V.T)                       # o = c + V y, the band's rows
        o += c
        J, _, do = loss_and_error(output, o, y2[r0:r1], w2[r0:r1])
        np.dot(do, V, out=dY[r0:r1])                     # Vᵀ ∂J/∂o
        parts[i] = (J, np.dot(do.T, Y2[r0:r1]), do.sum(axis=0))   # ∂J/∂V, ∂J/∂c of the band

    threads.run([(band, (i, r0, r1)) for i, (r0, r1) in enumerate(zip(edges[:-1], edges[1:]))])
    J = float(sum(p[0] for p in parts))
    dV = np.sum([p[1] for p in parts], axis=0, dtype=Y.dtype)
    dc = np.sum([p[2] for p in parts], axis=0, dtype=Y.dtype)
    return J, dY.reshape(T, B, H), dV, dc


def softmax_kernel(output: str, y, V) -> bool:
    """Whether the head runs `softmax_band`: softmax with token targets, float32 V (O, H) with
    8·O·H <= SMALL_GEMM, numba and NumPy's OpenBLAS."""
    O, H = V.shape
    return (output == "softmax" and AVAILABLE and cblas.AVAILABLE and V.dtype == np.float32
            and y.dtype.kind in "iu" and 8 * O * H <= SMALL_GEMM)


def _softmax_head(Y2, V, c, y2, w2, edges, shape):
    """head_backward through `softmax_band`, one band of rows per thread; float32 throughout."""
    Y2 = np.ascontiguousarray(Y2, dtype=V.dtype)           # the kernel reads rows of H floats
    dY, jobs, finish = _softmax_jobs(Y2, V, c, y2, w2, softmax_band,
                                     [(r0, r1) for r0, r1 in zip(edges[:-1], edges[1:])])
    with cblas.one_thread():
        threads.run(jobs)
    J, dV, dc = finish()
    return J, dY.reshape(shape), dV, dc


def softmax_slices(Y, V, c, y, weight, slices):
    """The head of a pass in batch slices, one job per slice over its rows b0..b1 at every step
    (`softmax_rows`), for `bptt.cells.lstm.pipeline`: Y (T, B, H) C-contiguous float32, whose
    values the jobs find there when they run (the slices' own forward, run first); y (T, B) token
    ids, weight (T, B). Returns (dY (T, B, H), [(kernel, args)], finish), finish() after the jobs
    -> (J, ∂J/∂V, ∂J/∂c). Only where `softmax_kernel` holds."""
    T, B, H = Y.shape
    if not Y.flags.c_contiguous or Y.dtype != V.dtype:
        raise ValueError(f"softmax_slices reads Y's rows in place: it must be C-contiguous "
                         f"{V.dtype}. Got strides {Y.strides}, {Y.dtype}.")
    dY, jobs, finish = _softmax_jobs(Y.reshape(T * B, H), V, c, y.reshape(T * B),
                                     weight.reshape(T * B), softmax_rows, slices, B)
    return dY.reshape(T, B, H), jobs, finish


def _softmax_jobs(Y2, V, c, y2, w2, fn, ranges, *extra):
    """(dY (N, H), [(fn, args)] one per range, finish) for `softmax_band` (ranges of positions)
    or `softmax_rows` (ranges of the batch, extra = (B,)); finish() sums the parts: (J, dV, dc)."""
    O, H = V.shape
    m = BLOCK if cblas.SMALL_KERNELS else BLOCK_PACKED
    dY = aligned.empty(Y2.shape, V.dtype)                 # the LSTM's slices read its rows
    V = np.ascontiguousarray(V)
    c = np.ascontiguousarray(c, dtype=V.dtype)
    ids = np.ascontiguousarray(y2, dtype=np.intp)
    if ids.size and (ids.min() < 0 or ids.max() >= O):   # the kernel indexes without checks
        raise IndexError(f"token targets must lie in [0, {O}). Got {ids.min()} to {ids.max()}.")
    w = np.ascontiguousarray(w2, dtype=V.dtype)
    parts, jobs = [], []
    for r0, r1 in ranges:
        J, dV, dcm = np.zeros(1), np.zeros((O, H), dtype=V.dtype), np.zeros((O, m), dtype=V.dtype)
        parts.append((J, dV, dcm))
        jobs.append((fn, (cblas.SGEMM, Y2, V, c, ids, w, dY, dV, dcm, J, r0, r1,
                          np.empty((O, m), dtype=V.dtype)) + extra))

    def finish():
        J = float(sum(p[0][0] for p in parts))
        _, dV, dcm = parts[0]                            # the parts summed in place (a sum over a
        for _, part_dV, part_dcm in parts[1:]:           # list stacks it first)
            dV += part_dV
            dcm += part_dcm
        return J, dV, dcm.sum(axis=1)

    return dY, jobs, finish


def softmax_band(sgemm, Y, V, c, ids, w, dY, dV, dcm, J, r0, r1, oT):
    """Rows r0..r1 of the head, softmax and cross-entropy, in blocks of m = oT.shape[1] rows:
    J[0] += Σ w·(log Σ e^z − z[y]) with z = o − max o (float64), dY rows = Vᵀ ∂J/∂o, dV (O, H)
    += ∂J/∂oᵀ Y, dcm (O, m) += ∂J/∂oᵀ (summed over its columns after). Y (N, H), V (O, H),
    dY (N, H), all float32 and C-contiguous; ids (N,) in [0, O); w (N,) = mask / B; oT (O, m)
    scratch: the block's logits, then e^z, then ∂J/∂oᵀ."""
    O, H = V.shape
    m = oT.shape[1]
    size = Y.itemsize
    mx, s, zy = np.empty(m, dtype=oT.dtype), np.empty(m, dtype=oT.dtype), np.empty(m, dtype=oT.dtype)
    for b0 in range(r0, r1, m):
        n = min(m, r1 - b0)
        # oᵀ (O, n) = V (O, H) @ Y[b0:b0+n]ᵀ, written with row stride m
        sgemm(_ROW, _N, _T, O, n, H, _ONE, V.ctypes.data, H, Y.ctypes.data + b0 * H * size, H,
              _ZERO, oT.ctypes.data, m)
        for i in range(n):
            mx[i] = oT[0, i] + c[0]
        for j in range(O):
            row, cj = oT[j], c[j]
            for i in range(n):
                v = row[i] + cj
                row[i] = v
                mx[i] = v if v > mx[i] else mx[i]
        for i in range(n):
            zy[i] = oT[ids[b0 + i], i] - mx[i]              # z[y] = o[y] − max o
        s[:n] = 0
        for j in range(O):
            row = oT[j]
            for i in range(n):
                e = exp32(row[i] - mx[i])
                row[i] = e
                s[i] += e
        total = 0.0
        for i in range(n):
            p = b0 + i
            total += float(w[p]) * (math.log(float(s[i])) - float(zy[i]))   # −log ŷ[y]
            s[i] = w[p] / s[i]
        J[0] += total
        for j in range(O):
            row = oT[j]
            for i in range(n):
                row[i] *= s[i]                             # w·ŷ
        for i in range(n):
            p = b0 + i
            oT[ids[p], i] -= w[p]                          # w·(ŷ − onehot(y))
        for j in range(O):
            row, dc = oT[j], dcm[j]
            for i in range(n):
                dc[i] += row[i]
        # dY rows (n, H) = ∂J/∂o (n, O) @ V (O, H), ∂J/∂o read as the transpose of oᵀ
        sgemm(_ROW, _T, _N, n, H, O, _ONE, oT.ctypes.data, m, V.ctypes.data, H, _ZERO,
              dY.ctypes.data + b0 * H * size, H)
        # dV (O, H) += ∂J/∂oᵀ (O, n) @ Y rows (n, H)
        sgemm(_ROW, _N, _N, O, H, n, _ONE, oT.ctypes.data, m, Y.ctypes.data + b0 * H * size, H,
              _ONE, dV.ctypes.data, H)


softmax_band = kernel(softmax_band)


def softmax_rows(sgemm, Y, V, c, ids, w, dY, dV, dcm, J, b0, b1, oT, B):
    """`softmax_band` over the positions of batch rows b0..b1 at every step: rows t·B + b0 to
    t·B + b1 of Y (T·B, H), ids, w and dY, for t = 0..T−1."""
    for t in range(Y.shape[0] // B):
        softmax_band(sgemm, Y, V, c, ids, w, dY, dV, dcm, J, t * B + b0, t * B + b1, oT)


softmax_rows = kernel(softmax_rows)
