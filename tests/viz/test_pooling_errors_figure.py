"""bptt.viz.pooling_errors: where a many-to-one loss puts its error (the bars: 1 at the last real
step for "last", 1/n at each real step for "mean", by the equations) and ‖∂J/∂h(t)‖ after BPTT
(the lines: against PyTorch autograd through a GRUCell loop, which sees the total derivative of
each h(t)); the refusals."""
import numpy as np
import pytest

import bptt
from bptt import viz
from bptt.data.synthetic import parity

torch = pytest.importorskip("torch")
pytest.importorskip("matplotlib")


def torch_dh(model, x, y, lengths, pooling):
    """∂J/∂h(t) (T, B, H) of the pooled loss, by autograd: h(t) = GRUCell(x(t), h(t−1))."""
    rnn, linear = bptt.to_torch(model)
    cell = torch.nn.GRUCell(model.input_size, model.hidden_size, dtype=torch.float64)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(rnn, name + "_l0"))
    T, B = x.shape
    xs = torch.nn.functional.one_hot(torch.from_numpy(x), model.input_size).double()
    h, hs = torch.zeros(B, model.hidden_size, dtype=torch.float64), []
    for t in range(T):
        h = cell(xs[t], h)
        h.retain_grad()
        hs.append(h)
    logits = linear(torch.stack(hs))                                            # (T, B, O)
    n = torch.from_numpy(lengths)
    if pooling == "last":
        pooled = logits[n - 1, torch.arange(B)]
    else:
        m = (torch.arange(T)[:, None] < n[None, :]).double()
        pooled = (logits * m[:, :, None]).sum(0) / n[:, None].double()
    torch.nn.functional.cross_entropy(pooled, torch.from_numpy(y)).backward()
    return np.stack([h.grad.numpy() for h in hs])


@pytest.fixture(scope="module")
def traces():
    task = parity(3, 5, min_len=9, max_len=12)
    model = bptt.GRU(2, 6, 2, seed=1)
    last, mean = (model.trace(task.x, task.y, lengths=task.lengths, pooling=p) for p in ("last", "mean"))
    return model, task, last, mean


@pytest.mark.parametrize("b", [0, 1, 2])
def test_the_bars_and_lines_are_the_errors(traces, b):
    model, task, last, mean = traces
    n = int(task.lengths[b])
    fig = viz.pooling_errors(last, mean, b=b)
    ax1, ax2 = fig.axes[:2]
    bars = [p.get_height() for p in ax1.patches if p.get_width() < 1]          # the bars, not the span
    T = task.x.shape[0]
    want_last = np.zeros(T)
    want_last[n - 1] = 1.0                                                      # the mask [t = n − 1]
    want_mean = np.where(np.arange(T) < n, 1.0 / n, 0.0)                        # 1/n at t < n
    np.testing.assert_allclose(bars, np.concatenate([want_last, want_mean]), atol=1e-12)
    lines = ax2.get_lines()
    for line, pooling in zip(lines, ("last", "mean")):
        dh = np.linalg.norm(torch_dh(model, task.x, task.y, task.lengths, pooling)[:, b], axis=-1)
        tr = last if pooling == "last" else mean
        total = np.linalg.norm(tr.errors["o"][:, b], axis=-1).sum()
        t, values = line.get_data()
        np.testing.assert_array_equal(t, np.arange(n))                          # no error on the padding
        np.testing.assert_allclose(values, dh[:n] / total, rtol=1e-10)
        assert not dh[n:].any()
    assert lines[0].get_ydata()[-1] > lines[0].get_ydata()[0]                 # "last": decays backwards


def test_refusals(traces):
    model, task, last, mean = traces
    with pytest.raises(TypeError, match=r"'last_trace' argument of pooling_errors must be the trace "
                                        r"of a recurrent model .* Got str instead"):
        viz.pooling_errors("trace", mean)
    with pytest.raises(ValueError, match=r"'last_trace' argument of pooling_errors must be a trace "
                                         r"made with pooling='last'. Got a trace with pooling='mean'"):
        viz.pooling_errors(mean, last)
    per_step = model.trace(task.x, np.zeros_like(task.x))
    with pytest.raises(ValueError, match=r"'mean_trace' argument .* pooling='mean'. Got a trace "
                                         r"with a loss at several steps \(no pooling\)"):
        viz.pooling_errors(last, per_step)
    with pytest.raises(ValueError, match=r"'b' parameter of pooling_errors must be a sequence of "
                                         r"the batch, an int in \[0, 2\]. Got 3"):
        viz.pooling_errors(last, mean, b=3)
    other = model.trace(task.x[:, ::-1], task.y[::-1], lengths=task.lengths[::-1], pooling="mean")
    assert task.lengths[0] != task.lengths[2]
    with pytest.raises(ValueError, match=r"compares two traces of the same sequence: got lengths"):
        viz.pooling_errors(last, other, b=0)
    flat = bptt.GRU(2, 6, 2, seed=1)
    flat.params["V"][:] = 0.0
    flat.params["c"][:] = [1e4, -1e4]                                           # ŷ = (1, 0) exactly
    sure = flat.trace(task.x, np.zeros(3, dtype=int), lengths=task.lengths, pooling="last")
    with pytest.raises(ValueError, match=r"'last_trace' argument of pooling_errors puts no error on "
                                         r"sequence 0's outputs"):
        viz.pooling_errors(sure, mean)
