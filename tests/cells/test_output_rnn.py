"""OutputRNN (Goodfellow et al. §10.2.1): teacher forcing, free running and scheduled sampling,
exact against PyTorch autograd of the same equations and against finite differences; the trace's
sums, and the chapter's point — a diagonal error flow with teacher forcing, a full lower triangle
running free."""
import numpy as np
import pytest
import torch

import bptt
from bptt.cells.output_rnn import MODES, OutputRNNTrace

T, B, D, H, O = 6, 3, 4, 5, 3


def problem(output="softmax", seed=0, T=T):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, B, D))
    y = rng.integers(0, O, (T, B)) if output == "softmax" else rng.normal(size=(T, B, O))
    mask = rng.uniform(0.5, 1.5, (T, B))
    return x, y, mask


def model(output="softmax", feedback="probs", seed=1, scale=1.0):
    m = bptt.OutputRNN(D, H, O, output=output, feedback=feedback, seed=seed)
    m.params["W"] *= scale
    return m


def torch_pass(m, x, y, mask, use_model, y0=None):
    """J of the same equations written in torch (float64), with the fed-back choices given."""
    P = {k: torch.tensor(v, requires_grad=True) for k, v in m.params.items()}
    xt = torch.tensor(x, requires_grad=True)
    y0t = torch.tensor(np.zeros((B, O)) if y0 is None else y0, requires_grad=True)
    f, J = y0t, 0.0
    for t in range(x.shape[0]):
        a = P["b"] + f @ P["W"].T + xt[t] @ P["U"].T             # a(t) = b + W f(t−1) + U x(t)
        h = torch.tanh(a)
        o = P["c"] + h @ P["V"].T
        if m.output == "softmax":
            yt = torch.tensor(y[t])
            L = -torch.log_softmax(o, dim=1)[torch.arange(B), yt]
            y_hat, target = torch.softmax(o, dim=1), torch.nn.functional.one_hot(yt, O).double()
        else:
            target = torch.tensor(y[t])
            L = 0.5 * ((o - target) ** 2).sum(dim=1)
            y_hat = o
        J = J + (torch.tensor(mask[t]) * L).sum() / B
        f = torch.where(torch.tensor(use_model[t])[:, None], y_hat, target)
    J.backward()
    return float(J.detach()), {k: p.grad.numpy() for k, p in P.items()}, xt.grad.numpy(), y0t.grad.numpy()


@pytest.mark.parametrize("output", ["softmax", "identity"])
@pytest.mark.parametrize("mode", MODES)
def test_equals_torch_autograd(output, mode):
    x, y, mask = problem(output)
    m = model(output, scale=2.0)
    y0 = np.random.default_rng(5).normal(size=(B, O))
    res = m.backward(x, y, mask, mode=mode, p_model=0.5, seed=3, y0=y0)
    J, grads, dx, dy0 = torch_pass(m, x, y, mask, res.forward.use_model, y0)
    assert abs(res.loss - J) <= 1e-10 * abs(J)
    for k in m.params:
        np.testing.assert_allclose(res.grads[k], grads[k], rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.dx, dx, rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.dy0, dy0, rtol=0, atol=1e-10)
    assert m.loss(x, y, mask, mode=mode, p_model=0.5, seed=3, y0=y0) == pytest.approx(res.loss, rel=1e-13)


def numeric_dx(m, x, y, mask, eps=1e-6, **kw):
    num = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        num[i] = (m.loss(xp, y, mask, **kw) - m.loss(xm, y, mask, **kw)) / (2 * eps)
    return num


CASES = [("softmax", "probs"), ("softmax", "argmax"), ("softmax", "sample"), ("identity", "probs")]


@pytest.mark.parametrize("output,feedback", CASES)
@pytest.mark.parametrize("mode", MODES)
def test_finite_differences_every_mode(output, feedback, mode):
    """For a fixed seed the scheduled choices and the sampled classes are drawn independently of
    θ: each mode is a fixed (piecewise smooth) function of θ and x, checkable by central
    differences away from ties of argmax / of the sampled class's CDF."""
    x, y, mask = problem(output, seed=2)
    m = model(output, feedback, scale=2.0)
    kw = dict(mode=mode, p_model=0.5, seed=7)
    assert bptt.gradcheck(m, x, y, mask, **kw).max_error < 1e-6
    res = m.backward(x, y, mask, **kw)
    num = numeric_dx(m, x, y, mask, **kw)
    assert np.abs(res.dx - num).max() <= 1e-6 * np.abs(num).max()


@pytest.mark.parametrize("feedback", ["argmax", "sample"])
def test_one_hot_feedback_is_a_constant_choice(feedback):
    """argmax / sample feed back one-hots: no error crosses steps (flow diagonal), and the
    run differs from teacher forcing (the choices are the model's, not the targets)."""
    x, y, mask = problem(seed=3)
    m = model(feedback=feedback, scale=2.0)
    tr = m.trace(x, y, mask, mode="free", seed=4)
    fed = tr.forward.fed[1:]
    assert set(np.unique(fed)) <= {0.0, 1.0} and np.all(fed.sum(axis=2) == 1)
    if feedback == "argmax":
        np.testing.assert_array_equal(fed.argmax(axis=2), tr.forward.o[:-1].argmax(axis=2))
    assert np.all(tr.forward.through == 0)
    assert np.all(np.tril(tr.flow, -1) == 0)
    assert m.loss(x, y, mask, mode="free", seed=4) != m.loss(x, y, mask, mode="teacher")


def test_sampling_is_seeded_and_follows_the_probabilities():
    m = model(feedback="sample", scale=0.0)               # W = 0: ŷ(t) does not depend on the feedback
    x = np.zeros((200, B, D))
    a = m.forward(x, seed=11)
    b = m.forward(x, seed=11)
    np.testing.assert_array_equal(a.fed, b.fed)
    assert not np.array_equal(a.fed, m.forward(x, seed=12).fed)
    freq = a.fed[1:].mean(axis=(0, 1))
    np.testing.assert_allclose(freq, a.y_hat[0, 0], atol=0.08)


def test_scheduled_extremes_and_choice_rate():
    x, y, mask = problem(seed=4)
    m = model(scale=2.0)
    teacher = m.loss_and_grads(x, y, mask, mode="teacher")
    free = m.loss_and_grads(x, y, mask, mode="free")
    for p, ref in ((0.0, teacher), (1.0, free)):
        J, g = m.loss_and_grads(x, y, mask, mode="scheduled", p_model=p, seed=9)
        assert J == ref[0] and all(np.array_equal(g[k], ref[1][k]) for k in g)
    use = m.forward(np.zeros((400, 50, D)), mode="scheduled", y=np.zeros((400, 50), int),
                    p_model=0.3, seed=1).use_model
    assert abs(use.mean() - 0.3) < 0.01
    u1 = m.backward(x, y, mask, mode="scheduled", seed=1).forward.use_model
    u2 = m.backward(x, y, mask, mode="scheduled", seed=2).forward.use_model
    assert not np.array_equal(u1, u2)
    np.testing.assert_array_equal(u1, m.backward(x, y, mask, mode="scheduled", seed=1).forward.use_model)


@pytest.mark.parametrize("output", ["softmax", "identity"])
@pytest.mark.parametrize("mode", MODES)
def test_trace_sums(output, mode):
    x, y, mask = problem(output, seed=5)
    m = model(output, scale=2.0)
    kw = dict(mode=mode, p_model=0.5, seed=2)
    tr = m.trace(x, y, mask, **kw)
    assert isinstance(tr, OutputRNNTrace) and isinstance(tr, m.trace_class)
    J, grads = m.loss_and_grads(x, y, mask, **kw)
    assert tr.loss == J
    for k in m.params:
        np.testing.assert_array_equal(tr.grads[k], grads[k])
        np.testing.assert_allclose(tr.per_step[k].sum(axis=0), grads[k], rtol=0, atol=1e-13)
    src = tr.errors_by_source
    for path in ("a", "h"):
        assert src[path].shape == (T, T, B, H)
        np.testing.assert_allclose(src[path].sum(axis=0), tr.errors[path], rtol=0, atol=1e-13)
        assert np.all(src[path][np.triu_indices(T, 1)] == 0)          # nothing flows forward
    # (∂J/∂W)^(t) = ∂J/∂a(t) f(t−1)ᵀ
    np.testing.assert_allclose(tr.per_step["W"],
                               np.einsum("tbh,tbo->tho", tr.errors["a"], tr.forward.fed), atol=1e-14)


def test_teacher_flow_is_diagonal_free_flow_a_full_triangle():
    x, y, mask = problem(seed=6)
    m = model(scale=3.0)
    teacher = m.trace(x, y, mask, mode="teacher")
    free = m.trace(x, y, mask, mode="free")
    off = ~np.eye(T, dtype=bool)
    assert np.all(teacher.errors_by_source["a"][off] == 0)             # exactly: no error crosses
    assert np.all(np.diag(teacher.flow) > 0)
    lower = np.tril_indices(T)
    assert np.all(free.flow[lower] > 0) and np.all(free.flow[np.triu_indices(T, 1)] == 0)
    # with teacher forcing each ∂J/∂a(t) is its own loss term's: the diagonal alone
    np.testing.assert_array_equal(teacher.errors_by_source["a"][np.arange(T), np.arange(T)],
                                  teacher.errors["a"])


def test_token_inputs_equal_one_hot_inputs():
    rng = np.random.default_rng(7)
    ids = rng.integers(0, D, (T, B))
    _, y, mask = problem(seed=7)
    m = model(scale=2.0)
    a = m.backward(ids, y, mask, mode="free")
    b = m.backward(np.eye(D)[ids], y, mask, mode="free")
    assert a.dx is None and a.loss == pytest.approx(b.loss, rel=1e-14)
    for k in m.params:
        np.testing.assert_allclose(a.grads[k], b.grads[k], rtol=0, atol=1e-14)


def test_forward_free_needs_no_targets_and_continues():
    x, y, _ = problem(seed=8)
    m = model(feedback="argmax", scale=2.0)
    out = m.forward(x)                                     # mode="free" by default
    whole = m.forward(np.concatenate([x, x]))
    cont = m.forward(x, y0=out.f_last)
    np.testing.assert_allclose(cont.o, whole.o[T:], atol=1e-14)
    np.testing.assert_array_equal(out.fed[0], np.zeros((B, O)))     # f(−1) = y0 = 0 by default
    teach = m.forward(x, mode="teacher", y=y)
    np.testing.assert_array_equal(teach.fed[1:], np.eye(O)[y[:-1]])


def test_config_and_num_params():
    m = bptt.OutputRNN(D, H, O, feedback="sample", dtype="float32", seed=3)
    again = bptt.OutputRNN(**m.config(), seed=3)
    assert again.config() == m.config() and m.kind == "output_rnn" and m.owner == "OutputRNN"
    assert all(np.array_equal(m.params[k], again.params[k]) for k in m.params)
    assert {k: p.shape for k, p in m.params.items()} == {"U": (H, D), "W": (H, O), "b": (H,),
                                                         "V": (O, H), "c": (O,)}
    assert bptt.OutputRNN.num_params(m.config()) == sum(p.size for p in m.params.values())
    assert m.params["U"].dtype == np.float32
    x, y, _ = problem(seed=9)
    assert m.backward(x, y, mode="free").grads["W"].dtype == np.float32


@pytest.mark.parametrize("kwargs,call,match", [
    ({"feedback": "greedy"}, None, "'feedback' parameter of OutputRNN must be one of"),
    ({"output": "identity", "feedback": "argmax"}, None, "must be 'probs'"),
    ({}, lambda m, x, y: m.loss(x, y, mode="closed"), "'mode' parameter of OutputRNN"),
    ({}, lambda m, x, y: m.loss(x, y, mode="scheduled", p_model=1.5), "'p_model' parameter"),
    ({}, lambda m, x, y: m.loss(x, y, seed=-1), "'seed' parameter"),
    ({}, lambda m, x, y: m.forward(x, mode="teacher"), "'y' argument of OutputRNN is required"),
    ({}, lambda m, x, y: m.loss(x, None, mode="free"), "'y' argument of OutputRNN is required"),
    ({}, lambda m, x, y: m.loss(x, y, y0=np.zeros((B, O + 1))), r"'y0' argument .* shape"),
    ({}, lambda m, x, y: m.loss(x[:, :, :2], y), "x has 2 features, but OutputRNN expects 4"),
])
def test_validation_messages(kwargs, call, match):
    x, y, _ = problem()
    with pytest.raises((ValueError, TypeError), match=match):
        m = bptt.OutputRNN(D, H, O, **kwargs)
        call(m, x, y)


def test_exported_but_not_registered():
    """bptt.OutputRNN is public; it is not in MODEL_KINDS, whose shared contract (h0, num_layers,
    path, to_torch, TBPTT) it does not keep."""
    from bptt.cells import MODEL_KINDS, OutputRNN
    assert bptt.OutputRNN is OutputRNN and "OutputRNN" in bptt.__all__
    assert "output_rnn" not in MODEL_KINDS
