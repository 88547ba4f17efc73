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
# # The next step up the mountain: LSTM
#
# The tutorial ended where the simple RNN fails: each step back multiplies a loss term's error by
# Wᵀ and g′(a(t)), so the error of a loss at step s barely reaches steps far before it. The LSTM
# was built to carry it. This notebook takes the LSTM through the same steps — forward
# propagation, back-propagation "following the flows of variables" along the cell path and the
# hidden path, and a task that needs memory — checking the library's numbers against the
# equations written out in NumPy.
#
# Dimension letters: T time steps, B batch, D input size, H hidden size, O output size.

# %%
# %matplotlib inline
import numpy as np

import bptt
from bptt.cells.lstm import reference as lstm_reference

rng = np.random.default_rng(0)
np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## 1. LSTM forward propagation
#
# bptt follows the notation of Greff et al., "LSTM: A Search Space Odyssey" (2017). A hat marks a
# pre-activation, σ is the logistic sigmoid and ⊙ the elementwise product:
#
#     z(t) = tanh(ẑ(t)),  ẑ(t) = W_z x(t) + R_z y(t−1) + b_z                    block input
#     i(t) = σ(î(t)),     î(t) = W_i x(t) + R_i y(t−1) + p_i ⊙ c(t−1) + b_i      input gate
#     f(t) = σ(f̂(t)),     f̂(t) = W_f x(t) + R_f y(t−1) + p_f ⊙ c(t−1) + b_f      forget gate
#     c(t) = z(t) ⊙ i(t) + c(t−1) ⊙ f(t)                                       cell
#     o(t) = σ(ô(t)),     ô(t) = W_o x(t) + R_o y(t−1) + p_o ⊙ c(t) + b_o        output gate
#     y(t) = tanh(c(t)) ⊙ o(t)                                                 block output
#
# and an output layer on the block output, as for the simple RNN. y(t) plays the part of the
# simple RNN's h(t) (it is `.h` in the results); the state is the pair (h, c). The peepholes p_*
# are optional (`peepholes=True`); this notebook leaves them out, as PyTorch does.

# %%
lstm = bptt.LSTM(3, 4, 2, output="identity", seed=0)       # D = 3, H = 4, O = 2
print({k: p.shape for k, p in lstm.params.items()})
x = rng.normal(size=(5, 2, 3))                               # (T, B, D) = (5, 2, 3)
out = lstm.forward(x)

sigma = lambda a: 1 / (1 + np.exp(-a))                       # noqa: E731
P = lstm.params
y_prev, c_prev = np.zeros((2, 4)), np.zeros((2, 4))          # (y(−1), c(−1)) = (0, 0)
for t in range(5):
    pre = {g: x[t] @ P[f"W_{g}"].T + y_prev @ P[f"R_{g}"].T + P[f"b_{g}"] for g in "zifo"}
    z, i, f, o = np.tanh(pre["z"]), sigma(pre["i"]), sigma(pre["f"]), sigma(pre["o"])
    c_prev = z * i + c_prev * f                              # c(t) = z(t) ⊙ i(t) + c(t−1) ⊙ f(t)
    y_prev = np.tanh(c_prev) * o                             # y(t) = tanh(c(t)) ⊙ o(t)
    print(f"t={t}  f(t) = {f[0]}  c(t) = {c_prev[0]}")
    assert np.allclose(c_prev, out.c[t]) and np.allclose(y_prev, out.h[t])
    assert np.allclose(out.o[t], P["c"] + y_prev @ P["V"].T)   # o(t) = c + V y(t): the output layer

# %% [markdown]
# The library's own reference path is a loop over one pure step function with a named cache;
# `forward` runs the fused fast path, and the two agree:

# %%
p0 = lstm_reference.layer_params(lstm.params, 0)             # layer 0 under the plain names
state = (np.zeros((2, 4)), np.zeros((2, 4)))
for t in range(5):
    state, cache = lstm_reference.step_forward(x[t], state, p0)
assert np.allclose(out.h_last, state[0]) and np.allclose(out.c_last, state[1])
print("cache fields:", cache._fields)

# %% [markdown]
# ## 2. LSTM back propagation: following the flows of variables
#
# Going back from the last step, each step receives two errors: ∂J/∂y(t), at the block output
# (from the output layer, and from every gate of step t+1 through R), and the part of ∂J/∂c(t)
# that comes from the next cell, c(t+1) = … + c(t) ⊙ f(t+1):
#
#     ∂J/∂c(t) = ∂J/∂y(t) ⊙ o(t) ⊙ tanh′(c(t)) + ∂J/∂c(t+1) ⊙ f(t+1)          (no second term at T−1)
#     ∂J/∂ô(t) = ∂J/∂y(t) ⊙ tanh(c(t)) ⊙ σ′(ô(t))
#     ∂J/∂î(t) = ∂J/∂c(t) ⊙ z(t) ⊙ σ′(î(t))         ∂J/∂f̂(t) = ∂J/∂c(t) ⊙ c(t−1) ⊙ σ′(f̂(t))
#     ∂J/∂ẑ(t) = ∂J/∂c(t) ⊙ i(t) ⊙ tanh′(ẑ(t))
#     ∂J/∂y(t−1) = Vᵀ ∂J/∂o(t−1) + Σ_g R_gᵀ ∂J/∂ĝ(t)                              (g ∈ z, i, f, o)
#     (∂J/∂W_g)^(t) = ∂J/∂ĝ(t) x(t)ᵀ    (∂J/∂R_g)^(t) = ∂J/∂ĝ(t) y(t−1)ᵀ    (∂J/∂b_g)^(t) = ∂J/∂ĝ(t)
#
# The trace keeps every one of these errors: `"h"` is ∂J/∂y(t), `"c"` is ∂J/∂c(t), and `"z_hat"`,
# `"i_hat"`, `"f_hat"`, `"o_hat"` are the gates' pre-activation errors. Here the whole backward
# recursion is written out once more from the forward values, with the squared-error loss
# J = Σ_t ½‖o(t) − y*(t)‖² (averaged over the batch):

# %%
target = rng.normal(size=(5, 2, 2))                          # regression targets (T, B, O)
tr = lstm.trace(x, target)
g, C, Y = tr.forward.gates, tr.forward.c, tr.forward.h       # {"z", "i", "f", "o"}, c(t), y(t)
T, B, H = C.shape
do = (tr.forward.o - target) / B                             # ∂J/∂o(t) of the mean over the batch
dy, dc = np.zeros((T, B, H)), np.zeros((T, B, H))
dgate = {k: np.zeros((T, B, H)) for k in "zifo"}
for t in reversed(range(T)):
    dy[t] = do[t] @ P["V"]                                   # Vᵀ ∂J/∂o(t)
    if t < T - 1:
        dy[t] += sum(dgate[k][t + 1] @ P[f"R_{k}"] for k in "zifo")   # + Σ_g R_gᵀ ∂J/∂ĝ(t+1)
    dc[t] = dy[t] * g["o"][t] * (1 - np.tanh(C[t]) ** 2)     # through y(t) = tanh(c(t)) ⊙ o(t)
    if t < T - 1:
        dc[t] += dc[t + 1] * g["f"][t + 1]                   # through c(t+1): the cell path
    c_before = C[t - 1] if t > 0 else np.zeros((B, H))
    dgate["o"][t] = dy[t] * np.tanh(C[t]) * g["o"][t] * (1 - g["o"][t])
    dgate["i"][t] = dc[t] * g["z"][t] * g["i"][t] * (1 - g["i"][t])
    dgate["f"][t] = dc[t] * c_before * g["f"][t] * (1 - g["f"][t])
    dgate["z"][t] = dc[t] * g["i"][t] * (1 - g["z"][t] ** 2)
    print(f"t={t}  ∂J/∂y = {dy[t, 0]}  ∂J/∂c = {dc[t, 0]}  ∂J/∂f̂ = {dgate['f'][t, 0]}")
assert np.allclose(dy, tr.errors["h"]) and np.allclose(dc, tr.errors["c"])
for k in "zifo":
    assert np.allclose(dgate[k], tr.errors[f"{k}_hat"])
assert np.allclose(tr.per_step["W_f"][2], dgate["f"][2].T @ x[2])      # ∂J/∂f̂(2) x(2)ᵀ
assert np.allclose(tr.per_step["R_f"][2], dgate["f"][2].T @ Y[1])      # ∂J/∂f̂(2) y(1)ᵀ
for name in lstm.params:
    assert np.allclose(tr.per_step[name].sum(axis=0), tr.grads[name])  # ∂J/∂θ = Σ_t (∂J/∂θ)^(t)

# %% [markdown]
# Central differences of J agree with the summed gradients (ε = 10⁻⁴: R_i's gradient entries are
# of order 10⁻³, and with a smaller step the rounding error of J dominates):

# %%
check = bptt.gradcheck(lstm, x, target, eps=1e-4)
print(check.table())
assert check.max_error < 1e-7

# %% [markdown]
# ### The cell path and the hidden path
#
# The first equation above is the heart of the LSTM. The error of a loss term L(s) reaches c(t)
# along two roads:
#
# - the **cell path**, c(t+1) → c(t): one elementwise product with the forget gate f(t+1) per
#   step, no matrix and no squashing derivative. With f ≈ 1 the error passes unchanged — the
#   "constant error carousel" of Hochreiter & Schmidhuber;
# - the **hidden path**, through y(t) and the gates of step t+1: the R matrices and the
#   derivatives σ′ and tanh′, like the simple RNN's Wᵀ and g′.
#
# `errors_by_source` splits each error by the loss term it comes from: `["c"][s, t]` =
# ∂L(s)/∂c(t) and `["h"][s, t]` = ∂L(s)/∂y(t). Their norms are `tr.flow` (the cell path) and
# `tr.flow_h` (the hidden path). Each loss term's error obeys the same recursion as the total:

# %%
src = tr.errors_by_source                                    # {"c", "h"}, each (T, T, B, H)
assert np.allclose(src["c"].sum(axis=0), tr.errors["c"])     # summed over s: ∂J/∂c(t)
assert np.allclose(src["h"].sum(axis=0), tr.errors["h"])     # summed over s: ∂J/∂y(t)
s = 4
via_y = src["h"][s] * g["o"] * (1 - np.tanh(C) ** 2)
via_y[:-1] += src["c"][s, 1:] * g["f"][1:]                   # ∂L(s)/∂c(t) = … + ∂L(s)/∂c(t+1) ⊙ f(t+1)
assert np.allclose(via_y[: s + 1], src["c"][s, : s + 1])
print(tr.flow)                                               # ‖∂L(s)/∂c(t)‖, rows s, columns t

# %%
bptt.viz.error_flow([tr, tr], source="all", path=["cell", "hidden"])

# %% [markdown]
# Now the comparison that matters: the same task for a simple RNN and an LSTM, here the
# copy-memory task (remember 5 symbols across a delay of 20 steps), both untrained. The ratio
# ‖∂L(29)/∂·(0)‖ / ‖∂L(29)/∂·(29)‖ says how much of the last loss term's error reaches the first
# step.

# %%
from bptt.data import copy_memory

task = copy_memory(20, 4, seed=0, n_symbols=6, length=5)    # T = 30 steps, ids 0..7
rnn_tr = bptt.SimpleRNN(8, 16, 8, seed=0).trace(task.x, task.y, mask=task.mask)
lstm_tr = bptt.LSTM(8, 16, 8, forget_bias=1.0, seed=0).trace(task.x, task.y, mask=task.mask)


def reach(flow):                                             # ‖error at t = 0‖ / ‖error at t = s‖
    return flow[-1, 0] / flow[-1, -1]                        # for the last loss term, s = 29


print(f"SimpleRNN ‖∂L(29)/∂a(0)‖ / ‖∂L(29)/∂a(29)‖ = {reach(rnn_tr.flow):.1e}")
print(f"LSTM      ‖∂L(29)/∂c(0)‖ / ‖∂L(29)/∂c(29)‖ = {reach(lstm_tr.flow):.1e}   (cell path)")
print(f"LSTM      ‖∂L(29)/∂y(0)‖ / ‖∂L(29)/∂y(29)‖ = {reach(lstm_tr.flow_h):.1e}   (hidden path)")
assert reach(rnn_tr.flow) < 1e-5 < 1e-3 < reach(lstm_tr.flow)
bptt.viz.flow_comparison([rnn_tr, lstm_tr], ["SimpleRNN", "LSTM"])

# %% [markdown]
# How far the error reaches is set by how open the forget gates are — which is what training
# adjusts, and what `forget_bias` sets at the start (bptt's default is PyTorch's, 0):

# %%
reaches = []
for fb in (0.0, 1.0, 3.0, 5.0):
    tr_fb = bptt.LSTM(8, 16, 8, forget_bias=fb, seed=0).trace(task.x, task.y, mask=task.mask)
    reaches.append(reach(tr_fb.flow))
    print(f"forget_bias {fb}: mean f(t) = {tr_fb.forward.gates['f'].mean():.3f}, "
          f"cell path ‖∂L(29)/∂c(0)‖ / ‖∂L(29)/∂c(29)‖ = {reaches[-1]:.2g}")
assert all(a < b for a, b in zip(reaches, reaches[1:]))     # open gates, far-reaching errors

# %% [markdown]
# ## 3. The adding problem: memory across 50 steps
#
# The adding problem (Hochreiter & Schmidhuber 1997) needs exactly what the cell path provides.
# Each sequence has two inputs per step, a value u(t) ~ U[0, 1) and a marker that is 1 at exactly
# two steps, one in each half; the target, at the last step only, is the sum of the two marked
# values. Always predicting 1 scores MSE = Var(u₁ + u₂) = 1/6, and a model that beats it must carry
# the first marked value across up to 49 steps.
#
# A simple RNN and an LSTM (H = 32, float32) read the same batches with the same recipe: Adam with
# lr = 10⁻², gradients clipped at norm 1, 1200 batches of 50 fresh sequences, the loss ½(o − y)² at
# the last step only (a many-to-one mask). (`examples/adding_problem.py` runs the full T = 100
# version, with the GRU.)

# %%
import time

from bptt.data import ADDING_BASELINE_MSE, adding_problem

T_ADD, STEPS = 50, 1200
models = {"SimpleRNN": bptt.SimpleRNN(2, 32, 1, output="identity", dtype="float32", seed=0),
          "LSTM": bptt.LSTM(2, 32, 1, output="identity", forget_bias=1.0, dtype="float32", seed=0)}
opts = {name: bptt.optim.Adam(lr=1e-2) for name in models}
test = adding_problem(T_ADD, 500, seed=10_000)               # held out


def test_mse(model):
    o = model.forward(test.x.astype(np.float32)).o           # (T, n, 1)
    return float(np.mean((o[-1, :, 0] - test.y[-1, :, 0]) ** 2))


baseline = float(np.mean((1 - test.y[-1, :, 0]) ** 2))       # always predicting 1
curves = {name: [] for name in models}
batches = np.random.default_rng(0)
start = time.perf_counter()
for step in range(1, STEPS + 1):
    xb, yb, mb = (a.astype(np.float32) for a in adding_problem(T_ADD, 50, batches))
    for name, model in models.items():
        loss, grads = model.loss_and_grads(xb, yb, mask=mb)    # J = ½ mean (o − y)² at T − 1
        bptt.clipping.clip_by_norm(grads, 1.0)
        opts[name].step(model.params, grads)
    if step % 100 == 0:
        for name, model in models.items():
            curves[name].append((step, test_mse(model)))
print(f"{time.perf_counter() - start:.1f} s; always predicting 1: MSE {baseline:.4f} "
      f"(1/6 = {ADDING_BASELINE_MSE:.4f})")
for name in models:
    print(f"{name:9s} test MSE after {STEPS} steps: {curves[name][-1][1]:.4f}")
assert curves["LSTM"][-1][1] < baseline / 20 and curves["SimpleRNN"][-1][1] > baseline / 2

# %%
from matplotlib.figure import Figure

fig = Figure(figsize=(7, 3.6), layout="constrained")
ax = fig.add_subplot()
for name, curve in curves.items():
    ax.plot(*np.array(curve).T, "o-", label=name)
ax.axhline(baseline, color="black", ls="--", lw=1, label="always predicting 1")
ax.set(yscale="log", xlabel="training step", ylabel="test MSE at the last step",
       title=f"The adding problem, T = {T_ADD}")
ax.legend()
fig

# %% [markdown]
# The LSTM learns the task and the simple RNN stays at the baseline. Traced in float64 on a few
# test sequences, the trained LSTM's cell path carries the last loss term's error back to the
# first steps:

# %%
def float64_copy(model):
    twin = type(model)(**{**model.config(), "dtype": "float64"})
    for k, p in model.params.items():
        twin.params[k][...] = p
    return twin


few = slice(0, 4)
traces = [float64_copy(m).trace(test.x[:, few], test.y[:, few], mask=test.mask[:, few])
          for m in models.values()]
bptt.viz.flow_comparison(traces, list(models), heatmaps=None)
