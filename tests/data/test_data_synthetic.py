"""bptt.data: the adding problem and the copy-memory task."""
import math

import numpy as np
import pytest

from bptt.data import (ADDING_BASELINE_MSE, adding_baseline_mse, adding_problem, copy_memory)


# ---------------------------------------------------------------- adding problem
def test_adding_problem_structure():
    T, n = 50, 300
    x, y, mask = adding_problem(T, n, seed=0)
    assert x.shape == (T, n, 2) and y.shape == (T, n, 1) and mask.shape == (T, n)
    assert x.dtype == y.dtype == mask.dtype == np.float64
    values, markers = x[..., 0], x[..., 1]
    assert ((values >= 0) & (values < 1)).all()
    assert set(np.unique(markers)) == {0.0, 1.0}
    assert (markers.sum(axis=0) == 2).all()                      # exactly two markers
    assert (markers[:T // 2].sum(axis=0) == 1).all()             # one in the first half
    assert (markers[T // 2:].sum(axis=0) == 1).all()             # one in the second half
    target = (values * markers).sum(axis=0)                      # u(t1) + u(t2)
    np.testing.assert_allclose(y[-1, :, 0], target, rtol=0, atol=1e-15)
    assert (y[:-1] == 0).all()
    assert (mask[-1] == 1).all() and (mask[:-1] == 0).all()      # the last step only


def test_adding_problem_is_deterministic_and_accepts_a_generator():
    a = adding_problem(10, 5, seed=3)
    b = adding_problem(10, 5, seed=3)
    c = adding_problem(10, 5, seed=np.random.default_rng(3))
    for u, v, w in zip(a, b, c):
        assert np.array_equal(u, v) and np.array_equal(u, w)
    assert not np.array_equal(a.x, adding_problem(10, 5, seed=4).x)


def test_adding_problem_smallest_T():
    x, y, _ = adding_problem(2, 4, seed=1)                       # markers at t = 0 and t = 1
    assert (x[:, :, 1] == 1).all()
    np.testing.assert_allclose(y[1, :, 0], x[0, :, 0] + x[1, :, 0], rtol=0, atol=1e-15)


def test_adding_baseline_is_one_sixth_empirically():
    assert ADDING_BASELINE_MSE == 1 / 6
    _, y, mask = adding_problem(8, 20000, seed=0)
    mse = adding_baseline_mse(y, mask)
    # the std of (1 − y)² is sqrt(1/15 − 1/36) ≈ 0.198, so the standard error is ≈ 0.0014
    assert abs(mse - ADDING_BASELINE_MSE) < 0.006
    last = y[-1, :, 0]
    assert mse == pytest.approx(np.mean((1 - last) ** 2), rel=1e-12)
    assert abs(last.mean() - 1.0) < 0.015                         # E[u1 + u2] = 1


def test_adding_errors():
    with pytest.raises(ValueError, match=r"'T' parameter of adding_problem must be an int >= 2\. Got 1"):
        adding_problem(1, 3, seed=0)
    with pytest.raises(ValueError, match=r"'n' parameter of adding_problem must be an int >= 1\. Got 0"):
        adding_problem(5, 0, seed=0)
    with pytest.raises(TypeError, match=r"'seed' parameter of adding_problem must be an int >= 0 or "
                                        r"a numpy\.random\.Generator\. Got None"):
        adding_problem(5, 3, seed=None)
    _, y, mask = adding_problem(4, 3, seed=0)
    with pytest.raises(ValueError, match=r"'mask' argument of adding_baseline_mse must select at "
                                         r"least one step \(a positive sum\)\. Got a sum of 0\.0"):
        adding_baseline_mse(y, np.zeros_like(mask))
    with pytest.raises(ValueError, match=r"'mask' argument of adding_baseline_mse .*\(4, 3\)"):
        adding_baseline_mse(y, mask[:, :2])


# ---------------------------------------------------------------- copy memory
def test_copy_memory_structure():
    T_delay, n, k, length = 30, 64, 8, 10
    x, y, mask, baseline = copy_memory(T_delay, n, seed=0, n_symbols=k, length=length)
    T_total = T_delay + 2 * length
    assert x.shape == y.shape == mask.shape == (T_total, n)
    assert x.dtype == y.dtype == np.intp
    symbols = x[:length]
    assert symbols.min() >= 1 and symbols.max() <= k               # a_1 .. a_k
    assert (x[length:T_delay + length - 1] == 0).all()            # T_delay − 1 blanks
    assert (x[T_delay + length - 1] == k + 1).all()               # the delimiter
    assert (x[T_delay + length:] == 0).all()                      # blanks while recalling
    assert (y[:T_delay + length] == 0).all()                      # blanks, then …
    assert np.array_equal(y[T_delay + length:], symbols)          # … the symbols, in order
    assert x.max() < k + 2 and y.max() < k + 2                    # vocabulary n_symbols + 2
    assert (mask == 1).all()
    assert baseline == pytest.approx(length * math.log(k) / T_total, rel=1e-15)


def test_copy_memory_recall_only_mask_and_baseline():
    x, y, mask, baseline = copy_memory(5, 3, seed=1, n_symbols=4, length=2, recall_only=True)
    assert mask.shape == (9, 3)
    assert (mask[:7] == 0).all() and (mask[7:] == 1).all()
    assert baseline == pytest.approx(math.log(4), rel=1e-15)
    # the baseline is the chance loss averaged over the steps the mask counts
    chance = np.zeros(9)
    chance[7:] = math.log(4)
    assert baseline == pytest.approx((mask[:, 0] * chance).sum() / mask[:, 0].sum(), rel=1e-15)


def test_copy_memory_arjovsky_numbers_and_determinism():
    task = copy_memory(100, 2, seed=0)                            # T = 100: 120 steps
    assert task.x.shape == (120, 2)
    assert task.baseline == pytest.approx(10 * math.log(8) / 120, rel=1e-15)   # ≈ 0.1733
    again = copy_memory(100, 2, seed=np.random.default_rng(0))
    assert np.array_equal(task.x, again.x) and np.array_equal(task.y, again.y)
    # the symbols are uniform over 1..n_symbols
    many = copy_memory(1, 4000, seed=2, n_symbols=4, length=5).x[:5]
    counts = np.bincount(many.ravel(), minlength=5)[1:] / many.size
    np.testing.assert_allclose(counts, 0.25, atol=0.02)


def test_copy_memory_T_delay_one():
    x, y, _, _ = copy_memory(1, 2, seed=0, n_symbols=3, length=2)  # no blank before the delimiter
    assert x[:, 0].tolist()[2:] == [4, 0, 0] and (x[:2] >= 1).all()
    assert np.array_equal(y[3:], x[:2])


def test_copy_memory_errors():
    with pytest.raises(ValueError, match=r"'T_delay' parameter of copy_memory must be an int >= 1\. Got 0"):
        copy_memory(0, 2, seed=0)
    with pytest.raises(ValueError, match=r"'n_symbols' parameter of copy_memory must be an int >= 1\. Got 0"):
        copy_memory(5, 2, seed=0, n_symbols=0)
    with pytest.raises(TypeError, match=r"'length' parameter of copy_memory must be an int >= 1\. "
                                        r"Got 2\.5 of type float"):
        copy_memory(5, 2, seed=0, length=2.5)
    with pytest.raises(TypeError, match=r"'recall_only' parameter of copy_memory must be a bool\. Got 1"):
        copy_memory(5, 2, seed=0, recall_only=1)
    with pytest.raises(ValueError, match=r"'seed' parameter of copy_memory .* Got -1"):
        copy_memory(5, 2, seed=-1)
