"""Compressed Sparse Column arrays (stored as the CSR arrays of the transpose)."""
from __future__ import annotations

import numpy as np

from .._device import namespace_of
from ..ops import _canonical as _c
from ._compressed import _CompressedArray

__all__ = ["csc_array"]


class csc_array(_CompressedArray):
    """Compressed Sparse Column array, a drop-in for ``scipy.sparse.csc_array``.

    Parameters
    ----------
    arg1 : array_like, sparse array, tuple
        One of: a dense 2-D array; a sparsela or ``scipy.sparse`` array or
        matrix (its buffers are shared, no copy, when dtypes allow);
        ``(M, N)`` for an empty array; ``(data, (row, col))`` COO triplets
        (duplicates are summed); ``(data, indices, indptr)`` CSC arrays, with
        ``indices`` holding row indices and ``indptr`` column pointers.
    shape : tuple of int, optional
        Shape ``(M, N)``; inferred from the input when omitted.
    dtype : dtype, optional
        Value dtype (bool, integers, float32/64, complex64/128).
    copy : bool, default False
        Copy the input buffers instead of sharing them.

    Notes
    -----
    The CSC arrays of an array are the CSR arrays of its transpose, so
    ``A.T`` of a ``csc_array`` is a ``csr_array`` sharing its buffers, and
    products and reductions run on the CSC arrays without conversion.

    Examples
    --------
    >>> import numpy as np, sparsela as sl
    >>> A = sl.csc_array(np.array([[1, 0], [2, 3]]))
    >>> A.indptr, A.indices
    (array([0, 2, 3], dtype=int32), array([0, 1, 1], dtype=int32))
    """

    format = "csc"

    @staticmethod
    def _swap(x):
        return (x[1], x[0])

    def tocsc(self, copy: bool = False):
        """Return the array in CSC format: ``self``, or a copy.

        Parameters
        ----------
        copy : bool, default False
            Return a copy instead of ``self``.

        Returns
        -------
        csc_array
            ``self``, or its copy.
        """
        return self.copy() if copy else self

    def tocsr(self, copy: bool = False):
        """Return the array in CSR format.

        Parameters
        ----------
        copy : bool, default False
            Accepted for SciPy compatibility; the CSR arrays are always newly
            allocated.

        Returns
        -------
        csr_array
            The same array with sorted indices (duplicates kept).
        """
        from .csr import csr_array

        M, N = self._shape
        # the CSC arrays are the CSR arrays of the N x M transpose
        # (sorted, duplicate-free columns transpose to sorted, duplicate-free rows)
        Ap, Aj, Ax = _c.csr_to_csc(N, M, self._indptr, self._indices, self._data)
        return csr_array._from_arrays(Ax, Aj, Ap, self._shape, True,
                                      True if self._canonical else None)

    def tocoo(self, copy: bool = False):
        """Return the array in COO format.

        Parameters
        ----------
        copy : bool, default False
            Copy the row indices and values instead of sharing them.

        Returns
        -------
        coo_array
            The same entries (duplicates kept), ordered by column.
        """
        from .coo import coo_array

        col = _c.expand_indptr(self._indptr)
        row = self._indices.copy() if copy else self._indices
        data = self._data.copy() if copy else self._data
        # column-major order: canonical (row-major) only by coincidence, so unknown
        return coo_array._from_arrays(data, row, col, self._shape, None)

    def toarray(self, order: str | None = None, out=None) -> np.ndarray:
        M, N = self._shape
        if out is not None:
            if out.shape != (M, N):
                raise ValueError(f"out must have shape {(M, N)}, got {out.shape}")
            _c.csr_to_dense(self._indptr, self._indices, self._data, (N, M), out=out.T)
            return out
        # the dense transpose in C order is this array in F order
        dense_t = _c.csr_to_dense(self._indptr, self._indices, self._data, (N, M))
        if order == "F":
            return dense_t.T
        return namespace_of(dense_t).ascontiguousarray(dense_t.T)

    def transpose(self, axes=None, copy: bool = False):
        """Return the transpose, a ``csr_array`` sharing this array's buffers.

        Parameters
        ----------
        axes : None or (1, 0), optional
            Only the reversal of the two axes is supported, as in SciPy.
        copy : bool, default False
            Copy the buffers instead of sharing them.

        Returns
        -------
        csr_array
            The ``(N, M)`` transpose; its CSR arrays are this array's CSC
            arrays.

        Raises
        ------
        ValueError
            If ``axes`` is not None or ``(1, 0)``.
        """
        from .csr import csr_array

        if axes is not None and tuple(axes) != (1, 0):
            raise ValueError("axes must be None or (1, 0) for a 2-D sparse array")
        M, N = self._shape
        A = csr_array._from_arrays(self._data, self._indices, self._indptr, (N, M),
                                   self._sorted, self._canonical)
        return A.copy() if copy else A

    def to_scipy(self):
        """Return the equivalent ``scipy.sparse.csc_array``.

        Returns
        -------
        scipy.sparse.csc_array
            An array sharing this array's buffers (no copy).
        """
        self._require_cpu("to_scipy")
        import scipy.sparse as sp

        return self._to_scipy(sp.csc_array)
