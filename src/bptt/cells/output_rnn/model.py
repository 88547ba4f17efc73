"""The output-recurrent network (Goodfellow et al. §10.2.1, figs. 10.4 and 10.6): its only
recurrence runs from the output of step t−1 into the hidden layer of step t.

Dimension letters: T time steps, B batch, D input size, H hidden size, O output size.

    a(t) = b + W f(t−1) + U x(t)      U (H, D), W (H, O), b (H,)              (B, H)
    h(t) = tanh(a(t))                                                        (B, H)
    o(t) = c + V h(t)                 V (O, H), c (O,)                        (B, O)
    ŷ(t) = f(o(t))                    softmax (classes) or identity (regression)
    J    = (1/B) Σ_b Σ_t mask[t, b] · L(t, b)      (as every cell: see `bptt.nn.losses`)

f(t−1), the fed-back output, by `mode` (an argument of loss_and_grads, backward, loss, trace and
forward):

- "teacher" (teacher forcing): the true target y(t−1) — a one-hot for classes, the value for
  regression. f(t−1) is a constant: no error crosses a time step, and training needs no BPTT.
- "free" (closed loop): the model's own output of step t−1, by the constructor's `feedback`:
  "probs": ŷ(t−1), the softmax probabilities — differentiable: BPTT runs through them, exact
  against autograd; for identity outputs ŷ(t−1) = o(t−1) itself (the only choice there);
  "argmax": a one-hot of argmax o(t−1); "sample": a one-hot of a class drawn from ŷ(t−1). A
  one-hot choice is piecewise constant in θ: no gradient flows through the choice, only through
  o(t) of each step into its own loss term (the choice is treated as a constant input).
- "scheduled" (scheduled sampling, Bengio et al. 2015): at each step and sequence, the model's
  own output with probability `p_model`, else the target. Raise p_model on a schedule during
  training (0 is teacher forcing, 1 is free running).

f(−1) = y0, zeros (B, O) by default (or pass y0=..., e.g. the one-hot of a start symbol).

Randomness: every call draws, from `seed` alone, two (T, B) arrays of uniforms — one decides the
scheduled choices (model where u < p_model), one picks the sampled classes (inverse CDF of ŷ).
They are drawn independently of θ, so for a fixed seed every mode is a fixed function of θ
(piecewise smooth where a one-hot is fed back): gradcheck is valid, away from ties of argmax and
of the sampled class's CDF.

Only the reference path exists (`bptt.cells.output_rnn.reference`): running free or scheduled,
step t needs step t−1's output, so the steps are sequential. With teacher forcing they could be
computed in parallel (every f(t−1) is known), the point of that design.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ... import _validate as v
from .. import sequences
from ...nn.init import uniform_fan_in
from ...nn.losses import OUTPUTS, loss_and_error, per_step_total
from . import reference
from .reference import FEEDBACKS
from .trace import OutputRNNTrace

MODES = ("teacher", "free", "scheduled")


@dataclass
class OutputForward:
    a: np.ndarray            # (T, B, H) a(t)
    h: np.ndarray            # (T, B, H) h(t)
    o: np.ndarray            # (T, B, O) o(t)
    y_hat: np.ndarray        # (T, B, O) ŷ(t)
    fed: np.ndarray          # (T, B, O) f(t−1), what step t read; fed[0] = y0
    use_model: np.ndarray    # (T, B) bool: f(t) was the model's own output (read by step t+1)
    through: np.ndarray      # (T, B) 1.0 where f(t) = ŷ(t) was fed back differentiably
    f_last: Optional[np.ndarray] = None   # (B, O) f(T−1) (forward only): y0 to continue the run


@dataclass
class OutputBackward:
    loss: float              # J
    grads: dict              # ∂J/∂θ, keyed like params
    dx: Optional[np.ndarray]  # ∂J/∂x (T, B, D); None for token ids
    dy0: np.ndarray          # ∂J/∂y0 = ∂J/∂f(−1) (B, O)
    forward: OutputForward


class OutputRNN:
    """The output-recurrent RNN, trained with teacher forcing, free running or scheduled sampling.

    Not a `RecurrentModel` and not in the registry: it has no hidden state to carry (h0, TBPTT,
    the trainer's carried state do not apply), its methods take a training `mode`, and PyTorch
    has no module for it (no to_torch).

    Parameters U (H, D), W (H, O) (from the fed-back output), b (H,), V (O, H), c (O,). x
    (T, B, D) or token ids (T, B); y (T, B) class ids or (T, B, O); mask (T, B); y0 (B, O),
    the output fed into step 0 (zeros by default).

    Examples:
        >>> from bptt import OutputRNN, gradcheck
        >>> model = OutputRNN(3, 4, 2, seed=0)
        >>> model.params["W"].shape, OutputRNN.num_params(model.config())
        ((4, 2), 34)
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.normal(size=(5, 2, 3)), rng.integers(0, 2, size=(5, 2))
        >>> out = model.forward(x, mode="teacher", y=y)       # step t reads y(t−1), one-hot
        >>> bool(np.array_equal(out.fed[1:], np.eye(2)[y[:-1]]))
        True
        >>> res = model.backward(x, y, mode="free")           # BPTT through ŷ(t−1)
        >>> res.grads["W"].shape, res.dx.shape, res.dy0.shape
        ((4, 2), (5, 2, 3), (2, 2))
        >>> J, grads = model.loss_and_grads(x, y, mode="free")
        >>> bool(np.isclose(J, model.loss(x, y, mode="free")))
        True
        >>> gradcheck(model, x, y, mode="free").max_error < 1e-7
        True
        >>> model.trace(x, y).per_step["W"].shape              # (T, H, O)
        (5, 4, 2)
    """

    owner = "OutputRNN"
    kind = "output_rnn"
    trace_class = OutputRNNTrace

    def __init__(self, input_size, hidden_size, output_size, *, feedback="probs",
                 output="softmax", dtype="float64", seed=0):
        o = self.owner
        self.input_size = v.check_int(input_size, "input_size", o)
        self.hidden_size = v.check_int(hidden_size, "hidden_size", o)
        self.output_size = v.check_int(output_size, "output_size", o)
        self.feedback = v.check_choice(feedback, "feedback", o, FEEDBACKS)
        self.output = v.check_choice(output, "output", o, OUTPUTS)
        if self.output == "identity" and self.feedback != "probs":
            raise ValueError(f"The 'feedback' parameter of OutputRNN must be 'probs' (ŷ(t−1) "
                             f"itself) with output='identity': argmax and sample pick classes. "
                             f"Got {feedback!r} instead.")
        self.dtype = v.check_dtype(dtype, o)
        rng = v.check_rng(seed, o)
        D, H, O = self.input_size, self.hidden_size, self.output_size
        shapes = {"U": (H, D), "W": (H, O), "b": (H,), "V": (O, H), "c": (O,)}
        # ±1/√H for every entry, as PyTorch initialises nn.RNN's and nn.Linear's (fan-in H)
        self.params = {k: uniform_fan_in(rng, s, H, self.dtype) for k, s in shapes.items()}

    def config(self) -> dict:
        """The constructor's arguments (JSON-friendly): OutputRNN(**model.config()) rebuilds it."""
        return {"input_size": self.input_size, "hidden_size": self.hidden_size,
                "output_size": self.output_size, "feedback": self.feedback,
                "output": self.output, "dtype": self.dtype.name}

    @staticmethod
    def num_params(config: dict) -> int:
        """H·D + H·O + H + O·H + O for the config's sizes: U (H, D), W (H, O), b (H,),
        V (O, H), c (O,)."""
        o = "OutputRNN"
        D, H, O = (v.check_int(config.get(k), k, o) for k in ("input_size", "hidden_size", "output_size"))
        return H * D + H * O + H + O * H + O

    def __repr__(self):
        return (f"OutputRNN({self.input_size}, {self.hidden_size}, {self.output_size}, "
                f"feedback={self.feedback!r}, output={self.output!r}, dtype={self.dtype.name!r})")

    # -- validation at the public edge -------------------------------------------------------
    def _inputs(self, x, y, mask, mode, p_model, seed, y0, need_y=True):
        o = self.owner
        mode = v.check_choice(mode, "mode", o, MODES)
        p_model = v.check_float(p_model, "p_model", o, low=0, high=1)
        seed = v.check_int(seed, "seed", o, minimum=0)
        x = sequences.check_x(x, o, self.input_size, self.dtype)
        T, B = x.shape[:2]
        if y is None and (need_y or mode != "free"):
            raise ValueError(f"The 'y' argument of {o} is required with mode={mode!r}: the targets "
                             f"{'to feed back (teacher forcing) ' if mode != 'free' else ''}of shape "
                             f"{(T, B) if self.output == 'softmax' else (T, B, self.output_size)}. "
                             f"Got None.")
        if y is not None:
            y = sequences.check_y(y, o, self.output, T, B, self.output_size, self.dtype)
        mask = sequences.check_mask(mask, o, T, B, self.dtype) if need_y else None
        y0 = (np.zeros((B, self.output_size), self.dtype) if y0 is None else
              v.check_float_array(y0, "y0", o, (B, self.output_size), self.dtype))
        rng = np.random.default_rng(seed)                 # drawn independently of θ
        u_mode, u_sample = rng.random((T, B)), rng.random((T, B))
        use_model = {"teacher": np.zeros((T, B), bool), "free": np.ones((T, B), bool),
                     "scheduled": u_mode < p_model}[mode]
        return x, y, mask, y0, use_model, u_sample.astype(self.dtype), mode

    def _pass(self, x, y, y0, use_model, u_sample):
        return reference.sequence_forward(x, y, y0, self.params, self.output, self.feedback,
                                          use_model, u_sample)

    @staticmethod
    def _forward_of(p, use_model, f_last) -> OutputForward:
        return OutputForward(p.a, p.h, p.o, p.y_hat, p.fed, use_model, p.through, f_last)

    # -- forward -----------------------------------------------------------------------------
    def forward(self, x, *, mode="free", y=None, p_model=0.5, seed=0, y0=None) -> OutputForward:
        """Forward propagation. mode="free" (the default) runs closed loop and needs no y; with
        feedback="sample" it generates a sequence (use .fed[1:] and .f_last, the one-hots
        drawn). "teacher" and "scheduled" need y.

        x (T, B, D) or ids (T, B); y (T, B) or (T, B, O); y0 (B, O). Returns `.a`, `.h`
        (T, B, H), `.o`, `.y_hat` (T, B, O), `.fed` (T, B, O) (f(t−1), what step t read),
        `.use_model` (T, B) and `.f_last` (B, O), the y0 to continue the run."""
        x, y, _, y0, use_model, u, mode = self._inputs(x, y, None, mode, p_model, seed, y0, need_y=False)
        p = self._pass(x, y, y0, use_model, u)
        last_y = None if y is None else y[-1:]
        f_last, _ = reference.fed_back(p.o[-1], p.y_hat[-1], None if last_y is None else last_y[0],
                                       use_model[-1], u[-1], self.output, self.feedback)
        return self._forward_of(p, use_model, f_last)

    # -- loss and BPTT -------------------------------------------------------------------------
    def _backward(self, x, y, mask, y0, use_model, u_sample):
        p = self._pass(x, y, y0, use_model, u_sample)
        loss, _, do_loss = loss_and_error(self.output, p.o, y, mask / x.shape[1])   # ∂L(t)/∂o(t)
        dx, dy0, grads, errors, per_step = reference.sequence_backward(do_loss, p, self.output)
        return p, loss, do_loss, dx, dy0, grads, errors, per_step

    def backward(self, x, y, mask=None, *, mode="teacher", p_model=0.5, seed=0, y0=None) -> OutputBackward:
        """Loss, gradients, ∂J/∂x and ∂J/∂y0 of one forward + full BPTT pass in `mode`.

        x (T, B, D) or ids (T, B); y (T, B) or (T, B, O); mask (T, B). Returns `.loss`,
        `.grads` keyed and shaped like params, `.dx` (T, B, D) (None for ids), `.dy0` (B, O)
        and `.forward`, as forward() returns it."""
        x, y, mask, y0, use_model, u, _ = self._inputs(x, y, mask, mode, p_model, seed, y0)
        p, loss, _, dx, dy0, grads, _, _ = self._backward(x, y, mask, y0, use_model, u)
        return OutputBackward(loss, {k: grads[k] for k in self.params}, dx, dy0,
                              self._forward_of(p, use_model, None))

    def loss_and_grads(self, x, y, mask=None, *, mode="teacher", p_model=0.5, seed=0, y0=None):
        """(J, ∂J/∂θ) in `mode`, grads keyed and shaped like params (U (H, D), W (H, O), ...);
        x (T, B, D) or ids (T, B), y (T, B) or (T, B, O)."""
        res = self.backward(x, y, mask, mode=mode, p_model=p_model, seed=seed, y0=y0)
        return res.loss, res.grads

    def loss(self, x, y, mask=None, *, mode="teacher", p_model=0.5, seed=0, y0=None) -> float:
        """J alone (forward only), in `mode`: "teacher" gives the teacher-forced loss, "free" the
        closed-loop loss (the exposure-bias gap is their difference). x (T, B, D) or ids
        (T, B), y (T, B) or (T, B, O), mask (T, B)."""
        x, y, mask, y0, use_model, u, _ = self._inputs(x, y, mask, mode, p_model, seed, y0)
        p = self._pass(x, y, y0, use_model, u)
        return per_step_total(self.output, p.o, y, mask / x.shape[1])

    def trace(self, x, y, mask=None, *, mode="teacher", p_model=0.5, seed=0, y0=None,
              max_bytes=256 * 2**20) -> OutputRNNTrace:
        """Every error, per-step contribution and the error flow by source step; see
        `bptt.cells.output_rnn.trace`. x (T, B, D) or ids (T, B), y (T, B) or (T, B, O); the
        trace's `.errors` are (T, B, .) ("o", "h", "a", "f") and `.per_step[name]` (T, *shape)."""
        max_bytes = v.check_int(max_bytes, "max_bytes", "OutputRNN.trace")
        x, y, mask, y0, use_model, u, mode = self._inputs(x, y, mask, mode, p_model, seed, y0)
        p, loss, do_loss, _, dy0, grads, errors, per_step = self._backward(x, y, mask, y0, use_model, u)
        return OutputRNNTrace(self, mode, x, y, mask, self._forward_of(p, use_model, None), loss,
                              {k: grads[k] for k in self.params}, errors,
                              {k: per_step[k] for k in self.params}, dy0, max_bytes,
                              _do_loss=do_loss, _pass=p)
