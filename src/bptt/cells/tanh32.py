"""tanh for float32 inside numba kernels: within 1.5 ulp of the exact value, vectorized.

numba compiles np.tanh to libm's scalar tanhf (≈ 50x slower than NumPy's SIMD loop); this one
uses only +, −, ×, ÷, a comparison and an exponent built from bits, which LLVM vectorizes:

    |x| < 0.625:  tanh x = x + x·s·P(s),  s = x²,  P of degree 4
    otherwise:    tanh x = sign(x) · (1 − 2 / (e^{2|x|} + 1)),  |x| clamped to 10 (tanh 10 rounds to 1)
                  e^y = 2^n · e^r,  n = round(y / ln 2),  r = y − n ln 2 in two parts (ln 2's
                  leading bits, then the rest, so r is exact), e^r by its Taylor series to r⁷
                  (|r| <= ln2/2: the next term is below 1e-8 of e^r), 2^n from the bits of a float.

P's coefficients were fitted by least squares to (tanh x − x) / (x s) on [0, 0.625], weighted
for relative error (largest relative error 4.6e-9 in float64, under float32's half ulp 3e-8).
Measured over 13 million float32 inputs in [−12, 12]: largest error 1.33 ulp (NumPy's float32
tanh: 1.37 ulp); tests/cells/test_tanh32.py checks it. Results are not bit-equal to np.tanh's.

Without numba (BPTT_NUMBA=0 or not installed) the functions are plain Python (slow, and never
run by the cells: the sliced loop needs numba); with it, the bit cast is an LLVM intrinsic, which
plain Python cannot call.
"""
from __future__ import annotations

import numpy as np

from .jit import AVAILABLE, numba

_f = np.float32
P0, P1, P2, P3, P4 = (_f(-0.3333328366279602), _f(0.13331452012062073), _f(-0.05374050512909889),
                      _f(0.020641708746552467), _f(-0.005707946140319109))
SMALL = _f(0.625)                   # below: the odd polynomial
XMAX = _f(10.0)                     # tanh x rounds to 1 in float32 from x ≈ 9.01 on
LOG2E = _f(1.4426950408889634)
LN2_HI = _f(0.693359375)            # ln 2 = LN2_HI + LN2_LO; LN2_HI has 9 significant bits, so
LN2_LO = _f(-2.12194440e-4)         # n · LN2_HI is exact for the n here (0..29)
E2, E3, E4, E5, E6, E7 = (_f(1 / 2), _f(1 / 6), _f(1 / 24), _f(1 / 120), _f(1 / 720), _f(1 / 5040))
ONE, HALF, TWO = _f(1), _f(0.5), _f(2)
EXP_BIAS, MANTISSA = np.int32(127), np.int32(23)


def bits_to_float32(bits):
    """The float32 whose bit pattern is the int32 `bits`."""
    return np.array(bits, dtype=np.int32).view(np.float32)[()]


def tanh32(x):
    """tanh of one float32 (see the module docstring)."""
    ax = abs(x)
    s = x * x
    small = x + x * s * (P0 + s * (P1 + s * (P2 + s * (P3 + s * P4))))
    y = min(ax, XMAX) * TWO
    n = np.int32(y * LOG2E + HALF)
    nf = _f(n)
    r = (y - nf * LN2_HI) - nf * LN2_LO
    er = ONE + r * (ONE + r * (E2 + r * (E3 + r * (E4 + r * (E5 + r * (E6 + r * E7))))))
    e = er * bits_to_float32((n + EXP_BIAS) << MANTISSA)
    big = ONE - TWO / (e + ONE)
    big = big if x >= 0 else -big
    small = small if ax > 0 else x                        # ±0 keeps its sign
    return big if ax >= SMALL else small                  # nan: small, which is nan


def tanh32_into(src, dst):
    """dst[k] = tanh32(src[k]) over flat, contiguous float32 arrays of one size, not overlapping
    (if they might, LLVM runs the scalar loop: 13x slower)."""
    for k in range(src.size):
        dst[k] = tanh32(src[k])


def tanh32_inplace(a):
    """a[k] = tanh32(a[k]) over a flat, contiguous float32 array."""
    for k in range(a.size):
        a[k] = tanh32(a[k])


if AVAILABLE:
    from llvmlite import ir
    from numba.core import types
    from numba.extending import intrinsic

    @intrinsic
    def _bits(typingctx, bits):
        """LLVM's bitcast of an int32 to a float32."""
        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], ir.FloatType())
        return types.float32(types.int32), codegen

    bits_to_float32 = _bits
    tanh32 = numba.njit(inline="always", fastmath=False, error_model="numpy")(tanh32)
    _jit = numba.njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
    tanh32_into, tanh32_inplace = _jit(tanh32_into), _jit(tanh32_inplace)
