"""`bptt demo --quick` checks what it prints: the gradient check and the accuracy reached, with a
non-zero exit when either is off (shown here by breaking BPTT and the optimizer in-process)."""
import re

import numpy as np
import pytest

import bptt
from bptt.cli import demo, main
from bptt.training import optim
from cli_run import bptt as run_bptt

TABLE_ROW = re.compile(r"^(\w+)\s+\(([\d, ]+)\)\s+(\d+)\s+(\S+)\s+(\S+)$", re.M)


def _numbers(stdout):
    """{param: (checked, rel. error)}, the per-step losses, the accuracy (a fraction) and chance."""
    rows = {m[0]: (int(m[2]), float(m[4])) for m in TABLE_ROW.findall(stdout)}
    losses = [float(v) for v in re.findall(r"loss per predicted step ([\d.]+)", stdout)]
    chance = float(re.search(r"\(chance ([\d.]+)\)", stdout).group(1))
    acc = float(re.search(r"accuracy on fresh sequences: ([\d.]+)%", stdout).group(1)) / 100
    return rows, losses, chance, acc


def test_quick_demo_prints_numbers_within_its_thresholds():
    r = run_bptt("demo", "--quick", "--steps", 60)
    assert r.returncode == 0, r.stderr
    rows, losses, chance, acc = _numbers(r.stdout)
    sizes = {"U": 20, "W": 25, "b": 5, "V": 20, "c": 4}             # H = 5, D = O = 4
    assert {k: checked for k, (checked, _) in rows.items()} == sizes   # every entry checked
    assert max(err for _, err in rows.values()) < 1e-6                # float64 central differences
    assert chance == pytest.approx(np.log(7), abs=1e-4)              # 7 tokens can be the answer
    assert len(losses) == 4 and losses[-1] < 0.25 * chance            # learned, not guessed
    assert acc >= 0.9
    assert "checks passed" in r.stdout


def _quick(capsys):
    rc = main(["demo", "--quick", "--steps", "60"])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_quick_demo_fails_when_bptt_is_wrong(monkeypatch, capsys):
    class WrongW(bptt.SimpleRNN):                  # ∂J/∂W 1 % too large: 0.01 / 1.01 = 9.90e-03
        def loss_and_grads(self, *args, **kwargs):
            loss, grads = super().loss_and_grads(*args, **kwargs)
            grads["W"] = grads["W"] * 1.01
            return loss, grads
    monkeypatch.setattr(demo, "SimpleRNN", WrongW)
    rc, out, err = _quick(capsys)
    assert rc == 1
    assert re.search(r"bptt demo: the gradient check failed: BPTT and central differences differ "
                     r"by a relative error of 9\.90e-03 \(at most 1e-06 expected\)", err), err
    assert "accuracy" not in err                   # it still learns: only the gradient is off
    assert _numbers(out)[0]["W"][1] > 1e-3 and "checks passed" not in out


def test_quick_demo_fails_when_nothing_is_learned(monkeypatch, capsys):
    monkeypatch.setattr(optim.Adam, "step", lambda self, params, grads: None)
    rc, out, err = _quick(capsys)
    assert rc == 1
    assert re.search(r"bptt demo: the network reached \d+\.\d% accuracy, below the 90% this task "
                     r"reaches \(train longer with --steps, default 400\)", err), err
    assert "gradient check" not in err and _numbers(out)[3] < 0.5


def test_quick_demo_failures_by_hand():
    assert demo.quick_demo_failures(0.95, 1e-9) == []
    assert len(demo.quick_demo_failures(0.5, float("nan"))) == 2
    assert demo.quick_demo_failures(1.0, 1e-6)[0].startswith("the gradient check failed")
