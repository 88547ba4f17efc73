"""Resuming a sequence classifier's run (bptt.training.classify): after a crash or Ctrl-C the run
continues from its checkpoint and ends bitwise where an uninterrupted run ends (parameters and
metrics); a DIR with a checkpoint is refused without resume/overwrite; a checkpoint made with
other settings, another task, another model or by the char-LM trainer is refused by name."""
import json
import os
import signal

import numpy as np
import pytest

import bptt
from bptt import GRU, LSTM
from bptt import CharData
from bptt.data import Vocab
from bptt.io.checkpoint import CheckpointError
from bptt.io.saving import load_model
from bptt.training.classify import ClassifyConfig, make_task, train_classifier
from bptt.training.loop import ResumeError

TASK = make_task("brackets", max_len=8)
VOCAB = Vocab.from_list(list(TASK.symbols))


class Crash(Exception):
    pass


def run(out, steps, progress=None, kind=LSTM, task=TASK, **kw):
    """A small run into out: records every 4 steps, checkpoints every 10."""
    model = kind(2, 5, 2, seed=1)
    cfg = ClassifyConfig(steps=steps, batch=8, eval_every=4, checkpoint_every=10, eval_size=32,
                         out=str(out), **kw)
    history = train_classifier(model, task.draw, cfg, vocab=VOCAB, progress=progress,
                               task_meta=task.meta)
    return model, history


def records(out):
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"}
            for line in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    out = tmp_path_factory.mktemp("straight")
    model, history = run(out, 20)
    return out, model


def test_resume_after_a_crash_is_bitwise_the_same_run(straight, tmp_path):
    """The crash comes at step 12, after the checkpoint of step 10, which holds the partial sums
    of steps 9 and 10 (the record of step 12 averages steps 9-12 in both runs)."""
    def crash_at_12(rec):
        if rec["step"] == 12:
            raise Crash
    with pytest.raises(Crash):
        run(tmp_path, 20, progress=crash_at_12)
    assert [r["step"] for r in records(tmp_path)] == [4, 8, 12]
    model, history = run(tmp_path, 20, resume=True)
    want_dir, want = straight
    for k, p in want.params.items():
        np.testing.assert_array_equal(model.params[k], p)
    assert records(tmp_path) == records(want_dir)                 # 4, 8, 12, 16, 20: every number
    assert [r["step"] for r in history] == [4, 8, 12, 16, 20]
    assert load_model(tmp_path)[2]["step"] == 20


def test_ctrl_c_saves_and_resume_continues(straight, tmp_path):
    def interrupt_at_8(rec):
        if rec["step"] == 8:
            os.kill(os.getpid(), signal.SIGINT)
    _, history = run(tmp_path, 20, progress=interrupt_at_8)
    assert history.interrupted and history.step == 8
    assert load_model(tmp_path)[2]["step"] == 8
    model, history = run(tmp_path, 20, resume=True)
    assert not history.interrupted and history.step == 20
    for k, p in straight[1].params.items():
        np.testing.assert_array_equal(model.params[k], p)


def test_resume_without_a_checkpoint_starts_afresh_and_past_the_end_does_nothing(straight, tmp_path):
    model, _ = run(tmp_path, 20, resume=True)
    for k, p in straight[1].params.items():
        np.testing.assert_array_equal(model.params[k], p)
    _, history = run(tmp_path, 12, resume=True)                   # the checkpoint is at step 20
    assert history.step == 20 and [r["step"] for r in history] == [4, 8, 12, 16, 20]


def test_overwrite_starts_afresh(tmp_path):
    run(tmp_path, 10)
    with pytest.raises(ResumeError, match=r"already holds a checkpoint: pass --resume \(resume=True\) "
                                          r"to continue it, --overwrite \(overwrite=True\) to start afresh"):
        run(tmp_path, 10)
    run(tmp_path, 4, overwrite=True)
    assert load_model(tmp_path)[2]["step"] == 4 and [r["step"] for r in records(tmp_path)] == [4]


@pytest.mark.parametrize("change,message", [
    ({"lr": 0.5}, r"Cannot resume: the checkpoint was made with other settings \(checkpoint, now\): "
                  r"\{'lr': \(0.01, 0.5\)\}"),
    ({"task": make_task("brackets", max_len=10)},
     r"other settings .*'task': \(\{'name': 'brackets', 'max_len': 8, 'kinds': 1\}, "
     r"\{'name': 'brackets', 'max_len': 10, 'kinds': 1\}\)"),
    ({"kind": GRU}, r"the checkpoint holds a 'lstm' model, not 'gru'"),
])
def test_resume_refuses_other_settings(tmp_path, change, message):
    run(tmp_path, 10)
    with pytest.raises((ResumeError, CheckpointError), match=message):
        run(tmp_path, 20, resume=True, **change)


def test_resume_refuses_another_model_config(tmp_path):
    run(tmp_path, 10)
    cfg = ClassifyConfig(steps=20, batch=8, eval_every=4, eval_size=32, out=str(tmp_path), resume=True)
    with pytest.raises(ResumeError, match=r"Cannot resume: the checkpoint's model .*'hidden_size': 5.* "
                                          r"differs from .*'hidden_size': 6"):
        train_classifier(LSTM(2, 6, 2), TASK.draw, cfg, vocab=VOCAB, task_meta=TASK.meta)


def test_resume_refuses_a_char_model_checkpoint(tmp_path):
    data = CharData.from_text("()(())" * 40)
    bptt.train(LSTM(2, 5, 2), data, bptt.TrainConfig(steps=2, seq_len=5, batch=2, eval_every=2,
                                                      out=str(tmp_path), progress=False))
    with pytest.raises(ResumeError, match=r"Cannot resume: .* holds a character model's checkpoint, "
                                          r"not a sequence classifier's"):
        run(tmp_path, 20, resume=True)


def test_resume_refuses_a_checkpoint_without_its_generator(tmp_path):
    """A classifier's checkpoint with the right settings but no generator state (rng) or partial
    sums, as written by a bptt that did not resume classifiers."""
    from bptt.io.saving import save_training_state
    from bptt.training.optim import make_optimizer
    model = LSTM(2, 5, 2, seed=1)
    cfg = ClassifyConfig(batch=8, eval_size=32)
    save_training_state(tmp_path, model=model, optimizer=make_optimizer("adam", 0.01), vocab=VOCAB,
                        step=3, data_state={"task": "classify", "pooling": "last"},
                        carried=model.zero_state(8), accum={"loss": 0.0, "chars": 0, "steps": 0},
                        recipe={**cfg.recipe(), "task": TASK.meta}, fingerprint="")
    with pytest.raises(ResumeError, match=r"Cannot resume: the checkpoint in .* lacks a valid generator "
                                          r"state or partial sums \(TypeError"):
        run(tmp_path, 20, resume=True)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_non_finite_loss_stops_training():
    from bptt.training.loop import TrainingError
    model = LSTM(2, 5, 2, seed=1)
    model.params["c"][:] = np.inf
    with pytest.raises(TrainingError, match=r"the training loss is nan and the gradient norm nan at "
                                            r"step 1: lower --lr \(now 0.01\) or --clip \(now 5.0\)"):
        train_classifier(model, TASK.draw, ClassifyConfig(steps=3, batch=4, eval_size=4))
