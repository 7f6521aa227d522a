"""Dense-plan kernels of Sinkhorn-Newton-Sparse (:mod:`sparsela.ot`) on raw arrays.

The solver keeps the current transport plan ``P`` (``n x m``, C order,
float64) in place and rescales it by row and column factors instead of
recomputing ``exp(-M/reg + alpha + beta)``: a Sinkhorn iteration or an
accepted Newton step is one read-write pass over ``P`` (no exponential),
which also returns the row and column sums (the marginals, hence the
gradient). Entries that fall below ``TINY`` are set to 0: subnormal numbers
make every later pass an order of magnitude slower, and the solver recomputes
``P`` exactly from its potentials before such an entry could matter (see
``sparsela/ot/_sns.py``).

Row-parallel kernels split the rows into one chunk per thread; each chunk
sums its columns into a private row of ``cpart`` (shape ``(nparts, m)``),
added up in a fixed order by the caller. Float64 only (the solvers work in
float64).
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import jit, threads

__all__ = [
    "TINY",
    "sinkhorn_sweep",
    "scale_plan",
    "select_threshold",
    "hessian_csr",
    "csr_matvec",
    "hessian_solve",
]

#: plan entries below this are flushed to 0 (no subnormals)
TINY = 1e-300
#: exponents below this give 0 in the exact row fallback (as ``safe_exp``)
_EXP_FLOOR = -700.0
#: a row whose mass fell below ``_ROW_RESCUE * a_i`` is recomputed from the
#: potentials (its flushed entries could matter after a larger rescaling)
_ROW_RESCUE = 1e-250


@jit
def _exact_row(P, Mr, i, a_i, alpha, beta, cpart):
    """Row ``i`` of the plan from the potentials with ``alpha_i`` chosen so that
    the row sums to ``a_i`` (a max-shifted log-sum-exp). Returns the row sum."""
    m = P.shape[1]
    mx = -np.inf
    for j in range(m):
        v = Mr[i, j] + beta[j]
        if v > mx:
            mx = v
    s = 0.0
    for j in range(m):
        s += np.exp(Mr[i, j] + beta[j] - mx)
    alpha[i] = np.log(a_i) - (mx + np.log(s))
    s = 0.0
    for j in range(m):
        x = Mr[i, j] + alpha[i] + beta[j]
        v = np.exp(x) if x > _EXP_FLOOR else 0.0
        if v < TINY:
            v = 0.0
        P[i, j] = v
        cpart[j] += v
        s += v
    return s


@jit
def _sweep_rows(P, f, a, alpha, beta, Mr, r, cpart, r0, r1):
    m = P.shape[1]
    for j in range(m):
        cpart[j] = 0.0
    grow = 0.0
    for i in range(r0, r1):
        row = P[i]
        s = 0.0
        for j in range(m):
            v = row[j] * f[j]
            row[j] = v
            s += v
        if s > _ROW_RESCUE * a[i] and s < np.inf:
            u = a[i] / s
            lu = np.log(u)
            alpha[i] += lu
            if lu > grow:
                grow = lu
            s = 0.0
            for j in range(m):
                v = row[j] * u
                if v < TINY:
                    v = 0.0
                row[j] = v
                cpart[j] += v
                s += v
        else:
            old = alpha[i]
            s = _exact_row(P, Mr, i, a[i], alpha, beta, cpart)
            if alpha[i] - old > grow:
                grow = alpha[i] - old
        r[i] = s
    return grow


@jit(parallel=True)
def _sweep_parts(P, f, a, alpha, beta, Mr, r, cpart, rb):
    nparts = rb.shape[0] - 1
    grow = np.zeros(nparts)
    for t in prange(nparts):
        grow[t] = _sweep_rows(P, f, a, alpha, beta, Mr, r, cpart[t], rb[t], rb[t + 1])
    return grow.max()


def _parts(n: int, nt: int) -> np.ndarray:
    return (np.arange(nt + 1, dtype=np.int64) * n) // nt


def sinkhorn_sweep(P: np.ndarray, f: np.ndarray, a: np.ndarray, alpha: np.ndarray,
                   beta: np.ndarray, Mr: np.ndarray, r: np.ndarray,
                   c: np.ndarray) -> float:
    """One Sinkhorn iteration on the plan in place: ``P *= f`` (columns), then
    each row scaled to sum to ``a``.

    ``beta`` must already include ``log f``. A row whose mass fell below
    ``1e-250 a_i`` is recomputed exactly from ``Mr + alpha_i + beta`` (its
    ``alpha_i`` by a log-sum-exp) instead of being scaled.

    Parameters
    ----------
    P : ndarray of shape (n, m)
        The plan, C-contiguous float64; overwritten.
    f : ndarray of shape (m,)
        Column factors (``b / c``).
    a : ndarray of shape (n,)
        Row marginal.
    alpha : ndarray of shape (n,)
        Log row potentials; updated in place (``+= log(a / rowsum)``).
    beta : ndarray of shape (m,)
        Log column potentials (only read, by the exact-row fallback).
    Mr : ndarray of shape (n, m)
        ``-M / reg``.
    r, c : ndarray of shape (n,), (m,)
        Output: row and column sums of the new plan.

    Returns
    -------
    float
        ``max(0, max_i log(row factor))``: how much any entry grew.
    """
    n, m = P.shape
    with threads(work=n * m) as nt:
        nt = max(1, min(nt, n))
        cpart = np.empty((nt, m))
        if nt == 1:
            grow = _sweep_rows(P, f, a, alpha, beta, Mr, r, cpart[0], 0, n)
        else:
            grow = _sweep_parts(P, f, a, alpha, beta, Mr, r, cpart, _parts(n, nt))
    np.sum(cpart, axis=0, out=c)
    return float(grow)


@jit
def _scale_rows(P, eu, ev, r, cpart, r0, r1):
    m = P.shape[1]
    for j in range(m):
        cpart[j] = 0.0
    for i in range(r0, r1):
        row = P[i]
        ui = eu[i]
        s = 0.0
        for j in range(m):
            v = row[j] * ui * ev[j]
            if v < TINY:
                v = 0.0
            row[j] = v
            cpart[j] += v
            s += v
        r[i] = s


@jit(parallel=True)
def _scale_parts(P, eu, ev, r, cpart, rb):
    for t in prange(rb.shape[0] - 1):
        _scale_rows(P, eu, ev, r, cpart[t], rb[t], rb[t + 1])


def scale_plan(P: np.ndarray, eu: np.ndarray, ev: np.ndarray, r: np.ndarray,
               c: np.ndarray) -> None:
    """``P[i, j] *= eu[i] * ev[j]`` in place (entries below ``TINY`` set to 0),
    with the row sums into ``r`` and the column sums into ``c``."""
    n, m = P.shape
    with threads(work=n * m) as nt:
        nt = max(1, min(nt, n))
        cpart = np.empty((nt, m))
        if nt == 1:
            _scale_rows(P, eu, ev, r, cpart[0], 0, n)
        else:
            _scale_parts(P, eu, ev, r, cpart, _parts(n, nt))
    np.sum(cpart, axis=0, out=c)


#: histogram bins of the selection: the 11 exponent bits and the top 4
#: mantissa bits of a non-negative float64 (bins 2**(1/16) apart)
_SHIFT = 48
_NBINS = 1 << 15


@jit
def _histogram(flat, cnt, mass):
    bits = flat.view(np.uint64)
    for q in range(flat.shape[0]):
        e = bits[q] >> _SHIFT
        cnt[e] += 1
        mass[e] += flat[q]


@jit
def _gather_bin(flat, e, out):
    bits = flat.view(np.uint64)
    p = 0
    for q in range(flat.shape[0]):
        if (bits[q] >> _SHIFT) == e:
            out[p] = flat[q]
            p += 1
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


def select_threshold(P: np.ndarray, k: int, target: float):
    """Threshold that keeps the fewest largest entries of ``P`` holding at least
    ``k`` entries and ``target`` mass, without sorting ``P``.

    A histogram of the entries on a log scale (bins ``2**(1/16)`` apart, read
    from the float bits) finds the bin where the count and mass criteria are
    first met; only that bin's entries are sorted.

    Parameters
    ----------
    P : ndarray of shape (n, m)
        Non-negative, C-contiguous float64 (no NaN).
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
    flat = P.reshape(-1)
    k = int(min(max(k, 1), flat.shape[0]))
    cnt = np.zeros(_NBINS, dtype=np.int64)
    mass = np.zeros(_NBINS)
    _histogram(flat, cnt, mass)
    e, c_above, m_above = _pick(cnt, mass, k, float(target))
    vals = np.empty(cnt[e])
    _gather_bin(flat, e, vals)
    vals = -np.sort(-vals)  # descending
    need = max(k - int(c_above), 1)
    rest = float(target) - float(m_above)
    if rest > 0:
        cum = np.cumsum(vals)
        need = max(need, int(np.searchsorted(cum, rest, side="left")) + 1)
    need = min(need, vals.shape[0])
    tau = float(vals[need - 1])
    n_gt = int(np.searchsorted(-vals, -tau, side="left"))  # entries of the bin > tau
    return tau, need - n_gt, int(c_above) + need


@jit
def _hessian_csr(P, tau, n_eq, kept, dr, dc, indptr, indices, data):
    n, m = P.shape
    I = np.empty(kept, dtype=np.int64)
    J = np.empty(kept, dtype=np.int64)
    V = np.empty(kept)
    cnt_r = np.zeros(n, dtype=np.int64)
    cnt_c = np.zeros(m + 1, dtype=np.int64)
    p = 0
    eq = n_eq
    for i in range(n):
        for j in range(m):
            v = P[i, j]
            if v > tau or (v == tau and eq > 0):
                if v == tau:
                    eq -= 1
                I[p] = i
                J[p] = j
                V[p] = v
                p += 1
                cnt_r[i] += 1
                cnt_c[j + 1] += 1
    # top half: row i = [i | n + J of row i] (row-major walk: columns sorted)
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
    for q in range(p):
        j = J[q]
        at = base + cnt_c[j] + j + fill[j]
        indices[at] = I[q]
        data[at] = V[q]
        fill[j] += 1
    for j in range(m):
        at = base + cnt_c[j + 1] + j
        indices[at] = n + j
        data[at] = dc[j]
    indptr[n + m] = base + p + m
    return p


def hessian_csr(P: np.ndarray, tau: float, n_eq: int, kept: int, dr: np.ndarray,
                dc: np.ndarray):
    """CSR arrays of ``[[diag(dr), P_s], [P_s^T, diag(dc)]]``, where ``P_s``
    keeps the entries of ``P`` chosen by :func:`select_threshold`.

    Each row is sorted: the diagonal, then ``P_s`` in the top half; ``P_s^T``,
    then the diagonal in the bottom half.

    Returns
    -------
    data, indices, indptr : ndarray
        ``nnz = n + m + 2 kept``; int32 indices while they fit.
    """
    n, m = P.shape
    nnz = n + m + 2 * kept
    idx = np.int32 if nnz < 2**31 - 1 else np.int64
    indptr = np.empty(n + m + 1, dtype=idx)
    indices = np.empty(nnz, dtype=idx)
    data = np.empty(nnz)
    got = _hessian_csr(P, float(tau), int(n_eq), int(kept), dr, dc, indptr, indices, data)
    if got != kept:  # pragma: no cover - select_threshold and this walk disagree
        raise RuntimeError(f"kept {got} entries, expected {kept}")
    return data, indices, indptr


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
