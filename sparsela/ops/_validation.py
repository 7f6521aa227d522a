"""The one place public operations validate and normalise their operands."""
from __future__ import annotations

import functools

import numpy as np

from .._device import device_of, mismatch
from .._sputils import check_dtype, is_cupy_array
from ..formats._base import SparseArray
from ..formats._compressed import _is_cupyx_sparse, _is_scipy_sparse


def as_sparse(x, name: str) -> SparseArray:
    """A sparsela array for ``x`` (a scipy.sparse input is wrapped without copying)."""
    if isinstance(x, SparseArray):
        return x
    if _is_scipy_sparse(x) or _is_cupyx_sparse(x):
        from ..formats import asarray

        return asarray(x)
    if is_cupy_array(x):
        raise TypeError(
            f"{name} is a dense CuPy (GPU) array where a sparse array is expected; "
            "wrap it explicitly (sparsela.csr_array(x) keeps it on the GPU)"
        )
    raise TypeError(f"{name} must be a sparse array, got {type(x).__name__}")


def as_dense(x, name: str, device: str = "cpu"):
    """``x`` as a numeric dense array on ``device`` (the sparse operand's).

    A NumPy array (or array_like) for ``'cpu'``, a CuPy array for ``'gpu'``:
    an operand on the other device is a TypeError, never a silent transfer.
    """
    if device_of(x) != device:
        if device == "gpu" and not hasattr(x, "dtype"):
            raise TypeError(f"{name} must be a CuPy array (the sparse operand is on the "
                            f"GPU), got {type(x).__name__}")
        raise mismatch("the sparse operand", device, name, device_of(x))
    arr = x if device == "gpu" else np.asarray(x)
    if arr.dtype == object or arr.dtype.kind not in "biufc":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    check_dtype(arr.dtype, name=f"{name}.dtype")
    return arr


@functools.lru_cache(maxsize=64)
def kernel_dtype(dt: np.dtype) -> np.dtype:
    """The dtype the product kernels compute in for result dtype ``dt``.

    Small and unsigned integers compute in int64 and wrap back on the cast,
    which gives NumPy's modular result; bool computes as int64 counts.
    """
    dt = np.dtype(dt)
    if dt.kind in "fc" or dt in (np.int32, np.int64):
        return dt
    return np.dtype(np.int64)


def to_kernel(arr: np.ndarray, kdt: np.dtype) -> np.ndarray:
    if arr.dtype == np.uint64 and kdt == np.int64:
        return arr.view(np.int64)
    return arr.astype(kdt, copy=False)


def from_kernel(arr: np.ndarray, dt: np.dtype) -> np.ndarray:
    """Cast kernel output back to the result dtype (bool: nonzero counts are True)."""
    if arr.dtype == dt:
        return arr
    if dt == np.bool_:
        return arr != 0
    if dt == np.uint64:
        return arr.view(np.uint64)
    return arr.astype(dt)


def check_same_shape(A, B, what: str) -> None:
    if A.shape != B.shape:
        raise ValueError(f"inconsistent shapes for {what}: {A.shape} and {B.shape}")
