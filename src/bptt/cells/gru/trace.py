"""The trace of one GRU forward + BPTT pass: every error, every per-step gradient contribution,
and the flow of errors from each loss term back through time.

    tr = model.trace(x, y, h0=None, mask=None)
    tr.forward                   as from forward(): h, o, y_hat, h_last, gates, layers
    tr.loss, tr.grads, tr.dh0    equal to backward(...): J, ∂J/∂θ, ∂J/∂h0
    tr.errors                    the top layer's errors and the output layer's, each (T, B, .):
        "o"      ∂J/∂o(t)   of the logits (T, B, O)
        "h"      ∂J/∂h(t)   of the state, total (from o(t) or the layer above, and from step t+1)
        "r_hat", "z_hat", "n_hat"   ∂J/∂r̂(t), ∂J/∂ẑ(t), ∂J/∂n̂(t), the pre-activations of the
                 reset gate, the update gate and the candidate
        "hn_hat" ∂J/∂ĥn(t) = r(t) ⊙ ∂J/∂n̂(t), the error of the gated recurrent term
                 ĥn(t) = W_n h(t−1) + b_hn — only with reset="after", where it is what ∂J/∂W_n
                 and ∂J/∂b_hn are made of: (∂J/∂W_n)^(t) = ∂J/∂ĥn(t) h(t−1)ᵀ. With
                 reset="before" there is no such term: (∂J/∂W_n)^(t) = ∂J/∂n̂(t) (r ⊙ h(t−1))ᵀ.
    tr.layer_errors[l]           the same for layer l (without "o"); layer_errors[-1] is tr.errors
    tr.per_step[name]            (T, *shape): (∂J/∂θ)^(t); sums over axis 0 to grads[name]
    tr.errors_by_source          {"h"}: (T, T, B, H) for the top layer, [s, t] = ∂L(s)/∂h(t)
                                 (zero for t > s)
    tr.by_source(layer)          the same for any layer (the default -1 is the top)
    tr.flow                      (T, T): [s, t] = ‖∂L(s)/∂h(t)‖ (Frobenius over B, H)
    tr.jacobian_norms            (T, T, B): ‖∂h(s)/∂h(t)‖₂ of the top layer's own recurrence
                                 (its input held fixed), for t <= s; NaN above the diagonal

Here L(s) is the weighted loss term of step s, mask[s, b]·L(s, b)/B summed over b, so that
Σ_s L(s) = J and Σ_s ∂L(s)/∂h(t) = ∂J/∂h(t). Each ∂L(s)/∂h(t) is a total derivative: L(s)
reaches h(t) through h(t+1) along the direct path z(t+1) ⊙ h(t) (which carries errors back
unchanged when z ≈ 1, as the LSTM's cell does when f ≈ 1) and through the gates and the
candidate of step t+1 (through W_r, W_z, W_n and the nonlinearities).

Everything is computed on the reference path (the loop of per-step functions). errors_by_source
and jacobian_norms cost O(T²) memory and time: they are computed on first access and refused,
with the size stated, beyond `max_bytes` (raise it with trace(..., max_bytes=...)).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ... import _validate as v
from ...nn.losses import loss_and_error, output_fn
from ..tracing import ByLayerSource, check_size
from .reference import GATES, layer_backward, sequence_backward, sequence_forward
from .results import GRUForward


@dataclass
class GRUTrace(ByLayerSource):
    model: object
    x: np.ndarray
    y: np.ndarray
    h0: np.ndarray
    mask: np.ndarray
    forward: object
    loss: float
    grads: dict
    errors: dict
    layer_errors: list
    per_step: dict
    dh0: np.ndarray
    max_bytes: int
    _layers: list = field(default_factory=list, repr=False)    # (Hs, caches) of each layer
    _cache: dict = field(default_factory=dict, repr=False)

    def _check_size(self, what, shape):
        check_size(what, shape, self.max_bytes)

    source_paths = ("h",)

    def _errors_by_source(self, layer):
        return errors_by_source(self._layers, self.errors["o"], self.model.params, layer)

    @property
    def flow(self) -> np.ndarray:
        """(T, T): [s, t] = ‖∂L(s)/∂h(t)‖ over (B, H); zero for t > s."""
        return np.sqrt((self.errors_by_source["h"] ** 2).sum(axis=(2, 3)))

    @property
    def jacobian_norms(self) -> np.ndarray:
        """(T, T, B): [s, t, b] = ‖∂h(s)/∂h(t)‖₂ of sequence b in the top layer, for t <= s (the
        identity for s = t), NaN above the diagonal; ∂h(s)/∂h(t) = Π_{k=t+1..s} ∂h(k)/∂h(k−1)."""
        if "jac" not in self._cache:
            T, B, H = self.forward.h.shape
            self._check_size("jacobian_norms", (T, B, H, H))
            self._cache["jac"] = jacobian_norms(self._layers[-1][1])
        return self._cache["jac"]


def errors_by_source(layers, do, params, layer):
    """Back-propagate each loss term L(s) on its own, through the layers from the top down to
    `layer`, over steps s, s−1, ..., 0: [s, t] = ∂L(s)/∂h(t) of `layer`."""
    T, B, H = layers[-1][0].shape
    dh_src = np.zeros((T, T, B, H), dtype=do.dtype)
    for s in range(T):
        dh_ext = np.zeros((s + 1, B, H), dtype=do.dtype)
        dh_ext[s] = do[s] @ params["V"]                      # ∂L(s)/∂h(s) from outside = Vᵀ ∂L(s)/∂o(s)
        for lay in range(len(layers) - 1, layer - 1, -1):
            dx, _, _, errs = layer_backward(dh_ext, layers[lay][1][: s + 1])
            dh_ext = dx                                      # error on the layer below's h(t), t <= s
        dh_src[s, : s + 1] = errs["h"]                        # ∂L(s)/∂h(t), t = 0..s
    return {"h": dh_src}


def step_jacobian(k) -> np.ndarray:
    """∂h(t)/∂h(t−1) (B, H, H) of one step from its StepCache k (the input x(t) held fixed):

    diag(z) + diag((1 − z)(1 − n²)) ∂n̂/∂h(t−1) + diag((h(t−1) − n) z(1 − z)) W_z, with
    ∂n̂/∂h(t−1) = diag(r) W_n + diag(ĥn r(1 − r)) W_r                       (reset="after")
                = W_n (diag(r) + diag(h(t−1) r(1 − r)) W_r)                 (reset="before")
    """
    p = k.params
    H = k.z.shape[1]
    dr = k.r * (1 - k.r)                                     # σ'(r̂)                          (B, H)
    if k.hn is not None:
        dn_dh = k.r[:, :, None] * p["W_n"] + (k.hn * dr)[:, :, None] * p["W_r"]
    else:
        dn_dh = p["W_n"] @ (np.eye(H) * k.r[:, None, :] + (k.h_prev * dr)[:, :, None] * p["W_r"])
    J = ((1 - k.z) * (1 - k.n ** 2))[:, :, None] * dn_dh     # through the candidate            (B, H, H)
    J += ((k.h_prev - k.n) * k.z * (1 - k.z))[:, :, None] * p["W_z"]   # through the update gate
    J += np.eye(H) * k.z[:, None, :]                         # the direct path diag(z)
    return J


def jacobian_norms(caches):
    T, (B, H) = len(caches), caches[0].z.shape
    steps = [step_jacobian(k) for k in caches]               # ∂h(k)/∂h(k−1)                    (B, H, H)
    out = np.full((T, T, B), np.nan)
    for t in range(T):
        J = np.broadcast_to(np.eye(H), (B, H, H)).copy()      # ∂h(t)/∂h(t) = I
        out[t, t] = 1.0
        for s in range(t + 1, T):
            J = steps[s] @ J                                  # ∂h(s)/∂h(t) = ∂h(s)/∂h(s−1) ∂h(s−1)/∂h(t)
            out[s, t] = np.linalg.norm(J, 2, axis=(1, 2))
    return out


def trace_gru(model, x, y, h0=None, mask=None, *, max_bytes=256 * 2**20) -> GRUTrace:
    """Trace a GRU pass on the reference path (the loop of per-step functions)."""
    max_bytes = v.check_int(max_bytes, "max_bytes", "GRU.trace")
    x, y, h0, mask = model._inputs(x, y, h0, mask)
    layers, o = sequence_forward(x, model._layers(h0), model.params, model.num_layers)
    loss, y_hat, do = loss_and_error(model.output, o, y, mask / x.shape[1])
    _, dh0, grads, per_step, layer_errors = sequence_backward(do, layers, model.params)
    errors = {"o": do, **layer_errors[-1]}
    per_layer = [{"h": Hs, **{g: np.stack([getattr(k, g) for k in caches]) for g in GATES}}
                 for Hs, caches in layers]
    h_last = model._public(np.stack([Hs[-1] for Hs, _ in layers]))
    fwd = GRUForward(layers[-1][0], o, output_fn(model.output, o), h_last, per_layer)
    return GRUTrace(model, x, y, h0, mask, fwd, loss, grads, errors, layer_errors, per_step,
                    model._public(dh0), max_bytes, layers)
