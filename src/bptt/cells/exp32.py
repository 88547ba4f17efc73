"""e^x and the logistic function σ(x) for float32 inside numba kernels, vectorized.

numba compiles np.exp to libm's scalar expf; these use only +, −, ×, ÷, comparisons and an
exponent built from bits (as `bptt.cells.tanh32` does), which LLVM vectorizes:

    e^x = 2^n · e^r,  x clamped to [−87, 88],  n = x / ln 2 rounded to the nearest integer,
          r = x − n ln 2 in two parts (ln 2's leading bits, then the rest, so r is exact),
          e^r by its Taylor series to r⁷ (|r| <= ln2/2: the next term is below 1e-8 of e^r),
          2^n from the bits of a float (n in [−126, 127]: normal floats only). Below −87 the
          result is 0 (NumPy gives subnormals down to −103.9, then 0: both below 1.6e-38);
          above 88 it is e^88 ≈ 1.65e38 (NumPy: inf from 88.73 on). The cells only take
          exponentials of non-positive arguments.
    σ(x) = 1 / (1 + e^−|x|) for x >= 0, e^−|x| / (1 + e^−|x|) below: one exponential of a
          non-positive argument and one division, with no cancellation anywhere.

σ through exp32 costs one exponential and one division; through ½ tanh(½x) + ½ (how the cells
computed it before) it also evaluated tanh32's polynomial branch, and took 0.74 ms against 1.0
for the 1.2 million gate values of an LSTM pass at T50 B32 H256 (one core, AMD EPYC).
Measured over millions of float32 inputs (tests/cells/test_exp32.py): exp32 within 1.5 ulp of
the exact value over [−87, 88] (1.2 at most), σ within 3 ulp over [−87, 87] (2.8 at most; the
division and, below 0, the product add their roundings to exp32's). Both are monotone, except
that σ below 0 may step back by 1 ulp between consecutive floats (its two roundings).

Without numba (BPTT_NUMBA=0 or not installed) the functions are plain Python, slow and never
run by the cells; with it, the bit cast is an LLVM intrinsic (`bptt.cells.tanh32`'s).
"""
from __future__ import annotations

import numpy as np

from .jit import AVAILABLE, numba
from .tanh32 import (E2, E3, E4, E5, E6, E7, EXP_BIAS, HALF, LN2_HI, LN2_LO, LOG2E, MANTISSA,
                     ONE, bits_to_float32)

_f = np.float32
XMIN, XMAX = _f(-87.0), _f(88.0)    # 2^n stays a normal float: n from −126 to 127
ZERO = _f(0)


def exp32(x):
    """e^x of one float32: 0 below −87, e^88 above 88 (see the module docstring)."""
    low = x < XMIN
    x = min(max(x, XMIN), XMAX)
    v = x * LOG2E
    n = np.int32(v + HALF) if v >= 0 else np.int32(v - HALF)   # to the nearest integer
    nf = _f(n)
    r = (x - nf * LN2_HI) - nf * LN2_LO
    er = ONE + r * (ONE + r * (E2 + r * (E3 + r * (E4 + r * (E5 + r * (E6 + r * E7))))))
    e = er * bits_to_float32((n + EXP_BIAS) << MANTISSA)
    return ZERO if low else e


def sigmoid32(x):
    """σ(x) = 1 / (1 + e^−x) of one float32 (see the module docstring); nan stays nan."""
    e = exp32(-abs(x))
    q = ONE / (ONE + e)
    return q if x >= 0 else e * q if x < 0 else x


def exp32_into(src, dst):
    """dst[k] = exp32(src[k]) over flat, contiguous float32 arrays of one size, not overlapping."""
    for k in range(src.size):
        dst[k] = exp32(src[k])


def sigmoid32_into(src, dst):
    """dst[k] = sigmoid32(src[k]) over flat, contiguous float32 arrays of one size, not
    overlapping."""
    for k in range(src.size):
        dst[k] = sigmoid32(src[k])


def sigmoid32_inplace(a):
    """a[k] = sigmoid32(a[k]) over a flat, contiguous float32 array."""
    for k in range(a.size):
        a[k] = sigmoid32(a[k])


if AVAILABLE:
    exp32 = numba.njit(inline="always", fastmath=False, error_model="numpy")(exp32)
    sigmoid32 = numba.njit(inline="always", fastmath=False, error_model="numpy")(sigmoid32)
    _jit = numba.njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
    exp32_into, sigmoid32_into, sigmoid32_inplace = (
        _jit(exp32_into), _jit(sigmoid32_into), _jit(sigmoid32_inplace))
