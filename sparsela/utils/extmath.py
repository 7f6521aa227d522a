"""Sparse-aware products for the estimators.

Every function takes NumPy arrays or sparsela arrays (or, on the GPU, CuPy
arrays and sparsela arrays on the GPU: results stay on the operands' device)
and never densifies a sparse operand. Centering is implicit: ``(X - 1 mu^T) W = X W - 1 (mu^T W)``,
so a sparse ``X`` stays sparse however it is centred.
"""
from __future__ import annotations

import numpy as np

from .._device import is_gpu_array, namespace_of
from ..formats import SparseArray

__all__ = ["safe_dot", "center_dot", "center_tdot", "column_mean_var",
           "squared_spectral_norm"]


def safe_dot(A, B):
    """``A @ B`` for any mix of dense and sparsela operands.

    Parameters
    ----------
    A : ndarray or SparseArray
        Left operand, 1-D or 2-D.
    B : ndarray or SparseArray
        Right operand, whose first dimension matches the last one of ``A``.

    Returns
    -------
    ndarray or SparseArray
        The product: a NumPy array when either operand is dense, a sparsela
        array when both are sparse.
    """
    return A @ B


def center_dot(X, W: np.ndarray, mean: np.ndarray | None) -> np.ndarray:
    """``(X - mean) @ W`` without forming ``X - mean``.

    Parameters
    ----------
    X : ndarray or sparsela array of shape (n_samples, n_features)
        The data; a sparse ``X`` is used as it is, never densified.
    W : ndarray of shape (n_features,) or (n_features, k)
        The dense right factor.
    mean : ndarray of shape (n_features,) or None
        Column means to subtract (None: no centering).

    Returns
    -------
    ndarray of shape (n_samples,) or (n_samples, k)
        ``X @ W - mean @ W``, which equals ``(X - mean) @ W``.
    """
    out = _dense(X @ W)
    if mean is not None:
        out = out - mean @ W
    return out


def _dense(a):
    """``a`` as a dense array of its own device (NumPy for array_like)."""
    return a if is_gpu_array(a) else np.asarray(a)


def _xp(*arrays):
    return namespace_of(*(a.data if isinstance(a, SparseArray) else a for a in arrays))


def center_tdot(X, Y: np.ndarray, mean: np.ndarray | None,
                y_mean: np.ndarray | None = None) -> np.ndarray:
    """``(X - mean).T @ (Y - y_mean)`` without forming either centred matrix.

    ``X.T @ Y`` runs on the transpose-free kernel for sparse ``X``.

    Parameters
    ----------
    X : ndarray or sparsela array of shape (n_samples, n_features)
        The data; a sparse ``X`` is used as it is, never densified.
    Y : ndarray of shape (n_samples,) or (n_samples, k)
        The dense right factor.
    mean : ndarray of shape (n_features,) or None
        Column means of ``X`` to subtract (None: ``X`` is not centred).
    y_mean : ndarray of shape (k,) or (), optional
        Mean of ``Y`` to subtract. ``(X - 1 mu^T)^T (Y - 1 nu^T)
        = X^T Y - mu (1^T Y) - (X^T 1) nu^T + n mu nu^T``.

    Returns
    -------
    ndarray of shape (n_features,) or (n_features, k)
        ``(X - mean).T @ (Y - y_mean)``, from ``X.T @ Y`` and rank-one
        corrections.
    """
    xp = _xp(X, Y)
    out = _dense(X.T @ Y)
    n = X.shape[0]
    ysum = Y.sum(axis=0)
    if mean is not None:
        out = out - xp.multiply.outer(mean, ysum)
    if y_mean is not None:
        xsum = _dense(X.sum(axis=0)).ravel()
        if mean is not None:
            xsum = xsum - n * mean
        out = out - xp.multiply.outer(xsum, y_mean)
    return out


def column_mean_var(X) -> tuple[np.ndarray, np.ndarray]:
    """Column means and (biased) variances, sparse-aware.

    For sparse ``X`` the variance is ``E[x^2] - E[x]^2`` over the stored
    values (zeros included implicitly), computed in float64.

    Parameters
    ----------
    X : ndarray or sparsela array of shape (n_samples, n_features)
        The data; a sparsela ``X`` is never densified.

    Returns
    -------
    mean : ndarray of shape (n_features,)
        Column means, implicit zeros included.
    var : ndarray of shape (n_features,)
        Column variances with the ``1 / n_samples`` normalisation (NumPy's
        ``ddof=0``); for sparse ``X`` clipped at 0 against rounding.
    """
    n = X.shape[0]
    xp = _xp(X)
    if isinstance(X, SparseArray):
        Xd = X.astype(np.result_type(X.dtype, np.float64), copy=False)
        mean = _dense(Xd.sum(axis=0)).ravel() / max(n, 1)
        sq = _dense(abs(Xd).power(2).sum(axis=0)).ravel() / max(n, 1)
        var = xp.maximum(sq - xp.abs(mean) ** 2, 0.0)
        return mean, var
    X = _dense(X)
    return X.mean(axis=0), X.var(axis=0)


def squared_spectral_norm(X, *, n_iter: int = 30, tol: float = 1e-6,
                          random_state=None) -> float:
    """Estimate ``||X||_2^2`` (the largest eigenvalue of ``X^H X``).

    Power iteration on ``X^H X`` through ``X @ v`` and ``X.T @ u`` (no
    Gram matrix). This is the Lipschitz constant of the gradient of
    ``0.5 ||X w - y||^2``. The estimate is a lower bound that converges
    from below; callers that need a safe step should scale it up slightly
    (ISTA uses ``1.01 *``) or rely on backtracking.

    Parameters
    ----------
    X : ndarray or sparsela array of shape (n, p)
        The matrix; it is only applied through ``X @ v`` and ``X.T @ u``.
    n_iter : int, default 30
        Maximum power iterations.
    tol : float, default 1e-6
        Stop when the relative change of the estimate is below ``tol``.
    random_state : int, RandomState instance or None, default None
        Seed of the random start vector.

    Returns
    -------
    float
        The estimate of ``||X||_2^2``, a lower bound; 0.0 when ``X`` has no
        rows or columns, or when the iteration reaches the zero vector.
    """
    from sklearn.utils import check_random_state

    n, p = X.shape
    if n == 0 or p == 0:
        return 0.0
    rng = check_random_state(random_state)
    v = rng.standard_normal(p)
    if np.issubdtype(X.dtype, np.complexfloating):
        v = v + 1j * rng.standard_normal(p)
    v /= np.linalg.norm(v)
    xp = _xp(X)
    if xp is not np:
        v = xp.asarray(v)  # the start vector, drawn on the host, moves once
    est = 0.0
    for _ in range(n_iter):
        u = X @ v
        w = X.conj().T @ u if np.issubdtype(X.dtype, np.complexfloating) else X.T @ u
        w = _dense(w)
        new = float(xp.linalg.norm(w))
        if new == 0.0:
            return 0.0
        v = w / new
        if abs(new - est) <= tol * new:
            est = new
            break
        est = new
    return est
