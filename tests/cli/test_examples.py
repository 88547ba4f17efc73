"""The example scripts run and reach what they claim: numbers checked against bounds computed
here, independently of the example (the adding problem has its own file)."""
import importlib.util
import json
import math
import pathlib
import re
import runpy
import sys

import numpy as np
import pytest

EXAMPLES = pathlib.Path(__file__).parents[2] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_sine_regression_learns_the_wave(capsys):
    mse = load("sine_regression").main(steps=200)
    out = capsys.readouterr().out
    printed = [float(m) for m in re.findall(r"MSE after 10 steps of context ([\d.]+)", out)]
    assert len(printed) == 3 and printed[-1] == pytest.approx(mse, abs=5e-6)   # steps 0, 100, 200
    # Bounds from the same wave (seed 0): predicting 0 scores its variance, 0.5; predicting that
    # the next value is the current one scores ≈ 0.013 (the step's change plus twice the noise,
    # 2·0.05²); the noise alone is 0.0025, a floor no predictor passes.
    rng = np.random.default_rng(0)
    t = np.arange(2000)
    series = np.sin(2 * np.pi * t / 50) + 0.05 * rng.normal(size=t.size)
    persistence = float(np.mean(np.diff(series) ** 2))
    assert 0.012 < persistence < 0.014
    assert 0.0025 < mse < 0.5 * persistence and printed[0] > 0.1


@pytest.mark.slow
def test_char_lm_learns_and_samples(monkeypatch, capsys):
    """Run as a script (`python examples/char_lm.py --steps 200`), in this process so that its
    model, data and history can be read back."""
    monkeypatch.setattr(sys, "argv", ["char_lm.py", "--steps", "200"])
    ns = runpy.run_path(str(EXAMPLES / "char_lm.py"), run_name="__main__")
    out = capsys.readouterr().out
    history, data, model = ns["history"], ns["data"], ns["model"]
    printed = [(int(s), float(b)) for s, b in re.findall(r"step +(\d+)  validation ([\d.]+) bits/char",
                                                         out)]
    assert printed == [(r["step"], round(r["val_bpc"], 3)) for r in history]
    assert [s for s, _ in printed] == [100, 200]
    # Guessing uniformly over the vocabulary's characters costs log2 V bits (6.58 for V = 96): the
    # model is a bit below it after 100 steps and well below after 200.
    uniform = math.log2(data.vocab.size)
    assert printed[1][1] < printed[0][1] < uniform and printed[1][1] < uniform - 1.0
    assert model.params["W"].dtype == np.float32
    sample = out.split("bits/char\n")[-1]
    assert sample.startswith("def ") and len(sample.rstrip("\n")) >= 300
    assert set(sample) <= set(data.vocab.chars)


def test_seq2seq_dates_quick_run_writes_its_curves(tmp_path, capsys):
    """examples/seq2seq_dates.py --quick: both designs trained on the same seed, the JSON the docs
    read, and a summary that agrees with the curves it summarises."""
    out = tmp_path / "dates.json"
    result = load("seq2seq_dates").main(["--quick", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    runs = {r["attention"]: r for r in result["runs"]}
    assert set(runs) == {"additive", "none"}
    assert runs["additive"]["params"] > runs["none"]["params"]        # W_q, W_k, v
    for name, r in runs.items():
        steps = [c["step"] for c in r["curve"]]
        assert steps == sorted(steps) and steps[-1] == result["config"]["steps"]
        assert all(0 <= c["exact_match"] <= 1 for c in r["curve"])
        at = result["summary"][name]["exact_match_at_step"][str(steps[-1])]
        assert at["per_seed"] == [r["curve"][-1]["exact_match"]]
    assert "held-out dates: exact match" in capsys.readouterr().out
