"""A `bptt.Seq2Seq` in a checkpoint, with its two `PairVocab`s (see `bptt.io.checkpoint` for the
safe file format: no pickle, atomic generations, SHA-256).

Arrays: ``params/<name>`` (every key of `model.params`: "enc.U_r", "dec.V", "attn.v", ...) and,
for resuming, ``optim/<slot>/<name>`` (the optimizer's moments, keyed like params).
Meta (JSON):

    kind            "seq2seq" (what tells this checkpoint from a character model's)
    model           model.config(): Seq2Seq(**meta["model"]) rebuilds the architecture
    src_vocab       PairVocab.to_json() of the sources; its size is the model's src_vocab_size
    tgt_vocab       the same for the targets (tgt_vocab_size)
    step            training steps taken
    data            what the model was trained on: {"task": name, ...} or {"pairs": file, ...}
    longest_source  the longest training source in characters (None: not known); `translate`
                    warns past it
    longest_target  the longest training target (None: not known)
    optimizer       {"type", "hyper", "step"} of the optimizer (None: no optimizer state)
    training        the trainer's own JSON (recipe, generator state, partial sums), or None

`load_seq2seq(directory)` -> (model, src_vocab, tgt_vocab, meta) verifies, before it builds
anything, that the checkpoint is a Seq2Seq's, that the config's sizes stay under `max_params`,
and then every parameter's presence, shape and finiteness and the vocabularies' sizes against
the config; anything else is a `CheckpointError` naming the directory and the problem.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np

from .. import _validate as v
from ..cells.seq2seq import Seq2Seq
from ..data.pairs import BOS, EOS, PairVocab
from .checkpoint import (CheckpointError, list_generations, load_checkpoint, require_checkpoint_dir,
                         save_checkpoint)
from .checkpoint_format import _file_names

KIND = "seq2seq"
_GATES = 4                      # the most weight blocks of a cell (the LSTM's z, i, f, o)


class Seq2SeqCheckpoint(NamedTuple):
    model: Seq2Seq
    src_vocab: PairVocab
    tgt_vocab: PairVocab
    meta: dict
    optimizer: Optional[dict]   # an Optimizer.state_dict() for load_state_dict, or None


def _count(value, name, owner, minimum):
    return None if value is None else v.check_int(value, name, owner, minimum=minimum)


def check_vocabs(o, model, src_vocab, tgt_vocab) -> None:
    """Both vocabularies are PairVocabs of the model's sizes; `o` names the caller."""
    for name, vocab, size in (("src_vocab", src_vocab, model.src_vocab_size),
                              ("tgt_vocab", tgt_vocab, model.tgt_vocab_size)):
        if not isinstance(vocab, PairVocab):
            raise TypeError(f"The '{name}' argument of {o} must be a PairVocab. "
                            f"Got {type(vocab).__name__}.")
        if vocab.size != size:
            raise ValueError(f"The '{name}' argument of {o} has {vocab.size} ids, but the model's "
                             f"{name}_size is {size}.")


def save_seq2seq(directory, model, src_vocab, tgt_vocab, *, step: int = 0, data=None,
                 longest_source: Optional[int] = None, longest_target: Optional[int] = None,
                 optimizer=None, training=None) -> Path:
    """Write `model`, its vocabularies and the meta above as a new checkpoint generation in
    `directory`; `optimizer` (an Optimizer) adds its state for resuming. Returns the record's
    path."""
    o = "save_seq2seq"
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"The 'model' argument of {o} must be a Seq2Seq. Got {type(model).__name__}.")
    check_vocabs(o, model, src_vocab, tgt_vocab)
    step = v.check_int(step, "step", o, minimum=0)
    meta = {"kind": KIND, "model": model.config(), "src_vocab": src_vocab.to_json(),
            "tgt_vocab": tgt_vocab.to_json(), "step": step, "data": data,
            "longest_source": _count(longest_source, "longest_source", o, 1),
            "longest_target": _count(longest_target, "longest_target", o, 0),
            "optimizer": None, "training": training}
    arrays = {f"params/{k}": p for k, p in model.params.items()}
    if optimizer is not None:
        sd = optimizer.state_dict()
        for slot, per_key in sd["state"].items():
            arrays.update({f"optim/{slot}/{k}": a for k, a in per_key.items()})
        meta["optimizer"] = {"type": sd["type"], "hyper": sd["hyper"], "step": sd["step"]}
    return save_checkpoint(directory, arrays, meta)


# ---------------------------------------------------------------------------- what a run holds
def describe(meta) -> str:
    """What a checkpoint's meta holds, in words: for messages about the wrong kind of run."""
    if not isinstance(meta, dict):
        return "a checkpoint without a readable description"
    kind = meta.get("kind")
    if kind == KIND:
        data = meta.get("data") if isinstance(meta.get("data"), dict) else {}
        on = (f" trained on the task {data['task']!r}" if "task" in data else
              f" trained on {data['pairs']!r}" if "pairs" in data else "")
        return f"a sequence-to-sequence model (Seq2Seq){on}"
    data = meta.get("data")
    if isinstance(data, dict) and data.get("task") == "classify":
        return f"a sequence classifier ({kind!r})"
    return f"a character-level language model ({kind!r})"


def newest_meta(directory) -> Optional[dict]:
    """The meta of the newest checkpoint record in `directory`, read without verifying anything
    (for saying what a run holds), or None when there is none or it cannot be read."""
    gens = list_generations(directory) if Path(directory).is_dir() else []
    if not gens:
        return None
    try:
        with open(Path(directory) / _file_names("checkpoint", gens[-1])[1], "rb") as f:
            meta = json.load(f).get("meta")
    except (OSError, ValueError, AttributeError, RecursionError):
        return None
    return meta if isinstance(meta, dict) else None


def holds_seq2seq(directory) -> bool:
    """Whether the newest checkpoint record in `directory` says it holds a Seq2Seq."""
    meta = newest_meta(directory)
    return meta is not None and meta.get("kind") == KIND


# ---------------------------------------------------------------------------- loading
def _size_bound(config) -> Optional[int]:
    """An upper bound on the number of parameters of Seq2Seq(**config), computed before anything
    is allocated (None when a size is not an int: the constructor then refuses it)."""
    keys = ("src_vocab_size", "tgt_vocab_size", "hidden_size", "num_layers")
    sizes = [config.get(k) for k in keys]
    A = config.get("attention_size") or 0
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in sizes) \
            or not isinstance(A, int):
        return None
    Vs, Vt, H, L = sizes
    dirs = 2 if config.get("bidirectional_encoder") is True else 1
    K = H * dirs
    enc = L * dirs * _GATES * (H * (Vs + dirs * H) + H * H + 2 * H)
    dec = L * _GATES * (K * (Vt + 2 * K) + 2 * K) + Vt * (K + 1)
    return enc + dec + K * K + A * (2 * K + 1)


def _model(meta, path, max_params) -> Seq2Seq:
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: the checkpoint's meta is not a JSON object.")
    if meta.get("kind") != KIND:
        raise CheckpointError(f"{path} holds {describe(meta)}, not a sequence-to-sequence model "
                              f"(bptt sample, eval and explain read it; bptt translate needs a "
                              f"run of `bptt train --model seq2seq`).")
    config = meta.get("model")
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: the checkpoint's model config must be a JSON object. "
                              f"Got {config!r:.100}.")
    bound = _size_bound(config)
    if bound is not None and bound > max_params:
        raise CheckpointError(f"{path}: the checkpoint describes a Seq2Seq of up to {bound:,} "
                              f"parameters, more than max_params={max_params:,}.")
    if config.get("bos_id") != BOS or config.get("eos_id") != EOS:
        raise CheckpointError(f"{path}: the checkpoint's model has bos_id={config.get('bos_id')!r}, "
                              f"eos_id={config.get('eos_id')!r}, but its PairVocabs use BOS={BOS}, "
                              f"EOS={EOS}.")
    try:
        return Seq2Seq(**config)
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: the checkpoint describes a Seq2Seq that cannot be built: "
                              f"{e}") from None


def _vocab(meta, key, size, path) -> PairVocab:
    try:
        vocab = PairVocab.from_json(meta.get(key))
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: the checkpoint's {key} is invalid: {e}") from None
    if vocab.size != size:
        raise CheckpointError(f"{path}: the checkpoint's {key} has {vocab.size} ids (3 specials "
                              f"and {len(vocab.chars)} characters), but its model's {key}_size "
                              f"is {size}.")
    return vocab


def _params(arrays, model, path) -> None:
    names = {f"params/{k}" for k in model.params}
    extra = sorted(k for k in arrays if k.startswith("params/") and k not in names)
    if extra:
        raise CheckpointError(f"{path}: {extra[0]} is not a parameter of {model!r}.")
    for k, p in model.params.items():
        a = arrays.get(f"params/{k}")
        if a is None or a.shape != p.shape:
            got = "missing" if a is None else f"shape {a.shape}"
            raise CheckpointError(f"{path}: params/{k} should have shape {p.shape} for "
                                  f"{model!r}; it is {got}.")
        if a.dtype.kind != "f" or not np.isfinite(a).all():
            raise CheckpointError(f"{path}: params/{k} should hold finite floats; it holds "
                                  f"{a.dtype} with non-finite or non-float values.")
        p[...] = a


def _optimizer(arrays, meta, model, path) -> Optional[dict]:
    opt = meta.get("optimizer")
    if opt is None:
        return None
    if not (isinstance(opt, dict) and set(opt) == {"type", "hyper", "step"}):
        raise CheckpointError(f"{path}: the checkpoint's optimizer must be null or "
                              f"{{'type', 'hyper', 'step'}}. Got {opt!r:.200}.")
    state = {}
    for name, a in arrays.items():
        if name.startswith("optim/"):
            parts = name.split("/")
            if len(parts) != 3 or parts[2] not in model.params:
                raise CheckpointError(f"{path}: {name} is not an optimizer slot of a parameter "
                                      f"of {model!r}.")
            if a.shape != model.params[parts[2]].shape:
                raise CheckpointError(f"{path}: {name} should have shape "
                                      f"{model.params[parts[2]].shape}; it has shape {a.shape}.")
            state.setdefault(parts[1], {})[parts[2]] = a
    return {"type": opt["type"], "hyper": opt["hyper"], "step": opt["step"], "state": state}


def _check_meta(meta, path) -> None:
    step = meta.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise CheckpointError(f"{path}: the checkpoint's step must be an int >= 0. Got {step!r}.")
    for key, low in (("longest_source", 1), ("longest_target", 0)):
        n = meta.get(key)
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < low):
            raise CheckpointError(f"{path}: the checkpoint's {key} must be null or an int >= "
                                  f"{low}. Got {n!r}.")


def load_seq2seq_state(directory, *, max_params: int = 50_000_000) -> Seq2SeqCheckpoint:
    """Everything in the newest checkpoint of `directory`: the model, both vocabularies, the
    meta and the optimizer's state (for `Optimizer.load_state_dict`; None when not saved)."""
    directory = Path(directory)
    max_params = v.check_int(max_params, "max_params", "load_seq2seq")
    require_checkpoint_dir(directory, "the output directory of `bptt train --model seq2seq`",
                           "bptt train --model seq2seq")
    arrays, meta = load_checkpoint(directory, max_elements=4 * max_params + 10_000_000)  # + Adam
    model = _model(meta, directory, max_params)
    src_vocab = _vocab(meta, "src_vocab", model.src_vocab_size, directory)
    tgt_vocab = _vocab(meta, "tgt_vocab", model.tgt_vocab_size, directory)
    _check_meta(meta, directory)
    _params(arrays, model, directory)
    return Seq2SeqCheckpoint(model, src_vocab, tgt_vocab, meta,
                             _optimizer(arrays, meta, model, directory))


def load_seq2seq(directory, *, max_params: int = 50_000_000):
    """(model, src_vocab, tgt_vocab, meta) from the newest verifying checkpoint in `directory`."""
    model, src_vocab, tgt_vocab, meta, _ = load_seq2seq_state(directory, max_params=max_params)
    return model, src_vocab, tgt_vocab, meta
