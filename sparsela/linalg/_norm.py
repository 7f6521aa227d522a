"""Matrix norms of sparse arrays without densifying, on the CPU or the GPU."""
from __future__ import annotations

import numpy as np

from ..formats import asarray
from ..ops._backend import xp_of

__all__ = ["norm"]


def norm(x, ord=None, axis=None):
    """Norm of a sparse matrix, as :func:`scipy.sparse.linalg.norm`.

    Parameters
    ----------
    x : sparse array or array_like
        A 2-D sparsela or ``scipy.sparse`` array (a dense 2-D array is
        converted to CSR first). It is never densified. An array on the GPU
        is reduced there: only the final scalar of a matrix norm is read
        back to the host.
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
        a 1-D array with one norm per column (``axis=0``) or row
        (``axis=1``) otherwise, on the device of ``x`` (a CuPy array for an
        array on the GPU). Duplicate entries are summed first, as SciPy.

    Raises
    ------
    ValueError
        If ``ord`` is not supported with the given ``axis``, or ``axis`` is
        not None, 0, 1, -1 or -2.

    Examples
    --------
    >>> import sparsela as sl
    >>> from sparsela.linalg import norm
    >>> A = sl.csr_array([[3.0, 0.0], [0.0, -4.0]])
    >>> norm(A), norm(A, 1), norm(A, axis=1)
    (5.0, 4.0, array([3., 4.]))
    """
    A = asarray(x)
    xp = xp_of(A.data)
    gpu = xp is not np

    def vector(v):
        # a 1-D array where the values live (np.asarray would copy a device
        # array to the host, and refuses to: CuPy forbids implicit moves)
        return v.ravel() if gpu else np.asarray(v).ravel()

    if axis is None:
        if ord in (None, "fro", "f"):
            if not A.nnz:
                return 0.0
            # duplicates summed first: |a + b|^2, not |a|^2 + |b|^2 (as SciPy)
            data = A._deduped().data
            return float(xp.sqrt(xp.sum(xp.abs(data) ** 2)))
        if ord in (1, -1):
            s = vector(abs(A).sum(axis=0))
            return float(s.max() if ord == 1 else s.min()) if s.size else 0.0
        if ord in (np.inf, -np.inf):
            s = vector(abs(A).sum(axis=1))
            return float(s.max() if ord == np.inf else s.min()) if s.size else 0.0
        raise ValueError(f"ord must be one of None, 'fro', 1, -1, inf, -inf; got {ord!r}")
    if axis not in (0, 1, -1, -2):
        raise ValueError(f"axis must be None, 0 or 1, got {axis!r}")
    if ord in (None, 2):
        return xp.sqrt(vector(abs(A).power(2).sum(axis=axis)))
    if ord == 1:
        return vector(abs(A).sum(axis=axis))
    if ord in (np.inf, -np.inf):
        fn = abs(A).max if ord == np.inf else abs(A).min
        return vector(fn(axis=axis))
    if ord == 0:
        return vector(A.count_nonzero(axis=axis))
    raise ValueError(f"ord must be one of None, 1, 2, inf, -inf, 0 with axis; got {ord!r}")
