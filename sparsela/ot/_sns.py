"""Sinkhorn-Newton-Sparse (SNS): Tang et al., "Accelerating Sinkhorn
Algorithm with Sparse Newton Iterations", ICLR 2024.

Notation (POT's): the plan is ``P = exp(-M/reg + alpha 1^T + 1 beta^T)`` with
``alpha = log u``, ``beta = log v``. The paper's concave Lyapunov potential
``f(x, y) = -(1/eta) sum_ij exp(eta (-C_ij + x_i + y_j) - 1) + <x, r> + <y, c>``
is, with ``eta = 1/reg``, ``x = reg (alpha + 1/2)`` and ``y = reg (beta + 1/2)``,
``reg`` times

.. math::  \\Phi(\\alpha, \\beta) = \\langle \\alpha, a\\rangle
           + \\langle \\beta, b\\rangle - \\sum_{ij} P_{ij} \\ (+\\ \\text{const}),

whose gradient is ``(a - P 1, b - P^T 1)`` and whose negated Hessian is
``H = [[diag(P 1), P], [P^T, diag(P^T 1)]]`` (the paper's Hessian divided by
``eta``: the same Newton steps, better scaled).

Stage 1 runs ``n_sinkhorn_warmup`` Sinkhorn iterations (the coordinate
ascent on ``Phi``). Stage 2 takes Newton steps ``H_s d = grad`` where ``H_s``
keeps the whole diagonal and only the largest entries of ``P`` (its
off-diagonal block ``B`` in CSR form), solved by conjugate gradient on the
Schur complement of its row block (preconditioned by its diagonal), followed
by an Armijo backtracking line search on ``Phi``.

Implementation (kernels in ``sparsela/backends/cpu/ot.py``): the plan is
held as ``P = diag(u) K diag(v)`` with ``K = exp(-M/reg + alpha + beta)``
fixed between absorptions (Schmitzer's stabilized kernel; entries below
``1e-200`` are 0), so a Sinkhorn iteration is two BLAS products with ``K``
(POT's plain iteration), the marginals of a Newton iterate are two more, and
the Armijo line search needs one per trial (``expm1(x)^T P expm1(y)``, no
``n m`` exponentials). ``n m`` exponentials are spent only on the start
(``K`` with each row scaled to a largest entry of 1; log-sum-exps when a
column of ``K`` still has no mass) and when a scaling leaves
``[e^-50, e^50]`` (then folded into ``alpha``, ``beta``). The returned plan is
``diag(u) K diag(v)``, whose marginal error was measured. The Hessian's
entries are the candidates above a margin below the last threshold (or, at
first, chosen by a histogram of ``P``; no sort of ``P``). The Newton system
is solved by :func:`sparsela.linalg.cg` on its Schur complement
(:func:`_hessian_solve`), applied by one compiled pass over ``B`` per
iteration.

On the GPU (CuPy ``a``, ``b``, ``M``) the same algorithm runs on the
device: ``K``, the scalings and the potentials are CuPy arrays, the
products are cuBLAS's, the selection of the Hessian's entries is
``backends/gpu/ot.py`` (dense device passes over ``P``, a shared-memory
histogram kernel, a radix sort of the candidates) and the Newton system is
solved by :func:`sparsela.linalg.cg` with two SpMVs per iteration, ``B`` and
``B^T`` being sparsela CSR arrays on the GPU. What crosses to the host is
the scalars of the tests: per Sinkhorn iteration two transfers (the
breakdown and range tests of the scalings together, the error), per Newton
step one for the
error and the marginals' extremes, a few for the selection sizes and the
slope, one per line-search trial, and the CG's two per iteration.
"""
from __future__ import annotations

import math

import numpy as np

from .._device import namespace_of
from ..formats.csr import csr_array
from ..linalg import cg
from ..ops._backend import kernels
from ..utils.progress import progress
from ._sinkhorn import _check_iter, _embed, _finish_log, _log_domain_setup
from ._utils import check_ot_problem, fetch, lse_cols, lse_rows, warn_not_converged

__all__ = ["sinkhorn_newton_sparse"]

#: Armijo sufficient-increase constant and the most step halvings tried
_ARMIJO_C = 1e-4
_MAX_HALVINGS = 60
#: the first trial step scales no entry of P by more than exp(_MAX_LOG_STEP)
_MAX_LOG_STEP = 16.0
#: range of the Levenberg-Marquardt damping and the definite-making shift
_MU_MIN, _MU_MAX = 1e-10, 1e6
_SHIFT = 1e-12
#: a doubled density is kept when it cuts the error contraction ratio to at
#: most this fraction of what it was
_DENSIFY_GAIN = 0.7


#: the scalings are folded into the potentials and ``K`` recomputed (one
#: ``n m`` exponential pass) when one leaves [exp(-50), exp(50)]: with the
#: entries of K below 1e-200 set to 0, the products K_ij u_i v_j then stay
#: far from the subnormal range (12x slower arithmetic), and an entry set to
#: 0 could have grown at most to 1e-156 of the plan
_MAX_LOG_SCALING = 50.0
_K_FLUSH = 1e-200
_LOG_K_FLUSH = math.log(_K_FLUSH)
#: a Newton step shorter than this is followed by n_sinkhorn_warmup Sinkhorn
#: iterations (resume_sinkhorn=True)
_DAMPED = 0.5
#: the entries gathered for the next Hessian are those above this fraction of
#: the last threshold
_LO_MARGIN = 1.0 / 16.0


def _floored_exp(x: np.ndarray, xp=np) -> None:
    """``exp(x)`` in place, 0 where it is below ``_K_FLUSH`` (the exponents
    are floored first: ``exp`` of very negative numbers gives subnormals,
    slow in every later product)."""
    low = x < _LOG_K_FLUSH
    xp.maximum(x, _LOG_K_FLUSH, out=x)
    xp.exp(x, out=x)
    if xp is np:
        x[low] = 0.0
    else:  # copyto, not x[low] = 0: a boolean-mask store counts the mask on the host
        xp.copyto(x, 0.0, where=low)


def _expm1mx(x: np.ndarray, xp=np) -> np.ndarray:
    """``expm1(x) - x`` without cancellation for small ``|x|``."""
    if xp is not np:
        # the same series for every entry, chosen by where (no boolean
        # indexing: it would count the mask on the host); |x| <= 16 here,
        # so the unused series values stay finite
        acc = xp.full_like(x, 1.0 / 3628800.0)
        for fact in (362880.0, 40320.0, 5040.0, 720.0, 120.0, 24.0, 6.0, 2.0):
            acc = acc * x + 1.0 / fact
        return xp.where(xp.abs(x) < 0.1, acc * x * x, xp.expm1(x) - x)
    out = np.expm1(x) - x
    small = np.abs(x) < 0.1
    if small.any():
        xs = x[small]
        acc = np.full_like(xs, 1.0 / 3628800.0)  # x^2 (1/2! + x/3! + ... + x^8/10!)
        for fact in (362880.0, 40320.0, 5040.0, 720.0, 120.0, 24.0, 6.0, 2.0):
            acc = acc * xs + 1.0 / fact
        out[small] = acc * xs * xs
    return out


def _hessian_solve(Bp, Bj, Bx, dr, dc, g, rtol: float, maxiter: int):
    """Solve ``[[diag(dr), B], [B^T, diag(dc)]] d = g`` (the sparsified Newton
    Hessian) by :func:`sparsela.linalg.cg` on the Schur complement
    ``S = diag(dc) - B^T diag(1/dr) B``, preconditioned by its diagonal.

    Eliminating the row block is exact and cheap (``dr`` is diagonal), and
    for this two-cyclic matrix CG on ``S`` needs half the iterations of
    Jacobi-preconditioned CG on the whole system (the scaled spectrum of
    ``S`` is ``1 - s^2`` where the whole system's is ``1 +- s``). ``S`` is
    never formed: ``S x = dc x - B^T (B x / dr)``. On the CPU that is one
    compiled pass over ``B`` (``backends/cpu/ot.py``, ``schur_product``:
    the two SpMVs read ``B`` twice and cost 1.2-2.3x more per iteration);
    on the GPU two sparsela SpMVs, ``B`` and ``B^T`` being CSR arrays on the
    device (``B^T`` built once per solve by a stable sort, so both products
    are row-parallel gathers: no float atomics, the solve is deterministic
    run to run). The right-hand side and the preconditioner are sparsela
    products on either device. The residual of the whole system at
    ``(d_a, d_b)`` with ``d_a = diag(1/dr) (g_a - B d_b)`` is
    ``(0, S d_b - rhs)``, so CG's rule ``||S d_b - rhs|| <= rtol ||g||`` is
    the whole system's.

    Parameters
    ----------
    Bp, Bj, Bx : ndarray or device array
        CSR arrays of ``B`` (shape ``(n, m)``), canonical: the row-major
        triplets of ``top_entries`` with ``Bp`` from their row counts.
    dr, dc : array of shape (n,), (m,)
        Positive diagonal blocks.
    g : array of shape (n + m,)
        Right-hand side.
    rtol : float
        Relative residual tolerance.
    maxiter : int
        Most CG iterations.

    Returns
    -------
    d : array of shape (n + m,)
    n_iter : int
    converged : bool
    """
    xp = namespace_of(g)
    n, m = dr.shape[0], dc.shape[0]
    Bp, Bj = Bp.astype(np.int64, copy=False), Bj.astype(np.int64, copy=False)
    # canonical by construction (row-major, columns ascending, no
    # duplicates): wrapped without the constructor's checks (on the GPU they
    # read back ~9 scalars per array)
    B = csr_array._from_arrays(Bx, Bj, Bp, (n, m), True, True)
    B2 = csr_array._from_arrays(Bx * Bx, Bj, Bp, (n, m), True, True)
    if xp is np:
        Bt, Bt2 = B.T, B2.T
    else:  # B^T in CSR: the entries stably sorted by column (rows stay ascending)
        nnz = Bx.shape[0]
        rows = xp.searchsorted(Bp, xp.arange(nnz, dtype=np.int64), side="right") - 1
        order = xp.argsort(Bj, kind="stable")
        Btj, Btx = rows[order], Bx[order]
        Btp = xp.searchsorted(Bj[order], xp.arange(m + 1, dtype=np.int64), side="left")
        Bt = csr_array._from_arrays(Btx, Btj, Btp, (m, n), True, True)
        Bt2 = csr_array._from_arrays(Btx * Btx, Btj, Btp, (m, n), True, True)
    rinv = 1.0 / dr
    ga, gb = g[:n], g[n:]
    # right-hand side gb - B^T diag(1/dr) ga and the Schur complement's
    # diagonal diag(dc) - diag(B^T diag(1/dr) B) (its Jacobi preconditioner)
    rhs = gb - Bt @ (ga * rinv)
    sdiag = dc - Bt2 @ rinv
    with np.errstate(divide="ignore"):  # (NumPy; the simulated device too)
        sdinv = xp.where(sdiag > 0, 1.0 / sdiag, 1.0 / dc)
    tol = float(rtol) * float(xp.linalg.norm(g))
    done = [0]

    if xp is np:
        ker = kernels("ot", g)

        def schur(x):
            return ker.schur_product(Bp, Bj, Bx, rinv, dc, x)
    else:
        def schur(x):
            return dc * x - Bt @ (rinv * (B @ x))

    def count(_):
        done[0] += 1

    xb, info = cg(schur, rhs, rtol=0.0, atol=tol, maxiter=int(maxiter),
                  M=lambda r: sdinv * r, callback=count)
    # back substitution: xa = diag(1/dr) (ga - B xb)
    xa = (ga - B @ xb) * rinv
    # info: 0 converged, else the iterations done (breakdown or the cap)
    n_iter = done[0] if info == 0 else int(info)
    return xp.concatenate([xa, xb]), n_iter, info == 0


class _Plan:
    """The plan ``P = diag(u) K diag(v)``, ``K = exp(Mr + alpha + beta)``
    (Schmitzer's stabilized kernel): the potentials are ``alpha + log u``,
    ``beta + log v``; Sinkhorn iterations, Newton steps and the marginals
    change only ``u``, ``v`` and use products with ``K``.

    NumPy or CuPy arrays (``xp``); on the GPU the tests a CPU iteration
    makes one scalar at a time are read back together (one transfer)."""

    def __init__(self, Mr, alpha, beta, a, b, K):
        self.Mr, self.alpha, self.beta, self.a, self.b, self.K = Mr, alpha, beta, a, b, K
        self.xp = xp = namespace_of(K)
        n, m = Mr.shape
        self.u, self.v = xp.ones(n), xp.ones(m)
        self._r = self._c = self._Ktu = None

    def absorb(self):
        """Fold ``u``, ``v`` into the potentials; ``K`` from them (one
        exponential pass): then ``P = K``."""
        xp = self.xp
        self.alpha += xp.log(self.u)
        self.beta += xp.log(self.v)
        K = self.K
        xp.add(self.Mr, self.alpha[:, None], out=K)
        # into K's own buffer (it is the plan the caller gets back)
        xp.add(K, self.beta[None, :], out=K)
        _floored_exp(K, xp)
        self.u[:] = 1.0
        self.v[:] = 1.0
        self._r = self._c = self._Ktu = None

    def plan(self):
        """The plan ``diag(u) K diag(v)``, in ``K``'s buffer (the last use of
        ``K``), with the potentials folded into ``alpha``, ``beta``."""
        K, xp = self.K, self.xp
        xp.multiply(K, self.u[:, None], out=K)
        xp.multiply(K, self.v[None, :], out=K)
        self.alpha += self.xp.log(self.u)
        self.beta += self.xp.log(self.v)
        return K

    def _moved(self, extremes=None):
        """Absorb when a scaling left the range; ``extremes`` = the already
        read back ``(u.max, u.min, v.max, v.min)`` (GPU)."""
        lim = math.exp(_MAX_LOG_SCALING)
        if extremes is None and self.xp is not np:
            extremes = fetch(self.xp, self.u.max(), self.u.min(), self.v.max(), self.v.min())
        if extremes is not None:
            umax, umin, vmax, vmin = extremes
            if umax > lim or umin < 1.0 / lim or vmax > lim or vmin < 1.0 / lim:
                self.absorb()
            return
        if (self.u.max() > lim or self.u.min() < 1.0 / lim
                or self.v.max() > lim or self.v.min() < 1.0 / lim):
            self.absorb()

    def start(self):
        """``K`` from the potentials with each row shifted so that its largest
        entry is 1 (no row without mass; a column without mass is caught by
        the first Sinkhorn iteration, which then runs in the log domain)."""
        K, xp = self.K, self.xp
        if self.alpha.any() or self.beta.any():  # a warm start
            xp.add(self.Mr, self.alpha[:, None], out=K)
            xp.add(K, self.beta[None, :], out=K)
            mx = K.max(axis=1)
            xp.subtract(K, mx[:, None], out=K)
        else:
            mx = self.Mr.max(axis=1)
            xp.subtract(self.Mr, mx[:, None], out=K)
        self.alpha -= mx
        _floored_exp(K, xp)
        self.u[:] = 1.0
        self.v[:] = 1.0
        self._r = self._c = self._Ktu = None

    def log_domain_iteration(self):
        """A Sinkhorn iteration by log-sum-exps (no underflow whatever the
        potentials), then ``K`` from the new potentials."""
        xp = self.xp
        self.alpha += xp.log(self.u)
        self.beta += xp.log(self.v)
        self.u[:] = 1.0
        self.v[:] = 1.0
        self.beta[:] = xp.log(self.b) - lse_cols(self.Mr, self.alpha, self.K)
        self.alpha[:] = xp.log(self.a) - lse_rows(self.Mr, self.beta, self.K)
        self.absorb()

    def sinkhorn(self):
        """One Sinkhorn iteration: ``v = b / K^T u``, ``u = a / K v`` (two
        products with ``K``; the last column sums come for free)."""
        if self.xp is not np:
            self._sinkhorn_device()
            return
        Ktu = self._Ktu if self._Ktu is not None else self.u @ self.K
        # a row or column of K without mass (underflow): log domain instead
        if not Ktu.min() > 0:
            self.log_domain_iteration()
            return
        v = self.b / Ktu
        Kv = self.K @ v
        if not (Kv.min() > 0 and np.isfinite(v).all()):
            self.log_domain_iteration()
            return
        u = self.a / Kv
        if not np.isfinite(u).all():
            self.log_domain_iteration()
            return
        self.u, self.v = u, v
        self._r = u * Kv
        self._c = self._Ktu = None
        self._moved()

    def _sinkhorn_device(self):
        """:meth:`sinkhorn` on the GPU: the same iterate and the same fallback
        to the log domain, with its three tests and the range test of the
        new scalings read back in one transfer (a failed test makes the
        unused ``K v`` or ``u`` non-finite, harmlessly, on the device)."""
        xp = self.xp
        Ktu = self._Ktu if self._Ktu is not None else self.u @ self.K
        with np.errstate(divide="ignore", invalid="ignore"):  # (the simulated device)
            v = self.b / Ktu
            Kv = self.K @ v
            u = self.a / Kv
        ok = (Ktu.min() > 0) & (Kv.min() > 0) & xp.isfinite(v).all() & xp.isfinite(u).all()
        ok, *extremes = fetch(xp, ok, u.max(), u.min(), v.max(), v.min())
        if not ok:
            self.log_domain_iteration()
            return
        self.u, self.v = u, v
        self._r = u * Kv
        self._c = self._Ktu = None
        self._moved(extremes)

    def step(self, da, db):
        """Move the potentials by ``(da, db)``: ``u *= exp(da)``, ``v *= exp(db)``."""
        self.u = self.u * self.xp.exp(da)
        self.v = self.v * self.xp.exp(db)
        self._r = self._c = self._Ktu = None
        self._moved()

    def marginals(self):
        if self._r is None:
            self._r = self.u * (self.K @ self.v)
        if self._c is None:
            if self._Ktu is None:
                self._Ktu = self.u @ self.K
            self._c = self.v * self._Ktu
        return self._r, self._c

    def error(self):
        r, c = self.marginals()
        xp = self.xp
        return float(xp.hypot(xp.linalg.norm(self.a - r), xp.linalg.norm(self.b - c)))

    def newton_state(self):
        """``(err, min r, min c, sum r, max r, max c)`` of the marginals ``r``,
        ``c``: what a Newton step tests and scales by (on the GPU one
        transfer; on the CPU the values the solver always computed)."""
        r, c = self.marginals()
        xp = self.xp
        if xp is not np:
            err = xp.hypot(xp.linalg.norm(self.a - r), xp.linalg.norm(self.b - c))
            return fetch(xp, err, r.min(), c.min(), r.sum(), r.max(), c.max())
        err = float(np.hypot(np.linalg.norm(self.a - r), np.linalg.norm(self.b - c)))
        return err, r.min(), c.min(), float(r.sum()), float(r.max()), float(c.max())


def sinkhorn_newton_sparse(a, b, M, reg, n_sinkhorn_warmup: int = 20,
                           density: float | None = None, cg_tol: float = 1e-10,
                           max_newton: int = 1000, tol: float = 1e-9, *,
                           sinkhorn_finish: int = 30, resume_sinkhorn: bool = False,
                           retain_mass: float | None = 0.99, adaptive: bool = True,
                           superlinear_ratio: float = 0.25, damping: float = 1e-3,
                           max_cg_iter: int | None = None,
                           verbose=False, log: bool = False, warn: bool = True,
                           warmstart=None):
    """Entropic OT plan by Sinkhorn-Newton-Sparse (Tang et al., ICLR 2024).

    A log-domain Sinkhorn warm-up followed by Newton steps on the dual
    potentials, each solving ``H_s d = grad`` for a sparsified Hessian by
    conjugate gradient, then an Armijo line search. Same problem, plan and
    ``log`` conventions as :func:`sinkhorn` (POT's, ``reg = 1 / eta``).

    Parameters
    ----------
    a : array-like of shape (n,) or None
        Source histogram (``None``: uniform).
    b : array-like of shape (m,) or None
        Target histogram, same total mass.
    M : ndarray of shape (n, m)
        Cost matrix. A CuPy array (``a``, ``b`` on the GPU too, or
        ``None``) solves on the GPU: the plan, the potentials and the log's
        arrays are then CuPy arrays, equal to the CPU's to rounding. The
        iteration counts are the CPU's or close to them: the Sinkhorn
        iterates and the CG solves agree to rounding only (cuBLAS and the
        sparse GPU kernels sum in other orders), so a decision taken near
        its threshold (Sinkhorn's predicted finish, the density doubling, a
        line-search test, a CG stopping test) can go the other way.
    reg : float
        Entropic regularization (> 0).
    n_sinkhorn_warmup : int, default=20
        Sinkhorn iterations before the Newton stage (the paper's ``N_1``);
        fewer when Sinkhorn reaches ``tol`` first.
    density : float, optional
        Initial fraction of the entries of ``P`` kept in the Hessian
        (default ``2 / min(n, m)``: about two per row, the paper's target
        sparsity ``lambda = 2/n``).
    cg_tol : float, default=1e-10
        Floor of the CG relative tolerance. The tolerance of each solve is
        the inexact-Newton forcing term ``min(0.1, 0.1 (err_k / err_{k-1})^2)``
        (Eisenstat and Walker's choice 2: loose while the steps contract
        linearly, tight once they contract quadratically; ``min(0.1, err /
        (||a|| + ||b||))`` for the first step), floored at ``cg_tol``.
    max_newton : int, default=1000
        Maximum number of Newton steps (the paper's ``N_2``; the default
        of :func:`sinkhorn`'s ``numItermax``). At small ``reg`` the damped
        phase is long: on Gaussian clouds at ``reg=1e-4`` the line search
        accepts half steps for 200-400 Newton steps before the quadratic
        phase (POT's log-domain Sinkhorn needed 16,650 iterations on such a
        problem with n=200, and 200x the time).
    tol : float, default=1e-9
        Stop when the marginal error ``sqrt(||P1 - a||^2 + ||P^T 1 - b||^2)``
        (the dual gradient norm; POT's measure when the row marginal is
        exact) is below ``tol``.
    sinkhorn_finish : int, default=30
        After the warm-up, Sinkhorn goes on (instead of Newton) while the
        contraction of the marginal error over its last 5 iterations
        predicts ``tol`` within ``sinkhorn_finish`` more iterations, and at
        most that many: a Sinkhorn iteration costs two products with the
        dense kernel, a Newton step several (selection, marginals, line
        search, CG), and from the warm-up Newton needs a few steps, so an
        easy problem (large ``reg``) is finished by Sinkhorn. 30 is about
        the crossover measured on random and Gaussian problems (n = 200 to
        2000, ``reg`` 1e-2 to 1e-4; with 100, random costs at n=1000 and
        2000, ``reg=1e-3``, ran 100 and 36 Sinkhorn iterations where 3 and 2
        Newton steps took half the time). ``0``: the paper's rule, Newton
        after exactly ``n_sinkhorn_warmup`` iterations.
    resume_sinkhorn : bool, default=False
        After a damped Newton step (line-search step below 1/2: far from the
        region where Newton converges fast), run ``n_sinkhorn_warmup``
        Sinkhorn iterations before the next Newton step: they gain more per
        cost there. More iterations in all, less time where the Newton stage
        starts with damped steps (measured on Gaussian clouds at
        ``reg=1e-3``, one thread: n=500 88 iterations instead of 36 and 1.2x
        faster, n=1000 68 instead of 34 and 1.5x faster). ``False``: the
        paper's two stages.
    retain_mass : float or None, default=0.99
        Keep at least this fraction of the mass of ``P`` in the sparsified
        Hessian (the number kept doubles until it does). ``None``: no mass
        rule. Ignored when ``adaptive=False``.
    adaptive : bool, default=True
        Adapt the sparsity: the mass rule above, and, in the local phase
        (two full Newton steps in a row), double the number of kept entries
        whenever a step contracts the marginal error by less than
        ``superlinear_ratio`` although CG solved its system. A doubling that
        does not speed the contraction up (ratio not below 0.7 of what it
        was) is undone and ends the doubling: the linear rate then comes from
        the problem (near-degenerate plans at small ``reg`` make even the
        exact Newton method converge linearly), not from the sparsification. With
        ``adaptive=False`` the density stays fixed (the paper's rule), which
        can stall in linear convergence (e.g. squared-Euclidean costs at
        ``reg = 1e-3`` with ``density = 2/n``).
    superlinear_ratio : float, default=0.25
        Error contraction a local Newton step must achieve to keep the
        density.
    damping : float, default=1e-3
        Initial Levenberg-Marquardt damping ``mu``: the system solved is
        ``(H_s + mu diag(H)) d = grad``. ``mu`` is divided by 4 after a full
        step and multiplied by 4 after a step shorter than 1/4, within
        ``[1e-10, 1e6]``: far from the solution it tames the near-singular
        directions of ``H`` (and keeps CG short), near it the steps become
        Newton steps.
    max_cg_iter : int, optional
        Cap on CG iterations per Newton step (default ``10 (n + m)``).
    verbose : bool
        Progress bar with the marginal error and density.
    log : bool
        Also return a dict.
    warn : bool
        ``ConvergenceWarning`` when ``tol`` is not reached.
    warmstart : tuple of ndarray, optional
        Initial ``(log_u, log_v)``, on the device of ``M``.

    Returns
    -------
    gamma : ndarray of shape (n, m)
        The transport plan (on the device of ``M``).
    log : dict, with ``log=True``
        ``err`` (marginal error at the end of the warm-up and after each
        Newton step), ``niter`` (POT's convention: total iterations minus
        one), ``n_iter`` (Sinkhorn + Newton iterations), ``n_sinkhorn``,
        ``n_newton``, ``converged``, ``density`` (fraction of ``P`` kept per
        Newton step), ``cg_iter`` (CG iterations per step), ``step`` (line
        search step sizes), ``err_sinkhorn`` (marginal error after each
        Sinkhorn iteration, warm-up and resumed), ``u``, ``v``, ``log_u``, ``log_v``,
        ``potentials`` (``reg * log_u``, ``reg * log_v``).

    Notes
    -----
    **Null space.** ``H`` is singular along ``(1, -1)`` (adding ``t`` to
    ``alpha`` and ``-t`` to ``beta`` leaves ``P`` unchanged); the gradient
    is orthogonal to it when the masses agree. The right-hand side and the
    Newton direction are projected onto ``(1, -1)^\\perp`` and a shift of
    ``1e-12 max(diag H)`` keeps the sparsified system definite when the
    kept pattern splits into blocks.

    **Adaptive sparsity.** With ``density = O(1/n)`` fixed, the sparsified
    Hessian misses the coupling that small ``reg`` makes decisive, and the
    Newton stage converges linearly, slowly. The mass rule and the doubling
    on slow contraction restore superlinear convergence; the number of kept
    entries never decreases.

    **Globalization.** The first trial step scales no entry of ``P`` by more
    than ``exp(16)``; the Armijo test on ``Phi`` is evaluated as
    ``t <grad, d> - sum P (expm1(x) - x)`` (no cancellation near the
    solution, where ``Phi`` itself is large); a direction along which no
    ascent is found is replaced by a Sinkhorn iteration.

    **Cost.** A Sinkhorn iteration costs two products with the dense
    ``n x m`` kernel (as POT's), a Newton step several passes over it
    (marginals, one read-only pass that gathers the candidates for the
    Hessian's entries above the last threshold's margin, two when that guess
    fails or at the first step, one product per line-search trial) plus the
    CG iterations on the sparse Hessian (``O(nnz(H_s))`` each). BLAS runs the
    products on its threads; the compiled passes run on one. On the GPU the
    dense passes are cheap (a few memory-bound sweeps), and on small problems
    the CG iterations (a few kernel launches and two scalar reads each)
    dominate.

    References
    ----------
    X. Tang, M. Shavlovsky, H. Rahmanian, E. Tardini, K. K. Thekumparampil,
    T. Xiao, L. Ying. Accelerating Sinkhorn Algorithm with Sparse Newton
    Iterations. ICLR 2024.

    B. Schmitzer. Stabilized Sparse Scaling Algorithms for Entropy
    Regularized Transport Problems. SIAM J. Sci. Comput. 41(3), 2019.

    S. C. Eisenstat, H. F. Walker. Choosing the Forcing Terms in an Inexact
    Newton Method. SIAM J. Sci. Comput. 17(1), 1996.
    """
    a, b, M, reg = check_ot_problem(a, b, M, reg)
    _check_iter(max_newton, tol)
    if isinstance(n_sinkhorn_warmup, bool) or not isinstance(n_sinkhorn_warmup, (int, np.integer)) \
            or n_sinkhorn_warmup < 0:
        raise ValueError(f"n_sinkhorn_warmup must be an integer >= 0, got {n_sinkhorn_warmup!r}")
    if isinstance(sinkhorn_finish, bool) or not isinstance(sinkhorn_finish, (int, np.integer)) \
            or sinkhorn_finish < 0:
        raise ValueError(f"sinkhorn_finish must be an integer >= 0, got {sinkhorn_finish!r}")
    if density is not None and not (0 < density <= 1):
        raise ValueError(f"density must be in (0, 1], got {density!r}")
    if retain_mass is not None and not (0 < retain_mass <= 1):
        raise ValueError(f"retain_mass must be in (0, 1] or None, got {retain_mass!r}")
    if not (0 < superlinear_ratio < 1):
        raise ValueError(f"superlinear_ratio must be in (0, 1), got {superlinear_ratio!r}")
    if not np.isfinite(cg_tol) or cg_tol <= 0:
        raise ValueError(f"cg_tol must be > 0, got {cg_tol!r}")
    shape, a, b, M, ia, ib, Mr, alpha, beta, _, _, work = _log_domain_setup(
        a, b, M, reg, warmstart)
    n, m = M.shape
    xp = namespace_of(M)
    # backends/cpu/ot.py or backends/gpu/ot.py: where the arrays live
    ker = kernels("ot", M)
    plan = _Plan(Mr, alpha, beta, a, b, work)
    kmax = n * m
    if density is None:
        density = min(1.0, 2.0 / min(n, m))
    k = max(1, min(kmax, math.ceil(density * kmax)))
    mass_rule = retain_mass if adaptive else None
    scale = float(xp.linalg.norm(a) + xp.linalg.norm(b))
    if max_cg_iter is None:
        max_cg_iter = 10 * (n + m)
    e = xp.concatenate([xp.ones(n), -xp.ones(m)])

    logd = {"err": [], "err_sinkhorn": [], "density": [], "cg_iter": [], "step": [],
            "damping": []}
    err = np.inf
    converged = False
    n_sink = n_newt = 0
    with progress(n_sinkhorn_warmup + sinkhorn_finish + max_newton, verbose, "sinkhorn_newton_sparse") as bar, \
            np.errstate(over="ignore", under="ignore"):
        # ---- stage 1: Sinkhorn warm-up (from K with rows scaled to a
        # largest entry of 1; in the log domain if a column of K has no
        # mass), extended while Sinkhorn's own rate predicts convergence
        # within sinkhorn_finish more iterations (an easy problem is
        # finished by cheap iterations)
        if n_sinkhorn_warmup == 0:
            plan.absorb()
        errs = logd["err_sinkhorn"]
        while n_sink < n_sinkhorn_warmup + sinkhorn_finish:
            if n_sink >= n_sinkhorn_warmup:
                if len(errs) < 6 or not errs[-1] < errs[-6]:
                    break
                rho = (errs[-1] / errs[-6]) ** 0.2  # contraction per iteration
                if math.log(tol / errs[-1]) / math.log(rho) > sinkhorn_finish:
                    break
            if n_sink == 0:
                plan.start()
            plan.sinkhorn()
            n_sink += 1
            bar.update(1)
            errs.append(plan.error())
            if errs[-1] < tol:
                break
        # ---- stage 2: sparse Newton
        prev_err = None
        cg_ok = True
        trial_ratio = None
        k_before_trial = k
        frozen = False
        mu = damping
        lo = 0.0
        it = n_rescue = 0
        while True:
            # the error and the marginals' extremes and total (one
            # transfer on the GPU)
            err, r_min, c_min, total, r_max, c_max = plan.newton_state()
            logd["err"].append(err)
            if err < tol:
                converged = True
                break
            r, c = plan.marginals()
            if not (r_min > 0 and c_min > 0):
                # a row or column without mass (a start whose kernel
                # underflows): no Newton system; a log-domain iteration
                # (which gives every row and column mass unless a weight is
                # below ~1e-200 of the others: then give up)
                n_rescue += 1
                if n_rescue > 3:
                    break
                plan.log_domain_iteration()
                n_sink += 1
                logd["err_sinkhorn"].append(plan.error())
                logd["err"].pop()
                continue
            if it == max_newton:
                break
            ga, gb = a - r, b - c
            bar.set_postfix(err=f"{err:.2e}", density=f"{k / kmax:.3g}")
            if prev_err is not None:
                full = logd["step"][-1] == 1.0
                # Levenberg-Marquardt damping: relax after a full step, raise
                # after a strongly damped one
                t_prev = logd["step"][-1]
                mu = mu * 0.25 if full else (mu * 4.0 if t_prev < 0.25 else mu)
                mu = min(max(mu, _MU_MIN), _MU_MAX)
                # in the local phase (two full steps in a row, the error
                # decreasing), a slow contraction means the sparsified Hessian
                # is the bottleneck: keep more of it
                local = full and len(logd["step"]) >= 2 and logd["step"][-2] == 1.0
                ratio = err / prev_err
                if trial_ratio is not None:
                    # the previous step ran on a doubled density: keep it only
                    # if it sped the contraction up; otherwise the linear rate
                    # is the problem's (a near-singular Hessian at the
                    # solution), not the sparsification's: go back and stop
                    if local and ratio > _DENSIFY_GAIN * trial_ratio:
                        k = max(k // 2, k_before_trial)
                        frozen = True
                    trial_ratio = None
                # (unless CG stopped at its cap: then the solve is the bottleneck)
                elif (adaptive and not frozen and local and cg_ok and k < kmax
                        and superlinear_ratio < ratio < 1.0):
                    k_before_trial = k
                    k = min(2 * k, kmax)
                    trial_ratio = ratio
            prev_err = err
            # the k largest entries, k doubled while they hold less than
            # retain_mass of the mass (a threshold from the candidates above
            # lo, or a histogram of P: no sort of P)
            K, u, v = plan.K, plan.u, plan.v
            I, J, V, tau = ker.top_entries(
                K, u, v, k, 0.0 if mass_rule is None else mass_rule * total, lo=lo)
            kept = V.shape[0]
            if kept > k:
                k = min(k << max(0, math.ceil(math.log2(kept / k))), kmax)
                I, J, V, tau = ker.top_entries(K, u, v, k, 0.0, lo=lo)
                kept = V.shape[0]
            # the next step's threshold is near this one: gather only the
            # entries above a margin below it (one pass, no histogram of P)
            lo = tau * _LO_MARGIN
            diag_max = max(r_max, c_max)
            shift = _SHIFT * diag_max
            dr = r * (1.0 + mu) + shift
            dc = c * (1.0 + mu) + shift
            # the kept entries, row-major, are the CSR arrays of the Hessian's
            # off-diagonal block B (the diagonal blocks are dr, dc)
            if xp is np:
                Bp = np.zeros(n + 1, dtype=np.int64)
                np.cumsum(np.bincount(I, minlength=n), out=Bp[1:])
            else:  # I is sorted: the row pointers by binary search, no atomics
                Bp = xp.searchsorted(I, xp.arange(n + 1, dtype=np.int64), side="left")
            g = xp.concatenate([ga, gb])
            g -= (g @ e) / (n + m) * e
            # inexact Newton: the forcing term follows the last contraction
            # (Eisenstat & Walker's choice 2 scaled by 0.1): loose while the
            # steps contract linearly anyway, tight once they are quadratic
            if len(logd["err"]) >= 2:
                rtol = min(0.1, 0.1 * (err / logd["err"][-2]) ** 2)
            else:
                rtol = min(0.1, err / scale)
            rtol = max(cg_tol, rtol)
            # CG on the Schur complement of the row block
            d, n_cg, cg_ok = _hessian_solve(Bp, J, V, dr, dc, g, rtol, max_cg_iter)
            d -= (d @ e) / (n + m) * e
            slope = float(g @ d)
            if not np.isfinite(slope) or slope <= 0:  # CG failed: scaled gradient step
                d = g / xp.concatenate([dr, dc])
                slope = float(g @ d)
            da, db = d[:n], d[n:]
            span = float(xp.abs(da).max() + xp.abs(db).max())
            # never try to scale an entry of P by more than exp(_MAX_LOG_STEP)
            t = 1.0 if span <= _MAX_LOG_STEP else 2.0 ** math.floor(math.log2(_MAX_LOG_STEP / span))
            accepted = False
            for _ in range(_MAX_HALVINGS):
                # Phi(z + t d) - Phi(z) = t slope - sum P (expm1(x) - x) with
                # x_ij = t (da_i + db_j); as expm1(x + y) = expm1(x) + expm1(y)
                # + expm1(x) expm1(y), the sum is r.(expm1(x) - x)
                # + c.(expm1(y) - y) + expm1(x)^T P expm1(y): one product with
                # P, no exponential of an n x m array, no cancellation
                xa, xb = t * da, t * db
                if xp is np:
                    cross = float((u * np.expm1(xa)) @ (K @ (v * np.expm1(xb))))
                    q = float(r @ _expm1mx(xa) + c @ _expm1mx(xb)) + cross
                else:  # the two sums in one transfer
                    cross_d = (u * xp.expm1(xa)) @ (K @ (v * xp.expm1(xb)))
                    q, cross = fetch(xp, r @ _expm1mx(xa, xp) + c @ _expm1mx(xb, xp),
                                     cross_d)
                    q += cross
                gain = t * slope - q
                if np.isfinite(gain) and gain >= _ARMIJO_C * t * slope:
                    accepted = True
                    break
                t *= 0.5
            n_newt += 1
            it += 1
            bar.update(1)
            logd["density"].append(kept / kmax)
            logd["cg_iter"].append(n_cg)
            logd["damping"].append(mu)
            if accepted:
                plan.step(t * da, t * db)
                logd["step"].append(t)
                if t < _DAMPED and resume_sinkhorn:
                    # far from the region of full Newton steps: Sinkhorn
                    # iterations (two products each) gain more per cost
                    for _ in range(n_sinkhorn_warmup):
                        plan.sinkhorn()
                        n_sink += 1
                        logd["err_sinkhorn"].append(plan.error())
            else:  # no ascent along d (rounding level): a Sinkhorn step instead
                plan.sinkhorn()
                logd["step"].append(0.0)
    n_total = n_sink + n_newt
    if not converged and warn:
        warn_not_converged("Sinkhorn-Newton-Sparse", n_total, err, tol)
    # the plan whose marginals were measured: diag(u) K diag(v) (K is 0
    # where exp(-M/reg + alpha + beta) fell below 1e-200 of the largest entry)
    out, log_u, log_v = _embed(plan.plan(), plan.alpha, plan.beta, ia, ib, shape)
    if log:
        logd["n_sinkhorn"] = n_sink
        logd["n_newton"] = n_newt
        _finish_log(logd, max(n_total - 1, 0), n_total, log_u, log_v, reg, converged)
        return out, logd
    return out
