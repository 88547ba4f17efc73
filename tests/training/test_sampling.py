"""Sampling against its definition: every character is drawn from softmax(o / temperature), where
o is what the model's own forward gives on everything before it (the prime and the characters
drawn so far) from the zero state. A generator that records the distribution of each draw makes
that checkable draw by draw, for every model kind and for stacked layers."""
import numpy as np
import pytest

import bptt
from bptt.data.vocab import Vocab
from bptt.training.sampling import sample
from corpus import small_text

VOCAB = Vocab(small_text(5_000))
# kind -> a float64 character model (two layers: the whole state must be carried)
MODELS = {
    "rnn": lambda V: bptt.SimpleRNN(V, 12, V, num_layers=2, seed=3),
    "lstm": lambda V: bptt.LSTM(V, 12, V, num_layers=2, seed=3),
    "gru": lambda V: bptt.GRU(V, 12, V, num_layers=2, seed=3),
}


class RecordingGenerator(np.random.Generator):
    """A numpy Generator that keeps the distribution p of every choice(n, p=p) it makes."""

    def __init__(self, seed):
        super().__init__(np.random.PCG64(seed))
        self.ps = []

    def choice(self, a, size=None, replace=True, p=None, **kwargs):
        self.ps.append(np.array(p, dtype=np.float64))
        return super().choice(a, size=size, replace=replace, p=p, **kwargs)


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def model_of(kind):
    model = MODELS[kind](VOCAB.size)
    for p in model.params.values():             # sharper outputs: each draw depends on the state
        p *= 3.0
    return model


def next_distribution(model, prefix, temperature):
    """softmax(o / τ) of the model's forward over the whole prefix, from the zero state."""
    o = model.forward(VOCAB.encode(prefix)[:, None]).o[-1, 0]        # (O,) at the prefix's end
    return softmax(o / temperature)


@pytest.mark.parametrize("prime", ["the cat", ""])
@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("kind", list(MODELS))
def test_every_draw_is_softmax_of_forward_on_the_prefix(kind, temperature, prime):
    model = model_of(kind)
    rng = RecordingGenerator(7)
    text = sample(model, VOCAB, 30, temperature=temperature, prime=prime, seed=rng)
    assert text.startswith(prime) and len(text) == len(prime) + 30 and len(rng.ps) == 30
    for j, p in enumerate(rng.ps):
        prefix = text[:len(prime) + j]
        if not prefix:                                       # no context yet: every character alike
            want = np.full(VOCAB.size, 1 / VOCAB.size)
        else:
            want = next_distribution(model, prefix, temperature)
        np.testing.assert_allclose(p, want, rtol=1e-10, atol=1e-15, err_msg=f"draw {j}")
    assert text == sample(model, VOCAB, 30, temperature=temperature, prime=prime, seed=7)


@pytest.mark.parametrize("kind", list(MODELS))
def test_temperature_follows_its_definition(kind):
    """p_τ ∝ exp(o / τ): log(p_τ[i] / p_τ[0]) = (o[i] − o[0]) / τ; as τ → 0 the draw is the
    argmax."""
    model = model_of(kind)
    o = model.forward(VOCAB.encode("the dog")[:, None]).o[-1, 0]
    for tau in (0.25, 1.0, 4.0):
        rng = RecordingGenerator(1)
        sample(model, VOCAB, 1, temperature=tau, prime="the dog", seed=rng)
        logp = np.log(rng.ps[0])
        np.testing.assert_allclose(logp - logp[0], (o - o[0]) / tau, rtol=1e-10, atol=1e-10)
    greedy = "the dog"
    for _ in range(20):                                      # the most likely next character
        greedy += VOCAB.chars[int(np.argmax(next_distribution(model, greedy, 1.0)))]
    assert sample(model, VOCAB, 20, temperature=1e-4, prime="the dog", seed=0) == greedy
