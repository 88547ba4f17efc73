"""Training a sequence classifier: one target per sequence (many-to-one, `bptt.cells.pooling`).

    task = make_task("brackets", max_len=20)                   # or "parity"; see TASKS
    history = train_classifier(model, task.draw, ClassifyConfig(steps=600, lr=1e-2),
                               keys=task.keys)
    history[-1]["val_accuracy"]

Each step draws a fresh batch from `task(n, rng) -> (x, y (B,), lengths)`, runs the model's
forward + full BPTT on the pooled loss (`model.backward(x, y, pooling=..., lengths=...)`),
clips the gradient (by norm, by value or not) and takes an optimizer step. A held-out set of
`eval_size` sequences is drawn once, from its own seed, before training; `task` receives its
sequences' keys in `exclude` when it takes that argument, so no held-out sequence is ever trained
on. Every `eval_every` steps one record is appended to the history (and to DIR/metrics.jsonl
with `out`):

    {"step", "loss" (mean training loss since the last record), "grad_norm" (their mean norm
     before clipping), "val_loss", "val_accuracy", "seconds"}

With `out`, checkpoints are written every `checkpoint_every` steps, at the end and on Ctrl-C
through `bptt.io.saving.save_training_state` (`vocab` names the input symbols, so `load_model`
reads the model back; the data state records the task, `task_meta`, and the pooling), under a
`RunLock`. As in `bptt.training.loop`: a DIR that holds a checkpoint is refused unless
`resume=True` (continue it: the parameters, the optimizer's moments, the batches' generator and
the partial sums are restored, so a resumed run ends bitwise where an uninterrupted one does)
or `overwrite=True` (start afresh from the seed's initial weights).
"""
from __future__ import annotations

import inspect
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Optional

import numpy as np

from .. import _validate as v
from ..cells.pooling import POOLINGS, pooled_logits
from ..data.brackets import BRACKETS, brackets, decode
from ..data.synthetic import parity, string_keys
from ..io.run_lock import RunLock
from ..io.saving import load_training_state, save_training_state
from .clipping import clip_by_norm, clip_by_value, global_norm
from .loop import (CLIP_MODES, History, ResumeError, TrainingError, _InterruptFlag, _truncate_metrics,
                   record_evaluation)
from .run_dir import start_afresh
from .optim import OPTIMIZERS, make_optimizer


class ClassifyTask(NamedTuple):
    """A built-in classification task: what `bptt train --task NAME` trains and `bptt eval`
    measures. draw(n, rng, exclude=None) -> (x, y, lengths); keys(x, lengths) numbers the
    sequences (for exclude) or is None; show(x, lengths) their strings; meta the JSON kept in
    checkpoints.

    Parity keeps its held-out strings out of training (keys: `string_keys`). Brackets does not
    (keys None): its held-out strings are drawn from their own seed, and most of 2..20 brackets
    are never trained on, but the short ones are few — "()" is the only balanced string of 2 —
    and a model never trained on a string that ends at step 1 has no trained readout there
    (measured: a GRU then misses "()" and stays at 94.7 % held-out accuracy)."""
    name: str
    symbols: tuple            # the input symbols by id (the checkpoint's vocabulary)
    classes: tuple            # the class names by id
    draw: Callable
    keys: Optional[Callable]
    show: Callable
    meta: dict
    description: str


#: The built-in tasks, each with the default of its longest string.
TASKS = {"parity": 10, "brackets": 20}


def make_task(name: str, *, max_len: Optional[int] = None, kinds: Optional[int] = None) -> ClassifyTask:
    """The task `name` ("parity" or "brackets") with strings of up to max_len symbols; kinds (1
    or 2 bracket pairs) is the brackets task's. Arguments are checked by a first draw."""
    o = "make_task"
    v.check_choice(name, "name", o, tuple(TASKS))
    max_len = TASKS[name] if max_len is None else max_len
    if name == "parity" and kinds is not None:
        raise ValueError(f"The 'kinds' parameter of {o} applies to the brackets task, not to "
                         f"parity. Got kinds={kinds!r}.")
    kinds = 1 if kinds is None and name == "brackets" else kinds

    def draw(n, rng, exclude=None):
        if name == "parity":
            p = parity(n, rng, max_len=max_len, exclude=exclude)
        else:
            p = brackets(n, seed=rng, max_len=max_len, kinds=kinds, exclude=exclude)
        return p.x, p.y, p.lengths

    draw(1, np.random.default_rng(0))                       # the task's own argument checks
    if name == "parity":
        return ClassifyTask(name, ("0", "1"), ("even", "odd"), draw, string_keys,
                            lambda x, n: ["".join(map(str, x[:k, b])) for b, k in enumerate(n)],
                            {"name": name, "max_len": max_len},
                            f"the parity of bit strings of 1..{max_len} bits")
    pairs = [BRACKETS[i:i + 2] for i in range(0, 2 * kinds, 2)]
    return ClassifyTask(name, tuple("".join(pairs)), ("unbalanced", "balanced"), draw, None,
                        lambda x, n: list(decode(x, n)),
                        {"name": name, "max_len": max_len, "kinds": kinds},
                        f"balanced {' and '.join(pairs)} brackets in strings of 2..{max_len}")


@dataclass
class ClassifyConfig:
    steps: int = 1000
    batch: int = 32
    optimizer: str = "adam"
    lr: float = 1e-2
    clip: float = 5.0
    clip_mode: str = "norm"
    pooling: str = "last"
    eval_every: int = 100
    eval_size: int = 512
    checkpoint_every: int = 500
    seed: int = 0
    out: Optional[str] = None     # directory for checkpoints and metrics.jsonl
    resume: bool = False          # continue from out's last checkpoint (start fresh if there is none)
    overwrite: bool = False       # start afresh in an out that already holds a checkpoint

    def validate(self) -> "ClassifyConfig":
        o = "ClassifyConfig"
        for name in ("steps", "batch", "eval_every", "eval_size", "checkpoint_every"):
            v.check_int(getattr(self, name), name, o)
        v.check_int(self.seed, "seed", o, minimum=0)
        v.check_float(self.lr, "lr", o, low=0.0)
        v.check_float(self.clip, "clip", o, low=0.0)
        v.check_choice(self.optimizer, "optimizer", o, tuple(OPTIMIZERS))
        v.check_choice(self.clip_mode, "clip_mode", o, CLIP_MODES)
        v.check_choice(self.pooling, "pooling", o, POOLINGS)
        v.check_bool(self.resume, "resume", o)
        v.check_bool(self.overwrite, "overwrite", o)
        return self

    def recipe(self) -> dict:
        """What must match for a resumed run to continue the same computation."""
        keys = ("batch", "optimizer", "lr", "clip", "clip_mode", "pooling", "eval_size", "seed")
        return {k: getattr(self, k) for k in keys}


def evaluate_classifier(model, x, y, lengths, pooling="last") -> tuple:
    """(J, accuracy) of a softmax classifier on (x, y (B,), lengths): the pooled loss and the
    fraction of sequences whose largest pooled logit is their class."""
    loss = model.loss(x, y, pooling=pooling, lengths=lengths)
    logits = pooled_logits(model, x, lengths=lengths, pooling=pooling)
    return loss, float((logits.argmax(axis=1) == y).mean())


def predictions(model, task: ClassifyTask, x, y, lengths, pooling="last") -> list:
    """One line per sequence: its string, its class, and the model's class with its probability."""
    logits = pooled_logits(model, x, lengths=lengths, pooling=pooling)            # (B, O)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)                                            # softmax
    width = max(len(s) for s in task.show(x, lengths))
    return [f"{s:<{width}}  {task.classes[c]:>10}   predicted {task.classes[k]} (p = {p[b, k]:.3f})"
            for b, (s, c, k) in enumerate(zip(task.show(x, lengths), y, p.argmax(axis=1)))]


def _draw(task, n, rng, exclude):
    if exclude is not None and "exclude" in inspect.signature(task).parameters:
        return task(n, rng, exclude=exclude)
    return task(n, rng)


def train_classifier(model, task, config: ClassifyConfig, *, vocab=None, keys=None,
                     progress=None, task_meta=None) -> History:
    """Train `model` (output="softmax") on batches from task(n, rng) -> (x, y (B,), lengths);
    returns the evaluation records (a `bptt.training.loop.History`). keys(x, lengths) numbers
    sequences (e.g. `bptt.data.synthetic.string_keys`) for keeping the held-out set out of
    training; task_meta (JSON) describes the task in checkpoints, and must match to resume."""
    cfg = config.validate()
    if model.output != "softmax":
        raise ValueError(f"train_classifier needs a model with output='softmax' (class targets). "
                         f"Got output={model.output!r}.")
    if cfg.out is not None and vocab is None:
        raise ValueError("train_classifier with config.out writes checkpoints, which name the "
                         "input symbols: pass vocab. Got vocab=None.")
    val = task(cfg.eval_size, np.random.default_rng([cfg.seed, 1]))
    exclude = None if keys is None else keys(val[0], val[2])
    run = {"rng": np.random.default_rng([cfg.seed, 0]), "opt": make_optimizer(cfg.optimizer, cfg.lr),
           "step": 0, "acc": {"loss": 0.0, "chars": 0, "steps": 0}, "norms": 0.0,
           "history": History(), "meta": task_meta}
    if cfg.out is None:
        return _loop(model, task, cfg, run, val, exclude, None, vocab, progress)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    with RunLock(out):                          # one writer per run, before anything is read or removed
        _start(out, model, cfg, run)
        return _loop(model, task, cfg, run, val, exclude, out, vocab, progress)


def _start(out, model, cfg, run):
    """Resume from out's checkpoint (cfg.resume), or make room for a fresh run."""
    if cfg.resume:
        limit = 4 * sum(p.size for p in model.params.values()) + 10_000_000   # params + optimizer
        state = load_training_state(out, model_kind=model.kind, max_elements=limit)
        if state is not None:
            _restore(state, out, model, cfg, run)
            return
    start_afresh(out, cfg.overwrite)


def _restore(state, out, model, cfg, run):
    data = state.data_state
    if not isinstance(data, dict) or data.get("task") != "classify":
        raise ResumeError(f"Cannot resume: {out} holds a character model's checkpoint, not a "
                          f"sequence classifier's.")
    now = {**cfg.recipe(), "task": run["meta"]}
    if state.recipe != now:
        diff = {k: (state.recipe.get(k), val) for k, val in now.items() if state.recipe.get(k) != val}
        raise ResumeError(f"Cannot resume: the checkpoint was made with other settings "
                          f"(checkpoint, now): {diff}.")
    if state.model_config != model.config():
        raise ResumeError(f"Cannot resume: the checkpoint's model {state.model_config} differs "
                          f"from {model.config()}.")
    try:
        run["rng"].bit_generator.state = state.rng_state
        norms = float(data["grad_norm_sum"])
    except (KeyError, TypeError, ValueError) as e:
        raise ResumeError(f"Cannot resume: the checkpoint in {out} lacks a valid generator state "
                          f"or partial sums ({type(e).__name__}: {e}).") from None
    for k, p in model.params.items():
        p[...] = state.params[k]
    run["opt"].load_state_dict(state.optimizer)
    run.update(step=state.step, acc=dict(state.accum), norms=norms)
    run["history"].extend(_truncate_metrics(out / "metrics.jsonl", state.step))


def _loop(model, task, cfg, run, val, exclude, out, vocab, progress):
    history, rng, opt, acc = run["history"], run["rng"], run["opt"], run["acc"]
    step, norms = run["step"], run["norms"]
    start = time.perf_counter()

    def checkpoint():
        history.checkpoint = save_training_state(
            out, model=model, optimizer=opt, vocab=vocab, step=step,
            data_state={"task": "classify", "pooling": cfg.pooling, "dataset": run["meta"],
                        "grad_norm_sum": norms},
            carried=model.zero_state(cfg.batch), accum=acc,
            recipe={**cfg.recipe(), "task": run["meta"]}, fingerprint="",
            rng_state=rng.bit_generator.state)

    with _InterruptFlag() as interrupt:
        while step < cfg.steps:
            x, y, lengths = _draw(task, cfg.batch, rng, exclude)
            res = model.backward(x, y, pooling=cfg.pooling, lengths=lengths)
            norm = (clip_by_norm(res.grads, cfg.clip) if cfg.clip_mode == "norm"   # before clipping
                    else clip_by_value(res.grads, cfg.clip) if cfg.clip_mode == "value"
                    else global_norm(res.grads))
            if not (math.isfinite(res.loss) and math.isfinite(norm)):
                raise TrainingError(f"the training loss is {res.loss} and the gradient norm {norm} "
                                    f"at step {step + 1}: lower --lr (now {cfg.lr}) or --clip "
                                    f"(now {cfg.clip}).")
            opt.step(model.params, res.grads)
            step += 1
            acc["loss"] += res.loss
            acc["chars"] += int(np.sum(lengths))
            acc["steps"] += 1
            norms += norm
            if step % cfg.eval_every == 0 or step == cfg.steps:
                val_loss, accuracy = evaluate_classifier(model, *val, pooling=cfg.pooling)
                rec = {"step": step, "loss": acc["loss"] / acc["steps"],
                       "grad_norm": norms / acc["steps"], "val_loss": val_loss,
                       "val_accuracy": accuracy, "seconds": round(time.perf_counter() - start, 3)}
                acc, norms = {"loss": 0.0, "chars": 0, "steps": 0}, 0.0
                record_evaluation(history, rec, out, progress)
            if out is not None and (step % cfg.checkpoint_every == 0 or step == cfg.steps
                                    or interrupt.set):
                checkpoint()
            if interrupt.set:
                history.interrupted = True
                break
    history.step = step
    return history
