"""The lab's views in headless Chromium, against the Python library (or the engine run under Node):
the SimpleRNN and LSTM side by side trained in lockstep, the finite-difference check in the
equation panel, the unfolded network redrawn during Play, the Jacobian norms, the training charts,
the CSV and JSON downloads, and the hashchange handler.
"""
import csv
import dataclasses
import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bptt.io.lab_export import read_lab_export
from bptt.viz.lab import lab
from browser_helpers import Session, browser  # noqa: F401
from explorer_reference import shown_equals

pytestmark = pytest.mark.browser
RTOL, ATOL = 1e-12, 1e-13
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lab_file(tmp_path_factory):
    return lab(tmp_path_factory.mktemp("lab") / "lab.html")


@pytest.fixture
def session(browser):  # noqa: F811
    s = Session(browser)
    yield s
    s.context.close()


def open_lab(session, path, fragment=""):
    session.page.goto(path.as_uri() + fragment)
    session.page.wait_for_function("() => document.documentElement.dataset.labReady === '1'")
    return session.page


def close(a, b, what=""):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=RTOL, atol=ATOL,
                               err_msg=what)


def export(page, js="() => bpttLab.export()"):
    return read_lab_export(page.evaluate(js))


def to_last_step(page):
    page.evaluate("() => { const b = document.getElementById('bptt-next'); while (!b.disabled) b.click(); }")


BARS = """(sel) => Array.from(document.querySelectorAll(sel + ' rect[data-v]')).map(r => Number(r.dataset.v))"""


@pytest.mark.parametrize("kind", ["rnn", "gru"])
def test_side_by_side_is_trained_in_lockstep_and_equals_the_library(session, lab_file, kind):
    page = open_lab(session, lab_file)
    assert page.evaluate("() => bpttLab.state().options.side_by_side") is False   # off by default
    page.evaluate("(k) => bpttLab.set({kind: k, text: 'abcabdabcd', hidden: 4, seed: 3, optimizer: 'adam', lr: 0.05, "
                  "clip_mode: 'norm', clip: 1, k2: 4, side_by_side: true})", kind)
    page.evaluate("() => bpttLab.train(12)")
    main = export(page)
    T = main.mask.shape[0]
    page.hover(f'#lab-grid tr[data-s="{T - 3}"] td[data-t="{T - 3}"]')          # the loss term s shown
    for side, key in [("rnn", "h"), ("lstm", "c"), ("lstm", "h")]:
        fig = f'#lab-compare [data-compare="{side}.{key}"]'
        assert page.get_attribute(fig, "data-updates") == "12" and page.get_attribute(fig, "data-s") == str(T - 3)
        ex = export(page, f"() => bpttLab.compareExport('{side}')")
        assert ex.config["kind"] == side and len(ex.losses) == 12
        for k in ("optimizer", "lr", "clip_mode", "clip", "k2"):
            assert ex.config[k] == main.config[k], k
        close(ex.x, main.x), close(ex.y, main.y), close(ex.mask, main.mask)
        losses, params = ex.replay()                                  # its 12 updates, re-run in Python
        close(losses, ex.losses)
        for k in params:
            close(params[k], ex.params[k], f"{side}: {k} after 12 updates")
        assert any(np.abs(ex.params[k] - ex.params0[k]).max() > 1e-6 for k in ex.params)   # it did train
        if side == kind:
            for k in ex.params:
                close(ex.params[k], main.params[k], "the lab's own model")
        tr = ex.model.trace(ex.x, ex.y, ex.h0, ex.mask)
        close(page.evaluate(BARS, fig), np.linalg.norm(tr.errors_by_source[key][T - 3, :, 0], axis=-1), fig)
    page.evaluate("() => bpttLab.set({side_by_side: false})")
    assert page.get_attribute('#lab-compare [data-compare="lstm.c"]', "data-updates") == "0"
    assert "sbs=0" in page.evaluate("() => bpttLab.link()")
    page.click("#lab-sbs")                                            # on again: replayed in lockstep
    assert page.evaluate("() => bpttLab.state().options.side_by_side") is True
    assert page.get_attribute('#lab-compare [data-compare="lstm.c"]', "data-updates") == "12"
    session.check_clean()


def test_hovering_a_node_or_a_gradient_entry_shows_the_finite_difference_check(session, lab_file):
    page = open_lab(session, lab_file)
    page.evaluate("() => bpttLab.set({text: 'abcdabcd', hidden: 3, seed: 2})")
    page.select_option("#lab-grid-param", "W")
    page.select_option("#lab-grid-entry", "1,2")
    to_last_step(page)
    page.hover('#bptt-net [data-node="h"][data-t="2"]')
    detail = page.inner_text("#bptt-detail")
    assert "∂J/∂h(2) = Vᵀ ∂J/∂o(2) + Wᵀ ∂J/∂a(3)" in detail             # the equation, with its numbers
    box = "#bptt-detail .lab-fdcheck"
    ex = export(page)
    grads = ex.model.loss_and_grads(ex.x, ex.y, ex.h0, ex.mask)[1]
    assert page.get_attribute(box, "data-param") == "W" and page.get_attribute(box, "data-index") == "1,2"
    an, fd = float(page.get_attribute(box, "data-analytic")), float(page.get_attribute(box, "data-fd"))
    close(an, grads["W"][1, 2])
    assert fd == pytest.approx(an, rel=1e-6, abs=1e-10)
    page.click('#bptt-grads [data-param="U"]')
    page.hover('#bptt-grads [data-key="grads.U"][data-i="0"][data-j="1"]')   # a parameter-gradient entry
    assert page.get_attribute(box, "data-param") == "U" and page.get_attribute(box, "data-index") == "0,1"
    close(float(page.get_attribute(box, "data-analytic")), grads["U"][0, 1])
    assert float(page.get_attribute(box, "data-fd")) == pytest.approx(grads["U"][0, 1], rel=1e-6, abs=1e-10)
    assert page.input_value("#lab-grid-param") == "U" and page.input_value("#lab-grid-entry") == "0,1"
    assert page.get_attribute("#lab-fd p", "data-index") == "0,1"             # the grid's check follows
    session.check_clean()


def _replayed(ex, n):
    """The export's model after its first n updates (re-run in Python)."""
    part = dataclasses.replace(ex, losses=ex.losses[:n])
    return part.replay()[1]


def test_play_updates_the_unfolded_network(session, lab_file):
    page = open_lab(session, lab_file)
    page.evaluate("() => bpttLab.set({text: 'hello world', hidden: 4, optimizer: 'adam', lr: 0.05})")
    to_last_step(page)
    read = """() => ({steps: Number(document.getElementById('bptt-root').dataset.labSteps),
        loss: document.querySelector('#bptt-net [data-key="loss"]').textContent,
        g: document.querySelector('#bptt-grads [data-key="grads.W"][data-i="1"][data-j="0"]').textContent,
        h: document.querySelector('#bptt-net [data-key="forward.h"][data-t="3"][data-i="2"]').textContent,
        playing: bpttLab.state().playing, ex: bpttLab.export()})"""
    before = page.evaluate(read)
    assert before["steps"] == 0
    page.click("#lab-play")
    page.wait_for_function("() => Number(document.getElementById('bptt-root').dataset.labSteps) > 5")
    during = page.evaluate(read)                       # read while playing: the light redraw's numbers
    page.click("#lab-play")
    assert during["playing"] is True and during["loss"] != before["loss"] and during["h"] != before["h"]
    ex = read_lab_export(during["ex"])
    n = during["steps"]
    assert 5 < n <= len(ex.losses)
    model = ex.model0()
    model.params.update(_replayed(ex, n))
    tr = model.trace(ex.x, ex.y, ex.h0, ex.mask)
    assert shown_equals(during["loss"], tr.loss)
    assert shown_equals(during["g"], tr.grads["W"][1, 0])
    assert shown_equals(during["h"], tr.forward.h[3, 0, 2])
    assert page.get_attribute("#bptt-root", "data-step") == page.evaluate("() => String(2 * bpttLab.state().T + 4)")
    session.check_clean()


def _node_trace(config, ex):
    """The engine's trace under Node (tests/js/run_engine.js) of a fresh model from `config`."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    h0 = [np.asarray(a).tolist() for a in ex.h0] if isinstance(ex.h0, tuple) else np.asarray(ex.h0).tolist()
    problem = {"x": ex.x.tolist(), "y": ex.y.tolist(), "mask": ex.mask.tolist(), "h0": h0}
    req = {"cases": [{"config": config, "problem": problem, "k2": None, "train": None, "export": None}]}
    r = subprocess.run([node, str(ROOT / "tests" / "js" / "run_engine.js")], input=json.dumps(req),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["results"][0]["trace"]


JAC = """(w) => Array.from(document.querySelectorAll('#lab-jac table[data-jac="' + w + '"] td[data-v]')).map(
    e => [Number(e.dataset.s), Number(e.dataset.t), Number(e.dataset.v)])"""


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_jacobian_norms_view(session, lab_file, kind):
    page = open_lab(session, lab_file)
    page.evaluate("(k) => bpttLab.set({kind: k, text: 'abcdefgh', hidden: 3, seed: 4, rho: 1.3, peepholes: k === 'lstm'})", kind)
    ex = export(page)
    T = ex.mask.shape[0]
    shown = {w: page.evaluate(JAC, w) for w in (["h", "c"] if kind == "lstm" else ["h"])}
    for w, cells in shown.items():
        assert len(cells) == T * (T + 1) // 2
    if kind != "lstm":                                              # the Python traces have them
        want = ex.model.trace(ex.x, ex.y, ex.h0, ex.mask).jacobian_norms
        for s, t, v in shown["h"]:
            close(v, want[s, t, 0], f"‖∂h({s})/∂h({t})‖")
    opts = page.evaluate("() => bpttLab.state().options")
    cfg = {k: ex.config[k] for k in ("kind", "activation", "peepholes", "reset", "input_size", "hidden_size",
                                     "output_size", "output") if k in ex.config}
    tr = _node_trace(dict(cfg, seed=opts["seed"], rho=opts["rho"]), ex)
    for w, cells in shown.items():
        key = "jacobian_norms" if w == "h" else "jacobian_norms_c"
        for s, t, v in cells:
            close(v, tr[key][s][t][0], f"{key}[{s}][{t}]")
    session.check_clean()


def test_training_charts_equal_the_losses_of_training(session, lab_file):
    page = open_lab(session, lab_file)
    page.evaluate("() => bpttLab.set({text: 'mississippi', hidden: 5, optimizer: 'adam', lr: 0.03, clip_mode: 'norm', clip: 0.5})")
    losses = page.evaluate("() => bpttLab.train(25)")
    page.click("#lab-play")
    page.wait_for_function("() => bpttLab.state().steps > 40")
    page.click("#lab-play")
    ex = export(page)
    n = len(ex.losses)
    close(ex.losses[:25], losses)
    ys = page.evaluate("() => document.querySelector('#lab-loss-curve svg').dataset.ys.split(',').map(Number)")
    idx = page.evaluate("() => document.querySelector('#lab-loss-curve svg').dataset.index.split(',').map(Number)")
    assert idx[0] == 0 and idx[-1] == n and (idx == list(range(n + 1)) or len(idx) <= 1001)   # ~1000 drawn
    every = list(ex.losses) + [ex.loss]
    close(ys, [every[i] for i in idx], "the loss curve: J before each update, then J now")
    np.testing.assert_allclose(ys[:-1], ex.replay()[0][idx[:-1]], rtol=1e-9,   # round-off grows with n
                               err_msg="the curve's points, replayed in Python")
    tr = ex.model.trace(ex.x, ex.y, ex.h0, ex.mask)
    close(page.evaluate(BARS, "#lab-dh"), np.linalg.norm(tr.errors["h"][:, 0], axis=-1), "‖∂J/∂h(t)‖")
    label = page.get_attribute("#lab-loss-curve svg", "aria-label")
    assert f"over {n + 1} points" in label
    session.check_clean()


def test_csv_and_json_downloads_equal_the_export(session, lab_file):
    page = open_lab(session, lab_file)
    page.evaluate("() => { bpttLab.set({kind: 'lstm', peepholes: true, text: 'hello there', hidden: 3}); bpttLab.train(3); }")
    want = page.evaluate("() => bpttLab.export()")
    with page.expect_download() as d:
        page.click("#lab-export")
    assert page.get_attribute("#lab-export", "href").startswith("blob:")
    assert json.loads(Path(d.value.path()).read_text(encoding="utf-8")) == want
    fetched = page.evaluate("async () => (await fetch(document.getElementById('lab-export').href)).text()")
    assert json.loads(fetched) == want
    for name, value in [("params.W_z", want["params"]["W_z"]), ("grads.p_i", want["grads"]["p_i"]),
                        ("history.losses", want["history"]["losses"]), ("x", want["x"])]:
        page.select_option("#lab-csv-array", name)
        with page.expect_download() as d:
            page.click("#lab-csv")
        assert page.get_attribute("#lab-csv", "href").startswith("blob:")
        rows = list(csv.reader(io.StringIO(Path(d.value.path()).read_text(encoding="utf-8"))))
        a = np.asarray(value, dtype=float)
        assert rows[0] == [f"i{k}" for k in range(a.ndim)] + [name]
        got = np.full(a.shape, np.nan)
        for r in rows[1:]:
            got[tuple(int(i) for i in r[:-1])] = float(r[-1])
        assert len(rows) - 1 == a.size and np.array_equal(got, a), name         # exact: repr round trip
    session.check_clean()


def test_hashchange_updates_the_state(session, lab_file):
    page = open_lab(session, lab_file)
    page.evaluate("() => { location.hash = '#text=abcabcx&kind=lstm&H=3&init=seed&opt=adam&lr=0.02&k2=2&steps=4'; }")
    page.wait_for_function("() => bpttLab.state().options.text === 'abcabcx'")
    st = page.evaluate("() => bpttLab.state()")
    o = st["options"]
    assert (o["kind"], o["hidden"], o["optimizer"], o["lr"], o["k2"], st["steps"]) == ("lstm", 3, "adam", 0.02, 2, 4)
    assert page.evaluate("() => bpttLab.payload().config.T") == 6
    ex = export(page)
    losses, params = ex.replay()
    close(losses, ex.losses)
    assert page.input_value("#lab-text") == "abcabcx" and page.input_value("#lab-kind") == "lstm"
    session.check_clean()
