"""SDDMM on the GPU: out[p] = X[i, :] . Y[j, :] for every stored (i, j) of a
CSR structure (mirror of ``backends/cpu/sddmm.py``).

Launch geometry: a *group* of ``G`` consecutive threads computes one stored
entry, ``G`` = the smallest power of two >= k, at most a warp (32). The
group's threads stride over the k dimension together, so every step reads
``G`` consecutive elements of ``X[i, :]`` and of ``Y[j, :]`` (one coalesced
transaction each for C-contiguous operands), and fold their partial sums by
a tree in shared memory (no warp shuffles: the simulator has none). A block
of ``THREADS`` threads holds ``THREADS // G`` groups; blocks stride over the
entries (grid capped, every thread of a block runs the same number of
iterations, so ``syncthreads`` is safe). A group finds its row by binary
search in ``Mp`` (log m reads, cached), which balances skewed rows
perfectly: the work unit is the entry, not the row.
"""
from __future__ import annotations

import numpy as np
from numba import cuda

from . import _cuda
from ._search import last_le
from .spmv import group_sum

__all__ = ["csr_sddmm"]

#: Threads per block (shared scratch is sized by it at compile time).
_BLOCK = _cuda.THREADS
#: Most blocks launched; blocks stride over the remaining entries.
_MAX_GRID = 65535


@_cuda.kernel
def _sddmm_kernel(Mp, Mj, X, Y, zero, group, out):
    sh = cuda.shared.array(_BLOCK, X.dtype)
    tid = cuda.threadIdx.x
    lane = tid % group
    per_block = cuda.blockDim.x // group
    nnz = out.shape[0]
    kdim = X.shape[1]
    n_row = Mp.shape[0] - 1
    base = cuda.blockIdx.x * per_block
    step = cuda.gridDim.x * per_block
    while base < nnz:  # uniform over the block: syncthreads below is safe
        p = base + tid // group
        s = zero
        if p < nnz:
            # row of p: the last i with Mp[i] <= p (skips empty rows)
            i = last_le(Mp, n_row, p)
            j = Mj[p]
            t = lane
            while t < kdim:
                s += X[i, t] * Y[j, t]
                t += group
        s = group_sum(sh, tid, lane, group, s)
        if lane == 0 and p < nnz:
            out[p] = s
        cuda.syncthreads()  # sh is rewritten by the next round
        base += step


def _group_size(kdim: int) -> int:
    g = 1
    while g < kdim and g < min(_cuda.WARP, _BLOCK):
        g *= 2
    return g


def csr_sddmm(Mp, Mj, X, Y):
    """Values of X @ Y.T at the stored positions of a CSR structure.

    Parameters
    ----------
    Mp, Mj : device array
        CSR structure (``m x n``); repeats and unsorted rows are allowed
        (each stored position gets its value).
    X : device array, shape (m, k)
        C-contiguous, dtype of the result.
    Y : device array, shape (n, k)
        C-contiguous, dtype of X. Not conjugated.

    Returns
    -------
    device array, shape (nnz,)
        ``out[p] = sum_t X[i, t] * Y[Mj[p], t]`` for p in row i.

    Notes
    -----
    Each entry's dot product is summed in a different order than the CPU
    kernel's (strided partial sums, then a tree), so float results agree to
    rounding, integer ones exactly.
    """
    xp = _cuda.array_module(Mp, Mj, X, Y)
    nnz = int(Mp[-1])
    if nnz == 0 or X.shape[1] == 0:
        # empty sums (and no launch on zero-size operands)
        return xp.zeros(nnz, dtype=X.dtype)
    out = xp.empty(nnz, dtype=X.dtype)
    group = _group_size(int(X.shape[1]))
    per_block = _BLOCK // group
    grid = min(_MAX_GRID, -(-nnz // per_block))
    _cuda.launch_grid(_sddmm_kernel, grid, _BLOCK, Mp, Mj, X, Y, X.dtype.type(0),
                      np.int64(group), out)
    return out
