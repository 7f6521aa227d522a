"""Sparse matrix - dense vector products on raw CSR and BSR arrays, on the GPU.

Mirror of ``backends/cpu/spmv.py``: the same functions, signatures and
results. All kernels overwrite the caller's preallocated ``y`` (never
accumulate into it) and sum in ``y``'s dtype. Column indices may be unsorted
or repeated. Every array is a device array of one module (CuPy, or the
simulated device in tests).

Floating-point sums are formed in a different order than on the CPU (a
group of threads per row sums strided slices, then a tree; the transposed
product adds with atomics in whatever order the threads arrive), so results
agree with the CPU kernels to rounding, not bit for bit; integer results are
exact.
"""
from __future__ import annotations

import functools

import numba
import numpy as np
from numba import cuda

from . import _cuda

__all__ = ["bsr_spmv", "csr_spmv", "csr_spmv_t", "row_parts"]

#: Most threads that share one row (one warp; the reduction is in shared
#: memory, not warp shuffles, which the CUDA simulator lacks).
MAX_GROUP = 32


def group_size(nnz: int, n_rows: int) -> int:
    """Threads per row for the row-parallel kernels: the mean row length
    rounded up to a power of two, between 1 and :data:`MAX_GROUP`.

    Computed from sizes known on the host (no device sync): ``nnz`` is the
    length of the index array. Short rows get one thread each (no idle
    lanes); long rows get up to a warp, whose lanes read consecutive
    nonzeros (coalesced loads of ``Aj``/``Ax``), so a matrix with long rows
    is not bound by one thread walking each row.
    """
    mean = nnz / max(int(n_rows), 1)
    g = 1
    while g < mean and g < MAX_GROUP:
        g *= 2
    return g


def gather_group_size(nnz: int, n_rows: int) -> int:
    """Threads per row of :func:`csr_spmv`'s kernel: :func:`group_size`, except
    that rows of at most 8 nonzeros on average get the largest power of two at
    most half their mean length.

    Measured on an H100 (device time per product): the 5-point Poisson matrix,
    10**6 rows of 5, took 110 us with 8 threads a row, 63 with 4, 46 with 2 and
    47 with 1 (cuSPARSE: 52); the shared-memory tree of a group costs more than
    spreading so few loads saves. Erdos-Renyi rows of 16 took 18-19 us with any
    group of 1 to 16 threads. R-MAT's hub rows (up to 16,000 nonzeros, mean 15)
    would want 32 (R-MAT 18: 421 us with 16, 247 with 32, cuSPARSE 125), but 32
    makes the Erdos-Renyi product 1.8x slower, and telling the two apart takes
    the longest row, a device reduction and a sync per call: not done.
    """
    mean = nnz / max(int(n_rows), 1)
    if mean > 8:
        return group_size(nnz, n_rows)
    g = 1
    while 4 * g <= mean:
        g *= 2
    return g


def row_parts(Ap, nparts: int):
    """Row bounds of ``nparts`` chunks of about equal ``nnz + rows``, as the
    CPU function (there it splits rows over threads; the GPU kernels do not
    need it, it is here so the module mirrors the CPU one name for name).

    Chunk ``t`` starts at the first row ``i`` with ``Ap[i] - Ap[0] + i >=
    (nnz + n) * t // nparts``: one ``searchsorted`` on the device, no sync.
    Returns an int64 device array of length ``nparts + 1``.
    """
    xp = _cuda.array_module(Ap)
    n = Ap.shape[0] - 1
    cost = (Ap - Ap[0]).astype(np.int64) + xp.arange(n + 1, dtype=np.int64)
    rb = xp.empty(nparts + 1, dtype=np.int64)
    rb[0] = 0
    rb[nparts] = n
    if nparts > 1:
        targets = (cost[n] * xp.arange(1, nparts, dtype=np.int64)) // nparts
        rb[1:nparts] = xp.searchsorted(cost, targets, side="left")
    return rb


@_cuda.device
def gid():
    """This thread's global index in a 1-D grid, as int64 (no 32-bit overflow)."""
    return np.int64(cuda.blockIdx.x) * cuda.blockDim.x + cuda.threadIdx.x


@_cuda.device
def row_lane(g):
    """(row, lane) of this thread when groups of ``g`` consecutive threads of a
    1-D grid take one row each."""
    tid = gid()
    return tid // g, tid % g


@_cuda.device
def group_sum(sh, t, lane, g, s):
    """Sum of ``s`` over this thread's group of ``g`` consecutive threads
    (``g`` a power of two), by a tree in the shared array ``sh``.

    ``t`` is the thread's slot in ``sh`` (its index in the block) and
    ``lane = t % g``. The total is returned to lane 0 of the group (other
    lanes get partial sums). Every thread of the block must call it: it
    holds barriers (after the store and after each level of the tree).
    """
    sh[t] = s
    cuda.syncthreads()
    off = g >> 1
    while off > 0:
        if lane < off:
            sh[t] += sh[t + off]
        cuda.syncthreads()
        off >>= 1
    return sh[t]


@functools.lru_cache(maxsize=None)
def _vector_kernel(dtype: str, threads: int):
    """``y[row] = A[row] @ x`` with ``g`` threads per row (``g`` a launch
    argument, a power of two dividing ``threads``).

    Geometry: 1-D grid over ``n_rows * g`` threads, ``threads`` per block,
    so a block holds ``threads // g`` rows. Lane ``l`` of a row's group sums
    the nonzeros ``Ap[row] + l, + l + g, + l + 2g, ...`` (consecutive lanes read
    consecutive nonzeros: coalesced); the partial sums meet in a tree in
    shared memory (``threads`` values of ``y``'s dtype, which is why the
    kernel is built per dtype and block size: shared sizes and types are
    compile-time constants).
    """
    vt = numba.from_dtype(np.dtype(dtype))

    @_cuda.kernel
    def _csr_spmv_vector(Ap, Aj, Ax, x, y, zero, g):
        sh = cuda.shared.array(threads, vt)
        t = cuda.threadIdx.x
        lane = t % g
        row = gid() // g
        n = y.shape[0]
        s = zero
        if row < n:
            for jj in range(Ap[row] + lane, Ap[row + 1], g):
                s += Ax[jj] * x[Aj[jj]]
        if g == 1:  # uniform over the block: no barrier skipped by some threads only
            if row < n:
                y[row] = s
            return
        s = group_sum(sh, t, lane, g, s)
        if lane == 0 and row < n:
            y[row] = s

    return _csr_spmv_vector


def contiguous(a):
    """``a``, or a contiguous device copy when it is strided (kernels take
    contiguous vectors: the CUDA simulator refuses strided arrays, and a
    strided gather is slow anyway)."""
    if a.flags.c_contiguous:
        return a
    return _cuda.array_module(a).ascontiguousarray(a)


def _via_contiguous(kern, Ap, Aj, Ax, x, y) -> bool:
    """Run ``kern`` into a contiguous buffer copied to strided ``y``; False when
    ``y`` is contiguous (nothing done)."""
    if y.flags.c_contiguous:
        return False
    buf = _cuda.array_module(y).empty(y.shape, dtype=y.dtype)
    kern(Ap, Aj, Ax, x, buf)
    y[...] = buf
    return True


def csr_spmv(Ap, Aj, Ax, x, y) -> None:
    """``y[:] = A @ x`` for CSR A with ``len(Ap) - 1`` rows.

    Vector CSR: a group of ``g`` threads per row, ``g`` =
    :func:`gather_group_size` (1..32, from the mean row length), 1-D grid of
    ``ceil(n_rows * g / THREADS)`` blocks; see :func:`_vector_kernel`.
    ``g`` comes from host-side sizes only (no sync per call), so a row far
    longer than the mean is walked by ``g`` threads, not by more; a
    block-per-row pass for such rows is not implemented yet.

    Parameters
    ----------
    Ap, Aj, Ax : device array
        CSR arrays of A (int32/int64 indices; unsorted/repeated columns allowed).
    x : device array, shape (n_col,)
        Strided x is copied to a contiguous vector first.
    y : device array, shape (n_row,)
        Output, overwritten; sums are formed in ``y.dtype`` (strided y is
        written through a contiguous buffer).
    """
    n = y.shape[0]
    if n == 0 or _via_contiguous(csr_spmv, Ap, Aj, Ax, x, y):
        return
    g = gather_group_size(Aj.shape[0], n)
    kern = _vector_kernel(y.dtype.str, _cuda.THREADS)
    _cuda.launch(kern, n * g, Ap, Aj, Ax, contiguous(x), y, y.dtype.type(0), g)


@_cuda.kernel
def _csr_spmv_t_real(Ap, Aj, Ax, x, y, g):
    # g threads per row of A scatter its nonzeros into y with atomics
    row, lane = row_lane(g)
    if row < Ap.shape[0] - 1:
        xi = x[row]
        for jj in range(Ap[row] + lane, Ap[row + 1], g):
            cuda.atomic.add(y, Aj[jj], Ax[jj] * xi)


@_cuda.kernel
def _csr_spmv_t_complex(Ap, Aj, Ax, x, yf, g):
    # complex y as its float view (re, im interleaved): two float atomics
    row, lane = row_lane(g)
    if row < Ap.shape[0] - 1:
        xi = x[row]
        for jj in range(Ap[row] + lane, Ap[row + 1], g):
            v = Ax[jj] * xi
            j = 2 * np.int64(Aj[jj])
            cuda.atomic.add(yf, j, v.real)
            cuda.atomic.add(yf, j + 1, v.imag)


def real_view(a):
    """The float view of a complex device array (re, im interleaved), else ``a``."""
    if a.dtype.kind == "c":
        return a.view(np.dtype(a.dtype.char.lower()))  # F -> f, D -> d
    return a


def csr_spmv_t(Ap, Aj, Ax, x, y) -> None:
    """``y[:] = A.T @ x`` from A's CSR arrays (this is how CSC @ x runs).

    Transpose-free: ``y`` is zeroed, then a group of ``g`` threads per row
    of A (``g`` = :func:`group_size`, 1-D grid over ``n_row * g`` threads)
    adds ``Ax[jj] * x[row]`` into ``y[Aj[jj]]`` with ``atomicAdd``; complex
    values as two float atomics on the float view of ``y``. Coalesced
    reads of ``Aj``/``Ax``; the atomics scatter, and the order of the adds
    (hence the rounding) varies from run to run.

    Parameters
    ----------
    Ap, Aj, Ax : device array
        CSR arrays of A, shape (n_row, n_col) with ``n_row = len(Ap) - 1``.
    x : device array, shape (n_row,)
    y : device array, shape (n_col,)
        Output, overwritten; sums are formed in ``y.dtype`` (int32, int64,
        float32, float64, complex64, complex128: the dtypes with atomics).
    """
    if _via_contiguous(csr_spmv_t, Ap, Aj, Ax, x, y):
        return
    y.fill(0)
    n = Ap.shape[0] - 1
    if n <= 0 or y.shape[0] == 0:
        return
    g = group_size(Aj.shape[0], n)
    kern = _csr_spmv_t_complex if y.dtype.kind == "c" else _csr_spmv_t_real
    _cuda.launch(kern, n * g, Ap, Aj, Ax, contiguous(x), real_view(y), g)


@_cuda.kernel
def _bsr_spmv(R, C, Ap, Aj, Ax, x, y, zero):
    # one thread per row of y (row r of block row ib): reads row r of each
    # block of the block row, consecutive threads on consecutive rows
    row = gid()
    if row < y.shape[0]:
        ib = row // R
        r = row - ib * R
        s = zero
        for jj in range(Ap[ib], Ap[ib + 1]):
            c0 = np.int64(Aj[jj]) * C
            for c in range(C):
                s += Ax[jj, r, c] * x[c0 + c]
        y[row] = s


def bsr_spmv(R: int, C: int, Ap, Aj, Ax, x, y) -> None:
    """``y[:] = A @ x`` for BSR A with ``R x C`` blocks.

    One thread per row of ``y`` (1-D grid over ``n_brow * R`` threads); each
    sums its row of every block in its block row in the CPU kernel's order.

    Parameters
    ----------
    R, C : int
        Block shape.
    Ap, Aj : device array
        Block-row pointers and block-column indices (repeats allowed).
    Ax : device array, shape (nnzb, R, C)
        Blocks.
    x : device array, shape (n_bcol * C,)
    y : device array, shape ((len(Ap) - 1) * R,)
        Output, overwritten; sums are formed in ``y.dtype``.
    """
    if y.shape[0] == 0 or _via_contiguous(functools.partial(bsr_spmv, R, C), Ap, Aj, Ax, x, y):
        return
    _cuda.launch(_bsr_spmv, y.shape[0], np.int64(R), np.int64(C), Ap, Aj, contiguous(Ax),
                 contiguous(x), y, y.dtype.type(0))
