"""The explorer page without a browser: the embedded JSON equals the trace exactly, nothing is
loaded from the network, the JSON cannot break out of its <script>, the notebook fragment, the
built-in example and `explain`, and the error messages."""
import html
import json
import re

import numpy as np
import pytest

import bptt
from bptt.data.vocab import Vocab
from bptt.viz import explorer
from bptt.viz.explorer import (DEFAULT_VOCAB, default_explorer_trace, explain, explorer_html,
                               explorer_payload, write_explorer)
from explorer_reference import PARAMS, decode, dense_trace, embedded_json


@pytest.fixture(scope="module")
def tok_trace():
    return default_explorer_trace()


@pytest.fixture(scope="module")
def dense():
    return dense_trace()


@pytest.mark.parametrize("which", ["tokens", "dense", "float32"])
def test_embedded_json_equals_the_trace_exactly(which, tok_trace, dense):
    if which == "float32":
        model = bptt.SimpleRNN(4, 3, 4, dtype="float32", seed=4)
        tr = model.trace(np.array([[1, 2], [0, 3], [2, 2]]), np.array([[0, 1], [3, 3], [1, 0]]))
    else:
        tr = tok_trace if which == "tokens" else dense
    lr = 0.25
    data = embedded_json(explorer_html(tr, lr=lr))
    T, B, H = tr.forward.h.shape
    m = tr.model
    cfg = data["config"]
    assert cfg["activation"] == m.activation and cfg["output"] == m.output and cfg["kind"] == "rnn"
    assert (cfg["input_size"], cfg["hidden_size"], cfg["output_size"]) == (m.input_size, H, m.output_size)
    assert (cfg["T"], cfg["B"], cfg["lr"]) == (T, B, lr)
    assert cfg["tokens"] == (which != "dense") and cfg["dtype"] == tr.forward.h.dtype.name
    exact = np.testing.assert_array_equal
    for k in PARAMS:
        exact(decode(data["params"][k]), m.params[k])
        exact(decode(data["per_step"][k]), tr.per_step[k])
        exact(decode(data["grads"][k]), tr.grads[k])
        exact(decode(data["updated"][k]), m.params[k] - lr * tr.grads[k])
    for k in ("a", "h", "o", "y_hat", "h_last"):
        exact(decode(data["forward"][k]), getattr(tr.forward, k))
    for k in ("o", "h", "a"):
        exact(decode(data["errors"][k]), tr.errors[k])
    for k in ("a", "h"):
        exact(decode(data["errors_by_source"][k]), tr.errors_by_source[k])
    for k in ("x", "y", "h0", "mask", "dh0"):
        exact(decode(data[k]), getattr(tr, k))
    assert data["loss"] == tr.loss
    tol = 1e-12 if tr.forward.h.dtype == np.float64 else 1e-5
    assert abs(sum(map(sum, data["loss_terms"])) - tr.loss) < tol        # Σ_t Σ_b L(t, b) = J
    if which != "dense":                                                  # token ids stay ints
        assert all(isinstance(i, int) for row in data["x"] for i in row)
        assert all(isinstance(i, int) for row in data["y"] for i in row)
        assert decode(data["x"]).shape == (T, B) and decode(data["errors_by_source"]["a"]).shape == (T, T, B, H)


def test_payload_is_what_the_page_embeds(tok_trace):
    payload = explorer_payload(tok_trace, lr=0.1, vocab=DEFAULT_VOCAB)
    assert embedded_json(explorer_html(tok_trace, lr=0.1, vocab=DEFAULT_VOCAB)) == json.loads(json.dumps(payload))
    assert payload["config"]["labels"] == list(DEFAULT_VOCAB)


def test_page_loads_nothing_from_the_network(tok_trace, dense):
    for tr in (tok_trace, dense, default_explorer_trace(kind="lstm")):
        page = explorer_html(tr)
        assert "http://" not in page and "https://" not in page
        assert not re.search(r"""["'(=]\s*//""", page)                      # no protocol-relative URL
        assert not re.search(r"""\b(src|href)\s*=\s*["'](?!data:)""", page)    # only data: links
        assert "@import" not in page and not re.search(r"url\((?!#)", page)    # only url(#local-id)
        assert page.startswith("<!DOCTYPE html>")


def test_json_cannot_break_out_of_its_script(tok_trace):
    evil = '</script><script>alert("x")</script><!-- & \u2028'
    labels = ["</script>", "<!--", "&amp;", ">"]
    page = explorer_html(tok_trace, title=evil, vocab=labels)
    assert page.lower().count("</script") == 2                     # the JSON's and the code's
    assert page.count("<!--") == 0
    start = page.index('id="bptt-trace">')
    body = page[start:page.index("</script>", start)]
    assert "<" not in body.split(">", 1)[1] and "\u2028" not in body
    data = embedded_json(page)
    assert data["config"]["title"] == evil and data["config"]["labels"] == labels
    assert f"<title>{html.escape(evil)}</title>" in page


def test_nonfinite_numbers_keep_the_json_valid(tok_trace):
    import copy
    tr = copy.deepcopy(tok_trace)
    tr.forward.a[0, 0, 0] = np.nan
    tr.forward.a[1, 0, 1] = np.inf
    tr.forward.a[2, 0, 2] = -np.inf
    data = embedded_json(explorer_html(tr))                 # strict: NaN literals would raise
    assert data["forward"]["a"][0][0][0] == "NaN"
    assert data["forward"]["a"][1][0][1] == "Infinity"
    assert data["forward"]["a"][2][0][2] == "-Infinity"
    np.testing.assert_array_equal(decode(data["forward"]["a"]), tr.forward.a)


def test_inline_fragment_is_an_iframe_holding_the_page(tok_trace, dense):
    frag = explorer_html(tok_trace, inline=True, title="one")
    assert frag.startswith('<iframe class="bptt-explorer"') and frag.endswith("</iframe>")
    assert frag.count("<") == 2                                     # <iframe ...> and </iframe>
    srcdoc = html.unescape(re.search(r'srcdoc="([^"]*)"', frag).group(1))
    assert srcdoc == explorer_html(tok_trace, title="one")
    assert tok_trace._repr_html_() == explorer_html(tok_trace, inline=True)
    other = explorer_html(dense, inline=True)
    assert other != frag and "http://" not in frag + other


def test_write_explorer(tmp_path, tok_trace):
    path = write_explorer(tok_trace, str(tmp_path / "e.html"), lr=0.5, title="t")
    assert path == tmp_path / "e.html"
    assert path.read_text(encoding="utf-8") == explorer_html(tok_trace, lr=0.5, title="t")
    with pytest.raises(TypeError, match="no 'inline'"):
        write_explorer(tok_trace, tmp_path / "f.html", inline=True)
    with pytest.raises(TypeError, match="'path' argument of write_explorer"):
        write_explorer(tok_trace, 3)


def test_default_trace_is_tiny_and_deterministic():
    tr = default_explorer_trace()
    m = tr.model
    assert max(m.input_size, m.hidden_size, m.output_size) <= 5 and tr.x.shape[0] <= 8
    assert tr.x.tolist() == [[1], [0], [2], [2]] and tr.y.tolist() == [[0], [2], [2], [3]]  # "hell" → "ello"
    again = default_explorer_trace()
    assert all(np.array_equal(m.params[k], again.model.params[k]) for k in PARAMS)
    assert not np.array_equal(m.params["W"], default_explorer_trace(seed=1).model.params["W"])
    assert default_explorer_trace(input_text="hole").x.shape == (3, 1)


def test_explain_writes_the_page(tmp_path):
    path = explain(tmp_path / "x.html", input_text="helloo", seed=2)
    data = embedded_json(path.read_text(encoding="utf-8"))
    assert data["config"]["T"] == 5 and data["config"]["labels"] == list(DEFAULT_VOCAB)
    assert "helloo" in data["config"]["title"]
    assert embedded_json(explain(tmp_path / "d.html").read_text())["config"]["T"] == 4


def test_explain_with_a_model_and_its_vocab(tmp_path):
    vocab = Vocab("abc d")
    model = bptt.SimpleRNN(vocab.size, 4, vocab.size, seed=1)
    data = embedded_json(explain(tmp_path / "m.html", model=model, vocab=vocab,
                                 input_text="a bad cab").read_text())
    assert data["config"]["labels"] == list(vocab.chars) and data["config"]["T"] == 8
    assert [row[0] for row in data["x"]] == vocab.encode("a bad ca").tolist()
    data = embedded_json(explain(tmp_path / "f.html", model=model, input_text="abc",
                                 vocab=lambda s: vocab.encode(s)).read_text())
    assert data["config"]["labels"] is None
    data = embedded_json(explain(tmp_path / "s.html", model=model, input_text="abc",
                                 vocab=vocab.chars).read_text())
    assert data["config"]["labels"] == list(vocab.chars)


def test_explain_errors(tmp_path):
    out = tmp_path / "e.html"
    with pytest.raises(ValueError, match=r"not in the built-in vocabulary 'ehlo': 'x', 'z'"):
        explain(out, input_text="hexzx")
    with pytest.raises(ValueError, match=r"'input_text' argument of explain must have 2 to"):
        explain(out, input_text="h")
    with pytest.raises(TypeError, match=r"'input_text' argument of explain must be a str"):
        explain(out, input_text=5)
    with pytest.raises(TypeError, match=r"'seed' parameter of explain"):
        explain(out, seed="0")
    model = bptt.SimpleRNN(4, 3, 4)
    with pytest.raises(ValueError, match=r"'vocab' parameter of explain is needed with 'model'"):
        explain(out, model=model, input_text="hello")
    with pytest.raises(ValueError, match=r"'vocab' parameter of explain is only used with 'model'"):
        explain(out, vocab="ehlo")
    with pytest.raises(ValueError, match=r"'input_text' argument of explain is needed"):
        explain(out, model=model, vocab="ehlo")
    with pytest.raises(ValueError, match=r"not in the vocabulary: 'q'"):
        explain(out, model=model, vocab="ehlo", input_text="hq")
    assert not out.exists()


def test_explorer_html_errors(tok_trace, monkeypatch):
    with pytest.raises(TypeError, match=r"'trace' argument of explorer_html must be the trace of a SimpleRNN, an LSTM or a GRU"):
        explorer_html({"forward": 1})
    with pytest.raises(ValueError, match=r"'lr' parameter of explorer_html"):
        explorer_html(tok_trace, lr=-0.1)
    with pytest.raises(ValueError, match=r"'lr' parameter of explorer_html"):
        explorer_html(tok_trace, lr=float("nan"))
    with pytest.raises(TypeError, match=r"'lr' parameter of explorer_html"):
        explorer_html(tok_trace, lr="0.1")
    with pytest.raises(TypeError, match=r"'inline' parameter of explorer_html must be a bool"):
        explorer_html(tok_trace, inline="yes")
    with pytest.raises(TypeError, match=r"'title' parameter of explorer_html"):
        explorer_html(tok_trace, title=3)
    with pytest.raises(ValueError, match=r"has 4 ids, but vocab has 3 labels"):
        explorer_html(tok_trace, vocab="ehl")
    with pytest.raises(TypeError, match=r"'vocab' parameter of explorer_html"):
        explorer_html(tok_trace, vocab=3)
    stacked = bptt.SimpleRNN(4, 3, 4, num_layers=2).trace(np.array([[1], [2]]), np.array([[0], [3]]))
    with pytest.raises(ValueError, match=r"one-layer SimpleRNN, LSTM or GRU; .* Got num_layers=2"):
        explorer_html(stacked)
    monkeypatch.setattr(explorer, "MAX_NUMBERS", 100)
    with pytest.raises(ValueError, match=r"too large for the explorer: T=4, B=1, H=3 .* above its limit of 100"):
        explorer_html(tok_trace)
