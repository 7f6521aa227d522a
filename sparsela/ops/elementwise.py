"""Elementwise operations: add, multiply, maximum/minimum, comparisons.

Sparse (op) sparse merges the canonical rows of both operands (a Numba
kernel gives the merged structure) and computes the values with the NumPy
ufunc of the op, so dtype promotion and NaN handling are NumPy's. As in
SciPy, results that are exactly zero (or False) are not stored.

Operations whose result is dense by nature (``A == B``, ``A <= B``,
``A > -1``, ``A.maximum(1)``) follow SciPy: they return a sparse array with
every implicit entry stored and emit a :class:`SparseEfficiencyWarning`.
"""
from __future__ import annotations

import operator
import warnings

import numpy as np

from .._device import same_device
from .._sputils import get_index_dtype, is_number, isscalarlike
from ..backends.cpu._jit import threads
from ..formats._base import SparseArray, SparseEfficiencyWarning
from ..formats._compressed import _is_cupyx_sparse, _is_scipy_sparse
from ..formats.csc import csc_array
from ..formats.csr import csr_array
from . import _canonical as _c
from ._backend import kernels, xp_of
from ._validation import as_dense, as_sparse, check_same_shape


def _is_sparse(x) -> bool:
    return isinstance(x, SparseArray) or _is_scipy_sparse(x) or _is_cupyx_sparse(x)

__all__ = ["add", "add_any", "compare", "divide_scalar", "extremum", "multiply"]

_COMPARE = {
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt,
    "gt": operator.gt, "le": operator.le, "ge": operator.ge,
}
# the comparisons that hold between two implicit zeros: dense by nature
_TRUE_AT_ZERO = ("eq", "le", "ge")
_SYMBOL = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">="}


def _pair(A: SparseArray, B: SparseArray):
    """Canonical arrays of A and B in one compressed layout, and its class."""
    same_device("A", A.data, "B", B.data)
    cls = csc_array if isinstance(A, csc_array) and isinstance(B, csc_array) else csr_array
    A = A.asformat(cls.format)
    B = B.asformat(cls.format)
    a = A._canonical_arrays()
    b = B._canonical_arrays()
    idx = np.promote_types(a[0].dtype, b[0].dtype)
    a = (a[0].astype(idx, copy=False), a[1].astype(idx, copy=False), a[2])
    b = (b[0].astype(idx, copy=False), b[1].astype(idx, copy=False), b[2])
    return cls, a, b


def _gather(x: np.ndarray, pos: np.ndarray, dtype) -> np.ndarray:
    """``x[pos]`` with 0 where ``pos == -1``: one take from x with a zero appended."""
    padded = xp_of(x).empty(x.shape[0] + 1, dtype=dtype)
    padded[:-1] = x
    padded[-1] = 0
    return padded.take(pos)


def _merge_apply(A: SparseArray, B: SparseArray, ufunc, intersect: bool):
    """``ufunc(A, B)`` on the union (or intersection) of the stored entries."""
    cls, (Ap, Aj, Ax), (Bp, Bj, Bx) = _pair(A, B)
    n = Ap.shape[0] - 1
    xp, _binop = xp_of(Ap), kernels("binop", Ap)
    counts = xp.empty(n, dtype=np.int64)
    with threads(work=Aj.shape[0] + Bj.shape[0]):
        _binop.csr_merge_count(Ap, Aj, Bp, Bj, intersect, counts)
        Cp = _c.prefix_sum(counts, get_index_dtype(Ap, maxval=int(counts.sum())))
        nnz = int(Cp[-1])
        Cj = xp.empty(nnz, dtype=Cp.dtype)
        ia = xp.empty(nnz, dtype=np.int64)
        ib = xp.empty(nnz, dtype=np.int64)
        _binop.csr_merge_fill(Ap, Aj, Bp, Bj, intersect, Cp, Cj, ia, ib)
    dt = np.result_type(Ax.dtype, Bx.dtype)
    values = ufunc(_gather(Ax, ia, dt), _gather(Bx, ib, dt))
    return _compress(cls, Cp, Cj, values, A.shape)


def _compress(cls, indptr, indices, values, shape):
    """Drop the zero values (SciPy keeps no zero results of elementwise ops)."""
    keep = values != 0
    if not keep.all():
        xp = xp_of(values)
        kept = xp.zeros(keep.shape[0] + 1, dtype=np.int64)
        xp.cumsum(keep, dtype=np.int64, out=kept[1:])
        indptr = kept[indptr].astype(indptr.dtype)
        indices = indices[keep]
        values = values[keep]
    return cls._from_arrays(values, indices, indptr, shape, True, True)


def add(A, B, alpha=1, beta=1):
    """``alpha * A + beta * B`` for sparse A and B of the same shape.

    Parameters
    ----------
    A, B : sparse array
        The operands, sparsela or ``scipy.sparse`` arrays of the same shape,
        in any format.
    alpha, beta : scalar, default 1
        Numeric scalars weighting ``A`` and ``B``.

    Returns
    -------
    csr_array or csc_array
        CSC when both operands are CSC, CSR otherwise. Canonical (sorted
        indices, no duplicates), without the entries that are zero. Value
        dtype is NumPy's promotion of the operands' dtypes and the scalars.

    Raises
    ------
    TypeError
        If ``A`` or ``B`` is not sparse, or ``alpha``/``beta`` is not a
        numeric scalar.
    ValueError
        If the shapes differ.

    Examples
    --------
    >>> import sparsela as sl
    >>> sl.add(sl.eye(2), sl.eye(2, k=1), beta=-2).toarray()
    array([[ 1., -2.],
           [ 0.,  1.]])
    """
    A = as_sparse(A, "A")
    B = as_sparse(B, "B")
    check_same_shape(A, B, "add")
    for name, s in (("alpha", alpha), ("beta", beta)):
        if not is_number(s):
            raise TypeError(f"{name} must be a numeric scalar, got {type(s).__name__}")
    if alpha == 1 and beta == 1:
        ufunc = np.add
    elif alpha == 1 and beta == -1:
        ufunc = np.subtract
    elif alpha == -1 and beta == 1:
        def ufunc(a, b):
            return np.subtract(b, a)
    else:
        # NumPy promotes each weighted operand on its own (2.0 * bool -> float64
        # even beside a float32 operand), so cast to that dtype before weighting
        out_dt = np.result_type(np.result_type(A.dtype, alpha), np.result_type(B.dtype, beta))

        def ufunc(a, b):
            return alpha * a.astype(out_dt, copy=False) + beta * b.astype(out_dt, copy=False)
    return _merge_apply(A, B, ufunc, intersect=False)


def add_any(A: SparseArray, other, a, b):
    """``a * A + b * other``, the operators ``+`` and ``-`` of sparse arrays.

    Parameters
    ----------
    A : SparseArray
        The sparse operand.
    other : sparse array, scalar or array_like
        A sparsela or ``scipy.sparse`` array of ``A``'s shape, the scalar 0,
        or a dense array that broadcasts to ``A``'s shape.
    a, b : {1, -1}
        Signs of ``A`` and ``other``.

    Returns
    -------
    SparseArray or ndarray
        Sparse for a sparse ``other`` (see :func:`add`) or 0 (a copy of
        ``a * A``); a dense ndarray for a dense ``other``.

    Raises
    ------
    NotImplementedError
        For a nonzero scalar, which would make every implicit zero nonzero.
    ValueError
        If the shapes do not match.
    """
    if _is_sparse(other):
        return add(A, other, a, b)
    if isscalarlike(other):
        if other == 0:
            return A.copy() if a == 1 else -A
        raise NotImplementedError(
            "adding a nonzero scalar to a sparse array is not supported (it would make "
            "every implicit zero nonzero); use A.toarray() + s explicitly"
        )
    X = as_dense(other, "other", A.device)
    try:
        shape = np.broadcast_shapes(X.shape, A.shape)
    except ValueError:
        raise ValueError(f"inconsistent shapes: sparse {A.shape} and dense {X.shape}") from None
    if shape != A.shape:
        raise ValueError(f"inconsistent shapes: sparse {A.shape} and dense {X.shape}")
    # the result is dense because the dense operand is: one allocation, sparse added in
    out = xp_of(X).empty(A.shape, dtype=np.result_type(A.dtype, X.dtype))
    out[...] = X if b == 1 else -X
    S = A.tocsr()
    data = S.data if a == 1 else -S.data
    with threads(work=S.nnz):
        kernels("convert", data).csr_todense(S.indptr, S.indices, data, out)
    return out


def multiply(A: SparseArray, other):
    """Elementwise product ``A * other``; see :meth:`SparseArray.multiply`.

    Parameters
    ----------
    A : SparseArray
        The sparse operand.
    other : scalar, sparse array or array_like
        A scalar, a sparse array of ``A``'s shape, or a dense array that
        broadcasts to ``A``'s shape.

    Returns
    -------
    SparseArray
        Of ``A``'s format for a scalar; a canonical ``csr_array``
        (``csc_array`` when both operands are CSC) for a sparse ``other``;
        a ``csr_array`` with ``A``'s structure for a dense ``other``.
    """
    if isscalarlike(other):
        return A._with_data(A.data * other)
    if _is_sparse(other):
        other = as_sparse(other, "other")
        check_same_shape(A, other, "multiply")
        # 0 * inf and 0 * nan are nan: a stored non-finite value meets the other
        # operand's implicit zero, so the product needs the union of the patterns
        union = not (_all_finite(A.data) and _all_finite(other.data))
        return _merge_apply(A, other, np.multiply, intersect=not union)
    X = as_dense(other, "other", A.device)
    try:
        shape = np.broadcast_shapes(X.shape, A.shape)
    except ValueError:
        raise ValueError(f"inconsistent shapes: sparse {A.shape} and dense {X.shape}") from None
    if shape != A.shape:
        raise ValueError(
            f"multiply by a dense array of shape {X.shape} would broadcast the sparse "
            f"{A.shape} array to {shape}; only shapes broadcasting to {A.shape} are supported"
        )
    S = A.tocsr()
    rows = _c.expand_indptr(S.indptr)
    # a broadcast view: no dense copy of X is made
    values = S.data * xp_of(X).broadcast_to(X, A.shape)[rows, S.indices]
    return csr_array._from_arrays(values, S.indices.copy(), S.indptr.copy(), A.shape,
                                  S._sorted, S._canonical)


def _all_finite(x: np.ndarray) -> bool:
    return x.dtype.kind not in "fc" or bool(xp_of(x).isfinite(x).all())


def divide_scalar(A: SparseArray, s):
    """``A / s`` on the stored values (implicit zeros stay zero, as SciPy).

    Parameters
    ----------
    A : SparseArray
        The sparse dividend.
    s : scalar
        The divisor.

    Returns
    -------
    SparseArray
        An array of ``A``'s format and structure holding ``A.data / s``.
    """
    return A._with_data(A.data / s)


def _full(shape, value, like) -> csr_array:
    """Every entry stored, on the device of array ``like``; for results that
    are dense by nature (warns)."""
    M, N = shape
    warnings.warn(
        f"this operation stores all {M * N} entries of a {M}x{N} array; "
        "a dense array is likely a better fit",
        SparseEfficiencyWarning, stacklevel=4,
    )
    idx = get_index_dtype(maxval=max(M * N, M, N))
    xp = xp_of(like)
    indptr = xp.arange(M + 1, dtype=idx) * N
    indices = xp.tile(xp.arange(N, dtype=idx), M)
    data = xp.full(M * N, value)
    return csr_array._from_arrays(data, indices, indptr, (M, N), True, True)


def _scalar_pattern(A: SparseArray, mask_fn) -> csr_array:
    """Bool array True at the stored entries of canonical A where ``mask_fn(data)``."""
    indptr, indices, data = A.tocsr()._canonical_arrays()
    return _compress(csr_array, indptr, indices, mask_fn(data).astype(bool, copy=False), A.shape)


def compare(A: SparseArray, other, op: str):
    """Elementwise comparison ``A <op> other``.

    Parameters
    ----------
    A : SparseArray
        The sparse left operand.
    other : sparse array, scalar or array_like
        A sparse array of ``A``'s shape, a scalar, or a dense array.
    op : {'eq', 'ne', 'lt', 'gt', 'le', 'ge'}
        The comparison.

    Returns
    -------
    csr_array or csc_array or ndarray
        For a sparse or scalar ``other``, a bool ``csr_array`` storing the
        True entries (a ``csc_array`` for ``ne``, ``lt`` and ``gt`` of two
        CSC arrays); when the implicit zeros compare True, every entry is
        stored and a :class:`SparseEfficiencyWarning` is emitted. For a
        dense ``other``, the dense bool ndarray.

    Raises
    ------
    TypeError
        For an ordering comparison of complex values.
    ValueError
        If a sparse ``other`` has another shape.
    """
    fn = _COMPARE[op]
    if _is_sparse(other):
        other = as_sparse(other, "other")
        check_same_shape(A, other, _SYMBOL[op])
        if A.dtype.kind == "c" and op not in ("eq", "ne"):
            raise TypeError(f"'{_SYMBOL[op]}' is not defined for complex values")
        if op in _TRUE_AT_ZERO:
            # implicit zeros compare True: store every entry but those that
            # compare False (``not a <= b``, not ``a > b``: both are False for NaN)
            false_at = _merge_apply(A, other, lambda a, b: ~fn(a, b), intersect=False)
            return _merge_apply(_full(A.shape, True, A.data), false_at, np.not_equal, intersect=False)
        return _merge_apply(A, other, fn, intersect=False)
    if isscalarlike(other):
        if A.dtype.kind == "c" and op not in ("eq", "ne"):
            raise TypeError(f"'{_SYMBOL[op]}' is not defined for complex values")
        if not fn(0, other):
            return _scalar_pattern(A, lambda d: fn(d, other))
        # implicit zeros compare True: the result is the complement of the
        # stored entries that compare False
        false_at = _scalar_pattern(A, lambda d: ~fn(d, other))
        return _merge_apply(_full(A.shape, True, A.data), false_at, np.not_equal, intersect=False)
    X = as_dense(other, "other", A.device)
    # comparing with a dense array gives a dense result, as in SciPy
    return fn(A.toarray(), X)


def extremum(A: SparseArray, other, name: str):
    """Elementwise ``maximum``/``minimum`` with a sparse array or a scalar.

    Parameters
    ----------
    A : SparseArray
        The sparse operand.
    other : sparse array or scalar
        A sparse array of ``A``'s shape or a real scalar.
    name : {'maximum', 'minimum'}
        The operation.

    Returns
    -------
    csr_array or csc_array
        Canonical, without zero entries; see :meth:`SparseArray.maximum`.

    Raises
    ------
    TypeError
        For complex values or a dense ``other``.
    ValueError
        If the shapes do not match.
    """
    ufunc = np.maximum if name == "maximum" else np.minimum
    if A.dtype.kind == "c":
        raise TypeError(f"{name} is not defined for complex values")
    if isscalarlike(other):
        if ufunc(0, other) == 0:
            S = A.tocsr()
            indptr, indices, data = S._canonical_arrays()
            return _compress(csr_array, indptr, indices, ufunc(data, other), A.shape)
        return _merge_apply(A, _full(A.shape, other, A.data), ufunc, intersect=False)
    other = as_sparse(other, "other")
    check_same_shape(A, other, name)
    return _merge_apply(A, other, ufunc, intersect=False)
