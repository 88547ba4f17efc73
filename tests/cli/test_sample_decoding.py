"""`bptt sample --greedy / --top-k / --top-p / --beam K --n-best N`, run as a user would, checked
against the trained model itself: the greedy text is the argmax character by character, the beam's
log-probabilities are the model's own of the printed texts, top-k 1 and a tiny top-p are greedy."""
import json

import numpy as np
import pytest

from bptt.decode import LMStepper, beam_search
from bptt.io.saving import load_model
from bptt.training.sampling import sample
from cli_run import TINY, bptt
from corpus import small_text

PRIME = "the "


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("corpus") / "text.txt"
    corpus.write_text(small_text(6_000), encoding="utf-8")
    out = tmp_path_factory.mktemp("run")
    r = bptt("train", corpus, "--out", out, "--model", "gru", "--layers", 2, "--steps", 6,
             "--checkpoint-every", 6, *TINY)
    assert r.returncode == 0, r.stderr
    return out


def continuation_logprob(model, vocab, prime, text):
    """log p(text | prime) from one forward over prime + text, log-softmax by hand."""
    ids = vocab.encode(prime + text)
    o = np.asarray(model.forward(ids[:-1, None]).o[:, 0], dtype=np.float64)   # (P + n − 1, V)
    logp = o - o.max(axis=1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
    return sum(logp[len(prime) - 1 + j, ids[len(prime) + j]] for j in range(len(text)))


def stdout_of(*args):
    r = bptt("sample", *args)
    assert r.returncode == 0, r.stderr
    return r.stdout.removesuffix("\n")


def test_greedy_is_the_argmax_and_equals_top_k_1_and_a_tiny_top_p(run):
    model, vocab, _ = load_model(run)
    text = stdout_of(run, "--greedy", "--prime", PRIME, "--length", 25)
    assert text.startswith(PRIME) and len(text) == len(PRIME) + 25
    for j in range(len(PRIME), len(text)):                   # each character the most probable
        o = model.forward(vocab.encode(text[:j])[:, None]).o[-1, 0]
        assert text[j] == vocab.chars[int(np.argmax(o))]
    assert stdout_of(run, "--top-k", 1, "--prime", PRIME, "--length", 25, "--seed", 4) == text
    assert stdout_of(run, "--top-p", "1e-9", "--prime", PRIME, "--length", 25) == text


def test_beam_prints_the_n_best_with_the_models_logprobs(run):
    model, vocab, _ = load_model(run)
    lines = stdout_of(run, "--beam", 4, "--n-best", 3, "--prime", PRIME, "--length", 12).split("\n")
    assert len(lines) == 3
    logps, texts = [], []
    for line in lines:
        lp, quoted = line.split("\t")
        text = json.loads(quoted)
        assert text.startswith(PRIME) and len(text) == len(PRIME) + 12
        assert abs(float(lp) - continuation_logprob(model, vocab, PRIME, text[len(PRIME):])) < 1e-5
        logps.append(float(lp))
        texts.append(text)
    assert logps == sorted(logps, reverse=True) and len(set(texts)) == 3
    want = beam_search(LMStepper(model, vocab.encode(PRIME)), width=4, max_len=12, n_best=3)
    assert texts == [PRIME + vocab.decode(list(h.tokens)) for h in want]
    one = stdout_of(run, "--beam", 4, "--prime", PRIME, "--length", 12)     # --n-best 1: the best
    assert one == lines[0]


def test_plain_sampling_is_unchanged_and_filters_are_seeded(run):
    model, vocab, _ = load_model(run)
    text = stdout_of(run, "--prime", PRIME, "--length", 40, "--seed", 3)
    assert text == sample(model, vocab, 40, temperature=0.8, prime=PRIME, seed=3)
    k3 = stdout_of(run, "--prime", PRIME, "--length", 40, "--seed", 3, "--top-k", 3, "--top-p", 0.9)
    assert k3 == sample(model, vocab, 40, temperature=0.8, prime=PRIME, seed=3, top_k=3, top_p=0.9)
    assert k3 == stdout_of(run, "--prime", PRIME, "--length", 40, "--seed", 3, "--top-k", 3,
                           "--top-p", 0.9)


@pytest.mark.parametrize("args,message", [
    (["--greedy", "--beam", "3"], r"argument --beam: not allowed with argument --greedy"),
    (["--greedy", "--prime", "the", "--top-k", "2"], r"--top-k applies to sampling, not to --greedy\."),
    (["--beam", "2", "--prime", "the", "--temperature", "0.5"],
     r"--temperature applies to sampling, not to --beam 2\."),
    (["--beam", "2", "--prime", "the", "--top-p", "0.5"], r"--top-p applies to sampling, not to --beam 2"),
    (["--greedy"], r"--greedy needs --prime TEXT \(at least one character\)"),
    (["--beam", "3"], r"--beam 3 needs --prime TEXT"),
    (["--n-best", "2"], r"--n-best applies to --beam\."),
    (["--beam", "2", "--n-best", "3", "--prime", "the"],
     r"--n-best 3 is more than the beam keeps: use --n-best <= --beam 2\."),
    (["--beam", "0"], r"--beam: expected a whole number >= 1, got 0"),
    (["--top-k", "0"], r"--top-k: expected a whole number >= 1, got 0"),
    (["--top-p", "0"], r"--top-p: expected a number in \(0, 1\], got 0"),
    (["--top-p", "1.5"], r"--top-p: expected a number in \(0, 1\], got 1.5"),
    (["--greedy", "--prime", "the QZ"], r"outside the model's vocabulary: 'Q', 'Z'"),
])
def test_usage_errors_exit_2_with_a_message(run, args, message):
    import re
    r = bptt("sample", run, *args)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) <= 2, r.stderr
    assert re.search(message, r.stderr), r.stderr
