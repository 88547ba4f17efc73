"""The LSTM's time loop split over batch slices, one thread each (float32, numba kernels).

Each slice runs the whole sequence on its own thread, in one numba kernel (`bptt.cells.slicing`
says why and holds what the cells share). `bptt.cells.lstm.fused` decides when to use it and does
the rest of the pass (the output layer and the loss, `bptt.cells.head`; ∂J/∂R and a lower layer's
errors after the slices join).

Dimension letters as in `bptt.cells.lstm.fused`; n the slice's columns, K = H + 1. Each slice
owns contiguous feature-major buffers: G (T, 4H, n) the gates, then ∂J/∂ĝ; Y1 (T+1, K, n)
[y(t−1); 1] (the per-step product's right factor); C (T+1, H, n) the cells, C[0] = c(−1);
TC (T, H, n) tanh(c(t)). The slices write disjoint rows of the shared batch-major arrays Ys
(T+1, B, H) = y(t), Cs (T+1, B, H) = c(t) and dG (T, B, 4H) = ∂J/∂ĝ, which ∂J/∂R reads after
the join in one product split over the threads; each slice also sums its own part of ∂J/∂b and,
for token ids, of ∂J/∂W (added up after the join; for a vocabulary with k·D > T·B, ∂J/∂W is
instead one scatter over dG's rows after the join).

Per step, forward: ĝ = [R | b] [y(t−1); 1] (+ W x(t) for float inputs, or the table's columns
for token ids), the pointwise equations with `bptt.cells.tanh32` for tanh and
`bptt.cells.exp32` for σ, y(t) = tanh(c(t)) ⊙ o(t). Backward: the error equations, then
Σ_g R_gᵀ ∂J/∂ĝ(t), read from [R | b] transposed (no Rᵀ is built). The products call NumPy's
own OpenBLAS (`bptt.cells.cblas`) in row blocks under its small-matrix bound, OpenBLAS held to
one thread while the slices run.

The numbers are the fused path's up to float32 rounding: tanh32 is within 1.5 ulp of tanh,
sigmoid32 within 3 ulp of σ, and some sums run in another order.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import kernels
from .. import cblas
from ..slicing import MIN_COLUMNS, bounds, inline, kernel  # noqa: F401  (MIN_COLUMNS: for readers)
from ..slicing import count as _count, gemm as _gemm, rows as _rows, run as _run
from ..exp32 import sigmoid32
from ..tanh32 import tanh32_inplace, tanh32_into

MIN_FLOPS = 6e7          # fewest GEMM flops of a layer's pass, 2·T·B·4H·(H+1)·3, for a slice per
                         # thread; below it one slice on the calling thread (2 threads, T50 B32,
                         # ms one slice / two: H32, 4.1e7 flops, 1.59 / 1.65; H40, 6.4e7,
                         # 2.06 / 1.84; H48, 9.0e7, 2.52 / 2.32; H96, 3.6e8, 7.03 / 3.97)
_ROW, _N, _T = cblas.ROW_MAJOR, cblas.NO_TRANS, cblas.TRANS
_ONE, _ZERO = np.float32(1), np.float32(0)
_TWO = np.float32(2)


# -- the kernels (numba, one slice each; plain Python without numba) ----------------------------
def _tail(g, c_prev, c, tc, y1, ys, cs, b0):
    """After ĝ (4H, n) = [ẑ; ½î; ½f̂; ½ô]: the gate values, c(t), tanh(c(t)), y(t) into y1's first
    H rows, and y(t), c(t) into the rows b0.. of the batch-major ys, cs (B, H). One flat loop per
    operation: a loop over several arrays that LLVM cannot prove apart runs scalar."""
    H, n = c.shape
    m = H * n
    gf = g.reshape(-1)
    tanh32_inplace(gf[:m])                                # z(t) = tanh(ẑ)
    _sigmoid_twice(gf[m:])                                # i, f, o = σ(2 · ½â)
    cf, cp, tcf, yf = c.reshape(-1), c_prev.reshape(-1), tc.reshape(-1), y1.reshape(-1)
    for k in range(m):
        cf[k] = gf[k] * gf[m + k] + cp[k] * gf[2 * m + k]  # c(t) = z ⊙ i + c(t−1) ⊙ f
    tanh32_into(cf, tcf)
    o0 = 3 * m
    for k in range(m):
        yf[k] = tcf[k] * gf[o0 + k]                       # y(t) = tanh(c(t)) ⊙ o(t)
    for j in range(n):
        for h in range(H):
            ys[b0 + j, h] = yf[h * n + j]
            cs[b0 + j, h] = cf[h * n + j]


def _sigmoid_twice(a):
    """a[k] = σ(2 a[k]) over a flat float32 array: the gates i, f, o from their halved
    pre-activations (`bptt.cells.lstm.fused.fuse` halves them for the tanh form of σ)."""
    for k in range(a.size):
        a[k] = sigmoid32(_TWO * a[k])


def forward_ids(sgemm, Rbs, tableT, ids, b0, G, Y1, C, TC, Ys, Cs, rows):
    """The forward loop of one slice, token ids (T, n) (unsigned, in range): ĝ = [R | b][y; 1]
    + the columns ids[t] of tableT (4H, D)."""
    T, H4, n = G.shape
    for t in range(T):
        g = G[t]
        _gemm(sgemm, Rbs, Y1[t], g, rows, _ZERO)
        it = ids[t]
        for r in range(H4):
            gr, tr = g[r], tableT[r]
            for j in range(n):
                gr[j] += tr[it[j]]                        # unsigned ids: no wrap-around test
        _tail(g, C[t], C[t + 1], TC[t], Y1[t + 1], Ys[t + 1], Cs[t + 1], b0)


def forward_x(sgemm, Rbs, Ws, x, b0, G, Y1, C, TC, Ys, Cs, rows, rows_x):
    """The forward loop of one slice, float inputs x (T, B, D) (its columns b0..b0+n): ĝ =
    [R | b][y; 1] + Ws x(t), Ws (4H, D)."""
    T, H4, n = G.shape
    B, D = x.shape[1], x.shape[2]
    size = x.itemsize
    for t in range(T):
        g = G[t]
        _gemm(sgemm, Rbs, Y1[t], g, rows, _ZERO)
        xt = x.ctypes.data + (t * B + b0) * D * size      # x(t) rows b0.., read transposed
        for r0 in range(0, H4, rows_x):
            m = min(rows_x, H4 - r0)
            sgemm(_ROW, _N, _T, m, n, D, _ONE, Ws.ctypes.data + r0 * D * size, D, xt, D, _ONE,
                  g.ctypes.data + r0 * n * size, n)
        _tail(g, C[t], C[t + 1], TC[t], Y1[t + 1], Ys[t + 1], Cs[t + 1], b0)


def _recurrent_errors(sgemm, Rbs, g, out, rows):
    """out (H, n) = Σ_g R_gᵀ ∂J/∂ĝ(t) from Rbs (4H, H+1), whose i, f, o rows are halved: its
    first H columns read transposed, in blocks of `rows` rows of out, the z part with α = 1 and
    the i, f, o part with α = 2 (exact), so no Rᵀ is built (as fast as a product by a contiguous
    Rᵀ in OpenBLAS's small-matrix kernels: 7.4 ms for the 50 steps at H256 n32, one core)."""
    H, n = out.shape
    K = Rbs.shape[1]
    size = g.itemsize
    a, gz, gifo, o = Rbs.ctypes.data, g.ctypes.data, g.ctypes.data + H * n * size, out.ctypes.data
    for r0 in range(0, H, rows):
        m = min(rows, H - r0)
        sgemm(_ROW, _T, _N, m, n, H, _ONE, a + r0 * size, K, gz, n, _ZERO, o + r0 * n * size, n)
        sgemm(_ROW, _T, _N, m, n, 3 * H, _TWO, a + (H * K + r0) * size, K, gifo, n, _ONE,
              o + r0 * n * size, n)


def backward(sgemm, Rbs, dY, feature_major, b0, G, C, TC, dG, dy_rec, carry, dy_out, rows, ids,
             dWT, db):
    """BPTT through one slice. dY: the outside errors, (T, H, B) with feature_major, else
    (T, B, H). G becomes ∂J/∂ĝ, copied into dG's rows (T, B, 4H) and summed into the slice's
    db (4H,) and, for token ids (T, n) (else an empty array), into the rows ids of its dWT
    (D, 4H): its part of ∂J/∂b and ∂J/∂Wᵀ. dy_rec, carry (H, n): zeros in, Σ_g R_gᵀ ∂J/∂ĝ(0) and
    the part of ∂J/∂c(−1) out. dy_out (H, n): scratch."""
    T, H4, n = G.shape
    H = H4 // 4
    tokens = ids.shape[0] > 0
    for t in range(T - 1, -1, -1):
        if feature_major:
            for h in range(H):
                for j in range(n):
                    dy_out[h, j] = dY[t, h, b0 + j]
        else:
            for j in range(n):
                for h in range(H):
                    dy_out[h, j] = dY[t, b0 + j, h]
        g = G[t]
        kernels.cell_backward_nb(dy_rec, dy_out, g, TC[t], C[t], carry)
        _recurrent_errors(sgemm, Rbs, g, dy_rec, rows)    # Σ_g R_gᵀ ∂J/∂ĝ(t)   (H, 4H) @ (4H, n)
        rows_t = dG[t]
        for r0 in range(0, H4, 16):                       # g transposed into dG's rows in tiles
            r1 = min(r0 + 16, H4)                         # of 16 gate rows: 0.13 ms a pass less
            for j in range(n):                            # than whole columns (T50 B32 H256)
                row = rows_t[b0 + j]
                for r in range(r0, r1):
                    row[r] = g[r, j]
        for j in range(n):
            row = rows_t[b0 + j]
            for r in range(H4):
                db[r] += row[r]
            if tokens:
                w = dWT[ids[t, j]]
                for r in range(H4):
                    w[r] += row[r]


_tail, _sigmoid_twice = inline(_tail), inline(_sigmoid_twice)
_recurrent_errors = inline(_recurrent_errors)
forward_ids, forward_x, backward = kernel(forward_ids), kernel(forward_x), kernel(backward)


# -- the driver ----------------------------------------------------------------------------------
class Slice(NamedTuple):
    b0: int
    G: np.ndarray        # (T, 4H, n) the gates, then ∂J/∂ĝ after backward
    C: np.ndarray        # (T+1, H, n)
    TC: np.ndarray       # (T, H, n)
    ids: np.ndarray      # (T, n) the slice's token ids (unsigned), or (0, 0) for float inputs


class SlicedPass(NamedTuple):
    """A layer's forward pass run in batch slices: what `bptt.cells.lstm.fused.LayerPass` offers
    its readers (x, Ys, Cs, G, fl), and the slices' buffers for the backward."""
    x: np.ndarray        # (T, B, D) or token ids (T, B)
    Ys: np.ndarray       # (T+1, B, H) y(−1), y(0), ..., y(T−1)
    Cs: np.ndarray       # (T+1, B, H) c(−1), c(0), ..., c(T−1)
    slices: list
    fl: object           # the layer's FusedLayer

    @property
    def G(self) -> np.ndarray:
        """(T, B, 4H) the gates [z, i, f, o] (the slices' joined, a copy)."""
        return np.concatenate([s.G.transpose(0, 2, 1) for s in self.slices], axis=1)


def count(x, fl, jit: bool, slices=None) -> int:
    """How many slices a layer's pass runs in (`bptt.cells.slicing.count`): 0 for the fused path.
    jit False: no numba, or peepholes."""
    T, B = x.shape[:2]
    H = fl.Rbs.shape[1] - 1
    return _count(B, 2 * T * B * 4 * H * (H + 1) * 3, fl.Rbs.dtype, jit, slices, MIN_FLOPS)


def layer_forward(x, y0, c0, fl, k: int) -> SlicedPass:
    """One layer over all steps in k slices; x as `fused.layer_forward` takes it (token ids
    already checked), y0, c0 (B, H)."""
    T, B = x.shape[:2]
    H, dt = fl.Rbs.shape[1] - 1, fl.Rbs.dtype
    K = H + 1
    Ys, Cs = np.empty((T + 1, B, H), dtype=dt), np.empty((T + 1, B, H), dtype=dt)
    Ys[0], Cs[0] = y0, c0
    ids = x.dtype.kind in "iu"
    Ws = fl.Ws                                                     # (4H, D), i, f, o halved
    if not ids:
        x = np.ascontiguousarray(x, dtype=dt)
    slices, jobs = [], []
    for b0, b1 in bounds(B, k):
        n = b1 - b0
        G = np.empty((T, 4 * H, n), dtype=dt)
        Y1 = np.empty((T + 1, K, n), dtype=dt)
        Y1[:, H] = 1
        Y1[0, :H] = y0[b0:b1].T
        C = np.empty((T + 1, H, n), dtype=dt)
        C[0] = c0[b0:b1].T
        TC = np.empty((T, H, n), dtype=dt)
        it = np.ascontiguousarray(x[:, b0:b1], dtype=np.uintp) if ids else np.empty((0, 0), np.uintp)
        slices.append(Slice(b0, G, C, TC, it))
        rows = _rows(4 * H, K, n)
        if ids:
            jobs.append((forward_ids, (cblas.SGEMM, fl.Rbs, Ws, it, b0, G, Y1, C, TC, Ys, Cs, rows)))
        else:
            rows_x = _rows(4 * H, x.shape[2], n)
            jobs.append((forward_x, (cblas.SGEMM, fl.Rbs, Ws, x, b0, G, Y1, C, TC, Ys, Cs, rows,
                                     rows_x)))
    _run(jobs)
    return SlicedPass(x, Ys, Cs, slices, fl)


def layer_backward(dY, sp: SlicedPass, feature_major: bool):
    """BPTT through a sliced layer. dY (T, B, H), or (T, H, B) with feature_major.

    Returns (dG (T, B, 4H) the ∂J/∂ĝ rows, ∂J/∂y(−1), ∂J/∂c(−1) (B, H), ∂J/∂b (4H,), and ∂J/∂W
    (4H, D) for token ids, else None): the slices sum their parts of ∂J/∂b and of a token
    layer's ∂J/∂W as they go, on their threads — unless the k slices' (D, 4H) arrays would hold
    more entries than dG (k·D > T·B, a large vocabulary): then ∂J/∂W is None here, and summed
    once over dG's rows after the join (`fused.token_weight_gradient`)."""
    T, B, H = sp.Ys.shape[0] - 1, sp.Ys.shape[1], sp.Ys.shape[2]
    dt = sp.Ys.dtype
    dY = np.ascontiguousarray(dY, dtype=dt)
    dG = np.empty((T, B, 4 * H), dtype=dt)
    dy0, dc0 = np.empty((B, H), dtype=dt), np.empty((B, H), dtype=dt)
    D = sp.fl.Ws.shape[1]
    scatter = sp.x.dtype.kind in "iu" and len(sp.slices) * D <= T * B   # else after the join
    no_ids = np.empty((0, 0), dtype=np.uintp)
    outs, jobs = [], []
    for s in sp.slices:
        n = s.G.shape[2]
        dy_rec, carry = np.zeros((H, n), dtype=dt), np.zeros((H, n), dtype=dt)
        db, dWT = np.zeros(4 * H, dtype=dt), np.zeros((D if scatter else 0, 4 * H), dtype=dt)
        outs.append((s.b0, dy_rec, carry, db, dWT))
        jobs.append((backward, (cblas.SGEMM, sp.fl.Rbs, dY, feature_major, s.b0, s.G, s.C, s.TC, dG,
                                dy_rec, carry, np.empty((H, n), dtype=dt), _rows(H, 4 * H, n),
                                s.ids if scatter else no_ids, dWT, db)))
    _run(jobs)
    for b0, dy_rec, carry, _, _ in outs:
        dy0[b0:b0 + dy_rec.shape[1]] = dy_rec.T
        dc0[b0:b0 + carry.shape[1]] = carry.T
    db = np.sum([o[3] for o in outs], axis=0, dtype=dt)
    dW = np.ascontiguousarray(np.sum([o[4] for o in outs], axis=0, dtype=dt).T) if scatter else None
    return dG, dy0, dc0, db, dW
