"""Sequence classification training (bptt.training.classify): a GRU learns the parity of held-out
bit strings of up to 10 bits, one target per string (pooling="last" with lengths)."""
import time

import pytest

from bptt import GRU, SimpleRNN
from bptt.data.synthetic import parity, string_keys
from bptt.training.classify import ClassifyConfig, evaluate_classifier, train_classifier


def parity_task(n, rng, exclude=None):
    p = parity(n, rng, max_len=10, exclude=exclude)
    return p.x, p.y, p.lengths


def test_gru_learns_parity_of_held_out_strings():
    """Measured (GRU H=32, batch 128, Adam lr 0.02, 1500 steps, seeds 0, 1, 2): on the AMD EPYC
    Zen 4 machine (OpenBLAS's SkylakeX kernels) 99 %, 100 %, 100 % held-out accuracy, seed 2 at
    100 % by step 500; on a Zen 3 one (Haswell kernels: the float64 sums round differently, and
    the runs diverge) 88 %, 100 % (by step 400), 92 %. Some seeds stall on a plateau, so the
    test trains seed 1, then seed 2 if seed 1 has not learnt it in 600 steps."""
    for seed in (1, 2):
        model = GRU(2, 32, 2, seed=seed)
        start = time.perf_counter()
        history = train_classifier(model, parity_task,
                                   ClassifyConfig(steps=600, batch=128, lr=0.02, seed=seed,
                                                  eval_every=200), keys=string_keys)
        seconds = time.perf_counter() - start
        print(f"parity, seed {seed}: held-out accuracy {history[-1]['val_accuracy']:.3f} in "
              f"{seconds:.1f} s")
        if history[-1]["val_accuracy"] > 0.95:
            break
    assert history[-1]["val_accuracy"] > 0.95
    held = parity(2000, 99, max_len=10)                  # fresh strings, lengths 1..10
    _, acc = evaluate_classifier(model, held.x, held.y, held.lengths)
    assert acc > 0.95
    assert history[0]["step"] == 200 and history[-1]["step"] == 600


def test_records_and_refusals(tmp_path):
    model = SimpleRNN(2, 4, 2)
    h = train_classifier(model, parity_task, ClassifyConfig(steps=5, eval_every=2, eval_size=16,
                                                            pooling="mean"))
    assert [r["step"] for r in h] == [2, 4, 5]
    assert set(h[0]) == {"step", "loss", "grad_norm", "val_loss", "val_accuracy", "seconds"}
    with pytest.raises(ValueError, match=r"'pooling' parameter of ClassifyConfig must be one of"):
        train_classifier(model, parity_task, ClassifyConfig(pooling="max"))
    with pytest.raises(ValueError, match=r"needs a model with output='softmax'"):
        train_classifier(SimpleRNN(2, 4, 2, output="identity"), parity_task, ClassifyConfig())
    with pytest.raises(ValueError, match=r"pass vocab"):
        train_classifier(model, parity_task, ClassifyConfig(out=str(tmp_path)))
