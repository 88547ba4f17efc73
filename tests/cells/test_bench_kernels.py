"""The speed-driven variants of the fast path (chosen by shape, see bptt.cells.rnn.fused) give the numbers
of the plain fast path and of the reference path."""
import numpy as np
import pytest

import bptt
from bptt.cells import cblas, fastpath
from bptt.cells.rnn import fused
from conftest import make_problem


def _backward(model, problem, *, blocks: bool, monkeypatch):
    monkeypatch.setattr(cblas, "SMALL_KERNELS", blocks)
    x, y, h0, m = problem
    return model.backward(x, y, h0=h0, mask=m)


@pytest.mark.parametrize("tokens", [False, True])
@pytest.mark.parametrize("B, H", [(16, 256), (12, 384)])
def test_row_blocked_products_equal_plain_ones(B, H, tokens, rng, monkeypatch):
    bitwise = cblas.SMALL_KERNELS        # OpenBLAS's two kernels sum in the same order
    monkeypatch.setattr(cblas, "SMALL_KERNELS", True)
    assert fused.row_blocks(B, H, np.float32) < B              # the blocked loop is exercised
    T, D, O = 4, 5, 3
    model = bptt.SimpleRNN(D, H, O, dtype="float32", seed=1)
    ref = bptt.SimpleRNN(D, H, O, dtype="float32", seed=1, path="reference")
    problem = make_problem(rng, T, B, D, H, O, tokens=tokens, mask=True)
    a = _backward(model, problem, blocks=True, monkeypatch=monkeypatch)
    b = _backward(model, problem, blocks=False, monkeypatch=monkeypatch)
    x, y, h0, m = problem
    r = ref.backward(x, y, h0=h0, mask=m)
    for k in model.params:
        if bitwise:
            assert np.array_equal(a.grads[k], b.grads[k]), k
        np.testing.assert_allclose(a.grads[k], b.grads[k], rtol=0,
                                   atol=1e-6 * np.abs(b.grads[k]).max())
        assert np.abs(a.grads[k] - r.grads[k]).max() <= 2e-5 * np.abs(r.grads[k]).max(), k
    assert abs(a.loss - r.loss) <= 2e-5 * abs(r.loss)
    assert np.abs(a.dh0 - r.dh0).max() <= 2e-5 * np.abs(r.dh0).max()
    if not tokens:
        assert np.abs(a.dx - r.dx).max() <= 2e-5 * np.abs(r.dx).max()


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "identity"])
def test_per_step_derivative_branch_equals_reference(activation, rng):
    """B·H >= _PER_STEP_GRAD_MIN: g' is computed step by step into one buffer."""
    T, B, D, H, O = 3, 16, 5, 256, 4
    assert B * H >= fused._PER_STEP_GRAD_MIN
    fast = bptt.SimpleRNN(D, H, O, activation=activation, seed=2)
    ref = bptt.SimpleRNN(D, H, O, activation=activation, seed=2, path="reference")
    x, y, h0, m = make_problem(rng, T, B, D, H, O, mask=True)
    a, b = fast.backward(x, y, h0=h0, mask=m), ref.backward(x, y, h0=h0, mask=m)
    assert abs(a.loss - b.loss) <= 1e-12 * abs(b.loss)
    for k in fast.params:
        assert np.abs(a.grads[k] - b.grads[k]).max() <= 1e-12 * np.abs(b.grads[k]).max(), k
    assert np.abs(a.dx - b.dx).max() <= 1e-12 * np.abs(b.dx).max()


def test_row_blocks_only_where_it_was_measured_to_help(monkeypatch):
    monkeypatch.setattr(cblas, "SMALL_KERNELS", True)
    assert fused.row_blocks(32, 256, np.float32) == 8
    assert fused.row_blocks(8, 384, np.float32) == 4
    for B, H, dtype in [(64, 256, np.float32), (32, 512, np.float32), (32, 128, np.float32),
                        (32, 256, np.float64), (2, 256, np.float32)]:
        assert fused.row_blocks(B, H, dtype) == B
    monkeypatch.setattr(cblas, "SMALL_KERNELS", False)
    assert fused.row_blocks(32, 256, np.float32) == 32


def test_token_gradient_paths_agree(rng):
    """np.add.reduceat (small N) and the per-id reduce loop (large N) sum the same terms."""
    H, D = 7, 11
    for N in (fastpath._REDUCEAT_MAX, fastpath._REDUCEAT_MAX + 1, 3 * fastpath._REDUCEAT_MAX):
        ids = rng.integers(0, D, size=(N, 1))
        dA = rng.normal(size=(N, 1, H))
        expected = np.zeros((D, H))
        np.add.at(expected, ids[:, 0], dA[:, 0])
        got = fastpath.token_gradient(ids, dA, (H, D), np.float64)
        np.testing.assert_allclose(got, expected.T, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu", "identity"])
def test_grad_from_output_matches_the_activation(name, rng):
    from bptt.nn.activations import ACTIVATIONS
    act = ACTIVATIONS[name]
    h = act.fn(rng.normal(size=(3, 4, 5)))
    np.testing.assert_allclose(fused.grad_from_output(act, h), act.grad_from_output(h), rtol=1e-15)


def test_loss_and_error_does_not_modify_logits(rng):
    from bptt.nn.losses import loss_and_error
    o = rng.normal(size=(4, 3, 6))
    keep = o.copy()
    y = rng.integers(0, 6, size=(4, 3))
    loss, y_hat, do = loss_and_error("softmax", o, y, np.full((4, 3), 1 / 3))
    assert np.array_equal(o, keep) and not np.shares_memory(y_hat, do)
    onehot = np.eye(6)[y]
    np.testing.assert_allclose(do, (y_hat - onehot) / 3, rtol=1e-14, atol=1e-16)


def test_malloc_pad_can_be_turned_off():
    assert fastpath.retain_freed_memory(0) is False


def test_the_malloc_pad_does_not_make_torch_fault_its_pages_in():
    """import bptt sets M_TOP_PAD, which freezes glibc's dynamic mmap threshold; set alone it
    left torch's LSTM in the same process faulting ~3,700 pages in per call at T50 B32 H256
    (17-35 % slower; glibc's own default: ~420). With the mmap and trim thresholds set too, its
    blocks stay on the heap and are reused: no faults after the first calls."""
    import subprocess
    import sys
    pytest.importorskip("torch")
    code = """
import resource
import bptt
import torch
from bptt.cells import cblas, fastpath
assert fastpath.MALLOC_TUNED
torch.set_num_threads(1)
T, B, V, H = 50, 32, 65, 256
lstm, linear = torch.nn.LSTM(V, H), torch.nn.Linear(H, V)
x = torch.nn.functional.one_hot(torch.arange(T * B).reshape(T, B) % V, V).float()
def call():
    lstm.zero_grad(); linear.zero_grad()
    linear(lstm(x)[0]).sum().backward()
for _ in range(3):
    call()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    call()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert float(r.stdout) < 1000, r.stdout                         # faults per call
