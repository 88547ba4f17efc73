"""How far back the error of one loss term reaches, in a SimpleRNN, an LSTM and a GRU side by side.

    flow_comparison([rnn_trace, gru_trace, lstm_trace], ["SimpleRNN", "GRU", "LSTM"])

One panel of curves, the norm of the error that the loss term L(s) sends back to step t against
the distance s − t (log y), one curve per path of each trace:

    SimpleRNN    ‖∂L(s)/∂a(t)‖    through W and g′(a) at every step: decays (or grows) geometrically
    LSTM         ‖∂L(s)/∂c(t)‖    the cell path: each step back multiplies by the forget gate f(t+1)
                                  (plus what comes back through the gates), ≈ 1 for an open gate
                 ‖∂L(s)/∂y(t)‖    the hidden path: through R and the gates' derivatives
    GRU          ‖∂L(s)/∂h(t)‖    its one path: each step back multiplies by the update gate z(t+1)
                                  along the direct path (plus what comes back through the gates)

and below it one heatmap per curve, all on one colour scale: heatmaps="flow" (default) shows the
whole flow matrix, source step s × step t, as `error_flow` does; heatmaps="units" shows, for the
chosen source step only, each hidden unit's error ‖∂L(s)/∂c_k(t)‖ over the steps t (units ×
steps) — the right view when only one loss term is nonzero, as in many-to-one tasks like the
adding problem, whose flow matrix is a single row. Every curve carries the gid "flow:<i>:<path>"
(i: the trace's index; path: "a" for a SimpleRNN, "cell" or "hidden" for an LSTM, "h" for a
GRU: "flow:1:h"), every heatmap the axes label "heatmap:<i>:<path>".

Traces should be of the same task (the same x, y and mask) for the comparison to mean anything;
they may differ in length, and each is drawn of its top layer.
"""
from __future__ import annotations

import numbers

import numpy as np

from ._common import ALL_KINDS, check_b, check_trace, new_figure, require_matplotlib
from .flow import (HEATMAP_CMAP, PATH_NAMES, SYMBOLS, _flow, by_source, distance_curve,
                   draw_heatmap, heatmap_norm, trace_paths)

HEATMAPS = ("flow", "units", None)
COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
STYLES = {"a": "-", "cell": "-", "hidden": "--", "h": "-"}


def _check_source(source, traces, fn):
    """The source step s of every trace: 'last' is each trace's T − 1; an int must fit them all."""
    Ts = [tr.forward.h.shape[0] for tr in traces]
    if isinstance(source, str) and source == "last":
        return [T - 1 for T in Ts]
    if isinstance(source, numbers.Integral) and not isinstance(source, bool) and 0 <= source < min(Ts):
        return [int(source)] * len(Ts)
    raise ValueError(f"The 'source' parameter of {fn} must be 'last' or a step s in "
                     f"[0, {min(Ts) - 1}] (the shortest trace has T = {min(Ts)}). Got {source!r} instead.")


def _check_labels(labels, traces, fn):
    if labels is None:
        names = [type(tr.model).__name__ for tr in traces]
        return [n if names.count(n) == 1 else f"{n} {i}" for i, n in enumerate(names)]
    if (isinstance(labels, str) or not isinstance(labels, (list, tuple)) or len(labels) != len(traces)
            or not all(isinstance(lb, str) for lb in labels)):
        raise ValueError(f"The 'labels' parameter of {fn} must be a list of {len(traces)} str, one "
                         f"per trace. Got {labels!r} instead.")
    return list(labels)


def unit_errors(trace, path, s, b=None) -> np.ndarray:
    """(H, T): [k, t] = |∂L(s)/∂·_k(t)| of sequence b, or its norm over the batch (b=None), for
    hidden unit k of the top layer along `path` ("a", "cell", "hidden" or "h"); zero for t > s."""
    src = by_source(trace, path)[s]                                   # (T, B, H) ∂L(s)/∂·(t)
    per_unit = np.abs(src[:, b]) if b is not None else np.sqrt((src ** 2).sum(axis=1))  # (T, H)
    return per_unit.T


def _draw_units(fig, ax, data, s, title, symbol, one, norm):
    import matplotlib
    from matplotlib.ticker import MaxNLocator

    H, T = data.shape
    cmap = matplotlib.colormaps[HEATMAP_CMAP].with_extremes(bad="white")
    im = ax.imshow(np.ma.masked_where(~(data > 0), data), cmap=cmap, norm=norm, aspect="auto",
                   interpolation="nearest", origin="upper")
    unit = symbol.replace("(t)", "ₖ(t)").replace("L(s)", f"L({s})")
    if norm is None:
        ax.text(0.5, 0.5, f"every {unit} is zero", transform=ax.transAxes, ha="center", va="center")
    else:
        bars = "|{}|" if one else "‖{}‖ over the batch"
        fig.colorbar(im, ax=ax, label=bars.format(unit) + " (log scale)", shrink=0.9)
    ax.set_xlabel("step t")
    ax.set_ylabel("hidden unit k")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(T, 10)))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(H, 8)))
    ax.set_title(title, fontsize=9)


def flow_comparison(traces, labels=None, *, source="last", b=None, heatmaps="flow"):
    """The norm of one loss term's error against the distance s − t (log y), for each trace and
    each of its paths (SimpleRNN: ‖∂L(s)/∂a(t)‖; LSTM: the cell path ‖∂L(s)/∂c(t)‖ and the hidden
    path ‖∂L(s)/∂y(t)‖; GRU: ‖∂L(s)/∂h(t)‖), above one heatmap per curve.

    traces: a list of Trace, LSTMTrace and GRUTrace objects, of the same task. labels: a name for each
    (default: the model's class). source: 'last' (s = T − 1 of each trace) or one step s.
    b: None for the whole batch (norms over B and H), or one sequence. heatmaps: "flow" (the
    (s, t) flow matrix), "units" (hidden unit × step t for the source step), or None (curves only).
    Heatmaps are (T, T) ("flow") or (H, T) ("units").

    Examples:
        >>> from bptt import GRU, LSTM
        >>> from bptt.viz import flow_comparison
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.integers(0, 4, size=(5, 2)), rng.integers(0, 4, size=(5, 2))   # (T, B)
        >>> traces = [GRU(4, 3, 4, seed=0).trace(x, y), LSTM(4, 3, 4, seed=0).trace(x, y)]
        >>> fig = flow_comparison(traces, heatmaps=None)
        >>> [line.get_gid() for line in fig.axes[0].lines]
        ['flow:0:h', 'flow:1:cell', 'flow:1:hidden']
    """
    fn = "flow_comparison"
    require_matplotlib(fn)
    from matplotlib.ticker import MaxNLocator

    if isinstance(traces, (str, bytes)) or not isinstance(traces, (list, tuple)) or not traces:
        raise ValueError(f"The 'traces' argument of {fn} must be a non-empty list of traces "
                         f"(model.trace(x, y) of a SimpleRNN, an LSTM or a GRU). Got {traces!r:.80} "
                         f"instead.")
    traces = [check_trace(tr, fn, one_layer=False, kinds=ALL_KINDS) for tr in traces]
    labels = _check_labels(labels, traces, fn)
    sources = _check_source(source, traces, fn)
    bs = [None if b is None else check_b(b, tr, fn) for tr in traces]
    if heatmaps not in HEATMAPS:
        raise ValueError(f"The 'heatmaps' parameter of {fn} must be 'flow', 'units' or None. "
                         f"Got {heatmaps!r} instead.")
    curves = [(i, p) for i, tr in enumerate(traces) for p in trace_paths(tr)]
    n = len(curves)
    fig = new_figure((max(9.0, 4.1 * n), 8.6 if heatmaps else 4.6))
    grid = fig.add_gridspec(2 if heatmaps else 1, n, height_ratios=(1.05, 1) if heatmaps else None)
    ax = fig.add_subplot(grid[0, :])
    ax.set_label("distance")
    lines, longest = [], 0
    for i, p in curves:
        tr, s, bb = traces[i], sources[i], bs[i]
        flow = _flow(tr, p, bb)                                         # (T, T)
        d, y = distance_curve(flow, s)
        lines.append(y)
        longest = max(longest, s)
        sym = SYMBOLS[p].replace("L(s)", f"L({s})")
        name = f"{labels[i]}: ‖{sym}‖" + (f", {PATH_NAMES[p]}" if PATH_NAMES[p] else "")
        if np.isfinite(y[0]) and np.isfinite(y[-1]) and s > 0:
            name += f" — ×{y[-1] / y[0]:.1e} after {s} steps"
        ax.plot(d, y, STYLES[p], color=COLORS[i % len(COLORS)], lw=1.6, marker="o" if s < 30 else None,
                ms=3, label=name, gid=f"flow:{i}:{p}")
    if any(np.nanmax(np.r_[y, -1.0]) > 0 for y in lines):
        ax.set_yscale("log")
    ax.set_xlim(-0.5, longest + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("distance s − t (steps back from the loss term L(s))")
    ax.set_ylabel("norm of the error that L(s) sends to step t")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    who = "the whole batch" if b is None else f"sequence b = {b}"
    what = "the last loss term" if source == "last" else f"the loss term L({source})"
    ax.set_title(f"How far back the error of {what} reaches ({who})", fontsize=11)
    if heatmaps:
        data = [_flow(traces[i], p, bs[i]) if heatmaps == "flow" else
                unit_errors(traces[i], p, sources[i], bs[i]) for i, p in curves]
        shared = heatmap_norm(np.concatenate([m.ravel() for m in data]))   # one colour scale for all
        for col, ((i, p), m) in enumerate(zip(curves, data)):
            hx = fig.add_subplot(grid[1, col])
            s, bb = sources[i], bs[i]
            where = f", {PATH_NAMES[p]}" if PATH_NAMES[p] else ""
            norm = shared if (m > 0).any() else None
            if heatmaps == "flow":
                draw_heatmap(fig, hx, m, f"{labels[i]}: ‖{SYMBOLS[p]}‖{where}", SYMBOLS[p], norm)
            else:
                _draw_units(fig, hx, m, s, f"{labels[i]}: error of L({s}) per unit{where}",
                            SYMBOLS[p], bb is not None, norm)
            hx.set_label(f"heatmap:{i}:{p}")
    return fig
