"""The GRU model (Cho et al. 2014; stacked layers; the reset gate after or before W_n): parameters,
forward, loss and full BPTT, on either path.

Dimension letters: T time steps, B batch, D input size, H hidden size, O output size, L layers.

    model = GRU(D, H, O, num_layers=1, reset="after")
    out = model.forward(x, h0)              # h (T, B, H) of the top layer, o, y_hat (T, B, O),
                                            # gates {"r", "z", "n"}, h_last
    loss, grads = model.loss_and_grads(x, y, h0, mask)

Equations (see `bptt.cells.gru.reference` for the backward ones), for each layer, with layer l's
x(t) being layer l−1's h(t):

    r(t) = σ(U_r x(t) + W_r h(t−1) + b_r)                               reset gate
    z(t) = σ(U_z x(t) + W_z h(t−1) + b_z)                               update gate
    n(t) = tanh(U_n x(t) + b_n + r(t) ⊙ (W_n h(t−1) + b_hn))            candidate, reset="after"
    n(t) = tanh(U_n x(t) + W_n (r(t) ⊙ h(t−1)) + b_n)                   candidate, reset="before"
    h(t) = (1 − z(t)) ⊙ n(t) + z(t) ⊙ h(t−1)                            new state
    o(t) = c + V h(t)  (top layer),  ŷ(t) = f(o(t))                     output layer, as in SimpleRNN

reset="after" is PyTorch's and cuDNN's form (torch.nn.GRU computes it; `bptt.to_torch` exports
it); reset="before" is the form of Cho et al. (2014) and of d2l, which PyTorch cannot express.

Parameters: U_r, U_z, U_n (H, D); W_r, W_z, W_n (H, H); b_r, b_z, b_n (H,); b_hn (H,) only with
reset="after" (inside the reset, so it cannot merge into b_n); V (O, H) and c (O,) for the output
layer. Layer l >= 1 appends ".l" to its keys ("U_r.1", whose U has shape (H, H)); layer 0 keeps
the plain names.

State: h, (B, H) for one layer or (L, B, H) for several; h0=None means zeros. The last state
comes back in the same layout. Initialization as torch.nn.GRU and nn.Linear: every entry uniform
in ±1/√H, drawn in the order of `params`: for each layer U_r, U_z, U_n, W_r, W_z, W_n, b_r, b_z,
b_n (, b_hn), then V, c.

J = (1/B) Σ_b Σ_t mask[t, b] · L(t, b). The "fast" path (default) fuses the gates and work across
time (`bptt.cells.gru.fused`); the "reference" path is the loop of per-step functions in
`bptt.cells.gru.reference`. Tests show they agree.

bidirectional=True adds a backward direction to every layer ("U_r@rev", "W_n@rev.1", ...), V
(O, 2H) reading [h(t); g(t)], h0 (2L, B, H), and `lengths` for padded batches: see
`bptt.cells.bidirectional`.
"""
from __future__ import annotations

import numpy as np

from ... import _validate as v
from . import fused as gru_fused
from . import reference as gru_reference
from .. import bidirectional as bi
from .. import sequences
from ...nn.init import uniform_fan_in
from ...nn.losses import OUTPUTS, loss_and_error, output_fn, per_step_total
from ..base import RecurrentModel
from .reference import GATES, RESETS, layer_params, param_shapes
from .results import GRUBackward, GRUForward
from .trace import GRUTrace, trace_gru

PATHS = ("fast", "reference")


class GRU(RecurrentModel):
    """GRU layers (Cho et al. 2014) with an output layer; the same protocol as SimpleRNN.

    Parameters U_r, U_z, U_n (H, D); W_r, W_z, W_n (H, H); b_r, b_z, b_n (H,); b_hn (H,) with
    reset="after"; V (O, H), c (O,). x (T, B, D) or token ids (T, B); y (T, B) or (T, B, O);
    the state h0 (B, H), or (L, B, H) for num_layers = L.

    Examples:
        >>> from bptt import GRU
        >>> model = GRU(3, 4, 2, seed=0)
        >>> sorted(model.layer(0))
        ['U_n', 'U_r', 'U_z', 'W_n', 'W_r', 'W_z', 'b_hn', 'b_n', 'b_r', 'b_z']
        >>> x = np.random.default_rng(0).normal(size=(5, 2, 3))          # (T, B, D)
        >>> out = model.forward(x, h0=model.zero_state(2))
        >>> out.h.shape, out.gates["z"].shape, out.y_hat.shape, out.h_last.shape
        ((5, 2, 4), (5, 2, 4), (5, 2, 2), (2, 4))
        >>> z, n = out.gates["z"][1], out.gates["n"][1]                  # h(1) from h(0)
        >>> bool(np.allclose(out.h[1], (1 - z) * n + z * out.h[0]))
        True
        >>> GRU.num_params(model.config()) == sum(p.size for p in model.params.values())
        True
    """

    owner = "GRU"
    kind = "gru"
    trace_class = GRUTrace

    def __init__(self, input_size, hidden_size, output_size, *, num_layers=1, reset="after",
                 bidirectional=False, output="softmax", dtype="float64", seed=0, path="fast"):
        o = self.owner
        self.input_size = v.check_int(input_size, "input_size", o)
        self.hidden_size = v.check_int(hidden_size, "hidden_size", o)
        self.output_size = v.check_int(output_size, "output_size", o)
        self.num_layers = v.check_int(num_layers, "num_layers", o)
        self.reset = v.check_choice(reset, "reset", o, RESETS)
        self.bidirectional = v.check_bool(bidirectional, "bidirectional", o)
        self.output = v.check_choice(output, "output", o, OUTPUTS)
        self.dtype = v.check_dtype(dtype, o)
        self.path = v.check_choice(path, "path", o, PATHS)
        rng = v.check_rng(seed, o)
        H = self.hidden_size
        shapes = self._shapes(self.input_size, H, self.output_size, self.num_layers, self.reset,
                              self.bidirectional)
        # torch.nn.GRU and nn.Linear(H, O): every entry uniform in ±1/√H, in the order of shapes
        self.params = {k: uniform_fan_in(rng, s, H, self.dtype) for k, s in shapes.items()}

    @staticmethod
    def _shapes(D, H, O, L, reset, bidirectional) -> dict:
        if not bidirectional:
            return param_shapes(D, H, O, L, reset)
        one = lambda D_l: {k: s for k, s in param_shapes(D_l, H, O, 1, reset).items()   # noqa: E731
                           if k not in ("V", "c")}
        return bi.param_shapes(one, D, H, O, L)

    def config(self) -> dict:
        """The constructor's arguments (JSON-friendly): GRU(**model.config()) rebuilds it."""
        return {"input_size": self.input_size, "hidden_size": self.hidden_size,
                "output_size": self.output_size, "num_layers": self.num_layers,
                "reset": self.reset, "bidirectional": self.bidirectional, "output": self.output, "dtype": self.dtype.name}

    @staticmethod
    def num_params(config: dict) -> int:
        """The number of parameters the config would allocate (checked before building one)."""
        o = "GRU"
        D, H, O = (v.check_int(config.get(k), k, o) for k in ("input_size", "hidden_size", "output_size"))
        L = v.check_int(config.get("num_layers", 1), "num_layers", o)
        reset = v.check_choice(config.get("reset", "after"), "reset", o, RESETS)
        if v.check_bool(config.get("bidirectional", False), "bidirectional", o):
            return bi.count(GRU._shapes(D, H, O, L, reset, True))
        per_layer = 3 * H * H + 3 * H + (H if reset == "after" else 0)   # W_*, b_* (, b_hn)
        return 3 * H * D + 3 * H * H * (L - 1) + L * per_layer + O * H + O   # + U_* and V, c

    def zero_state(self, batch_size: int) -> np.ndarray:
        """h0 = 0: (B, H), or (L, B, H) with several layers."""
        B = v.check_int(batch_size, "batch_size", "GRU.zero_state")
        if self.bidirectional:
            return bi.zero_state(self, B, pair=False)
        return np.zeros(self._state_shape(B), dtype=self.dtype)

    def layer(self, l: int) -> dict:
        """Layer l's parameters under the plain names (U_r (H, D), ..., b_hn (H,)): the same
        arrays (layer l >= 1's U_* are (H, H))."""
        L = self.num_layers
        if isinstance(l, bool) or not isinstance(l, (int, np.integer)) or not -L <= l < L:
            raise ValueError(f"The 'l' argument of GRU.layer must be an int in [{-L}, {L}). "
                             f"Got {l!r}.")
        return layer_params(self.params, int(l) % L)

    def __repr__(self):
        return (f"GRU({self.input_size}, {self.hidden_size}, {self.output_size}, "
                f"num_layers={self.num_layers}, reset={self.reset!r}, "
                f"{'bidirectional=True, ' if self.bidirectional else ''}"
                f"output={self.output!r}, dtype={self.dtype.name!r})")

    # -- state layouts -------------------------------------------------------------------------
    def _state_shape(self, B):
        return (B, self.hidden_size) if self.num_layers == 1 else (self.num_layers, B, self.hidden_size)

    def _layers(self, h0):
        """A validated state in the public layout → (L, B, H)."""
        return h0[None] if self.num_layers == 1 else h0

    def _public(self, h):
        """(L, B, H) → the public layout."""
        return h[0] if self.num_layers == 1 else h

    # -- validation at the public edge -------------------------------------------------------
    def _inputs(self, x, y, h0, mask, need_y=True):
        o = self.owner
        x = sequences.check_x(x, o, self.input_size, self.dtype)
        T, B = x.shape[:2]
        h0 = (bi.check_state(self, h0, B, pair=False) if self.bidirectional else
              self.zero_state(B) if h0 is None else
              v.check_float_array(h0, "h0", o, self._state_shape(B), self.dtype))
        if not need_y:
            return x, None, h0, None
        y = sequences.check_y(y, o, self.output, T, B, self.output_size, self.dtype)
        mask = sequences.check_mask(mask, o, T, B, self.dtype)
        return x, y, h0, mask

    # -- forward -----------------------------------------------------------------------------
    def _run_forward(self, x, h0):
        """(layers, o) on validated inputs: layers[l] = (Hs (T, B, H), {gate: (T, B, H)})."""
        if self.path == "reference":
            layers, o = gru_reference.sequence_forward(x, self._layers(h0), self.params, self.num_layers)
            return [(Hs, {g: np.stack([getattr(k, g) for k in caches]) for g in GATES})
                    for Hs, caches in layers], o
        passes, o = gru_fused.forward(x, self._layers(h0), self.params, self.num_layers)
        return [(p.Hs[1:], {g: p.gate(g) for g in GATES}) for p in passes], o

    def forward(self, x, h0=None, *, lengths=None) -> GRUForward:
        """Forward propagation over all steps; nothing is kept between calls.

        x (T, B, D) or token ids (T, B); h0 (B, H) or (L, B, H), None for zeros. Returns `.h`
        (T, B, H) of the top layer, `.gates` {"r", "z", "n"} each (T, B, H), `.o`, `.y_hat`
        (T, B, O) and `.h_last` (also `.last_state`) in h0's layout."""
        (x, _, h0, _), kw = self._checked(x, None, h0, None, lengths, need_y=False)
        if self.bidirectional:
            return bi.forward(self, x, h0, kw.get("lengths"))
        layers, o = self._run_forward(x, h0)
        per_layer = [{"h": Hs, **gates} for Hs, gates in layers]
        h_last = self._public(np.stack([Hs[-1] for Hs, _ in layers]))
        return GRUForward(layers[-1][0], o, output_fn(self.output, o), h_last, per_layer)

    # -- loss and BPTT -------------------------------------------------------------------------
    def _backward(self, x, y, h0, mask, need_dx=True, lengths=None) -> GRUBackward:
        """backward() on inputs already validated and cast. need_dx=False skips ∂J/∂x (one GEMM
        for float inputs) where nobody reads it: training, TBPTT windows, loss_and_grads."""
        if self.bidirectional:
            return bi.backward(self, x, y, h0, mask, need_dx, lengths)
        weight = mask / x.shape[1]                                  # mask[t, b] / B
        h0s = self._layers(h0)
        if self.path == "reference":
            layers, o = gru_reference.sequence_forward(x, h0s, self.params, self.num_layers)
            loss, _, do = loss_and_error(self.output, o, y, weight)
            dx, dh0, grads, _, _ = gru_reference.sequence_backward(do, layers, self.params)
            hs = [Hs for Hs, _ in layers]
        else:
            loss, passes, dx, dh0, grads = gru_fused.loss_and_backward(
                x, h0s, self.params, self.num_layers, self.output, y, weight, need_dx)
            hs = [p.Hs[1:] for p in passes]
        return GRUBackward(loss, grads, self._public(dh0), dx, hs)

    def _trace(self, x, y, h0, mask, max_bytes):
        """The one-direction trace; see `bptt.cells.gru.trace`."""
        return trace_gru(self, x, y, h0=h0, mask=mask, max_bytes=max_bytes)

    def _forward_loss(self, x, y, h0, mask, lengths=None):
        """(J, last state) on validated inputs, forward only."""
        if self.bidirectional:
            return bi.forward_loss(self, x, y, h0, mask, lengths)
        layers, o = self._run_forward(x, h0)
        last = self._public(np.stack([Hs[-1] for Hs, _ in layers]))
        return per_step_total(self.output, o, y, mask / x.shape[1]), last
