"""The LSTM trace: sums, agreement with backward(), and PyTorch's retained gradients."""
import numpy as np
import pytest

from bptt.cells.lstm.model import LSTM
from bptt.cells.rnn.trace import TraceTooLarge
from conftest import make_lstm_problem

torch = pytest.importorskip("torch")
from lstm_reference import name, rel_err, t64, torch_loss  # noqa: E402


def torch_lstm_loop(model, x, y, h0, mask, *, backward=True):
    """The LSTM equations in Greff's notation written with torch ops, every intermediate
    retained: returns J, the per-term losses L (T, B) and, per layer, the lists of y(t), c(t) and
    the pre-activations ẑ, î, f̂, ô. After J.backward() each retained .grad is the total
    gradient of J with respect to that tensor."""
    P = {k: t64(p).requires_grad_() for k, p in model.params.items()}
    Ln, H = model.num_layers, model.hidden_size
    xt = torch.tensor(x)
    if xt.dtype == torch.int64:
        xt = torch.nn.functional.one_hot(xt, model.input_size).to(torch.float64)
    T, B = xt.shape[:2]
    hs = t64(h0[0]).reshape(Ln, B, H)
    cs = t64(h0[1]).reshape(Ln, B, H)
    keep = []
    inp = list(xt)
    for k in range(Ln):
        p = {n: P[name(n, k)] for n in ("W_z", "W_i", "W_f", "W_o", "R_z", "R_i", "R_f", "R_o",
                                        "b_z", "b_i", "b_f", "b_o", "p_i", "p_f", "p_o")
             if name(n, k) in P}
        peep = "p_i" in p
        y_prev, c_prev = hs[k], cs[k]
        rec = {n: [] for n in ("y", "c", "z_hat", "i_hat", "f_hat", "o_hat")}
        for t in range(T):
            pre = {g: inp[t] @ p[f"W_{g}"].T + y_prev @ p[f"R_{g}"].T + p[f"b_{g}"] for g in "zifo"}
            if peep:
                pre["i"] = pre["i"] + p["p_i"] * c_prev
                pre["f"] = pre["f"] + p["p_f"] * c_prev
            c = torch.tanh(pre["z"]) * torch.sigmoid(pre["i"]) + c_prev * torch.sigmoid(pre["f"])
            if peep:
                pre["o"] = pre["o"] + p["p_o"] * c
            y_t = torch.tanh(c) * torch.sigmoid(pre["o"])
            for n, val in (("y", y_t), ("c", c), ("z_hat", pre["z"]), ("i_hat", pre["i"]),
                           ("f_hat", pre["f"]), ("o_hat", pre["o"])):
                val.retain_grad()
                rec[n].append(val)
            y_prev, c_prev = y_t, c
        keep.append(rec)
        inp = rec["y"]
    o = torch.stack(inp) @ P["V"].T + P["c"]
    o.retain_grad()
    J, L = torch_loss(o, y, mask, model.output)
    if backward:
        J.backward()
    return J, L, keep, o


@pytest.mark.parametrize("peepholes", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("tokens", [False, True])
def test_trace_sums_and_agrees_with_backward(tokens, num_layers, peepholes, rng):
    T, B, D, H, O = 6, 3, 4, 5, 3
    model = LSTM(D, H, O, num_layers=num_layers, peepholes=peepholes, seed=5)
    x, y, h0, m = make_lstm_problem(rng, T, B, D, H, O, num_layers, tokens=tokens, mask=True)
    tr = model.trace(x, y, h0=h0, mask=m)
    res = model.backward(x, y, h0=h0, mask=m)
    assert abs(tr.loss - res.loss) < 1e-13
    for k in model.params:
        assert tr.per_step[k].shape == (T,) + model.params[k].shape
        np.testing.assert_allclose(tr.per_step[k].sum(axis=0), res.grads[k], rtol=0, atol=1e-13)
        np.testing.assert_allclose(tr.grads[k], res.grads[k], rtol=0, atol=1e-13)
    for a, b in zip(tr.dh0, res.dh0):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)
    for path in ("c", "h"):
        src = tr.errors_by_source[path]
        assert src.shape == (T, T, B, H)
        np.testing.assert_allclose(src.sum(axis=0), tr.errors[path], rtol=0, atol=1e-14)
        assert np.all(src[np.triu_indices(T, 1)] == 0)       # L(s) sends nothing to t > s
    for layer in range(num_layers):                          # every layer's flows sum too
        for path in ("c", "h"):
            np.testing.assert_allclose(tr.by_source(layer)[path].sum(axis=0),
                                       tr.layer_errors[layer][path], rtol=0, atol=1e-14)
    assert tr.layer_errors[-1]["c"] is tr.errors["c"] and tr.errors["o"].shape == (T, B, O)
    assert tr.flow.shape == tr.flow_h.shape == (T, T)
    np.testing.assert_allclose(tr.flow[T - 1, T - 1],
                               np.linalg.norm(tr.errors_by_source["c"][T - 1, T - 1]), rtol=1e-15)
    np.testing.assert_allclose(tr.forward.h, model.forward(x, h0).h, rtol=0, atol=1e-15)


@pytest.mark.parametrize("peepholes", [False, True])
def test_errors_equal_torch_retain_grad(peepholes, rng):
    """Every error of every layer equals the .grad PyTorch retains on that tensor: the total
    gradient of J with respect to it (for c(t): through y(t), the output gate's peephole and
    step t+1)."""
    T, B, D, H, O, L = 5, 2, 3, 4, 3, 2
    model = LSTM(D, H, O, num_layers=L, peepholes=peepholes, seed=6)
    x, y, h0, m = make_lstm_problem(rng, T, B, D, H, O, L, mask=True)
    tr = model.trace(x, y, h0=h0, mask=m)
    J, _, keep, o = torch_lstm_loop(model, x, y, h0, m)
    assert abs(tr.loss - J.item()) < 1e-13
    assert rel_err(tr.errors["o"], o.grad.numpy()) < 1e-12
    for layer in range(L):
        for mine, theirs in (("h", "y"), ("c", "c"), ("z_hat", "z_hat"), ("i_hat", "i_hat"),
                             ("f_hat", "f_hat"), ("o_hat", "o_hat")):
            ref = np.stack([v.grad.numpy() for v in keep[layer][theirs]])
            assert rel_err(tr.layer_errors[layer][mine], ref) < 1e-12, (layer, mine)
        for g, pre in (("z", "z_hat"), ("i", "i_hat"), ("f", "f_hat"), ("o", "o_hat")):
            act = torch.tanh if g == "z" else torch.sigmoid
            ref = np.stack([act(v).detach().numpy() for v in keep[layer][pre]])
            np.testing.assert_allclose(tr.forward.layers[layer][g], ref, rtol=0, atol=1e-14)


@pytest.mark.parametrize("layer", [0, 1])
def test_errors_by_source_equal_torch_single_loss_terms(layer, rng):
    """by_source(layer)[path][s] is the gradient of L(s) alone."""
    T, B, D, H, O, L = 5, 2, 3, 4, 3, 2
    model = LSTM(D, H, O, num_layers=L, peepholes=True, seed=7)
    x, y, h0, m = make_lstm_problem(rng, T, B, D, H, O, L, mask=True)
    src = model.trace(x, y, h0=h0, mask=m).by_source(layer)
    for s in range(T):
        _, Ls, keep, _ = torch_lstm_loop(model, x, y, h0, None, backward=False)
        term = (torch.tensor(m[s]) * Ls[s]).sum() / B
        dc = torch.autograd.grad(term, keep[layer]["c"], retain_graph=True)
        dy = torch.autograd.grad(term, keep[layer]["y"])
        np.testing.assert_allclose(src["c"][s], np.stack([g.numpy() for g in dc]), rtol=0, atol=1e-14)
        np.testing.assert_allclose(src["h"][s], np.stack([g.numpy() for g in dy]), rtol=0, atol=1e-14)


def test_open_forget_gates_carry_errors_along_the_cell_path(rng):
    """With f ≈ 1, i ≈ 0 and o ≈ 0 the cell path is a constant error carousel: ∂L(s)/∂c(t) keeps
    its size back to t = 0, while the hidden path ∂L(s)/∂y(t) for t < s is nearly zero."""
    T, H = 12, 3
    model = LSTM(2, H, 2, output="identity", seed=0)
    for k in model.params:
        if k[0] in "WR":
            model.params[k][...] = 0
    model.params["b_f"][...], model.params["b_i"][...], model.params["b_o"][...] = 30, -30, -30
    x, y, _, _ = make_lstm_problem(rng, T, 1, 2, H, 2, output="identity", h0=False)
    h0 = (np.zeros((1, H)), np.ones((1, H)))
    tr = model.trace(x, y, h0=h0)
    s = T - 1
    np.testing.assert_allclose(tr.flow[s, :s + 1], tr.flow[s, s], rtol=1e-10)
    assert tr.flow[s, s] > 1e-14 and np.all(tr.flow_h[s, :s] < 1e-10 * tr.flow_h[s, s])


def test_large_traces_are_refused_with_their_size(rng):
    model = LSTM(3, 8, 2)
    x, y, _, _ = make_lstm_problem(rng, 40, 4, 3, 8, 2, h0=False)
    tr = model.trace(x, y, max_bytes=10_000)
    assert tr.loss > 0                               # the cheap parts are still there
    with pytest.raises(TraceTooLarge, match=r"errors_by_source needs an array of shape \(2, 40, 40, 4, 8\), "
                                            r"0.8 MiB, above the trace's limit of 0.0 MiB"):
        tr.errors_by_source
    with pytest.raises(ValueError, match=r"'max_bytes' parameter of LSTM.trace must be an int >= 1. Got 0"):
        model.trace(x, y, max_bytes=0)
    with pytest.raises(ValueError, match=r"'layer' argument of LSTMTrace.by_source must be an int in "
                                         r"\[-1, 1\). Got 1"):
        tr.by_source(1)


def test_lstm_trace_shows_the_explorer_in_jupyter():
    import bptt
    rng = np.random.default_rng(0)
    model = bptt.LSTM(3, 2, 3, seed=0)
    tr = model.trace(rng.integers(0, 3, size=(3, 1)), rng.integers(0, 3, size=(3, 1)))
    assert tr._repr_html_().startswith("<iframe")
    deep = bptt.LSTM(3, 2, 3, num_layers=2, seed=0).trace(rng.integers(0, 3, size=(3, 1)),
                                                         rng.integers(0, 3, size=(3, 1)))
    assert deep._repr_html_() is None
