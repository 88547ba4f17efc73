"""The explorer of the other designs without a browser: a bidirectional SimpleRNN/LSTM/GRU trace and
an OutputRNN trace (teacher forcing, free running, scheduled) embed JSON equal to the trace, the
backward chain's per-step gradients in x's time order (checked against the hand formula
∂J/∂a′(t) x(t)ᵀ), the page carries the design's script; `explain(bidirectional=True)` and
`explain(kind="output_rnn", mode=...)` and their refusals."""
import numpy as np
import pytest

import bptt
from bptt.viz.explorer import explain, explorer_html, explorer_payload
from bptt.viz.explorer_designs import VOWEL_LABELS
from explorer_reference import decode, embedded_json

LR = 0.2
exact = np.testing.assert_array_equal


def bi_trace(kind="rnn", B=2, T=5, seed=0, **kw):
    rng = np.random.default_rng(seed)
    cls = {"rnn": bptt.SimpleRNN, "lstm": bptt.LSTM, "gru": bptt.GRU}[kind]
    m = cls(4, 3, 4, bidirectional=True, seed=seed)
    x, y = rng.integers(0, 4, (T, B)), rng.integers(0, 4, (T, B))
    h0 = rng.normal(scale=0.5, size=(2, B, 3))
    h0 = (h0, rng.normal(scale=0.5, size=(2, B, 3))) if kind == "lstm" else h0
    return m.trace(x, y, h0=h0, **kw)


def or_trace(mode="free", feedback="probs", output="softmax", T=5, B=2):
    rng = np.random.default_rng(3)
    m = bptt.OutputRNN(3, 4, 3, feedback=feedback, output=output, seed=1)
    x = rng.normal(size=(T, B, 3))
    y = rng.integers(0, 3, (T, B)) if output == "softmax" else rng.normal(size=(T, B, 3))
    return m.trace(x, y, mode=mode, p_model=0.5, seed=4)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_bidirectional_json_equals_the_trace(kind):
    tr = bi_trace(kind)
    data = embedded_json(explorer_html(tr, lr=LR))
    cfg, m, layer = data["config"], tr.model, tr.forward.layers[0]
    assert (cfg["kind"], cfg["cell"], cfg["hidden_size"], cfg["T"], cfg["B"]) == ("bi", kind, 3, 5, 2)
    assert cfg["model"] == f"{type(m).__name__} (bidirectional)"
    assert list(data["params"]) == list(m.params) and any(k.endswith("@rev") for k in data["params"])
    exact(decode(data["forward"]["h"]), layer["h"])
    exact(decode(data["forward"]["h@rev"]), layer["g"])
    exact(decode(data["forward"]["o"]), tr.forward.o)
    for k in ("o", "h", "h@rev"):
        exact(decode(data["errors"][k]), tr.errors[k])
    for k in ("h", "h@rev"):
        exact(decode(data["errors_by_source"][k]), tr.errors_by_source[k])
    h0, dh0 = (tr.h0[0], tr.dh0[0]) if kind == "lstm" else (tr.h0, tr.dh0)
    for i, k in enumerate(("h", "h@rev")):
        exact(decode(data["h0"][k]), h0[i])
        exact(decode(data["dh0"][k]), dh0[i])
    if kind == "lstm":
        exact(decode(data["c0"]["c@rev"]), tr.h0[1][1])
        exact(decode(data["dc0"]["c"]), tr.dh0[1][0])
        exact(decode(data["forward"]["c@rev"]), layer["c@rev"])
    for k in m.params:
        ps = decode(data["per_step"][k])
        np.testing.assert_allclose(ps.sum(axis=0), tr.grads[k], rtol=1e-12, atol=1e-14)
        exact(ps, tr.per_step[k][::-1] if "@rev" in k else tr.per_step[k])
        exact(decode(data["updated"][k]), m.params[k] - LR * tr.grads[k])


def test_backward_chain_contributions_are_in_time_order():
    """Row t of per_step["U@rev"] is Σ_b ∂J/∂a′(t, b) onehot(x(t, b))ᵀ, row t of "b@rev" Σ_b ∂J/∂a′(t, b)."""
    tr = bi_trace("rnn")
    data = embedded_json(explorer_html(tr))
    da = tr.errors["a@rev"]                                    # (T, B, H), x's time order
    T, B, H = da.shape
    for t in range(T):
        want = np.zeros((H, 4))
        for b in range(B):
            want[:, tr.x[t, b]] += da[t, b]
        np.testing.assert_allclose(decode(data["per_step"]["U@rev"])[t], want, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(decode(data["per_step"]["b@rev"])[t], da[t].sum(axis=0), rtol=1e-12)


@pytest.mark.parametrize("mode", ["teacher", "free", "scheduled"])
def test_output_rnn_json_equals_the_trace(mode):
    tr = or_trace(mode)
    data = embedded_json(explorer_html(tr, lr=LR))
    cfg, fwd = data["config"], tr.forward
    assert (cfg["kind"], cfg["model"], cfg["mode"], cfg["feedback"]) == ("output_rnn", "OutputRNN", mode, "probs")
    for k in ("a", "h", "o", "y_hat", "fed", "through"):
        exact(decode(data["forward"][k]), getattr(fwd, k))
    exact(decode(data["forward"]["use_model"]), fwd.use_model.astype(int))
    exact(decode(data["h0"]), fwd.fed[0])
    exact(decode(data["dh0"]), tr.dy0)
    for k in ("o", "h", "a", "f"):
        exact(decode(data["errors"][k]), tr.errors[k])
    for k in ("a", "h"):
        exact(decode(data["errors_by_source"][k]), tr.errors_by_source[k])
    for k in ("U", "W", "b", "V", "c"):
        exact(decode(data["per_step"][k]), tr.per_step[k])
    flow = np.linalg.norm(decode(data["errors_by_source"]["a"]), axis=-1).sum(axis=-1)   # (s, t)
    # L(s) reaches a(t), t < s, iff some sequence fed its own ŷ back at every step t, ..., s − 1
    thr = fwd.through
    want = np.array([[t == s or (t < s and (thr[t:s] == 1).all(axis=0).any()) for t in range(5)] for s in range(5)])
    exact(flow > 0, want)
    if mode == "teacher":
        exact(want, np.eye(5, dtype=bool))                     # the diagonal only
    if mode == "free":
        exact(want, np.tril(np.ones((5, 5), bool)))            # the full lower triangle


def test_the_page_carries_the_designs_script():
    bi = explorer_html(bi_trace("gru"))
    orn = explorer_html(or_trace())
    assert "function bphase(k)" in bi and "function bphase(k)" not in orn
    assert "function fedDetail(" in orn and "function fedDetail(" not in bi
    assert 'id="bptt-source"' in bi and explorer_html(or_trace(), inline=True).startswith("<iframe")


def test_refusals():
    two = bptt.SimpleRNN(3, 2, 2, num_layers=2, bidirectional=True).trace(np.zeros((3, 1, 3)), np.zeros((3, 1), int))
    with pytest.raises(ValueError, match="'trace' argument of explorer_html must come from a one-layer model; the explorer draws one bidirectional layer. Got num_layers=2"):
        explorer_html(two)
    short = bi_trace("rnn", lengths=np.array([5, 3]))
    with pytest.raises(ValueError, match=r"has sequences shorter than T = 5 \(lengths=\[5, 3\]\).*Trace each sequence on its own"):
        explorer_payload(short)
    full = bi_trace("rnn", lengths=np.array([5, 5]))                  # every sequence has T steps
    assert embedded_json(explorer_html(full))["config"]["kind"] == "bi"
    with pytest.raises(TypeError, match="trace of a SimpleRNN, an LSTM or a GRU \\(also bidirectional=True\\), or an OutputRNN"):
        explorer_html(object())


def test_explain_bidirectional_tags_the_next_vowel(tmp_path):
    for kind in ("rnn", "lstm", "gru"):
        data = embedded_json(explain(tmp_path / f"{kind}.html", kind=kind, bidirectional=True).read_text())
        cfg = data["config"]
        assert (cfg["kind"], cfg["cell"], cfg["T"], cfg["output_size"]) == ("bi", kind, 5, 2)
        assert cfg["output_labels"] == VOWEL_LABELS and cfg["labels"] == list("ehlo")
        assert "bidirectional" in cfg["title"] and "vowel" in cfg["title"]
        # "hello": h→e vowel, e→l no, l→l no, l→o vowel, o→(end) no; the inputs are all of "hello"
        assert [r[0] for r in data["y"]] == [1, 0, 0, 1, 0]
        assert ["ehlo"[r[0]] for r in data["x"]] == list("hello")
    page = (tmp_path / "rnn.html").read_text()
    assert "bptt-lab" not in page                                   # the explorer alone


def test_explain_output_rnn_modes(tmp_path):
    for mode, word in ((None, "teacher forcing"), ("teacher", "teacher forcing"), ("free", "free running")):
        data = embedded_json(explain(tmp_path / "o.html", kind="output_rnn", mode=mode, input_text="hello").read_text())
        assert (data["config"]["kind"], data["config"]["mode"], data["config"]["T"]) == ("output_rnn", mode or "teacher", 4)
        assert word in data["config"]["title"]
    m = bptt.OutputRNN(4, 3, 4, seed=2)
    data = embedded_json(explain(tmp_path / "m.html", model=m, vocab="ehlo", input_text="hole", mode="free").read_text())
    assert data["config"]["mode"] == "free" and data["config"]["labels"] == list("ehlo")


def test_explain_refuses_bad_combinations(tmp_path):
    out = tmp_path / "x.html"
    with pytest.raises(ValueError, match="'mode' parameter of explain is for the output-recurrent model.*Got mode='free' with kind='rnn'"):
        explain(out, mode="free")
    with pytest.raises(ValueError, match="'mode' parameter of explain must be 'teacher' .* or 'free' .*Got 'scheduled'"):
        explain(out, kind="output_rnn", mode="scheduled")
    with pytest.raises(ValueError, match="'bidirectional' parameter of explain is for the SimpleRNN, LSTM and GRU"):
        explain(out, kind="output_rnn", bidirectional=True)
    with pytest.raises(ValueError, match="'bidirectional' parameter of explain is for the built-in model"):
        explain(out, model=bptt.SimpleRNN(4, 2, 4), vocab="ehlo", input_text="hel", bidirectional=True)
    with pytest.raises(ValueError, match="'lab_open' parameter of explain opens the lab.*OutputRNN gets the explorer alone"):
        explain(out, kind="output_rnn", lab_open=True)
    with pytest.raises(ValueError, match="'lab_open' parameter of explain opens the lab.*bidirectional model gets"):
        explain(out, bidirectional=True, lab_open=True)
    with pytest.raises(TypeError, match="'bidirectional' parameter of explain must be True or False. Got 'yes'"):
        explain(out, bidirectional="yes")
    with pytest.raises(ValueError, match="'kind' parameter of explain must be one of 'rnn', 'lstm', 'gru', 'output_rnn', 'seq2seq'. Got 'output-rnn'"):
        explain(out, kind="output-rnn")
    assert not out.exists()
