"""Where a many-to-one loss puts its error, and where BPTT carries it (Goodfellow et al. fig. 10.5).

    last = model.trace(x, y, lengths=lengths, pooling="last")
    mean = model.trace(x, y, lengths=lengths, pooling="mean")
    fig = pooling_errors(last, mean, b=0)              # one sequence of the batch: column b

Both panels divide by the error the loss puts on the outputs in all, E = Σ_t ‖∂J/∂o(t)‖, so
that a confident model's small errors and an untrained one's large ones read alike.
Left: ‖∂J/∂o(t)‖ / E, where the error enters. With pooling="last" it is one spike of 1 at the
sequence's last real step n − 1 (the mask [t = n − 1]); with pooling="mean" it is spread evenly,
∂J/∂o(t) = (1/n) ∂J/∂ō at every real step t < n: 1/n each. Right: ‖∂J/∂h(t)‖ / E after BPTT
(log scale): from the spike, "last" must carry the whole error back through every recurrence
step, so early steps get what survives the product of Jacobians; "mean" also injects error at
each step, so early steps get some directly. Padded steps (t >= n) get none: blank, shaded.
"""
from __future__ import annotations

import numpy as np

from ._common import new_figure, require_matplotlib

OWNER = "pooling_errors"


def _column(trace, name, b, pooling):
    """(‖∂J/∂o(t)‖, ‖∂J/∂h(t)‖, n) of column b of a pooled trace, checked to be `pooling`'s."""
    from ..nn.losses import MeanPooled
    errors = getattr(trace, "errors", None)
    if not (isinstance(errors, dict) and "o" in errors and "h" in errors and hasattr(trace, "mask")):
        raise TypeError(f"The '{name}' argument of {OWNER} must be the trace of a recurrent model "
                        f"(model.trace(x, y, pooling={pooling!r}, lengths=...)). Got "
                        f"{type(trace).__name__} instead.")
    T, B = trace.mask.shape
    if not (isinstance(b, int) and not isinstance(b, bool) and 0 <= b < B):
        raise ValueError(f"The 'b' parameter of {OWNER} must be a sequence of the batch, an int "
                         f"in [0, {B - 1}]. Got {b!r}.")
    mask = trace.mask[:, b]
    got = "mean" if isinstance(trace.y, MeanPooled) else "last" if (mask != 0).sum() == 1 else None
    if got != pooling:
        raise ValueError(f"The '{name}' argument of {OWNER} must be a trace made with "
                         f"pooling={pooling!r}. Got a trace with "
                         f"{'pooling=' + repr(got) if got else 'a loss at several steps (no pooling)'}.")
    n = int(np.flatnonzero(mask)[-1]) + 1                    # the last real step is n − 1
    do = np.linalg.norm(errors["o"][:, b], axis=-1)          # (T,) ‖∂J/∂o(t)‖
    dh = np.linalg.norm(errors["h"][:, b], axis=-1)          # (T,) ‖∂J/∂h(t)‖
    total = do.sum()                                         # E = Σ_t ‖∂J/∂o(t)‖
    if not total > 0:
        raise ValueError(f"The '{name}' argument of {OWNER} puts no error on sequence {b}'s outputs "
                         f"(Σ_t ‖∂J/∂o(t)‖ = {total}): nothing to draw.")
    return do / total, dh / total, n


def pooling_errors(last_trace, mean_trace, *, b: int = 0, figsize=(10.0, 3.6)):
    """Two panels for sequence b: ‖∂J/∂o(t)‖ (where each pooling's loss enters) and ‖∂J/∂h(t)‖
    over t (log scale), each divided by Σ_t ‖∂J/∂o(t)‖, pooling="last" against pooling="mean".
    Returns the Figure. The traces are of the same x (T, B) and y (B,).

    Examples:
        >>> from bptt import SimpleRNN
        >>> from bptt.viz import pooling_errors
        >>> model = SimpleRNN(4, 3, 2, seed=0)
        >>> x, y = np.random.default_rng(0).integers(0, 4, size=(5, 2)), np.array([0, 1])
        >>> fig = pooling_errors(model.trace(x, y, pooling="last"), model.trace(x, y, pooling="mean"))
        >>> [round(float(bar.get_height()), 2) for bar in fig.axes[0].patches]   # last, then mean
        [0.0, 0.0, 0.0, 0.0, 1.0, 0.2, 0.2, 0.2, 0.2, 0.2]
    """
    require_matplotlib(OWNER)
    last = _column(last_trace, "last_trace", b, "last")
    mean = _column(mean_trace, "mean_trace", b, "mean")
    if last[2] != mean[2] or last[0].shape != mean[0].shape:
        raise ValueError(f"{OWNER} compares two traces of the same sequence: got lengths "
                         f"{last[2]} and {mean[2]} of T = {last[0].shape[0]} and "
                         f"T = {mean[0].shape[0]} steps.")
    T, n = last[0].shape[0], last[2]
    t = np.arange(T)
    fig = new_figure(figsize)
    ax1, ax2 = fig.subplots(1, 2)
    width = 0.4
    ax1.bar(t - width / 2, last[0], width, label='pooling="last"', color="tab:blue")
    ax1.bar(t + width / 2, mean[0], width, label='pooling="mean"', color="tab:orange")
    ax1.set(xlabel="step t", ylabel="‖∂J/∂o(t)‖ / Σ_s ‖∂J/∂o(s)‖",
            title=f"where the error enters (n = {n} real steps)")
    for (do, dh, _), label, style in ((last, 'pooling="last"', "o-"), (mean, 'pooling="mean"', "s-")):
        ax2.semilogy(t[dh > 0], dh[dh > 0], style, label=label, ms=4)
    ax2.set(xlabel="step t", ylabel="‖∂J/∂h(t)‖ / Σ_s ‖∂J/∂o(s)‖ (log scale)",
            title="the error after BPTT")
    for ax in (ax1, ax2):
        if n < T:
            ax.axvspan(n - 0.5, T - 0.5, color="0.85", label="padding (no error)")
        ax.set_xticks(range(0, T, max(1, T // 10)))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return fig
