"""Top-k SpGEMM: per row of C = A @ B, only the k largest values (the
sparse_dot_topn use case: all-pairs cosine similarity keeping the best k).

C is never materialised. Each chunk accumulates one row at a time in a
thread-private column stamp (a hash table past 2^20 columns; the row's
distinct columns and values in O(row flops) scratch), then selects the k
best with a bounded heap built directly in the row's output slots:
O(r log k) for a row of r entries, no sort of the whole row. For a large B
read in scattered order the accumulation prefetches B's rows, as spgemm's
passes do. Every row gets ``min(k, flops(i))`` slots (``min(k, nnz(C[i, :]))``
after a symbolic pass when that bound is large), so peak memory stays near
the output size; a final compaction drops the slots a row did not fill
(fewer than k entries, or entries not above ``lower_bound``).

"Better" is a total order: larger value first, ties by smaller column. So
the selected set and its order do not depend on the hash order or on the
thread count. NaN values are never selected.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ..._sputils import get_index_dtype
from ._jit import bind_globals, jit, threads
from ._prefetch import prefetch, worth_prefetching
from .semiring import _sr_add, _sr_mul
from .spgemm import (
    _PF1,
    _PF2,
    _row_flops_on,
    _table_bits,
    _table_slot,
    balanced_chunks,
    spgemm_row_nnz,
)

__all__ = ["csr_spgemm_topk"]

_u = np.uint64


@jit
def _worse(v1, c1, v2, c2):
    """Entry 1 ranks after entry 2 (smaller value, or equal value and larger column)."""
    return v1 < v2 or (v1 == v2 and c1 > c2)


@jit(inline="always")  # array arguments: a call would incref/decref them
def _sift_down(Tj, Tx, base, n, pos):
    """Restore the heap (root = worst entry) of ``n`` entries at ``base``
    after the entry at ``pos`` was replaced."""
    cj = Tj[_u(base + pos)]
    cv = Tx[_u(base + pos)]
    while True:
        child = 2 * pos + 1
        if child >= n:
            break
        if child + 1 < n and _worse(Tx[_u(base + child + 1)], Tj[_u(base + child + 1)],
                                    Tx[_u(base + child)], Tj[_u(base + child)]):
            child += 1
        if not _worse(Tx[_u(base + child)], Tj[_u(base + child)], cv, cj):
            break
        Tj[_u(base + pos)] = Tj[_u(base + child)]
        Tx[_u(base + pos)] = Tx[_u(base + child)]
        pos = child
    Tj[_u(base + pos)] = cj
    Tx[_u(base + pos)] = cv


@jit(inline="always")  # array arguments: a call would incref/decref them
def _sift_up(Tj, Tx, base, pos):
    cj = Tj[_u(base + pos)]
    cv = Tx[_u(base + pos)]
    while pos > 0:
        parent = (pos - 1) // 2
        if not _worse(cv, cj, Tx[_u(base + parent)], Tj[_u(base + parent)]):
            break
        Tj[_u(base + pos)] = Tj[_u(base + parent)]
        Tx[_u(base + pos)] = Tx[_u(base + parent)]
        pos = parent
    Tj[_u(base + pos)] = cj
    Tx[_u(base + pos)] = cv


def _make_topk(prefetch_b):
    """The top-k kernels (chunk, parallel), with or without prefetching the
    rows of B a few entries of A ahead: ``prefetch_b`` is a closure
    constant, as in ``spgemm._make_symbolic``, so the kernel that does not
    prefetch compiles none of it (see ``spgemm.PREFETCH_DIST``)."""

    @jit
    def chunk(r0, r1, n_col, Ap, Aj, Ax, Bp, Bj, Bx, flops, k, lb, has_lb, sort, add_op,
              mul_op, mark_max_cols, Tp, Tj, Tx, counts):
        if prefetch_b:
            pf_end = _u(Ap[r1])  # prefetch no further than the chunk's entries
        max_f = np.int64(0)
        work = np.int64(0)
        for i in range(r0, r1):
            max_f = max(max_f, flops[i])
            work += flops[i]
        # Column stamp instead of hashing when the columns are few enough and the
        # chunk has the products to pay for filling it (about 1.5x faster on
        # 20000 columns): mark[j] - g0 = slot of column j in the row's scratch,
        # valid when >= 0; g0 grows by each row's length, so it is never reset.
        stamp = n_col <= mark_max_cols and 4 * work >= n_col
        mark = np.full(n_col if stamp else 0, -1, dtype=np.int64)
        g0 = np.int64(0)
        size = (np.int64(1) << _table_bits(max_f)) if (max_f and not stamp) else 0
        keys = np.full(size, -1, dtype=Bj.dtype)
        tpos = np.empty(size, dtype=np.int64)
        # the row's distinct columns and their values, in first-appearance order
        rj = np.empty(max_f, dtype=Bj.dtype)
        rv = np.empty(max_f, dtype=Tx.dtype)
        for i in range(r0, r1):
            f = flops[i]
            base = np.int64(Tp[i])
            if f == 0 or Tp[i + 1] == Tp[i]:
                counts[i] = 0
                continue
            r = np.int64(0)
            if stamp:
                for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                    if prefetch_b and jj + _PF2 < pf_end:
                        prefetch(Bp, Aj[jj + _PF2])
                        prefetch(Bj, Bp[_u(Aj[jj + _PF1])])
                        prefetch(Bx, Bp[_u(Aj[jj + _PF1])])
                    a = Ax[jj]
                    kk0 = _u(Aj[jj])
                    for kk in range(_u(Bp[kk0]), _u(Bp[kk0 + 1])):
                        j = Bj[kk]
                        v = _sr_mul(mul_op, a, Bx[kk])
                        q = mark[_u(j)] - g0
                        if q >= 0:
                            rv[_u(q)] = _sr_add(add_op, rv[_u(q)], v)
                        else:
                            mark[_u(j)] = g0 + r
                            rj[_u(r)] = j
                            rv[_u(r)] = v
                            r += 1
                g0 += r
            else:
                bits = _table_bits(f)
                mask = (np.int64(1) << bits) - 1
                shift = 64 - bits
                for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                    if prefetch_b and jj + _PF2 < pf_end:
                        prefetch(Bp, Aj[jj + _PF2])
                        prefetch(Bj, Bp[_u(Aj[jj + _PF1])])
                        prefetch(Bx, Bp[_u(Aj[jj + _PF1])])
                    a = Ax[jj]
                    kk0 = _u(Aj[jj])
                    for kk in range(_u(Bp[kk0]), _u(Bp[kk0 + 1])):
                        j = Bj[kk]
                        v = _sr_mul(mul_op, a, Bx[kk])
                        h = _u(_table_slot(keys, j, shift, mask))
                        if keys[h] == j:
                            q = _u(tpos[h])
                            rv[q] = _sr_add(add_op, rv[q], v)
                        else:
                            keys[h] = j
                            tpos[h] = r
                            rj[_u(r)] = j
                            rv[_u(r)] = v
                            r += 1
                keys[: mask + 1] = -1
            # bounded heap of the best min(k, r) entries, worst at the root
            n = np.int64(0)
            for e in range(r):
                v = rv[e]
                if v != v or (has_lb and not v > lb):  # noqa: PLR0124 (NaN test, any dtype)
                    continue
                c = rj[e]
                if n < k:
                    Tj[_u(base + n)] = c
                    Tx[_u(base + n)] = v
                    _sift_up(Tj, Tx, base, n)
                    n += 1
                elif _worse(Tx[_u(base)], Tj[_u(base)], v, c):
                    Tj[_u(base)] = c
                    Tx[_u(base)] = v
                    _sift_down(Tj, Tx, base, n, 0)
            counts[i] = n
            if sort:
                # heapsort: moving the worst to the back leaves the best first
                for m in range(n - 1, 0, -1):
                    cj = Tj[_u(base + m)]
                    cv = Tx[_u(base + m)]
                    Tj[_u(base + m)] = Tj[_u(base)]
                    Tx[_u(base + m)] = Tx[_u(base)]
                    Tj[_u(base)] = cj
                    Tx[_u(base)] = cv
                    _sift_down(Tj, Tx, base, m, 0)


    def parallel(bounds, n_col, Ap, Aj, Ax, Bp, Bj, Bx, flops, k, lb, has_lb, sort, add_op,
                 mul_op, mark_max_cols, Tp, Tj, Tx, counts):
        for c in prange(bounds.shape[0] - 1):
            _chunk(  # noqa: F821 -- a global, bound by bind_globals
                bounds[c], bounds[c + 1], n_col, Ap, Aj, Ax, Bp, Bj, Bx, flops, k, lb, has_lb, sort,
                add_op, mul_op, mark_max_cols, Tp, Tj, Tx, counts)

    return chunk, jit(bind_globals(parallel, f"pf{int(prefetch_b)}", _chunk=chunk),
                      parallel=True)


#: The top-k kernels (chunk, parallel) by ``prefetch_b``.
_TOPK = {False: _make_topk(False), True: _make_topk(True)}


@jit(parallel=True)
def _compact(bounds, Tp, Tj, Tx, Cp, Cj, Cx):
    for c in prange(bounds.shape[0] - 1):
        for i in range(bounds[c], bounds[c + 1]):
            src = _u(Tp[i])
            dst = _u(Cp[i])
            for m in range(_u(Cp[i + 1] - Cp[i])):
                Cj[dst + m] = Tj[src + m]
                Cx[dst + m] = Tx[src + m]


#: Rows accumulate in an int64 column stamp while n_col is at most this
#: (8 MiB a chunk), in a hash table otherwise.
MARK_MAX_COLS = 1 << 20

#: Slots beyond this multiple of the input size trigger the symbolic pass
#: that tightens each row's bound from min(k, flops) to min(k, nnz(C[i, :])).
SLOT_SLACK = 4


def csr_spgemm_topk(n_row: int, n_col: int, Ap: np.ndarray, Aj: np.ndarray, Ax: np.ndarray,
                    Bp: np.ndarray, Bj: np.ndarray, Bx: np.ndarray, k: int,
                    lower_bound=None, *, sort: bool = True, add_op: int = 0,
                    mul_op: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The k largest entries of every row of C = A @ B (values above ``lower_bound``).

    Parameters
    ----------
    n_row, n_col : int
        Shape of C.
    Ap, Aj, Ax, Bp, Bj, Bx : ndarray
        CSR arrays of A and B, one index dtype, one real (or bool) value
        dtype. Repeated entries are summed (plus/times).
    k : int
        Entries kept per row, >= 1.
    lower_bound : scalar, optional
        Keep only values ``> lower_bound``.
    sort : bool
        Order each row by value descending, ties by column ascending;
        otherwise the order within a row is unspecified (but deterministic).
    add_op, mul_op : int
        Operator codes of ``semiring.py`` (default plus/times; bool values
        need or/and).

    Returns
    -------
    Cp, Cj, Cx : ndarray
        CSR arrays, index dtype int32 while it fits, value dtype of ``Ax``.
    """
    n_row, n_col, k = int(n_row), int(n_col), int(k)
    with threads(work=int(Ap[-1]) + int(Bp[-1])) as nt:
        flops = _row_flops_on(n_row, Ap, Aj, Bp, nt)
    slots = np.minimum(flops, k)
    if int(slots.sum()) > SLOT_SLACK * (int(Ap[-1]) + int(Bp[-1]) + n_row):
        slots = np.minimum(spgemm_row_nnz(n_row, n_col, Ap, Aj, Bp, Bj), k)
    Tp = np.empty(n_row + 1, dtype=np.int64)
    Tp[0] = 0
    np.cumsum(slots, out=Tp[1:])
    total = int(Tp[-1])
    Tj = np.empty(total, dtype=Bj.dtype)
    Tx = np.empty(total, dtype=Ax.dtype)
    counts = np.empty(n_row, dtype=np.int64)
    has_lb = lower_bound is not None
    lb = Ax.dtype.type(lower_bound if has_lb else 0)
    with threads(work=int(flops.sum())) as nt:
        bounds = balanced_chunks(flops, nt)
        if total:
            prefetch_b = worth_prefetching(Ap, Aj, Bp.shape[0] - 1, Bj.nbytes + Bx.nbytes)
            _TOPK[prefetch_b][1](bounds, n_col, Ap, Aj, Ax, Bp, Bj, Bx, flops, np.int64(k), lb,
                                 has_lb, bool(sort), np.int64(add_op), np.int64(mul_op),
                                 np.int64(MARK_MAX_COLS), Tp, Tj, Tx, counts)
        else:
            counts[:] = 0
        nnz = int(counts.sum())
        cidx = get_index_dtype(maxval=max(nnz, n_col))
        Cp = np.empty(n_row + 1, dtype=cidx)
        Cp[0] = 0
        np.cumsum(counts, out=Cp[1:])
        if nnz == total:
            return Cp, Tj.astype(cidx, copy=False), Tx
        Cj = np.empty(nnz, dtype=cidx)
        Cx = np.empty(nnz, dtype=Ax.dtype)
        _compact(bounds, Tp, Tj, Tx, Cp, Cj, Cx)
    return Cp, Cj, Cx
