"""Sinkhorn's matrix-scaling algorithm for entropic optimal transport.

The problem and the conventions are POT's (``ot.sinkhorn``): for histograms
``a`` (n) and ``b`` (m) of equal mass and a cost ``M`` (n x m),

.. math::

    \\gamma^* = \\arg\\min_{\\gamma \\ge 0,\\ \\gamma 1 = a,\\ \\gamma^T 1 = b}
        \\langle \\gamma, M \\rangle + \\mathrm{reg} \\sum_{ij} \\gamma_{ij}
        \\log \\gamma_{ij},

whose solution is ``diag(u) K diag(v)`` with ``K = exp(-M / reg)``; ``reg`` is
``1 / eta`` of Tang et al. (2024). The stopping measure is POT's: the 2-norm
of the column-marginal violation ``||gamma^T 1 - b||``, checked every 10
iterations, right after a row update (so the row marginal is exact).
"""
from __future__ import annotations

import numpy as np

from ..utils.progress import progress
from ._utils import (
    EXP_FLOOR,
    check_ot_problem,
    lse_cols,
    lse_rows,
    safe_exp,
    warn_not_converged,
)

__all__ = ["sinkhorn", "sinkhorn_knopp", "sinkhorn_log"]

_METHODS = {
    "sinkhorn": "sinkhorn", "sinkhorn_knopp": "sinkhorn",
    "log": "log", "sinkhorn_log": "log",
    "sns": "sns", "sinkhorn_newton_sparse": "sns",
}


def sinkhorn(a, b, M, reg, method: str = "sinkhorn", numItermax: int = 1000,
             stopThr: float = 1e-9, verbose=False, log: bool = False,
             warn: bool = True, warmstart=None, **kwargs):
    """Entropic optimal transport plan, POT's ``ot.sinkhorn`` front.

    Parameters
    ----------
    a : array-like of shape (n,) or None
        Source histogram (non-negative). ``None`` or an empty list: uniform.
    b : array-like of shape (m,) or None
        Target histogram, same total mass as ``a``.
    M : ndarray of shape (n, m)
        Cost matrix.
    reg : float
        Entropic regularization (> 0), ``1 / eta`` in Tang et al. (2024).
    method : {'sinkhorn', 'log', 'sns'}
        ``'sinkhorn'`` (alias ``'sinkhorn_knopp'``): POT's plain scaling
        algorithm (:func:`sinkhorn_knopp`; underflows for small ``reg``).
        ``'log'`` (alias ``'sinkhorn_log'``): the log-domain algorithm
        (:func:`sinkhorn_log`), stable for any ``reg``. ``'sns'`` (alias
        ``'sinkhorn_newton_sparse'``): :func:`sinkhorn_newton_sparse`, where
        ``numItermax`` is the maximum number of Newton steps and ``stopThr``
        its tolerance; extra keyword arguments go to it.
    numItermax : int
        Maximum number of iterations.
    stopThr : float
        Tolerance on the marginal error.
    verbose : bool
        Show a progress bar with the marginal error.
    log : bool
        Also return a dict (see the solver's documentation).
    warn : bool
        Warn (``ConvergenceWarning``) when the tolerance is not reached.
    warmstart : tuple of ndarray, optional
        Initial ``(log_u, log_v)``.
    **kwargs
        Options of :func:`sinkhorn_newton_sparse` (``method='sns'`` only).

    Returns
    -------
    gamma : ndarray of shape (n, m)
        The transport plan.
    log : dict
        Only with ``log=True``.

    Examples
    --------
    >>> from sparsela.ot import sinkhorn
    >>> sinkhorn([.5, .5], [.5, .5], [[0., 1.], [1., 0.]], 1)
    array([[0.36552929, 0.13447071],
           [0.13447071, 0.36552929]])
    """
    key = _METHODS.get(str(method).lower()) if isinstance(method, str) else None
    if key is None:
        raise ValueError(f"unknown method {method!r}; use one of 'sinkhorn', 'log', 'sns'")
    if key == "sns":
        from ._sns import sinkhorn_newton_sparse

        return sinkhorn_newton_sparse(a, b, M, reg, max_newton=numItermax, tol=stopThr,
                                      verbose=verbose, log=log, warn=warn,
                                      warmstart=warmstart, **kwargs)
    if kwargs:
        raise TypeError(f"unexpected keyword arguments for method {method!r}: "
                        f"{sorted(kwargs)}")
    solver = sinkhorn_knopp if key == "sinkhorn" else sinkhorn_log
    return solver(a, b, M, reg, numItermax=numItermax, stopThr=stopThr,
                  verbose=verbose, log=log, warn=warn, warmstart=warmstart)


def _check_iter(numItermax, stopThr):
    if isinstance(numItermax, bool) or not isinstance(numItermax, (int, np.integer)) \
            or numItermax < 1:
        raise ValueError(f"numItermax must be an integer >= 1, got {numItermax!r}")
    if not np.isfinite(stopThr) or stopThr < 0:
        raise ValueError(f"stopThr must be a finite number >= 0, got {stopThr!r}")


def _support(a, b):
    """Index masks of the positive weights (``None`` when all are positive)."""
    ia, ib = a > 0, b > 0
    return (None if ia.all() else ia), (None if ib.all() else ib)


def _embed(plan_s, log_u_s, log_v_s, ia, ib, shape):
    """Put a plan/potentials solved on the support back into full size."""
    n, m = shape
    if ia is None and ib is None:
        return plan_s, log_u_s, log_v_s
    ra = np.flatnonzero(ia) if ia is not None else np.arange(n)
    rb = np.flatnonzero(ib) if ib is not None else np.arange(m)
    plan = np.zeros(shape)
    plan[np.ix_(ra, rb)] = plan_s
    log_u = np.full(n, -np.inf)
    log_v = np.full(m, -np.inf)
    log_u[ra] = log_u_s
    log_v[rb] = log_v_s
    return plan, log_u, log_v


def _restrict(a, b, M, warmstart):
    ia, ib = _support(a, b)
    if ia is None and ib is None:
        return a, b, M, warmstart, ia, ib
    a_s = a if ia is None else a[ia]
    b_s = b if ib is None else b[ib]
    M_s = M[ia] if ia is not None else M
    M_s = M_s[:, ib] if ib is not None else M_s
    if warmstart is not None:
        wu, wv = warmstart
        warmstart = (np.asarray(wu)[ia] if ia is not None else wu,
                     np.asarray(wv)[ib] if ib is not None else wv)
    return a_s, b_s, M_s, warmstart, ia, ib


def _check_warmstart(warmstart, n, m):
    if warmstart is None:
        return None
    try:
        wu, wv = warmstart
    except (TypeError, ValueError):
        raise ValueError("warmstart must be a pair (log_u, log_v)") from None
    wu = np.asarray(wu, dtype=np.float64)
    wv = np.asarray(wv, dtype=np.float64)
    if wu.shape != (n,) or wv.shape != (m,):
        raise ValueError(f"warmstart shapes must be ({n},) and ({m},), got "
                         f"{wu.shape} and {wv.shape}")
    return wu, wv



def _log_domain_setup(a, b, M, reg, warmstart):
    """What the log-domain solvers share before iterating: check the warm
    start, drop zero-mass rows/columns, scale the cost and start the
    potentials (zeros or a copy of the warm start)."""
    shape = M.shape
    warmstart = _check_warmstart(warmstart, *shape)
    a, b, M, warmstart, ia, ib = _restrict(a, b, M, warmstart)
    n, m = M.shape
    Mr = M / (-reg)
    if warmstart is None:
        log_u, log_v = np.zeros(n), np.zeros(m)
    else:
        log_u, log_v = warmstart[0].copy(), warmstart[1].copy()
    return shape, a, b, M, ia, ib, Mr, log_u, log_v, np.log(a), np.log(b), np.empty_like(Mr)

def _finish_log(logd, ii, n_done, log_u, log_v, reg, converged):
    logd["niter"] = ii  # POT's convention: the index of the last iteration
    logd["n_iter"] = n_done  # iterations done
    logd["converged"] = bool(converged)
    logd["log_u"] = log_u
    logd["log_v"] = log_v
    with np.errstate(over="ignore"):
        logd["u"] = np.exp(log_u)
        logd["v"] = np.exp(log_v)
    logd["potentials"] = (reg * log_u, reg * log_v)
    return logd


def sinkhorn_knopp(a, b, M, reg, numItermax: int = 1000, stopThr: float = 1e-9,
                   verbose=False, log: bool = False, warn: bool = True,
                   warmstart=None):
    """Plain Sinkhorn-Knopp scaling (POT's ``ot.bregman.sinkhorn_knopp``).

    Iterates ``v = b / (K^T u)``, ``u = a / (K v)`` with ``K = exp(-M / reg)``
    from ``u = 1/n``, ``v = 1/m``, the same arithmetic as POT, so the plans
    agree to rounding. ``K`` underflows to zero when ``M / reg`` exceeds
    about 745: use :func:`sinkhorn_log` or
    :func:`sinkhorn_newton_sparse` for small ``reg``. Zero weights are
    removed before iterating (their rows/columns of the plan are zero).

    Parameters
    ----------
    a : array-like of shape (n,) or None
        Source histogram (``None`` or empty: uniform).
    b : array-like of shape (m,) or None
        Target histogram, same total mass.
    M : ndarray of shape (n, m)
        Cost matrix.
    reg : float
        Entropic regularization (> 0).
    numItermax : int, default=1000
        Maximum number of iterations.
    stopThr : float, default=1e-9
        Tolerance on POT's marginal error (checked every 10 iterations).
    verbose : bool, default=False
        Show a progress bar.
    log : bool, default=False
        Also return the log dict.
    warn : bool, default=True
        Warn (``ConvergenceWarning``) when ``stopThr`` is not reached.
    warmstart : tuple of ndarray, optional
        Initial ``(log_u, log_v)``.

    Returns
    -------
    gamma : ndarray of shape (n, m)
        The transport plan.
    log : dict, with ``log=True``
        ``err`` (marginal error every 10 iterations), ``niter`` (POT: index of
        the last iteration), ``n_iter`` (iterations done), ``converged``,
        ``u``, ``v``, ``log_u``, ``log_v``, ``potentials`` (``reg * log_u``,
        ``reg * log_v``).
    """
    a, b, M, reg = check_ot_problem(a, b, M, reg)
    _check_iter(numItermax, stopThr)
    shape = M.shape
    warmstart = _check_warmstart(warmstart, *shape)
    a, b, M, warmstart, ia, ib = _restrict(a, b, M, warmstart)
    n, m = M.shape
    if warmstart is None:
        u = np.full(n, 1.0 / n)
        v = np.full(m, 1.0 / m)
    else:
        u, v = np.exp(warmstart[0]), np.exp(warmstart[1])
    # entries of K below exp(EXP_FLOOR) ~ 1e-304 are flushed to 0: subnormal
    # numbers make every product with K an order of magnitude slower
    Mr = M / (-reg)
    Mr[Mr < EXP_FLOOR] = -np.inf
    K = np.exp(Mr)
    del Mr
    Kp = (1.0 / a).reshape(-1, 1) * K
    KT = np.ascontiguousarray(K.T)
    logd = {"err": []}
    err = np.inf
    converged = False
    ii = 0
    with progress(numItermax, verbose, "sinkhorn") as bar, \
            np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for ii in range(numItermax):
            uprev, vprev = u, v
            KtransposeU = KT @ u
            v = b / KtransposeU
            u = 1.0 / (Kp @ v)
            if (np.any(KtransposeU == 0) or not np.isfinite(u).all()
                    or not np.isfinite(v).all()):
                # machine precision reached (K underflowed): keep the previous
                # iterate, as POT does
                import warnings

                warnings.warn(f"numerical errors at iteration {ii}: K = exp(-M/reg) "
                              "underflows; use method='log' or 'sns'", RuntimeWarning,
                              stacklevel=3)
                u, v = uprev, vprev
                break
            if ii % 10 == 0:
                tmp2 = v * (KT @ u)  # column marginal of diag(u) K diag(v)
                err = float(np.linalg.norm(tmp2 - b))
                logd["err"].append(err)
                bar.set_postfix(err=f"{err:.2e}")
                if err < stopThr:
                    converged = True
                    bar.update(1)
                    break
            bar.update(1)
    if not converged and warn:
        warn_not_converged("Sinkhorn", ii + 1, err, stopThr)
    plan = u[:, None] * K * v[None, :]
    with np.errstate(divide="ignore"):
        log_u, log_v = np.log(u), np.log(v)
    plan, log_u, log_v = _embed(plan, log_u, log_v, ia, ib, shape)
    if log:
        return plan, _finish_log(logd, ii, ii + 1, log_u, log_v, reg, converged)
    return plan


def sinkhorn_log(a, b, M, reg, numItermax: int = 1000, stopThr: float = 1e-9,
                 verbose=False, log: bool = False, warn: bool = True,
                 warmstart=None):
    """Log-domain Sinkhorn (POT's ``ot.bregman.sinkhorn_log``).

    Iterates on ``log_u``, ``log_v`` with max-shifted log-sum-exps,
    ``log_v = log b - LSE_i(-M_ij/reg + log_u_i)`` then
    ``log_u = log a - LSE_j(-M_ij/reg + log_v_j)``, from zero: never
    overflows or underflows whatever ``reg``, at the price of ``n m``
    exponentials per half-iteration.

    Parameters
    ----------
    a : array-like of shape (n,) or None
        Source histogram (``None`` or empty: uniform).
    b : array-like of shape (m,) or None
        Target histogram, same total mass.
    M : ndarray of shape (n, m)
        Cost matrix.
    reg : float
        Entropic regularization (> 0).
    numItermax : int, default=1000
        Maximum number of iterations.
    stopThr : float, default=1e-9
        Tolerance on POT's marginal error (checked every 10 iterations).
    verbose : bool, default=False
        Show a progress bar.
    log : bool, default=False
        Also return the log dict.
    warn : bool, default=True
        Warn (``ConvergenceWarning``) when ``stopThr`` is not reached.
    warmstart : tuple of ndarray, optional
        Initial ``(log_u, log_v)``.

    Returns
    -------
    gamma : ndarray of shape (n, m)
        The transport plan.
    log : dict, with ``log=True``
        As in :func:`sinkhorn_knopp`.
    """
    a, b, M, reg = check_ot_problem(a, b, M, reg)
    _check_iter(numItermax, stopThr)
    shape, a, b, M, ia, ib, Mr, log_u, log_v, loga, logb, work = _log_domain_setup(
        a, b, M, reg, warmstart)
    logd = {"err": []}
    err = np.inf
    converged = False
    ii = 0
    with progress(numItermax, verbose, "sinkhorn_log") as bar:
        for ii in range(numItermax):
            log_v = logb - lse_cols(Mr, log_u, work)
            log_u = loga - lse_rows(Mr, log_v, work)
            if ii % 10 == 0:
                np.add(Mr, log_u[:, None], out=work)
                work += log_v[None, :]
                safe_exp(work, out=work)
                err = float(np.linalg.norm(work.sum(axis=0) - b))
                logd["err"].append(err)
                bar.set_postfix(err=f"{err:.2e}")
                if err < stopThr:
                    converged = True
                    bar.update(1)
                    break
            bar.update(1)
    if not converged and warn:
        warn_not_converged("Sinkhorn (log)", ii + 1, err, stopThr)
    np.add(Mr, log_u[:, None], out=work)
    work += log_v[None, :]
    plan = safe_exp(work, out=work, flush=True)
    plan, log_u, log_v = _embed(plan, log_u, log_v, ia, ib, shape)
    if log:
        return plan, _finish_log(logd, ii, ii + 1, log_u, log_v, reg, converged)
    return plan
