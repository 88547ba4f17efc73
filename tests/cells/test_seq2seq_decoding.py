"""Decoding a Seq2Seq: its stepper follows bptt.decode's protocol, and what the decoders find
is what the model says: log-probabilities equal −loss, greedy_batch equals greedy one source at a
time, beam search equals exhaustive search when wide enough."""
import numpy as np
import pytest

from bptt import Seq2Seq
from bptt.cells.seq2seq.greedy import greedy_batch
from bptt.cells.seq2seq.stepper import Seq2SeqStepper
from bptt.decode import beam_search, exhaustive_search, greedy


def model_of(**kw):
    m = Seq2Seq(7, 4, 5, seed=kw.pop("seed", 1), **kw)
    for p in m.params.values():
        p *= 4                                   # sharper distributions: a greedy choice can be wrong
    return m


def sequence_logprob(model, src_ids, tokens):
    """log p(tokens | src) from the training loss of the pair (tgt = BOS, tokens), one sequence."""
    tgt = np.array([model.bos_id] + list(tokens))[:, None]
    model_eos, model.eos_id = model.eos_id, None
    try:
        return -model.loss(np.asarray(src_ids)[:, None], tgt)
    finally:
        model.eos_id = model_eos


@pytest.mark.parametrize("kw", [dict(cell="gru", attention="additive"),
                                dict(cell="lstm", attention="dot", bidirectional_encoder=True,
                                     num_layers=2),
                                dict(cell="rnn", attention=None)])
def test_beam_equals_exhaustive_and_model_logprobs(kw):
    m = model_of(**kw)
    src = np.array([3, 5, 6, 4])
    st = Seq2SeqStepper(m, src)
    best = exhaustive_search(st, max_len=4, eos=m.eos_id)
    beam = beam_search(st, width=4 ** 3, max_len=4, eos=m.eos_id, n_best=3)
    assert [h.tokens for h in beam] == [h.tokens for h in best[:3]]
    for h in beam:
        assert abs(h.logprob - sequence_logprob(m, src, h.tokens)) < 1e-10


def test_greedy_batch_equals_greedy_one_source_at_a_time():
    m = model_of(cell="gru", attention="general", bidirectional_encoder=True, seed=5)
    sources = [np.array([3, 4]), np.array([6, 5, 4, 3, 6]), np.array([5])]
    batch = greedy_batch(m, sources, max_len=6)
    for src, out in zip(sources, batch):
        h = greedy(Seq2SeqStepper(m, src), max_len=6, eos=m.eos_id)
        assert list(h.tokens[:-1] if h.finished else h.tokens) == out


def test_a_wider_beam_can_beat_greedy():
    """Somewhere among these sources, greedy's answer is not the most likely sequence."""
    m = model_of(cell="gru", attention="additive", seed=2)
    rng = np.random.default_rng(0)
    gaps = []
    for _ in range(20):
        st = Seq2SeqStepper(m, rng.integers(3, 7, size=4))
        g = greedy(st, max_len=4, eos=m.eos_id)
        b = beam_search(st, width=8, max_len=4, eos=m.eos_id)[0]
        assert b.score >= g.score - 1e-12
        gaps.append(b.score - g.score)
    assert max(gaps) > 1e-3


def test_attention_weights_of_a_translation():
    m = model_of(cell="gru", attention="dot")
    st = Seq2SeqStepper(m, np.array([3, 4, 5]))
    w = st.attention_weights([2])
    assert w.shape == (1, 3)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    tr = m.trace(np.array([[3, 4, 5]]).T, np.array([[1, 2]]).T)
    np.testing.assert_allclose(w, tr.alpha[:, :, 0], atol=1e-14)


def test_stepper_and_greedy_batch_errors():
    m = model_of(cell="gru", attention=None)
    with pytest.raises(ValueError, match="'src_ids' argument of Seq2SeqStepper must be a non-empty"):
        Seq2SeqStepper(m, np.array([], int))
    with pytest.raises(ValueError, match="'src_ids' argument of Seq2SeqStepper must hold ids in"):
        Seq2SeqStepper(m, np.array([9]))
    with pytest.raises(ValueError, match="This Seq2Seq has no attention"):
        Seq2SeqStepper(m, np.array([3])).attention_weights([2])
    with pytest.raises(ValueError, match="'sources' argument of greedy_batch must be a non-empty"):
        greedy_batch(m, [np.array([3]), np.array([], int)], max_len=3)
    with pytest.raises(ValueError, match="'max_len' parameter of greedy_batch must be an int >= 1"):
        greedy_batch(m, [np.array([3])], max_len=0)
    with pytest.raises(ValueError, match="'sources' argument of greedy_batch must hold ids in"):
        greedy_batch(m, [np.array([30])], max_len=3)
    with pytest.raises(TypeError, match="must hold 1-D arrays of integer ids. Source 1 has shape "
                                        r"\(1,\) and dtype float64"):
        greedy_batch(m, [np.array([3]), np.array([3.7])], max_len=3)
    with pytest.raises(TypeError, match="Source 0 has shape \\(1, 2\\)"):
        greedy_batch(m, [np.array([[3, 4]])], max_len=3)
    with pytest.raises(ValueError, match="'width' parameter of beam_search"):
        beam_search(Seq2SeqStepper(m, np.array([3])), width=0, max_len=3, eos=m.eos_id)
