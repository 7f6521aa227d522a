"""Kernels that inspect or restore canonical CSR form on the GPU (sorted, duplicate-free rows).

Mirror of ``backends/cpu/canonical.py``: the same functions, signatures and
results on device arrays (CuPy, or the simulated device in tests).

The CPU kernels give a row to a thread; on the GPU that leaves most threads
idle behind one long row, so the kernels here give a thread to an ENTRY and
find the entry's row by binary search of ``indptr`` only where they need it
(a descent, a repeated column, a kept entry). Per-row counts come from a
global ``xp.cumsum`` of per-entry flags, differenced at the row pointers, so
the same scan also gives every kept entry its output slot: no atomics on a
row counter, and no contention on long rows.

Inputs follow the format classes' guarantees: ``indptr[0] == 0``,
``indices.shape[0] == indptr[-1]``, and (except for
:func:`csr_has_canonical_format`, which checks it) non-decreasing ``indptr``.
"""
from __future__ import annotations

from numba import cuda

from . import _cuda
from .convert import _row_of

__all__ = [
    "csr_count_nonzero_values",
    "csr_count_unique",
    "csr_eliminate_zeros",
    "csr_has_canonical_format",
    "csr_has_sorted_indices",
    "csr_sort_indices",
    "csr_sum_duplicates",
]

# rows up to this long are sorted by insertion sort, one thread per row (no
# allocation, no global sort); longer rows go through one global stable sort
_INSERTION_MAX = 32


# --------------------------------------------------------------------------- #
# device helpers
# --------------------------------------------------------------------------- #
@_cuda.device
def _before(cs, p):
    """Inclusive scan ``cs`` read as an exclusive one: flags set in ``[0, p)``."""
    if p > 0:
        return cs[p - 1]
    return 0


# --------------------------------------------------------------------------- #
# kernels
# --------------------------------------------------------------------------- #
@_cuda.kernel
def _unsorted_flag(Ap, Aj, strict, flag):
    """One thread per entry ``jj``: ``flag[0] = 1`` when ``jj`` and ``jj + 1`` share a
    row and ``Aj[jj] > Aj[jj+1]`` (``>=`` when ``strict``); with ``strict``, also
    thread ``i`` flags a decreasing ``Ap[i] > Ap[i+1]``. Every writer stores the
    same 1, so the flag is an or-reduction without atomics. The row is looked up
    only for a descent."""
    t = cuda.grid(1)
    n_row = Ap.shape[0] - 1
    if strict and t < n_row and Ap[t] > Ap[t + 1]:
        flag[0] = 1
    jj = t
    if jj + 1 < Aj.shape[0] and jj >= Ap[0] and jj + 1 < Ap[n_row]:
        a = Aj[jj]
        b = Aj[jj + 1]
        if a > b or (strict and a == b):
            i = _row_of(Ap, n_row, jj)
            if i < n_row and jj + 1 < Ap[i + 1]:
                flag[0] = 1


@_cuda.kernel
def _insertion_sort_rows(Ap, Aj, Ax, limit):
    """One thread per row, insertion sort in place (stable), for the rows of at
    most ``limit`` entries, where it beats any global sort; longer rows are
    left to the global sort."""
    i = cuda.grid(1)
    if i < Ap.shape[0] - 1:
        start = Ap[i]
        end = Ap[i + 1]
        if end - start > limit:
            return
        for a in range(start + 1, end):
            key = Aj[a]
            val = Ax[a]
            b = a - 1
            while b >= start and Aj[b] > key:
                Aj[b + 1] = Aj[b]
                Ax[b + 1] = Ax[b]
                b -= 1
            Aj[b + 1] = key
            Ax[b + 1] = val


@_cuda.kernel
def _expand_rows(Ap, rows):
    """``rows[jj]`` = row of entry ``jj`` (one thread per entry, binary search)."""
    jj = cuda.grid(1)
    if jj < rows.shape[0]:
        rows[jj] = _row_of(Ap, Ap.shape[0] - 1, jj)


@_cuda.kernel
def _head_flags(Ap, Aj, flags):
    """``flags[jj] = 1`` when entry ``jj`` starts a run of equal columns in its row
    (a row start or a column change); the row is looked up only for a repeat."""
    jj = cuda.grid(1)
    if jj < flags.shape[0]:
        h = 1
        if jj > 0 and Aj[jj] == Aj[jj - 1]:
            i = _row_of(Ap, Ap.shape[0] - 1, jj)
            if jj != Ap[i]:
                h = 0
        flags[jj] = h


@_cuda.kernel
def _segment_counts(Ap, cs, counts):
    """One thread per row: ``counts[i]`` = flags set in row ``i`` (difference of the
    inclusive scan ``cs`` at the row pointers)."""
    i = cuda.grid(1)
    if i < Ap.shape[0] - 1:
        a = Ap[i]
        b = Ap[i + 1]
        if b > a:
            counts[i] = _before(cs, b) - _before(cs, a)
        else:
            counts[i] = 0


@_cuda.kernel
def _sum_runs(Ap, Aj, Ax, flags, cs, Bp, Bj, Bx):
    """One thread per entry; a run head writes its column and sums its run in order
    (the CPU's ``+=`` sequence, so the same rounding and the same bool/int wrap
    semantics, no atomics). Output slot: ``Bp[i]`` plus the heads before it in
    the row (from the scan ``cs``)."""
    jj = cuda.grid(1)
    if jj < flags.shape[0] and flags[jj] != 0:
        i = _row_of(Ap, Ap.shape[0] - 1, jj)
        dest = Bp[i] + cs[jj] - 1 - _before(cs, Ap[i])
        col = Aj[jj]
        Bj[dest] = col
        Bx[dest] = Ax[jj]
        end = Ap[i + 1]
        k = jj + 1
        while k < end and Aj[k] == col:
            Bx[dest] += Ax[k]
            k += 1


@_cuda.kernel
def _compact_nonzero(Ap, Aj, Ax, cs, Bp, Bj, Bx):
    """One thread per entry; a nonzero value goes to ``Bp[i]`` plus the nonzeros
    before it in its row (from the scan ``cs``). Coalesced reads and writes."""
    jj = cuda.grid(1)
    n_row = Ap.shape[0] - 1
    if jj < Ax.shape[0] and jj < Ap[n_row] and Ax[jj] != 0:
        i = _row_of(Ap, n_row, jj)
        dest = Bp[i] + cs[jj] - 1 - _before(cs, Ap[i])
        Bj[dest] = Aj[jj]
        Bx[dest] = Ax[jj]


# --------------------------------------------------------------------------- #
# the public functions (the CPU signatures)
# --------------------------------------------------------------------------- #
def _check_flag(xp, Ap, Aj, strict):
    n = max(Aj.shape[0], Ap.shape[0] - 1)
    flag = xp.zeros(1, dtype=xp.int32)
    _cuda.launch(_unsorted_flag, n, Ap, Aj, bool(strict), flag)
    return int(flag[0]) == 0  # the one device -> host transfer


def csr_has_sorted_indices(Ap, Aj):
    """True when column indices are non-decreasing in every row.

    One thread per entry compares it with the next one; one flag on the
    device, one transfer. Expects non-decreasing ``Ap``.
    """
    xp = _cuda.array_module(Ap, Aj)
    return _check_flag(xp, Ap, Aj, False)


def csr_has_canonical_format(Ap, Aj):
    """True when column indices are strictly increasing in every row.

    Also False when ``Ap`` decreases anywhere, as on the CPU. One launch (a
    thread per row and per entry), one flag, one transfer.
    """
    xp = _cuda.array_module(Ap, Aj)
    return _check_flag(xp, Ap, Aj, True)


def csr_sort_indices(Ap, Aj, Ax):
    """Sort each row's (index, value) pairs by index, in place, stably.

    Two tiers, chosen by row length: rows of at most 32 entries are
    insertion-sorted by one thread each, in place (no allocation, no global
    sort); the entries of longer rows (gathered with ``xp.flatnonzero``, so
    one long row does not send every short row through the global sort) get a
    segmented sort by two stable ``xp.argsort`` passes, by column then by row
    id (least-significant key first), and are written back to their slots.
    Both tiers keep equal columns in their stored order, as the CPU's
    insertion sort and merge sort do. Host syncs: the longest row length, and
    the size of the long-row selection when there is one.
    """
    xp = _cuda.array_module(Ap, Aj, Ax)
    n_row = Ap.shape[0] - 1
    nnz = Aj.shape[0]
    if n_row <= 0 or nnz < 2:
        return
    lengths = Ap[1:] - Ap[:-1]
    longest = int(xp.max(lengths))
    if longest < 2:
        return
    limit = _INSERTION_MAX
    _cuda.launch(_insertion_sort_rows, n_row, Ap, Aj, Ax, limit)
    if longest <= limit:
        return
    rows = xp.empty(nnz, dtype=Ap.dtype)
    _cuda.launch(_expand_rows, nnz, Ap, rows)
    sel = xp.flatnonzero(lengths[rows] > limit)  # entries of the long rows, in order
    if sel.shape[0] == nnz:
        sel = None  # every entry: skip the selection gathers
    cols = Aj if sel is None else Aj[sel]
    by_col = xp.argsort(cols, kind="stable")
    keys = rows[by_col] if sel is None else rows[sel][by_col]
    perm = by_col[xp.argsort(keys, kind="stable")]
    if sel is None:
        Aj[...] = Aj[perm]
        Ax[...] = Ax[perm]
    else:
        src = sel[perm]
        Aj[sel] = Aj[src]
        Ax[sel] = Ax[src]


def _run_heads(xp, Ap, Aj):
    """(flags, inclusive scan) of the run heads of every row."""
    flags = xp.empty(Aj.shape[0], dtype=xp.int8)
    _cuda.launch(_head_flags, Aj.shape[0], Ap, Aj, flags)
    return flags, xp.cumsum(flags, dtype=xp.int64)


def csr_count_unique(Ap, Aj, counts):
    """``counts[i]`` = number of distinct columns in row ``i`` (rows must be sorted).

    Run-head flags (one thread per entry), one ``xp.cumsum``, and one thread
    per row differencing the scan at its row pointers.
    """
    xp = _cuda.array_module(Ap, Aj, counts)
    _, cs = _run_heads(xp, Ap, Aj)
    _cuda.launch(_segment_counts, Ap.shape[0] - 1, Ap, cs, counts)


def csr_sum_duplicates(Ap, Aj, Ax, Bp, Bj, Bx):
    """Sum runs of equal indices of sorted rows into preallocated (Bp, Bj, Bx).

    ``Bp`` comes from :func:`csr_count_unique` and a prefix sum. The run heads
    are found again (flags + ``xp.cumsum``); each head's thread sums its run.
    """
    xp = _cuda.array_module(Ap, Aj, Ax, Bp, Bj, Bx)
    if Aj.shape[0] == 0:
        return
    flags, cs = _run_heads(xp, Ap, Aj)
    _cuda.launch(_sum_runs, Aj.shape[0], Ap, Aj, Ax, flags, cs, Bp, Bj, Bx)


def csr_count_nonzero_values(Ap, Ax, counts):
    """``counts[i]`` = number of stored values of row ``i`` that are not zero.

    ``xp.cumsum(Ax != 0)`` and one thread per row differencing it.
    """
    xp = _cuda.array_module(Ap, Ax, counts)
    cs = xp.cumsum(Ax != 0, dtype=xp.int64)
    _cuda.launch(_segment_counts, Ap.shape[0] - 1, Ap, cs, counts)


def csr_eliminate_zeros(Ap, Aj, Ax, Bp, Bj, Bx):
    """Copy the entries with nonzero value into preallocated (Bp, Bj, Bx).

    ``xp.cumsum(Ax != 0)`` gives every kept entry its slot; one thread per
    entry copies (stream compaction, order kept).
    """
    xp = _cuda.array_module(Ap, Aj, Ax, Bp, Bj, Bx)
    if Ax.shape[0] == 0:
        return
    cs = xp.cumsum(Ax != 0, dtype=xp.int64)
    _cuda.launch(_compact_nonzero, Ax.shape[0], Ap, Aj, Ax, cs, Bp, Bj, Bx)
