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
# # From bptt to PyTorch and back
#
# bptt is for understanding and checking; when a model outgrows one CPU, its weights move to
# PyTorch. `bptt.to_torch(model)` gives a `torch.nn.RNN` (or `LSTM`, `GRU`) and a
# `torch.nn.Linear` that compute the same function, and `bptt.from_torch(rnn, linear)` brings
# them back. This notebook trains a character model in bptt, checks that PyTorch computes the same
# logits, loss and gradients, continues the training in PyTorch (on a GPU when there is one),
# and imports the result back into bptt, where the round trip is exact.
#
# The parameters keep the article's names and PyTorch's shapes, so they copy without transposes:
#
# | bptt (SimpleRNN) | PyTorch |
# |---|---|
# | `U` (H, D) | `rnn.weight_ih_l0` |
# | `W` (H, H) | `rnn.weight_hh_l0` |
# | `b` (H,) | `rnn.bias_ih_l0 + rnn.bias_hh_l0` (exported: `b` and zeros) |
# | `V` (O, H), `c` (O,) | `linear.weight`, `linear.bias` |
#
# Both are time-major: inputs (T, B, D), `batch_first=False`. bptt's loss J is summed over the
# time steps and averaged over the batch.

# %%
# %matplotlib inline
import math

import numpy as np
import torch

import bptt
from bptt.data import StreamBatcher, builtin_corpus

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
print("PyTorch", torch.__version__, "on", device)

# %% [markdown]
# ## Train in bptt
#
# A simple RNN (H = 64) on the built-in corpus, in float64 so that the comparisons below hold to
# the last digits:

# %%
data = bptt.CharData.from_text(builtin_corpus(200_000))
V = data.vocab.size
model = bptt.SimpleRNN(V, 64, V, dtype="float64", seed=0)
config = bptt.TrainConfig(steps=300, seq_len=50, batch=32, lr=3e-3, eval_every=100,
                          eval_chars=10_000, progress=False)
history = bptt.train(model, data, config)
for rec in history:
    print(f"bptt step {rec['step']:4d}  validation {rec['val_bpc']:.3f} bits/char")

# %% [markdown]
# ## Export, and check that PyTorch computes the same function
#
# The weights are copied as they are; the logits of a validation window agree to float64
# round-off, and so do the loss and every gradient (PyTorch's autograd against bptt's BPTT):

# %%
rnn, linear = bptt.to_torch(model)
print(rnn, linear, sep="\n")
assert torch.equal(rnn.weight_ih_l0, torch.from_numpy(model.params["U"]))
assert torch.equal(rnn.weight_hh_l0, torch.from_numpy(model.params["W"]))
assert torch.equal(linear.weight, torch.from_numpy(model.params["V"]))


def one_hot(ids):                                            # token ids (T, B) -> (T, B, V) float64
    return torch.nn.functional.one_hot(torch.as_tensor(ids, dtype=torch.long), V).double()


ids = data.val_ids[:401]
x, y = ids[:-1].reshape(50, 8, order="F"), ids[1:].reshape(50, 8, order="F")   # (T, B) = (50, 8)
logits = linear(rnn(one_hot(x))[0])                          # (T, B, O)
out = model.forward(x)
print(f"max |logits difference| = {np.abs(logits.detach().numpy() - out.o).max():.1e}")
assert np.allclose(logits.detach().numpy(), out.o, rtol=0, atol=1e-12)

B = x.shape[1]
target = torch.as_tensor(y.reshape(-1), dtype=torch.long)
loss_t = torch.nn.functional.cross_entropy(logits.reshape(-1, V), target, reduction="sum") / B
#        J: summed over the steps, averaged over the batch
loss_t.backward()
loss, grads = model.loss_and_grads(x, y)
torch_grads = {"U": rnn.weight_ih_l0.grad, "W": rnn.weight_hh_l0.grad, "b": rnn.bias_ih_l0.grad,
               "V": linear.weight.grad, "c": linear.bias.grad}
print(f"J: bptt {loss:.12f}, PyTorch {loss_t.item():.12f}")
assert abs(loss - loss_t.item()) <= 1e-10 * loss
for name, g in torch_grads.items():
    err = np.abs(g.numpy() - grads[name]).max() / np.abs(grads[name]).max()
    print(f"∂J/∂{name}: relative difference {err:.1e}")
    assert err < 1e-10
rnn.zero_grad()
linear.zero_grad()

# %% [markdown]
# ## Continue training in PyTorch
#
# The loss continues where bptt left off: the validation loss of the exported model, measured by
# PyTorch, is bptt's. Then PyTorch trains on, with the same recipe — windows of 50 characters over
# 32 streams, the state carried from window to window (detached: truncated BPTT), the gradient
# norm clipped at 5, Adam with lr = 3·10⁻³ (its moments start afresh: bptt's optimizer state is
# not exported). On a GPU the same loop runs there; for several processes wrap the modules in
# `torch.nn.parallel.DistributedDataParallel`.

# %%
@torch.no_grad()
def torch_evaluate(rnn, linear, ids, seq_len=100):
    """Mean −log p per character (nats) over one stream, the state carried: bptt.evaluate's batch=1."""
    x = one_hot(ids[:-1, None]).to(device)
    y = torch.as_tensor(ids[1:], dtype=torch.long, device=device)
    h, total = None, 0.0
    for p in range(0, len(y), seq_len):
        o, h = rnn(x[p:p + seq_len], h)
        total += torch.nn.functional.cross_entropy(linear(o[:, 0]), y[p:p + seq_len], reduction="sum").item()
    return total / len(y)


val = data.val_ids[:10_001]
rnn, linear = rnn.to(device), linear.to(device)
before_bptt = bptt.evaluate(model, val, batch=1, seq_len=100, max_chars=None)
before_torch = torch_evaluate(rnn, linear, val)
print(f"validation at the hand-over: bptt {before_bptt / math.log(2):.6f}, "
      f"PyTorch {before_torch / math.log(2):.6f} bits/char")
assert abs(before_bptt - before_torch) < 1e-10

# %%
params = list(rnn.parameters()) + list(linear.parameters())
opt = torch.optim.Adam(params, lr=3e-3)
batches = StreamBatcher(data.train_ids, 32, 50)
h = None
for step in range(1, 301):
    xb, yb, reset = batches.next_batch()
    if reset:
        h = None                                                   # the streams start again: h0 = 0
    o, h = rnn(one_hot(xb).to(device), h)
    h = h.detach()                                                 # carried, treated as a constant
    loss = torch.nn.functional.cross_entropy(linear(o).reshape(-1, V),
                                             torch.as_tensor(yb.reshape(-1), dtype=torch.long, device=device))
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 5.0)
    opt.step()
    if step % 100 == 0:
        print(f"PyTorch step {step:4d}  training {loss.item() / math.log(2):.3f} bits/char")
after_torch = torch_evaluate(rnn, linear, val)
print(f"validation after 300 PyTorch steps: {after_torch / math.log(2):.3f} bits/char")
assert after_torch < before_torch

# %% [markdown]
# ## Back into bptt
#
# `from_torch` reads the trained modules back (PyTorch's two biases are added into one `b`). The
# model computes what PyTorch computes — the same validation loss — and everything in bptt works
# on it again: sampling, traces, the figures.

# %%
back = bptt.from_torch(rnn.cpu(), linear.cpu())
after_bptt = bptt.evaluate(back, val, batch=1, seq_len=100, max_chars=None)
print(f"validation: PyTorch {after_torch / math.log(2):.6f}, bptt {after_bptt / math.log(2):.6f} bits/char")
assert abs(after_bptt - after_torch) < 1e-10

from bptt.training.sampling import sample

print(sample(back, data.vocab, 200, prime="def ", temperature=0.7, seed=1))

# %%
line = np.asarray(data.val_ids[2000:2031])                   # 30 steps of validation text
bptt.viz.error_flow(back.trace(line[:-1, None], line[1:, None]))

# %% [markdown]
# ## The round trip is exact
#
# bptt → PyTorch → bptt gives back the same parameters, bit for bit, for every cell that PyTorch
# can express — the simple RNN (tanh or relu), the LSTM without peepholes and the GRU with the
# reset gate after W_n, stacked or not. (LSTM gates: PyTorch's order i, f, g, o is Greff's
# i, f, z, o; the GRU keeps its candidate's recurrent bias b_hn apart, as PyTorch does.)

# %%
cells = {"SimpleRNN": bptt.SimpleRNN(5, 8, 3, num_layers=2, seed=1),
         "LSTM": bptt.LSTM(5, 8, 3, num_layers=2, seed=1),
         "GRU": bptt.GRU(5, 8, 3, num_layers=2, seed=1),
         "trained SimpleRNN": back}
xs = np.random.default_rng(0).normal(size=(7, 2, 5))
for name, m in cells.items():
    again = bptt.from_torch(*bptt.to_torch(m))
    assert list(again.params) == list(m.params)
    assert all(np.array_equal(again.params[k], m.params[k]) for k in m.params)
    print(f"{name}: {len(m.params)} parameters, every one identical after the round trip")
    if m is not back:
        torch_rnn, torch_linear = bptt.to_torch(m)
        o_torch = torch_linear(torch_rnn(torch.from_numpy(xs))[0]).detach().numpy()
        assert np.allclose(o_torch, m.forward(xs).o, rtol=0, atol=1e-12)

# %% [markdown]
# PyTorch → bptt → PyTorch keeps the function but not the split of the bias: the trained `rnn`
# has two biases, and the exported copy holds their sum in `bias_ih` and zeros in `bias_hh`.

# %%
rnn2, linear2 = bptt.to_torch(back)
assert torch.equal(rnn2.bias_ih_l0, rnn.bias_ih_l0 + rnn.bias_hh_l0)
assert not rnn2.bias_hh_l0.any()
with torch.no_grad():
    xv = one_hot(data.val_ids[:100, None])
    diff = (linear2(rnn2(xv)[0]) - linear(rnn(xv)[0])).abs().max().item()
print(f"max |logits difference| after PyTorch → bptt → PyTorch: {diff:.1e}")
assert diff < 1e-12
