"""Peak memory of one call of each side of `bptt bench`, each in a fresh process (Linux)."""
from __future__ import annotations

import gc
import json
import subprocess
import sys
from dataclasses import asdict

from .work import CONFIGS, Config, bptt_backward, torch_backward


# -- memory, in a fresh process per side --------------------------------------------------------
def _proc_status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"{field} not in /proc/self/status")


def memory_probe(side: str, config) -> dict:
    """Run in a fresh subprocess: the peak extra memory of one fwd+bptt call of `side` on the
    configuration `name`. The peak resident size (VmHWM) is reset just before the call (Linux
    /proc/self/clear_refs), so "rss_peak_delta_mib" = VmHWM after the call − VmRSS before it; the
    libraries are initialized first by a small call. For bptt also the tracemalloc peak of the
    call (NumPy reports its buffers to tracemalloc)."""
    import tracemalloc
    from threadpoolctl import threadpool_limits
    c = config if isinstance(config, Config) else CONFIGS[config]
    small = Config("warm-up", c.kind, 2, 1, c.D, 8, c.O, c.tokens, 1.0, c.bidirectional)
    make = bptt_backward if side == "bptt" else torch_backward
    with threadpool_limits(1):
        if side == "torch":
            import torch
            torch.set_num_threads(1)
        make(small)()                                    # libraries initialized
        fn = make(c)
        gc.collect()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")                                 # VmHWM := VmRSS
        before = _proc_status_kib("VmRSS")
        if side == "bptt":
            tracemalloc.start()
        fn()
        peak_np = tracemalloc.get_traced_memory()[1] if side == "bptt" else None
        peak = _proc_status_kib("VmHWM")
    out = {"rss_peak_delta_mib": (peak - before) / 1024}
    if peak_np is not None:
        out["numpy_peak_mib"] = peak_np / 2**20
    return out


def measure_memory(config, sides=("bptt", "torch")) -> dict:
    """memory_probe of each side, each in a fresh Python process."""
    c = config if isinstance(config, Config) else CONFIGS[config]
    res = {}
    for side in sides:
        code = ("import json; from bptt.bench.runner import Config, memory_probe; "
                f"print(json.dumps(memory_probe({side!r}, Config(**{asdict(c)!r}))))")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=600)
        if proc.returncode != 0:
            res[side] = {"error": proc.stderr.strip().splitlines()[-1:]}
        else:
            res[side] = json.loads(proc.stdout.strip().splitlines()[-1])
    return res
