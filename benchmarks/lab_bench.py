"""The BPTT lab page in headless Chromium (not a test): training updates per second (bpttLab.train
in the page, and the Play loop with its drawing at ~10 fps, with the side-by-side SimpleRNN and LSTM
trained in lockstep and without) and the time to first render, for the SimpleRNN, the LSTM and the
GRU at T = 8, 32 and H = 4, 32, with the CPU model, Chromium's version and the page's size.

    python benchmarks/lab_bench.py [--kind rnn lstm gru] [--play 2.0] [--json out.json]

Updates/s of bpttLab.train(n) count the lab's model alone (side by side off), after n warm-up
updates, n = 2000 (H = 4) or 300 (H = 32), including the one full redraw that ends train(n); "Play" counts the
updates the Play loop made in --play seconds, including its redraws (the unfolded network, the
charts, the predictions and the comparison, about ten times a second).
"""
import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from bptt.viz.lab import lab


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def text_of(T):
    return ("abcdefghij" * 4)[:T + 1]


def play_rate(pg, seconds):
    pg.click("#lab-restart")
    s0 = pg.evaluate("() => bpttLab.state().steps")
    pg.click("#lab-play")
    time.sleep(seconds)
    pg.click("#lab-play")
    return round((pg.evaluate("() => bpttLab.state().steps") - s0) / seconds, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kind", nargs="+", default=["rnn", "lstm", "gru"], choices=["rnn", "lstm", "gru"])
    ap.add_argument("--play", type=float, default=2.0, help="seconds of Play per measurement")
    ap.add_argument("--json")
    args = ap.parse_args()
    page_path = Path(tempfile.mkdtemp()) / "lab.html"
    lab(page_path)
    rows = []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox", "--disable-gpu"])
        for kind in args.kind:
            for T in (8, 32):
                for H in (4, 32):
                    pg = b.new_page(viewport={"width": 1280, "height": 900})
                    frag = f"#text={text_of(T)}&kind={kind}&H={H}&init=seed&opt=adam&lr=0.01&sbs=0"
                    t0 = time.perf_counter()
                    pg.goto(page_path.as_uri() + frag)
                    pg.wait_for_function("() => document.documentElement.dataset.labReady === '1'")
                    first = time.perf_counter() - t0
                    st = pg.evaluate("() => bpttLab.state()")
                    assert st["T"] == T and st["options"]["hidden"] == H and st["options"]["kind"] == kind, st
                    assert pg.inner_text("#lab-error") == "", pg.inner_text("#lab-error")
                    n = 300 if H == 32 else 2000
                    pg.evaluate(f"() => bpttLab.train({n})")            # warms the JIT
                    ms, done = pg.evaluate(f"() => {{ const t = performance.now(); const l = bpttLab.train({n}); return [performance.now() - t, l.length]; }}")
                    assert done == n, f"training stopped after {done} of {n} updates"
                    play = play_rate(pg, args.play)                    # the lab's model alone
                    pg.evaluate("() => bpttLab.set({side_by_side: true})")
                    play_sbs = play_rate(pg, args.play)                # + the comparison in lockstep
                    rows.append({"kind": kind, "T": T, "H": H, "first_render_s": round(first, 3),
                                 "train_updates_per_s": round(n / ms * 1000, 1), "play_updates_per_s": play,
                                 "play_side_by_side_updates_per_s": play_sbs})
                    print(rows[-1], flush=True)
                    pg.close()
        version = b.version
        b.close()
    out = {"cpu": cpu_model(), "cpus": os.cpu_count(), "load_average": os.getloadavg(), "chromium": version,
           "page_bytes": page_path.stat().st_size, "rows": rows}
    print(json.dumps(out, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
