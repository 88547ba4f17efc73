"""Time series for regression (output="identity"): one CSV column → next-step windows.

`csv_column(path, column)` reads one numeric column; `windows(series, seq_len)` stacks every
window of the series time-major, with the value `horizon` steps ahead as the target:

    x[t, n, 0] = series[n·stride + t]                 # (T, N, 1) inputs, T = seq_len
    y[t, n, 0] = series[n·stride + t + horizon]       # (T, N, 1) targets
    N = (len(series) − seq_len − horizon) // stride + 1
"""
from __future__ import annotations

import csv
import io
import math
import numbers

import numpy as np

from .. import _validate as v
from .errors import DataError
from .text import check_encoding, read_text_file


def _number(text: str):
    """float(text) when it is a finite number, else None."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def csv_column(path, column, *, delimiter: str = ",", encoding: str = "utf-8") -> np.ndarray:
    """The values of one column of a CSV file, (N,) float64.

    column: a header name (str; the first row is then the header) or a 0-based index (int; the
    first row is taken as a header, and skipped, when its value in that column is not a number).
    Blank lines are skipped. Errors name a row by its line number in the file (counted from
    1; for a quoted field spanning lines, its last line). Every value must be a finite number:
    a row without the column, a non-numeric, empty, nan or inf value, or a column without any
    values raises DataError naming the file, row and value.

    Examples:
        >>> from pathlib import Path
        >>> from bptt.data import csv_column
        >>> _ = Path("series.csv").write_text("day,temp\\n1,20.5\\n2,21\\n\\n3,19.25\\n")
        >>> csv_column("series.csv", "temp")
        array([20.5 , 21.  , 19.25])
        >>> csv_column("series.csv", 0)                 # the header row is skipped
        array([1., 2., 3.])
    """
    owner = "csv_column"
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n\"":
        raise ValueError(f"The 'delimiter' parameter of {owner} must be a single character other "
                         f"than a quote or a line break. Got {delimiter!r} instead.")
    if isinstance(column, bool) or not isinstance(column, (str, numbers.Integral)):
        raise TypeError(f"The 'column' parameter of {owner} must be a header name (str) or a "
                        f"0-based index (int >= 0). Got {column!r} of type "
                        f"{type(column).__name__} instead.")
    if not isinstance(column, str) and column < 0:
        raise ValueError(f"The 'column' parameter of {owner} must be a header name (str) or a "
                         f"0-based index (int >= 0). Got {column!r} instead.")
    encoding = check_encoding(encoding, owner)
    text = read_text_file(path, encoding)
    name = str(path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = [(reader.line_num, row) for row in reader if row]    # (line, fields), no blanks
    except csv.Error as e:
        raise DataError(f"Cannot parse {name!r} as CSV: {e} (row {reader.line_num}).") from None
    if not rows:
        raise DataError(f"Cannot use {name!r}: it holds no CSV rows.")

    if isinstance(column, str):
        header = [h.strip() for h in rows[0][1]]
        if column not in header:
            listed = ", ".join(repr(h) for h in header)
            raise DataError(f"{name!r} has no column named {column!r}. Its header (row "
                            f"{rows[0][0]}) has: {listed}.")
        index, label, body = header.index(column), repr(column), rows[1:]
    else:
        index, label = int(column), f"{int(column)}"
        first = rows[0][1]
        has_header = index < len(first) and _number(first[index]) is None
        body = rows[1:] if has_header else rows

    values = np.empty(len(body), dtype=np.float64)
    for i, (line, row) in enumerate(body):
        if index >= len(row):
            where = f" (index {index})" if isinstance(column, str) else ""
            raise DataError(f"{name!r} row {line} has {len(row)} field(s), so no column "
                            f"{label}{where}.")
        value = _number(row[index])
        if value is None:
            raise DataError(f"{name!r} row {line}, column {label}: expected a finite number. "
                            f"Got {row[index]!r}.")
        values[i] = value
    if values.size == 0:
        raise DataError(f"{name!r} has a header but no data rows in column {label}.")
    return values


def windows(series, seq_len: int, *, horizon: int = 1, stride: int = 1):
    """(x, y), each (seq_len, N, 1) float64: every window of `series` and the values `horizon`
    steps after each of its steps (next-step prediction for horizon = 1), N windows in the batch
    dimension, starting at 0, stride, 2·stride, …

    Use with output="identity": the loss ½‖o(t) − y(t)‖² is then the squared error of the
    prediction of series[s + t + horizon] from series[s .. s + t]. series (N_s,) in; x, y
    (T, N, 1) out with T = seq_len.

    Examples:
        >>> from bptt.data import windows
        >>> x, y = windows(np.arange(6.0), seq_len=3)
        >>> x.shape, x[:, :, 0].T, y[:, :, 0].T              # windows along the batch axis
        ((3, 3, 1), array([[0., 1., 2.],
               [1., 2., 3.],
               [2., 3., 4.]]), array([[1., 2., 3.],
               [2., 3., 4.],
               [3., 4., 5.]]))
    """
    owner = "windows"
    arr = v.as_array(series, "series", owner)
    if arr.dtype.kind == "b":
        raise TypeError(f"The 'series' argument of {owner} must hold numbers. Got booleans.")
    if arr.ndim != 1:
        raise ValueError(f"The 'series' argument of {owner} must be a 1-D array of values. "
                         f"Got shape {arr.shape} instead.")
    arr = np.asarray(arr, dtype=np.float64)
    v.check_finite(arr, "series", owner)
    seq_len = v.check_int(seq_len, "seq_len", owner)
    horizon = v.check_int(horizon, "horizon", owner)
    stride = v.check_int(stride, "stride", owner)
    need = seq_len + horizon
    if arr.shape[0] < need:
        raise DataError(f"The series is too short for one window: seq_len={seq_len} steps with "
                        f"horizon={horizon} need at least {need} values, but there are "
                        f"{arr.shape[0]}.")
    # all[s, j] = series[s + j] for j < seq_len + horizon: (S, seq_len + horizon), S starts
    every = np.lib.stride_tricks.sliding_window_view(arr, need)[::stride]
    x = every[:, :seq_len].T                                  # (T, N): x[t, n] = series[s + t]
    y = every[:, horizon:horizon + seq_len].T                 # (T, N): y[t, n] = series[s+t+h]
    return np.ascontiguousarray(x[..., None]), np.ascontiguousarray(y[..., None])  # (T, N, 1)
