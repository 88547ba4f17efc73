"""Many-to-one (bptt.cells.pooling): one target per sequence with pooling="last" or "mean", for
SimpleRNN, LSTM and GRU, one- and bidirectional — equal to torch (the module + Linear, the pooled
logits, cross-entropy or ½‖·‖², mean over the batch) in float64 to 1e-10: loss, every gradient,
∂J/∂h0, ∂J/∂x; finite differences for the options torch cannot express; the refusals."""
import numpy as np
import pytest

import bptt
from bptt.cells import MODEL_KINDS
from bptt.cells.bidirectional import direction_key

torch = pytest.importorskip("torch")

T, B, D, H, O = 6, 4, 3, 3, 4
LENGTHS = np.array([6, 2, 4, 1])
TORCH_ORDER = {"rnn": None, "lstm": ("i", "f", "z", "o"), "gru": ("r", "z", "n")}


def make(kind, layers=1, bi=False, output="softmax", seed=0, **opts):
    return MODEL_KINDS[kind](D, H, O, num_layers=layers, bidirectional=bi, output=output, seed=seed,
                             dtype="float64", **opts)


def parts(s):
    return s if isinstance(s, tuple) else (s,)


def random_state(model, rng):
    return tuple(rng.normal(scale=0.5, size=a.shape) for a in parts(model.zero_state(B)))


def targets(output, rng):
    return rng.integers(0, O, size=B) if output == "softmax" else rng.normal(size=(B, O))


def torch_grads(model, rnn, linear):
    """torch's gradients under bptt's names (exports put every bias in bias_ih)."""
    out = {"V": linear.weight.grad.numpy(), "c": linear.bias.grad.numpy()}
    order = TORCH_ORDER[model.kind]
    for l in range(model.num_layers):
        for d in ((0, 1) if model.bidirectional else (0,)):
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


def torch_pooled(model, x, y, h0, lengths, pooling):
    """J and its gradients from torch: the module (packed when bidirectional with lengths), the
    Linear on every step, then the pooled logits of each sequence and the loss, mean over B."""
    rnn, linear = bptt.to_torch(model)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    hs = [torch.from_numpy(a.reshape(-1, B, H).copy()).requires_grad_() for a in h0]   # (L·dirs, B, H)
    state = tuple(hs) if len(hs) > 1 else hs[0]
    n = np.full(B, T) if lengths is None else lengths
    if model.bidirectional and lengths is not None:
        packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.from_numpy(n), enforce_sorted=False)
        out, _ = rnn(packed, state)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
    else:
        out, _ = rnn(xt, state)
    logits = linear(out)                                                       # (T, B, O)
    if pooling == "last":
        pooled = logits[torch.from_numpy(n - 1), torch.arange(B)]              # o(n_b − 1, b)
    else:
        m = torch.from_numpy((np.arange(T)[:, None] < n[None, :]).astype(float))
        pooled = (logits * m[:, :, None]).sum(0) / torch.from_numpy(n.astype(float))[:, None]
    if model.output == "softmax":
        J = torch.nn.functional.cross_entropy(pooled, torch.from_numpy(y))
    else:
        J = 0.5 * ((pooled - torch.from_numpy(y)) ** 2).sum() / B
    J.backward()
    return J.item(), torch_grads(model, rnn, linear), [h.grad.numpy().reshape(a.shape) for h, a in zip(hs, h0)], xt.grad.numpy()


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("bi", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("pooling", ["last", "mean"])
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
def test_equals_torch(kind, layers, bi, pooling, lengths, rng):
    output = "softmax" if (layers + bi) % 2 else "identity"      # both outputs across the grid
    model = make(kind, layers, bi, output, seed=3)
    x = rng.normal(size=(T, B, D))
    y = targets(output, rng)
    h0 = random_state(model, rng)
    state = h0 if kind == "lstm" else h0[0]
    kw = {"pooling": pooling, "lengths": lengths}
    res = model.backward(x, y, state, **kw)
    J, want, dh0, dx = torch_pooled(model, x, y, h0, lengths, pooling)

    assert res.loss == pytest.approx(J, rel=1e-12)
    assert model.loss(x, y, state, **kw) == pytest.approx(J, rel=1e-12)
    loss, grads = model.loss_and_grads(x, y, state, **kw)
    assert loss == pytest.approx(J, rel=1e-12)
    assert set(want) == set(res.grads)
    for k, g in res.grads.items():
        np.testing.assert_allclose(g, want[k], rtol=1e-10, atol=1e-13, err_msg=k)
        np.testing.assert_allclose(grads[k], want[k], rtol=1e-10, atol=1e-13, err_msg=k)
    for got, w in zip(parts(res.dh0), dh0):
        np.testing.assert_allclose(got, w, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(res.dx, dx, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bi", [False, True], ids=["uni", "bi"])
def test_last_is_a_one_step_mask(kind, bi, rng):
    """pooling="last" is the step-wise loss with y broadcast over time and a mask holding only
    each sequence's step n_b − 1."""
    model = make(kind, 2, bi)
    x = rng.normal(size=(T, B, D))
    y = targets("softmax", rng)
    mask = (np.arange(T)[:, None] == LENGTHS[None, :] - 1).astype(float)
    step = model.backward(x, np.broadcast_to(y, (T, B)), mask=mask,
                          **({"lengths": LENGTHS} if bi else {}))
    pooled = model.backward(x, y, pooling="last", lengths=LENGTHS)
    assert pooled.loss == step.loss
    for k in model.params:
        np.testing.assert_array_equal(pooled.grads[k], step.grads[k])


@pytest.mark.parametrize("kind,opts", [("rnn", {"activation": "sigmoid"}), ("lstm", {"peepholes": True}),
                                       ("gru", {"reset": "before"})])
@pytest.mark.parametrize("bi", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_finite_differences(kind, opts, bi, pooling, rng):
    """Options torch cannot express: θ, x and h0 against central differences, with lengths, on
    the reference path."""
    model = make(kind, 2, bi, "softmax", **opts)
    model.path = "reference"
    x = rng.normal(size=(T, B, D))
    y = targets("softmax", rng)
    h0 = random_state(model, rng)
    state = h0 if kind == "lstm" else h0[0]
    kw = {"pooling": pooling, "lengths": LENGTHS}
    res = model.backward(x, y, state, **kw)
    eps = 1e-6
    for k in model.params:                                  # a few entries of each parameter
        p = model.params[k].reshape(-1)
        for i in rng.choice(p.size, size=min(3, p.size), replace=False):
            old = p[i]
            p[i] = old + eps
            up = model.loss(x, y, state, **kw)
            p[i] = old - eps
            down = model.loss(x, y, state, **kw)
            p[i] = old
            assert res.grads[k].reshape(-1)[i] == pytest.approx((up - down) / (2 * eps), rel=1e-5, abs=1e-9), k
    for idx in [(0, 0, 0), (1, 2, 1), (T - 1, 0, 2), (3, 1, 0)]:
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        num = (model.loss(xp, y, state, **kw) - model.loss(xm, y, state, **kw)) / (2 * eps)
        assert res.dx[idx] == pytest.approx(num, rel=1e-5, abs=1e-9)
    first = parts(state)[0]
    dfirst = parts(res.dh0)[0]
    for idx in [(0, 0, 0), (1, 3, 2)]:
        s_p, s_m = [a.copy() for a in parts(state)], [a.copy() for a in parts(state)]
        s_p[0][idx] += eps
        s_m[0][idx] -= eps
        wrap = (lambda s: tuple(s)) if kind == "lstm" else (lambda s: s[0])
        num = (model.loss(x, y, wrap(s_p), **kw) - model.loss(x, y, wrap(s_m), **kw)) / (2 * eps)
        assert dfirst[idx] == pytest.approx(num, rel=1e-5, abs=1e-9)
    assert first.shape == dfirst.shape


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bi", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_trace(kind, bi, pooling, rng):
    """The trace takes pooling: its loss and gradients are backward's, its per-step
    contributions sum to them, and the errors by source sum to the errors."""
    model = make(kind, 1, bi)
    x = rng.normal(size=(T, B, D))
    y = targets("softmax", rng)
    kw = {"pooling": pooling, "lengths": LENGTHS}
    res = model.backward(x, y, **kw)
    tr = model.trace(x, y, **kw)
    assert tr.loss == pytest.approx(res.loss, rel=1e-12)
    for k in model.params:
        np.testing.assert_allclose(tr.grads[k], res.grads[k], rtol=1e-10, atol=1e-13, err_msg=k)
        np.testing.assert_allclose(tr.per_step[k].sum(axis=0), res.grads[k], rtol=1e-10, atol=1e-13)
    for path, src in tr.errors_by_source.items():
        np.testing.assert_allclose(src.sum(axis=0), tr.errors[path], rtol=1e-10, atol=1e-13, err_msg=path)
    if pooling == "last":                       # only the scored step sends an error
        scored = np.abs(tr.errors["o"]).sum(axis=2) > 0
        np.testing.assert_array_equal(scored, np.arange(T)[:, None] == LENGTHS[None, :] - 1)


@pytest.mark.parametrize("bi", [False, True], ids=["uni", "bi"])
def test_refusals(bi, rng):
    model = make("gru", 1, bi)
    reg = make("gru", 1, bi, output="identity")
    x = rng.normal(size=(T, B, D))
    y = targets("softmax", rng)
    with pytest.raises(ValueError, match=r"'pooling' parameter of GRU must be one of 'last', 'mean'. Got 'max'"):
        model.backward(x, y, pooling="max")
    with pytest.raises(ValueError, match=r"'y' argument of GRU with pooling='last' must hold one target "
                                         r"per sequence: \(4,\) class ids .* Got shape \(6, 4\)"):
        model.loss_and_grads(x, rng.integers(0, O, size=(T, B)), pooling="last")
    with pytest.raises(ValueError, match=r"'y' argument of GRU with pooling='mean' .* \(4, 4\) floats "
                                         r"for output='identity'. Got shape \(4,\)"):
        reg.loss(x, y, pooling="mean")
    with pytest.raises(ValueError, match=r"'y' argument of GRU with pooling='mean' .* Got None"):
        model.trace(x, None, pooling="mean")
    with pytest.raises(ValueError, match=r"'y' argument of GRU must hold ids in \[0, 4\)"):
        model.loss(x, np.array([0, 1, 2, 4]), pooling="last")
    with pytest.raises(ValueError, match=r"'lengths' argument of GRU must hold ints in \[1, T\] = \[1, 6\]. "
                                         r"Got values from 0 to 6"):
        model.backward(x, y, pooling="last", lengths=np.array([6, 0, 2, 3]))
    with pytest.raises(ValueError, match=r"'lengths' argument of GRU must hold ints in \[1, T\]"):
        model.loss(x, y, pooling="mean", lengths=np.array([7, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"'lengths' argument of GRU must be integers of shape \(4,\)"):
        model.loss(x, y, pooling="mean", lengths=np.array([3, 1, 2]))
    with pytest.raises(ValueError, match=r"'mask' argument of GRU cannot be combined with pooling='last'"):
        model.loss(x, y, mask=np.ones((T, B)), pooling="last")
    with pytest.raises(ValueError, match=r"'y' argument of GRU must have shape \(6, 4\): a target per step. For one "
                                         r"target per sequence of shape \(4,\), pass pooling='last'"):
        model.loss(x, y)                        # (B,) targets without pooling: per-step shape expected


@pytest.mark.parametrize("bi", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_pooled_logits_are_what_the_loss_scores(bi, pooling, rng):
    from bptt.cells.pooling import pooled_logits
    model = make("lstm", 1, bi, output="identity")
    x = rng.normal(size=(T, B, D))
    logits = pooled_logits(model, x, lengths=LENGTHS, pooling=pooling)
    assert logits.shape == (B, O)
    y = rng.normal(size=(B, O))
    J = 0.5 * ((logits - y) ** 2).sum() / B
    assert model.loss(x, y, lengths=LENGTHS, pooling=pooling) == pytest.approx(J, rel=1e-12)
