"""The LSTM's forget-gate bias at the start of training: 0 (PyTorch's init, bptt's default) or 1.

    python benchmarks/forget_bias.py                          # steps 3000, biases 0 and 1, seed 0
    python benchmarks/forget_bias.py --steps 2000 --seeds 0 1 2 --json out.json

The recipe of issue 15 and of benchmarks/train_vs_torch.py: a character LSTM, H 128, T 50, B 32,
Adam lr 2e-3, clipping the global norm at 5, float32, on the built-in corpus (bptt.CharData's
vocabulary and 10 % tail for validation). Each run goes through bptt.train; validation bits per
character are measured every --eval-every steps over the head of the held-out text
(--eval-chars). Each run starts in its own process with one BLAS thread, so two runs can go side by
side on a 2-core machine without disturbing each other's numbers (only their speed).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

RUN = r"""
import json, math, os, sys, time
import bptt
from bptt.data import builtin_corpus
fb, seed, steps, every, chars = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
data = bptt.CharData.from_text(builtin_corpus())
V = data.vocab.size
model = bptt.LSTM(V, 128, V, forget_bias=fb, dtype="float32", seed=seed)
t0 = time.perf_counter()
hist = bptt.train(model, data, bptt.TrainConfig(steps=steps, seq_len=50, batch=32, lr=2e-3, clip=5.0,
                  eval_every=every, eval_chars=chars, seed=seed, progress=False))
print("RESULT " + json.dumps({"forget_bias": fb, "seed": seed, "seconds": time.perf_counter() - t0,
      "curve": [[r["step"], r["val_bpc"]] for r in hist]}))
"""


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--biases", type=float, nargs="+", default=[0.0, 1.0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--eval-chars", type=int, default=100_000)
    p.add_argument("--parallel", type=int, default=2, help="runs at a time (one thread each)")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    jobs = [(fb, s) for s in args.seeds for fb in args.biases]
    results = []
    while jobs:
        batch, jobs = jobs[:args.parallel], jobs[args.parallel:]
        procs = [subprocess.Popen([sys.executable, "-c", RUN, str(fb), str(s), str(args.steps),
                                   str(args.eval_every), str(args.eval_chars)],
                                  stdout=subprocess.PIPE, text=True, env=env) for fb, s in batch]
        for pr in procs:
            out, _ = pr.communicate()
            if pr.returncode != 0:
                sys.exit(f"a run failed with status {pr.returncode}")
            results.append(json.loads(out.split("RESULT ")[-1]))
    steps = [s for s, _ in results[0]["curve"]]
    print(f"LSTM H128 T50 B32 Adam 2e-3 clip 5, built-in corpus; validation bits/char "
          f"(first {args.eval_chars:,} held-out characters)")
    print(f"{'forget_bias':>11} {'seed':>4} " + " ".join(f"{s:>6}" for s in steps) + "   seconds")
    for r in results:
        print(f"{r['forget_bias']:>11.1f} {r['seed']:>4} "
              + " ".join(f"{b:6.3f}" for _, b in r["curve"]) + f"   {r['seconds']:7.1f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
