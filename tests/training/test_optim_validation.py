"""Every hyperparameter check of the optimizers and of make_optimizer, with its message."""
import numpy as np
import pytest

from bptt import optim


@pytest.mark.parametrize("build, exc, match", [
    # SGD
    (lambda: optim.SGD(-0.1), ValueError, r"The 'lr' parameter of SGD must be a finite number in \[0, inf\]. Got -0.1 instead."),
    (lambda: optim.SGD(float("nan")), ValueError, r"The 'lr' parameter of SGD must be a finite number .* Got nan"),
    (lambda: optim.SGD("0.1"), TypeError, r"The 'lr' parameter of SGD must be a real number .* Got '0.1' of type str"),
    (lambda: optim.SGD(None), TypeError, r"The 'lr' parameter of SGD must be a real number .* Got None of type NoneType"),
    (lambda: optim.SGD(0.1, momentum=1.0), ValueError, r"The 'momentum' parameter of SGD must be a finite number in \[0, 1\). Got 1.0"),
    (lambda: optim.SGD(0.1, momentum=-0.5), ValueError, r"The 'momentum' parameter of SGD .* Got -0.5"),
    (lambda: optim.SGD(0.1, nesterov=True), ValueError, r"The 'nesterov' parameter of SGD needs a momentum > 0. Got nesterov=True with momentum=0.0."),
    (lambda: optim.SGD(0.1, momentum=0.9, nesterov="yes"), TypeError, r"The 'nesterov' parameter of SGD must be True or False. Got 'yes' of type str"),
    (lambda: optim.SGD(0.1, weight_decay=-1e-4), ValueError, r"The 'weight_decay' parameter of SGD must be a finite number in \[0, inf\]. Got -0.0001"),
    # Adagrad
    (lambda: optim.Adagrad(lr=-1), ValueError, r"The 'lr' parameter of Adagrad .* Got -1"),
    (lambda: optim.Adagrad(eps=-1e-10), ValueError, r"The 'eps' parameter of Adagrad must be a finite number in \[0, inf\]. Got -1e-10"),
    (lambda: optim.Adagrad(initial_accumulator_value=-0.1), ValueError, r"The 'initial_accumulator_value' parameter of Adagrad .* Got -0.1"),
    (lambda: optim.Adagrad(weight_decay=float("inf")), ValueError, r"The 'weight_decay' parameter of Adagrad .* Got inf"),
    # RMSProp
    (lambda: optim.RMSProp(lr=-1e-2), ValueError, r"The 'lr' parameter of RMSProp .* Got -0.01"),
    (lambda: optim.RMSProp(alpha=1.0), ValueError, r"The 'alpha' parameter of RMSProp must be a finite number in \[0, 1\). Got 1.0"),
    (lambda: optim.RMSProp(alpha=-0.1), ValueError, r"The 'alpha' parameter of RMSProp .* Got -0.1"),
    (lambda: optim.RMSProp(eps=-1.0), ValueError, r"The 'eps' parameter of RMSProp .* Got -1.0"),
    (lambda: optim.RMSProp(momentum=1.5), ValueError, r"The 'momentum' parameter of RMSProp must be a finite number in \[0, 1\). Got 1.5"),
    (lambda: optim.RMSProp(centered=1), TypeError, r"The 'centered' parameter of RMSProp must be True or False. Got 1 of type int"),
    (lambda: optim.RMSProp(weight_decay=-0.1), ValueError, r"The 'weight_decay' parameter of RMSProp .* Got -0.1"),
    # Adam
    (lambda: optim.Adam(lr=-1e-3), ValueError, r"The 'lr' parameter of Adam must be a finite number in \[0, inf\]. Got -0.001"),
    (lambda: optim.Adam(betas=(1.0, 0.999)), ValueError, r"The 'betas\[0\]' parameter of Adam must be a finite number in \[0, 1\). Got 1.0"),
    (lambda: optim.Adam(betas=(0.9, -0.1)), ValueError, r"The 'betas\[1\]' parameter of Adam .* Got -0.1"),
    (lambda: optim.Adam(betas=0.9), ValueError, r"The 'betas' parameter of Adam must be a pair \(beta1, beta2\). Got 0.9 instead."),
    (lambda: optim.Adam(betas=(0.9, 0.99, 0.999)), ValueError, r"The 'betas' parameter of Adam must be a pair .* Got \(0.9, 0.99, 0.999\)"),
    (lambda: optim.Adam(betas=("a", 0.9)), TypeError, r"The 'betas\[0\]' parameter of Adam must be a real number .* Got 'a' of type str"),
    (lambda: optim.Adam(eps=-1e-8), ValueError, r"The 'eps' parameter of Adam .* Got -1e-08"),
    (lambda: optim.Adam(weight_decay=-0.01), ValueError, r"The 'weight_decay' parameter of Adam .* Got -0.01"),
    # make_optimizer
    (lambda: optim.make_optimizer("adamw", 1e-3), ValueError, r"The 'name' parameter of make_optimizer must be one of 'sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam'. Got 'adamw' instead."),
    (lambda: optim.make_optimizer(None, 1e-3), ValueError, r"The 'name' parameter of make_optimizer must be one of .* Got None"),
    (lambda: optim.make_optimizer("adam", 1e-3, momentum=0.9), TypeError, r"make_optimizer\('adam'\) got unknown options \['momentum'\]; Adam takes betas, eps, weight_decay."),
    (lambda: optim.make_optimizer("sgd", -1.0), ValueError, r"The 'lr' parameter of SGD .* Got -1.0"),
    (lambda: optim.make_optimizer("nesterov", 0.1, momentum=0.0), ValueError, r"The 'nesterov' parameter of SGD needs a momentum > 0"),
])
def test_bad_hyperparameters_are_refused(build, exc, match):
    with pytest.raises(exc, match=match):
        build()


def test_numpy_scalars_and_ints_are_accepted():
    opt = optim.RMSProp(np.float32(0.01), alpha=np.float64(0.9), momentum=0, centered=np.bool_(True))
    assert opt.hyperparameters() == {"lr": float(np.float32(0.01)), "alpha": 0.9, "eps": 1e-8,
                                     "momentum": 0.0, "centered": True, "weight_decay": 0.0}
    assert type(opt.lr) is float and type(opt.centered) is bool


@pytest.mark.parametrize("name, cls, settings", [
    ("sgd", optim.SGD, {"momentum": 0.0, "nesterov": False}),
    ("momentum", optim.SGD, {"momentum": 0.9, "nesterov": False}),
    ("nesterov", optim.SGD, {"momentum": 0.9, "nesterov": True}),
    ("adagrad", optim.Adagrad, {"eps": 1e-10}),
    ("rmsprop", optim.RMSProp, {"alpha": 0.99, "centered": False}),
    ("adam", optim.Adam, {"betas": [0.9, 0.999]}),
])
def test_make_optimizer_builds_each_name(name, cls, settings):
    opt = optim.make_optimizer(name, 0.05)
    assert type(opt) is cls and opt.lr == 0.05
    hyper = opt.hyperparameters()
    assert {k: hyper[k] for k in settings} == settings


def test_make_optimizer_options_override_the_defaults():
    opt = optim.make_optimizer("momentum", 0.1, momentum=0.5, weight_decay=1e-4)
    assert opt.momentum == 0.5 and opt.weight_decay == 1e-4
    opt = optim.make_optimizer("rmsprop", 0.1, centered=True, momentum=0.9)
    assert opt.centered and opt.momentum == 0.9


def test_everything_is_importable_from_optim():
    for name in optim.__all__:
        assert hasattr(optim, name), name


def test_step_refuses_read_only_params_and_non_numeric_grads():
    p = {"W": np.zeros(2)}
    p["W"].flags.writeable = False
    with pytest.raises(ValueError, match=r"params\['W'\] given to SGD.step is read-only"):
        optim.SGD(lr=0.1).step(p, {"W": np.ones(2)})
    with pytest.raises(TypeError, match=r"grads\['W'\] given to Adam.step must hold numbers. Got dtype <U1"):
        optim.Adam().step({"W": np.zeros(2)}, {"W": np.array(["a", "b"])})
    with pytest.raises(ValueError, match=r"'lr' parameter of SGD must be a finite number"):
        optim.SGD(lr=10**400)
