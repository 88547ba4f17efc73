"""LMStepper against the model itself: rows decoded side by side, reordered and copied by select,
give the logits of one model.forward over prime + each row's own history, for every state layout
((B, H), (L, B, H), the LSTM's (h, c) pair of either)."""
import numpy as np
import pytest

import bptt
from bptt.decode import LMStepper, Stepper, select_rows
from decode_steppers import MarkovStepper, random_lm

V = 7
PRIME = [3, 1, 4, 1]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind,layers", [("rnn", 1), ("rnn", 2), ("lstm", 1), ("lstm", 3),
                                         ("gru", 1), ("gru", 2)])
def test_rows_follow_their_own_history_through_step_and_select(kind, layers, dtype):
    model = random_lm(kind, V, layers)
    if dtype == "float32":
        model = type(model)(**{**model.config(), "dtype": "float32"})
        for k, p in random_lm(kind, V, layers).params.items():
            model.params[k][...] = p
    stepper = LMStepper(model, PRIME)
    assert isinstance(stepper, Stepper) and stepper.vocab_size == V
    rng = np.random.default_rng(1)
    logits, state = stepper.start(3)
    histories = [[], [], []]
    for t in range(6):
        for i, h in enumerate(histories):            # each row against its own forward
            want = model.forward(np.array(PRIME + h)[:, None]).o[-1, 0]
            tol = 1e-12 if dtype == "float64" else 1e-5
            np.testing.assert_allclose(logits[i], want, rtol=tol, atol=tol)
        assert logits.dtype == np.float64 and logits.shape == (len(histories), V)
        rows = rng.integers(0, len(histories), size=rng.integers(1, 5))  # drop, copy, reorder
        state = stepper.select(state, rows)
        histories = [list(histories[r]) for r in rows]
        tokens = rng.integers(0, V, size=len(rows))
        logits, state = stepper.step(state, tokens)
        for h, y in zip(histories, tokens):
            h.append(int(y))


def test_select_rows_takes_the_batch_axis_of_every_layout_and_copies():
    rng = np.random.default_rng(0)
    h2, h3 = rng.normal(size=(4, 5)), rng.normal(size=(2, 4, 5))        # (B, H), (L, B, H)
    rows = np.array([3, 0, 0])
    np.testing.assert_array_equal(select_rows(h2, rows), h2[rows])
    np.testing.assert_array_equal(select_rows(h3, rows), h3[:, rows])
    pair = select_rows((h3, 2 * h3), rows)
    assert isinstance(pair, tuple)
    np.testing.assert_array_equal(pair[1], 2 * h3[:, rows])
    out = select_rows(h3, rows)
    out[...] = 0                                                        # a copy, not a view
    assert np.all(h3 != 0)


def test_start_gives_n_identical_rows_and_the_prime_is_fed_once():
    model = random_lm("lstm", V, 2)
    stepper = LMStepper(model, PRIME)
    logits, (h, c) = stepper.start(4)
    o = model.forward(np.array(PRIME)[:, None])
    np.testing.assert_array_equal(logits, np.repeat(o.o[-1], 4, axis=0))
    np.testing.assert_array_equal(h, np.repeat(o.last_state[0], 4, axis=1))
    h[...] = 0                                                          # the decoders own it
    np.testing.assert_array_equal(stepper.start(1)[1][0], o.last_state[0])


def test_an_empty_prime_starts_uniform_from_the_zero_state():
    model = random_lm("gru", V, 2)
    stepper = LMStepper(model, [])
    assert stepper.unconditioned and not LMStepper(model, [0]).unconditioned
    logits, state = stepper.start(2)
    np.testing.assert_array_equal(logits, np.zeros((2, V)))
    np.testing.assert_array_equal(state, model.zero_state(2))


def test_the_markov_helper_follows_the_protocol_too():
    assert isinstance(MarkovStepper(np.zeros(2), np.zeros((2, 2))), Stepper)
    assert not isinstance(object(), Stepper)
    assert bptt.decode.LMStepper is LMStepper
