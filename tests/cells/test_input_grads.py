"""∂J/∂x, the error that reaches the inputs (what a layer below or an embedding would receive),
for every cell: against PyTorch (autograd through x.requires_grad_(), float64, 1e-10 relative)
and against central differences of J in float64, on the fast and the reference paths, with one
and two layers. Token inputs have no ∂J/∂x (dx is None)."""
import numpy as np
import pytest

import bptt
from conftest import ACTIVATIONS, make_lstm_problem, make_problem
from gru_problem import make_gru_problem

TOL = 1e-10


def _state(rng, B, H, L):
    shape = (B, H) if L == 1 else (L, B, H)
    return rng.normal(scale=0.5, size=shape)


def _rnn_problem(rng, T, B, D, H, O, L, output, tokens=False):
    x, y, _, m = make_problem(rng, T, B, D, H, O, output=output, tokens=tokens, mask=True)
    return x, y, _state(rng, B, H, L), m


def _lstm_problem(rng, T, B, D, H, O, L, output, tokens=False):
    return make_lstm_problem(rng, T, B, D, H, O, L, output=output, tokens=tokens, mask=True)


def _gru_problem(rng, T, B, D, H, O, L, output, tokens=False):
    return make_gru_problem(rng, T, B, D, H, O, L, output=output, tokens=tokens, mask=True)


def _gru_torch_dx(model, x, y, state, mask):
    from gru_reference import gru_reference
    return gru_reference(model, x, y, state, mask)["dx"]


def _rnn_torch_dx(model, x, y, state, mask):
    from torch_reference import rnn_stacked_reference
    return rnn_stacked_reference(model, x, y, state, mask)["dx"]


def _lstm_torch_dx(model, x, y, state, mask):
    from lstm_reference import lstm_reference
    return lstm_reference(model, x, y, state, mask)["dx"]


# kind -> (the model class, a problem (x, y, initial state, mask), ∂J/∂x by PyTorch's autograd)
CELLS = {
    "rnn": (bptt.SimpleRNN, _rnn_problem, _rnn_torch_dx),
    "lstm": (bptt.LSTM, _lstm_problem, _lstm_torch_dx),
    "gru": (bptt.GRU, _gru_problem, _gru_torch_dx),
}


def central_differences(model, x, y, state, mask, eps=1e-5):
    """(J(x + ε e_i) − J(x − ε e_i)) / 2ε for every entry i of x. ε = 1e-5 keeps the rounding
    error (≈ 1e-16·|J|/ε) and the truncation error (≈ ε²) near 1e-10 of the small LSTM errors."""
    num = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = model.loss(x, y, state, mask)
        x[i] = old - eps
        down = model.loss(x, y, state, mask)
        x[i] = old
        num[i] = (up - down) / (2 * eps)
    return num


def rel_err(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.mark.parametrize("output", ["softmax", "identity"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("path", ["fast", "reference"])
@pytest.mark.parametrize("kind", list(CELLS))
def test_dx_equals_torch(kind, path, layers, output, rng):
    pytest.importorskip("torch")
    cls, problem, torch_dx = CELLS[kind]
    T, B, D, H, O = 6, 3, 4, 5, 3
    model = cls(D, H, O, num_layers=layers, output=output, seed=2, path=path)
    x, y, state, mask = problem(rng, T, B, D, H, O, layers, output)
    dx = model.backward(x, y, state, mask).dx
    want = torch_dx(model, x, y, state, mask)
    assert dx.shape == want.shape == (T, B, D) and dx.dtype == np.float64
    assert rel_err(dx, want) < TOL


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_rnn_dx_equals_torch_for_every_activation(activation, rng):
    pytest.importorskip("torch")
    from torch_reference import rnn_reference
    T, B, D, H, O = 5, 2, 3, 4, 3
    model = bptt.SimpleRNN(D, H, O, activation=activation, seed=5)
    x, y, h0, mask = make_problem(rng, T, B, D, H, O, mask=True)
    want = rnn_reference(model.params, x, y, h0, mask, activation=activation, keep=True)["dx"]
    assert rel_err(model.backward(x, y, h0, mask).dx, want) < TOL


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("path", ["fast", "reference"])
@pytest.mark.parametrize("kind", list(CELLS))
def test_dx_equals_central_differences(kind, path, layers, rng):
    cls, problem, _ = CELLS[kind]
    T, B, D, H, O = 5, 2, 3, 4, 3
    model = cls(D, H, O, num_layers=layers, seed=3, path=path)
    x, y, state, mask = problem(rng, T, B, D, H, O, layers, "softmax")
    dx = model.backward(x, y, state, mask).dx
    num = central_differences(model, x.copy(), y, state, mask)
    assert np.abs(num).max() > 1e-3                          # a real signal, not all zeros
    assert rel_err(dx, num) < 1e-7


def test_lstm_dx_with_peepholes_equals_central_differences(rng):
    T, B, D, H, O = 5, 2, 3, 4, 2
    for path in ("fast", "reference"):
        model = bptt.LSTM(D, H, O, peepholes=True, output="identity", seed=4, path=path)
        x, y, state, mask = make_lstm_problem(rng, T, B, D, H, O, output="identity", mask=True)
        num = central_differences(model, x.copy(), y, state, mask)
        assert rel_err(model.backward(x, y, state, mask).dx, num) < 1e-7, path


@pytest.mark.parametrize("kind", list(CELLS))
def test_token_inputs_have_no_dx(kind, rng):
    cls, problem, _ = CELLS[kind]
    model = cls(4, 3, 2, seed=0)
    x, y, state, mask = problem(rng, 3, 2, 4, 3, 2, 1, "softmax", tokens=True)
    assert model.backward(x, y, state, mask).dx is None
