"""The seq2seq explorer in headless Chromium (Playwright, never downloaded): the page loads from
file:// without console errors or requests; stepping forward and back changes what is shown (the
encoder's states, then the decoder's steps with their attention rows, J, the decoder's errors from
the chosen loss term down, the encoder's errors, the gradient norms); every displayed number equals
the Python trace (or, for each loss term's decoder errors, the embedded JSON, which
tests/viz/test_seq2seq_explorer.py checks against autograd) to the displayed precision; selecting a
loss term draws that term's bars, whose heights are its ‖∂L(t)/∂e(j)‖ along each path.

Without Chromium the tests are skipped, except under CI, where a missing browser is a failure.
"""
import numpy as np
import pytest

import bptt
from bptt.data import PairVocab, batch_pairs
from bptt.viz.seq2seq_explorer import explain_seq2seq
import browser_helpers
from explorer_reference import decode, embedded_json, shown_equals

pytestmark = pytest.mark.browser
browser, session = browser_helpers.browser, browser_helpers.session      # the fixtures

SRC, TGT = PairVocab("abcdefghij"), PairVocab("0123456789-")
LR, BAR_H, DECADES = 0.2, 90, 6
READ = """() => Array.from(document.querySelectorAll('[data-key]')).map(e => ({
    key: e.dataset.key, idx: e.dataset.idx, name: e.dataset.name || null, text: e.textContent}))"""
BARS = """() => Array.from(document.querySelectorAll('[data-bar]')).map(e => ({path: e.dataset.bar,
    j: Number(e.dataset.j), term: Number(e.dataset.term), height: Number(e.getAttribute('height'))}))"""


def make(tmp_path, name, source, target, **config):
    model = bptt.Seq2Seq(SRC.size, TGT.size, 3, seed=5, **config)
    path = explain_seq2seq(tmp_path / f"{name}.html", model, SRC, TGT, input_text=source,
                           target_text=target, lr=LR)
    b = batch_pairs([(source, target)], SRC, TGT)
    return path, model, model.trace(b.src, b.tgt), embedded_json(path.read_text(encoding="utf-8"))


def expected(model, tr, data):
    """data-key -> array (indexed by data-idx), from the Python trace and model."""
    fw = model.forward(tr.src, tr.tgt)
    o = tr.o[:, 0]
    p = np.exp(o - o.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    T1 = o.shape[0]
    target = tr.tgt[1:, 0]
    out = {"forward.E": fw.E[:, 0], "forward.s": fw.dec.top[:, 0], "forward.ctx": fw.dec.ctx[:, 0],
           "forward.o": o, "forward.y_hat": p, "loss": np.array(tr.loss),
           "loss_terms": -np.log(p[np.arange(T1), target]), "errors.encoder": tr.encoder_errors[:, 0],
           "errors.s": tr.errors["s"][:, :, 0], "errors.ctx": tr.errors["ctx"][:, 0],
           "by_term.attention": tr.by_term_attention[:, :, 0], "by_term.final": tr.by_term_final[:, :, 0]}
    if tr.alpha is not None:
        out.update({"forward.alpha": tr.alpha[:, :, 0], "errors.score": tr.errors["score"][:, :, 0]})
    for path in ("attention", "final", "total"):
        out["reach." + path] = np.stack([tr.reach(t)[path] for t in range(T1)])
    out["reach_J.attention"] = np.linalg.norm(tr.by_term_attention[:, :, 0].sum(0), axis=-1)
    out["reach_J.final"] = np.linalg.norm(tr.by_term_final[:, :, 0].sum(0), axis=-1)
    out["reach_J.total"] = np.linalg.norm(tr.encoder_errors[:, 0], axis=-1)
    for k, a in data["term_errors"].items():
        if a is not None:
            out["term_errors." + k] = decode(a)
    for k, a in model.params.items():
        out[f"params.{k}.norm"] = np.array(np.linalg.norm(a))
        out[f"params.{k}.grad_norm"] = np.array(np.linalg.norm(tr.grads[k]))
    return out


def check_numbers(page, want, lr=LR):
    """Every displayed number equals the trace to 4 significant digits; returns the keys shown."""
    bad, keys = [], set()
    for e in page.evaluate(READ):
        if e["key"] == "derived.update":
            value = lr * np.linalg.norm(want["grads"][e["name"]])
        else:
            idx = tuple(int(i) for i in e["idx"].split(",")) if e["idx"] else ()
            value = want[e["key"]][idx]
        if not shown_equals(e["text"], value):
            bad.append((e, value))
        keys.add(e["key"])
    assert bad == [], bad[:5]
    return keys


def root(page):
    return page.evaluate("() => ({...document.getElementById('s2s-root').dataset})")


def open_page(session, path):
    session.page.goto(path.as_uri())
    session.page.wait_for_selector("#s2s-svg")
    return session.page


def expected_bars(tr, term, log=False):
    """{(path, j): height} of a loss term's bars (term −1: J), from the trace's norms."""
    if term < 0:
        norms = {"attention": np.linalg.norm(tr.by_term_attention[:, :, 0].sum(0), axis=-1),
                 "final": np.linalg.norm(tr.by_term_final[:, :, 0].sum(0), axis=-1),
                 "total": np.linalg.norm(tr.encoder_errors[:, 0], axis=-1)}
    else:
        norms = tr.reach(term)
    top = max(norms[p].max() for p in norms)
    if log:
        scale = lambda v: 0 if v <= 0 else max(0, (np.log10(v) - np.log10(top) + DECADES) / DECADES) * BAR_H  # noqa: E731
    else:
        scale = lambda v: v / top * BAR_H                                            # noqa: E731
    return {(p, j): scale(v) for p in norms for j, v in enumerate(norms[p])}


def check_bars(page, tr, term, js=None, log=False):
    bars = page.evaluate(BARS)
    want = expected_bars(tr, term, log)
    assert {(b["path"], b["j"]) for b in bars} == set(want)
    for b in bars:
        assert b["term"] == term
        assert abs(b["height"] - want[(b["path"], b["j"])]) < 2e-3, b
    return bars


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("s2s")
    return {"additive": make(tmp, "att", "badge", "31-2", attention="additive"),
            "plain-bi": make(tmp, "bi", "cafe", "9-80", cell="lstm", attention=None,
                             bidirectional_encoder=True)}


@pytest.mark.parametrize("name", ["additive", "plain-bi"])
def test_stepping_forward_and_back(session, pages, name):
    path, model, tr, data = pages[name]
    page = open_page(session, path)
    want = expected(model, tr, data)
    want["grads"] = tr.grads
    S, T1 = tr.src.shape[0], tr.o.shape[0]
    dirs = 2 if model.bidirectional_encoder else 1
    n = 1 + dirs * S + T1 + 1 + T1 + dirs * S + 1                   # backward from L(T'−1), the default
    assert root(page)["n"] == str(n) and root(page)["term"] == str(T1 - 1)
    seen = []
    for k in range(n):
        r = root(page)
        assert r["step"] == str(k)
        keys = check_numbers(page, want)
        seen.append(r["phase"])
        on = page.evaluate("() => document.querySelectorAll('[data-node=dec] rect.on, [data-node=dec] rect.bwd').length")
        decoded = min(max(k - 1 - dirs * S + 1, 0), T1)              # decoder steps computed so far
        assert on == decoded
        if model.attention is not None:
            assert page.evaluate("() => document.querySelectorAll('#s2s-heat [data-key]').length") == decoded * S
        bars = page.evaluate(BARS)
        if r["phase"] == "decoder":
            t = int(r["t"])
            assert "forward.ctx" in keys and "forward.y_hat" in keys and ("forward.alpha" in keys) == (model.attention is not None)
            lines = page.evaluate("() => Array.from(document.querySelectorAll('path[data-att]')).map(e => [Number(e.dataset.att), Number(e.dataset.j)])")
            assert lines == ([[t, j] for j in range(S)] if model.attention else [])
        if r["phase"] == "back-decoder":
            assert "term_errors.s" in keys and "term_errors.ctx" in keys
        if r["phase"] == "back-encoder":
            assert "by_term.attention" in keys and "by_term.final" in keys
        done = {b["j"] for b in bars}
        if r["phase"] in ("back-encoder", "summary"):             # a bar once e(j)'s error is complete
            b = k - (1 + dirs * S + T1 + 1 + T1)
            want_j = set(range(S)) if r["phase"] == "summary" else (
                set(range(S - 1 - b, S)) if dirs == 1 else set(range(0, b - S + 1)) if b >= S else set())
            assert done == want_j, (k, done)
        else:
            assert bars == []
        assert ("params.dec.V.grad_norm" in keys) == (r["phase"] == "summary")
        if k < n - 1:
            page.click("#s2s-next")
    assert page.is_disabled("#s2s-next")
    assert seen == (["start"] + ["encoder"] * dirs * S + ["decoder"] * T1 + ["loss"]
                    + ["back-decoder"] * T1 + ["back-encoder"] * dirs * S + ["summary"])
    page.click("#s2s-back")
    assert root(page)["phase"] == "back-encoder" and root(page)["j"] == str(S - 1 if dirs == 2 else 0)
    page.focus("#s2s-root")
    page.keyboard.press("Home")
    assert root(page)["step"] == "0" and page.evaluate(BARS) == []
    page.keyboard.press("ArrowRight")
    assert root(page)["phase"] == "encoder" and "forward.E" in check_numbers(page, want)
    session.check_clean()


@pytest.mark.parametrize("name", ["additive", "plain-bi"])
def test_selecting_a_loss_term_shows_its_bars(session, pages, name):
    path, model, tr, data = pages[name]
    page = open_page(session, path)
    want = expected(model, tr, data)
    want["grads"] = tr.grads
    T1 = tr.o.shape[0]
    while not page.is_disabled("#s2s-next"):
        page.click("#s2s-next")
    assert root(page)["phase"] == "summary"
    for term in [-1] + list(range(T1)):
        page.select_option("#s2s-term", str(term))
        assert root(page)["term"] == str(term) and root(page)["phase"] == "summary"
        check_bars(page, tr, term)
        keys = check_numbers(page, want)
        assert ("reach_J.total" if term < 0 else "reach.total") in keys
        cells = page.evaluate("() => Array.from(document.querySelectorAll('#s2s-reach [data-key]')).map(e => e.dataset.idx)")
        assert len(cells) == 3 * tr.src.shape[0]
        assert all(c.startswith(f"{term},") for c in cells) or term < 0
    if model.attention is None:                                     # only the final-state path
        bars = page.evaluate(BARS)
        assert all(b["height"] == 0 for b in bars if b["path"] == "attention")
    page.check("#s2s-log")
    check_bars(page, tr, T1 - 1, log=True)
    page.uncheck("#s2s-log")
    page.click('[data-node="dec"][data-t="0"] rect')                 # clicking a decoder step picks L(0)
    assert root(page)["term"] == "0" and page.input_value("#s2s-term") == "0"
    check_bars(page, tr, 0)
    page.click("#s2s-back")                                          # back into the encoder: L(0)'s bars stay
    assert root(page)["phase"] == "back-encoder"
    check_bars(page, tr, 0)
    page.select_option("#s2s-term", "1")                             # the same encoder step, another term
    assert root(page)["phase"] == "back-encoder" and root(page)["term"] == "1"
    session.check_clean()


def test_backward_from_a_term_steps_through_the_decoder_steps_before_it(session, pages):
    path, model, tr, data = pages["additive"]
    page = open_page(session, path)
    S, T1 = tr.src.shape[0], tr.o.shape[0]
    page.select_option("#s2s-term", "2")
    steps = []
    while not page.is_disabled("#s2s-next"):
        page.click("#s2s-next")
        r = root(page)
        if r["phase"] == "back-decoder":
            steps.append(int(r["t"]))
            shown = page.evaluate("() => Array.from(document.querySelectorAll('#s2s-detail [data-key^=\"term_errors.s\"]')).map(e => e.dataset.idx)")
            assert shown and all(i.startswith(f"2,{r['t']},") for i in shown)
    assert steps == [2, 1, 0]                                          # t' = t .. 0 for L(2)
    assert root(page)["n"] == str(1 + S + T1 + 1 + 3 + S + 1)
    session.check_clean()
