"""The figures of GRU traces: error_flow, flow_matrix and flow_comparison draw ‖∂L(s)/∂h(t)‖
(checked on the artists' data against norms computed here from trace.errors_by_source), beside
SimpleRNN and LSTM traces; per_step_contributions, hidden_states and the error animation draw the
GRU's own numbers; unfolded_network and the SimpleRNN-only options refuse it with messages that
say what they draw."""
import warnings

import numpy as np
import pytest

import bptt
from conftest import make_problem

pytest.importorskip("matplotlib")
pytest.importorskip("PIL.Image")
from bptt import viz  # noqa: E402


@pytest.fixture
def problem(rng):
    """One task for every model: float inputs, regression targets, B = 3, a mask."""
    T, B, D, O = 9, 3, 2, 2
    x, y, _, _ = make_problem(rng, T, B, D, 4, O, output="identity")
    mask = np.ones((T, B))
    mask[3, 2] = 0.0
    return x, y, mask


@pytest.fixture(params=["after", "before"])
def gru_trace(problem, request):
    x, y, mask = problem
    return bptt.GRU(2, 5, 2, reset=request.param, output="identity", seed=1).trace(x, y, mask=mask)


@pytest.fixture
def rnn_trace(problem):
    x, y, mask = problem
    return bptt.SimpleRNN(2, 5, 2, output="identity", seed=1).trace(x, y, mask=mask)


@pytest.fixture
def lstm_trace(problem):
    x, y, mask = problem
    return bptt.LSTM(2, 5, 2, output="identity", seed=1).trace(x, y, mask=mask)


def _norms(tr, b=None):
    """(T, T): [s, t] = ‖∂L(s)/∂h(t)‖ over the batch (or of sequence b), from errors_by_source."""
    src = tr.errors_by_source["h"]                                          # (T, T, B, H)
    return np.sqrt((src ** 2).sum(axis=(2, 3))) if b is None else np.linalg.norm(src[:, :, b], axis=-1)


def _axes(fig, label):
    (ax,) = [a for a in fig.axes if a.get_label() == label]
    return ax


def _heat(ax):
    arr = ax.images[0].get_array()
    return np.where(arr.mask, 0.0, arr.data)


def _colorbar_labels(fig):
    return [a.get_ylabel() for a in fig.axes if a.get_label() == "<colorbar>"]


# -- error_flow and flow_matrix -------------------------------------------------------------------
def test_error_flow_of_a_gru_draws_dl_dh(gru_trace):
    tr = gru_trace
    expected = _norms(tr)
    T = expected.shape[0]
    np.testing.assert_allclose(tr.flow, expected, rtol=1e-15, atol=1e-300)
    fig = viz.error_flow(tr, source="all")
    heat = _axes(fig, "flow")
    np.testing.assert_allclose(_heat(heat), expected, rtol=1e-15, atol=1e-300)
    assert heat.get_title() == "error flow ‖∂L(s)/∂h(t)‖, the whole batch"
    assert "‖∂L(s)/∂h(t)‖ (log scale)" in _colorbar_labels(fig)
    dist = _axes(fig, "distance")
    assert dist.get_ylabel() == "‖∂L(s)/∂h(t)‖" and dist.get_yscale() == "log"
    lines = {ln.get_gid(): ln for ln in dist.lines}
    assert set(lines) == {f"flow:s={s}" for s in range(T)}                   # no ρ(W) reference
    for s in range(T):
        d, y = lines[f"flow:s={s}"].get_data()
        np.testing.assert_array_equal(d, np.arange(s + 1))
        np.testing.assert_allclose(y, expected[s, s - np.arange(s + 1)], rtol=1e-15)


def test_flow_matrix_of_one_sequence(gru_trace):
    for b in range(3):
        np.testing.assert_allclose(viz.flow_matrix(gru_trace, b), _norms(gru_trace, b), rtol=1e-15, atol=1e-300)
    masked = viz.flow_matrix(gru_trace, 2)[3]                              # mask[3, 2] = 0: L(3) of b = 2
    assert not masked.any()
    fig = viz.error_flow(gru_trace, b=1, source=4)
    np.testing.assert_allclose(_heat(_axes(fig, "flow")), _norms(gru_trace, 1), rtol=1e-15, atol=1e-300)
    (line,) = _axes(fig, "distance").lines
    assert line.get_gid() == "flow:s=4"
    np.testing.assert_allclose(line.get_ydata(), _norms(gru_trace, 1)[4, 4 - np.arange(5)], rtol=1e-15)
    assert "sequence b = 1" in _axes(fig, "flow").get_title()


def test_error_flow_of_a_stacked_gru_is_its_top_layer(problem):
    x, y, mask = problem
    tr = bptt.GRU(2, 4, 2, num_layers=2, output="identity", seed=2).trace(x, y, mask=mask)
    top = np.sqrt((tr.by_source(1)["h"] ** 2).sum(axis=(2, 3)))
    bottom = np.sqrt((tr.by_source(0)["h"] ** 2).sum(axis=(2, 3)))
    assert not np.allclose(top, bottom)
    heat = _axes(viz.error_flow(tr), "flow")
    np.testing.assert_allclose(_heat(heat), top, rtol=1e-15, atol=1e-300)
    assert "(top layer)" in heat.get_title() and "‖∂L(s)/∂h(t)‖" in heat.get_title()


def test_error_flow_mixes_rows_of_every_kind(rnn_trace, gru_trace, lstm_trace):
    fig = viz.error_flow([rnn_trace, gru_trace, lstm_trace], labels=["SimpleRNN", "GRU", "LSTM"],
                         path=[None, None, "hidden"])
    heats = [a for a in fig.axes if a.get_label() == "flow"]
    np.testing.assert_array_equal(_heat(heats[0]), rnn_trace.flow)
    np.testing.assert_allclose(_heat(heats[1]), _norms(gru_trace), rtol=1e-15, atol=1e-300)
    np.testing.assert_array_equal(_heat(heats[2]), lstm_trace.flow_h)
    assert heats[1].get_title().startswith("GRU: error flow ‖∂L(s)/∂h(t)‖")


# -- flow_comparison ------------------------------------------------------------------------------
def test_flow_comparison_draws_the_gru_beside_the_others(rnn_trace, gru_trace, lstm_trace):
    T = rnn_trace.flow.shape[0]
    fig = viz.flow_comparison([rnn_trace, gru_trace, lstm_trace])
    ax = _axes(fig, "distance")
    lines = {ln.get_gid(): ln for ln in ax.lines}
    assert set(lines) == {"flow:0:a", "flow:1:h", "flow:2:cell", "flow:2:hidden"}
    want = _norms(gru_trace)[T - 1, T - 1 - np.arange(T)]                   # ‖∂L(T−1)/∂h(T−1−d)‖
    d, y = lines["flow:1:h"].get_data()
    np.testing.assert_array_equal(d, np.arange(T))
    np.testing.assert_allclose(y, want, rtol=1e-15)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[1].startswith("GRU: ‖∂L(8)/∂h(t)‖ — ×")                   # default labels: the class
    assert legend[0].startswith("SimpleRNN: ") and legend[2].startswith("LSTM: ")
    assert f"×{want[-1] / want[0]:.1e} after {T - 1} steps" in legend[1]
    heat = _axes(fig, "heatmap:1:h")
    np.testing.assert_allclose(_heat(heat), _norms(gru_trace), rtol=1e-15, atol=1e-300)
    assert heat.get_title() == "GRU: ‖∂L(s)/∂h(t)‖"
    every = np.concatenate([rnn_trace.flow.ravel(), _norms(gru_trace).ravel(), lstm_trace.flow.ravel(),
                            lstm_trace.flow_h.ravel()])
    norm = heat.images[0].norm                                               # one colour scale for all
    assert norm.vmin == pytest.approx(every[every > 0].min(), rel=1e-12)
    assert norm.vmax == pytest.approx(every.max(), rel=1e-12)


def test_flow_comparison_of_one_sequence_and_units(gru_trace, lstm_trace):
    fig = viz.flow_comparison([gru_trace, lstm_trace], ["GRU", "LSTM"], source=5, b=2)
    lines = {ln.get_gid(): ln for ln in _axes(fig, "distance").lines}
    np.testing.assert_allclose(lines["flow:0:h"].get_ydata(), _norms(gru_trace, 2)[5, 5 - np.arange(6)], rtol=1e-15)
    T = gru_trace.flow.shape[0]
    fig = viz.flow_comparison([gru_trace], heatmaps="units")
    h = gru_trace.errors_by_source["h"][T - 1]                              # (T, B, H) ∂L(T−1)/∂h(t)
    np.testing.assert_allclose(_heat(_axes(fig, "heatmap:0:h")), np.linalg.norm(h, axis=1).T, rtol=1e-15)
    assert "‖∂L(8)/∂hₖ(t)‖ over the batch (log scale)" in _colorbar_labels(fig)


def test_gru_figures_render_to_png(gru_trace, rnn_trace, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # e.g. "Glyph 8342 missing from font"
        for name, fig in (("cmp", viz.flow_comparison([rnn_trace, gru_trace], ["RNN", "GRU"])),
                          ("flow", viz.error_flow(gru_trace)),
                          ("steps", viz.per_step_contributions(gru_trace)),
                          ("states", viz.hidden_states(gru_trace, which="z"))):
            data = viz.save_png(fig, tmp_path / f"{name}.png").read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


# -- per-step contributions, hidden states, the animation -----------------------------------------
@pytest.mark.parametrize("name,index", [(None, None), ("U_n", (1, 0)), ("W_r", None), ("b_z", 2), ("c", None)])
def test_per_step_bars_are_the_gru_contributions(gru_trace, name, index):
    tr = gru_trace
    T = tr.forward.h.shape[0]
    fig = viz.per_step_contributions(tr, name, index)
    key = name or "W_z"                                                    # the default: W_z
    bars = {p.get_gid(): p for p in _axes(fig, "contributions").patches if p.get_gid()}
    g = tr.grads[key]
    idx = np.unravel_index(np.argmax(np.abs(g)), g.shape) if index is None else np.atleast_1d(index)
    idx = tuple(int(i) for i in idx)
    heights = [bars[f"step:{t}"].get_height() for t in range(T)]
    np.testing.assert_array_equal(heights, tr.per_step[key][(slice(None),) + idx])
    assert bars["sum"].get_height() == g[idx] and abs(sum(heights) - g[idx]) < 1e-14
    assert f"(∂J/∂{key})⁽ᵗ⁾" in _axes(fig, "contributions").get_title()


def test_per_step_norm_bars_of_b_hn(problem):
    x, y, mask = problem
    tr = bptt.GRU(2, 5, 2, output="identity", seed=1).trace(x, y, mask=mask)
    bars = {p.get_gid(): p for p in _axes(viz.per_step_contributions(tr, "b_hn", "norm"), "contributions").patches
            if p.get_gid()}
    np.testing.assert_allclose([bars[f"step:{t}"].get_height() for t in range(9)],
                               np.linalg.norm(tr.per_step["b_hn"], axis=1), rtol=1e-15)
    assert abs(bars["sum"].get_height() - np.linalg.norm(tr.grads["b_hn"])) < 1e-15
    with pytest.raises(ValueError, match="'name' parameter of per_step_contributions must be one of 'U_r', 'U_z'"):
        viz.per_step_contributions(tr, "W")


@pytest.mark.parametrize("which", ["h", "r", "z", "n"])
def test_hidden_states_image_is_the_gru_state_or_gate(gru_trace, which):
    b = 1
    fig = viz.hidden_states(gru_trace, b=b, which=which)
    ax = _axes(fig, "hidden")
    src = gru_trace.forward.h if which == "h" else gru_trace.forward.gates[which]
    np.testing.assert_array_equal(ax.images[0].get_array(), src[:, b, :].T)   # units × steps
    lim = max(1.0, np.abs(src[:, b]).max()) if which == "h" else 1.0
    assert ax.images[0].norm.vmax == pytest.approx(lim) and ax.images[0].norm.vmin == pytest.approx(-lim)
    label = {"h": "h(t) = (1 − z(t)) ⊙ n(t) + z(t) ⊙ h(t−1)", "r": "r(t) = σ(r̂(t)), the reset gate",
             "z": "z(t) = σ(ẑ(t)), the update gate", "n": "n(t) = tanh(n̂(t)), the candidate"}[which]
    assert label in _colorbar_labels(fig)


def test_animation_frames_hold_the_gru_errors_by_source(gru_trace, tmp_path):
    b = 0
    T = gru_trace.forward.h.shape[0]
    norms = _norms(gru_trace, b)
    totals = np.linalg.norm(gru_trace.errors["h"][:, b], axis=-1)           # ‖∂J/∂h(t)‖ = ‖Σ_s ∂L(s)/∂h(t)‖
    np.testing.assert_allclose(gru_trace.errors_by_source["h"][:, :, b].sum(axis=0), gru_trace.errors["h"][:, b],
                               rtol=1e-12, atol=1e-15)
    for k in (0, 4, T - 1):
        t_now = T - 1 - k
        fig = viz.error_frame(gru_trace, k, b=b)
        art = {a.get_gid(): a for ax in fig.axes for a in ax.get_children() if a.get_gid()}
        for t in range(t_now, T):
            assert abs(art[f"total:{t}"].get_ydata()[0] - totals[t]) < 1e-15
            for s in range(t, T):
                assert abs(art[f"seg:{s}:{t}"].get_height() - norms[s, t]) < 1e-15
        assert not any(g.endswith(f":{t}") for g in art if g.startswith("seg:") for t in range(t_now))
        texts = [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]
        assert f"h({t_now})" in texts and "a(0)" not in texts
        assert any(f"∂J/∂h({t_now}) = Σ_(s ≥ {t_now}) ∂L(s)/∂h({t_now})" in t for t in texts)
        assert fig.axes[1].get_ylabel() == "‖∂L(s)/∂h(t)‖,\nstacked by s"
    path = viz.error_animation(gru_trace, tmp_path / "gru.gif", b=b)
    from PIL import Image
    with Image.open(path) as im:
        assert im.n_frames == T


# -- what the figures refuse ------------------------------------------------------------------------
def test_gru_refusals_say_what_draws_it(gru_trace, rnn_trace, lstm_trace):
    with pytest.raises(TypeError, match=r"must be a bptt Trace of a SimpleRNN; unfolded_network does not draw "
                                        r"GRU traces \(error_flow, flow_comparison, per_step_contributions, "
                                        r"hidden_states and the error animation do\)\. Got a GRUTrace instead"):
        viz.unfolded_network(gru_trace)
    with pytest.raises(ValueError, match=r"'reference' parameter of error_flow draws ρ\(W\).*a GRU's error has "
                                         r"no such line.* Pass reference=False for GRU traces"):
        viz.error_flow(gru_trace, reference=True)
    with pytest.raises(ValueError, match=r"an LSTM's error .*; a GRU's error .* Pass reference=False for LSTM "
                                         r"and GRU traces"):
        viz.error_flow([rnn_trace, lstm_trace, gru_trace], reference=True)
    with pytest.raises(ValueError, match=r"a GRU trace has one path \(‖∂L\(s\)/∂h\(t\)‖\) and takes path=None. "
                                         r"Got 'cell' instead"):
        viz.error_flow(gru_trace, path="cell")
    with pytest.raises(ValueError, match=r"'path' parameter of flow_matrix .* Got 'h' instead"):
        viz.flow_matrix(gru_trace, path="h")
    with pytest.raises(ValueError, match="'which' parameter of hidden_states must be 'h', 'r', 'z' or 'n' for a "
                                         "GRU trace. Got 'a' instead"):
        viz.hidden_states(gru_trace, which="a")
    with pytest.raises(TypeError, match=r"must be a bptt Trace or GRUTrace of a SimpleRNN or a GRU; "
                                        r"per_step_contributions does not draw LSTM traces"):
        viz.per_step_contributions(lstm_trace)
    with pytest.raises(TypeError, match=r"'trace' argument of hidden_states must be a bptt Trace or GRUTrace, "
                                        r"as returned by model.trace\(x, y\). Got dict instead"):
        viz.hidden_states({"h": 1})
    with pytest.raises(ValueError, match=r"'b' parameter of flow_matrix must be an int in \[0, 2\]"):
        viz.flow_matrix(gru_trace, 3)


def test_the_animation_refuses_a_stacked_gru(problem, tmp_path):
    x, y, mask = problem
    tr = bptt.GRU(2, 3, 2, num_layers=2, output="identity").trace(x, y, mask=mask)
    with pytest.raises(ValueError, match="error_animation draws the article's network with one recurrent "
                                         "layer; the trace's model has num_layers=2"):
        viz.error_animation(tr, tmp_path / "a.gif")
    assert not (tmp_path / "a.gif").exists()
    np.testing.assert_array_equal(_axes(viz.hidden_states(tr), "hidden").images[0].get_array(),
                                  tr.forward.h[:, 0].T)                  # the top layer's h(t)


def test_error_flow_as_the_training_report_calls_it():
    from bptt.data import Vocab

    text = "hello world, hello bptt"
    vocab = Vocab(text)
    model = bptt.GRU(vocab.size, 6, vocab.size, seed=0)
    ids = vocab.encode(text)
    tr = model.trace(ids[:-1, None].astype(np.intp), ids[1:, None].astype(np.intp))
    fig = viz.error_flow(tr)                         # report.py: error_flow(tr), no other argument
    np.testing.assert_allclose(_heat(_axes(fig, "flow")), _norms(tr), rtol=1e-15, atol=1e-300)
