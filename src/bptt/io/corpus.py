"""Preparing corpora larger than memory: text files → a token file and its record, written
atomically (the format and the reading side are in bptt.data.tokens).

    prepare_corpus(["enwik9"], "data/enwik9")         # bptt prepare enwik9 --out data/enwik9
    data = open_corpus("data/enwik9")                 # vocab, train_ids, val_ids (memmaps)
    data = cached_corpus(["book.txt"], "runs/x")      # bptt train book.txt --out runs/x

Two passes over the text, each in chunks (nothing holds a whole file): the first finds the
vocabulary and the length, the second writes the ids (and hashes the training part, so that a
resumed run can check its data without reading the file again). tokens.bin is written through
bptt.io.atomic (a temporary file, fsync, rename); corpus.json is written last, the same way, and
commits the corpus: a crash leaves the previous corpus or none, never a record that describes
other tokens.
"""
from __future__ import annotations

import json
from pathlib import Path

from .. import _validate as v
from ..data.tokens import (CHUNK_BYTES, FORMAT, FORMAT_VERSION, META_NAME, TOKENS_NAME,
                           MappedCorpus, _check_paths, encode_chunks, open_corpus, scan_vocab,
                           source_record, stale_reason, token_dtype)
from ..data.errors import DataError
from .atomic import atomic_write, atomic_write_text
from .run_lock import RunLock

#: Where `cached_corpus` keeps a run's prepared corpus: RUN_DIR/corpus/.
CACHE_NAME = "corpus"


def prepare_corpus(paths, out_dir, *, encoding: str = "utf-8", val_fraction: float = 0.1,
                   chunk_bytes: int = CHUNK_BYTES, progress: bool = True) -> Path:
    """Encode the concatenated text of `paths` into `out_dir` (tokens.bin + corpus.json).

    The vocabulary is Vocab(text) of the whole text; the ids are uint8, uint16 or uint32
    (bptt.data.tokens.token_dtype). val_fraction only chooses which training fingerprint is
    recorded (open_corpus may split at any fraction). A tqdm bar shows each pass (progress=False
    hides them). Errors name the file: missing, unreadable, empty, or not valid in the encoding
    (with the byte offset of the first bad byte), as bptt.data.load_text. Returns out_dir.
    """
    owner = "prepare_corpus"
    paths = _check_paths(paths, owner)
    val_fraction = v.check_float(val_fraction, "val_fraction", owner, low=0.0, high=1.0,
                                 high_open=True)
    out = Path(out_dir)
    vocab, n, sources = scan_vocab(paths, encoding=encoding, chunk_bytes=chunk_bytes,
                                   progress=progress)
    dt = token_dtype(vocab.size)
    n_train = n - int(n * val_fraction + 0.5)                 # as bptt.data.split
    out.mkdir(parents=True, exist_ok=True)
    (out / META_NAME).unlink(missing_ok=True)                 # uncommit the old corpus first
    state = {"written": 0, "hash": None}

    def write(f):
        import hashlib
        import numpy as np
        h, left = hashlib.sha256(), n_train
        for ids in encode_chunks(paths, vocab, encoding=encoding, chunk_bytes=chunk_bytes,
                                 progress=progress):
            f.write(ids.tobytes())
            state["written"] += ids.size
            if left > 0:
                part = ids[:left]
                h.update(part.astype(np.int64).tobytes())     # as CharData.fingerprint()
                left -= part.size
        state["hash"] = h.hexdigest()

    atomic_write(out / TOKENS_NAME, write)
    now = [source_record(p) for p in paths]
    if state["written"] != n or [(s["bytes"], s["mtime_ns"]) for s in now] != \
            [(s["bytes"], s["mtime_ns"]) for s in sources]:
        (out / TOKENS_NAME).unlink(missing_ok=True)
        raise DataError(f"The text files changed while they were being prepared "
                        f"({n:,} characters in the first pass, {state['written']:,} in the "
                        f"second): prepare the corpus again.")
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "vocab": vocab.to_list(),
            "dtype": dt.name, "length": n, "tokens": TOKENS_NAME, "tokens_bytes": n * dt.itemsize,
            "encoding": encoding, "sources": sources,
            "fingerprints": {repr(float(val_fraction)): state["hash"]}}
    atomic_write_text(out / META_NAME, json.dumps(meta, ensure_ascii=True, indent=1) + "\n")
    return out


def cached_corpus(paths, run_dir, *, encoding: str = "utf-8", val_fraction: float = 0.1,
                  chunk_bytes: int = CHUNK_BYTES, progress: bool = True) -> MappedCorpus:
    """The prepared corpus of `paths` kept in RUN_DIR/corpus/, reused while it is up to date
    (the same files, sizes, modification times and encoding) and prepared again otherwise.

    While it prepares, it holds the run directory's lock (bptt.io.run_lock), so a `bptt train`
    already writing to RUN_DIR is refused (RunLockedError) before anything is read.
    """
    paths = _check_paths(paths, "cached_corpus")
    run_dir = Path(run_dir)
    cache = run_dir / CACHE_NAME
    if stale_reason(cache, paths, encoding) is None:
        return open_corpus(cache, val_fraction=val_fraction)
    with RunLock(run_dir):
        if stale_reason(cache, paths, encoding) is not None:
            prepare_corpus(paths, cache, encoding=encoding, val_fraction=val_fraction,
                           chunk_bytes=chunk_bytes, progress=progress)
    return open_corpus(cache, val_fraction=val_fraction)
