"""The cells' batch-sliced loops (bptt.cells.{rnn,lstm,gru}.slices) against their unsliced fused
loops and PyTorch's nn.RNN / nn.LSTM / nn.GRU, on 1 and 2 threads: forward + full BPTT and the
training step, float32.

    python benchmarks/slices.py                               # every DEFAULT configuration, 5 rounds
    python benchmarks/slices.py --configs lstm-T50-B32-V65-H256 --threads 2 4 --repeats 9 \
        --json benchmarks/results/slices.json

The work of each side is `bptt bench`'s (bptt.bench.work: bptt's public loss_and_grads, or the
training step with clip_by_norm(5) and Adam(2e-3), against nn.LSTM + Linear + cross_entropy +
backward, the same weights). "sliced" is bptt as it runs by default (in batch slices on two or
more BLAS threads), "fused" the same call with BPTT_SLICES=0 (the fused loop, OpenBLAS threading
each per-step product). On a machine shared with other work the times move from one measurement
to the next, so each configuration is measured in `repeats` rounds, every side alternating inside
a round (bptt.bench.timing.time_alternating, with a 0.2 s pause before each side's turn on 2+
threads, so that threads still spinning from the side before — OpenBLAS's spin ~0.1 s after the
fused loop's threaded products — have parked); the ratios reported are the medians of the rounds'
ratios, with their smallest and largest. Records the CPU and the BLAS kernel (threadpoolctl).
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from bptt.bench.runner import _Threads, machine_info, machine_line, save_json
from bptt.bench.timing import time_alternating
from bptt.bench.work import (CONFIGS, Config, bptt_backward, bptt_train_step, torch_backward,
                             torch_train_step)

H128 = Config("lstm-T50-B32-V96-H128", "lstm", 50, 32, 96, 128, 96, True, 0.80)   # the recipe's sizes
EXTRA = {H128.name: H128}
DEFAULT = [CONFIGS[name] for name in ("rnn-T50-B32-V65-H256", "rnn-T100-B64-D128-H512",
                                      "lstm-T50-B32-V65-H256", "gru-T50-B32-V65-H256")] + [H128]


def configs_named(names) -> list:
    """The Configs of these names (bptt.bench.work.CONFIGS, and EXTRA); ValueError for others."""
    known = {**CONFIGS, **EXTRA}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"Unknown configuration(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(sorted(known))}.")
    return [known[n] for n in names]


def slices_off(fn):
    """fn with BPTT_SLICES=0 set around each call: the fused loop."""
    def call():
        before = os.environ.get("BPTT_SLICES")
        os.environ["BPTT_SLICES"] = "0"
        try:
            return fn()
        finally:
            if before is None:
                del os.environ["BPTT_SLICES"]
            else:
                os.environ["BPTT_SLICES"] = before
    return call


def measure(configs=None, threads=(1, 2), repeats: int = 5, seconds: float = 3.0,
            log=lambda *a: None, settle: float = 0.2) -> dict:
    """{"machine", "rows"}: per configuration and thread count, the rounds' medians (ms) of
    "sliced", "fused" (2+ threads), "torch" (fwd+bptt) and "sliced step", "torch step" (training
    step), with the median, smallest and largest ratio of each against torch."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"The 'repeats' argument of measure must be an int >= 1. Got {repeats!r}.")
    rows = []
    for n in threads:
        with _Threads(n):
            for c in configs or DEFAULT:
                fns = {"sliced": bptt_backward(c), "torch": torch_backward(c),
                       "sliced step": bptt_train_step(c), "torch step": torch_train_step(c)}
                if n > 1:
                    fns["fused"] = slices_off(bptt_backward(c))
                ms = {k: [] for k in fns}
                for r in range(repeats):
                    res = time_alternating(fns, seconds * len(fns) / 2, settle=settle if n > 1 else 0.0)
                    for k in fns:
                        ms[k].append(res[k]["median"] * 1e3)
                    log(f"{n} thread(s) round {r + 1}/{repeats} {c.name}: " +
                        ", ".join(f"{k} {ms[k][-1]:.2f}" for k in fns) + " ms")
                row = {"config": c.name, "threads": n, "ms": ms}
                for side, ref in (("sliced", "torch"), ("fused", "torch"), ("sliced step", "torch step")):
                    if side in ms:
                        q = np.array(ms[side]) / np.array(ms[ref])
                        row[f"{side} / {ref}"] = {"median": float(np.median(q)), "min": float(q.min()),
                                                  "max": float(q.max())}
                rows.append(row)
    return {"machine": machine_info(), "repeats": repeats, "seconds": seconds, "rows": rows}


def table(result) -> str:
    lines = ["| config | threads | bptt ms | bptt ms, fused loop | torch ms | fwd+BPTT ratio (min–max) "
             "| fused loop ratio | train step ratio (min–max) |", "|---|---|---|---|---|---|---|---|"]
    span = lambda q: f"{q['median']:.3f} ({q['min']:.2f}–{q['max']:.2f})"     # noqa: E731
    for r in result["rows"]:
        med = {k: float(np.median(v)) for k, v in r["ms"].items()}
        fused = r.get("fused / torch")
        lines.append(f"| {r['config']} | {r['threads']} | {med['sliced']:.2f} | "
                     f"{med['fused']:.2f} | " if fused else f"| {r['config']} | {r['threads']} | "
                     f"{med['sliced']:.2f} | | ")
        lines[-1] += (f"{med['torch']:.2f} | **{span(r['sliced / torch'])}** | "
                      f"{fused['median']:.3f} | " if fused else
                      f"{med['torch']:.2f} | **{span(r['sliced / torch'])}** | | ")
        lines[-1] += f"{span(r['sliced step / torch step'])} |"
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--configs", nargs="+", metavar="NAME",
                   help="configurations (bptt bench's names); default: " + ", ".join(c.name for c in DEFAULT))
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seconds", type=float, default=2.0, help="per pair of sides and round")
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    try:
        configs = configs_named(args.configs) if args.configs else None
    except ValueError as e:
        p.error(str(e))
    result = measure(configs, args.threads, args.repeats, args.seconds, log=print)
    print(machine_line(result["machine"]))
    print(table(result))
    save_json(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
