"""Block coordinate descent estimators: sparsela.linear_model.Lasso, ElasticNet,
GroupLasso.

References: scikit-learn's Lasso/ElasticNet (same objective scaling) and
skglm's GroupLasso (or, without skglm, a proximal-gradient solve to a tight
tolerance). The selection-rule test reproduces the structure of Nutini et al.
(JMLR 2022) Data A at a reduced size (200 x 2000 instead of 1000 x 10000).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("sklearn")
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet as SkElasticNet
from sklearn.linear_model import Lasso as SkLasso
from sklearn.utils.estimator_checks import parametrize_with_checks

import sparsela as sl
from sparsela.linear_model import ElasticNet, GroupLasso, Lasso
from sparsela.linear_model._bcd import make_data_a

RULES = ["cyclic", "random", "lipschitz", "gs", "gsl", "gsq"]


def _problem(n=80, p=120, density=0.1, seed=0, sparse=True):
    rng = np.random.default_rng(seed)
    X = sp.random_array((n, p), density=density, format="csc", rng=rng,
                        data_sampler=rng.standard_normal)
    # a column offset, so the implicit centering matters
    X = X.toarray()
    X[:, 0] += 0.5
    X = sp.csc_array(X)  # int32 indices (scikit-learn rejects int64 ones)
    w = np.zeros(p)
    w[rng.choice(p, 10, replace=False)] = rng.standard_normal(10)
    y = X @ w + 0.1 * rng.standard_normal(n) + 3.0
    return (X if sparse else X.toarray()), y


def _tight(est, **kw):
    return est(tol=1e-12, max_iter=20_000, **kw)


@pytest.mark.parametrize("kind", ["dense", "scipy", "sparsela"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_lasso_matches_sklearn(kind, fit_intercept):
    X, y = _problem(sparse=kind != "dense")
    Xin = sl.csc_array(X) if kind == "sparsela" else X
    ref = SkLasso(alpha=0.02, fit_intercept=fit_intercept, tol=1e-12,
                  max_iter=100_000).fit(X, y)
    m = _tight(Lasso, alpha=0.02, fit_intercept=fit_intercept).fit(Xin, y)
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-6, rtol=0)
    assert abs(m.intercept_ - ref.intercept_) < 1e-6
    assert m.dual_gap_ < 1e-10
    np.testing.assert_allclose(m.predict(Xin), ref.predict(X), atol=1e-6)


@pytest.mark.parametrize("selection", RULES)
@pytest.mark.parametrize("update", ["gradient", "newton"])
@pytest.mark.parametrize("blocks,block_size", [("fixed", 1), ("fixed", 3), ("variable", 3)])
def test_lasso_rules_and_updates_match_sklearn(selection, update, blocks, block_size):
    if blocks == "variable" and selection == "cyclic":
        pytest.skip("variable blocks need a random or greedy rule")
    X, y = _problem(n=60, p=80)
    ref = SkLasso(alpha=0.02, tol=1e-12, max_iter=100_000).fit(X, y)
    m = _tight(Lasso, alpha=0.02, selection=selection, update=update, blocks=blocks,
               block_size=block_size, random_state=0).fit(X, y)
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-6, rtol=0)
    assert abs(m.intercept_ - ref.intercept_) < 1e-6


@pytest.mark.parametrize("sparse", [True, False])
@pytest.mark.parametrize("selection", ["cyclic", "gsq"])
def test_elastic_net_matches_sklearn(sparse, selection):
    X, y = _problem(sparse=sparse)
    ref = SkElasticNet(alpha=0.03, l1_ratio=0.6, tol=1e-12, max_iter=100_000).fit(X, y)
    m = _tight(ElasticNet, alpha=0.03, l1_ratio=0.6, selection=selection).fit(X, y)
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-6, rtol=0)
    assert abs(m.intercept_ - ref.intercept_) < 1e-6


def test_positive_matches_sklearn():
    X, y = _problem()
    ref = SkLasso(alpha=0.02, positive=True, tol=1e-12, max_iter=100_000).fit(X, y)
    m = _tight(Lasso, alpha=0.02, positive=True).fit(X, y)
    assert np.all(m.coef_ >= 0)
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-6, rtol=0)


def test_float32_looser():
    X, y = _problem()
    ref = SkLasso(alpha=0.02, tol=1e-12, max_iter=100_000).fit(X, y)
    m = Lasso(alpha=0.02, tol=1e-8).fit(X.astype(np.float32), y.astype(np.float32))
    assert m.coef_.dtype == np.float32
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-4, rtol=0)


def test_ridge_and_ols_limits():
    X, y = _problem(sparse=False, n=100, p=20)
    ref = SkElasticNet(alpha=0.1, l1_ratio=0.0, tol=1e-12, max_iter=100_000).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = ElasticNet(alpha=0.1, l1_ratio=0.0, tol=1e-16, max_iter=20_000).fit(X, y)
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-6, rtol=0)


# --------------------------------------------------------------------------- #
# group Lasso
# --------------------------------------------------------------------------- #
def _prox_grad_group_lasso(X, y, groups, alpha, weights, n_iter=20_000):
    """Reference: FISTA with step 1/L on the centred problem."""
    n = X.shape[0]
    Xc = X - X.mean(axis=0)
    yc = y - y.mean()
    L = np.linalg.norm(Xc, 2) ** 2 / n
    labels = np.unique(groups)
    w = np.zeros(X.shape[1])
    z, t = w.copy(), 1.0
    for _ in range(n_iter):
        g = -Xc.T @ (yc - Xc @ z) / n
        v = z - g / L
        w_new = np.zeros_like(v)
        for k, lab in enumerate(labels):
            idx = groups == lab
            nv = np.linalg.norm(v[idx])
            thr = alpha * weights[k] / L
            if nv > thr:
                w_new[idx] = (1 - thr / nv) * v[idx]
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        z = w_new + (t - 1) / t_new * (w_new - w)
        w, t = w_new, t_new
    return w, y.mean() - X.mean(axis=0) @ w


@pytest.mark.parametrize("selection", ["cyclic", "random", "gsl", "gsq"])
@pytest.mark.parametrize("update", ["gradient", "newton"])
def test_group_lasso_vs_reference(selection, update):
    rng = np.random.default_rng(1)
    n, p = 60, 24
    X = rng.standard_normal((n, p))
    groups = np.repeat(np.arange(8), 3)[rng.permutation(p)]  # non-contiguous
    y = X[:, groups == 0] @ np.ones(3) - X[:, groups == 5] @ np.ones(3) \
        + 0.1 * rng.standard_normal(n)
    weights = np.sqrt(np.bincount(groups))
    w_ref, b_ref = _prox_grad_group_lasso(X, y, groups, 0.1, weights)
    m = _tight(GroupLasso, groups=groups, alpha=0.1, weights=weights, selection=selection,
               update=update, random_state=0).fit(X, y)
    np.testing.assert_allclose(m.coef_, w_ref, atol=1e-6, rtol=0)
    assert abs(m.intercept_ - b_ref) < 1e-6
    for g in range(8):  # whole groups are zero or not
        assert np.all(m.coef_[groups == g] == 0) or np.all(m.coef_[groups == g] != 0)
    # sparse input, same solution
    ms = _tight(GroupLasso, groups=groups, alpha=0.1, weights=weights,
                selection=selection, update=update, random_state=0).fit(
        sl.csc_array(sp.csc_array(X)), y)
    np.testing.assert_allclose(ms.coef_, w_ref, atol=1e-6, rtol=0)


def test_group_lasso_vs_skglm():
    skglm = pytest.importorskip("skglm")
    X, y = _problem(n=80, p=60)
    ref = skglm.GroupLasso(groups=3, alpha=0.05, tol=1e-12, max_iter=1000,
                           fit_intercept=True).fit(X, y)
    m = _tight(GroupLasso, groups=3, alpha=0.05).fit(X, y)
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-6, rtol=0)
    assert abs(m.intercept_ - ref.intercept_) < 1e-6


def test_group_lasso_singletons_is_lasso():
    X, y = _problem()
    a = _tight(GroupLasso, alpha=0.02).fit(X, y)
    b = _tight(Lasso, alpha=0.02).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-9)


# --------------------------------------------------------------------------- #
# Nutini et al. Data A: greedy rules beat cyclic/random at a fixed budget
# --------------------------------------------------------------------------- #
def test_data_a_greedy_rules_win_at_fixed_budget():
    """Data A of Nutini et al. (2022) at 200 x 2000 (the paper: 1000 x 10000;
    same density 10 log(p)/p, columns scaled by 10 N(0, 1), 10% non-zero
    w), Lasso with alpha = alpha_max / 100, blocks of 5 coordinates. After
    one epoch (400 block updates) every greedy rule is below every
    non-greedy one in suboptimality, and variable greedy blocks are below
    fixed ones."""
    n, p, bs = 200, 2000, 5
    X, y, _ = make_data_a(n, p, random_state=0)
    alpha = 0.01 * np.abs(X.T @ y).max() / n
    fstar = Lasso(alpha=alpha, fit_intercept=False, tol=1e-13,
                  max_iter=100_000).fit(X, y).objective_path_.min()
    budget = p // bs
    sub = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for blocks in ["fixed", "variable"]:
            for rule in RULES:
                if blocks == "variable" and rule == "cyclic":
                    continue
                m = Lasso(alpha=alpha, fit_intercept=False, selection=rule, block_size=bs,
                          blocks=blocks, working_set=False, active_set_newton=False,
                          history="iteration", max_iter=1, tol=0.0,
                          random_state=0).fit(X, y)
                assert len(m.objective_path_) == budget
                assert np.all(np.diff(m.objective_path_) <= 1e-9)  # monotone
                sub[rule, blocks] = m.objective_path_[budget - 1] - fstar
    greedy = [sub[r, "fixed"] for r in ("gs", "gsl", "gsq")]
    others = [sub[r, "fixed"] for r in ("cyclic", "random", "lipschitz")]
    assert max(greedy) < min(others), sub
    for r in ("gs", "gsl", "gsq"):
        assert sub[r, "variable"] < sub[r, "fixed"], sub
        assert sub[r, "variable"] < min(sub["random", "variable"],
                                        sub["lipschitz", "variable"]), sub


# --------------------------------------------------------------------------- #
# estimator behaviour
# --------------------------------------------------------------------------- #
def test_warm_start_and_n_iter():
    X, y = _problem()
    m = Lasso(alpha=0.02, tol=1e-10, warm_start=True, selection="gsl").fit(X, y)
    n1 = m.n_iter_
    m.fit(X, y)
    assert m.n_iter_ <= 1 < n1 + 1
    assert m.objective_path_.shape[0] >= 1


def test_convergence_warning_and_history():
    X, y, _ = make_data_a(100, 400, random_state=0)
    with pytest.warns(ConvergenceWarning):
        m = Lasso(alpha=1e-3, max_iter=2, tol=1e-14, working_set=False,
                  active_set_newton=False).fit(X, y)
    assert m.n_iter_ == 2
    assert m.objective_path_.shape == m.iteration_path_.shape
    m = Lasso(alpha=1e-3, max_iter=2, tol=0, history="iteration", working_set=False,
              active_set_newton=False, block_size=4)
    with pytest.warns(ConvergenceWarning):
        m.fit(X, y)
    assert m.objective_path_.shape == (200,)
    np.testing.assert_array_equal(m.iteration_path_, np.arange(1, 201))


def test_active_set_newton_finishes_exactly():
    X, y = _problem(n=200, p=300)
    on = Lasso(alpha=0.01, tol=1e-14, max_iter=100_000).fit(X, y)
    off = Lasso(alpha=0.01, tol=1e-14, max_iter=100_000, active_set_newton=False).fit(X, y)
    np.testing.assert_allclose(on.coef_, off.coef_, atol=1e-8)
    assert on.n_iter_ <= off.n_iter_


def test_random_state_reproducible():
    X, y = _problem()
    a = Lasso(alpha=0.02, selection="random", random_state=3, max_iter=3, tol=0,
              working_set=False)
    b = Lasso(alpha=0.02, selection="random", random_state=3, max_iter=3, tol=0,
              working_set=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        np.testing.assert_array_equal(a.fit(X, y).coef_, b.fit(X, y).coef_)


def test_sparse_input_not_densified(monkeypatch):
    X, y = _problem()
    Xs = sl.csc_array(X)

    def boom(*a, **k):
        raise AssertionError("densified")

    monkeypatch.setattr(type(Xs), "toarray", boom)
    monkeypatch.setattr(type(Xs), "todense", boom)
    for est in (Lasso(alpha=0.02, selection="gsq"), ElasticNet(alpha=0.02),
                GroupLasso(groups=4, alpha=0.02)):
        est.fit(Xs, y)
        est.predict(Xs)


def test_verbose_progress_bar(capsys):
    X, y = _problem()
    Lasso(alpha=0.02, verbose=1).fit(X, y)


@pytest.mark.parametrize("bad", [{"selection": "best"}, {"blocks": "x"},
                                 {"update": "bfgs"}, {"block_size": 0},
                                 {"alpha": -1.0}, {"history": "x"},
                                 {"selection": "cyclic", "blocks": "variable"}])
def test_bad_parameters(bad):
    X, y = _problem()
    with pytest.raises(ValueError):
        Lasso(**bad).fit(X, y)


def test_bad_groups():
    X, y = _problem(p=10)
    with pytest.raises(ValueError, match="groups"):
        GroupLasso(groups=[0, 1]).fit(X, y)
    with pytest.raises(ValueError, match="weights"):
        GroupLasso(groups=5, weights=[1.0]).fit(X, y)


@parametrize_with_checks([
    Lasso(), ElasticNet(), GroupLasso(),
    Lasso(selection="gsq", block_size=2, blocks="variable", update="newton"),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)
