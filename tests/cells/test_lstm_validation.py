"""Bad input at the LSTM's public edge, the parameter naming, config and num_params."""
import numpy as np
import pytest

from bptt.cells.lstm.model import LSTM


@pytest.mark.parametrize("args, kwargs, exc, match", [
    ((0, 4, 2), {}, ValueError, r"'input_size' parameter of LSTM must be an int >= 1. Got 0 instead"),
    ((3, 0, 2), {}, ValueError, r"'hidden_size' parameter of LSTM must be an int >= 1. Got 0 instead"),
    ((3, 4, -2), {}, ValueError, r"'output_size' parameter of LSTM must be an int >= 1. Got -2 instead"),
    ((3, 4.0, 2), {}, TypeError, r"'hidden_size' parameter of LSTM must be an int >= 1. Got 4.0 of type float"),
    ((3, 4, 2), {"num_layers": 0}, ValueError, r"'num_layers' parameter of LSTM must be an int >= 1. Got 0 instead"),
    ((3, 4, 2), {"num_layers": 2.0}, TypeError, r"'num_layers' parameter of LSTM must be an int >= 1. Got 2.0 of type float"),
    ((3, 4, 2), {"peepholes": 1}, TypeError, r"'peepholes' parameter of LSTM must be True or False. Got 1 of type int"),
    ((3, 4, 2), {"forget_bias": float("nan")}, ValueError, r"'forget_bias' parameter of LSTM must be a finite number .* Got nan"),
    ((3, 4, 2), {"forget_bias": "1"}, TypeError, r"'forget_bias' parameter of LSTM must be a real number .* Got '1' of type str"),
    ((3, 4, 2), {"output": "sigmoid"}, ValueError,
     r"'output' parameter of LSTM must be one of 'softmax', 'identity'. Got 'sigmoid'"),
    ((3, 4, 2), {"dtype": "float16"}, ValueError, r"'dtype' parameter of LSTM must be 'float32' or 'float64'. Got 'float16'"),
    ((3, 4, 2), {"path": "turbo"}, ValueError, r"'path' parameter of LSTM must be one of 'fast', 'reference'. Got 'turbo'"),
    ((3, 4, 2), {"seed": -1}, ValueError, r"'seed' parameter of LSTM must be an int >= 0 or a numpy.random.Generator. Got -1"),
])
def test_bad_construction(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        LSTM(*args, **kwargs)


@pytest.fixture
def model():
    return LSTM(3, 4, 2)


def test_bad_h0(model):
    x, y = np.zeros((2, 1, 3)), np.zeros((2, 1), dtype=int)
    with pytest.raises(TypeError, match=r"'h0' argument of LSTM must be a pair \(h, c\) of arrays, each of "
                                        r"shape \(1, 4\). Got an array of shape \(1, 4\)"):
        model.forward(x, h0=np.zeros((1, 4)))
    with pytest.raises(TypeError, match=r"'h0' argument of LSTM must be a pair .* Got a tuple of length 3"):
        model.loss_and_grads(x, y, h0=(np.zeros((1, 4)),) * 3)
    with pytest.raises(TypeError, match=r"'h0' argument of LSTM must be a pair .* Got float"):
        model.forward(x, h0=0.0)
    with pytest.raises(ValueError, match=r"'h0\[0\]' argument of LSTM must have shape \(1, 4\). Got shape \(4,\)"):
        model.forward(x, h0=(np.zeros(4), np.zeros((1, 4))))
    with pytest.raises(ValueError, match=r"'h0\[1\]' argument of LSTM must have shape \(1, 4\). Got shape \(1, 5\)"):
        model.loss_and_grads(x, y, h0=(np.zeros((1, 4)), np.zeros((1, 5))))
    with pytest.raises(ValueError, match=r"'h0\[1\]' argument of LSTM must be finite. Got nan at index \(0, 2\)"):
        c0 = np.zeros((1, 4)); c0[0, 2] = np.nan
        model.forward(x, h0=[np.zeros((1, 4)), c0])
    deep = LSTM(3, 4, 2, num_layers=2)
    with pytest.raises(ValueError, match=r"'h0\[0\]' argument of LSTM must have shape \(2, 1, 4\). Got shape \(1, 4\)"):
        deep.forward(x, h0=(np.zeros((1, 4)), np.zeros((1, 4))))
    with pytest.raises(TypeError, match=r"each of shape \(2, 1, 4\). Got an array of shape \(2, 1, 4\)"):
        deep.forward(x, h0=np.zeros((2, 1, 4)))


def test_bad_x_y_mask(model):
    x, y = np.zeros((2, 1, 3)), np.zeros((2, 1), dtype=int)
    with pytest.raises(ValueError, match=r"x has 5 features, but LSTM expects 3"):
        model.forward(np.zeros((2, 1, 5)))
    with pytest.raises(ValueError, match=r"'x' argument of LSTM must hold ids in \[0, 3\). Got 3"):
        model.forward(np.array([[0], [3]]))
    with pytest.raises(ValueError, match=r"'x' argument of LSTM must have at least one time step .* Got shape \(0, 1, 3\)"):
        model.forward(np.zeros((0, 1, 3)))
    with pytest.raises(ValueError, match=r"'y' argument of LSTM must have shape \(2, 1\). Got shape \(1, 2\)"):
        model.loss_and_grads(x, np.zeros((1, 2), dtype=int))
    with pytest.raises(ValueError, match=r"'y' argument of LSTM must hold ids in \[0, 2\). Got 2"):
        model.loss(x, np.full((2, 1), 2))
    with pytest.raises(ValueError, match=r"'y' argument of LSTM is required"):
        model.backward(x, None)
    with pytest.raises(ValueError, match=r"'mask' argument of LSTM must hold weights >= 0. Got -1.0"):
        model.loss_and_grads(x, y, mask=-np.ones((2, 1)))


def test_bad_input_changes_nothing(model):
    before = {k: p.copy() for k, p in model.params.items()}
    with pytest.raises(ValueError, match=r"'y' argument of LSTM must hold ids in \[0, 2\). Got 7"):
        model.loss_and_grads(np.zeros((2, 1, 3)), np.full((2, 1), 7))
    assert all(np.array_equal(before[k], model.params[k]) for k in before)


def test_parameter_names_and_shapes():
    model = LSTM(3, 4, 2, num_layers=2, peepholes=True)
    gates = ("z", "i", "f", "o")
    layer0 = [f"{w}_{g}" for w in "WRb" for g in gates] + ["p_i", "p_f", "p_o"]
    layer1 = [f"{k}.1" for k in layer0]
    assert list(model.params) == layer0 + layer1 + ["V", "c"]
    for k, p in model.params.items():
        base = k.split(".")[0]
        want = {"W": (4, 4 if k.endswith(".1") else 3), "R": (4, 4), "b": (4,), "p": (4,),
                "V": (2, 4), "c": (2,)}[base[0]]
        assert p.shape == want and p.dtype == np.float64 and p.flags.c_contiguous, k
    assert "p_i" not in LSTM(3, 4, 2).params and len(LSTM(3, 4, 2).params) == 14


@pytest.mark.parametrize("kw", [{}, {"num_layers": 3}, {"peepholes": True, "num_layers": 2}])
def test_num_params_config_and_zero_state(kw):
    model = LSTM(5, 6, 7, seed=1, **kw)
    config = model.config()
    assert config == {"input_size": 5, "hidden_size": 6, "output_size": 7,
                      "num_layers": kw.get("num_layers", 1), "peepholes": kw.get("peepholes", False),
                      "forget_bias": 0.0, "bidirectional": False, "output": "softmax",
                      "dtype": "float64"}
    assert LSTM.num_params(config) == sum(p.size for p in model.params.values())
    again = LSTM(**config, seed=1)
    assert all(np.array_equal(again.params[k], model.params[k]) for k in model.params)
    h, c = model.zero_state(3)
    L = kw.get("num_layers", 1)
    assert h.shape == c.shape == ((3, 6) if L == 1 else (L, 3, 6)) and not h.any() and not c.any()
    assert repr(model).startswith("LSTM(5, 6, 7, num_layers=")


def test_num_params_of_hostile_configs():
    """num_params is computed before allocating; a config with nonsense sizes is refused."""
    base = {"input_size": 65, "hidden_size": 256, "output_size": 65}
    assert LSTM.num_params(base) == 4 * 256 * (65 + 256 + 1) + 65 * 256 + 65
    assert LSTM.num_params({**base, "num_layers": 10**6}) > 10**11
    with pytest.raises(TypeError, match=r"'num_layers' parameter of LSTM must be an int >= 1. Got '2'"):
        LSTM.num_params({**base, "num_layers": "2"})
    with pytest.raises(TypeError, match=r"'peepholes' parameter of LSTM must be True or False. Got 'yes'"):
        LSTM.num_params({**base, "peepholes": "yes"})
