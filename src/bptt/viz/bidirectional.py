"""Errors by source in both directions of a bidirectional RNN (Goodfellow et al. §10.3, fig. 10.11):
where the error of one loss term L(s) goes.

    tr = bptt.SimpleRNN(D, H, O, bidirectional=True).trace(x, y)     # also LSTM, GRU
    fig = bidirectional_flow(tr, s=3)          # L(3)'s error at h(t) and g(t), every t
    bidirectional_flows(tr)                    # {"h": (T, T), "h@rev": (T, T)}: what is drawn

Three panels. Left and middle: the forward chain's ‖∂L(s)/∂h(t)‖ and the backward chain's
‖∂L(s)/∂g(t)‖ (`trace.by_source(layer)["h"]` and `["h@rev"]`, Frobenius norms over the batch and
the units), loss term s down, step t across, on one shared log colour scale; exact zeros are left
blank: the forward chain fills the lower triangle (t <= s: h(t) reaches L(s) through h(t+1), ...,
h(s)), the backward chain the upper one (t >= s: g(t) reaches L(s) through g(t−1), ..., g(s)).
Right: row s of both, against t on a log axis: the two chains meet at t = s, where both read the
output layer of step s, and together they reach every step.

For the LSTM "h" is the block output y(t) (pass path="c" for the cell c(t)); for the simple RNN
path="a" shows the pre-activations a(t). With several layers, `layer` picks one (the top by
default); below the top both directions of a layer receive L(s) at every t.
"""
from __future__ import annotations

import numbers

import numpy as np

from ._common import new_figure, require_matplotlib

TITLES = ("forward chain: ‖∂L(s)/∂{p}(t)‖", "backward chain: ‖∂L(s)/∂{q}(t)‖")
SHOWN = {"h": ("h", "g"), "a": ("a", "a′"), "c": ("c", "c′")}   # the forward / backward names


def _check_trace(trace, fn):
    from ..cells.bidirectional_trace import BidirectionalTrace
    if not isinstance(trace, BidirectionalTrace):
        raise TypeError(f"The 'trace' argument of {fn} must be a BidirectionalTrace, as returned "
                        f"by model.trace(x, y) of a SimpleRNN, LSTM or GRU with "
                        f"bidirectional=True. Got {type(trace).__name__} instead.")
    return trace


def _check_path(trace, path, fn):
    paths = [p for p in trace.source_paths if "@" not in p]
    if path not in paths:
        raise ValueError(f"The 'path' parameter of {fn} must be one of "
                         f"{', '.join(map(repr, paths))} for a {type(trace.model).__name__}. "
                         f"Got {path!r} instead.")
    return path


def bidirectional_flows(trace, *, path="h", layer=-1) -> dict:
    """{path: (T, T), path + "@rev": (T, T)}: [s, t] = ‖∂L(s)/∂path(t)‖ over (B, H) of the
    forward and the backward direction of `layer` (what bidirectional_flow draws).

    Examples:
        >>> from bptt import SimpleRNN
        >>> from bptt.viz import bidirectional_flows
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.integers(0, 4, size=(5, 2)), rng.integers(0, 4, size=(5, 2))   # (T, B)
        >>> flows = bidirectional_flows(SimpleRNN(4, 3, 4, bidirectional=True).trace(x, y))
        >>> flows["h"].shape, bool(np.allclose(np.triu(flows["h"], 1), 0))       # t <= s only
        ((5, 5), True)
        >>> bool(np.allclose(np.tril(flows["h@rev"], -1), 0))                  # t >= s only
        True
    """
    fn = "bidirectional_flows"
    trace = _check_trace(trace, fn)
    path = _check_path(trace, path, fn)
    src = trace.by_source(layer)
    return {k: np.sqrt((src[k] ** 2).sum(axis=(2, 3))) for k in (path, path + "@rev")}


def _check_s(s, T, fn):
    if s is None:
        return T // 2
    if isinstance(s, bool) or not isinstance(s, numbers.Integral):
        raise TypeError(f"The 's' parameter of {fn} must be an int in [0, {T - 1}] (the loss "
                        f"term L(s) to follow) or None. Got {type(s).__name__} instead.")
    if not 0 <= s < T:
        raise ValueError(f"The 's' parameter of {fn} must be an int in [0, {T - 1}]: the trace "
                         f"has T = {T} steps. Got {s} instead.")
    return int(s)


def bidirectional_flow(trace, s=None, *, path="h", layer=-1, figsize=(12.0, 4.0)):
    """The errors by source of both directions of a bidirectional trace, and row `s` (the loss
    term L(s) to follow; default T // 2) of both on a log axis. Returns the Figure. The
    heatmaps are bidirectional_flows' (T, T).

    Examples:
        >>> from bptt import SimpleRNN
        >>> from bptt.viz import bidirectional_flow
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.integers(0, 4, size=(5, 2)), rng.integers(0, 4, size=(5, 2))   # (T, B)
        >>> fig = bidirectional_flow(SimpleRNN(4, 3, 4, bidirectional=True).trace(x, y), s=2)
        >>> fig.axes[2].get_title()
        'the error of L(2) at every step, both directions'
    """
    fn = "bidirectional_flow"
    require_matplotlib(fn)
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Rectangle

    flows = bidirectional_flows(_check_trace(trace, fn), path=path, layer=layer)
    fwd, rev = flows[path], flows[path + "@rev"]
    T = fwd.shape[0]
    s = _check_s(s, T, fn)
    p, q = SHOWN[path]
    positive = np.concatenate([fwd[fwd > 0], rev[rev > 0]])
    hi = positive.max() if positive.size else 1.0
    lo = positive.min() if positive.size else hi / 10
    norm = LogNorm(vmin=lo if lo < hi else hi / 10, vmax=hi)
    fig = new_figure(figsize)
    axes = fig.subplots(1, 3, width_ratios=(1, 1, 1.25))
    ticks = range(0, T, max(1, T // 8))
    for ax, flow, title in zip(axes[:2], (fwd, rev), TITLES):
        im = ax.imshow(np.ma.masked_equal(flow, 0.0), cmap="viridis", norm=norm, origin="upper",
                       interpolation="nearest")
        ax.add_patch(Rectangle((-0.5, s - 0.5), T, 1, fill=False, edgecolor="#d55e00", lw=2))
        ax.set_title(title.format(p=p, q=q) + "\n(blank: exactly 0)", fontsize=9)
        ax.set_xlabel("step t")
        ax.set_ylabel("loss term L(s)")
        ax.set_xticks(ticks)
        ax.set_yticks(ticks)
    fig.colorbar(im, ax=list(axes[:2]), label="‖∂L(s)/∂·(t)‖ (log scale)", shrink=0.85)
    ax = axes[2]
    t = np.arange(T)
    for row, name, colour, marker in ((fwd[s], p, "#1f6feb", "o"), (rev[s], q, "#a21caf", "s")):
        on = row > 0
        ax.plot(t[on], row[on], marker=marker, color=colour, lw=1.6, ms=5,
                label=f"‖∂L({s})/∂{name}(t)‖ ({'t ≤ s' if name == p else 't ≥ s'})")
    ax.axvline(s, color="#d55e00", lw=1, ls="--")
    ax.set_yscale("log")
    ax.set_xlim(-0.5, T - 0.5)
    ax.set_xticks(ticks)
    ax.set_xlabel("step t")
    ax.set_title(f"the error of L({s}) at every step, both directions", fontsize=9)
    ax.legend(fontsize=8, loc="lower center")
    return fig
