"""sparsela.decomposition sparse coding: sparse_encode, SparseCoder,
DictionaryLearning, MiniBatchDictionaryLearning and the fast approximator.

The codes are checked against scikit-learn's ``lasso_cd`` (same objective),
against an independent duality-gap computation, across dense / SciPy /
sparsela inputs (sparse input must never be densified), and the estimators
against ``parametrize_with_checks``.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("sklearn", reason="the estimators need scikit-learn (pip install -e '.[sklearn]')")

from sklearn import decomposition as skd
from sklearn.base import clone
from sklearn.datasets import make_sparse_coded_signal
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.estimator_checks import (
    estimator_checks_generator,
    parametrize_with_checks,
)

import sparsela as sl
from sparsela.decomposition import (
    DictionaryLearning,
    MiniBatchDictionaryLearning,
    SparseCoder,
    sparse_encode,
)
from sparsela.decomposition import _sparse_coding as sc_mod


def _signals(n=200, k=64, p=32, nnz=4, seed=0):
    X, D, _ = make_sparse_coded_signal(n_samples=n, n_components=k, n_features=p,
                                       n_nonzero_coefs=nnz, random_state=seed)
    return X, D


def _sparsify(X, thr=0.4):
    """A sparse version of X (small entries dropped)."""
    return np.where(np.abs(X) > thr, X, 0.0)


def _sk_codes(X, D, alpha, positive=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return skd.sparse_encode(X, D, algorithm="lasso_cd", alpha=alpha, positive=positive)


def _gap(X, D, Z, alpha, positive=False):
    """Duality gap of 0.5||x - zD||^2 + alpha||z||_1 per row, from scratch."""
    R = X - Z @ D
    corr = R @ D.T
    dn = (corr.max(axis=1) if positive else np.abs(corr).max(axis=1))
    s = np.minimum(1.0, alpha / np.maximum(dn, 1e-300))
    theta = s[:, None] * R
    primal = 0.5 * (R * R).sum(1) + alpha * np.abs(Z).sum(1)
    dual = (X * theta).sum(1) - 0.5 * (theta * theta).sum(1)
    return primal - dual


@pytest.fixture
def no_densify(monkeypatch):
    """Fail if a sparsela array with more than one row is densified."""
    from sparsela.formats._base import SparseArray

    def classes(cls):
        yield cls
        for sub in cls.__subclasses__():
            yield from classes(sub)

    def guard(cls, name):
        orig = cls.__dict__[name]

        def wrapped(self, *a, **k):
            if self.shape[0] > 1:
                raise AssertionError(f"sparse input densified ({name} on {self.shape})")
            return orig(self, *a, **k)
        monkeypatch.setattr(cls, name, wrapped)

    for cls in set(classes(SparseArray)):
        for name in ("toarray", "todense"):
            if name in cls.__dict__:
                guard(cls, name)
    yield


def test_no_densify_guard_works(no_densify):
    with pytest.raises(AssertionError, match="densified"):
        sl.csr_array(sp.eye_array(3, format="csr")).toarray()


# --------------------------------------------------------------------------- #
# sparse_encode: agreement with scikit-learn's lasso_cd
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("engine", ["kernel", "batch"])
@pytest.mark.parametrize("alpha,positive", [(0.1, False), (1.0, False), (0.5, True)])
@pytest.mark.parametrize("seed", [0, 1])
def test_codes_match_sklearn_lasso_cd(engine, alpha, positive, seed, monkeypatch):
    X, D = _signals(seed=seed)
    if engine == "batch":
        monkeypatch.setattr(sc_mod, "_kernel_module", lambda: None)
    Z = sparse_encode(X, D, alpha=alpha, positive=positive)
    Zsk = _sk_codes(X, D, alpha, positive)
    assert np.abs(Z - Zsk).max() <= 1e-4
    if positive:
        assert Z.min() >= 0.0


@pytest.mark.parametrize("shape", [(128, 64, 5), (256, 64, 8), (100, 50, 5)])
def test_codes_match_sklearn_larger_dictionaries(shape):
    k, p, nnz = shape
    X, D = _signals(n=300, k=k, p=p, nnz=nnz, seed=3)
    for alpha in (0.1, 1.0):
        assert np.abs(sparse_encode(X, D, alpha=alpha) - _sk_codes(X, D, alpha)).max() <= 1e-4


@pytest.mark.parametrize("algorithm", ["fista", "ista"])
@pytest.mark.parametrize("engine", ["kernel", "batch"])
def test_duality_gap_certificate(algorithm, engine, monkeypatch):
    """The returned codes meet gap <= tol * ||x||^2 by an independent computation."""
    X, D = _signals(n=80, seed=4)
    if engine == "batch":
        monkeypatch.setattr(sc_mod, "_kernel_module", lambda: None)
    for tol in (1e-6, 1e-10):
        Z = sparse_encode(X, D, alpha=0.2, algorithm=algorithm, tol=tol, max_iter=20000)
        gap = _gap(X, D, Z, 0.2)
        assert np.all(gap <= tol * (X * X).sum(1) * 1.01 + 1e-12)


def test_engines_agree():
    X, D = _signals(n=100, k=48, p=24, seed=5)
    C, G, xx = sc_mod._cross(X, D), sc_mod._gram(D), sc_mod._row_sq_norms(X)
    L = sc_mod._lipschitz(D, G)
    Zk, _, gk = sc_mod._lasso_codes(C, G, xx, 0.3, L=L, engine="kernel")
    Zb, _, gb = sc_mod._lasso_codes(C, G, xx, 0.3, L=L, engine="batch")
    assert np.abs(Zk - Zb).max() <= 1e-5
    assert np.all(gk <= 1e-12 * xx + 1e-15) and np.all(gb <= 1e-12 * xx + 1e-15)


def test_lipschitz_bounds_spectral_norm():
    rng = np.random.default_rng(0)
    # includes a clustered top spectrum (random unit atoms, k << p), a dominant
    # diagonal (40 x 2000: one Gram-Schmidt pass of Lanczos is not enough
    # there) and a rank-one-dominated Gram matrix (mean 1)
    for shape, mean in [((64, 32), 0), ((10, 50), 0), ((1, 5), 0), ((30, 30), 0),
                        ((128, 1500), 0), ((40, 2000), 0), ((50, 20), 1.0),
                        ((3, 1), 0), ((200, 60), 0)]:
        D = rng.standard_normal(shape) + mean
        D /= np.linalg.norm(D, axis=1, keepdims=True)
        G = sc_mod._gram(D)
        lam = np.linalg.eigvalsh(G)[-1]
        L = sc_mod._lipschitz(D, G)
        assert lam <= L <= 1.02 * lam + 1e-12


def test_scaling_matches_sklearn_alpha_convention():
    """sklearn divides alpha by n_features inside lasso_cd; the codes are those of
    0.5||x - zD||^2 + alpha ||z||_1 (not alpha / n_features)."""
    X, D = _signals(n=30, seed=6)
    Z = sparse_encode(X, D, alpha=0.7)
    # optimality: |D r| <= alpha, with equality (and the sign of z) on the support
    corr = (X - Z @ D) @ D.T
    assert np.all(np.abs(corr) <= 0.7 + 1e-6)
    on = Z != 0
    np.testing.assert_allclose(corr[on], 0.7 * np.sign(Z[on]), atol=1e-6)


# --------------------------------------------------------------------------- #
# input kinds, dtypes, edge cases
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("kind", ["scipy_csr", "scipy_csc", "scipy_coo_matrix", "sparsela_csr",
                                  "sparsela_csc"])
@pytest.mark.parametrize("engine", ["kernel", "batch"])
def test_sparse_input_not_densified(kind, engine, no_densify, monkeypatch):
    X, D = _signals(n=120, seed=7)
    Xd = _sparsify(X)
    S = {"scipy_csr": lambda: sp.csr_array(Xd), "scipy_csc": lambda: sp.csc_array(Xd),
         "scipy_coo_matrix": lambda: sp.coo_matrix(Xd),
         "sparsela_csr": lambda: sl.csr_array(sp.csr_array(Xd)),
         "sparsela_csc": lambda: sl.csc_array(sp.csc_array(Xd))}[kind]()
    if engine == "batch":
        monkeypatch.setattr(sc_mod, "_kernel_module", lambda: None)
    Zs = sparse_encode(S, D, alpha=0.2)
    monkeypatch.undo()
    Zd = sparse_encode(Xd, D, alpha=0.2)
    assert np.abs(Zs - Zd).max() <= 1e-6


@pytest.mark.parametrize("positive", [False, True])
def test_sparse_signals_incoherent_atoms_match_sklearn(positive):
    """Sparse X against random atoms (the benchmark's sparse case, small): the
    kernel's first working set is the atoms near or above alpha, and the codes
    are still scikit-learn's."""
    rng = np.random.default_rng(11)
    S = sp.random_array((150, 600), density=0.02, format="csr", rng=rng,
                        data_sampler=rng.standard_normal)
    D = rng.standard_normal((96, 600))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    alpha = 0.6 * float(np.abs(S @ D.T).max(axis=1).mean())
    Z = sparse_encode(sl.csr_array(S), D, alpha=alpha, positive=positive)
    Zsk = _sk_codes(S.toarray(), D, alpha, positive)
    assert np.abs(Z - Zsk).max() <= 1e-4
    assert np.all(_gap(S.toarray(), D, Z, alpha, positive) <= 1e-10 * (S.multiply(S)).sum(1) + 1e-14)


def test_float32_preserved_and_int_cast():
    X, D = _signals(n=40, seed=8)
    Z32 = sparse_encode(X.astype(np.float32), D.astype(np.float32), alpha=0.2)
    assert Z32.dtype == np.float32
    Z64 = sparse_encode(X, D, alpha=0.2)
    assert np.abs(Z32 - Z64).max() <= 1e-4
    Zi = sparse_encode(np.round(X * 10).astype(np.int64), D, alpha=1.0)
    assert Zi.dtype == np.float64
    S32 = sp.csr_array(_sparsify(X).astype(np.float32))
    assert sparse_encode(S32, D, alpha=0.2).dtype == np.float32


def test_edge_cases():
    X, D = _signals(n=10, seed=9)
    # zero signals code to zero
    Z = sparse_encode(np.zeros((3, D.shape[1])), D, alpha=0.1)
    assert np.all(Z == 0)
    # alpha above ||D x||_inf gives zero codes
    big = np.abs(X @ D.T).max() * 1.01
    assert np.all(sparse_encode(X, D, alpha=big) == 0)
    # one atom, one signal; alpha = 0 on an underdetermined problem fits exactly
    Z1 = sparse_encode(X[:1], D[:1], alpha=0.0)
    np.testing.assert_allclose(Z1[0, 0], X[0] @ D[0] / (D[0] @ D[0]), rtol=1e-8)
    Dover = np.random.default_rng(0).standard_normal((40, 10))
    Xs = np.random.default_rng(1).standard_normal((5, 10))
    Z0 = sparse_encode(Xs, Dover, alpha=0.0, max_iter=5000, tol=1e-14)
    np.testing.assert_allclose(Z0 @ Dover, Xs, atol=1e-5)


def test_warm_start_init():
    X, D = _signals(n=60, seed=10)
    Z, n1 = sparse_encode(X, D, alpha=0.2, return_n_iter=True)
    Z2, n2 = sparse_encode(X, D, alpha=0.2, init=Z, return_n_iter=True)
    assert n2 <= 1 < n1
    assert np.abs(Z - Z2).max() <= 1e-8


def test_convergence_warning():
    X, D = _signals(n=20, seed=11)
    with pytest.warns(ConvergenceWarning, match="did not reach the duality-gap"):
        sparse_encode(X, D, alpha=0.05, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        sparse_encode(X, D, alpha=0.05)


@pytest.mark.parametrize("engine", ["kernel", "batch"])
def test_verbose_progress_bar(engine, capfd, monkeypatch):
    X, D = _signals(n=300, seed=12)
    if engine == "batch":
        monkeypatch.setattr(sc_mod, "_kernel_module", lambda: None)
    Zv = sparse_encode(X, D, alpha=0.2, verbose=True)
    err = capfd.readouterr().err
    assert "sparse_encode" in err
    monkeypatch.undo()
    assert np.abs(Zv - sparse_encode(X, D, alpha=0.2)).max() <= 1e-6


def test_bad_parameters():
    X, D = _signals(n=5, seed=13)
    with pytest.raises(ValueError, match="algorithm"):
        sparse_encode(X, D, algorithm="lasso_cd")
    with pytest.raises(ValueError, match="alpha"):
        sparse_encode(X, D, alpha=-1.0)
    with pytest.raises(ValueError, match="max_iter"):
        sparse_encode(X, D, max_iter=-1)
    with pytest.raises(ValueError, match="different numbers of features"):
        sparse_encode(X[:, :-1], D)
    with pytest.raises(ValueError, match="init"):
        sparse_encode(X, D, init=np.zeros((5, 3)))
    with pytest.raises(ValueError, match="NaN|infinity"):
        sparse_encode(np.full_like(X, np.nan), D)
    with pytest.raises(TypeError, match="dense"):
        sparse_encode(X, sp.csr_array(D))
    with pytest.raises(ValueError, match="transform_algorithm"):
        SparseCoder(D, transform_algorithm="omp").transform(X)


# --------------------------------------------------------------------------- #
# SparseCoder
# --------------------------------------------------------------------------- #
def test_sparse_coder_matches_sklearn_and_is_stateless():
    X, D = _signals(n=50, seed=14)
    coder = SparseCoder(D, transform_alpha=0.3)
    Z = coder.transform(X)                       # no fit needed
    ref = skd.SparseCoder(D, transform_algorithm="lasso_cd", transform_alpha=0.3)
    assert np.abs(Z - ref.transform(X)).max() <= 1e-4
    coder.fit(X)
    assert coder.n_components_ == D.shape[0]
    assert coder.n_features_in_ == D.shape[1]
    assert coder.components_ is not None and np.array_equal(coder.components_, D)
    assert not hasattr(coder, "n_iter_") and not hasattr(coder, "predictor_coef_")
    np.testing.assert_array_equal(coder.transform(X), Z)
    # inverse_transform reconstructs from the codes
    np.testing.assert_allclose(coder.inverse_transform(Z), Z @ D)


@pytest.mark.parametrize("positive", [False, True])
def test_split_sign_as_sklearn(positive):
    X, D = _signals(n=30, seed=15)
    mine = SparseCoder(D, transform_alpha=0.3, split_sign=True, positive_code=positive)
    ref = skd.SparseCoder(D, transform_algorithm="lasso_cd", transform_alpha=0.3,
                          split_sign=True, positive_code=positive)
    Zm = mine.fit_transform(X)
    assert Zm.shape == (30, 2 * D.shape[0])
    assert np.abs(Zm - ref.fit_transform(X)).max() <= 1e-4
    np.testing.assert_allclose(mine.inverse_transform(Zm),
                               sparse_encode(X, D, alpha=0.3, positive=positive) @ D,
                               atol=1e-10)
    assert len(mine.get_feature_names_out()) == Zm.shape[1]
    with pytest.raises(ValueError, match="number of components"):
        mine.inverse_transform(Zm[:, :-1])


def test_sparse_coder_feature_mismatch():
    X, D = _signals(n=10, seed=16)
    with pytest.raises(ValueError, match="different numbers of features"):
        SparseCoder(D).fit(X[:, :5])
    coder = SparseCoder(D).fit(X)
    with pytest.raises(ValueError, match="features"):
        coder.transform(X[:, :5])


# --------------------------------------------------------------------------- #
# the fast approximator
# --------------------------------------------------------------------------- #
def _rel(A, B):
    return np.linalg.norm(A - B) / np.linalg.norm(B)


@pytest.mark.parametrize("sparse", [False, True])
def test_fast_predictor_approximates_codes(sparse):
    # an undercomplete dictionary: codes a one-layer encoder can predict well
    X, D = _signals(n=1500, k=24, p=48, nnz=3, seed=17)
    Xtr, Xte = X[:1200], X[1200:]
    if sparse:
        Xtr, Xte = sp.csr_array(_sparsify(Xtr, 0.05)), sp.csr_array(_sparsify(Xte, 0.05))
    coder = SparseCoder(D, transform_alpha=0.2, fit_predictor=True, random_state=0).fit(Xtr)
    Z = coder.transform(Xte)
    Zf = coder.transform(Xte, fast=True)
    assert Zf.shape == Z.shape
    assert _rel(Zf, Z) < 0.4                    # zero codes would give 1
    assert coder.predictor_coef_.shape == D.shape
    assert coder.predictor_n_iter_ >= 1 and coder.n_iter_ >= 1
    # overcomplete: harder, still clearly better than zero
    X, D = _signals(n=1500, k=64, p=32, nnz=4, seed=18)
    coder = SparseCoder(D, transform_alpha=0.2, fit_predictor=True, random_state=0).fit(X[:1200])
    assert _rel(coder.transform(X[1200:], fast=True), coder.transform(X[1200:])) < 0.85


def test_fast_predictor_training_improves_and_is_reproducible(monkeypatch):
    # start from the dictionary (as for n_features too large for least squares)
    monkeypatch.setattr(sc_mod, "_LINEAR_INIT_MAX_FEATURES", 0)
    X, D = _signals(n=1000, k=24, p=48, nnz=3, seed=19)
    a = SparseCoder(D, transform_alpha=0.2, fit_predictor=True, random_state=3,
                    predictor_learning_rate=0.01).fit(X)
    b = SparseCoder(D, transform_alpha=0.2, fit_predictor=True, random_state=3,
                    predictor_learning_rate=0.01).fit(X)
    np.testing.assert_array_equal(a.predictor_coef_, b.predictor_coef_)
    st = sc_mod._predictor_init(X, a.transform(X), D, sc_mod._cross(X, D),
                                sc_mod._row_sq_norms(X))
    start = sc_mod._predictor_loss(X, a.transform(X), st, 256) * st["sz"] ** 2
    assert a.predictor_loss_ < 0.5 * start
    assert _rel(a.transform(X, fast=True), a.transform(X)) < 0.6


def test_fast_without_predictor_raises():
    X, D = _signals(n=20, seed=20)
    with pytest.raises(NotFittedError, match="fit_predictor=True"):
        SparseCoder(D).fit(X).transform(X, fast=True)
    with pytest.raises(NotFittedError, match="fit_predictor=True"):
        SparseCoder(D).transform(X, fast=True)
    dl = DictionaryLearning(n_components=8, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dl.fit(X)
    with pytest.raises(NotFittedError, match="fit_predictor=True"):
        dl.transform(X, fast=True)
    # refitting without the predictor drops it
    coder = SparseCoder(D, fit_predictor=True, predictor_max_iter=2).fit(X)
    assert hasattr(coder, "predictor_coef_")
    coder.set_params(fit_predictor=False).fit(X)
    assert not hasattr(coder, "predictor_coef_")


def test_fast_split_sign_and_positive():
    X, D = _signals(n=300, k=24, p=48, nnz=3, seed=21)
    coder = SparseCoder(D, transform_alpha=0.2, fit_predictor=True, positive_code=True,
                        split_sign=True, random_state=0).fit(X)
    Zf = coder.transform(X, fast=True)
    assert Zf.shape == (300, 48) and Zf.min() >= 0 and np.all(Zf[:, 24:] == 0)


# --------------------------------------------------------------------------- #
# DictionaryLearning
# --------------------------------------------------------------------------- #
def test_dictionary_learning_follows_sklearn():
    """Same initialisation and dictionary update as sklearn's cd version: the
    objective after each alternation agrees."""
    X, _ = _signals(n=150, k=20, p=12, nnz=3, seed=22)
    kw = {"n_components": 20, "alpha": 0.5, "max_iter": 15, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = skd.DictionaryLearning(fit_algorithm="cd", transform_algorithm="lasso_cd", **kw).fit(X)
        mine = DictionaryLearning(**kw).fit(X)
    np.testing.assert_allclose(mine.error_[:5], ref.error_[:5], rtol=1e-5)
    assert mine.error_[-1] <= ref.error_[-1] * (1 + 1e-4)
    assert mine.components_.shape == (20, 12)
    assert np.all(np.linalg.norm(mine.components_, axis=1) <= 1 + 1e-12)
    assert mine.n_iter_ == len(mine.error_)
    assert np.all(np.diff(mine.error_) <= 1e-9 * mine.error_[0])


def test_dictionary_learning_sparse_input(no_densify):
    X, _ = _signals(n=120, k=16, p=20, nnz=3, seed=23)
    Xd = _sparsify(X)
    rng = np.random.default_rng(0)
    D0 = rng.standard_normal((16, 20))
    Z0 = np.zeros((120, 16))
    kw = {"n_components": 16, "alpha": 0.3, "max_iter": 10, "dict_init": D0,
          "code_init": Z0, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = DictionaryLearning(**kw).fit(sl.csr_array(sp.csr_array(Xd)))
        b = DictionaryLearning(**kw).fit(sp.csc_array(Xd))
        code_s = a.transform(sp.csr_array(Xd))
        # from the randomized SVD (sparse input) too
        DictionaryLearning(n_components=8, max_iter=3, random_state=0).fit(sp.csr_array(Xd))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        c = DictionaryLearning(**kw).fit(Xd)
    np.testing.assert_allclose(a.components_, c.components_, atol=1e-6)
    np.testing.assert_allclose(b.components_, c.components_, atol=1e-6)
    np.testing.assert_allclose(a.error_, c.error_, rtol=1e-8)
    assert np.abs(code_s - c.transform(Xd)).max() <= 1e-6


def test_dictionary_learning_fit_transform_and_inverse():
    X, _ = _signals(n=80, k=10, p=8, nnz=2, seed=24)
    dl = DictionaryLearning(n_components=10, alpha=0.2, random_state=0)
    Z = dl.fit_transform(X)
    np.testing.assert_allclose(Z, dl.transform(X), atol=1e-10)
    np.testing.assert_allclose(dl.inverse_transform(Z), Z @ dl.components_)
    assert dl.n_iter_ >= 1


def test_dictionary_learning_warm_start_and_convergence_warning():
    X, _ = _signals(n=80, k=10, p=8, nnz=2, seed=25)
    dl = DictionaryLearning(n_components=10, alpha=0.2, max_iter=3, random_state=0,
                            warm_start=True)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        dl.fit(X)
    first = list(dl.error_)
    with pytest.warns(ConvergenceWarning):
        dl.fit(X)
    assert dl.error_[0] <= first[-1] * (1 + 1e-12)


def test_dictionary_learning_positive_and_callback_and_verbose(capfd):
    X, _ = _signals(n=60, k=10, p=8, nnz=2, seed=26)
    X = np.abs(X)
    seen = []
    dl = DictionaryLearning(n_components=6, alpha=0.1, max_iter=12, positive_code=True,
                            positive_dict=True, random_state=0, verbose=True,
                            callback=lambda loc: seen.append(loc["ii"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        Z = dl.fit_transform(X)
    assert Z.min() >= 0 and dl.components_.min() >= 0
    assert seen and seen[0] == 0
    assert "DictionaryLearning" in capfd.readouterr().err


def test_dictionary_learning_fast_predictor():
    X, _ = _signals(n=900, k=24, p=48, nnz=3, seed=27)
    dl = DictionaryLearning(n_components=24, alpha=0.2, max_iter=30, random_state=0,
                            fit_predictor=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dl.fit(X[:700])
    Z = dl.transform(X[700:])
    assert _rel(dl.transform(X[700:], fast=True), Z) < 0.5


# --------------------------------------------------------------------------- #
# MiniBatchDictionaryLearning
# --------------------------------------------------------------------------- #
def test_minibatch_dictionary_learning_fit():
    X, _ = _signals(n=400, k=20, p=12, nnz=3, seed=28)
    mb = MiniBatchDictionaryLearning(n_components=20, alpha=0.3, batch_size=32,
                                     random_state=0, max_iter=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mb.fit(X)
    assert mb.components_.shape == (20, 12)
    assert mb.n_steps_ >= 1 and mb.n_iter_ == int(np.ceil(mb.n_steps_ / 13))
    Z = mb.transform(X)
    ref = skd.MiniBatchDictionaryLearning(n_components=20, alpha=0.3, batch_size=32,
                                          random_state=0, max_iter=20, fit_algorithm="cd",
                                          transform_algorithm="lasso_cd").fit(X)
    obj = 0.5 * ((X - Z @ mb.components_) ** 2).sum() + 0.3 * np.abs(Z).sum()
    Zr = ref.transform(X)
    obj_ref = 0.5 * ((X - Zr @ ref.components_) ** 2).sum() + 0.3 * np.abs(Zr).sum()
    assert obj <= 1.1 * obj_ref


def test_minibatch_partial_fit_streams_sparse(no_densify):
    X, _ = _signals(n=256, k=16, p=20, nnz=3, seed=29)
    Xd = _sparsify(X)
    D0 = np.random.default_rng(1).standard_normal((16, 20))
    kw = {"n_components": 16, "alpha": 0.3, "dict_init": D0, "random_state": 0}
    a = MiniBatchDictionaryLearning(**kw)
    b = MiniBatchDictionaryLearning(**kw)
    for s in range(0, 256, 32):
        a.partial_fit(sl.csr_array(sp.csr_array(Xd[s:s + 32])))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for s in range(0, 256, 32):
            b.partial_fit(Xd[s:s + 32])
    assert a.n_steps_ == 8
    np.testing.assert_allclose(a.components_, b.components_, atol=1e-8)
    # fit with shuffle=False walks the same batches
    c = MiniBatchDictionaryLearning(batch_size=32, shuffle=False, max_iter=1, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        c.fit(sp.csr_array(Xd))
    np.testing.assert_allclose(c.components_, b.components_, atol=1e-8)


def test_minibatch_partial_fit_predictor():
    X, _ = _signals(n=600, k=12, p=24, nnz=2, seed=30)
    mb = MiniBatchDictionaryLearning(n_components=12, alpha=0.2, random_state=0,
                                     fit_predictor=True)
    for s in range(0, 600, 100):
        mb.partial_fit(X[s:s + 100])
    assert mb.predictor_n_iter_ >= 6
    Zf = mb.transform(X, fast=True)
    assert _rel(Zf, mb.transform(X)) < 0.9


# --------------------------------------------------------------------------- #
# scikit-learn estimator checks
# --------------------------------------------------------------------------- #
@parametrize_with_checks([
    DictionaryLearning(max_iter=20),
    DictionaryLearning(max_iter=20, fit_predictor=True, predictor_max_iter=3,
                       split_sign=True, transform_algorithm="ista"),
    MiniBatchDictionaryLearning(batch_size=10, max_iter=5),
    MiniBatchDictionaryLearning(batch_size=10, max_iter=5, fit_predictor=True,
                                predictor_max_iter=2, positive_code=True),
])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# SparseCoder's dictionary fixes n_features, and each check brings data of its
# own width. scikit-learn runs its own SparseCoder's checks on a per-check
# instance whose dictionary has the check's width (its internal
# PER_ESTIMATOR_CHECK_PARAMS, which parametrize_with_checks does not offer to
# other estimators). The same is done here: the checks come from
# estimator_checks_generator (what parametrize_with_checks iterates), each run
# on a copy of the estimator with a dictionary of the width scikit-learn uses.
_SC_WIDTH = {
    "check_estimators_dtypes": 5,
    "check_dtype_object": 10,
    "check_transformers_unfitted_stateless": 5,
    "check_fit_idempotent": 2,
    "check_set_output_transform": 5,
    "check_global_output_transform_pandas": 5,
    "check_set_output_transform_pandas": 5,
    "check_set_output_transform_polars": 5,
    "check_global_set_output_transform_polars": 5,
    "check_dataframe_column_names_consistency": 8,
    "check_estimators_overwrite_params": 2,
    "check_estimators_fit_returns_self": 2,
    "check_readonly_memmap_input": 2,
    "check_n_features_in_after_fitting": 4,
    "check_fit_check_is_fitted": 2,
    "check_n_features_in": 2,
    "check_positive_only_tag_during_fit": 4,
    "check_fit2d_1sample": 10,
    "check_fit2d_1feature": 1,
    "check_array_api_input": 10,
}


def _sparse_coder_checks():
    rng = np.random.RandomState(0)
    bases = {
        "SparseCoder": SparseCoder(dictionary=rng.normal(size=(5, 3))),
        "SparseCoder(fit_predictor,split_sign)": SparseCoder(
            dictionary=rng.normal(size=(5, 3)), fit_predictor=True, predictor_max_iter=3,
            split_sign=True, random_state=0),
    }
    out = []
    for label, base in bases.items():
        for _, check in estimator_checks_generator(base, legacy=True):
            name = getattr(check, "func", check).__name__
            width = _SC_WIDTH.get(name, 3)
            est = clone(base).set_params(dictionary=rng.normal(size=(5, width)))
            out.append(pytest.param(est, check, id=f"{label}[{width} features]-{name}"))
    return out


@pytest.mark.parametrize("estimator, check", _sparse_coder_checks())
def test_sparse_coder_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
