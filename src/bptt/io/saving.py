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

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .checkpoint import CheckpointError, checkpoint_exists, load_checkpoint, save_checkpoint
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
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: no such directory (expected a training output "
                              f"directory with checkpoint files).")
    if not checkpoint_exists(directory):
        raise CheckpointError(f"{directory}: no checkpoint here (train one with `bptt train "
                              f"--out {directory}`).")
    arrays, meta = load_checkpoint(directory, max_elements=4 * max_params + 10_000_000)  # + Adam
    model, vocab = _model_from(arrays, meta, directory, max_params)
    return model, vocab, meta


def load_training_state(directory, *, model_kind: str, max_elements: int = 50_000_000):
    """The TrainingState of the newest checkpoint in `directory`, or None when there is none."""
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
        carried = [arrays[f"carried/{i}"] for i in range(2) if f"carried/{i}" in arrays]
        carried = tuple(carried) if meta["carried_tuple"] else carried[0]
        return TrainingState(
            step=int(meta["step"]), params=model.params,
            optimizer={"type": opt["type"], "hyper": opt["hyper"], "step": opt["step"],
                       "state": state},
            carried=carried, data_state=meta["data"], accum=meta["accum"],
            recipe=meta["recipe"], fingerprint=meta["fingerprint"], model_config=model.config(),
            rng_state=meta.get("rng"), vocab=vocab)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise CheckpointError(f"{directory}: the checkpoint is not a training checkpoint "
                              f"({type(e).__name__}: {e}).") from None
