"""``solve``: one entry point for entropic OT, after POT's ``ot.solve``."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._device import namespace_of
from ._sinkhorn import _METHODS, sinkhorn
from ._utils import check_ot_problem, fetch

__all__ = ["OTResult", "solve"]


@dataclass
class OTResult:
    """Result of :func:`solve` (the fields of POT's ``OTResult`` it fills).

    Parameters
    ----------
    plan : ndarray of shape (n, m)
        The transport plan (a CuPy array for GPU input).
    potentials : tuple of ndarray
        Dual potentials ``(f, g)`` (``reg * log u``, ``reg * log v``), the
        Lagrange multipliers of the marginal constraints:
        ``plan = exp((f_i + g_j - M_ij) / reg)``. (POT's ``solve`` returns
        ``(log u, log v)`` here for ``reg > 0``.)
    value : float
        ``<plan, M> + reg * KL(plan | a b^T)`` (POT's ``reg_type="KL"``).
    value_linear : float
        ``<plan, M>``.
    status : str
        ``"converged"`` or ``"max_iter"``.
    n_iter : int
        Iterations done (Sinkhorn plus Newton for ``method="sns"``).
    marginal_error : float
        ``sqrt(||plan 1 - a||^2 + ||plan^T 1 - b||^2)``.
    log : dict
        The solver's log.
    """

    plan: np.ndarray
    potentials: tuple
    value: float
    value_linear: float
    status: str
    n_iter: int
    marginal_error: float
    log: dict = field(repr=False, default_factory=dict)


def _kl(plan, a, b):
    """``KL(plan | a b^T)``: a float on the CPU, a 0-d device array on the GPU."""
    xp = namespace_of(plan)
    if xp is np:
        q = np.multiply.outer(a, b)
        pos = plan > 0
        p = plan[pos]
        return float(np.sum(p * np.log(p / q[pos])) - plan.sum() + q.sum())
    # masks by where (a boolean index would count the mask on the host);
    # where plan = 0 the term is 0 (q > 0 there or not)
    q = a[:, None] * b[None, :]
    pos = plan > 0
    terms = plan * xp.log(xp.where(pos, plan, 1.0) / xp.where(pos, q, 1.0))
    return xp.where(pos, terms, 0.0).sum() - plan.sum() + q.sum()


def solve(M, a=None, b=None, reg: float = 1e-2, method: str = "sns",
          max_iter: int | None = None, tol: float = 1e-9, verbose=False,
          warn: bool = True, **kwargs) -> OTResult:
    """Solve the entropic OT problem ``min <P, M> + reg KL(P | a b^T)``.

    Parameters
    ----------
    M : ndarray of shape (n, m)
        Cost matrix. A CuPy array (with ``a``, ``b`` on the GPU or ``None``)
        solves on the GPU with any method: the plan, the potentials and the
        log's arrays are then CuPy arrays.
    a, b : array-like or None
        Histograms (uniform when ``None``), equal total mass.
    reg : float, default=1e-2
        Entropic regularization (> 0). Exact (``reg = 0``) OT is not solved
        here (use POT's ``ot.emd``).
    method : {'sns', 'log', 'sinkhorn'}, default='sns'
        :func:`sinkhorn_newton_sparse`, :func:`sinkhorn_log` or
        :func:`sinkhorn_knopp`.
    max_iter : int, optional
        Maximum iterations (Newton steps for ``'sns'``; default 100 for
        ``'sns'``, 1000 otherwise).
    tol : float, default=1e-9
        Marginal-error tolerance.
    verbose : bool, default=False
        Show a progress bar.
    warn : bool, default=True
        Warn (``ConvergenceWarning``) when ``tol`` is not reached.
    **kwargs
        Passed to :func:`sinkhorn_newton_sparse` (``method='sns'`` only).

    Returns
    -------
    OTResult
        The plan, the potentials, the objective values and the status.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsela.ot import solve
    >>> res = solve(np.array([[0., 1.], [1., 0.]]), reg=0.1)
    >>> res.status, np.round(res.plan, 3).tolist()
    ('converged', [[0.5, 0.0], [0.0, 0.5]])
    """
    if reg is None:
        raise ValueError("reg must be > 0: solve handles entropic OT only (exact OT: ot.emd)")
    a, b, M, reg = check_ot_problem(a, b, M, reg)
    key = _METHODS.get(method) if isinstance(method, str) else None
    if key is None:
        raise ValueError(f"unknown method {method!r}; use one of 'sns', 'log', 'sinkhorn'")
    if max_iter is None:
        max_iter = 100 if key == "sns" else 1000
    plan, log = sinkhorn(a, b, M, reg, method=key, numItermax=max_iter, stopThr=tol,
                         verbose=verbose, log=True, warn=warn, **kwargs)
    xp = namespace_of(plan)
    value_linear = xp.sum(plan * M)
    err = xp.hypot(xp.linalg.norm(plan.sum(axis=1) - a),
                   xp.linalg.norm(plan.sum(axis=0) - b))
    kl = _kl(plan, a, b)
    value_linear, err, kl = (float(x) for x in fetch(xp, value_linear, err, kl))
    return OTResult(
        plan=plan, potentials=log["potentials"],
        value=value_linear + reg * kl, value_linear=value_linear,
        status="converged" if log["converged"] else "max_iter",
        n_iter=int(log["n_iter"]), marginal_error=err, log=log)
