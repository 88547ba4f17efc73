"""Every optimizer against torch.optim in float64: same initial parameters, the same sequence of
random gradients, parameters compared after every step at rtol 1e-12."""
import numpy as np
import pytest

from bptt import optim

torch = pytest.importorskip("torch")

SHAPES = {"U": (4, 3), "W": (4, 4), "b": (4,), "V": (2, 4), "c": (2,)}
STEPS = 7


def _problem(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    params = {k: rng.normal(size=s) for k, s in SHAPES.items()}
    grads = [{k: scale * rng.normal(size=s) for k, s in SHAPES.items()} for _ in range(STEPS)]
    return params, grads


def _run_bptt(opt, params0, grads_seq, lrs=None):
    params = {k: p.copy() for k, p in params0.items()}
    out = []
    for i, g in enumerate(grads_seq):
        if lrs is not None:
            opt.lr = lrs(i)
        opt.step(params, g)
        out.append({k: p.copy() for k, p in params.items()})
    return out


def _run_torch(make, params0, grads_seq, scheduler=None):
    tensors = {k: torch.tensor(p, dtype=torch.float64, requires_grad=True) for k, p in params0.items()}
    opt = make(list(tensors.values()))
    sched = scheduler(opt) if scheduler else None
    out = []
    for g in grads_seq:
        for k, t in tensors.items():
            t.grad = torch.tensor(g[k], dtype=torch.float64)
        opt.step()
        if sched:
            sched.step()
        out.append({k: t.detach().numpy().copy() for k, t in tensors.items()})
    return out


def _assert_same_trajectory(ours, theirs):
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for k in a:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-12, atol=0,
                                       err_msg=f"params[{k!r}] after step {step + 1}")


TO = torch.optim
CASES = {
    "sgd": (lambda: optim.SGD(0.1), lambda p: TO.SGD(p, lr=0.1)),
    "sgd-momentum": (lambda: optim.SGD(0.05, momentum=0.9), lambda p: TO.SGD(p, lr=0.05, momentum=0.9)),
    "sgd-nesterov": (lambda: optim.SGD(0.05, momentum=0.8, nesterov=True),
                     lambda p: TO.SGD(p, lr=0.05, momentum=0.8, nesterov=True)),
    "sgd-weight-decay": (lambda: optim.SGD(0.1, weight_decay=0.01),
                         lambda p: TO.SGD(p, lr=0.1, weight_decay=0.01)),
    "sgd-momentum-weight-decay": (lambda: optim.SGD(0.05, momentum=0.5, weight_decay=0.1),
                                  lambda p: TO.SGD(p, lr=0.05, momentum=0.5, weight_decay=0.1)),
    "sgd-nesterov-weight-decay": (lambda: optim.SGD(0.05, momentum=0.9, nesterov=True, weight_decay=0.1),
                                  lambda p: TO.SGD(p, lr=0.05, momentum=0.9, nesterov=True,
                                                   weight_decay=0.1)),
    "adagrad": (lambda: optim.Adagrad(), lambda p: TO.Adagrad(p)),
    "adagrad-accumulator": (lambda: optim.Adagrad(0.1, initial_accumulator_value=0.5),
                            lambda p: TO.Adagrad(p, lr=0.1, initial_accumulator_value=0.5)),
    "adagrad-eps-weight-decay": (lambda: optim.Adagrad(0.1, eps=1e-3, weight_decay=0.05),
                                 lambda p: TO.Adagrad(p, lr=0.1, eps=1e-3, weight_decay=0.05)),
    "rmsprop": (lambda: optim.RMSProp(), lambda p: TO.RMSprop(p)),
    "rmsprop-alpha-eps": (lambda: optim.RMSProp(0.02, alpha=0.9, eps=1e-4),
                          lambda p: TO.RMSprop(p, lr=0.02, alpha=0.9, eps=1e-4)),
    "rmsprop-momentum": (lambda: optim.RMSProp(0.01, momentum=0.9),
                         lambda p: TO.RMSprop(p, lr=0.01, momentum=0.9)),
    "rmsprop-centered": (lambda: optim.RMSProp(0.01, centered=True),
                         lambda p: TO.RMSprop(p, lr=0.01, centered=True)),
    "rmsprop-centered-momentum": (lambda: optim.RMSProp(0.01, momentum=0.7, centered=True),
                                  lambda p: TO.RMSprop(p, lr=0.01, momentum=0.7, centered=True)),
    "rmsprop-weight-decay": (lambda: optim.RMSProp(0.01, momentum=0.5, centered=True, weight_decay=0.1),
                             lambda p: TO.RMSprop(p, lr=0.01, momentum=0.5, centered=True,
                                                  weight_decay=0.1)),
    "adam": (lambda: optim.Adam(), lambda p: TO.Adam(p)),
    "adam-betas-eps": (lambda: optim.Adam(0.01, betas=(0.8, 0.99), eps=1e-6),
                       lambda p: TO.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    "adam-weight-decay": (lambda: optim.Adam(0.01, weight_decay=0.1),
                          lambda p: TO.Adam(p, lr=0.01, weight_decay=0.1)),
    "adam-beta1-zero": (lambda: optim.Adam(0.01, betas=(0.0, 0.9)),
                        lambda p: TO.Adam(p, lr=0.01, betas=(0.0, 0.9))),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch_optim(name):
    ours, theirs = CASES[name]
    params0, grads = _problem(seed=len(name))
    _assert_same_trajectory(_run_bptt(ours(), params0, grads), _run_torch(theirs, params0, grads))


@pytest.mark.parametrize("name", ["adam", "rmsprop-centered-momentum", "adagrad", "sgd-nesterov"])
def test_matches_torch_with_tiny_and_huge_gradients(name):
    # eps matters for tiny gradients; huge ones test that nothing overflows or loses precision
    ours, theirs = CASES[name]
    for scale in (1e-9, 1e6):
        params0, grads = _problem(seed=3, scale=scale)
        _assert_same_trajectory(_run_bptt(ours(), params0, grads), _run_torch(theirs, params0, grads))


@pytest.mark.parametrize("name, make_torch", [
    ("sgd", lambda p: TO.SGD(p, lr=0.1)),
    ("momentum", lambda p: TO.SGD(p, lr=0.1, momentum=0.9)),
    ("nesterov", lambda p: TO.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    ("adagrad", lambda p: TO.Adagrad(p, lr=0.1)),
    ("rmsprop", lambda p: TO.RMSprop(p, lr=0.1)),
    ("adam", lambda p: TO.Adam(p, lr=0.1)),
])
def test_make_optimizer_names_match_torch(name, make_torch):
    params0, grads = _problem(seed=11)
    ours = _run_bptt(optim.make_optimizer(name, 0.1), params0, grads)
    _assert_same_trajectory(ours, _run_torch(make_torch, params0, grads))


def test_schedule_setting_lr_matches_torch_step_lr():
    # opt.lr = schedule(step) before each step == torch's StepLR stepped after each step
    params0, grads = _problem(seed=5)
    schedule = optim.step_decay(0.01, step_size=2, gamma=0.5)
    ours = _run_bptt(optim.Adam(), params0, grads, lrs=schedule)
    theirs = _run_torch(lambda p: TO.Adam(p, lr=0.01), params0, grads,
                        scheduler=lambda o: TO.lr_scheduler.StepLR(o, step_size=2, gamma=0.5))
    _assert_same_trajectory(ours, theirs)


def test_cosine_schedule_with_momentum_matches_torch_lambda_lr():
    params0, grads = _problem(seed=6)
    schedule = optim.cosine_with_warmup(0.1, warmup_steps=2, total_steps=6, min_lr=0.01)
    ours = _run_bptt(optim.SGD(0.1, momentum=0.9), params0, grads, lrs=schedule)
    theirs = _run_torch(lambda p: TO.SGD(p, lr=0.1, momentum=0.9), params0, grads,
                        scheduler=lambda o: TO.lr_scheduler.LambdaLR(o, lambda s: schedule(s) / 0.1))
    _assert_same_trajectory(ours, theirs)
