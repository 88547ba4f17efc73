"""`bptt explain --kind seq2seq`: the built-in encoder–decoder, trained in-process for a few seconds
with bptt's Adam to reverse strings (its attention then lines each output up with the character it
copies), with --cell and --attention; --model DIR of `bptt train --model seq2seq` on --input and
the model's greedy translation; the usage errors (exit 2, naming the option) of options that do
not go together."""
import numpy as np
import pytest

import bptt
from bptt.cli.parser import main
from bptt.data import PairVocab
from bptt.io.seq2seq_saving import save_seq2seq
from bptt.optim import Adam
from bptt.training.loop import TrainConfig, train
from bptt.training.seq2seq import translate
from bptt.viz.seq2seq_explorer import BUILTIN_LR, explain_builtin
from cli_run import bptt as bptt_cli
from corpus import small_text
from explorer_reference import decode, embedded_json


@pytest.fixture
def cli(capsys):
    """main(ARGS) in this process: (exit status, stdout, stderr)."""
    def run(*args):
        try:
            rc = main([str(a) for a in args])
        except SystemExit as e:                     # argparse's usage errors
            rc = e.code
        out, err = capsys.readouterr()
        return rc, out, err
    return run


def page(path):
    return embedded_json(path.read_text(encoding="utf-8"))


def test_the_builtin_model_as_a_user_runs_it(tmp_path):
    out = tmp_path / "s2s.html"
    r = bptt_cli("explain", "--kind", "seq2seq", "--out", out)
    assert r.returncode == 0, r.stderr
    assert f"explorer written to {out}" in r.stdout
    data = page(out)
    cfg = data["config"]
    assert (cfg["cell"], cfg["attention"], cfg["bidirectional"]) == ("gru", "additive", False)
    assert cfg["trained"] == "trained for 600 steps of Adam on the task 'reverse'"
    src, tgt = PairVocab(cfg["src_chars"]), PairVocab(cfg["tgt_chars"])
    assert (src.decode(data["src"]), tgt.decode(data["tgt"])) == ("badge", "egdab")   # the default
    alpha = decode(data["forward"]["alpha"])                       # (T', S): output t copies x(4 − t)
    assert alpha[:5].argmax(axis=1).tolist() == [4, 3, 2, 1, 0]
    assert (alpha[np.arange(5), [4, 3, 2, 1, 0]] > 0.5).all()
    assert decode(data["loss_terms"]).sum() < 0.5                  # it has learnt the task
    lib = explain_builtin(tmp_path / "lib.html", optimizer=Adam(lr=BUILTIN_LR))
    assert page(lib) == data                                      # the CLI is the library call


@pytest.mark.parametrize("cell, attention", [("lstm", "none"), ("rnn", "dot")])
def test_cell_attention_and_input(cli, tmp_path, cell, attention):
    out = tmp_path / "p.html"
    rc, stdout, err = cli("explain", "--kind", "seq2seq", "--cell", cell, "--attention", attention,
                          "--input", "jig", "--seed", "1", "--out", out)
    assert rc == 0, err
    data = page(out)
    assert data["config"]["cell"] == cell
    assert data["config"]["attention"] == (None if attention == "none" else attention)
    assert PairVocab(data["config"]["tgt_chars"]).decode(data["tgt"]) == "gij"
    assert (data["forward"]["alpha"] is None) == (attention == "none")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A seq2seq run directory (a small saved model, briefly trained) and a character model's."""
    s2s = tmp_path_factory.mktemp("s2s")
    vocab, digits = PairVocab("abcdefghij"), PairVocab("0123456789")
    model = bptt.Seq2Seq(vocab.size, digits.size, 6, attention="general", seed=3)
    save_seq2seq(s2s, model, vocab, digits, step=7, data={"task": "mine"}, longest_source=8)
    char = tmp_path_factory.mktemp("char")
    from bptt.data.chardata import CharData
    data = CharData.from_text(small_text(2_000))
    train(bptt.GRU(data.vocab.size, 4, data.vocab.size, seed=0), data,
          TrainConfig(steps=2, seq_len=8, batch=2, eval_every=2, eval_chars=50, progress=False,
                      out=str(char)))
    return s2s, model, vocab, digits, char


def test_model_dir_shows_its_greedy_translation(cli, tmp_path, runs):
    run, model, vocab, digits, _ = runs
    out = tmp_path / "m.html"
    rc, stdout, err = cli("explain", "--model", run, "--input", "cabbage", "--out", out)
    assert rc == 0, err
    data = page(out)
    assert data["config"]["trained"] == f"7 training steps, from {run}"
    assert data["config"]["attention"] == "general" and data["config"]["K"] == 6
    assert vocab.decode(data["src"]) == "cabbage"
    assert digits.decode(data["tgt"]) == translate(model, vocab, digits, ["cabbage"])[0]
    np.testing.assert_array_equal(decode(data["params"]["attn.W_a"]["norm"]), np.linalg.norm(model.params["attn.W_a"]))
    rc, _, err = cli("explain", "--kind", "seq2seq", "--model", run, "--input", "ab", "--out", out)
    assert rc == 0, err                                          # --kind seq2seq may be said


@pytest.mark.parametrize("args, message", [
    (["--kind", "seq2seq", "--bidirectional"],
     r"--bidirectional is for --kind rnn, lstm or gru; a seq2seq model's encoder is bidirectional "
     r"when it was trained so \(--bidirectional-encoder\)"),
    (["--kind", "seq2seq", "--mode", "free"],
     r"--mode is for the output-recurrent model: use it with --kind output-rnn \(got --mode free with --kind seq2seq\)"),
    (["--kind", "gru", "--attention", "dot"], r"--attention is for --kind seq2seq, not --kind gru"),
    (["--cell", "lstm"], r"--cell is for --kind seq2seq, not --kind rnn"),
    (["--kind", "output-rnn", "--cell", "gru"], r"--cell is for --kind seq2seq, not --kind output-rnn"),
    (["--kind", "seq2seq", "--input", "hello"],
     r"The 'input_text' argument of explain must be 1 to 8 letters from 'abcdefghij' \(the built-in "
     r"seq2seq model reverses such strings\). Got 'hello', with 'l', 'o' not among them"),
    (["--kind", "seq2seq", "--input", "abcdefghi"], r"must be 1 to 8 letters"),
    (["--kind", "seq2seq", "--attention", "luong"], r"argument --attention: invalid choice: 'luong'"),
    (["--kind", "seq2seq", "--cell", "transformer"], r"argument --cell: invalid choice: 'transformer'"),
])
def test_usage_errors(cli, tmp_path, args, message):
    import re
    rc, stdout, err = cli("explain", *args, "--out", tmp_path / "x.html")
    assert rc == 2
    assert re.search(message, " ".join(err.split())), err
    assert not (tmp_path / "x.html").exists()


@pytest.mark.parametrize("which, args, message", [
    ("s2s", ["--attention", "dot", "--input", "ab"], r"--attention is for the built-in seq2seq model; a --model DIR knows its own"),
    ("s2s", ["--cell", "gru", "--input", "ab"], r"--cell is for the built-in seq2seq model"),
    ("s2s", [], r"--model DIR with a seq2seq model needs --input TEXT, the source to translate"),
    ("s2s", ["--input", "abz"], r"contains 1 character\(s\) not in"),
    ("s2s", ["--bidirectional", "--input", "ab"], r"--bidirectional is for the built-in model; a --model DIR knows its own"),
    ("s2s", ["--kind", "rnn", "--input", "ab"], r"holds a sequence-to-sequence model .* not a character-level model"),
    ("char", ["--kind", "seq2seq", "--input", "ab"], r"holds a character-level language model \('gru'\), not a sequence-to-sequence model"),
])
def test_model_dir_usage_errors(cli, tmp_path, runs, which, args, message):
    import re
    run = runs[0] if which == "s2s" else runs[4]
    rc, stdout, err = cli("explain", "--model", run, *args, "--out", tmp_path / "x.html")
    assert rc == 2
    assert re.search(message, " ".join(err.split())), err
    assert not (tmp_path / "x.html").exists()


def test_help_names_the_options(cli):
    rc, stdout, _ = cli("explain", "--help")
    assert rc == 0
    text = " ".join(stdout.split())
    assert "seq2seq" in text and "--attention {none,dot,general,additive}" in text
    assert "--cell {rnn,lstm,gru}" in text and "'badge'" in text
