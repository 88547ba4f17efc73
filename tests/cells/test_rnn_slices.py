"""The simple RNN's time loop in batch slices (`bptt.cells.rnn.slices`, float32, numba kernels on
bptt's threads) gives the fused path's numbers to float32 round-off, and the per-step reference
path's in float64: loss, every gradient, ∂J/∂h0, ∂J/∂x and the hidden states, for token ids and
float inputs, 1 and 2 layers, every activation, 1 to 3 slices (uneven, and more asked for than
the batch has); through the model with a forced count and with auto slicing, bidirectional (with
and without lengths), pooled losses, and the trainer's TBPTT.

Auto slicing follows OpenBLAS's thread count; the tests that fake it (`fake_threads`) put the
real count back afterwards, since `cblas.one_thread` restores whatever `cblas.threads()` said.

Tolerance: max |a − b| <= 2e-5 · max |b| per array (float32 round-off over these sizes is
≈ 1e-6 of the largest entry; a wrong index, activation or slice boundary is of the order of 1).
"""
import os
import subprocess
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from bptt.cells import cblas
from bptt.cells.rnn import fused, slices
from bptt.cells.rnn.model import SimpleRNN
from bptt.data.chardata import CharData
from bptt.nn.activations import ACTIVATIONS, Activation
from bptt.training.loop import TrainConfig, train
from corpus import small_text
from slicing_support import TOL, close

assert slices.AVAILABLE and cblas.AVAILABLE, (
    "the sliced RNN needs numba and NumPy's bundled OpenBLAS; both are installed wherever these "
    "tests run (unset BPTT_NUMBA=0 / BPTT_CBLAS=0)")

F32 = np.float32



def problem(rng, T, B, D, O, H, L, tokens):
    """x (T, B, D) floats or (T, B) ids, y (T, B) classes, a nonzero h0 (B, H) or (L, B, H)."""
    x = rng.integers(0, D, size=(T, B)) if tokens else rng.normal(size=(T, B, D)).astype(F32)
    h0 = rng.normal(scale=0.5, size=(L, B, H) if L > 1 else (B, H)).astype(F32)
    return x, rng.integers(0, O, size=(T, B)), h0


def forced(model, k):
    """The model with its pass's slice count forced to k (0: the fused loop)."""
    model._slices = lambda x: k
    return model


@pytest.fixture
def seen(monkeypatch):
    """The slice counts of every sliced layer pass, [("forward" or "backward", k), ...]."""
    calls, layer_forward, layer_backward = [], slices.layer_forward, slices.layer_backward

    def fwd(x, h0, U, W, b, act, k):
        calls.append(("forward", k))
        return layer_forward(x, h0, U, W, b, act, k)

    def bwd(dA, x, Hs, U, W, act, need_dx, k):
        calls.append(("backward", k))
        return layer_backward(dA, x, Hs, U, W, act, need_dx, k)

    monkeypatch.setattr(slices, "layer_forward", fwd)
    monkeypatch.setattr(slices, "layer_backward", bwd)
    return calls


def reference64(model, x, y, h0, **kw):
    """The per-step reference path in float64 from the same (float32) parameters."""
    ref = SimpleRNN(**dict(model.config(), dtype="float64"), path="reference")
    ref.params = {k: v.astype(np.float64) for k, v in model.params.items()}
    x64 = x if x.dtype.kind in "iu" else x.astype(np.float64)
    return ref.backward(x64, y, h0.astype(np.float64), **kw)


def assert_same_backward(a, b, tol=TOL, dtype=F32, states=True):
    assert abs(a.loss - b.loss) <= tol * abs(b.loss)
    assert a.grads.keys() == b.grads.keys()
    for key in b.grads:
        assert dtype is None or a.grads[key].dtype == dtype, key
        assert close(a.grads[key], b.grads[key], tol), key
    assert close(a.dh0, b.dh0, tol)
    assert (a.dx is None) == (b.dx is None)
    if b.dx is not None:
        assert close(a.dx, b.dx, tol)
    if states:
        for ha, hb in zip(a.hs, b.hs, strict=True):              # every layer's h(t)
            assert close(ha, hb, tol)
    assert close(a.last_state, b.last_state, tol)


# -- the model with a forced count ---------------------------------------------------------------
@pytest.mark.parametrize("B, k, expected", [(5, 1, 1), (16, 2, 2), (7, 3, 3), (4, 6, 4)])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("tokens", [True, False])
def test_sliced_pass_equals_the_fused_path_and_the_reference(tokens, num_layers, activation, B,
                                                              k, expected, seen, rng):
    T, D, H, O = 6, 5, 7, 4
    kw = dict(num_layers=num_layers, activation=activation, dtype=F32, seed=3)
    sliced, plain = SimpleRNN(D, H, O, **kw), SimpleRNN(D, H, O, **kw)
    x, y, h0 = problem(rng, T, B, D, O, H, num_layers, tokens)
    a = forced(sliced, k).backward(x, y, h0)
    assert seen == [("forward", expected)] * num_layers + [("backward", expected)] * num_layers
    b = forced(plain, 0).backward(x, y, h0)
    assert len(seen) == 2 * num_layers                             # k = 0: the fused loop
    assert_same_backward(a, b)
    assert_same_backward(a, reference64(sliced, x, y, h0), dtype=None)   # the per-step loop
    assert abs(forced(sliced, k).loss(x, y, h0) - b.loss) <= TOL * b.loss
    assert seen[-num_layers:] == [("forward", expected)] * num_layers


@pytest.mark.parametrize("tokens", [True, False])
def test_sliced_pass_with_blocks_under_the_small_matrix_bound(tokens, seen, rng, small_kernels):
    """H = 360, slices of 20 rows: the per-step products (20, 360) @ (360, 360) exceed OpenBLAS's
    small-matrix bound and run in 16 × 128 blocks (with 4-row and 104-column remainders), as
    does U x(t) with D = 400 (16 × 128)."""
    T, B, D, H, O = 3, 40, 400, 360, 5
    assert slices.blocks(20, H, H) == (16, 128) and slices.blocks(20, D, H) == (16, 128)
    model = SimpleRNN(D, H, O, dtype=F32, seed=5)
    x, y, h0 = problem(rng, T, B, D, O, H, 1, tokens)
    a = forced(model, 2).backward(x, y, h0)
    assert seen == [("forward", 2), ("backward", 2)]
    assert_same_backward(a, forced(model, 0).backward(x, y, h0))
    assert_same_backward(a, reference64(model, x, y, h0), dtype=None)


def test_blocks(small_kernels):
    M = slices.MAX_ROWS
    assert slices.blocks(16, 100, 600) == (16, 600)                # under the bound: whole
    assert slices.blocks(16, 256, 256) == (M, 128)                 # 16·256·244 <= 1e6
    assert slices.blocks(32, 512, 512) == (M, 64)
    assert slices.blocks(8, 512, 512) == (8, 128)
    assert slices.blocks(80, 128, 128) == (M, 128)                 # rows only
    assert slices.blocks(32, 8000, 8000) == (32, 8000)             # not even 16 columns fit


def test_one_call_per_product_without_small_matrix_kernels(monkeypatch):
    monkeypatch.setattr(cblas, "SMALL_KERNELS", False)           # OpenBLAS's Haswell kernels
    assert slices.blocks(16, 256, 256) == (16, 256)
    assert slices.blocks(32, 512, 512) == (32, 512)


def test_the_tolerance_catches_a_wrong_slice(monkeypatch, rng):
    """A slice that reads its inputs one batch row off (its neighbour's x(t) rows) breaks the
    comparison above by far more than the tolerance."""
    T, B, D, H, O = 6, 7, 5, 7, 4
    model = SimpleRNN(D, H, O, dtype=F32, seed=3)
    x, y, h0 = problem(rng, T, B, D, O, H, 1, False)
    plain = forced(model, 0).backward(x, y, h0)
    assert_same_backward(forced(model, 3).backward(x, y, h0), plain)
    forward = slices.forward

    def off_by_one(sgemm, WT, UT, table, ids, x, Hs, b0, *rest):
        shifted = np.ascontiguousarray(np.roll(x, 1, axis=1)) if b0 else x
        return forward(sgemm, WT, UT, table, ids, shifted, Hs, b0, *rest)

    monkeypatch.setattr(slices, "forward", off_by_one)
    broken = forced(model, 3).backward(x, y, h0)
    assert not close(broken.h, plain.h, 100 * TOL)
    with pytest.raises(AssertionError):
        assert_same_backward(broken, plain)


# -- fused.layer_forward / layer_backward with slices=k ------------------------------------------
@pytest.mark.parametrize("T, B, D, k", [(5, 8, 4, 2), (3, 8, 20, 2)])   # 2·4 <= 24, 2·20 > 24
@pytest.mark.parametrize("tokens", [True, False])
def test_layer_functions_keep_their_arguments_and_results(tokens, T, B, D, k, rng):
    """Hs batch-major, dA overwritten with ∂J/∂a(t) (also a float64 or non-contiguous dA), the
    same tuple; token ids: ∂J/∂U summed in the slices, or after the join for a vocabulary whose
    k (D, H) buffers would outgrow dA (the second case)."""
    H = 6
    p = SimpleRNN(D, H, 3, dtype=F32, seed=1).layer(0)
    act = ACTIVATIONS["tanh"]
    x, _, h0 = problem(rng, T, B, D, 3, H, 1, tokens)
    A, Hs = fused.layer_forward(x, h0, p["U"], p["W"], p["b"], act, slices=k)
    _, Hs0 = fused.layer_forward(x, h0, p["U"], p["W"], p["b"], act, slices=0)
    assert A is None and Hs.shape == (T + 1, B, H) and Hs.dtype == F32 and close(Hs, Hs0)
    d_out = rng.normal(size=(T, B, H))
    plain = d_out.astype(F32)
    r0 = fused.layer_backward(plain, x, Hs0, p["U"], p["W"], act, slices=0)
    for dA in (d_out.astype(F32), d_out.copy(), np.asfortranarray(d_out.astype(F32))):
        r = fused.layer_backward(dA, x, Hs, p["U"], p["W"], act, slices=k)
        assert close(dA, plain)                                    # ∂J/∂a(t), in place
        for got, want in zip(r, r0, strict=True):
            assert (got is None) == (want is None)
            if want is not None:
                assert got.dtype == F32 and close(got, want)


def test_keep_a_stays_on_the_fused_loop(seen, rng):
    p = SimpleRNN(4, 6, 3, dtype=F32).layer(0)
    x, _, h0 = problem(rng, 5, 8, 4, 3, 6, 1, False)
    A, _ = fused.layer_forward(x, h0, p["U"], p["W"], p["b"], ACTIVATIONS["tanh"], True, 2)
    assert A is not None and seen == []


# -- auto slicing from OpenBLAS's thread count ---------------------------------------------------
@pytest.mark.parametrize("n_threads, B", [(2, 16), (2, 21), (3, 26), (3, 11)])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("tokens", [True, False])
def test_model_slices_by_openblas_threads(tokens, num_layers, n_threads, B, fake_threads, seen,
                                          monkeypatch, rng):
    T, D, H, O = 5, 6, 8, 4
    kw = dict(num_layers=num_layers, dtype=F32, seed=7)
    model, ref = SimpleRNN(D, H, O, **kw), SimpleRNN(D, H, O, path="reference", **kw)
    x, y, h0 = problem(rng, T, B, D, O, H, num_layers, tokens)
    fake_threads(n_threads)
    k = min(n_threads, B // slices.MIN_COLUMNS)
    a, J = model.backward(x, y, h0), model.loss(x, y, h0)
    assert seen == [("forward", k)] * num_layers + [("backward", k)] * num_layers \
        + [("forward", k)] * num_layers
    fa = model.forward(x, h0)                                      # keep_a: the fused loop
    monkeypatch.setenv("BPTT_SLICES", "0")
    b, J0, fb = model.backward(x, y, h0), model.loss(x, y, h0), model.forward(x, h0)
    assert len(seen) == 3 * num_layers
    assert_same_backward(a, b)
    assert abs(J - J0) <= TOL * J0 and abs(J - b.loss) <= TOL * J0
    assert close(fa.h, fb.h, 0) and close(fa.o, fb.o, 0)
    assert_same_backward(a, ref.backward(x, y, h0))               # the per-step loop, float32


@pytest.mark.parametrize("pooling", ["mean", "last"])
def test_pooled_losses_slice_too(pooling, fake_threads, seen, monkeypatch, rng):
    """pooling="mean" (MeanPooled) keeps the output layer on the calling thread, its products
    split; pooling="last" (a one-step mask) runs the head in bands."""
    T, B, D, H, O = 5, 16, 4, 6, 3
    model = SimpleRNN(D, H, O, num_layers=2, dtype=F32, seed=4)
    x = rng.normal(size=(T, B, D)).astype(F32)
    y, lengths = rng.integers(0, O, size=B), rng.integers(1, T + 1, size=B)
    fake_threads(2)
    a = model.backward(x, y, pooling=pooling, lengths=lengths)
    assert seen == [("forward", 2)] * 2 + [("backward", 2)] * 2
    monkeypatch.setenv("BPTT_SLICES", "0")
    assert_same_backward(a, model.backward(x, y, pooling=pooling, lengths=lengths))


@pytest.mark.parametrize("lengths", [None, [5, 3, 4, 5, 1, 2, 5, 5, 4, 4, 3, 5, 5, 2, 5, 5, 1]])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_bidirectional_model_slices_too(num_layers, lengths, fake_threads, seen, monkeypatch,
                                        rng):
    T, B, D, H, O = 5, 17, 4, 6, 3
    model = SimpleRNN(D, H, O, num_layers=num_layers, bidirectional=True, dtype=F32, seed=2)
    x, y, _ = problem(rng, T, B, D, O, H, 1, False)
    h0 = rng.normal(scale=0.5, size=(2 * num_layers, B, H)).astype(F32)
    fake_threads(2)
    a = model.backward(x, y, h0, lengths=lengths)
    n = 2 * num_layers                                            # both directions, every layer
    assert sorted(seen) == [("backward", 2)] * n + [("forward", 2)] * n
    monkeypatch.setenv("BPTT_SLICES", "0")
    b = model.backward(x, y, h0, lengths=lengths)
    assert len(seen) == 4 * num_layers
    assert_same_backward(a, b, states=False)                      # only last_state is defined
    assert close(a.dx, reference64(model, x, y, h0, lengths=lengths).dx)


def test_tbptt_training_sliced_and_not_agree(fake_threads, seen, monkeypatch):
    """Four steps of `bptt.train` (TBPTT: windows of 8 advancing 5, the state carried, norm
    clipping, SGD) on two copies of a 2-layer model, sliced and not: the same losses, validation
    and weights."""
    data = CharData.from_text(small_text(3000, seed=1), val_fraction=0.2)
    V = data.vocab.size
    cfg = dict(steps=4, seq_len=8, stride=5, batch=16, optimizer="sgd", lr=0.5, clip=5.0,
               eval_every=4, checkpoint_every=4, eval_chars=400, progress=False)
    fake_threads(2)
    runs = []
    for on in ("1", "0"):
        monkeypatch.setenv("BPTT_SLICES", on)
        model = SimpleRNN(V, 12, V, num_layers=2, dtype=F32, seed=1)
        runs.append((model, train(model, data, TrainConfig(**cfg))))
        if on == "1":
            assert seen.count(("backward", 2)) == 4 * 2 and ("forward", 2) in seen
            n_sliced = len(seen)
    assert len(seen) == n_sliced                                  # BPTT_SLICES=0: none
    (m1, h1), (m0, h0) = runs
    for r1, r0 in zip(h1, h0, strict=True):
        assert r1["train_loss"] == pytest.approx(r0["train_loss"], rel=TOL)
        assert r1["val_bpc"] == pytest.approx(r0["val_bpc"], rel=TOL)
    for key, p in m0.params.items():
        assert close(m1.params[key], p), key


def test_openblas_thread_count_is_the_same_after_a_sliced_pass(seen, monkeypatch, rng):
    """With 2 real OpenBLAS threads (threadpoolctl), a model pass slices by itself and leaves
    the count at 2; a forced 3-slice pass too."""
    monkeypatch.setattr(slices, "MIN_FLOPS", 0)                     # this pass is tiny
    T, B, D, H, O = 4, 16, 5, 6, 3
    model = SimpleRNN(D, H, O, num_layers=2, dtype=F32, seed=0)
    x, y, h0 = problem(rng, T, B, D, O, H, 2, False)
    with threadpool_limits(limits=2, user_api="blas"):
        model.backward(x, y, h0)
        assert seen == [("forward", 2)] * 2 + [("backward", 2)] * 2
        assert cblas.threads() == 2
        forced(model, 3).backward(x, y, h0)
        assert cblas.threads() == 2 and cblas._held[0] == 0


# -- slices.count ---------------------------------------------------------------------------------
W32 = np.zeros((4, 4), dtype=F32)
TANH = ACTIVATIONS["tanh"]


def ids(B, T=5):
    return np.zeros((T, B), dtype=np.intp)


def test_count_is_zero_off_its_conditions(fake_threads, seen, monkeypatch):
    fake_threads(2)
    x = ids(32)
    assert slices.count(x, W32, TANH) == 2                         # the conditions all met
    for forced_k in (None, 2):
        assert slices.count(x, W32.astype(np.float64), TANH, forced_k) == 0   # float64
        own = Activation("softsign", np.tanh, np.tanh, np.tanh)
        assert slices.count(x, W32, own, forced_k) == 0                       # not a kernel's g
    assert slices.count(x, W32, TANH, 0) == 0                                 # slices=0
    M = slices.MIN_COLUMNS
    assert slices.count(ids(2 * M - 1), W32, TANH) == 0                       # B < 2 slices' worth
    assert slices.count(ids(2 * M), W32, TANH) == 2
    monkeypatch.setenv("BPTT_SLICES", "0")
    assert slices.count(x, W32, TANH) == 0                                    # auto off
    assert slices.count(x, W32, TANH, 2) == 2                                 # forcing still works
    monkeypatch.delenv("BPTT_SLICES")
    fake_threads(1)
    assert slices.count(ids(64), W32, TANH) == 1 == slices.count(ids(2), W32, TANH)   # one thread:
    assert slices.count(ids(64), W32, TANH, 0) == 0                           # one slice
    fake_threads(2)
    monkeypatch.setattr(cblas, "AVAILABLE", False)
    assert slices.count(x, W32, TANH) == slices.count(x, W32, TANH, 2) == 0   # no OpenBLAS
    monkeypatch.setattr(cblas, "AVAILABLE", True)
    monkeypatch.setattr(slices, "AVAILABLE", False)                          # no numba kernels
    assert slices.count(x, W32, TANH) == slices.count(x, W32, TANH, 2) == 0
    p = SimpleRNN(3, 4, 2, dtype=F32).layer(0)
    h0 = np.zeros((32, 4), dtype=F32)
    _, Hs = fused.layer_forward(x, h0, p["U"], p["W"], p["b"], TANH, slices=2)
    fused.layer_backward(np.ones((5, 32, 4), dtype=F32), x, Hs, p["U"], p["W"], TANH, slices=2)
    assert seen == []                                                         # the fused loop


def test_passes_too_small_for_threads_run_one_slice(fake_threads, monkeypatch):
    """Slicing over threads needs MIN_FLOPS of GEMM work in the pass (2·T·B·H·H·3), below it one
    slice runs on the calling thread; forcing needs neither. From MIN_FLOPS on, a batch too small
    for two slices keeps OpenBLAS's threads (the fused loop)."""
    fake_threads(2)
    monkeypatch.setattr(slices, "MIN_FLOPS", 2 * 5 * 32 * 4 * 4 * 3)    # T=5, B=32, H=4: enough
    x = ids(32)
    assert slices.count(x, W32, TANH) == 2
    assert slices.count(x[:4], W32, TANH) == 1                     # one step fewer: too small
    assert slices.count(x[:4], W32, TANH, 2) == 2
    monkeypatch.setattr(slices, "MIN_FLOPS", 2 * 5 * 7 * 4 * 4 * 3)     # T=5, B=7: enough
    assert slices.count(x[:, :7], W32, TANH) == 0                  # but one slice's worth of batch


def test_without_numba_the_fused_loop_runs(tmp_path, rng):
    """BPTT_NUMBA=0 (a fresh process): no kernels, so no slices even when forced, and the model's
    pass on 2 threads gives the fused loop's loss."""
    T, B, D, H, O = 5, 16, 4, 6, 3
    model = SimpleRNN(D, H, O, dtype=F32, seed=4)
    x, y, _ = problem(rng, T, B, D, O, H, 1, False)
    want = forced(model, 0).backward(x, y).loss
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    code = ("import numpy as np, sys; from threadpoolctl import threadpool_limits; "
            "from bptt.cells.rnn import slices; from bptt import SimpleRNN; "
            "slices.MIN_FLOPS = 0; x, y = np.load('x.npy'), np.load('y.npy'); "
            f"m = SimpleRNN({D}, {H}, {O}, dtype='float32', seed=4)\n"
            "with threadpool_limits(2, 'blas'):\n"
            "    print(slices.AVAILABLE, slices.count(x, m.params['W'], m.act, 2), "
            "repr(m.backward(x, y).loss))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=tmp_path, env=dict(os.environ, BPTT_NUMBA="0")).stdout.split()
    assert out[:2] == ["False", "0"]
    assert float(out[2]) == pytest.approx(want, rel=1e-6)      # 2 threads may sum otherwise
