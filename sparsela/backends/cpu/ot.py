"""Kernels of Sinkhorn-Newton-Sparse (:mod:`sparsela.ot`) on raw arrays.

The solver holds the plan as ``P = diag(u) K diag(v)`` with a fixed dense
kernel ``K`` (``n x m``, C order, float64) and scaling vectors ``u``, ``v``
(the stabilized-kernel form of Schmitzer, 2019): Sinkhorn iterations, the
marginals and the line search are matrix-vector products with ``K`` (BLAS),
and these kernels read ``P_ij = K_ij u_i v_j`` on the fly to choose the
entries of the sparsified Newton Hessian (its off-diagonal block ``B``, as
row-major triplets: CSR once the row counts are summed). Float64 only (the
solvers work in float64); one thread (the passes are read-only and short).
The Newton system itself is solved in :mod:`sparsela.ot._sns` by
:func:`sparsela.linalg.cg`, here with :func:`schur_product` as its operator.
"""
from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = [
    "schur_product",
    "select_threshold",
    "top_entries",
]


#: histogram bins of the selection: the 11 exponent bits and the top 2
#: mantissa bits of a non-negative float64 (bins 2**(1/4) apart)
_SHIFT = 50
_NBINS = 1 << 13

# Index through unsigned values (as spmv.py): Numba must otherwise treat every
# signed index as possibly negative (wraparound), a branch per access.
_u = np.uint64


@jit
def _plan_row(K, u, v, i, buf):
    """Row ``i`` of ``P = diag(u) K diag(v)`` into ``buf`` (the same
    products, in the same order, as NumPy's ``K * u[:, None] * v[None, :]``)."""
    ui = u[i]
    for j in range(K.shape[1]):
        buf[j] = K[i, j] * ui * v[j]


@jit
def _histogram_row(buf, cnt, mass):
    bits = buf.view(np.uint64)
    for j in range(buf.shape[0]):
        e = bits[j] >> _SHIFT
        cnt[e] += 1
        mass[e] += buf[j]


@jit
def _gather_bin_row(buf, e, out, p):
    """Appends the entries of ``buf`` in bin ``e`` to ``out`` from ``p`` on;
    returns the new ``p``. A branch per entry, not branch-free compaction:
    one bin holds few entries (1-5 % of the candidates in the Newton solves
    measured), so the branch is well predicted and cheaper than a write per
    entry."""
    bits = buf.view(np.uint64)
    eu = np.uint64(e)  # (an unsigned compare: uint64 == int64 goes by float)
    for j in range(buf.shape[0]):
        if (bits[j] >> _SHIFT) == eu:
            out[p] = buf[j]
            p += 1
    return p


@jit
def _histogram(K, u, v, cnt, mass):
    buf = np.empty(K.shape[1])
    for i in range(K.shape[0]):
        _plan_row(K, u, v, i, buf)
        _histogram_row(buf, cnt, mass)


@jit
def _gather_bin(K, u, v, e, out):
    buf = np.empty(K.shape[1])
    p = 0
    for i in range(K.shape[0]):
        _plan_row(K, u, v, i, buf)
        p = _gather_bin_row(buf, e, out, p)
    return p


@jit
def _pick(cnt, mass, k, target):
    """Highest bin ``b`` such that the bins ``>= b`` hold at least ``k``
    entries and ``target`` mass; with the count and mass of the bins above it."""
    c_above = 0
    m_above = 0.0
    last, c_last, m_last = 0, 0, 0.0
    for e in range(cnt.shape[0] - 1, -1, -1):
        if cnt[e] == 0:
            continue
        if c_above + cnt[e] >= k and m_above + mass[e] >= target:
            return e, c_above, m_above
        last, c_last, m_last = e, c_above, m_above
        c_above += cnt[e]
        m_above += mass[e]
    # target above the total by rounding: everything down to the last bin
    return last, c_last, m_last


def _bin_floor(e: int) -> float:
    """Smallest float64 of bin ``e``: ``x >= _bin_floor(e)`` exactly when
    ``x``'s bin is ``>= e`` (non-negative floats order as their bits)."""
    return float(np.array([int(e) << _SHIFT], dtype=np.uint64).view(np.float64)[0])


def _finish_threshold(vals, k, target, c_above, m_above):
    vals = -np.sort(-vals)  # the crossing bin, descending
    need = max(k - int(c_above), 1)
    rest = float(target) - float(m_above)
    if rest > 0:
        cum = np.cumsum(vals)
        need = max(need, int(np.searchsorted(cum, rest, side="left")) + 1)
    need = min(need, vals.shape[0])
    tau = float(vals[need - 1])
    n_gt = int(np.searchsorted(-vals, -tau, side="left"))  # entries of the bin > tau
    return tau, need - n_gt, int(c_above) + need


def select_threshold(K: np.ndarray, u: np.ndarray, v: np.ndarray, k: int,
                     target: float):
    """Threshold that keeps the fewest largest entries of ``P = diag(u) K
    diag(v)`` holding at least ``k`` entries and ``target`` mass, without
    forming or sorting ``P``.

    A histogram of the entries on a log scale (bins ``2**(1/4)`` apart, read
    from the float bits) finds the bin where the count and mass criteria are
    first met; only that bin's entries are sorted.

    Parameters
    ----------
    K : ndarray of shape (n, m)
        Non-negative, C-contiguous float64 (no NaN).
    u, v : ndarray of shape (n,), (m,)
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
    k = int(min(max(k, 1), K.size))
    cnt = np.zeros(_NBINS, dtype=np.int64)
    mass = np.zeros(_NBINS)
    _histogram(K, u, v, cnt, mass)
    e, c_above, m_above = _pick(cnt, mass, k, float(target))
    vals = np.empty(cnt[e])
    _gather_bin(K, u, v, e, vals)
    return _finish_threshold(vals, k, target, c_above, m_above)


@jit
def _gather_above(K, u, v, lo, Cp, J, V, cnt, hmass, sparse):
    """The entries ``>= lo`` in row-major order: row ``i``'s are
    ``J[Cp[i]:Cp[i + 1]]`` (columns) and ``V[...]`` (values), as many as
    ``V`` holds less one (a slack slot). Returns how many there are and their
    mass (summed in row-major order), and histograms them into ``cnt``,
    ``hmass`` (each bin summed in row-major order, as ``_histogram_row``).

    Past the cap, it stops at the end of the row and returns a count above
    the cap (``Cp``, mass and histogram then partial: the caller falls back).

    One fused pass: ``P_ij`` is formed (the products of ``_plan_row``) and
    compared in registers. Unless ``sparse``, every entry is written to slot
    ``p`` (clamped to the slack slot when the row may cross the cap) and
    ``p`` advances by the comparison, with no branch on it: in the Newton
    solves 17-30 % of the entries pass, and a branch on them is mispredicted
    often. With ``sparse`` (at most a few percent can pass before the cap),
    a branch is well predicted and cheaper than a write per entry. The mass
    and histogram are then taken over the row's kept entries, while they are
    in cache.
    """
    n, m = K.shape
    cap = V.shape[0] - 1
    bits = V.view(np.uint64)
    p = 0
    mass = 0.0
    Cp[0] = 0
    for i in range(n):
        ui = u[i]
        p0 = p
        if sparse:
            for j in range(m):
                x = K[i, j] * ui * v[j]
                if x >= lo:
                    q = _u(min(p, cap))
                    J[q] = j
                    V[q] = x
                    p += 1
            if p > cap:
                return p, mass
        elif p + m <= cap:  # the row fits: no clamp
            for j in range(m):
                x = K[i, j] * ui * v[j]
                J[_u(p)] = j
                V[_u(p)] = x
                p += x >= lo
        else:
            for j in range(m):
                x = K[i, j] * ui * v[j]
                q = _u(min(p, cap))
                J[q] = j
                V[q] = x
                p += x >= lo
            if p > cap:
                return p, mass
        Cp[i + 1] = p
        for q in range(_u(p0), _u(p)):
            x = V[q]
            mass += x
            e = bits[q] >> _SHIFT
            cnt[e] += 1
            hmass[e] += x
    return p, mass


@jit
def _filter(Cp, J, V, tau, n_eq, I):
    """Compacts the candidates (``Cp``, ``J``, ``V`` of :func:`_gather_above`)
    in place to those ``> tau`` and the first ``n_eq`` equal to ``tau``,
    writing their rows to ``I``; stops once ``I`` (the kept count) is full.

    Branch-free, as ``_gather_above`` (ties to ``tau`` are rare, their branch
    well predicted); in place is safe as the write slot never passes the
    read slot, and it spares fresh ``J``, ``V`` outputs (the first touch of
    a fresh array, its page faults, costs about as much as this pass).
    """
    full = I.shape[0]
    p = 0
    eq = n_eq
    for i in range(Cp.shape[0] - 1):
        q0, q1 = _u(Cp[i]), _u(Cp[i + 1])
        if eq > 0:  # ties to keep may remain
            for q in range(q0, q1):
                x = V[q]
                keep = x > tau
                if x == tau and eq > 0:
                    keep = True
                    eq -= 1
                I[_u(p)] = i
                J[_u(p)] = J[q]
                V[_u(p)] = x
                p += keep
                if p == full:
                    return p
        else:
            for q in range(q0, q1):
                x = V[q]
                I[_u(p)] = i
                J[_u(p)] = J[q]
                V[_u(p)] = x
                p += x > tau
                if p == full:
                    return p
    return p


def _candidates(K, u, v, lo, cap):
    """The entries ``>= lo`` (at most ``cap`` gathered) with their count,
    mass and histogram."""
    Cp = np.empty(K.shape[0] + 1, dtype=np.int64)
    J, V = np.empty(cap + 1, dtype=np.int64), np.empty(cap + 1)
    cnt = np.zeros(_NBINS, dtype=np.int64)
    hmass = np.zeros(_NBINS)
    # (a branch per entry where at most 1/16 of them can be gathered)
    p, mass = _gather_above(K, u, v, float(lo), Cp, J, V, cnt, hmass, 16 * cap <= K.size)
    return Cp, J, V, cnt, hmass, p, mass


def _top_of_candidates(Cp, J, V, p, cnt, hmass, k, target):
    """The kept triplets among the ``p`` candidates of :func:`_candidates`
    (the entries ``>= lo`` for some ``lo``, holding at least ``k`` entries
    and ``target`` mass): the selection of :func:`select_threshold` on them."""
    e, c_above, m_above = _pick(cnt, hmass, k, float(target))
    vals = np.empty(cnt[e])
    _gather_bin_row(V[:p], e, vals, 0)
    tau, n_eq, kept = _finish_threshold(vals, k, target, c_above, m_above)
    I = np.empty(kept, dtype=np.int64)
    _filter(Cp, J, V, tau, n_eq, I)
    return I, J[:kept], V[:kept], tau


def top_entries(K: np.ndarray, u: np.ndarray, v: np.ndarray, k: int, target: float,
                lo: float = 0.0):
    """The fewest largest entries of ``P = diag(u) K diag(v)`` holding at
    least ``k`` entries and ``target`` mass (ties: row-major order), as
    row-major triplets.

    With a guess ``lo > 0`` of the threshold (the last Newton step's, divided
    by a margin), one pass gathers the entries ``>= lo`` and the selection
    runs on them alone; when they do not suffice (or are too many), the
    histogram of :func:`select_threshold` over all of ``P`` finds the
    crossing bin, and one more pass gathers the entries of that bin and
    above for the same selection.

    Returns
    -------
    I, J : ndarray of int64
        Row and column of each kept entry, row-major order.
    V : ndarray
        The entries.
    tau : float
        The smallest kept entry.

    Notes
    -----
    ``J`` and ``V`` are the leading parts of the candidate buffers (the kept
    entries are compacted in place), so their bases may be larger.
    """
    size = K.size
    k = int(min(max(k, 1), size))
    if lo > 0:
        # (measured: 1.3-1.4 k entries lie above tau/16 of the last step)
        cap = min(size, 4 * k + 4096)
        Cp, J, V, cnt, hmass, p, mass = _candidates(K, u, v, lo, cap)
        if k <= p <= cap and mass >= target:
            return _top_of_candidates(Cp, J, V, p, cnt, hmass, k, target)
        del Cp, J, V
    cnt = np.zeros(_NBINS, dtype=np.int64)
    mass = np.zeros(_NBINS)
    _histogram(K, u, v, cnt, mass)
    e, c_above, _ = _pick(cnt, mass, k, float(target))
    # exactly c_above + cnt[e] entries lie in the crossing bin and above; their
    # histogram is P's over those bins (summed in the same order), so the
    # selection on them is select_threshold's
    Cp, J, V, cnt, hmass, p, _ = _candidates(K, u, v, _bin_floor(e), int(c_above + cnt[e]))
    return _top_of_candidates(Cp, J, V, p, cnt, hmass, k, target)


@jit
def _schur_rows(Bp, Bj, Bx, rinv, dc, x, y):
    for j in range(y.shape[0]):
        y[j] = dc[j] * x[j]
    for i in range(Bp.shape[0] - 1):
        q0, q1 = _u(Bp[i]), _u(Bp[i + 1])
        s = 0.0
        for q in range(q0, q1):
            s += Bx[q] * x[_u(Bj[q])]
        wi = s * rinv[i]
        for q in range(q0, q1):
            y[_u(Bj[q])] -= Bx[q] * wi


def schur_product(Bp: np.ndarray, Bj: np.ndarray, Bx: np.ndarray, rinv: np.ndarray,
                  dc: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``(diag(dc) - B^T diag(rinv) B) x`` in one pass over ``B``.

    Row ``i`` of ``B`` gives ``w_i = rinv_i (B x)_i`` and, while it is in
    cache, scatters ``-w_i B[i, :]``: half the memory traffic of the two
    SpMVs ``B @ x`` and ``B.T @ w`` (measured 1.2-2.3x faster per CG
    iteration of the Newton solve, where ``B`` has 6 to 170 entries a row).

    Parameters
    ----------
    Bp, Bj, Bx : ndarray
        CSR arrays of ``B`` (shape ``(n, m)``; int64 indices, float64).
    rinv, dc : ndarray of shape (n,), (m,)
    x : ndarray of shape (m,)

    Returns
    -------
    ndarray of shape (m,)
    """
    y = np.empty(dc.shape[0])
    _schur_rows(Bp, Bj, Bx, rinv, dc, x, y)
    return y
