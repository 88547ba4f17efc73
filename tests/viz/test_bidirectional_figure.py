"""bidirectional_flow draws, for every loss term L(s), the error reaching h(t) (forward chain) and
g(t) (backward chain): checked against PyTorch autograd through a hand-written loop of both
directions (each L(s) back-propagated on its own, errors read from the states' .grad)."""
import numpy as np
import pytest

import bptt
from bptt.viz import bidirectional_flow, bidirectional_flows

torch = pytest.importorskip("torch")


def problem(T=7, B=2, seed=0):
    rng = np.random.default_rng(seed)
    m = bptt.SimpleRNN(3, 5, 4, bidirectional=True, seed=1)
    x, y = rng.normal(size=(T, B, 3)), rng.integers(0, 4, (T, B))
    return m, x, y


def torch_flows(m, x, y):
    """[s, t] = ‖∂L(s)/∂h(t)‖ and ‖∂L(s)/∂g(t)‖ by autograd, L(s) = Σ_b L(s, b) / B."""
    P = {k: torch.tensor(v, requires_grad=True) for k, v in m.params.items()}
    T, B, _ = x.shape
    H = m.hidden_size
    out = {"h": np.zeros((T, T)), "h@rev": np.zeros((T, T))}
    for s in range(T):
        xt = torch.tensor(x)
        hs, gs = [None] * T, [None] * T
        h = torch.zeros(B, H, dtype=torch.float64)
        for t in range(T):                                     # h(t) = tanh(b + W h(t−1) + U x(t))
            h = torch.tanh(P["b"] + h @ P["W"].T + xt[t] @ P["U"].T)
            h.retain_grad()
            hs[t] = h
        g = torch.zeros(B, H, dtype=torch.float64)
        for t in reversed(range(T)):                           # g(t) = tanh(b' + W' g(t+1) + U' x(t))
            g = torch.tanh(P["b@rev"] + g @ P["W@rev"].T + xt[t] @ P["U@rev"].T)
            g.retain_grad()
            gs[t] = g
        o = P["c"] + torch.cat([hs[s], gs[s]], dim=1) @ P["V"].T
        loss = torch.nn.functional.cross_entropy(o, torch.tensor(y[s]), reduction="sum") / B
        loss.backward()
        for t in range(T):
            for key, states in (("h", hs), ("h@rev", gs)):
                grad = states[t].grad
                out[key][s, t] = 0.0 if grad is None else float(grad.norm())
    return out


def test_drawn_flows_equal_autograd_and_reach_every_step():
    m, x, y = problem()
    tr = m.trace(x, y)
    want = torch_flows(m, x, y)
    got = bidirectional_flows(tr)
    for key in ("h", "h@rev"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-10, atol=1e-14)
    T = x.shape[0]
    assert not got["h"][np.triu_indices(T, 1)].any() and (got["h"][np.tril_indices(T)] > 0).all()
    assert not got["h@rev"][np.tril_indices(T, -1)].any() and (got["h@rev"][np.triu_indices(T)] > 0).all()
    assert ((got["h"] + got["h@rev"]) > 0).all()                 # every L(s) reaches every step

    fig = bidirectional_flow(tr, s=2)
    maps = [ax for ax in fig.axes if ax.images]
    assert len(maps) == 2 and maps[0].images[0].norm is maps[1].images[0].norm
    for ax, key in zip(maps, ("h", "h@rev")):
        drawn = ax.images[0].get_array()
        np.testing.assert_array_equal(drawn.filled(0.0), got[key])
        np.testing.assert_array_equal(np.ma.getmaskarray(drawn), got[key] == 0)     # zeros blank
    curves = [ax for ax in fig.axes if ax.lines][0].lines
    (tf, vf), (tb, vb) = (ln.get_data() for ln in curves[:2])
    assert list(tf) == [0, 1, 2] and list(tb) == list(range(2, T))  # t <= s, t >= s
    np.testing.assert_array_equal(vf, got["h"][2, :3])
    np.testing.assert_array_equal(vb, got["h@rev"][2, 2:])
    fig.canvas.draw()


@pytest.mark.parametrize("kind, paths", [("lstm", ("c", "h")), ("gru", ("h",))])
def test_other_cells_and_paths(kind, paths):
    rng = np.random.default_rng(2)
    m = bptt.cells.registry.MODEL_KINDS[kind](2, 3, 3, bidirectional=True, num_layers=2, seed=0)
    x, y = rng.normal(size=(5, 1, 2)), rng.integers(0, 3, (5, 1))
    tr = m.trace(x, y)
    for path in paths:
        flows = bidirectional_flows(tr, path=path)
        src = tr.errors_by_source
        np.testing.assert_array_equal(flows[path], np.sqrt((src[path] ** 2).sum(axis=(2, 3))))
        below = bidirectional_flows(tr, path=path, layer=0)           # both directions, every t
        assert (below[path] > 0).all() and (below[path + "@rev"] > 0).all()
        bidirectional_flow(tr, path=path, s=4).canvas.draw()


def test_refusals():
    m, x, y = problem(T=4)
    tr = m.trace(x, y)
    one = bptt.SimpleRNN(3, 5, 4).trace(x, y)
    with pytest.raises(TypeError, match="'trace' argument of bidirectional_flow must be a BidirectionalTrace.*Got Trace"):
        bidirectional_flow(one)
    with pytest.raises(ValueError, match=r"'path' parameter of bidirectional_flows must be one of 'a', 'h' .* Got 'c'"):
        bidirectional_flows(tr, path="c")
    with pytest.raises(ValueError, match=r"'s' parameter of bidirectional_flow must be an int in \[0, 3\].*Got 4"):
        bidirectional_flow(tr, s=4)
    with pytest.raises(TypeError, match="'s' parameter of bidirectional_flow must be an int.*Got float"):
        bidirectional_flow(tr, s=1.0)
    with pytest.raises(ValueError, match="'layer' argument of BidirectionalTrace.by_source"):
        bidirectional_flows(tr, layer=1)
