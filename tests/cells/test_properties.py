"""Property-based tests: random sizes, masks, inputs and h0."""
import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import bptt
from bptt.cells.rnn import reference

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def problems(draw, max_T=6):
    T = draw(st.integers(1, max_T))
    B = draw(st.integers(1, 3))
    D = draw(st.integers(1, 4))
    H = draw(st.integers(1, 5))
    O = draw(st.integers(1, 4))
    L = draw(st.integers(1, 2))
    activation = draw(st.sampled_from(["tanh", "sigmoid", "identity", "relu"]))
    output = draw(st.sampled_from(["softmax", "identity"]))
    tokens = draw(st.booleans())
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    x = rng.integers(0, D, size=(T, B)) if tokens else rng.normal(size=(T, B, D))
    y = rng.integers(0, O, size=(T, B)) if output == "softmax" else rng.normal(size=(T, B, O))
    h0 = rng.normal(scale=0.5, size=(B, H) if L == 1 else (L, B, H)) if draw(st.booleans()) else None
    mask = (rng.uniform(size=(T, B)) < 0.7) * rng.uniform(0.1, 2, size=(T, B)) if draw(st.booleans()) else None
    model = bptt.SimpleRNN(D, H, O, num_layers=L, activation=activation, output=output, seed=seed)
    return model, x, y, h0, mask


@SETTINGS
@given(problems())
def test_gradients_match_finite_differences(problem):
    model, x, y, h0, mask = problem
    if model.activation == "relu":          # keep clear of the kink: |a(t)| > 1e-4 in every layer
        xs, _, h0s, _ = model._inputs(x, None, h0, None, need_y=False)
        layers = [model.layer(l) for l in range(model.num_layers)]
        a, _, _, _ = reference.sequence_forward(xs, model._h0s(h0s), layers, model.params, model.act)
        assume(min(np.abs(al).min() for al in a) >= 1e-4)
    res = bptt.gradcheck(model, x, y, h0=h0, mask=mask, eps=1e-6)
    assert res.max_error < 1e-5, res.table()


@SETTINGS
@given(problems())
def test_fast_path_equals_reference(problem):
    model, x, y, h0, mask = problem
    ref = bptt.SimpleRNN(**model.config(), path="reference")
    ref.params = model.params
    a, b = model.backward(x, y, h0, mask), ref.backward(x, y, h0, mask)
    assert abs(a.loss - b.loss) <= 1e-12 * max(1.0, abs(b.loss))
    for k in a.grads:
        np.testing.assert_allclose(a.grads[k], b.grads[k], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(a.dh0, b.dh0, rtol=1e-10, atol=1e-13)


@SETTINGS
@given(problems(max_T=8))
def test_tbptt_T_T_equals_full_bptt(problem):
    model, x, y, h0, mask = problem
    T = x.shape[0]
    (w,) = list(model.tbptt(x, y, T, T, h0=h0, mask=mask))
    res = model.backward(x, y, h0, mask)
    assert w.loss == res.loss
    for k in res.grads:
        assert np.array_equal(w.grads[k], res.grads[k])


@SETTINGS
@given(problems(max_T=8), st.integers(1, 8), st.integers(0, 8))
def test_tbptt_windows_cover_every_loss_term_once(problem, k1, extra):
    """Without updates, the windows' losses add up to J whatever k1 <= k2."""
    model, x, y, h0, mask = problem
    total = sum(w.loss for w in model.tbptt(x, y, k1, k1 + extra, h0=h0, mask=mask))
    assert abs(total - model.loss(x, y, h0, mask)) <= 1e-10 * max(1.0, abs(total))
