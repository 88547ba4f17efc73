"""The checkpoints' files on disk: the format's name and version, the file names of a generation,
finding generations, and the SHA-256 of arrays and files. Shared by the writing half
(`bptt.io.checkpoint`) and the reading half (`bptt.io.checkpoint_load`); see the former for the
format."""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np

FORMAT = "bptt-checkpoint"
FORMAT_VERSION = 1
NUMERIC_KINDS = "biufc"  # bool, int, unsigned int, float, complex
_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
_KEY_RE = re.compile(r"[A-Za-z0-9_.@-]+(?:/[A-Za-z0-9_.@-]+)*")
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_MAX_KEY_LEN = 200
_MAX_NDIM = 64  # NumPy's own limit on dimensions
_CHUNK = 1 << 20


def _valid_key(key) -> bool:
    """An array name: segments of letters, digits, _ . @ - joined by '/', no '.' or '..' segment
    ("@" for the backward direction of a bidirectional model: "params/U@rev")."""
    return (isinstance(key, str) and len(key) <= _MAX_KEY_LEN and _KEY_RE.fullmatch(key) is not None
            and not any(seg in (".", "..") for seg in key.split("/")))


class CheckpointError(OSError):
    """A checkpoint could not be saved, or a file on disk is not a valid checkpoint."""


class _SizeLimitError(CheckpointError):
    """Over `max_elements`: the file may be fine, so loading does not fall back to older ones."""


# ---------------------------------------------------------------------------- file names


def _file_names(name: str, gen: int) -> tuple[str, str]:
    return f"{name}-{gen:08d}.npz", f"{name}-{gen:08d}.json"


def _scan(directory: Path, name: str) -> dict[int, set[str]]:
    """Generation number -> the kinds of file present for it ({'npz', 'json'})."""
    pattern = re.compile(rf"{re.escape(name)}-(\d{{8,}})\.(npz|json)")
    found: dict[int, set[str]] = {}
    try:
        entries = os.listdir(directory)
    except FileNotFoundError:
        return found
    except OSError as e:
        raise CheckpointError(f"Cannot list checkpoint directory '{directory}': {e}") from e
    for entry in entries:
        m = pattern.fullmatch(entry)
        if m:
            found.setdefault(int(m.group(1)), set()).add(m.group(2))
    return found


def _check_location(directory, name, owner: str) -> tuple[Path, str]:
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"The 'directory' argument of {owner} must be a str or os.PathLike. "
                        f"Got {directory!r} of type {type(directory).__name__} instead.")
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValueError(f"The 'name' parameter of {owner} must be 1 to 100 letters, digits, '_', "
                         f"'.' or '-', not starting with '.' or '-'. Got {name!r} instead.")
    return Path(directory), name


def list_generations(directory, name: str = "checkpoint") -> list[int]:
    """The committed generations (those with a json record) of checkpoint `name`, oldest first."""
    directory, name = _check_location(directory, name, "list_generations")
    return sorted(g for g, kinds in _scan(directory, name).items() if "json" in kinds)


def _sha256_array(arr: np.ndarray) -> str:
    """SHA-256 of the array's C-order bytes (hashlib reads the buffer: no copy when C-contiguous)."""
    c = arr if arr.flags.c_contiguous else np.array(arr, order="C")
    return hashlib.sha256(c).hexdigest()


def _sha256_file(f) -> str:
    h = hashlib.sha256()
    for block in iter(lambda: f.read(_CHUNK), b""):
        h.update(block)
    return h.hexdigest()
