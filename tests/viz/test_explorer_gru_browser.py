"""The GRU explorer in a real browser (headless Chromium through Playwright, never downloaded):
stepping with the Next/Back buttons and the ←/→ keys through every step shows, at every step,
h(t), the gates, the candidate, the pre-activations, the errors and the gradients equal to the
embedded JSON and to the Python trace to the displayed precision (with the loss-term bars on the
h nodes), for the reset gate after and before W_n; the direct path h(t−1) → h(t) is one horizontal
line through an ⊙ that z(t) feeds; hovering and clicking a node shows its equation with numbers
that add up; hostile vocabularies show literally; no console errors, no network requests; a
screenshot is taken.

Skipped without Chromium, except under CI (see test_explorer_browser.py).
"""
import numpy as np
import pytest

import bptt
from bptt.viz.explorer import DEFAULT_VOCAB, default_explorer_trace, write_explorer
from browser_helpers import (LR, READ, browser, check_numbers, expected_phase, keys_at,  # noqa: F401
                             open_page, session, state)
from explorer_gru_reference import dense_gru_trace, error_keys, expected_values
from explorer_reference import embedded_json, json_values, shown_equals

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def tok():
    return default_explorer_trace(kind="gru")


@pytest.fixture(scope="module")
def tok_file(tmp_path_factory, tok):
    return write_explorer(tok, tmp_path_factory.mktemp("gru") / "gru.html", lr=LR, vocab=DEFAULT_VOCAB)


def _numbers(page, key, **idx):
    sel = f'#bptt-detail [data-key="{key}"]' + "".join(f'[data-{k}="{v}"]' for k, v in idx.items())
    return np.array([float(t) for t in page.eval_on_selector_all(sel, "els => els.map(e => e.textContent)")])


def _detail(page, node, t, click=False):
    sel = f'[data-node="{node}"][data-t="{t}"]'
    page.click(sel) if click else page.hover(sel)
    return page.inner_text("#bptt-detail")


def _edges(page, edge):
    """[(class, d)] of the SVG paths of one edge id, e.g. "hh:2" (the direct path into h(2))."""
    return page.eval_on_selector_all(f'#bptt-svg [data-edge="{edge}"]',
                                     "els => els.map(e => [e.getAttribute('class'), e.getAttribute('d')])")


def walk(page, tr, data, advance, b=0):
    """Step from 0 to the end with `advance`, checking what is shown at every step."""
    T = tr.forward.h.shape[0]
    N = 2 * T + 5
    py, js = expected_values(tr, LR), json_values(data)
    computed = ["forward.h", "forward.o"] + [f"forward.gates.{g}" for g in "rzn"]
    computed += ["forward.hn_hat"] if tr.model.reset == "after" else []
    norms = np.linalg.norm(tr.errors_by_source["h"][:, :, b], axis=-1)     # (s, t) ‖∂L(s)/∂h(t)‖
    for k in range(N):
        assert state(page) == [k, expected_phase(k, T)]
        shown, checked = check_numbers(page, py, js, b)
        assert checked > 0
        for key in computed:
            assert keys_at(shown, key) == set(range(min(k, T))), key           # t < k computed
        first_back = 2 * T + 1 - k                                           # errors for t >= this
        errs = set(range(max(first_back, 0), T)) if k >= T + 2 else set()
        for key in error_keys(tr):                                           # o, h, r̂, ẑ, n̂ (, ĥn)
            assert keys_at(shown, "errors." + key) == errs, key
        assert any(e["key"] == "dh0" for e in shown) == (k >= 2 * T + 1)
        assert any(e["key"] == "loss" for e in shown) == (k >= T + 1)
        bars = page.evaluate("""() => Array.from(document.querySelectorAll('[data-bar="h"]')).map(
            e => [Number(e.dataset.s), Number(e.dataset.t), Number(e.getAttribute('width'))])""")
        assert {(s, t) for s, t, _ in bars} == {(s, t) for t in errs for s in range(t, T) if norms[s, t] > 0}
        if bars:                                                             # lengths ∝ ‖∂L(s)/∂h(t)‖
            s0, t0, w0 = max(bars, key=lambda bar: bar[2])
            for s, t, w in bars:
                assert abs(w - norms[s, t] * w0 / norms[s0, t0]) < 0.01
        ph = expected_phase(k, T)                                            # the direct path lights up
        lit = {t for t in range(T) if "fwd" in _edges(page, f"hh:{t}")[0][0].split()}
        assert lit == ({k - 1} if ph == "forward" and k >= 1 else set())
        dark = {t for t in range(T) if "bwd" in _edges(page, f"hh:{t}")[0][0].split()}
        t_back = 2 * T + 1 - k                                           # from h(t+1) back to h(t)
        want = {t_back + 1} & set(range(T)) | ({0} if t_back == 0 else set())
        assert dark == (want if ph == "backward" else set())
        per_step = {int(e["t"]) for e in shown if e["key"].startswith("per_step.")}
        assert per_step == (set(range(T)) if k >= 2 * T + 2 else set())
        assert any(e["key"].startswith("grads.") for e in shown) == (k >= 2 * T + 3)
        assert any(e["key"].startswith("updated.") for e in shown) == (k == 2 * T + 4)
        if k < N - 1:
            advance()


def check_update(page, tr):
    """At the update step: θ before, ∂J/∂θ and θ after = θ − lr·∂J/∂θ, for every parameter."""
    for name in tr.model.params:
        page.click(f'#bptt-grads [data-param="{name}"]')
        cells = page.evaluate(READ)
        after = [e for e in cells if e["key"] == f"updated.{name}"]
        assert len(after) == tr.model.params[name].size
        want = tr.model.params[name] - LR * tr.grads[name]
        for e in after:
            assert shown_equals(e["text"], want[tuple(int(e[n]) for n in "ij" if e[n] is not None)])
        assert len([e for e in cells if e["key"] == f"per_step.{name}"]) == tr.per_step[name].size
        assert "η = 0.1" in page.inner_text("#bptt-grads")


def test_buttons_and_keys_step_through_everything(session, tok_file, tok):
    page = open_page(session, tok_file)
    assert page.is_disabled("#bptt-back")
    moves = iter(range(100))

    def advance():                     # alternate the Next button and the → key
        if next(moves) % 2:
            page.keyboard.press("ArrowRight")
        else:
            page.click("#bptt-next")
    walk(page, tok, embedded_json(tok_file.read_text(encoding="utf-8")), advance)
    assert page.is_disabled("#bptt-next")
    check_update(page, tok)            # every parameter: U_r … b_hn, V, c
    T = tok.forward.h.shape[0]
    page.click("#bptt-back")
    assert state(page) == [2 * T + 3, "sum"]
    page.click("h1")
    page.keyboard.press("ArrowLeft")
    assert state(page) == [2 * T + 2, "contrib"]
    for k in range(2 * T + 1, -1, -1):                                   # back to the start
        page.click("#bptt-back") if k % 2 else page.keyboard.press("ArrowLeft")
        assert state(page) == [k, expected_phase(k, T)]
    assert page.is_disabled("#bptt-back")
    page.click("#bptt-next")
    assert state(page) == [1, "forward"]
    page.keyboard.press("Home")
    assert state(page) == [0, "forward"]
    page.click("#bptt-next")
    page.click("#bptt-reset")
    assert state(page) == [0, "forward"]
    session.check_clean()


@pytest.mark.parametrize("reset", ["before", "after"])
def test_dense_inputs_and_a_batch_with_keys(session, tmp_path, reset):
    tr = dense_gru_trace(reset)                                  # T = 5, B = 2, h0, a mask
    path = write_explorer(tr, tmp_path / f"{reset}.html", lr=LR)
    page = open_page(session, path)
    page.select_option("#bptt-batch", "1")
    page.click("h1")
    walk(page, tr, embedded_json(path.read_text(encoding="utf-8")), lambda: page.keyboard.press("ArrowRight"), b=1)
    check_update(page, tr)
    p, fwd, b = tr.model.params, tr.forward, 1
    text = _detail(page, "n", 2)
    if reset == "before":
        assert "n̂(2) = Un x(2) + Wn (r(2) ⊙ h(1)) + bn" in text
        terms = [_numbers(page, k, t=2, b=b) for k in ("derived.Ux", "derived.Wrh")] + [_numbers(page, "params.b_n")]
        np.testing.assert_allclose(terms[1], p["W_n"] @ (fwd.gates["r"][2, b] * fwd.h[1, b]), rtol=1e-3, atol=1e-6)
        text = _detail(page, "r", 2)
        assert "∂J/∂r̂(2) = (Wnᵀ ∂J/∂n̂(2)) ⊙ h(1) ⊙ r(2) (1 − r(2))" in text
        q, ds = (_numbers(page, k, t=2, b=b) for k in ("derived.WnTdn", "derived.dsig"))
        h1 = _numbers(page, "forward.h", t=1, b=b)                             # h(t−1)
        np.testing.assert_allclose(q * h1 * ds, tr.errors["r_hat"][2, b], atol=2e-5)
        assert not page.query_selector('[data-node="hn"]')
        _detail(page, "n", 2)
    else:
        assert "n̂(2) = Un x(2) + bn + r(2) ⊙ ĥn(2)" in text
        terms = [_numbers(page, k, t=2, b=b) for k in ("derived.Ux",)] + [_numbers(page, "params.b_n"),
                                                                        _numbers(page, "derived.rhn", t=2, b=b)]
        text = _detail(page, "hn", 2)
        assert "ĥn(2) = Wn h(1) + bhn" in text and "∂J/∂ĥn(2) = r(2) ⊙ ∂J/∂n̂(2)" in text
        hn = _numbers(page, "forward.hn_hat", t=2, b=b)
        np.testing.assert_allclose(_numbers(page, "derived.Wh", t=2, b=b) + _numbers(page, "params.b_hn"), hn, atol=2e-3)
        np.testing.assert_allclose(hn, p["W_n"] @ fwd.h[1, b] + p["b_hn"], rtol=1e-3, atol=1e-6)
        r, dn = (_numbers(page, k, t=2, b=b) for k in ("forward.gates.r", "errors.n_hat"))
        np.testing.assert_allclose(r * dn, _numbers(page, "errors.hn_hat", t=2, b=b), rtol=2e-3, atol=1e-7)
        _detail(page, "n", 2)
    pre = _numbers(page, "forward.n_hat", t=2, b=b)[: tr.forward.h.shape[2]]
    np.testing.assert_allclose(np.sum(terms, axis=0), pre, atol=3e-3)                  # the numbers add up
    np.testing.assert_allclose(np.tanh(pre), fwd.gates["n"][2, b], atol=2e-3)
    session.check_clean()


def test_hover_and_click_show_the_equations(session, tok_file, tok):
    page = open_page(session, tok_file)
    fwd, p, T = tok.forward, tok.model.params, tok.forward.h.shape[0]
    text = _detail(page, "h", 2)
    assert "h(2) = (1 − z(2)) ⊙ n(2) + z(2) ⊙ h(1)" in text and "appear when the forward pass reaches t = 2" in text
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    text = _detail(page, "h", 2)
    assert "The direct path: h(1) reaches h(2) multiplied by z(2) only" in text
    h, omz, n, z = (_numbers(page, k, t=2) for k in ("forward.h", "derived.omz", "forward.gates.n", "forward.gates.z"))
    h1 = _numbers(page, "forward.h", t=1)
    np.testing.assert_allclose(h, fwd.h[2, 0], rtol=1e-3)
    np.testing.assert_allclose(omz * n + z * h1, h, atol=2e-3)                        # the numbers add up
    np.testing.assert_allclose(omz, 1 - fwd.gates["z"][2, 0], rtol=1e-3)
    text = _detail(page, "z", 2)
    assert "Update gate z(2)" in text and "ẑ(2) = Uz x(2) + Wz h(1) + bz" in text and "z(2) = σ(ẑ(2))" in text
    assert "column 2 of Uz" in text
    pre = _numbers(page, "forward.z_hat", t=2)[:3]                                  # in both tables
    terms = [_numbers(page, k, t=2) for k in ("derived.Ux", "derived.Wh")] + [_numbers(page, "params.b_z")]
    np.testing.assert_allclose(np.sum(terms, axis=0), pre, atol=2e-3)
    np.testing.assert_allclose(1 / (1 + np.exp(-pre)), fwd.gates["z"][2, 0], atol=2e-3)
    np.testing.assert_allclose(terms[1], p["W_z"] @ fwd.h[1, 0], rtol=1e-3)
    assert "Reset gate r(2)" in _detail(page, "r", 2)
    assert "Candidate n(2)" in _detail(page, "n", 2)
    assert "o(2) = c + V h(2)" in _detail(page, "o", 2)
    assert "L(1) = −log ŷ(1)[y(1)]" in _detail(page, "L", 1)
    _detail(page, "h0", -1, click=True)                                             # a click pins
    page.hover("#bptt-caption")
    assert "Initial state h(−1) = h0" in page.inner_text("#bptt-detail")
    for _ in range(2 * T - 3):                                                     # backward down to t = 1
        page.click("#bptt-next")
    assert state(page) == [2 * T, "backward"]
    text = _detail(page, "h", 1, click=True)
    assert ("∂J/∂h(1) = Vᵀ ∂J/∂o(1) + z(2) ⊙ ∂J/∂h(2) + Wrᵀ ∂J/∂r̂(2) + Wzᵀ ∂J/∂ẑ(2) + Wnᵀ ∂J/∂ĥn(2)" in text)
    terms = [_numbers(page, k, t=1) for k in ("derived.VTdo", "derived.dhz", "derived.dhg")]
    np.testing.assert_allclose(np.sum(terms, axis=0), tok.errors["h"][1, 0], atol=2e-3)
    np.testing.assert_allclose(terms[1], fwd.gates["z"][2, 0] * tok.errors["h"][2, 0], rtol=1e-3, atol=1e-7)
    norms = page.eval_on_selector_all('#bptt-detail [data-key="norm.errors_by_source.h"]',
                                      "els => els.map(e => [Number(e.dataset.s), Number(e.textContent)])")
    assert [s for s, _ in norms] == [1, 2, 3]
    np.testing.assert_allclose([n for _, n in norms],
                               np.linalg.norm(tok.errors_by_source["h"][1:, 1, 0], axis=-1), rtol=1e-3)
    text = _detail(page, "z", 1)
    assert "∂J/∂ẑ(1) = ∂J/∂h(1) ⊙ (h(0) − n(1)) ⊙ z(1) (1 − z(1))" in text
    e, dh, hmn, ds = (_numbers(page, k, t=1) for k in ("errors.z_hat", "errors.h", "derived.hmn", "derived.dsig"))
    np.testing.assert_allclose(dh * hmn * ds, e, atol=2e-5)
    np.testing.assert_allclose(hmn, fwd.h[0, 0] - fwd.gates["n"][1, 0], rtol=1e-3)
    text = _detail(page, "n", 1)
    assert "∂J/∂n̂(1) = ∂J/∂h(1) ⊙ (1 − z(1)) ⊙ (1 − n(1)²)" in text
    e, omz, dt = (_numbers(page, k, t=1) for k in ("errors.n_hat", "derived.omz", "derived.dtanh"))
    np.testing.assert_allclose(_numbers(page, "errors.h", t=1) * omz * dt, e, atol=2e-5)
    assert "∂J/∂r̂(1) = ∂J/∂n̂(1) ⊙ ĥn(1) ⊙ r(1) (1 − r(1))" in _detail(page, "r", 1)
    e, dn, hn, ds = (_numbers(page, k, t=1) for k in ("errors.r_hat", "errors.n_hat", "forward.hn_hat", "derived.dsig"))
    np.testing.assert_allclose(dn * hn * ds, e, atol=2e-5)
    assert "∂J/∂ĥn(1) = r(1) ⊙ ∂J/∂n̂(1)" in _detail(page, "hn", 1)
    page.click("#bptt-next")                                                      # t = 0
    text = _detail(page, "h0", -1)
    assert "∂J/∂h(−1) = z(0) ⊙ ∂J/∂h(0) + Wrᵀ ∂J/∂r̂(0) + Wzᵀ ∂J/∂ẑ(0) + Wnᵀ ∂J/∂ĥn(0)" in text
    terms = [_numbers(page, k, t=-1) for k in ("derived.dhz", "derived.dhg")]
    np.testing.assert_allclose(np.sum(terms, axis=0), tok.dh0[0], atol=2e-3)
    np.testing.assert_allclose(_numbers(page, "dh0"), tok.dh0[0], rtol=1e-3, atol=1e-7)
    session.check_clean()


def test_the_direct_path_is_one_horizontal_line_through_z(session, tok_file, tok):
    page = open_page(session, tok_file)
    T = tok.forward.h.shape[0]
    boxes = page.evaluate("""() => Array.from(document.querySelectorAll('[data-node="h"], [data-node="h0"]')).map(
        g => { const r = g.querySelector('rect.box'); return [Number(g.dataset.t), Number(r.getAttribute('x')),
        Number(r.getAttribute('y')), Number(r.getAttribute('width')), Number(r.getAttribute('height'))]; })""")
    box = {t: (x, y, w, h) for t, x, y, w, h in boxes}
    ops = page.evaluate("() => Array.from(document.querySelectorAll('circle.opnode')).map(c => [Number(c.getAttribute('cx')), Number(c.getAttribute('cy'))])")
    for t in range(T):
        (cls, d), = _edges(page, f"hh:{t}")
        assert "cellpath" in cls.split()
        (x1, y1), (x2, y2) = [tuple(map(float, p.split(","))) for p in d[1:].split(" L")]
        px, py, pw, ph = box[t - 1]                                   # from h(t−1)'s right edge ...
        hx, hy, hw, hh = box[t]                                       # ... to h(t)'s left edge
        assert y1 == y2 == hy + hh / 2 == py + ph / 2
        assert x1 == px + pw and abs(x2 - hx) <= 1
        z_up = [d for _, d in _edges(page, f"zh:{t}")]                # z(t) rises to an ⊙ on that line
        assert len(z_up) == 1
        zx = float(z_up[0][1:].split(",")[0])
        assert any(abs(cx - zx) < 1e-9 and abs(cy - y1) < 1e-9 and x1 < cx < x2 for cx, cy in ops)
    session.check_clean()


def test_hostile_vocabulary_shows_literally(session, tmp_path):
    labels = ["</script>", "<b>x</b>", "&amp;", " "]
    model = bptt.GRU(4, 3, 4, reset="before", seed=5)
    tr = model.trace(np.array([[0], [1], [2]]), np.array([[1], [2], [3]]))
    path = write_explorer(tr, tmp_path / "evil.html", vocab=labels, title="<i>GRU</i> & co")
    page = open_page(session, path)
    assert page.inner_text("#bptt-title") == "<i>GRU</i> & co"
    page.keyboard.press("ArrowRight")
    svg = page.inner_text("#bptt-net")
    assert "'</script>'" in svg and "'<b>x</b>'" in svg and "'&amp;'" in svg
    assert "'␣'" in page.inner_text("#bptt-summary")
    assert "x(1) = onehot('<b>x</b>')" in _detail(page, "x", 1)
    assert page.eval_on_selector_all("#bptt-root b, #bptt-root i", "els => els.filter(e => e.textContent === 'x' || e.textContent === 'GRU').length") == 0
    assert page.evaluate("document.querySelectorAll('script').length") == 2
    session.check_clean()


def test_screenshot(session, tok_file, tmp_path):
    page = open_page(session, tok_file)
    for _ in range(4 + 1 + 3):                                   # forward, loss, backward to t = 1
        page.keyboard.press("ArrowRight")
    page.hover('[data-node="h"][data-t="1"]')
    shot = tmp_path / "gru.png"
    page.screenshot(path=str(shot), full_page=True)
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width >= 1000 and height >= 800
    box = page.eval_on_selector("#bptt-detail", "e => e.getBoundingClientRect().toJSON()")
    assert box["y"] < 300 and box["x"] > 700                    # the equations beside the network
    session.check_clean()


def test_one_step_and_a_hidden_size_without_numbers_in_cells(session, tmp_path):
    model = bptt.GRU(3, 20, 2, seed=2)                           # H = 20: cells too small for numbers
    tr = model.trace(np.array([[1]]), np.array([[0]]))
    path = write_explorer(tr, tmp_path / "h20.html")
    page = open_page(session, path)
    py, js = expected_values(tr, LR), json_values(embedded_json(path.read_text()))
    for k in range(2 * 1 + 5):
        assert state(page)[0] == k
        assert check_numbers(page, py, js, 0)[1] > 0
        assert "h(0) = (1 − z(0)) ⊙ n(0) + z(0) ⊙ h(−1)" in _detail(page, "h", 0, click=True)
        assert page.eval_on_selector_all('#bptt-svg [data-key^="forward.gates."]', "els => els.length") == 0
        page.keyboard.press("ArrowRight")
    session.check_clean()
