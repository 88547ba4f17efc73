"""The explorer page: its HTML skeleton, stylesheet and script, kept as package files in
`bptt/viz/assets/` (explorer_page.html, explorer_body.html, explorer.css, explorer.js).

`page_html(title, trace_json)` assembles one self-contained page. The script reads the trace
from <script type="application/json" id="bptt-trace"> and draws everything else (the unfolded
network as SVG, the equation panel and the gradient panel) from it; it loads nothing. The
explorer's Python side, and the meaning of every data attribute, is in `bptt.viz.explorer`.
"""
from __future__ import annotations

import html
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=None)
def asset(name: str) -> str:
    return resources.files("bptt.viz").joinpath("assets", name).read_text(encoding="utf-8")


def page_html(title: str, trace_json: str) -> str:
    """The full page; `trace_json` must already be safe inside <script> (no '<')."""
    if "<" in trace_json:
        raise ValueError("trace_json must have every '<' escaped as \\u003c")
    t = html.escape(title)
    body = asset("explorer_body.html").rstrip("\n").format(title=t)
    return asset("explorer_page.html").format(title=t, css=asset("explorer.css"), body=body,
                                              data=trace_json, js=asset("explorer.js"))
