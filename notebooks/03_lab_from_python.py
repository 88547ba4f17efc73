# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The BPTT explorer and the lab, from Python
#
# In Jupyter a trace shows itself as the interactive BPTT explorer: the network unfolded in time,
# stepped through forward and back with **Back** / **Next** (or the ← / → keys), every error split
# by the loss term it comes from, the per-step contributions of a parameter, their sum and the one
# update. Hover over a node to see the equation that produced it, with its numbers.
#
# This notebook shows traces of a simple RNN, an LSTM and a GRU inline, checks that the page's
# numbers are the trace's, and opens the BPTT lab — the explorer with controls that recompute
# everything in the page — on the built-in model and on a model trained here.
#
# Dimension letters: T time steps, B batch, D input size, H hidden size, O output size.

# %%
import html
import json
import re
import tempfile
from pathlib import Path

import numpy as np
from IPython.display import display_html

import bptt

work = Path(tempfile.mkdtemp(prefix="bptt-lab-"))

# %% [markdown]
# ## A trace, shown inline
#
# `bptt.viz.demo_trace()` is a tiny simple RNN (H = 3) reading "hell" and predicting "ello". A
# trace as the last expression of a cell displays the explorer (`Trace._repr_html_`, attached by
# `bptt.viz`); it is one self-contained page inside an `<iframe srcdoc>`, with no requests to the
# network.

# %%
tr = bptt.viz.demo_trace(seed=0)
tr

# %% [markdown]
# ## Your own model and text
#
# Any one-layer `SimpleRNN`, `LSTM` or `GRU` trace can be shown. `bptt.viz.explorer_html` takes the
# vocabulary too, so that the ids are drawn as characters, and the learning rate η of the update
# shown at the end:

# %%
text = "hello world"
vocab = bptt.data.Vocab(text)
ids = vocab.encode(text)
x, y = ids[:-1, None], ids[1:, None]                 # (T, B) = (10, 1): each character predicts the next
rnn = bptt.SimpleRNN(vocab.size, 6, vocab.size, seed=0)
rnn_tr = rnn.trace(x, y)
print(f"vocabulary {vocab.chars!r}; J = {rnn_tr.loss:.4f}")
display_html(bptt.viz.explorer_html(rnn_tr, inline=True, vocab=vocab, lr=0.5), raw=True)

# %% [markdown]
# ### Every number on the page is the trace's
#
# The page embeds the trace as JSON (`<script type="application/json" id="bptt-trace">`) and draws
# every number from it. Read back, it holds the trace's arrays exactly — the errors, their split
# by source, the per-step contributions and the update θ − η ∂J/∂θ:

# %%
page = bptt.viz.explorer_html(rnn_tr, vocab=vocab, lr=0.5)
found = re.search(r'<script type="application/json" id="bptt-trace">(.*?)</script>', page, re.S)
data = json.loads(found.group(1))
print(sorted(data))
for name in ("a", "h", "o"):
    assert np.array_equal(np.array(data["errors"][name]), rnn_tr.errors[name])
assert np.array_equal(np.array(data["errors_by_source"]["a"]), rnn_tr.errors_by_source["a"])
for name, p in rnn.params.items():
    assert np.array_equal(np.array(data["per_step"][name]), rnn_tr.per_step[name])
    assert np.array_equal(np.array(data["updated"][name]), p - 0.5 * rnn_tr.grads[name])
print(f"page loss {data['loss']:.6f} = trace loss {rnn_tr.loss:.6f}")

# %% [markdown]
# ## An LSTM and a GRU
#
# The LSTM's page draws the block input z(t) and the gates i(t), f(t), o(t) above x(t), the cell
# path c(t−1) → c(t) as one horizontal line (the "constant error carousel"), and the errors
# ∂J/∂c(t) split by the loss term they come from:

# %%
lstm = bptt.LSTM(vocab.size, 4, vocab.size, seed=0)
lstm.trace(x, y)

# %% [markdown]
# The GRU's page draws the update gate z(t), the reset gate r(t) and the candidate n(t), and the
# direct path h(t−1) → h(t) that z(t) multiplies:

# %%
gru = bptt.GRU(vocab.size, 4, vocab.size, seed=0)
gru.trace(x, y)

# %% [markdown]
# The explorer is for small, one-layer models: a stacked model's trace shows its plain text repr
# instead, and a trace of more than the page's limit of numbers (the errors by source are
# O(T²·B·H)) is refused with a message saying to trace fewer steps or one sequence.

# %%
stacked = bptt.SimpleRNN(vocab.size, 4, vocab.size, num_layers=2, seed=0).trace(x, y)
assert stacked._repr_html_() is None and "<iframe" in rnn_tr._repr_html_()

# %% [markdown]
# ## The BPTT lab
#
# `bptt.viz.lab.lab(path)` (the command `bptt lab --out lab.html`) writes the lab: the explorer
# with its controls open. Type your own sequence, switch between the simple RNN, the LSTM and the
# GRU, set the spectral radius ρ(W), the loss mask, truncation (k2) and clipping, train it with SGD
# or Adam, and watch the contribution grid, the Jacobian norms and the training curves change at
# once. The page runs its own forward and BPTT engine in JavaScript (the same equations as the
# library, tested against it to 10⁻¹²), so it works from a file, offline.

# %%
from bptt.viz.lab import lab


def show_page(path, height=900):
    """Show a full HTML page inline, in an iframe of its own."""
    page = Path(path).read_text(encoding="utf-8")
    display_html(f'<iframe srcdoc="{html.escape(page, quote=True)}" '
                 f'style="width:100%;height:{height}px;border:1px solid #d0d7de"></iframe>', raw=True)


built_in = lab(work / "lab.html")                    # the built-in tiny SimpleRNN reading "hello"
print(built_in.name, f"{built_in.stat().st_size / 1e3:.0f} kB, self-contained")
show_page(built_in)

# %% [markdown]
# ## The lab on a model trained in Python
#
# The lab also starts from a model of yours: a one-layer `SimpleRNN`, `LSTM` or `GRU` with
# H ≤ 32 reading token ids. Here a small simple RNN learns a short repetitive text with
# `bptt.train`, and the lab opens on its weights and vocabulary:

# %%
corpus = "the cat sat on the mat. the dog sat on the log. " * 60
data = bptt.CharData.from_text(corpus)
small = bptt.SimpleRNN(data.vocab.size, 16, data.vocab.size, seed=0)
untrained = bptt.evaluate(small, data.val_ids, batch=1, seq_len=24) / np.log(2)   # nats → bits
history = bptt.train(small, data, bptt.TrainConfig(steps=200, seq_len=24, batch=8, lr=1e-2,
                                                   eval_every=50, eval_chars=1000, progress=False))
print(f"untrained  validation {untrained:.3f} bits/char")
for rec in history:
    print(f"step {rec['step']:4d}  validation {rec['val_bpc']:.3f} bits/char")
assert history[-1]["val_bpc"] < untrained / 4

trained = lab(work / "trained.html", model=small, vocab=data.vocab, input_text="the cat sat")
embedded = re.search(r'<script type="application/json" id="bptt-trace">(.*?)</script>',
                     trained.read_text(encoding="utf-8"), re.S)
page_params = json.loads(embedded.group(1))["params"]
assert all(np.array_equal(np.array(page_params[k]), small.params[k]) for k in small.params)
show_page(trained)

# %% [markdown]
# A lab experiment comes back to Python too: the page's **Export** button saves a JSON file, and
# `bptt.load_lab_export("lab.json")` reads it into NumPy and a model (`ex.model`, `ex.x`, `ex.y`,
# `ex.loss`), and `ex.replay()` re-runs its training history with `bptt.optim` and
# `bptt.clipping`.

# %%
import shutil

shutil.rmtree(work)
