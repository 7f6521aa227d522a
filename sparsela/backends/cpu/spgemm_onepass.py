"""C = A @ B in one pass over the partial products, unsorted (CPU).

``spgemm.py`` counts every row of C (symbolic pass) before it computes it
(numeric pass), so that C is allocated once at its exact size. On a product
whose rows repeat their columns, the count costs nearly as much as the
numeric pass (both are bound by the walk over the rows of B), and it is
all the second pass could not do anyway. Here each block of rows (one
thread's chunks, as in ``spgemm.py``) accumulates its rows one after another
into its own region of a scratch buffer with a slot a partial product (the
most its rows can hold), and counts each row as it goes; C is then
allocated at its size and the regions are copied into it. That copy and the
scratch are the price, so the one pass is taken for products whose scratch
is small (``ONE_PASS_MAX_BYTES``) and not made of rows without repeats
(``ONE_PASS_MAX_DIRECT``), and only for unsorted output: sorting a row
after accumulating it cost more than spgemm's sorted emission saved.

A row accumulates in a column-indexed array (``mark[j]``: the position of
column ``j`` in the buffer; SciPy's SPA) when its chunk has at least
``n_col`` products or the row is dense, dense rows that repeat few columns
in spgemm's branch-free append, and other rows in a hash table sized by
their products. Every accumulator leaves a row in the order its columns
first appear and sums in A's order, so C's bits do not depend on the thread
count.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ..._sputils import get_index_dtype
from ._jit import jit, threads_or_serial
from .spgemm import (
    REPEAT_SPA,
    _filled,
    _flops_of_row,
    _is_copy_row,
    _table_bits,
    _table_slot,
    _use_spa,
    balanced_chunks,
)

__all__ = ["onepass_spgemm", "small_onepass", "use_onepass"]

#: A product runs in one pass while its scratch buffer (a slot a partial
#: product: an index and a value) takes at most this many bytes (0: never).
#: Larger scratch (zenios, dnn-n1024: 7-12 MiB) ran 0.54-0.7x spgemm's time
#: while malloc reused it from call to call, and 2.5-3x when it did not and
#: every page was faulted in anew (1.5-3 us a page on this VM); NumPy arrays
#: under 4 MiB (no huge-page advice) were reused in every run.
ONE_PASS_MAX_BYTES = 4 << 20
#: ... and, above this many partial products, while at most half of them
#: (``ONE_PASS_MAX_DIRECT``) fall in rows without a repeated column, in a
#: sample of ``SAMPLE_ROWS`` rows: spgemm's numeric pass writes such rows
#: straight to C, so its symbolic pass is all the one pass would save, and
#: the copy out of the buffer costs as much (Erdos-Renyi 2**14 x 6 a row, 97%
#: such products: one pass 1.2-1.3x the time; 2**13 x 10, 57%: 0.8-1.0x).
ONE_PASS_ALWAYS = 1 << 16
ONE_PASS_MAX_DIRECT = 0.5
SAMPLE_ROWS = 64

_u = np.uint64  # unsigned indexing, as in spgemm.py


@jit
def _block(bounds, c0, c1, base, n_col, Ap, Aj, Ax, Bp, Bj, Bx, flops, b_canonical,
           dense_ratio, spa_max_cols, row_nnz, Tj, Tx):
    """Rows of chunks ``c0..c1`` into ``Tj``/``Tx`` from ``base`` on;
    ``row_nnz`` gets each row's length. Returns the end of the region."""
    # size the accumulators once, for the block's largest row
    max_hash = np.int64(0)
    any_mark = False
    any_dense = False
    for c in range(c0, c1):
        spa = _use_spa(bounds[c], bounds[c + 1], n_col, flops, spa_max_cols)
        for i in range(bounds[c], bounds[c + 1]):
            f = flops[i]
            if f == 0 or _is_copy_row(f, Ap[i + 1] - Ap[i], b_canonical):
                continue
            if spa or dense_ratio * f >= n_col:
                any_mark = True
                any_dense = any_dense or dense_ratio * f >= n_col
            else:
                max_hash = max(max_hash, f)
    # mark[j] >= the row's start: column j is in the row, at mark[j]
    # (positions only grow along the block, so it is never reset)
    mark = _filled(np.empty(n_col if any_mark else 0, dtype=np.int64), -1)
    # dense rows: column-indexed values and flags, all-zero between rows,
    # and the row's column list (+1 slot: the append writes one past)
    nd = n_col if any_dense else 0
    acc = _filled(np.empty(nd, dtype=Tx.dtype), 0)
    seen = _filled(np.empty(nd, dtype=np.uint8), 0)
    lst = np.empty(nd + 1 if any_dense else 0, dtype=Tj.dtype)
    repeats = False  # the last dense row hit its columns REPEAT_SPA+ times
    size = (np.int64(1) << _table_bits(max_hash)) if max_hash > 0 else 0
    keys = _filled(np.empty(size, dtype=Bj.dtype), -1)
    tpos = np.empty(size, dtype=np.int64)

    # One loop over the rows, the accumulator chosen per row: a row's
    # place depends on the rows before it, so the rows of one kind cannot
    # run in a loop of their own as in spgemm's numeric pass.
    p = base
    for c in range(c0, c1):
        spa = _use_spa(bounds[c], bounds[c + 1], n_col, flops, spa_max_cols)
        for i in range(bounds[c], bounds[c + 1]):
            f = flops[i]
            start = p
            if f == 0 or _is_copy_row(f, Ap[i + 1] - Ap[i], b_canonical):
                # distinct columns (one product, or a row of a canonical
                # B, which is sorted): straight to the buffer
                for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                    a = Ax[jj]
                    k = _u(Aj[jj])
                    for kk in range(_u(Bp[k]), _u(Bp[k + 1])):
                        Tj[_u(p)] = Bj[kk]
                        Tx[_u(p)] = a * Bx[kk]
                        p += 1
            elif dense_ratio * f >= n_col and not repeats:
                # branch-free append (spgemm's _APPEND): whether a column
                # is new is unpredictable in such rows (R-MAT's repeat
                # ~60% of theirs), so the list slot is always written
                n = np.int64(0)
                for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                    a = Ax[jj]
                    k = _u(Aj[jj])
                    for kk in range(_u(Bp[k]), _u(Bp[k + 1])):
                        j = Bj[kk]
                        acc[_u(j)] += a * Bx[kk]
                        lst[_u(n)] = j
                        n += np.int64(seen[_u(j)] ^ 1)
                        seen[_u(j)] = 1
                repeats = REPEAT_SPA * n <= f
                for q in range(_u(n)):
                    j = lst[q]
                    Tj[_u(p) + q] = j
                    Tx[_u(p) + q] = acc[_u(j)]
                    acc[_u(j)] = 0
                    seen[_u(j)] = 0
                p += n
            elif spa or dense_ratio * f >= n_col:
                for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                    a = Ax[jj]
                    k = _u(Aj[jj])
                    for kk in range(_u(Bp[k]), _u(Bp[k + 1])):
                        j = Bj[kk]
                        q = mark[_u(j)]
                        if q >= start:
                            Tx[_u(q)] += a * Bx[kk]
                        else:
                            mark[_u(j)] = p
                            Tj[_u(p)] = j
                            Tx[_u(p)] = a * Bx[kk]
                            p += 1
                if dense_ratio * f >= n_col:
                    # few new columns: SPA's branch is predictable and
                    # it stores once a product (spgemm's REPEAT_SPA)
                    repeats = REPEAT_SPA * (p - start) <= f
            else:
                bits = _table_bits(f)
                mask = (np.int64(1) << bits) - 1
                shift = 64 - bits
                for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                    a = Ax[jj]
                    k = _u(Aj[jj])
                    for kk in range(_u(Bp[k]), _u(Bp[k + 1])):
                        j = Bj[kk]
                        h = _u(_table_slot(keys, j, shift, mask))
                        if keys[h] == j:
                            Tx[_u(tpos[h])] += a * Bx[kk]
                        else:
                            keys[h] = j
                            tpos[h] = p
                            Tj[_u(p)] = j
                            Tx[_u(p)] = a * Bx[kk]
                            p += 1
                keys[: mask + 1] = -1
            row_nnz[i] = p - start
    return p


@jit(parallel=True)
def _parallel(bounds, starts, n_col, Ap, Aj, Ax, Bp, Bj, Bx, flops, b_canonical,
              dense_ratio, spa_max_cols, row_nnz, Tj, Tx, ends):
    # the blocks on one thread each, block t's region from starts[t] on
    nblocks = ends.shape[0]
    nchunks = bounds.shape[0] - 1
    for t in prange(nblocks):
        ends[t] = _block(
            bounds, t * nchunks // nblocks, (t + 1) * nchunks // nblocks, starts[t], n_col,
            Ap, Aj, Ax, Bp, Bj, Bx, flops, b_canonical, dense_ratio, spa_max_cols, row_nnz,
            Tj, Tx)


@jit
def small_onepass(n_col, Ap, Aj, Ax, Bp, Bj, Bx, b_canonical, dense_ratio, spa_max_cols, max_work):
    """Flops and the unsorted product in one call, for a product that runs
    on one thread (flops + rows < ``max_work``): one kernel dispatch instead
    of several plus the NumPy steps between them, which took as long as
    such a product.

    Returns (flops, Cp, Cj, Cx), with an empty Cp when the product is too
    big (the caller goes on with these flops). Indices are int32: nnz(C) <=
    flops < ``max_work``, and the caller checks that ``n_col`` fits, as
    ``spgemm_index_dtype`` would choose.
    """
    n_row = Ap.shape[0] - 1
    flops = np.empty(n_row, dtype=np.int64)
    work = np.int64(n_row)
    for i in range(n_row):
        flops[i] = _flops_of_row(Ap, Aj, Bp, i)
        work += flops[i]
    idx = np.empty(0, dtype=np.int32)
    if work >= max_work:
        return flops, idx, idx, np.empty(0, dtype=Ax.dtype)
    bounds = np.empty(2, dtype=np.int64)
    bounds[0] = 0
    bounds[1] = n_row
    Tj = np.empty(work - n_row, dtype=np.int32)
    Tx = np.empty(work - n_row, dtype=Ax.dtype)
    row_nnz = np.empty(n_row, dtype=np.int64)
    # variables, not literals: a literal argument would compile another
    # signature of the block kernel
    c0 = np.int64(0)
    c1 = np.int64(1)
    nnz = _block(
        bounds, c0, c1, c0, n_col, Ap, Aj, Ax, Bp, Bj, Bx, flops, b_canonical, dense_ratio,
        spa_max_cols, row_nnz, Tj, Tx)
    Cp = np.empty(n_row + 1, dtype=np.int32)
    Cp[0] = 0
    for i in range(n_row):
        Cp[i + 1] = Cp[i] + row_nnz[i]
    # exact-size copies (at most max_work entries): C may be far smaller
    return flops, Cp, Tj[:nnz].copy(), Tx[:nnz].copy()


@jit
def _region_starts(bounds, nblocks, flops):
    """Where each of ``nblocks`` blocks of ``bounds``'s chunks starts in the
    scratch buffer (the products of the rows before it, the most they can
    hold), and the buffer's size last."""
    nchunks = bounds.shape[0] - 1
    starts = np.empty(nblocks + 1, dtype=np.int64)
    run = np.int64(0)
    row = np.int64(0)
    for t in range(nblocks + 1):
        first = bounds[t * nchunks // nblocks]
        for i in range(row, first):
            run += flops[i]
        row = first
        starts[t] = run
    return starts


def use_onepass(n_col: int, Ap: np.ndarray, Aj: np.ndarray, Bp: np.ndarray, Bj: np.ndarray,
                flops: np.ndarray, total: int, itemsize: int) -> bool:
    """Whether C = A @ B runs in one pass: its ``total`` partial products (of
    ``flops``, none split) with values of ``itemsize`` bytes fit the scratch
    buffer, and it has few, or mostly repeating, products (see
    ``ONE_PASS_MAX_DIRECT``)."""
    idx = get_index_dtype(maxval=max(total, n_col)).itemsize
    if ONE_PASS_MAX_BYTES <= 0 or total * (idx + itemsize) > ONE_PASS_MAX_BYTES:
        return False
    if total <= ONE_PASS_ALWAYS:
        return True
    step = max(1, flops.shape[0] // SAMPLE_ROWS)
    sampled, direct = _direct_share(n_col, Ap, Aj, Bp, Bj, flops, np.int64(step))
    return direct <= ONE_PASS_MAX_DIRECT * sampled


@jit
def _direct_share(n_col, Ap, Aj, Bp, Bj, flops, step):
    """(products, products in rows without a repeated column) of the rows
    0, step, 2 * step, ..., counted with a hash table as spgemm's symbolic
    pass does."""
    n_row = flops.shape[0]
    max_f = np.int64(0)
    for i in range(0, n_row, step):
        max_f = max(max_f, flops[i])
    keys = _filled(np.empty(np.int64(1) << _table_bits(max_f), dtype=Bj.dtype), -1)
    sampled = np.int64(0)
    direct = np.int64(0)
    for i in range(0, n_row, step):
        f = flops[i]
        if f == 0:
            continue
        bits = _table_bits(f)
        mask = (np.int64(1) << bits) - 1
        shift = 64 - bits
        cnt = np.int64(0)
        for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
            k = _u(Aj[jj])
            for kk in range(_u(Bp[k]), _u(Bp[k + 1])):
                j = Bj[kk]
                h = _u(_table_slot(keys, j, shift, mask))
                if keys[h] == -1:
                    keys[h] = j
                    cnt += 1
        keys[: mask + 1] = -1
        sampled += f
        if cnt == f:
            direct += f
    return sampled, direct


def onepass_spgemm(n_col: int, Ap: np.ndarray, Aj: np.ndarray, Ax: np.ndarray, Bp: np.ndarray,
                   Bj: np.ndarray, Bx: np.ndarray, flops: np.ndarray, *, b_canonical: bool,
                   dense_ratio: int, spa_max_cols: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unsorted C = A @ B in one pass, given the products of every row.

    Parameters
    ----------
    n_col : int
        Columns of C.
    Ap, Aj, Ax, Bp, Bj, Bx : ndarray
        CSR arrays of A and B, as :func:`spgemm.csr_spgemm` takes them.
    flops : ndarray of int64
        Partial products of every row of C; none may be split (heavy).
    b_canonical : bool
        As :func:`spgemm.csr_spgemm`.
    dense_ratio, spa_max_cols : int
        ``spgemm``'s accumulator thresholds for the call.

    Returns
    -------
    Cp, Cj, Cx : ndarray
        CSR arrays of C, rows in first-appearance order; int32 indices while
        the products and ``n_col`` fit (as spgemm's: nnz(C) <= products),
        else int64.
    """
    total = int(flops.sum())
    n_row = flops.shape[0]
    idx = get_index_dtype(maxval=max(total, int(n_col)))
    # NumPy's arrays, not the kernel's: malloc reuses their memory from call
    # to call, where arrays the kernel allocated were often faulted in anew
    # (on this VM 1.5-3 us a page: 2.5x the time of a whole product)
    Tj = np.empty(total, dtype=idx)
    Tx = np.empty(total, dtype=Ax.dtype)
    row_nnz = np.empty(n_row, dtype=np.int64)
    args = (int(n_col), Ap, Aj, Ax, Bp, Bj, Bx, flops, bool(b_canonical), np.int64(dense_ratio),
            np.int64(spa_max_cols), row_nnz, Tj, Tx)
    with threads_or_serial(work=total + n_row) as nt:
        bounds = balanced_chunks(flops, nt)
        if nt == 1:  # no parallel region; one region, from the start
            _block(bounds, np.int64(0), np.int64(bounds.shape[0] - 1), np.int64(0), *args)
        else:
            starts = _region_starts(bounds, np.int64(nt), flops)
            ends = np.empty(nt, dtype=np.int64)
            _parallel(bounds, starts, *args, ends)
        Cp = np.empty(n_row + 1, dtype=idx)
        Cp[0] = 0
        if n_row:
            np.cumsum(row_nnz, dtype=idx, out=Cp[1:])
        nnz = int(Cp[-1])
        Cj = np.empty(nnz, dtype=idx)
        Cx = np.empty(nnz, dtype=Ax.dtype)
        if nt == 1:
            Cj[:] = Tj[:nnz]
            Cx[:] = Tx[:nnz]
        else:
            _gather(bounds, starts, ends, Cp, Tj, Tx, Cj, Cx)
    return Cp, Cj, Cx


@jit(parallel=True)
def _gather(bounds, starts, ends, Cp, Tj, Tx, Cj, Cx):
    """C from the blocks' regions ``starts[t]:ends[t]`` of the scratch."""
    nblocks = ends.shape[0]
    nchunks = bounds.shape[0] - 1
    for t in prange(nblocks):
        dst = _u(Cp[bounds[t * nchunks // nblocks]])
        src = _u(starts[t])
        for q in range(_u(ends[t]) - src):
            Cj[dst + q] = Tj[src + q]
            Cx[dst + q] = Tx[src + q]

