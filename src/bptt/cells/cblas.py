"""NumPy's own OpenBLAS, reached through ctypes: its sgemm for compiled kernels that call BLAS
from their own threads, and its thread count.

The cells' batch-sliced loops (`bptt.cells.slicing`) run each slice's whole time loop in one
numba kernel on its own thread; the kernel multiplies through `SGEMM`, passed in as an argument
(numba calls a ctypes function given as an argument, and can still cache the kernel). While the
slices run, OpenBLAS is held to one thread (`one_thread`): each slice is one thread's work.

Found when NumPy's BLAS is the OpenBLAS that its wheels bundle (`numpy.libs/libscipy_openblas*`,
or `libopenblas*` in older wheels); otherwise (MKL, Accelerate, a system BLAS) `SGEMM` is None
and the callers keep their NumPy path.
"""
from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import threading
from typing import Optional

import numpy as np

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112          # CBLAS enums

# (sgemm, get threads, set threads, integer width) symbol names of the builds NumPy ships; the
# core name's symbol is the thread getter's with "corename" for "num_threads"
_SYMBOLS = (
    ("scipy_cblas_sgemm64_", "scipy_openblas_get_num_threads64_",
     "scipy_openblas_set_num_threads64_", ctypes.c_int64),
    ("cblas_sgemm64_", "openblas_get_num_threads64_", "openblas_set_num_threads64_", ctypes.c_int64),
    ("scipy_cblas_sgemm", "scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads",
     ctypes.c_int),
    ("cblas_sgemm", "openblas_get_num_threads", "openblas_set_num_threads", ctypes.c_int),
)
# OpenBLAS's x86-64 cores whose sgemm has small-matrix kernels (M·N·K <= 100³ run unpacked): the
# others' permit returns 0 (`sgemm_small_matrix_permit_HASWELL` is `xor eax, eax; ret` in NumPy
# 2.4's OpenBLAS 0.3.31), so every call packs its operands
_SMALL_KERNEL_CORES = ("skylakex", "cooperlake", "sapphirerapids")


def _numpy_openblas() -> list:
    """Paths of the OpenBLAS libraries bundled with NumPy (empty for other builds)."""
    root = os.path.dirname(os.path.dirname(np.__file__))
    found = []
    for pattern in ("numpy.libs/libscipy_openblas*.so*", "numpy.libs/libopenblas*.so*",
                    "numpy/.dylibs/libscipy_openblas*.dylib", "numpy/.dylibs/libopenblas*.dylib"):
        found += sorted(glob.glob(os.path.join(root, pattern)))
    return found


def _load():
    """(sgemm, get_threads, set_threads, core name) from NumPy's OpenBLAS, or four Nones."""
    if os.environ.get("BPTT_CBLAS", "1") == "0":
        return None, None, None, None
    for path in _numpy_openblas():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for gemm, get, set_, Int in _SYMBOLS:
            if all(hasattr(lib, s) for s in (gemm, get, set_)):
                f = getattr(lib, gemm)
                P, I32, F = ctypes.c_size_t, ctypes.c_int, ctypes.c_float   # pointers as addresses
                f.argtypes = [I32, I32, I32, Int, Int, Int, F, P, Int, P, Int, F, P, Int]
                f.restype = None
                getter, setter = getattr(lib, get), getattr(lib, set_)
                getter.restype, getter.argtypes = ctypes.c_int, []
                setter.restype, setter.argtypes = None, [ctypes.c_int]
                return f, getter, setter, _core_name(lib, get.replace("num_threads", "corename"))
    return None, None, None, None


def _core_name(lib, symbol: str) -> Optional[str]:
    """The kernel family OpenBLAS picked for this CPU ("Haswell", "SkylakeX", "Zen", ...), or None
    where the library does not say."""
    if not hasattr(lib, symbol):
        return None
    f = getattr(lib, symbol)
    f.restype, f.argtypes = ctypes.c_char_p, []
    name = f()
    return name.decode("ascii", "replace").strip() if name else None


def small_kernels(core: Optional[str]) -> bool:
    """Whether OpenBLAS's sgemm on this core has small-matrix kernels (`_SMALL_KERNEL_CORES`)."""
    return core is not None and core.lower() in _SMALL_KERNEL_CORES


SGEMM, _get_threads, _set_threads, CORE = _load()
AVAILABLE = SGEMM is not None
SMALL_KERNELS = small_kernels(CORE)     # read at call time by the product blockers (tests set it)


def threads() -> Optional[int]:
    """OpenBLAS's thread count now (it follows OPENBLAS_NUM_THREADS and threadpoolctl's limits),
    or None without it."""
    return int(_get_threads()) if AVAILABLE else None


_HOLD = threading.Lock()
_held = [0, None]       # [blocks inside one_thread now, the count to restore]


@contextlib.contextmanager
def one_thread():
    """OpenBLAS on one thread inside the block (process-wide), its count restored when the last
    block still open in any thread ends (blocks on several threads overlap safely)."""
    if not AVAILABLE:
        yield
        return
    with _HOLD:
        if _held[0] == 0:
            _held[1] = threads()
            if _held[1] != 1:
                _set_threads(1)
        _held[0] += 1
    try:
        yield
    finally:
        with _HOLD:
            _held[0] -= 1
            if _held[0] == 0 and _held[1] != 1:
                _set_threads(_held[1])
