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
# # Training a character-level language model
#
# A character-level language model reads text one character at a time and predicts the next one:
# at step t the input is x(t) = the id of a character and the target is y(t) = the id of the
# character after it. This notebook trains a simple RNN on the built-in corpus with `bptt.train`
# (what `bptt train` does), measures it in bits per character on held-out text, samples from it,
# and reads it back from its checkpoint.
#
# Dimension letters: T time steps, B batch, D input size, H hidden size, O output size.

# %%
# %matplotlib inline
import math
import tempfile
from pathlib import Path

import numpy as np

import bptt
from bptt.data import builtin_corpus
from bptt.io.saving import load_model
from bptt.training.sampling import sample

work = Path(tempfile.mkdtemp(prefix="bptt-char-lm-"))

# %% [markdown]
# ## The data
#
# The built-in corpus is the source of Python's standard library (the same text on every run
# with the same Python). `CharData` builds the vocabulary of its characters and keeps the last
# 10 % as validation text, so that nothing of it leaks into training.

# %%
text = builtin_corpus(300_000)
data = bptt.CharData.from_text(text)
V = data.vocab.size
print(f"{len(text):,} characters, a vocabulary of {V}; "
      f"{len(data.train_ids):,} for training, {len(data.val_ids):,} for validation")
print(text[:300])

# %% [markdown]
# Something to beat: a model that ignores the context and predicts every character with its
# frequency in the training text (add-one smoothed) pays, on the validation text, its
# cross-entropy in bits per character:

# %%
counts = np.bincount(data.train_ids, minlength=V) + 1.0
unigram = counts / counts.sum()
unigram_bpc = -np.mean(np.log2(unigram[data.val_ids]))
print(f"unigram model: {unigram_bpc:.3f} bits/char; uniform over {V}: {math.log2(V):.3f} bits/char")

# %% [markdown]
# ## Training
#
# `bptt.train(model, data, TrainConfig(...))` cuts the training text into B = 32 parallel
# streams and walks a window of seq_len = 50 characters along them: each step runs the forward
# pass and BPTT through the window from the state carried in from the previous window (truncated
# BPTT with k1 = k2 = 50), clips the gradient norm at 5 and takes an Adam step. Every `eval_every`
# steps it measures the validation loss. With `out`, it writes checkpoints and `metrics.jsonl`
# there; `resume=True` continues a run from its last checkpoint exactly where it stopped — here
# the 1000 steps are run as 500, then 500 more.

# %%
model = bptt.SimpleRNN(V, 128, V, dtype="float32", seed=0)   # H = 128; float32 for speed
print(model, f"{sum(p.size for p in model.params.values()):,} parameters")
config = dict(seq_len=50, batch=32, lr=3e-3, eval_every=100, eval_chars=20_000, out=str(work / "run"),
              checkpoint_every=250, progress=False)
history = bptt.train(model, data, bptt.TrainConfig(steps=500, **config))
history = bptt.train(model, data, bptt.TrainConfig(steps=1000, resume=True, **config))
print(" step   train bpc   validation bpc   ‖∂J/∂θ‖   chars/s")
for rec in history:
    print(f"{rec['step']:5d}   {rec['train_bpc']:9.3f}   {rec['val_bpc']:14.3f}   "
          f"{rec['grad_norm']:7.2f}   {rec['chars_per_s']:7.0f}")
assert [rec["step"] for rec in history] == list(range(100, 1001, 100))
assert history[-1]["val_bpc"] < unigram_bpc - 1.0

# %%
from matplotlib.figure import Figure

steps = [rec["step"] for rec in history]
fig = Figure(figsize=(7.5, 3.8), layout="constrained")
ax = fig.add_subplot()
ax.plot(steps, [rec["train_bpc"] for rec in history], "o-", label="training (mean since the last evaluation)")
ax.plot(steps, [rec["val_bpc"] for rec in history], "s-", label="validation")
ax.axhline(unigram_bpc, color="gray", ls="--", label="unigram model")
ax.set(xlabel="step", ylabel="bits per character", title="A SimpleRNN (H = 128) on the built-in corpus")
ax.legend()
fig

# %% [markdown]
# ## Evaluating
#
# `bptt.evaluate(model, ids, batch, seq_len, max_chars)` gives the mean loss per character in nats
# (bits = nats / ln 2). With batch = 1 it reads the text as one stream, the number other tools
# report. On a window short enough to read in one pass it is exactly the mean of −log ŷ(t)[y(t)],
# which is checked here against the softmax of the forward pass's logits, written out in NumPy:

# %%
val_bpc = bptt.evaluate(model, data.val_ids, batch=1, seq_len=100, max_chars=20_000) / math.log(2)
print(f"validation, one stream over 20,000 characters: {val_bpc:.3f} bits/char")

ids = data.val_ids[:501]
x, y = ids[:-1, None], ids[1:, None]                         # (T, B) = (500, 1)
o = model.forward(x).o.astype(np.float64)                    # logits (T, B, O)
log_p = o - o.max(-1, keepdims=True)
log_p -= np.log(np.exp(log_p).sum(-1, keepdims=True))        # log softmax
by_hand = -np.take_along_axis(log_p, y[..., None], -1).mean()
nats = bptt.evaluate(model, ids, batch=1, seq_len=500, max_chars=501)
print(f"the first 500 validation characters: {nats / math.log(2):.4f} bits/char "
      f"(by hand: {by_hand / math.log(2):.4f})")
assert abs(nats - by_hand) < 1e-4                            # float32 logits

# %% [markdown]
# ## Sampling
#
# `sample` feeds a prime through the model, then draws each next character from
# softmax(o(t) / temperature) and feeds it back in. Low temperatures pick likely characters;
# the same seed gives the same text.

# %%
for temperature in (0.5, 0.8, 1.0):
    print(f"--- temperature {temperature}")
    print(sample(model, data.vocab, 200, prime="def ", temperature=temperature, seed=1))
assert sample(model, data.vocab, 100, prime="def ", seed=3) == sample(model, data.vocab, 100,
                                                                      prime="def ", seed=3)

# %% [markdown]
# `bptt.decode` has the other decoders: greedy decoding (the most likely character at each step)
# and beam search (the `width` best prefixes kept at each step), on any model through an
# `LMStepper` conditioned on the prime:

# %%
from bptt.decode import LMStepper, beam_search, greedy

prime = "    def "
best = greedy(LMStepper(model, data.vocab.encode(prime)), max_len=60)
print("greedy:", repr(prime + data.vocab.decode(list(best.tokens))))
beams = beam_search(LMStepper(model, data.vocab.encode(prime)), width=4, max_len=30, n_best=2)
for h in beams:
    print(f"beam (log p = {h.logprob:.2f}):", repr(prime + data.vocab.decode(list(h.tokens))))
(one,) = beam_search(LMStepper(model, data.vocab.encode(prime)), width=1, max_len=60)
assert list(one.tokens) == list(best.tokens)                 # a beam of width 1 is greedy decoding

# %% [markdown]
# ## The checkpoint
#
# `out` holds the last checkpoint (parameters, optimizer state, the carried state, the data
# position, verified by SHA-256 when read). `load_model` reads the model and its vocabulary back
# (the command line's `bptt sample` and `bptt eval` do the same):

# %%
loaded, vocab, meta = load_model(work / "run")
print(sorted(p.name for p in (work / "run").iterdir()))
print(f"step {meta['step']}, {loaded}")
assert meta["step"] == 1000 and vocab.chars == data.vocab.chars
assert all(np.array_equal(loaded.params[k], model.params[k]) for k in model.params)

# %% [markdown]
# ## What the trained model carries back
#
# The error flow of the trained model on a line of validation text: ‖∂L(s)/∂a(t)‖ for every loss
# term L(s) and earlier step t. Even trained, a simple RNN's errors fade within a few dozen steps.

# %%
line = data.vocab.decode(list(data.val_ids[1000:1041]))
ids = data.vocab.encode(line)
tr = model.trace(ids[:-1, None], ids[1:, None])
print(repr(line))
bptt.viz.error_flow(tr)

# %%
import shutil

shutil.rmtree(work)
