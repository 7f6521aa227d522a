"""Sparse x sparse product C = A @ B on CSR arrays (row-wise Gustavson).

The product runs in three passes over the rows of A, all parallel:

1. *flops*: ``flops[i] = sum(nnz(B[k, :]) for k in A[i, :])`` (int64), the
   number of partial products of row ``i``. A prefix sum of ``flops + 1``
   splits the rows into ``CHUNKS_PER_THREAD * threads`` chunks of equal work,
   so rows of very different cost still give every thread the same share.
   Each thread runs a block of consecutive chunks and allocates its scratch
   once. A row with more products than a chunk (and at least as many as C
   has columns) is taken out of the partition and split across threads by
   ``spgemm_heavy.py``: the passes here see it as empty.
2. *symbolic*: each row's distinct columns are counted with the thread's
   accumulator, sized for its largest row: an open-addressing hash table
   (next power of two >= 2 * flops slots, Fibonacci hash, linear probing),
   or a column-indexed stamp array when the row hits a large fraction of
   the columns or its chunk has many products and few columns. That
   gives the exact nnz of every row, so C is allocated once, with int32
   indices while nnz(C) and n_col fit and int64 otherwise.
3. *numeric*: per row, the cheapest accumulator that fits (see
   ``_numeric_mode``) sums the partial products straight into C; each row is
   sorted only when ``sort_indices`` asks.

When B is large and A names its rows in scattered order (random and
power-law graphs), both passes prefetch the rows of B a few entries of A
ahead (``PREFETCH_DIST``), in their own compiled variants.

Small unsorted products whose rows repeat their columns skip the symbolic
pass: ``spgemm_onepass.py``.

Entries that cancel to zero numerically are kept (GraphBLAS/MKL semantics):
the structure of C depends only on the structures of A and B.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ..._sputils import INT32_MAX, get_index_dtype
from . import _jit
from ._jit import bind_globals, jit, threads, threads_or_serial
from ._prefetch import prefetch, worth_prefetching
from .spgemm_heavy import (
    heavy_count,
    heavy_numeric,
    heavy_parts,
    heavy_rows,
    no_exclusion,
)

__all__ = ["balanced_chunks", "csr_spgemm", "spgemm_index_dtype", "spgemm_row_nnz"]

#: Chunks per thread in the row partition. Numba's ``prange`` schedule is
#: static (each thread runs one range of consecutive iterations), so a
#: thread's chunks run as one block with one set of scratch arrays, and do
#: not even out load beyond equal flops. They set the granularity of the
#: accumulator choice: a chunk takes the column-indexed SPA only when it has
#: >= n_col products, so a sparse stretch of rows keeps its hash tables.
CHUNKS_PER_THREAD = 4

#: A row counts as *dense* when ``DENSE_RATIO * flops >= n_col``: its hash
#: table would hold next_pow2(2 * flops) >= n_col / 2 slots, as large as a
#: column-indexed array, so hashing keeps no cache advantage and only adds
#: probing. Dense rows use a column-indexed accumulator instead, emitted by a
#: branch-free in-order scan (sorted for free); its O(n_col) setup and scan
#: is <= DENSE_RATIO * flops, so the O(flops) bound holds, and no chunk
#: allocates a column-indexed array for rows much smaller than n_col (a
#: 2**31-column B with few products allocates nothing large).
DENSE_RATIO = 4
#: The same threshold when ``sort_indices`` is set: the scan (about 1 ns a
#: column) then replaces accumulate-then-sort (about 3 ns a product plus
#: 10-20 ns a sorted entry), which pays for scanning more columns.
DENSE_RATIO_SORTED = 8
#: An unsorted dense row of an SPA chunk takes the SPA, not the branch-free
#: append, when its products hit each of its columns REPEAT_SPA times or
#: more on average (flops >= REPEAT_SPA * nnz): the SPA's branch on "new
#: column" is then predictable, and it stores once a product where the append
#: stores three times. dnn-n1024 A @ A (21 a column): 0.84-0.86x the time, 1
#: and 2 threads; rows repeating 4-17 times (pushpull, bcsstk13): 0.96-1.00x.
#: The symbolic pass stamps with a branch, for the same reason, while the
#: previous stamped row repeated its columns that much (dnn: another 0.86x).
REPEAT_SPA = 16
#: A chunk accumulates *every* row in a column-indexed array (SciPy's SPA:
#: no hashing, direct addressing) when n_col <= SPA_MAX_COLS, i.e. the int64
#: array takes at most 8 MiB a thread, and the chunk has >= n_col
#: products to amortise filling it. It was faster than hashing in our runs
#: even for ~1e6 random columns (misses on the rows of B dominate both), and
#: much faster on banded matrices (2-D Poisson) where it stays in cache.
SPA_MAX_COLS = 1 << 20
#: With ``sort_indices``, rows of an SPA chunk up to this long take the SPA
#: with positions in C and are then sorted as pairs (:func:`_sort_rows`);
#: longer ones the branch-free append, whose column list is sorted alone.
#: Numeric pass, one thread, sorted, this rule / every row appended:
#: Poisson 1000^2 (13 a row) 0.6, Erdos-Renyi 2^16 (256 a row) 0.7, R-MAT
#: 14 0.9 (about as fast with 32 as with 256, slower with 1024 and more).
SORT_SPA_MAX = 256
#: When B is large and A's entries name its rows in scattered order (see
#: ``_prefetch.worth_prefetching``), both passes prefetch the row of B that
#: the entry PREFETCH_DIST ahead will read, and the row pointer of the one
#: twice as far. Erdos-Renyi 2**16, one thread, these kernels with and
#: without: symbolic pass 0.29-0.65x the time, numeric 0.66-0.95x (three
#: runs); forced on for Poisson (rows read in order) 1.01x and 1.16x.
PREFETCH_DIST = 8
# The kernels prefetch inline, not through an inlined helper: with the same
# code in a helper (inline="always" or not) the Poisson passes ran 2-3x slower.
_PF1 = np.uint64(PREFETCH_DIST)
_PF2 = np.uint64(2 * PREFETCH_DIST)

# Fibonacci hashing: multiply by 2**64 / golden ratio and keep the top bits.
# Unlike ``j & mask`` it spreads strided column patterns (j = c * 2**b).
_HASH_MUL = np.uint64(0x9E3779B97F4A7C15)

# Index through unsigned values: Numba must otherwise treat every signed index
# as possibly negative (wraparound); that made index-heavy loops up to 2x
# slower. Only ever used for indexing, never in arithmetic with signed ints.
_u = np.uint64

#: Sorting a row of C (only with ``sort_indices``). Rows up to this long:
#: insertion sort. Longer rows in first-appearance order (they are made of
#: sorted runs of B's rows, often nearly sorted): insertion sort up to
#: ORDERED_INSERTION_MAX entries, and above it insertion sort with a budget
#: of n/4 moves (a 2n budget spent 5 ns an entry on Erdos-Renyi rows, whose
#: 16 runs interleave, before giving up). Other rows up to RANK_MAX: rank
#: sort. Otherwise one bucketing pass on the row's column range followed by
#: insertion sort (linear for spread-out columns), or, when the columns
#: cluster, an LSD radix sort (8 bits a pass). These avoid comparison sorts,
#: whose mispredictions (about one per element on hashed order) made
#: introsort 2-5x slower than radix on rows of 32..1024 entries.
INSERTION_MAX = 12
#: Rows in first-appearance order (see ``_first_appearance``) up to this long
#: take insertion sort without a budget: at most ORDERED_INSERTION_MAX**2 / 4
#: moves, and Poisson's rows (13 entries, 0.4 inversions an entry) need
#: about one compare an entry.
ORDERED_INSERTION_MAX = 32
#: Other rows up to this long take a rank sort (each key's rank counted by
#: comparing it with every other, n**2 branch-free compares that vectorise):
#: 8-14 ns an entry on hashed rows of 13..24 entries, against 16-21 for
#: insertion sort and 16-23 for the radix sort with its 256-entry counts.
RANK_MAX = 24
#: Rows of C wait in batches of this many before :func:`_sort_rows` sorts
#: them, while they are still in cache. One call a row cost more than the
#: sort of a short row: Numba increments and decrements the reference count
#: of each array argument of a call (or of an inlined helper run under a
#: branch) that its reference-count pruning cannot pair up, atomic
#: operations that took about 50 ns a row (Poisson's sorted numeric pass ran
#: 2.8x its unsorted time, 1.6x with the sorts batched).
SORT_BATCH = 64
#: Rows spanning fewer columns than this take the radix sort (at most two
#: 8-bit passes) directly: 10 ns an entry against 13 for bucketing on
#: Erdos-Renyi rows of 256 entries over 2**16 columns.
RADIX_MAX_SPAN = 1 << 16


# --------------------------------------------------------------------------
# helpers (serial, called from the parallel kernels)
# --------------------------------------------------------------------------
@jit(inline="always")
def _table_bits(f):
    """log2 of the hash table size for a row with ``f`` partial products."""
    bits = 1
    while (np.int64(1) << bits) < 2 * f:
        bits += 1
    return bits


@jit(inline="always")
def _hash(j, shift):
    return np.int64((np.uint64(j) * _HASH_MUL) >> np.uint64(shift))


@jit(inline="always")
def _table_slot(keys, j, shift, mask):
    """Slot of key ``j`` in the open-addressing table ``keys`` (empty slots
    -1, ``mask + 1`` slots, Fibonacci hash, linear probing): where it is, or
    the empty slot where it goes (``keys[slot] == -1``)."""
    h = _hash(j, shift)
    while True:
        t = keys[_u(h)]
        if t == j or t == -1:
            return h
        h = (h + 1) & mask


@jit(inline="always")
def _insertion_sort_pairs(keys, vals, lo, hi):
    for i in range(lo + 1, hi):
        k = keys[i]
        v = vals[i]
        j = i - 1
        while j >= lo and keys[j] > k:
            keys[j + 1] = keys[j]
            vals[j + 1] = vals[j]
            j -= 1
        keys[j + 1] = k
        vals[j + 1] = v


@jit(inline="always")
def _radix_sort_pairs(keys, vals, start, end, kmin, span, tk, tv, count):
    """LSD radix sort of ``keys[start:end]`` on ``key - kmin`` (< 2**63), 8 bits a pass.

    Branch-free, unlike comparison sorts whose mispredictions dominate on
    rows of hashed (random) order. ``tk``, ``tv``: scratch of the row's
    length; ``count``: at least 256 int64.
    """
    n = end - start
    shift = 0
    in_main = True
    while (span >> shift) > 0:
        count[:256] = 0
        if in_main:
            for p in range(_u(start), _u(end)):
                count[_u(((np.int64(keys[p]) - kmin) >> shift) & 255)] += 1
        else:
            for p in range(n):
                count[_u(((np.int64(tk[p]) - kmin) >> shift) & 255)] += 1
        total = np.int64(0)
        for d in range(256):
            c = count[d]
            count[d] = total
            total += c
        if in_main:
            for p in range(_u(start), _u(end)):
                d = _u(((np.int64(keys[p]) - kmin) >> shift) & 255)
                q = _u(count[d])
                count[d] += 1
                tk[q] = keys[p]
                tv[q] = vals[p]
        else:
            for p in range(n):
                d = _u(((np.int64(tk[p]) - kmin) >> shift) & 255)
                q = _u(start + count[d])
                count[d] += 1
                keys[q] = tk[p]
                vals[q] = tv[p]
        in_main = not in_main
        shift += 8
    if not in_main:
        for p in range(n):
            keys[_u(start + p)] = tk[p]
            vals[_u(start + p)] = tv[p]


@jit(inline="always")
def _bucket_sort_pairs(keys, vals, start, end, kmin, span, tk, tv, count):
    """Sort ``keys[start:end]`` by one counting pass into 2n..4n buckets on the
    top bits of ``key - kmin``, then insertion sort of the nearly sorted result.

    Linear when the columns are spread out; returns False (row untouched) when
    the buckets are so uneven (sum of squared sizes > 4n) that the insertion
    sort would not be. ``count``: at least 4n int64.
    """
    n = end - start
    b = _table_bits(n)
    span_bits = 0
    while (span >> span_bits) > 0:
        span_bits += 1
    shift = max(0, span_bits - b)
    nb = (span >> shift) + 1
    count[:nb] = 0
    for p in range(_u(start), _u(end)):
        count[_u((np.int64(keys[p]) - kmin) >> shift)] += 1
    sq = np.int64(0)
    for d in range(nb):
        sq += count[d] * count[d]
    if sq > 4 * n:
        return False
    total = np.int64(0)
    for d in range(nb):
        c = count[d]
        count[d] = total
        total += c
    for p in range(_u(start), _u(end)):
        d = _u((np.int64(keys[p]) - kmin) >> shift)
        q = _u(count[d])
        count[d] += 1
        tk[q] = keys[p]
        tv[q] = vals[p]
    _insertion_sort_pairs(tk, tv, 0, n)
    for p in range(n):
        keys[_u(start + p)] = tk[p]
        vals[_u(start + p)] = tv[p]
    return True


@jit(inline="always")
def _insertion_sort_budget(keys, vals, lo, hi, budget):
    """Insertion sort that gives up once it has made more than ``budget``
    element moves (checked after each element, so at most ``budget + n``).

    Returns False when it gives up; ``keys[lo:hi]`` is then still a
    permutation of its input, so another sort can take over. Rows in
    first-appearance order from a canonical B are concatenations of sorted
    runs, often nearly sorted: this finishes them in about n steps. The check
    stays out of the inner loop, which ran 1.7x slower with it there.
    """
    moves = np.int64(0)
    for i in range(lo + 1, hi):
        k = keys[i]
        v = vals[i]
        j = i - 1
        while j >= lo and keys[j] > k:
            keys[j + 1] = keys[j]
            vals[j + 1] = vals[j]
            j -= 1
        keys[j + 1] = k
        vals[j + 1] = v
        moves += i - 1 - j
        if moves > budget:
            return False
    return True


@jit
def _sort_row(keys, vals, start, end, kmin, kmax, tk, tv, count, maybe_ordered):
    """Sort one row of C (distinct columns in ``[kmin, kmax]``) by column.

    ``maybe_ordered``: the row is in first-appearance order (not hashed), so
    a budgeted insertion sort is tried first.
    """
    n = end - start
    if n <= INSERTION_MAX:
        _insertion_sort_pairs(keys, vals, start, end)
    elif maybe_ordered and _insertion_sort_budget(keys, vals, start, end, n // 4):
        return
    elif kmax - kmin < RADIX_MAX_SPAN or not _bucket_sort_pairs(
            keys, vals, start, end, kmin, kmax - kmin, tk, tv, count):
        _radix_sort_pairs(keys, vals, start, end, kmin, kmax - kmin, tk, tv, count)


@jit
def _rank_sort_pairs(keys, vals, start, end, tk, tv):
    """Sort ``keys[start:end]`` (distinct) by rank: each key's place is the
    number of keys below it. ``tk``, ``tv``: scratch of the row's length."""
    n = end - start
    for a in range(n):
        k = keys[start + a]
        r = 0
        for b in range(n):
            r += keys[start + b] < k
        tk[r] = k
        tv[r] = vals[start + a]
    for p in range(n):
        keys[start + p] = tk[p]
        vals[start + p] = tv[p]


@jit
def _sort_rows(rows, nrows, ordered, Cp, Cj, Cx, tk, tv, count):
    """Sort rows ``rows[:nrows]`` of C (CSR arrays ``Cp, Cj, Cx``) by column.

    ``ordered[r]``: row ``rows[r]`` is in first-appearance order (see
    :func:`_first_appearance`). Short rows are sorted here; longer ones by
    :func:`_sort_row`. ``tk``, ``tv``: scratch of the longest row's length
    (at least RANK_MAX); ``count``: as :func:`_sort_row` needs.
    """
    for r in range(nrows):
        i = rows[r]
        start = np.int64(Cp[i])
        end = np.int64(Cp[i + 1])
        n = end - start
        if n <= INSERTION_MAX or (ordered[r] and n <= ORDERED_INSERTION_MAX):
            _insertion_sort_pairs(Cj, Cx, start, end)
        elif n <= RANK_MAX:
            _rank_sort_pairs(Cj, Cx, start, end, tk, tv)
        else:
            kmin = np.int64(Cj[start])
            kmax = kmin
            for q in range(start, end):
                kmin = min(kmin, np.int64(Cj[q]))
                kmax = max(kmax, np.int64(Cj[q]))
            _sort_row(Cj, Cx, start, end, kmin, kmax, tk, tv, count, ordered[r])


#: Sorted output from the column-indexed accumulator: scan the row's column
#: range when it spans at most SCAN_RATIO * nnz columns (about 1 ns a
#: column, branch-free), else radix-sort the column list (keys only: values
#: stay in the accumulator and are gathered in order afterwards).
SCAN_RATIO = 6


# not inline="always": copying its IR into the numeric kernel cost more
# (Numba's inliner deep-copies every block) than compiling it on its own
@jit
def _sort_keys(keys, n, kmin, span, tmp, count):
    """Sort ``keys[:n]`` (distinct, in ``[kmin, kmin + span]``) in place.

    Insertion sort for short lists; otherwise an LSD radix sort on
    ``key - kmin`` with digits of about log2(n) bits (4..11), so each pass
    costs O(n) and the count array stays small. ``tmp``: >= n scratch of the
    keys' dtype; ``count``: >= 2048 int64.
    """
    if n <= 16:
        for i in range(1, n):
            k = keys[i]
            j = i - 1
            while j >= 0 and keys[j] > k:
                keys[j + 1] = keys[j]
                j -= 1
            keys[j + 1] = k
        return
    bits = 4
    while bits < 11 and (np.int64(1) << (bits + 1)) <= n:
        bits += 1
    nd = np.int64(1) << bits
    mask = nd - 1
    shift = 0
    src_is_keys = True
    while (span >> shift) > 0:
        count[:nd] = 0
        if src_is_keys:
            for p in range(_u(n)):
                count[_u(((np.int64(keys[p]) - kmin) >> shift) & mask)] += 1
        else:
            for p in range(_u(n)):
                count[_u(((np.int64(tmp[p]) - kmin) >> shift) & mask)] += 1
        total = np.int64(0)
        for d in range(nd):
            c = count[d]
            count[d] = total
            total += c
        if src_is_keys:
            for p in range(_u(n)):
                d = _u(((np.int64(keys[p]) - kmin) >> shift) & mask)
                tmp[_u(count[d])] = keys[p]
                count[d] += 1
        else:
            for p in range(_u(n)):
                d = _u(((np.int64(tmp[p]) - kmin) >> shift) & mask)
                keys[_u(count[d])] = tmp[p]
                count[d] += 1
        src_is_keys = not src_is_keys
        shift += bits
    if not src_is_keys:
        for p in range(_u(n)):
            keys[p] = tmp[p]


@jit(inline="always")
def _scan_emit(acc, seen, kmin, start, end, Cj, Cx):
    """Emit a row from the column-indexed accumulator in column order,
    resetting ``acc`` and ``seen`` as it goes. Branch-free: every column from
    ``kmin`` on is written at ``p``, which advances only past columns seen;
    the loop ends at the row's last column, so ``p`` never leaves the row."""
    p = start
    j = kmin
    while p < end:
        hit = seen[_u(j)]
        Cj[_u(p)] = j
        Cx[_u(p)] = acc[_u(j)]
        acc[_u(j)] = 0
        seen[_u(j)] = 0
        p += np.int64(hit)
        j += 1


@jit(inline="always")
def _filled(a, value):
    """``a`` with every element set to ``value``: ``np.full``/``np.zeros``
    without their own compiled implementations (each is two more compiles
    per dtype on a cold cache; only ``np.empty``'s remain). The loop is a
    memset, as theirs is."""
    for q in range(_u(a.shape[0])):
        a[q] = value
    return a


@jit(inline="always")
def _is_copy_row(f, anz, b_canonical):
    """Row whose partial products are known distinct without hashing."""
    return f == 1 or (b_canonical and anz == 1)


# --------------------------------------------------------------------------
# pass 1: flops per row
# --------------------------------------------------------------------------
@jit(inline="always")
def _flops_of_row(Ap, Aj, Bp, i):
    f = np.int64(0)
    for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
        k = _u(Aj[jj])
        f += np.int64(Bp[k + 1]) - np.int64(Bp[k])
    return f


@jit
def _row_flops_serial(Ap, Aj, Bp, flops):
    for i in range(flops.shape[0]):
        flops[i] = _flops_of_row(Ap, Aj, Bp, i)


@jit(parallel=True)
def _row_flops(Ap, Aj, Bp, flops):
    for i in prange(flops.shape[0]):
        flops[i] = _flops_of_row(Ap, Aj, Bp, i)


@jit
def _chunk_bounds(cost, bounds):
    """Fill ``bounds[1:-1]``: chunk ``c`` ends after the first row where the
    running sum of ``cost + 1`` reaches ``c * total // nchunks``. Two passes,
    no temporaries (NumPy's cumsum and searchsorted took two 8 MB arrays and
    1.4 ms on a 10**6-row Poisson product)."""
    n_row = cost.shape[0]
    nchunks = bounds.shape[0] - 1
    total = np.int64(n_row)
    for i in range(n_row):
        total += cost[i]
    c = 1
    target = total // nchunks
    run = np.int64(0)
    for i in range(n_row):
        run += cost[i] + 1
        while c < nchunks and run >= target:
            bounds[c] = i + 1
            c += 1
            target = (c * total) // nchunks


def balanced_chunks(cost: np.ndarray, nthreads: int) -> np.ndarray:
    """Row bounds (int64) of ``CHUNKS_PER_THREAD * nthreads`` chunks of equal
    ``cost + 1`` (a row costs something even when it has no work).

    Parameters
    ----------
    cost : ndarray of int64, shape (n_row,)
        Work estimate of every row (flops for SpGEMM).
    nthreads : int
        Threads that will run the chunks.

    Returns
    -------
    ndarray of int64, shape (n_chunks + 1,)
        Nondecreasing bounds, ``bounds[0] == 0``, ``bounds[-1] == n_row``.
    """
    n_row = cost.shape[0]
    nchunks = max(1, min(n_row, CHUNKS_PER_THREAD * nthreads))
    bounds = np.empty(nchunks + 1, dtype=np.int64)
    bounds[0] = 0
    bounds[-1] = n_row
    if nchunks > 1:
        _chunk_bounds(cost, bounds)
    return bounds


def _row_flops_on(n_row, Ap, Aj, Bp, nthreads):
    """Flops per row on ``nthreads`` threads (the serial kernel for one: no
    parallel region)."""
    flops = np.empty(n_row, dtype=np.int64)
    (_row_flops_serial if nthreads == 1 else _row_flops)(Ap, Aj, Bp, flops)
    return flops


def _row_flops_threaded(n_row, Ap, Aj, Bp):
    """Flops per row, on one thread (no parallel region) for small A."""
    with threads_or_serial(work=int(Aj.shape[0]) + n_row) as nt:
        return _row_flops_on(n_row, Ap, Aj, Bp, nt)


# --------------------------------------------------------------------------
# pass 2: symbolic
# --------------------------------------------------------------------------
@jit(inline="always")
def _use_spa(r0, r1, n_col, flops, spa_max_cols):
    """Whether a chunk accumulates all its rows in a column-indexed (SPA)
    array: n_col is at most ``spa_max_cols`` and the chunk has enough
    products to amortise filling the array."""
    if n_col > spa_max_cols:
        return False
    total = np.int64(0)
    for i in range(r0, r1):
        total += flops[i]
    return total >= n_col


def _make_symbolic(prefetch_b):
    """The symbolic pass (block, parallel), with or without prefetching the
    rows of B (see PREFETCH_DIST). ``prefetch_b`` is a closure constant, as
    ``sort_indices`` of :func:`_make_numeric`: the prefetch code, even never
    run, made the pass 1.2-2x slower on Poisson, so the kernel that does not
    prefetch compiles none of it."""

    @jit
    def block(bounds, c0, c1, n_col, Ap, Aj, Bp, Bj, flops, b_canonical, dense_ratio,
              spa_max_cols, row_nnz):
        """Symbolic pass over chunks ``c0..c1`` of ``bounds`` (one thread's
        share), with its scratch allocated once, sized for the largest row."""
        if prefetch_b:  # (set only here: even unused, it cost time)
            pf_end = _u(Ap[bounds[c1]])  # prefetch no further than the block's entries
        max_hash = np.int64(0)
        any_stamp = False
        spas = np.empty(c1 - c0, dtype=np.bool_)
        for c in range(c0, c1):
            spa = _use_spa(bounds[c], bounds[c + 1], n_col, flops, spa_max_cols)
            spas[c - c0] = spa
            for i in range(bounds[c], bounds[c + 1]):
                f = flops[i]
                if f == 0 or _is_copy_row(f, Ap[i + 1] - Ap[i], b_canonical):
                    continue
                if spa or dense_ratio * f >= n_col:
                    any_stamp = True
                else:
                    max_hash = max(max_hash, f)
        size = (np.int64(1) << _table_bits(max_hash)) if max_hash > 0 else 0
        keys = _filled(np.empty(size, dtype=Bj.dtype), -1)
        # stamp[j] == i: column j already counted in row i (rows only grow along
        # the block, so it is never reset)
        stamp = _filled(np.empty(n_col if any_stamp else 0, dtype=np.int64), -1)

        repeats = False  # the last stamped row hit its columns REPEAT_SPA+ times
        for c in range(c0, c1):
            spa = spas[c - c0]
            for i in range(bounds[c], bounds[c + 1]):
                f = flops[i]
                if f == 0 or _is_copy_row(f, Ap[i + 1] - Ap[i], b_canonical):
                    row_nnz[i] = f
                    continue
                cnt = np.int64(0)
                if spa or dense_ratio * f >= n_col:
                    if repeats:
                        # few new columns: the branch is predictable and saves
                        # the store of every repeat
                        for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                            if prefetch_b and jj + _PF2 < pf_end:
                                prefetch(Bp, Aj[jj + _PF2])
                                prefetch(Bj, Bp[_u(Aj[jj + _PF1])])
                            k = _u(Aj[jj])
                            for kk in range(_u(Bp[k]), _u(Bp[k + 1])):
                                j = Bj[kk]
                                if stamp[_u(j)] != i:
                                    stamp[_u(j)] = i
                                    cnt += 1
                    else:
                        # branch-free: whether j is new is unpredictable, a
                        # branch on it would mispredict often
                        for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                            if prefetch_b and jj + _PF2 < pf_end:
                                prefetch(Bp, Aj[jj + _PF2])
                                prefetch(Bj, Bp[_u(Aj[jj + _PF1])])
                            k = _u(Aj[jj])
                            for kk in range(_u(Bp[k]), _u(Bp[k + 1])):
                                j = Bj[kk]
                                cnt += stamp[_u(j)] != i
                                stamp[_u(j)] = i
                    repeats = REPEAT_SPA * cnt <= f
                else:
                    bits = _table_bits(f)
                    mask = (np.int64(1) << bits) - 1
                    shift = 64 - bits
                    for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                        if prefetch_b and jj + _PF2 < pf_end:
                            prefetch(Bp, Aj[jj + _PF2])
                            prefetch(Bj, Bp[_u(Aj[jj + _PF1])])
                        k = _u(Aj[jj])
                        for kk in range(_u(Bp[k]), _u(Bp[k + 1])):
                            j = Bj[kk]
                            h = _u(_table_slot(keys, j, shift, mask))
                            if keys[h] == -1:
                                keys[h] = j
                                cnt += 1
                    keys[: mask + 1] = -1
                row_nnz[i] = cnt

    def parallel(bounds, nblocks, n_col, Ap, Aj, Bp, Bj, flops, b_canonical, dense_ratio,
                 spa_max_cols, row_nnz):
        nchunks = bounds.shape[0] - 1
        for t in prange(nblocks):
            _block(  # noqa: F821 -- a global, bound by bind_globals
                bounds, t * nchunks // nblocks, (t + 1) * nchunks // nblocks, n_col, Ap, Aj, Bp, Bj,
                flops, b_canonical, dense_ratio, spa_max_cols, row_nnz)

    return block, jit(bind_globals(parallel, f"pf{int(prefetch_b)}", _block=block),
                      parallel=True)


#: The symbolic kernels (block, parallel) by ``prefetch_b``.
_SYMBOLIC = {False: _make_symbolic(False), True: _make_symbolic(True)}
_symbolic_block = _SYMBOLIC[False][0]  # the small-product path's


@jit
def _small_count(n_col, Ap, Aj, Bp, Bj, Ax, b_canonical, dense_ratio, spa_max_cols, max_work):
    """Flops, symbolic pass and C's allocation in one call, for a product that
    runs as one chunk on one thread (flops + rows < ``max_work``).

    One kernel dispatch instead of two plus the NumPy steps between them
    (partition, prefix sum, index dtype, allocation), which were half the
    time of a product of small matrices. The numeric block is not called
    from here: a caller re-optimises the code of every kernel it calls when
    it is compiled, and that one is the largest. Returns (flops, bounds, Cp,
    Cj, Cx), ``bounds`` of the one chunk, with an empty Cp when the product
    is too big (the caller then goes on with these flops). Indices are
    int32: nnz(C) <= flops < ``max_work``, and the caller checks that
    ``n_col`` fits, as :func:`spgemm_index_dtype` would choose.
    """
    n_row = Ap.shape[0] - 1
    flops = np.empty(n_row, dtype=np.int64)
    # one chunk: rows 0..n_row
    bounds = np.empty(2, dtype=np.int64)
    bounds[0] = 0
    bounds[1] = n_row
    work = np.int64(n_row)
    for i in range(n_row):
        flops[i] = _flops_of_row(Ap, Aj, Bp, i)
        work += flops[i]
    if work >= max_work:
        none = np.empty(0, dtype=np.int32)
        return flops, bounds, none, none, np.empty(0, dtype=Ax.dtype)
    row_nnz = np.empty(n_row, dtype=np.int64)
    # variables, not literals: a literal argument would compile another
    # signature of the symbolic block kernel
    c0 = np.int64(0)
    c1 = np.int64(1)
    _symbolic_block(bounds, c0, c1, n_col, Ap, Aj, Bp, Bj, flops, b_canonical, dense_ratio,
                    spa_max_cols, row_nnz)
    Cp = np.empty(n_row + 1, dtype=np.int32)
    Cp[0] = 0
    for i in range(n_row):
        Cp[i + 1] = Cp[i] + row_nnz[i]
    return (flops, bounds, Cp, np.empty(Cp[n_row], dtype=np.int32),
            np.empty(Cp[n_row], dtype=Ax.dtype))


# --------------------------------------------------------------------------
# pass 3: numeric
# --------------------------------------------------------------------------
# How a row of C is accumulated (numeric phase).
_EMPTY, _DIRECT, _APPEND, _SPA, _HASH = 0, 1, 2, 3, 4


@jit(inline="always")
def _numeric_mode(f, nnz, single, n_col, dense_ratio, spa, sort_indices):
    if f == 0:
        return _EMPTY
    # nnz == flops: no repeated column, products go straight to C (and are
    # sorted there when asked; dense rows sort cheaper by column scan). Copy
    # rows (f == 1, single) must go there: no accumulator is sized for them.
    if nnz == f and (single or f == 1 or not (sort_indices and dense_ratio * f >= n_col)):
        return _DIRECT
    # Column-indexed accumulator with branch-free append: for dense rows, and
    # for all rows when sorting (keys are then sorted without their values).
    if dense_ratio * f >= n_col or (spa and sort_indices and nnz > SORT_SPA_MAX):
        # ... unless the row repeats its columns so much that the SPA's branch
        # is predictable; not for rows _APPEND emits by scan, so the row
        # comes in the same order (first appearance) in either accumulator
        if spa and not sort_indices and REPEAT_SPA * nnz <= f and n_col > 2 * nnz:
            return _SPA
        return _APPEND
    # Unsorted sparse rows: SPA with positions in C. Its branch on "new
    # column" is predictable on mesh-like rows, where it beat _APPEND.
    if spa:
        return _SPA
    return _HASH


@jit(inline="always")
def _first_appearance(mode, anz):
    """Whether a row is left in first-appearance (not hashed) order, made of
    at most a few sorted runs when it comes straight from B's rows: a
    budgeted insertion sort is then tried first (:func:`_sort_rows`)."""
    return mode == _SPA or (mode == _DIRECT and anz <= 4)


def _make_numeric(sort_indices, prefetch_b):
    """The numeric pass for one value of ``sort_indices`` and of ``prefetch_b``
    (see :func:`_make_symbolic`): (block, parallel).

    ``sort_indices`` is a closure constant, not an argument: Numba prunes the
    branches on it before typing, so the unsorted kernel compiles none of the
    sort code, and each variant is cached under its own key (Numba's cache
    key includes the closure's values).

    A block (one thread's chunks, see :func:`_blocks`) labels each row with
    its accumulator (``_numeric_mode``), allocates each accumulator once, then
    runs one loop over its rows per label present. In a single loop with a
    branch per row, the arrays of every accumulator stayed live through each
    inner loop and LLVM spilled the data pointers: the hash probe reloaded
    four from the stack per product. Separate loops made the unsorted
    numeric pass 11-33% faster on Poisson (one thread; Erdos-Renyi and
    R-MAT within noise); separate functions were as fast but compiled
    seconds longer.
    """

    @jit
    def block(bounds, c0, c1, n_col, Ap, Aj, Ax, Bp, Bj, Bx, flops, Cp, Cj, Cx, b_canonical,
              dense_ratio, spa_max_cols):
        r0 = bounds[c0]
        r1 = bounds[c1]
        if prefetch_b:
            pf_end = _u(Ap[r1])  # prefetch no further than the block's entries
        # label the rows (the SPA is chosen per chunk) and size the
        # accumulators and sort scratch once for the block's largest row
        modes = np.empty(r1 - r0, dtype=np.uint8)
        max_hash = np.int64(0)
        max_sort = np.int64(0)
        max_append = np.int64(-1)
        n_direct = 0
        n_spa = 0
        for c in range(c0, c1):
            spa = _use_spa(bounds[c], bounds[c + 1], n_col, flops, spa_max_cols)
            for i in range(bounds[c], bounds[c + 1]):
                f = flops[i]
                nnz = np.int64(Cp[i + 1] - Cp[i])
                mode = _numeric_mode(f, nnz, b_canonical and Ap[i + 1] - Ap[i] == 1, n_col,
                                     dense_ratio, spa, sort_indices)
                modes[i - r0] = mode
                if mode == _DIRECT:
                    n_direct += 1
                elif mode == _APPEND:
                    max_append = max(max_append, nnz)
                elif mode == _SPA:
                    n_spa += 1
                elif mode == _HASH:
                    max_hash = max(max_hash, f)
                if mode != _APPEND:
                    max_sort = max(max_sort, nnz)
        # sort scratch, and the rows waiting to be sorted (SORT_BATCH)
        ns = max_sort if (sort_indices and max_sort > INSERTION_MAX) else 0
        tk = np.empty(ns, dtype=Cj.dtype)
        tv = np.empty(ns, dtype=Cx.dtype)
        count = np.empty(max(2048, 4 * ns) if sort_indices else 0, dtype=np.int64)
        pending = np.empty(SORT_BATCH if sort_indices else 0, dtype=np.int64)
        pend_ordered = np.empty(SORT_BATCH if sort_indices else 0, dtype=np.bool_)
        npend = 0

        # _DIRECT: no repeated column, the products go straight to C
        for i in range(r0 if n_direct else r1, r1):
            mode = modes[i - r0]
            if mode != _DIRECT:
                continue
            p = np.int64(Cp[i])
            for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                if prefetch_b and jj + _PF2 < pf_end:
                    prefetch(Bp, Aj[jj + _PF2])
                    prefetch(Bj, Bp[_u(Aj[jj + _PF1])])
                    prefetch(Bx, Bp[_u(Aj[jj + _PF1])])
                a = Ax[jj]
                k = _u(Aj[jj])
                for kk in range(_u(Bp[k]), _u(Bp[k + 1])):
                    j = Bj[kk]
                    Cj[_u(p)] = j
                    Cx[_u(p)] = a * Bx[kk]
                    p += 1
            # a single row of a canonical B is sorted already
            anz = Ap[i + 1] - Ap[i]
            if sort_indices and not (b_canonical and anz == 1):
                pending[npend] = i
                pend_ordered[npend] = _first_appearance(mode, anz)
                npend += 1
                if npend == SORT_BATCH:
                    _sort_rows(pending, np.int64(npend), pend_ordered, Cp, Cj, Cx, tk, tv, count)
                    npend = 0
        if sort_indices and npend:
            _sort_rows(pending, np.int64(npend), pend_ordered, Cp, Cj, Cx, tk, tv, count)
            npend = 0

        # _APPEND: column-indexed accumulator (dense rows; every row of a SPA
        # chunk when sorting), kept all-zero between rows by the emission
        # that empties it; the column list has +1 slot: the append writes
        # one past the last
        nd = n_col if max_append >= 0 else 0
        seen = _filled(np.empty(nd, dtype=np.uint8), 0)
        acc = _filled(np.empty(nd, dtype=Cx.dtype), 0)
        lst = np.empty(max_append + 1, dtype=Cj.dtype)
        ltmp = np.empty(max_append + 1 if sort_indices else 0, dtype=Cj.dtype)
        for i in range(r0 if max_append >= 0 else r1, r1):
            if modes[i - r0] != _APPEND:
                continue
            start = np.int64(Cp[i])
            end = np.int64(Cp[i + 1])
            kmin = n_col
            kmax = np.int64(-1)
            if n_col <= (SCAN_RATIO if sort_indices else 2) * (end - start):
                # The row fills a good part of the columns: accumulate without a
                # column list and emit by a scan in column order (sorted for
                # free), cheaper than appending every product to a list.
                for jj in range(_u(Ap[i]), _u(Ap[i + 1])):
                    if prefetch_b and jj + _PF2 < pf_end:
                        prefetch(Bp, Aj[jj + _PF2])
                        prefetch(Bj, Bp[_u(Aj[jj + _PF1])])
                        prefetch(Bx, Bp[_u(Aj[jj + _PF1])])
                    a = Ax[jj]
                    k = _u(Aj[jj])
                    for kk in range(_u(Bp[k]), _u(Bp[k + 1])):
                        j = Bj[kk]
                        acc[_u(j)] += a * Bx[kk]
                        seen[_u(j)] = 1
                        kmin = min(kmin, np.int64(j))
                _scan_emit(acc, seen, kmin, start, end, Cj, Cx)
                continue
            # Branch-free append: whether a column is new is unpredictable
            # (R-MAT rows repeat ~60% of theirs), so the list slot is always
            # written and the count advances by "new".
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
                    acc[_u(j)] += a * Bx[kk]
                    lst[_u(n)] = j
                    n += np.int64(seen[_u(j)] ^ 1)
                    seen[_u(j)] = 1
            if sort_indices:
                for q in range(_u(n)):
                    kmin = min(kmin, np.int64(lst[q]))
                    kmax = max(kmax, np.int64(lst[q]))
            if sort_indices and kmax - kmin < SCAN_RATIO * n:
                _scan_emit(acc, seen, kmin, start, end, Cj, Cx)
                continue
            if sort_indices:
                _sort_keys(lst, n, kmin, kmax - kmin, ltmp, count)
            for q in range(_u(n)):
                j = lst[q]
                Cj[_u(start + q)] = j
                Cx[_u(start + q)] = acc[_u(j)]
                acc[_u(j)] = 0
                seen[_u(j)] = 0

        # _SPA with positions in C: mark[j] = position of column j in C, and
        # mark[j] >= the row's start means "seen in this row" (positions only
        # grow along the loop), so it is never reset. Its branch on "new
        # column" is predictable on mesh-like rows, where it beat _APPEND.
        mark = _filled(np.empty(n_col if n_spa else 0, dtype=np.int64), -1)
        for i in range(r0 if n_spa else r1, r1):
            mode = modes[i - r0]
            if mode != _SPA:
                continue
            start = np.int64(Cp[i])
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
                    q = mark[_u(j)]
                    if q >= start:
                        Cx[_u(q)] += a * Bx[kk]
                    else:
                        mark[_u(j)] = p
                        Cj[_u(p)] = j
                        Cx[_u(p)] = a * Bx[kk]
                        p += 1
            if sort_indices:
                pending[npend] = i
                pend_ordered[npend] = True
                npend += 1
                if npend == SORT_BATCH:
                    _sort_rows(pending, np.int64(npend), pend_ordered, Cp, Cj, Cx, tk, tv, count)
                    npend = 0
        if sort_indices and npend:
            _sort_rows(pending, np.int64(npend), pend_ordered, Cp, Cj, Cx, tk, tv, count)
            npend = 0

        # _HASH: open addressing; slot -> position of its column in C, where
        # the values are summed in place. Tables are sized by the row's flops,
        # as in the symbolic pass, not by its nnz in C: sized for nnz (load
        # <= 1/2) they probed more and were 5-16% slower (rows of 1000 flops
        # and 370-740 columns over 2**22, 1 and 2 threads).
        size = (np.int64(1) << _table_bits(max_hash)) if max_hash > 0 else 0
        keys = _filled(np.empty(size, dtype=Bj.dtype), -1)
        tpos = np.empty(size, dtype=np.int64)
        for i in range(r0 if max_hash > 0 else r1, r1):
            mode = modes[i - r0]
            if mode != _HASH:
                continue
            start = np.int64(Cp[i])
            bits = _table_bits(flops[i])
            mask = (np.int64(1) << bits) - 1
            shift = 64 - bits
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
                    h = _u(_table_slot(keys, j, shift, mask))
                    if keys[h] == j:
                        Cx[_u(tpos[h])] += a * Bx[kk]
                    else:
                        keys[h] = j
                        tpos[h] = p
                        Cj[_u(p)] = j
                        Cx[_u(p)] = a * Bx[kk]
                        p += 1
            keys[: mask + 1] = -1
            if sort_indices:
                pending[npend] = i
                pend_ordered[npend] = False
                npend += 1
                if npend == SORT_BATCH:
                    _sort_rows(pending, np.int64(npend), pend_ordered, Cp, Cj, Cx, tk, tv, count)
                    npend = 0
        if sort_indices and npend:
            _sort_rows(pending, np.int64(npend), pend_ordered, Cp, Cj, Cx, tk, tv, count)

    def parallel(bounds, nblocks, n_col, Ap, Aj, Ax, Bp, Bj, Bx, flops, Cp, Cj, Cx,
                 b_canonical, dense_ratio, spa_max_cols):
        nchunks = bounds.shape[0] - 1
        for t in prange(nblocks):
            _block(  # noqa: F821 -- a global, bound by bind_globals
                bounds, t * nchunks // nblocks, (t + 1) * nchunks // nblocks, n_col, Ap, Aj, Ax, Bp,
                Bj, Bx, flops, Cp, Cj, Cx, b_canonical, dense_ratio, spa_max_cols)

    variant = f"sort{int(sort_indices)}_pf{int(prefetch_b)}"
    return block, jit(bind_globals(parallel, variant, _block=block), parallel=True)


#: The numeric kernels (block, parallel) by ``(sort_indices, prefetch_b)``.
_NUMERIC = {(sort, pf): _make_numeric(sort, pf) for sort in (False, True) for pf in (False, True)}


# --------------------------------------------------------------------------
# public entry points
# --------------------------------------------------------------------------
def spgemm_index_dtype(row_nnz: np.ndarray, n_col: int) -> np.dtype:
    """Index dtype of C: int32 while nnz(C) and ``n_col`` fit in int32, else int64.

    Parameters
    ----------
    row_nnz : ndarray of int64
        Exact nnz of every row of C (from :func:`spgemm_row_nnz`).
    n_col : int
        Number of columns of C.

    Returns
    -------
    numpy.dtype
        ``int32`` or ``int64``.
    """
    total = int(np.sum(row_nnz, dtype=np.int64))
    return get_index_dtype(maxval=max(total, int(n_col)))


def spgemm_row_nnz(n_row: int, n_col: int, Ap: np.ndarray, Aj: np.ndarray, Bp: np.ndarray,
                   Bj: np.ndarray, *, b_canonical: bool = False) -> np.ndarray:
    """Symbolic phase of C = A @ B: the exact nnz of every row of C.

    Parameters
    ----------
    n_row, n_col : int
        Shape of C (rows of A, columns of B).
    Ap, Aj : ndarray
        CSR index arrays of A (``n_row x k``); columns may be unsorted or repeated.
    Bp, Bj : ndarray
        CSR index arrays of B (``k x n_col``), same index dtype as A's.
    b_canonical : bool
        B's rows are sorted and free of duplicates; a row of A with a single
        nonzero then has the nnz of the matching row of B, found in O(1).

    Returns
    -------
    ndarray of int64, shape (n_row,)
        Structural nnz per row (entries that cancel numerically count).
    """
    n_row = int(n_row)
    flops = _row_flops_threaded(n_row, Ap, Aj, Bp)
    with threads_or_serial(work=int(flops.sum()) + n_row) as nt:
        _, row_nnz = _count(n_row, int(n_col), Ap, Aj, Bp, Bj, flops, bool(b_canonical),
                            DENSE_RATIO, worth_prefetching(Ap, Aj, Bp.shape[0] - 1, Bj.nbytes), nt)
    return row_nnz


def _blocks(parallel, block, bounds, nt, *args):
    """Run the chunks of ``bounds`` as ``nt`` blocks of consecutive chunks,
    one a thread, each allocating its scratch once: ``parallel(bounds, nt,
    *args)``, or with one thread ``block(bounds, 0, nchunks, *args)`` without
    a parallel region (its launch cost more than a small product, and its
    first compile seconds more than the block's). The blocks are Numba's
    static schedule of the chunks made explicit. Results do not depend on
    ``nt``: the chunks only choose between accumulators that emit a row in
    the same order."""
    if nt > 1:
        parallel(bounds, np.int64(nt), *args)
    else:
        block(bounds, np.int64(0), np.int64(bounds.shape[0] - 1), *args)


def _count(n_row, n_col, Ap, Aj, Bp, Bj, flops, b_canonical, dense_ratio, prefetch_b, nt):
    """Row partition and symbolic pass on ``nt`` threads: (bounds, row_nnz)."""
    bounds = balanced_chunks(flops, nt)
    row_nnz = np.empty(n_row, dtype=np.int64)
    block, parallel = _SYMBOLIC[bool(prefetch_b)]
    _blocks(parallel, block, bounds, nt, n_col, Ap, Aj, Bp, Bj, flops, b_canonical,
            np.int64(dense_ratio), np.int64(SPA_MAX_COLS), row_nnz)
    return bounds, row_nnz


def csr_spgemm(n_row: int, n_col: int, Ap: np.ndarray, Aj: np.ndarray, Ax: np.ndarray,
               Bp: np.ndarray, Bj: np.ndarray, Bx: np.ndarray, *, sort_indices: bool = True,
               b_canonical: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """C = A @ B for CSR A (``n_row x k``) and CSR B (``k x n_col``).

    Parameters
    ----------
    n_row, n_col : int
        Shape of C.
    Ap, Aj, Ax : ndarray
        CSR arrays of A. Column indices may be unsorted and repeated
        (repeats are summed).
    Bp, Bj, Bx : ndarray
        CSR arrays of B, with the index dtype of A and the value dtype of ``Ax``
        (the caller casts both to the output dtype beforehand).
    sort_indices : bool
        Sort the columns of every row of C (SciPy's canonical order). Without
        it the order within a row is unspecified (first occurrence among the
        products, or ascending for rows that hit many columns or are split
        across threads), but the same for any thread count.
    b_canonical : bool
        B's rows are sorted and duplicate-free (enables the single-nonzero
        row shortcut: that row of C is a scaled copy of a row of B).

    Returns
    -------
    Cp, Cj, Cx : ndarray
        CSR arrays of C. Index dtype int32 while nnz(C) and ``n_col`` fit,
        else int64; value dtype ``Ax.dtype``. Rows have no repeated columns;
        numerically cancelled entries are kept as explicit zeros.

    Notes
    -----
    Inputs are never modified. Results do not depend on the thread count.
    """
    n_row = int(n_row)
    n_col = int(n_col)
    b_canonical = bool(b_canonical)
    dense_ratio = DENSE_RATIO_SORTED if sort_indices else DENSE_RATIO
    min_work = _jit.PARALLEL_MIN_WORK  # read now: tests lower it to force threads
    # spgemm_onepass imports this module's helpers: imported here, not above
    from . import spgemm_onepass as onepass

    if (not sort_indices and onepass.ONE_PASS_MAX_BYTES > 0 and Aj.shape[0] + n_row < min_work
            and n_col <= INT32_MAX):
        # flops on one thread, as _row_flops_threaded would, and the whole
        # product in the same call when it is small (spgemm_onepass.py)
        flops, Cp, Cj, Cx = onepass.small_onepass(n_col, Ap, Aj, Ax, Bp, Bj, Bx, b_canonical,
                                                  np.int64(dense_ratio), np.int64(SPA_MAX_COLS),
                                                  np.int64(min_work))
        if Cp.shape[0]:
            return Cp, Cj, Cx
    elif Aj.shape[0] + n_row < min_work and n_col <= INT32_MAX:
        # flops on one thread, as _row_flops_threaded would; the symbolic
        # pass and C's allocation in the same call when the product is small
        flops, bounds, Cp, Cj, Cx = _small_count(n_col, Ap, Aj, Bp, Bj, Ax, b_canonical,
                                                 np.int64(dense_ratio),
                                                 np.int64(SPA_MAX_COLS), np.int64(min_work))
        if Cp.shape[0]:
            if Cj.shape[0]:
                _NUMERIC[bool(sort_indices), False][0](
                    bounds, np.int64(0), np.int64(1), n_col, Ap, Aj, Ax, Bp, Bj, Bx, flops, Cp,
                    Cj, Cx, b_canonical, np.int64(dense_ratio), np.int64(SPA_MAX_COLS))
            return Cp, Cj, Cx
    else:
        flops = _row_flops_threaded(n_row, Ap, Aj, Bp)
    # rows with a large share of the products, split across threads
    # (spgemm_heavy.py); the passes below see them as empty
    work = int(flops.sum()) + n_row
    nparts = heavy_parts(n_col, Ax.dtype.itemsize)
    heavy = heavy_rows(flops, work, n_col, nparts, CHUNKS_PER_THREAD)
    if (not sort_indices and not heavy.shape[0]
            and onepass.use_onepass(n_col, Ap, Aj, Bp, Bj, flops, work - n_row, Ax.dtype.itemsize)):
        return onepass.onepass_spgemm(n_col, Ap, Aj, Ax, Bp, Bj, Bx, flops,
                                      b_canonical=b_canonical, dense_ratio=dense_ratio,
                                      spa_max_cols=SPA_MAX_COLS)
    if heavy.shape[0]:
        hflops = flops[heavy]
        flops[heavy] = 0
    # tiny products run on one thread, without a parallel region: waking the
    # pool costs more than the work (split rows need it set, even to one)
    with (threads if heavy.shape[0] else threads_or_serial)(work=work) as nt:
        prefetch_b = worth_prefetching(Ap, Aj, Bp.shape[0] - 1, Bj.nbytes + Bx.nbytes)
        bounds, row_nnz = _count(n_row, n_col, Ap, Aj, Bp, Bj, flops, b_canonical,
                                 dense_ratio, prefetch_b, nt)
        if heavy.shape[0]:
            seen = np.zeros((nparts, n_col), dtype=np.uint8)
            hcnt = np.empty((heavy.shape[0], nparts), dtype=np.int64)
            heavy_count(heavy, hflops, n_col, Ap, Aj, Bp, Bj, *no_exclusion(Aj.dtype), seen,
                        hcnt)
            row_nnz[heavy] = hcnt.sum(axis=1)
        idx = spgemm_index_dtype(row_nnz, n_col)
        Cp = np.empty(n_row + 1, dtype=idx)
        Cp[0] = 0
        if n_row:  # no int64 temporary: nnz(C) fits idx
            np.cumsum(row_nnz, dtype=idx, out=Cp[1:])
        nnz = int(Cp[-1])
        Cj = np.empty(nnz, dtype=idx)
        Cx = np.empty(nnz, dtype=Ax.dtype)
        if nnz:
            block, parallel = _NUMERIC[bool(sort_indices), prefetch_b]
            _blocks(parallel, block, bounds, nt, n_col, Ap, Aj, Ax, Bp, Bj, Bx, flops, Cp,
                    Cj, Cx, b_canonical, np.int64(dense_ratio), np.int64(SPA_MAX_COLS))
        if heavy.shape[0]:
            acc = np.zeros((nparts, n_col), dtype=Cx.dtype)
            heavy_numeric(heavy, hflops, n_col, Ap, Aj, Ax, Bp, Bj, Bx, hcnt, Cp, Cj, Cx, acc,
                          seen)
    return Cp, Cj, Cx
