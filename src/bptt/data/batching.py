"""From a 1-D array of token ids to training batches for stateful truncated BPTT.

`split(ids)` keeps the tail for validation. `StreamBatcher` cuts the ids into B parallel
streams and walks a window along them, so the hidden state at the end of one batch is the right
initial state for the next:

    L = len(ids) // B                      # stream length; the last len(ids) % B ids are dropped
    stream b = ids[b·L : (b+1)·L]          # streams (L, B), time-major: streams[t, b]
    x = streams[p     : p + seq_len]       # (seq_len, B) inputs of the window starting at p
    y = streams[p + 1 : p + seq_len + 1]   # (seq_len, B) targets: the next id of every input

After each batch the position p advances by `stride` (default seq_len, consecutive windows that
touch). A window needs p + seq_len + 1 <= L; when the next one would not fit, p wraps to 0 and
`epoch` counts one full pass. The position and epoch are plain ints (`state()`), so training can
save them and resume exactly with `StreamBatcher(ids, B, seq_len, stride=…, **state)`.

With stride < seq_len (TBPTT(k1, k2) with k1 = stride, k2 = seq_len) consecutive windows overlap
by seq_len − stride steps: the state to carry into the next window is the one after the first
`stride` steps of this window, and only the last `stride` steps of a window are new targets.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _validate as v
from ._checks import check_ids
from .errors import DataError


def split(ids, val_fraction: float = 0.1):
    """(train_ids, val_ids): the last ⌊len(ids) · val_fraction + ½⌋ ids (rounded half up) are
    the validation set.

    The validation set is the tail, so no text leaks across the cut; both parts are views of
    `ids` in its own integer dtype (a memmap's parts stay views of the file). val_fraction = 0
    gives an empty validation set; otherwise both parts must be non-empty. ids (N,) in, two
    parts (N − n_val,) and (n_val,) out.

    Examples:
        >>> from bptt.data import split
        >>> train, val = split(np.arange(10), val_fraction=0.2)
        >>> train, val
        (array([0, 1, 2, 3, 4, 5, 6, 7]), array([8, 9]))
    """
    owner = "split"
    arr = check_ids(ids, owner, cast=False)
    val_fraction = v.check_float(val_fraction, "val_fraction", owner, low=0.0, high=1.0,
                                 high_open=True)
    n = arr.shape[0]
    n_val = int(n * val_fraction + 0.5)                     # round half up
    if val_fraction > 0 and (n_val == 0 or n_val == n):
        raise DataError(f"Cannot split {n} ids with val_fraction={val_fraction}: that leaves "
                        f"{n - n_val} for training and {n_val} for validation, and both need "
                        f"at least one.")
    return arr[:n - n_val], arr[n - n_val:]


class Batch(NamedTuple):
    """One window of StreamBatcher: `x` (T, B) input ids with T = seq_len, `y` (T, B) the next
    id of each input, and `reset`, True when the window starts the streams (carry h0 = 0).

    Examples:
        >>> from bptt.data import StreamBatcher
        >>> batch = StreamBatcher(np.arange(20), batch_size=2, seq_len=3).next_batch()
        >>> batch.x.shape, bool(np.array_equal(batch.y[:-1], batch.x[1:])), batch.reset
        ((3, 2), True, True)
    """
    x: np.ndarray        # (seq_len, B) input ids
    y: np.ndarray        # (seq_len, B) target ids, x shifted by one step
    reset: bool          # True when the window starts the streams (p = 0): start from h0 = 0


class StreamBatcher:
    """Consecutive (x, y) windows over B parallel streams, with an explicit, saveable position.

    ids (N,) are cut into streams (L, B) with L = N // B; each batch is x, y (T, B) with
    T = seq_len.

    Examples:
        >>> from bptt.data import StreamBatcher
        >>> b = StreamBatcher(np.arange(20), batch_size=2, seq_len=3)   # streams 0..9 and 10..19
        >>> b.streams.shape, b.stream_length, b.batches_per_epoch
        ((10, 2), 10, 3)
        >>> b.peek().x.T.tolist()                       # without advancing
        [[0, 1, 2], [10, 11, 12]]
        >>> x, y, reset = b.next_batch()
        >>> x.T.tolist(), y.T.tolist(), reset
        ([[0, 1, 2], [10, 11, 12]], [[1, 2, 3], [11, 12, 13]], True)
        >>> b.state()
        {'position': 3, 'epoch': 0}
        >>> resumed = StreamBatcher(np.arange(20), 2, 3, **b.state())
        >>> bool(np.array_equal(resumed.next_batch().x, b.next_batch().x))
        True
    """

    def __init__(self, ids, batch_size: int, seq_len: int, *, stride: int | None = None,
                 position: int = 0, epoch: int = 0):
        owner = "StreamBatcher"
        arr = check_ids(ids, owner, cast=False)             # a memmap stays a view of the file
        self.batch_size = v.check_int(batch_size, "batch_size", owner)
        self.seq_len = v.check_int(seq_len, "seq_len", owner)
        stride = self.seq_len if stride is None else stride
        self.stride = v.check_int(stride, "stride", owner)
        if self.stride > self.seq_len:
            raise ValueError(f"The 'stride' parameter of {owner} must be an int in "
                             f"[1, seq_len={self.seq_len}]. Got {self.stride} instead.")
        B, k = self.batch_size, self.seq_len
        need = B * (k + 1)                                  # each stream: k inputs + 1 more target
        if arr.shape[0] < need:
            raise DataError(f"The corpus is too short for one batch: batch_size={B} streams of "
                            f"seq_len={k} + 1 characters need at least {need} characters, "
                            f"but there are {arr.shape[0]}.")
        L = arr.shape[0] // B                               # stream length
        # rows[b, t] = ids[b·L + t]: (B, L), a view (nothing copied: the ids may be a memory map
        # larger than memory); each window copies its (k + 1, B) ids out
        self._rows = arr[:B * L].reshape(B, L)
        self._L = L
        self.last_start = L - k - 1                         # the last p with p + k + 1 <= L
        self.position = v.check_int(position, "position", owner, minimum=0)
        if self.position > self.last_start:
            raise ValueError(f"The 'position' parameter of {owner} must be an int in "
                             f"[0, {self.last_start}] for streams of length {L} and seq_len={k}. "
                             f"Got {self.position} instead.")
        self.epoch = v.check_int(epoch, "epoch", owner, minimum=0)

    @property
    def stream_length(self) -> int:
        """L = len(ids) // batch_size, the length of each stream in streams (L, B)."""
        return self._L

    @property
    def streams(self) -> np.ndarray:
        """The (L, B) id streams (read-only view of the ids): streams[t, b] = ids[b·L + t]."""
        view = self._rows.T.view()
        view.flags.writeable = False
        return view

    @property
    def batches_per_epoch(self) -> int:
        """Windows (T, B) in one pass: starts 0, stride, 2·stride, … up to last_start."""
        return self.last_start // self.stride + 1

    def state(self) -> dict:
        """{'position': p, 'epoch': e}: JSON-friendly; pass back as keyword arguments to resume.
        No arrays."""
        return {"position": self.position, "epoch": self.epoch}

    def peek(self) -> Batch:
        """The batch that next_batch() would return, x and y (T, B), without advancing."""
        p, k = self.position, self.seq_len
        w = np.ascontiguousarray(self._rows[:, p:p + k + 1].T, dtype=np.intp)   # (k + 1, B)
        x = w[:k]                                           # (k, B) inputs
        y = w[1:].copy()                                    # (k, B) targets: next id of each input
        return Batch(x, y, p == 0)

    def next_batch(self) -> Batch:
        """The window at the current position, x and y (T, B) with T = seq_len; then the
        position advances by `stride`, wrapping to 0 (and counting an epoch) when the next
        window would run past the streams' end."""
        batch = self.peek()
        self.position += self.stride
        if self.position > self.last_start:
            self.position = 0
            self.epoch += 1
        return batch

    def __repr__(self) -> str:
        return (f"StreamBatcher(batch_size={self.batch_size}, seq_len={self.seq_len}, "
                f"stride={self.stride}, stream_length={self.stream_length}, "
                f"position={self.position}, epoch={self.epoch})")
