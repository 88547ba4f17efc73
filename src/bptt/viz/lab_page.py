"""The BPTT lab page: the explorer (`bptt.viz.explorer`) with a forward + BPTT engine of its own, so
that every control recomputes the trace in the page. One self-contained HTML file (file://, no
network, no server), written by `bptt explain` (controls collapsed) and `bptt lab` (controls open).

    html = lab_page_html(explorer_payload(trace, vocab=...), open=True, text="hello")

The page holds, besides the explorer's skeleton, stylesheet and embedded trace JSON
(<script id="bptt-trace">, the initial state drawn before any change):

    <script id="bptt-lab">       what the lab starts from: {open, text, embedded, reason}
                                 (embedded: the trace's model is the lab's initial model)
    <script id="bptt-src-*">     the explorer's script parts as text (type text/plain): the lab
                                 builds the explorer from them anew for every change
                                 (lab_adapter.js turns the engine's trace into the explorer's JSON)
    the engine                   lab_cells.js, lab_engine.js, lab_train.js (globalThis.bpttEngine)
    the lab                      lab_adapter.js, lab_state.js, lab_views.js, lab_ui.js in one
                                 function scope: the controls, the views and window.bpttLab

The trace's model is the lab's initial model ("embedded") when the lab's engine can run it: one
layer, B = 1, token inputs with labels, softmax outputs, H <= 32, at most 256 ids and 100 steps.
Otherwise the lab starts from a fresh model of its own on the same text (reason says why).
"""
from __future__ import annotations

import html

from .explorer_page import KINDS, asset, script_json

__all__ = ["lab_page_html", "lab_settings", "visible_text", "ENGINE", "UI", "MAX_TEXT"]

ENGINE = ("lab_cells.js", "lab_engine.js", "lab_train.js")
UI = ("lab_adapter.js", "lab_state.js", "lab_views.js", "lab_ui.js")
MAX_TEXT = 33                                   # characters of the lab's own sequence (T <= 32)
LIMITS = {"hidden_size": 32, "input_size": 256, "output_size": 256, "T": 100}   # lab_engine.js's


_NAMES = {"\u061c": "ALM", "\u200e": "LRM", "\u200f": "RLM", "\u202a": "LRE", "\u202b": "RLE",
          "\u202c": "PDF", "\u202d": "LRO", "\u202e": "RLO", "\u2066": "LRI", "\u2067": "RLI",
          "\u2068": "FSI", "\u2069": "PDI", "\u200b": "ZWSP", "\u200c": "ZWNJ", "\u200d": "ZWJ",
          "\u2060": "WJ", "\ufeff": "ZWNBSP", "\u00ad": "SHY", "\u180e": "MVS", "\u034f": "CGJ",
          "\u2028": "LSEP", "\u2029": "PSEP", "\u00a0": "NBSP", "\u3164": "HF", "\u115f": "HCF"}


def visible_char(c: str) -> str:
    """A character as the page shows it (as visibleChar in assets/visible_text.js): invisible and
    direction-changing characters by name, ⟨RLO⟩, ⟨ZWSP⟩, ⟨U+0007⟩."""
    if c in _NAMES:
        return f"⟨{_NAMES[c]}⟩"
    cp = ord(c)
    if (cp < 0x20 or 0x7F <= cp <= 0x9F or 0x2061 <= cp <= 0x206F or 0xFFF9 <= cp <= 0xFFFB
            or 0xE0000 <= cp <= 0xE007F or 0xFE00 <= cp <= 0xFE0F):
        return f"⟨U+{cp:04X}⟩"
    return c


def visible_text(text: str) -> str:
    """A text as the page shows it: visible_char of every character."""
    return "".join(visible_char(c) for c in text)


def lab_settings(payload: dict, *, open: bool = False, text=None) -> dict:
    """What the lab starts from: {open, text, embedded, reason}."""
    if not isinstance(open, bool):
        raise TypeError(f"The 'open' parameter of lab_page_html must be a bool. Got {type(open).__name__}.")
    if text is not None and not isinstance(text, str):
        raise TypeError(f"The 'text' parameter of lab_page_html must be a str or None. "
                        f"Got {type(text).__name__}.")
    c = payload["config"]
    reason = None
    if c["B"] != 1:
        reason = f"the trace has B = {c['B']} sequences; the lab reads one"
    elif not (c["tokens"] and c["output"] == "softmax" and c["labels"]):
        reason = "the lab's embedded model must read and predict labelled characters"
    elif any(c[k] > LIMITS[k] for k in ("hidden_size", "input_size", "output_size")) or c["T"] > LIMITS["T"]:
        reason = (f"the model (H = {c['hidden_size']}, D = {c['input_size']}) is larger than the "
                  f"lab's engine takes (H <= 32, D <= 256)")
    elif text is None or len(text) != c["T"] + 1:
        reason = "the text the model reads is not known"
    return {"open": open, "text": text, "embedded": reason is None, "reason": reason}


def _script_text(js: str) -> str:
    if "</script" in js.lower() or "<!--" in js:
        raise ValueError("an explorer script part holds '</script' or '<!--'")
    return js


def lab_page_html(payload: dict, *, open: bool = False, text=None) -> str:
    """The lab page of an explorer payload (`bptt.viz.explorer.explorer_payload`)."""
    settings = lab_settings(payload, open=open, text=text)
    title = html.escape(payload["config"]["title"])
    body = asset("explorer_body.html").rstrip("\n").format(title=title)
    sources = "\n".join(
        f'<script type="text/plain" id="bptt-src-{name}">{_script_text(asset(f"explorer_{name}.js" if name in KINDS else "explorer.js"))}</script>'
        for name in ("explorer", *KINDS))
    engine = "\n".join(f"<script>{asset(name)}</script>" for name in ("visible_text.js", *ENGINE))
    ui = '(function () {\n"use strict";\n' + "".join(asset(name) for name in UI) + "\n})();"
    return asset("lab_page.html").format(
        title=title, css=asset("explorer.css") + asset("lab.css"),
        controls=asset("lab_controls.html").format(open=" open" if open else ""),
        body=body, views=asset("lab_views.html"), data=script_json(payload),
        lab=script_json(settings), sources=sources, engine=engine, ui=ui)
