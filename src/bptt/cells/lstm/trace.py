"""The trace of one LSTM forward + BPTT pass: every error, every per-step gradient contribution,
and the flow of errors from each loss term back through time, along the cell path and along the
hidden (block output) path — the "flows of variables" of LSTM back-propagation.

    tr = model.trace(x, y, h0=None, mask=None)
    tr.forward                   as from forward(): h, c, o, y_hat, h_last, c_last, gates, layers
    tr.loss, tr.grads, tr.dh0    equal to backward(...): J, ∂J/∂θ, (∂J/∂h0, ∂J/∂c0)
    tr.errors                    the top layer's errors and the output layer's, each (T, B, .):
        "o"      ∂J/∂o(t)   of the logits (T, B, O) — not the output gate, see "o_hat"
        "h"      ∂J/∂y(t)   of the block output (the h of SimpleRNN), total
        "c"      ∂J/∂c(t)   of the cell, total (through y(t), the output gate's peephole, and step t+1)
        "z_hat", "i_hat", "f_hat", "o_hat"   ∂J/∂ẑ(t), ∂J/∂î(t), ∂J/∂f̂(t), ∂J/∂ô(t), the gates'
                 pre-activations
    tr.layer_errors[l]           the same for layer l (without "o"); layer_errors[-1] is tr.errors
    tr.per_step[name]            (T, *shape): (∂J/∂θ)^(t); sums over axis 0 to grads[name]
    tr.errors_by_source          {"c", "h"}, each (T, T, B, H) for the top layer:
        ["c"][s, t] = ∂L(s)/∂c(t)    ["h"][s, t] = ∂L(s)/∂y(t)    (zero for t > s)
    tr.by_source(layer)          the same for any layer (the default -1 is the top)
    tr.flow                      (T, T): [s, t] = ‖∂L(s)/∂c(t)‖ (Frobenius over B, H), the cell path
    tr.flow_h                    (T, T): [s, t] = ‖∂L(s)/∂y(t)‖, the hidden path

Here L(s) is the weighted loss term of step s, mask[s, b]·L(s, b)/B summed over b, so that
Σ_s L(s) = J and Σ_s ∂L(s)/∂c(t) = ∂J/∂c(t), Σ_s ∂L(s)/∂y(t) = ∂J/∂y(t). Each ∂L(s)/∂·(t) is a
total derivative: L(s) reaches c(t) through c(t+1) (the cell path, scaled by f(t+1) — the
"constant error carousel" when f ≈ 1) and through y(t) and the gates of step t+1 (the hidden
path, through R and the nonlinearities); the two flows show how each carries errors back.

Everything is computed on the reference path (the loop of per-step functions). errors_by_source
costs O(T²) memory and O(T²) step backward passes: it is computed on first access and refused,
with the size stated, beyond `max_bytes` (raise it with trace(..., max_bytes=...)).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ... import _validate as v
from ...nn.losses import loss_and_error, output_fn
from .reference import GATES, layer_backward, sequence_backward, sequence_forward
from ..tracing import ByLayerSource, check_size
from .results import LSTMForward

ERROR_NAMES = {"y": "h", "c": "c", "z_hat": "z_hat", "i_hat": "i_hat", "f_hat": "f_hat",
               "o_hat": "o_hat"}        # StepErrors field → trace key (y(t) is the h of SimpleRNN)


@dataclass
class LSTMTrace(ByLayerSource):
    model: object
    x: np.ndarray
    y: np.ndarray
    h0: tuple
    mask: np.ndarray
    forward: object
    loss: float
    grads: dict
    errors: dict
    layer_errors: list
    per_step: dict
    dh0: tuple
    max_bytes: int
    _layers: list = field(default_factory=list, repr=False)    # (Y, C, caches) of each layer
    _cache: dict = field(default_factory=dict, repr=False)

    def _check_size(self, what, shape):
        check_size(what, shape, self.max_bytes)

    source_paths = ("c", "h")

    def _errors_by_source(self, layer):
        return errors_by_source(self._layers, self.errors["o"], self.model.params, layer)

    @property
    def flow(self) -> np.ndarray:
        """(T, T): [s, t] = ‖∂L(s)/∂c(t)‖ over (B, H), the cell path; zero for t > s."""
        return np.sqrt((self.errors_by_source["c"] ** 2).sum(axis=(2, 3)))

    @property
    def flow_h(self) -> np.ndarray:
        """(T, T): [s, t] = ‖∂L(s)/∂y(t)‖ over (B, H), the hidden path; zero for t > s."""
        return np.sqrt((self.errors_by_source["h"] ** 2).sum(axis=(2, 3)))


def errors_by_source(layers, do, params, layer):
    """Back-propagate each loss term L(s) on its own, through the layers from the top down to
    `layer`, over steps s, s−1, ..., 0: [s, t] = ∂L(s)/∂c(t) and ∂L(s)/∂y(t) of `layer`."""
    T, B, H = layers[-1][0].shape
    dc_src = np.zeros((T, T, B, H), dtype=do.dtype)
    dy_src = np.zeros((T, T, B, H), dtype=do.dtype)
    for s in range(T):
        dy_ext = np.zeros((s + 1, B, H), dtype=do.dtype)
        dy_ext[s] = do[s] @ params["V"]                      # ∂L(s)/∂y(s) from outside = Vᵀ ∂L(s)/∂o(s)
        for lay in range(len(layers) - 1, layer - 1, -1):
            dx, _, _, errs = layer_backward(dy_ext, layers[lay][2][: s + 1])
            dy_ext = dx                                      # error on the layer below's y(t), t <= s
        dc_src[s, : s + 1] = errs["c"]                        # ∂L(s)/∂c(t), t = 0..s
        dy_src[s, : s + 1] = errs["y"]                        # ∂L(s)/∂y(t)
    return {"c": dc_src, "h": dy_src}


def trace_lstm(model, x, y, h0=None, mask=None, *, max_bytes=256 * 2**20) -> LSTMTrace:
    """Trace an LSTM pass on the reference path (the loop of per-step functions)."""
    max_bytes = v.check_int(max_bytes, "max_bytes", "LSTM.trace")
    x, y, state, mask = model._inputs(x, y, h0, mask)
    hs, cs = model._layers(state)
    layers, o = sequence_forward(x, hs, cs, model.params, model.num_layers)
    loss, y_hat, do = loss_and_error(model.output, o, y, mask / x.shape[1])
    _, dh0, dc0, grads, per_step, errs = sequence_backward(do, layers, model.params)
    layer_errors = [{ERROR_NAMES[k]: e[k] for k in ERROR_NAMES} for e in errs]
    errors = {"o": do, **layer_errors[-1]}
    per_layer = [{"h": Y, "c": C, **{g: np.stack([getattr(k, g) for k in caches]) for g in GATES}}
                 for Y, C, caches in layers]
    h_last, c_last = model._public(np.stack([Y[-1] for Y, _, _ in layers]),
                                   np.stack([C[-1] for _, C, _ in layers]))
    fwd = LSTMForward(layers[-1][0], layers[-1][1], o, output_fn(model.output, o), h_last, c_last,
                      per_layer)
    return LSTMTrace(model, x, y, state, mask, fwd, loss, grads, errors, layer_errors, per_step,
                     model._public(dh0, dc0), max_bytes, layers)
