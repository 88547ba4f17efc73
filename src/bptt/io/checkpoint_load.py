"""Loading and verifying checkpoints — the reading half of `bptt.io.checkpoint` (see its docstring
for the format and the checks). Nothing here ever unpickles."""
from __future__ import annotations

import json
import math
import os
import warnings
import zipfile
from pathlib import Path

import numpy as np

from .._validate import check_int
from .checkpoint_format import (FORMAT, FORMAT_VERSION, NUMERIC_KINDS, _MAX_NDIM, _SHA_RE, CheckpointError,
                         _SizeLimitError, _check_location, _file_names, _sha256_array,
                         _sha256_file, _valid_key, list_generations)



#: How often load_checkpoint lists the generations again when a concurrent writer removed every
#: one it listed before it could read them.
_LISTINGS = 20


def _read_record(path: Path) -> dict:
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate key {next(k for k in keys if keys.count(k) > 1)!r}")
        return dict(pairs)
    try:
        with open(path, "rb") as f:
            record = json.load(f, object_pairs_hook=no_duplicates)
    except FileNotFoundError:
        raise CheckpointError(f"Checkpoint record '{path}' is missing.") from None
    except OSError as e:
        raise CheckpointError(f"Cannot read checkpoint record '{path}': {e}") from e
    except (ValueError, RecursionError) as e:  # JSONDecodeError, UnicodeDecodeError, too deep
        raise CheckpointError(f"Checkpoint record '{path}' is not valid JSON: {e}") from None
    if not isinstance(record, dict):
        raise CheckpointError(f"Checkpoint record '{path}' must hold a JSON object. "
                              f"Got {type(record).__name__}.")
    return record


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_record(record: dict, path: Path, npz_name: str, gen: int) -> list[tuple]:
    """The record's array table as (name, shape, dtype, sha256), or CheckpointError."""
    def bad(what: str) -> CheckpointError:
        return CheckpointError(f"Checkpoint record '{path}' {what}.")
    if record.get("format") != FORMAT:
        raise bad(f"is not a {FORMAT} record: its 'format' is {record.get('format')!r}")
    version = record.get("format_version")
    if not _is_int(version) or version < 1:
        raise bad(f"has an invalid 'format_version' {version!r} (expected {FORMAT_VERSION})")
    if version > FORMAT_VERSION:
        raise bad(f"has format_version {version}, newer than the {FORMAT_VERSION} this version of "
                  f"bptt reads: upgrade bptt to load it")
    if record.get("generation") != gen:
        raise bad(f"says generation {record.get('generation')!r}, but its file name says {gen}")
    npz = record.get("npz")
    if (not isinstance(npz, dict) or npz.get("file") != npz_name or not _is_int(npz.get("bytes"))
            or not isinstance(npz.get("sha256"), str) or not _SHA_RE.fullmatch(npz["sha256"])):
        raise bad(f"must have 'npz' = {{'file': {npz_name!r}, 'bytes': int, 'sha256': 64 hex "
                  f"digits}}. Got {npz!r:.200}")
    if not isinstance(record.get("meta"), dict):
        raise bad(f"must have a 'meta' object. Got {type(record.get('meta')).__name__}")
    table = record.get("arrays")
    if not isinstance(table, list):
        raise bad(f"must have an 'arrays' list. Got {type(table).__name__}")
    entries, seen = [], set()
    for i, e in enumerate(table):
        ok = isinstance(e, dict) and set(e) == {"name", "shape", "dtype", "sha256"}
        key = e.get("name") if ok else None
        if not (ok and _valid_key(key) and key not in seen
                and isinstance(e["shape"], list) and len(e["shape"]) <= _MAX_NDIM
                and all(_is_int(n) and n >= 0 for n in e["shape"])
                and isinstance(e["sha256"], str) and _SHA_RE.fullmatch(e["sha256"])
                and isinstance(e["dtype"], str) and len(e["dtype"]) <= 32):
            raise bad(f"has an invalid 'arrays' entry {i}: expected a unique valid name, a shape "
                      f"of at most {_MAX_NDIM} ints >= 0, a dtype string and a sha256. "
                      f"Got {e!r:.200}")
        try:
            dtype = np.dtype(e["dtype"])
        except Exception:  # noqa: BLE001 -- np.dtype raises several types on junk strings
            raise bad(f"lists array {key!r} with an unknown dtype {e['dtype']!r}") from None
        if dtype.kind not in NUMERIC_KINDS or dtype.hasobject:
            raise bad(f"lists array {key!r} with dtype {dtype}; only numeric dtypes "
                      f"(bool, int, float, complex) are allowed")
        seen.add(key)
        entries.append((key, tuple(e["shape"]), dtype, e["sha256"]))
    return entries


def _check_size(entries: list[tuple], path: Path, max_elements: int) -> None:
    """Refuse before allocating: Python ints cannot overflow, so 10**18 elements is caught."""
    sizes = [(math.prod(shape), key, shape) for key, shape, _, _ in entries]
    total = sum(s for s, _, _ in sizes)
    if total > max_elements:
        size, key, shape = max(sizes)
        raise _SizeLimitError(
            f"Checkpoint record '{path}' asks for {total:,} array elements in total (largest: "
            f"{key!r} with shape {shape}), more than max_elements={max_elements:,}. Pass a larger "
            f"max_elements to load_checkpoint if you trust this file.")


def _read_header(member, key: str):
    """(shape, fortran_order, dtype) from a .npy member's header, without reading its data."""
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(member)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(member)
    raise ValueError(f"array {key!r} uses .npy format version {version}, expected 1.0 or 2.0")


def _load_npz(npz_path: Path, entries: list[tuple], npz: dict) -> dict[str, np.ndarray]:
    """Open once, then check size, hash, members and headers before reading any array data."""
    def bad(what: str) -> CheckpointError:
        return CheckpointError(f"Checkpoint arrays '{npz_path}' {what}.")
    try:
        f = open(npz_path, "rb")
    except FileNotFoundError:
        raise bad("are missing (the record names this file)") from None
    except OSError as e:
        raise bad(f"cannot be opened: {e}") from e
    with f:
        size = os.fstat(f.fileno()).st_size
        if size != npz["bytes"]:
            raise bad(f"are {size} bytes, but the record says {npz['bytes']}: the file is "
                      f"truncated or was replaced")
        if _sha256_file(f) != npz["sha256"]:
            raise bad("do not match the SHA-256 in the record: the file is corrupt or was modified")
        f.seek(0)
        if f.read(2) != b"PK":
            raise bad("are not a zip archive (npz)")
        f.seek(0)
        try:
            return _read_members(f, entries, bad)
        except CheckpointError:
            raise
        except Exception as e:  # noqa: BLE001 -- zipfile and numpy raise many types on hostile bytes
            raise bad(f"are not a valid npz archive ({type(e).__name__}: {e})") from None


def _read_members(f, entries: list[tuple], bad) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(f) as zf:
        infos = zf.infolist()
        names = [info.filename for info in infos]
        expected = [key + ".npy" for key, _, _, _ in entries]
        if len(set(names)) != len(names):
            raise bad("hold a member name twice")
        extra = sorted(set(names) - set(expected))
        if extra:
            raise bad(f"hold a member {extra[0]!r} that the record does not list")
        missing = [n for n in expected if n not in names]
        if missing:
            raise bad(f"lack the array {missing[0][:-4]!r} that the record lists")
        by_name = {info.filename: info for info in infos}
        # Every header first: a wrong shape or dtype is refused before any data is allocated.
        for key, shape, dtype, _ in entries:
            info = by_name[key + ".npy"]
            if info.compress_type != zipfile.ZIP_STORED:
                raise bad(f"hold array {key!r} compressed; checkpoints are stored uncompressed")
            with zf.open(info) as member:
                got_shape, _, got_dtype = _read_header(member, key)
                data_bytes = info.file_size - member.tell()
            if got_dtype.kind not in NUMERIC_KINDS or got_dtype.hasobject:
                raise bad(f"hold array {key!r} with dtype {got_dtype}, which is not numeric "
                          f"(an object array would need unpickling; refused)")
            if got_shape != shape or got_dtype != dtype:
                raise bad(f"hold array {key!r} with shape {got_shape} and dtype {got_dtype}, but "
                          f"the record says shape {shape} and dtype {dtype}")
            need = math.prod(shape) * dtype.itemsize
            if data_bytes != need:
                raise bad(f"hold {data_bytes} data bytes for array {key!r}, which needs {need}")
        arrays = {}
        for key, _, _, sha in entries:
            with zf.open(by_name[key + ".npy"]) as member:
                arr = np.lib.format.read_array(member, allow_pickle=False)
            if _sha256_array(arr) != sha:
                raise bad(f"hold array {key!r} whose SHA-256 does not match the record: "
                          f"the data was modified")
            arrays[key] = arr
        return arrays


def _load_generation(directory: Path, name: str, gen: int, max_elements: int):
    npz_name, json_name = _file_names(name, gen)
    path = directory / json_name
    record = _read_record(path)
    entries = _check_record(record, path, npz_name, gen)
    _check_size(entries, path, max_elements)
    arrays = _load_npz(directory / npz_name, entries, record["npz"])
    return arrays, record["meta"]


def load_checkpoint(directory, *, name: str = "checkpoint", max_elements: int = 50_000_000,
                    generation: int | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """Load the newest verifying generation of checkpoint `name`: (arrays, meta).

    Never unpickles. `max_elements` bounds the total number of array elements (checked from the
    record and the .npy headers before anything is allocated); raise it for larger models. With
    `generation`, exactly that generation is loaded, without fallback. Raises CheckpointError
    naming the file and the problem when nothing loadable is found.
    """
    directory, name = _check_location(directory, name, "load_checkpoint")
    max_elements = check_int(max_elements, "max_elements", "load_checkpoint", minimum=1)
    if generation is not None:
        generation = check_int(generation, "generation", "load_checkpoint", minimum=1)
        return _load_generation(directory, name, generation, max_elements)
    if not directory.is_dir():
        raise CheckpointError(f"Checkpoint directory '{directory}' does not exist.")
    gens = list_generations(directory, name)
    if not gens:
        raise CheckpointError(f"No checkpoint named '{name}' in '{directory}' "
                              f"(no {name}-NNNNNNNN.json record).")
    # A training run may be writing here: each save commits a new generation, then removes old
    # ones. A generation whose record vanished after the listing was removed by such a writer
    # (not broken): it is skipped, and when every listed one vanished, the listing is redone.
    for _ in range(_LISTINGS):
        problems = []
        for gen in reversed(gens):
            try:
                result = _load_generation(directory, name, gen, max_elements)
            except _SizeLimitError:
                raise  # Not a broken file: older generations are no answer to a too-small limit.
            except CheckpointError as e:
                if not (directory / _file_names(name, gen)[1]).exists():
                    continue                       # removed by a concurrent save since the listing
                problems.append(f"generation {gen}: {e}")
                continue
            if problems:
                warnings.warn(f"Checkpoint '{name}' in '{directory}': newer generations are broken, "
                              f"loaded generation {gen}. " + " ".join(problems), RuntimeWarning,
                              stacklevel=2)
            return result
        again = list_generations(directory, name)
        if not again or again == gens:
            break                                  # nothing changed: the listed ones are broken
        gens = again
    raise CheckpointError(f"No loadable checkpoint named '{name}' in '{directory}'. "
                          + " ".join(problems))
