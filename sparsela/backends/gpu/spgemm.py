"""Sparse x sparse product C = A @ B on CSR arrays on the GPU (hash SpGEMM).

Mirror of ``backends/cpu/spgemm.py``: the same public functions, signatures
and results, on CuPy arrays (or the simulated device's). The pipeline is the
nsparse/SMASH one (Nagasaka et al. 2017; Anh et al. 2016 for the binning):

1. *flops*: ``flops[i] = sum(nnz(B[k, :]) for k in A[i, :])`` (int64), one
   thread per row (:func:`_row_flops`).
2. *binning* (:func:`_bin_rows`, one thread per row): rows with no product go
   to the EMPTY bin (nnz 0); rows whose product is a (scaled) copy of one row
   of B -- one product, or one nonzero in A with ``b_canonical`` -- go to the
   COPY bin (nnz = flops, no hashing, rows come out sorted); every other row
   goes to the first shared-memory table of ``SYMBOLIC_TABLE_SIZES`` with at
   least ``LOAD_DIV * flops`` slots (power-of-two bins, load factor <= 1/2),
   or, when none is that big, to the GLOBAL bin. Rows are grouped by bin with
   one ``argsort`` of the bin ids and one ``bincount`` brought to the host.
3. *symbolic* per bin: open-addressing hash table (Fibonacci hash on 32 bits,
   linear probing, ``atomicCAS`` insert, empty slot = INT_MAX so a sort by
   rank needs no test for it) counting the distinct columns of every row.
   Shared-memory bins: the table size ``S`` is a compile-time constant, so
   the kernels come from factories cached per ``(S, group, block)``
   (:func:`_symbolic_shared`). GLOBAL bin: one table per row in global
   memory, ``next_pow2(LOAD_DIV * flops)`` slots capped at the power of two
   >= n_col (at that size the hash is the identity: a dense accumulator
   without probing), processed in batches of at most ``GLOBAL_TABLE_SLOTS``
   slots so the scratch memory stays bounded (:func:`_symbolic_global`).
4. *scan*: ``Cp = cumsum(row_nnz)`` (``xp.cumsum``), the index dtype from
   nnz(C) and n_col exactly as the CPU kernel, and ONE allocation of Cj, Cx
   (the single device->host sync for a size).
5. *numeric* per bin, binned again by the exact nnz of the row
   (``NUMERIC_TABLE_SIZES``, again load <= 1/2, so rows with repeated
   columns fit in smaller tables than by flops), or by flops / 4 when that
   is larger (``NUMERIC_PRODUCTS_PER_SLOT``: enough threads for the row's
   products); global tables are sized by nnz alone. atomicCAS for the key,
   ``atomicAdd`` for the
   value (complex values: two float atomics on a float view of the
   accumulator and of Cx). Each row is then written out at ``Cp[i]``: with
   ``sort_indices`` every entry of a shared table writes itself at its rank
   among the row's keys (a count over the table, read as a shared-memory
   broadcast), which is SciPy's canonical order; without it, in table order
   through an atomic counter. GLOBAL rows are written in table order and,
   when sorted output is asked for, sorted together afterwards by one
   ``xp.argsort`` on ``(row, column)`` keys (a segmented sort).

Thread grouping (``_cuda.THREADS`` = 256 threads a block on a GPU):

- flops, binning, global table sizes: one thread per row (coalesced reads of
  ``Ap``/``flops``; the work per row is a short loop).
- shared-memory bins: a *group* of ``G = clip(S // SLOTS_PER_THREAD,
  MIN_GROUP, THREADS)`` threads per row and ``THREADS // G`` rows a block,
  so every block up to S = 2048 holds the same ``THREADS * SLOTS_PER_THREAD``
  = 2048 table slots (8 KiB of int32 keys, + 16 KiB of float64 / 32 KiB of
  complex128 values in the numeric pass; the symbolic S = 4096 and 8192
  take 16 and 32 KiB, one row a block). Short rows (S = 32: 4 threads, 64
  rows a block) get a partial warp, S = 256 a warp, S >= 2048 the whole
  block: about 8 slots, i.e. at most 4 products, a thread per row pass.
  Inside a group, the threads split into sub-groups of ``sw`` threads that
  walk one row of B together (coalesced reads of ``Bj``/``Bx``) while the
  sub-groups take different nonzeros of A; ``sw`` is chosen per row as the
  power of two nearest above the row's mean B-row length ``flops / nnz(A[i])``,
  capped at ``min(G, 32)``: long B rows get a warp each, short ones one thread
  each (nsparse's partial-warp scheme, adapted per row instead of per bin).
- GLOBAL bin: one block per row, the same ``sw`` sub-grouping.
- COPY bin: one warp per row, lanes over the row of B (coalesced).

Entries that cancel to zero numerically are kept (the structure of C depends
only on the structures of A and B), duplicates in A and B are summed, inputs
are never modified: the same semantics as the CPU kernel.
"""
from __future__ import annotations

import functools

import numpy as np
from numba import cuda, from_dtype
from numba import int32 as nb_int32
from numba import int64 as nb_int64

from ..._sputils import get_index_dtype
from . import _cuda

__all__ = ["csr_spgemm", "spgemm_index_dtype", "spgemm_row_nnz"]

INT32_MAX = np.iinfo(np.int32).max

#: Shared-memory hash-table sizes (slots) of the symbolic bins, by flops.
#: 8192 int32 keys = 32 KiB, under the 48 KiB of static shared memory.
SYMBOLIC_TABLE_SIZES = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
#: Shared-memory hash-table sizes (slots) of the numeric bins, by nnz of the
#: row. 2048 slots of int32 key + complex128 value = 40 KiB.
NUMERIC_TABLE_SIZES = (32, 64, 128, 256, 512, 1024, 2048)
#: A row goes to a table of ``S`` slots when ``LOAD_DIV * metric <= S``
#: (metric = flops in the symbolic pass, nnz -- or more, see below -- in the
#: numeric pass): a load factor of at most 1/2 keeps linear probing short.
LOAD_DIV = 2
#: Table slots per thread of a group; with the clip below it fixes the
#: threads per row of each shared bin (see the module docstring).
SLOTS_PER_THREAD = 8
#: Smallest group: a quarter warp per row for the shortest rows.
MIN_GROUP = 4
#: The numeric pass bins a row by ``max(nnz, flops / (LOAD_DIV *
#: NUMERIC_PRODUCTS_PER_SLOT))``: a row with many products but few distinct
#: columns (R-MAT rows repeat most of theirs) gets a table, and so a group of
#: threads, large enough for at most 2 products a slot, i.e. 16 a thread,
#: instead of a small table whose 4 threads would do all of its products.
#: Up to S = 2048 a larger table costs no more per thread (G grows with S):
#: the same 8 slots to clear and, for the rank sort, the same count per entry.
NUMERIC_PRODUCTS_PER_SLOT = 2
#: Slots of global-memory hash tables processed at once (keys + values of
#: 2**25 slots: 384 MiB for float64); rows larger than this get a batch alone.
GLOBAL_TABLE_SLOTS = 1 << 25

# bin ids: 0 = empty rows, 1 = copy rows, 2 + b = shared table b, then global
_EMPTY_BIN = 0
_COPY_BIN = 1
_FIRST_TABLE_BIN = 2

# Fibonacci hashing on 32 bits (2**32 / golden ratio), computed in int64
# without overflow: the key is folded to 31 bits first.
_HASH_MUL = 2654435761


def _group_size(S: int, threads: int) -> int:
    """Threads per row of a shared bin with ``S`` slots (a power of two)."""
    return int(min(threads, max(MIN_GROUP, S // SLOTS_PER_THREAD)))


def _log2(n: int) -> int:
    return int(n).bit_length() - 1


# --------------------------------------------------------------------------
# device helpers
# --------------------------------------------------------------------------
@_cuda.device
def _hash(j, shift):
    """Top ``32 - shift`` bits of the 32-bit Fibonacci hash of column ``j``."""
    x = np.int64(j)
    x = (x ^ (x >> 31)) & 0x7FFFFFFF
    return ((x * _HASH_MUL) & 0xFFFFFFFF) >> shift


@_cuda.device
def _sub_width(f, anz, swmax):
    """Threads that walk one row of B together: the power of two >= the mean
    B-row length ``f / anz`` of the row, at most ``swmax``."""
    avg = f // max(anz, 1)
    sw = 1
    while sw < avg and sw < swmax:
        sw *= 2
    return sw


@_cuda.device
def _home(j, ident, shift, mask):
    """First slot probed for column ``j``: ``j`` itself when the table covers
    every column (``ident``: no collisions), else its hash in ``[0, mask]``."""
    if ident:
        return np.int64(j)
    return _hash(j, shift) & mask


@_cuda.device
def _probe(keys, base, h, j, empty, mask):
    """Find or claim column ``j``'s slot in the open-addressing table
    ``keys[base:base + mask + 1]``, linear probing from slot ``h`` with
    ``atomicCAS``; returns ``(slot, new)``, ``new`` when this thread's CAS
    stored ``j`` (``empty`` marks a free slot)."""
    while True:
        old = cuda.atomic.cas(keys, base + h, empty, j)
        if old == empty:
            return h, True
        if old == j:
            return h, False
        h = (h + 1) & mask


@_cuda.device
def _row_walk(Ap, flops, i, t, nt, swmax):
    """How ``nt`` threads share row ``i`` of A: sub-groups of ``sw`` threads
    (:func:`_sub_width` of the row's ``flops[i]`` partial products) take
    every ``nsub``-th entry of A and walk its row of B together. Returns
    ``(first, end, nsub, sl, sw)`` for thread ``t``: its entries of A are
    ``range(first, end, nsub)``, and it reads every ``sw``-th entry of their
    rows of B from offset ``sl``."""
    a0 = np.int64(Ap[i])
    a1 = np.int64(Ap[i + 1])
    sw = _sub_width(flops[i], a1 - a0, swmax)
    sub = t // sw
    return a0 + sub, a1, nt // sw, t - sub * sw, sw


@_cuda.device
def _fill(a, base, n, t, nt, value):
    """``a[base:base + n] = value``, thread ``t`` of ``nt`` taking every
    ``nt``-th element (consecutive threads, consecutive addresses)."""
    for s in range(t, n, nt):
        a[base + s] = value


@_cuda.device
def _store(Cj, Cx, p, key, vals, slot, nv):
    """Entry ``p`` of C from a table slot: column ``key``, value at
    ``vals[nv * slot]`` (``nv`` = 2 floats a complex value)."""
    Cj[p] = key
    Cx[nv * p] = vals[nv * slot]
    if nv == 2:
        Cx[nv * p + 1] = vals[nv * slot + 1]


@_cuda.device
def _table_shift(size):
    """Hash shift of a table of ``size`` slots (a power of two): 32 - log2(size), at least 0."""
    bits = 0
    while (np.int64(1) << bits) < size:
        bits += 1
    return max(32 - bits, 0)


# --------------------------------------------------------------------------
# flops, bins, global table sizes (one thread per row)
# --------------------------------------------------------------------------
@_cuda.kernel
def _row_flops(Ap, Aj, Bp, flops):
    """``flops[i]`` = partial products of row ``i``; one thread per row."""
    i = cuda.grid(1)
    if i < flops.shape[0]:
        f = np.int64(0)
        for jj in range(Ap[i], Ap[i + 1]):
            k = Aj[jj]
            f += np.int64(Bp[k + 1]) - np.int64(Bp[k])
        flops[i] = f


@_cuda.kernel
def _bin_rows(metric, flops, Ap, limits, b_canonical, symbolic, fdiv, bins, row_nnz):
    """Bin id of every row (one thread per row): the first table with
    ``limits[b] >= max(metric, ceil(flops / fdiv))`` (``fdiv`` = 0: metric
    alone). The symbolic pass also sets ``row_nnz`` of the EMPTY and COPY
    rows, which need no table."""
    i = cuda.grid(1)
    if i < flops.shape[0]:
        f = flops[i]
        anz = Ap[i + 1] - Ap[i]
        if f == 0:
            b = _EMPTY_BIN
        elif f == 1 or (b_canonical != 0 and anz == 1):
            b = _COPY_BIN
        else:
            m = metric[i]
            if fdiv > 0:
                # enough threads for the products, not only slots for the entries
                m = max(m, (f + fdiv - 1) // fdiv)
            nb = limits.shape[0]
            b = _FIRST_TABLE_BIN + nb
            for t in range(nb):
                if m <= limits[t]:
                    b = _FIRST_TABLE_BIN + t
                    break
        bins[i] = b
        if symbolic != 0 and b <= _COPY_BIN:
            row_nnz[i] = f


@_cuda.kernel
def _global_table_sizes(rows, metric, cap, tsize):
    """Slots of the global table of each GLOBAL row: next_pow2(LOAD_DIV *
    metric), capped at ``cap`` (the power of two >= n_col)."""
    r = cuda.grid(1)
    if r < rows.shape[0]:
        m = np.int64(metric[rows[r]]) * LOAD_DIV
        s = np.int64(2)
        while s < m and s < cap:
            s *= 2
        tsize[r] = min(s, cap)


# --------------------------------------------------------------------------
# COPY rows (numeric): one warp per row
# --------------------------------------------------------------------------
@_cuda.kernel
def _copy_rows(rows, Ap, Aj, Ax, Bp, Bj, Bx, Cp, Cj, Cx, nv):
    """Rows of C that are scaled copies of rows of B (one product, or one
    nonzero in A and a canonical B): one warp per row, lanes over B's row.
    ``Cx`` is a float view with ``nv`` = 2 values per entry for complex."""
    tid = cuda.threadIdx.x
    w = tid // 32
    lane = tid - 32 * w
    r = cuda.blockIdx.x * (cuda.blockDim.x // 32) + w
    if r < rows.shape[0]:
        i = rows[r]
        p = np.int64(Cp[i])
        for jj in range(Ap[i], Ap[i + 1]):
            a = Ax[jj]
            k = Aj[jj]
            b0 = np.int64(Bp[k])
            n = np.int64(Bp[k + 1]) - b0
            for t in range(lane, n, 32):
                prod = a * Bx[b0 + t]
                Cj[p + t] = Bj[b0 + t]
                Cx[nv * (p + t)] = prod.real
                if nv == 2:
                    Cx[nv * (p + t) + 1] = prod.imag
            p += n


# --------------------------------------------------------------------------
# shared-memory bins: kernel factories (table size is a compile-time constant)
# --------------------------------------------------------------------------
@functools.cache
def _symbolic_shared(S: int, G: int, T: int):
    """Symbolic kernel for rows in a shared table of ``S`` slots, ``G``
    threads a row, ``T`` threads a block (``T // G`` rows a block)."""
    R = T // G
    N = R * S
    MASK = S - 1
    SHIFT = 32 - _log2(S)
    SWMAX = min(G, 32)
    EMPTY = np.int32(INT32_MAX)

    def symbolic_shared(rows, Ap, Aj, Bp, Bj, flops, n_col, row_nnz):
        keys = cuda.shared.array(N, nb_int32)
        cnt = cuda.shared.array(R, nb_int32)
        tid = cuda.threadIdx.x
        g = tid // G
        lane = tid - g * G
        base = g * S
        _fill(keys, base, S, lane, G, EMPTY)
        if lane == 0:
            cnt[g] = 0
        cuda.syncthreads()
        r = cuda.blockIdx.x * R + g
        if r < rows.shape[0]:
            i = rows[r]
            first, end, nsub, sl, sw = _row_walk(Ap, flops, i, lane, G, SWMAX)
            ident = n_col <= S
            for jj in range(first, end, nsub):
                k = Aj[jj]
                for kk in range(np.int64(Bp[k]) + sl, np.int64(Bp[k + 1]), sw):
                    j = np.int32(Bj[kk])
                    _, new = _probe(keys, base, _home(j, ident, SHIFT, MASK), j, EMPTY, MASK)
                    if new:
                        cuda.atomic.add(cnt, g, 1)
        cuda.syncthreads()
        if r < rows.shape[0] and lane == 0:
            row_nnz[rows[r]] = cnt[g]

    symbolic_shared.__name__ = f"symbolic_shared_{S}_{G}_{T}"
    return _cuda.kernel(symbolic_shared)


@functools.cache
def _numeric_shared(S: int, G: int, T: int, vdtype: str):
    """Numeric kernel for rows in a shared table of ``S`` slots, ``G``
    threads a row, ``T`` threads a block; ``vdtype``: the value dtype of C
    (complex values accumulate as two floats)."""
    R = T // G
    N = R * S
    MASK = S - 1
    SHIFT = 32 - _log2(S)
    SWMAX = min(G, 32)
    EMPTY = np.int32(INT32_MAX)
    vdt = np.dtype(vdtype)
    NV = 2 if vdt.kind == "c" else 1
    VT = from_dtype(vdt.type(0).real.dtype)
    NVALS = N * NV

    def numeric_shared(rows, Ap, Aj, Ax, Bp, Bj, Bx, flops, Cp, Cj, Cx, n_col, sort):
        keys = cuda.shared.array(N, nb_int32)
        vals = cuda.shared.array(NVALS, VT)
        cnt = cuda.shared.array(R, nb_int32)
        tid = cuda.threadIdx.x
        g = tid // G
        lane = tid - g * G
        base = g * S
        _fill(keys, base, S, lane, G, EMPTY)
        _fill(vals, base * NV, S * NV, lane, G, 0)
        if lane == 0:
            cnt[g] = 0
        cuda.syncthreads()
        r = cuda.blockIdx.x * R + g
        if r < rows.shape[0]:
            i = rows[r]
            first, end, nsub, sl, sw = _row_walk(Ap, flops, i, lane, G, SWMAX)
            ident = n_col <= S
            for jj in range(first, end, nsub):
                a = Ax[jj]
                k = Aj[jj]
                for kk in range(np.int64(Bp[k]) + sl, np.int64(Bp[k + 1]), sw):
                    j = np.int32(Bj[kk])
                    h, _ = _probe(keys, base, _home(j, ident, SHIFT, MASK), j, EMPTY, MASK)
                    prod = a * Bx[kk]
                    cuda.atomic.add(vals, NV * (base + h), prod.real)
                    if NV == 2:
                        cuda.atomic.add(vals, NV * (base + h) + 1, prod.imag)
        cuda.syncthreads()
        if r < rows.shape[0]:
            start = np.int64(Cp[rows[r]])
            for s in range(lane, S, G):
                key = keys[base + s]
                if key != EMPTY:
                    if sort:
                        # rank among the row's keys (EMPTY is the largest key)
                        q = 0
                        for t in range(S):
                            if keys[base + t] < key:
                                q += 1
                    else:
                        q = cuda.atomic.add(cnt, g, 1)
                    _store(Cj, Cx, start + q, key, vals, base + s, NV)

    numeric_shared.__name__ = f"numeric_shared_{S}_{G}_{T}_{vdt.name}"
    return _cuda.kernel(numeric_shared)


# --------------------------------------------------------------------------
# GLOBAL bin: one block per row, tables in global memory
# --------------------------------------------------------------------------
@functools.cache
def _symbolic_global(kdtype: str):
    """Symbolic kernel for GLOBAL rows (one block a row); ``kdtype``: the
    key dtype of the tables (int32 while columns fit, else int64)."""
    kdt = np.dtype(kdtype)
    KEY = kdt.type
    EMPTY = KEY(np.iinfo(kdt).max)

    def symbolic_global(rows, toff, tsize, base_off, Ap, Aj, Bp, Bj, flops, n_col, keys,
                        row_nnz):
        cnt = cuda.shared.array(1, nb_int64)
        tid = cuda.threadIdx.x
        nt = cuda.blockDim.x
        r = cuda.blockIdx.x
        i = rows[r]
        off = toff[r] - base_off
        size = tsize[r]
        _fill(keys, off, size, tid, nt, EMPTY)
        if tid == 0:
            cnt[0] = 0
        cuda.syncthreads()
        shift = _table_shift(size)
        mask = size - 1
        ident = n_col <= size
        first, end, nsub, sl, sw = _row_walk(Ap, flops, i, tid, nt, 32)
        for jj in range(first, end, nsub):
            k = Aj[jj]
            for kk in range(np.int64(Bp[k]) + sl, np.int64(Bp[k + 1]), sw):
                j = KEY(Bj[kk])
                _, new = _probe(keys, off, _home(j, ident, shift, mask), j, EMPTY, mask)
                if new:
                    cuda.atomic.add(cnt, 0, 1)
        cuda.syncthreads()
        if tid == 0:
            row_nnz[i] = cnt[0]

    symbolic_global.__name__ = f"symbolic_global_{kdt.name}"
    return _cuda.kernel(symbolic_global)


@functools.cache
def _numeric_global(kdtype: str, vdtype: str):
    """Numeric kernel for GLOBAL rows (one block a row), rows written in
    table order (sorted afterwards when asked). ``vals`` is a float view for
    complex ``vdtype`` (two floats a slot)."""
    kdt = np.dtype(kdtype)
    KEY = kdt.type
    EMPTY = KEY(np.iinfo(kdt).max)
    vdt = np.dtype(vdtype)
    NV = 2 if vdt.kind == "c" else 1

    def numeric_global(rows, toff, tsize, base_off, Ap, Aj, Ax, Bp, Bj, Bx, flops, n_col,
                       keys, vals, Cp, Cj, Cx):
        cnt = cuda.shared.array(1, nb_int64)
        tid = cuda.threadIdx.x
        nt = cuda.blockDim.x
        r = cuda.blockIdx.x
        i = rows[r]
        off = toff[r] - base_off
        size = tsize[r]
        _fill(keys, off, size, tid, nt, EMPTY)
        _fill(vals, NV * off, NV * size, tid, nt, 0)
        if tid == 0:
            cnt[0] = 0
        cuda.syncthreads()
        shift = _table_shift(size)
        mask = size - 1
        ident = n_col <= size
        first, end, nsub, sl, sw = _row_walk(Ap, flops, i, tid, nt, 32)
        for jj in range(first, end, nsub):
            a = Ax[jj]
            k = Aj[jj]
            for kk in range(np.int64(Bp[k]) + sl, np.int64(Bp[k + 1]), sw):
                j = KEY(Bj[kk])
                h, _ = _probe(keys, off, _home(j, ident, shift, mask), j, EMPTY, mask)
                prod = a * Bx[kk]
                cuda.atomic.add(vals, NV * (off + h), prod.real)
                if NV == 2:
                    cuda.atomic.add(vals, NV * (off + h) + 1, prod.imag)
        cuda.syncthreads()
        start = np.int64(Cp[i])
        for s in range(tid, size, nt):
            key = keys[off + s]
            if key != EMPTY:
                _store(Cj, Cx, start + cuda.atomic.add(cnt, 0, 1), key, vals, off + s, NV)

    numeric_global.__name__ = f"numeric_global_{kdt.name}_{vdt.name}"
    return _cuda.kernel(numeric_global)


# --------------------------------------------------------------------------
# host side
# --------------------------------------------------------------------------
def _flops(xp, n_row, Ap, Aj, Bp):
    flops = xp.empty(n_row, dtype=xp.int64)
    if n_row:
        _cuda.launch(_row_flops, n_row, Ap, Aj, Bp, flops)
    return flops


def _table_sizes(n_col: int, symbolic: bool) -> tuple:
    """Shared-table sizes in use: none when columns do not fit int32 keys."""
    if n_col > INT32_MAX:
        return ()
    return tuple(SYMBOLIC_TABLE_SIZES if symbolic else NUMERIC_TABLE_SIZES)


def _bin(xp, metric, flops, Ap, sizes, b_canonical, symbolic, fdiv, row_nnz):
    """Rows grouped by bin: (rows ordered by bin on the device, bin offsets on the host)."""
    n_row = flops.shape[0]
    nbins = _FIRST_TABLE_BIN + len(sizes) + 1
    limits = xp.asarray(np.array([S // LOAD_DIV for S in sizes], dtype=np.int64))
    bins = xp.empty(n_row, dtype=xp.int32)
    _cuda.launch(_bin_rows, n_row, metric, flops, Ap, limits, int(bool(b_canonical)),
                 int(symbolic), int(fdiv), bins, row_nnz)
    counts = xp.bincount(bins, minlength=nbins).get()  # one small sync
    offs = np.zeros(nbins + 1, dtype=np.int64)
    np.cumsum(counts, out=offs[1:])
    order = xp.argsort(bins)
    return order, offs


def _global_batches(xp, grows, metric, n_col):
    """Global tables of the GLOBAL rows: per-row slots and offsets (device),
    and batches ``(r0, r1, slot0, nslots)`` of at most GLOBAL_TABLE_SLOTS
    slots (host)."""
    ng = grows.shape[0]
    cap = 1 << max(1, (int(n_col) - 1).bit_length())
    tsize = xp.empty(ng, dtype=xp.int64)
    _cuda.launch(_global_table_sizes, ng, grows, metric, cap, tsize)
    cum = xp.cumsum(tsize)
    toff = cum - tsize
    cum_h = cum.get()  # one sync, ng values
    batches = []
    r0 = 0
    while r0 < ng:
        slot0 = int(cum_h[r0 - 1]) if r0 else 0
        r1 = int(np.searchsorted(cum_h, slot0 + GLOBAL_TABLE_SLOTS, side="right"))
        r1 = max(r1, r0 + 1)
        batches.append((r0, r1, slot0, int(cum_h[r1 - 1]) - slot0))
        r0 = r1
    return tsize, toff, batches


def _key_dtype(n_col: int) -> np.dtype:
    return np.dtype(np.int32) if n_col <= INT32_MAX else np.dtype(np.int64)


def _symbolic(xp, n_row, n_col, Ap, Aj, Bp, Bj, flops, b_canonical):
    row_nnz = xp.empty(n_row, dtype=xp.int64)
    if n_row == 0:
        return row_nnz
    sizes = _table_sizes(n_col, True)
    order, offs = _bin(xp, flops, flops, Ap, sizes, b_canonical, True, 0, row_nnz)
    T = _cuda.THREADS
    for b, S in enumerate(sizes):
        lo, hi = int(offs[_FIRST_TABLE_BIN + b]), int(offs[_FIRST_TABLE_BIN + b + 1])
        if hi > lo:
            G = _group_size(S, T)
            _cuda.launch_grid(_symbolic_shared(S, G, T), -(-(hi - lo) // (T // G)), T,
                              order[lo:hi], Ap, Aj, Bp, Bj, flops, n_col, row_nnz)
    lo, hi = int(offs[-2]), int(offs[-1])
    if hi > lo:
        grows = order[lo:hi]
        tsize, toff, batches = _global_batches(xp, grows, flops, n_col)
        kdt = _key_dtype(n_col)
        keys = xp.empty(max(nb[3] for nb in batches), dtype=kdt)
        kern = _symbolic_global(kdt.name)
        for r0, r1, slot0, _ in batches:
            _cuda.launch_grid(kern, r1 - r0, T, grows[r0:r1], toff[r0:r1], tsize[r0:r1],
                              slot0, Ap, Aj, Bp, Bj, flops, n_col, keys, row_nnz)
    return row_nnz


def _numeric(xp, n_row, n_col, Ap, Aj, Ax, Bp, Bj, Bx, flops, row_nnz, Cp, Cj, Cx,
             sort_indices, b_canonical):
    sizes = _table_sizes(n_col, False)
    order, offs = _bin(xp, row_nnz, flops, Ap, sizes, b_canonical, False,
                       LOAD_DIV * NUMERIC_PRODUCTS_PER_SLOT, row_nnz)
    vdt = np.dtype(Cx.dtype)
    nv = 2 if vdt.kind == "c" else 1
    fdt = np.dtype(vdt.type(0).real.dtype)
    Cxv = Cx.view(fdt) if nv == 2 else Cx
    T = _cuda.THREADS
    lo, hi = int(offs[_COPY_BIN]), int(offs[_COPY_BIN + 1])
    if hi > lo:
        _cuda.launch_grid(_copy_rows, -(-(hi - lo) // (T // 32)), T, order[lo:hi],
                          Ap, Aj, Ax, Bp, Bj, Bx, Cp, Cj, Cxv, nv)
    for b, S in enumerate(sizes):
        lo, hi = int(offs[_FIRST_TABLE_BIN + b]), int(offs[_FIRST_TABLE_BIN + b + 1])
        if hi > lo:
            G = _group_size(S, T)
            _cuda.launch_grid(_numeric_shared(S, G, T, vdt.name), -(-(hi - lo) // (T // G)),
                              T, order[lo:hi], Ap, Aj, Ax, Bp, Bj, Bx, flops, Cp, Cj, Cxv,
                              n_col, bool(sort_indices))
    lo, hi = int(offs[-2]), int(offs[-1])
    if hi > lo:
        grows = order[lo:hi]
        tsize, toff, batches = _global_batches(xp, grows, row_nnz, n_col)
        kdt = _key_dtype(n_col)
        most = max(nb[3] for nb in batches)
        keys = xp.empty(most, dtype=kdt)
        vals = xp.empty(nv * most, dtype=fdt)
        kern = _numeric_global(kdt.name, vdt.name)
        for r0, r1, slot0, _ in batches:
            _cuda.launch_grid(kern, r1 - r0, T, grows[r0:r1], toff[r0:r1], tsize[r0:r1],
                              slot0, Ap, Aj, Ax, Bp, Bj, Bx, flops, n_col, keys, vals,
                              Cp, Cj, Cxv)
        if sort_indices:
            _sort_rows(xp, grows, Cp, Cj, Cx, n_col)


def _sort_rows(xp, rows, Cp, Cj, Cx, n_col):
    """Sort the entries of ``rows`` of C by column, all rows at once: one
    ``argsort`` on ``row * n_col + column`` (a segmented sort)."""
    starts = Cp[rows].astype(xp.int64)
    lens = Cp[rows + 1].astype(xp.int64) - starts
    ends = xp.cumsum(lens)
    total = int(ends[-1])  # one sync
    if total == 0:
        return
    idx = xp.arange(total, dtype=xp.int64)
    seg = xp.searchsorted(ends, idx, side="right")
    pos = starts[seg] + (idx - (ends - lens)[seg])
    cols = Cj[pos].astype(xp.int64)
    if int(rows.shape[0]) * max(int(n_col), 1) < (1 << 62):
        order = xp.argsort(seg * int(n_col) + cols)
    else:
        order = xp.lexsort(xp.stack([cols, seg]))
    Cj[pos] = cols[order].astype(Cj.dtype)
    Cx[pos] = Cx[pos][order]


# --------------------------------------------------------------------------
# public entry points
# --------------------------------------------------------------------------
def spgemm_index_dtype(row_nnz, n_col: int) -> np.dtype:
    """Index dtype of C: int32 while nnz(C) and ``n_col`` fit in int32, else int64.

    Parameters
    ----------
    row_nnz : cupy.ndarray of int64
        Exact nnz of every row of C (from :func:`spgemm_row_nnz`).
    n_col : int
        Number of columns of C.

    Returns
    -------
    numpy.dtype
        ``int32`` or ``int64``.
    """
    xp = _cuda.array_module(row_nnz)
    total = int(xp.sum(row_nnz, dtype=xp.int64)) if row_nnz.shape[0] else 0
    return get_index_dtype(maxval=max(total, int(n_col)))


def spgemm_row_nnz(n_row: int, n_col: int, Ap, Aj, Bp, Bj, *, b_canonical: bool = False):
    """Symbolic phase of C = A @ B on the GPU: the exact nnz of every row of C.

    Parameters
    ----------
    n_row, n_col : int
        Shape of C (rows of A, columns of B).
    Ap, Aj : cupy.ndarray
        CSR index arrays of A (``n_row x k``); columns may be unsorted or repeated.
    Bp, Bj : cupy.ndarray
        CSR index arrays of B (``k x n_col``), same index dtype as A's.
    b_canonical : bool
        B's rows are sorted and free of duplicates; a row of A with a single
        nonzero then has the nnz of the matching row of B, without hashing.

    Returns
    -------
    cupy.ndarray of int64, shape (n_row,)
        Structural nnz per row (entries that cancel numerically count).
    """
    xp = _cuda.array_module(Ap, Aj, Bp, Bj)
    n_row = int(n_row)
    n_col = int(n_col)
    flops = _flops(xp, n_row, Ap, Aj, Bp)
    return _symbolic(xp, n_row, n_col, Ap, Aj, Bp, Bj, flops, bool(b_canonical))


def csr_spgemm(n_row: int, n_col: int, Ap, Aj, Ax, Bp, Bj, Bx, *, sort_indices: bool = True,
               b_canonical: bool = False):
    """C = A @ B for CSR A (``n_row x k``) and CSR B (``k x n_col``) on the GPU.

    Parameters
    ----------
    n_row, n_col : int
        Shape of C.
    Ap, Aj, Ax : cupy.ndarray
        CSR arrays of A. Column indices may be unsorted and repeated
        (repeats are summed).
    Bp, Bj, Bx : cupy.ndarray
        CSR arrays of B, with the index dtype of A and the value dtype of ``Ax``
        (float32, float64, complex64, complex128, int32 or int64).
    sort_indices : bool
        Sort the columns of every row of C (SciPy's canonical order). Without
        it the order within a row is unspecified.
    b_canonical : bool
        B's rows are sorted and duplicate-free (a row of A with one nonzero
        then gives a scaled copy of a row of B, without hashing).

    Returns
    -------
    Cp, Cj, Cx : cupy.ndarray
        CSR arrays of C. Index dtype int32 while nnz(C) and ``n_col`` fit,
        else int64; value dtype ``Ax.dtype``. Rows have no repeated columns;
        numerically cancelled entries are kept as explicit zeros.

    Notes
    -----
    Inputs are never modified. Device->host transfers, none in loops: the
    bin counts (a few values) once per pass, the global-table offsets once
    per pass when some row needs a global table, nnz(C) for the allocation,
    and the entry count of the global rows before their sort.
    """
    xp = _cuda.array_module(Ap, Aj, Ax, Bp, Bj, Bx)
    n_row = int(n_row)
    n_col = int(n_col)
    b_canonical = bool(b_canonical)
    flops = _flops(xp, n_row, Ap, Aj, Bp)
    row_nnz = _symbolic(xp, n_row, n_col, Ap, Aj, Bp, Bj, flops, b_canonical)
    total = int(xp.sum(row_nnz, dtype=xp.int64)) if n_row else 0  # the one size sync
    idx = get_index_dtype(maxval=max(total, n_col))
    Cp = xp.empty(n_row + 1, dtype=idx)
    Cp[0:1] = 0
    if n_row:
        Cp[1:] = xp.cumsum(row_nnz)
    Cj = xp.empty(total, dtype=idx)
    Cx = xp.empty(total, dtype=Ax.dtype)
    if total:
        _numeric(xp, n_row, n_col, Ap, Aj, Ax, Bp, Bj, Bx, flops, row_nnz, Cp, Cj, Cx,
                 bool(sort_indices), b_canonical)
    return Cp, Cj, Cx
