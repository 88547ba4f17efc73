"""The explorer of the other designs in headless Chromium (Playwright, never downloaded): a
bidirectional SimpleRNN/LSTM/GRU — both chains drawn, the backward chain's states computed from
t = T−1 down to 0 and its errors from 0 up to T−1, a selectable loss term L(s) whose errors reach
h(t) for t <= s and g(t) for t >= s — and the OutputRNN — teacher forcing's diagonal flow, free
running's full triangle, the fed-back edges. At every step every displayed number equals the
embedded JSON and the Python trace to the displayed precision.

Without Chromium the tests are skipped, except under CI, where a missing browser is a failure.
"""
import numpy as np
import pytest

import bptt
from bptt.viz.explorer import explain, write_explorer
import browser_helpers
from browser_helpers import LR, READ, check_numbers, open_page, state
from explorer_reference import embedded_json, json_values, shown_equals

pytestmark = pytest.mark.browser
browser, session = browser_helpers.browser, browser_helpers.session      # the fixtures


def _common(tr, lr, names):
    m, fwd = tr.model, tr.forward
    B = tr.mask.shape[1]
    if m.output == "softmax":
        p = np.take_along_axis(fwd.y_hat, tr.y[..., None], axis=-1)[..., 0]
        terms, onehot = -np.log(p) * tr.mask / B, np.eye(m.output_size)[tr.y]
    else:
        terms, onehot = 0.5 * ((fwd.o - tr.y) ** 2).sum(-1) * tr.mask / B, None
    out = {"forward.o": fwd.o, "forward.y_hat": fwd.y_hat, "x": tr.x, "y": tr.y, "mask": tr.mask,
           "loss": np.array(tr.loss), "loss_terms": terms, "onehot.y": onehot, "errors.o": tr.errors["o"]}
    for k, arr in tr.errors_by_source.items():
        out["errors_by_source." + k] = arr
        out["norm.errors_by_source." + k] = np.linalg.norm(arr, axis=-1)
    for k in names:
        out["params." + k] = m.params[k]
        out["per_step." + k] = tr.per_step[k][::-1] if "@rev" in k else tr.per_step[k]   # x's time order
        out["grads." + k] = tr.grads[k]
        out["updated." + k] = m.params[k] - lr * tr.grads[k]
    return out


def bi_expected(tr, lr=LR):
    """data-key -> array, from the Python trace of a one-layer bidirectional model."""
    out = _common(tr, lr, tr.model.params)
    layer = tr.forward.layers[0]
    lstm = tr.model.kind == "lstm"
    h0, dh0 = (tr.h0[0], tr.dh0[0]) if lstm else (tr.h0, tr.dh0)
    out.update({"forward.h": layer["h"], "forward.h@rev": layer["g"], "h0.h": h0[0], "h0.h@rev": h0[1],
                "dh0.h": dh0[0], "dh0.h@rev": dh0[1]})
    out.update({"errors." + k: tr.errors[k] for k in tr.errors})
    if lstm:
        out.update({"forward.c": layer["c"], "forward.c@rev": layer["c@rev"]})
    return out


def or_expected(tr, lr=LR):
    out = _common(tr, lr, tr.model.params)
    fwd = tr.forward
    out.update({f"forward.{k}": getattr(fwd, k) for k in ("a", "h", "fed")})
    out.update({"errors." + k: tr.errors[k] for k in ("h", "a", "f")}, h0=fwd.fed[0], dh0=tr.dy0)
    return out


def shown_keys(shown, key, attr="t"):
    return {int(e[attr]) for e in shown if e["key"] == key}


def bars(page, kind):
    return page.evaluate(f"""() => Array.from(document.querySelectorAll('[data-bar="{kind}"]')).map(
        e => [Number(e.dataset.s), Number(e.dataset.t)])""")


def flow_cells(page, key):
    """{(s, t): class} of a flow map's cells."""
    cells = page.evaluate(f"""() => Array.from(document.querySelectorAll('td[data-flow="{key}"]')).map(
        e => [Number(e.dataset.s), Number(e.dataset.t), e.className])""")
    return {(s, t): c for s, t, c in cells}


def edge_classes(page, prefix):
    return page.evaluate(f"""() => Object.fromEntries(Array.from(document.querySelectorAll('[data-edge^="{prefix}"]')).map(
        e => [e.dataset.edge, e.getAttribute('class')]))""")


def bi_phase(k, T):
    if k <= 2 * T:
        return "forward"
    if k == 2 * T + 1:
        return "loss"
    if k <= 4 * T + 1:
        return "backward"
    return ["contrib", "sum", "update"][k - 4 * T - 2]


def walk_bi(page, tr, data, advance, b=0):
    """Every step of a bidirectional page, checked: which states, outputs and errors are shown."""
    T = tr.x.shape[0]
    py, js = bi_expected(tr), json_values(data)
    for k in range(4 * T + 5):
        assert state(page) == [k, bi_phase(k, T)]
        shown, checked = check_numbers(page, py, js, b)
        assert checked > 0
        assert shown_keys(shown, "forward.h") == set(range(min(k, T)))               # h: t = 0, 1, ...
        assert shown_keys(shown, "forward.h@rev") == set(range(max(0, 2 * T - k), T)) if k > T else \
            shown_keys(shown, "forward.h@rev") == set()                              # g: t = T−1, T−2, ...
        outputs = set(range(T)) if k >= 2 * T + 1 else set()
        assert shown_keys(shown, "forward.o") == outputs and shown_keys(shown, "loss_terms") == outputs
        assert any(e["key"] == "loss" for e in shown) == (k >= 2 * T + 1)
        assert shown_keys(shown, "errors.o") == (set(range(T)) if k >= 2 * T + 2 else set())
        errs_h = set(range(max(0, 3 * T + 1 - k), T)) if k >= 2 * T + 2 else set()  # ∂J/∂h: T−1 down to 0
        errs_g = set(range(0, min(T, k - 3 * T - 1))) if k >= 3 * T + 2 else set()   # ∂J/∂g: 0 up to T−1
        assert shown_keys(shown, "errors.h") == errs_h and shown_keys(shown, "errors.h@rev") == errs_g
        assert any(e["key"] == "dh0.h" for e in shown) == (k >= 3 * T + 1)
        assert any(e["key"] == "dh0.h@rev" for e in shown) == (k >= 4 * T + 1)
        for kind, errs, reach in (("h", errs_h, lambda s, t: s >= t), ("h@rev", errs_g, lambda s, t: s <= t)):
            norms = np.linalg.norm(tr.errors_by_source[kind][:, :, b], axis=-1)
            want = {(s, t) for t in errs for s in range(T) if reach(s, t) and norms[s, t] > 0}
            assert {tuple(x) for x in bars(page, kind)} == want, kind
            cells = flow_cells(page, kind)
            assert {st for st, c in cells.items() if c == "pending"} == {(s, t) for s in range(T) for t in range(T) if t not in errs}
            assert {st for st, c in cells.items() if c == "zero"} == {(s, t) for s in range(T) for t in errs if norms[s, t] == 0}
        p = page.evaluate("() => document.getElementById('bptt-root').dataset.t")
        if 3 * T + 2 <= k <= 4 * T + 1 and int(p) > 0:                              # g(t−1) sends its error to g(t)
            assert "bwd" in edge_classes(page, "Wr:")[f"Wr:{int(p) - 1}"]
        assert {int(e["t"]) for e in shown if e["key"].startswith("per_step.")} == (set(range(T)) if k >= 4 * T + 2 else set())
        assert any(e["key"].startswith("updated.") for e in shown) == (k == 4 * T + 4)
        if k < 4 * T + 4:
            advance()
    return py


@pytest.fixture(scope="module")
def bi_rnn(tmp_path_factory):
    path = explain(tmp_path_factory.mktemp("bi") / "bi.html", bidirectional=True, lr=LR)
    data = embedded_json(path.read_text(encoding="utf-8"))
    ids = np.array([[r[0]] for r in data["x"]])
    tr = bptt.SimpleRNN(4, 3, 2, bidirectional=True, seed=0).trace(ids, np.array(data["y"]))
    return path, data, tr


def test_bidirectional_steps_through_both_chains(session, bi_rnn):
    path, data, tr = bi_rnn
    page = open_page(session, path)
    assert page.is_visible("#bptt-source")
    walk_bi(page, tr, data, lambda: page.click("#bptt-next"))
    assert page.is_disabled("#bptt-next")
    cells = flow_cells(page, "h")                                   # the forward chain: t <= s only
    assert {st for st, c in cells.items() if c == "zero"} == {(s, t) for s in range(5) for t in range(5) if t > s}
    cells = flow_cells(page, "h@rev")                               # the backward chain: t >= s only
    assert {st for st, c in cells.items() if c == "zero"} == {(s, t) for s in range(5) for t in range(5) if t < s}
    assert "'vowel'" in page.inner_text("#bptt-net")                # the classes' own names
    session.check_clean()


def test_a_selected_loss_term_reaches_every_step_in_one_of_the_chains(session, bi_rnn):
    path, data, tr = bi_rnn
    page = open_page(session, path)
    py, js = bi_expected(tr), json_values(data)
    for _ in range(4 * 5 + 4):
        page.click("#bptt-next")
    s = 2
    page.select_option("#bptt-source", str(s))
    shown, _ = check_numbers(page, py, js, 0)
    for key, zero in (("errors_by_source.h", lambda t: t > s), ("errors_by_source.h@rev", lambda t: t < s)):
        cells = [e for e in shown if e["key"] == key]
        assert {int(e["s"]) for e in cells} == {s} and {int(e["t"]) for e in cells} == set(range(5))
        for e in cells:
            assert (float(e["text"]) == 0) == zero(int(e["t"])), (key, e)
    assert shown_keys(shown, "errors.o") == {s}                      # only L(s) depends on o(s)
    assert all(float(e["text"]) == 0 for e in shown if e["key"] == "derived.zero")
    assert "∂L(2)/∂g(3)" in page.inner_text("#bptt-net")
    assert page.locator("rect.follow").count() == 1
    page.click('td[data-flow="h@rev"][data-s="4"][data-t="0"]')     # a row of a flow map follows L(4)
    assert page.input_value("#bptt-source") == "4"
    assert page.evaluate("""() => Array.from(document.querySelectorAll('.flowmap tr.sel th')).map(e => e.textContent)""") == ["L(4)", "L(4)"]
    page.click('td[data-flow="h"][data-s="4"][data-t="1"]')         # again: back to all of J
    assert page.input_value("#bptt-source") == "" and page.locator("rect.follow").count() == 0
    session.check_clean()


def test_hover_shows_both_chains_equations(session, bi_rnn):
    path, data, tr = bi_rnn
    page = open_page(session, path)
    for _ in range(4 * 5 + 4):
        page.keyboard.press("ArrowRight")
    page.hover('[data-node="h@rev"][data-t="1"]')
    text = page.inner_text("#bptt-detail")
    assert "g(1) = tanh(b′ + W′ g(2) + U′ x(1))" in text and "W′ᵀ ∂J/∂a′(0)" in text
    vals = page.evaluate("""() => Array.from(document.querySelectorAll('#bptt-detail [data-key="errors.h@rev"]')).map(e => e.textContent)""")
    assert [shown_equals(v, w) for v, w in zip(vals, tr.errors["h@rev"][1, 0])] == [True] * 3
    page.hover('[data-node="h@rev"][data-t="5"]')
    assert "Initial state g(5)" in page.inner_text("#bptt-detail")
    page.hover('[data-node="o"][data-t="2"]')
    assert "o(2) = c + V [h(2); g(2)]" in page.inner_text("#bptt-detail")
    page.select_option("#bptt-source", "3")
    page.click('[data-node="h"][data-t="4"]')
    assert "Zero: h(4) is computed after step 3" in page.inner_text("#bptt-detail")
    session.check_clean()


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_bidirectional_lstm_and_gru_with_a_batch_and_a_mask(session, tmp_path, kind):
    rng = np.random.default_rng(4)
    cls = bptt.LSTM if kind == "lstm" else bptt.GRU
    m = cls(3, 2, 2, bidirectional=True, output="identity", seed=1)
    mask = np.ones((4, 2))
    mask[1, 1] = 0.0
    tr = m.trace(rng.normal(size=(4, 2, 3)), rng.normal(size=(4, 2, 2)), mask=mask)
    path = write_explorer(tr, tmp_path / f"{kind}.html", lr=LR)
    page = open_page(session, path)
    page.select_option("#bptt-batch", "1")
    page.click("h1")
    walk_bi(page, tr, embedded_json(path.read_text(encoding="utf-8")), lambda: page.keyboard.press("ArrowRight"), b=1)
    session.check_clean()


# -- the OutputRNN --------------------------------------------------------------------------------
def walk_or(page, tr, data, b=0):
    T = tr.x.shape[0]
    py, js = or_expected(tr), json_values(data)
    for k in range(2 * T + 5):
        shown, checked = check_numbers(page, py, js, b)
        assert checked > 0
        assert shown_keys(shown, "forward.a") == set(range(min(k, T)))
        errs = set(range(max(2 * T + 1 - k, 0), T)) if k >= T + 2 else set()
        for key in ("errors.o", "errors.h", "errors.a"):
            assert shown_keys(shown, key) == errs, key
        assert shown_keys(shown, "errors.f") == {t - 1 for t in errs if t > 0}   # ∂J/∂f(t−1) at column t
        assert any(e["key"] == "dh0" for e in shown) == (0 in errs)
        norms = np.linalg.norm(tr.errors_by_source["a"][:, :, b], axis=-1)
        assert {tuple(x) for x in bars(page, "a")} == {(s, t) for t in errs for s in range(t, T) if norms[s, t] > 0}
        if k < 2 * T + 4:
            page.click("#bptt-next")
    return py


@pytest.mark.parametrize("mode", ["teacher", "free"])
def test_output_rnn_teacher_diagonal_free_triangle(session, tmp_path, mode):
    path = explain(tmp_path / f"{mode}.html", kind="output_rnn", mode=mode, lr=LR)
    data = embedded_json(path.read_text(encoding="utf-8"))
    ids = np.array([[r[0]] for r in data["x"]])
    tr = bptt.OutputRNN(4, 3, 4, seed=0).trace(ids, np.array(data["y"]), mode=mode)
    page = open_page(session, path)
    fed = edge_classes(page, "fb:")
    assert sorted(fed) == ["fb:1", "fb:2", "fb:3"]
    assert all(("fed" in c) == (mode == "teacher") for c in fed.values())   # dashed: a constant
    walk_or(page, tr, data)
    T = 4
    cells = flow_cells(page, "a")
    nonzero = {st for st, c in cells.items() if c == ""}
    assert nonzero == ({(t, t) for t in range(T)} if mode == "teacher" else {(s, t) for s in range(T) for t in range(s + 1)})
    s = 3
    page.select_option("#bptt-source", str(s))
    shown, _ = check_numbers(page, or_expected(tr), json_values(data), 0)
    src = [e for e in shown if e["key"] == "errors_by_source.a"]
    assert {int(e["t"]) for e in src if float(e["text"]) != 0} == ({s} if mode == "teacher" else set(range(s + 1)))
    f_err = [e for e in shown if e["key"] == "derived.src_f"]             # ∂L(3)/∂f(t−1) = Wᵀ ∂L(3)/∂a(t)
    want = tr.errors_by_source["a"][s, :, 0] @ tr.model.params["W"]       # (T, O)
    assert len(f_err) == T * 4 and all(shown_equals(e["text"], want[int(e["t"]), int(e["i"])]) for e in f_err)
    session.check_clean()


def test_output_rnn_loss_terms_sum_to_the_errors(session, tmp_path):
    """Running free, Σ_s ∂L(s)/∂o(t) (each read with its loss term selected) = ∂J/∂o(t)."""
    rng = np.random.default_rng(1)
    m = bptt.OutputRNN(3, 4, 3, seed=2)
    m.params["W"] *= 3.0
    tr = m.trace(rng.normal(size=(5, 1, 3)), rng.integers(0, 3, (5, 1)), mode="free")
    path = write_explorer(tr, tmp_path / "free.html", lr=LR)
    page = open_page(session, path)
    for _ in range(2 * 5 + 4):
        page.keyboard.press("ArrowRight")
    total = np.zeros((5, 3))
    for s in range(5):
        page.select_option("#bptt-source", str(s))
        for e in page.evaluate(READ):
            if e["key"] in ("derived.src_o", "errors.o") and e["t"] is not None and e["i"] is not None:
                total[int(e["t"]), int(e["i"])] += float(e["text"])
    np.testing.assert_allclose(total, tr.errors["o"][:, 0], atol=5 * 5e-4 * np.abs(tr.errors["o"]).max())
    page.hover('[data-node="o"][data-t="1"]')
    assert "own loss" in page.inner_text("#bptt-detail") and "through f(1)" in page.inner_text("#bptt-detail")
    session.check_clean()
