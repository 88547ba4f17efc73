"""`bptt.cells.aligned`: arrays whose data starts on a 64-byte line, and the LSTM's sliced pass
allocating its buffers so (NumPy's own start wherever malloc puts them: 16 bytes past a line for
a pass's sizes under glibc, but any offset a multiple of 16 is possible, so the premise is not
tested here; benchmarks/RESULTS.md, round 7, measures it)."""
import numpy as np
import pytest

from bptt.cells import aligned
from bptt.cells.lstm import fused, slices
from bptt.cells.lstm.model import LSTM


@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (3, 5), (50, 32, 1024), (2, 0, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uintp, np.uint8])
def test_empty_and_zeros_start_on_a_line(shape, dtype):
    for make in (aligned.empty, aligned.zeros):
        a = make(shape, dtype)
        assert a.shape == shape and a.dtype == dtype
        assert a.flags.c_contiguous and a.flags.writeable
        assert a.size == 0 or a.ctypes.data % aligned.LINE == 0    # an empty one has no data
    assert not aligned.zeros(shape, dtype).any()


def test_an_int_shape_and_a_negative_one():
    assert aligned.empty(5, np.float32).shape == (5,)
    assert aligned.zeros(np.int64(3), np.float32).shape == (3,)
    with pytest.raises(ValueError, match=r"dimensions must be >= 0. Got shape \(2, -1\)"):
        aligned.empty((2, -1), np.float32)


def test_arrays_do_not_overlap():
    """Each array owns its buffer: writing one leaves another as it was."""
    a, b = aligned.zeros((64, 3), np.float32), aligned.zeros((64, 3), np.float32)
    a[:] = 1
    assert not b.any() and a.all()


def test_the_lstm_sliced_pass_buffers_start_on_a_line(rng):
    T, B, D, H, O = 4, 9, 5, 12, 3
    model = LSTM(D, H, O, dtype=np.float32, seed=0)
    x = rng.integers(0, D, size=(T, B))
    h0 = np.zeros((1, B, H), dtype=np.float32)
    passes, _ = fused.forward(x, h0, h0, model.params, 1, slices=2)
    sp = passes[0]
    assert isinstance(sp, slices.SlicedPass)
    for name in ("G", "Ys", "Cs", "TC"):
        assert getattr(sp, name).ctypes.data % aligned.LINE == 0, name
