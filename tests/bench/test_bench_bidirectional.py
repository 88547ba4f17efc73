"""The bidirectional configurations of `bptt bench` (bptt.bench.work): both sides do the same work —
the same loss and the same gradients from the same weights (torch's nn.RNN/LSTM/GRU with
bidirectional=True + Linear(2H, O), bias_hh of both directions frozen where bptt has one bias) —
the GEMM count by hand, and a tiny run through the runner. Nothing here asserts anything about
speed (benchmarks/bidirectional_bench.py measures it)."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from bptt.bench import memory as bench_memory
from bptt.bench import runner as bench
from bptt.bench import work

torch = pytest.importorskip("torch")
pytest.importorskip("threadpoolctl")

ROOT = Path(__file__).resolve().parents[2]
TINY = [work.Config(f"tiny-bi-{k}", k, 4, 3, 5, 6, 5, True, 1.0, True) for k in ("rnn", "lstm", "gru")]


def test_the_issue_configurations_are_there():
    for kind in ("rnn", "lstm", "gru"):
        c = work.CONFIGS[f"{kind}-bi-T50-B32-V65-H256"]
        assert (c.kind, c.T, c.B, c.D, c.H, c.O, c.tokens, c.bidirectional, c.target) == \
            (kind, 50, 32, 65, 256, 65, True, True, 1.0)
    assert not work.CONFIGS["rnn-T50-B32-V65-H256"].bidirectional          # the default stays False


def test_gemm_flops_by_hand():
    # N = 6, H = 5, O = 3, M = 2 directions: 2·6·2·(3·1·25 + 3·5·3) = 24·120 = 2880; floats add
    # 2·6·2·2·1·5·4 = 960. The LSTM (G = 4), tokens: 24·(3·4·25 + 45) = 8280.
    assert work.gemm_flops(work.Config("x", "rnn", 3, 2, 4, 5, 3, True, 1, True)) == 2880
    assert work.gemm_flops(work.Config("x", "rnn", 3, 2, 4, 5, 3, False, 1, True)) == 2880 + 960
    assert work.gemm_flops(work.Config("x", "lstm", 3, 2, 4, 5, 3, True, 1, True)) == 8280
    c = work.Config("x", "gru", 3, 2, 4, 5, 3, True, 1, True)           # torch's one-hot GEMMs: 2·6·3·5·4·2 each way
    assert work.executed_flops(c, "torch") - work.executed_flops(c, "bptt") == 2 * (2 * 6 * 3 * 5 * 4 * 2)


@pytest.mark.parametrize("c", TINY, ids=lambda c: c.kind)
def test_both_sides_do_the_same_work(c):
    model = work.make_model(c)
    assert model.bidirectional and model.params["V"].shape == (c.O, 2 * c.H)
    rnn, linear, params = work._torch_modules(c, model)
    assert rnn.bidirectional and linear.in_features == 2 * c.H
    frozen = {n for n, p in rnn.named_parameters() if not p.requires_grad}
    assert frozen == (set() if c.kind == "gru" else {"bias_hh_l0", "bias_hh_l0_reverse"})
    x, y = work._problem(c)
    loss, grads = model.loss_and_grads(x, y)
    assert work.torch_backward(c, model)().item() == pytest.approx(loss, rel=1e-5)
    # the same modules through the same steps give the same gradients (float32): V, and the
    # backward direction's recurrent weights (weight_hh_l0_reverse: W@rev, or the gates' stacked)
    for p in params:
        p.grad = None
    o = linear(rnn(torch.nn.functional.one_hot(torch.from_numpy(x), c.D).float())[0])
    (torch.nn.functional.cross_entropy(o.reshape(-1, c.O), torch.from_numpy(y).reshape(-1), reduction="sum") / c.B).backward()
    np.testing.assert_allclose(linear.weight.grad.numpy(), grads["V"], rtol=2e-4, atol=1e-6)
    rev = {"rnn": ["W@rev"], "lstm": [f"R_{g}@rev" for g in "ifzo"], "gru": [f"W_{g}@rev" for g in "rzn"]}[c.kind]
    np.testing.assert_allclose(rnn.weight_hh_l0_reverse.grad.numpy(), np.concatenate([grads[k] for k in rev]),
                               rtol=2e-4, atol=1e-6)


def test_the_runner_takes_them():
    res = bench.run_bench(TINY, threads=(1,), seconds=0.02, memory=False, minchar=False,
                          log=lambda *a: None)
    assert [r["config"] for r in res["results"]] == [c.name for c in TINY]
    for r, c in zip(res["results"], TINY):
        assert r["gflop"] == pytest.approx(work.gemm_flops(c) / 1e9) and r["bptt_ms"] > 0
    assert len(res["train_step"]) == 3
    assert bench_memory.memory_probe("bptt", TINY[0])["numpy_peak_mib"] > 0


def test_the_benchmark_script_runs(capsys):
    spec = importlib.util.spec_from_file_location("bidirectional_bench", ROOT / "benchmarks" / "bidirectional_bench.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.measure(TINY[:1], repeats=2, seconds=0.02)
    row = out["rows"][0]
    assert row["config"] == TINY[0].name and len(row["ratios"]) == 2
    assert row["median_ratio"] == pytest.approx(float(np.median(row["ratios"])))
    assert {"cpu", "blas"} <= set(out["machine"])
    with pytest.raises(ValueError, match="'repeats' argument of measure must be an int >= 1. Got 0"):
        mod.measure(TINY[:1], repeats=0)
