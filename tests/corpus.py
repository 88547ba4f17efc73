"""A small deterministic text for training tests: sentences from a fixed word list."""
import numpy as np

WORDS = ("the cat sat on a mat and the dog ran to the red door while a bird sang in "
         "the old tree by the river").split()


def small_text(n_chars=20_000, seed=0):
    rng = np.random.default_rng(seed)
    out, size = [], 0
    while size < n_chars:
        sentence = " ".join(rng.choice(WORDS, size=rng.integers(4, 10))) + ".\n"
        out.append(sentence)
        size += len(sentence)
    return "".join(out)[:n_chars]
