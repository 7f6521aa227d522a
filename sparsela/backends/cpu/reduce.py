"""Reductions over rows or columns of CSR arrays (sum, max/min, diagonal).

Max/min see implicit zeros, as NumPy would on the dense array: a row that has
fewer stored entries than columns includes 0 among its candidates. Inputs to
the max/min kernels must be canonical (no duplicates).
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import jit


@jit(parallel=True)
def csr_row_sums(Ap, Ax, out):
    """``out[i]`` += sum of row ``i``; ``out`` must be zeroed (sums in its dtype)."""
    n_row = Ap.shape[0] - 1
    for i in prange(n_row):
        s = out[i]
        for jj in range(Ap[i], Ap[i + 1]):
            s += Ax[jj]
        out[i] = s


@jit
def csr_col_sums(Aj, Ax, out):
    """``out[j]`` += sum of column ``j``; ``out`` must be zeroed (serial scatter)."""
    for n in range(Aj.shape[0]):
        out[Aj[n]] += Ax[n]


@jit(parallel=True)
def csr_row_extreme(Ap, Ax, n_col, take_max, out):
    """Row max (``take_max``) or min including implicit zeros; ``out`` zeroed, length n_row."""
    n_row = Ap.shape[0] - 1
    for i in prange(n_row):
        start = Ap[i]
        end = Ap[i + 1]
        zero = out[i]  # out is zeroed by the caller
        if start == end:
            out[i] = zero
            continue
        best = Ax[start]
        for jj in range(start + 1, end):
            if best != best:  # NaN propagates, as in NumPy
                break
            v = Ax[jj]
            if v != v or (take_max and v > best) or (not take_max and v < best):
                best = v
        if end - start < n_col:
            if take_max:
                if zero > best:
                    best = zero
            elif zero < best:
                best = zero
        out[i] = best


@jit
def csr_col_extreme(Aj, Ax, n_row, take_max, count, out):
    """Column max/min including implicit zeros; ``count``/``out`` zeroed, length n_col."""
    for n in range(Aj.shape[0]):
        j = Aj[n]
        v = Ax[n]
        if count[j] == 0:
            out[j] = v
        elif out[j] == out[j]:  # NaN already found sticks, as in NumPy
            if v != v:
                out[j] = v
            elif take_max and v > out[j]:
                out[j] = v
            elif not take_max and v < out[j]:
                out[j] = v
        count[j] += 1
    for j in range(out.shape[0]):
        if count[j] < n_row and out[j] == out[j]:
            if take_max and out[j] < 0:
                out[j] = 0
            elif not take_max and out[j] > 0:
                out[j] = 0


@jit(parallel=True)
def csr_diagonal(Ap, Aj, Ax, k, out):
    """``out[t]`` = sum of stored entries at (t - min(k,0), t + max(k,0)); zeroed out."""
    first_row = -k if k < 0 else 0
    first_col = k if k > 0 else 0
    for t in prange(out.shape[0]):
        i = t + first_row
        j = t + first_col
        s = out[t]
        for jj in range(Ap[i], Ap[i + 1]):
            if Aj[jj] == j:
                s += Ax[jj]
        out[t] = s
