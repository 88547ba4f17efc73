"""bptt.load_lab_export: reading what the lab page exports, checking every part of it with a
message that names the key, rebuilding the model and replaying the history. The exports here are
made in Python (no Node needed); tests/viz/test_lab_engine.py makes them with the JavaScript
engine and checks the round trip to 1e-12."""
import copy
import json
import re

import numpy as np
import pytest

import bptt
from bptt.io.lab_export import LabExportError, read_lab_export


def make_export(kind="rnn", *, output="softmax", tokens=True, n=3, optimizer="adam", clip_mode="norm",
                k2=None, seed=0):
    """An export as the page writes it, made with the library: n updates from params0."""
    rng = np.random.default_rng(seed)
    T, B, D, H, O = 4, 2, 3, 2, 3
    opts = {"rnn": {"activation": "tanh"}, "lstm": {"peepholes": True}, "gru": {"reset": "before"}}[kind]
    cls = {"rnn": bptt.SimpleRNN, "lstm": bptt.LSTM, "gru": bptt.GRU}[kind]
    model = cls(D, H, O, output=output, seed=seed, **opts)
    x = rng.integers(0, D, (T, B)) if tokens else rng.normal(size=(T, B, D))
    y = rng.integers(0, O, (T, B)) if output == "softmax" else rng.normal(size=(T, B, O))
    mask = np.ones((T, B))
    h0 = (rng.normal(size=(B, H)), rng.normal(size=(B, H))) if kind == "lstm" else rng.normal(size=(B, H))
    params0 = {k: v.tolist() for k, v in model.params.items()}
    clip = {"none": None, "norm": 0.5, "value": 0.1}[clip_mode]
    opt = bptt.optim.make_optimizer(optimizer, 0.05)
    losses = []
    for _ in range(n):
        if k2 is None:
            loss, grads = model.loss_and_grads(x, y, h0, mask)
        else:
            ws = list(model.tbptt(x, y, 1, k2, h0=h0, mask=mask))
            loss, grads = sum(w.loss for w in ws), {k: sum(w.grads[k] for w in ws) for k in model.params}
        if clip_mode == "norm":
            bptt.clipping.clip_by_norm(grads, clip)
        elif clip_mode == "value":
            bptt.clipping.clip_by_value(grads, clip)
        opt.step(model.params, grads)
        losses.append(loss)
    loss, grads = model.loss_and_grads(x, y, h0, mask)
    config = {"kind": kind, "activation": "tanh", "peepholes": False, "reset": "after", **opts,
              "input_size": D, "hidden_size": H, "output_size": O, "output": output,
              "optimizer": optimizer, "lr": 0.05, "clip_mode": clip_mode, "clip": clip, "k2": k2,
              "text": "abcab" if tokens else None, "vocab": ["a", "b", "c"] if tokens else None,
              "forget_bias": 0, "seed": 1, "rho": None}
    return {"format": "bptt-lab", "version": 1, "config": config, "x": x.tolist(), "y": y.tolist(),
            "mask": mask.tolist(),
            "h0": [a.tolist() for a in h0] if kind == "lstm" else h0.tolist(),
            "params": {k: v.tolist() for k, v in model.params.items()}, "loss": loss,
            "grads": {k: v.tolist() for k, v in grads.items()},
            "history": {"params0": params0, "losses": losses}}


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("setting", [
    {"optimizer": "adam", "clip_mode": "norm"},
    {"optimizer": "sgd", "clip_mode": "value", "k2": 2},
    {"optimizer": "sgd", "clip_mode": "none", "output": "identity", "tokens": False},
])
def test_load_rebuild_and_replay(kind, setting, tmp_path):
    data = make_export(kind, **setting)
    path = tmp_path / "lab.json"
    path.write_text(json.dumps(data))
    ex = bptt.load_lab_export(path)
    assert type(ex.model) is {"rnn": bptt.SimpleRNN, "lstm": bptt.LSTM, "gru": bptt.GRU}[kind]
    assert ex.x.dtype.kind == ("i" if setting.get("tokens", True) else "f")
    assert (ex.text, ex.vocab) == (data["config"]["text"], data["config"]["vocab"])
    tr = ex.model.trace(ex.x, ex.y, ex.h0, ex.mask)
    np.testing.assert_allclose(tr.loss, ex.loss, rtol=1e-14)
    for k in ex.grads:
        np.testing.assert_allclose(tr.grads[k], ex.grads[k], rtol=1e-12, atol=1e-15)
    losses, params = ex.replay()
    np.testing.assert_array_equal(losses, data["history"]["losses"])      # the same code: bitwise
    for k in params:
        np.testing.assert_array_equal(params[k], data["params"][k])
        np.testing.assert_array_equal(ex.model0().params[k], data["history"]["params0"][k])


def test_no_history_and_integers_where_floats_are_expected():
    data = make_export("gru", n=0, output="identity", tokens=False)
    data["x"] = [[[1, 2, 3]] * 2] * 4                       # JSON writes 1.0 as 1: still floats (T, B, D)
    data["mask"] = [[1, 0]] * 4
    ex = read_lab_export(data)
    assert ex.x.dtype == np.float64 and ex.x.shape == (4, 2, 3)
    losses, params = ex.replay()
    assert losses.shape == (0,)
    for k in params:
        np.testing.assert_array_equal(params[k], data["history"]["params0"][k])


# -- every check, with the key in its message ---------------------------------------------------
def _set(path, value):
    def change(d):
        *head, last = path
        for k in head:
            d = d[k]
        if value is DELETE:
            del d[last]
        else:
            d[last] = value
    return change


DELETE = object()
HOSTILE = [
    (_set(["grads"], DELETE), r"'export' must have the keys .* Missing \['grads'\]"),
    (_set(["extra"], 1), r"'export' must have the keys .* unexpected \['extra'\]"),
    (_set(["format"], "bptt-explorer"), r"'format' must be 'bptt-lab'\. Got 'bptt-explorer'"),
    (_set(["version"], 2), r"'version' must be 1\. Got 2"),
    (_set(["config", "lr"], DELETE), r"'config' must have the keys .* Missing \['lr'\]"),
    (_set(["config", "kind"], "cnn"), r"'config.kind' must be one of 'rnn', 'lstm', 'gru'\. Got 'cnn'"),
    (_set(["config", "activation"], "gelu"), r"'config.activation' must be one of 'tanh'.*Got 'gelu'"),
    (_set(["config", "peepholes"], "yes"), r"'config.peepholes' must be true or false\. Got 'yes'"),
    (_set(["config", "reset"], "middle"), r"'config.reset' must be one of 'after', 'before'"),
    (_set(["config", "hidden_size"], 0), r"'config.hidden_size' must be an int in \[1, 32\]\. Got 0\."),
    (_set(["config", "hidden_size"], 33), r"'config.hidden_size' must be an int in \[1, 32\]\. Got 33\."),
    (_set(["config", "input_size"], True), r"'config.input_size' must be an int in \[1, 256\]\. Got True"),
    (_set(["config", "output_size"], "3"), r"'config.output_size' must be an int in \[1, 256\]\. Got '3'"),
    (_set(["config", "output"], "sigmoid"), r"'config.output' must be one of 'softmax', 'identity'"),
    (_set(["config", "optimizer"], "rmsprop"), r"'config.optimizer' must be one of 'sgd', 'adam'"),
    (_set(["config", "lr"], 0), r"'config.lr' must be a finite number > 0\. Got 0"),
    (_set(["config", "lr"], float("nan")), r"'config.lr' must be a finite number > 0\. Got nan"),
    (_set(["config", "clip_mode"], "l2"), r"'config.clip_mode' must be one of 'none', 'norm', 'value'"),
    (_set(["config", "clip"], None), r"'config.clip' must be a finite number > 0\. Got None"),
    (_set(["config", "k2"], 0), r"'config.k2' must be an int in \[1, 100\]\. Got 0"),
    (_set(["config", "text"], 3), r"'config.text' must be a string or null\. Got 3"),
    (_set(["config", "vocab"], ["a", 1, "c"]), r"'config.vocab' must be a list of strings or null"),
    (_set(["config", "vocab"], ["a", "b"]), r"'config.vocab' must be a list of input_size = 3 strings"),
    (_set(["config", "seed"], -1), r"'config.seed' must be an int in \[0, 4294967295\]\. Got -1"),
    (_set(["config", "rho"], -0.5), r"'config.rho' must be a finite number >= 0\. Got -0.5"),
    (_set(["x"], [[0, 1], [2]]), r"'x' must be numbers of shape \(\*, \*\)\. Got"),
    (_set(["x", 1, 0], 3), r"'x' must hold integer ids in \[0, 3\)\. Got 3 at index \(1, 0\)"),
    (_set(["x", 0, 1], 1.5), r"'x' must hold integer ids in \[0, 3\)\. Got 1.5 at index \(0, 1\)"),
    (_set(["x", 0, 0], True), r"'x' must hold finite numbers\. Got True at index \(0, 0\)"),
    (_set(["x"], [[[0.5, 1.5]] * 2] * 4), r"'x' must be numbers of shape \(\*, \*, 3\)\. Got shape \(4, 2, 2\)"),
    (_set(["x"], [[0] * 9] * 4), r"'x' must be T in \[1, 100\] steps of B in \[1, 8\] sequences"),
    (_set(["y"], [[0, 1]] * 3), r"'y' must be numbers of shape \(4, 2\)\. Got shape \(3, 2\)"),
    (_set(["y", 3, 1], 7), r"'y' must hold integer ids in \[0, 3\)\. Got 7 at index \(3, 1\)"),
    (_set(["mask", 2, 0], -1), r"'mask' must be weights >= 0\. Got -1.0"),
    (_set(["mask", 2, 0], "1"), r"'mask' must hold finite numbers\. Got '1' at index \(2, 0\)"),
    (_set(["h0"], [[0.0, 0.0]]), r"'h0' must be numbers of shape \(2, 2\)\. Got shape \(1, 2\)"),
    (_set(["params", "W"], DELETE), r"'params' must have the keys \['U', 'W', 'b', 'V', 'c'\]\. Missing \['W'\]"),
    (_set(["params", "W"], [[0.0] * 3] * 2), r"'params.W' must be numbers of shape \(2, 2\)\. Got shape \(2, 3\)"),
    (_set(["params", "b", 1], float("inf")), r"'params.b' must hold finite numbers\. Got inf at index \(1,\)"),
    (_set(["grads", "c"], "zero"), r"'grads.c' must be numbers of shape \(3,\)\. Got shape \(\)"),
    (_set(["loss"], None), r"'loss' must be a finite number\. Got None"),
    (_set(["history", "losses"], DELETE), r"'history' must have the keys \['params0', 'losses'\]\. Missing \['losses'\]"),
    (_set(["history", "losses"], [1.0, None, 2.0]), r"'history.losses\[1\]' must be a finite number\. Got None"),
    (_set(["history", "losses"], 3.0), r"'history.losses' must be a list of numbers\. Got 3.0"),
    (_set(["history", "params0", "V"], [[0.0]]), r"'history.params0.V' must be numbers of shape \(3, 2\)"),
]


@pytest.mark.parametrize("change, message", HOSTILE, ids=[m[:40] for _, m in HOSTILE])
def test_every_check_names_the_key(change, message, tmp_path):
    data = copy.deepcopy(make_export("rnn", n=1))
    change(data)
    path = tmp_path / "lab.json"
    path.write_text(json.dumps(data))                        # NaN and inf as JSON's NaN, Infinity
    with pytest.raises(ValueError, match=message) as err:
        bptt.load_lab_export(path)
    assert isinstance(err.value, LabExportError)


def test_lstm_state_and_clip_checks():
    data = make_export("lstm", n=1)
    data["h0"] = data["h0"][:1]
    with pytest.raises(ValueError, match=re.escape("'h0' must be a pair [h0, c0] for the LSTM")):
        read_lab_export(data)
    data = make_export("rnn", n=1, clip_mode="none")
    data["config"]["clip"] = 1.0
    with pytest.raises(ValueError, match=re.escape("'config.clip' must be null with clip_mode 'none'. Got 1.0.")):
        read_lab_export(data)
    with pytest.raises(ValueError, match=re.escape("'export' must be a JSON object. Got a list")):
        read_lab_export([1, 2])


def test_the_file_itself(tmp_path):
    path = tmp_path / "lab.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        bptt.load_lab_export(path)
    with pytest.raises(TypeError, match="The 'path' argument of load_lab_export must be a path"):
        bptt.load_lab_export(3)
