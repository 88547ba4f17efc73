"""The BPTT lab page in headless Chromium (not a test): training updates per second (bpttLab.train
in the page, and the Play loop with its drawing at ~10 fps) and the time to first render, for
T = 8, 32 and H = 4, 32, with the CPU model.

    python benchmarks/lab_bench.py [--kind rnn] [--json out.json]
"""
import argparse
import json
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


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kind", default="rnn", choices=["rnn", "lstm", "gru"])
    ap.add_argument("--json")
    args = ap.parse_args()
    page_path = Path(tempfile.mkdtemp()) / "lab.html"
    lab(page_path)
    rows = []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox", "--disable-gpu"])
        for T in (8, 32):
            for H in (4, 32):
                pg = b.new_page(viewport={"width": 1280, "height": 900})
                frag = f"#text={text_of(T)}&kind={args.kind}&H={H}&init=seed&opt=adam&lr=0.01"
                t0 = time.perf_counter()
                pg.goto(page_path.as_uri() + frag)
                pg.wait_for_function("() => document.documentElement.dataset.labReady === '1'")
                first = time.perf_counter() - t0
                st = pg.evaluate("() => bpttLab.state()")
                assert st["T"] == T and st["options"]["hidden"] == H and st["options"]["kind"] == args.kind, st
                assert pg.inner_text("#lab-error") == "", pg.inner_text("#lab-error")
                n = 200 if H == 32 else 1000
                ms, done = pg.evaluate(f"() => {{ const t = performance.now(); const l = bpttLab.train({n}); return [performance.now() - t, l.length]; }}")
                assert done == n, f"training stopped after {done} of {n} updates"
                # the Play loop: updates in 30 ms slices, charts redrawn at most every 100 ms
                pg.click("#lab-restart")
                s0 = pg.evaluate("() => bpttLab.state().steps")
                pg.click("#lab-play")
                time.sleep(3.0)
                pg.click("#lab-play")
                played = (pg.evaluate("() => bpttLab.state().steps") - s0) / 3.0
                rows.append({"kind": args.kind, "T": T, "H": H, "first_render_s": round(first, 3),
                             "train_updates_per_s": round(n / ms * 1000, 1), "play_updates_per_s": round(played, 1)})
                print(rows[-1], flush=True)
                pg.close()
        b.close()
    out = {"cpu": cpu_model(), "page_bytes": page_path.stat().st_size, "rows": rows}
    print(json.dumps(out, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
