"""Models and training state in checkpoints (see `bptt.io.checkpoint` for the safe file format).

Arrays: ``params/<name>`` (U, W, …), ``optim/<slot>/<name>`` (the optimizer's moments),
``carried/<i>`` (the state carried between windows: h, or h and c for an LSTM).
Meta (JSON): the model kind and config (sizes, activation, output, dtype), the vocabulary, the
step, the data position, the optimizer's type, hyperparameters and step count, the training
recipe (with the seed) and a fingerprint of the training text. "rng" holds a generator's state
when the caller passes one; bptt.training.loop passes none, since a training step draws no random numbers
(the data order is fixed by the streams and the seed only sets the initial weights).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .checkpoint import (CheckpointError, checkpoint_exists, load_checkpoint, require_checkpoint_dir,
                         save_checkpoint)
from ..data import Vocab
from ..cells.registry import build_model

MAX_VOCAB = 1_000_000


@dataclass
class TrainingState:
    step: int
    params: dict
    optimizer: dict          # as Optimizer.state_dict()
    carried: object          # (B, H) array or a tuple of them
    data_state: dict
    accum: dict
    recipe: dict
    fingerprint: str
    model_config: dict
    rng_state: dict
    vocab: Vocab


def _carried_arrays(carried) -> dict:
    parts = carried if isinstance(carried, tuple) else (carried,)
    return {f"carried/{i}": np.asarray(a) for i, a in enumerate(parts)}


def save_training_state(directory, *, model, optimizer, vocab, step, data_state, carried, accum,
                        recipe, fingerprint, rng_state=None) -> Path:
    sd = optimizer.state_dict()
    arrays = {f"params/{k}": p for k, p in model.params.items()}
    for slot, per_key in sd["state"].items():
        arrays.update({f"optim/{slot}/{k}": a for k, a in per_key.items()})
    arrays.update(_carried_arrays(carried))
    meta = {"kind": model.kind, "model": model.config(), "vocab": vocab.to_list(), "step": step,
            "data": data_state, "optimizer": {"type": sd["type"], "hyper": sd["hyper"],
                                              "step": sd["step"]},
            "carried_tuple": isinstance(carried, tuple), "accum": accum, "recipe": recipe,
            "fingerprint": fingerprint, "rng": rng_state}
    return save_checkpoint(directory, arrays, meta)


def _model_from(arrays, meta, path, max_params):
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: the checkpoint's meta is not a JSON object.")
    try:
        model = build_model(meta.get("kind"), meta.get("model"), max_params=max_params)
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: the checkpoint describes a model that cannot be built: {e}") from None
    for k, p in model.params.items():
        a = arrays.get(f"params/{k}")
        if a is None or a.shape != p.shape:
            got = "missing" if a is None else f"shape {a.shape}"
            raise CheckpointError(f"{path}: params/{k} should have shape {p.shape} for "
                                  f"{model!r}; it is {got}.")
        p[...] = a
    chars = meta.get("vocab")
    if (not isinstance(chars, list) or not chars or len(chars) > MAX_VOCAB
            or len(chars) != model.input_size):
        raise CheckpointError(f"{path}: the checkpoint's vocabulary must be a list of "
                              f"{model.input_size} characters.")
    try:
        vocab = Vocab.from_list(chars)
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: the checkpoint's vocabulary is invalid: {e}") from None
    return model, vocab


def load_model(directory, *, max_params: int = 50_000_000):
    """(model, vocab, meta) from the newest verifying checkpoint in `directory`."""
    directory = Path(directory)
    require_checkpoint_dir(directory, "a training output directory with checkpoint files",
                           "bptt train")
    arrays, meta = load_checkpoint(directory, max_elements=4 * max_params + 10_000_000)  # + Adam
    model, vocab = _model_from(arrays, meta, directory, max_params)
    return model, vocab, meta


def load_training_state(directory, *, model_kind: str, max_elements: int = 50_000_000):
    """The TrainingState of the newest checkpoint in `directory`, or None when there is none.
    Everything the training loop reads back is checked here (the carried state's layout, shapes
    and finiteness included), so that a damaged or hostile checkpoint is a CheckpointError."""
    directory = Path(directory)
    if not checkpoint_exists(directory):
        return None
    arrays, meta = load_checkpoint(directory, max_elements=max_elements)
    model, vocab = _model_from(arrays, meta, directory, max_params=max_elements)
    if meta["kind"] != model_kind:
        raise CheckpointError(f"{directory}: the checkpoint holds a {meta['kind']!r} model, "
                              f"not {model_kind!r}.")
    try:
        opt = meta["optimizer"]
        state = {}
        for name, a in arrays.items():
            if name.startswith("optim/"):
                _, slot, key = name.split("/", 2)
                state.setdefault(slot, {})[key] = a
        step, accum, recipe = meta["step"], meta["accum"], meta["recipe"]
        batch = recipe["batch"]
        training = TrainingState(
            step=step, params=model.params,
            optimizer={"type": opt["type"], "hyper": opt["hyper"], "step": opt["step"],
                       "state": state},
            carried=None, data_state=meta["data"], accum=accum,
            recipe=recipe, fingerprint=meta["fingerprint"], model_config=model.config(),
            rng_state=meta.get("rng"), vocab=vocab)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise CheckpointError(f"{directory}: the checkpoint is not a training checkpoint "
                              f"({type(e).__name__}: {e}).") from None
    _check_counts(step, accum, batch, directory)
    training.carried = _carried_state(arrays, meta, model, batch, directory)
    return training


def _is_count(n) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 0


def _check_counts(step, accum, batch, path):
    """meta's step, the training loss accumulated since the last evaluation, and the batch size."""
    if not _is_count(step):
        raise CheckpointError(f"{path}: the checkpoint's step must be an int >= 0. Got {step!r}.")
    if not (_is_count(batch) and batch >= 1):
        raise CheckpointError(f"{path}: the checkpoint's recipe must have a batch size that is an "
                              f"int >= 1. Got {batch!r}.")
    loss = accum.get("loss") if isinstance(accum, dict) else None
    if (not isinstance(accum, dict) or set(accum) != {"loss", "chars", "steps"}
            or isinstance(loss, bool) or not isinstance(loss, (int, float)) or not np.isfinite(loss)
            or not _is_count(accum["chars"]) or not _is_count(accum["steps"])):
        raise CheckpointError(f"{path}: the checkpoint's accum must be {{'loss': a finite number, "
                              f"'chars': an int >= 0, 'steps': an int >= 0}}. Got {accum!r}.")


def _carried_state(arrays, meta, model, batch, path):
    """The state carried between windows, checked against the model: the layout of
    model.zero_state(batch) (one array, or a tuple such as the LSTM's (h, c)), each part of its
    shape, floats, finite; cast to the model's dtype."""
    one = model.zero_state(1)                          # the layout, without allocating B rows
    parts = one if isinstance(one, tuple) else (one,)
    names = [f"carried/{i}" for i in range(len(parts))]
    found = sorted(k for k in arrays if k.startswith("carried/"))
    if found != names or meta.get("carried_tuple") is not isinstance(one, tuple):
        layout = f"a tuple of {len(parts)} arrays" if isinstance(one, tuple) else "one array"
        raise CheckpointError(f"{path}: the carried state of {model!r} is {layout} ({', '.join(names)}, "
                              f"carried_tuple {json.dumps(isinstance(one, tuple))}); the checkpoint "
                              f"holds {found or 'none'} with carried_tuple "
                              f"{json.dumps(meta.get('carried_tuple'))}.")
    out = []
    for name, part in zip(names, parts):
        a = arrays[name]
        want = part.shape[:-2] + (batch,) + part.shape[-1:]          # (B, H) or (L, B, H)
        if a.shape != want:
            raise CheckpointError(f"{path}: {name} (the carried state) should have shape {want} "
                                  f"for {batch} streams of {model!r}; it has shape {a.shape}.")
        if a.dtype.kind != "f":
            raise CheckpointError(f"{path}: {name} (the carried state) should hold floats; it "
                                  f"holds {a.dtype}.")
        if not np.isfinite(a).all():
            raise CheckpointError(f"{path}: {name} (the carried state) holds non-finite values "
                                  f"(nan or inf); training never saves those.")
        out.append(a.astype(model.dtype, copy=False))
    return tuple(out) if isinstance(one, tuple) else out[0]
