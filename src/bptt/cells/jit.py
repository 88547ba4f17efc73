"""The one switch for bptt's numba kernels: `numba` (the module, or None) and AVAILABLE.

numba is a core dependency of bptt. AVAILABLE is False when it does not import or when the
environment variable BPTT_NUMBA is 0; every fast path then runs its NumPy code instead (the same
numbers, slower), and nothing runs in batch slices.
"""
from __future__ import annotations

import os

numba = None
if os.environ.get("BPTT_NUMBA", "1") != "0":
    try:
        import numba
    except ImportError:                                  # the NumPy paths run instead
        pass

AVAILABLE = numba is not None
