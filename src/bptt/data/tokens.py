"""Corpora larger than memory: text files encoded once into a token file read through np.memmap.

A prepared corpus is a directory with two files:

    tokens.bin     the ids of every character of the text, in order, as raw little-endian
                   uint8 (a vocabulary of at most 256 characters), uint16 (at most 65,536) or
                   uint32; nothing else, so np.memmap reads it as it is
    corpus.json    {"format": "bptt-tokens", "format_version": 1, "vocab": [characters in id
                   order, as Vocab.to_list()], "dtype": "uint8", "length": N, "tokens_bytes":
                   N · itemsize, "encoding": "utf-8", "sources": [{"path", "bytes", "mtime_ns"}],
                   "fingerprints": {"0.1": SHA-256 of the training ids as int64}}

The vocabulary is that of the whole text, sorted by code point, exactly as `Vocab(text)`, so a
model trained on a prepared corpus samples and evaluates as one trained on `CharData.from_text`
of the same text, and the training fingerprint is the same (a run resumes across the two).

`scan_vocab` (pass 1) and `encode_chunks` (pass 2) read the files in chunks of `chunk_bytes`
bytes through an incremental decoder, never holding a whole file; bptt.io.corpus writes the two
files atomically (prepare_corpus) and keeps a cache beside a run (cached_corpus). `open_corpus`
gives a `MappedCorpus`: the vocabulary, and the train and validation ids as read-only memmap
views (the validation ids are the last fraction, as `split` does), usable wherever a CharData is.
"""
from __future__ import annotations

import codecs
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import _validate as v
from .batching import split
from .errors import DataError
from .text import check_encoding, decode_error, open_text_file, read_error
from .vocab import Vocab, _from_code_points

FORMAT, FORMAT_VERSION = "bptt-tokens", 1
TOKENS_NAME, META_NAME = "tokens.bin", "corpus.json"
CHUNK_BYTES = 1 << 22                          # 4 MiB of text per chunk
_N_CODE_POINTS = 0x110000
# Encodings in which every ASCII byte is its own character: ASCII chunks skip the decoder.
_ASCII_SAFE = {"utf-8", "ascii", "latin-1", "iso8859-1", "cp1252"}


def token_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned type holding ids 0 .. vocab_size − 1: uint8, uint16 or uint32.

    Examples:
        >>> from bptt.data import token_dtype
        >>> [token_dtype(size).name for size in (256, 257, 70_000)]
        ['uint8', 'uint16', 'uint32']
    """
    for dt in (np.uint8, np.uint16, np.uint32):
        if vocab_size <= np.iinfo(dt).max + 1:
            return np.dtype(dt).newbyteorder("<")
    raise DataError(f"A vocabulary of {vocab_size} characters does not fit in uint32 ids.")


def source_record(path) -> dict:
    """{"path": absolute path, "bytes": size, "mtime_ns": modification time} of a file."""
    st = os.stat(path)
    return {"path": os.path.abspath(os.fspath(path)), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def _check_paths(paths, owner: str) -> list:
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    elif not isinstance(paths, (list, tuple)):
        raise TypeError(f"The 'paths' parameter of {owner} must be a path or a list of paths. "
                        f"Got {type(paths).__name__} instead.")
    if len(paths) == 0:
        raise ValueError(f"The 'paths' parameter of {owner} must name at least one file. "
                         f"Got an empty {type(paths).__name__}.")
    for i, p in enumerate(paths):
        if not isinstance(p, (str, os.PathLike)):
            raise TypeError(f"The 'paths' parameter of {owner} must hold paths (str or "
                            f"os.PathLike). Got {p!r} of type {type(p).__name__} at index {i}.")
    return list(paths)


def _code_point_chunks(path, encoding: str, chunk_bytes: int, bar=None):
    """The code points of one file's text, chunk by chunk: uint8 arrays (ASCII chunks, when the
    encoding allows) or uint32. DataError naming the file (and the byte offset of a bad byte)."""
    name, fh = open_text_file(path)
    fast = codecs.lookup(encoding).name in _ASCII_SAFE
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    fed, n_text = 0, 0                         # bytes given to the decoder; characters out
    with fh:
        while True:
            try:
                raw = fh.read(chunk_bytes)
            except (OSError, ValueError) as e:
                raise read_error(name, e) from None
            final = not raw
            pending = len(decoder.getstate()[0])   # bytes of a character cut by the last chunk
            if fast and raw and not pending and raw.isascii():
                cps = np.frombuffer(raw, dtype=np.uint8)
            else:
                try:
                    text = decoder.decode(raw, final)
                except UnicodeError as e:
                    raise decode_error(name, encoding, e, base=fed - pending) from None
                cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
            fed += len(raw)
            if bar is not None:
                bar.update(len(raw))
            if cps.size:
                n_text += cps.size
                yield cps
            if final:
                break
    if fed == 0:
        raise DataError(f"Cannot use {name!r}: the file is empty.")
    if n_text == 0:
        raise DataError(f"Cannot use {name!r}: it holds no text once decoded as {encoding}.")


def _progress(total: int, desc: str, progress: bool):
    """A bar that appears only once a pass has taken a second (small files stay silent)."""
    from tqdm import tqdm
    return tqdm(total=total, unit="B", unit_scale=True, desc=desc, disable=not progress,
                mininterval=0.5, delay=1.0)


def scan_vocab(paths, *, encoding: str = "utf-8", chunk_bytes: int = CHUNK_BYTES,
               progress: bool = False):
    """Pass 1: (Vocab of the concatenated text, its length in characters, source records)."""
    owner = "scan_vocab"
    paths = _check_paths(paths, owner)
    encoding = check_encoding(encoding, owner)
    chunk_bytes = v.check_int(chunk_bytes, "chunk_bytes", owner, minimum=16)
    sources = []
    for p in paths:
        try:
            sources.append(source_record(p))
        except (OSError, ValueError) as e:
            raise read_error(os.fspath(p), e) from None
    present = np.zeros(_N_CODE_POINTS, dtype=bool)
    n = 0
    with _progress(sum(s["bytes"] for s in sources), "reading (1/2)", progress) as bar:
        for p in paths:
            for cps in _code_point_chunks(p, encoding, chunk_bytes, bar):
                present[np.unique(cps) if cps.size < 4096 else _seen(cps)] = True
                n += cps.size
    return Vocab(_from_code_points(np.flatnonzero(present).astype("<u4"))), n, sources


def _seen(cps: np.ndarray) -> np.ndarray:
    """The distinct values of a large chunk (bincount: linear, no sort)."""
    return np.flatnonzero(np.bincount(cps, minlength=1))


def encode_chunks(paths, vocab: Vocab, *, encoding: str = "utf-8",
                  chunk_bytes: int = CHUNK_BYTES, progress: bool = False):
    """Pass 2: the ids of the concatenated text, chunk by chunk, as token_dtype(vocab.size)
    arrays. A character outside `vocab` is a DataError (the file changed since pass 1)."""
    owner = "encode_chunks"
    paths = _check_paths(paths, owner)
    encoding = check_encoding(encoding, owner)
    dt = token_dtype(vocab.size)
    lut = np.zeros(_N_CODE_POINTS, dtype=dt)                # code point -> id
    known = np.zeros(_N_CODE_POINTS, dtype=bool)
    cps_v = np.frombuffer(vocab.chars.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    lut[cps_v] = np.arange(vocab.size, dtype=dt)
    known[cps_v] = True
    total = sum(os.stat(p).st_size for p in paths)
    with _progress(total, "encoding (2/2)", progress) as bar:
        for p in paths:
            for cps in _code_point_chunks(p, encoding, chunk_bytes, bar):
                if not known[_seen(cps) if cps.size >= 4096 else np.unique(cps)].all():
                    raise DataError(f"Cannot encode {os.fspath(p)!r}: it holds characters "
                                    f"outside the vocabulary (did it change while it was being "
                                    f"prepared?).")
                yield lut[cps]


def train_fingerprint(chunks, n_train: int) -> str:
    """SHA-256 of the first n_train ids as int64 bytes, fed chunk by chunk: CharData.fingerprint()
    of the same training ids."""
    h, left = hashlib.sha256(), n_train
    for ids in chunks:
        part = ids[:left]
        h.update(part.astype(np.int64).tobytes())
        left -= part.size
        if left <= 0:
            break
    return h.hexdigest()


def _read_meta(directory: Path) -> dict:
    path = directory / META_NAME
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{directory} is not a prepared corpus: it has no {META_NAME} (make one "
                        f"with `bptt prepare FILES --out {directory}`).") from None
    except (OSError, ValueError) as e:
        raise DataError(f"Cannot read {path}: {e}.") from None
    keys = ("vocab", "dtype", "length", "tokens_bytes", "sources", "encoding", "fingerprints")
    if (not isinstance(meta, dict) or meta.get("format") != FORMAT
            or any(k not in meta for k in keys)):
        raise DataError(f"{path} is not a {FORMAT} record.")
    if meta.get("format_version") != FORMAT_VERSION:
        raise DataError(f"{path} has format_version {meta.get('format_version')!r}; this bptt "
                        f"reads version {FORMAT_VERSION}: prepare the corpus again.")
    return meta


def stale_reason(directory, paths=None, encoding=None):
    """Why the prepared corpus in `directory` is not an up-to-date encoding of `paths` in
    `encoding` (None: as recorded), as a sentence; None when it is current. A recorded source
    that no longer exists is not a reason (the token file stands alone).

    Examples:
        >>> from pathlib import Path
        >>> from bptt.data import stale_reason
        >>> from bptt.io.corpus import prepare_corpus
        >>> _ = Path("a.txt").write_text("hello world\\n")
        >>> _ = prepare_corpus(["a.txt"], "corpus", progress=False)
        >>> print(stale_reason("corpus", ["a.txt"]))
        None
        >>> _ = Path("a.txt").write_text("hello world, again\\n")
        >>> stale_reason("corpus", ["a.txt"])
        "'.../a.txt' changed since it was prepared (12 bytes then, 19 now; modified after)"
    """
    directory = Path(directory)
    try:
        meta = _read_meta(directory)
    except DataError as e:
        return str(e)
    if paths is not None:
        want = [os.path.abspath(os.fspath(p)) for p in _check_paths(paths, "stale_reason")]
        had = [s.get("path") for s in meta["sources"]]
        if want != had:
            return f"it was prepared from {had}, not {want}"
    if encoding is not None and codecs.lookup(encoding).name != codecs.lookup(meta["encoding"]).name:
        return f"it was decoded as {meta['encoding']}, not {encoding}"
    for s in meta["sources"]:
        try:
            now = source_record(s["path"])
        except OSError:
            if paths is None:
                continue                          # the text is gone: the tokens stand alone
            return f"{s['path']!r} cannot be read"
        if (now["bytes"], now["mtime_ns"]) != (s["bytes"], s["mtime_ns"]):
            return (f"{s['path']!r} changed since it was prepared ({s['bytes']:,} bytes then, "
                    f"{now['bytes']:,} now; modified after)")
    try:
        size = os.stat(directory / TOKENS_NAME).st_size
    except OSError:
        return f"its {TOKENS_NAME} is missing"
    if size != meta["tokens_bytes"]:
        return f"its {TOKENS_NAME} is {size:,} bytes, not the {meta['tokens_bytes']:,} recorded"
    return None


@dataclass
class MappedCorpus:
    """A prepared corpus: vocab, train_ids and val_ids as read-only memmap views (see the module).

    Training and evaluation read windows from the views; nothing copies the whole array.
    train_ids (N_train,) and val_ids (N_val,), in token_dtype(vocab.size).

    Examples:
        >>> from pathlib import Path
        >>> from bptt import CharData
        >>> from bptt.data import open_corpus
        >>> from bptt.io.corpus import prepare_corpus
        >>> _ = Path("a.txt").write_text("hello world, hello\\n")
        >>> corpus = open_corpus(prepare_corpus(["a.txt"], "corpus", progress=False))
        >>> data = CharData.from_text(Path("a.txt").read_text())
        >>> bool(np.array_equal(corpus.train_ids, data.train_ids)), corpus.vocab == data.vocab
        (True, True)
        >>> corpus.fingerprint() == data.fingerprint()      # a run resumes across the two
        True
    """
    vocab: Vocab
    train_ids: np.ndarray
    val_ids: np.ndarray
    directory: Path
    meta: dict = field(repr=False)
    val_fraction: float = 0.1

    def fingerprint(self) -> str:
        """CharData.fingerprint() of the same training ids (N_train,): recorded at preparation
        for the default split, else computed here reading the token file in chunks (once)."""
        key = repr(float(self.val_fraction))
        fps = self.meta.setdefault("fingerprints", {})
        if key not in fps:
            fps[key] = train_fingerprint(_file_chunks(self.directory / TOKENS_NAME,
                                                      self.train_ids.dtype),
                                         len(self.train_ids))
        return fps[key]


def _file_chunks(path: Path, dtype, chunk: int = 1 << 22):
    """The ids of a token file read with plain reads (no mapping: the pages stay out of RSS)."""
    with open(path, "rb") as f:
        while True:
            raw = f.read(chunk * dtype.itemsize)
            if not raw:
                return
            yield np.frombuffer(raw, dtype=dtype)


def open_corpus(directory, *, val_fraction: float = 0.1, check_sources: bool = True) -> MappedCorpus:
    """The prepared corpus in `directory` (see bptt.io.corpus.prepare_corpus), memory-mapped.

    check_sources: refuse (DataError) a corpus whose source files changed since it was prepared
    (missing ones are fine: the token file stands alone). The ids (N,) of the text are split
    into train_ids (N_train,) and val_ids (N_val,), read-only memmap views.

    Examples:
        >>> from pathlib import Path
        >>> from bptt.data import open_corpus
        >>> from bptt.io.corpus import prepare_corpus
        >>> _ = Path("a.txt").write_text("hello world, hello\\n")
        >>> corpus = open_corpus(prepare_corpus(["a.txt"], "corpus", progress=False),
        ...                      val_fraction=0.25)
        >>> corpus.train_ids.shape, corpus.val_ids.dtype, corpus.vocab.decode(corpus.val_ids)
        ((14,), dtype('uint8'), 'ello\\n')
    """
    owner = "open_corpus"
    directory = Path(directory)
    v.check_float(val_fraction, "val_fraction", owner, low=0.0, high=1.0, high_open=True)
    meta = _read_meta(directory)
    reason = stale_reason(directory) if check_sources else None
    if reason is not None:
        raise DataError(f"The prepared corpus in {directory} is stale: {reason}. Prepare it again "
                        f"(`bptt prepare`, or delete it to have `bptt train` rebuild it).")
    vocab = Vocab.from_list(meta["vocab"])
    dt = token_dtype(vocab.size)
    if meta["dtype"] != dt.name or meta["length"] * dt.itemsize != meta["tokens_bytes"]:
        raise DataError(f"{directory / META_NAME}: dtype {meta['dtype']!r} and length "
                        f"{meta['length']} do not fit a vocabulary of {vocab.size} characters.")
    path = directory / TOKENS_NAME
    try:
        size = os.stat(path).st_size
    except OSError as e:
        raise read_error(str(path), e) from None
    if size != meta["tokens_bytes"]:
        raise DataError(f"{path} is {size:,} bytes, but {META_NAME} says {meta['tokens_bytes']:,}: "
                        f"the file is truncated or was replaced. Prepare the corpus again.")
    ids = np.memmap(path, dtype=dt, mode="r", shape=(meta["length"],))
    train, val = split(ids, val_fraction)
    return MappedCorpus(vocab, train, val, directory, meta, float(val_fraction))
