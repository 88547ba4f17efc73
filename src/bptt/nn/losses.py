"""Output functions f and losses L, with the error ∂J/∂o they send back.

J = (1/B) Σ_b Σ_t mask[t, b] · L(t, b), the sum over time steps and the mean over the batch.

    softmax + cross-entropy:  ŷ = softmax(o),  L = −log ŷ[y] = logsumexp(o) − o[y]
                              ∂L/∂o = ŷ − onehot(y)
    identity + squared error: ŷ = o,           L = ½‖o − y‖²
                              ∂L/∂o = o − y
All functions take logits of any leading shape (..., O): (B, O) for an MLP, (T, B, O) for an RNN.

A loss on the mean of the outputs over time (many-to-one, `bptt.cells.pooling`) takes targets
`MeanPooled(y)`, one per sequence: with the weights w[t, b] (mask/B, 0 on the padding),

    ō(b) = Σ_t w[t, b] o(t, b) / Σ_t w[t, b]        J = (1/B) Σ_b L(ō(b), y(b))
    ∂J/∂o(t, b) = (w[t, b] / Σ_t w[t, b]) · (1/B) ∂L/∂ō(b)
"""
from __future__ import annotations

import numpy as np

OUTPUTS = ("softmax", "identity")


def _shifted_exp(o: np.ndarray):
    """(m, e, s): m = max(o) per row (..., 1), e = exp(o − m) (a new buffer), s = Σ e (..., 1)."""
    m = o.max(axis=-1, keepdims=True)
    e = np.subtract(o, m)                                   # z = o − m
    np.exp(e, out=e)                                        # e^z, in place
    ones = np.ones(o.shape[-1], dtype=e.dtype)
    s = np.dot(e.reshape(-1, o.shape[-1]), ones)            # Σ e^z: a GEMV, several times np.sum's speed
    return m, e, s.reshape(m.shape)


def _at_targets(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """a[..., y] for every position: shape a.shape[:-1]."""
    rows = a.reshape(-1, a.shape[-1])
    return rows[np.arange(rows.shape[0]), y.ravel()].reshape(a.shape[:-1])


def _nll(o: np.ndarray, y: np.ndarray):
    """(−log ŷ[y] for every position, e^(o − m), Σ e^(o − m)): −log ŷ[y] = log Σ e^z − z[y]
    with z = o − max(o), stable for logits of any size."""
    m, e, s = _shifted_exp(o)
    zy = _at_targets(o, y) - m[..., 0]                      # z[y] = o[y] − m
    return np.log(s[..., 0]) - zy, e, s


def log_softmax(o: np.ndarray) -> np.ndarray:
    """log ŷ = o − logsumexp(o), stable for logits of any size."""
    m = o.max(axis=-1, keepdims=True)
    z = o - m                                               # z = o − m
    e = np.exp(z)
    z -= np.log(e.sum(axis=-1, keepdims=True))              # z − log Σ e^z
    return z


def softmax(o: np.ndarray) -> np.ndarray:
    _, e, s = _shifted_exp(o)
    e /= s                                                  # e^z / Σ e^z
    return e


def output_fn(name: str, o: np.ndarray) -> np.ndarray:
    """ŷ = f(o)."""
    return softmax(o) if name == "softmax" else o.copy()


def per_step_loss(name: str, o: np.ndarray, y: np.ndarray) -> np.ndarray:
    """L for every position: shape o.shape[:-1]. y holds class ids (softmax) or targets (identity)."""
    if name == "softmax":
        return _nll(o, y)[0]                                # −log ŷ[y]
    diff = o - y
    return 0.5 * np.einsum("...k,...k->...", diff, diff)    # ½‖o − y‖²


class MeanPooled:
    """Targets of a loss on the outputs' mean over time: y (B,) class ids or (B, O) floats, one
    per sequence (validated by `bptt.cells.pooling`). `loss_and_error` and `per_step_total` take
    it in place of per-step targets."""

    def __init__(self, y: np.ndarray):
        self.y = y

    def pool(self, o: np.ndarray, weight: np.ndarray):
        """(ō (B, O), p (T, B)): ō(b) = Σ_t p[t, b] o(t, b), p = w / Σ_t w (each column sums to 1)."""
        p = weight / weight.sum(axis=0, keepdims=True)          # m[t, b] / n_b          (T, B)
        return np.einsum("tb,tbo->bo", p, o), p

    def loss_and_error(self, name: str, o: np.ndarray, weight: np.ndarray):
        o_bar, p = self.pool(o, weight)
        B = o.shape[1]
        loss, _, do_bar = loss_and_error(name, o_bar, self.y, np.full(B, 1.0 / B, o.dtype))
        do = p[:, :, None] * do_bar[None]                       # ∂J/∂o(t) = p[t] · ∂J/∂ō  (T, B, O)
        return loss, output_fn(name, o), do

    def total(self, name: str, o: np.ndarray, weight: np.ndarray) -> float:
        o_bar, _ = self.pool(o, weight)
        return float(per_step_loss(name, o_bar, self.y).sum() / o.shape[1])


def loss_and_error(name: str, o: np.ndarray, y: np.ndarray, weight: np.ndarray):
    """Total loss Σ weight·L and its error ∂J/∂o, where weight (o.shape[:-1]) already holds mask/B.
    With y a `MeanPooled`, the loss on the outputs' mean over time (the module docstring).

    Returns (J, ŷ, ∂J/∂o), two new arrays besides J; o is not modified. Softmax makes five passes
    over (..., O) arrays (max, o − m, exp, ŷ = e/Σe, weight·ŷ) and no other temporaries of that size.
    """
    if isinstance(y, MeanPooled):
        return y.loss_and_error(name, o, weight)
    if name == "softmax":
        nll, y_hat, s = _nll(o, y)                          # y_hat holds e^z for now
        loss = float((weight * nll).sum())
        y_hat *= np.reciprocal(s)                           # ŷ = e^z / Σ e^z
        do = np.multiply(y_hat, weight[..., None])          # weight·ŷ
        O = o.shape[-1]
        rows = do.reshape(-1, O)
        rows[np.arange(rows.shape[0]), y.ravel()] -= weight.ravel()   # weight·(ŷ − onehot(y))
    else:
        y_hat = o.copy()
        diff = o - y
        loss = float((weight * 0.5 * np.einsum("...k,...k->...", diff, diff)).sum())
        diff *= weight[..., None]
        do = diff                                           # weight·(o − y)
    return loss, y_hat, do


def per_step_total(name: str, o: np.ndarray, y: np.ndarray, weight: np.ndarray) -> float:
    """Σ weight·L without computing the error (forward-only evaluation)."""
    if isinstance(y, MeanPooled):
        return y.total(name, o, weight)
    return float((weight * per_step_loss(name, o, y)).sum())
