"""The output-recurrent network's point in one figure: where errors go with teacher forcing and
running free (Goodfellow et al. §10.2.1).

    teacher = model.trace(x, y, mode="teacher")
    free = model.trace(x, y, mode="free")              # feedback="probs": BPTT through ŷ(t−1)
    fig = teacher_forcing_flow(teacher, free)          # the two flow matrices, side by side

Each panel is a trace's `flow`, [s, t] = ‖∂L(s)/∂a(t)‖ (source step s down, step t across), on
one shared log colour scale; exact zeros — errors that never cross a time step — are left blank.
With teacher forcing only the diagonal is filled: every step's error is its own loss term's, and
the steps' gradients could be computed in parallel. Running free, the error of L(s) reaches every
step t <= s through the fed-back probabilities: a full lower triangle.
"""
from __future__ import annotations

import numpy as np

from ._common import new_figure, require_matplotlib

TITLES = ("teacher forcing: f(t−1) = y(t−1)", "free running: f(t−1) = ŷ(t−1)")


def _check(trace, name):
    from ..cells.output_rnn import OutputRNNTrace
    if not isinstance(trace, OutputRNNTrace):
        raise TypeError(f"The '{name}' argument of teacher_forcing_flow must be an OutputRNNTrace, "
                        f"as returned by OutputRNN.trace(x, y, mode=...). Got "
                        f"{type(trace).__name__} instead.")
    return trace.flow


def teacher_forcing_flow(teacher_trace, free_trace, *, titles=TITLES, figsize=(9.0, 4.4)):
    """Two heatmaps of ‖∂L(s)/∂a(t)‖ — the first trace's (teacher forcing) and the second's (free
    running) — on one log colour scale, zeros blank. Returns the Figure. Each heatmap is the
    trace's flow (T, T).

    Examples:
        >>> from bptt import OutputRNN
        >>> from bptt.viz import teacher_forcing_flow
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.integers(0, 4, size=(5, 2)), rng.integers(0, 4, size=(5, 2))   # (T, B)
        >>> model = OutputRNN(4, 3, 4, seed=0)
        >>> fig = teacher_forcing_flow(model.trace(x, y, mode="teacher"), model.trace(x, y, mode="free"))
        >>> [int(np.ma.count(ax.images[0].get_array())) for ax in fig.axes[:2]]   # nonzero [s, t]
        [5, 15]
        >>> # teacher forcing: only the diagonal, no error crosses a step; free running: t <= s
    """
    require_matplotlib("teacher_forcing_flow")
    from matplotlib.colors import LogNorm

    flows = [_check(teacher_trace, "teacher_trace"), _check(free_trace, "free_trace")]
    if flows[0].shape != flows[1].shape:
        raise ValueError(f"teacher_forcing_flow compares two traces of the same length: got "
                         f"T = {flows[0].shape[0]} and T = {flows[1].shape[0]}.")
    if not (isinstance(titles, (tuple, list)) and len(titles) == 2 and all(isinstance(t, str) for t in titles)):
        raise ValueError(f"The 'titles' parameter of teacher_forcing_flow must be two strings. "
                         f"Got {titles!r} instead.")
    positive = np.concatenate([f[f > 0] for f in flows])
    hi = positive.max() if positive.size else 1.0
    lo = positive.min() if positive.size else hi / 10
    norm = LogNorm(vmin=lo if lo < hi else hi / 10, vmax=hi)
    fig = new_figure(figsize)
    axes = fig.subplots(1, 2)
    T = flows[0].shape[0]
    for ax, flow, title, tr in zip(axes, flows, titles, (teacher_trace, free_trace)):
        im = ax.imshow(np.ma.masked_equal(flow, 0.0), cmap="viridis", norm=norm, origin="upper",
                       interpolation="nearest")
        crossing = np.tril(flow, -1).sum() / max(flow.sum(), 1e-300)
        ax.set_title(f"{title}\n(mode={tr.mode!r}; off the diagonal: {100 * crossing:.1f}%)",
                     fontsize=9)
        ax.set_xlabel("step t")
        ax.set_ylabel("loss term L(s)")
        ax.set_xticks(range(0, T, max(1, T // 8)))
        ax.set_yticks(range(0, T, max(1, T // 8)))
    fig.colorbar(im, ax=list(axes), label="‖∂L(s)/∂a(t)‖ (log scale; blank: exactly 0)", shrink=0.85)
    return fig
