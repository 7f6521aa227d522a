"""Format conversion kernels: COO -> CSR, CSR -> CSC (transpose), CSR <-> BSR, CSR -> dense.

All conversions are counting sorts, O(nnz + n), and keep duplicates and
explicit zeros: canonicalisation is a separate, explicit step.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import jit


@jit
def coo_tocsr(n_row, row, col, data, indptr, indices, out):
    """Scatter COO triplets into preallocated CSR arrays (stable counting sort).

    Entries keep their relative order within a row, so row-major sorted COO
    gives sorted CSR. ``indptr`` (length ``n_row + 1``) must be zeroed.
    """
    nnz = row.shape[0]
    for n in range(nnz):
        indptr[row[n] + 1] += 1
    for i in range(n_row):
        indptr[i + 1] += indptr[i]
    # ``nxt`` is a per-row write cursor; a separate array keeps indptr intact
    nxt = indptr[:-1].copy()
    for n in range(nnz):
        r = row[n]
        dest = nxt[r]
        indices[dest] = col[n]
        out[dest] = data[n]
        nxt[r] = dest + 1


@jit
def csr_tocsc(n_row, n_col, Ap, Aj, Ax, Bp, Bi, Bx):
    """Transpose CSR (Ap, Aj, Ax) into CSC arrays (Bp, Bi, Bx), preallocated.

    ``Bp`` (length ``n_col + 1``) must be zeroed. Row indices come out sorted
    within each column because rows are visited in order.
    """
    nnz = Ap[n_row]
    for n in range(nnz):
        Bp[Aj[n] + 1] += 1
    for j in range(n_col):
        Bp[j + 1] += Bp[j]
    nxt = Bp[:-1].copy()
    for i in range(n_row):
        for jj in range(Ap[i], Ap[i + 1]):
            j = Aj[jj]
            dest = nxt[j]
            Bi[dest] = i
            Bx[dest] = Ax[jj]
            nxt[j] = dest + 1


@jit(parallel=True)
def csr_todense(Ap, Aj, Ax, out):
    """Add CSR entries into the dense 2-D ``out`` (duplicates are summed)."""
    n_row = Ap.shape[0] - 1
    for i in prange(n_row):
        for jj in range(Ap[i], Ap[i + 1]):
            out[i, Aj[jj]] += Ax[jj]


@jit
def csr_bsr_nnzb(n_brow, n_bcol, R, C, Ap, Aj):
    """Number of nonzero R x C blocks of a CSR matrix (for allocating BSR)."""
    mask = np.full(n_bcol, -1, dtype=np.int64)
    nnzb = 0
    for bi in range(n_brow):
        for i in range(bi * R, (bi + 1) * R):
            for jj in range(Ap[i], Ap[i + 1]):
                bj = Aj[jj] // C
                if mask[bj] != bi:
                    mask[bj] = bi
                    nnzb += 1
    return nnzb


@jit
def csr_tobsr(n_brow, n_bcol, R, C, Ap, Aj, Ax, Bp, Bj, Bx):
    """Fill preallocated BSR arrays from CSR; blocks in first-touch order per block row.

    ``Bx`` has shape ``(nnzb, R, C)`` and must be zeroed (duplicates are summed).
    """
    blocks = np.full(n_bcol, -1, dtype=np.int64)
    nnzb = 0
    Bp[0] = 0
    for bi in range(n_brow):
        start = nnzb
        for i in range(bi * R, (bi + 1) * R):
            for jj in range(Ap[i], Ap[i + 1]):
                j = Aj[jj]
                bj = j // C
                b = blocks[bj]
                if b < start:
                    b = nnzb
                    blocks[bj] = b
                    Bj[b] = bj
                    nnzb += 1
                Bx[b, i - bi * R, j - bj * C] += Ax[jj]
        Bp[bi + 1] = nnzb


@jit(parallel=True)
def bsr_tocsr(R, C, Bp, Bj, Bx, Ap, Aj, Ax):
    """Expand BSR blocks into preallocated CSR arrays (every block entry is kept).

    ``Ap`` must already hold the row pointers: row ``bi*R + r`` has
    ``C * (Bp[bi+1] - Bp[bi])`` entries.
    """
    n_brow = Bp.shape[0] - 1
    for bi in prange(n_brow):
        for r in range(R):
            dest = Ap[bi * R + r]
            for b in range(Bp[bi], Bp[bi + 1]):
                j0 = Bj[b] * C
                for c in range(C):
                    Aj[dest] = j0 + c
                    Ax[dest] = Bx[b, r, c]
                    dest += 1
