"""The training loop: learning, checkpoints, bitwise resume, divergence, write failures."""
import json
import math

import numpy as np
import pytest

import bptt
from bptt.data.chardata import CharData
from bptt.io.checkpoint import CheckpointError, list_generations, load_checkpoint
from bptt.io.saving import load_model
from bptt.training.loop import (ResumeError, TrainConfig, TrainingError, _truncate_metrics, evaluate,
                                train)
from corpus import small_text


@pytest.fixture(scope="module")
def data():
    return CharData.from_text(small_text(20_000))


def make_model(data, H=24, dtype="float32"):
    return bptt.SimpleRNN(data.vocab.size, H, data.vocab.size, dtype=dtype, seed=0)


def cfg(out=None, **kw):
    base = dict(steps=40, seq_len=16, batch=8, eval_every=10, checkpoint_every=15, lr=1e-2,
                eval_chars=500, progress=False, out=None if out is None else str(out))
    base.update(kw)
    return TrainConfig(**base)


def test_training_learns_and_writes_metrics(data, tmp_path):
    model = make_model(data)
    before = evaluate(model, data.val_ids, 8, 16, 2000)
    history = train(model, data, cfg(tmp_path, steps=120, eval_every=40))
    after = evaluate(model, data.val_ids, 8, 16, 2000)
    assert abs(before - math.log(data.vocab.size)) < 0.1          # starts near uniform
    assert after < 0.6 * before                                   # and learns the word list
    lines = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [40, 80, 120] == [r["step"] for r in history]
    for key in ("step", "train_loss", "val_loss", "val_bpc", "grad_norm", "chars_per_s"):
        assert all(key in r for r in lines)
    assert abs(lines[-1]["val_bpc"] - lines[-1]["val_loss"] / math.log(2)) < 1e-12
    loaded, vocab, meta = load_model(tmp_path)
    assert meta["step"] == 120 and vocab == data.vocab
    for k in model.params:
        assert np.array_equal(loaded.params[k].astype(np.float32), model.params[k])


@pytest.mark.parametrize("stride, optimizer, clip_mode", [(None, "adam", "norm"), (8, "rmsprop", "value"),
                                                          (16, "nesterov", "norm")])
def test_resume_is_bitwise(data, tmp_path, stride, optimizer, clip_mode):
    full = make_model(data)
    train(full, data, cfg(tmp_path / "a", stride=stride, optimizer=optimizer, clip_mode=clip_mode))
    part = make_model(data)
    train(part, data, cfg(tmp_path / "b", steps=23, stride=stride, optimizer=optimizer,
                          clip_mode=clip_mode))
    resumed = make_model(data)
    history = train(resumed, data, cfg(tmp_path / "b", resume=True, stride=stride,
                                       optimizer=optimizer, clip_mode=clip_mode))
    for k in full.params:
        assert np.array_equal(full.params[k], resumed.params[k]), k
    assert [r["step"] for r in history] == [10, 20, 23, 30, 40]


def _records(path):
    """metrics.jsonl without the speed, the one field that differs between runs."""
    return [{k: v for k, v in json.loads(line).items() if k != "chars_per_s"}
            for line in path.read_text().splitlines()]


def test_metrics_after_a_crash_are_those_of_an_uninterrupted_run(data, tmp_path):
    """A run killed at step 35: checkpointed at 20, evaluated at 30 (a record the checkpoint does
    not know), and cut while writing the record of step 40. Resuming drops the record of step 30
    and the cut line, redoes both, and ends with the uninterrupted run's metrics.jsonl."""
    train(make_model(data), data, cfg(tmp_path / "full", steps=40, checkpoint_every=20))
    full = tmp_path / "full" / "metrics.jsonl"
    assert [r["step"] for r in _records(full)] == [10, 20, 30, 40]
    out = tmp_path / "crashed"
    train(make_model(data), data, cfg(out, steps=20, checkpoint_every=20))
    lines = full.read_text().splitlines(keepends=True)
    with open(out / "metrics.jsonl", "a") as f:
        f.write(lines[2] + lines[3][:25])                     # step 30, then half of step 40
    history = train(make_model(data), data, cfg(out, steps=40, checkpoint_every=20, resume=True))
    assert _records(out / "metrics.jsonl") == _records(full)
    assert [r["step"] for r in history] == [10, 20, 30, 40]


def test_truncate_metrics_keeps_what_the_checkpoint_knows(tmp_path):
    path = tmp_path / "metrics.jsonl"
    assert _truncate_metrics(path, 5) == [] and not path.exists()
    path.write_text('{"step": 10, "val_loss": 1.5}\n'
                    '[1, 2]\n'                                 # not a record
                    '{"step": "20"}\n'                         # a step that is not an int
                    '{"val_loss": 2.0}\n'                      # no step
                    '{"step": 20, "val_loss": 1.25}\n'
                    '{"step": 30, "val_loss": 1.0}\n'          # after the checkpoint: redone
                    '{"step": 40, "val_lo')                    # cut by the crash
    kept = _truncate_metrics(path, 20)
    assert kept == [{"step": 10, "val_loss": 1.5}, {"step": 20, "val_loss": 1.25}]
    assert path.read_text() == '{"step": 10, "val_loss": 1.5}\n{"step": 20, "val_loss": 1.25}\n'


def test_resume_refuses_other_settings(data, tmp_path):
    train(make_model(data), data, cfg(tmp_path, steps=5))
    with pytest.raises(ResumeError, match=r"Cannot resume: the checkpoint was made with other "
                                            r"settings \(checkpoint, now\): \{'lr': \(0.01, 0.02\)\}"):
        train(make_model(data), data, cfg(tmp_path, resume=True, lr=2e-2))
    other = CharData.from_text(small_text(20_000, seed=1), vocab=data.vocab)
    with pytest.raises(ResumeError, match=r"the training text differs"):
        train(make_model(data), data.__class__(data.vocab, other.train_ids, other.val_ids),
              cfg(tmp_path, resume=True))


def test_divergence_stops_and_keeps_the_last_good_checkpoint(data, tmp_path):
    model = make_model(data, dtype="float64")
    real, calls, good = model._backward, [0], {}

    def blows_up_at_step_18(*args, **kwargs):                 # an injected fault
        res = real(*args, **kwargs)
        calls[0] += 1
        if calls[0] == 15:
            good.update({k: p.copy() for k, p in model.params.items()})   # before step 15's update
        if calls[0] == 18:
            res.grads["W"][0, 0] = np.inf
        return res
    model._backward = blows_up_at_step_18
    with pytest.raises(TrainingError, match=r"Training stopped at step 18: the loss is [\d.]+ and the "
                                            r"gradient norm inf.* The last good checkpoint is kept in"):
        train(model, data, cfg(tmp_path, steps=30, checkpoint_every=15))
    arrays, meta = load_checkpoint(tmp_path)
    assert meta["step"] == 15
    assert not np.array_equal(arrays["params/W"], good["W"])       # step 15's update is in it
    assert np.isfinite(arrays["params/W"]).all()


def test_failing_checkpoint_write_keeps_the_previous_one(data, tmp_path, monkeypatch):
    import errno
    import bptt.io.checkpoint as ckpt
    model = make_model(data)
    train(model, data, cfg(tmp_path, steps=15))
    gens = list_generations(tmp_path)

    def full_disk(f, arrays):
        f.write(b"PK\x03\x04 partial")
        raise OSError(errno.ENOSPC, "No space left on device")
    with monkeypatch.context() as m:
        m.setattr(ckpt, "_write_npz", full_disk)
        with pytest.raises(CheckpointError, match=r"No space left on device"):
            train(model, data, cfg(tmp_path, steps=30, resume=True))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    assert list_generations(tmp_path) == gens
    assert load_checkpoint(tmp_path)[1]["step"] == 15


def test_a_fresh_run_does_not_overwrite_a_checkpoint(data, tmp_path):
    train(make_model(data), data, cfg(tmp_path, steps=5))
    with pytest.raises(ResumeError, match=r"already holds a checkpoint: pass --resume \(resume=True\) to continue it"):
        train(make_model(data), data, cfg(tmp_path, steps=5))
    assert load_checkpoint(tmp_path)[1]["step"] == 5
    # --overwrite removes the old run, so a later --resume cannot pick it up
    train(make_model(data), data, cfg(tmp_path, steps=3, overwrite=True, checkpoint_every=100))
    assert load_checkpoint(tmp_path)[1]["step"] == 3 and len(list_generations(tmp_path)) == 1


def test_resume_with_a_tampered_data_position_is_refused(data, tmp_path):
    import json
    train(make_model(data), data, cfg(tmp_path, steps=5))
    for rec in tmp_path.glob("checkpoint-*.json"):
        record = json.loads(rec.read_text())
        record["meta"]["data"]["position"] = 10**9
        rec.write_text(json.dumps(record))
    with pytest.raises(CheckpointError, match=r"data position .* is invalid: The 'position' parameter"):
        train(make_model(data), data, cfg(tmp_path, steps=10, resume=True))


def test_resume_without_a_checkpoint_starts_fresh_metrics(data, tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"step": 999}\n')
    history = train(make_model(data), data, cfg(tmp_path, steps=10, resume=True))
    assert [r["step"] for r in history] == [10]
    assert "999" not in (tmp_path / "metrics.jsonl").read_text()


def test_config_errors():
    with pytest.raises(ValueError, match=r"'stride' parameter of TrainConfig \(k1\) must be <= seq_len \(k2\) = 10. Got 20"):
        TrainConfig(seq_len=10, stride=20).validate()
    with pytest.raises(ValueError, match=r"'steps' parameter of TrainConfig must be an int >= 1. Got 0"):
        TrainConfig(steps=0).validate()
    with pytest.raises(ValueError, match=r"'optimizer' parameter of TrainConfig must be one of"):
        TrainConfig(optimizer="adamw").validate()
    with pytest.raises(ValueError, match=r"'lr' parameter of TrainConfig must be a finite number in \(0, inf\]. Got -1"):
        TrainConfig(lr=-1).validate()
    with pytest.raises(ValueError, match=r"'clip_mode' parameter of TrainConfig must be one of 'norm', 'value', 'none'"):
        TrainConfig(clip_mode="both").validate()


def test_train_and_evaluate_check_their_arguments(data):
    model = make_model(data)
    with pytest.raises(ValueError, match=r"the data's vocabulary has \d+ characters: build it with "
                                         r"input_size = output_size = \d+"):
        train(bptt.SimpleRNN(3, 4, 3), data, cfg())
    with pytest.raises(TypeError, match=r"'config' argument of train must be a TrainConfig. Got dict"):
        train(model, data, {"steps": 3})
    with pytest.raises(TypeError, match=r"'data' argument of train must be a CharData"):
        train(model, "some text", cfg())
    with pytest.raises(TypeError, match=r"'model' argument of train must be a recurrent model \(SimpleRNN, LSTM, GRU\) with output='softmax'"):
        train(bptt.SimpleRNN(data.vocab.size, 4, data.vocab.size, output="identity"), data, cfg())
    with pytest.raises(ValueError, match=r"'ids' argument of evaluate must hold ids in \[0, \d+\)"):
        evaluate(model, np.array([0, 1, 999]), 2, 5)
    with pytest.raises(ValueError, match=r"'seq_len' parameter of evaluate must be an int >= 1. Got 0"):
        evaluate(model, data.val_ids, 2, 0)
