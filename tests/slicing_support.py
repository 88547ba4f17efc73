"""What the tests of the cells' batch-sliced loops share (tests/cells/test_*_slices.py): the
tolerance, the comparison, and faking OpenBLAS's thread count (the `fake_threads` fixture
of tests/conftest.py).

Tolerance: max |a − b| <= 2e-5 · max |b| per array (float32 round-off over the tests' sizes is
≈ 1e-6 of the largest entry; a wrong index, gate or slice boundary is of the order of 1).
"""
import numpy as np

from bptt.cells import cblas, threads
from bptt.cells.gru import slices as gru_slices
from bptt.cells.lstm import slices as lstm_slices
from bptt.cells.rnn import slices as rnn_slices

TOL = 2e-5
SLICES = (rnn_slices, lstm_slices, gru_slices)


def close(a, b, tol=TOL) -> bool:
    """max |a − b| <= tol · max |b|, same shape."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    return bool(np.abs(a.astype(np.float64) - b).max() <= tol * np.abs(b).max())


def faker(monkeypatch):
    """fake(n): cblas.threads() says n, and every cell slices the tests' tiny passes (MIN_FLOPS
    and threads.MIN_SPLIT_FLOPS 0). The caller puts OpenBLAS's real count back afterwards:
    one_thread restores the count it read (n) into OpenBLAS itself."""
    def fake(n):
        monkeypatch.setattr(cblas, "threads", lambda: n)
        for module in SLICES:
            monkeypatch.setattr(module, "MIN_FLOPS", 0)
        monkeypatch.setattr(threads, "MIN_SPLIT_FLOPS", 0)
    return fake
