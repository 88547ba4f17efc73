"""Crash safety: a writer killed at any moment leaves a loadable, consistent checkpoint.

A child process saves checkpoints in a loop with growing step numbers and is SIGKILLed at random
moments; after every kill the newest checkpoint must load and agree with itself (every array
holds the meta's step), and no save that returned may be lost. The states a kill can leave are
also built by hand (orphan npz, stale temporary files, a half-done clean-up)."""
import os
import random
import subprocess
import sys
import time

import numpy as np

import bptt
from bptt.io.checkpoint import list_generations, load_checkpoint, save_checkpoint

CHILD = """
import sys
import numpy as np
from bptt.io.checkpoint import save_checkpoint
directory, step = sys.argv[1], int(sys.argv[2])
print("ready", flush=True)
while True:
    step += 1
    save_checkpoint(directory, {"w": np.full((256, 256), step, dtype=np.float64),
                                "step": np.array(step)}, {"step": step})
    print(step, flush=True)  # this save returned: it must never be lost
"""


def _arrays(step):
    return {"w": np.full((256, 256), step, dtype=np.float64), "step": np.array(step)}


def _check_consistent(directory):
    arrays, meta = load_checkpoint(directory)
    step = meta["step"]
    assert int(arrays["step"]) == step and (arrays["w"] == step).all()
    return step


def test_sigkill_at_random_moments_leaves_a_consistent_checkpoint(tmp_path):
    save_checkpoint(tmp_path, _arrays(0), {"step": 0})
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(bptt.__file__)))
    rng = random.Random(20240611)
    last, kills_mid_run = 0, 0
    for _ in range(8):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), str(last)],
                                 stdout=subprocess.PIPE, env=env)
        try:
            assert child.stdout.readline().strip() == b"ready"
            time.sleep(rng.uniform(0.0, 0.3))
        finally:
            child.kill()  # SIGKILL on POSIX: no clean-up handler runs
            child.wait(timeout=10)
        returned = [int(line) for line in child.stdout.read().split()]
        child.stdout.close()
        step = _check_consistent(tmp_path)
        # Every save that returned is on disk; the one in flight may or may not have committed.
        newest_returned = returned[-1] if returned else last
        assert step in (newest_returned, newest_returned + 1), (step, returned[-3:])
        kills_mid_run += bool(returned)
        last = step
    assert last > 0 and kills_mid_run >= 1
    # The next save tidies whatever the kills left (orphans, temporaries) down to `keep` generations.
    save_checkpoint(tmp_path, _arrays(last + 1), {"step": last + 1})
    assert len(os.listdir(tmp_path)) == 4 and _check_consistent(tmp_path) == last + 1


def test_killed_between_npz_and_record(tmp_path):
    """The npz of generation 3 is in place but its record was never written: not committed."""
    save_checkpoint(tmp_path, _arrays(1), {"step": 1})
    save_checkpoint(tmp_path, _arrays(2), {"step": 2})
    (tmp_path / "checkpoint-00000003.npz").write_bytes(b"half of a zip")
    (tmp_path / ".checkpoint-00000003.json.1f2e3d4c5b6a7980.tmp").write_text('{"format": "bptt-')
    (tmp_path / ".checkpoint-00000004.npz.0123456789abcdef.tmp").write_bytes(b"PK\x03\x04")
    assert list_generations(tmp_path) == [1, 2] and _check_consistent(tmp_path) == 2
    # The next save never reuses number 3, and removes the orphan and the temporaries.
    path = save_checkpoint(tmp_path, _arrays(5), {"step": 5})
    assert path.name == "checkpoint-00000004.json"
    assert sorted(os.listdir(tmp_path)) == ["checkpoint-00000002.json", "checkpoint-00000002.npz",
                                            "checkpoint-00000004.json", "checkpoint-00000004.npz"]
    assert _check_consistent(tmp_path) == 5


def test_killed_during_clean_up(tmp_path):
    """Clean-up removes an old record before its npz; a kill in between leaves an orphan npz."""
    for step in (1, 2, 3):
        save_checkpoint(tmp_path, _arrays(step), {"step": step})
    (tmp_path / "checkpoint-00000002.json").unlink()  # as if killed after the first removal
    assert list_generations(tmp_path) == [3] and _check_consistent(tmp_path) == 3
    save_checkpoint(tmp_path, _arrays(4), {"step": 4})  # the orphan npz of 2 goes now
    assert list_generations(tmp_path) == [3, 4] and len(os.listdir(tmp_path)) == 4

def test_temporaries_of_other_names_are_left_alone(tmp_path):
    (tmp_path / ".best-00000001.npz.aaaa.tmp").write_bytes(b"")
    (tmp_path / ".report.html.aaaa.tmp").write_bytes(b"")
    save_checkpoint(tmp_path, _arrays(1), {"step": 1})
    assert (tmp_path / ".best-00000001.npz.aaaa.tmp").exists()
    assert (tmp_path / ".report.html.aaaa.tmp").exists()
