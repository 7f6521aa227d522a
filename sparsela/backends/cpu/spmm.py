"""Sparse matrix - dense matrix products on raw CSR and BSR arrays.

``X`` has shape ``(k, m)``. The fast path is C-ordered ``X`` and ``Y``: the
inner loop then runs along a row of ``X`` and a row of ``Y``, contiguous and
vectorisable. F-ordered ``X`` (not C-contiguous) takes a column-by-column
loop instead, so it is correct and reasonably fast, but callers should pass
C order. All kernels overwrite the preallocated ``Y`` and sum in its dtype.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import jit, threads
from .spmv import _t_blocks

__all__ = ["csr_spmm", "csr_spmm_t", "bsr_spmm"]

# Index through unsigned values: Numba must otherwise treat every signed index
# as possibly negative (wraparound), which made these loops 2x slower than
# SciPy's. Only ever used for indexing, never in arithmetic with signed ints.
_u = np.uint64


def _f_only(X: np.ndarray) -> bool:
    """X is F-contiguous but not C-contiguous: walk it column by column."""
    return X.ndim == 2 and X.flags.f_contiguous and not X.flags.c_contiguous


# --------------------------------------------------------------------------
# Y = A @ X
# --------------------------------------------------------------------------
@jit(parallel=True)
def _csr_spmm_rows(Ap, Aj, Ax, X, Y, zero):
    m = Y.shape[1]
    for i in prange(Y.shape[0]):
        for c in range(m):
            Y[i, c] = zero
        for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
            a = Ax[jj]
            k = _u(Aj[jj])
            for c in range(m):
                Y[i, c] += a * X[k, c]


@jit(parallel=True)
def _csr_spmm_cols(Ap, Aj, Ax, X, Y, zero):
    # F-ordered X: a gather down one contiguous column of X at a time
    m = Y.shape[1]
    for i in prange(Y.shape[0]):
        for c in range(m):
            s = zero
            for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                s += Ax[jj] * X[_u(Aj[jj]), c]
            Y[i, c] = s


def csr_spmm(Ap: np.ndarray, Aj: np.ndarray, Ax: np.ndarray, X: np.ndarray,
             Y: np.ndarray) -> None:
    """``Y[:] = A @ X`` for CSR A; parallel over rows of A.

    Parameters
    ----------
    Ap, Aj, Ax : ndarray
        CSR arrays of A, ``len(Ap) - 1`` rows (unsorted/repeated columns allowed).
    X : ndarray, shape (n_col, m)
        Dense operand; C order is the fast path (F order works).
    Y : ndarray, shape (n_row, m)
        Output, overwritten (C order preferred); sums are formed in ``Y.dtype``.
    """
    zero = Y.dtype.type(0)
    with threads(work=Aj.shape[0] * Y.shape[1]):
        if _f_only(X):
            _csr_spmm_cols(Ap, Aj, Ax, X, Y, zero)
        else:
            _csr_spmm_rows(Ap, Aj, Ax, X, Y, zero)


# --------------------------------------------------------------------------
# Y = A.T @ X (a scatter over rows of Y)
# --------------------------------------------------------------------------
@jit
def _scatter_rows(Ap, Aj, Ax, X, Y, r0, r1, c0, c1):
    # Y[Aj[jj], c0:c1] += Ax[jj] * X[i, c0:c1] for rows i in [r0, r1)
    for i in range(_u(r0), _u(r1)):
        for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
            a = Ax[jj]
            k = _u(Aj[jj])
            for c in range(_u(c0), _u(c1)):
                Y[k, c] += a * X[i, c]


@jit(parallel=True)
def _csr_spmm_t_colsplit(Ap, Aj, Ax, X, Y, zero, cb):
    # each part owns the columns [cb[t], cb[t+1]) of Y: no write conflicts, and
    # every entry is summed in the serial order whatever the split
    n_row = Ap.shape[0] - 1
    for t in prange(cb.shape[0] - 1):
        c0 = cb[t]
        c1 = cb[t + 1]
        for j in range(Y.shape[0]):
            for c in range(_u(c0), _u(c1)):
                Y[j, c] = zero
        _scatter_rows(Ap, Aj, Ax, X, Y, 0, n_row, c0, c1)


@jit(parallel=True)
def _csr_spmm_t_blocked(Ap, Aj, Ax, X, Y, zero, rb):
    nb = rb.shape[0] - 1
    n, m = Y.shape
    part = np.empty((nb, n, m), dtype=Y.dtype)
    for b in prange(nb):
        for j in range(n):
            for c in range(m):
                part[b, j, c] = zero
        _scatter_rows(Ap, Aj, Ax, X, part[b], rb[b], rb[b + 1], 0, m)
    # fixed block order: the sum does not depend on the thread count
    for j in prange(n):
        for c in range(m):
            Y[j, c] = part[0, j, c]
        for b in range(1, nb):
            for c in range(m):
                Y[j, c] += part[b, j, c]


@jit
def _csr_spmm_t_cols(Ap, Aj, Ax, X, Y, zero):
    # F-ordered X: one serial csc_matvec per column
    n_row = Ap.shape[0] - 1
    for c in range(Y.shape[1]):
        for j in range(Y.shape[0]):
            Y[j, c] = zero
        for i in range(n_row):
            xi = X[i, c]
            for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                Y[_u(Aj[jj]), c] += Ax[jj] * xi


def csr_spmm_t(Ap: np.ndarray, Aj: np.ndarray, Ax: np.ndarray, X: np.ndarray,
               Y: np.ndarray) -> None:
    """``Y[:] = A.T @ X`` from A's CSR arrays (this is how CSC @ X runs).

    Parameters
    ----------
    Ap, Aj, Ax : ndarray
        CSR arrays of A, shape (n_row, n_col) with ``n_row = len(Ap) - 1``.
    X : ndarray, shape (n_row, m)
        Dense operand; C order is the fast path (F order works).
    Y : ndarray, shape (n_col, m)
        Output, overwritten; sums are formed in ``Y.dtype``.

    Notes
    -----
    Three strategies, all giving the same result for any thread count:
    private per-block copies of ``Y`` when ``Y`` is small relative to nnz(A)
    (see :data:`sparsela.backends.cpu.spmv.T_PRIVATE_RATIO`; blocks depend on
    the sizes only); otherwise, with several threads and columns, each thread
    scatters into its own columns of ``Y``; otherwise a serial scatter.
    """
    zero = Y.dtype.type(0)
    m = Y.shape[1]
    with threads(work=Aj.shape[0] * m) as nt:
        if _f_only(X):
            _csr_spmm_t_cols(Ap, Aj, Ax, X, Y, zero)
            return
        rb = _t_blocks(Ap, Y.shape[0]) if m else None
        if rb is not None:
            _csr_spmm_t_blocked(Ap, Aj, Ax, X, Y, zero, rb)
            return
        parts = min(nt, m)
        cb = (np.arange(parts + 1, dtype=np.int64) * m) // max(parts, 1)
        _csr_spmm_t_colsplit(Ap, Aj, Ax, X, Y, zero, cb)


# --------------------------------------------------------------------------
# BSR
# --------------------------------------------------------------------------
@jit(parallel=True)
def _bsr_spmm(R, C, Ap, Aj, Ax, X, Y, zero):
    m = Y.shape[1]
    Ru = _u(R)
    Cu = _u(C)
    for ib in prange(Ap.shape[0] - 1):
        r0 = _u(ib) * Ru
        for r in range(Ru):
            for c in range(m):
                Y[r0 + r, c] = zero
        for jj in range(_u(Ap[ib]), _u(Ap[ib + 1])):
            k0 = _u(Aj[jj]) * Cu
            for r in range(Ru):
                for q in range(Cu):
                    a = Ax[jj, r, q]
                    for c in range(m):
                        Y[r0 + r, c] += a * X[k0 + q, c]


def bsr_spmm(R: int, C: int, Ap: np.ndarray, Aj: np.ndarray, Ax: np.ndarray, X: np.ndarray,
             Y: np.ndarray) -> None:
    """``Y[:] = A @ X`` for BSR A with ``R x C`` blocks; parallel over block rows.

    Parameters
    ----------
    R, C : int
        Block shape.
    Ap, Aj : ndarray
        Block-row pointers and block-column indices (repeats allowed).
    Ax : ndarray, shape (nnzb, R, C)
        Blocks.
    X : ndarray, shape (n_bcol * C, m)
        Dense operand; C order is the fast path.
    Y : ndarray, shape ((len(Ap) - 1) * R, m)
        Output, overwritten; sums are formed in ``Y.dtype``.
    """
    with threads(work=Ax.size * Y.shape[1]):
        _bsr_spmm(int(R), int(C), Ap, Aj, Ax, X, Y, Y.dtype.type(0))
