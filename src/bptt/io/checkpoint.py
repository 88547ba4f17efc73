"""Model-agnostic checkpoints: named NumPy arrays plus JSON metadata, saved without pickle,
written atomically, verified by SHA-256 before anything is returned.

On disk, for ``name="checkpoint"`` in directory DIR, each save adds one *generation* N (a counter:
1 + the highest number present, zero-padded to 8 digits)::

    DIR/checkpoint-00000007.npz    the arrays: uncompressed .npy members in a zip (np.savez layout)
    DIR/checkpoint-00000007.json   the commit record: format, version, generation, the npz's name,
                                   size and SHA-256, every array's name, shape, dtype and SHA-256
                                   (of its C-order bytes), and the user's meta

Crash safety: a SIGKILL or power loss at any moment leaves a loadable, consistent checkpoint.
(1) The npz is written with ``bptt.io.atomic.atomic_write`` (temporary file, fsync, ``os.replace``,
directory fsync) under the *new* generation's name, so no existing file is ever overwritten.
(2) Only then is the json record written the same way: it is the commit. A generation exists when
its json exists, and a json exists only after its npz is durable. (3) Then older generations are
removed, keeping the newest `keep` (2: one verified fallback), with orphans (an npz whose record
was never written) and ``.*.tmp`` files left by killed writers. One writer per (DIR, name).

Loading takes the newest generation with a record and verifies, in order: the record (format,
version, fields), the total element count against `max_elements` (before anything is allocated),
the npz's size and SHA-256, that the zip holds exactly the listed arrays, each .npy header (shape,
numeric dtype; read without the data), then each array's SHA-256. A broken newest generation
gives a RuntimeWarning and the next older one is loaded. Nothing is unpickled: arrays are read by
``numpy.lib.format.read_array(..., allow_pickle=False)`` (what ``np.load(..., allow_pickle=False)``
runs per npz member) and the record by ``json.load``. The meta is not hashed: it lives in the
record, which is plain JSON and may be edited by hand.

Array names: segments of letters, digits, ``_``, ``.``, ``-`` and ``@`` joined by single ``/``
(``"params/U"``, ``"optim/m/U"``, ``"params/U@rev"``); ``.`` and ``..`` segments are refused. Dtypes: bool, int,
unsigned int, float, complex. `meta`: a dict with str keys and JSON values (NumPy scalars are
stored as Python numbers, tuples come back as lists, NaN and infinities use Python's extension).

Errors: wrong arguments raise TypeError/ValueError before anything is written. Everything that
goes wrong with files (a full disk while saving; a missing, truncated, tampered, oversized or
hostile file while loading) raises :class:`CheckpointError`, a subclass of ``OSError``: it is an
I/O failure, so ``except OSError`` around file access keeps working, and a failed save keeps the
cause's ``errno`` (e.g. ``errno.ENOSPC``).
"""
from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from .._validate import check_int
from .atomic import atomic_write, atomic_write_bytes, fsync_directory
from .checkpoint_format import (FORMAT, FORMAT_VERSION, NUMERIC_KINDS, _MAX_KEY_LEN,  # noqa: F401
                                CheckpointError, _check_location, _file_names, _scan, _sha256_array,
                                _sha256_file, _valid_key, list_generations)

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "checkpoint_exists",
           "remove_checkpoints",
           "list_generations", "FORMAT", "FORMAT_VERSION"]

def checkpoint_exists(directory, name: str = "checkpoint") -> bool:
    """Whether a committed generation of `name` exists (it is not verified: load to verify)."""
    return bool(list_generations(directory, name))


def require_checkpoint_dir(directory: Path, expected: str, train: str) -> None:
    """CheckpointError unless `directory` exists and holds a checkpoint: `expected` says what the
    directory should be, `train` the command that writes one (given `--out DIR`)."""
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: no such directory (expected {expected}).")
    if not checkpoint_exists(directory):
        raise CheckpointError(f"{directory}: no checkpoint here (train one with `{train} "
                              f"--out {directory}`).")


def remove_checkpoints(directory, name: str = "checkpoint") -> None:
    """Remove every generation of `name` (records first, so a crash leaves orphans, never a
    half generation)."""
    directory = Path(directory)
    for gen in list_generations(directory, name):
        npz_name, json_name = _file_names(name, gen)
        _remove(directory / json_name)
        _remove(directory / npz_name)
    fsync_directory(directory)


# ---------------------------------------------------------------------------- saving


def _check_arrays(arrays) -> dict[str, np.ndarray]:
    if not isinstance(arrays, dict):
        raise TypeError(f"The 'arrays' argument of save_checkpoint must be a dict of name -> "
                        f"numeric array. Got {type(arrays).__name__} instead.")
    out = {}
    for key, value in arrays.items():
        if not _valid_key(key):
            raise ValueError(f"The 'arrays' argument of save_checkpoint must have names made of "
                             f"letters, digits, '_', '.', '-' and '@' in segments joined by '/' (like "
                             f"'params/U'; no '.' or '..' segment, at most {_MAX_KEY_LEN} "
                             f"characters). Got {key!r} instead.")
        try:
            arr = value if isinstance(value, np.ndarray) else np.asarray(value)
        except (ValueError, TypeError) as e:
            raise TypeError(f"The 'arrays' argument of save_checkpoint must hold numeric arrays. "
                            f"Got {type(value).__name__} for {key!r}, which NumPy cannot convert "
                            f"({e}).") from None
        if arr.dtype.kind not in NUMERIC_KINDS:
            raise TypeError(f"The 'arrays' argument of save_checkpoint must hold numeric arrays "
                            f"(bool, int, float, complex). Got dtype {arr.dtype} for {key!r}.")
        # C order makes the file, the hash and the loaded array agree byte for byte.
        out[key] = arr if arr.flags.c_contiguous else np.array(arr, order="C")
    return out


def _numpy_scalar(value):
    """json.dumps hook: NumPy scalars become Python numbers; anything else is refused."""
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _meta_as_json(meta) -> dict:
    """`meta` after a JSON round trip (exactly what loading returns), or TypeError/ValueError."""
    if not isinstance(meta, dict):
        raise TypeError(f"The 'meta' argument of save_checkpoint must be a dict. "
                        f"Got {type(meta).__name__} instead.")
    try:
        meta_json = json.loads(json.dumps(meta, default=_numpy_scalar))
    except RecursionError:
        raise ValueError("The 'meta' argument of save_checkpoint is nested too deeply "
                         "to be stored as JSON.") from None
    except (TypeError, ValueError) as e:  # unknown types, circular references
        raise TypeError(f"The 'meta' argument of save_checkpoint must hold JSON values "
                        f"(dict, list, str, int, float, bool, None). {e}.") from None
    # json.dumps silently turns int keys into strings, which would not round-trip: refuse them.
    # dumps succeeded, so there is no cycle and this iterative walk ends.
    stack = [(meta, "meta")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            for k, v in value.items():
                if not isinstance(k, str):
                    raise TypeError(f"The 'meta' argument of save_checkpoint must have str keys. "
                                    f"Got key {k!r} of type {type(k).__name__} in {where}.")
                stack.append((v, f"{where}[{k!r}]"))
        elif isinstance(value, (list, tuple)):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(value))
    return meta_json


def _write_npz(f, arrays: dict[str, np.ndarray]) -> None:
    """What np.savez(f, **arrays) writes, minus its keyword clashes ('file', 'allow_pickle')."""
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, arr in arrays.items():
            with zf.open(key + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, arr, allow_pickle=False)


def _remove(path: Path) -> None:
    try:
        os.remove(path)
    except OSError:
        pass  # Best effort: leftovers are orphans that the next save or load ignores.


def _clean_up(directory: Path, name: str, gen: int, keep: int) -> None:
    """Drop generations older than the newest `keep` committed ones, orphans and stale temps."""
    try:
        found = _scan(directory, name)
        entries = os.listdir(directory)
    except OSError:
        return  # Best effort: the new generation is committed; leftovers are harmless.
    committed = sorted(g for g, kinds in found.items() if "json" in kinds and g <= gen)
    kept = set(committed[-keep:])
    for g in sorted(found):
        if g < gen and g not in kept:
            npz_name, json_name = _file_names(name, g)
            _remove(directory / json_name)  # Uncommit first, so a crash here leaves an orphan npz.
            _remove(directory / npz_name)
    stale = re.compile(rf"\.{re.escape(name)}-\d{{8,}}\.(npz|json)\..*\.tmp")
    for entry in entries:
        if stale.fullmatch(entry):
            _remove(directory / entry)


def save_checkpoint(directory, arrays: dict, meta: dict, *, name: str = "checkpoint",
                    keep: int = 2) -> Path:
    """Save `arrays` and `meta` as a new generation of checkpoint `name` in `directory`.

    The directory is created if needed. Returns the path of the new json record. On failure
    (e.g. a full disk) raises CheckpointError naming the path and the cause, after removing
    every file this call created: the previous checkpoint stays the latest and loadable.
    """
    directory, name = _check_location(directory, name, "save_checkpoint")
    keep = check_int(keep, "keep", "save_checkpoint", minimum=1)
    arrays = _check_arrays(arrays)
    meta = _meta_as_json(meta)  # Bad meta is refused before anything is written.
    table = [{"name": k, "shape": list(a.shape), "dtype": a.dtype.str, "sha256": _sha256_array(a)}
             for k, a in arrays.items()]

    created: list[Path] = []
    previous = None
    try:
        if not directory.is_dir():
            directory.mkdir(parents=True, exist_ok=True)
            fsync_directory(directory.parent)
        found = _scan(directory, name)
        previous = max((g for g, kinds in found.items() if "json" in kinds), default=None)
        gen = max(found, default=0) + 1  # Past orphans too: an existing file is never reused.
        npz_name, json_name = _file_names(name, gen)
        # Step 1: the arrays, durable under the new generation's name.
        created.append(directory / npz_name)
        atomic_write(directory / npz_name, lambda f: _write_npz(f, arrays))
        with open(directory / npz_name, "rb") as f:
            npz_sha, npz_bytes = _sha256_file(f), f.tell()
        record = {"format": FORMAT, "format_version": FORMAT_VERSION, "generation": gen,
                  "npz": {"file": npz_name, "bytes": npz_bytes, "sha256": npz_sha},
                  "arrays": table, "meta": meta}
        text = json.dumps(record, indent=1) + "\n"
        # Step 2: the commit record. From here on, this generation exists.
        created.append(directory / json_name)
        atomic_write_bytes(directory / json_name, text.encode("utf-8"))
    except BaseException as e:
        for path in reversed(created):
            _remove(path)  # Roll back, record first, so the generation is never half there.
        if not isinstance(e, OSError):
            raise  # KeyboardInterrupt, or a bug: not a file problem, let it through unchanged.
        kept = "none" if previous is None else f"generation {previous}"
        text = (f"Could not save checkpoint '{name}' in '{directory}': {e.strerror or e} "
                f"The previous checkpoint ({kept}) is unchanged and still the latest.")
        raise (CheckpointError(e.errno, text) if isinstance(e.errno, int)
               else CheckpointError(text)) from e
    # Step 3: the new generation is durable; older ones beyond `keep` are no longer needed.
    _clean_up(directory, name, gen, keep)
    return directory / json_name


from .checkpoint_load import load_checkpoint  # noqa: E402  (the reading half; imports names above)
