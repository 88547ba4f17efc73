"""SimpleRNN against PyTorch autograd with copied weights, float64, within 1e-10 relative."""
import numpy as np
import pytest

import bptt
from conftest import ACTIVATIONS, OUTPUTS, make_problem

torch = pytest.importorskip("torch")
from torch_reference import rel_err, rnn_reference  # noqa: E402

TOL = 1e-10


@pytest.mark.parametrize("path", ["fast", "reference"])
@pytest.mark.parametrize("tokens", [False, True])
@pytest.mark.parametrize("mask", [False, True])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_loss_grads_dh0_equal_torch(activation, output, mask, tokens, path, rng):
    T, B, D, H, O = 7, 3, 5, 6, 4
    model = bptt.SimpleRNN(D, H, O, activation=activation, output=output, seed=3, path=path)
    x, y, h0, m = make_problem(rng, T, B, D, H, O, output=output, tokens=tokens, mask=mask)
    res = model.backward(x, y, h0=h0, mask=m)
    ref = rnn_reference(model.params, x, y, h0, m, activation=activation, output=output)
    assert abs(res.loss - ref["loss"]) <= TOL * abs(ref["loss"])
    for k in model.params:
        assert res.grads[k].shape == model.params[k].shape
        assert rel_err(res.grads[k], ref["grads"][k]) < TOL, k
    assert rel_err(res.dh0, ref["dh0"]) < TOL
    loss, grads = model.loss_and_grads(x, y, h0=h0, mask=m)
    assert loss == res.loss and all(np.array_equal(grads[k], res.grads[k]) for k in grads)


def test_many_to_one_mask_equals_last_step_loss(rng):
    """Many-to-one is a mask with only the last step set: J is then L(T−1) averaged over B."""
    T, B, D, H, O = 6, 2, 3, 4, 3
    model = bptt.SimpleRNN(D, H, O, seed=0)
    x, y, h0, _ = make_problem(rng, T, B, D, H, O)
    mask = np.zeros((T, B)); mask[-1] = 1
    res = model.backward(x, y, h0=h0, mask=mask)
    ref = rnn_reference(model.params, x, y, h0, mask)
    assert abs(res.loss - ref["L"][-1].mean().item()) < 1e-12
    for k in model.params:
        assert rel_err(res.grads[k], ref["grads"][k]) < TOL


def test_forward_values_equal_torch(rng):
    T, B, D, H, O = 5, 2, 3, 4, 3
    model = bptt.SimpleRNN(D, H, O, seed=1)
    x, y, h0, _ = make_problem(rng, T, B, D, H, O)
    out = model.forward(x, h0=h0)
    ref = rnn_reference(model.params, x, y, h0, None, keep=True)
    np.testing.assert_allclose(out.a, np.stack([a.detach().numpy() for a in ref["a"]]), rtol=0, atol=1e-13)
    np.testing.assert_allclose(out.h, np.stack([h.detach().numpy() for h in ref["h"]]), rtol=0, atol=1e-13)
    np.testing.assert_allclose(out.o, ref["o"].detach().numpy(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(out.y_hat, torch.softmax(ref["o"], -1).detach().numpy(), atol=1e-14)
    assert np.array_equal(out.h_last, out.h[-1])


def test_state_carries_across_calls(rng):
    """forward(x[:k]) then forward(x[k:], h0=h_last) equals forward(x) — no hidden counters."""
    model = bptt.SimpleRNN(3, 4, 2, seed=2)
    x = rng.normal(size=(8, 2, 3))
    whole = model.forward(x)
    first = model.forward(x[:3])
    second = model.forward(x[3:], h0=first.h_last)
    np.testing.assert_allclose(np.concatenate([first.h, second.h]), whole.h, rtol=0, atol=1e-15)
