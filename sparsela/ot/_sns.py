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

Stage 1 runs ``n_sinkhorn_warmup`` log-domain Sinkhorn iterations (the
coordinate ascent on ``Phi``). Stage 2 takes Newton steps ``H_s d = grad``
where ``H_s`` keeps the whole diagonal and only the largest entries of ``P``
(a ``sparsela.csr_array`` of shape ``(n+m, n+m)``), solved by
:func:`sparsela.linalg.cg` with a Jacobi preconditioner, followed by an
Armijo backtracking line search on ``Phi``.
"""
from __future__ import annotations

import math

import numpy as np

from ..formats import csr_array
from ..linalg import cg
from ..utils.progress import progress
from ._sinkhorn import _check_iter, _embed, _finish_log, _log_domain_setup
from ._utils import check_ot_problem, lse_cols, lse_rows, safe_exp, warn_not_converged

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


def _block_hessian(P: np.ndarray, dr: np.ndarray, dc: np.ndarray,
                   flat: np.ndarray) -> csr_array:
    """``[[diag(dr), P_s], [P_s^T, diag(dc)]]`` as a sparsela CSR.

    ``flat`` holds the row-major flat indices (sorted) of the kept entries of
    ``P``; the CSR arrays are written directly (each row sorted: diagonal then
    ``P_s`` in the top half, ``P_s^T`` then diagonal in the bottom half).
    """
    n, m = P.shape
    k = flat.size
    I, J = np.divmod(flat, m)
    vals = P.ravel()[flat]
    nnz = n + m + 2 * k
    idx_dtype = np.int32 if nnz < 2**31 - 1 and n + m < 2**31 - 1 else np.int64
    data = np.empty(nnz)
    indices = np.empty(nnz, dtype=idx_dtype)
    indptr = np.empty(n + m + 1, dtype=idx_dtype)
    # top half: row i = [i | n + J of row i]
    cnt_r = np.bincount(I, minlength=n)
    rows_before = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(cnt_r, out=rows_before[1:])
    top_ptr = np.arange(n + 1) + rows_before
    indptr[: n + 1] = top_ptr
    data[top_ptr[:-1]] = dr
    indices[top_ptr[:-1]] = np.arange(n)
    pos = np.arange(k) + I + 1
    data[pos] = vals
    indices[pos] = n + J
    # bottom half: row n + j = [I of column j | n + j]
    base = n + k
    order = np.argsort(J, kind="stable")
    Jo = J[order]
    cnt_c = np.bincount(J, minlength=m)
    cols_before = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(cnt_c, out=cols_before[1:])
    indptr[n:] = base + cols_before + np.arange(m + 1)
    pos = base + np.arange(k) + Jo
    data[pos] = vals[order]
    indices[pos] = I[order]
    dpos = base + cols_before[1:] + np.arange(m)
    data[dpos] = dc
    indices[dpos] = n + np.arange(m)
    return csr_array((data, indices, indptr), shape=(n + m, n + m))


def _select(P: np.ndarray, k: int, total: float, retain_mass: float | None,
            kmax: int):
    """Sorted flat indices of the ``k`` largest entries of ``P``; ``k``
    doubles until they hold ``retain_mass`` of the total mass. Returns
    ``(flat, k)``. Exactly ``k`` entries are kept whatever the ties (the
    entries clamped at ``exp(EXP_FLOOR)`` are all equal)."""
    vals = P.ravel()
    while True:
        if k >= kmax:
            return np.arange(kmax), kmax
        flat = np.argpartition(vals, kmax - k)[kmax - k:]
        if retain_mass is None or vals[flat].sum() >= retain_mass * total:
            flat.sort()
            return flat, k
        k = min(2 * k, kmax)


def _sinkhorn_step(Mr, alpha, beta, loga, logb, work):
    beta = logb - lse_cols(Mr, alpha, work)
    alpha = loga - lse_rows(Mr, beta, work)
    return alpha, beta


def _plan(Mr, alpha, beta, out, flush=False):
    np.add(Mr, alpha[:, None], out=out)
    out += beta[None, :]
    return safe_exp(out, out=out, flush=flush)


def sinkhorn_newton_sparse(a, b, M, reg, n_sinkhorn_warmup: int = 20,
                           density: float | None = None, cg_tol: float = 1e-10,
                           max_newton: int = 100, tol: float = 1e-9, *,
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
        Cost matrix.
    reg : float
        Entropic regularization (> 0).
    n_sinkhorn_warmup : int, default=20
        Log-domain Sinkhorn iterations before the Newton stage (the paper's
        ``N_1``).
    density : float, optional
        Initial fraction of the entries of ``P`` kept in the Hessian
        (default ``2 / min(n, m)``: about two per row, the paper's target
        sparsity ``lambda = 2/n``).
    cg_tol : float, default=1e-10
        Floor of the CG relative tolerance. The tolerance of each solve is
        the inexact-Newton forcing term ``min(0.1, err / (||a|| + ||b||))``,
        floored at ``cg_tol``.
    max_newton : int, default=100
        Maximum number of Newton steps (the paper's ``N_2``).
    tol : float, default=1e-9
        Stop when the marginal error ``sqrt(||P1 - a||^2 + ||P^T 1 - b||^2)``
        (the dual gradient norm; POT's measure when the row marginal is
        exact) is below ``tol``.
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
        Initial ``(log_u, log_v)``.

    Returns
    -------
    gamma : ndarray of shape (n, m)
        The transport plan.
    log : dict, with ``log=True``
        ``err`` (marginal error at the end of the warm-up and after each
        Newton step), ``niter`` (POT's convention: total iterations minus
        one), ``n_iter`` (Sinkhorn + Newton iterations), ``n_sinkhorn``,
        ``n_newton``, ``converged``, ``density`` (fraction of ``P`` kept per
        Newton step), ``cg_iter`` (CG iterations per step), ``step`` (line
        search step sizes), ``u``, ``v``, ``log_u``, ``log_v``,
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

    Every Newton step costs a few ``n m`` exponentials (the plan, and one per
    line-search trial) plus the CG matrix-vector products on the sparse
    Hessian; a Sinkhorn iteration costs two.

    References
    ----------
    X. Tang, M. Shavlovsky, H. Rahmanian, E. Tardini, K. K. Thekumparampil,
    T. Xiao, L. Ying. Accelerating Sinkhorn Algorithm with Sparse Newton
    Iterations. ICLR 2024.
    """
    a, b, M, reg = check_ot_problem(a, b, M, reg)
    _check_iter(max_newton, tol)
    if isinstance(n_sinkhorn_warmup, bool) or not isinstance(n_sinkhorn_warmup, (int, np.integer)) \
            or n_sinkhorn_warmup < 0:
        raise ValueError(f"n_sinkhorn_warmup must be an integer >= 0, got {n_sinkhorn_warmup!r}")
    if density is not None and not (0 < density <= 1):
        raise ValueError(f"density must be in (0, 1], got {density!r}")
    if retain_mass is not None and not (0 < retain_mass <= 1):
        raise ValueError(f"retain_mass must be in (0, 1] or None, got {retain_mass!r}")
    if not (0 < superlinear_ratio < 1):
        raise ValueError(f"superlinear_ratio must be in (0, 1), got {superlinear_ratio!r}")
    if not np.isfinite(cg_tol) or cg_tol <= 0:
        raise ValueError(f"cg_tol must be > 0, got {cg_tol!r}")
    shape, a, b, M, ia, ib, Mr, alpha, beta, loga, logb, work = _log_domain_setup(
        a, b, M, reg, warmstart)
    n, m = M.shape
    P = np.empty_like(Mr)
    kmax = n * m
    if density is None:
        density = min(1.0, 2.0 / min(n, m))
    k = max(1, min(kmax, math.ceil(density * kmax)))
    mass_rule = retain_mass if adaptive else None
    scale = float(np.linalg.norm(a) + np.linalg.norm(b))
    if max_cg_iter is None:
        max_cg_iter = 10 * (n + m)
    e = np.concatenate([np.ones(n), -np.ones(m)])

    logd = {"err": [], "density": [], "cg_iter": [], "step": [], "damping": []}
    err = np.inf
    converged = False
    n_sink = n_newt = 0
    with progress(n_sinkhorn_warmup + max_newton, verbose, "sinkhorn_newton_sparse") as bar, \
            np.errstate(over="ignore", under="ignore"):
        # ---- stage 1: log-domain Sinkhorn warm-up
        for _ in range(n_sinkhorn_warmup):
            alpha, beta = _sinkhorn_step(Mr, alpha, beta, loga, logb, work)
            n_sink += 1
            bar.update(1)
        # ---- stage 2: sparse Newton
        prev_err = None
        cg_ok = True
        trial_ratio = None
        k_before_trial = k
        frozen = False
        mu = damping
        for it in range(max_newton + 1):
            P = _plan(Mr, alpha, beta, P)
            r = P.sum(axis=1)
            c = P.sum(axis=0)
            ga, gb = a - r, b - c
            err = float(np.hypot(np.linalg.norm(ga), np.linalg.norm(gb)))
            logd["err"].append(err)
            bar.set_postfix(err=f"{err:.2e}", density=f"{k / kmax:.3g}")
            if err < tol:
                converged = True
                break
            if it == max_newton:
                break
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
            total = float(r.sum())
            flat, k = _select(P, k, total, mass_rule, kmax)
            diag_max = max(float(r.max()), float(c.max()))
            shift = _SHIFT * diag_max
            dr = r * (1.0 + mu) + shift
            dc = c * (1.0 + mu) + shift
            H = _block_hessian(P, dr, dc, flat)
            g = np.concatenate([ga, gb])
            g -= (g @ e) / (n + m) * e
            dinv = 1.0 / np.concatenate([dr, dc])
            counter = [0]

            def _count(_x, counter=counter):
                counter[0] += 1

            rtol = max(cg_tol, min(0.1, err / scale))
            d, info = cg(H, g, rtol=rtol, maxiter=max_cg_iter,
                          M=lambda v, dinv=dinv: dinv * v, callback=_count)
            cg_ok = info == 0
            d -= (d @ e) / (n + m) * e
            slope = float(g @ d)
            if not np.isfinite(slope) or slope <= 0:  # CG failed: scaled gradient step
                d = dinv * g
                slope = float(g @ d)
            da, db = d[:n], d[n:]
            lin = float(da @ r + db @ c)
            span = float(np.abs(da).max() + np.abs(db).max())
            # never try to scale an entry of P by more than exp(_MAX_LOG_STEP)
            t = 1.0 if span <= _MAX_LOG_STEP else 2.0 ** math.floor(math.log2(_MAX_LOG_STEP / span))
            accepted = False
            for _ in range(_MAX_HALVINGS):
                # Phi(z + t d) - Phi(z) = t * slope - sum P (expm1(x) - x),
                # x_ij = t (da_i + db_j), evaluated without cancellation
                np.add(da[:, None], db[None, :], out=work)
                work *= t
                if t * span < 1.0:
                    np.expm1(work, out=work)
                    work *= P
                    q = float(work.sum())
                else:  # large step: exp(log P + x) directly (P may underflow)
                    np.add(work, Mr, out=work)
                    work += alpha[:, None]
                    work += beta[None, :]
                    safe_exp(work, out=work)
                    q = float(work.sum()) - total
                gain = t * slope - (q - t * lin)
                if np.isfinite(gain) and gain >= _ARMIJO_C * t * slope:
                    accepted = True
                    break
                t *= 0.5
            n_newt += 1
            bar.update(1)
            logd["density"].append(flat.size / kmax)
            logd["cg_iter"].append(counter[0])
            logd["damping"].append(mu)
            if accepted:
                alpha = alpha + t * da
                beta = beta + t * db
                logd["step"].append(t)
            else:  # no ascent along d (rounding level): a Sinkhorn step instead
                alpha, beta = _sinkhorn_step(Mr, alpha, beta, loga, logb, work)
                logd["step"].append(0.0)
    n_total = n_sink + n_newt
    if not converged and warn:
        warn_not_converged("Sinkhorn-Newton-Sparse", n_total, err, tol)
    plan = _plan(Mr, alpha, beta, np.empty_like(Mr), flush=True)
    plan, log_u, log_v = _embed(plan, alpha, beta, ia, ib, shape)
    if log:
        logd["n_sinkhorn"] = n_sink
        logd["n_newton"] = n_newt
        _finish_log(logd, max(n_total - 1, 0), n_total, log_u, log_v, reg, converged)
        return plan, logd
    return plan
