"""Shared code of the compressed formats CSR and CSC.

A CSC array is stored exactly as the CSR array of its transpose, so every
method is written once for "major" (rows of CSR, columns of CSC) and "minor"
axes, as in ``scipy.sparse._compressed``.
"""
from __future__ import annotations

import numpy as np

from .._device import as_array, same_device
from .._sputils import (
    as_index_array,
    check_dtype,
    check_shape,
    get_index_dtype,
)
from ..ops import _canonical as _c
from ._base import SparseArray


def _as_data(data, dtype, copy: bool, name: str = "data"):
    """``data`` as a contiguous value array of a supported dtype, on its device
    (a CuPy array stays on the GPU; anything else becomes a NumPy array)."""
    xp, arr = as_array(data)
    if arr.dtype == object:
        raise TypeError(f"{name} must be numeric, got dtype object")
    if dtype is not None:
        dt = check_dtype(dtype)
        arr = arr.astype(dt, copy=copy)
    else:
        if arr.dtype == np.float16:
            arr = arr.astype(np.float32)
        dt = check_dtype(arr.dtype, name=f"{name}.dtype")
        if arr.dtype != dt:
            arr = arr.astype(dt)
        elif copy:
            arr = arr.copy()
    # kernels are compiled for contiguous buffers: a strided view would compile
    # (and run) a slower variant of each; SciPy's sparsetools copies on every call
    return xp.ascontiguousarray(arr)


def _is_cupyx_sparse(x) -> bool:
    """A ``cupyx.scipy.sparse`` matrix (checked without importing CuPy)."""
    return type(x).__module__.startswith("cupyx.scipy.sparse") and hasattr(x, "format")


class _CompressedArray(SparseArray):
    """CSR/CSC storage: ``data``, ``indices``, ``indptr`` along the major axis."""

    def __init__(self, arg1, shape=None, dtype=None, copy: bool = False):
        from .coo import coo_array

        if shape is not None:
            shape = check_shape(shape)
        if isinstance(arg1, SparseArray):
            src = arg1 if arg1.format == self.format else arg1.asformat(self.format)
            if src is arg1 and copy:
                src = arg1.copy()
            self._set_arrays(src.data, src.indices, src.indptr, src.shape,
                             src._sorted, src._canonical)
            self._check_shape_arg(shape)
            if dtype is not None:
                self.data = self.data.astype(check_dtype(dtype), copy=copy)
            return
        if _is_scipy_sparse(arg1) or _is_cupyx_sparse(arg1):
            self._from_scipy(arg1, shape, dtype, copy)
            return
        if arg1 is None or (isinstance(arg1, tuple) and _is_shape(arg1)):
            # empty array of the given shape
            shp = check_shape(arg1 if arg1 is not None else shape)
            if arg1 is None and shape is None:
                raise ValueError("shape is required to build an empty array")
            self._check_shape_arg(shape, shp)
            M, N = self._swap(shp)
            idx = get_index_dtype(maxval=max(M, N))
            self._set_arrays(
                np.zeros(0, dtype=check_dtype(dtype or np.float64)),
                np.zeros(0, dtype=idx), np.zeros(M + 1, dtype=idx), shp, True, True,
            )
            return
        if isinstance(arg1, tuple):
            if len(arg1) == 2:
                coo = coo_array(arg1, shape=shape, dtype=dtype, copy=copy)
                arr = coo.asformat(self.format)
                self._set_arrays(arr.data, arr.indices, arr.indptr, arr.shape,
                                 arr._sorted, arr._canonical)
                return
            if len(arg1) == 3:
                self._from_triplet(arg1, shape, dtype, copy)
                return
            raise TypeError(
                f"cannot build a {self.format}_array from a tuple of length {len(arg1)}; "
                "expected (data, (row, col)) or (data, indices, indptr)"
            )
        # dense input (a CuPy array gives an array on the GPU)
        _, dense = as_array(arg1)
        if dense.dtype == object:
            raise TypeError(
                f"cannot build a {self.format}_array from {type(arg1).__name__}: expected a "
                "dense array, a sparse array, (data, (row, col)) or (data, indices, indptr)"
            )
        if dense.ndim != 2:
            raise ValueError(f"dense input must be 2-D, got {dense.ndim}-D")
        self._check_shape_arg(shape, dense.shape)
        arr = coo_array(dense, dtype=dtype).asformat(self.format)
        self._set_arrays(arr.data, arr.indices, arr.indptr, arr.shape, True, True)

    # -- construction helpers ------------------------------------------------
    def _check_shape_arg(self, shape, actual=None):
        actual = self.shape if actual is None else tuple(actual)
        if shape is not None and tuple(shape) != tuple(actual):
            raise ValueError(f"shape {shape} does not match the input's shape {tuple(actual)}")

    def _set_arrays(self, data, indices, indptr, shape, sorted_=None, canonical=None):
        self._data = data
        self._indices = indices
        self._indptr = indptr
        M, N = shape  # 2-D; two int() calls, not a generator (every product's result)
        self._shape = (int(M), int(N))
        self._sorted = sorted_
        self._canonical = canonical

    def _from_scipy(self, S, shape, dtype, copy):
        # scipy.sparse (CPU) or cupyx.scipy.sparse (GPU): buffers stay where they are
        S = S.asformat(self.format)
        self._check_shape_arg(shape, S.shape)
        data = _as_data(S.data, dtype, copy)
        idx = S.indices.copy() if copy else S.indices
        ptr = S.indptr.copy() if copy else S.indptr
        self._set_arrays(data, idx, ptr, S.shape)

    def _from_triplet(self, arg1, shape, dtype, copy):
        data, indices, indptr = arg1
        same_device("data", data, "indices", indices)
        same_device("data", data, "indptr", indptr)
        data = _as_data(data, dtype, copy)
        indices = as_index_array(indices, "indices")
        indptr = as_index_array(indptr, "indptr")
        if data.ndim != 1:
            raise ValueError(f"data must be 1-D, got an array of shape {data.shape}")
        if indptr.shape[0] < 1:
            raise ValueError("indptr must have at least one element")
        if shape is None:
            major = indptr.shape[0] - 1
            minor = int(indices.max()) + 1 if indices.size else 0
            shape = self._swap((major, minor))
        idx = get_index_dtype(indices, indptr, maxval=max(shape), check_contents=True)
        indices = indices.astype(idx, copy=copy)
        indptr = indptr.astype(idx, copy=copy)
        self._set_arrays(data, indices, indptr, shape)
        self.check_format(full_check=True)

    # -- attributes -------------------------------------------------------------
    @property
    def indices(self) -> np.ndarray:
        """Column (CSR) or row (CSC) index of every stored entry."""
        return self._indices

    @indices.setter
    def indices(self, value):
        self._indices = as_index_array(value, "indices")
        self._sorted = self._canonical = None

    @property
    def indptr(self) -> np.ndarray:
        """Row (CSR) or column (CSC) pointers into ``indices`` and ``data``."""
        return self._indptr

    @indptr.setter
    def indptr(self, value):
        self._indptr = as_index_array(value, "indptr")
        self._sorted = self._canonical = None

    @property
    def nnz(self) -> int:
        return int(self._indptr[-1])

    @property
    def has_sorted_indices(self) -> bool:
        """Whether column (CSR) / row (CSC) indices are non-decreasing in every row."""
        if self._sorted is None:
            self._sorted = _c.has_sorted_indices(self._indptr, self._indices)
        return self._sorted

    @property
    def has_canonical_format(self) -> bool:
        """Whether indices are sorted and free of duplicates."""
        if self._canonical is None:
            self._canonical = _c.has_canonical_format(self._indptr, self._indices)
            if self._canonical:
                self._sorted = True
        return self._canonical

    def check_format(self, full_check: bool = True) -> None:
        """Check that the arrays form a valid array of this shape.

        Unused trailing space in ``indices`` and ``data`` (beyond
        ``indptr[-1]``, which SciPy allows) is trimmed, without a copy.

        Parameters
        ----------
        full_check : bool, default True
            Also check the index values (O(nnz)): ``indptr`` non-decreasing
            and every index within the shape. Otherwise only the array
            lengths, dimensions and dtypes are checked (O(1)).

        Raises
        ------
        ValueError
            If an array has the wrong length or dimension, ``indptr[0]`` is
            not 0, or (with ``full_check``) ``indptr`` decreases or an index
            is out of range.
        TypeError
            If ``indptr`` or ``indices`` does not hold integers.
        """
        M, N = self._swap(self._shape)
        indptr, indices, data = self._indptr, self._indices, self._data
        for name, arr in (("indptr", indptr), ("indices", indices)):
            if arr.ndim != 1:
                raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
            if arr.dtype.kind not in "iu":
                raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
        if data.ndim != 1:
            raise ValueError(f"data must be 1-D, got shape {data.shape}")
        if indptr.shape[0] != M + 1:
            raise ValueError(
                f"indptr must have length {M + 1} for shape {self._shape}, got {indptr.shape[0]}"
            )
        if int(indptr[0]) != 0:
            raise ValueError(f"indptr[0] must be 0, got {int(indptr[0])}")
        nnz = int(indptr[-1])
        if indices.shape[0] < nnz or data.shape[0] < nnz:
            raise ValueError(
                f"indptr[-1] = {nnz} exceeds len(indices) = {indices.shape[0]} "
                f"or len(data) = {data.shape[0]}"
            )
        if indices.shape[0] != data.shape[0]:
            raise ValueError(
                f"indices and data must have the same length, got {indices.shape[0]} "
                f"and {data.shape[0]}"
            )
        if indices.shape[0] > nnz:
            # trailing unused space, as SciPy allows: trim without copying
            self._indices = indices[:nnz]
            self._data = data[:nnz]
            indices = self._indices
        if full_check:
            if M and bool((indptr[1:] < indptr[:-1]).any()):
                raise ValueError("indptr must be non-decreasing")
            if nnz:
                lo, hi = int(indices.min()), int(indices.max())
                axis = "column" if self.format == "csr" else "row"
                if lo < 0:
                    raise ValueError(f"indices hold a negative {axis} index ({lo})")
                if hi >= N:
                    raise ValueError(
                        f"indices hold {axis} index {hi}, out of range for shape {self._shape}"
                    )

    # -- structure-changing methods (rebind arrays, never write into them) -----
    def sort_indices(self) -> None:
        """Sort the indices of every row (CSR) / column (CSC), in place."""
        if not self.has_sorted_indices:
            self._indices, self._data = _c.sort_indices(self._indptr, self._indices, self._data)
            self._sorted = True
            self._canonical = None

    def sorted_indices(self):
        """Return a copy of this array with sorted indices.

        Returns
        -------
        csr_array or csc_array
            A copy of this array, of its format, whose indices are sorted
            within every row (CSR) or column (CSC); duplicates are kept.
        """
        A = self.copy()
        A.sort_indices()
        return A

    def sum_duplicates(self) -> None:
        """Sort indices and sum duplicate entries, in place."""
        if self.has_canonical_format:
            return
        self._indptr, self._indices, self._data = _c.sum_duplicates(
            self._indptr, self._indices, self._data, is_sorted=bool(self._sorted)
        )
        self._sorted = self._canonical = True

    def eliminate_zeros(self) -> None:
        """Remove stored entries whose value is zero, in place."""
        self._indptr, self._indices, self._data = _c.eliminate_zeros(
            self._indptr, self._indices, self._data
        )

    def _canonical_arrays(self):
        """(indptr, indices, data) in canonical form; never changes ``self``."""
        if self.has_canonical_format:
            return self._indptr, self._indices, self._data
        return _c.sum_duplicates(self._indptr, self._indices, self._data,
                                 is_sorted=bool(self._sorted))

    def _with_data(self, data, copy: bool = True):
        """Same structure, new values (indices copied when ``copy``)."""
        idx = self._indices.copy() if copy else self._indices
        ptr = self._indptr.copy() if copy else self._indptr
        out = self.__class__.__new__(self.__class__)
        out._set_arrays(data, idx, ptr, self._shape, self._sorted, self._canonical)
        return out

    @classmethod
    def _from_arrays(cls, data, indices, indptr, shape, sorted_=None, canonical=None):
        """Wrap kernel output without validation (internal, arrays already valid)."""
        out = cls.__new__(cls)
        out._set_arrays(data, indices, indptr, shape, sorted_, canonical)
        return out

    def _to_scipy(self, scipy_cls):
        out = scipy_cls((self._data, self._indices, self._indptr), shape=self._shape, copy=False)
        out.has_sorted_indices = bool(self.has_sorted_indices)
        return out


def _is_shape(t) -> bool:
    return len(t) == 2 and all(
        isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_)) for d in t
    )


def _is_scipy_sparse(x) -> bool:
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover - scipy is a core dependency
        return False
    return sp.issparse(x)
