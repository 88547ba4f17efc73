"""A sliced LSTM pass's forward, output layer, loss and BPTT as one job per slice.

In batch slices (`bptt.cells.lstm.slices`), `fused.loss_and_backward` hands work to bptt's
threads five times for a one-layer model: the forward's slices, the head's bands of positions,
BPTT's slices, ∂J/∂R's parts and their sum. Each hand-over costs a thread's wake-up (60-120 µs on
the 2-core AMD EPYC machine) and a wait for the slowest thread, and the Python between the
hand-overs runs on one thread (benchmarks/RESULTS.md, round 8).

Until the weight gradients, nothing couples the slices: slice s's rows of a layer's forward need
only its rows of the layer below, the head at its positions (t, b) for b in the slice needs only
its rows of the top layer, and its BPTT only those positions' errors. So one job per slice runs,
on its thread: every layer's forward, bottom up; the head and the loss at its positions, every
step (`bptt.cells.head.softmax_slices`); then BPTT top down, with the errors of each layer's input
Σ_g W_gᵀ ∂J/∂ĝ(t) (`slices.input_error_jobs`) between the layers. Then the jobs wait for each
other at a barrier (the weight gradients sum over every slice's positions), and each multiplies
a band of rows of every layer's ∂J/∂R (and a float layer's ∂J/∂W) over all positions
(`threads.band_jobs`; positions t >= 1 only where y(−1) = 0). That is one hand-over in all;
after the join, the sums of the slices' parts (J, ∂J/∂V, ∂J/∂c, ∂J/∂b, a token layer's ∂J/∂W).
(Summing them inside the jobs instead, on the thread that arrives last or first at the barrier,
measured no faster: the sums hold the GIL the other thread needs to wake.)

The layers run the same kernels on the same rows as in the phased pass. The head sums its parts
per slice instead of per band of positions, and a lower layer's errors come from per-step
products instead of one GEMM, so the results agree to float32 rounding. `loss_and_backward`
is the LSTM model's entry: it runs `in_jobs` where the head is `bptt.cells.head.softmax_band`'s
(softmax, token targets, per-step losses) and the pass is sliced, else `fused.loss_and_backward`.
"""
from __future__ import annotations

import threading

import numpy as np

from . import fused
from . import slices as sliced
from .. import aligned, cblas, threads
from ..head import softmax_kernel, softmax_slices
from ...nn.losses import MeanPooled
from .reference import GATES, key


def applies(output: str, y, V) -> bool:
    """Whether `in_jobs` may run: a per-step loss whose head is `softmax_band`'s (softmax, token
    targets, float32, numba, NumPy's OpenBLAS)."""
    return not isinstance(y, MeanPooled) and softmax_kernel(output, y, V)


def loss_and_backward(x, h0, c0, params, num_layers, output: str, y, weight, numba=None):
    """`fused.loss_and_backward` (same arguments and returns), run by `in_jobs` when the pass is
    sliced and the head applies (`applies`); otherwise `fused.loss_and_backward` itself."""
    fl = None
    if applies(output, y, params["V"]):
        fl = fused.fuse(params, 0)
        k = sliced.count(x, fl, fused.use_kernels(numba, fl), None)
        if k:
            return in_jobs(x, h0, c0, params, num_layers, y, weight, k, fl)
    return fused.loss_and_backward(x, h0, c0, params, num_layers, output, y, weight, numba, fl)


def in_jobs(x, h0, c0, params, num_layers, y, weight, k: int, fl0):
    """`fused.loss_and_backward` for a pass in k slices, one job each; fl0 layer 0's
    FusedLayer. Returns (J, passes, dx or None, ∂J/∂h0, ∂J/∂c0 (num_layers, B, H), grads keyed
    like params)."""
    steps = [[] for _ in range(k)]                       # slice s's kernels, in order

    def add(jobs):
        for s, job in enumerate(jobs):
            steps[s].append(job)

    passes, inp = [], x
    for layer in range(num_layers):
        fl = fl0 if layer == 0 else fused.fuse(params, layer)
        if inp.dtype.kind in "iu":
            inp = fused.check_ids(inp, fl.Ws.shape[1])
        sp, jobs = sliced.forward_jobs(inp, h0[layer], c0[layer], fl, k)
        add(jobs)
        passes.append(sp)
        inp = sp.Ys[1:]                                  # layer l's y(t) is layer l+1's x(t)
    dY, jobs, head = softmax_slices(passes[-1].Ys[1:], params["V"], params["c"], y, weight,
                                    passes[-1].slices)
    add(jobs)
    finishes, tokens = [], x.dtype.kind in "iu"
    for layer in reversed(range(num_layers)):
        sp = passes[layer]
        jobs, finish = sliced.backward_jobs(dY, sp)
        add(jobs)
        finishes.append((layer, finish))
        if layer > 0 or not tokens:                      # ∂J/∂x(t) = Σ_g W_gᵀ ∂J/∂ĝ(t): the
            dY = aligned.empty(sp.x.shape, sp.G.dtype)   # outside errors of the layer below, or
            add(sliced.input_error_jobs(sp, dY))         # ∂J/∂x
    bands = [_gradient_bands(passes[layer], k) for layer in range(num_layers)]
    barrier = threading.Barrier(k)                       # once every slice is there: a band of
    for s in range(k):                                   # rows of each ∂J/∂R on each thread
        steps[s].append((barrier.wait, ()))
        for jobs, _, _ in bands:
            steps[s].extend(jobs[s] if jobs else ())
    with cblas.one_thread():
        threads.run([(_in_order, (jobs, barrier)) for jobs in steps])
        J, dV, dc = head()
        dh0, dc0, grads = [None] * num_layers, [None] * num_layers, {"V": dV, "c": dc}
        for layer, finish in finishes:
            rows, dh0[layer], dc0[layer], db, dW = finish()
            _, dR, dWx = bands[layer]
            g = _weight_gradients(passes[layer], rows.reshape(-1, rows.shape[2]), k, db,
                                  dW if dWx is None else dWx, dR)
            grads.update({key(name, layer): v for name, v in g.items()})
    dx = None if tokens else dY
    return (J, passes, dx, np.stack(dh0), np.stack(dc0),
            {name: grads[name] for name in params})


def _in_order(jobs, barrier) -> None:
    """One slice's kernels, one after the other, on the thread that runs them. An error aborts
    the barrier the slices meet at, so that the others stop waiting (their BrokenBarrierError is
    dropped: `threads.run` raises the error that broke it)."""
    try:
        for fn, args in jobs:
            fn(*args)
    except threading.BrokenBarrierError:
        return
    except BaseException:
        barrier.abort()
        raise


def _gradient_bands(sp, k: int):
    """(per slice [(kernel, args)], ∂J/∂R (4H, H), ∂J/∂W (4H, D) for float inputs, else None): the
    layer's weight gradients from its ∂J/∂ĝ rows, each slice's thread a band of their rows
    (`threads.band_jobs`), once every slice's ∂J/∂ĝ is there. A zero initial state y(−1) leaves
    out the first step's rows from ∂J/∂R's product (their part is 0; the product is 2 % shorter at
    T50). (None, None, None) where BLAS cannot take the bands: `_weight_gradients` then computes
    them after the join."""
    T, B, H4 = sp.G.shape
    rows, Ys = sp.G.reshape(T * B, H4), sp.Ys
    dR = np.empty((H4, H4 // 4), dtype=rows.dtype)
    dW = np.empty((H4, sp.x.shape[2]), dtype=rows.dtype) if sp.x.dtype.kind == "f" else None
    jobs_W = [] if dW is None else threads.band_jobs(rows.T, sp.x.reshape(T * B, -1), dW, k)
    if T > 1 and not Ys[0].any():
        rows, Ys = rows[B:], Ys[1:]                      # y(−1) = 0: positions t >= 1 only
    jobs_R = threads.band_jobs(rows.T, Ys[:-1].reshape(-1, H4 // 4), dR, k)
    if jobs_W is None or jobs_R is None:
        return None, None, None
    return [jobs_W[s:s + 1] + [jobs_R[s]] for s in range(k)], dR, dW


def _weight_gradients(sp, rows, k: int, db, dW, dR=None) -> dict:
    """∂J/∂W, ∂J/∂R, ∂J/∂b under the layer's plain names from its ∂J/∂ĝ rows (N, 4H): dR from
    `_gradient_bands`, or computed here (`fused.weight_gradients`, over all the rows)."""
    if dR is None:
        dG, Ys, B = rows.T, sp.Ys, sp.Ys.shape[1]
        if dW is None and sp.x.dtype.kind == "f":        # float inputs: Σ_t ∂J/∂ĝ(t) x(t)ᵀ
            dW = threads.dot(dG, sp.x.reshape(rows.shape[0], -1), k)
        if dW is not None and rows.shape[0] > B and not Ys[0].any():
            dG, Ys = rows[B:].T, Ys[1:]                  # y(−1) = 0: positions t >= 1 only
        return fused.weight_gradients(sp.x, dG, Ys, sp.fl, True, True, k, db, dW)
    if dW is None:                                       # token ids, not summed in the slices
        dW = fused.token_weight_gradient(sp.x, rows.T, sp.fl.W.shape[1], True)
    H = dR.shape[1]
    grads = {}
    for q, g in enumerate(GATES):
        r = slice(q * H, (q + 1) * H)
        grads[f"W_{g}"], grads[f"R_{g}"], grads[f"b_{g}"] = dW[r], dR[r], db[r]
    return grads
