"""The built-in classification tasks (bptt.training.classify.make_task): a GRU learns balanced
brackets at a small size, the clipping modes do what they say (one SGD step by hand), the
predictions' lines, and the refusals."""
import time

import numpy as np
import pytest

from bptt import GRU, LSTM, SimpleRNN
from bptt.cells.pooling import pooled_logits
from bptt.data import brackets
from bptt.training.classify import (ClassifyConfig, evaluate_classifier, make_task, predictions,
                                    train_classifier)


def stack_balanced(s):
    stack = []
    for c in s:
        if c in "([":
            stack.append(c)
        elif not stack or stack.pop() != {")": "(", "]": "["}[c]:
            return False
    return not stack


def test_gru_learns_balanced_brackets():
    """Measured (GRU H=16, batch 64, Adam lr 0.02, strings of 2..20): seeds 0-3 reach 99-100 %
    held-out accuracy within 300 steps, about 1.5 s on one core."""
    task = make_task("brackets", max_len=20)
    model = GRU(2, 16, 2, seed=0)
    start = time.perf_counter()
    history = train_classifier(model, task.draw, ClassifyConfig(steps=300, batch=64, lr=0.02,
                                                                eval_every=100), keys=task.keys)
    print(f"brackets: held-out accuracy {history[-1]['val_accuracy']:.3f} in "
          f"{time.perf_counter() - start:.1f} s")
    assert history[-1]["val_accuracy"] > 0.95
    fresh = brackets(2000, seed=99, max_len=20)
    labels = np.array([stack_balanced("".join("()"[i] for i in fresh.x[:n, b]))
                       for b, n in enumerate(fresh.lengths)])                  # independent labels
    logits = pooled_logits(model, fresh.x, lengths=fresh.lengths)
    assert (logits.argmax(1) == labels).mean() > 0.95


def test_tasks_draw_their_strings():
    parity = make_task("parity", max_len=6)
    x, y, n = parity.draw(50, np.random.default_rng(0))
    assert x.shape == (6, 50) and parity.symbols == ("0", "1") and parity.keys is not None
    np.testing.assert_array_equal(y, [x[:k, b].sum() % 2 for b, k in enumerate(n)])
    assert parity.meta == {"name": "parity", "max_len": 6}
    two = make_task("brackets", max_len=8, kinds=2)
    x, y, n = two.draw(50, np.random.default_rng(0))
    assert two.symbols == ("(", ")", "[", "]") and two.meta == {"name": "brackets", "max_len": 8, "kinds": 2}
    assert [int(stack_balanced(s)) for s in two.show(x, n)] == y.tolist()
    assert make_task("brackets").meta["max_len"] == 20 and make_task("parity").meta["max_len"] == 10


def test_predictions_name_the_classes_and_the_argmax():
    task = make_task("brackets", max_len=8)
    model = LSTM(2, 5, 2, seed=1)
    x, y, n = task.draw(6, np.random.default_rng(2))
    lines = predictions(model, task, x, y, n, "mean")
    o = model.forward(x).o                                                     # (T, B, 2)
    mean = np.stack([o[:k, b].mean(0) for b, k in enumerate(n)])               # ō(b), by hand
    p = np.exp(mean) / np.exp(mean).sum(1, keepdims=True)
    for line, s, label, probs in zip(lines, task.show(x, n), y, p):
        k = int(probs.argmax())
        assert line.startswith(s) and task.classes[label] in line
        assert line.endswith(f"predicted {task.classes[k]} (p = {probs[k]:.3f})")


@pytest.mark.parametrize("clip_mode", ["norm", "value", "none"])
def test_one_sgd_step_clips_as_asked(clip_mode):
    """The first step by hand: the batch the trainer draws from the stream [seed, 0], its pooled
    gradients, clipped (by norm as torch: g·c/(‖g‖ + 1e-6)), and θ ← θ − lr·g."""
    task = make_task("parity", max_len=5)
    model, ref = SimpleRNN(2, 4, 2, seed=3), SimpleRNN(2, 4, 2, seed=3)
    cfg = ClassifyConfig(steps=1, batch=6, optimizer="sgd", lr=0.5, clip=0.01,
                         clip_mode=clip_mode, eval_size=4, seed=5)
    train_classifier(model, task.draw, cfg)
    x, y, n = task.draw(6, np.random.default_rng([5, 0]))
    _, grads = ref.loss_and_grads(x, y, lengths=n, pooling="last")
    norm = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
    assert norm > 0.01                                                          # clipping matters
    for k, g in grads.items():
        g = {"norm": g * 0.01 / (norm + 1e-6), "value": np.clip(g, -0.01, 0.01), "none": g}[clip_mode]
        np.testing.assert_allclose(model.params[k], ref.params[k] - 0.5 * g, rtol=0, atol=1e-14)


def test_a_bidirectional_classifier_trains():
    task = make_task("parity", max_len=6)
    model = GRU(2, 6, 2, bidirectional=True, seed=0)
    history = train_classifier(model, task.draw, ClassifyConfig(steps=3, batch=8, eval_size=32),
                               keys=task.keys)
    x, y, n = task.draw(32, np.random.default_rng([0, 1]))                     # the held-out set
    assert history[-1]["val_loss"] == evaluate_classifier(model, x, y, n)[0]


@pytest.mark.parametrize("call,error,message", [
    (lambda: make_task("copy"), ValueError, r"'name' parameter of make_task must be one of"),
    (lambda: make_task("parity", kinds=2), ValueError,
     r"'kinds' parameter of make_task applies to the brackets task, not to parity. Got kinds=2"),
    (lambda: make_task("brackets", max_len=9), ValueError, r"'max_len' parameter of brackets must be even"),
    (lambda: make_task("brackets", kinds=3), ValueError, r"'kinds' parameter of brackets must be 1"),
    (lambda: make_task("parity", max_len=70), ValueError, r"'max_len' parameter of parity must be in"),
    (lambda: ClassifyConfig(clip_mode="hard").validate(), ValueError,
     r"'clip_mode' parameter of ClassifyConfig must be one of"),
    (lambda: ClassifyConfig(resume=1).validate(), TypeError,
     r"'resume' parameter of ClassifyConfig must be True or False. Got 1"),
])
def test_refusals(call, error, message):
    with pytest.raises(error, match=message):
        call()
