"""The LSTM's fused fast path equals its per-step reference path, on both of its pointwise paths
(NumPy ufuncs, and the kernels of `bptt.cells.lstm.kernels`) and through its size-dependent branches."""
import numpy as np
import pytest

from bptt.cells import cblas, fastpath, slicing
from bptt.cells.lstm import fused as lstm_fused
from bptt.cells.lstm import kernels as lstm_kernels
from bptt.cells.lstm.model import LSTM
from conftest import make_lstm_problem


@pytest.fixture(params=["numpy", "kernels"])
def pointwise(request, monkeypatch):
    """The fast path's per-step pointwise work: NumPy ufuncs, or the kernels of bptt.cells.lstm.kernels
    (numba-compiled when numba is installed, run as plain Python otherwise: same numbers)."""
    monkeypatch.setattr(lstm_kernels, "AVAILABLE", request.param == "kernels")
    return request.param


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 2e-5)])
@pytest.mark.parametrize("tokens", [False, True])
@pytest.mark.parametrize("peepholes", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("output", ["softmax", "identity"])
def test_fast_equals_reference(output, num_layers, peepholes, tokens, dtype, tol, pointwise, rng):
    assert_fast_equals_reference(rng, 9, 4, 5, 6, 3, output=output, num_layers=num_layers,
                                 peepholes=peepholes, tokens=tokens, dtype=dtype, tol=tol)


def assert_fast_equals_reference(rng, T, B, D, H, O, *, output, num_layers, peepholes, tokens,
                                 dtype, tol):
    kw = dict(num_layers=num_layers, peepholes=peepholes, output=output, dtype=dtype, seed=4)
    fast, ref = LSTM(D, H, O, **kw), LSTM(D, H, O, path="reference", **kw)
    x, y, h0, m = make_lstm_problem(rng, T, B, D, H, O, num_layers, output=output, tokens=tokens,
                                    mask=True)
    a, b = fast.backward(x, y, h0=h0, mask=m), ref.backward(x, y, h0=h0, mask=m)
    assert abs(a.loss - b.loss) <= tol * abs(b.loss)
    for k in fast.params:
        assert a.grads[k].dtype == np.dtype(dtype) and a.grads[k].shape == fast.params[k].shape
        assert np.abs(a.grads[k] - b.grads[k]).max() <= tol * np.abs(b.grads[k]).max(), k
    for da, db in zip(a.dh0, b.dh0):
        assert np.abs(da - db).max() <= tol * np.abs(db).max()
    if tokens:
        assert a.dx is None and b.dx is None
    else:
        assert np.abs(a.dx - b.dx).max() <= tol * np.abs(b.dx).max()
    for t in (0, T - 1):
        for sa, sb in zip(a.state(t), b.state(t)):
            assert np.abs(sa - sb).max() <= tol
    fa, fb = fast.forward(x, h0), ref.forward(x, h0)
    for attr in ("h", "c", "o", "y_hat", "h_last", "c_last"):
        assert np.abs(getattr(fa, attr) - getattr(fb, attr)).max() <= tol * 10, attr
    for layer in range(num_layers):
        for g in ("h", "c", "z", "i", "f", "o"):
            assert np.abs(fa.layers[layer][g] - fb.layers[layer][g]).max() <= tol * 10, (layer, g)
    assert set(fa.gates) == {"z", "i", "f", "o"}
    assert all(fa.gates[g] is fa.layers[-1][g] for g in fa.gates)
    assert fa.h.dtype == np.dtype(dtype) and fa.gates["f"].shape == (T, B, H)


@pytest.mark.parametrize("tokens", [False, True])
def test_large_vocabulary_segment_sum(tokens, pointwise, monkeypatch, rng):
    """Over ONE_HOT_MAX ids, ∂J/∂W is a sorted segment sum over batch-major rows of ∂J/∂ĝ."""
    monkeypatch.setattr(lstm_fused, "ONE_HOT_MAX", 3)
    assert_fast_equals_reference(rng, 7, 5, 9, 4, 3, output="softmax", num_layers=2,
                                 peepholes=False, tokens=tokens, dtype="float64", tol=1e-12)


@pytest.mark.parametrize("peepholes", [False, True])
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 2e-5)])
def test_per_step_products_in_row_blocks(dtype, tol, peepholes, pointwise, monkeypatch, rng,
                                         small_kernels):
    """Split into row blocks under SMALL_GEMM (here both per-step products), the same numbers."""
    monkeypatch.setattr(fastpath, "SMALL_GEMM", 1100)     # H=16, B=2: blocks of 32 and 8 rows
    monkeypatch.setattr(fastpath, "_openblas_single_threaded", lambda: True)
    fl = lstm_fused.fuse(LSTM(3, 16, 2, dtype=dtype).params, 0)
    assert len(fastpath.row_blocks(fl.Rbs, np.empty((64, 2)), 2)) == 2
    assert len(fastpath.row_blocks(lstm_fused.recurrent_transpose(fl), np.empty((16, 2)), 2)) == 2
    assert_fast_equals_reference(rng, 6, 2, 3, 16, 2, output="softmax", num_layers=2,
                                 peepholes=peepholes, tokens=False, dtype=dtype, tol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_recurrent_transpose_is_R_transposed_exactly(dtype):
    """Rᵀ rebuilt from the fused [R | b] with its i, f, o rows halved: bit for bit the
    parameters' [R_z; R_i; R_f; R_o]ᵀ (doubling a halved float is exact)."""
    model = LSTM(3, 5, 2, dtype=dtype, seed=7)
    R = np.concatenate([model.params[f"R_{g}"] for g in "zifo"])
    RT = lstm_fused.recurrent_transpose(lstm_fused.fuse(model.params, 0))
    assert RT.dtype == np.dtype(dtype) and RT.flags.c_contiguous
    assert np.array_equal(RT, R.T)


@pytest.mark.parametrize("M, K, N", [(1024, 257, 32), (256, 1024, 32), (2048, 513, 64),
                                     (24, 7, 4), (400, 100, 1)])
def test_row_blocks_tile_the_rows_under_the_bound(M, K, N):
    A, out = np.zeros((M, K)), np.zeros((M, N))
    assert len(fastpath.row_blocks(A, out, N, split=False)) == 1
    blocks = fastpath.row_blocks(A, out, N, split=True)
    rows = [b.shape[0] for b, _ in blocks]
    assert sum(rows) == M and all(o.shape == (b.shape[0], N) for b, o in blocks)
    assert np.shares_memory(blocks[0][0], A) and np.shares_memory(blocks[-1][1], out)
    if len(blocks) > 1:
        assert all(r * K * N <= fastpath.SMALL_GEMM for r in rows)
        assert all(r % 8 == 0 for r in rows[:-1])


def test_products_split_only_on_one_openblas_thread(small_kernels):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    blas = threadpoolctl.threadpool_info()
    if not any(lib["internal_api"] == "openblas" for lib in blas):
        pytest.skip(f"numpy's BLAS is not OpenBLAS: {blas}")
    A, out = np.zeros((1024, 257)), np.zeros((1024, 32))
    with threadpoolctl.threadpool_limits(1):
        assert len(fastpath.row_blocks(A, out, 32)) == 9
    with threadpoolctl.threadpool_limits(2):
        assert len(fastpath.row_blocks(A, out, 32)) == 1


def test_products_whole_without_small_matrix_kernels(monkeypatch):
    """Where OpenBLAS has no small-matrix kernels every call packs: one call per product, even on
    one thread (`bptt.cells.fastpath.SMALL_GEMM`)."""
    from threadpoolctl import threadpool_limits
    monkeypatch.setattr(cblas, "SMALL_KERNELS", False)
    A, out = np.zeros((1024, 257)), np.zeros((1024, 32))
    with threadpool_limits(1):
        assert len(fastpath.row_blocks(A, out, 32)) == 1
    assert slicing.rows(1024, 257, 32) == 1024
    monkeypatch.setattr(cblas, "SMALL_KERNELS", True)
    assert slicing.rows(1024, 257, 32) == 120                # 120·257·32 <= 10⁶


def test_token_ids_equal_one_hot_floats(pointwise, rng):
    """Token ids are the one-hot inputs, without building them."""
    model = LSTM(6, 4, 3, num_layers=2, peepholes=True, seed=0)
    ids = rng.integers(0, 6, size=(5, 3))
    y = rng.integers(0, 3, size=(5, 3))
    (la, ga), (lb, gb) = model.loss_and_grads(ids, y), model.loss_and_grads(np.eye(6)[ids], y)
    assert abs(la - lb) < 1e-14
    for k in ga:
        np.testing.assert_allclose(ga[k], gb[k], rtol=0, atol=1e-14)


def test_repeated_ids_sum_their_gradients(pointwise, rng):
    """Every step and sequence reading the same id adds into the same columns of W_*."""
    model = LSTM(4, 3, 2, seed=1)
    ids = np.full((6, 5), 2)
    y = rng.integers(0, 2, size=(6, 5))
    res = model.backward(ids, y)
    ref = LSTM(4, 3, 2, seed=1, path="reference").backward(ids, y)
    for g in ("W_z", "W_i", "W_f", "W_o"):
        assert np.all(res.grads[g][:, [0, 1, 3]] == 0)
        np.testing.assert_allclose(res.grads[g], ref.grads[g], rtol=0, atol=1e-14)


def test_float32_model_keeps_float32(rng):
    model = LSTM(3, 4, 2, num_layers=2, peepholes=True, dtype="float32")
    x, y, h0, _ = make_lstm_problem(rng, 4, 2, 3, 4, 2, 2)
    out = model.forward(x, h0)
    assert out.h.dtype == np.float32 and out.y_hat.dtype == np.float32
    assert out.h_last.dtype == np.float32 and out.c_last.dtype == np.float32
    res = model.backward(x, y, h0)
    assert all(g.dtype == np.float32 for g in res.grads.values())
    assert all(d.dtype == np.float32 for d in res.dh0) and res.dx.dtype == np.float32


def test_float32_saturated_gates_stay_finite():
    """σ(a) = ½ tanh(½a) + ½ has no exp to overflow: huge pre-activations saturate cleanly."""
    model = LSTM(2, 3, 2, dtype="float32", seed=0)
    x = np.full((3, 1, 2), 1e30, dtype=np.float32)
    out = model.forward(x)
    assert np.isfinite(out.h).all() and np.isfinite(out.gates["i"]).all()
    assert set(np.unique(out.gates["i"])) <= {0.0, 1.0}


@pytest.mark.parametrize("path", ["fast", "reference"])
def test_state_carries_across_calls(path, pointwise, rng):
    """forward(x[:k]) then forward(x[k:], h0=last_state) equals forward(x) — no hidden counters."""
    model = LSTM(3, 4, 2, num_layers=2, peepholes=True, seed=2, path=path)
    x = rng.normal(size=(8, 2, 3))
    whole = model.forward(x)
    first = model.forward(x[:3])
    second = model.forward(x[3:], h0=first.last_state)
    np.testing.assert_allclose(np.concatenate([first.h, second.h]), whole.h, rtol=0, atol=1e-15)
    np.testing.assert_allclose(second.c_last, whole.c_last, rtol=0, atol=1e-15)
    assert whole.h_last.shape == whole.c_last.shape == (2, 2, 4)


def test_params_are_not_touched_and_stay_separate(rng):
    """The fused weights are copies: a pass leaves params bitwise as they were, and an in-place
    update of a separate parameter takes effect at the next call."""
    model = LSTM(3, 4, 2, num_layers=2, peepholes=True, seed=3)
    x, y, h0, m = make_lstm_problem(rng, 5, 2, 3, 4, 2, 2, mask=True)
    before = {k: p.copy() for k, p in model.params.items()}
    loss = model.backward(x, y, h0, m).loss
    assert all(np.array_equal(before[k], model.params[k]) for k in before)
    model.params["R_f.1"] += 0.1
    assert model.loss(x, y, h0, m) != loss


@pytest.mark.parametrize("numba", [False, True])
def test_unknown_token_ids_are_refused_on_both_paths(numba, monkeypatch):
    """The per-step look-ups read the table unchecked (np.take mode="wrap", or the kernel), so
    the ids are checked once before the loop."""
    monkeypatch.setattr(lstm_kernels, "AVAILABLE", True)
    fl = lstm_fused.fuse(LSTM(4, 3, 2).params, 0)
    state = np.zeros((2, 3))
    for bad in ([[0, 4]], [[-1, 2]]):
        with pytest.raises(IndexError, match=r"\[0, 4\)"):
            lstm_fused.layer_forward(np.array(bad), state, state, fl, numba=numba)


@pytest.mark.parametrize("id_dtype", [np.uint8, np.int32, np.int64])
def test_joint_token_gradients_equal_the_three_products(id_dtype, rng):
    """dG [Y_prev | 1 | onehot(ids)] is ∂J/∂R, ∂J/∂b and ∂J/∂W of three separate sums (H + 1 + id
    overflows uint8 here: the column index is computed in intp)."""
    T, B, H, D = 4, 3, 254, 7
    dG, Ys = rng.normal(size=(4 * H, T * B)), rng.normal(size=(T + 1, B, H))
    ids = rng.integers(0, D, size=(T, B)).astype(id_dtype)
    dR, db, dW = lstm_fused.joint_token_gradients(ids, dG, Ys, D)
    onehot = np.eye(D)[ids.reshape(-1)]
    for got, want in [(dR, dG @ Ys[:-1].reshape(-1, H)), (db, dG.sum(axis=1)), (dW, dG @ onehot)]:
        assert got.flags.c_contiguous and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("tokens", [False, True])
def test_feature_major_errors_give_the_same_numbers(tokens, pointwise, rng):
    """layer_backward reads the outside errors (T, B, H) or, feature_major, (T, H, B): bit for
    bit the same pass."""
    T, B, D, H = 5, 3, 4, 6
    fl = lstm_fused.fuse(LSTM(D, H, 2, seed=5).params, 0)
    x = rng.integers(0, D, size=(T, B)) if tokens else rng.normal(size=(T, B, D))
    y0, c0, dY = rng.normal(size=(B, H)), rng.normal(size=(B, H)), rng.normal(size=(T, B, H))
    runs = []
    for fm in (False, True):
        lp = lstm_fused.layer_forward(x, y0, c0, fl)
        d = np.ascontiguousarray(dY.transpose(0, 2, 1)) if fm else dY
        dG, dy0, dc0, grads = lstm_fused.layer_backward(d, lp, feature_major=fm)
        runs.append((dG, dy0, dc0, grads))
    (a, b) = runs
    assert all(np.array_equal(u, v) for u, v in zip(a[:3], b[:3]))
    assert all(np.array_equal(a[3][k], b[3][k]) for k in a[3])
