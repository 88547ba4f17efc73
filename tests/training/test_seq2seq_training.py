"""Training a Seq2Seq (bptt.training.seq2seq): a tiny reversal task learned to a high held-out
exact match in seconds, a training step equal to one written out by hand, the records equal to
measures computed independently, resume (after Ctrl-C) bitwise equal to an uninterrupted run,
and translate's answers to bad input."""
import json
import os
import signal

import numpy as np
import pytest

import bptt
from bptt import decode
from bptt.cells.seq2seq import Seq2SeqStepper
from bptt.data import DataError, PairVocab, batch_pairs, reverse_pairs, split_pairs
from bptt.io.checkpoint import CheckpointError
from bptt.training.clipping import clip_by_norm
from bptt.training.loop import ResumeError, TrainingError
from bptt.training.optim import make_optimizer
from bptt.training.seq2seq import (Seq2SeqConfig, evaluate_seq2seq, train_seq2seq, translate)

PAIRS = reverse_pairs(2000, max_len=5, alphabet="abcde", seed=0)
TRAIN, VAL = split_pairs(PAIRS, seed=0)
SRC = PairVocab.from_texts(s for s, _ in PAIRS)
TGT = PairVocab.from_texts(t for _, t in PAIRS)


def model_of(H=32, **kw):
    return bptt.Seq2Seq(SRC.size, TGT.size, H, **{"attention": "additive", "seed": 0, **kw})


@pytest.fixture(scope="module")
def learned():
    """A model trained on the reversal of strings of 1..5 letters: 300 steps, ~2 s."""
    model = model_of()
    history = train_seq2seq(model, TRAIN, VAL, SRC, TGT,
                            Seq2SeqConfig(steps=300, batch=32, lr=1e-2, eval_every=100))
    return model, history


def test_reversal_is_learned(learned):
    model, history = learned
    assert not set(s for s, _ in VAL) & set(s for s, _ in TRAIN)           # truly held out
    outputs = translate(model, SRC, TGT, [s for s, _ in VAL])
    right = np.mean([o == s[::-1] for o, (s, _) in zip(outputs, VAL)])    # the task, by hand
    assert right >= 0.95, right
    assert [r["step"] for r in history] == [100, 200, 300] and history.step == 300
    assert history[-1]["exact_match"] >= 0.95 and history[0]["loss"] > 5 * history[-1]["loss"]


def test_records_equal_independent_measures(learned, monkeypatch):
    """val_loss: the mean over pairs of each pair's own J (B = 1); exact_match: beam search of
    width 1 over a stepper, one source at a time (another path than the batched greedy). In
    chunks of 64 pairs, the last one shorter."""
    monkeypatch.setattr("bptt.training.seq2seq.CHUNK", 64)
    model, _ = learned
    held = VAL[:150] + [("abcde", "aaa")]                    # one target it should not produce
    val_loss, exact = evaluate_seq2seq(model, held, SRC, TGT, max_len=7)
    per_pair = [model.loss(*(lambda b: (b.src, b.tgt, b.src_mask, b.tgt_mask))(
        batch_pairs([p], SRC, TGT))) for p in held]
    assert val_loss == pytest.approx(np.mean(per_pair), rel=1e-12)
    outs = []
    for s, _ in held:
        h = decode.beam_search(Seq2SeqStepper(model, SRC.encode(s, eos=True)), width=1,
                               max_len=7, eos=model.eos_id)[0]
        outs.append(TGT.decode([t for t in h.tokens if t != model.eos_id]) if h.finished else None)
    assert exact == pytest.approx(np.mean([o == t for o, (_, t) in zip(outs, held)]), abs=1e-15)
    assert 0.9 < exact < 1


def test_one_step_equals_a_step_written_out(tmp_path):
    """The batches come from default_rng([seed, 0]), with replacement; then loss_and_grads,
    clip_by_norm and the optimizer: the same arrays, bitwise."""
    cfg = Seq2SeqConfig(steps=2, batch=8, lr=0.05, clip=0.5, eval_every=2, seed=4, optimizer="rmsprop")
    model = model_of(H=8, cell="lstm")
    train_seq2seq(model, TRAIN, VAL, SRC, TGT, cfg)
    ref = model_of(H=8, cell="lstm")
    rng, opt = np.random.default_rng([4, 0]), make_optimizer("rmsprop", 0.05)
    for _ in range(2):
        b = batch_pairs([TRAIN[i] for i in rng.integers(0, len(TRAIN), size=8)], SRC, TGT)
        _, grads = ref.loss_and_grads(b.src, b.tgt, b.src_mask, b.tgt_mask)
        assert clip_by_norm(grads, 0.5) > 0.5                # clipping did something
        opt.step(ref.params, grads)
    for k, p in ref.params.items():
        assert np.array_equal(model.params[k], p), k


def _interrupt_at(step):
    def progress(rec):
        if rec["step"] == step:
            os.kill(os.getpid(), signal.SIGINT)              # Ctrl-C: caught by the loop
    return progress


def _records(out):
    recs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [{k: r[k] for k in r if k != "seconds"} for r in recs]


def test_resume_after_ctrl_c_equals_an_uninterrupted_run(tmp_path):
    cfg = dict(steps=30, batch=8, lr=0.02, eval_every=10, checkpoint_every=25, eval_size=40, seed=2)
    whole = model_of(H=8, cell="gru", bidirectional_encoder=True)
    full = train_seq2seq(whole, TRAIN, VAL, SRC, TGT,
                         Seq2SeqConfig(**cfg, out=str(tmp_path / "a")), data={"task": "reverse"})
    cut = model_of(H=8, cell="gru", bidirectional_encoder=True)
    first = train_seq2seq(cut, TRAIN, VAL, SRC, TGT, Seq2SeqConfig(**cfg, out=str(tmp_path / "b")),
                          _interrupt_at(10))
    assert first.interrupted and first.step == 10
    again = model_of(H=8, cell="gru", bidirectional_encoder=True, seed=9)   # other initial weights
    rest = train_seq2seq(again, TRAIN, VAL, SRC, TGT,
                         Seq2SeqConfig(**cfg, out=str(tmp_path / "b"), resume=True))
    assert rest.step == 30 and not rest.interrupted
    for k, p in whole.params.items():
        assert np.array_equal(again.params[k], p), k
    assert _records(tmp_path / "a") == _records(tmp_path / "b")
    assert [r["step"] for r in rest] == [r["step"] for r in full] == [10, 20, 30]


def test_resume_and_overwrite_refusals(tmp_path):
    cfg = dict(steps=4, batch=4, eval_every=2, eval_size=10, out=str(tmp_path))
    train_seq2seq(model_of(H=4), TRAIN, VAL, SRC, TGT, Seq2SeqConfig(**cfg))
    with pytest.raises(ResumeError, match="already holds a checkpoint: pass --resume"):
        train_seq2seq(model_of(H=4), TRAIN, VAL, SRC, TGT, Seq2SeqConfig(**cfg))
    with pytest.raises(ResumeError, match=r"other settings or data \(checkpoint, now\): "
                                          r"\{'lr': \(0.005, 0.001\)\}"):
        train_seq2seq(model_of(H=4), TRAIN, VAL, SRC, TGT,
                      Seq2SeqConfig(**cfg, lr=1e-3, resume=True))
    with pytest.raises(ResumeError, match=r"other settings or data .*'data'"):
        train_seq2seq(model_of(H=4), TRAIN[1:], VAL, SRC, TGT, Seq2SeqConfig(**cfg, resume=True))
    with pytest.raises(ResumeError, match="the checkpoint's model .* differs from"):
        train_seq2seq(model_of(H=4, cell="rnn"), TRAIN, VAL, SRC, TGT,
                      Seq2SeqConfig(**cfg, resume=True))
    fresh = model_of(H=4)
    h = train_seq2seq(fresh, TRAIN, VAL, SRC, TGT, Seq2SeqConfig(**cfg, overwrite=True))
    assert h.step == 4 and len(_records(tmp_path)) == 2


def test_resume_refuses_a_model_without_training_state(tmp_path):
    from bptt.io.seq2seq_saving import save_seq2seq
    save_seq2seq(tmp_path, model_of(H=4), SRC, TGT)
    with pytest.raises(ResumeError, match="without its training state"):
        train_seq2seq(model_of(H=4), TRAIN, VAL, SRC, TGT,
                      Seq2SeqConfig(steps=2, out=str(tmp_path), resume=True))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_a_non_finite_loss_stops_training():
    model = model_of(H=4)
    model.params["dec.c"][0] = np.inf
    with pytest.raises(TrainingError, match="at step 1: lower --lr"):
        train_seq2seq(model, TRAIN, VAL, SRC, TGT, Seq2SeqConfig(steps=2))


@pytest.mark.parametrize("kw,error,match", [
    (dict(steps=0), ValueError, "'steps' parameter of Seq2SeqConfig must be an int >= 1. Got 0"),
    (dict(lr=0.0), ValueError, r"'lr' parameter of Seq2SeqConfig must be a finite number in \(0.0"),
    (dict(optimizer="lbfgs"), ValueError, "'optimizer' parameter of Seq2SeqConfig must be one of"),
    (dict(max_decode_len=0), ValueError, "'max_decode_len' parameter of Seq2SeqConfig must be an "
                                         "int >= 1"),
    (dict(resume=True, overwrite=True), ValueError, "'resume' and 'overwrite' parameters of "
                                                    "Seq2SeqConfig exclude each other"),
])
def test_config_errors(kw, error, match):
    with pytest.raises(error, match=match):
        Seq2SeqConfig(**kw).validate()


@pytest.mark.parametrize("args,error,match", [
    (lambda: (model_of(H=4), TRAIN, VAL, SRC, PairVocab("abcdefg")), ValueError,
     f"'tgt_vocab' argument of train_seq2seq has 10 ids, but the model's tgt_vocab_size is "
     f"{TGT.size}"),
    (lambda: (bptt.GRU(3, 4, 3), TRAIN, VAL, SRC, TGT), TypeError,
     "'model' argument of train_seq2seq must be a Seq2Seq"),
    (lambda: (model_of(H=4), TRAIN + [("abz", "zba")], VAL, SRC, TGT), DataError,
     r"'train_pairs' argument of train_seq2seq cannot be used: .*not in src_vocab .*: 'z'"),
    (lambda: (model_of(H=4), TRAIN, [("", "x")], SRC, TGT), DataError,
     r"'val_pairs' argument of train_seq2seq cannot be used: .*empty source at index 0"),
])
def test_train_errors(args, error, match):
    with pytest.raises(error, match=match):
        train_seq2seq(*args(), Seq2SeqConfig(steps=1))


# -- translate ----------------------------------------------------------------------------------
def test_beam_of_width_1_is_greedy_and_max_len_cuts(learned):
    model, _ = learned
    texts = [s for s, _ in VAL[:40]] + ["a", "edcbaedcba"]
    greedy = translate(model, SRC, TGT, texts)
    assert translate(model, SRC, TGT, texts, beam=1) == greedy
    cut = translate(model, SRC, TGT, texts, max_len=3)
    assert cut == [g[:3] for g in greedy]                  # greedy never looks ahead
    assert translate(model, SRC, TGT, texts[:5], beam=4)   # runs; outputs are strings
    assert translate(model, SRC, TGT, []) == []


def test_each_text_has_its_own_default_length():
    """max_len=None: 2 · len(text) + 10 tokens for each text, batched or not, greedy or beam. An
    untrained model seldom emits EOS, so its outputs run to their limits."""
    model = model_of(H=8, seed=1)
    texts = ["a", "abcdeabcde", "ab"]
    alone = [translate(model, SRC, TGT, [t])[0] for t in texts]
    assert translate(model, SRC, TGT, texts) == alone == translate(model, SRC, TGT, texts, beam=1)
    assert all(len(o) <= 2 * len(t) + 10 for o, t in zip(alone, texts))   # PAD, BOS: not shown


def test_a_source_longer_than_training_warns_and_translates(learned):
    model, _ = learned
    with pytest.warns(UserWarning, match=r"text 1 has 7 characters, more than the longest "
                                         r"training source \(5\); it is translated all the same"):
        out = translate(model, SRC, TGT, ["abc", "abcdeab"], longest_source=5)
    assert out == translate(model, SRC, TGT, ["abc", "abcdeab"])       # the same, unwarned


@pytest.mark.parametrize("texts,kw,error,match", [
    (["abc", "abxyx"], {}, DataError, r"'texts' argument of translate: text 1 \('abxyx'\) contains "
                                      r"2 character\(s\) not in the source vocabulary \(5 "
                                      r"characters\): 'x', 'y'"),
    (["ab", ""], {}, ValueError, "'texts' argument of translate holds an empty text at index 1"),
    ("abc", {}, TypeError, r"'texts' argument of translate must be a list of strings \(for one "
                           r"text: \[text\]\). Got str"),
    ([3], {}, TypeError, "'texts' argument of translate must hold strings. Got 3"),
    (["ab"], dict(beam=0), ValueError, "'beam' parameter of translate must be an int >= 1. Got 0"),
    (["ab"], dict(max_len=0), ValueError, "'max_len' parameter of translate must be an int >= 1"),
])
def test_translate_errors(texts, kw, error, match):
    with pytest.raises(error, match=match):
        translate(model_of(H=4), SRC, TGT, texts, **kw)


def test_checkpoint_with_a_broken_training_state(tmp_path):
    from bptt.io.checkpoint import load_checkpoint, save_checkpoint
    cfg = dict(steps=2, batch=4, eval_every=2, eval_size=10, out=str(tmp_path))
    train_seq2seq(model_of(H=4), TRAIN, VAL, SRC, TGT, Seq2SeqConfig(**cfg))
    arrays, meta = load_checkpoint(tmp_path)
    meta["training"]["rng"] = {"bit_generator": "MT19937"}
    save_checkpoint(tmp_path, arrays, meta)
    with pytest.raises(CheckpointError, match="the checkpoint's training state is invalid"):
        train_seq2seq(model_of(H=4), TRAIN, VAL, SRC, TGT, Seq2SeqConfig(**cfg, resume=True))
