"""Array-level helpers joining the canonicalisation/conversion kernels.

These return NEW arrays and never write into the arrays they are given, so a
format built on a user's buffers (zero-copy) never changes them.
"""
from __future__ import annotations

import numpy as np

from .._sputils import get_index_dtype
from ..backends.cpu._jit import threads
from ._backend import kernels, xp_of


def prefix_sum(counts: np.ndarray, index_dtype=None) -> np.ndarray:
    """``indptr`` from per-row counts, in the smallest safe index dtype."""
    xp = xp_of(counts)
    if index_dtype is None:
        total = int(counts.sum()) if counts.size else 0
        index_dtype = get_index_dtype(maxval=total)
    indptr = xp.empty(counts.shape[0] + 1, dtype=index_dtype)
    indptr[0] = 0
    xp.cumsum(counts, out=indptr[1:])
    return indptr


def has_sorted_indices(indptr, indices) -> bool:
    with threads(work=indices.shape[0]):
        return bool(kernels("canonical", indices).csr_has_sorted_indices(indptr, indices))


def has_canonical_format(indptr, indices) -> bool:
    with threads(work=indices.shape[0]):
        return bool(kernels("canonical", indices).csr_has_canonical_format(indptr, indices))


def sort_indices(indptr, indices, data):
    """Return copies of (indices, data) with every row sorted by column."""
    indices = indices.copy()
    data = data.copy()
    with threads(work=indices.shape[0]):
        kernels("canonical", indices).csr_sort_indices(indptr, indices, data)
    return indices, data


def sum_duplicates(indptr, indices, data, *, is_sorted: bool = False):
    """Return canonical (indptr, indices, data): sorted rows, duplicates summed."""
    if not is_sorted:
        indices, data = sort_indices(indptr, indices, data)
    xp, _k = xp_of(indptr), kernels("canonical", indptr)
    counts = xp.empty(indptr.shape[0] - 1, dtype=indptr.dtype)
    with threads(work=indices.shape[0]):
        _k.csr_count_unique(indptr, indices, counts)
        new_indptr = prefix_sum(counts, indptr.dtype)
        nnz = int(new_indptr[-1])
        if nnz == indices.shape[0]:
            return new_indptr, indices, data
        new_indices = xp.empty(nnz, dtype=indices.dtype)
        new_data = xp.empty(nnz, dtype=data.dtype)
        _k.csr_sum_duplicates(indptr, indices, data, new_indptr, new_indices, new_data)
    return new_indptr, new_indices, new_data


def eliminate_zeros(indptr, indices, data):
    """Return (indptr, indices, data) without the entries whose value is zero."""
    xp, _k = xp_of(indptr), kernels("canonical", indptr)
    counts = xp.empty(indptr.shape[0] - 1, dtype=indptr.dtype)
    with threads(work=data.shape[0]):
        _k.csr_count_nonzero_values(indptr, data, counts)
        new_indptr = prefix_sum(counts, indptr.dtype)
        nnz = int(new_indptr[-1])
        if nnz == data.shape[0]:
            return indptr, indices, data
        new_indices = xp.empty(nnz, dtype=indices.dtype)
        new_data = xp.empty(nnz, dtype=data.dtype)
        _k.csr_eliminate_zeros(indptr, indices, data, new_indptr, new_indices, new_data)
    return new_indptr, new_indices, new_data


def coo_to_csr(n_row: int, n_col: int, row, col, data, index_dtype=None):
    """CSR arrays of COO triplets (duplicates kept, row order stable)."""
    nnz = row.shape[0]
    dt = index_dtype or get_index_dtype(row, col, maxval=max(nnz, n_row, n_col))
    xp = xp_of(row)
    indptr = xp.zeros(n_row + 1, dtype=dt)
    indices = xp.empty(nnz, dtype=dt)
    out = xp.empty(nnz, dtype=data.dtype)
    kernels("convert", row).coo_tocsr(n_row, row, col, data, indptr, indices, out)
    return indptr, indices, out


def csr_to_csc(n_row: int, n_col: int, indptr, indices, data):
    """CSC arrays (column pointers, sorted row indices) of CSR arrays; the transpose."""
    nnz = int(indptr[-1])
    dt = get_index_dtype(indptr, indices, maxval=max(nnz, n_row, n_col))
    xp = xp_of(indptr)
    Bp = xp.zeros(n_col + 1, dtype=dt)
    Bi = xp.empty(nnz, dtype=dt)
    Bx = xp.empty(nnz, dtype=data.dtype)
    kernels("convert", indptr).csr_tocsc(n_row, n_col, indptr, indices, data, Bp, Bi, Bx)
    return Bp, Bi, Bx


def csr_to_dense(indptr, indices, data, shape, dtype=None, order: str = "C", out=None):
    """Dense array of CSR arrays (duplicates summed), on their device."""
    xp = xp_of(indptr)
    if out is None:
        out = xp.zeros(shape, dtype=dtype or data.dtype, order=order)
    else:
        if xp_of(out) is not xp:
            raise TypeError("out must live on the device of the sparse array "
                            f"({'gpu' if xp is not np else 'cpu'}); move one explicitly")
        if out.shape != tuple(shape):
            raise ValueError(f"out must have shape {tuple(shape)}, got {out.shape}")
        out[...] = 0
    with threads(work=indices.shape[0]):
        kernels("convert", indptr).csr_todense(indptr, indices, data, out)
    return out


def expand_indptr(indptr, dtype=None) -> np.ndarray:
    """Row index of every stored entry (COO rows of CSR), vectorised."""
    n_row = indptr.shape[0] - 1
    dtype = dtype or indptr.dtype
    xp = xp_of(indptr)
    if xp is np:
        return np.repeat(np.arange(n_row, dtype=dtype), np.diff(indptr))
    # cupy.repeat takes host repeat counts only; the row of entry n is the
    # last row whose start is <= n
    nnz = int(indptr[-1])
    pos = xp.arange(nnz, dtype=indptr.dtype)
    return (xp.searchsorted(indptr, pos, side="right") - 1).astype(dtype, copy=False)
