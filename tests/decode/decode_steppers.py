"""Steppers and references shared by tests/decode: a Markov chain with a known table, small random
character LMs of every kind, and each one's log-probability of a whole sequence computed without
bptt.decode (the table's entries; one model.forward over prime + sequence)."""
import itertools

import numpy as np

import bptt


class MarkovStepper:
    """First-order Markov chain over V tokens: the first token's logits `first` (V,), then
    logits `table[previous token]` (V, V). Its state is the previous token of each row (N,)."""

    def __init__(self, first, table):
        self.first = np.asarray(first, dtype=np.float64)
        self.table = np.asarray(table, dtype=np.float64)
        self.vocab_size = len(self.first)

    def start(self, n):
        return np.repeat(self.first[None], n, axis=0), np.full(n, -1)

    def step(self, state, tokens):
        tokens = np.asarray(tokens)
        assert tokens.shape == state.shape                     # one token per row, as promised
        return self.table[tokens], tokens.copy()

    def select(self, state, rows):
        return state[np.asarray(rows)]

    def logprob(self, tokens):
        """Σ_t log p(y(t) | y(t−1)), from the table alone (log-softmax by hand, in Python)."""
        total, logits = 0.0, self.first
        for y in tokens:
            z = [float(x) for x in logits]
            m = max(z)
            total += z[y] - m - np.log(sum(np.exp(x - m) for x in z))
            logits = self.table[y]
        return total


def random_markov(V, seed, scale=2.0):
    rng = np.random.default_rng(seed)
    return MarkovStepper(rng.normal(scale=scale, size=V), rng.normal(scale=scale, size=(V, V)))


def from_probabilities(first, table):
    """A Markov stepper whose probabilities are the given ones (logits = log p)."""
    return MarkovStepper(np.log(first), np.log(table))


MODELS = {
    "rnn": lambda V, L: bptt.SimpleRNN(V, 5, V, num_layers=L, seed=11),
    "lstm": lambda V, L: bptt.LSTM(V, 5, V, num_layers=L, seed=11),
    "gru": lambda V, L: bptt.GRU(V, 5, V, num_layers=L, seed=11),
}


def random_lm(kind, V, layers=1, scale=3.0):
    """A float64 character LM whose outputs depend sharply on the state (parameters × scale)."""
    model = MODELS[kind](V, layers)
    for p in model.params.values():
        p *= scale
    return model


def model_logprob(model, prime, tokens):
    """log p(tokens | prime) by one model.forward over prime + tokens[:-1] from the zero state:
    o(P − 1 + j) scores tokens[j]."""
    ids = np.array(list(prime) + list(tokens[:-1]), dtype=np.int64)[:, None]
    o = model.forward(ids).o[:, 0]                                       # (P + n − 1, V)
    P, total = len(prime), 0.0
    for j, y in enumerate(tokens):
        z = o[P - 1 + j]
        total += z[y] - z.max() - np.log(np.exp(z - z.max()).sum())
    return total


def all_sequences(V, max_len, eos):
    """Every token string exhaustive search should score, by brute force (itertools)."""
    for n in range(1, max_len + 1):
        for seq in itertools.product(range(V), repeat=n):
            if eos is None:
                if n == max_len:
                    yield seq, False
            elif eos in seq[:-1]:
                continue
            elif seq[-1] == eos:
                yield seq, True
            elif n == max_len:
                yield seq, False
