"""to_torch / from_torch: the same function, an exact round trip, and clear refusals."""
import numpy as np
import pytest

import bptt
from bptt.io.interop import from_torch, to_torch

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("L", [1, 2])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_rnn_to_torch_computes_the_same_function(activation, L, dtype, rng):
    model = bptt.SimpleRNN(4, 5, 3, num_layers=L, activation=activation, dtype=dtype, seed=2)
    rnn, linear = to_torch(model)
    x = rng.normal(size=(6, 2, 4)).astype(dtype)
    h0 = rng.normal(size=(2, 5) if L == 1 else (L, 2, 5)).astype(dtype)
    out = model.forward(x, h0)
    hs, hn = rnn(torch.from_numpy(x), torch.from_numpy(h0 if L > 1 else h0[None]))
    tol = 1e-13 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(linear(hs).detach().numpy(), out.o, rtol=0, atol=tol)
    np.testing.assert_allclose(hn.detach().numpy().reshape(out.h_last.shape), out.h_last, rtol=0, atol=tol)


@pytest.mark.parametrize("L", [1, 3])
def test_rnn_round_trip_is_exact(L):
    model = bptt.SimpleRNN(4, 5, 3, num_layers=L, activation="relu", output="identity", seed=3)
    back = from_torch(*to_torch(model), output="identity")
    assert back.config() == model.config()
    for k in model.params:
        assert back.params[k].dtype == model.params[k].dtype
        assert np.array_equal(back.params[k], model.params[k]), k


def test_from_torch_adds_the_two_biases():
    rnn = torch.nn.RNN(3, 4, dtype=torch.float64)
    linear = torch.nn.Linear(4, 2, dtype=torch.float64)
    model = from_torch(rnn, linear)
    expected = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().numpy()
    assert np.array_equal(model.params["b"], expected)
    x = np.random.default_rng(0).normal(size=(5, 2, 3))
    np.testing.assert_allclose(model.forward(x).o, linear(rnn(torch.from_numpy(x))[0]).detach().numpy(),
                               rtol=0, atol=1e-13)


def test_refusals():
    with pytest.raises(ValueError, match=r"nn.RNN has only tanh and relu .* uses 'sigmoid'"):
        to_torch(bptt.SimpleRNN(3, 4, 2, activation="sigmoid"))
    with pytest.raises(ValueError, match=r"linear.in_features = 4 must equal 2 · the RNN's hidden_size "
                                         r"\(bidirectional\) = 8"):
        from_torch(torch.nn.RNN(3, 4, bidirectional=True), torch.nn.Linear(4, 2))
    with pytest.raises(ValueError, match=r"linear.in_features = 5 must equal the RNN's hidden_size = 4"):
        from_torch(torch.nn.RNN(3, 4), torch.nn.Linear(5, 2))
    with pytest.raises(TypeError, match=r"'rnn' argument of from_torch must be a torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU. Got RNNCell"):
        from_torch(torch.nn.RNNCell(3, 4), torch.nn.Linear(4, 2))
    with pytest.raises(ValueError, match=r"weights of dtype torch.float16 are not supported"):
        from_torch(torch.nn.RNN(3, 4, dtype=torch.float16), torch.nn.Linear(4, 2, dtype=torch.float16))
    with pytest.raises(TypeError, match=r"'linear' argument of from_torch must be a torch.nn.Linear"):
        from_torch(torch.nn.RNN(3, 4), None)


@pytest.mark.parametrize("L", [1, 3])
def test_lstm_to_torch_computes_the_same_function_and_round_trips(L, rng):
    model = bptt.LSTM(4, 5, 3, num_layers=L, seed=4)
    rnn, linear = to_torch(model)
    assert isinstance(rnn, torch.nn.LSTM)
    x = rng.integers(0, 4, size=(6, 2))
    shape = (2, 5) if L == 1 else (L, 2, 5)
    h0, c0 = rng.normal(size=shape), rng.normal(size=shape)
    out = model.forward(x, (h0, c0))
    xt = torch.nn.functional.one_hot(torch.tensor(x), 4).double()
    as3 = lambda a: torch.tensor(a if L > 1 else a[None])        # noqa: E731
    hs, (hn, cn) = rnn(xt, (as3(h0), as3(c0)))
    np.testing.assert_allclose(linear(hs).detach().numpy(), out.o, rtol=0, atol=1e-13)
    np.testing.assert_allclose(cn.detach().numpy().reshape(out.c_last.shape), out.c_last, rtol=0, atol=1e-13)
    back = from_torch(rnn, linear)
    assert back.config() == model.config()
    for k in model.params:
        assert np.array_equal(back.params[k], model.params[k]), k


def test_lstm_gate_order_is_documented_mapping():
    """PyTorch's rows i, f, g, o of weight_ih are Greff's W_i, W_f, W_z, W_o."""
    model = bptt.LSTM(3, 2, 2, seed=0)
    rnn, _ = to_torch(model)
    w = rnn.weight_ih_l0.detach().numpy()
    for k, g in enumerate("ifzo"):
        assert np.array_equal(w[2 * k:2 * k + 2], model.params[f"W_{g}"])


def test_peepholes_refuse_to_export():
    with pytest.raises(ValueError, match=r"nn.LSTM has no peephole connections .* peepholes=True cannot be exported"):
        to_torch(bptt.LSTM(3, 4, 2, peepholes=True))
