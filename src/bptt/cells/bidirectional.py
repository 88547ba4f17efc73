"""Bidirectional recurrent layers (Goodfellow et al. §10.3, fig. 10.11), one implementation for
every cell: each layer runs the cell's own layer code twice, forward in time and on the reversed
sequence, and the output layer reads both.

Dimension letters: T time steps, B batch, D input size, H hidden size (of each direction),
O output size, L layers.

    model = SimpleRNN(D, H, O, bidirectional=True)          # also LSTM(...), GRU(...)
    out = model.forward(x, h0, lengths=None)                # out.h (T, B, 2H) = [h(t); g(t)]
    loss, grads = model.loss_and_grads(x, y, h0, mask, lengths=lengths)

The equations, for one layer of the simple RNN (the LSTM and the GRU replace each recurrence by
their own cell, with the same two directions):

    h(t) = g(b + W h(t−1) + U x(t))                  t = 0 .. T−1, from h(−1) = h0[2l]       (B, H)
    g(t) = g(b' + W' g(t+1) + U' x(t))               t = T−1 .. 0, from g(T) = h0[2l+1]      (B, H)
    o(t) = c + V [h(t); g(t)]                        V (O, 2H): V = [V_h | V_g]               (B, O)

and back-propagation runs each direction against its own arrow of time:

    ∂J/∂[h(t); g(t)] = Vᵀ ∂J/∂o(t)                                       (from the output layer)
    ∂J/∂h(t) = V_hᵀ ∂J/∂o(t) + Wᵀ ∂J/∂a(t+1)        (from step t+1: BPTT runs t = T−1 .. 0)
    ∂J/∂g(t) = V_gᵀ ∂J/∂o(t) + W'ᵀ ∂J/∂a'(t−1)      (from step t−1: BPTT runs t = 0 .. T−1)
    ∂J/∂x(t) = Uᵀ ∂J/∂a(t) + U'ᵀ ∂J/∂a'(t)

so the loss L(s) reaches h(t) for t <= s and g(t) for t >= s: every step, in one of the two.

Parameters: the forward direction keeps the cell's names ("U", "W_z", "b_hn.1"); the backward
direction appends "@rev" before the layer suffix ("U@rev", "W_z@rev", "W_z@rev.1"), with the same
shapes (torch's "_reverse" parameters). Layer l >= 1 reads [h(t); g(t)] of layer l−1, 2H
features, so its input weights are (H, 2H) in both directions, as in torch.nn.RNN/LSTM/GRU with
bidirectional=True. The output layer is V (O, 2H), c (O,).

State: h0 is (2L, B, H) — for the LSTM a pair (h0, c0) of such arrays — laid out as torch's h_0
with num_directions = 2: row 2l is layer l's forward direction h(−1), row 2l+1 its backward
direction's g(T). The last state comes back in the same layout: h(T−1) and g(0) (what the
backward direction reaches last), as torch's h_n. ∂J/∂h0 has this layout too.

Variable lengths (padding at the end): `lengths` (B,) ints in [1, T] give each sequence's real
steps t < lengths[b], as torch's pack_padded_sequence does. Then
- the backward direction of sequence b starts at its last real step, g(lengths[b]−1) from
  h0[2l+1], and runs over its real steps only: padding never reaches it;
- the output [h(t); g(t)] of each layer is 0 at the padded steps (as pad_packed_sequence
  returns), so the layer above and the output layer never see the padding either;
- steps t >= lengths[b] carry no loss: the mask is multiplied by [t < lengths[b]];
- the last state is h(lengths[b]−1) and g(0).
A mask alone cannot say this: the forward direction is causal and needs only mask = 0 on the
padding, but the backward direction would read the padding first. So one-directional models do
not take `lengths` (mask the padding), bidirectional ones do.

Truncated BPTT and training a character language model are refused for bidirectional models:
g(t) reads x(t..T−1), the future that a windowed stream or a next-character target does not
allow (`truncated.tbptt`, `bptt.train`).

The "reference" path runs each cell's loop of per-step functions in both directions, the "fast"
path its fused layer code (`bptt.cells.directions`); tests show they agree, and that both equal
torch's bidirectional modules.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Optional

import numpy as np

from .. import _validate as v
from ..nn.losses import loss_and_error, output_fn, per_step_total
from . import threads
from .slicing import held
from . import directions       # a module import: the cells' packages import this module
from .layers import layer_key

REV = "@rev"                   # the backward direction's suffix, before the layer's ".l"
REFUSAL = ("needs the whole sequence: its backward direction g(t) reads x(t), ..., x(T−1), the "
           "future")


def direction_key(name: str, layer: int, direction: int) -> str:
    """The params key of `name` in `layer` and `direction` (0 forward, 1 backward):
    "W_z", "W_z.1", "W_z@rev", "W_z@rev.1"."""
    return layer_key(name + REV if direction else name, layer)


def param_shapes(layer_shapes, D: int, H: int, O: int, L: int) -> dict:
    """{key: shape} of a bidirectional model, in order: layer 0 forward, layer 0 backward,
    layer 1 forward, ..., then V (O, 2H) and c. layer_shapes(D_l) gives one layer's
    {plain name: shape} for an input of D_l features (D, then 2H)."""
    shapes = {}
    for l in range(L):
        one = layer_shapes(D if l == 0 else 2 * H)
        for d in (0, 1):
            shapes.update({direction_key(n, l, d): s for n, s in one.items()})
    shapes["V"], shapes["c"] = (O, 2 * H), (O,)
    return shapes


def count(shapes: dict) -> int:
    return sum(int(np.prod(s)) for s in shapes.values())


def plain_names(params: dict) -> tuple:
    """One layer's plain parameter names: those of layer 0's forward direction."""
    return tuple(k for k in params if "." not in k and REV not in k and k not in ("V", "c"))


def direction_params(params: dict, names, layer: int, direction: int) -> dict:
    """One direction of one layer under the plain names (the same arrays)."""
    return {n: params[direction_key(n, layer, direction)] for n in names}


# -- state, lengths and time reversal -------------------------------------------------------------
def state_shape(model, B: int) -> tuple:
    return (2 * model.num_layers, B, model.hidden_size)


def zero_state(model, B: int, pair: bool):
    """h0 = 0 in the bidirectional layout: (2L, B, H), or a pair of them (the LSTM)."""
    z = lambda: np.zeros(state_shape(model, B), dtype=model.dtype)     # noqa: E731
    return (z(), z()) if pair else z()


def check_state(model, h0, B: int, pair: bool):
    """h0 = None (zeros), an array (2L, B, H), or for the LSTM a pair of them."""
    if h0 is None:
        return zero_state(model, B, pair)
    shape, o = state_shape(model, B), model.owner
    if not pair:
        return v.check_float_array(h0, "h0", o, shape, model.dtype)
    if not isinstance(h0, (tuple, list)) or len(h0) != 2:
        raise TypeError(f"The 'h0' argument of {o} must be a pair (h, c) of arrays, each of shape "
                        f"{shape} (2·num_layers, B, H) for a bidirectional model. "
                        f"Got {type(h0).__name__}.")
    return tuple(v.check_float_array(a, f"h0[{k}]", o, shape, model.dtype) for k, a in enumerate(h0))


def parts(state) -> tuple:
    return tuple(state) if isinstance(state, tuple) else (state,)


def pack(model, arrays):
    """State parts → the public layout: a pair (h, c) for the LSTM, else one array."""
    return tuple(arrays) if len(arrays) == 2 else arrays[0]


def time_index(T: int, B: int, lengths, dtype=np.float64) -> tuple:
    """(idx, valid): idx (T, B) with idx[t, b] = lengths[b]−1−t on the real steps and t on the
    padding — reversing each sequence's real steps in place, an involution — and valid (T, B)
    [t < lengths[b]] as floats of `dtype` (the model's: float64 ones would turn a float32 model's
    gradients into float64). Both None without lengths (all sequences have T steps)."""
    if lengths is None:
        return None, None
    t = np.arange(T)[:, None]
    valid = t < lengths[None, :]
    return np.where(valid, lengths[None, :] - 1 - t, t), valid.astype(dtype)


def reverse_time(a, idx):
    """a (T, B, ...) with each sequence's real steps in reverse order (its own inverse)."""
    if idx is None:
        return np.ascontiguousarray(a[::-1])
    return np.take_along_axis(a, idx.reshape(idx.shape + (1,) * (a.ndim - 2)), axis=0)


def last_step(S, lengths):
    """S (T, B, H) at each sequence's last real step: S[lengths[b]−1, b] (B, H)."""
    return S[-1].copy() if lengths is None else S[lengths - 1, np.arange(S.shape[1])]


# -- forward --------------------------------------------------------------------------------------
class LayerRun(NamedTuple):
    x: np.ndarray            # the layer's input, (T, B, D) or (T, B) ids, or (T, B, 2H)
    f: directions.Run                   # the forward direction over t = 0..T−1
    r: directions.Run                   # the backward direction, in its own order (step k reads x(len−1−k))
    out: np.ndarray          # (T, B, 2H) [h(t); g(t)], 0 on the padding


class Pass(NamedTuple):
    layers: list             # [LayerRun] bottom to top
    o: np.ndarray            # (T, B, O) logits
    idx: Optional[np.ndarray]
    valid: Optional[np.ndarray]
    lengths: Optional[np.ndarray]
    k: int                   # the batch slices of the fast path's layers (0: unsliced)


def slice_count(model, x, reference: bool) -> int:
    """How many batch slices every layer of a pass over x runs in, decided once, on OpenBLAS's
    threads as they are (`directions.Direction.slices`): 0 on the reference path. A sliced pass
    then holds OpenBLAS to one thread for all of it, its own products included (split over
    bptt's threads instead): between the layers OpenBLAS's threads would spin and take the
    slices' cores (2 threads, T50 B32 H256, 65 ids, GRU: 55 ms so against 50 unsliced and 33
    with the whole pass held)."""
    if reference:
        return 0
    p0 = direction_params(model.params, plain_names(model.params), 0, 0)
    return directions.DIRECTIONS[model.kind].slices(model, x, p0)


def run_forward(model, x, state, lengths, reference: bool, k: Optional[int] = None) -> Pass:
    """Every layer in both directions, then the output layer. k: the batch slices
    (`slice_count`; None: decided here)."""
    if k is None:
        k = slice_count(model, x, reference)
    with held(k):
        return _run_forward(model, x, state, lengths, reference, k)


def _run_forward(model, x, state, lengths, reference: bool, k: int) -> Pass:
    T, B = x.shape[:2]
    idx, valid = time_index(T, B, lengths, model.dtype)
    cell, names, ps = directions.DIRECTIONS[model.kind], plain_names(model.params), parts(state)
    layers, inp = [], x
    for l in range(model.num_layers):
        f = cell.forward(model, inp, tuple(p[2 * l] for p in ps),
                         direction_params(model.params, names, l, 0), reference, k)
        r = cell.forward(model, reverse_time(inp, idx), tuple(p[2 * l + 1] for p in ps),
                         direction_params(model.params, names, l, 1), reference, k)
        H = f.out.shape[2]
        out = np.empty(f.out.shape[:2] + (2 * H,), dtype=f.out.dtype)  # [h(t); g(t)]  (T, B, 2H)
        out[:, :, :H] = f.out
        out[:, :, H:] = r.out[::-1] if idx is None else reverse_time(r.out, idx)   # one copy, not two
        if valid is not None:
            out *= valid[:, :, None]                                    # 0 on the padding
        layers.append(LayerRun(inp, f, r, out))
        inp = out                                                       # layer l+1 reads 2H features
    o = threads.dot(inp.reshape(T * B, -1), model.params["V"].T, k).reshape(T, B, -1)   # V [h; g]
    o += model.params["c"]                                              # o(t) = c + V [h; g]
    return Pass(layers, o, idx, valid, lengths, k)


def last_state(model, p: Pass):
    """h(T−1) and g(0) of every layer (each sequence's last real steps), torch's h_n layout."""
    n = len(p.layers[0].f.states)
    return pack(model, [np.stack([last_step(getattr(run, d).states[k], p.lengths)
                                  for run in p.layers for d in ("f", "r")]) for k in range(n)])


@dataclass
class BiForward:
    h: np.ndarray            # (T, B, 2H) [h(t); g(t)] of the top layer: what V reads
    o: np.ndarray            # (T, B, O) logits o(t)
    y_hat: np.ndarray        # (T, B, O) f(o(t))
    last_state: object       # (2L, B, H), or the LSTM's pair: h(T−1), g(0) of each layer
    layers: list             # layers[l] = {"h", "g"} (and the LSTM's "c", "c@rev"), each (T, B, H)

    @property
    def h_last(self):
        return self.last_state[0] if isinstance(self.last_state, tuple) else self.last_state


def forward(model, x, state, lengths) -> BiForward:
    return result(model, run_forward(model, x, state, lengths, model.path == "reference"))


def result(model, p: Pass) -> BiForward:
    """What forward() returns, from a pass."""
    layers = []
    for run in p.layers:
        d = {"h": run.f.states[0], "g": reverse_time(run.r.states[0], p.idx)}
        if len(run.f.states) == 2:
            d.update({"c": run.f.states[1], "c@rev": reverse_time(run.r.states[1], p.idx)})
        layers.append(d)
    return BiForward(p.layers[-1].out, p.o, output_fn(model.output, p.o), last_state(model, p), layers)


def forward_loss(model, x, y, state, mask, lengths):
    p = run_forward(model, x, state, lengths, model.path == "reference")
    return per_step_total(model.output, p.o, y, weight(mask, p, x.shape[1])), last_state(model, p)


def weight(mask, p: Pass, B: int):
    """mask[t, b] / B, and 0 on the padding."""
    return mask / B if p.valid is None else mask * p.valid / B


# -- back-propagation through time, both directions -----------------------------------------------
@dataclass
class BiBackward:
    loss: float              # J
    grads: dict              # ∂J/∂θ, keyed like params
    dh0: object              # ∂J/∂h0 in h0's layout: (2L, B, H), or the LSTM's pair
    dx: Optional[np.ndarray]  # ∂J/∂x (T, B, D): both directions' Uᵀ ∂J/∂a; None for token ids
    last_state: object       # as BiForward.last_state

    def state(self, t: int):
        """Only the last state exists for a bidirectional pass: the backward direction's state
        after step t is computed from the future, so nothing can be carried from it."""
        if t == -1:
            return self.last_state
        raise ValueError(f"A bidirectional pass has no state to carry after step {t}: the backward "
                         f"direction {REFUSAL}. Only last_state (torch's h_n) is defined.")


def backward_pass(model, p: Pass, do, need_dx: bool, trace: bool = False):
    """BPTT through the output layer and every layer, top first, each direction against its own
    arrow of time. Returns (dx, dh0 parts [(2L, B, H)], grads, per_step, layer_errors); per_step
    and layer_errors only with trace=True (the reference path). A sliced pass (p.k) runs with
    OpenBLAS held to one thread and its products split over bptt's threads."""
    with held(p.k):
        return _backward_pass(model, p, do, need_dx, trace)


def _backward_pass(model, p: Pass, do, need_dx: bool, trace: bool):
    cell, k = directions.DIRECTIONS[model.kind], p.k
    T, B, O = do.shape
    H = model.hidden_size
    top = p.layers[-1].out
    do2 = do.reshape(T * B, O)
    grads = {"V": threads.dot(do2.T, top.reshape(T * B, 2 * H), k),   # Σ_t ∂J/∂o(t) [h(t); g(t)]ᵀ
             "c": do2.sum(axis=0)}                                 # Σ_t ∂J/∂o(t)
    per_step = {"V": np.einsum("tbo,tbk->tok", do, top), "c": do.sum(axis=1)} if trace else None
    d_out = threads.dot(do2, model.params["V"], k).reshape(T, B, 2 * H)   # ∂J/∂[h; g] = Vᵀ ∂J/∂o
    L = model.num_layers
    d0 = [None] * (2 * L)
    layer_errors = [None] * L
    for l in reversed(range(L)):
        run = p.layers[l]
        if p.valid is not None:
            d_out = d_out * p.valid[:, :, None]                    # the padding's output is a constant 0
        dh = np.ascontiguousarray(d_out[:, :, :H])                 # ∂J/∂h(t) from outside
        dg = reverse_time(d_out[:, :, H:], p.idx)                  # ∂J/∂g from outside, in g's own order
        need = need_dx or l > 0
        dxs, errs = [], {}
        for d, (run_d, d_ext) in enumerate(((run.f, dh), (run.r, dg))):
            if trace:
                dx_d, d0[2 * l + d], ps, e = cell.trace_backward(model, d_ext, run_d)
                g = {k: s.sum(axis=0) for k, s in ps.items()}      # ∂J/∂θ = Σ_t (∂J/∂θ)^(t)
                per_step.update({direction_key(k, l, d): s for k, s in ps.items()})
                suffix = REV if d else ""
                errs.update({k + suffix: (reverse_time(a, p.idx) if d else a) for k, a in e.items()})
            else:
                dx_d, d0[2 * l + d], g = cell.backward(model, d_ext, run_d, need, k)
            grads.update({direction_key(k, l, d): a for k, a in g.items()})
            dxs.append(dx_d)
        layer_errors[l] = errs
        # ∂J/∂x(t) = (forward direction's) + (backward direction's, back in x's time order)
        d_out = None if dxs[0] is None else dxs[0] + reverse_time(dxs[1], p.idx)
    n = len(d0[0])
    dh0 = [np.stack([d[k] for d in d0]) for k in range(n)]
    grads = {k: grads[k] for k in model.params}
    if trace:
        per_step = {k: per_step[k] for k in model.params}
    return d_out, dh0, grads, per_step, layer_errors


def backward(model, x, y, state, mask, need_dx=True, lengths=None) -> BiBackward:
    reference = model.path == "reference"
    k = slice_count(model, x, reference)
    with held(k):                                # one hold for the forward, the loss and BPTT
        p = _run_forward(model, x, state, lengths, reference, k)
        loss, _, do = loss_and_error(model.output, p.o, y, weight(mask, p, x.shape[1]))
        dx, dh0, grads, _, _ = _backward_pass(model, p, do, need_dx, False)
    return BiBackward(loss, grads, pack(model, dh0), dx, last_state(model, p))
