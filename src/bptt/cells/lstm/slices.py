"""The LSTM's time loop split over batch slices, one thread each (float32, numba kernels).

Each slice runs the whole sequence on its own thread, in one numba kernel (`bptt.cells.slicing`
says why and holds what the cells share). `bptt.cells.lstm.fused` decides when to use it and does
the rest of the pass (the output layer and the loss, `bptt.cells.head`; ∂J/∂R and a lower layer's
errors after the slices join).

Dimension letters as in `bptt.cells.lstm.fused`; n a slice's rows. The layout is batch-major
throughout: the pass's arrays G (T, B, 4H) the gates, then ∂J/∂ĝ, Ys (T+1, B, H) = y(t), Cs
(T+1, B, H) = c(t) and TC (T, B, H) = tanh(c(t)) are shared, each slice reading and writing its
own rows b0..b0+n, so that one position's gates [z, i, f, o] are one contiguous row (the
pointwise equations run along rows), y(t−1)'s rows are the per-step product's left factor, and
the ∂J/∂ĝ rows are what ∂J/∂R, ∂J/∂b and ∂J/∂W sum: nothing is transposed or copied between
steps. (Feature-major steps, ĝ (4H, n), let the forward's product run up to 10 % faster, but
cost more than that in copies to and from batch-major rows: benchmarks/RESULTS.md, round 7.)

Per step, forward: the rows ĝ(t) = y(t−1) RTs, RTs = Rᵀ (H, 4H) built once a pass (its rows padded,
`PAD_ROW`), plus the row of the (D, 4H) table Wᵀ + b for a token id (or x(t) Wᵀ, then + b, for
float inputs); the i, f, o columns of RTs, of the table and of b are halved (`fused.fuse`), so that
σ(a) = σ(2 · ½a); a slice whose rows of y(−1) are all 0 skips the product at t = 0 (2 % of the
products at T50). Then the pointwise equations along the row, with `bptt.cells.tanh32` for tanh and
`bptt.cells.exp32` for σ (compiled with fused multiply-adds: `slicing.kernel_fma`), y(t) =
tanh(c(t)) ⊙ o(t). Backward: the error equations per row
(`bptt.cells.lstm.kernels.cell_backward_nb`), each row added to its token's row of ∂J/∂Wᵀ (whose
rows then sum to ∂J/∂b) or, for float inputs, to ∂J/∂b; then Σ_g R_gᵀ ∂J/∂ĝ(t) = ∂J/∂ĝ(t) [R_z;
R_i; R_f; R_o], read from the rows of [R | b]. The products call NumPy's own OpenBLAS
(`bptt.cells.cblas`) in blocks under its small-matrix bound (`forward_blocks`, `backward_blocks`),
OpenBLAS held to one thread while the slices run.

The numbers are the fused path's up to float32 rounding: tanh32 is within 1.5 ulp of tanh,
sigmoid32 within 3 ulp of σ, and some sums run in another order.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import kernels
from .. import aligned, cblas
from ..fastpath import SMALL_GEMM
from ..slicing import MIN_COLUMNS  # noqa: F401  (for readers)
from ..slicing import bounds, count as _count, inline, kernel, kernel_fma, run as _run
from ..exp32 import sigmoid32
from ..tanh32 import tanh32_inplace, tanh32_into

MIN_FLOPS = 6e7          # fewest GEMM flops of a layer's pass, 2·T·B·4H·(H+1)·3, for a slice per
                         # thread; below it one slice on the calling thread (2 threads, T50 B32,
                         # ms one slice / two, round 7: H32, 4.1e7 flops, 1.70 / 1.92; H40,
                         # 6.3e7, 2.17 / 1.95; H48, 9.0e7, 2.40 / 2.14)
FORWARD_CALL = 2 ** 19   # multiply-adds per call of the forward's products (n × K) @ (K × columns):
                         # OpenBLAS's small kernels run them fastest near half their bound (one
                         # core, AMD EPYC, H256, 50 steps, ms: n 32, 64 columns 8.3, 32: 10.2,
                         # 128 (over the bound): 14.6; n 16, 128 columns 4.1, 64: 5.5; n 8, 256
                         # columns 2.05, 64: 2.16)
_WIDEST = 256            # the backward's (n × 4H) @ (4H × H): up to 256 columns, in chunks of the
                         # sum under the bound (n 32, H256: chunks of 96, 7.8 ms; of 32, 10.1)
_ROW, _N = cblas.ROW_MAJOR, cblas.NO_TRANS
_ONE, _ZERO, _TWO = np.float32(1), np.float32(0), np.float32(2)
_SIZE = 4                # bytes of a float32
PAD_ROW = aligned.LINE   # bytes added to each row of Rᵀ and Wᵀ, whose 4H floats are a power of two
                         # of bytes at H = 2^m: the forward's products read a block of columns from
                         # every row, and rows 4 KiB apart fall into the same few cache sets (one
                         # core, H256, n 32, 50 steps of the products: 11.3 ms, padded 9.6-9.8)


# -- the kernels (numba, one slice each; plain Python without numba) ----------------------------
def _product(sgemm, a, lda, b, ldb, c, ldc, n, M, K, blocks, alpha, beta):
    """c (n, M) = alpha · a (n, K) @ b (K, M) + beta · c, row-major float32 at addresses a, b, c
    with leading dimensions lda, ldb, ldc, in blocks = (columns, terms of the sum) that keep each
    call under OpenBLAS's small-matrix bound."""
    cols, kc = blocks
    for c0 in range(0, M, cols):
        m = min(cols, M - c0)
        for k0 in range(0, K, kc):
            sgemm(_ROW, _N, _N, n, m, min(kc, K - k0), alpha, a + k0 * _SIZE, lda,
                  b + (k0 * ldb + c0) * _SIZE, ldb, beta if k0 == 0 else _ONE, c + c0 * _SIZE, ldc)


def _zero(rows) -> bool:
    """Whether every entry of rows (n, H) is 0 (a zero initial state: its product is 0)."""
    for j in range(rows.shape[0]):
        for q in range(rows.shape[1]):
            if rows[j, q] != 0:
                return False
    return True


def _row_tail(g, add, c_prev, c, tc, y):
    """One position's step after the product: g (4H,) = [ẑ; ½î; ½f̂; ½ô] without add (4H,) (the
    token's table row, or the bias) becomes the gate values; then c(t), tanh(c(t)) and y(t) =
    tanh(c(t)) ⊙ o(t), each a row (H,). One flat loop per operation over contiguous rows."""
    H = c.size
    for q in range(4 * H):
        g[q] += add[q]
    tanh32_inplace(g[:H])                                 # z(t) = tanh(ẑ)
    a = g[H:]
    for q in range(3 * H):
        a[q] = sigmoid32(_TWO * a[q])                     # i, f, o = σ(2 · ½â)
    for q in range(H):
        c[q] = g[q] * g[H + q] + c_prev[q] * g[2 * H + q]  # c(t) = z ⊙ i + c(t−1) ⊙ f
    tanh32_into(c, tc)
    for q in range(H):
        y[q] = tc[q] * g[3 * H + q]                       # y(t) = tanh(c(t)) ⊙ o(t)


def forward_ids(sgemm, RTs, table, ids, b0, n, G, Ys, Cs, TC, blocks):
    """The forward loop of rows b0..b0+n, token ids (T, B) (unsigned, in range): the rows ĝ(t) =
    y(t−1) RTs + row ids[t, b] of table (D, 4H); RTs (H, 4H) = [R_z; ½R_i; ½R_f; ½R_o]ᵀ, the
    table Wᵀ + b halved alike."""
    T, B, H4 = G.shape
    H = H4 // 4
    first = 1 if _zero(Ys[0, b0:b0 + n]) else 0        # y(−1) = 0: no product at t = 0
    if first:
        G[0, b0:b0 + n] = 0
    for t in range(T):
        if t >= first:
            _product(sgemm, Ys[t].ctypes.data + b0 * H * _SIZE, H, RTs.ctypes.data,
                     RTs.strides[0] // _SIZE, G[t].ctypes.data + b0 * H4 * _SIZE, H4, n, H4, H,
                     blocks, _ONE, _ZERO)
        for j in range(b0, b0 + n):
            _row_tail(G[t, j], table[ids[t, j]], Cs[t, j], Cs[t + 1, j], TC[t, j], Ys[t + 1, j])


def forward_x(sgemm, RTs, WsT, bs, x, b0, n, G, Ys, Cs, TC, blocks, blocks_x):
    """The forward loop of rows b0..b0+n, float inputs x (T, B, D): ĝ = x(t) WsT + y(t−1) RTs +
    bs, WsT (D, 4H) and bs (4H,) halved like RTs."""
    T, B, H4 = G.shape
    H, D = H4 // 4, x.shape[2]
    first = 1 if _zero(Ys[0, b0:b0 + n]) else 0        # y(−1) = 0: no product at t = 0
    for t in range(T):
        g = G[t].ctypes.data + b0 * H4 * _SIZE
        _product(sgemm, x[t].ctypes.data + b0 * D * _SIZE, D, WsT.ctypes.data,
                 WsT.strides[0] // _SIZE, g, H4, n, H4, D, blocks_x, _ONE, _ZERO)
        if t >= first:
            _product(sgemm, Ys[t].ctypes.data + b0 * H * _SIZE, H, RTs.ctypes.data,
                     RTs.strides[0] // _SIZE, g, H4, n, H4, H, blocks, _ONE, _ONE)
        for j in range(b0, b0 + n):
            _row_tail(G[t, j], bs, Cs[t, j], Cs[t + 1, j], TC[t, j], Ys[t + 1, j])


def backward(sgemm, Rbs, dY, b0, n, G, Cs, TC, dy_rec, carry, blocks, ids, dWT, db):
    """BPTT through rows b0..b0+n. dY (T, B, H): the outside errors. G's rows become ∂J/∂ĝ, summed
    for token ids (T, B) into the rows ids of the slice's dWT (D, 4H) (whose rows then sum to
    ∂J/∂b), else (ids empty) into its db (4H,). dy_rec, carry (n, H): zeros in; Σ_g R_gᵀ ∂J/∂ĝ(0)
    and the part of ∂J/∂c(−1) out. Σ_g R_gᵀ ∂J/∂ĝ(t) = ∂J/∂ĝ(t) [R_z; R_i; R_f; R_o], read from
    Rbs (4H, H+1) whose i, f, o rows are halved: the z rows with α = 1, the others α = 2 (exact)."""
    T, B, H4 = G.shape
    H, K = H4 // 4, Rbs.shape[1]
    tokens = ids.shape[0] > 0
    for t in range(T - 1, -1, -1):
        for j in range(n):
            g = G[t, b0 + j]
            kernels.cell_backward_nb(dy_rec[j], dY[t, b0 + j], g, TC[t, b0 + j], Cs[t, b0 + j],
                                     carry[j])
            if tokens:                                    # ∂J/∂b: the sum of dWT's rows, after
                w = dWT[ids[t, b0 + j]]
                for r in range(H4):
                    w[r] += g[r]
            else:
                for r in range(H4):
                    db[r] += g[r]
        g, R, out = G[t].ctypes.data + b0 * H4 * _SIZE, Rbs.ctypes.data, dy_rec.ctypes.data
        _product(sgemm, g, H4, R, K, out, H, n, H, H, blocks, _ONE, _ZERO)
        _product(sgemm, g + H * _SIZE, H4, R + H * K * _SIZE, K, out, H, n, H, 3 * H, blocks,
                 _TWO, _ONE)


def input_errors(sgemm, G, W, out, b0, n, blocks):
    """Rows b0..b0+n of out (T, B, D) = ∂J/∂ĝ(t) rows (G (T, B, 4H)) @ W (4H, D), per step."""
    T, B, H4 = G.shape
    D = W.shape[1]
    for t in range(T):
        _product(sgemm, G[t].ctypes.data + b0 * H4 * _SIZE, H4, W.ctypes.data, D,
                 out[t].ctypes.data + b0 * D * _SIZE, D, n, D, H4, blocks, _ONE, _ZERO)


_product, _row_tail, _zero = inline(_product), inline(_row_tail), inline(_zero)
forward_ids, forward_x = kernel_fma(forward_ids), kernel_fma(forward_x)
backward, input_errors = kernel(backward), kernel(input_errors)


# -- the driver ----------------------------------------------------------------------------------
def forward_blocks(n: int, M: int, K: int) -> tuple:
    """(columns, terms) per call of the forward's (n, K) @ (K, M) products: the sum in chunks of
    up to 256 terms, and as many columns, a multiple of 32, as keep n·columns·terms near
    FORWARD_CALL; (M, K), one call, when the whole product is under OpenBLAS's small-matrix bound
    or when even 32 columns and 32 terms are over FORWARD_CALL (many rows n: OpenBLAS's packing
    pays off), or where OpenBLAS has no small-matrix kernels (`bptt.cells.fastpath.SMALL_GEMM`)."""
    if n * M * K <= SMALL_GEMM or not cblas.SMALL_KERNELS:
        return M, K
    kc = min(K, 256)
    cols = FORWARD_CALL // (n * kc) // 32 * 32
    if cols < 32:
        cols, kc = 32, FORWARD_CALL // (n * 32) // 32 * 32
    return (M, K) if kc < 32 else (min(cols, M), kc)


def backward_blocks(n: int, H: int) -> tuple:
    """(columns, terms) per call of the backward's (n, 4H) @ (4H, H) product (its z and i, f, o
    parts, each a multiple of H terms): up to 256 columns, the sum in chunks of a multiple of 32
    terms under OpenBLAS's small-matrix bound; (H, H) when the part is under it or when chunks
    would sum fewer than 32 terms; (H, 3H), one call a part, where OpenBLAS has no small-matrix
    kernels (`bptt.cells.fastpath.SMALL_GEMM`)."""
    if not cblas.SMALL_KERNELS:
        return H, 3 * H
    if n * H * H <= SMALL_GEMM:
        return H, H
    cols = min(H, _WIDEST)
    kc = SMALL_GEMM // (n * cols) // 32 * 32
    return (H, H) if kc < 32 else (cols, min(kc, H))


def transposed(A, tile: int = 256) -> np.ndarray:
    """Aᵀ (Q, P), copied in tiles of tile × tile (Rbs[:, :H] at H256: 0.08 ms in gate blocks
    against 0.16 whole, whose rows are 1 KiB apart), its rows one cache line longer than P
    (`PAD_ROW`): a view of an aligned (Q, P + pad) buffer, contiguous along rows."""
    P, Q = A.shape
    out = aligned.empty((Q, P + PAD_ROW // A.itemsize), A.dtype)[:, :P]
    for p0 in range(0, P, tile):
        for q0 in range(0, Q, tile):
            np.copyto(out[q0:q0 + tile, p0:p0 + tile], A[p0:p0 + tile, q0:q0 + tile].T)
    return out


class SlicedPass(NamedTuple):
    """A layer's forward pass run in batch slices: what `bptt.cells.lstm.fused.LayerPass` offers
    its readers (x, Ys, Cs, G, fl), batch-major, each slice having written its own rows."""
    x: np.ndarray        # (T, B, D) or token ids (T, B)
    Ys: np.ndarray       # (T+1, B, H) y(−1), y(0), ..., y(T−1)
    Cs: np.ndarray       # (T+1, B, H) c(−1), c(0), ..., c(T−1)
    G: np.ndarray        # (T, B, 4H) the gates [z, i, f, o]; ∂J/∂ĝ after the backward
    TC: np.ndarray       # (T, B, H) tanh(c(t))
    slices: list         # [(b0, b1)] each slice's rows
    fl: object           # the layer's FusedLayer


def count(x, fl, jit: bool, slices=None) -> int:
    """How many slices a layer's pass runs in (`bptt.cells.slicing.count`): 0 for the fused path.
    jit False: no numba, or peepholes."""
    T, B = x.shape[:2]
    H = fl.Rbs.shape[1] - 1
    return _count(B, 2 * T * B * 4 * H * (H + 1) * 3, fl.Rbs.dtype, jit, slices, MIN_FLOPS)


def layer_forward(x, y0, c0, fl, k: int) -> SlicedPass:
    """One layer over all steps in k slices; x as `fused.layer_forward` takes it (token ids
    already checked), y0, c0 (B, H)."""
    sp, jobs = forward_jobs(x, y0, c0, fl, k)
    _run(jobs)
    return sp


def forward_jobs(x, y0, c0, fl, k: int):
    """(the SlicedPass its jobs will fill, [(kernel, args)] one per slice) for `layer_forward`:
    the buffers and Rᵀ, the table or Wᵀ built, nothing run. x need not hold its values yet (a
    lower layer's Ys[1:] that its own jobs fill first: `bptt.cells.lstm.pipeline`)."""
    T, B = x.shape[:2]
    H, dt = fl.Rbs.shape[1] - 1, fl.Rbs.dtype
    H4 = 4 * H
    Ys, Cs = aligned.empty((T + 1, B, H), dt), aligned.empty((T + 1, B, H), dt)
    Ys[0], Cs[0] = y0, c0
    G, TC = aligned.empty((T, B, H4), dt), aligned.empty((T, B, H), dt)
    RTs = transposed(fl.Rbs[:, :H])                                  # (H, 4H), i, f, o halved
    bs = np.ascontiguousarray(fl.Rbs[:, H])
    ids = x.dtype.kind in "iu"
    if ids:
        x = np.ascontiguousarray(x, dtype=np.uintp)
        table = np.add(fl.Ws.T, bs, out=aligned.empty((fl.Ws.shape[1], H4), dt))   # (D, 4H)
    else:
        x = np.ascontiguousarray(x, dtype=dt)
        WsT = transposed(fl.Ws)                                         # (D, 4H)
    edges, jobs = bounds(B, k), []
    for b0, b1 in edges:
        n = b1 - b0
        blk = forward_blocks(n, H4, H)
        if ids:
            jobs.append((forward_ids, (cblas.SGEMM, RTs, table, x, b0, n, G, Ys, Cs, TC, blk)))
        else:
            jobs.append((forward_x, (cblas.SGEMM, RTs, WsT, bs, x, b0, n, G, Ys, Cs, TC, blk,
                                     forward_blocks(n, H4, x.shape[2]))))
    return SlicedPass(x, Ys, Cs, G, TC, edges, fl), jobs


def layer_backward(dY, sp: SlicedPass, feature_major: bool):
    """BPTT through a sliced layer. dY (T, B, H), or (T, H, B) with feature_major.

    Returns (dG (T, B, 4H) the ∂J/∂ĝ rows (sp.G, overwritten), ∂J/∂y(−1), ∂J/∂c(−1) (B, H),
    ∂J/∂b (4H,), and ∂J/∂W (4H, D) for token ids, else None): the slices sum their parts of
    ∂J/∂b and of a token layer's ∂J/∂W as they go, on their threads — unless the k slices' (D, 4H)
    arrays would hold more entries than dG (k·D > T·B, a large vocabulary): then ∂J/∂W is None
    here, and summed once over dG's rows after the join (`fused.token_weight_gradient`)."""
    dY = np.ascontiguousarray(dY.transpose(0, 2, 1) if feature_major else dY, dtype=sp.G.dtype)
    jobs, finish = backward_jobs(dY, sp)
    _run(jobs)
    return finish()


def backward_jobs(dY, sp: SlicedPass):
    """([(kernel, args)] one per slice, finish) for `layer_backward`, dY (T, B, H) C-contiguous
    in the pass's dtype (its values may come later, from jobs run before these); finish() after
    the jobs sums the slices' parts and returns what `layer_backward` does."""
    T, B, H4 = sp.G.shape
    H, dt = H4 // 4, sp.G.dtype
    dy0, dc0 = aligned.zeros((B, H), dt), aligned.zeros((B, H), dt)
    D = sp.fl.Ws.shape[1]
    scatter = sp.x.dtype.kind in "iu" and len(sp.slices) * D <= T * B   # else after the join
    ids = sp.x if scatter else np.empty((0, 0), dtype=np.uintp)
    outs, jobs = [], []
    for b0, b1 in sp.slices:
        n = b1 - b0
        db, dWT = np.zeros(H4, dtype=dt), aligned.zeros((D if scatter else 0, H4), dt)
        outs.append((db, dWT))
        jobs.append((backward, (cblas.SGEMM, sp.fl.Rbs, dY, b0, n, sp.G, sp.Cs, sp.TC,
                                dy0[b0:b1], dc0[b0:b1], backward_blocks(n, H), ids,
                                dWT, db)))

    def finish():
        db, dWT = outs[0]                                # the slices' parts summed in place (a
        for part_db, part_dWT in outs[1:]:               # sum over a list of arrays stacks them
            db += part_db                                # first: 0.1-0.3 ms)
            dWT += part_dWT
        if not scatter:
            return sp.G, dy0, dc0, db, None
        dW = np.empty(dWT.shape[::-1], dtype=dt)
        kernels.transpose_nb(dWT, dW)                    # (4H, D): 0.09 ms at D65 H256, NumPy 0.19
        return sp.G, dy0, dc0, dWT.sum(axis=0), dW

    return jobs, finish


def input_error_jobs(sp: SlicedPass, out):
    """[(kernel, args)] one per slice: out (T, B, D) rows = Σ_g W_gᵀ ∂J/∂ĝ(t), the errors of the
    layer's input x(t), after the slice's BPTT (`bptt.cells.lstm.pipeline`)."""
    H4, D = sp.fl.W.shape
    return [(input_errors, (cblas.SGEMM, sp.G, sp.fl.W, out, b0, b1 - b0,
                            forward_blocks(b1 - b0, D, H4))) for b0, b1 in sp.slices]
