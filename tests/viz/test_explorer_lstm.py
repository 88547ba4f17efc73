"""The explorer of an LSTM trace without a browser: the embedded JSON equals the trace exactly
(with and without peepholes, token and dense inputs, float32), the pre-activations it adds are
the ones the gates came from, the page carries the LSTM's script and keys, and the built-in LSTM,
`explain(kind=...)` and the refusals."""
import numpy as np
import pytest

import bptt
from bptt.nn.activations import sigmoid
from bptt.data.vocab import Vocab
from bptt.viz import explorer
from bptt.viz.explorer import (DEFAULT_VOCAB, default_explorer_trace, explain, explorer_html,
                               explorer_payload, lstm_preactivations)
from explorer_reference import (decode, dense_lstm_trace, embedded_json, expected_values, json_values,
                                preactivations)

LR = 0.25
ERRORS = ("o", "h", "c", "z_hat", "i_hat", "f_hat", "o_hat")


@pytest.fixture(scope="module")
def tok():
    return default_explorer_trace(kind="lstm")


@pytest.fixture(scope="module")
def dense():
    return dense_lstm_trace()


def _float32():
    model = bptt.LSTM(4, 3, 4, dtype="float32", peepholes=True, seed=4)
    return model.trace(np.array([[1, 2], [0, 3], [2, 2]]), np.array([[0, 1], [3, 3], [1, 0]]))


@pytest.mark.parametrize("which", ["tokens", "dense", "float32"])
def test_embedded_json_equals_the_lstm_trace_exactly(which, tok, dense):
    tr = {"tokens": tok, "dense": dense}.get(which) or _float32()
    data = embedded_json(explorer_html(tr, lr=LR))
    m, fwd = tr.model, tr.forward
    T, B, H = fwd.h.shape
    cfg = data["config"]
    assert (cfg["kind"], cfg["model"], cfg["peepholes"]) == ("lstm", "LSTM", m.peepholes)
    assert (cfg["activation"], cfg["gate_activation"], cfg["output"]) == ("tanh", "sigmoid", m.output)
    assert (cfg["input_size"], cfg["hidden_size"], cfg["output_size"]) == (m.input_size, H, m.output_size)
    assert (cfg["T"], cfg["B"], cfg["lr"], cfg["dtype"]) == (T, B, LR, fwd.h.dtype.name)
    assert cfg["tokens"] == (which != "dense")
    exact = np.testing.assert_array_equal
    names = list(m.params)                                  # W_z … W_o, R_*, b_*, [p_*], V, c
    assert list(data["params"]) == names == list(data["per_step"]) == list(data["grads"])
    assert ("p_i" in names) == m.peepholes
    for k in names:
        exact(decode(data["params"][k]), m.params[k])
        exact(decode(data["per_step"][k]), tr.per_step[k])
        exact(decode(data["grads"][k]), tr.grads[k])
        exact(decode(data["updated"][k]), m.params[k] - LR * tr.grads[k])
    for k in ("h", "c", "o", "y_hat", "h_last", "c_last"):
        exact(decode(data["forward"][k]), getattr(fwd, k))
    assert set(data["forward"]["gates"]) == set("zifo")
    for g in "zifo":
        exact(decode(data["forward"]["gates"][g]), fwd.gates[g])
        assert decode(data["forward"][f"{g}_hat"]).shape == (T, B, H)
    assert set(data["errors"]) == set(ERRORS)
    for k in ERRORS:
        exact(decode(data["errors"][k]), tr.errors[k])
    assert set(data["errors_by_source"]) == {"c", "h"}
    for k in ("c", "h"):
        exact(decode(data["errors_by_source"][k]), tr.errors_by_source[k])
        assert decode(data["errors_by_source"][k]).shape == (T, T, B, H)
    exact(decode(data["h0"]), np.stack(tr.h0))              # the pair (h0, c0): (2, B, H)
    exact(decode(data["dh0"]), np.stack(tr.dh0))            # (∂J/∂h0, ∂J/∂c0)
    for k in ("x", "y", "mask"):
        exact(decode(data[k]), getattr(tr, k))
    assert data["loss"] == tr.loss
    tol = 1e-12 if fwd.h.dtype == np.float64 else 1e-5
    assert abs(sum(map(sum, data["loss_terms"])) - tr.loss) < tol


@pytest.mark.parametrize("which", ["tokens", "dense", "float32"])
def test_preactivations_are_the_ones_the_gates_came_from(which, tok, dense):
    tr = {"tokens": tok, "dense": dense}.get(which) or _float32()
    pre = lstm_preactivations(tr)
    data = embedded_json(explorer_html(tr))
    gates = tr.forward.gates
    np.testing.assert_array_equal(np.tanh(pre["z_hat"]), gates["z"])        # exactly, bit for bit
    for g in "ifo":
        np.testing.assert_array_equal(sigmoid(pre[f"{g}_hat"]), gates[g])
    tol = 1e-12 if tr.forward.h.dtype == np.float64 else 1e-5
    for k, want in preactivations(tr).items():                            # an independent formula
        np.testing.assert_allclose(pre[k.split(".")[1]], want, rtol=tol, atol=tol)
        np.testing.assert_array_equal(decode(data["forward"][k.split(".")[1]]), pre[k.split(".")[1]])


def test_every_key_the_page_shows_is_in_the_json_or_documented(tok, dense):
    """The data-key values the LSTM script writes resolve in the JSON (the browser tests read them)."""
    for tr in (tok, dense):
        page = explorer_html(tr, lr=LR)
        js = json_values(embedded_json(page))
        want = expected_values(tr, LR)
        assert set(want) - {"onehot.y"} <= set(js)
        for k in ("forward.gates.", "forward.\" + g + \"_hat", "errors.c", "errors.\" + kind + \"_hat",
                  "h0.\" + k", "dh0.\" + k", "norm.errors_by_source.", 'data-bar="'):
            assert k in page, k
        assert "function lstmCaption" in page and "function rnnCaption" not in page
    assert "function rnnCaption" in explorer_html(default_explorer_trace())


def test_payload_and_inline_fragment(tok):
    payload = explorer_payload(tok, vocab=DEFAULT_VOCAB)
    assert payload["config"]["labels"] == list(DEFAULT_VOCAB) and payload["config"]["kind"] == "lstm"
    frag = explorer_html(tok, inline=True)
    assert frag.startswith('<iframe class="bptt-explorer"') and "height:" in frag
    page = explorer_html(tok)
    assert "http://" not in page and "https://" not in page and page.startswith("<!DOCTYPE html>")


def test_default_lstm_trace_is_tiny_and_deterministic():
    tr = default_explorer_trace(kind="lstm")
    m = tr.model
    assert type(m).__name__ == "LSTM" and m.num_layers == 1 and not m.peepholes
    assert max(m.input_size, m.hidden_size, m.output_size) <= 5 and tr.x.shape[0] <= 8
    assert tr.x.tolist() == [[1], [0], [2], [2]] and tr.y.tolist() == [[0], [2], [2], [3]]
    again = default_explorer_trace(0, None, "lstm")
    assert all(np.array_equal(m.params[k], again.model.params[k]) for k in m.params)
    assert not np.array_equal(m.params["R_f"], default_explorer_trace(seed=1, kind="lstm").model.params["R_f"])
    assert default_explorer_trace(input_text="hole", kind="lstm").x.shape == (3, 1)
    with pytest.raises(ValueError, match=r"'kind' parameter of default_explorer_trace must be one of 'rnn', 'lstm', 'gru'"):
        default_explorer_trace(kind="tcn")


def test_explain_kind(tmp_path):
    data = embedded_json(explain(tmp_path / "l.html", kind="lstm", input_text="helloo", seed=2).read_text())
    assert data["config"]["kind"] == "lstm" and data["config"]["T"] == 5
    assert "LSTM" in data["config"]["title"] and "helloo" in data["config"]["title"]
    assert embedded_json(explain(tmp_path / "r.html", kind="rnn").read_text())["config"]["kind"] == "rnn"
    assert embedded_json(explain(tmp_path / "d.html").read_text())["config"]["kind"] == "rnn"
    vocab = Vocab("abc d")
    model = bptt.LSTM(vocab.size, 3, vocab.size, seed=1)
    data = embedded_json(explain(tmp_path / "m.html", model=model, vocab=vocab, input_text="a bad cab").read_text())
    assert data["config"]["kind"] == "lstm" and data["config"]["labels"] == list(vocab.chars)
    explain(tmp_path / "k.html", model=model, vocab=vocab, input_text="abc", kind="lstm")
    out = tmp_path / "e.html"
    with pytest.raises(ValueError, match=r"'kind' parameter of explain is 'rnn', but the model is a LSTM"):
        explain(out, model=model, vocab=vocab, input_text="abc", kind="rnn")
    with pytest.raises(ValueError, match=r"'kind' parameter of explain must be one of"):
        explain(out, kind="LSTM")
    assert not out.exists()


def test_refuses_stacked_and_large_lstm_traces(tok, monkeypatch):
    stacked = bptt.LSTM(4, 3, 4, num_layers=2).trace(np.array([[1], [2]]), np.array([[0], [3]]))
    with pytest.raises(ValueError, match=r"one-layer SimpleRNN, LSTM or GRU; .* Got num_layers=2"):
        explorer_html(stacked)
    monkeypatch.setattr(explorer, "MAX_NUMBERS", 500)
    with pytest.raises(ValueError, match=r"too large for the explorer: T=4, B=1, H=3 .* above its limit of 500"):
        explorer_html(tok)
