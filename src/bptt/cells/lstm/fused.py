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

- forward: the input projections W x(t) for all steps in one GEMM over the N rows (token ids: one
  gather of rows of the (D, 4H) table Wᵀ), transposed once to (T, 4H, B); per step the recurrent
  product [R | b] [y(t−1); 1] (the bias rides in the GEMM, K = H + 1) is added. σ(a) =
  ½ tanh(½a) + ½, and the i, f, o rows of the forward's copies of W, R, b and the peepholes are
  pre-multiplied by ½ (exact in floating point), so one tanh over the (4H, B) block gives z and
  the three tanh(½a) at once.
- backward: per step the pointwise error equations on the block (the gate values are overwritten
  by ∂J/∂ĝ, which is all the weight gradients need) and one (H, 4H) @ (4H, B) GEMM for
  Σ_g R_gᵀ ∂J/∂ĝ(t). After the loop ∂J/∂ĝ is laid out as one (4H, N) matrix dG and every weight
  gradient is one GEMM over all steps: ∂J/∂R = dG Y_prev, ∂J/∂W = dG X (token ids: dG times the
  (N, D) one-hot matrix, or a sorted segment sum for a vocabulary over ONE_HOT_MAX).
- On one OpenBLAS thread the per-step products run as row blocks under its small-matrix bound
  (`bptt.cells.fastpath.SMALL_GEMM`): those kernels skip packing the 1 MB weight matrix at every step (~100 µs a
  product instead of ~137 µs here). On more threads the whole product is threaded instead.
- With numba installed the pointwise steps run as one-pass kernels (`bptt.cells.lstm.kernels`, same
  numbers), the token ids are looked up per step and ∂J/∂ĝ is written batch-major per step.

Buffers of a pass, per layer: Gf (T, 4H, B) the gate values [z; i; f; o]; Ys (T+1, B, H) with
Ys[0] = y(−1), Ys[t+1] = y(t), batch-major (the next layer's input, the output layer's input and
∂J/∂R's right factor); Cf (T+1, H, B) the cells, Cf[0] = c(−1); TCf (T, H, B) tanh(c(t)). The
backward adds dG (N·4H). Callers read the batch-major views `.G` and `.Cs` of a LayerPass.

Speed (float32, one thread, OpenBLAS 0.3.31 SkylakeX kernels, T=50, B=32, H=256, D=O=65 tokens,
loss and full BPTT): ≈ 28-30 ms with NumPy, ≈ 24-26 ms with the numba kernels, of which the GEMMs
are ≈ 17.5 ms (the 100 per-step products ≈ 10 ms, ∂J/∂R ≈ 5.4 ms, the output layer ≈ 1.5 ms).
The rest, NumPy path: the two transposes of (T, 4H, B) ≈ 2 ms, ∂J/∂W's one-hot GEMM ≈ 1.7 ms,
≈ 35 ufunc calls per step ≈ 4.5 ms. (torch.nn.LSTM, oneDNN: 25-33 ms, depending on the process.)
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from . import kernels as kernels
from ..fastpath import row_blocks, token_gradient
from .reference import GATES, key, layer_params

ONE_HOT_MAX = 256    # NumPy path, token ids: ∂J/∂W as a GEMM with the one-hot matrix up to this D


class FusedLayer(NamedTuple):
    W: np.ndarray            # (4H, D) [W_z; W_i; W_f; W_o], for ∂J/∂x
    RT: np.ndarray           # (H, 4H) Rᵀ, contiguous, for Σ_g R_gᵀ ∂J/∂ĝ
    WsT: np.ndarray          # (D, 4H) Wᵀ with the i, f, o columns halved, contiguous
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
    W, WsT = np.empty((4 * H, D), dtype=dt), np.empty((D, 4 * H), dtype=dt)
    RT, Rbs = np.empty((H, 4 * H), dtype=dt), np.empty((4 * H, H + 1), dtype=dt)
    for k, g in enumerate(GATES):
        rows, s = slice(k * H, (k + 1) * H), dt.type(1 if g == "z" else 0.5)   # ẑ whole; î, f̂, ô halved
        W[rows] = p[f"W_{g}"]
        np.multiply(p[f"W_{g}"].T, s, out=WsT[:, rows])
        RT[:, rows] = p[f"R_{g}"].T
        np.multiply(p[f"R_{g}"], s, out=Rbs[rows, :H])
        np.multiply(p[f"b_{g}"], s, out=Rbs[rows, H])
    peep = np.stack([p["p_i"], p["p_f"], p["p_o"]]) if "p_i" in p else None   # (3, H)
    return FusedLayer(W, RT, WsT, Rbs, peep)


def input_projection(x, fl: FusedLayer):
    """W x(t) for all steps, the i, f, o parts halved, batch-major: (T, B, 4H), a new buffer."""
    T, B = x.shape[:2]
    if x.dtype.kind in "iu":
        return np.take(fl.WsT, x, axis=0)                             # gather rows      (T, B, 4H)
    return np.dot(x.reshape(T * B, -1), fl.WsT).reshape(T, B, -1)    # one GEMM         (T, B, 4H)


def use_kernels(choice: Optional[bool], fl: FusedLayer) -> bool:
    """Whether a layer runs the numba kernels. choice None: when numba is installed; layers with
    peepholes take the NumPy path."""
    if choice is None:
        choice = kernels.AVAILABLE
    elif choice and not kernels.AVAILABLE:
        raise RuntimeError("The numba kernels were asked for, but numba is not installed "
                           "(pip install bptt[numba]) or BPTT_NUMBA=0 is set.")
    return bool(choice) and fl.p is None


def _peepholes(fl: FusedLayer, B: int, scale: float):
    """scale·[p_i, p_f, p_o] broadcast to contiguous (3, H, B) blocks, or None."""
    if fl.p is None:
        return None
    return np.ascontiguousarray(np.broadcast_to((scale * fl.p)[:, :, None], fl.p.shape + (B,)))


def layer_forward(x, y0, c0, fl: FusedLayer, numba: Optional[bool] = None) -> LayerPass:
    """One layer over all steps from y(−1) = y0, c(−1) = c0, each (B, H). numba: run the kernels
    of `bptt.cells.lstm.kernels` (None: when numba is installed); the same numbers either way."""
    T, B = x.shape[:2]
    H, dt = fl.RT.shape[0], fl.RT.dtype
    jit = use_kernels(numba, fl)
    ids = jit and x.dtype.kind in "iu"                                # looked up per step
    Gf = np.empty((T, 4 * H, B), dtype=dt)
    if ids:
        tableT = np.ascontiguousarray(fl.WsT.T)                       # (4H, D)
        if x.min() < 0 or x.max() >= tableT.shape[1]:
            raise IndexError(f"token ids must lie in [0, {tableT.shape[1]}). "
                             f"Got {x.min()} to {x.max()}.")
    else:
        np.copyto(Gf, input_projection(x, fl).transpose(0, 2, 1))     # W x(t) for all t   (T, 4H, B)
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
        if ids:
            kernels.gates_in_ids_nb(rec, tableT, x[t], g)            # [ẑ; ½î; ½f̂; ½ô]
        else:
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


def layer_backward(dY, lp: LayerPass, numba: Optional[bool] = None):
    """Full BPTT through one layer. dY (T, B, H): the errors reaching y(t) from outside the
    recurrence (read only). lp.Gf is overwritten with ∂J/∂ĝ(t).

    Returns (dG, ∂J/∂y(−1), ∂J/∂c(−1), grads under the layer's plain names): dG (4H, N) holds
    ∂J/∂ĝ = [∂J/∂ẑ; ∂J/∂î; ∂J/∂f̂; ∂J/∂ô], one column per position (t, b) (C- or F-ordered); the
    state errors are (B, H)."""
    Gf, Ys, Cf, TCf, fl = lp.Gf, lp.Ys, lp.Cf, lp.TCf, lp.fl
    T, H4, B = Gf.shape
    H, N, D, dt = H4 // 4, T * B, fl.W.shape[1], Gf.dtype
    ids = lp.x.dtype.kind in "iu"
    jit = use_kernels(numba, fl)
    rows = jit or (ids and D > ONE_HOT_MAX)              # dG batch-major: the kernels write it per
    dG = np.empty((T, B, H4) if rows else (H4, T, B), dtype=dt)   # step; the segment sum reads it
    dy_rec = np.zeros((H, B), dtype=dt)                  # Σ_g R_gᵀ ∂J/∂ĝ(T) = 0
    carry = np.zeros((H, B), dtype=dt)                   # the part of ∂J/∂c(t) from step t+1
    work = [np.empty((H, B), dtype=dt) for _ in range(5)]
    blocks = row_blocks(fl.RT, dy_rec, B)
    P = _peepholes(fl, B, 1.0)
    for t in range(T - 1, -1, -1):
        if jit:
            kernels.transpose_nb(dY[t], work[0])         # the outside errors, feature-major
            kernels.cell_backward_nb(dy_rec, work[0], Gf[t], TCf[t], Cf[t], carry)
        else:
            kernels.cell_backward(dy_rec, dY[t], Gf[t], TCf[t], Cf[t], carry, work, P)
        for Rb, out in blocks:
            np.dot(Rb, Gf[t], out=out)                   # Σ_g R_gᵀ ∂J/∂ĝ(t)     (H, 4H) @ (4H, B)
        if jit:
            kernels.transpose_nb(Gf[t], dG[t])
    if not jit:                                          # one pass after the loop
        np.copyto(dG, Gf.transpose(0, 2, 1) if rows else Gf.transpose(1, 0, 2))
    dG = dG.reshape(N, H4).T if rows else dG.reshape(H4, N)   # ∂J/∂ĝ, all positions  (4H, N)
    if ids:
        dW = token_weight_gradient(lp.x, dG, D, jit)
    else:
        dW = np.dot(dG, lp.x.reshape(N, D))              # Σ_t ∂J/∂ĝ(t) x(t)ᵀ              (4H, D)
    dR = np.dot(dG, Ys[:-1].reshape(N, H))               # Σ_t ∂J/∂ĝ(t) y(t−1)ᵀ            (4H, H)
    db = dG.sum(axis=1)                                  # Σ_t ∂J/∂ĝ(t)                    (4H,)
    grads = {}
    for k, g in enumerate(GATES):
        r = slice(k * H, (k + 1) * H)
        grads[f"W_{g}"], grads[f"R_{g}"], grads[f"b_{g}"] = dW[r], dR[r], db[r]
    if fl.p is not None:
        Cn = np.ascontiguousarray(Cf.transpose(1, 0, 2)).reshape(H, N + B)   # (H, (T+1)·B)
        c_prev, c = Cn[:, :N], Cn[:, B:]
        grads["p_i"] = np.einsum("hn,hn->h", dG[H:2 * H], c_prev)       # Σ_t ∂J/∂î ⊙ c(t−1)
        grads["p_f"] = np.einsum("hn,hn->h", dG[2 * H:3 * H], c_prev)   # Σ_t ∂J/∂f̂ ⊙ c(t−1)
        grads["p_o"] = np.einsum("hn,hn->h", dG[3 * H:], c)             # Σ_t ∂J/∂ô ⊙ c(t)
    return dG, np.ascontiguousarray(dy_rec.T), np.ascontiguousarray(carry.T), grads


def token_weight_gradient(ids, dG, D: int, jit: bool):
    """∂J/∂W (4H, D) for token ids (T, B): column k sums the columns of dG (4H, N) at the
    positions where id = k. numba: a scatter-add; NumPy: one GEMM with the (N, D) one-hot matrix
    (its zero products add nothing) up to D = ONE_HOT_MAX, else a sorted segment sum."""
    H4, N = dG.shape
    if jit:
        dWT = np.zeros((D, H4), dtype=dG.dtype)
        kernels.token_scatter_nb(ids.reshape(N), dG.T, dWT)
        return np.ascontiguousarray(dWT.T)
    if D <= ONE_HOT_MAX:
        onehot = np.zeros((N, D), dtype=dG.dtype)
        onehot[np.arange(N), ids.reshape(N)] = 1
        return np.dot(dG, onehot)                        # (4H, N) @ (N, D)
    return np.ascontiguousarray(token_gradient(ids, dG.T, (H4, D), dG.dtype))


def forward(x, h0, c0, params, num_layers, numba: Optional[bool] = None):
    """Every layer, then the output layer. h0, c0 (num_layers, B, H).

    Returns (passes, O): passes[l] the LayerPass of layer l, O the logits (T, B, O)."""
    passes, inp = [], x
    for layer in range(num_layers):
        lp = layer_forward(inp, h0[layer], c0[layer], fuse(params, layer), numba)
        passes.append(lp)
        inp = lp.Ys[1:]                                  # layer l's y(t) is layer l+1's x(t)
    T, B, H = inp.shape
    O = np.dot(inp.reshape(T * B, H), params["V"].T).reshape(T, B, -1)   # o(t) = c + V y(t), all t
    O += params["c"]
    return passes, O


def backward(dO, passes, params, numba: Optional[bool] = None):
    """Full BPTT through the output layer and every layer, top first. dO: ∂J/∂o (T, B, O).

    Returns (dx or None, ∂J/∂h0, ∂J/∂c0 (num_layers, B, H), grads keyed like params)."""
    T, B, O = dO.shape
    Y_top = passes[-1].Ys[1:]
    H = Y_top.shape[-1]
    N = T * B
    dO2 = dO.reshape(N, O)
    grads = {"V": np.dot(dO2.T, Y_top.reshape(N, H)),  # Σ_t ∂J/∂o(t) y(t)ᵀ
             "c": dO2.sum(axis=0)}                       # Σ_t ∂J/∂o(t)
    dY = np.dot(dO2, params["V"]).reshape(T, B, H)      # Vᵀ ∂J/∂o(t) for all t
    L = len(passes)
    dh0, dc0 = [None] * L, [None] * L
    for layer in reversed(range(L)):
        lp = passes[layer]
        dG, dh0[layer], dc0[layer], g = layer_backward(dY, lp, numba)
        grads.update({key(name, layer): v for name, v in g.items()})
        if layer > 0 or lp.x.dtype.kind not in "iu":    # ∂J/∂x(t) = Σ_g W_gᵀ ∂J/∂ĝ(t): the outside
            dY = np.dot(dG.T, lp.fl.W).reshape(lp.x.shape)  # error of the layer below, or ∂J/∂x
    dx = dY if passes[0].x.dtype.kind not in "iu" else None
    return dx, np.stack(dh0), np.stack(dc0), {k: grads[k] for k in params}
