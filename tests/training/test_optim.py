"""Optimizers without a reference library: hand-worked steps, in-place updates, dtypes,
checkpoints (state_dict round trips) and the checks of step and load_state_dict."""
import io
import json

import numpy as np
import pytest

from bptt import optim

SHAPES = {"U": (3, 2), "W": (3, 3), "b": (3,)}

CONFIGS = {
    "sgd": lambda: optim.SGD(0.1),
    "sgd-nesterov-wd": lambda: optim.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adagrad": lambda: optim.Adagrad(0.1, initial_accumulator_value=0.1, weight_decay=0.01),
    "rmsprop": lambda: optim.RMSProp(0.01),
    "rmsprop-centered-momentum": lambda: optim.RMSProp(0.01, momentum=0.9, centered=True),
    "adam": lambda: optim.Adam(0.01, weight_decay=0.01),
}


def _params(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return {k: rng.normal(size=s).astype(dtype) for k, s in SHAPES.items()}


def _grads(n, dtype=np.float64, seed=1):
    rng = np.random.default_rng(seed)
    return [{k: rng.normal(size=s).astype(dtype) for k, s in SHAPES.items()} for _ in range(n)]


# -- hand-worked steps on one scalar parameter ---------------------------------------------------

def test_sgd_momentum_by_hand():
    p = {"w": np.array([1.0])}
    opt = optim.SGD(0.1, momentum=0.9)
    opt.step(p, {"w": np.array([1.0])})   # v = 1,             θ = 1 − 0.1·1 = 0.9
    assert p["w"][0] == pytest.approx(0.9, rel=1e-15)
    opt.step(p, {"w": np.array([1.0])})   # v = 0.9·1 + 1 = 1.9, θ = 0.9 − 0.19 = 0.71
    assert p["w"][0] == pytest.approx(0.71, rel=1e-15)
    assert opt.velocity["w"][0] == pytest.approx(1.9, rel=1e-15)


def test_sgd_nesterov_by_hand():
    p = {"w": np.array([1.0])}
    opt = optim.SGD(0.1, momentum=0.5, nesterov=True)
    opt.step(p, {"w": np.array([2.0])})   # v = 2, g = 2 + 0.5·2 = 3,      θ = 1 − 0.3 = 0.7
    assert p["w"][0] == pytest.approx(0.7, rel=1e-15)
    opt.step(p, {"w": np.array([2.0])})   # v = 1 + 2 = 3, g = 2 + 1.5 = 3.5, θ = 0.7 − 0.35 = 0.35
    assert p["w"][0] == pytest.approx(0.35, rel=1e-14)


def test_adagrad_by_hand():
    p = {"w": np.array([1.0])}
    opt = optim.Adagrad(0.1, eps=0.0, initial_accumulator_value=0.0)
    opt.step(p, {"w": np.array([3.0])})   # G = 9,  θ = 1 − 0.1·3/3 = 0.9
    opt.step(p, {"w": np.array([4.0])})   # G = 25, θ = 0.9 − 0.1·4/5 = 0.82
    assert p["w"][0] == pytest.approx(0.82, rel=1e-15)


def test_rmsprop_by_hand():
    p = {"w": np.array([1.0])}
    opt = optim.RMSProp(0.1, alpha=0.75, eps=0.0)
    opt.step(p, {"w": np.array([2.0])})   # s = 0.25·4 = 1, θ = 1 − 0.1·2/1 = 0.8
    assert p["w"][0] == pytest.approx(0.8, rel=1e-15)


def test_adam_first_step_moves_by_lr():
    # m̂ = g and v̂ = g² at t = 1, so θ ← θ − lr·g/(|g| + eps) ≈ θ − lr·sign(g)
    p = {"w": np.array([1.0, 1.0])}
    optim.Adam(0.1, eps=0.0).step(p, {"w": np.array([5.0, -1e-3])})
    np.testing.assert_allclose(p["w"], [0.9, 1.1], rtol=1e-15)


# -- in place, dtypes, no side effects -----------------------------------------------------------

@pytest.mark.parametrize("name", list(CONFIGS))
def test_step_updates_in_place_and_leaves_grads_alone(name):
    params, grads = _params(), _grads(3)
    ids = {k: id(p) for k, p in params.items()}
    before = [{k: g.copy() for k, g in gs.items()} for gs in grads]
    opt = CONFIGS[name]()
    for g in grads:
        opt.step(params, g)
    assert {k: id(p) for k, p in params.items()} == ids
    for g, b in zip(grads, before):
        for k in g:
            np.testing.assert_array_equal(g[k], b[k])
    assert opt.t == 3


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("grad_dtype", [np.float32, np.float64])
def test_float32_params_stay_float32(name, grad_dtype):
    params = _params(np.float32)
    opt = CONFIGS[name]()
    for g in _grads(3, grad_dtype):
        opt.step(params, g)
    assert all(p.dtype == np.float32 for p in params.values())
    for slot in opt.state_dict()["state"].values():
        assert all(a.dtype == np.float32 for a in slot.values())


@pytest.mark.parametrize("name", list(CONFIGS))
def test_float32_follows_float64_closely(name):
    p32, p64 = _params(np.float32), _params(np.float64)
    o32, o64 = CONFIGS[name](), CONFIGS[name]()
    for g in _grads(5, np.float64):
        o32.step(p32, g)
        o64.step(p64, g)
    for k in p64:
        np.testing.assert_allclose(p32[k], p64[k], rtol=1e-5, atol=1e-6)


def test_lr_is_settable_and_validated():
    opt = optim.Adam()
    opt.lr = 0.5
    assert opt.lr == 0.5 and opt.state_dict()["hyper"]["lr"] == 0.5
    opt.lr = 0  # a schedule may reach 0
    with pytest.raises(ValueError, match=r"The 'lr' parameter of Adam must be a finite number in \[0, inf\]. Got -1"):
        opt.lr = -1


def test_lr_zero_leaves_params_unchanged():
    params = _params()
    before = {k: p.copy() for k, p in params.items()}
    opt = optim.SGD(0.0, momentum=0.9)
    opt.step(params, _grads(1)[0])
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])


def test_repr_shows_the_settings():
    assert repr(optim.SGD(0.1, momentum=0.9)) == \
        "SGD(lr=0.1, momentum=0.9, nesterov=False, weight_decay=0.0)"


# -- checkpoints ---------------------------------------------------------------------------------

def _through_npz_and_json(d):
    """Save the arrays in an npz and the rest as JSON, as a checkpoint would, and read back."""
    arrays = {f"{slot}/{k}": a for slot, per_key in d["state"].items() for k, a in per_key.items()}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    meta = json.loads(json.dumps({"type": d["type"], "hyper": d["hyper"], "step": d["step"],
                                  "slots": list(d["state"])}))
    with np.load(buf) as npz:
        state = {slot: {} for slot in meta.pop("slots")}
        for name in npz.files:
            slot, k = name.split("/")
            state[slot][k] = npz[name]
    return {**meta, "state": state}


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_state_dict_round_trip_is_bitwise(name, dtype):
    grads = _grads(6, dtype)
    straight, opt = _params(dtype), CONFIGS[name]()
    for g in grads:
        opt.step(straight, g)

    resumed, first = _params(dtype), CONFIGS[name]()
    for g in grads[:3]:
        first.step(resumed, g)
    saved = _through_npz_and_json(first.state_dict())
    second = type(first)(lr=123.0)  # other settings: load_state_dict restores them
    second.load_state_dict(saved)
    assert second.hyperparameters() == first.hyperparameters() and second.t == 3
    for g in grads[3:]:
        second.step(resumed, g)
    for k in straight:
        np.testing.assert_array_equal(resumed[k], straight[k])
        assert resumed[k].dtype == dtype


def test_state_dict_holds_copies():
    params, opt = _params(), optim.Adam()
    opt.step(params, _grads(1)[0])
    d = opt.state_dict()
    m = d["state"]["m"]["W"].copy()
    opt.step(params, _grads(1)[0])
    np.testing.assert_array_equal(d["state"]["m"]["W"], m)
    assert d["step"] == 1 and set(d) == {"type", "hyper", "step", "state"}


def test_state_dict_layout():
    opt = optim.RMSProp(centered=True)
    opt.step(_params(), _grads(1)[0])
    d = opt.state_dict()
    assert d["type"] == "RMSProp" and d["step"] == 1
    assert list(d["state"]) == ["square_avg", "grad_avg"]
    assert set(d["state"]["grad_avg"]) == set(SHAPES)
    json.dumps(d["hyper"])  # plain JSON
    assert optim.SGD(0.1).state_dict()["state"] == {}


def _adam_state():
    opt = optim.Adam(0.01)
    opt.step(_params(), _grads(1)[0])
    return opt.state_dict()


@pytest.mark.parametrize("change, exc, match", [
    (lambda d: d.pop("step"), ValueError, r"must have the keys \['hyper', 'state', 'step', 'type'\]. Missing \['step'\]"),
    (lambda d: d.update(extra=1), ValueError, r"Missing \[\], unexpected \['extra'\]"),
    (lambda d: d.update(type="SGD"), ValueError, r"is of a 'SGD' optimizer, not 'Adam'"),
    (lambda d: d["hyper"].pop("eps"), ValueError, r"state_dict\['hyper'\] given to Adam.load_state_dict must have the keys .* Missing \['eps'\]"),
    (lambda d: d["hyper"].update(eps=-1.0), ValueError, r"The 'eps' parameter of Adam must be a finite number in \[0, inf\]. Got -1.0"),
    (lambda d: d.update(step=-1), ValueError, r"The 'state_dict\['step'\]' parameter of Adam.load_state_dict must be an int >= 0. Got -1"),
    (lambda d: d.update(step=1.5), TypeError, r"'state_dict\['step'\]' .* must be an int >= 0. Got 1.5 of type float"),
    (lambda d: d["state"].pop("v"), ValueError, r"state_dict\['state'\] given to Adam.load_state_dict must have the keys \['m', 'v'\]. Missing \['v'\]"),
    (lambda d: d["state"]["v"].pop("W"), ValueError, r"must have the same keys and shapes"),
    (lambda d: d["state"]["v"].update(W=np.zeros((2, 2))), ValueError, r"same keys and shapes. .*'W': \(3, 3\).* in 'v', .*'W': \(2, 2\)"),
    (lambda d: d["state"]["m"].update(W=[[0.0]]), TypeError, r"state_dict\['state'\]\['m'\]\['W'\] given to Adam.load_state_dict must be a float numpy array. Got list"),
    (lambda d: d["state"]["m"].update(W=np.zeros((3, 3), int)), TypeError, r"must be a float numpy array. Got dtype int64"),
    (lambda d: d.update(state=[]), TypeError, r"state_dict\['state'\] given to Adam.load_state_dict must be a dict of slots. Got list"),
    (lambda d: d["state"].update(m=None), TypeError, r"state_dict\['state'\]\['m'\] .* must be a dict of arrays. Got NoneType"),
    (lambda d: d.update(hyper=None), TypeError, r"state_dict\['hyper'\] given to Adam.load_state_dict must be a dict. Got NoneType"),
])
def test_load_state_dict_refuses_bad_input_and_changes_nothing(change, exc, match):
    d = _adam_state()
    change(d)
    opt = optim.Adam(0.5)
    with pytest.raises(exc, match=match):
        opt.load_state_dict(d)
    assert opt.lr == 0.5 and opt.t == 0 and opt.m == {} and opt.v == {}


def test_load_state_dict_refuses_a_non_dict():
    with pytest.raises(TypeError, match=r"The 'state_dict' argument of SGD.load_state_dict must be a dict. Got list"):
        optim.SGD(0.1).load_state_dict([])


def test_load_state_dict_slots_follow_the_settings():
    opt = optim.RMSProp(centered=True, momentum=0.5)
    opt.step(_params(), _grads(1)[0])
    d = opt.state_dict()
    d["hyper"]["centered"] = False  # the state has grad_avg, the settings now say it should not
    with pytest.raises(ValueError, match=r"must have the keys \['square_avg', 'velocity'\]. Missing \[\], unexpected \['grad_avg'\]"):
        optim.RMSProp().load_state_dict(d)


def test_loaded_state_must_match_the_params_at_the_next_step():
    d = _adam_state()
    opt = optim.Adam()
    opt.load_state_dict(d)
    params = {k: np.zeros(s) for k, s in SHAPES.items()}
    params["W"] = np.zeros((4, 4))
    with pytest.raises(ValueError, match=r"The state 'm'\['W'\] of Adam has shape \(3, 3\), but params\['W'\] has shape \(4, 4\)"):
        opt.step(params, {k: np.zeros_like(p) for k, p in params.items()})
    params = {"U": np.zeros((3, 2))}
    with pytest.raises(ValueError, match=r"The state 'm' of Adam has the keys \['U', 'W', 'b'\] .* but params has \['U'\]"):
        opt.step(params, {"U": np.zeros((3, 2))})
    assert opt.t == 1  # nothing was stepped


def test_float64_state_loaded_into_float32_params_becomes_float32():
    d = _adam_state()
    opt = optim.Adam(0.01)
    opt.load_state_dict(d)
    params = _params(np.float32)
    opt.step(params, _grads(1, np.float32)[0])
    assert opt.m["W"].dtype == np.float32 and params["W"].dtype == np.float32


# -- the checks of step --------------------------------------------------------------------------

def test_step_checks_keys():
    with pytest.raises(ValueError, match=r"The 'grads' argument of Adam.step must have the keys of params \['U', 'W', 'b'\]. Got \['U', 'W'\]"):
        optim.Adam().step(_params(), {k: g for k, g in _grads(1)[0].items() if k != "b"})


def test_step_checks_shapes():
    g = _grads(1)[0]
    g["W"] = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"grads\['W'\] given to SGD.step must have the shape of params\['W'\] \(3, 3\). Got \(3, 4\)"):
        optim.SGD(0.1).step(_params(), g)


def test_step_checks_containers_and_arrays():
    with pytest.raises(TypeError, match=r"The 'params' argument of SGD.step must be a dict of arrays. Got list"):
        optim.SGD(0.1).step([np.zeros(2)], {"w": np.zeros(2)})
    with pytest.raises(TypeError, match=r"The 'grads' argument of SGD.step must be a dict of arrays. Got tuple"):
        optim.SGD(0.1).step({"w": np.zeros(2)}, (np.zeros(2),))
    with pytest.raises(TypeError, match=r"params\['w'\] given to SGD.step must be a float numpy array \(it is updated in place\). Got list"):
        optim.SGD(0.1).step({"w": [0.0, 0.0]}, {"w": np.zeros(2)})
    with pytest.raises(TypeError, match=r"must be a float numpy array .*Got dtype int64"):
        optim.SGD(0.1).step({"w": np.zeros(2, int)}, {"w": np.zeros(2)})


def test_step_does_not_check_finiteness():
    params = {"w": np.zeros(2)}
    optim.SGD(0.1).step(params, {"w": np.array([np.nan, 1.0])})  # the trainer checks norms
    assert np.isnan(params["w"][0]) and params["w"][1] == -0.1


def test_centered_rmsprop_never_takes_the_root_of_a_negative_number():
    # constant gradients: s − ḡ² = α^t(1 − α^t)g² shrinks towards rounding noise
    p = {"w": np.full(1000, 1.0)}
    g = {"w": np.linspace(0.1, 1e3, 1000)}
    opt = optim.RMSProp(1e-6, alpha=0.5, centered=True)
    for _ in range(60):
        opt.step(p, g)
    assert np.isfinite(p["w"]).all()
