"""The simple RNN model: parameters, forward, loss and full BPTT, on either path.

Dimension letters: T time steps, B batch, D input size, H hidden size, O output size.

    model = SimpleRNN(D, H, O)                      # params U (H, D), W (H, H), b (H,), V (O, H), c (O,)
    out = model.forward(x, h0)                      # a, h, o, y_hat (T, B, .), h_last (B, H)
    loss, grads = model.loss_and_grads(x, y, h0, mask)

J = (1/B) Σ_b Σ_t mask[t, b] · L(t, b). The "fast" path (default) fuses work across time; the
"reference" path is the loop of per-step functions in `bptt.reference`. Tests show they agree.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import _validate as v
from . import fused, reference, sequences
from .activations import get_activation
from .init import uniform_fan_in
from .losses import OUTPUTS, loss_and_error, output_fn, per_step_total

PATHS = ("fast", "reference")


@dataclass
class RNNForward:
    a: np.ndarray        # (T, B, H) pre-activations a(t)
    h: np.ndarray        # (T, B, H) hidden states h(t)
    o: np.ndarray        # (T, B, O) logits o(t)
    y_hat: np.ndarray    # (T, B, O) f(o(t))
    h_last: np.ndarray   # (B, H) h(T−1), the state to carry into the next call

    @property
    def last_state(self):
        """The state to pass as h0 of the next call (for an LSTM it is the pair (h, c))."""
        return self.h_last


@dataclass
class RNNBackward:
    loss: float                  # J
    grads: dict                  # ∂J/∂θ, keyed like params
    dh0: np.ndarray              # ∂J/∂h0 (B, H)
    dx: Optional[np.ndarray]     # ∂J/∂x (T, B, D), None for token inputs
    h: np.ndarray                # (T, B, H) the hidden states h(t) of this pass

    @property
    def h_last(self) -> np.ndarray:
        return self.h[-1]

    def state(self, t: int) -> np.ndarray:
        """The recurrent state after step t of this pass: h(t), (B, H)."""
        return self.h[t]


class SimpleRNN:
    """Elman-style simple RNN with an output layer (Goodfellow et al., eq. 10.8–10.11)."""

    owner = "SimpleRNN"

    def __init__(self, input_size, hidden_size, output_size, *, activation="tanh",
                 output="softmax", dtype="float64", seed=0, path="fast"):
        o = self.owner
        self.input_size = v.check_int(input_size, "input_size", o)
        self.hidden_size = v.check_int(hidden_size, "hidden_size", o)
        self.output_size = v.check_int(output_size, "output_size", o)
        self.act = get_activation(activation, o)
        self.activation = activation
        self.output = v.check_choice(output, "output", o, OUTPUTS)
        self.dtype = v.check_dtype(dtype, o)
        self.path = v.check_choice(path, "path", o, PATHS)
        rng = v.check_rng(seed, o)
        D, H, O = self.input_size, self.hidden_size, self.output_size
        # PyTorch's initialization: nn.RNN uses ±1/√H for U, W, b; nn.Linear ±1/√H for V, c.
        self.params = {
            "U": uniform_fan_in(rng, (H, D), H, self.dtype),
            "W": uniform_fan_in(rng, (H, H), H, self.dtype),
            "b": uniform_fan_in(rng, (H,), H, self.dtype),
            "V": uniform_fan_in(rng, (O, H), H, self.dtype),
            "c": uniform_fan_in(rng, (O,), H, self.dtype),
        }

    kind = "rnn"

    def config(self) -> dict:
        """The constructor's arguments (JSON-friendly): SimpleRNN(**model.config()) rebuilds it."""
        return {"input_size": self.input_size, "hidden_size": self.hidden_size,
                "output_size": self.output_size, "activation": self.activation,
                "output": self.output, "dtype": self.dtype.name}

    def zero_state(self, batch_size: int) -> np.ndarray:
        """h0 = 0, (B, H)."""
        return np.zeros((batch_size, self.hidden_size), dtype=self.dtype)

    @staticmethod
    def num_params(config: dict) -> int:
        """The number of parameters the config would allocate (checked before building one)."""
        D, H, O = config["input_size"], config["hidden_size"], config["output_size"]
        return H * D + H * H + H + O * H + O

    def __repr__(self):
        return (f"SimpleRNN({self.input_size}, {self.hidden_size}, {self.output_size}, "
                f"activation={self.activation!r}, output={self.output!r}, dtype={self.dtype.name!r})")

    # -- validation at the public edge -------------------------------------------------------
    def _inputs(self, x, y, h0, mask, need_y=True):
        o = self.owner
        x = sequences.check_x(x, o, self.input_size, self.dtype)
        T, B = x.shape[:2]
        h0 = sequences.check_h0(h0, o, B, self.hidden_size, self.dtype)
        if not need_y:
            return x, None, h0, None
        y = sequences.check_y(y, o, self.output, T, B, self.output_size, self.dtype)
        mask = sequences.check_mask(mask, o, T, B, self.dtype)
        return x, y, h0, mask

    # -- forward -----------------------------------------------------------------------------
    def forward(self, x, h0=None) -> RNNForward:
        """Forward propagation over all steps; nothing is kept between calls."""
        x, _, h0, _ = self._inputs(x, None, h0, None, need_y=False)
        if self.path == "reference":
            a, h, o, _ = reference.sequence_forward(x, h0, self.params, self.act)
        else:
            a, Hs, o = fused.fused_forward(x, h0, self.params, self.act, keep_a=True)
            h = Hs[1:]
        return RNNForward(a, h, o, output_fn(self.output, o), h[-1].copy())

    # -- loss and BPTT -------------------------------------------------------------------------
    def backward(self, x, y, h0=None, mask=None) -> RNNBackward:
        """Loss, gradients, ∂J/∂h0 and ∂J/∂x in one forward + full BPTT pass."""
        return self._backward(*self._inputs(x, y, h0, mask))

    def _backward(self, x, y, h0, mask) -> RNNBackward:
        """backward() on inputs already validated and cast."""
        weight = mask / x.shape[1]                                  # mask[t, b] / B
        if self.path == "reference":
            _, h, o, caches = reference.sequence_forward(x, h0, self.params, self.act)
            loss, _, do = loss_and_error(self.output, o, y, weight)
            dx, dh0, grads, _, _ = reference.sequence_backward(do, caches, self.params)
        else:
            _, Hs, o = fused.fused_forward(x, h0, self.params, self.act)
            loss, _, do = loss_and_error(self.output, o, y, weight)
            dx, dh0, grads = fused.fused_backward(do, x, Hs, self.params, self.act)
            h = Hs[1:]
        return RNNBackward(loss, {k: grads[k] for k in self.params}, dh0, dx, h)

    def loss_and_grads(self, x, y, h0=None, mask=None):
        """(J, ∂J/∂θ) with grads keyed and shaped like params."""
        res = self.backward(x, y, h0, mask)
        return res.loss, res.grads

    def tbptt(self, x, y, k1, k2, h0=None, mask=None):
        """Truncated BPTT(k1, k2): a lazy iterator of windows; see `bptt.truncated`."""
        from .truncated import tbptt
        return tbptt(self, x, y, k1, k2, h0=h0, mask=mask)

    def trace(self, x, y, h0=None, mask=None, *, max_bytes=256 * 2**20):
        """Every error and per-step gradient of one forward + BPTT pass; see `bptt.trace`."""
        from .trace import trace_rnn
        return trace_rnn(self, x, y, h0=h0, mask=mask, max_bytes=max_bytes)

    def loss(self, x, y, h0=None, mask=None) -> float:
        """J alone (forward only)."""
        return self._forward_loss(*self._inputs(x, y, h0, mask))[0]

    def _forward_loss(self, x, y, h0, mask):
        """(J, h_last) on validated inputs, forward only."""
        _, Hs, o = fused.fused_forward(x, h0, self.params, self.act)
        return per_step_total(self.output, o, y, mask / x.shape[1]), Hs[-1].copy()
