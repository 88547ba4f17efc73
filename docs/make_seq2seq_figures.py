"""Write docs/seq2seq.md's figures into docs/figures/:

    seq2seq_reach.png            the errors reaching each encoder step (the page's own block 2)
    seq2seq_dates_curves.png     held-out exact match over steps, from docs/data/seq2seq_dates.json
                                 (written by examples/seq2seq_dates.py)
    seq2seq_dates_attention.png  the attention of a dates model trained here (GRU, additive,
                                 hidden 64, 600 steps, seed 0: about a minute on one core)

    python docs/make_seq2seq_figures.py [reach] [curves] [attention]     (default: all three)
"""
import json
import os
import pathlib
import re

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")      # small matrices: one thread is faster

import bptt  # noqa: E402
from bptt import viz  # noqa: E402
from bptt.cells.seq2seq import Seq2SeqStepper  # noqa: E402
from bptt.data import PairVocab, split_pairs, task_pairs  # noqa: E402
from bptt.training.seq2seq import Seq2SeqConfig, train_seq2seq, translate  # noqa: E402

DOCS = pathlib.Path(__file__).parent
FIGURES = DOCS / "figures"


def reach_figure():
    text = (DOCS / "seq2seq.md").read_text(encoding="utf-8")
    namespace = {"__name__": "__docs__"}
    for i, code in enumerate(re.findall(r"```python\n(.*?)```", text, flags=re.S)[:2]):
        exec(compile(code, f"seq2seq.md[block {i}]", "exec"), namespace)
    return viz.save_png(namespace["fig"], FIGURES / "seq2seq_reach.png")


def curves_figure():
    data = json.loads((DOCS / "data" / "seq2seq_dates.json").read_text(encoding="utf-8"))
    curves = {f"{'additive attention' if r['attention'] == 'additive' else 'no attention'}, "
              f"seed {r['seed']}": r["curve"] for r in data["runs"]}
    fig = viz.accuracy_curves(curves, figsize=(6.4, 3.8))
    ax = fig.axes[0]
    first = {}
    for line in ax.lines:                                  # one colour per design
        design = "additive" if line.get_label().startswith("additive") else "none"
        line.set_color("C0" if design == "additive" else "C3")
        first.setdefault(design, line)
    ax.legend([first["additive"], first["none"]], ["additive attention (3 seeds)",
                                                   "no attention (3 seeds)"], fontsize=8)
    ax.axhline(0.99, color="k", lw=0.7, ls=":")
    ax.set_title(f"dates, GRU H={data['config']['hidden']}, batch {data['config']['batch']}, "
                 f"Adam lr {data['config']['lr']}: held-out exact match", fontsize=9)
    return viz.save_png(fig, FIGURES / "seq2seq_dates_curves.png")


def attention_figure(text="November 30, 2026"):
    pairs = task_pairs("dates", 20_000, seed=0)
    train, val = split_pairs(pairs, val_fraction=0.1, seed=0)
    src_vocab = PairVocab.from_texts(s for s, _ in train + val)
    tgt_vocab = PairVocab.from_texts(t for _, t in train + val)
    model = bptt.Seq2Seq(src_vocab.size, tgt_vocab.size, 64, cell="gru", attention="additive", seed=0)
    train_seq2seq(model, train, val, src_vocab, tgt_vocab,
                  Seq2SeqConfig(steps=600, batch=64, lr=5e-3, eval_every=200, eval_size=200, seed=0),
                  progress=lambda r: print(f"step {r['step']}: exact match {r['exact_match']:.3f}"))
    out = translate(model, src_vocab, tgt_vocab, [text])[0]
    print(f"{text!r} -> {out!r}")
    st = Seq2SeqStepper(model, src_vocab.encode(text, eos=True))
    tokens = list(tgt_vocab.encode(out, eos=True))
    alpha = st.attention_weights(tokens)
    fig = viz.attention_heatmap(alpha, list(text) + ["<eos>"], list(out) + ["<eos>"],
                                title=f"attention while normalising {text!r}")
    return viz.save_png(fig, FIGURES / "seq2seq_dates_attention.png")


def main():
    import sys
    makers = {"reach": reach_figure, "curves": curves_figure, "attention": attention_figure}
    for name in sys.argv[1:] or makers:
        print(f"wrote {makers[name]()}")


if __name__ == "__main__":
    main()
