"""The LSTM's time loop in batch slices (`bptt.cells.lstm.slices`, float32, numba kernels on
bptt's threads) gives the fused path's numbers to float32 round-off, and the per-step reference
path's: loss, every gradient, ∂J/∂h0, ∂J/∂c0, ∂J/∂x and the forward results, for token ids and
float inputs, 1 and 2 layers, 1 to 3 slices (uneven, and more asked for than the batch has),
through `fused.forward/backward` with slices=k and through the public model with auto slicing.

Auto slicing follows OpenBLAS's thread count; the tests that fake it (`fake_threads`) put the
real count back afterwards, since `cblas.one_thread` restores whatever `cblas.threads()` said.

Tolerance: max |a − b| <= 2e-5 · max |b| per array (float32 round-off over these sizes is
≈ 1e-6 of the largest entry; a wrong index, gate or slice boundary is of the order of 1).
"""
from types import SimpleNamespace

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from bptt.cells import cblas
from bptt.cells.fastpath import SMALL_GEMM
from bptt.cells.lstm import fused, pipeline, slices
from bptt.cells.lstm import kernels as lstm_kernels
from bptt.cells.lstm.model import LSTM
from bptt.nn.losses import loss_and_error
from bptt.optim import Adam
from slicing_support import TOL, close

assert lstm_kernels.AVAILABLE and cblas.AVAILABLE, (
    "the sliced LSTM needs numba and NumPy's bundled OpenBLAS; both are installed wherever these "
    "tests run (unset BPTT_NUMBA=0 / BPTT_CBLAS=0)")

F32 = np.float32



def states(rng, L, B, H, dtype=F32):
    """Nonzero (h0, c0), each (L, B, H)."""
    return tuple(rng.normal(scale=0.5, size=(L, B, H)).astype(dtype) for _ in range(2))


def inputs(rng, T, B, D, O, tokens):
    x = rng.integers(0, D, size=(T, B)) if tokens else rng.normal(size=(T, B, D)).astype(F32)
    return x, rng.integers(0, O, size=(T, B))


def run_fused(model, x, y, h0, c0, k):
    """One forward (slices=k) and BPTT through `fused`: the passes' types and numbers."""
    passes, O = fused.forward(x, h0, c0, model.params, model.num_layers, slices=k)
    kinds = [type(p) for p in passes]
    n_slices = [len(p.slices) if isinstance(p, slices.SlicedPass) else 0 for p in passes]
    layers = [(p.Ys.copy(), p.Cs.copy(), p.G.copy()) for p in passes]   # G: before backward
    T, B = y.shape
    loss, _, dO = loss_and_error("softmax", O, y, np.full((T, B), 1 / B, dtype=O.dtype))
    dx, dh0, dc0, grads = fused.backward(dO, passes, model.params)
    return SimpleNamespace(kinds=kinds, n_slices=n_slices, layers=layers, O=O, loss=loss, dx=dx,
                           dh0=dh0, dc0=dc0, grads=grads)


def assert_same_pass(a, b, tol=TOL):
    assert abs(a.loss - b.loss) <= tol * abs(b.loss)
    assert close(a.O, b.O, tol)
    for (Ya, Ca, Ga), (Yb, Cb, Gb) in zip(a.layers, b.layers, strict=True):
        assert close(Ya, Yb, tol) and close(Ca, Cb, tol) and close(Ga, Gb, tol)
    assert close(a.dh0, b.dh0, tol) and close(a.dc0, b.dc0, tol)
    assert (a.dx is None) == (b.dx is None)
    if a.dx is not None:
        assert close(a.dx, b.dx, tol)
    assert a.grads.keys() == b.grads.keys()
    for key in a.grads:
        assert a.grads[key].dtype == F32
        assert close(a.grads[key], b.grads[key], tol), key


def float64_reference(model, x, y, h0, c0):
    """The per-step reference path in float64 from the same (float32) parameters."""
    config = dict(model.config(), dtype="float64")
    ref = LSTM(**config, path="reference")
    ref.params = {k: v.astype(np.float64) for k, v in model.params.items()}
    state = (h0[0], c0[0]) if model.num_layers == 1 else (h0, c0)
    x64 = x if x.dtype.kind in "iu" else x.astype(np.float64)
    return ref.backward(x64, y, tuple(s.astype(np.float64) for s in state)), ref


# -- fused.forward / backward with slices=k ------------------------------------------------------
@pytest.mark.parametrize("B, k, expected", [(5, 1, 1), (16, 2, 2), (7, 3, 3), (4, 6, 4)])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("tokens", [True, False])
def test_sliced_pass_equals_the_fused_path_and_the_reference(tokens, num_layers, B, k, expected,
                                                              rng):
    T, D, H, O = 6, 5, 7, 4
    model = LSTM(D, H, O, num_layers=num_layers, dtype=F32, seed=3)
    x, y = inputs(rng, T, B, D, O, tokens)
    h0, c0 = states(rng, num_layers, B, H)
    sliced = run_fused(model, x, y, h0, c0, k)
    plain = run_fused(model, x, y, h0, c0, 0)
    assert sliced.kinds == [slices.SlicedPass] * num_layers
    assert sliced.n_slices == [expected] * num_layers             # k > B: one column each
    assert plain.kinds == [fused.LayerPass] * num_layers
    assert_same_pass(sliced, plain)
    ref, _ = float64_reference(model, x, y, h0, c0)                # the per-step loop, float64
    assert abs(sliced.loss - ref.loss) <= TOL * ref.loss
    for key in ref.grads:
        assert close(sliced.grads[key], ref.grads[key]), key
    dh0, dc0 = ref.dh0 if num_layers > 1 else (ref.dh0[0][None], ref.dh0[1][None])
    assert close(sliced.dh0, dh0) and close(sliced.dc0, dc0)
    if not tokens:
        assert close(sliced.dx, ref.dx)


@pytest.mark.parametrize("tokens", [True, False])
def test_sliced_pass_with_blocked_products(tokens, rng, small_kernels):
    """H = 384, B = 33 in 2 slices (16 and 17 rows): the per-step products run in blocks of
    columns with the sum in chunks (the last ones shorter), and the backward's chunks cross
    neither the z / i, f, o boundary (α 1 and 2) nor a gate's; so does x(t) Wᵀ with D = 200."""
    T, B, D, H, O = 3, 33, 200, 384, 5
    model = LSTM(D, H, O, dtype=F32, seed=5)
    x, y = inputs(rng, T, B, D, O, tokens)
    h0, c0 = states(rng, 1, B, H)
    for n in (16, 17):
        cols, kc = slices.forward_blocks(n, 4 * H, H)
        assert cols < 4 * H and kc < H
        cols, kc = slices.backward_blocks(n, H)
        assert cols < H and kc < H and H % kc and 3 * H % kc
        assert slices.forward_blocks(n, 4 * H, D)[0] < 4 * H
    sliced = run_fused(model, x, y, h0, c0, 2)
    assert sliced.n_slices == [2]
    assert_same_pass(sliced, run_fused(model, x, y, h0, c0, 0))


@pytest.mark.parametrize("n", [1, 4, 8, 16, 17, 32, 64, 128, 512, 4096])
@pytest.mark.parametrize("H", [8, 64, 128, 256, 384, 512, 1024])
def test_blocks_stay_under_the_small_matrix_bound(n, H, small_kernels):
    """Every call of the blocked products stays under OpenBLAS's small-matrix bound (the forward's
    under FORWARD_CALL), in multiples of 32 columns and terms, unless the product runs whole:
    when it is under the bound, or when 32 columns by 32 terms would be over it (many rows n)."""
    cols, kc = slices.forward_blocks(n, 4 * H, H)
    if (cols, kc) == (4 * H, H):
        assert n * 4 * H * H <= SMALL_GEMM or n * 32 * 32 > slices.FORWARD_CALL
    else:
        assert n * cols * kc <= slices.FORWARD_CALL and cols % 32 == 0 and kc % 32 == 0
    cols, kc = slices.backward_blocks(n, H)
    if (cols, kc) == (H, H):
        assert n * H * H <= SMALL_GEMM or n * min(H, 256) * 32 > SMALL_GEMM
    else:
        assert n * cols * kc <= SMALL_GEMM and kc % 32 == 0 and cols <= H


def test_blocks_are_the_measured_fastest(small_kernels):
    """The sizes RESULTS.md measured fastest at H 256 (the constants' comments)."""
    assert slices.forward_blocks(32, 1024, 256) == (64, 256)
    assert slices.forward_blocks(16, 1024, 256) == (128, 256)
    assert slices.forward_blocks(8, 1024, 256) == (256, 256)
    assert slices.backward_blocks(32, 256) == (256, 96)


@pytest.mark.parametrize("tokens", [True, False])
def test_one_call_per_product_without_small_matrix_kernels(tokens, rng, monkeypatch):
    """Where OpenBLAS has no small-matrix kernels (its Haswell ones, which AMD Zen 1-3 run too),
    every call packs: the forward's products run whole, the backward's one call a part (z with
    α 1, then i, f, o with α 2), and the pass gives the fused path's numbers."""
    monkeypatch.setattr(cblas, "SMALL_KERNELS", False)
    T, B, D, H, O = 3, 33, 200, 384, 5
    assert slices.forward_blocks(16, 4 * H, H) == (4 * H, H)
    assert slices.forward_blocks(16, 4 * H, D) == (4 * H, D)
    assert slices.backward_blocks(16, H) == (H, 3 * H)
    model = LSTM(D, H, O, dtype=F32, seed=5)
    x, y = inputs(rng, T, B, D, O, tokens)
    h0, c0 = states(rng, 1, B, H)
    sliced = run_fused(model, x, y, h0, c0, 2)
    assert sliced.n_slices == [2]
    assert_same_pass(sliced, run_fused(model, x, y, h0, c0, 0))


def test_transposed_rows_are_one_cache_line_longer(rng):
    """Rᵀ and Wᵀ for the forward's products: Aᵀ exactly, each row padded by PAD_ROW bytes past
    its P floats (rows 4H floats long are a power of two of bytes apart otherwise), aligned."""
    A = rng.normal(size=(40, 24)).astype(np.float32)
    out = slices.transposed(A, tile=16)
    assert np.array_equal(out, A.T) and out.shape == (24, 40)
    assert out.strides == (40 * 4 + slices.PAD_ROW, 4) and out.ctypes.data % 64 == 0


@pytest.mark.parametrize("tokens", [False, True])
def test_sliced_backward_reads_feature_major_errors_too(tokens, rng):
    """A sliced layer's BPTT from outside errors (T, B, H) or, feature_major, (T, H, B): bit for
    bit the same pass (the slices read rows; feature-major errors are laid out as rows first)."""
    T, B, D, H = 5, 9, 4, 6
    fl = fused.fuse(LSTM(D, H, 2, dtype=F32, seed=5).params, 0)
    x = rng.integers(0, D, size=(T, B)) if tokens else rng.normal(size=(T, B, D)).astype(F32)
    y0, c0 = states(rng, 1, B, H)
    dY = rng.normal(size=(T, B, H)).astype(F32)
    runs = []
    for fm in (False, True):
        lp = fused.layer_forward(x, y0[0], c0[0], fl, slices=2)
        assert isinstance(lp, slices.SlicedPass)
        d = np.ascontiguousarray(dY.transpose(0, 2, 1)) if fm else dY
        runs.append(fused.layer_backward(d, lp, feature_major=fm))
    (a, b) = runs
    assert all(np.array_equal(u, v) for u, v in zip(a[:3], b[:3]))
    assert all(np.array_equal(a[3][k], b[3][k]) for k in a[3])
    assert np.abs(a[1]).max() > 0                                   # the errors reached y(−1)


def test_the_tolerance_catches_a_wrong_slice(monkeypatch, rng):
    """A slice that reads its inputs one batch column off (its neighbour's x(t) columns) breaks
    the comparison above by far more than the tolerance."""
    T, B, D, H, O = 6, 7, 5, 7, 4
    model = LSTM(D, H, O, dtype=F32, seed=3)
    x, y = inputs(rng, T, B, D, O, False)
    h0, c0 = states(rng, 1, B, H)
    plain = run_fused(model, x, y, h0, c0, 0)
    assert_same_pass(run_fused(model, x, y, h0, c0, 3), plain)
    forward_x = slices.forward_x

    def off_by_one(sgemm, RTs, WsT, bs, x, b0, *rest):
        shifted = np.ascontiguousarray(np.roll(x, 1, axis=1)) if b0 else x
        return forward_x(sgemm, RTs, WsT, bs, shifted, b0, *rest)

    monkeypatch.setattr(slices, "forward_x", off_by_one)
    broken = run_fused(model, x, y, h0, c0, 3)
    assert not close(broken.O, plain.O, 100 * TOL)
    with pytest.raises(AssertionError):
        assert_same_pass(broken, plain)


# -- the public model: auto slicing from OpenBLAS's thread count ---------------------------------
def slice_counts(passes):
    return [len(p.slices) if isinstance(p, slices.SlicedPass) else 0 for p in passes]


@pytest.fixture
def passes_seen(monkeypatch):
    """The slice counts of every forward through the layers the model makes: fused.forward and
    fused.loss_and_backward run them through fused._layers_forward, or, sliced with a softmax
    head, through `pipeline.in_jobs` (one job per slice)."""
    seen, layers_forward, in_jobs = [], fused._layers_forward, pipeline.in_jobs

    def spy(*args, **kwargs):
        passes = layers_forward(*args, **kwargs)
        seen.append(slice_counts(passes))
        return passes

    def spy_pipeline(*args, **kwargs):
        out = in_jobs(*args, **kwargs)
        seen.append(slice_counts(out[1]))
        return out

    monkeypatch.setattr(fused, "_layers_forward", spy)
    monkeypatch.setattr(pipeline, "in_jobs", spy_pipeline)
    return seen


def assert_same_backward(a, b, tol=TOL, steps=(0, -1), dtype=F32):
    assert abs(a.loss - b.loss) <= tol * abs(b.loss)
    for key in b.grads:
        assert dtype is None or a.grads[key].dtype == dtype, key
        assert close(a.grads[key], b.grads[key], tol), key
    for da, db in zip(a.dh0, b.dh0, strict=True):
        assert close(da, db, tol)
    assert (a.dx is None) == (b.dx is None)
    if b.dx is not None:
        assert close(a.dx, b.dx, tol)
    for t in steps:
        for sa, sb in zip(a.state(t), b.state(t), strict=True):
            assert close(sa, sb, tol)
    for sa, sb in zip(a.last_state, b.last_state, strict=True):
        assert close(sa, sb, tol)


def assert_same_forward(a, b, tol=TOL):
    for attr in ("h", "c", "o", "y_hat"):
        assert close(getattr(a, attr), getattr(b, attr), tol), attr
    for g in ("z", "i", "f", "o"):
        assert close(a.gates[g], b.gates[g], tol), g
    for sa, sb in zip(a.last_state, b.last_state, strict=True):
        assert close(sa, sb, tol)
    for la, lb in zip(a.layers, b.layers, strict=True):
        for name in lb:
            assert close(la[name], lb[name], tol), name


@pytest.mark.parametrize("n_threads, B", [(2, 16), (2, 21), (3, 26), (3, 19), (3, 11)])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("tokens", [True, False])
def test_model_slices_by_openblas_threads(tokens, num_layers, n_threads, B, fake_threads,
                                          passes_seen, monkeypatch, rng):
    T, D, H, O = 5, 6, 8, 4
    kw = dict(num_layers=num_layers, dtype=F32, seed=7)
    model, ref = LSTM(D, H, O, **kw), LSTM(D, H, O, path="reference", **kw)
    x, y = inputs(rng, T, B, D, O, tokens)
    h0 = tuple(s if num_layers > 1 else s[0] for s in states(rng, num_layers, B, H))
    fake_threads(n_threads)
    a, fa = model.backward(x, y, h0), model.forward(x, h0)
    k = min(n_threads, B // slices.MIN_COLUMNS)
    assert passes_seen == [[k] * num_layers] * 2
    monkeypatch.setenv("BPTT_SLICES", "0")
    b, fb = model.backward(x, y, h0), model.forward(x, h0)
    assert passes_seen[2:] == [[0] * num_layers] * 2
    assert_same_backward(a, b)
    assert_same_forward(fa, fb)
    assert_same_backward(a, ref.backward(x, y, h0))               # the per-step loop, float32
    assert_same_forward(fa, ref.forward(x, h0))


def test_training_steps_sliced_and_not_agree(fake_threads, passes_seen, monkeypatch, rng):
    """Three Adam steps on two copies of a model, sliced and not: the same losses and weights.
    eps = 1e-4: Adam's steps are ± lr for any gradient entry above eps, so with the default 1e-8
    an entry of ≈ 1e-7 would turn float32 round-off into a step of lr."""
    T, B, D, H, O = 8, 16, 10, 12, 10
    models = [LSTM(D, H, O, num_layers=2, dtype=F32, seed=1) for _ in range(2)]
    opts = [Adam(lr=1e-2, eps=1e-4), Adam(lr=1e-2, eps=1e-4)]
    x, y = inputs(rng, T, B, D, O, True)
    fake_threads(2)
    losses = [[], []]
    for _ in range(3):
        for m, (model, opt) in enumerate(zip(models, opts)):
            monkeypatch.setenv("BPTT_SLICES", "1" if m == 0 else "0")
            r = model.backward(x, y)
            losses[m].append(r.loss)
            opt.step(model.params, r.grads)
    assert [s[0] for s in passes_seen] == [2, 0] * 3
    np.testing.assert_allclose(losses[0], losses[1], rtol=TOL)
    assert losses[0][2] < losses[0][0]
    for key, p in models[1].params.items():
        assert close(models[0].params[key], p, 1e-5), key


@pytest.mark.parametrize("lengths", [None, [5, 3, 4, 5, 1, 2, 5, 5, 4, 4, 3, 5, 5, 2, 5, 5, 1]])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_bidirectional_model_slices_too(num_layers, lengths, fake_threads, monkeypatch, rng):
    T, B, D, H, O = 5, 17, 4, 6, 3
    model = LSTM(D, H, O, num_layers=num_layers, bidirectional=True, dtype=F32, seed=2)
    x, y = inputs(rng, T, B, D, O, False)
    h0 = states(rng, 2 * num_layers, B, H)
    seen, layer_forward = [], fused.layer_forward

    def spy(*args, **kwargs):
        lp = layer_forward(*args, **kwargs)
        seen.append(len(lp.slices) if isinstance(lp, slices.SlicedPass) else 0)
        return lp

    monkeypatch.setattr(fused, "layer_forward", spy)
    fake_threads(2)
    a = model.backward(x, y, h0, lengths=lengths)
    assert seen == [2] * (2 * num_layers)                         # both directions, every layer
    monkeypatch.setenv("BPTT_SLICES", "0")
    b = model.backward(x, y, h0, lengths=lengths)
    assert seen[2 * num_layers:] == [0] * (2 * num_layers)
    assert_same_backward(a, b, steps=(), dtype=F32)               # only last_state is defined


def test_openblas_thread_count_is_the_same_after_a_sliced_pass(passes_seen, monkeypatch, rng):
    """With 2 real OpenBLAS threads (threadpoolctl), a model pass slices by itself and leaves
    the count at 2; a forced 3-slice pass through fused too."""
    monkeypatch.setattr(slices, "MIN_FLOPS", 0)                     # this pass is tiny
    T, B, D, H, O = 4, 16, 5, 6, 3
    model = LSTM(D, H, O, num_layers=2, dtype=F32, seed=0)
    x, y = inputs(rng, T, B, D, O, False)
    with threadpool_limits(limits=2, user_api="blas"):
        model.backward(x, y)
        assert passes_seen == [[2, 2]]
        assert cblas.threads() == 2
        h0, c0 = states(rng, 2, B, H)
        run_fused(model, x, y, h0, c0, 3)
        assert cblas.threads() == 2 and cblas._held[0] == 0


# -- slices.count ---------------------------------------------------------------------------------
def layer(dtype=F32, peepholes=False):
    return fused.fuse(LSTM(3, 4, 2, dtype=dtype, peepholes=peepholes).params, 0)


def ids(B):
    return np.zeros((5, B), dtype=np.intp)


def test_count_is_zero_off_its_conditions(fake_threads, monkeypatch):
    fake_threads(2)
    fl, x = layer(), ids(32)
    assert slices.count(x, fl, True) == 2                          # the conditions all met
    for forced in (None, 2):
        assert slices.count(x, layer(np.float64), True, forced) == 0          # float64
        assert slices.count(x, fl, False, forced) == 0                        # no kernels
    peep = layer(peepholes=True)
    assert slices.count(x, peep, fused.use_kernels(None, peep)) == 0          # peepholes
    y0 = np.zeros((32, 4), dtype=F32)
    assert isinstance(fused.layer_forward(x, y0, y0, peep, slices=2), fused.LayerPass)
    assert isinstance(fused.layer_forward(x, y0, y0, fl, slices=2), slices.SlicedPass)
    assert isinstance(fused.layer_forward(x, y0, y0, fl, numba=False, slices=2), fused.LayerPass)
    assert slices.count(x, fl, True, 0) == 0                                  # slices=0
    M = slices.MIN_COLUMNS
    assert slices.count(ids(2 * M - 1), fl, True) == 0                        # B < 2 slices' worth
    assert slices.count(ids(2 * M), fl, True) == 2
    monkeypatch.setenv("BPTT_SLICES", "0")
    assert slices.count(x, fl, True) == 0                                     # auto off
    assert slices.count(x, fl, True, 2) == 2                                  # forcing still works
    monkeypatch.delenv("BPTT_SLICES")
    fake_threads(1)
    assert slices.count(ids(64), fl, True) == 1 == slices.count(ids(2), fl, True)   # one thread:
    assert slices.count(ids(64), fl, True, 0) == 0                            # one slice
    fake_threads(2)
    monkeypatch.setattr(cblas, "AVAILABLE", False)
    assert slices.count(x, fl, True) == slices.count(x, fl, True, 2) == 0     # no OpenBLAS


M = slices.MIN_COLUMNS


@pytest.mark.parametrize("n_threads, B, forced, expected", [
    (3, 3 * M, None, 3), (3, 3 * M - 1, None, 2), (8, 5 * M, None, 5), (4, 200, None, 4),
    (2, 64, None, 2), (3, 2 * M - 1, None, 0), (16, 32, None, 32 // M),
    (1, 64, 1, 1), (1, 7, 3, 3), (2, 4, 9, 4), (2, 1, 5, 1), (2, 32, 3, 3)])
def test_count_follows_threads_and_batch_or_the_forced_value(n_threads, B, forced, expected,
                                                             fake_threads):
    fake_threads(n_threads)
    assert slices.count(ids(B), layer(), True, forced) == expected


def test_passes_too_small_for_threads_run_one_slice(fake_threads, monkeypatch):
    """Slicing over threads needs MIN_FLOPS of GEMM work in the pass (2·T·B·4H·(H+1)·3), below
    it one slice runs on the calling thread; forcing needs neither. From MIN_FLOPS on, a batch
    too small for two slices keeps OpenBLAS's threads (the fused loop)."""
    fake_threads(2)
    monkeypatch.setattr(slices, "MIN_FLOPS", 2 * 5 * 32 * 16 * 5 * 3)   # T=5, B=32, H=4: enough
    x = np.zeros((5, 32), dtype=np.intp)
    assert slices.count(x, layer(), True) == 2
    assert slices.count(x[:4], layer(), True) == 1                # one step fewer: too small
    assert slices.count(x[:4], layer(), True, 2) == 2
    monkeypatch.setattr(slices, "MIN_FLOPS", 2 * 5 * 7 * 16 * 5 * 3)    # T=5, B=7: enough
    assert slices.count(x[:, :7], layer(), True) == 0             # but one slice's worth of batch


# -- a large vocabulary: ∂J/∂W after the join ----------------------------------------------------
@pytest.mark.parametrize("D, scattered", [(12, True), (13, False)])      # 2·12 <= 24 < 2·13
def test_token_gradient_of_a_large_vocabulary_is_summed_after_the_join(D, scattered, monkeypatch,
                                                                        rng):
    """k slices would each hold a (D, 4H) ∂J/∂Wᵀ: from k·D > T·B the slices do not scatter, and
    ∂J/∂W is one scatter over all positions' rows after the join (k·D·4H floats could be far
    more than the pass: 8 slices of a 50k-word vocabulary at H 256 are 1.6 GB)."""
    T, B, H, O = 3, 8, 5, 4
    model = LSTM(D, H, O, dtype=F32, seed=4)
    x, y = inputs(rng, T, B, D, O, True)
    h0, c0 = states(rng, 1, B, H)
    calls, after_join = [], fused.token_weight_gradient
    monkeypatch.setattr(fused, "token_weight_gradient",
                        lambda *a: calls.append(1) or after_join(*a))
    sliced = run_fused(model, x, y, h0, c0, 2)
    assert sliced.n_slices == [2] and len(calls) == (0 if scattered else 1)
    assert_same_pass(sliced, run_fused(model, x, y, h0, c0, 0))
