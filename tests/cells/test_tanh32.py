"""`bptt.cells.tanh32`, the float32 tanh of the sliced loops' numba kernels: within 1.5 ulp
of the exact value (float64 np.tanh) over every range, its special values, odd symmetry bit for
bit, monotone, and its two array loops agree bit for bit.

ulp: np.spacing of the true value rounded to float32, in magnitude. The jitted scalar tanh32
cannot be called from Python (inline njit, an LLVM bit cast), so everything goes through
tanh32_into / tanh32_inplace over flat float32 arrays.
"""
import numpy as np
import pytest

from bptt.cells import jit
from bptt.cells import tanh32 as t32

assert jit.AVAILABLE, ("numba is required by these tests (the jitted tanh32 is what the sliced "
                       "loops run); install numba and unset BPTT_NUMBA=0")

MAX_ULP = 1.5
CHUNK = 1 << 21
# tanh32_into as the sliced kernels compiled with fused multiply-adds run it (`slicing.kernel_fma`:
# the inlined polynomial contracts; some results differ by an ulp): the same bounds must hold
INTO = {"plain": t32.tanh32_into,
        "fma": jit.numba.njit(fastmath={"contract"}, error_model="numpy")(t32.tanh32_into.py_func)}


def bits(a: int, b: int) -> np.ndarray:
    """Every float32 whose bit pattern lies in [a, b) (consecutive floats)."""
    return np.arange(a, b, dtype=np.int32).view(np.float32)


def fbits(x: float) -> int:
    return int(np.float32(x).view(np.int32))


def tanh32(x: np.ndarray, variant: str = "plain") -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty_like(x)
    INTO[variant](x, out)
    return out


def ulp_errors(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """|y − tanh x| in ulps of the true value rounded to float32 (exact tanh: float64)."""
    true = np.tanh(x.astype(np.float64))
    ulp = np.spacing(np.abs(true).astype(np.float32)).astype(np.float64)
    return np.abs(y.astype(np.float64) - true) / ulp


def max_ulp(x: np.ndarray, variant: str = "plain") -> float:
    """The largest error of tanh32 over x in ulps, in chunks (bounded memory)."""
    worst = 0.0
    for s in range(0, x.size, CHUNK):
        part = x[s:s + CHUNK]
        worst = max(worst, float(ulp_errors(part, tanh32(part, variant)).max()))
    return worst


def ranges(rng) -> dict:
    """Several million float32 inputs over every regime of the function."""
    b625 = fbits(0.625)
    tiny = rng.integers(1, fbits(1e-3), size=500_000).astype(np.int32).view(np.float32)
    return {
        "uniform [-12, 12]": rng.uniform(-12, 12, size=4_000_000).astype(np.float32),
        "uniform [-1, 1]": rng.uniform(-1, 1, size=2_000_000).astype(np.float32),
        "around 0.625": np.concatenate([bits(b625 - 500_000, b625 + 500_000),
                                        -bits(b625 - 500_000, b625 + 500_000)]),
        # random bit patterns up to 1e-3: mostly tiny, 0.7 % of them subnormal
        "tiny": np.concatenate([tiny, -tiny, bits(1, 100_000), bits(0x7FFF00, 0x800100)]),
        "large": np.concatenate([rng.uniform(2, 12, size=1_000_000).astype(np.float32),
                                 -rng.uniform(2, 12, size=1_000_000).astype(np.float32),
                                 rng.integers(fbits(10.0), fbits(3e38), size=200_000)
                                 .astype(np.int32).view(np.float32)]),
    }


@pytest.mark.parametrize("variant", sorted(INTO))
def test_within_one_and_a_half_ulp_over_several_million_inputs(variant, rng):
    errors = {name: max_ulp(x, variant) for name, x in ranges(rng).items()}
    assert all(e <= MAX_ULP for e in errors.values()), errors
    assert errors["tiny"] <= 0.5                          # x + x·s·P(s) with s tiny: x, rounded


def test_polynomial_branch_exhaustively():
    """Every float32 in [0.3, 0.625), where the odd polynomial rules (8.8 million): a wrong
    coefficient shows here (see the next test)."""
    x = bits(fbits(0.3), fbits(0.625))
    assert x.size > 8_000_000
    assert max_ulp(x) <= MAX_ULP
    assert max_ulp(-x) <= MAX_ULP


def polynomial(x, P):
    """The small branch of tanh32 in NumPy float32, the same operations in the same order."""
    s = x * x
    return x + x * s * (P[0] + s * (P[1] + s * (P[2] + s * (P[3] + s * P[4]))))


def test_the_accuracy_check_catches_a_wrong_coefficient():
    """tanh32 is not patchable (jitted), so its small branch is mirrored in NumPy: with the
    module's coefficients the mirror is tanh32 bit for bit; with one coefficient nudged (P4 by
    1 %, P3 by 0.3 %, P0 by 1e-6, about 11 units in its last place) the check of the test above
    fails."""
    x = bits(fbits(0.3), fbits(0.625))
    P = [t32.P0, t32.P1, t32.P2, t32.P3, t32.P4]
    assert all(p.dtype == np.float32 for p in P)
    assert np.array_equal(polynomial(x, P), tanh32(x))
    true = np.tanh(x.astype(np.float64))
    ulp = np.spacing(np.abs(true).astype(np.float32)).astype(np.float64)
    for k, nudge in [(4, 1.01), (4, 0.99), (3, 1.003), (0, 1 + 1e-6), (0, 1 - 1e-6)]:
        Q = list(P)
        Q[k] = np.float32(Q[k] * nudge)
        assert (np.abs(polynomial(x, Q) - true) / ulp).max() > MAX_ULP, (k, nudge)


def test_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 10.0, -10.0, 100.0, -100.0,
                  np.finfo(np.float32).max, -np.finfo(np.float32).max], dtype=np.float32)
    y = tanh32(x)
    assert y[0] == 0 and not np.signbit(y[0])
    assert y[1] == 0 and np.signbit(y[1])                 # −0 keeps its sign
    assert y[2] == 1.0 and y[3] == -1.0
    assert np.isnan(y[4]) and np.isnan(y[5])
    assert np.array_equal(y[6:], np.array([1, -1] * 3, dtype=np.float32))
    sub = np.array([1e-45, -1e-45, 1e-40, np.finfo(np.float32).tiny], dtype=np.float32)
    assert np.array_equal(tanh32(sub), sub)                # tanh x = x to float32 for tiny x


def test_exactly_one_from_ten_on(rng):
    x = np.concatenate([np.float32([10.0]), rng.uniform(10, 1e6, size=100_000).astype(np.float32),
                        rng.integers(fbits(10.0), fbits(3e38), size=100_000).astype(np.int32)
                        .view(np.float32)])
    assert np.all(tanh32(x) == 1.0) and np.all(tanh32(-x) == -1.0)


def test_odd_symmetry_bit_for_bit(rng):
    for name, x in ranges(rng).items():
        a, b = tanh32(-x), -tanh32(x)
        assert np.array_equal(a.view(np.int32), b.view(np.int32)), name


def test_monotone_non_decreasing():
    grid = np.unique(np.linspace(-10, 10, 8_000_001, dtype=np.float32))
    assert np.all(np.diff(tanh32(grid)) >= 0)
    b625 = fbits(0.625)                                    # consecutive floats across the branch
    x = bits(b625 - 1_000_000, b625 + 1_000_000)
    assert np.all(np.diff(tanh32(x)) >= 0)
    assert np.all(np.diff(tanh32(-x)) <= 0)


@pytest.mark.parametrize("size", [0, 1, 7, 1000, 100_003])
def test_inplace_equals_into_bit_for_bit(size, rng):
    x = (rng.normal(scale=4, size=size)).astype(np.float32)
    x[::5] = rng.uniform(-0.7, 0.7, size=x[::5].size)      # both branches
    a = x.copy()
    t32.tanh32_inplace(a)
    b = np.full_like(x, np.nan)
    t32.tanh32_into(x, b)
    assert np.array_equal(a.view(np.int32), b.view(np.int32))
    assert max_ulp(x) <= MAX_ULP
