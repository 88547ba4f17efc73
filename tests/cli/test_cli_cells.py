"""`bptt train --model KIND` end to end for every gated cell: stacked layers, checkpoints, a resume
that ends bitwise where an uninterrupted run ends, sampling from the trained model, evaluation,
the report. (The SimpleRNN's runs are in test_cli.py.)"""
import json
import math

import numpy as np
import pytest

from bptt.io.checkpoint import load_checkpoint
from bptt.io.saving import load_model
from cli_run import TINY, bptt
from corpus import small_text


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "text.txt"
    path.write_text(small_text(12_000), encoding="utf-8")
    return path


def _params(out):
    arrays, meta = load_checkpoint(out)
    return {k: a for k, a in arrays.items() if k.startswith("params/")}, meta["step"]


@pytest.mark.slow
@pytest.mark.parametrize("kind,extra,key", [("lstm", [], "params/W_z.1"),
                                            ("gru", [], "params/b_hn.1"),
                                            ("gru", ["--reset", "before"], "params/U_n.1")])
def test_gated_cell_end_to_end(kind, extra, key, corpus, tmp_path):
    common = ["--model", kind, *extra, "--layers", 2, "--steps", 24, "--checkpoint-every", 8, *TINY]
    full = bptt("train", corpus, "--out", tmp_path / "full", *common)
    assert full.returncode == 0, full.stderr
    part = bptt("train", corpus, "--out", tmp_path / "part", *[a if a != 24 else 13 for a in common])
    assert part.returncode == 0, part.stderr
    resumed = bptt("train", corpus, "--out", tmp_path / "part", "--resume", *common)
    assert resumed.returncode == 0, resumed.stderr
    want, step = _params(tmp_path / "full")
    got, step2 = _params(tmp_path / "part")
    assert step == step2 == 24 and set(want) == set(got) and key in want
    for k in want:
        assert np.array_equal(got[k], want[k]), k
    model, vocab, meta = load_model(tmp_path / "full")
    assert model.kind == kind and meta["kind"] == kind and model.num_layers == 2
    if kind == "gru":
        assert model.reset == ("before" if extra else "after")
    assert (tmp_path / "full" / "report.html").stat().st_size > 1000
    r = bptt("sample", tmp_path / "full", "--length", 30, "--prime", "the")
    assert r.returncode == 0 and r.stdout.startswith("the"), r.stderr
    # bptt eval: bits per character from the model's own loss over the same text
    r = bptt("eval", tmp_path / "full", corpus, "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    ids = vocab.encode(corpus.read_text(encoding="utf-8"))
    assert res["chars"] == len(ids) - 1 or res["chars"] == len(ids)
    assert math.isfinite(res["bpc"]) and abs(res["bpc"] - res["loss"] / math.log(2)) < 1e-12
    # 24 steps of a small model learn something: below uniform guessing over the vocabulary
    assert res["bpc"] < math.log2(vocab.size)
