"""Validation at the public edge.

Every message names the parameter, what was expected and what was received, in the shape
``"The 'hidden_size' parameter of SimpleRNN must be an int >= 1. Got 0 instead."``.
The inner math never calls these helpers.
"""
from __future__ import annotations

import numbers

import numpy as np

FLOAT_DTYPES = ("float32", "float64")


def check_int(value, name: str, owner: str, *, minimum: int = 1) -> int:
    """An int (not bool) >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"The '{name}' parameter of {owner} must be an int >= {minimum}. "
            f"Got {value!r} of type {type(value).__name__} instead.")
    if value < minimum:
        raise ValueError(
            f"The '{name}' parameter of {owner} must be an int >= {minimum}. Got {value!r} instead.")
    return int(value)


def check_bool(value, name: str, owner: str) -> bool:
    """True or False (NumPy's bool too), never a truthy stand-in."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"The '{name}' parameter of {owner} must be True or False. "
                        f"Got {value!r} of type {type(value).__name__} instead.")
    return bool(value)


def check_float(value, name: str, owner: str, *, low=None, high=None,
                low_open: bool = False, high_open: bool = False) -> float:
    """A finite real number in [low, high] (or the open ends where asked)."""
    lo_br, hi_br = ("(" if low_open else "["), (")" if high_open else "]")
    rng = f" in {lo_br}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi_br}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"The '{name}' parameter of {owner} must be a real number{rng}. "
                        f"Got {value!r} of type {type(value).__name__} instead.")
    try:
        v = float(value)
    except OverflowError:                       # an int beyond float's range
        v = float("inf")
    bad = not np.isfinite(v)
    if low is not None:
        bad |= v <= low if low_open else v < low
    if high is not None:
        bad |= v >= high if high_open else v > high
    if bad:
        raise ValueError(f"The '{name}' parameter of {owner} must be a finite number{rng}. "
                         f"Got {value!r} instead.")
    return v


def check_choice(value, name: str, owner: str, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"The '{name}' parameter of {owner} must be one of "
                         f"{', '.join(repr(c) for c in choices)}. Got {value!r} instead.")
    return value


def check_dtype(value, owner: str) -> np.dtype:
    try:
        dt = np.dtype(value)
    except TypeError:
        dt = None
    if dt is None or dt.name not in FLOAT_DTYPES:
        raise ValueError(f"The 'dtype' parameter of {owner} must be 'float32' or 'float64'. "
                         f"Got {value!r} instead.")
    return dt


def check_rng(seed, owner: str) -> np.random.Generator:
    """An explicit source of randomness: an int seed or a numpy Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"The 'seed' parameter of {owner} must be an int >= 0 or a "
                        f"numpy.random.Generator. Got {seed!r} of type {type(seed).__name__}.")
    if seed < 0:
        raise ValueError(f"The 'seed' parameter of {owner} must be an int >= 0 or a "
                         f"numpy.random.Generator. Got {seed!r} instead.")
    return np.random.default_rng(int(seed))


def as_array(value, name: str, owner: str) -> np.ndarray:
    """Anything array-like, refused with a message when it is not numeric."""
    if isinstance(value, np.ndarray):
        arr = value
    else:
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError) as e:
            raise TypeError(f"The '{name}' argument of {owner} must be a numeric array. "
                            f"Got {type(value).__name__} that NumPy cannot convert ({e}).") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"The '{name}' argument of {owner} must be a numeric array. "
                        f"Got an array of dtype {arr.dtype} instead.")
    return arr


def check_float_array(value, name: str, owner: str, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """A finite float array of exactly `shape` (None entries match anything), cast to dtype.

    Bool arrays are refused; int arrays are accepted as numbers (and cast).
    """
    arr = as_array(value, name, owner)
    if arr.dtype.kind == "b":
        raise TypeError(f"The '{name}' argument of {owner} must hold floats. Got booleans.")
    check_shape(arr, name, owner, shape)
    arr = np.asarray(arr, dtype=dtype)
    check_finite(arr, name, owner)
    return arr


def check_shape(arr: np.ndarray, name: str, owner: str, shape: tuple) -> None:
    want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    if arr.ndim != len(shape) or any(e is not None and g != e for g, e in zip(arr.shape, shape)):
        raise ValueError(f"The '{name}' argument of {owner} must have shape {want}. "
                         f"Got shape {arr.shape} instead.")


def check_finite(arr: np.ndarray, name: str, owner: str) -> None:
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"The '{name}' argument of {owner} must be finite. Got "
                         f"{float(arr[tuple(bad)])!r} at index {tuple(int(i) for i in bad)}.")


def check_token_ids(value, name: str, owner: str, shape: tuple, vocab: int) -> np.ndarray:
    """Integer ids of exactly `shape` with 0 <= id < vocab, as intp."""
    arr = as_array(value, name, owner)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"The '{name}' argument of {owner} must hold integer ids. "
                        f"Got dtype {arr.dtype} instead.")
    check_shape(arr, name, owner, shape)
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= vocab:
            bad = lo if lo < 0 else hi
            raise ValueError(f"The '{name}' argument of {owner} must hold ids in [0, {vocab}). "
                             f"Got {bad}.")
    return arr.astype(np.intp, copy=False)
