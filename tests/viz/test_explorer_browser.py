"""The explorer in a real browser (headless Chromium through Playwright, never downloaded): the
page opens from file:// with no errors and no network requests; stepping with the Next button
and with the → key shows, at every step, numbers equal to the embedded JSON and to the Python
trace to the displayed precision; hovering and clicking a node shows its equation; the update
equals params − lr·grads; notebook fragments do not clash; a screenshot is taken.

Without Chromium the tests are skipped, except under CI (the CI environment variable), where a
missing browser is a failure.
"""
import os
import shutil

import numpy as np
import pytest

from bptt.viz.explorer import DEFAULT_VOCAB, default_explorer_trace, explorer_html, write_explorer
from test_explorer import (dense_trace, embedded_json, expected_values, is_lstm, json_values,
                           param_names, shown_equals)

pytestmark = pytest.mark.browser

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
        assert all(u.startswith(("file://", "data:", "about:")) for u in self.requests), self.requests


@pytest.fixture
def session(browser):
    s = Session(browser)
    yield s
    s.context.close()


@pytest.fixture(scope="module")
def tok():
    return default_explorer_trace()


@pytest.fixture(scope="module")
def dense():
    return dense_trace()


@pytest.fixture(scope="module")
def tok_file(tmp_path_factory, tok):
    return write_explorer(tok, tmp_path_factory.mktemp("explorer") / "tok.html", lr=LR, vocab=DEFAULT_VOCAB)


@pytest.fixture(scope="module")
def dense_file(tmp_path_factory, dense):
    return write_explorer(dense, tmp_path_factory.mktemp("explorer") / "dense.html", lr=LR)


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


def test_next_button_steps_through_everything(session, tok_file, tok):
    page = open_page(session, tok_file)
    data = embedded_json(tok_file.read_text(encoding="utf-8"))
    assert page.is_disabled("#bptt-back")
    py = walk(page, tok, data, lambda: page.click("#bptt-next"))
    assert page.is_disabled("#bptt-next")
    check_update(page, tok, py)
    page.click("#bptt-back")
    assert state(page) == [2 * 4 + 3, "sum"]
    page.click("#bptt-reset")
    assert state(page) == [0, "forward"]
    session.check_clean()


def test_arrow_keys_step_through_a_batch_with_a_mask(session, dense_file, dense):
    page = open_page(session, dense_file)
    data = embedded_json(dense_file.read_text(encoding="utf-8"))
    page.select_option("#bptt-batch", "1")                       # show sequence b = 1
    page.click("h1")                                             # focus the page, not the select
    py = walk(page, dense, data, lambda: page.keyboard.press("ArrowRight"), b=1)
    T = dense.forward.h.shape[0]
    page.keyboard.press("ArrowRight")                            # stays at the last step
    assert state(page) == [2 * T + 4, "update"]
    check_update(page, dense, py)
    page.keyboard.press("ArrowLeft")
    assert state(page) == [2 * T + 3, "sum"]
    page.keyboard.press("Home")
    assert state(page) == [0, "forward"]
    session.check_clean()


def _numbers(page, selector, key):
    return [float(t) for t in page.eval_on_selector_all(
        f'{selector} [data-key="{key}"]', "els => els.map(e => e.textContent)")]


def test_hover_and_click_show_the_equation(session, tok_file, tok):
    page = open_page(session, tok_file)
    page.hover('[data-node="a"][data-t="2"]')
    text = page.inner_text("#bptt-detail")
    assert "a(2) = b + W h(1) + U x(2)" in text and "appear when the forward pass reaches t = 2" in text
    for _ in range(3):
        page.click("#bptt-next")
    page.hover('[data-node="a"][data-t="2"]')
    text = page.inner_text("#bptt-detail")
    assert "a(2) = b + W h(1) + U x(2)" in text and "column 2 of U" in text
    a = _numbers(page, "#bptt-detail", "forward.a")
    terms = [_numbers(page, "#bptt-detail", k) for k in ("params.b", "derived.Wh", "derived.Ux")]
    np.testing.assert_allclose(a, tok.forward.a[2, 0], rtol=1e-3)
    np.testing.assert_allclose(np.sum(terms, axis=0), a, atol=2e-3)     # the numbers add up
    np.testing.assert_allclose(terms[1], tok.model.params["W"] @ tok.forward.h[1, 0], rtol=1e-3)
    page.click('[data-node="h"][data-t="1"]')                           # click pins a node
    page.hover("#bptt-caption")
    assert "h(1) = tanh(a(1))" in page.inner_text("#bptt-detail")
    page.click('[data-node="L"][data-t="0"]')
    text = page.inner_text("#bptt-detail")
    assert "L(0) = −log ŷ(0)[y(0)]" in text and "'e'" in text
    for _ in range(7):                                                  # backward down to t = 1
        page.click("#bptt-next")
    page.click('[data-node="a"][data-t="1"]')
    text = page.inner_text("#bptt-detail")
    assert "∂J/∂a(1) = g′(a(1)) ⊙ ∂J/∂h(1)" in text and "L(3)" in text
    norms = page.eval_on_selector_all('#bptt-detail [data-key="norm.errors_by_source.a"]',
                                      "els => els.map(e => [Number(e.dataset.s), Number(e.textContent)])")
    assert [s for s, _ in norms] == [1, 2, 3]
    want = np.linalg.norm(tok.errors_by_source["a"][:, 1, 0], axis=-1)
    np.testing.assert_allclose([n for _, n in norms], want[1:], rtol=1e-3)
    page.click('[data-node="h"][data-t="2"]')
    assert "∂J/∂h(2) = Vᵀ ∂J/∂o(2) + Wᵀ ∂J/∂a(3)" in page.inner_text("#bptt-detail")
    session.check_clean()


def test_notebook_fragments_do_not_clash(session, tok, dense):
    page = session.page
    body = explorer_html(tok, inline=True) + explorer_html(dense, inline=True)
    page.set_content(f"<!DOCTYPE html><html><body>{body}</body></html>")
    page.wait_for_function("document.querySelectorAll('iframe').length === 2")
    frames = [f for f in page.frames if f != page.main_frame]
    assert len(frames) == 2
    for f in frames:
        f.wait_for_selector("#bptt-svg")
    frames[0].click("#bptt-next")
    frames[0].click("#bptt-next")
    steps = [f.evaluate("document.getElementById('bptt-root').dataset.step") for f in frames]
    assert steps == ["2", "0"]
    Ts = sorted(f.evaluate("JSON.parse(document.getElementById('bptt-trace').textContent).config.T")
                for f in frames)
    assert Ts == [4, 9]
    heights = page.eval_on_selector_all("iframe", "els => els.map(e => e.getBoundingClientRect().height)")
    assert all(h > 500 for h in heights)                                   # fitted to the page
    session.check_clean(loaded_from_file=False)


def test_nonfinite_values_render(session, tmp_path, tok):
    import copy
    tr = copy.deepcopy(tok)
    tr.forward.a[0, 0, 1] = np.nan
    page = open_page(session, write_explorer(tr, tmp_path / "nan.html"))
    page.click("#bptt-next")
    shown = page.eval_on_selector('[data-key="forward.a"][data-t="0"][data-i="1"]', "e => e.textContent")
    assert shown == "NaN"
    session.check_clean()


def test_screenshot(session, tok_file, tmp_path):
    page = open_page(session, tok_file)
    for _ in range(2 * 4 + 4):
        page.keyboard.press("ArrowRight")
    page.hover('[data-node="a"][data-t="1"]')
    shot = tmp_path / "explorer.png"
    page.screenshot(path=str(shot), full_page=True)
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width >= 1000 and height >= 800
    session.check_clean()


@pytest.mark.parametrize("shape", [(1, 2, 3, 2), (3, 16, 20, 6)], ids=["T=1", "H=20"])
def test_every_step_renders_for_other_shapes(session, tmp_path, shape):
    """One step and a hidden size too large for numbers in the cells (they stay in the panels)."""
    import bptt
    T, D, H, O = shape
    rng = np.random.default_rng(1)
    model = bptt.SimpleRNN(D, H, O, activation="sigmoid", seed=2)
    tr = model.trace(rng.integers(0, D, size=(T, 1)), rng.integers(0, O, size=(T, 1)))
    page = open_page(session, write_explorer(tr, tmp_path / "shape.html"))
    py, js = expected_values(tr, LR), json_values(embedded_json((tmp_path / "shape.html").read_text()))
    for k in range(2 * T + 5):
        assert state(page)[0] == k
        assert check_numbers(page, py, js, 0)[1] > 0
        page.click(f'[data-node="a"][data-t="{T - 1}"]')
        assert f"a({T - 1}) = b + W h({T - 2 if T > 1 else '−1'}) + U x({T - 1})" in page.inner_text("#bptt-detail")
        page.keyboard.press("ArrowRight")
    session.check_clean()
