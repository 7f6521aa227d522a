"""Format conversion kernels on the GPU: COO -> CSR, CSR -> CSC, CSR <-> BSR, CSR -> dense.

Mirror of ``backends/cpu/convert.py``: the same functions, signatures and
results on device arrays (CuPy, or the simulated device in tests).
Conversions keep duplicates and explicit zeros, as on the CPU.

Where the CPU runs a sequential counting sort, the GPU counts keys with
``atomicAdd`` (one thread per entry), scans the counts with ``xp.cumsum`` and
places the entries with a **stable** ``xp.argsort`` of the keys: CuPy's
argsort is documented stable (``kind=None`` means ``'stable'``; it is a
radix sort, O(nnz) passes over the key bits), so entries keep their
relative order within a row exactly as the CPU's counting sort keeps it.
A parallel stable placement without a sort would need a per-key rank of
every entry, which is what the radix sort computes anyway.

Inputs follow the format classes' guarantees: ``indptr[0] == 0``,
non-decreasing ``indptr`` and ``indices.shape[0] == indptr[-1]`` (entries past
``indptr[-1]`` are ignored by every kernel, as on the CPU).
"""
from __future__ import annotations

from numba import cuda

from . import _cuda

__all__ = [
    "bsr_tocsr",
    "coo_tocsr",
    "csr_bsr_nnzb",
    "csr_tobsr",
    "csr_tocsc",
    "csr_todense",
]

#: value dtypes ``cuda.atomic.add`` supports directly (complex goes through
#: a float view, two atomics per entry; the rest is summed without atomics)
_ATOMIC_KINDS = ("int32", "int64", "uint32", "uint64", "float32", "float64")


# --------------------------------------------------------------------------- #
# device helpers
# --------------------------------------------------------------------------- #
@_cuda.device
def _row_of(Ap, n_row, jj):
    """Row ``i`` holding entry ``jj``: the first ``i`` with ``Ap[i + 1] > jj``.

    Binary search on the (non-decreasing) row pointers; empty rows are
    skipped because their ``Ap[i + 1]`` equals the next row's start. The top
    levels of the search hit the same few ``Ap`` entries in every thread, so
    they are served from cache.
    """
    lo = 0
    hi = n_row
    while lo < hi:
        mid = (lo + hi) // 2
        if Ap[mid + 1] <= jj:
            lo = mid + 1
        else:
            hi = mid
    return lo


# --------------------------------------------------------------------------- #
# kernels (one thread per entry unless said otherwise)
# --------------------------------------------------------------------------- #
@_cuda.kernel
def _count_keys(keys, n, ptr):
    """``ptr[keys[t] + 1] += 1`` for ``t < n``: counting-sort histogram (atomics)."""
    t = cuda.grid(1)
    if t < n:
        cuda.atomic.add(ptr, keys[t] + 1, 1)


@_cuda.kernel
def _gather_pairs(perm, src_j, src_x, dst_j, dst_x, n):
    """``dst_j[k] = src_j[perm[k]]``, ``dst_x[k] = src_x[perm[k]]`` (one gather launch
    for both arrays; the writes are coalesced, the reads follow the permutation)."""
    k = cuda.grid(1)
    if k < n:
        p = perm[k]
        dst_j[k] = src_j[p]
        dst_x[k] = src_x[p]


@_cuda.kernel
def _transpose_gather(perm, Ap, Ax, Bi, Bx, n):
    """CSC entry ``k`` is CSR entry ``perm[k]``: its row (binary search) and value."""
    k = cuda.grid(1)
    if k < n:
        p = perm[k]
        Bi[k] = _row_of(Ap, Ap.shape[0] - 1, p)
        Bx[k] = Ax[p]


@_cuda.kernel
def _todense_atomic(Ap, Aj, Ax, flat, s0, s1):
    """``flat[i*s0 + j*s1] += x`` with ``atomicAdd``: duplicates of a row may sit in
    different threads. ``flat`` is the C- or F-ordered dense buffer, 1-D."""
    jj = cuda.grid(1)
    n_row = Ap.shape[0] - 1
    if jj >= Ap[0] and jj < Ap[n_row] and jj < Aj.shape[0]:
        i = _row_of(Ap, n_row, jj)
        cuda.atomic.add(flat, i * s0 + Aj[jj] * s1, Ax[jj])


@_cuda.kernel
def _todense_atomic_complex(Ap, Aj, Ax, flat_f, s0, s1):
    """Complex ``+=`` as two float atomics on the float view ``flat_f`` of the buffer."""
    jj = cuda.grid(1)
    n_row = Ap.shape[0] - 1
    if jj >= Ap[0] and jj < Ap[n_row] and jj < Aj.shape[0]:
        i = _row_of(Ap, n_row, jj)
        pos = 2 * (i * s0 + Aj[jj] * s1)
        v = Ax[jj]
        cuda.atomic.add(flat_f, pos, v.real)
        cuda.atomic.add(flat_f, pos + 1, v.imag)


@_cuda.kernel
def _todense_rows(Ap, Aj, Ax, flat, s0, s1):
    """One thread per ROW, adding its entries in order (no atomics): for the value
    dtypes without ``atomicAdd`` (bool, 8/16-bit integers). ``+=`` then stores in
    the output dtype exactly as the CPU kernel does (bool: logical or)."""
    i = cuda.grid(1)
    if i < Ap.shape[0] - 1:
        for jj in range(Ap[i], Ap[i + 1]):
            pos = i * s0 + Aj[jj] * s1
            flat[pos] += Ax[jj]


@_cuda.kernel
def _block_keys(Ap, Aj, n_rows_used, R, C, n_bcol, keys):
    """``keys[jj] = (i // R) * n_bcol + Aj[jj] // C`` (int64), -1 past the used rows."""
    jj = cuda.grid(1)
    if jj < keys.shape[0]:
        if jj < Ap[n_rows_used]:
            i = _row_of(Ap, Ap.shape[0] - 1, jj)
            keys[jj] = (i // R) * n_bcol + Aj[jj] // C
        else:
            keys[jj] = -1


@_cuda.kernel
def _segment_heads(heads, seg, perm, first, segstart):
    """For each sorted position ``k`` starting a block: the block's first-touch
    entry ``perm[k]`` (the smallest, by stability) and ``k`` itself."""
    k = cuda.grid(1)
    if k < heads.shape[0] and heads[k]:
        s = seg[k]
        first[s] = perm[k]
        segstart[s] = k


@_cuda.kernel
def _fill_blocks(order, segstart, skeys, perm, Ap, Aj, Ax, R, C, n_bcol, Bp, Bj, Bx):
    """One thread per BSR block ``b``: its column, its block row's count, and the sum
    of its entries, visited in CSR order (the stable sort keeps it), so the sums
    are rounded exactly as on the CPU. No atomics on values: a block's entries
    belong to one thread."""
    b = cuda.grid(1)
    if b < order.shape[0]:
        k = segstart[order[b]]
        key = skeys[k]
        bi = key // n_bcol
        bj = key - bi * n_bcol
        Bj[b] = bj
        cuda.atomic.add(Bp, bi + 1, 1)
        n = skeys.shape[0]
        n_row = Ap.shape[0] - 1
        while k < n and skeys[k] == key:
            jj = perm[k]
            i = _row_of(Ap, n_row, jj)
            j = Aj[jj]
            Bx[b, i - bi * R, j - bj * C] += Ax[jj]
            k += 1


@_cuda.kernel
def _expand_blocks(R, C, Bp, Bj, Bx, Ap, Aj, Ax):
    """One thread per block ENTRY ``(b, r, c)``: reads of ``Bx`` are coalesced; the
    block row comes from a binary search of ``Bp``."""
    t = cuda.grid(1)
    n_brow = Bp.shape[0] - 1
    if t < Bx.shape[0] * R * C and t < Bp[n_brow] * R * C:
        b = t // (R * C)
        rem = t - b * (R * C)
        r = rem // C
        c = rem - r * C
        bi = _row_of(Bp, n_brow, b)
        dest = Ap[bi * R + r] + (b - Bp[bi]) * C + c
        Aj[dest] = Bj[b] * C + c
        Ax[dest] = Bx[b, r, c]


# --------------------------------------------------------------------------- #
# the public functions (the CPU signatures)
# --------------------------------------------------------------------------- #
def _cumsum_inplace(xp, ptr):
    """``ptr`` = its inclusive prefix sum, in place (CuPy scan, ptr's dtype)."""
    ptr[...] = xp.cumsum(ptr, dtype=ptr.dtype)


def coo_tocsr(n_row, row, col, data, indptr, indices, out):
    """Scatter COO triplets into preallocated CSR arrays (stable counting sort).

    Entries keep their relative order within a row, so row-major sorted COO
    gives sorted CSR. ``indptr`` (length ``n_row + 1``) must be zeroed.

    Row counts by ``atomicAdd`` (one thread per entry), ``xp.cumsum``, then a
    stable ``xp.argsort`` of the row ids and one gather launch (one thread
    per output entry, coalesced writes).
    """
    xp = _cuda.array_module(row, col, data, indptr, indices, out)
    nnz = row.shape[0]
    _cuda.launch(_count_keys, nnz, row, nnz, indptr)
    _cumsum_inplace(xp, indptr)
    if nnz == 0:
        return
    perm = xp.argsort(row, kind="stable")
    _cuda.launch(_gather_pairs, nnz, perm, col, data, indices, out, nnz)


def csr_tocsc(n_row, n_col, Ap, Aj, Ax, Bp, Bi, Bx):
    """Transpose CSR (Ap, Aj, Ax) into CSC arrays (Bp, Bi, Bx), preallocated.

    ``Bp`` (length ``n_col + 1``) must be zeroed. Row indices come out sorted
    within each column: a stable ``xp.argsort`` of the column ids keeps the
    CSR (row-major) order inside each column. Column counts by ``atomicAdd``
    and ``xp.cumsum``; the gather finds each entry's row by binary search of
    ``Ap`` (no row-id array is materialised).
    """
    xp = _cuda.array_module(Ap, Aj, Ax, Bp, Bi, Bx)
    nnz = Bi.shape[0]  # = Ap[n_row], allocated by the caller (no device read here)
    _cuda.launch(_count_keys, nnz, Aj, nnz, Bp)
    _cumsum_inplace(xp, Bp)
    if nnz == 0:
        return
    keys = Aj if Aj.shape[0] == nnz else Aj[:nnz]
    perm = xp.argsort(keys, kind="stable")
    _cuda.launch(_transpose_gather, nnz, perm, Ap, Ax, Bi, Bx, nnz)


def csr_todense(Ap, Aj, Ax, out):
    """Add CSR entries into the dense 2-D ``out`` (duplicates are summed).

    One thread per entry with ``atomicAdd`` (int32/64, uint32/64, float32/64;
    complex as two float atomics on a float view of ``out``); output dtypes
    without atomics (bool, 8/16-bit integers) use one thread per row adding in
    order, which is also what makes bool duplicates combine as a logical or,
    as on the CPU. Float duplicates are added in whatever order the atomics
    land, so they can differ from the CPU's in-order sum by rounding (integer
    and bool results are exact). Values of another dtype than ``out`` are cast
    to it first.
    ``out`` may be C- or F-ordered (any other layout goes through a
    contiguous copy).
    """
    xp = _cuda.array_module(Ap, Aj, Ax, out)
    n_row = Ap.shape[0] - 1
    if Aj.shape[0] == 0 or out.size == 0 or n_row <= 0:
        return
    if Ax.dtype != out.dtype:
        Ax = Ax.astype(out.dtype)
    target = out
    if out.flags.c_contiguous:
        flat, s0, s1 = out.reshape(-1), out.shape[1], 1
    elif out.flags.f_contiguous:
        flat, s0, s1 = out.T.reshape(-1), 1, out.shape[0]
    else:
        target = xp.ascontiguousarray(out)
        flat, s0, s1 = target.reshape(-1), out.shape[1], 1
    dt = out.dtype
    if dt.name in _ATOMIC_KINDS:
        _cuda.launch(_todense_atomic, Aj.shape[0], Ap, Aj, Ax, flat, s0, s1)
    elif dt.kind == "c":
        flat_f = flat.view(xp.float32 if dt.itemsize == 8 else xp.float64)
        _cuda.launch(_todense_atomic_complex, Aj.shape[0], Ap, Aj, Ax, flat_f, s0, s1)
    else:
        _cuda.launch(_todense_rows, n_row, Ap, Aj, Ax, flat, s0, s1)
    if target is not out:
        out[...] = target


def _block_keys_of(xp, n_brow, n_bcol, R, C, Ap, Aj):
    """Block key ``brow * n_bcol + bcol`` of every entry (int64; -1 past the block rows)."""
    keys = xp.empty(Aj.shape[0], dtype=xp.int64)
    n_used = min(int(n_brow) * int(R), Ap.shape[0] - 1)
    _cuda.launch(_block_keys, keys.shape[0], Ap, Aj, n_used, R, C, n_bcol, keys)
    return keys


def csr_bsr_nnzb(n_brow, n_bcol, R, C, Ap, Aj):
    """Number of nonzero R x C blocks of a CSR matrix (for allocating BSR).

    Block keys per entry (one thread each), a sort, and a count of the
    distinct keys: one device -> host transfer, the returned ``int``.
    """
    xp = _cuda.array_module(Ap, Aj)
    if Aj.shape[0] == 0:
        return 0
    skeys = xp.sort(_block_keys_of(xp, n_brow, n_bcol, R, C, Ap, Aj))
    heads = skeys >= 0
    heads[1:] &= skeys[1:] != skeys[:-1]
    return int(xp.count_nonzero(heads))


def csr_tobsr(n_brow, n_bcol, R, C, Ap, Aj, Ax, Bp, Bj, Bx):
    """Fill preallocated BSR arrays from CSR; blocks in first-touch order per block row.

    ``Bx`` has shape ``(nnzb, R, C)`` and must be zeroed (duplicates are summed).

    Pipeline: block key per entry -> stable ``xp.argsort`` of the keys (a
    block's entries become contiguous, in CSR order) -> segment heads and
    ``xp.cumsum`` (segment ids) -> each block's first-touch entry -> blocks
    ordered by it (``xp.argsort``: this is the CPU's first-touch order, since
    block rows occupy increasing entry ranges) -> one thread per block writes
    its column, counts its block row (atomics) and sums its entries in CSR
    order (same rounding as the CPU) -> ``xp.cumsum`` of the counts.
    """
    xp = _cuda.array_module(Ap, Aj, Ax, Bp, Bj, Bx)
    Bp[...] = 0
    nnzb = Bj.shape[0]
    if nnzb == 0 or Aj.shape[0] == 0:
        return
    keys = _block_keys_of(xp, n_brow, n_bcol, R, C, Ap, Aj)
    perm = xp.argsort(keys, kind="stable")
    skeys = keys[perm]
    heads = skeys >= 0
    heads[1:] &= skeys[1:] != skeys[:-1]
    seg = xp.cumsum(heads, dtype=xp.int64) - 1
    first = xp.empty(nnzb, dtype=xp.int64)
    segstart = xp.empty(nnzb, dtype=xp.int64)
    _cuda.launch(_segment_heads, heads.shape[0], heads, seg, perm, first, segstart)
    order = xp.argsort(first, kind="stable")
    _cuda.launch(_fill_blocks, nnzb, order, segstart, skeys, perm, Ap, Aj, Ax, R, C,
                 n_bcol, Bp, Bj, Bx)
    _cumsum_inplace(xp, Bp)


def bsr_tocsr(R, C, Bp, Bj, Bx, Ap, Aj, Ax):
    """Expand BSR blocks into preallocated CSR arrays (every block entry is kept).

    ``Ap`` must already hold the row pointers: row ``bi*R + r`` has
    ``C * (Bp[bi+1] - Bp[bi])`` entries.

    One thread per block entry ``(b, r, c)`` (nnzb * R * C threads).
    """
    _cuda.launch(_expand_blocks, Bx.shape[0] * R * C, R, C, Bp, Bj, Bx, Ap, Aj, Ax)
