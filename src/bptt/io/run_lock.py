"""One writer per run directory: an advisory lock held while `bptt train` writes to DIR.

    with RunLock(out):           # RunLockedError if another process holds it
        ...train, write checkpoints and metrics...

The lock is DIR/.bptt-train.lock, locked with `fcntl.flock` (on Windows `msvcrt.locking`) on an
open file. The kernel holds that lock for the open file and drops it when the process ends in any
way (exit, Ctrl-C, SIGKILL, a crash), so a lock file left behind by a dead process is stale by
construction: the next `RunLock` takes it at once. While held, the file records who holds it
({"pid", "host", "started", "argv"} as JSON), so that a refused run can name the other process;
the record is only a message, the kernel's lock is the truth.

Release removes the file. A process that opened the old file just before the removal would then
lock an inode no longer under the name, so after locking, `RunLock` checks that the name still
leads to the file it locked, and starts again if not.

Readers (`bptt sample`, `eval`, `explain`) take no lock: checkpoints are committed atomically, and
`load_checkpoint` reads the newest committed generation (see bptt.io.checkpoint_load).
"""
from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

LOCK_NAME = ".bptt-train.lock"

try:                                           # POSIX
    import fcntl

    def _try_lock(fd) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
except ImportError:                            # Windows: lock the first byte, past any record
    import msvcrt

    def _try_lock(fd) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


class RunLockedError(ValueError):
    """The run directory is being written by another process (a usage error: exit status 2)."""


def _describe(record: dict) -> str:
    """'pid 1234 on host, started 2025-01-01 12:00:00 (3 min ago)' from a lock record."""
    pid, host, started = record.get("pid"), record.get("host"), record.get("started")
    text = f"pid {pid}" if isinstance(pid, int) else "a process whose pid is not recorded yet"
    if isinstance(host, str) and host:
        text += f" on {host}"
    if isinstance(started, (int, float)):
        ago = max(0.0, time.time() - started)
        span = f"{ago:.0f} s" if ago < 120 else f"{ago / 60:.0f} min" if ago < 7200 else f"{ago / 3600:.1f} h"
        text += f", started {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(started))} ({span} ago)"
    return text


def read_lock_record(directory) -> dict:
    """The holder's record in DIR's lock file ({} when there is none or it cannot be read)."""
    try:
        with open(Path(directory) / LOCK_NAME, "rb") as f:
            record = json.loads(f.read(4096).decode("utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


class RunLock:
    """The lock of run directory `directory` (created if needed); a context manager.

    `acquire()` takes it or raises RunLockedError naming the holder (pid, host, start time);
    `release()` (also on leaving the `with` block, by an exception or Ctrl-C too) gives it back
    and removes the file. A process holds a directory's lock once: a second RunLock on the same
    directory in the same process is refused like any other.
    """

    def __init__(self, directory):
        if not isinstance(directory, (str, os.PathLike)):
            raise TypeError(f"The 'directory' argument of RunLock must be a str or os.PathLike. "
                            f"Got {directory!r} of type {type(directory).__name__} instead.")
        self.directory = Path(directory)
        self.path = self.directory / LOCK_NAME
        self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> "RunLock":
        if self._fd is not None:
            raise RuntimeError(f"RunLock({str(self.directory)!r}) is already held by this object.")
        self.directory.mkdir(parents=True, exist_ok=True)
        for _ in range(100):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
            if not _try_lock(fd):
                os.close(fd)
                record = read_lock_record(self.directory)
                raise RunLockedError(
                    f"{self.directory} is in use: another `bptt train` is writing to it "
                    f"({_describe(record)}). Wait for it to end (or stop it), or choose another "
                    f"--out. The lock is {self.path}; it is released when that process ends.")
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            _unlock(fd)                        # locked a file that was removed meanwhile: again
            os.close(fd)
        else:                                  # pragma: no cover - 100 removals in a row
            raise RuntimeError(f"Could not lock {self.path}: it keeps being removed.")
        record = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
                  "argv": sys.argv[:20]}
        data = json.dumps(record).encode("utf-8")
        if os.name == "nt":                    # the locked first byte stays a space
            data = b" " + data
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, data)
        self._fd = fd
        return self

    def release(self) -> None:
        """Remove the lock file and unlock (a no-op when not held)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if os.name != "nt":                # Windows cannot remove an open file
                os.remove(self.path)
        except OSError:
            pass                               # the kernel's lock is what counts
        finally:
            try:
                _unlock(fd)
            finally:
                os.close(fd)
            if os.name == "nt":
                try:
                    os.remove(self.path)
                except OSError:
                    pass

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"RunLock({str(self.directory)!r}, held={self.held})"
