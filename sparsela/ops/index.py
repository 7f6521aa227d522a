"""Indexing: ``A[rows]``, ``A[rows, cols]`` and ``A[i, j]``.

Keys follow ``scipy.sparse.csr_array`` where a 2-D result can express them:

* rows: an int, a slice (any step), an integer array or a boolean mask;
* columns: the same kinds of keys;
* ``...`` (Ellipsis) stands for the missing full axes, ``A[...]`` is all of A.

sparsela arrays are 2-D only, so an integer keeps its axis with length 1
(``A[i]`` is ``1 x N``, ``A[:, j]`` is ``M x 1``) where SciPy returns a 1-D
``coo_array``; ``A[i, j]`` is a scalar. Two index arrays, ``A[rows, cols]``,
pair their entries in NumPy and SciPy (a 1-D result) and raise here; the
submatrix that ``np.ix_`` selects is ``A[rows][:, cols]``.

Every selection returns an array of the input's format (BSR input gives
CSR), never densifies, and never writes into the input's buffers. Stored
duplicates are kept, as SciPy keeps them (they add up in ``toarray()``);
the order of the stored entries within a row follows the input, so sorted
input gives sorted output whenever the selected columns are increasing.
"""
from __future__ import annotations

import operator

import numpy as np

from .._device import is_gpu_array
from .._sputils import get_index_dtype
from ..backends.cpu._jit import threads
from ..formats._base import SparseArray
from ..formats.csc import csc_array
from ..formats.csr import csr_array
from . import _canonical as _c
from ._backend import kernels, xp_of

__all__ = ["getitem"]

_PAIRED = (
    "A[rows, cols] with two index arrays pairs their entries in NumPy and SciPy (a 1-D "
    "result), which 2-D sparsela arrays do not represent; select the submatrix with "
    "A[rows][:, cols]"
)


# --------------------------------------------------------------------------- #
# keys
# --------------------------------------------------------------------------- #
def _is_scalar_key(k) -> bool:
    return np.isscalar(k) and not isinstance(k, (str, bytes))


def _index(i, n: int, name: str) -> int:
    try:
        i = operator.index(i)
    except TypeError:
        raise IndexError(f"{name} index must be an integer, got {i!r}") from None
    if not -n <= i < n:
        raise IndexError(f"{name} index {i} is out of range for size {n}")
    return i + n if i < 0 else i


def _expand_key(key) -> tuple:
    """``key`` as ``(rows, cols)``; Ellipsis and missing entries become ``:``."""
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is None for k in key):
        raise IndexError("sparsela arrays are 2-D: None (np.newaxis) in an index is not "
                         "supported")
    n_ell = sum(1 for k in key if k is Ellipsis)
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if n_ell:
        i = next(i for i, k in enumerate(key) if k is Ellipsis)
        fill = 3 - len(key)
        if fill < 0:
            raise IndexError(f"too many indices for a 2-D array: {len(key) - 1}")
        key = key[:i] + (slice(None),) * fill + key[i + 1:]
    if len(key) > 2:
        raise IndexError(f"too many indices for a 2-D array: {len(key)}")
    return key + (slice(None),) * (2 - len(key))


def _axis_key(key, n: int, name: str, xp=np):
    """Normalise one axis's key to ``int``, ``slice`` (start, stop, step) or an int64 array.

    Integers come back non-negative; a slice is returned in the form
    ``slice.indices`` gives; arrays are checked and made non-negative (a
    boolean mask becomes the positions of its True entries). Arrays come
    back in ``xp``, the array module of the indexed array: a host key of a
    GPU array is copied to the device (a key, not data, as CuPy does); a
    device key of a CPU array is refused.
    """
    if _is_scalar_key(key):
        return _index(key, n, name)
    if isinstance(key, slice):
        return slice(*key.indices(n))
    if is_gpu_array(key):
        if xp is np:
            raise TypeError(f"the {name} key is a GPU array but the indexed array is on the "
                            "CPU; move one explicitly (key.get() or A.to_device('gpu'))")
        arr = key
    else:
        arr = xp.asarray(np.asarray(key))
    if arr.dtype == np.bool_:
        if arr.shape != (n,):
            raise IndexError(f"boolean {name} mask must have shape ({n},), got {arr.shape}")
        return xp.flatnonzero(arr)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise IndexError(f"{name} indices must be a 1-D integer array, got {arr.dtype} "
                         f"{arr.shape}")
    arr = arr.astype(np.int64, copy=True)
    if arr.size and (int(arr.min()) < -n or int(arr.max()) >= n):
        bad = int(arr[(arr < -n) | (arr >= n)][0])
        raise IndexError(f"{name} index {bad} is out of range for {n} {name}s")
    arr[arr < 0] += n
    return arr


def _is_array(k) -> bool:
    return isinstance(k, np.ndarray) or is_gpu_array(k)


def _repeat(xp, values, counts):
    """``np.repeat(values, counts)``; CuPy's repeat takes host counts only."""
    if xp is np:
        return np.repeat(values, counts)
    ends = xp.cumsum(counts)
    total = int(ends[-1]) if ends.size else 0
    return values[xp.searchsorted(ends, xp.arange(total), side="right")]


def _is_full(k, n: int) -> bool:
    return isinstance(k, slice) and k.step == 1 and k.start == 0 and k.stop == n


# --------------------------------------------------------------------------- #
# selections on CSR
# --------------------------------------------------------------------------- #
def _select_rows(A: csr_array, rows) -> csr_array:
    """Rows of a CSR array: an int, a normalised slice or an int64 array."""
    if isinstance(rows, int):
        return A._row_slice(rows, rows + 1)
    if isinstance(rows, slice):
        start, stop, step = rows.start, rows.stop, rows.step
        if step == 1:
            return A._row_slice(start, max(start, stop))
        rows = xp_of(A.indptr).arange(start, stop, step, dtype=np.int64)
    xp = xp_of(A.indptr)
    counts = (A.indptr[rows + 1] - A.indptr[rows]).astype(np.int64)
    Bp = _c.prefix_sum(counts, A.indptr.dtype)
    nnz = int(Bp[-1])
    Bj = xp.empty(nnz, dtype=A.indices.dtype)
    Bx = xp.empty(nnz, dtype=A.dtype)
    with threads(work=nnz):
        kernels("index", A.indptr).csr_row_gather(A.indptr, A.indices, A.data, rows, Bp, Bj, Bx)
    return csr_array._from_arrays(Bx, Bj, Bp, (rows.shape[0], A.shape[1]), A._sorted,
                                  A._canonical)


def _kept_indptr(indptr: np.ndarray, kept: np.ndarray, dtype) -> np.ndarray:
    """``indptr`` of the stored entries at the increasing positions ``kept``.

    A binary search per row (O(M log nnz)) is cheaper than a prefix sum over
    all the stored entries.
    """
    return xp_of(kept).searchsorted(kept, indptr).astype(dtype, copy=False)


def _cols_strided(A: csr_array, start: int, stop: int, step: int) -> csr_array:
    """Columns ``start:stop:step`` (as ``slice.indices`` gives them): one pass over the entries."""
    M = A.shape[0]
    n_out = len(range(start, stop, step))
    nnz = A.nnz
    j = A.indices[:nnz]
    xp = xp_of(j)
    if n_out == 0:
        return csr_array._from_arrays(A.data[:0], j[:0], xp.zeros(M + 1, dtype=A.indptr.dtype),
                                      (M, 0), True, True)
    if n_out == 1:
        # one column (also keeps a huge step out of the index dtype below)
        stop, step = start + 1, 1
    last = start + (n_out - 1) * step
    lo, hi = min(start, last), max(start, last)
    keep = (j >= lo) & (j <= hi)
    if step == 1:
        kept = xp.flatnonzero(keep)
        new_j = j.take(kept)
        if lo:
            new_j -= j.dtype.type(lo)
    else:
        off = (j - j.dtype.type(lo)) if step > 0 else (j.dtype.type(hi) - j)
        keep &= (off % abs(step)) == 0
        kept = xp.flatnonzero(keep)
        new_j = (off.take(kept) // abs(step)).astype(j.dtype, copy=False)
    indptr = _kept_indptr(A.indptr, kept, A.indptr.dtype)
    # increasing columns keep sorted rows sorted (and canonical ones canonical)
    flags = (A._sorted, A._canonical) if step > 0 else (None, None)
    return csr_array._from_arrays(A.data[:nnz].take(kept, axis=0), new_j, indptr, (M, n_out),
                                  *flags)


def _cols_array(A: csr_array, cols: np.ndarray) -> csr_array:
    """Columns ``cols`` (any order, repeats allowed): one pass over the entries.

    Each stored entry in column ``c`` is emitted once per occurrence of ``c``
    in ``cols``, with the output column of that occurrence.
    """
    M, N = A.shape
    K = cols.shape[0]
    nnz = A.nnz
    j = A.indices[:nnz]
    xp = xp_of(j)
    # positions of every column in cols, grouped by column (CSR-like map)
    counts = xp.bincount(cols, minlength=N)
    where = xp.argsort(cols, kind="stable")
    wptr = xp.zeros(N + 1, dtype=np.int64)
    xp.cumsum(counts, out=wptr[1:])
    mult = counts[j]                           # copies of each stored entry
    if not nnz or int(mult.max()) <= 1:
        # no repeated column among the stored ones: each entry kept at most once
        src = xp.flatnonzero(mult)
        idx = get_index_dtype(A.indptr, A.indices, maxval=max(src.size, K, M))
        indptr = _kept_indptr(A.indptr, src, idx)
        new_j = where[wptr[j.take(src)]]
    else:
        csum = xp.zeros(nnz + 1, dtype=np.int64)
        xp.cumsum(mult, out=csum[1:])
        total = int(csum[-1])
        idx = get_index_dtype(A.indptr, A.indices, maxval=max(total, K, M))
        indptr = csum[A.indptr].astype(idx, copy=False)
        src = _repeat(xp, xp.arange(nnz), mult)
        rank = xp.arange(total) - _repeat(xp, csum[:-1], mult)
        new_j = where[wptr[j[src]] + rank]
    increasing = K <= 1 or bool((cols[1:] > cols[:-1]).all())
    flags = (A._sorted, A._canonical) if increasing else (None, None)
    return csr_array._from_arrays(A.data[:nnz].take(src, axis=0), new_j.astype(idx, copy=False),
                                  indptr, (M, K), *flags)


def _select_cols(A: csr_array, cols) -> csr_array:
    if isinstance(cols, int):
        return _cols_strided(A, cols, cols + 1, 1)
    if isinstance(cols, slice):
        return _cols_strided(A, cols.start, cols.stop, cols.step)
    return _cols_array(A, cols)


def _select(A: csr_array, rows, cols) -> csr_array:
    M, N = A.shape
    if not _is_full(rows, M):
        A = _select_rows(A, rows)      # rows first: fewer entries for the column pass
    if not _is_full(cols, N):
        A = _select_cols(A, cols)
    elif _is_full(rows, M):
        A = A._row_slice(0, M)         # a new array object on the same buffers
    return A


# --------------------------------------------------------------------------- #
# public entry
# --------------------------------------------------------------------------- #
def getitem(A: SparseArray, key):
    """``A[key]``: row, column and 2-D selections, and scalar entries.

    Parameters
    ----------
    A : SparseArray
        The indexed array.
    key : int, slice, array_like of int or bool, Ellipsis, or tuple
        A row key, or a pair ``(rows, cols)``. Each of ``rows`` and ``cols``
        is an int, a slice (any step, negative too), a 1-D integer array
        (negative entries count from the end; repeats allowed) or a boolean
        mask of the axis's length; ``...`` stands for the full axes it
        replaces. At most one of the two may be an array (see Raises).

    Returns
    -------
    SparseArray or scalar
        For ``(i, j)`` with two integers, the entry as a NumPy scalar
        (duplicates summed). Otherwise a 2-D array of ``A``'s format (BSR
        input gives CSR, as for row selections): an integer keeps its axis
        with length 1 (``A[i]`` is ``1 x N``, ``A[:, j]`` is ``M x 1``), where
        SciPy's ``csr_array`` returns 1-D. Stored duplicates are kept as they
        are (not summed, as in SciPy); ``toarray()`` adds them up. Step-1 row
        slices of CSR (step-1 column slices of CSC, and ``A[...]`` of both)
        are views of ``A``'s buffers, as NumPy's basic slicing; sparsela
        never writes into them.

    Raises
    ------
    IndexError
        For an index out of range, a mask of the wrong length, a non-integer
        key, ``None``, more than two indices, or two index arrays (NumPy's
        paired selection has a 1-D result; use ``A[rows][:, cols]`` for the
        submatrix).

    Notes
    -----
    A column selection on CSR is one vectorised pass over the stored entries
    of the selected rows (no densifying, no CSC conversion); CSC arrays are
    indexed as the CSR array of their transpose, which shares their buffers.
    COO and BSR arrays go through CSR (duplicates summed by the conversion).
    """
    M, N = A.shape
    r, c = _expand_key(key)
    if _is_scalar_key(r) and _is_scalar_key(c):
        return _scalar(A, _index(r, M, "row"), _index(c, N, "column"))
    xp = xp_of(A.data)
    rows = _axis_key(r, M, "row", xp)
    cols = _axis_key(c, N, "column", xp)
    if _is_array(rows) and _is_array(cols):
        raise IndexError(_PAIRED)
    if isinstance(A, csc_array):
        # the transpose of a CSC array is a CSR view of the same buffers
        return _select(A.transpose(), cols, rows).transpose()
    S = A if isinstance(A, csr_array) else A.tocsr()
    out = _select(S, rows, cols)
    if A.format == "coo":
        return out.tocoo()
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
