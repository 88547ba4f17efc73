"""The GRU trace: sums, agreement with backward(), PyTorch's retained gradients, the flow by source
step against single-loss-term gradients, the Jacobian norms, and the size limit."""
import numpy as np
import pytest

from bptt.cells.gru.model import GRU
from bptt.cells.tracing import TraceTooLarge
from gru_problem import make_gru_problem, rel_err

torch = pytest.importorskip("torch")
from gru_reference import torch_gru_loop  # noqa: E402

ERRORS = {"after": {"h", "r_hat", "z_hat", "n_hat", "hn_hat"}, "before": {"h", "r_hat", "z_hat", "n_hat"}}


@pytest.mark.parametrize("reset", ["after", "before"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("tokens", [False, True])
def test_trace_sums_and_agrees_with_backward(tokens, num_layers, reset, rng):
    T, B, D, H, O = 6, 3, 4, 5, 3
    model = GRU(D, H, O, num_layers=num_layers, reset=reset, seed=5)
    x, y, h0, m = make_gru_problem(rng, T, B, D, H, O, num_layers, tokens=tokens, mask=True)
    tr = model.trace(x, y, h0=h0, mask=m)
    loss, grads = model.loss_and_grads(x, y, h0=h0, mask=m)
    res = model.backward(x, y, h0=h0, mask=m)
    assert abs(tr.loss - loss) < 1e-13
    assert list(tr.grads) == list(tr.per_step) == list(model.params)
    for k in model.params:
        assert tr.per_step[k].shape == (T,) + model.params[k].shape
        np.testing.assert_allclose(tr.per_step[k].sum(axis=0), grads[k], rtol=0, atol=1e-13)
        np.testing.assert_allclose(tr.grads[k], grads[k], rtol=0, atol=1e-13)
    np.testing.assert_allclose(tr.dh0, res.dh0, rtol=0, atol=1e-13)
    assert set(tr.errors) == ERRORS[reset] | {"o"} and tr.errors["o"].shape == (T, B, O)
    assert all(set(e) == ERRORS[reset] for e in tr.layer_errors)
    assert tr.layer_errors[-1]["h"] is tr.errors["h"]
    src = tr.errors_by_source
    assert set(src) == {"h"} and src["h"].shape == (T, T, B, H)
    np.testing.assert_allclose(src["h"].sum(axis=0), tr.errors["h"], rtol=0, atol=1e-14)
    assert np.all(src["h"][np.triu_indices(T, 1)] == 0)      # L(s) sends nothing to t > s
    for layer in range(num_layers):                          # every layer's flows sum too
        np.testing.assert_allclose(tr.by_source(layer)["h"].sum(axis=0),
                                   tr.layer_errors[layer]["h"], rtol=0, atol=1e-14)
    assert tr.flow.shape == (T, T)
    np.testing.assert_allclose(tr.flow[T - 1, 2], np.linalg.norm(src["h"][T - 1, 2]), rtol=1e-15)
    out = model.forward(x, h0)
    for k in ("h", "r", "z", "n"):
        np.testing.assert_allclose(tr.forward.layers[-1][k], out.layers[-1][k], rtol=0, atol=1e-15)
    np.testing.assert_allclose(tr.forward.h_last, out.h_last, rtol=0, atol=1e-15)


@pytest.mark.parametrize("reset", ["after", "before"])
def test_errors_equal_torch_retain_grad(reset, rng):
    """Every error of every layer equals the .grad PyTorch retains on that tensor: the total
    gradient of J with respect to it."""
    T, B, D, H, O, L = 5, 2, 3, 4, 3, 2
    model = GRU(D, H, O, num_layers=L, reset=reset, seed=6)
    x, y, h0, m = make_gru_problem(rng, T, B, D, H, O, L, mask=True)
    tr = model.trace(x, y, h0=h0, mask=m)
    ref = torch_gru_loop(model, x, y, h0, m)
    assert abs(tr.loss - ref["J"].item()) < 1e-13
    assert rel_err(tr.errors["o"], ref["o"].grad.numpy()) < 1e-12
    for layer in range(L):
        for k in ERRORS[reset]:
            want = np.stack([v.grad.numpy() for v in ref["layers"][layer][k]])
            assert rel_err(tr.layer_errors[layer][k], want) < 1e-12, (layer, k)
    for k in model.params:
        assert rel_err(tr.grads[k], ref["P"][k].grad.numpy()) < 1e-10, k


@pytest.mark.parametrize("reset", ["after", "before"])
@pytest.mark.parametrize("layer", [0, 1])
def test_by_source_equals_the_gradient_of_one_loss_term(layer, reset, rng):
    """by_source(layer)["h"][s] is ∂L(s)/∂h(t): the total error of a pass whose mask keeps only
    step s (computed by the ordinary backward pass, not by the by-source loop), and the same from
    torch autograd of L(s) alone."""
    T, B, D, H, O, L = 5, 2, 3, 4, 3, 2
    model = GRU(D, H, O, num_layers=L, reset=reset, seed=7)
    x, y, h0, m = make_gru_problem(rng, T, B, D, H, O, L, mask=True)
    src = model.trace(x, y, h0=h0, mask=m).by_source(layer)["h"]
    ref = torch_gru_loop(model, x, y, h0, None, backward=False)
    for s in range(T):
        only_s = np.zeros_like(m)
        only_s[s] = m[s]
        single = model.trace(x, y, h0=h0, mask=only_s).layer_errors[layer]["h"]
        np.testing.assert_allclose(src[s], single, rtol=0, atol=1e-15)
        term = (torch.tensor(m[s]) * ref["L"][s]).sum() / B
        dh = torch.autograd.grad(term, ref["layers"][layer]["h"], retain_graph=True)
        np.testing.assert_allclose(src[s], np.stack([g.numpy() for g in dh]), rtol=0, atol=1e-14)


@pytest.mark.parametrize("reset", ["after", "before"])
def test_jacobian_norms_equal_torch_jacobians(reset, rng):
    """‖∂h(s)/∂h(t)‖₂ of the top layer's own recurrence, its input held fixed."""
    T, B, D, H, O = 5, 2, 3, 4, 2
    model = GRU(D, H, O, num_layers=2, reset=reset, seed=8)
    x, y, h0, _ = make_gru_problem(rng, T, B, D, H, O, 2)
    tr = model.trace(x, y, h0=h0)
    jn = tr.jacobian_norms
    assert jn.shape == (T, T, B) and np.all(np.isnan(jn[np.triu_indices(T, 1)]))
    ref = torch_gru_loop(model, x, y, h0, None, backward=False)
    below = [v.detach() for v in ref["layers"][0]["h"]]      # the top layer's input x(t)
    P = {k[:-2]: ref["P"][k].detach() for k in model.params if k.endswith(".1")}

    def step(t, b, h):                                       # h(t) from h(t−1), sequence b, top layer
        xb = below[t][b]
        r = torch.sigmoid(P["U_r"] @ xb + P["W_r"] @ h + P["b_r"])
        z = torch.sigmoid(P["U_z"] @ xb + P["W_z"] @ h + P["b_z"])
        if reset == "after":
            n = torch.tanh(P["U_n"] @ xb + P["b_n"] + r * (P["W_n"] @ h + P["b_hn"]))
        else:
            n = torch.tanh(P["U_n"] @ xb + P["W_n"] @ (r * h) + P["b_n"])
        return (1 - z) * n + z * h

    top = [v.detach() for v in ref["layers"][1]["h"]]
    for t in range(T):
        for s in range(t, T):
            for b in range(B):
                def through(h, t=t, s=s, b=b):              # h(s) as a function of h(t)
                    for k in range(t + 1, s + 1):
                        h = step(k, b, h)
                    return h
                J = torch.autograd.functional.jacobian(through, top[t][b])
                assert abs(jn[s, t, b] - torch.linalg.matrix_norm(J, 2).item()) < 1e-12, (s, t, b)


def test_large_traces_are_refused_with_their_size(rng):
    model = GRU(3, 8, 2)
    x, y, _, _ = make_gru_problem(rng, 40, 4, 3, 8, 2, h0=False)
    tr = model.trace(x, y, max_bytes=10_000)
    assert tr.loss > 0                               # the cheap parts are still there
    with pytest.raises(TraceTooLarge, match=r"errors_by_source needs an array of shape \(40, 40, 4, 8\), "
                                            r"0.4 MiB, above the trace's limit of 0.0 MiB"):
        tr.errors_by_source
    with pytest.raises(TraceTooLarge, match=r"jacobian_norms needs an array of shape \(40, 4, 8, 8\)"):
        tr.jacobian_norms
    with pytest.raises(ValueError, match=r"'max_bytes' parameter of GRU.trace must be an int >= 1. Got 0"):
        model.trace(x, y, max_bytes=0)
    with pytest.raises(ValueError, match=r"'layer' argument of GRUTrace.by_source must be an int in "
                                         r"\[-1, 1\). Got 1"):
        tr.by_source(1)
    with pytest.raises(ValueError, match=r"'layer' argument of GRUTrace.by_source .* Got True"):
        tr.by_source(True)
