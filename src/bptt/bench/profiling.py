"""`bptt bench` extras: min-char-rnn's training loop against bptt's, and where the fast path's
time goes (per stage, against the GEMMs alone)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .timing import time_alternating
from .work import MINCHAR_TARGET, Config, _problem, make_model


# -- min-char-rnn ---------------------------------------------------------------------------------
def find_minchar_baseline():
    """The MinCharRNN class of benchmarks/minchar_baseline.py (a source checkout), or None."""
    path = Path(__file__).resolve().parents[3] / "benchmarks" / "minchar_baseline.py"
    if not path.exists():
        return None
    import importlib.util
    spec = importlib.util.spec_from_file_location("minchar_baseline", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.MinCharRNN


def minchar_bench(baseline_cls, seconds: float, T=25, V=65, H=100) -> dict:
    from threadpoolctl import threadpool_limits

    from ..training.clipping import clip_by_value
    from ..training.optim import Adagrad
    from ..cells.rnn.model import SimpleRNN
    rng = np.random.default_rng(0)
    stream = rng.integers(0, V, size=20_000)
    model = SimpleRNN(V, H, V, dtype="float32", seed=0)
    opt = Adagrad(lr=0.1)
    state = {"p": 0, "h": model.zero_state(1)}
    mask = np.ones((T, 1), dtype=np.float32)

    def bptt_step():
        p = state["p"] = (state["p"] + T) % (len(stream) - T - 1)
        x, y = stream[p:p + T, None], stream[p + 1:p + T + 1, None]
        res = model._backward(x, y, state["h"], mask, need_dx=False)
        clip_by_value(res.grads, 5.0)
        opt.step(model.params, res.grads)
        state["h"] = res.h_last

    fns = {"bptt": bptt_step}
    for dtype in ("float64", "float32"):
        base = baseline_cls(V, H, seed=0, dtype=dtype)
        st = {"p": 0, "h": base.zero_state()}

        def base_step(base=base, st=st):
            p = st["p"] = (st["p"] + T) % (len(stream) - T - 1)
            inputs = stream[p:p + T].tolist()
            targets = stream[p + 1:p + T + 1].tolist()
            _, st["h"] = base.train_step(inputs, targets, st["h"])
        fns[f"minchar_{dtype}"] = base_step
    with threadpool_limits(1):
        t = time_alternating(fns, seconds)
    out = {"T": T, "B": 1, "V": V, "H": H, "bptt_iters_per_s": 1 / t["bptt"]["median"],
           "target_speedup": MINCHAR_TARGET}
    for dtype in ("float64", "float32"):
        out[f"minchar_{dtype}_iters_per_s"] = 1 / t[f"minchar_{dtype}"]["median"]
        out[f"speedup_vs_{dtype}"] = t[f"minchar_{dtype}"]["median"] / t["bptt"]["median"]
    out["meets_target"] = bool(out["speedup_vs_float64"] >= MINCHAR_TARGET)
    return out


# -- where the time goes (SimpleRNN) --------------------------------------------------------------
def profile_sections(c: Config, seconds: float = 2.0) -> dict:
    """Milliseconds of each stage of SimpleRNN._backward (the fast path, one layer, float32, the
    calls rnn.py makes), and of the same GEMMs alone: the floor the stages sit on. Medians."""
    from ..cells.rnn import fused
    from ..nn.losses import loss_and_error
    if c.kind != "rnn":
        raise ValueError("profile_sections profiles the SimpleRNN")
    model = make_model(c)
    x, y = _problem(c)
    x, y, h0, mask = model._inputs(x, y, None, None)
    p, act, weight = model.params, model.act, mask / c.B
    stages = {"validate": lambda: model._inputs(x, y, None, None)}
    st = {}

    def fwd():
        st["Hs"] = fused.layer_forward(x, h0, p["U"], p["W"], p["b"], act)[1]
    stages["forward recurrence (incl. U x)"] = fwd
    fwd()
    stages["output layer o = c + V h"] = lambda: st.__setitem__(
        "o", fused.output_forward(st["Hs"][1:], p["V"], p["c"]))
    stages["output layer o = c + V h"]()
    stages["softmax + cross-entropy"] = lambda: st.__setitem__(
        "do", loss_and_error("softmax", st["o"], y, weight)[2])
    stages["softmax + cross-entropy"]()
    stages["output backward (Vᵀ dO, dV, dc)"] = lambda: st.__setitem__(
        "dA", fused.output_backward(st["do"], st["Hs"][1:], p["V"])[0])
    stages["output backward (Vᵀ dO, dV, dc)"]()
    stages["BPTT loop + dU, dW, db"] = lambda: fused.layer_backward(
        st["dA"].copy(), x, st["Hs"], p["U"], p["W"], act, need_dx=False)
    rng = np.random.default_rng(0)
    N, H, D, O = c.T * c.B, c.H, c.D, c.O
    f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)   # noqa: E731
    h, W, big, hs, xs, V = f32(c.B, H), f32(H, H), f32(N, H), f32(N, H), f32(N, D), f32(O, H)
    m, rec = fused.row_blocks(c.B, H, np.float32), np.empty((c.B, H), np.float32)

    def per_step():
        for _ in range(c.T):
            fused._step_dot(h, W, rec, m)
    gemms = {"per-step W h(t−1), T times (x2: forward and backward)": per_step,
             "dW = dAᵀ H_prev": lambda: np.dot(big.T, hs),
             "o = V h, Vᵀ dO, dV (each)": lambda: np.dot(hs, V.T)}
    if not c.tokens:
        gemms["U x, dU, dx (each)"] = lambda: np.dot(xs, np.ones((D, H), np.float32))
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):
        t1 = time_alternating(stages, seconds, rounds=5)
        t2 = time_alternating(gemms, seconds / 2, rounds=5)
    out = {"stages_ms": {k: v["median"] * 1e3 for k, v in t1.items()},
           "gemm_floor_ms": {k: v["median"] * 1e3 for k, v in t2.items()}}
    out["stages_total_ms"] = sum(out["stages_ms"].values())
    return out


# -- the whole run ---------------------------------------------------------------------------------
