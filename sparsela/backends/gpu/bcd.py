"""Block coordinate descent kernels on the GPU (mirror of ``backends/cpu/bcd.py``).

The same public functions, signatures and in-place outputs as the CPU
module (see its docstring for the problem, the state ``w, rt, corr, st``
and the selection rules), on device arrays of one module (CuPy, or the
simulated device in tests). Every array is float64 (values) or int64
(structure) except the CSC/CSR index arrays, which keep their dtype.

:func:`bcd_run` is a chain of dependent block steps: launching kernels per
step from the host would be bound by launch latency, so it is ONE persistent
kernel on a single thread block (``_cuda.THREADS`` threads) that runs the
whole ``n_steps`` loop on the device. Inside a step the threads cooperate:

- the gradient of the block's coordinates (cyclic/random rules): strided
  loops over each column's nonzeros (or rows, dense ``X``: coalesced in the
  Fortran-ordered array) and a block-wide sum in shared memory;
- the greedy rules: every thread scores a strided share of the blocks/atoms
  (the CPU kernel's per-block arithmetic, so the scores are the CPU's to
  rounding), then a block-wide argmax (ties to the smallest index, as the
  CPU's first-best scan); variable blocks take ``block_size`` argmax passes;
- the block's Gram matrix (variable blocks, Newton updates): the pairs of
  columns are spread over the threads, each pair summed by one thread in
  the CPU kernel's order (a merge of two sorted columns for sparse ``X``);
- applying the step: strided loops over the changed columns' nonzeros
  update ``rt`` (a barrier between columns, which may share rows); the
  greedy rules then update the whole gradient from the touched rows
  (compacted with atomics, scattered through the CSR copy with atomic adds)
  or, dense ``X``, by one thread per column of ``X^T u``.

The small per-block solves (the proximal step, the Newton inner loop, the
largest eigenvalue of a variable block's Gram matrix by cyclic Jacobi) run
on thread 0, which also keeps the running sums ``S, c, pen1, ||w||^2``.
Scratch arrays are allocated by the host wrappers, never inside a kernel.

Random rules draw from a counter-based generator (splitmix64 of the run's
seed and a draw counter, on thread 0, written without 64-bit overflow so the
simulator runs it too), not NumPy's Mersenne Twister: the random stream
differs from the CPU kernel's, so ``"random"``/``"lipschitz"`` fits agree
with the CPU's at convergence but not step by step. Cyclic and greedy runs
make the CPU's choices; their sums are formed in another order (block-wide
trees, atomics), so they agree with the CPU to rounding, not bit for bit.

Sparse ``X`` must be canonical CSC (sorted rows, no duplicates; the
estimators make it so): threads update ``rt[i]`` of one column without
atomics, and the Gram pairs are merges of sorted columns.
"""
from __future__ import annotations

import functools
import math
import os

import numpy as np
from numba import cuda

from ..cpu import bcd as _cpu
from . import _cuda

__all__ = ["atom_stats", "bcd_run", "block_violations", "csc_corr_subset", "gram",
           "set_lipschitz", "ws_violation"]

# rule codes shared with sparsela.linear_model._bcd
CYCLIC, RANDOM, LIPSCHITZ, GS, GSL, GSQ = (_cpu.CYCLIC, _cpu.RANDOM, _cpu.LIPSCHITZ,
                                           _cpu.GS, _cpu.GSL, _cpu.GSQ)

_F64 = np.float64
_I64 = np.int64

#: Threads per block of these kernels: ``_cuda.THREADS`` on a GPU. The CUDA
#: simulator runs every thread as a Python thread and every barrier as a round
#: of thread switches, and the BCD kernel passes a few barriers per block step,
#: so there blocks have 4 threads (still several, so the strided loops, the
#: reductions and the barriers run as on a GPU).
THREADS = int(os.environ.get("SPARSELA_BCD_SIM_THREADS", "4")) if _cuda.SIMULATOR \
    else _cuda.THREADS


def _grid(n: int, per_block: int = 1) -> int:
    """Blocks for ``n`` items of ``per_block`` each: enough to cover them on a
    GPU; one under the simulator, where every block is a round of Python
    threads (the kernels loop over items with grid strides either way)."""
    if _cuda.SIMULATOR:
        return 1
    return min(max(1, -(-int(n) // per_block)), 65535)

# splitmix64 constants, 32-bit halves (the products below never overflow 64 bits)
_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_S11 = np.uint64(11)
_S27 = np.uint64(27)
_S30 = np.uint64(30)
_S31 = np.uint64(31)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_ONE = np.uint64(1)


# --------------------------------------------------------------------------- #
# device helpers
# --------------------------------------------------------------------------- #
@_cuda.device
def _mul64(a, b):
    """``a * b mod 2**64`` for uint64 ``a, b`` from 32-bit halves (no overflow)."""
    a0 = a & _M32
    a1 = a >> _S32
    b0 = b & _M32
    b1 = b >> _S32
    p00 = a0 * b0
    mid = (((a1 * b0) & _M32) + ((a0 * b1) & _M32)) & _M32
    hi = ((p00 >> _S32) + mid) & _M32
    return (hi << _S32) | (p00 & _M32)


@_cuda.device
def _add64(a, b):
    """``a + b mod 2**64`` for uint64 ``a, b`` (no overflow)."""
    lo = (a & _M32) + (b & _M32)
    hi = ((a >> _S32) + (b >> _S32) + (lo >> _S32)) & _M32
    return (hi << _S32) | (lo & _M32)


@_cuda.device
def _uniform(seed, ctr):
    """Uniform double in [0, 1) from splitmix64 of ``(seed, ctr)`` (uint64)."""
    z = _add64(seed, _mul64(ctr + _ONE, _GOLDEN))
    z = _mul64(z ^ (z >> _S30), _MIX1)
    z = _mul64(z ^ (z >> _S27), _MIX2)
    z = z ^ (z >> _S31)
    return _F64(z >> _S11) * (1.0 / 9007199254740992.0)


@_cuda.device
def _search_right(cum, n, x):
    """``np.searchsorted(cum[:n], x, side="right")`` (binary search)."""
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@_cuda.device
def _bsum0(red, off, v, t, T):
    """Sum of ``v`` over the block, returned to thread 0 only (two barriers).

    Uses ``red[off:off + T]``; consecutive calls must alternate ``off``
    between 0 and ``T + 1`` (``red`` of ``2 T + 2``): thread 0 may still read
    one half while the other threads write the other."""
    red[off + t] = v
    cuda.syncthreads()
    W = min(T, 32)
    if t < W:
        s = red[off + t]
        k = t + W
        while k < T:
            s += red[off + k]
            k += W
        red[off + t] = s
    cuda.syncthreads()
    s0 = 0.0
    if t == 0:
        for k in range(W):
            s0 += red[off + k]
    return s0


@_cuda.device
def _bmax(red, v, t, T):
    """Maximum of ``v`` over the block (as :func:`_bsum`)."""
    red[t] = v
    cuda.syncthreads()
    W = min(T, 32)
    if t < W:
        s = red[t]
        k = t + W
        while k < T:
            s = max(s, red[k])
            k += W
        red[t] = s
    cuda.syncthreads()
    if t == 0:
        s0 = red[0]
        for k in range(1, W):
            s0 = max(s0, red[k])
        red[T] = s0
    cuda.syncthreads()
    return red[T]


@_cuda.device
def _better(v2, i2, v1, i1):
    # larger value first, ties to the smaller (valid) index: the CPU's first-best scan
    return v2 > v1 or (v2 == v1 and i2 >= 0 and (i1 < 0 or i2 < i1))


@_cuda.device
def _bargmax(red, redi, v, i, t, T):
    """Block-wide ``(max value, its smallest index)``; ``i = -1`` marks "none".
    ``red``/``redi``: shared arrays of ``T + 1``. Every thread must call it."""
    red[t] = v
    redi[t] = i
    cuda.syncthreads()
    W = min(T, 32)
    if t < W:
        bv = red[t]
        bi = redi[t]
        k = t + W
        while k < T:
            if _better(red[k], redi[k], bv, bi):
                bv = red[k]
                bi = redi[k]
            k += W
        red[t] = bv
        redi[t] = bi
    cuda.syncthreads()
    if t == 0:
        bv = red[0]
        bi = redi[0]
        for k in range(1, W):
            if _better(red[k], redi[k], bv, bi):
                bv = red[k]
                bi = redi[k]
        red[T] = bv
        redi[T] = bi
    cuda.syncthreads()
    return red[T], redi[T]


@_cuda.device
def _pair_dot(dense, Xd, Xp, Xi, Xx, mu, n, ja, jb):
    """``z_ja . z_jb`` (centred columns) by one thread, in the CPU kernel's
    order: the rows of ``jb`` in turn (a merge with ``ja``'s sorted rows)."""
    s = 0.0
    if dense:
        for i in range(Xd.shape[0]):
            s += Xd[i, ja] * Xd[i, jb]
    else:
        ka = Xp[ja]
        ea = Xp[ja + 1]
        for k in range(Xp[jb], Xp[jb + 1]):
            r = Xi[k]
            while ka < ea and Xi[ka] < r:
                ka += 1
            if ka < ea and Xi[ka] == r:
                s += Xx[k] * Xx[ka]
    s -= n * mu[ja] * mu[jb]
    return s


@_cuda.device
def _col_dot_part(dense, Xd, Xp, Xi, Xx, j, r, n_rows, t, T):
    """Thread ``t``'s part of ``x_j . r``: the rows (or nonzeros) ``t mod T``
    of column ``j`` (the strided twin of the CPU's ``_col_dot``; the block
    sums the parts)."""
    s = 0.0
    if dense:
        for i in range(t, n_rows, T):
            s += Xd[i, j] * r[i]
    else:
        for k in range(Xp[j] + t, Xp[j + 1], T):
            s += Xx[k] * r[Xi[k]]
    return s


@_cuda.device
def _gram_pairs(dense, Xd, Xp, Xi, Xx, mu, n, J, j0, m, G, t, T):
    """``G[a, b] = z_{J[j0+a]} . z_{J[j0+b]}`` for ``a, b < m``, the pairs
    ``a <= b`` spread over the ``T`` threads (no barrier inside)."""
    for pidx in range(t, m * m, T):
        a = pidx // m
        b = pidx - a * m
        if b < a:
            continue
        s = _pair_dot(dense, Xd, Xp, Xi, Xx, mu, n, J[j0 + a], J[j0 + b])
        G[a, b] = s
        G[b, a] = s


@_cuda.device
def _coords(atoms, nat, grp_ptr, grp_idx, q_ptr, J):
    """The coordinates ``J`` of the block's atoms and their offsets ``q_ptr``
    (one thread); returns their number."""
    m = 0
    for ai in range(nat):
        a = atoms[ai]
        q_ptr[ai] = m
        for tt in range(grp_ptr[a], grp_ptr[a + 1]):
            J[m] = grp_idx[tt]
            m += 1
    q_ptr[nat] = m
    return m


@_cuda.device
def _lam_max(G, m):
    """Largest eigenvalue of the symmetric ``G[:m, :m]`` by cyclic Jacobi
    rotations (one thread; ``G`` is overwritten). LAPACK's ``eigvalsh`` on
    the CPU agrees to rounding."""
    if m == 1:
        return G[0, 0]
    tot = 0.0
    for a in range(m):
        for b in range(m):
            tot += G[a, b] * G[a, b]
    for sweep in range(100):
        off = 0.0
        for a in range(m - 1):
            for b in range(a + 1, m):
                off += G[a, b] * G[a, b]
        if off <= 1e-32 * tot:
            break
        for a in range(m - 1):
            for b in range(a + 1, m):
                apq = G[a, b]
                if apq == 0.0:
                    continue
                theta = (G[b, b] - G[a, a]) / (2.0 * apq)
                if abs(theta) > 1e150:
                    tt = 0.5 / theta
                else:
                    tt = 1.0 / (abs(theta) + math.sqrt(theta * theta + 1.0))
                    if theta < 0.0:
                        tt = -tt
                cs = 1.0 / math.sqrt(tt * tt + 1.0)
                sn = tt * cs
                for k in range(m):
                    gka = G[k, a]
                    gkb = G[k, b]
                    G[k, a] = cs * gka - sn * gkb
                    G[k, b] = sn * gka + cs * gkb
                for k in range(m):
                    gak = G[a, k]
                    gbk = G[b, k]
                    G[a, k] = cs * gak - sn * gbk
                    G[b, k] = sn * gak + cs * gbk
    best = G[0, 0]
    for a in range(1, m):
        best = max(best, G[a, a])
    return best


# The scalar step rules are the CPU kernel's own Python, compiled here as
# device functions, so both backends run one definition of the maths: the
# proximal step on an atom, the greedy score, and the coordinate descent on
# a block's quadratic model (one thread; ``hg`` kept current).
def _shared(cpu_kernel):
    return _cuda.device(getattr(cpu_kernel, "py_func", cpu_kernel))


_atom_step = _shared(_cpu._atom_step)
_score = _shared(_cpu._score)
_newton_block = _shared(_cpu._newton_block)


# --------------------------------------------------------------------------- #
# the persistent BCD kernel
# --------------------------------------------------------------------------- #
@functools.cache
def _run_kernel(threads: int):
    """The whole ``n_steps`` loop of :func:`bcd_run` on ONE block of
    ``threads`` threads (shared reduction arrays of ``threads + 1``: sizes are
    compile-time constants, hence the factory). Launch geometry 1 x
    ``threads``: the steps depend on each other, so one block keeps the
    state and synchronises with barriers, never with the host."""
    T = threads
    RED = 2 * threads + 2  # shared sizes must be compile-time constants
    RED1 = threads + 1

    @_cuda.kernel
    def _bcd_run_kernel(dense, Xd, Xp, Xi, Xx, Rp, Rj, Rx, mu, center,
                        grp_ptr, grp_idx, wt, L_atom, blk_ptr, blk_atoms, L_blk, blk_list,
                        variable, block_size, rule, newton, positive, lam1, lam2, n,
                        w, rt, corr, st, n_steps, seed, cyc_pos, hist,
                        atoms, q_ptr, J, znew, dz, tmp, G, hg, u, touched, mark, score,
                        picked, cum, info):
        red = cuda.shared.array(RED, _F64)
        redi = cuda.shared.array(RED1, _I64)
        si = cuda.shared.array(8, _I64)   # 0 block, 1 n atoms, 2 n coords, 3 skip, 4 touched
        sf = cuda.shared.array(2, _F64)   # 0 sum_u
        t = cuda.threadIdx.x
        p = w.shape[0]
        n_atoms = grp_ptr.shape[0] - 1
        n_rows = rt.shape[0]
        nb = blk_list.shape[0]
        inv_n = 1.0 / n
        greedy = rule >= GS
        record = hist.shape[0] > 0
        mytmp = tmp[t]
        useed = np.uint64(seed)
        ctr = np.uint64(0)
        if t == 0:
            si[4] = 0
        # global L of the GS rule: max over the atoms (and fixed blocks)
        lg = 0.0
        if rule == GS:
            for a in range(t, n_atoms, T):
                lg = max(lg, L_atom[a])
            if not variable:
                for bi in range(t, nb, T):
                    lg = max(lg, L_blk[blk_list[bi]])
        Lglob = _bmax(red, lg, t, T)
        S = st[0]
        c = st[1]
        rt_sq0 = st[2]
        pen1 = st[3]
        w2 = st[4]
        rsq = 0.0   # this thread's share of the change of ||rt||^2
        done = 0
        for step in range(n_steps):
            # ------------------------------------------------ pick a block
            if not variable:
                if rule < GS:
                    if t == 0:
                        if rule == CYCLIC:
                            bi = cyc_pos[0] % nb
                            cyc_pos[0] = bi + 1
                        elif rule == RANDOM:
                            x = _uniform(useed, ctr)
                            ctr += _ONE
                            bi = min(_I64(x * nb), nb - 1)
                        else:
                            x = _uniform(useed, ctr) * cum[nb - 1]
                            ctr += _ONE
                            bi = min(_search_right(cum, nb, x), nb - 1)
                        si[0] = blk_list[bi]
                else:
                    bv = 0.0
                    bidx = -1
                    for bi in range(t, nb, T):
                        b = blk_list[bi]
                        Lb = Lglob if rule == GS else L_blk[b]
                        if Lb <= 0.0:
                            continue
                        sc = 0.0
                        for tt in range(blk_ptr[b], blk_ptr[b + 1]):
                            dn2, dec = _atom_step(blk_atoms[tt], grp_ptr, grp_idx, wt, w, corr,
                                                  inv_n, lam1, lam2, Lb, positive, mytmp)
                            sc += _score(rule, dn2, dec, Lb)
                        if sc > bv:
                            bv = sc
                            bidx = bi
                    bv, bidx = _bargmax(red, redi, bv, bidx, t, T)
                    if bidx < 0:
                        break  # every score zero: optimal
                    if t == 0:
                        si[0] = blk_list[bidx]
                if t == 0:
                    bsel = si[0]
                    nat0 = 0
                    for tt in range(blk_ptr[bsel], blk_ptr[bsel + 1]):
                        atoms[nat0] = blk_atoms[tt]
                        nat0 += 1
                    si[1] = nat0
                    si[2] = _coords(atoms, nat0, grp_ptr, grp_idx, q_ptr, J)
            elif greedy:
                for a in range(t, n_atoms, T):
                    sc = 0.0
                    if L_atom[a] > 0.0:
                        La = Lglob if rule == GS else L_atom[a]
                        dn2, dec = _atom_step(a, grp_ptr, grp_idx, wt, w, corr, inv_n, lam1,
                                              lam2, La, positive, mytmp)
                        sc = _score(rule, dn2, dec, La)
                    score[a] = sc
                cuda.syncthreads()
                # the block_size best: (score desc, atom asc), as the CPU's insertion
                nat1 = 0
                for kk in range(block_size):
                    bv = 0.0
                    bidx = -1
                    for a in range(t, n_atoms, T):
                        if score[a] > bv:
                            bv = score[a]
                            bidx = a
                    bv, bidx = _bargmax(red, redi, bv, bidx, t, T)
                    if bidx < 0:
                        break
                    if t == 0:
                        atoms[kk] = bidx
                        score[bidx] = 0.0
                    nat1 += 1
                    cuda.syncthreads()
                if nat1 == 0:
                    break
                if t == 0:
                    si[1] = nat1
                    si[2] = _coords(atoms, nat1, grp_ptr, grp_idx, q_ptr, J)
            else:
                if t == 0:
                    k = min(block_size, nb)
                    tries = 0
                    nat2 = 0
                    while nat2 < k and tries < 100 * k:
                        tries += 1
                        x = _uniform(useed, ctr)
                        ctr += _ONE
                        if rule == LIPSCHITZ:
                            a = min(_search_right(cum, n_atoms, x * cum[n_atoms - 1]),
                                    n_atoms - 1)
                        else:
                            a = blk_list[min(_I64(x * nb), nb - 1)]
                        if picked[a] != 0 or L_atom[a] <= 0.0:
                            continue
                        picked[a] = 1
                        atoms[nat2] = a
                        nat2 += 1
                    for tt in range(nat2):
                        picked[atoms[tt]] = 0
                    si[1] = nat2
                    si[2] = _coords(atoms, nat2, grp_ptr, grp_idx, q_ptr, J)
            # the block's atoms and coordinates (J, q_ptr), from thread 0
            cuda.syncthreads()
            nat = si[1]
            m = si[2]
            if nat == 0:  # random variable block: nothing drawn (the CPU skips too)
                cuda.syncthreads()
                continue
            # ------------------------------------------------ block gradient
            if not greedy:
                for q in range(m):
                    j = J[q]
                    s = _col_dot_part(dense, Xd, Xp, Xi, Xx, j, rt, n_rows, t, T)
                    s = _bsum0(red, (q & 1) * (T + 1), s, t, T)
                    if t == 0:
                        corr[j] = s - mu[j] * S
            if (newton or variable) and m > 1:
                _gram_pairs(dense, Xd, Xp, Xi, Xx, mu, n, J, 0, m, G, t, T)
                cuda.syncthreads()
            # ------------------------------- new block values (thread 0)
            if t == 0:
                skip = 0
                if newton and m > 1:
                    for q in range(m):
                        for qq in range(m):
                            G[q, qq] *= inv_n
                        G[q, q] += lam2
                        j = J[q]
                        znew[q] = w[j]
                        hg[q] = -corr[j] * inv_n + lam2 * w[j]
                    _newton_block(q_ptr, nat, atoms, grp_ptr, wt, L_atom, G, m, znew, hg,
                                  lam1, positive, mytmp)
                else:
                    if m == 1:
                        Lb = L_atom[atoms[0]]
                    elif variable:
                        Lb = _lam_max(G, m) * inv_n + lam2
                    else:
                        Lb = L_blk[si[0]]
                    if Lb <= 0.0:
                        skip = 1
                    else:
                        for ai in range(nat):
                            a = atoms[ai]
                            q0 = q_ptr[ai]
                            _atom_step(a, grp_ptr, grp_idx, wt, w, corr, inv_n, lam1, lam2, Lb,
                                       positive, mytmp)
                            for q in range(q0, q_ptr[ai + 1]):
                                znew[q] = mytmp[q - q0]
                if skip == 0:
                    # the coefficients and the running sums; dz for all threads
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
                            dz[q] = d
                            if d == 0.0:
                                continue
                            w[j] = new
                            S -= d * n * mu[j]
                            c += d * mu[j]
                            sum_u += d * n * mu[j]
                        pen1 += wt[a] * (math.sqrt(new_n2) - math.sqrt(old_n2))
                        w2 += new_n2 - old_n2
                    sf[0] = sum_u
                si[3] = skip
            cuda.syncthreads()
            if si[3] != 0:
                cuda.syncthreads()
                continue
            # -------------------------------------------------- apply delta
            for q in range(m):
                d = dz[q]
                if d == 0.0:
                    continue
                j = J[q]
                if dense:
                    for i in range(t, n_rows, T):  # a thread owns rows i = t mod T
                        v = d * Xd[i, j]
                        o = rt[i]
                        nv = o - v
                        rt[i] = nv
                        rsq += nv * nv - o * o
                        if greedy:
                            u[i] += v
                else:
                    for k in range(Xp[j] + t, Xp[j + 1], T):
                        i = Xi[k]
                        v = d * Xx[k]
                        o = rt[i]
                        nv = o - v
                        rt[i] = nv
                        rsq += nv * nv - o * o
                        if greedy:
                            u[i] += v
                            if cuda.atomic.add(mark, i, 1) == 0:
                                touched[cuda.atomic.add(si, 4, 1)] = i
                    if m > 1:
                        cuda.syncthreads()  # the next column may share rows
            # -------------------------------- keep the whole gradient (greedy)
            if greedy:
                cuda.syncthreads()
                if dense:
                    for k in range(t, p, T):
                        s = 0.0
                        for i in range(n_rows):
                            s += Xd[i, k] * u[i]
                        corr[k] -= s
                    cuda.syncthreads()
                    for i in range(t, n_rows, T):
                        u[i] = 0.0
                else:
                    n_touched = si[4]
                    for tt in range(t, n_touched, T):
                        i = touched[tt]
                        ui = u[i]
                        for kk in range(Rp[i], Rp[i + 1]):
                            cuda.atomic.add(corr, Rj[kk], -(Rx[kk] * ui))
                        u[i] = 0.0
                        mark[i] = 0
                    cuda.syncthreads()
                    if t == 0:
                        si[4] = 0
                if center:
                    su = sf[0]
                    if su != 0.0:
                        for k in range(t, p, T):
                            corr[k] += mu[k] * su
            done += 1
            if record:
                tot = _bsum0(red, 0, rsq, t, T)
                if t == 0:
                    hist[step] = ((rt_sq0 + tot + 2.0 * c * S + n * c * c) * 0.5 * inv_n
                                  + lam1 * pen1 + 0.5 * lam2 * w2)
            cuda.syncthreads()
        tot = _bsum0(red, 0, rsq, t, T)
        if t == 0:
            st[0] = S
            st[1] = c
            st[2] = rt_sq0 + tot
            st[3] = pen1
            st[4] = w2
            info[0] = done

    return _bcd_run_kernel


def _gmax_of(grp_ptr, grp_idx) -> int:
    """Largest atom size, for scratch sizes: 1 without a device read when every
    atom is one coordinate (the Lasso), else one device reduction. Atoms are
    non-empty, as the estimators build them (with an empty atom, as many
    coordinates as atoms would not mean one each)."""
    if grp_ptr.shape[0] < 2 or grp_idx.shape[0] == grp_ptr.shape[0] - 1:
        return 1
    return max(1, int((grp_ptr[1:] - grp_ptr[:-1]).max()))


def bcd_run(dense, Xd, Xp, Xi, Xx, Rp, Rj, Rx, mu, center,
            grp_ptr, grp_idx, wt, L_atom,
            blk_ptr, blk_atoms, L_blk, blk_list,
            variable, block_size, rule, newton, positive,
            lam1, lam2, n, w, rt, corr, st, n_steps, seed, cyc_pos, hist):
    """Run ``n_steps`` block updates; returns the number done (see the CPU
    function for the parameters; ``w, rt, corr, st, cyc_pos, hist`` are
    updated in place on the device).

    One launch of the persistent kernel (:func:`_run_kernel`: grid 1,
    ``_cuda.THREADS`` threads) and one device-to-host read of the step
    count (two more, for scratch sizes, with groups or multi-atom blocks;
    atoms and blocks must be non-empty, see :func:`_gmax_of`). The random
    rules use this module's counter-based generator, so their choices differ
    from the CPU kernel's (see the module docstring).
    """
    xp = _cuda.array_module(w, rt, corr)
    n_steps = int(n_steps)
    T = THREADS
    n_atoms = grp_ptr.shape[0] - 1
    nb = blk_list.shape[0]
    n_rows = rt.shape[0]
    rule = int(rule)
    variable = bool(variable)
    greedy = rule >= GS
    if n_steps <= 0 or nb == 0 or n_atoms == 0:
        return 0
    gmax = _gmax_of(grp_ptr, grp_idx)
    if variable:
        max_blk = int(block_size)
    elif blk_atoms.shape[0] == blk_ptr.shape[0] - 1:
        max_blk = 1  # one atom per block: no device read
    else:
        sizes = blk_ptr[1:] - blk_ptr[:-1]
        max_blk = max(1, int(sizes[blk_list].max()))
    mmax = max_blk * gmax
    atoms = xp.empty(max_blk, dtype=_I64)
    q_ptr = xp.empty(max_blk + 1, dtype=_I64)
    J = xp.empty(mmax, dtype=_I64)
    znew = xp.empty(mmax, dtype=_F64)
    dz = xp.zeros(mmax, dtype=_F64)
    tmp = xp.empty((T, gmax), dtype=_F64)
    need_g = (bool(newton) or variable) and mmax > 1
    G = xp.empty((mmax, mmax) if need_g else (1, 1), dtype=_F64)
    hg = xp.empty(mmax, dtype=_F64)
    sparse_greedy = greedy and not dense
    u = xp.zeros(n_rows if greedy else 1, dtype=_F64)
    touched = xp.empty(n_rows if sparse_greedy else 1, dtype=_I64)
    mark = xp.zeros(n_rows if sparse_greedy else 1, dtype=np.int32)
    score = xp.empty(n_atoms if (variable and greedy) else 1, dtype=_F64)
    picked = xp.zeros(n_atoms if (variable and not greedy) else 1, dtype=np.int32)
    if rule == LIPSCHITZ:
        cum = xp.cumsum(L_atom) if variable else xp.cumsum(L_blk[blk_list])
    else:
        cum = xp.zeros(1, dtype=_F64)
    info = xp.zeros(1, dtype=_I64)
    kern = _run_kernel(T)
    _cuda.launch_grid(kern, 1, T, bool(dense), Xd, Xp, Xi, Xx, Rp, Rj, Rx, mu, bool(center),
                      grp_ptr, grp_idx, wt, L_atom, blk_ptr, blk_atoms, L_blk, blk_list,
                      variable, _I64(block_size), _I64(rule), bool(newton), bool(positive),
                      float(lam1), float(lam2), float(n), w, rt, corr, st, _I64(n_steps),
                      _I64(seed), cyc_pos, hist, atoms, q_ptr, J, znew, dz, tmp, G, hg, u,
                      touched, mark, score, picked, cum, info)
    return int(info[0])


# --------------------------------------------------------------------------- #
# the other kernels
# --------------------------------------------------------------------------- #
@functools.cache
def _corr_kernel(threads: int):
    """``out[t] = x_j . r - mu_j S``: a block of ``threads`` per column
    (strided nonzeros, block-wide sum); blocks stride over the columns."""
    T = threads
    RED = 2 * threads + 2  # shared sizes must be compile-time constants

    @_cuda.kernel
    def _csc_corr_subset_kernel(Xp, Xi, Xx, r, mu, S, cols, out):
        red = cuda.shared.array(RED, _F64)
        t = cuda.threadIdx.x
        par = 0
        for q in range(cuda.blockIdx.x, cols.shape[0], cuda.gridDim.x):
            j = cols[q]
            s = 0.0
            for k in range(Xp[j] + t, Xp[j + 1], T):
                s += Xx[k] * r[Xi[k]]
            s = _bsum0(red, par * (T + 1), s, t, T)
            par = 1 - par
            if t == 0:
                out[q] = s - mu[j] * S

    return _csc_corr_subset_kernel


def csc_corr_subset(Xp, Xi, Xx, r, mu, S, cols, out):
    """``out[t] = x_j . r - mu_j S`` for ``j = cols[t]`` (``Z^T r`` on a subset).

    One block per column (:func:`_corr_kernel`)."""
    T = THREADS
    _cuda.launch_grid(_corr_kernel(T), _grid(cols.shape[0]), T, Xp, Xi, Xx, r, mu, float(S),
                      cols, out)


@_cuda.kernel
def _gram_kernel(dense, Xd, Xp, Xi, Xx, mu, n, J, G):
    # one thread per entry (a, b) with a <= b of the m x m Gram matrix
    m = J.shape[0]
    for pidx in range(cuda.grid(1), m * m, cuda.gridsize(1)):
        a = pidx // m
        b = pidx - a * m
        if b < a:
            continue
        s = _pair_dot(dense, Xd, Xp, Xi, Xx, mu, n, J[a], J[b])
        G[a, b] = s
        G[b, a] = s


def gram(dense, Xd, Xp, Xi, Xx, mu, n, J):
    """Dense ``Z_J^T Z_J`` (the active-set Newton system), a new device array.

    Sparse ``X``: one thread per entry, each a merge of two sorted columns
    in the CPU kernel's order (grid over ``m * m`` threads). Dense ``X``: one
    GEMM of the selected columns."""
    xp = _cuda.array_module(mu, J)
    m = J.shape[0]
    if dense:
        Xa = Xd[:, J]
        muJ = mu[J]
        return Xa.T @ Xa - float(n) * (muJ[:, None] * muJ[None, :])
    G = xp.zeros((m, m), dtype=_F64)
    _cuda.launch_grid(_gram_kernel, _grid(m * m, THREADS), THREADS, bool(dense), Xd, Xp, Xi,
                      Xx, mu, float(n), J, G)
    return G


@_cuda.kernel
def _set_lipschitz_kernel(dense, Xd, Xp, Xi, Xx, mu, n, set_ptr, set_idx, G, out):
    # one block per set: its Gram matrix by the block's threads (pairs), then
    # the largest eigenvalue on thread 0 (Jacobi, in place in the set's G)
    t = cuda.threadIdx.x
    T = cuda.blockDim.x
    for s in range(cuda.blockIdx.x, set_ptr.shape[0] - 1, cuda.gridDim.x):
        m = set_ptr[s + 1] - set_ptr[s]
        Gs = G[s]
        if m > 0:
            _gram_pairs(dense, Xd, Xp, Xi, Xx, mu, n, set_idx, set_ptr[s], m, Gs, t, T)
        cuda.syncthreads()
        if t == 0:
            out[s] = _lam_max(Gs, m) if m > 0 else 0.0


def set_lipschitz(dense, Xd, Xp, Xi, Xx, mu, n, set_ptr, set_idx, out):
    """``out[s] = lambda_max(Z_s^T Z_s)`` for the coordinate sets ``s``.

    A block per set (blocks stride over the sets): the set's Gram pairs over
    the threads, then cyclic Jacobi on thread 0 (LAPACK's ``eigvalsh`` on the
    CPU; they agree to rounding)."""
    xp = _cuda.array_module(mu, set_ptr)
    n_sets = set_ptr.shape[0] - 1
    if n_sets <= 0:
        return
    mmax = max(1, int((set_ptr[1:] - set_ptr[:-1]).max()))
    G = xp.empty((n_sets, mmax, mmax), dtype=_F64)
    T = min(THREADS, max(4, mmax * mmax))
    _cuda.launch_grid(_set_lipschitz_kernel, _grid(n_sets), T, bool(dense), Xd, Xp, Xi, Xx,
                      mu, float(n), set_ptr, set_idx, G, out)


@functools.cache
def _ws_kernel(threads: int):
    """A block per working-set block (blocks stride over them): refresh the
    gradient of its coordinates (block-wide sums), then the violations on
    thread 0."""
    T = threads
    RED = 2 * threads + 2  # shared sizes must be compile-time constants

    @_cuda.kernel
    def _ws_violation_kernel(dense, Xd, Xp, Xi, Xx, mu, S, rt, grp_ptr, grp_idx, wt,
                             blk_ptr, blk_atoms, L_blk, ws, w, corr, lam1, lam2, n, positive,
                             tmp, out):
        red = cuda.shared.array(RED, _F64)
        t = cuda.threadIdx.x
        inv_n = 1.0 / n
        n_rows = rt.shape[0]
        par = 0
        for bi in range(cuda.blockIdx.x, ws.shape[0], cuda.gridDim.x):
            b = ws[bi]
            Lb = L_blk[b]
            worst = 0.0
            if Lb > 0.0:  # uniform over the block
                for tt in range(blk_ptr[b], blk_ptr[b + 1]):
                    a = blk_atoms[tt]
                    for q in range(grp_ptr[a], grp_ptr[a + 1]):
                        j = grp_idx[q]
                        s = _col_dot_part(dense, Xd, Xp, Xi, Xx, j, rt, n_rows, t, T)
                        s = _bsum0(red, par * (T + 1), s, t, T)
                        par = 1 - par
                        if t == 0:
                            corr[j] = s - mu[j] * S
                    if t == 0:
                        dn2, _dec = _atom_step(a, grp_ptr, grp_idx, wt, w, corr, inv_n, lam1,
                                              lam2, Lb, positive, tmp[bi])
                        worst = max(worst, Lb * dn2)
            if t == 0:
                out[bi] = worst

    return _ws_violation_kernel


def ws_violation(dense, Xd, Xp, Xi, Xx, mu, S, rt, grp_ptr, grp_idx, wt,
                 blk_ptr, blk_atoms, L_blk, ws, w, corr, lam1, lam2, n, positive):
    """Largest ``sqrt(L_b) ||d_a||`` over the atoms of the blocks ``ws``, after
    refreshing ``corr`` on their coordinates; a 0-d device array (the caller
    reads it as the working-set stopping test). A block per ``ws`` block."""
    xp = _cuda.array_module(rt, w, corr)
    nws = ws.shape[0]
    if nws == 0:
        return xp.zeros((), dtype=_F64)
    gmax = _gmax_of(grp_ptr, grp_idx)
    tmp = xp.empty((nws, gmax), dtype=_F64)
    out = xp.empty(nws, dtype=_F64)
    T = THREADS
    _cuda.launch_grid(_ws_kernel(T), _grid(nws), T, bool(dense), Xd, Xp, Xi, Xx, mu, float(S),
                      rt,
                      grp_ptr, grp_idx, wt, blk_ptr, blk_atoms, L_blk, ws, w, corr,
                      float(lam1), float(lam2), float(n), bool(positive), tmp, out)
    return xp.sqrt(out.max())


@_cuda.kernel
def _block_violations_kernel(grp_ptr, grp_idx, wt, blk_ptr, blk_atoms, L_blk, w, corr,
                             lam1, lam2, n, positive, tmp, out):
    # one thread per block (grid-stride)
    inv_n = 1.0 / n
    for b in range(cuda.grid(1), blk_ptr.shape[0] - 1, cuda.gridsize(1)):
        Lb = L_blk[b]
        worst = 0.0
        if Lb > 0.0:
            for t in range(blk_ptr[b], blk_ptr[b + 1]):
                dn2, _dec = _atom_step(blk_atoms[t], grp_ptr, grp_idx, wt, w, corr, inv_n,
                                      lam1, lam2, Lb, positive, tmp[b])
                worst = max(worst, Lb * dn2)
        out[b] = math.sqrt(worst)


def block_violations(grp_ptr, grp_idx, wt, blk_ptr, blk_atoms, L_blk, w, corr,
                     lam1, lam2, n, positive, out):
    """``out[b]`` = largest ``sqrt(L_b) ||d_a||`` over the atoms of block ``b``
    (one thread per block)."""
    xp = _cuda.array_module(w, corr)
    nb = blk_ptr.shape[0] - 1
    if nb <= 0:
        return
    tmp = xp.empty((nb, _gmax_of(grp_ptr, grp_idx)), dtype=_F64)
    _cuda.launch_grid(_block_violations_kernel, _grid(nb, THREADS), THREADS, grp_ptr, grp_idx,
                      wt, blk_ptr, blk_atoms, L_blk, w, corr, float(lam1), float(lam2),
                      float(n), bool(positive), tmp, out)


@_cuda.kernel
def _atom_stats_kernel(grp_ptr, grp_idx, wt, L_atom, w, corr, lam1, lam2, n, positive, viol,
                       tmp, parts):
    # one thread per atom (grid-stride): its violation and its terms of the sums
    for a in range(cuda.grid(1), grp_ptr.shape[0] - 1, cuda.gridsize(1)):
        _atom_stats_one(a, grp_ptr, grp_idx, wt, L_atom, w, corr, lam1, lam2, n, positive,
                        viol, tmp, parts)


@_cuda.device
def _atom_stats_one(a, grp_ptr, grp_idx, wt, L_atom, w, corr, lam1, lam2, n, positive, viol,
                    tmp, parts):
    """The CPU kernel's per-atom body of ``atom_stats`` for atom ``a``."""
    inv_n = 1.0 / n
    beta = n * lam2
    dual = 0.0
    if grp_ptr[a + 1] - grp_ptr[a] == 1:  # one coordinate: the CPU's scalar path
        j = grp_idx[grp_ptr[a]]
        wj = w[j]
        v = corr[j] - beta * wj
        if positive and v < 0.0:
            v = 0.0
        s = abs(v)
        if wt[a] > 0.0:
            dual = s / wt[a]
        elif s > 0.0:
            dual = math.inf
        parts[0, a] = dual
        parts[1, a] = wt[a] * abs(wj)
        parts[2, a] = wj * wj
        La = L_atom[a]
        if La > 0.0:
            z = wj - (-corr[j] * inv_n + lam2 * wj) / La
            if positive and z < 0.0:
                z = 0.0
            thr = lam1 * wt[a] / La
            if z > thr:
                z = z - thr
            elif z < -thr:
                z = z + thr
            else:
                z = 0.0
            viol[a] = math.sqrt(La) * abs(z - wj)
        else:
            viol[a] = 0.0
        return
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
        dual = s / wt[a]
    elif s > 0.0:
        dual = math.inf
    parts[0, a] = dual
    parts[1, a] = wt[a] * math.sqrt(wn2)
    parts[2, a] = wn2
    La = L_atom[a]
    if La > 0.0:
        dn2, _dec = _atom_step(a, grp_ptr, grp_idx, wt, w, corr, inv_n, lam1, lam2, La,
                              positive, tmp[a])
        viol[a] = math.sqrt(La * dn2)
    else:
        viol[a] = 0.0


def atom_stats(grp_ptr, grp_idx, wt, L_atom, w, corr, lam1, lam2, n, positive, viol):
    """``viol[a]`` (in place) and ``(dual norm, sum_a wt_a ||w_a||, ||w||^2)``
    as 0-d device arrays (no transfer; see the CPU function). One thread per
    atom writes its terms, then three device reductions."""
    xp = _cuda.array_module(w, corr, viol)
    n_atoms = grp_ptr.shape[0] - 1
    if n_atoms <= 0:
        z = xp.zeros((), dtype=_F64)
        return z, z.copy(), z.copy()
    parts = xp.empty((3, n_atoms), dtype=_F64)
    singletons = grp_idx.shape[0] == n_atoms
    tmp = xp.empty((1, 1) if singletons else (n_atoms, _gmax_of(grp_ptr, grp_idx)),
                   dtype=_F64)
    _cuda.launch_grid(_atom_stats_kernel, _grid(n_atoms, THREADS), THREADS, grp_ptr, grp_idx,
                      wt, L_atom, w, corr, float(lam1), float(lam2), float(n), bool(positive),
                      viol, tmp, parts)
    return parts[0].max(), parts[1].sum(), parts[2].sum()
