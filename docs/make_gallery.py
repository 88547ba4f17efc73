"""The gallery: every figure that bptt.viz draws, each with the code that drew it.

    python docs/make_gallery.py      # writes docs/figures/gallery/*.png (the animation: .gif)
                                     # and docs/gallery.md, from GALLERY below

GALLERY is the one table of (function, title, caption, code). Each code is self-contained and
leaves `fig`, the matplotlib Figure, or, for the animation, `gif`, the Path of the file it wrote
(relative to the working directory). NOT_FIGURES names what else bptt.viz exports and why it has
no picture of its own. tests/docs/test_gallery.py checks that every name in bptt.viz.__all__ is in
one of the two, that every code block of docs/gallery.md runs and draws, and that docs/gallery.md
is what this script writes.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import tempfile
from typing import NamedTuple

os.environ.setdefault("MPLBACKEND", "Agg")

DOCS = pathlib.Path(__file__).resolve().parent
OUT = DOCS / "figures" / "gallery"
PAGE = DOCS / "gallery.md"


class Entry(NamedTuple):
    function: str            # the name in bptt.viz.__all__
    title: str
    caption: str
    code: str                # leaves `fig` (a Figure) or `gif` (the Path it wrote)

    @property
    def image(self) -> str:
        return f"{self.function}.gif" if "gif =" in self.code else f"{self.function}.png"


GALLERY = [
    Entry("unfolded_network", "The unfolded network, with its values",
          "A tiny SimpleRNN reading \"hell\" and predicting \"ello\": a(t), h(t), o(t) and ŷ(t) at "
          "every step, from the real numbers of its trace.",
          """\
from bptt import viz

tr = viz.demo_trace()            # a tiny SimpleRNN reading "hell" -> "ello"
fig = viz.unfolded_network(tr, vocab=viz.DEMO_VOCAB)
"""),
    Entry("error_flow", "Error flow: ‖∂L(s)/∂a(t)‖",
          "Left: the part of the error at step t that comes from the loss at step s. Right: its "
          "norm against the distance s − t, for the last loss term.",
          """\
import bptt
from bptt import viz
from bptt.data import copy_memory

task = copy_memory(20, 4, seed=0, n_symbols=6, length=5)
model = bptt.SimpleRNN(8, 16, 8, seed=0)
tr = model.trace(task.x, task.y, mask=task.mask)
fig = viz.error_flow(tr)          # an LSTM's trace: path="cell" or "hidden"
"""),
    Entry("flow_comparison", "How far back each cell's error reaches",
          "The norm of the last loss term's error against the distance s − t for a SimpleRNN, a "
          "GRU and an LSTM on the same copy-memory task, with each one's flow matrix.",
          """\
import bptt
from bptt import viz
from bptt.data import copy_memory

task = copy_memory(20, 4, seed=0, n_symbols=6, length=5)
models = [bptt.SimpleRNN(8, 16, 8, seed=0), bptt.GRU(8, 16, 8, seed=0),
          bptt.LSTM(8, 16, 8, forget_bias=1.0, seed=0)]
traces = [m.trace(task.x, task.y, mask=task.mask) for m in models]
fig = viz.flow_comparison(traces, ["SimpleRNN", "GRU", "LSTM"])
"""),
    Entry("vanishing_exploding", "Vanishing and exploding errors",
          "Models whose W is r·Q with Q orthogonal: with r < 1 the errors vanish geometrically, "
          "with r > 1 they explode (identity), or are held down by tanh.",
          """\
from bptt import viz

fig = viz.vanishing_exploding(seed=0, radii=(0.8, 1.2))
"""),
    Entry("per_step_contributions", "Per-step contributions (∂J/∂W)^(t)",
          "The bars are the contributions of each step to one entry of ∂J/∂W; they sum to the "
          "gradient of the shared parameter.",
          """\
from bptt import viz

fig = viz.per_step_contributions(viz.demo_trace(), "W")
"""),
    Entry("hidden_states", "Hidden states over time",
          "h(t) of one sequence, units by steps (for a GRU, which=\"z\" draws its update gate).",
          """\
import bptt
from bptt import viz
from bptt.data import copy_memory

task = copy_memory(20, 4, seed=0, n_symbols=6, length=5)
tr = bptt.GRU(8, 12, 8, seed=0).trace(task.x, task.y, mask=task.mask)
fig = viz.hidden_states(tr)
"""),
    Entry("error_frame", "One frame of the backward pass",
          "Frame k of the animation: the errors of every loss term arrived at step t = T − 1 − k, "
          "each in its loss term's colour.",
          """\
from bptt import viz

fig = viz.error_frame(viz.demo_trace(), 2)
"""),
    Entry("error_animation", "The backward pass, animated",
          "Every frame of the backward pass as a looping GIF (`animation_frames` gives the frames "
          "as arrays).",
          """\
from bptt import viz

gif = viz.error_animation(viz.demo_trace(), "error_animation.gif")
"""),
    Entry("teacher_forcing_flow", "Teacher forcing against free running",
          "An OutputRNN: with teacher forcing each loss term's error stays at its own step "
          "(diagonal); running free on its own outputs it reaches every earlier step.",
          """\
import bptt
from bptt import viz
from bptt.data import successor_chain

task = successor_chain(12, 4, seed=0, n_symbols=5, jump=0.15,
                       visible=False)
model = bptt.OutputRNN(6, 8, 5, seed=0)
model.params["W"] *= 3.0          # a stronger feedback, to see it travel
teacher = model.trace(task.x, task.y, mode="teacher")
free = model.trace(task.x, task.y, mode="free")
fig = viz.teacher_forcing_flow(teacher, free)
"""),
    Entry("pooling_errors", "Where a classifier's error enters: last or mean",
          "A GRU classifying a 13-bit string: pooling \"last\" puts the whole error on the last "
          "step, \"mean\" spreads it over every real step; the right panel is ‖∂J/∂h(t)‖ after BPTT.",
          """\
import numpy as np
import bptt
from bptt import viz

bits = ["1011001110100", "0110"]
x = np.zeros((16, 2), dtype=np.intp)    # time-major bits, 0-padded
for b, s in enumerate(bits):
    x[:len(s), b] = [int(c) for c in s]
lengths = np.array([len(s) for s in bits])
y = x.sum(axis=0) % 2                   # the parity of each string
model = bptt.GRU(2, 16, 2, seed=0)
last = model.trace(x, y, lengths=lengths, pooling="last")
mean = model.trace(x, y, lengths=lengths, pooling="mean")
fig = viz.pooling_errors(last, mean, b=0)
"""),
    Entry("bidirectional_flow", "Both directions of a bidirectional RNN",
          "The errors by source of the forward chain (t ≤ s) and of the backward chain (t ≥ s), "
          "and, for one loss term, both against t.",
          """\
import numpy as np
import bptt
from bptt import viz

rng = np.random.default_rng(0)
model = bptt.SimpleRNN(3, 6, 2, bidirectional=True, seed=0)
x, y = rng.normal(size=(9, 2, 3)), rng.integers(0, 2, size=(9, 2))
fig = viz.bidirectional_flow(model.trace(x, y), s=4)
"""),
    Entry("encoder_reach", "The path that attention shortens",
          "‖∂L(0)/∂e(j)‖ over the encoder's steps j: without attention it shrinks through every "
          "tanh step; with attention every step is one hop away.",
          """\
import numpy as np
import bptt
from bptt import viz

rng = np.random.default_rng(0)
src = rng.integers(3, 12, size=(16, 1))   # one source of 16 steps
tgt = np.array([[1, 5, 6, 2]]).T          # begin id, two tokens, end id
plain = bptt.Seq2Seq(12, 8, 16, cell="rnn", seed=0)
attended = bptt.Seq2Seq(12, 8, 16, cell="rnn", attention="dot", seed=0)
fig = viz.encoder_reach(plain.trace(src, tgt), attended.trace(src, tgt), t=0)
"""),
    Entry("accuracy_curves", "Held-out exact match while training",
          "Two encoder–decoders learning to reverse strings of up to 5 letters, with and without "
          "attention, at the same budget (300 steps each, a few seconds).",
          """\
import bptt
from bptt import viz
from bptt.data import PairVocab, reverse_pairs, split_pairs
from bptt.training.seq2seq import Seq2SeqConfig, train_seq2seq

pairs = reverse_pairs(2000, max_len=5, alphabet="abcde", seed=0)
train, val = split_pairs(pairs, seed=0)
src_vocab = PairVocab.from_texts(s for s, _ in pairs)
tgt_vocab = PairVocab.from_texts(t for _, t in pairs)
config = Seq2SeqConfig(steps=300, batch=32, lr=1e-2, eval_every=50)
curves = {}
for attention in (None, "additive"):
    model = bptt.Seq2Seq(src_vocab.size, tgt_vocab.size, 32,
                         attention=attention, seed=0)
    curves[f"attention: {attention or 'none'}"] = train_seq2seq(
        model, train, val, src_vocab, tgt_vocab, config)
fig = viz.accuracy_curves(curves)
"""),
    Entry("attention_heatmap", "Where the decoder looks",
          "The attention weights α(t, j) of a trained encoder–decoder reversing \"abcde\": output "
          "step t reads source step 4 − t.",
          """\
import bptt
from bptt import viz
from bptt.cells.seq2seq import Seq2SeqStepper
from bptt.data import PairVocab, reverse_pairs, split_pairs
from bptt.training.seq2seq import (Seq2SeqConfig, train_seq2seq,
                                   translate)

pairs = reverse_pairs(2000, max_len=5, alphabet="abcde", seed=0)
train, val = split_pairs(pairs, seed=0)
src_vocab = PairVocab.from_texts(s for s, _ in pairs)
tgt_vocab = PairVocab.from_texts(t for _, t in pairs)
model = bptt.Seq2Seq(src_vocab.size, tgt_vocab.size, 32,
                     attention="additive", seed=0)
train_seq2seq(model, train, val, src_vocab, tgt_vocab,
              Seq2SeqConfig(steps=300, batch=32, lr=1e-2))
out = translate(model, src_vocab, tgt_vocab, ["abcde"])[0]       # "edcba"
stepper = Seq2SeqStepper(model, src_vocab.encode("abcde", eos=True))
tokens = list(tgt_vocab.encode(out, eos=True))
alpha = stepper.attention_weights(tokens)      # (output steps, source steps)
fig = viz.attention_heatmap(alpha, list("abcde") + ["<eos>"],
                            list(out) + ["<eos>"])
"""),
]

# What else bptt.viz exports, and why it has no picture of its own.
NOT_FIGURES = {
    "DEMO_TEXT": "a constant: the demo model's text",
    "DEMO_VOCAB": "a constant: the demo model's vocabulary",
    "demo_trace": "a trace (used by the figures above)",
    "orthogonal_rnn_trace": "a trace (what vanishing_exploding draws)",
    "flow_matrix": "an array: the matrix error_flow draws",
    "bidirectional_flows": "arrays: the matrices bidirectional_flow draws",
    "animation_frames": "arrays: the frames of error_animation",
    "source_colors": "an array: the loss terms' colours of the figures",
    "format_values": "a string: how the figures print a vector",
    "fig_to_rgba": "an array: a Figure rendered",
    "save_png": "writes a Figure to a file",
    "save_demo_figures": "writes the demo trace's figures above to a folder",
}


def run(entry: Entry):
    """Execute the entry's code in a fresh namespace (in the working directory): the Figure
    it leaves in `fig`, or the Path it leaves in `gif`."""
    namespace = {"__name__": "__gallery__"}
    exec(compile(entry.code, f"gallery[{entry.function}]", "exec"), namespace)
    return namespace["gif"] if "gif" in namespace else namespace["fig"]


def markdown() -> str:
    """docs/gallery.md: one section per entry, the picture and then its code."""
    out = ["# Gallery", "",
           "Every figure that `bptt.viz` draws, made from the real numbers of a model, each with the "
           "code that drew it (each block runs on its own, and runs in the tests). "
           "`python docs/make_gallery.py` redraws them all. Every function returns a matplotlib "
           "Figure: `viz.save_png(fig, \"fig.png\")` writes it.", "",
           "<!-- written by docs/make_gallery.py from its GALLERY table: edit that, not this -->", ""]
    for e in GALLERY:
        out += [f"## `{e.function}`: {e.title}", "", e.caption, "",
                f"![{e.title}](figures/gallery/{e.image})", "",
                "```python", e.code.rstrip("\n"), "```", ""]
    out += ["## What has no picture of its own", "", "| name | what it gives |", "|---|---|"]
    out += [f"| `{name}` | {why} |" for name, why in NOT_FIGURES.items()] + [""]
    return "\n".join(out)


def main() -> None:
    from bptt import viz
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        here = os.getcwd()
        os.chdir(tmp)
        try:
            for e in GALLERY:
                result = run(e)
                if isinstance(result, (str, os.PathLike)):
                    shutil.copyfile(result, OUT / e.image)
                else:
                    viz.save_png(result, OUT / e.image)
                print(OUT / e.image)
        finally:
            os.chdir(here)
    PAGE.write_text(markdown(), encoding="utf-8")
    print(PAGE)


if __name__ == "__main__":
    main()
