"""Reductions over rows or columns of CSR arrays (sum, max/min, diagonal), on the GPU.

Mirror of ``backends/cpu/reduce.py``: the same functions, signatures and
results, written into the caller's zeroed ``out`` (and ``count``).

Max/min see implicit zeros, as NumPy would on the dense array: a row that
has fewer stored entries than ``n_col`` (a column fewer than ``n_row``)
includes 0 among its candidates; ``n_col = 0`` (``n_row = 0``) means stored
entries only. NaN propagates. Inputs to the max/min kernels must be
canonical (no duplicates).

Row reductions run a group of threads per row (the SpMV geometry, see
``spmv.py``); column reductions one thread per nonzero with atomics; the
diagonal one thread per entry. Float sums are formed in a different order
than on the CPU, so they agree to rounding; integer sums and all max/min
are exact.
"""
from __future__ import annotations

import functools
import math

import numba
import numpy as np
from numba import cuda

from . import _cuda
from .spmv import gid, group_size, group_sum, real_view

__all__ = ["csr_row_sums", "csr_col_sums", "csr_row_extreme", "csr_col_extreme",
           "csr_diagonal"]

#: dtypes that ``cuda.atomic.add/max/min`` take
_ATOMIC = frozenset(np.dtype(d) for d in ("int32", "int64", "uint32", "uint64", "float32",
                                          "float64"))


def _atomic_dtype(dt: np.dtype) -> np.dtype:
    """The dtype to accumulate ``dt`` in with atomics: ``dt`` itself when
    atomics take it, else a wider one that keeps order (max/min) and wraps
    back identically on the cast (integer sums): small ints -> int64,
    small unsigned -> uint64, float16 -> float32, bool -> int64."""
    dt = np.dtype(dt)
    if dt in _ATOMIC:
        return dt
    if dt.kind == "f":
        return np.dtype(np.float32) if dt.itemsize < 4 else np.dtype(np.float64)
    if dt.kind == "u":
        return np.dtype(np.uint64)
    return np.dtype(np.int64)


def _finish(tmp, out) -> None:
    """Copy a wider accumulator back into the caller's ``out``."""
    if tmp is not out:
        out[...] = tmp.astype(out.dtype)


# --------------------------------------------------------------------------
# sums
# --------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _row_sums_kernel(dtype: str, threads: int):
    """``out[row] += sum(Ax[Ap[row]:Ap[row + 1]])`` with ``g`` threads per row:
    the SpMV vector kernel's geometry and shared-memory tree (``threads``
    values of ``out``'s dtype, hence one kernel per dtype)."""
    vt = numba.from_dtype(np.dtype(dtype))

    @_cuda.kernel
    def _csr_row_sums_vector(Ap, Ax, out, g):
        sh = cuda.shared.array(threads, vt)
        t = cuda.threadIdx.x
        lane = t % g
        row = gid() // g
        n = out.shape[0]
        s = vt(0)
        if row < n:
            for jj in range(Ap[row] + lane, Ap[row + 1], g):
                s += Ax[jj]
        if g == 1:
            if row < n:
                out[row] += s
            return
        s = group_sum(sh, t, lane, g, s)
        if lane == 0 and row < n:
            out[row] += s

    return _csr_row_sums_vector


def csr_row_sums(Ap, Ax, out) -> None:
    """``out[i]`` += sum of row ``i``; ``out`` must be zeroed (sums in its dtype).

    A group of ``g`` = :func:`~sparsela.backends.gpu.spmv.group_size`
    threads per row, 1-D grid over ``n_row * g`` threads, shared-memory tree
    per group (as :func:`sparsela.backends.gpu.spmv.csr_spmv`).
    """
    n = out.shape[0]
    if n == 0:
        return
    g = group_size(Ax.shape[0], n)
    _cuda.launch(_row_sums_kernel(out.dtype.str, _cuda.THREADS), n * g, Ap, Ax, out, g)


@_cuda.kernel
def _csr_col_sums_real(Aj, Ax, out):
    n = gid()
    if n < Aj.shape[0]:
        cuda.atomic.add(out, Aj[n], Ax[n])


@_cuda.kernel
def _csr_col_sums_complex(Aj, Ax, outf):
    # complex out as its float view: two float atomics
    n = gid()
    if n < Aj.shape[0]:
        v = Ax[n]
        j = 2 * np.int64(Aj[n])
        cuda.atomic.add(outf, j, v.real)
        cuda.atomic.add(outf, j + 1, v.imag)


def csr_col_sums(Aj, Ax, out) -> None:
    """``out[j]`` += sum of column ``j``; ``out`` must be zeroed.

    One thread per nonzero (1-D grid over nnz) adding into ``out`` with
    ``atomicAdd``: coalesced reads of ``Aj``/``Ax``, scattered atomics.
    Values are cast to ``out``'s dtype first, as the CPU kernel's
    ``out[j] += v`` does. Sums in dtypes without atomics (small integers,
    float16) run in a wider accumulator (:func:`_atomic_dtype`) copied back
    into ``out`` (integers wrap identically; float16 sums are then more
    accurate than the CPU kernel's).
    """
    if Aj.shape[0] == 0 or out.shape[0] == 0:
        return
    if out.dtype.kind == "c":
        acc = out
    else:
        acc = out if out.dtype in _ATOMIC else out.astype(_atomic_dtype(out.dtype))
    vals = Ax if Ax.dtype == out.dtype else Ax.astype(out.dtype)
    if acc.dtype != out.dtype:
        vals = vals.astype(acc.dtype)
    kern = _csr_col_sums_complex if acc.dtype.kind == "c" else _csr_col_sums_real
    _cuda.launch(kern, Aj.shape[0], Aj, vals, real_view(acc))
    _finish(acc, out)


# --------------------------------------------------------------------------
# max / min
# --------------------------------------------------------------------------
@_cuda.device
def _beats(v, p, w, q, take_max):
    """Whether value ``w`` at position ``q`` replaces ``v`` at ``p`` (``p < 0``:
    nothing yet). The CPU kernel's order, made associative: a NaN beats any
    number, a strictly better number wins, and on ties (two NaNs, or equal
    values such as 0.0 and -0.0) the earlier position wins, so a tree over
    strided slices picks the very entry the sequential loop keeps."""
    if q < 0:
        return False
    if p < 0:
        return True
    v_nan = v != v
    w_nan = w != w
    if v_nan or w_nan:
        if v_nan and w_nan:
            return q < p
        return w_nan
    if w == v:
        return q < p
    if take_max:
        return w > v
    return w < v


@functools.lru_cache(maxsize=None)
def _row_extreme_kernel(dtype: str, threads: int):
    """Row max/min with ``g`` threads per row: the SpMV vector geometry, each
    lane keeping (value, position) of its strided slice, merged in a
    shared-memory tree with :func:`_beats` (``threads`` values and int64
    positions in shared memory, hence one kernel per dtype)."""
    vt = numba.from_dtype(np.dtype(dtype))

    @_cuda.kernel
    def _csr_row_extreme_vector(Ap, Ax, n_col, take_max, out, g):
        sh_v = cuda.shared.array(threads, vt)
        sh_p = cuda.shared.array(threads, numba.int64)
        t = cuda.threadIdx.x
        lane = t % g
        row = gid() // g
        n = out.shape[0]
        best = vt(0)
        pos = np.int64(-1)
        if row < n:
            for jj in range(Ap[row] + lane, Ap[row + 1], g):
                v = Ax[jj]
                if _beats(best, pos, v, jj, take_max):
                    best = v
                    pos = jj
        if g > 1:  # uniform over the block
            sh_v[t] = best
            sh_p[t] = pos
            cuda.syncthreads()
            off = g >> 1
            while off > 0:
                if lane < off and _beats(sh_v[t], sh_p[t], sh_v[t + off], sh_p[t + off],
                                         take_max):
                    sh_v[t] = sh_v[t + off]
                    sh_p[t] = sh_p[t + off]
                cuda.syncthreads()
                off >>= 1
            best = sh_v[t]
        if lane == 0 and row < n:
            start = Ap[row]
            end = Ap[row + 1]
            if start != end:  # an empty row keeps the caller's zero
                zero = out[row]
                if end - start < n_col:  # an implicit zero is a candidate
                    if take_max:
                        if zero > best:
                            best = zero
                    elif zero < best:
                        best = zero
                out[row] = best

    return _csr_row_extreme_vector


def csr_row_extreme(Ap, Ax, n_col, take_max, out) -> None:
    """Row max (``take_max``) or min including implicit zeros; ``out`` zeroed, length n_row.

    A group of ``g`` = :func:`~sparsela.backends.gpu.spmv.group_size`
    threads per row (1-D grid over ``n_row * g`` threads), merged in shared
    memory; ties and NaN resolve to the entry the CPU kernel's sequential
    loop keeps (:func:`_beats`), so results are the same bits.
    """
    n = out.shape[0]
    if n == 0:
        return
    g = group_size(Ax.shape[0], n)
    _cuda.launch(_row_extreme_kernel(out.dtype.str, _cuda.THREADS), n * g, Ap, Ax,
                 np.int64(n_col), bool(take_max), out, g)


@_cuda.kernel
def _col_extreme_scatter(Aj, Ax, take_max, count, nan, best):
    # one thread per nonzero: count it, flag a NaN, else atomic max/min
    n = gid()
    if n < Aj.shape[0]:
        j = Aj[n]
        v = Ax[n]
        cuda.atomic.add(count, j, 1)
        if v != v:
            nan[j] = 1  # every writer stores 1: no race on the value
        elif take_max:
            cuda.atomic.max(best, j, v)
        else:
            cuda.atomic.min(best, j, v)


@_cuda.kernel
def _col_extreme_finish(n_row, take_max, count, nan, best, out):
    # one thread per column: the CPU kernel's second loop
    j = gid()
    if j < out.shape[0]:
        if count[j] > 0:
            if nan[j] != 0:
                out[j] = math.nan
            else:
                out[j] = best[j]
        if count[j] < n_row and out[j] == out[j]:
            if take_max and out[j] < 0:
                out[j] = 0
            elif not take_max and out[j] > 0:
                out[j] = 0


def csr_col_extreme(Aj, Ax, n_row, take_max, count, out) -> None:
    """Column max/min including implicit zeros; ``count``/``out`` zeroed, length n_col.

    Two launches: one thread per nonzero (1-D grid over nnz) counts into
    ``count`` and takes ``atomicMax``/``atomicMin`` into a scratch array
    initialised to the dtype's lowest/highest value (``NaN`` is flagged per
    column instead, since the hardware max/min ignore it), then one thread
    per column writes ``out`` as the CPU kernel does: the column's extreme,
    NaN if it holds one, and 0 when ``count[j] < n_row`` and 0 is more
    extreme. Dtypes without atomics (small integers, float16) run in a
    wider, order-preserving scratch dtype; results are exact.
    """
    n_col = out.shape[0]
    if n_col == 0:
        return
    xp = _cuda.array_module(out)
    wd = _atomic_dtype(Ax.dtype)
    if wd.kind == "f":
        init = -np.inf if take_max else np.inf
    else:
        info = np.iinfo(wd)
        init = info.min if take_max else info.max
    best = xp.full(n_col, init, dtype=wd)
    nan = xp.zeros(n_col, dtype=np.int32)
    if Aj.shape[0]:
        vals = Ax if Ax.dtype == wd else Ax.astype(wd)
        _cuda.launch(_col_extreme_scatter, Aj.shape[0], Aj, vals, bool(take_max), count, nan,
                     best)
    _cuda.launch(_col_extreme_finish, n_col, np.int64(n_row), bool(take_max), count, nan, best,
                 out)


# --------------------------------------------------------------------------
# diagonal
# --------------------------------------------------------------------------
@_cuda.kernel
def _csr_diagonal(Ap, Aj, Ax, k, out):
    # one thread per diagonal entry: scans its row for the column (duplicates summed)
    t = gid()
    if t < out.shape[0]:
        i = t + (-k if k < 0 else 0)
        j = t + (k if k > 0 else 0)
        s = out[t]
        for jj in range(Ap[i], Ap[i + 1]):
            if Aj[jj] == j:
                s += Ax[jj]
        out[t] = s


def csr_diagonal(Ap, Aj, Ax, k, out) -> None:
    """``out[t]`` = sum of stored entries at (t - min(k,0), t + max(k,0)); zeroed out.

    One thread per diagonal entry (1-D grid over ``len(out)``), each
    scanning its row of A.
    """
    if out.shape[0] == 0:
        return
    _cuda.launch(_csr_diagonal, out.shape[0], Ap, Aj, Ax, np.int64(k), out)
