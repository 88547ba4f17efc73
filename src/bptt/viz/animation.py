"""Errors flowing back through the unfolded network: the article's "colored frames", animated.

Frame k (k = 0..T−1) shows the backward pass at step t = T−1−k. Each loss term L(s) has its own
colour. The error at a hidden node, ∂J/∂a(t) = Σ_{s≥t} ∂L(s)/∂a(t), is drawn twice:

- top, in the unfolded network: the node is a pie whose wedges are the shares
  ‖∂L(s)/∂a(t)‖ / Σ_s' ‖∂L(s')/∂a(t)‖ of the loss terms that have reached it;
- bottom, as stacked bars: one segment ‖∂L(s)/∂a(t)‖ per source step s, in the colour of L(s),
  with a black tick at ‖∂J/∂a(t)‖, the norm of the sum that the gradients (∂J/∂θ)^(t) use.

To compute the gradients of step t you need every error of the colours s >= t: the column of the
current step is framed, and the loss terms that have not reached it yet (s < t) are faded.

The trace is of a one-layer SimpleRNN, whose hidden node shows ∂L(s)/∂a(t), or of a one-layer
GRU, whose hidden node shows ∂L(s)/∂h(t) (its errors_by_source["h"]; Σ_s ∂L(s)/∂h(t) = ∂J/∂h(t)).
"""
from __future__ import annotations

import numbers

import numpy as np

from ._common import (check_b, check_path, check_steps, check_trace, fig_to_rgba, new_figure,
                      require_matplotlib, require_pillow, trace_kind)

MAX_STEPS = 32
FADED = 0.2                 # alpha of what the backward pass has not reached yet
UNIT = 0.75                 # inches per data unit in a frame
R_H = 0.3                   # radius of a hidden node, in data units
NODE = {"rnn": "a", "gru": "h"}     # the error drawn at the hidden node, ∂L(s)/∂·(t), of each kind
KINDS = tuple(NODE)


def source_colors(T) -> np.ndarray:
    """(T, 4) RGBA: the colour of each loss term L(s), pairwise distinct (tab10 up to T = 10,
    tab20 up to 20, then evenly spaced along 'turbo').

    Examples:
        >>> from bptt.viz import source_colors
        >>> colors = source_colors(30)
        >>> colors.shape, len(np.unique(colors, axis=0))
        ((30, 4), 30)
    """
    if isinstance(T, bool) or not isinstance(T, numbers.Integral) or T < 1:
        raise ValueError(f"The 'T' parameter of source_colors must be an int >= 1. Got {T!r} instead.")
    require_matplotlib("source_colors")
    import matplotlib

    if T <= 20:
        if T <= 10:
            table = np.array(matplotlib.colormaps["tab10"].colors[:T])                     # (T, 3)
        else:                                  # tab20's dark half first, then its light half
            tab20 = np.array(matplotlib.colormaps["tab20"].colors)
            table = np.r_[tab20[0::2], tab20[1::2]][:T]
        return np.c_[table, np.ones(T)]
    return matplotlib.colormaps["turbo"](np.linspace(0.03, 0.97, T))


def _node_norms(trace, b):
    """(T, T): [s, t] = ‖∂L(s)/∂a(t)‖ of sequence b (∂L(s)/∂h(t) for a GRU), and (T,) ‖∂J/∂a(t)‖."""
    key = NODE[trace_kind(trace)]
    n = np.sqrt((trace.errors_by_source[key][:, :, b] ** 2).sum(axis=-1))
    total = np.sqrt((trace.errors[key][:, b] ** 2).sum(axis=-1))
    return n, total


def _draw_frame(trace, b, t_now, norms, totals, colors, dpi):
    a = NODE[trace_kind(trace)]                            # the hidden node's name: a(t) or h(t)
    from matplotlib.patches import Circle, FancyArrowPatch, Rectangle, Wedge

    T = norms.shape[0]
    # sizes in inches, so that one data unit is UNIT inches both ways (round circles, no aspect fix)
    left, legend, top_h, bottom_h = 0.9, 1.5, 4.2 * UNIT, 1.7
    width = max(7.0, left + UNIT * (T + 1.2) + legend)
    height = 0.95 + top_h + 0.35 + bottom_h + 0.55
    fig = new_figure((width, height), dpi=dpi, layout=None)
    ax_w = UNIT * (T + 1.2) / width
    top = fig.add_axes((left / width, (0.55 + bottom_h + 0.35) / height, ax_w, top_h / height))
    bottom = fig.add_axes((left / width, 0.55 / height, ax_w, bottom_h / height))
    top.set_xlim(-1.6, T - 0.4)
    top.set_ylim(-0.6, 3.6)
    top.set_axis_off()
    pt = UNIT * 72                                         # points per data unit

    def arrow(p, q, color, r_from, r_to, ls="-", lw=1.0):
        top.add_patch(FancyArrowPatch(p, q, arrowstyle="-|>", mutation_scale=9, color=color, lw=lw,
                                      ls=ls, shrinkA=r_from * pt + 1, shrinkB=r_to * pt + 1))

    # the column of the current step: the article's colored frame
    top.add_patch(Rectangle((t_now - 0.47, -0.5), 0.94, 4.0, fill=False, ec="black", lw=1.6, ls="--"))
    top.add_patch(Circle((-1, 1), 0.12, fc="#f2f2f2", ec="#777777"))
    top.text(-1, 1.27, "h0", ha="center", fontsize=8)
    for t in range(T):
        reached = t >= t_now
        top.add_patch(Circle((t, 0), 0.12, fc="#e6e6e6", ec="#777777"))                 # x(t)
        top.add_patch(Circle((t, 2), 0.14, fc="#fde4cc", ec="#777777"))                 # o(t)
        top.add_patch(Circle((t, 3), 0.2, fc=colors[t], ec="black",                     # L(t)
                             alpha=1.0 if reached else FADED, gid=f"loss:{t}"))
        top.text(t, 3.3, f"L({t})", ha="center", fontsize=8)
        top.text(t, -0.38, f"x({t})", ha="center", fontsize=7, color="#555555")
        arrow((t, 0), (t, 1), "#c8c8c8", 0.12, R_H)                                     # forward: U
        arrow((t - 1, 1), (t, 1), "#c8c8c8", 0.12 if t == 0 else R_H, R_H)              # W
        arrow((t, 1), (t, 2), "#c8c8c8", R_H, 0.14)                                     # V
        if reached:                                        # backward: L(t) → o(t) → a(t); a(t+1) → a(t)
            arrow((t + 0.06, 3), (t + 0.06, 2), colors[t], 0.2, 0.14, lw=1.6)
            arrow((t + 0.06, 2), (t + 0.06, 1), colors[t], 0.14, R_H, lw=1.6)
            if t + 1 < T:
                arrow((t + 1, 1.12), (t, 1.12), "black", R_H, R_H, ls="--", lw=1.2)
        shares = norms[t:, t] if reached else np.zeros(0)
        if reached and shares.sum() > 0:                    # the node as a pie of the sources' shares
            start = 90.0
            for s, share in zip(range(t, T), shares / shares.sum()):
                if share > 0:
                    top.add_patch(Wedge((t, 1), R_H, start, start + 360 * share, fc=colors[s],
                                        ec="white", lw=0.5, gid=f"share:{s}:{t}"))
                    start += 360 * share
            top.add_patch(Circle((t, 1), R_H, fill=False, ec="black", lw=1))
        else:
            top.add_patch(Circle((t, 1), R_H, fc="white", ec="#999999", lw=1))
        top.text(t + 0.33, 0.62, f"{a}({t})", fontsize=7, color="#333333")

    # the stacked magnitudes below, on a fixed scale so that frames compare
    stack_max = max(float(np.triu(norms.T).sum(axis=1).max()), float(totals.max()), 1e-300)
    for t in range(t_now, T):
        bottom_y = 0.0
        for s in range(t, T):
            bar = bottom.bar(t, norms[s, t], bottom=bottom_y, width=0.6, color=colors[s], lw=0)
            bar[0].set_gid(f"seg:{s}:{t}")
            bottom_y += norms[s, t]
        bottom.plot([t - 0.36, t + 0.36], [totals[t]] * 2, color="black", lw=2, gid=f"total:{t}")
    bottom.set_xlim(*top.get_xlim())
    bottom.set_ylim(0, 1.08 * stack_max)
    bottom.set_xticks(range(T))
    bottom.set_xlabel("step t")
    bottom.set_ylabel(f"‖∂L(s)/∂{a}(t)‖,\nstacked by s", fontsize=8)
    bottom.tick_params(labelsize=7)
    bottom.spines[["top", "right"]].set_visible(False)
    bottom.text(0.01, 0.97, f"— ‖∂J/∂{a}(t)‖ = ‖Σ_s ∂L(s)/∂{a}(t)‖", transform=bottom.transAxes,
                fontsize=7, va="top")

    from matplotlib.patches import Patch
    handles = [Patch(fc=colors[s], ec="black", lw=0.5, label=f"L({s})") for s in range(T)]
    fig.legend(handles=handles, title="error from", loc="center left",
               bbox_to_anchor=((left + UNIT * (T + 1.2) + 0.1) / width, 0.55),
               fontsize=7, title_fontsize=8, ncol=1 if T <= 16 else 2, frameon=False)
    k = T - 1 - t_now
    fig.suptitle(f"Back-propagation through time, frame {k + 1}/{T}: step t = {t_now}", fontsize=11,
                 y=1 - 0.12 / height, va="top")
    fig.text(0.5, 1 - 0.5 / height, f"∂J/∂{a}({t_now}) = Σ_(s ≥ {t_now}) ∂L(s)/∂{a}({t_now}) needs the errors of "
             f"L({t_now}) … L({T - 1}); each colour is one loss term L(s)", ha="center", fontsize=8.5)
    return fig


def error_frame(trace, k, b=0, *, dpi=80):
    """Frame k of error_animation as a Figure: the backward pass at step t = T−1−k.

    Artists carry gids for inspection: "loss:<s>" (the L(s) node), "share:<s>:<t>" (the wedge
    of L(s) at hidden node t), "seg:<s>:<t>" (the bar segment ‖∂L(s)/∂a(t)‖, or ‖∂L(s)/∂h(t)‖
    of a GRU), "total:<t>". The trace's x and y are (T, B).

    Examples:
        >>> from bptt.viz import demo_trace, error_frame
        >>> fig = error_frame(demo_trace(), 0)                   # k = 0: step t = T − 1 = 3
        >>> sorted(a.get_gid() for a in fig.findobj() if a.get_gid())
        ['loss:0', 'loss:1', 'loss:2', 'loss:3', 'seg:3:3', 'share:3:3', 'total:3']
    """
    fn = "error_frame"
    require_matplotlib(fn)
    trace = check_trace(trace, fn, kinds=KINDS)
    b = check_b(b, trace, fn)
    T = check_steps(trace, fn, MAX_STEPS)
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 0 <= k < T:
        raise ValueError(f"The 'k' parameter of {fn} must be a frame index in [0, {T - 1}]. "
                         f"Got {k!r} instead.")
    norms, totals = _node_norms(trace, b)
    return _draw_frame(trace, b, T - 1 - int(k), norms, totals, source_colors(T), dpi)


def animation_frames(trace, b=0, *, dpi=80):
    """The T frames of error_animation as (height, width, 4) uint8 RGBA arrays, in order:
    frame k is the backward pass at step t = T−1−k.

    Examples:
        >>> from bptt.viz import animation_frames, demo_trace, error_frame, fig_to_rgba
        >>> frames = animation_frames(demo_trace(), dpi=40)
        >>> len(frames), frames[0].shape
        (4, (268, 280, 4))
        >>> bool(np.array_equal(frames[1], fig_to_rgba(error_frame(demo_trace(), 1, dpi=40))))
        True
    """
    fn = "animation_frames"
    require_matplotlib(fn)
    trace = check_trace(trace, fn, kinds=KINDS)
    b = check_b(b, trace, fn)
    check_steps(trace, fn, MAX_STEPS)
    return _frames(trace, b, dpi)


def _frames(trace, b, dpi):
    T = trace.forward.h.shape[0]
    norms, totals = _node_norms(trace, b)
    colors = source_colors(T)
    return [fig_to_rgba(_draw_frame(trace, b, T - 1 - k, norms, totals, colors, dpi)) for k in range(T)]


def error_animation(trace, path, b=0, fps=2, *, dpi=80):
    """An animated GIF of errors flowing back through the unfolded network: T frames, frame k at
    step t = T−1−k, played at `fps` frames per second, looping. Returns the Path written.
    Frames are those of animation_frames, (height, width, 4).

    Examples:
        >>> from PIL import Image
        >>> from bptt.viz import demo_trace, error_animation
        >>> path = error_animation(demo_trace(), "bptt.gif", fps=2, dpi=40)
        >>> gif = Image.open(path)
        >>> gif.n_frames, gif.info["duration"], gif.info["loop"]     # T frames, 500 ms each
        (4, 500, 0)
    """
    fn = "error_animation"
    require_matplotlib(fn)
    Image = require_pillow(fn)
    trace = check_trace(trace, fn, kinds=KINDS)
    b = check_b(b, trace, fn)
    check_steps(trace, fn, MAX_STEPS)
    path = check_path(path, fn)
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not 0 < fps <= 100:
        raise ValueError(f"The 'fps' parameter of {fn} must be a number in (0, 100]. Got {fps!r} instead.")
    frames = _frames(trace, b, dpi)
    # one shared palette, no dithering: the colour of each L(s) stays one flat colour in every frame
    strip = Image.fromarray(np.concatenate([f[..., :3] for f in frames], axis=0))
    palette = strip.quantize(colors=256, method=0, dither=0)          # 0, 0: median cut, no dither
    images = [Image.fromarray(np.ascontiguousarray(f[..., :3])).quantize(palette=palette, dither=0)
              for f in frames]
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:],
                   duration=int(round(1000 / fps)), loop=0)
    return path
