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

from . import spmv as _spmv
from ._jit import bind_globals, jit, threads
from ._prefetch import prefetch2, worth_prefetching
from .spmv import _t_blocks

__all__ = ["bsr_spmm", "csr_spmm", "csr_spmm_t"]

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
def _make_spmm_rows(prefetch_x):
    """The row kernel and its parallel driver, with or without prefetching
    the rows of X that the entries ``dist`` ahead read (see
    ``_prefetch.worth_prefetching``). ``prefetch_x`` is a closure constant:
    the kernel that does not prefetch compiles none of that code (the
    prefetch, even never run, slowed SpGEMM's passes on meshes).
    See :func:`_prefetch_dist` for the gains."""

    @jit
    def rows(Ap, Aj, Ax, X, Y, zero, r0, r1, c0, c1, yo, dist):
        # Y[r0:r1, yo+c0:yo+c1] = A[r0:r1] @ X[:, c0:c1] (rows of X contiguous).
        # Four nonzeros per pass over the Y row: a quarter of the loads and
        # stores of Y and of the loop set-up (runtime alias checks) per
        # nonzero, and four independent rows of X in flight. The parenthesised
        # sum keeps SciPy's sequential order, so results are the same bits as
        # one-at-a-time. Measured 1.2-1.5x faster than one nonzero per pass;
        # 8 per pass no better.
        four = _u(4)
        yo = _u(yo)
        if prefetch_x:  # (set only here: even unused, they cost 6% at k = 256)
            # prefetch the first two cache lines of a row of X (the hardware
            # streams the rest of a long one); never past the rows' entries
            line = _u(max(1, 64 // X.itemsize))
            pf_end = _u(Ap[r1])
        for i in range(_u(r0), _u(r1)):
            p1 = _u(Ap[i + 1])
            jj = _u(Ap[i])
            for c in range(_u(c0), _u(c1)):
                Y[i, yo + c] = zero
            while jj + four <= p1:
                if prefetch_x and jj + dist + four <= pf_end:
                    for d in range(four):
                        kd = _u(Aj[jj + dist + d])
                        prefetch2(X, kd, _u(c0))
                        prefetch2(X, kd, _u(c0) + line)
                a0 = Ax[jj]
                a1 = Ax[jj + _u(1)]
                a2 = Ax[jj + _u(2)]
                a3 = Ax[jj + _u(3)]
                k0 = _u(Aj[jj])
                k1 = _u(Aj[jj + _u(1)])
                k2 = _u(Aj[jj + _u(2)])
                k3 = _u(Aj[jj + _u(3)])
                for c in range(_u(c0), _u(c1)):
                    Y[i, yo + c] = (((Y[i, yo + c] + a0 * X[k0, c]) + a1 * X[k1, c])
                                    + a2 * X[k2, c]) + a3 * X[k3, c]
                jj += four
            while jj < p1:
                if prefetch_x and jj + dist < pf_end:
                    kd = _u(Aj[jj + dist])
                    prefetch2(X, kd, _u(c0))
                    prefetch2(X, kd, _u(c0) + line)
                a = Ax[jj]
                k = _u(Aj[jj])
                for c in range(_u(c0), _u(c1)):
                    Y[i, yo + c] += a * X[k, c]
                jj += _u(1)

    def parts(Ap, Aj, Ax, X, Y, zero, rb, c0, c1, yo, dist):
        # one chunk of rows (balanced by nnz + rows) per thread; whole rows of
        # Y per thread, so the result does not depend on the split
        for t in prange(rb.shape[0] - 1):
            _row_kernel(  # noqa: F821 -- a global, bound by bind_globals
                Ap, Aj, Ax, X, Y, zero, rb[t], rb[t + 1], c0, c1, yo, dist)

    return rows, jit(bind_globals(parts, f"pf{int(prefetch_x)}", _row_kernel=rows),
                     parallel=True)


#: The row kernels (rows, parts) by ``prefetch_x``.
_SPMM_ROWS = {False: _make_spmm_rows(False), True: _make_spmm_rows(True)}


def _prefetch_dist(width):
    """Entries ahead to prefetch for rows of ``width`` values of X: about one
    miss's latency of work. Best of 2/4/8/16 on Erdos-Renyi 2**16 and R-MAT
    16, one thread: 16 at k = 16 (0.69-0.78x no prefetch), 8 at k = 32-64
    (0.58-0.82x), 4 at k = 256 (0.89-0.92x; 8 and more filled L1 too early)."""
    return _u(16 if width <= 16 else 8 if width <= 64 else 4)


@jit(parallel=True)
def _copy_panel(X, c0, c1, buf):
    # buf[:, :c1-c0] = X[:, c0:c1] for F-ordered X: read each column of the
    # panel contiguously in row tiles, write rows of the C-ordered buffer
    n = X.shape[0]
    tile = 512
    for b in prange((n + tile - 1) // tile):
        r0 = b * tile
        r1 = min(r0 + tile, n)
        for c in range(c0, c1):
            for r in range(_u(r0), _u(r1)):
                buf[r, c - c0] = X[r, c]


#: F-ordered X runs through C-ordered panels of this many columns of X: big
#: enough that the row kernel's inner loop is long, small enough that the
#: panel buffer (n_col * F_PANEL values) stays a fraction of X.
F_PANEL = 64
#: ... unless X has at most this many columns: then one gather per column.
F_COLS_MAX = 2


@jit(parallel=True)
def _csr_spmm_cols(Ap, Aj, Ax, X, Y, zero, rb):
    # F-ordered X with few columns: a SpMV gather down each contiguous column
    for t in prange(rb.shape[0] - 1):
        for i in range(_u(rb[t]), _u(rb[t + 1])):
            lo = _u(Ap[i])
            hi = _u(Ap[i + 1])
            for c in range(Y.shape[1]):
                s = zero
                for jj in range(lo, hi):
                    s += Ax[jj] * X[_u(Aj[jj]), c]
                Y[i, c] = s


def _rows(nt, Ap, Aj, Ax, X, Y, zero, rb, c0, c1, yo, pf):
    rows, parts = _SPMM_ROWS[pf]
    dist = _prefetch_dist(c1 - c0)
    if nt == 1:  # no parallel-region launch for one thread
        rows(Ap, Aj, Ax, X, Y, zero, 0, Y.shape[0], c0, c1, yo, dist)
    else:
        parts(Ap, Aj, Ax, X, Y, zero, rb, c0, c1, yo, dist)


def csr_spmm(Ap: np.ndarray, Aj: np.ndarray, Ax: np.ndarray, X: np.ndarray,
             Y: np.ndarray) -> None:
    """``Y[:] = A @ X`` for CSR A; parallel over rows of A, balanced by nnz.

    Parameters
    ----------
    Ap, Aj, Ax : ndarray
        CSR arrays of A, ``len(Ap) - 1`` rows (unsorted/repeated columns allowed).
    X : ndarray, shape (n_col, m)
        Dense operand, any strides. Contiguous rows (C order) is the fast
        path. Otherwise (F order, column slices) X is copied panel by panel,
        ``F_PANEL`` columns at a time, into a C-ordered buffer of
        ``n_col * F_PANEL`` values; X itself is never copied whole. F-ordered
        X with at most ``F_COLS_MAX`` columns is read in place.
    Y : ndarray, shape (n_row, m)
        Output, C order, overwritten; sums are formed in ``Y.dtype``.

    Notes
    -----
    Each entry of ``Y`` is summed in the order of A's row (SciPy's order),
    so any thread count gives the same bits.
    """
    zero = Y.dtype.type(0)
    n, m = Y.shape
    if m == 1 and X.shape[0] and n:
        # one column: SpMV on 1-D views (no copies), not a row loop of width 1
        _spmv.csr_spmv(Ap, Aj, Ax, X[:, 0], Y[:, 0])
        return
    with threads(work=Aj.shape[0] * m) as nt:
        rb = _spmv.row_parts(Ap, nt)
        if X.strides[1] == X.itemsize or X.shape[0] == 0 or m == 0 or n == 0:
            pf = worth_prefetching(Ap, Aj, X.shape[0], X.shape[0] * m * X.itemsize)
            _rows(nt, Ap, Aj, Ax, X, Y, zero, rb, 0, m, 0, pf)
        elif _f_only(X) and m <= F_COLS_MAX:
            _csr_spmm_cols(Ap, Aj, Ax, X, Y, zero, rb)
        else:
            w = min(F_PANEL, m)
            buf = np.empty((X.shape[0], w), dtype=X.dtype)
            pf = worth_prefetching(Ap, Aj, X.shape[0], buf.nbytes)
            for c0 in range(0, m, w):
                c1 = min(c0 + w, m)
                _copy_panel(X, c0, c1, buf)
                _rows(nt, Ap, Aj, Ax, buf, Y, zero, rb, 0, c1 - c0, c0, pf)


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
