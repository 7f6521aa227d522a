"""Validation and dtype helpers shared by formats, constructors and ops.

Modelled on ``scipy.sparse._sputils``; every error names the argument.
"""
from __future__ import annotations

import functools
import numbers
import operator

import numpy as np

INT32_MAX = np.iinfo(np.int32).max

#: value dtypes a sparse array may hold
SUPPORTED_DTYPES = tuple(
    np.dtype(t)
    for t in (
        np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
        np.int64, np.uint64, np.float32, np.float64, np.complex64, np.complex128,
    )
)
_SUPPORTED = frozenset(SUPPORTED_DTYPES)  # one hash, not 13 comparisons


def get_index_dtype(*arrays, maxval: int | None = None, check_contents: bool = False) -> np.dtype:
    """Smallest of int32/int64 that holds ``maxval`` and the given index arrays.

    Parameters
    ----------
    *arrays : ndarray
        Existing index arrays; int64 ones force int64 unless ``check_contents``
        shows their values fit in int32.
    maxval : int, optional
        Largest value the indices must hold (a dimension or an nnz).
    check_contents : bool
        Look at the values of int64 arrays instead of only their dtype.
    """
    if maxval is not None and int(maxval) > INT32_MAX:
        return np.dtype(np.int64)
    for arr in arrays:
        if arr is None:
            continue
        if not hasattr(arr, "dtype"):
            arr = np.asarray(arr)
        dt = arr.dtype
        # (kind and itemsize: comparing with np.uint32 builds a dtype a call)
        if dt.itemsize > 4 or (dt.kind == "u" and dt.itemsize == 4):
            if check_contents and arr.size:
                if arr.min() >= -INT32_MAX and arr.max() <= INT32_MAX:
                    continue
            elif check_contents:
                continue
            return np.dtype(np.int64)
    return np.dtype(np.int32)


def check_shape(shape, name: str = "shape") -> tuple[int, int]:
    """Validate a 2-D shape: two non-negative integers."""
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"{name} must be a tuple of two integers, got {shape!r}") from None
    if len(dims) != 2:
        raise ValueError(f"{name} must have two dimensions (sparsela arrays are 2-D), got {shape!r}")
    out = []
    for d in dims:
        if isinstance(d, (bool, np.bool_, float, np.floating)):
            raise TypeError(f"{name} must hold integers, got {shape!r}")
        try:
            d = operator.index(d)
        except TypeError:
            raise TypeError(f"{name} must hold integers, got {shape!r}") from None
        if d < 0:
            raise ValueError(f"{name} must be non-negative, got {shape!r}")
        out.append(int(d))
    return out[0], out[1]


def check_dtype(dtype, name: str = "dtype") -> np.dtype:
    """Return ``np.dtype(dtype)`` if sparse arrays support it, else raise TypeError."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be a NumPy numeric or bool dtype, got {dtype!r}") from None
    if dt.byteorder not in ("=", "|"):
        dt = dt.newbyteorder("=")
    if dt not in _SUPPORTED:
        raise TypeError(
            f"{name} {dt} is not supported; expected bool, an integer, float32/float64 "
            f"or complex64/complex128"
        )
    return dt


@functools.lru_cache(maxsize=256)
def upcast(*dtypes) -> np.dtype:
    """Common value dtype of operands, as NumPy's type promotion gives it.

    Cached: it runs on every product, where promoting and checking took
    1.6 us of a 15 us product of small matrices."""
    dt = np.result_type(*dtypes)
    if dt == np.float16:
        dt = np.dtype(np.float32)
    return check_dtype(dt)


def as_index_array(arr, name: str, dtype=None):
    """Return ``arr`` as a 1-D integer index array, rejecting non-integers.

    A CuPy (GPU) array stays on the GPU; anything else becomes a NumPy array.
    """
    from ._device import as_array

    xp, a = as_array(arr)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {a.shape}")
    if a.size and a.dtype.kind not in "iu":
        if a.dtype.kind == "b":
            raise TypeError(f"{name} must hold integers, got dtype bool")
        if a.dtype.kind == "f" and bool(xp.all(xp.isfinite(a))) and bool(xp.all(a == xp.round(a))):
            raise TypeError(
                f"{name} must hold integers, got dtype {a.dtype} (cast explicitly with astype)"
            )
        raise TypeError(f"{name} must hold integers, got dtype {a.dtype}")
    if dtype is not None:
        a = a.astype(dtype, copy=False)
    elif a.dtype.kind == "u" or a.dtype.itemsize < 4:
        a = a.astype(np.int64 if a.dtype.itemsize >= 4 else np.int32)
    elif a.size == 0 and a.dtype.kind not in "iu":
        a = a.astype(np.int32)
    return xp.ascontiguousarray(a)  # (see formats._compressed._as_data)


def isscalarlike(x) -> bool:
    return np.isscalar(x) or (isinstance(x, np.ndarray) and x.ndim == 0)


def isdense(x) -> bool:
    return isinstance(x, np.ndarray)


def is_cupy_array(x) -> bool:
    """True for a CuPy ndarray or cupyx sparse matrix (or a simulated device
    array), without importing CuPy."""
    from ._device import is_gpu_array

    return is_gpu_array(x)


def is_number(x) -> bool:
    """True for a Python or NumPy numeric scalar (not str, not bool arrays)."""
    return isinstance(x, (numbers.Number, np.number, np.bool_))
