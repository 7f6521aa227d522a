"""sparsela.utils validation of complex input (``allow_complex=True``).

scikit-learn's validators refuse complex data; ``validate_data`` and
``check_array`` accept it when asked, with scikit-learn's rules (2-D,
finite, minimum sizes, ``n_features_in_``), and still refuse it by default
exactly as scikit-learn does.
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("sklearn")

from sklearn.base import BaseEstimator
from sklearn.exceptions import DataConversionWarning
from sklearn.utils import check_array as sk_check_array

import sparsela as sl
from sparsela.formats import SparseArray
from sparsela.utils import check_array, validate_data


class _Est(BaseEstimator):
    pass


def _cplx(n=4, p=3, seed=0, dtype=np.complex128):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, p)) + 1j * rng.standard_normal((n, p))).astype(dtype)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_complex_dense_kept_and_n_features(dtype):
    X = _cplx(dtype=dtype)
    est = _Est()
    Xv = validate_data(est, X, allow_complex=True)
    assert isinstance(Xv, np.ndarray) and Xv.dtype == dtype
    np.testing.assert_array_equal(Xv, X)
    assert est.n_features_in_ == 3
    # predict-time check of the width
    validate_data(est, _cplx(2, 3), reset=False, allow_complex=True)
    with pytest.raises(ValueError, match="X has 2 features, but _Est is expecting 3"):
        validate_data(est, _cplx(2, 2), reset=False, allow_complex=True)
    # a list of complex numbers and a real float request keep the imaginary part
    Xl = check_array(X.tolist(), allow_complex=True)
    assert np.iscomplexobj(Xl)
    np.testing.assert_allclose(Xl, X, rtol=1e-6)
    assert check_array(X, allow_complex=True, dtype=np.float64).dtype == dtype


def test_complex_input_not_modified_and_copy():
    X = _cplx()
    X0 = X.copy()
    Xv = check_array(X, allow_complex=True, copy=True)
    Xv[0, 0] = 0
    np.testing.assert_array_equal(X, X0)


@pytest.mark.parametrize("kind", ["scipy_csr", "scipy_coo", "sparsela_csr"])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_complex_sparse(kind, fmt):
    Xd = _cplx(6, 5)
    Xd[np.abs(Xd) < 1.0] = 0
    X = {"scipy_csr": lambda: sp.csr_array(Xd), "scipy_coo": lambda: sp.coo_matrix(Xd),
         "sparsela_csr": lambda: sl.csr_array(sp.csr_array(Xd))}[kind]()
    est = _Est()
    Xv = validate_data(est, X, allow_complex=True, sparse_format=fmt)
    assert isinstance(Xv, SparseArray) and Xv.format == fmt
    assert Xv.dtype == np.complex128 and est.n_features_in_ == 5
    np.testing.assert_array_equal(sp.csr_array((Xv.data, Xv.indices, Xv.indptr),
                                               shape=Xv.shape).toarray()
                                  if fmt == "csr" else
                                  sp.csc_array((Xv.data, Xv.indices, Xv.indptr),
                                               shape=Xv.shape).toarray(), Xd)
    with pytest.raises(TypeError, match="dense data is required"):
        validate_data(_Est(), X, allow_complex=True, accept_sparse=False)


@pytest.mark.parametrize("sparse", [False, True])
def test_complex_rejected_by_default_like_sklearn(sparse):
    X = _cplx()
    if sparse:
        X = sp.csr_array(X)
    with pytest.raises(ValueError, match="Complex data not supported"):
        sk_check_array(X, accept_sparse=True)
    with pytest.raises(ValueError, match="Complex data not supported"):
        validate_data(_Est(), X)
    with pytest.raises(ValueError, match="Complex data not supported"):
        check_array(X)


def test_complex_dense_errors():
    est = _Est()
    bad = _cplx()
    bad[1, 2] = np.nan + 1j
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        validate_data(est, bad, allow_complex=True)
    bad[1, 2] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        check_array(bad, allow_complex=True, ensure_all_finite="allow-nan")
    bad[1, 2] = np.nan
    assert np.isnan(check_array(bad, allow_complex=True, ensure_all_finite="allow-nan")).any()
    with pytest.raises(ValueError, match="Expected 2D array"):
        validate_data(est, np.array([1j, 2.0]), allow_complex=True)
    with pytest.raises(ValueError, match="Expected 2D array"):
        check_array(np.complex128(1j), allow_complex=True)
    assert check_array(np.array([1j, 2.0]), allow_complex=True, ensure_2d=False).shape == (2,)
    with pytest.raises(ValueError, match="dim 3"):
        check_array(np.zeros((2, 2, 2), complex), allow_complex=True)
    with pytest.raises(ValueError, match="0 sample"):
        validate_data(est, np.zeros((0, 3), complex), allow_complex=True)
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        validate_data(est, _cplx(1, 3), allow_complex=True, ensure_min_samples=2)
    with pytest.raises(ValueError, match="0 feature"):
        validate_data(est, np.zeros((3, 0), complex), allow_complex=True)


def test_complex_y():
    X = _cplx(5, 3)
    y = np.arange(5) * (1 + 1j)
    est = _Est()
    Xv, yv = validate_data(est, X, y, allow_complex=True)
    assert yv.dtype == np.complex128 and Xv.dtype == np.complex128
    # real X (dense or sparse), complex y
    Xv, yv = validate_data(est, X.real, y, allow_complex=True)
    assert Xv.dtype == np.float64 and yv.dtype == np.complex128
    Xv, yv = validate_data(est, sp.csr_array(X.real), y, allow_complex=True)
    assert isinstance(Xv, SparseArray) and yv.dtype == np.complex128
    # complex X, real y
    _, yv = validate_data(est, X, np.arange(5), allow_complex=True)
    assert yv.dtype.kind in "if"
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        validate_data(est, X, y[:4], allow_complex=True)
    with pytest.raises(ValueError, match="y contains NaN or infinity"):
        validate_data(est, X, np.where(np.arange(5) == 2, np.inf, y), allow_complex=True)
    with pytest.raises(ValueError, match="1d array"):
        validate_data(est, X, np.stack([y, y, y]).T, allow_complex=True)
    _, y2 = validate_data(est, X, np.stack([y, y]).T, allow_complex=True, multi_output=True)
    assert y2.shape == (5, 2)
    with pytest.warns(DataConversionWarning):
        _, y1 = validate_data(est, X, y[:, None], allow_complex=True)
    assert y1.shape == (5,)
    with pytest.raises(ValueError, match="requires y"):
        validate_data(est, X, None, allow_complex=True)
    with pytest.raises(ValueError, match="Complex data not supported"):
        validate_data(est, X.real, y)


def test_complex_dataframe_feature_names():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(_cplx(4, 2), columns=["a", "b"])
    est = _Est()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        Xv = validate_data(est, X, allow_complex=True)
    assert np.iscomplexobj(Xv)
    assert list(est.feature_names_in_) == ["a", "b"]
    with pytest.warns(UserWarning, match="feature names"):
        validate_data(est, X.to_numpy(), reset=False, allow_complex=True)
