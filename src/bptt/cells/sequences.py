"""Validation of the sequence inputs shared by every recurrent model: x, y, h0 and mask.

Layout is time-major: x (T, B, D) floats or (T, B) token ids; y (T, B) class ids for softmax
outputs or (T, B, O) floats for identity outputs; h0 (B, H); mask (T, B); lengths (B,) (bidirectional models).
"""
from __future__ import annotations

import numpy as np

from .. import _validate as v
from ..nn.losses import MeanPooled


def check_x(x, owner: str, input_size: int, dtype) -> np.ndarray:
    arr = v.as_array(x, "x", owner)
    if arr.dtype.kind in "iu":
        if arr.ndim != 2:
            raise ValueError(f"The 'x' argument of {owner} must be token ids of shape (T, B) or floats "
                             f"of shape (T, B, {input_size}). Got integer ids of shape {arr.shape}.")
        ids = v.check_token_ids(arr, "x", owner, (None, None), input_size)
        _check_nonempty(ids, owner)
        return ids
    if arr.ndim != 3:
        raise ValueError(f"The 'x' argument of {owner} must be floats of shape (T, B, {input_size}) "
                         f"or integer token ids of shape (T, B). Got {arr.dtype} of shape {arr.shape}.")
    if arr.shape[2] != input_size:
        raise ValueError(f"x has {arr.shape[2]} features, but {owner} expects {input_size} "
                         f"(x of shape (T, B, {input_size})). Got shape {arr.shape}.")
    out = v.check_float_array(arr, "x", owner, (None, None, input_size), dtype)
    _check_nonempty(out, owner)
    return out


def _check_nonempty(arr, owner):
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"The 'x' argument of {owner} must have at least one time step and one "
                         f"sequence (T >= 1, B >= 1). Got shape {arr.shape}.")


def check_y(y, owner: str, output: str, T: int, B: int, output_size: int, dtype) -> np.ndarray:
    if isinstance(y, MeanPooled):            # one target per sequence, checked by cells.pooling
        return y
    if y is None:
        raise ValueError(f"The 'y' argument of {owner} is required: targets of shape (T, B) = "
                         f"({T}, {B}). Got None.")
    y = v.as_array(y, "y", owner)
    per_step = (T, B) if output == "softmax" else (T, B, output_size)
    one_per_sequence = per_step[1:]
    if y.shape == one_per_sequence:
        raise ValueError(f"The 'y' argument of {owner} must have shape {per_step}: a target per step. "
                         f"For one target per sequence of shape {one_per_sequence}, pass "
                         f"pooling='last' or pooling='mean'. Got shape {y.shape}.")
    if output == "softmax":
        return v.check_token_ids(y, "y", owner, (T, B), output_size)
    return v.check_float_array(y, "y", owner, (T, B, output_size), dtype)


def check_h0(h0, owner: str, B: int, H: int, dtype) -> np.ndarray:
    if h0 is None:
        return np.zeros((B, H), dtype=dtype)
    return v.check_float_array(h0, "h0", owner, (B, H), dtype)


def check_mask(mask, owner: str, T: int, B: int, dtype) -> np.ndarray:
    if mask is None:
        return np.ones((T, B), dtype=dtype)
    arr = v.as_array(mask, "mask", owner)
    v.check_shape(arr, "mask", owner, (T, B))
    arr = np.asarray(arr, dtype=dtype)
    v.check_finite(arr, "mask", owner)
    if (arr < 0).any():
        raise ValueError(f"The 'mask' argument of {owner} must hold weights >= 0. "
                         f"Got {float(arr.min())!r}.")
    return arr


def check_lengths(lengths, owner: str, T: int, B: int) -> np.ndarray:
    """lengths (B,) ints in [1, T]: the number of real steps of each sequence (a prefix)."""
    arr = v.as_array(lengths, "lengths", owner)
    if arr.dtype.kind not in "iu" or arr.shape != (B,):
        raise ValueError(f"The 'lengths' argument of {owner} must be integers of shape ({B},), the "
                         f"number of real steps of each sequence. Got {arr.dtype} of shape {arr.shape}.")
    if arr.size and (arr.min() < 1 or arr.max() > T):
        raise ValueError(f"The 'lengths' argument of {owner} must hold ints in [1, T] = [1, {T}]. "
                         f"Got values from {int(arr.min())} to {int(arr.max())}.")
    return arr.astype(np.intp)
