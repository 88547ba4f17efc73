"""GRU gradients against central differences in float64, for both reset placements, stacked;
then ∂J/∂h0 and ∂J/∂x by central differences too.

Central differences carry a rounding error of about ε_machine·|J|/ε relative to the gradient;
ε = 1e-5 keeps it near 1e-8 while the truncation error stays near ε² ≈ 1e-10.
"""
import numpy as np
import pytest

import bptt
from bptt.cells.gru.model import GRU
from gru_problem import make_gru_problem

EPS = 1e-5


def central_differences(f, arr):
    """∂f/∂arr by central differences, one entry at a time (arr is perturbed and restored)."""
    num = np.empty_like(arr)
    for idx in np.ndindex(arr.shape):
        keep = arr[idx]
        arr[idx] = keep + EPS
        plus = f()
        arr[idx] = keep - EPS
        minus = f()
        arr[idx] = keep
        num[idx] = (plus - minus) / (2 * EPS)
    return num


@pytest.mark.parametrize("path", ["fast", "reference"])
@pytest.mark.parametrize("tokens", [False, True])
@pytest.mark.parametrize("output", ["softmax", "identity"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("reset", ["after", "before"])
def test_gradcheck(reset, num_layers, output, tokens, path, rng):
    T, B, D, H, O = 5, 2, 3, 4, 3
    model = GRU(D, H, O, num_layers=num_layers, reset=reset, output=output, seed=7, path=path)
    x, y, h0, m = make_gru_problem(rng, T, B, D, H, O, num_layers, output=output, tokens=tokens,
                                   mask=True)
    res = bptt.gradcheck(model, x, y, h0=h0, mask=m, eps=EPS)
    assert set(res) == set(model.params)
    assert ("b_hn" in res) == (reset == "after")
    if num_layers == 2:
        assert {"U_r.1", "W_n.1", "b_z.1"} <= set(res)
    assert res.max_error < 1e-6, res.table()


@pytest.mark.parametrize("reset", ["after", "before"])
def test_gradcheck_three_layers_dh0_and_dx(reset, rng):
    """Three stacked layers; then ∂J/∂h0 (L, B, H) and ∂J/∂x (T, B, D) entry by entry."""
    T, B, D, H, O, L = 4, 2, 3, 4, 3, 3
    model = GRU(D, H, O, num_layers=L, reset=reset, seed=2)
    x, y, h0, m = make_gru_problem(rng, T, B, D, H, O, L, mask=True)
    res = bptt.gradcheck(model, x, y, h0=h0, mask=m, eps=EPS)
    assert res.max_error < 1e-6, res.table()
    back = model.backward(x, y, h0=h0, mask=m)
    for analytic, arr in ((back.dh0, h0), (back.dx, x)):
        assert analytic.shape == arr.shape
        num = central_differences(lambda: model.loss(x, y, h0, m), arr)
        assert np.abs(num - analytic).max() < 1e-7 * np.abs(analytic).max()


@pytest.mark.parametrize("path", ["fast", "reference"])
def test_dx_of_one_layer_by_central_differences(path, rng):
    T, B, D, H, O = 5, 3, 4, 3, 2
    model = GRU(D, H, O, reset="before", output="identity", seed=9, path=path)
    x, y, h0, _ = make_gru_problem(rng, T, B, D, H, O, output="identity")
    dx = model.backward(x, y, h0).dx
    num = central_differences(lambda: model.loss(x, y, h0), x)
    assert np.abs(num - dx).max() < 1e-7 * np.abs(dx).max()


def test_gradcheck_detects_a_wrong_gradient(rng):
    """The check can fail: a GRU whose ∂J/∂b_hn is off by 1% is caught."""
    model = GRU(3, 4, 2, seed=0)
    x, y, h0, _ = make_gru_problem(rng, 4, 2, 3, 4, 2)

    class Broken:
        params = model.params

        def loss_and_grads(self, *a, **k):
            loss, grads = model.loss_and_grads(*a, **k)
            grads["b_hn"] = grads["b_hn"] * 1.01
            return loss, grads

    res = bptt.gradcheck(Broken(), x, y, h0=h0, eps=EPS)
    assert 5e-3 < res["b_hn"] < 2e-2 and res["W_n"] < 1e-6
