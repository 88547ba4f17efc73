"""bptt's worker threads (`bptt.cells.threads`: run, dot) and NumPy's OpenBLAS through ctypes
(`bptt.cells.cblas`: AVAILABLE, threads, one_thread, BPTT_CBLAS=0).

The thread counts are compared with threadpoolctl's view of the same library, and one_thread's
restores are checked from a count set by threadpoolctl (2), so they mean the same on any machine.
"""
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from bptt.cells import cblas, threads


# -- threads.run -----------------------------------------------------------------------------------
def test_run_produces_every_jobs_result_first_job_on_the_calling_thread():
    out = np.zeros(5)
    idents = [None] * 5

    def job(i, value):
        out[i] = value
        idents[i] = threading.get_ident()

    threads.run([(job, (i, 10.0 * i + 1)) for i in range(5)])
    assert np.array_equal(out, 10.0 * np.arange(5) + 1)
    assert idents[0] == threading.get_ident()
    assert all(ident != threading.get_ident() for ident in idents[1:])
    threads.run([(job, (i, -1.0)) for i in range(2)])         # fewer jobs: the pool is reused
    assert np.array_equal(out, [-1, -1, 21, 31, 41])
    threads.run([(job, (i, 7.0)) for i in range(5)])
    assert np.array_equal(out, np.full(5, 7.0))


def test_run_a_single_job_inline():
    seen = []
    threads.run([(lambda a, b: seen.append((a, b, threading.get_ident())), (1, 2))])
    assert seen == [(1, 2, threading.get_ident())]

    def fail():
        raise KeyError("the only job failed")

    with pytest.raises(KeyError, match="the only job failed"):
        threads.run([(fail, ())])


def test_run_reraises_a_pool_jobs_error_after_all_jobs_finished():
    done = []

    def slow(i):
        time.sleep(0.05)
        done.append(i)

    def fail():
        raise ValueError("pool job 2 failed")

    with pytest.raises(ValueError, match="pool job 2 failed"):
        threads.run([(slow, (0,)), (slow, (1,)), (fail, ()), (slow, (3,))])
    assert sorted(done) == [0, 1, 3]                           # waited for all


def test_run_reraises_the_first_jobs_error_after_the_pool_finished():
    done = []

    def slow(i):
        time.sleep(0.1)
        done.append(i)

    def fail(msg):
        raise RuntimeError(msg)

    with pytest.raises(RuntimeError, match="the inline job failed"):
        threads.run([(fail, ("the inline job failed",)), (slow, (1,)), (slow, (2,))])
    assert sorted(done) == [1, 2]
    with pytest.raises(RuntimeError, match="pool job 1 failed"):     # the first error in order
        threads.run([(slow, (0,)), (fail, ("pool job 1 failed",)), (fail, ("pool job 2 failed",))])


# -- threads.dot -----------------------------------------------------------------------------------
@pytest.fixture
def jobs_seen(monkeypatch):
    """The jobs threads.dot hands to threads.run: [[(A block, B block), ...] per call]."""
    calls, run = [], threads.run

    def spy(jobs):
        calls.append([(args[0], args[1]) for _, args in jobs])
        run(jobs)

    monkeypatch.setattr(threads, "run", spy)
    monkeypatch.setattr(threads, "MIN_SPLIT_FLOPS", 0)               # split the small test products
    monkeypatch.setattr(threads, "MIN_SPLIT_SUM", 0)                 # and their sums
    return calls


TOL = {"float32": 1e-5, "float64": 1e-12}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("M, K, N, k", [(40, 30, 20, 2), (10, 11, 7, 3), (64, 256, 33, 4)])
def test_dot_rows_of_a_contiguous_A(M, K, N, k, dtype, jobs_seen, rng):
    A, B = rng.normal(size=(M, K)).astype(dtype), rng.normal(size=(K, N)).astype(dtype)
    out = threads.dot(A, B, k)
    np.testing.assert_allclose(out, np.dot(A, B), rtol=TOL[dtype], atol=TOL[dtype] * np.sqrt(K))
    assert out.dtype == np.dtype(dtype) and out.shape == (M, N)
    (call,) = jobs_seen
    assert [a.shape for a, _ in call] == [(M * (s + 1) // k - M * s // k, K) for s in range(k)]
    assert all(b is B for _, b in call)


@pytest.mark.parametrize("M, K, N, k", [(40, 30, 20, 2), (10, 11, 7, 3), (64, 256, 33, 4)])
@pytest.mark.parametrize("wider", [0, 5])
def test_dot_rows_of_a_transposed_float32_A_through_blas(M, K, N, k, wider, jobs_seen, rng,
                                                          monkeypatch):
    """float32, A a transposed view (also of a wider array's columns: its rows' stride over M):
    row bands, each one transposed GEMM called in BLAS, no partial sums."""
    if not cblas.AVAILABLE:
        pytest.skip("NumPy's BLAS is not its bundled OpenBLAS")
    calls, run = [], threads.run

    def spy(jobs):
        calls.append(jobs)
        run(jobs)

    monkeypatch.setattr(threads, "run", spy)
    rows = rng.normal(size=(K, M + wider)).astype(np.float32)
    A, B = rows[:, wider:].T, rng.normal(size=(K, N)).astype(np.float32)
    out = threads.dot(A, B, k)
    ref = A.astype(np.float64) @ B.astype(np.float64)
    assert out.dtype == np.float32 and out.shape == (M, N) and out.flags.c_contiguous
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()
    (call,) = calls                                               # one hand-over, no sum
    assert all(fn is threads._rows_tn for fn, _ in call)
    assert all(a is A and b is B and o is out for _, (a, b, o, _, _) in call)
    assert [args[3:] for _, args in call] == [(M * s // k, M * (s + 1) // k) for s in range(k)]


@pytest.mark.parametrize("strided", ["B rows", "A columns"])
def test_dot_of_a_transposed_float32_A_sums_parts_when_blas_cannot_read_it(strided, jobs_seen,
                                                                           rng):
    """B's columns strided, or A's columns not contiguous: the column blocks and their sum."""
    rows = rng.normal(size=(30, 2 * 12)).astype(np.float32)
    A = rows.T[:12] if strided == "B rows" else rows[:, ::2].T
    B = rng.normal(size=(30, 2 * 7)).astype(np.float32)
    B = B[:, ::2] if strided == "B rows" else B[:, :7]
    np.testing.assert_allclose(threads.dot(A, B, 2), A @ B, rtol=1e-5, atol=1e-5)
    assert len(jobs_seen) == 2                                    # the products, then the sum


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("M, K, N, k", [(40, 30, 20, 2), (10, 11, 7, 3), (64, 256, 33, 4)])
def test_dot_columns_of_a_transposed_A_summed(M, K, N, k, dtype, jobs_seen, rng, monkeypatch):
    """float64 (and float32 without the bundled OpenBLAS): column blocks, partial sums."""
    monkeypatch.setattr(threads.cblas, "AVAILABLE", False)
    A = rng.normal(size=(K, M)).astype(dtype).T                   # a transposed view (M, K)
    B = rng.normal(size=(K, N)).astype(dtype)
    out = threads.dot(A, B, k)
    np.testing.assert_allclose(out, np.dot(A, B), rtol=TOL[dtype], atol=TOL[dtype] * np.sqrt(K))
    ref = A.astype(np.float64) @ B.astype(np.float64)             # and against float64
    assert np.abs(out - ref).max() <= TOL[dtype] * np.abs(ref).max()
    call, sums = jobs_seen                                        # the products, then the sum
    widths = [K * (s + 1) // k - K * s // k for s in range(k)]
    assert [a.shape for a, _ in call] == [(M, w) for w in widths]
    assert [b.shape for _, b in call] == [(w, N) for w in widths]
    bands = [M * (s + 1) // k - M * s // k for s in range(k)]     # summed by bands of rows
    assert [(a.shape, axis) for a, axis in sums] == [((k, r, N), 0) for r in bands]


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("M, K, k", [(10, 8, 1), (10, 8, 0), (3, 8, 4), (10, 2, 3)])
def test_dot_falls_back_to_one_product(M, K, k, transposed, jobs_seen, rng):
    """k <= 1, or fewer rows (k > M) or columns (k > K) than threads: np.dot, no jobs."""
    A = rng.normal(size=(K, M)).T if transposed else rng.normal(size=(M, K))
    B = rng.normal(size=(K, 5))
    assert np.array_equal(threads.dot(A, B, k), np.dot(A, B))
    assert jobs_seen == []


# -- cblas -----------------------------------------------------------------------------------------
def numpy_openblas_threads() -> int:
    """threadpoolctl's thread count of the OpenBLAS inside numpy's wheel."""
    (info,) = [i for i in threadpool_info()
               if i["internal_api"] == "openblas" and "numpy" in i["filepath"]]
    return info["num_threads"]


def test_numpys_openblas_is_found():
    assert cblas.AVAILABLE, "NumPy's wheel bundles OpenBLAS; bptt.cells.cblas did not find it"
    assert cblas.SGEMM is not None
    assert cblas.threads() == numpy_openblas_threads()
    with threadpool_limits(limits=1, user_api="blas"):
        assert cblas.threads() == numpy_openblas_threads() == 1


def test_sgemm_multiplies(rng):
    A = rng.normal(size=(5, 3)).astype(np.float32)
    B = rng.normal(size=(3, 4)).astype(np.float32)
    C = np.full((5, 4), 2, dtype=np.float32)
    cblas.SGEMM(cblas.ROW_MAJOR, cblas.NO_TRANS, cblas.NO_TRANS, 5, 4, 3, 1.0, A.ctypes.data, 3,
                B.ctypes.data, 4, 0.5, C.ctypes.data, 4)             # C = A B + ½ C
    np.testing.assert_allclose(C, A.astype(np.float64) @ B + 1, rtol=1e-6)
    Bt = np.ascontiguousarray(B.T)
    cblas.SGEMM(cblas.ROW_MAJOR, cblas.NO_TRANS, cblas.TRANS, 5, 4, 3, 1.0, A.ctypes.data, 3,
                Bt.ctypes.data, 3, 0.0, C.ctypes.data, 4)            # C = A (Bᵀ)ᵀ
    np.testing.assert_allclose(C, A.astype(np.float64) @ B, rtol=1e-6, atol=1e-6)


@pytest.fixture
def two_threads():
    """OpenBLAS on 2 threads for the test (threadpoolctl restores the count afterwards)."""
    with threadpool_limits(limits=2, user_api="blas"):
        assert cblas.threads() == 2
        yield


def test_one_thread_sets_one_and_restores(two_threads):
    with cblas.one_thread():
        assert cblas.threads() == numpy_openblas_threads() == 1
    assert cblas.threads() == numpy_openblas_threads() == 2


def test_one_thread_restores_after_an_exception(two_threads):
    with pytest.raises(ZeroDivisionError, match="inside one_thread"):
        with cblas.one_thread():
            assert cblas.threads() == 1
            raise ZeroDivisionError("inside one_thread")
    assert cblas.threads() == 2
    assert cblas._held[0] == 0


def test_nested_one_thread_restores_when_the_outer_block_ends(two_threads):
    with cblas.one_thread():
        with cblas.one_thread():
            assert cblas.threads() == 1
        assert cblas.threads() == 1
        with cblas.one_thread():
            assert cblas.threads() == 1
        assert cblas.threads() == 1
    assert cblas.threads() == 2


def test_overlapping_blocks_in_two_threads(two_threads):
    """A enters, B enters, A leaves (still 1: B is inside), B leaves (restored)."""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen, errors = {}, []

    def guarded(fn):
        def body():
            try:
                fn()
            except BaseException as e:                   # noqa: BLE001 (reported below)
                errors.append(e)
                for ev in (a_in, b_in, a_out):
                    ev.set()
        return body

    @guarded
    def a():
        with cblas.one_thread():
            seen["a inside"] = cblas.threads()
            a_in.set()
            assert b_in.wait(10)
        seen["after a left"] = cblas.threads()
        a_out.set()

    @guarded
    def b():
        assert a_in.wait(10)
        with cblas.one_thread():
            seen["b inside"] = cblas.threads()
            b_in.set()
            assert a_out.wait(10)
            seen["b inside after a left"] = cblas.threads()

    ta, tb = threading.Thread(target=a), threading.Thread(target=b)
    ta.start(), tb.start()
    ta.join(20), tb.join(20)
    assert not errors and not ta.is_alive() and not tb.is_alive()
    assert seen == {"a inside": 1, "b inside": 1, "after a left": 1, "b inside after a left": 1}
    assert cblas.threads() == 2


def test_one_thread_is_a_no_op_under_a_limit_of_one(monkeypatch):
    calls = []
    monkeypatch.setattr(cblas, "_set_threads", lambda n: calls.append(n))
    with threadpool_limits(limits=1, user_api="blas"):
        with cblas.one_thread():
            assert cblas.threads() == 1
        assert cblas.threads() == 1
    assert calls == []


def test_one_thread_sets_through_openblas(two_threads, monkeypatch):
    """The counterpart of the no-op: from 2 threads, one set to 1 and one back to 2."""
    calls, set_threads = [], cblas._set_threads
    monkeypatch.setattr(cblas, "_set_threads", lambda n: (calls.append(n), set_threads(n)))
    with cblas.one_thread():
        with cblas.one_thread():
            pass
    assert calls == [1, 2]


CBLAS_OFF = """
import numpy as np
from bptt.cells import cblas
from bptt.cells.lstm import fused, slices
from bptt.cells.lstm.model import LSTM
print(cblas.AVAILABLE, cblas.threads(), cblas.SGEMM, cblas.CORE, cblas.SMALL_KERNELS)
with cblas.one_thread():
    pass
rng = np.random.default_rng(0)
T, B, D, H, O = 5, 16, 4, 6, 3
kw = dict(dtype=np.float32, seed=2)
model, ref = LSTM(D, H, O, **kw), LSTM(D, H, O, path="reference", **kw)
x, y = rng.integers(0, D, size=(T, B)), rng.integers(0, O, size=(T, B))
print(slices.count(x, fused.fuse(model.params, 0), True, None),
      slices.count(x, fused.fuse(model.params, 0), True, 2))
a, b = model.backward(x, y), ref.backward(x, y)
err = max(np.abs(a.grads[k] - b.grads[k]).max() / np.abs(b.grads[k]).max() for k in a.grads)
print(type(a.loss).__name__, abs(a.loss - b.loss) / b.loss, err)
"""


def test_bptt_cblas_0_turns_it_off_and_the_lstm_keeps_its_fused_path():
    env = dict(os.environ, BPTT_CBLAS="0")
    out = subprocess.run([sys.executable, "-c", CBLAS_OFF], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    first, counts, last = out.stdout.split("\n")[:3]
    assert first == "False None None None False"
    assert counts == "0 0"                                   # no slices, even when forced
    _, loss_err, grad_err = last.split()
    assert float(loss_err) <= 2e-6 and float(grad_err) <= 2e-5


def test_the_core_is_the_one_threadpoolctl_reads():
    """cblas.CORE, asked of NumPy's OpenBLAS directly, is the architecture threadpoolctl reports
    for it; it decides whether the per-step products are cut to OpenBLAS's small-matrix kernels."""
    from threadpoolctl import threadpool_info
    libs = [i for i in threadpool_info()
            if i["internal_api"] == "openblas" and "numpy" in i["filepath"]]
    assert len(libs) == 1 and cblas.CORE == libs[0]["architecture"]
    assert cblas.SMALL_KERNELS == cblas.small_kernels(cblas.CORE)


def test_small_matrix_kernels_on_skylakex_and_later_cores_only():
    assert all(cblas.small_kernels(c) for c in ("SkylakeX", "COOPERLAKE", "sapphirerapids"))
    assert not any(cblas.small_kernels(c) for c in ("Haswell", "Zen", "SandyBridge", "", None))


def test_a_forked_child_runs_jobs_on_a_fresh_pool():
    """After fork the parent's pool threads do not exist in the child: jobs submitted to the old
    pool would wait forever. The child starts a new pool."""
    import multiprocessing

    out = np.zeros(4)
    threads.run([(np.copyto, (out[:2], 1.0)), (np.copyto, (out[2:], 2.0))])   # the parent's pool
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()

    def child():
        a = np.zeros(4)
        threads.run([(np.copyto, (a[:2], 3.0)), (np.copyto, (a[2:], 4.0))])
        q.put(a.tolist())

    p = ctx.Process(target=child)
    p.start()
    p.join(timeout=60)
    alive = p.is_alive()
    if alive:
        p.kill()
    assert not alive and q.get(timeout=5) == [3.0, 3.0, 4.0, 4.0]


def test_a_k_split_over_many_threads_sums_every_part(jobs_seen, rng):
    """16 column blocks of a transposed view, their partial products summed by bands of rows."""
    rows = rng.normal(size=(70, 33))                             # (N, M) rows, read as A = rows.T
    B = rng.normal(size=(70, 9))
    got = threads.dot(rows.T, B, 16)
    np.testing.assert_allclose(got, rows.T @ B, rtol=1e-12, atol=1e-12)


def test_small_products_stay_on_the_calling_thread(jobs_seen, monkeypatch, rng):
    monkeypatch.setattr(threads, "MIN_SPLIT_FLOPS", 2 * 10 * 8 * 5)
    A, B = rng.normal(size=(10, 8)), rng.normal(size=(8, 5))
    assert np.array_equal(threads.dot(A[:9], B, 2), A[:9] @ B) and jobs_seen == []   # under
    threads.dot(A, B, 2)
    assert len(jobs_seen) == 1                                                      # at the bound


def test_small_partial_sums_stay_on_the_calling_thread(jobs_seen, monkeypatch, rng):
    monkeypatch.setattr(threads, "MIN_SPLIT_SUM", 2 * 6 * 4 + 1)    # k · M · N entries: under
    A, B = rng.normal(size=(30, 6)).T, rng.normal(size=(30, 4))      # a transposed view: K-split
    np.testing.assert_allclose(threads.dot(A, B, 2), A @ B, rtol=1e-12)
    assert len(jobs_seen) == 1                                      # the products only


def test_callers_on_several_threads_share_the_pool_safely():
    """Two Python threads running jobs at once, one of them needing a bigger pool than the other
    made: every job runs, none is refused by a pool being replaced."""
    import threading as th

    results, errors = {}, []

    def caller(name, k):
        try:
            for i in range(30):
                out = np.zeros(k)
                threads.run([(np.copyto, (out[j:j + 1], float(j + i))) for j in range(k)])
                results[(name, i)] = out.tolist() == [float(j + i) for j in range(k)]
        except Exception as e:                                    # pragma: no cover - reported below
            errors.append(e)

    ts = [th.Thread(target=caller, args=("a", 2)), th.Thread(target=caller, args=("b", 5))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=60)
    assert errors == [] and len(results) == 60 and all(results.values())


# -- bptt.cells.slicing: the forced count, and the hold ------------------------------------------
def test_a_forced_slice_count_must_be_a_count():
    from bptt.cells import slicing
    for bad in (-1, 2.0, "2", True):
        with pytest.raises(ValueError, match=r"slices must be None \(decide by OpenBLAS's threads\) "
                                             r"or an int >= 0 \(0: never\)\. Got "):
            slicing.count(32, 1e9, np.float32, True, bad, 0)
    assert slicing.count(32, 1e9, np.float32, True, np.int64(3), 0) == 3


def test_held_holds_openblas_at_one_thread_only_for_a_sliced_pass():
    from bptt.cells import slicing
    with threadpool_limits(limits=2, user_api="blas"):
        with slicing.held(0):
            assert cblas._get_threads() == 2
        with slicing.held(2):
            assert cblas._get_threads() == 1
        assert cblas._get_threads() == 2


def test_band_jobs_cover_the_rows_once_and_refuse_what_blas_cannot_read(rng):
    """`band_jobs`: k (function, args) whose bands of out's rows, run in any order, make out =
    A @ B; None for float64, a strided B, or an out of another dtype, shape or layout."""
    if not cblas.AVAILABLE:
        pytest.skip("NumPy's BLAS is not its bundled OpenBLAS")
    rows = rng.normal(size=(50, 36)).astype(np.float32)
    A, B = rows.T, rng.normal(size=(50, 9)).astype(np.float32)
    out = np.full((36, 9), np.nan, np.float32)
    jobs = threads.band_jobs(A, B, out, 3)
    assert [args[3:] for _, args in jobs] == [(0, 12), (12, 24), (24, 36)]
    for fn, args in reversed(jobs):
        fn(*args)
    ref = A.astype(np.float64) @ B.astype(np.float64)
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()
    assert threads.band_jobs(A.astype(np.float64), B, out, 2) is None      # float64
    assert threads.band_jobs(A, np.asfortranarray(B), out, 2) is None
    assert threads.band_jobs(A, B, out.astype(np.float64), 2) is None
    assert threads.band_jobs(A, B, out[:35], 2) is None
    assert threads.band_jobs(A, B, np.asfortranarray(out), 2) is None
