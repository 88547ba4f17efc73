"""The bidirectional fast path against PyTorch's bidirectional modules: forward + full BPTT at
T50 B32 V65 H256 (token ids, Linear(2H, O), cross-entropy), float32, one thread, same process.

    python benchmarks/bidirectional_bench.py                      # rnn, lstm, gru; 5 repeats
    python benchmarks/bidirectional_bench.py --repeats 9 --seconds 4 --json benchmarks/results/bench-bidirectional.json

The work of each side is `bptt bench`'s (bptt.bench.work: the configurations
rnn-bi-T50-B32-V65-H256, lstm-bi-..., gru-bi-...; bptt's public loss_and_grads against
nn.RNN/LSTM/GRU(bidirectional=True) + Linear(2H, O) + cross_entropy + backward, the same weights
through bptt.to_torch, torch's bias_hh of both directions frozen for the RNN and the LSTM).
On a machine shared with other work the ratio moves from one measurement to the next, so the
configurations are measured in `repeats` interleaved rounds — round r times every configuration
once, each with bptt and torch alternating inside it (bptt.bench.timing.time_alternating) — and
the reported ratio is the median of the rounds' ratios (bptt time / torch time).
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from bptt.bench.runner import _Threads, machine_info, machine_line, save_json
from bptt.bench.timing import time_alternating
from bptt.bench.work import CONFIGS, Config, bptt_backward, torch_backward

BIDIRECTIONAL = [c for c in CONFIGS.values() if c.bidirectional]


def measure(configs=None, repeats: int = 5, seconds: float = 3.0, log=lambda *a: None) -> dict:
    """{"machine", "rows"}: per configuration the rounds' bptt and torch medians (ms), their
    ratios, the median ratio and the target (1 thread)."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"The 'repeats' argument of measure must be an int >= 1. Got {repeats!r}.")
    chosen = [CONFIGS[c] if isinstance(c, str) else c for c in (configs or BIDIRECTIONAL)]
    if not all(isinstance(c, Config) for c in chosen):
        raise ValueError(f"The 'configs' argument of measure must name configurations of {list(CONFIGS)}.")
    fns = {c.name: (bptt_backward(c), torch_backward(c)) for c in chosen}
    rows = {c.name: {"config": c.name, "kind": c.kind, "target": c.target, "bptt_ms": [], "torch_ms": [],
                     "ratios": []} for c in chosen}
    with _Threads(1):
        for r in range(repeats):
            for c in chosen:
                b, t = fns[c.name]
                res = time_alternating({"bptt": b, "torch": t}, seconds)
                row = rows[c.name]
                row["bptt_ms"].append(res["bptt"]["median"] * 1e3)
                row["torch_ms"].append(res["torch"]["median"] * 1e3)
                row["ratios"].append(res["bptt"]["median"] / res["torch"]["median"])
                log(f"round {r + 1}/{repeats} {c.name:<26} bptt {row['bptt_ms'][-1]:8.2f} ms  "
                    f"torch {row['torch_ms'][-1]:8.2f} ms  ratio {row['ratios'][-1]:.3f}")
    for row in rows.values():
        row["median_ratio"] = float(np.median(row["ratios"]))
        row["median_bptt_ms"] = float(np.median(row["bptt_ms"]))
        row["median_torch_ms"] = float(np.median(row["torch_ms"]))
        row["meets_target"] = bool(row["median_ratio"] <= row["target"])
    return {"machine": machine_info(), "repeats": repeats, "seconds": seconds, "rows": list(rows.values())}


def table(result) -> str:
    lines = ["| config | bptt ms (median) | torch ms (median) | ratio, median | ratios of the rounds | target |",
             "|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['config']} | {r['median_bptt_ms']:.2f} | {r['median_torch_ms']:.2f} | "
                     f"**{r['median_ratio']:.3f}** | {', '.join(f'{x:.2f}' for x in r['ratios'])} | "
                     f"<= {r['target']:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--configs", nargs="+", choices=[c.name for c in BIDIRECTIONAL], default=None)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seconds", type=float, default=3.0, help="per configuration and round, both sides")
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    result = measure(args.configs, args.repeats, args.seconds, log=print)
    print(machine_line(result["machine"]))
    print(table(result))
    save_json(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
