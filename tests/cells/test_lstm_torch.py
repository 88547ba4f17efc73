"""LSTM against torch.nn.LSTM + nn.Linear with weights copied by hand, float64, 1e-10 relative.

PyTorch stacks the gates of weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k} in the order i, f, g, o,
which in Greff et al.'s names is i, f, z, o. bias_ih = b, bias_hh = 0. The helpers here are also
the PyTorch reference of the other LSTM test files.
"""
import numpy as np
import pytest

import bptt
from bptt.cells.lstm.model import LSTM

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(1)
TOL = 1e-10
TORCH_ORDER = ("i", "f", "z", "o")          # PyTorch's i, f, g, o


def name(base, layer):
    """The documented key convention: plain names for layer 0, "W_z.1" for layer 1, ..."""
    return base if layer == 0 else f"{base}.{layer}"


def t64(a):
    return torch.tensor(np.asarray(a), dtype=torch.float64)


def torch_lstm(params, D, H, O, num_layers):
    """nn.LSTM and nn.Linear holding the bptt parameters (copied by hand, gate order i, f, g, o)."""
    lstm = torch.nn.LSTM(D, H, num_layers=num_layers, dtype=torch.float64)
    lin = torch.nn.Linear(H, O, dtype=torch.float64)
    with torch.no_grad():
        for k in range(num_layers):
            for w, attr in (("W", "weight_ih"), ("R", "weight_hh"), ("b", "bias_ih")):
                getattr(lstm, f"{attr}_l{k}").copy_(
                    torch.cat([t64(params[name(f"{w}_{g}", k)]) for g in TORCH_ORDER]))
            getattr(lstm, f"bias_hh_l{k}").zero_()
        lin.weight.copy_(t64(params["V"]))
        lin.bias.copy_(t64(params["c"]))
    return lstm, lin


def torch_inputs(x, D):
    xt = torch.tensor(np.asarray(x))
    if xt.dtype in (torch.int64, torch.int32):
        return F.one_hot(xt.long(), D).to(torch.float64)     # the reference may build one-hot
    return xt.to(torch.float64)


def torch_loss(o, y, mask, output):
    """J = (1/B) Σ mask·L and the per-term losses L (T, B)."""
    T, B = o.shape[:2]
    if output == "softmax":
        L = F.cross_entropy(o.reshape(T * B, -1), torch.tensor(y).long().reshape(-1),
                            reduction="none").reshape(T, B)
    else:
        L = 0.5 * ((o - t64(y)) ** 2).sum(-1)
    m = torch.ones(T, B, dtype=torch.float64) if mask is None else t64(mask)
    return (m * L).sum() / B, L


def lstm_reference(model, x, y, h0, mask):
    """loss, grads (keyed like model.params), (dh0, dc0) in the model's layout, h, h_n, c_n."""
    D, H, O, L = model.input_size, model.hidden_size, model.output_size, model.num_layers
    lstm, lin = torch_lstm(model.params, D, H, O, L)
    xt = torch_inputs(x, D)
    B = xt.shape[1]
    if h0 is None:
        h0 = (np.zeros((L, B, H)), np.zeros((L, B, H)))
    h0t = t64(h0[0]).reshape(L, B, H).requires_grad_()
    c0t = t64(h0[1]).reshape(L, B, H).requires_grad_()
    out, (h_n, c_n) = lstm(xt, (h0t, c0t))
    J, _ = torch_loss(lin(out), y, mask, model.output)
    J.backward()
    grads = {"V": lin.weight.grad.numpy(), "c": lin.bias.grad.numpy()}
    for k in range(L):
        for w, attr in (("W", "weight_ih"), ("R", "weight_hh"), ("b", "bias_ih")):
            chunks = torch.chunk(getattr(lstm, f"{attr}_l{k}").grad, 4)
            for g, chunk in zip(TORCH_ORDER, chunks):
                grads[name(f"{w}_{g}", k)] = chunk.numpy()
    shape = np.shape(h0[0])
    return {"loss": J.item(), "grads": grads,
            "dh0": (h0t.grad.numpy().reshape(shape), c0t.grad.numpy().reshape(shape)),
            "h": out.detach().numpy(), "h_n": h_n.detach().numpy().reshape(shape),
            "c_n": c_n.detach().numpy().reshape(shape)}


def rel_err(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def make_lstm_problem(rng, T, B, D, H, O, L=1, *, output="softmax", tokens=False, mask=False,
                      h0=True):
    """x, y, (h0, c0) in the model's layout, mask."""
    x = rng.integers(0, D, size=(T, B)) if tokens else rng.normal(size=(T, B, D))
    y = rng.integers(0, O, size=(T, B)) if output == "softmax" else rng.normal(size=(T, B, O))
    shape = (B, H) if L == 1 else (L, B, H)
    state = (rng.normal(scale=0.5, size=shape), rng.normal(scale=0.5, size=shape)) if h0 else None
    m = (rng.uniform(size=(T, B)) < 0.7) * rng.uniform(0.5, 2, size=(T, B)) if mask else None
    return x, y, state, m


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


def test_forget_bias_zero_is_torch_init_and_default_adds_one():
    """forget_bias=0 draws every entry from U(±1/√H), as torch.nn.LSTM; forget_bias=1 adds 1 to b_f."""
    H = 50
    zero = LSTM(3, H, 40, num_layers=2, forget_bias=0.0, seed=0)
    one = LSTM(3, H, 40, num_layers=2, seed=0)
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
