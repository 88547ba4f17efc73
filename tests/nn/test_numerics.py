"""Numerics: stable softmax/cross-entropy for logits of any size, safe nonlinearities in float32."""
import numpy as np
import pytest

from bptt.nn.activations import ACTIVATIONS, sigmoid
from bptt.nn.losses import log_softmax, loss_and_error, softmax


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1.0, 1e4, 1e30])
def test_cross_entropy_is_finite_for_any_logits(scale, dtype):
    o = (np.array([[[1.0, -2.0, 0.5], [-3.0, 0.0, 3.0]]]) * scale).astype(dtype)   # (1, 2, 3)
    y = np.array([[1, 2]])
    loss, y_hat, do = loss_and_error("softmax", o, y, np.full((1, 2), 0.5, dtype=dtype))
    assert np.isfinite(loss) and np.isfinite(do).all() and np.isfinite(y_hat).all()
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(y_hat.sum(-1), 1, rtol=tol)
    # −log ŷ[y] = logsumexp(o) − o[y], in float64 from the same (rounded) logits
    o64 = o.astype(np.float64)
    expected = 0.5 * sum(np.logaddexp.reduce(o64[0, t]) - o64[0, t, y[0, t]] for t in (0, 1))
    assert abs(loss - expected) <= tol * abs(expected)


def test_log_softmax_and_softmax_agree_at_extremes():
    o = np.array([[1e308, -1e308, 0.0]])      # o − max(o) overflows to −inf: exp gives exactly 0
    with np.errstate(over="ignore"):
        assert np.isfinite(log_softmax(o)[0, 0]) and log_softmax(o)[0, 0] == 0.0
        assert softmax(o)[0].tolist() == [1.0, 0.0, 0.0]


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activations_are_finite_in_float32(name):
    a = np.array([-1e38, -100.0, -1.0, 0.0, 1.0, 100.0, 1e38], dtype=np.float32)
    act = ACTIVATIONS[name]
    with np.errstate(all="raise"):
        h = act.fn(a)
        out = np.empty_like(a)
        act.apply(a, out)
        d = act.grad_from_output(h)
    assert h.dtype == np.float32 and np.array_equal(h, out)
    if name != "identity":
        assert np.isfinite(d).all()


def test_sigmoid_saturates_without_overflow():
    with np.errstate(over="raise"):
        s = sigmoid(np.array([-1e4, 1e4], dtype=np.float32))
    assert s.tolist() == [0.0, 1.0]
