"""bptt.data: the character vocabulary, reading text files, the built-in corpus."""
import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bptt.data import DataError, Vocab, builtin_corpus, load_text
from bptt.data import text as text_mod


# ---------------------------------------------------------------- Vocab
def test_vocab_is_sorted_unique_chars_and_deterministic():
    v = Vocab("hello world")
    assert v.chars == " dehlorw"
    assert v.size == len(v) == 8
    assert Vocab("world hello") == v                     # same set of chars, same ids
    assert v.encode("hello").tolist() == [3, 2, 4, 4, 5]


def test_encode_returns_intp_and_decode_round_trips():
    text = "ab\nc\tZ é 一 😀"
    v = Vocab(text)
    ids = v.encode(text)
    assert ids.dtype == np.intp and ids.shape == (len(text),)
    assert v.decode(ids) == text
    assert v.decode(list(ids)) == text
    assert v.decode([]) == "" and v.encode("").shape == (0,)
    # id i ↔ chars[i]
    assert [v.chars[i] for i in ids] == list(text)


def test_to_list_from_list_through_json():
    v = Vocab("the quick brown fox\n")
    saved = json.dumps(v.to_list())
    back = Vocab.from_list(json.loads(saved))
    assert back == v and back.chars == v.chars
    assert np.array_equal(back.encode("fox"), v.encode("fox"))


def test_encode_unknown_chars_names_all_of_them_once():
    v = Vocab("abc")
    with pytest.raises(DataError, match=r"2 character\(s\) not in the vocabulary of size 3: "
                                        r"'\\n', 'z'\.") as info:
        v.encode("abz\nzz\n")
    assert isinstance(info.value, ValueError)


def test_vocab_errors():
    with pytest.raises(TypeError, match=r"'text' argument of Vocab must be a str\. Got bytes"):
        Vocab(b"abc")
    with pytest.raises(DataError, match=r"at least one character\. Got an empty string"):
        Vocab("")
    v = Vocab("abc")
    with pytest.raises(TypeError, match=r"'text' argument of Vocab\.encode must be a str\. Got list"):
        v.encode(["a"])
    with pytest.raises(ValueError, match=r"'ids' argument of Vocab\.decode must hold ids in "
                                         r"\[0, 3\)\. Got 3"):
        v.decode([0, 3])
    with pytest.raises(ValueError, match=r"ids in \[0, 3\)\. Got -1"):
        v.decode(np.array([-1, 0]))
    with pytest.raises(TypeError, match=r"'ids' argument of Vocab\.decode must hold integer token ids\. "
                                        r"Got dtype float64"):
        v.decode([0.0, 1.0])
    with pytest.raises(ValueError, match=r"'ids' argument of Vocab\.decode must be a 1-D sequence of token ids\. "
                                         r"Got shape \(2, 2\)"):
        v.decode(np.zeros((2, 2), dtype=int))


def test_from_list_errors():
    with pytest.raises(TypeError, match=r"'chars' argument of Vocab\.from_list must be a list .* Got str"):
        Vocab.from_list("abc")
    with pytest.raises(ValueError, match=r"at least one character\. Got an empty list"):
        Vocab.from_list([])
    with pytest.raises(ValueError, match=r"one-character strings\. Got 'ab' at index 1"):
        Vocab.from_list(["a", "ab"])
    with pytest.raises(ValueError, match=r"sorted and without repeats .* Got 'b' before 'a' at index 2"):
        Vocab.from_list(["0", "b", "a"])
    with pytest.raises(ValueError, match=r"Got 'a' before 'a' at index 1"):
        Vocab.from_list(["a", "a"])


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1))
def test_encode_decode_round_trip_random_text(text):
    v = Vocab(text)
    ids = v.encode(text)
    assert v.decode(ids) == text
    assert v.chars == "".join(sorted(set(text)))
    assert Vocab.from_list(v.to_list()) == v


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1), st.text(min_size=1))
def test_encode_unknown_random(known, other):
    v = Vocab(known)
    missing = sorted(set(other) - set(known))
    if not missing:
        assert v.decode(v.encode(other)) == other
    else:
        with pytest.raises(DataError) as info:
            v.encode(other)
        assert str(info.value).endswith(": " + ", ".join(repr(c) for c in missing) + ".")


# ---------------------------------------------------------------- load_text
def test_load_text_single_and_several_files_in_order(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes(b"first\r\n")
    b.write_text("second é", encoding="utf-8")
    assert load_text(a) == "first\r\n"                   # bytes as they are: no newline translation
    assert load_text(str(a)) == "first\r\n"
    assert load_text([b, a]) == "second éfirst\r\n"
    assert load_text((a, str(b))) == "first\r\nsecond é"


def test_load_text_missing_file_directory_and_empty(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(DataError, match=rf"Cannot read {re.escape(repr(str(missing)))}: no such file"):
        load_text(missing)
    with pytest.raises(DataError, match=r"it is a directory, not a file"):
        load_text(tmp_path)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match=r"'[^']*empty\.txt': the file is empty"):
        load_text([empty])
    good = tmp_path / "good.txt"
    good.write_text("ok")
    with pytest.raises(DataError, match=r"nope\.txt"):   # the bad one is named, not the first
        load_text([good, missing])


@pytest.mark.parametrize("error, message", [
    (PermissionError(13, "Permission denied"), r"'[^']*a\.txt': permission denied\."),
    (OSError(5, "Input/output error"), r"'[^']*a\.txt': Input/output error\."),
])
def test_load_text_os_errors_become_data_errors(tmp_path, monkeypatch, error, message):
    f = tmp_path / "a.txt"
    f.write_text("a")

    def failing_open(*args, **kwargs):
        raise error
    monkeypatch.setattr(text_mod, "open", failing_open, raising=False)
    with pytest.raises(DataError, match=r"Cannot read " + message):
        load_text(f)


def test_load_text_non_utf8_names_file_and_byte_offset(tmp_path):
    f = tmp_path / "bad.txt"
    f.write_bytes(b"abc\xff")
    with pytest.raises(DataError, match=r"Cannot decode '[^']*bad\.txt' as utf-8: invalid byte\(s\) "
                                        r"0xff at byte offset 3 \(invalid start byte\)"):
        load_text(f)
    f.write_bytes("héllo".encode("utf-8") + b"\xe2\x82")   # truncated 3-byte sequence at offset 6
    with pytest.raises(DataError, match=r"0xe2 0x82 at byte offset 6"):
        load_text(f)


def test_load_text_latin1_with_encoding_option(tmp_path):
    f = tmp_path / "latin.txt"
    f.write_bytes("café naïve ÿ".encode("latin-1"))
    with pytest.raises(DataError, match=r"at byte offset 3"):
        load_text(f)
    assert load_text(f, encoding="latin-1") == "café naïve ÿ"
    assert load_text([f, f], encoding="latin-1") == "café naïve ÿ" * 2


def test_load_text_parameter_errors(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("a")
    with pytest.raises(ValueError, match=r"'encoding' parameter of load_text must name a text "
                                         r"encoding .* Got 'no-such-codec'"):
        load_text(f, encoding="no-such-codec")
    with pytest.raises(ValueError, match=r"Got 'rot13'"):       # a str→str codec, not for bytes
        load_text(f, encoding="rot13")
    with pytest.raises(TypeError, match=r"'encoding' parameter of load_text must be a str .* Got None"):
        load_text(f, encoding=None)
    with pytest.raises(ValueError, match=r"'paths' parameter of load_text must name at least one "
                                         r"file\. Got an empty list"):
        load_text([])
    with pytest.raises(TypeError, match=r"'paths' parameter of load_text must be a path or a list "
                                        r"of paths\. Got int"):
        load_text(3)
    with pytest.raises(TypeError, match=r"must hold paths .* Got 3 of type int at index 1"):
        load_text([f, 3])
    with pytest.raises(DataError, match=r"Cannot read"):         # NUL in a path: still DataError
        load_text("a\x00b")


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=64), encoding=st.sampled_from(["utf-8", "utf-16", "ascii", "latin-1"]))
def test_random_bytes_give_text_or_data_error(tmp_path_factory, data, encoding):
    f = tmp_path_factory.mktemp("rand") / "x.bin"
    f.write_bytes(data)
    try:
        text = load_text(f, encoding=encoding)
    except DataError as e:
        assert "x.bin" in str(e)
    else:
        assert text == data.decode(encoding) and text


# ---------------------------------------------------------------- builtin_corpus
def test_builtin_corpus_is_deterministic_nonempty_and_capped():
    a = builtin_corpus(max_bytes=300_000)
    b = builtin_corpus(max_bytes=300_000)
    assert a == b and len(a) == 300_000
    small = builtin_corpus(max_bytes=1000)
    assert small == a[:1000]                              # the cap cuts one fixed sequence
    assert "def " in a and "import " in a
    assert len(builtin_corpus(max_bytes=1)) == 1


def test_builtin_corpus_file_list_excludes_tests_and_is_sorted():
    import sysconfig
    files = text_mod._stdlib_sources(sysconfig.get_paths()["stdlib"])
    assert files == sorted(files) and files
    assert "os.py" in files and "json/__init__.py" in files
    for rel in files:
        parts = rel.split("/")
        assert rel.endswith(".py")
        assert not set(parts[:-1]) & {"test", "tests", "idlelib", "site-packages"}


def test_builtin_corpus_default_size_and_speed():
    import time
    t0 = time.perf_counter()
    text = builtin_corpus()
    assert time.perf_counter() - t0 < 1.0
    assert 0 < len(text) <= 2_000_000


def test_builtin_corpus_errors():
    with pytest.raises(ValueError, match=r"'max_bytes' parameter of builtin_corpus must be an int "
                                         r">= 1\. Got 0"):
        builtin_corpus(max_bytes=0)
    with pytest.raises(TypeError, match=r"'max_bytes' parameter .* Got 1\.5 of type float"):
        builtin_corpus(max_bytes=1.5)


def test_vocab_handles_lone_surrogates_and_astral_chars():
    text = "a\ud800b😀"                                    # e.g. from errors="surrogateescape"
    v = Vocab(text)
    assert v.size == 4 and v.decode(v.encode(text)) == text


def test_a_directory_is_named_once(tmp_path):
    with pytest.raises(DataError, match=r"^Cannot read '[^']*': it is a directory, not a file\.$"):
        load_text(tmp_path)
