"""Smoke tests of the benchmark code (bptt.bench.runner, benchmarks/): tiny configurations, a few
milliseconds of timing, checks of the output's structure and of what is counted. Nothing here
asserts anything about speed."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import bptt
from bptt.bench import memory as bench_memory
from bptt.bench import runner as bench
from bptt.bench import work as bench_work

torch = pytest.importorskip("torch")
pytest.importorskip("threadpoolctl")

ROOT = Path(__file__).resolve().parents[2]
TINY = [bench.Config("tiny-tokens", "rnn", 4, 2, 5, 6, 5, True, 1.0),
        bench.Config("tiny-floats", "rnn", 3, 2, 4, 5, 3, False, 1.0)]
ROW_KEYS = {"config", "bench", "kind", "T", "B", "D", "H", "O", "tokens", "threads", "bptt_ms",
            "torch_ms", "ratio", "bptt_steps_per_s", "torch_steps_per_s", "bptt_iters_per_s",
            "torch_iters_per_s", "gflop", "bptt_gflops", "torch_gflops", "peak_gflops",
            "bptt_peak_fraction", "torch_peak_fraction"}


@pytest.fixture(scope="module")
def result():
    return bench.run_bench(TINY, threads=(1,), seconds=0.02, memory=False, log=lambda *a: None)


def test_run_bench_reports_every_documented_key(result):
    assert set(result) >= {"machine", "definitions", "peak_gflops", "results", "train_step",
                           "memory", "skipped", "minchar"}
    assert result["peak_gflops"]["1"] > 0
    assert [r["config"] for r in result["results"]] == ["tiny-tokens", "tiny-floats"]
    for rows, kind in ((result["results"], "fwd+bptt"), (result["train_step"], "train step")):
        assert len(rows) == 2
        for r in rows:
            assert set(r) >= ROW_KEYS and r["bench"] == kind and r["threads"] == 1
            assert r["bptt_ms"] > 0 and r["torch_ms"] > 0
            assert r["ratio"] == pytest.approx(r["bptt_ms"] / r["torch_ms"])
            assert r["bptt_steps_per_s"] == pytest.approx(r["T"] * r["B"] / r["bptt_ms"] * 1e3)
    assert {"target", "meets_target"} <= set(result["results"][0])
    json.loads(json.dumps(result, default=float))          # JSON-able as written by --json


def test_machine_description_names_the_blas_and_threads(result):
    m = result["machine"]
    assert m["numpy"] == np.__version__ and m["torch"]["version"] == torch.__version__
    assert m["blas"] and {"internal_api", "version", "architecture", "num_threads"} <= set(m["blas"][0])


def test_minchar_comparison_is_reported(result):
    mc = result["minchar"]
    assert mc is not None, result["skipped"]
    assert {"bptt_iters_per_s", "minchar_float64_iters_per_s", "speedup_vs_float64",
            "target_speedup", "meets_target"} <= set(mc)
    assert mc["speedup_vs_float64"] == pytest.approx(
        mc["bptt_iters_per_s"] / mc["minchar_float64_iters_per_s"], rel=1e-12)   # two roundings


def test_gemm_flops_formula_by_hand():
    # N = 6: 2·6·(3·1·5² + 3·5·3) = 12·120 = 1440, plus floats 2·6·2·1·5·4 = 480
    assert bench.gemm_flops(bench.Config("x", "rnn", 3, 2, 4, 5, 3, False, 1)) == 1440 + 480
    assert bench.gemm_flops(bench.Config("x", "rnn", 3, 2, 4, 5, 3, True, 1)) == 1440
    # LSTM: four gate blocks, 2·6·(3·4·25 + 45) = 4140 for token inputs
    assert bench.gemm_flops(bench.Config("x", "lstm", 3, 2, 4, 5, 3, True, 1)) == 4140


def test_both_sides_compute_the_same_loss():
    c = TINY[0]
    model = bench.make_model(c)
    x, y = bench_work._problem(c)
    assert bench.torch_backward(c, model)().item() == pytest.approx(model.loss(x, y), rel=1e-5)


def test_missing_lstm_is_skipped_not_failed(monkeypatch):
    monkeypatch.setattr(bench, "lstm_class", lambda: None)
    cfg = bench.Config("tiny-lstm", "lstm", 3, 2, 5, 4, 5, True, 1.0)
    res = bench.run_bench([cfg], threads=(1,), seconds=0.01, train_step=False, minchar=False,
                          memory=False, log=lambda *a: None)
    assert res["results"] == [] and "tiny-lstm" in res["skipped"]


def test_unknown_configuration_is_refused():
    with pytest.raises(ValueError, match="Unknown configurations"):
        bench.run_bench(["no-such-config"], threads=(1,), log=lambda *a: None)


def test_memory_probe_in_process():
    out = bench_memory.memory_probe("bptt", TINY[1])
    assert out["rss_peak_delta_mib"] >= 0 and out["numpy_peak_mib"] > 0


def test_main_writes_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench, "CONFIGS", {c.name: c for c in TINY})
    path = tmp_path / "bench.json"
    assert bench.main(["--threads", "1", "--seconds", "0.02", "--no-memory", "--no-minchar",
                       "--no-train-step", "--json", str(path)]) == 0
    data = json.loads(path.read_text())
    assert [r["config"] for r in data["results"]] == ["tiny-tokens", "tiny-floats"]
    assert "| tiny-tokens | 1 |" in capsys.readouterr().out


def _minchar_module():
    spec = importlib.util.spec_from_file_location("minchar_baseline",
                                                  ROOT / "benchmarks" / "minchar_baseline.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_minchar_baseline_computes_bptts_gradients():
    """The per-step baseline does the same math as SimpleRNN (before its clipping at ±5)."""
    base = _minchar_module().MinCharRNN(7, 5, seed=1)
    rng = np.random.default_rng(0)
    for p in base.params.values():
        p[...] = rng.normal(scale=0.3, size=p.shape)
    model = bptt.SimpleRNN(7, 5, 7, seed=0)
    P = base.params
    model.params.update(U=P["Wxh"].copy(), W=P["Whh"].copy(), b=P["bh"][:, 0].copy(),
                        V=P["Why"].copy(), c=P["by"][:, 0].copy())
    ids = rng.integers(0, 7, size=9)
    h0 = rng.normal(scale=0.5, size=(5, 1))
    loss, grads, h = base.loss_and_grads(list(ids[:-1]), list(ids[1:]), h0)
    res = model.backward(ids[:-1, None], ids[1:, None], h0.T)
    assert loss == pytest.approx(res.loss, rel=1e-12)
    for mine, theirs in (("U", "Wxh"), ("W", "Whh"), ("V", "Why")):
        assert np.abs(grads[theirs]).max() < 5                 # not clipped
        np.testing.assert_allclose(grads[theirs], res.grads[mine], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["bh"][:, 0], res.grads["b"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h[:, 0], res.h_last[0], rtol=1e-12)
