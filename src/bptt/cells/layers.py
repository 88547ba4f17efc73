"""Parameter names of stacked recurrent layers.

Layer 0 keeps the equation's plain names (U, W, b for the simple RNN; W_z, R_f, … for the LSTM),
so a one-layer model's parameters are exactly the article's. Layer l >= 1 appends ".l":
"U.1", "W.1", "b.1", "W_z.2". Layer l's input x(t) is layer l−1's h(t), so its U is (H, H).
"""
from __future__ import annotations


def layer_key(name: str, layer: int) -> str:
    return name if layer == 0 else f"{name}.{layer}"


def layer_params(params: dict, names, layer: int) -> dict:
    """The plain-named view {name: array} of one layer's parameters (the same arrays)."""
    return {n: params[layer_key(n, layer)] for n in names}
