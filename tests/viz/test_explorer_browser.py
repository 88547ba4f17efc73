"""The explorer in a real browser (headless Chromium through Playwright, never downloaded): the
page opens from file:// with no errors and no network requests; stepping with the Next button
and with the → key shows, at every step, numbers equal to the embedded JSON and to the Python
trace to the displayed precision; hovering and clicking a node shows its equation; the update
equals params − lr·grads; notebook fragments do not clash; a screenshot is taken.

Without Chromium the tests are skipped, except under CI (the CI environment variable), where a
missing browser is a failure.
"""
import numpy as np
import pytest

from bptt.viz.explorer import DEFAULT_VOCAB, default_explorer_trace, explorer_html, write_explorer
from browser_helpers import (LR, browser, check_numbers, check_update, open_page,  # noqa: F401
                             session, state, walk)
from explorer_reference import dense_trace, embedded_json, expected_values, json_values

pytestmark = pytest.mark.browser


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
