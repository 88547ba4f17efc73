"""Timing for the benchmarks: alternating rounds, so that both sides of a ratio see the same
machine state."""
from __future__ import annotations

import gc
import time

import numpy as np


def _calls_per_round(fn, round_s):
    fn()
    t = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t, 1e-7)
    return max(1, min(2000, int(round_s / once)))


def time_alternating(fns: dict, seconds: float, rounds: int = 7, settle: float = 0.0) -> dict:
    """Median per-call seconds of each function, timed in alternating rounds (the order rotates
    each round). Returns {name: {"median": s, "min": s, "rounds": [per-round medians]}}.

    Each function's first call in a round is not timed: the threads of the function before it may
    still be spinning (libgomp's OpenMP threads, which torch uses, spin for a few milliseconds
    after a parallel region; measured: bptt's LSTM pass at T50 B32 H96 on 2 threads took 10.5 ms
    right after a torch call, 6.1 ms otherwise). settle: seconds of sleep before each function's
    turn, for threads that spin longer: OpenBLAS's spin about 0.1 s after a threaded call
    (2^28 cycles), taking a core from whatever runs next."""
    names = list(fns)
    per_round = seconds / (rounds * len(names))
    counts = {n: _calls_per_round(fns[n], per_round) for n in names}
    samples = {n: [] for n in names}
    gc.collect()
    gc.disable()
    try:
        for r in range(rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for n in order:
                fn, k = fns[n], counts[n]
                if settle > 0:
                    time.sleep(settle)
                fn()                                     # untimed: the one before may still spin
                ts = []
                for _ in range(k):
                    t = time.perf_counter()
                    fn()
                    ts.append(time.perf_counter() - t)
                samples[n].append(float(np.median(ts)))
    finally:
        gc.enable()
    return {n: {"median": float(np.median(s)), "min": float(np.min(s)), "rounds": s}
            for n, s in samples.items()}
