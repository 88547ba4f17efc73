"""A Seq2Seq in a checkpoint (bptt.io.seq2seq_saving): the round trip gives back the same model
(identical losses, gradients and translations), the vocabularies and the optimizer's state; a
hostile checkpoint (valid hashes and records, content that does not fit the config) is a
CheckpointError naming the directory and the problem, before anything is built."""
import shutil

import numpy as np
import pytest

import bptt
from bptt.data import PairVocab, batch_pairs, reverse_pairs
from bptt.io.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from bptt.io.seq2seq_saving import (describe, holds_seq2seq, load_seq2seq, load_seq2seq_state,
                                    save_seq2seq)
from bptt.training.optim import make_optimizer
from bptt.training.seq2seq import translate

PAIRS = reverse_pairs(40, max_len=6, alphabet="abcdef", seed=1)
SRC = PairVocab.from_texts(s for s, _ in PAIRS)
TGT = PairVocab.from_texts(t for _, t in PAIRS + [("x", "xyz")])      # another vocabulary
TEXTS = ["abc", "fedcba", "a"]
CONFIGS = [dict(cell="gru", attention="additive"), dict(cell="lstm", attention="dot"),
           dict(cell="rnn", attention=None, num_layers=2),
           dict(cell="gru", attention="general", bidirectional_encoder=True, dtype="float32")]


def model_of(**kw):
    return bptt.Seq2Seq(SRC.size, TGT.size, 6, seed=3, **kw)


def trained(model, steps=3):
    """A few Adam steps on PAIRS, so that the weights are not the seed's initial ones; the
    optimizer, with its moments."""
    opt = make_optimizer("adam", 0.01)
    b = batch_pairs([(s, s[::-1]) for s, _ in PAIRS], SRC, TGT)
    for _ in range(steps):
        _, grads = model.loss_and_grads(b.src, b.tgt, b.src_mask, b.tgt_mask)
        opt.step(model.params, grads)
    return opt


@pytest.mark.parametrize("kw", CONFIGS, ids=lambda kw: "-".join(map(str, kw.values())))
def test_round_trip_gives_the_same_model(kw, tmp_path):
    model = model_of(**kw)
    opt = trained(model)
    save_seq2seq(tmp_path, model, SRC, TGT, step=3, data={"task": "reverse"}, longest_source=6,
                 longest_target=6, optimizer=opt)
    back, src, tgt, meta = load_seq2seq(tmp_path)
    assert back.config() == model.config() and (src, tgt) == (SRC, TGT)
    assert meta["step"] == 3 and meta["data"] == {"task": "reverse"}
    assert meta["longest_source"] == 6 and meta["longest_target"] == 6
    for k, p in model.params.items():
        assert back.params[k].dtype == p.dtype and np.array_equal(back.params[k], p), k
    b = batch_pairs(PAIRS[:7], SRC, TGT)
    J, g = model.loss_and_grads(b.src, b.tgt, b.src_mask, b.tgt_mask)
    J2, g2 = back.loss_and_grads(b.src, b.tgt, b.src_mask, b.tgt_mask)
    assert J == J2 and all(np.array_equal(g[k], g2[k]) for k in g)
    for beam in (None, 3):
        assert (translate(back, src, tgt, TEXTS, beam=beam, max_len=8)
                == translate(model, SRC, TGT, TEXTS, beam=beam, max_len=8))
    state = load_seq2seq_state(tmp_path).optimizer                 # the moments, for resuming
    again = make_optimizer("adam", 0.5)
    again.load_state_dict(state)
    want, got = opt.state_dict(), again.state_dict()
    assert got["hyper"] == want["hyper"] and got["step"] == want["step"] == 3
    for slot in want["state"]:
        for k, a in want["state"][slot].items():
            assert np.array_equal(got["state"][slot][k], a), (slot, k)


def test_without_optimizer_and_lengths(tmp_path):
    model = model_of()
    save_seq2seq(tmp_path, model, SRC, TGT)
    ck = load_seq2seq_state(tmp_path)
    assert ck.optimizer is None and ck.meta["longest_source"] is None and ck.meta["step"] == 0
    assert holds_seq2seq(tmp_path) and describe(ck.meta) == "a sequence-to-sequence model (Seq2Seq)"


@pytest.mark.parametrize("call,error,match", [
    (lambda d: save_seq2seq(d, model_of(), TGT, TGT), ValueError,
     f"'src_vocab' argument of save_seq2seq has {TGT.size} ids, but the model's src_vocab_size "
     f"is {SRC.size}"),
    (lambda d: save_seq2seq(d, model_of(), SRC, "abc"), TypeError,
     "'tgt_vocab' argument of save_seq2seq must be a PairVocab. Got str"),
    (lambda d: save_seq2seq(d, bptt.GRU(3, 4, 3), SRC, TGT), TypeError,
     "'model' argument of save_seq2seq must be a Seq2Seq. Got GRU"),
    (lambda d: save_seq2seq(d, model_of(), SRC, TGT, step=-1), ValueError,
     "'step' parameter of save_seq2seq must be an int >= 0. Got -1"),
    (lambda d: save_seq2seq(d, model_of(), SRC, TGT, longest_source=0), ValueError,
     "'longest_source' parameter of save_seq2seq must be an int >= 1. Got 0"),
])
def test_save_refuses_bad_arguments(call, error, match, tmp_path):
    with pytest.raises(error, match=match):
        call(tmp_path / "run")
    assert not (tmp_path / "run").exists()


# -- hostile checkpoints -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def good(tmp_path_factory):
    out = tmp_path_factory.mktemp("good")
    model = model_of(attention="additive")
    save_seq2seq(out, model, SRC, TGT, step=3, longest_source=6, optimizer=trained(model))
    return out


def tampered(good, tmp_path, edit):
    """A copy of the good run with a new, valid generation holding edit(arrays, meta)."""
    out = tmp_path / "run"
    shutil.copytree(good, out)
    arrays, meta = load_checkpoint(out)
    edit(arrays, meta)
    save_checkpoint(out, arrays, meta)
    return out


def _set(d, key, value):
    d[key] = value


HOSTILE = {
    "wrong shape": (lambda a, m: _set(a, "params/dec.V", a["params/dec.V"][:, :-1]),
                    r"params/dec\.V should have shape \(12, 6\) for Seq2Seq.*; it is shape \(12, 5\)"),
    "missing param": (lambda a, m: a.pop("params/attn.v"), r"params/attn\.v should have shape "
                      r"\(6,\) .*; it is missing"),
    "extra param": (lambda a, m: _set(a, "params/attn.W_a", np.zeros((6, 6))),
                    r"params/attn\.W_a is not a parameter of Seq2Seq"),
    "non-finite param": (lambda a, m: a["params/dec.c"].__setitem__(0, np.nan),
                         r"params/dec\.c should hold finite floats"),
    "src vocab size": (lambda a, m: _set(m, "src_vocab", PairVocab("abcdefg").to_json()),
                       r"src_vocab has 10 ids \(3 specials and 7 characters\), but its model's "
                       r"src_vocab_size is 9"),
    "tgt vocab size": (lambda a, m: _set(m, "tgt_vocab", PairVocab("ab").to_json()),
                       r"tgt_vocab has 5 ids .* tgt_vocab_size is 12"),
    "vocab junk": (lambda a, m: _set(m, "tgt_vocab", {"chars": "ba", "pad": 0, "bos": 1, "eos": 2}),
                   r"tgt_vocab is invalid: .*sorted characters"),
    "not seq2seq": (lambda a, m: _set(m, "kind", "gru"),
                    r"holds a character-level language model \('gru'\), not a sequence-to-"
                    r"sequence model"),
    "classifier": (lambda a, m: (_set(m, "kind", "lstm"), _set(m, "data", {"task": "classify"})),
                   r"holds a sequence classifier \('lstm'\)"),
    "bad config": (lambda a, m: m["model"].__setitem__("cell", "transformer"),
                   r"a Seq2Seq that cannot be built: The 'cell' parameter of Seq2Seq must be one "
                   r"of 'rnn', 'lstm', 'gru'"),
    "huge config": (lambda a, m: m["model"].__setitem__("hidden_size", 10**6),
                    r"a Seq2Seq of up to [\d,]+ parameters, more than max_params=50,000,000"),
    "other eos": (lambda a, m: m["model"].__setitem__("eos_id", 3),
                  r"eos_id=3, but its PairVocabs use BOS=1, EOS=2"),
    "optimizer slot shape": (lambda a, m: _set(a, "optim/m/dec.c", np.zeros(3)),
                             r"optim/m/dec\.c should have shape \(12,\); it has shape \(3,\)"),
    "optimizer slot name": (lambda a, m: _set(a, "optim/m/nope", np.zeros(3)),
                            r"optim/m/nope is not an optimizer slot of a parameter"),
    "optimizer meta": (lambda a, m: _set(m, "optimizer", {"type": "Adam"}),
                       r"optimizer must be null or \{'type', 'hyper', 'step'\}"),
    "negative step": (lambda a, m: _set(m, "step", -2), r"step must be an int >= 0. Got -2"),
    "longest source": (lambda a, m: _set(m, "longest_source", "long"),
                       r"longest_source must be null or an int >= 1. Got 'long'"),
    "meta not an object": (lambda a, m: m.__setitem__("model", [1, 2]),
                           r"model config must be a JSON object"),
}


def test_the_good_checkpoint_loads(good):
    model, src, tgt, meta = load_seq2seq(good)
    assert (src, tgt) == (SRC, TGT) and model.attention == "additive" and meta["step"] == 3


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_checkpoints_are_refused(name, good, tmp_path):
    edit, match = HOSTILE[name]
    out = tampered(good, tmp_path, edit)
    with pytest.raises(CheckpointError, match=match) as e:
        load_seq2seq_state(out)
    assert str(out) in str(e.value)


def test_no_directory_and_no_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="no such directory"):
        load_seq2seq(tmp_path / "nowhere")
    with pytest.raises(CheckpointError, match=r"no checkpoint here \(train one with `bptt train "
                                              r"--model seq2seq"):
        load_seq2seq(tmp_path)
    assert not holds_seq2seq(tmp_path) and not holds_seq2seq(tmp_path / "nowhere")
