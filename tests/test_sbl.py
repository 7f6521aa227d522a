"""Sparse Bayesian learning: SBLRegression and KroneckerSBL (sparsela.linear_model).

Reference results: scikit-learn's ARDRegression (same MacKay rule), dense NumPy
implementations of the same iterations (real and complex), and dense
Kronecker products formed explicitly on small problems. The paper comparison
(He & Joseph, IEEE TSP 2024) runs on a *small* instance of its setup here
(3 factors, N = 6 instead of 15, M = (4, 5, 6) instead of (8, 12, 15),
K = 2 instead of 3 per factor; fixed seed) so the classic SBL it is compared
with runs in well under a second; the full setup is in
``examples/plot_kronecker_sbl.py`` and ``asv_benchmarks/bench_sbl.py``.
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("sklearn")

from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ARDRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

import sparsela as sl
from sparsela.linear_model import KroneckerSBL, SBLRegression, _sbl
from sparsela.linear_model._sbl import _am_sweep, _kron_estep, _multi_mode, _rank1


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """One BLAS thread: the matrices here are tiny, and OpenBLAS's threads on an
    oversubscribed machine (``pytest -n 2`` on 2 cores) make a 120 x 120
    Cholesky 20x slower."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _problem(n, p, k=5, noise=0.05, seed=0, intercept=1.0, cplx=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p, dtype=complex if cplx else float)
    idx = rng.choice(p, k, replace=False)
    w[idx] = rng.choice([-1, 1], k) * rng.uniform(1, 3, k)
    if cplx:
        X = X + 1j * rng.standard_normal((n, p))
        w[idx] = w[idx] * np.exp(2j * np.pi * rng.uniform(size=k))
    e = rng.standard_normal(n) + (1j * rng.standard_normal(n) if cplx else 0)
    y = X @ w + noise * e + intercept
    return X, y, w


def _sparse_problem(n, p, density=0.3, seed=0, intercept=2.0):
    rng = np.random.default_rng(seed)
    Xs = sp.random_array((n, p), density=density, rng=seed,
                         data_sampler=rng.standard_normal).tocsr()
    w = np.zeros(p)
    w[rng.choice(p, 4, replace=False)] = rng.uniform(1, 3, 4)
    y = Xs @ w + 0.01 * rng.standard_normal(n) + intercept
    return Xs, y


#: no hyperpriors: plain type-II maximum likelihood (the dense references and
#: KroneckerSBL have none)
NOPRIOR = dict(alpha_1=0.0, alpha_2=0.0, lambda_1=0.0, lambda_2=0.0)


def _expected_failures(estimator):
    # complex X/y are supported on purpose (issue 5), where scikit-learn's
    # check expects "Complex data not supported"
    return {"check_complex_data": "complex input is supported by design"}


@parametrize_with_checks(
    [SBLRegression(), SBLRegression(update="em"), KroneckerSBL(),
     KroneckerSBL(method="svd")],
    expected_failed_checks=_expected_failures)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# --------------------------------------------------------------------------- #
# SBLRegression
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("n, p", [(100, 40), (80, 200)])
def test_matches_ard_regression(n, p):
    """MacKay updates with ARD's hyperpriors (the defaults) = ARDRegression:
    the same pruned support, coefficients, noise precision, covariance and
    predictive distribution up to the stopping point; EM recovers the same
    support with close coefficients."""
    X, y, w = _problem(n, p, noise=0.1 if n > p else 0.05, seed=0)
    ard = ARDRegression().fit(X, y)
    true = np.flatnonzero(w)
    for update, atol in [("mackay", 1e-4), ("em", 0.05)]:
        reg = SBLRegression(update=update, max_iter=1000).fit(X, y)
        big = np.flatnonzero(np.abs(reg.coef_) > 0.05)
        np.testing.assert_array_equal(big, np.flatnonzero(np.abs(ard.coef_) > 0.05))
        np.testing.assert_array_equal(big, true)
        np.testing.assert_allclose(reg.coef_, ard.coef_, atol=atol)
        assert abs(reg.intercept_ - ard.intercept_) < atol
        assert reg.lambda_.shape == ard.lambda_.shape == (p,)
        assert reg.sigma_.shape == (np.sum(reg.lambda_ < 1e4),) * 2
    reg = SBLRegression(update="mackay").fit(X, y)
    np.testing.assert_array_equal(reg.lambda_ < 1e4, ard.lambda_ < 1e4)
    np.testing.assert_allclose(reg.sigma_, ard.sigma_, atol=1e-6)
    np.testing.assert_allclose(reg.alpha_, ard.alpha_, rtol=1e-3)
    m1, s1 = reg.predict(X[:7], return_std=True)
    m2, s2 = ard.predict(X[:7], return_std=True)
    np.testing.assert_allclose(m1, m2, atol=1e-3)
    np.testing.assert_allclose(s1, s2, rtol=1e-3)


@pytest.mark.parametrize("update", ["em", "mackay"])
@pytest.mark.parametrize("n, p", [(40, 90), (90, 30)])
def test_woodbury_and_primal_forms_agree(update, n, p):
    """The n x n (Woodbury) and k x k forms give the same iterates."""
    X, y, _ = _problem(n, p, noise=0.1, seed=1)
    kw = dict(update=update, max_iter=25, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = SBLRegression(solver="woodbury", **kw).fit(X, y)
        b = SBLRegression(solver="primal", **kw).fit(X, y)
        c = SBLRegression(solver="auto", **kw).fit(X, y)
    for r in (b, c):
        np.testing.assert_allclose(r.coef_, a.coef_, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(r.lambda_, a.lambda_, rtol=1e-6)
        np.testing.assert_allclose(r.alpha_, a.alpha_, rtol=1e-7)
        np.testing.assert_allclose(r.sigma_, a.sigma_, rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(r.scores_, a.scores_, rtol=1e-7)
        assert r.n_iter_ == a.n_iter_ == 25


@pytest.mark.parametrize("cplx", [False, True])
@pytest.mark.parametrize("n", [1, 7, 19])
def test_dense_factorisation_helpers(cplx, n, monkeypatch):
    """The in-place Cholesky factor, triangular inverse and blocked forward
    substitution of the dense CPU E-steps against SciPy (block size 5, so
    several blocks, the last one partial, are exercised)."""
    from scipy import linalg

    monkeypatch.setattr(_sbl, "_BLOCK", 5)
    rng = np.random.default_rng(n)
    A = rng.standard_normal((n, n + 3)) + (1j * rng.standard_normal((n, n + 3)) if cplx else 0)
    K = A @ A.conj().T + 0.1 * np.eye(n)
    B = rng.standard_normal((n, 11)) + (1j * rng.standard_normal((n, 11)) if cplx else 0)
    y = B[:, 0] * 2 - 1
    ref = linalg.cholesky(K, lower=True)
    Kc = K.copy()
    Kc[np.triu_indices(n, 1)] = np.nan  # the strict upper triangle is never read
    L = _sbl._chol_lower(Kc)
    assert np.shares_memory(L, Kc)
    np.testing.assert_allclose(np.tril(L), ref, rtol=1e-10, atol=1e-12)
    V, t = _sbl._forward_solve(L, B, y)
    np.testing.assert_allclose(V, linalg.solve_triangular(ref, B, lower=True), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(t, linalg.solve_triangular(ref, y, lower=True), rtol=1e-9, atol=1e-11)
    Lc = _sbl._chol_lower(K.copy(), clean=True)
    np.testing.assert_array_equal(Lc[np.triu_indices(n, 1)], 0)
    Linv = _sbl._tril_inv(Lc, overwrite=True)
    np.testing.assert_allclose(Linv, np.linalg.inv(ref), rtol=1e-9, atol=1e-11)
    np.testing.assert_array_equal(Linv[np.triu_indices(n, 1)], 0)
    with pytest.raises(np.linalg.LinAlgError):
        _sbl._chol_lower(-np.eye(3))


@pytest.mark.parametrize("cplx", [False, True])
def test_woodbury_and_primal_forms_agree_several_blocks(cplx, monkeypatch):
    """Woodbury (blocked forward substitution over several blocks) and primal
    forms give the same fit, real and complex."""
    monkeypatch.setattr(_sbl, "_BLOCK", 8)
    X, y, _ = _problem(30, 70, noise=0.1, seed=5, cplx=cplx)
    kw = dict(max_iter=15, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = SBLRegression(solver="woodbury", **kw).fit(X, y)
        b = SBLRegression(solver="primal", **kw).fit(X, y)
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(b.lambda_, a.lambda_, rtol=1e-6)
    np.testing.assert_allclose(b.sigma_, a.sigma_, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(b.scores_, a.scores_, rtol=1e-7)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("solver", ["woodbury", "primal"])
@pytest.mark.parametrize("update", ["em", "mackay"])
def test_sparse_input_matches_dense(fit_intercept, solver, update):
    Xs, y = _sparse_problem(50, 120)
    X = Xs.toarray()
    kw = dict(update=update, solver=solver, fit_intercept=fit_intercept,
              max_iter=20, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = SBLRegression(**kw).fit(X, y)
        for Xin in (Xs, sp.csc_matrix(Xs), sl.csr_array(Xs), sl.csc_array(Xs)):
            reg = SBLRegression(**kw).fit(Xin, y)
            np.testing.assert_allclose(reg.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
            np.testing.assert_allclose(reg.intercept_, ref.intercept_, atol=1e-7)
            np.testing.assert_allclose(reg.lambda_, ref.lambda_, rtol=1e-5)
            np.testing.assert_allclose(reg.sigma_, ref.sigma_, rtol=1e-5, atol=1e-9)
            m1, s1 = reg.predict(Xin, return_std=True)
            m2, s2 = ref.predict(X, return_std=True)
            np.testing.assert_allclose(m1, m2, rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(s1, s2, rtol=1e-5)


def test_sparse_input_is_not_densified(monkeypatch):
    """No toarray() of the n x p data (only of small Gram/outer products)."""
    Xs, y = _sparse_problem(40, 100)
    A = sl.csc_array(Xs)
    seen = []
    orig = type(A).toarray

    def spy(self, *args, **kwargs):
        seen.append(self.shape)
        return orig(self, *args, **kwargs)

    for cls in (sl.csr_array, sl.csc_array):
        monkeypatch.setattr(cls, "toarray", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        SBLRegression(update="mackay", max_iter=10).fit(A, y)
    assert (40, 100) not in seen
    assert all(s[0] == s[1] for s in seen)  # only Gram (k x k) or n x n products


def _reference_sbl(X, y, update, n_iter):
    """Dense NumPy SBL of the same iterations (no pruning, no intercept)."""
    n, p = X.shape
    gamma = np.ones(p)
    alpha = 1.0 / np.var(y)
    for _ in range(n_iter):
        Sigma = np.linalg.inv(alpha * X.conj().T @ X + np.diag(1.0 / gamma))
        mu = alpha * Sigma @ X.conj().T @ y
        sd = np.real(np.diag(Sigma))
        g = 1.0 - sd / gamma
        r = y - X @ mu
        sse = np.real(np.vdot(r, r))
        if update == "em":
            gamma = np.abs(mu) ** 2 + sd
            alpha = n / (sse + np.sum(g) / alpha)
        else:
            gamma = np.abs(mu) ** 2 / g
            alpha = (n - np.sum(g)) / sse
    Sigma = np.linalg.inv(alpha * X.conj().T @ X + np.diag(1.0 / gamma))
    return alpha * Sigma @ X.conj().T @ y, gamma, alpha


@pytest.mark.parametrize("update", ["em", "mackay"])
@pytest.mark.parametrize("n, p", [(30, 12), (12, 30)])
def test_complex_matches_dense_reference(update, n, p):
    X, y, _ = _problem(n, p, k=3, noise=0.1, seed=3, intercept=0.0, cplx=True)
    mu, gamma, alpha = _reference_sbl(X, y, update, 8)
    kw = dict(update=update, max_iter=8, tol=0.0, prune_tol=0.0, fit_intercept=False,
              **NOPRIOR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = SBLRegression(**kw).fit(X, y)
        regs = SBLRegression(**kw).fit(sl.csr_array(sp.csr_array(X)), y)
    assert np.iscomplexobj(reg.coef_)
    np.testing.assert_allclose(reg.coef_, mu, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(1.0 / reg.lambda_, gamma, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(reg.alpha_, alpha, rtol=1e-6)
    np.testing.assert_allclose(regs.coef_, mu, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(reg.predict(X), X @ mu, rtol=1e-6, atol=1e-8)


def test_complex_recovery_with_intercept():
    X, y, w = _problem(60, 150, k=4, noise=0.01, seed=4, intercept=1 - 2j, cplx=True)
    for Xin in (X, sp.csr_array(X), sl.csc_array(sp.csc_array(X))):
        reg = SBLRegression().fit(Xin, y)
        np.testing.assert_allclose(reg.coef_, w, atol=2e-2)
        np.testing.assert_allclose(reg.intercept_, 1 - 2j, atol=2e-2)


def test_real_X_complex_y():
    """Complex targets on a real (dense or sparse) design: complex coef_."""
    Xs, _ = _sparse_problem(40, 80, seed=2)
    w = np.zeros(80, dtype=complex)
    w[[3, 10]] = [1 + 1j, -2]
    rng = np.random.default_rng(2)
    y = Xs @ w + 0.01 * (rng.standard_normal(40) + 1j * rng.standard_normal(40)) + 0.5
    ref = SBLRegression().fit(Xs.toarray(), y)
    np.testing.assert_allclose(ref.coef_, w, atol=2e-2)
    assert np.isrealobj(ref.X_offset_)
    for Xin in (Xs, sl.csc_array(Xs)):
        reg = SBLRegression().fit(Xin, y)
        np.testing.assert_allclose(reg.coef_, ref.coef_, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(reg.predict(Xin), ref.predict(Xs.toarray()), atol=1e-8)


def test_real_dense_reference_and_pruning():
    X, y, _ = _problem(40, 25, k=3, noise=0.1, seed=5, intercept=0.0)
    mu, _, _ = _reference_sbl(X, y, "em", 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = SBLRegression(update="em", max_iter=10, tol=0.0, prune_tol=0.0,
                            fit_intercept=False, **NOPRIOR).fit(X, y)
    np.testing.assert_allclose(reg.coef_, mu, rtol=1e-7, atol=1e-10)
    # with pruning, pruned coefficients are exactly zero, their lambda_ large
    reg = SBLRegression(update="mackay", fit_intercept=False).fit(X, y)
    pruned = reg.lambda_ >= 1e4
    assert pruned.any() and np.all(reg.coef_[pruned] == 0)
    assert reg.sigma_.shape == (np.sum(~pruned),) * 2
    assert np.all(np.isfinite(reg.lambda_))


def test_warm_start_continues_the_iterations():
    X, y, _ = _problem(30, 60, seed=6)
    kw = dict(update="em", tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full = SBLRegression(max_iter=10, **kw).fit(X, y)
        warm = SBLRegression(max_iter=4, warm_start=True, **kw).fit(X, y)
        warm.set_params(max_iter=6).fit(X, y)
    np.testing.assert_allclose(warm.coef_, full.coef_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(warm.alpha_, full.alpha_, rtol=1e-10)


def test_convergence_warning_n_iter_and_scores():
    X, y, _ = _problem(30, 60, seed=7)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        reg = SBLRegression(max_iter=2, tol=0.0).fit(X, y)
    assert reg.n_iter_ == 2 and reg.scores_.shape == (2,)
    reg = SBLRegression(update="em", max_iter=500).fit(X, y)
    assert reg.n_iter_ < 500
    # EM never decreases the marginal likelihood
    assert np.all(np.diff(reg.scores_) >= -1e-8 * np.abs(reg.scores_[1:]))


def test_stopping_rule_is_relative_l1_change():
    """``tol`` bounds ``sum |coef - coef_old| / sum |coef|`` (ARDRegression's
    absolute l1 rule made relative); the default ends close to the fixed point."""
    X, y, _ = _problem(50, 120, k=4, noise=0.1, seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)   # tol=0: runs to max_iter
        tight = SBLRegression(tol=0.0, max_iter=400).fit(X, y)
        # the iteration has converged to rounding at 400 steps
        more = SBLRegression(tol=0.0, max_iter=420).fit(X, y)
    np.testing.assert_allclose(more.coef_, tight.coef_, rtol=1e-9, atol=1e-12)
    reg = SBLRegression().fit(X, y)
    assert reg.n_iter_ < 400
    err = np.abs(reg.coef_ - tight.coef_).sum() / np.abs(tight.coef_).sum()
    assert err <= 1e-4
    # one more iteration from the stopping point moves the coefficients by at
    # most tol in relative l1 norm (what the rule tested before stopping)
    prev = SBLRegression(max_iter=reg.n_iter_ - 1, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        prev.fit(X, y)
    step = np.abs(reg.coef_ - prev.coef_).sum() / np.abs(reg.coef_).sum()
    assert step <= 1e-4
    loose = SBLRegression(tol=0.5).fit(X, y)
    assert loose.n_iter_ < reg.n_iter_


def test_verbose_shows_progress(capsys):
    X, y, _ = _problem(30, 60, seed=8)
    SBLRegression(verbose=True).fit(X, y)
    KroneckerSBL(verbose=True).fit(X, y)
    err = capsys.readouterr().err
    assert "SBLRegression" in err and "KroneckerSBL" in err


# --------------------------------------------------------------------------- #
# KroneckerSBL
# --------------------------------------------------------------------------- #
def _kron(factors):
    H = factors[0]
    for A in factors[1:]:
        H = np.kron(H, A)
    return H


def _paper_instance(N=6, Ms=(4, 5, 6), K=2, snr_db=20.0, seed=0):
    """He & Joseph's setup (Gaussian factors, Kronecker support), scaled down."""
    rng = np.random.default_rng(seed)
    A = [rng.standard_normal((M, N)) / np.sqrt(M) for M in Ms]
    supp = [np.sort(rng.choice(N, K, replace=False)) for _ in Ms]
    T = np.zeros((N,) * len(Ms))
    T[np.ix_(*supp)] = rng.choice([-1, 1], (K,) * len(Ms)) * rng.uniform(0.5, 1.5, (K,) * len(Ms))
    x = T.ravel()
    y0 = _kron(A) @ x
    sigma = np.sqrt(np.mean(y0 ** 2) / 10 ** (snr_db / 10))
    return A, x, y0 + sigma * rng.standard_normal(y0.shape), supp


def test_multi_mode_is_the_kronecker_product():
    rng = np.random.default_rng(0)
    A = [rng.standard_normal((m, n)) for m, n in [(3, 4), (2, 5), (4, 3)]]
    x = rng.standard_normal(60)
    np.testing.assert_allclose(_multi_mode(x.reshape(4, 5, 3), A).ravel(), _kron(A) @ x)
    As = [sl.csr_array(sp.csr_array(a)) for a in A]
    np.testing.assert_allclose(_multi_mode(x.reshape(4, 5, 3), As).ravel(), _kron(A) @ x)


@pytest.mark.parametrize("cplx", [False, True])
def test_kron_estep_matches_dense_posterior(cplx):
    rng = np.random.default_rng(1)
    A = [rng.standard_normal((m, n)) for m, n in [(3, 4), (4, 5), (2, 3)]]
    if cplx:
        A = [a + 1j * rng.standard_normal(a.shape) for a in A]
    H = _kron(A)
    gam = [rng.uniform(0.1, 2, a.shape[1]) for a in A]
    y = rng.standard_normal(H.shape[0]) + (1j * rng.standard_normal(H.shape[0]) if cplx else 0)
    alpha = 3.0
    g = _kron(gam)
    Sigma = np.linalg.inv(alpha * H.conj().T @ H + np.diag(1 / g))
    mu = alpha * Sigma @ H.conj().T @ y
    b = (H.conj().T @ y).reshape(4, 5, 3)
    m, sd, lam, d = _kron_estep([a.conj().T @ a for a in A], gam, b, alpha)
    np.testing.assert_allclose(m.ravel(), mu, atol=1e-10)
    np.testing.assert_allclose(sd.ravel(), np.real(np.diag(Sigma)), atol=1e-10)
    np.testing.assert_allclose(np.sum(lam * d), np.real(np.trace(H @ Sigma @ H.conj().T)))


def test_m_steps():
    rng = np.random.default_rng(2)
    u = [rng.uniform(0.1, 1, n) for n in (4, 5, 3)]
    Q = np.einsum("i,j,k->ijk", *u)
    r = _rank1(Q)
    np.testing.assert_allclose(np.einsum("i,j,k->ijk", *r), Q, rtol=1e-10)
    # AM: a Kronecker Q is a fixed point; for any Q the sweep does not increase
    # the EM objective sum(log gamma + Q / gamma)
    g = _am_sweep(Q, [np.ones(4), np.ones(5), np.ones(3)])
    np.testing.assert_allclose(np.einsum("i,j,k->ijk", *g), Q, rtol=1e-10)
    Q = rng.uniform(0.1, 1, (4, 5, 3))

    def obj(gs):
        G = np.einsum("i,j,k->ijk", *gs)
        return np.sum(np.log(G) + Q / G)

    gs = [np.ones(4), np.ones(5), np.ones(3)]
    for _ in range(5):
        new = _am_sweep(Q, gs)
        assert obj(new) <= obj(gs) + 1e-12
        gs = new
    # SVD: rank-1 Frobenius fit at least as good as the AM factors' product
    r = _rank1(Q)
    assert np.linalg.norm(np.einsum("i,j,k->ijk", *r) - Q) <= \
        np.linalg.norm(np.einsum("i,j,k->ijk", *gs) - Q) + 1e-12


def test_one_factor_is_classic_em_sbl():
    X, y, _ = _problem(40, 25, k=3, noise=0.1, seed=9, intercept=0.0)
    kw = dict(max_iter=15, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = SBLRegression(update="em", fit_intercept=False, **NOPRIOR, **kw).fit(X, y)
        for method in ("am", "svd"):
            k1 = KroneckerSBL(method=method, **kw).fit(X, y)
            np.testing.assert_allclose(k1.coef_, ref.coef_, rtol=1e-7, atol=1e-10)
            np.testing.assert_allclose(k1.alpha_, ref.alpha_, rtol=1e-8)
            np.testing.assert_allclose(k1.scores_, ref.scores_, rtol=1e-8)
            k2 = KroneckerSBL(method=method, **kw).fit([X], y)
            np.testing.assert_allclose(k2.coef_, ref.coef_, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("method", ["am", "svd"])
def test_kronecker_support_recovery(method):
    A, x, y, supp = _paper_instance(N=8, Ms=(5, 6, 8), K=2, snr_db=30, seed=0)
    est = KroneckerSBL(method=method).fit(A, y)
    found = [np.sort(np.argsort(g)[-2:]) for g in est.gammas_]
    for f, s in zip(found, supp):
        np.testing.assert_array_equal(f, s)
    assert np.sum((est.coef_ - x) ** 2) / np.sum(x ** 2) < 1e-2
    # predictions through the factors = the formed Kronecker product
    np.testing.assert_allclose(est.predict(A), _kron(A) @ est.coef_, atol=1e-10)
    np.testing.assert_allclose(est.predict(_kron(A)), _kron(A) @ est.coef_, atol=1e-10)


@pytest.mark.parametrize("snr_db", [10, 20])
def test_kronecker_sbl_nmse_not_worse_than_sbl(snr_db):
    """Small instance of the paper setup (N=6, M=(4,5,6), K=2; 3 seeds)."""
    nm = {"am": [], "svd": [], "sbl": []}
    for seed in range(3):
        A, x, y, _ = _paper_instance(snr_db=snr_db, seed=seed)
        H = _kron(A)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for method in ("am", "svd"):
                est = KroneckerSBL(method=method).fit(A, y)
                nm[method].append(np.sum((est.coef_ - x) ** 2) / np.sum(x ** 2))
            sbl = SBLRegression(update="em", fit_intercept=False, max_iter=1000).fit(H, y)
        nm["sbl"].append(np.sum((sbl.coef_ - x) ** 2) / np.sum(x ** 2))
    assert np.mean(nm["am"]) <= np.mean(nm["sbl"])
    assert np.mean(nm["svd"]) <= np.mean(nm["sbl"])


def test_kronecker_sparse_and_complex_factors():
    A, _, y, _ = _paper_instance(N=5, Ms=(4, 4), K=2, snr_db=25, seed=3)
    kw = dict(max_iter=30, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = KroneckerSBL(**kw).fit(A, y)
        for fac in ([sp.csr_array(a) for a in A], [sl.csr_array(sp.csr_array(a)) for a in A]):
            est = KroneckerSBL(**kw).fit(fac, y)
            np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
            np.testing.assert_allclose(est.predict(fac), ref.predict(A), atol=1e-10)
        # complex: same as the real problem rotated by a phase
        ph = np.exp(0.7j)
        est = KroneckerSBL(**kw).fit([a.astype(complex) for a in A], y * ph)
    assert np.iscomplexobj(est.coef_)
    np.testing.assert_allclose(est.coef_, ref.coef_ * ph, rtol=1e-6, atol=1e-8)


def test_kronecker_bad_input():
    A, _, y, _ = _paper_instance(N=5, Ms=(4, 4), K=2, seed=4)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        KroneckerSBL().fit(A, y[:-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = KroneckerSBL(max_iter=5).fit(A, y)
    with pytest.raises(ValueError):
        est.predict([A[0], A[1][:, :3]])
    with pytest.raises(ValueError, match="features"):
        est.predict(np.ones((3, 7)))
    with pytest.raises(ValueError):
        KroneckerSBL(method="nope").fit(A, y)


def test_kronecker_warm_start_and_attributes():
    A, _, y, _ = _paper_instance(N=6, Ms=(4, 5), K=2, snr_db=20, seed=5)
    kw = dict(tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full = KroneckerSBL(max_iter=12, **kw).fit(A, y)
        warm = KroneckerSBL(max_iter=5, warm_start=True, **kw).fit(A, y)
        warm.set_params(max_iter=7).fit(A, y)
    np.testing.assert_allclose(warm.coef_, full.coef_, rtol=1e-8, atol=1e-12)
    assert full.n_features_in_ == 36 and full.coef_.shape == (36,)
    assert [g.shape for g in full.gammas_] == [(6,), (6,)]
    assert full.lambda_.shape == (36,) and full.scores_.shape == (12,)
    # EM (AM M-step) never decreases the marginal likelihood
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = KroneckerSBL(method="am", max_iter=200).fit(A, y)
    assert np.all(np.diff(est.scores_) >= -1e-8 * np.abs(est.scores_[1:]))
