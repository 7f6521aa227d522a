"""Heavy rows of C = A @ B split across threads (CPU).

The row partition of ``spgemm.py`` keeps every row whole, so a row holding a
large share of all the partial products leaves its thread working while the
others wait (an arrow matrix's dense row, a hub of a power-law graph). Such
a row is taken out of that partition and computed here in two parallel
steps per pass:

1. its entries in A are cut into ``nparts`` runs of equal products, and each
   run accumulates into its own column-indexed arrays (one part a thread);
2. the columns are cut into ``nparts`` equal ranges, and each range (one a
   thread) sums the parts at every column, in part order, and emits the
   columns it holds in ascending order.

The symbolic pass counts each range's columns (so C is still allocated once,
exactly); the numeric pass writes each range at its offset in C's row, with
no merge. The number of parts depends on the process's thread pool
(``NUMBA_NUM_THREADS``), not on the thread count of the call, so the sums,
and the bits of C, are the same for any ``set_num_threads``; and a heavy row
comes out sorted whether or not ``sort_indices`` asks, so the unsorted
output is the same for any thread count too.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import jit

__all__ = ["heavy_count", "heavy_numeric", "heavy_parts", "heavy_rows", "no_exclusion"]

#: At most this many parts a row (one a thread of the pool).
HEAVY_MAX_PARTS = 8
#: A row is split only with at least this many products: below, the two
#: parallel regions per pass cost more than the imbalance.
HEAVY_MIN_FLOPS = 1 << 16
#: The parts' column-indexed arrays (values + flags, ``nparts * n_col``
#: entries) take at most this many bytes; fewer parts, or none, above.
HEAVY_MAX_BYTES = 64 << 20

_u = np.uint64  # unsigned indexing, as in spgemm.py


def heavy_parts(n_col: int, itemsize: int) -> int:
    """Parts a heavy row is cut into: the thread pool's size (at most
    ``HEAVY_MAX_PARTS``), fewer when the parts' arrays would pass
    ``HEAVY_MAX_BYTES``; 0 or 1 means no row is split."""
    import numba

    fit = HEAVY_MAX_BYTES // max(1, n_col * (itemsize + 1))
    return int(min(numba.config.NUMBA_NUM_THREADS, HEAVY_MAX_PARTS, fit))


def no_exclusion(index_dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(Xp, Xj, xflag)`` for :func:`heavy_count` without an excluded pattern."""
    empty = np.empty(0, dtype=index_dtype)
    return empty, empty, np.empty(0, dtype=np.uint8)


def heavy_rows(flops: np.ndarray, total: int, n_col: int, nparts: int,
               chunks: int) -> np.ndarray:
    """The rows of C to split (int64 row numbers, ascending).

    A row is heavy when it has more products than one of the row partition's
    chunks would (``total / (chunks * nparts)``, the imbalance it could
    otherwise cause), at least ``HEAVY_MIN_FLOPS``, and at least ``n_col``:
    the gather scans every part's arrays over all the columns (``n_col``
    entries a thread), which its products then pay for. None when
    ``nparts < 2``.

    Parameters
    ----------
    flops : ndarray of int64
        Products of every row of C.
    total : int
        ``flops.sum() + flops.shape[0]``, the row partition's total cost.
    n_col : int
        Columns of C.
    nparts : int
        From :func:`heavy_parts`.
    chunks : int
        Chunks a thread of the row partition (``CHUNKS_PER_THREAD``).
    """
    limit = max(total // (chunks * max(nparts, 1)), HEAVY_MIN_FLOPS - 1, n_col - 1)
    if nparts < 2 or flops.shape[0] == 0 or flops.max() <= limit:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(flops > limit).astype(np.int64, copy=False)


@jit(inline="always")
def _cut_entries(Ap, Aj, Bp, i, f, cuts):
    """``cuts[t]:cuts[t + 1]``: the entries of A's row ``i`` of part ``t``,
    about ``f / nparts`` products each (a part ends at the first entry whose
    running products reach its share)."""
    nparts = cuts.shape[0] - 1
    jj = np.int64(Ap[i])
    end = np.int64(Ap[i + 1])
    run = np.int64(0)
    cuts[0] = jj
    for t in range(1, nparts):
        target = f // nparts * t + f % nparts * t // nparts
        while jj < end and run < target:
            k = _u(Aj[_u(jj)])
            run += np.int64(Bp[k + 1]) - np.int64(Bp[k])
            jj += 1
        cuts[t] = jj
    cuts[nparts] = end


@jit(inline="always")
def _range_slots(Cp, cnt, h, i, r):
    """``(start, end)`` in C of column range ``r`` of heavy row ``rows[h] == i``:
    the ranges follow each other in column order, sized by ``heavy_count``."""
    p = np.int64(Cp[i])
    for q in range(r):
        p += cnt[h, q]
    return p, p + cnt[h, r]


@jit(inline="always")
def _flag_excluded(Xp, Xj, i, xflag, value):
    """Set ``xflag`` at the columns of row ``i`` of the excluded pattern X
    (complemented mask) to ``value``; nothing when ``xflag`` is empty (no X)."""
    if xflag.shape[0]:
        for q in range(_u(Xp[i]), _u(Xp[i + 1])):
            xflag[_u(Xj[q])] = value


@jit(parallel=True)
def heavy_count(rows, flops, n_col, Ap, Aj, Bp, Bj, Xp, Xj, xflag, seen, cnt):
    """Symbolic pass of the heavy rows: ``cnt[h, r]`` = nnz of row ``rows[h]``
    of C in column range ``r``.

    ``seen``: uint8, shape ``(nparts, n_col)``, all zero (left so);
    ``flops[h]``: the products of row ``rows[h]``. ``Xp, Xj``: CSR structure
    of a pattern left out of C (semiring.py's complemented mask), used with
    ``xflag`` (uint8, ``n_col``, all zero, left so); an empty ``xflag``
    means no pattern (``Xp``, ``Xj`` are then not read).
    """
    nparts = seen.shape[0]
    has_x = xflag.shape[0] > 0
    cuts = np.empty(nparts + 1, dtype=np.int64)
    for h in range(rows.shape[0]):
        i = rows[h]
        _cut_entries(Ap, Aj, Bp, i, flops[h], cuts)
        _flag_excluded(Xp, Xj, i, xflag, 1)
        for t in prange(nparts):
            mark = seen[t]
            for jj in range(_u(cuts[t]), _u(cuts[t + 1])):
                k = _u(Aj[jj])
                for kk in range(_u(Bp[k]), _u(Bp[k + 1])):
                    j = _u(Bj[kk])
                    # a stamp, not a skip: excluded columns are cleared in
                    # the count below (no branch per product)
                    mark[j] = 1
        for r in prange(nparts):
            n = np.int64(0)
            for j in range(_u(r * n_col // nparts), _u((r + 1) * n_col // nparts)):
                hit = np.uint8(0)
                for t in range(nparts):
                    hit |= seen[t, j]
                    seen[t, j] = 0
                if has_x:
                    hit &= xflag[j] ^ 1
                n += np.int64(hit)
            cnt[h, r] = n
        _flag_excluded(Xp, Xj, i, xflag, 0)


@jit(parallel=True)
def heavy_numeric(rows, flops, n_col, Ap, Aj, Ax, Bp, Bj, Bx, cnt, Cp, Cj, Cx, acc, seen):
    """Numeric pass of the heavy rows, into their place in C, each sorted.

    ``acc`` (C's value dtype) and ``seen`` (uint8): shape ``(nparts, n_col)``,
    all zero (left so); ``cnt``: from :func:`heavy_count`.
    """
    nparts = seen.shape[0]
    cuts = np.empty(nparts + 1, dtype=np.int64)
    for h in range(rows.shape[0]):
        i = rows[h]
        _cut_entries(Ap, Aj, Bp, i, flops[h], cuts)
        for t in prange(nparts):
            vals = acc[t]
            mark = seen[t]
            for jj in range(_u(cuts[t]), _u(cuts[t + 1])):
                a = Ax[jj]
                k = _u(Aj[jj])
                for kk in range(_u(Bp[k]), _u(Bp[k + 1])):
                    j = _u(Bj[kk])
                    vals[j] += a * Bx[kk]
                    mark[j] = 1
        for r in prange(nparts):
            p, end = _range_slots(Cp, cnt, h, i, r)
            j = np.int64(r * n_col // nparts)
            # Branch-free emission, as spgemm's _scan_emit: every column is
            # written at p, which advances past the columns held; the loop
            # stops at the range's last one, so p never leaves the range. The
            # columns after it were never touched (all zero already).
            while p < end:
                s = acc[0, _u(j)]
                hit = seen[0, _u(j)]
                acc[0, _u(j)] = 0
                seen[0, _u(j)] = 0
                for t in range(1, nparts):
                    s += acc[t, _u(j)]
                    hit |= seen[t, _u(j)]
                    acc[t, _u(j)] = 0
                    seen[t, _u(j)] = 0
                Cj[_u(p)] = j
                Cx[_u(p)] = s
                p += np.int64(hit)
                j += 1
