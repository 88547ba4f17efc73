"""The GRU's time loop split over batch slices, one thread each (float32, numba kernels).

Each slice runs the whole sequence on its own thread, in one numba kernel (`bptt.cells.slicing`
says why and holds what the cells share). `bptt.cells.gru.fused` decides when to use it and does
the rest of the pass (the output layer and the loss, `bptt.cells.head`); the weight gradients
are computed here after the slices join, as products split over bptt's threads
(`bptt.cells.threads.dot`). Both reset placements run sliced.

Dimension letters as in `bptt.cells.gru.fused`; n the slice's columns, HG = 4H (reset="after":
rows [n; r; z; ĥn]) or 3H ("before": [n; r; z]). Each slice owns contiguous feature-major
buffers: G (T, HG, n) the gate values, then their errors; H1 (T+1, H+1, n) [h(t−1); 1] (the
per-step product's right factor), H1[0] = h(−1); RH (T, H, n) r(t) ⊙ h(t−1) ("before"). The
slices write disjoint parts of the shared arrays Hs (T+1, B, H) = h(t), RHs (T, B, H)
= r(t) ⊙ h(t−1) ("before") (batch-major) and dG (HG, T, B) = the errors, which the weight
gradients read after the join; each slice also sums its own part of ∂J/∂b (with ∂J/∂b_hn) and,
for token ids, of ∂J/∂U (a scatter-add into its own (D, 3H) array), added up after the join —
unless the k slices' arrays would hold more entries than dG (k·D > T·B, a large vocabulary):
then ∂J/∂U is one sorted segment sum over all positions after the join.
(The scatter-add costs 0.7 ms of one slice's backward at T50 B32 H256; the fused path's sorted
segment sum after the join would take 1.3 ms on one thread.)

dG is feature-major, each slice writing its columns of every row per step, so that the weight
gradients after the join are products of contiguous rows: batch-major (N, 4H) rows read as a
transposed view multiply at half the rate (rows 4 KiB apart): ∂J/∂W's (768, 1600) @ (1600, 256)
took 12.9 ms that way against 6.4 ms from contiguous rows, one thread.

Per step, forward: [½r̂; ½ẑ (; ĥn)] = Rs [h(t−1); 1] (fused.py's Rs, b_hn riding in the GEMM);
plus the input side: for token ids the columns ids[t] of the (3H, D) table [U_n; ½U_r; ½U_z] + b,
looked up row by row; for float inputs the slice's columns of XP (T, B, 3H) = U x(t) (r, z
halved), one product for all steps before the loop split over the threads, plus b. (A product
per step inside the kernels instead, as the LSTM's: 9.4–9.7 ms against 8.2–8.7 ms for a layer's
forward at D = H = 256, the input of a second layer; 5.6 against 6.0 ms at D = 65; T50 B32 H256,
2 slices, 2 threads.) Then r, z = σ(2 · ½â), n = tanh(r ⊙ ĥn + n̂'s input part)
(reset="before": r(t) ⊙ h(t−1), then the (H, H) product W_n (r ⊙ h(t−1)) added into n̂),
h(t) = n + z ⊙ (h(t−1) − n), with `bptt.cells.tanh32` and `bptt.cells.exp32`'s σ, each a loop
over a flat view of one
(H, n) block: a loop storing at an offset index (g[Hn + k]) does not vectorize (r and z, 50
steps at H256 B32: 9.3 ms against 0.5 ms).
Backward: the error equations of `fused.layer_backward`, in the same order, then the recurrent
product Σ Wᵀ [∂J/∂r̂; ∂J/∂ẑ (; ∂J/∂ĥn)] ("before": W_nᵀ ∂J/∂n̂ first). The products call NumPy's
own OpenBLAS (`bptt.cells.cblas`) in row blocks under its small-matrix bound, OpenBLAS held to
one thread for the whole layer (also when `bptt.cells.directions` calls it alone).

The numbers are the fused path's up to float32 rounding: tanh32 is within 1.5 ulp of tanh,
sigmoid32 within 3 ulp of σ, and some sums run in another order.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from .. import cblas, threads
from ..fastpath import token_gradient
from ..jit import AVAILABLE  # noqa: F401  (read by fused.py: the kernels' switch, BPTT_NUMBA=0)
from ..slicing import MIN_COLUMNS, bounds, kernel  # noqa: F401  (MIN_COLUMNS: for readers)
from ..slicing import count as _count, gemm as _gemm, rows as _rows, run as _run
from ..exp32 import sigmoid32
from ..tanh32 import tanh32

MIN_FLOPS = 4e7          # fewest GEMM flops of a layer's pass, 2·T·B·3H·(H+1)·3, for a slice per
                         # thread; below it one slice runs on the calling thread, which beats two
                         # on small passes (2 threads, T50 B32, tokens, loss_and_grads, ms one
                         # slice / two): H20, 1.2e7 flops, 0.93 / 1.29; H40, 4.7e7, 1.69 / 1.38;
                         # H48, 6.8e7, 2.08 / 2.15; H56, 9.2e7, 2.46 / 1.71; T10 H96, 5.4e7,
                         # 1.17 / 1.27. (Round 5's 1e7 was set against the fused loop, which one
                         # slice now replaces.)
_ONE, _ZERO, _TWO = np.float32(1), np.float32(0), np.float32(2)
INPUT_ORDER = ("n", "r", "z")       # fused.py's row blocks of the input side


# -- the kernels (numba, one slice each; plain Python without numba) ----------------------------
def forward(sgemm, Rs, Wn, tableT, ids, XP, bias, b0, G, H1, RH, Hs, RHs, rows, rows_n):
    """The forward loop of one slice (columns b0..b0+n of the batch). Token ids (T, n) unsigned,
    in range, with tableT (3H, D) (bias included); or float inputs: XP (T, B, 3H) the input
    products and bias (3H,) (the other pair empty). Rs, Wn as in `fused.FusedLayer` (Wn empty for
    reset="after"); RH, RHs empty for "after"."""
    T, HG, n = G.shape
    H = H1.shape[1] - 1
    Hn = H * n
    after = HG == 4 * H
    K = Rs.shape[1]                                       # H + 1 (after) or H (before)
    for t in range(T):
        g = G[t]
        gf, hp, hf = g.reshape(-1), H1[t].reshape(-1), H1[t + 1].reshape(-1)
        _gemm(sgemm, Rs, H1[t][:K], g[H:], rows, _ZERO)   # [½W_r h; ½W_z h (; W_n h + b_hn)]
        if ids.shape[0] > 0:
            it = ids[t]
            for r in range(H):
                gr, tr = g[r], tableT[r]
                for j in range(n):
                    gr[j] = tr[it[j]]                     # U_n x(t) + b_n
            for r in range(H, 3 * H):
                gr, tr = g[r], tableT[r]
                for j in range(n):
                    gr[j] += tr[it[j]]                    # + ½(U_r x(t) + b_r), ½(U_z x(t) + b_z)
        else:
            for j in range(n):
                xp = XP[t, b0 + j]
                for r in range(H):
                    g[r, j] = xp[r] + bias[r]
                for r in range(H, 3 * H):
                    g[r, j] += xp[r] + bias[r]
        nf, rf, rz = gf[:Hn], gf[Hn:2 * Hn], gf[Hn:3 * Hn]   # flat views (module docstring)
        for k in range(2 * Hn):
            rz[k] = sigmoid32(_TWO * rz[k])               # r(t), z(t) = σ(2 · ½a)
        if after:
            hn = gf[3 * Hn:]
            for k in range(Hn):
                nf[k] = tanh32(rf[k] * hn[k] + nf[k])     # n = tanh(r ⊙ ĥn + U_n x + b_n)
        else:
            rh = RH[t].reshape(-1)
            for k in range(Hn):
                rh[k] = rf[k] * hp[k]                     # r(t) ⊙ h(t−1)
            _gemm(sgemm, Wn, RH[t], g[:H], rows_n, _ONE)  # + W_n (r ⊙ h(t−1))
            for k in range(Hn):
                nf[k] = tanh32(nf[k])                     # n(t)
            for j in range(n):
                for h in range(H):
                    RHs[t, b0 + j, h] = rh[h * n + j]
        zf = gf[2 * Hn:3 * Hn]
        for k in range(Hn):
            nv = nf[k]
            hf[k] = nv + (hp[k] - nv) * zf[k]             # h(t) = n + z ⊙ (h(t−1) − n)
        for j in range(n):
            for h in range(H):
                Hs[t + 1, b0 + j, h] = hf[h * n + j]


def backward(sgemm, RT, WnT, dY, b0, G, H1, dG, dh_rec, q, dy_out, rows, rows_n, ids, dUT, db):
    """BPTT through one slice. dY (T, B, H): the outside errors. G becomes the errors
    [∂J/∂n̂; ∂J/∂r̂; ∂J/∂ẑ (; ∂J/∂ĥn)], copied into the slice's columns of dG (HG, T, B) and
    summed into the slice's db (HG,) and, for token ids (T, n) (else empty), into the rows ids
    of its dUT (D, 3H).
    dh_rec (H, n): zeros in, the recurrent part of ∂J/∂h(−1) out. q, dy_out (H, n): scratch."""
    T, HG, n = G.shape
    H = dh_rec.shape[0]
    Hn = H * n
    after = HG == 4 * H
    tokens = ids.shape[0] > 0
    dr, qf, dyf = dh_rec.reshape(-1), q.reshape(-1), dy_out.reshape(-1)
    for t in range(T - 1, -1, -1):
        for j in range(n):
            for h in range(H):
                dy_out[h, j] = dY[t, b0 + j, h]
        g = G[t]
        gf, hp = g.reshape(-1), H1[t].reshape(-1)
        nf, rf, zf = gf[:Hn], gf[Hn:2 * Hn], gf[2 * Hn:3 * Hn]   # flat views (see forward)
        for k in range(Hn):
            nv, z = nf[k], zf[k]
            a = dr[k] + dyf[k]                            # ∂J/∂h(t) = [from step t+1] + [outside]
            dhz = a * z                                   # z ⊙ ∂J/∂h: the direct path to h(t−1)
            w = (hp[k] - nv) * a                          # ∂J/∂z = ∂J/∂h ⊙ (h(t−1) − n)
            u = w * z
            zf[k] = u - u * z                             # ∂J/∂ẑ = ∂J/∂z ⊙ z(1 − z)
            a = a - dhz                                   # ∂J/∂n = ∂J/∂h ⊙ (1 − z)
            u = a * nv
            nf[k] = a - u * nv                            # ∂J/∂n̂ = ∂J/∂n ⊙ (1 − n²)
            dr[k] = dhz
        if after:
            hn = gf[3 * Hn:]
            for k in range(Hn):
                dn, rv = nf[k], rf[k]
                v = dn * hn[k] * rv                       # ∂J/∂r = ∂J/∂n̂ ⊙ ĥn, times r
                hn[k] = dn * rv                           # ∂J/∂ĥn = r ⊙ ∂J/∂n̂
                rf[k] = v - v * rv                        # ∂J/∂r̂ = ∂J/∂r ⊙ r(1 − r)
        else:
            _gemm(sgemm, WnT, g[:H], q, rows_n, _ZERO)    # q = W_nᵀ ∂J/∂n̂
            for k in range(Hn):
                rv = rf[k]
                dr[k] += qf[k] * rv                       # + r ⊙ q
                v = qf[k] * hp[k] * rv                    # ∂J/∂r = q ⊙ h(t−1), times r
                rf[k] = v - v * rv                        # ∂J/∂r̂ = ∂J/∂r ⊙ r(1 − r)
        _gemm(sgemm, RT, g[H:], dh_rec, rows, _ONE)       # + W_rᵀ ∂J/∂r̂ + W_zᵀ ∂J/∂ẑ (+ W_nᵀ ∂J/∂ĥn)
        for r in range(HG):
            gr, dst = g[r], dG[r, t]
            s = _ZERO
            for j in range(n):
                dst[b0 + j] = gr[j]                       # the slice's columns of dG's row r
                s += gr[j]
            db[r] += s
        if tokens:
            for j in range(n):
                du = dUT[ids[t, j]]
                for r in range(3 * H):
                    du[r] += g[r, j]


forward, backward = kernel(forward), kernel(backward)


# -- the driver ----------------------------------------------------------------------------------
class Slice(NamedTuple):
    b0: int
    G: np.ndarray        # (T, HG, n) the gate values, then the errors after backward
    H1: np.ndarray       # (T+1, H+1, n) [h(t−1); 1]
    ids: np.ndarray      # (T, n) the slice's token ids (unsigned), or (0, 0) for float inputs


class SlicedPass(NamedTuple):
    """A layer's forward pass run in batch slices: what `bptt.cells.gru.fused.LayerPass` offers
    its readers (x, Hs, gate, fl), and the slices' buffers for the backward."""
    x: np.ndarray        # (T, B, D) or token ids (T, B)
    Hs: np.ndarray       # (T+1, B, H) h(−1), h(0), ..., h(T−1)
    RHs: Optional[np.ndarray]   # (T, B, H) r(t) ⊙ h(t−1) (reset="before"), else None
    slices: list
    fl: object           # the layer's FusedLayer

    def gate(self, g: str) -> np.ndarray:
        """(T, B, H) the values of gate g ∈ "r", "z", "n" (the slices' joined, a copy)."""
        k, H = INPUT_ORDER.index(g), self.Hs.shape[2]
        return np.concatenate([s.G[:, k * H:(k + 1) * H].transpose(0, 2, 1) for s in self.slices],
                              axis=1)


def count(x, fl, jit: bool, slices=None) -> int:
    """How many slices a layer's pass runs in (`bptt.cells.slicing.count`): 0 for the fused path.
    jit False: no numba (BPTT_NUMBA=0)."""
    T, B = x.shape[:2]
    H = fl.RT.shape[0]
    return _count(B, 2 * T * B * 3 * H * (H + 1) * 3, fl.RT.dtype, jit, slices, MIN_FLOPS)


def _empty(*shape, dtype=np.float32):
    return np.empty(shape, dtype=dtype)


def layer_forward(x, h0, fl, k: int) -> SlicedPass:
    """One layer over all steps in k slices from h(−1) = h0 (B, H); x (T, B, D) or token ids (T, B),
    each in [0, D) (IndexError otherwise: the kernels read the table unchecked)."""
    T, B = x.shape[:2]
    H, dt = fl.RT.shape[0], fl.RT.dtype
    D = fl.U.shape[1]
    after = fl.reset == "after"
    HG = 4 * H if after else 3 * H
    tokens = x.dtype.kind in "iu"
    if tokens and x.size and (x.min() < 0 or x.max() >= D):
        raise IndexError(f"token ids must lie in [0, {D}). Got {x.min()} to {x.max()}.")
    Hs = np.empty((T + 1, B, H), dtype=dt)
    Hs[0] = h0
    RHs = _empty(0, 0, 0, dtype=dt) if after else np.empty((T, B, H), dtype=dt)
    Rs = np.ascontiguousarray(fl.Rs)
    Wn = _empty(0, 0, dtype=dt) if after else np.ascontiguousarray(fl.Wn)
    with cblas.one_thread():
        if tokens:
            tableT = np.ascontiguousarray((fl.table + fl.bias).T)   # [U_n; ½U_r; ½U_z] + b  (3H, D)
            XP, bias = _empty(0, 0, 0, dtype=dt), _empty(0, dtype=dt)
        else:
            x = np.ascontiguousarray(x, dtype=dt)
            tableT, bias = _empty(0, 0, dtype=dt), fl.bias
            XP = threads.dot(x.reshape(T * B, D), fl.table, k).reshape(T, B, 3 * H)   # U x(t), all t
        slices, jobs = [], []
        for b0, b1 in bounds(B, k):
            n = b1 - b0
            G = np.empty((T, HG, n), dtype=dt)
            H1 = np.empty((T + 1, H + 1, n), dtype=dt)
            H1[:, H] = 1
            H1[0, :H] = h0[b0:b1].T
            RH = _empty(0, 0, 0, dtype=dt) if after else np.empty((T, H, n), dtype=dt)
            it = (np.ascontiguousarray(x[:, b0:b1], dtype=np.uintp) if tokens else
                  _empty(0, 0, dtype=np.uintp))
            slices.append(Slice(b0, G, H1, it))
            jobs.append((forward, (cblas.SGEMM, Rs, Wn, tableT, it, XP, bias, b0, G, H1, RH, Hs,
                                   RHs, _rows(Rs.shape[0], Rs.shape[1], n), _rows(H, H, n))))
        _run(jobs)
    return SlicedPass(x, Hs, None if after else RHs, slices, fl)


def layer_backward(dY, sp: SlicedPass):
    """BPTT through a sliced layer. dY (T, B, H): the errors reaching h(t) from outside.

    Returns what `fused.layer_backward` does: (dGin (3H, N) [∂J/∂n̂; ∂J/∂r̂; ∂J/∂ẑ], one column
    per position (t, b), contiguous rows, ∂J/∂h(−1) (B, H), grads under the
    layer's plain names). The slices sum their parts of ∂J/∂b and of a token layer's ∂J/∂U as they
    go; ∂J/∂W (and ∂J/∂U for float inputs) are products over all positions split over the
    slices' threads."""
    fl, Hs = sp.fl, sp.Hs
    T, B, H = Hs.shape[0] - 1, Hs.shape[1], Hs.shape[2]
    N, dt, k = T * B, Hs.dtype, len(sp.slices)
    after = fl.reset == "after"
    HG = 4 * H if after else 3 * H
    tokens = sp.x.dtype.kind in "iu"
    D = fl.U.shape[1]
    scatter = tokens and k * D <= N          # the slices' (D, 3H) arrays no larger than dG, else
    no_ids = np.empty((0, 0), dtype=np.uintp)   # ∂J/∂U once over all positions after the join
    dY = np.ascontiguousarray(dY, dtype=dt)
    RT = np.ascontiguousarray(fl.RT)
    WnT = _empty(0, 0, dtype=dt) if after else np.ascontiguousarray(fl.WnT)
    dG = np.empty((HG, T, B), dtype=dt)
    dh0 = np.empty((B, H), dtype=dt)
    with cblas.one_thread():
        outs, jobs = [], []
        for s in sp.slices:
            n = s.G.shape[2]
            dh_rec, db = np.zeros((H, n), dtype=dt), np.zeros(HG, dtype=dt)
            dUT = np.zeros((D if scatter else 0, 3 * H), dtype=dt)
            outs.append((s.b0, dh_rec, db, dUT))
            jobs.append((backward, (cblas.SGEMM, RT, WnT, dY, s.b0, s.G, s.H1, dG, dh_rec,
                                    _empty(H, n, dtype=dt), _empty(H, n, dtype=dt),
                                    _rows(H, RT.shape[1], n), _rows(H, H, n),
                                    s.ids if scatter else no_ids, dUT, db)))
        _run(jobs)
        for b0, dh_rec, _, _ in outs:
            dh0[b0:b0 + dh_rec.shape[1]] = dh_rec.T
        dG = dG.reshape(HG, N)                                        # all positions     (HG, N)
        dGin = dG[:3 * H]                                             # [n; r; z]         (3H, N)
        db = np.sum([o[2] for o in outs], axis=0, dtype=dt)
        if scatter:
            dU = np.ascontiguousarray(np.sum([o[3] for o in outs], axis=0, dtype=dt).T)   # (3H, D)
        elif tokens:                                                  # a sorted segment sum
            dU = np.ascontiguousarray(token_gradient(sp.x, dGin.T, (3 * H, D), dt))
        else:
            dU = threads.dot(dGin, sp.x.reshape(N, D), k)             # Σ_t ∂J/∂ĝ(t) x(t)ᵀ
        dW = threads.dot(dG[H:], Hs[:-1].reshape(N, H), k)   # Σ_t [∂J/∂r̂; ∂J/∂ẑ (; ∂J/∂ĥn)] h(t−1)ᵀ
        grads = {}
        for q, gate in enumerate(INPUT_ORDER):
            r = slice(q * H, (q + 1) * H)
            grads[f"U_{gate}"], grads[f"b_{gate}"] = dU[r], db[r]
        grads["W_r"], grads["W_z"] = dW[:H], dW[H:2 * H]
        if after:
            grads["W_n"], grads["b_hn"] = dW[2 * H:], db[3 * H:]   # Σ_t ∂J/∂ĥn(t) h(t−1)ᵀ, ∂J/∂ĥn(t)
        else:
            grads["W_n"] = threads.dot(dG[:H], sp.RHs.reshape(N, H), k)   # Σ_t ∂J/∂n̂ (r ⊙ h(t−1))ᵀ
    return dGin, dh0, grads
