"""bptt.cells.head.head_backward: the output layer and the loss over bands of positions on bptt's
threads equal the one-thread computation (o = c + V y, loss_and_error, Vᵀ∂J/∂o, ∂J/∂V, ∂J/∂c),
and float64 finite differences; a sliced LSTM uses it, and a pooled loss keeps the one-thread head."""
import numpy as np
import pytest

from bptt.cells import threads
from bptt.cells.head import head_backward
from bptt.cells.lstm import fused, slices
from bptt.cells.lstm.model import LSTM
from bptt.nn.losses import loss_and_error


def reference(Y, V, c, output, y, weight):
    o = Y @ V.T + c
    J, _, do = loss_and_error(output, o, y, weight)
    T, B, O = do.shape
    return J, do @ V, do.reshape(T * B, O).T @ Y.reshape(T * B, -1), do.sum(axis=(0, 1))


@pytest.mark.parametrize("k", [1, 2, 3, 7])
@pytest.mark.parametrize("output", ["softmax", "identity"])
def test_bands_equal_the_whole(k, output, rng):
    T, B, H, O = 5, 3, 4, 6                                       # N = 15: bands of 15 // k rows
    Y, V, c = rng.normal(size=(T, B, H)), rng.normal(size=(O, H)), rng.normal(size=O)
    y = rng.integers(0, O, size=(T, B)) if output == "softmax" else rng.normal(size=(T, B, O))
    weight = (rng.random((T, B)) < 0.7) / B                       # a mask with zeros, over B
    got, want = head_backward(Y, V, c, output, y, weight, k), reference(Y, V, c, output, y, weight)
    assert got[0] == pytest.approx(want[0], rel=1e-13)
    for a, b in zip(got[1:], want[1:]):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_finite_differences_of_V_and_c(rng):
    T, B, H, O = 3, 2, 3, 4
    Y, V, c = rng.normal(size=(T, B, H)), rng.normal(size=(O, H)), rng.normal(size=O)
    y, weight = rng.integers(0, O, size=(T, B)), np.full((T, B), 0.5)
    _, _, dV, dc = head_backward(Y, V, c, "softmax", y, weight, 2)
    J = lambda V_, c_: head_backward(Y, V_, c_, "softmax", y, weight, 2)[0]   # noqa: E731
    eps = 1e-6
    for (i, j) in [(0, 0), (3, 2), (1, 1)]:
        Vp, Vm = V.copy(), V.copy()
        Vp[i, j] += eps
        Vm[i, j] -= eps
        assert dV[i, j] == pytest.approx((J(Vp, c) - J(Vm, c)) / (2 * eps), rel=1e-6, abs=1e-9)
    cp, cm = c.copy(), c.copy()
    cp[2] += eps
    cm[2] -= eps
    assert dc[2] == pytest.approx((J(V, cp) - J(V, cm)) / (2 * eps), rel=1e-6, abs=1e-9)


def test_float32_stays_float32(rng):
    T, B, H, O = 4, 4, 5, 3
    f = lambda *s: rng.normal(size=s).astype(np.float32)          # noqa: E731
    J, dY, dV, dc = head_backward(f(T, B, H), f(O, H), f(O), "softmax", rng.integers(0, O, (T, B)),
                                  np.full((T, B), 0.25, np.float32), 3)
    assert dY.dtype == dV.dtype == dc.dtype == np.float32 and isinstance(J, float)


@pytest.fixture
def sliced_by_itself(monkeypatch):
    """cblas says 2 threads and every pass is big enough: a float32 LSTM slices by itself."""
    from bptt.cells import cblas
    real = cblas._get_threads()
    monkeypatch.setattr(cblas, "threads", lambda: 2)
    monkeypatch.setattr(slices, "MIN_FLOPS", 0)
    monkeypatch.setattr(threads, "MIN_SPLIT_FLOPS", 0)
    heads = []
    original = fused.head_backward

    def spy(*args):
        heads.append(args[-1])
        return original(*args)

    monkeypatch.setattr(fused, "head_backward", spy)
    yield heads
    cblas._set_threads(real)


@pytest.mark.parametrize("output", ["softmax", "identity"])
def test_a_sliced_lstm_runs_its_head_in_bands(output, sliced_by_itself, monkeypatch, rng):
    T, B, D, H, O = 6, 16, 5, 7, 4
    model = LSTM(D, H, O, dtype=np.float32, output=output, num_layers=2, seed=3)
    x = rng.integers(0, D, size=(T, B))
    y = rng.integers(0, O, size=(T, B)) if output == "softmax" else rng.normal(size=(T, B, O)).astype(np.float32)
    mask = (rng.random((T, B)) < 0.8).astype(np.float32)
    a = model.backward(x, y, mask=mask)
    assert sliced_by_itself == [2]                                 # the head ran in 2 bands
    monkeypatch.setenv("BPTT_SLICES", "0")
    b = model.backward(x, y, mask=mask)
    assert sliced_by_itself == [2]                                 # not again: the fused loop
    assert a.loss == pytest.approx(b.loss, rel=2e-6)
    for name, g in b.grads.items():
        assert a.grads[name].dtype == np.float32
        assert np.abs(a.grads[name] - g).max() <= 2e-5 * np.abs(g).max(), name


def test_a_pooled_loss_keeps_the_one_thread_head(sliced_by_itself, monkeypatch, rng):
    T, B, D, H, O = 5, 16, 4, 6, 3
    model = LSTM(D, H, O, dtype=np.float32, seed=1)
    x, y = rng.integers(0, D, size=(T, B)), rng.integers(0, O, size=B)
    a = model.backward(x, y, pooling="mean")
    assert sliced_by_itself == []                                  # sliced layers, one-thread head
    monkeypatch.setenv("BPTT_SLICES", "0")
    b = model.backward(x, y, pooling="mean")
    assert a.loss == pytest.approx(b.loss, rel=2e-6)
    for name, g in b.grads.items():
        assert np.abs(a.grads[name] - g).max() <= 2e-5 * np.abs(g).max(), name
