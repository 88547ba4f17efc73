"""Output functions f and losses L, with the error ∂J/∂o they send back.

J = (1/B) Σ_b Σ_t mask[t, b] · L(t, b), the sum over time steps and the mean over the batch.

    softmax + cross-entropy:  ŷ = softmax(o),  L = −log ŷ[y] = logsumexp(o) − o[y]
                              ∂L/∂o = ŷ − onehot(y)
    identity + squared error: ŷ = o,           L = ½‖o − y‖²
                              ∂L/∂o = o − y
All functions take logits of any leading shape (..., O): (B, O) for an MLP, (T, B, O) for an RNN.
"""
from __future__ import annotations

import numpy as np

OUTPUTS = ("softmax", "identity")


def log_softmax(o: np.ndarray) -> np.ndarray:
    """log ŷ = o − logsumexp(o), stable for logits of any size."""
    m = o.max(axis=-1, keepdims=True)
    z = o - m
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def softmax(o: np.ndarray) -> np.ndarray:
    z = np.exp(o - o.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def output_fn(name: str, o: np.ndarray) -> np.ndarray:
    """ŷ = f(o)."""
    return softmax(o) if name == "softmax" else o.copy()


def per_step_loss(name: str, o: np.ndarray, y: np.ndarray) -> np.ndarray:
    """L for every position: shape o.shape[:-1]. y holds class ids (softmax) or targets (identity)."""
    if name == "softmax":
        logp = log_softmax(o)
        return -np.take_along_axis(logp, y[..., None], axis=-1)[..., 0]   # −log ŷ[y]
    diff = o - y
    return 0.5 * np.einsum("...k,...k->...", diff, diff)                 # ½‖o − y‖²


def loss_and_error(name: str, o: np.ndarray, y: np.ndarray, weight: np.ndarray):
    """Total loss Σ weight·L and its error ∂J/∂o, where weight (o.shape[:-1]) already holds mask/B.

    Returns (J, ŷ, ∂J/∂o).
    """
    if name == "softmax":
        logp = log_softmax(o)
        y_hat = np.exp(logp)
        nll = -np.take_along_axis(logp, y[..., None], axis=-1)[..., 0]
        loss = float((weight * nll).sum())
        do = y_hat.copy()
        np.put_along_axis(do, y[..., None],
                          np.take_along_axis(do, y[..., None], axis=-1) - 1, axis=-1)  # ŷ − onehot(y)
    else:
        y_hat = o.copy()
        diff = o - y
        loss = float((weight * 0.5 * np.einsum("...k,...k->...", diff, diff)).sum())
        do = diff                                                                      # o − y
    do *= weight[..., None]
    return loss, y_hat, do


def per_step_total(name: str, o: np.ndarray, y: np.ndarray, weight: np.ndarray) -> float:
    """Σ weight·L without computing the error (forward-only evaluation)."""
    return float((weight * per_step_loss(name, o, y)).sum())
