"""Greedy decoding, beam search and exhaustive search against brute force: every sequence
enumerated with itertools and scored from the Markov table or one model.forward over prime +
sequence, never through bptt.decode's own bookkeeping."""
import numpy as np
import pytest

from bptt.decode import LMStepper, beam_search, exhaustive_search, greedy, sample
from decode_steppers import (all_sequences, from_probabilities, model_logprob, random_lm,
                             random_markov)

PRIME = [1, 0, 2]
CASES = [(V, max_len, eos, alpha) for V, max_len in ((3, 4), (4, 3))
         for eos in (None, 0, 2) for alpha in (0.0, 0.6)]


def steppers(V):
    """(name, stepper, reference logprob of a token tuple) for a Markov chain and LMs."""
    out = [("markov", random_markov(V, seed=V), None)]
    for kind, layers in (("gru", 1), ("lstm", 2), ("rnn", 2)):
        model = random_lm(kind, V, layers)
        out.append((f"{kind}x{layers}", LMStepper(model, PRIME), model))
    return out


def reference_logprob(stepper, model, tokens):
    return stepper.logprob(tokens) if model is None else model_logprob(model, PRIME, tokens)


def brute_force(stepper, model, V, max_len, eos, alpha):
    """[(tokens, logprob, score, finished)] best first, by enumeration."""
    rows = []
    for seq, finished in all_sequences(V, max_len, eos):
        lp = reference_logprob(stepper, model, seq)
        rows.append((seq, lp, lp / len(seq) ** alpha, finished))
    return sorted(rows, key=lambda r: (-r[2], not r[3], r[0]))


def same(hyps, rows, tol=1e-10):
    assert [h.tokens for h in hyps] == [r[0] for r in rows]
    assert [h.finished for h in hyps] == [r[3] for r in rows]
    np.testing.assert_allclose([h.logprob for h in hyps], [r[1] for r in rows], rtol=0, atol=tol)
    np.testing.assert_allclose([h.score for h in hyps], [r[2] for r in rows], rtol=0, atol=tol)


@pytest.mark.parametrize("V,max_len,eos,alpha", CASES)
def test_exhaustive_and_wide_beam_equal_brute_force(V, max_len, eos, alpha):
    width = V ** (max_len - 1)                         # nothing dropped before the last step
    for name, stepper, model in steppers(V):
        want = brute_force(stepper, model, V, max_len, eos, alpha)
        every = exhaustive_search(stepper, max_len=max_len, eos=eos, length_penalty=alpha)
        same(every, want)
        beam = beam_search(stepper, width=width, max_len=max_len, eos=eos, length_penalty=alpha,
                           n_best=width)
        same(beam, want[:width])
        if eos is None:                                # an LM's hypotheses: exactly max_len tokens
            assert all(len(h) == max_len and not h.finished for h in every)


@pytest.mark.parametrize("V,max_len,eos,alpha", CASES)
def test_narrow_beams_never_beat_the_exhaustive_best(V, max_len, eos, alpha):
    for name, stepper, model in steppers(V):
        best = exhaustive_search(stepper, max_len=max_len, eos=eos, length_penalty=alpha)[0]
        for width in (1, 2, V):
            hyps = beam_search(stepper, width=width, max_len=max_len, eos=eos, length_penalty=alpha,
                               n_best=width)
            assert hyps[0].score <= best.score + 1e-12
            assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
            assert len({h.tokens for h in hyps}) == len(hyps)
            for h in hyps:                             # each its own model's log-probability
                assert abs(h.logprob - reference_logprob(stepper, model, h.tokens)) < 1e-10
                assert h.finished == (eos is not None and h.tokens[-1] == eos)


def test_greedy_misses_the_best_sequence_that_a_wider_beam_finds():
    # Tokens a=0, b=1, c=2. First token: a 0.6, b 0.35, c 0.05. After a everything is 1/3;
    # after b, c is 0.9. Greedy takes a (0.6), then the first of three equal thirds:
    # p(a, a) = 0.6/3 = 0.2. The best pair is (b, c): 0.35 · 0.9 = 0.315, which a beam of 2
    # keeps at step 1 and finds.
    stepper = from_probabilities([0.6, 0.35, 0.05],
                                 [[1 / 3, 1 / 3, 1 / 3], [0.05, 0.05, 0.9], [1 / 3, 1 / 3, 1 / 3]])
    g = greedy(stepper, max_len=2)
    assert g.tokens == (0, 0) and g.logprob == pytest.approx(np.log(0.2), abs=1e-12)
    (b,) = beam_search(stepper, width=2, max_len=2)
    assert b.tokens == (1, 2) and b.logprob == pytest.approx(np.log(0.315), abs=1e-12)
    assert beam_search(stepper, width=1, max_len=2)[0] == g
    assert exhaustive_search(stepper, max_len=2)[0].tokens == (1, 2)


def test_length_penalty_can_prefer_the_longer_finished_sequence():
    # eos = 0. First token: eos 0.5, a 0.5; after a: eos 0.8, a 0.2. Sequences within 2 tokens:
    # (eos) 0.5, (a, eos) 0.4, (a, a) 0.1 unfinished. α = 0: (eos) wins (log 0.5 > log 0.4);
    # α = 1: log 0.5 / 1 = −0.693 < log 0.4 / 2 = −0.458, so (a, eos) wins.
    stepper = from_probabilities([0.5, 0.5], [[0.5, 0.5], [0.8, 0.2]])
    assert beam_search(stepper, width=2, max_len=2, eos=0)[0].tokens == (0,)
    best = beam_search(stepper, width=2, max_len=2, eos=0, length_penalty=1.0)[0]
    assert best.tokens == (1, 0) and best.finished
    assert best.score == pytest.approx(np.log(0.4) / 2, abs=1e-12)


def test_finished_before_unfinished_at_equal_scores():
    # V = 2, every probability 1/2, eos = 1: (1,) finished and (0,) unfinished both score log ½;
    # the finished one comes first although its tokens sort after.
    stepper = from_probabilities([0.5, 0.5], [[0.5, 0.5], [0.5, 0.5]])
    for hyps in (beam_search(stepper, width=2, max_len=1, eos=1, n_best=2),
                 exhaustive_search(stepper, max_len=1, eos=1)):
        assert [(h.tokens, h.finished) for h in hyps] == [((1,), True), ((0,), False)]


def test_beam_stops_when_width_hypotheses_have_finished():
    # eos = 0 is likely everywhere: a beam of 2 has two finished hypotheses after 2 steps and
    # stops, long before max_len.
    stepper = from_probabilities([0.7, 0.2, 0.1], [[0.7, 0.2, 0.1]] * 3)
    hyps = beam_search(stepper, width=2, max_len=50, eos=0, n_best=2)
    assert [h.tokens for h in hyps] == [(0,), (1, 0)] and all(h.finished for h in hyps)


def test_the_stop_at_width_finished_can_miss_a_better_longer_sequence():
    # eos = 0, a = 1, b = 2. First: eos 0.3, a 0.6, b 0.1; after a: eos 0.3, a 0.05, b 0.65; after b:
    # eos 0.95. Width 2: step 1 finishes (eos) 0.3 and keeps a, b; step 2 ranks (a, b) 0.39,
    # (a, eos) 0.18, (b, eos) 0.095: three finished >= width, so the search stops there and
    # never sees (a, b, eos) = 0.39 · 0.95 = 0.3705, the best sequence of exhaustive search.
    stepper = from_probabilities([0.3, 0.6, 0.1], [[1 / 3, 1 / 3, 1 / 3], [0.3, 0.05, 0.65],
                                                   [0.95, 0.025, 0.025]])
    hyps = beam_search(stepper, width=2, max_len=3, eos=0, n_best=2)
    assert [h.tokens for h in hyps] == [(0,), (1, 0)] and all(h.finished for h in hyps)
    best = exhaustive_search(stepper, max_len=3, eos=0)[0]
    assert best.tokens == (1, 2, 0) and best.logprob == pytest.approx(np.log(0.3705), abs=1e-12)


@pytest.mark.parametrize("eos", [None, 0, 3])
@pytest.mark.parametrize("kind,layers", [("rnn", 1), ("lstm", 1), ("lstm", 2), ("gru", 2)])
def test_greedy_is_beam_width_one_and_every_logprob_is_the_models(kind, layers, eos):
    model = random_lm(kind, 6, layers)
    stepper = LMStepper(model, PRIME)
    for max_len in (1, 5, 12):
        g = greedy(stepper, max_len=max_len, eos=eos)
        assert [g] == beam_search(stepper, width=1, max_len=max_len, eos=eos)
        assert len(g) == max_len or (g.finished and g.tokens[-1] == eos and eos not in g.tokens[:-1])
        hyps = [g, *beam_search(stepper, width=4, max_len=max_len, eos=eos, length_penalty=0.6,
                                n_best=4),
                sample(stepper, max_len=max_len, eos=eos, temperature=0.7, top_k=3, seed=5)]
        for h in hyps:
            assert abs(h.logprob - model_logprob(model, PRIME, h.tokens)) < 1e-10
        # greedy: each token the argmax of the model's next distribution given everything before
        for j, y in enumerate(g.tokens):
            o = model.forward(np.array(PRIME + list(g.tokens[:j]))[:, None]).o[-1, 0]
            assert y == int(np.argmax(o))


def test_exhaustive_search_counts_before_it_works():
    from bptt.decode import count_sequences
    for V, L, eos in ((3, 4, None), (3, 4, 0), (4, 3, 2), (2, 1, 1)):
        assert count_sequences(V, L, eos) == len(list(all_sequences(V, L, eos)))
