"""`bptt explain` with the other designs, run as a user would: --bidirectional for each cell,
--kind output-rnn with --mode teacher|free, the help that says so, and the usage errors (exit 2,
naming the option) of combinations that do not go together."""
import re

import numpy as np
import pytest

from bptt.viz.explorer import explain
from cli_run import bptt
from explorer_reference import embedded_json


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_bidirectional_of_each_cell(tmp_path, kind):
    page = tmp_path / f"{kind}.html"
    r = bptt("explain", "--kind", kind, "--bidirectional", "--out", page, "--seed", "3")
    assert r.returncode == 0, r.stderr
    assert f"explorer written to {page}" in r.stdout
    data = embedded_json(page.read_text(encoding="utf-8"))
    assert (data["config"]["kind"], data["config"]["cell"]) == ("bi", kind)
    same = embedded_json(explain(tmp_path / "lib.html", kind=kind, bidirectional=True, seed=3).read_text(encoding="utf-8"))
    assert data == same                                           # the CLI is the library call


def test_bidirectional_default_kind_is_the_simple_rnn(tmp_path):
    r = bptt("explain", "--bidirectional", "--input", "hole", "--out", tmp_path / "b.html")
    assert r.returncode == 0, r.stderr
    data = embedded_json((tmp_path / "b.html").read_text(encoding="utf-8"))
    assert data["config"]["cell"] == "rnn" and data["config"]["T"] == 4
    assert [row[0] for row in data["y"]] == [1, 0, 1, 0]          # h→o vowel, o→l no, l→e vowel, e→end no


@pytest.mark.parametrize("mode", [None, "teacher", "free"])
def test_output_rnn_modes(tmp_path, mode):
    page = tmp_path / "o.html"
    r = bptt("explain", "--kind", "output-rnn", *(["--mode", mode] if mode else []), "--out", page)
    assert r.returncode == 0, r.stderr
    data = embedded_json(page.read_text(encoding="utf-8"))
    assert (data["config"]["kind"], data["config"]["mode"]) == ("output_rnn", mode or "teacher")
    flow = np.linalg.norm(np.array(data["errors_by_source"]["a"]), axis=-1).sum(-1)
    T = flow.shape[0]
    if mode == "free":
        assert (flow[np.tril_indices(T)] > 0).all()               # the full triangle
    else:
        assert (flow[~np.eye(T, dtype=bool)] == 0).all() and (np.diag(flow) > 0).all()   # the diagonal


def test_help_names_the_designs():
    r = bptt("explain", "--help")
    assert r.returncode == 0
    text = " ".join(r.stdout.split())
    assert "--bidirectional" in text and "output-rnn" in text and "--mode {teacher,free}" in text
    assert "teacher forcing" in text and "free running" in text


@pytest.mark.parametrize("args, message", [
    (["--mode", "free"], r"--mode is for the output-recurrent model: use it with --kind output-rnn \(got --mode free with --kind rnn\)"),
    (["--kind", "gru", "--mode", "teacher"], "--mode is for the output-recurrent model.*--kind gru"),
    (["--kind", "output-rnn", "--bidirectional"], "--bidirectional is for --kind rnn, lstm or gru: the OutputRNN"),
    (["--kind", "output-rnn", "--mode", "scheduled"], "argument --mode: invalid choice: 'scheduled'"),
    (["--kind", "output_rnn"], "argument --kind: invalid choice: 'output_rnn'"),
    (["--bidirectional", "--model", "some/dir"], "--bidirectional is for the built-in model; a --model DIR knows its own"),
])
def test_bad_combinations_are_usage_errors(tmp_path, args, message):
    page = tmp_path / "x.html"
    r = bptt("explain", *args, "--out", page)
    assert r.returncode == 2, r.stdout
    assert r.stderr.startswith("bptt explain: error:") and "Traceback" not in r.stderr
    assert re.search(message, r.stderr), r.stderr
    assert not page.exists()
