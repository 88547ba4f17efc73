"""One writer per run directory (bptt.io.run_lock), and readers that keep working while a run
writes: the lock names its holder, is released on exit, by an exception, and by the kernel when
the process is killed; train() takes it before it reads or removes anything; load_checkpoint
reads the newest committed generation while another process saves in a loop."""
import os
import re
import signal
import subprocess
import sys
import time
import warnings

import pytest

from bptt.data.chardata import CharData
from bptt.io.checkpoint import checkpoint_exists, list_generations, load_checkpoint
from bptt.io.run_lock import LOCK_NAME, RunLock, RunLockedError, read_lock_record
from bptt.training.loop import TrainConfig, train
from bptt import SimpleRNN
from corpus import small_text

HOLD = """
import sys, time
from bptt.io.run_lock import RunLock
lock = RunLock(sys.argv[1]).acquire()
print("LOCKED", flush=True)
time.sleep(600)
"""


def _holder(directory):
    """A child process holding DIR's lock (it has printed LOCKED)."""
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(directory)], stdout=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline().strip() == "LOCKED"
    return p


def test_a_second_lock_is_refused_naming_the_holder(tmp_path):
    with RunLock(tmp_path / "run") as lock:
        assert lock.held and (tmp_path / "run" / LOCK_NAME).exists()
        record = read_lock_record(tmp_path / "run")
        assert record["pid"] == os.getpid() and record["host"] and record["started"] <= time.time()
        with pytest.raises(RunLockedError, match=rf"run is in use: another `bptt train` is writing "
                           rf"to it \(pid {os.getpid()} on .+, started \d{{4}}-\d\d-\d\d "
                           rf"\d\d:\d\d:\d\d \(\d+ s ago\)\)\. Wait for it to end \(or stop it\), "
                           rf"or choose another --out\."):
            RunLock(tmp_path / "run").acquire()
        assert issubclass(RunLockedError, ValueError)           # the CLI's exit status 2
    assert not lock.held and not (tmp_path / "run" / LOCK_NAME).exists()
    with RunLock(tmp_path / "run"):                             # free again
        pass


def test_released_by_an_exception_and_misuse_refused(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with RunLock(tmp_path):
            raise KeyboardInterrupt
    lock = RunLock(tmp_path).acquire()
    with pytest.raises(RuntimeError, match=r"RunLock\('.*'\) is already held by this object"):
        lock.acquire()
    lock.release()
    lock.release()                                               # twice: a no-op
    with pytest.raises(TypeError, match="The 'directory' argument of RunLock must be a str or "
                                        "os.PathLike. Got 3 of type int instead."):
        RunLock(3)


def test_another_process_holds_it_and_a_killed_holder_leaves_a_stale_file(tmp_path):
    p = _holder(tmp_path)
    try:
        with pytest.raises(RunLockedError, match=rf"\(pid {p.pid} on "):
            RunLock(tmp_path).acquire()
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    assert read_lock_record(tmp_path)["pid"] == p.pid           # the file stays: stale
    with RunLock(tmp_path):                                      # the kernel dropped the lock
        assert read_lock_record(tmp_path)["pid"] == os.getpid()


def test_an_unreadable_record_still_refuses(tmp_path):
    p = _holder(tmp_path)
    try:
        (tmp_path / LOCK_NAME).write_bytes(b"not json")          # the record is only a message
        with pytest.raises(RunLockedError, match=r"\(a process whose pid is not recorded yet\)"):
            RunLock(tmp_path).acquire()
    finally:
        p.kill()
        p.wait()


def _data():
    return CharData.from_text(small_text(6000))


def _cfg(out, **kw):
    base = dict(steps=6, seq_len=8, batch=4, eval_every=3, checkpoint_every=3, eval_chars=500,
                progress=False, out=str(out))
    return TrainConfig(**{**base, **kw})


@pytest.mark.parametrize("kw", [{}, {"overwrite": True}, {"resume": True}])
def test_train_takes_the_lock_before_touching_the_directory(tmp_path, kw):
    data = _data()
    V = data.vocab.size
    train(SimpleRNN(V, 8, V, seed=0), data, _cfg(tmp_path))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert checkpoint_exists(tmp_path) and LOCK_NAME not in before      # released at the end
    with RunLock(tmp_path):                                     # "another run" holds it
        with pytest.raises(RunLockedError, match=rf"is in use: .*\(pid {os.getpid()} on "):
            train(SimpleRNN(V, 8, V, seed=1), data, _cfg(tmp_path, steps=9, **kw))
        after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != LOCK_NAME}
    assert after == before                                       # nothing read-modified or removed
    train(SimpleRNN(V, 8, V, seed=0), data, _cfg(tmp_path, steps=9, resume=True))
    assert not (tmp_path / LOCK_NAME).exists()


WRITER = """
import sys
import numpy as np
from bptt.io.checkpoint import save_checkpoint
i = 0
while True:
    i += 1
    save_checkpoint(sys.argv[1], {"a": np.full(50_000, float(i)), "b": np.full(7, float(i))},
                    {"i": i})
"""


def test_readers_load_the_newest_committed_checkpoint_while_a_process_saves(tmp_path):
    """A writer saving as fast as it can (each save commits a generation and removes older ones);
    every load gives one whole generation, with no error and no warning."""
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)])
    try:
        t0 = time.time()
        while not list_generations(tmp_path) and time.time() - t0 < 60:
            time.sleep(0.01)
        seen = set()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            t0 = time.time()
            while time.time() - t0 < 4:
                arrays, meta = load_checkpoint(tmp_path)
                assert (arrays["a"] == meta["i"]).all() and (arrays["b"] == meta["i"]).all()
                seen.add(meta["i"])
        assert p.poll() is None and len(seen) > 10               # the writer was busy throughout
    finally:
        p.kill()
        p.wait()
    names = {q.name for q in tmp_path.iterdir() if not q.name.startswith(".")}
    assert all(re.fullmatch(r"checkpoint-\d{8}\.(npz|json)", n) for n in names)
