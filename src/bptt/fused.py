"""The simple RNN's fast path: the same numbers as `reference`, with work fused across time.

Only the recurrence itself runs step by step (one (B, H) @ (H, H) product and one pointwise
nonlinearity per step, forward and backward). Everything that does not depend on the previous
step is done for all T steps at once:

- forward:  the input projections U x(t) for all t (one GEMM, or one gather for token ids),
            the output layer o(t) = c + V h(t) for all t (one GEMM);
- backward: Vᵀ ∂J/∂o(t) for all t (one GEMM) before the loop, and after it every weight gradient
            as one GEMM over all steps: ∂J/∂W = Σ_t ∂J/∂a(t) h(t−1)ᵀ = dAᵀ H_prev, and so on.

States live in one buffer Hs of shape (T+1, B, H) with Hs[0] = h0 and Hs[t+1] = h(t), so h(t−1)
for every step is the view Hs[:-1] — no copies, and h0 stays visible.
"""
from __future__ import annotations

import numpy as np

from .activations import Activation


def fused_input_projection(x, U, b):
    """b + U x(t) for all steps: (T, B, H), freshly allocated (it becomes the a(t) buffer)."""
    T, B = x.shape[:2]
    if x.dtype.kind in "iu":
        A = U.T[x]                                        # gather columns of U     (T, B, H)
    else:
        A = (x.reshape(T * B, -1) @ U.T).reshape(T, B, -1)  # one GEMM              (T, B, H)
    A += b
    return A


def fused_forward(x, h0, params, act: Activation, keep_a: bool = False):
    """Returns (A, Hs, O): A the pre-activations (T, B, H) if keep_a else None, Hs (T+1, B, H)
    with Hs[0] = h0, O the logits (T, B, O)."""
    W, V = params["W"], params["V"]
    T, B = x.shape[:2]
    H = W.shape[0]
    A = fused_input_projection(x, params["U"], params["b"])
    Hs = np.empty((T + 1, B, H), dtype=A.dtype)
    Hs[0] = h0
    WT = W.T
    for t in range(T):
        a_t = A[t]
        a_t += Hs[t] @ WT                                  # a(t) = b + U x(t) + W h(t−1)
        act.apply(a_t, Hs[t + 1])                          # h(t) = g(a(t))
    O = (Hs[1:].reshape(T * B, H) @ V.T).reshape(T, B, -1)  # o(t) = c + V h(t), all t at once
    O += params["c"]
    return (A if keep_a else None), Hs, O


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


def fused_backward(dO, x, Hs, params, act: Activation):
    """Full BPTT over the fused buffers. dO: ∂J/∂o (T, B, O).

    Returns (dx or None, ∂J/∂h0, grads).
    """
    U, W, V = params["U"], params["W"], params["V"]
    T, B, O = dO.shape
    H = W.shape[0]
    dO2 = dO.reshape(T * B, O)
    dA = (dO2 @ V).reshape(T, B, H)                       # Vᵀ ∂J/∂o(t) for all t; becomes ∂J/∂a
    dh_rec = np.zeros((B, H), dtype=dA.dtype)              # Wᵀ ∂J/∂a(T) = 0
    for t in range(T - 1, -1, -1):
        da_t = dA[t]
        da_t += dh_rec                                     # ∂J/∂h(t) = Vᵀ ∂J/∂o(t) + Wᵀ ∂J/∂a(t+1)
        da_t *= act.grad_from_output(Hs[t + 1])            # ∂J/∂a(t) = g'(a(t)) ⊙ ∂J/∂h(t)
        dh_rec = da_t @ W                                  # Wᵀ ∂J/∂a(t)
    dA2 = dA.reshape(T * B, H)
    grads = {}
    if x.dtype.kind in "iu":
        grads["U"] = token_gradient(x, dA, U.shape, U.dtype)
        dx = None
    else:
        x2 = x.reshape(T * B, -1)
        grads["U"] = dA2.T @ x2                            # Σ_t ∂J/∂a(t) x(t)ᵀ
        dx = (dA2 @ U).reshape(x.shape)                    # ∂J/∂x(t) = Uᵀ ∂J/∂a(t)
    grads["W"] = dA2.T @ Hs[:-1].reshape(T * B, H)         # Σ_t ∂J/∂a(t) h(t−1)ᵀ
    grads["b"] = dA2.sum(axis=0)                           # Σ_t ∂J/∂a(t)
    grads["V"] = dO2.T @ Hs[1:].reshape(T * B, H)          # Σ_t ∂J/∂o(t) h(t)ᵀ
    grads["c"] = dO2.sum(axis=0)                           # Σ_t ∂J/∂o(t)
    return dx, dh_rec, grads
