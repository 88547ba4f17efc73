"""Every message of bptt.decode (and of the text side in bptt.training.sampling): the parameter,
what was expected, what was given."""
import numpy as np
import pytest

import bptt
from bptt.data import DataError, Vocab
from bptt.decode import (LMStepper, beam_search, exhaustive_search, filter_logits, greedy, sample)
from bptt.decode.stepper import checked_logits
from bptt.training.sampling import lm_stepper
from decode_steppers import MarkovStepper, random_lm, random_markov

M = random_markov(3, seed=0)


@pytest.mark.parametrize("call,error,message", [
    (lambda: beam_search(M, width=0, max_len=3), ValueError,
     r"The 'width' parameter of beam_search must be an int >= 1. Got 0 instead."),
    (lambda: beam_search(M, width=2.0, max_len=3), TypeError,
     r"'width' parameter of beam_search must be an int >= 1. Got 2.0 of type float"),
    (lambda: beam_search(M, width=2, max_len=3, n_best=3), ValueError,
     r"The 'n_best' parameter of beam_search must be an int in \[1, width\] = \[1, 2\]. Got 3"),
    (lambda: beam_search(M, width=2, max_len=0), ValueError,
     r"'max_len' parameter of beam_search must be an int >= 1. Got 0"),
    (lambda: beam_search(M, width=2, max_len=2, length_penalty=-0.5), ValueError,
     r"'length_penalty' parameter of beam_search must be a finite number in \[0, inf\]. Got -0.5"),
    (lambda: greedy(M, max_len=2, eos=3), ValueError,
     r"'eos' parameter of greedy must be None or a token id in \[0, 3\). Got 3 instead."),
    (lambda: greedy(M, max_len=-1), ValueError, r"'max_len' parameter of greedy must be an int >= 1"),
    (lambda: sample(M, max_len=2, top_p=0), ValueError,
     r"'top_p' parameter of sample must be a finite number in \(0, 1\]. Got 0 instead."),
    (lambda: sample(M, max_len=2, top_p=1.5), ValueError,
     r"'top_p' parameter of sample must be a finite number in \(0, 1\]. Got 1.5 instead."),
    (lambda: sample(M, max_len=2, top_k=0), ValueError,
     r"'top_k' parameter of sample must be an int >= 1. Got 0 instead."),
    (lambda: sample(M, max_len=2, temperature=0), ValueError,
     r"'temperature' parameter of sample must be a finite number in \(0, inf\]. Got 0 instead."),
    (lambda: sample(M, max_len=2, seed=-1), ValueError, r"'seed' parameter of sample must be an int >= 0"),
    (lambda: filter_logits([1.0, 2.0], temperature=float("inf")), ValueError,
     r"'temperature' parameter of filter_logits must be a finite number in \(0, inf\]. Got inf"),
    (lambda: filter_logits([1.0, 2.0], top_k=0), ValueError,
     r"'top_k' parameter of filter_logits must be an int >= 1. Got 0"),
    (lambda: filter_logits(np.zeros((2, 0))), ValueError,
     r"'logits' argument of filter_logits must have shape \(..., V\) with V >= 1. Got shape \(2, 0\)"),
    (lambda: filter_logits([1.0, np.nan]), ValueError,
     r"'logits' argument of filter_logits must hold no NaN and no \+inf."),
    (lambda: exhaustive_search(random_markov(10, 0), max_len=6), ValueError,
     r"exhaustive_search would score 1000000 sequences \(V = 10, max_len = 6, eos = None\); "
     r"it refuses more than 200000"),
    # with eos: (9**7 − 1) / 8 = 597,871 ending at EOS within 7 tokens + 9**7 = 4,782,969 without
    (lambda: exhaustive_search(random_markov(10, 0), max_len=7, eos=0), ValueError,
     r"would score 5380840 sequences \(V = 10, max_len = 7, eos = 0\)"),
    (lambda: greedy(object(), max_len=2), TypeError,
     r"'stepper' argument of greedy must follow bptt.decode.Stepper: vocab_size \(an int >= 1\), "
     r"start, step and select. Got object without start, step, select."),
    (lambda: beam_search(MarkovStepper(np.zeros(0), np.zeros((0, 0))), width=1, max_len=1), TypeError,
     r"'stepper' argument of beam_search must follow .* Got MarkovStepper with vocab_size=0."),
    (lambda: checked_logits(np.zeros((2, 3)), 1, 3, "greedy"), ValueError,
     r"The stepper given to greedy returned logits of shape \(2, 3\); the protocol asks for "
     r"\(N, V\) = \(1, 3\)."),
    (lambda: checked_logits(np.full((1, 3), np.nan), 1, 3, "sample"), ValueError,
     r"The stepper given to sample returned NaN logits."),
], ids=lambda x: x if isinstance(x, str) else "")
def test_messages(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("search", [
    lambda s: greedy(s, max_len=3), lambda s: beam_search(s, width=2, max_len=3),
    lambda s: exhaustive_search(s, max_len=2)])
def test_greedy_and_beam_need_a_prime(search):
    stepper = LMStepper(random_lm("rnn", 4), [])
    with pytest.raises(ValueError, match=r"The 'prime_ids' of the stepper given to "
                       r"(greedy|beam_search|exhaustive_search) must hold >= 1 token: an empty prime "
                       r"starts from uniform logits, which only sample\(\) can draw from"):
        search(stepper)
    assert len(sample(stepper, max_len=3)) == 3                         # sampling takes it


def test_lm_stepper_refuses_models_it_cannot_decode_and_bad_primes():
    with pytest.raises(ValueError, match=r"'model' argument of LMStepper must be a character model "
                       r"\(SimpleRNN, LSTM or GRU\) with output='softmax' and input_size == output_size"):
        LMStepper(bptt.SimpleRNN(4, 3, 5), [0])
    with pytest.raises(ValueError, match=r"'model' argument of LMStepper must be a character model"):
        LMStepper(bptt.GRU(4, 3, 4, output="identity"), [0])
    with pytest.raises(ValueError, match=r"'model' argument of LMStepper must be unidirectional: a "
                       r"bidirectional model reads the future"):
        LMStepper(bptt.LSTM(4, 3, 4, bidirectional=True), [0])
    with pytest.raises(ValueError, match=r"'prime_ids' argument of LMStepper must hold ids in \[0, 4\). Got 4"):
        LMStepper(random_lm("gru", 4), [1, 4])
    with pytest.raises(TypeError, match=r"'prime_ids' argument of LMStepper must hold integer ids"):
        LMStepper(random_lm("gru", 4), [1.0])
    with pytest.raises(ValueError, match=r"'n' parameter of LMStepper.start must be an int >= 1. Got 0"):
        LMStepper(random_lm("gru", 4), [1]).start(0)


def test_unknown_prime_characters_name_them():
    vocab = Vocab("abcd")
    model = random_lm("lstm", vocab.size)
    with pytest.raises(DataError, match=r"The 'prime' text has characters outside the model's "
                       r"vocabulary: 'Q', 'z'"):
        lm_stepper(model, vocab, "abzQ")
    with pytest.raises(TypeError, match=r"'prime' parameter of bptt sample must be a str. Got list"):
        lm_stepper(model, vocab, ["a"], owner="bptt sample")
    with pytest.raises(TypeError, match=r"'vocab' argument of sample must be a bptt.data.Vocab"):
        lm_stepper(model, "abcd")
    assert lm_stepper(model, vocab, "dab").prime_ids.tolist() == vocab.encode("dab").tolist()
