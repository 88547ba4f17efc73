"""A bidirectional pass on the fast path slices every layer of both directions with one count,
decided before the pass on OpenBLAS's real threads, and holds OpenBLAS to one thread for all of
it — the forward, the loss, BPTT and its own products (the output layer, ∂J/∂V, Vᵀ ∂J/∂o, ∂J/∂x)
— which run split over bptt's threads instead (`bptt.cells.bidirectional.slice_count`). Without
the hold, OpenBLAS's spinning workers took the slices' cores between the layers (GRU T50 B32
H256 on 2 threads: 55 ms sliced against 50 unsliced). The numbers equal the unsliced pass's.
"""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from bptt.cells import bidirectional as bi
from bptt.cells import cblas, threads
from bptt.cells.gru import slices as gru_slices
from bptt.cells.gru.model import GRU
from bptt.cells.lstm import slices as lstm_slices
from bptt.cells.lstm.model import LSTM
from bptt.cells.rnn import slices as rnn_slices
from bptt.cells.rnn.model import SimpleRNN
from slicing_support import close

F32 = np.float32
CELLS = {"rnn": (SimpleRNN, rnn_slices), "lstm": (LSTM, lstm_slices), "gru": (GRU, gru_slices)}


@pytest.fixture
def blas_counts(monkeypatch):
    """OpenBLAS's real thread count at every product bptt's threads split (threads.dot)."""
    seen, dot = [], threads.dot

    def spy(A, B, k=0):
        seen.append(cblas._get_threads())
        return dot(A, B, k)

    monkeypatch.setattr(threads, "dot", spy)
    return seen


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("lengths", [None, [5, 3, 4, 5, 2, 5, 1, 5, 4]])
def test_one_count_and_one_thread_for_the_whole_pass(kind, lengths, blas_counts, monkeypatch, rng):
    Model, slices = CELLS[kind]
    monkeypatch.setattr(slices, "MIN_FLOPS", 0)                      # these passes are tiny
    monkeypatch.setattr(threads, "MIN_SPLIT_FLOPS", 0)
    T, B, D, H, O = 5, 9, 4, 6, 3
    model = Model(D, H, O, num_layers=2, bidirectional=True, dtype=F32, seed=1)
    x = rng.normal(size=(T, B, D)).astype(F32)
    y = rng.integers(0, O, size=(T, B))
    lengths = None if lengths is None else np.array(lengths)
    passes, run_forward = [], bi._run_forward

    def spy(*args):
        p = run_forward(*args)
        passes.append(p)
        return p

    monkeypatch.setattr(bi, "_run_forward", spy)
    seen_rnn, rnn_forward = [], rnn_slices.layer_forward

    def spy_rnn(x, h0, U, W, b, act, k):
        seen_rnn.append(k)
        return rnn_forward(x, h0, U, W, b, act, k)

    monkeypatch.setattr(rnn_slices, "layer_forward", spy_rnn)
    with threadpool_limits(limits=2, user_api="blas"):
        a = model.backward(x, y, lengths=lengths)
        assert cblas._get_threads() == 2                           # restored after the pass
    p = passes[-1]
    assert p.k == 2
    ctxs = [run.ctx for layer in p.layers for run in (layer.f, layer.r)]
    if kind == "rnn":                                              # the RNN's pass is its Hs
        assert seen_rnn == [2] * 4
    else:
        assert [len(c.slices) for c in ctxs] == [2] * 4            # both directions, both layers
    assert blas_counts and set(blas_counts) == {1}                 # every product held at one thread
    monkeypatch.setenv("BPTT_SLICES", "0")
    blas_counts.clear()
    with threadpool_limits(limits=2, user_api="blas"):
        b = model.backward(x, y, lengths=lengths)
    assert passes[-1].k == 0 and set(blas_counts) <= {2}            # unsliced: OpenBLAS's own threads
    assert abs(a.loss - b.loss) <= 2e-5 * abs(b.loss)
    for key in b.grads:
        assert close(a.grads[key], b.grads[key]), key
    assert close(a.dx, b.dx)


def test_the_reference_path_never_slices_and_one_thread_runs_one_slice(rng):
    model = LSTM(4, 6, 3, bidirectional=True, dtype=F32, seed=0)
    x = rng.normal(size=(5, 64, 4)).astype(F32)
    assert bi.slice_count(model, x, reference=True) == 0
    with threadpool_limits(limits=1, user_api="blas"):
        assert bi.slice_count(model, x, reference=False) == 1
