"""The GRU's fused fast path equals its per-step reference path (both reset placements, stacked,
token ids and floats, float64 and float32) and through its size-dependent branches."""
import numpy as np
import pytest

from bptt.cells.gru import fused as gru_fused
from bptt.cells.gru.model import GRU
from bptt.cells import fastpath
from gru_problem import make_gru_problem


def assert_fast_equals_reference(rng, T, B, D, H, O, *, output="softmax", num_layers=1,
                                 reset="after", tokens=False, dtype="float64", tol=1e-12):
    kw = dict(num_layers=num_layers, reset=reset, output=output, dtype=dtype, seed=4)
    fast, ref = GRU(D, H, O, **kw), GRU(D, H, O, path="reference", **kw)
    x, y, h0, m = make_gru_problem(rng, T, B, D, H, O, num_layers, output=output, tokens=tokens,
                                   mask=True)
    a, b = fast.backward(x, y, h0=h0, mask=m), ref.backward(x, y, h0=h0, mask=m)
    assert abs(a.loss - b.loss) <= tol * abs(b.loss)
    assert list(a.grads) == list(b.grads) == list(fast.params)
    for k in fast.params:
        assert a.grads[k].dtype == np.dtype(dtype) and a.grads[k].shape == fast.params[k].shape
        assert np.abs(a.grads[k] - b.grads[k]).max() <= tol * np.abs(b.grads[k]).max(), k
    assert a.dh0.shape == np.shape(h0) and a.dh0.dtype == np.dtype(dtype)
    assert np.abs(a.dh0 - b.dh0).max() <= tol * np.abs(b.dh0).max()
    if tokens:
        assert a.dx is None and b.dx is None
    else:
        assert a.dx.dtype == np.dtype(dtype)
        assert np.abs(a.dx - b.dx).max() <= tol * np.abs(b.dx).max()
    for t in (0, T - 1):
        assert a.state(t).shape == np.shape(h0)
        assert np.abs(a.state(t) - b.state(t)).max() <= tol
    fa, fb = fast.forward(x, h0), ref.forward(x, h0)
    for attr in ("h", "o", "y_hat", "h_last"):
        assert getattr(fa, attr).dtype == np.dtype(dtype)
        assert np.abs(getattr(fa, attr) - getattr(fb, attr)).max() <= tol * 10, attr
    for layer in range(num_layers):
        for g in ("h", "r", "z", "n"):
            assert fa.layers[layer][g].shape == (T, B, H)
            assert np.abs(fa.layers[layer][g] - fb.layers[layer][g]).max() <= tol * 10, (layer, g)
    assert all(fa.gates[g] is fa.layers[-1][g] for g in ("r", "z", "n"))
    return fast, x, y, h0, m


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 2e-5)])
@pytest.mark.parametrize("tokens", [False, True])
@pytest.mark.parametrize("reset", ["after", "before"])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("output", ["softmax", "identity"])
def test_fast_equals_reference(output, num_layers, reset, tokens, dtype, tol, rng):
    assert_fast_equals_reference(rng, 9, 4, 5, 6, 3, output=output, num_layers=num_layers,
                                 reset=reset, tokens=tokens, dtype=dtype, tol=tol)


@pytest.mark.parametrize("reset", ["after", "before"])
def test_float32_fast_path_is_close_to_float64(reset, rng):
    """float32 works: the float32 fast path is within float32 rounding of the float64 numbers."""
    T, B, D, H, O = 12, 4, 7, 16, 5
    m32, m64 = (GRU(D, H, O, num_layers=2, reset=reset, dtype=dt, seed=8) for dt in ("float32", "float64"))
    x, y, h0, m = make_gru_problem(rng, T, B, D, H, O, 2, tokens=True, mask=True)
    a, b = m32.backward(x, y, h0, m), m64.backward(x, y, h0, m)
    assert abs(a.loss - b.loss) <= 1e-5 * b.loss
    for k in m64.params:
        assert a.grads[k].dtype == np.float32
        assert np.abs(a.grads[k] - b.grads[k]).max() <= 1e-4 * np.abs(b.grads[k]).max(), k


@pytest.mark.parametrize("reset", ["after", "before"])
@pytest.mark.parametrize("T, B", [(5, 3), (40, 9)])
def test_token_gradient_both_segment_sums(T, B, reset, rng):
    """∂J/∂U for token ids: np.add.reduceat up to 256 positions, one reduce per id above."""
    assert_fast_equals_reference(rng, T, B, 11, 5, 4, reset=reset, tokens=True, num_layers=2)


@pytest.mark.parametrize("reset, bound", [("after", 1100), ("before", 500)])
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 2e-5)])
def test_per_step_products_in_row_blocks(dtype, tol, reset, bound, monkeypatch, rng,
                                         small_kernels):
    """Split into row blocks under SMALL_GEMM, the same numbers. H=16, B=2: "after" splits its
    (48, 17) and (16, 48) products; "before" its (32, 16) and (16, 16) W_n products."""
    monkeypatch.setattr(fastpath, "SMALL_GEMM", bound)
    monkeypatch.setattr(fastpath, "_openblas_single_threaded", lambda: True)
    fl = gru_fused.fuse(GRU(3, 16, 2, reset=reset, dtype=dtype).params, 0)
    assert len(gru_fused._row_slices(fl.Rs, 2, 16)) > 1
    if reset == "after":
        assert len(fastpath.row_blocks(fl.RT, np.empty((16, 2)), 2)) > 1
    else:
        assert len(gru_fused._row_slices(fl.Wn, 2, 0)) > 1
        assert len(fastpath.row_blocks(fl.WnT, np.empty((16, 2)), 2)) > 1
    assert_fast_equals_reference(rng, 6, 2, 3, 16, 2, num_layers=2, reset=reset, dtype=dtype, tol=tol)


def test_token_ids_equal_one_hot_floats(rng):
    """Token ids are the one-hot inputs, without building them."""
    for reset in ("after", "before"):
        model = GRU(6, 4, 3, num_layers=2, reset=reset, seed=0)
        ids = rng.integers(0, 6, size=(5, 3))
        y = rng.integers(0, 3, size=(5, 3))
        (la, ga), (lb, gb) = model.loss_and_grads(ids, y), model.loss_and_grads(np.eye(6)[ids], y)
        assert abs(la - lb) < 1e-14
        for k in ga:
            np.testing.assert_allclose(ga[k], gb[k], rtol=0, atol=1e-14)


def test_repeated_ids_sum_their_gradients(rng):
    """Every step and sequence reading the same id adds into the same columns of U_*."""
    model = GRU(4, 3, 2, seed=1)
    ids = np.full((6, 5), 2)
    y = rng.integers(0, 2, size=(6, 5))
    res = model.backward(ids, y)
    ref = GRU(4, 3, 2, seed=1, path="reference").backward(ids, y)
    for g in ("U_r", "U_z", "U_n"):
        assert np.all(res.grads[g][:, [0, 1, 3]] == 0) and np.any(res.grads[g][:, 2] != 0)
        np.testing.assert_allclose(res.grads[g], ref.grads[g], rtol=0, atol=1e-14)


def test_float32_saturated_gates_stay_finite():
    """σ(a) = ½ tanh(½a) + ½ has no exp to overflow: huge pre-activations saturate cleanly."""
    model = GRU(2, 3, 2, dtype="float32", seed=0)
    out = model.forward(np.full((3, 1, 2), 1e30, dtype=np.float32))
    assert np.isfinite(out.h).all() and set(np.unique(out.gates["z"])) <= {0.0, 1.0}


@pytest.mark.parametrize("reset", ["after", "before"])
@pytest.mark.parametrize("path", ["fast", "reference"])
def test_state_carries_across_calls(path, reset, rng):
    """forward(x[:k]) then forward(x[k:], h0=last_state) equals forward(x) — no hidden counters."""
    model = GRU(3, 4, 2, num_layers=2, reset=reset, seed=2, path=path)
    x = rng.normal(size=(8, 2, 3))
    whole = model.forward(x)
    first = model.forward(x[:3])
    second = model.forward(x[3:], h0=first.last_state)
    np.testing.assert_allclose(np.concatenate([first.h, second.h]), whole.h, rtol=0, atol=1e-15)
    np.testing.assert_allclose(second.h_last, whole.h_last, rtol=0, atol=1e-15)
    assert whole.h_last.shape == (2, 2, 4)
    res = model.backward(x, rng.integers(0, 2, size=(8, 2)))
    np.testing.assert_allclose(res.state(2), first.h_last, rtol=0, atol=1e-15)
    assert res.h_last is not None and res.last_state.shape == (2, 2, 4)


def test_params_are_not_touched_and_stay_separate(rng):
    """The fused weights are copies: a pass leaves params bitwise as they were, and an in-place
    update of a separate parameter takes effect at the next call."""
    for reset, key in (("after", "b_hn.1"), ("before", "W_n.1")):
        model = GRU(3, 4, 2, num_layers=2, reset=reset, seed=3)
        x, y, h0, m = make_gru_problem(rng, 5, 2, 3, 4, 2, 2, mask=True)
        before = {k: p.copy() for k, p in model.params.items()}
        loss = model.backward(x, y, h0, m).loss
        assert all(np.array_equal(before[k], model.params[k]) for k in before)
        model.params[key] += 0.1
        assert model.loss(x, y, h0, m) != loss


@pytest.mark.parametrize("reset", ["after", "before"])
def test_tbptt_full_window_is_full_bptt_and_loss_is_forward_only(reset, rng):
    """TBPTT(T, T) is one window equal to full BPTT; loss() is backward()'s loss."""
    model = GRU(3, 4, 2, num_layers=2, reset=reset, seed=6)
    x, y, h0, m = make_gru_problem(rng, 7, 2, 3, 4, 2, 2, mask=True)
    (window,) = list(model.tbptt(x, y, 7, 7, h0=h0, mask=m))
    res = model.backward(x, y, h0, m)
    assert window.loss == res.loss and model.loss(x, y, h0, m) == pytest.approx(res.loss, rel=1e-14)
    assert all(np.array_equal(window.grads[k], res.grads[k]) for k in res.grads)
    np.testing.assert_array_equal(window.h, res.h_last)
    np.testing.assert_array_equal(window.dh_start, res.dh0)
