"""The explorer page: its HTML skeleton, stylesheet and script, kept as package files in
`bptt/viz/assets/`: explorer_page.html, explorer_body.html, explorer.css, and the script in two
parts, explorer.js (shared: data, steps, panels, events) and one model part, explorer_rnn.js,
explorer_lstm.js or explorer_gru.js (the unfolded network, equations and captions of that model),
or a design's part: explorer_bi.js (a bidirectional layer of any cell) or explorer_output_rnn.js.

`page_html(title, trace_json, kind)` assembles one self-contained page. The script reads the trace
from <script type="application/json" id="bptt-trace"> and draws everything else (the unfolded
network as SVG, the equation panel and the gradient panel) from it; it loads nothing. The
explorer's Python side, and the meaning of every data attribute, is in `bptt.viz.explorer`.
"""
from __future__ import annotations

import html
import json
from functools import lru_cache
from importlib import resources

import numpy as np

KINDS = ("rnn", "lstm", "gru")
DESIGNS = ("bi", "output_rnn")     # explorer_bi.js (bidirectional, any cell), explorer_output_rnn.js


# -- the embedded JSON -----------------------------------------------------------------------------------------
def json_array(a):
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


def script_json(payload) -> str:
    """JSON that is safe inside a <script> element: no '<' (so no '</script' or '<!--'),
    no '>' or '&', and no U+2028/U+2029, each written as its \\u escape."""
    text = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for ch in ("&", "<", ">", "\u2028", "\u2029"):
        text = text.replace(ch, f"\\u{ord(ch):04x}")
    return text


@lru_cache(maxsize=None)
def asset(name: str) -> str:
    return resources.files("bptt.viz").joinpath("assets", name).read_text(encoding="utf-8")


def script(kind: str) -> str:
    """The page's script: the shared part and the model part in one function scope, then start()."""
    if kind not in KINDS + DESIGNS:
        raise ValueError(f"kind must be one of {KINDS + DESIGNS}. Got {kind!r}.")
    return ('(function () {\n"use strict";\n' + asset("visible_text.js") + asset("explorer.js")
            + asset(f"explorer_{kind}.js")
            + "start();\n})();")


def page_html(title: str, trace_json: str, kind: str = "rnn") -> str:
    """The full page; `trace_json` must already be safe inside <script> (no '<')."""
    if "<" in trace_json:
        raise ValueError("trace_json must have every '<' escaped as \\u003c")
    t = html.escape(title)
    body = asset("explorer_body.html").rstrip("\n").format(title=t)
    return asset("explorer_page.html").format(title=t, css=asset("explorer.css"), body=body,
                                              data=trace_json, js=script(kind))
