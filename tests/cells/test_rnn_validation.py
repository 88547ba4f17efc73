"""Bad input at SimpleRNN's public edge: a ValueError/TypeError naming the parameter, the
expectation and the value."""
import numpy as np
import pytest

import bptt


@pytest.mark.parametrize("args, kwargs, exc, match", [
    ((0, 4, 2), {}, ValueError, r"'input_size' parameter of SimpleRNN must be an int >= 1. Got 0 instead"),
    ((3, -1, 2), {}, ValueError, r"'hidden_size' parameter of SimpleRNN must be an int >= 1. Got -1"),
    ((3, 4, 0), {}, ValueError, r"'output_size' parameter of SimpleRNN must be an int >= 1. Got 0"),
    ((3, 4.0, 2), {}, TypeError, r"'hidden_size' parameter of SimpleRNN must be an int >= 1. Got 4.0 of type float"),
    ((3, True, 2), {}, TypeError, r"'hidden_size' .* Got True of type bool"),
    ((3, 4, 2), {"activation": "gelu"}, ValueError,
     r"'activation' parameter of SimpleRNN must be one of 'tanh', 'sigmoid', 'relu', 'identity'. Got 'gelu'"),
    ((3, 4, 2), {"output": "sigmoid"}, ValueError,
     r"'output' parameter of SimpleRNN must be one of 'softmax', 'identity'. Got 'sigmoid'"),
    ((3, 4, 2), {"dtype": "float16"}, ValueError, r"'dtype' parameter of SimpleRNN must be 'float32' or 'float64'. Got 'float16'"),
    ((3, 4, 2), {"path": "turbo"}, ValueError, r"'path' parameter of SimpleRNN must be one of 'fast', 'reference'"),
    ((3, 4, 2), {"seed": -3}, ValueError, r"'seed' parameter of SimpleRNN must be an int >= 0 or a numpy.random.Generator. Got -3"),
])
def test_bad_construction(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        bptt.SimpleRNN(*args, **kwargs)


@pytest.fixture
def model():
    return bptt.SimpleRNN(3, 4, 2)


def test_bad_x(model):
    with pytest.raises(ValueError, match=r"x has 5 features, but SimpleRNN expects 3"):
        model.forward(np.zeros((2, 1, 5)))
    with pytest.raises(ValueError, match=r"'x' argument of SimpleRNN must be floats of shape \(T, B, 3\) "
                                         r"or integer token ids of shape \(T, B\). Got float64 of shape \(2, 3\)"):
        model.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"'x' argument of SimpleRNN must be token ids of shape \(T, B\) .*"
                                         r"Got integer ids of shape \(2,\)"):
        model.forward(np.array([0, 1]))
    with pytest.raises(ValueError, match=r"'x' argument of SimpleRNN must hold ids in \[0, 3\). Got 3"):
        model.forward(np.array([[0], [3]]))
    with pytest.raises(ValueError, match=r"'x' argument of SimpleRNN must hold ids in \[0, 3\). Got -1"):
        model.forward(np.array([[-1], [0]]))
    with pytest.raises(ValueError, match=r"'x' argument of SimpleRNN must be finite. Got inf at index \(1, 0, 2\)"):
        x = np.zeros((2, 1, 3)); x[1, 0, 2] = np.inf
        model.forward(x)
    with pytest.raises(ValueError, match=r"at least one time step and one sequence .* Got shape \(0, 1, 3\)"):
        model.forward(np.zeros((0, 1, 3)))
    with pytest.raises(TypeError, match=r"'x' argument of SimpleRNN must be a numeric array. Got an array of dtype <U1"):
        model.forward([["a"]])
    with pytest.raises(TypeError, match=r"'x' argument of SimpleRNN must hold floats. Got booleans"):
        model.forward(np.zeros((2, 1, 3), dtype=bool))


def test_bad_y(model):
    x = np.zeros((2, 1, 3))
    with pytest.raises(ValueError, match=r"'y' argument of SimpleRNN must have shape \(2, 1\). Got shape \(1, 2\)"):
        model.loss_and_grads(x, np.zeros((1, 2), dtype=int))
    with pytest.raises(TypeError, match=r"'y' argument of SimpleRNN must hold integer ids. Got dtype float64"):
        model.loss_and_grads(x, np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"'y' argument of SimpleRNN must hold ids in \[0, 2\). Got 2"):
        model.loss_and_grads(x, np.full((2, 1), 2))
    with pytest.raises(ValueError, match=r"'y' argument of SimpleRNN is required"):
        model.loss_and_grads(x, None)
    reg = bptt.SimpleRNN(3, 4, 2, output="identity")
    with pytest.raises(ValueError, match=r"'y' argument of SimpleRNN must have shape \(2, 1, 2\). Got shape \(2, 1\)"):
        reg.loss_and_grads(x, np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"'y' argument of SimpleRNN must be finite. Got nan"):
        reg.loss_and_grads(x, np.full((2, 1, 2), np.nan))


def test_bad_h0_and_mask(model):
    x, y = np.zeros((2, 1, 3)), np.zeros((2, 1), dtype=int)
    with pytest.raises(ValueError, match=r"'h0' argument of SimpleRNN must have shape \(1, 4\). Got shape \(4,\)"):
        model.forward(x, h0=np.zeros(4))
    with pytest.raises(ValueError, match=r"'h0' argument of SimpleRNN must have shape \(1, 4\). Got shape \(1, 5\)"):
        model.loss_and_grads(x, y, h0=np.zeros((1, 5)))
    with pytest.raises(ValueError, match=r"'h0' argument of SimpleRNN must be finite"):
        model.forward(x, h0=np.full((1, 4), np.nan))
    with pytest.raises(ValueError, match=r"'mask' argument of SimpleRNN must have shape \(2, 1\). Got shape \(2,\)"):
        model.loss_and_grads(x, y, mask=np.ones(2))
    with pytest.raises(ValueError, match=r"'mask' argument of SimpleRNN must hold weights >= 0. Got -1.0"):
        model.loss_and_grads(x, y, mask=-np.ones((2, 1)))


def test_bad_input_changes_nothing(model):
    before = {k: p.copy() for k, p in model.params.items()}
    with pytest.raises(ValueError, match=r"'y' argument of SimpleRNN must hold ids in \[0, 2\). Got 7"):
        model.loss_and_grads(np.zeros((2, 1, 3)), np.full((2, 1), 7))
    assert all(np.array_equal(before[k], model.params[k]) for k in before)


def test_optimizer_errors():
    with pytest.raises(ValueError, match=r"'lr' parameter of SGD must be a finite number in \[0, inf\]. Got -0.1"):
        bptt.optim.SGD(lr=-0.1)
    with pytest.raises(ValueError, match=r"'grads' argument of Adam.step must have the keys of params"):
        bptt.optim.Adam().step({"W": np.zeros(2)}, {"U": np.zeros(2)})


def test_small_public_helpers_check_their_arguments():
    from bptt.data import Vocab
    from bptt.cells.registry import build_model
    from bptt.training.sampling import sample
    with pytest.raises(ValueError, match=r"'batch_size' parameter of SimpleRNN.zero_state must be an int >= 1. Got -1"):
        bptt.SimpleRNN(3, 4, 2).zero_state(-1)
    with pytest.raises(ValueError, match=r"'batch_size' parameter of LSTM.zero_state must be an int >= 1. Got 0"):
        bptt.LSTM(3, 4, 2).zero_state(0)
    with pytest.raises(TypeError, match=r"'num_layers' parameter of SimpleRNN must be an int >= 1. Got '2'"):
        build_model("rnn", {"input_size": 3, "hidden_size": 4, "output_size": 3, "num_layers": "2"})
    with pytest.raises(TypeError, match=r"'model' argument of to_torch must be a SimpleRNN, an LSTM or a GRU. Got str"):
        bptt.to_torch("x")
    with pytest.raises(TypeError, match=r"'vocab' argument of sample must be a bptt.data.Vocab. Got str"):
        sample(bptt.SimpleRNN(3, 4, 3), "abc")
    with pytest.raises(ValueError, match=r"'model' argument of sample must be a character model .* 3 characters"):
        sample(bptt.SimpleRNN(3, 4, 2), Vocab("abc"))
