"""`bptt train --task parity`: a sequence classifier trained from the command line, with
checkpoints and held-out accuracy in DIR/metrics.jsonl; usage errors exit with status 2."""
import json

import numpy as np
import pytest

from bptt.io.saving import load_model
from cli_run import bptt

FAST = ["--hidden", "8", "--batch", "8", "--steps", "20", "--eval-every", "10", "--no-progress"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("parity")
    r = bptt("train", "--task", "parity", "--model", "gru", "--out", out, "--max-len", 6,
             "--checkpoint-every", 10, "--lr", "0.01", "--seed", 3, *FAST)
    assert r.returncode == 0, r.stderr
    return out, r


def test_metrics_and_checkpoint(run):
    out, r = run
    recs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [rec["step"] for rec in recs] == [10, 20]
    for rec in recs:
        assert set(rec) == {"step", "loss", "grad_norm", "val_loss", "val_accuracy", "seconds"}
        assert 0.0 <= rec["val_accuracy"] <= 1.0 and np.isfinite(rec["val_loss"])
    assert "held-out accuracy" in r.stdout
    model, vocab, meta = load_model(out)
    assert model.kind == "gru" and model.input_size == 2 and model.output_size == 2
    assert meta["step"] == 20 and meta["data"]["task"] == "classify" and meta["data"]["pooling"] == "last"
    assert meta["data"]["dataset"] == {"name": "parity", "max_len": 6}
    assert vocab.to_list() == ["0", "1"]


def test_rerun_refuses_to_overwrite_then_overwrites(run):
    out, _ = run
    r = bptt("train", "--task", "parity", "--out", out, *FAST)
    assert r.returncode == 2 and "--overwrite" in r.stderr
    r = bptt("train", "--task", "parity", "--model", "lstm", "--out", out, "--overwrite", *FAST)
    assert r.returncode == 0, r.stderr
    model, _, _ = load_model(out)
    assert model.kind == "lstm"
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2      # a fresh file


@pytest.mark.parametrize("extra,message", [
    (["--seq-len", "20"], "--seq-len applies to --task char, not --task parity"),
    (["--data", "d"], "--data applies to --task char"),
    (["--max-len", "63"], "--max-len must be at most 62"),
    (["--peepholes"], "--peepholes applies to --model lstm, not --model gru"),
    (["--kinds", "2"], "--kinds applies to --task brackets, not --task parity"),
])
def test_usage_errors_exit_2(extra, message, tmp_path):
    r = bptt("train", "--task", "parity", "--model", "gru", "--out", tmp_path / "o", *FAST, *extra)
    assert r.returncode == 2
    assert message in r.stderr
    assert not (tmp_path / "o" / "metrics.jsonl").exists()


def test_files_refused_with_parity(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("abc" * 100)
    r = bptt("train", text, "--task", "parity", "--out", tmp_path / "o", *FAST)
    assert r.returncode == 2 and "FILES applies to --task char" in r.stderr
