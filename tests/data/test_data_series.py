"""bptt.data: CSV columns and time-series windows for regression."""
import numpy as np
import pytest

from bptt.data import DataError, csv_column, windows


@pytest.fixture
def prices(tmp_path):
    f = tmp_path / "prices.csv"
    f.write_text("date,open,close\n2024-01-01,1.5,2\n\n2024-01-02, 2.5 ,3e1\n2024-01-03,-1,4\n")
    return f


def test_csv_column_by_name_and_index(prices):
    assert csv_column(prices, "open").tolist() == [1.5, 2.5, -1.0]       # blank line skipped
    assert csv_column(prices, "close").tolist() == [2.0, 30.0, 4.0]
    assert csv_column(prices, 2).tolist() == [2.0, 30.0, 4.0]            # header row detected
    assert csv_column(str(prices), 1).dtype == np.float64


def test_csv_column_without_header_and_other_delimiter(tmp_path):
    f = tmp_path / "raw.tsv"
    f.write_text("1\t10\n2\t20\n3\t30\n")
    assert csv_column(f, 1, delimiter="\t").tolist() == [10.0, 20.0, 30.0]
    assert csv_column(f, 0, delimiter="\t").tolist() == [1.0, 2.0, 3.0]


def test_csv_column_errors(prices, tmp_path):
    with pytest.raises(DataError, match=r"prices\.csv' has no column named 'volume'\. Its header "
                                        r"\(row 1\) has: 'date', 'open', 'close'\."):
        csv_column(prices, "volume")
    with pytest.raises(DataError, match=r"prices\.csv' row 1 has 3 field\(s\), so no column 3\."):
        csv_column(prices, 3)
    with pytest.raises(DataError, match=r"row 2, column 0: expected a finite number\. "
                                        r"Got '2024-01-01'\."):
        csv_column(prices, 0)                       # first row is a header; dates are not numbers
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n3\n")
    with pytest.raises(DataError, match=r"bad\.csv' row 3 has 1 field\(s\), so no column 'y' \(index 1\)\."):
        csv_column(bad, "y")
    bad.write_text("x\n1\n2\nabc\n4\n")
    with pytest.raises(DataError, match=r"bad\.csv' row 4, column 'x': expected a finite number\. "
                                        r"Got 'abc'\."):
        csv_column(bad, "x")
    bad.write_text("x,y\n1,\n")
    with pytest.raises(DataError, match=r"row 2, column 'y': expected a finite number\. Got ''\."):
        csv_column(bad, "y")
    bad.write_text("x\n1\nnan\n")
    with pytest.raises(DataError, match=r"row 3, column 'x': .* Got 'nan'\."):
        csv_column(bad, "x")
    bad.write_text("x\n\n")
    with pytest.raises(DataError, match=r"bad\.csv' has a header but no data rows in column 'x'"):
        csv_column(bad, "x")
    bad.write_text("\n\n")
    with pytest.raises(DataError, match=r"bad\.csv': it holds no CSV rows"):
        csv_column(bad, 0)
    with pytest.raises(DataError, match=r"no such file"):
        csv_column(tmp_path / "missing.csv", 0)


def test_csv_column_parameter_errors(prices):
    with pytest.raises(TypeError, match=r"'column' parameter of csv_column must be a header name "
                                        r"\(str\) or a 0-based index \(int >= 0\)\. Got 1\.0 of type float"):
        csv_column(prices, 1.0)
    with pytest.raises(TypeError, match=r"'column' parameter .* Got True of type bool"):
        csv_column(prices, True)
    with pytest.raises(ValueError, match=r"'column' parameter .* Got -1 instead"):
        csv_column(prices, -1)
    with pytest.raises(ValueError, match=r"'delimiter' parameter of csv_column must be a single "
                                         r"character .* Got ';;'"):
        csv_column(prices, 0, delimiter=";;")
    with pytest.raises(ValueError, match=r"'encoding' parameter of csv_column .* Got 'nope'"):
        csv_column(prices, 0, encoding="nope")


def test_windows_next_step_targets():
    s = np.arange(10.0)
    x, y = windows(s, 4)                               # N = 10 − 4 − 1 + 1 = 6
    assert x.shape == y.shape == (4, 6, 1) and x.dtype == np.float64
    for n in range(6):
        assert x[:, n, 0].tolist() == s[n:n + 4].tolist()
        assert y[:, n, 0].tolist() == s[n + 1:n + 5].tolist()
    assert np.array_equal(y[:-1], x[1:])               # y(t) = x(t+1) for horizon 1


def test_windows_horizon_and_stride():
    s = np.arange(20.0) ** 2
    x, y = windows(s, 3, horizon=2, stride=4)          # starts 0, 4, 8, 12 (12 + 3 + 2 <= 20)
    assert x.shape == (3, 4, 1)
    assert x[0, :, 0].tolist() == [0.0, 16.0, 64.0, 144.0]
    for n, start in enumerate([0, 4, 8, 12]):
        assert y[:, n, 0].tolist() == s[start + 2:start + 5].tolist()
    x, y = windows([1, 2, 3], 2)                       # exactly one window; ints accepted
    assert x[:, 0, 0].tolist() == [1.0, 2.0] and y[:, 0, 0].tolist() == [2.0, 3.0]


def test_windows_errors():
    with pytest.raises(DataError, match=r"too short for one window: seq_len=5 steps with horizon=2 "
                                        r"need at least 7 values, but there are 6"):
        windows(np.arange(6.0), 5, horizon=2)
    with pytest.raises(ValueError, match=r"'series' argument of windows must be a 1-D array of "
                                         r"values\. Got shape \(2, 3\)"):
        windows(np.zeros((2, 3)), 1)
    with pytest.raises(ValueError, match=r"'series' argument of windows must be finite\. Got nan "
                                         r"at index \(1,\)"):
        windows([0.0, np.nan, 1.0], 1)
    with pytest.raises(TypeError, match=r"'series' argument of windows must hold numbers\. Got booleans"):
        windows(np.array([True, False, True]), 1)
    with pytest.raises(ValueError, match=r"'horizon' parameter of windows must be an int >= 1\. Got 0"):
        windows(np.arange(5.0), 2, horizon=0)
    with pytest.raises(ValueError, match=r"'seq_len' parameter of windows must be an int >= 1\. Got 0"):
        windows(np.arange(5.0), 0)
    with pytest.raises(TypeError, match=r"'stride' parameter of windows must be an int >= 1\. "
                                        r"Got '2' of type str"):
        windows(np.arange(5.0), 2, stride="2")
