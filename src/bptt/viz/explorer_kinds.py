"""Each kind's part of the explorer's embedded JSON (the rest is in `bptt.viz.explorer`): the
initial state and its error, the forward values, the errors and the errors by source step, and
what the page needs that the trace does not keep (the gates' pre-activations).

    KINDS[kind].parts(trace)  -> {"h0", "dh0", "forward", "errors", "errors_by_source"}
    lstm_preactivations(trace), gru_preactivations(trace)

The pre-activations are recomputed here with exactly the operations of the reference step
(`bptt.cells.lstm.reference.step_forward`, `bptt.cells.gru.reference.step_forward`), so that
the gate values of the trace follow from them bit for bit (r = σ(r̂), n = tanh(n̂), ...).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ..cells.gru.reference import GATES as GRU_GATES
from ..cells.gru.reference import layer_names as gru_layer_names
from ..cells.lstm.reference import GATES as LSTM_GATES
from ..cells.lstm.reference import layer_names as lstm_layer_names
from ..cells.rnn.reference import input_projection
from .explorer_page import json_array

__all__ = ["KINDS", "Kind", "gru_preactivations", "lstm_preactivations"]


def _arrays(source: dict, keys) -> dict:
    return {k: json_array(source[k]) for k in keys}


# -- SimpleRNN ----------------------------------------------------------------------------------
def _rnn_parts(trace) -> dict:
    fwd, by_source = trace.forward, trace.errors_by_source
    return {
        "h0": json_array(trace.h0), "dh0": json_array(trace.dh0),
        "forward": {k: json_array(getattr(fwd, k)) for k in ("a", "h", "o", "y_hat", "h_last")},
        "errors": _arrays(trace.errors, ("o", "h", "a")),
        "errors_by_source": _arrays(by_source, ("a", "h")),
    }


# -- LSTM ---------------------------------------------------------------------------------------
def lstm_preactivations(trace) -> dict:
    """ẑ(t), î(t), f̂(t), ô(t) (T, B, H) of a one-layer LSTM trace, computed with the same
    operations as `lstm_reference.step_forward`, so that z = tanh(ẑ), i = σ(î), ... exactly."""
    p, fwd, x = trace.model.params, trace.forward, trace.x
    y0, c0 = trace.h0
    Y, C = fwd.h, fwd.c
    peep = "p_i" in p
    out = {}
    for g in LSTM_GATES:
        steps = []
        for t in range(x.shape[0]):
            y_prev, c_prev = (y0, c0) if t == 0 else (Y[t - 1], C[t - 1])
            pre = input_projection(x[t], p[f"W_{g}"]) + y_prev @ p[f"R_{g}"].T + p[f"b_{g}"]
            if peep and g in ("i", "f"):
                pre = pre + p[f"p_{g}"] * c_prev            # p_i, p_f see c(t−1)
            elif peep and g == "o":
                pre = pre + p["p_o"] * C[t]                 # p_o sees c(t)
            steps.append(pre)
        out[f"{g}_hat"] = np.stack(steps)
    return out


def _lstm_parts(trace) -> dict:
    fwd = trace.forward
    forward = {k: json_array(getattr(fwd, k)) for k in ("h", "c", "o", "y_hat", "h_last", "c_last")}
    forward["gates"] = _arrays(fwd.gates, LSTM_GATES)
    forward.update({k: json_array(a) for k, a in lstm_preactivations(trace).items()})
    return {
        "h0": json_array(np.stack(trace.h0)), "dh0": json_array(np.stack(trace.dh0)),
        "forward": forward,
        "errors": _arrays(trace.errors, ("o", "h", "c", "z_hat", "i_hat", "f_hat", "o_hat")),
        "errors_by_source": _arrays(trace.errors_by_source, ("c", "h")),
    }


# -- GRU ----------------------------------------------------------------------------------------
def gru_preactivations(trace) -> dict:
    """r̂(t), ẑ(t), n̂(t) (T, B, H) of a one-layer GRU trace, and with reset="after" also
    ĥn(t) = W_n h(t−1) + b_hn, computed with the same operations as `gru_reference.step_forward`,
    so that r = σ(r̂), z = σ(ẑ), n = tanh(n̂) exactly:

        r̂(t) = U_r x(t) + W_r h(t−1) + b_r        ẑ(t) = U_z x(t) + W_z h(t−1) + b_z
        n̂(t) = U_n x(t) + b_n + r(t) ⊙ ĥn(t)                      (reset="after")
        n̂(t) = U_n x(t) + W_n (r(t) ⊙ h(t−1)) + b_n               (reset="before")
    """
    p, fwd, x = trace.model.params, trace.forward, trace.x
    after = "b_hn" in p
    R = fwd.gates["r"]
    out = {"r_hat": [], "z_hat": [], "n_hat": []} | ({"hn_hat": []} if after else {})
    for t in range(x.shape[0]):
        h_prev = trace.h0 if t == 0 else fwd.h[t - 1]                                # (B, H)
        for g in ("r", "z"):
            out[f"{g}_hat"].append(input_projection(x[t], p[f"U_{g}"]) + h_prev @ p[f"W_{g}"].T
                                   + p[f"b_{g}"])
        if after:
            hn = h_prev @ p["W_n"].T + p["b_hn"]                                       # ĥn(t)
            out["hn_hat"].append(hn)
            out["n_hat"].append(input_projection(x[t], p["U_n"]) + p["b_n"] + R[t] * hn)
        else:
            out["n_hat"].append(input_projection(x[t], p["U_n"]) + (R[t] * h_prev) @ p["W_n"].T
                                + p["b_n"])
    return {k: np.stack(v) for k, v in out.items()}


def _gru_parts(trace) -> dict:
    fwd = trace.forward
    forward = {k: json_array(getattr(fwd, k)) for k in ("h", "o", "y_hat", "h_last")}
    forward["gates"] = _arrays(fwd.gates, GRU_GATES)
    forward.update({k: json_array(a) for k, a in gru_preactivations(trace).items()})
    errors = ("o", "h", "r_hat", "z_hat", "n_hat") + (("hn_hat",) if "hn_hat" in trace.errors else ())
    return {
        "h0": json_array(trace.h0), "dh0": json_array(trace.dh0), "forward": forward,
        "errors": _arrays(trace.errors, errors),
        "errors_by_source": _arrays(trace.errors_by_source, ("h",)),
    }


# -- the table ----------------------------------------------------------------------------------
class Kind(NamedTuple):
    model: str                       # the model's class name
    names: Callable                  # model -> its parameter names, in the model's order
    parts: Callable                  # trace -> the kind's part of the JSON
    per_h: int                       # forward and error arrays (T, B, H) in that part
    config: Callable                 # model -> the kind's entries of config


KINDS = {
    "rnn": Kind("SimpleRNN", lambda m: ("U", "W", "b", "V", "c"), _rnn_parts, 3,
                lambda m: {}),
    "lstm": Kind("LSTM", lambda m: (*lstm_layer_names(m.peepholes), "V", "c"), _lstm_parts, 16,
                 lambda m: {"gate_activation": "sigmoid", "peepholes": bool(m.peepholes)}),
    "gru": Kind("GRU", lambda m: (*gru_layer_names(m.reset), "V", "c"), _gru_parts, 14,
                lambda m: {"gate_activation": "sigmoid", "reset": m.reset}),
}
