"""The GRU's time loop in batch slices (`bptt.cells.gru.slices`) gives the fused path's numbers to
float32 round-off, and the per-step reference path's: loss, every gradient, ∂J/∂h0, ∂J/∂x and the
forward results (h, r, z, n), for token ids and float inputs, reset "after" and "before", 1 and 2
layers, 1 to 3 slices (uneven, and more asked for than the batch has), through `fused.forward/
backward` with slices=k and through the public model with auto slicing (`loss_and_backward`).

Auto slicing follows OpenBLAS's thread count; the tests that fake it (`fake_threads`) put the
real count back afterwards, since `cblas.one_thread` restores whatever `cblas.threads()` said.

Tolerance: max |a − b| <= 2e-5 · max |b| per array (float32 round-off over these sizes is
≈ 1e-6 of the largest entry; a wrong index, gate or slice boundary is of the order of 1).
"""
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from bptt.cells import cblas
from bptt.cells.gru import fused, slices
from bptt.cells.gru.model import GRU
from bptt.nn.losses import loss_and_error
from bptt.optim import Adam
from slicing_support import TOL, close

assert slices.AVAILABLE and cblas.AVAILABLE, (
    "the sliced GRU needs numba and NumPy's bundled OpenBLAS; both are installed wherever these "
    "tests run (unset BPTT_NUMBA=0 / BPTT_CBLAS=0)")

MIN_FLOPS = slices.MIN_FLOPS
F32 = np.float32
GATES = ("r", "z", "n")



def inputs(rng, T, B, D, O, tokens):
    x = rng.integers(0, D, size=(T, B)) if tokens else rng.normal(size=(T, B, D)).astype(F32)
    return x, rng.integers(0, O, size=(T, B))


def state(rng, L, B, H):
    return rng.normal(scale=0.5, size=(L, B, H)).astype(F32)


def run_fused(model, x, y, h0, k):
    """One forward (slices=k) and BPTT through `fused`: the passes' types and numbers."""
    passes, O = fused.forward(x, h0, model.params, model.num_layers, slices=k)
    n_slices = [len(p.slices) if isinstance(p, slices.SlicedPass) else 0 for p in passes]
    layers = [(p.Hs.copy(), [p.gate(g).copy() for g in GATES]) for p in passes]   # before backward
    T, B = y.shape
    loss, _, dO = loss_and_error("softmax", O, y, np.full((T, B), 1 / B, dtype=O.dtype))
    dx, dh0, grads = fused.backward(dO, passes, model.params)
    return SimpleNamespace(kinds=[type(p) for p in passes], n_slices=n_slices, layers=layers, O=O,
                           loss=loss, dx=dx, dh0=dh0, grads=grads)


def assert_same_pass(a, b, tol=TOL):
    assert abs(a.loss - b.loss) <= tol * abs(b.loss)
    assert close(a.O, b.O, tol)
    for (Ha, Ga), (Hb, Gb) in zip(a.layers, b.layers, strict=True):
        assert close(Ha, Hb, tol)
        for ga, gb, name in zip(Ga, Gb, GATES, strict=True):
            assert close(ga, gb, tol), name
    assert close(a.dh0, b.dh0, tol)
    assert (a.dx is None) == (b.dx is None)
    if a.dx is not None:
        assert close(a.dx, b.dx, tol)
    assert list(a.grads) == list(b.grads)
    for key in a.grads:
        assert a.grads[key].dtype == F32
        assert close(a.grads[key], b.grads[key], tol), key


def float64_reference(model, x, y, h0):
    """The per-step reference path in float64 from the same (float32) parameters."""
    ref = GRU(**dict(model.config(), dtype="float64"), path="reference")
    ref.params = {k: v.astype(np.float64) for k, v in model.params.items()}
    h = h0[0] if model.num_layers == 1 else h0
    x64 = x if x.dtype.kind in "iu" else x.astype(np.float64)
    return ref.backward(x64, y, h.astype(np.float64)), ref.forward(x64, h.astype(np.float64))


# -- fused.forward / backward with slices=k ------------------------------------------------------
@pytest.mark.parametrize("B, k, expected", [(5, 1, 1), (16, 2, 2), (7, 3, 3), (4, 6, 4)])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("tokens", [True, False])
@pytest.mark.parametrize("reset", ["after", "before"])
def test_sliced_pass_equals_the_fused_path_and_the_reference(reset, tokens, num_layers, B, k,
                                                              expected, rng):
    T, D, H, O = 6, 5, 7, 4
    model = GRU(D, H, O, num_layers=num_layers, reset=reset, dtype=F32, seed=3)
    x, y = inputs(rng, T, B, D, O, tokens)
    h0 = state(rng, num_layers, B, H)
    sliced = run_fused(model, x, y, h0, k)
    plain = run_fused(model, x, y, h0, 0)
    assert sliced.kinds == [slices.SlicedPass] * num_layers
    assert sliced.n_slices == [expected] * num_layers             # k > B: one column each
    assert plain.kinds == [fused.LayerPass] * num_layers
    assert_same_pass(sliced, plain)
    ref, fref = float64_reference(model, x, y, h0)                # the per-step loop, float64
    assert abs(sliced.loss - ref.loss) <= TOL * ref.loss
    for key in ref.grads:
        assert close(sliced.grads[key], ref.grads[key]), key
    assert close(sliced.dh0, ref.dh0 if num_layers > 1 else ref.dh0[None])
    assert (sliced.dx is None) == tokens
    if not tokens:
        assert close(sliced.dx, ref.dx)
    assert close(sliced.O, fref.o)
    for (Hs, gates), layer in zip(sliced.layers, fref.layers, strict=True):
        assert close(Hs[1:], layer["h"])
        for g, name in zip(gates, GATES, strict=True):
            assert close(g, layer[name]), name


@pytest.mark.parametrize("tokens", [True, False])
@pytest.mark.parametrize("reset", ["after", "before"])
def test_sliced_pass_with_row_blocks(reset, tokens, rng, small_kernels):
    """H = 320, 10 columns a slice: every per-step product exceeds OpenBLAS's small-matrix bound
    and runs in row blocks: "after" (960, 321) @ (321, 10) and (320, 960) @ (960, 10); "before"
    (640, 320) @ (320, 10), (320, 640) @ (640, 10) and W_n's, W_nᵀ's (320, 320) @ (320, 10)."""
    T, B, D, H, O = 3, 20, 6, 320, 5
    model = GRU(D, H, O, reset=reset, dtype=F32, seed=5)
    x, y = inputs(rng, T, B, D, O, tokens)
    h0 = state(rng, 1, B, H)
    fl = fused.fuse(model.params, 0)
    for A in (fl.Rs, fl.RT) + ((fl.Wn, fl.WnT) if reset == "before" else ()):
        assert slices._rows(A.shape[0], A.shape[1], 10) < A.shape[0], A.shape
    sliced = run_fused(model, x, y, h0, 2)
    assert sliced.n_slices == [2]
    assert_same_pass(sliced, run_fused(model, x, y, h0, 0))


def test_the_tolerance_catches_a_wrong_slice(monkeypatch, rng):
    """A slice that reads its inputs one batch column off (its neighbour's U x(t) columns) breaks
    the comparison above by far more than the tolerance."""
    T, B, D, H, O = 6, 7, 5, 7, 4
    model = GRU(D, H, O, dtype=F32, seed=3)
    x, y = inputs(rng, T, B, D, O, False)
    h0 = state(rng, 1, B, H)
    plain = run_fused(model, x, y, h0, 0)
    assert_same_pass(run_fused(model, x, y, h0, 3), plain)
    forward = slices.forward

    def off_by_one(sgemm, Rs, Wn, tableT, ids, XP, bias, b0, *rest):
        shifted = np.ascontiguousarray(np.roll(XP, 1, axis=1)) if b0 else XP
        return forward(sgemm, Rs, Wn, tableT, ids, shifted, bias, b0, *rest)

    monkeypatch.setattr(slices, "forward", off_by_one)
    broken = run_fused(model, x, y, h0, 3)
    assert not close(broken.O, plain.O, 100 * TOL)
    with pytest.raises(AssertionError):
        assert_same_pass(broken, plain)


def test_token_ids_out_of_range_are_refused(rng):
    """The kernels read the table unchecked, so the sliced layer checks the ids first."""
    model = GRU(5, 4, 3, dtype=F32)
    fl, h0 = fused.fuse(model.params, 0), np.zeros((8, 4), dtype=F32)
    x = rng.integers(0, 5, size=(3, 8))
    assert isinstance(fused.layer_forward(x, h0, fl, slices=2), slices.SlicedPass)
    for bad in (5, -1):
        x[1, 3] = bad
        with pytest.raises(IndexError, match=r"token ids must lie in \[0, 5\)\. Got -?\d+ to \d+\."):
            fused.layer_forward(x, h0, fl, slices=2)


# -- the public model: auto slicing from OpenBLAS's thread count ---------------------------------
@pytest.fixture
def passes_seen(monkeypatch):
    """The slice counts of every forward through the layers the model makes (fused.forward and
    fused.loss_and_backward both run them through fused._layers_forward)."""
    seen, layers_forward = [], fused._layers_forward

    def spy(*args, **kwargs):
        passes = layers_forward(*args, **kwargs)
        seen.append([len(p.slices) if isinstance(p, slices.SlicedPass) else 0 for p in passes])
        return passes

    monkeypatch.setattr(fused, "_layers_forward", spy)
    return seen


def assert_same_backward(a, b, tol=TOL, steps=(0, -1)):
    assert abs(a.loss - b.loss) <= tol * abs(b.loss)
    assert list(a.grads) == list(b.grads)
    for key in b.grads:
        assert a.grads[key].dtype == F32, key
        assert close(a.grads[key], b.grads[key], tol), key
    assert close(a.dh0, b.dh0, tol)
    assert (a.dx is None) == (b.dx is None)
    if b.dx is not None:
        assert close(a.dx, b.dx, tol)
    for t in steps:
        assert close(a.state(t), b.state(t), tol)
    assert close(a.last_state, b.last_state, tol)


def assert_same_forward(a, b, tol=TOL):
    for attr in ("h", "o", "y_hat", "h_last"):
        assert close(getattr(a, attr), getattr(b, attr), tol), attr
    for la, lb in zip(a.layers, b.layers, strict=True):
        for name in ("h",) + GATES:
            assert close(la[name], lb[name], tol), name


@pytest.mark.parametrize("n_threads, B", [(2, 16), (2, 21), (3, 26), (3, 11)])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("tokens", [True, False])
@pytest.mark.parametrize("reset", ["after", "before"])
def test_model_slices_by_openblas_threads(reset, tokens, num_layers, n_threads, B, fake_threads,
                                          passes_seen, monkeypatch, rng):
    T, D, H, O = 5, 6, 8, 4
    kw = dict(num_layers=num_layers, reset=reset, dtype=F32, seed=7)
    model, ref = GRU(D, H, O, **kw), GRU(D, H, O, path="reference", **kw)
    x, y = inputs(rng, T, B, D, O, tokens)
    h0 = state(rng, num_layers, B, H)
    h0 = h0 if num_layers > 1 else h0[0]
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


def test_pooled_loss_slices_the_layers_but_not_the_head(fake_threads, passes_seen, monkeypatch,
                                                         rng):
    """pooling="mean" couples the positions (`bptt.nn.losses.MeanPooled`): the layers run in
    slices, the output layer and the loss on one thread, the same numbers."""
    T, B, D, H, O = 5, 16, 6, 8, 3
    model = GRU(D, H, O, num_layers=2, dtype=F32, seed=2)
    x, y = rng.normal(size=(T, B, D)).astype(F32), rng.integers(0, O, size=B)
    heads = []
    monkeypatch.setattr(fused, "head_backward", lambda *a: heads.append(1))
    fake_threads(2)
    a = model.backward(x, y, pooling="mean")
    assert passes_seen == [[2, 2]] and heads == []
    monkeypatch.setenv("BPTT_SLICES", "0")
    assert_same_backward(a, model.backward(x, y, pooling="mean"), steps=())
    assert passes_seen[1:] == [[0, 0]]


def test_training_steps_sliced_and_not_agree(fake_threads, passes_seen, monkeypatch, rng):
    """Three Adam steps on two copies of a model, sliced and not: the same losses and weights.
    eps = 1e-4: Adam's steps are ± lr for any gradient entry above eps, so with the default 1e-8
    an entry of ≈ 1e-7 would turn float32 round-off into a step of lr."""
    T, B, D, H, O = 8, 16, 10, 12, 10
    models = [GRU(D, H, O, num_layers=2, dtype=F32, seed=1) for _ in range(2)]
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
    kw = dict(num_layers=num_layers, bidirectional=True, dtype=F32, seed=2)
    model, ref = GRU(D, H, O, **kw), GRU(D, H, O, path="reference", **kw)
    x, y = inputs(rng, T, B, D, O, False)
    h0 = state(rng, 2 * num_layers, B, H)
    seen, layer_forward = [], fused.layer_forward

    def spy(*args, **kwargs):
        lp = layer_forward(*args, **kwargs)
        seen.append(len(lp.slices) if isinstance(lp, slices.SlicedPass) else 0)
        return lp

    monkeypatch.setattr(fused, "layer_forward", spy)
    fake_threads(2)
    a = model.backward(x, y, h0, lengths=lengths)
    assert seen == [2] * (2 * num_layers)                         # both directions, every layer
    assert_same_backward(a, ref.backward(x, y, h0, lengths=lengths), steps=())
    monkeypatch.setenv("BPTT_SLICES", "0")
    b = model.backward(x, y, h0, lengths=lengths)
    assert seen[2 * num_layers:] == [0] * (2 * num_layers)
    assert_same_backward(a, b, steps=())                          # only last_state is defined


def test_openblas_thread_count_is_the_same_after_a_sliced_pass(passes_seen, monkeypatch, rng):
    """With 2 real OpenBLAS threads (threadpoolctl), a model pass slices by itself and leaves
    the count at 2; a forced 3-slice pass through fused too."""
    monkeypatch.setattr(slices, "MIN_FLOPS", 0)                     # this pass is tiny
    T, B, D, H, O = 4, 16, 5, 6, 3
    model = GRU(D, H, O, num_layers=2, reset="before", dtype=F32, seed=0)
    x, y = inputs(rng, T, B, D, O, False)
    with threadpool_limits(limits=2, user_api="blas"):
        model.backward(x, y)
        assert passes_seen == [[2, 2]]
        assert cblas.threads() == 2
        run_fused(model, x, y, state(rng, 2, B, H), 3)
        assert cblas.threads() == 2 and cblas._held[0] == 0


# -- slices.count ---------------------------------------------------------------------------------
def layer(dtype=F32, reset="after"):
    return fused.fuse(GRU(3, 4, 2, reset=reset, dtype=dtype).params, 0)


def ids(B):
    return np.zeros((5, B), dtype=np.intp)


def test_count_is_zero_off_its_conditions(fake_threads, monkeypatch):
    fake_threads(2)
    fl, x, h0 = layer(), ids(32), np.zeros((32, 4), dtype=F32)
    assert slices.count(x, fl, True) == slices.count(x, layer(reset="before"), True) == 2
    for forced in (None, 2):
        assert slices.count(x, layer(np.float64), True, forced) == 0          # float64
        assert slices.count(x, fl, False, forced) == 0                        # no kernels
    assert isinstance(fused.layer_forward(x, h0, fl, slices=2), slices.SlicedPass)
    assert isinstance(fused.layer_forward(x, h0, fl), slices.SlicedPass)       # auto
    assert isinstance(fused.layer_forward(x, h0, fl, slices=0), fused.LayerPass)
    assert isinstance(fused.layer_forward(x, h0 + 0.0, layer(np.float64), 2), fused.LayerPass)
    monkeypatch.setattr(slices, "AVAILABLE", False)                           # BPTT_NUMBA=0
    assert isinstance(fused.layer_forward(x, h0, fl, slices=2), fused.LayerPass)
    assert isinstance(fused.layer_forward(x, h0, fl), fused.LayerPass)
    monkeypatch.setattr(slices, "AVAILABLE", True)
    M = slices.MIN_COLUMNS                                                    # B < 2 slices' worth:
    assert slices.count(ids(2 * M - 1), fl, True) == 0 and slices.count(ids(2 * M), fl, True) == 2
    monkeypatch.setenv("BPTT_SLICES", "0")
    assert slices.count(x, fl, True) == 0 and slices.count(x, fl, True, 2) == 2   # forcing works
    monkeypatch.delenv("BPTT_SLICES")
    fake_threads(1)
    assert slices.count(ids(64), fl, True) == 1 and slices.count(ids(64), fl, True, 0) == 0   # one
    assert slices.count(ids(2), fl, True) == 1                   # thread: one slice, any batch
    fake_threads(2)
    monkeypatch.setattr(cblas, "AVAILABLE", False)
    assert slices.count(x, fl, True) == slices.count(x, fl, True, 2) == 0     # no OpenBLAS


def test_without_numba_the_fused_loop_runs():
    """BPTT_NUMBA=0 in a fresh process: no kernels, so even a forced slice count runs the fused
    loop, and the model's pass gives the reference's numbers."""
    code = "\n".join([
        "import numpy as np", "from bptt.cells.gru import fused, slices", "from bptt import GRU",
        "assert not slices.AVAILABLE", "kw = dict(reset='before', dtype='float32', seed=0)",
        "model, ref = GRU(4, 5, 3, **kw), GRU(4, 5, 3, path='reference', **kw)",
        "x = np.random.default_rng(0).integers(0, 4, size=(6, 16))",
        "passes, _ = fused.forward(x, np.zeros((1, 16, 5), np.float32), model.params, 1, slices=2)",
        "assert type(passes[0]) is fused.LayerPass",
        "a, b = model.backward(x, x % 3), ref.backward(x, x % 3)",
        "assert abs(a.loss - b.loss) <= 1e-6 * b.loss", "print('ok')"])
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, BPTT_NUMBA="0"),
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_passes_too_small_for_threads_run_one_slice(fake_threads, monkeypatch):
    """Slicing over threads needs MIN_FLOPS of GEMM work in the pass (2·T·B·3H·(H+1)·3): one step
    fewer is too small, and one slice runs on the calling thread; forcing needs neither. From
    MIN_FLOPS on, a batch too small for two slices keeps OpenBLAS's threads (the fused loop)."""
    fake_threads(2)
    monkeypatch.setattr(slices, "MIN_FLOPS", 2 * 5 * 32 * 12 * 5 * 3)   # T=5, B=32, H=4: enough
    x = np.zeros((5, 32), dtype=np.intp)
    assert slices.count(x, layer(), True) == 2
    assert slices.count(x[:4], layer(), True) == 1 and slices.count(x[:4], layer(), True, 2) == 2
    monkeypatch.setattr(slices, "MIN_FLOPS", 2 * 5 * 7 * 12 * 5 * 3)    # T=5, B=7: enough
    assert slices.count(x[:, :7], layer(), True) == 0             # but one slice's worth of batch
    monkeypatch.setattr(slices, "MIN_FLOPS", MIN_FLOPS)
    passes, _ = fused.forward(x, np.zeros((1, 32, 4), F32), GRU(3, 4, 2, dtype=F32).params, 1)
    assert isinstance(passes[0], slices.SlicedPass) and len(passes[0].slices) == 1   # the real bound


# -- a large vocabulary: ∂J/∂U after the join ----------------------------------------------------
@pytest.mark.parametrize("D, scattered", [(12, True), (13, False)])      # 2·12 <= 24 < 2·13
def test_token_gradient_of_a_large_vocabulary_is_summed_after_the_join(D, scattered, monkeypatch,
                                                                        rng):
    """k slices would each hold a (D, 3H) ∂J/∂U: from k·D > T·B the slices do not scatter, and
    ∂J/∂U is one sorted segment sum over all positions after the join (k·D·3H floats could be
    far more than the pass: 8 slices of a 50k-word vocabulary at H 256 are 1.2 GB)."""
    T, B, H, O = 3, 8, 5, 4
    model = GRU(D, H, O, dtype=F32, seed=4)
    x, y = inputs(rng, T, B, D, O, True)
    h0 = state(rng, 1, B, H)
    calls, segment_sum = [], slices.token_gradient
    monkeypatch.setattr(slices, "token_gradient", lambda *a: calls.append(1) or segment_sum(*a))
    sliced = run_fused(model, x, y, h0, 2)
    assert sliced.n_slices == [2] and len(calls) == (0 if scattered else 1)
    assert_same_pass(sliced, run_fused(model, x, y, h0, 0))
