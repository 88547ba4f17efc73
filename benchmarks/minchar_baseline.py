"""A per-step NumPy character RNN in the style of Karpathy's min-char-rnn.py: the baseline that
`bptt bench` compares bptt's training speed with.

Written from the description of min-char-rnn's loop, not from its code: one sequence (B = 1) of
`seq_length` characters at a time, column vectors, per-step dicts of one-hot inputs, hidden states
and probabilities, one np.dot per product per step forward and backward, per-step gradient sums,
clipping every gradient to [−5, 5], and an Adagrad update. Its sizes and initialization
(N(0, 0.01²) weights, zero biases) are min-char-rnn's; nothing is fused or preallocated.

    rnn = MinCharRNN(vocab_size=65, hidden_size=100)
    h = rnn.zero_state()
    loss, h = rnn.train_step(inputs, targets, h)     # inputs, targets: lists of seq_length ids

Names follow min-char-rnn (Wxh, Whh, Why, bh, by) — in bptt's names U, W, V, b, c.
"""
from __future__ import annotations

import numpy as np


class MinCharRNN:
    def __init__(self, vocab_size: int, hidden_size: int = 100, learning_rate: float = 0.1,
                 seed: int = 0, dtype=np.float64):
        rng = np.random.default_rng(seed)
        V, H = vocab_size, hidden_size
        self.vocab_size, self.hidden_size, self.learning_rate = V, H, learning_rate
        self.dtype = np.dtype(dtype)
        self.params = {
            "Wxh": (rng.standard_normal((H, V)) * 0.01).astype(dtype),   # input → hidden
            "Whh": (rng.standard_normal((H, H)) * 0.01).astype(dtype),   # hidden → hidden
            "Why": (rng.standard_normal((V, H)) * 0.01).astype(dtype),   # hidden → output
            "bh": np.zeros((H, 1), dtype=dtype),
            "by": np.zeros((V, 1), dtype=dtype),
        }
        self.memory = {k: np.zeros_like(p) for k, p in self.params.items()}   # Adagrad's Σ g²

    def zero_state(self) -> np.ndarray:
        return np.zeros((self.hidden_size, 1), dtype=self.dtype)

    def loss_and_grads(self, inputs, targets, h_prev):
        """Forward over the sequence step by step, then BPTT step by step.
        Returns (loss, grads, last hidden state)."""
        p = self.params
        Wxh, Whh, Why, bh, by = p["Wxh"], p["Whh"], p["Why"], p["bh"], p["by"]
        xs, hs, ps = {}, {}, {}
        h = h_prev
        loss = 0.0
        for t, (i, j) in enumerate(zip(inputs, targets)):
            xs[t] = np.zeros((self.vocab_size, 1), dtype=self.dtype)
            xs[t][i] = 1.0                                            # one-hot x(t)
            hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, h) + bh)  # h(t)
            logits = np.dot(Why, hs[t]) + by                          # o(t)
            e = np.exp(logits - np.max(logits))
            ps[t] = e / np.sum(e)                                     # ŷ(t)
            loss += -np.log(ps[t][j, 0])                              # −log ŷ(t)[y(t)]
            h = hs[t]
        grads = {k: np.zeros_like(a) for k, a in p.items()}
        dh_next = np.zeros_like(h_prev)
        for t in reversed(range(len(inputs))):
            dy = ps[t].copy()
            dy[targets[t]] -= 1.0                                     # ∂L/∂o(t) = ŷ − onehot
            grads["Why"] += np.dot(dy, hs[t].T)
            grads["by"] += dy
            dh = np.dot(Why.T, dy) + dh_next                          # ∂J/∂h(t)
            da = (1.0 - hs[t] * hs[t]) * dh                           # ∂J/∂a(t)
            grads["bh"] += da
            grads["Wxh"] += np.dot(da, xs[t].T)
            grads["Whh"] += np.dot(da, (hs[t - 1] if t > 0 else h_prev).T)
            dh_next = np.dot(Whh.T, da)
        for g in grads.values():
            np.clip(g, -5, 5, out=g)                                  # against exploding gradients
        return loss, grads, h

    def train_step(self, inputs, targets, h_prev):
        """One update: loss and gradients of the sequence, then Adagrad. Returns (loss, h)."""
        loss, grads, h = self.loss_and_grads(inputs, targets, h_prev)
        for k, param in self.params.items():
            mem = self.memory[k]
            mem += grads[k] * grads[k]
            param += -self.learning_rate * grads[k] / np.sqrt(mem + 1e-8)
        return loss, h
