"""Prepared corpora (bptt.data.tokens, bptt.io.corpus): the token file read through np.memmap
gives the same vocabulary, ids, batches, evaluation, fingerprint and training as CharData of the
same text; the id type fits the vocabulary; stale caches are found; file and encoding errors name
the file and the byte offset, as load_text does."""
import json
import os
import re

import numpy as np
import pytest

from bptt import SimpleRNN
from bptt.data import DataError, StreamBatcher, load_text, open_corpus, stale_reason, token_dtype
from bptt.data.chardata import CharData
from bptt.data.tokens import META_NAME, TOKENS_NAME, encode_chunks
from bptt.data.vocab import Vocab
from bptt.io.corpus import CACHE_NAME, cached_corpus, prepare_corpus
from bptt.io.run_lock import RunLock, RunLockedError
from bptt.training.loop import TrainConfig, evaluate, train
from corpus import small_text

# ASCII with 2-, 3- and 4-byte UTF-8 characters, so that small chunks cut characters in two
TEXT = small_text(3000) + "naïve café — ünïcödé 😀 ∑x² " * 20 + small_text(1000, seed=1)


@pytest.fixture()
def files(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes(TEXT[:2500].encode())
    b.write_bytes(TEXT[2500:].encode())
    return [a, b]


def prepared(files, out, **kw):
    return open_corpus(prepare_corpus(files, out, chunk_bytes=kw.pop("chunk_bytes", 37),
                                      progress=False, **kw), **kw)


def test_the_mapped_corpus_is_chardata_of_the_same_text(files, tmp_path):
    mc = prepared(files, tmp_path / "c")
    cd = CharData.from_text(load_text(files))
    assert mc.vocab == cd.vocab and mc.train_ids.dtype == np.uint8
    assert np.array_equal(mc.train_ids, cd.train_ids) and np.array_equal(mc.val_ids, cd.val_ids)
    assert isinstance(mc.train_ids, np.memmap) and not mc.train_ids.flags.writeable
    assert mc.fingerprint() == cd.fingerprint()                  # recorded at preparation
    for f in (0.25, 0.05):                                      # computed by reading the file
        m2, c2 = open_corpus(tmp_path / "c", val_fraction=f), CharData.from_text(TEXT, val_fraction=f)
        assert np.array_equal(m2.val_ids, c2.val_ids) and m2.fingerprint() == c2.fingerprint()


@pytest.mark.parametrize("B, k, stride", [(4, 10, None), (3, 12, 5), (1, 7, 3), (5, 9, 1)])
def test_memory_mapped_batches_equal_in_memory_batches(files, tmp_path, B, k, stride):
    mc = prepared(files, tmp_path / "c")
    cd = CharData.from_text(TEXT)
    mm, mem = (StreamBatcher(d.train_ids, B, k, stride=stride) for d in (mc, cd))
    assert np.shares_memory(mm.streams, mc.train_ids)           # a view of the file: no copy
    assert np.array_equal(mm.streams, mem.streams) and mm.batches_per_epoch == mem.batches_per_epoch
    for _ in range(2 * mem.batches_per_epoch + 3):               # every window, past two epochs
        a, b = mm.next_batch(), mem.next_batch()
        assert a.reset == b.reset and np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
        assert a.x.dtype == a.y.dtype == np.intp and a.x.flags.c_contiguous and a.y.flags.c_contiguous
        assert mm.state() == mem.state()


def test_evaluate_streams_over_the_memmap_as_over_the_array(files, tmp_path):
    mc = prepared(files, tmp_path / "c", val_fraction=0.4)
    V = mc.vocab.size
    model = SimpleRNN(V, 8, V, seed=0)
    ids = np.array(mc.val_ids, dtype=np.intp)
    for batch, seq_len, max_chars in [(4, 10, 100_000), (1, 16, None), (3, 5, 200)]:
        assert (evaluate(model, mc.val_ids, batch, seq_len, max_chars)
                == evaluate(model, ids, batch, seq_len, max_chars))
    bad = ids.copy()
    bad[50] = V
    with pytest.raises(ValueError, match=rf"The 'ids' argument of evaluate must hold ids in "
                                         rf"\[0, {V}\)\. Got {V}\."):
        evaluate(model, bad, 1, 10, None)


def test_training_on_the_memmap_equals_training_on_chardata_and_resumes_across(files, tmp_path):
    mc, cd = prepared(files, tmp_path / "c"), CharData.from_text(TEXT)
    V = cd.vocab.size

    def cfg(out, **kw):
        return TrainConfig(**{**dict(steps=12, seq_len=10, batch=4, stride=6, eval_every=4,
                                     checkpoint_every=5, eval_chars=400, progress=False,
                                     out=str(out)), **kw})
    a, b = SimpleRNN(V, 8, V, seed=0, dtype="float32"), SimpleRNN(V, 8, V, seed=0, dtype="float32")
    ha, hb = train(a, mc, cfg(tmp_path / "a")), train(b, cd, cfg(tmp_path / "b"))
    assert [r["val_loss"] for r in ha] == [r["val_loss"] for r in hb]
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    part = SimpleRNN(V, 8, V, seed=0, dtype="float32")
    train(part, cd, cfg(tmp_path / "r", steps=5))               # started in memory ...
    resumed = SimpleRNN(V, 8, V, seed=0, dtype="float32")
    train(resumed, mc, cfg(tmp_path / "r", resume=True))        # ... resumed on the memmap
    assert all(np.array_equal(a.params[k], resumed.params[k]) for k in a.params)


def test_the_id_type_fits_the_vocabulary(tmp_path):
    assert [token_dtype(n).name for n in (1, 256, 257, 65536, 65537)] == \
        ["uint8", "uint8", "uint16", "uint16", "uint32"]
    with pytest.raises(DataError, match=r"A vocabulary of 4294967297 characters does not fit in "
                                        r"uint32 ids\."):
        token_dtype(2**32 + 1)
    for n_chars, dtype in ((256, np.uint8), (300, np.uint16)):
        text = "".join(chr(0x100 + i) for i in range(n_chars)) * 3 + "".join(
            chr(0x100 + i) for i in range(n_chars - 1, -1, -1))
        path = tmp_path / f"{n_chars}.txt"
        path.write_text(text, encoding="utf-8")
        mc = prepared([path], tmp_path / f"c{n_chars}", chunk_bytes=100)
        cd = CharData.from_text(text)
        assert mc.vocab.size == n_chars and mc.train_ids.dtype == dtype
        assert json.loads((tmp_path / f"c{n_chars}" / META_NAME).read_text())["dtype"] == np.dtype(dtype).name
        assert os.path.getsize(tmp_path / f"c{n_chars}" / TOKENS_NAME) == len(text) * np.dtype(dtype).itemsize
        assert np.array_equal(mc.train_ids, cd.train_ids) and np.array_equal(mc.val_ids, cd.val_ids)


def test_a_stale_cache_is_found_and_prepared_again(files, tmp_path):
    run = tmp_path / "run"
    mc = cached_corpus(files, run, progress=False)
    cache = run / CACHE_NAME
    assert stale_reason(cache, files, "utf-8") is None
    stamp = os.stat(cache / TOKENS_NAME).st_mtime_ns
    assert cached_corpus(files, run, progress=False).vocab == mc.vocab
    assert os.stat(cache / TOKENS_NAME).st_mtime_ns == stamp       # reused, not rewritten
    with open(files[1], "a", encoding="utf-8") as f:
        f.write("Z" * 50)
    os.utime(files[1], ns=(stamp + 10**9, stamp + 10**9))
    assert re.fullmatch(r"'.*b\.txt' changed since it was prepared \([\d,]+ bytes then, "
                        r"[\d,]+ now; modified after\)", stale_reason(cache, files, "utf-8"))
    with pytest.raises(DataError, match=r"The prepared corpus in .* is stale: '.*b\.txt' changed "
                                        r"since it was prepared .* Prepare it again"):
        open_corpus(cache)
    assert open_corpus(cache, check_sources=False).vocab == mc.vocab
    again = cached_corpus(files, run, progress=False)
    assert "Z" in again.vocab.chars and len(again.val_ids) + len(again.train_ids) == len(TEXT) + 50
    assert stale_reason(cache, files[:1], "utf-8").startswith("it was prepared from [")
    assert stale_reason(cache, files, "latin-1") == "it was decoded as utf-8, not latin-1"
    os.remove(files[0])                                         # the text gone: tokens stand alone
    assert open_corpus(cache).vocab == again.vocab
    assert stale_reason(cache, files, "utf-8") == f"{str(files[0].resolve())!r} cannot be read"


def test_cached_corpus_prepares_under_the_run_lock(files, tmp_path):
    with RunLock(tmp_path / "run"):
        with pytest.raises(RunLockedError, match=r"is in use: another `bptt train`"):
            cached_corpus(files, tmp_path / "run", progress=False)


@pytest.mark.parametrize("data, cut", [
    (b"abc" * 20 + b"\xff" + b"abc", 60),                       # a bad byte past the first chunk
    (b"x" * 35 + "é".encode() + b"\xc3\x28" + b"y" * 10, 37),    # a bad 2-byte sequence at a cut
    (b"x" * 50 + "😀".encode()[:3], 50),                        # the file ends inside a character
])
def test_encoding_errors_name_the_file_and_byte_offset_as_load_text(tmp_path, data, cut):
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    with pytest.raises(DataError) as expected:
        load_text([path])
    assert f"at byte offset {cut} " in str(expected.value)
    with pytest.raises(DataError, match=re.escape(str(expected.value))):
        prepare_corpus([path], tmp_path / "c", chunk_bytes=16, progress=False)
    assert not (tmp_path / "c" / META_NAME).exists()


def test_file_problems_are_data_errors_naming_the_file(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(DataError, match=r"Cannot use '[^']*empty\.txt': the file is empty\."):
        prepare_corpus([tmp_path / "empty.txt"], tmp_path / "c", progress=False)
    with pytest.raises(DataError, match=r"Cannot read '[^']*missing\.txt': no such file\."):
        prepare_corpus([tmp_path / "missing.txt"], tmp_path / "c", progress=False)
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf")
    with pytest.raises(DataError, match=r"'[^']*bom\.txt': it holds no text once decoded as utf-8-sig"):
        prepare_corpus([tmp_path / "bom.txt"], tmp_path / "c", encoding="utf-8-sig", progress=False)
    with pytest.raises(ValueError, match=r"The 'paths' parameter of prepare_corpus must name at "
                                         r"least one file\. Got an empty list\."):
        prepare_corpus([], tmp_path / "c")
    with pytest.raises(DataError, match=r"Cannot encode '[^']*a\.txt': it holds characters outside "
                                        r"the vocabulary \(did it change while it was being prepared\?\)"):
        (tmp_path / "a.txt").write_text("abcd")
        list(encode_chunks([tmp_path / "a.txt"], Vocab("abc")))


def test_a_file_changed_between_the_passes_is_refused(files, tmp_path, monkeypatch):
    import bptt.io.corpus as corpus
    real = corpus.source_record
    monkeypatch.setattr(corpus, "source_record", lambda p: {**real(p), "mtime_ns": 1})
    with pytest.raises(DataError, match=r"The text files changed while they were being prepared "
                                        r"\([\d,]+ characters in the first pass, [\d,]+ in the "
                                        r"second\): prepare the corpus again\."):
        corpus.prepare_corpus(files, tmp_path / "c", progress=False)
    assert not (tmp_path / "c" / TOKENS_NAME).exists() and not (tmp_path / "c" / META_NAME).exists()


def test_damaged_prepared_corpora_are_refused(files, tmp_path):
    with pytest.raises(DataError, match=r"is not a prepared corpus: it has no corpus\.json \(make "
                                        r"one with `bptt prepare FILES --out .*`\)\."):
        open_corpus(tmp_path)
    c = tmp_path / "c"
    prepare_corpus(files, c, progress=False)
    meta = json.loads((c / META_NAME).read_text())
    with open(c / TOKENS_NAME, "r+b") as f:
        f.truncate(100)
    with pytest.raises(DataError, match=r"tokens\.bin is 100 bytes, but corpus\.json says [\d,]+: "
                                        r"the file is truncated or was replaced\."):
        open_corpus(c, check_sources=False)
    assert stale_reason(c) == f"its tokens.bin is 100 bytes, not the {meta['tokens_bytes']:,} recorded"
    (c / META_NAME).write_text(json.dumps({**meta, "dtype": "uint16"}))
    with pytest.raises(DataError, match=r"dtype 'uint16' and length \d+ do not fit a vocabulary of "
                                        r"\d+ characters\."):
        open_corpus(c, check_sources=False)
    (c / META_NAME).write_text(json.dumps({**meta, "format_version": 9}))
    with pytest.raises(DataError, match=r"has format_version 9; this bptt reads version 1: "
                                        r"prepare the corpus again\."):
        open_corpus(c)
    (c / META_NAME).write_text(json.dumps({"format": "other"}))
    with pytest.raises(DataError, match=r"corpus\.json is not a bptt-tokens record\."):
        open_corpus(c)
    (c / META_NAME).write_text("{")
    with pytest.raises(DataError, match=r"Cannot read .*corpus\.json: "):
        open_corpus(c)
