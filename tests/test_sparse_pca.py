"""sparsela.decomposition.SparsePCA: truncated power method, GPower (l1, l0)
and Zou's SPCA.

References: Zou, Hastie & Tibshirani (2006), section 5.2 -- the synthetic
example with three hidden factors, whose sparse PCs (4 non-zeros each) are
variables 5-8 then 1-4 with 40.9 % and 39.5 % adjusted variance (Table 2),
against 60.0 % and 39.6 % for ordinary PCA; scikit-learn's PCA (a
non-sparse tpower fit must reproduce it) and scikit-learn's SparsePCA (equal
numbers of non-zeros per component, adjusted variance compared with the
same function).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("sklearn")
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.decomposition import PCA
from sklearn.decomposition import SparsePCA as SkSparsePCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import sparsela as sl
from sparsela.decomposition import SparsePCA
from sparsela.decomposition._sparse_pca import adjusted_variance

METHODS = ["tpower", "gpower_l1", "gpower_l0", "spca"]


# --------------------------------------------------------------------------- #
# data
# --------------------------------------------------------------------------- #
def zou_covariance() -> np.ndarray:
    """Exact covariance of Zou et al.'s example (section 5.2).

    V1 ~ N(0, 290), V2 ~ N(0, 300), V3 = -0.3 V1 + 0.925 V2 + e, e ~ N(0, 1);
    X_i = V1 + eps_i (i = 1..4), V2 + eps_i (5..8), V3 + eps_i (9, 10),
    eps_i ~ N(0, 1), all independent.
    """
    var3 = 0.3 ** 2 * 290 + 0.925 ** 2 * 300 + 1
    cov_v = np.array([[290.0, 0.0, -0.3 * 290],
                      [0.0, 300.0, 0.925 * 300],
                      [-0.3 * 290, 0.925 * 300, var3]])
    factor = np.array([0] * 4 + [1] * 4 + [2] * 2)
    return cov_v[np.ix_(factor, factor)] + np.eye(10)


def data_with_covariance(C: np.ndarray, n: int = 40, seed: int = 0) -> np.ndarray:
    """``n`` samples whose sample covariance (ddof=1) is exactly ``C`` (Zou et
    al. work with the exact covariance matrix, not a sample)."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, C.shape[0]))
    Z -= Z.mean(axis=0)
    Q, _ = np.linalg.qr(Z)  # orthonormal columns, each summing to zero
    w, V = np.linalg.eigh(C)
    return np.sqrt(n - 1) * Q @ (V * np.sqrt(w)) @ V.T + 5.0  # offset: centering matters


def zou_sample(n: int = 2000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v1 = rng.normal(0, np.sqrt(290), n)
    v2 = rng.normal(0, np.sqrt(300), n)
    v3 = -0.3 * v1 + 0.925 * v2 + rng.standard_normal(n)
    V = np.column_stack([v1] * 4 + [v2] * 4 + [v3] * 2)
    return V + rng.standard_normal((n, 10))


def sparse_problem(n=300, p=80, density=0.1, seed=0):
    """A SciPy CSR matrix with non-zero column means (centering matters)."""
    rng = np.random.default_rng(seed)
    X = sp.random_array((n, p), density=density, format="csr", rng=rng,
                        data_sampler=rng.standard_normal)
    X = X.tocsr()
    X.data += 1.0
    # a few correlated columns, so there is structure to find
    latent = rng.standard_normal(n)
    cols = np.zeros_like(X.toarray())
    cols[:, :4] = 2.0 * latent[:, None]
    return sp.csr_array(X + sp.csr_array(cols))


ZOU_SUPPORTS = [{4, 5, 6, 7}, {0, 1, 2, 3}]  # variables 5-8, then 1-4
#: Zou et al.'s penalties giving 4 non-zeros per component here
ZOU_PARAMS = {
    "tpower": {"sparsity": 4},
    "gpower_l1": {"alpha": 0.95},
    "gpower_l0": {"alpha": 0.9},
    "spca": {"alpha": 1.5},
}


def supports(est):
    return [set(np.flatnonzero(c)) for c in est.components_]


# --------------------------------------------------------------------------- #
# scikit-learn conformance
# --------------------------------------------------------------------------- #
# one configuration per solver family: truncated power, GPower (the l1 and l0
# penalties share its loop; test_zou_example_supports covers both), Zou's SPCA
@parametrize_with_checks([
    SparsePCA(),
    SparsePCA(method="gpower_l0", alpha=0.3),
    SparsePCA(method="spca"),
])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# --------------------------------------------------------------------------- #
# Zou et al.'s synthetic example
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kind", ["dense", "scipy", "sparsela"])
def test_zou_example_supports(method, kind):
    X = data_with_covariance(zou_covariance())
    if kind != "dense":
        X = sp.csr_array(X) if kind == "scipy" else sl.csr_array(sp.csr_array(X))
    est = SparsePCA(2, method=method, random_state=0, **ZOU_PARAMS[method]).fit(X)
    assert supports(est) == ZOU_SUPPORTS
    # the loadings are equal on each support (the variables are exchangeable);
    # spca's coordinate descent is slow along the nearly flat directions
    # between these nearly collinear variables
    rtol = 1e-3 if method == "spca" else 1e-6
    np.testing.assert_allclose(est.components_[0, 4:8], 0.5, rtol=rtol)
    np.testing.assert_allclose(est.components_[1, :4], 0.5, rtol=rtol)
    # Zou et al., Table 2: 40.9 % and 39.5 % adjusted variance
    np.testing.assert_allclose(est.explained_variance_ratio_, [0.409, 0.395], atol=6e-4)


def test_zou_example_pca_variance():
    """Without truncation the adjusted variances are PCA's: 60.0 %, 39.6 %."""
    est = SparsePCA(2, sparsity=10).fit(data_with_covariance(zou_covariance()))
    np.testing.assert_allclose(est.explained_variance_ratio_, [0.600, 0.396], atol=6e-4)


def test_zou_example_sampled():
    """A finite sample of the model (not the exact covariance) too."""
    est = SparsePCA(2, sparsity=4, random_state=0).fit(zou_sample())
    assert supports(est) == ZOU_SUPPORTS


def test_zou_simple_thresholding_is_worse():
    """Zou et al.'s point: thresholding the PCA loadings to 4 entries picks
    the wrong variables (9 and 10 enter PC1) and explains less."""
    X = data_with_covariance(zou_covariance())
    pca = PCA(1).fit(X)
    thr = np.where(np.abs(pca.components_[0]) >= np.sort(np.abs(pca.components_[0]))[-4],
                   pca.components_[0], 0.0)
    assert {8, 9} <= set(np.flatnonzero(thr))
    est = SparsePCA(1, sparsity=4).fit(X)
    assert adjusted_variance(X, thr[None])[0] < est.explained_variance_[0]


# --------------------------------------------------------------------------- #
# against scikit-learn
# --------------------------------------------------------------------------- #
def test_full_sparsity_is_pca():
    X = StandardScaler().fit_transform(load_wine().data)
    est = SparsePCA(4, sparsity=X.shape[1], tol=1e-12).fit(X)
    pca = PCA(4).fit(X)
    np.testing.assert_allclose(est.explained_variance_, pca.explained_variance_, rtol=1e-8)
    np.testing.assert_allclose(est.explained_variance_ratio_,
                               pca.explained_variance_ratio_, rtol=1e-8)
    np.testing.assert_allclose(np.abs(est.components_), np.abs(pca.components_), atol=1e-6)
    np.testing.assert_allclose(adjusted_variance(X, pca.components_),
                               pca.explained_variance_, rtol=1e-10)


@pytest.mark.parametrize("dataset, alpha", [("breast_cancer", 3.0), ("wine", 1.0)])
def test_adjusted_variance_at_least_sklearn(dataset, alpha):
    """At the numbers of non-zeros scikit-learn's SparsePCA finds, the truncated
    power method explains at least as much adjusted variance (both computed
    by ``adjusted_variance`` on the standardised data)."""
    data = load_breast_cancer() if dataset == "breast_cancer" else load_wine()
    X = StandardScaler().fit_transform(data.data)
    sk = SkSparsePCA(5, alpha=alpha, random_state=0).fit(X)
    nnz = np.count_nonzero(sk.components_, axis=1)
    assert nnz.min() >= 1
    ours = SparsePCA(5, sparsity=nnz, random_state=0).fit(X)
    np.testing.assert_array_equal(np.count_nonzero(ours.components_, axis=1), nnz)
    av_sk = adjusted_variance(X, sk.components_).sum()
    av_ours = adjusted_variance(X, ours.components_).sum()
    np.testing.assert_allclose(av_ours, ours.explained_variance_.sum(), rtol=1e-10)
    assert av_ours >= av_sk


def test_sklearn_rejects_sparse_but_we_accept():
    X = sparse_problem()
    with pytest.raises(TypeError):
        SkSparsePCA(2).fit(X)
    SparsePCA(2).fit(X)


# --------------------------------------------------------------------------- #
# sparse input
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("method", METHODS)
def test_sparse_input_matches_dense(method):
    Xs = sparse_problem()
    Xd = Xs.toarray()
    kw = {"tpower": {"sparsity": 5}, "spca": {"alpha": 0.3}}.get(method, {"alpha": 0.3})
    ref = SparsePCA(4, method=method, random_state=0, **kw).fit(Xd)
    for X in (Xs, sp.csc_matrix(Xs), sl.csr_array(Xs), sl.csc_array(sp.csc_array(Xs))):
        est = SparsePCA(4, method=method, random_state=0, **kw).fit(X)
        np.testing.assert_allclose(est.components_, ref.components_, atol=1e-10)
        np.testing.assert_allclose(est.explained_variance_, ref.explained_variance_,
                                   rtol=1e-10)
        np.testing.assert_allclose(est.transform(X), ref.transform(Xd), atol=1e-10)
        np.testing.assert_allclose(est.mean_, Xd.mean(axis=0), atol=1e-14)


@pytest.mark.parametrize("method", METHODS)
def test_wide_dense_matches_sparse(method):
    """Dense X with fewer samples than features runs the implicit operator."""
    Xs = sparse_problem(n=40, p=150, density=0.2, seed=3)
    kw = {"sparsity": 5} if method == "tpower" else {"alpha": 0.3}
    if method == "spca":
        kw["ridge_alpha"] = 0.01
    a = SparsePCA(3, method=method, random_state=0, **kw).fit(Xs.toarray())
    b = SparsePCA(3, method=method, random_state=0, **kw).fit(Xs)
    np.testing.assert_allclose(a.components_, b.components_, atol=1e-10)


@pytest.mark.parametrize("method", ["tpower", "gpower_l1", "gpower_l0"])
def test_sparse_input_is_never_densified(method, monkeypatch):
    X = sl.csr_array(sparse_problem(n=120, p=50))
    shape = X.shape

    def refuse(self, *args, **kwargs):
        if self.shape == shape or self.shape == shape[::-1]:
            raise AssertionError("the sparse input was densified")
        return original[type(self)](self, *args, **kwargs)

    original = {}
    for cls in (sl.csr_array, sl.csc_array, sl.coo_array):
        original[cls] = cls.toarray
        monkeypatch.setattr(cls, "toarray", refuse)
    est = SparsePCA(3, method=method, random_state=0).fit(X)
    est.transform(X)
    adjusted_variance(X, est.components_)


def test_spca_sparse_forms_only_the_gram(monkeypatch):
    """spca densifies the p x p covariance (X.T @ X by SpGEMM), never X."""
    X = sl.csr_array(sparse_problem(n=120, p=50))
    seen = []
    original = sl.csr_array.toarray

    def record(self, *args, **kwargs):
        seen.append(self.shape)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(sl.csr_array, "toarray", record)
    monkeypatch.setattr(sl.csc_array, "toarray", record)
    SparsePCA(3, method="spca", alpha=0.3).fit(X)
    assert seen and all(s == (50, 50) for s in seen)


# --------------------------------------------------------------------------- #
# the estimator's behaviour
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("method", METHODS)
def test_transform_is_projection(method):
    X = StandardScaler().fit_transform(load_wine().data) * 2.0 + 1.0
    est = SparsePCA(3, method=method, random_state=0).fit(X)
    Z = est.transform(X)
    np.testing.assert_allclose(Z, (X - X.mean(axis=0)) @ est.components_.T, atol=1e-12)
    np.testing.assert_allclose(est.fit_transform(X), Z, atol=1e-12)
    np.testing.assert_allclose(est.inverse_transform(Z),
                               Z @ est.components_ + X.mean(axis=0), atol=1e-12)
    assert est.components_.shape == (3, X.shape[1])
    assert est.n_components_ == 3
    np.testing.assert_allclose(np.linalg.norm(est.components_, axis=1), 1.0)
    # sign convention: the largest-magnitude loading is positive
    for c in est.components_:
        assert c[np.argmax(np.abs(c))] > 0
    assert isinstance(est.n_iter_, int) and est.n_iter_ >= 1
    assert list(est.get_feature_names_out()) == [f"sparsepca{i}" for i in range(3)]


def test_inverse_transform_exact_with_all_components():
    X = load_wine().data
    est = SparsePCA(sparsity=X.shape[1], tol=1e-12).fit(X)
    np.testing.assert_allclose(est.inverse_transform(est.transform(X)), X, atol=1e-6)


def test_sparsity_per_component():
    X = StandardScaler().fit_transform(load_breast_cancer().data)
    est = SparsePCA(4, sparsity=[2, 5, 3, 1]).fit(X)
    np.testing.assert_array_equal(np.count_nonzero(est.components_, axis=1), [2, 5, 3, 1])
    default = SparsePCA(2).fit(X)  # ceil(sqrt(30)) = 6
    np.testing.assert_array_equal(np.count_nonzero(default.components_, axis=1), [6, 6])


@pytest.mark.parametrize("method", ["gpower_l1", "gpower_l0", "spca"])
def test_alpha_controls_sparsity(method):
    X = StandardScaler().fit_transform(load_breast_cancer().data)
    alphas = [0.05, 0.3, 0.6] if method != "spca" else [0.05, 0.5, 2.0]
    nnz = [np.count_nonzero(SparsePCA(1, method=method, alpha=a, random_state=0)
                            .fit(X).components_) for a in alphas]
    assert nnz[0] > nnz[1] > nnz[2] >= 1


def test_deflation_is_greedy_adjusted_variance():
    """Schur complement deflation: each component's adjusted variance is the
    one the method maximised, so fitting k components one at a time by hand
    (regressing out the previous scores) gives the same components."""
    X = StandardScaler().fit_transform(load_breast_cancer().data)
    est = SparsePCA(3, sparsity=4, random_state=0).fit(X)
    Xc = X - X.mean(axis=0)
    R = Xc.copy()
    for j in range(3):
        one = SparsePCA(1, sparsity=4, random_state=0).fit(R)
        np.testing.assert_allclose(one.components_[0], est.components_[j], atol=1e-8)
        np.testing.assert_allclose(one.explained_variance_[0], est.explained_variance_[j],
                                   rtol=1e-8)
        z = R @ one.components_[0]
        R = R - np.outer(z, z @ R) / (z @ z)


def test_gpower_patterns_are_postprocessed():
    """GPower's loadings on a pattern are the leading eigenvector of the
    covariance restricted to it (Journee et al.'s post-processing)."""
    X = StandardScaler().fit_transform(load_breast_cancer().data)
    for method in ("gpower_l1", "gpower_l0"):
        c = SparsePCA(1, method=method, alpha=0.4).fit(X).components_[0]
        P = np.flatnonzero(c)
        S = np.cov(X[:, P].T).reshape(P.size, P.size)
        lead = np.linalg.eigh(S)[1][:, -1]
        np.testing.assert_allclose(np.abs(c[P]), np.abs(lead), atol=1e-8)


def test_more_components_than_rank():
    X = np.random.default_rng(0).standard_normal((3, 6))
    for method in METHODS:
        est = SparsePCA(method=method, random_state=0).fit(X)
        assert est.components_.shape == (6, 6)
        assert np.all(np.isfinite(est.components_))
        assert np.all(est.explained_variance_[2:] < 1e-10)


def test_constant_data():
    X = np.ones((5, 4))
    for method in METHODS:
        est = SparsePCA(2, method=method).fit(X)
        assert np.all(np.isfinite(est.components_))
        np.testing.assert_array_equal(est.explained_variance_, 0.0)
        np.testing.assert_array_equal(est.explained_variance_ratio_, 0.0)


def test_float32_input():
    X = StandardScaler().fit_transform(load_wine().data)
    a = SparsePCA(2, sparsity=3).fit(X.astype(np.float32))
    b = SparsePCA(2, sparsity=3).fit(X)
    np.testing.assert_allclose(a.components_, b.components_, atol=1e-5)
    Xs = sl.csr_array(sp.csr_array(X.astype(np.float32)))
    c = SparsePCA(2, sparsity=3).fit(Xs)
    np.testing.assert_allclose(c.components_, b.components_, atol=1e-5)


def test_random_state_reproducible():
    X = sparse_problem()
    a = SparsePCA(3, random_state=1).fit(X).components_
    b = SparsePCA(3, random_state=1).fit(X).components_
    np.testing.assert_array_equal(a, b)


def test_pipeline():
    X = load_wine().data
    pipe = make_pipeline(StandardScaler(), SparsePCA(2, sparsity=3)).fit(X)
    assert pipe.transform(X).shape == (X.shape[0], 2)


@pytest.mark.parametrize("method", METHODS)
def test_convergence_warning(method):
    X = StandardScaler().fit_transform(load_breast_cancer().data)
    kw = {"alpha": 0.01} if method != "tpower" else {}
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        SparsePCA(3, method=method, max_iter=1, tol=0.0, **kw).fit(X)


@pytest.mark.parametrize("method", ["tpower", "spca"])
def test_verbose_progress_bar(method, capsys):
    X = load_wine().data
    SparsePCA(2, method=method, verbose=True).fit(X)
    assert "SparsePCA" in capsys.readouterr().err
    SparsePCA(2, method=method).fit(X)
    assert capsys.readouterr().err == ""


def test_adjusted_variance_function():
    Xs = sparse_problem()
    Xd = Xs.toarray()
    V = np.random.default_rng(0).standard_normal((3, Xd.shape[1]))
    ref = adjusted_variance(Xd, V)
    np.testing.assert_allclose(adjusted_variance(Xs, V), ref, rtol=1e-10)
    np.testing.assert_allclose(adjusted_variance(Xd, 5 * V), ref, rtol=1e-10)  # scale-free
    Z = (Xd - Xd.mean(axis=0)) @ (V / np.linalg.norm(V, axis=1)[:, None]).T
    r = np.linalg.qr(Z, mode="r")
    np.testing.assert_allclose(ref, np.diag(r) ** 2 / (Xd.shape[0] - 1), rtol=1e-10)
    # a zero component explains nothing and does not disturb the others
    V0 = np.vstack([V[:1], np.zeros(Xd.shape[1]), V[1:]])
    out = adjusted_variance(Xd, V0)
    assert out[1] == 0.0
    np.testing.assert_allclose(out[[0, 2, 3]], ref, rtol=1e-10)
    with pytest.raises(ValueError, match="components"):
        adjusted_variance(Xd, V[:, :3])


@pytest.mark.parametrize("params, match", [
    ({"method": "pca"}, "method"),
    ({"n_components": 0}, "n_components"),
    ({"n_components": 100}, "n_components"),
    ({"alpha": 0.1}, "alpha must be None"),
    ({"sparsity": 0}, "sparsity"),
    ({"sparsity": 100}, "sparsity"),
    ({"n_components": 2, "sparsity": [1, 2, 3]}, "sparsity"),
    ({"sparsity": 1.5}, "sparsity"),
    ({"method": "gpower_l1", "sparsity": 3}, "sparsity must be None"),
    ({"method": "gpower_l0", "alpha": 1.0}, "alpha"),
    ({"method": "spca", "sparsity": 3}, "sparsity must be None"),
    ({"method": "spca", "alpha": -1.0}, "alpha"),
    ({"max_iter": 0}, "max_iter"),
    ({"tol": -1.0}, "tol"),
    ({"ridge_alpha": -1.0}, "ridge_alpha"),
])
def test_bad_parameters(params, match):
    X = load_wine().data
    with pytest.raises(ValueError, match=match):
        SparsePCA(**params).fit(X)


def test_bad_inverse_transform_shape():
    est = SparsePCA(2, sparsity=3).fit(load_wine().data)
    with pytest.raises(ValueError, match="components"):
        est.inverse_transform(np.zeros((4, 3)))
