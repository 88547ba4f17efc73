"""Peak resident memory and time to the first training step against corpus size: the text read
into memory (CharData.from_text, as `bptt train FILES` did) against the prepared token file read
through np.memmap (bptt.io.corpus.cached_corpus, as `bptt train FILES` caches it beside the run).

    python benchmarks/corpus_memory.py                    # 10 MB and 100 MB
    python benchmarks/corpus_memory.py --sizes 10 100 1000 --dir /tmp/corpora
    python benchmarks/corpus_memory.py --sizes 1000 --modes mapped-cold mapped-warm

Each size is a synthetic text written to --dir in chunks (words of a fixed list, ~70 distinct
characters, so uint8 ids), kept for later runs unless --clean. Each measurement runs in a fresh
process: it imports bptt, builds the data, builds the default `bptt train` model (SimpleRNN,
H 256, float32) and runs bptt.train for one step (B 32, T 50, with its evaluation over 100,000
validation characters); "first step" is the wall time from the process's start to the end of
that step, "peak RSS" is VmHWM from /proc/self/status (Linux), file-backed mapped pages included.

    memory        load_text + CharData.from_text (the whole text and its ids in memory)
    mapped-cold   cached_corpus with no cache: both passes of the preparation, then the memmap
    mapped-warm   cached_corpus reusing the cache of mapped-cold: the memmap only
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

WORDS = ("the of and to in is was for on that with as by at from his it an were are which "
         "this be or have had one their not but all new more has two after first who been "
         "Python Memory Stream Token Corpus (1999) [42] {x: y} 3.14159 -- e-mail; quote's \"ok\"!?"
         ).split()

RUN = r"""
import os, sys, time
t0 = float(sys.argv[3])
mode, path, run = sys.argv[1], sys.argv[2], sys.argv[4]
import bptt
from bptt.training.loop import TrainConfig, train
if mode == "memory":
    from bptt.data import load_text
    from bptt.data.chardata import CharData
    data = CharData.from_text(load_text([path]))
else:
    from bptt.io.corpus import cached_corpus
    data = cached_corpus([path], run, progress=False)
t_data = time.time() - t0
V = data.vocab.size
model = bptt.SimpleRNN(V, 256, V, dtype="float32", seed=0)
train(model, data, TrainConfig(steps=1, progress=False))
t_step = time.time() - t0
hwm = [l for l in open("/proc/self/status") if l.startswith(("VmHWM", "RssFile", "RssAnon"))]
print("RESULT", t_data, t_step, " ".join(l.split()[1] for l in hwm))
"""


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip() + f", {os.cpu_count()} CPUs"
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def make_text(path: str, mb: int, seed: int = 0) -> None:
    """About mb·10⁶ bytes of words (ASCII), written in 8 MB chunks."""
    import numpy as np
    if os.path.exists(path) and os.path.getsize(path) >= mb * 10**6:
        return
    rng = np.random.default_rng(seed)
    words = np.array(WORDS, dtype=object)
    left = mb * 10**6
    with open(path + ".part", "w", encoding="utf-8") as f:
        while left > 0:
            picks = words[rng.integers(0, len(words), size=1_400_000)]
            chunk = " ".join(picks) + ".\n"
            chunk = chunk[:left]
            f.write(chunk)
            left -= len(chunk)
    os.replace(path + ".part", path)


def measure(mode: str, path: str, run: str) -> dict:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    t0 = time.time()
    r = subprocess.run([sys.executable, "-c", RUN, mode, path, repr(t0), run],
                       capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise SystemExit(f"{mode} on {path} failed:\n{r.stderr[-3000:]}")
    parts = r.stdout.split("RESULT")[-1].split()
    t_data, t_step = float(parts[0]), float(parts[1])
    kb = dict(zip(("VmHWM", "RssAnon", "RssFile"), map(int, parts[2:5])))
    return {"mode": mode, "data_s": t_data, "first_step_s": t_step,
            "peak_rss_mb": kb["VmHWM"] / 1024, "anon_mb": kb["RssAnon"] / 1024,
            "file_mb": kb["RssFile"] / 1024}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10, 100], help="corpus sizes in MB")
    p.add_argument("--modes", nargs="+", default=["memory", "mapped-cold", "mapped-warm"],
                   choices=["memory", "mapped-cold", "mapped-warm"])
    p.add_argument("--dir", default=None, help="where the texts go (default: a temporary dir)")
    p.add_argument("--clean", action="store_true", help="delete the texts and caches afterwards")
    args = p.parse_args(argv)
    root = args.dir or tempfile.mkdtemp(prefix="bptt-corpus-")
    os.makedirs(root, exist_ok=True)
    print(f"CPU: {cpu_model()}; Python {platform.python_version()}; texts in {root}")
    print(f"{'corpus':>8} {'mode':>12} {'data ready s':>12} {'first step s':>12} "
          f"{'peak RSS MB':>11} {'(anon':>7} {'file)':>7}")
    try:
        for mb in args.sizes:
            path = os.path.join(root, f"text-{mb}MB.txt")
            make_text(path, mb)
            run = os.path.join(root, f"run-{mb}MB")
            for mode in args.modes:
                if mode == "mapped-cold":
                    shutil.rmtree(run, ignore_errors=True)
                r = measure("memory" if mode == "memory" else "mapped", path, run)
                print(f"{mb:>6}MB {mode:>12} {r['data_s']:>12.1f} {r['first_step_s']:>12.1f} "
                      f"{r['peak_rss_mb']:>11.0f} {r['anon_mb']:>7.0f} {r['file_mb']:>7.0f}",
                      flush=True)
    finally:
        if args.clean:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
