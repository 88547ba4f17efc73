"""The trace of one bidirectional forward + BPTT pass (`bptt.cells.bidirectional`): every error of
both directions, every per-step contribution, and the flow of errors from each loss term along
both arrows of time.

    tr = model.trace(x, y, h0=None, mask=None, lengths=None)      # a bidirectional model
    tr.forward                 as from forward(): h (T, B, 2H) = [h(t); g(t)], o, y_hat, last_state
    tr.loss, tr.grads, tr.dh0  equal to backward(...)
    tr.errors                  the top layer's errors and the output layer's, each (T, B, .):
        "o"                    ∂J/∂o(t)
        "h", ...               the forward direction's, under the cell's names ("h", "a" for the
                               simple RNN; "h", "c", "z_hat", ... for the LSTM; "h", "r_hat", ...
                               for the GRU)
        "h@rev", ...           the backward direction's, the same names with "@rev": "h@rev" is
                               ∂J/∂g(t), in x's time order (t = 0..T−1)
    tr.layer_errors[l]         the same for layer l (without "o")
    tr.per_step[name]          (T, *shape), summing over axis 0 to grads[name]. For the forward
                               direction's parameters, row t is step t's (∂J/∂θ)^(t); for the
                               backward direction's ("@rev"), row k is its k-th step, which reads
                               x(T−1−k) (with lengths: x(lengths[b]−1−k) of each sequence b)
    tr.errors_by_source        {path: (T, T, B, H)} for the top layer, [s, t] = ∂L(s)/∂path(t):
        "h" (and "a" for the simple RNN, "c" for the LSTM): zero for t > s — the forward
                               direction carries L(s) back to t <= s;
        "h@rev" (and "a@rev", "c@rev"): zero for t < s — the backward direction carries L(s)
                               to the steps after s. Together L(s) reaches every step.
    tr.by_source(layer)        the same for any layer; below the top, both directions of a layer
                               receive L(s) at every t (through the layer above's two directions)
    tr.flow, tr.flow_rev       (T, T): [s, t] = ‖errors_by_source[main][s, t]‖ (Frobenius over
                               B, H) of the forward and the backward direction; main is "a" for
                               the simple RNN, "c" for the LSTM, "h" for the GRU

Here L(s) is the weighted loss term of step s, mask[s, b]·L(s, b)/B summed over b (0 on the
padding), so Σ_s L(s) = J and Σ_s ∂L(s)/∂path(t) = errors[path][t].

Everything is computed on the reference path (the loops of per-step functions). errors_by_source
costs O(T²) memory and T backward passes: it is computed on first access and refused, with the
size stated, beyond `max_bytes` (raise it with trace(..., max_bytes=...)).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import _validate as v
from ..nn.losses import loss_and_error
from . import bidirectional as bi
from . import directions       # module imports: the cells' packages import this module
from .tracing import check_size


@dataclass
class BidirectionalTrace:
    model: object
    x: np.ndarray
    y: np.ndarray
    h0: object
    mask: np.ndarray
    lengths: object
    forward: object
    loss: float
    grads: dict
    errors: dict
    layer_errors: list
    per_step: dict
    dh0: object
    max_bytes: int
    _pass: object = field(default=None, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def source_paths(self) -> tuple:
        """The state paths of errors_by_source: the cell's, then the same with "@rev"."""
        paths = directions.DIRECTIONS[self.model.kind].source_paths
        return paths + tuple(p + bi.REV for p in paths)

    def by_source(self, layer: int = -1) -> dict:
        """{path: (T, T, B, H)} of `layer` (the default −1 is the top): [s, t] = ∂L(s)/∂path(t)."""
        L = len(self._pass.layers)
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not -L <= layer < L:
            raise ValueError(f"The 'layer' argument of {type(self).__name__}.by_source must be an "
                             f"int in [{-L}, {L}). Got {layer!r}.")
        layer = int(layer) % L
        if layer not in self._cache:
            T, B = self.mask.shape
            paths = self.source_paths
            check_size("errors_by_source", (len(paths), T, T, B, self.model.hidden_size), self.max_bytes)
            self._cache[layer] = errors_by_source(self.model, self._pass, self.errors["o"], layer, paths)
        return self._cache[layer]

    @property
    def errors_by_source(self) -> dict:
        """The top layer's by_source()."""
        return self.by_source(-1)

    @property
    def flow(self) -> np.ndarray:
        """(T, T): [s, t] = ‖∂L(s)/∂main(t)‖ of the forward direction; zero for t > s."""
        return np.sqrt((self.errors_by_source[self.source_paths[0]] ** 2).sum(axis=(2, 3)))

    @property
    def flow_rev(self) -> np.ndarray:
        """(T, T): [s, t] = ‖∂L(s)/∂main(t)‖ of the backward direction; zero for t < s."""
        main = self.source_paths[len(self.source_paths) // 2]
        return np.sqrt((self.errors_by_source[main] ** 2).sum(axis=(2, 3)))


def errors_by_source(model, p, do, layer, paths):
    """Back-propagate each loss term L(s) on its own — ∂J/∂o zero except at step s — through every
    layer and both directions: [s, t] = ∂L(s)/∂path(t) of `layer`."""
    T, B, _ = do.shape
    out = {path: np.zeros((T, T, B, model.hidden_size), dtype=do.dtype) for path in paths}
    for s in range(T):
        do_s = np.zeros_like(do)
        do_s[s] = do[s]                                      # ∂L(s)/∂o: only step s's loss
        *_, layer_errors = bi.backward_pass(model, p, do_s, need_dx=False, trace=True)
        for path in paths:
            out[path][s] = layer_errors[layer][path]
    return out


def trace(model, x, y, h0=None, mask=None, lengths=None, *, max_bytes=256 * 2**20) -> BidirectionalTrace:
    """Trace a bidirectional pass on the reference path (the loops of per-step functions)."""
    max_bytes = v.check_int(max_bytes, "max_bytes", f"{model.owner}.trace")
    (x, y, state, mask), kw = model._checked(x, y, h0, mask, lengths)
    lengths = kw.get("lengths")
    p = bi.run_forward(model, x, state, lengths, reference=True)
    loss, _, do = loss_and_error(model.output, p.o, y, bi.weight(mask, p, x.shape[1]))
    dx, dh0, grads, per_step, layer_errors = bi.backward_pass(model, p, do, True, trace=True)
    errors = {"o": do, **layer_errors[-1]}
    return BidirectionalTrace(model, x, y, state, mask * (1 if p.valid is None else p.valid), lengths,
                              bi.result(model, p), loss, grads, errors, layer_errors, per_step, bi.pack(model, dh0),
                              max_bytes, p)
