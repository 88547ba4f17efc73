"""to_torch / from_torch for the GRU: the same function, an exact round trip, the two biases of
torch's candidate, and the refusal of reset="before"."""
import numpy as np
import pytest

import bptt
from bptt.io.interop import from_torch, to_torch

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("L", [1, 2, 3])
def test_gru_to_torch_computes_the_same_function(L, dtype, rng):
    model = bptt.GRU(4, 5, 3, num_layers=L, dtype=dtype, seed=2)
    rnn, linear = to_torch(model)
    assert isinstance(rnn, torch.nn.GRU) and rnn.num_layers == L
    x = rng.normal(size=(6, 2, 4)).astype(dtype)
    h0 = rng.normal(size=(2, 5) if L == 1 else (L, 2, 5)).astype(dtype)
    out = model.forward(x, h0)
    hs, hn = rnn(torch.from_numpy(x), torch.from_numpy(h0 if L > 1 else h0[None]))
    tol = 1e-13 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(linear(hs).detach().numpy(), out.o, rtol=0, atol=tol)
    np.testing.assert_allclose(hn.detach().numpy().reshape(out.h_last.shape), out.h_last, rtol=0, atol=tol)


@pytest.mark.parametrize("output", ["softmax", "identity"])
@pytest.mark.parametrize("L", [1, 3])
def test_gru_round_trip_is_exact(L, output):
    model = bptt.GRU(4, 5, 3, num_layers=L, output=output, seed=3)
    rnn, linear = to_torch(model)
    back = from_torch(rnn, linear, output=output)
    assert back.config() == model.config() and list(back.params) == list(model.params)
    for k in model.params:
        assert back.params[k].dtype == model.params[k].dtype
        assert np.array_equal(back.params[k], model.params[k]), k


def test_gru_export_layout_is_the_documented_mapping():
    """weight_ih = [U_r; U_z; U_n], weight_hh = [W_r; W_z; W_n], bias_ih = [b_r; b_z; b_n],
    bias_hh = [0; 0; b_hn] (PyTorch's gate order r, z, n)."""
    model = bptt.GRU(3, 2, 2, num_layers=2, seed=0)
    rnn, _ = to_torch(model)
    for l, sfx in ((0, ""), (1, ".1")):
        w_ih, w_hh = getattr(rnn, f"weight_ih_l{l}").detach().numpy(), getattr(rnn, f"weight_hh_l{l}").detach().numpy()
        b_ih, b_hh = getattr(rnn, f"bias_ih_l{l}").detach().numpy(), getattr(rnn, f"bias_hh_l{l}").detach().numpy()
        for k, g in enumerate("rzn"):
            rows = slice(2 * k, 2 * k + 2)
            assert np.array_equal(w_ih[rows], model.params[f"U_{g}{sfx}"])
            assert np.array_equal(w_hh[rows], model.params[f"W_{g}{sfx}"])
            assert np.array_equal(b_ih[rows], model.params[f"b_{g}{sfx}"])
        assert np.all(b_hh[:4] == 0) and np.array_equal(b_hh[4:], model.params[f"b_hn{sfx}"])


@pytest.mark.parametrize("L", [1, 2])
def test_from_torch_merges_the_gate_biases_and_keeps_b_hn(L, rng):
    """b_r = b_ir + b_hr, b_z = b_iz + b_hz, b_n = b_in, b_hn = b_hn: torch's own GRU (both bias
    vectors random) and the imported model compute the same function."""
    torch.manual_seed(0)
    rnn = torch.nn.GRU(3, 4, num_layers=L, dtype=torch.float64)
    linear = torch.nn.Linear(4, 2, dtype=torch.float64)
    model = from_torch(rnn, linear)
    assert isinstance(model, bptt.GRU) and model.reset == "after" and model.num_layers == L
    b_ih, b_hh = rnn.bias_ih_l0.detach().numpy(), rnn.bias_hh_l0.detach().numpy()
    assert np.array_equal(model.params["b_r"], b_ih[:4] + b_hh[:4])
    assert np.array_equal(model.params["b_z"], b_ih[4:8] + b_hh[4:8])
    assert np.array_equal(model.params["b_n"], b_ih[8:]) and np.array_equal(model.params["b_hn"], b_hh[8:])
    x = rng.normal(size=(5, 2, 3))
    h0 = rng.normal(size=(L, 2, 4))
    hs, hn = rnn(torch.from_numpy(x), torch.from_numpy(h0))
    out = model.forward(x, h0 if L > 1 else h0[0])
    np.testing.assert_allclose(out.o, linear(hs).detach().numpy(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(out.h_last, hn.detach().numpy().reshape(out.h_last.shape), rtol=0, atol=1e-13)


def test_from_torch_gru_without_biases(rng):
    rnn = torch.nn.GRU(3, 4, bias=False, dtype=torch.float64)
    linear = torch.nn.Linear(4, 2, dtype=torch.float64)
    model = from_torch(rnn, linear)
    assert all(not model.params[k].any() for k in ("b_r", "b_z", "b_n", "b_hn"))
    x = rng.normal(size=(4, 2, 3))
    np.testing.assert_allclose(model.forward(x).o, linear(rnn(torch.from_numpy(x))[0]).detach().numpy(),
                               rtol=0, atol=1e-13)


def test_refusals():
    with pytest.raises(ValueError, match=r"nn.GRU applies the reset gate after W_n, r ⊙ \(W_n h \+ b_hn\); "
                                         r"a GRU with reset='before', W_n \(r ⊙ h\), cannot be exported"):
        to_torch(bptt.GRU(3, 4, 2, reset="before"))
    with pytest.raises(ValueError, match=r"linear.in_features = 4 must equal 2 · the RNN's hidden_size "
                                         r"\(bidirectional\) = 8"):
        from_torch(torch.nn.GRU(3, 4, bidirectional=True), torch.nn.Linear(4, 2))
    with pytest.raises(ValueError, match=r"linear.in_features = 5 must equal the RNN's hidden_size = 4"):
        from_torch(torch.nn.GRU(3, 4), torch.nn.Linear(5, 2))
    with pytest.raises(TypeError, match=r"'model' argument of to_torch must be a SimpleRNN, an LSTM or a GRU. Got dict"):
        to_torch({})
