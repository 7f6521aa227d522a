"""SDDMM: sampled dense-dense product, out[p] = X[i, :] . Y[j, :] for every
stored (i, j) of a CSR structure.

Only the sampled entries of X @ Y.T are computed: nnz(M) dot products of
length k, O(nnz(M) * k) instead of O(m * n * k). Rows are split into chunks
of equal nnz (a chunk's cost is its nnz times k), so skewed rows do not
serialise the work. Both operands are read by rows (C-contiguous), so each
dot product streams two contiguous vectors; X's row stays in cache for the
whole row of M.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import jit, threads
from .spgemm import balanced_chunks

__all__ = ["csr_sddmm"]

_u = np.uint64


@jit(parallel=True)
def _sddmm(bounds, Mp, Mj, X, Y, zero, out):
    kdim = X.shape[1]
    for c in prange(bounds.shape[0] - 1):
        for i in range(bounds[c], bounds[c + 1]):
            for p in range(_u(Mp[i]), _u(Mp[i + 1])):
                j = _u(Mj[p])
                s = zero
                for t in range(kdim):
                    s += X[i, t] * Y[j, t]
                out[p] = s


def csr_sddmm(Mp: np.ndarray, Mj: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Values of X @ Y.T at the stored positions of a CSR structure.

    Parameters
    ----------
    Mp, Mj : ndarray
        CSR structure (``m x n``); repeats and unsorted rows are allowed
        (each stored position gets its value).
    X : ndarray, shape (m, k)
        C-contiguous, dtype of the result.
    Y : ndarray, shape (n, k)
        C-contiguous, dtype of X. Not conjugated.

    Returns
    -------
    ndarray, shape (nnz,)
        ``out[p] = sum_t X[i, t] * Y[Mj[p], t]`` for p in row i.
    """
    nnz = int(Mp[-1])
    out = np.empty(nnz, dtype=X.dtype)
    if nnz == 0:
        return out
    cost = np.diff(Mp).astype(np.int64)
    with threads(work=nnz * max(1, X.shape[1])) as nt:
        bounds = balanced_chunks(cost, nt)
        _sddmm(bounds, Mp, Mj, X, Y, X.dtype.type(0), out)
    return out
