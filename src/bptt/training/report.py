"""DIR/report.html after training: one self-contained page (figures inlined as PNG data URIs)
with the loss curves, the gradient-norm history, samples, and the error-flow figure of the
trained model. Without matplotlib the page keeps its tables and samples and says so."""
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


def _curves(history):
    from matplotlib.figure import Figure
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


def write_report(out_dir, history, *, model, vocab, samples, flow_text=None, title="bptt training report"):
    """Write out_dir/report.html; returns its path."""
    out_dir = Path(out_dir)
    figs, notes = [], []
    try:
        if history:
            figs.append(("Loss and gradient norm", _png(_curves(history))))
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
        "<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(k)))}</td>" for k in
                         ("step", "train_loss", "val_loss", "val_bpc", "grad_norm", "chars_per_s"))
        + "</tr>" for r in history)
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
    parts.append("<h2>Evaluations</h2><table><tr><th>step</th><th>train loss</th><th>val loss</th>"
                 f"<th>val bits/char</th><th>grad norm</th><th>chars/s</th></tr>{rows}</table>")
    parts.append("<h2>Samples</h2>")
    parts += [f"<pre>{html.escape(s)}</pre>" for s in samples]
    parts.append("</body></html>")
    return atomic_write_text(out_dir / "report.html", "\n".join(parts))


def _fmt(v):
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return "" if v is None else str(v)
