"""Kernels of Sinkhorn-Newton-Sparse (:mod:`sparsela.ot`) on raw arrays.

The solver holds the plan as ``P = diag(u) K diag(v)`` with a fixed dense
kernel ``K`` (``n x m``, C order, float64) and scaling vectors ``u``, ``v``
(the stabilized-kernel form of Schmitzer, 2019): Sinkhorn iterations, the
marginals and the line search are matrix-vector products with ``K`` (BLAS),
and these kernels read ``P_ij = K_ij u_i v_j`` on the fly to choose the
entries of the sparsified Newton Hessian and write it in CSR form, and solve
the Newton system by conjugate gradient on its Schur complement. Float64 only
(the solvers work in float64); one thread (the passes are read-only and
short; the systems are small).
"""
from __future__ import annotations

import numpy as np

from ._jit import jit

__all__ = [
    "select_threshold",
    "top_entries",
    "hessian_from_entries",
    "hessian_csr",
    "csr_matvec",
    "hessian_solve",
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
        cap = min(size, 16 * k + 4096)
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


@jit
def _block_csr(I, J, V, n, m, dr, dc, indptr, indices, data):
    kept = V.shape[0]
    cnt_r = np.zeros(n, dtype=np.int64)
    cnt_c = np.zeros(m + 1, dtype=np.int64)
    for q in range(kept):
        cnt_r[I[q]] += 1
        cnt_c[J[q] + 1] += 1
    # top half: row i = [i | n + J of row i] (row-major triplets: sorted)
    pos = 0
    q = 0
    for i in range(n):
        indptr[i] = pos
        indices[pos] = i
        data[pos] = dr[i]
        pos += 1
        for _ in range(cnt_r[i]):
            indices[pos] = n + J[q]
            data[pos] = V[q]
            pos += 1
            q += 1
    # bottom half: row n + j = [I of column j (increasing) | n + j]
    base = pos
    for j in range(m):
        cnt_c[j + 1] += cnt_c[j]
    for j in range(m):
        indptr[n + j] = base + cnt_c[j] + j
    fill = np.zeros(m, dtype=np.int64)
    for q in range(kept):
        j = J[q]
        at = base + cnt_c[j] + j + fill[j]
        indices[at] = I[q]
        data[at] = V[q]
        fill[j] += 1
    for j in range(m):
        at = base + cnt_c[j + 1] + j
        indices[at] = n + j
        data[at] = dc[j]
    indptr[n + m] = base + kept + m


def hessian_from_entries(I: np.ndarray, J: np.ndarray, V: np.ndarray, n: int, m: int,
                         dr: np.ndarray, dc: np.ndarray):
    """CSR arrays of ``[[diag(dr), P_s], [P_s^T, diag(dc)]]`` from the
    row-major triplets ``(I, J, V)`` of ``P_s``.

    Each row is sorted: the diagonal, then ``P_s`` in the top half; ``P_s^T``,
    then the diagonal in the bottom half.

    Returns
    -------
    data, indices, indptr : ndarray
        ``nnz = n + m + 2 len(V)``; int32 indices while they fit.
    """
    kept = V.shape[0]
    nnz = n + m + 2 * kept
    idx = np.int32 if nnz < 2**31 - 1 else np.int64
    indptr = np.empty(n + m + 1, dtype=idx)
    indices = np.empty(nnz, dtype=idx)
    data = np.empty(nnz)
    _block_csr(I, J, V, n, m, dr, dc, indptr, indices, data)
    return data, indices, indptr


def hessian_csr(K: np.ndarray, u: np.ndarray, v: np.ndarray, tau: float, n_eq: int,
                kept: int, dr: np.ndarray, dc: np.ndarray):
    """:func:`hessian_from_entries` of the entries of ``P = diag(u) K diag(v)``
    chosen by :func:`select_threshold` (``> tau``, and the first ``n_eq``
    equal to it)."""
    I, J, V = np.empty(kept, dtype=np.int64), np.empty(kept, dtype=np.int64), np.empty(kept)
    got = _gather_kept(K, u, v, float(tau), int(n_eq), I, J, V)
    if got != kept:  # pragma: no cover - select_threshold and this walk disagree
        raise RuntimeError(f"kept {got} entries, expected {kept}")
    n, m = K.shape
    return hessian_from_entries(I, J, V, n, m, dr, dc)


@jit
def _csr_matvec(Ap, Aj, Ax, x, y):
    for i in range(Ap.shape[0] - 1):
        s = 0.0
        for q in range(Ap[i], Ap[i + 1]):
            s += Ax[q] * x[Aj[q]]
        y[i] = s


def csr_matvec(Ap: np.ndarray, Aj: np.ndarray, Ax: np.ndarray, x: np.ndarray,
               y: np.ndarray) -> np.ndarray:
    """``y[:] = A @ x`` on one thread (the Hessian is small: a parallel launch
    per CG iteration costs more than the product). Returns ``y``."""
    _csr_matvec(Ap, Aj, Ax, x, y)
    return y


@jit
def _schur_apply(Hp, Hj, Hx, n, m, dr, dc, x, w, y):
    """``y = (diag(dc) - B^T diag(1/dr) B) x`` with ``B`` the top-right block of
    the block Hessian in CSR arrays ``(Hp, Hj, Hx)``; ``w`` is scratch (n)."""
    for i in range(n):
        s = 0.0
        for q in range(Hp[i] + 1, Hp[i + 1]):  # after the diagonal
            s += Hx[q] * x[Hj[q] - n]
        w[i] = s / dr[i]
    for j in range(m):
        s = 0.0
        for q in range(Hp[n + j], Hp[n + j + 1] - 1):  # before the diagonal
            s += Hx[q] * w[Hj[q]]
        y[j] = dc[j] * x[j] - s


@jit
def _schur_pcg(Hp, Hj, Hx, n, m, dr, dc, ga, gb, xa, xb, tol, maxiter):
    w = np.empty(n)
    # right-hand side gb - B^T diag(1/dr) ga, and the diagonal of the Schur
    # complement (its Jacobi preconditioner)
    rhs = np.empty(m)
    sdinv = np.empty(m)
    for i in range(n):
        w[i] = ga[i] / dr[i]
    for j in range(m):
        s = 0.0
        d = dc[j]
        for q in range(Hp[n + j], Hp[n + j + 1] - 1):
            s += Hx[q] * w[Hj[q]]
            d -= Hx[q] * Hx[q] / dr[Hj[q]]
        rhs[j] = gb[j] - s
        sdinv[j] = 1.0 / d if d > 0.0 else 1.0 / dc[j]
    r = rhs.copy()
    z = np.empty(m)
    p = np.empty(m)
    q_ = np.empty(m)
    rz = 0.0
    rr = 0.0
    for j in range(m):
        xb[j] = 0.0
        z[j] = sdinv[j] * r[j]
        p[j] = z[j]
        rz += r[j] * z[j]
        rr += r[j] * r[j]
    it = 0
    ok = rr <= tol * tol
    while not ok and it < maxiter:
        it += 1
        _schur_apply(Hp, Hj, Hx, n, m, dr, dc, p, w, q_)
        pq = 0.0
        for j in range(m):
            pq += p[j] * q_[j]
        if not pq > 0.0:  # breakdown
            break
        step = rz / pq
        rr = 0.0
        for j in range(m):
            xb[j] += step * p[j]
            r[j] -= step * q_[j]
            rr += r[j] * r[j]
        if rr <= tol * tol:
            ok = True
            break
        rz_new = 0.0
        for j in range(m):
            z[j] = sdinv[j] * r[j]
            rz_new += r[j] * z[j]
        beta = rz_new / rz
        rz = rz_new
        for j in range(m):
            p[j] = z[j] + beta * p[j]
    # back substitution: xa = diag(1/dr) (ga - B xb)
    for i in range(n):
        s = 0.0
        for q in range(Hp[i] + 1, Hp[i + 1]):
            s += Hx[q] * xb[Hj[q] - n]
        xa[i] = (ga[i] - s) / dr[i]
    return it, ok


def hessian_solve(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, n: int,
                  dr: np.ndarray, dc: np.ndarray, g: np.ndarray, rtol: float,
                  maxiter: int):
    """Solve ``[[diag(dr), B], [B^T, diag(dc)]] d = g`` (the block Hessian of
    :func:`hessian_csr`) by CG on the Schur complement
    ``S = diag(dc) - B^T diag(1/dr) B`` with its diagonal as preconditioner.

    Eliminating the row block is exact and cheap (``dr`` is diagonal), and
    for this two-cyclic matrix CG on ``S`` needs half the iterations of
    Jacobi-preconditioned CG on the whole system (its scaled spectrum is
    ``1 - s^2`` where the whole system's is ``1 +- s``), each about half as
    costly. The residual of the whole system at ``(d_a, d_b)`` with
    ``d_a = diag(1/dr) (g_a - B d_b)`` is ``(0, S d_b - rhs)``: the stopping
    rule ``||residual|| <= rtol ||g||`` is that of :func:`sparsela.linalg.cg`.

    Returns
    -------
    d : ndarray of shape (n + m,)
    n_iter : int
    converged : bool
    """
    m = dc.shape[0]
    d = np.empty(n + m)
    tol = float(rtol) * float(np.linalg.norm(g))
    n_iter, ok = _schur_pcg(indptr, indices, data, n, m, dr, dc, g[:n], g[n:], d[:n],
                            d[n:], tol, int(maxiter))
    return d, int(n_iter), bool(ok)
