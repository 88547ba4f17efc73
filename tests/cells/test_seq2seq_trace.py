"""Seq2Seq.trace: attention weights, decoder errors, and the errors each decoder loss term sends to
every encoder step along the attention path and the final-state path."""
import numpy as np
import pytest

from bptt import Seq2Seq
from bptt.cells.tracing import TraceTooLarge
from seq2seq_reference import torch_loss
from test_seq2seq_torch import random_batch


@pytest.fixture(params=[("gru", "additive", True, 2), ("lstm", "general", False, 1),
                        ("rnn", None, True, 1), ("gru", "dot", False, 2)])
def case(request):
    cell, attention, bi, L = request.param
    rng = np.random.default_rng(7)
    model = Seq2Seq(6, 7, 3, cell=cell, attention=attention, bidirectional_encoder=bi,
                    num_layers=L, seed=4)
    return model, random_batch(rng, 6, 7, S=5, T=5, B=3)


def test_trace_agrees_with_backward(case):
    model, batch = case
    tr = model.trace(*batch)
    b = model.backward(*batch)
    assert tr.loss == b.loss
    for k in b.grads:
        np.testing.assert_array_equal(tr.grads[k], b.grads[k])
    np.testing.assert_allclose(tr.by_term().sum(axis=0), b.d_states, rtol=0, atol=1e-14)
    T1, S, B = batch[1].shape[0] - 1, *batch[0].shape
    assert tr.by_term_final.shape == (T1, S, B, model.K)
    assert tr.errors["s"].shape == (T1, model.num_layers, B, model.K)


def test_each_row_is_that_loss_term_alone(case):
    """Row t of by_term equals the total encoder error of a pass whose only loss term is L(t)."""
    model, (src, tgt, sm, tm) = case
    tr = model.trace(src, tgt, sm, tm)
    model.eos_id = None                       # a one-term mask does not end at the end id
    for t in range(tm.shape[0]):
        keep = tm[t] > 0                      # the sequences that have a target at step t
        only = np.zeros_like(tm[:, keep])
        only[t] = 1
        b = model.backward(src[:, keep], tgt[:, keep], sm[:, keep], only)
        got = b.d_states * keep.sum() / len(keep)     # J divides by the batch size
        np.testing.assert_allclose(tr.by_term()[t][:, keep], got, rtol=0, atol=1e-14)
        assert not tr.by_term()[t][:, ~keep].any()


def test_attention_weights(case):
    model, (src, tgt, sm, tm) = case
    tr = model.trace(src, tgt, sm, tm)
    if model.attention is None:
        assert tr.alpha is None
        assert not tr.by_term_attention.any()
        return
    np.testing.assert_allclose(tr.alpha.sum(axis=1), 1.0, atol=1e-14)     # over source steps
    assert (tr.alpha[:, sm == 0] == 0).all()                               # padding takes none
    assert (tr.alpha[:, sm > 0] > 0).all()


def test_output_errors_and_loss():
    """∂J/∂o(t) = mask (softmax(o) − onehot(y)) / B, and the loss equals torch's."""
    rng = np.random.default_rng(3)
    model = Seq2Seq(6, 7, 3, cell="gru", attention="additive", seed=2)
    src, tgt, sm, tm = random_batch(rng, 6, 7, S=4, T=5, B=2)
    tr = model.trace(src, tgt, sm, tm)
    assert abs(tr.loss - torch_loss(model, src, tgt, sm, tm)[0]) < 1e-12
    p = np.exp(tr.o - tr.o.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    onehot = np.eye(7)[tgt[1:]]
    np.testing.assert_allclose(tr.errors["o"], tm[:, :, None] * (p - onehot) / 2, atol=1e-15)


def test_without_attention_the_error_crosses_every_later_step():
    """Without attention, L(t)'s error reaches e(j) only through the encoder's last state: its
    size shrinks going back from j = S−1; with attention it also arrives at every j directly."""
    rng = np.random.default_rng(0)
    src = rng.integers(3, 9, size=(12, 1))
    tgt = np.array([[1, 4, 5, 2]]).T
    plain = Seq2Seq(9, 7, 8, cell="rnn", seed=0)
    att = Seq2Seq(9, 7, 8, cell="rnn", attention="dot", seed=0)
    r_plain = plain.trace(src, tgt).reach(0)
    r_att = att.trace(src, tgt).reach(0)
    assert not r_plain["attention"].any()
    assert r_plain["total"][0] < 0.05 * r_plain["total"][-1]
    assert (r_att["attention"] > 0).all()
    assert r_att["attention"][0] > 0.05 * r_att["attention"].max()


def test_reach_checks_its_arguments(case):
    model, batch = case
    tr = model.trace(*batch)
    with pytest.raises(ValueError, match="takes a loss term t < 4 and a sequence b < 3"):
        tr.reach(4)
    with pytest.raises(ValueError, match="'t' parameter of Seq2SeqTrace.reach must be an int >= 0"):
        tr.reach(-1)
    assert "Seq2SeqTrace(loss=" in repr(tr)


def test_trace_refuses_past_its_size_limit(case):
    model, batch = case
    with pytest.raises(TraceTooLarge, match="Seq2Seq.trace's errors by loss term needs an array"):
        model.trace(*batch, max_bytes=1000)
