"""Learning-rate schedules: against torch.optim.lr_scheduler and the documented formulas."""
import math
import warnings

import numpy as np
import pytest

from bptt import optim, schedules


def _torch_lrs(make_scheduler, lr, n):
    """The lr torch uses for updates 0..n-1 (its scheduler is stepped after each update)."""
    torch = pytest.importorskip("torch")
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = make_scheduler(opt)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "scheduler.step() before optimizer.step()"
        for _ in range(n):
            out.append(opt.param_groups[0]["lr"])
            sched.step()
    return out


def test_reexported_from_optim():
    assert optim.step_decay is schedules.step_decay
    assert optim.cosine_with_warmup is schedules.cosine_with_warmup
    assert optim.constant is schedules.constant


def test_constant():
    s = schedules.constant(0.3)
    assert [s(i) for i in (0, 1, 10**9)] == [0.3, 0.3, 0.3]


@pytest.mark.parametrize("step_size, gamma", [(1, 0.5), (3, 0.1), (7, 0.9), (5, 1.0)])
def test_step_decay_matches_torch_step_lr(step_size, gamma):
    torch = pytest.importorskip("torch")
    n = 40
    expected = _torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size, gamma), 0.2, n)
    s = schedules.step_decay(0.2, step_size, gamma)
    np.testing.assert_allclose([s(i) for i in range(n)], expected, rtol=1e-12, atol=0)


def test_step_decay_by_hand():
    s = schedules.step_decay(1.0, step_size=2, gamma=0.5)
    assert [s(i) for i in range(6)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]


def _cosine_by_hand(lr, W, S, min_lr, s):
    if s < W:
        return lr * (s + 1) / (W + 1)
    if s >= S:
        return min_lr
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * (s - W) / (S - W)))


@pytest.mark.parametrize("W, S, min_lr", [(0, 10, 0.0), (5, 20, 0.0), (5, 20, 1e-3), (10, 10, 1e-2),
                                          (1, 2, 0.0)])
def test_cosine_with_warmup_matches_the_formula(W, S, min_lr):
    s = schedules.cosine_with_warmup(0.1, W, S, min_lr)
    for step in range(S + 5):
        assert s(step) == pytest.approx(_cosine_by_hand(0.1, W, S, min_lr, step), rel=1e-15, abs=0)


@pytest.mark.parametrize("W, S, min_lr", [(4, 20, 0.0), (3, 12, 1e-3), (0, 9, 1e-2)])
def test_cosine_with_warmup_matches_torch_linear_then_cosine(W, S, min_lr):
    torch = pytest.importorskip("torch")
    lr_sched = torch.optim.lr_scheduler
    lr = 0.1

    def make(o):
        cosine = lr_sched.CosineAnnealingLR(o, T_max=S - W, eta_min=min_lr)
        if W == 0:
            return cosine
        warmup = lr_sched.LinearLR(o, start_factor=1 / (W + 1), end_factor=1.0, total_iters=W)
        return lr_sched.SequentialLR(o, [warmup, cosine], milestones=[W])

    expected = _torch_lrs(make, lr, S + 1)  # torch's cosine turns back up after T_max; stop at S
    s = schedules.cosine_with_warmup(lr, W, S, min_lr)
    np.testing.assert_allclose([s(i) for i in range(S + 1)], expected, rtol=1e-12, atol=1e-17)


def test_cosine_with_warmup_shape():
    s = schedules.cosine_with_warmup(1.0, warmup_steps=4, total_steps=12, min_lr=0.1)
    lrs = [s(i) for i in range(20)]
    assert lrs[0] == 0.2            # 1·(0 + 1)/(4 + 1): small but not 0, the first update moves
    assert lrs[3] == 0.8
    assert lrs[4] == 1.0            # the peak, where the cosine starts
    assert lrs[8] == pytest.approx(0.55, rel=1e-15)  # half way: (1 + 0.1)/2
    assert lrs[12:] == [0.1] * 8    # min_lr from total_steps on
    assert all(a < b for a, b in zip(lrs[:4], lrs[1:5]))   # rises
    assert all(a > b for a, b in zip(lrs[4:12], lrs[5:13]))  # falls


def test_schedules_are_values():
    s = schedules.cosine_with_warmup(0.1, 2, 10)
    assert s == schedules.CosineWithWarmup(0.1, 2, 10, 0.0)
    assert repr(s) == "CosineWithWarmup(lr=0.1, warmup_steps=2, total_steps=10, min_lr=0.0)"
    with pytest.raises(AttributeError, match=r"cannot assign to field 'lr'"):
        s.lr = 1.0


def test_a_schedule_drives_an_optimizer():
    s = schedules.step_decay(0.1, 1, 0.5)
    opt = optim.SGD(1.0)
    p = {"w": np.array([0.0])}
    for step in range(3):
        opt.lr = s(step)
        opt.step(p, {"w": np.array([1.0])})  # θ ← θ − lr: 0.1 + 0.05 + 0.025
    assert p["w"][0] == pytest.approx(-0.175, rel=1e-15)


@pytest.mark.parametrize("build, exc, match", [
    (lambda: schedules.constant(-1.0), ValueError, r"The 'lr' parameter of constant must be a finite number in \[0, inf\]. Got -1.0"),
    (lambda: schedules.step_decay(0.1, 0, 0.5), ValueError, r"The 'step_size' parameter of step_decay must be an int >= 1. Got 0"),
    (lambda: schedules.step_decay(0.1, 2.0, 0.5), TypeError, r"The 'step_size' parameter of step_decay must be an int >= 1. Got 2.0 of type float"),
    (lambda: schedules.step_decay(0.1, 2, 0.0), ValueError, r"The 'gamma' parameter of step_decay must be a finite number in \(0, 1\]. Got 0.0"),
    (lambda: schedules.step_decay(0.1, 2, 1.5), ValueError, r"The 'gamma' parameter of step_decay .* Got 1.5"),
    (lambda: schedules.step_decay(-0.1, 2), ValueError, r"The 'lr' parameter of step_decay .* Got -0.1"),
    (lambda: schedules.cosine_with_warmup(0.1, -1, 10), ValueError, r"The 'warmup_steps' parameter of cosine_with_warmup must be an int >= 0. Got -1"),
    (lambda: schedules.cosine_with_warmup(0.1, 0, 0), ValueError, r"The 'total_steps' parameter of cosine_with_warmup must be an int >= 1. Got 0"),
    (lambda: schedules.cosine_with_warmup(0.1, 11, 10), ValueError, r"The 'warmup_steps' parameter of cosine_with_warmup must be <= total_steps \(10\). Got 11 instead."),
    (lambda: schedules.cosine_with_warmup(0.1, 1, 10, min_lr=0.2), ValueError, r"The 'min_lr' parameter of cosine_with_warmup must be a finite number in \[0, 0.1\]. Got 0.2"),
    (lambda: schedules.cosine_with_warmup(0.1, 1, 10, min_lr=-0.01), ValueError, r"The 'min_lr' parameter of cosine_with_warmup .* Got -0.01"),
    (lambda: schedules.cosine_with_warmup("0.1", 1, 10), TypeError, r"The 'lr' parameter of cosine_with_warmup must be a real number .* Got '0.1' of type str"),
    (lambda: schedules.constant(0.1)(-1), ValueError, r"The 'step' parameter of Constant must be an int >= 0. Got -1"),
    (lambda: schedules.step_decay(0.1, 2)(1.0), TypeError, r"The 'step' parameter of StepDecay must be an int >= 0. Got 1.0 of type float"),
    (lambda: schedules.cosine_with_warmup(0.1, 1, 10)(-3), ValueError, r"The 'step' parameter of CosineWithWarmup must be an int >= 0. Got -3"),
])
def test_bad_arguments_are_refused(build, exc, match):
    with pytest.raises(exc, match=match):
        build()


def test_numpy_integer_steps_are_accepted():
    s = schedules.step_decay(1.0, np.int64(2), np.float32(0.5))
    assert s(np.int64(4)) == 0.25
