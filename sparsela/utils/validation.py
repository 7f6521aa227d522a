"""Input validation for the estimators.

scikit-learn's :func:`sklearn.utils.validation.validate_data` does the work for
dense and SciPy input; sparsela arrays, which scikit-learn does not know, are
checked here with the same rules (2-D, finite, float dtype, at least one
sample/feature, ``n_features_in_``) and kept sparse. Sparse input always comes
back as a sparsela array of the requested format, sharing SciPy's buffers when
no conversion is needed, so the estimators only ever see NumPy arrays or
sparsela arrays.

Complex data: scikit-learn's validators refuse it ("Complex data not
supported"). With ``allow_complex=True`` complex input is validated here with
the same rules instead: dense ``X`` (2-D, finite, at least
``ensure_min_samples`` rows and ``ensure_min_features`` columns, kept
complex64/complex128), SciPy sparse ``X`` (converted to sparsela, whose checks
accept complex data) and a complex ``y`` (1-D unless ``multi_output``,
finite); ``n_features_in_`` and ``feature_names_in_`` are set or checked as
for real input.
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


def _is_complex(X) -> bool:
    """Whether ``X`` (array, sparse, DataFrame or nested sequence) is complex."""
    dt = getattr(X, "dtype", None)
    if dt is not None:
        try:
            return np.issubdtype(dt, np.complexfloating)
        except TypeError:          # an extension dtype (pandas)
            return False
    dts = getattr(X, "dtypes", None)
    if dts is not None:            # a DataFrame: one dtype per column
        try:
            return any(np.issubdtype(d, np.complexfloating) for d in dts)
        except TypeError:
            return False
    if isinstance(X, (list, tuple)):
        try:
            return np.iscomplexobj(np.asarray(X))
        except (ValueError, TypeError):
            return False
    return False


def _complex_target(dtype, current):
    """The complex dtype complex input is cast to (``None`` keeps it)."""
    current = np.dtype(current)
    if dtype is None:
        return None
    wanted = list(dtype) if isinstance(dtype, (list, tuple)) else [dtype]
    wanted = [np.dtype(d) for d in wanted]
    if current in wanted or current in _COMPLEX_DTYPES:
        return None
    # a real float request keeps the imaginary part: its complex counterpart
    if wanted and wanted[0] == np.float32:
        return np.dtype(np.complex64)
    return np.dtype(np.complex128)


def _check_complex_dense(X, *, input_name, dtype, ensure_2d, ensure_min_samples,
                         ensure_min_features, copy, ensure_all_finite):
    """scikit-learn's dense ``check_array`` rules for complex input."""
    name = input_name or "X"
    Xa = np.asarray(X)
    target = _complex_target(dtype, Xa.dtype)
    if target is not None:
        Xa = Xa.astype(target)
    elif copy:
        Xa = Xa.copy()
    if ensure_2d:
        if Xa.ndim == 0:
            raise ValueError(f"Expected 2D array for {name}, got scalar array instead.")
        if Xa.ndim == 1:
            raise ValueError(
                f"Expected 2D array for {name}, got 1D array instead. Reshape your "
                "data either using array.reshape(-1, 1) if your data has a single "
                "feature or array.reshape(1, -1) if it contains a single sample.")
    if Xa.ndim >= 3:
        raise ValueError(f"Found array with dim {Xa.ndim} for {name}; expected <= 2.")
    if ensure_all_finite not in (True, False, "allow-nan"):
        raise ValueError("ensure_all_finite should be a bool or 'allow-nan'. "
                         f"Got {ensure_all_finite!r} instead.")
    if ensure_all_finite:
        bad = np.isinf(Xa) if ensure_all_finite == "allow-nan" else ~np.isfinite(Xa)
        if bad.any():
            what = "infinity" if ensure_all_finite == "allow-nan" else "NaN or infinity"
            raise ValueError(f"Input {name} contains {what}.")
    if Xa.ndim == 2:
        n_samples, n_features = Xa.shape
        if n_samples < ensure_min_samples:
            raise ValueError(
                f"Found array with {n_samples} sample(s) (shape={Xa.shape}) while a "
                f"minimum of {ensure_min_samples} is required.")
        if n_features < ensure_min_features:
            raise ValueError(
                f"Found array with {n_features} feature(s) (shape={Xa.shape}) while "
                f"a minimum of {ensure_min_features} is required.")
    return Xa


def _check_complex_y(y, *, multi_output, estimator=None):
    """scikit-learn's ``_check_y`` rules (numeric, finite, 1-D unless
    ``multi_output``) for a complex ``y``."""
    if y is None:
        name = type(estimator).__name__ if estimator is not None else "estimator"
        raise ValueError(f"{name} requires y to be passed, but the target y is None")
    yv = np.asarray(y)
    if not np.issubdtype(yv.dtype, np.complexfloating):
        yv = yv.astype(np.complex128)
    elif yv.dtype not in _COMPLEX_DTYPES:
        yv = yv.astype(np.complex128)
    if multi_output:
        if yv.ndim not in (1, 2):
            raise ValueError(f"y should be a 1d or 2d array, got shape {yv.shape} instead.")
    else:
        if yv.ndim == 2 and yv.shape[1] == 1:
            import warnings

            from sklearn.exceptions import DataConversionWarning

            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please "
                "change the shape of y to (n_samples, ), for example using ravel().",
                DataConversionWarning, stacklevel=3)
            yv = yv.ravel()
        if yv.ndim != 1:
            raise ValueError(f"y should be a 1d array, got an array of shape {yv.shape} "
                             "instead.")
    if not np.isfinite(yv).all():
        raise ValueError("Input y contains NaN or infinity.")
    return yv


def _set_n_features(estimator, n_features, reset):
    if reset:
        estimator.n_features_in_ = n_features
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif hasattr(estimator, "n_features_in_") and estimator.n_features_in_ != n_features:
        raise ValueError(
            f"X has {n_features} features, but {type(estimator).__name__} is "
            f"expecting {estimator.n_features_in_} features as input.")


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
                copy: bool = False, ensure_all_finite=True, accept_gpu: bool = False):
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
        Accept complex input (dense, SciPy sparse or sparsela; kept complex64
        or complex128, other complex dtypes and a real ``dtype`` request give
        the complex counterpart); otherwise complex input raises
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

    accept_gpu : bool, default False
        Accept ``X`` on the GPU (a sparsela array on the GPU or a CuPy array),
        checked on the device and returned there; otherwise GPU input is a
        ``TypeError``.

    Returns
    -------
    ndarray or sparsela array
        The validated array: a NumPy array for dense input, a sparsela array
        in ``sparse_format`` for SciPy or sparsela input.

    Raises
    ------
    TypeError
        If sparse input is passed with ``accept_sparse=False``, or the input
        lives on the GPU (the estimators compute on the CPU).
    ValueError
        For non-finite values, complex values without ``allow_complex``,
        input of the wrong dimension, or too few samples or features.
    """
    if accept_gpu and _on_gpu(X) and not isinstance(X, SparseArray):
        return _check_dense_gpu(X, input_name or "X", dtype=dtype,
                                allow_complex=allow_complex,
                                ensure_min_samples=ensure_min_samples,
                                ensure_min_features=ensure_min_features, copy=copy,
                                ensure_2d=ensure_2d)
    if not accept_gpu:
        _reject_gpu(X, input_name)
    if allow_complex and _scipy_sparse(X) and _is_complex(X):
        X = asarray(X, format=sparse_format)   # sparsela checks complex data
    if isinstance(X, SparseArray):
        return _check_sparsela(
            X, input_name=input_name, accept_sparse=accept_sparse,
            sparse_format=sparse_format, dtype=dtype, allow_complex=allow_complex,
            ensure_min_samples=ensure_min_samples,
            ensure_min_features=ensure_min_features, copy=copy)
    if allow_complex and _is_complex(X):
        return _check_complex_dense(
            X, input_name=input_name, dtype=dtype, ensure_2d=ensure_2d,
            ensure_min_samples=ensure_min_samples,
            ensure_min_features=ensure_min_features, copy=copy,
            ensure_all_finite=ensure_all_finite)
    from sklearn.utils import check_array as sk_check_array

    Xc = sk_check_array(
        X, accept_sparse=[sparse_format] if accept_sparse else False,
        dtype=_sk_dtype(dtype, X, allow_complex), ensure_2d=ensure_2d,
        ensure_min_samples=ensure_min_samples,
        ensure_min_features=ensure_min_features, copy=copy,
        ensure_all_finite=ensure_all_finite, input_name=input_name)
    return asarray(Xc, format=sparse_format) if _scipy_sparse(Xc) else Xc


def _reject_gpu(X, input_name: str) -> None:
    """TypeError for GPU input: the estimators compute on the CPU (no silent transfer)."""
    if _on_gpu(X):
        raise TypeError(
            f"{input_name} lives on the GPU, but sparsela's estimators compute on the CPU in "
            f"this version; move it explicitly with {input_name}.get()")


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
                  ensure_min_features: int = 1, copy: bool = False,
                  accept_gpu: bool = False):
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
        Accept complex ``X`` (dense, SciPy sparse or sparsela; kept complex)
        and a complex ``y`` (complex128 or complex64), validated here with
        scikit-learn's rules since its own validators refuse complex data.
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
    accept_gpu : bool, default False
        Accept ``X`` (and ``y``) on the GPU: a sparsela array on the GPU or a
        CuPy array, validated on the device (no transfer) and returned on it;
        ``X`` and ``y`` must then be on the same device. Estimators that
        compute on the CPU only leave it False, and GPU input is a
        ``TypeError`` that says so.

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
    no_X = isinstance(X, str) and X == "no_validation"
    if accept_gpu and not no_X and _on_gpu(X):
        return _validate_gpu(
            estimator, X, y, no_y=no_y, reset=reset, accept_sparse=accept_sparse,
            sparse_format=sparse_format, dtype=dtype, allow_complex=allow_complex,
            multi_output=multi_output, ensure_min_samples=ensure_min_samples,
            ensure_min_features=ensure_min_features, copy=copy)
    if not no_X:
        _reject_gpu(X, "X")
    if not no_y and y is not None:
        _reject_gpu(y, "y")

    if allow_complex and _scipy_sparse(X) and _is_complex(X):
        X = asarray(X, format=sparse_format)   # sparsela checks complex data
    complex_y = allow_complex and not no_y and _is_complex(y)
    complex_X = allow_complex and not isinstance(X, SparseArray) and _is_complex(X)
    if complex_X or complex_y:
        return _validate_complex(
            estimator, X, y, no_y=no_y, complex_X=complex_X, reset=reset,
            accept_sparse=accept_sparse, sparse_format=sparse_format, dtype=dtype,
            multi_output=multi_output, y_numeric=y_numeric,
            ensure_min_samples=ensure_min_samples,
            ensure_min_features=ensure_min_features, copy=copy)
    if isinstance(X, SparseArray):
        Xv = check_array(
            X, accept_sparse=accept_sparse, sparse_format=sparse_format,
            dtype=dtype, allow_complex=allow_complex,
            ensure_min_samples=ensure_min_samples,
            ensure_min_features=ensure_min_features, copy=copy)
        _set_n_features(estimator, Xv.shape[1], reset)
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


def _on_gpu(X) -> bool:
    from .._device import device_of

    return device_of(X) == "gpu"


def _validate_gpu(estimator, X, y, *, no_y, reset, accept_sparse, sparse_format, dtype,
                  allow_complex, multi_output, ensure_min_samples, ensure_min_features,
                  copy):
    """:func:`validate_data` for ``X`` on the GPU: the same checks, on the device."""
    from .._device import mismatch, namespace_of

    if isinstance(X, SparseArray):
        Xv = check_array(
            X, accept_sparse=accept_sparse, sparse_format=sparse_format, dtype=dtype,
            allow_complex=allow_complex, ensure_min_samples=ensure_min_samples,
            ensure_min_features=ensure_min_features, copy=copy, accept_gpu=True)
    else:
        Xv = _check_dense_gpu(X, "X", dtype=dtype, allow_complex=allow_complex,
                              ensure_min_samples=ensure_min_samples,
                              ensure_min_features=ensure_min_features, copy=copy)
    _set_n_features(estimator, Xv.shape[1], reset)
    if no_y:
        return Xv
    if y is None:
        raise ValueError(f"{type(estimator).__name__} requires y to be passed, "
                         "but the target y is None.")
    if not _on_gpu(y):
        raise mismatch("X", "gpu", "y", "cpu")
    xp = namespace_of(y)
    if y.ndim == 2 and y.shape[1] == 1 and not multi_output:
        import warnings

        from sklearn.exceptions import DataConversionWarning

        warnings.warn("A column-vector y was passed when a 1d array was expected. Please "
                      "change the shape of y to (n_samples,), for example using ravel().",
                      DataConversionWarning, stacklevel=3)
        y = y.ravel()
    if y.ndim not in ((1, 2) if multi_output else (1,)):
        raise ValueError(f"y should be a 1d array, got an array of shape {y.shape} instead.")
    if y.dtype.kind not in "biufc" or (y.dtype.kind == "c" and not allow_complex):
        raise ValueError(f"y must be real numeric, got dtype {y.dtype}")
    if y.dtype.kind in "fc" and not bool(xp.isfinite(y).all()):
        raise ValueError("Input y contains NaN or infinity.")
    if y.shape[0] != Xv.shape[0]:
        raise ValueError("Found input variables with inconsistent numbers of samples: "
                         f"[{Xv.shape[0]}, {y.shape[0]}]")
    return Xv, y


def _check_dense_gpu(X, name, *, dtype, allow_complex, ensure_min_samples,
                     ensure_min_features, copy, ensure_2d=True):
    """A dense CuPy ``X`` checked as :func:`check_array` checks NumPy input."""
    from .._device import namespace_of

    xp = namespace_of(X)
    if ensure_2d and X.ndim != 2:
        raise ValueError(f"Expected 2D array for {name}, got {X.ndim}-D array of shape "
                         f"{X.shape}. Reshape your data.")
    if X.dtype.kind not in "biufc":
        raise ValueError(f"{name} must be numeric, got dtype {X.dtype}")
    if X.dtype.kind == "c" and not allow_complex:
        raise ValueError(f"Complex data not supported for {name}; got dtype {X.dtype}.")
    target = _target_dtype(dtype, X.dtype, allow_complex)
    if target is not None and target != X.dtype:
        X = X.astype(target)
    elif copy:
        X = X.copy()
    if X.dtype.kind in "fc" and X.size and not bool(xp.isfinite(X).all()):
        raise ValueError(f"Input {name} contains NaN or infinity.")
    if X.ndim == 2:
        n_samples, n_features = X.shape
        if n_samples < ensure_min_samples:
            raise ValueError(f"Found array with {n_samples} sample(s) (shape={X.shape}) "
                             f"while a minimum of {ensure_min_samples} is required.")
        if n_features < ensure_min_features:
            raise ValueError(f"Found array with {n_features} feature(s) (shape={X.shape}) "
                             f"while a minimum of {ensure_min_features} is required.")
    return X


def _validate_complex(estimator, X, y, *, no_y, complex_X, reset, accept_sparse,
                      sparse_format, dtype, multi_output, y_numeric,
                      ensure_min_samples, ensure_min_features, copy):
    """:func:`validate_data` when ``X`` (dense) or ``y`` is complex."""
    from sklearn.utils.validation import check_consistent_length

    if complex_X:
        Xv = _check_complex_dense(
            X, input_name="X", dtype=dtype, ensure_2d=True,
            ensure_min_samples=ensure_min_samples,
            ensure_min_features=ensure_min_features, copy=copy,
            ensure_all_finite=True)
        try:   # column names of a DataFrame, as scikit-learn records them
            from sklearn.utils.validation import _check_feature_names

            _check_feature_names(estimator, X, reset=reset)
        except ImportError:  # pragma: no cover - older scikit-learn
            pass
        n_features = Xv.shape[1]
        if reset:
            estimator.n_features_in_ = n_features
        else:
            _set_n_features(estimator, n_features, reset=False)
    else:
        # real X, complex y: X as usual
        Xv = validate_data(
            estimator, X, reset=reset, accept_sparse=accept_sparse,
            sparse_format=sparse_format, dtype=dtype, allow_complex=True,
            ensure_min_samples=ensure_min_samples,
            ensure_min_features=ensure_min_features, copy=copy)
    if no_y:
        return Xv
    if y is None or _is_complex(y):
        yv = _check_complex_y(y, multi_output=multi_output, estimator=estimator)
    else:
        from sklearn.utils.validation import _check_y

        yv = _check_y(y, multi_output=multi_output, y_numeric=y_numeric,
                      estimator=estimator)
    check_consistent_length(Xv, yv)
    return Xv, yv
