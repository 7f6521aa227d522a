"""Input validation for the estimators.

scikit-learn's :func:`sklearn.utils.validation.validate_data` does the work for
dense and SciPy input; sparsela arrays, which scikit-learn does not know, are
checked here with the same rules (2-D, finite, float dtype, at least one
sample/feature, ``n_features_in_``) and kept sparse. Sparse input always comes
back as a sparsela array of the requested format, sharing SciPy's buffers when
no conversion is needed, so the estimators only ever see NumPy arrays or
sparsela arrays.
"""
from __future__ import annotations

import numpy as np

from ..formats import SparseArray, asarray

__all__ = ["validate_data", "check_array", "is_sparse_input"]

FLOAT_DTYPES = (np.float64, np.float32)
_COMPLEX_DTYPES = (np.complex128, np.complex64)


def is_sparse_input(X) -> bool:
    """Return whether ``X`` is sparse, as sparsela or SciPy.

    Parameters
    ----------
    X : object
        Any object.

    Returns
    -------
    bool
        True for a sparsela array or a ``scipy.sparse`` array or matrix.
    """
    if isinstance(X, SparseArray):
        return True
    import scipy.sparse as sp

    return sp.issparse(X)


def _target_dtype(dtype, current, allow_complex):
    """The dtype ``X`` should be cast to (``None`` keeps it)."""
    if dtype is None:
        return None
    if isinstance(dtype, (list, tuple)):
        allowed = list(dtype) + (list(_COMPLEX_DTYPES) if allow_complex else [])
        if any(current == np.dtype(d) for d in allowed):
            return None
        if allow_complex and np.issubdtype(current, np.complexfloating):
            return np.complex128
        return np.dtype(dtype[0])
    return np.dtype(dtype)


def _check_sparsela(X: SparseArray, *, input_name, accept_sparse, sparse_format,
                    dtype, allow_complex, ensure_min_samples, ensure_min_features,
                    copy):
    name = input_name or "X"
    if not accept_sparse:
        raise TypeError(
            f"Sparse data was passed for {name}, but dense data is required. "
            "Use '.toarray()' to convert to a dense numpy array."
        )
    if len(X.shape) != 2:
        raise ValueError(f"Expected 2D array for {name}, got shape {X.shape}.")
    if np.issubdtype(X.dtype, np.complexfloating) and not allow_complex:
        raise ValueError(f"Complex data not supported for {name}; got dtype {X.dtype}.")
    X = X.asformat(sparse_format)
    target = _target_dtype(dtype, X.dtype, allow_complex)
    if target is not None:
        X = X.astype(target, copy=False)
    elif copy:
        X = X.copy()
    if X.nnz and not np.isfinite(X.data).all():
        raise ValueError(f"Input {name} contains NaN or infinity.")
    n_samples, n_features = X.shape
    if n_samples < ensure_min_samples:
        raise ValueError(
            f"Found array with {n_samples} sample(s) (shape={X.shape}) while a "
            f"minimum of {ensure_min_samples} is required."
        )
    if n_features < ensure_min_features:
        raise ValueError(
            f"Found array with {n_features} feature(s) (shape={X.shape}) while a "
            f"minimum of {ensure_min_features} is required."
        )
    return X


def check_array(X, *, input_name: str = "X", accept_sparse: bool = True,
                sparse_format: str = "csr", dtype=FLOAT_DTYPES,
                allow_complex: bool = False, ensure_2d: bool = True,
                ensure_min_samples: int = 1, ensure_min_features: int = 1,
                copy: bool = False, ensure_all_finite=True):
    """Validate one array like :func:`sklearn.utils.check_array`.

    Sparse input (SciPy or sparsela) is returned as a sparsela array in
    ``sparse_format``; dense input as a NumPy array.

    Parameters
    ----------
    X : array-like, SciPy sparse or sparsela array
        The input.
    input_name : str, default "X"
        Name used in error messages.
    accept_sparse : bool, default True
        Whether sparse input is allowed (``TypeError`` otherwise).
    sparse_format : {'csr', 'csc'}, default 'csr'
        Format sparse input is returned in.
    dtype : dtype, tuple of dtypes or None, default (float64, float32)
        Accepted dtypes; others are cast to the first. ``None`` keeps it.
    allow_complex : bool, default False
        Accept complex input (kept complex); otherwise complex input raises
        ``ValueError``.
    ensure_2d : bool, default True
        Require 2-D input, as in :func:`sklearn.utils.check_array`; sparse
        input is 2-D in any case.
    ensure_min_samples : int, default 1
        Minimum number of rows (``ValueError`` below it).
    ensure_min_features : int, default 1
        Minimum number of columns (``ValueError`` below it).
    copy : bool, default False
        Return a copy even when the input needs no conversion.
    ensure_all_finite : bool or 'allow-nan', default True
        Reject NaN and infinity (``'allow-nan'``: infinity only), as in
        :func:`sklearn.utils.check_array`. sparsela input is always checked
        for both.

    Returns
    -------
    ndarray or sparsela array
        The validated array: a NumPy array for dense input, a sparsela array
        in ``sparse_format`` for SciPy or sparsela input.

    Raises
    ------
    TypeError
        If sparse input is passed with ``accept_sparse=False``.
    ValueError
        For non-finite values, complex values without ``allow_complex``,
        input of the wrong dimension, or too few samples or features.
    """
    if isinstance(X, SparseArray):
        return _check_sparsela(
            X, input_name=input_name, accept_sparse=accept_sparse,
            sparse_format=sparse_format, dtype=dtype, allow_complex=allow_complex,
            ensure_min_samples=ensure_min_samples,
            ensure_min_features=ensure_min_features, copy=copy)
    from sklearn.utils import check_array as sk_check_array

    Xc = sk_check_array(
        X, accept_sparse=[sparse_format] if accept_sparse else False,
        dtype=_sk_dtype(dtype, X, allow_complex), ensure_2d=ensure_2d,
        ensure_min_samples=ensure_min_samples,
        ensure_min_features=ensure_min_features, copy=copy,
        ensure_all_finite=ensure_all_finite, input_name=input_name)
    return asarray(Xc, format=sparse_format) if _scipy_sparse(Xc) else Xc


def _scipy_sparse(X) -> bool:
    import scipy.sparse as sp

    return sp.issparse(X)


def _sk_dtype(dtype, X, allow_complex):
    """scikit-learn rejects complex input for float dtypes; keep it when allowed."""
    if allow_complex:
        dt = getattr(X, "dtype", None)
        if dt is not None and np.issubdtype(dt, np.complexfloating):
            return None
    return dtype


def validate_data(estimator, X="no_validation", y="no_validation", *,
                  reset: bool = True, accept_sparse: bool = True,
                  sparse_format: str = "csr", dtype=FLOAT_DTYPES,
                  allow_complex: bool = False, multi_output: bool = False,
                  y_numeric: bool = True, ensure_min_samples: int = 1,
                  ensure_min_features: int = 1, copy: bool = False):
    """Validate ``X`` (and ``y``) and set/check ``n_features_in_``.

    Wraps :func:`sklearn.utils.validation.validate_data`, adding sparsela
    arrays: these are checked without densifying and ``n_features_in_`` is
    set from their shape. Sparse input comes back as a sparsela array in
    ``sparse_format``.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator whose ``n_features_in_`` / ``feature_names_in_`` are set
        (``reset=True``) or checked.
    X : {array-like, SciPy sparse, sparsela array} of shape (n_samples, n_features)
        The input samples.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs), default "no_validation"
        The targets; the default ``"no_validation"`` validates ``X`` only.
    reset : bool, default True
        True in ``fit`` (set ``n_features_in_``), False in
        ``transform``/``predict`` (check ``X`` against it).
    accept_sparse : bool, default True
        Whether sparse input is allowed; see :func:`check_array`.
    sparse_format : {'csr', 'csc'}, default 'csr'
        Format sparse input is returned in.
    dtype : dtype, tuple of dtypes or None, default (float64, float32)
        Accepted dtypes of ``X``; others are cast to the first. ``None``
        keeps it.
    allow_complex : bool, default False
        Accept complex ``X`` (kept complex).
    multi_output : bool, default False
        Allow a 2-D ``y``; passed to scikit-learn.
    y_numeric : bool, default True
        Convert a ``y`` of object dtype to float64; passed to scikit-learn.
    ensure_min_samples : int, default 1
        Minimum number of samples in ``X``.
    ensure_min_features : int, default 1
        Minimum number of features in ``X``.
    copy : bool, default False
        Return a copy of ``X`` even when it needs no conversion.

    Returns
    -------
    out : ndarray, sparsela array or tuple
        The validated ``X`` (sparse input as a sparsela array in
        ``sparse_format``), or the tuple ``(X, y)`` when ``y`` is validated
        too.

    Raises
    ------
    ValueError
        If ``X`` does not have ``n_features_in_`` features (``reset=False``),
        ``X`` and ``y`` differ in length, or a check of :func:`check_array`
        fails.
    TypeError
        If sparse input is passed with ``accept_sparse=False``.
    """
    from sklearn.utils.validation import check_consistent_length
    from sklearn.utils.validation import validate_data as sk_validate_data

    no_y = isinstance(y, str) and y == "no_validation"
    if isinstance(X, SparseArray):
        Xv = check_array(
            X, accept_sparse=accept_sparse, sparse_format=sparse_format,
            dtype=dtype, allow_complex=allow_complex,
            ensure_min_samples=ensure_min_samples,
            ensure_min_features=ensure_min_features, copy=copy)
        n_features = Xv.shape[1]
        if reset:
            estimator.n_features_in_ = n_features
            if hasattr(estimator, "feature_names_in_"):
                del estimator.feature_names_in_
        elif hasattr(estimator, "n_features_in_") and estimator.n_features_in_ != n_features:
            raise ValueError(
                f"X has {n_features} features, but {type(estimator).__name__} is "
                f"expecting {estimator.n_features_in_} features as input.")
        if no_y:
            return Xv
        from sklearn.utils.validation import _check_y

        yv = _check_y(y, multi_output=multi_output, y_numeric=y_numeric,
                      estimator=estimator)
        check_consistent_length(Xv, yv)
        return Xv, yv
    kw = dict(reset=reset, accept_sparse=[sparse_format] if accept_sparse else False,
              dtype=_sk_dtype(dtype, X, allow_complex), copy=copy,
              ensure_min_samples=ensure_min_samples,
              ensure_min_features=ensure_min_features)
    if no_y:
        Xv = sk_validate_data(estimator, X, **kw)
        return asarray(Xv, format=sparse_format) if _scipy_sparse(Xv) else Xv
    Xv, yv = sk_validate_data(estimator, X, y, multi_output=multi_output,
                              y_numeric=y_numeric, **kw)
    if _scipy_sparse(Xv):
        Xv = asarray(Xv, format=sparse_format)
    return Xv, yv
