"""Products with a dense operand (``spmv``, ``spmm``) and the ``@`` dispatcher.

One dispatcher (:func:`matmul`), as ``scipy.sparse``'s ``_matmul_dispatch``:
sparse @ sparse -> SpGEMM, sparse @ 1-D -> SpMV, sparse @ 2-D -> SpMM.
CSC operands run on their own arrays through the transposed kernels; no
format conversion is made for CSR or CSC.
"""
from __future__ import annotations

import numpy as np

from .._sputils import isscalarlike
from ..formats._base import SparseArray
from ..formats._compressed import _is_cupyx_sparse, _is_scipy_sparse
from ..formats.bsr import bsr_array
from ..formats.csc import csc_array
from ..formats.csr import csr_array
from . import _cusparse
from ._backend import kernels, xp_of
from ._validation import as_dense, as_sparse, from_kernel, kernel_dtype, to_kernel
from .spgemm import spgemm

__all__ = ["matmul", "rmatmul", "spmm", "spmv"]


def _dense_product(A: SparseArray, X: np.ndarray, transpose: bool) -> np.ndarray:
    """``A @ X`` (or ``A.T @ X``) for dense 1-D or 2-D ``X`` of matching length."""
    A = A._bool_deduped()
    out_dt = np.result_type(A.dtype, X.dtype)
    kdt = kernel_dtype(out_dt)
    xp = xp_of(A.data)
    if xp is not np and _cusparse.active(A):
        return _cusparse.dense_product(A, X, transpose, out_dt)
    vec = X.ndim == 1
    ker = kernels("spmv" if vec else "spmm", A.data)
    M, N = A.shape
    if transpose:
        M, N = N, M
    Y = xp.empty(M if vec else (M, X.shape[1]), dtype=kdt)
    Xk = to_kernel(X, kdt)
    if isinstance(A, bsr_array) and not transpose:
        Xk = xp.ascontiguousarray(Xk)
        R, C = A.blocksize
        kern = ker.bsr_spmv if vec else ker.bsr_spmm
        kern(R, C, A.indptr, A.indices, to_kernel(A.data, kdt), Xk, Y)
        return from_kernel(Y, out_dt)
    if not isinstance(A, (csr_array, csc_array)):
        A = A.tocsr()
    # a CSC array's arrays are the CSR arrays of its transpose
    flip = transpose != isinstance(A, csc_array)
    data = to_kernel(A.data, kdt)
    if vec or flip:
        # These kernels walk X contiguously (and the scatter of A.T @ X is
        # slow on other layouts), so X is made C-contiguous: a copy of X if
        # it is not C-ordered; for ``X @ A`` with C-ordered X, a copy of X.T.
        # csr_spmm takes X with any strides (it reads non-C X in C-ordered
        # column panels), so A @ X never copies X whole.
        Xk = xp.ascontiguousarray(Xk)
    # the kernel entry points pick the thread count (sparsela.config_context)
    if vec:
        kern = ker.csr_spmv_t if flip else ker.csr_spmv
    else:
        kern = ker.csr_spmm_t if flip else ker.csr_spmm
    kern(A.indptr, A.indices, data, Xk, Y)
    return from_kernel(Y, out_dt)


def spmv(A, x) -> np.ndarray:
    """Sparse matrix - dense vector product ``A @ x``.

    Parameters
    ----------
    A : sparse array, shape (M, N)
        A sparsela or ``scipy.sparse`` array, in any format.
    x : array_like, shape (N,)
        Dense numeric vector, on ``A``'s device (a CuPy array when ``A`` is
        on the GPU).

    Returns
    -------
    ndarray, shape (M,)
        The product, in ``np.result_type(A.dtype, x.dtype)``, on ``A``'s
        device.

    Raises
    ------
    TypeError
        If ``A`` is not sparse, ``x`` is not numeric, or they are on two
        devices.
    ValueError
        If ``x`` is not 1-D or its length is not ``A.shape[1]``.

    Examples
    --------
    >>> import numpy as np, sparsela as sl
    >>> sl.spmv(sl.eye(2, 3), np.array([1.0, 2.0, 3.0]))
    array([1., 2.])
    """
    A = as_sparse(A, "A")
    x = as_dense(x, "x", A.device)
    if x.ndim != 1:
        raise ValueError(f"x must be 1-D for spmv, got shape {x.shape} (use spmm for 2-D)")
    return _matmul_dense(A, x, "x")


def spmm(A, X) -> np.ndarray:
    """Sparse matrix - dense matrix product ``A @ X``.

    Parameters
    ----------
    A : sparse array, shape (M, K)
        A sparsela or ``scipy.sparse`` array, in any format.
    X : array_like, shape (K, N)
        Any layout. For CSR, COO and ``csc.T`` operands X is read in place
        (non-C-ordered X in C-ordered panels of ``F_PANEL`` columns); CSC and
        BSR operands work on a C-contiguous copy of X when X is not C-ordered.

    Returns
    -------
    ndarray, shape (M, N)
        The product, C-ordered, in ``np.result_type(A.dtype, X.dtype)``, on
        ``A``'s device (``X`` must be there too: a CuPy array for ``A`` on
        the GPU).

    Raises
    ------
    TypeError
        If ``A`` is not sparse, ``X`` is not numeric, or they are on two
        devices.
    ValueError
        If ``X`` is not 2-D or ``X.shape[0]`` is not ``A.shape[1]``.
    """
    A = as_sparse(A, "A")
    X = as_dense(X, "X", A.device)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D for spmm, got shape {X.shape} (use spmv for 1-D)")
    return _matmul_dense(A, X, "X")


def _matmul_dense(A: SparseArray, X, name: str):
    """``A @ X`` for validated ``A`` and 1-D or 2-D ``X`` (named ``name``)."""
    if X.shape[0] != A.shape[1]:
        raise ValueError(f"dimension mismatch: A has shape {A.shape}, {name} has shape "
                         f"{X.shape}")
    return _dense_product(A, X, transpose=False)


def matmul(A: SparseArray, other):
    """``A @ other``: dispatch on the type and dimension of ``other``.

    Parameters
    ----------
    A : SparseArray
        The sparse left operand.
    other : sparse array or array_like
        A sparse array (:func:`spgemm`), a dense 1-D array (:func:`spmv`) or
        a dense 2-D array (:func:`spmm`).

    Returns
    -------
    SparseArray or ndarray
        Sparse for a sparse ``other``, a dense ndarray otherwise.

    Raises
    ------
    ValueError
        For a scalar ``other`` (use ``*``), an operand that is not 1-D or
        2-D, or mismatched shapes.
    """
    # a NumPy operand (the common case in iterative solvers) skips the sparse checks
    if type(other) is not np.ndarray or other.ndim == 0:
        if isscalarlike(other):
            raise ValueError("Scalar operands are not allowed, use '*' instead")
        if isinstance(other, SparseArray) or _is_scipy_sparse(other) or _is_cupyx_sparse(other):
            return spgemm(A, other)
    X = as_dense(other, "other", A.device)
    if X.ndim == 1:
        return _matmul_dense(A, X, "x")
    if X.ndim == 2:
        return _matmul_dense(A, X, "X")
    raise ValueError(f"matmul needs a 1-D or 2-D operand, got shape {X.shape}")


def rmatmul(A: SparseArray, other):
    """``other @ A`` for dense (or ``scipy.sparse``) ``other``.

    Parameters
    ----------
    A : SparseArray
        The sparse right operand.
    other : array_like or scipy.sparse array
        A dense 1-D or 2-D array whose last dimension is ``A.shape[0]``, or a
        ``scipy.sparse`` array.

    Returns
    -------
    ndarray or SparseArray
        A dense ndarray for dense ``other`` (computed as ``(A.T @ other.T).T``
        on the transpose kernels), a sparse array for a ``scipy.sparse`` one.

    Raises
    ------
    ValueError
        For a scalar ``other`` (use ``*``), an operand that is not 1-D or
        2-D, or mismatched shapes.
    """
    if isscalarlike(other):
        raise ValueError("Scalar operands are not allowed, use '*' instead")
    if _is_scipy_sparse(other) or _is_cupyx_sparse(other):
        return spgemm(other, A)
    X = as_dense(other, "other", A.device)
    if X.ndim not in (1, 2):
        raise ValueError(f"matmul needs a 1-D or 2-D operand, got shape {X.shape}")
    if X.shape[-1] != A.shape[0]:
        raise ValueError(f"dimension mismatch: other has shape {X.shape}, A has shape {A.shape}")
    if X.ndim == 1:
        return _dense_product(A, X, transpose=True)
    # X @ A = (A.T @ X.T).T
    return _dense_product(A, X.T, transpose=True).T
