"""The GRU's fast path: the same numbers as `gru_reference` (to rounding), with the gates fused and
work fused across time.

Dimension letters: T time steps, B batch, D input size (H above the first layer), H hidden size,
N = T·B positions.

The gates of a layer are stacked into fused weights built from the separate parameters at each
call (params stay a dict of separate arrays, which optimizers update in place). The input side
is stacked in the order n, r, z, and σ(a) = ½ tanh(½a) + ½ with the r and z rows pre-multiplied
by ½ (exact in floating point), so one tanh gives both gates:

    Uᵀ-table  [U_n; ½U_r; ½U_z]ᵀ  (D, 3H)         input bias  [b_n; ½b_r; ½b_z]  (3H,)
    reset="after":   Rs = [½W_r 0; ½W_z 0; W_n b_hn]  (3H, H+1), read against [h(t−1); 1]
    reset="before":  Rs = [½W_r; ½W_z]  (2H, H), then W_n (H, H) against r(t) ⊙ h(t−1)

Inside the time loop the layout is feature-major, as in the equations' column vectors: a step's
block is g(t) = [n; r; z] (3H, B), plus ĥn (H, B) for reset="after", each part a contiguous
(H, B) slice, so each ufunc runs over one contiguous block. The caller sees batch-major
(T, B, ·) arrays: the layer's input, h(t), and the errors at the edges.

- forward: the input projections U x(t) + b for all steps at once (one GEMM over the N rows;
  token ids: one gather of rows of the (D, 3H) table Uᵀ + b), transposed once to (T, 3H, B); per
  step one recurrent GEMM (reset="after": (3H, H+1) @ (H+1, B), b_hn riding in it; "before": a
  (2H, H) product for r, z, then W_n (r ⊙ h(t−1))) and ~9 ufunc calls without temporaries.
- backward: per step the pointwise error equations on the block (the gate values are
  overwritten by their errors [∂J/∂n̂; ∂J/∂r̂; ∂J/∂ẑ; ∂J/∂ĥn], which is all the weight gradients
  need) and one (H, 3H) @ (3H, B) GEMM for W_rᵀ ∂J/∂r̂ + W_zᵀ ∂J/∂ẑ + W_nᵀ ∂J/∂ĥn ("before": W_nᵀ
  ∂J/∂n̂ first, then the (H, 2H) product). After the loop the errors are laid out once as a
  (4H, N) matrix dG, so that its rows [n; r; z] are the input side's and its rows [r; z; hn] the
  recurrent side's, and every weight gradient is one GEMM over all steps: ∂J/∂W = dG H_prev,
  ∂J/∂U = dG X (token ids: `bptt.cells.fastpath.token_gradient`, a sorted segment sum).
- On one OpenBLAS thread the per-step products run as row blocks under its small-matrix bound
  (`bptt.cells.fastpath.row_blocks`): those kernels skip packing the weight matrix every step.
- In float32 with numba (BPTT_NUMBA=0 turns it off) and NumPy's OpenBLAS, the loop runs in batch
  slices instead, each slice's whole loop one numba kernel (`bptt.cells.gru.slices`;
  `bptt.cells.slicing.count` decides: on two or more threads, for passes of at least
  `slices.MIN_FLOPS`, one slice per thread; on one thread or for smaller passes, one slice on the
  calling thread, with no Python between steps; `forward(..., slices=)` forces a count,
  BPTT_SLICES=0 turns it off): OpenBLAS is held to one thread for the whole
  pass, its large products are split over bptt's threads (`bptt.cells.threads`), and
  `loss_and_backward` runs the output layer and the loss in bands of positions
  (`bptt.cells.head`). Same numbers to float32 rounding (its tanh is `tanh32`, its σ
  `bptt.cells.exp32.sigmoid32`). Both resets.
  Measured on 2 threads at T50 B32 H256 (on the machine below, shared with other work;
  alternating rounds, medians of 5): 65 token ids, reset="after", 16.9 ms against 24.8 ms for
  this loop with OpenBLAS threading each product and 32.8 ms for torch.nn.GRU + Linear +
  cross-entropy (bptt / torch 0.52, rounds 0.47–0.70; the training step 0.50); best rounds of
  another run: reset="before" 15.0 against 22.6 ms; 2 layers, 65 float inputs, 39.7 against
  56.0 ms (torch 70.8). A bidirectional model's layers (`bptt.cells.directions`) slice with one
  count per pass, OpenBLAS held to one thread for all of it (`bptt.cells.bidirectional`; without
  the hold, its spinning workers slowed the slices: 55 ms against 50 unsliced).

Buffers of a pass, per layer: Gf (T, 4H or 3H, B) the gate values; Hf (T+1, H+1, B) the states,
feature-major, Hf[0] = h(−1), Hf[t+1] = h(t), with a row of ones for the bias; Hs (T+1, B, H) the
same states batch-major (the next layer's input, the output layer's input and ∂J/∂W's right
factor); RH (T, H, B) r(t) ⊙ h(t−1) for reset="before". The backward adds dG (4H or 3H, N).

Speed (float32, one thread, OpenBLAS 0.3.31 SkylakeX kernels on a 2-vCPU AMD EPYC shared with
other work, T=50, B=32, H=256, D=O=65 token ids, loss and full BPTT, reset="after"): ≈ 30 ms
against ≈ 40 ms for torch.nn.GRU + Linear + cross-entropy (ratio 0.76 in alternating rounds).
Of the 30 ms the GEMMs take ≈ 20 (the 100 per-step products ≈ 12, ∂J/∂W ≈ 6.4 — at this
machine's ≈ 95 GFLOP/s peak — the output layer ≈ 1.5); the ≈ 25 ufunc calls per step ≈ 6; the
token ∂J/∂U ≈ 1.5; the input projection and the transposes ≈ 1.5.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from . import slices as sliced
from .. import cblas, threads
from ..slicing import held
from ..fastpath import row_blocks, token_gradient
from ..head import head_backward
from ..layers import layer_key
from ...nn.losses import MeanPooled, loss_and_error
from .reference import layer_params, reset_of

INPUT_ORDER = ("n", "r", "z")       # the fused input side's row blocks


class FusedLayer(NamedTuple):
    U: np.ndarray                # (3H, D) [U_n; U_r; U_z], for ∂J/∂x
    table: np.ndarray            # (D, 3H) [U_n; ½U_r; ½U_z]ᵀ, contiguous (+ bias for token ids)
    bias: np.ndarray             # (3H,) [b_n; ½b_r; ½b_z]
    Rs: np.ndarray               # after: (3H, H+1) [½W_r 0; ½W_z 0; W_n b_hn]; before: (2H, H)
    RT: np.ndarray               # after: (H, 3H) [W_r; W_z; W_n]ᵀ; before: (H, 2H) [W_r; W_z]ᵀ
    Wn: Optional[np.ndarray]     # before: (H, H) W_n; after: None (it is in Rs)
    WnT: Optional[np.ndarray]    # before: (H, H) W_nᵀ, contiguous; after: None
    reset: str


class LayerPass(NamedTuple):
    x: np.ndarray                # (T, B, D) the layer's input, or (T, B) token ids
    Gf: np.ndarray               # (T, 4H, B) [n; r; z; ĥn] (after) or (T, 3H, B) [n; r; z]; errors after backward
    Hf: np.ndarray               # (T+1, H+1, B) [h(t−1); 1] feature-major
    Hs: np.ndarray               # (T+1, B, H) h(−1), h(0), ..., h(T−1)
    RH: Optional[np.ndarray]     # (T, H, B) r(t) ⊙ h(t−1) (before), else None
    fl: FusedLayer

    def gate(self, g: str) -> np.ndarray:
        """(T, B, H) the values of gate g ∈ "r", "z", "n": a batch-major view of Gf."""
        k = INPUT_ORDER.index(g)
        H = self.Hs.shape[2]
        return self.Gf[:, k * H:(k + 1) * H].transpose(0, 2, 1)


def fuse(params: dict, layer: int) -> FusedLayer:
    """The fused weights of one layer, built from the separate parameters, one pass each."""
    p = layer_params(params, layer)
    reset = reset_of(p)
    H, D = p["U_n"].shape
    dt = p["U_n"].dtype
    half = dt.type(0.5)
    U, table, bias = np.empty((3 * H, D), dt), np.empty((D, 3 * H), dt), np.empty(3 * H, dt)
    for k, g in enumerate(INPUT_ORDER):
        rows, s = slice(k * H, (k + 1) * H), dt.type(1) if g == "n" else half   # n whole; r, z halved
        U[rows] = p[f"U_{g}"]
        np.multiply(p[f"U_{g}"].T, s, out=table[:, rows])
        np.multiply(p[f"b_{g}"], s, out=bias[rows])
    if reset == "after":
        Rs = np.empty((3 * H, H + 1), dt)
        np.multiply(p["W_r"], half, out=Rs[:H, :H])
        np.multiply(p["W_z"], half, out=Rs[H:2 * H, :H])
        Rs[2 * H:, :H] = p["W_n"]
        Rs[:2 * H, H] = 0                                   # b_r, b_z are on the input side
        Rs[2 * H:, H] = p["b_hn"]
        RT = np.ascontiguousarray(np.concatenate([p["W_r"], p["W_z"], p["W_n"]]).T)
        return FusedLayer(U, table, bias, Rs, RT, None, None, reset)
    Rs = np.concatenate([p["W_r"], p["W_z"]]) * half
    RT = np.ascontiguousarray(np.concatenate([p["W_r"], p["W_z"]]).T)
    return FusedLayer(U, table, bias, Rs, RT, p["W_n"], np.ascontiguousarray(p["W_n"].T), reset)


def input_projection(x, fl: FusedLayer):
    """U x(t) + b for all steps, the r and z parts halved, feature-major: (T, 3H, B)."""
    T, B = x.shape[:2]
    if x.dtype.kind in "iu":
        XP = np.take(fl.table + fl.bias, x, axis=0)                   # gather rows      (T, B, 3H)
    else:
        XP = np.dot(x.reshape(T * B, -1), fl.table).reshape(T, B, -1)  # one GEMM         (T, B, 3H)
        XP += fl.bias
    return np.ascontiguousarray(XP.transpose(0, 2, 1))                # feature-major    (T, 3H, B)


def layer_forward(x, h0, fl: FusedLayer, slices=None):
    """One layer over all steps from h(−1) = h0 (B, H). slices: run in batch slices on threads
    (`bptt.cells.gru.slices`, float32 with numba): None decides by OpenBLAS's threads, 0 never,
    k that many. Returns a LayerPass, or the SlicedPass of a sliced run."""
    k = sliced.count(x, fl, sliced.AVAILABLE, slices)
    if k:
        return sliced.layer_forward(x, h0, fl, k)
    T, B = x.shape[:2]
    H, dt = fl.RT.shape[0], fl.RT.dtype
    after = fl.reset == "after"
    XP = input_projection(x, fl)                                      # (T, 3H, B)
    Gf = np.empty((T, 4 * H if after else 3 * H, B), dtype=dt)
    Hf = np.empty((T + 1, H + 1, B), dtype=dt)                        # [h(t−1); 1]
    Hf[:, H] = 1
    np.copyto(Hf[0, :H], h0.T)
    RH = None if after else np.empty((T, H, B), dtype=dt)
    buf = np.empty((H, B), dtype=dt)
    blocks = _row_slices(fl.Rs, B, H)                                 # rows r, z (, ĥn) of g(t)
    n_blocks = None if after else _row_slices(fl.Wn, B, 0)           # rows n of g(t)
    for t in range(T):
        g, xp, h_prev, h = Gf[t], XP[t], Hf[t, :H], Hf[t + 1, :H]
        n, r, z, rz = g[:H], g[H:2 * H], g[2 * H:3 * H], g[H:3 * H]   # (H, B) blocks
        h1 = Hf[t] if after else h_prev
        for A, rows in blocks:
            np.dot(A, h1, out=g[rows])                                # ½W_r h, ½W_z h (, W_n h + b_hn)
        rz += xp[H:]                                                  # ½r̂(t), ½ẑ(t)
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5                                                     # r(t), z(t) = ½ tanh(½a) + ½
        if after:
            np.multiply(r, g[3 * H:], out=n)                          # r ⊙ ĥn(t)
        else:
            np.multiply(r, h_prev, out=RH[t])                         # r ⊙ h(t−1)
            for A, rows in n_blocks:
                np.dot(A, RH[t], out=n[rows])                         # W_n (r ⊙ h(t−1))
        n += xp[:H]                                                   # n̂(t)
        np.tanh(n, out=n)                                             # n(t)
        np.subtract(h_prev, n, out=buf)
        buf *= z
        np.add(n, buf, out=h)                                         # h(t) = n + z ⊙ (h(t−1) − n)
    Hs = np.ascontiguousarray(Hf[:, :H].transpose(0, 2, 1))           # batch-major      (T+1, B, H)
    return LayerPass(x, Gf, Hf, Hs, RH, fl)


def _row_slices(A, B: int, first: int):
    """[(A's row block, the rows of g(t) it writes)] for A @ (·, B) written into g(t) from row
    `first` on, in the row blocks of `row_blocks`."""
    out, i = [], first
    for Ab, _ in row_blocks(A, np.empty((A.shape[0], 0)), B):
        out.append((Ab, slice(i, i + Ab.shape[0])))
        i += Ab.shape[0]
    return out


def layer_backward(dY, lp: LayerPass):
    """Full BPTT through one layer. dY (T, B, H): the errors reaching h(t) from outside the
    recurrence (read only). lp.Gf is overwritten with the errors.

    Returns (dGin, ∂J/∂h(−1) (B, H), grads under the layer's plain names): dGin (3H, N) holds
    [∂J/∂n̂; ∂J/∂r̂; ∂J/∂ẑ], one column per position (t, b). lp may be a SlicedPass."""
    if isinstance(lp, sliced.SlicedPass):
        return sliced.layer_backward(dY, lp)
    Gf, Hf, fl = lp.Gf, lp.Hf, lp.fl
    T, HG, B = Gf.shape
    H, N, dt = Hf.shape[1] - 1, T * B, Gf.dtype
    after = fl.reset == "after"
    dh_rec = np.zeros((H, B), dtype=dt)                      # nothing reaches h(T−1) from step T
    a, w, u, v, dhz = (np.empty((H, B), dtype=dt) for _ in range(5))
    q = None if after else np.empty((H, B), dtype=dt)
    rec_rows = slice(H, 4 * H) if after else slice(H, 3 * H)
    blocks = row_blocks(fl.RT, dh_rec, B)
    n_blocks = None if after else row_blocks(fl.WnT, q, B)
    for t in range(T - 1, -1, -1):
        g, h_prev = Gf[t], Hf[t, :H]
        n, r, z = g[:H], g[H:2 * H], g[2 * H:3 * H]          # read, then overwritten by the errors
        np.add(dh_rec, dY[t].T, out=a)                       # ∂J/∂h(t) = [outside] + [from step t+1]
        np.multiply(a, z, out=dhz)                           # z ⊙ ∂J/∂h: the direct path to h(t−1)
        np.subtract(h_prev, n, out=w)
        w *= a                                               # ∂J/∂z = ∂J/∂h ⊙ (h(t−1) − n)
        np.multiply(w, z, out=u)
        np.multiply(u, z, out=v)
        np.subtract(u, v, out=z)                             # ∂J/∂ẑ = ∂J/∂z ⊙ z(1 − z)
        a -= dhz                                             # ∂J/∂n = ∂J/∂h ⊙ (1 − z)
        np.multiply(a, n, out=u)
        u *= n
        np.subtract(a, u, out=n)                             # ∂J/∂n̂ = ∂J/∂n ⊙ (1 − n²)
        if after:
            hn = g[3 * H:]
            np.multiply(n, hn, out=u)                        # ∂J/∂r = ∂J/∂n̂ ⊙ ĥn
            np.multiply(n, r, out=hn)                        # ∂J/∂ĥn = r ⊙ ∂J/∂n̂
        else:
            for A, out in n_blocks:
                np.dot(A, n, out=out)                        # q = W_nᵀ ∂J/∂n̂, the error of r ⊙ h(t−1)
            np.multiply(q, r, out=u)
            dhz += u                                         # + r ⊙ q
            np.multiply(q, h_prev, out=u)                    # ∂J/∂r = q ⊙ h(t−1)
        np.multiply(u, r, out=v)
        np.multiply(v, r, out=u)
        np.subtract(v, u, out=r)                             # ∂J/∂r̂ = ∂J/∂r ⊙ r(1 − r)
        for A, out in blocks:
            np.dot(A, g[rec_rows], out=out)                  # W_rᵀ ∂J/∂r̂ + W_zᵀ ∂J/∂ẑ (+ W_nᵀ ∂J/∂ĥn)
        dh_rec += dhz                                        # the recurrent part of ∂J/∂h(t−1)
    dG = np.ascontiguousarray(Gf.transpose(1, 0, 2)).reshape(HG, N)   # all positions (4H or 3H, N)
    dGin = dG[:3 * H]                                        # [∂J/∂n̂; ∂J/∂r̂; ∂J/∂ẑ]           (3H, N)
    Hprev = lp.Hs[:-1].reshape(N, H)
    if lp.x.dtype.kind in "iu":
        dU = token_gradient(lp.x, dGin.T, (3 * H, fl.U.shape[1]), dt)  # sorted segment sum (3H, D)
    else:
        dU = np.dot(dGin, lp.x.reshape(N, -1))               # Σ_t ∂J/∂ĝ(t) x(t)ᵀ                (3H, D)
    db = dGin.sum(axis=1)                                    # Σ_t ∂J/∂ĝ(t)                      (3H,)
    grads = {}
    for k, gate in enumerate(INPUT_ORDER):
        rows = slice(k * H, (k + 1) * H)
        grads[f"U_{gate}"], grads[f"b_{gate}"] = dU[rows], db[rows]
    dW = np.dot(dG[H:], Hprev)                               # Σ_t [∂J/∂r̂; ∂J/∂ẑ (; ∂J/∂ĥn)] h(t−1)ᵀ
    grads["W_r"], grads["W_z"] = dW[:H], dW[H:2 * H]
    if after:
        grads["W_n"] = dW[2 * H:]                            # Σ_t ∂J/∂ĥn(t) h(t−1)ᵀ             (H, H)
        grads["b_hn"] = dG[3 * H:].sum(axis=1)               # Σ_t ∂J/∂ĥn(t)                     (H,)
    else:
        RHs = np.ascontiguousarray(lp.RH.transpose(0, 2, 1)).reshape(N, H)
        grads["W_n"] = np.dot(dG[:H], RHs)                   # Σ_t ∂J/∂n̂(t) (r ⊙ h(t−1))ᵀ       (H, H)
    return dGin, np.ascontiguousarray(dh_rec.T), grads


def forward(x, h0, params, num_layers, slices=None):
    """Every layer, then the output layer. h0 (num_layers, B, H). slices: as in `layer_forward`,
    decided once for the pass; a sliced pass holds OpenBLAS to one thread throughout and splits
    the output layer's product over bptt's threads (`bptt.cells.threads`).

    Returns (passes, O): passes[l] the LayerPass (or SlicedPass) of layer l, O the logits (T, B, O)."""
    fl = fuse(params, 0)
    return _forward(x, h0, params, num_layers, sliced.count(x, fl, sliced.AVAILABLE, slices), fl)


def _forward(x, h0, params, num_layers, k, fl):
    """`forward` in k slices (0: the fused loop), fl layer 0's FusedLayer."""
    with held(k):
        passes = _layers_forward(x, h0, params, num_layers, k, fl)
        Y = passes[-1].Hs[1:]
        T, B, H = Y.shape
        O = threads.dot(Y.reshape(T * B, H), params["V"].T, k).reshape(T, B, -1)   # V h(t), all t
    O += params["c"]                                     # o(t) = c + V h(t)
    return passes, O


def _layers_forward(x, h0, params, num_layers, k, fl):
    passes, inp = [], x
    for layer in range(num_layers):
        lp = layer_forward(inp, h0[layer], fl if layer == 0 else fuse(params, layer), k)
        passes.append(lp)
        inp = lp.Hs[1:]                                  # layer l's h(t) is layer l+1's x(t)
    return passes


def loss_and_backward(x, h0, params, num_layers, output: str, y, weight, need_dx: bool = True):
    """Forward, the loss J = Σ weight·L (`bptt.nn.losses.loss_and_error`) and full BPTT in one
    call. A sliced pass (see `forward`) runs the output layer and the loss in bands of positions
    on bptt's threads between the layers' forward and their BPTT (`bptt.cells.head`), unless the
    loss is pooled over time.

    Returns (J, passes, dx or None, ∂J/∂h0 (num_layers, B, H), grads keyed like params)."""
    fl = fuse(params, 0)
    k = sliced.count(x, fl, sliced.AVAILABLE, None)
    if not k or isinstance(y, MeanPooled):
        passes, o = _forward(x, h0, params, num_layers, k, fl)
        J, _, do = loss_and_error(output, o, y, weight)
        del o                                            # free it before BPTT
        return (J, passes) + backward(do, passes, params, need_dx)
    with cblas.one_thread():
        passes = _layers_forward(x, h0, params, num_layers, k, fl)
        J, dY, dV, dc = head_backward(passes[-1].Hs[1:], params["V"], params["c"], output, y,
                                      weight, k)
        dx, dh0, grads = _layers_backward(dY, passes, params, need_dx, k)
    grads["V"], grads["c"] = dV, dc
    return J, passes, dx, dh0, {name: grads[name] for name in params}


def backward(dO, passes, params, need_dx: bool = True):
    """Full BPTT through the output layer and every layer, top first. dO: ∂J/∂o (T, B, O).
    A sliced pass (see `forward`) runs with OpenBLAS on one thread and its products split.

    Returns (dx or None, ∂J/∂h0 (num_layers, B, H), grads keyed like params)."""
    k = len(passes[0].slices) if isinstance(passes[0], sliced.SlicedPass) else 0
    with held(k):
        T, B, O = dO.shape
        H_top = passes[-1].Hs[1:]
        H = H_top.shape[-1]
        N = T * B
        dO2 = dO.reshape(N, O)
        dV = threads.dot(dO2.T, H_top.reshape(N, H), k)  # Σ_t ∂J/∂o(t) h(t)ᵀ
        dY = threads.dot(dO2, params["V"], k).reshape(T, B, H)   # Vᵀ ∂J/∂o(t) for all t
        dx, dh0, grads = _layers_backward(dY, passes, params, need_dx, k)
    grads["V"], grads["c"] = dV, dO2.sum(axis=0)        # Σ_t ∂J/∂o(t)
    return dx, dh0, {name: grads[name] for name in params}


def _layers_backward(dY, passes, params, need_dx, k):
    """BPTT through every layer, top first, from the top's outside errors dY (T, B, H). Returns
    (dx or None, ∂J/∂h0, the layers' grads)."""
    L = len(passes)
    dh0, grads, dx = [None] * L, {}, None
    for layer in reversed(range(L)):
        lp = passes[layer]
        dGin, dh0[layer], g = layer_backward(dY, lp)
        grads.update({layer_key(name, layer): v for name, v in g.items()})
        if layer > 0 or (need_dx and lp.x.dtype.kind not in "iu"):
            dY = threads.dot(dGin.T, lp.fl.U, k).reshape(lp.x.shape)   # ∂J/∂x(t) = Σ_g U_gᵀ ∂J/∂ĝ(t)
        if layer == 0 and lp.x.dtype.kind not in "iu" and need_dx:
            dx = dY
    return dx, np.stack(dh0), grads
