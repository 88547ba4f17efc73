"""What every cell's trace shares: the size limit on its O(T²) arrays."""
from __future__ import annotations

import numpy as np


class TraceTooLarge(MemoryError):
    pass


def check_size(what: str, shape: tuple, max_bytes: int) -> None:
    """Refuse, stating the size, an O(T²) array of float64 above max_bytes."""
    nbytes = int(np.prod(shape)) * 8
    if nbytes > max_bytes:
        raise TraceTooLarge(
            f"{what} needs an array of shape {shape}, {nbytes / 2**20:.1f} MiB, above the "
            f"trace's limit of {max_bytes / 2**20:.1f} MiB. Trace a shorter sequence or "
            f"pass a larger max_bytes to trace().")
