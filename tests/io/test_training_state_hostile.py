"""Hostile training checkpoints above the file format: files whose hashes and records are valid
(an attacker who controls both files, or a bug that saved the wrong thing) but whose content does
not fit: parameter shapes, the vocabulary, the model kind, a checkpoint that is not a training
checkpoint, the step and accumulators, and the carried hidden state (carried/*), which the
training loop would hand to the model's backward pass. Each is a CheckpointError that names the
directory and the problem, raised before any training step runs."""
import numpy as np
import pytest

import bptt
from bptt.data.chardata import CharData
from bptt.io.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from bptt.io.saving import load_model, load_training_state
from bptt.training.loop import TrainConfig, train
from corpus import small_text

DATA = CharData.from_text(small_text(3_000))
V = DATA.vocab.size
MODELS = {                                   # kind -> the model of a tiny run (two LSTM layers)
    "rnn": lambda: bptt.SimpleRNN(V, 8, V, dtype="float32", seed=0),
    "lstm": lambda: bptt.LSTM(V, 8, V, num_layers=2, dtype="float32", seed=0),
    "gru": lambda: bptt.GRU(V, 8, V, dtype="float32", seed=0),
}
B = 4


def cfg(out, **kw):
    return TrainConfig(**{**dict(steps=3, seq_len=8, batch=B, eval_every=3, checkpoint_every=3,
                                 eval_chars=200, progress=False, out=str(out)), **kw})


@pytest.fixture(scope="module", params=list(MODELS))
def run(request, tmp_path_factory):
    """(kind, the directory of a finished 3-step run): copy it before editing."""
    out = tmp_path_factory.mktemp(request.param)
    train(MODELS[request.param](), DATA, cfg(out))
    return request.param, out


def tampered(run, tmp_path, edit):
    """A new, valid checkpoint generation in a copy of the run, with edit(arrays, meta) applied."""
    import shutil
    kind, src = run
    out = tmp_path / "run"
    shutil.copytree(src, out)
    arrays, meta = load_checkpoint(out)
    edit(arrays, meta)
    save_checkpoint(out, arrays, meta)
    return kind, out


def refused(kind, out, match):
    with pytest.raises(CheckpointError, match=match) as e:
        load_training_state(out, model_kind=kind)
    assert str(out) in str(e.value)
    return e


def test_the_untouched_run_loads(run):
    kind, out = run
    state = load_training_state(out, model_kind=kind)
    assert state.step == 3 and state.recipe["batch"] == B and state.vocab == DATA.vocab
    parts = state.carried if kind == "lstm" else (state.carried,)
    assert [p.shape for p in parts] == ([(2, B, 8)] * 2 if kind == "lstm" else [(B, 8)])
    assert all(p.dtype == np.float32 and np.isfinite(p).all() for p in parts)


# -- the model: parameters, vocabulary, kind -------------------------------------------------------

def test_wrong_parameter_shape(run, tmp_path):
    name = {"rnn": "params/W", "lstm": "params/R_f", "gru": "params/W_z"}[run[0]]
    kind, out = tampered(run, tmp_path, lambda a, m: a.update({name: np.zeros((8, 9), np.float32)}))
    for load in (lambda: load_model(out), lambda: load_training_state(out, model_kind=kind)):
        with pytest.raises(CheckpointError, match=rf"{name} should have shape \(8, 8\) for .*; it is "
                                                  rf"shape \(8, 9\)"):
            load()


def test_missing_parameter(run, tmp_path):
    kind, out = tampered(run, tmp_path, lambda a, m: a.pop("params/V"))
    refused(kind, out, r"params/V should have shape \(\d+, 8\) for .*; it is missing")


INVALID = r"the checkpoint's vocabulary is invalid: The 'chars' argument of Vocab.from_list must "
VOCABS = {                                   # name -> (the saved list -> a bad one, the message)
    "not-a-list": (lambda c: "".join(c), r"the checkpoint's vocabulary must be a list of \d+ characters"),
    "empty": (lambda c: [], r"the checkpoint's vocabulary must be a list of \d+ characters"),
    "short": (lambda c: c[:-1], r"the checkpoint's vocabulary must be a list of \d+ characters"),
    "repeat": (lambda c: [c[0]] + c[:-1], INVALID + r"be sorted and without repeats"),
    "two-chars": (lambda c: ["ab"] + c[1:], INVALID + r"hold one-character strings. Got 'ab' at index 0"),
    "int": (lambda c: [c[0], 7] + c[2:], INVALID + r"hold one-character strings. Got 7 at index 1"),
}


@pytest.mark.parametrize("case", list(VOCABS))
def test_bad_vocabulary(run, tmp_path, case):
    make, match = VOCABS[case]
    kind, out = tampered(run, tmp_path, lambda a, m: m.update(vocab=make(DATA.vocab.to_list())))
    refused(kind, out, match)
    with pytest.raises(CheckpointError, match=match):
        load_model(out)


def test_wrong_model_kind(run, tmp_path):
    kind, out = run
    other = "lstm" if kind == "rnn" else "rnn"
    refused(other, out, rf"the checkpoint holds a '{kind}' model, not '{other}'")
    with pytest.raises(CheckpointError, match=rf"holds a '{kind}' model, not '{other}'"):
        train(MODELS[other](), DATA, cfg(out, resume=True))
    _, out = tampered(run, tmp_path, lambda a, m: m.update(kind=other))    # a record that lies
    refused(kind, out, r"the checkpoint describes a model that cannot be built: .*unexpected keyword "
                       r"argument '(activation|peepholes|reset)'")
    _, out = tampered(run, tmp_path / "x", lambda a, m: m.update(kind="transformer"))
    refused(kind, out, r"the checkpoint describes a model that cannot be built: .*'transformer'")


# -- the training state ------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["optimizer", "data", "recipe", "accum", "fingerprint", "step"])
def test_not_a_training_checkpoint(run, tmp_path, key):
    kind, out = tampered(run, tmp_path, lambda a, m: m.pop(key))
    refused(kind, out, rf"the checkpoint is not a training checkpoint \(KeyError: '{key}'\)")


def test_a_model_only_checkpoint_is_not_a_training_checkpoint(run, tmp_path):
    def model_only(arrays, meta):                 # what a model export would hold
        for k in [k for k in arrays if not k.startswith("params/")]:
            del arrays[k]
        for k in [k for k in meta if k not in ("kind", "model", "vocab")]:
            del meta[k]
    kind, out = tampered(run, tmp_path, model_only)
    assert load_model(out)[0].config() == MODELS[kind]().config()         # a model: fine to sample
    refused(kind, out, r"the checkpoint is not a training checkpoint \(KeyError: ")


@pytest.mark.parametrize("edit, match", [
    (lambda m: m.update(step=-1), r"the checkpoint's step must be an int >= 0. Got -1"),
    (lambda m: m.update(step="3"), r"the checkpoint's step must be an int >= 0. Got '3'"),
    (lambda m: m.update(step=True), r"the checkpoint's step must be an int >= 0. Got True"),
    (lambda m: m["recipe"].update(batch=0), r"recipe must have a batch size that is an int >= 1. Got 0"),
    (lambda m: m["recipe"].pop("batch"), r"not a training checkpoint \(KeyError: 'batch'\)"),
    (lambda m: m.update(recipe=[1]), r"not a training checkpoint \(TypeError: "),
    (lambda m: m.update(accum=None), r"the checkpoint's accum must be \{'loss': a finite number, "
                                     r"'chars': an int >= 0, 'steps': an int >= 0\}. Got None"),
    (lambda m: m["accum"].update(loss=float("nan")), r"accum must be .* Got \{'loss': nan"),
    (lambda m: m["accum"].update(chars=-4), r"accum must be .* 'chars': -4"),
    (lambda m: m["accum"].pop("steps"), r"accum must be "),
])
def test_step_batch_and_accumulators(run, tmp_path, edit, match):
    kind, out = tampered(run, tmp_path, lambda a, m: edit(m))
    refused(kind, out, match)


# -- the carried hidden state -------------------------------------------------------------------------

def _set(name, value):
    return lambda a, m: a.update({name: value})


def carried_cases(kind):
    """(edit, message) for the carried state of a run of `kind`."""
    shape = (2, B, 8) if kind == "lstm" else (B, 8)
    other = shape[:-2] + (B + 1, 8)                               # the state of 5 streams
    last = f"carried/{1 if kind == 'lstm' else 0}"                # c for the LSTM
    layout = (r"is a tuple of 2 arrays \(carried/0, carried/1, carried_tuple true\)" if kind == "lstm"
              else r"is one array \(carried/0, carried_tuple false\)")
    inf = np.zeros(shape, np.float32)
    inf[..., 0, 3] = np.inf
    return [
        (_set("carried/0", np.zeros(other, np.float32)),
         rf"carried/0 \(the carried state\) should have shape {re_shape(shape)} for 4 streams of "
         rf".*; it has shape {re_shape(other)}"),
        (_set("carried/0", np.zeros(shape[:-1] + (9,), np.float32)), r"should have shape .* it has shape"),
        (_set("carried/0", np.zeros(shape[1:], np.float32)), r"carried/0 \(the carried state\) should have shape"),
        (_set("carried/0", np.full(shape, np.nan, np.float32)),
         r"carried/0 \(the carried state\) holds non-finite values \(nan or inf\)"),
        (_set(last, inf), rf"{last} \(the carried state\) holds non-finite values"),
        (_set("carried/0", np.zeros(shape, np.int64)),
         r"carried/0 \(the carried state\) should hold floats; it holds int64"),
        (lambda a, m: a.pop("carried/0"), rf"the carried state of .* {layout}; the checkpoint holds "),
        (_set("carried/2", np.zeros(shape, np.float32)),
         rf"{layout}; the checkpoint holds \['carried/0', .*'carried/2'\]"),
        (lambda a, m: m.update(carried_tuple=kind != "lstm"),
         rf"{layout}; the checkpoint holds \['carried/0'.*\] with carried_tuple "
         rf"{'false' if kind == 'lstm' else 'true'}"),
        (lambda a, m: [a.pop(k) for k in list(a) if k.startswith("carried/")],
         rf"{layout}; the checkpoint holds none"),
    ]


def re_shape(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


@pytest.mark.parametrize("case", range(10))
def test_carried_state_is_checked_before_training(run, tmp_path, case, monkeypatch):
    edit, match = carried_cases(run[0])[case]
    kind, out = tampered(run, tmp_path, edit)
    refused(kind, out, match)
    model = MODELS[kind]()

    def never(*args, **kwargs):
        raise AssertionError("a training step ran with the hostile state")
    monkeypatch.setattr(model, "_backward", never)
    with pytest.raises(CheckpointError, match=match):
        train(model, DATA, cfg(out, steps=6, resume=True))


def test_a_valid_carried_state_of_another_dtype_is_cast(run, tmp_path):
    kind, out = tampered(run, tmp_path, lambda a, m: a.update(
        {k: v.astype(np.float64) for k, v in a.items() if k.startswith("carried/")}))
    state = load_training_state(out, model_kind=kind)
    parts = state.carried if kind == "lstm" else (state.carried,)
    assert all(p.dtype == np.float32 for p in parts)
    history = train(MODELS[kind](), DATA, cfg(out, steps=6, resume=True))
    assert history.step == 6
