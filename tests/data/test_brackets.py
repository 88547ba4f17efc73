"""The balanced-brackets task (bptt.data.brackets): labels against an independent stack checker,
classes 50/50, even lengths and padding, hard negatives that counting does not catch, uniform
balanced strings, held-out strings kept out, and the argument errors."""
import itertools
from collections import Counter

import numpy as np
import pytest

from bptt.data import BRACKETS, brackets
from bptt.data.brackets import decode, encode

CLOSES = {")": "(", "]": "["}


def balanced(s: str) -> bool:
    """The textbook check: push openers, pop on a closer of the same kind, end empty."""
    stack = []
    for c in s:
        if c in "([":
            stack.append(c)
        elif not stack or stack.pop() != CLOSES[c]:
            return False
    return not stack


def strings(task):
    """The strings of a draw, read from x and lengths without bptt's decode."""
    return ["".join(BRACKETS[i] for i in task.x[:n, b]) for b, n in enumerate(task.lengths)]


def counts_equal(s):
    return all(s.count(o) == s.count(c) for o, c in ("()", "[]"))


def prefixes_ok(s):
    """Per-kind depth counters: no prefix closes more brackets of a kind than it opened."""
    return all(min(itertools.accumulate((c == o) - (c == k) for c in s), default=0) >= 0
               for o, k in ("()", "[]"))


@pytest.mark.parametrize("kinds", [1, 2])
def test_labels_match_a_stack_checker(kinds):
    task = brackets(3000, seed=4, max_len=16, min_len=2, kinds=kinds)
    got = strings(task)
    assert [int(balanced(s)) for s in got] == task.y.tolist()
    assert set("".join(got)) == set(BRACKETS[:2 * kinds])
    assert list(decode(task.x, task.lengths)) == got


def test_shapes_lengths_padding_classes_and_seed():
    task = brackets(1000, seed=7, max_len=12, min_len=4)
    again = brackets(1000, seed=7, max_len=12, min_len=4)
    np.testing.assert_array_equal(task.x, again.x)
    np.testing.assert_array_equal(task.y, again.y)
    assert task.x.shape == (12, 1000) and task.y.shape == (1000,) and task.lengths.shape == (1000,)
    assert set(task.lengths.tolist()) == {4, 6, 8, 10, 12}               # even, every one drawn
    pad = np.arange(12)[:, None] >= task.lengths[None, :]
    assert (task.x[pad] == 0).all()
    assert task.y.sum() == 500                                          # exactly half balanced
    odd = brackets(7, seed=0, max_len=6)
    assert odd.y.sum() in (3, 4)
    assert not np.array_equal(brackets(1000, seed=8, max_len=12).x, task.x)


@pytest.mark.parametrize("kinds,totals_at_most,depth_at_most", [(1, 0.80, 1.0), (2, 0.72, 0.88)])
def test_counting_does_not_solve_it(kinds, totals_at_most, depth_at_most):
    """Near misses: equal counts with a negative prefix ("swap"), and with two kinds a closer
    meeting the other kind's opener while every kind's counts and prefixes look right ("cross")."""
    task = brackets(6000, seed=1, max_len=20, kinds=kinds)
    got, y = strings(task), task.y
    totals = np.array([counts_equal(s) for s in got])                    # "balanced iff counts equal"
    depth = np.array([counts_equal(s) and prefixes_ok(s) for s in got])  # per-kind depth counters
    assert (totals >= y).all() and (depth >= y).all()                    # both accept every balanced one
    acc_totals, acc_depth = (totals == y).mean(), (depth == y).mean()
    print(f"kinds={kinds}: counts {acc_totals:.3f}, depth counters {acc_depth:.3f}")
    assert 0.60 < acc_totals < totals_at_most
    assert acc_depth <= depth_at_most
    negatives = [s for s, label in zip(got, y) if not label]
    swap = [s for s in negatives if counts_equal(s) and not prefixes_ok(s)]
    assert len(swap) > 0.25 * len(negatives)
    if kinds == 2:
        cross = [s for s in negatives if counts_equal(s) and prefixes_ok(s)]
        assert len(cross) > 0.25 * len(negatives)
        assert all(not balanced(s) for s in cross)


def test_balanced_strings_are_uniform():
    """Every balanced string of 8 brackets (found by brute force: the 14 Dyck words) is drawn,
    each about 1/14 of the time."""
    words = {"".join(p) for p in itertools.product("()", repeat=8) if balanced("".join(p))}
    assert len(words) == 14
    task = brackets(14000, seed=3, min_len=8, max_len=8)
    seen = Counter(s for s, label in zip(strings(task), task.y) if label)
    assert set(seen) == words
    expected = 7000 / 14
    assert all(abs(c - expected) < 5 * np.sqrt(expected) for c in seen.values()), seen


def test_exclude_keeps_held_out_strings_out():
    held = brackets(300, seed=1, max_len=10, kinds=2)
    keys = decode(held.x, held.lengths)
    train = brackets(3000, seed=2, max_len=10, kinds=2, exclude=keys)
    assert not np.isin(decode(train.x, train.lengths), keys).any()
    assert train.y.sum() == 1500
    assert [int(balanced(s)) for s in strings(train)] == train.y.tolist()


def test_encode_decode_round_trip():
    x, lengths = encode(["()", "([)]", ""], max_len=5)
    assert x.shape == (5, 3) and lengths.tolist() == [2, 4, 0]
    assert x[:, 1].tolist() == [0, 2, 1, 3, 0]
    assert list(decode(x, lengths)) == ["()", "([)]", ""]


@pytest.mark.parametrize("kw,error,message", [
    ({"max_len": 7}, ValueError, r"'max_len' parameter of brackets must be even \(an odd string is never balanced\). Got 7"),
    ({"min_len": 3}, ValueError, r"'min_len' parameter of brackets must be even .* Got 3"),
    ({"min_len": 8, "max_len": 6}, ValueError, r"'max_len' parameter of brackets must be >= min_len = 8. Got 6"),
    ({"max_len": 0}, ValueError, r"'max_len' parameter of brackets must be an int >= 2. Got 0"),
    ({"kinds": 3}, ValueError, r"'kinds' parameter of brackets must be 1 .* or 2 .* Got 3"),
    ({"kinds": True}, ValueError, r"'kinds' parameter of brackets must be 1 .* Got True"),
    ({"max_len": 2, "exclude": ["()"]}, ValueError,
     r"'exclude' argument of brackets leaves too few strings of 2..2 brackets to draw: \d+ rows "
     r"were still excluded after 100 draws. Got 1 strings"),
])
def test_bad_arguments(kw, error, message):
    with pytest.raises(error, match=message):
        brackets(10, seed=0, **kw)


def test_bad_encode_arguments():
    with pytest.raises(ValueError, match=r"'strings' argument of encode must hold strings of the characters '\(\)\[\]'. Got '\(x\)'"):
        encode(["(x)"])
    with pytest.raises(ValueError, match=r"'max_len' parameter of encode must be >= the longest string's length 4. Got 2"):
        encode(["(())"], max_len=2)
    with pytest.raises(TypeError, match=r"'n' parameter of brackets must be an int >= 1"):
        brackets(2.0, seed=0)
