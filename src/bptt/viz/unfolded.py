"""The unfolded network of the article, drawn from the numbers of one trace.

One column per time step t, with h(−1) = h0 at the left; from the bottom to the top, as in the
article (inputs come from the bottom, outputs go up):

    L(t)          the loss term of step t (and the target y(t))
    o(t) / ŷ(t)   ŷ(t) = f(o(t)),  o(t) = c + V h(t)          ← V arrows
    a(t) / h(t)   a(t) = b + W h(t−1) + U x(t),  h(t) = g(a(t))   ← U arrows, W arrows from h(t−1)
    x(t)          the input

Every node shows its values (rounded; the first few of a longer vector and "…"). The shared
parameters U, W, V label their arrows once, in the first column, and a panel at the right lists
θ = {U, W, b, V, c} once: one set of parameters used at every step.
"""
from __future__ import annotations

import numpy as np

from ._common import (check_b, check_steps, check_trace, format_number, format_values,
                      new_figure, require_matplotlib)

MAX_STEPS = 16
COLORS = {"x": "#ececec", "h": "#dbe9f6", "o": "#fde4cc", "L": "#f7d6d6", "h0": "#f2f2f2"}
ARROWS = {"U": "#2a9d8f", "W": "#c99a06", "V": "#7b5ea7", "f": "#9a9a9a"}   # W: the article's yellow
ROWS = {"x": 0, "h": 1, "o": 2, "L": 3}
COL_IN = 2.4            # inches per column
PANEL_IN = 2.7          # inches for the panel of shared parameters


def _token_label(i, vocab):
    return f"'{vocab[i]}'" if vocab is not None else f"token {i}"


def _param_block(name, p, decimals):
    shape = "×".join(str(n) for n in p.shape) if p.ndim > 1 else f"{p.shape[0]},"
    head = f"{name} ({shape})"
    if p.ndim == 1:
        return f"{head}\n  {format_values(p, decimals, 4)}"
    if max(p.shape) > 5:
        return f"{head}  ‖{name}‖ = {format_number(np.linalg.norm(p), decimals)}"
    rows = [" ".join(f"{format_number(v, decimals):>5}" for v in row) for row in p]
    return head + "\n" + "\n".join("  " + r for r in rows)


def unfolded_network(trace, b=0, *, vocab=None, decimals=2, max_values=4):
    """The unfolded network of sequence `b` of `trace`, annotated with its real values.

    vocab: optional sequence of token strings (id -> string) for token inputs and class targets,
    e.g. bptt.viz.DEMO_VOCAB. decimals / max_values: how node vectors are written. Each node's
    text artist has the gid "node:<x|h|o|L>:<t>" (and "node:h0") for tests and post-editing.
    Returns a matplotlib Figure; at most MAX_STEPS = 16 steps. The trace's x, y are (T, B);
    each node shows its row of a(t), h(t) (T, B, H) and o(t), ŷ(t) (T, B, O).

    Examples:
        >>> from bptt.viz import DEMO_VOCAB, demo_trace, unfolded_network
        >>> fig = unfolded_network(demo_trace(), vocab=DEMO_VOCAB)
        >>> text = {a.get_gid(): a.get_text() for a in fig.texts + fig.axes[0].texts if a.get_gid()}
        >>> print(text["node:x:0"]); print(text["node:h:0"])
        x(0) = 'h'
        a(0) [-0.70, 0.67, 0.67]
        h(0) [-0.60, 0.59, 0.59]
    """
    fn = "unfolded_network"
    require_matplotlib(fn)
    trace = check_trace(trace, fn)
    b = check_b(b, trace, fn)
    T = check_steps(trace, fn, MAX_STEPS)
    from ..nn.losses import per_step_loss

    model, fwd = trace.model, trace.forward
    tokens_in = trace.x.dtype.kind in "iu"
    classes = model.output == "softmax"
    losses = per_step_loss(model.output, fwd.o[:, b], trace.y[:, b])         # L(t) of sequence b  (T,)
    vec = lambda v: format_values(v, decimals, max_values)                   # noqa: E731

    width = COL_IN * (T + 1) + PANEL_IN
    fig = new_figure((width, 6.6), layout=None)
    main_w = COL_IN * (T + 1) / width
    ax = fig.add_axes((0.0, 0.02, main_w, 0.84))
    ax.set_xlim(-1.5, T - 0.5)
    ax.set_ylim(-0.5, 3.5)
    ax.set_axis_off()
    panel = fig.add_axes((main_w, 0.02, 1 - main_w, 0.84))
    panel.set_axis_off()

    def node(kind, t, text, col=None):
        col = t if col is None else col
        art = ax.text(col, ROWS[kind], text, ha="center", va="center", fontsize=8, linespacing=1.35,
                      bbox=dict(boxstyle="round,pad=0.45", fc=COLORS["h0" if t == "h0" else kind],
                                ec="#555555", lw=0.8))
        art.set_gid(f"node:{kind}:{t}" if t != "h0" else "node:h0")
        return art

    def arrow(src, dst, color, start, end):
        ax.annotate("", xy=end, xycoords=dst, xytext=start, textcoords=src,
                    arrowprops=dict(arrowstyle="-|>", color=color, lw=1.4, shrinkA=1, shrinkB=1))

    h_prev = node("h", "h0", f"h(−1) = h0\n{vec(trace.h0[b])}", col=-1)
    for t in range(T):
        if tokens_in:
            xt = f"x({t}) = {_token_label(int(trace.x[t, b]), vocab)}"
        else:
            xt = f"x({t})\n{vec(trace.x[t, b])}"
        n_x = node("x", t, xt)
        n_h = node("h", t, f"a({t}) {vec(fwd.a[t, b])}\nh({t}) {vec(fwd.h[t, b])}")
        n_o = node("o", t, f"o({t}) {vec(fwd.o[t, b])}\nŷ({t}) {vec(fwd.y_hat[t, b])}")
        target = (f"y({t}) = {_token_label(int(trace.y[t, b]), vocab)}" if classes
                  else f"y({t}) {vec(trace.y[t, b])}")
        weight = float(trace.mask[t, b])
        masked = "" if weight == 1.0 else f"\nmask {format_number(weight, decimals)}"
        n_L = node("L", t, f"L({t}) = {format_number(losses[t], 3)}\n{target}{masked}")
        arrow(n_x, n_h, ARROWS["U"], (0.5, 1), (0.5, 0))
        arrow(h_prev, n_h, ARROWS["W"], (1, 0.5), (0, 0.5))
        arrow(n_h, n_o, ARROWS["V"], (0.5, 1), (0.5, 0))
        arrow(n_o, n_L, ARROWS["f"], (0.5, 1), (0.5, 0))
        h_prev = n_h

    # the shared parameters, labelled once: on the arrows of the first column
    for name, xy, off in (("U", (0, 0.5), (7, 0)), ("V", (0, 1.5), (7, 0)), ("W", (-0.5, 1), (0, 7))):
        ax.annotate(name, xy=xy, xytext=off, textcoords="offset points", color=ARROWS[name],
                    fontsize=12, fontweight="bold", ha="left" if name != "W" else "center",
                    va="center" if name != "W" else "bottom")

    g = model.activation
    y_hat = "softmax(o(t))" if classes else "o(t)"
    loss_name = "−log ŷ(t)[y(t)]" if classes else "½‖o(t) − y(t)‖²"
    B = trace.x.shape[1]
    if B == 1 and np.all(trace.mask == 1):
        total = f"J = Σₜ L(t) = {format_number(trace.loss, 4)}"
    else:
        total = f"J = (1/B) Σ_b Σₜ mask·L(t) = {format_number(trace.loss, 4)} (the whole batch)"
    fig.suptitle(f"The unfolded simple RNN, sequence b = {b} of B = {B}: "
                 f"T = {T} steps, the same U, W, V at every step", fontsize=12, y=0.985)
    fig.text(0.5, 0.915, f"a(t) = b + W h(t−1) + U x(t)     h(t) = {g}(a(t))     o(t) = c + V h(t)"
             f"     ŷ(t) = {y_hat}     L(t) = {loss_name}     {total}",
             ha="center", fontsize=9.5, color="#333333")

    blocks = [_param_block(k, model.params[k], decimals) for k in ("U", "W", "b", "V", "c")]
    panel.text(0.04, 0.98, "Shared parameters θ\n(one set, used at every step)\n\n" + "\n".join(blocks),
               ha="left", va="top", fontsize=7.5, family="DejaVu Sans Mono", linespacing=1.3,
               bbox=dict(boxstyle="round,pad=0.5", fc="#fbfbf4", ec="#999999", lw=0.8), gid="params")
    return fig
