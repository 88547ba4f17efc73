"""The explorer of a GRU trace without a browser: the embedded JSON equals the trace exactly (reset
gate after and before W_n, token and dense inputs, float32), the pre-activations it adds are the
ones the gates came from and equal an independent recomputation from the parameters, the page
carries the GRU's script and keys, hostile vocabularies stay literal, and the built-in GRU,
`explain(kind="gru")`, `bptt explain --kind gru` and `bptt explain --model DIR` of a trained GRU,
the notebook display, and the refusals."""
import html
import re

import numpy as np
import pytest

import bptt
from bptt.data.vocab import Vocab
from bptt.io.saving import load_model
from bptt.nn.activations import sigmoid
from bptt.viz import explorer
from bptt.viz.explorer import (DEFAULT_VOCAB, default_explorer_trace, explain, explorer_html,
                               explorer_payload, gru_preactivations)
from cli_run import TINY, bptt as run_bptt
from corpus import small_text
from explorer_gru_reference import (dense_gru_trace, error_keys, expected_values, float32_gru_trace,
                                    preactivations)
from explorer_reference import decode, embedded_json, json_values

LR = 0.25
TRACES = ["tokens", "dense-before", "dense-after", "float32"]


@pytest.fixture(scope="module")
def traces():
    return {"tokens": default_explorer_trace(kind="gru"), "dense-before": dense_gru_trace("before"),
            "dense-after": dense_gru_trace("after"), "float32": float32_gru_trace()}


@pytest.mark.parametrize("which", TRACES)
def test_embedded_json_equals_the_gru_trace_exactly(which, traces):
    tr = traces[which]
    data = embedded_json(explorer_html(tr, lr=LR))
    m, fwd = tr.model, tr.forward
    T, B, H = fwd.h.shape
    cfg = data["config"]
    assert (cfg["kind"], cfg["model"], cfg["reset"], cfg["gate_activation"]) == ("gru", "GRU", m.reset, "sigmoid")
    assert (cfg["activation"], cfg["output"]) == ("tanh", m.output)
    assert (cfg["input_size"], cfg["hidden_size"], cfg["output_size"]) == (m.input_size, H, m.output_size)
    assert (cfg["T"], cfg["B"], cfg["lr"], cfg["dtype"]) == (T, B, LR, fwd.h.dtype.name)
    assert cfg["tokens"] == (not which.startswith("dense"))
    exact = np.testing.assert_array_equal
    names = list(m.params)                                 # U_r … U_n, W_r … W_n, b_r … b_n, [b_hn], V, c
    assert list(data["params"]) == names == list(data["per_step"]) == list(data["grads"])
    assert names[:9] == ["U_r", "U_z", "U_n", "W_r", "W_z", "W_n", "b_r", "b_z", "b_n"]
    assert ("b_hn" in names) == (m.reset == "after")
    for k in names:
        exact(decode(data["params"][k]), m.params[k])
        exact(decode(data["per_step"][k]), tr.per_step[k])
        exact(decode(data["grads"][k]), tr.grads[k])
        exact(decode(data["updated"][k]), m.params[k] - LR * tr.grads[k])
    for k in ("h", "o", "y_hat", "h_last"):
        exact(decode(data["forward"][k]), getattr(fwd, k))
    assert set(data["forward"]["gates"]) == set("rzn")
    for g in "rzn":
        exact(decode(data["forward"]["gates"][g]), fwd.gates[g])
    hats = {"r_hat", "z_hat", "n_hat"} | ({"hn_hat"} if m.reset == "after" else set())
    assert set(data["forward"]) == {"h", "o", "y_hat", "h_last", "gates"} | hats
    assert set(data["errors"]) == set(error_keys(tr)) == {"o", "h"} | hats
    for k in error_keys(tr):
        exact(decode(data["errors"][k]), tr.errors[k])
    assert set(data["errors_by_source"]) == {"h"}
    exact(decode(data["errors_by_source"]["h"]), tr.errors_by_source["h"])
    assert decode(data["errors_by_source"]["h"]).shape == (T, T, B, H)
    for k in ("x", "y", "h0", "mask", "dh0"):
        exact(decode(data[k]), getattr(tr, k))
    assert data["loss"] == tr.loss
    tol = 1e-12 if fwd.h.dtype == np.float64 else 1e-5
    assert abs(sum(map(sum, data["loss_terms"])) - tr.loss) < tol          # Σ_t Σ_b L(t, b) = J
    if cfg["tokens"]:                                                        # token ids stay ints
        assert all(isinstance(i, int) for row in data["x"] for i in row)


@pytest.mark.parametrize("which", TRACES)
def test_preactivations_are_the_ones_the_gates_came_from(which, traces):
    tr = traces[which]
    pre = gru_preactivations(tr)
    gates = tr.forward.gates
    np.testing.assert_array_equal(sigmoid(pre["r_hat"]), gates["r"])         # exactly, bit for bit
    np.testing.assert_array_equal(sigmoid(pre["z_hat"]), gates["z"])
    np.testing.assert_array_equal(np.tanh(pre["n_hat"]), gates["n"])
    h_prev = np.concatenate([tr.h0[None], tr.forward.h[:-1]])
    np.testing.assert_array_equal((1 - gates["z"]) * gates["n"] + gates["z"] * h_prev, tr.forward.h)
    assert ("hn_hat" in pre) == (tr.model.reset == "after")
    tol = 1e-12 if tr.forward.h.dtype == np.float64 else 1e-5
    data = embedded_json(explorer_html(tr))
    want = preactivations(tr)                                                # an independent formula
    assert set(want) == {f"forward.{k}" for k in pre}
    for key, value in want.items():
        k = key.split(".")[1]
        np.testing.assert_allclose(pre[k], value, rtol=tol, atol=tol)
        np.testing.assert_array_equal(decode(data["forward"][k]), pre[k])
    if tr.model.reset == "after":                                           # ∂J/∂ĥn = r ⊙ ∂J/∂n̂
        np.testing.assert_allclose(tr.errors["hn_hat"], gates["r"] * tr.errors["n_hat"], rtol=1e-15)


def test_every_key_the_page_shows_is_in_the_json_or_documented(traces):
    """The data-key values the GRU script writes resolve in the JSON (the browser tests read them)."""
    for which in ("tokens", "dense-before"):
        tr = traces[which]
        page = explorer_html(tr, lr=LR)
        js = json_values(embedded_json(page))
        want = expected_values(tr, LR)
        assert set(want) - {"onehot.y"} <= set(js)
        for k in ("forward.gates.", "forward.hn_hat", "errors.\" + kind + \"_hat", 'A("h0", {b: b})',
                  '"dh0"', "norm.errors_by_source.", 'data-bar="', "cellpath"):
            assert k in page, k
        assert "function gruCaption" in page
        assert "function rnnCaption" not in page and "function lstmCaption" not in page
        assert page.count('<script type="application/json"') == 1 and 'class="bptt"' in page


def test_hostile_vocabularies_stay_literal(traces):
    tr = traces["tokens"]
    evil = '</script><script>alert("x")</script><!-- & \u2028'
    labels = ["</script>", "<!--", "&amp;", "<b>x</b>"]
    page = explorer_html(tr, title=evil, vocab=labels)
    assert page.lower().count("</script") == 2                     # the JSON's and the code's
    assert page.count("<!--") == 0
    start = page.index('id="bptt-trace">')
    body = page[start:page.index("</script>", start)]
    assert "<" not in body.split(">", 1)[1] and "\u2028" not in body
    data = embedded_json(page)
    assert data["config"]["title"] == evil and data["config"]["labels"] == labels
    assert f"<title>{html.escape(evil)}</title>" in page
    frag = explorer_html(tr, inline=True, title=evil, vocab=labels)
    assert frag.count("<") == 2 and html.unescape(re.search(r'srcdoc="([^"]*)"', frag).group(1)) == page


def test_payload_notebook_display_and_page(traces):
    tr = traces["tokens"]
    payload = explorer_payload(tr, vocab=DEFAULT_VOCAB)
    assert payload["config"]["labels"] == list(DEFAULT_VOCAB) and payload["config"]["kind"] == "gru"
    frag = tr._repr_html_()                                         # Jupyter shows the explorer
    assert frag == explorer_html(tr, inline=True)
    assert frag.startswith('<iframe class="bptt-explorer"') and "height:" in frag
    page = explorer_html(tr)
    assert "http://" not in page and "https://" not in page and page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""\b(src|href)\s*=\s*["'](?!data:)""", page)
    stacked = bptt.GRU(4, 3, 4, num_layers=2).trace(np.array([[1], [2]]), np.array([[0], [3]]))
    assert stacked._repr_html_() is None                           # the plain repr for stacked models


def test_default_gru_trace_is_tiny_and_deterministic():
    tr = default_explorer_trace(kind="gru")
    m = tr.model
    assert type(m).__name__ == "GRU" and m.num_layers == 1 and m.reset == "after"
    assert (m.input_size, m.hidden_size, m.output_size) == (4, 3, 4)
    assert tr.x.tolist() == [[1], [0], [2], [2]] and tr.y.tolist() == [[0], [2], [2], [3]]  # "hell" → "ello"
    again = default_explorer_trace(0, None, "gru")
    assert all(np.array_equal(m.params[k], again.model.params[k]) for k in m.params)
    assert not np.array_equal(m.params["W_z"], default_explorer_trace(seed=1, kind="gru").model.params["W_z"])
    assert default_explorer_trace(input_text="hole", kind="gru").x.shape == (3, 1)


def test_explain_kind_gru_and_a_gru_model(tmp_path):
    data = embedded_json(explain(tmp_path / "g.html", kind="gru", input_text="helloo", seed=2).read_text())
    assert data["config"]["kind"] == "gru" and data["config"]["T"] == 5
    assert "GRU" in data["config"]["title"] and "helloo" in data["config"]["title"]
    vocab = Vocab("abc d")
    model = bptt.GRU(vocab.size, 3, vocab.size, reset="before", seed=1)
    data = embedded_json(explain(tmp_path / "m.html", model=model, vocab=vocab, input_text="a bad cab").read_text())
    assert data["config"]["kind"] == "gru" and data["config"]["reset"] == "before"
    assert data["config"]["labels"] == list(vocab.chars) and "b_hn" not in data["params"]
    explain(tmp_path / "k.html", model=model, vocab=vocab, input_text="abc", kind="gru")
    out = tmp_path / "e.html"
    with pytest.raises(ValueError, match=r"'kind' parameter of explain is 'lstm', but the model is a GRU \(kind 'gru'\)"):
        explain(out, model=model, vocab=vocab, input_text="abc", kind="lstm")
    with pytest.raises(ValueError, match=r"'kind' parameter of explain must be one of 'rnn', 'lstm', 'gru', 'output_rnn', 'seq2seq'. Got 'GRU'"):
        explain(out, kind="GRU")
    assert not out.exists()


def test_cli_explain_kind_gru_and_a_trained_gru(tmp_path):
    page = tmp_path / "gru.html"
    r = run_bptt("explain", "--kind", "gru", "--out", page)
    assert r.returncode == 0, r.stderr
    data = embedded_json(page.read_text(encoding="utf-8"))
    assert data == embedded_json(explain(tmp_path / "lib.html", kind="gru").read_text(encoding="utf-8"))
    assert (data["config"]["kind"], data["config"]["T"], data["config"]["labels"]) == ("gru", 4, list(DEFAULT_VOCAB))
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(small_text(3000), encoding="utf-8")
    run = tmp_path / "run"
    r = run_bptt("train", corpus, "--model", "gru", "--out", run, "--steps", 3, "--checkpoint-every", 3,
                 *TINY, timeout=300)
    assert r.returncode == 0, r.stderr
    r = run_bptt("explain", "--out", tmp_path / "m.html", "--model", run, "--input", "the cat sat")
    assert r.returncode == 0, r.stderr
    data = embedded_json((tmp_path / "m.html").read_text(encoding="utf-8"))
    model = load_model(run)[0]
    assert (data["config"]["kind"], data["config"]["hidden_size"], len(data["x"])) == ("gru", 16, 10)
    for k, p in model.params.items():
        np.testing.assert_array_equal(decode(data["params"][k]), p)


def test_refuses_stacked_large_and_foreign_traces(traces, monkeypatch):
    stacked = bptt.GRU(4, 3, 4, num_layers=2).trace(np.array([[1], [2]]), np.array([[0], [3]]))
    with pytest.raises(ValueError, match=r"one-layer SimpleRNN, LSTM or GRU; .* Got num_layers=2"):
        explorer_html(stacked)
    with pytest.raises(TypeError, match=r"'trace' argument of explorer_html must be the trace of a "
                                        r"SimpleRNN, an LSTM or a GRU.* Got dict instead"):
        explorer_html({"forward": 1})
    monkeypatch.setattr(explorer, "MAX_NUMBERS", 500)
    with pytest.raises(ValueError, match=r"too large for the explorer: T=4, B=1, H=3 .* above its limit of 500"):
        explorer_html(traces["tokens"])


def test_a_mean_pooled_trace_is_refused_with_the_reason():
    model = bptt.GRU(4, 3, 2, seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 4, size=(5, 2)), rng.integers(0, 2, size=(2,))
    with pytest.raises(ValueError, match=r"has one loss per sequence \(pooling='mean'\); the explorer "
                                         r"draws a loss L\(t\) at every step"):
        explorer_html(model.trace(x, y, pooling="mean"))
    assert explorer_html(model.trace(x, y, pooling="last")).startswith("<!DOCTYPE html>")
    assert model.trace(x, y, pooling="mean")._repr_html_() is None      # Jupyter falls back to repr
