"""Checkpoints: exact round trips, the on-disk layout, argument validation, atomic helpers, and
failing writes (a full disk simulated by monkeypatching) that must leave the previous checkpoint
intact."""
import errno
import json
import os
import stat

import numpy as np
import pytest

import bptt.io.atomic
import bptt.io.checkpoint
from bptt.io.atomic import atomic_write_bytes, atomic_write_text
from bptt.io.checkpoint import (CheckpointError, checkpoint_exists, list_generations, load_checkpoint,
                             save_checkpoint)


def _arrays(rng):
    """One array of every kind a checkpoint must carry bit for bit."""
    special = np.array([np.nan, -0.0, np.inf, -np.inf, 5e-324, np.finfo(np.float64).max])
    return {
        "params/U": rng.normal(size=(4, 3)).astype(np.float32),
        "params/W": rng.normal(size=(4, 4)),
        "params/b": np.zeros(4),
        "optim/m/U": rng.normal(size=(4, 3)).astype(np.float32),
        "special": special,
        "nan_payload": np.array([0x7FF8DEADBEEF0001], dtype=np.uint64).view(np.float64),
        "ints": np.array([-(2**63), -1, 0, 2**63 - 1], dtype=np.int64),
        "uint8": np.arange(256, dtype=np.uint8),
        "int16": np.arange(-5, 5, dtype=np.int16),
        "bools": np.array([True, False, True]),
        "half": np.array([1.5, -2.25], dtype=np.float16),
        "complex": np.array([1 + 2j, -3.5j]),
        "scalar": np.array(7.25),
        "scalar32": np.float32(-1.5),
        "int_scalar": np.array(42, dtype=np.int32),
        "empty": np.zeros((0, 3)),
        "big_endian": np.arange(5, dtype=">f8"),
        "fortran": np.asfortranarray(rng.normal(size=(3, 5))),
        "strided": np.arange(20.0)[::3],
        "step-1.v2_x": np.ones((2, 1, 2)),
    }


def _same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_round_trip_is_bitwise_exact(tmp_path, rng):
    arrays = _arrays(rng)
    save_checkpoint(tmp_path, arrays, {"step": 3})
    loaded, meta = load_checkpoint(tmp_path)
    assert list(loaded) == list(arrays)  # same names, same order
    for key, value in arrays.items():
        expected = np.asarray(value)
        assert _same_bits(loaded[key], expected), key
        assert loaded[key].flags.writeable
    assert loaded["scalar"].shape == () and loaded["scalar32"].dtype == np.float32
    assert meta == {"step": 3}


def test_meta_round_trip(tmp_path):
    meta = {"step": 10**20, "lr": 0.1, "tiny": 1e-310, "name": "rnn ✓ ünïcode", "ok": True,
            "none": None, "history": [1.5, 2.25, {"a": [1, [2, 3]]}], "nested": {"x": {"y": -0.0}}}
    save_checkpoint(tmp_path, {}, meta)
    _, got = load_checkpoint(tmp_path)
    assert got == meta and repr(got["nested"]["x"]["y"]) == "-0.0"


def test_meta_conversions_documented(tmp_path):
    """NumPy scalars become Python numbers, tuples become lists, NaN survives."""
    save_checkpoint(tmp_path, {}, {"n": np.int64(5), "x": np.float32(0.5), "t": (1, 2),
                                   "flag": np.bool_(True), "loss": float("nan")})
    _, got = load_checkpoint(tmp_path)
    assert got["n"] == 5 and type(got["n"]) is int and got["x"] == 0.5 and got["t"] == [1, 2]
    assert got["flag"] is True and np.isnan(got["loss"])


def test_layout_record_and_plain_numpy_interop(tmp_path, rng):
    arrays = {"params/U": rng.normal(size=(2, 3)), "k": np.arange(3)}
    path = save_checkpoint(tmp_path, arrays, {"step": 1})
    assert path == tmp_path / "checkpoint-00000001.json"
    assert sorted(os.listdir(tmp_path)) == ["checkpoint-00000001.json", "checkpoint-00000001.npz"]
    record = json.loads(path.read_text())
    assert record["format"] == "bptt-checkpoint" and record["format_version"] == 1
    assert record["generation"] == 1 and record["meta"] == {"step": 1}
    assert record["npz"]["file"] == "checkpoint-00000001.npz"
    assert record["npz"]["bytes"] == (tmp_path / "checkpoint-00000001.npz").stat().st_size
    assert [e["name"] for e in record["arrays"]] == ["params/U", "k"]
    assert record["arrays"][0]["shape"] == [2, 3] and record["arrays"][0]["dtype"] == "<f8"
    import hashlib
    assert record["arrays"][0]["sha256"] == hashlib.sha256(arrays["params/U"].tobytes()).hexdigest()
    # The npz is an ordinary, uncompressed np.savez archive that NumPy reads without pickle.
    with np.load(tmp_path / "checkpoint-00000001.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == ["k", "params/U"]
        assert np.array_equal(npz["params/U"], arrays["params/U"])


def test_generations_keep_and_names(tmp_path):
    assert not checkpoint_exists(tmp_path) and list_generations(tmp_path) == []
    assert not checkpoint_exists(tmp_path / "nowhere")
    for step in range(5):
        save_checkpoint(tmp_path, {"w": np.full(3, step)}, {"step": step})
    assert list_generations(tmp_path) == [4, 5] and checkpoint_exists(tmp_path)
    assert len(os.listdir(tmp_path)) == 4
    save_checkpoint(tmp_path, {"w": np.full(3, 5)}, {"step": 5}, keep=1)
    assert list_generations(tmp_path) == [6]
    for step in range(6, 10):
        save_checkpoint(tmp_path, {"w": np.full(3, step)}, {"step": step}, keep=3)
    assert list_generations(tmp_path) == [8, 9, 10]
    # A second name in the same directory, and one that looks like a generation of the first.
    save_checkpoint(tmp_path, {"w": np.zeros(1)}, {"who": "best"}, name="best")
    save_checkpoint(tmp_path, {"w": np.zeros(1)}, {"who": "odd"}, name="checkpoint-00000001")
    assert list_generations(tmp_path) == [8, 9, 10]
    assert load_checkpoint(tmp_path, name="best")[1] == {"who": "best"}
    assert load_checkpoint(tmp_path, name="checkpoint-00000001")[1] == {"who": "odd"}
    arrays, meta = load_checkpoint(tmp_path)
    assert meta == {"step": 9} and np.array_equal(arrays["w"], np.full(3, 9))
    assert load_checkpoint(tmp_path, generation=8)[1] == {"step": 7}


def test_creates_missing_directories(tmp_path):
    target = tmp_path / "a" / "b"
    save_checkpoint(target, {"x": np.ones(2)}, {})
    assert checkpoint_exists(target)
    assert load_checkpoint(str(target))[1] == {}  # str paths work too


# ---------------------------------------------------------------------------- validation


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"directory": 3}, TypeError, r"'directory' argument of save_checkpoint must be a str or "
                                  r"os.PathLike. Got 3 of type int"),
    ({"name": "a/b"}, ValueError, r"'name' parameter of save_checkpoint must be 1 to 100 letters, "
                                  r"digits, '_', '.' or '-', not starting with '.' or '-'. Got 'a/b'"),
    ({"name": ".hidden"}, ValueError, r"'name' parameter .* Got '.hidden'"),
    ({"name": ""}, ValueError, r"'name' parameter .* Got ''"),
    ({"name": "../up"}, ValueError, r"Got '../up'"),
    ({"keep": 0}, ValueError, r"'keep' parameter of save_checkpoint must be an int >= 1. Got 0"),
    ({"arrays": [np.ones(2)]}, TypeError, r"'arrays' argument of save_checkpoint must be a dict of "
                                          r"name -> numeric array. Got list"),
    ({"arrays": {"a b": np.ones(1)}}, ValueError, r"names made of letters, digits, '_', '.', '-' "
                                                  r"and '@' in segments joined by '/'.* Got 'a b'"),
    ({"arrays": {"../x": np.ones(1)}}, ValueError, r"no '.' or '..' segment.* Got '../x'"),
    ({"arrays": {"a//b": np.ones(1)}}, ValueError, r"Got 'a//b'"),
    ({"arrays": {"/a": np.ones(1)}}, ValueError, r"Got '/a'"),
    ({"arrays": {"a/": np.ones(1)}}, ValueError, r"Got 'a/'"),
    ({"arrays": {"": np.ones(1)}}, ValueError, r"Got ''"),
    ({"arrays": {"x" * 201: np.ones(1)}}, ValueError, r"at most 200 characters"),
    ({"arrays": {5: np.ones(1)}}, ValueError, r"Got 5 instead"),
    ({"arrays": {"o": np.array([{}, 1], dtype=object)}}, TypeError,
     r"must hold numeric arrays \(bool, int, float, complex\). Got dtype object for 'o'"),
    ({"arrays": {"s": np.array(["a"])}}, TypeError, r"Got dtype <U1 for 's'"),
    ({"arrays": {"t": np.array(["2020-01-01"], dtype="M8[D]")}}, TypeError, r"dtype datetime64"),
    ({"arrays": {"r": [[1, 2], [3]]}}, TypeError, r"Got list for 'r', which NumPy cannot convert"),
    ({"meta": [1]}, TypeError, r"'meta' argument of save_checkpoint must be a dict. Got list"),
    ({"meta": {"s": {1, 2}}}, TypeError, r"'meta' argument of save_checkpoint must hold JSON "
                                         r"values .* Object of type set is not JSON serializable"),
    ({"meta": {"a": np.ones(2)}}, TypeError, r"Object of type ndarray is not JSON serializable"),
    ({"meta": {"a": [{"b": {}}]}} | {"_cycle": True}, TypeError, r"must hold JSON values .* "
                                                                 r"Circular reference detected"),
    ({"meta": {"a": [{1: 2}]}}, TypeError, r"must have str keys. Got key 1 of type int in "
                                           r"meta\['a'\]\[0\]"),
])
def test_save_validation(tmp_path, kwargs, exc, match):
    args = {"directory": tmp_path, "arrays": {"x": np.ones(2)}, "meta": {}} | kwargs
    if args.pop("_cycle", False):
        args["meta"]["a"][0]["b"]["loop"] = args["meta"]  # meta contains itself
    directory, arrays, meta = args.pop("directory"), args.pop("arrays"), args.pop("meta")
    with pytest.raises(exc, match=match):
        save_checkpoint(directory, arrays, meta, **args)
    assert not list_generations(tmp_path)  # nothing was written


def test_meta_nested_too_deeply(tmp_path):
    meta = {}
    inner = meta
    for _ in range(100_000):
        inner["a"] = {}
        inner = inner["a"]
    with pytest.raises(ValueError, match=r"'meta' argument of save_checkpoint is nested too deeply"):
        save_checkpoint(tmp_path, {}, meta)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"max_elements": 0}, ValueError, r"'max_elements' parameter of load_checkpoint must be an "
                                      r"int >= 1. Got 0"),
    ({"max_elements": 1.5}, TypeError, r"'max_elements' .* Got 1.5 of type float"),
    ({"generation": 0}, ValueError, r"'generation' parameter of load_checkpoint must be an int"),
    ({"name": "a b"}, ValueError, r"'name' parameter of load_checkpoint"),
])
def test_load_validation(tmp_path, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        load_checkpoint(tmp_path, **kwargs)


def test_list_generations_validation():
    with pytest.raises(TypeError, match=r"'directory' argument of list_generations"):
        list_generations(None)
    with pytest.raises(ValueError, match=r"'name' parameter of list_generations"):
        checkpoint_exists(".", "x/y")


# ---------------------------------------------------------------------------- failing writes


def _only_committed_files(directory, gens):
    names = sorted(os.listdir(directory))
    want = sorted(f"checkpoint-{g:08d}.{ext}" for g in gens for ext in ("json", "npz"))
    assert names == want, names


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("target", ["write_array", "fsync", "replace_npz", "replace_json",
                                    "dir_fsync_json", "json_write"])
def test_full_disk_keeps_previous_checkpoint(tmp_path, monkeypatch, target):
    save_checkpoint(tmp_path, {"w": np.ones(3)}, {"step": 1})
    save_checkpoint(tmp_path, {"w": np.full(3, 2.0)}, {"step": 2})
    calls = {"n": 0}
    real_replace, real_sync = os.replace, bptt.io.atomic.fsync_directory

    def fail_on_second(real):
        def wrapped(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 2:
                _disk_full()
            return real(*args, **kwargs)
        return wrapped

    if target == "write_array":
        monkeypatch.setattr(np.lib.format, "write_array", _disk_full)
    elif target == "fsync":
        monkeypatch.setattr(os, "fsync", _disk_full)
    elif target == "replace_npz":
        monkeypatch.setattr(os, "replace", _disk_full)
    elif target == "replace_json":
        monkeypatch.setattr(os, "replace", fail_on_second(real_replace))
    elif target == "dir_fsync_json":
        monkeypatch.setattr(bptt.io.atomic, "fsync_directory", fail_on_second(real_sync))
    else:
        monkeypatch.setattr(bptt.io.checkpoint, "atomic_write_bytes",
                            lambda path, data: bptt.io.atomic.atomic_write(
                                path, lambda f: (f.write(data[:10]), _disk_full())))
    with pytest.raises(CheckpointError, match=r"Could not save checkpoint 'checkpoint' in '.*': .*"
                       r"No space left on device.* The previous checkpoint \(generation 2\) is "
                       r"unchanged and still the latest") as info:
        save_checkpoint(tmp_path, {"w": np.full(3, 3.0)}, {"step": 3})
    assert isinstance(info.value, OSError) and info.value.errno == errno.ENOSPC
    assert isinstance(info.value.__cause__, OSError)
    if target != "dir_fsync_json":
        assert "checkpoint-00000003" in str(info.value)  # the path that failed is named
    monkeypatch.undo()
    _only_committed_files(tmp_path, [1, 2])  # no temporary, orphan or half-written file left
    arrays, meta = load_checkpoint(tmp_path)
    assert meta == {"step": 2} and np.array_equal(arrays["w"], np.full(3, 2.0))
    # The store still works afterwards.
    save_checkpoint(tmp_path, {"w": np.full(3, 3.0)}, {"step": 3})
    assert load_checkpoint(tmp_path)[1] == {"step": 3}


def test_first_save_failing_names_no_previous(tmp_path, monkeypatch):
    monkeypatch.setattr(np.lib.format, "write_array", _disk_full)
    with pytest.raises(CheckpointError, match=r"previous checkpoint \(none\)"):
        save_checkpoint(tmp_path, {"w": np.ones(3)}, {})
    assert os.listdir(tmp_path) == []


def test_interrupt_during_save_rolls_back_and_propagates(tmp_path, monkeypatch):
    save_checkpoint(tmp_path, {"w": np.ones(3)}, {"step": 1})

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(bptt.io.checkpoint, "atomic_write_bytes", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path, {"w": np.ones(3)}, {"step": 2})
    _only_committed_files(tmp_path, [1])


def test_unlistable_directory_is_a_checkpoint_error(tmp_path, monkeypatch):
    save_checkpoint(tmp_path, {"w": np.ones(3)}, {"step": 1})

    def denied(path):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(os, "listdir", denied)
    with pytest.raises(CheckpointError, match=r"Cannot list checkpoint directory '.*': .*Permission"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match=r"Could not save checkpoint .*Permission denied"):
        save_checkpoint(tmp_path, {"w": np.ones(3)}, {"step": 2})


# ---------------------------------------------------------------------------- atomic helpers


def test_atomic_write_text_and_bytes(tmp_path):
    path = tmp_path / "report.txt"
    assert atomic_write_text(path, "first\n") == path
    assert atomic_write_text(str(path), "sécond\r\n") == path
    assert path.read_bytes() == "sécond\r\n".encode()  # no newline translation
    atomic_write_text(path, "x", encoding="latin-1")
    atomic_write_bytes(tmp_path / "b.bin", bytearray(b"\x00\x01"))
    atomic_write_bytes(tmp_path / "c.bin", memoryview(b"xyz"))
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(os.listdir(tmp_path)) == ["b.bin", "c.bin", "report.txt"]


def test_atomic_write_mode_follows_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "f", b"x")
    finally:
        os.umask(old)
    if os.name != "nt":
        assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o644


@pytest.mark.parametrize("call, exc, match", [
    (lambda p: atomic_write_text(p, b"x"), TypeError,
     r"'text' argument of atomic_write_text must be a str. Got bytes"),
    (lambda p: atomic_write_bytes(p, "x"), TypeError,
     r"'data' argument of atomic_write_bytes must be bytes, bytearray or memoryview. Got str"),
    (lambda p: atomic_write_bytes(3, b"x"), TypeError,
     r"'path' argument of atomic_write_bytes must be a str or os.PathLike. Got 3 of type int"),
    (lambda p: atomic_write_text(p, "x", encoding="nope"), ValueError,
     r"'encoding' parameter of atomic_write_text must name a codec. Got 'nope'"),
    (lambda p: atomic_write_text(p, "€", encoding="ascii"), ValueError,
     r"'text' argument of atomic_write_text cannot be encoded as 'ascii'"),
    (lambda p: bptt.io.atomic.atomic_write(p, b"x"), TypeError,
     r"'write' argument of atomic_write must be callable"),
])
def test_atomic_validation(tmp_path, call, exc, match):
    with pytest.raises(exc, match=match):
        call(tmp_path / "f")
    assert os.listdir(tmp_path) == []


def test_atomic_failure_keeps_old_content_and_removes_temporary(tmp_path, monkeypatch):
    path = tmp_path / "report.html"
    atomic_write_text(path, "old")
    monkeypatch.setattr(os, "fsync", _disk_full)
    with pytest.raises(OSError, match=r"\[Errno 28\] Could not write '.*report.html' atomically: "
                       r"No space left on device. The previous contents") as info:
        atomic_write_text(path, "new")
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["report.html"]


def test_atomic_missing_directory_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"Could not write '.*nowhere.*' atomically"):
        atomic_write_bytes(tmp_path / "nowhere" / "f", b"x")


def test_atomic_directory_sync_failure_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(bptt.io.atomic, "fsync_directory", _disk_full)
    with pytest.raises(OSError, match=r"'.*f' was written, but its directory could not be synced "
                       r"\(No space left on device\): the new file may not survive a power loss"):
        atomic_write_bytes(tmp_path / "f", b"x")


def test_remove_stale_temporaries(tmp_path):
    target = tmp_path / "out.json"
    for name in [".out.json.abc.tmp", ".out.json.1.tmp", ".other.json.abc.tmp", "out.json"]:
        (tmp_path / name).write_text("x")
    assert bptt.io.atomic.remove_stale_temporaries(target) == 2
    assert sorted(os.listdir(tmp_path)) == [".other.json.abc.tmp", "out.json"]
