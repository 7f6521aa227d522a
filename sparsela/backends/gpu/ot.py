"""Sinkhorn-Newton-Sparse kernels on the GPU (mirror of ``backends/cpu/ot.py``).

The same functions, signatures and results as the CPU module: the entries
of the sparsified Newton Hessian (the fewest largest entries of
``P = diag(u) K diag(v)`` holding at least ``k`` entries and ``target``
mass, ties in row-major order). All arrays are device arrays of one
module (CuPy, or the simulated device's); float64.

Why this shape on an H100: the dense ``n x m`` work that the CPU kernels
avoid (forming ``P``, reading it several times) costs a few passes at
~3 TB/s on the GPU, so ``P`` is formed once per call by one elementwise
product and everything else is data-parallel array work:

- with a guess ``lo`` of the threshold (every Newton step after the first),
  one compare + stream compaction (``flatnonzero``) gathers the candidates
  ``P >= lo`` (about ``1.3 k``), and a stable radix sort of the candidates
  alone (CuPy's ``argsort`` is CUB's stable radix sort) ranks them;
- without one (the first step, or when the guess fails), a histogram of
  ``P`` on a log scale (bins ``2x`` apart, read from the float's exponent
  bits) is built by one ``numba.cuda`` kernel with a private shared-memory
  histogram per block (:func:`_histogram_kernel`), so the ``n m`` atomics hit
  shared memory and only ``2048`` per block reach global memory; the
  crossing bin gives a threshold below which no kept entry lies, and the
  candidates above it are compacted and sorted as above. A full sort of
  ``P`` (``n m`` keys, tens of ms at ``n = m = 5000``) or CuPy's
  ``bincount`` (global atomics that serialize on the few crowded bins of a
  plan) would each cost an order of magnitude more than this one pass.
"""
from __future__ import annotations

import numpy as np
from numba import cuda

from . import _cuda

__all__ = [
    "select_threshold",
    "top_entries",
]

#: histogram bins: the 11 exponent bits of a non-negative float64 (bins 2x
#: apart). The CPU uses 2 more mantissa bits (8192 bins); 2048 bins of int32
#: counts and float64 masses (24 KiB) fit a block's static shared memory.
_SHIFT = 52
_NBINS = 1 << 11
#: most blocks of the histogram kernel (a grid-stride loop covers the rest):
#: two per SM of an H100 (132 SMs) keep every SM busy, and the merge of the
#: per-block histograms (at most 2048 global atomics per block) stays small.
#: The simulator runs each block's threads as Python threads: two blocks.
_MAX_BLOCKS = 264 if not _cuda.SIMULATOR else 2


@_cuda.kernel
def _histogram_kernel(bits, vals, cnt, mass):
    """Count and mass of the positive entries per exponent bin.

    Launch geometry: a 1-D grid of at most ``_MAX_BLOCKS`` blocks walking the
    entries in a grid-stride loop (coalesced reads of ``bits``/``vals``,
    the float64 array and its uint64 view). Each block accumulates into its
    own shared-memory histogram (int32 counts, float64 masses) and adds its
    non-empty bins to the global ``cnt``/``mass`` at the end. Zeros (the
    flushed entries of ``K``, usually most of ``P`` at small ``reg``) are
    skipped: their count is ``P.size`` minus the others, no atomics.
    """
    scnt = cuda.shared.array(_NBINS, np.int32)
    smass = cuda.shared.array(_NBINS, np.float64)
    t = cuda.threadIdx.x
    nt = cuda.blockDim.x
    for e in range(t, _NBINS, nt):
        scnt[e] = 0
        smass[e] = 0.0
    cuda.syncthreads()
    stride = cuda.gridDim.x * nt
    for q in range(cuda.blockIdx.x * nt + t, vals.shape[0], stride):
        # the exponent bits only: a -0.0 (sign bit set) must not index past
        # the table; its bin 0 is skipped like +0.0
        e = (bits[q] >> np.uint64(_SHIFT)) & np.uint64(_NBINS - 1)
        if e != 0:
            cuda.atomic.add(scnt, e, 1)
            cuda.atomic.add(smass, e, vals[q])
    cuda.syncthreads()
    for e in range(t, _NBINS, nt):
        c = scnt[e]
        if c != 0:
            cuda.atomic.add(cnt, e, np.int64(c))
            cuda.atomic.add(mass, e, smass[e])


def _plan(K, u, v):
    """``P = diag(u) K diag(v)`` as a flat array, with the CPU kernel's
    products in its order (``K_ij u_i``, then ``* v_j``: the same values)."""
    P = K * u[:, None]
    P *= v[None, :]
    return P.ravel()


def _histogram(xp, flat):
    """Host copies (one transfer) of the bin counts and masses of ``flat``."""
    cnt = xp.zeros(_NBINS, dtype=np.int64)
    mass = xp.zeros(_NBINS, dtype=np.float64)
    grid = min(_cuda.blocks(flat.shape[0]), _MAX_BLOCKS)
    _cuda.launch_grid(_histogram_kernel, grid, _cuda.THREADS, flat.view(np.uint64), flat,
                      cnt, mass)
    # counts < 2**53: exact in float64, so both come back in one copy
    host = xp.stack([cnt.astype(np.float64), mass]).get()
    cnt_h = host[0].astype(np.int64)
    cnt_h[0] = flat.shape[0] - cnt_h[1:].sum()  # the zeros, not counted by the kernel
    return cnt_h, host[1]


def _pick(cnt, mass, k, target):
    """Highest bin ``b`` such that the bins ``>= b`` hold at least ``k``
    entries and ``target`` mass (the CPU's ``_pick``, vectorized on the host;
    everything down to the lowest non-empty bin when ``target`` exceeds the
    total by rounding)."""
    c_at = np.cumsum(cnt[::-1])[::-1]   # entries in the bins >= b
    m_at = np.cumsum(mass[::-1])[::-1]
    ok = np.flatnonzero((c_at >= k) & (m_at >= target) & (cnt > 0))
    if ok.size:
        return int(ok[-1])
    nonempty = np.flatnonzero(cnt)
    return int(nonempty[0]) if nonempty.size else 0


def _bin_floor(e: int) -> float:
    """Smallest float64 of exponent bin ``e`` (``0.0`` for bin 0)."""
    return float(np.array([e << _SHIFT], dtype=np.uint64).view(np.float64)[0])


def _select(xp, flat, cand, k, target):
    """Kept entries among the candidates ``cand`` (ascending flat indices of
    every entry ``>= some floor``, a set that contains the kept ones).

    Ranks the candidates by a stable sort of ``-P`` (value descending, ties
    in row-major order, as the CPU kernels break them) and keeps the first
    ``need``: at least ``k`` and, by a cumulative sum, ``target`` mass.
    Returns ``(kept flat indices ascending, tau, n_eq)``.
    """
    vals = flat[cand]
    order = xp.argsort(-vals, kind="stable")
    sv = vals[order]
    size = sv.shape[0]
    need = min(k, size)
    if target > 0:
        hit = xp.searchsorted(xp.cumsum(sv), target, side="left")
        need = max(need, min(int(hit) + 1, size))  # one transfer
    tau_d = sv[need - 1]
    # entries > tau among the kept: sv is descending, so the first index of tau
    n_gt_d = xp.searchsorted(-sv, -tau_d, side="left")
    tau, n_gt = (float(x) for x in xp.stack([tau_d, n_gt_d.astype(np.float64)]).get())
    kept = xp.sort(cand[order[:need]])
    return kept, tau, need - int(n_gt)


def _candidates_full(xp, flat, k, target):
    """Candidates by the histogram: every entry at or above the floor of
    the crossing bin (fewer than twice the kept ones on a smooth plan)."""
    cnt, mass = _histogram(xp, flat)
    e = _pick(cnt, mass, k, float(target))
    floor = _bin_floor(e)
    if floor > 0.0:
        return xp.flatnonzero(flat >= floor)
    return xp.arange(flat.shape[0], dtype=np.int64)


def select_threshold(K, u, v, k: int, target: float):
    """Threshold that keeps the fewest largest entries of ``P = diag(u) K
    diag(v)`` holding at least ``k`` entries and ``target`` mass.

    Same result as the CPU function: a histogram of ``P`` on a log scale
    (one kernel pass, shared-memory privatized) finds the crossing bin; the
    entries at or above it are sorted (stably, descending) on the device.

    Parameters
    ----------
    K : device array of shape (n, m)
        Non-negative, C-contiguous float64 (no NaN).
    u, v : device array of shape (n,), (m,)
        Positive scalings.
    k : int
        Least number of entries kept (``1 <= k <= P.size``).
    target : float
        Least mass kept (at most the total mass).

    Returns
    -------
    tau : float
        Every entry ``> tau`` is kept ...
    n_eq : int
        ... and the first ``n_eq`` entries equal to ``tau`` in row-major order.
    kept : int
        Number of kept entries (``>= k``).
    """
    xp = _cuda.array_module(K, u, v)
    k = int(min(max(k, 1), K.size))
    flat = _plan(K, u, v)
    cand = _candidates_full(xp, flat, k, target)
    kept, tau, n_eq = _select(xp, flat, cand, k, float(target))
    return tau, n_eq, int(kept.shape[0])


def top_entries(K, u, v, k: int, target: float, lo: float = 0.0):
    """The fewest largest entries of ``P = diag(u) K diag(v)`` holding at
    least ``k`` entries and ``target`` mass (ties: row-major order), as
    row-major triplets (device arrays).

    With ``lo > 0`` (the last threshold divided by a margin) the candidates
    are the entries ``>= lo``, one compare and one compaction, used when they
    are between ``k`` and ``4 k + 4096`` (the CPU's rule) and hold ``target``
    mass; otherwise the histogram of :func:`select_threshold` chooses them.
    Either way the result is exact (the candidates are a top slice of ``P``).

    Returns
    -------
    I, J : device array of int64
        Row and column of each kept entry, row-major order.
    V : device array
        The entries.
    tau : float
        The smallest kept entry.
    """
    xp = _cuda.array_module(K, u, v)
    size = K.size
    m = K.shape[1]
    k = int(min(max(k, 1), size))
    flat = _plan(K, u, v)
    cand = None
    if lo > 0:
        cap = min(size, 4 * k + 4096)
        above = xp.flatnonzero(flat >= float(lo))  # the count is its one transfer
        p = above.shape[0]
        if k <= p <= cap and float(flat[above].sum()) >= target:
            cand = above
    if cand is None:
        cand = _candidates_full(xp, flat, k, target)
    kept, tau, _ = _select(xp, flat, cand, k, float(target))
    return kept // m, kept % m, flat[kept], tau
