"""The lab's JavaScript engine (bptt/viz/assets/lab_engine.js + lab_train.js), run under Node,
equals the library to 1e-12 (relative, float64) given the same parameters: forward values, loss,
errors, errors by source, per-step contributions, gradients, dh0, Jacobian norms, truncated
gradients (against the sum of model.tbptt(x, y, 1, k2) windows), and the parameters after N updates
of SGD / Adam with clipping by norm / value / none (against bptt.optim and bptt.clipping applied
in the same order). Then the round trip engine → export → bptt.load_lab_export → replay.

One Node process runs every case (tests/js/run_engine.js); the engine's own unit tests
(tests/js/lab_engine.test.js) run under `node --test` here too. Without node the tests skip,
except under CI, where a missing node fails them.
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import bptt
from bptt.nn.activations import sigmoid
from bptt.nn.losses import per_step_loss

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "tests" / "js" / "run_engine.js"
NODE_TESTS = ROOT / "tests" / "js" / "lab_engine.test.js"
RTOL, ATOL = 1e-12, 1e-14


def node():
    exe = shutil.which("node")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("node is not installed, and under CI the lab engine's tests must run")
        pytest.skip("node is not installed")
    return exe


def run_engine(cases):
    r = subprocess.run([node(), str(DRIVER)], input=json.dumps({"cases": cases}),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["results"]


def close(actual, expected, what=""):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float),
                               rtol=RTOL, atol=ATOL, err_msg=what)


# -- the cases: every kind and option, both outputs, masks all / last / random, h0 != 0 --------
VARIANTS = ([("rnn", {"activation": a}) for a in ("tanh", "relu", "sigmoid", "identity")]
            + [("lstm", {"peepholes": p}) for p in (False, True)]
            + [("gru", {"reset": r}) for r in ("after", "before")])
MASKS = ("all", "last", "random")
CLIPS = (("none", None), ("norm", 0.5), ("value", 0.05))


def make_case(i, kind, opts, output, tokens):
    rng = np.random.default_rng(1000 + i)
    T, B, H = int(rng.integers(1, 9)), 1 + i % 2, int(rng.integers(1, 7))
    D = int(rng.integers(3, 7)) if tokens else int(rng.integers(1, 4))
    O = int(rng.integers(3, 7)) if output == "softmax" else int(rng.integers(1, 4))
    x = rng.integers(0, D, (T, B)).tolist() if tokens else rng.normal(size=(T, B, D)).tolist()
    y = rng.integers(0, O, (T, B)).tolist() if output == "softmax" else rng.normal(size=(T, B, O)).tolist()
    mask_kind = MASKS[i % 3]
    mask = (np.ones((T, B)) if mask_kind == "all" else
            np.eye(T)[-1][:, None].repeat(B, 1) if mask_kind == "last" else
            (rng.uniform(size=(T, B)) < 0.7) * rng.uniform(0.5, 2, (T, B)))
    shape = (B, H)
    h0 = ([rng.normal(scale=0.5, size=shape).tolist() for _ in range(2)] if kind == "lstm"
          else rng.normal(scale=0.5, size=shape).tolist())
    config = {"kind": kind, "input_size": D, "hidden_size": H, "output_size": O, "output": output,
              "seed": 7 + i, "rho": [None, 0.9, 1.3][i % 3], **opts}
    if kind == "lstm" and i % 2:
        config["forget_bias"] = 1.0
    clip_mode, clip = CLIPS[(i // 2) % 3]
    optimizer = "adam" if i % 2 else "sgd"
    return {"config": config, "problem": {"x": x, "y": y, "mask": mask.tolist(), "h0": h0},
            "k2": int(rng.integers(1, T + 2)),
            "train": {"optimizer": optimizer, "lr": 0.02 if optimizer == "adam" else 0.1,
                      "clip_mode": clip_mode, "clip": clip, "n": 6,
                      "k2": None if i % 4 < 2 else int(rng.integers(1, T + 1))},
            "export": {"text": None, "vocab": [chr(97 + k) for k in range(D)] if tokens else None}}


def all_cases():
    cases = []
    for kind, opts in VARIANTS:
        for output, tokens in (("softmax", True), ("identity", False), ("softmax", False),
                               ("identity", True)):
            cases.append(make_case(len(cases), kind, opts, output, tokens))
    return cases


def case_id(case):
    cfg, x = case["config"], case["problem"]["x"]
    option = {"rnn": cfg.get("activation"), "lstm": f"peep{cfg.get('peepholes')}",
              "gru": f"reset-{cfg.get('reset')}"}[cfg["kind"]]
    inputs = "ids" if np.ndim(x) == 2 else "floats"
    return f"{cfg['kind']}-{option}-{cfg['output']}-{inputs}-B{len(x[0])}"


CASES = all_cases()
IDS = [case_id(c) for c in CASES]


@pytest.fixture(scope="module")
def results():
    return run_engine(CASES)


def arrays(case):
    p = case["problem"]
    x = np.array(p["x"]) if np.ndim(p["x"]) == 3 else np.array(p["x"], dtype=np.intp)
    y = np.array(p["y"], dtype=np.intp if case["config"]["output"] == "softmax" else float)
    h0 = tuple(np.array(a) for a in p["h0"]) if case["config"]["kind"] == "lstm" else np.array(p["h0"])
    return x, y, np.array(p["mask"], dtype=float), h0


def library_model(case, params):
    cfg = case["config"]
    D, H, O = cfg["input_size"], cfg["hidden_size"], cfg["output_size"]
    kw = {"output": cfg["output"], "dtype": "float64"}
    if cfg["kind"] == "rnn":
        model = bptt.SimpleRNN(D, H, O, activation=cfg["activation"], **kw)
    elif cfg["kind"] == "lstm":
        model = bptt.LSTM(D, H, O, peepholes=cfg["peepholes"], **kw)
    else:
        model = bptt.GRU(D, H, O, reset=cfg["reset"], **kw)
    assert list(params) == list(model.params)                 # the library's names, in its order
    for k in model.params:
        assert np.shape(params[k]) == model.params[k].shape, k
        model.params[k] = np.array(params[k], dtype=float)
    return model


def proj(M, x_t):
    """M x(t) for a batch: (B, H); token ids pick columns."""
    return M.T[x_t] if x_t.dtype.kind in "iu" else x_t @ M.T


def pre_activations(case, p, x, h0, fwd):
    """The gates' pre-activations, recomputed here from the library's forward values."""
    kind, T = case["config"]["kind"], x.shape[0]
    out = {}
    if kind == "lstm":
        ys = np.concatenate([h0[0][None], fwd.h[:-1]])        # y(t−1)
        cs_prev = np.concatenate([h0[1][None], fwd.c[:-1]])   # c(t−1)
        for g in "zifo":
            out[f"{g}_hat"] = np.stack([proj(p[f"W_{g}"], x[t]) + ys[t] @ p[f"R_{g}"].T + p[f"b_{g}"]
                                        for t in range(T)])
        if "p_i" in p:
            out["i_hat"] = out["i_hat"] + p["p_i"] * cs_prev
            out["f_hat"] = out["f_hat"] + p["p_f"] * cs_prev
            out["o_hat"] = out["o_hat"] + p["p_o"] * fwd.c
    else:
        hs = np.concatenate([h0[None], fwd.h[:-1]])           # h(t−1)
        for g in "rz":
            out[f"{g}_hat"] = np.stack([proj(p[f"U_{g}"], x[t]) + hs[t] @ p[f"W_{g}"].T + p[f"b_{g}"]
                                        for t in range(T)])
        r = sigmoid(out["r_hat"])
        un = np.stack([proj(p["U_n"], x[t]) for t in range(T)])
        if "b_hn" in p:
            out["hn"] = hs @ p["W_n"].T + p["b_hn"]
            out["n_hat"] = un + p["b_n"] + r * out["hn"]
        else:
            out["n_hat"] = un + (r * hs) @ p["W_n"].T + p["b_n"]
    return out


def lstm_jacobian_norms(p, x, h0, fwd):
    """‖∂y(s)/∂y(t)‖₂ (c(t) held) and ‖∂c(s)/∂c(t)‖₂ (y(t) held), by torch autograd through the
    LSTM equations written out here, for t <= s; NaN above the diagonal."""
    torch = pytest.importorskip("torch")
    tp = {k: torch.tensor(v) for k, v in p.items()}
    T, B, H = fwd.h.shape
    peep = "p_i" in p

    def step(x_t, y, c):
        def pre(g):
            W = tp[f"W_{g}"]
            wx = W[:, int(x_t)] if np.ndim(x_t) == 0 else W @ torch.tensor(x_t)
            return wx + tp[f"R_{g}"] @ y + tp[f"b_{g}"]
        z = torch.tanh(pre("z"))
        i = torch.sigmoid(pre("i") + (tp["p_i"] * c if peep else 0))
        f = torch.sigmoid(pre("f") + (tp["p_f"] * c if peep else 0))
        c_new = z * i + c * f
        o = torch.sigmoid(pre("o") + (tp["p_o"] * c_new if peep else 0))
        return torch.tanh(c_new) * o, c_new

    def run(b, t, s, y, c):
        for k in range(t + 1, s + 1):
            y, c = step(x[k, b], y, c)
        return y, c

    hy, hc = np.full((T, T, B), np.nan), np.full((T, T, B), np.nan)
    for b in range(B):
        for t in range(T):
            y_t, c_t = torch.tensor(fwd.h[t, b]), torch.tensor(fwd.c[t, b])
            for s in range(t, T):
                Jy = torch.autograd.functional.jacobian(lambda y: run(b, t, s, y, c_t)[0], y_t)
                Jc = torch.autograd.functional.jacobian(lambda c: run(b, t, s, y_t, c)[1], c_t)
                hy[s, t, b] = np.linalg.norm(Jy.numpy(), 2)
                hc[s, t, b] = np.linalg.norm(Jc.numpy(), 2)
    return hy, hc


# -- one forward + BPTT pass ---------------------------------------------------------------------
@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_trace_equals_the_library(results, i):
    case, res = CASES[i], results[i]
    assert "error" not in res, res.get("error")
    kind = case["config"]["kind"]
    x, y, mask, h0 = arrays(case)
    model = library_model(case, res["params0"])
    tr, js = model.trace(x, y, h0, mask), res["trace"]
    fw = js["forward"]
    close(fw["h"], tr.forward.h, "h")
    close(fw["o"], tr.forward.o, "o")
    close(fw["y_hat"], tr.forward.y_hat, "y_hat")
    if kind == "rnn":
        close(fw["a"], tr.forward.a, "a")
    else:
        for g, v in tr.forward.gates.items():
            close(fw["gates"][g], v, f"gate {g}")
        pre = pre_activations(case, model.params, x, h0, tr.forward)
        assert set(fw["pre"]) == set(pre)
        for k, v in pre.items():
            close(fw["pre"][k], v, f"pre {k}")
    if kind == "lstm":
        close(fw["c"], tr.forward.c, "c")
    close(js["loss"], tr.loss, "loss")
    terms = (mask / x.shape[1] * per_step_loss(model.output, tr.forward.o, y)).sum(axis=1)
    close(js["loss_terms"], terms, "loss_terms")
    assert set(js["errors"]) == set(tr.errors)
    for k, v in tr.errors.items():
        close(js["errors"][k], v, f"errors[{k}]")
    assert set(js["errors_by_source"]) == set(tr.errors_by_source)
    for k, v in tr.errors_by_source.items():
        close(js["errors_by_source"][k], v, f"errors_by_source[{k}]")
    assert list(js["per_step"]) == list(tr.per_step) == list(js["grads"]) == list(tr.grads)
    for k in tr.grads:
        close(js["per_step"][k], tr.per_step[k], f"per_step[{k}]")
        close(js["grads"][k], tr.grads[k], f"grads[{k}]")
    if kind == "lstm":
        close(js["dh0"][0], tr.dh0[0], "dh0")
        close(js["dh0"][1], tr.dh0[1], "dc0")
        hy, hc = lstm_jacobian_norms(model.params, x, h0, tr.forward)
        close(js["jacobian_norms"], hy, "jacobian_norms")
        close(js["jacobian_norms_c"], hc, "jacobian_norms_c")
    else:
        close(js["dh0"], tr.dh0, "dh0")
        close(js["jacobian_norms"], tr.jacobian_norms, "jacobian_norms")


@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_truncated_grads_equal_the_sum_of_tbptt_windows(results, i):
    case, res = CASES[i], results[i]
    x, y, mask, h0 = arrays(case)
    model = library_model(case, res["params0"])
    k2, T = case["k2"], x.shape[0]
    windows = list(model.tbptt(x, y, 1, k2, h0=h0, mask=mask))
    js = res["truncated"]
    close(js["loss"], sum(w.loss for w in windows), "loss")
    for k in model.params:
        close(js["grads"][k], sum(w.grads[k] for w in windows), f"grads[{k}]")
    dropped = [[t <= s - k2 for t in range(T)] for s in range(T)]
    assert js["dropped"] == dropped


@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_training_equals_bptt_optim_and_clipping(results, i):
    case, res = CASES[i], results[i]
    x, y, mask, h0 = arrays(case)
    model = library_model(case, res["params0"])
    t = case["train"]
    opt = bptt.optim.make_optimizer(t["optimizer"], t["lr"])
    losses = []
    for _ in range(t["n"]):
        if t["k2"] is None:
            loss, grads = model.loss_and_grads(x, y, h0, mask)
        else:
            windows = list(model.tbptt(x, y, 1, t["k2"], h0=h0, mask=mask))
            loss = sum(w.loss for w in windows)
            grads = {k: sum(w.grads[k] for w in windows) for k in model.params}
        if t["clip_mode"] == "norm":
            bptt.clipping.clip_by_norm(grads, t["clip"])
        elif t["clip_mode"] == "value":
            bptt.clipping.clip_by_value(grads, t["clip"])
        opt.step(model.params, grads)
        losses.append(loss)
    close(res["losses"], losses, "losses")
    for k in model.params:
        close(res["params"][k], model.params[k], f"params[{k}] after {t['n']} updates")


# -- the round trip: engine → export → load_lab_export → replay ---------------------------------
@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_export_round_trip(results, i, tmp_path):
    res = results[i]
    path = tmp_path / "lab.json"
    path.write_text(json.dumps(res["export"]))
    ex = bptt.load_lab_export(path)
    close(ex.losses, res["losses"], "history.losses")
    losses, params = ex.replay()
    close(losses, res["losses"], "replayed losses")
    for k in params:
        close(params[k], res["params"][k], f"replayed params[{k}]")
        close(ex.params[k], res["params"][k], f"exported params[{k}]")
        close(ex.params0[k], res["params0"][k], f"exported params0[{k}]")
    tr = ex.model.trace(ex.x, ex.y, ex.h0, ex.mask)
    close(tr.loss, ex.loss, "exported loss")
    for k in tr.grads:
        close(tr.grads[k], ex.grads[k], f"exported grads[{k}]")
    m0 = ex.model0()
    for k in m0.params:
        close(m0.params[k], res["params0"][k], f"model0 params[{k}]")


def test_the_engines_own_unit_tests_pass():
    r = subprocess.run([node(), "--test", str(NODE_TESTS)], capture_output=True, text=True,
                       timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
