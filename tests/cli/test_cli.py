"""The bptt command line, run as a user would: subprocesses, exit codes, messages."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from bptt.io.checkpoint import list_generations, load_checkpoint
from bptt.io.saving import load_model
from cli_run import TINY, bptt
from corpus import small_text


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "text.txt"
    path.write_text(small_text(12_000), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    r = bptt("train", corpus, "--out", out, "--steps", 30, "--checkpoint-every", 10, *TINY)
    assert r.returncode == 0, r.stderr
    return out, r


def test_train_writes_everything(trained):
    out, r = trained
    assert (out / "report.html").stat().st_size > 1000
    assert "report:" in r.stdout and "--- sample ---" in r.stdout
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "Samples" in html
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(l)["step"] for l in lines] == [10, 20, 30]


def test_sample_and_eval(trained, corpus):
    out, _ = trained
    r = bptt("sample", out, "--length", 40, "--prime", "the ", "--seed", 3)
    assert r.returncode == 0 and r.stdout.startswith("the ") and len(r.stdout.rstrip("\n")) >= 44
    again = bptt("sample", out, "--length", 40, "--prime", "the ", "--seed", 3)
    assert again.stdout == r.stdout                                  # seeded: reproducible
    r = bptt("eval", out, corpus, "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    text = corpus.read_text(encoding="utf-8")
    assert res["chars"] == len(text) - 1 and res["loss"] == pytest.approx(res["bpc"] * np.log(2), rel=1e-12)
    # Bits per character from the model's own loss, in float64: `bptt eval` reads the whole text as
    # one stream (every character but the first is predicted), the state carried across its
    # chunks, so one forward over the whole stream gives the same J.
    model, vocab, _ = load_model(out)
    twin = type(model)(**{**model.config(), "dtype": "float64"})
    for k, p in model.params.items():
        twin.params[k][...] = p
    ids = vocab.encode(text)
    xs, ys = ids[:-1, None], ids[1:, None]                          # (T, 1): one stream
    bpc = twin.loss(xs, ys) / (len(ids) - 1) / np.log(2)            # J: Σ over t
    assert res["bpc"] == pytest.approx(bpc, rel=1e-5)               # the model runs in float32
    r = bptt("eval", out, corpus, "--json", "--max-chars", 1001)   # the first 1000 predictions
    head = json.loads(r.stdout)
    assert head["chars"] == 1000
    assert head["bpc"] == pytest.approx(twin.loss(xs[:1000], ys[:1000]) / 1000 / np.log(2), rel=1e-5)
    # An independent bound: the entropy of the text's character frequencies (3.88 bits; guessing
    # uniformly over its 21 characters gives log2 21 = 4.39), the best that ignores the context.
    counts = np.unique(list(text), return_counts=True)[1]
    p = counts / counts.sum()
    assert res["bpc"] < -(p * np.log2(p)).sum() - 0.25


def test_unicode_error_names_file_and_offset(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"hello world" * 10 + b"\xff\xfe" + b"more")
    r = bptt("train", bad, "--out", tmp_path / "o", *TINY)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "bad.txt" in r.stderr and "byte offset 110" in r.stderr
    r = bptt("train", bad, "--out", tmp_path / "o", "--encoding", "latin-1", "--steps", 2, *TINY)
    assert r.returncode == 0, r.stderr                                # latin-1 decodes every byte


@pytest.mark.parametrize("args, message", [
    (["train", "--out", "{tmp}/o", "{tmp}/missing.txt"], r"missing.txt"),
    (["train", "--out", "{tmp}/o", "{empty}"], r"empty"),
    (["train", "--out", "{tmp}/o", "{short}", "--batch", "32", "--seq-len", "50"], r"too short"),
    (["train", "--out", "{tmp}/o", "--hidden", "0"], r"--hidden: expected a whole number >= 1, got 0"),
    (["train", "--out", "{tmp}/o", "--steps", "-5"], r"--steps: expected a whole number >= 1, got -5"),
    (["train", "--out", "{tmp}/o", "--batch", "0"], r"--batch"),
    (["train", "--out", "{tmp}/o", "--seq-len", "0"], r"--seq-len"),
    (["train", "--out", "{tmp}/o", "--lr", "0"], r"--lr: expected a finite number > 0, got 0"),
    (["train", "--out", "{tmp}/o", "--lr", "-1e-3"], r"--lr"),
    (["train", "--out", "{tmp}/o", "--model", "transformer"], r"invalid choice: 'transformer'"),
    (["train", "--out", "{tmp}/o", "{corpus}", "--peepholes"], r"--peepholes applies to --model lstm, not --model rnn"),
    (["train", "--out", "{tmp}/o", "{corpus}", "--model", "lstm", "--reset", "before"],
     r"--reset applies to --model gru, not --model lstm"),
    (["train", "--out", "{tmp}/o", "{corpus}", "--model", "gru", "--activation", "relu"],
     r"--activation applies to --model rnn, not --model gru"),
    (["train", "--out", "{tmp}/o", "--optimizer", "adamw"], r"invalid choice: 'adamw'"),
    (["train", "--out", "{tmp}/o", "--clip-mode", "both"], r"invalid choice: 'both'"),
    (["train", "--out", "{tmp}/o", "--seq-len", "10", "--stride", "20"],
     r"stride.* must be <= seq_len \(k2\) = 10. Got 20"),
    (["train", "--out", "/proc/forbidden/o", "{corpus}"], r"--out /proc/forbidden/o: cannot write there"),
    (["sample", "{tmp}/nothing"], r"no such directory"),
    (["sample", "{tmp}"], r"no checkpoint here"),
    (["sample", "{run}", "--temperature", "0"], r"--temperature: expected a finite number > 0, got 0"),
    (["sample", "{run}", "--prime", "the QZ\u00e9"], r"outside the model's vocabulary: 'Q', 'Z', '\u00e9'"),
    (["eval", "{run}", "{tmp}/missing.txt"], r"missing.txt"),
    (["eval", "{run}"], r"holds a character model: give FILES"),
])
def test_bad_input_exits_2_with_a_message(args, message, tmp_path, corpus, trained):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "short.txt").write_text("abc " * 50)
    subs = {"{tmp}": str(tmp_path), "{empty}": str(tmp_path / "empty.txt"),
            "{short}": str(tmp_path / "short.txt"), "{corpus}": str(corpus), "{run}": str(trained[0])}
    for k, val in subs.items():
        args = [a.replace(k, val) for a in args]
    r = bptt(*args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) <= 2, r.stderr
    import re
    assert re.search(message, r.stderr), r.stderr


def test_debug_shows_the_traceback(tmp_path):
    r = bptt("--debug", "sample", tmp_path)
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_fresh_run_refuses_to_overwrite(trained):
    r = bptt("train", "--out", trained[0], "--steps", 2, *TINY)
    assert r.returncode == 2 and "pass --resume" in r.stderr
    r = bptt("train", "--out", trained[0], "--resume", "--overwrite", *TINY)
    assert r.returncode == 2 and "not allowed with argument" in r.stderr


def _params(out):
    arrays, meta = load_checkpoint(out)
    return {k: a for k, a in arrays.items() if k.startswith("params/")}, meta["step"]


def _metrics(out):
    """metrics.jsonl's records without the speed (the one field that differs between runs)."""
    lines = (out / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [{k: val for k, val in json.loads(line).items() if k != "chars_per_s"} for line in lines]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])       # every model kind of `bptt train --model`
def test_sigkill_at_random_moments_loses_no_work(corpus, tmp_path, kind):
    """Kill training (also mid-checkpoint) several times; resuming ends bitwise where an
    uninterrupted run ends, with the same metrics.jsonl."""
    args = ["--model", kind, "--steps", 1500, "--checkpoint-every", 7, "--hidden", 16, "--seq-len", 12,
            "--batch", 4, "--eval-every", 50, "--no-progress"]
    t0 = time.perf_counter()
    ref = bptt("train", corpus, "--out", tmp_path / "ref", *args)
    wall = time.perf_counter() - t0
    assert ref.returncode == 0, ref.stderr
    want, _ = _params(tmp_path / "ref")
    out = tmp_path / "killed"
    rng = np.random.default_rng(0)
    env = dict(os.environ, PYTHONWARNINGS="ignore", MPLBACKEND="Agg")
    kills, steps_seen = 0, []
    for attempt in range(4):
        cmd = [sys.executable, "-m", "bptt", "train", str(corpus), "--out", str(out), *map(str, args)]
        if attempt:
            cmd.append("--resume")
        before = list_generations(out) if out.exists() else []
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + 60
        while p.poll() is None and time.monotonic() < deadline:     # wait for a new checkpoint
            if out.exists() and list_generations(out) != before:
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.3) * wall)                     # then a random moment
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        p.wait()
        steps_seen.append(_params(out)[1])                          # always loadable
    r = bptt("train", corpus, "--out", out, "--resume", *args)
    assert r.returncode == 0, r.stderr
    got, step = _params(out)
    assert step == 1500 and kills >= 2, (kills, steps_seen)
    assert steps_seen == sorted(steps_seen) and 0 < steps_seen[0] < 1500
    assert set(got) == set(want)
    for k in want:
        assert np.array_equal(got[k], want[k]), k
    assert _metrics(out) == _metrics(tmp_path / "ref")             # one record per evaluation


def test_ctrl_c_saves_and_exits_cleanly(corpus, tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    p = subprocess.Popen([sys.executable, "-m", "bptt", "train", str(corpus), "--out", str(out),
                          "--steps", "100000", "--checkpoint-every", "100000", *TINY],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(2.5)
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=60)
    assert p.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert f"checkpoint saved in {out}" in stdout
    _, step = _params(out)
    assert 0 < step < 100000


def _copy_run(src, dst):
    import shutil
    shutil.copytree(src, dst)
    gens = sorted(dst.glob("checkpoint-*.json"))
    return dst, gens


def test_hostile_checkpoints_give_clear_errors(trained, tmp_path):
    """A tampered array, or a record asking for a 10^9-unit hidden layer: exit 2, a message, and
    nothing run or allocated."""
    run, gens = _copy_run(trained[0], tmp_path / "tampered")
    for g in gens:                                     # tamper with every generation's arrays
        npz = g.with_suffix(".npz")
        data = bytearray(npz.read_bytes())
        data[len(data) // 2] ^= 0xFF
        npz.write_bytes(bytes(data))
    r = bptt("sample", run, "--length", 5)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "checkpoint" in r.stderr.lower()

    run, gens = _copy_run(trained[0], tmp_path / "huge")
    for g in gens:
        record = json.loads(g.read_text())
        record["meta"]["model"]["hidden_size"] = 10**9
        g.write_text(json.dumps(record))
    r = bptt("sample", run, "--length", 5)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "1,000,000,000" in r.stderr and "refusing to allocate" in r.stderr


def test_random_bytes_as_checkpoint_files(trained, tmp_path):
    run, gens = _copy_run(trained[0], tmp_path / "random")
    rng = np.random.default_rng(1)
    for g in gens:
        g.write_bytes(rng.bytes(300))
        g.with_suffix(".npz").write_bytes(rng.bytes(3000))
    r = bptt("eval", run, __file__)
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_explain_and_figures(trained, tmp_path):
    page = tmp_path / "page.html"
    r = bptt("explain", "--out", page, "--input", "hello")
    assert r.returncode == 0, r.stderr
    assert 'id="bptt-trace"' in page.read_text(encoding="utf-8")
    r = bptt("explain", "--out", tmp_path / "m.html", "--model", trained[0], "--input", "the cat sat")
    assert r.returncode == 0, r.stderr
    import re
    data = json.loads(re.search(r'id="bptt-trace">(.*?)</script>', (tmp_path / "m.html").read_text(encoding="utf-8"), re.S).group(1))
    assert data["config"]["activation"] == "tanh" and len(data["x"]) == len("the cat sat") - 1
    r = bptt("explain", "--out", tmp_path / "x.html", "--input", "hexyz")
    assert r.returncode == 2 and "'x'" in r.stderr and "'y'" in r.stderr and "Traceback" not in r.stderr
    r = bptt("figures", "--out", tmp_path / "figs")
    assert r.returncode == 0, r.stderr
    check_error_animation(tmp_path / "figs" / "error_animation.gif")


def check_error_animation(path):
    """The GIF of `bptt figures`: one frame per step of the demo trace at 2 frames/s, looping;
    frame k shows the backward pass at t = T−1−k, so the colour of the loss term L(s) fills its
    bars (thousands of pixels) once t <= s, and before that is only in the legend (tens)."""
    Image = pytest.importorskip("PIL.Image")
    from bptt.viz import source_colors
    from bptt.viz.figures import demo_trace
    T = demo_trace(0).forward.h.shape[0]
    colours = (source_colors(T)[:, :3] * 255).round().astype(int)
    with Image.open(path) as im:
        assert im.format == "GIF" and im.n_frames == T == 4 and im.info["loop"] == 0
        frames = []
        for k in range(T):
            im.seek(k)
            assert im.info["duration"] == 500
            frames.append(np.asarray(im.convert("RGB")).astype(int))
    assert all(f.shape == frames[0].shape for f in frames) and frames[0].shape[1] >= 400
    for k, frame in enumerate(frames):
        t_now = T - 1 - k
        for s, rgb in enumerate(colours):
            pixels = int((np.abs(frame - rgb).max(axis=-1) <= 3).sum())
            assert (pixels > 1000) == (s >= t_now) and pixels > 20, (k, s, pixels)


def test_explain_lstm(tmp_path):
    from bptt.viz.explorer import DEFAULT_VOCAB, explain
    from explorer_reference import embedded_json
    page = tmp_path / "lstm.html"
    r = bptt("explain", "--kind", "lstm", "--out", page)
    assert r.returncode == 0, r.stderr
    data = embedded_json(page.read_text(encoding="utf-8"))
    cfg = data["config"]
    assert (cfg["kind"], cfg["model"], cfg["gate_activation"]) == ("lstm", "LSTM", "sigmoid")
    assert cfg["output"] == "softmax"
    assert (cfg["T"], cfg["B"], cfg["tokens"], cfg["lr"]) == (4, 1, True, 0.1)    # "hell" → "ello"
    assert cfg["labels"] == list(DEFAULT_VOCAB) and cfg["input_size"] == cfg["output_size"] == 4
    assert set(data["params"]) >= {"W_z", "R_f", "b_o", "V", "c"} and len(data["forward"]["c"]) == 4
    # and it is the page the library writes for the built-in LSTM
    assert data == embedded_json(explain(tmp_path / "lib.html", kind="lstm").read_text(encoding="utf-8"))


def test_training_demo(tmp_path):
    r = bptt("demo", "--seconds", 4, "--out", tmp_path / "demo", timeout=300)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "demo" / "report.html").exists() and "--- sample ---" in r.stdout
    r = bptt("demo", "--seconds", 4, "--out", tmp_path / "demo", timeout=300)   # runs again
    assert r.returncode == 0, r.stderr


def test_bench_subcommand_smoke(tmp_path):
    out = tmp_path / "bench.json"
    r = bptt("bench", "--configs", "rnn-T25-B1-V65-H100", "--threads", 1, "--seconds", 0.3,
             "--no-memory", "--no-minchar", "--no-train-step", "--json", out)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    check_bench_json(data, "rnn-T25-B1-V65-H100")


def check_bench_json(data, name):
    """The fields of one fwd+bptt row and how each is defined (bptt.bench.runner's docstring)."""
    from bptt.bench import runner
    from bptt.bench.work import CONFIGS
    c = CONFIGS[name]
    assert set(data) == {"machine", "definitions", "peak_gflops", "results", "train_step", "memory",
                         "skipped", "minchar"}
    assert data["definitions"] == runner.__doc__ and "GFLOP: the GEMM flops" in data["definitions"]
    assert data["train_step"] == [] and data["memory"] == {} and data["minchar"] is None
    assert {"cpu", "numpy", "blas", "torch"} <= set(data["machine"])
    assert data["machine"]["numpy"] == np.__version__
    [row] = data["results"]
    assert (row["config"], row["bench"], row["threads"], row["kind"]) == (name, "fwd+bptt", 1, c.kind)
    assert (row["T"], row["B"], row["D"], row["H"], row["O"], row["tokens"]) == (c.T, c.B, c.D, c.H, c.O,
                                                                                 c.tokens)
    ms, torch_ms, peak = row["bptt_ms"], row["torch_ms"], data["peak_gflops"]["1"]
    assert ms > 0 and torch_ms > 0 and peak > 0 and row["peak_gflops"] == peak
    approx = pytest.approx
    assert row["ratio"] == approx(ms / torch_ms, rel=1e-12)                # time ratio, bptt / torch
    assert row["bptt_steps_per_s"] == approx(25 * 1 / ms * 1e3, rel=1e-12)  # T·B / time
    assert row["torch_steps_per_s"] == approx(25 * 1 / torch_ms * 1e3, rel=1e-12)
    assert row["bptt_iters_per_s"] == approx(1e3 / ms, rel=1e-12)
    # GEMM flops, N = T·B = 25, G = 1, token inputs: 2N·(3·G·H² + 3·H·O) = 50·(30000 + 19500)
    assert row["gflop"] == approx(50 * (3 * 100**2 + 3 * 100 * 65) / 1e9, rel=1e-12)
    assert row["bptt_gflops"] == approx(row["gflop"] / ms * 1e3, rel=1e-12)
    assert row["torch_gflops"] == approx(row["gflop"] / torch_ms * 1e3, rel=1e-12)
    assert row["bptt_peak_fraction"] == approx(row["bptt_gflops"] / peak, rel=1e-12)
    assert row["torch_peak_fraction"] == approx(row["torch_gflops"] / peak, rel=1e-12)
    assert row["target"] == c.target and row["meets_target"] == (row["ratio"] <= c.target)
