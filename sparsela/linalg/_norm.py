"""Matrix norms of sparse arrays without densifying."""
from __future__ import annotations

import numpy as np

from ..formats import asarray

__all__ = ["norm"]


def norm(x, ord=None, axis=None):
    """Norm of a sparse matrix, as :func:`scipy.sparse.linalg.norm`.

    Parameters
    ----------
    x : sparse array or array_like
        A 2-D sparsela or ``scipy.sparse`` array (a dense 2-D array is
        converted to CSR first). It is never densified.
    ord : {None, 'fro', 1, -1, inf, -inf, 2, 0}, optional
        With ``axis=None``: Frobenius (None or 'fro', the default), max/min
        column abs sum (1/-1), max/min row abs sum (inf/-inf); the matrix
        2-norm is not offered (see
        :func:`sparsela.utils.squared_spectral_norm`). With an ``axis``:
        the vector norm of :func:`numpy.linalg.norm`, None/2 (Euclidean),
        1, inf, -inf or 0 (count of nonzeros).
    axis : {None, 0, 1, -1, -2}, optional
        None for a matrix norm; an axis for the vector norms of the columns
        (0) or of the rows (1).

    Returns
    -------
    float or ndarray
        A float for a matrix norm (0.0 for an array with no stored entries);
        a 1-D ndarray with one norm per column (``axis=0``) or row
        (``axis=1``) otherwise.

    Raises
    ------
    ValueError
        If ``ord`` is not supported with the given ``axis``, or ``axis`` is
        not None, 0, 1, -1 or -2.
    """
    A = asarray(x)
    if axis is None:
        if ord in (None, "fro", "f"):
            return float(np.sqrt(np.sum(np.abs(A.data) ** 2))) if A.nnz else 0.0
        if ord in (1, -1):
            s = np.asarray(abs(A).sum(axis=0)).ravel()
            return float(s.max() if ord == 1 else s.min()) if s.size else 0.0
        if ord in (np.inf, -np.inf):
            s = np.asarray(abs(A).sum(axis=1)).ravel()
            return float(s.max() if ord == np.inf else s.min()) if s.size else 0.0
        raise ValueError(f"ord must be one of None, 'fro', 1, -1, inf, -inf; got {ord!r}")
    if axis not in (0, 1, -1, -2):
        raise ValueError(f"axis must be None, 0 or 1, got {axis!r}")
    if ord in (None, 2):
        return np.sqrt(np.asarray(abs(A).power(2).sum(axis=axis)).ravel())
    if ord == 1:
        return np.asarray(abs(A).sum(axis=axis)).ravel()
    if ord in (np.inf, -np.inf):
        fn = abs(A).max if ord == np.inf else abs(A).min
        return np.asarray(fn(axis=axis)).ravel()
    if ord == 0:
        return np.asarray(A.count_nonzero(axis=axis)).ravel()
    raise ValueError(f"ord must be one of None, 1, 2, inf, -inf, 0 with axis; got {ord!r}")
