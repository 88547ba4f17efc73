"""The interactive BPTT explorer: one self-contained HTML page of one traced forward + BPTT pass
of a one-layer SimpleRNN, LSTM or GRU — also with bidirectional=True — or of an OutputRNN (the
designs' JSON and views: `bptt.viz.explorer_designs`, config.kind "bi" and "output_rnn").

    tr = model.trace(x, y, h0, mask)
    html = explorer_html(tr, lr=0.1)               # a full page (str), no external URLs at all
    write_explorer(tr, "bptt.html")                # the same page, written atomically
    explain("bptt.html", input_text="hello")       # `bptt explain`: the built-in tiny model
    explain("lstm.html", kind="lstm")              # the built-in tiny LSTM
    explain("gru.html", kind="gru")                # the built-in tiny GRU

The page shows the network unfolded in time and steps through it with Back / Next / Reset or the
←/→ keys: forward propagation t = 0 .. T−1, the loss J, the errors from t = T−1 down to 0 (each
with a bar that splits it by the loss term L(s) it comes from, in L(s)'s colour), the per-step
contributions (∂J/∂θ)^(t) of a chosen parameter, their sum ∂J/∂θ, and the one update
θ ← θ − η ∂J/∂θ. Hovering over or clicking a node shows the equation that produced it, with its
numbers, and once the backward pass reaches it, the equation of its error.

SimpleRNN: x(t) at the bottom, a(t) and h(t) in the middle, o(t), ŷ(t) and L(t) on top, h(−1) = h0
on the left; errors ∂J/∂o(t), ∂J/∂h(t), ∂J/∂a(t), split by source on a(t) and h(t).

LSTM (Greff et al. notation): x(t) at the bottom, the block input z(t) and the gates i(t), f(t),
o(t) above it, the cell c(t) with the cell path c(t−1) → c(t) drawn as one horizontal line (the
"constant error carousel"), the block output y(t) (the h of SimpleRNN), then the output layer
and L(t); y(−1), c(−1) on the left. Errors ∂J/∂y(t), ∂J/∂c(t) (split by source, from
errors_by_source["h"] and ["c"]) and the gates' pre-activation errors ∂J/∂ẑ(t), ∂J/∂î(t),
∂J/∂f̂(t), ∂J/∂ô(t). On the page the output layer's logits (JSON forward.o, errors.o) are written
v(t) and the targets y*(t), so that o(t) is only the output gate and y(t) only the block output.

GRU (Cho et al. 2014, reset gate after W_n as in PyTorch or before it): x(t) at the bottom, the
update gate z(t), the reset gate r(t), with reset="after" the gated term ĥn(t) = W_n h(t−1) + b_hn,
and the candidate n(t) side by side; the state h(t) = (1 − z) ⊙ n + z ⊙ h(t−1) with the direct
path h(t−1) → h(t) drawn as one horizontal line that z(t) multiplies (as the LSTM's cell path),
then o(t), ŷ(t) and L(t); h(−1) = h0 on the left. Errors ∂J/∂h(t) (split by source, from
errors_by_source["h"]) and the pre-activation errors ∂J/∂ẑ(t), ∂J/∂r̂(t), ∂J/∂n̂(t) (and ∂J/∂ĥn(t)).

Every number on the page comes from the JSON embedded in ``<script type="application/json"
id="bptt-trace">`` (keys: config, params, x, y, h0, mask, forward, loss, loss_terms, errors,
errors_by_source, dh0, per_step, grads, updated; arrays as nested lists shaped as in the Python
API, token ids as ints; NaN and ±inf as the strings "NaN", "Infinity", "-Infinity").
``config.kind`` is "rnn", "lstm" or "gru". For an LSTM: config.peepholes; params in the model's
order (W_z … W_o, R_z … R_o, b_z … b_o, p_i, p_f, p_o with peepholes, V, c); h0 and dh0 are the pairs
[h0, c0] and [∂J/∂h0, ∂J/∂c0] (2, B, H); forward holds h (= y), c, o (logits), y_hat, h_last,
c_last, gates {z, i, f, o} and the pre-activations z_hat, i_hat, f_hat, o_hat (recomputed here
exactly as the reference step computes them; the trace does not keep them); errors o, h, c,
z_hat, i_hat, f_hat, o_hat; errors_by_source c and h. For a GRU: config.reset ("after" or
"before") and config.gate_activation; params in the model's order (U_r, U_z, U_n, W_r, W_z, W_n,
b_r, b_z, b_n, b_hn with reset="after", V, c); h0 and dh0 (B, H); forward holds h, o (logits),
y_hat, h_last, gates {r, z, n} and the pre-activations r_hat, z_hat, n_hat, and with
reset="after" hn_hat = W_n h(t−1) + b_hn (recomputed exactly as the reference step computes them;
`bptt.viz.explorer_kinds`); errors o, h, r_hat, z_hat, n_hat (+ hn_hat with reset="after");
errors_by_source h.

Every displayed number is an element with ``data-key`` (a path into that JSON, e.g. "forward.h",
"forward.gates.f", "h0.1") and ``data-s``/``data-t``/``data-b``/``data-i``/``data-j`` indices in
the order of the array's axes, shown to 4 significant digits (JavaScript ``toPrecision(4)`` for
1e-3 <= |v| < 1e4, else ``toExponential(3)``; 0 as "0", NaN as "NaN", ±inf as "inf"/"-inf").
Keys that are not JSON paths: ``norm.errors_by_source.<k>`` (the norm over the last axis),
``onehot.y``, and ``derived.*`` (the terms of an equation, such as W h(t−1)).

`inline=True` (used by ``Trace._repr_html_`` in Jupyter) returns an ``<iframe srcdoc=...>``
holding the same full page: its ids, styles and keys cannot clash with the notebook's or with
other explorers on the page, and it resizes itself to its content.

The explorer is for small models: the embedded trace holds O(T²·B·H) numbers (the errors by
source step); beyond MAX_NUMBERS it is refused (trace fewer steps or one sequence, x[:, :1]).
It reads ``trace.model.params`` when called, so show a trace before updating its model.
"""
from __future__ import annotations

import html as _html
import os
from pathlib import Path

import numpy as np

from .. import _validate as v
from ..io.atomic import atomic_write_text
from ..nn.losses import per_step_loss
from ._common import trace_kind
from .explorer_kinds import KINDS as KIND_TABLE
from .explorer_kinds import gru_preactivations, lstm_preactivations
from . import explorer_designs as designs
from .explorer_page import json_array as _json_array
from .explorer_page import page_html, script_json
from .lab_page import lab_page_html, visible_text

__all__ = ["explorer_html", "explorer_payload", "write_explorer", "default_explorer_trace",
           "explain", "lstm_preactivations", "gru_preactivations", "DEFAULT_VOCAB",
           "DEFAULT_TEXT", "KINDS", "MAX_NUMBERS"]

PARAM_NAMES = ("U", "W", "b", "V", "c")
KINDS = tuple(KIND_TABLE)      # "rnn", "lstm", "gru"
EXPLAIN_KINDS = KINDS + ("output_rnn", "seq2seq")   # `explain`'s built-in models (+ bidirectional)
MAX_NUMBERS = 500_000          # numbers in the embedded JSON (about 10 MB of HTML)
DEFAULT_VOCAB = "ehlo"         # the built-in model's characters, in id order
DEFAULT_TEXT = "hello"         # its input: predict each next character (T = 4)
DEFAULT_HIDDEN = 3
MAX_TEXT = 26                  # characters of input text for `explain` (T <= 25)


# -- validation -------------------------------------------------------------------------------------
def _check_trace(trace, owner) -> str:
    """The trace's kind, "rnn", "lstm" or "gru" (or a design: "bi", "output_rnn";
    `bptt.viz.explorer_designs`), after checking it is one the explorer can draw."""
    design = designs.design_kind(trace)
    if design is not None:
        designs.check_design(trace, design, owner)
        return _check_targets(trace, owner, design)
    model = getattr(trace, "model", None)
    params = getattr(model, "params", None)
    layers = getattr(model, "num_layers", 1)
    if layers != 1 and hasattr(trace, "forward"):
        raise ValueError(f"The 'trace' argument of {owner} must come from a one-layer SimpleRNN, "
                         f"LSTM or GRU; the explorer draws one hidden layer. Got num_layers={layers}.")
    kind = trace_kind(trace)
    if not (kind is not None and isinstance(params, dict)
            and set(params) == set(KIND_TABLE[kind].names(model))
            and all(hasattr(trace, k) for k in ("forward", "errors", "per_step", "grads", "dh0"))):
        raise TypeError(f"The 'trace' argument of {owner} must be the trace of a SimpleRNN, an "
                        f"LSTM or a GRU (also bidirectional=True), or an OutputRNN, as returned "
                        f"by model.trace(x, y). Got {type(trace).__name__} instead.")
    return _check_targets(trace, owner, kind)


def _check_targets(trace, owner, kind):
    if not isinstance(trace.y, np.ndarray):
        raise ValueError(f"The 'trace' argument of {owner} has one loss per sequence "
                         f"(pooling='mean'); the explorer draws a loss L(t) at every step. Trace "
                         f"with pooling='last' (a loss at each sequence's last step) or per-step "
                         f"targets.")
    return kind


def _labels(vocab, owner):
    """None, or the display label of each id: from a str of characters in id order, a list of
    strings, or an object with `.chars` (such as bptt.data.Vocab)."""
    if vocab is None:
        return None
    chars = getattr(vocab, "chars", vocab)
    if isinstance(chars, str):
        return list(chars)
    if isinstance(chars, (list, tuple)) and all(isinstance(c, str) for c in chars):
        return list(chars)
    raise TypeError(f"The 'vocab' parameter of {owner} must be None, a str of characters in id "
                    f"order, a list of str, or an object with .chars. Got {type(vocab).__name__}.")


def _count_numbers(trace, kind):
    if kind in designs.DESIGNS:
        return designs.count_numbers(trace, kind)
    T, B, H = trace.forward.h.shape
    O, D = trace.model.output_size, trace.model.input_size
    per_h = KIND_TABLE[kind].per_h              # forward and error arrays (T, B, H) of each kind
    per_sequence = T * (per_h * H + 3 * O + D + 2) + 2 * T * T * H + 6 * H
    per_param = sum(p.size for p in trace.model.params.values()) * (T + 3)
    return B * per_sequence + per_param


# -- the payload ------------------------------------------------------------------------------------
def explorer_payload(trace, *, lr=0.1, title=None, vocab=None) -> dict:
    """The dict that the page embeds as JSON (arrays as nested lists, shapes as in the trace)."""
    owner = "explorer_html"
    kind = _check_trace(trace, owner)
    lr = v.check_float(lr, "lr", owner, low=0)
    if title is not None and not isinstance(title, str):
        raise TypeError(f"The 'title' parameter of {owner} must be a str or None. "
                        f"Got {type(title).__name__} instead.")
    labels = _labels(vocab, owner)
    model, fwd = trace.model, trace.forward
    T, B = trace.x.shape[:2]
    H, O, D = model.hidden_size, model.params["V"].shape[0], model.input_size
    tokens = trace.x.dtype.kind in "iu"
    n = _count_numbers(trace, kind)
    if n > MAX_NUMBERS:
        raise ValueError(f"The trace is too large for the explorer: T={T}, B={B}, H={H} need "
                         f"{n:,} numbers on the page, above its limit of {MAX_NUMBERS:,}. Trace "
                         f"fewer steps or a single sequence (x[:, :1]).")
    if labels is not None:
        need = max(D if tokens else 0, O if model.output == "softmax" else 0)
        if len(labels) < need:
            raise ValueError(f"The 'vocab' parameter of {owner} must label every id: the model "
                             f"has {need} ids, but vocab has {len(labels)} labels.")
    name = type(model).__name__ + (" (bidirectional)" if kind == "bi" else "")
    if title is None:
        title = f"BPTT explorer: {name} (D={D}, H={H}, O={O}), T={T}"
    params = model.params
    design = kind in designs.DESIGNS
    names = designs.param_names(trace) if design else KIND_TABLE[kind].names(model)   # model's order
    loss_terms = per_step_loss(model.output, fwd.o, trace.y) * trace.mask / B   # L(t) of each b
    config = {
        "model": name, "kind": kind, "activation": getattr(model, "activation", "tanh"),
        "output": model.output, "loss": "cross-entropy" if model.output == "softmax" else "squared error",
        "input_size": D, "hidden_size": H, "output_size": O, "T": T, "B": B, "lr": lr,
        "tokens": bool(tokens), "labels": labels, "title": title,
        "dtype": str(np.asarray(fwd.h).dtype),
    }
    config.update(designs.config(trace, kind) if design else KIND_TABLE[kind].config(model))
    parts = designs.parts(trace, kind) if design else KIND_TABLE[kind].parts(trace)
    return {
        "config": config,
        "params": {k: _json_array(params[k]) for k in names},
        "x": _json_array(trace.x), "y": _json_array(trace.y), "h0": parts["h0"],
        "mask": _json_array(trace.mask), "forward": parts["forward"],
        "loss": _json_array(trace.loss), "loss_terms": _json_array(loss_terms),
        "errors": parts["errors"], "errors_by_source": parts["errors_by_source"],
        "dh0": parts["dh0"], **{k: parts[k] for k in ("c0", "dc0") if k in parts},
        "per_step": parts.get("per_step") or {k: _json_array(trace.per_step[k]) for k in names},
        "grads": {k: _json_array(trace.grads[k]) for k in names},
        "updated": {k: _json_array(params[k] - lr * trace.grads[k]) for k in names},
    }


# -- the page -----------------------------------------------------------------------------------------
def _iframe_height(payload) -> int:
    c = payload["config"]
    if c["kind"] in designs.DESIGNS:
        return designs.iframe_height(c)
    if c["kind"] != "rnn":                  # the gates' row holds two cells a unit
        cells = 2 * c["output_size"] + (4 if c["kind"] == "lstm" else 3) * c["hidden_size"] + 1
        return 420 + 24 * min(cells, 60) + 320
    cells = 2 * c["output_size"] + 2 * c["hidden_size"] + (1 if c["tokens"] else c["input_size"])
    return 420 + 24 * min(cells, 60) + 280


def explorer_html(trace, *, inline=False, title=None, lr=0.1, vocab=None) -> str:
    """The explorer of `trace` (a one-layer SimpleRNN's, LSTM's or GRU's, from model.trace(x, y)) as one
    self-contained HTML page (inline JS, CSS and SVG).

    lr is the η of the update shown at the end; vocab (optional) labels token ids: a str of
    characters in id order, a list of str, or an object with `.chars` such as bptt.data.Vocab.
    inline=True returns an <iframe srcdoc="..."> fragment holding the page, for notebooks.
    """
    if not isinstance(inline, bool):
        raise TypeError(f"The 'inline' parameter of explorer_html must be a bool. "
                        f"Got {type(inline).__name__} instead.")
    payload = explorer_payload(trace, lr=lr, title=title, vocab=vocab)
    config = payload["config"]
    page = page_html(config["title"], script_json(payload), config["kind"])
    if not inline:
        return page
    return (f'<iframe class="bptt-explorer" title="{_html.escape(config["title"])}" '
            f'srcdoc="{_html.escape(page, quote=True)}" style="width:100%;'
            f'height:{_iframe_height(payload)}px;border:1px solid #d0d7de;border-radius:6px">'
            f'</iframe>')


def write_explorer(trace, path, **kw) -> Path:
    """Write explorer_html(trace, **kw) as a full page to `path` (atomically); return the Path."""
    if "inline" in kw:
        raise TypeError("write_explorer writes a full page; it takes no 'inline' parameter.")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"The 'path' argument of write_explorer must be a str or os.PathLike. "
                        f"Got {type(path).__name__} instead.")
    return Path(atomic_write_text(path, explorer_html(trace, **kw)))


# -- the built-in example and `bptt explain` ------------------------------------------------------
def _encode_default(text, owner):
    unknown = sorted(set(text) - set(DEFAULT_VOCAB))
    if unknown:
        raise ValueError(f"The 'input_text' argument of {owner} contains character(s) not in the "
                         f"built-in vocabulary {DEFAULT_VOCAB!r}: "
                         f"{', '.join(repr(c) for c in unknown)}. Use only those characters, "
                         f"or pass a model and its vocab.")
    return np.array([DEFAULT_VOCAB.index(c) for c in text], dtype=np.intp)


def _check_text(text, owner):
    if not isinstance(text, str):
        raise TypeError(f"The 'input_text' argument of {owner} must be a str. "
                        f"Got {type(text).__name__} instead.")
    if not 2 <= len(text) <= MAX_TEXT:
        raise ValueError(f"The 'input_text' argument of {owner} must have 2 to {MAX_TEXT} "
                         f"characters (the model reads each one and predicts the next). "
                         f"Got {len(text)}: {text!r}.")
    return text


def default_explorer_trace(seed=0, input_text=None, kind="rnn"):
    """The built-in example, reading "hello" one character at a time (vocabulary DEFAULT_VOCAB =
    "ehlo", token inputs) and predicting each next character: x = "hell", y = "ello", T = 4, B = 1.

    kind="rnn": a SimpleRNN(4, 3, 4) (tanh, softmax); kind="lstm": an LSTM(4, 3, 4) (one layer,
    no peepholes, softmax); kind="gru": a GRU(4, 3, 4) (one layer, reset="after", softmax);
    random weights from `seed`."""
    return _default_trace(seed, input_text, kind, "default_explorer_trace")


def _check_kind(kind, owner, kinds=KINDS):
    if kind not in kinds:
        raise ValueError(f"The 'kind' parameter of {owner} must be one of {', '.join(map(repr, kinds))}. "
                         f"Got {kind!r} instead.")
    return kind


def _default_trace(seed, input_text, kind, owner):
    from ..cells.registry import MODEL_KINDS
    seed = v.check_int(seed, "seed", owner, minimum=0)
    kind = _check_kind(kind, owner)
    text = _check_text(DEFAULT_TEXT if input_text is None else input_text, owner)
    ids = _encode_default(text, owner)
    size = len(DEFAULT_VOCAB)
    model = MODEL_KINDS[kind](size, DEFAULT_HIDDEN, size, seed=seed)
    return model.trace(ids[:-1, None], ids[1:, None])


def _encode_with(vocab, text, owner):
    if not isinstance(vocab, (str, list, tuple)) and hasattr(vocab, "encode"):
        return np.asarray(vocab.encode(text))
    if callable(vocab):
        return np.asarray(vocab(text))
    labels = _labels(vocab, owner)
    unknown = sorted(set(text) - set(labels))
    if unknown:
        raise ValueError(f"The 'input_text' argument of {owner} contains character(s) not in "
                         f"the vocabulary: {', '.join(repr(c) for c in unknown)}.")
    return np.array([labels.index(c) for c in text], dtype=np.intp)


def explain(out, *, model=None, input_text=None, seed=0, vocab=None, lr=0.1, title=None,
            kind=None, lab_open=False, bidirectional=False, mode=None) -> Path:
    """`bptt explain`: write the explorer of one next-character pass to `out`; return its Path.
    The page is the BPTT lab (`bptt.viz.lab_page`): the explorer with controls that recompute
    it in the page, collapsed unless lab_open=True (`bptt lab`).

    Without `model`, the built-in tiny model of `kind` ("rnn", the default, "lstm" or "gru";
    default_explorer_trace(seed, kind=kind)) reads `input_text` (default "hello"; characters
    from "ehlo"). With `model` (a one-layer SimpleRNN, LSTM or GRU with token inputs; `kind`, if
    given, must be the model's), `vocab` is needed to turn the text into ids: a bptt.data.Vocab
    (or any object with `.encode(text)` and optionally `.chars`), a str of characters in id
    order, or a function text -> ids. The model reads text[:-1] and is scored on predicting
    text[1:].

    The other designs get the explorer page alone (the lab's engine runs neither): kind=
    "output_rnn", the built-in OutputRNN, in mode "teacher" (the default: teacher forcing) or
    "free" (also an OutputRNN given as `model`); bidirectional=True, the built-in model of `kind`
    with bidirectional=True, which reads every character of the text and tags it with whether the
    next one is a vowel (`bptt.viz.explorer_designs.builtin_trace`). kind="seq2seq" (or a Seq2Seq
    model, vocab = (src_vocab, tgt_vocab)): `bptt.viz.seq2seq_explorer.explain_kind`.
    """
    owner = "explain"
    seed = v.check_int(seed, "seed", owner, minimum=0)
    if kind is not None:
        _check_kind(kind, owner, EXPLAIN_KINDS)
    if kind == "seq2seq" or getattr(model, "kind", None) == "seq2seq":    # bptt.viz.seq2seq_explorer
        from .seq2seq_explorer import explain_kind
        return explain_kind(out, model=model, vocab=vocab, input_text=input_text, seed=seed, lr=lr,
                            title=title, bidirectional=bidirectional, mode=mode, lab_open=lab_open)
    bidirectional = v.check_bool(bidirectional, "bidirectional", owner)
    design = designs.check_explain(kind, model, bidirectional, mode, lab_open, owner)
    if design is not None and model is None:
        if vocab is not None:
            raise ValueError("The 'vocab' parameter of explain is only used with 'model'; the "
                             f"built-in model has the vocabulary {DEFAULT_VOCAB!r}.")
        text = _check_text(DEFAULT_TEXT if input_text is None else input_text, owner)
        trace = designs.builtin_trace(design, kind or "rnn", _encode_default(text, owner),
                                      DEFAULT_VOCAB, seed, mode or "teacher", DEFAULT_HIDDEN)
        labels = DEFAULT_VOCAB
    elif model is None:
        if vocab is not None:
            raise ValueError("The 'vocab' parameter of explain is only used with 'model'; the "
                             f"built-in model has the vocabulary {DEFAULT_VOCAB!r}.")
        text = DEFAULT_TEXT if input_text is None else input_text
        trace = _default_trace(seed, text, kind or "rnn", owner)
        labels = DEFAULT_VOCAB
    else:
        model_kind = getattr(model, "kind", None)
        if kind is not None and model_kind != kind:
            raise ValueError(f"The 'kind' parameter of explain is {kind!r}, but the model is a "
                             f"{type(model).__name__} (kind {model_kind!r}); leave kind out "
                             f"with a model.")
        if vocab is None:
            raise ValueError("The 'vocab' parameter of explain is needed with 'model': an object "
                             "with .encode(text) (such as bptt.data.Vocab), a str of characters "
                             "in id order, or a function text -> ids.")
        if input_text is None:
            raise ValueError("The 'input_text' argument of explain is needed with 'model'.")
        text = _check_text(input_text, owner)
        ids = _encode_with(vocab, text, owner)
        trace = model.trace(ids[:-1, None], ids[1:, None],
                            **({"mode": mode or "teacher"} if design == "output_rnn" else {}))
        labels = vocab if isinstance(vocab, (str, list, tuple)) or hasattr(vocab, "chars") else None
    if title is None:
        title = (designs.builtin_title(trace, visible_text(text)) if design and model is None else
                 f"BPTT explorer: {type(trace.model).__name__} reading {visible_text(text)!r}")
    if not isinstance(lab_open, bool):
        raise TypeError(f"The 'lab_open' parameter of {owner} must be a bool. Got {type(lab_open).__name__}.")
    payload = explorer_payload(trace, lr=lr, title=title, vocab=labels)
    if design is None:
        return Path(atomic_write_text(out, lab_page_html(payload, open=lab_open, text=text)))
    if design == "bi" and model is None:
        payload["config"]["output_labels"] = designs.VOWEL_LABELS
    page = page_html(payload["config"]["title"], script_json(payload), payload["config"]["kind"])
    return Path(atomic_write_text(out, page))
