"""bptt.data.pairs: the seq2seq vocabulary, padded batches, pair files, splits, exact match."""
import doctest
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bptt.data import (BOS, EOS, PAD, DataError, PairBatch, PairVocab, batch_pairs, exact_match,
                       read_pairs, split_pairs)
from bptt.data import pairs as pairs_mod


# ---------------------------------------------------------------- PairVocab
def test_specials_come_first_then_sorted_characters():
    assert (PAD, BOS, EOS) == (0, 1, 2)
    v = PairVocab("hello")
    assert v.chars == "ehlo" and v.size == len(v) == 3 + 4
    # e=3, h=4, l=5, o=6, counted by hand
    assert v.encode("hole").tolist() == [4, 6, 5, 3]
    assert v.encode("hole", bos=True).tolist() == [1, 4, 6, 5, 3]
    assert v.encode("hole", eos=True).tolist() == [4, 6, 5, 3, 2]
    assert v.encode("", bos=True, eos=True).tolist() == [1, 2]
    assert v.encode("hole").dtype == np.int64
    assert PairVocab.from_texts(["hel", "lo", ""]) == v == PairVocab("olleh")
    assert PairVocab("abc") != v and PairVocab("hello") != "ehlo"
    assert hash(PairVocab("hello")) == hash(v)
    assert PairVocab("").size == 3 and PairVocab.from_texts(iter(["ab"])) == PairVocab("ba")
    assert repr(v) == "PairVocab(size=7, chars='ehlo')"


def test_the_docstring_examples_run():
    result = doctest.testmod(pairs_mod)
    assert result.attempted >= 3 and result.failed == 0


def test_special_ids_are_not_characters():
    # the control characters with the code points 0, 1, 2 are ordinary text: ids 3, 4, 5
    v = PairVocab("\x02\x00\x01")
    assert v.encode("\x00\x01\x02").tolist() == [3, 4, 5]
    assert v.decode([1, 5, 3, 4, 2, 3]) == "\x02\x00\x01"      # stops at the id EOS, not at "\x02"


def test_decode_stops_at_the_first_eos_and_skips_bos_and_pad():
    v = PairVocab("ab")                                          # a=3, b=4
    assert v.decode([1, 3, 0, 4, 2, 3, 4]) == "ab"
    assert v.decode(np.array([2, 3], dtype=np.uint8)) == ""
    assert v.decode([0, 0, 1]) == "" and v.decode([]) == ""
    assert v.decode([4, 4, 3]) == "bba"                          # no EOS: to the end


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(max_codepoint=0x2FF) | st.sampled_from("\x00\x01\x02é😀"),
               max_size=30),
       st.booleans(), st.booleans())
def test_encode_decode_round_trip(text, bos, eos):
    v = PairVocab(text + "z")
    ids = v.encode(text, bos=bos, eos=eos)
    assert ids.shape == (len(text) + bos + eos,)
    assert v.decode(ids) == text
    assert [v.chars[i - 3] for i in ids[bos:len(ids) - eos]] == list(text)


def test_json_round_trip():
    v = PairVocab("November 30, 2026\x00")
    saved = json.loads(json.dumps(v.to_json()))
    assert saved == {"chars": v.chars, "pad": 0, "bos": 1, "eos": 2}
    back = PairVocab.from_json(saved)
    assert back == v and back.encode("Nov 3", eos=True).tolist() == v.encode("Nov 3", eos=True).tolist()
    assert PairVocab.from_json(PairVocab("").to_json()) == PairVocab("")


@pytest.mark.parametrize("data,exc,match", [
    (["a"], TypeError, "'data' argument of PairVocab.from_json must be a dict .* Got list"),
    ({"chars": "ab"}, DataError, "must have exactly the keys chars, pad, bos, eos. Got chars"),
    ({"chars": "ab", "pad": 0, "bos": 1, "eos": 2, "x": 1}, DataError, "Got bos, chars, eos, pad, x"),
    ({"chars": "ab", "pad": 3, "bos": 1, "eos": 2}, DataError, "has pad=3, but this library's PAD id is 0"),
    ({"chars": "ab", "pad": 0, "bos": True, "eos": 2}, DataError, "has bos=True, but .* BOS id is 1"),
    ({"chars": "ab", "pad": 0, "bos": 1, "eos": 1}, DataError, "has eos=1, but .* EOS id is 2"),
    ({"chars": ["a"], "pad": 0, "bos": 1, "eos": 2}, DataError, "characters as a str under 'chars'. Got list"),
    ({"chars": "ba", "pad": 0, "bos": 1, "eos": 2}, DataError, "sorted characters without repeats .* Got 'b' before 'a' at index 1"),
    ({"chars": "aa", "pad": 0, "bos": 1, "eos": 2}, DataError, "Got 'a' before 'a' at index 1"),
])
def test_from_json_refuses_what_to_json_does_not_write(data, exc, match):
    with pytest.raises(exc, match=match):
        PairVocab.from_json(data)


def test_vocab_errors():
    v = PairVocab("abc")
    with pytest.raises(DataError, match=r"The 'text' argument of PairVocab.encode contains 2 "
                                        r"character\(s\) not in the vocabulary \(3 characters\): 'x', 'é'\."):
        v.encode("axébx")
    with pytest.raises(TypeError, match="'text' argument of PairVocab.encode must be a str. Got list"):
        v.encode(["a"])
    with pytest.raises(TypeError, match="'bos' parameter of PairVocab.encode must be True or False"):
        v.encode("a", bos=1)
    with pytest.raises(TypeError, match="'eos' parameter of PairVocab.encode must be True or False"):
        v.encode("a", eos="yes")
    with pytest.raises(ValueError, match=r"'ids' argument of PairVocab.decode must hold ids in \[0, 6\). Got 6"):
        v.decode([3, 6])
    with pytest.raises(ValueError, match=r"'ids' argument of PairVocab.decode must hold ids in \[0, 6\). Got -1"):
        v.decode([-1])
    with pytest.raises(ValueError, match=r"must be a 1-D sequence of token ids. Got shape \(1, 2\)"):
        v.decode([[3, 4]])
    with pytest.raises(TypeError, match="'chars' argument of PairVocab must be a str. Got list"):
        PairVocab(["a", "b"])
    with pytest.raises(TypeError, match=r"'texts' argument of PairVocab.from_texts must be an "
                                        r"iterable of strings \(use PairVocab\(chars\) for one string\)"):
        PairVocab.from_texts("abc")
    with pytest.raises(TypeError, match="'texts' argument of .* must hold strings. Got 3 of type int at index 1"):
        PairVocab.from_texts(["a", 3])
    with pytest.raises(DataError, match="'texts' argument of PairVocab.from_texts must hold at least one text"):
        PairVocab.from_texts([])


# ---------------------------------------------------------------- batch_pairs
def test_hand_worked_batch():
    src_v, tgt_v = PairVocab("abc"), PairVocab("xy")           # a=3 b=4 c=5; x=3 y=4
    batch = batch_pairs([("ab", "yx"), ("c", "")], src_v, tgt_v)
    assert isinstance(batch, PairBatch)
    # source column 0: a b EOS; column 1: c EOS PAD
    np.testing.assert_array_equal(batch.src, [[3, 5],
                                              [4, 2],
                                              [2, 0]])
    np.testing.assert_array_equal(batch.src_mask, [[1, 1],
                                                   [1, 1],
                                                   [1, 0]])
    # target column 0: BOS y x EOS; column 1: BOS EOS PAD PAD (an empty target: EOS at once)
    np.testing.assert_array_equal(batch.tgt, [[1, 1],
                                              [4, 2],
                                              [3, 0],
                                              [2, 0]])
    # predicted tgt[1:]: column 0 y x EOS (all real); column 1 EOS, then padding
    np.testing.assert_array_equal(batch.tgt_mask, [[1, 1],
                                                   [1, 0],
                                                   [1, 0]])
    np.testing.assert_array_equal(batch.src_lengths, [3, 2])
    np.testing.assert_array_equal(batch.tgt_lengths, [3, 1])
    assert batch.src.dtype == batch.tgt.dtype == np.int64
    assert batch.src_mask.dtype == batch.tgt_mask.dtype == np.float64
    assert batch.src_lengths.dtype == batch.tgt_lengths.dtype == np.int64


def test_batch_agrees_with_encode_column_by_column(rng):
    letters = "abcdefg"
    pairs = []
    for _ in range(40):
        s = "".join(rng.choice(list(letters), size=rng.integers(1, 9)))
        t = "".join(rng.choice(list(letters.upper()), size=rng.integers(0, 7)))
        pairs.append((s, t))
    src_v = PairVocab.from_texts(s for s, _ in pairs)
    tgt_v = PairVocab.from_texts(t for _, t in pairs)
    b = batch_pairs(pairs, src_v, tgt_v)
    S, T = max(len(s) for s, _ in pairs) + 1, max(len(t) for _, t in pairs) + 2
    assert b.src.shape == b.src_mask.shape == (S, 40) and b.tgt.shape == (T, 40)
    assert b.tgt_mask.shape == (T - 1, 40)
    for col, (s, t) in enumerate(pairs):
        want_src = list(src_v.encode(s, eos=True)) + [PAD] * (S - len(s) - 1)
        want_tgt = list(tgt_v.encode(t, bos=True, eos=True)) + [PAD] * (T - len(t) - 2)
        assert b.src[:, col].tolist() == want_src and b.tgt[:, col].tolist() == want_tgt
        assert b.src_mask[:, col].tolist() == [float(i != PAD) for i in want_src]
        assert b.tgt_mask[:, col].tolist() == [float(i != PAD) for i in want_tgt[1:]]
        assert src_v.decode(b.src[:, col]) == s and tgt_v.decode(b.tgt[:, col]) == t
    np.testing.assert_array_equal(b.src_lengths, b.src_mask.sum(0))
    np.testing.assert_array_equal(b.tgt_lengths, b.tgt_mask.sum(0))


def test_batch_errors():
    v = PairVocab("abc")
    with pytest.raises(DataError, match=r"empty source at index 1 \(target 'x'\): nothing to translate"):
        batch_pairs([("a", "b"), ("", "x")], v, v)
    with pytest.raises(DataError, match=r"pair 1, source 'az', contains 1 character\(s\) not in "
                                        r"src_vocab \(3 characters\): 'z'"):
        batch_pairs([("a", "b"), ("az", "a")], v, v)
    with pytest.raises(DataError, match=r"pair 0, target 'ayy', contains 1 character\(s\) not in tgt_vocab"):
        batch_pairs([("a", "ayy")], v, v)
    with pytest.raises(DataError, match="'pairs' argument of batch_pairs must hold at least one pair"):
        batch_pairs([], v, v)
    with pytest.raises(TypeError, match="'pairs' argument of batch_pairs must be a list .* Got dict"):
        batch_pairs({"a": "b"}, v, v)
    with pytest.raises(TypeError, match=r"must hold \(source, target\) pairs of strings. Got \('a', 3\) at index 0"):
        batch_pairs([("a", 3)], v, v)
    with pytest.raises(TypeError, match=r"Got \('a', 'b', 'c'\) at index 1"):
        batch_pairs([("a", "b"), ("a", "b", "c")], v, v)
    with pytest.raises(TypeError, match="'tgt_vocab' argument of batch_pairs must be a PairVocab. Got str"):
        batch_pairs([("a", "b")], v, "abc")
    with pytest.raises(TypeError, match="'src_vocab' argument of batch_pairs must be a PairVocab. Got Vocab"):
        from bptt.data import Vocab
        batch_pairs([("a", "b")], Vocab("abc"), v)


# ---------------------------------------------------------------- read_pairs
def test_read_pairs(tmp_path):
    p = tmp_path / "pairs.tsv"
    p.write_bytes("30 Nov 2026\t2026-11-30\r\n\n  \nabc\tcba\n x \t\né\t\n".encode())
    assert read_pairs(p) == [("30 Nov 2026", "2026-11-30"), ("abc", "cba"), (" x ", ""), ("é", "")]
    assert read_pairs(str(p)) == read_pairs(p)
    q = tmp_path / "latin.tsv"
    q.write_bytes("é\tx".encode("latin-1"))
    assert read_pairs(q, encoding="latin-1") == [("é", "x")]


def test_read_pairs_errors(tmp_path):
    def file(name, text):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path
    with pytest.raises(DataError, match=r"two\.tsv', line 3: expected one 'source<TAB>target' pair "
                                        r"\(exactly one tab\), found 2 tabs in 'a\\tb\\tc'"):
        read_pairs(file("two.tsv", "x\ty\n\na\tb\tc\n"))
    with pytest.raises(DataError, match=r"none\.tsv', line 2: .* found 0 tabs in 'no tab here'"):
        read_pairs(file("none.tsv", "x\ty\nno tab here\n"))
    with pytest.raises(DataError, match=r"src\.tsv', line 1: the source is empty \(nothing to translate\)"):
        read_pairs(file("src.tsv", "\tx\n"))
    with pytest.raises(DataError, match=r"blank\.tsv': it holds no pairs"):
        read_pairs(file("blank.tsv", "\n  \n\t\n"))
    with pytest.raises(DataError, match=r"empty\.tsv': the file is empty"):
        read_pairs(file("empty.tsv", ""))
    with pytest.raises(DataError, match=r"missing\.tsv': no such file"):
        read_pairs(tmp_path / "missing.tsv")
    with pytest.raises(DataError, match=r"Cannot decode .*bad\.tsv' as utf-8: invalid byte\(s\) 0xff at byte offset 0"):
        (tmp_path / "bad.tsv").write_bytes(b"\xff\tx")
        read_pairs(tmp_path / "bad.tsv")
    with pytest.raises(TypeError, match="'path' argument of read_pairs must be a path .* Got 3 of type int"):
        read_pairs(3)
    with pytest.raises(ValueError, match="'encoding' parameter of read_pairs must name a text encoding"):
        read_pairs(file("ok.tsv", "a\tb"), encoding="no-such-codec")


# ---------------------------------------------------------------- split_pairs
def test_split_holds_out_a_tenth_of_the_sources():
    pairs = [(f"s{i}", f"t{i}") for i in range(100)]
    pairs += [(f"s{i}", "other") for i in range(0, 100, 7)] + pairs[:20]     # repeated sources
    train, val = split_pairs(pairs, seed=3)
    assert len(val) == 10 and len(train) == 90
    train_src = {s for s, _ in train}
    assert not train_src & {s for s, _ in val}
    assert train_src | {s for s, _ in val} == {f"s{i}" for i in range(100)}
    assert all(t == "t" + s[1:] for s, t in train + val)           # the first pair of each source
    order = [s for s, _ in pairs[:100]]
    assert [s for s, _ in train] == [s for s in order if s in train_src]      # input order kept
    assert split_pairs(pairs, seed=3) == (train, val)
    assert split_pairs(pairs, seed=np.random.default_rng(3)) == (train, val)
    assert split_pairs(pairs, seed=4)[1] != val
    assert len(split_pairs(pairs, val_fraction=0.25)[1]) == 25


def test_split_keeps_one_pair_on_each_side():
    pairs = [("a", "1"), ("b", "2"), ("a", "3")]
    for frac in (0.01, 0.5, 0.99):
        train, val = split_pairs(pairs, val_fraction=frac)
        assert len(train) == len(val) == 1 and {train[0][0], val[0][0]} == {"a", "b"}


def test_split_errors():
    with pytest.raises(DataError, match=r"at least 2 distinct sources \(1 for training, 1 for "
                                        r"validation\). Got 1 among 3 pairs"):
        split_pairs([("a", "1"), ("a", "2"), ("a", "1")])
    with pytest.raises(ValueError, match=r"'val_fraction' parameter of split_pairs must be a finite number in \(0, 1\)"):
        split_pairs([("a", "1"), ("b", "2")], val_fraction=1.0)
    with pytest.raises(ValueError, match="'seed' parameter of split_pairs"):
        split_pairs([("a", "1"), ("b", "2")], seed=-1)
    with pytest.raises(DataError, match="'pairs' argument of split_pairs must hold at least one pair"):
        split_pairs(())


# ---------------------------------------------------------------- exact_match
def test_exact_match():
    assert exact_match(["abc", "x", ""], ["abc", "y", ""]) == 2 / 3
    assert exact_match(("a",), ["a"]) == 1.0 and exact_match(["ab"], ["a"]) == 0.0
    with pytest.raises(ValueError, match="must have the same length. Got 2 and 1"):
        exact_match(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="'targets' argument of exact_match must hold at least one"):
        exact_match([], [])
    with pytest.raises(TypeError, match="'predictions' argument of exact_match must be a list of strings. Got str"):
        exact_match("abc", ["abc"])
    with pytest.raises(TypeError, match="'targets' argument of exact_match must hold strings. Got 3 of type int at index 1"):
        exact_match(["a", "b"], ["a", 3])
