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

# (sgemm, get threads, set threads, integer width) symbol names of the builds NumPy ships
_SYMBOLS = (
    ("scipy_cblas_sgemm64_", "scipy_openblas_get_num_threads64_",
     "scipy_openblas_set_num_threads64_", ctypes.c_int64),
    ("cblas_sgemm64_", "openblas_get_num_threads64_", "openblas_set_num_threads64_", ctypes.c_int64),
    ("scipy_cblas_sgemm", "scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads",
     ctypes.c_int),
    ("cblas_sgemm", "openblas_get_num_threads", "openblas_set_num_threads", ctypes.c_int),
)


def _numpy_openblas() -> list:
    """Paths of the OpenBLAS libraries bundled with NumPy (empty for other builds)."""
    root = os.path.dirname(os.path.dirname(np.__file__))
    found = []
    for pattern in ("numpy.libs/libscipy_openblas*.so*", "numpy.libs/libopenblas*.so*",
                    "numpy/.dylibs/libscipy_openblas*.dylib", "numpy/.dylibs/libopenblas*.dylib"):
        found += sorted(glob.glob(os.path.join(root, pattern)))
    return found


def _load():
    """(sgemm, get_threads, set_threads) from NumPy's OpenBLAS, or (None, None, None)."""
    if os.environ.get("BPTT_CBLAS", "1") == "0":
        return None, None, None
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
                return f, getter, setter
    return None, None, None


SGEMM, _get_threads, _set_threads = _load()
AVAILABLE = SGEMM is not None


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
