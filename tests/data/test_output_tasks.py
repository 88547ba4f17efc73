"""successor_chain: the task for output-recurrent models (bptt.OutputRNN)."""
import numpy as np
import pytest

from bptt.data import successor_chain


@pytest.mark.parametrize("visible", [True, False])
def test_chain_follows_its_rule_between_jumps(visible):
    task = successor_chain(30, 50, seed=1, n_symbols=6, jump=0.2, visible=visible)
    x, y, succ = task
    assert x.shape == y.shape == (30, 50) and sorted(succ) == list(range(6))
    assert x.min() >= 0 and x.max() <= 6 and y.min() >= 0 and y.max() < 6
    np.testing.assert_array_equal(x[0], y[0])                            # the start is given
    follows = y[1:] == succ[y[:-1]]
    shown = x[1:] != 6
    np.testing.assert_array_equal(x[1:][shown], y[1:][shown])           # a shown jump: its symbol
    assert np.all(follows | shown) if visible else not shown.any()
    assert 0.7 < follows.mean() < 0.9                                   # jumps ≈ 20% (5/6 of them change y)


def test_seeded_and_the_rule_is_shared():
    a, b = successor_chain(10, 4, seed=3), successor_chain(10, 4, seed=3)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    c = successor_chain(10, 4, seed=4)
    assert not np.array_equal(a.y, c.y) and np.array_equal(a.succ, c.succ)
    assert not np.array_equal(a.succ, successor_chain(10, 4, seed=3, rule_seed=1).succ)


@pytest.mark.parametrize("kwargs,match", [
    ({"n_symbols": 1}, "'n_symbols' parameter of successor_chain must be an int >= 2"),
    ({"jump": 1.5}, "'jump' parameter of successor_chain"),
    ({"visible": 1}, "'visible' parameter of successor_chain must be True or False"),
])
def test_validation(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        successor_chain(5, 2, seed=0, **kwargs)
