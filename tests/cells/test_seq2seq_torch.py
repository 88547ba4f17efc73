"""Seq2Seq's BPTT against PyTorch autograd of the same model assembled from torch modules
(tests/seq2seq_reference.py): the loss, every parameter's gradient, the error entering the
encoder's states through the attention and through each layer's final state, to 1e-10."""
import itertools

import numpy as np
import pytest

from bptt import Seq2Seq
from seq2seq_reference import torch_loss


def random_batch(rng, Vs, Vt, S, T, B):
    """Ids, prefix masks with variable lengths (the longest keeps S / T − 1), ends with eos=2."""
    src_len = rng.integers(1, S + 1, size=B)
    src_len[0] = S
    tgt_len = rng.integers(1, T, size=B)                  # real targets per sequence
    tgt_len[-1] = T - 1
    src = rng.integers(0, Vs, size=(S, B))
    tgt = rng.integers(3, Vt, size=(T, B))
    tgt[0] = 1
    sm = (np.arange(S)[:, None] < src_len).astype(float)
    tm = (np.arange(T - 1)[:, None] < tgt_len).astype(float)
    tgt[tgt_len, np.arange(B)] = 2                         # the end id at the last real target
    return src, tgt, sm, tm


def check_against_torch(model, src, tgt, sm, tm, tol=1e-10):
    b = model.backward(src, tgt, sm, tm)
    J, grads, dE, d_final = torch_loss(model, src, tgt, sm, tm)
    assert abs(b.loss - J) < tol
    assert set(grads) == set(b.grads) == set(model.params)
    for k in grads:
        np.testing.assert_allclose(b.grads[k], grads[k], rtol=0, atol=tol, err_msg=k)
    if model.attention is not None:
        real = sm[:, :, None] > 0                          # torch pads with zeros; bptt keeps the state
        np.testing.assert_allclose(np.where(real, b.d_attention, 0), dE, rtol=0, atol=tol)
    for part in range(len(d_final)):
        for layer in range(model.num_layers):
            np.testing.assert_allclose(b.d_final[layer][part], d_final[part][layer], rtol=0, atol=tol)


CASES = list(itertools.product(["rnn", "lstm", "gru"], [None, "dot", "general", "additive"]))


@pytest.mark.parametrize("cell,attention", CASES)
def test_equals_torch_autograd(cell, attention):
    rng = np.random.default_rng(CASES.index((cell, attention)))
    for bi, L in [(False, 1), (True, 2)]:
        model = Seq2Seq(7, 6, 3, cell=cell, attention=attention, bidirectional_encoder=bi,
                        num_layers=L, seed=int(rng.integers(1000)))
        check_against_torch(model, *random_batch(rng, 7, 6, S=5, T=5, B=3))


def test_random_configurations():
    rng = np.random.default_rng(2026)
    for _ in range(6):
        cell = str(rng.choice(["rnn", "lstm", "gru"]))
        attention = [None, "dot", "general", "additive"][rng.integers(4)]
        kw = {"attention_size": int(rng.integers(1, 6))} if attention == "additive" else {}
        model = Seq2Seq(int(rng.integers(3, 9)), int(rng.integers(4, 9)), int(rng.integers(1, 5)),
                        cell=cell, attention=attention, bidirectional_encoder=bool(rng.integers(2)),
                        num_layers=int(rng.integers(1, 3)), seed=int(rng.integers(1000)), **kw)
        batch = random_batch(rng, model.src_vocab_size, model.tgt_vocab_size,
                             S=int(rng.integers(1, 7)), T=int(rng.integers(2, 7)), B=int(rng.integers(1, 5)))
        check_against_torch(model, *batch)


def test_padding_does_not_leak():
    """Padded source steps (any ids) change nothing: not the loss, not a gradient."""
    rng = np.random.default_rng(5)
    model = Seq2Seq(7, 6, 4, cell="gru", attention="additive", bidirectional_encoder=True, seed=1)
    src, tgt, sm, tm = random_batch(rng, 7, 6, S=6, T=4, B=4)
    src2 = np.where(sm > 0, src, rng.integers(0, 7, size=src.shape))
    assert (src2 != src).any()
    J1, g1 = model.loss_and_grads(src, tgt, sm, tm)
    J2, g2 = model.loss_and_grads(src2, tgt, sm, tm)
    assert J1 == J2
    for k in g1:
        np.testing.assert_array_equal(g1[k], g2[k])
