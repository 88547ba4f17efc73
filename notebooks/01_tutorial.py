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
# # From a dense layer to BPTT, with real numbers
#
# This notebook follows the article bptt grew from — "Simple RNN: the first foothold for
# understanding LSTM" — through its three sections: a review of back-propagation in dense layers,
# the forward propagation of a simple RNN, and back-propagation through time (BPTT), where each
# step's errors give a per-step contribution to the gradients and the contributions are summed
# into one update. Then truncated BPTT, and why errors vanish or explode.
#
# Every number below is computed by the library and checked against an independent computation
# (the equations written out in NumPy, or central differences), so the notebook fails if the
# library is wrong.
#
# Dimension letters: T time steps, B batch, D input size, H hidden size, O output size. Arrays are
# time-major: inputs (T, B, D) or token ids (T, B), states (B, H), outputs (T, B, O).

# %%
# %matplotlib inline
import numpy as np

import bptt
from bptt.nn.activations import ACTIVATIONS
from bptt.nn.dense import dense_backward, dense_forward

rng = np.random.default_rng(0)
np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. A brief review of back-propagation in dense layers
#
# A dense layer maps x (B, D) to h = g(z), z = b + x Wᵀ. Its backward pass takes the error ∂J/∂h
# arriving from the layer above and gives the gradients of its own parameters, and the error ∂J/∂x
# that *the layer below* needs: "in order to adjust parameters of a layer you need errors in the
# next layer".
#
#     ∂J/∂z = g′(z) ⊙ ∂J/∂h      ∂J/∂W = ∂J/∂zᵀ x      ∂J/∂b = Σ_batch ∂J/∂z      ∂J/∂x = ∂J/∂z W

# %%
tanh = ACTIVATIONS["tanh"]
x = rng.normal(size=(2, 3))                         # (B, D)
W, b = rng.normal(size=(4, 3)), np.zeros(4)         # (H, D), (H,)
h, cache = dense_forward(x, W, b, tanh)             # h = tanh(b + x Wᵀ)      (B, H)
dh = np.ones_like(h)                                # pretend ∂J/∂h = 1 arrives from above
dx, dW, db = dense_backward(dh, W, cache, tanh)

dz = (1 - h**2) * dh                                # ∂J/∂z = g′(z) ⊙ ∂J/∂h, tanh′ = 1 − tanh²
assert np.allclose(dW, dz.T @ x) and np.allclose(db, dz.sum(0)) and np.allclose(dx, dz @ W)
print("∂J/∂W =\n", dW)

# %% [markdown]
# A multi-layer perceptron is a stack of those layers; `bptt.gradcheck` compares its gradients
# with central differences (J(θ + ε) − J(θ − ε)) / 2ε for every entry of every parameter:

# %%
mlp = bptt.MLP([2, 16, 16, 3], activation="tanh", output="softmax", seed=0)
x, y = rng.normal(size=(8, 2)), rng.integers(0, 3, size=8)
check = bptt.gradcheck(mlp, x, y)
print(check.table())
assert check.max_error < 1e-7

# %% [markdown]
# ## 2. Forward propagation of a simple RNN
#
# The simple RNN is a dense layer that also reads its own previous output. The parameters
# θ = {U, W, b, V, c} are shared by every time step (Goodfellow et al., eq. 10.8–10.11):
#
#     a(t) = b + W h(t−1) + U x(t)        h(t) = g(a(t))
#     o(t) = c + V h(t)                   ŷ(t) = softmax(o(t))
#
# Here is that loop one step at a time, written out in NumPy, next to the library's `forward`.
# Token ids are one-hot inputs that are never built: U x(t) is the column U[:, id].

# %%
from bptt.viz import DEMO_TEXT, DEMO_VOCAB, demo_trace

model = bptt.SimpleRNN(4, 3, 4, seed=0)             # D = O = 4 characters, H = 3
P = model.params
print({k: p.shape for k, p in P.items()})
print("vocabulary:", DEMO_VOCAB)
x = np.array([[DEMO_VOCAB.index(ch)] for ch in "hell"])   # token ids (T, B) = (4, 1)
h = np.zeros((1, 3))                                # h(−1) = h0 = 0
hs = []
for t in range(4):
    a = P["b"] + h @ P["W"].T + P["U"][:, x[t]].T   # a(t) = b + W h(t−1) + U x(t)      (B, H)
    h = np.tanh(a)                                  # h(t) = g(a(t))
    hs.append(h)
    print(f"a({t}) = {np.round(a[0], 3)}   h({t}) = {np.round(h[0], 3)}")
out = model.forward(x)
assert np.allclose(out.h, np.stack(hs)) and np.allclose(out.h_last, h)
o = P["c"] + out.h @ P["V"].T                       # o(t) = c + V h(t)                 (T, B, O)
assert np.allclose(out.o, o)

# %% [markdown]
# The figure below is drawn by `bptt.viz.unfolded_network` from the real numbers of a tiny model
# reading "hell" and predicting "ello" (`bptt.viz.demo_trace`): the same U, W and V act at every
# step.

# %%
tr = demo_trace(seed=0)
print(f"text {DEMO_TEXT!r}: inputs {DEMO_TEXT[:-1]!r}, targets {DEMO_TEXT[1:]!r}")
assert [DEMO_VOCAB[i] for i in tr.x[:, 0]] == list(DEMO_TEXT[:-1])
bptt.viz.unfolded_network(tr, vocab=DEMO_VOCAB)

# %% [markdown]
# `bptt.viz.hidden_states` shows h(t) for every unit and step:

# %%
bptt.viz.hidden_states(tr)

# %% [markdown]
# ## 3. Back-propagation through time
#
# J = Σ_t L(t), with L(t) = −log ŷ(t)[y(t)] (averaged over the batch). Going back from the last
# step, BPTT computes the *errors*, derivatives with respect to the network's values:
#
#     ∂J/∂o(t) = ŷ(t) − onehot(y(t))
#     ∂J/∂h(t) = Vᵀ ∂J/∂o(t) + Wᵀ ∂J/∂a(t+1)        (no second term at the last step)
#     ∂J/∂a(t) = g′(a(t)) ⊙ ∂J/∂h(t)
#
# A trace (`model.trace(x, y)`) keeps every one of them. Here they are computed once more by hand,
# from the forward values only:

# %%
print("loss J =", round(tr.loss, 4))
Pm, f = tr.model.params, tr.forward
T = tr.x.shape[0]
y_hat = np.exp(f.o) / np.exp(f.o).sum(-1, keepdims=True)           # softmax       (T, B, O)
do = y_hat - np.eye(4)[tr.y]                                        # ∂J/∂o(t)      (T, B, O)
dh_, da_ = np.zeros_like(f.h), np.zeros_like(f.h)
for t in reversed(range(T)):
    dh_[t] = do[t] @ Pm["V"]                                        # Vᵀ ∂J/∂o(t)
    if t < T - 1:
        dh_[t] += da_[t + 1] @ Pm["W"]                              # + Wᵀ ∂J/∂a(t+1)
    da_[t] = (1 - f.h[t] ** 2) * dh_[t]                             # g′(a(t)) ⊙ ∂J/∂h(t)
    print(f"t={t}  ∂J/∂o = {np.round(do[t, 0], 3)}  ∂J/∂h = {np.round(dh_[t, 0], 3)}"
          f"  ∂J/∂a = {np.round(da_[t, 0], 3)}")
assert np.allclose(do, tr.errors["o"]) and np.allclose(dh_, tr.errors["h"])
assert np.allclose(da_, tr.errors["a"])

# %% [markdown]
# ### Which error does each gradient need?
#
# From the errors, each step contributes to the gradients of the shared parameters:
#
#     (∂J/∂U)^(t) = ∂J/∂a(t) x(t)ᵀ    (∂J/∂W)^(t) = ∂J/∂a(t) h(t−1)ᵀ    (∂J/∂b)^(t) = ∂J/∂a(t)
#     (∂J/∂V)^(t) = ∂J/∂o(t) h(t)ᵀ    (∂J/∂c)^(t) = ∂J/∂o(t)
#
# (∂J/∂W)^(t) needs only ∂J/∂a(t) and h(t−1); (∂J/∂V)^(t) only ∂J/∂o(t) and h(t). The errors carry
# everything that happened after step t.

# %%
W_2 = np.einsum("bi,bj->ij", tr.errors["a"][2], tr.forward.h[1])    # ∂J/∂a(2) h(1)ᵀ
V_2 = np.einsum("bi,bj->ij", tr.errors["o"][2], tr.forward.h[2])    # ∂J/∂o(2) h(2)ᵀ
assert np.allclose(tr.per_step["W"][2], W_2) and np.allclose(tr.per_step["V"][2], V_2)
print("(∂J/∂W)^(2) =\n", W_2)

# %% [markdown]
# ### The per-step contributions are summed into one update
#
# The parameters are shared, so ∂J/∂θ = Σ_t (∂J/∂θ)^(t), and the parameters are renewed once for
# the whole sequence, θ ← θ − η ∂J/∂θ. Central differences confirm the summed gradient.

# %%
loss, grads = tr.model.loss_and_grads(tr.x, tr.y)
for name in ("U", "W", "b", "V", "c"):
    assert np.allclose(tr.per_step[name].sum(axis=0), grads[name])  # ∂J/∂θ = Σ_t (∂J/∂θ)^(t)
check = bptt.gradcheck(tr.model, tr.x, tr.y)
print(check.table())
assert check.max_error < 1e-7

# %%
bptt.viz.per_step_contributions(tr, "W")

# %% [markdown]
# ### The colored frames: each loss term's error, back through time
#
# ∂J/∂a(t) is a sum over the loss terms L(s), s ≥ t, each sending its own error back.
# `errors_by_source["a"][s, t]` is ∂L(s)/∂a(t): the article's "errors in the same color". They add
# up to the error, and no loss term sends anything to the steps after it.

# %%
src = tr.errors_by_source["a"]                      # (T, T, B, H): [s, t] = ∂L(s)/∂a(t)
assert np.allclose(src.sum(axis=0), tr.errors["a"])
assert all(np.all(src[s, s + 1:] == 0) for s in range(T))
print(np.round(tr.flow, 3))                         # ‖∂L(s)/∂a(t)‖, rows s, columns t

# %% [markdown]
# The backward pass, frame by frame, each loss term in its own colour (`bptt.viz.error_animation`
# writes a GIF):

# %%
import base64
import tempfile
from pathlib import Path

from IPython.display import display_html

work = Path(tempfile.mkdtemp(prefix="bptt-notebook-"))
gif = bptt.viz.error_animation(tr, work / "bptt.gif")
display_html(f'<img alt="The backward pass of BPTT, frame by frame" '
             f'src="data:image/gif;base64,{base64.b64encode(gif.read_bytes()).decode()}">', raw=True)

# %% [markdown]
# ### One update
#
# One step of gradient descent with the summed gradient:

# %%
before = tr.model.params["W"].copy()
bptt.optim.SGD(lr=0.1).step(tr.model.params, grads)                 # θ ← θ − η ∂J/∂θ
assert np.allclose(tr.model.params["W"], before - 0.1 * grads["W"])
print(f"loss before the update {loss:.4f}, after {tr.model.loss(tr.x, tr.y):.4f}")
assert tr.model.loss(tr.x, tr.y) < loss

# %% [markdown]
# ## Truncated BPTT
#
# Renewing the parameters once per whole text is slow. Truncated BPTT(k1, k2) makes an update every
# k1 steps from the losses of those steps, back-propagated through the last k2 steps only, from a
# state carried in as a constant. Each window is checked here against a plain BPTT of the same
# steps, started from the carried state, with the mask keeping only the window's new losses.

# %%
rnn = bptt.SimpleRNN(4, 8, 4, seed=1)
x = rng.integers(0, 4, size=(12, 2))
y = rng.integers(0, 4, size=(12, 2))
states = rnn.forward(x).h                                           # h(t) of the full pass (T, B, H)
for w in rnn.tbptt(x, y, k1=4, k2=6):
    print(f"window: gradient through steps {w.t_start}..{w.t_end}, "
          f"losses of steps {w.loss_start}..{w.t_end}: {w.loss:.3f}")
    h0 = states[w.t_start - 1] if w.t_start > 0 else None           # carried in, a constant
    mask = np.zeros((w.t_end - w.t_start + 1, 2))
    mask[w.loss_start - w.t_start:] = 1
    sl = slice(w.t_start, w.t_end + 1)
    ref_loss, ref_grads = rnn.loss_and_grads(x[sl], y[sl], h0=h0, mask=mask)
    assert np.isclose(w.loss, ref_loss)
    assert all(np.allclose(w.grads[k], ref_grads[k]) for k in rnn.params)

# %% [markdown]
# With k1 = k2 = T there is one window, and it is full BPTT:

# %%
(full,) = rnn.tbptt(x, y, k1=12, k2=12)
loss, grads = rnn.loss_and_grads(x, y)
assert np.isclose(full.loss, loss) and all(np.allclose(full.grads[k], grads[k]) for k in grads)

# %% [markdown]
# ## Vanishing and exploding gradients
#
# Each step back multiplies the error by Wᵀ and by g′(a(t)). With the identity activation and
# W = r · (an orthogonal matrix), the error of a loss term scales exactly like r^(s−t): it
# vanishes for r < 1 and explodes for r > 1.

# %%
from bptt.viz import orthogonal_rnn_trace

for r in (0.8, 1.2):
    tr_r = orthogonal_rnn_trace(r, seed=0, T=20, activation="identity")
    last = tr_r.flow[-1, :]                          # the error of the last loss term, by step t
    ratio = last[0] / last[-1]                       # after 19 steps back
    print(f"spectral radius {tr_r.spectral_radius:.2f}: the error changes by {ratio:.3g} "
          f"over 19 steps (r^19 = {r**19:.3g})")
    assert np.isclose(ratio, r**19)

# %% [markdown]
# Left: ‖∂L(s)/∂a(t)‖ for every source step s and step t; right: the error of the last loss term
# against the distance s − t. tanh's g′ < 1 speeds up the vanishing and holds back the explosion.

# %%
bptt.viz.vanishing_exploding()

# %% [markdown]
# The demo model's own error flow (`bptt.viz.error_flow`):

# %%
bptt.viz.error_flow(demo_trace(seed=0))

# %% [markdown]
# This is why the article calls the simple RNN a foothold: the errors of a loss term rarely reach
# far back, and the LSTM's cell path was built to carry them — the next notebook, `02_lstm`.

# %%
import shutil

shutil.rmtree(work)
