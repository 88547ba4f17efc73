"""Truncated BPTT(k1, k2) against PyTorch with .detach() at each window's start."""
import numpy as np
import pytest

import bptt
from bptt.cells.truncated import window_bounds
from conftest import make_problem

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402


def torch_tbptt(params, x, y, h0, mask, k1, k2, lr):
    """An independent TBPTT loop: windows end every k1 steps (and at T−1); each back-propagates
    the losses since the previous window through its last k2 steps, from a detached state."""
    P = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    T, B = y.shape
    xt = torch.tensor(x, dtype=torch.float64)
    ends = [t for t in range(T) if (t + 1) % k1 == 0 or t == T - 1]
    latest = {-1: torch.tensor(h0)}
    out, prev_end = [], -1
    for t_end in ends:
        t_start = max(0, t_end - k2 + 1)
        h = latest[t_start - 1].detach()
        J = 0
        for t in range(t_start, t_end + 1):
            h = torch.tanh(P["b"] + h @ P["W"].T + xt[t] @ P["U"].T)
            latest[t] = h.detach()
            if t > prev_end:
                o = P["c"] + h @ P["V"].T
                L = F.cross_entropy(o, torch.tensor(y[t]), reduction="none")
                J = J + (torch.tensor(mask[t]) * L).sum() / B
        J.backward()
        out.append((t_start, t_end, J.item(), {k: p.grad.numpy().copy() for k, p in P.items()},
                    h.detach().numpy().copy()))
        with torch.no_grad():
            for p in P.values():
                p -= lr * p.grad
                p.grad = None
        prev_end = t_end
    return out


@pytest.mark.parametrize("T, k1, k2", [
    (12, 1, 4),      # per-output truncation
    (12, 4, 4),      # chunked
    (12, 3, 7),      # overlapping windows
    (11, 4, 4),      # T not a multiple of k1
    (11, 3, 5),
    (10, 2, 20),     # k2 longer than the sequence
])
def test_windows_equal_torch_detach(T, k1, k2, rng):
    B, D, H, O, lr = 3, 4, 5, 3, 0.1
    model = bptt.SimpleRNN(D, H, O, seed=1)
    x, y, h0, m = make_problem(rng, T, B, D, H, O, mask=True)
    ref = torch_tbptt(model.params, x, y, h0, m, k1, k2, lr)
    opt = bptt.optim.SGD(lr=lr)
    windows = []
    for w in model.tbptt(x, y, k1, k2, h0=h0, mask=m):
        windows.append(w)
        opt.step(model.params, w.grads)          # takes effect for the next window's forward
    assert len(windows) == len(ref)
    for w, (t_start, t_end, loss, grads, h) in zip(windows, ref):
        assert (w.t_start, w.t_end) == (t_start, t_end)
        assert abs(w.loss - loss) <= 1e-12 * abs(loss)
        for k in grads:
            np.testing.assert_allclose(w.grads[k], grads[k], rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(w.h, h, rtol=0, atol=1e-13)


@pytest.mark.parametrize("path", ["fast", "reference"])
def test_tbptt_T_T_is_full_bptt(path, rng):
    T = 9
    model = bptt.SimpleRNN(4, 5, 3, seed=2, path=path)
    x, y, h0, m = make_problem(rng, T, 2, 4, 5, 3, mask=True, tokens=True)
    (w,) = list(model.tbptt(x, y, T, T, h0=h0, mask=m))
    res = model.backward(x, y, h0=h0, mask=m)
    assert w.loss == res.loss and (w.t_start, w.t_end) == (0, T - 1)
    for k in res.grads:
        assert np.array_equal(w.grads[k], res.grads[k])
    assert np.array_equal(w.h, res.h_last)


def test_chunked_losses_sum_to_the_full_loss(rng):
    """With k1 = k2 and no updates, the windows' losses sum to J: every loss term counted once."""
    model = bptt.SimpleRNN(4, 5, 3, seed=3)
    x, y, h0, m = make_problem(rng, 10, 2, 4, 5, 3, mask=True)
    total = sum(w.loss for w in model.tbptt(x, y, 3, 3, h0=h0, mask=m))
    assert abs(total - model.loss(x, y, h0=h0, mask=m)) < 1e-12


def test_window_bounds_by_hand():
    # (t_start, loss_start, t_end)
    # the short last window still back-propagates through its last k2 = 3 steps
    assert window_bounds(7, 3, 3) == [(0, 0, 2), (3, 3, 5), (4, 6, 6)]
    assert window_bounds(5, 1, 2) == [(0, 0, 0), (0, 1, 1), (1, 2, 2), (2, 3, 3), (3, 4, 4)]
    assert window_bounds(6, 2, 5) == [(0, 0, 1), (0, 2, 3), (1, 4, 5)]


def test_tbptt_errors(rng):
    model = bptt.SimpleRNN(4, 5, 3)
    x, y, _, _ = make_problem(rng, 6, 2, 4, 5, 3)
    with pytest.raises(ValueError, match=r"'k2' parameter of SimpleRNN.tbptt must be >= k1 = 3 .* Got 2"):
        model.tbptt(x, y, 3, 2)
    with pytest.raises(ValueError, match=r"'k1' parameter of SimpleRNN.tbptt must be an int >= 1. Got 0"):
        model.tbptt(x, y, 0, 2)
    with pytest.raises(ValueError, match=r"'y' argument of SimpleRNN must have shape \(6, 2\)"):
        model.tbptt(x, y[:3], 3, 3)        # refused at the call, before any window runs


def _delayed_echo(rng, T, B, V, delay):
    x = rng.integers(0, V, size=(T, B))
    y = np.zeros((T, B), dtype=np.intp)
    y[delay:] = x[:-delay]
    return x, y


def _train_echo(k1, k2, delay=4, V=4, seed=0):
    """Train on y(t) = x(t − delay) with TBPTT(k1, k2); the loss per predicted step after."""
    rng = np.random.default_rng(seed)
    model = bptt.SimpleRNN(V, 24, V, seed=seed)
    opt = bptt.optim.Adam(lr=1e-2)
    for _ in range(6):
        x, y = _delayed_echo(rng, 400, 16, V, delay)
        for w in model.tbptt(x, y, k1, k2):
            opt.step(model.params, w.grads)
    x, y = _delayed_echo(rng, 200, 64, V, delay)
    mask = np.ones(x.shape)
    mask[:delay] = 0
    return model.loss(x, y, mask=mask) / (200 - delay)


def test_truncation_decides_what_can_be_learned():
    """The classic truncation task: the target is the input from 4 steps back. Errors that travel
    only 3 steps back (k2 = 3) never reach the input that explains the target, and the loss stays
    at chance, ln 4; with k2 = 6 they do, and the task is solved."""
    chance = np.log(4)
    short = np.mean([_train_echo(3, 3, seed=s) for s in (0, 1)])
    long = np.mean([_train_echo(4, 6, seed=s) for s in (0, 1)])
    assert short > 0.85 * chance          # a plateau at chance (seen: 0.93-1.01 of it)
    assert long < 0.05 * chance           # solved (seen: < 0.001 of it)
