"""The explorer in headless Chromium through Playwright (never downloaded): the browser and page
fixtures, and the checks that every displayed number equals the embedded JSON and the Python
trace (the helpers of tests/viz/test_explorer*_browser.py).

Without Chromium the tests are skipped, except under CI (the CI environment variable), where a
missing browser is a failure.
"""
import os
import shutil

import numpy as np
import pytest

from explorer_reference import expected_values, is_lstm, json_values, param_names, shown_equals

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LR = 0.1
READ = """() => Array.from(document.querySelectorAll('[data-key]')).map(e => ({
    key: e.dataset.key, s: e.dataset.s, t: e.dataset.t, b: e.dataset.b, i: e.dataset.i,
    j: e.dataset.j, text: e.textContent}))"""


def _unavailable(reason):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; the browser tests must run in CI.")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    path = "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else shutil.which("chromium")
    if path is None:
        _unavailable("Chromium not found at /usr/bin/chromium or on PATH (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Session:
    """A page with its console messages, page errors and requests recorded."""

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.console, self.errors, self.requests = [], [], []
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def check_clean(self, loaded_from_file=True):
        assert self.errors == []
        assert [m for m in self.console if m[0] == "error"] == []
        if loaded_from_file:
            assert self.requests, "the page itself should have been requested"
        assert all(u.startswith(("file://", "data:", "about:", "blob:")) for u in self.requests), self.requests


@pytest.fixture
def session(browser):
    s = Session(browser)
    yield s
    s.context.close()


def open_page(session, path):
    session.page.goto(path.as_uri())
    session.page.wait_for_selector("#bptt-svg")
    return session.page


def check_numbers(page, py, js, b):
    """Every displayed number equals the Python trace and the embedded JSON to 4 digits."""
    shown = page.evaluate(READ)
    bad, checked = [], 0
    for e in shown:
        if e["key"].startswith("derived."):
            continue
        idx = tuple(int(e[n]) for n in "stbij" if e[n] is not None)
        if e["b"] is not None:
            assert int(e["b"]) == b
        for source in (py, js):
            want = source[e["key"]][idx]
            want = want.item() if isinstance(want, np.generic) or getattr(want, "ndim", 1) == 0 else want
            if not shown_equals(e["text"], want):
                bad.append((e, want))
        checked += 1
    assert bad == [], bad[:5]
    return shown, checked


def keys_at(shown, key):
    return {int(e["t"]) for e in shown if e["key"] == key}


def state(page):
    return page.evaluate("""() => { const r = document.getElementById('bptt-root');
        return [Number(r.dataset.step), r.dataset.phase]; }""")


def expected_phase(k, T):
    if k <= T:
        return "forward"
    if k == T + 1:
        return "loss"
    if k <= 2 * T + 1:
        return "backward"
    return ["contrib", "sum", "update"][k - 2 * T - 2]


def walk(page, tr, data, advance, b=0):
    """Step from 0 to the end with `advance`, checking what is shown at every step."""
    T = tr.forward.h.shape[0]
    N = 2 * T + 5
    py, js = expected_values(tr, LR), json_values(data)
    lstm = is_lstm(tr)
    computed = ["forward.h", "forward.o"] + (["forward.c"] + [f"forward.gates.{g}" for g in "zifo"]
                                             if lstm else ["forward.a"])
    initial = ["dh0.0", "dh0.1"] if lstm else ["dh0"]
    for k in range(N):
        assert state(page) == [k, expected_phase(k, T)]
        shown, checked = check_numbers(page, py, js, b)
        assert checked > 0
        for key in computed:
            assert keys_at(shown, key) == set(range(min(k, T))), key           # t < k computed
        first_back = 2 * T + 1 - k                                           # errors for t >= this
        errs = set(range(max(first_back, 0), T)) if k >= T + 2 else set()
        for key in tr.errors:                                                # o, h, a / o, h, c, *_hat
            assert keys_at(shown, "errors." + key) == errs, key
        for key in initial:                                                  # ∂J/∂(initial state)
            assert any(e["key"] == key for e in shown) == (k >= 2 * T + 1), key
        assert any(e["key"] == "loss" for e in shown) == (k >= T + 1)
        for kind in tr.errors_by_source:                                     # a, h / c, h
            bars = page.evaluate(f"""() => Array.from(document.querySelectorAll('[data-bar="{kind}"]')).map(
                e => [Number(e.dataset.s), Number(e.dataset.t), Number(e.getAttribute('width'))])""")
            norms = np.linalg.norm(tr.errors_by_source[kind][:, :, b], axis=-1)   # (s, t)
            want = {(s, t) for t in errs for s in range(t, T) if norms[s, t] > 0}
            assert {(s, t) for s, t, _ in bars} == want, kind                # one segment per L(s)
            if bars:                                                         # lengths ∝ ‖∂L(s)/∂a(t)‖
                s0, t0, w0 = max(bars, key=lambda bar: bar[2])
                for s, t, w in bars:
                    assert abs(w - norms[s, t] * w0 / norms[s0, t0]) < 0.01
        per_step = {int(e["t"]) for e in shown if e["key"].startswith("per_step.")}
        assert per_step == (set(range(T)) if k >= 2 * T + 2 else set())
        assert any(e["key"].startswith("grads.") for e in shown) == (k >= 2 * T + 3)
        assert any(e["key"].startswith("updated.") for e in shown) == (k == 2 * T + 4)
        if k < N - 1:
            advance()
    return py


def check_update(page, tr, py):
    """At the update step: θ before, ∂J/∂θ and θ after = θ − lr·∂J/∂θ, for every parameter."""
    for name in param_names(tr):
        page.click(f'#bptt-grads [data-param="{name}"]')
        cells = page.evaluate(READ)
        after = [e for e in cells if e["key"] == f"updated.{name}"]
        assert len(after) == tr.model.params[name].size
        want = tr.model.params[name] - LR * tr.grads[name]
        for e in after:
            idx = tuple(int(e[n]) for n in "ij" if e[n] is not None)
            assert shown_equals(e["text"], want[idx])
        assert len([e for e in cells if e["key"] == f"per_step.{name}"]) == tr.per_step[name].size
        assert "η = 0.1" in page.inner_text("#bptt-grads")
