"""Atomic, crash-safe file writes: a reader sees the old file or the new one, never a mix.

Every write follows the same five steps, so that a crash (SIGKILL, power loss) at any moment
leaves either the complete previous file or the complete new file under the final name:

1. write the bytes to a temporary file in the *same directory* (``.NAME.<random>.tmp``), so the
   final rename never crosses a file system;
2. ``flush()`` Python's buffer and ``os.fsync()`` the file, so the data is on disk before the
   name points to it;
3. ``os.replace()`` the temporary file onto the final name (atomic on POSIX and Windows);
4. ``os.fsync()`` the directory, so the rename itself survives a power loss (skipped on Windows,
   where a directory cannot be opened for fsync);
5. on any failure before the rename, remove the temporary file and raise.

A failure raises ``OSError`` (the subclass that matches the errno, e.g. ``PermissionError``), with a
message naming the final path and the cause, chained to the original error. The previous file, if
any, is then untouched. Temporary files left by a process killed mid-write start with a dot and
end in ``.tmp``; :func:`remove_stale_temporaries` removes them.

``bptt.io.checkpoint`` builds its two-file checkpoints on these helpers; reports and exported files
can use them too.
"""
from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path
from typing import BinaryIO, Callable

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "fsync_directory",
           "remove_stale_temporaries"]

TMP_SUFFIX = ".tmp"


def _as_path(path, name: str, owner: str) -> Path:
    """A str or os.PathLike, refused with a TypeError otherwise."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"The '{name}' argument of {owner} must be a str or os.PathLike. "
                        f"Got {path!r} of type {type(path).__name__} instead.")
    return Path(path)


def _write_error(path: Path, cause: BaseException) -> OSError:
    """An OSError naming the final path and the cause, with the cause's errno kept.

    ``OSError(errno, text)`` picks the matching subclass (``PermissionError`` for EACCES, ...), so
    callers can keep catching what they would catch from a plain ``open()``.
    """
    reason = getattr(cause, "strerror", None) or str(cause) or type(cause).__name__
    text = (f"Could not write '{path}' atomically: {reason}. "
            f"The previous contents of '{path}' (if any) are unchanged.")
    code = getattr(cause, "errno", None)
    return OSError(code, text) if isinstance(code, int) else OSError(text)


def fsync_directory(directory) -> None:
    """Make the renames and removals done in `directory` durable (no-op on Windows).

    Some file systems (certain network mounts) refuse fsync on a directory with EINVAL or
    ENOTSUP; there is nothing more to do there, so those two are ignored. Any other error is
    raised: EIO here means the renames may not be on disk.
    """
    directory = _as_path(directory, "directory", "fsync_directory")
    if os.name == "nt":  # Windows cannot open a directory for fsync; NTFS journals renames.
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def _remove_quietly(path) -> None:
    """Best-effort removal used while cleaning up after a failure: never raises."""
    try:
        os.remove(path)
    except OSError:
        pass


def _create_temporary(path: Path) -> tuple[int, str]:
    """Open a new, empty ``.NAME.<random>.tmp`` next to `path`, for writing only.

    O_EXCL guarantees the file is ours; mode 0o666 lets the process umask decide the final
    permissions, as for a plain ``open(path, "wb")`` (mkstemp would force 0600, and changing
    the umask to undo that is not thread-safe).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(path.parent, f".{path.name}.{secrets.token_hex(8)}{TMP_SUFFIX}")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue  # 64 random bits collided: astronomically rare, just draw again.
    raise FileExistsError(errno.EEXIST, f"no free temporary name next to '{path}'")


def atomic_write(path, write: Callable[[BinaryIO], None]) -> Path:
    """Write `path` atomically by calling ``write(f)`` on a temporary binary file.

    `write` streams the content into ``f`` (for example ``zipfile`` or ``numpy.lib.format``), so
    large files never need to be built in memory. Returns the final path.

    Errors raised by `write` that are not OSErrors (a bug in the caller, KeyboardInterrupt)
    propagate unchanged, after the temporary file is removed.
    """
    path = _as_path(path, "path", "atomic_write")
    if not callable(write):
        raise TypeError(f"The 'write' argument of atomic_write must be callable. "
                        f"Got {write!r} of type {type(write).__name__} instead.")
    try:
        # Step 1: a temporary file next to the target.
        fd, tmp = _create_temporary(path)
    except OSError as e:
        raise _write_error(path, e) from e
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            # Step 2: Python's buffer to the kernel, then the kernel's cache to the disk.
            f.flush()
            os.fsync(f.fileno())
        # Step 3: the atomic switch from the old content to the new one.
        os.replace(tmp, path)
    except OSError as e:
        # Step 5: the previous file was never touched; only our temporary file is removed.
        _remove_quietly(tmp)
        raise _write_error(path, e) from e
    except BaseException:
        _remove_quietly(tmp)
        raise
    try:
        # Step 4: the rename itself becomes durable.
        fsync_directory(path.parent)
    except OSError as e:
        reason = e.strerror or str(e)
        text = (f"'{path}' was written, but its directory could not be synced ({reason}): "
                f"the new file may not survive a power loss.")
        raise (OSError(e.errno, text) if isinstance(e.errno, int) else OSError(text)) from e
    return path


def atomic_write_bytes(path, data) -> Path:
    """Write the bytes-like `data` to `path` atomically (temp file, fsync, rename, directory fsync)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"The 'data' argument of atomic_write_bytes must be bytes, bytearray or "
                        f"memoryview. Got {type(data).__name__} instead.")
    path = _as_path(path, "path", "atomic_write_bytes")
    return atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write the str `text` to `path` atomically, encoded with `encoding` (no newline translation)."""
    if not isinstance(text, str):
        raise TypeError(f"The 'text' argument of atomic_write_text must be a str. "
                        f"Got {type(text).__name__} instead.")
    path = _as_path(path, "path", "atomic_write_text")
    try:
        data = text.encode(encoding)
    except LookupError:
        raise ValueError(f"The 'encoding' parameter of atomic_write_text must name a codec. "
                         f"Got {encoding!r} instead.") from None
    except UnicodeEncodeError as e:
        raise ValueError(f"The 'text' argument of atomic_write_text cannot be encoded as "
                         f"{encoding!r}: {e.reason} at position {e.start}.") from None
    return atomic_write(path, lambda f: f.write(data))


def remove_stale_temporaries(path) -> int:
    """Remove temporary files left in path's directory by writes of `path` that were killed.

    Only files named ``.NAME.<anything>.tmp`` for this exact NAME are touched. Call it only when no
    other process is writing `path` at the same time. Returns how many files were removed.
    """
    path = _as_path(path, "path", "remove_stale_temporaries")
    removed = 0
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return 0  # Best effort: a directory we cannot list has nothing we could remove.
    prefix = f".{path.name}."
    for entry in entries:
        if entry.name.startswith(prefix) and entry.name.endswith(TMP_SUFFIX):
            try:
                os.remove(entry.path)
                removed += 1
            except OSError:
                pass
    return removed
