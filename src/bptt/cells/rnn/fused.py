"""The simple RNN's fast path: the same numbers as `reference`, with work fused across time.

Dimension letters: T time steps, B batch, D input size, H hidden size, O output size, N = T·B.

Only the recurrence itself runs step by step (one (B, H) @ (H, H) product and a few pointwise
calls per step, forward and backward). Everything that does not depend on the previous step is
done for all T steps at once:

- forward:  the input projections b + U x(t) for all t (one GEMM, or one row gather for token
            ids), the output layer o(t) = c + V h(t) for all t (one GEMM);
- backward: Vᵀ ∂J/∂o(t) for all t (one GEMM) before the loop, and after it every weight
            gradient as one GEMM over all steps: ∂J/∂W = Σ_t ∂J/∂a(t) h(t−1)ᵀ = dAᵀ H_prev,
            and so on.

States live in one buffer Hs of shape (T+1, B, H) per layer with Hs[0] = h0 and Hs[t+1] = h(t),
so h(t−1) for every step is the view Hs[:-1] — no copies, and h0 stays visible. With several
layers, layer l's h(t) (the view Hs_l[1:]) is layer l+1's x(t).

Speed notes (float32, one thread, OpenBLAS 0.3.31; measurements in benchmarks/RESULTS.md):
- the per-step products are `np.dot(..., out=buffer)`, no temporaries inside the loops;
- h(t−1) @ Wᵀ runs against a contiguous copy of Wᵀ: OpenBLAS's "NN" kernel is about 25 %
  faster than its "NT" one for these (B, H) @ (H, H) shapes, most of the forward's time;
- where a step's product is just above OpenBLAS's small-matrix limit, it is done in row blocks
  under the limit (`row_blocks`), bitwise the same numbers;
- the forward writes a(t) straight into Hs[t+1] and applies g in place there, so a separate
  (T, B, H) pre-activation buffer exists only when the caller asks for a(t) (keep_a);
- backward keeps only h(t) from the forward (every g' here is a function of g's output) and
  computes g' step by step into one (B, H) buffer (for small B·H, once for all steps);
- ∂J/∂U for token ids is a sorted segment sum, never np.add.at;
- glibc is asked to keep freed memory for reuse (`bptt.cells.fastpath.retain_freed_memory`),
  so the next call's buffers do not page-fault again.

Batch slices (`bptt.cells.rnn.slices`): in float32 with the numba kernels and NumPy's OpenBLAS,
`layer_forward` and `layer_backward` run the time loop in slices of the batch instead, each
slice's whole loop one numba kernel (`bptt.cells.slicing.count`: on two or more OpenBLAS
threads, for a layer's pass of at least `slices.MIN_FLOPS` GEMM flops, k = min(threads, B // 4)
slices on their own threads; otherwise one slice on the calling thread; `slices=` forces a
count; keep_a stays on this loop). The same arguments and results: Hs batch-major, dA overwritten with
∂J/∂a(t). OpenBLAS is held to one thread while they run (`bptt.cells.cblas.one_thread`), and
the products after the loop (∂J/∂W, ∂J/∂U, ∂J/∂x; the output layer's with `k`) are split over
bptt's threads (`bptt.cells.threads.dot`). The model decides k once per pass, holds OpenBLAS to
one thread for all of it and runs the output layer and the loss in bands of positions on the
threads (`bptt.cells.head`). Same numbers to float32 rounding. A bidirectional pass decides its
count once and holds OpenBLAS to one thread for all of it (`bptt.cells.bidirectional`): without
the hold, OpenBLAS's workers spun on the slices' cores between the layers (T50 B32 H256, 19 ms
sliced against 17.4 unsliced). Measured on 2 threads (2-vCPU AMD EPYC shared with other work,
float32, tanh, 65 token ids, forward + BPTT by model.loss_and_grads; best of 7 alternating rounds,
medians in brackets): T50 B32 H256 sliced 6.4 ms (6.7), this loop 9.2 (9.7), torch.nn.RNN + Linear 12.5
(14.2); T100 B64 H512 62 (67), 81 (86), 104 (116). Both layouts, and where slicing starts to pay,
are measured in `bptt.cells.rnn.slices`.
"""
from __future__ import annotations

import numpy as np

from . import slices as sliced
from .. import cblas, threads
from ...nn.activations import Activation
from ..fastpath import token_gradient

def _is_ids(x) -> bool:
    return x.dtype.kind in "iu"


# OpenBLAS's SkylakeX-family kernels compute a product with M·N·K <= 1e6 with an unpacked "small
# matrix" kernel; above that limit, the packed kernel re-packs W at every call. For per-step
# products (B, H) @ (H, H) just above the limit (B up to 32, H from 256 to 500), splitting the B
# rows into blocks under the limit made the whole float32 forward + BPTT 4-10 % faster at
# T50 B32 H256 on this machine (benchmarks/RESULTS.md). The blocks give bitwise the same numbers:
# each row's dot products are summed in the same order (tests/cells/test_bench_kernels.py). Other
# cores have no such kernel (`cblas.SMALL_KERNELS`), and there the whole product is one call.
_SMALL_GEMM_MNK = 1_000_000


def row_blocks(B: int, H: int, dtype) -> int:
    """The number of batch rows per per-step product: B (no split) or a block size m < B with
    m·H·H under OpenBLAS's small-matrix limit (see above)."""
    if (np.dtype(dtype) != np.float32 or not 256 <= H <= 500 or B > 32
            or B * H * H <= _SMALL_GEMM_MNK):
        return B
    m = 8 if 8 * H * H <= _SMALL_GEMM_MNK else 4 if 4 * H * H <= _SMALL_GEMM_MNK else B
    return m if m < B and cblas.SMALL_KERNELS else B


def _step_dot(a, b, out, m):
    """np.dot(a, b, out=out) for a (B, K); m rows at a time when m < B (see row_blocks)."""
    if m >= a.shape[0]:
        np.dot(a, b, out=out)
        return
    for i in range(0, a.shape[0], m):
        np.dot(a[i:i + m], b, out=out[i:i + m])


def _in_place(act: Activation):
    """g as a function f(a) -> None that overwrites a with g(a)."""
    if act.name == "tanh":
        return lambda a: np.tanh(a, out=a)
    if act.name == "relu":
        return lambda a: np.maximum(a, 0, out=a)
    if act.name == "identity":
        return lambda a: None
    return lambda a: act.apply(a, a)


def input_projection(x, U, b, out=None):
    """b + U x(t) for all steps: (T, B, H), written into `out` (a C-contiguous (T, B, H) array)
    when given.

    Token ids gather rows of (Uᵀ + b): b + U[:, id] with one addition per entry, as the
    reference path does, but done once per vocabulary entry rather than once per position.
    """
    T, B = x.shape[:2]
    H = U.shape[0]
    if out is None:
        out = np.empty((T, B, H), dtype=U.dtype)
    if _is_ids(x):
        table = np.add(U.T, b)                              # (D, H): row k is b + U[:, k]
        np.take(table, x, axis=0, out=out, mode="clip")     # gather                  (T, B, H)
        # (ids are validated at the public edge; mode="raise" would gather into a temporary copy)
    else:
        np.dot(x.reshape(T * B, -1), U.T, out=out.reshape(T * B, H))   # one GEMM      (T, B, H)
        out += b
    return out


def layer_forward(x, h0, U, W, b, act: Activation, keep_a: bool = False, slices=None):
    """One recurrent layer over all steps. Returns (A or None, Hs): A the pre-activations
    (T, B, H) when keep_a, Hs (T+1, B, H) with Hs[0] = h0.

    Without keep_a, a(t) is built in Hs[t+1] and g applied there in place: no (T, B, H) buffer
    besides Hs. slices: run in batch slices on threads (`bptt.cells.rnn.slices`; not with
    keep_a): None decides by OpenBLAS's threads, 0 never, k that many.
    """
    if not keep_a:
        k = sliced.count(x, W, act, slices)
        if k:
            return None, sliced.layer_forward(x, h0, U, W, b, act, k)
    T, B = x.shape[:2]
    H = W.shape[0]
    Hs = np.empty((T + 1, B, H), dtype=W.dtype)
    Hs[0] = h0
    WT = np.ascontiguousarray(W.T)                          # (H, H): NN GEMM in the loop
    rec = np.empty((B, H), dtype=W.dtype)                   # W h(t−1), one buffer for all steps
    m = row_blocks(B, H, W.dtype)
    if keep_a:
        A = input_projection(x, U, b)                       # b + U x(t)              (T, B, H)
        for h_prev, a_t, h_t in zip(Hs[:-1], A, Hs[1:]):
            _step_dot(h_prev, WT, rec, m)                   # W h(t−1)                (B, H)
            a_t += rec                                      # a(t) = b + U x(t) + W h(t−1)
            act.apply(a_t, h_t)                             # h(t) = g(a(t))
        return A, Hs
    g = _in_place(act)
    input_projection(x, U, b, out=Hs[1:])                   # Hs[t+1] = b + U x(t), for now
    for h_prev, a_t in zip(Hs[:-1], Hs[1:]):
        _step_dot(h_prev, WT, rec, m)                       # W h(t−1)                (B, H)
        a_t += rec                                          # a(t) = b + U x(t) + W h(t−1)
        g(a_t)                                              # h(t) = g(a(t)), in place
    return None, Hs


def output_forward(h, V, c, k: int = 0):
    """o(t) = c + V h(t) for all steps: (T, B, O). k > 1: the product split over k of bptt's
    threads (a sliced pass, OpenBLAS held to one thread)."""
    T, B, H = h.shape
    O = threads.dot(h.reshape(T * B, H), V.T, k).reshape(T, B, -1)   # one GEMM       (T, B, O)
    O += c
    return O


def grad_from_output(act: Activation, h, out=None):
    """g'(a) from h = g(a) for all steps at once, into `out` when given (no temporaries for
    the built-in activations)."""
    name = act.name
    if out is None:
        out = np.empty_like(h)
    if name == "tanh":
        np.multiply(h, h, out=out)
        np.subtract(1, out, out=out)                        # 1 − h²
    elif name == "sigmoid":
        np.subtract(1, h, out=out)
        out *= h                                            # h (1 − h)
    elif name == "relu":
        np.greater(h, 0, out=out)                           # [h > 0], as 0.0 / 1.0
    else:
        out[...] = act.grad_from_output(h)
    return out


# From this many entries per step (B·H) on, g'(a(t)) is computed step by step into one (B, H)
# buffer: no (T, B, H) array for it, and the two extra ufunc calls per step cost less than
# writing and re-reading a (T, B, H) array. Below it, one vectorized pass (fewer Python calls).
_PER_STEP_GRAD_MIN = 4096


def layer_backward(dA, x, Hs, U, W, act: Activation, need_dx: bool = True, slices=None):
    """BPTT through one layer. dA holds, on entry, the error reaching h(t) from outside the
    recurrence (Vᵀ ∂J/∂o(t) for the top layer, ∂J/∂x(t) of the layer above otherwise), (T, B, H);
    it is overwritten with ∂J/∂a(t). slices: as in `layer_forward` (the backward needs only Hs,
    so either pass may run sliced without the other).

    Returns (dx or None, ∂J/∂h0, dU, dW, db).
    """
    k = sliced.count(x, W, act, slices)
    if k:
        return sliced.layer_backward(dA, x, Hs, U, W, act, need_dx, k)
    T, B, H = dA.shape
    m = row_blocks(B, H, W.dtype)
    dh_rec = np.empty((B, H), dtype=dA.dtype)              # Wᵀ ∂J/∂a(t+1)
    if act.name == "identity":                             # g' = 1
        G, g = None, None
    elif B * H >= _PER_STEP_GRAD_MIN:
        G, g = None, np.empty((B, H), dtype=dA.dtype)      # g'(a(t)), one step at a time
    else:
        G, g = grad_from_output(act, Hs[1:]), None         # g'(a(t)) for all t       (T, B, H)
    for t in range(T - 1, -1, -1):
        da_t = dA[t]
        if t < T - 1:                                      # Wᵀ ∂J/∂a(T) = 0
            da_t += dh_rec                                 # ∂J/∂h(t) = (error from outside) + Wᵀ ∂J/∂a(t+1)
        if g is not None:
            da_t *= grad_from_output(act, Hs[t + 1], g)    # ∂J/∂a(t) = g'(a(t)) ⊙ ∂J/∂h(t)
        elif G is not None:
            da_t *= G[t]                                   # ∂J/∂a(t) = g'(a(t)) ⊙ ∂J/∂h(t)
        _step_dot(da_t, W, dh_rec, m)                      # Wᵀ ∂J/∂a(t)
    dA2 = dA.reshape(T * B, H)
    if _is_ids(x):
        dU = token_gradient(x, dA, U.shape, U.dtype)
        dx = None
    else:
        x2 = x.reshape(T * B, -1)
        dU = np.dot(dA2.T, x2)                             # Σ_t ∂J/∂a(t) x(t)ᵀ
        dx = np.dot(dA2, U).reshape(x.shape) if need_dx else None  # ∂J/∂x(t) = Uᵀ ∂J/∂a(t)
    dW = np.dot(dA2.T, Hs[:-1].reshape(T * B, H))          # Σ_t ∂J/∂a(t) h(t−1)ᵀ
    db = dA2.sum(axis=0)                                   # Σ_t ∂J/∂a(t)
    return dx, dh_rec, dU, dW, db


def output_backward(dO, h, V, k: int = 0):
    """From ∂J/∂o (T, B, O) to (Vᵀ ∂J/∂o(t) for all t (T, B, H), ∂J/∂V, ∂J/∂c). k: as in
    `output_forward`."""
    T, B, O = dO.shape
    dO2 = dO.reshape(T * B, O)
    return (threads.dot(dO2, V, k).reshape(T, B, -1),      # Vᵀ ∂J/∂o(t)
            threads.dot(dO2.T, h.reshape(T * B, -1), k),   # Σ_t ∂J/∂o(t) h(t)ᵀ
            dO2.sum(axis=0))                               # Σ_t ∂J/∂o(t)
