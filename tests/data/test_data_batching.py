"""bptt.data: split and the stateful TBPTT StreamBatcher."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bptt.data import Batch, DataError, StreamBatcher, split


# ---------------------------------------------------------------- split
def test_split_keeps_the_tail_for_validation():
    ids = np.arange(100)
    train, val = split(ids)
    assert train.tolist() == list(range(90)) and val.tolist() == list(range(90, 100))
    train, val = split(ids, val_fraction=0.25)
    assert len(train) == 75 and len(val) == 25
    assert np.array_equal(np.concatenate([train, val]), ids)
    train, val = split([3, 1, 2], val_fraction=0.0)
    assert train.tolist() == [3, 1, 2] and val.size == 0 and train.dtype == np.intp
    train, val = split(np.arange(7), val_fraction=0.29)          # round(2.03) = 2
    assert len(val) == 2


def test_split_errors():
    with pytest.raises(ValueError, match=r"'val_fraction' parameter of split must be a finite "
                                         r"number in \[0\.0, 1\.0\)\. Got 1\.0"):
        split(np.arange(10), val_fraction=1.0)
    with pytest.raises(ValueError, match=r"Got -0\.1"):
        split(np.arange(10), val_fraction=-0.1)
    with pytest.raises(DataError, match=r"Cannot split 3 ids with val_fraction=0\.1: that leaves "
                                        r"3 for training and 0 for validation"):
        split(np.arange(3), val_fraction=0.1)
    with pytest.raises(DataError, match=r"leaves 0 for training and 1 for validation"):
        split(np.arange(1), val_fraction=0.9)
    with pytest.raises(TypeError, match=r"'ids' argument of split must hold integer token ids\. "
                                        r"Got dtype float64"):
        split(np.ones(5))
    with pytest.raises(ValueError, match=r"'ids' argument of split must be a 1-D sequence .* "
                                         r"Got shape \(2, 5\)"):
        split(np.zeros((2, 5), dtype=int))


# ---------------------------------------------------------------- StreamBatcher
def test_docstring_example():
    b = StreamBatcher(np.arange(20), batch_size=2, seq_len=3)
    batch = b.next_batch()
    assert isinstance(batch, Batch)
    x, y, reset = batch
    assert x.T.tolist() == [[0, 1, 2], [10, 11, 12]]
    assert y.T.tolist() == [[1, 2, 3], [11, 12, 13]]
    assert reset is True
    assert b.state() == {"position": 3, "epoch": 0}


def test_windows_are_consecutive_slices_of_the_streams_and_y_is_x_shifted():
    ids = np.random.default_rng(0).integers(0, 50, size=1003)
    B, k = 4, 7
    b = StreamBatcher(ids, B, k)
    L = 1003 // B
    assert b.stream_length == L and b.last_start == L - k - 1
    for col in range(B):                                   # stream b = ids[b·L : (b+1)·L]
        assert np.array_equal(b.streams[:, col], ids[col * L:(col + 1) * L])
    prev_x = None
    for i in range(b.batches_per_epoch):
        x, y, reset = b.next_batch()
        p = i * k
        assert x.shape == y.shape == (k, B) and x.dtype == np.intp
        assert reset == (i == 0)
        for col in range(B):
            assert np.array_equal(x[:, col], ids[col * L + p:col * L + p + k])
            assert np.array_equal(y[:, col], ids[col * L + p + 1:col * L + p + k + 1])
        assert np.array_equal(y[:-1], x[1:])               # y(t) = x(t+1)
        if prev_x is not None:                              # the next window continues the stream
            assert np.array_equal(x[0], b.streams[p]) and np.array_equal(prev_x[-1], b.streams[p - 1])
        prev_x = x
    assert b.batches_per_epoch == (L - k - 1) // k + 1


def test_wrapping_counts_epochs_and_sets_reset():
    ids = np.arange(2 * 11)                                # B = 2, L = 11, k = 3: starts 0, 3, 6
    b = StreamBatcher(ids, 2, 3)
    assert b.batches_per_epoch == 3 and b.last_start == 7
    seen = [(b.position, b.epoch, b.next_batch().reset) for _ in range(7)]
    assert seen == [(0, 0, True), (3, 0, False), (6, 0, False),
                    (0, 1, True), (3, 1, False), (6, 1, False), (0, 2, True)]
    assert b.state() == {"position": 3, "epoch": 2}


def test_window_reaching_the_last_target_is_used():
    ids = np.arange(2 * 9)                                 # L = 9, k = 4: starts 0 and 4 (4+4+1 = 9)
    b = StreamBatcher(ids, 2, 4)
    b.next_batch()
    x, y, _ = b.next_batch()
    assert y[-1].tolist() == [8, 17]                       # the streams' last ids are targets
    assert b.state() == {"position": 0, "epoch": 1}


def test_resume_from_saved_state_gives_the_same_batches():
    ids = np.random.default_rng(1).integers(0, 30, size=500)
    a = StreamBatcher(ids, 3, 5, stride=4)
    for _ in range(17):
        a.next_batch()
    saved = json.loads(json.dumps(a.state()))             # survives a checkpoint file
    b = StreamBatcher(ids, 3, 5, stride=4, **saved)
    assert b.state() == a.state()
    for _ in range(40):                                    # across at least one wrap
        ba, bb = a.next_batch(), b.next_batch()
        assert np.array_equal(ba.x, bb.x) and np.array_equal(ba.y, bb.y) and ba.reset == bb.reset
    assert a.state() == b.state() and a.epoch >= 1


def test_stride_overlaps_windows():
    ids = np.arange(40)                                    # B = 2, L = 20
    b = StreamBatcher(ids, 2, 5, stride=2)
    starts = []
    for _ in range(b.batches_per_epoch):
        starts.append(b.position)
        x, _, _ = b.next_batch()
        assert x[:, 0].tolist() == list(range(starts[-1], starts[-1] + 5))
    assert starts == [0, 2, 4, 6, 8, 10, 12, 14]           # last start 14: 14 + 5 + 1 = 20
    assert b.state() == {"position": 0, "epoch": 1}
    assert StreamBatcher(ids, 2, 5).stride == 5            # default: stride = seq_len


def test_peek_does_not_advance_and_batches_are_copies():
    ids = np.arange(30)
    b = StreamBatcher(ids, 3, 2)
    x1, _, _ = b.peek()
    x2, _, _ = b.next_batch()
    assert np.array_equal(x1, x2) and b.position == 2
    x2[:] = -1                                             # the caller may scribble on a batch
    assert b.streams.min() >= 0 and not b.streams.flags.writeable


def test_trailing_ids_are_dropped():
    b = StreamBatcher(np.arange(23), 4, 2)                 # L = 5, ids 20..22 unused
    assert b.streams.T.tolist() == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9],
                                    [10, 11, 12, 13, 14], [15, 16, 17, 18, 19]]


def test_batcher_parameter_errors():
    ids = np.arange(100)
    with pytest.raises(ValueError, match=r"'batch_size' parameter of StreamBatcher must be an int "
                                         r">= 1\. Got 0"):
        StreamBatcher(ids, 0, 5)
    with pytest.raises(TypeError, match=r"'seq_len' parameter of StreamBatcher must be an int >= 1\. "
                                        r"Got 2\.0 of type float"):
        StreamBatcher(ids, 2, 2.0)
    with pytest.raises(ValueError, match=r"'stride' parameter of StreamBatcher must be an int in "
                                         r"\[1, seq_len=5\]\. Got 6"):
        StreamBatcher(ids, 2, 5, stride=6)
    with pytest.raises(ValueError, match=r"'stride' parameter .* >= 1\. Got 0"):
        StreamBatcher(ids, 2, 5, stride=0)
    with pytest.raises(ValueError, match=r"'position' parameter of StreamBatcher must be an int in "
                                         r"\[0, 44\] for streams of length 50 and seq_len=5\. Got 45"):
        StreamBatcher(ids, 2, 5, position=45)
    with pytest.raises(ValueError, match=r"'position' parameter .* >= 0\. Got -1"):
        StreamBatcher(ids, 2, 5, position=-1)
    with pytest.raises(ValueError, match=r"'epoch' parameter .* >= 0\. Got -2"):
        StreamBatcher(ids, 2, 5, epoch=-2)
    with pytest.raises(TypeError, match=r"'ids' argument of StreamBatcher .*dtype <U1"):
        StreamBatcher(np.array(list("abc")), 1, 1)
    with pytest.raises(TypeError, match=r"'ids' argument of StreamBatcher must hold integer token "
                                        r"ids\. Got dtype float64"):
        StreamBatcher(np.ones(10), 1, 1)


def test_corpus_too_short_says_how_many_are_needed():
    with pytest.raises(DataError, match=r"too short for one batch: batch_size=4 streams of "
                                        r"seq_len=10 \+ 1 characters need at least 44 characters, "
                                        r"but there are 43\."):
        StreamBatcher(np.arange(43), 4, 10)
    b = StreamBatcher(np.arange(44), 4, 10)                # exactly one window, every batch resets
    assert b.batches_per_epoch == 1
    assert [b.next_batch().reset for _ in range(3)] == [True, True, True] and b.epoch == 3


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 300), B=st.integers(1, 6), k=st.integers(1, 12), data=st.data())
def test_batcher_random_shapes(n, B, k, data):
    ids = np.arange(n)
    if n < B * (k + 1):
        with pytest.raises(DataError, match=r"too short for one batch"):
            StreamBatcher(ids, B, k)
        return
    stride = data.draw(st.integers(1, k))
    b = StreamBatcher(ids, B, k, stride=stride)
    L = n // B
    for _ in range(2 * b.batches_per_epoch):
        p = b.position
        x, y, reset = b.next_batch()
        assert reset == (p == 0)
        expected = (np.arange(B) * L)[None, :] + np.arange(p, p + k)[:, None]   # ids = positions
        assert np.array_equal(x, expected) and np.array_equal(y, expected + 1)
        assert p + k + 1 <= L
    assert b.state() == {"position": 0, "epoch": 2}       # exactly two passes
