"""Sparse matrix - dense matrix products on raw CSR and BSR arrays, on the GPU.

Mirror of ``backends/cpu/spmm.py``: the same functions, signatures and
results. ``X`` has shape ``(k, m)``; ``Y`` is C-ordered and overwritten;
sums are formed in ``Y``'s dtype.

Launch geometry (all kernels): one thread per entry of the output (or, for
``A.T @ X``, per entry of ``X``), in column tiles. A tile is ``TW`` columns
wide, ``TW`` = ``m`` rounded up to a power of two, at most a block
(``THREADS``); a block covers ``THREADS // TW`` rows times one tile, and
the grid is ``ceil(rows / (THREADS // TW)) * ceil(m / TW)`` blocks. So
consecutive threads run along a row of ``Y`` and of ``X`` (coalesced loads
and stores for C-ordered ``X``), a warp never straddles two column tiles,
and wide ``X`` is cut into block-wide tiles (the threads of one tile share
the row's ``Aj``/``Ax`` loads, which the hardware broadcasts).

``X`` that is not C-contiguous (F order, strided slices) is copied once to
a C-ordered device array with ``xp.ascontiguousarray`` before the launch:
reading F-ordered ``X`` along rows would make every thread of a warp load
its own cache line, and the copy is one coalesced pass over ``X``, small
next to ``nnz(A) * m`` multiply-adds. One-column products run as SpMV on
the column ``X[:, 0]`` (a view; copied only when X's rows are strided, a
copy of one column). ``Y`` should be C-ordered, as the CPU kernels want; any
other ``Y`` is written through a C-ordered buffer.
"""
from __future__ import annotations

import functools

import numpy as np
from numba import cuda

from . import _cuda
from . import spmv as _spmv
from .spmv import _via_contiguous, contiguous, real_view

__all__ = ["csr_spmm", "csr_spmm_t", "bsr_spmm"]


def _tiles(m: int, threads: int):
    """Column tile width and tiles per row of the column-tiled launches."""
    tw = 1
    while tw < m and tw < threads:
        tw *= 2
    return tw, -(-m // tw)


def _launch_tiled(kern, n_rows: int, m: int, *args) -> None:
    """Launch ``kern(*args, tw, n_tiles)`` over ``n_rows x m`` (row, column) threads."""
    threads = _cuda.THREADS
    tw, nct = _tiles(m, threads)
    rows_per_block = threads // tw
    grid = -(-n_rows // rows_per_block) * nct
    _cuda.launch_grid(kern, grid, threads, *args, np.int64(tw), np.int64(nct))


@_cuda.device
def _tile_cell(tw, nct):
    """(row ``i``, column ``c``) of this thread in a column-tiled launch of
    ``tw``-wide tiles, ``nct`` tiles a row (module docstring)."""
    b = np.int64(cuda.blockIdx.x)
    t = cuda.threadIdx.x
    rb = b // nct
    i = rb * (cuda.blockDim.x // tw) + t // tw
    c = (b - rb * nct) * tw + t % tw
    return i, c


# --------------------------------------------------------------------------
# Y = A @ X
# --------------------------------------------------------------------------
@_cuda.kernel
def _csr_spmm(Ap, Aj, Ax, X, Y, zero, tw, nct):
    # thread -> (row i, column c): see the module docstring
    i, c = _tile_cell(tw, nct)
    if i < Y.shape[0] and c < Y.shape[1]:
        s = zero
        for jj in range(Ap[i], Ap[i + 1]):  # A's row order, as the CPU kernel
            s += Ax[jj] * X[Aj[jj], c]
        Y[i, c] = s


def csr_spmm(Ap, Aj, Ax, X, Y) -> None:
    """``Y[:] = A @ X`` for CSR A.

    One thread per entry ``Y[i, c]``, column-tiled (module docstring); each
    walks row ``i`` of A in order, so entries are summed in the CPU
    kernel's (SciPy's) order.

    Parameters
    ----------
    Ap, Aj, Ax : device array
        CSR arrays of A, ``len(Ap) - 1`` rows (unsorted/repeated columns allowed).
    X : device array, shape (n_col, m)
        Dense operand, any strides; not C-contiguous X is copied to C order
        once (module docstring), X itself is never modified.
    Y : device array, shape (n_row, m)
        Output, C order, overwritten; sums are formed in ``Y.dtype``.
    """
    n, m = Y.shape
    if n == 0 or m == 0 or _via_contiguous(csr_spmm, Ap, Aj, Ax, X, Y):
        return
    if m == 1:
        # one column: SpMV on 1-D views, not tiles of width 1
        _spmv.csr_spmv(Ap, Aj, Ax, X[:, 0], Y[:, 0])
        return
    _launch_tiled(_csr_spmm, n, m, Ap, Aj, Ax, contiguous(X), Y, Y.dtype.type(0))


# --------------------------------------------------------------------------
# Y = A.T @ X (a scatter over rows of Y)
# --------------------------------------------------------------------------
@_cuda.kernel
def _csr_spmm_t_real(Ap, Aj, Ax, X, Y, tw, nct):
    # thread -> (row i of A and X, column c): Y[Aj[jj], c] += Ax[jj] * X[i, c]
    i, c = _tile_cell(tw, nct)
    if i < X.shape[0] and c < Y.shape[1]:
        xv = X[i, c]
        for jj in range(Ap[i], Ap[i + 1]):
            cuda.atomic.add(Y, (Aj[jj], c), Ax[jj] * xv)


@_cuda.kernel
def _csr_spmm_t_complex(Ap, Aj, Ax, X, Yf, tw, nct):
    # as _csr_spmm_t_real on the float view of complex Y: (n, 2m), re/im pairs
    i, c = _tile_cell(tw, nct)
    if i < X.shape[0] and 2 * c < Yf.shape[1]:
        xv = X[i, c]
        for jj in range(Ap[i], Ap[i + 1]):
            v = Ax[jj] * xv
            cuda.atomic.add(Yf, (Aj[jj], 2 * c), v.real)
            cuda.atomic.add(Yf, (Aj[jj], 2 * c + 1), v.imag)


def csr_spmm_t(Ap, Aj, Ax, X, Y) -> None:
    """``Y[:] = A.T @ X`` from A's CSR arrays (this is how CSC @ X runs).

    Transpose-free: ``Y`` is zeroed, then one thread per entry ``X[i, c]``
    (column-tiled, module docstring) adds ``Ax[jj] * X[i, c]`` into
    ``Y[Aj[jj], c]`` for the nonzeros of row ``i`` with ``atomicAdd`` (two
    float atomics on the float view for complex). Consecutive threads add
    into consecutive entries of a row of ``Y``. The order of the adds, and
    so the rounding, varies from run to run.

    Parameters
    ----------
    Ap, Aj, Ax : device array
        CSR arrays of A, shape (n_row, n_col) with ``n_row = len(Ap) - 1``.
    X : device array, shape (n_row, m)
        Dense operand, any strides (not C-contiguous X is copied to C order once).
    Y : device array, shape (n_col, m)
        Output, C order, overwritten; sums are formed in ``Y.dtype`` (int32,
        int64, float32, float64, complex64, complex128: the dtypes with atomics).
    """
    if _via_contiguous(csr_spmm_t, Ap, Aj, Ax, X, Y):
        return
    Y.fill(0)
    n_row = Ap.shape[0] - 1
    m = Y.shape[1]
    if n_row <= 0 or m == 0 or Y.shape[0] == 0:
        return
    if m == 1:
        _spmv.csr_spmv_t(Ap, Aj, Ax, X[:, 0], Y[:, 0])
        return
    kern = _csr_spmm_t_complex if Y.dtype.kind == "c" else _csr_spmm_t_real
    _launch_tiled(kern, n_row, m, Ap, Aj, Ax, contiguous(X), real_view(Y))


# --------------------------------------------------------------------------
# BSR
# --------------------------------------------------------------------------
@_cuda.kernel
def _bsr_spmm(R, C, Ap, Aj, Ax, X, Y, zero, tw, nct):
    # thread -> (row i of Y = row r of block row ib, column c)
    i, c = _tile_cell(tw, nct)
    if i < Y.shape[0] and c < Y.shape[1]:
        ib = i // R
        r = i - ib * R
        s = zero
        for jj in range(Ap[ib], Ap[ib + 1]):
            k0 = np.int64(Aj[jj]) * C
            for q in range(C):
                s += Ax[jj, r, q] * X[k0 + q, c]
        Y[i, c] = s


def bsr_spmm(R: int, C: int, Ap, Aj, Ax, X, Y) -> None:
    """``Y[:] = A @ X`` for BSR A with ``R x C`` blocks.

    One thread per entry of ``Y``, column-tiled (module docstring).

    Parameters
    ----------
    R, C : int
        Block shape.
    Ap, Aj : device array
        Block-row pointers and block-column indices (repeats allowed).
    Ax : device array, shape (nnzb, R, C)
        Blocks.
    X : device array, shape (n_bcol * C, m)
        Dense operand, any strides (not C-contiguous X is copied to C order once).
    Y : device array, shape ((len(Ap) - 1) * R, m)
        Output, C order, overwritten; sums are formed in ``Y.dtype``.
    """
    n, m = Y.shape
    if n == 0 or m == 0 or _via_contiguous(functools.partial(bsr_spmm, R, C), Ap, Aj, Ax, X, Y):
        return
    _launch_tiled(_bsr_spmm, n, m, np.int64(R), np.int64(C), Ap, Aj, contiguous(Ax),
                  contiguous(X), Y, Y.dtype.type(0))
