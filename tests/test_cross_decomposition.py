"""sparsela.cross_decomposition: exact CCA family against scikit-learn and
cca-zoo, sparse input never densified, multiview fits, stochastic EY models,
and scikit-learn's estimator checks."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("sklearn")

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

import sparsela as sl
from sparsela.cross_decomposition import (
    CCA,
    MCCA,
    PLS,
    RidgeCCA,
    StochasticCCA,
    StochasticPLS,
)
from sparsela.cross_decomposition._base import captured_correlations
from sparsela.formats.csc import csc_array
from sparsela.formats.csr import csr_array

TOL = 1e-6


def _latent_views(n=400, dims=(30, 20), k=3, noise=1.0, seed=0):
    """Views sharing ``k`` latent factors (known canonical structure)."""
    rng = np.random.default_rng(seed)
    L = rng.standard_normal((n, k))
    return [L @ rng.standard_normal((k, p)) + noise * rng.standard_normal((n, p))
            for p in dims]


def _sparse_view(n, p, density=0.1, seed=0, shift=None):
    """A sparse view whose columns have nonzero means (centring matters)."""
    rng = np.random.default_rng(seed)
    A = sp.random_array((n, p), density=density, format="csr", rng=rng,
                        data_sampler=lambda size: rng.integers(1, 3, size).astype(float))
    return sp.csr_array(A)


def _zoo():
    return pytest.importorskip("cca_zoo.linear")


def _zoo_corr(model, views):
    return captured_correlations(model.transform(views))


@pytest.fixture
def no_densify(monkeypatch):
    """Make densifying an array of a given shape (a view) raise."""
    shapes = set()
    orig = {cls: cls.toarray for cls in (csr_array, csc_array)}

    def guard(cls):
        def toarray(self, *a, **k):
            if self.shape in shapes:
                raise AssertionError(f"a sparse view of shape {self.shape} was densified")
            return orig[cls](self, *a, **k)
        return toarray

    for cls in orig:
        monkeypatch.setattr(cls, "toarray", guard(cls))
        monkeypatch.setattr(cls, "todense", guard(cls))
    return shapes


# ---------------------------------------------------------------------------
# exact models against the references
# ---------------------------------------------------------------------------
def test_cca_matches_sklearn_and_cca_zoo():
    X, Y = _latent_views()
    from sklearn.cross_decomposition import CCA as SkCCA

    ours = CCA(n_components=3).fit(X, Y)
    sk = SkCCA(n_components=3, max_iter=10_000, tol=1e-14).fit(X, Y)
    zoo = _zoo().CCA(n_components=3).fit([X, Y])
    rho = ours.canonical_correlations_
    np.testing.assert_allclose(rho, captured_correlations(sk.transform(X, Y)), atol=TOL)
    np.testing.assert_allclose(rho, _zoo_corr(zoo, [X, Y]), atol=TOL)
    # the eigenvalues are the canonical correlations, and score is their sum
    np.testing.assert_allclose(ours.eigenvalues_, rho, atol=1e-10)
    assert ours.score(X, Y) == pytest.approx(rho.sum(), abs=1e-12)
    # scores are unit-variance and uncorrelated within a view (B-orthonormal)
    xs, ys = ours.transform(X, Y)
    np.testing.assert_allclose(np.cov(xs.T), np.eye(3), atol=1e-8)
    np.testing.assert_allclose(np.cov(ys.T), np.eye(3), atol=1e-8)


@pytest.mark.parametrize("c", [0.1, 0.5, 1.0])
def test_ridge_cca_matches_cca_zoo(c):
    X, Y = _latent_views(seed=1)
    ours = RidgeCCA(n_components=3, c=c).fit(X, Y)
    zoo = _zoo().RidgeCCA(n_components=3, shrinkage=c).fit([X, Y])
    np.testing.assert_allclose(ours.canonical_correlations_, _zoo_corr(zoo, [X, Y]),
                               atol=TOL)


def test_pls_is_ridge_c1_and_matches_cca_zoo_and_svd():
    X, Y = _latent_views(seed=2)
    ours = PLS(n_components=3).fit(X, Y)
    ridge = RidgeCCA(n_components=3, c=1.0).fit(X, Y)
    np.testing.assert_allclose(ours.x_weights_, ridge.x_weights_, atol=1e-10)
    zoo = _zoo().PLS(n_components=3).fit([X, Y])
    np.testing.assert_allclose(ours.canonical_correlations_, _zoo_corr(zoo, [X, Y]),
                               atol=TOL)
    Sxy = (X - X.mean(0)).T @ (Y - Y.mean(0)) / (len(X) - 1)
    np.testing.assert_allclose(ours.eigenvalues_, np.linalg.svd(Sxy)[1][:3], rtol=1e-10)
    np.testing.assert_allclose(np.linalg.norm(ours.x_weights_, axis=0), 1.0)


@pytest.mark.parametrize("c", [0.0, 0.1, [0.2, 0.5, 1.0]])
def test_mcca_three_views_matches_cca_zoo(c):
    views = _latent_views(dims=(15, 12, 10), seed=3)
    ours = MCCA(n_components=3, c=c).fit(views)
    zoo = _zoo().MCCA(n_components=3, shrinkage=c).fit(views)
    np.testing.assert_allclose(ours.canonical_correlations_, _zoo_corr(zoo, views),
                               atol=TOL)
    scores = ours.transform(views)
    assert isinstance(scores, list) and len(scores) == 3
    assert all(z.shape == (400, 3) for z in scores)
    assert ours.score(views) == pytest.approx(ours.canonical_correlations_.sum())
    assert ours.n_views_ == 3 and ours.n_features_per_view_ == [15, 12, 10]


def test_fit_list_of_two_views_equals_fit_x_y():
    X, Y = _latent_views(seed=4)
    a = CCA(n_components=2).fit(X, Y)
    b = CCA(n_components=2).fit([X, Y])
    np.testing.assert_allclose(a.x_weights_, b.x_weights_)
    xs, ys = a.transform(X, Y)
    zs = b.transform([X, Y])
    np.testing.assert_allclose(xs, zs[0])
    np.testing.assert_allclose(ys, zs[1])
    # a nested list of numbers is one X, not a list of views
    Xl = X[:, :3].tolist()
    np.testing.assert_allclose(CCA(n_components=1).fit(Xl, Y).x_weights_,
                               CCA(n_components=1).fit(X[:, :3], Y).x_weights_)


def test_wide_views_sample_space_solver_matches_cca_zoo():
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((60, 150)), rng.standard_normal((60, 120))
    ours = RidgeCCA(n_components=3, c=0.3).fit(X, Y)
    zoo = _zoo().RidgeCCA(n_components=3, shrinkage=0.3).fit([X, Y])
    np.testing.assert_allclose(ours.canonical_correlations_, _zoo_corr(zoo, [X, Y]),
                               atol=TOL)


@pytest.mark.parametrize("model", [RidgeCCA(n_components=3, c=0.3), PLS(n_components=3),
                                   MCCA(n_components=3, c=0.2)])
def test_iterative_solver_matches_direct(model):
    views = _latent_views(n=120, dims=(40, 30, 25)[:3 if isinstance(model, MCCA) else 2],
                          seed=6)
    if not isinstance(model, MCCA):
        views = views[:2]
    direct = model.set_params(solver="direct").fit(views)
    rho = direct.canonical_correlations_
    it = model.set_params(solver="iterative").fit(views)
    np.testing.assert_allclose(it.canonical_correlations_, rho, atol=TOL)
    np.testing.assert_allclose(it.eigenvalues_, direct.eigenvalues_, rtol=1e-8)
    assert np.all(it.n_iter_ >= 1)


# ---------------------------------------------------------------------------
# sparse input
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["scipy", "sparsela"])
@pytest.mark.parametrize("shape", [(300, 40), (50, 120)])  # feature / sample space
def test_sparse_equals_dense_without_densifying(kind, shape, no_densify):
    n, p = shape
    Xs = _sparse_view(n, p, seed=7)
    Xd = Xs.toarray()
    rng = np.random.default_rng(8)
    Y = Xd[:, :5] @ rng.standard_normal((5, 6)) + rng.standard_normal((n, 6))
    no_densify.update({(n, p), (p, n)})
    Xin = sl.csr_array(Xs) if kind == "sparsela" else Xs
    for model in (RidgeCCA(n_components=3, c=0.2), PLS(n_components=3)):
        a = model.fit(Xin, Y)
        xs_sparse = a.transform(Xin)
        rho_sparse = a.canonical_correlations_
        b = model.fit(Xd, Y)
        np.testing.assert_allclose(rho_sparse, b.canonical_correlations_, atol=TOL)
        np.testing.assert_allclose(np.abs(xs_sparse), np.abs(b.transform(Xd)), atol=1e-6)


def test_sparse_iterative_and_stochastic_never_densify(no_densify):
    n, p = 400, 600
    Xs = sl.csr_array(_sparse_view(n, p, density=0.05, seed=9))
    rng = np.random.default_rng(10)
    Y = np.asarray(Xs @ rng.standard_normal((p, 3))) + rng.standard_normal((n, 3))
    no_densify.update({(n, p), (p, n)})
    exact = PLS(n_components=2, solver="iterative").fit(Xs, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sto = StochasticPLS(n_components=2, batch_size=200, max_iter=200,
                            random_state=0).fit(Xs, Y)
    xs, ys = sto.transform(Xs, Y)
    sub = CCA(n_components=2).fit(xs, ys)
    assert sto.score(Xs, Y) > 0.98 * exact.score(Xs, Y)
    assert sub.canonical_correlations_.sum() > 0.98 * exact.canonical_correlations_.sum()


# ---------------------------------------------------------------------------
# stochastic models
# ---------------------------------------------------------------------------
def _known_structure(n=4000, p=30, q=20, seed=11):
    """Two views with canonical correlations about 0.9, 0.8, 0.6, unequal
    feature scales."""
    rng = np.random.default_rng(seed)
    L = rng.standard_normal((n, 3))
    X = L @ rng.standard_normal((3, p)) * 0.7 + rng.standard_normal((n, p)) * \
        rng.uniform(0.5, 3.0, p)
    Y = L @ (rng.standard_normal((3, q)) * [[1.0], [0.6], [0.4]]) + \
        rng.standard_normal((n, q))
    return X, Y


def _subspace_correlation(model, X, Y):
    """The paper's captured correlation: canonical correlations between the
    k-dimensional projections (rotation invariant)."""
    xs, ys = model.transform(X, Y)
    return CCA(n_components=xs.shape[1]).fit(xs, ys).canonical_correlations_.sum()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_stochastic_cca_captures_995_of_exact():
    X, Y = _known_structure()
    exact = CCA(n_components=3).fit(X, Y).canonical_correlations_.sum()
    model = StochasticCCA(n_components=3, random_state=0).fit(X, Y)
    assert model.canonical_correlations_.sum() >= 0.995 * exact
    assert _subspace_correlation(model, X, Y) >= 0.995 * exact
    assert model.n_iter_ >= 1
    assert np.all(np.diff(model.canonical_correlations_) <= 1e-3)  # ordered


def test_stochastic_multiview_and_ridge():
    views = _latent_views(n=3000, dims=(12, 10, 8), seed=12)
    exact = MCCA(n_components=2, c=0.1).fit(views).canonical_correlations_.sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = StochasticCCA(n_components=2, c=0.1, random_state=0).fit(views)
    assert model.canonical_correlations_.sum() >= 0.99 * exact
    assert len(model.transform(views)) == 3


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_stochastic_pls_matches_pls():
    X, Y = _known_structure(seed=13)
    exact = PLS(n_components=2).fit(X, Y)
    model = StochasticPLS(n_components=2, random_state=0).fit(X, Y)
    # same subspace: the weights span the top singular vectors
    for W, We in ((model.x_weights_, exact.x_weights_), (model.y_weights_, exact.y_weights_)):
        Q = np.linalg.qr(W)[0]
        cosines = np.linalg.svd(Q.T @ We, compute_uv=False)
        assert cosines.min() > 0.99


def test_partial_fit_streams_to_the_exact_answer():
    X, Y = _known_structure(seed=14)
    exact = CCA(n_components=3).fit(X, Y).canonical_correlations_.sum()
    # streaming keeps the step of its first calls for long: a smaller one
    model = StochasticCCA(n_components=3, batch_size=256, learning_rate=0.5,
                          random_state=0)
    for _ in range(8):
        for start in range(0, len(X), 1000):
            model.partial_fit(X[start:start + 1000], Y[start:start + 1000])
    assert model.n_samples_seen_ == 8 * len(X)
    np.testing.assert_allclose(model.x_mean_, X.mean(0), atol=1e-12)
    assert model.score(X, Y) >= 0.99 * exact
    assert _subspace_correlation(model, X, Y) >= 0.99 * exact
    # one partial_fit pass over the data is one epoch of fit
    one = StochasticCCA(n_components=3, random_state=0).partial_fit(X, Y)
    assert one.n_iter_ == 1 and one.n_samples_seen_ == len(X)
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :5], Y)


def test_convergence_warnings_and_verbose(capsys):
    X, Y = _known_structure(n=600, seed=15)
    with pytest.warns(ConvergenceWarning):
        StochasticCCA(n_components=2, max_iter=1, random_state=0).fit(X, Y)
    rng = np.random.default_rng(15)
    Xw, Yw = rng.standard_normal((300, 200)), rng.standard_normal((300, 150))
    with pytest.warns(ConvergenceWarning, match="eigsh"):
        RidgeCCA(n_components=5, c=0.5, solver="iterative", max_iter=1).fit(Xw, Yw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        StochasticCCA(n_components=2, max_iter=3, verbose=True, random_state=0).fit(X, Y)
    assert "StochasticCCA" in capsys.readouterr().err


def test_bad_input():
    X, Y = _latent_views(n=50, dims=(6, 4), seed=16)
    with pytest.raises(ValueError, match="requires y"):
        CCA().fit(X)
    with pytest.raises(ValueError, match="c must be in"):
        RidgeCCA(c=1.5).fit(X, Y)
    with pytest.raises(ValueError, match="c has 3 values"):
        RidgeCCA(c=[0.1, 0.2, 0.3]).fit(X, Y)
    with pytest.raises(ValueError, match="n_components=5"):
        CCA(n_components=5).fit(X, Y)
    with pytest.raises(ValueError, match="solver"):
        CCA(solver="nope").fit(X, Y)
    with pytest.raises(ValueError, match="learning_rate"):
        StochasticCCA(learning_rate=-1).fit(X, Y)
    with pytest.raises(ValueError):
        CCA(n_components=1).fit(X, Y[:-1])
    m = CCA(n_components=2).fit(X, Y)
    with pytest.raises(ValueError, match="features"):
        m.transform(X[:, :3])
    with pytest.raises(ValueError, match="two views"):
        m.score(X)


# ---------------------------------------------------------------------------
# scikit-learn's estimator checks
# ---------------------------------------------------------------------------
def _expected_failed(estimator):
    """scikit-learn runs its checks on its own cross-decomposition estimators
    with a 2-column ``y`` and tuple-aware comparisons, chosen by class name
    (``CCA``, ``PLSCanonical``, ...). Our ``transform(X, y)`` and
    ``fit_transform(X, y)`` return ``(x_scores, y_scores)`` as
    :class:`sklearn.cross_decomposition.CCA` does, which the generic
    transformer checks compare with ``transform(X)``'s array: sklearn's own
    PLS estimators would fail these two checks under any other name."""
    if type(estimator).__name__ == "CCA":
        return {}
    reason = ("fit_transform(X, y) returns (x_scores, y_scores) like "
              "sklearn.cross_decomposition; sklearn exempts its own by class name")
    return {"check_transformer_general": reason,
            "check_transformer_data_not_an_array": reason}


@parametrize_with_checks(
    [CCA(n_components=1), RidgeCCA(n_components=1, c=0.1), PLS(n_components=1),
     MCCA(n_components=1, c=0.1),
     StochasticCCA(n_components=1, max_iter=5, random_state=0),
     StochasticPLS(n_components=1, max_iter=5, random_state=0)],
    expected_failed_checks=_expected_failed,
)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
