"""A sliced LSTM pass as one job per slice (`bptt.cells.lstm.pipeline`): every layer's forward,
the softmax head at the slice's positions and BPTT on one thread each, one hand-over in all.

Compared with the unsliced fused path (itself checked against PyTorch and the per-step
reference): the loss, every gradient, ∂J/∂h0, ∂J/∂c0, ∂J/∂x and the layers' y(t), c(t), to the
float32 tolerance of `slicing_support` (a wrong row, slice or step is of the order of 1).
"""
import threading

import numpy as np
import pytest

from bptt.cells import head, threads
from bptt.cells.lstm import fused, kernels as lstm_kernels, pipeline, slices
from bptt.cells.lstm.model import LSTM
from bptt.nn.losses import MeanPooled, loss_and_error
from slicing_support import TOL, close

assert lstm_kernels.AVAILABLE, "the pipeline needs numba (installed wherever these tests run)"

F32 = np.float32


def problem(rng, T, B, D, H, O, L, tokens):
    model = LSTM(D, H, O, num_layers=L, dtype=F32, seed=L + D)
    x = rng.integers(0, D, size=(T, B)) if tokens else rng.normal(size=(T, B, D)).astype(F32)
    y = rng.integers(0, O, size=(T, B))
    h0, c0 = (rng.normal(scale=0.5, size=(L, B, H)).astype(F32) for _ in range(2))
    weight = (rng.random((T, B)) < 0.8).astype(F32) / B            # a mask over 1/B
    return model, x, y, h0, c0, weight


def in_jobs(model, x, y, h0, c0, weight, k):
    p = model.params
    return pipeline.in_jobs(x, h0, c0, p, model.num_layers, y, weight, k, fused.fuse(p, 0))


def unsliced(model, x, y, h0, c0, weight):
    p, L = model.params, model.num_layers
    passes, O = fused.forward(x, h0, c0, p, L, slices=0)
    J, _, dO = loss_and_error("softmax", O, y, weight)
    return (J, passes) + fused.backward(dO, passes, p)


def assert_same(a, b):
    (Ja, pa, dxa, dha, dca, ga), (Jb, pb, dxb, dhb, dcb, gb) = a, b
    assert abs(Ja - Jb) <= TOL * abs(Jb)
    assert (dxa is None) == (dxb is None)
    assert dxa is None or close(dxa, dxb)
    assert close(dha, dhb) and close(dca, dcb)
    assert ga.keys() == gb.keys()
    for name in gb:
        assert ga[name].dtype == F32 and close(ga[name], gb[name]), name
    for la, lb in zip(pa, pb, strict=True):
        assert close(la.Ys, lb.Ys) and close(la.Cs, lb.Cs)


@pytest.fixture
def runs(monkeypatch):
    """Each threads.run call: the names of its jobs' functions."""
    seen, run = [], threads.run

    def spy(jobs):
        seen.append([getattr(f, "__name__", repr(f)) for f, _ in jobs])
        return run(jobs)

    monkeypatch.setattr(threads, "run", spy)
    return seen


@pytest.mark.parametrize("B, k", [(5, 1), (16, 2), (7, 3), (33, 2)])
@pytest.mark.parametrize("L", [1, 2])
@pytest.mark.parametrize("tokens", [True, False])
def test_pipeline_equals_the_unsliced_path(tokens, L, B, k, runs, rng):
    """One hand-over of k jobs in all: the layers, the head, BPTT, then (once every slice is
    there) the weight gradients' products (∂J/∂R, a float layer's ∂J/∂W) in bands of rows."""
    model, x, y, h0, c0, w = problem(rng, 4, B, 6, 9, 5, L, tokens)
    a = in_jobs(model, x, y, h0, c0, w, k)
    assert runs == [["_in_order"] * k]
    assert [len(p.slices) for p in a[1]] == [k] * L
    assert_same(a, unsliced(model, x, y, h0, c0, w))


@pytest.mark.parametrize("zero", ["all", "layer 0", "slice 0"])
@pytest.mark.parametrize("tokens", [True, False])
def test_a_zero_initial_state_equals_the_unsliced_path(tokens, zero, rng):
    """y(−1) = 0 (every layer's, layer 0's, or only the first slice's rows): the forward's first
    product and the first step's part of ∂J/∂R are left out where it is 0, nothing else."""
    model, x, y, h0, c0, w = problem(rng, 4, 16, 6, 9, 5, 2, tokens)
    h0[{"all": np.s_[:], "layer 0": np.s_[0], "slice 0": np.s_[:, :8]}[zero]] = 0
    assert_same(in_jobs(model, x, y, h0, c0, w, 2), unsliced(model, x, y, h0, c0, w))


@pytest.mark.parametrize("tokens", [True, False])
def test_a_zero_initial_state_shortens_the_weight_gradients_product(tokens, monkeypatch, rng):
    """∂J/∂R reads positions t >= 1 of a layer whose y(−1) is 0, all T·B of the others; a float
    layer's ∂J/∂W reads all T·B."""
    T, B, D, H = 4, 16, 6, 9
    model, x, y, h0, c0, w = problem(rng, T, B, D, H, 5, 2, tokens)
    h0[1] = 0
    seen, band_jobs = [], threads.band_jobs

    def spy(A, B_, out, k):
        seen.append((A.shape[1], B_.shape[0], out.shape))
        return band_jobs(A, B_, out, k)

    monkeypatch.setattr(threads, "band_jobs", spy)
    in_jobs(model, x, y, h0, c0, w, 2)
    N, R = T * B, (4 * H, H)
    layer0 = [(N, N, R)] if tokens else [(N, N, (4 * H, D)), (N, N, R)]
    assert seen == layer0 + [(N, N, R), (N - B, N - B, R)]


@pytest.mark.parametrize("tokens", [True, False])
def test_weight_gradients_after_the_join_where_blas_cannot_take_bands(tokens, runs, monkeypatch,
                                                                      rng):
    """No bands (`threads.band_jobs` refusing the products): the weight gradients come from
    `threads.dot` after the join, split over the threads, the same values."""
    model, x, y, h0, c0, w = problem(rng, 4, 16, 6, 9, 5, 2, tokens)
    h0[1] = 0
    monkeypatch.setattr(pipeline, "_gradient_bands", lambda sp, k: (None, None, None))
    monkeypatch.setattr(threads, "MIN_SPLIT_FLOPS", 0)
    a = in_jobs(model, x, y, h0, c0, w, 2)
    assert runs[0] == ["_in_order"] * 2 and len(runs) > 1
    assert all("_in_order" not in r for r in runs[1:])
    assert_same(a, unsliced(model, x, y, h0, c0, w))


@pytest.mark.parametrize("failing", [0, 1])
def test_an_error_in_one_slice_is_raised_and_the_others_stop_waiting(failing, monkeypatch, rng):
    """A slice's kernel raising: the barrier the slices meet at before the weight gradients is
    broken, the other slices return, and the call raises that error (not BrokenBarrierError)."""
    model, x, y, h0, c0, w = problem(rng, 4, 16, 6, 9, 5, 2, True)
    backward = slices.backward

    def broken(*args):
        if args[3] == 8 * failing:                               # b0 of the failing slice
            raise FloatingPointError("slice failed")
        return backward(*args)

    monkeypatch.setattr(slices, "backward", broken)
    barriers, Barrier = [], threading.Barrier
    monkeypatch.setattr(pipeline.threading, "Barrier", lambda k: barriers.append(Barrier(k))
                        or barriers[-1])
    raised = []

    def call():
        with pytest.raises(FloatingPointError, match="^slice failed$"):
            in_jobs(model, x, y, h0, c0, w, 2)
        raised.append(True)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    caller.join(timeout=30)
    hung = caller.is_alive()
    for barrier in barriers:                                       # a hang: free the waiters
        barrier.abort()                                            # for the tests after this
    assert not hung and raised == [True]
    monkeypatch.setattr(slices, "backward", backward)              # the pool still works
    assert_same(in_jobs(model, x, y, h0, c0, w, 2), unsliced(model, x, y, h0, c0, w))


@pytest.mark.parametrize("tokens", [True, False])
def test_the_first_product_is_left_out_only_for_a_slice_at_zero(tokens, rng):
    """R's entries NaN: a slice whose y(−1) rows are 0 has finite y(0) (no product at t = 0), a
    slice with a nonzero row has NaN in every row of y(0) (the product ran)."""
    model, x, y, h0, c0, w = problem(rng, 3, 8, 4, 6, 3, 1, tokens)
    h0[0, :4], h0[0, 4:7] = 0, 0                                   # slice 1: one nonzero row
    model.params["R_f"][:] = np.nan
    fl = fused.fuse(model.params, 0)
    x = fused.check_ids(x, 4) if tokens else x
    sp = slices.layer_forward(x, h0[0], c0[0], fl, 2)
    assert sp.slices == [(0, 4), (4, 8)]
    assert np.isfinite(sp.Ys[1, :4]).all() and np.isnan(sp.Ys[1, 4:]).all()


def test_pipeline_with_blocked_products(rng, small_kernels):
    """H 384 in slices of 16 and 17 rows: the per-step products, and the input errors
    Σ_g W_gᵀ ∂J/∂ĝ(t) of the lower layer (4H = 1536 terms, D = 384 columns), run in blocks."""
    assert slices.forward_blocks(16, 384, 1536) != (384, 1536)
    model, x, y, h0, c0, w = problem(rng, 3, 33, 200, 384, 5, 2, False)
    assert_same(in_jobs(model, x, y, h0, c0, w, 2), unsliced(model, x, y, h0, c0, w))


@pytest.mark.parametrize("tokens, first", [(True, "forward_ids"), (False, "forward_x")])
def test_each_slice_runs_its_kernels_in_order(tokens, first, monkeypatch, rng):
    """Two layers: forward bottom up, the head at the slice's positions, BPTT top down with the
    errors of each layer's input between (and ∂J/∂x last for float inputs); then the barrier and
    a band of each weight gradient's product."""
    model, x, y, h0, c0, w = problem(rng, 3, 8, 4, 6, 3, 2, tokens)
    orders, in_order = [], pipeline._in_order

    def spy(jobs, barrier):
        orders.append([f.__name__ for f, _ in jobs])
        return in_order(jobs, barrier)

    monkeypatch.setattr(pipeline, "_in_order", spy)
    in_jobs(model, x, y, h0, c0, w, 2)
    expected = [first, "forward_x", "softmax_rows", "backward", "input_errors", "backward"]
    bands = ["wait"] + ["_rows_tn"] * (3 if tokens else 4)    # then ∂J/∂R's (a float layer's
    assert orders == [expected + ([] if tokens else ["input_errors"]) + bands] * 2   # ∂J/∂W's)


def test_the_comparison_catches_a_head_on_the_wrong_rows(monkeypatch, rng):
    """The head of slice 1 scoring its neighbour's rows breaks the comparison above."""
    model, x, y, h0, c0, w = problem(rng, 4, 16, 6, 9, 5, 1, True)
    rows = head.softmax_rows

    def shifted(sgemm, Y, V, c, ids, w_, dY, dV, dcm, J, b0, b1, oT, B):
        return rows(sgemm, Y, V, c, ids, w_, dY, dV, dcm, J, b0 - (b0 > 0), b1 - (b0 > 0), oT, B)

    monkeypatch.setattr(head, "softmax_rows", shifted)
    with pytest.raises(AssertionError):
        assert_same(in_jobs(model, x, y, h0, c0, w, 2), unsliced(model, x, y, h0, c0, w))


def test_softmax_slices_reads_rows_in_place_only(rng):
    """Its jobs read Y's rows where the slices' forward writes them: a copy would be stale."""
    Y = rng.normal(size=(3, 4, 5)).astype(F32)
    V, c = rng.normal(size=(2, 5)).astype(F32), np.zeros(2, F32)
    y, w = rng.integers(0, 2, size=(3, 4)), np.full((3, 4), 0.25, F32)
    with pytest.raises(ValueError, match=r"softmax_slices reads Y's rows in place: it must be "
                                         r"C-contiguous float32\. Got strides \(4, 12, 48\), "
                                         r"float32\."):
        head.softmax_slices(np.asfortranarray(Y), V, c, y, w, [(0, 4)])
    with pytest.raises(ValueError, match=r"C-contiguous float32\. Got strides .*, float64\."):
        head.softmax_slices(Y.astype(np.float64), V, c, y, w, [(0, 4)])


def test_other_heads_and_pooled_losses_do_not_apply(rng):
    """`applies`: per-step softmax with token targets only (identity outputs, float64, a loss
    pooled over time: no)."""
    V = np.zeros((3, 4), F32)
    assert pipeline.applies("softmax", np.zeros((2, 2), np.int64), V)
    assert not pipeline.applies("softmax", MeanPooled(np.zeros(2, np.int64)), V)
    assert not pipeline.applies("identity", np.zeros((2, 2, 3), F32), V)
    assert not pipeline.applies("softmax", np.zeros((2, 2), np.int64), V.astype(np.float64))



@pytest.mark.parametrize("case", ["float64", "BPTT_SLICES=0", "identity", "sliced"])
def test_each_layer_is_fused_once_a_pass(case, monkeypatch, rng):
    """Whichever path `pipeline.loss_and_backward` takes (the pipeline, or `fused`'s with the
    layer 0 it fused to decide), every layer's weights are fused once."""
    if case == "BPTT_SLICES=0":
        monkeypatch.setenv("BPTT_SLICES", "0")
    T, B, D, H = 3, 8, 5, 6
    out = "identity" if case == "identity" else "softmax"
    dt = np.float64 if case == "float64" else F32
    model = LSTM(D, H, 4, num_layers=2, output=out, dtype=dt, seed=3)
    x = rng.integers(0, D, size=(T, B))
    y = rng.normal(size=(T, B, 4)).astype(dt) if out == "identity" else rng.integers(0, 4, (T, B))
    fused_layers, fuse = [], fused.fuse
    monkeypatch.setattr(fused, "fuse", lambda p, layer: fused_layers.append(layer) or fuse(p, layer))
    ran, in_jobs_ = [], pipeline.in_jobs
    monkeypatch.setattr(pipeline, "in_jobs", lambda *a: ran.append(1) or in_jobs_(*a))
    model.loss_and_grads(x, y)
    assert sorted(fused_layers) == [0, 1] and (ran == [1]) == (case == "sliced")
