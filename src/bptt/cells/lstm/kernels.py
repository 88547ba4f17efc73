"""The per-step pointwise work of the LSTM fast path (`bptt.cells.lstm.fused`), twice: NumPy ufuncs, and
numba kernels that do the same operations in the same order in one pass over memory.

Shapes (see `bptt.cells.lstm.fused`): feature-major, C-contiguous blocks: g (4H, B) a step's gates
[z; i; f; o] (or their pre-activations, or their errors), the cells and the rest (H, B).

The NumPy functions (`cell_forward`, `cell_backward`) always exist and cover peepholes. The
kernels (names ending in _nb) are compiled by numba when it imports, with no fast-math (no
reassociation, no fused multiply-add), so they round exactly as the ufuncs do: the two paths give
the same numbers bit for bit, except ∂J/∂W for token ids, summed in another order. The tanh stays
NumPy's SIMD loop (numba's is the scalar libm call, ~50x slower), and layers with peepholes take
the NumPy path. Without numba the _nb functions are plain Python: correct, only slow (the tests
use them so).

numba is a core dependency of bptt; AVAILABLE (`bptt.cells.jit`) is False when it does not
import or when the environment variable BPTT_NUMBA is 0, and `lstm_fused` then runs the NumPy path.
"""
from __future__ import annotations

import numpy as np

from ..jit import AVAILABLE, numba   # the switch (BPTT_NUMBA=0); tests set AVAILABLE here for the LSTM


# -- NumPy -----------------------------------------------------------------------------------------
def cell_forward(g, c_prev, c, buf, P):
    """One step after the GEMM: g (4H, B) holds [ẑ; ½î; ½f̂; ½ô] without the peephole terms; leaves
    the gate values [z; i; f; o] in g and c(t) in c. buf (H, B) is scratch; P (3, H, B) holds
    ½p_i, ½p_f, ½p_o broadcast over the batch, or is None. σ(a) = ½ tanh(½a) + ½."""
    H = c.shape[0]
    z, i, f, o = g[:H], g[H:2 * H], g[2 * H:3 * H], g[3 * H:]
    if P is None:
        np.tanh(g, out=g)                                # [z; tanh(½î); tanh(½f̂); tanh(½ô)]
        s = g[H:]
    else:
        np.multiply(P[0], c_prev, out=buf)
        i += buf                                         # + ½ p_i ⊙ c(t−1)
        np.multiply(P[1], c_prev, out=buf)
        f += buf                                         # + ½ p_f ⊙ c(t−1)
        np.tanh(g[:3 * H], out=g[:3 * H])
        s = g[H:3 * H]
    s *= 0.5
    s += 0.5                                             # σ = ½ tanh(½a) + ½
    np.multiply(z, i, out=c)                             # z(t) ⊙ i(t)
    np.multiply(c_prev, f, out=buf)
    c += buf                                             # c(t) = z ⊙ i + c(t−1) ⊙ f
    if P is not None:
        np.multiply(P[2], c, out=buf)
        o += buf                                         # + ½ p_o ⊙ c(t): the new cell
        np.tanh(o, out=o)
        o *= 0.5
        o += 0.5                                         # o(t) = σ(ô(t))


def cell_backward(dy_rec, dy_out, g, tc, c_prev, work, P):
    """One step of the error equations. dy_rec (H, B): Σ_g R_gᵀ ∂J/∂ĝ(t+1); dy_out (H, B): the
    errors reaching y(t) from outside (any strides); g (4H, B): the gate values, overwritten with
    ∂J/∂ĝ(t) = [∂J/∂ẑ; ∂J/∂î; ∂J/∂f̂; ∂J/∂ô]; tc, c_prev: tanh(c(t)), c(t−1). work (7H, B),
    contiguous: rows H:2H hold the part of ∂J/∂c(t) from step t+1 (the carry), replaced by the
    part of ∂J/∂c(t−1) from step t; the rest is scratch. P (3, H, B): p_i, p_f, p_o broadcast,
    or None. Each product is formed once and shared, and the three "v − v ⊙ gate" of î, f̂, ô run
    as one product and one difference over the (3H, B) block [v_i; v_f; v_o] of work: 14 ufunc
    calls without peepholes instead of 18 (a call costs ≈ 0.8 µs besides its pass over memory)."""
    H = tc.shape[0]
    z, i, f, o = g[:H], g[H:2 * H], g[2 * H:3 * H], g[3 * H:]       # read, then overwritten by
    dz, di, df, do = z, i, f, o                                     # ∂J/∂ẑ, ∂J/∂î, ∂J/∂f̂, ∂J/∂ô
    V, Vg, a = work[:3 * H], work[3 * H:6 * H], work[6 * H:]       # [v_i; v_f; v_o], their ⊙ gate
    v_i, carry, u = V[:H], V[H:2 * H], V[2 * H:]         # v_f is the carry: ∂J/∂c ⊙ f
    dy, dc = Vg[:H], Vg[H:2 * H]                         # scratch until Vg is formed
    np.add(dy_rec, dy_out, out=dy)                       # ∂J/∂y(t) = [outside] + Σ_g R_gᵀ ∂J/∂ĝ(t+1)
    np.multiply(dy, o, out=a)                            # a = ∂J/∂y ⊙ o
    np.multiply(a, tc, out=u)                            # u = ∂J/∂y ⊙ o ⊙ tanh(c)
    np.multiply(u, tc, out=dy)
    np.add(carry, a, out=dc)
    dc -= dy                                             # ∂J/∂c = ∂J/∂y ⊙ o ⊙ (1 − tanh²c) + [t+1]
    k = 3                                                # gates in the block: i, f, o
    if P is not None:
        np.multiply(u, o, out=dy)
        np.subtract(u, dy, out=do)                       # ∂J/∂ô, as in the block below
        np.multiply(P[2], do, out=dy)
        dc += dy                                         #        + p_o ⊙ ∂J/∂ô
        k = 2                                            # gates in the block: i, f
    np.multiply(dc, f, out=carry)                        # to c(t−1): ∂J/∂c ⊙ f
    np.multiply(dc, i, out=a)                            # a = ∂J/∂c ⊙ i
    np.multiply(a, z, out=v_i)                           # v_i = ∂J/∂c ⊙ i ⊙ z
    blk = slice(H, (k + 1) * H)
    np.multiply(V[:k * H], g[blk], out=Vg[:k * H])       # [v_i ⊙ i; v_f ⊙ f; u ⊙ o]
    np.subtract(V[:k * H], Vg[:k * H], out=g[blk])       # ∂J/∂î = ∂J/∂c ⊙ z ⊙ i(1 − i); ∂J/∂ô =
    df *= c_prev                                         # ∂J/∂y ⊙ tanh(c) ⊙ o(1 − o); ∂J/∂f̂ =
    np.multiply(v_i, z, out=dy)                          # ∂J/∂c ⊙ c(t−1) ⊙ f(1 − f)
    np.subtract(a, dy, out=dz)                           # ∂J/∂ẑ = ∂J/∂c ⊙ i ⊙ (1 − z²)
    if P is not None:
        np.multiply(P[0], di, out=dy)
        carry += dy                                      #   + p_i ⊙ ∂J/∂î
        np.multiply(P[1], df, out=dy)
        carry += dy                                      #   + p_f ⊙ ∂J/∂f̂


# -- numba (one flat loop each: loops over two indices do not vectorize, 3x slower) ---------------
def cell_forward_nb(g, c_prev, c, half):
    """cell_forward without peepholes, after the tanh over g: σ = ½ tanh(½a) + ½ in place for
    i, f, o, and c(t) = z ⊙ i + c(t−1) ⊙ f. half: 0.5 in g's dtype."""
    n = c.size
    gf, cp, cf = g.reshape(-1), c_prev.reshape(-1), c.reshape(-1)
    for k in range(n):
        i = gf[n + k] * half + half
        f = gf[2 * n + k] * half + half
        gf[n + k], gf[2 * n + k] = i, f
        gf[3 * n + k] = gf[3 * n + k] * half + half
        cf[k] = gf[k] * i + cp[k] * f


def cell_backward_nb(dy_rec, dy_out, g, tc, c_prev, carry):
    """cell_backward without peepholes, line for line; dy_out (H, B) here is feature-major. Flat
    loops: the sliced loop (`bptt.cells.lstm.slices`) calls it on one position's rows, g (4H,)
    and the rest (H,)."""
    n = tc.size
    gf, dr, dout, tcf = g.reshape(-1), dy_rec.reshape(-1), dy_out.reshape(-1), tc.reshape(-1)
    cpf, caf = c_prev.reshape(-1), carry.reshape(-1)
    for k in range(n):
        z, i, f, o = gf[k], gf[n + k], gf[2 * n + k], gf[3 * n + k]
        dy = dr[k] + dout[k]
        a = dy * o
        u = a * tcf[k]
        dc = (caf[k] + a) - u * tcf[k]
        do = u - u * o
        cf = dc * f
        df = (cf - cf * f) * cpf[k]
        ui = dc * i
        w = ui * z
        dz = ui - w * z
        di = w - w * i
        caf[k] = cf
        gf[k], gf[n + k], gf[2 * n + k], gf[3 * n + k] = dz, di, df, do


def gates_in_ids_nb(rec, tableT, ids, g):
    """g = rec + column ids[b] of tableT for each b: the step's recurrent product (4H, B) plus the
    input projection of its token ids (B,), read from the (4H, D) table. Row by row, and with
    unsigned ids (no negative-index test) it runs in 14 µs instead of 21 at 4H = 1024, B = 32."""
    H4, B = g.shape
    for r in range(H4):
        gr, rr, tr = g[r], rec[r], tableT[r]
        for b in range(B):
            gr[b] = rr[b] + tr[ids[b]]


def transpose_nb(src, dst):
    """dst (Q, P) = src (P, Q)ᵀ in blocks of 16 rows of src, so that each row of dst is written a
    cache line at a time (rows 4 KiB apart share one L1 set: written piecemeal, they evict each
    other)."""
    P, Q = src.shape
    for p0 in range(0, P, 16):
        p1 = min(p0 + 16, P)
        for q in range(Q):
            for p in range(p0, p1):
                dst[q, p] = src[p, q]


def token_scatter_nb(ids, rows, out):
    """out[ids[n]] += rows[n] for each position n: ∂J/∂Wᵀ (D, 4H) from ∂J/∂ĝ rows (N, 4H)."""
    N, K = rows.shape
    for n in range(N):
        k = ids[n]
        for j in range(K):
            out[k, j] += rows[n, j]


if AVAILABLE:
    # error_model="numpy": no ZeroDivisionError branches in the loops; cache=True: compiled once
    _jit = numba.njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
    cell_forward_nb, cell_backward_nb, gates_in_ids_nb, transpose_nb, token_scatter_nb = (
        _jit(f) for f in (cell_forward_nb, cell_backward_nb, gates_in_ids_nb, transpose_nb,
                          token_scatter_nb))
