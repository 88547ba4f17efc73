"""The suite every cell runs (the contract in bptt/cells/base.py and ARCHITECTURE.md).

Each kind in the registry is tested here, with each of its options, one and two layers, through
the public API only: PyTorch autograd (through the cell's own to_torch), finite differences, the
reference path against the fast path, the trace's sums, TBPTT windows, the checkpoint round trip
and hostile configs. A new kind fails test_every_kind_has_options until it is listed below.

Bidirectional models (bidirectional=True, bptt.cells.bidirectional) run every check too, adapted
where one direction is assumed: their trace's backward-direction paths ("h@rev", ...) carry L(s)
to the steps after s, their pass has only a last state, and TBPTT refuses them.
"""
import numpy as np
import pytest

import bptt
from bptt.cells import MODEL_KINDS, build_model
from bptt.cells.bidirectional_trace import BidirectionalTrace
from bptt.data import Vocab
from bptt.io.saving import load_model, load_training_state, save_training_state

torch = pytest.importorskip("torch")

# kind -> [(options, exportable to PyTorch)]
BI = {"bidirectional": True}
OPTIONS = {
    "rnn": [({}, True), ({"activation": "relu"}, True), ({"activation": "sigmoid"}, False),
            (BI, True), ({"activation": "relu", **BI}, True), ({"activation": "sigmoid", **BI}, False)],
    "lstm": [({}, True), ({"peepholes": True}, False), (BI, True), ({"peepholes": True, **BI}, False)],
    "gru": [({}, True), ({"reset": "before"}, False), (BI, True), ({"reset": "before", **BI}, False)],
}
CASES = [(k, o, e) for k in OPTIONS for o, e in OPTIONS[k] if k in MODEL_KINDS]
IDS = [f"{k}-{'-'.join(f'{a}={b}' for a, b in o.items()) or 'default'}" for k, o, _ in CASES]
T, B, D, H, O = 5, 3, 4, 3, 4


def test_every_kind_has_options():
    assert set(MODEL_KINDS) <= set(OPTIONS), f"list the options of {set(MODEL_KINDS) - set(OPTIONS)}"


def make(kind, opts, *, layers=1, path="fast", output="softmax", seed=0):
    return MODEL_KINDS[kind](D, H, O, num_layers=layers, output=output, path=path, seed=seed, **opts)


def random_state(model, rng):
    s = model.zero_state(B)
    if isinstance(s, tuple):
        return tuple(rng.normal(scale=0.5, size=a.shape) for a in s)
    return rng.normal(scale=0.5, size=s.shape)


def problem(rng, *, tokens, output="softmax"):
    x = rng.integers(0, D, size=(T, B)) if tokens else rng.normal(size=(T, B, D))
    y = rng.integers(0, O, size=(T, B)) if output == "softmax" else rng.normal(size=(T, B, O))
    mask = (rng.uniform(size=(T, B)) < 0.8) * rng.uniform(0.5, 2.0, size=(T, B))
    return x, y, mask


def parts(state):
    return state if isinstance(state, tuple) else (state,)


# -- PyTorch autograd, through the cell's own export ---------------------------------------------
def torch_pass(model, x, y, h0, mask, output):
    """Loss, grads of the torch parameters, ∂J/∂h0 parts and ∂J/∂x, with torch autograd."""
    rnn, linear = bptt.to_torch(model)
    xt = (torch.nn.functional.one_hot(torch.from_numpy(x), D).double() if x.dtype.kind in "iu"
          else torch.from_numpy(x.copy()).requires_grad_())
    hs = [torch.from_numpy(np.array(a).reshape(-1, B, H)).requires_grad_() for a in parts(h0)]
    out, _ = rnn(xt, tuple(hs) if len(hs) > 1 else hs[0])
    logits = linear(out)
    m = torch.from_numpy(mask)
    if output == "softmax":
        per = torch.nn.functional.cross_entropy(logits.reshape(T * B, O), torch.from_numpy(y).reshape(-1),
                                                reduction="none").reshape(T, B)
    else:
        per = 0.5 * ((logits - torch.from_numpy(y)) ** 2).sum(-1)
    J = (per * m).sum() / B
    J.backward()
    dx = None if x.dtype.kind in "iu" else xt.grad.numpy()
    return J.item(), rnn, linear, [h.grad.numpy().reshape(np.shape(a)) for h, a in zip(hs, parts(h0))], dx


def directional(model, key, d, rnn, linear):
    """⟨∂J_torch/∂θ_torch, M d⟩, where M is to_torch's (linear) map and d a direction of `key`."""
    probe = MODEL_KINDS[model.kind](**model.config(), seed=0)
    for k in probe.params:
        probe.params[k][...] = d if k == key else 0
    prnn, plin = bptt.to_torch(probe)
    total = 0.0
    for mod, pmod in ((rnn, prnn), (linear, plin)):
        for (name, p), (_, q) in zip(mod.named_parameters(), pmod.named_parameters()):
            total += float((p.grad * q.detach()).sum())
    return total


@pytest.mark.parametrize("kind,opts,exportable", [c for c in CASES if c[2]],
                         ids=[i for i, c in zip(IDS, CASES) if c[2]])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("tokens,output", [(True, "softmax"), (False, "identity")])
def test_equals_pytorch_autograd(kind, opts, exportable, layers, tokens, output, rng):
    model = make(kind, opts, layers=layers, output=output, seed=3)
    x, y, mask = problem(rng, tokens=tokens, output=output)
    h0 = random_state(model, rng)
    res = model.backward(x, y, h0, mask)
    J, rnn, linear, dh0, dx = torch_pass(model, x, y, h0, mask, output)
    assert res.loss == pytest.approx(J, rel=1e-12)
    for k, g in res.grads.items():
        d = rng.normal(size=g.shape)
        want = directional(model, k, d, rnn, linear)
        assert float((g * d).sum()) == pytest.approx(want, rel=1e-10, abs=1e-13), k
    for got, want in zip(parts(res.dh0), dh0):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
    if dx is not None:
        np.testing.assert_allclose(res.dx, dx, rtol=1e-10, atol=1e-13)


# -- finite differences, every option ------------------------------------------------------------
@pytest.mark.parametrize("kind,opts,exportable", CASES, ids=IDS)
@pytest.mark.parametrize("layers", [1, 2])
def test_finite_differences(kind, opts, exportable, layers, rng):
    model = make(kind, opts, layers=layers, seed=1)
    x, y, mask = problem(rng, tokens=False)
    h0 = random_state(model, rng)
    # eps: some gradients of a stacked bidirectional model are ~1e-3, where the round-off of
    # steps of 1e-6 reaches 1e-6 relative; steps of 1e-4 keep both errors near 1e-8
    eps = 1e-4 if model.bidirectional else 1e-6
    assert bptt.gradcheck(model, x, y, h0, mask, max_entries=6, eps=eps).max_error < 1e-6
    # ∂J/∂x and ∂J/∂h0 by central differences too
    res, eps = model.backward(x, y, h0, mask), 1e-6
    for idx in [(0, 0, 0), (T - 1, B - 1, D - 1), (2, 1, 2)]:
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        num = (model.loss(xp, y, h0, mask) - model.loss(xm, y, h0, mask)) / (2 * eps)
        assert res.dx[idx] == pytest.approx(num, rel=1e-6, abs=1e-9)
    for i, part in enumerate(parts(h0)):
        idx = (0,) * part.ndim
        hp, hm = [np.array(a) for a in parts(h0)], [np.array(a) for a in parts(h0)]
        hp[i][idx] += eps
        hm[i][idx] -= eps
        pack = (lambda s: tuple(s)) if isinstance(h0, tuple) else (lambda s: s[0])
        num = (model.loss(x, y, pack(hp), mask) - model.loss(x, y, pack(hm), mask)) / (2 * eps)
        assert parts(res.dh0)[i][idx] == pytest.approx(num, rel=1e-6, abs=1e-9)


# -- the reference path and the fast path --------------------------------------------------------
@pytest.mark.parametrize("kind,opts,exportable", CASES, ids=IDS)
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("tokens", [True, False])
def test_reference_equals_fast_path(kind, opts, exportable, layers, tokens, rng):
    fast, ref = make(kind, opts, layers=layers), make(kind, opts, layers=layers, path="reference")
    for k in fast.params:
        assert np.array_equal(fast.params[k], ref.params[k])     # the same seed, the same weights
    x, y, mask = problem(rng, tokens=tokens)
    h0 = random_state(fast, rng)
    a, b = fast.backward(x, y, h0, mask), ref.backward(x, y, h0, mask)
    assert a.loss == pytest.approx(b.loss, rel=1e-13)
    assert list(a.grads) == list(fast.params)
    for k in fast.params:
        np.testing.assert_allclose(a.grads[k], b.grads[k], rtol=1e-11, atol=1e-14)
    for p, q in zip(parts(a.dh0), parts(b.dh0)):
        np.testing.assert_allclose(p, q, rtol=1e-11, atol=1e-14)
    if not tokens:
        np.testing.assert_allclose(a.dx, b.dx, rtol=1e-11, atol=1e-14)
    fa, fb = fast.forward(x, h0), ref.forward(x, h0)
    np.testing.assert_allclose(fa.h, fb.h, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fa.o, fb.o, rtol=1e-12, atol=1e-15)
    last = a.last_state if fast.bidirectional else a.state(T - 1)   # nothing to carry mid-way
    for p, q in zip(parts(fa.last_state), parts(last)):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-15)


# -- the trace -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,opts,exportable", CASES, ids=IDS)
def test_trace_sums(kind, opts, exportable, rng):
    model = make(kind, opts)
    x, y, mask = problem(rng, tokens=True)
    h0 = random_state(model, rng)
    tr = model.trace(x, y, h0, mask)
    assert isinstance(tr, BidirectionalTrace if model.bidirectional else type(model).trace_class)
    loss, grads = model.loss_and_grads(x, y, h0, mask)
    assert tr.loss == pytest.approx(loss, rel=1e-13)
    for k in model.params:
        np.testing.assert_allclose(tr.grads[k], grads[k], rtol=1e-11, atol=1e-14)
        np.testing.assert_allclose(tr.per_step[k].sum(axis=0), grads[k], rtol=1e-11, atol=1e-14)
        assert tr.per_step[k].shape == (T,) + model.params[k].shape
    assert {"o", "h"} <= set(tr.errors)
    assert "h" in tr.errors_by_source
    for path, src in tr.errors_by_source.items():
        assert src.shape == (T, T, B, H)
        np.testing.assert_allclose(src.sum(axis=0), tr.errors[path], rtol=1e-10, atol=1e-14)
        if path.endswith("@rev"):                                        # the backward direction:
            assert not np.any(src[np.tril_indices(T, -1)])               # no error from the past
            assert np.all(np.abs(src[np.triu_indices(T, 1)]).sum(axis=(1, 2)) > 0)   # the future's
        else:
            assert not np.any(src[np.triu_indices(T, 1)])                # no error from the future
    # one loss term alone: the trace's row s is the error of J with only step s's loss
    s = 2
    only = np.zeros_like(mask)
    only[s] = mask[s]
    tr_s = model.trace(x, y, h0, only)
    for path, src in tr.errors_by_source.items():
        np.testing.assert_allclose(src[s], tr_s.errors[path], rtol=1e-10, atol=1e-14)
    assert tr.flow.shape == (T, T)


# -- truncated BPTT ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,opts,exportable", CASES, ids=IDS)
def test_tbptt_windows(kind, opts, exportable, rng):
    model = make(kind, opts, layers=2)
    x, y, mask = problem(rng, tokens=True)
    h0 = random_state(model, rng)
    if model.bidirectional:
        with pytest.raises(ValueError, match=r"truncated BPTT cannot run a bidirectional model.*"
                                             r"g\(t\) reads x\(t\), \.\.\., x\(T−1\)"):
            model.tbptt(x, y, 2, 3, h0, mask)
        return
    (full,) = list(model.tbptt(x, y, T, T, h0, mask))               # k1 = k2 = T: full BPTT
    loss, grads = model.loss_and_grads(x, y, h0, mask)
    assert full.loss == pytest.approx(loss, rel=1e-13)
    for k in grads:
        np.testing.assert_allclose(full.grads[k], grads[k], rtol=1e-12, atol=1e-15)
    # k1 = 2, k2 = 3 (DESIGN.md's definition, on T = 5: windows end at 1, 3 and 4): each window is
    # loss_and_grads on steps t_start..t_end from the state forward() reaches at t_start − 1,
    # with the losses before loss_start masked out
    ends = []
    for w in model.tbptt(x, y, 2, 3, h0, mask):
        ends.append((w.t_start, w.loss_start, w.t_end))
        sl = slice(w.t_start, w.t_end + 1)
        state = h0 if w.t_start == 0 else model.forward(x[:w.t_start], h0).last_state
        m = mask[sl].copy()
        m[: w.loss_start - w.t_start] = 0
        lw, gw = model.loss_and_grads(x[sl], y[sl], state, m)
        assert w.loss == pytest.approx(lw, rel=1e-13)
        for k in gw:
            np.testing.assert_allclose(w.grads[k], gw[k], rtol=1e-12, atol=1e-15)
        for p, q in zip(parts(w.h), parts(model.forward(x[: w.t_end + 1], h0).last_state)):
            np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-15)
    assert ends == [(0, 0, 1), (1, 2, 3), (2, 4, 4)]
    # overlapping windows (k2 > k1) without updates: their losses add up to J
    assert sum(w.loss for w in model.tbptt(x, y, 2, 3, h0, mask)) == pytest.approx(loss, rel=1e-12)


# -- checkpoints ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,opts,exportable", CASES, ids=IDS)
def test_checkpoint_round_trip(kind, opts, exportable, tmp_path, rng):
    model = MODEL_KINDS[kind](D, H, D, num_layers=2, seed=4, **opts)
    opt = bptt.optim.Adam(lr=1e-2)
    x, y, _ = problem(rng, tokens=True)
    y = rng.integers(0, D, size=(T, B))
    opt.step(model.params, model.loss_and_grads(x, y)[1])
    carried = random_state(model, rng)
    vocab = Vocab.from_list(list("abcd"))
    save_training_state(tmp_path, model=model, optimizer=opt, vocab=vocab, step=1, data_state={},
                        carried=carried, accum={"loss": 1.5, "chars": 15, "steps": 1},
                        recipe={"batch": B}, fingerprint="x")
    back, vocab2, meta = load_model(tmp_path)
    assert type(back) is type(model) and back.config() == model.config()
    assert list(back.params) == list(model.params)
    for k in model.params:
        assert np.array_equal(back.params[k], model.params[k])
    assert vocab2.to_list() == vocab.to_list()
    st = load_training_state(tmp_path, model_kind=kind)
    for p, q in zip(parts(st.carried), parts(carried)):
        assert np.array_equal(p, q)
    assert back.loss(x, y) == model.loss(x, y)


# -- configs -------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,opts,exportable", CASES, ids=IDS)
def test_config_rebuilds_and_stacked_names(kind, opts, exportable):
    model = make(kind, opts, layers=3)
    again = MODEL_KINDS[kind](**model.config(), seed=0)
    assert again.config() == model.config()
    assert type(model).num_params(model.config()) == sum(p.size for p in model.params.values())
    one = make(kind, opts)
    for k in one.params:                                  # layer 0 keeps the plain names ...
        assert k in model.params
    for k in one.params:
        if k not in ("V", "c"):                            # ... layers 1 and 2 append ".1", ".2"
            assert f"{k}.1" in model.params and f"{k}.2" in model.params
    assert model.zero_state(B) is not None and repr(model).startswith(type(model).__name__)


@pytest.mark.parametrize("kind", sorted(set(k for k, _, _ in CASES)))
def test_hostile_configs(kind):
    base = {"input_size": 4, "hidden_size": 3, "output_size": 4}
    with pytest.raises(ValueError, match=r"above the limit of .* refusing to allocate"):
        build_model(kind, {**base, "hidden_size": 10**6})
    with pytest.raises(ValueError, match=r"'input_size' must be an int >= 1\. Got 0"):
        build_model(kind, {**base, "input_size": 0})
    with pytest.raises(ValueError, match=r"'hidden_size' must be an int >= 1\. Got True"):
        build_model(kind, {**base, "hidden_size": True})
    with pytest.raises(ValueError, match=r"must be a JSON object"):
        build_model(kind, [1, 2, 3])
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'no_such_option'"):
        build_model(kind, {**base, "no_such_option": 1})
    with pytest.raises(ValueError, match=r"Unknown model kind 'nope'"):
        build_model("nope", base)
    model = build_model(kind, base)
    with pytest.raises(ValueError, match=r"'x' argument of .* must be"):
        model.loss(np.zeros((2, 2, 2, 2)), np.zeros((2, 2), int))
    with pytest.raises(ValueError, match=r"token ids|must lie in|x"):
        model.loss(np.full((2, 2), 9), np.zeros((2, 2), int))
