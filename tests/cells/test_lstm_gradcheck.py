"""LSTM gradients (peepholes included) against central differences in float64.

Central differences carry a rounding error of about ε_machine·|J|/ε relative to the gradient, which
matters for the small gradients of the lowest layer of a stack; ε = 1e-5 keeps it near 1e-8 while
the truncation error stays near ε² ≈ 1e-10.
"""
import numpy as np
import pytest

import bptt
from bptt.cells.lstm.model import LSTM
from conftest import make_lstm_problem

EPS = 1e-5


@pytest.mark.parametrize("path", ["fast", "reference"])
@pytest.mark.parametrize("tokens", [False, True])
@pytest.mark.parametrize("output", ["softmax", "identity"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_gradcheck_with_peepholes(num_layers, output, tokens, path, rng):
    T, B, D, H, O = 5, 2, 3, 4, 3
    model = LSTM(D, H, O, num_layers=num_layers, peepholes=True, output=output, seed=7, path=path)
    x, y, h0, m = make_lstm_problem(rng, T, B, D, H, O, num_layers, output=output, tokens=tokens,
                                    mask=True)
    res = bptt.gradcheck(model, x, y, h0=h0, mask=m, eps=EPS)
    assert set(res) == set(model.params)
    assert {"p_i", "p_f", "p_o"} <= set(res)
    if num_layers == 2:
        assert {"p_i.1", "p_f.1", "p_o.1", "W_z.1", "R_o.1"} <= set(res)
    assert res.max_error < 1e-6, res.table()


def test_gradcheck_three_layers_and_dh0_dc0(rng):
    """Three stacked peephole layers; then ∂J/∂h0 and ∂J/∂c0 by central differences too."""
    T, B, D, H, O, L = 4, 2, 3, 4, 3, 3
    model = LSTM(D, H, O, num_layers=L, peepholes=True, seed=2)
    x, y, (h0, c0), m = make_lstm_problem(rng, T, B, D, H, O, L, mask=True)
    res = bptt.gradcheck(model, x, y, h0=(h0, c0), mask=m, eps=EPS)
    assert res.max_error < 1e-6, res.table()
    dh0, dc0 = model.backward(x, y, h0=(h0, c0), mask=m).dh0
    for state, analytic, other in ((h0, dh0, c0), (c0, dc0, h0)):
        num = np.empty_like(state)
        for idx in np.ndindex(state.shape):
            plus, minus = state.copy(), state.copy()
            plus[idx] += EPS
            minus[idx] -= EPS
            pair = (lambda s: (s, other)) if state is h0 else (lambda s: (other, s))
            num[idx] = (model.loss(x, y, pair(plus), m) - model.loss(x, y, pair(minus), m)) / (2 * EPS)
        assert np.abs(num - analytic).max() < 1e-7 * np.abs(analytic).max()


def test_gradcheck_detects_a_wrong_peephole_gradient(rng):
    """The check can fail: an LSTM whose ∂J/∂p_f is off by 1% is caught."""
    model = LSTM(3, 4, 2, peepholes=True, seed=0)
    x, y, h0, _ = make_lstm_problem(rng, 4, 2, 3, 4, 2)

    class Broken:
        params = model.params

        def loss_and_grads(self, *a, **k):
            loss, grads = model.loss_and_grads(*a, **k)
            grads["p_f"] = grads["p_f"] * 1.01
            return loss, grads

    res = bptt.gradcheck(Broken(), x, y, h0=h0, eps=EPS)
    assert 5e-3 < res["p_f"] < 2e-2 and res["p_i"] < 1e-6
