"""The simple RNN's time loop split over batch slices, one thread each (float32, numba kernels).

Each slice, a block of the batch's rows b0..b1 (n = b1 − b0), runs the whole sequence on its own
thread in one numba kernel (`bptt.cells.slicing` says why and holds what the cells share).
`bptt.cells.rnn.fused`'s layer functions hand over to `layer_forward` / `layer_backward` here
when `count` says so; after the join `layer_backward` computes ∂J/∂W, ∂J/∂U and ∂J/∂x as products
split over bptt's threads (`bptt.cells.threads`), and the model runs the output layer and the
loss between the two (`bptt.cells.head`).

Dimension letters as in `bptt.cells.rnn.fused`; n the slice's rows. The per-step work is one
(n, H) @ (H, H) product and the activation. The state is h alone, so the forward and the backward
each stand on their own: the forward writes h(t) into its rows of the shared batch-major Hs
(T+1, B, H); the backward reads Hs and overwrites its rows of the errors dA (T, B, H) with
∂J/∂a(t), which is all the weight gradients need.

Batch-major inside the slice, unlike the LSTM's feature-major loop: a slice's rows of Hs[t] and
of dA[t] are one contiguous (n, H) block, so the products read and write the shared arrays in
place, and the pointwise work runs over contiguous blocks with no transposes (the LSTM stacks
four gates, whose blocks want feature-major rows; here there is one). Measured per slice on one
core (forward + backward loops, tanh): T50 n16 H256 2.0 ms against 2.4 feature-major, T100 n32
H512 33.6 ms against 39.5. The products run in blocks of `blocks()` under OpenBLAS's small-matrix
bound (`bptt.cells.fastpath.SMALL_GEMM`), rows and columns: whole-width row blocks cannot stay
under it from H ≈ 354 on (n·H·H with n >= 8), and above it the packed kernel re-packs W at every
step (T100 n32 H512, the products alone: 87 GFLOP/s whole, 104 in 16 × 64 blocks).

Per step, forward, a(t) built in h(t)'s rows of Hs:
    float inputs:  a(t) = U x(t) + W h(t−1) (two products, x(t)'s rows read in place), + b
    token ids:     a(t) = W h(t−1) + (Uᵀ + b)[id]   (the table's row per position, looked up)
    h(t) = g(a(t)), in place; tanh through `bptt.cells.tanh32`, σ through `bptt.cells.exp32`.
Backward, from the last step, dh (n, H) = Wᵀ ∂J/∂a(t+1) (zero at T−1):
    ∂J/∂a(t) = g'(h(t)) ⊙ (dA[t] + dh), in place in dA; the slice's part of ∂J/∂b, and of ∂J/∂Uᵀ
    for token ids (a scatter-add into its own (D, H) rows); then dh = ∂J/∂a(t) W. After step 0,
    dh = Wᵀ ∂J/∂a(0) = ∂J/∂h0, written straight into the slice's rows of the shared (B, H) array.

The numbers are the fused path's up to float32 rounding: tanh32 is within 1.5 ulp of tanh,
sigmoid32 within 3 ulp of σ, the products run in other blocks, b is added after W h(t−1) for
float inputs.
"""
from __future__ import annotations

import numpy as np

from .. import cblas, threads
from ..fastpath import SMALL_GEMM, token_gradient
from ..jit import AVAILABLE
from ..slicing import MIN_COLUMNS, bounds, inline, kernel  # noqa: F401  (MIN_COLUMNS: for readers)
from ..slicing import count as _count, run as _run
from ..exp32 import sigmoid32
from ..tanh32 import tanh32

MIN_FLOPS = 8e7          # fewest GEMM flops of a layer's pass, 2·T·B·H·H·3, for a slice per
                         # thread; below it one slice on the calling thread (2 threads, T50 B32,
                         # ms one slice / two: H64, 3.9e7 flops, 1.23 / 1.18; H80, 6.1e7,
                         # 1.58 / 1.89; H96, 8.8e7, 2.01 / 1.57; H160, 2.5e8, 4.19 / 3.16)
MAX_ROWS = 16            # rows of a product's block (T50 H256 n16: 16 × 128 and 8 × 256 blocks
                         # run alike; T100 H512 n32: 16 × 64 at 104 GFLOP/s, 8 × 128 at 105,
                         # 32 × 32 at 100)
ACTIVATIONS = {"tanh": 0, "sigmoid": 1, "relu": 2, "identity": 3}   # the kernels' codes for g
_TANH, _SIGMOID, _RELU = 0, 1, 2
_ROW, _N = cblas.ROW_MAJOR, cblas.NO_TRANS
_ONE, _ZERO = np.float32(1), np.float32(0)


def blocks(n: int, K: int, N: int) -> tuple:
    """(rows, cols) of the blocks of an (n, K) @ (K, N) product: the whole product when it stays
    under SMALL_GEMM; else blocks of min(n, MAX_ROWS) rows and a power of two of columns under
    it (powers of two: 16 × 96 blocks ran the forward loop at 85 GFLOP/s, 16 × 64 at 103,
    T100 n16 H512); the whole product when not even 16 columns fit, or where OpenBLAS has no
    small-matrix kernels (`bptt.cells.fastpath.SMALL_GEMM`)."""
    if n * K * N <= SMALL_GEMM or not cblas.SMALL_KERNELS:
        return n, N
    r = min(n, MAX_ROWS)
    c = SMALL_GEMM // (r * K)
    if c < 16:
        return n, N
    return r, min(1 << (c.bit_length() - 1), N)


# -- the kernels (numba, one slice each; plain Python without numba) ----------------------------
def _product(sgemm, a, lda, bm, ldb, c, ldc, n, N, K, rows, cols, beta):
    """Inside a kernel: C (n, N) = A (n, K) @ Bm (K, N) + beta·C in blocks of rows × cols, the
    float32 matrices (4 bytes an entry) given by their addresses and row strides (ld, in
    entries). `bptt.cells.slicing.gemm` blocks rows only, of contiguous matrices."""
    for r0 in range(0, n, rows):
        m = min(rows, n - r0)
        for c0 in range(0, N, cols):
            w = min(cols, N - c0)
            sgemm(_ROW, _N, _N, m, w, K, _ONE, a + 4 * r0 * lda, lda, bm + 4 * c0, ldb, beta,
                  c + 4 * (r0 * ldc + c0), ldc)


def _activate(a, act):
    """a = g(a) over a flat, contiguous float32 block (one array: the loops vectorize)."""
    if act == _TANH:
        for k in range(a.size):
            a[k] = tanh32(a[k])
    elif act == _SIGMOID:
        for k in range(a.size):
            a[k] = sigmoid32(a[k])
    elif act == _RELU:
        for k in range(a.size):
            v = a[k]
            a[k] = _ZERO if v <= _ZERO else v                    # max(a, 0); nan stays nan


def forward(sgemm, WT, UT, table, ids, x, Hs, b0, b1, act, rw, cw, rx, cx):
    """The forward loop of the slice b0..b1. Hs (T+1, B, H): Hs[0] = h0 in, h(t) written into
    Hs[t+1]'s rows b0..b1. WT (H, H) = Wᵀ. Float inputs: x (T, B, D), UT (D, H) = Uᵀ, table
    (1, H) = b, ids (0, 0). Token ids: ids (T, B) unsigned, in range, table (D, H) = Uᵀ + b, x
    and UT empty. (rw, cw), (rx, cx): the blocks of the W and the U products."""
    T, B, H = Hs.shape[0] - 1, Hs.shape[1], Hs.shape[2]
    n = b1 - b0
    tokens = ids.shape[0] > 0
    D = UT.shape[0]
    for t in range(T):
        prev = Hs.ctypes.data + 4 * (t * B + b0) * H         # h(t−1), the slice's rows  (n, H)
        out = Hs.ctypes.data + 4 * ((t + 1) * B + b0) * H    # a(t), then h(t)           (n, H)
        beta = _ZERO
        if not tokens:                                       # U x(t)                    (n, H)
            _product(sgemm, x.ctypes.data + 4 * (t * B + b0) * D, D, UT.ctypes.data, H, out, H,
                     n, H, D, rx, cx, _ZERO)
            beta = _ONE
        _product(sgemm, prev, H, WT.ctypes.data, H, out, H, n, H, H, rw, cw, beta)   # + W h(t−1)
        hs = Hs[t + 1]
        for j in range(b0, b1):
            row, r = hs[j], table[ids[t, j]] if tokens else table[0]
            for k in range(H):
                row[k] += r[k]                               # + b, or + (Uᵀ + b)[id]
        _activate(hs[b0:b1].reshape(-1), act)                # h(t) = g(a(t))


def backward(sgemm, W, Hs, dA, dh, b0, b1, act, rw, cw, ids, dUT, db):
    """BPTT through the slice b0..b1. dA (T, B, H): the outside errors in, ∂J/∂a(t) out, in its
    rows. dh (B, H): zeros in its rows, ∂J/∂h0 = Wᵀ ∂J/∂a(0) out. db (H,): the slice's part of
    ∂J/∂b, summed into; token ids (T, B) unsigned (else (0, 0)): the slice's part of ∂J/∂Uᵀ summed
    into dUT (D, H) (an empty dUT: not summed here)."""
    T, B, H = dA.shape
    n = b1 - b0
    scatter = ids.shape[0] > 0 and dUT.shape[0] > 0
    rec = dh.ctypes.data + 4 * b0 * H
    for t in range(T - 1, -1, -1):
        da, h = dA[t], Hs[t + 1]
        for j in range(b0, b1):
            d, hj, dj = da[j], h[j], dh[j]
            if act == _TANH:
                for k in range(H):                           # g'(a) = 1 − h²
                    d[k] = (d[k] + dj[k]) * (_ONE - hj[k] * hj[k])
            elif act == _SIGMOID:
                for k in range(H):                           # g'(a) = h (1 − h)
                    d[k] = (d[k] + dj[k]) * (hj[k] * (_ONE - hj[k]))
            elif act == _RELU:
                for k in range(H):                           # g'(a) = [h > 0]
                    d[k] = d[k] + dj[k] if hj[k] > _ZERO else _ZERO
            else:
                for k in range(H):                           # g'(a) = 1
                    d[k] += dj[k]
            for k in range(H):
                db[k] += d[k]                                # Σ_t ∂J/∂a(t)
            if scatter:
                w = dUT[ids[t, j]]
                for k in range(H):
                    w[k] += d[k]                             # column id of ∂J/∂U
        _product(sgemm, dA.ctypes.data + 4 * (t * B + b0) * H, H, W.ctypes.data, H, rec, H,
                 n, H, H, rw, cw, _ZERO)                     # Wᵀ ∂J/∂a(t), as rows ∂J/∂a W


if AVAILABLE:
    _product, _activate = inline(_product), inline(_activate)
forward, backward = kernel(forward), kernel(backward)


# -- the driver ----------------------------------------------------------------------------------
def count(x, W, act, slices=None) -> int:
    """How many slices a layer's pass runs in (`bptt.cells.slicing.count`): 0 for the fused path.
    The pass's GEMM flops: 2·T·B·H·H·3 (the per-step products, forward and back, and ∂J/∂W).

    MIN_FLOPS against one slice: see its comment. Round 5 set it against the unsliced loop,
    measured on 2 threads (model.loss_and_grads, B32, 65 token ids, tanh; best of 9
    rounds alternating sliced and unsliced, on a 2-vCPU machine shared with other work): the
    unsliced loop pays Python at every step and the sliced pass ≈ 0.2 ms a pass (hand-overs, the
    head in bands), so the bound is set by short windows. Sliced against unsliced, ms: T5 H256
    (6.3e7 flops) 1.40 and 1.15; T20 H128 (6.3e7) 1.61 and 1.61; T50 H96 (8.8e7) 1.97 and 2.93;
    T30 H128 (9.4e7) 1.81 and 1.88; T20 H256 (2.5e8) 2.86 and 3.41. Left out below the bound:
    T50 H64 (3.9e7) 1.66 and 1.99. Worst above it: T10 H256 (1.3e8) 2.03 and 1.82."""
    T, B = x.shape[:2]
    H = W.shape[0]
    jit = AVAILABLE and act.name in ACTIVATIONS
    return _count(B, 2 * T * B * H * H * 3, W.dtype, jit, slices, MIN_FLOPS)


def _token_ids(x, D: int) -> np.ndarray:
    """Token ids (T, B) as unsigned, clipped to [0, D) as the fused path's np.take(mode="clip")
    does (ids are checked at the public edge; the kernels read the table unchecked)."""
    return np.ascontiguousarray(np.clip(x, 0, D - 1), dtype=np.uintp)


def layer_forward(x, h0, U, W, b, act, k: int) -> np.ndarray:
    """One layer over all steps in k slices: Hs (T+1, B, H) with Hs[0] = h0. x (T, B, D) or token
    ids (T, B), h0 (B, H), U (H, D), W (H, H), b (H,), all of W's dtype (float32)."""
    T, B = x.shape[:2]
    H, D, dt = W.shape[0], U.shape[1], W.dtype
    Hs = np.empty((T + 1, B, H), dtype=dt)
    Hs[0] = h0
    WT = np.ascontiguousarray(W.T)
    if x.dtype.kind in "iu":
        ids, table = _token_ids(x, D), np.ascontiguousarray(np.add(U.T, b), dtype=dt)   # (D, H)
        xs, UT = np.empty((0, 0, 0), dtype=dt), np.empty((0, 0), dtype=dt)
    else:
        ids = np.empty((0, 0), dtype=np.uintp)
        table = np.ascontiguousarray(b, dtype=dt).reshape(1, H)                   # (1, H)
        xs, UT = np.ascontiguousarray(x, dtype=dt), np.ascontiguousarray(U.T, dtype=dt)
    code = ACTIVATIONS[act.name]
    jobs = []
    for b0, b1 in bounds(B, k):
        n = b1 - b0
        jobs.append((forward, (cblas.SGEMM, WT, UT, table, ids, xs, Hs, b0, b1, code)
                     + blocks(n, H, H) + blocks(n, D, H)))
    _run(jobs)
    return Hs


def layer_backward(dA, x, Hs, U, W, act, need_dx: bool, k: int):
    """BPTT through one layer in k slices: `fused.layer_backward`'s arguments and result (dA
    overwritten with ∂J/∂a(t); returns (dx or None, ∂J/∂h0, dU, dW, db)). OpenBLAS is held to one
    thread throughout; after the join the weight gradients and ∂J/∂x are products split over k
    of bptt's threads. Token ids: each slice sums its part of ∂J/∂Uᵀ, unless the k (D, H) buffers
    would outgrow dA's T·B rows (large vocabularies: a sorted segment sum after the join)."""
    T, B, H = dA.shape
    N, D, dt = T * B, U.shape[1], W.dtype
    work = dA if dA.dtype == dt and dA.flags.c_contiguous else np.ascontiguousarray(dA, dtype=dt)
    Hs = np.ascontiguousarray(Hs, dtype=dt)
    Wc = np.ascontiguousarray(W, dtype=dt)
    tokens = x.dtype.kind in "iu"
    scatter = tokens and k * D <= N
    ids = _token_ids(x, D) if tokens else np.empty((0, 0), dtype=np.uintp)
    dh0 = np.zeros((B, H), dtype=dt)
    db = np.zeros((k, H), dtype=dt)
    dUT = np.zeros((k, D, H) if scatter else (k, 0, 0), dtype=dt)
    code = ACTIVATIONS[act.name]
    with cblas.one_thread():
        _run([(backward, (cblas.SGEMM, Wc, Hs, work, dh0, b0, b1, code) + blocks(b1 - b0, H, H)
               + (ids, dUT[i], db[i])) for i, (b0, b1) in enumerate(bounds(B, k))])
        dA2 = work.reshape(N, H)
        dW = threads.dot(dA2.T, Hs[:-1].reshape(N, H), k)  # Σ_t ∂J/∂a(t) h(t−1)ᵀ
        dx = None
        if scatter:
            dU = np.ascontiguousarray(dUT.sum(axis=0).T)      # the slices' parts of ∂J/∂U
        elif tokens:
            dU = token_gradient(x, work, U.shape, dt)
        else:
            x2 = np.ascontiguousarray(x, dtype=dt).reshape(N, D)
            dU = threads.dot(dA2.T, x2, k)                 # Σ_t ∂J/∂a(t) x(t)ᵀ
            if need_dx:                                    # ∂J/∂x(t) = Uᵀ ∂J/∂a(t)
                dx = threads.dot(dA2, np.ascontiguousarray(U, dtype=dt), k).reshape(x.shape)
    if work is not dA:
        np.copyto(dA, work)
    return dx, dh0, dU, dW, db.sum(axis=0)
