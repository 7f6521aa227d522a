"""Krylov solvers on any operator that supports ``A @ x``."""
from __future__ import annotations

import numpy as np

from .._device import device_of, mismatch, namespace_of

__all__ = ["cg"]


def _as_matvec(A, name):
    if callable(A) and not hasattr(A, "shape"):
        return A
    if hasattr(A, "matvec"):  # scipy LinearOperator
        return A.matvec
    if hasattr(A, "__matmul__") and hasattr(A, "shape"):
        return lambda x: A @ x
    raise TypeError(f"{name} must be a matrix, a LinearOperator or a callable, "
                    f"got {type(A).__name__}")


def _matrix_device(A):
    """The device of a matrix operand (None for callables and LinearOperators)."""
    dev = getattr(A, "device", None)
    if isinstance(dev, str) and dev in ("cpu", "gpu"):
        return dev  # sparsela arrays (and NumPy 2 arrays: 'cpu')
    if hasattr(A, "shape") and hasattr(A, "dtype") and not hasattr(A, "matvec"):
        return device_of(A)
    return None


def cg(A, b, x0=None, *, rtol: float = 1e-5, atol: float = 0.0,
       maxiter: int | None = None, M=None, callback=None):
    """Solve ``A x = b`` for Hermitian positive (semi-)definite ``A`` by CG.

    SciPy's :func:`scipy.sparse.linalg.cg` signature and stopping rule
    (``||r|| <= max(rtol * ||b||, atol)``); ``A`` is applied only through
    ``A @ x``, so a sparsela array keeps its Numba SpMV. With ``b`` a CuPy
    array and ``A`` a sparsela array on the GPU, every vector stays on the
    GPU (no transfer; the scalars of the stopping test are read back once
    per iteration).

    Parameters
    ----------
    A : sparsela/SciPy sparse array, ndarray, LinearOperator or callable
        The operator, shape (n, n). A callable is used as ``x -> A x``.
    b : ndarray or cupy.ndarray of shape (n,)
        Right-hand side; its device is the device of the solve.
    x0 : ndarray of shape (n,), optional
        Starting guess (zeros by default).
    rtol, atol : float
        Relative and absolute tolerances.
    maxiter : int, optional
        Maximum iterations (default ``10 * n``).
    M : operator, optional
        Preconditioner approximating ``A^{-1}``, applied as ``M @ r``.
    callback : callable, optional
        Called as ``callback(xk)`` after each iteration.

    Returns
    -------
    x : ndarray of shape (n,)
        The approximate solution.
    info : int
        0 when converged, else the number of iterations done (> 0).
    """
    xp = namespace_of(b)
    b = b if xp is not np else np.asarray(b)
    dev = device_of(b)
    a_dev = _matrix_device(A)
    if a_dev is not None and a_dev != dev:
        raise mismatch("b", dev, "A", a_dev)
    if b.ndim != 1:
        raise ValueError(f"b must be 1-D, got shape {b.shape}")
    n = b.shape[0]
    shape = getattr(A, "shape", None)
    if shape is not None and tuple(shape) != (n, n):
        raise ValueError(f"A must have shape ({n}, {n}) to match b, got {tuple(shape)}")
    if rtol < 0 or atol < 0:
        raise ValueError(f"rtol and atol must be >= 0, got rtol={rtol}, atol={atol}")
    matvec = _as_matvec(A, "A")
    precond = (lambda r: r) if M is None else _as_matvec(M, "M")
    if maxiter is None:
        maxiter = 10 * max(n, 1)
    dtype = np.result_type(b.dtype, np.float64 if shape is None else getattr(A, "dtype", np.float64))
    if x0 is not None and device_of(x0) != dev:
        raise mismatch("b", dev, "x0", device_of(x0))
    x = xp.zeros(n, dtype=dtype) if x0 is None else xp.array(x0, dtype=dtype)
    if x.shape != (n,):
        raise ValueError(f"x0 must have shape ({n},), got {x.shape}")
    norm, vdot = xp.linalg.norm, xp.vdot
    asarray = np.asarray if xp is np else (lambda v: v)
    bnorm = float(norm(b))
    tol = max(rtol * bnorm, atol)
    if bnorm == 0.0 and atol == 0.0:
        return xp.zeros(n, dtype=dtype), 0
    r = b - asarray(matvec(x)) if x0 is not None else b.astype(dtype, copy=True)
    if float(norm(r)) <= tol:
        return x, 0
    z = asarray(precond(r))
    p = z.copy()
    rz = vdot(r, z)
    for it in range(1, maxiter + 1):
        Ap = asarray(matvec(p))
        pAp = vdot(p, Ap)
        if pAp == 0:  # breakdown: p is in A's null space
            return x, it
        alpha = rz / pAp
        x += alpha * p
        r -= alpha * Ap
        if callback is not None:
            callback(x)
        if float(norm(r)) <= tol:
            return x, 0
        z = asarray(precond(r))
        rz_new = vdot(r, z)
        p *= rz_new / rz
        p += z
        rz = rz_new
    return x, maxiter
