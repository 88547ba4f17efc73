"""The output layer and the loss of a sliced pass over bands of positions, on bptt's threads.

Between the layers' forward and their BPTT, a pass run in batch slices (`bptt.cells.slicing`)
needs, over all N = T·B positions: the logits o = c + V y, the loss J and ∂J/∂o, the outside
errors Vᵀ ∂J/∂o of the top layer, and ∂J/∂V, ∂J/∂c. None of it depends on time, so each of k
threads does all of it for one band of positions (contiguous rows of the (N, H) top outputs):
one hand-over to the threads instead of four (the three products split, the loss on one
thread), and the loss's passes over the (N, O) logits run in parallel too. The band's partial
J, ∂J/∂V and ∂J/∂c are summed after.

Per-step losses only: a loss pooled over time (`bptt.nn.losses.MeanPooled`) couples positions, and
its pass keeps the one-thread head.
"""
from __future__ import annotations

import numpy as np

from . import threads
from ..nn.losses import loss_and_error


def head_backward(Y, V, c, output: str, y, weight, k: int):
    """Y (T, B, H) the top layer's outputs y(t); V (O, H), c (O,); y the targets (T, B) or
    (T, B, O); weight (T, B) = mask / B. Returns (J, dY (T, B, H) = Vᵀ ∂J/∂o(t) batch-major,
    ∂J/∂V (O, H), ∂J/∂c (O,))."""
    T, B, H = Y.shape
    N = T * B
    Y2 = Y.reshape(N, H)
    y2 = y.reshape((N,) + y.shape[2:])
    w2 = weight.reshape(N)
    dY = np.empty((N, H), dtype=Y.dtype)
    edges = [N * s // k for s in range(k + 1)]
    parts = [None] * k

    def band(i, r0, r1):
        o = np.dot(Y2[r0:r1], V.T)                       # o = c + V y, the band's rows
        o += c
        J, _, do = loss_and_error(output, o, y2[r0:r1], w2[r0:r1])
        np.dot(do, V, out=dY[r0:r1])                     # Vᵀ ∂J/∂o
        parts[i] = (J, np.dot(do.T, Y2[r0:r1]), do.sum(axis=0))   # ∂J/∂V, ∂J/∂c of the band

    threads.run([(band, (i, r0, r1)) for i, (r0, r1) in enumerate(zip(edges[:-1], edges[1:]))])
    J = float(sum(p[0] for p in parts))
    dV = np.sum([p[1] for p in parts], axis=0, dtype=Y.dtype)
    dc = np.sum([p[2] for p in parts], axis=0, dtype=Y.dtype)
    return J, dY.reshape(T, B, H), dV, dc
