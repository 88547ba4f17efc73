"""Gradient clipping: against torch.nn.utils in float64, in place, dtypes, non-finite norms."""
import math

import numpy as np
import pytest

from bptt import clipping, optim

SHAPES = {"U": (4, 3), "W": (4, 4), "b": (4,), "V": (2, 4), "c": (2,)}


def _grads(scale=1.0, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return {k: (scale * rng.normal(size=s)).astype(dtype) for k, s in SHAPES.items()}


def _norm_by_hand(grads):
    """√(Σ_k Σ_i g_k[i]²), summed here in float64 entry by entry (independent of the module)."""
    return math.sqrt(sum(float(v) ** 2 for g in grads.values() for v in np.ravel(g)))


def _torch_grads(grads):
    torch = pytest.importorskip("torch")
    tensors = []
    for g in grads.values():
        t = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        t.grad = torch.tensor(g, dtype=torch.float64)
        tensors.append(t)
    return tensors


def test_reexported_from_optim():
    assert optim.clip_by_norm is clipping.clip_by_norm
    assert optim.clip_by_value is clipping.clip_by_value
    assert optim.global_norm is clipping.global_norm


def test_global_norm_by_hand():
    # √(3² + 4² + 12²) = √169 = 13
    assert clipping.global_norm({"a": np.array([3.0, 4.0]), "b": np.array([[12.0]])}) == 13.0
    assert clipping.global_norm({}) == 0.0


@pytest.mark.parametrize("scale, max_norm", [(1.0, 1.0), (1.0, 100.0), (10.0, 0.5), (1e-3, 1e-4)])
def test_clip_by_norm_matches_torch(scale, max_norm):
    torch = pytest.importorskip("torch")
    grads = _grads(scale)
    tensors = _torch_grads(grads)
    expected_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm).item()
    norm = clipping.clip_by_norm(grads, max_norm)
    assert norm == pytest.approx(expected_norm, rel=1e-14)
    for g, t in zip(grads.values(), tensors):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-14, atol=0)


@pytest.mark.parametrize("limit", [0.1, 0.5, 10.0])
def test_clip_by_value_matches_torch(limit):
    torch = pytest.importorskip("torch")
    grads = _grads()
    before = _norm_by_hand(grads)
    tensors = _torch_grads(grads)
    torch.nn.utils.clip_grad_value_(tensors, limit)
    assert clipping.clip_by_value(grads, limit) == pytest.approx(before, rel=1e-14)
    for g, t in zip(grads.values(), tensors):
        np.testing.assert_array_equal(g, t.grad.numpy())
    assert max(np.abs(g).max() for g in grads.values()) <= limit


def test_clip_by_norm_scales_in_place_and_returns_the_norm_before():
    grads = {"a": np.array([3.0, 4.0])}  # ‖g‖ = 5
    arr = grads["a"]
    assert clipping.clip_by_norm(grads, 1.0) == 5.0
    assert grads["a"] is arr
    np.testing.assert_allclose(arr, [3 / (5 + 1e-6), 4 / (5 + 1e-6)], rtol=1e-15)  # scale = 1/(5 + 1e-6)
    assert _norm_by_hand(grads) == pytest.approx(5 / (5 + 1e-6), rel=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scale, max_norm", [(1.0, 1.0), (10.0, 0.5), (1e-3, 1.0)])
def test_returned_norm_is_the_norm_before_clipping(scale, max_norm, dtype):
    """The norm returned equals √(sum of squares) summed here, before clipping; after clipping
    the gradients' norm is min(‖g‖, max_norm) up to the 1e-6 of the scale."""
    grads = _grads(scale, dtype, seed=3)
    before = _norm_by_hand(grads)
    assert clipping.global_norm(grads) == pytest.approx(before, rel=1e-14)
    assert clipping.clip_by_norm(grads, max_norm) == pytest.approx(before, rel=1e-14)
    after = _norm_by_hand(grads)
    rel = 1e-14 if dtype == np.float64 else 1e-6
    if before > max_norm:
        assert after == pytest.approx(max_norm * before / (before + 1e-6), rel=rel)
    else:
        assert after == pytest.approx(before, rel=1e-14)
    grads = _grads(scale, dtype, seed=4)
    before = _norm_by_hand(grads)
    assert clipping.clip_by_value(grads, 0.1 * scale) == pytest.approx(before, rel=1e-14)


def test_clip_by_norm_leaves_small_gradients_alone():
    grads = _grads()
    before = {k: g.copy() for k, g in grads.items()}
    norm = clipping.clip_by_norm(grads, 1e3)
    assert norm == pytest.approx(_norm_by_hand(before), rel=1e-14)
    for k in grads:
        np.testing.assert_array_equal(grads[k], before[k])


@pytest.mark.parametrize("fn", [clipping.clip_by_norm, clipping.clip_by_value])
def test_float32_stays_float32(fn):
    grads = _grads(10.0, np.float32)
    fn(grads, 0.5)
    assert all(g.dtype == np.float32 for g in grads.values())


def test_float32_norm_does_not_overflow():
    # squares of 1e20 overflow float32, the norm is accumulated in float64
    grads = {"W": np.full((2, 2), 1e20, np.float32)}
    norm = clipping.clip_by_norm(grads, 1.0)
    assert norm == pytest.approx(2e20, rel=1e-6)                 # √(4 · 1e40) = 2e20
    assert _norm_by_hand(grads) == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_norm_is_returned_and_nothing_is_scaled(bad):
    grads = _grads()
    grads["W"][1, 2] = bad
    before = {k: g.copy() for k, g in grads.items()}
    norm = clipping.clip_by_norm(grads, 1.0)
    assert not math.isfinite(norm)
    for k in grads:
        np.testing.assert_array_equal(grads[k], before[k])


def test_clip_by_value_keeps_nan_and_clips_inf():
    grads = {"w": np.array([np.nan, np.inf, -np.inf, 0.5])}
    assert math.isnan(clipping.clip_by_value(grads, 1.0))
    np.testing.assert_array_equal(grads["w"], [np.nan, 1.0, -1.0, 0.5])


@pytest.mark.parametrize("call, exc, match", [
    (lambda: clipping.clip_by_norm(_grads(), 0.0), ValueError, r"The 'max_norm' parameter of clip_by_norm must be a finite number in \(0, inf\]. Got 0.0 instead."),
    (lambda: clipping.clip_by_norm(_grads(), -1), ValueError, r"The 'max_norm' parameter of clip_by_norm .* Got -1"),
    (lambda: clipping.clip_by_norm(_grads(), None), TypeError, r"The 'max_norm' parameter of clip_by_norm must be a real number .* Got None"),
    (lambda: clipping.clip_by_value(_grads(), 0), ValueError, r"The 'limit' parameter of clip_by_value must be a finite number in \(0, inf\]. Got 0"),
    (lambda: clipping.clip_by_value(_grads(), float("inf")), ValueError, r"The 'limit' parameter of clip_by_value .* Got inf"),
    (lambda: clipping.clip_by_norm([np.zeros(2)], 1.0), TypeError, r"The 'grads' argument of clip_by_norm must be a dict of arrays. Got list"),
    (lambda: clipping.clip_by_norm({"w": [1.0, 2.0]}, 1.0), TypeError, r"grads\['w'\] given to clip_by_norm must be a numpy array \(it is clipped in place\). Got list"),
    (lambda: clipping.clip_by_value({"w": np.arange(3)}, 1.0), TypeError, r"grads\['w'\] given to clip_by_value must hold floats. Got dtype int64"),
    (lambda: clipping.global_norm({"w": np.array(["a"])}), TypeError, r"grads\['w'\] given to global_norm must hold floats. Got dtype <U1"),
])
def test_bad_arguments_are_refused(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_global_norm_accepts_lists():
    assert clipping.global_norm({"w": [3.0, 4.0]}) == 5.0
