"""The encoder–decoder's pictures: where the decoder looks, and how far its errors travel.

    st = Seq2SeqStepper(model, src_ids)
    fig = attention_heatmap(st.attention_weights(out_ids), src_labels, out_labels)

    plain, att = model_a.trace(src, tgt), model_b.trace(src, tgt)      # no attention / attention
    fig = encoder_reach(plain, att, t=0)     # ‖∂L(t)/∂e(j)‖ over the source steps j, by path

    fig = accuracy_curves({"additive attention": rows_a, "no attention": rows_b})

In `encoder_reach`, without attention a loss term's error enters the encoder only at its final
state and must cross every later step to reach e(j): it shrinks (or grows) step by step going
back through the source. With attention it also enters every e(j) directly, one step away.
"""
from __future__ import annotations

import numpy as np

from ._common import new_figure, require_matplotlib


def attention_heatmap(alpha, src_labels, out_labels, *, title="attention weights α(t, j)",
                      figsize=None):
    """A heatmap of alpha (len(out_labels), len(src_labels)): row t is where the decoder looked
    while choosing output token t. Returns the Figure. alpha is (N, S) for N output tokens and
    S source steps, as Seq2SeqStepper.attention_weights gives it.

    Examples:
        >>> from bptt.viz import attention_heatmap
        >>> alpha = np.array([[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]])       # (N, S)
        >>> fig = attention_heatmap(alpha, ["a", "b"], ["x", "y", "z"])
        >>> bool(np.array_equal(fig.axes[0].images[0].get_array(), alpha))
        True
    """
    require_matplotlib("attention_heatmap")
    alpha = np.asarray(alpha, dtype=float)
    src_labels, out_labels = [str(s) for s in src_labels], [str(s) for s in out_labels]
    if alpha.ndim != 2 or alpha.shape != (len(out_labels), len(src_labels)):
        raise ValueError(f"The 'alpha' argument of attention_heatmap must have shape "
                         f"(len(out_labels), len(src_labels)) = ({len(out_labels)}, "
                         f"{len(src_labels)}). Got {alpha.shape}.")
    if not np.isfinite(alpha).all() or (alpha < 0).any():
        raise ValueError("The 'alpha' argument of attention_heatmap must hold finite weights >= 0.")
    T, S = alpha.shape
    fig = new_figure(figsize or (1.2 + 0.32 * S, 1.0 + 0.32 * T))
    ax = fig.subplots()
    im = ax.imshow(alpha, cmap="Blues", vmin=0, vmax=1, interpolation="nearest", aspect="auto")
    ax.set_xticks(range(S), src_labels, fontsize=8)
    ax.set_yticks(range(T), out_labels, fontsize=8)
    ax.set_xlabel("source step j")
    ax.set_ylabel("output step t")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


def _reach(trace, name, t, b):
    from ..cells.seq2seq import Seq2SeqTrace
    if not isinstance(trace, Seq2SeqTrace):
        raise TypeError(f"The '{name}' argument of encoder_reach must be a Seq2SeqTrace, as "
                        f"returned by Seq2Seq.trace. Got {type(trace).__name__} instead.")
    return trace.reach(t, b)


def encoder_reach(plain_trace, attention_trace, *, t=0, b=0, figsize=(8.0, 3.4)):
    """Two panels, ‖∂L(t)/∂e(j)‖ over source steps j on a log scale: the model without attention
    (all through the final state) and the model with attention (each path, and the total).
    Each curve is Seq2SeqTrace.reach(t, b), (S,), of two traces of the same src (S, B).

    Examples:
        >>> from bptt import Seq2Seq
        >>> from bptt.viz import encoder_reach
        >>> src, tgt = np.array([[3, 4], [4, 3], [3, 3]]), np.array([[1, 1], [4, 5], [2, 2]])
        >>> plain = Seq2Seq(5, 6, 4, seed=0).trace(src, tgt)
        >>> attended = Seq2Seq(5, 6, 4, attention="dot", seed=0).trace(src, tgt)
        >>> fig = encoder_reach(plain, attended, t=0)
        >>> [[line.get_label() for line in ax.lines] for ax in fig.axes]
        [['through the final state'], ['through the final state', 'through the attention', 'total']]
    """
    require_matplotlib("encoder_reach")
    plain = _reach(plain_trace, "plain_trace", t, b)
    att = _reach(attention_trace, "attention_trace", t, b)
    if plain["total"].shape != att["total"].shape:
        raise ValueError(f"encoder_reach compares two traces of the same source: got "
                         f"{plain['total'].size} and {att['total'].size} source steps.")
    fig = new_figure(figsize)
    axes = fig.subplots(1, 2, sharey=True)
    j = np.arange(plain["total"].size)
    tiny = lambda a: np.where(a > 0, a, np.nan)                       # noqa: E731  (log scale)
    axes[0].semilogy(j, tiny(plain["final"]), "o-", color="C3", label="through the final state")
    axes[0].set_title("no attention", fontsize=9)
    axes[1].semilogy(j, tiny(att["final"]), "o-", color="C3", label="through the final state")
    axes[1].semilogy(j, tiny(att["attention"]), "s-", color="C0", label="through the attention")
    axes[1].semilogy(j, tiny(att["total"]), "k--", lw=1, label="total")
    axes[1].set_title("with attention", fontsize=9)
    for ax in axes:
        ax.set_xlabel("source step j")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"‖∂L({t})/∂e(j)‖")
    axes[1].legend(fontsize=7)
    return fig


def accuracy_curves(curves: dict, *, key="exact_match", figsize=(5.5, 3.4)):
    """Held-out exact match (or `key`) over training steps, one line per name in `curves`
    ({name: [{"step": ..., key: ...}, ...]}, e.g. the records of metrics.jsonl). No arrays:
    lists of records in.

    Examples:
        >>> from bptt.viz import accuracy_curves
        >>> fig = accuracy_curves({"attention": [{"step": 100, "exact_match": 0.2},
        ...                                      {"step": 200, "exact_match": 0.6}]})
        >>> [(line.get_label(), line.get_ydata().tolist()) for line in fig.axes[0].lines]
        [('attention', [0.2, 0.6])]
    """
    require_matplotlib("accuracy_curves")
    if not isinstance(curves, dict) or not curves:
        raise ValueError("The 'curves' argument of accuracy_curves must be a non-empty dict "
                         "{name: records}.")
    fig = new_figure(figsize)
    ax = fig.subplots()
    for name, rows in curves.items():
        try:
            steps = [r["step"] for r in rows]
            vals = [r[key] for r in rows]
        except (KeyError, TypeError):
            raise ValueError(f"The records of {name!r} given to accuracy_curves must be dicts "
                             f"with 'step' and {key!r}.") from None
        ax.plot(steps, vals, marker=".", label=str(name))
    ax.set_xlabel("training step")
    ax.set_ylabel(key.replace("_", " "))
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig
