"""The simple RNN model: parameters, forward, loss and full BPTT, on either path.

Dimension letters: T time steps, B batch, D input size, H hidden size, O output size,
L number of layers.

    model = SimpleRNN(D, H, O)                      # params U (H, D), W (H, H), b (H,), V (O, H), c (O,)
    out = model.forward(x, h0)                      # a, h, o, y_hat (T, B, .), h_last (B, H)
    loss, grads = model.loss_and_grads(x, y, h0, mask)

J = (1/B) Σ_b Σ_t mask[t, b] · L(t, b). The "fast" path (default) fuses work across time; the
"reference" path is the loop of per-step functions in `bptt.cells.rnn.reference`. Tests show they agree.
In float32 with the numba kernels, the fast path's backward and loss run each layer's time loop in
batch slices (`bptt.cells.rnn.slices`; decided once per pass, `_slices`): one per thread on two or
more OpenBLAS threads for a large enough pass, else one slice on the calling thread.

With num_layers = L > 1, layer l's h(t) is layer l+1's x(t); layer l >= 1 has parameters
"U.l" (H, H), "W.l", "b.l" (see `bptt.cells.layers`); h0 and h_last are (L, B, H); forward's a and h
are those of the top layer (all layers are in `.layers_h`).

bidirectional=True adds a backward direction to every layer ("U@rev", "W@rev", "b@rev", ...),
V (O, 2H) reading [h(t); g(t)], h0 (2L, B, H), and `lengths` for padded batches: see
`bptt.cells.bidirectional`.
"""
from __future__ import annotations

import numpy as np

from ... import _validate as v
from . import fused
from . import reference
from . import slices
from .. import bidirectional as bi
from .. import sequences
from ..slicing import held
from ..head import head_backward
from ...nn.activations import get_activation
from ...nn.init import uniform_fan_in
from ..layers import layer_key, layer_params
from ...nn.losses import OUTPUTS, MeanPooled, loss_and_error, output_fn, per_step_total
from ..base import RecurrentModel
from .reference import LAYER_NAMES
from .results import RNNBackward, RNNForward
from .trace import Trace, trace_rnn

PATHS = ("fast", "reference")


class SimpleRNN(RecurrentModel):
    """Elman-style simple RNN with an output layer (Goodfellow et al., eq. 10.8–10.11).

    Parameters U (H, D), W (H, H), b (H,), V (O, H), c (O,); layer l >= 1 of a stack has
    "U.l" (H, H), "W.l", "b.l". Inputs x (T, B, D) floats or (T, B) token ids (below D);
    targets y (T, B) class ids (output="softmax") or (T, B, O) (output="identity"); state h0
    (B, H), or (L, B, H) for num_layers = L, and (2L, B, H) when bidirectional.

    Examples:
        >>> from bptt import SimpleRNN
        >>> model = SimpleRNN(3, 4, 2, seed=0)
        >>> {k: p.shape for k, p in model.params.items()}
        {'U': (4, 3), 'W': (4, 4), 'b': (4,), 'V': (2, 4), 'c': (2,)}
        >>> x = np.random.default_rng(0).normal(size=(5, 2, 3))          # (T, B, D)
        >>> out = model.forward(x, h0=model.zero_state(2))
        >>> out.a.shape, out.h.shape, out.y_hat.shape, out.h_last.shape
        ((5, 2, 4), (5, 2, 4), (5, 2, 2), (2, 4))
        >>> p = model.layer(0)                                           # h(0) by hand
        >>> bool(np.allclose(out.h[0], np.tanh(p["b"] + x[0] @ p["U"].T)))
        True
        >>> SimpleRNN.num_params(model.config())                         # 12 + 16 + 4 + 8 + 2
        42
    """

    owner = "SimpleRNN"
    kind = "rnn"
    trace_class = Trace

    def __init__(self, input_size, hidden_size, output_size, *, num_layers=1, activation="tanh",
                 bidirectional=False, output="softmax", dtype="float64", seed=0, path="fast"):
        o = self.owner
        self.input_size = v.check_int(input_size, "input_size", o)
        self.hidden_size = v.check_int(hidden_size, "hidden_size", o)
        self.output_size = v.check_int(output_size, "output_size", o)
        self.num_layers = v.check_int(num_layers, "num_layers", o)
        self.act = get_activation(activation, o)
        self.activation = activation
        self.bidirectional = v.check_bool(bidirectional, "bidirectional", o)
        self.output = v.check_choice(output, "output", o, OUTPUTS)
        self.dtype = v.check_dtype(dtype, o)
        self.path = v.check_choice(path, "path", o, PATHS)
        rng = v.check_rng(seed, o)
        D, H, O = self.input_size, self.hidden_size, self.output_size
        # PyTorch's initialization: nn.RNN uses ±1/√H for U, W, b; nn.Linear ±1/√H for V, c.
        self.params = {}
        if self.bidirectional:                  # both directions of each layer, then V (O, 2H), c
            shapes = bi.param_shapes(lambda D_l: {"U": (H, D_l), "W": (H, H), "b": (H,)},
                                     D, H, O, self.num_layers)
            self.params = {k: uniform_fan_in(rng, s, H, self.dtype) for k, s in shapes.items()}
            return
        for l in range(self.num_layers):
            self.params[layer_key("U", l)] = uniform_fan_in(rng, (H, D if l == 0 else H), H, self.dtype)
            self.params[layer_key("W", l)] = uniform_fan_in(rng, (H, H), H, self.dtype)
            self.params[layer_key("b", l)] = uniform_fan_in(rng, (H,), H, self.dtype)
        self.params["V"] = uniform_fan_in(rng, (O, H), H, self.dtype)
        self.params["c"] = uniform_fan_in(rng, (O,), H, self.dtype)

    def config(self) -> dict:
        """The constructor's arguments (JSON-friendly): SimpleRNN(**model.config()) rebuilds it."""
        return {"input_size": self.input_size, "hidden_size": self.hidden_size,
                "output_size": self.output_size, "num_layers": self.num_layers,
                "activation": self.activation, "bidirectional": self.bidirectional,
                "output": self.output, "dtype": self.dtype.name}

    def zero_state(self, batch_size: int) -> np.ndarray:
        """h0 = 0: (B, H), or (L, B, H) with several layers; (2L, B, H) when bidirectional.

        Examples:
            >>> from bptt import SimpleRNN
            >>> SimpleRNN(3, 4, 2, num_layers=2).zero_state(5).shape
            (2, 5, 4)
        """
        shape = (v.check_int(batch_size, "batch_size", "SimpleRNN.zero_state"), self.hidden_size)
        if self.bidirectional:
            return bi.zero_state(self, shape[0], pair=False)
        return np.zeros(shape if self.num_layers == 1 else (self.num_layers,) + shape, self.dtype)

    @staticmethod
    def num_params(config: dict) -> int:
        """The number of parameters the config would allocate (checked before building one)."""
        o = "SimpleRNN"
        D, H, O = (v.check_int(config.get(k), k, o) for k in ("input_size", "hidden_size", "output_size"))
        L = v.check_int(config.get("num_layers", 1), "num_layers", o)
        if v.check_bool(config.get("bidirectional", False), "bidirectional", o):
            return bi.count(bi.param_shapes(lambda D_l: {"U": (H, D_l), "W": (H, H), "b": (H,)}, D, H, O, L))
        return H * D + (L - 1) * H * H + L * (H * H + H) + O * H + O

    def __repr__(self):
        layers = f", num_layers={self.num_layers}" if self.num_layers > 1 else ""
        layers += ", bidirectional=True" if self.bidirectional else ""
        return (f"SimpleRNN({self.input_size}, {self.hidden_size}, {self.output_size}{layers}, "
                f"activation={self.activation!r}, output={self.output!r}, dtype={self.dtype.name!r})")

    def layer(self, l: int) -> dict:
        """Layer l's {U (H, D), W (H, H), b (H,)}, the model's own arrays (layer l >= 1's U is
        (H, H))."""
        return layer_params(self.params, LAYER_NAMES, l)

    # -- validation at the public edge -------------------------------------------------------
    def _inputs(self, x, y, h0, mask, need_y=True):
        o = self.owner
        x = sequences.check_x(x, o, self.input_size, self.dtype)
        T, B = x.shape[:2]
        if self.bidirectional:
            h0 = bi.check_state(self, h0, B, pair=False)
        elif self.num_layers == 1:
            h0 = sequences.check_h0(h0, o, B, self.hidden_size, self.dtype)
        else:
            h0 = (self.zero_state(B) if h0 is None else
                  v.check_float_array(h0, "h0", o, (self.num_layers, B, self.hidden_size), self.dtype))
        if not need_y:
            return x, None, h0, None
        y = sequences.check_y(y, o, self.output, T, B, self.output_size, self.dtype)
        mask = sequences.check_mask(mask, o, T, B, self.dtype)
        return x, y, h0, mask

    def _h0s(self, h0):
        return [h0] if self.num_layers == 1 else list(h0)

    def _stack(self, per_layer):
        return per_layer[0] if self.num_layers == 1 else np.stack(per_layer)

    # -- forward -----------------------------------------------------------------------------
    def forward(self, x, h0=None, *, lengths=None) -> RNNForward:
        """Forward propagation over all steps; nothing is kept between calls.

        x (T, B, D) or token ids (T, B); h0 (B, H), (L, B, H), None for zeros. Returns `.a`,
        `.h` (T, B, H) of the top layer, `.o`, `.y_hat` (T, B, O), `.h_last` (B, H) or
        (L, B, H) (also `.last_state`), and `.layers_h`, every layer's h (T, B, H)."""
        (x, _, h0, _), kw = self._checked(x, None, h0, None, lengths, need_y=False)
        if self.bidirectional:
            return bi.forward(self, x, h0, kw.get("lengths"))
        if self.path == "reference":
            layers = [self.layer(l) for l in range(self.num_layers)]
            a, hs, o, _ = reference.sequence_forward(x, self._h0s(h0), layers, self.params, self.act)
            a = a[-1]
        else:
            inp, hs = x, []
            for l, h0_l in enumerate(self._h0s(h0)):
                p = self.layer(l)
                a, Hs = fused.layer_forward(inp, h0_l, p["U"], p["W"], p["b"], self.act, keep_a=True)
                hs.append(Hs[1:])
                inp = Hs[1:]
            o = fused.output_forward(inp, self.params["V"], self.params["c"])
        h_last = self._stack([h[-1].copy() for h in hs])
        return RNNForward(a, hs[-1], o, output_fn(self.output, o), h_last, hs)

    # -- loss and BPTT -------------------------------------------------------------------------
    def _backward(self, x, y, h0, mask, need_dx=True, lengths=None) -> RNNBackward:
        """backward() on inputs already validated and cast. need_dx=False skips ∂J/∂x (one GEMM
        for float inputs) where nobody reads it: training, TBPTT windows, loss_and_grads."""
        if self.bidirectional:
            return bi.backward(self, x, y, h0, mask, need_dx, lengths)
        weight = mask / x.shape[1]                                  # mask[t, b] / B
        if self.path == "reference":
            return self._backward_reference(x, y, h0, weight)
        L, V, c = self.num_layers, self.params["V"], self.params["c"]
        k = self._slices(x)                                         # batch slices: decided once
        with held(k):                                   # OpenBLAS on one thread if k
            inputs, Hss = self._layers_forward(x, h0, k)
            inp = Hss[-1][1:]                                       # the top layer's h(t)
            if k and not isinstance(y, MeanPooled):                 # output layer and loss in
                loss, dA, dV, dc = head_backward(inp, V, c, self.output, y, weight, k)   # bands
            else:
                o = fused.output_forward(inp, V, c, k)
                loss, y_hat, do = loss_and_error(self.output, o, y, weight)   # ∂J/∂o (T, B, O)
                del o, y_hat                                        # free them before BPTT
                dA, dV, dc = fused.output_backward(do, inp, V, k)
            grads, dh0s = {"V": dV, "c": dc}, [None] * L
            for l in reversed(range(L)):                            # BPTT, top layer first
                p = self.layer(l)
                dx, dh0s[l], dU, dW, db = fused.layer_backward(dA, inputs[l], Hss[l], p["U"],
                                                               p["W"], self.act,
                                                               need_dx or l > 0, k)
                grads.update({layer_key("U", l): dU, layer_key("W", l): dW, layer_key("b", l): db})
                dA = dx                                             # ∂J/∂h(t) of the layer below
        return RNNBackward(loss, {name: grads[name] for name in self.params}, self._stack(dh0s), dA,
                           [Hs[1:] for Hs in Hss])

    def _slices(self, x) -> int:
        """How many batch slices this pass's layers run in (`bptt.cells.rnn.slices.count`,
        decided from layer 0: every layer has the same T, B, H and dtype); 0: the fused loop."""
        return slices.count(x, self.params["W"], self.act)

    def _layers_forward(self, x, h0, k: int):
        """Every layer's forward (k slices, or the fused loop for 0): (inputs, Hss), each layer's
        input x (T, B, D) or (T, B, H), and its Hs (T+1, B, H)."""
        inputs, Hss, inp = [], [], x
        for l, h0_l in enumerate(self._h0s(h0)):
            p = self.layer(l)
            _, Hs = fused.layer_forward(inp, h0_l, p["U"], p["W"], p["b"], self.act, slices=k)
            inputs.append(inp)
            Hss.append(Hs)
            inp = Hs[1:]                                            # layer l's h(t): l+1's x(t)
        return inputs, Hss

    def _backward_reference(self, x, y, h0, weight) -> RNNBackward:
        layers = [self.layer(l) for l in range(self.num_layers)]
        _, hs, o, caches = reference.sequence_forward(x, self._h0s(h0), layers, self.params, self.act)
        loss, _, do = loss_and_error(self.output, o, y, weight)
        dx, dh0s, grads, _, _ = reference.sequence_backward(do, caches, layers, self.params)
        flat = {}
        for l, g in enumerate(grads):
            flat.update({layer_key(k, l) if k in LAYER_NAMES else k: a for k, a in g.items()})
        return RNNBackward(loss, {k: flat[k] for k in self.params}, self._stack(dh0s), dx, hs)

    def _trace(self, x, y, h0, mask, max_bytes):
        """The one-direction trace; see `bptt.cells.rnn.trace`."""
        return trace_rnn(self, x, y, h0=h0, mask=mask, max_bytes=max_bytes)

    def _forward_loss(self, x, y, h0, mask, lengths=None):
        """(J, last state) on validated inputs, forward only."""
        if self.bidirectional:
            return bi.forward_loss(self, x, y, h0, mask, lengths)
        k = self._slices(x)
        with held(k):
            _, Hss = self._layers_forward(x, h0, k)
            o = fused.output_forward(Hss[-1][1:], self.params["V"], self.params["c"], k)
        last = [Hs[-1].copy() for Hs in Hss]
        return per_step_total(self.output, o, y, mask / x.shape[1]), self._stack(last)
