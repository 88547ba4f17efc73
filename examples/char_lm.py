"""Train a character-level language model from Python (what `bptt train` does), then sample.

    python examples/char_lm.py [--steps 500]
"""
import argparse

import bptt
from bptt.data import builtin_corpus
from bptt.training.sampling import sample

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=500)
    args = ap.parse_args()
    data = bptt.CharData.from_text(builtin_corpus(500_000))
    model = bptt.SimpleRNN(data.vocab.size, 128, data.vocab.size, dtype="float32", seed=0)
    history = bptt.train(model, data, bptt.TrainConfig(steps=args.steps, eval_every=100,
                                                       seq_len=50, batch=32, lr=2e-3))
    for rec in history:
        print(f"step {rec['step']:5d}  validation {rec['val_bpc']:.3f} bits/char")
    print(sample(model, data.vocab, 300, prime="def ", temperature=0.7, seed=1))
