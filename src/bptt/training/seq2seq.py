"""Training a `bptt.Seq2Seq` on (source, target) string pairs, and translating with it.

    train, val = split_pairs(task_pairs("reverse", 5000, seed=0), seed=0)
    src_vocab = PairVocab.from_texts(s for s, _ in train + val)
    tgt_vocab = PairVocab.from_texts(t for _, t in train + val)
    model = Seq2Seq(src_vocab.size, tgt_vocab.size, 64, attention="additive")
    history = train_seq2seq(model, train, val, src_vocab, tgt_vocab, Seq2SeqConfig(steps=500))
    translate(model, src_vocab, tgt_vocab, ["abc"])            # -> ["cba"]

Each step draws `batch` training pairs uniformly with replacement (a numpy Generator seeded from
config.seed), lays them out with `batch_pairs`, runs `model.loss_and_grads` (teacher forcing,
exact BPTT), clips the gradient by its global norm and takes an optimizer step. Every
`eval_every` steps (and at the last) one record is appended to the history (and to
DIR/metrics.jsonl with `out`):

    {"step", "loss" (the mean training J since the last record), "val_loss" (J per pair under
     teacher forcing on the held-out pairs), "exact_match" (the fraction of held-out pairs whose
     greedy output is exactly the target), "seconds"}

on the first `eval_size` held-out pairs. Greedy outputs are at most max_decode_len tokens
(default: the longest target, training or held out, + 1, so an output cut there never equals a
target); an output holding PAD or BOS counts as wrong.

With `out`: checkpoints (`bptt.io.seq2seq_saving`) every `checkpoint_every` steps, at the end
and on Ctrl-C, under a `RunLock`; a DIR that holds a checkpoint is refused unless `resume=True`
(continue it: parameters, optimizer state, the batches' generator and the partial sums come
back, so a resumed run ends bitwise where an uninterrupted one does; the recipe, the data and
the model must match) or `overwrite=True` (start afresh).
"""
from __future__ import annotations

import hashlib
import json
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .. import _validate as v
from .. import decode
from ..cells.seq2seq import Seq2Seq, Seq2SeqStepper
from ..cells.seq2seq.greedy import greedy_batch
from ..data.errors import DataError
from ..data.pairs import N_SPECIALS, batch_pairs
from ..io.checkpoint import CheckpointError, checkpoint_exists
from ..io.run_lock import RunLock
from ..io.seq2seq_saving import check_vocabs, load_seq2seq_state, save_seq2seq
from .clipping import clip_by_norm
from .loop import (History, ResumeError, TrainingError, _InterruptFlag, _truncate_metrics,
                   record_evaluation)
from .run_dir import start_afresh
from .optim import OPTIMIZERS, make_optimizer

CHUNK = 256                     # pairs per evaluation batch


@dataclass
class Seq2SeqConfig:
    """What `train_seq2seq` does: `steps` batches of `batch` pairs (src (S, B), tgt (T, B) with
    B = batch), the optimizer, clipping, evaluation on `eval_size` held-out pairs, checkpoints.

    Examples:
        >>> from bptt.training.seq2seq import Seq2SeqConfig
        >>> Seq2SeqConfig(steps=300, batch=16).validate().recipe()["batch"]
        16
        >>> Seq2SeqConfig(resume=True, overwrite=True).validate()
        Traceback (most recent call last):
        ValueError: The 'resume' and 'overwrite' parameters of Seq2SeqConfig exclude each other ...
    """

    steps: int = 2000
    batch: int = 32
    optimizer: str = "adam"
    lr: float = 5e-3
    clip: float = 5.0             # the largest global gradient norm (clip_by_norm)
    eval_every: int = 100
    eval_size: int = 500          # held-out pairs evaluated (the first ones of val_pairs)
    checkpoint_every: int = 500
    seed: int = 0
    out: Optional[str] = None     # directory for checkpoints and metrics.jsonl
    resume: bool = False          # continue from out's last checkpoint (start fresh if there is none)
    overwrite: bool = False       # start afresh in an out that already holds a checkpoint
    max_decode_len: Optional[int] = None   # greedy evaluation's longest output (None: see above)

    def validate(self) -> "Seq2SeqConfig":
        """Check every field (errors name the field) and return the config."""
        o = "Seq2SeqConfig"
        for name in ("steps", "batch", "eval_every", "eval_size", "checkpoint_every"):
            v.check_int(getattr(self, name), name, o)
        v.check_int(self.seed, "seed", o, minimum=0)
        v.check_float(self.lr, "lr", o, low=0.0, low_open=True)
        v.check_float(self.clip, "clip", o, low=0.0, low_open=True)
        v.check_choice(self.optimizer, "optimizer", o, tuple(OPTIMIZERS))
        v.check_bool(self.resume, "resume", o)
        v.check_bool(self.overwrite, "overwrite", o)
        if self.resume and self.overwrite:
            raise ValueError(f"The 'resume' and 'overwrite' parameters of {o} exclude each other "
                             f"(continue a run, or start afresh). Got both True.")
        if self.max_decode_len is not None:
            v.check_int(self.max_decode_len, "max_decode_len", o)
        return self

    def recipe(self) -> dict:
        """What must match for a resumed run to continue the same computation."""
        keys = ("batch", "optimizer", "lr", "clip", "eval_size", "seed", "max_decode_len")
        return {k: getattr(self, k) for k in keys}


def _fingerprint(train_pairs, val_pairs) -> str:
    return hashlib.sha256(json.dumps([train_pairs, val_pairs]).encode()).hexdigest()


def _check_pairs(name, pairs, src_vocab, tgt_vocab) -> list:
    try:
        batch_pairs(pairs, src_vocab, tgt_vocab)          # every pair encodable, no empty source
    except (DataError, TypeError) as e:
        raise type(e)(f"The '{name}' argument of train_seq2seq cannot be used: {e}") from None
    return [(s, t) for s, t in pairs]


def evaluate_seq2seq(model, pairs, src_vocab, tgt_vocab, *, max_len: int) -> tuple:
    """(J per pair under teacher forcing, exact match of the greedy outputs of <= max_len tokens)
    over `pairs`, in batches of CHUNK (src (S, B), tgt (T, B) with B <= CHUNK).

    Examples:
        >>> from bptt import Seq2Seq
        >>> from bptt.data import PairVocab, batch_pairs
        >>> from bptt.training.seq2seq import evaluate_seq2seq
        >>> vocab, pairs = PairVocab("abc"), [("ab", "ba"), ("c", "c")]
        >>> model = Seq2Seq(vocab.size, vocab.size, 8, seed=0)
        >>> J, exact = evaluate_seq2seq(model, pairs, vocab, vocab, max_len=4)
        >>> b = batch_pairs(pairs, vocab, vocab)                 # J of one batch of both pairs
        >>> bool(np.isclose(J, model.loss(b.src, b.tgt, b.src_mask, b.tgt_mask))), exact
        (True, 0.0)
    """
    total, right = 0.0, 0
    for i in range(0, len(pairs), CHUNK):
        chunk = pairs[i:i + CHUNK]
        b = batch_pairs(chunk, src_vocab, tgt_vocab)
        total += model.loss(b.src, b.tgt, b.src_mask, b.tgt_mask) * len(chunk)   # J is / B
        sources = [b.src[:n, j] for j, n in enumerate(b.src_lengths)]            # ids, EOS
        for ids, (_, target) in zip(greedy_batch(model, sources, max_len=max_len), chunk):
            right += min(ids, default=N_SPECIALS) >= N_SPECIALS and tgt_vocab.decode(ids) == target
    return total / len(pairs), right / len(pairs)


def train_seq2seq(model, train_pairs, val_pairs, src_vocab, tgt_vocab, config: Seq2SeqConfig,
                  progress=None, *, data=None) -> History:
    """Train `model` on `train_pairs` as `config` says, evaluating on `val_pairs`; returns the
    evaluation records (a `bptt.training.loop.History`). `data` (JSON, e.g. {"task": "dates"})
    says in checkpoints what the pairs are; `progress(record)` is called after each evaluation.
    Each step is one batch_pairs batch: src (S, B), tgt (T, B), B = config.batch.

    Examples:
        >>> from bptt import Seq2Seq
        >>> from bptt.data import PairVocab, reverse_pairs, split_pairs
        >>> from bptt.training.seq2seq import Seq2SeqConfig, train_seq2seq
        >>> train, val = split_pairs(reverse_pairs(300, max_len=3, alphabet="abc", seed=0), seed=0)
        >>> vocab = PairVocab("abc")
        >>> model = Seq2Seq(vocab.size, vocab.size, 16, attention="dot", seed=0)
        >>> history = train_seq2seq(model, train, val, vocab, vocab,
        ...                         Seq2SeqConfig(steps=300, batch=16, eval_every=300))
        >>> history[-1]["step"], history[-1]["exact_match"]     # every held-out pair reversed
        (300, 1.0)
    """
    o = "train_seq2seq"
    if not isinstance(config, Seq2SeqConfig):
        raise TypeError(f"The 'config' argument of {o} must be a Seq2SeqConfig. "
                        f"Got {type(config).__name__}.")
    cfg = config.validate()
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"The 'model' argument of {o} must be a Seq2Seq. Got {type(model).__name__}.")
    check_vocabs(o, model, src_vocab, tgt_vocab)
    train = _check_pairs("train_pairs", train_pairs, src_vocab, tgt_vocab)
    val = _check_pairs("val_pairs", val_pairs, src_vocab, tgt_vocab)
    run = {"rng": np.random.default_rng([cfg.seed, 0]), "opt": make_optimizer(cfg.optimizer, cfg.lr),
           "step": 0, "acc": {"loss": 0.0, "steps": 0}, "history": History(),
           "recipe": {**cfg.recipe(), "data": _fingerprint(train, val)},
           "vocabs": (src_vocab, tgt_vocab), "data": data,
           "longest": (max(len(s) for s, _ in train), max(len(t) for _, t in train))}
    max_len = cfg.max_decode_len or max(len(t) for _, t in train + val) + 1
    held = val[:cfg.eval_size]
    if cfg.out is None:
        return _loop(model, train, held, cfg, run, None, max_len, progress)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    with RunLock(out):                          # one writer per run, before anything is read or removed
        _start(out, model, cfg, run)
        return _loop(model, train, held, cfg, run, out, max_len, progress)


def _start(out, model, cfg, run):
    """Resume from out's checkpoint (cfg.resume), or make room for a fresh run."""
    if cfg.resume:
        if checkpoint_exists(out):
            limit = 2 * sum(p.size for p in model.params.values()) + 1_000_000
            _restore(load_seq2seq_state(out, max_params=limit), out, model, run)
            return
    start_afresh(out, cfg.overwrite)


def _restore(ck, out, model, run):
    training = ck.meta.get("training")
    if ck.model.config() != model.config():
        raise ResumeError(f"Cannot resume: the checkpoint's model {ck.model.config()} differs "
                          f"from {model.config()}.")
    if (ck.src_vocab, ck.tgt_vocab) != run["vocabs"]:
        raise ResumeError(f"Cannot resume: the checkpoint's vocabularies ({ck.src_vocab}, "
                          f"{ck.tgt_vocab}) differ from the data's {run['vocabs']}.")
    if not isinstance(training, dict) or ck.optimizer is None:
        raise ResumeError(f"Cannot resume: the checkpoint in {out} holds a model without its "
                          f"training state (no optimizer or generator); use --overwrite.")
    if training.get("recipe") != run["recipe"]:
        was = training.get("recipe") if isinstance(training.get("recipe"), dict) else {}
        diff = {k: (was.get(k), val) for k, val in run["recipe"].items() if was.get(k) != val}
        raise ResumeError(f"Cannot resume: the checkpoint was made with other settings or data "
                          f"(checkpoint, now): {diff}.")
    try:
        run["rng"].bit_generator.state = training["rng"]
        acc = training["accum"]
        acc = {"loss": float(acc["loss"]), "steps": v.check_int(acc["steps"], "steps", "accum", minimum=0)}
        run["opt"].load_state_dict(ck.optimizer)
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{out}: the checkpoint's training state is invalid "
                              f"({type(e).__name__}: {e}).") from None
    for k, p in model.params.items():
        p[...] = ck.model.params[k]
    run.update(step=ck.meta["step"], acc=acc)
    run["history"].extend(_truncate_metrics(out / "metrics.jsonl", ck.meta["step"]))


def _loop(model, train, held, cfg, run, out, max_len, progress):
    history, rng, opt, acc = run["history"], run["rng"], run["opt"], run["acc"]
    step, (src_vocab, tgt_vocab) = run["step"], run["vocabs"]
    start = time.perf_counter()

    def checkpoint():
        history.checkpoint = save_seq2seq(
            out, model, src_vocab, tgt_vocab, step=step, data=run["data"],
            longest_source=run["longest"][0], longest_target=run["longest"][1], optimizer=opt,
            training={"recipe": run["recipe"], "rng": rng.bit_generator.state, "accum": acc})

    with _InterruptFlag() as interrupt:
        while step < cfg.steps:
            pick = rng.integers(0, len(train), size=cfg.batch)                 # (B,) with replacement
            b = batch_pairs([train[i] for i in pick], src_vocab, tgt_vocab)
            loss, grads = model.loss_and_grads(b.src, b.tgt, b.src_mask, b.tgt_mask)
            norm = clip_by_norm(grads, cfg.clip)                               # before clipping
            if not (math.isfinite(loss) and math.isfinite(norm)):
                raise TrainingError(f"the training loss is {loss} and the gradient norm {norm} "
                                    f"at step {step + 1}: lower --lr (now {cfg.lr}) or --clip "
                                    f"(now {cfg.clip}).")
            opt.step(model.params, grads)
            step += 1
            acc["loss"] += float(loss)
            acc["steps"] += 1
            if step % cfg.eval_every == 0 or step == cfg.steps:
                val_loss, exact = evaluate_seq2seq(model, held, src_vocab, tgt_vocab, max_len=max_len)
                rec = {"step": step, "loss": acc["loss"] / acc["steps"], "val_loss": val_loss,
                       "exact_match": exact, "seconds": round(time.perf_counter() - start, 3)}
                acc = {"loss": 0.0, "steps": 0}
                record_evaluation(history, rec, out, progress)
            if out is not None and (step % cfg.checkpoint_every == 0 or step == cfg.steps
                                    or interrupt.set):
                checkpoint()
            if interrupt.set:
                history.interrupted = True
                break
    history.step = step
    return history


# ---------------------------------------------------------------------------- translating
def _check_texts(texts, src_vocab, longest_source) -> list:
    o = "translate"
    if isinstance(texts, str) or not isinstance(texts, (list, tuple)):
        raise TypeError(f"The 'texts' argument of {o} must be a list of strings (for one text: "
                        f"[text]). Got {type(texts).__name__}.")
    known = set(src_vocab.chars)
    ids = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"The 'texts' argument of {o} must hold strings. Got {text!r} of type "
                            f"{type(text).__name__} at index {i}.")
        if not text:
            raise ValueError(f"The 'texts' argument of {o} holds an empty text at index {i}: "
                             f"nothing to translate.")
        unknown = sorted(set(text) - known)
        if unknown:
            raise DataError(f"The 'texts' argument of {o}: text {i} ({text!r}) contains "
                            f"{len(unknown)} character(s) not in the source vocabulary "
                            f"({len(known)} characters): {', '.join(map(repr, unknown))}.")
        if longest_source is not None and len(text) > longest_source:
            warnings.warn(f"text {i} has {len(text)} characters, more than the longest "
                          f"training source ({longest_source}); it is translated all the same, "
                          f"but the model never saw a source this long.", stacklevel=3)
        ids.append(src_vocab.encode(text, eos=True))                       # characters, EOS
    return ids


def translate(model, src_vocab, tgt_vocab, texts, *, beam=None, max_len=None,
              longest_source=None) -> list:
    """The model's output text for each of `texts`: greedy (beam=None, all texts in batches) or
    the best hypothesis of a beam search of width `beam` (`bptt.decode.beam_search`, no length
    penalty), of at most max_len tokens (default: 2 · len(text) + 10 for each text).

    An unknown character is a DataError naming it, an empty text a ValueError. A text longer
    than `longest_source` (the longest training source, as in a checkpoint's meta) gives a
    warning and is translated all the same (the model has never been trained that far). Each
    text of S − 1 characters is encoded as src (S,) with its EOS; outputs are decoded ids.

    Examples:
        >>> from bptt import Seq2Seq
        >>> from bptt.data import PairVocab
        >>> from bptt.training.seq2seq import translate
        >>> vocab = PairVocab("abc")
        >>> model = Seq2Seq(vocab.size, vocab.size, 8, attention="dot", seed=0)   # untrained
        >>> outputs = translate(model, vocab, vocab, ["abc", "ba"], max_len=4)
        >>> len(outputs), all(len(out) <= 4 for out in outputs)
        (2, True)
        >>> translate(model, vocab, vocab, ["abc"], beam=1) == translate(model, vocab, vocab, ["abc"])
        True
    """
    o = "translate"
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"The 'model' argument of {o} must be a Seq2Seq. Got {type(model).__name__}.")
    check_vocabs(o, model, src_vocab, tgt_vocab)
    if beam is not None:
        beam = v.check_int(beam, "beam", o)
    if max_len is not None:
        max_len = v.check_int(max_len, "max_len", o)
    if longest_source is not None:
        longest_source = v.check_int(longest_source, "longest_source", o)
    sources = _check_texts(texts, src_vocab, longest_source)
    limits = [max_len or 2 * (len(s) - 1) + 10 for s in sources]
    outputs = []
    if beam is None:
        for i in range(0, len(sources), CHUNK):       # greedy is prefix-consistent: cut each row
            chunk = greedy_batch(model, sources[i:i + CHUNK], max_len=max(limits[i:i + CHUNK]))
            outputs += [ids[:n] for ids, n in zip(chunk, limits[i:i + CHUNK])]
    else:
        for ids, n in zip(sources, limits):
            best = decode.beam_search(Seq2SeqStepper(model, ids), width=beam, max_len=n,
                                      eos=model.eos_id)[0]
            outputs.append([t for t in best.tokens if t != model.eos_id])
    return [tgt_vocab.decode(ids) for ids in outputs]
