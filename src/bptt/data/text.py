"""Text corpora: files read with clear errors, or the Python standard library's own source.

`load_text(paths)` reads and concatenates files in the given order; every failure is a
`DataError` naming the file (missing, a directory, unreadable, empty, or not valid in the
encoding — then with the byte offset of the first bad byte). Bytes are decoded exactly as they
are: line endings are not translated, so the same file gives the same text on every platform.

`builtin_corpus()` is the corpus used when no files are given: the .py files of the standard
library (sysconfig's "stdlib" path), deterministic for a given Python installation.
"""
from __future__ import annotations

import codecs
import os
import stat
import sysconfig

from .. import _validate as v
from .errors import DataError

#: Directories of the standard library left out of the built-in corpus.
EXCLUDED_DIRS = frozenset({"test", "tests", "idlelib", "site-packages"})


def check_encoding(encoding, owner: str) -> str:
    """A text encoding known to Python's codecs ('utf-8', 'latin-1', …)."""
    if not isinstance(encoding, str):
        raise TypeError(f"The 'encoding' parameter of {owner} must be a str such as 'utf-8'. "
                        f"Got {encoding!r} of type {type(encoding).__name__} instead.")
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise ValueError(f"The 'encoding' parameter of {owner} must name a text encoding such "
                         f"as 'utf-8' or 'latin-1'. Got {encoding!r} instead.")
    return encoding


def read_error(name: str, e: BaseException) -> DataError:
    """The DataError for an OSError (or ValueError, e.g. a NUL in the path) reading file `name`."""
    if isinstance(e, FileNotFoundError):
        return DataError(f"Cannot read {name!r}: no such file.")
    if isinstance(e, PermissionError):
        return DataError(f"Cannot read {name!r}: permission denied.")
    reason = getattr(e, "strerror", None) or str(e)
    return DataError(f"Cannot read {name!r}: {reason}.")


def open_text_file(path):
    """(name, open binary file) of a regular file; DataError naming the file otherwise."""
    name = os.fspath(path)
    try:
        st = os.stat(name)
        if stat.S_ISDIR(st.st_mode):
            raise DataError(f"Cannot read {name!r}: it is a directory, not a file.")
        if not stat.S_ISREG(st.st_mode):
            raise DataError(f"Cannot read {name!r}: it is not a regular file.")
        fh = open(name, "rb")
    except DataError:
        raise
    except (OSError, ValueError) as e:           # ValueError: e.g. a NUL character in the path
        raise read_error(name, e) from None
    return name, fh


def decode_error(name: str, encoding: str, e: UnicodeError, base: int = 0) -> DataError:
    """The DataError for a decoding failure in file `name`; `base` is the byte offset in the file
    of the start of `e.object` (when the file is decoded in chunks)."""
    if isinstance(e, UnicodeDecodeError):
        bad = " ".join(f"0x{b:02x}" for b in e.object[e.start:min(e.end, e.start + 4)])
        return DataError(f"Cannot decode {name!r} as {encoding}: invalid byte(s) {bad} at byte "
                         f"offset {base + e.start} ({e.reason}). Pass the file's encoding, "
                         f"e.g. encoding='latin-1'.")
    return DataError(f"Cannot decode {name!r} as {encoding}: {e}.")


def read_text_file(path, encoding: str = "utf-8") -> str:
    """The decoded text of one regular, non-empty file; DataError naming the file otherwise."""
    name, fh = open_text_file(path)
    try:
        with fh:
            data = fh.read()
    except (OSError, ValueError) as e:
        raise read_error(name, e) from None
    if not data:
        raise DataError(f"Cannot use {name!r}: the file is empty.")
    try:
        text = data.decode(encoding)
    except UnicodeError as e:
        raise decode_error(name, encoding, e) from None
    if not text:
        raise DataError(f"Cannot use {name!r}: it holds no text once decoded as {encoding}.")
    return text


def load_text(paths, encoding: str = "utf-8") -> str:
    """The text of one file, or of several files concatenated in the given order.

    paths: a path (str or os.PathLike) or a sequence of paths.
    encoding: any text encoding Python knows; the same one is used for every file.

    Examples:
        >>> from pathlib import Path
        >>> from bptt.data import DataError, load_text
        >>> _ = Path("a.txt").write_text("hello "), Path("b.txt").write_text("world")
        >>> load_text(["a.txt", "b.txt"])
        'hello world'
        >>> try:
        ...     load_text("missing.txt")
        ... except DataError as err:
        ...     print(err)
        Cannot read 'missing.txt': ...
    """
    owner = "load_text"
    encoding = check_encoding(encoding, owner)
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    elif not isinstance(paths, (list, tuple)):
        raise TypeError(f"The 'paths' parameter of {owner} must be a path or a list of paths. "
                        f"Got {type(paths).__name__} instead.")
    if len(paths) == 0:
        raise ValueError(f"The 'paths' parameter of {owner} must name at least one file. "
                         f"Got an empty {type(paths).__name__}.")
    for i, p in enumerate(paths):
        if not isinstance(p, (str, bytes, os.PathLike)):
            raise TypeError(f"The 'paths' parameter of {owner} must hold paths (str or "
                            f"os.PathLike). Got {p!r} of type {type(p).__name__} at index {i}.")
    return "".join(read_text_file(p, encoding) for p in paths)


def _stdlib_sources(root: str) -> list[str]:
    """Relative POSIX paths of the .py files directly under `root` and in its packages
    (directories holding an __init__.py), minus EXCLUDED_DIRS, sorted as strings."""
    found = []
    pending = [""]                                               # relative dirs to visit
    while pending:
        rel = pending.pop()
        with os.scandir(os.path.join(root, rel)) as it:
            entries = list(it)
        for e in entries:
            child = f"{rel}/{e.name}" if rel else e.name
            if e.is_file() and e.name.endswith(".py"):
                found.append(child)
            elif (e.is_dir() and e.name not in EXCLUDED_DIRS
                  and os.path.isfile(os.path.join(e.path, "__init__.py"))):
                pending.append(child)
    return sorted(found)


def builtin_corpus(max_bytes: int = 2_000_000) -> str:
    """The Python standard library's source as one text, at most `max_bytes` characters long.

    The files are the .py files directly under sysconfig.get_paths()["stdlib"] and in its
    packages, leaving out the test, tests, idlelib and site-packages directories, in the order of
    their relative paths ('abc.py' < 'asyncio/__init__.py' < …). Each is read as UTF-8 (files
    that fail to decode are skipped) and they are concatenated, then cut at `max_bytes`
    characters (the sources are nearly all ASCII, where characters and bytes agree). The result
    is the same on every run with the same Python installation; only the files needed to reach
    the cap are read.

    Examples:
        >>> from bptt.data import builtin_corpus
        >>> text = builtin_corpus(max_bytes=1000)
        >>> len(text), text == builtin_corpus(max_bytes=1000)
        (1000, True)
    """
    owner = "builtin_corpus"
    max_bytes = v.check_int(max_bytes, "max_bytes", owner, minimum=1)
    root = sysconfig.get_paths().get("stdlib")
    if not root or not os.path.isdir(root):
        raise DataError(f"Cannot build the built-in corpus: the standard library directory "
                        f"{root!r} does not exist. Pass text files instead.")
    parts, total = [], 0
    for rel in _stdlib_sources(root):
        try:
            with open(os.path.join(root, rel), "rb") as fh:
                text = fh.read().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue                                             # unreadable: skip, stay deterministic
        parts.append(text)
        total += len(text)
        if total >= max_bytes:
            break
    if total == 0:
        raise DataError(f"Cannot build the built-in corpus: no readable .py files under {root!r}. "
                        f"Pass text files instead.")
    return "".join(parts)[:max_bytes]
