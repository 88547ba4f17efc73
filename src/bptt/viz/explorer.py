"""The interactive BPTT explorer: one self-contained HTML page of one traced forward + BPTT pass.

    tr = model.trace(x, y, h0, mask)
    html = explorer_html(tr, lr=0.1)               # a full page (str), no external URLs at all
    write_explorer(tr, "bptt.html")                # the same page, written atomically
    explain("bptt.html", input_text="hello")       # `bptt explain`: the built-in tiny model

The page shows the network unfolded in time (x(t) at the bottom, a(t) and h(t) in the middle,
o(t), ŷ(t) and L(t) on top, h(−1) = h0 on the left) and steps through it with Back / Next /
Reset or the ←/→ keys: forward propagation t = 0 .. T−1, the loss J, the errors ∂J/∂o(t),
∂J/∂h(t), ∂J/∂a(t) from t = T−1 down to 0 (each with a bar that splits it by the loss term L(s)
it comes from, in L(s)'s colour), the per-step contributions (∂J/∂θ)^(t) of a chosen
parameter, their sum ∂J/∂θ, and the one update θ ← θ − η ∂J/∂θ. Hovering over or clicking a
node shows the equation that produced it, with its numbers.

Every number on the page comes from the JSON embedded in ``<script type="application/json"
id="bptt-trace">`` (keys: config, params, x, y, h0, mask, forward, loss, loss_terms, errors,
errors_by_source, dh0, per_step, grads, updated; arrays as nested lists shaped as in the Python
API, token ids as ints; NaN and ±inf as the strings "NaN", "Infinity", "-Infinity"). Every
displayed number is an element with ``data-key`` (a path into that JSON, e.g. "forward.h") and
``data-s``/``data-t``/``data-b``/``data-i``/``data-j`` indices in the order of the array's axes,
shown to 4 significant digits (JavaScript ``toPrecision(4)`` for 1e-3 <= |v| < 1e4, else
``toExponential(3)``; 0 as "0", NaN as "NaN", ±inf as "inf"/"-inf"). Keys that are not JSON paths:
``norm.errors_by_source.a`` (the norm over the last axis), ``onehot.y``, and ``derived.*`` (the
terms of an equation, such as W h(t−1)).

`inline=True` (used by ``Trace._repr_html_`` in Jupyter) returns an ``<iframe srcdoc=...>``
holding the same full page: its ids, styles and keys cannot clash with the notebook's or with
other explorers on the page, and it resizes itself to its content.

The explorer is for small models: the embedded trace holds O(T²·B·H) numbers (the errors by
source step); beyond MAX_NUMBERS it is refused (trace fewer steps or one sequence, x[:, :1]).
It reads ``trace.model.params`` when called, so show a trace before updating its model.
"""
from __future__ import annotations

import html as _html
import json
import os
from pathlib import Path

import numpy as np

from .. import _validate as v
from ..atomic import atomic_write_text
from ..losses import per_step_loss
from .explorer_page import page_html

__all__ = ["explorer_html", "explorer_payload", "write_explorer", "default_explorer_trace",
           "explain", "DEFAULT_VOCAB", "DEFAULT_TEXT", "MAX_NUMBERS"]

PARAM_NAMES = ("U", "W", "b", "V", "c")
MAX_NUMBERS = 500_000          # numbers in the embedded JSON (about 10 MB of HTML)
DEFAULT_VOCAB = "ehlo"         # the built-in model's characters, in id order
DEFAULT_TEXT = "hello"         # its input: predict each next character (T = 4)
DEFAULT_HIDDEN = 3
MAX_TEXT = 26                  # characters of input text for `explain` (T <= 25)


# -- JSON -----------------------------------------------------------------------------------------
def _json_array(a):
    """A nested list of an array; ints stay ints, NaN/±inf become "NaN"/"Infinity"/"-Infinity"."""
    a = np.asarray(a)
    if a.dtype.kind in "iub":
        return a.astype(np.int64).tolist()
    a = a.astype(np.float64)
    finite = np.isfinite(a)
    if finite.all():
        return a.tolist()
    out = a.astype(object)
    bad = a[~finite]
    out[~finite] = np.where(np.isnan(bad), "NaN", np.where(bad > 0, "Infinity", "-Infinity"))
    return out.tolist()


def _script_json(payload) -> str:
    """JSON that is safe inside a <script> element: no '<' (so no '</script' or '<!--'),
    no '>' or '&', and no U+2028/U+2029, each written as its \\u escape."""
    text = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for ch in ("&", "<", ">", "\u2028", "\u2029"):
        text = text.replace(ch, f"\\u{ord(ch):04x}")
    return text


# -- validation -------------------------------------------------------------------------------------
def _check_trace(trace, owner):
    model = getattr(trace, "model", None)
    params = getattr(model, "params", None)
    layers = getattr(model, "num_layers", 1)
    if layers != 1 and hasattr(trace, "forward"):
        raise ValueError(f"The 'trace' argument of {owner} must come from a one-layer SimpleRNN; "
                         f"the explorer draws one hidden layer. Got num_layers={layers}.")
    if not (isinstance(params, dict) and set(params) == set(PARAM_NAMES)
            and all(hasattr(trace, k) for k in ("forward", "errors", "per_step", "grads", "dh0"))):
        raise TypeError(f"The 'trace' argument of {owner} must be the Trace of a SimpleRNN, as "
                        f"returned by model.trace(x, y). Got {type(trace).__name__} instead.")


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


def _count_numbers(trace):
    T, B, H = trace.forward.h.shape
    O, D = trace.model.params["V"].shape[0], trace.model.params["U"].shape[1]
    per_sequence = T * (3 * H + 3 * O + D + 2) + 2 * T * T * H + 2 * H
    per_param = sum(p.size for p in trace.model.params.values()) * (T + 3)
    return B * per_sequence + per_param


# -- the payload ------------------------------------------------------------------------------------
def explorer_payload(trace, *, lr=0.1, title=None, vocab=None) -> dict:
    """The dict that the page embeds as JSON (arrays as nested lists, shapes as in the trace)."""
    owner = "explorer_html"
    _check_trace(trace, owner)
    lr = v.check_float(lr, "lr", owner, low=0)
    if title is not None and not isinstance(title, str):
        raise TypeError(f"The 'title' parameter of {owner} must be a str or None. "
                        f"Got {type(title).__name__} instead.")
    labels = _labels(vocab, owner)
    model, fwd = trace.model, trace.forward
    T, B, H = fwd.h.shape
    O, D = model.params["V"].shape[0], model.params["U"].shape[1]
    tokens = trace.x.dtype.kind in "iu"
    n = _count_numbers(trace)
    if n > MAX_NUMBERS:
        raise ValueError(f"The trace is too large for the explorer: T={T}, B={B}, H={H} need "
                         f"{n:,} numbers on the page, above its limit of {MAX_NUMBERS:,}. Trace "
                         f"fewer steps or a single sequence (x[:, :1]).")
    if labels is not None:
        need = max(D if tokens else 0, O if model.output == "softmax" else 0)
        if len(labels) < need:
            raise ValueError(f"The 'vocab' parameter of {owner} must label every id: the model "
                             f"has {need} ids, but vocab has {len(labels)} labels.")
    if title is None:
        title = f"BPTT explorer: SimpleRNN (D={D}, H={H}, O={O}), T={T}"
    params = model.params
    by_source = trace.errors_by_source
    loss_terms = per_step_loss(model.output, fwd.o, trace.y) * trace.mask / B   # L(t) of each b
    config = {
        "model": type(model).__name__, "activation": model.activation, "output": model.output,
        "loss": "cross-entropy" if model.output == "softmax" else "squared error",
        "input_size": D, "hidden_size": H, "output_size": O, "T": T, "B": B, "lr": lr,
        "tokens": bool(tokens), "labels": labels, "title": title,
        "dtype": str(np.asarray(fwd.h).dtype),
    }
    return {
        "config": config,
        "params": {k: _json_array(params[k]) for k in PARAM_NAMES},
        "x": _json_array(trace.x), "y": _json_array(trace.y), "h0": _json_array(trace.h0),
        "mask": _json_array(trace.mask),
        "forward": {k: _json_array(getattr(fwd, k)) for k in ("a", "h", "o", "y_hat", "h_last")},
        "loss": _json_array(trace.loss), "loss_terms": _json_array(loss_terms),
        "errors": {k: _json_array(trace.errors[k]) for k in ("o", "h", "a")},
        "errors_by_source": {k: _json_array(by_source[k]) for k in ("a", "h")},
        "dh0": _json_array(trace.dh0),
        "per_step": {k: _json_array(trace.per_step[k]) for k in PARAM_NAMES},
        "grads": {k: _json_array(trace.grads[k]) for k in PARAM_NAMES},
        "updated": {k: _json_array(params[k] - lr * trace.grads[k]) for k in PARAM_NAMES},
    }


# -- the page -----------------------------------------------------------------------------------------
def _iframe_height(payload) -> int:
    c = payload["config"]
    cells = 2 * c["output_size"] + 2 * c["hidden_size"] + (1 if c["tokens"] else c["input_size"])
    return 420 + 24 * min(cells, 60) + 280


def explorer_html(trace, *, inline=False, title=None, lr=0.1, vocab=None) -> str:
    """The explorer of `trace` as one self-contained HTML page (inline JS, CSS and SVG).

    lr is the η of the update shown at the end; vocab (optional) labels token ids: a str of
    characters in id order, a list of str, or an object with `.chars` such as bptt.data.Vocab.
    inline=True returns an <iframe srcdoc="..."> fragment holding the page, for notebooks.
    """
    if not isinstance(inline, bool):
        raise TypeError(f"The 'inline' parameter of explorer_html must be a bool. "
                        f"Got {type(inline).__name__} instead.")
    payload = explorer_payload(trace, lr=lr, title=title, vocab=vocab)
    page = page_html(payload["config"]["title"], _script_json(payload))
    if not inline:
        return page
    return (f'<iframe class="bptt-explorer" title="{_html.escape(payload["config"]["title"])}" '
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


def default_explorer_trace(seed=0, input_text=None):
    """The built-in example: a SimpleRNN(4, 3, 4) (tanh, softmax) with random weights from `seed`,
    reading "hello" one character at a time (vocabulary DEFAULT_VOCAB = "ehlo", token inputs)
    and predicting each next character: x = "hell", y = "ello", T = 4, B = 1."""
    return _default_trace(seed, input_text, "default_explorer_trace")


def _default_trace(seed, input_text, owner):
    from ..rnn import SimpleRNN
    seed = v.check_int(seed, "seed", owner, minimum=0)
    text = _check_text(DEFAULT_TEXT if input_text is None else input_text, owner)
    ids = _encode_default(text, owner)
    size = len(DEFAULT_VOCAB)
    model = SimpleRNN(size, DEFAULT_HIDDEN, size, seed=seed)
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


def explain(out, *, model=None, input_text=None, seed=0, vocab=None, lr=0.1, title=None) -> Path:
    """`bptt explain`: write the explorer of one next-character pass to `out`; return its Path.

    Without `model`, the built-in tiny model (default_explorer_trace(seed)) reads `input_text`
    (default "hello"; characters from "ehlo"). With `model` (a SimpleRNN with token inputs),
    `vocab` is needed to turn the text into ids: a bptt.data.Vocab (or any object with
    `.encode(text)` and optionally `.chars`), a str of characters in id order, or a function
    text -> ids. The model reads text[:-1] and is scored on predicting text[1:].
    """
    owner = "explain"
    seed = v.check_int(seed, "seed", owner, minimum=0)
    if model is None:
        if vocab is not None:
            raise ValueError("The 'vocab' parameter of explain is only used with 'model'; the "
                             f"built-in model has the vocabulary {DEFAULT_VOCAB!r}.")
        text = DEFAULT_TEXT if input_text is None else input_text
        trace = _default_trace(seed, text, owner)
        labels = DEFAULT_VOCAB
    else:
        if vocab is None:
            raise ValueError("The 'vocab' parameter of explain is needed with 'model': an object "
                             "with .encode(text) (such as bptt.data.Vocab), a str of characters "
                             "in id order, or a function text -> ids.")
        if input_text is None:
            raise ValueError("The 'input_text' argument of explain is needed with 'model'.")
        text = _check_text(input_text, owner)
        ids = _encode_with(vocab, text, owner)
        trace = model.trace(ids[:-1, None], ids[1:, None])
        labels = vocab if isinstance(vocab, (str, list, tuple)) or hasattr(vocab, "chars") else None
    if title is None:
        title = f"BPTT explorer: {type(trace.model).__name__} reading {text!r}"
    return write_explorer(trace, out, lr=lr, title=title, vocab=labels)
