"""filter_logits against its definition written out by brute force (a Python sort, a running sum),
and sampling: the frequencies of many draws against the filtered distribution (chi-square)."""
import itertools

import numpy as np
import pytest

from bptt.decode import filter_logits, sample
from decode_steppers import MarkovStepper, random_markov


def reference(logits, temperature=1.0, top_k=None, top_p=None):
    """The definition, one token at a time: softmax(o / τ); rank by probability (ties: lower id
    first); keep the first k; renormalise; keep tokens while the mass before them is < p."""
    z = [float(x) / temperature for x in logits]
    m = max(z)
    e = [np.exp(x - m) for x in z]
    q = [x / sum(e) for x in e]
    ranked = sorted(range(len(q)), key=lambda i: (-q[i], i))
    if top_k is not None:
        ranked = ranked[:top_k]
    if top_p is not None:
        mass = sum(q[i] for i in ranked)
        kept, before = [], 0.0
        for i in ranked:
            if before < top_p:
                kept.append(i)
            before += q[i] / mass
        ranked = kept
    out = np.zeros(len(q))
    for i in ranked:
        out[i] = q[i]
    return out / out.sum()


SETTINGS = [dict(temperature=t, top_k=k, top_p=p) for t, k, p in
            itertools.product((0.5, 1.0, 2.5), (None, 1, 3, 7, 50), (None, 0.3, 0.75, 0.95, 1.0))]


@pytest.mark.parametrize("kw", SETTINGS, ids=str)
def test_filters_equal_their_definition(kw):
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(20, 9))
    got = filter_logits(logits, **kw)
    assert got.shape == logits.shape
    np.testing.assert_allclose(got.sum(axis=-1), 1.0, rtol=0, atol=1e-14)
    for row, p in zip(logits, got):
        np.testing.assert_allclose(p, reference(row, **kw), rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(filter_logits(row, **kw), p)       # a row alone: the same


def test_ties_are_broken_by_the_lower_id():
    logits = np.array([1.0, 2.0, 1.0, 1.0, 0.0, 1.0])   # token 1 first, then 0, 2, 3, 5 tied, then 4
    q = filter_logits(logits)
    assert list(np.flatnonzero(filter_logits(logits, top_k=2))) == [0, 1]
    assert list(np.flatnonzero(filter_logits(logits, top_k=4))) == [0, 1, 2, 3]
    p = q[1] + 1.5 * q[0]                                # reached inside the tied group
    assert list(np.flatnonzero(filter_logits(logits, top_p=p))) == [0, 1, 2]
    for kw in (dict(top_k=4), dict(top_p=p), dict(top_k=3, top_p=0.99)):
        np.testing.assert_allclose(filter_logits(logits, **kw), reference(logits, **kw), rtol=1e-12)


def test_top_p_is_the_smallest_set_that_reaches_p():
    logits = np.array([0.3, 2.0, -1.0, 1.2])
    q = filter_logits(logits)
    top = int(np.argmax(q))
    # p equal to the top token's probability: that token alone reaches it
    assert list(np.flatnonzero(filter_logits(logits, top_p=q[top]))) == [top]
    # a hair more: the second token is needed too
    assert np.count_nonzero(filter_logits(logits, top_p=np.nextafter(q[top], 1))) == 2
    # always at least one token, however small p
    assert list(np.flatnonzero(filter_logits(logits, top_p=1e-300))) == [top]
    # p = 1 keeps every token, even one of probability ~1e-40
    tiny = np.array([0.0, -92.0, 1.0])
    np.testing.assert_array_equal(filter_logits(tiny, top_p=1.0), filter_logits(tiny))
    assert np.all(filter_logits(tiny, top_p=1.0) > 0)


def test_temperature_scales_the_log_odds():
    logits = np.array([0.5, -1.0, 2.0, 0.0])
    for tau in (0.25, 1.0, 4.0):
        logp = np.log(filter_logits(logits, temperature=tau))
        np.testing.assert_allclose(logp - logp[0], (logits - logits[0]) / tau, rtol=1e-12, atol=1e-12)


def chi_square(counts, expected):
    return float(((counts - expected) ** 2 / expected).sum())


@pytest.mark.parametrize("kw", [dict(temperature=0.7, top_k=3), dict(temperature=1.3, top_p=0.8),
                                dict(top_k=3, top_p=0.6), dict(temperature=1.0)], ids=str)
def test_sampling_frequencies_match_the_filtered_distribution(kw):
    # Pairs (y1, y2) from a Markov chain over 4 tokens: 5,000 draws against
    # P(y1) · P(y2 | y1), each the filtered distribution of the step's logits.
    stepper = random_markov(4, seed=3, scale=1.0)
    p1 = filter_logits(stepper.first, **kw)
    joint = p1[:, None] * filter_logits(stepper.table, **kw)           # (4, 4)
    rng = np.random.default_rng(2024)
    n = 5_000
    counts = np.zeros((4, 4))
    for _ in range(n):
        h = sample(stepper, max_len=2, seed=rng, **kw)
        counts[h.tokens] += 1
    allowed = joint > 0
    assert counts[~allowed].sum() == 0                                 # filtered out: never drawn
    df = allowed.sum() - 1
    stat = chi_square(counts[allowed], n * joint[allowed])
    assert stat < df + 8 * np.sqrt(2 * df), (stat, df)                 # p ≈ 1e-6 at df = 10


def test_sampling_is_reproducible_and_reports_the_models_logprob():
    stepper = random_markov(5, seed=1)
    a = sample(stepper, max_len=30, temperature=0.6, top_p=0.9, seed=7)
    assert a == sample(stepper, max_len=30, temperature=0.6, top_p=0.9, seed=np.random.default_rng(7))
    assert a != sample(stepper, max_len=30, temperature=0.6, top_p=0.9, seed=8)
    assert abs(a.logprob - stepper.logprob(a.tokens)) < 1e-10 and a.score == a.logprob
    assert len(a) == 30 and not a.finished
    e = sample(stepper, max_len=200, eos=2, seed=3)                    # stops after EOS
    assert e.finished and e.tokens[-1] == 2 and 2 not in e.tokens[:-1]


def test_uniform_start_is_sampled_uniformly():
    # An unconditioned stepper (an LM with an empty prime) gives zero logits: each first token 1/V.
    stepper = MarkovStepper(np.zeros(3), np.eye(3))
    rng = np.random.default_rng(0)
    counts = np.bincount([sample(stepper, max_len=1, seed=rng).tokens[0] for _ in range(6000)],
                         minlength=3)
    assert chi_square(counts, np.full(3, 2000.0)) < 2 + 8 * 2
