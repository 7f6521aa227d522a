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
    bits = buf.view(np.uint64)
    for j in range(buf.shape[0]):
        if (bits[j] >> _SHIFT) == e:
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
def _gather_kept(K, u, v, tau, n_eq, I, J, V):
    """The entries ``> tau`` and the first ``n_eq`` equal to ``tau``, in
    row-major order; returns their number."""
    m = K.shape[1]
    buf = np.empty(m)
    p = 0
    eq = n_eq
    for i in range(K.shape[0]):
        _plan_row(K, u, v, i, buf)
        for j in range(m):
            x = buf[j]
            if x > tau or (x == tau and eq > 0):
                if x == tau:
                    eq -= 1
                I[p] = i
                J[p] = j
                V[p] = x
                p += 1
    return p


@jit
def _gather_above(K, u, v, lo, I, J, V):
    """The entries ``>= lo`` in row-major order, as many as ``I`` holds;
    returns how many there are (also beyond ``I``'s length) and their mass."""
    m = K.shape[1]
    cap = I.shape[0]
    buf = np.empty(m)
    p = 0
    mass = 0.0
    for i in range(K.shape[0]):
        _plan_row(K, u, v, i, buf)
        for j in range(m):
            x = buf[j]
            if x >= lo:
                if p < cap:
                    I[p] = i
                    J[p] = j
                    V[p] = x
                p += 1
                mass += x
    return p, mass


@jit
def _filter(I, J, V, tau, n_eq, oI, oJ, oV):
    p = 0
    eq = n_eq
    for q in range(V.shape[0]):
        x = V[q]
        if x > tau or (x == tau and eq > 0):
            if x == tau:
                eq -= 1
            oI[p] = I[q]
            oJ[p] = J[q]
            oV[p] = x
            p += 1
    return p


@jit
def _flat_histogram(V, cnt, mass):
    _histogram_row(V, cnt, mass)


def top_entries(K: np.ndarray, u: np.ndarray, v: np.ndarray, k: int, target: float,
                lo: float = 0.0):
    """The fewest largest entries of ``P = diag(u) K diag(v)`` holding at
    least ``k`` entries and ``target`` mass (ties: row-major order), as
    row-major triplets.

    With a guess ``lo > 0`` of the threshold (the last Newton step's, divided
    by a margin), one pass gathers the entries ``>= lo`` and the selection
    runs on them alone; when they do not suffice (or are too many), the
    histogram of :func:`select_threshold` over all of ``P`` decides.

    Returns
    -------
    I, J : ndarray of int64
        Row and column of each kept entry, row-major order.
    V : ndarray
        The entries.
    tau : float
        The smallest kept entry.
    """
    size = K.size
    k = int(min(max(k, 1), size))
    if lo > 0:
        # (measured: 1.3-1.4 k entries lie above tau/16 of the last step)
        cap = min(size, 4 * k + 4096)
        I, J, V = np.empty(cap, dtype=np.int64), np.empty(cap, dtype=np.int64), np.empty(cap)
        p, mass = _gather_above(K, u, v, float(lo), I, J, V)
        if k <= p <= cap and mass >= target:
            V = V[:p]
            cnt = np.zeros(_NBINS, dtype=np.int64)
            hmass = np.zeros(_NBINS)
            _flat_histogram(V, cnt, hmass)
            e, c_above, m_above = _pick(cnt, hmass, k, float(target))
            vals = np.empty(cnt[e])
            _gather_bin_row(V, e, vals, 0)
            tau, n_eq, kept = _finish_threshold(vals, k, target, c_above, m_above)
            oI, oJ, oV = (np.empty(kept, dtype=np.int64), np.empty(kept, dtype=np.int64),
                          np.empty(kept))
            _filter(I[:p], J[:p], V, tau, n_eq, oI, oJ, oV)
            return oI, oJ, oV, tau
    tau, n_eq, kept = select_threshold(K, u, v, k, target)
    I, J, V = np.empty(kept, dtype=np.int64), np.empty(kept, dtype=np.int64), np.empty(kept)
    _gather_kept(K, u, v, tau, n_eq, I, J, V)
    return I, J, V, tau


# Index through unsigned values (as spmv.py): Numba must otherwise treat every
# signed index as possibly negative (wraparound), a branch per access.
_u = np.uint64


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
