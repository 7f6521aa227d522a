"""SpGEMM over a semiring: C[i, j] = ⊕_k A[i, k] ⊗ B[k, j] on CSR arrays.

The row-wise product of ``spgemm.py`` with the two operators as arguments,
for the semirings that ``csr_spgemm`` (plus_times only) does not cover, and
for the *complemented* mask: the products whose column is stored in the
mask row are left out, so C holds exactly the entries of A ⊕.⊗ B that the
mask does not. As there, a row's accumulator follows its products: a hash
table for short rows, a column array of positions in C for longer ones,
column-indexed values for dense ones; and heavy rows are split across
threads (``spgemm_heavy.py``).

Structure follows GraphBLAS: C[i, j] exists when some k has both A[i, k] and
B[k, j] stored, and ⊕ runs over those pairs only; absent entries take no
part (they are not zeros, and ⊕ needs no identity: the first product of a
column initialises it).

Operators are small integer codes dispatched by ``_sr_add``/``_sr_mul``. The
branch on the code is loop invariant (the predictor gets it right), and one
compiled kernel per value dtype serves every semiring. The code paths each
value type can take are chosen at compile time by ``overload``: complex
values only get plus/times (ordering them is meaningless, the public layer
rejects min/max for them), bool values only or/and.

Also holds the small helpers the other extra products share (op codes,
flop-balanced partition of a cost array, per-row mask hash tables).
"""
from __future__ import annotations

import numpy as np
from numba import prange, types
from numba.extending import overload

from ._jit import bind_globals, jit, threads, threads_or_serial
from ._prefetch import prefetch, worth_prefetching
from .spgemm import (
    _PF1,
    _PF2,
    CHUNKS_PER_THREAD,
    DENSE_RATIO,
    INSERTION_MAX,
    SCAN_RATIO,
    _count,
    _filled,
    _row_flops_on,
    _scan_emit,
    _sort_keys,
    _sort_row,
    _table_bits,
    _table_slot,
    balanced_chunks,
    spgemm_index_dtype,
)
from .spgemm_heavy import (
    _cut_entries,
    _flag_excluded,
    _range_slots,
    heavy_count,
    heavy_parts,
    heavy_rows,
    no_exclusion,
)

__all__ = [
    "AND",
    "MAX",
    "MIN",
    "OR",
    "PLUS",
    "TIMES",
    "csr_spgemm_semiring",
]

#: Operator codes. ⊕ is one of PLUS, MIN, MAX, OR; ⊗ one of TIMES, PLUS, MIN, AND.
PLUS, TIMES, MIN, MAX, OR, AND = 0, 1, 2, 3, 4, 5

#: Sparse rows with at least this many products find a column's position in C
#: in a column array (when the chunk's such rows have n_col products), shorter
#: ones in a hash table: on Poisson rows (25 products) the table, in L1, was
#: 1.12-1.16x faster than the column array; on Erdos-Renyi rows (256) the
#: column array 0.60-0.68x the time of the table (min_plus, 2 threads).
SPA_MIN_FLOPS = 64

#: The numeric pass's sparse rows find a column's position in C, and excluded
#: (complemented-mask) columns are stamped, in int64 column arrays while
#: n_col is at most this (8 MiB a chunk); in hash tables otherwise.
MARK_MAX_COLS = 1 << 20

_u = np.uint64  # unsigned indexing: no wraparound checks in hot loops


# --------------------------------------------------------------------------
# operators
# --------------------------------------------------------------------------
def _sr_add(op, x, y):  # pragma: no cover - replaced by the overload in jit code
    raise NotImplementedError


def _sr_mul(op, x, y):  # pragma: no cover
    raise NotImplementedError


@overload(_sr_add)
def _ov_sr_add(op, x, y):
    if isinstance(x, types.Complex):
        def impl(op, x, y):
            return x + y
    elif isinstance(x, types.Boolean):
        def impl(op, x, y):
            return x | y
    else:
        # min/max ignore NaN as C's fmin/fmax (GraphBLAS MIN/MAX): a NaN
        # operand yields the other one
        def impl(op, x, y):
            if op == PLUS:
                return x + y
            if op == MIN:
                return y if (y < x or x != x) else x  # noqa: PLR0124 (NaN test, any dtype)
            return y if (y > x or x != x) else x  # noqa: PLR0124
    return impl


@overload(_sr_mul)
def _ov_sr_mul(op, x, y):
    if isinstance(x, types.Complex):
        def impl(op, x, y):
            return x * y
    elif isinstance(x, types.Boolean):
        def impl(op, x, y):
            return x & y
    else:
        def impl(op, x, y):
            if op == TIMES:
                return x * y
            if op == PLUS:
                return x + y
            return y if (y < x or x != x) else x  # noqa: PLR0124
    return impl


# --------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------
@jit
def mask_table_fill(Mp, Mj, i, keys, pos):
    """Insert the columns of mask row ``i`` into the open-addressing table
    ``keys`` (size ``1 << _table_bits(nnz)``, all -1), with ``pos`` = their
    position in ``Mj`` (the last one for a repeated column). Returns the
    shift of the table's hash."""
    n = np.int64(Mp[i + 1]) - np.int64(Mp[i])
    bits = _table_bits(n)
    mask = (np.int64(1) << bits) - 1
    shift = 64 - bits
    for q in range(_u(Mp[i]), _u(Mp[i + 1])):
        j = Mj[q]
        h = _u(_table_slot(keys, j, shift, mask))
        keys[h] = j
        pos[h] = q
    return shift


@jit(inline="always")  # array arguments: a call would incref/decref them
def mask_table_find(keys, pos, j, shift):
    """Position in the mask of column ``j`` (-1 when absent) in a table
    filled by :func:`mask_table_fill`."""
    mask = (np.int64(1) << (64 - shift)) - 1
    h = _u(_table_slot(keys, j, shift, mask))
    return np.int64(pos[h]) if keys[h] == j else np.int64(-1)


@jit
def mask_table_clear(keys, shift):
    keys[: np.int64(1) << (64 - shift)] = -1


@jit
def _max_row(Mp, r0, r1):
    m = np.int64(0)
    for i in range(r0, r1):
        m = max(m, np.int64(Mp[i + 1]) - np.int64(Mp[i]))
    return m


@jit
def _exclusion_scratch(r0, r1, n_col, Xp, Bj, work, mark_max_cols):
    """Scratch of a chunk for the excluded pattern: a column stamp (one load a
    product, 3-5x faster than hashing; worth its O(n_col) fill when the
    chunk has at least n_col / 4 products) or a table for its largest row."""
    mx = _max_row(Xp, r0, r1)
    stamp = mx > 0 and n_col <= mark_max_cols and 4 * work >= n_col
    # xmark[j] == i: column j excluded in row i (rows only grow: never reset)
    xmark = np.full(n_col if stamp else 0, -1, dtype=np.int64)
    size = (np.int64(1) << _table_bits(mx)) if (mx and not stamp) else 0
    xkeys = np.full(size, -1, dtype=Bj.dtype)
    xpos = np.empty(size, dtype=np.int64)
    return stamp, xmark, xkeys, xpos


@jit
def _exclusion_fill(i, Xp, Xj, xstamp, xmark, xkeys, xpos):
    if xstamp:
        for q in range(_u(Xp[i]), _u(Xp[i + 1])):
            xmark[_u(Xj[q])] = i
        return 0
    return mask_table_fill(Xp, Xj, i, xkeys, xpos)


@jit(inline="always")  # array arguments: a call would incref/decref them
def _excluded(i, j, xstamp, xmark, xkeys, xpos, xshift):
    if xstamp:
        return xmark[_u(j)] == i
    return mask_table_find(xkeys, xpos, j, xshift) >= 0


# --------------------------------------------------------------------------
# symbolic (only with an excluded pattern: without one, spgemm._count)
# --------------------------------------------------------------------------
@jit
def _symbolic_chunk(r0, r1, n_col, Ap, Aj, Bp, Bj, Xp, Xj, flops, dense_ratio, mark_max_cols,
                    row_nnz):
    max_f = np.int64(0)  # of the hashed rows
    dense = False
    work = np.int64(0)
    for i in range(r0, r1):
        if dense_ratio * flops[i] >= n_col and flops[i] > 0:
            dense = True
        else:
            max_f = max(max_f, flops[i])
            work += flops[i]
    keys = np.full((np.int64(1) << _table_bits(max_f)) if max_f else 0, -1, dtype=Bj.dtype)
    xstamp, xmark, xkeys, xpos = _exclusion_scratch(r0, r1, n_col, Xp, Bj, work, mark_max_cols)
    # dense rows (as in the numeric pass): a flag a column, counted
    # branch-free; the excluded columns seen are taken off afterwards (no
    # unpredictable branch a product), and the flags cleared whole (n_col
    # bytes, at most 4x fewer than the row's products)
    seen = _filled(np.empty(n_col if dense else 0, dtype=np.uint8), 0)
    for i in range(r0, r1):
        f = flops[i]
        cnt = np.int64(0)
        if f == 0:
            row_nnz[i] = 0
            continue
        has_x = Xp[i + 1] > Xp[i]
        if dense_ratio * f >= n_col:
            for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                k = _u(Aj[jj])
                for kk in range(_u(Bp[k]), _u(Bp[k + 1])):
                    j = _u(Bj[kk])
                    cnt += np.int64(seen[j] ^ 1)
                    seen[j] = 1
            for q in range(_u(Xp[i]), _u(Xp[i + 1])):
                j = _u(Xj[q])
                cnt -= np.int64(seen[j])
                seen[j] = 0  # a column repeated in X is taken off once
            seen[:] = 0
            row_nnz[i] = cnt
            continue
        xshift = _exclusion_fill(i, Xp, Xj, xstamp, xmark, xkeys, xpos) if has_x else 0
        bits = _table_bits(f)
        mask = (np.int64(1) << bits) - 1
        shift = 64 - bits
        for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
            k = _u(Aj[jj])
            for kk in range(_u(Bp[k]), _u(Bp[k + 1])):
                j = Bj[kk]
                if has_x and _excluded(i, j, xstamp, xmark, xkeys, xpos, xshift):
                    continue
                h = _u(_table_slot(keys, j, shift, mask))
                if keys[h] == -1:
                    keys[h] = j
                    cnt += 1
        keys[: mask + 1] = -1
        if has_x and not xstamp:
            mask_table_clear(xkeys, xshift)
        row_nnz[i] = cnt


@jit(parallel=True)
def _symbolic(bounds, n_col, Ap, Aj, Bp, Bj, Xp, Xj, flops, dense_ratio, mark_max_cols, row_nnz):
    for c in prange(bounds.shape[0] - 1):
        _symbolic_chunk(bounds[c], bounds[c + 1], n_col, Ap, Aj, Bp, Bj, Xp, Xj, flops,
                        dense_ratio, mark_max_cols, row_nnz)


# --------------------------------------------------------------------------
# numeric
# --------------------------------------------------------------------------
def _make_numeric(prefetch_b):
    """The numeric pass (chunk, parallel), with or without prefetching the
    rows of B, as in :mod:`.spgemm` (a closure constant: the kernel that does
    not prefetch compiles none of it)."""

    @jit
    def chunk(r0, r1, n_col, Ap, Aj, Ax, Bp, Bj, Bx, Xp, Xj, flops, Cp, Cj, Cx,
              add_op, mul_op, sort_indices, dense_ratio, mark_max_cols):
        if prefetch_b:
            pf_end = _u(Ap[r1])  # prefetch no further than the chunk's entries
        # rows with dense_ratio * flops >= n_col take column-indexed arrays
        # (as spgemm's _APPEND rows): a hash table of 2 * flops slots would
        # pass n_col / 2 and every probe would miss the caches
        max_f = np.int64(0)  # of the sparse rows
        max_short = np.int64(0)  # of the sparse rows below SPA_MIN_FLOPS
        max_nnz = np.int64(0)
        dense = False  # any dense row
        work = np.int64(0)  # of the sparse rows
        long_work = np.int64(0)  # of those from SPA_MIN_FLOPS on
        for i in range(r0, r1):
            f = flops[i]
            nnz = np.int64(Cp[i + 1]) - np.int64(Cp[i])
            if dense_ratio * f >= n_col and f > 0:
                dense = True
            else:
                max_f = max(max_f, f)
                max_nnz = max(max_nnz, nnz)
                work += f  # what the exclusion stamp must pay for
                if f >= SPA_MIN_FLOPS:
                    long_work += f
                else:
                    max_short = max(max_short, f)
        xstamp, xmark, xkeys, xpos = _exclusion_scratch(r0, r1, n_col, Xp, Bj, work, mark_max_cols)
        ns = max_nnz if (sort_indices and max_nnz > INSERTION_MAX) else 0
        tk = np.empty(ns, dtype=Cj.dtype)
        tv = np.empty(ns, dtype=Cx.dtype)
        count = np.empty(max(2048, 4 * ns) if sort_indices else 0, dtype=np.int64)

        # dense rows: values and flags by column, new columns appended
        # branch-free (the slot is always written, the count advances by
        # "new"), so a row comes out in first-appearance order as from the
        # table below, with ⊕ folded in the same order. Excluded columns are
        # accumulated too and their flags cleared before the emission, which
        # skips them: a branch a column of C, not an unpredictable one a
        # product (a BFS step excludes the visited set)
        nd = n_col if dense else 0
        seen = _filled(np.empty(nd, dtype=np.uint8), 0)
        acc = np.empty(nd, dtype=Cx.dtype)  # read only where seen
        lst = np.empty(nd + 1 if nd else 0, dtype=Cj.dtype)  # excluded columns too
        ltmp = np.empty(nd + 1 if (nd and sort_indices) else 0, dtype=Cj.dtype)
        for i in range(r0 if dense else r1, r1):
            f = flops[i]
            if not (dense_ratio * f >= n_col and f > 0):
                continue
            start = np.int64(Cp[i])
            end = np.int64(Cp[i + 1])
            n = np.int64(0)
            for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                if prefetch_b and jj + _PF2 < pf_end:
                    prefetch(Bp, Aj[jj + _PF2])
                    prefetch(Bj, Bp[_u(Aj[jj + _PF1])])
                    prefetch(Bx, Bp[_u(Aj[jj + _PF1])])
                a = Ax[jj]
                k = _u(Aj[jj])
                for kk in range(_u(Bp[k]), _u(Bp[k + 1])):
                    j = Bj[kk]
                    v = _sr_mul(mul_op, a, Bx[kk])
                    hit = seen[_u(j)]
                    acc[_u(j)] = _sr_add(add_op, acc[_u(j)], v) if hit else v
                    lst[_u(n)] = j
                    n += np.int64(hit ^ 1)
                    seen[_u(j)] = 1
            _flag_excluded(Xp, Xj, i, seen, 0)  # excluded columns: not emitted
            if sort_indices:
                kmin = np.int64(n_col)
                kmax = np.int64(-1)
                for q in range(_u(n)):
                    kmin = min(kmin, np.int64(lst[q]))
                    kmax = max(kmax, np.int64(lst[q]))
                if kmax - kmin < SCAN_RATIO * (end - start):
                    # stops after the last column held: none is flagged past it
                    _scan_emit(acc, seen, kmin, start, end, Cj, Cx)
                    continue
                _sort_keys(lst, n, kmin, kmax - kmin, ltmp, count)
            p = start
            for q in range(_u(n)):
                j = lst[q]
                if seen[_u(j)]:
                    Cj[_u(p)] = j
                    Cx[_u(p)] = acc[_u(j)]
                    seen[_u(j)] = 0
                    p += 1

        # sparse rows: slot -> position of its column in C, where ⊕ folds in
        # place. For rows of SPA_MIN_FLOPS products or more the slot is the
        # column itself (spgemm's _SPA: mark[j] >= the row's start means "seen
        # in this row"; positions only grow, so it is never reset) when n_col
        # is small enough and those rows' products pay for filling it; other
        # rows take an open-addressing table
        spa = n_col <= mark_max_cols and long_work >= n_col
        mark = _filled(np.empty(n_col if spa else 0, dtype=np.int64), -1)
        max_f = max_short if spa else max_f
        size = (np.int64(1) << _table_bits(max_f)) if max_f else 0
        keys = _filled(np.empty(size, dtype=Bj.dtype), -1)
        tpos = np.empty(size, dtype=np.int64)
        # two loops, as in spgemm's numeric pass: one loop choosing the
        # accumulator a product was 1.04-1.24x slower (min_plus on ER 2^14 and
        # R-MAT 14, 1 and 2 threads; Poisson level)
        for i in range(r0 if spa else r1, r1):
            f = flops[i]
            start = np.int64(Cp[i])
            end = np.int64(Cp[i + 1])
            if f < SPA_MIN_FLOPS or end == start or dense_ratio * f >= n_col:
                continue
            has_x = Xp[i + 1] > Xp[i]
            xshift = _exclusion_fill(i, Xp, Xj, xstamp, xmark, xkeys, xpos) if has_x else 0
            kmin = np.int64(n_col)
            kmax = np.int64(-1)
            p = start
            # A's columns in stored order: for canonical A that is ascending k,
            # the order every path of the extra products folds ⊕ in
            for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                if prefetch_b and jj + _PF2 < pf_end:
                    prefetch(Bp, Aj[jj + _PF2])
                    prefetch(Bj, Bp[_u(Aj[jj + _PF1])])
                    prefetch(Bx, Bp[_u(Aj[jj + _PF1])])
                a = Ax[jj]
                k = _u(Aj[jj])
                for kk in range(_u(Bp[k]), _u(Bp[k + 1])):
                    j = Bj[kk]
                    if has_x and _excluded(i, j, xstamp, xmark, xkeys, xpos, xshift):
                        continue
                    v = _sr_mul(mul_op, a, Bx[kk])
                    q = mark[_u(j)]
                    if q >= start:
                        Cx[_u(q)] = _sr_add(add_op, Cx[_u(q)], v)
                    else:
                        mark[_u(j)] = p
                        Cj[_u(p)] = j
                        Cx[_u(p)] = v
                        kmin = min(kmin, np.int64(j))
                        kmax = max(kmax, np.int64(j))
                        p += 1
            if has_x and not xstamp:
                mask_table_clear(xkeys, xshift)
            if sort_indices:
                _sort_row(Cj, Cx, start, end, kmin, kmax, tk, tv, count, spa)

        for i in range(r0 if max_f else r1, r1):
            f = flops[i]
            start = np.int64(Cp[i])
            end = np.int64(Cp[i + 1])
            # f == 0 also: a heavy row, split apart
            if (f == 0 or end == start or dense_ratio * f >= n_col
                    or (spa and f >= SPA_MIN_FLOPS)):
                continue
            has_x = Xp[i + 1] > Xp[i]
            xshift = _exclusion_fill(i, Xp, Xj, xstamp, xmark, xkeys, xpos) if has_x else 0
            bits = _table_bits(f)
            mask = (np.int64(1) << bits) - 1
            shift = 64 - bits
            kmin = np.int64(n_col)
            kmax = np.int64(-1)
            p = start
            for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                if prefetch_b and jj + _PF2 < pf_end:
                    prefetch(Bp, Aj[jj + _PF2])
                    prefetch(Bj, Bp[_u(Aj[jj + _PF1])])
                    prefetch(Bx, Bp[_u(Aj[jj + _PF1])])
                a = Ax[jj]
                k = _u(Aj[jj])
                for kk in range(_u(Bp[k]), _u(Bp[k + 1])):
                    j = Bj[kk]
                    if has_x and _excluded(i, j, xstamp, xmark, xkeys, xpos, xshift):
                        continue
                    v = _sr_mul(mul_op, a, Bx[kk])
                    h = _u(_table_slot(keys, j, shift, mask))
                    if keys[h] == j:
                        q = _u(tpos[h])
                        Cx[q] = _sr_add(add_op, Cx[q], v)
                    else:
                        keys[h] = j
                        tpos[h] = p
                        Cj[_u(p)] = j
                        Cx[_u(p)] = v
                        kmin = min(kmin, np.int64(j))
                        kmax = max(kmax, np.int64(j))
                        p += 1
            keys[: mask + 1] = -1
            if has_x and not xstamp:
                mask_table_clear(xkeys, xshift)
            if sort_indices:
                _sort_row(Cj, Cx, start, end, kmin, kmax, tk, tv, count, False)

    def parallel(bounds, n_col, Ap, Aj, Ax, Bp, Bj, Bx, Xp, Xj, flops, Cp, Cj, Cx, add_op, mul_op,
                 sort_indices, dense_ratio, mark_max_cols):
        for c in prange(bounds.shape[0] - 1):
            _chunk(  # noqa: F821 -- a global, bound by bind_globals
                bounds[c], bounds[c + 1], n_col, Ap, Aj, Ax, Bp, Bj, Bx, Xp, Xj, flops, Cp, Cj, Cx,
                add_op, mul_op, sort_indices, dense_ratio, mark_max_cols)

    return chunk, jit(bind_globals(parallel, f"pf{int(prefetch_b)}", _chunk=chunk),
                      parallel=True)


#: The numeric kernels (chunk, parallel) by ``prefetch_b``.
_NUMERIC = {False: _make_numeric(False), True: _make_numeric(True)}


@jit(parallel=True)
def _heavy_numeric(rows, flops, n_col, Ap, Aj, Ax, Bp, Bj, Bx, Xp, Xj, xflag, cnt, Cp, Cj, Cx,
                   acc, seen, add_op, mul_op):
    """Numeric pass of the heavy rows, each sorted, as ``spgemm_heavy.heavy_numeric``
    over a semiring: each part folds ⊕ over its run of A's entries in stored
    order (its first product of a column initialises it), and the gather
    folds the parts in part order, so ⊕ runs in A's stored order as in the
    unsplit row. Excluded columns (``xflag``, see ``heavy_count``) are
    accumulated like any other and dropped by the gather.

    ``acc`` (C's value dtype) and ``seen`` (uint8): shape ``(nparts, n_col)``,
    ``seen`` all zero (left so).
    """
    nparts = seen.shape[0]
    has_x = xflag.shape[0] > 0
    cuts = np.empty(nparts + 1, dtype=np.int64)
    for h in range(rows.shape[0]):
        i = rows[h]
        _cut_entries(Ap, Aj, Bp, i, flops[h], cuts)
        _flag_excluded(Xp, Xj, i, xflag, 1)
        for t in prange(nparts):
            vals = acc[t]
            mark = seen[t]
            for jj in range(_u(cuts[t]), _u(cuts[t + 1])):
                a = Ax[jj]
                k = _u(Aj[jj])
                for kk in range(_u(Bp[k]), _u(Bp[k + 1])):
                    j = _u(Bj[kk])
                    v = _sr_mul(mul_op, a, Bx[kk])
                    vals[j] = _sr_add(add_op, vals[j], v) if mark[j] else v
                    mark[j] = 1
        for r in prange(nparts):
            p, end = _range_slots(Cp, cnt, h, i, r)
            j = np.int64(r * n_col // nparts)
            # branch-free emission as in heavy_numeric: every column is
            # written at p, which advances past the columns C holds
            while p < end:
                s = acc[0, _u(j)]
                hit = seen[0, _u(j)]
                seen[0, _u(j)] = 0
                for t in range(1, nparts):
                    x = acc[t, _u(j)]
                    st = seen[t, _u(j)]
                    if st:
                        s = _sr_add(add_op, s, x) if hit else x
                    hit |= st
                    seen[t, _u(j)] = 0
                if has_x:
                    hit &= xflag[_u(j)] ^ 1
                Cj[_u(p)] = j
                Cx[_u(p)] = s
                p += np.int64(hit)
                j += 1
            if has_x:
                # excluded columns after the range's last one were seen too
                for jr in range(_u(j), _u((r + 1) * n_col // nparts)):
                    for t in range(nparts):
                        seen[t, jr] = 0
        _flag_excluded(Xp, Xj, i, xflag, 0)


# --------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------
def csr_spgemm_semiring(n_row: int, n_col: int, Ap: np.ndarray, Aj: np.ndarray,
                        Ax: np.ndarray, Bp: np.ndarray, Bj: np.ndarray, Bx: np.ndarray,
                        add_op: int, mul_op: int, *, sort_indices: bool = True,
                        Xp: np.ndarray | None = None, Xj: np.ndarray | None = None,
                        b_canonical: bool = False
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """C = A ⊕.⊗ B for CSR A (``n_row x k``) and CSR B (``k x n_col``),
    optionally without the entries of an excluded pattern X (complemented mask).

    Parameters
    ----------
    n_row, n_col : int
        Shape of C.
    Ap, Aj, Ax, Bp, Bj, Bx : ndarray
        CSR arrays of A and B, one index dtype, one value dtype. For any
        semiring but plus_times they must be canonical (a repeated A[i, k]
        would enter ⊕ twice); the caller sums duplicates first.
    add_op, mul_op : int
        Operator codes (``PLUS``/``MIN``/``MAX``/``OR`` and
        ``TIMES``/``PLUS``/``MIN``/``AND``). Complex values support
        plus/times only, bool values or/and only.
    sort_indices : bool
        Sort the columns of every row of C.
    Xp, Xj : ndarray, optional
        CSR structure (``n_row x n_col``, index dtype of A; repeats allowed)
        of the pattern to leave out of C.
    b_canonical : bool
        B is canonical (lets the symbolic phase copy rows without hashing).

    Returns
    -------
    Cp, Cj, Cx : ndarray
        CSR arrays of C, index dtype int32 while it fits, value dtype of ``Ax``.

    Notes
    -----
    Each row folds ⊕ in the order A's row is stored, then B's, so results do
    not depend on the thread count. Inputs are never modified.
    """
    n_row, n_col = int(n_row), int(n_col)
    idx = Aj.dtype
    if Xp is None:
        Xp = np.zeros(n_row + 1, dtype=idx)
        Xj = np.zeros(0, dtype=idx)
        excluded = False
    else:
        excluded = bool(Xj.shape[0])
    # small products run on one thread through the serial kernels, without
    # setting the pool's size or entering a parallel region (a BFS step on a
    # small graph took 52 us, most of it in those)
    with threads_or_serial(work=int(Ap[-1]) + int(Bp[-1]) + int(Xp[-1])) as nt:
        flops = _row_flops_on(n_row, Ap, Aj, Bp, nt)
    # rows with a large share of the products, split across threads as in
    # csr_spgemm (spgemm_heavy.py); the passes below see them as empty
    work = int(flops.sum()) + n_row
    nparts = heavy_parts(n_col, Ax.dtype.itemsize)
    heavy = heavy_rows(flops, work, n_col, nparts, CHUNKS_PER_THREAD)
    if heavy.shape[0]:
        hflops = flops[heavy]
        flops[heavy] = 0
        if excluded:
            xs = (Xp, Xj, np.zeros(n_col, dtype=np.uint8))
        else:
            xs = no_exclusion(idx)
    # (split rows need the pool's size set, even to one)
    with (threads if heavy.shape[0] else threads_or_serial)(work=work) as nt:
        if excluded:
            bounds = balanced_chunks(flops, nt)
            row_nnz = np.empty(n_row, dtype=np.int64)
            args = (n_col, Ap, Aj, Bp, Bj, Xp, Xj, flops, np.int64(DENSE_RATIO),
                    np.int64(MARK_MAX_COLS), row_nnz)
            if nt > 1:
                _symbolic(bounds, *args)
            else:
                _symbolic_chunk(bounds[0], bounds[-1], *args)
        else:
            bounds, row_nnz = _count(
                n_row, n_col, Ap, Aj, Bp, Bj, flops, bool(b_canonical), DENSE_RATIO,
                worth_prefetching(Ap, Aj, Bp.shape[0] - 1, Bj.nbytes), nt)
        if heavy.shape[0]:
            seen = np.zeros((nparts, n_col), dtype=np.uint8)
            hcnt = np.empty((heavy.shape[0], nparts), dtype=np.int64)
            heavy_count(heavy, hflops, n_col, Ap, Aj, Bp, Bj, *xs, seen, hcnt)
            row_nnz[heavy] = hcnt.sum(axis=1)
        cidx = spgemm_index_dtype(row_nnz, n_col)
        Cp = np.empty(n_row + 1, dtype=cidx)
        Cp[0] = 0
        np.cumsum(row_nnz, out=Cp[1:])
        nnz = int(Cp[-1])
        Cj = np.empty(nnz, dtype=cidx)
        Cx = np.empty(nnz, dtype=Ax.dtype)
        if nnz:
            pf = worth_prefetching(Ap, Aj, Bp.shape[0] - 1, Bj.nbytes + Bx.nbytes)
            chunk, parallel = _NUMERIC[pf]
            args = (n_col, Ap, Aj, Ax, Bp, Bj, Bx, Xp, Xj, flops, Cp, Cj, Cx, np.int64(add_op),
                    np.int64(mul_op), bool(sort_indices), np.int64(DENSE_RATIO),
                    np.int64(MARK_MAX_COLS))
            if nt > 1:
                parallel(bounds, *args)
            else:
                chunk(bounds[0], bounds[-1], *args)
        if heavy.shape[0]:
            acc = np.zeros((nparts, n_col), dtype=Cx.dtype)
            _heavy_numeric(heavy, hflops, n_col, Ap, Aj, Ax, Bp, Bj, Bx, *xs, hcnt, Cp, Cj, Cx,
                           acc, seen, np.int64(add_op), np.int64(mul_op))
    return Cp, Cj, Cx
