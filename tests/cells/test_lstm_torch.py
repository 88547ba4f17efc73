"""LSTM against torch.nn.LSTM + nn.Linear with weights copied by hand, float64, 1e-10 relative.

The reference (tests/lstm_reference.py) copies the gates in PyTorch's order i, f, g, o, which in
Greff et al.'s names is i, f, z, o; bias_ih = b, bias_hh = 0.
"""
import numpy as np
import pytest

import bptt
from bptt.cells.lstm.model import LSTM
from conftest import make_lstm_problem

torch = pytest.importorskip("torch")
from lstm_reference import lstm_reference, rel_err, torch_lstm  # noqa: E402

TOL = 1e-10


@pytest.mark.parametrize("path", ["fast", "reference"])
@pytest.mark.parametrize("tokens", [False, True])
@pytest.mark.parametrize("mask", [False, True])
@pytest.mark.parametrize("output", ["softmax", "identity"])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_loss_grads_dh0_dc0_equal_torch(num_layers, output, mask, tokens, path, rng):
    T, B, D, H, O = 7, 3, 5, 6, 4
    model = LSTM(D, H, O, num_layers=num_layers, output=output, seed=3, path=path)
    x, y, h0, m = make_lstm_problem(rng, T, B, D, H, O, num_layers, output=output, tokens=tokens,
                                    mask=mask)
    res = model.backward(x, y, h0=h0, mask=m)
    ref = lstm_reference(model, x, y, h0, m)
    assert abs(res.loss - ref["loss"]) <= TOL * abs(ref["loss"])
    assert set(res.grads) == set(model.params) == set(ref["grads"])
    for k in model.params:
        assert res.grads[k].shape == model.params[k].shape, k
        assert rel_err(res.grads[k], ref["grads"][k]) < TOL, k
    for mine, theirs in zip(res.dh0, ref["dh0"]):             # ∂J/∂h0, then ∂J/∂c0
        assert mine.shape == theirs.shape == h0[0].shape
        assert rel_err(mine, theirs) < TOL
    np.testing.assert_allclose(res.h, ref["h"], rtol=0, atol=1e-13)
    np.testing.assert_allclose(res.h_last, ref["h_n"], rtol=0, atol=1e-13)
    np.testing.assert_allclose(res.c_last, ref["c_n"], rtol=0, atol=1e-13)
    loss, grads = model.loss_and_grads(x, y, h0=h0, mask=m)
    assert loss == res.loss and all(np.array_equal(grads[k], res.grads[k]) for k in grads)


@pytest.mark.parametrize("path", ["fast", "reference"])
def test_zero_initial_state_and_forward_equal_torch(path, rng):
    T, B, D, H, O = 6, 2, 4, 5, 3
    model = LSTM(D, H, O, num_layers=2, seed=4, path=path)
    x, y, _, _ = make_lstm_problem(rng, T, B, D, H, O, 2, h0=False)
    ref = lstm_reference(model, x, y, None, None)
    res = model.backward(x, y)
    assert abs(res.loss - ref["loss"]) <= TOL * ref["loss"]
    for k in model.params:
        assert rel_err(res.grads[k], ref["grads"][k]) < TOL, k
    out = model.forward(x)
    np.testing.assert_allclose(out.h, ref["h"], rtol=0, atol=1e-13)
    np.testing.assert_allclose(out.h_last, ref["h_n"], rtol=0, atol=1e-13)
    np.testing.assert_allclose(out.c_last, ref["c_n"], rtol=0, atol=1e-13)
    _, lin = torch_lstm(model.params, D, H, O, 2)
    np.testing.assert_allclose(out.o, lin(torch.tensor(out.h)).detach().numpy(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(out.y_hat, torch.softmax(torch.tensor(out.o), -1).numpy(), atol=1e-15)
    assert out.last_state[0] is out.h_last and out.last_state[1] is out.c_last


def test_forget_bias_default_zero_is_torch_init_and_one_adds_one():
    """The default forget_bias=0 draws every entry from U(±1/√H), as torch.nn.LSTM;
    forget_bias=1 adds 1 to b_f (of every layer) and changes nothing else."""
    H = 50
    zero = LSTM(3, H, 40, num_layers=2, seed=0)
    assert zero.forget_bias == 0.0 and zero.config()["forget_bias"] == 0.0
    assert all(np.array_equal(zero.params[k], LSTM(3, H, 40, num_layers=2, forget_bias=0.0,
                                                   seed=0).params[k]) for k in zero.params)
    one = LSTM(3, H, 40, num_layers=2, forget_bias=1.0, seed=0)
    bound = 1 / np.sqrt(H)
    for k, p in zero.params.items():
        assert np.abs(p).max() <= bound and np.abs(p).max() > 0.8 * bound, k
        delta = 1.0 if k.startswith("b_f") else 0.0
        np.testing.assert_allclose(one.params[k], p + delta, rtol=0, atol=1e-15)


def test_many_to_one_mask_equals_last_step_loss(rng):
    T, B, D, H, O = 6, 2, 3, 4, 3
    model = LSTM(D, H, O, seed=0)
    x, y, h0, _ = make_lstm_problem(rng, T, B, D, H, O)
    mask = np.zeros((T, B))
    mask[-1] = 1
    res = model.backward(x, y, h0=h0, mask=mask)
    ref = lstm_reference(model, x, y, h0, mask)
    assert abs(res.loss - ref["loss"]) < 1e-13
    for k in model.params:
        assert rel_err(res.grads[k], ref["grads"][k]) < TOL, k


def test_bptt_lstm_is_exported():
    assert bptt.LSTM is LSTM
