"""DIR/report.html after `bptt train --model seq2seq`: one self-contained page (figures inlined as
PNG data URIs) with the training curves (loss, held-out loss, held-out exact match), held-out
translations next to their targets, and — with attention — the attention weights of the first
one. Without matplotlib the page keeps its tables and says so."""
from __future__ import annotations

import html
from pathlib import Path

from ..io.atomic import atomic_write_text
from .report import _fmt, _png

COLUMNS = (("step", "step"), ("loss", "train loss"), ("val_loss", "held-out loss"),
           ("exact_match", "held-out exact match"), ("seconds", "seconds"))


def _curves(history):
    from ..viz._common import new_figure
    fig = new_figure((9.0, 3.2))
    a, b = fig.subplots(1, 2)
    steps = [r["step"] for r in history]
    a.plot(steps, [r["loss"] for r in history], label="train loss")
    a.plot(steps, [r["val_loss"] for r in history], label="held-out loss")
    a.set_yscale("log")
    a.set_xlabel("step")
    a.legend(fontsize=8)
    b.plot(steps, [r["exact_match"] for r in history], marker=".", color="C2")
    b.set_ylim(0, 1.02)
    b.set_xlabel("step")
    b.set_ylabel("held-out exact match")
    for ax in (a, b):
        ax.grid(alpha=0.3)
    return fig


def _attention(model, src_vocab, tgt_vocab, source, output):
    from ..cells.seq2seq import Seq2SeqStepper
    from ..viz.seq2seq import attention_heatmap
    st = Seq2SeqStepper(model, src_vocab.encode(source, eos=True))
    alpha = st.attention_weights(list(tgt_vocab.encode(output, eos=True)))
    return attention_heatmap(alpha, list(source) + ["<eos>"], list(output) + ["<eos>"],
                             title=f"attention weights while translating {source!r}")


def write_seq2seq_report(out_dir, history, *, model, src_vocab, tgt_vocab, examples,
                         title="bptt training report: sequence to sequence"):
    """Write out_dir/report.html; returns its path. examples: (source, target, output) triples of
    held-out pairs."""
    figs, notes = [], []
    try:
        if history:
            figs.append(("Loss and held-out exact match", _png(_curves(history))))
        if model.attention is not None and examples:
            s, _, got = examples[0]
            figs.append((f"Where the decoder looked: the attention weights α(t, j) of {s!r} → "
                         f"{got!r}", _png(_attention(model, src_vocab, tgt_vocab, s, got))))
    except ImportError as e:
        notes.append(f"Figures are missing: {e}. Install the plots extra: pip install 'bptt[plots]'.")
    heads = "".join(f"<th>{html.escape(h)}</th>" for _, h in COLUMNS)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(k)))}</td>" for k, _ in COLUMNS)
                   + "</tr>" for r in history)
    right = sum(got == t for _, t, got in examples)
    pairs = "".join(f"<tr><td>{html.escape(s)}</td><td>{html.escape(t)}</td><td>{html.escape(got)}"
                    f"</td><td>{'✓' if got == t else '✗'}</td></tr>" for s, t, got in examples)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #ddd;"
             "text-align:right;font-family:ui-monospace,monospace}img{max-width:100%}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             f"<p>Model: <code>{html.escape(repr(model))}</code>; source vocabulary of "
             f"{src_vocab.size} ids, target vocabulary of {tgt_vocab.size} ids (PAD, BOS, EOS "
             f"and the characters).</p>"]
    parts += [f"<p class='note'>{html.escape(n)}</p>" for n in notes]
    for caption, uri in figs:
        parts.append(f"<h2>{html.escape(caption)}</h2><img alt='{html.escape(caption)}' src='{uri}'>")
    parts.append(f"<h2>Evaluations</h2><table><tr>{heads}</tr>{rows}</table>")
    parts.append(f"<h2>Held-out translations (greedy): {right} of {len(examples)} exact</h2>"
                 f"<table><tr><th>source</th><th>target</th><th>output</th><th></th></tr>{pairs}"
                 f"</table></body></html>")
    return atomic_write_text(Path(out_dir) / "report.html", "\n".join(parts))
