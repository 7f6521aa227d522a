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

Both solvers (and Sinkhorn-Newton-Sparse, ``method='sns'``) run on the
GPU when ``a``, ``b`` and ``M`` are CuPy arrays:
every array operation goes through the array module of the input
(``xp``), the plan, the potentials and the log's arrays stay on the device,
and the only device-to-host copies in the iterations are the stopping
tests (one scalar per check, every 10 iterations).
"""
from __future__ import annotations

import warnings

import numpy as np

from .._device import namespace_of, same_device
from ..utils.progress import progress
from ._utils import (
    EXP_FLOOR,
    check_ot_problem,
    fetch,
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
        Cost matrix. NumPy, or CuPy (with ``a``, ``b`` on the GPU too, or
        ``None``): then every method runs on the GPU and returns device
        arrays (plan, potentials, the log's arrays).
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
    all_a, all_b = fetch(namespace_of(a), ia.all(), ib.all())  # one transfer on a GPU
    return (None if all_a else ia), (None if all_b else ib)


def _embed(plan_s, log_u_s, log_v_s, ia, ib, shape):
    """Put a plan/potentials solved on the support back into full size."""
    n, m = shape
    if ia is None and ib is None:
        return plan_s, log_u_s, log_v_s
    xp = namespace_of(plan_s)
    ra = xp.flatnonzero(ia) if ia is not None else xp.arange(n)
    rb = xp.flatnonzero(ib) if ib is not None else xp.arange(m)
    plan = xp.zeros(shape)
    plan[xp.ix_(ra, rb)] = plan_s
    log_u = xp.full(n, -np.inf)
    log_v = xp.full(m, -np.inf)
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
        warmstart = (wu[ia] if ia is not None else wu,
                     wv[ib] if ib is not None else wv)
    return a_s, b_s, M_s, warmstart, ia, ib


def _check_warmstart(warmstart, n, m, M=None):
    """``(log_u, log_v)`` as float64 arrays on ``M``'s device (no implicit moves:
    a warm start on another device is a TypeError)."""
    if warmstart is None:
        return None
    try:
        wu, wv = warmstart
    except (TypeError, ValueError):
        raise ValueError("warmstart must be a pair (log_u, log_v)") from None
    if M is not None:
        same_device("warmstart[0]", wu, "M", M)
        same_device("warmstart[1]", wv, "M", M)
    xp = namespace_of(wu, wv)
    wu = xp.asarray(wu, dtype=np.float64)
    wv = xp.asarray(wv, dtype=np.float64)
    if wu.shape != (n,) or wv.shape != (m,):
        raise ValueError(f"warmstart shapes must be ({n},) and ({m},), got "
                         f"{wu.shape} and {wv.shape}")
    return wu, wv



def _log_domain_setup(a, b, M, reg, warmstart):
    """What the log-domain solvers share before iterating: check the warm
    start, drop zero-mass rows/columns, scale the cost and start the
    potentials (zeros or a copy of the warm start)."""
    xp = namespace_of(M)
    shape = M.shape
    warmstart = _check_warmstart(warmstart, *shape, M=M)
    a, b, M, warmstart, ia, ib = _restrict(a, b, M, warmstart)
    n, m = M.shape
    Mr = M / (-reg)
    if warmstart is None:
        log_u, log_v = xp.zeros(n), xp.zeros(m)
    else:
        log_u, log_v = warmstart[0].copy(), warmstart[1].copy()
    return shape, a, b, M, ia, ib, Mr, log_u, log_v, xp.log(a), xp.log(b), xp.empty_like(Mr)


def _finish_log(logd, ii, n_done, log_u, log_v, reg, converged):
    logd["niter"] = ii  # POT's convention: the index of the last iteration
    logd["n_iter"] = n_done  # iterations done
    logd["converged"] = bool(converged)
    logd["log_u"] = log_u
    logd["log_v"] = log_v
    xp = namespace_of(log_u)
    # the scalings of POT's log may leave float64 range either way (inf, 0):
    # the potentials are the exact result
    with np.errstate(over="ignore", under="ignore"):
        logd["u"] = xp.exp(log_u)
        logd["v"] = xp.exp(log_v)
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
        Cost matrix. A CuPy array (``a``, ``b`` on the GPU too, or ``None``)
        runs the iterations on the GPU; the plan and the log's arrays are
        then CuPy arrays, equal to the CPU's to rounding, after the same
        number of iterations.
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
    xp = namespace_of(M)
    gpu = xp is not np
    shape = M.shape
    warmstart = _check_warmstart(warmstart, *shape, M=M)
    a, b, M, warmstart, ia, ib = _restrict(a, b, M, warmstart)
    n, m = M.shape
    if warmstart is None:
        u = xp.full(n, 1.0 / n)
        v = xp.full(m, 1.0 / m)
    else:
        u, v = xp.exp(warmstart[0]), xp.exp(warmstart[1])
    # entries of K below exp(EXP_FLOOR) ~ 1e-304 are flushed to 0: subnormal
    # numbers make every product with K an order of magnitude slower
    Mr = M / (-reg)
    xp.copyto(Mr, -np.inf, where=Mr < EXP_FLOOR)
    K = xp.exp(Mr)
    del Mr
    Kp = (1.0 / a).reshape(-1, 1) * K
    KT = xp.ascontiguousarray(K.T)
    logd = {"err": []}
    err = np.inf
    converged = False
    failed_at = None  # the iteration with numerical errors (K underflowed)
    last_good = (-1, u, v)  # GPU: the last checked iterate (all finite)
    ii = 0
    with progress(numItermax, verbose, "sinkhorn") as bar, \
            np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for ii in range(numItermax):
            uprev, vprev = u, v
            KtransposeU = KT @ u
            v = b / KtransposeU
            u = 1.0 / (Kp @ v)
            # the CPU tests every iterate; the GPU only at the checks (one
            # transfer per check), then replays from the last good iterate
            if not gpu and _numerical_errors(KtransposeU, u, v):
                # machine precision reached (K underflowed): keep the previous
                # iterate, as POT does
                failed_at, u, v = ii, uprev, vprev
                break
            if ii % 10 == 0:
                tmp2 = v * (KT @ u)  # column marginal of diag(u) K diag(v)
                err_now = xp.linalg.norm(tmp2 - b)
                if gpu:
                    # -1 flags a non-finite iterate (the error needs the same copy)
                    finite = xp.isfinite(u).all() & xp.isfinite(v).all()
                    (checked,) = fetch(xp, xp.where(finite, err_now, -1.0))
                    if checked < 0:  # err keeps the last good check's value
                        failed_at, u, v = _knopp_replay(KT, Kp, b, *last_good, ii)
                        break
                    err = checked
                    last_good = (ii, u, v)
                else:
                    err = float(err_now)
                logd["err"].append(err)
                bar.set_postfix(err=f"{err:.2e}")
                if err < stopThr:
                    converged = True
                    bar.update(1)
                    break
            bar.update(1)
        if gpu and failed_at is None and not converged and ii != last_good[0]:
            # iterations after the last check: one more finiteness test
            finite = xp.isfinite(u).all() & xp.isfinite(v).all()
            if not fetch(xp, finite)[0]:
                failed_at, u, v = _knopp_replay(KT, Kp, b, *last_good, ii)
    if failed_at is not None:
        ii = failed_at
        warnings.warn(f"numerical errors at iteration {ii}: K = exp(-M/reg) "
                      "underflows; use method='log' or 'sns'", RuntimeWarning,
                      stacklevel=3)
    if not converged and warn:
        warn_not_converged("Sinkhorn", ii + 1, err, stopThr)
    plan = u[:, None] * K * v[None, :]
    with np.errstate(divide="ignore"):
        log_u, log_v = xp.log(u), xp.log(v)
    plan, log_u, log_v = _embed(plan, log_u, log_v, ia, ib, shape)
    if log:
        return plan, _finish_log(logd, ii, ii + 1, log_u, log_v, reg, converged)
    return plan


def _numerical_errors(KtransposeU, u, v) -> bool:
    """Whether a Sinkhorn iterate broke down (a zero of ``K^T u``, a non-finite
    scaling); on the GPU one transfer."""
    xp = namespace_of(u)
    if xp is np:
        return bool(np.any(KtransposeU == 0) or not np.isfinite(u).all()
                    or not np.isfinite(v).all())
    bad = (KtransposeU == 0).any() | ~xp.isfinite(u).all() | ~xp.isfinite(v).all()
    return bool(fetch(xp, bad)[0])


def _knopp_replay(KT, Kp, b, start, u, v, stop):
    """Find the first iteration with numerical errors in ``start + 1 .. stop``.

    ``(u, v)`` is the (finite) iterate of iteration ``start``. Once a
    scaling is infinite or NaN, every later iterate has a non-finite entry
    (a dense product spreads it: ``0 * inf`` is NaN, ``1 / inf`` is 0 and
    ``1 / 0`` is inf), so the GPU tests only at the checks and, when one
    fails, redoes the iterations since the last good check, testing each
    (one transfer per iteration, on this rare path only). Returns the
    failing iteration and the iterate before it, as the CPU's test of every
    iteration gives.
    """
    for jj in range(start + 1, stop + 1):
        KtransposeU = KT @ u
        v_new = b / KtransposeU
        u_new = 1.0 / (Kp @ v_new)
        if _numerical_errors(KtransposeU, u_new, v_new):
            return jj, u, v
        u, v = u_new, v_new
    return stop, u, v  # unreachable: the iterate of ``stop`` is not finite


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
        Cost matrix. A CuPy array (``a``, ``b`` on the GPU too, or ``None``)
        runs the iterations on the GPU; the plan and the log's arrays are
        then CuPy arrays, equal to the CPU's to rounding, after the same
        number of iterations.
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
    xp = namespace_of(M)
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
                xp.add(Mr, log_u[:, None], out=work)
                work += log_v[None, :]
                safe_exp(work, out=work)
                # the one device-to-host copy of a check
                err = float(xp.linalg.norm(work.sum(axis=0) - b))
                logd["err"].append(err)
                bar.set_postfix(err=f"{err:.2e}")
                if err < stopThr:
                    converged = True
                    bar.update(1)
                    break
            bar.update(1)
    if not converged and warn:
        warn_not_converged("Sinkhorn (log)", ii + 1, err, stopThr)
    xp.add(Mr, log_u[:, None], out=work)
    work += log_v[None, :]
    plan = safe_exp(work, out=work, flush=True)
    plan, log_u, log_v = _embed(plan, log_u, log_v, ia, ib, shape)
    if log:
        return plan, _finish_log(logd, ii, ii + 1, log_u, log_v, reg, converged)
    return plan
