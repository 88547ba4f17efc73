"""bptt.viz.error_animation: the backward pass frame by frame, one colour per loss term L(s)."""
import sys

import numpy as np
import pytest

import bptt
from conftest import make_problem

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")
from bptt import viz  # noqa: E402


@pytest.fixture
def trace(rng):
    T, B, D, H, O = 5, 2, 3, 4, 3
    model = bptt.SimpleRNN(D, H, O, seed=8)
    x, y, h0, _ = make_problem(rng, T, B, D, H, O)
    return model.trace(x, y, h0=h0)


def _by_source(tr, b):
    """[s, t] = ‖∂L(s)/∂a(t)‖ of sequence b."""
    return np.linalg.norm(tr.errors_by_source["a"][:, :, b], axis=-1)


def _gids(fig):
    return {a.get_gid(): a for ax in fig.axes for a in ax.get_children() if a.get_gid()}


def _bottom_crop(fig, img):
    """The pixels of the stacked-bar axes (frame-specific content, no legend)."""
    x0, y0, x1, y1 = fig.axes[1].get_window_extent().extents
    H = img.shape[0]
    return img[H - int(y1):H - int(y0), int(x0):int(x1), :3]


def _has_colour(pixels, rgb, tol=0):
    d = np.abs(pixels.astype(int) - np.asarray(rgb, dtype=int)).max(axis=-1)
    return int((d <= tol).sum())


def test_gif_has_T_distinct_frames_at_fps(trace, tmp_path):
    T = trace.forward.h.shape[0]
    path = viz.error_animation(trace, tmp_path / "bptt.gif", b=1, fps=4)
    assert path == tmp_path / "bptt.gif" and path.stat().st_size > 1000
    with Image.open(path) as im:
        assert im.format == "GIF" and im.n_frames == T
        assert im.info["loop"] == 0
        frames = []
        for k in range(T):
            im.seek(k)
            assert im.info["duration"] == 250
            frames.append(np.asarray(im.convert("RGB")))
    assert all(f.shape == frames[0].shape for f in frames)
    for k in range(T):
        for j in range(k):
            assert not np.array_equal(frames[j], frames[k]), f"frames {j} and {k} are the same"
    # the GIF keeps every source colour as a flat colour of its palette
    colours = (viz.source_colors(T)[:, :3] * 255).round()
    for rgb in colours:
        assert _has_colour(frames[-1], rgb, tol=3) > 50


def test_frames_are_the_rendered_figures(trace):
    frames = viz.animation_frames(trace, b=1)
    T = trace.forward.h.shape[0]
    assert len(frames) == T
    for k in (0, T - 1):
        assert np.array_equal(frames[k], viz.fig_to_rgba(viz.error_frame(trace, k, b=1)))


def test_source_colours_are_distinct():
    for T in (1, 4, 10, 11, 20, 32):
        rgb = viz.source_colors(T)[:, :3]
        assert rgb.shape == (T, 3)
        gaps = np.linalg.norm(rgb[:, None] - rgb[None], axis=-1) + np.eye(T)
        assert gaps.min() > (0.08 if T <= 20 else 0.05), T           # pairwise distinct
    with pytest.raises(ValueError, match="'T' parameter of source_colors must be an int >= 1"):
        viz.source_colors(0)


def test_each_frame_colours_only_the_sources_reached(trace):
    """In frame k (step t = T−1−k), the bars below hold exactly the colours of L(s), s >= t."""
    T = trace.forward.h.shape[0]
    colours = (viz.source_colors(T)[:, :3] * 255).round()
    for k in range(T):
        t_now = T - 1 - k
        fig = viz.error_frame(trace, k, b=0)
        crop = _bottom_crop(fig, viz.fig_to_rgba(fig))
        for s in range(T):
            present = _has_colour(crop, colours[s]) > 0
            assert present == (s >= t_now), (k, s)


def test_frame_artists_hold_the_errors_by_source(trace):
    """Stacked segments are ‖∂L(s)/∂a(t)‖; wedges are each source's share; ticks are ‖∂J/∂a(t)‖."""
    b = 1
    T = trace.forward.h.shape[0]
    norms = _by_source(trace, b)
    totals = np.linalg.norm(trace.errors["a"][:, b], axis=-1)
    colours = viz.source_colors(T)
    for k in range(T):
        t_now = T - 1 - k
        art = _gids(viz.error_frame(trace, k, b=b))
        for t in range(T):
            reached = t >= t_now
            assert (f"total:{t}" in art) == reached
            if not reached:
                assert not any(g.startswith(("seg:", "share:")) and g.endswith(f":{t}") for g in art)
                continue
            assert abs(art[f"total:{t}"].get_ydata()[0] - totals[t]) < 1e-15
            shares = norms[t:, t] / norms[t:, t].sum()
            bottom = 0.0
            for s in range(t, T):
                seg = art[f"seg:{s}:{t}"]
                assert abs(seg.get_height() - norms[s, t]) < 1e-15 and abs(seg.get_y() - bottom) < 1e-15
                bottom += norms[s, t]
                np.testing.assert_allclose(seg.get_facecolor(), colours[s])
                wedge = art[f"share:{s}:{t}"]
                assert abs((wedge.theta2 - wedge.theta1) / 360 - shares[s - t]) < 1e-12
                np.testing.assert_allclose(wedge.get_facecolor(), colours[s])
            assert not any(f"seg:{s}:{t}" in art for s in range(t))       # L(s), s < t, sends nothing to t
        for s in range(T):                                               # faded until reached
            assert art[f"loss:{s}"].get_alpha() == (1.0 if s >= t_now else pytest.approx(0.2))


def test_animation_rejects_bad_arguments(trace, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"'b' parameter of error_animation must be an int in \[0, 1\]"):
        viz.error_animation(trace, tmp_path / "a.gif", b=2)
    with pytest.raises(ValueError, match=r"'fps' parameter of error_animation must be a number in \(0, 100\]"):
        viz.error_animation(trace, tmp_path / "a.gif", fps=0)
    with pytest.raises(TypeError, match="'path' argument of error_animation must be a str or os.PathLike"):
        viz.error_animation(trace, 3)
    with pytest.raises(ValueError, match=r"'k' parameter of error_frame must be a frame index in \[0, 4\]"):
        viz.error_frame(trace, 5)
    model = bptt.SimpleRNN(2, 2, 2, seed=0)
    long = model.trace(np.zeros((33, 1, 2)), np.zeros((33, 1), dtype=int))
    with pytest.raises(ValueError, match="at most 32; the trace has T = 33"):
        viz.animation_frames(long)
    for mod in ("PIL", "PIL.Image"):
        monkeypatch.setitem(sys.modules, mod, None)
    with pytest.raises(ImportError, match=r"error_animation needs Pillow.*pip install bptt\[plots\]"):
        viz.error_animation(trace, tmp_path / "a.gif")
    assert not (tmp_path / "a.gif").exists()
