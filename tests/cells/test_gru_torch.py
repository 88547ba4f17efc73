"""GRU against PyTorch in float64, 1e-10 relative: torch.nn.GRU + nn.Linear with the weights
copied by hand for reset="after" (PyTorch's form), and the equations written with torch ops and
differentiated by autograd for reset="before" (which nn.GRU cannot express)."""
import numpy as np
import pytest

import bptt
from bptt.cells.gru.model import GRU
from gru_problem import make_gru_problem, rel_err

torch = pytest.importorskip("torch")
from gru_reference import gru_reference, torch_gru, torch_gru_loop  # noqa: E402

TOL = 1e-10


def assert_matches(res, ref, model, h0):
    assert abs(res.loss - ref["loss"]) <= TOL * abs(ref["loss"])
    assert list(res.grads) == list(model.params) and set(ref["grads"]) == set(model.params)
    for k in model.params:
        assert res.grads[k].shape == model.params[k].shape, k
        assert rel_err(res.grads[k], ref["grads"][k]) < TOL, k
    assert res.dh0.shape == ref["dh0"].shape == np.shape(h0)
    assert rel_err(res.dh0, ref["dh0"]) < TOL


@pytest.mark.parametrize("path", ["fast", "reference"])
@pytest.mark.parametrize("tokens", [False, True])
@pytest.mark.parametrize("mask", [False, True])
@pytest.mark.parametrize("output", ["softmax", "identity"])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_loss_grads_dh0_equal_torch_gru(num_layers, output, mask, tokens, path, rng):
    T, B, D, H, O = 7, 3, 5, 6, 4
    model = GRU(D, H, O, num_layers=num_layers, output=output, seed=3, path=path)
    x, y, h0, m = make_gru_problem(rng, T, B, D, H, O, num_layers, output=output, tokens=tokens,
                                   mask=mask)
    res = model.backward(x, y, h0=h0, mask=m)
    ref = gru_reference(model, x, y, h0, m)
    assert_matches(res, ref, model, h0)
    np.testing.assert_allclose(res.h, ref["h"], rtol=0, atol=1e-13)
    np.testing.assert_allclose(res.h_last, ref["h_n"], rtol=0, atol=1e-13)
    if tokens:
        assert res.dx is None
    else:
        assert rel_err(res.dx, ref["dx"]) < TOL              # ∂J/∂x against x.requires_grad_()
    loss, grads = model.loss_and_grads(x, y, h0=h0, mask=m)
    assert loss == res.loss and all(np.array_equal(grads[k], res.grads[k]) for k in grads)


@pytest.mark.parametrize("path", ["fast", "reference"])
@pytest.mark.parametrize("tokens", [False, True])
@pytest.mark.parametrize("output", ["softmax", "identity"])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_reset_before_equals_torch_autograd(num_layers, output, tokens, path, rng):
    """reset="before", n = tanh(U_n x + W_n (r ⊙ h(t−1)) + b_n): autograd of the equations."""
    T, B, D, H, O = 6, 3, 5, 4, 3
    model = GRU(D, H, O, num_layers=num_layers, reset="before", output=output, seed=4, path=path)
    x, y, h0, m = make_gru_problem(rng, T, B, D, H, O, num_layers, output=output, tokens=tokens,
                                   mask=True)
    res = model.backward(x, y, h0=h0, mask=m)
    ref = torch_gru_loop(model, x, y, h0, m)
    assert abs(res.loss - ref["J"].item()) <= TOL * ref["J"].item()
    assert "b_hn" not in model.params and list(res.grads) == list(model.params)
    for k in model.params:
        assert rel_err(res.grads[k], ref["P"][k].grad.numpy()) < TOL, k
    assert rel_err(res.dh0, ref["h0"].grad.numpy().reshape(np.shape(h0))) < TOL
    if not tokens:
        assert rel_err(res.dx, ref["x"].grad.numpy()) < TOL
    np.testing.assert_allclose(res.h, torch.stack(ref["layers"][-1]["h"]).detach().numpy(),
                               rtol=0, atol=1e-13)


@pytest.mark.parametrize("reset", ["after", "before"])
@pytest.mark.parametrize("path", ["fast", "reference"])
def test_forward_equals_torch_with_zero_initial_state(path, reset, rng):
    """forward(): h, h_last, o, y_hat and the gate values r, z, n of every layer."""
    T, B, D, H, O, L = 6, 2, 4, 5, 3, 2
    model = GRU(D, H, O, num_layers=L, reset=reset, seed=5, path=path)
    x, y, _, _ = make_gru_problem(rng, T, B, D, H, O, L, h0=False)
    out = model.forward(x)
    ref = torch_gru_loop(model, x, y, None, None, backward=False)
    np.testing.assert_allclose(out.o, ref["o"].detach().numpy(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(out.y_hat, torch.softmax(ref["o"], -1).detach().numpy(), atol=1e-15)
    for layer in range(L):
        rec = {k: torch.stack(v).detach() for k, v in ref["layers"][layer].items()}
        np.testing.assert_allclose(out.layers[layer]["h"], rec["h"].numpy(), rtol=0, atol=1e-13)
        np.testing.assert_allclose(out.layers[layer]["r"], torch.sigmoid(rec["r_hat"]).numpy(),
                                   rtol=0, atol=1e-13)
        np.testing.assert_allclose(out.layers[layer]["z"], torch.sigmoid(rec["z_hat"]).numpy(),
                                   rtol=0, atol=1e-13)
        np.testing.assert_allclose(out.layers[layer]["n"], torch.tanh(rec["n_hat"]).numpy(),
                                   rtol=0, atol=1e-13)
        np.testing.assert_allclose(out.h_last[layer], rec["h"][-1].numpy(), rtol=0, atol=1e-13)
    assert out.h is out.layers[-1]["h"] and out.last_state is out.h_last
    assert set(out.gates) == {"r", "z", "n"} and out.gates["z"] is out.layers[-1]["z"]
    if reset == "after":
        gru, lin = torch_gru(model.params, D, H, O, L)
        hs, h_n = gru(torch.tensor(x))
        np.testing.assert_allclose(out.o, lin(hs).detach().numpy(), rtol=0, atol=1e-13)
        np.testing.assert_allclose(out.h_last, h_n.detach().numpy(), rtol=0, atol=1e-13)


def test_many_to_one_mask_equals_last_step_loss(rng):
    T, B, D, H, O = 6, 2, 3, 4, 3
    model = GRU(D, H, O, seed=0)
    x, y, h0, _ = make_gru_problem(rng, T, B, D, H, O)
    mask = np.zeros((T, B))
    mask[-1] = 1
    res = model.backward(x, y, h0=h0, mask=mask)
    ref = gru_reference(model, x, y, h0, mask)
    assert abs(res.loss - ref["loss"]) < 1e-13
    for k in model.params:
        assert rel_err(res.grads[k], ref["grads"][k]) < TOL, k


def test_init_is_torch_distribution():
    """Every entry uniform in ±1/√H, as torch.nn.GRU and nn.Linear draw them."""
    H = 50
    model = GRU(3, H, 40, num_layers=2, seed=0)
    bound = 1 / np.sqrt(H)
    for k, p in model.params.items():
        assert np.abs(p).max() <= bound and np.abs(p).max() > 0.8 * bound, k
    assert all(np.array_equal(p, GRU(3, H, 40, num_layers=2, seed=0).params[k])
               for k, p in model.params.items())


def test_gru_is_exported_and_registered():
    assert bptt.GRU is GRU and "GRU" in bptt.__all__
    assert bptt.cells.MODEL_KINDS["gru"] is GRU and bptt.cells.GRUTrace is GRU.trace_class
    assert GRU.trace_class in bptt.cells.TRACE_CLASSES
    model = bptt.cells.build_model("gru", GRU(4, 5, 3, num_layers=2, reset="before").config(), seed=1)
    assert isinstance(model, GRU) and model.reset == "before" and model.kind == "gru"


@pytest.mark.parametrize("reset", ["after", "before"])
@pytest.mark.parametrize("k1, k2", [(2, 2), (2, 3), (3, 5)])
def test_tbptt_windows_equal_torch_from_detached_states(k1, k2, reset, rng):
    """Each TBPTT(k1, k2) window (parameters unchanged between windows) is torch's gradient of
    that window's losses, back-propagated from the state h(t_start − 1) of a full forward,
    detached."""
    T, B, D, H, O, L = 7, 2, 3, 4, 3, 2
    model = GRU(D, H, O, num_layers=L, reset=reset, seed=9)
    x, y, h0, m = make_gru_problem(rng, T, B, D, H, O, L, mask=True)
    full = torch_gru_loop(model, x, y, h0, m, backward=False)
    states = {-1: h0}
    states.update({t: np.stack([full["layers"][k]["h"][t].detach().numpy() for k in range(L)])
                   for t in range(T)})
    windows = list(model.tbptt(x, y, k1, k2, h0=h0, mask=m))
    assert windows[-1].t_end == T - 1
    for w in windows:
        sl = slice(w.t_start, w.t_end + 1)
        mw = m[sl].copy()
        mw[: w.loss_start - w.t_start] = 0                    # the overlap steps carry no loss
        ref = torch_gru_loop(model, x[sl], y[sl], states[w.t_start - 1], mw)
        assert abs(w.loss - ref["J"].item()) <= TOL * ref["J"].item()
        for k in model.params:
            assert rel_err(w.grads[k], ref["P"][k].grad.numpy()) < TOL, (w.t_end, k)
        assert rel_err(w.dh_start, ref["h0"].grad.numpy()) < TOL
        np.testing.assert_allclose(w.h, states[w.t_end], rtol=0, atol=1e-13)
