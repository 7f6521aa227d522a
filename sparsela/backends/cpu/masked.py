"""Masked SpGEMM: C = (A ⊕.⊗ B) restricted to the structure of a mask M.

A@B is never formed. Every entry of C is an entry of M, so C is computed
*in M's slots*: ``val[q]``/``hit[q]`` for every stored position q of the
canonical mask, then the slots that some product reached are compacted into
C. C comes out sorted because M's rows are, and rows whose mask row is empty
cost nothing. Two ways fill a row's slots, chosen per row by cost:

* *row-wise* (Gustavson): the mask row's columns are stamped into a
  column-indexed array (column -> slot; a small hash table when the columns
  are too many); every product A[i, k] ⊗ B[k, j] looks its column up and is
  dropped when the mask does not hold it. Cost ~ flops(i).
* *dot* (inner products, B in CSC): A's row is stamped into a k-indexed
  array (k -> position in A), then for every mask column j the entries of
  B[:, j] look their k up. Cost ~ nnz(A[i, :]) + sum_{j in M[i, :]} nnz(B[:, j]).

Both fold ⊕ over k in ascending order (A canonical, B's columns sorted), so
which path ran never changes a result, not even its rounding. For a large B
read in scattered order the row-wise path prefetches B's rows, as spgemm's
passes do.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ..._sputils import get_index_dtype
from ._jit import bind_globals, jit, threads
from ._prefetch import prefetch, worth_prefetching
from .semiring import (
    _sr_add,
    _sr_mul,
    mask_table_clear,
    mask_table_fill,
    mask_table_find,
)
from .spgemm import _PF1, _PF2, _row_flops_on, _table_bits, balanced_chunks

__all__ = [
    "DOT_COST",
    "DOT_ENTRY_COST",
    "DOT_MAX_INNER",
    "MARK_MAX_COLS",
    "TRANSPOSE_COST",
    "csr_spgemm_masked",
    "masked_row_costs",
]

#: Cost model of the path choice, in units of one row-wise product (a stamp
#: look-up of its column). A row takes the dot path when
#: ``DOT_COST * dot_cost < row_cost``, with
#: ``dot_cost = nnz(A[i, :]) + sum_{j in M[i, :]} (nnz(B[:, j]) + DOT_ENTRY_COST)``.
#: Measured (20000^2, 20 nnz a row, 2 threads, busy machine): a row-wise
#: product and a dot step (stamp look-up of k) both cost ~6-9 ns, and each
#: mask entry adds a jump to a random column of B (~8 steps). So a mask of
#: 2 entries a row (76 dot steps vs 400 products) ran 60 ms dot / 73 ms
#: row-wise (GraphBLAS M.S: 78-104 ms), and 50 a row (1420 vs 400) 137 ms dot /
#: 78 ms row-wise: the rule picks the faster path in both.
DOT_COST = 1.0
DOT_ENTRY_COST = 8
#: Building B's CSC (a serial counting-sort transpose) costs about this many
#: row-wise products per nonzero and per column of B; the dot path is used
#: only when the rows choosing it save more than that in total.
TRANSPOSE_COST = 4.0
#: The dot path stamps k in an int64 array of the inner dimension per chunk;
#: beyond this many (8 MiB) it is not offered.
DOT_MAX_INNER = 1 << 20

#: Row-wise rows look mask columns up in an int64 column stamp while n_col
#: is at most this (8 MiB a chunk), in a per-row hash table otherwise.
MARK_MAX_COLS = 1 << 20

_u = np.uint64


@jit(parallel=True)
def _row_costs(Ap, Mp, Mj, bcol_nnz, flops, entry_cost, row_cost, dot_cost):
    n_row = flops.shape[0]
    for i in prange(n_row):
        if Mp[i + 1] == Mp[i] or Ap[i + 1] == Ap[i]:
            row_cost[i] = 0
            dot_cost[i] = 0
            continue
        row_cost[i] = flops[i]
        d = np.int64(Ap[i + 1]) - np.int64(Ap[i])
        nb = bcol_nnz.shape[0]
        for q in range(_u(Mp[i]), _u(Mp[i + 1])):
            j = Mj[q]
            d += entry_cost
            if j < nb:  # columns past B's last stored one are empty
                d += bcol_nnz[_u(j)]
        dot_cost[i] = d


def masked_row_costs(n_row: int, Ap, Aj, Bp, Bj, Mp, Mj, n_col: int, nthreads: int):
    """Row-wise and dot-product cost of every row of the masked product.

    Parameters
    ----------
    n_row, n_col : int
        Shape of C.
    Ap, Aj, Bp, Bj : ndarray
        CSR structure of A and B (one index dtype).
    Mp, Mj : ndarray
        CSR structure of the canonical mask.
    nthreads : int
        Threads for the flop count.

    Returns
    -------
    row_cost, dot_cost : ndarray of int64, shape (n_row,)
        Products of the row-wise path and steps of the dot path; both 0 for
        rows with an empty mask row or an empty row of A.
    """
    flops = _row_flops_on(int(n_row), Ap, Aj, Bp, nthreads)
    # no minlength: n_col may be huge (hypersparse B), nothing here is sized by it
    bcol_nnz = np.bincount(Bj).astype(np.int64, copy=False)
    row_cost = np.empty(int(n_row), dtype=np.int64)
    dot_cost = np.empty(int(n_row), dtype=np.int64)
    _row_costs(Ap, Mp, Mj, bcol_nnz, flops, np.int64(DOT_ENTRY_COST), row_cost, dot_cost)
    return row_cost, dot_cost


@jit(inline="always")  # array arguments: a call would incref/decref them
def _fill(q, v, val, hit, add_op):
    if hit[q]:
        val[q] = _sr_add(add_op, val[q], v)
    else:
        val[q] = v
        hit[q] = 1


def _make_masked(prefetch_b):
    """The masked kernels (chunk, parallel), with or without prefetching the
    rows of B in the row-wise path: ``prefetch_b`` is a closure constant, as
    in ``spgemm._make_symbolic``, so the kernel that does not prefetch
    compiles none of it (see ``spgemm.PREFETCH_DIST``)."""

    @jit
    def chunk(r0, r1, n_col, Ap, Aj, Ax, Bp, Bj, Bx, BTp, BTi, BTx, Mp, Mj, use_dot, row_cost,
              n_inner, add_op, mul_op, mark_max_cols, val, hit):
        # size the scratch once for the chunk: a column stamp (or, for very many
        # columns or little work, a table for the largest mask row) for the
        # row-wise rows, a k-stamp only if some row takes the dot path
        if prefetch_b:
            pf_end = _u(Ap[r1])  # prefetch no further than the chunk's entries
        max_m = np.int64(0)
        work = np.int64(0)
        any_dot = False
        for i in range(r0, r1):
            if use_dot[i]:
                any_dot = True
            else:
                max_m = max(max_m, np.int64(Mp[i + 1]) - np.int64(Mp[i]))
                work += row_cost[i]
        # mark[j] = slot of column j in the mask row; valid when >= Mp[i] (slots
        # only grow from row to row, so it is never reset). One load a product
        # instead of hashing: 3-5x faster per product. Worth its O(n_col) fill
        # when the chunk has at least n_col / 4 products.
        stamp = n_col <= mark_max_cols and 4 * work >= n_col
        mark = np.full(n_col if stamp else 0, -1, dtype=np.int64)
        size = (np.int64(1) << _table_bits(max_m)) if (max_m and not stamp) else 0
        keys = np.full(size, -1, dtype=Mj.dtype)
        pos = np.empty(size, dtype=np.int64)
        # apos[k] = position of A[i, k] in Aj; valid when >= Ap[i], as above
        apos = np.full(n_inner if any_dot else 0, -1, dtype=np.int64)
        for i in range(r0, r1):
            if Mp[i + 1] == Mp[i] or Ap[i + 1] == Ap[i]:
                continue
            if use_dot[i]:
                a0 = np.int64(Ap[i])
                for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                    apos[_u(Aj[jj])] = jj
                for q in range(_u(Mp[i]), _u(Mp[i + 1])):
                    j = _u(Mj[q])
                    for t in range(_u(BTp[j]), _u(BTp[j + 1])):
                        pa = apos[_u(BTi[t])]
                        if pa >= a0:
                            _fill(q, _sr_mul(mul_op, Ax[_u(pa)], BTx[t]), val, hit, add_op)
            elif stamp:
                m0 = np.int64(Mp[i])
                for q in range(_u(Mp[i]), _u(Mp[i + 1])):
                    mark[_u(Mj[q])] = q
                for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                    if prefetch_b and jj + _PF2 < pf_end:
                        prefetch(Bp, Aj[jj + _PF2])
                        prefetch(Bj, Bp[_u(Aj[jj + _PF1])])
                        prefetch(Bx, Bp[_u(Aj[jj + _PF1])])
                    a = Ax[jj]
                    k = _u(Aj[jj])
                    for kk in range(_u(Bp[k]), _u(Bp[k + 1])):
                        q = mark[_u(Bj[kk])]
                        if q >= m0:
                            _fill(_u(q), _sr_mul(mul_op, a, Bx[kk]), val, hit, add_op)
            else:
                shift = mask_table_fill(Mp, Mj, i, keys, pos)
                for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                    if prefetch_b and jj + _PF2 < pf_end:
                        prefetch(Bp, Aj[jj + _PF2])
                        prefetch(Bj, Bp[_u(Aj[jj + _PF1])])
                        prefetch(Bx, Bp[_u(Aj[jj + _PF1])])
                    a = Ax[jj]
                    k = _u(Aj[jj])
                    for kk in range(_u(Bp[k]), _u(Bp[k + 1])):
                        q = mask_table_find(keys, pos, Bj[kk], shift)
                        if q >= 0:
                            _fill(_u(q), _sr_mul(mul_op, a, Bx[kk]), val, hit, add_op)
                mask_table_clear(keys, shift)


    def parallel(bounds, n_col, Ap, Aj, Ax, Bp, Bj, Bx, BTp, BTi, BTx, Mp, Mj, use_dot, row_cost,
                 n_inner, add_op, mul_op, mark_max_cols, val, hit):
        for c in prange(bounds.shape[0] - 1):
            _chunk(  # noqa: F821 -- a global, bound by bind_globals
                bounds[c], bounds[c + 1], n_col, Ap, Aj, Ax, Bp, Bj, Bx, BTp, BTi, BTx, Mp, Mj,
                use_dot, row_cost, n_inner, add_op, mul_op, mark_max_cols, val, hit)

    return chunk, jit(bind_globals(parallel, f"pf{int(prefetch_b)}", _chunk=chunk),
                      parallel=True)


#: The masked kernels (chunk, parallel) by ``prefetch_b``.
_MASKED = {False: _make_masked(False), True: _make_masked(True)}


@jit(parallel=True)
def _count_hits(bounds, Mp, hit, counts):
    for c in prange(bounds.shape[0] - 1):
        for i in range(bounds[c], bounds[c + 1]):
            n = np.int64(0)
            for q in range(_u(Mp[i]), _u(Mp[i + 1])):
                n += hit[q]
            counts[i] = n


@jit(parallel=True)
def _compact(bounds, Mp, Mj, val, hit, Cp, Cj, Cx):
    for c in prange(bounds.shape[0] - 1):
        for i in range(bounds[c], bounds[c + 1]):
            p = _u(Cp[i])
            for q in range(_u(Mp[i]), _u(Mp[i + 1])):
                if hit[q]:
                    Cj[p] = Mj[q]
                    Cx[p] = val[q]
                    p += _u(1)


def csr_spgemm_masked(n_row: int, n_col: int, Ap: np.ndarray, Aj: np.ndarray, Ax: np.ndarray,
                      Bp: np.ndarray, Bj: np.ndarray, Bx: np.ndarray, Mp: np.ndarray,
                      Mj: np.ndarray, add_op: int, mul_op: int, *, bt=None,
                      path: str = "auto") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """C = (A ⊕.⊗ B) masked by the structure of M, without forming A ⊕.⊗ B.

    Parameters
    ----------
    n_row, n_col : int
        Shape of C (and of M).
    Ap, Aj, Ax, Bp, Bj, Bx : ndarray
        *Canonical* CSR arrays of A (``n_row x k``) and B (``k x n_col``),
        one index dtype, one value dtype.
    Mp, Mj : ndarray
        Canonical CSR structure of the mask (sorted, no repeats), index dtype
        of A. Its values play no part (structural mask).
    add_op, mul_op : int
        Operator codes of ``semiring.py``.
    bt : callable, optional
        Returns ``(BTp, BTi, BTx)``, B in CSC (sorted row indices), when the
        dot path is taken; without it the dot path is not offered.
    path : {"auto", "row", "dot"}
        Force a path (tests); "auto" chooses per row by cost.

    Returns
    -------
    Cp, Cj, Cx : ndarray
        CSR arrays of C, rows sorted, index dtype int32 while it fits.

    Notes
    -----
    Peak extra memory is one value and one flag per mask entry. Results do
    not depend on the path or the thread count. Inputs are never modified.
    """
    n_row, n_col = int(n_row), int(n_col)
    n_inner = int(Bp.shape[0] - 1)
    nnz_m = int(Mp[-1])
    with threads(work=int(Ap[-1]) + int(Bp[-1]) + nnz_m) as nt:
        row_cost, dot_cost = masked_row_costs(n_row, Ap, Aj, Bp, Bj, Mp, Mj, n_col, nt)
    use_dot = np.zeros(n_row, dtype=np.bool_)
    if bt is not None and n_inner <= DOT_MAX_INNER and path != "row":
        if path == "dot":
            use_dot[:] = True
        else:
            use_dot = DOT_COST * dot_cost < row_cost
            saved = float(np.sum(row_cost[use_dot] - DOT_COST * dot_cost[use_dot]))
            if saved <= TRANSPOSE_COST * (int(Bp[-1]) + n_col):
                use_dot[:] = False
    if use_dot.any():
        BTp, BTi, BTx = bt()
        BTp, BTi = BTp.astype(Aj.dtype, copy=False), BTi.astype(Aj.dtype, copy=False)
    else:
        BTp = np.zeros(1, dtype=Aj.dtype)
        BTi = np.zeros(0, dtype=Aj.dtype)
        BTx = np.zeros(0, dtype=Ax.dtype)
    cost = np.where(use_dot, dot_cost, row_cost) + np.diff(Mp).astype(np.int64)
    val = np.empty(nnz_m, dtype=Ax.dtype)
    hit = np.zeros(nnz_m, dtype=np.uint8)
    counts = np.empty(n_row, dtype=np.int64)
    with threads(work=int(cost.sum())) as nt:
        bounds = balanced_chunks(cost, nt)
        prefetch_b = worth_prefetching(Ap, Aj, n_inner, Bj.nbytes + Bx.nbytes)
        _MASKED[prefetch_b][1](bounds, n_col, Ap, Aj, Ax, Bp, Bj, Bx, BTp, BTi, BTx, Mp, Mj,
                               use_dot, row_cost, n_inner, np.int64(add_op), np.int64(mul_op),
                               np.int64(MARK_MAX_COLS), val, hit)
        _count_hits(bounds, Mp, hit, counts)
        nnz = int(counts.sum())
        cidx = get_index_dtype(maxval=max(nnz, n_col))
        Cp = np.empty(n_row + 1, dtype=cidx)
        Cp[0] = 0
        np.cumsum(counts, out=Cp[1:])
        if nnz == nnz_m:
            # every mask entry was reached: C has M's structure
            return Cp, Mj.astype(cidx, copy=True), val
        Cj = np.empty(nnz, dtype=cidx)
        Cx = np.empty(nnz, dtype=Ax.dtype)
        _compact(bounds, Mp, Mj, val, hit, Cp, Cj, Cx)
    return Cp, Cj, Cx
