"""bptt.cells.head.head_backward: the output layer and the loss over bands of positions on bptt's
threads equal the one-thread computation (o = c + V y, loss_and_error, Vᵀ∂J/∂o, ∂J/∂V, ∂J/∂c),
and float64 finite differences; a sliced LSTM uses it, and a pooled loss keeps the one-thread head."""
import numpy as np
import pytest

from bptt.cells import threads
from bptt.cells.head import head_backward
from bptt.cells.lstm import fused, pipeline, slices
from bptt.cells.lstm.model import LSTM
from bptt.nn.losses import loss_and_error


def reference(Y, V, c, output, y, weight):
    o = Y @ V.T + c
    J, _, do = loss_and_error(output, o, y, weight)
    T, B, O = do.shape
    return J, do @ V, do.reshape(T * B, O).T @ Y.reshape(T * B, -1), do.sum(axis=(0, 1))


@pytest.mark.parametrize("k", [1, 2, 3, 7])
@pytest.mark.parametrize("output", ["softmax", "identity"])
def test_bands_equal_the_whole(k, output, rng):
    T, B, H, O = 5, 3, 4, 6                                       # N = 15: bands of 15 // k rows
    Y, V, c = rng.normal(size=(T, B, H)), rng.normal(size=(O, H)), rng.normal(size=O)
    y = rng.integers(0, O, size=(T, B)) if output == "softmax" else rng.normal(size=(T, B, O))
    weight = (rng.random((T, B)) < 0.7) / B                       # a mask with zeros, over B
    got, want = head_backward(Y, V, c, output, y, weight, k), reference(Y, V, c, output, y, weight)
    assert got[0] == pytest.approx(want[0], rel=1e-13)
    for a, b in zip(got[1:], want[1:]):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_finite_differences_of_V_and_c(rng):
    T, B, H, O = 3, 2, 3, 4
    Y, V, c = rng.normal(size=(T, B, H)), rng.normal(size=(O, H)), rng.normal(size=O)
    y, weight = rng.integers(0, O, size=(T, B)), np.full((T, B), 0.5)
    _, _, dV, dc = head_backward(Y, V, c, "softmax", y, weight, 2)
    J = lambda V_, c_: head_backward(Y, V_, c_, "softmax", y, weight, 2)[0]   # noqa: E731
    eps = 1e-6
    for (i, j) in [(0, 0), (3, 2), (1, 1)]:
        Vp, Vm = V.copy(), V.copy()
        Vp[i, j] += eps
        Vm[i, j] -= eps
        assert dV[i, j] == pytest.approx((J(Vp, c) - J(Vm, c)) / (2 * eps), rel=1e-6, abs=1e-9)
    cp, cm = c.copy(), c.copy()
    cp[2] += eps
    cm[2] -= eps
    assert dc[2] == pytest.approx((J(V, cp) - J(V, cm)) / (2 * eps), rel=1e-6, abs=1e-9)


def test_float32_stays_float32(rng):
    T, B, H, O = 4, 4, 5, 3
    f = lambda *s: rng.normal(size=s).astype(np.float32)          # noqa: E731
    J, dY, dV, dc = head_backward(f(T, B, H), f(O, H), f(O), "softmax", rng.integers(0, O, (T, B)),
                                  np.full((T, B), 0.25, np.float32), 3)
    assert dY.dtype == dV.dtype == dc.dtype == np.float32 and isinstance(J, float)


@pytest.fixture
def sliced_by_itself(monkeypatch):
    """cblas says 2 threads and every pass is big enough: a float32 LSTM slices by itself."""
    from bptt.cells import cblas
    real = cblas._get_threads()
    monkeypatch.setattr(cblas, "threads", lambda: 2)
    monkeypatch.setattr(slices, "MIN_FLOPS", 0)
    monkeypatch.setattr(threads, "MIN_SPLIT_FLOPS", 0)
    heads = []                                                     # ("bands", k) or ("slices", k)
    original, in_jobs = fused.head_backward, pipeline.in_jobs

    def spy(*args):
        heads.append(("bands", args[-1]))
        return original(*args)

    def spy_pipeline(*args):
        heads.append(("slices", args[-2]))
        return in_jobs(*args)

    monkeypatch.setattr(fused, "head_backward", spy)
    monkeypatch.setattr(pipeline, "in_jobs", spy_pipeline)
    yield heads
    cblas._set_threads(real)


@pytest.mark.parametrize("output, head", [("softmax", "slices"), ("identity", "bands")])
def test_a_sliced_lstm_runs_its_head_in_bands_or_slices(output, head, sliced_by_itself,
                                                        monkeypatch, rng):
    """A softmax head runs in each slice's job (`bptt.cells.lstm.pipeline`), other heads in
    bands of positions between the layers' forward and their BPTT."""
    T, B, D, H, O = 6, 16, 5, 7, 4
    model = LSTM(D, H, O, dtype=np.float32, output=output, num_layers=2, seed=3)
    x = rng.integers(0, D, size=(T, B))
    y = rng.integers(0, O, size=(T, B)) if output == "softmax" else rng.normal(size=(T, B, O)).astype(np.float32)
    mask = (rng.random((T, B)) < 0.8).astype(np.float32)
    a = model.backward(x, y, mask=mask)
    assert sliced_by_itself == [(head, 2)]                         # in 2 bands or 2 slices
    monkeypatch.setenv("BPTT_SLICES", "0")
    b = model.backward(x, y, mask=mask)
    assert sliced_by_itself == [(head, 2)]                         # not again: the fused loop
    assert a.loss == pytest.approx(b.loss, rel=2e-6)
    for name, g in b.grads.items():
        assert a.grads[name].dtype == np.float32
        assert np.abs(a.grads[name] - g).max() <= 2e-5 * np.abs(g).max(), name


def test_a_pooled_loss_keeps_the_one_thread_head(sliced_by_itself, monkeypatch, rng):
    T, B, D, H, O = 5, 16, 4, 6, 3
    model = LSTM(D, H, O, dtype=np.float32, seed=1)
    x, y = rng.integers(0, D, size=(T, B)), rng.integers(0, O, size=B)
    a = model.backward(x, y, pooling="mean")
    assert sliced_by_itself == []                                  # sliced layers, one-thread head
    monkeypatch.setenv("BPTT_SLICES", "0")
    b = model.backward(x, y, pooling="mean")
    assert a.loss == pytest.approx(b.loss, rel=2e-6)
    for name, g in b.grads.items():
        assert np.abs(a.grads[name] - g).max() <= 2e-5 * np.abs(g).max(), name


# -- the numba softmax head (`softmax_kernel`, `_softmax_head`, `softmax_band`) -------------------

def reference64(Y, V, c, y, weight):
    """`reference` in float64 from the same (float32) data: the exact answer to the kernel's
    float32 round-off."""
    f = lambda a: np.asarray(a, dtype=np.float64)                 # noqa: E731
    return reference(f(Y), f(V), f(c), "softmax", y, f(weight))


def assert_close32(got, want, rel=2e-5):
    """Float32 against float64: J to `rel`, each array to `rel` of its largest magnitude (float32
    round-off, eps 6e-8, over sums of H and O terms and the ulp of exp32: measured below 1.1e-7)."""
    assert isinstance(got[0], float) and got[0] == pytest.approx(want[0], rel=rel)
    for name, a, b in zip(("dY", "dV", "dc"), got[1:], want[1:]):
        assert a.dtype == np.float32 and a.shape == b.shape, name
        assert np.abs(a - b).max() <= rel * np.abs(b).max(), name


def require_kernel():
    from bptt.cells import cblas, jit
    assert jit.AVAILABLE and cblas.AVAILABLE, (
        "the softmax head's kernel needs numba and NumPy's bundled OpenBLAS (bptt.cells.cblas); "
        "install numba, unset BPTT_NUMBA=0 and BPTT_CBLAS=0")


@pytest.fixture
def kernel_bands(monkeypatch):
    """A spy around head.softmax_band (looked up as a module global by _softmax_head): the
    (r0, r1) of every band it ran; .blocks its block sizes m."""
    from bptt.cells import head
    require_kernel()

    class Seen(list):
        blocks: list

    seen, original = Seen(), head.softmax_band
    seen.blocks = []

    def spy(sgemm, Y, V, c, ids, w, dY, dV, dcm, J, r0, r1, oT):
        seen.append((r0, r1))
        seen.blocks.append(oT.shape[1])
        return original(sgemm, Y, V, c, ids, w, dY, dV, dcm, J, r0, r1, oT)

    monkeypatch.setattr(head, "softmax_band", spy)
    return seen


@pytest.mark.parametrize("small", [True, False])
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("T, B", [(7, 5), (3, 5), (4, 8), (9, 8)])   # N 35, 15 (< a block), 32, 72
def test_softmax_kernel_equals_float64(T, B, k, small, kernel_bands, rng, monkeypatch):
    """N = T·B rows in bands of N // k, blocks of 16 (BLOCK) within a band, or of 64
    (BLOCK_PACKED) where OpenBLAS has no small-matrix kernels; the last one partial."""
    from bptt.cells import cblas, head
    monkeypatch.setattr(cblas, "SMALL_KERNELS", small)
    H, O = 6, 9
    f = lambda *s: rng.normal(size=s).astype(np.float32)          # noqa: E731
    Y, V, c = f(T, B, H), f(O, H), f(O)
    y = rng.integers(0, O, size=(T, B))
    weight = ((rng.random((T, B)) < 0.7) / B).astype(np.float32)  # a mask with zeros, over B
    assert (weight == 0).any() and head.softmax_kernel("softmax", y, V)
    got = head_backward(Y, V, c, "softmax", y, weight, k)
    # the bands run on several threads: recorded in any order
    N = T * B
    assert sorted(kernel_bands) == [(N * s // k, N * (s + 1) // k) for s in range(k)]
    assert set(kernel_bands.blocks) == {head.BLOCK if small else head.BLOCK_PACKED}
    assert_close32(got, reference64(Y, V, c, y, weight))


@pytest.mark.parametrize("k", [1, 3])
def test_softmax_kernel_large_logits(k, kernel_bands, rng):
    """Logits up to ±200 and targets far below the max (e^z underflows in float32 past 87): the
    max-shift keeps everything finite and equal to float64. Integer data, so o = c + V y is exact
    in float32 and only the loss's round-off remains: rel 1e-5."""
    T, B, H, O = 7, 5, 6, 9
    Y = rng.integers(-2, 3, size=(T, B, H)).astype(np.float32)
    V = rng.integers(-30, 31, size=(O, H)).astype(np.float32)
    c = rng.integers(-5, 6, size=O).astype(np.float32)
    o = Y.astype(np.float64) @ V.T.astype(np.float64) + c
    y = np.where(rng.random((T, B)) < 0.5, o.argmin(axis=-1), rng.integers(0, O, size=(T, B)))
    gap = o.max(axis=-1) - np.take_along_axis(o, y[..., None], axis=-1)[..., 0]
    assert np.abs(o).max() >= 150 and (gap > 150).sum() >= 5       # what the test is about
    weight = np.full((T, B), 1 / B, dtype=np.float32)
    got = head_backward(Y, V, c, "softmax", y, weight, k)
    assert kernel_bands and all(np.isfinite(a).all() for a in got[1:])
    want = reference64(Y, V, c, y, weight)
    assert got[0] >= gap.sum() / B                                 # −log ŷ[y] >= max o − o[y]
    assert_close32(got, want, rel=1e-5)


def test_softmax_kernel_target_150_below_the_max(kernel_bands):
    """Hand-worked: one position of weight 1 with logits (100, 0, −50, 30) and target 2:
    −log ŷ[2] = log(e^100 + e^0 + e^−50 + e^30) + 50 = 150 + log(1 + e^−70 + …) = 150 (to 1e-30),
    ŷ ≈ (1, e^−100, e^−150, e^−70), so ∂J/∂o ≈ (1, 0, −1, 0). Two more positions of weight 0."""
    Y = np.array([[[1, 0], [0, 1], [1, 1]]], dtype=np.float32)     # (T, B, H) = (1, 3, 2)
    V = np.array([[100, 0], [0, 1], [-50, 0], [30, 0]], dtype=np.float32)
    c = np.zeros(4, dtype=np.float32)
    y, weight = np.array([[2, 1, 0]]), np.array([[1, 0, 0]], dtype=np.float32)
    J, dY, dV, dc = got = head_backward(Y, V, c, "softmax", y, weight, 1)
    assert kernel_bands == [(0, 3)]
    assert J == pytest.approx(150, rel=1e-7)
    np.testing.assert_allclose(dc, [1, 0, -1, 0], atol=1e-7)
    np.testing.assert_allclose(dY[0, 0], [150, 0], rtol=1e-7)      # Vᵀ ∂J/∂o = 100 + 50
    np.testing.assert_allclose(dY[0, 1:], 0, atol=0)              # weight 0: exactly nothing
    assert_close32(got, reference64(Y, V, c, y, weight), rel=1e-7)


@pytest.mark.parametrize("case", ["float64", "identity", "O·H over the bound", "no numba"])
def test_other_heads_keep_the_numpy_band(case, kernel_bands, monkeypatch, rng):
    """The kernel does not run, and the NumPy band gives the float64 answer (float64: to 1e-12;
    float32: its round-off, as for the kernel)."""
    from bptt.cells import head
    T, B, H, O = 7, 5, 6, 9
    output, dtype = "softmax", np.float32
    if case == "float64":
        dtype = np.float64
    elif case == "identity":
        output = "identity"
    elif case == "O·H over the bound":
        H, O = 300, 500                                           # 8·O·H = 1.2e6 > SMALL_GEMM
    elif case == "no numba":
        monkeypatch.setattr(head, "AVAILABLE", False)
    f = lambda *s: rng.normal(size=s).astype(dtype)               # noqa: E731
    Y, V, c = f(T, B, H), f(O, H), f(O)
    y = rng.integers(0, O, size=(T, B)) if output == "softmax" else f(T, B, O)
    weight = ((rng.random((T, B)) < 0.7) / B).astype(dtype)
    got = head_backward(Y, V, c, output, y, weight, 3)
    assert kernel_bands == []
    f64 = lambda a: np.asarray(a, dtype=np.float64)               # noqa: E731
    want = reference(f64(Y), f64(V), f64(c), output, y if output == "softmax" else f64(y),
                     f64(weight))
    if dtype == np.float64:
        assert got[0] == pytest.approx(want[0], rel=1e-13)
        for a, b in zip(got[1:], want[1:]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    else:
        assert_close32(got, want)                                 # O·H over: 5.4e-6 measured


def test_softmax_kernel_conditions(monkeypatch):
    """Each condition flipped alone turns the kernel off; 8·O·H = SMALL_GEMM is still in."""
    from bptt.cells import cblas, head
    from bptt.cells.fastpath import SMALL_GEMM
    require_kernel()
    ids, V = np.zeros((2, 3), dtype=np.int64), np.zeros((4, 5), dtype=np.float32)
    assert head.softmax_kernel("softmax", ids, V)
    assert head.softmax_kernel("softmax", ids.astype(np.uint8), V)          # unsigned ids too
    assert head.softmax_kernel("softmax", ids.astype(np.int32), V)
    assert not head.softmax_kernel("identity", ids, V)
    assert not head.softmax_kernel("softmax", ids, V.astype(np.float64))
    assert not head.softmax_kernel("softmax", ids, V.astype(np.float16))
    assert not head.softmax_kernel("softmax", ids.astype(np.float32), V)    # not token targets
    assert not head.softmax_kernel("softmax", ids.astype(bool), V)
    O = 125
    H = SMALL_GEMM // (8 * O)
    assert 8 * O * H == SMALL_GEMM
    assert head.softmax_kernel("softmax", ids, np.zeros((O, H), dtype=np.float32))
    assert not head.softmax_kernel("softmax", ids, np.zeros((O, H + 1), dtype=np.float32))
    assert not head.softmax_kernel("softmax", ids, np.zeros((O + 1, H), dtype=np.float32))
    with monkeypatch.context() as m:
        m.setattr(head, "AVAILABLE", False)
        assert not head.softmax_kernel("softmax", ids, V)
    with monkeypatch.context() as m:
        m.setattr(cblas, "AVAILABLE", False)
        assert not head.softmax_kernel("softmax", ids, V)
    assert head.softmax_kernel("softmax", ids, V)                           # restored


def test_softmax_kernel_reads_any_layout_and_dtype_of_Y(kernel_bands, rng):
    """Y float64 with a float32 V, or a strided view (rows not H floats apart): the kernel reads a
    float32 C-contiguous copy, so the answer is float64's to float32 round-off (before the copy,
    float64 rows read as float32 gave J ≈ 1e20, a strided view answers off by ~50 %)."""
    T, B, H, O = 5, 4, 6, 7
    V, c = rng.normal(size=(O, H)).astype(np.float32), rng.normal(size=O).astype(np.float32)
    y, weight = rng.integers(0, O, size=(T, B)), np.full((T, B), 1 / B, dtype=np.float32)
    wide = rng.normal(size=(T, B, 2 * H)).astype(np.float32)
    for Y in (wide[:, :, :H].astype(np.float64), wide[:, :, :H]):
        got = head_backward(Y, V, c, "softmax", y, weight, 2)
        assert_close32(got, reference64(Y, V, c, y, weight))
    assert len(kernel_bands) == 4


@pytest.mark.parametrize("bad", [-1, 7])
def test_softmax_kernel_rejects_targets_out_of_range(bad, kernel_bands, rng):
    """The kernel indexes its scratch by the targets without checks: out of [0, O) is an
    IndexError before it runs (NumPy's path raises one too), not a write past the buffer."""
    T, B, H, O = 3, 4, 5, 7
    f = lambda *s: rng.normal(size=s).astype(np.float32)          # noqa: E731
    y = rng.integers(0, O, size=(T, B))
    y[1, 2] = bad
    with pytest.raises(IndexError, match=r"token targets must lie in \[0, 7\)\. Got -?\d+ to \d+"):
        head_backward(f(T, B, H), f(O, H), f(O), "softmax", y, np.full((T, B), 0.25, np.float32), 2)
    assert kernel_bands == []
