"""Reductions: sum, mean, max/min, count_nonzero, diagonal.

Results match NumPy on the dense array (implicit zeros take part), with
NumPy's result dtypes; reductions along an axis return 1-D ndarrays (2-D
with ``keepdims=True``). ``axis`` takes an int, a tuple of ints or None, and
``out``/``keepdims`` behave as in NumPy, so ``np.sum(A, axis=(0,),
keepdims=True)`` (NumPy calls the method) works as on a dense array.
CSC arrays reduce on their own arrays with the axis swapped.
"""
from __future__ import annotations

import numpy as np

from .._device import device_of, mismatch
from ..backends.cpu._jit import threads
from ..formats._base import SparseArray
from ..formats.csc import csc_array
from ..formats.csr import csr_array
from ._backend import kernels, on_gpu, xp_of

__all__ = ["count_nonzero", "diagonal", "extreme", "mean", "sum"]


def _one_axis(a, axis):
    if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
        raise TypeError(f"axis must be None, an integer or a tuple of integers, got {axis!r}")
    if not -2 <= a < 2:
        raise np.exceptions.AxisError(
            f"axis {a} is out of bounds for a 2-D array (axis={axis!r}; use 0, 1, -1, -2, "
            "a tuple of them or None)")
    return int(a) % 2


def _check_axis(axis):
    """``(axis, reduced)``: the axis sparsela reduces (None for both, 0 or 1) and the
    reduced axes, for ``keepdims``.

    Accepts None, an int in ``[-2, 2)`` or a tuple of one or two distinct such
    ints, as NumPy does for a 2-D array; errors name the ``axis`` argument.
    """
    if axis is None:
        return None, (0, 1)
    if isinstance(axis, tuple):
        axes = tuple(_one_axis(a, axis) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"duplicate value in axis={axis!r}")
        if not axes:
            raise ValueError("axis=() (no reduction) is not supported by sparse reductions; "
                             "use None, 0, 1 or a tuple of them")
        if len(axes) == 2:
            return None, (0, 1)
        return axes[0], axes
    a = _one_axis(axis, axis)
    return a, (a,)


def _finish(result, out, reduced=None, keepdims: bool = False):
    """``result`` with the reduced axes kept (length 1) when ``keepdims``, written to ``out``.

    ``out`` must be an ndarray of exactly the result's shape (NumPy's rule);
    its dtype may differ (the values are cast, as NumPy's reductions do).
    """
    gpu = on_gpu(result)
    if keepdims:
        res = result if gpu else np.asarray(result)
        if reduced == (0, 1):
            result = res.reshape(1, 1)
        elif reduced == (0,):
            result = res.reshape(1, -1)
        else:
            result = res.reshape(-1, 1)
    if out is None:
        return result
    if gpu != on_gpu(out):
        raise mismatch("the result", "gpu" if gpu else "cpu", "out", device_of(out))
    if not gpu and not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    shape = result.shape if gpu else np.shape(result)
    if out.shape != shape:
        raise ValueError(f"out has shape {out.shape}, but the result has shape {shape}")
    out[...] = result
    return out


def _major(A: SparseArray, axis):
    """(indptr, indices, data, (n_major, n_minor), reduce_minor) for CSR/CSC of A.

    ``reduce_minor`` is True when the reduction runs within major rows.
    """
    if not isinstance(A, (csr_array, csc_array)):
        A = A.tocsr()
    if isinstance(A, csc_array):
        n_major, n_minor = A.shape[1], A.shape[0]
        along_rows = axis == 0
    else:
        n_major, n_minor = A.shape
        along_rows = axis == 1
    return A, (n_major, n_minor), along_rows


def _sum_dtype(dt):
    return np.zeros(1, dtype=dt).sum().dtype


def sum(A: SparseArray, axis=None, dtype=None, out=None, keepdims: bool = False):
    """Sum of the entries of ``A``, as :meth:`SparseArray.sum`.

    Parameters
    ----------
    A : SparseArray
        The array to reduce.
    axis : None, int or tuple of ints, optional
        ``None`` (or ``(0, 1)``) over all entries, 0 (or ``(0,)``) down the
        columns, 1 (or ``(1,)``) along the rows; negative axes count from
        the end.
    dtype : dtype, optional
        Accumulator and result dtype; by default NumPy's for ``A.dtype``.
    out : ndarray, optional
        Array of the result's shape to write the result into.
    keepdims : bool, default False
        Keep the reduced axes with length 1 (the result is then a 2-D
        ndarray), as NumPy does.

    Returns
    -------
    scalar or ndarray
        A NumPy scalar when all entries are reduced, a 1-D ndarray otherwise
        (2-D with ``keepdims``); ``out`` when given.
    """
    axis, reduced = _check_axis(axis)
    A = A._bool_deduped()
    acc = np.dtype(dtype) if dtype is not None else _sum_dtype(A.dtype)
    xp, _k = xp_of(A.data), kernels("reduce", A.data)
    if axis is None:
        # (on the GPU a 0-d device array, as CuPy's reductions give: no sync)
        total = A.data.sum(dtype=acc) if A.nnz or xp is not np else acc.type(0)
        return _finish(total, out, reduced, keepdims)
    A, (n_major, n_minor), along_rows = _major(A, axis)
    data = A.data
    with threads(work=A.nnz):
        if along_rows:
            res = xp.zeros(n_major, dtype=acc)
            _k.csr_row_sums(A.indptr, data, res)
        else:
            res = xp.zeros(n_minor, dtype=acc)
            _k.csr_col_sums(A.indices, data, res)
    return _finish(res, out, reduced, keepdims)


def mean(A: SparseArray, axis=None, dtype=None, out=None, keepdims: bool = False):
    """Mean of the entries of ``A``, implicit zeros included, as :meth:`SparseArray.mean`.

    Parameters
    ----------
    A : SparseArray
        The array to reduce.
    axis : None, int or tuple of ints, optional
        ``None`` (or ``(0, 1)``) over all entries, 0 (or ``(0,)``) down the
        columns, 1 (or ``(1,)``) along the rows; negative axes count from
        the end.
    dtype : dtype, optional
        Dtype of the computation and result; by default NumPy's for
        ``A.dtype`` (float64 for integers and bool).
    out : ndarray, optional
        Array of the result's shape to write the result into.
    keepdims : bool, default False
        Keep the reduced axes with length 1 (the result is then a 2-D
        ndarray), as NumPy does.

    Returns
    -------
    scalar or ndarray
        A NumPy scalar when all entries are reduced, a 1-D ndarray otherwise
        (2-D with ``keepdims``); ``out`` when given. NaN where the reduced
        axis is empty.
    """
    axis, reduced = _check_axis(axis)
    if dtype is None:
        dtype = np.zeros(1, dtype=A.dtype).mean().dtype
    s = sum(A, axis=axis, dtype=dtype)
    n = A.shape[0] * A.shape[1] if axis is None else A.shape[axis]
    if on_gpu(s):
        res = (s / n if n else xp_of(s).full_like(s, np.nan)).astype(dtype, copy=False)
        return _finish(res, out, reduced, keepdims)
    with np.errstate(invalid="ignore", divide="ignore"):
        res = np.true_divide(s, n, dtype=dtype) if n else np.full_like(s, np.nan)
    return _finish(res.astype(dtype, copy=False) if axis is not None else np.dtype(dtype).type(res),
                   out, reduced, keepdims)


def extreme(A: SparseArray, axis, take_max: bool, explicit: bool = False, out=None,
            keepdims: bool = False):
    """Maximum or minimum of ``A``, as :meth:`SparseArray.max`.

    Parameters
    ----------
    A : SparseArray
        The array to reduce.
    axis : None, int or tuple of ints, optional
        ``None`` (or ``(0, 1)``) over all entries, 0 (or ``(0,)``) down the
        columns, 1 (or ``(1,)``) along the rows; negative axes count from
        the end.
    take_max : bool
        True for the maximum, False for the minimum.
    explicit : bool, default False
        Only the stored values count; otherwise implicit zeros do too.
    out : ndarray, optional
        Array of the result's shape to write the result into.
    keepdims : bool, default False
        Keep the reduced axes with length 1 (the result is then a 2-D
        ndarray), as NumPy does.

    Returns
    -------
    scalar or ndarray
        A NumPy scalar when all entries are reduced, a 1-D ndarray otherwise
        (2-D with ``keepdims``); ``out`` when given.

    Raises
    ------
    TypeError
        For complex values.
    ValueError
        If the reduced axis (or the whole array) has size zero.
    """
    name = "max" if take_max else "min"
    if A.dtype.kind == "c":
        raise TypeError(f"{name} is not defined for complex values; use abs(A).{name}()")
    axis, reduced = _check_axis(axis)
    M, N = A.shape
    if axis is None:
        if M * N == 0:
            raise ValueError(f"zero-size array to reduction operation {name} which has no identity")
        S = A.tocsr()
        _, _, data = S._canonical_arrays()
        if data.size == 0:
            zero = A.dtype.type(0)
            return _finish(xp_of(data).asarray(zero) if on_gpu(data) else zero,
                           out, reduced, keepdims)
        best = data.max() if take_max else data.min()
        if not explicit and data.size < M * N:
            best = (xp_of(data).maximum if take_max else xp_of(data).minimum)(
                best, A.dtype.type(0))
        return _finish(best, out, reduced, keepdims)
    if A.shape[axis] == 0:
        raise ValueError(f"zero-size array to reduction operation {name} which has no identity")
    S, (n_major, n_minor), along_rows = _major(A, axis)
    indptr, indices, data = S._canonical_arrays()
    kdata = data.view(np.uint8) if data.dtype == np.bool_ else data
    xp, _k = xp_of(data), kernels("reduce", data)
    with threads(work=data.shape[0]):
        if along_rows:
            res = xp.zeros(n_major, dtype=kdata.dtype)
            _k.csr_row_extreme(indptr, kdata, 0 if explicit else n_minor, take_max, res)
        else:
            res = xp.zeros(n_minor, dtype=kdata.dtype)
            count = xp.zeros(n_minor, dtype=np.int64)
            _k.csr_col_extreme(indices, kdata, 0 if explicit else n_major, take_max, count, res)
    return _finish(res.view(np.bool_) if data.dtype == np.bool_ else res, out, reduced, keepdims)


def count_nonzero(A: SparseArray, axis=None, *, keepdims: bool = False):
    """Number of nonzero entries of ``A``, as :meth:`SparseArray.count_nonzero`.

    Parameters
    ----------
    A : SparseArray
        The array to count in; duplicates are summed first.
    axis : None, int or tuple of ints, optional
        ``None`` (or ``(0, 1)``) over all entries, 0 (or ``(0,)``) down the
        columns, 1 (or ``(1,)``) along the rows; negative axes count from
        the end.
    keepdims : bool, default False
        Keep the reduced axes with length 1 (the result is then a 2-D
        ndarray), as NumPy does.

    Returns
    -------
    int or ndarray
        An int when all entries are counted, a 1-D integer ndarray otherwise
        (a 2-D one with ``keepdims``, as :func:`numpy.count_nonzero`).
    """
    axis, reduced = _check_axis(axis)
    S = A if isinstance(A, (csr_array, csc_array)) else A.tocsr()
    indptr, indices, data = S._canonical_arrays()
    nz = data != 0
    if axis is None and on_gpu(nz):
        total = nz.sum(dtype=np.intp)
        return total.reshape(1, 1) if keepdims else total
    if axis is None:
        return _finish(np.intp(np.count_nonzero(nz)), None, reduced, True) if keepdims \
            else int(np.count_nonzero(nz))
    S = type(S)._from_arrays(nz, indices, indptr, S.shape, True, True)
    return sum(S, axis=axis, dtype=np.intp, keepdims=keepdims)


def diagonal(A: SparseArray, k: int = 0) -> np.ndarray:
    """The ``k``-th diagonal of ``A``, as :meth:`SparseArray.diagonal`.

    Parameters
    ----------
    A : SparseArray
        The array.
    k : int, default 0
        Diagonal offset (``k > 0`` above the main diagonal).

    Returns
    -------
    ndarray
        The diagonal entries, duplicates summed, in ``A.dtype``.

    Raises
    ------
    TypeError
        If ``k`` is not an integer.
    """
    try:
        k = int(k)
    except (TypeError, ValueError):
        raise TypeError(f"k must be an integer, got {k!r}") from None
    M, N = A.shape
    if isinstance(A, csc_array):
        # the CSC arrays are the CSR arrays of A.T, whose k-th diagonal is A's (-k)-th
        return diagonal(A.transpose(), -k)
    if not isinstance(A, csr_array):
        A = A.tocsr()
    length = max(0, min(M + min(k, 0), N - max(k, 0)))
    data = A.data.view(np.uint8) if A.dtype == np.bool_ else A.data
    res = xp_of(data).zeros(length, dtype=data.dtype)
    if length:
        with threads(work=A.nnz):
            kernels("reduce", data).csr_diagonal(A.indptr, A.indices, data, k, res)
    return res.astype(np.bool_) if A.dtype == np.bool_ else res
