"""The trace: sums, agreement with loss_and_grads, and PyTorch's retained gradients."""
import numpy as np
import pytest

import bptt
from bptt.cells.rnn.trace import TraceTooLarge
from conftest import ACTIVATIONS, make_problem

torch = pytest.importorskip("torch")
from torch_reference import rel_err, rnn_reference  # noqa: E402


@pytest.mark.parametrize("tokens", [False, True])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_trace_sums_and_agrees(activation, tokens, rng):
    T, B, D, H, O = 6, 3, 4, 5, 3
    model = bptt.SimpleRNN(D, H, O, activation=activation, seed=5)
    x, y, h0, m = make_problem(rng, T, B, D, H, O, tokens=tokens, mask=True)
    tr = model.trace(x, y, h0=h0, mask=m)
    loss, grads = model.loss_and_grads(x, y, h0=h0, mask=m)
    assert abs(tr.loss - loss) < 1e-13
    for k in grads:
        assert tr.per_step[k].shape == (T,) + model.params[k].shape
        np.testing.assert_allclose(tr.per_step[k].sum(axis=0), grads[k], rtol=0, atol=1e-13)
        np.testing.assert_allclose(tr.grads[k], grads[k], rtol=0, atol=1e-13)
    src = tr.errors_by_source["a"]
    assert src.shape == (T, T, B, H)
    np.testing.assert_allclose(src.sum(axis=0), tr.errors["a"], rtol=0, atol=1e-14)
    np.testing.assert_allclose(tr.errors_by_source["h"].sum(axis=0), tr.errors["h"], rtol=0, atol=1e-14)
    assert np.all(src[np.triu_indices(T, 1)] == 0)          # L(s) sends nothing to t > s
    assert tr.flow.shape == (T, T)


def test_errors_equal_torch_retain_grad(rng):
    T, B, D, H, O = 5, 2, 3, 4, 3
    model = bptt.SimpleRNN(D, H, O, activation="sigmoid", seed=6)
    x, y, h0, m = make_problem(rng, T, B, D, H, O, mask=True)
    tr = model.trace(x, y, h0=h0, mask=m)
    ref = rnn_reference(model.params, x, y, h0, m, activation="sigmoid", keep=True)
    assert rel_err(tr.errors["o"], ref["o"].grad.numpy()) < 1e-12
    assert rel_err(tr.errors["a"], np.stack([a.grad.numpy() for a in ref["a"]])) < 1e-12
    # torch's h(t).grad holds only what reaches h(t) directly: the total ∂J/∂h(t)
    assert rel_err(tr.errors["h"], np.stack([h.grad.numpy() for h in ref["h"]])) < 1e-12
    assert rel_err(tr.dh0, ref["dh0"]) < 1e-12


def test_errors_by_source_equal_torch_single_loss_terms(rng):
    """errors_by_source[s] is the gradient of L(s) alone."""
    T, B, D, H, O = 5, 2, 3, 4, 3
    model = bptt.SimpleRNN(D, H, O, seed=7)
    x, y, h0, m = make_problem(rng, T, B, D, H, O, mask=True)
    tr = model.trace(x, y, h0=h0, mask=m)
    for s in range(T):
        ref = rnn_reference(model.params, x, y, h0, None, keep=True, backward=False)
        Ls = (torch.tensor(m[s]) * ref["L"][s]).sum() / B
        grads = torch.autograd.grad(Ls, ref["a"])
        np.testing.assert_allclose(tr.errors_by_source["a"][s], np.stack([g.numpy() for g in grads]),
                                   rtol=0, atol=1e-14)


@pytest.mark.parametrize("r", [0.8, 1.2])
def test_flow_decays_or_grows_like_r_power(r, rng):
    """Identity g and W = r·Q (Q orthogonal): ‖∂L(s)/∂a(t)‖ = r^(s−t) ‖∂L(s)/∂a(s)‖ exactly."""
    T, H = 12, 6
    model = bptt.SimpleRNN(3, H, 2, activation="identity", output="identity", seed=0)
    Q, _ = np.linalg.qr(rng.normal(size=(H, H)))
    model.params["W"] = r * Q
    x, y, _, _ = make_problem(rng, T, 1, 3, H, 2, output="identity")
    tr = model.trace(x, y)
    s = T - 1
    dist = np.arange(s + 1)[::-1]                     # s − t for t = 0..s
    np.testing.assert_allclose(tr.flow[s, : s + 1], tr.flow[s, s] * r ** dist, rtol=1e-10)
    assert abs(tr.spectral_radius - r) < 1e-10 and abs(tr.w_norm - r) < 1e-10
    np.testing.assert_allclose(tr.jacobian_norms[s, :, 0], r ** dist, rtol=1e-10)


def test_jacobian_norms_match_explicit_products(rng):
    model = bptt.SimpleRNN(3, 4, 2, seed=1)
    x, y, _, _ = make_problem(rng, 5, 1, 3, 4, 2)
    tr = model.trace(x, y)
    d = 1 - tr.forward.h[:, 0] ** 2                  # tanh'
    W = model.params["W"]
    J = np.diag(d[4]) @ W @ np.diag(d[3]) @ W @ np.diag(d[2]) @ W     # ∂h(4)/∂h(1)
    assert abs(tr.jacobian_norms[4, 1, 0] - np.linalg.norm(J, 2)) < 1e-12
    assert np.isnan(tr.jacobian_norms[1, 4, 0])


def test_large_traces_are_refused_with_their_size(rng):
    model = bptt.SimpleRNN(3, 8, 2)
    x, y, _, _ = make_problem(rng, 40, 4, 3, 8, 2)
    tr = model.trace(x, y, max_bytes=10_000)
    assert tr.loss > 0                               # the cheap parts are still there
    with pytest.raises(TraceTooLarge, match=r"errors_by_source needs an array of shape \(2, 40, 40, 4, 8\), "
                                            r"0.8 MiB, above the trace's limit of 0.0 MiB"):
        tr.errors_by_source
    assert model.trace(x, y, max_bytes=2 * 2**20).errors_by_source["a"].shape == (40, 40, 4, 8)
    with pytest.raises(ValueError, match=r"'max_bytes' parameter of SimpleRNN.trace must be an int >= 1"):
        model.trace(x, y, max_bytes=0)
