"""bptt.data.seq2seq_tasks: reversal, addition and dates, checked against slicing, Python ints
and datetime.strptime."""
import datetime
import re
from collections import Counter

import numpy as np
import pytest

from bptt.data import (SEQ2SEQ_TASKS, PairVocab, addition_pairs, batch_pairs, date_pairs,
                       reverse_pairs, task_pairs)

# The source formats, as strptime patterns with the shape each must have (written here, apart
# from the module): every source must parse under exactly one of them ("May" under two).
PATTERNS = {
    "%d %b %Y": r"\d{1,2} [A-Z][a-z]{2} \d{4}",              # 30 Nov 2026
    "%m/%d/%y": r"\d\d/\d\d/\d\d",                           # 11/30/26
    "%B %d, %Y": r"[A-Z][a-z]+ \d{1,2}, \d{4}",              # November 30, 2026
    "%Y/%m/%d": r"\d{4}/\d\d/\d\d",                          # 2026/11/30
    "%d.%m.%Y": r"\d\d\.\d\d\.\d{4}",                        # 30.11.2026
    "%b %d, %Y": r"[A-Z][a-z]{2} \d{1,2}, \d{4}",            # Nov 30, 2026
}
FIRST, LAST = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)


def parse_date(source):
    """(patterns, date): the patterns that read `source` (one, or "%B"/"%b" both for "May") and
    the one date they read; two-digit years 50..99 are 19xx, 00..49 20xx (Python's own %y
    pivot is 69, so 50..68 are moved back a century here)."""
    found = []
    for pattern, shape in PATTERNS.items():
        try:
            d = datetime.datetime.strptime(source, pattern).date()
        except ValueError:
            continue
        assert re.fullmatch(shape, source), (source, pattern)
        if "%y" in pattern and d.year >= 2050:
            d = d.replace(year=d.year - 100)
        found.append((pattern, d))
    patterns = tuple(p for p, _ in found)
    assert len(found) == 1 or (len(found) == 2 and source.startswith("May ")), (source, found)
    assert len({d for _, d in found}) == 1, (source, found)
    return patterns, found[0][1]


# ---------------------------------------------------------------- dates
def test_dates_read_back_with_datetime_in_every_format():
    pairs = date_pairs(1200, seed=5)
    assert len(pairs) == 1200
    used = Counter()
    for source, target in pairs:
        patterns, d = parse_date(source)
        used.update(patterns)
        assert target == d.isoformat() and re.fullmatch(r"\d{4}-\d\d-\d\d", target)
        assert FIRST <= d <= LAST
    assert set(used) == set(PATTERNS)
    assert min(used.values()) > 120                               # ≈ 200 each: drawn uniformly


def test_two_digit_years_cover_both_centuries_and_the_ends_of_the_range():
    short = [(s, t) for s, t in date_pairs(20000, seed=1) if re.fullmatch(r"\d\d/\d\d/\d\d", s)]
    years = set()
    for source, target in short:
        month, day, yy = map(int, source.split("/"))
        year = 1900 + yy if yy >= 50 else 2000 + yy                # the pivot, by hand
        assert target == f"{year:04d}-{month:02d}-{day:02d}" == parse_date(source)[1].isoformat()
        years.add(year)
    assert {1950, 1968, 1999, 2000, 2049} <= years                 # 1950..1968: Python's %y says 20xx


def test_the_examples_of_the_task_appear_as_written():
    # the month names are English whatever the locale, abbreviated to their first three letters
    pairs = date_pairs(3000, seed=2)
    sources = {s for s, _ in pairs}
    full = ["January", "February", "March", "April", "May", "June", "July", "August",
            "September", "October", "November", "December"]
    short = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    leading = {s.split(" ")[0] for s in sources if "," in s}      # "November 30, 2026", "Nov 30, 2026"
    middle = {s.split(" ")[1] for s in sources if re.fullmatch(PATTERNS["%d %b %Y"], s)}
    assert leading == set(full) | set(short) and middle == set(short)


def test_dates_batch_and_decode_back():
    pairs = date_pairs(64, seed=3)
    src_v = PairVocab.from_texts(s for s, _ in pairs)
    tgt_v = PairVocab.from_texts(t for _, t in pairs)
    assert set(tgt_v.chars) <= set("0123456789-")
    b = batch_pairs(pairs, src_v, tgt_v)
    assert b.tgt.shape == (12, 64)                                 # BOS + 10 characters + EOS
    assert [tgt_v.decode(b.tgt[:, i]) for i in range(64)] == [t for _, t in pairs]
    assert [src_v.decode(b.src[:, i]) for i in range(64)] == [s for s, _ in pairs]


# ---------------------------------------------------------------- reverse, addition
def test_reverse_pairs_are_reversed_and_cover_the_lengths():
    pairs = reverse_pairs(500, min_len=2, max_len=6, alphabet="xyz", seed=4)
    assert len(pairs) == 500
    assert all(t == s[::-1] for s, t in pairs)
    assert Counter(len(s) for s, _ in pairs).keys() == {2, 3, 4, 5, 6}
    assert set("".join(s for s, _ in pairs)) == set("xyz")
    assert all(len(s) == 3 for s, _ in reverse_pairs(20, min_len=3, max_len=3))
    assert set("".join(s for s, _ in reverse_pairs(200))) == set("abcdefghij")   # the default
    assert {len(s) for s, _ in reverse_pairs(200)} == set(range(1, 9))


def test_addition_is_exact_with_python_ints():
    pairs = addition_pairs(3000, seed=6)
    digits = Counter()
    for source, target in pairs:
        m = re.fullmatch(r"(0|[1-9][0-9]{0,2})\+(0|[1-9][0-9]{0,2})", source)
        assert m, source                                           # 1..3 digits, no leading zeros
        a, b = m.groups()
        assert target == str(int(a) + int(b))
        digits.update([len(a), len(b)])
    assert digits.keys() == {1, 2, 3} and min(digits.values()) > 1500
    operands = {x for s, _ in pairs for x in s.split("+")}
    assert "0" in operands and "999" in operands                  # both ends of the digit range
    big = addition_pairs(50, max_digits=30, seed=1)
    for source, target in big:
        a, b = source.split("+")
        assert target == str(int(a) + int(b)) and len(a) <= 30 and a == str(int(a))
    assert max(len(s.split("+")[0]) for s, _ in big) > 20
    assert all(re.fullmatch(r"\d\+\d", s) for s, _ in addition_pairs(50, max_digits=1))


# ---------------------------------------------------------------- seeds, the registry
@pytest.mark.parametrize("make", [reverse_pairs, addition_pairs, date_pairs])
def test_same_seed_same_pairs_other_seed_other_pairs(make):
    a = make(50, seed=11)
    assert make(50, seed=11) == a
    assert make(50, seed=np.random.default_rng(11)) == a
    assert make(50, seed=12) != a
    assert make(50) == make(50, seed=0)


def test_task_pairs_looks_tasks_up_by_name():
    assert set(SEQ2SEQ_TASKS) == {"reverse", "addition", "dates"}
    assert task_pairs("reverse", 10, seed=2) == reverse_pairs(10, seed=2)
    assert task_pairs("addition", 10, seed=2) == addition_pairs(10, seed=2)
    assert task_pairs("dates", 10, seed=2) == date_pairs(10, seed=2)
    with pytest.raises(ValueError, match="The 'name' parameter of task_pairs must be one of "
                                         "'reverse', 'addition', 'dates'. Got 'sort' instead."):
        task_pairs("sort", 10)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: reverse_pairs(0), ValueError, "'n' parameter of reverse_pairs must be an int >= 1. Got 0"),
    (lambda: reverse_pairs(2.0), TypeError, "'n' parameter of reverse_pairs must be an int >= 1. Got 2.0"),
    (lambda: reverse_pairs(5, min_len=0), ValueError, "'min_len' parameter of reverse_pairs must be an int >= 1"),
    (lambda: reverse_pairs(5, min_len=4, max_len=3), ValueError,
     r"'max_len' parameter of reverse_pairs must be >= min_len \(4\). Got 3"),
    (lambda: reverse_pairs(5, alphabet=""), ValueError, "'alphabet' parameter of reverse_pairs must be a non-empty str. Got ''"),
    (lambda: reverse_pairs(5, alphabet=["a"]), TypeError, r"'alphabet' parameter .* Got \['a'\] of type list"),
    (lambda: reverse_pairs(5, seed=-1), ValueError, "'seed' parameter of reverse_pairs"),
    (lambda: addition_pairs(-1), ValueError, "'n' parameter of addition_pairs must be an int >= 1"),
    (lambda: addition_pairs(5, max_digits=0), ValueError, "'max_digits' parameter of addition_pairs must be an int >= 1"),
    (lambda: addition_pairs(5, max_digits=1001), ValueError,
     r"'max_digits' parameter of addition_pairs must be an int in \[1, 1000\]. Got 1001"),
    (lambda: addition_pairs(5, seed="x"), TypeError, "'seed' parameter of addition_pairs"),
    (lambda: date_pairs(0), ValueError, "'n' parameter of date_pairs must be an int >= 1"),
    (lambda: date_pairs(5, seed=1.5), TypeError, "'seed' parameter of date_pairs"),
    (lambda: task_pairs("dates", 0), ValueError, "'n' parameter of date_pairs must be an int >= 1"),
    (lambda: task_pairs(3, 5), ValueError, "'name' parameter of task_pairs must be one of"),
])
def test_argument_errors_name_the_parameter(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
