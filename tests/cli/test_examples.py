"""The example scripts run and reach what they claim."""
import importlib.util
import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).parents[2] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_sine_regression_learns_the_wave(capsys):
    mse = load("sine_regression").main(steps=200)
    assert mse < 0.02                      # the wave's variance is 0.5: predicting 0 gives ~0.5


def test_char_lm_runs():
    r = subprocess.run([sys.executable, str(EXAMPLES / "char_lm.py"), "--steps", "20"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "validation" in r.stdout and r.stdout.count("\n") >= 2
