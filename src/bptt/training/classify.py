"""Training a sequence classifier: one target per sequence (many-to-one, `bptt.cells.pooling`).

    task = lambda n, rng: parity(n, rng, max_len=10)                # -> (x, y, lengths)
    history = train_classifier(model, task, ClassifyConfig(steps=600, lr=1e-2))
    history[-1]["val_accuracy"]

Each step draws a fresh batch from `task`, runs the model's forward + full BPTT on the pooled
loss (`model.backward(x, y, pooling=..., lengths=...)`), clips the gradient norm and takes an
optimizer step. A held-out set of `eval_size` sequences is drawn once, from its own seed, before
training; `task` receives its sequences' keys in `exclude` when it takes that argument, so no
held-out sequence is ever trained on. Every `eval_every` steps one record is appended to the
history (and to DIR/metrics.jsonl with `out`):

    {"step", "loss" (mean training loss since the last record), "grad_norm", "val_loss",
     "val_accuracy", "seconds"}

With `out`, checkpoints are written every `checkpoint_every` steps and at the end through
`bptt.io.saving.save_training_state` (`vocab` names the input symbols, so `load_model` reads the
model back), under a `RunLock`; an existing DIR/metrics.jsonl is replaced. Resuming is not
supported: a new run starts from the seed's initial weights.
"""
from __future__ import annotations

import inspect
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .. import _validate as v
from ..cells.pooling import POOLINGS, pooled_logits
from ..io.run_lock import RunLock
from ..io.saving import save_training_state
from .clipping import clip_by_norm
from .loop import TrainingError
from .optim import OPTIMIZERS, make_optimizer


@dataclass
class ClassifyConfig:
    steps: int = 1000
    batch: int = 32
    optimizer: str = "adam"
    lr: float = 1e-2
    clip: float = 5.0
    pooling: str = "last"
    eval_every: int = 100
    eval_size: int = 512
    checkpoint_every: int = 500
    seed: int = 0
    out: Optional[str] = None     # directory for checkpoints and metrics.jsonl

    def validate(self) -> "ClassifyConfig":
        o = "ClassifyConfig"
        for name in ("steps", "batch", "eval_every", "eval_size", "checkpoint_every"):
            v.check_int(getattr(self, name), name, o)
        v.check_int(self.seed, "seed", o, minimum=0)
        v.check_float(self.lr, "lr", o, low=0.0)
        v.check_float(self.clip, "clip", o, low=0.0)
        v.check_choice(self.optimizer, "optimizer", o, tuple(OPTIMIZERS))
        v.check_choice(self.pooling, "pooling", o, POOLINGS)
        return self


def evaluate_classifier(model, x, y, lengths, pooling="last") -> tuple:
    """(J, accuracy) of a softmax classifier on (x, y (B,), lengths): the pooled loss and the
    fraction of sequences whose largest pooled logit is their class."""
    loss = model.loss(x, y, pooling=pooling, lengths=lengths)
    logits = pooled_logits(model, x, lengths=lengths, pooling=pooling)
    return loss, float((logits.argmax(axis=1) == y).mean())


def _draw(task, n, rng, exclude):
    if exclude is not None and "exclude" in inspect.signature(task).parameters:
        return task(n, rng, exclude=exclude)
    return task(n, rng)


def train_classifier(model, task, config: ClassifyConfig, *, vocab=None, keys=None,
                     progress=None) -> list:
    """Train `model` (output="softmax") on batches from task(n, rng) -> (x, y (B,), lengths);
    returns the evaluation records. keys(x, lengths) numbers sequences (e.g.
    `bptt.data.synthetic.string_keys`) for keeping the held-out set out of training."""
    cfg = config.validate()
    if model.output != "softmax":
        raise ValueError(f"train_classifier needs a model with output='softmax' (class targets). "
                         f"Got output={model.output!r}.")
    if cfg.out is not None and vocab is None:
        raise ValueError("train_classifier with config.out writes checkpoints, which name the "
                         "input symbols: pass vocab. Got vocab=None.")
    val = task(cfg.eval_size, np.random.default_rng([cfg.seed, 1]))
    exclude = None if keys is None else keys(val[0], val[2])
    rng = np.random.default_rng([cfg.seed, 0])
    opt = make_optimizer(cfg.optimizer, cfg.lr)
    out = None if cfg.out is None else Path(cfg.out)
    if out is None:
        return _loop(model, task, cfg, opt, rng, val, exclude, None, vocab, progress)
    out.mkdir(parents=True, exist_ok=True)
    with RunLock(out):
        (out / "metrics.jsonl").unlink(missing_ok=True)
        return _loop(model, task, cfg, opt, rng, val, exclude, out, vocab, progress)


def _loop(model, task, cfg, opt, rng, val, exclude, out, vocab, progress):
    history, losses, norms = [], [], []
    start = time.perf_counter()
    for step in range(1, cfg.steps + 1):
        x, y, lengths = _draw(task, cfg.batch, rng, exclude)
        res = model.backward(x, y, pooling=cfg.pooling, lengths=lengths)
        if not math.isfinite(res.loss):
            raise TrainingError(f"the training loss is {res.loss} at step {step}: lower --lr "
                                f"(now {cfg.lr}) or --clip (now {cfg.clip}).")
        norms.append(clip_by_norm(res.grads, cfg.clip))        # the norm before clipping
        opt.step(model.params, res.grads)
        losses.append(res.loss)
        if step % cfg.eval_every == 0 or step == cfg.steps:
            val_loss, acc = evaluate_classifier(model, *val, pooling=cfg.pooling)
            rec = {"step": step, "loss": float(np.mean(losses)), "grad_norm": float(np.mean(norms)),
                   "val_loss": val_loss, "val_accuracy": acc,
                   "seconds": round(time.perf_counter() - start, 3)}
            losses, norms = [], []
            history.append(rec)
            if out is not None:
                with open(out / "metrics.jsonl", "a", encoding="utf-8") as f:
                    f.write(json.dumps(rec) + "\n")
            if progress is not None:
                progress(rec)
        if out is not None and (step % cfg.checkpoint_every == 0 or step == cfg.steps):
            save_training_state(out, model=model, optimizer=opt, vocab=vocab, step=step,
                                data_state={"task": "classify", "pooling": cfg.pooling},
                                carried=model.zero_state(1), accum={}, recipe=asdict(cfg),
                                fingerprint="")
    return history
