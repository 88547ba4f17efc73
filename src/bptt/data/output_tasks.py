"""Tasks for output-recurrent models (`bptt.OutputRNN`): sequences whose next symbol follows from
the previous one, so that what is fed back — the true previous symbol (teacher forcing) or the
model's own output (free running) — matters.

    task = successor_chain(T, n, seed, n_symbols=K, jump=0.1, visible=True)
    task.y  (T, n) ids in [0, K): y(0) is a random start symbol; then at each step, with
            probability `jump`, a random symbol, else succ[y(t−1)]
    task.x  (T, n) ids in [0, K]: x(t) = K ("no news") except at a visible jump, where x(t) = y(t)
            (x(0) = y(0) always); with visible=False the later jumps are hidden: x(t) = K
    task.succ  (K,) the successor rule, a permutation drawn from `rule_seed` (fixed: the same for
            training and held-out sequences; `seed` draws the sequences)

With visible jumps, y is determined by x: a model that knows the previous symbol and reads x(t)
predicts every step exactly. With hidden jumps it cannot: with teacher forcing it is told the true
y(t−1) (after a jump too), and the best loss per step is that of the jump noise alone; running
free it must feed back its own belief about y(t−1), which a hidden jump throws off — and a model
trained only on true one-hot targets has never seen its own blurred probability vectors as input:
the exposure bias (docs/teacher_forcing.md measures it). Layout is time-major; randomness comes from the seeds only.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _validate as v


class SuccessorChain(NamedTuple):
    """What successor_chain returns: x (T, n) ids in [0, K] (K: no news), y (T, n) ids in
    [0, K), succ (K,) the successor rule, K = n_symbols.

    Examples:
        >>> from bptt.data import successor_chain
        >>> s = successor_chain(6, 2, seed=0, n_symbols=4)
        >>> s.x[:, 0], s.y[:, 0], s.succ        # y(1) jumps (x(1) shows it), then succ[y(t−1)]
        (array([1, 2, 4, 4, 4, 4]), array([1, 2, 1, 0, 2, 1]), array([2, 0, 1, 3]))
    """
    x: np.ndarray      # (T, n) ids in [0, n_symbols]; n_symbols means "no jump"
    y: np.ndarray      # (T, n) ids in [0, n_symbols)
    succ: np.ndarray   # (n_symbols,) the successor of each symbol


def successor_chain(T: int, n: int, seed, *, n_symbols: int = 5, jump: float = 0.1,
                    visible: bool = True, rule_seed: int = 0) -> SuccessorChain:
    """n sequences of T steps of the successor-chain task (see the module's docstring); input
    size n_symbols + 1, output size n_symbols: x, y (T, n), succ (n_symbols,).

    Examples:
        >>> from bptt import OutputRNN
        >>> from bptt.data import successor_chain
        >>> task = successor_chain(8, 3, seed=0, n_symbols=4)
        >>> no_jump = task.x[1:] == 4
        >>> bool(np.array_equal(task.y[1:][no_jump], task.succ[task.y[:-1]][no_jump]))
        True
        >>> OutputRNN(5, 8, 4).forward(task.x).y_hat.shape      # ids in (D = 5), K = 4 classes
        (8, 3, 4)
    """
    owner = "successor_chain"
    T = v.check_int(T, "T", owner)
    n = v.check_int(n, "n", owner)
    K = v.check_int(n_symbols, "n_symbols", owner, minimum=2)
    jump = v.check_float(jump, "jump", owner, low=0, high=1)
    succ = v.check_rng(v.check_int(rule_seed, "rule_seed", owner, minimum=0), owner).permutation(K)
    rng = v.check_rng(seed, owner)
    jumps = rng.random((T, n)) < jump
    jumps[0] = True                                        # the start symbol is given
    new = rng.integers(0, K, (T, n))
    if not isinstance(visible, bool):
        raise TypeError(f"The 'visible' parameter of {owner} must be True or False. "
                        f"Got {visible!r} instead.")
    x = np.where(jumps if visible else np.arange(T)[:, None] == 0, new, K).astype(np.intp)
    y = np.zeros((T, n), dtype=np.intp)
    for t in range(T):
        y[t] = np.where(jumps[t], new[t], succ[y[t - 1]] if t else 0)
    return SuccessorChain(x, y, succ)
