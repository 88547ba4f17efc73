"""`bptt train --model seq2seq` and `bptt translate` (bptt.cli.seq2seq): a run on a built-in task
and on a pairs file, resume equal to an uninterrupted run, translation of TEXT arguments, --file
and stdin equal to the library's, --beam 1 equal to greedy, and every usage error: exit status 2
with a message naming what is wrong."""
import json

import numpy as np
import pytest

import bptt
from bptt.cli.parser import main
from bptt.data import split_pairs
from bptt.data.chardata import CharData
from bptt.io.seq2seq_saving import load_seq2seq
from bptt.training.loop import TrainConfig, train
from bptt.training.seq2seq import translate
from cli_run import bptt as bptt_cli
from corpus import small_text

FAST = ["--hidden", "8", "--batch", "8", "--steps", "20", "--eval-every", "10", "--no-progress"]
TEXTS = ["abc", "jihgf", "a", "abcdefgh"]


@pytest.fixture
def cli(capsys, monkeypatch):
    """main(ARGS) in this process: (exit status, stdout, stderr); stdin= feeds standard input."""
    def run(*args, stdin=None):
        if stdin is not None:
            import io
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        try:
            rc = main([str(a) for a in args])
        except SystemExit as e:                     # argparse's usage errors
            rc = e.code
        out, err = capsys.readouterr()
        return rc, out, err
    return run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """`python -m bptt train --model seq2seq --task reverse` as a user runs it: ~2 s."""
    out = tmp_path_factory.mktemp("reverse")
    r = bptt_cli("train", "--model", "seq2seq", "--task", "reverse", "--hidden", "32", "--steps",
                 "200", "--batch", "32", "--lr", "0.01", "--eval-every", "100", "--out", out,
                 "--no-progress")
    assert r.returncode == 0, r.stderr
    return out, r


@pytest.fixture(scope="module")
def char_run(tmp_path_factory):
    """A character language model's run directory."""
    out = tmp_path_factory.mktemp("char")
    data = CharData.from_text(small_text(2_000))
    train(bptt.GRU(data.vocab.size, 4, data.vocab.size, seed=0), data,
          TrainConfig(steps=2, seq_len=8, batch=2, eval_every=2, eval_chars=50, progress=False,
                      out=str(out)))
    return out


def test_train_on_a_task(run):
    out, r = run
    recs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [rec["step"] for rec in recs] == [100, 200]
    for rec in recs:
        assert set(rec) == {"step", "loss", "val_loss", "exact_match", "seconds"}
        assert 0 <= rec["exact_match"] <= 1 and np.isfinite(rec["val_loss"])
    model, src, tgt, meta = load_seq2seq(out)
    assert model.cell == "gru" and model.attention == "additive" and model.hidden_size == 32
    assert meta["step"] == 200 and meta["longest_source"] == 8
    assert meta["data"]["task"] == "reverse" and meta["data"]["count"] == 10_000
    assert src.chars == tgt.chars == "abcdefghij"
    assert f"held-out exact match {recs[-1]['exact_match']:.3f}" in r.stdout
    assert "translate with: bptt translate" in r.stdout


def test_translate_texts_file_and_stdin(run, cli, tmp_path):
    out, _ = run
    model, src, tgt, _ = load_seq2seq(out)
    want = translate(model, src, tgt, TEXTS)
    assert cli("translate", out, *TEXTS) == (0, "\n".join(want) + "\n", "")
    f = tmp_path / "in.txt"
    f.write_text("\n".join(TEXTS) + "\n")
    assert cli("translate", out, "--file", f) == (0, "\n".join(want) + "\n", "")
    assert cli("translate", out, stdin="\n".join(TEXTS) + "\n") == (0, "\n".join(want) + "\n", "")
    r = bptt_cli("translate", out, input="abc\nab\n")              # a real pipe into python -m bptt
    assert r.returncode == 0 and r.stdout.splitlines() == translate(model, src, tgt, ["abc", "ab"])


def test_beam_1_is_greedy_and_beam_k_is_the_library_s(run, cli):
    out, _ = run
    model, src, tgt, _ = load_seq2seq(out)
    texts = TEXTS + ["ggg", "hij", "abcab"]
    rc, greedy, _ = cli("translate", out, *texts)
    assert cli("translate", out, *texts, "--beam", "1") == (0, greedy, "")
    rc, beamed, _ = cli("translate", out, *texts, "--beam", "4", "--max-len", "6")
    assert rc == 0 and beamed.splitlines() == translate(model, src, tgt, texts, beam=4, max_len=6)


def test_a_long_source_warns_and_translates(run, cli):
    out, _ = run
    rc, stdout, err = cli("translate", out, "abc", "abcdefghija")
    assert rc == 0 and len(stdout.splitlines()) == 2
    assert ("bptt translate: warning: text 1 has 11 characters, more than the longest training "
            "source (8)") in err


def test_resume_equals_an_uninterrupted_run(cli, tmp_path):
    args = ["train", "--model", "seq2seq", "--task", "addition", "--cell", "lstm", "--attention",
            "dot", "--hidden", "8", "--batch", "8", "--eval-every", "10", "--checkpoint-every",
            "10", "--no-progress", "--seed", "5"]
    assert cli(*args, "--steps", "30", "--out", tmp_path / "a")[0] == 0
    assert cli(*args, "--steps", "20", "--out", tmp_path / "b")[0] == 0
    assert cli(*args, "--steps", "30", "--out", tmp_path / "b", "--resume")[0] == 0
    a, b = load_seq2seq(tmp_path / "a"), load_seq2seq(tmp_path / "b")
    assert a[0].config() == b[0].config() and a[0].attention == "dot" and b[3]["step"] == 30
    for k, p in a[0].params.items():
        assert np.array_equal(b[0].params[k], p), k
    rec = [(tmp_path / d / "metrics.jsonl").read_text().splitlines() for d in "ab"]
    strip = [[{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in r] for r in rec]
    assert strip[0] == strip[1] and len(strip[0]) == 3


def test_train_on_a_pairs_file(cli, tmp_path):
    rng = np.random.default_rng(0)
    words = ["".join(rng.choice(list("xyz é"), size=rng.integers(1, 6))) for _ in range(300)]
    pairs = [(w if w.strip() else "x", (w if w.strip() else "x").upper()) for w in words]
    f = tmp_path / "pairs.tsv"
    f.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    rc, out, err = cli("train", "--model", "seq2seq", "--pairs", f, "--attention", "none",
                       "--val-fraction", "0.2", "--out", tmp_path / "o", *FAST)
    assert rc == 0, err
    model, src, tgt, meta = load_seq2seq(tmp_path / "o")
    assert model.attention is None
    assert src.chars == "".join(sorted(set("".join(s for s, _ in pairs))))
    assert tgt.chars == "".join(sorted(set("".join(t for _, t in pairs))))
    distinct = len(set(s for s, _ in pairs))
    assert meta["data"] == {"pairs": str(f), "count": 300, "train": distinct - round(0.2 * distinct),
                            "held_out": round(0.2 * distinct)}
    assert meta["longest_source"] == max(len(s) for s, _ in split_pairs(pairs, 0.2, seed=0)[0])


@pytest.mark.parametrize("extra,message", [
    (["--task", "reverse"], "--task reverse trains a sequence-to-sequence model: add --model "
                            "seq2seq (not --model rnn)"),
    (["--pairs", "p.tsv"], "--pairs applies to --model seq2seq, not --model rnn"),
    (["--model", "gru", "--attention", "dot"], "--attention applies to --model seq2seq, not "
                                               "--model gru"),
    (["--task", "parity", "--bidirectional-encoder"], "--bidirectional-encoder applies to --model "
                                                      "seq2seq"),
    (["--model", "seq2seq"], "--model seq2seq needs --task reverse|addition|dates or --pairs "
                             "FILE.tsv"),
    (["--model", "seq2seq", "--task", "parity"], "--task parity is not a sequence-to-sequence task"),
    (["--model", "seq2seq", "--task", "dates", "--pairs", "p.tsv"], "give either --task dates or "
                                                                    "--pairs FILE, not both"),
    (["--model", "seq2seq", "--task", "dates", "--seq-len", "20"],
     "--seq-len applies to the character models and classifiers, not to --model seq2seq"),
    (["--model", "seq2seq", "--task", "dates", "--peepholes"], "--peepholes applies to the "
                                                               "character models"),
    (["--model", "seq2seq", "--task", "dates", "--clip-mode", "value"], "--clip-mode applies to"),
    (["--model", "seq2seq", "--task", "dates", "somefile.txt"], "FILES applies to the character"),
    (["--model", "seq2seq", "--task", "dates", "--attention", "luong"], "invalid choice: 'luong'"),
    (["--model", "seq2seq", "--task", "dates", "--cell", "transformer"], "invalid choice"),
])
def test_train_usage_errors(extra, message, cli, tmp_path):
    rc, _, err = cli("train", "--out", tmp_path / "o", *FAST, *extra)
    assert rc == 2 and message in err, err
    assert not (tmp_path / "o" / "metrics.jsonl").exists()


def test_a_bad_pairs_file(cli, tmp_path):
    f = tmp_path / "p.tsv"
    f.write_text("abc\tcba\nno tab here\n")
    rc, _, err = cli("train", "--model", "seq2seq", "--pairs", f, "--out", tmp_path / "o", *FAST)
    assert rc == 2 and "line 2: expected one 'source<TAB>target' pair (exactly one tab)" in err


def test_runs_refuse_each_other(run, char_run, cli, tmp_path):
    out, _ = run
    base = ["train", "--model", "seq2seq", "--task", "reverse", *FAST]
    rc, _, err = cli(*base, "--out", out)
    assert rc == 2 and "already holds a checkpoint: pass --resume" in err
    rc, _, err = cli(*base, "--out", out, "--resume")
    assert rc == 2 and "Cannot resume: the checkpoint's model" in err          # --hidden 8
    rc, _, err = cli(*base, "--hidden", "32", "--out", out, "--resume")
    assert rc == 2 and ("other settings or data (checkpoint, now): {'batch': (32, 8), "
                        "'lr': (0.01, 0.002)}") in err
    rc, _, err = cli(*base, "--out", char_run, "--resume")
    assert rc == 2 and "holds a character-level language model ('gru'), not a sequence-to-" in err
    rc, _, err = cli("translate", char_run, "abc")
    assert rc == 2 and ("holds a character-level language model ('gru'), not a sequence-to-"
                        "sequence model") in err
    rc, _, err = cli("explain", "--model", out, "--out", tmp_path / "x.html")   # explains a pair
    assert rc == 2 and "--model DIR with a seq2seq model needs --input TEXT" in err
    for command in (["sample", out], ["eval", out, __file__]):
        rc, _, err = cli(*command)
        assert rc == 2 and (f"{out} holds a sequence-to-sequence model (Seq2Seq) trained on the "
                            f"task 'reverse', not a character-level model: run it with `bptt "
                            f"translate {out} TEXT`") in err, (command, err)


@pytest.mark.parametrize("extra,stdin,message", [
    (["abc", "abk"], None, "text 1 ('abk') contains 1 character(s) not in the source vocabulary "
                           "(10 characters): 'k'"),
    (["abc", ""], None, "holds an empty text at index 1: nothing to translate"),
    (["abc", "--beam", "0"], None, "argument --beam: expected a whole number >= 1, got 0"),
    (["abc", "--max-len", "0"], None, "argument --max-len: expected a whole number >= 1, got 0"),
    (["abc", "--file", "f.txt"], None, "give TEXT arguments or --file FILE, not both"),
    ([], "", "nothing to translate: stdin has no lines"),
    (["--file", "missing.txt"], None, "missing.txt"),
])
def test_translate_usage_errors(extra, stdin, message, run, cli):
    out, _ = run
    rc, stdout, err = cli("translate", out, *extra, stdin=stdin)
    assert rc == 2 and message in err and stdout == "", err


def test_translate_needs_a_run(cli, tmp_path):
    rc, _, err = cli("translate", tmp_path / "nowhere", "abc")
    assert rc == 2 and "no such directory (expected the output directory of `bptt train --model " \
                       "seq2seq`)" in err
    rc, _, err = cli("translate", tmp_path, "abc")
    assert rc == 2 and "no checkpoint here" in err


def test_char_models_still_load(char_run, cli):
    rc, out, err = cli("sample", char_run, "--length", "5")
    assert rc == 0 and len(out) >= 5, err
