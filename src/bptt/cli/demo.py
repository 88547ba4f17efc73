"""`bptt demo --quick`: a gradient check and a small BPTT training run, in under a minute.

The quick demo is also a self-test: it fails (exit status 1, the reason on stderr) when BPTT
disagrees with central differences by more than GRADCHECK_TOL, or when the trained network
predicts fewer than MIN_ACCURACY of the delayed tokens (the task is learned to 100% in the
default 400 steps, and to 92–99% in 60 steps with seeds 0–3; chance is 1/7 = 14.3%).
"""
from __future__ import annotations

import sys

import numpy as np

from ..training import optim
from ..nn.gradcheck import gradcheck
from ..cells.rnn.model import SimpleRNN
from .commands import run_train

GRADCHECK_TOL = 1e-6      # max relative error of ∂J/∂θ against central differences (float64)
MIN_ACCURACY = 0.9        # delayed tokens predicted right on fresh sequences


def delayed_echo(T, B, vocab, delay, rng):
    """Token inputs; the target at step t is the input from `delay` steps earlier (0 before that).
    Solving it needs memory carried through the recurrence: errors must flow back `delay` steps."""
    x = rng.integers(1, vocab, size=(T, B))
    y = np.zeros((T, B), dtype=np.intp)
    y[delay:] = x[:-delay]
    return x, y


def run_quick_demo(steps=400, seed=0, out=print):
    """Print a gradient check and a training run; returns (history, accuracy, gradcheck's max
    relative error)."""
    from tqdm import tqdm

    rng = np.random.default_rng(seed)
    out("1. Gradient check: BPTT against central differences (float64, tanh, softmax, h0 != 0)")
    small = SimpleRNN(4, 5, 4, seed=seed)
    x, y = delayed_echo(6, 3, 4, 2, rng)
    h0 = rng.normal(scale=0.5, size=(3, 5))
    check = gradcheck(small, x, y, h0=h0)
    out(check.table())

    out("\n2. Training: remember the token from 3 steps back (T=20, B=32, H=32, Adam, clipping 5)")
    vocab, delay = 8, 3
    model = SimpleRNN(vocab, 32, vocab, seed=seed)
    opt = optim.Adam(lr=1e-2)
    mask = np.ones((20, 32)); mask[:delay] = 0                 # nothing to predict before step 3
    chance = np.log(vocab - 1)
    history = []
    bar = tqdm(range(steps), desc="training", unit="step", mininterval=0.5)
    for step in bar:
        x, y = delayed_echo(20, 32, vocab, delay, rng)
        loss, grads = model.loss_and_grads(x, y, mask=mask)
        norm = np.sqrt(sum(float((g * g).sum()) for g in grads.values()))
        if norm > 5.0:                                           # clip the global norm to 5
            for g in grads.values():
                g *= 5.0 / norm
        opt.step(model.params, grads)
        per_char = loss / (20 - delay)
        history.append(per_char)
        bar.set_postfix(loss=f"{per_char:.3f}", grad_norm=f"{norm:.2f}", refresh=False)
    bar.close()
    for s in (0, steps // 4, steps // 2, steps - 1):
        out(f"  step {s:4d}   loss per predicted step {history[s]:.4f}   (chance {chance:.4f})")
    x, y = delayed_echo(20, 256, vocab, delay, rng)
    acc = (model.forward(x).y_hat.argmax(-1)[delay:] == y[delay:]).mean()
    out(f"  accuracy on fresh sequences: {acc:.1%} (chance {1 / (vocab - 1):.1%})")
    return history, acc, check.max_error


def quick_demo_failures(acc, grad_error) -> list:
    """What is off in a quick demo's results (an empty list when both checks pass)."""
    problems = []
    if not grad_error < GRADCHECK_TOL:                         # also catches nan
        problems.append(f"the gradient check failed: BPTT and central differences differ by a "
                        f"relative error of {grad_error:.2e} (at most {GRADCHECK_TOL:.0e} expected)")
    if not acc >= MIN_ACCURACY:
        problems.append(f"the network reached {acc:.1%} accuracy, below the {MIN_ACCURACY:.0%} "
                        f"this task reaches (train longer with --steps, default 400)")
    return problems


def run_training_demo(out_dir="runs/demo", seconds=180.0, seed=0, out=print) -> int:
    """Train a 256-unit SimpleRNN on the built-in corpus for about `seconds`, then sample and
    write the report. The number of steps is set from a short timing run first."""
    import time
    from types import SimpleNamespace

    from ..data.chardata import CharData
    from ..data import builtin_corpus
    from ..training.loop import TrainConfig, train

    data = CharData.from_text(builtin_corpus(2_000_000))
    probe = SimpleRNN(data.vocab.size, 256, data.vocab.size, dtype="float32", seed=seed)
    t0 = time.perf_counter()
    train(probe, data, TrainConfig(steps=30, eval_every=1000, checkpoint_every=1000,
                                   eval_chars=1000, progress=False))
    per_step = (time.perf_counter() - t0) / 30
    steps = max(100, int(seconds * 0.9 / per_step / 100) * 100)   # leave time for evaluations
    out(f"bptt demo: about {seconds:.0f} s of training ({steps} steps of 32 x 50 characters); "
        f"Ctrl-C stops early and keeps a checkpoint")
    args = SimpleNamespace(
        files=[], out=out_dir, model="rnn", activation="tanh", hidden=256, seq_len=50, stride=None,
        batch=32, steps=steps, optimizer="adam", lr=2e-3, clip=5.0, clip_mode="norm",
        eval_every=max(steps // 10, 1), checkpoint_every=max(steps // 4, 1), seed=seed,
        dtype="float32", val_fraction=0.1, max_chars=2_000_000, encoding="utf-8", resume=False,
        no_progress=False, overwrite=True)
    return run_train(args, out=out)


def run_demo(args, out=print) -> int:
    """The main job on built-in data: train for about args.seconds, then samples and a report."""
    if args.quick:
        _, acc, grad_error = run_quick_demo(steps=args.steps, seed=args.seed, out=out)
        problems = quick_demo_failures(acc, grad_error)
        for p in problems:
            print(f"bptt demo: {p}", file=sys.stderr)
        if not problems:
            out(f"  checks passed: gradient error {grad_error:.1e} < {GRADCHECK_TOL:.0e}, "
                f"accuracy {acc:.1%} >= {MIN_ACCURACY:.0%}")
        return 1 if problems else 0
    return run_training_demo(out_dir=args.out, seconds=args.seconds, seed=args.seed, out=out)
