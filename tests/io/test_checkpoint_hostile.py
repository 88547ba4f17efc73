"""Hostile and broken checkpoint files, built by hand: each gives a CheckpointError naming the file
and the problem, executes nothing, and allocates nothing absurd. Many cases "rehash": they also
rewrite the record's npz size and SHA-256 to match the hostile npz, as an attacker who controls
both files would, so that the checks behind the whole-file hash are exercised too."""
import hashlib
import io
import json
import os
import re
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bptt.io.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

NPZ, JSON = "checkpoint-00000001.npz", "checkpoint-00000001.json"


def _save(directory):
    arrays = {"U": np.arange(6.0).reshape(2, 3), "V": np.arange(6.0).reshape(3, 2) + 10,
              "n": np.array(3)}
    save_checkpoint(directory, arrays, {"step": 3})
    return arrays


def _edit_record(directory, edit):
    path = directory / JSON
    record = json.loads(path.read_text())
    edit(record)
    path.write_text(json.dumps(record))


def _put_npz(directory, data: bytes, *, rehash=True):
    """Replace the npz with `data`; with rehash, make the record's size and hash agree."""
    (directory / NPZ).write_bytes(data)
    if rehash:
        def fix(record):
            record["npz"]["bytes"] = len(data)
            record["npz"]["sha256"] = hashlib.sha256(data).hexdigest()
        _edit_record(directory, fix)


def _zip(members: dict, compression=zipfile.ZIP_STORED) -> bytes:
    """A zip with the given raw member bytes (name -> bytes), duplicates allowed via lists."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def _npy(arr, **kwargs) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, **kwargs)
    return buf.getvalue()


class _Payload:
    """Unpickling this calls os.mkdir(marker): proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _pickle_npz(marker) -> bytes:
    obj = np.empty(2, dtype=object)
    obj[0], obj[1] = _Payload(marker), 1
    return _zip([("U.npy", _npy(np.arange(6.0).reshape(2, 3))), ("V.npy", _npy(np.zeros((3, 2)))),
                 ("n.npy", _npy(obj, allow_pickle=True))])


def test_pickle_payload_is_real(tmp_path):
    """Sanity check of the test itself: a pickle-allowing load of this npz does run the payload."""
    marker = tmp_path / "pwned"
    (tmp_path / "evil.npz").write_bytes(_pickle_npz(marker))
    with np.load(tmp_path / "evil.npz", allow_pickle=True) as npz:
        npz["n"]
    assert marker.exists()


@pytest.mark.parametrize("record_dtype, match", [
    ("<i8", r"'.*checkpoint-00000001.npz' hold array 'n' with dtype object, which is not numeric "
            r"\(an object array would need unpickling; refused\)"),
    ("|O", r"'.*checkpoint-00000001.json' lists array 'n' with dtype object; only numeric dtypes"),
])
def test_pickled_object_array_is_refused_and_never_run(tmp_path, record_dtype, match):
    _save(tmp_path)
    marker = tmp_path / "pwned"
    _put_npz(tmp_path, _pickle_npz(marker))

    def claim(record):
        record["arrays"][2]["shape"], record["arrays"][2]["dtype"] = [2], record_dtype
    _edit_record(tmp_path, claim)
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(tmp_path)
    assert not marker.exists()


def test_pickled_npz_without_rehash_fails_on_hash(tmp_path):
    _save(tmp_path)
    marker = tmp_path / "pwned"
    _put_npz(tmp_path, _pickle_npz(marker), rehash=False)
    with pytest.raises(CheckpointError, match=r"'.*checkpoint-00000001.npz' are \d+ bytes, but the "
                                              r"record says \d+: the file is truncated or was replaced"):
        load_checkpoint(tmp_path)
    assert not marker.exists()


def test_truncated_npz(tmp_path):
    _save(tmp_path)
    data = (tmp_path / NPZ).read_bytes()
    (tmp_path / NPZ).write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"checkpoint-00000001.npz' are \d+ bytes, but the "
                                              r"record says \d+: the file is truncated"):
        load_checkpoint(tmp_path)
    _put_npz(tmp_path, data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"checkpoint-00000001.npz' are not a valid npz "
                                              r"archive \(BadZipFile: "):
        load_checkpoint(tmp_path)


def test_flipped_byte_in_array_data(tmp_path):
    arrays = _save(tmp_path)
    data = bytearray((tmp_path / NPZ).read_bytes())
    at = data.find(arrays["V"].tobytes())
    data[at + 3] ^= 0xFF
    (tmp_path / NPZ).write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"checkpoint-00000001.npz' do not match the SHA-256 "
                                              r"in the record: the file is corrupt or was modified"):
        load_checkpoint(tmp_path)
    _put_npz(tmp_path, bytes(data))  # the zip's CRC-32 catches it next
    with pytest.raises(CheckpointError, match=r"not a valid npz archive \(BadZipFile: Bad CRC-32"):
        load_checkpoint(tmp_path)


def test_tampered_array_with_consistent_zip(tmp_path):
    """An attacker who rebuilds the zip (valid CRCs) and the npz hash is caught by the array hash."""
    arrays = _save(tmp_path)
    arrays["V"] = arrays["V"].copy()
    arrays["V"][1, 1] = 1e300
    _put_npz(tmp_path, _zip([(k + ".npy", _npy(a)) for k, a in arrays.items()]))
    with pytest.raises(CheckpointError, match=r"npz' hold array 'V' whose SHA-256 does not match "
                                              r"the record: the data was modified"):
        load_checkpoint(tmp_path)


def test_swapped_shapes_in_record(tmp_path):
    _save(tmp_path)

    def swap(record):
        a, b = record["arrays"][0], record["arrays"][1]
        a["shape"], b["shape"] = b["shape"], a["shape"]
    _edit_record(tmp_path, swap)
    with pytest.raises(CheckpointError, match=r"npz' hold array 'U' with shape \(2, 3\) and dtype "
                                              r"float64, but the record says shape \(3, 2\) and "
                                              r"dtype float64"):
        load_checkpoint(tmp_path)


def test_dtype_mismatch(tmp_path):
    _save(tmp_path)
    _edit_record(tmp_path, lambda r: r["arrays"][0].update(dtype="<f4"))
    with pytest.raises(CheckpointError, match=r"hold array 'U' with shape \(2, 3\) and dtype "
                                              r"float64, but the record says shape \(2, 3\) and "
                                              r"dtype float32"):
        load_checkpoint(tmp_path)


def test_absurd_size_is_refused_before_allocating(tmp_path):
    _save(tmp_path)
    save_checkpoint(tmp_path, {"U": np.zeros((2, 3))}, {"step": 4})  # generation 2, newest

    def huge(record):
        record["arrays"][0]["shape"] = [1_000_000_000, 1_000_000_000]
    path = tmp_path / "checkpoint-00000002.json"
    record = json.loads(path.read_text())
    huge(record)
    path.write_text(json.dumps(record))
    # No fallback to generation 1: the file may be fine and the limit too small.
    with pytest.raises(CheckpointError, match=r"checkpoint-00000002.json' asks for "
                       r"1,000,000,000,000,000,000 array elements in total \(largest: 'U' with "
                       r"shape \(1000000000, 1000000000\)\), more than max_elements=50,000,000. "
                       r"Pass a larger max_elements"):
        load_checkpoint(tmp_path)
    # Raising the limit gets past the size check to the header check; nothing is allocated.
    with pytest.raises(CheckpointError, match=r"hold array 'U' with shape \(2, 3\) .* record says "
                                              r"shape \(1000000000, 1000000000\)"):
        load_checkpoint(tmp_path, max_elements=10**19, generation=2)


def test_billion_element_array_is_refused(tmp_path):
    _save(tmp_path)
    _edit_record(tmp_path, lambda r: r["arrays"][2].update(shape=[1_000_000_000]))
    with pytest.raises(CheckpointError, match=r"asks for 1,000,000,012 array elements in total "
                                              r"\(largest: 'n' with shape \(1000000000,\)\)"):
        load_checkpoint(tmp_path)


def test_max_elements_is_a_user_limit(tmp_path):
    _save(tmp_path)  # 6 + 6 + 1 elements
    with pytest.raises(CheckpointError, match=r"asks for 13 array elements in total \(largest: "
                                              r"'(U|V)' with shape .*max_elements=12"):
        load_checkpoint(tmp_path, max_elements=12)
    assert load_checkpoint(tmp_path, max_elements=13)[1] == {"step": 3}


def test_not_a_zip(tmp_path):
    _save(tmp_path)
    _put_npz(tmp_path, b"just some text, not an archive")
    with pytest.raises(CheckpointError, match=r"checkpoint-00000001.npz' are not a zip archive"):
        load_checkpoint(tmp_path)
    # A .npy file with a zip glued to its end: zipfile alone would accept it, the PK check does not.
    arrays = {"U": np.zeros((2, 3)), "V": np.zeros((3, 2)), "n": np.array(3)}
    _put_npz(tmp_path, _npy(np.zeros(3)) + _zip([(k + ".npy", _npy(a)) for k, a in arrays.items()]))
    with pytest.raises(CheckpointError, match=r"are not a zip archive"):
        load_checkpoint(tmp_path)


def test_path_traversal_member(tmp_path):
    arrays = _save(tmp_path)
    members = [(k + ".npy", _npy(a)) for k, a in arrays.items()] + [("../../evil.npy", _npy(np.ones(1)))]
    _put_npz(tmp_path, _zip(members))
    with pytest.raises(CheckpointError, match=r"npz' hold a member '../../evil.npy' that the record "
                                              r"does not list"):
        load_checkpoint(tmp_path)
    assert not (tmp_path.parent / "evil.npy").exists() and not (tmp_path / "evil.npy").exists()


def test_traversal_in_record_file_name(tmp_path):
    _save(tmp_path)
    _edit_record(tmp_path, lambda r: r["npz"].update(file="../../etc/passwd"))
    with pytest.raises(CheckpointError, match=r"json' must have 'npz' = \{'file': "
                                              r"'checkpoint-00000001.npz'.* Got .*etc/passwd"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("members, match", [
    (lambda a: [("U.npy", _npy(a["U"])), ("V.npy", _npy(a["V"]))],
     r"npz' lack the array 'n' that the record lists"),
    (lambda a: [(k + ".npy", _npy(v)) for k, v in a.items()] + [("U.npy", _npy(a["U"]))],
     r"npz' hold a member name twice"),
    (lambda a: [(k + ".npy", _npy(v)) for k, v in a.items()] + [("extra.npy", _npy(a["U"]))],
     r"npz' hold a member 'extra.npy' that the record does not list"),
    (lambda a: [("U.npy", _npy(a["U"], version=(3, 0))), ("V.npy", _npy(a["V"])),
                ("n.npy", _npy(a["n"]))],
     r"npz' are not a valid npz archive \(ValueError: array 'U' uses .npy format version \(3, 0\)"),
    (lambda a: [("U.npy", _npy(a["U"]) + b"trailing"), ("V.npy", _npy(a["V"])), ("n.npy", _npy(a["n"]))],
     r"npz' hold 56 data bytes for array 'U', which needs 48"),
    (lambda a: [("U.npy", _npy(a["U"])[:-8]), ("V.npy", _npy(a["V"])), ("n.npy", _npy(a["n"]))],
     r"npz' hold 40 data bytes for array 'U', which needs 48"),
    (lambda a: [("U.npy", b"\x93NUMPY garbage"), ("V.npy", _npy(a["V"])), ("n.npy", _npy(a["n"]))],
     r"npz' are not a valid npz archive \(ValueError: "),
    (lambda a: [("U.npy", b""), ("V.npy", _npy(a["V"])), ("n.npy", _npy(a["n"]))],
     r"npz' are not a valid npz archive \(ValueError: "),
])
@pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")
def test_broken_members(tmp_path, members, match):
    arrays = _save(tmp_path)
    _put_npz(tmp_path, _zip(members(arrays)))
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(tmp_path)


def test_compressed_members_are_refused(tmp_path):
    arrays = _save(tmp_path)
    _put_npz(tmp_path, _zip([(k + ".npy", _npy(a)) for k, a in arrays.items()], zipfile.ZIP_DEFLATED))
    with pytest.raises(CheckpointError, match=r"npz' hold array 'U' compressed; checkpoints are "
                                              r"stored uncompressed"):
        load_checkpoint(tmp_path)


def test_missing_files(tmp_path):
    with pytest.raises(CheckpointError, match=r"Checkpoint directory '.*nowhere' does not exist"):
        load_checkpoint(tmp_path / "nowhere")
    with pytest.raises(CheckpointError, match=r"No checkpoint named 'checkpoint' in '.*' \(no "
                                              r"checkpoint-NNNNNNNN.json record\)"):
        load_checkpoint(tmp_path)
    _save(tmp_path)
    (tmp_path / NPZ).unlink()
    with pytest.raises(CheckpointError, match=r"No loadable checkpoint named 'checkpoint' in '.*'. "
                       r"generation 1: Checkpoint arrays '.*checkpoint-00000001.npz' are missing "
                       r"\(the record names this file\)"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match=r"Checkpoint record '.*checkpoint-00000007.json' is "
                                              r"missing"):
        load_checkpoint(tmp_path, generation=7)


@pytest.mark.parametrize("text, match", [
    (b"{not json", r"json' is not valid JSON: Expecting property name"),
    (b"\xff\xfe\x00garbage\x80", r"json' is not valid JSON: "),
    (b"", r"json' is not valid JSON: Expecting value"),
    (b"[" * 100_000 + b"]" * 100_000, r"json' is not valid JSON: maximum recursion depth"),
    (b'{"format": 1, "format": 2}', r"json' is not valid JSON: duplicate key 'format'"),
    (b"[1, 2]", r"json' must hold a JSON object. Got list"),
    (b'"a string"', r"json' must hold a JSON object. Got str"),
    (b"1" * 5000, r"json' is not valid JSON: Exceeds the limit"),
])
def test_record_not_json_object(tmp_path, text, match):
    _save(tmp_path)
    (tmp_path / JSON).write_bytes(text)
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(tmp_path, generation=1)


@pytest.mark.parametrize("edit, match", [
    (lambda r: r.update(format="pickle"), r"json' is not a bptt-checkpoint record: its 'format' is "
                                          r"'pickle'"),
    (lambda r: r.pop("format"), r"its 'format' is None"),
    (lambda r: r.update(format_version=2), r"json' has format_version 2, newer than the 1 this "
                                           r"version of bptt reads: upgrade bptt to load it"),
    (lambda r: r.update(format_version="1"), r"json' has an invalid 'format_version' '1' \(expected 1\)"),
    (lambda r: r.update(format_version=0), r"invalid 'format_version' 0"),
    (lambda r: r.update(format_version=True), r"invalid 'format_version' True"),
    (lambda r: r.update(generation=2), r"json' says generation 2, but its file name says 1"),
    (lambda r: r["npz"].update(sha256="XYZ"), r"json' must have 'npz' = "),
    (lambda r: r["npz"].update(bytes="10"), r"json' must have 'npz' = "),
    (lambda r: r.pop("npz"), r"Got None"),
    (lambda r: r.update(meta=[1]), r"json' must have a 'meta' object. Got list"),
    (lambda r: r.update(arrays={"U": 1}), r"json' must have an 'arrays' list. Got dict"),
    (lambda r: r["arrays"].append(r["arrays"][0]), r"json' has an invalid 'arrays' entry 3: expected "
                                                   r"a unique valid name"),
    (lambda r: r["arrays"][0].update(name="../U"), r"invalid 'arrays' entry 0"),
    (lambda r: r["arrays"][0].update(shape=[2, -3]), r"invalid 'arrays' entry 0"),
    (lambda r: r["arrays"][0].update(shape=[True, 3]), r"invalid 'arrays' entry 0"),
    (lambda r: r["arrays"][0].update(shape=[1] * 65), r"invalid 'arrays' entry 0: .*at most 64 ints"),
    (lambda r: r["arrays"][0].update(shape=2), r"invalid 'arrays' entry 0"),
    (lambda r: r["arrays"][0].update(extra=1), r"invalid 'arrays' entry 0"),
    (lambda r: r["arrays"][0].update(sha256=None), r"invalid 'arrays' entry 0"),
    (lambda r: r["arrays"].__setitem__(0, "U"), r"invalid 'arrays' entry 0: .* Got 'U'"),
    (lambda r: r["arrays"][0].update(dtype="nonsense"), r"json' lists array 'U' with an unknown "
                                                        r"dtype 'nonsense'"),
    (lambda r: r["arrays"][0].update(dtype="f8,i4"), r"lists array 'U' with dtype .*only numeric"),
    (lambda r: r["arrays"][0].update(dtype="<M8[s]"), r"with dtype datetime64\[s\]; only numeric"),
    (lambda r: r["arrays"][0].update(dtype="<U3"), r"with dtype <U3; only numeric"),
    (lambda r: r["arrays"][0].update(dtype="(2,3)f8"), r"lists array 'U' with dtype .*only numeric"),
    (lambda r: r["arrays"].append({"name": "ghost", "shape": [1], "dtype": "<f8", "sha256": "0" * 64}),
     r"npz' lack the array 'ghost' that the record lists"),
    (lambda r: r["arrays"].pop(), r"npz' hold a member 'n.npy' that the record does not list"),
])
def test_record_content_is_checked(tmp_path, edit, match):
    _save(tmp_path)
    _edit_record(tmp_path, edit)
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(tmp_path, generation=1)


def test_fallback_to_older_generation_warns(tmp_path):
    save_checkpoint(tmp_path, {"w": np.ones(2)}, {"step": 1})
    save_checkpoint(tmp_path, {"w": np.full(2, 2.0)}, {"step": 2})
    (tmp_path / "checkpoint-00000002.npz").write_bytes(b"garbage")
    with pytest.warns(RuntimeWarning, match=r"newer generations are broken, loaded generation 1. "
                      r"generation 2: Checkpoint arrays .* are 7 bytes"):
        arrays, meta = load_checkpoint(tmp_path)
    assert meta == {"step": 1} and np.array_equal(arrays["w"], np.ones(2))
    (tmp_path / "checkpoint-00000001.json").write_text("{}")
    with pytest.raises(CheckpointError, match=r"No loadable checkpoint named 'checkpoint' .* "
                                              r"generation 2: .* generation 1: .*'format' is None"):
        load_checkpoint(tmp_path)


# ---------------------------------------------------------------------------- fuzzing

_ANY = object()
_FUZZ = settings(max_examples=150, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])


# What a CheckpointError from load_checkpoint(directory, generation=1) may say: it names the record
# or the npz of generation 1, then what is wrong with it (checkpoint_load's messages: "... is not
# valid JSON: ...", "... hold array 'U' with shape ...", ...), and carries no traceback.
_ERROR = re.compile(r"Checkpoint (record '[^']*checkpoint-00000001\.json'|arrays '[^']*checkpoint-"
                    r"00000001\.npz') (is|are|has|hold|lists|lack|says|must|do|asks|cannot) "
                    r"(?![\s\S]*Traceback)\S[\s\S]*\Z")


def _load_or_error(directory, original, meta_edit=None):
    """Only two outcomes are allowed: a CheckpointError that names the file and its problem, or
    exactly the saved arrays — the same names, shapes, dtypes and bytes — (and the saved meta,
    unless the test edited it: meta lives in the record, which is not hashed)."""
    try:
        arrays, meta = load_checkpoint(directory, generation=1)
    except CheckpointError as e:
        assert _ERROR.match(str(e)), str(e)
        return
    if meta_edit is not _ANY:
        expected = {"step": 3} if meta_edit is None else meta_edit
        assert json.dumps(meta) == json.dumps(expected)  # text, so that NaN equals NaN
    assert sorted(arrays) == sorted(original)
    for k, a in arrays.items():
        assert (a.shape, a.dtype) == (original[k].shape, original[k].dtype), k
        assert a.tobytes() == original[k].tobytes(), k


@_FUZZ
@given(data=st.binary(max_size=2048), rehash=st.booleans())
def test_fuzz_random_npz_bytes(tmp_path_factory, data, rehash):
    directory = tmp_path_factory.mktemp("npz")
    _save(directory)
    _put_npz(directory, data, rehash=rehash)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(directory, generation=1)
    assert _ERROR.match(str(e.value)), str(e.value)


@_FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8),
       cut=st.one_of(st.none(), st.integers(0, 10**6)))
def test_fuzz_mutated_npz(tmp_path_factory, edits, cut):
    """Byte edits and truncations of a real npz, with a matching record hash: deep zip/npy paths."""
    directory = tmp_path_factory.mktemp("mut")
    original = _save(directory)
    data = bytearray((directory / NPZ).read_bytes())
    for at, value in edits:
        data[at % len(data)] = value
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    _put_npz(directory, bytes(data))
    _load_or_error(directory, original)


@_FUZZ
@given(data=st.binary(max_size=2048))
def test_fuzz_random_record_bytes(tmp_path_factory, data):
    directory = tmp_path_factory.mktemp("json")
    _save(directory)
    (directory / JSON).write_bytes(data)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(directory, generation=1)
    assert _ERROR.match(str(e.value)), str(e.value)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20)


@_FUZZ
@given(value=_json_values, key=st.sampled_from(["format", "format_version", "generation", "npz",
                                                "arrays", "meta", None]))
def test_fuzz_record_values(tmp_path_factory, value, key):
    """Any JSON in place of the record, or of one of its fields."""
    directory = tmp_path_factory.mktemp("val")
    original = _save(directory)
    if key is None:
        (directory / JSON).write_text(json.dumps(value))
    else:
        _edit_record(directory, lambda r: r.__setitem__(key, value))
    _load_or_error(directory, original, value if key == "meta" else None)


@_FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.characters()), min_size=1, max_size=4))
def test_fuzz_mutated_record_text(tmp_path_factory, edits):
    directory = tmp_path_factory.mktemp("txt")
    original = _save(directory)
    text = list((directory / JSON).read_text())
    for at, ch in edits:
        text[at % len(text)] = ch
    (directory / JSON).write_text("".join(text), encoding="utf-8", errors="surrogatepass")
    _load_or_error(directory, original, _ANY)  # an edit may land inside meta's values
