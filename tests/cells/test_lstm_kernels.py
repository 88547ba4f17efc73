"""The kernels of `bptt.cells.lstm.kernels` round exactly as the NumPy ufuncs they replace, and the fast
path gives the same numbers with and without them.

The kernels run numba-compiled when numba is installed and as plain Python otherwise (slow, exact):
only the tests about numba itself skip without it.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

from bptt.cells.lstm import fused as lstm_fused
from bptt.cells.lstm import kernels as lstm_kernels
from bptt.cells.lstm import slices as lstm_slices
from bptt.cells.lstm.model import LSTM
from conftest import make_lstm_problem

NUMBA = lstm_kernels.numba is not None
needs_numba = pytest.mark.skipif(not NUMBA, reason="numba is not installed (pip install numba); "
                                                   "the kernels ran as plain Python instead")
DTYPES = ["float32", "float64"]


def gates(rng, H, B, dtype):
    """A step's gate values [z; i; f; o] (4H, B): z in (−1, 1), the gates in (0, 1)."""
    g = np.concatenate([rng.uniform(-1, 1, (H, B)), rng.uniform(0, 1, (3 * H, B))])
    return g.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cell_forward_kernel_is_bitwise_numpy(dtype, rng):
    H, B = 5, 7
    pre = rng.normal(scale=2, size=(4 * H, B)).astype(dtype)          # [ẑ; ½î; ½f̂; ½ô]
    c_prev = rng.normal(size=(H, B)).astype(dtype)
    g1, c1 = pre.copy(), np.empty_like(c_prev)
    lstm_kernels.cell_forward(g1, c_prev, c1, np.empty_like(c_prev), None)
    g2, c2 = np.tanh(pre), np.empty_like(c_prev)
    lstm_kernels.cell_forward_nb(g2, c_prev, c2, np.dtype(dtype).type(0.5))
    assert np.array_equal(g1, g2) and np.array_equal(c1, c2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cell_backward_kernel_is_bitwise_numpy(dtype, rng):
    H, B = 5, 7
    g = gates(rng, H, B, dtype)
    dy_rec, c_prev, carry = (rng.normal(size=(H, B)).astype(dtype) for _ in range(3))
    tc = np.tanh(rng.normal(size=(H, B))).astype(dtype)
    dy_out = rng.normal(size=(B, H)).astype(dtype).T                # a transposed view, as dY[t].T
    g1, work = g.copy(), np.full((7 * H, B), np.nan, dtype=dtype)  # scratch: NaN unless written
    work[H:2 * H] = carry                                           # the carry's rows
    lstm_kernels.cell_backward(dy_rec, dy_out, g1, tc, c_prev, work, None)
    g2, carry2 = g.copy(), carry.copy()
    lstm_kernels.cell_backward_nb(dy_rec, np.ascontiguousarray(dy_out), g2, tc, c_prev, carry2)
    assert np.array_equal(g1, g2) and np.array_equal(work[H:2 * H], carry2)


def test_gather_transpose_and_scatter_kernels(rng):
    H4, B, D = 12, 5, 4
    rec, tableT = rng.normal(size=(H4, B)), rng.normal(size=(H4, D))
    ids = rng.integers(0, D, size=B)
    g = np.empty((H4, B))
    lstm_kernels.gates_in_ids_nb(rec, tableT, ids, g)
    assert np.array_equal(g, rec + tableT[:, ids])
    for shape in [(40, 3), (3, 40), (17, 16), (1, 1)]:
        src, dst = rng.normal(size=shape), np.empty(shape[::-1])
        lstm_kernels.transpose_nb(src, dst)
        assert np.array_equal(dst, src.T)
    rows, ids = rng.normal(size=(30, H4)), rng.integers(0, D, size=30)
    out, expected = np.zeros((D, H4)), np.zeros((D, H4))
    lstm_kernels.token_scatter_nb(ids, rows, out)
    np.add.at(expected, ids, rows)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("tokens", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_fast_path_same_numbers_with_and_without_kernels(num_layers, tokens, dtype, monkeypatch, rng):
    """Forward: bit for bit. Gradients: the same up to the order of the final sums (∂J/∂W of
    token ids is a scatter-add, ∂J/∂R a GEMM over the other layout of ∂J/∂ĝ)."""
    monkeypatch.setattr(lstm_kernels, "AVAILABLE", True)
    T, B, D, H, O = 8, 3, 5, 6, 4
    model = LSTM(D, H, O, num_layers=num_layers, dtype=dtype, seed=1)
    x, _, (h0, c0), _ = make_lstm_problem(rng, T, B, D, H, O, 2, tokens=tokens)
    x = x if tokens else x.astype(dtype)
    h0, c0 = h0[:num_layers].astype(dtype), c0[:num_layers].astype(dtype)
    runs = []
    for numba in (False, True):
        passes, o = lstm_fused.forward(x, h0, c0, model.params, num_layers, numba=numba, slices=0)
        states = [(p.Ys.copy(), p.Cf.copy(), p.TCf.copy(), p.Gf.copy()) for p in passes]
        dO = np.asarray(rng.normal(size=o.shape) if not runs else runs[0][2], dtype=dtype)
        runs.append((o, states, dO, lstm_fused.backward(dO, passes, model.params, numba=numba)))
    (o1, s1, _, (dx1, dh1, dc1, g1)), (o2, s2, _, (dx2, dh2, dc2, g2)) = runs
    assert np.array_equal(o1, o2)
    assert all(np.array_equal(a, b) for st1, st2 in zip(s1, s2) for a, b in zip(st1, st2))
    tol = 1e-13 if dtype == "float64" else 1e-5
    for a, b in [(dh1, dh2), (dc1, dc2)] + [(g1[k], g2[k]) for k in g1]:
        assert a.dtype == b.dtype == np.dtype(dtype)
        assert np.abs(a - b).max() <= tol * np.abs(a).max()
    assert (dx1 is None and dx2 is None) if tokens else np.abs(dx1 - dx2).max() <= tol * np.abs(dx1).max()


def test_kernels_read_only_known_ids(monkeypatch):
    monkeypatch.setattr(lstm_kernels, "AVAILABLE", True)
    fl = lstm_fused.fuse(LSTM(4, 3, 2).params, 0)
    state = np.zeros((2, 3))
    with pytest.raises(IndexError, match=r"\[0, 4\)"):
        lstm_fused.layer_forward(np.array([[0, 4]]), state, state, fl, numba=True)


def test_asking_for_kernels_without_numba_says_how_to_get_them(monkeypatch):
    monkeypatch.setattr(lstm_kernels, "AVAILABLE", False)
    fl = lstm_fused.fuse(LSTM(4, 3, 2).params, 0)
    with pytest.raises(RuntimeError, match=r"it is a dependency of bptt: pip install numba\) or BPTT_NUMBA=0"):
        lstm_fused.use_kernels(True, fl)
    assert lstm_fused.use_kernels(None, fl) is False
    monkeypatch.setattr(lstm_kernels, "AVAILABLE", True)
    assert lstm_fused.use_kernels(None, fl) is True and lstm_fused.use_kernels(False, fl) is False
    peep = lstm_fused.fuse(LSTM(4, 3, 2, peepholes=True).params, 0)
    assert lstm_fused.use_kernels(True, peep) is False            # peepholes: the NumPy path


def test_environment_variable_turns_the_kernels_off():
    code = "from bptt.cells.lstm import kernels; print(kernels.AVAILABLE)"
    env = dict(os.environ, BPTT_NUMBA="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


@needs_numba
def test_kernels_are_compiled_when_numba_is_installed():
    assert lstm_kernels.AVAILABLE
    for name in ("cell_forward_nb", "cell_backward_nb", "gates_in_ids_nb", "transpose_nb",
                 "token_scatter_nb"):
        assert isinstance(getattr(lstm_kernels, name), lstm_kernels.numba.core.registry.CPUDispatcher)


@needs_numba
@needs_numba
def test_model_runs_the_kernels_by_default(monkeypatch):
    """LSTM's fast path runs numba kernels when numba is there (no argument needed): in float32
    the batch-sliced loop (one slice for this small pass), and with slicing off or in float64 the
    fused loop's kernels, once a step."""
    sliced, calls = [], []
    whole_slice = lstm_slices.backward
    monkeypatch.setattr(lstm_slices, "backward", lambda *a: sliced.append(1) or whole_slice(*a))
    original = lstm_kernels.cell_backward_nb
    monkeypatch.setattr(lstm_kernels, "cell_backward_nb", lambda *a: calls.append(1) or original(*a))
    ids = np.zeros((5, 2), dtype=int)
    LSTM(4, 3, 2, dtype="float32").backward(ids, ids)
    assert sliced == [1] and calls == []
    LSTM(4, 3, 2, dtype="float64").backward(ids, ids)
    assert sliced == [1] and len(calls) == 5
    monkeypatch.setenv("BPTT_SLICES", "0")
    LSTM(4, 3, 2, dtype="float32").backward(ids, ids)
    assert sliced == [1] and len(calls) == 10
