"""`bptt.cells.exp32`, the float32 e^x and σ(x) of the numba kernels: exp32 within 1.5 ulp of the
exact value (float64 np.exp) over [−87, 88], σ within 3 ulp of the exact 1 / (1 + e^−x) (float64)
over [−87, 87], as the module docstring states (measured: 1.2 and 2.8); their special values and
clamps; σ monotone, σ(x) + σ(−x) = 1 to a few ulp, and its two array loops agree bit for bit.

ulp: np.spacing of the true value rounded to float32. The jitted scalars exp32 and sigmoid32
cannot be called from Python (inline njit, an LLVM bit cast), so everything goes through
exp32_into / sigmoid32_into / sigmoid32_inplace over flat float32 arrays.
"""
import numpy as np
import pytest

from bptt.cells import exp32 as e32
from bptt.cells import jit

assert jit.AVAILABLE, ("numba is required by these tests (the jitted exp32 and sigmoid32 are what "
                       "the kernels run); install numba and unset BPTT_NUMBA=0")

EXP_MAX_ULP = 1.5         # the module docstring's bounds (measured maxima 1.2 and 2.8)
SIGMOID_MAX_ULP = 3.0
CHUNK = 1 << 21
# the array loops as the sliced kernels compiled with fused multiply-adds run the inlined scalars
# (`slicing.kernel_fma`: the polynomial contracts; some results differ by an ulp): same bounds
_fma = jit.numba.njit(fastmath={"contract"}, error_model="numpy")
INTO = {"plain": (e32.exp32_into, e32.sigmoid32_into),
        "fma": (_fma(e32.exp32_into.py_func), _fma(e32.sigmoid32_into.py_func))}
LN2 = float(np.log(2.0))
F32 = np.finfo(np.float32)


def bits(a: int, b: int) -> np.ndarray:
    """Every float32 whose bit pattern lies in [a, b) (consecutive floats)."""
    return np.arange(a, b, dtype=np.int32).view(np.float32)


def fbits(x: float) -> int:
    return int(np.float32(x).view(np.int32))


def around(x: float, count: int) -> np.ndarray:
    """The `count` consecutive float32 on each side of |x|, with the sign of x."""
    b = fbits(abs(x))
    return np.copysign(bits(b - count, b + count), np.float32(x))


def exp32(x, variant: str = "plain") -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.full_like(x, np.nan)
    INTO[variant][0](x, out)
    return out


def sigmoid32(x, variant: str = "plain") -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.full_like(x, np.nan)
    INTO[variant][1](x, out)
    return out


def exact_exp(x: np.ndarray) -> np.ndarray:
    return np.exp(x.astype(np.float64))


def exact_sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))      # float64: no overflow for |x| <= 87


def max_ulp(f, exact, x: np.ndarray) -> float:
    """The largest |f(x) − exact(x)| over x in ulps of the true value rounded to float32, in
    chunks (bounded memory)."""
    worst = 0.0
    for s in range(0, x.size, CHUNK):
        part = x[s:s + CHUNK]
        true = exact(part)
        ulp = np.spacing(true.astype(np.float32)).astype(np.float64)
        worst = max(worst, float((np.abs(f(part).astype(np.float64) - true) / ulp).max()))
    return worst


def inside(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return x[(x >= lo) & (x <= hi)]


def tiny_inputs(rng) -> np.ndarray:
    """Random bit patterns up to 1e-3 of both signs (mostly tiny, some subnormal) and the
    100,000 smallest floats of both signs."""
    t = rng.integers(1, fbits(1e-3), size=500_000).astype(np.int32).view(np.float32)
    return np.concatenate([t, -t, bits(0, 100_000), -bits(0, 100_000)])


def exp_ranges(rng) -> dict:
    """Several million float32 inputs over [−87, 88]: every regime of exp32 (n from −126 to 127)."""
    u = lambda lo, hi, size: rng.uniform(lo, hi, size=size).astype(np.float32)   # noqa: E731
    # where n = x / ln 2 rounded switches (|r| = ln2/2, the Taylor series' worst), from n = 0 to
    # n = ±1 up to the ends of the range: consecutive floats on both sides
    switches = [(k + 0.5) * LN2 for k in (-126, -100, -60, -20, -5, -1, 0, 4, 19, 60, 100, 126)]
    return {
        "uniform [-87, 88]": u(-87, 88, 4_000_000),
        "uniform [-1, 1]": u(-1, 1, 1_000_000),
        "tiny": tiny_inputs(rng),
        "[-87, -80]": np.concatenate([u(-87, -80, 500_000), around(-87.0, 200_000)[:200_001]]),
        "near 0": np.concatenate([u(-0.05, 0.05, 500_000), around(LN2 / 2, 100_000),
                                  around(-LN2 / 2, 100_000)]),
        "n switches": inside(np.concatenate([around(s, 20_000) for s in switches]), -87, 88),
        "[80, 88]": np.concatenate([u(80, 88, 500_000), around(88.0, 200_000)[:200_001]]),
    }


def sigmoid_ranges(rng) -> dict:
    """Several million float32 inputs over [−87, 87]: both branches, the tails, around 0."""
    u = lambda lo, hi, size: rng.uniform(lo, hi, size=size).astype(np.float32)   # noqa: E731
    return {
        "uniform [-87, 87]": u(-87, 87, 4_000_000),
        "uniform [-20, 20]": u(-20, 20, 1_000_000),
        "uniform [-1, 1]": u(-1, 1, 1_000_000),
        "tiny": tiny_inputs(rng),
        "[-87, -80]": np.concatenate([u(-87, -80, 500_000), around(-87.0, 200_000)[:200_001]]),
        "[80, 87]": np.concatenate([u(80, 87, 200_000), around(87.0, 100_000)[:100_001]]),
        "near 0": np.concatenate([u(-0.05, 0.05, 500_000), around(LN2 / 2, 100_000),
                                  around(-LN2 / 2, 100_000)]),
    }


@pytest.mark.parametrize("variant", sorted(INTO))
def test_exp32_within_one_and_a_half_ulp_over_several_million_inputs(variant, rng):
    ranges = exp_ranges(rng)
    assert ranges["[-87, -80]"].min() == -87 and ranges["[80, 88]"].max() == 88   # both ends in
    f = lambda x: exp32(x, variant)                                                 # noqa: E731
    errors = {name: max_ulp(f, exact_exp, x) for name, x in ranges.items()}
    assert all(e <= EXP_MAX_ULP for e in errors.values()), errors


@pytest.mark.parametrize("variant", sorted(INTO))
def test_sigmoid32_within_three_ulp_over_several_million_inputs(variant, rng):
    ranges = sigmoid_ranges(rng)
    assert ranges["[-87, -80]"].min() == -87 and ranges["[80, 87]"].max() == 87
    f = lambda x: sigmoid32(x, variant)                                             # noqa: E731
    errors = {name: max_ulp(f, exact_sigmoid, x) for name, x in ranges.items()}
    assert all(e <= SIGMOID_MAX_ULP for e in errors.values()), errors


def test_exp32_special_values_and_clamps():
    assert exp32([0.0, -0.0]).tolist() == [1.0, 1.0]                # exactly
    below = exp32([-87.01, -87.5, -88.0, -100.0, -1e30, -F32.max, -np.inf])
    assert np.all(below == 0) and not np.any(np.signbit(below))     # exactly +0 below −87
    assert exp32([-87.0])[0] > 0                                    # −87 itself: e^−87 (normal)
    top = exp32([88.0])[0]
    assert np.isfinite(top)
    assert abs(float(top) - np.exp(88.0)) <= EXP_MAX_ULP * float(np.spacing(np.float32(np.exp(88.0))))
    above = exp32([88.01, 88.5, 88.72, 88.73, 89.0, 100.0, 1e30, F32.max, np.inf])
    assert np.array_equal(above, np.full(above.shape, top))         # e^88, never inf
    assert np.all(np.isnan(exp32([np.nan, -np.nan])))


def test_sigmoid32_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, 1e30, -1e30, F32.max, -F32.max, 87.5, -87.5, 100.0,
                  -100.0], dtype=np.float32)
    y = sigmoid32(x)
    assert y[0] == 0.5 and y[1] == 0.5                              # exactly
    assert np.array_equal(y[2:], np.array([1, 0] * 5, dtype=np.float32))
    assert np.all(np.isnan(sigmoid32([np.nan, -np.nan])))


def test_sigmoid32_stays_in_zero_one(rng):
    big = rng.integers(0, fbits(F32.max), size=200_000).astype(np.int32).view(np.float32)
    x = np.concatenate([rng.normal(scale=30, size=1_000_000).astype(np.float32), big, -big])
    y = sigmoid32(x)
    assert np.all((y >= 0) & (y <= 1))


def test_sigmoid32_of_x_plus_sigmoid32_of_minus_x_is_one(rng):
    """σ(x) + σ(−x) = 1, in float64 from the two float32 values: within 2 ulp of 1 (2⁻²²) for
    |x| < 20 (measured: 0.75). Each term is within 3 ulp of its own value, which already allows
    more: the larger is in [½, 1] (ulp 2⁻²⁴), the smaller below ½ (ulp at most 2⁻²⁵)."""
    x = np.concatenate([rng.uniform(-20, 20, size=2_000_000).astype(np.float32),
                        rng.uniform(-1, 1, size=500_000).astype(np.float32)])
    s = sigmoid32(x).astype(np.float64) + sigmoid32(-x).astype(np.float64)
    assert np.abs(s - 1).max() <= 2 * float(np.spacing(np.float32(1)))


def test_monotone_non_decreasing():
    """Over sorted inputs a few ulp apart σ and e^x never decrease; over consecutive floats σ
    never decreases for x >= 0 (1 / (1 + e^−x), one rounding of a monotone e) but may step back
    by one ulp for x < 0 in about (−1.5, 0), where σ = e^x · (1 / (1 + e^x)) rounds twice (seen
    at 5 % of the steps around −0.3): bounded here by one ulp."""
    grid = np.unique(np.linspace(-90, 90, 8_000_001, dtype=np.float32))    # 2.2e-5 apart
    assert np.all(np.diff(sigmoid32(grid)) >= 0)
    assert np.all(np.diff(exp32(grid)) >= 0)
    for x in (bits(0, 100_000), around(LN2 / 2, 200_000), around(1.0, 200_000),
              around(87.0, 100_000)):                       # consecutive floats
        y = sigmoid32(x)
        assert np.all(np.diff(y) >= 0)
        assert np.all(np.diff(exp32(x)) >= 0) and np.all(np.diff(exp32(-x[::-1])) >= 0)
        y = sigmoid32(-x[::-1])
        assert np.all(np.diff(y) >= -np.spacing(y[1:]))


@pytest.mark.parametrize("size", [0, 1, 7, 1000, 100_003])
def test_inplace_equals_into_bit_for_bit(size, rng):
    x = rng.normal(scale=10, size=size).astype(np.float32)
    x[::7] = rng.uniform(-100, 100, size=x[::7].size)                # both clamps
    if size:
        x[-1] = np.nan
    a = x.copy()
    e32.sigmoid32_inplace(a)
    b = np.full_like(x, -1.0)
    e32.sigmoid32_into(x, b)
    assert np.array_equal(a.view(np.int32), b.view(np.int32))
    inside = np.abs(x) <= 87
    if inside.any():
        assert max_ulp(sigmoid32, exact_sigmoid, x[inside]) <= SIGMOID_MAX_ULP
