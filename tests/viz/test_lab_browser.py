"""The BPTT lab page in headless Chromium: for random configurations driven through bpttLab.set,
the page's numbers (forward values, errors, errors by source, per-step contributions, gradients,
and the parameters after N updates of SGD / Adam with clipping and truncation) equal the Python
library's to 1e-12; every control changes what it claims; the URL state round-trips; export →
bptt.load_lab_export → Python trace; hostile strings stay data; no console errors or requests.
"""
import json
import os
from pathlib import Path

import numpy as np
import pytest

import bptt
from bptt.io.lab_export import read_lab_export
from bptt.viz.lab import lab
from browser_helpers import Session, browser  # noqa: F401

pytestmark = pytest.mark.browser
RTOL, ATOL = 1e-12, 1e-13
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lab_file(tmp_path_factory):
    return lab(tmp_path_factory.mktemp("lab") / "lab.html")


@pytest.fixture
def session(browser):  # noqa: F811
    s = Session(browser)
    s.dialogs = []
    s.page.on("dialog", lambda d: (s.dialogs.append(d.message), d.dismiss()))
    yield s
    s.context.close()


def open_lab(session, path, fragment=""):
    session.page.goto(path.as_uri() + fragment)
    session.page.wait_for_function("() => document.documentElement.dataset.labReady === '1'")
    return session.page


def close(a, b, what=""):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=RTOL, atol=ATOL,
                               err_msg=what)


def check_trace(page, ex):
    """The payload the explorer draws equals the Python trace of the exported model."""
    data = page.evaluate("() => JSON.parse(JSON.stringify(bpttLab.payload()))")
    m = ex.model
    tr = m.trace(ex.x, ex.y, ex.h0, ex.mask)
    close(data["loss"], tr.loss, "loss")
    for k in ("h", "o", "y_hat"):
        close(data["forward"][k], getattr(tr.forward, k), k)
    if m.kind == "rnn":
        close(data["forward"]["a"], tr.forward.a, "a")
    if m.kind == "lstm":
        close(data["forward"]["c"], tr.forward.c, "c")
    for g, v in getattr(tr.forward, "gates", {}).items():
        close(data["forward"]["gates"][g], v, g)
    for k, v in tr.errors.items():
        close(data["errors"][k], v, "errors." + k)
    for k, v in tr.errors_by_source.items():
        close(data["errors_by_source"][k], v, "errors_by_source." + k)
    for k in m.params:
        close(data["params"][k], m.params[k], "params." + k)
        close(data["per_step"][k], tr.per_step[k], "per_step." + k)
        close(data["grads"][k], tr.grads[k], "grads." + k)
    close(np.asarray(data["loss_terms"])[:, 0].sum(), tr.loss)
    return data


CONFIGS = [
    {"kind": "rnn", "activation": "relu", "hidden": 5, "seed": 3, "text": "abracadabra", "optimizer": "adam",
     "lr": 0.02, "clip_mode": "norm", "clip": 0.5},
    {"kind": "rnn", "activation": "sigmoid", "hidden": 4, "seed": 11, "text": "0.1, 0.5, -0.3, 0.8, 0.2",
     "task": "series", "mask": "last", "optimizer": "sgd", "lr": 0.1, "k2": 2},
    {"kind": "rnn", "activation": "identity", "hidden": 3, "seed": 5, "rho": 0.9, "text": "mississippi",
     "mask": [1, 0, 1, 1, 0, 1, 1, 0, 1, 1], "clip_mode": "value", "clip": 0.05},
    {"kind": "lstm", "peepholes": True, "hidden": 4, "seed": 2, "text": "hello world", "optimizer": "adam",
     "lr": 0.01, "k2": 3, "clip_mode": "norm", "clip": 1.0},
    {"kind": "lstm", "peepholes": False, "hidden": 6, "seed": 7, "text": "1 2 3 2 1 0 -1", "task": "series",
     "optimizer": "sgd", "lr": 0.05},
    {"kind": "gru", "reset": "after", "hidden": 5, "seed": 9, "text": "banana bread", "task": "many-to-one",
     "optimizer": "adam", "lr": 0.03, "clip_mode": "value", "clip": 0.1},
    {"kind": "gru", "reset": "before", "hidden": 3, "seed": 4, "text": "tictactoe", "k2": 2, "optimizer": "sgd",
     "lr": 0.2, "clip_mode": "norm", "clip": 0.3},
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=[f"{c['kind']}-{i}" for i, c in enumerate(CONFIGS)])
def test_numbers_equal_the_library_before_and_after_training(session, lab_file, cfg, tmp_path):
    page = open_lab(session, lab_file)
    page.evaluate("(c) => bpttLab.set(c)", cfg)
    ex0 = read_lab_export(page.evaluate("() => bpttLab.export()"))
    check_trace(page, ex0)
    losses = page.evaluate("() => bpttLab.train(7)")
    assert len(losses) == 7
    exported = page.evaluate("() => bpttLab.export()")
    path = tmp_path / "ex.json"
    path.write_text(json.dumps(exported))
    ex = bptt.load_lab_export(path)
    assert ex.config["kind"] == cfg["kind"] and len(ex.losses) == 7
    close(ex.losses, losses)
    want_losses, want_params = ex.replay()                         # the history re-run in Python
    close(want_losses, losses, "losses")
    for k in ex.params:
        close(ex.params[k], want_params[k], "params after 7 updates: " + k)
        close(ex.params0[k], ex0.params[k], "params0: " + k)
    check_trace(page, ex)
    loss, grads = ex.model.loss_and_grads(ex.x, ex.y, ex.h0, ex.mask)
    close(ex.loss, loss)
    for k in grads:
        close(ex.grads[k], grads[k], "grads." + k)
    if cfg.get("task") == "series":
        assert ex.x.ndim == 3 and ex.config["output"] == "identity"
    mask = ex.mask[:, 0].tolist()
    T = len(mask)
    if cfg.get("mask") == "last" or cfg.get("task") == "many-to-one":
        assert mask == [0] * (T - 1) + [1]
    elif isinstance(cfg.get("mask"), list):
        assert mask == cfg["mask"]
    session.check_clean()


def test_contribution_grid_adds_up_and_truncation_greys_the_dropped_cells(session, lab_file):
    page = open_lab(session, lab_file)
    page.evaluate("() => bpttLab.set({text: 'abcdabcd', hidden: 3, k2: 2})")
    page.select_option("#lab-grid-param", "W")
    page.select_option("#lab-grid-entry", "1,0")
    cells = page.evaluate("""() => Array.from(document.querySelectorAll('#lab-grid td[data-v]')).map(
        e => [Number(e.dataset.s), Number(e.dataset.t), Number(e.dataset.v), e.classList.contains('dropped')])""")
    tr = page.evaluate("() => { const t = bpttLab.trace(); return {per: t.per_step.W, g: t.grads.W}; }")
    T = 7
    grid = np.zeros((T, T))
    for s, t, v, dropped in cells:
        grid[s, t] = v
        assert dropped == (t <= s - 2)
    close(grid.sum(axis=0), [tr["per"][t][1][0] for t in range(T)], "columns")
    close(grid.sum(), tr["g"][1][0], "total")
    cut = sum(v for s, t, v, d in cells if not d)
    assert float(page.inner_text("#lab-cut")) == pytest.approx(cut, rel=1e-3)
    page.hover('#lab-grid tr[data-s="5"] td[data-t="5"]')
    assert page.evaluate("() => document.querySelectorAll('#bptt-net .seg.dim').length") > 0
    fd = page.evaluate("() => { const p = document.querySelector('#lab-fd p'); return [Number(p.dataset.analytic), Number(p.dataset.fd)]; }")
    assert fd[0] == pytest.approx(fd[1], rel=1e-5, abs=1e-9)
    session.check_clean()


def _state(page):
    return page.evaluate("() => bpttLab.state()")


def test_every_control_changes_what_it_claims(session, lab_file):
    page = open_lab(session, lab_file)
    page.fill("#lab-text", "abcabcabc")
    st = _state(page)
    assert st["options"]["text"] == "abcabcabc" and st["vocab"] == ["a", "b", "c"] and st["T"] == 8
    assert page.evaluate("() => bpttLab.payload().config.T") == 8
    assert page.evaluate("() => document.querySelectorAll('#bptt-net [data-node=\"x\"]').length") == 8
    for sel, value, key, want in [("#lab-kind", "lstm", "kind", "lstm"), ("#lab-kind", "rnn", "kind", "rnn"),
                                  ("#lab-activation", "relu", "activation", "relu"),
                                  ("#lab-mask", "last", "mask", "last"), ("#lab-clip-mode", "value", "clip_mode", "value"),
                                  ("#lab-optimizer", "adam", "optimizer", "adam"), ("#lab-task", "many-to-one", "task", "many-to-one"),
                                  ("#lab-task", "next", "task", "next")]:
        page.select_option(sel, value)
        assert _state(page)["options"][key] == want, sel
    assert page.evaluate("() => bpttLab.payload().config.activation") == "relu"
    for sel, value, key in [("#lab-hidden", "7", "hidden"), ("#lab-seed", "12", "seed"), ("#lab-rho", "1.5", "rho"),
                            ("#lab-k2", "3", "k2"), ("#lab-clip", "0.25", "clip"), ("#lab-lr", "0.05", "lr")]:
        page.fill(sel, value)
        page.dispatch_event(sel, "change")
        assert _state(page)["options"][key] == float(value), sel
    assert page.evaluate("() => bpttLab.payload().config.hidden_size") == 7
    W = page.evaluate("() => bpttLab.export().params.W")
    assert max(abs(np.linalg.eigvals(np.array(W)))) == pytest.approx(1.5, rel=1e-9)   # ρ(W)
    page.select_option("#lab-kind", "lstm")
    page.check("#lab-peepholes")
    assert "p_i" in page.evaluate("() => bpttLab.export().params")
    page.select_option("#lab-kind", "gru")
    page.select_option("#lab-reset", "before")
    assert "b_hn" not in page.evaluate("() => bpttLab.export().params")
    page.select_option("#lab-mask", "steps")
    page.click('#lab-mask-steps [data-t="2"]')
    assert _state(page)["options"]["mask"] == [0, 0, 1, 0, 0, 0, 0, 1]     # "last", then step 2 on
    assert page.get_attribute('#lab-mask-steps [data-t="2"]', "aria-pressed") == "true"
    page.click("#lab-step")
    assert _state(page)["steps"] == 1
    page.focus("#lab-step")
    page.keyboard.press("Enter")                                     # the keyboard reaches it
    assert _state(page)["steps"] == 2
    page.click("#lab-play")
    page.wait_for_function("() => bpttLab.state().steps > 10")
    page.click("#lab-play")
    assert _state(page)["playing"] is False
    n = _state(page)["steps"]
    page.wait_for_timeout(200)
    assert _state(page)["steps"] == n
    page.click("#lab-restart")
    assert _state(page)["steps"] == 0
    page.select_option("#lab-task", "series")
    st = _state(page)
    assert st["vocab"] is None and page.evaluate("() => bpttLab.payload().config.output") == "identity"
    page.fill("#lab-text", "not a series")
    assert "text must be" in page.inner_text("#lab-error")
    session.check_clean()


def test_bad_options_throw_naming_the_option(session, lab_file):
    page = open_lab(session, lab_file)
    for opts, words in [({"hidden": 0}, "hidden must be an integer in [1, 32]; got 0"), ({"colour": 1}, 'unknown option "colour"'),
                        ({"kind": "tcn"}, 'kind must be one of'), ({"lr": -1}, "lr must be a finite number > 0"),
                        ({"mask": [1, 0]}, "mask must be"), ({"text": "x"}, "text must be 2 to 33 characters"),
                        ({"clip_mode": "abs"}, "clip_mode must be one of")]:
        msg = page.evaluate("(o) => { try { bpttLab.set(o); return null; } catch (e) { return e.message; } }", opts)
        assert msg is not None and words in msg, (opts, msg)
    assert page.evaluate("() => { try { bpttLab.train(-1); } catch (e) { return e.message; } }").startswith("bpttLab.train: n must")


def test_the_url_reopens_the_same_view_and_lessons_hide_controls(session, browser, lab_file):  # noqa: F811
    page = open_lab(session, lab_file)
    page.evaluate("() => bpttLab.set({kind: 'lstm', text: 'the cat sat', hidden: 4, seed: 5, optimizer: 'adam', lr: 0.02, k2: 4, clip_mode: 'norm', clip: 2})")
    page.evaluate("() => bpttLab.train(9)")
    frag = page.evaluate("() => location.hash")
    assert frag == page.evaluate("() => bpttLab.link()") == page.get_attribute("#lab-link", "href")
    first = page.evaluate("() => bpttLab.export()")
    other = Session(browser)
    try:
        again = open_lab(other, lab_file, frag)
        assert again.evaluate("() => bpttLab.export()") == first
        other.check_clean()
    finally:
        other.context.close()
    lesson = page.evaluate("() => bpttLab.lessonLink('Truncation: what k2 drops', ['k2', 'clip'])")
    third = Session(browser)
    try:
        p3 = open_lab(third, lab_file, lesson)
        visible = p3.evaluate("""() => Array.from(document.querySelectorAll('#lab-form [data-control]'))
            .filter(e => e.offsetParent !== null).map(e => e.dataset.control)""")
        assert set(visible) == {"k2", "clip"}
        assert p3.inner_text("#lab-lesson") == "Truncation: what k2 drops"
        assert p3.evaluate("() => bpttLab.export()") == first
    finally:
        third.context.close()


HOSTILE = ["<script>alert(1)</script>", '"q"<b>x', "</script><img src=x onerror=f()>", "&amp;&lt;x",
           "ok 😀👍🏽 ok", "שלום עולם abc", "ab\u202ecd\u200bef\u0007"]


def test_hostile_strings_are_data(session, lab_file):
    page = open_lab(session, lab_file)
    count = page.evaluate("() => document.querySelectorAll('*').length")
    for text in HOSTILE:
        page.fill("#lab-text", text)
        assert page.evaluate("() => bpttLab.state().options.text") == text
        assert page.inner_text("#lab-error") == ""
        assert page.evaluate("() => document.querySelectorAll('script:not([id]):not([type])').length") == 5
        assert page.evaluate("() => document.querySelectorAll('img, [onerror]').length") == 0
        vocab = page.inner_text("#lab-vocab")
        title = page.inner_text("#bptt-title")
        if "\u202e" in text:
            assert "⟨RLO⟩" in vocab and "⟨ZWSP⟩" in vocab and "⟨U+0007⟩" in vocab and "⟨RLO⟩" in title
            assert "\u202e" not in title and "\u202e" not in page.inner_text("#bptt-summary")
        else:
            assert all(c in vocab for c in set(text) if c != " ")
    assert session.dialogs == []
    assert abs(page.evaluate("() => document.querySelectorAll('*').length") - count) < 2000
    session.check_clean()


def test_explain_page_starts_from_the_embedded_trace(session, tmp_path):
    from bptt.viz.explorer import explain
    path = explain(tmp_path / "e.html", kind="gru", input_text="hello")
    page = open_lab(session, path)
    assert page.evaluate("() => document.getElementById('lab-panel').open") is False
    ex = read_lab_export(page.evaluate("() => bpttLab.export()"))
    from bptt.viz.explorer import default_explorer_trace
    tr = default_explorer_trace(kind="gru")
    for k in tr.model.params:
        close(ex.params[k], tr.model.params[k])
    close(ex.loss, tr.loss)
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => document.getElementById('bptt-root').dataset.step") == "1"
    session.check_clean()


def test_screenshot(session, lab_file, tmp_path):
    page = open_lab(session, lab_file)
    page.set_viewport_size({"width": 1024, "height": 900})
    page.evaluate("() => { bpttLab.set({text: 'hello hello', hidden: 6, k2: 4, clip_mode: 'norm', clip: 1, optimizer: 'adam', lr: 0.03}); bpttLab.train(40); }")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1040      # works from 1024 px
    out = (ROOT / "docs" / "figures" / "lab.png") if os.environ.get("BPTT_WRITE_SCREENSHOTS") == "1" else tmp_path / "lab.png"
    page.set_viewport_size({"width": 1280, "height": 900})
    page.evaluate("""() => { bpttLab.set({hidden: 4}); const T = bpttLab.state().T;
        for (let i = 0; i < 2 * T + 1; i++) document.getElementById('bptt-next').click();   // every error drawn
        window.scrollTo(0, 0); }""")
    for sel in ("#lab-form", "#bptt-net"):                            # the controls and the network
        box = page.locator(sel).bounding_box()
        assert box["y"] < 600 and box["height"] > 0, sel
    page.screenshot(path=str(out))                                    # the top of the page, 1280×900
    from PIL import Image
    im = np.asarray(Image.open(out).convert("L"), dtype=float)
    assert im.shape == (900, 1280) and im.std() > 10                   # not blank
    assert out.stat().st_size < 200_000
    page.emulate_media(media="print")
    assert page.evaluate("() => getComputedStyle(document.getElementById('lab-form')).display") == "none"
    session.check_clean()
