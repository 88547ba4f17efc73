"""DIR/report.html after training: one self-contained page (figures inlined as PNG data URIs)
with the loss curves, the gradient-norm history, samples, and the error-flow figure of the
trained model. Without matplotlib the page keeps its tables and samples and says so.

A sequence classifier's history (records with "val_accuracy", from bptt.training.classify) gets
its loss per string, the held-out accuracy and the gradient norm, a table of those, and with
`classifier=(x, y, lengths)` of one string the errors ∂J/∂h(t) of "last" against "mean" pooling
(bptt.viz.pooling_errors); its `samples` are then predictions, under `samples_title`."""
from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_write_text


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


# The table's columns (record key, heading): a character model's, and a classifier's.
COLUMNS = (("step", "step"), ("train_loss", "train loss"), ("val_loss", "val loss"),
           ("val_bpc", "val bits/char"), ("grad_norm", "grad norm"), ("chars_per_s", "chars/s"))
CLASSIFIER_COLUMNS = (("step", "step"), ("loss", "train loss"), ("val_loss", "held-out loss"),
                      ("val_accuracy", "held-out accuracy"), ("grad_norm", "grad norm"),
                      ("seconds", "seconds"))


def _is_classifier(history) -> bool:
    return bool(history) and "val_accuracy" in history[0]


def _classifier_curves(history):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(13, 3.6), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3)
    steps = [r["step"] for r in history]
    ax1.plot(steps, [r["loss"] for r in history], "o-", label="train")
    ax1.plot(steps, [r["val_loss"] for r in history], "s-", label="held-out")
    ax1.set(xlabel="step", ylabel="loss per string (nats)", title="Loss")
    ax1.legend()
    ax2.plot(steps, [r["val_accuracy"] for r in history], "s-", color="tab:green")
    ax2.set(xlabel="step", ylabel="accuracy", ylim=(0, 1.02), title="Held-out accuracy")
    ax3.semilogy(steps, [r["grad_norm"] for r in history], "o-", color="tab:red")
    ax3.set(xlabel="step", ylabel="‖∂J/∂θ‖ before clipping", title="Gradient norm")
    for ax in (ax1, ax2, ax3):
        ax.grid(alpha=0.3)
    return fig


def _pooling_figure(model, x, y, lengths):
    from ..viz import pooling_errors
    traces = [model.trace(x, y, lengths=lengths, pooling=p) for p in ("last", "mean")]
    return pooling_errors(*traces)


def _curves(history):
    from matplotlib.figure import Figure
    if _is_classifier(history):
        return _classifier_curves(history)
    fig = Figure(figsize=(11, 3.6))
    ax1, ax2 = fig.subplots(1, 2)
    steps = [r["step"] for r in history]
    ax1.plot(steps, [r["train_bpc"] for r in history], "o-", label="train")
    ax1.plot(steps, [r["val_bpc"] for r in history], "s-", label="validation")
    ax1.set(xlabel="step", ylabel="bits per character", title="Loss")
    ax1.legend()
    ax1.grid(alpha=0.3)
    ax2.semilogy(steps, [r["grad_norm"] for r in history], "o-", color="tab:red")
    ax2.set(xlabel="step", ylabel="‖∂J/∂θ‖ before clipping", title="Gradient norm")
    ax2.grid(alpha=0.3)
    return fig


def _flow_figure(model, vocab, text):
    from ..viz import error_flow
    ids = vocab.encode(text)
    x, y = ids[:-1, None], ids[1:, None]
    tr = model.trace(x.astype(np.intp), y.astype(np.intp))
    return error_flow(tr)


def write_report(out_dir, history, *, model, vocab, samples, flow_text=None, title="bptt training report",
                 samples_title="Samples", classifier=None):
    """Write out_dir/report.html; returns its path."""
    out_dir = Path(out_dir)
    figs, notes = [], []
    columns = CLASSIFIER_COLUMNS if _is_classifier(history) else COLUMNS
    try:
        if history:
            figs.append(("Loss, held-out accuracy and gradient norm" if _is_classifier(history)
                         else "Loss and gradient norm", _png(_curves(history))))
        if classifier is not None:
            figs.append(("Where the error enters and where BPTT carries it, on one fresh string: "
                         "‖∂J/∂o(t)‖ and ‖∂J/∂h(t)‖ of the trained model with pooling \"last\" "
                         "and \"mean\"", _png(_pooling_figure(model, *classifier))))
        if flow_text and len(flow_text) >= 3:
            try:
                figs.append(("Error flow of the trained model on a validation snippet: the norm of "
                             "each loss term's error at each earlier step",
                             _png(_flow_figure(model, vocab, flow_text))))
            except (ValueError, TypeError) as e:         # a model the figure does not draw
                notes.append(f"No error-flow figure for this model: {e}")
    except ImportError as e:
        notes.append(f"Figures are missing: {e}. Install the plots extra: pip install 'bptt[plots]'.")
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(k)))}</td>" for k, _ in columns)
        + "</tr>" for r in history)
    heads = "".join(f"<th>{html.escape(h)}</th>" for _, h in columns)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #ddd;"
             "text-align:right}pre{background:#f6f6f6;padding:1em;white-space:pre-wrap}"
             "img{max-width:100%}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             f"<p>Model: <code>{html.escape(repr(model))}</code>, vocabulary of {vocab.size} characters.</p>"]
    parts += [f"<p class='note'>{html.escape(n)}</p>" for n in notes]
    for caption, uri in figs:
        parts.append(f"<h2>{html.escape(caption)}</h2><img alt='{html.escape(caption)}' src='{uri}'>")
    parts.append(f"<h2>Evaluations</h2><table><tr>{heads}</tr>{rows}</table>")
    parts.append(f"<h2>{html.escape(samples_title)}</h2>")
    parts += [f"<pre>{html.escape(s)}</pre>" for s in samples]
    parts.append("</body></html>")
    return atomic_write_text(out_dir / "report.html", "\n".join(parts))


def _fmt(v):
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return "" if v is None else str(v)
