"""Block coordinate descent kernels for least squares with L1 / group-L2 /
ridge penalties (``sparsela.linear_model.Lasso``, ``ElasticNet``,
``GroupLasso``).

The problem, in scikit-learn's scaling, is::

    min_w  1/(2n) ||y - Z w||^2 + lam2/2 ||w||^2 + lam1 * sum_a wt_a ||w_a||_2

with ``Z = X - 1 mu^T`` (``mu`` the column means when fitting an intercept,
zeros otherwise; never formed). The atoms ``a`` are groups of coordinates
(``grp_ptr``/``grp_idx``, CSR-like); Lasso and ElasticNet use one
coordinate per atom, where ``||w_a||_2 = |w_j|``. A *block* is a set of atoms
updated together.

``X`` is either CSC arrays ``(Xp, Xi, Xx)`` or a dense Fortran-ordered
``Xd`` (``dense=True``; the unused one is a dummy). Everything is float64.

State kept by :func:`bcd_run` (all updated in place):

``w``      coefficients (length p)
``rt``     ``y_c - X w`` (uncentred residual; the true residual is
           ``r = rt + c 1`` with ``c = mu . w``)
``corr``   ``Z^T r`` (unscaled). Kept exact for every coordinate by the
           greedy rules (they need the whole gradient), refreshed per block
           for the others.
``st``     ``[S, c, ||rt||^2, sum_a wt_a ||w_a||, ||w||^2]`` with ``S = sum(rt)``;
           gives the objective after each step in O(1).

Cost of keeping the whole gradient (greedy rules): a step on the
coordinates ``J`` changes ``r`` by ``-(Z_J delta) = -(u - s 1)`` with
``u = X_J delta``, and ``corr_k`` by ``-(x_k . u - mu_k sum(u))``. For CSC
``X`` with a CSR copy (``Rp, Rj, Rx``) this is a pass over the rows that
``X_J`` touches: ``sum_{i in rows(J)} nnz(row i)`` flops, plus O(p) for the
centering term (only with an intercept). For dense ``X`` it is one
``X^T u`` (O(n p)). The greedy selection itself scans all atoms, O(p) per
step.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._jit import jit

# rule codes shared with sparsela.linear_model._bcd
CYCLIC, RANDOM, LIPSCHITZ, GS, GSL, GSQ = 0, 1, 2, 3, 4, 5


@jit(parallel=True)
def csc_corr_subset(Xp, Xi, Xx, r, mu, S, cols, out):
    """``out[t] = x_j . r - mu_j S`` for ``j = cols[t]`` (``Z^T r`` on a subset)."""
    for t in prange(cols.shape[0]):
        j = cols[t]
        s = 0.0
        for k in range(Xp[j], Xp[j + 1]):
            s += Xx[k] * r[Xi[k]]
        out[t] = s - mu[j] * S


@jit
def _col_dot(dense, Xd, Xp, Xi, Xx, j, v):
    s = 0.0
    if dense:
        for i in range(Xd.shape[0]):
            s += Xd[i, j] * v[i]
    else:
        for k in range(Xp[j], Xp[j + 1]):
            s += Xx[k] * v[Xi[k]]
    return s


@jit
def _gram(dense, Xd, Xp, Xi, Xx, mu, n, J, m, scratch, G):
    """``G[a, b] = z_{J[a]} . z_{J[b]}`` for ``a, b < m`` (centred columns).

    ``scratch`` is a zeroed length-n work array (left zeroed)."""
    for a in range(m):
        ja = J[a]
        if dense:
            for b in range(a, m):
                jb = J[b]
                s = 0.0
                for i in range(Xd.shape[0]):
                    s += Xd[i, ja] * Xd[i, jb]
                s -= n * mu[ja] * mu[jb]
                G[a, b] = s
                G[b, a] = s
        else:
            for k in range(Xp[ja], Xp[ja + 1]):
                scratch[Xi[k]] += Xx[k]
            for b in range(a, m):
                jb = J[b]
                s = 0.0
                for k in range(Xp[jb], Xp[jb + 1]):
                    s += Xx[k] * scratch[Xi[k]]
                s -= n * mu[ja] * mu[jb]
                G[a, b] = s
                G[b, a] = s
            for k in range(Xp[ja], Xp[ja + 1]):
                scratch[Xi[k]] = 0.0


@jit
def _lam_max(G, m):
    if m == 1:
        return G[0, 0]
    return np.linalg.eigvalsh(np.ascontiguousarray(G[:m, :m]))[m - 1]


@jit
def set_lipschitz(dense, Xd, Xp, Xi, Xx, mu, n, set_ptr, set_idx, out):
    """``out[s] = lambda_max(Z_s^T Z_s)`` for the coordinate sets ``s``
    (``set_idx[set_ptr[s]:set_ptr[s+1]]``); one Gram matrix at a time."""
    n_sets = set_ptr.shape[0] - 1
    mmax = 1
    for s in range(n_sets):
        mmax = max(mmax, set_ptr[s + 1] - set_ptr[s])
    G = np.zeros((mmax, mmax))
    scratch = np.zeros(int(n))
    for s in range(n_sets):
        m = set_ptr[s + 1] - set_ptr[s]
        if m == 0:
            out[s] = 0.0
            continue
        J = set_idx[set_ptr[s]:set_ptr[s + 1]]
        _gram(dense, Xd, Xp, Xi, Xx, mu, n, J, m, scratch, G)
        out[s] = _lam_max(G, m)


@jit
def gram(dense, Xd, Xp, Xi, Xx, mu, n, J):
    """Dense ``Z_J^T Z_J`` (the active-set Newton system)."""
    m = J.shape[0]
    G = np.zeros((m, m))
    scratch = np.zeros(int(n))
    _gram(dense, Xd, Xp, Xi, Xx, mu, n, J, m, scratch, G)
    return G


@jit
def _atom_step(a, grp_ptr, grp_idx, wt, w, corr, inv_n, lam1, lam2, L, positive, out):
    """Proximal-gradient step with constant ``L`` on atom ``a``.

    Writes the new coefficients into ``out[0:size]``; returns
    ``(||d||^2, decrease of the quadratic model)`` with ``d`` the step. The
    decrease is ``-(grad.d + L/2 ||d||^2 + lam1 wt (||w+d|| - ||w||))``."""
    s0 = grp_ptr[a]
    s1 = grp_ptr[a + 1]
    vn2 = 0.0
    wn2 = 0.0
    for t in range(s0, s1):
        j = grp_idx[t]
        g = -corr[j] * inv_n + lam2 * w[j]
        v = w[j] - g / L
        if positive and v < 0.0:
            v = 0.0
        out[t - s0] = v
        vn2 += v * v
        wn2 += w[j] * w[j]
    vn = math.sqrt(vn2)
    thr = lam1 * wt[a] / L
    fac = 0.0
    if vn > thr:
        fac = 1.0 - thr / vn
    dn2 = 0.0
    gd = 0.0
    for t in range(s0, s1):
        j = grp_idx[t]
        g = -corr[j] * inv_n + lam2 * w[j]
        z = fac * out[t - s0]
        out[t - s0] = z
        d = z - w[j]
        dn2 += d * d
        gd += g * d
    dec = -(gd + 0.5 * L * dn2 + lam1 * wt[a] * (fac * vn - math.sqrt(wn2)))
    return dn2, dec


@jit
def _score(rule, dn2, dec, L):
    """Greedy score of a proximal step (all >= 0, zero iff optimal there).

    gs:  ||d||^2 with one global L (GS-r: the proximal-gradient step length)
    gsl: L ||d||^2 with the atom's/block's own L (GSL-r; ||grad||^2 / L
         without the penalty)
    gsq: decrease of the quadratic upper bound with its own L (GS-q)."""
    if rule == GS:
        return dn2
    if rule == GSL:
        return L * dn2
    # the model is L-strongly convex, so its decrease is >= L/2 ||d||^2; the
    # bound guards the difference against cancellation near the optimum
    return max(dec, 0.5 * L * dn2)


@jit
def _newton_block(q_ptr, n_atoms_blk, atoms, grp_ptr, wt, L_atom, H, m, z, hg,
                  lam1, positive, tmp):
    """Minimise ``hg0.(z - z0) + 1/2 (z - z0)^T H (z - z0) + lam1 sum wt ||z_a||``
    in place over the block (exact coordinate minimisation for one-coordinate
    atoms, proximal-gradient steps with ``L_atom`` for groups); ``hg`` is the
    model gradient at ``z`` and is kept current."""
    zmax = 0.0
    for q in range(m):
        zmax = max(zmax, abs(z[q]))
    for sweep in range(500):
        maxch = 0.0
        for ai in range(n_atoms_blk):
            a = atoms[ai]
            q0 = q_ptr[ai]
            q1 = q_ptr[ai + 1]
            if q1 - q0 == 1:
                Lq = H[q0, q0]
                if Lq <= 0.0:
                    continue
                v = z[q0] - hg[q0] / Lq
                if positive and v < 0.0:
                    v = 0.0
                thr = lam1 * wt[a] / Lq
                if v > thr:
                    nz = v - thr
                elif v < -thr:
                    nz = v + thr
                else:
                    nz = 0.0
                dz = nz - z[q0]
                if dz != 0.0:
                    z[q0] = nz
                    for qq in range(m):
                        hg[qq] += H[qq, q0] * dz
                    maxch = max(maxch, abs(dz))
            else:
                Lq = L_atom[a]
                if Lq <= 0.0:
                    continue
                vn2 = 0.0
                for q in range(q0, q1):
                    v = z[q] - hg[q] / Lq
                    if positive and v < 0.0:
                        v = 0.0
                    tmp[q - q0] = v
                    vn2 += v * v
                vn = math.sqrt(vn2)
                thr = lam1 * wt[a] / Lq
                fac = 0.0
                if vn > thr:
                    fac = 1.0 - thr / vn
                for q in range(q0, q1):
                    dz = fac * tmp[q - q0] - z[q]
                    if dz != 0.0:
                        z[q] += dz
                        for qq in range(m):
                            hg[qq] += H[qq, q] * dz
                        maxch = max(maxch, abs(dz))
        for q in range(m):
            zmax = max(zmax, abs(z[q]))
        if maxch <= 1e-13 * max(zmax, 1e-300):
            break


@jit
def bcd_run(dense, Xd, Xp, Xi, Xx, Rp, Rj, Rx, mu, center,
            grp_ptr, grp_idx, wt, L_atom,
            blk_ptr, blk_atoms, L_blk, blk_list,
            variable, block_size, rule, newton, positive,
            lam1, lam2, n, w, rt, corr, st, n_steps, seed, cyc_pos, hist):
    """Run ``n_steps`` block updates; returns the number done.

    Fixed blocks (``variable=False``): block ``b`` is the atoms
    ``blk_atoms[blk_ptr[b]:blk_ptr[b+1]]`` with Lipschitz constant
    ``L_blk[b]`` (of the block of ``f``, ridge term included), chosen among
    ``blk_list`` by ``rule`` (cyclic order continues from ``cyc_pos[0]``).
    Variable blocks: the ``block_size`` atoms with the best scores (greedy)
    or drawn at random (uniformly or by ``L_atom``); their Lipschitz
    constant/Hessian comes from their Gram matrix, formed on the fly.
    ``newton``: the block minimises the exact quadratic model with the block
    Hessian ``Z_B^T Z_B / n + lam2 I`` (proximal Newton; exact for this
    quadratic ``f``) instead of one proximal-gradient step with ``1/L_B``.
    ``hist[k]`` (when ``hist`` is not empty) gets the objective after step k.
    A greedy run stops early when every score is zero (optimal).
    """
    p = w.shape[0]
    n_atoms = grp_ptr.shape[0] - 1
    inv_n = 1.0 / n
    greedy = rule >= GS
    record = hist.shape[0] > 0
    np.random.seed(seed)
    nb = blk_list.shape[0]
    max_gsize = 1
    for a in range(n_atoms):
        max_gsize = max(max_gsize, grp_ptr[a + 1] - grp_ptr[a])
    max_blk_atoms = block_size
    if not variable:
        max_blk_atoms = 1
        for bi in range(nb):
            b = blk_list[bi]
            max_blk_atoms = max(max_blk_atoms, blk_ptr[b + 1] - blk_ptr[b])
    mmax = max_blk_atoms * max_gsize
    atoms = np.empty(max_blk_atoms, dtype=np.int64)
    q_ptr = np.empty(max_blk_atoms + 1, dtype=np.int64)
    J = np.empty(mmax, dtype=np.int64)
    znew = np.empty(mmax)
    tmp = np.empty(max_gsize)
    G = np.zeros((mmax, mmax))
    hg = np.empty(mmax)
    n_rows = rt.shape[0]
    scratch = np.zeros(n_rows)
    u = np.zeros(n_rows)
    touched = np.empty(n_rows, dtype=np.int64)
    mark = np.zeros(n_rows, dtype=np.bool_)
    topv = np.empty(max_blk_atoms)
    picked = np.zeros(n_atoms, dtype=np.bool_)
    # sampling weights for "lipschitz"
    cum = np.empty(0)
    if rule == LIPSCHITZ:
        if variable:
            cum = np.cumsum(L_atom)
        else:
            cum = np.empty(nb)
            acc = 0.0
            for bi in range(nb):
                acc += L_blk[blk_list[bi]]
                cum[bi] = acc
    Lglob = 0.0
    if rule == GS:
        for a in range(n_atoms):
            Lglob = max(Lglob, L_atom[a])
        if not variable:
            for bi in range(nb):
                Lglob = max(Lglob, L_blk[blk_list[bi]])
    S = st[0]
    c = st[1]
    rt_sq = st[2]
    pen1 = st[3]
    w2 = st[4]
    done = 0
    for step in range(n_steps):
        # ---------------------------------------------------- pick a block
        nat = 0
        bsel = -1
        if not variable:
            if rule == CYCLIC:
                bi = cyc_pos[0] % nb
                cyc_pos[0] = bi + 1
                bsel = blk_list[bi]
            elif rule == RANDOM:
                bsel = blk_list[np.random.randint(nb)]
            elif rule == LIPSCHITZ:
                x = np.random.random() * cum[nb - 1]
                bi = min(np.searchsorted(cum, x, side="right"), nb - 1)
                bsel = blk_list[bi]
            else:
                best = 0.0
                for bi in range(nb):
                    b = blk_list[bi]
                    Lb = Lglob if rule == GS else L_blk[b]
                    if Lb <= 0.0:
                        continue
                    sc = 0.0
                    for t in range(blk_ptr[b], blk_ptr[b + 1]):
                        dn2, dec = _atom_step(blk_atoms[t], grp_ptr, grp_idx, wt, w, corr,
                                              inv_n, lam1, lam2, Lb, positive, tmp)
                        sc += _score(rule, dn2, dec, Lb)
                    if sc > best:
                        best = sc
                        bsel = b
                if bsel < 0:
                    break
            for t in range(blk_ptr[bsel], blk_ptr[bsel + 1]):
                atoms[nat] = blk_atoms[t]
                nat += 1
        else:
            if greedy:
                for a in range(n_atoms):
                    if L_atom[a] <= 0.0:
                        continue
                    La = Lglob if rule == GS else L_atom[a]
                    dn2, dec = _atom_step(a, grp_ptr, grp_idx, wt, w, corr,
                                          inv_n, lam1, lam2, La, positive, tmp)
                    sc = _score(rule, dn2, dec, La)
                    if sc <= 0.0:
                        continue
                    if nat < block_size:
                        pos = nat
                        nat += 1
                    elif sc > topv[nat - 1]:
                        pos = nat - 1
                    else:
                        continue
                    while pos > 0 and topv[pos - 1] < sc:
                        topv[pos] = topv[pos - 1]
                        atoms[pos] = atoms[pos - 1]
                        pos -= 1
                    topv[pos] = sc
                    atoms[pos] = a
                if nat == 0:
                    break
            else:
                k = min(block_size, nb)
                tries = 0
                while nat < k and tries < 100 * k:
                    tries += 1
                    if rule == LIPSCHITZ:
                        x = np.random.random() * cum[n_atoms - 1]
                        a = min(np.searchsorted(cum, x, side="right"), n_atoms - 1)
                    else:
                        a = blk_list[np.random.randint(nb)]
                    if picked[a] or L_atom[a] <= 0.0:
                        continue
                    picked[a] = True
                    atoms[nat] = a
                    nat += 1
                for t in range(nat):
                    picked[atoms[t]] = False
                if nat == 0:
                    continue
        # ---------------------------------------------- coordinates, gradient
        m = 0
        for ai in range(nat):
            a = atoms[ai]
            q_ptr[ai] = m
            for t in range(grp_ptr[a], grp_ptr[a + 1]):
                j = grp_idx[t]
                J[m] = j
                if not greedy:
                    corr[j] = _col_dot(dense, Xd, Xp, Xi, Xx, j, rt) - mu[j] * S
                m += 1
        q_ptr[nat] = m
        # ---------------------------------------------------- new block values
        need_gram = newton or variable
        if need_gram and m > 1:
            _gram(dense, Xd, Xp, Xi, Xx, mu, n, J, m, scratch, G)
        if newton and m > 1:
            for q in range(m):
                for qq in range(m):
                    G[q, qq] *= inv_n
                G[q, q] += lam2
                j = J[q]
                znew[q] = w[j]
                hg[q] = -corr[j] * inv_n + lam2 * w[j]
            _newton_block(q_ptr, nat, atoms, grp_ptr, wt, L_atom, G, m, znew, hg,
                          lam1, positive, tmp)
        else:
            if m == 1:
                Lb = L_atom[atoms[0]]
            elif variable:
                Lb = _lam_max(G, m) * inv_n + lam2
            else:
                Lb = L_blk[bsel]
            if Lb <= 0.0:
                continue
            for ai in range(nat):
                a = atoms[ai]
                q0 = q_ptr[ai]
                _atom_step(a, grp_ptr, grp_idx, wt, w, corr, inv_n, lam1, lam2, Lb,
                           positive, tmp)
                for q in range(q0, q_ptr[ai + 1]):
                    znew[q] = tmp[q - q0]
        # ------------------------------------------------------- apply delta
        n_touched = 0
        sum_u = 0.0
        for ai in range(nat):
            a = atoms[ai]
            old_n2 = 0.0
            new_n2 = 0.0
            for q in range(q_ptr[ai], q_ptr[ai + 1]):
                j = J[q]
                old = w[j]
                new = znew[q]
                old_n2 += old * old
                new_n2 += new * new
                d = new - old
                if d == 0.0:
                    continue
                w[j] = new
                if dense:
                    for i in range(Xd.shape[0]):
                        v = d * Xd[i, j]
                        o = rt[i]
                        nv = o - v
                        rt[i] = nv
                        rt_sq += nv * nv - o * o
                        if greedy:
                            u[i] += v
                else:
                    for k in range(Xp[j], Xp[j + 1]):
                        i = Xi[k]
                        v = d * Xx[k]
                        o = rt[i]
                        nv = o - v
                        rt[i] = nv
                        rt_sq += nv * nv - o * o
                        if greedy:
                            u[i] += v
                            if not mark[i]:
                                mark[i] = True
                                touched[n_touched] = i
                                n_touched += 1
                S -= d * n * mu[j]
                c += d * mu[j]
                sum_u += d * n * mu[j]
            pen1 += wt[a] * (math.sqrt(new_n2) - math.sqrt(old_n2))
            w2 += new_n2 - old_n2
        # ------------------------------------ keep the whole gradient (greedy)
        if greedy:
            if dense:
                xu = np.dot(Xd.T, u)
                for k in range(p):
                    corr[k] -= xu[k]
                for i in range(n_rows):
                    u[i] = 0.0
            else:
                for t in range(n_touched):
                    i = touched[t]
                    ui = u[i]
                    for kk in range(Rp[i], Rp[i + 1]):
                        corr[Rj[kk]] -= Rx[kk] * ui
                    u[i] = 0.0
                    mark[i] = False
            if center and sum_u != 0.0:
                for k in range(p):
                    corr[k] += mu[k] * sum_u
        done += 1
        if record:
            hist[step] = ((rt_sq + 2.0 * c * S + n * c * c) * 0.5 * inv_n
                          + lam1 * pen1 + 0.5 * lam2 * w2)
    st[0] = S
    st[1] = c
    st[2] = rt_sq
    st[3] = pen1
    st[4] = w2
    return done


@jit
def ws_violation(dense, Xd, Xp, Xi, Xx, mu, S, rt, grp_ptr, grp_idx, wt,
                 blk_ptr, blk_atoms, L_blk, ws, w, corr, lam1, lam2, n, positive):
    """Largest optimality violation ``sqrt(L_b) ||d_a||`` over the atoms of
    the blocks ``ws``, after refreshing ``corr`` on their coordinates (the
    working-set stopping test; the same measure as the working-set choice)."""
    inv_n = 1.0 / n
    gmax = 1
    for a in range(grp_ptr.shape[0] - 1):
        gmax = max(gmax, grp_ptr[a + 1] - grp_ptr[a])
    tmp = np.empty(gmax)
    worst = 0.0
    for bi in range(ws.shape[0]):
        b = ws[bi]
        Lb = L_blk[b]
        if Lb <= 0.0:
            continue
        for t in range(blk_ptr[b], blk_ptr[b + 1]):
            a = blk_atoms[t]
            for q in range(grp_ptr[a], grp_ptr[a + 1]):
                j = grp_idx[q]
                corr[j] = _col_dot(dense, Xd, Xp, Xi, Xx, j, rt) - mu[j] * S
            dn2, _dec = _atom_step(a, grp_ptr, grp_idx, wt, w, corr, inv_n, lam1, lam2,
                                  Lb, positive, tmp)
            v = Lb * dn2
            worst = max(worst, v)
    return math.sqrt(worst)


@jit
def block_violations(grp_ptr, grp_idx, wt, blk_ptr, blk_atoms, L_blk, w, corr,
                     lam1, lam2, n, positive, out):
    """``out[b]`` = largest ``sqrt(L_b) ||d_a||`` over the atoms of block ``b``
    (proximal-gradient step with the block's ``L_b``; zero iff the block is
    optimal), from the current ``corr``. Picks the working set."""
    inv_n = 1.0 / n
    gmax = 1
    for a in range(grp_ptr.shape[0] - 1):
        gmax = max(gmax, grp_ptr[a + 1] - grp_ptr[a])
    tmp = np.empty(gmax)
    for b in range(blk_ptr.shape[0] - 1):
        Lb = L_blk[b]
        worst = 0.0
        if Lb > 0.0:
            for t in range(blk_ptr[b], blk_ptr[b + 1]):
                dn2, _dec = _atom_step(blk_atoms[t], grp_ptr, grp_idx, wt, w, corr, inv_n,
                                      lam1, lam2, Lb, positive, tmp)
                worst = max(worst, Lb * dn2)
        out[b] = math.sqrt(worst)


@jit
def atom_stats(grp_ptr, grp_idx, wt, L_atom, w, corr, lam1, lam2, n, positive, viol):
    """One pass over the atoms after ``corr`` was recomputed: ``viol[a]`` =
    ``sqrt(L_a) ||d_a||`` (proximal-gradient step length, zero iff atom ``a``
    is optimal); returns the dual norm of ``Z^T r - n lam2 w`` (group norms
    over ``wt``; positive part only when ``positive``), ``sum_a wt_a ||w_a||``
    and ``||w||^2`` (the duality gap's ingredients)."""
    inv_n = 1.0 / n
    beta = n * lam2
    gmax = 1
    n_atoms = grp_ptr.shape[0] - 1
    for a in range(n_atoms):
        gmax = max(gmax, grp_ptr[a + 1] - grp_ptr[a])
    tmp = np.empty(gmax)
    dual = 0.0
    pen1 = 0.0
    w2 = 0.0
    for a in range(n_atoms):
        if grp_ptr[a + 1] - grp_ptr[a] == 1:  # one coordinate: scalar fast path
            j = grp_idx[grp_ptr[a]]
            wj = w[j]
            v = corr[j] - beta * wj
            if positive and v < 0.0:
                v = 0.0
            s = abs(v)
            if wt[a] > 0.0:
                dual = max(dual, s / wt[a])
            elif s > 0.0:
                dual = np.inf
            pen1 += wt[a] * abs(wj)
            w2 += wj * wj
            La = L_atom[a]
            if La > 0.0:
                z = wj - (-corr[j] * inv_n + lam2 * wj) / La
                if positive and z < 0.0:
                    z = 0.0
                thr = lam1 * wt[a] / La
                z = z - thr if z > thr else (z + thr if z < -thr else 0.0)
                viol[a] = math.sqrt(La) * abs(z - wj)
            else:
                viol[a] = 0.0
            continue
        s2 = 0.0
        wn2 = 0.0
        for t in range(grp_ptr[a], grp_ptr[a + 1]):
            j = grp_idx[t]
            v = corr[j] - beta * w[j]
            if positive and v < 0.0:
                v = 0.0
            s2 += v * v
            wn2 += w[j] * w[j]
        s = math.sqrt(s2)
        if wt[a] > 0.0:
            dual = max(dual, s / wt[a])
        elif s > 0.0:
            dual = np.inf
        pen1 += wt[a] * math.sqrt(wn2)
        w2 += wn2
        La = L_atom[a]
        if La > 0.0:
            dn2, _dec = _atom_step(a, grp_ptr, grp_idx, wt, w, corr, inv_n, lam1, lam2,
                                  La, positive, tmp)
            viol[a] = math.sqrt(La * dn2)
        else:
            viol[a] = 0.0
    return dual, pen1, w2
