"""benchmarks/slices.py, the sliced loops against the unsliced ones and torch: it runs on tiny
configurations of every cell, on 1 and 2 threads, its rows hold what its table prints, and bad
arguments get their messages. Nothing here asserts anything about speed."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from bptt.bench import work

pytest.importorskip("torch")
pytest.importorskip("threadpoolctl")

ROOT = Path(__file__).resolve().parents[2]
TINY = [work.Config(f"tiny-{k}", k, 4, 8, 5, 6, 5, True, 1.0) for k in ("rnn", "lstm", "gru")]


@pytest.fixture(scope="module")
def slices_bench():
    spec = importlib.util.spec_from_file_location("slices_bench", ROOT / "benchmarks" / "slices.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_cell_on_one_and_two_threads(slices_bench):
    out = slices_bench.measure(TINY, threads=(1, 2), repeats=2, seconds=0.02, settle=0.0)
    assert [(r["config"], r["threads"]) for r in out["rows"]] == \
        [(c.name, n) for n in (1, 2) for c in TINY]
    for r in out["rows"]:
        sides = {"sliced", "torch", "sliced step", "torch step"} | ({"fused"} if r["threads"] > 1 else set())
        assert set(r["ms"]) == sides and all(len(v) == 2 and min(v) > 0 for v in r["ms"].values())
        q = np.array(r["ms"]["sliced"]) / np.array(r["ms"]["torch"])
        assert r["sliced / torch"]["median"] == pytest.approx(float(np.median(q)))
        assert r["sliced / torch"]["min"] == pytest.approx(q.min())
        assert ("fused / torch" in r) == (r["threads"] > 1)
    assert {"cpu", "blas"} <= set(out["machine"])
    lines = slices_bench.table(out).splitlines()
    assert len(lines) == 2 + len(out["rows"]) and all(line.count("|") == 9 for line in lines)


def test_configurations_by_name(slices_bench):
    assert [c.name for c in slices_bench.configs_named(["gru-T50-B32-V65-H256", "lstm-T50-B32-V96-H128"])] \
        == ["gru-T50-B32-V65-H256", "lstm-T50-B32-V96-H128"]
    assert {c.kind for c in slices_bench.DEFAULT} == {"rnn", "lstm", "gru"}
    with pytest.raises(ValueError, match="Unknown configuration.s. nope; choose from gru-T50"):
        slices_bench.configs_named(["lstm-T50-B32-V65-H256", "nope"])
    with pytest.raises(ValueError, match="'repeats' argument of measure must be an int >= 1. Got 0"):
        slices_bench.measure(TINY[:1], repeats=0)


def test_the_command_line_refuses_an_unknown_name(slices_bench, capsys):
    with pytest.raises(SystemExit) as e:
        slices_bench.main(["--configs", "nope"])
    assert e.value.code == 2 and "Unknown configuration(s) nope" in capsys.readouterr().err
