"""bptt.viz figures: each runs and writes a PNG, and each shows what it claims, checked on the
artists' data and on the rendered pixels."""
import subprocess
import sys
import warnings

import numpy as np
import pytest

import bptt
from conftest import make_problem

pytest.importorskip("matplotlib")
from bptt import viz  # noqa: E402
from bptt.viz.flow import heatmap_norm  # noqa: E402


@pytest.fixture
def batch_trace(rng):
    """Float inputs, B = 2, a mask, h0 != 0, H = 6 (longer than the 4 values a node shows)."""
    T, B, D, H, O = 6, 2, 3, 6, 3
    model = bptt.SimpleRNN(D, H, O, seed=3)
    x, y, h0, _ = make_problem(rng, T, B, D, H, O)
    mask = np.ones((T, B))
    mask[2, 1] = 0.5
    return model.trace(x, y, h0=h0, mask=mask)


def _axes(fig, label):
    (ax,) = [a for a in fig.axes if a.get_label() == label]
    return ax


def _figures(tr):
    return {
        "unfolded_network": lambda: viz.unfolded_network(tr),
        "error_flow": lambda: viz.error_flow(tr, source="all", reference=True),
        "vanishing_exploding": lambda: viz.vanishing_exploding(T=12, H=4),
        "per_step_contributions": lambda: viz.per_step_contributions(tr, "W"),
        "per_step_norm": lambda: viz.per_step_contributions(tr, "U", index="norm"),
        "hidden_states": lambda: viz.hidden_states(tr),
    }


@pytest.mark.parametrize("which", list(_figures(None)))
def test_each_figure_writes_a_png_without_missing_glyphs(which, batch_trace, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # e.g. "Glyph 8706 missing from font"
        fig = _figures(batch_trace)[which]()
        path = viz.save_png(fig, tmp_path / f"{which}.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_figures_are_deterministic():
    tr = viz.demo_trace()
    for make in _figures(tr).values():
        assert np.array_equal(viz.fig_to_rgba(make()), viz.fig_to_rgba(make()))


def test_fig_to_rgba_is_the_rendered_figure():
    fig = viz.hidden_states(viz.demo_trace())
    img = viz.fig_to_rgba(fig)
    w, h = fig.get_size_inches() * fig.dpi
    assert img.shape == (round(h), round(w), 4) and img.dtype == np.uint8
    assert (img[..., 3] == 255).all() and img[..., :3].std() > 10


# -- unfolded network ---------------------------------------------------------------------------
def _node_texts(fig):
    ax = fig.axes[0]
    return {t.get_gid(): t.get_text() for t in ax.texts if t.get_gid()}


def _rounded(v, n=4):
    return [f"{float(np.round(x, 2)) + 0.0:.2f}" for x in np.ravel(v)[:n]]


def test_unfolded_network_shows_the_trace_values(batch_trace):
    tr, b = batch_trace, 1
    texts = _node_texts(viz.unfolded_network(tr, b=b))
    T = tr.forward.h.shape[0]
    assert set(texts) >= {"node:h0"} | {f"node:{k}:{t}" for k in "xhoL" for t in range(T)}
    assert "h(−1) = h0\n[" + ", ".join(_rounded(tr.h0[b])) + ", …]" == texts["node:h0"]
    for t in range(T):
        a_line, h_line = texts[f"node:h:{t}"].split("\n")
        assert a_line == f"a({t}) [" + ", ".join(_rounded(tr.forward.a[t, b])) + ", …]"   # H = 6 > 4
        assert h_line == f"h({t}) [" + ", ".join(_rounded(tr.forward.h[t, b])) + ", …]"
        o_line, y_line = texts[f"node:o:{t}"].split("\n")
        assert o_line == f"o({t}) [" + ", ".join(_rounded(tr.forward.o[t, b])) + "]"     # O = 3
        assert y_line == f"ŷ({t}) [" + ", ".join(_rounded(tr.forward.y_hat[t, b])) + "]"
        assert texts[f"node:x:{t}"] == f"x({t})\n[" + ", ".join(_rounded(tr.x[t, b])) + "]"
        L = -np.log(tr.forward.y_hat[t, b, tr.y[t, b]])                                    # −log ŷ(t)[y(t)]
        assert texts[f"node:L:{t}"].startswith(f"L({t}) = {L:.3f}\ny({t}) = token {tr.y[t, b]}")
    assert "mask 0.50" in texts["node:L:2"] and "mask" not in texts["node:L:1"]


def test_unfolded_network_arrows_and_shared_labels():
    tr = viz.demo_trace()
    fig = viz.unfolded_network(tr, vocab=viz.DEMO_VOCAB)
    ax = fig.axes[0]
    texts = _node_texts(fig)
    T = tr.forward.h.shape[0]
    assert [texts[f"node:x:{t}"] for t in range(T)] == [f"x({t}) = '{c}'" for t, c in enumerate("hell")]
    assert [texts[f"node:L:{t}"].split("\n")[1] for t in range(T)] == [
        f"y({t}) = '{c}'" for t, c in enumerate("ello")]
    arrows = [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    assert len(arrows) == 4 * T                                   # U, W, V and o → L in each column
    labels = [t.get_text() for t in ax.texts if t.get_text() in ("U", "W", "V")]
    assert sorted(labels) == ["U", "V", "W"]                      # the shared parameters, labelled once
    panel = [t for t in fig.axes[1].texts if t.get_gid() == "params"][0].get_text()
    W = tr.model.params["W"]
    assert all(f"{float(np.round(w, 2)) + 0.0:.2f}" in panel for w in W.ravel())
    assert "W (3×3)" in panel and "U (3×4)" in panel and "c (4,)" in panel


def test_unfolded_network_rejects_bad_arguments(batch_trace):
    with pytest.raises(ValueError, match=r"'b' parameter of unfolded_network must be an int in \[0, 1\]"):
        viz.unfolded_network(batch_trace, b=2)
    with pytest.raises(TypeError, match="'b' parameter .* Got 0.0 of type float"):
        viz.unfolded_network(batch_trace, b=0.0)
    with pytest.raises(TypeError, match="'trace' argument of unfolded_network must be a bptt Trace"):
        viz.unfolded_network({"a": 1})
    model = bptt.SimpleRNN(2, 2, 2, seed=0)
    long = model.trace(np.zeros((17, 1, 2)), np.zeros((17, 1), dtype=int))
    with pytest.raises(ValueError, match="at most 16; the trace has T = 17"):
        viz.unfolded_network(long)


# -- error flow ---------------------------------------------------------------------------------
def test_error_flow_heatmap_array_and_distance_lines(batch_trace):
    tr = batch_trace
    T = tr.flow.shape[0]
    fig = viz.error_flow(tr, source="all", reference=True)
    heat = _axes(fig, "flow").images[0]
    arr = heat.get_array()
    assert np.array_equal(arr.mask, ~(tr.flow > 0)) and np.all(np.triu(arr.mask, 1)[np.triu_indices(T, 1)])
    np.testing.assert_array_equal(arr.data[~arr.mask], tr.flow[tr.flow > 0])
    pos = tr.flow[tr.flow > 0]
    assert heat.norm.vmin == pos.min() and heat.norm.vmax == pos.max()
    assert type(heat.norm).__name__ == "LogNorm"
    ax = _axes(fig, "distance")
    assert ax.get_yscale() == "log"
    lines = {ln.get_gid(): ln for ln in ax.lines}
    for s in range(T):
        d, y = lines[f"flow:s={s}"].get_data()
        np.testing.assert_array_equal(d, np.arange(s + 1))
        np.testing.assert_array_equal(y, tr.flow[s, s - np.arange(s + 1)])            # t = s − d
    _, ref = lines["reference"].get_data()
    np.testing.assert_allclose(ref, tr.flow[T - 1, T - 1] * tr.spectral_radius ** np.arange(T), rtol=1e-14)


def test_error_flow_of_one_sequence_and_several_traces(batch_trace):
    tr = batch_trace
    flow_b = np.linalg.norm(tr.errors_by_source["a"][:, :, 1], axis=-1)
    fig = viz.error_flow([tr, viz.demo_trace()], b=0, source=2, labels=["six steps", "hello"])
    heats = [a for a in fig.axes if a.get_label() == "flow"]
    assert len(heats) == 2
    fig1 = viz.error_flow(tr, b=1, source="last")
    np.testing.assert_allclose(_axes(fig1, "flow").images[0].get_array().data, flow_b, rtol=1e-15)
    (line,) = _axes(fig1, "distance").lines
    np.testing.assert_array_equal(line.get_ydata(), flow_b[5, 5 - np.arange(6)])


def _cmap_index(rgb, cmap):
    """The colormap's entry nearest to a pixel colour (the colormap inverse) and how near it is."""
    lut = cmap(np.arange(cmap.N))[:, :3] * 255                           # integers index the LUT
    dist = np.sqrt(((lut - rgb[:3]) ** 2).sum(axis=1))
    return int(np.argmin(dist)), float(dist.min())


def test_error_flow_pixels_follow_the_flow(batch_trace):
    """Read the rendered heatmap back through the colormap: a cell with a larger flow sits further
    along the colormap, at the LogNorm position of its value; cells with no flow are blank."""
    tr = batch_trace
    T = tr.flow.shape[0]
    fig = viz.error_flow(tr)
    img = viz.fig_to_rgba(fig)
    ax = _axes(fig, "flow")
    heat = ax.images[0]
    norm = heatmap_norm(tr.flow)
    positions = {}
    for s in range(T):
        for t in range(T):
            x, y = ax.transData.transform((t - 0.3, s + 0.3))    # off the centre, where the number is
            pixel = img[img.shape[0] - int(round(y)), int(round(x))].astype(float)
            if t > s:
                assert tuple(pixel[:3]) == (255, 255, 255)
                continue
            index, dist = _cmap_index(pixel, heat.cmap)
            assert dist < 2                                       # a colour of the colormap
            expected = min(int(float(norm(tr.flow[s, t])) * heat.cmap.N), heat.cmap.N - 1)
            assert abs(index - expected) <= 1                     # at the LogNorm position of the value
            positions[s, t] = index
    cells = sorted(positions, key=lambda st: tr.flow[st])
    assert all(positions[p] <= positions[q] for p, q in zip(cells, cells[1:]))
    assert positions[cells[0]] == 0 and positions[cells[-1]] == heat.cmap.N - 1    # the whole colormap


def test_error_flow_rejects_bad_arguments(batch_trace):
    with pytest.raises(ValueError, match="'source' parameter of error_flow must be 'last', 'all' or a step"):
        viz.error_flow(batch_trace, source=6)
    with pytest.raises(ValueError, match="'labels' parameter of error_flow must be a list of 1 titles"):
        viz.error_flow(batch_trace, labels=["a", "b"])
    with pytest.raises(ValueError, match=r"'b' parameter of error_flow must be an int in \[0, 1\]"):
        viz.error_flow(batch_trace, b=-1)
    with pytest.raises(ValueError, match="non-empty list of Traces"):
        viz.error_flow([])
    deep = bptt.SimpleRNN(2, 3, 2, num_layers=2, seed=0).trace(np.zeros((3, 1, 2)), np.zeros((3, 1), dtype=int))
    with pytest.raises(ValueError, match="one recurrent layer; the trace's model has num_layers=2"):
        viz.unfolded_network(deep)                 # error_flow draws the top layer: test_viz_lstm.py


# -- vanishing and exploding --------------------------------------------------------------------
def test_vanishing_exploding_lines_are_the_flows_with_slope_log_r():
    T, H, radii = 16, 5, (0.8, 1.2)
    fig = viz.vanishing_exploding(seed=4, T=T, H=H, radii=radii, activations=("identity", "tanh"))
    rows = [a for a in fig.axes if a.get_label() == "distance"]
    assert len(rows) == 2 and all(ax.get_yscale() == "log" for ax in rows)
    for ax, act in zip(rows, ("identity", "tanh")):
        lines = {ln.get_gid(): ln for ln in ax.lines}
        for i, r in enumerate(radii):
            tr = viz.orthogonal_rnn_trace(r, seed=4, T=T, H=H, activation=act)
            assert abs(tr.spectral_radius - r) < 1e-12 and abs(tr.w_norm - r) < 1e-12
            d, y = lines[f"flow:{i}"].get_data()
            np.testing.assert_array_equal(y, tr.flow[T - 1, T - 1 - np.arange(T)])
            np.testing.assert_allclose(lines[f"reference:{i}"].get_ydata(), y[0] * r ** d, rtol=1e-13)
            if act == "identity":          # every singular value of W is r: exactly r^(s−t)
                slope = np.polyfit(d, np.log(y), 1)[0]
                assert abs(slope - np.log(r)) < 1e-10
                np.testing.assert_allclose(y, y[0] * r ** d, rtol=1e-10)
            elif r < 1:                    # |g'| <= 1: tanh only decays faster
                assert np.all(y <= y[0] * r ** d * (1 + 1e-12))
    heats = [a for a in fig.axes if a.get_label() == "flow"]
    assert len(heats) == 4


def test_vanishing_exploding_rejects_bad_arguments():
    with pytest.raises(ValueError, match="'activations' parameter of vanishing_exploding .* Got 'cosh'"):
        viz.vanishing_exploding(T=4, activations=("identity", "cosh"))
    with pytest.raises(ValueError, match="'radii' parameter of vanishing_exploding must be a non-empty"):
        viz.vanishing_exploding(T=4, radii=())
    with pytest.raises(ValueError, match="'radius' parameter of orthogonal_rnn_trace must be a finite number > 0"):
        viz.orthogonal_rnn_trace(-1.0)
    with pytest.raises(ValueError, match="'T' parameter of orthogonal_rnn_trace must be an int >= 2"):
        viz.orthogonal_rnn_trace(0.9, T=1)


# -- per-step contributions and hidden states -------------------------------------------------
def _bars(fig):
    ax = _axes(fig, "contributions")
    return {p.get_gid(): p for p in ax.patches if p.get_gid()}


@pytest.mark.parametrize("name,index", [("W", None), ("U", (1, 2)), ("b", 3), ("V", (0, 5)), ("c", None)])
def test_per_step_bars_are_the_contributions_and_their_sum(batch_trace, name, index):
    tr = batch_trace
    T = tr.forward.h.shape[0]
    bars = _bars(viz.per_step_contributions(tr, name, index))
    g = tr.grads[name]
    idx = np.unravel_index(np.argmax(np.abs(g)), g.shape) if index is None else np.atleast_1d(index)
    idx = tuple(int(i) for i in idx)
    heights = [bars[f"step:{t}"].get_height() for t in range(T)]
    np.testing.assert_array_equal(heights, tr.per_step[name][(slice(None),) + idx])
    assert bars["sum"].get_height() == g[idx]
    assert abs(sum(heights) - g[idx]) < 1e-14                    # the sum is ∂J/∂θ at that entry
    assert bars["sum"].get_facecolor() != bars["step:0"].get_facecolor()


def test_per_step_norm_bars(batch_trace):
    tr = batch_trace
    fig = viz.per_step_contributions(tr, "W", index="norm")
    bars = _bars(fig)
    T = tr.forward.h.shape[0]
    np.testing.assert_allclose([bars[f"step:{t}"].get_height() for t in range(T)],
                               [np.linalg.norm(tr.per_step["W"][t]) for t in range(T)], rtol=1e-15)
    assert abs(bars["sum"].get_height() - np.linalg.norm(tr.grads["W"])) < 1e-15
    title = _axes(fig, "contributions").get_title()
    assert "one update" in title and "∂J/∂W = Σₜ (∂J/∂W)⁽ᵗ⁾" in title


def test_per_step_title_names_the_one_update():
    title = _axes(viz.per_step_contributions(viz.demo_trace(), "W"), "contributions").get_title()
    assert "(∂J/∂W)⁽ᵗ⁾" in title and "gradient of the one update" in title


def test_per_step_rejects_bad_arguments(batch_trace):
    with pytest.raises(ValueError, match="'name' parameter of per_step_contributions must be one of 'U', 'W'"):
        viz.per_step_contributions(batch_trace, "Q")
    with pytest.raises(ValueError, match=r"index.* out of range: \(6, 0\) for W of shape \(6, 6\)"):
        viz.per_step_contributions(batch_trace, "W", (6, 0))
    with pytest.raises(ValueError, match=r"out of range: -1 for b of shape \(6,\)"):
        viz.per_step_contributions(batch_trace, "b", -1)
    with pytest.raises(TypeError, match=r"'index' parameter .* a tuple of 2 ints indexing W"):
        viz.per_step_contributions(batch_trace, "W", 3)
    with pytest.raises(TypeError, match=r"'index' parameter .* Got 'max'"):
        viz.per_step_contributions(batch_trace, "W", "max")


@pytest.mark.parametrize("which", ["h", "a"])
def test_hidden_states_image_is_h_transposed(batch_trace, which):
    tr, b = batch_trace, 1
    fig = viz.hidden_states(tr, b=b, which=which)
    arr = _axes(fig, "hidden").images[0].get_array()
    src = tr.forward.h if which == "h" else tr.forward.a
    np.testing.assert_array_equal(arr, src[:, b, :].T)                      # units × steps
    texts = [t.get_text() for t in _axes(fig, "hidden").texts]
    assert texts[:2] == _rounded(src[0, b, :1]) + _rounded(src[1, b, :1])   # unit 0 at steps 0, 1
    with pytest.raises(ValueError, match=r"'b' parameter of hidden_states must be an int in \[0, 1\]"):
        viz.hidden_states(tr, b=5)
    with pytest.raises(ValueError, match="'which' parameter of hidden_states must be 'h' or 'a'"):
        viz.hidden_states(tr, which="o")


# -- the plots extra, imports, helpers ---------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda tr: viz.unfolded_network(tr), lambda tr: viz.error_flow(tr),
    lambda tr: viz.vanishing_exploding(T=4), lambda tr: viz.per_step_contributions(tr),
    lambda tr: viz.hidden_states(tr), lambda tr: viz.error_animation(tr, "x.gif"),
    lambda tr: viz.animation_frames(tr), lambda tr: viz.fig_to_rgba(None),
    lambda tr: viz.save_png(None, "x.png"), lambda tr: viz.save_demo_figures("out"),
])
def test_missing_matplotlib_names_the_plots_extra(call, monkeypatch):
    tr = viz.demo_trace()
    for mod in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, mod, None)
    with pytest.raises(ImportError, match=r"needs matplotlib.*pip install bptt\[plots\]"):
        call(tr)


def test_import_is_light_and_explorer_lazy():
    code = ("import sys, bptt.viz; print('matplotlib' in sys.modules, 'PIL' in sys.modules, "
            "'bptt.viz.explorer' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


def test_save_png_and_demo_files(tmp_path):
    with pytest.raises(TypeError, match="'fig' argument of save_png must be a matplotlib Figure"):
        viz.save_png("not a figure", tmp_path / "a.png")
    paths = viz.save_demo_figures(tmp_path / "out")
    assert sorted(p.name for p in paths.values()) == sorted(
        ["unfolded_network.png", "error_flow.png", "vanishing_exploding.png",
         "per_step_contributions.png", "hidden_states.png", "error_animation.gif"])
    assert all(p.stat().st_size > 1000 for p in paths.values())


def test_demo_trace_is_small_and_exact():
    tr = viz.demo_trace()
    T, B, H = tr.forward.h.shape
    m = tr.model
    assert (T, B, H) == (4, 1, 3) and m.input_size == m.output_size == 4
    assert "".join(viz.DEMO_VOCAB[i] for i in tr.x[:, 0]) == "hell"
    assert "".join(viz.DEMO_VOCAB[i] for i in tr.y[:, 0]) == "ello"
    loss, grads = m.loss_and_grads(tr.x, tr.y)
    assert abs(loss - tr.loss) < 1e-13
    assert viz.format_values([0.004, -0.004, 1.0, 2.0, 3.0]) == "[0.00, 0.00, 1.00, 2.00, …]"
