"""What the cells' traces share: the size limit on their O(T²) arrays, and the errors by source
of any layer of a stacked model."""
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


class ByLayerSource:
    """`by_source(layer)` and `errors_by_source` for a trace that keeps every layer's pass (its
    `_layers`) and the O(T²) results it computed (`_cache`). A subclass names its state paths
    (`source_paths`, e.g. ("h",) or ("c", "h")) and computes them in `_errors_by_source(layer)`:
    {path: (T, T, B, H)} with [s, t] = ∂L(s)/∂path(t) of that layer."""

    source_paths = ("h",)

    def by_source(self, layer: int = -1) -> dict:
        """{path: (T, T, B, H)} of `layer` (the default −1 is the top): [s, t] = ∂L(s)/∂path(t),
        zero for t > s; computed on first access, within the trace's max_bytes."""
        L = len(self._layers)
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not -L <= layer < L:
            raise ValueError(f"The 'layer' argument of {type(self).__name__}.by_source must be an "
                             f"int in [{-L}, {L}). Got {layer!r}.")
        layer = int(layer) % L
        if layer not in self._cache:
            T, B, H = self.forward.h.shape
            n = len(self.source_paths)
            check_size("errors_by_source", ((n,) if n > 1 else ()) + (T, T, B, H), self.max_bytes)
            self._cache[layer] = self._errors_by_source(layer)
        return self._cache[layer]

    @property
    def errors_by_source(self) -> dict:
        """The top layer's by_source()."""
        return self.by_source(-1)
