"""Built-in sequence-to-sequence tasks: (source, target) string pairs drawn from a seed, nothing
downloaded. Each returns a list of n pairs for `batch_pairs` (sources never empty).

    reverse    "abc"            -> "cba"            lengths uniform in [min_len, max_len],
                                                    characters uniform from the alphabet
    addition   "123+89"         -> "212"            each operand: a digit count uniform in
                                                    [1, max_digits], then uniform digits, no
                                                    leading zero (0 itself is a 1-digit operand)
    dates      "30 Nov 2026"    -> "2026-11-30"     a day uniform in 1950-01-01 .. 2049-12-31,
               "11/30/26"                           written in one of DATE_FORMATS (uniform)
               "November 30, 2026" ...

Two-digit years read 50..99 as 19xx and 00..49 as 20xx, so every date of the range has one
reading. Month names are written here in English (strftime would follow the locale).
"""
from __future__ import annotations

import datetime

import numpy as np

from .. import _validate as v

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
FIRST_DATE, LAST_DATE = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)
MAX_DIGITS = 1000          # Python refuses int(str) past 4300 digits; far beyond any use here


def _day_month_year(d: datetime.date) -> str:
    return f"{d.day} {MONTHS[d.month - 1][:3]} {d.year}"            # 30 Nov 2026


def _us_short(d: datetime.date) -> str:
    return f"{d.month:02d}/{d.day:02d}/{d.year % 100:02d}"          # 11/30/26


def _month_day_year(d: datetime.date) -> str:
    return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"               # November 30, 2026


def _year_first(d: datetime.date) -> str:
    return f"{d.year}/{d.month:02d}/{d.day:02d}"                    # 2026/11/30


def _dotted(d: datetime.date) -> str:
    return f"{d.day:02d}.{d.month:02d}.{d.year}"                    # 30.11.2026


def _short_month_day_year(d: datetime.date) -> str:
    return f"{MONTHS[d.month - 1][:3]} {d.day}, {d.year}"           # Nov 30, 2026


#: The source formats of date_pairs, by an example of each (2026-11-30).
DATE_FORMATS = {
    "30 Nov 2026": _day_month_year,
    "11/30/26": _us_short,
    "November 30, 2026": _month_day_year,
    "2026/11/30": _year_first,
    "30.11.2026": _dotted,
    "Nov 30, 2026": _short_month_day_year,
}
"""The source formats of date_pairs: each key is 2026-11-30 written in its format, each value
writes a datetime.date so.

Examples:
    >>> import datetime
    >>> from bptt.data import DATE_FORMATS
    >>> [write(datetime.date(2026, 11, 30)) for write in DATE_FORMATS.values()] == list(DATE_FORMATS)
    True
"""


def reverse_pairs(n: int, *, min_len: int = 1, max_len: int = 8, alphabet: str = "abcdefghij",
                  seed=0) -> list[tuple[str, str]]:
    """n pairs (s, s reversed), len(s) uniform in [min_len, max_len], letters from `alphabet`.

    Examples:
        >>> from bptt.data import reverse_pairs
        >>> reverse_pairs(3, max_len=4, seed=0)
        [('cdaa', 'aadc'), ('abi', 'iba'), ('jfg', 'gfj')]
    """
    owner = "reverse_pairs"
    n = v.check_int(n, "n", owner)
    min_len = v.check_int(min_len, "min_len", owner)
    max_len = v.check_int(max_len, "max_len", owner)
    if max_len < min_len:
        raise ValueError(f"The 'max_len' parameter of {owner} must be >= min_len ({min_len}). "
                         f"Got {max_len} instead.")
    if not isinstance(alphabet, str):
        raise TypeError(f"The 'alphabet' parameter of {owner} must be a non-empty str. "
                        f"Got {alphabet!r} of type {type(alphabet).__name__} instead.")
    if not alphabet:
        raise ValueError(f"The 'alphabet' parameter of {owner} must be a non-empty str. "
                         f"Got '' instead.")
    rng = v.check_rng(seed, owner)
    lengths = rng.integers(min_len, max_len + 1, size=n)                   # (n,)
    letters = rng.integers(0, len(alphabet), size=(n, max_len))            # (n, max_len)
    pairs = []
    for length, row in zip(lengths, letters):
        s = "".join(alphabet[i] for i in row[:length])
        pairs.append((s, s[::-1]))
    return pairs


def addition_pairs(n: int, *, max_digits: int = 3, seed=0) -> list[tuple[str, str]]:
    """n pairs ("a+b", str(a + b)), each operand of 1..max_digits digits, no leading zeros.

    Examples:
        >>> from bptt.data import addition_pairs
        >>> pairs = addition_pairs(3, seed=0)
        >>> pairs
        [('559+62', '621'), ('96+8', '104'), ('6+9', '15')]
        >>> all(eval(s) == int(t) for s, t in pairs)
        True
    """
    owner = "addition_pairs"
    n = v.check_int(n, "n", owner)
    max_digits = v.check_int(max_digits, "max_digits", owner)
    if max_digits > MAX_DIGITS:
        raise ValueError(f"The 'max_digits' parameter of {owner} must be an int in "
                         f"[1, {MAX_DIGITS}]. Got {max_digits} instead.")
    rng = v.check_rng(seed, owner)
    counts = rng.integers(1, max_digits + 1, size=(n, 2))                  # (n, 2) digits per operand
    lead = np.where(counts == 1, rng.integers(0, 10, size=(n, 2)),         # a 1-digit operand: 0..9
                    rng.integers(1, 10, size=(n, 2)))                      # else no leading zero
    rest = rng.integers(0, 10, size=(n, 2, max_digits - 1))                # (n, 2, max_digits - 1)
    pairs = []
    for c, first, digits in zip(counts, lead, rest):
        a, b = (str(first[k]) + "".join(map(str, digits[k, :c[k] - 1])) for k in range(2))
        pairs.append((f"{a}+{b}", str(int(a) + int(b))))
    return pairs


def date_pairs(n: int, *, seed=0) -> list[tuple[str, str]]:
    """n pairs (a date in one of DATE_FORMATS, the same date as ISO 'YYYY-MM-DD').

    Examples:
        >>> from bptt.data import date_pairs
        >>> date_pairs(3, seed=0)
        [('01/24/35', '2035-01-24'), ('09/12/13', '2013-09-12'), ('11 Feb 2001', '2001-02-11')]
    """
    owner = "date_pairs"
    n = v.check_int(n, "n", owner)
    rng = v.check_rng(seed, owner)
    days = rng.integers(FIRST_DATE.toordinal(), LAST_DATE.toordinal() + 1, size=n)   # (n,)
    writers = list(DATE_FORMATS.values())
    choice = rng.integers(0, len(writers), size=n)                                    # (n,)
    pairs = []
    for day, k in zip(days.tolist(), choice.tolist()):
        d = datetime.date.fromordinal(day)
        pairs.append((writers[k](d), d.isoformat()))
    return pairs


SEQ2SEQ_TASKS = {"reverse": reverse_pairs, "addition": addition_pairs, "dates": date_pairs}
"""The built-in tasks by name (`bptt train --model seq2seq --task NAME`).

Examples:
    >>> from bptt.data import SEQ2SEQ_TASKS
    >>> sorted(SEQ2SEQ_TASKS)
    ['addition', 'dates', 'reverse']
"""


def task_pairs(name: str, n: int, *, seed=0) -> list[tuple[str, str]]:
    """n pairs of the built-in task `name` (a key of SEQ2SEQ_TASKS) with its default options.

    Examples:
        >>> from bptt.data import reverse_pairs, task_pairs
        >>> task_pairs("reverse", 2, seed=0) == reverse_pairs(2, seed=0)
        True
    """
    name = v.check_choice(name, "name", "task_pairs", tuple(SEQ2SEQ_TASKS))
    return SEQ2SEQ_TASKS[name](n, seed=seed)
