"""Reading an experiment exported by the BPTT lab page (`bpttLab.export()`, the JavaScript engine's
`exportLab` in bptt/viz/assets/lab_train.js), so that it can be checked and continued in Python.

    ex = bptt.load_lab_export("lab.json")
    ex.model                     # a bptt model (SimpleRNN, LSTM or GRU, float64) with the current params
    ex.model.trace(ex.x, ex.y, ex.h0, ex.mask).loss == ex.loss
    losses, params = ex.replay() # the history re-run in Python from ex.params0 (bptt.optim, bptt.clipping)

The file is one JSON object (dimension letters: T time steps, B batch, D input size, H hidden
size, O output size):

    format, version   "bptt-lab", 1 (optional)
    config      kind ("rnn" | "lstm" | "gru"), activation, peepholes, reset, input_size (D),
                hidden_size (H), output_size (O), output ("softmax" | "identity"), optimizer
                ("sgd" | "adam"), lr, clip_mode ("none" | "norm" | "value"), clip (null with
                "none"), k2 (null: full BPTT; else TBPTT(1, k2)), text, vocab (null for a numeric
                series); optional forget_bias, seed, rho (how the page initialised the model)
    x           token ids (T, B), or floats (T, B, D) for a numeric series
    y           class ids (T, B) for softmax outputs, floats (T, B, O) for identity outputs
    mask        (T, B) weights >= 0;  h0 (B, H), or for the LSTM [h0, c0]
    params      the current parameters, the library's names and shapes
    loss, grads J and ∂J/∂θ (full BPTT, before clipping) at the current parameters
    history     {params0: the parameters before the first update, losses: J before each update}

Every part is checked (keys, kinds, sizes, shapes, finiteness) and a ValueError names the key:
"The lab export's 'config.hidden_size' must be an int in [1, 32]. Got 0.". Token ids and
floats are told apart by the number of axes, since JSON writes 1.0 as 1.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import numpy as np

from ..cells.gru.model import GRU
from ..cells.gru.reference import RESETS
from ..cells.lstm.model import LSTM
from ..cells.rnn.model import SimpleRNN
from ..nn.activations import ACTIVATIONS
from ..nn.losses import OUTPUTS

FORMAT, VERSION = "bptt-lab", 1
LIMITS = {"input_size": 256, "hidden_size": 32, "output_size": 256, "T": 100, "B": 8}   # the page's
OPTIMIZERS = ("sgd", "adam")
CLIP_MODES = ("none", "norm", "value")
TOP_KEYS = ("config", "x", "y", "mask", "h0", "params", "loss", "grads", "history")
CONFIG_KEYS = ("kind", "activation", "peepholes", "reset", "input_size", "hidden_size",
               "output_size", "output", "optimizer", "lr", "clip_mode", "clip", "k2", "text", "vocab")
CONFIG_OPTIONAL = ("forget_bias", "seed", "rho")


class LabExportError(ValueError):
    """A lab export that cannot be read: the message names the key."""


def _bad(key: str, expected: str, value) -> LabExportError:
    shown = repr(value) if not isinstance(value, (list, dict)) else f"a {type(value).__name__} of length {len(value)}"
    return LabExportError(f"The lab export's {key!r} must be {expected}. Got {shown}.")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _int(d, key, lo, hi, name=None):
    v = d[key]
    if not _is_int(v) or not lo <= v <= hi:
        raise _bad(name or key, f"an int in [{lo}, {hi}]", v)
    return v


def _number(v, key, *, positive=False, nonneg=False):
    if not _is_number(v) or not math.isfinite(v) or (positive and v <= 0) or (nonneg and v < 0):
        what = "a finite number" + (" > 0" if positive else " >= 0" if nonneg else "")
        raise _bad(key, what, v)
    return float(v)


def _choice(v, key, choices):
    if not isinstance(v, str) or v not in choices:
        raise _bad(key, "one of " + ", ".join(repr(c) for c in choices), v)
    return v


def _keys(d, key, required, optional=()):
    if not isinstance(d, dict):
        raise _bad(key, "a JSON object", d)
    missing = [k for k in required if k not in d]
    extra = sorted(k for k in d if k not in required and k not in optional)
    if missing or extra:
        raise LabExportError(f"The lab export's {key!r} must have the keys {list(required)}"
                             + (f" (optionally {list(optional)})" if optional else "")
                             + f". Missing {missing}, unexpected {extra}.")


def _numbers(value, key, shape) -> np.ndarray:
    """A nested list of numbers (no booleans, no strings) of exactly `shape` (None: any size),
    finite, as float64."""
    try:
        arr = np.array(value, dtype=object)
    except ValueError:
        arr = None
    want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    if (arr is None or arr.ndim != len(shape)
            or any(e is not None and g != e for g, e in zip(arr.shape, shape))):
        got = "a ragged list" if arr is None else f"shape {arr.shape}"
        raise LabExportError(f"The lab export's {key!r} must be numbers of shape {want}. Got {got}.")
    for idx, v in np.ndenumerate(arr):
        if not _is_number(v) or not math.isfinite(v):
            raise LabExportError(f"The lab export's {key!r} must hold finite numbers. Got {v!r} "
                                 f"at index {tuple(int(i) for i in idx)}.")
    return arr.astype(np.float64)


def _ids(value, key, shape, n) -> np.ndarray:
    """Integer ids in [0, n) of exactly `shape`, as intp."""
    arr = _numbers(value, key, shape)
    bad = (arr != np.round(arr)) | (arr < 0) | (arr >= n)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        v = float(arr[idx])
        raise LabExportError(f"The lab export's {key!r} must hold integer ids in [0, {n}). Got "
                             f"{int(v) if v.is_integer() else v!r} at index {idx}.")
    return arr.astype(np.intp)


def _check_config(cfg) -> dict:
    _keys(cfg, "config", CONFIG_KEYS, CONFIG_OPTIONAL)
    c = dict(cfg)
    _choice(c["kind"], "config.kind", ("rnn", "lstm", "gru"))
    _choice(c["activation"], "config.activation", tuple(ACTIVATIONS))
    if not isinstance(c["peepholes"], bool):
        raise _bad("config.peepholes", "true or false", c["peepholes"])
    _choice(c["reset"], "config.reset", RESETS)
    for k in ("input_size", "hidden_size", "output_size"):
        _int(c, k, 1, LIMITS[k], f"config.{k}")
    _choice(c["output"], "config.output", OUTPUTS)
    _choice(c["optimizer"], "config.optimizer", OPTIMIZERS)
    c["lr"] = _number(c["lr"], "config.lr", positive=True)
    _choice(c["clip_mode"], "config.clip_mode", CLIP_MODES)
    if c["clip_mode"] == "none":
        if c["clip"] is not None:
            raise _bad("config.clip", "null with clip_mode 'none'", c["clip"])
    else:
        c["clip"] = _number(c["clip"], "config.clip", positive=True)
    if c["k2"] is not None:
        _int(c, "k2", 1, LIMITS["T"], "config.k2")
    if c["text"] is not None and not isinstance(c["text"], str):
        raise _bad("config.text", "a string or null", c["text"])
    vocab = c["vocab"]
    if vocab is not None and (not isinstance(vocab, list) or not all(isinstance(s, str) for s in vocab)):
        raise _bad("config.vocab", "a list of strings or null", vocab)
    if "forget_bias" in c:
        c["forget_bias"] = _number(c["forget_bias"], "config.forget_bias")
    if "seed" in c:
        _int(c, "seed", 0, 2**32 - 1, "config.seed")
    if c.get("rho") is not None:
        c["rho"] = _number(c["rho"], "config.rho", nonneg=True)
    return c


def _new_model(cfg: dict):
    """A new float64 bptt model of a checked config (its params are replaced by the caller)."""
    D, H, O = cfg["input_size"], cfg["hidden_size"], cfg["output_size"]
    if cfg["kind"] == "rnn":
        return SimpleRNN(D, H, O, activation=cfg["activation"], output=cfg["output"], dtype="float64")
    if cfg["kind"] == "lstm":
        return LSTM(D, H, O, peepholes=cfg["peepholes"], output=cfg["output"], dtype="float64")
    return GRU(D, H, O, reset=cfg["reset"], output=cfg["output"], dtype="float64")


def build_lab_model(cfg: dict, params: dict):
    """The bptt model (float64) of a checked config, holding copies of `params`."""
    model = _new_model(cfg)
    for k in model.params:
        model.params[k] = np.array(params[k], dtype=np.float64)
    return model


def _check_params(value, key, shapes) -> dict:
    _keys(value, key, tuple(shapes))
    return {k: _numbers(value[k], f"{key}.{k}", shapes[k]) for k in shapes}


@dataclass
class LabExport:
    """A checked lab export: NumPy arrays, the rebuilt model, and the history to replay."""
    config: dict
    x: np.ndarray            # (T, B) ids (intp) or (T, B, D) floats
    y: np.ndarray            # (T, B) ids or (T, B, O) floats
    mask: np.ndarray         # (T, B)
    h0: object               # (B, H), or the LSTM's pair (h0, c0)
    params: dict             # the current parameters
    loss: float              # J at params
    grads: dict              # ∂J/∂θ at params (full BPTT, before clipping)
    params0: dict            # the parameters before the first update
    losses: np.ndarray       # J before each update (len = the number of updates)
    model: object            # a bptt model holding (copies of) params

    @property
    def text(self):
        return self.config["text"]

    @property
    def vocab(self):
        return self.config["vocab"]

    def model0(self):
        """A new bptt model holding (copies of) params0, the parameters before the first update."""
        return build_lab_model(self.config, self.params0)

    def replay(self):
        """(losses, params): the history re-run in Python from params0 with the same optimizer, lr,
        clipping and truncation. Defined in bptt.training.lab_replay (training sits above io),
        which `import bptt` loads."""
        raise RuntimeError("LabExport.replay needs bptt.training.lab_replay; import bptt first.")


def read_lab_export(data) -> LabExport:
    """Check an export already parsed from JSON (a dict) and build the LabExport."""
    _keys(data, "export", TOP_KEYS, ("format", "version"))
    if data.get("format", FORMAT) != FORMAT:
        raise _bad("format", repr(FORMAT), data["format"])
    if data.get("version", VERSION) != VERSION:
        raise _bad("version", str(VERSION), data["version"])
    cfg = _check_config(data["config"])
    D, H, O = cfg["input_size"], cfg["hidden_size"], cfg["output_size"]
    xv = data["x"]
    depth = 0
    while isinstance(xv, list) and xv:
        xv, depth = xv[0], depth + 1
    if depth == 3:
        x = _numbers(data["x"], "x", (None, None, D))
    else:
        x = _ids(data["x"], "x", (None, None), D)
    T, B = x.shape[:2]
    if not (1 <= T <= LIMITS["T"] and 1 <= B <= LIMITS["B"]):
        raise _bad("x", f"T in [1, {LIMITS['T']}] steps of B in [1, {LIMITS['B']}] sequences",
                   f"shape {x.shape}")
    if x.ndim == 2 and cfg["vocab"] is not None and len(cfg["vocab"]) != D:
        raise _bad("config.vocab", f"a list of input_size = {D} strings (one per token id)", cfg["vocab"])
    y = (_ids(data["y"], "y", (T, B), O) if cfg["output"] == "softmax"
         else _numbers(data["y"], "y", (T, B, O)))
    mask = _numbers(data["mask"], "mask", (T, B))
    if (mask < 0).any():
        raise _bad("mask", "weights >= 0", float(mask.min()))
    if cfg["kind"] == "lstm":
        if not isinstance(data["h0"], list) or len(data["h0"]) != 2:
            raise _bad("h0", "a pair [h0, c0] for the LSTM", data["h0"])
        h0 = tuple(_numbers(a, f"h0[{i}]", (B, H)) for i, a in enumerate(data["h0"]))
    else:
        h0 = _numbers(data["h0"], "h0", (B, H))
    shapes = {k: a.shape for k, a in _new_model(cfg).params.items()}   # the library's names, shapes
    params = _check_params(data["params"], "params", shapes)
    grads = _check_params(data["grads"], "grads", shapes)
    loss = _number(data["loss"], "loss")
    hist = data["history"]
    _keys(hist, "history", ("params0", "losses"))
    params0 = _check_params(hist["params0"], "history.params0", shapes)
    if not isinstance(hist["losses"], list):
        raise _bad("history.losses", "a list of numbers", hist["losses"])
    losses = np.array([_number(v, f"history.losses[{i}]") for i, v in enumerate(hist["losses"])],
                      dtype=np.float64)
    model = build_lab_model(cfg, params)
    return LabExport(cfg, x, y, mask, h0, params, loss, grads, params0, losses, model)


def load_lab_export(path) -> LabExport:
    """Read and check the JSON file of a lab export; see the module docstring. x (T, B) ids or
    (T, B, D) floats, y (T, B) or (T, B, O), mask (T, B), h0 (B, H), params in the library's
    names and shapes.

    Examples:
        >>> import json
        >>> from bptt import SimpleRNN, load_lab_export
        >>> from bptt.optim import SGD
        >>> model, x, y = SimpleRNN(3, 2, 3, seed=0), [[0], [1], [2]], [[1], [2], [0]]   # (T, B)
        >>> params0 = {k: p.tolist() for k, p in model.params.items()}
        >>> loss0, grads = model.loss_and_grads(np.array(x), np.array(y))
        >>> SGD(lr=0.1).step(model.params, grads)                       # the page's one update
        >>> loss, grads = model.loss_and_grads(np.array(x), np.array(y))
        >>> config = {"kind": "rnn", "activation": "tanh", "peepholes": False, "reset": "after",
        ...           "input_size": 3, "hidden_size": 2, "output_size": 3, "output": "softmax",
        ...           "optimizer": "sgd", "lr": 0.1, "clip_mode": "none", "clip": None,
        ...           "k2": None, "text": None, "vocab": None}
        >>> export = {"config": config, "x": x, "y": y, "mask": [[1], [1], [1]], "h0": [[0, 0]],
        ...           "params": {k: p.tolist() for k, p in model.params.items()}, "loss": loss,
        ...           "grads": {k: g.tolist() for k, g in grads.items()},
        ...           "history": {"params0": params0, "losses": [loss0]}}
        >>> _ = open("lab.json", "w", encoding="utf-8").write(json.dumps(export))
        >>> ex = load_lab_export("lab.json")
        >>> ex.x.shape, ex.h0.shape, ex.model
        ((3, 1), (1, 2), SimpleRNN(3, 2, 3, activation='tanh', output='softmax', dtype='float64'))
        >>> losses, params = ex.replay()                                # the history, in Python
        >>> bool(losses[0] == loss0), all(np.array_equal(params[k], model.params[k]) for k in params)
        (True, True)
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"The 'path' argument of load_lab_export must be a path. "
                        f"Got {type(path).__name__}.")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise LabExportError(f"The lab export {os.fspath(path)!r} is not valid JSON: {e}.") from None
    return read_lab_export(data)
