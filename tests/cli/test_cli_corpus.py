"""`bptt prepare` and `bptt train --data`, training on FILES through the cached memory-mapped
corpus, and `--forget-bias`: from the command line, as a user runs them."""
import json

import numpy as np
import pytest

from bptt.data.tokens import open_corpus
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
    return {k: a for k, a in arrays.items() if k.startswith("params/")}, meta


def test_prepare_then_train_on_it_equals_training_on_the_files(corpus, tmp_path):
    r = bptt("prepare", corpus, "--out", tmp_path / "data", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "bptt train --data" in r.stdout
    prepared = open_corpus(tmp_path / "data")
    text = corpus.read_text(encoding="utf-8")
    assert prepared.vocab.decode(np.concatenate([prepared.train_ids, prepared.val_ids])) == text
    common = ["--steps", 12, "--checkpoint-every", 6, *TINY]
    a = bptt("train", "--data", tmp_path / "data", "--out", tmp_path / "a", *common)
    b = bptt("train", corpus, "--out", tmp_path / "b", *common)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    pa, ma = _params(tmp_path / "a")
    pb, mb = _params(tmp_path / "b")
    assert ma["fingerprint"] == mb["fingerprint"]                  # the same training text
    for k in pa:
        assert np.array_equal(pa[k], pb[k]), k
    assert (tmp_path / "b" / "corpus" / "corpus.json").exists()    # FILES are cached beside the run
    # a second run on the same files reuses the cache; --resume continues from it bitwise
    c = bptt("train", corpus, "--out", tmp_path / "b", "--resume", *[a if a != 12 else 18 for a in common])
    assert c.returncode == 0, c.stderr
    assert _params(tmp_path / "b")[1]["step"] == 18


def test_train_refuses_files_and_data_together(corpus, tmp_path):
    r = bptt("train", corpus, "--data", tmp_path, "--out", tmp_path / "o", *TINY)
    assert r.returncode == 2 and "give either FILES or --data DATA, not both" in r.stderr


def test_train_on_a_missing_prepared_corpus_is_a_usage_error(tmp_path):
    r = bptt("train", "--data", tmp_path / "nothing", "--out", tmp_path / "o", *TINY)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "nothing" in r.stderr


@pytest.mark.parametrize("bias", ["0", "1.5"])
def test_forget_bias_reaches_the_lstm(bias, corpus, tmp_path):
    r = bptt("train", corpus, "--out", tmp_path, "--model", "lstm", "--forget-bias", bias,
             "--steps", 1, "--checkpoint-every", 1, *TINY)
    assert r.returncode == 0, r.stderr
    model, _, meta = load_model(tmp_path)
    assert meta["model"]["forget_bias"] == float(bias) == model.forget_bias


@pytest.mark.parametrize("model", ["rnn", "gru"])
def test_forget_bias_belongs_to_the_lstm_even_when_zero(model, corpus, tmp_path):
    r = bptt("train", corpus, "--out", tmp_path, "--model", model, "--forget-bias", "0", *TINY)
    assert r.returncode == 2
    assert f"--forget-bias applies to --model lstm, not --model {model}" in r.stderr


def test_forget_bias_must_be_finite(tmp_path):
    r = bptt("train", "--out", tmp_path, "--model", "lstm", "--forget-bias", "inf")
    assert r.returncode == 2 and "--forget-bias: expected a finite number, got inf" in r.stderr


def test_eval_json_counts_the_characters_it_predicts(corpus, tmp_path):
    r = bptt("train", corpus, "--out", tmp_path, "--steps", 2, "--checkpoint-every", 2, *TINY)
    assert r.returncode == 0, r.stderr
    res = json.loads(bptt("eval", tmp_path, corpus, "--json", "--max-chars", 500).stdout)
    assert res["chars"] == 499
    r = bptt("eval", tmp_path, corpus, "--max-chars", 1)
    assert r.returncode == 2 and "--max-chars: expected a whole number >= 2, got 1" in r.stderr
