"""The LSTM model (Greff et al. 2017 notation, optional peepholes, stacked layers): parameters,
forward, loss and full BPTT, on either path.

Dimension letters: T time steps, B batch, D input size, H hidden size, O output size, L layers.

    model = LSTM(D, H, O, num_layers=1, peepholes=False)
    out = model.forward(x, h0)              # h, c (T, B, H) of the top layer, o, y_hat (T, B, O),
                                            # gates {"z", "i", "f", "o"}, last_state = (h_last, c_last)
    loss, grads = model.loss_and_grads(x, y, h0, mask)

Equations (see `bptt.cells.lstm.reference` for the backward ones), for each layer, with layer l's x(t)
being layer l−1's y(t):

    z(t) = tanh(W_z x(t) + R_z y(t−1) + b_z)                    block input
    i(t) = σ(W_i x(t) + R_i y(t−1) + p_i ⊙ c(t−1) + b_i)        input gate
    f(t) = σ(W_f x(t) + R_f y(t−1) + p_f ⊙ c(t−1) + b_f)        forget gate
    c(t) = z(t) ⊙ i(t) + c(t−1) ⊙ f(t)                          cell
    o(t) = σ(W_o x(t) + R_o y(t−1) + p_o ⊙ c(t) + b_o)          output gate (its peephole sees c(t))
    y(t) = tanh(c(t)) ⊙ o(t)                                    block output: the h of SimpleRNN
    o(t) = c + V y(t)  (top layer),  ŷ(t) = f(o(t))             output layer, as in SimpleRNN

Parameters: W_z, W_i, W_f, W_o (H, D); R_z, R_i, R_f, R_o (H, H); b_z, b_i, b_f, b_o (H,);
p_i, p_f, p_o (H,) with peepholes=True; V (O, H) and c (O,) for the output layer. Layer l >= 1
appends ".l" to its keys ("W_z.1", "R_f.2", whose W has shape (H, H)); layer 0 keeps the plain
names. Two names clash with the output layer: the *parameter* "c" is the output bias, kept
from SimpleRNN so that V and c mean the same in both models; the cell c(t) is a state, never a
parameter, and appears as c in equations and as `.c`, `.c_last` of the results. Likewise the
logits o(t) (`.o`) and the output gate o(t) (`.gates["o"]`) are told apart by where they live.

State: (h, c), each (B, H) for one layer or (L, B, H) for several; h0=None means zeros. The last
state comes back in the same layout. Initialization as torch.nn.LSTM: every entry uniform in
±1/√H, then b_f += forget_bias. The default 0 gives torch's distribution exactly, so a model
moved to PyTorch with `to_torch` starts and trains alike; forget_bias = 1 starts the forget gates
open (σ(1) ≈ 0.73 instead of ½; Gers et al. 2000, Jozefowicz et al. 2015), so the cell path
carries errors further at the start. On character models it learns slower: H 128, T 50, B 32,
Adam 2e-3 on the built-in corpus, validation 2.72 against 2.56–2.58 bits/char with 0 after 2000
steps and 2.41 against 2.31 after 4000 (seeds 0 and 1; benchmarks/forget_bias.py).

J = (1/B) Σ_b Σ_t mask[t, b] · L(t, b). The "fast" path (default) fuses the gates and work across
time (`bptt.cells.lstm.fused`); the "reference" path is the loop of per-step functions in
`bptt.cells.lstm.reference`. Tests show they agree.

bidirectional=True adds a backward direction to every layer ("W_z@rev", "R_f@rev.1", ...), V
(O, 2H) reading [y(t); g(t)], the state (h0, c0) each (2L, B, H), and `lengths` for padded
batches: see `bptt.cells.bidirectional`.
"""
from __future__ import annotations

import numpy as np

from ... import _validate as v
from . import fused as lstm_fused, pipeline as lstm_pipeline
from . import reference as lstm_reference
from .. import bidirectional as bi
from .. import sequences
from ...nn.init import uniform_fan_in
from ...nn.losses import OUTPUTS, loss_and_error, output_fn, per_step_total
from .reference import GATES, param_shapes
from ..base import RecurrentModel
from .results import LSTMBackward, LSTMForward
from .trace import LSTMTrace, trace_lstm

PATHS = ("fast", "reference")


class LSTM(RecurrentModel):
    """LSTM layers (Greff et al. 2017) with an output layer; the same protocol as SimpleRNN.

    Parameters W_z, W_i, W_f, W_o (H, D); R_z, R_i, R_f, R_o (H, H); b_z, b_i, b_f, b_o (H,);
    peepholes p_i, p_f, p_o (H,) with peepholes=True; V (O, H), c (O,). x (T, B, D) or token
    ids (T, B); y (T, B) or (T, B, O); the state a pair (h, c), each (B, H), or (L, B, H) for
    num_layers = L.

    Examples:
        >>> from bptt import LSTM
        >>> model = LSTM(3, 4, 2, peepholes=True, seed=0)
        >>> model.params["W_f"].shape, model.params["R_f"].shape, model.params["p_f"].shape
        ((4, 3), (4, 4), (4,))
        >>> x = np.random.default_rng(0).normal(size=(5, 2, 3))          # (T, B, D)
        >>> out = model.forward(x, h0=model.zero_state(2))
        >>> out.h.shape, out.c.shape, out.gates["f"].shape, out.y_hat.shape
        ((5, 2, 4), (5, 2, 4), (5, 2, 4), (5, 2, 2))
        >>> h, c = out.last_state                                        # the next call's h0
        >>> bool(np.allclose(h, np.tanh(c) * out.gates["o"][-1]))        # y(t) = tanh(c(t)) ⊙ o(t)
        True
        >>> LSTM.num_params(model.config()) == sum(p.size for p in model.params.values())
        True
    """

    owner = "LSTM"
    kind = "lstm"
    trace_class = LSTMTrace

    def __init__(self, input_size, hidden_size, output_size, *, num_layers=1, peepholes=False,
                 forget_bias=0.0, bidirectional=False, output="softmax", dtype="float64", seed=0,
                 path="fast"):
        o = self.owner
        self.input_size = v.check_int(input_size, "input_size", o)
        self.hidden_size = v.check_int(hidden_size, "hidden_size", o)
        self.output_size = v.check_int(output_size, "output_size", o)
        self.num_layers = v.check_int(num_layers, "num_layers", o)
        self.peepholes = v.check_bool(peepholes, "peepholes", o)
        self.forget_bias = v.check_float(forget_bias, "forget_bias", o)
        self.bidirectional = v.check_bool(bidirectional, "bidirectional", o)
        self.output = v.check_choice(output, "output", o, OUTPUTS)
        self.dtype = v.check_dtype(dtype, o)
        self.path = v.check_choice(path, "path", o, PATHS)
        rng = v.check_rng(seed, o)
        H = self.hidden_size
        shapes = self._shapes(self.input_size, H, self.output_size, self.num_layers, self.peepholes,
                              self.bidirectional)
        # torch.nn.LSTM and nn.Linear(H, O): every entry uniform in ±1/√H ...
        self.params = {k: uniform_fan_in(rng, s, H, self.dtype) for k, s in shapes.items()}
        for k in self.params:
            if k.split(".")[0] in ("b_f", "b_f" + bi.REV):              # ... then b_f += forget_bias
                self.params[k] += self.dtype.type(self.forget_bias)

    @staticmethod
    def _shapes(D, H, O, L, peepholes, bidirectional) -> dict:
        if not bidirectional:
            return param_shapes(D, H, O, L, peepholes)
        one = lambda D_l: {k: s for k, s in param_shapes(D_l, H, O, 1, peepholes).items()   # noqa: E731
                           if k not in ("V", "c")}
        return bi.param_shapes(one, D, H, O, L)

    def config(self) -> dict:
        """The constructor's arguments (JSON-friendly): LSTM(**model.config()) rebuilds it."""
        return {"input_size": self.input_size, "hidden_size": self.hidden_size,
                "output_size": self.output_size, "num_layers": self.num_layers,
                "peepholes": self.peepholes, "forget_bias": self.forget_bias,
                "bidirectional": self.bidirectional, "output": self.output, "dtype": self.dtype.name}

    @staticmethod
    def num_params(config: dict) -> int:
        """The number of parameters the config would allocate (checked before building one)."""
        o = "LSTM"
        D, H, O = (v.check_int(config.get(k), k, o) for k in ("input_size", "hidden_size", "output_size"))
        L = v.check_int(config.get("num_layers", 1), "num_layers", o)
        peep = v.check_bool(config.get("peepholes", False), "peepholes", o)
        if v.check_bool(config.get("bidirectional", False), "bidirectional", o):
            return bi.count(LSTM._shapes(D, H, O, L, peep, True))
        per_layer = 4 * H * H + 4 * H + (3 * H if peep else 0)       # R_*, b_*, p_*
        return 4 * H * D + 4 * H * H * (L - 1) + L * per_layer + O * H + O   # + W_* and V, c

    def zero_state(self, batch_size: int):
        """(h0, c0) = (0, 0), each (B, H) for one layer or (L, B, H) for several; (2L, B, H)
        when bidirectional."""
        if self.bidirectional:
            return bi.zero_state(self, v.check_int(batch_size, "batch_size", "LSTM.zero_state"), pair=True)
        shape = self._state_shape(v.check_int(batch_size, "batch_size", "LSTM.zero_state"))
        return np.zeros(shape, dtype=self.dtype), np.zeros(shape, dtype=self.dtype)

    def __repr__(self):
        return (f"LSTM({self.input_size}, {self.hidden_size}, {self.output_size}, "
                f"num_layers={self.num_layers}, peepholes={self.peepholes}, "
                f"{'bidirectional=True, ' if self.bidirectional else ''}"
                f"output={self.output!r}, dtype={self.dtype.name!r})")

    # -- state layouts -------------------------------------------------------------------------
    def _state_shape(self, B):
        return (B, self.hidden_size) if self.num_layers == 1 else (self.num_layers, B, self.hidden_size)

    def _check_state(self, h0, B):
        """h0 = None, or a pair (h, c) of arrays of the state's shape; returned as a pair."""
        if h0 is None:
            return self.zero_state(B)
        shape = self._state_shape(B)
        if not isinstance(h0, (tuple, list)) or len(h0) != 2:
            got = (f"an array of shape {h0.shape}" if isinstance(h0, np.ndarray) else
                   f"a {type(h0).__name__} of length {len(h0)}" if isinstance(h0, (tuple, list))
                   else f"{type(h0).__name__}")
            raise TypeError(f"The 'h0' argument of {self.owner} must be a pair (h, c) of arrays, "
                            f"each of shape {shape}. Got {got}.")
        return tuple(v.check_float_array(a, f"h0[{k}]", self.owner, shape, self.dtype)
                     for k, a in enumerate(h0))

    def _layers(self, state):
        """A validated state in the public layout → (h, c), each (L, B, H)."""
        h, c = state                                   # an array (2, ...) unpacks along axis 0
        if self.num_layers == 1:
            return h[None], c[None]
        return h, c

    def _public(self, h, c):
        """(h, c) each (L, B, H) → the public layout."""
        return (h[0], c[0]) if self.num_layers == 1 else (h, c)

    # -- validation at the public edge -------------------------------------------------------
    def _inputs(self, x, y, h0, mask, need_y=True):
        o = self.owner
        x = sequences.check_x(x, o, self.input_size, self.dtype)
        T, B = x.shape[:2]
        h0 = bi.check_state(self, h0, B, pair=True) if self.bidirectional else self._check_state(h0, B)
        if not need_y:
            return x, None, h0, None
        y = sequences.check_y(y, o, self.output, T, B, self.output_size, self.dtype)
        mask = sequences.check_mask(mask, o, T, B, self.dtype)
        return x, y, h0, mask

    # -- forward -----------------------------------------------------------------------------
    def _run_forward(self, x, state):
        """(layers, o) on validated inputs: layers[l] = (Y, C, {gate: (T, B, H)}, pass)."""
        h0, c0 = self._layers(state)
        H = self.hidden_size
        if self.path == "reference":
            layers, o = lstm_reference.sequence_forward(x, h0, c0, self.params, self.num_layers)
            return [(Y, C, {g: np.stack([getattr(k, g) for k in caches]) for g in GATES}, caches)
                    for Y, C, caches in layers], o
        passes, o = lstm_fused.forward(x, h0, c0, self.params, self.num_layers)
        return [(p.Ys[1:], p.Cs[1:], {g: p.G[..., k * H:(k + 1) * H] for k, g in enumerate(GATES)}, p)
                for p in passes], o

    def forward(self, x, h0=None, *, lengths=None) -> LSTMForward:
        """Forward propagation over all steps; nothing is kept between calls.

        x (T, B, D) or token ids (T, B); h0 a pair (h, c), each (B, H) or (L, B, H), None for
        zeros. Returns `.h` (the block outputs y(t)) and `.c` (T, B, H) of the top layer,
        `.gates` {"z", "i", "f", "o"} each (T, B, H), `.o`, `.y_hat` (T, B, O), and
        `.last_state` = (h_last, c_last) in h0's layout."""
        (x, _, state, _), kw = self._checked(x, None, h0, None, lengths, need_y=False)
        if self.bidirectional:
            return bi.forward(self, x, state, kw.get("lengths"))
        layers, o = self._run_forward(x, state)
        per_layer = [{"h": Y, "c": C, **gates} for Y, C, gates, _ in layers]
        h_last, c_last = self._public(np.stack([Y[-1] for Y, *_ in layers]),
                                      np.stack([C[-1] for _, C, *_ in layers]))
        return LSTMForward(layers[-1][0], layers[-1][1], o, output_fn(self.output, o),
                           h_last, c_last, per_layer)

    # -- loss and BPTT -------------------------------------------------------------------------
    def _backward(self, x, y, state, mask, need_dx=True, lengths=None) -> LSTMBackward:
        """backward() on inputs already validated and cast; state is a pair (h, c).
        need_dx=False allows skipping ∂J/∂x where nobody reads it (the result's dx may be None)."""
        if self.bidirectional:
            return bi.backward(self, x, y, state, mask, need_dx, lengths)
        weight = mask / x.shape[1]                                  # mask[t, b] / B
        h0, c0 = self._layers(state)
        if self.path == "reference":
            layers, o = lstm_reference.sequence_forward(x, h0, c0, self.params, self.num_layers)
            loss, _, do = loss_and_error(self.output, o, y, weight)
            dx, dh0, dc0, grads, _, _ = lstm_reference.sequence_backward(do, layers, self.params)
            ys, cs = [Y for Y, _, _ in layers], [C for _, C, _ in layers]
        else:
            loss, passes, dx, dh0, dc0, grads = lstm_pipeline.loss_and_backward(
                x, h0, c0, self.params, self.num_layers, self.output, y, weight)
            ys, cs = [p.Ys[1:] for p in passes], [p.Cs[1:] for p in passes]
        return LSTMBackward(loss, grads, self._public(dh0, dc0), dx, ys, cs)

    def _trace(self, x, y, h0, mask, max_bytes):
        """The one-direction trace; see `bptt.cells.lstm.trace`."""
        return trace_lstm(self, x, y, h0=h0, mask=mask, max_bytes=max_bytes)

    def _forward_loss(self, x, y, state, mask, lengths=None):
        """(J, last state) on validated inputs, forward only."""
        if self.bidirectional:
            return bi.forward_loss(self, x, y, state, mask, lengths)
        layers, o = self._run_forward(x, state)
        last = self._public(np.stack([Y[-1] for Y, *_ in layers]), np.stack([C[-1] for _, C, *_ in layers]))
        return per_step_total(self.output, o, y, mask / x.shape[1]), last
