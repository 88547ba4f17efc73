"""Shared fixtures: small random problems, float64 throughout."""
import numpy as np
import pytest

ACTIVATIONS = ("tanh", "relu", "sigmoid", "identity")
OUTPUTS = ("softmax", "identity")


def make_problem(rng, T, B, D, H, O, *, output="softmax", tokens=False, mask=False, h0=True):
    """x, y, h0, mask for a random problem (time-major)."""
    x = rng.integers(0, D, size=(T, B)) if tokens else rng.normal(size=(T, B, D))
    y = rng.integers(0, O, size=(T, B)) if output == "softmax" else rng.normal(size=(T, B, O))
    h = rng.normal(scale=0.5, size=(B, H)) if h0 else None
    m = (rng.uniform(size=(T, B)) < 0.7).astype(float) * rng.uniform(0.5, 2, size=(T, B)) if mask else None
    return x, y, h, m


def make_lstm_problem(rng, T, B, D, H, O, L=1, *, output="softmax", tokens=False, mask=False,
                      h0=True):
    """x, y, (h0, c0) in the model's layout ((B, H), or (L, B, H) for L layers), mask."""
    x = rng.integers(0, D, size=(T, B)) if tokens else rng.normal(size=(T, B, D))
    y = rng.integers(0, O, size=(T, B)) if output == "softmax" else rng.normal(size=(T, B, O))
    shape = (B, H) if L == 1 else (L, B, H)
    state = (rng.normal(scale=0.5, size=shape), rng.normal(scale=0.5, size=shape)) if h0 else None
    m = (rng.uniform(size=(T, B)) < 0.7) * rng.uniform(0.5, 2, size=(T, B)) if mask else None
    return x, y, state, m


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def small_kernels(monkeypatch):
    """The per-step products cut into calls under OpenBLAS's small-matrix bound, as on the cores
    that have such kernels (`bptt.cells.cblas.SMALL_KERNELS`), whatever this machine's core."""
    from bptt.cells import cblas
    monkeypatch.setattr(cblas, "SMALL_KERNELS", True)


def drop_stale_numba_caches(root) -> int:
    """Delete numba's cached kernels (*.nbi, *.nbc in __pycache__) under root when any is older
    than the newest .py there; returns how many files went. numba keys a kernel's cache on its
    own file's time stamp only, not on the helpers it inlines from other files (tanh32, exp32,
    slicing.gemm): after editing one of those, the old machine code would still run."""
    from pathlib import Path
    root = Path(root)
    caches = [p for ext in ("*.nbi", "*.nbc") for p in root.rglob(f"__pycache__/{ext}")]
    sources = list(root.rglob("*.py"))
    if not caches or not sources:
        return 0
    newest = max(p.stat().st_mtime for p in sources)
    if min(p.stat().st_mtime for p in caches) >= newest:
        return 0
    for p in caches:
        p.unlink(missing_ok=True)
    return len(caches)


def pytest_configure(config):
    """Before any test, in the controller only (not in pytest-xdist's workers, which start after
    it): stale numba caches of the package's source tree go (`drop_stale_numba_caches`)."""
    import os
    from pathlib import Path
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        drop_stale_numba_caches(Path(__file__).resolve().parents[1] / "src" / "bptt")


def _in_ci() -> bool:
    import os
    return bool(os.environ.get("CI"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (CI set), a skipped test is a failure: every dependency the tests use (torch, numba,
    matplotlib, threadpoolctl, chromium) is installed there, so a skip can only hide a break."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _in_ci() and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which counts as a failure: {report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """The same for a whole module skipped while it is collected (`pytest.importorskip` or
    `pytest.skip(allow_module_level=True)` at module level): in CI it is a collection error, so
    that a missing dependency cannot make a test file vanish from a green run."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _in_ci():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = (f"{collector.nodeid}: skipped while collected in CI, which counts as a "
                           f"failure: {reason}")


@pytest.fixture
def fake_threads(monkeypatch):
    """fake_threads(n): cblas.threads() says n and every cell slices tiny passes
    (`slicing_support.faker`, for the cells' batch-sliced loops); OpenBLAS's real thread count
    is put back after the test."""
    from bptt.cells import cblas
    from slicing_support import faker
    real = cblas._get_threads()
    yield faker(monkeypatch)
    cblas._set_threads(real)
