"""Sparse x sparse products: ``spgemm`` (row-wise hash SpGEMM).

CSR operands run as they are; CSC x CSC runs as ``(B.T @ A.T).T`` on the
CSC arrays (the CSR arrays of the transposes); other formats go through CSR.
"""
from __future__ import annotations

import numpy as np

from .._sputils import upcast
from ..backends.cpu import spgemm as _spgemm
from ..formats.csc import csc_array
from ..formats.csr import csr_array
from ._validation import as_sparse, from_kernel, kernel_dtype, to_kernel

__all__ = ["spgemm"]


def spgemm(A, B, *, sort_indices: bool = True):
    """Sparse matrix - sparse matrix product ``A @ B`` (row-wise hash SpGEMM).

    Parameters
    ----------
    A, B : sparse arrays (sparsela or scipy.sparse), shapes (M, K) and (K, N)
    sort_indices : bool, default True
        Sort the column indices of every row of the result, so it is in
        canonical format (SciPy's own ``A @ B`` leaves rows unsorted).
        ``False`` skips the per-row sort and is faster.

    Returns
    -------
    csr_array (csc_array when both operands are CSC)
        Entries that cancel to zero are kept as explicit zeros (call
        ``eliminate_zeros`` to drop them); duplicates in the inputs are summed.
        Index dtype is int32 unless nnz or N needs int64.
    """
    A = as_sparse(A, "A")
    B = as_sparse(B, "B")
    if A.shape[1] != B.shape[0]:
        raise ValueError(f"dimension mismatch: A has shape {A.shape}, B has shape {B.shape}")
    out_dt = upcast(A.dtype, B.dtype)
    A, B = A._bool_deduped(), B._bool_deduped()
    if isinstance(A, csc_array) and isinstance(B, csc_array):
        # C.T = B.T @ A.T, and the CSC arrays are the CSR arrays of the transposes
        Ct = _csr_product(B.transpose(), A.transpose(), out_dt, sort_indices)
        return Ct.transpose()
    return _csr_product(A.tocsr(), B.tocsr(), out_dt, sort_indices)


def _csr_product(A: csr_array, B: csr_array, out_dt, sort_indices: bool) -> csr_array:
    kdt = kernel_dtype(out_dt)
    idx = np.promote_types(A.indices.dtype, B.indices.dtype)
    M, N = A.shape[0], B.shape[1]
    Cp, Cj, Cx = _spgemm.csr_spgemm(
        M, N,
        A.indptr.astype(idx, copy=False), A.indices.astype(idx, copy=False),
        to_kernel(A.data, kdt),
        B.indptr.astype(idx, copy=False), B.indices.astype(idx, copy=False),
        to_kernel(B.data, kdt),
        sort_indices=sort_indices, b_canonical=B.has_canonical_format,
    )
    return csr_array._from_arrays(from_kernel(Cx, out_dt), Cj, Cp, (M, N),
                                  True if sort_indices else None, True if sort_indices else None)
