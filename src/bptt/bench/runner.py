"""`bptt bench`: bptt against PyTorch on the same work, in one process, alternating runs.

    python benchmarks/bench.py --json results.json        # or: bptt bench --json results.json
    python benchmarks/bench.py --threads 1 --profile      # also: where bptt's time goes
    run_bench(configs=["rnn-T50-B32-V65-H256"], threads=(1,), seconds=2.0) -> dict

What is timed (float32; zero initial state; every configuration with the same weights on both
sides, copied with `bptt.to_torch`):

- "fwd+bptt": bptt's public `model.loss_and_grads(x, y)` (validation, forward, loss, full BPTT,
  ∂J/∂θ — the same work as torch's, which computes no ∂J/∂x), against torch.nn.RNN/LSTM/GRU +
  Linear + cross_entropy (reduction="sum") / B + backward(), gradients reset to None before each
  call (bias_hh frozen at 0 for the RNN and the LSTM: bptt has one bias, b = bias_ih + bias_hh;
  the GRU's bias_hh holds b_hn and stays trainable). Token inputs are ids for bptt and one-hot
  floats for torch, built once outside the timed region.
- "train step": what `bptt.training.loop` does per step — `model._backward`, `clip_by_norm(grads, 5)`,
  `Adam(lr=2e-3).step` — against the same in torch (zero_grad, forward, loss, backward,
  clip_grad_norm_(5), Adam(lr=2e-3).step()).
- "minchar": training iterations/s of bptt (SimpleRNN, B = 1, T = 25, H = 100, Adagrad lr 0.1,
  clip_by_value 5) against a per-step loop in min-char-rnn's style (benchmarks/minchar_baseline.py).

Definitions:
- time: the median over 7 rounds of each round's median per-call time; the order of the sides
  rotates from round to round; Python's gc is off while timing; each side's first call in a
  round is not timed, and on 2+ threads each side's turn starts after a 0.2 s pause (threads
  still spinning from the other side — OpenBLAS's for ~0.1 s, torch's OpenMP's for a few ms —
  would take its cores).
- steps/s: sequence steps per second, T·B / time (characters per second for a char model).
- GFLOP: the GEMM flops of the model's own math, the same count for both sides, N = T·B, G = 1
  (RNN), 3 (GRU) or 4 (LSTM):  2N·(3·G·H² + 3·H·O) + [float inputs] 2N·2·G·H·D. That is, forward
  W h(t−1), backward Wᵀ∂J/∂a and ∂J/∂W; o = V h, Vᵀ ∂J/∂o and ∂J/∂V; for float inputs U x and
  ∂J/∂U. Token inputs are gathers (not counted), ∂J/∂x is not counted (torch does not compute it).
- peak: the median GFLOP/s of a float32 (512×512)@(512×2048) np.dot in the same run, per thread
  count; "fraction of peak" = GFLOP/s / peak. "executed" fractions count the GEMMs each side
  really runs instead: torch's one-hot input GEMMs (2·2N·G·H·D, token inputs).
- memory: each side in a fresh subprocess, one call: the peak resident size during the call minus
  the resident size before it (VmHWM reset through /proc/self/clear_refs; Linux), in MiB; for
  bptt also the tracemalloc peak of NumPy's buffers during the call.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

from .timing import time_alternating  # noqa: F401  (re-exported for callers)

SETTLE_S = 0.2    # on 2+ threads, a pause before each side's turn in a round (timing.time_alternating)
from .work import (CONFIGS, MINCHAR_TARGET, PEAK_SHAPE,  # noqa: F401  (make_model re-exported)
                         Config, bptt_backward, bptt_train_step, executed_flops,
                         gemm_flops, lstm_class, make_model, torch_backward,
                         torch_train_step)


# -- timing ------------------------------------------------------------------------------------
def gemm_peak(threads: int, seconds: float = 0.5) -> float:
    """Median GFLOP/s of a float32 (512, 512) @ (512, 2048) np.dot on `threads` threads."""
    from threadpoolctl import threadpool_limits
    m, k, n = PEAK_SHAPE
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    out = np.empty((m, n), dtype=np.float32)
    with threadpool_limits(threads):
        t = time_alternating({"gemm": lambda: np.dot(a, b, out=out)}, seconds, rounds=5)
    return 2 * m * k * n / t["gemm"]["median"] / 1e9


class _Threads:
    """NumPy's BLAS (threadpoolctl) and torch both limited to n threads inside the block."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        from threadpoolctl import threadpool_limits
        self._limits = threadpool_limits(self.n)
        try:
            import torch
            self._torch = torch.get_num_threads()
            torch.set_num_threads(self.n)
        except ImportError:
            self._torch = None
        return self

    def __exit__(self, *exc):
        self._limits.restore_original_limits()
        if self._torch is not None:
            import torch
            torch.set_num_threads(self._torch)


def _pair_row(c, threads, t, peak, kind):
    b, p = t["bptt"]["median"], t["torch"]["median"]
    flops = gemm_flops(c)
    row = {"config": c.name, "bench": kind, "kind": c.kind, "T": c.T, "B": c.B, "D": c.D, "H": c.H,
           "O": c.O, "tokens": c.tokens, "threads": threads,
           "bptt_ms": b * 1e3, "torch_ms": p * 1e3, "ratio": b / p,
           "bptt_min_ms": t["bptt"]["min"] * 1e3, "torch_min_ms": t["torch"]["min"] * 1e3,
           "bptt_steps_per_s": c.T * c.B / b, "torch_steps_per_s": c.T * c.B / p,
           "bptt_iters_per_s": 1 / b, "torch_iters_per_s": 1 / p,
           "gflop": flops / 1e9, "bptt_gflops": flops / b / 1e9, "torch_gflops": flops / p / 1e9,
           "peak_gflops": peak, "bptt_peak_fraction": flops / b / 1e9 / peak,
           "torch_peak_fraction": flops / p / 1e9 / peak,
           "bptt_executed_peak_fraction": executed_flops(c, "bptt") / b / 1e9 / peak,
           "torch_executed_peak_fraction": executed_flops(c, "torch") / p / 1e9 / peak}
    if kind == "fwd+bptt":
        row["target"] = c.target
        row["meets_target"] = bool(b / p <= c.target) if threads == 1 else None
    return row


# -- the machine ---------------------------------------------------------------------------------
def machine_info() -> dict:
    from threadpoolctl import threadpool_info
    from ..cells import fastpath
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    blas = [{k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads",
                                   "threading_layer", "prefix")}
            for d in threadpool_info() if d.get("user_api") == "blas"]
    info = {"cpu": cpu, "logical_cpus": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "blas": blas,
            "env": {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_", "MKL_"))},
            "malloc_top_pad_set": fastpath.MALLOC_TUNED}
    try:
        import torch
        info["torch"] = {"version": torch.__version__, "threads": torch.get_num_threads(),
                         "mkldnn": torch.backends.mkldnn.is_available(),
                         "capability": torch.backends.cpu.get_cpu_capability()}
    except ImportError:
        info["torch"] = None
    return info


def run_bench(configs=None, threads=(1, 2), seconds: float = 3.0, train_step: bool = True,
              minchar: bool = True, memory: bool = True, log=print) -> dict:
    """Run the benchmark; returns the JSON-able results (see the module docstring)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ImportError("bptt bench compares against PyTorch, which is not installed: "
                          "pip install 'bptt[torch]'") from None
    chosen = list(CONFIGS.values()) if configs is None else [
        c if isinstance(c, Config) else CONFIGS.get(c, c) for c in configs]
    unknown = [c for c in chosen if not isinstance(c, Config)]
    if unknown:
        raise ValueError(f"Unknown configurations {unknown}; choose from {list(CONFIGS)}.")
    result = {"machine": machine_info(), "definitions": __doc__,
              "peak_gflops": {}, "results": [], "train_step": [], "memory": {}, "skipped": {},
              "minchar": None}
    m = result["machine"]
    log(f"CPU: {m['cpu']} ({m['logical_cpus']} logical CPUs); NumPy {m['numpy']}; "
        f"torch {m['torch']['version']}")
    for b in m["blas"]:
        log(f"BLAS: {b['internal_api']} {b['version']}, kernel {b['architecture']}, "
            f"{b['num_threads']} threads by default")
    if m["env"]:
        log(f"environment: {m['env']}")
    for n in threads:
        result["peak_gflops"][str(n)] = gemm_peak(n, min(0.5, seconds))
        log(f"GEMM peak (float32 {PEAK_SHAPE}, {n} thread{'s' * (n > 1)}): "
            f"{result['peak_gflops'][str(n)]:.1f} GFLOP/s")
    for c in chosen:
        name = c.name
        if c.kind == "lstm" and lstm_class() is None:
            result["skipped"][name] = "bptt.LSTM is not available yet"
            log(f"{name}: skipped (bptt.LSTM is not available yet)")
            continue
        for n in threads:
            peak = result["peak_gflops"][str(n)]
            with _Threads(n):
                settle = SETTLE_S if n > 1 else 0.0          # spinning BLAS/OpenMP threads park
                t = time_alternating({"bptt": bptt_backward(c), "torch": torch_backward(c)}, seconds,
                                     settle=settle)
                row = _pair_row(c, n, t, peak, "fwd+bptt")
                result["results"].append(row)
                log(_format_row(row))
                if train_step:
                    t = time_alternating({"bptt": bptt_train_step(c), "torch": torch_train_step(c)},
                                         seconds, settle=settle)
                    row = _pair_row(c, n, t, peak, "train step")
                    result["train_step"].append(row)
                    log(_format_row(row))
        if memory:
            from .memory import measure_memory
            result["memory"][name] = measure_memory(c)
            log(f"{name}: memory {result['memory'][name]}")
    if minchar:
        from .profiling import find_minchar_baseline, minchar_bench
        cls = find_minchar_baseline()
        if cls is None:
            result["skipped"]["minchar"] = "benchmarks/minchar_baseline.py not found"
        else:
            result["minchar"] = mc = minchar_bench(cls, seconds)
            log(f"min-char-rnn config: bptt {mc['bptt_iters_per_s']:.0f} it/s, per-step loop "
                f"{mc['minchar_float64_iters_per_s']:.0f} it/s (float64), "
                f"{mc['minchar_float32_iters_per_s']:.0f} it/s (float32): "
                f"{mc['speedup_vs_float64']:.2f}x / {mc['speedup_vs_float32']:.2f}x "
                f"(target >= {MINCHAR_TARGET}x)")
    return result


def _format_row(r) -> str:
    tgt = f" (target <= {r['target']:.2f})" if r.get("target") and r["threads"] == 1 else ""
    return (f"{r['config']:<24} {r['bench']:<10} {r['threads']}T  bptt {r['bptt_ms']:9.3f} ms  "
            f"torch {r['torch_ms']:9.3f} ms  ratio {r['ratio']:.3f}{tgt}  "
            f"bptt {r['bptt_gflops']:6.1f} GFLOP/s = {100 * r['bptt_peak_fraction']:.0f}% of peak")


def format_tables(result: dict) -> str:
    """Markdown tables of a run_bench result."""
    lines = []
    for key, title in (("results", "forward + full BPTT"), ("train_step", "training step")):
        rows = result[key]
        if not rows:
            continue
        lines += [f"### {title}", "",
                  "| config | threads | bptt ms | torch ms | ratio | target | bptt steps/s | "
                  "torch steps/s | bptt GFLOP/s | torch GFLOP/s | bptt % peak | torch % peak | "
                  "bptt % peak, executed | torch % peak, executed |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            tgt = f"<= {r['target']:.2f}" if r.get("target") and r["threads"] == 1 else ""
            lines.append(
                f"| {r['config']} | {r['threads']} | {r['bptt_ms']:.3f} | {r['torch_ms']:.3f} | "
                f"{r['ratio']:.3f} | {tgt} | {r['bptt_steps_per_s']:,.0f} | "
                f"{r['torch_steps_per_s']:,.0f} | {r['bptt_gflops']:.1f} | {r['torch_gflops']:.1f} | "
                f"{100 * r['bptt_peak_fraction']:.0f}% | {100 * r['torch_peak_fraction']:.0f}% | "
                f"{100 * r['bptt_executed_peak_fraction']:.0f}% | "
                f"{100 * r['torch_executed_peak_fraction']:.0f}% |")
        lines.append("")
    if result["memory"]:
        lines += ["### peak memory of one fwd+bptt call (MiB)", "",
                  "| config | bptt NumPy peak (tracemalloc) | bptt RSS delta | torch RSS delta |",
                  "|---|---|---|---|"]
        for name, m in result["memory"].items():
            b, t = m.get("bptt", {}), m.get("torch", {})
            lines.append(f"| {name} | {b.get('numpy_peak_mib', float('nan')):.1f} | "
                         f"{b.get('rss_peak_delta_mib', float('nan')):.1f} | "
                         f"{t.get('rss_peak_delta_mib', float('nan')):.1f} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="bptt bench", description=__doc__.split("\n")[0])
    p.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=None,
                   help="configurations (default: all)")
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--seconds", type=float, default=3.0,
                   help="timing budget per configuration and bench, both sides together")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON")
    p.add_argument("--no-train-step", action="store_true")
    p.add_argument("--no-minchar", action="store_true")
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--profile", action="store_true",
                   help="also time each stage of SimpleRNN's forward + BPTT and its GEMMs alone")
    args = p.parse_args(argv)
    result = run_bench(args.configs, tuple(args.threads), args.seconds,
                       train_step=not args.no_train_step, minchar=not args.no_minchar,
                       memory=not args.no_memory)
    if args.profile:
        result["profile"] = {}
        for c in [CONFIGS[n] for n in (args.configs or CONFIGS)]:
            if c.kind == "rnn":
                from .profiling import profile_sections
                prof = result["profile"][c.name] = profile_sections(c)
                print(f"\n{c.name}: where bptt's time goes (ms, 1 thread)")
                for k, v in prof["stages_ms"].items():
                    print(f"  {k:<48} {v:9.3f}")
                print(f"  {'total':<48} {prof['stages_total_ms']:9.3f}")
                for k, v in prof["gemm_floor_ms"].items():
                    print(f"  GEMM alone: {k:<52} {v:9.3f}")
    print()
    print(format_tables(result))
    save_json(result, args.json)
    return 0


def machine_line(machine: dict) -> str:
    """One line naming the CPU and each BLAS with its kernel, from `machine_info()`."""
    return f"CPU: {machine['cpu']}; BLAS: " + ", ".join(
        f"{b['internal_api']} {b['version']} ({b['architecture']})" for b in machine["blas"])


def save_json(result: dict, path) -> None:
    """Write a benchmark's result as JSON to `path` (nothing for None) and say so."""
    if path:
        Path(path).write_text(json.dumps(result, indent=1, default=float), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
