"""Error flow of LSTM traces and of stacked SimpleRNNs, and flow_comparison: each figure draws the
trace's own numbers (checked on the artists' data), says which error it shows, and refuses what
it cannot draw with a message that says why."""
import warnings

import numpy as np
import pytest

import bptt
from conftest import make_problem

pytest.importorskip("matplotlib")
from bptt import viz  # noqa: E402
from bptt.viz.lstm_flow import unit_errors  # noqa: E402


@pytest.fixture
def problem(rng):
    """One task for both models: float inputs, regression targets, B = 3, a mask."""
    T, B, D, O = 9, 3, 2, 2
    x, y, _, _ = make_problem(rng, T, B, D, 4, O, output="identity")
    mask = np.ones((T, B))
    mask[3, 2] = 0.0
    return x, y, mask


@pytest.fixture
def lstm_trace(problem):
    x, y, mask = problem
    return bptt.LSTM(2, 5, 2, output="identity", seed=1).trace(x, y, mask=mask)


@pytest.fixture
def rnn_trace(problem):
    x, y, mask = problem
    return bptt.SimpleRNN(2, 5, 2, output="identity", seed=1).trace(x, y, mask=mask)


def _axes(fig, label):
    (ax,) = [a for a in fig.axes if a.get_label() == label]
    return ax


def _heat(ax):
    arr = ax.images[0].get_array()
    return np.where(arr.mask, 0.0, arr.data)


def _colorbar_labels(fig):
    return [a.get_ylabel() for a in fig.axes if a.get_label() == "<colorbar>"]


# -- error_flow on an LSTM trace -----------------------------------------------------------------
@pytest.mark.parametrize("path,flow,symbol,name", [
    (None, "flow", "∂L(s)/∂c(t)", "cell path"),
    ("cell", "flow", "∂L(s)/∂c(t)", "cell path"),
    ("hidden", "flow_h", "∂L(s)/∂y(t)", "hidden path"),
])
def test_error_flow_of_an_lstm_draws_the_chosen_path(lstm_trace, path, flow, symbol, name):
    tr = lstm_trace
    expected = getattr(tr, flow)
    T = expected.shape[0]
    fig = viz.error_flow(tr, source="all", path=path)
    heat = _axes(fig, "flow")
    np.testing.assert_array_equal(_heat(heat), expected)
    assert f"‖{symbol}‖ ({name})" in heat.get_title()
    assert f"‖{symbol}‖ (log scale)" in _colorbar_labels(fig)
    dist = _axes(fig, "distance")
    assert dist.get_ylabel() == f"‖{symbol}‖" and dist.get_yscale() == "log"
    lines = {ln.get_gid(): ln for ln in dist.lines}
    for s in range(T):
        d, y = lines[f"flow:s={s}"].get_data()
        np.testing.assert_array_equal(d, np.arange(s + 1))
        np.testing.assert_array_equal(y, expected[s, s - np.arange(s + 1)])
    assert "reference" not in lines


def test_lstm_paths_differ_and_sum_to_the_total_errors(lstm_trace):
    """The two heatmaps are different quantities: each sums over s to its own total error."""
    tr = lstm_trace
    cell = _heat(_axes(viz.error_flow(tr), "flow"))
    hidden = _heat(_axes(viz.error_flow(tr, path="hidden"), "flow"))
    assert not np.allclose(cell, hidden)
    src = tr.errors_by_source
    np.testing.assert_allclose(src["c"].sum(axis=0), tr.errors["c"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(src["h"].sum(axis=0), tr.errors["h"], rtol=1e-12, atol=1e-15)


def test_error_flow_of_one_lstm_sequence(lstm_trace):
    tr = lstm_trace
    for path, key in (("cell", "c"), ("hidden", "h")):
        expected = np.linalg.norm(tr.errors_by_source[key][:, :, 2], axis=-1)
        fig = viz.error_flow(tr, b=2, path=path)
        np.testing.assert_allclose(_heat(_axes(fig, "flow")), expected, rtol=1e-15)
        np.testing.assert_array_equal(viz.flow_matrix(tr, 2, path=path), expected)
        assert "sequence b = 2" in _axes(fig, "flow").get_title()
    assert expected[3, 3] == 0.0                       # the masked term L(3) of sequence 2 sends nothing


def test_error_flow_of_a_stacked_lstm_is_the_top_layer(problem):
    x, y, mask = problem
    tr = bptt.LSTM(2, 4, 2, num_layers=2, output="identity", seed=2).trace(x, y, mask=mask)
    fig = viz.error_flow(tr)
    heat = _axes(fig, "flow")
    top = np.sqrt((tr.by_source(1)["c"] ** 2).sum(axis=(2, 3)))
    np.testing.assert_array_equal(_heat(heat), tr.flow)
    np.testing.assert_allclose(tr.flow, top, rtol=1e-15)
    assert "top layer" in heat.get_title() and "cell path" in heat.get_title()


def test_error_flow_draws_both_paths_of_one_trace(lstm_trace):
    fig = viz.error_flow([lstm_trace, lstm_trace], path=["cell", "hidden"], labels=["cell", "hidden"])
    heats = [a for a in fig.axes if a.get_label() == "flow"]
    np.testing.assert_array_equal(_heat(heats[0]), lstm_trace.flow)
    np.testing.assert_array_equal(_heat(heats[1]), lstm_trace.flow_h)
    assert heats[1].get_title().startswith("hidden: error flow ‖∂L(s)/∂y(t)‖ (hidden path)")
    with pytest.raises(ValueError, match="'path' parameter of error_flow must be one path for every "
                                         "trace, or a list of 2"):
        viz.error_flow([lstm_trace, lstm_trace], path=["cell"])


def test_error_flow_mixes_simple_rnn_and_lstm_rows(rnn_trace, lstm_trace):
    fig = viz.error_flow([rnn_trace, lstm_trace], labels=["SimpleRNN", "LSTM"])
    heats = [a for a in fig.axes if a.get_label() == "flow"]
    np.testing.assert_array_equal(_heat(heats[0]), rnn_trace.flow)
    np.testing.assert_array_equal(_heat(heats[1]), lstm_trace.flow)
    assert "‖∂L(s)/∂a(t)‖" in heats[0].get_title() and "‖∂L(s)/∂c(t)‖" in heats[1].get_title()


def test_error_flow_refuses_what_it_cannot_draw(rnn_trace, lstm_trace):
    with pytest.raises(ValueError, match=r"'reference' parameter of error_flow draws ρ\(W\).* "
                                         r"Pass reference=False for LSTM traces"):
        viz.error_flow(lstm_trace, reference=True)
    with pytest.raises(ValueError, match=r"'reference'"):
        viz.error_flow([rnn_trace, lstm_trace], reference=True)
    with pytest.raises(ValueError, match="'path' parameter of error_flow must be None, 'cell' .* "
                                         "Got 'c' instead"):
        viz.error_flow(lstm_trace, path="c")
    with pytest.raises(ValueError, match="a SimpleRNN trace has one path .* Got 'cell' instead"):
        viz.error_flow(rnn_trace, path="cell")
    with pytest.raises(TypeError, match="must be a bptt Trace, LSTMTrace or GRUTrace.* Got dict"):
        viz.error_flow({"flow": 1})
    with pytest.raises(ValueError, match=r"'b' parameter of flow_matrix must be an int in \[0, 2\]"):
        viz.flow_matrix(lstm_trace, 3)


@pytest.mark.parametrize("name,make", [
    ("unfolded_network", lambda tr: viz.unfolded_network(tr)),
    ("hidden_states", lambda tr: viz.hidden_states(tr)),
    ("error_frame", lambda tr: viz.error_frame(tr, 0)),
])
def test_simple_rnn_figures_name_the_ones_that_draw_lstm_traces(lstm_trace, name, make):
    with pytest.raises(TypeError, match=f"{name} does not draw LSTM traces \\(error_flow and "
                                        f"flow_comparison do\\)"):
        make(lstm_trace)


# -- a SimpleRNN with several layers: the top layer's flow ------------------------------------
def test_error_flow_of_a_stacked_simple_rnn_is_its_top_layer(rng):
    """The top layer's ∂L(s)/∂a(t) equals the flow of a one-layer SimpleRNN that has the top
    layer's weights and reads the layer below's h(t) as its input."""
    T, B, D, H, O, L = 7, 2, 3, 4, 2, 3
    model = bptt.SimpleRNN(D, H, O, num_layers=L, output="identity", seed=5)
    x, y, _, _ = make_problem(rng, T, B, D, H, O, output="identity")
    h0 = rng.normal(size=(L, B, H))
    tr = model.trace(x, y, h0=h0)
    below = model.forward(x, h0).layers_h[L - 2]                    # (T, B, H) layer L−2's h(t)
    top = bptt.SimpleRNN(H, H, O, output="identity", seed=0)
    top.params.update(U=model.params[f"U.{L - 1}"], W=model.params[f"W.{L - 1}"],
                      b=model.params[f"b.{L - 1}"], V=model.params["V"], c=model.params["c"])
    one = top.trace(below, y, h0=h0[L - 1])
    np.testing.assert_allclose(one.errors["a"], tr.errors["a"], rtol=1e-12, atol=1e-15)
    fig = viz.error_flow(tr, source="all", reference=True)
    heat = _axes(fig, "flow")
    np.testing.assert_allclose(_heat(heat), one.flow, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(viz.flow_matrix(tr, 1), viz.flow_matrix(one, 1), rtol=1e-12)
    assert "top layer" in heat.get_title()
    ref = {ln.get_gid(): ln for ln in _axes(fig, "distance").lines}["reference"]
    rho = np.abs(np.linalg.eigvals(model.params[f"W.{L - 1}"])).max()
    np.testing.assert_allclose(ref.get_ydata(), one.flow[T - 1, T - 1] * rho ** np.arange(T), rtol=1e-12)


# -- flow_comparison ------------------------------------------------------------------------------
def test_flow_comparison_lines_are_the_traces_flows(rnn_trace, lstm_trace):
    T = rnn_trace.flow.shape[0]
    fig = viz.flow_comparison([rnn_trace, lstm_trace], ["tanh RNN", "LSTM"])
    ax = _axes(fig, "distance")
    assert ax.get_yscale() == "log"
    lines = {ln.get_gid(): ln for ln in ax.lines}
    assert set(lines) == {"flow:0:a", "flow:1:cell", "flow:1:hidden"}
    for gid, flow in (("flow:0:a", rnn_trace.flow), ("flow:1:cell", lstm_trace.flow),
                      ("flow:1:hidden", lstm_trace.flow_h)):
        d, y = lines[gid].get_data()
        np.testing.assert_array_equal(d, np.arange(T))
        np.testing.assert_array_equal(y, flow[T - 1, T - 1 - np.arange(T)])   # ‖∂L(T−1)/∂·(T−1−d)‖
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0].startswith("tanh RNN: ‖∂L(8)/∂a(t)‖")
    assert legend[1].startswith("LSTM: ‖∂L(8)/∂c(t)‖, cell path")
    assert legend[2].startswith("LSTM: ‖∂L(8)/∂y(t)‖, hidden path")
    ratio = rnn_trace.flow[T - 1, 0] / rnn_trace.flow[T - 1, T - 1]
    assert f"×{ratio:.1e} after {T - 1} steps" in legend[0]
    norms = []
    for gid, flow in (("heatmap:0:a", rnn_trace.flow), ("heatmap:1:cell", lstm_trace.flow),
                      ("heatmap:1:hidden", lstm_trace.flow_h)):
        np.testing.assert_array_equal(_heat(_axes(fig, gid)), flow)
        norms.append(_axes(fig, gid).images[0].norm)
    every = np.concatenate([rnn_trace.flow.ravel(), lstm_trace.flow.ravel(), lstm_trace.flow_h.ravel()])
    for norm in norms:                                 # one colour scale: colours compare across panels
        assert type(norm).__name__ == "LogNorm"
        assert (norm.vmin, norm.vmax) == (every[every > 0].min(), every.max())


def test_flow_comparison_of_one_sequence_and_one_source(rnn_trace, lstm_trace):
    fig = viz.flow_comparison([rnn_trace, lstm_trace], source=5, b=1)
    lines = {ln.get_gid(): ln for ln in _axes(fig, "distance").lines}
    expected = np.linalg.norm(lstm_trace.errors_by_source["h"][5, 5 - np.arange(6), 1], axis=-1)
    np.testing.assert_allclose(lines["flow:1:hidden"].get_ydata(), expected, rtol=1e-15)
    legend = [t.get_text() for t in _axes(fig, "distance").get_legend().get_texts()]
    assert legend[0].startswith("SimpleRNN: ") and legend[1].startswith("LSTM: ")   # default labels
    assert "L(5)" in _axes(fig, "distance").get_title()


def test_flow_comparison_units_heatmaps(rnn_trace, lstm_trace):
    T = rnn_trace.flow.shape[0]
    fig = viz.flow_comparison([rnn_trace, lstm_trace], heatmaps="units")
    c = lstm_trace.errors_by_source["c"][T - 1]                     # (T, B, H) ∂L(T−1)/∂c(t)
    np.testing.assert_allclose(_heat(_axes(fig, "heatmap:1:cell")), np.linalg.norm(c, axis=1).T, rtol=1e-15)
    a = rnn_trace.errors_by_source["a"][T - 1]
    np.testing.assert_allclose(_heat(_axes(fig, "heatmap:0:a")), np.linalg.norm(a, axis=1).T, rtol=1e-15)
    np.testing.assert_array_equal(unit_errors(lstm_trace, "hidden", 4, b=0),
                                  np.abs(lstm_trace.errors_by_source["h"][4, :, 0]).T)
    assert "‖∂L(8)/∂cₖ(t)‖ over the batch (log scale)" in _colorbar_labels(fig)
    fig1 = viz.flow_comparison([lstm_trace], heatmaps=None, b=0)
    assert [a.get_label() for a in fig1.axes] == ["distance"]


def test_flow_comparison_png(rnn_trace, lstm_trace, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # e.g. "Glyph 8342 missing from font"
        for heatmaps in ("flow", "units"):
            fig = viz.flow_comparison([rnn_trace, lstm_trace], ["SimpleRNN", "LSTM"], heatmaps=heatmaps)
            path = viz.save_png(fig, tmp_path / f"{heatmaps}.png")
            data = path.read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
        img = viz.fig_to_rgba(viz.error_flow(lstm_trace, path="hidden"))
    assert img[..., :3].std() > 10


def test_flow_comparison_rejects_bad_arguments(rnn_trace, lstm_trace):
    with pytest.raises(ValueError, match="'traces' argument of flow_comparison must be a non-empty list"):
        viz.flow_comparison([])
    with pytest.raises(ValueError, match="'traces' argument .* non-empty list"):
        viz.flow_comparison(lstm_trace)
    with pytest.raises(ValueError, match="'labels' parameter of flow_comparison must be a list of 2 str"):
        viz.flow_comparison([rnn_trace, lstm_trace], ["one"])
    with pytest.raises(ValueError, match=r"'source' parameter of flow_comparison must be 'last' or a "
                                         r"step s in \[0, 8\]"):
        viz.flow_comparison([rnn_trace], source="all")
    with pytest.raises(ValueError, match="'heatmaps' parameter of flow_comparison must be 'flow', 'units'"):
        viz.flow_comparison([rnn_trace], heatmaps="grid")
    with pytest.raises(ValueError, match=r"'b' parameter of flow_comparison must be an int in \[0, 2\]"):
        viz.flow_comparison([rnn_trace], b=3)


# -- the training report draws whichever model was trained -----------------------------------------
@pytest.mark.parametrize("make", [
    lambda V: bptt.LSTM(V, 6, V, seed=0),
    lambda V: bptt.LSTM(V, 6, V, num_layers=2, seed=0),
    lambda V: bptt.SimpleRNN(V, 6, V, num_layers=2, seed=0),
])
def test_error_flow_as_the_report_calls_it(make):
    from bptt.data import Vocab

    text = "hello world, hello bptt"
    vocab = Vocab(text)
    model = make(vocab.size)
    ids = vocab.encode(text)
    tr = model.trace(ids[:-1, None].astype(np.intp), ids[1:, None].astype(np.intp))
    fig = viz.error_flow(tr)                         # report.py: error_flow(tr), no other argument
    assert _heat(_axes(fig, "flow")).shape == (len(text) - 1,) * 2
