"""The seq2seq explorer without a browser (bptt.viz.seq2seq_explorer): the embedded JSON equals the
trace's arrays, and what the trace does not keep (the encoder's states, the contexts, the decoder's
states, each loss term's decoder errors) equals a PyTorch autograd pass of the same model built
here one step at a time; the refusals of a batch, vocabularies that disagree, another model's trace;
the built-in model and explain(kind="seq2seq")."""
import numpy as np
import pytest
import torch
from torch.func import functional_call

import bptt
from bptt.cells.seq2seq.stepper import Seq2SeqStepper
from bptt.data import EOS, PairVocab, batch_pairs
from bptt.decode import greedy
from bptt.viz import seq2seq_explorer as s2s
from bptt.viz.explorer import explain
from explorer_reference import decode, embedded_json
from seq2seq_reference import MODULES, _weights

SRC, TGT = PairVocab("abcdefghij"), PairVocab("0123456789-")
CONFIGS = [dict(cell="gru", attention="additive"),
           dict(cell="lstm", attention=None, bidirectional_encoder=True),
           dict(cell="rnn", attention="dot", num_layers=2),
           dict(cell="lstm", attention="general", bidirectional_encoder=True, num_layers=2)]


def pair(model, source="badge", target="21-4"):
    b = batch_pairs([(source, target)], SRC, TGT)
    return b, model.trace(b.src, b.tgt, b.src_mask, b.tgt_mask)


def torch_pass(model, src, tgt):
    """E (S, K), s (T', K), ctx (T', K), logits (T', V), L(t) (T',) and the errors of each loss
    term alone, ∂L(t)/∂s(t'), ∂L(t)/∂ctx(t'), ∂L(t)/∂score(t', j), by autograd (B = 1)."""
    P = {k: torch.tensor(a, dtype=torch.float64, requires_grad=True) for k, a in model.params.items()}
    kind, L, H, K = model.cell, model.num_layers, model.hidden_size, model.K
    dirs = 2 if model.bidirectional_encoder else 1
    Vs, Vt = model.src_vocab_size, model.tgt_vocab_size
    enc = MODULES[kind](Vs, H, num_layers=L, bidirectional=dirs == 2, dtype=torch.float64)
    dec = MODULES[kind](Vt + K, K, num_layers=L, dtype=torch.float64)
    x = torch.nn.functional.one_hot(torch.as_tensor(src), Vs).to(torch.float64)      # (S, 1, Vs)
    E, hn = functional_call(enc, _weights(P, "enc.", kind, L, dirs), (x,))
    parts = hn if kind == "lstm" else (hn,)
    finals = [p.view(L, dirs, 1, H).permute(0, 2, 1, 3).reshape(L, 1, K) for p in parts]
    state = list(finals)
    tops, ctxs, scores, logits, terms = [], [], [], [], []
    for t in range(tgt.shape[0] - 1):
        q = state[0][-1]                                                    # s(t−1) (1, K)
        if model.attention is None:
            ctx = finals[0][-1] * 1.0                                       # C, a node per step
        else:
            a = model.attention
            e = (torch.einsum("sbk,bk->sb", E, q) if a == "dot" else
                 torch.einsum("sbk,bk->sb", E @ P["attn.W_a"].T, q) if a == "general" else
                 torch.tanh(E @ P["attn.W_k"].T + q @ P["attn.W_q"].T) @ P["attn.v"])
            scores.append(e)
            ctx = torch.einsum("sb,sbk->bk", torch.softmax(e, dim=0), E)
        y_in = torch.nn.functional.one_hot(torch.as_tensor(tgt[t]), Vt).to(torch.float64)
        _, new = functional_call(dec, _weights(P, "dec.", kind, L, 1),
                                 (torch.cat([y_in, ctx], 1)[None], tuple(state) if kind == "lstm" else state[0]))
        new = list(new) if kind == "lstm" else [new]
        top = new[0][-1] * 1.0                                              # s(t): every use below
        new[0] = torch.cat([new[0][:-1], top[None]])
        state = new
        o = top @ P["dec.V"].T + P["dec.c"]
        tops.append(top), ctxs.append(ctx), logits.append(o)
        terms.append(torch.nn.functional.cross_entropy(o, torch.as_tensor(tgt[t + 1])))
    T1 = len(terms)
    ds, dc = np.zeros((T1, T1, K)), np.zeros((T1, T1, K))
    dsc = np.zeros((T1, T1, src.shape[0]))
    for t, term in enumerate(terms):
        g = torch.autograd.grad(term, tops + ctxs + scores, retain_graph=True, allow_unused=True)
        for u in range(T1):
            for arr, got in ((ds, g[u]), (dc, g[T1 + u])) + (((dsc, g[2 * T1 + u]),) if scores else ()):
                if got is not None:
                    arr[t, u] = got.detach().numpy()[..., 0] if arr is dsc else got.detach().numpy()[0]
    cat = lambda xs: torch.cat(xs).detach().numpy()                         # noqa: E731
    return {"E": E.detach().numpy()[:, 0], "s": cat(tops), "ctx": cat(ctxs), "o": cat(logits),
            "terms": np.array([float(t.detach()) for t in terms]), "ds": ds, "dctx": dc, "dscore": dsc}


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(str(v) for v in c.values()))
def test_json_equals_the_trace_and_autograd(config):
    model = bptt.Seq2Seq(SRC.size, TGT.size, 3, seed=4, **config)
    b, tr = pair(model)
    data = embedded_json(s2s.seq2seq_explorer_html(model, tr, SRC, TGT, lr=0.3))
    assert data == s2s.seq2seq_payload(model, tr, SRC, TGT, lr=0.3)          # the page embeds it all
    exact, close = np.testing.assert_array_equal, lambda a, b: np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    T1, S = tr.o.shape[0], b.src.shape[0]
    cfg = data["config"]
    assert (cfg["S"], cfg["T"], cfg["K"], cfg["src_chars"], cfg["tgt_chars"]) == (S, T1, model.K, SRC.chars, TGT.chars)
    assert (cfg["cell"], cfg["attention"], cfg["num_layers"]) == (model.cell, model.attention, model.num_layers)
    # the trace's arrays, as they are
    exact(data["src"], b.src[:, 0]), exact(data["tgt"], b.tgt[:, 0]), exact(data["mask"], np.ones(T1))
    exact(decode(data["forward"]["o"]), tr.o[:, 0])
    assert data["loss"] == tr.loss
    for k in ("o", "ctx"):
        exact(decode(data["errors"][k]), tr.errors[k][:, 0])
    exact(decode(data["errors"]["s"]), tr.errors["s"][:, :, 0])
    exact(decode(data["errors"]["encoder"]), tr.encoder_errors[:, 0])
    exact(decode(data["by_term"]["attention"]), tr.by_term_attention[:, :, 0])
    exact(decode(data["by_term"]["final"]), tr.by_term_final[:, :, 0])
    for t in range(T1):
        for path in ("attention", "final", "total"):
            exact(decode(data["reach"][path])[t], tr.reach(t)[path])
    for path, arr in (("attention", tr.by_term_attention), ("final", tr.by_term_final)):
        close(decode(data["reach_J"][path]), np.linalg.norm(arr[:, :, 0].sum(0), axis=-1))
    close(decode(data["reach_J"]["total"]), np.linalg.norm(tr.encoder_errors[:, 0], axis=-1))
    if model.attention is None:
        assert data["forward"]["alpha"] is None and data["errors"]["score"] is None
        assert data["term_errors"]["score"] is None and not decode(data["by_term"]["attention"]).any()
    else:
        exact(decode(data["forward"]["alpha"]), tr.alpha[:, :, 0])
        exact(decode(data["errors"]["score"]), tr.errors["score"][:, :, 0])
    for k, p in model.params.items():
        assert data["params"][k] == {"shape": list(p.shape), "norm": np.linalg.norm(p),
                                     "grad_norm": np.linalg.norm(tr.grads[k])}
    # what the trace does not keep, against autograd of the model built from torch modules
    ref = torch_pass(model, b.src, b.tgt)
    for k in ("E", "s", "ctx", "o"):
        np.testing.assert_allclose(decode(data["forward"][k]), ref[k], rtol=0, atol=1e-10, err_msg=k)
    np.testing.assert_allclose(decode(data["forward"]["y_hat"]), torch.softmax(torch.tensor(ref["o"]), -1).numpy(), atol=1e-12)
    np.testing.assert_allclose(decode(data["loss_terms"]), ref["terms"], atol=1e-12)
    term = {k: decode(a) if a is not None else None for k, a in data["term_errors"].items()}
    np.testing.assert_allclose(term["s"][:, :, -1], ref["ds"], atol=1e-10)       # the top layer
    np.testing.assert_allclose(term["ctx"], ref["dctx"], atol=1e-10)
    if model.attention is not None:
        np.testing.assert_allclose(term["score"], ref["dscore"], atol=1e-10)
    close(term["s"].sum(0), tr.errors["s"][:, :, 0])                   # the terms add up to J's errors
    close(term["ctx"].sum(0), tr.errors["ctx"][:, 0])
    assert not term["s"][np.triu_indices(T1, 1)].any()                 # L(t) reaches no step after t


def test_a_padded_column_shows_only_its_real_terms():
    """The shorter pair of a batch, with its masks: the padded loss terms count for nothing."""
    model = bptt.Seq2Seq(SRC.size, TGT.size, 4, attention="dot", seed=1)
    b = batch_pairs([("abcdef", "1-23456"), ("ab", "7")], SRC, TGT)
    col = slice(1, 2)
    tr = model.trace(b.src[:, col], b.tgt[:, col], b.src_mask[:, col], b.tgt_mask[:, col])
    data = s2s.seq2seq_payload(model, tr, SRC, TGT)
    exact = np.testing.assert_array_equal
    exact(data["mask"], b.tgt_mask[:, 1]), exact(data["src_real"], b.src_mask[:, 1])
    terms = decode(data["loss_terms"])
    assert (terms[b.tgt_mask[:, 1] == 0] == 0).all() and np.isclose(terms.sum(), tr.loss, rtol=1e-12)
    assert not decode(data["term_errors"]["s"])[b.tgt_mask[:, 1] == 0].any()
    assert (decode(data["forward"]["alpha"])[:, 3:] == 0).all()        # no weight on padding


@pytest.fixture(scope="module")
def small():
    model = bptt.Seq2Seq(SRC.size, TGT.size, 3, attention="additive", seed=0)
    return model, *pair(model)


@pytest.mark.parametrize("call, error, message", [
    (lambda m, b, tr: s2s.seq2seq_payload(m, m.trace(np.repeat(b.src, 2, 1), np.repeat(b.tgt, 2, 1)), SRC, TGT),
     ValueError, r"must be the trace of one pair \(B = 1\).*Got B = 2; trace one pair"),
    (lambda m, b, tr: s2s.seq2seq_payload(m, tr, PairVocab("abcde"), TGT), ValueError,
     r"The 'src_vocab' argument of seq2seq_explorer_html has 8 ids \(5 characters after PAD, BOS, "
     r"EOS\), but the model's src_vocab_size is 13"),
    (lambda m, b, tr: s2s.seq2seq_payload(m, tr, SRC, SRC), ValueError,
     r"The 'tgt_vocab' argument .* has 13 ids .* tgt_vocab_size is 14"),
    (lambda m, b, tr: s2s.seq2seq_payload(m, tr, SRC, 14), TypeError,
     r"The 'tgt_vocab' argument of seq2seq_explorer_html must be a PairVocab .* Got int"),
    (lambda m, b, tr: s2s.seq2seq_payload(m, "trace", SRC, TGT), TypeError,
     r"The 'trace' argument of seq2seq_explorer_html must be a Seq2SeqTrace.*Got str"),
    (lambda m, b, tr: s2s.seq2seq_payload(bptt.GRU(3, 3, 3), tr, SRC, TGT), TypeError,
     r"The 'model' argument of seq2seq_explorer_html must be a Seq2Seq. Got GRU"),
    (lambda m, b, tr: s2s.seq2seq_payload(bptt.Seq2Seq(SRC.size, TGT.size, 3, attention="additive", seed=9), tr, SRC, TGT),
     ValueError, r"was not made by this model \(with its current parameters\)"),
    (lambda m, b, tr: s2s.seq2seq_payload(bptt.Seq2Seq(SRC.size, TGT.size, 5, seed=9), tr, SRC, TGT),
     ValueError, r"was not made by this model: it has 14 target ids and states of size 3, the model 14 and 5"),
    (lambda m, b, tr: s2s.seq2seq_payload(m, tr, SRC, TGT, lr=-1), ValueError, r"The 'lr' parameter"),
    (lambda m, b, tr: s2s.seq2seq_payload(m, tr, SRC, TGT, title=3), TypeError,
     r"The 'title' parameter of seq2seq_explorer_html must be a str or None. Got int"),
], ids=["batch", "src-vocab", "tgt-vocab", "vocab-type", "not-a-trace", "not-seq2seq", "other-model",
        "other-sizes", "lr", "title"])
def test_refusals(small, call, error, message):
    model, b, tr = small
    with pytest.raises(error, match=message):
        call(model, b, tr)


def test_a_trace_taken_before_an_update_is_refused(small):
    model, b, _ = small
    m = bptt.Seq2Seq(**model.config())
    m.params = {k: a.copy() for k, a in model.params.items()}
    tr = m.trace(b.src, b.tgt)
    m.params["dec.c"] += 0.1
    with pytest.raises(ValueError, match="was not made by this model"):
        s2s.seq2seq_payload(m, tr, SRC, TGT)


def test_too_large_for_the_page(small, monkeypatch):
    model, b, tr = small
    monkeypatch.setattr(s2s, "MAX_NUMBERS", 100)
    with pytest.raises(ValueError, match=r"too large for the explorer: S=6 source steps, T'=5 loss terms"):
        s2s.seq2seq_payload(model, tr, SRC, TGT)


def test_explain_seq2seq_shows_the_greedy_translation(tmp_path):
    model = bptt.Seq2Seq(SRC.size, TGT.size, 4, attention="general", seed=3)
    path = s2s.explain_seq2seq(tmp_path / "g.html", model, SRC, TGT, input_text="cab", max_len=6)
    data = embedded_json(path.read_text(encoding="utf-8"))
    hyp = greedy(Seq2SeqStepper(model, SRC.encode("cab", eos=True)), max_len=6, eos=EOS)
    want = [t for t in hyp.tokens if t != EOS]                    # bptt.decode's greedy, one source
    assert data["tgt"] == [1] + want + [EOS] and data["src"] == SRC.encode("cab", eos=True).tolist()
    with pytest.raises(ValueError, match=r"The 'input_text' argument of explain_seq2seq must be a non-empty str"):
        s2s.explain_seq2seq(tmp_path / "x.html", model, SRC, TGT, input_text="")
    with pytest.raises(TypeError, match=r"The 'target_text' argument of explain_seq2seq must be a str or None"):
        s2s.explain_seq2seq(tmp_path / "x.html", model, SRC, TGT, input_text="a", target_text=5)


def test_explain_kind_seq2seq(tmp_path):
    """explain(kind="seq2seq"): the built-in model untrained (the CLI trains it), or a Seq2Seq."""
    data = embedded_json(explain(tmp_path / "a.html", kind="seq2seq", input_text="cab", seed=2).read_text(encoding="utf-8"))
    assert data["config"]["trained"] == "untrained (random weights)"
    assert PairVocab(data["config"]["tgt_chars"]).decode(data["tgt"]) == "bac"
    model = bptt.Seq2Seq(SRC.size, TGT.size, 3, seed=0)
    data = embedded_json(explain(tmp_path / "b.html", model=model, vocab=(SRC, TGT), input_text="fed").read_text(encoding="utf-8"))
    assert data["src"] == SRC.encode("fed", eos=True).tolist() and data["config"]["attention"] is None
    for kw, error, message in [
        (dict(kind="seq2seq", bidirectional=True), ValueError, r"The 'bidirectional' parameter of explain is for the SimpleRNN.*kind='seq2seq'"),
        (dict(kind="seq2seq", mode="free"), ValueError, r"The 'mode' parameter of explain is for kind='output_rnn'"),
        (dict(kind="seq2seq", lab_open=True), ValueError, r"The 'lab_open' parameter of explain opens the lab"),
        (dict(kind="seq2seq", vocab="ab"), ValueError, r"The 'vocab' parameter of explain is only used with 'model'"),
        (dict(model=model, vocab=SRC, input_text="a"), ValueError, r"must be the pair \(src_vocab, tgt_vocab\) with a Seq2Seq"),
        (dict(kind="seq2seq", model=bptt.GRU(3, 3, 3)), TypeError, r"The 'model' argument of explain must be a Seq2Seq"),
        (dict(kind="seq2seq", input_text="abcdefghij"), ValueError, r"must be 1 to 8 letters from 'abcdefghij'"),
        (dict(kind="seq2seq", input_text="axe"), ValueError, r"Got 'axe', with 'x' not among them"),
        (dict(kind="seq2seq", input_text=3), TypeError, r"The 'input_text' argument of explain must be a str"),
    ]:
        with pytest.raises(error, match=message):
            explain(tmp_path / "x.html", **kw)


def test_builtin_model_refuses_a_non_optimizer():
    with pytest.raises(TypeError, match=r"The 'optimizer' parameter of builtin_seq2seq must be None or an optimizer with \.step"):
        s2s.builtin_seq2seq(optimizer="adam")


def test_builtin_model_trains_with_the_optimizer_it_is_given():
    """A few steps of bptt's Adam lower the loss of the built-in task's pairs (the full recipe,
    BUILTIN_STEPS, is run by the CLI's tests)."""
    from bptt.optim import Adam
    before, vocab, _ = s2s.builtin_seq2seq(seed=1)
    after, _, _ = s2s.builtin_seq2seq(seed=1, optimizer=Adam(lr=s2s.BUILTIN_LR), steps=60)
    b = batch_pairs([("badge", "egdab"), ("jihg", "ghij")], vocab, vocab)
    assert after.loss(b.src, b.tgt, b.src_mask, b.tgt_mask) < 0.8 * before.loss(b.src, b.tgt, b.src_mask, b.tgt_mask)
