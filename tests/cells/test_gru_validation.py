"""Bad input at the GRU's public edge, the parameter naming, config, num_params and the registry."""
import numpy as np
import pytest

from bptt.cells import MODEL_KINDS, build_model, model_class
from bptt.cells.gru.model import GRU


@pytest.mark.parametrize("args, kwargs, exc, match", [
    ((0, 4, 2), {}, ValueError, r"'input_size' parameter of GRU must be an int >= 1. Got 0 instead"),
    ((3, 0, 2), {}, ValueError, r"'hidden_size' parameter of GRU must be an int >= 1. Got 0 instead"),
    ((3, 4, -2), {}, ValueError, r"'output_size' parameter of GRU must be an int >= 1. Got -2 instead"),
    ((3.0, 4, 2), {}, TypeError, r"'input_size' parameter of GRU must be an int >= 1. Got 3.0 of type float"),
    ((3, 4.0, 2), {}, TypeError, r"'hidden_size' parameter of GRU must be an int >= 1. Got 4.0 of type float"),
    ((3, 4, True), {}, TypeError, r"'output_size' parameter of GRU must be an int >= 1. Got True of type bool"),
    ((3, 4, 2), {"num_layers": 0}, ValueError, r"'num_layers' parameter of GRU must be an int >= 1. Got 0 instead"),
    ((3, 4, 2), {"num_layers": 2.0}, TypeError, r"'num_layers' parameter of GRU must be an int >= 1. Got 2.0 of type float"),
    ((3, 4, 2), {"reset": "middle"}, ValueError,
     r"'reset' parameter of GRU must be one of 'after', 'before'. Got 'middle' instead"),
    ((3, 4, 2), {"reset": None}, ValueError, r"'reset' parameter of GRU must be one of 'after', 'before'. Got None"),
    ((3, 4, 2), {"output": "sigmoid"}, ValueError,
     r"'output' parameter of GRU must be one of 'softmax', 'identity'. Got 'sigmoid'"),
    ((3, 4, 2), {"dtype": "float16"}, ValueError, r"'dtype' parameter of GRU must be 'float32' or 'float64'. Got 'float16'"),
    ((3, 4, 2), {"path": "turbo"}, ValueError, r"'path' parameter of GRU must be one of 'fast', 'reference'. Got 'turbo'"),
    ((3, 4, 2), {"seed": -1}, ValueError, r"'seed' parameter of GRU must be an int >= 0 or a numpy.random.Generator. Got -1"),
    ((3, 4, 2), {"seed": 1.5}, TypeError, r"'seed' parameter of GRU must be an int >= 0 or a numpy.random.Generator. Got 1.5 of type float"),
])
def test_bad_construction(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        GRU(*args, **kwargs)


@pytest.fixture
def model():
    return GRU(3, 4, 2)


def test_bad_h0(model):
    x, y = np.zeros((2, 1, 3)), np.zeros((2, 1), dtype=int)
    with pytest.raises(ValueError, match=r"'h0' argument of GRU must have shape \(1, 4\). Got shape \(4,\)"):
        model.forward(x, h0=np.zeros(4))
    with pytest.raises(ValueError, match=r"'h0' argument of GRU must have shape \(1, 4\). Got shape \(2, 1, 4\)"):
        model.loss_and_grads(x, y, h0=np.zeros((2, 1, 4)))
    with pytest.raises(ValueError, match=r"'h0' argument of GRU must be finite. Got nan at index \(0, 2\)"):
        h0 = np.zeros((1, 4))
        h0[0, 2] = np.nan
        model.forward(x, h0=h0)
    with pytest.raises(TypeError, match=r"'h0' argument of GRU must hold floats. Got booleans"):
        model.forward(x, h0=np.zeros((1, 4), dtype=bool))
    with pytest.raises(TypeError, match=r"'h0' argument of GRU must be a numeric array"):
        model.forward(x, h0=(np.zeros((1, 4)), np.zeros((1, 4)), "c"))
    deep = GRU(3, 4, 2, num_layers=2)
    with pytest.raises(ValueError, match=r"'h0' argument of GRU must have shape \(2, 1, 4\). Got shape \(1, 4\)"):
        deep.forward(x, h0=np.zeros((1, 4)))


def test_bad_x_y_mask(model):
    x, y = np.zeros((2, 1, 3)), np.zeros((2, 1), dtype=int)
    with pytest.raises(ValueError, match=r"x has 5 features, but GRU expects 3"):
        model.forward(np.zeros((2, 1, 5)))
    with pytest.raises(ValueError, match=r"'x' argument of GRU must hold ids in \[0, 3\). Got 3"):
        model.forward(np.array([[0], [3]]))
    with pytest.raises(ValueError, match=r"'x' argument of GRU must hold ids in \[0, 3\). Got -1"):
        model.loss(np.array([[0], [-1]]), y)
    with pytest.raises(ValueError, match=r"'x' argument of GRU must have at least one time step .* Got shape \(0, 1, 3\)"):
        model.forward(np.zeros((0, 1, 3)))
    with pytest.raises(ValueError, match=r"'x' argument of GRU must be floats of shape \(T, B, 3\) or integer "
                                         r"token ids of shape \(T, B\). Got float64 of shape \(2, 3\)"):
        model.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"'x' argument of GRU must be finite. Got inf"):
        model.forward(np.full((2, 1, 3), np.inf))
    with pytest.raises(ValueError, match=r"'y' argument of GRU must have shape \(2, 1\). Got shape \(1, 2\)"):
        model.loss_and_grads(x, np.zeros((1, 2), dtype=int))
    with pytest.raises(ValueError, match=r"'y' argument of GRU must hold ids in \[0, 2\). Got 2"):
        model.loss(x, np.full((2, 1), 2))
    with pytest.raises(TypeError, match=r"'y' argument of GRU must hold integer ids. Got dtype float64"):
        model.loss(x, np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"'y' argument of GRU is required"):
        model.backward(x, None)
    with pytest.raises(ValueError, match=r"'mask' argument of GRU must hold weights >= 0. Got -1.0"):
        model.loss_and_grads(x, y, mask=-np.ones((2, 1)))
    with pytest.raises(ValueError, match=r"'mask' argument of GRU must have shape \(2, 1\). Got shape \(2,\)"):
        model.loss_and_grads(x, y, mask=np.ones(2))
    reg = GRU(3, 4, 2, output="identity")
    with pytest.raises(ValueError, match=r"'y' argument of GRU must have shape \(2, 1, 2\). Got shape \(2, 1\)"):
        reg.loss(x, np.zeros((2, 1)))


def test_bad_methods_arguments(model):
    x, y = np.zeros((2, 1, 3)), np.zeros((2, 1), dtype=int)
    with pytest.raises(ValueError, match=r"'batch_size' parameter of GRU.zero_state must be an int >= 1. Got 0"):
        model.zero_state(0)
    with pytest.raises(ValueError, match=r"'l' argument of GRU.layer must be an int in \[-1, 1\). Got 1"):
        model.layer(1)
    with pytest.raises(ValueError, match=r"'k2' parameter of GRU.tbptt must be >= k1 = 2 .* Got 1"):
        model.tbptt(x, y, 2, 1)
    with pytest.raises(ValueError, match=r"'k1' parameter of GRU.tbptt must be an int >= 1. Got 0"):
        model.tbptt(x, y, 0, 1)


def test_bad_input_changes_nothing(model):
    before = {k: p.copy() for k, p in model.params.items()}
    with pytest.raises(ValueError, match=r"'y' argument of GRU must hold ids in \[0, 2\). Got 7"):
        model.loss_and_grads(np.zeros((2, 1, 3)), np.full((2, 1), 7))
    assert all(np.array_equal(before[k], model.params[k]) for k in before)


@pytest.mark.parametrize("reset", ["after", "before"])
def test_parameter_names_and_shapes(reset):
    model = GRU(3, 4, 2, num_layers=2, reset=reset)
    layer0 = [f"{w}_{g}" for w in "UWb" for g in "rzn"] + (["b_hn"] if reset == "after" else [])
    assert list(model.params) == layer0 + [f"{k}.1" for k in layer0] + ["V", "c"]
    for k, p in model.params.items():
        want = {"U": (4, 4 if k.endswith(".1") else 3), "W": (4, 4), "b": (4,), "V": (2, 4),
                "c": (2,)}[k[0]]
        assert p.shape == want and p.dtype == np.float64 and p.flags.c_contiguous, k
    layer1 = model.layer(1)
    assert list(layer1) == layer0 and layer1["U_r"] is model.params["U_r.1"]
    assert model.layer(-1)["W_n"] is model.params["W_n.1"]


@pytest.mark.parametrize("kw", [{}, {"num_layers": 3}, {"reset": "before", "num_layers": 2},
                                {"output": "identity", "dtype": "float32"}])
def test_num_params_config_and_zero_state(kw):
    model = GRU(5, 6, 7, seed=1, **kw)
    config = model.config()
    assert config == {"input_size": 5, "hidden_size": 6, "output_size": 7,
                      "num_layers": kw.get("num_layers", 1), "reset": kw.get("reset", "after"),
                      "bidirectional": False, "output": kw.get("output", "softmax"),
                      "dtype": kw.get("dtype", "float64")}
    assert GRU.num_params(config) == sum(p.size for p in model.params.values())
    again = GRU(**config, seed=1)
    assert all(np.array_equal(again.params[k], model.params[k]) for k in model.params)
    h = model.zero_state(3)
    L = kw.get("num_layers", 1)
    assert h.shape == ((3, 6) if L == 1 else (L, 3, 6)) and not h.any() and h.dtype == model.dtype
    assert repr(model) == (f"GRU(5, 6, 7, num_layers={L}, reset={config['reset']!r}, "
                           f"output={config['output']!r}, dtype={config['dtype']!r})")


def test_num_params_of_hostile_configs():
    """num_params is computed before allocating; a config with nonsense sizes is refused."""
    base = {"input_size": 65, "hidden_size": 256, "output_size": 65}
    assert GRU.num_params(base) == 3 * 256 * (65 + 256 + 1) + 256 + 65 * 256 + 65
    assert GRU.num_params({**base, "reset": "before"}) == 3 * 256 * (65 + 256 + 1) + 65 * 256 + 65
    assert GRU.num_params({**base, "num_layers": 10**6}) > 10**11
    with pytest.raises(TypeError, match=r"'num_layers' parameter of GRU must be an int >= 1. Got '2'"):
        GRU.num_params({**base, "num_layers": "2"})
    with pytest.raises(ValueError, match=r"'reset' parameter of GRU must be one of 'after', 'before'. Got 'x'"):
        GRU.num_params({**base, "reset": "x"})
    with pytest.raises(ValueError, match=r"The model config asks for .* parameters .* above the limit"):
        build_model("gru", {**base, "num_layers": 10**6})


def test_registry_builds_a_gru():
    assert MODEL_KINDS["gru"] is GRU and model_class("gru") is GRU
    model = build_model("gru", {"input_size": 3, "hidden_size": 4, "output_size": 2,
                                "reset": "before"}, seed=2)
    assert isinstance(model, GRU) and model.reset == "before"
    assert all(np.array_equal(p, GRU(3, 4, 2, reset="before", seed=2).params[k])
               for k, p in model.params.items())
    with pytest.raises(ValueError, match=r"Unknown model kind 'gr': expected one of 'rnn', 'lstm', 'gru'"):
        model_class("gr")
