"""COOrdinate arrays: (row, col, value) triplets."""
from __future__ import annotations

import numpy as np

from .._device import as_array, namespace_of, same_device
from .._sputils import (
    as_index_array,
    check_dtype,
    check_shape,
    get_index_dtype,
)
from ..ops import _canonical as _c
from ._base import SparseArray
from ._compressed import _as_data, _is_cupyx_sparse, _is_scipy_sparse

__all__ = ["coo_array"]


class coo_array(SparseArray):
    """COOrdinate sparse array, a drop-in for ``scipy.sparse.coo_array``.

    Parameters
    ----------
    arg1 : array_like, sparse array, tuple
        A dense 2-D array; a sparsela or ``scipy.sparse`` array; ``(M, N)``
        for an empty array; or ``(data, (row, col))``. Duplicates are kept
        until :meth:`sum_duplicates` (or a conversion to CSR/CSC).
    shape : tuple of int, optional
        Shape ``(M, N)``. Inferred as ``(max(row) + 1, max(col) + 1)`` when
        omitted (required for empty ``row``/``col``).
    dtype : dtype, optional
        Value dtype (bool, integers, float32/64, complex64/128); by default
        that of the input (float16 becomes float32, an empty array is
        float64).
    copy : bool, default False
        Copy the input buffers instead of sharing them.
    """

    format = "coo"

    def __init__(self, arg1, shape=None, dtype=None, copy: bool = False):
        if shape is not None:
            shape = check_shape(shape)
        if isinstance(arg1, SparseArray):
            src = arg1.tocoo(copy=copy)
            self._set(src.data, src.row, src.col, src.shape, src._canonical)
            if dtype is not None:
                self._data = self._data.astype(check_dtype(dtype))
            _check_shape_match(shape, self._shape)
            return
        if _is_scipy_sparse(arg1) or _is_cupyx_sparse(arg1):
            S = arg1.tocoo()
            if getattr(S, "ndim", 2) != 2:
                raise ValueError(f"sparsela arrays are 2-D, got a {S.ndim}-D scipy array")
            _check_shape_match(shape, S.shape)
            row, col = S.row, S.col
            if copy:
                row, col = row.copy(), col.copy()
            self._set(_as_data(S.data, dtype, copy), row, col, S.shape,
                      True if S.has_canonical_format else None)
            if _is_cupyx_sparse(arg1) and row.dtype != col.dtype:
                self.row = row.astype(col.dtype)
            return
        if arg1 is None or (isinstance(arg1, tuple) and len(arg1) == 2
                            and all(np.isscalar(d) for d in arg1)):
            if arg1 is None and shape is None:
                raise ValueError("shape is required to build an empty array")
            shp = check_shape(arg1 if arg1 is not None else shape)
            _check_shape_match(shape, shp)
            idx = get_index_dtype(maxval=max(shp))
            self._set(np.zeros(0, dtype=check_dtype(dtype or np.float64)),
                      np.zeros(0, dtype=idx), np.zeros(0, dtype=idx), shp, True)
            return
        if isinstance(arg1, tuple):
            if len(arg1) != 2 or not isinstance(arg1[1], (tuple, list)) or len(arg1[1]) != 2:
                raise TypeError(
                    "cannot build a coo_array from this tuple; expected (data, (row, col)) "
                    "or a shape (M, N)"
                )
            data, (row, col) = arg1
            same_device("data", data, "row", row)
            same_device("data", data, "col", col)
            data = _as_data(data, dtype, copy)
            row = as_index_array(row, "row")
            col = as_index_array(col, "col")
            if data.ndim != 1:
                raise ValueError(f"data must be 1-D, got an array of shape {data.shape}")
            if not (data.shape[0] == row.shape[0] == col.shape[0]):
                raise ValueError(
                    "data, row and col must have the same length, got "
                    f"{data.shape[0]}, {row.shape[0]} and {col.shape[0]}"
                )
            if shape is None:
                if row.size == 0:
                    raise ValueError("cannot infer the shape from empty row/col; pass shape=")
                shape = (int(row.max()) + 1, int(col.max()) + 1)
            idx = get_index_dtype(row, col, maxval=max(shape), check_contents=True)
            self._set(data, row.astype(idx, copy=copy), col.astype(idx, copy=copy), shape, None)
            self.check_format(full_check=True)
            return
        # dense input (a CuPy array gives an array on the GPU)
        _, dense = as_array(arg1)
        if dense.dtype == object:
            raise TypeError(
                f"cannot build a coo_array from {type(arg1).__name__}: expected a dense "
                "array, a sparse array or (data, (row, col))"
            )
        if dense.ndim != 2:
            raise ValueError(f"dense input must be 2-D, got {dense.ndim}-D")
        _check_shape_match(shape, dense.shape)
        data = _as_data(dense, dtype, False)
        row, col = namespace_of(data).nonzero(data)
        idx = get_index_dtype(maxval=max(max(dense.shape), row.size))
        # np.nonzero walks in row-major order: the result is canonical
        self._set(data[row, col], row.astype(idx), col.astype(idx), dense.shape, True)

    # -- internals ----------------------------------------------------------
    def _set(self, data, row, col, shape, canonical):
        self._data = data
        self.row = row
        self.col = col
        self._shape = tuple(int(s) for s in shape)
        self._canonical = canonical

    @classmethod
    def _from_arrays(cls, data, row, col, shape, canonical=None):
        out = cls.__new__(cls)
        out._set(data, row, col, shape, canonical)
        return out

    def _with_data(self, data, copy: bool = True):
        row = self.row.copy() if copy else self.row
        col = self.col.copy() if copy else self.col
        return coo_array._from_arrays(data, row, col, self._shape, self._canonical)

    # -- attributes -----------------------------------------------------------
    @property
    def coords(self) -> tuple[np.ndarray, np.ndarray]:
        """``(row, col)``, as ``scipy.sparse.coo_array.coords``."""
        return (self.row, self.col)

    @property
    def has_canonical_format(self) -> bool:
        """Whether entries are in row-major order without duplicates."""
        if self._canonical is None:
            r, c = self.row, self.col
            if r.size < 2:
                self._canonical = True
            else:
                dr = r[1:] - r[:-1]
                dc = c[1:] - c[:-1]
                self._canonical = bool(((dr > 0) | ((dr == 0) & (dc > 0))).all())
        return self._canonical

    @property
    def has_sorted_indices(self) -> bool:
        """Whether entries are in row-major order without duplicates (as canonical)."""
        return self.has_canonical_format

    def check_format(self, full_check: bool = True) -> None:
        """Check that ``row``, ``col`` and ``data`` describe a valid array.

        Parameters
        ----------
        full_check : bool, default True
            Also check that every index is within the shape (O(nnz));
            otherwise only dimensions, dtypes and lengths are checked.

        Raises
        ------
        ValueError
            If ``row``/``col`` are not 1-D integer arrays, the three arrays
            differ in length, or (with ``full_check``) an index is negative or
            out of range.
        """
        M, N = self._shape
        for name, arr in (("row", self.row), ("col", self.col)):
            if arr.ndim != 1 or arr.dtype.kind not in "iu":
                raise ValueError(f"{name} must be a 1-D integer array")
        if not (self._data.shape[0] == self.row.shape[0] == self.col.shape[0]):
            raise ValueError("data, row and col must have the same length")
        if full_check and self.row.size:
            for name, arr, dim in (("row", self.row, M), ("col", self.col, N)):
                lo, hi = int(arr.min()), int(arr.max())
                if lo < 0:
                    raise ValueError(f"{name} holds a negative index ({lo})")
                if hi >= dim:
                    raise ValueError(
                        f"{name} holds index {hi}, out of range for shape {self._shape}"
                    )

    # -- conversions ------------------------------------------------------------
    def tocoo(self, copy: bool = False):
        """Return the array in COO format: ``self``, or a copy.

        Parameters
        ----------
        copy : bool, default False
            Return a copy instead of ``self``.

        Returns
        -------
        coo_array
            ``self``, or its copy.
        """
        return self.copy() if copy else self

    def tocsr(self, copy: bool = False):
        """Return the array in CSR format, duplicates summed (as SciPy).

        Parameters
        ----------
        copy : bool, default False
            Accepted for SciPy compatibility; the CSR arrays are always newly
            allocated, so the result never shares memory with this array.

        Returns
        -------
        csr_array
            Canonical: indices sorted within each row, no duplicates.
        """
        from .csr import csr_array

        M, N = self._shape
        indptr, indices, data = _c.coo_to_csr(M, N, self.row, self.col, self._data)
        if self._canonical:
            return csr_array._from_arrays(data, indices, indptr, self._shape, True, True)
        indptr, indices, data = _c.sum_duplicates(indptr, indices, data)
        return csr_array._from_arrays(data, indices, indptr, self._shape, True, True)

    def tocsc(self, copy: bool = False):
        from .csc import csc_array

        M, N = self._shape
        indptr, indices, data = _c.coo_to_csr(N, M, self.col, self.row, self._data)
        indptr, indices, data = _c.sum_duplicates(indptr, indices, data)
        return csc_array._from_arrays(data, indices, indptr, self._shape, True, True)

    def toarray(self, order: str | None = None, out=None) -> np.ndarray:
        if self.device == "gpu":
            # cupy.add.at has no complex or bool support: go through CSR
            return self.tocsr().toarray(order=order, out=out)
        if out is None:
            out = np.zeros(self._shape, dtype=self.dtype, order=order or "C")
        else:
            if out.shape != self._shape:
                raise ValueError(f"out must have shape {self._shape}, got {out.shape}")
            out[...] = 0
        np.add.at(out, (self.row, self.col), self._data)
        return out

    def to_scipy(self):
        """Return the equivalent ``scipy.sparse.coo_array``.

        Returns
        -------
        scipy.sparse.coo_array
            An array sharing this array's buffers (no copy).
        """
        self._require_cpu("to_scipy")
        import scipy.sparse as sp

        return sp.coo_array((self._data, (self.row, self.col)), shape=self._shape, copy=False)

    def transpose(self, axes=None, copy: bool = False):
        """Return the transpose, a ``coo_array`` with ``row`` and ``col`` swapped.

        Parameters
        ----------
        axes : None or (1, 0), optional
            Only the reversal of the two axes is supported, as in SciPy.
        copy : bool, default False
            Copy the buffers instead of sharing them.

        Returns
        -------
        coo_array
            The ``(N, M)`` transpose.

        Raises
        ------
        ValueError
            If ``axes`` is not None or ``(1, 0)``.
        """
        if axes is not None and tuple(axes) != (1, 0):
            raise ValueError("axes must be None or (1, 0) for a 2-D sparse array")
        M, N = self._shape
        A = coo_array._from_arrays(self._data, self.col, self.row, (N, M), None)
        return A.copy() if copy else A

    # -- canonical form ---------------------------------------------------------
    def sum_duplicates(self) -> None:
        """Sort entries row-major and sum duplicates, in place."""
        if self.has_canonical_format:
            return
        A = self.tocsr()
        self._set(A.data, _c.expand_indptr(A.indptr), A.indices, self._shape, True)

    def sort_indices(self) -> None:
        """Sort entries row-major and sum duplicates, in place (as :meth:`sum_duplicates`)."""
        self.sum_duplicates()

    def eliminate_zeros(self) -> None:
        """Remove stored entries whose value is zero, in place."""
        keep = self._data != 0
        if not keep.all():
            self._set(self._data[keep], self.row[keep], self.col[keep], self._shape,
                      self._canonical)


def _check_shape_match(shape, actual):
    if shape is not None and tuple(shape) != tuple(actual):
        raise ValueError(f"shape {tuple(shape)} does not match the input's shape {tuple(actual)}")
