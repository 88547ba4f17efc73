"""LSTM truncated BPTT(k1, k2): TBPTT(T, T) is full BPTT; windows equal PyTorch with .detach()."""
import numpy as np
import pytest

import bptt
from bptt.cells.lstm.model import LSTM
from conftest import make_lstm_problem

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from lstm_reference import TORCH_ORDER, name  # noqa: E402


def torch_lstm_tbptt(params, x, y, state0, mask, k1, k2, lr, num_layers):
    """An independent TBPTT loop over stacked LSTM cells written with torch ops (gate order
    i, f, g, o on concatenated weights): windows end every k1 steps (and at T−1), each
    back-propagates the losses since the previous window through its last k2 steps from the
    detached state, and SGD updates the parameters between windows."""
    P = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    T, B = y.shape
    xt = torch.tensor(x, dtype=torch.float64)

    def step(inp, h, c, layer):
        W = torch.cat([P[name(f"W_{g}", layer)] for g in TORCH_ORDER])
        R = torch.cat([P[name(f"R_{g}", layer)] for g in TORCH_ORDER])
        b = torch.cat([P[name(f"b_{g}", layer)] for g in TORCH_ORDER])
        i, f, g, o = (inp @ W.T + h @ R.T + b).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c

    ends = [t for t in range(T) if (t + 1) % k1 == 0 or t == T - 1]
    latest = {-1: [(torch.tensor(state0[0][k]), torch.tensor(state0[1][k])) for k in range(num_layers)]}
    out, prev_end = [], -1
    for t_end in ends:
        t_start = max(0, t_end - k2 + 1)
        states = [(h.detach(), c.detach()) for h, c in latest[t_start - 1]]
        J = 0
        for t in range(t_start, t_end + 1):
            inp = xt[t]
            for k in range(num_layers):
                states[k] = step(inp, *states[k], k)
                inp = states[k][0]
            latest[t] = [(h.detach(), c.detach()) for h, c in states]
            if t > prev_end:
                o = P["c"] + inp @ P["V"].T
                L = F.cross_entropy(o, torch.tensor(y[t]), reduction="none")
                J = J + (torch.tensor(mask[t]) * L).sum() / B
        J.backward()
        out.append((t_start, t_end, J.item(), {k: p.grad.numpy().copy() for k, p in P.items()},
                     np.stack([h.detach().numpy() for h, _ in states]),
                     np.stack([c.detach().numpy() for _, c in states])))
        with torch.no_grad():
            for p in P.values():
                p -= lr * p.grad
                p.grad = None
        prev_end = t_end
    return out


@pytest.mark.parametrize("path", ["fast", "reference"])
def test_overlapping_windows_equal_torch_detach(path, rng):
    T, k1, k2, B, D, H, O, L, lr = 11, 3, 5, 3, 4, 5, 3, 2, 0.1
    model = LSTM(D, H, O, num_layers=L, seed=1, path=path)
    x, y, h0, m = make_lstm_problem(rng, T, B, D, H, O, L, mask=True)
    ref = torch_lstm_tbptt(model.params, x, y, h0, m, k1, k2, lr, L)
    opt = bptt.optim.SGD(lr=lr)
    windows = []
    for w in model.tbptt(x, y, k1, k2, h0=h0, mask=m):
        windows.append(w)
        opt.step(model.params, w.grads)          # takes effect for the next window's forward
    assert len(windows) == len(ref) == 4
    for w, (t_start, t_end, loss, grads, h, c) in zip(windows, ref):
        assert (w.t_start, w.t_end) == (t_start, t_end)
        assert abs(w.loss - loss) <= 1e-12 * abs(loss)
        for k in grads:
            np.testing.assert_allclose(w.grads[k], grads[k], rtol=1e-10, atol=1e-13, err_msg=k)
        np.testing.assert_allclose(w.h[0], h, rtol=0, atol=1e-13)        # the state is (h, c)
        np.testing.assert_allclose(w.h[1], c, rtol=0, atol=1e-13)
        assert w.dh_start[0].shape == w.dh_start[1].shape == (L, B, H)


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("path", ["fast", "reference"])
def test_tbptt_T_T_is_full_bptt(path, num_layers, rng):
    T = 9
    model = LSTM(4, 5, 3, num_layers=num_layers, peepholes=True, seed=2, path=path)
    x, y, h0, m = make_lstm_problem(rng, T, 2, 4, 5, 3, num_layers, mask=True, tokens=True)
    (w,) = list(model.tbptt(x, y, T, T, h0=h0, mask=m))
    res = model.backward(x, y, h0=h0, mask=m)
    assert w.loss == res.loss and (w.t_start, w.t_end) == (0, T - 1)
    for k in res.grads:
        assert np.array_equal(w.grads[k], res.grads[k])
    for a, b in zip(w.h, res.last_state):
        assert np.array_equal(a, b)
    for a, b in zip(w.dh_start, res.dh0):
        assert np.array_equal(a, b)


def test_chunked_losses_sum_to_the_full_loss(rng):
    """With k1 = k2 and no updates, the windows' losses sum to J and the carried state is exact."""
    model = LSTM(4, 5, 3, num_layers=2, seed=3)
    x, y, h0, m = make_lstm_problem(rng, 10, 2, 4, 5, 3, 2, mask=True)
    windows = list(model.tbptt(x, y, 3, 3, h0=h0, mask=m))
    assert abs(sum(w.loss for w in windows) - model.loss(x, y, h0=h0, mask=m)) < 1e-12
    last = model.forward(x, h0).last_state
    for a, b in zip(windows[-1].h, last):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)


def test_tbptt_errors(rng):
    model = LSTM(4, 5, 3)
    x, y, _, _ = make_lstm_problem(rng, 6, 2, 4, 5, 3)
    with pytest.raises(ValueError, match=r"'k2' parameter of LSTM.tbptt must be >= k1 = 3 .* Got 2"):
        model.tbptt(x, y, 3, 2)
    with pytest.raises(TypeError, match=r"'h0' argument of LSTM must be a pair \(h, c\)"):
        model.tbptt(x, y, 3, 3, h0=np.zeros((2, 5)))     # refused at the call, before any window
