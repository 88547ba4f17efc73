"""The fused fast path equals the per-step reference path."""
import numpy as np
import pytest

import bptt
from conftest import ACTIVATIONS, OUTPUTS, make_problem


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 2e-5)])
@pytest.mark.parametrize("tokens", [False, True])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_fast_equals_reference(activation, output, tokens, dtype, tol, rng):
    T, B, D, H, O = 9, 4, 5, 6, 3
    fast = bptt.SimpleRNN(D, H, O, activation=activation, output=output, dtype=dtype, seed=4)
    ref = bptt.SimpleRNN(D, H, O, activation=activation, output=output, dtype=dtype, seed=4,
                         path="reference")
    x, y, h0, m = make_problem(rng, T, B, D, H, O, output=output, tokens=tokens, mask=True)
    a, b = fast.backward(x, y, h0=h0, mask=m), ref.backward(x, y, h0=h0, mask=m)
    assert abs(a.loss - b.loss) <= tol * abs(b.loss)
    for k in fast.params:
        assert a.grads[k].dtype == np.dtype(dtype)
        scale = np.abs(b.grads[k]).max()
        assert np.abs(a.grads[k] - b.grads[k]).max() <= tol * scale, k
    assert np.abs(a.dh0 - b.dh0).max() <= tol * np.abs(b.dh0).max()
    if not tokens:
        assert np.abs(a.dx - b.dx).max() <= tol * np.abs(b.dx).max()
    fa, fb = fast.forward(x, h0), ref.forward(x, h0)
    for name in ("a", "h", "o", "y_hat", "h_last"):
        assert np.abs(getattr(fa, name) - getattr(fb, name)).max() <= tol * 10, name


def test_token_ids_equal_one_hot_floats(rng):
    """Token ids are the one-hot inputs, without building them."""
    model = bptt.SimpleRNN(6, 4, 3, seed=0)
    ids = rng.integers(0, 6, size=(5, 3))
    onehot = np.eye(6)[ids]
    y = rng.integers(0, 3, size=(5, 3))
    (la, ga), (lb, gb) = model.loss_and_grads(ids, y), model.loss_and_grads(onehot, y)
    assert abs(la - lb) < 1e-14
    for k in ga:
        np.testing.assert_allclose(ga[k], gb[k], rtol=0, atol=1e-14)


def test_float32_model_keeps_float32(rng):
    model = bptt.SimpleRNN(3, 4, 2, dtype="float32")
    x, y, h0, _ = make_problem(rng, 4, 2, 3, 4, 2)
    out = model.forward(x, h0)
    assert out.h.dtype == np.float32 and out.y_hat.dtype == np.float32
    _, grads = model.loss_and_grads(x, y, h0)
    assert all(g.dtype == np.float32 for g in grads.values())
