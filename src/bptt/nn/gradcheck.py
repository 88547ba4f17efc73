"""Gradient checking by central differences in float64.

    result = bptt.gradcheck(model, x, y, h0=h0, mask=mask)
    result["W"]            # max relative error of ∂J/∂W
    print(result.table())  # one row per parameter

For each parameter θ and each checked entry i the numerical derivative is
(J(θ_i + ε) − J(θ_i − ε)) / 2ε. The relative error of a parameter is normwise:

    max_i |analytic_i − numeric_i| / max(max_i |analytic_i|, max_i |numeric_i|, 1e-300)

which stays meaningful where individual entries of the gradient are near zero.
The model is any object with ``params`` (dict of float64 arrays) and
``loss_and_grads(*args, **kwargs) -> (loss, grads)``; parameters are restored exactly afterwards.
"""
from __future__ import annotations

import numpy as np

from .. import _validate as v


class GradcheckResult(dict):
    """Parameter name → max relative error, with the analytic and numeric gradients kept."""

    def __init__(self, errors, analytic, numeric, eps):
        super().__init__(errors)
        self.analytic, self.numeric, self.eps = analytic, numeric, eps

    @property
    def max_error(self) -> float:
        return max(self.values()) if self else 0.0

    def table(self) -> str:
        lines = [f"{'param':<8}{'shape':>14}{'checked':>9}{'max |grad|':>13}{'rel. error':>12}"]
        for k, err in self.items():
            a = self.analytic[k]
            lines.append(f"{k:<8}{str(a.shape):>14}{np.count_nonzero(~np.isnan(self.numeric[k])):>9}"
                         f"{np.abs(a).max():>13.3e}{err:>12.2e}")
        return "\n".join(lines)


def gradcheck(model, *args, eps: float = 1e-6, params=None, max_entries=None, seed=0,
              **kwargs) -> GradcheckResult:
    """Compare model.loss_and_grads(*args, **kwargs) with central differences.

    params: names to check (default: all). max_entries: check at most this many entries per
    parameter, drawn with `seed` (default: every entry). The arguments are the model's, e.g. x
    (T, B, D) and y (T, B); the result maps each parameter name (W (H, H), ...) to its error
    and keeps `.analytic` and `.numeric` gradients shaped like the parameters.

    Examples:
        >>> from bptt import SimpleRNN, gradcheck
        >>> model = SimpleRNN(3, 4, 2, seed=0)
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.normal(size=(5, 2, 3)), rng.integers(0, 2, size=(5, 2))
        >>> result = gradcheck(model, x, y)
        >>> sorted(result), result.max_error < 1e-7, result.numeric["W"].shape
        (['U', 'V', 'W', 'b', 'c'], True, (4, 4))
        >>> print(result.table())                       # one row per parameter
        param            shape  checked   max |grad|  rel. error
        U               (4, 3)       12 ...
    """
    owner = "gradcheck"
    if not hasattr(model, "params") or not hasattr(model, "loss_and_grads"):
        raise TypeError(f"The 'model' argument of gradcheck must have .params and .loss_and_grads(). "
                        f"Got {type(model).__name__}.")
    eps = v.check_float(eps, "eps", owner, low=0, low_open=True, high=1)
    if isinstance(params, str):
        params = [params]
    names = list(model.params) if params is None else list(params)
    for k in names:
        if not isinstance(k, str) or k not in model.params:
            raise ValueError(f"The 'params' parameter of gradcheck must name parameters of the model "
                             f"({', '.join(model.params)}). Got {k!r}.")
        if not model.params[k].flags.c_contiguous:
            raise ValueError(f"gradcheck perturbs parameters in place and needs C-contiguous "
                             f"arrays. Got {k!r} with strides {model.params[k].strides}.")
        if model.params[k].dtype != np.float64:
            raise ValueError(f"gradcheck needs float64 parameters (build the model with "
                             f"dtype='float64'). Got {k!r} of dtype {model.params[k].dtype}.")
    if max_entries is not None:
        max_entries = v.check_int(max_entries, "max_entries", owner)
    rng = v.check_rng(seed, owner)

    _, analytic = model.loss_and_grads(*args, **kwargs)
    errors, numeric = {}, {}
    for k in names:
        p = model.params[k]
        flat = p.reshape(-1)                 # a view: writes go into the model's array
        idx = np.arange(flat.size)
        if max_entries is not None and flat.size > max_entries:
            idx = np.sort(rng.choice(flat.size, size=max_entries, replace=False))
        num = np.full(flat.size, np.nan)
        for i in idx:
            old = flat[i]
            try:
                flat[i] = old + eps
                lp = model.loss_and_grads(*args, **kwargs)[0]
                flat[i] = old - eps
                lm = model.loss_and_grads(*args, **kwargs)[0]
            finally:
                flat[i] = old                # restored exactly, whatever happened
            num[i] = (lp - lm) / (2 * eps)
        a = np.asarray(analytic[k]).reshape(-1)[idx]
        n = num[idx]
        scale = max(np.abs(a).max(initial=0.0), np.abs(n).max(initial=0.0), 1e-300)
        errors[k] = float(np.abs(a - n).max(initial=0.0) / scale)
        numeric[k] = num.reshape(p.shape)
    return GradcheckResult(errors, {k: np.asarray(analytic[k]) for k in names}, numeric, eps)
