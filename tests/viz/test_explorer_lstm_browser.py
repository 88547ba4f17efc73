"""The LSTM explorer in a real browser (headless Chromium through Playwright, never downloaded):
stepping with the Next/Back buttons and the ←/→ keys through every step shows, at every step,
y(t), c(t), the gates, the errors and the gradients equal to the embedded JSON and to the Python
trace to the displayed precision (with the loss-term bars on the cell and y nodes); hovering and
clicking a node shows its equation in Greff et al.'s notation with numbers that add up; no console
errors, no network requests; a screenshot is taken.

Skipped without Chromium, except under CI (see test_explorer_browser.py).
"""
import numpy as np
import pytest

import bptt
from bptt.viz.explorer import DEFAULT_VOCAB, default_explorer_trace, write_explorer
from browser_helpers import (LR, browser, check_numbers, check_update, open_page,  # noqa: F401
                             session, state, walk)
from explorer_reference import dense_lstm_trace, embedded_json, expected_values, json_values

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def tok():
    return default_explorer_trace(kind="lstm")


@pytest.fixture(scope="module")
def tok_file(tmp_path_factory, tok):
    return write_explorer(tok, tmp_path_factory.mktemp("lstm") / "lstm.html", lr=LR, vocab=DEFAULT_VOCAB)


def _numbers(page, key, **idx):
    sel = f'#bptt-detail [data-key="{key}"]' + "".join(f'[data-{k}="{v}"]' for k, v in idx.items())
    return np.array([float(t) for t in page.eval_on_selector_all(sel, "els => els.map(e => e.textContent)")])


def _detail(page, node, t, click=False):
    sel = f'[data-node="{node}"][data-t="{t}"]'
    page.click(sel) if click else page.hover(sel)
    return page.inner_text("#bptt-detail")


def test_buttons_and_keys_step_through_everything(session, tok_file, tok):
    page = open_page(session, tok_file)
    data = embedded_json(tok_file.read_text(encoding="utf-8"))
    assert page.is_disabled("#bptt-back")
    moves = iter(range(100))

    def advance():                     # alternate the Next button and the → key
        if next(moves) % 2:
            page.keyboard.press("ArrowRight")
        else:
            page.click("#bptt-next")
    py = walk(page, tok, data, advance)
    assert page.is_disabled("#bptt-next")
    check_update(page, tok, py)        # every parameter: W_z … c, contributions, sum, update
    T = tok.forward.h.shape[0]
    page.click("#bptt-back")
    assert state(page) == [2 * T + 3, "sum"]
    page.click("h1")
    page.keyboard.press("ArrowLeft")
    assert state(page) == [2 * T + 2, "contrib"]
    page.keyboard.press("Home")
    assert state(page) == [0, "forward"]
    page.click("#bptt-next")
    assert state(page) == [1, "forward"]
    page.click("#bptt-reset")
    assert state(page) == [0, "forward"]
    session.check_clean()


def test_peepholes_dense_inputs_and_a_batch_with_keys(session, tmp_path):
    tr = dense_lstm_trace()                                      # T = 5, B = 2, peepholes, mask
    path = write_explorer(tr, tmp_path / "dense.html", lr=LR)
    page = open_page(session, path)
    page.select_option("#bptt-batch", "1")
    page.click("h1")
    walk(page, tr, embedded_json(path.read_text(encoding="utf-8")), lambda: page.keyboard.press("ArrowRight"), b=1)
    page.click('#bptt-grads [data-param="p_o"]')
    after = [float(t) for t in page.eval_on_selector_all('[data-key="updated.p_o"]', "els => els.map(e => e.textContent)")]
    np.testing.assert_allclose(after, tr.model.params["p_o"] - LR * tr.grads["p_o"], rtol=1e-3)
    text = _detail(page, "o", 2)
    assert "ô(2) = Wo x(2) + Ro y(1) + po ⊙ c(2) + bo" in text
    text = _detail(page, "c", 1)
    assert "+ po ⊙ ∂J/∂ô(1) + ∂J/∂c(2) ⊙ f(2) + pi ⊙ ∂J/∂î(2) + pf ⊙ ∂J/∂f̂(2)" in text
    terms = [_numbers(page, k, t=1, b=1) for k in ("derived.dcy", "derived.dcpo", "derived.dcf", "derived.dcp")]
    np.testing.assert_allclose(np.sum(terms, axis=0), tr.errors["c"][1, 1], atol=3e-3)
    session.check_clean()


def test_hover_and_click_show_the_equations(session, tok_file, tok):
    page = open_page(session, tok_file)
    fwd, p, T = tok.forward, tok.model.params, tok.forward.h.shape[0]
    text = _detail(page, "c", 2)
    assert "c(2) = z(2) ⊙ i(2) + c(1) ⊙ f(2)" in text and "appear when the forward pass reaches t = 2" in text
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    text = _detail(page, "c", 2)
    c, z, i, f = (_numbers(page, k, t=2) for k in ("forward.c", "forward.gates.z", "forward.gates.i", "forward.gates.f"))
    c1 = _numbers(page, "forward.c", t=1)
    np.testing.assert_allclose(c, fwd.c[2, 0], rtol=1e-3)
    np.testing.assert_allclose(z * i + c1 * f, c, atol=2e-3)                       # the numbers add up
    text = _detail(page, "f", 2)
    assert "Forget gate f(2)" in text and "f̂(2) = Wf x(2) + Rf y(1) + bf" in text and "f(2) = σ(f̂(2))" in text
    assert "column 2 of Wf" in text
    pre = _numbers(page, "forward.f_hat", t=2)[:3]                               # in both tables
    terms = [_numbers(page, k, t=2) for k in ("derived.Wx", "derived.Ry")] + [_numbers(page, "params.b_f")]
    np.testing.assert_allclose(np.sum(terms, axis=0), pre, atol=2e-3)
    np.testing.assert_allclose(1 / (1 + np.exp(-pre)), fwd.gates["f"][2, 0], atol=2e-3)
    np.testing.assert_allclose(terms[1], p["R_f"] @ fwd.h[1, 0], rtol=1e-3)
    assert "y(2) = tanh(c(2)) ⊙ o(2)" in _detail(page, "y", 2)
    assert "v(2) = c + V y(2)" in _detail(page, "v", 2)
    assert "L(1) = −log ŷ(1)[y*(1)]" in _detail(page, "L", 1)
    _detail(page, "y0", -1, click=True)                                            # a click pins
    page.hover("#bptt-caption")
    assert "Initial block output y(−1) = h0" in page.inner_text("#bptt-detail")
    for _ in range(2 * T - 3):                                                    # backward down to t = 1
        page.click("#bptt-next")
    assert state(page) == [2 * T + 1 - 1, "backward"]
    text = _detail(page, "c", 1, click=True)
    assert "∂J/∂c(1) = ∂J/∂y(1) ⊙ o(1) ⊙ (1 − tanh²(c(1))) + ∂J/∂c(2) ⊙ f(2)" in text
    assert "constant error carousel" in text
    terms = [_numbers(page, k, t=1) for k in ("derived.dcy", "derived.dcf")]
    np.testing.assert_allclose(np.sum(terms, axis=0), tok.errors["c"][1, 0], atol=2e-3)
    norms = page.eval_on_selector_all('#bptt-detail [data-key="norm.errors_by_source.c"]',
                                      "els => els.map(e => [Number(e.dataset.s), Number(e.textContent)])")
    assert [s for s, _ in norms] == [1, 2, 3]
    np.testing.assert_allclose([n for _, n in norms],
                               np.linalg.norm(tok.errors_by_source["c"][1:, 1, 0], axis=-1), rtol=1e-3)
    text = _detail(page, "z", 1)
    assert "∂J/∂ẑ(1) = ∂J/∂c(1) ⊙ i(1) ⊙ (1 − z(1)²)" in text
    e, dc, i1 = (_numbers(page, k, t=1) for k in ("errors.z_hat", "errors.c", "forward.gates.i"))
    np.testing.assert_allclose(e, dc * i1 * (1 - fwd.gates["z"][1, 0] ** 2), atol=2e-3)
    assert "∂J/∂ô(1) = ∂J/∂y(1) ⊙ tanh(c(1)) ⊙ o(1) (1 − o(1))" in _detail(page, "o", 1)
    assert "∂J/∂f̂(1) = ∂J/∂c(1) ⊙ c(0) ⊙ f(1) (1 − f(1))" in _detail(page, "f", 1)
    text = _detail(page, "y", 1)
    assert "∂J/∂y(1) = Vᵀ ∂J/∂v(1) + Σg Rgᵀ ∂J/∂ĝ(2)" in text
    np.testing.assert_allclose(_numbers(page, "derived.RTd", t=1),
                               sum(p[f"R_{g}"].T @ tok.errors[f"{g}_hat"][2, 0] for g in "zifo"), rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose([float(x) for x in page.eval_on_selector_all(
        '#bptt-detail [data-key="norm.errors_by_source.h"]', "els => els.map(e => e.textContent)")],
        np.linalg.norm(tok.errors_by_source["h"][1:, 1, 0], axis=-1), rtol=1e-3)
    page.click("#bptt-next")                                                      # t = 0
    text = _detail(page, "c0", -1)
    assert "∂J/∂c(−1) = ∂J/∂c(0) ⊙ f(0)" in text
    np.testing.assert_allclose(_numbers(page, "dh0.1"), tok.dh0[1][0], rtol=1e-3, atol=1e-7)
    assert "∂J/∂y(−1) = Σg Rgᵀ ∂J/∂ĝ(0)" in _detail(page, "y0", -1)
    session.check_clean()


def test_screenshot(session, tok_file, tmp_path):
    page = open_page(session, tok_file)
    for _ in range(4 + 1 + 3):                                   # forward, loss, backward to t = 1
        page.keyboard.press("ArrowRight")
    page.hover('[data-node="c"][data-t="1"]')
    shot = tmp_path / "lstm.png"
    page.screenshot(path=str(shot), full_page=True)
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width >= 1000 and height >= 800
    box = page.eval_on_selector("#bptt-detail", "e => e.getBoundingClientRect().toJSON()")
    assert box["y"] < 300 and box["x"] > 700                    # the equations beside the network
    session.check_clean()


def test_one_step_and_a_hidden_size_without_numbers_in_cells(session, tmp_path):
    model = bptt.LSTM(3, 20, 2, seed=2)                          # H = 20: cells too small for numbers
    tr = model.trace(np.array([[1]]), np.array([[0]]))
    path = write_explorer(tr, tmp_path / "h20.html")
    page = open_page(session, path)
    py, js = expected_values(tr, LR), json_values(embedded_json(path.read_text()))
    for k in range(2 * 1 + 5):
        assert state(page)[0] == k
        assert check_numbers(page, py, js, 0)[1] > 0
        assert "c(0) = z(0) ⊙ i(0) + c(−1) ⊙ f(0)" in _detail(page, "c", 0, click=True)
        assert page.eval_on_selector_all('#bptt-svg [data-key^="forward.gates."]', "els => els.length") == 0
        page.keyboard.press("ArrowRight")
    session.check_clean()
