"""Errors flowing back through time: where each loss term's error goes, and how it shrinks or grows.

For a loss term L(s) and a step t <= s, ∂L(s)/∂a(t) is the part of the error at step t that comes
from the loss at step s (summed over s it is ∂J/∂a(t)). trace.flow[s, t] is its norm.

    error_flow(trace)         heatmap of ‖∂L(s)/∂a(t)‖ (source step s × step t, log colours), and
                              beside it that norm against the distance s − t (log y); an LSTM's
                              ‖∂L(s)/∂c(t)‖ (cell path, default) or ‖∂L(s)/∂y(t)‖ (path="hidden"),
                              a GRU's ‖∂L(s)/∂h(t)‖
    vanishing_exploding()     the same for W = r·Q (Q orthogonal), r < 1 and r > 1, with r^(s−t)

Why W = r·Q: every singular value of r·Q is r, so with the identity activation each step back
multiplies the norm of the error by exactly r: ‖∂L(s)/∂a(t)‖ = r^(s−t)·‖∂L(s)/∂a(s)‖, a straight
line of slope log r on a log scale, decaying for r < 1 and growing for r > 1. With tanh the factor
g'(a) <= 1 makes the decay faster and tames the growth where units saturate; the second row of
vanishing_exploding shows it.

Which error each trace shows (its "path"), always of the top recurrent layer:

    SimpleRNN, 1 layer      ∂L(s)/∂a(t)     trace.flow
    SimpleRNN, L layers     ∂L(s)/∂a(t) of the top layer (computed here from the top layer's
                            h(t) and errors: L(s) reaches its a(t) only through its own W)
    LSTM, path="cell"       ∂L(s)/∂c(t)     trace.flow      the cell path (the default)
    LSTM, path="hidden"     ∂L(s)/∂y(t)     trace.flow_h    the hidden path
    GRU                     ∂L(s)/∂h(t)     trace.flow      its one path "h" (the state, reached
                                                            through z ⊙ h(t−1) and the gates)
"""
from __future__ import annotations

import numbers

import numpy as np

from ._common import (ALL_KINDS, MODEL_NAMES, check_b, check_trace, format_number, new_figure,
                      require_matplotlib, trace_kind)

HEATMAP_CMAP = "viridis"
ANNOTATE_MAX_T = 8          # heatmaps up to this size show their numbers in the cells


# Each kind's paths, the first being the default: path -> (its key in trace.errors_by_source,
# the trace's attribute holding its flow matrix). A path's name is unique across kinds.
KIND_PATHS = {
    "rnn": {"a": ("a", "flow")},
    "lstm": {"cell": ("c", "flow"), "hidden": ("h", "flow_h")},
    "gru": {"h": ("h", "flow")},
}
SYMBOLS = {"a": "∂L(s)/∂a(t)", "cell": "∂L(s)/∂c(t)", "hidden": "∂L(s)/∂y(t)", "h": "∂L(s)/∂h(t)"}
PATH_NAMES = {"a": "", "cell": "cell path", "hidden": "hidden path", "h": ""}
# Why ρ(W)^(s−t) (error_flow's reference line) describes no kind but the SimpleRNN
NO_REFERENCE = {
    "lstm": "an LSTM's error has no such line (the cell path is scaled by the forget gates f(t), "
            "the hidden path by R and the gates)",
    "gru": "a GRU's error has no such line (the direct path is scaled by the update gates z(t), "
           "the rest goes through W_r, W_z, W_n and the gates)",
}


def trace_paths(trace) -> tuple:
    """The paths of a trace: ("a",) SimpleRNN, ("cell", "hidden") LSTM, ("h",) GRU."""
    return tuple(KIND_PATHS[trace_kind(trace)])


def check_flow_path(path, trace, fn: str) -> str:
    """The path whose error a trace shows: "a" for a SimpleRNN; "cell" (default) or "hidden" for
    an LSTM; "h" for a GRU. path=None picks the default for the trace's kind."""
    kind = trace_kind(trace)
    paths = tuple(KIND_PATHS[kind])
    if path is None:
        return paths[0]
    if len(paths) > 1:
        if isinstance(path, str) and path in paths:
            return path
        choices = [f"{p!r} (‖{SYMBOLS[p]}‖)" for p in paths]
        raise ValueError(f"The 'path' parameter of {fn} must be None, {', '.join(choices[:-1])} or "
                         f"{choices[-1]} for an {MODEL_NAMES[kind]} trace. Got {path!r} instead.")
    raise ValueError(f"The 'path' parameter of {fn} chooses between the cell and hidden paths of "
                     f"an LSTM trace; a {MODEL_NAMES[kind]} trace has one path "
                     f"(‖{SYMBOLS[paths[0]]}‖) and takes path=None. Got {path!r} instead.")


def top_layer_by_source(trace) -> np.ndarray:
    """(T, T, B, H): [s, t] = ∂L(s)/∂a(t) of the top layer of a SimpleRNN with several layers.

    L(s) reaches the top layer's a(t) only through the top layer's own recurrence (no layer reads
    from the one above it), so the one-layer recursion of `bptt.cells.rnn.trace.errors_by_source` applies
    with the top layer's W and h(t)."""
    from types import SimpleNamespace

    from ..cells.layers import layer_key
    from ..cells.rnn.trace import errors_by_source

    model = trace.model
    T, B, H = trace.forward.h.shape
    trace._check_size("errors_by_source", (2, T, T, B, H))
    top = SimpleNamespace(params={"W": model.params[layer_key("W", model.num_layers - 1)],
                                  "V": model.params["V"]}, act=model.act)
    return errors_by_source(top, trace.forward.h, trace.errors["o"])["a"]


def _stacked_rnn(trace) -> bool:
    return trace_kind(trace) == "rnn" and getattr(trace.model, "num_layers", 1) != 1


def by_source(trace, path="a") -> np.ndarray:
    """(T, T, B, H): [s, t] = ∂L(s)/∂·(t) of the top layer along `path` ("a", "cell", "hidden", "h")."""
    if _stacked_rnn(trace):
        return top_layer_by_source(trace)
    return trace.errors_by_source[KIND_PATHS[trace_kind(trace)][path][0]]


def flow_matrix(trace, b=None, *, path=None) -> np.ndarray:
    """(T, T): [s, t] = ‖∂L(s)/∂a(t)‖ (a SimpleRNN), ‖∂L(s)/∂c(t)‖ (an LSTM, path="cell", the
    default) or ‖∂L(s)/∂y(t)‖ (path="hidden"), or ‖∂L(s)/∂h(t)‖ (a GRU), over the whole batch or
    sequence b only.

    Examples:
        >>> from bptt.viz import demo_trace, flow_matrix
        >>> tr = demo_trace()                                  # errors_by_source (T, T, B, H)
        >>> by_hand = np.linalg.norm(tr.errors_by_source["a"].reshape(4, 4, -1), axis=-1)
        >>> bool(np.allclose(flow_matrix(tr), by_hand))
        True
    """
    fn = "flow_matrix"
    trace = check_trace(trace, fn, one_layer=False, kinds=ALL_KINDS)
    path = check_flow_path(path, trace, fn)
    if b is not None:
        b = check_b(b, trace, fn)
    return _flow(trace, path, b)


def _flow(trace, path, b):
    """flow_matrix on checked arguments; the trace's own flow where it has one."""
    if b is None:
        if _stacked_rnn(trace):
            return np.sqrt((top_layer_by_source(trace) ** 2).sum(axis=(2, 3)))
        return getattr(trace, KIND_PATHS[trace_kind(trace)][path][1])
    return np.sqrt((by_source(trace, path)[:, :, b] ** 2).sum(axis=-1))


def top_spectral_radius(trace) -> float:
    """ρ(W) of the top layer's W (trace.spectral_radius for one layer)."""
    from ..cells.layers import layer_key

    L = getattr(trace.model, "num_layers", 1)
    if L == 1:
        return trace.spectral_radius
    return float(np.abs(np.linalg.eigvals(trace.model.params[layer_key("W", L - 1)])).max())


def heatmap_norm(flow):
    """The LogNorm of a flow heatmap: from the smallest to the largest nonzero entry (None if all zero)."""
    from matplotlib.colors import LogNorm

    pos = flow[flow > 0]
    if pos.size == 0:
        return None
    lo, hi = float(pos.min()), float(pos.max())
    return LogNorm(vmin=lo if lo < hi else hi / 10, vmax=hi)


def draw_heatmap(fig, ax, flow, title, symbol=SYMBOLS["a"], norm=None):
    """The flow heatmap on `ax`: rows s, columns t, zeros (t > s, masked terms) left blank;
    `symbol` names the error whose norm it shows; `norm` is its own LogNorm unless given."""
    import matplotlib
    from matplotlib.ticker import MaxNLocator

    T = flow.shape[0]
    cmap = matplotlib.colormaps[HEATMAP_CMAP].with_extremes(bad="white")
    norm = heatmap_norm(flow) if norm is None else norm
    data = np.ma.masked_where(~(flow > 0), flow)
    im = ax.imshow(data, cmap=cmap, norm=norm, origin="upper", interpolation="nearest",
                   extent=(-0.5, T - 0.5, T - 0.5, -0.5))
    if norm is None:
        ax.text(0.5, 0.5, f"no error flows: every {symbol} is zero", transform=ax.transAxes,
                ha="center", va="center", fontsize=9)
    else:
        fig.colorbar(im, ax=ax, label=f"‖{symbol}‖ (log scale)", shrink=0.9)
        if T <= ANNOTATE_MAX_T:                      # the numbers themselves, in small heatmaps
            for s, t in zip(*np.nonzero(flow > 0)):
                light = norm(flow[s, t]) > 0.6
                ax.text(t, s, f"{flow[s, t]:.2g}", ha="center", va="center", fontsize=8,
                        color="black" if light else "white")
    ax.set_xlabel("step t (where the error arrives)")
    ax.set_ylabel("source step s (loss term L(s))")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(T, 10)))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(T, 10)))
    ax.set_title(title, fontsize=10)
    ax.set_label("flow")
    return im


def distance_curve(flow, s):
    """(d, flow[s, s − d]) for d = 0..s, e.g. ‖∂L(s)/∂a(s−d)‖; zeros become NaN (for log scales)."""
    d = np.arange(s + 1)
    vals = flow[s, s - d]
    return d, np.where(vals > 0, vals, np.nan)


def _log_if_positive(ax, lines):
    if any(np.nanmax(np.r_[y, -1.0]) > 0 for y in lines):
        ax.set_yscale("log")


def draw_distance(ax, flow, sources, *, rho=None, title="", symbol=SYMBOLS["a"]):
    """‖∂L(s)/∂a(t)‖ (or `symbol`'s) against s − t, one line per source step s; with rho, ρ^(s−t)."""
    import matplotlib
    from matplotlib.ticker import MaxNLocator

    T = flow.shape[0]
    colors = matplotlib.colormaps["plasma"](np.linspace(0.0, 0.85, max(len(sources), 1)))
    ys = []
    for color, s in zip(colors, sources):
        d, y = distance_curve(flow, s)
        ys.append(y)
        ax.plot(d, y, marker="o", ms=3, lw=1.2, color=color, label=f"s = {s}", gid=f"flow:s={s}")
    if rho is not None and sources:
        s = sources[-1]
        d = np.arange(s + 1)
        ref = flow[s, s] * rho ** d
        ax.plot(d, ref, ls="--", color="black", lw=1, gid="reference",
                label=f"‖∂L({s})/∂a({s})‖·ρ(W)ˢ⁻ᵗ, ρ = {format_number(rho)}")
        ys.append(ref)
    _log_if_positive(ax, ys)
    ax.set_xlabel("distance s − t (steps back from the loss term)")
    ax.set_ylabel(f"‖{symbol}‖")
    ax.set_xlim(-0.5, T - 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(T, 10)))
    ax.grid(True, which="major", alpha=0.3)
    if len(sources) + (rho is not None) <= 10:
        ax.legend(fontsize=7, loc="best", ncol=1 if len(sources) <= 5 else 2)
    ax.set_title(title, fontsize=10)
    ax.set_label("distance")


def _check_source(source, T, fn):
    if source in ("last", "all"):
        return list(range(T)) if source == "all" else [T - 1]
    if isinstance(source, numbers.Integral) and not isinstance(source, bool) and 0 <= source < T:
        return [int(source)]
    raise ValueError(f"The 'source' parameter of {fn} must be 'last', 'all' or a step s in "
                     f"[0, {T - 1}]. Got {source!r} instead.")


def error_flow(trace_or_traces, *, b=None, source="last", reference=False, labels=None, path=None):
    """The error-flow heatmap and, beside it, the error norm against the distance s − t.

    trace_or_traces: one trace, or a list of them (one row each): the Trace of a SimpleRNN
    (‖∂L(s)/∂a(t)‖; of the top layer if it has several), the LSTMTrace of an LSTM or the GRUTrace
    of a GRU (‖∂L(s)/∂h(t)‖), each of its top layer. b: None for the whole batch, or one
    sequence. source: the lines of the right panel, 'last' (s = T − 1), 'all' (one per s) or
    one step s. reference: also draw
    ‖∂L(s)/∂a(s)‖·ρ(W)^(s−t), exact for the identity activation with W = r·(orthogonal); SimpleRNN
    traces only. labels: a title for each row. path: for LSTM traces, "cell" (the default,
    ‖∂L(s)/∂c(t)‖, trace.flow) or "hidden" (‖∂L(s)/∂y(t)‖, trace.flow_h); None for SimpleRNN;
    or a list with one path per trace: error_flow([tr, tr], path=["cell", "hidden"]) draws both;
    None for GRU traces (one path, "h"). The heatmap is flow_matrix (T, T).

    Examples:
        >>> from bptt.viz import demo_trace, error_flow, flow_matrix
        >>> heatmap = error_flow(demo_trace()).axes[0].images[0].get_array()   # zeros masked
        >>> bool(np.allclose(heatmap.filled(0), flow_matrix(demo_trace())))
        True
    """
    fn = "error_flow"
    require_matplotlib(fn)
    traces = list(trace_or_traces) if isinstance(trace_or_traces, (list, tuple)) else [trace_or_traces]
    if not traces:
        raise ValueError(f"The 'trace_or_traces' argument of {fn} must be a Trace or a non-empty "
                         f"list of Traces. Got an empty {type(trace_or_traces).__name__}.")
    traces = [check_trace(tr, fn, one_layer=False, kinds=ALL_KINDS) for tr in traces]
    if isinstance(path, (list, tuple)):
        if len(path) != len(traces):
            raise ValueError(f"The 'path' parameter of {fn} must be one path for every trace, or "
                             f"a list of {len(traces)}, one per trace. Got {path!r} instead.")
        paths = [check_flow_path(p, tr, fn) for p, tr in zip(path, traces)]
    else:
        paths = [check_flow_path(path, tr, fn) for tr in traces]
    others = [k for k in NO_REFERENCE if any(trace_kind(tr) == k for tr in traces)]
    if reference and others:
        raise ValueError(f"The 'reference' parameter of {fn} draws ρ(W)^(s−t), the decay of a "
                         f"SimpleRNN's error through one matrix W per step; "
                         f"{'; '.join(NO_REFERENCE[k] for k in others)}. Pass reference=False "
                         f"for {' and '.join(MODEL_NAMES[k] for k in others)} traces.")
    if labels is None:
        labels = [None] * len(traces)
    elif isinstance(labels, str) or len(labels) != len(traces):
        raise ValueError(f"The 'labels' parameter of {fn} must be a list of {len(traces)} titles, one "
                         f"per trace. Got {labels!r} instead.")
    rows = [(None if b is None else check_b(b, tr, fn)) for tr in traces]
    fig = new_figure((11.5, 4.2 * len(traces)))
    axes = fig.subplots(len(traces), 2, squeeze=False, width_ratios=(1.15, 1))
    for row, (tr, label, p, bb) in enumerate(zip(traces, labels, paths, rows)):
        flow = _flow(tr, p, bb)
        sources = _check_source(source, flow.shape[0], fn)
        who = "the whole batch" if bb is None else f"sequence b = {bb}"
        layers = getattr(tr.model, "num_layers", 1)
        where = ", ".join(x for x in (PATH_NAMES[p], "top layer" if layers > 1 else "") if x)
        where = f" ({where})" if where else ""
        head = f"{label}: " if label else ""
        symbol = SYMBOLS[p]
        draw_heatmap(fig, axes[row, 0], flow, f"{head}error flow ‖{symbol}‖{where}, {who}", symbol)
        what = "the last loss term" if source == "last" else "each loss term L(s)"
        draw_distance(axes[row, 1], flow, sources, rho=top_spectral_radius(tr) if reference else None,
                      title=f"{head}how far back the error of {what} reaches", symbol=symbol)
    return fig


def orthogonal_rnn_trace(radius, *, seed=0, T=30, H=8, activation="identity"):
    """The Trace of a SimpleRNN whose W = radius·Q (Q a random orthogonal matrix), so that
    ρ(W) = ‖W‖₂ = radius. D = O = 2, identity output with squared error, B = 1, random x and y
    (T, 1, 2). The same seed gives the same Q, U, V, x and y for every radius.

    Examples:
        >>> from bptt.viz import orthogonal_rnn_trace
        >>> W = orthogonal_rnn_trace(0.9, T=6, H=4).model.params["W"]        # (H, H)
        >>> bool(np.allclose(np.linalg.svd(W, compute_uv=False), 0.9))
        True
    """
    from ..cells.rnn.model import SimpleRNN

    fn = "orthogonal_rnn_trace"
    if isinstance(radius, bool) or not isinstance(radius, numbers.Real) or not 0 < radius < np.inf:
        raise ValueError(f"The 'radius' parameter of {fn} must be a finite number > 0. "
                         f"Got {radius!r} instead.")
    for name, value, least in (("T", T, 2), ("H", H, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
            raise ValueError(f"The '{name}' parameter of {fn} must be an int >= {least}. "
                             f"Got {value!r} instead.")
    rng = np.random.default_rng(seed)
    model = SimpleRNN(2, H, 2, activation=activation, output="identity", seed=rng)
    q, r = np.linalg.qr(rng.normal(size=(H, H)))
    model.params["W"] = float(radius) * q * np.sign(np.diag(r))           # W = r·Q, Q orthogonal
    x, y = rng.normal(size=(T, 1, 2)), rng.normal(size=(T, 1, 2))
    return model.trace(x, y)


def _regime(r):
    return "vanishing" if r < 1 else "exploding" if r > 1 else "preserved"


def vanishing_exploding(seed=0, T=30, H=8, radii=(0.8, 1.2), activations=("identity", "tanh")):
    """Vanishing and exploding errors side by side, from models with W = r·Q (Q orthogonal).

    One row per activation (the default shows both: identity gives the clean geometric r^(s−t),
    tanh the saturating real case); in each row a heatmap per radius r and one panel of
    ‖∂L(T−1)/∂a(t)‖ against s − t for every radius, with the dashed reference ‖∂L(s)/∂a(s)‖·r^(s−t).
    Lines carry the gids "flow:<i>" and "reference:<i>" for radii[i]. Heatmaps (T, T).

    Examples:
        >>> from bptt.viz import vanishing_exploding
        >>> ax = vanishing_exploding(T=10, H=4, activations=("identity",)).axes[2]   # distances
        >>> y = {line.get_gid(): line.get_ydata() for line in ax.lines}
        >>> bool(np.allclose(y["flow:0"], y["reference:0"]))         # exactly r^(s−t)
        True
    """
    from ..nn.activations import ACTIVATIONS

    fn = "vanishing_exploding"
    require_matplotlib(fn)
    if isinstance(radii, (int, float)) or len(radii) < 1:
        raise ValueError(f"The 'radii' parameter of {fn} must be a non-empty sequence of numbers > 0. "
                         f"Got {radii!r} instead.")
    if isinstance(activations, str):
        activations = (activations,)
    for act in activations:
        if act not in ACTIVATIONS:
            raise ValueError(f"The 'activations' parameter of {fn} must hold names from "
                             f"{', '.join(map(repr, ACTIVATIONS))}. Got {act!r} instead.")
    if len(activations) < 1:
        raise ValueError(f"The 'activations' parameter of {fn} must name at least one activation.")
    n = len(radii)
    fig = new_figure((3.6 * n + 5.2, 3.9 * len(activations)))
    axes = fig.subplots(len(activations), n + 1, squeeze=False, width_ratios=(1,) * n + (1.35,))
    colors = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
    for row, act in enumerate(activations):
        ys = []
        ax_d = axes[row, n]
        for i, r in enumerate(radii):
            tr = orthogonal_rnn_trace(r, seed=seed, T=T, H=H, activation=act)
            flow = tr.flow
            draw_heatmap(fig, axes[row, i], flow, f"g = {act}, ρ(W) = {format_number(r)}: {_regime(r)}")
            d, y = distance_curve(flow, T - 1)
            color = colors[i % len(colors)]
            ax_d.plot(d, y, marker="o", ms=2.5, lw=1.3, color=color, gid=f"flow:{i}",
                      label=f"ρ = {format_number(r)}: ‖∂L({T - 1})/∂a(t)‖")
            ref = flow[T - 1, T - 1] * float(r) ** d
            ax_d.plot(d, ref, ls="--", lw=1, color=color, alpha=0.7, gid=f"reference:{i}",
                      label=f"‖∂L({T - 1})/∂a({T - 1})‖·{format_number(r)}ˢ⁻ᵗ")
            ys += [y, ref]
        _log_if_positive(ax_d, ys)
        ax_d.set_xlabel(f"distance s − t (s = {T - 1}, the last loss term)")
        ax_d.set_ylabel("‖∂L(s)/∂a(t)‖")
        ax_d.grid(True, alpha=0.3)
        ax_d.legend(fontsize=7)
        ax_d.set_title(f"g = {act}: the error of L({T - 1}) going back in time", fontsize=10)
        ax_d.set_label("distance")
    fig.suptitle(f"Vanishing and exploding errors: W = ρ·(orthogonal), T = {T}, H = {H}; "
                 f"each step back multiplies the error by Wᵀ (and g′(a(t)))", fontsize=11)
    return fig
