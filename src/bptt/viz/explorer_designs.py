"""The explorer's other recurrent designs of Goodfellow et al. ch. 10 (the rest is in
`bptt.viz.explorer`): a bidirectional one-layer SimpleRNN, LSTM or GRU (§10.3, fig. 10.11;
config.kind "bi", drawn by assets/explorer_bi.js) and the output-recurrent OutputRNN (§10.2.1,
figs. 10.4 and 10.6; config.kind "output_rnn", drawn by assets/explorer_output_rnn.js).

    design_kind(trace)           "bi", "output_rnn" or None
    parts(trace, kind)           the design's part of the embedded JSON
    builtin_trace(design, cell, text, seed, mode)    what `bptt explain` shows for a design

The JSON of a bidirectional trace (config.cell: "rnn", "lstm" or "gru"; T, B, H of one direction):
    h0, dh0             {"h": (B, H) the forward chain's h(−1), "h@rev": (B, H) the backward
                        chain's g(T)} (for the LSTM their block outputs; c0, dc0 {"c", "c@rev"}
                        the cells)
    forward             h (T, B, H) the forward chain, "h@rev" (T, B, H) the backward chain g(t) in
                        x's time order, o, y_hat; the LSTM's c and "c@rev"
    errors              o, h, "h@rev" (∂J/∂g(t)); the simple RNN's a, "a@rev"; the LSTM's c, "c@rev"
    errors_by_source    h and "h@rev", (T, T, B, H): [s, t] = ∂L(s)/∂h(t), ∂L(s)/∂g(t)
    per_step            (T, ...) in x's time order for both directions: row t of an "@rev"
                        parameter is the backward chain's step at x(t) (the trace keeps it in the
                        chain's own order, row T−1−t)
The backward chain's per-step rows can be put in time order only when every sequence has T
steps, so a trace with shorter `lengths` is refused (trace the sequences one at a time).

The JSON of an OutputRNN trace: config.mode ("teacher", "free" or "scheduled") and
config.feedback; h0 = y0 = f(−1) (B, O) and dh0 = ∂J/∂y0; forward a, h, o, y_hat, fed (T, B, O)
with fed[t] = f(t−1), what step t reads, through (T, B) (1 where f(t) = ŷ(t) was fed back
differentiably) and use_model (T, B) (0/1: f(t) was the model's own output); errors o, h, a, f
(f[t] = ∂J/∂f(t)); errors_by_source a and h.
"""
from __future__ import annotations

import numpy as np

from .explorer_page import json_array

__all__ = ["DESIGNS", "design_kind", "check_design", "count_numbers", "parts", "config",
           "param_names", "check_explain", "builtin_trace", "builtin_title", "VOWEL_LABELS"]

DESIGNS = ("bi", "output_rnn")
VOWELS = "aeiou"
VOWEL_LABELS = ["no", "vowel"]     # the built-in bidirectional task's classes: is x(t+1) a vowel?


def design_kind(trace):
    from ..cells.bidirectional_trace import BidirectionalTrace
    from ..cells.output_rnn import OutputRNNTrace
    if isinstance(trace, BidirectionalTrace):
        return "bi"
    if isinstance(trace, OutputRNNTrace):
        return "output_rnn"
    return None


def check_design(trace, kind, owner):
    """Refuse what the design's view cannot draw, with the reason."""
    if kind != "bi":
        return
    layers = trace.model.num_layers
    if layers != 1:
        raise ValueError(f"The 'trace' argument of {owner} must come from a one-layer model; the "
                         f"explorer draws one bidirectional layer. Got num_layers={layers}.")
    T = trace.x.shape[0]
    if trace.lengths is not None and (np.asarray(trace.lengths) != T).any():
        raise ValueError(f"The 'trace' argument of {owner} has sequences shorter than T = {T} "
                         f"(lengths={np.asarray(trace.lengths).tolist()}): the explorer shows the "
                         f"backward chain's per-step gradients in time order, which needs every "
                         f"sequence to have T steps. Trace each sequence on its own "
                         f"(x[:n, b:b+1] with n = lengths[b]).")


def param_names(trace) -> tuple:
    return tuple(trace.model.params)


def count_numbers(trace, kind) -> int:
    """About how many numbers the page embeds (for the explorer's size limit)."""
    m = trace.model
    T, B = trace.x.shape[:2]
    H, O, D = m.hidden_size, m.output_size, m.input_size
    per_param = sum(p.size for p in m.params.values()) * (T + 3)
    if kind == "bi":
        per_h = 8 if m.kind == "lstm" else 6
        return B * (T * (per_h * H + 3 * O + D + 2) + 4 * T * T * H + 8 * H) + per_param
    return B * (T * (4 * H + 6 * O + D + 4) + 2 * T * T * H + 2 * O) + per_param


def config(trace, kind) -> dict:
    m = trace.model
    if kind == "bi":
        out = {"cell": m.kind}
        if m.kind == "rnn":
            out["activation"] = m.activation
        if m.kind == "lstm":
            out.update(gate_activation="sigmoid", peepholes=bool(m.peepholes))
        if m.kind == "gru":
            out.update(gate_activation="sigmoid", reset=m.reset)
        return out
    return {"activation": "tanh", "mode": trace.mode, "feedback": m.feedback}


def _time_order(name, a):
    """A per-step array in x's time order: the backward chain's rows reversed."""
    return a[::-1] if "@rev" in name else a


def parts(trace, kind) -> dict:
    """{"h0", "dh0", "forward", "errors", "errors_by_source", "per_step"} (+ "c0", "dc0")."""
    names = param_names(trace)
    per_step = {k: json_array(_time_order(k, trace.per_step[k])) for k in names}
    fwd = trace.forward
    if kind == "output_rnn":
        src = trace.errors_by_source
        return {
            "h0": json_array(fwd.fed[0]), "dh0": json_array(trace.dy0),
            "forward": {"a": json_array(fwd.a), "h": json_array(fwd.h), "o": json_array(fwd.o),
                        "y_hat": json_array(fwd.y_hat), "fed": json_array(fwd.fed),
                        "through": json_array(fwd.through),
                        "use_model": json_array(fwd.use_model.astype(np.int64))},
            "errors": {k: json_array(trace.errors[k]) for k in ("o", "h", "a", "f")},
            "errors_by_source": {k: json_array(src[k]) for k in ("a", "h")},
            "per_step": per_step,
        }
    lstm = trace.model.kind == "lstm"
    layer = fwd.layers[0]
    forward = {"h": json_array(layer["h"]), "h@rev": json_array(layer["g"]),
               "o": json_array(fwd.o), "y_hat": json_array(fwd.y_hat)}
    errors = {k: json_array(trace.errors[k]) for k in ("o", "h", "h@rev")}
    extra = {"rnn": ("a", "a@rev"), "lstm": ("c", "c@rev"), "gru": ()}[trace.model.kind]
    errors.update({k: json_array(trace.errors[k]) for k in extra})
    h0, dh0 = (trace.h0[0], trace.dh0[0]) if lstm else (trace.h0, trace.dh0)
    both = lambda a, k: {k: json_array(a[0]), k + "@rev": json_array(a[1])}     # noqa: E731
    out = {"h0": both(h0, "h"), "dh0": both(dh0, "h"), "forward": forward, "errors": errors,
           "errors_by_source": {k: json_array(trace.errors_by_source[k]) for k in ("h", "h@rev")},
           "per_step": per_step}
    if lstm:
        forward.update({"c": json_array(layer["c"]), "c@rev": json_array(layer["c@rev"])})
        out.update(c0=both(trace.h0[1], "c"), dc0=both(trace.dh0[1], "c"))
    return out


def iframe_height(c) -> int:
    rows = 2 * c["output_size"] + (2 if c["kind"] == "bi" else 3) * c["hidden_size"]
    rows += c["output_size"] if c["kind"] == "output_rnn" else 0
    return 480 + 24 * min(rows + (1 if c["tokens"] else c["input_size"]), 60) + 320


# -- the built-in examples of `bptt explain` ----------------------------------------------------
EXPLAIN_MODES = ("teacher", "free")


def check_explain(kind, model, bidirectional, mode, lab_open, owner):
    """The design `explain` shows ("bi", "output_rnn" or None), after refusing what does not go
    together (kind is already checked; bidirectional a bool)."""
    model_kind = getattr(model, "kind", None)
    output_rnn = kind == "output_rnn" or model_kind == "output_rnn"
    if mode is not None and not output_rnn:
        raise ValueError(f"The 'mode' parameter of {owner} is for the output-recurrent model "
                         f"(kind='output_rnn'): the training mode, 'teacher' or 'free'. Got "
                         f"mode={mode!r} with kind={kind or model_kind or 'rnn'!r}.")
    if mode is not None and mode not in EXPLAIN_MODES:
        raise ValueError(f"The 'mode' parameter of {owner} must be 'teacher' (teacher forcing) or "
                         f"'free' (free running). Got {mode!r} instead.")
    if bidirectional and output_rnn:
        raise ValueError(f"The 'bidirectional' parameter of {owner} is for the SimpleRNN, LSTM and "
                         f"GRU: the OutputRNN has no hidden-to-hidden recurrence to run backwards "
                         f"in time. Leave it out with kind='output_rnn'.")
    if bidirectional and model is not None:
        raise ValueError(f"The 'bidirectional' parameter of {owner} is for the built-in model; a "
                         f"model knows its own (model.bidirectional). Leave it out with 'model'.")
    design = ("output_rnn" if output_rnn else
              "bi" if bidirectional or getattr(model, "bidirectional", False) else None)
    if design is not None and lab_open is True:
        raise ValueError(f"The 'lab_open' parameter of {owner} opens the lab, whose engine runs "
                         f"one-directional SimpleRNN, LSTM and GRU models; the "
                         f"{'OutputRNN' if design == 'output_rnn' else 'bidirectional model'} gets "
                         f"the explorer alone (lab_open=False).")
    return design


def builtin_title(trace, text):
    m = trace.model
    if isinstance(getattr(m, "bidirectional", None), bool) and m.bidirectional:
        return (f"BPTT explorer: a bidirectional {type(m).__name__} tagging each character of "
                f"{text!r}: is the next one a vowel?")
    how = {"teacher": "teacher forcing", "free": "free running"}.get(trace.mode, trace.mode)
    return f"BPTT explorer: OutputRNN ({how}) reading {text[:-1]!r}, predicting {text[1:]!r}"


def builtin_trace(design, cell, ids, vocab, seed, mode, hidden):
    """design "bi": a bidirectional `cell` model reading every character and tagging it with
    whether the next one is a vowel (VOWEL_LABELS; the last: no) — a task that needs x(t+1),
    which the backward chain reads (a bidirectional next-character model would see its own
    targets). design "output_rnn": an OutputRNN reading text[:-1] and predicting text[1:] in
    `mode` ("teacher" feeds back the true previous character, "free" its own ŷ(t−1))."""
    from ..cells.output_rnn import OutputRNN
    from ..cells.registry import MODEL_KINDS
    size = len(vocab)
    if design == "bi":
        model = MODEL_KINDS[cell](size, hidden, len(VOWEL_LABELS), bidirectional=True, seed=seed)
        tags = np.array([vocab[i] in VOWELS for i in ids[1:]] + [False], dtype=np.intp)
        return model.trace(ids[:, None], tags[:, None])
    model = OutputRNN(size, hidden, size, seed=seed)
    return model.trace(ids[:-1, None], ids[1:, None], mode=mode)
