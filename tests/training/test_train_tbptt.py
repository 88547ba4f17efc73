"""The trainer's own truncated BPTT, against references written here: PyTorch's detach recipe for
TBPTT(k1, k2) over B streams (k2 > k1 and k1 = k2, across an epoch's wrap-around), and
`model.tbptt` for the chunked form; and `evaluate` against the model's own loss over the same
streams. float64, SGD, no clipping: the parameters after training agree to 1e-10.

The recipe, from the definitions (bptt.training.loop, bptt.data.StreamBatcher): stream b is
ids[b·L : (b+1)·L] with L = len(ids) // B; window j starts at p = j·k1 and reads k2 inputs, until
p would pass L − k2 − 1, when it wraps to p = 0. A window at p = 0 starts from the zero state and
its loss counts all k2 steps; any other window starts from the state after the first k1 steps of
the window before it (detached) and counts only its last k1 steps, the new ones. One SGD step
follows each window."""
import math

import numpy as np
import pytest

import bptt
from bptt.data.chardata import CharData
from bptt.training.loop import TrainConfig, evaluate, train
from corpus import small_text

LR = 0.1
DATA = CharData.from_text(small_text(420, seed=2), val_fraction=0.2)
MODELS = {                                   # kind -> a float64 character model of the data
    "rnn": lambda V: bptt.SimpleRNN(V, 6, V, seed=1),
    "lstm": lambda V: bptt.LSTM(V, 6, V, seed=1),
    "gru": lambda V: bptt.GRU(V, 6, V, seed=1),
}


def trainer(kind, k1, k2, B, steps):
    model = MODELS[kind](DATA.vocab.size)
    initial = {k: p.copy() for k, p in model.params.items()}
    history = train(model, DATA, TrainConfig(
        steps=steps, seq_len=k2, stride=k1, batch=B, optimizer="sgd", lr=LR, clip_mode="none",
        eval_every=steps, checkpoint_every=steps, eval_chars=200, progress=False))
    return model, initial, history


def torch_modules(kind, params, V, H):
    """The same network in torch, float64, bias_hh frozen at 0 (bptt has one bias per gate; the
    GRU's bias_hh holds b_hn in its n block, the only block that trains)."""
    import torch
    lin = torch.nn.Linear(H, V, dtype=torch.float64)
    if kind == "rnn":
        rnn = torch.nn.RNN(V, H, dtype=torch.float64)
        with torch.no_grad():
            for attr, k in (("weight_ih_l0", "U"), ("weight_hh_l0", "W"), ("bias_ih_l0", "b")):
                getattr(rnn, attr).copy_(torch.tensor(params[k]))
            rnn.bias_hh_l0.zero_()
    elif kind == "gru":
        from gru_reference import torch_gru
        rnn, lin = torch_gru(params, V, H, V, 1)
        only_n = torch.cat([torch.zeros(2 * H), torch.ones(H)]).to(torch.float64)
        rnn.bias_hh_l0.register_hook(lambda g: g * only_n)     # b_hn trains; the r, z blocks stay 0
    else:
        from lstm_reference import torch_lstm
        rnn, lin = torch_lstm(params, V, H, V, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(params["V"]))
        lin.bias.copy_(torch.tensor(params["c"]))
    if kind != "gru":
        rnn.bias_hh_l0.requires_grad_(False)
    return rnn, lin


def torch_params(kind, rnn, lin):
    """The torch weights back under bptt's names."""
    out = {"V": lin.weight.detach().numpy(), "c": lin.bias.detach().numpy()}
    if kind == "rnn":
        out.update(U=rnn.weight_ih_l0, W=rnn.weight_hh_l0, b=rnn.bias_ih_l0)
    elif kind == "gru":
        for w, attr in (("U", "weight_ih_l0"), ("W", "weight_hh_l0"), ("b", "bias_ih_l0")):
            for g, chunk in zip("rzn", getattr(rnn, attr).chunk(3)):
                out[f"{w}_{g}"] = chunk
        out["b_hn"] = rnn.bias_hh_l0.chunk(3)[2]
    else:
        from lstm_reference import TORCH_ORDER
        for w, attr in (("W", "weight_ih_l0"), ("R", "weight_hh_l0"), ("b", "bias_ih_l0")):
            for g, chunk in zip(TORCH_ORDER, getattr(rnn, attr).chunk(4)):
                out[f"{w}_{g}"] = chunk
    return {k: v.detach().numpy() if hasattr(v, "detach") else v for k, v in out.items()}


def torch_detach_recipe(kind, params, k1, k2, B, steps):
    """Train with PyTorch as the module docstring says; returns (params, Σ window losses·B,
    characters counted)."""
    import torch
    import torch.nn.functional as F
    V, H = DATA.vocab.size, params["V"].shape[1]
    rnn, lin = torch_modules(kind, params, V, H)
    opt = torch.optim.SGD([p for p in [*rnn.parameters(), *lin.parameters()] if p.requires_grad], lr=LR)
    ids = np.asarray(DATA.train_ids)
    L = len(ids) // B
    streams = torch.tensor(ids[:B * L].reshape(B, L).T)        # (L, B)
    p, state, total, chars = 0, None, 0.0, 0
    for _ in range(steps):
        if p > L - k2 - 1:                                       # the window would run past the end
            p = 0
        x = F.one_hot(streams[p:p + k2], V).to(torch.float64)    # (k2, B, V)
        y = streams[p + 1:p + k2 + 1]                            # (k2, B): the next characters
        if p == 0:
            state = None                                         # zero state at a stream's start
        out, carried = rnn(x[:k1], state)                        # the steps the next window skips
        if k2 > k1:
            out = torch.cat([out, rnn(x[k1:], carried)[0]])
        o = lin(out)
        losses = F.cross_entropy(o.reshape(k2 * B, V), y.reshape(-1), reduction="none").reshape(k2, B)
        new = losses if p == 0 else losses[k2 - k1:]             # only the steps not yet counted
        J = new.sum() / B
        opt.zero_grad()
        J.backward()
        opt.step()
        total += J.item() * B
        chars += new.numel()
        state = (tuple(s.detach() for s in carried) if isinstance(carried, tuple)
                 else carried.detach())                          # carried in as a constant
        p += k1
    return torch_params(kind, rnn, lin), total, chars


@pytest.mark.parametrize("k1, k2", [(3, 5), (4, 4)], ids=["k2>k1", "k1=k2"])
@pytest.mark.parametrize("kind", list(MODELS))
def test_trainer_equals_the_pytorch_detach_recipe(kind, k1, k2):
    pytest.importorskip("torch")
    B = 3
    L = len(DATA.train_ids) // B
    steps = (L - k2 - 1) // k1 + 4                       # past the end of the streams: a wrap-around
    model, initial, history = trainer(kind, k1, k2, B, steps)
    want, total, chars = torch_detach_recipe(kind, initial, k1, k2, B, steps)
    assert set(want) == set(model.params)
    for k in want:
        np.testing.assert_allclose(model.params[k], want[k], rtol=1e-10, atol=1e-13, err_msg=k)
        assert not np.allclose(model.params[k], initial[k]), k           # and training moved it
    [rec] = history
    assert rec["step"] == steps
    assert rec["train_loss"] == pytest.approx(total / chars, rel=1e-10)  # mean over counted chars


@pytest.mark.parametrize("kind", list(MODELS))
def test_chunked_trainer_equals_model_tbptt(kind):
    """k1 = k2 = k within one epoch: the windows of `model.tbptt` over the streams joined in time."""
    B, k = 3, 5
    L = len(DATA.train_ids) // B
    steps = (L - k - 1) // k + 1                         # every window of one pass
    model, initial, _ = trainer(kind, k, k, B, steps)
    ids = np.asarray(DATA.train_ids)
    streams = ids[:B * L].reshape(B, L).T
    ref = MODELS[kind](DATA.vocab.size)
    x, y = streams[:steps * k], streams[1:steps * k + 1]
    for window in ref.tbptt(x, y, k, k):
        for name, g in window.grads.items():
            ref.params[name] -= LR * g                   # SGD between windows (computed lazily)
    for name in ref.params:
        np.testing.assert_allclose(model.params[name], ref.params[name], rtol=1e-12, atol=1e-15,
                                   err_msg=name)


@pytest.mark.parametrize("kind", list(MODELS))
def test_evaluate_is_the_loss_over_the_streams(kind):
    model = MODELS[kind](DATA.vocab.size)
    ids = np.asarray(DATA.val_ids)
    n = len(ids)
    # batch = 1: one stream, all of the text, the state carried through every 7-step chunk
    J = model.loss(ids[:-1, None], ids[1:, None])
    assert evaluate(model, ids, batch=1, seq_len=7, max_chars=n) == pytest.approx(J / (n - 1), rel=1e-12)
    # batch = 4: B = min(4, (n − 1) // (seq_len + 1)) streams of L = (n − 1) // B inputs each
    B = min(4, (n - 1) // 8)
    L = (n - 1) // B
    xs, ys = ids[:B * L].reshape(B, L).T, ids[1:B * L + 1].reshape(B, L).T
    J = model.loss(xs, ys)                                # Σ_t, mean over the B streams
    assert evaluate(model, ids, batch=4, seq_len=7, max_chars=n) == pytest.approx(J / L, rel=1e-12)
    # max_chars: only the head of the text
    head = ids[:40]
    J = model.loss(head[:-1, None], head[1:, None])
    assert evaluate(model, ids, batch=1, seq_len=6, max_chars=40) == pytest.approx(J / 39, rel=1e-12)
    assert math.isclose(evaluate(model, ids, 1, 6, 40), evaluate(model, ids, 1, 39, 40), rel_tol=1e-12)
