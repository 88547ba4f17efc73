"""Bidirectional SimpleRNN, LSTM and GRU (bptt.cells.bidirectional) beyond the shared contract
suite (which runs bidirectional=True through every check): variable lengths against torch's
pack_padded_sequence, padding that never leaks, finite differences with lengths for the options
torch cannot express, the trace of both directions, the refusals, and a task that needs to read
ahead (tagging each letter by whether a vowel follows)."""
import numpy as np
import pytest

import bptt
from bptt.cells import MODEL_KINDS
from bptt.cells.bidirectional import direction_key
from bptt.data import vowel_tagging
from bptt.data.chardata import CharData

torch = pytest.importorskip("torch")

T, B, D, H, O = 6, 4, 3, 3, 4
LENGTHS = np.array([6, 2, 4, 1])
TORCH_ORDER = {"rnn": None, "lstm": ("i", "f", "z", "o"), "gru": ("r", "z", "n")}


def make(kind, layers=1, path="fast", seed=0, **opts):
    return MODEL_KINDS[kind](D, H, O, num_layers=layers, bidirectional=True, path=path, seed=seed,
                             **opts)


def random_state(model, rng):
    s = model.zero_state(B)
    if isinstance(s, tuple):
        return tuple(rng.normal(scale=0.5, size=a.shape) for a in s)
    return rng.normal(scale=0.5, size=s.shape)


def parts(s):
    return s if isinstance(s, tuple) else (s,)


def torch_grads(model, rnn, linear):
    """torch's gradients under bptt's names (exports put every bias in bias_ih)."""
    out = {"V": linear.weight.grad.numpy(), "c": linear.bias.grad.numpy()}
    order = TORCH_ORDER[model.kind]
    for l in range(model.num_layers):
        for d in (0, 1):
            sfx = f"l{l}_reverse" if d else f"l{l}"
            gi, gh, bi, bh = (getattr(rnn, f"{w}_{sfx}").grad.numpy()
                              for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            if order is None:
                out.update({direction_key(k, l, d): a for k, a in (("U", gi), ("W", gh), ("b", bi))})
                continue
            win, wrec = ("U", "W") if model.kind == "gru" else ("W", "R")
            for i, g in enumerate(order):
                r = slice(i * H, (i + 1) * H)
                out[direction_key(f"{win}_{g}", l, d)] = gi[r]
                out[direction_key(f"{wrec}_{g}", l, d)] = gh[r]
                out[direction_key(f"b_{g}", l, d)] = bi[r]
            if model.kind == "gru":
                out[direction_key("b_hn", l, d)] = bh[2 * H:]
    return out


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
def test_equals_torch_pack_padded(kind, layers, lengths, rng):
    """Loss, every gradient, ∂J/∂h0 of both directions, ∂J/∂x, the outputs and h_n equal torch's
    bidirectional module + Linear(2H, O), fed through pack_padded_sequence(enforce_sorted=False)."""
    model = make(kind, layers, seed=2)
    x = rng.normal(size=(T, B, D))
    y = rng.integers(0, O, size=(T, B))
    mask = (rng.uniform(size=(T, B)) < 0.8) * rng.uniform(0.5, 2.0, size=(T, B))
    h0 = random_state(model, rng)
    kw = {} if lengths is None else {"lengths": lengths}
    res = model.backward(x, y, h0, mask, **kw)
    fwd = model.forward(x, h0, **kw)

    rnn, linear = bptt.to_torch(model)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    hs = [torch.from_numpy(a.copy()).requires_grad_() for a in parts(h0)]
    state = tuple(hs) if len(hs) > 1 else hs[0]
    if lengths is None:
        out, hn = rnn(xt, state)
        valid = np.ones((T, B))
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.from_numpy(lengths),
                                                         enforce_sorted=False)
        out, hn = rnn(packed, state)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
        valid = (np.arange(T)[:, None] < lengths[None, :]).astype(float)
    logits = linear(out)
    per = torch.nn.functional.cross_entropy(logits.reshape(T * B, O), torch.from_numpy(y).reshape(-1),
                                            reduction="none").reshape(T, B)
    J = (per * torch.from_numpy(mask * valid)).sum() / B
    J.backward()

    assert res.loss == pytest.approx(J.item(), rel=1e-12)
    want = torch_grads(model, rnn, linear)
    assert set(want) == set(res.grads)
    for k, g in res.grads.items():
        np.testing.assert_allclose(g, want[k], rtol=1e-10, atol=1e-13, err_msg=k)
    for got, h in zip(parts(res.dh0), hs):
        np.testing.assert_allclose(got, h.grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(res.dx, xt.grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(fwd.h, out.detach().numpy(), rtol=1e-12, atol=1e-14)
    for got, h in zip(parts(fwd.last_state), parts(hn)):
        np.testing.assert_allclose(got, h.detach().numpy(), rtol=1e-12, atol=1e-14)
    for got, h in zip(parts(res.last_state), parts(hn)):
        np.testing.assert_allclose(got, h.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind,opts", [("rnn", {"activation": "sigmoid"}), ("lstm", {"peepholes": True}),
                                       ("gru", {"reset": "before"})])
@pytest.mark.parametrize("layers", [1, 2])
def test_padding_never_leaks_and_finite_differences(kind, opts, layers, rng):
    """With lengths, each sequence computes exactly what it computes alone, cut to its length
    (the padding reaches neither direction); finite differences agree, for the options torch
    cannot express."""
    model = make(kind, layers, seed=3, **opts)
    x = rng.normal(size=(T, B, D))
    y = rng.integers(0, O, size=(T, B))
    mask = rng.uniform(0.5, 2.0, size=(T, B))
    h0 = random_state(model, rng)
    res = model.backward(x, y, h0, mask, lengths=LENGTHS)
    garbage = x.copy()
    for b, n in enumerate(LENGTHS):
        garbage[n:, b] = rng.normal(scale=100, size=(T - n, D))        # whatever sits on the padding
    again = model.backward(garbage, y, h0, mask, lengths=LENGTHS)
    assert again.loss == res.loss
    for k in res.grads:
        np.testing.assert_array_equal(again.grads[k], res.grads[k])
    total = {k: 0 for k in res.grads}
    loss = 0.0
    for b, n in enumerate(LENGTHS):                                      # one sequence at a time
        hb = tuple(a[:, b:b + 1] for a in parts(h0))
        one = model.backward(x[:n, b:b + 1], y[:n, b:b + 1], hb if len(hb) > 1 else hb[0],
                             mask[:n, b:b + 1])
        loss += one.loss / B
        total = {k: total[k] + one.grads[k] / B for k in total}
        np.testing.assert_allclose(res.dx[:n, b], one.dx[:, 0] / B, rtol=1e-10, atol=1e-14)
        assert not res.dx[n:, b].any()
        for p, q in zip(parts(res.dh0), parts(one.dh0)):
            np.testing.assert_allclose(p[:, b], q[:, 0] / B, rtol=1e-10, atol=1e-14)
        for p, q in zip(parts(res.last_state), parts(one.last_state)):
            np.testing.assert_allclose(p[:, b], q[:, 0], rtol=1e-12, atol=1e-14)
    assert res.loss == pytest.approx(loss, rel=1e-12)
    for k in total:
        np.testing.assert_allclose(res.grads[k], total[k], rtol=1e-10, atol=1e-14)
    check = bptt.gradcheck(model, x, y, h0, mask, max_entries=5, eps=1e-5, lengths=LENGTHS)
    assert check.max_error < 1e-6


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("tokens", [True, False])
def test_reference_equals_fast_with_lengths(kind, tokens, rng):
    fast, ref = make(kind, 2), make(kind, 2, path="reference")
    x = rng.integers(0, D, size=(T, B)) if tokens else rng.normal(size=(T, B, D))
    y = rng.integers(0, O, size=(T, B))
    h0 = random_state(fast, rng)
    a, b = fast.backward(x, y, h0, lengths=LENGTHS), ref.backward(x, y, h0, lengths=LENGTHS)
    assert a.loss == pytest.approx(b.loss, rel=1e-13)
    for k in fast.params:
        np.testing.assert_allclose(a.grads[k], b.grads[k], rtol=1e-11, atol=1e-14)
    for p, q in zip(parts(a.dh0), parts(b.dh0)):
        np.testing.assert_allclose(p, q, rtol=1e-11, atol=1e-14)
    assert (a.dx is None) == tokens
    if not tokens:
        np.testing.assert_allclose(a.dx, b.dx, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("path", ["fast", "reference"])
def test_float32_models_keep_float32_with_lengths(kind, path, rng):
    """The padding mask takes the model's dtype: a float64 one made every gradient of a float32
    SimpleRNN (and V, c of the others) float64."""
    model = make(kind, path=path, dtype=np.float32)
    x = rng.normal(size=(T, B, D)).astype(np.float32)
    y = rng.integers(0, O, size=(T, B))
    r = model.backward(x, y, lengths=LENGTHS)
    assert {g.dtype for g in r.grads.values()} == {np.dtype(np.float32)}
    assert r.dx.dtype == np.float32


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_trace_both_directions(kind, rng):
    """The trace's sums hold with lengths; L(s) reaches every real step t: h(t) for t <= s and
    g(t) for t >= s in the top layer, and both directions at every t in the layer below."""
    model = make(kind, 2)
    x = rng.integers(0, D, size=(T, B))
    y = rng.integers(0, O, size=(T, B))
    tr = model.trace(x, y, random_state(model, rng), lengths=LENGTHS)
    loss, grads = model.loss_and_grads(x, y, tr.h0, lengths=LENGTHS)
    assert tr.loss == pytest.approx(loss, rel=1e-13)
    for k in model.params:
        np.testing.assert_allclose(tr.per_step[k].sum(axis=0), grads[k], rtol=1e-11, atol=1e-14)
    assert {"o", "h", "h@rev"} <= set(tr.errors)
    main = tr.source_paths[0]
    for layer in (0, 1):
        src = tr.by_source(layer)
        assert set(src) == set(tr.source_paths)
        for path, a in src.items():
            np.testing.assert_allclose(a.sum(axis=0), tr.layer_errors[layer][path], rtol=1e-10,
                                       atol=1e-14)
            for b, n in enumerate(LENGTHS):
                assert not a[:, n:, b].any() and not a[n:, :, b].any()   # padding: no error, no loss
    fwd, rev = tr.errors_by_source[main], tr.errors_by_source[main + "@rev"]
    low = tr.by_source(0)
    b, n = 0, LENGTHS[0]                                                 # the full-length sequence
    for s in range(n):
        for t in range(n):
            reach_f, reach_r = np.abs(fwd[s, t, b]).sum() > 0, np.abs(rev[s, t, b]).sum() > 0
            assert reach_f == (t <= s) and reach_r == (t >= s)           # one arrow each
            assert np.abs(low[main][s, t, b]).sum() > 0 and np.abs(low[main + "@rev"][s, t, b]).sum() > 0
    assert tr.flow.shape == tr.flow_rev.shape == (T, T)
    assert not np.any(tr.flow[np.triu_indices(T, 1)]) and not np.any(tr.flow_rev[np.tril_indices(T, -1)])


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_torch_round_trip(kind):
    model = make(kind, 2, seed=5)
    rnn, linear = bptt.to_torch(model)
    assert rnn.bidirectional and linear.in_features == 2 * H
    back = bptt.from_torch(rnn, linear)
    assert back.config() == model.config() and list(back.params) == list(model.params)
    for k in model.params:
        np.testing.assert_array_equal(back.params[k], model.params[k])


def test_names_config_and_size():
    m = bptt.GRU(D, H, O, num_layers=2, bidirectional=True)
    assert [k for k in m.params if k.startswith("W_z")] == ["W_z", "W_z@rev", "W_z.1", "W_z@rev.1"]
    assert m.params["U_r.1"].shape == m.params["U_r@rev.1"].shape == (H, 2 * H)
    assert m.params["V"].shape == (O, 2 * H)
    assert m.config()["bidirectional"] is True and bptt.GRU(**m.config()).config() == m.config()
    for kind in MODEL_KINDS:
        model = make(kind, 3)
        assert type(model).num_params(model.config()) == sum(p.size for p in model.params.values())
        assert "bidirectional=True" in repr(model)
    assert bptt.LSTM(D, H, O, bidirectional=True).zero_state(B)[0].shape == (2, B, H)


def test_refusals(rng):
    x, y = rng.normal(size=(T, B, D)), rng.integers(0, O, size=(T, B))
    with pytest.raises(ValueError, match=r"'lengths' argument of SimpleRNN is for bidirectional models.*"
                                         r"mask = 0"):
        bptt.SimpleRNN(D, H, O).loss(x, y, lengths=LENGTHS)
    with pytest.raises(ValueError, match=r"'lengths' argument of GRU is for bidirectional"):
        bptt.GRU(D, H, O).trace(x, y, lengths=LENGTHS)
    model = make("lstm")
    with pytest.raises(ValueError, match=r"'lengths' argument of LSTM must hold ints in \[1, T\] = "
                                         r"\[1, 6\]\. Got values from 0 to 6"):
        model.loss(x, y, lengths=[6, 0, 2, 3])
    with pytest.raises(ValueError, match=r"'lengths' argument of LSTM must be integers of shape \(4,\)"):
        model.loss(x, y, lengths=[6.0, 1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"h0\[0\].*\(2, 4, 3\)"):
        model.loss(x, y, h0=(np.zeros((1, B, H)), np.zeros((1, B, H))))
    with pytest.raises(ValueError, match=r"no state to carry after step 2"):
        make("rnn").backward(x, y).state(2)
    data = CharData.from_text("the cat sat on the mat. " * 40)
    V = data.vocab.size
    bi = bptt.SimpleRNN(V, 8, V, bidirectional=True)
    with pytest.raises(ValueError, match=r"cannot train a bidirectional model.*predicts x\(t\+1\).*"
                                         r"reads x\(t\+1\)"):
        bptt.train(bi, data, bptt.TrainConfig(steps=1, batch=2, seq_len=8))


def accuracy(model, d):
    kw = {"lengths": d.lengths} if model.bidirectional else {}
    o = model.forward(d.x, **kw).o
    return float(((o.argmax(-1) == d.y) * d.mask).sum() / d.mask.sum())


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_reading_ahead_vowel_tagging(kind):
    """Tag each letter by whether a vowel follows: the bidirectional model reads x(t+1) and
    solves it on held-out words; the one-directional one cannot beat the majority class."""
    train, test = vowel_tagging(512, seed=0), vowel_tagging(1000, seed=1)
    majority = 1 - float((test.y * test.mask).sum() / test.mask.sum())
    acc = {}
    for bi in (True, False):
        model = MODEL_KINDS[kind](12, 12, 2, bidirectional=bi, seed=0)
        opt, rng = bptt.optim.Adam(lr=0.02), np.random.default_rng(0)
        for _ in range(300):
            i = rng.choice(512, 32, replace=False)
            kw = {"lengths": train.lengths[i]} if bi else {}
            opt.step(model.params, model.loss_and_grads(train.x[:, i], train.y[:, i],
                                                        mask=train.mask[:, i], **kw)[1])
        acc[bi] = accuracy(model, test)
    assert acc[True] > 0.95
    assert acc[False] < majority + 0.02 and majority < 0.7
