"""examples/adding_problem.py: the quick mode runs in seconds, prints the MSEs against the 1/6
baseline and writes its two figures; the learning-curve figure draws the history it is given.
(The full run, T = 100 and 2000 steps, takes minutes: it is an example, not a test; its numbers
are in docs/lstm.md.)"""
import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

EXAMPLE = pathlib.Path(__file__).parents[2] / "examples" / "adding_problem.py"


def load():
    spec = importlib.util.spec_from_file_location("adding_problem", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_quick_mode_prints_the_mses_and_writes_the_figures(tmp_path):
    out = tmp_path / "figs"
    r = subprocess.run([sys.executable, str(EXAMPLE), "--quick", "--out", str(out), "--seed", "3"],
                       capture_output=True, text=True, timeout=300, env={**os.environ, "MPLBACKEND": "Agg"})
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert "T = 20" in text and "seed 3" in text
    mses = dict(re.findall(r"^  (SimpleRNN|LSTM) +([0-9.]+) ", text, flags=re.M))
    assert set(mses) == {"SimpleRNN", "LSTM"} and all(np.isfinite(float(m)) for m in mses.values())
    assert re.search(r"always predicting 1 \(baseline\) +0\.1\d+ +\(1/6 = 0\.16667\)", text)
    assert "(cell path)" in text and "(hidden path)" in text
    for name in ("adding_learning_curves", "adding_flow_comparison"):
        data = (out / f"{name}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_main_returns_the_numbers_it_prints(tmp_path, capsys):
    mod = load()
    res = mod.main(quick=True, steps=20, seed=1, out=tmp_path)
    text = capsys.readouterr().out
    assert res["steps"] == 20 and set(res["seconds"]) == {"SimpleRNN", "LSTM"}
    for name in ("SimpleRNN", "LSTM"):
        assert f"  {name:<31} {res[name]:.5f}" in text
    assert abs(res["baseline"] - 1 / 6) < 0.03          # 200 test sequences: 1/6 ± sampling error
    assert [p.name for p in res["figures"]] == ["adding_learning_curves.png", "adding_flow_comparison.png"]


def test_learning_curves_draw_the_history():
    mod = load()
    history = {"SimpleRNN": [(0, 0.9, 0.5), (10, 0.2, 0.17), (20, 0.18, 0.168)],
               "LSTM": [(0, 0.8, 0.4), (10, 0.1, 0.05), (20, 0.01, 0.004)]}
    fig = mod.learning_curves(history, T=100)
    lines = {ln.get_gid(): ln for ln in fig.axes[0].lines}
    for name, h in history.items():
        steps, train, test = np.array(h).T
        np.testing.assert_array_equal(lines[f"test:{name}"].get_xdata(), steps)
        np.testing.assert_array_equal(lines[f"test:{name}"].get_ydata(), test)
        np.testing.assert_array_equal(lines[f"train:{name}"].get_ydata(), train)
    assert set(lines["baseline"].get_ydata()) == {1 / 6}
    assert fig.axes[0].get_yscale() == "log"
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "LSTM: test MSE (final 0.0040)" in legend and "always predicting 1: MSE = 1/6" in legend
