"""The parity task (bptt.data.synthetic.parity): seeded, variable lengths, padding, held-out keys."""
import numpy as np
import pytest

from bptt.data.synthetic import parity, string_keys


def test_parity_is_seeded_padded_and_correct():
    p = parity(500, 7, min_len=2, max_len=9)
    q = parity(500, 7, min_len=2, max_len=9)
    np.testing.assert_array_equal(p.x, q.x)
    assert p.x.shape == (9, 500) and p.y.shape == (500,) and p.lengths.shape == (500,)
    assert p.lengths.min() == 2 and p.lengths.max() == 9
    pad = np.arange(9)[:, None] >= p.lengths[None, :]
    assert (p.x[pad] == 0).all() and set(np.unique(p.x)) == {0, 1}
    np.testing.assert_array_equal(p.y, [int(p.x[:n, b].sum()) % 2 for b, n in enumerate(p.lengths)])
    assert 0.4 < p.y.mean() < 0.6


def test_keys_number_strings_and_exclude_keeps_them_out():
    x = np.array([[1, 1, 0], [0, 0, 0]])              # strings "1", "10", "0" (T = 2)
    lengths = np.array([1, 2, 1])
    np.testing.assert_array_equal(string_keys(x, lengths), [2 + 1, 4 + 1, 2 + 0])
    held = parity(300, 1, max_len=6)
    keys = string_keys(held.x, held.lengths)
    train = parity(5000, 2, max_len=6, exclude=keys)
    assert not np.isin(string_keys(train.x, train.lengths), keys).any()


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"'max_len' parameter of parity must be in \[min_len, 62\]"):
        parity(3, 0, min_len=4, max_len=3)
    with pytest.raises(ValueError, match=r"'exclude' argument of parity leaves no string"):
        parity(3, 0, min_len=1, max_len=1, exclude=[2, 3])
