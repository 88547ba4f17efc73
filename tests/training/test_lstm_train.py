"""The LSTM follows the model protocol the trainer, evaluation, sampling and checkpoints use."""
import math

import numpy as np
import pytest

from bptt.data.chardata import CharData
from bptt.cells.lstm.model import LSTM
from bptt.cells.registry import MODEL_KINDS
from bptt.training.loop import TrainConfig, evaluate, train
from corpus import small_text


@pytest.fixture(scope="module")
def data():
    return CharData.from_text(small_text(20_000))


def cfg(out=None, **kw):
    base = dict(steps=60, seq_len=16, batch=8, eval_every=20, checkpoint_every=25, lr=1e-2,
                eval_chars=2000, progress=False, out=None if out is None else str(out))
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize("num_layers, stride", [(1, None), (2, 8)])
def test_lstm_trains(data, num_layers, stride):
    V = data.vocab.size
    model = LSTM(V, 24, V, num_layers=num_layers, dtype="float32", seed=0)
    before = evaluate(model, data.val_ids, 8, 16, 2000)
    history = train(model, data, cfg(stride=stride))
    after = evaluate(model, data.val_ids, 8, 16, 2000)
    assert abs(before - math.log(V)) < 0.1                         # starts near uniform
    assert all(math.isfinite(r["train_loss"]) and math.isfinite(r["grad_norm"]) for r in history)
    assert after < 0.9 * before                                   # and is learning
    assert all(p.dtype == np.float32 for p in model.params.values())


def test_sampling_carries_the_pair_state(data):
    from bptt.training.sampling import sample
    model = LSTM(data.vocab.size, 16, data.vocab.size, num_layers=2, seed=0)
    text = sample(model, data.vocab, 30, prime="the cat", seed=1)
    assert text.startswith("the cat") and len(text) == 37
    assert text == sample(model, data.vocab, 30, prime="the cat", seed=1)


def test_resume_is_bitwise(data, tmp_path):
    assert MODEL_KINDS["lstm"] is LSTM
    def model():
        return LSTM(data.vocab.size, 16, data.vocab.size, num_layers=2, dtype="float32", seed=0)
    full = model()
    train(full, data, cfg(tmp_path / "a", steps=40, stride=8))
    part = model()
    train(part, data, cfg(tmp_path / "b", steps=23, stride=8))
    resumed = model()
    train(resumed, data, cfg(tmp_path / "b", steps=40, stride=8, resume=True))
    for k in full.params:
        assert np.array_equal(full.params[k], resumed.params[k]), k
    from bptt.io.saving import load_model
    loaded, vocab, meta = load_model(tmp_path / "a")
    assert isinstance(loaded, LSTM) and loaded.config() == full.config()
