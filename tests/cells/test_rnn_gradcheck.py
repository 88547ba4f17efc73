"""SimpleRNN gradients against central differences in float64, with a non-zero h0."""
import numpy as np
import pytest

import bptt
from conftest import ACTIVATIONS, OUTPUTS, make_problem


@pytest.mark.parametrize("tokens", [False, True])
@pytest.mark.parametrize("mask", [False, True])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradcheck_every_configuration(activation, output, mask, tokens, rng):
    T, B, D, H, O = 5, 2, 3, 4, 3
    model = bptt.SimpleRNN(D, H, O, activation=activation, output=output, seed=7)
    x, y, h0, m = make_problem(rng, T, B, D, H, O, output=output, tokens=tokens, mask=mask)
    res = bptt.gradcheck(model, x, y, h0=h0, mask=m)
    assert set(res) == {"U", "W", "b", "V", "c"}
    assert res.max_error < 1e-6, res.table()


def test_gradcheck_detects_a_wrong_gradient(rng):
    """The check can fail: a model whose ∂J/∂W is off by 1% is caught."""
    model = bptt.SimpleRNN(3, 4, 2, seed=0)
    x, y, h0, _ = make_problem(rng, 4, 2, 3, 4, 2)

    class Broken:
        params = model.params

        def loss_and_grads(self, *a, **k):
            loss, grads = model.loss_and_grads(*a, **k)
            grads["W"] = grads["W"] * 1.01
            return loss, grads

    res = bptt.gradcheck(Broken(), x, y, h0=h0)
    assert res["W"] > 1e-3 and res["U"] < 1e-6


def test_gradcheck_restores_parameters_and_subsamples(rng):
    model = bptt.SimpleRNN(3, 4, 2, seed=0)
    before = {k: p.copy() for k, p in model.params.items()}
    x, y, _, _ = make_problem(rng, 4, 2, 3, 4, 2)
    res = bptt.gradcheck(model, x, y, max_entries=3, seed=1)
    assert all(np.array_equal(before[k], model.params[k]) for k in before)
    assert np.count_nonzero(~np.isnan(res.numeric["W"])) == 3
    assert "rel. error" in res.table()


def test_gradcheck_errors(rng):
    x, y, _, _ = make_problem(rng, 2, 1, 3, 4, 2)
    with pytest.raises(ValueError, match=r"gradcheck needs float64 parameters .* Got 'U' of dtype float32"):
        bptt.gradcheck(bptt.SimpleRNN(3, 4, 2, dtype="float32"), x, y)
    with pytest.raises(ValueError, match=r"'params' parameter of gradcheck must name parameters .* Got 'Q'"):
        bptt.gradcheck(bptt.SimpleRNN(3, 4, 2), x, y, params=["Q"])
    with pytest.raises(TypeError, match=r"'model' argument of gradcheck must have .params"):
        bptt.gradcheck(object(), x, y)
    with pytest.raises(ValueError, match=r"'eps' parameter of gradcheck must be a finite number in \(0, 1\]"):
        bptt.gradcheck(bptt.SimpleRNN(3, 4, 2), x, y, eps=0.0)


def test_gradcheck_restores_parameters_when_the_model_raises(rng):
    model = bptt.SimpleRNN(3, 4, 2, seed=0)
    before = {k: p.copy() for k, p in model.params.items()}
    x, y, _, _ = make_problem(rng, 3, 1, 3, 4, 2)
    calls = []

    class Flaky:
        params = model.params

        def loss_and_grads(self, *a, **k):
            calls.append(1)
            if len(calls) == 3:                      # inside the first perturbation
                raise RuntimeError("boom")
            return model.loss_and_grads(*a, **k)

    with pytest.raises(RuntimeError, match="boom"):
        bptt.gradcheck(Flaky(), x, y)
    assert all(np.array_equal(before[k], model.params[k]) for k in before)
    res = bptt.gradcheck(model, x, y, params="W")            # one name as a plain string
    assert set(res) == {"W"}
    model.params["U"] = np.asfortranarray(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"needs C-contiguous arrays. Got 'U'"):
        bptt.gradcheck(model, x, y, params=["U"])
