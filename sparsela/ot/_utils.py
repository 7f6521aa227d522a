"""Input checks and dense log-domain helpers shared by the OT solvers."""
from __future__ import annotations

import numbers
import warnings

import numpy as np

__all__ = [
    "EXP_FLOOR",
    "ConvergenceWarning",
    "check_ot_problem",
    "lse_cols",
    "lse_rows",
    "marginal_error",
    "safe_exp",
    "warn_not_converged",
]

try:  # scikit-learn's class when it is installed, so one ``filterwarnings`` serves all
    from sklearn.exceptions import ConvergenceWarning
except ImportError:  # pragma: no cover - scikit-learn is an optional dependency
    class ConvergenceWarning(UserWarning):
        """An iterative solver stopped before reaching its tolerance."""

#: relative tolerance on ``|sum(a) - sum(b)|`` (balanced OT needs equal masses)
MASS_RTOL = 1e-6


def _check_weights(w, n: int, name: str) -> np.ndarray:
    if w is None:
        return np.full(n, 1.0 / n) if n else np.zeros(0)
    w = np.asarray(w)
    if w.dtype == object or not (np.issubdtype(w.dtype, np.floating)
                                 or np.issubdtype(w.dtype, np.integer)):
        raise TypeError(f"{name} must be a real 1-D array, got dtype {w.dtype}")
    if w.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one histogram), got shape {w.shape}")
    if w.shape[0] == 0:  # POT's convention: an empty list means uniform weights
        return np.full(n, 1.0 / n) if n else np.zeros(0)
    w = w.astype(np.float64)
    if w.shape[0] != n:
        raise ValueError(f"{name} has {w.shape[0]} weights but M has {n} "
                         f"{'rows' if name == 'a' else 'columns'}")
    if not np.isfinite(w).all():
        raise ValueError(f"{name} contains NaN or infinity")
    if (w < 0).any():
        raise ValueError(f"{name} must be non-negative (a histogram), got min {w.min():.3g}")
    if w.sum() <= 0:
        raise ValueError(f"{name} must have positive total mass")
    return w


def check_ot_problem(a, b, M, reg):
    """Validate ``(a, b, M, reg)`` once; return float64 copies/views.

    ``a``/``b`` of ``None`` or length 0 are uniform. Raises ``ValueError``
    for a non-2-D or non-finite ``M``, weights that do not match ``M``'s
    shape, negative weights, unequal total masses, or ``reg <= 0``.
    """
    if hasattr(M, "toarray") and not isinstance(M, np.ndarray):
        raise TypeError("M must be a dense array (the entropic plan is dense)")
    M = np.asarray(M)
    if M.dtype == object or not (np.issubdtype(M.dtype, np.floating)
                                 or np.issubdtype(M.dtype, np.integer)):
        raise TypeError(f"M must be a real array, got dtype {M.dtype}")
    if M.ndim != 2:
        raise ValueError(f"M must be 2-D (cost matrix), got shape {M.shape}")
    n, m = M.shape
    if n == 0 or m == 0:
        raise ValueError(f"M must have at least one row and one column, got shape {M.shape}")
    M = M.astype(np.float64, copy=False)
    if not np.isfinite(M).all():
        raise ValueError("M contains NaN or infinity")
    if isinstance(reg, bool) or not isinstance(reg, numbers.Real):
        raise TypeError(f"reg must be a real number, got {type(reg).__name__}")
    reg = float(reg)
    if not np.isfinite(reg) or reg <= 0:
        raise ValueError(f"reg must be a finite number > 0, got {reg}")
    a = _check_weights(a, n, "a")
    b = _check_weights(b, m, "b")
    sa, sb = a.sum(), b.sum()
    if abs(sa - sb) > MASS_RTOL * max(sa, sb):
        raise ValueError(f"a and b must have the same total mass (balanced OT), got "
                         f"sum(a)={sa:.10g} and sum(b)={sb:.10g}")
    return a, b, M, reg


def warn_not_converged(what: str, niter: int, err: float, tol: float) -> None:
    warnings.warn(
        f"{what} did not converge in {niter} iterations (marginal error {err:.3e} > "
        f"tol {tol:.1e}). Increase the number of iterations, or the regularization "
        "reg, or use method='sns'.", ConvergenceWarning, stacklevel=3)


def marginal_error(plan, a, b) -> float:
    """Marginal error ``sqrt(||plan 1 - a||^2 + ||plan^T 1 - b||^2)``.

    It is the norm of the dual gradient, and equals POT's stopping measure
    ``||plan^T 1 - b||_2`` whenever the row marginal is exact (as after a
    Sinkhorn row update).

    Parameters
    ----------
    plan : array-like of shape (n, m)
        Transport plan.
    a : array-like of shape (n,)
        Source histogram.
    b : array-like of shape (m,)
        Target histogram.

    Returns
    -------
    float
        The marginal error.
    """
    plan = np.asarray(plan)
    return float(np.hypot(np.linalg.norm(plan.sum(axis=1) - a),
                          np.linalg.norm(plan.sum(axis=0) - b)))


#: exponents below this are taken as -inf: ``exp`` of -745 < x < -708 returns
#: subnormal numbers, which libm and every later sum or product handle on a
#: slow path (measured: 12x slower ``exp`` over an ``n x n`` array); the
#: values dropped are below 1e-304.
EXP_FLOOR = -700.0


def safe_exp(x: np.ndarray, out: np.ndarray | None = None, *,
             flush: bool = False) -> np.ndarray:
    """``exp(max(x, EXP_FLOOR))``, elementwise, into ``out``.

    ``flush=True`` sets the results whose exponent was below the floor to
    exactly 0 (one more pass); otherwise they are ``exp(EXP_FLOOR)`` ~ 1e-304,
    which changes no sum or product at double precision.
    """
    if flush:
        low = x < EXP_FLOOR
    out = np.maximum(x, EXP_FLOOR, out=out)
    np.exp(out, out=out)
    if flush:
        out[low] = 0.0
    return out


def lse_cols(Mr: np.ndarray, alpha: np.ndarray, work: np.ndarray) -> np.ndarray:
    """``logsumexp_i(Mr[i, j] + alpha[i])`` for every column ``j`` (max-shifted).

    ``work`` is an ``Mr``-shaped buffer that is overwritten. Rows with
    ``alpha = -inf`` contribute nothing.
    """
    np.add(Mr, alpha[:, None], out=work)
    mx = work.max(axis=0)
    mx[~np.isfinite(mx)] = 0.0
    work -= mx
    safe_exp(work, out=work)
    with np.errstate(divide="ignore"):
        return np.log(work.sum(axis=0)) + mx


def lse_rows(Mr: np.ndarray, beta: np.ndarray, work: np.ndarray) -> np.ndarray:
    """``logsumexp_j(Mr[i, j] + beta[j])`` for every row ``i`` (max-shifted)."""
    np.add(Mr, beta[None, :], out=work)
    mx = work.max(axis=1)
    mx[~np.isfinite(mx)] = 0.0
    work -= mx[:, None]
    safe_exp(work, out=work)
    with np.errstate(divide="ignore"):
        return np.log(work.sum(axis=1)) + mx
