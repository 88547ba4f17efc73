"""Stacked SimpleRNN (num_layers > 1) against torch.nn.RNN with copied weights, and both paths."""
import numpy as np
import pytest

import bptt
from conftest import make_problem

torch = pytest.importorskip("torch")
from torch_reference import rel_err, rnn_stacked_reference  # noqa: E402


@pytest.mark.parametrize("path", ["fast", "reference"])
@pytest.mark.parametrize("tokens", [False, True])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("L", [2, 3])
def test_stacked_equals_torch(L, activation, tokens, path, rng):
    T, B, D, H, O = 6, 3, 5, 4, 3
    model = bptt.SimpleRNN(D, H, O, num_layers=L, activation=activation, seed=L, path=path)
    assert set(model.params) == {"U", "W", "b", "V", "c"} | {f"{n}.{l}" for n in "UWb" for l in range(1, L)}
    assert model.params["U.1"].shape == (H, H)
    x, y, _, m = make_problem(rng, T, B, D, H, O, tokens=tokens, mask=True)
    h0 = rng.normal(scale=0.5, size=(L, B, H))
    res = model.backward(x, y, h0=h0, mask=m)
    ref = rnn_stacked_reference(model, x, y, h0, m)
    loss, grads, dh0, hn = ref["loss"], ref["grads"], ref["dh0"], ref["h_n"]
    assert abs(res.loss - loss) < 1e-10 * abs(loss)
    for k in grads:
        assert rel_err(res.grads[k], grads[k]) < 1e-10, k
    assert res.dh0.shape == (L, B, H) and rel_err(res.dh0, dh0) < 1e-10
    assert np.allclose(res.h_last, hn, rtol=0, atol=1e-14)
    out = model.forward(x, h0)
    assert out.h_last.shape == (L, B, H) and np.allclose(out.h_last, hn, rtol=0, atol=1e-14)


def test_stacked_gradcheck_with_float_inputs(rng):
    model = bptt.SimpleRNN(3, 4, 2, num_layers=2, activation="sigmoid", output="identity", seed=0)
    x, y, _, m = make_problem(rng, 4, 2, 3, 4, 2, output="identity", mask=True)
    h0 = rng.normal(size=(2, 2, 4))
    assert bptt.gradcheck(model, x, y, h0=h0, mask=m).max_error < 1e-6
    fast, ref = model.backward(x, y, h0, m), bptt.SimpleRNN(3, 4, 2, num_layers=2, activation="sigmoid",
                                                             output="identity", seed=0, path="reference").backward(x, y, h0, m)
    assert np.allclose(fast.dx, ref.dx, rtol=0, atol=1e-14)


def test_stacked_tbptt_and_trace(rng):
    model = bptt.SimpleRNN(4, 5, 3, num_layers=2, seed=1)
    x, y, _, m = make_problem(rng, 8, 2, 4, 5, 3, tokens=True, mask=True)
    (w,) = list(model.tbptt(x, y, 8, 8, mask=m))
    res = model.backward(x, y, mask=m)
    assert w.loss == res.loss and all(np.array_equal(w.grads[k], res.grads[k]) for k in res.grads)
    tr = model.trace(x, y, mask=m)
    for k in model.params:
        np.testing.assert_allclose(tr.per_step[k].sum(axis=0), res.grads[k], rtol=0, atol=1e-13)
    assert len(tr.layer_errors) == 2 and tr.errors["a"] is tr.layer_errors[1]["a"]
    with pytest.raises(ValueError, match=r"errors_by_source is defined for one recurrent layer; "
                                         r"this model has num_layers=2"):
        tr.errors_by_source


def test_stacked_h0_errors():
    model = bptt.SimpleRNN(3, 4, 2, num_layers=2)
    with pytest.raises(ValueError, match=r"'h0' argument of SimpleRNN must have shape \(2, 1, 4\). Got shape \(1, 4\)"):
        model.forward(np.zeros((5, 1, 3)), h0=np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"'num_layers' parameter of SimpleRNN must be an int >= 1. Got 0"):
        bptt.SimpleRNN(3, 4, 2, num_layers=0)
