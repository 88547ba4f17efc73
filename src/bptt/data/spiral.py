"""The K-arm 2-D spiral, the classic toy problem that a linear classifier cannot solve
(as in CS231n's "Putting it together" notes): points (r sin θ, r cos θ) on K interleaved arms."""
from __future__ import annotations

import numpy as np

from .. import _validate as v


def make_spiral(n_per_class=100, n_classes=3, *, noise=0.2, seed=0):
    """Returns x (n_per_class·K, 2) floats in [−1, 1]² and y (n_per_class·K,) class ids."""
    o = "make_spiral"
    n = v.check_int(n_per_class, "n_per_class", o)
    K = v.check_int(n_classes, "n_classes", o)
    noise = v.check_float(noise, "noise", o, low=0)
    rng = v.check_rng(seed, o)
    x = np.empty((n * K, 2))
    y = np.empty(n * K, dtype=np.intp)
    for k in range(K):
        r = np.linspace(0.0, 1.0, n)                                          # radius
        theta = np.linspace(k * 4.0, (k + 1) * 4.0, n) + rng.normal(scale=noise, size=n)
        x[k * n:(k + 1) * n] = np.c_[r * np.sin(theta), r * np.cos(theta)]
        y[k * n:(k + 1) * n] = k
    return x, y
