"""Input checks and dense log-domain helpers shared by the OT solvers.

The helpers take NumPy or CuPy arrays and compute with the module of their
arguments (``xp``), so the dense solvers run on either device.
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from .._device import is_gpu_array, namespace_of, same_device

__all__ = [
    "EXP_FLOOR",
    "ConvergenceWarning",
    "check_ot_problem",
    "fetch",
    "is_gpu_input",
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


def is_gpu_input(*arrays) -> bool:
    """Whether any of ``arrays`` lives on the GPU (CuPy or a sparsela GPU array)."""
    return any(is_gpu_array(x) or getattr(x, "device", None) == "gpu" for x in arrays)


def fetch(xp, *values) -> tuple:
    """Device scalars as host numbers in ONE transfer (on the CPU: as they are).

    Each ``float()`` of a CuPy value is a device synchronisation; stacking
    the values of one test and copying them together keeps it at one.
    """
    if xp is np:
        return values
    host = xp.stack([xp.asarray(v, dtype=np.float64) for v in values]).get()
    return tuple(float(v) for v in host)


def _is_empty_list(w) -> bool:
    return isinstance(w, (list, tuple)) and len(w) == 0


def _check_weights(w, n: int, name: str, xp=np):
    """``(w, sum(w))``: ``w`` as float64 on ``xp``'s device, checked."""
    if w is None:
        w = xp.full(n, 1.0 / n) if n else xp.zeros(0)
        return w, fetch(xp, w.sum())[0]
    w = xp.asarray(w)
    if w.dtype == object or not (np.issubdtype(w.dtype, np.floating)
                                 or np.issubdtype(w.dtype, np.integer)):
        raise TypeError(f"{name} must be a real 1-D array, got dtype {w.dtype}")
    if w.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one histogram), got shape {w.shape}")
    if w.shape[0] == 0:  # POT's convention: an empty list means uniform weights
        return _check_weights(None, n, name, xp)
    w = w.astype(np.float64)
    if w.shape[0] != n:
        raise ValueError(f"{name} has {w.shape[0]} weights but M has {n} "
                         f"{'rows' if name == 'a' else 'columns'}")
    # the three value checks of a device histogram cost one transfer
    finite, wmin, wsum = fetch(xp, xp.isfinite(w).all(), w.min(), w.sum())
    if not finite:
        raise ValueError(f"{name} contains NaN or infinity")
    if wmin < 0:
        raise ValueError(f"{name} must be non-negative (a histogram), got min {wmin:.3g}")
    if wsum <= 0:
        raise ValueError(f"{name} must have positive total mass")
    return w, wsum


def check_ot_problem(a, b, M, reg):
    """Validate ``(a, b, M, reg)`` once; return float64 copies/views.

    ``a``/``b`` of ``None`` or length 0 are uniform. Raises ``ValueError``
    for a non-2-D or non-finite ``M``, weights that do not match ``M``'s
    shape, negative weights, unequal total masses, or ``reg <= 0``.

    CuPy ``a``, ``b``, ``M`` are checked on the device (a few scalar
    transfers) and returned there; ``a``, ``b`` and ``M`` on different
    devices raise ``TypeError``.
    """
    if hasattr(M, "toarray") and not isinstance(M, np.ndarray):
        raise TypeError("M must be a dense array (the entropic plan is dense)")
    gpu = is_gpu_input(a, b, M)
    if gpu:
        # no implicit moves: a and b must live where M lives (None/[]: uniform)
        for name, w in (("a", a), ("b", b)):
            if w is not None and not _is_empty_list(w):
                same_device(name, w, "M", M)
    xp = namespace_of(M) if gpu else np
    M = xp.asarray(M)
    if M.dtype == object or not (np.issubdtype(M.dtype, np.floating)
                                 or np.issubdtype(M.dtype, np.integer)):
        raise TypeError(f"M must be a real array, got dtype {M.dtype}")
    if M.ndim != 2:
        raise ValueError(f"M must be 2-D (cost matrix), got shape {M.shape}")
    n, m = M.shape
    if n == 0 or m == 0:
        raise ValueError(f"M must have at least one row and one column, got shape {M.shape}")
    M = M.astype(np.float64, copy=False)
    if not xp.isfinite(M).all():
        raise ValueError("M contains NaN or infinity")
    if isinstance(reg, bool) or not isinstance(reg, numbers.Real):
        raise TypeError(f"reg must be a real number, got {type(reg).__name__}")
    reg = float(reg)
    if not np.isfinite(reg) or reg <= 0:
        raise ValueError(f"reg must be a finite number > 0, got {reg}")
    a, sa = _check_weights(a, n, "a", xp)
    b, sb = _check_weights(b, m, "b", xp)
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
        Transport plan (NumPy, or CuPy with ``a`` and ``b`` on the GPU too).
    a : array-like of shape (n,)
        Source histogram.
    b : array-like of shape (m,)
        Target histogram.

    Returns
    -------
    float
        The marginal error (for CuPy input: computed on the device, one
        scalar transfer).
    """
    xp = namespace_of(plan, a, b)
    plan = xp.asarray(plan)
    return float(xp.hypot(xp.linalg.norm(plan.sum(axis=1) - a),
                          xp.linalg.norm(plan.sum(axis=0) - b)))


#: exponents below this are taken as -inf: ``exp`` of -745 < x < -708 returns
#: subnormal numbers, which libm and every later sum or product handle on a
#: slow path (measured: 12x slower ``exp`` over an ``n x n`` array); the
#: values dropped are below 1e-304.
EXP_FLOOR = -700.0


def safe_exp(x, out=None, *, flush: bool = False):
    """``exp(max(x, EXP_FLOOR))``, elementwise, into ``out`` (NumPy or CuPy).

    ``flush=True`` sets the results whose exponent was below the floor to
    exactly 0 (one more pass); otherwise they are ``exp(EXP_FLOOR)`` ~ 1e-304,
    which changes no sum or product at double precision.
    """
    xp = namespace_of(x)
    if flush:
        low = x < EXP_FLOOR
    out = xp.maximum(x, EXP_FLOOR, out=out)
    xp.exp(out, out=out)
    if flush:
        # copyto, not out[low] = 0: boolean-mask assignment on CuPy counts
        # the mask on the host
        xp.copyto(out, 0.0, where=low)
    return out


def _finite_or_zero(mx, xp):
    """``mx`` with its non-finite entries (all-``-inf`` lines) set to 0, in place
    on the CPU; ``where`` on the GPU (no host count of a mask)."""
    if xp is np:
        mx[~np.isfinite(mx)] = 0.0
        return mx
    return xp.where(xp.isfinite(mx), mx, 0.0)


def lse_cols(Mr, alpha, work):
    """``logsumexp_i(Mr[i, j] + alpha[i])`` for every column ``j`` (max-shifted).

    ``work`` is an ``Mr``-shaped buffer that is overwritten. Rows with
    ``alpha = -inf`` contribute nothing. NumPy or CuPy arrays (all on one
    device); no scipy.special, so it runs on either.
    """
    xp = namespace_of(Mr)
    xp.add(Mr, alpha[:, None], out=work)
    mx = _finite_or_zero(work.max(axis=0), xp)
    work -= mx
    safe_exp(work, out=work)
    with np.errstate(divide="ignore"):
        return xp.log(work.sum(axis=0)) + mx


def lse_rows(Mr, beta, work):
    """``logsumexp_j(Mr[i, j] + beta[j])`` for every row ``i`` (max-shifted)."""
    xp = namespace_of(Mr)
    xp.add(Mr, beta[None, :], out=work)
    mx = _finite_or_zero(work.max(axis=1), xp)
    work -= mx[:, None]
    safe_exp(work, out=work)
    with np.errstate(divide="ignore"):
        return xp.log(work.sum(axis=1)) + mx
