"""The simple RNN's fast path: the same numbers as `reference`, with work fused across time.

Only the recurrence itself runs step by step (one (B, H) @ (H, H) product and one pointwise
nonlinearity per step, forward and backward). Everything that does not depend on the previous
step is done for all T steps at once:

- forward:  the input projections U x(t) for all t (one GEMM, or one gather for token ids),
            the output layer o(t) = c + V h(t) for all t (one GEMM);
- backward: Vᵀ ∂J/∂o(t) for all t (one GEMM) before the loop, and after it every weight gradient
            as one GEMM over all steps: ∂J/∂W = Σ_t ∂J/∂a(t) h(t−1)ᵀ = dAᵀ H_prev, and so on.

States live in one buffer Hs of shape (T+1, B, H) per layer with Hs[0] = h0 and Hs[t+1] = h(t),
so h(t−1) for every step is the view Hs[:-1] — no copies, and h0 stays visible. With several
layers, layer l's h(t) (the view Hs_l[1:]) is layer l+1's x(t).
"""
from __future__ import annotations

import numpy as np

from .activations import Activation


def input_projection(x, U, b):
    """b + U x(t) for all steps: (T, B, H), freshly allocated (it becomes the a(t) buffer)."""
    T, B = x.shape[:2]
    if x.dtype.kind in "iu":
        A = U.T[x]                                          # gather columns of U     (T, B, H)
    else:
        A = (x.reshape(T * B, -1) @ U.T).reshape(T, B, -1)  # one GEMM                (T, B, H)
    A += b
    return A


def layer_forward(x, h0, U, W, b, act: Activation, keep_a: bool = False):
    """One recurrent layer over all steps. Returns (A or None, Hs): A the pre-activations
    (T, B, H) when keep_a, Hs (T+1, B, H) with Hs[0] = h0."""
    T, B = x.shape[:2]
    H = W.shape[0]
    A = input_projection(x, U, b)
    Hs = np.empty((T + 1, B, H), dtype=A.dtype)
    Hs[0] = h0
    WT = W.T
    for t in range(T):
        a_t = A[t]
        a_t += Hs[t] @ WT                                  # a(t) = b + U x(t) + W h(t−1)
        act.apply(a_t, Hs[t + 1])                          # h(t) = g(a(t))
    return (A if keep_a else None), Hs


def output_forward(h, V, c):
    """o(t) = c + V h(t) for all steps: (T, B, O)."""
    T, B, H = h.shape
    O = (h.reshape(T * B, H) @ V.T).reshape(T, B, -1)
    O += c
    return O


def token_gradient(ids, dA, shape, dtype):
    """∂J/∂U for token inputs: column U[:, k] gets Σ of ∂J/∂a over the positions where id = k.

    A sorted segment sum (np.add.reduceat), much faster than np.add.at.
    """
    flat = ids.ravel()
    rows = dA.reshape(flat.size, -1)
    order = np.argsort(flat, kind="stable")
    sorted_ids = flat[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    dUT = np.zeros((shape[1], shape[0]), dtype=dtype)     # (D, H)
    dUT[sorted_ids[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    return dUT.T


def layer_backward(dA, x, Hs, U, W, act: Activation, need_dx: bool = True):
    """BPTT through one layer. dA holds, on entry, the error reaching h(t) from outside the
    recurrence (Vᵀ ∂J/∂o(t) for the top layer, ∂J/∂x(t) of the layer above otherwise), (T, B, H);
    it is overwritten with ∂J/∂a(t).

    Returns (dx or None, ∂J/∂h0, dU, dW, db).
    """
    T, B, H = dA.shape
    dh_rec = np.zeros((B, H), dtype=dA.dtype)              # Wᵀ ∂J/∂a(T) = 0
    for t in range(T - 1, -1, -1):
        da_t = dA[t]
        da_t += dh_rec                                     # ∂J/∂h(t) = (error from outside) + Wᵀ ∂J/∂a(t+1)
        da_t *= act.grad_from_output(Hs[t + 1])            # ∂J/∂a(t) = g'(a(t)) ⊙ ∂J/∂h(t)
        dh_rec = da_t @ W                                  # Wᵀ ∂J/∂a(t)
    dA2 = dA.reshape(T * B, H)
    if x.dtype.kind in "iu":
        dU = token_gradient(x, dA, U.shape, U.dtype)
        dx = None
    else:
        x2 = x.reshape(T * B, -1)
        dU = dA2.T @ x2                                    # Σ_t ∂J/∂a(t) x(t)ᵀ
        dx = (dA2 @ U).reshape(x.shape) if need_dx else None  # ∂J/∂x(t) = Uᵀ ∂J/∂a(t)
    dW = dA2.T @ Hs[:-1].reshape(T * B, H)                 # Σ_t ∂J/∂a(t) h(t−1)ᵀ
    db = dA2.sum(axis=0)                                   # Σ_t ∂J/∂a(t)
    return dx, dh_rec, dU, dW, db


def output_backward(dO, h, V):
    """From ∂J/∂o (T, B, O) to (Vᵀ ∂J/∂o(t) for all t (T, B, H), ∂J/∂V, ∂J/∂c)."""
    T, B, O = dO.shape
    dO2 = dO.reshape(T * B, O)
    return ((dO2 @ V).reshape(T, B, -1),                   # Vᵀ ∂J/∂o(t)
            dO2.T @ h.reshape(T * B, -1),                  # Σ_t ∂J/∂o(t) h(t)ᵀ
            dO2.sum(axis=0))                               # Σ_t ∂J/∂o(t)
