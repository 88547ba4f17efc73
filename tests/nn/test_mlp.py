"""The dense layers and the MLP: gradients by finite differences and PyTorch, and the spiral."""
import importlib.util
import pathlib

import numpy as np
import pytest

import bptt
from bptt.nn.dense import dense_backward, dense_forward
from bptt.nn.activations import ACTIVATIONS
from conftest import OUTPUTS


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_mlp_gradcheck(activation, output, rng):
    model = bptt.MLP([3, 5, 4, 2], activation=activation, output=output, seed=1)
    x = rng.normal(size=(6, 3))
    y = rng.integers(0, 2, size=6) if output == "softmax" else rng.normal(size=(6, 2))
    res = bptt.gradcheck(model, x, y)
    assert set(res) == {"W1", "b1", "W2", "b2", "W3", "b3"}
    assert res.max_error < 1e-7, res.table()


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "identity"])
def test_mlp_equals_torch(activation, rng):
    torch = pytest.importorskip("torch")
    model = bptt.MLP([4, 6, 5, 3], activation=activation, seed=2)
    x, y = rng.normal(size=(7, 4)), rng.integers(0, 3, size=7)
    loss, grads = model.loss_and_grads(x, y)
    ts = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    g = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda z: z}[activation]
    h = torch.tensor(x)
    for l in (1, 2):
        h = g(h @ ts[f"W{l}"].T + ts[f"b{l}"])
    o = h @ ts["W3"].T + ts["b3"]
    J = torch.nn.functional.cross_entropy(o, torch.tensor(y))   # mean over the batch
    J.backward()
    assert abs(loss - J.item()) < 1e-12
    for k in model.params:
        np.testing.assert_allclose(grads[k], ts[k].grad.numpy(), rtol=1e-10, atol=1e-14)


def test_dense_layer_backward_by_hand():
    """One tanh unit, one input: z = 0.5 + 2·1 = 2.5, h = tanh 2.5; with ∂J/∂h = 1:
    ∂J/∂z = 1 − tanh²(2.5), ∂J/∂W = ∂J/∂z · x, ∂J/∂b = ∂J/∂z, ∂J/∂x = ∂J/∂z · W."""
    act = ACTIVATIONS["tanh"]
    W, b, x = np.array([[2.0]]), np.array([0.5]), np.array([[1.0]])
    h, cache = dense_forward(x, W, b, act)
    assert h[0, 0] == np.tanh(2.5)
    dx, dW, db = dense_backward(np.ones((1, 1)), W, cache, act)
    dz = 1 - np.tanh(2.5) ** 2
    assert np.allclose([dW[0, 0], db[0], dx[0, 0]], [dz * 1.0, dz, dz * 2.0], rtol=1e-15)


def test_spiral_reaches_95_percent():
    path = pathlib.Path(__file__).parents[2] / "examples" / "spiral.py"
    spec = importlib.util.spec_from_file_location("spiral_example", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    _, accuracy = mod.train_spiral(steps=1000, verbose=False)
    assert accuracy >= 0.95


def test_spiral_is_not_linearly_separable_by_chance():
    """A model with no hidden layer stays far below 95%: the test above measures real learning."""
    from bptt.data.spiral import make_spiral
    x, y = make_spiral(200, 3, seed=0)
    model = bptt.MLP([2, 3], seed=0)
    opt = bptt.optim.Adam(lr=1e-2)
    for _ in range(500):
        opt.step(model.params, model.loss_and_grads(x, y)[1])
    assert np.mean(model.predict(x) == y) < 0.7


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(sizes=[2]), ValueError, r"'sizes' parameter of MLP must be a list of at least 2"),
    (dict(sizes=[2, 0, 3]), ValueError, r"'sizes\[1\]' parameter of MLP must be an int >= 1. Got 0"),
    (dict(sizes=[2, 3], activation="swish"), ValueError, r"'activation' parameter of MLP must be one of"),
    (dict(sizes=[2, 3], output="sigmoid"), ValueError, r"'output' parameter of MLP must be one of"),
    (dict(sizes=[2, 3], dtype="int32"), ValueError, r"'dtype' parameter of MLP must be 'float32' or 'float64'"),
])
def test_mlp_bad_construction(kwargs, exc, match):
    sizes = kwargs.pop("sizes")
    with pytest.raises(exc, match=match):
        bptt.MLP(sizes, **kwargs)


def test_mlp_bad_inputs(rng):
    model = bptt.MLP([3, 4, 2])
    with pytest.raises(ValueError, match=r"'x' argument of MLP must have shape \(\*, 3\). Got shape \(5, 2\)"):
        model.forward(rng.normal(size=(5, 2)))
    with pytest.raises(ValueError, match=r"'y' argument of MLP must hold ids in \[0, 2\). Got 2"):
        model.loss_and_grads(rng.normal(size=(5, 3)), np.full(5, 2))
    with pytest.raises(ValueError, match=r"'x' argument of MLP must be finite. Got nan at index \(0, 1\)"):
        model.forward(np.array([[0.0, np.nan, 1.0]]))


def test_mlp_empty_batch_is_refused():
    with pytest.raises(ValueError, match=r"'x' argument of MLP must hold at least one row \(B >= 1\). Got shape \(0, 2\)"):
        bptt.MLP([2, 3, 2]).loss_and_grads(np.zeros((0, 2)), np.zeros(0, dtype=int))
