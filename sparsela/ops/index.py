"""Indexing: rows (``A[i]``, ``A[i:j:k]``, ``A[[3, 1, 4]]``, boolean masks) and ``A[i, j]``.

Row selections return a 2-D array of the input's format (a 1 x N array for
``A[i]``: sparsela arrays are 2-D, where SciPy returns a 1-D ``coo_array``).
"""
from __future__ import annotations

import operator

import numpy as np

from ..backends import lazy
from ..backends.cpu._jit import threads
from ..formats._base import SparseArray
from ..formats.csr import csr_array
from . import _canonical as _c

_k = lazy("cpu.index")

__all__ = ["getitem"]

_UNSUPPORTED = (
    "sparsela supports row indexing (A[i], A[i:j], A[[i, k]], A[mask], A[rows, :]) and "
    "scalar A[i, j]; select columns through the transpose, A.T[cols].T"
)


def _index(i, n: int, name: str) -> int:
    try:
        i = operator.index(i)
    except TypeError:
        raise IndexError(f"{name} index must be an integer, got {i!r}") from None
    if not -n <= i < n:
        raise IndexError(f"{name} index {i} is out of range for size {n}")
    return i + n if i < 0 else i


def _rows(key, M: int) -> np.ndarray | slice:
    if isinstance(key, slice):
        start, stop, step = key.indices(M)
        if step == 1:
            return slice(start, max(start, stop))
        return np.arange(start, stop, step, dtype=np.int64)
    arr = np.asarray(key)
    if arr.dtype == np.bool_:
        if arr.shape != (M,):
            raise IndexError(f"boolean row mask must have shape ({M},), got {arr.shape}")
        return np.flatnonzero(arr)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise IndexError(f"row indices must be a 1-D integer array, got {arr.dtype} {arr.shape}")
    arr = arr.astype(np.int64, copy=True)
    if arr.size and (arr.min() < -M or arr.max() >= M):
        bad = arr[(arr < -M) | (arr >= M)][0]
        raise IndexError(f"row index {bad} is out of range for {M} rows")
    arr[arr < 0] += M
    return arr


def _select_rows(A: csr_array, rows) -> csr_array:
    if isinstance(rows, slice):
        return A._row_slice(rows.start, rows.stop)
    counts = (A.indptr[rows + 1] - A.indptr[rows]).astype(np.int64)
    Bp = _c.prefix_sum(counts, A.indptr.dtype)
    nnz = int(Bp[-1])
    Bj = np.empty(nnz, dtype=A.indices.dtype)
    Bx = np.empty(nnz, dtype=A.dtype)
    with threads(work=nnz):
        _k.csr_row_gather(A.indptr, A.indices, A.data, rows, Bp, Bj, Bx)
    return csr_array._from_arrays(Bx, Bj, Bp, (rows.shape[0], A.shape[1]), A._sorted, A._canonical)


def getitem(A: SparseArray, key):
    """``A[key]``: row selections and scalar entries.

    Parameters
    ----------
    A : SparseArray
        The indexed array.
    key : int, slice, array_like of int or bool, or tuple
        Rows (an int, a slice, an integer array or a boolean mask of length
        ``A.shape[0]``), ``(rows, slice(None))``, or a pair of ints ``(i, j)``
        for one entry.

    Returns
    -------
    SparseArray or scalar
        For a row selection, a 2-D array of the selected rows in ``A``'s
        format (BSR input gives CSR; ``A[i]`` is ``1 x N``). For ``(i, j)``,
        the entry as a NumPy scalar, duplicates summed.

    Raises
    ------
    IndexError
        For an index out of range, a mask of the wrong length, or a key of
        another kind (column selections among them).
    """
    M, N = A.shape
    if isinstance(key, tuple):
        if len(key) != 2:
            raise IndexError(f"too many indices for a 2-D array: {len(key)}")
        r, c = key
        if isinstance(c, slice) and c == slice(None):
            return getitem(A, r)
        if np.isscalar(r) and np.isscalar(c):
            return _scalar(A, _index(r, M, "row"), _index(c, N, "column"))
        raise IndexError(_UNSUPPORTED)
    if key is Ellipsis or key is None:
        raise IndexError(_UNSUPPORTED)
    S = A if isinstance(A, csr_array) else A.tocsr()
    if np.isscalar(key) and not isinstance(key, (str, bytes)):
        i = _index(key, M, "row")
        out = S._row_slice(i, i + 1)
    else:
        out = _select_rows(S, _rows(key, M))
    if A.format in ("csc", "coo"):
        return out.asformat(A.format)
    return out


def _scalar(A: SparseArray, i: int, j: int):
    if A.format == "csc":
        p0, p1 = int(A.indptr[j]), int(A.indptr[j + 1])
        hit = A.indices[p0:p1] == i
    else:
        S = A if isinstance(A, csr_array) else A.tocsr()
        p0, p1 = int(S.indptr[i]), int(S.indptr[i + 1])
        hit = S.indices[p0:p1] == j
        A = S
    # duplicates add up, as they do in toarray()
    return A.data[p0:p1][hit].sum(dtype=A.dtype)
