"""Sparse matrix - dense vector products on raw CSR and BSR arrays.

All kernels overwrite the caller's preallocated ``y`` (never accumulate into
it) and sum in ``y``'s dtype. Column indices may be unsorted or repeated.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import jit, thread_count, threads

__all__ = ["csr_spmv", "csr_spmv_t", "bsr_spmv", "row_parts"]

# Index through unsigned values: Numba must otherwise treat every signed index
# as possibly negative (wraparound), which made these loops 2x slower than
# SciPy's. Only ever used for indexing, never in arithmetic with signed ints.
_u = np.uint64

#: The transposed product (a scatter into y) uses private per-block copies of
#: y only when nnz >= T_PRIVATE_RATIO * len(y) * nblocks: zeroing and summing
#: the copies then costs at most 2 / T_PRIVATE_RATIO of the scatter itself.
T_PRIVATE_RATIO = 16
#: ... and each block gets at least this many nonzeros (thread start-up cost).
T_MIN_BLOCK_NNZ = 1 << 14
#: Upper bound on the number of blocks (private copies of y).
T_MAX_BLOCKS = 64


@jit
def row_parts(Ap, nparts):
    """Row bounds of ``nparts`` chunks of about equal ``nnz + rows`` (the cost
    of a row is its nonzeros plus a constant), by binary search on the prefix
    sums ``Ap[i] + i``: O(nparts log n), nothing of size n is allocated."""
    n = Ap.shape[0] - 1
    base = Ap[0]
    total = (Ap[n] - base) + n
    rb = np.empty(nparts + 1, dtype=np.int64)
    rb[0] = 0
    rb[nparts] = n
    lo = 0
    for t in range(1, nparts):
        target = (total * t) // nparts
        hi = n
        while lo < hi:  # first row i with Ap[i] - base + i >= target
            mid = (lo + hi) >> 1
            if (Ap[mid] - base) + mid < target:
                lo = mid + 1
            else:
                hi = mid
        rb[t] = lo
    return rb


@jit
def _csr_spmv_rows(Ap, Aj, Ax, x, y, zero, r0, r1):
    # SciPy's csr_matvec loop. Unsigned bounds hoisted out of the inner loop:
    # with signed indices Numba emits wraparound selects that made this loop
    # 1.5-2x slower than SciPy's.
    for i in range(_u(r0), _u(r1)):
        lo = _u(Ap[i])
        hi = _u(Ap[i + 1])
        s = zero
        for jj in range(lo, hi):
            s += Ax[jj] * x[_u(Aj[jj])]
        y[i] = s


@jit(parallel=True)
def _csr_spmv_parts(Ap, Aj, Ax, x, y, zero, rb):
    # one chunk of rows (balanced by nnz, not by row count) per thread
    for t in prange(rb.shape[0] - 1):
        _csr_spmv_rows(Ap, Aj, Ax, x, y, zero, rb[t], rb[t + 1])


@jit
def _csr_spmv_t_serial(Ap, Aj, Ax, x, y, zero):
    # SciPy's csc_matvec order: one pass over A, scatter into y
    for j in range(y.shape[0]):
        y[j] = zero
    for i in range(Ap.shape[0] - 1):
        xi = x[i]
        for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
            y[_u(Aj[jj])] += Ax[jj] * xi


@jit(parallel=True)
def _csr_spmv_t_blocked(Ap, Aj, Ax, x, y, zero, rb):
    nb = rb.shape[0] - 1
    n = y.shape[0]
    part = np.empty((nb, n), dtype=y.dtype)
    for b in prange(nb):
        for j in range(n):
            part[b, j] = zero
        for i in range(_u(rb[b]), _u(rb[b + 1])):
            xi = x[i]
            for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                part[b, _u(Aj[jj])] += Ax[jj] * xi
    # fixed block order: the sum does not depend on the thread count
    step = 2048
    for c in prange((n + step - 1) // step):
        lo = c * step
        hi = min(lo + step, n)
        for j in range(_u(lo), _u(hi)):
            y[j] = part[0, j]
        for b in range(1, nb):
            for j in range(_u(lo), _u(hi)):
                y[j] += part[b, j]


def _t_blocks(Ap: np.ndarray, n_out: int) -> np.ndarray | None:
    """Row bounds of the private-accumulator blocks, or None for a serial scatter.

    Depends on the sizes only (not on the thread count), so results are the
    same for any number of threads.
    """
    nnz = int(Ap[-1]) - int(Ap[0]) if Ap.shape[0] else 0
    nb = min(T_MAX_BLOCKS, nnz // max(1, T_PRIVATE_RATIO * n_out), nnz // T_MIN_BLOCK_NNZ)
    if nb < 2:
        return None
    targets = int(Ap[0]) + (np.arange(1, nb, dtype=np.int64) * nnz) // nb
    rb = np.empty(nb + 1, dtype=np.int64)
    rb[0] = 0
    rb[-1] = Ap.shape[0] - 1
    rb[1:-1] = np.searchsorted(Ap, targets, side="left")
    return rb


def csr_spmv(Ap: np.ndarray, Aj: np.ndarray, Ax: np.ndarray, x: np.ndarray,
             y: np.ndarray) -> None:
    """``y[:] = A @ x`` for CSR A with ``len(Ap) - 1`` rows.

    Rows are split into one chunk per thread of about equal ``nnz + rows``
    (a ``prange`` over rows splits by row count, which skewed graphs with
    power-law degrees leave unbalanced). One thread runs a plain serial
    kernel: no parallel-region launch.

    Parameters
    ----------
    Ap, Aj, Ax : ndarray
        CSR arrays of A (int32/int64 indices; unsorted/repeated columns allowed).
    x : ndarray, shape (n_col,)
    y : ndarray, shape (n_row,)
        Output, overwritten; sums are formed in ``y.dtype``.
    """
    zero = y.dtype.type(0)
    if thread_count(Aj.shape[0]) == 1 or y.shape[0] < 2:
        _csr_spmv_rows(Ap, Aj, Ax, x, y, zero, 0, y.shape[0])
        return
    with threads(work=Aj.shape[0]) as nt:
        _csr_spmv_parts(Ap, Aj, Ax, x, y, zero, row_parts(Ap, nt))


def csr_spmv_t(Ap: np.ndarray, Aj: np.ndarray, Ax: np.ndarray, x: np.ndarray,
               y: np.ndarray) -> None:
    """``y[:] = A.T @ x`` from A's CSR arrays (this is how CSC @ x runs).

    Parameters
    ----------
    Ap, Aj, Ax : ndarray
        CSR arrays of A, shape (n_row, n_col) with ``n_row = len(Ap) - 1``.
    x : ndarray, shape (n_row,)
    y : ndarray, shape (n_col,)
        Output, overwritten; sums are formed in ``y.dtype``.

    Notes
    -----
    A serial scatter, as SciPy's ``csc_matvec``, unless ``y`` is short
    relative to nnz(A) (``T_PRIVATE_RATIO``): then row blocks of A scatter
    into private copies of ``y`` in parallel, summed in a fixed order. The
    blocks depend on the sizes only, so any thread count gives the same bits.
    """
    zero = y.dtype.type(0)
    rb = _t_blocks(Ap, y.shape[0])
    if rb is None:
        _csr_spmv_t_serial(Ap, Aj, Ax, x, y, zero)
        return
    with threads(work=Aj.shape[0]):
        _csr_spmv_t_blocked(Ap, Aj, Ax, x, y, zero, rb)


@jit(parallel=True)
def _bsr_spmv(R, C, Ap, Aj, Ax, x, y, zero):
    Ru = _u(R)
    Cu = _u(C)
    for ib in prange(Ap.shape[0] - 1):
        r0 = _u(ib) * Ru
        for r in range(Ru):
            y[r0 + r] = zero
        for jj in range(_u(Ap[ib]), _u(Ap[ib + 1])):
            c0 = _u(Aj[jj]) * Cu
            for r in range(Ru):
                s = y[r0 + r]
                for c in range(Cu):
                    s += Ax[jj, r, c] * x[c0 + c]
                y[r0 + r] = s


def bsr_spmv(R: int, C: int, Ap: np.ndarray, Aj: np.ndarray, Ax: np.ndarray, x: np.ndarray,
             y: np.ndarray) -> None:
    """``y[:] = A @ x`` for BSR A with ``R x C`` blocks; parallel over block rows.

    Parameters
    ----------
    R, C : int
        Block shape.
    Ap, Aj : ndarray
        Block-row pointers and block-column indices (repeats allowed).
    Ax : ndarray, shape (nnzb, R, C)
        Blocks.
    x : ndarray, shape (n_bcol * C,)
    y : ndarray, shape ((len(Ap) - 1) * R,)
        Output, overwritten; sums are formed in ``y.dtype``.
    """
    with threads(work=Ax.size):
        _bsr_spmv(int(R), int(C), Ap, Aj, Ax, x, y, y.dtype.type(0))
