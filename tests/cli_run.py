"""Running the bptt command line as a user would, in a subprocess (the helper of tests/cli/)."""
import os
import subprocess
import sys

TINY = ["--hidden", "16", "--seq-len", "12", "--batch", "4", "--eval-every", "10",
        "--no-progress", "--lr", "0.01"]


def bptt(*args, timeout=120, **kw):
    """`python -m bptt ARGS...`: the CompletedProcess, with text stdout and stderr."""
    env = dict(os.environ, PYTHONWARNINGS="ignore", MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "bptt", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env, **kw)
