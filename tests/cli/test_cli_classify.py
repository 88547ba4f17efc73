"""Sequence classifiers end to end from the command line: `bptt train --task brackets` learns,
`bptt eval DIR` measures a classifier on fresh strings of its task (checked against a stack
checker written here), training again with --resume continues the run bitwise, the report shows
accuracy, and options that do not apply exit with status 2 and a message naming them."""
import json
import re

import numpy as np
import pytest

from bptt.cells.pooling import pooled_logits
from bptt.data.brackets import brackets
from bptt.io.saving import load_model, save_training_state
from bptt.training.optim import make_optimizer
from cli_run import bptt

FAST = ["--hidden", "16", "--batch", "64", "--lr", "0.02", "--no-progress", "--eval-every", "100"]


def stack_balanced(s):
    stack = []
    for c in s:
        if c in "([":
            stack.append(c)
        elif not stack or stack.pop() != {")": "(", "]": "["}[c]:
            return False
    return not stack


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A GRU on balanced brackets of 2..20 (about 2 s)."""
    out = tmp_path_factory.mktemp("brackets")
    r = bptt("train", "--task", "brackets", "--model", "gru", "--out", out, "--steps", 300, *FAST)
    assert r.returncode == 0, r.stderr
    return out, r


def test_a_gru_learns_brackets_from_the_command_line(run):
    out, r = run
    recs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [rec["step"] for rec in recs] == [100, 200, 300]
    assert recs[-1]["val_accuracy"] > 0.95, recs
    assert "held-out accuracy" in r.stdout and "balanced () brackets" in r.stdout
    model, vocab, meta = load_model(out)
    assert vocab.to_list() == ["(", ")"] and model.output_size == 2
    assert meta["data"]["dataset"] == {"name": "brackets", "max_len": 20, "kinds": 1}


def test_eval_measures_fresh_strings(run):
    out, _ = run
    r = bptt("eval", out, "--json", "--strings", 500, "--seed", 4)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["strings"] == 500 and got["pooling"] == "last" and got["task"]["name"] == "brackets"
    fresh = brackets(500, seed=np.random.default_rng([4, 2]), max_len=20)    # the stream eval draws
    labels = np.array([stack_balanced("".join("()"[i] for i in fresh.x[:n, b]))
                       for b, n in enumerate(fresh.lengths)])
    model, _, _ = load_model(out)
    want = (pooled_logits(model, fresh.x, lengths=fresh.lengths).argmax(1) == labels).mean()
    assert got["accuracy"] == want and want > 0.95
    r = bptt("eval", out)
    assert r.returncode == 0, r.stderr
    m = re.search(r"1,000 fresh strings, balanced \(\) brackets in strings of 2..20: accuracy "
                  r"([0-9.]+), loss ([0-9.]+) nats per string", r.stdout)
    assert m and float(m.group(1)) > 0.95, r.stdout


def test_the_report_shows_accuracy(run):
    out, _ = run
    page = (out / "report.html").read_text()
    assert "held-out accuracy" in page and "Predictions on fresh strings" in page
    assert page.count("data:image/png;base64,") == 2                  # curves, pooling errors
    assert "bits/char" not in page


def test_resume_continues_the_run(run, tmp_path):
    r = bptt("train", "--task", "brackets", "--model", "gru", "--out", tmp_path, "--steps", 150,
             "--checkpoint-every", 50, *FAST)
    assert r.returncode == 0, r.stderr
    r = bptt("train", "--task", "brackets", "--model", "gru", "--out", tmp_path, "--steps", 300, *FAST)
    assert r.returncode == 2 and "--resume" in r.stderr and "--overwrite" in r.stderr
    r = bptt("train", "--task", "brackets", "--model", "gru", "--out", tmp_path, "--steps", 300,
             "--resume", *FAST)
    assert r.returncode == 0, r.stderr
    resumed, _, meta = load_model(tmp_path)
    straight, _, _ = load_model(run[0])
    assert meta["step"] == 300
    for k, p in straight.params.items():
        np.testing.assert_array_equal(resumed.params[k], p)
    steps = [json.loads(line)["step"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert steps == [100, 150, 200, 300]
    r = bptt("train", "--task", "brackets", "--model", "gru", "--out", tmp_path, "--steps", 400,
             "--resume", "--hidden", "16", "--batch", "64", "--lr", "0.03", "--no-progress")
    assert r.returncode == 2 and "other settings" in r.stderr and "'lr': (0.02, 0.03)" in r.stderr


def test_bidirectional_mean_pooled_two_kinds(tmp_path):
    r = bptt("train", "--task", "brackets", "--kinds", 2, "--max-len", 8, "--bidirectional",
             "--pooling", "mean", "--model", "lstm", "--out", tmp_path, "--steps", 5,
             "--hidden", 4, "--batch", 4, "--no-progress")
    assert r.returncode == 0, r.stderr
    model, vocab, meta = load_model(tmp_path)
    assert model.bidirectional and vocab.to_list() == ["(", ")", "[", "]"]
    assert meta["data"]["pooling"] == "mean"
    r = bptt("eval", tmp_path, "--json", "--max-len", 12)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["pooling"] == "mean" and got["task"] == {"name": "brackets", "max_len": 12, "kinds": 2}


@pytest.mark.parametrize("extra,message", [
    (["--seq-len", "20"], "--seq-len applies to --task char, not --task brackets"),
    (["--stride", "5"], "--stride applies to --task char, not --task brackets"),
    (["--data", "d"], "--data applies to --task char"),
    (["--max-chars", "100"], "--max-chars applies to --task char"),
    (["--val-fraction", "0.5"], "--val-fraction applies to --task char"),
    (["--max-len", "7"], "--max-len must be even and at least 2 for --task brackets (an odd string is never balanced). Got 7"),
    (["--kinds", "3"], "argument --kinds: invalid choice: 3"),
    (["--pooling", "max"], "argument --pooling: invalid choice: 'max'"),
    (["--activation", "relu", "--model", "gru"], "--activation applies to --model rnn, not --model gru"),
])
def test_task_usage_errors_exit_2(extra, message, tmp_path):
    r = bptt("train", "--task", "brackets", "--out", tmp_path / "o", "--steps", 2, "--no-progress", *extra)
    assert r.returncode == 2
    assert message in r.stderr
    assert not (tmp_path / "o" / "metrics.jsonl").exists()


def test_files_refused_with_brackets(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("()" * 100)
    r = bptt("train", text, "--task", "brackets", "--out", tmp_path / "o", "--steps", 2)
    assert r.returncode == 2 and "FILES applies to --task char, not --task brackets" in r.stderr


@pytest.mark.parametrize("extra,message", [
    (["--pooling", "mean"], "--pooling applies to --task parity or brackets, not --task char."),
    (["--max-len", "8"], "--max-len applies to --task parity or brackets"),
    (["--kinds", "2"], "--kinds applies to --task parity or brackets"),
    (["--bidirectional"], "--bidirectional applies to --task parity or brackets, not --task char: a "
                          "character language model predicts x(t+1), which a bidirectional model's "
                          "backward direction reads."),
])
def test_classifier_options_refused_for_char(extra, message, tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("hello world " * 50)
    r = bptt("train", text, "--out", tmp_path / "o", "--steps", 2, "--no-progress", *extra)
    assert r.returncode == 2 and message in r.stderr
    assert not (tmp_path / "o" / "metrics.jsonl").exists()


@pytest.mark.parametrize("extra,message", [
    (["{text}"], "FILES applies to a character model; {out} holds a sequence classifier"),
    (["--max-chars", "10"], "--max-chars applies to a character model"),
    (["--max-len", "9"], "--max-len must be even and at least 2 for the run's task brackets"),
])
def test_eval_usage_errors_for_a_classifier(run, tmp_path, extra, message):
    out, _ = run
    text = tmp_path / "t.txt"
    text.write_text("(())")
    r = bptt("eval", out, *[e.format(text=text) for e in extra])
    assert r.returncode == 2 and message.format(out=out) in r.stderr


def test_eval_refuses_classifier_options_for_a_char_model(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("hello world " * 50)
    r = bptt("train", text, "--out", tmp_path / "o", "--steps", 2, "--hidden", 4, "--seq-len", 8,
             "--batch", 2, "--no-progress")
    assert r.returncode == 0, r.stderr
    r = bptt("eval", tmp_path / "o", text, "--strings", 5)
    assert r.returncode == 2 and "--strings applies to a classifier's run" in r.stderr


@pytest.mark.parametrize("dataset,message", [
    (None, "does not say which task the classifier was trained on (it was made by an older bptt)"),
    ({"name": "copy"}, "does not say which task the classifier was trained on"),
    ({"name": "parity", "max_len": "10"}, "the checkpoint's task {'name': 'parity', 'max_len': '10'} "
                                          "is not one bptt draws: its max_len must be an int in 1..10000"),
    ({"name": "brackets", "max_len": 10 ** 9}, "its max_len must be an int in 1..10000"),
])
def test_eval_of_a_checkpoint_without_a_task_it_can_draw(tmp_path, dataset, message):
    """A classifier's checkpoint written before the task was recorded (as bptt did for parity),
    or with a task that cannot be drawn."""
    from bptt import GRU
    from bptt.data import Vocab
    model = GRU(2, 3, 2)
    data = {"task": "classify", "pooling": "last", **({} if dataset is None else {"dataset": dataset})}
    save_training_state(tmp_path, model=model, optimizer=make_optimizer("adam", 0.01),
                        vocab=Vocab.from_list(["0", "1"]), step=1, data_state=data,
                        carried=model.zero_state(1), accum={}, recipe={}, fingerprint="")
    r = bptt("eval", tmp_path)
    assert r.returncode == 2 and message in r.stderr


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_continue(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    env = dict(os.environ, PYTHONWARNINGS="ignore", MPLBACKEND="Agg")
    p = subprocess.Popen([sys.executable, "-m", "bptt", "train", "--task", "parity", "--out",
                          str(tmp_path), "--steps", "1000000", "--eval-every", "5", "--hidden", "4",
                          "--batch", "4", "--no-progress"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 60
    while not (tmp_path / "metrics.jsonl").exists() and time.time() < deadline:
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=60)
    assert p.returncode == 130, stderr
    step = load_model(tmp_path)[2]["step"]
    assert 5 <= step < 1000000
    assert (f"interrupted at step {step}: checkpoint saved in {tmp_path}; continue with the same "
            f"command and --resume") in stdout
