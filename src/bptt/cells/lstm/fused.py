"""The LSTM's fast path: the same numbers as `lstm_reference`, with work fused across gates and time.

Dimension letters: T time steps, B batch, D input size (H above the first layer), H hidden size,
N = T·B positions.

The four gates of a layer are stacked in the order z, i, f, o into fused weights built from the
separate parameters at each call (params stay a dict of separate arrays, which optimizers update
in place):

    W = [W_z; W_i; W_f; W_o]  (4H, D)      R = [R_z; R_i; R_f; R_o]  (4H, H)      b  (4H,)

Inside the time loop the layout is feature-major, as in the equations' column vectors: a step's
gates are one contiguous (4H, B) block ĝ(t) = R y(t−1) + b + W x(t), each gate a contiguous
(H, B) slice of it, so each ufunc runs over one contiguous block (batch-major rows would make each
gate a strided (B, H) slice, and the pointwise work twice as slow). The caller sees batch-major
(T, B, ·) arrays: the layer's input, y(t), and the errors at the edges.

- forward: the input projections W x(t) for all steps in one GEMM Ws Xᵀ over the N positions,
  its columns moved to (T, 4H, B) in blocks of B; token ids are instead looked up per step, the
  columns x(t) of the (4H, D) table Ws (np.take) — a gather of whole (T, B, 4H) rows and one
  transposed copy cost 3.5 ms at T50 B32 H256, the per-step look-ups 0.75 ms. Per step the
  recurrent product [R | b] [y(t−1); 1] (the bias rides in the GEMM, K = H + 1) is added. σ(a) =
  ½ tanh(½a) + ½, and the i, f, o rows of the forward's copies of W, R, b and the peepholes are
  pre-multiplied by ½ (exact in floating point), so one tanh over the (4H, B) block gives z and
  the three tanh(½a) at once.
- backward: the outside errors Vᵀ ∂J/∂o(t) arrive feature-major (T, H, B) from the output layer.
  Per step the pointwise error equations on the block (the gate values are overwritten by ∂J/∂ĝ,
  which is all the weight gradients need) and one (H, 4H) @ (4H, B) GEMM for Σ_g R_gᵀ ∂J/∂ĝ(t).
  After the loop ∂J/∂ĝ is laid out as one (4H, N) matrix dG and the weight gradients are GEMMs
  over all steps: ∂J/∂R = dG Y_prev, ∂J/∂W = dG X; for token ids ∂J/∂R, ∂J/∂b and ∂J/∂W are one
  GEMM dG [Y_prev | 1 | onehot(x)] (or a sorted segment sum for a vocabulary over ONE_HOT_MAX).
- On one OpenBLAS thread the per-step products run as row blocks under its small-matrix bound
  (`bptt.cells.fastpath.SMALL_GEMM`), which skips packing the weights at every step.
- With numba (a core dependency; BPTT_NUMBA=0 turns it off) the pointwise steps run as one-pass
  kernels (`bptt.cells.lstm.kernels`, same numbers), the token ids are looked up in the same
  kernel, ∂J/∂ĝ is written batch-major per step and ∂J/∂W is a scatter-add.
- In float32 with the numba kernels and NumPy's OpenBLAS, the loop runs in batch slices instead
  (`bptt.cells.lstm.slices`; `bptt.cells.slicing.count` decides: on two or more threads, for
  passes of at least `slices.MIN_FLOPS`, one slice per thread; on one thread or for smaller
  passes, one slice on the calling thread, with no Python between steps; `forward(..., slices=)`
  forces a count, BPTT_SLICES=0 turns it off): OpenBLAS held to one thread for the whole pass,
  large products split over bptt's threads (`bptt.cells.threads`); the model's entry
  `pipeline.loss_and_backward` runs each slice's forward, softmax head and BPTT as one job, other
  heads in bands of positions (`bptt.cells.head`). Same numbers to float32 rounding.

Buffers of a pass, per layer: Gf (T, 4H, B) the gate values [z; i; f; o]; Ys (T+1, B, H) with
Ys[0] = y(−1), Ys[t+1] = y(t), batch-major (the next layer's input, the output layer's input and
∂J/∂R's right factor); Cf (T+1, H, B) the cells, Cf[0] = c(−1); TCf (T, H, B) tanh(c(t)). The
backward adds dG (N·4H). Callers read the batch-major views `.G` and `.Cs` of a LayerPass. Speeds
of each path: benchmarks/RESULTS.md.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from . import kernels as kernels, slices as sliced
from .. import cblas, threads
from ..slicing import held
from ..head import head_backward
from ...nn.losses import MeanPooled, loss_and_error
from ..fastpath import row_blocks, token_gradient
from .reference import GATES, key, layer_params

ONE_HOT_MAX = 256    # NumPy path, token ids: ∂J/∂W as a GEMM with the one-hot matrix up to this D


class FusedLayer(NamedTuple):
    """A layer's fused weights; Rᵀ is built where it is needed (`recurrent_transpose`,
    `slices.transposed`)."""
    W: np.ndarray            # (4H, D) [W_z; W_i; W_f; W_o], for ∂J/∂x
    Ws: np.ndarray           # (4H, D) W with the i, f, o rows halved: the forward's (and the
                             # token ids' table, whose columns the steps look up)
    Rbs: np.ndarray          # (4H, H+1) [R | b] with the i, f, o rows halved
    p: Optional[np.ndarray]  # (3, H) [p_i, p_f, p_o] or None


class LayerPass(NamedTuple):
    x: np.ndarray            # (T, B, D) the layer's input, or (T, B) token ids
    Gf: np.ndarray           # (T, 4H, B) gates [z; i; f; o]; ∂J/∂ĝ after backward
    Ys: np.ndarray           # (T+1, B, H) y(−1), y(0), ..., y(T−1)
    Cf: np.ndarray           # (T+1, H, B) c(−1), c(0), ..., c(T−1)
    TCf: np.ndarray          # (T, H, B) tanh(c(t))
    fl: FusedLayer

    @property
    def G(self) -> np.ndarray:
        """(T, B, 4H) the gates [z, i, f, o]: a batch-major view of Gf."""
        return self.Gf.transpose(0, 2, 1)

    @property
    def Cs(self) -> np.ndarray:
        """(T+1, B, H) c(−1), c(0), ..., c(T−1): a batch-major view of Cf."""
        return self.Cf.transpose(0, 2, 1)


def fuse(params: dict, layer: int) -> FusedLayer:
    """The fused weights of one layer, built from the separate parameters, one pass each."""
    p = layer_params(params, layer)
    H, D = p["W_z"].shape
    dt = p["W_z"].dtype
    W, Ws = np.empty((4 * H, D), dtype=dt), np.empty((4 * H, D), dtype=dt)
    Rbs = np.empty((4 * H, H + 1), dtype=dt)
    for k, g in enumerate(GATES):
        rows, s = slice(k * H, (k + 1) * H), dt.type(1 if g == "z" else 0.5)   # ẑ whole; î, f̂, ô halved
        W[rows] = p[f"W_{g}"]
        np.multiply(p[f"W_{g}"], s, out=Ws[rows])
        np.multiply(p[f"R_{g}"], s, out=Rbs[rows, :H])
        np.multiply(p[f"b_{g}"], s, out=Rbs[rows, H])
    peep = np.stack([p["p_i"], p["p_f"], p["p_o"]]) if "p_i" in p else None   # (3, H)
    return FusedLayer(W, Ws, Rbs, peep)


def recurrent_transpose(fl: FusedLayer) -> np.ndarray:
    """Rᵀ = [R_z; R_i; R_f; R_o]ᵀ (H, 4H), contiguous, from Rbs, the i, f, o columns doubled back
    (exact: halving and doubling move the exponent only, for |weights| >= 2⁻¹²⁵ in float32)."""
    H = fl.Rbs.shape[1] - 1
    RT = np.empty((H, 4 * H), dtype=fl.Rbs.dtype)
    RT[:, :H] = fl.Rbs[:H, :H].T
    np.multiply(fl.Rbs[H:, :H].T, fl.Rbs.dtype.type(2), out=RT[:, H:])
    return RT


def input_projection(x, fl: FusedLayer, Gf):
    """W x(t) for all steps, the i, f, o parts halved, written feature-major into Gf (T, 4H, B):
    one GEMM Ws Xᵀ (4H, N), then its columns (t, b) moved to Gf[t] in blocks of B (a plain
    transposed copy of (T, B, 4H) rows runs 4 KiB strides: 3.5 ms against 0.4 ms at T50 B32 H256)."""
    T, B = x.shape[:2]
    P = np.dot(fl.Ws, x.reshape(T * B, -1).T)                        # Ws Xᵀ            (4H, N)
    np.copyto(Gf, P.reshape(-1, T, B).transpose(1, 0, 2))            #                  (T, 4H, B)


def check_ids(x, D: int):
    """Token ids (T, B) as intp, each in [0, D) (IndexError otherwise): the per-step look-ups
    read the table unchecked."""
    if x.size and (x.min() < 0 or x.max() >= D):
        raise IndexError(f"token ids must lie in [0, {D}). Got {x.min()} to {x.max()}.")
    return x.astype(np.intp, copy=False)


def use_kernels(choice: Optional[bool], fl: FusedLayer) -> bool:
    """Whether a layer runs the numba kernels. choice None: when numba is installed; layers with
    peepholes take the NumPy path."""
    if choice is None:
        choice = kernels.AVAILABLE
    elif choice and not kernels.AVAILABLE:
        raise RuntimeError("The numba kernels were asked for, but numba is not installed "
                           "(it is a dependency of bptt: pip install numba) or BPTT_NUMBA=0 is set.")
    return bool(choice) and fl.p is None


def _peepholes(fl: FusedLayer, B: int, scale: float):
    """scale·[p_i, p_f, p_o] broadcast to contiguous (3, H, B) blocks, or None."""
    if fl.p is None:
        return None
    return np.ascontiguousarray(np.broadcast_to((scale * fl.p)[:, :, None], fl.p.shape + (B,)))


def layer_forward(x, y0, c0, fl: FusedLayer, numba: Optional[bool] = None, slices=None):
    """One layer over all steps from y(−1) = y0, c(−1) = c0, each (B, H). numba: run the kernels
    of `bptt.cells.lstm.kernels` (None: when numba is installed); the same numbers either way.
    slices: run in batch slices on threads (`bptt.cells.lstm.slices`, float32 with the kernels):
    None decides by OpenBLAS's threads, 0 never, k that many. Returns a LayerPass, or the
    SlicedPass of a sliced run."""
    T, B = x.shape[:2]
    H, dt = fl.Rbs.shape[1] - 1, fl.Rbs.dtype
    jit = use_kernels(numba, fl)
    ids = None                                                        # token ids, looked up per step
    if x.dtype.kind in "iu":
        ids = check_ids(x, fl.Ws.shape[1])
    k = sliced.count(x, fl, jit, slices)
    if k:
        return sliced.layer_forward(x if ids is None else ids, y0, c0, fl, k)
    Gf = np.empty((T, 4 * H, B), dtype=dt)
    if ids is not None:
        tableT = fl.Ws                                                # (4H, D)
        if jit:
            ids = ids.astype(np.uintp)                                # checked: in [0, D)
    else:
        input_projection(x, fl, Gf)                                   # W x(t) for all t   (T, 4H, B)
    Y1 = np.empty((T + 1, H + 1, B), dtype=dt)                        # [y(t−1); 1]
    Y1[:, H] = 1
    np.copyto(Y1[0, :H], y0.T)
    Cf = np.empty((T + 1, H, B), dtype=dt)
    np.copyto(Cf[0], c0.T)
    TCf = np.empty((T, H, B), dtype=dt)
    rec, buf = np.empty((4 * H, B), dtype=dt), np.empty((H, B), dtype=dt)
    blocks = row_blocks(fl.Rbs, rec, B)
    P, half = _peepholes(fl, B, 0.5), dt.type(0.5)                    # ½ p_i, ½ p_f, ½ p_o  (3, H, B)
    for t in range(T):
        g, c_prev, c, tc = Gf[t], Cf[t], Cf[t + 1], TCf[t]           # (4H, B), (H, B) ...
        for Rb, rb in blocks:
            np.dot(Rb, Y1[t], out=rb)                                 # [R | b] [y(t−1); 1]
        if ids is not None and jit:
            kernels.gates_in_ids_nb(rec, tableT, ids[t], g)          # [ẑ; ½î; ½f̂; ½ô]
        else:
            if ids is not None:                                       # the columns ids[t] of the
                np.take(tableT, ids[t], axis=1, out=g, mode="wrap")  # table (ids checked: no wrap)
            g += rec
        if jit:
            np.tanh(g, out=g)                                         # [z; tanh(½î); tanh(½f̂); tanh(½ô)]
            kernels.cell_forward_nb(g, c_prev, c, half)              # σ of i, f, o; c(t)
        else:
            kernels.cell_forward(g, c_prev, c, buf, P)
        np.tanh(c, out=tc)                                            # tanh(c(t))
        np.multiply(tc, g[3 * H:], out=Y1[t + 1, :H])                 # y(t) = tanh(c(t)) ⊙ o(t)
    Ys = np.ascontiguousarray(Y1[:, :H].transpose(0, 2, 1))           # batch-major      (T+1, B, H)
    return LayerPass(x, Gf, Ys, Cf, TCf, fl)


def layer_backward(dY, lp: LayerPass, numba: Optional[bool] = None, feature_major: bool = False):
    """Full BPTT through one layer. dY: the errors reaching y(t) from outside the recurrence (read
    only), (T, B, H), or (T, H, B) with feature_major. lp.Gf is overwritten with ∂J/∂ĝ(t).

    Returns (dG, ∂J/∂y(−1), ∂J/∂c(−1), grads under the layer's plain names): dG (4H, N) holds
    ∂J/∂ĝ = [∂J/∂ẑ; ∂J/∂î; ∂J/∂f̂; ∂J/∂ô], one column per position (t, b) (C- or F-ordered); the
    state errors are (B, H)."""
    if isinstance(lp, sliced.SlicedPass):
        rows, dy0, dc0, db, dW = sliced.layer_backward(dY, lp, feature_major)   # ∂J/∂ĝ rows
        dG = rows.reshape(-1, rows.shape[2]).T                                    # (4H, N)
        return dG, dy0, dc0, weight_gradients(lp.x, dG, lp.Ys, lp.fl, True, True, len(lp.slices),
                                              db, dW)
    Gf, Ys, Cf, TCf, fl = lp.Gf, lp.Ys, lp.Cf, lp.TCf, lp.fl
    T, H4, B = Gf.shape
    H, N, D, dt = H4 // 4, T * B, fl.W.shape[1], Gf.dtype
    ids = lp.x.dtype.kind in "iu"
    jit = use_kernels(numba, fl)
    rows = jit or (ids and D > ONE_HOT_MAX)              # dG batch-major: the kernels write it per
    dG = np.empty((T, B, H4) if rows else (H4, T, B), dtype=dt)   # step; the segment sum reads it
    dy_rec = np.zeros((H, B), dtype=dt)                  # Σ_g R_gᵀ ∂J/∂ĝ(T) = 0
    work = np.zeros((7 * H, B), dtype=dt)                # scratch; rows H:2H hold the part of
    carry = work[H:2 * H]                                # ∂J/∂c(t) from step t+1 (0 at t = T−1)
    blocks = row_blocks(recurrent_transpose(fl), dy_rec, B)
    P = _peepholes(fl, B, 1.0)
    for t in range(T - 1, -1, -1):
        dy_out = dY[t] if feature_major else dY[t].T     # the outside errors, feature-major (H, B)
        if jit:
            if not feature_major:
                dy_out = work[6 * H:]
                kernels.transpose_nb(dY[t], dy_out)
            kernels.cell_backward_nb(dy_rec, dy_out, Gf[t], TCf[t], Cf[t], carry)
        else:
            kernels.cell_backward(dy_rec, dy_out, Gf[t], TCf[t], Cf[t], work, P)
        for Rb, out in blocks:
            np.dot(Rb, Gf[t], out=out)                   # Σ_g R_gᵀ ∂J/∂ĝ(t)     (H, 4H) @ (4H, B)
        if jit:
            kernels.transpose_nb(Gf[t], dG[t])
    if not jit:                                          # one pass after the loop
        np.copyto(dG, Gf.transpose(0, 2, 1) if rows else Gf.transpose(1, 0, 2))
    dG = dG.reshape(N, H4).T if rows else dG.reshape(H4, N)   # ∂J/∂ĝ, all positions  (4H, N)
    grads = weight_gradients(lp.x, dG, Ys, fl, rows, jit)
    if fl.p is not None:
        Cn = np.ascontiguousarray(Cf.transpose(1, 0, 2)).reshape(H, N + B)   # (H, (T+1)·B)
        c_prev, c = Cn[:, :N], Cn[:, B:]
        grads["p_i"] = np.einsum("hn,hn->h", dG[H:2 * H], c_prev)       # Σ_t ∂J/∂î ⊙ c(t−1)
        grads["p_f"] = np.einsum("hn,hn->h", dG[2 * H:3 * H], c_prev)   # Σ_t ∂J/∂f̂ ⊙ c(t−1)
        grads["p_o"] = np.einsum("hn,hn->h", dG[3 * H:], c)             # Σ_t ∂J/∂ô ⊙ c(t)
    return dG, np.ascontiguousarray(dy_rec.T), np.ascontiguousarray(carry.T), grads


def weight_gradients(x, dG, Ys, fl: FusedLayer, rows: bool, jit: bool, k: int = 0, db=None,
                     dW=None) -> dict:
    """∂J/∂W, ∂J/∂R, ∂J/∂b under the layer's plain names ("W_z", ...) from ∂J/∂ĝ dG (4H, N) (rows:
    a transposed view of (N, 4H) rows), x the layer's input and Ys its (T+1, B, H) outputs. k > 1:
    the products split over k of bptt's threads (a sliced pass). db, dW: already summed (the
    slices do), else computed here."""
    H4, N = dG.shape
    H, D = H4 // 4, fl.W.shape[1]
    ids = x.dtype.kind in "iu"
    if ids and not rows:                                 # one GEMM for ∂J/∂R, ∂J/∂b and ∂J/∂W
        dR, db, dW = joint_token_gradients(x, dG, Ys, D)
    else:
        if dW is None and ids:
            dW = token_weight_gradient(x, dG, D, jit)
        elif dW is None:
            dW = threads.dot(dG, x.reshape(N, D), k)     # Σ_t ∂J/∂ĝ(t) x(t)ᵀ              (4H, D)
        dR = threads.dot(dG, Ys[:-1].reshape(N, H), k)   # Σ_t ∂J/∂ĝ(t) y(t−1)ᵀ            (4H, H)
        if db is None:
            db = dG.sum(axis=1)                          # Σ_t ∂J/∂ĝ(t)                    (4H,)
    grads = {}
    for q, g in enumerate(GATES):
        r = slice(q * H, (q + 1) * H)
        grads[f"W_{g}"], grads[f"R_{g}"], grads[f"b_{g}"] = dW[r], dR[r], db[r]
    return grads


def joint_token_gradients(ids, dG, Ys, D: int):
    """(∂J/∂R (4H, H), ∂J/∂b (4H,), ∂J/∂W (4H, D)) for token ids (T, B) as one GEMM,
    dG [Y_prev | 1 | onehot(ids)]: (4H, N) @ (N, H + 1 + D). The one-hot columns' zero products add
    nothing; one product instead of three saves ≈ 0.6 ms at T50 B32 H256 D65 (the D-wide GEMM
    alone runs at a lower rate, and the sum over N is another pass)."""
    H4, N = dG.shape
    H = Ys.shape[-1]
    X = np.zeros((N, H + 1 + D), dtype=dG.dtype)
    X[:, :H] = Ys[:-1].reshape(N, H)                     # y(t−1), one row per position (t, b)
    X[:, H] = 1
    X[np.arange(N), ids.reshape(N).astype(np.intp) + (H + 1)] = 1   # onehot(x(t)) (uint8 ids too)
    J = np.dot(dG, X)                                    # (4H, H + 1 + D)
    return np.ascontiguousarray(J[:, :H]), np.ascontiguousarray(J[:, H]), np.ascontiguousarray(J[:, H + 1:])


def token_weight_gradient(ids, dG, D: int, jit: bool):
    """∂J/∂W (4H, D) for token ids (T, B): column k sums the columns of dG (4H, N) at the
    positions where id = k. numba: a scatter-add; NumPy, over ONE_HOT_MAX ids: a sorted segment
    sum (up to ONE_HOT_MAX, `joint_token_gradients` multiplies by the one-hot matrix instead)."""
    H4, N = dG.shape
    if jit:
        dWT = np.zeros((D, H4), dtype=dG.dtype)
        kernels.token_scatter_nb(ids.reshape(N), dG.T, dWT)
        return np.ascontiguousarray(dWT.T)
    return np.ascontiguousarray(token_gradient(ids, dG.T, (H4, D), dG.dtype))


def forward(x, h0, c0, params, num_layers, numba: Optional[bool] = None, slices=None, fl=None):
    """Every layer, then the output layer. h0, c0 (num_layers, B, H). slices: as in
    `layer_forward`, decided once for the pass; a sliced pass holds OpenBLAS to one thread
    throughout and splits the output layer's product over bptt's threads (`bptt.cells.threads`).
    fl: layer 0's FusedLayer when the caller has built it (else built here).
    Returns (passes, O): passes[l] the LayerPass (or SlicedPass) of layer l, O the logits (T, B, O)."""
    fl = fuse(params, 0) if fl is None else fl
    k = sliced.count(x, fl, use_kernels(numba, fl), slices)
    with held(k):
        passes = _layers_forward(x, h0, c0, params, num_layers, numba, k, fl)
        Y = passes[-1].Ys[1:]
        T, B, H = Y.shape
        O = threads.dot(Y.reshape(T * B, H), params["V"].T, k).reshape(T, B, -1)   # V y(t), all t
    O += params["c"]                                     # o(t) = c + V y(t)
    return passes, O


def _layers_forward(x, h0, c0, params, num_layers, numba, k, fl):
    passes, inp = [], x
    for layer in range(num_layers):
        lp = layer_forward(inp, h0[layer], c0[layer], fl if layer == 0 else fuse(params, layer),
                           numba, k)
        passes.append(lp)
        inp = lp.Ys[1:]                                  # layer l's y(t) is layer l+1's x(t)
    return passes


def loss_and_backward(x, h0, c0, params, num_layers, output: str, y, weight,
                      numba: Optional[bool] = None, fl=None):
    """Forward, the loss J = Σ weight·L (`bptt.nn.losses.loss_and_error`) and full BPTT in one
    call. Sliced (see `forward`): the output layer and the loss in bands of positions
    (`bptt.cells.head`) between the layers' forward and BPTT; a loss pooled over time runs
    `forward`, the loss, then `backward` (fl as there). `pipeline.loss_and_backward` runs a
    softmax head's.

    Returns (J, passes, dx or None, ∂J/∂h0, ∂J/∂c0 (num_layers, B, H), grads keyed like params)."""
    fl = fuse(params, 0) if fl is None else fl
    k = sliced.count(x, fl, use_kernels(numba, fl), None)
    if not k or isinstance(y, MeanPooled):
        passes, o = forward(x, h0, c0, params, num_layers, numba, k, fl)
        J, _, do = loss_and_error(output, o, y, weight)
        return (J, passes) + backward(do, passes, params, numba)
    with cblas.one_thread():
        passes = _layers_forward(x, h0, c0, params, num_layers, numba, k, fl)
        J, dY, dV, dc = head_backward(passes[-1].Ys[1:], params["V"], params["c"], output, y,
                                      weight, k)
        dx, dh0, dc0, grads = _layers_backward(dY, False, passes, params, numba, k)
    grads["V"], grads["c"] = dV, dc
    return J, passes, dx, dh0, dc0, {name: grads[name] for name in params}


def backward(dO, passes, params, numba: Optional[bool] = None):
    """Full BPTT through the output layer and every layer, top first. dO: ∂J/∂o (T, B, O).
    A sliced pass (see `forward`) runs with OpenBLAS on one thread and its products split.

    Returns (dx or None, ∂J/∂h0, ∂J/∂c0 (num_layers, B, H), grads keyed like params)."""
    k = len(passes[0].slices) if isinstance(passes[0], sliced.SlicedPass) else 0
    with held(k):
        T, B, O = dO.shape
        Y_top = passes[-1].Ys[1:]
        H = Y_top.shape[-1]
        dO2 = dO.reshape(T * B, O)
        if k:                                            # Vᵀ ∂J/∂o(t): batch-major (T, B, H) in one
            dY = threads.dot(dO2, params["V"], k).reshape(T, B, H)   # product over k threads
        else:                                            # (the slices read either layout), else
            dY = np.matmul(params["V"].T, dO.transpose(0, 2, 1))     # feature-major (T, H, B)
        dx, dh0, dc0, grads = _layers_backward(dY, not k, passes, params, numba, k)
        grads["V"] = threads.dot(dO2.T, Y_top.reshape(T * B, H), k)  # Σ_t ∂J/∂o(t) y(t)ᵀ
    grads["c"] = dO2.sum(axis=0)                                     # Σ_t ∂J/∂o(t)
    return dx, dh0, dc0, {name: grads[name] for name in params}


def _layers_backward(dY, feature_major, passes, params, numba, k):
    """BPTT through every layer, top first, from the top's outside errors dY. Returns (dx or
    None, ∂J/∂h0, ∂J/∂c0, the layers' grads)."""
    L = len(passes)
    dh0, dc0, grads = [None] * L, [None] * L, {}
    for layer in reversed(range(L)):
        lp = passes[layer]
        dG, dh0[layer], dc0[layer], g = layer_backward(dY, lp, numba, feature_major)
        grads.update({key(name, layer): v for name, v in g.items()})
        if layer > 0 or lp.x.dtype.kind not in "iu":    # ∂J/∂x(t) = Σ_g W_gᵀ ∂J/∂ĝ(t): the outside
            dY = threads.dot(dG.T, lp.fl.W, k).reshape(lp.x.shape)  # error of the layer below, or ∂J/∂x
            feature_major = False
    dx = dY if passes[0].x.dtype.kind not in "iu" else None
    return dx, np.stack(dh0), np.stack(dc0), grads
