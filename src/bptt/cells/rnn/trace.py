"""The trace of one forward + BPTT pass: every error, every per-step gradient contribution, and
the flow of errors from each loss term back through time.

    tr = model.trace(x, y, h0=None, mask=None)
    tr.forward                 a, h, o, y_hat, h_last (as from forward())
    tr.loss, tr.grads          equal to loss_and_grads(...)
    tr.errors["o"|"h"|"a"]     ∂J/∂o(t), ∂J/∂h(t), ∂J/∂a(t), each (T, B, .)
    tr.per_step[name]          (T, *shape): (∂J/∂θ)^(t); sums over axis 0 to grads[name]
    tr.errors_by_source["a"]   (T, T, B, H): [s, t] = ∂L(s)/∂a(t), zero for t > s
    tr.flow                    (T, T): ‖errors_by_source["a"][s, t]‖ (Frobenius over B, H)
    tr.jacobian_norms          (T, T, B): ‖∂h(s)/∂h(t)‖₂ for t <= s (NaN above the diagonal)

Here L(s) is the weighted loss term of step s, mask[s, b]·L(s, b)/B summed over b, so that
Σ_s L(s) = J and Σ_s ∂L(s)/∂a(t) = ∂J/∂a(t).

errors_by_source and jacobian_norms cost O(T²) memory; they are computed on first access and
refused, with the size stated, beyond `max_bytes` (raise it with trace(..., max_bytes=...)).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ... import _validate as v
from ...nn.losses import loss_and_error, output_fn
from ..layers import layer_key
from ..tracing import TraceTooLarge, check_size  # noqa: F401  (TraceTooLarge re-exported)
from . import reference
from .reference import LAYER_NAMES
from .results import RNNForward


@dataclass
class Trace:
    model: object
    x: np.ndarray
    y: np.ndarray
    h0: np.ndarray
    mask: np.ndarray
    forward: object
    loss: float
    grads: dict
    errors: dict
    per_step: dict
    dh0: np.ndarray
    max_bytes: int
    _cache: dict = field(default_factory=dict, repr=False)
    layer_errors: list = None     # [{"h", "a"}] of every layer, bottom to top

    def _one_layer(self, what):
        if getattr(self.model, "num_layers", 1) != 1:
            raise ValueError(f"{what} is defined for one recurrent layer; this model has "
                             f"num_layers={self.model.num_layers}.")

    # -- the quantitative side of vanishing / exploding gradients -------------------------------
    @property
    def spectral_radius(self) -> float:
        """max |λ(W)|: for a linear RNN the errors decay like ρ^(s−t) when ρ < 1, grow when ρ > 1."""
        return float(np.abs(np.linalg.eigvals(self.model.params["W"])).max())

    @property
    def w_norm(self) -> float:
        """‖W‖₂, the largest singular value: ‖∂h(s)/∂h(t)‖ <= (max|g'| · ‖W‖₂)^(s−t)."""
        return float(np.linalg.norm(self.model.params["W"], 2))

    def _check_size(self, what, shape):
        check_size(what, shape, self.max_bytes)

    @property
    def errors_by_source(self) -> dict:
        """{"a": (T, T, B, H), "h": (T, T, B, H)} with [s, t] = ∂L(s)/∂a(t) and ∂L(s)/∂h(t)."""
        if "by_source" not in self._cache:
            self._one_layer("errors_by_source")
            T, B, H = self.forward.h.shape
            self._check_size("errors_by_source", (2, T, T, B, H))
            self._cache["by_source"] = errors_by_source(self.model, self.forward.h, self.errors["o"])
        return self._cache["by_source"]

    @property
    def flow(self) -> np.ndarray:
        """(T, T): [s, t] = ‖∂L(s)/∂a(t)‖ over (B, H); zero for t > s."""
        return np.sqrt((self.errors_by_source["a"] ** 2).sum(axis=(2, 3)))

    @property
    def jacobian_norms(self) -> np.ndarray:
        """(T, T, B): [s, t, b] = ‖∂h(s)/∂h(t)‖₂ of sequence b for t <= s, NaN above the diagonal;
        ∂h(s)/∂h(t) = Π_{k=t+1..s} diag(g'(a(k))) W, and the identity for s = t."""
        if "jac" not in self._cache:
            self._one_layer("jacobian_norms")
            T, B, H = self.forward.h.shape
            self._check_size("jacobian_norms", (T, B, H, H))
            self._cache["jac"] = jacobian_norms(self.model, self.forward.h)
        return self._cache["jac"]


def errors_by_source(model, h, do):
    """Back-propagate each loss term L(s) on its own: [s, t] = ∂L(s)/∂a(t) and ∂L(s)/∂h(t)."""
    W, V = model.params["W"], model.params["V"]
    deriv = model.act.grad_from_output(h)                     # g'(a(t))      (T, B, H)
    T, B, H = h.shape
    da_src = np.zeros((T, T, B, H), dtype=h.dtype)
    dh_src = np.zeros((T, T, B, H), dtype=h.dtype)
    for s in range(T):
        dh = do[s] @ V                                        # ∂L(s)/∂h(s) = Vᵀ ∂L(s)/∂o(s)
        for t in range(s, -1, -1):
            dh_src[s, t] = dh
            da_src[s, t] = deriv[t] * dh                      # ∂L(s)/∂a(t) = g'(a(t)) ⊙ ∂L(s)/∂h(t)
            dh = da_src[s, t] @ W                             # ∂L(s)/∂h(t−1) = Wᵀ ∂L(s)/∂a(t)
    return {"a": da_src, "h": dh_src}


def jacobian_norms(model, h):
    W = model.params["W"]
    deriv = model.act.grad_from_output(h)                     # (T, B, H)
    T, B, H = h.shape
    out = np.full((T, T, B), np.nan)
    for t in range(T):
        J = np.broadcast_to(np.eye(H), (B, H, H)).copy()      # ∂h(t)/∂h(t) = I
        out[t, t] = 1.0
        for s in range(t + 1, T):
            J = deriv[s][:, :, None] * (W @ J)                # ∂h(s)/∂h(t) = diag(g'(a(s))) W ∂h(s−1)/∂h(t)
            out[s, t] = np.linalg.norm(J, 2, axis=(1, 2))
    return out


def trace_rnn(model, x, y, h0=None, mask=None, *, max_bytes=256 * 2**20) -> Trace:
    """Trace a SimpleRNN pass on the reference path (the loop of per-step functions).

    With several layers, errors["h"] and errors["a"] are the top layer's (as forward's a and h)
    and `layer_errors[l]` holds each layer's; the error flow by source step is for one layer.
    """
    max_bytes = v.check_int(max_bytes, "max_bytes", "SimpleRNN.trace")
    x, y, h0, mask = model._inputs(x, y, h0, mask)
    layers = [model.layer(l) for l in range(model.num_layers)]
    a, hs, o, caches = reference.sequence_forward(x, model._h0s(h0), layers, model.params, model.act)
    loss, y_hat, do = loss_and_error(model.output, o, y, mask / x.shape[1])
    _, dh0s, grads, errors, per_step = reference.sequence_backward(do, caches, layers, model.params)
    flat_grads, flat_steps = {}, {}
    for l in range(model.num_layers):
        for k in grads[l]:
            name = layer_key(k, l) if k in LAYER_NAMES else k
            flat_grads[name], flat_steps[name] = grads[l][k], per_step[l][k]
    fwd = RNNForward(a[-1], hs[-1], o, output_fn(model.output, o), model._stack([h[-1].copy() for h in hs]), hs)
    tr = Trace(model, x, y, h0, mask, fwd, loss, {k: flat_grads[k] for k in model.params},
               {"o": do, **errors[-1]}, {k: flat_steps[k] for k in model.params},
               model._stack(dh0s), max_bytes)
    tr.layer_errors = errors
    return tr
