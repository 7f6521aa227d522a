"""Kernels that inspect or restore canonical CSR form (sorted, duplicate-free rows)."""
from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import jit

# rows shorter than this are sorted by insertion sort: no allocation, and
# faster than a merge sort for the short rows typical of sparse matrices
_INSERTION_MAX = 32


@jit(parallel=True)
def csr_has_sorted_indices(Ap, Aj):
    """True when column indices are non-decreasing in every row."""
    n_row = Ap.shape[0] - 1
    bad = 0
    for i in prange(n_row):
        for jj in range(Ap[i], Ap[i + 1] - 1):
            if Aj[jj] > Aj[jj + 1]:
                bad += 1
                break
    return bad == 0


@jit(parallel=True)
def csr_has_canonical_format(Ap, Aj):
    """True when column indices are strictly increasing in every row."""
    n_row = Ap.shape[0] - 1
    bad = 0
    for i in prange(n_row):
        if Ap[i] > Ap[i + 1]:
            bad += 1
            continue
        for jj in range(Ap[i], Ap[i + 1] - 1):
            if Aj[jj] >= Aj[jj + 1]:
                bad += 1
                break
    return bad == 0


@jit(parallel=True)
def csr_sort_indices(Ap, Aj, Ax):
    """Sort each row's (index, value) pairs by index, in place, stably."""
    n_row = Ap.shape[0] - 1
    for i in prange(n_row):
        start = Ap[i]
        end = Ap[i + 1]
        n = end - start
        if n < 2:
            continue
        if n <= _INSERTION_MAX:
            for a in range(start + 1, end):
                key = Aj[a]
                val = Ax[a]
                b = a - 1
                while b >= start and Aj[b] > key:
                    Aj[b + 1] = Aj[b]
                    Ax[b + 1] = Ax[b]
                    b -= 1
                Aj[b + 1] = key
                Ax[b + 1] = val
        else:
            perm = np.argsort(Aj[start:end], kind="mergesort")
            cols = Aj[start:end][perm]
            vals = Ax[start:end][perm]
            Aj[start:end] = cols
            Ax[start:end] = vals


@jit(parallel=True)
def csr_count_unique(Ap, Aj, counts):
    """``counts[i]`` = number of distinct columns in row ``i`` (rows must be sorted)."""
    n_row = Ap.shape[0] - 1
    for i in prange(n_row):
        c = 0
        for jj in range(Ap[i], Ap[i + 1]):
            if jj == Ap[i] or Aj[jj] != Aj[jj - 1]:
                c += 1
        counts[i] = c


@jit(parallel=True)
def csr_sum_duplicates(Ap, Aj, Ax, Bp, Bj, Bx):
    """Sum runs of equal indices of sorted rows into preallocated (Bp, Bj, Bx).

    ``Bp`` comes from :func:`csr_count_unique` and a prefix sum.
    """
    n_row = Ap.shape[0] - 1
    for i in prange(n_row):
        dest = Bp[i] - 1
        for jj in range(Ap[i], Ap[i + 1]):
            if jj == Ap[i] or Aj[jj] != Aj[jj - 1]:
                dest += 1
                Bj[dest] = Aj[jj]
                Bx[dest] = Ax[jj]
            else:
                Bx[dest] += Ax[jj]


@jit(parallel=True)
def csr_count_nonzero_values(Ap, Ax, counts):
    """``counts[i]`` = number of stored values of row ``i`` that are not zero."""
    n_row = Ap.shape[0] - 1
    for i in prange(n_row):
        c = 0
        for jj in range(Ap[i], Ap[i + 1]):
            if Ax[jj] != 0:
                c += 1
        counts[i] = c


@jit(parallel=True)
def csr_eliminate_zeros(Ap, Aj, Ax, Bp, Bj, Bx):
    """Copy the entries with nonzero value into preallocated (Bp, Bj, Bx)."""
    n_row = Ap.shape[0] - 1
    for i in prange(n_row):
        dest = Bp[i]
        for jj in range(Ap[i], Ap[i + 1]):
            if Ax[jj] != 0:
                Bj[dest] = Aj[jj]
                Bx[dest] = Ax[jj]
                dest += 1
