"""Attention over the encoder's states: the score, the softmax over real source steps, the context.

Dimension letters: S source steps, B batch, K the encoder state size (H, or 2H with a
bidirectional encoder; also the decoder's state size), A the additive score's size.
E (S, B, K) holds the encoder's top-layer states e(j) = [h(j); g(j)]; q (B, K) is the query, the
decoder's top state s(t−1) before step t (Bahdanau et al. 2015; d2l's attention decoder).

    score        e(t, j)                                     parameters
    "dot"        s(t−1)ᵀ e(j)                               (Luong et al. 2015)  none
    "general"    s(t−1)ᵀ W_a e(j)                           (Luong)              W_a (K, K)
    "additive"   vᵀ tanh(W_q s(t−1) + W_k e(j))             (Bahdanau)           W_q, W_k (A, K), v (A,)

    α(t, j) = exp e(t, j) / Σ_{j' real} exp e(t, j')         zero on padded source steps
    ctx(t) = Σ_j α(t, j) e(j)

The keys k(j) = W_a e(j) (general) or W_k e(j) (additive) are computed once per source, not per
target step; their errors are summed over t and turned into ∂J/∂W and ∂J/∂e(j) once, at the end.

Backward, given ∂J/∂ctx(t) (B, K):

    ∂J/∂α(t, j) = ∂J/∂ctx(t) · e(j)
    ∂J/∂e(t, j) = α(t, j) (∂J/∂α(t, j) − Σ_j' α(t, j') ∂J/∂α(t, j'))     (softmax; 0 where padded)
    ∂J/∂e(j) ⊇ α(t, j) ∂J/∂ctx(t)                                         (the value path)
    dot:      ∂J/∂s(t−1) = Σ_j ∂J/∂e(t, j) e(j);     ∂J/∂e(j) ⊇ ∂J/∂e(t, j) s(t−1)
    general:  ∂J/∂s(t−1) = Σ_j ∂J/∂e(t, j) k(j);     ∂J/∂k(j) ⊇ ∂J/∂e(t, j) s(t−1)
    additive: u(t, j) = tanh(W_q s(t−1) + k(j));     ∂J/∂v ⊇ Σ_j ∂J/∂e(t, j) u(t, j)
              ∂J/∂û(t, j) = ∂J/∂e(t, j) v ⊙ (1 − u²);  ∂J/∂k(j) ⊇ ∂J/∂û(t, j)
              ∂J/∂s(t−1) = W_qᵀ Σ_j ∂J/∂û(t, j);     ∂J/∂W_q ⊇ (Σ_j ∂J/∂û(t, j)) s(t−1)ᵀ
    at the end: ∂J/∂W_a = Σ_j ∂J/∂k(j) e(j)ᵀ, ∂J/∂e(j) ⊇ W_aᵀ ∂J/∂k(j) (W_k likewise)
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

SCORES = ("dot", "general", "additive")


def param_shapes(score: str, K: int, A: int) -> dict:
    """{name: shape} of the score's parameters (before the "attn." prefix)."""
    return {"dot": {}, "general": {"W_a": (K, K)},
            "additive": {"W_q": (A, K), "W_k": (A, K), "v": (A,)}}[score]


class Keys(NamedTuple):
    """What every target step reads: the values E, the keys, the mask of real source steps."""
    E: np.ndarray                      # (S, B, K) encoder states: the values
    k: np.ndarray                      # (S, B, K) or (S, B, A): e(j), W_a e(j) or W_k e(j)
    real: np.ndarray                   # (S, B) bool: real source steps


class StepCache(NamedTuple):
    q: np.ndarray                      # (B, K) s(t−1)
    alpha: np.ndarray                  # (S, B) α(t, ·)
    u: Optional[np.ndarray]            # (S, B, A) tanh(W_q s(t−1) + k(j)) for "additive", else None


def keys(score: str, E, real, p) -> Keys:
    if score == "dot":
        return Keys(E, E, real)
    W = p["W_a"] if score == "general" else p["W_k"]
    return Keys(E, E @ W.T, real)                               # k(j) = W e(j)   (S, B, ·)


def attend(score: str, q, kv: Keys, p):
    """One target step: (ctx (B, K), α (S, B), cache)."""
    if score == "additive":
        u = np.tanh(q @ p["W_q"].T + kv.k)                      # u(t, j)                      (S, B, A)
        e = u @ p["v"]                                          # e(t, j) = vᵀ u(t, j)          (S, B)
    else:
        u = None
        e = np.einsum("sbk,bk->sb", kv.k, q)                    # e(t, j) = s(t−1)ᵀ k(j)       (S, B)
    e = np.where(kv.real, e, -np.inf)                           # padded steps take no weight
    e = e - e.max(axis=0)
    w = np.exp(e)
    alpha = w / w.sum(axis=0)                                   # softmax over real j           (S, B)
    ctx = np.einsum("sb,sbk->bk", alpha, kv.E)                  # ctx(t) = Σ_j α(t, j) e(j)     (B, K)
    return ctx, alpha, StepCache(q, alpha, u)


class Grads:
    """Sums over target steps, turned into ∂J/∂θ and ∂J/∂E by `finish`."""

    def __init__(self, dE, dk, dparams):
        self.dE = dE                   # (S, B, K) the value path (and the dot score's key path)
        self.dk = dk                   # (S, B, ·) the keys' errors
        self.dparams = dparams         # W_q, v so far


def zero_grads(score: str, kv: Keys, p) -> Grads:
    dparams = {n: np.zeros_like(p[n]) for n in ("W_q", "v")} if score == "additive" else {}
    return Grads(np.zeros_like(kv.E), np.zeros_like(kv.k), dparams)


def attend_backward(score: str, dctx, kv: Keys, cache: StepCache, p, acc: Grads):
    """Back through one target step: returns (∂J/∂s(t−1) (B, K), ∂J/∂e(t, ·) (S, B)); adds the
    step's contributions to `acc`."""
    alpha = cache.alpha
    acc.dE += alpha[:, :, None] * dctx                                   # value path α ∂J/∂ctx
    d_alpha = np.einsum("bk,sbk->sb", dctx, kv.E)                        # ∂J/∂α(t, j)
    de = alpha * (d_alpha - (alpha * d_alpha).sum(axis=0))               # softmax backward (S, B)
    if score == "additive":
        acc.dparams["v"] += np.einsum("sb,sba->a", de, cache.u)
        du = de[:, :, None] * p["v"] * (1 - cache.u ** 2)                # ∂J/∂û(t, j)   (S, B, A)
        acc.dk += du
        dqp = du.sum(axis=0)                                             # Σ_j ∂J/∂û     (B, A)
        acc.dparams["W_q"] += dqp.T @ cache.q
        return dqp @ p["W_q"], de
    acc.dk += de[:, :, None] * cache.q                                   # ∂J/∂k(j) ⊇ ∂J/∂e(t,j) s(t−1)
    return np.einsum("sb,sbk->bk", de, kv.k), de


def finish(score: str, acc: Grads, kv: Keys, p):
    """(∂J/∂E (S, B, K), {name: ∂J/∂θ}) from the sums over target steps."""
    if score == "dot":
        return acc.dE + acc.dk, {}                                       # the keys are E itself
    W = "W_a" if score == "general" else "W_k"
    grads = dict(acc.dparams)
    grads[W] = np.einsum("sba,sbk->ak", acc.dk, kv.E)                    # Σ_j ∂J/∂k(j) e(j)ᵀ
    return acc.dE + acc.dk @ p[W], grads                                 # + Wᵀ ∂J/∂k(j)
