"""Two `bptt train` processes on one --out: the second ends at once with exit status 2 and a
message naming the first (with or without --overwrite and --resume), the first's checkpoints stay
intact, Ctrl-C releases the lock, and a lock left by a SIGKILLed run does not block the next."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from bptt.io.run_lock import LOCK_NAME, read_lock_record
from bptt.io.saving import load_model
from cli_run import TINY, bptt

pytestmark = pytest.mark.skipif(os.name == "nt", reason="SIGINT/SIGKILL of a child process")

# A run that goes on until it is stopped (small, so each step is quick and Ctrl-C answers fast).
LONG = ["--max-chars", "30000", "--steps", "1000000", "--checkpoint-every", "20", *TINY]


def _start(out, *extra):
    env = dict(os.environ, PYTHONWARNINGS="ignore", MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "bptt", "train", "--out", str(out), *LONG,
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


def _wait_for_lock_and_checkpoint(p, out, timeout=90):
    """Until the run holds DIR's lock (its record written) and has committed a checkpoint."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if p.poll() is not None:
            raise AssertionError(f"the first run ended early: {p.communicate()}")
        if (read_lock_record(out).get("pid") == p.pid
                and any(q.name.endswith(".json") for q in out.glob("checkpoint-*.json"))):
            return
        time.sleep(0.05)
    raise AssertionError("the first run never took the lock")


def test_a_second_train_on_the_same_dir_ends_with_status_2_naming_the_first(tmp_path):
    out = tmp_path / "run"
    first = _start(out)
    try:
        _wait_for_lock_and_checkpoint(first, out)
        for extra in ([], ["--overwrite"], ["--resume"]):
            t0 = time.time()
            r = bptt("train", "--out", out, "--max-chars", "30000", "--steps", "5", *TINY, *extra)
            assert r.returncode == 2, (extra, r.stdout, r.stderr)
            assert re.search(rf"bptt train: error: {re.escape(str(out))} is in use: another "
                             rf"`bptt train` is writing to it \(pid {first.pid} on .+, started "
                             rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d ", r.stderr), r.stderr
            assert "Traceback" not in r.stderr and time.time() - t0 < 60
            assert first.poll() is None                      # the first goes on, undisturbed
        # Ctrl-C: the first saves a checkpoint, exits 130 and releases the lock
        first.send_signal(signal.SIGINT)
        stdout, stderr = first.communicate(timeout=60)
        assert first.returncode == 130, stderr
        assert "interrupted at step" in stdout
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert not (out / LOCK_NAME).exists()
    step = int(re.search(r"interrupted at step (\d+)", stdout).group(1))
    model, vocab, meta = load_model(out)                     # intact: every hash verifies
    assert meta["step"] == step and step >= 20
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == list(range(10, step + 1, 10))
    r = bptt("train", "--out", out, "--max-chars", "30000", "--steps", str(step + 5), *TINY,
             "--resume")
    assert r.returncode == 0, r.stderr                       # the lock was released
    assert load_model(out)[2]["step"] == step + 5 and not (out / LOCK_NAME).exists()


def test_a_lock_left_by_a_killed_run_does_not_block_the_next(tmp_path):
    out = tmp_path / "run"
    first = _start(out)
    try:
        _wait_for_lock_and_checkpoint(first, out)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert read_lock_record(out)["pid"] == first.pid          # the stale file is still there
    r = bptt("train", "--out", out, "--max-chars", "30000", "--steps", "5", *TINY, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert load_model(out)[2]["step"] == 5 and not (out / LOCK_NAME).exists()
