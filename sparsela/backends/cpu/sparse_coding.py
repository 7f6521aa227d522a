"""Lasso sparse coding of many signals at once: FISTA per row, in parallel.

Each row ``i`` solves, in the Gram form (``G = D D^T``, ``c = D x_i``,
``xx = ||x_i||^2``)::

    min_z  0.5 z G z - c.z + 0.5 xx + alpha ||z||_1      (= 0.5||x - z D||^2 + ...)

with FISTA (ISTA when ``accelerate`` is false) and stops when the Lasso
duality gap is at most ``tol * xx``. Three things make it fast on a CPU,
where each row's state then stays in cache:

* **working sets** (Celer, Massias et al. 2018): FISTA runs on the atoms of
  the support plus the atoms that violate the dual constraint most, with
  the Gram block of those atoms gathered contiguously; the full gradient
  (one pass over the support times ``G``) is taken only between subproblems,
  where it also gives the duality gap of the whole problem. A cold start
  begins with the atoms whose correlation is above ``alpha`` when they are
  few (incoherent dictionaries, e.g. sparse signals against
  random atoms: then one subproblem and one check usually suffice);
* **support polishing**: once the signs of the iterate have not changed for
  a few steps, the restricted problem is solved exactly (Cholesky on the
  support); the point is kept if its signs agree, which makes it the exact
  minimiser on that face of the orthant, so it can only lower the objective;
* the gradient-mapping restart test (O'Donoghue and Candes) resets the
  momentum whenever a step is non-monotone.

The step on a working set is ``1 / L`` with ``L`` the Gershgorin bound of its
Gram block, capped by the global Lipschitz constant the caller passes (a
Lanczos estimate); both are upper bounds of the block's largest
eigenvalue. The stopping test is the duality gap of the full problem, so the
extras change how fast a row converges, never what it converges to.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import jit, threads

__all__ = ["lasso_rows"]

#: smallest working set (atoms)
WS_MIN = 5
#: first working set of a cold start: the atoms with ``|c_j| > WS_FIRST_RHO *
#: alpha`` (the dual violations at 0: for an incoherent dictionary, most of
#: the support, and the rest is found by the next full gradient) when there
#: are at most WS_FIRST_MAX of them; otherwise WS_MIN atoms, grown by
#: doubling. Measured on sparse signals against random atoms, 1.0 beats a
#: margin (0.85: a larger block to gather and polish in every row)
WS_FIRST_RHO = 1.0
WS_FIRST_MAX = 64
#: a subproblem is solved to this fraction of the current full gap: tight,
#: because a step on the working set costs a fraction of the full gradient
#: (``nnz x k``) that every outer round pays, and polishing usually ends the
#: subproblem exactly anyway
INNER_RATIO = 1e-3
#: polish after this many steps without a sign change (doubles after a failure)
POLISH_EVERY = 2
#: largest support polished (Cholesky of a POLISH_MAX^2 block)
POLISH_MAX = 128


@jit
def _gap(z, g, c, xx, alpha, positive, m):
    """Duality gap at ``z`` (length ``m``) given ``g = G z - c``."""
    zc = 0.0
    zgz = 0.0
    l1 = 0.0
    dn = 0.0
    for j in range(m):
        v = z[j]
        if v != 0.0:
            zc += v * c[j]
            zgz += v * (g[j] + c[j])
            l1 += abs(v)
        a = -g[j] if positive else abs(g[j])
        dn = max(dn, a)
    rr = max(xx - 2.0 * zc + zgz, 0.0)          # ||x - z D||^2
    s = 1.0                           # dual point theta = s r, |D theta|_inf <= alpha
    if dn > alpha:
        s = alpha / dn
    return 0.5 * rr + alpha * l1 - s * (xx - zc) + 0.5 * s * s * rr


@jit
def _chol_solve(M, m, rhs):
    """Solve ``M[:m, :m] w = rhs[:m]`` in place (lower triangle of M given).
    False when the block is not (numerically) positive definite."""
    for a in range(m):
        s = M[a, a]
        for q in range(a):
            s -= M[a, q] * M[a, q]
        if not (s > 1e-12 * M[a, a] and s > 0.0):
            return False
        d = np.sqrt(s)
        M[a, a] = d
        for b in range(a + 1, m):
            s2 = M[b, a]
            for q in range(a):
                s2 -= M[b, q] * M[a, q]
            M[b, a] = s2 / d
    for a in range(m):
        s = rhs[a]
        for q in range(a):
            s -= M[a, q] * rhs[q]
        rhs[a] = s / M[a, a]
    for a in range(m - 1, -1, -1):
        s = rhs[a]
        for q in range(a + 1, m):
            s -= M[q, a] * rhs[q]
        rhs[a] = s / M[a, a]
    return True


@jit
def _fista(GW, cW, m, xx, alpha, L, eps, max_iter, positive, accelerate,
           z, y, g, zn, idx, S, M, w):
    """FISTA on the ``m``-atom problem ``(GW[:m, :m], cW[:m])`` from ``z``
    (updated in place) until its gap is ``<= eps``. Returns (steps, gap)."""
    thr = alpha / L
    t = 1.0
    stable = 0
    wait = POLISH_EVERY
    gap = np.inf
    for j in range(m):
        y[j] = z[j]
    for it in range(max_iter):
        nnz = 0
        for j in range(m):
            g[j] = -cW[j]
            if y[j] != 0.0:
                idx[nnz] = j
                nnz += 1
        for q in range(nnz):
            jj = idx[q]
            v = y[jj]
            for j in range(m):
                g[j] += v * GW[jj, j]
        gap = _gap(y, g, cW, xx, alpha, positive, m)
        # proximal step from y; restart test; sign changes
        dot = 0.0
        same = True
        ns = 0
        for j in range(m):
            v = y[j] - g[j] / L
            if positive:
                v = v - thr if v > thr else 0.0
            else:
                v = v - thr if v > thr else (v + thr if v < -thr else 0.0)
            zn[j] = v
            if (v > 0.0) != (z[j] > 0.0) or (v < 0.0) != (z[j] < 0.0):
                same = False
            if v != 0.0:
                S[ns] = j
                ns += 1
            dot += (y[j] - v) * (v - z[j])
        if gap <= eps:
            # the prox step from a point with a small gap lowers the objective
            for j in range(m):
                z[j] = zn[j]
            return it + 1, gap
        stable = stable + 1 if same else 0
        beta = 0.0
        if accelerate:
            if dot > 0.0:
                t = 1.0
            else:
                tn = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
                beta = (t - 1.0) / tn
                t = tn
        for j in range(m):
            v = zn[j]
            y[j] = v + beta * (v - z[j])
            z[j] = v
        if stable >= wait and 0 < ns <= M.shape[0]:
            stable = 0
            for a in range(ns):
                sa = S[a]
                for b in range(a + 1):
                    M[a, b] = GW[sa, S[b]]
                w[a] = cW[sa] - (alpha if z[sa] > 0.0 else -alpha)
            ok = _chol_solve(M, ns, w)
            if ok:
                for a in range(ns):
                    if w[a] == 0.0 or (w[a] > 0.0) != (z[S[a]] > 0.0):
                        ok = False
                        break
            if ok:
                for j in range(m):
                    y[j] = 0.0
                for a in range(ns):
                    y[S[a]] = w[a]
                t = 1.0
                wait = POLISH_EVERY
            else:
                wait *= 2
    return max_iter, gap


@jit
def _solve_row(c, G, xx, alpha, Lg, tol, max_iter, positive, accelerate, z, g,
               score, order, gw, fb, ib, M, w):
    """One signal; ``z`` holds the start point and receives the code."""
    k = c.shape[0]
    target = tol * xx
    total = 0
    gap = np.inf
    while True:
        # full gradient G z - c over the support of z, and the full gap
        nnz = 0
        for j in range(k):
            g[j] = -c[j]
        for jj in range(k):
            v = z[jj]
            if v != 0.0:
                nnz += 1
                for j in range(k):
                    g[j] += v * G[jj, j]
        gap = _gap(z, g, c, xx, alpha, positive, k)
        if gap <= target or total >= max_iter:
            return total, gap
        # working set: the support, then the largest dual violations
        m = k if alpha == 0.0 else min(k, max(WS_MIN, 2 * nnz))
        if nnz == 0 and 0.0 < alpha:
            nv = 0
            for j in range(k):
                sc = -g[j] if positive else abs(g[j])
                if sc > WS_FIRST_RHO * alpha:
                    nv += 1
            if nv <= WS_FIRST_MAX:
                m = min(k, max(WS_MIN, nv))
        r = m - nnz
        cnt = 0
        for j in range(k):
            if z[j] != 0.0 or r <= 0:
                continue
            sc = -g[j] if positive else abs(g[j])
            if cnt < r:
                pos = cnt
                cnt += 1
            elif sc > score[r - 1]:
                pos = r - 1
            else:
                continue
            while pos > 0 and score[pos - 1] < sc:
                score[pos] = score[pos - 1]
                order[pos] = order[pos - 1]
                pos -= 1
            score[pos] = sc
            order[pos] = j
        m = cnt
        for j in range(k):
            if z[j] != 0.0:
                order[m] = j
                m += 1
        GW = gw[0]
        if GW.shape[0] < m:                     # grow the gathered block
            cap = min(k, max(m, 2 * GW.shape[0]))
            gw[0] = np.empty((cap, cap))
            GW = gw[0]
        cW = fb[0]
        zW = fb[1]
        yW = fb[2]
        gW = fb[3]
        znW = fb[4]
        gersh = 0.0
        for a in range(m):
            ja = order[a]
            cW[a] = c[ja]
            zW[a] = z[ja]
            rs = 0.0
            for b in range(m):
                v = G[ja, order[b]]
                GW[a, b] = v
                rs += abs(v)
            gersh = max(gersh, rs)
        L = min(Lg, gersh)
        if not L > 0.0:
            L = Lg if Lg > 0.0 else 1.0
        eps = max(target, INNER_RATIO * gap)
        it, _ = _fista(GW, cW, m, xx, alpha, L, eps, max_iter - total, positive,
                       accelerate, zW, yW, gW, znW, ib[0], ib[1], M, w)
        total += it
        for a in range(m):
            z[order[a]] = zW[a]


@jit(parallel=True)
def _lasso_rows(C, G, xx, alpha, Lg, tol, max_iter, positive, accelerate, Z,
                n_iter, gaps, n_chunks):
    n, k = C.shape
    cap = min(k, POLISH_MAX)
    for ch in prange(n_chunks):
        g = np.empty(k)
        score = np.empty(k)
        order = np.empty(k, np.int64)
        b0 = min(k, 64)
        gw = [np.empty((b0, b0))]
        fb = np.empty((5, k))
        ib = np.empty((2, k), np.int64)
        M = np.empty((cap, cap))
        w = np.empty(cap)
        for i in range(ch, n, n_chunks):
            it, gp = _solve_row(C[i], G, xx[i], alpha, Lg, tol, max_iter, positive,
                                accelerate, Z[i], g, score, order, gw, fb, ib, M, w)
            n_iter[i] = it
            gaps[i] = gp


def lasso_rows(C, G, xx, alpha, L, tol, max_iter, positive, accelerate, Z,
               n_iter, gaps) -> None:
    """Code every row of ``C``; ``Z`` holds the start points and the codes.

    Parameters
    ----------
    C : ndarray of shape (n, k), float64, C order
        ``X @ D.T``.
    G : ndarray of shape (k, k), float64, C order
        ``D @ D.T``.
    xx : ndarray of shape (n,)
        Squared norms of the signals.
    alpha : float
        L1 penalty of ``0.5 ||x - z D||^2 + alpha ||z||_1``.
    L : float
        An upper bound of the largest eigenvalue of ``G``.
    tol : float
        Stop a row when its duality gap is ``<= tol * xx[i]``.
    max_iter : int
        Most FISTA steps per row.
    positive, accelerate : bool
        Nonnegative codes; FISTA (True) or ISTA (False).
    Z : ndarray of shape (n, k), float64, C order
        Start points, overwritten with the codes.
    n_iter : ndarray of shape (n,), int64
        Receives the steps taken per row.
    gaps : ndarray of shape (n,), float64
        Receives the final duality gap per row.
    """
    n, k = C.shape
    if n == 0 or k == 0:
        n_iter[:] = 0
        gaps[:] = 0.0
        return
    with threads(work=n * k * 4) as nt:
        n_chunks = max(1, min(n, 4 * nt))
        _lasso_rows(C, G, xx, float(alpha), float(L), float(tol), int(max_iter),
                    bool(positive), bool(accelerate), Z, n_iter, gaps, n_chunks)
