"""Random GRU problems for the GRU test modules (no torch needed here)."""
import numpy as np


def make_gru_problem(rng, T, B, D, H, O, L=1, *, output="softmax", tokens=False, mask=False,
                     h0=True):
    """x, y, h0 in the model's layout ((B, H), or (L, B, H) for L layers), mask."""
    x = rng.integers(0, D, size=(T, B)) if tokens else rng.normal(size=(T, B, D))
    y = rng.integers(0, O, size=(T, B)) if output == "softmax" else rng.normal(size=(T, B, O))
    shape = (B, H) if L == 1 else (L, B, H)
    state = rng.normal(scale=0.5, size=shape) if h0 else None
    m = (rng.uniform(size=(T, B)) < 0.7) * rng.uniform(0.5, 2, size=(T, B)) if mask else None
    return x, y, state, m


def rel_err(a, b):
    """max |a − b| / max |b|: the normwise relative error of a against the reference b."""
    a, b = np.asarray(a), np.asarray(b)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))
