"""Top-k SpGEMM on the GPU: per row of C = A @ B, only the k largest values
(mirror of ``backends/cpu/topk.py``).

The distinct entries of every row come from the expand-sort-reduce
pipeline of ``semiring.py`` (one thread per partial product, then one per
entry folding ⊕ in the CPU kernel's order, so every value equals the CPU
kernel's). Selection is then data-parallel array work (CuPy radix sorts and
scans, no per-row loops): drop NaN and the values not above
``lower_bound``, stably sort by value descending and then by row (entries
arrive sorted by column, so ties stay ordered by column), and keep the
entries whose rank in their row is below k.

"Better" is the CPU kernel's total order: larger value first, ties by
smaller column, so the selected set and its order match the CPU kernel's.
Rows come out ordered best first whether or not ``sort`` asks for it. Peak
scratch is O(flops(A @ B)), unlike the CPU kernel's O(k) per row.
"""
from __future__ import annotations

import numpy as np
from numba import cuda  # noqa: F401  (the kernels are semiring.py's numba.cuda kernels)

from ..._sputils import get_index_dtype
from . import _cuda
from .semiring import empty_csr, expand_sort_reduce, indptr_of_rows

__all__ = ["csr_spgemm_topk"]

_I64 = np.int64


def csr_spgemm_topk(n_row: int, n_col: int, Ap, Aj, Ax, Bp, Bj, Bx, k: int,
                    lower_bound=None, *, sort: bool = True, add_op: int = 0,
                    mul_op: int = 1):
    """The k largest entries of every row of C = A @ B (values above ``lower_bound``).

    Parameters
    ----------
    n_row, n_col : int
        Shape of C.
    Ap, Aj, Ax, Bp, Bj, Bx : device array
        CSR arrays of A and B, one index dtype, one real (or bool) value
        dtype. Repeated entries are summed (plus/times).
    k : int
        Entries kept per row, >= 1.
    lower_bound : scalar, optional
        Keep only values ``> lower_bound``.
    sort : bool
        Order each row by value descending, ties by column ascending (done
        in every case here; the CPU kernel leaves the order unspecified
        without it).
    add_op, mul_op : int
        Operator codes of ``semiring.py`` (default plus/times; bool values
        need or/and).

    Returns
    -------
    Cp, Cj, Cx : device array
        CSR arrays, index dtype int32 while it fits, value dtype of ``Ax``.
    """
    xp = _cuda.array_module(Ap, Aj, Ax, Bp, Bj, Bx)
    n_row, n_col, k = int(n_row), int(n_col), int(k)
    rows, cols, vals, _ = expand_sort_reduce(xp, n_row, n_col, Ap, Aj, Ax, Bp, Bj, Bx, add_op,
                                             mul_op)
    if rows is None:
        return empty_csr(xp, n_row, n_col, Ax.dtype)
    keep = ~xp.isnan(vals) if vals.dtype.kind == "f" else xp.ones(vals.shape[0], dtype=bool)
    if lower_bound is not None:
        keep &= vals > Ax.dtype.type(lower_bound)
    sel = xp.flatnonzero(keep)
    if sel.shape[0] == 0:
        return empty_csr(xp, n_row, n_col, Ax.dtype)
    rows, cols, vals = rows[sel], cols[sel], vals[sel]
    # value descending, order-reversing without overflow: -v for floats,
    # ~v (= -v - 1) for integers, logical not for bool
    desc = -vals if vals.dtype.kind == "f" else ~vals
    order = xp.argsort(desc, kind="stable")
    order = order[xp.argsort(rows[order], kind="stable")]
    rows, cols, vals = rows[order], cols[order], vals[order]
    first = xp.searchsorted(rows, xp.arange(n_row + 1, dtype=_I64), side="left")
    rank = xp.arange(rows.shape[0], dtype=_I64) - first[rows]
    take = xp.flatnonzero(rank < k)
    nnz = int(take.shape[0])
    cidx = get_index_dtype(maxval=max(nnz, n_col))
    return (indptr_of_rows(xp, rows[take], n_row, cidx), cols[take].astype(cidx),
            vals[take])
