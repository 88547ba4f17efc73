"""The explorer page's data without a browser: its embedded JSON parsed strictly, the values the
page must show computed from the Python trace, and the traces the explorer tests share (the
helpers of tests/viz/test_explorer*.py)."""
import json
import re

import numpy as np

import bptt

SCRIPT_RE = re.compile(r'<script type="application/json" id="bptt-trace">(.*?)</script>', re.S)
PARAMS = ("U", "W", "b", "V", "c")
SPECIAL = {"NaN": np.nan, "Infinity": np.inf, "-Infinity": -np.inf}


def _reject_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def embedded_json(page: str) -> dict:
    """The JSON of script#bptt-trace, parsed strictly (no NaN/Infinity literals allowed)."""
    found = SCRIPT_RE.findall(page)
    assert len(found) == 1
    return json.loads(found[0], parse_constant=_reject_constant)


def decode(x):
    """Nested lists from the JSON back to an array, with "NaN"/"Infinity"/"-Infinity" as floats."""
    def walk(v):
        if isinstance(v, list):
            return [walk(e) for e in v]
        return SPECIAL[v] if isinstance(v, str) else v
    return np.array(walk(x))


def dense_trace():
    """Dense inputs, identity output (squared error), relu, B = 2, a mask with a zero, T = 9
    (more steps than the 8 colours of the categorical palette)."""
    rng = np.random.default_rng(7)
    T, B, D, H, O = 9, 2, 3, 4, 2
    model = bptt.SimpleRNN(D, H, O, activation="relu", output="identity", seed=3)
    x = rng.normal(size=(T, B, D))
    y = rng.normal(size=(T, B, O))
    h0 = rng.normal(scale=0.5, size=(B, H))
    mask = np.ones((T, B))
    mask[2, 1] = 0.0
    mask[4, 0] = 0.5
    return model.trace(x, y, h0=h0, mask=mask)


def is_lstm(tr) -> bool:
    return getattr(tr.model, "kind", "rnn") == "lstm"


def param_names(tr):
    return tuple(tr.model.params) if is_lstm(tr) else PARAMS


def preactivations(tr) -> dict:
    """ẑ, î, f̂, ô of a one-layer LSTM trace, computed here independently of the library."""
    p, (y0, c0) = tr.model.params, tr.h0
    Y, C, x = tr.forward.h, tr.forward.c, tr.x
    y_prev, c_prev = np.concatenate([y0[None], Y[:-1]]), np.concatenate([c0[None], C[:-1]])
    out = {}
    for g in "zifo":
        W = p[f"W_{g}"]
        wx = W.T[x] if x.dtype.kind in "iu" else np.einsum("hd,tbd->tbh", W, x)
        pre = wx + np.einsum("hk,tbk->tbh", p[f"R_{g}"], y_prev) + p[f"b_{g}"]
        if "p_i" in p and g != "z":
            pre = pre + p[f"p_{g}"] * (C if g == "o" else c_prev)
        out[f"forward.{g}_hat"] = pre
    return out


def expected_values(tr, lr) -> dict:
    """data-key -> array indexed by the element's (s, t, b, i, j) attributes, from the Python trace."""
    T, B, H = tr.forward.h.shape
    fwd, m = tr.forward, tr.model
    if m.output == "softmax":
        p = np.take_along_axis(fwd.y_hat, tr.y[..., None], axis=-1)[..., 0]
        terms = -np.log(p) * tr.mask / B
        onehot = np.eye(m.output_size)[tr.y]
    else:
        terms = 0.5 * ((fwd.o - tr.y) ** 2).sum(-1) * tr.mask / B
        onehot = None
    out = {
        "forward.h": fwd.h, "forward.o": fwd.o, "forward.y_hat": fwd.y_hat,
        "x": tr.x, "y": tr.y, "mask": tr.mask, "loss": np.array(tr.loss),
        "loss_terms": terms, "onehot.y": onehot,
        "errors.o": tr.errors["o"], "errors.h": tr.errors["h"],
    }
    for k, arr in tr.errors_by_source.items():
        out["norm.errors_by_source." + k] = np.linalg.norm(arr, axis=-1)
    if is_lstm(tr):
        out.update({"forward.c": fwd.c, "h0.0": tr.h0[0], "h0.1": tr.h0[1],
                    "dh0.0": tr.dh0[0], "dh0.1": tr.dh0[1], **preactivations(tr)})
        out.update({f"forward.gates.{g}": fwd.gates[g] for g in "zifo"})
        out.update({f"errors.{k}": tr.errors[k] for k in ("c", "z_hat", "i_hat", "f_hat", "o_hat")})
    else:
        out.update({"forward.a": fwd.a, "h0": tr.h0, "dh0": tr.dh0, "errors.a": tr.errors["a"]})
    for k in param_names(tr):
        out["params." + k] = m.params[k]
        out["per_step." + k] = tr.per_step[k]
        out["grads." + k] = tr.grads[k]
        out["updated." + k] = m.params[k] - lr * tr.grads[k]
    return out


def json_values(data) -> dict:
    """The same keys, from the embedded JSON: every array under its dotted path."""
    out = {}

    def flatten(prefix, v):
        if isinstance(v, dict):
            for k, e in v.items():
                flatten(f"{prefix}.{k}" if prefix else k, e)
        else:
            out[prefix] = decode(v)
    flatten("", {k: v for k, v in data.items() if k != "config"})
    if data["config"].get("kind") == "lstm":
        for k in ("h0", "dh0"):
            out[k + ".0"], out[k + ".1"] = out[k]
    for k in list(out):
        if k.startswith("errors_by_source."):
            out["norm." + k] = np.linalg.norm(out[k], axis=-1)
    if data["config"]["output"] == "softmax":
        out["onehot.y"] = np.eye(data["config"]["output_size"])[out["y"].astype(int)]
    return out


def shown_equals(text: str, value) -> bool:
    """Does the displayed text equal `value` to the displayed precision (4 significant digits)?"""
    if isinstance(value, (int, np.integer)):
        return int(text) == int(value)
    value = float(value)
    shown = float(text)
    if not np.isfinite(value):
        return (np.isnan(value) and np.isnan(shown)) or shown == value
    if value == 0:
        return shown == 0
    tol = 0.5 * 10.0 ** (np.floor(np.log10(abs(value))) - 3)
    return abs(shown - value) <= tol * (1 + 1e-9)


def dense_lstm_trace(peepholes=True):
    """Dense inputs, identity output, peepholes, B = 2, a given (h0, c0) and a mask with a zero."""
    rng = np.random.default_rng(5)
    T, B, D, H, O = 5, 2, 3, 4, 2
    model = bptt.LSTM(D, H, O, peepholes=peepholes, output="identity", seed=2)
    h0 = (rng.normal(scale=0.5, size=(B, H)), rng.normal(scale=0.5, size=(B, H)))
    mask = np.ones((T, B))
    mask[1, 1] = 0.0
    mask[3, 0] = 0.5
    return model.trace(rng.normal(size=(T, B, D)), rng.normal(size=(T, B, O)), h0=h0, mask=mask)
