"""Compressed Sparse Row arrays."""
from __future__ import annotations

import numpy as np

from .._sputils import check_shape, get_index_dtype
from ..ops import _canonical as _c
from ._compressed import _CompressedArray

__all__ = ["csr_array"]


class csr_array(_CompressedArray):
    """Compressed Sparse Row array, a drop-in for ``scipy.sparse.csr_array``.

    Parameters
    ----------
    arg1 : array_like, sparse array, tuple
        One of: a dense 2-D array; a sparsela or ``scipy.sparse`` array or
        matrix (its buffers are shared, no copy, when dtypes allow);
        ``(M, N)`` for an empty array; ``(data, (row, col))`` COO triplets
        (duplicates are summed); ``(data, indices, indptr)`` CSR arrays.
    shape : tuple of int, optional
        Shape ``(M, N)``; inferred from the input when omitted.
    dtype : dtype, optional
        Value dtype (bool, integers, float32/64, complex64/128).
    copy : bool, default False
        Copy the input buffers instead of sharing them.

    Notes
    -----
    Index arrays are int32 while the shape and nnz fit, int64 otherwise.
    Methods never write into the arrays the array was built from: in-place
    methods (``sort_indices``, ``sum_duplicates``) rebind new arrays.

    Examples
    --------
    >>> import numpy as np, sparsela as sl
    >>> A = sl.csr_array(np.array([[1, 0], [0, 2]]))
    >>> (A @ A).toarray()
    array([[1, 0],
           [0, 4]])
    """

    format = "csr"

    @staticmethod
    def _swap(x):
        return x

    def tocsr(self, copy: bool = False):
        """Return the array in CSR format: ``self``, or a copy.

        Parameters
        ----------
        copy : bool, default False
            Return a copy instead of ``self``.

        Returns
        -------
        csr_array
            ``self``, or its copy.
        """
        return self.copy() if copy else self

    def tocsc(self, copy: bool = False):
        from .csc import csc_array

        M, N = self._shape
        # (sorted, duplicate-free rows transpose to sorted, duplicate-free columns)
        Bp, Bi, Bx = _c.csr_to_csc(M, N, self._indptr, self._indices, self._data)
        return csc_array._from_arrays(Bx, Bi, Bp, self._shape, True,
                                      True if self._canonical else None)

    def tocoo(self, copy: bool = False):
        """Return the array in COO format.

        Parameters
        ----------
        copy : bool, default False
            Copy the column indices and values instead of sharing them.

        Returns
        -------
        coo_array
            The same entries (duplicates kept), ordered by row.
        """
        from .coo import coo_array

        row = _c.expand_indptr(self._indptr)
        col = self._indices.copy() if copy else self._indices
        data = self._data.copy() if copy else self._data
        return coo_array._from_arrays(data, row, col, self._shape, self._canonical)

    def tobsr(self, blocksize=None, copy: bool = False):
        from .bsr import bsr_array

        return bsr_array._from_csr(self, blocksize)

    def toarray(self, order: str | None = None, out=None) -> np.ndarray:
        return _c.csr_to_dense(self._indptr, self._indices, self._data, self._shape,
                               order=order or "C", out=out)

    def transpose(self, axes=None, copy: bool = False):
        """Return the transpose, a ``csc_array`` sharing this array's buffers.

        Parameters
        ----------
        axes : None or (1, 0), optional
            Only the reversal of the two axes is supported, as in SciPy.
        copy : bool, default False
            Copy the buffers instead of sharing them.

        Returns
        -------
        csc_array
            The ``(N, M)`` transpose; its CSC arrays are this array's CSR
            arrays.

        Raises
        ------
        ValueError
            If ``axes`` is not None or ``(1, 0)``.
        """
        from .csc import csc_array

        if axes is not None and tuple(axes) != (1, 0):
            raise ValueError("axes must be None or (1, 0) for a 2-D sparse array")
        M, N = self._shape
        A = csc_array._from_arrays(self._data, self._indices, self._indptr, (N, M),
                                   self._sorted, self._canonical)
        return A.copy() if copy else A

    def to_scipy(self):
        """Return the equivalent ``scipy.sparse.csr_array``.

        Returns
        -------
        scipy.sparse.csr_array
            An array sharing this array's buffers (no copy).
        """
        self._require_cpu("to_scipy")
        import scipy.sparse as sp

        return self._to_scipy(sp.csr_array)

    def _row_slice(self, start: int, stop: int):
        """Rows ``start:stop`` (step 1) without a kernel: contiguous views."""
        p0, p1 = int(self._indptr[start]), int(self._indptr[stop])
        indptr = self._indptr[start:stop + 1] - p0
        return csr_array._from_arrays(
            self._data[p0:p1], self._indices[p0:p1], indptr,
            (stop - start, self._shape[1]), self._sorted, self._canonical,
        )


def _empty_csr(shape, dtype) -> csr_array:
    M, N = check_shape(shape)
    idx = get_index_dtype(maxval=max(M, N))
    return csr_array._from_arrays(np.zeros(0, dtype=dtype), np.zeros(0, dtype=idx),
                                  np.zeros(M + 1, dtype=idx), (M, N), True, True)
