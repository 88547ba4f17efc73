"""The training loop: stateful truncated BPTT over B parallel streams of a text.

    data = CharData.from_text(text)
    model = SimpleRNN(data.vocab.size, 256, data.vocab.size, dtype="float32")
    history = train(model, data, TrainConfig(steps=2000, out="runs/x"))

Each step takes the next window of `seq_len` (k2) characters per stream, advancing `stride` (k1)
characters; the state carried in from the previous window is a constant (TBPTT(k1, k2)). The
loss of a window is J = (1/B) Σ_b Σ_t mask·L over its new steps (the last k1; all k2 at the
streams' start), its gradient is clipped, and the optimizer takes one step. Every `eval_every`
steps the validation loss is measured and one line is appended to DIR/metrics.jsonl; every
`checkpoint_every` steps (and at the end, and on Ctrl-C) a checkpoint is written atomically.
`resume=True` continues from DIR's last checkpoint and ends with bitwise the same parameters as
an uninterrupted run. While training, DIR is locked (bptt.io.run_lock): a second train() on the
same DIR, in this process or another, raises RunLockedError before it reads or removes anything.
"""
from __future__ import annotations

import json
import math
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .. import _validate as v
from .clipping import clip_by_norm, clip_by_value
from ..data import StreamBatcher
from .optim import make_optimizer
from .run_dir import ResumeError, start_afresh  # noqa: F401  (ResumeError: re-exported)
from ..io.run_lock import RunLock, RunLockedError  # noqa: F401  (RunLockedError: re-exported)
from ..io.saving import load_training_state, save_training_state

CLIP_MODES = ("norm", "value", "none")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")


class TrainingError(RuntimeError):
    """Training cannot go on: a non-finite loss or gradient.

    Examples:
        >>> from bptt import CharData, SimpleRNN, TrainConfig, TrainingError, train
        >>> data = CharData.from_text("hello world, hello there! " * 40, val_fraction=0.2)
        >>> model = SimpleRNN(data.vocab.size, 16, data.vocab.size, seed=0)
        >>> model.params["W"][0, 0] = np.inf                     # W (H, H), broken
        >>> with np.errstate(invalid="ignore"):
        ...     try:
        ...         train(model, data, TrainConfig(steps=3, seq_len=10, batch=4, progress=False))
        ...     except TrainingError as err:
        ...         print(err)
        Training stopped at step 1: the loss is nan and the gradient norm nan. ...
    """


@dataclass
class TrainConfig:
    """What `train` does: `steps` windows x (T, B) of T = seq_len characters (k2) advancing
    `stride` (k1) in B = batch streams, the optimizer, clipping, evaluation, checkpoints.

    Examples:
        >>> from bptt import TrainConfig
        >>> config = TrainConfig(steps=100, seq_len=20).validate()   # stride defaults to seq_len
        >>> config.stride, config.recipe()["seq_len"]
        (20, 20)
        >>> TrainConfig(seq_len=20, stride=30).validate()
        Traceback (most recent call last):
        ValueError: The 'stride' parameter of TrainConfig (k1) must be <= seq_len (k2) = 20. Got 30.
    """

    steps: int = 2000
    seq_len: int = 50             # k2: steps the gradient flows back through
    stride: Optional[int] = None  # k1: new steps per window (default seq_len)
    batch: int = 32
    optimizer: str = "adam"
    lr: float = 2e-3
    clip: float = 5.0
    clip_mode: str = "norm"
    eval_every: int = 200
    checkpoint_every: int = 500
    eval_chars: int = 100_000     # validation characters per evaluation (the head of the tail)
    seed: int = 0
    out: Optional[str] = None     # directory for checkpoints, metrics.jsonl, report.html
    resume: bool = False          # continue from out's last checkpoint (start fresh if there is none)
    overwrite: bool = False       # start afresh in an out that already holds a checkpoint
    progress: bool = True

    def validate(self) -> "TrainConfig":
        """Check every field (errors name the field, as `bptt._validate`), set stride = seq_len
        when it is None, and return the config."""
        o = "TrainConfig"
        for name in ("steps", "seq_len", "batch", "eval_every", "checkpoint_every", "eval_chars"):
            v.check_int(getattr(self, name), name, o)
        if self.stride is None:
            self.stride = self.seq_len
        v.check_int(self.stride, "stride", o)
        if self.stride > self.seq_len:
            raise ValueError(f"The 'stride' parameter of TrainConfig (k1) must be <= seq_len "
                             f"(k2) = {self.seq_len}. Got {self.stride}.")
        v.check_choice(self.optimizer, "optimizer", o, OPTIMIZERS)
        v.check_float(self.lr, "lr", o, low=0, low_open=True)
        v.check_choice(self.clip_mode, "clip_mode", o, CLIP_MODES)
        v.check_float(self.clip, "clip", o, low=0, low_open=True)
        v.check_int(self.seed, "seed", o, minimum=0)
        return self

    def recipe(self) -> dict:
        """What must match for a resumed run to continue the same computation."""
        keys = ("seq_len", "stride", "batch", "optimizer", "lr", "clip", "clip_mode", "seed")
        return {k: getattr(self, k) for k in keys}


class History(list):
    """The evaluation records (one dict per evaluation, as in metrics.jsonl)."""
    interrupted = False
    checkpoint = None       # path of the last checkpoint written, if any
    step = 0                # the step training stopped at


class _InterruptFlag:
    """Ctrl-C sets a flag; the loop stops at the next step boundary, with consistent state."""

    def __init__(self):
        self.set = False
        self._old = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.set:                       # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.set = True

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def evaluate(model, ids, batch: int, seq_len: int, max_chars: Optional[int] = 100_000) -> float:
    """Mean loss per character (nats) over the first max_chars ids (None: all of them), in B
    streams, state carried. batch=1 is one stream over the whole text, the number other tools
    report. The ids may be a memory map larger than memory (bptt.data.open_corpus): they are
    read window by window, never copied whole, and checked (0 <= id < V) as they are read.
    ids (N,) in, cut into windows (T, B) of T = seq_len.

    Examples:
        >>> from bptt import CharData, SimpleRNN, evaluate
        >>> data = CharData.from_text("abab" * 50)
        >>> model = SimpleRNN(2, 4, 2, seed=0)
        >>> x, y = data.val_ids[:-1, None], data.val_ids[1:, None]        # one stream, (T, 1)
        >>> J = evaluate(model, data.val_ids, batch=1, seq_len=100, max_chars=None)
        >>> bool(np.isclose(J, model.loss(x, y) / len(x)))                 # J per character
        True
    """
    o = "evaluate"
    batch, seq_len = v.check_int(batch, "batch", o), v.check_int(seq_len, "seq_len", o)
    if max_chars is not None:
        max_chars = v.check_int(max_chars, "max_chars", o, minimum=2)
    ids = v.as_array(ids, "ids", o)                          # a view: no copy of a memmap
    v.check_token_ids(ids[:0] if ids.ndim == 1 else ids, "ids", o, (None,), model.input_size)
    ids = ids[:max_chars]
    B = max(1, min(batch, (len(ids) - 1) // (seq_len + 1)))
    if len(ids) < B * 2:
        raise ValueError(f"The validation text is too short ({len(ids)} characters) to evaluate.")
    L = (len(ids) - 1) // B                               # inputs per stream
    L = max(1, L)
    xs = ids[: B * L].reshape(B, L)                       # (B, L) views of the ids
    ys = ids[1: B * L + 1].reshape(B, L)
    h, total = model.zero_state(B), 0.0
    for p in range(0, L, seq_len):
        x = v.check_token_ids(np.ascontiguousarray(xs[:, p:p + seq_len].T), "ids", o,
                              (None, B), model.input_size)          # (k, B) intp
        y = v.check_token_ids(np.ascontiguousarray(ys[:, p:p + seq_len].T), "ids", o,
                              (None, B), model.input_size)
        loss, h = model._forward_loss(x, y, h, np.ones(x.shape, dtype=model.dtype))
        total += loss * B                                  # loss is summed over t, meaned over B
    return total / (B * L)


def train(model, data, config: TrainConfig) -> History:
    """Train `model` on `data` (a CharData) as `config` says; returns the evaluation history.
    Each step is one window x, y (T, B) of every stream, T = config.seq_len, B = config.batch.

    Examples:
        >>> from bptt import CharData, SimpleRNN, TrainConfig, train
        >>> data = CharData.from_text("hello world, hello there! " * 40, val_fraction=0.2)
        >>> model = SimpleRNN(data.vocab.size, 16, data.vocab.size, seed=0)
        >>> from bptt import evaluate
        >>> before = evaluate(model, data.val_ids, batch=1, seq_len=20)
        >>> history = train(model, data, TrainConfig(steps=30, seq_len=10, batch=4, progress=False))
        >>> history[-1]["step"], history[-1]["val_loss"] < before
        (30, True)
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"The 'config' argument of train must be a TrainConfig. "
                        f"Got {type(config).__name__}.")
    cfg = config.validate()
    if not all(hasattr(data, k) for k in ("vocab", "train_ids", "val_ids")):
        raise TypeError(f"The 'data' argument of train must be a CharData (vocab, train_ids, "
                        f"val_ids). Got {type(data).__name__}.")
    if getattr(model, "output", None) != "softmax" or not hasattr(model, "_backward"):
        raise TypeError(f"The 'model' argument of train must be a recurrent model (SimpleRNN, LSTM, GRU) with "
                        f"output='softmax'. Got {model!r}.")
    if getattr(model, "bidirectional", False):
        raise ValueError(f"train cannot train a bidirectional model ({model!r}): it trains a "
                         f"character language model, which predicts x(t+1) at step t, and a "
                         f"bidirectional model's backward direction g(t) reads x(t+1), ..., the "
                         f"very characters it is asked to predict (it would learn to copy the "
                         f"future, and TBPTT windows cannot carry its state). Train a "
                         f"one-directional model, or use a bidirectional one on a tagging task with "
                         f"model.loss_and_grads and an optimizer (docs/bidirectional.md).")
    if model.input_size != data.vocab.size or model.output_size != data.vocab.size:
        raise ValueError(f"The model reads {model.input_size} and predicts {model.output_size} "
                         f"classes, but the data's vocabulary has {data.vocab.size} characters: "
                         f"build it with input_size = output_size = {data.vocab.size}.")
    out = Path(cfg.out) if cfg.out else None
    if out is None:
        return _train(model, data, cfg, None)
    out.mkdir(parents=True, exist_ok=True)
    with RunLock(out):                          # one writer per run, before anything is read or removed
        return _train(model, data, cfg, out)


def _train(model, data, cfg: TrainConfig, out: Optional[Path]) -> History:
    opt = make_optimizer(cfg.optimizer, cfg.lr)
    batcher = StreamBatcher(data.train_ids, cfg.batch, cfg.seq_len, stride=cfg.stride)
    h = model.zero_state(cfg.batch)
    step, acc, history = 0, {"loss": 0.0, "chars": 0, "steps": 0}, History()
    if out is not None:
        limit = 4 * sum(p.size for p in model.params.values()) + 10_000_000   # params + optimizer
        if cfg.resume and (state := load_training_state(out, model_kind=model.kind,
                                                        max_elements=limit)) is not None:
            step, h, acc = _restore(state, model, opt, data, cfg)
            batcher = _batcher_at(state.data_state, data, cfg)
            history.extend(_truncate_metrics(out / "metrics.jsonl", step))
        else:
            start_afresh(out, cfg.overwrite)

    def checkpoint():
        if out is None:
            return None
        history.checkpoint = save_training_state(
            out, model=model, optimizer=opt, vocab=data.vocab, step=step,
            data_state=batcher.state(), carried=h, accum=acc, recipe=cfg.recipe(),
            fingerprint=data.fingerprint())
        return history.checkpoint

    from tqdm import tqdm
    bar = tqdm(total=cfg.steps, initial=step, disable=not cfg.progress, unit="step",
               desc="training", mininterval=0.5)
    t_last, chars_since = time.perf_counter(), 0
    k1, k2 = cfg.stride, cfg.seq_len
    norm = float("nan")
    with _InterruptFlag() as interrupt:
        while step < cfg.steps:
            x, y, reset = batcher.next_batch()
            if reset:
                h = model.zero_state(cfg.batch)
            mask = np.ones(x.shape, dtype=model.dtype)
            if not reset:
                mask[: k2 - k1] = 0                         # already counted by the previous window
            n_new = int(mask[:, 0].sum())
            res = model._backward(x, y, h, mask, need_dx=False)
            per_char = res.loss / n_new
            norm = (clip_by_norm(res.grads, cfg.clip) if cfg.clip_mode == "norm"
                    else clip_by_value(res.grads, cfg.clip) if cfg.clip_mode == "value"
                    else _norm(res.grads))
            if not (math.isfinite(per_char) and math.isfinite(norm)):
                bar.close()
                raise TrainingError(
                    f"Training stopped at step {step + 1}: the loss is {per_char} and the gradient "
                    f"norm {norm}. Lower the learning rate (--lr) or clip harder (--clip). "
                    + (f"The last good checkpoint is kept in {out}." if out else ""))
            opt.step(model.params, res.grads)
            h = _copy_state(res.state(k1 - 1))              # the next window starts k1 steps on
            step += 1
            acc["loss"] += per_char * n_new * cfg.batch
            acc["chars"] += n_new * cfg.batch
            acc["steps"] += 1
            chars_since += n_new * cfg.batch
            bar.update(1)
            if step % cfg.eval_every == 0 or step == cfg.steps:
                now = time.perf_counter()
                rec = _record(model, data, cfg, step, acc, norm, chars_since / max(now - t_last, 1e-9))
                history.append(rec)
                acc = {"loss": 0.0, "chars": 0, "steps": 0}
                if out is not None:
                    _append_jsonl(out / "metrics.jsonl", rec)
                bar.set_postfix(loss=f"{rec['train_loss']:.3f}", bpc=f"{rec['val_bpc']:.3f}",
                                grad_norm=f"{norm:.2f}", chars_per_s=f"{rec['chars_per_s']:.0f}",
                                refresh=False)
                t_last, chars_since = time.perf_counter(), 0
            if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                checkpoint()
            if interrupt.set:
                history.interrupted = True
                checkpoint()
                break
    bar.close()
    history.step = step
    return history


def _copy_state(state):
    """A copy of a state: an array (SimpleRNN) or a pair (h, c) of arrays (LSTM)."""
    if isinstance(state, tuple):
        return tuple(np.array(a) for a in state)
    return np.array(state)


def _norm(grads):
    from .clipping import global_norm
    return global_norm(grads)


def _record(model, data, cfg, step, acc, norm, chars_per_s):
    val = evaluate(model, data.val_ids, cfg.batch, cfg.seq_len, cfg.eval_chars)
    train_loss = acc["loss"] / max(acc["chars"], 1)
    return {"step": step, "train_loss": train_loss, "train_bpc": train_loss / math.log(2),
            "val_loss": val, "val_bpc": val / math.log(2), "grad_norm": norm,
            "chars_per_s": chars_per_s}


def _append_jsonl(path: Path, rec: dict):
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(rec) + "\n")
        f.flush()


def record_evaluation(history, rec: dict, out, progress) -> None:
    """One evaluation record: appended to the history, to out/metrics.jsonl (when out is a
    directory) and passed to progress (when given). The task loops (classify, seq2seq) share it."""
    history.append(rec)
    if out is not None:
        _append_jsonl(Path(out) / "metrics.jsonl", rec)
    if progress is not None:
        progress(rec)


def _truncate_metrics(path: Path, step: int) -> list:
    """Keep the records up to the checkpoint's step (later ones came after it and are redone)."""
    from ..io.atomic import atomic_write_text
    if not path.exists():
        return []
    keep = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue                                        # a line cut by a crash
        if isinstance(rec, dict) and isinstance(rec.get("step"), int) and rec["step"] <= step:
            keep.append(rec)
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in keep))
    return keep


def _batcher_at(data_state, data, cfg):
    """The batcher at the checkpoint's position, with its range checks."""
    from ..io.checkpoint import CheckpointError
    try:
        return StreamBatcher(data.train_ids, cfg.batch, cfg.seq_len, stride=cfg.stride,
                             position=data_state["position"], epoch=data_state["epoch"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"The checkpoint's data position {data_state!r} is invalid: {e}") from None


def _restore(state, model, opt, data, cfg):
    if state.recipe != cfg.recipe():
        diff = {k: (state.recipe.get(k), val) for k, val in cfg.recipe().items()
                if state.recipe.get(k) != val}
        raise ResumeError(f"Cannot resume: the checkpoint was made with other settings "
                            f"(checkpoint, now): {diff}.")
    if state.fingerprint != data.fingerprint():
        raise ResumeError("Cannot resume: the training text differs from the checkpoint's.")
    if state.model_config != model.config():
        raise ResumeError(f"Cannot resume: the checkpoint's model {state.model_config} differs "
                            f"from {model.config()}.")
    for k, p in model.params.items():
        p[...] = state.params[k]
    opt.load_state_dict(state.optimizer)
    return state.step, state.carried, state.accum
