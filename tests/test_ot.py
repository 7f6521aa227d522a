"""sparsela.ot: Sinkhorn (plain, log), Sinkhorn-Newton-Sparse, solve and
SinkhornTransport, checked against POT (``ot.sinkhorn``)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import gaussian_clouds

from sparsela.ot import (
    ConvergenceWarning,
    OTResult,
    SinkhornTransport,
    marginal_error,
    sinkhorn,
    sinkhorn_knopp,
    sinkhorn_log,
    sinkhorn_newton_sparse,
    solve,
)

ot = pytest.importorskip("ot")


# --------------------------------------------------------------------------- #
# problems
# --------------------------------------------------------------------------- #
def random_assignment(n, seed=0):
    """Tang et al.'s random assignment case: C_ij ~ U[0, 1], uniform marginals."""
    rng = np.random.default_rng(seed)
    a = np.full(n, 1.0 / n)
    return a, a.copy(), rng.random((n, n))


def marginals_ok(P, a, b, tol):
    return marginal_error(P, a, b) <= tol


# --------------------------------------------------------------------------- #
# Sinkhorn vs POT
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("reg", [0.5, 0.05])
def test_sinkhorn_plain_matches_pot(seed, reg):
    a, b, M = gaussian_clouds(25, 35, seed=seed)
    P, log = sinkhorn(a, b, M, reg, log=True)
    Q, qlog = ot.sinkhorn(a, b, M, reg, log=True)
    np.testing.assert_allclose(P, Q, rtol=1e-10, atol=1e-14)
    assert log["niter"] == qlog["niter"]
    np.testing.assert_allclose(log["err"], qlog["err"], rtol=1e-6, atol=1e-15)
    np.testing.assert_allclose(log["u"], qlog["u"], rtol=1e-10)
    assert log["n_iter"] == log["niter"] + 1 and log["converged"]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("reg", [0.5, 0.05, 0.005])
def test_sinkhorn_log_matches_pot(seed, reg):
    a, b, M = gaussian_clouds(30, 20, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        P, log = sinkhorn(a, b, M, reg, method="log", log=True, numItermax=3000)
        Q, qlog = ot.sinkhorn(a, b, M, reg, method="sinkhorn_log", log=True,
                              numItermax=3000)
    np.testing.assert_allclose(P, Q, rtol=1e-9, atol=1e-14)
    assert log["niter"] == qlog["niter"]
    np.testing.assert_allclose(log["log_u"], qlog["log_u"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(log["log_v"], qlog["log_v"], rtol=1e-9, atol=1e-9)
    f, g = log["potentials"]
    np.testing.assert_allclose(np.exp((f[:, None] + g[None, :] - M) / reg), P,
                               rtol=1e-9, atol=1e-15)


def test_pot_doc_example_and_aliases():
    a, b, M = [0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]]
    expected = np.array([[0.36552929, 0.13447071], [0.13447071, 0.36552929]])
    for method in ("sinkhorn", "sinkhorn_knopp", "log", "sinkhorn_log", "sns",
                   "sinkhorn_newton_sparse"):
        np.testing.assert_allclose(sinkhorn(a, b, M, 1, method=method), expected, atol=1e-8)
    np.testing.assert_allclose(sinkhorn_knopp(a, b, M, 1), expected, atol=1e-8)
    np.testing.assert_allclose(sinkhorn_log(a, b, M, 1), expected, atol=1e-8)
    # POT's convention: empty weights are uniform
    np.testing.assert_allclose(sinkhorn([], [], M, 1), expected, atol=1e-8)


def test_zero_weights_rows_are_zero():
    a, b, M = gaussian_clouds(12, 10, seed=3)
    a[[2, 7]] = 0.0
    b[4] = 0.0
    a /= a.sum()
    b /= b.sum()
    for method in ("sinkhorn", "log", "sns"):
        P, log = sinkhorn(a, b, M, 0.05, method=method, log=True)
        assert not np.isnan(P).any()
        assert (P[[2, 7]] == 0).all() and (P[:, 4] == 0).all()
        assert marginals_ok(P, a, b, 1e-8)
        assert np.isneginf(log["log_u"][[2, 7]]).all()
    keep_a, keep_b = a > 0, b > 0
    Q = ot.sinkhorn(a[keep_a], b[keep_b], M[keep_a][:, keep_b], 0.05)
    np.testing.assert_allclose(P[keep_a][:, keep_b], Q, atol=1e-10)


def test_warmstart_converged_potentials_stop_at_once():
    a, b, M = gaussian_clouds(30, seed=4)
    P, log = sinkhorn(a, b, M, 0.01, method="log", log=True, numItermax=5000)
    ws = (log["log_u"], log["log_v"])
    _, log2 = sinkhorn(a, b, M, 0.01, method="log", log=True, warmstart=ws)
    assert log2["n_iter"] == 1
    P3, log3 = sinkhorn_newton_sparse(a, b, M, 0.01, n_sinkhorn_warmup=0, warmstart=ws,
                                      log=True, tol=1e-8)
    assert log3["n_newton"] <= 1
    np.testing.assert_allclose(P3, P, atol=1e-9)


def test_not_converged_warns():
    a, b, M = gaussian_clouds(20, seed=5)
    for method in ("sinkhorn", "log"):
        with pytest.warns(ConvergenceWarning, match="did not converge"):
            _, log = sinkhorn(a, b, M, 1e-3, method=method, numItermax=3, log=True)
        assert not log["converged"]
    with pytest.warns(ConvergenceWarning):
        sinkhorn_newton_sparse(a, b, M, 1e-3, n_sinkhorn_warmup=1, max_newton=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sinkhorn(a, b, M, 1e-3, numItermax=3, warn=False)


def test_plain_sinkhorn_underflow_is_reported_not_nan():
    a, b, M = random_assignment(30, seed=1)
    M = M * 2000.0  # exp(-M / reg) underflows everywhere but the diagonal-ish
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        P = sinkhorn(a, b, M, 1.0, numItermax=50)
    assert not np.isnan(P).any()


# --------------------------------------------------------------------------- #
# Sinkhorn-Newton-Sparse
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("reg", [1e-2, 1e-3])
def test_sns_matches_pot_log_with_fewer_iterations(reg):
    a, b, M = gaussian_clouds(60, seed=0)
    tol = 1e-9
    P, log = sinkhorn_newton_sparse(a, b, M, reg, tol=tol, log=True)
    Q, qlog = ot.sinkhorn(a, b, M, reg, method="sinkhorn_log", numItermax=100_000,
                          stopThr=tol, log=True)
    assert log["converged"]
    assert marginal_error(P, a, b) <= tol
    assert marginal_error(Q, a, b) <= 10 * tol  # POT checks the column marginal only
    np.testing.assert_allclose(P, Q, rtol=1e-5, atol=1e-9)
    assert log["n_iter"] < qlog["niter"] + 1
    assert log["n_iter"] == log["n_sinkhorn"] + log["n_newton"]
    assert len(log["density"]) == log["n_newton"] == len(log["cg_iter"])


def test_sns_random_assignment_table1_small():
    # Tang et al. Table 1 (random assignment, eta = 1200) on n = 200: SNS needs
    # tens of iterations; Sinkhorn given 10x as many is still far from 1e-9
    a, b, M = random_assignment(200, seed=0)
    reg = 1.0 / 1200
    P, log = sinkhorn_newton_sparse(a, b, M, reg, tol=1e-9, log=True)
    assert log["converged"] and marginal_error(P, a, b) <= 1e-9
    assert log["n_newton"] <= 30
    Q, qlog = sinkhorn(a, b, M, reg, numItermax=10 * log["n_iter"], stopThr=1e-9,
                       log=True, warn=False)
    assert not qlog["converged"] and marginal_error(Q, a, b) > 1e3 * 1e-9


def test_sns_small_reg_gaussian_converges_with_defaults():
    """At reg=1e-4 on Gaussian clouds the damped Newton phase takes 200-400
    steps (line-search steps of 1/2): the default max_newton must allow it."""
    a, b, M = gaussian_clouds(60, seed=1)
    with np.errstate(all="raise"):
        P, log = sinkhorn_newton_sparse(a, b, M, 1e-4, log=True)
    assert log["converged"]
    assert np.isfinite(P).all() and marginal_error(P, a, b) <= 1e-9


def test_sns_small_reg_no_nan_and_marginals():
    a, b, M = random_assignment(50, seed=2)
    with np.errstate(all="raise"):  # no overflow / invalid anywhere
        P, log = sinkhorn_newton_sparse(a, b, M, 1e-4, tol=1e-8, max_newton=200, log=True)
    assert np.isfinite(P).all()
    assert log["converged"] and marginals_ok(P, a, b, 1e-8)
    assert np.isfinite(log["log_u"]).all() and np.isfinite(log["log_v"]).all()
    # the log-domain Sinkhorn does not overflow either
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        R = sinkhorn(a, b, M, 1e-4, method="log", numItermax=200)
    assert np.isfinite(R).all()


def test_sns_adaptive_density_converges_where_fixed_stalls():
    a, b, M = gaussian_clouds(80, seed=0)
    n = len(a)
    P, log = sinkhorn_newton_sparse(a, b, M, 1e-3, tol=1e-9, max_newton=60, log=True)
    assert log["converged"] and marginals_ok(P, a, b, 1e-9)
    assert max(log["density"]) > 2.0 / n  # it did densify
    # resume_sinkhorn: each damped Newton step is followed by n_sinkhorn_warmup
    # Sinkhorn iterations; same plan
    P2, log2 = sinkhorn_newton_sparse(a, b, M, 1e-3, tol=1e-9, max_newton=60, log=True,
                                      resume_sinkhorn=True)
    damped = sum(0 < t < 0.5 for t in log2["step"])
    assert damped >= 1 and log2["converged"]
    assert log2["n_sinkhorn"] >= 20 * (1 + damped)
    assert len(log2["err_sinkhorn"]) == log2["n_sinkhorn"]
    np.testing.assert_allclose(P2, P, atol=1e-9)
    with pytest.warns(ConvergenceWarning):
        _, flog = sinkhorn_newton_sparse(a, b, M, 1e-3, tol=1e-9, max_newton=60,
                                         density=2.0 / n, adaptive=False, log=True)
    assert not flog["converged"]
    assert flog["err"][-1] > 1e3 * log["err"][-1]
    assert max(flog["density"]) <= 2.0 / n + 1e-12


def test_sns_rectangular_and_potentials():
    a, b, M = gaussian_clouds(40, 25, seed=7)
    P, log = sinkhorn_newton_sparse(a, b, M, 5e-3, log=True)
    assert P.shape == (40, 25) and log["converged"]
    f, g = log["potentials"]
    np.testing.assert_allclose(np.exp((f[:, None] + g[None, :] - M) / 5e-3), P, rtol=1e-8,
                               atol=1e-15)
    Q = ot.sinkhorn(a, b, M, 5e-3, method="sinkhorn_log", numItermax=100_000, stopThr=1e-10)
    np.testing.assert_allclose(P, Q, rtol=1e-5, atol=1e-9)


# --------------------------------------------------------------------------- #
# the dense-plan kernels (sparsela/backends/cpu/ot.py) against NumPy
# --------------------------------------------------------------------------- #
def _kernels():
    from sparsela.backends import lazy

    return lazy("cpu.ot")


def _random_plan(n, m, seed):
    """Positive entries over many decades, some exact zeros and ties."""
    rng = np.random.default_rng(seed)
    P = np.exp(rng.uniform(-60.0, 0.0, size=(n, m)))
    P[rng.random((n, m)) < 0.1] = 0.0
    P[rng.random((n, m)) < 0.05] = 0.5  # ties
    return P


def _csr_of_triplets(I, J, V, n):
    Bp = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(I, minlength=n), out=Bp[1:])
    return Bp, J, V


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k_frac, retain", [(0.02, 0.0), (0.02, 0.9), (0.3, 0.5),
                                            (1.0, 0.0), (0.0, 0.999999)])
def test_kernel_select_matches_numpy(seed, k_frac, retain):
    ker = _kernels()
    n, m = 13, 9
    K = _random_plan(n, m, seed)
    rng = np.random.default_rng(seed)
    u, v = np.exp(rng.normal(size=n)), np.exp(rng.normal(size=m))
    v[:2] = 1.0  # keeps ties in two columns
    u[:] = 1.0 if seed == 0 else u
    P = K * u[:, None] * v[None, :]
    k = max(1, int(k_frac * n * m))
    target = retain * P.sum()
    tau, n_eq, kept = ker.select_threshold(K, u, v, k, target)
    # reference: a stable sort, largest first (ties in row-major order), the
    # shortest prefix with at least k entries and the target mass
    order = np.argsort(-P.ravel(), kind="stable")
    cum = np.cumsum(P.ravel()[order])
    need = max(k, int(np.searchsorted(cum, target, side="left")) + 1)
    need = min(need, P.size)
    assert kept == need
    flat = np.sort(order[:need])
    assert tau == P.ravel()[order[need - 1]]
    chosen = (P.ravel() > tau) | ((P.ravel() == tau) & (np.cumsum(P.ravel() == tau) <= n_eq))
    np.testing.assert_array_equal(np.flatnonzero(chosen), flat)
    I, J, V, tau2 = ker.top_entries(K, u, v, k, target)
    np.testing.assert_array_equal(I * m + J, flat)
    np.testing.assert_array_equal(V, P.ravel()[flat])
    assert tau2 == tau


@pytest.mark.parametrize("lo_scale", [0.0, 1e-3, 0.5, 2.0])
def test_kernel_top_entries_with_a_threshold_guess(lo_scale):
    # lo > 0 gathers the entries >= lo first (enough of them, or a fallback to
    # the full histogram): the kept set is the same exact top-k in every case
    ker = _kernels()
    n, m = 60, 50
    K = _random_plan(n, m, 5)
    rng = np.random.default_rng(5)
    u, v = np.exp(rng.normal(size=n)), np.exp(rng.normal(size=m))
    P = K * u[:, None] * v[None, :]
    order = np.argsort(-P.ravel(), kind="stable")
    for k, retain in ((40, 0.0), (100, 0.6), (300, 0.0), (2000, 0.0)):
        target = retain * P.sum()
        cum = np.cumsum(P.ravel()[order])
        need = max(k, int(np.searchsorted(cum, target, side="left")) + 1)
        flat = np.sort(order[:need])
        lo = lo_scale * P.ravel()[order[need - 1]]
        I, J, V, tau = ker.top_entries(K, u, v, k, target, lo=lo)
        np.testing.assert_array_equal(I * m + J, flat)
        np.testing.assert_array_equal(V, P.ravel()[flat])
        assert tau == V.min()


def test_kernel_select_large_bin_and_all_equal():
    ker = _kernels()
    P = np.full((6, 7), 0.25)  # one histogram bin holds everything
    one6, one7 = np.ones(6), np.ones(7)
    tau, n_eq, kept = ker.select_threshold(P, one6, one7, 5, 0.0)
    assert (tau, n_eq, kept) == (0.25, 5, 5)
    I, J, V, _ = ker.top_entries(P, one6, one7, 5, 0.0)
    np.testing.assert_array_equal(I, 0)  # the first five in row-major order
    np.testing.assert_array_equal(J, np.arange(5))


@pytest.mark.parametrize("n, m", [(40, 30), (25, 45)])
def test_hessian_solve_matches_numpy(n, m):
    """The Newton system, solved by sparsela.linalg.cg on the Schur complement
    (sparsela arrays), equals the dense solve and meets the whole system's
    residual rule."""
    import scipy.sparse as sp

    import sparsela as sl
    from sparsela.linalg import cg
    from sparsela.ot._sns import _hessian_solve

    ker = _kernels()
    P = _random_plan(n, m, 4)
    one_n, one_m = np.ones(n), np.ones(m)
    I, J, V, _ = ker.top_entries(P, one_n, one_m, 3 * max(n, m), 0.0)
    Bp, Bj, Bx = _csr_of_triplets(I, J, V, n)
    B = sp.csr_array((Bx, Bj, Bp), shape=(n, m)).toarray()
    rng = np.random.default_rng(1)
    dr, dc = P.sum(1) * 1.01 + 1e-3, P.sum(0) * 1.01 + 1e-3
    H = np.block([[np.diag(dr), B], [B.T, np.diag(dc)]])
    g = rng.normal(size=n + m)
    inputs = [x.copy() for x in (Bp, Bj, Bx, dr, dc, g)]
    d, n_iter, ok = _hessian_solve(Bp, Bj, Bx, dr, dc, g, 1e-12, 500)
    for before, after in zip(inputs, (Bp, Bj, Bx, dr, dc, g)):
        np.testing.assert_array_equal(before, after)  # inputs untouched
    assert ok and n_iter >= 1
    np.testing.assert_allclose(d, np.linalg.solve(H, g), rtol=1e-8, atol=1e-8)
    # the CPU operator: the Schur complement's product in one pass over B
    x = rng.normal(size=m)
    Sx = ker.schur_product(Bp.astype(np.int64), Bj.astype(np.int64), Bx, 1.0 / dr, dc, x)
    np.testing.assert_allclose(Sx, dc * x - B.T @ ((B @ x) / dr), rtol=1e-12, atol=1e-14)
    # the whole system's residual meets the tolerance, and Jacobi-preconditioned
    # CG on the whole system (a sparsela array) finds the same direction in
    # about twice the iterations (its spectrum is 1 +- s where S's is 1 - s^2)
    assert np.linalg.norm(H @ d - g) <= 1e-12 * np.linalg.norm(g)
    Hs = sl.csr_array(H)
    y, info = cg(Hs, g, rtol=1e-12, maxiter=5000, M=lambda x: x / np.diag(H))
    assert info == 0
    np.testing.assert_allclose(d, y, rtol=1e-6, atol=1e-8)
    d, n_iter, ok = _hessian_solve(Bp, Bj, Bx, dr, dc, g, 1e-14, 2)
    assert not ok and n_iter == 2


def test_sns_float32_and_thread_counts_agree():
    import sparsela as sl

    a, b, M = gaussian_clouds(70, 50, seed=3)
    P = sinkhorn_newton_sparse(a, b, M, 2e-3, tol=1e-10)
    P32 = sinkhorn_newton_sparse(a.astype(np.float32), b, M.astype(np.float32), 2e-3,
                                 tol=1e-10)
    assert P32.dtype == np.float64  # the solvers work in float64
    Q = sinkhorn_newton_sparse(a, b, M.astype(np.float32).astype(np.float64), 2e-3,
                               tol=1e-10)
    np.testing.assert_allclose(P32, Q, rtol=1e-6, atol=1e-12)
    threadpoolctl = pytest.importorskip("threadpoolctl")
    # one BLAS thread: the products with K sum in another order
    with sl.config_context(num_threads=1), threadpoolctl.threadpool_limits(1):
        P1 = sinkhorn_newton_sparse(a, b, M, 2e-3, tol=1e-10)
    np.testing.assert_allclose(P1, P, rtol=1e-6, atol=1e-12)
    assert marginal_error(P, a, b) <= 1e-10


def test_sns_easy_problem_is_finished_by_sinkhorn():
    a, b, M = gaussian_clouds(50, seed=1)
    P, log = sinkhorn_newton_sparse(a, b, M, 0.05, tol=1e-10, log=True)
    assert log["converged"] and log["n_newton"] == 0
    assert log["n_sinkhorn"] == len(log["err_sinkhorn"]) and log["err_sinkhorn"][-1] < 1e-10
    Q = ot.sinkhorn(a, b, M, 0.05, stopThr=1e-12, numItermax=10_000)
    np.testing.assert_allclose(P, Q, atol=1e-11)
    # sinkhorn_finish=0: the paper's two stages, Newton after exactly N_1
    P2, log2 = sinkhorn_newton_sparse(a, b, M, 5e-3, tol=1e-10, sinkhorn_finish=0,
                                      resume_sinkhorn=False, n_sinkhorn_warmup=7, log=True)
    assert log2["n_sinkhorn"] == 7 and log2["n_newton"] >= 1 and log2["converged"]
    assert len(log2["err_sinkhorn"]) == 7
    P3, log3 = sinkhorn_newton_sparse(a, b, M, 5e-3, tol=1e-10, log=True)
    np.testing.assert_allclose(P2, P3, atol=1e-9)


def test_sns_kernel_underflow_everywhere():
    # exp(-M / reg) is 0 in double precision for every entry: the first
    # iteration runs in the log domain, then the stabilized kernel is fine
    a, b, M = random_assignment(40, seed=3)
    M = 800.0 + 50.0 * M
    P, log = sinkhorn_newton_sparse(a, b, M, 1.0, tol=1e-10, log=True)
    assert np.isfinite(P).all() and log["converged"]
    Q = sinkhorn_log(a, b, M, 1.0, numItermax=20_000, stopThr=1e-12)
    np.testing.assert_allclose(P, Q, atol=1e-10)
    # a column far more expensive than every row's best: K has no mass in it
    # after the row shift, the first iteration falls back to the log domain
    M[:, 0] += 1000.0
    with np.errstate(all="raise"):
        P, log = sinkhorn_newton_sparse(a, b, M, 1.0, tol=1e-10, log=True)
    assert np.isfinite(P).all() and log["converged"]
    Q = sinkhorn_log(a, b, M, 1.0, numItermax=20_000, stopThr=1e-12)
    np.testing.assert_allclose(P, Q, atol=1e-10)


@pytest.mark.parametrize("shape", [(1, 1), (1, 3), (3, 1), (2, 5)])
@pytest.mark.parametrize("warmup", [0, 20])
def test_sns_tiny_shapes(shape, warmup):
    # warmup=0 from zero potentials: exp(-M / reg) underflows, rows without
    # mass get a log-domain iteration instead of a Newton system
    rng = np.random.default_rng(0)
    M = rng.random(shape)
    a = np.full(shape[0], 1.0 / shape[0])
    b = rng.random(shape[1])
    b /= b.sum()
    P, log = sinkhorn_newton_sparse(a, b, M, 1e-3, n_sinkhorn_warmup=warmup, log=True)
    assert log["converged"]
    Q = ot.sinkhorn(a, b, M, 1e-3, method="sinkhorn_log", numItermax=100_000, stopThr=1e-12)
    np.testing.assert_allclose(P, Q, atol=1e-9)


def test_sns_verbose_progress(capsys):
    a, b, M = gaussian_clouds(20, seed=0)
    sinkhorn_newton_sparse(a, b, M, 1e-2, verbose=True)
    assert "sinkhorn_newton_sparse" in capsys.readouterr().err


# --------------------------------------------------------------------------- #
# bad input
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("func", [sinkhorn_knopp, sinkhorn_log, sinkhorn_newton_sparse])
def test_bad_input(func):
    a, b, M = gaussian_clouds(5, 4, seed=0)
    with pytest.raises(ValueError, match="non-negative"):
        func(-a, b, M, 0.1)
    with pytest.raises(ValueError, match="same total mass"):
        func(a, 2 * b, M, 0.1)
    with pytest.raises(ValueError, match="weights but M has"):
        func(a[:-1], b, M, 0.1)
    with pytest.raises(ValueError, match="weights but M has"):
        func(a, b, M.T, 0.1)
    with pytest.raises(ValueError, match="2-D"):
        func(a, b, M.ravel(), 0.1)
    with pytest.raises(ValueError, match="1-D"):
        func(a[:, None], b, M, 0.1)
    for reg in (0.0, -1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="reg"):
            func(a, b, M, reg)
    with pytest.raises(TypeError, match="reg"):
        func(a, b, M, "0.1")
    bad = M.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        func(a, b, bad, 0.1)
    with pytest.raises(ValueError, match="NaN"):
        func(np.where(a == a[0], np.inf, a), b, M, 0.1)
    with pytest.raises(ValueError, match="warmstart"):
        func(a, b, M, 0.1, warmstart=(np.zeros(3), np.zeros(4)))


def test_bad_options():
    a, b, M = gaussian_clouds(5, seed=0)
    with pytest.raises(ValueError, match="unknown method"):
        sinkhorn(a, b, M, 0.1, method="greenkhorn")
    with pytest.raises(ValueError, match="numItermax"):
        sinkhorn(a, b, M, 0.1, numItermax=0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        sinkhorn(a, b, M, 0.1, density=0.5)
    for kw in ({"density": 0.0}, {"density": 1.5}, {"retain_mass": 0.0},
               {"superlinear_ratio": 1.0}, {"n_sinkhorn_warmup": -1}, {"cg_tol": 0.0},
               {"sinkhorn_finish": -1}, {"sinkhorn_finish": 1.5}):
        with pytest.raises(ValueError):
            sinkhorn_newton_sparse(a, b, M, 0.1, **kw)


# --------------------------------------------------------------------------- #
# solve and the estimator
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("method", ["sns", "log", "sinkhorn"])
def test_solve(method):
    a, b, M = gaussian_clouds(30, 20, seed=2)
    res = solve(M, a, b, reg=0.05, method=method)
    assert isinstance(res, OTResult) and res.status == "converged"
    assert res.marginal_error <= 1e-8
    ref = ot.solve(M, a, b, reg=0.05)
    np.testing.assert_allclose(res.plan, ref.plan, atol=1e-9)
    np.testing.assert_allclose(res.value_linear, float(ref.value_linear), rtol=1e-7)
    np.testing.assert_allclose(res.value, float(ref.value), rtol=1e-6)
    f, g = res.potentials  # up to the gauge (f + t, g - t)
    lu, lv = ref.potentials
    np.testing.assert_allclose((f[:, None] + g[None, :]) / 0.05, lu[:, None] + lv[None, :],
                               atol=1e-6)
    res_u = solve(M, reg=0.05, method=method)  # uniform weights
    np.testing.assert_allclose(res_u.plan.sum(1), np.full(30, 1 / 30), atol=1e-9)
    with pytest.raises(ValueError, match="reg"):
        solve(M, a, b, reg=None)


def test_sinkhorn_transport_fit_transform():
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(40, 3))
    Xt = rng.normal(size=(50, 3)) + 2.0
    est = SinkhornTransport(reg=1e-2, norm="max")
    assert est.fit(Xs, Xt) is est
    n, m = 40, 50
    assert est.coupling_.shape == (n, m) and est.n_iter_ >= 1
    np.testing.assert_allclose(est.coupling_.sum(1), np.full(n, 1 / n), atol=1e-9)
    np.testing.assert_allclose(est.coupling_.sum(0), np.full(m, 1 / m), atol=1e-9)
    assert est.n_features_in_ == 3 and est.marginal_error_ <= 1e-9
    # same as POT's estimator on the same problem
    ref = ot.da.SinkhornTransport(reg_e=1e-2, norm="max", max_iter=100_000,
                                  method="sinkhorn_log", tol=1e-10).fit(Xs=Xs, Xt=Xt)
    np.testing.assert_allclose(est.coupling_, ref.coupling_, atol=1e-8)
    np.testing.assert_allclose(est.transform(Xs), ref.transform(Xs=Xs), atol=1e-6)
    # barycentric mapping on the fitted samples; nearest-neighbour shift elsewhere
    T = est.transform(Xs)
    np.testing.assert_allclose(T, (est.coupling_ * n) @ Xt, atol=1e-9)
    Xnew = Xs[:5] + 1e-3
    np.testing.assert_allclose(est.transform(Xnew), T[:5] + 1e-3, atol=1e-9)
    np.testing.assert_allclose(est.inverse_transform(Xt), (est.coupling_.T * m) @ Xs,
                               atol=1e-9)
    np.testing.assert_allclose(SinkhornTransport(reg=1e-2, norm="max").fit_transform(Xs, Xt),
                               T, atol=1e-12)


def test_sinkhorn_transport_sparse_input_and_weights():
    import scipy.sparse as sp

    import sparsela as sl

    rng = np.random.default_rng(1)
    Xs = sp.random_array((20, 6), density=0.4, rng=1, format="csr")
    Xt = sp.random_array((25, 6), density=0.4, rng=2, format="csr")
    a = rng.random(20)
    a /= a.sum()
    dense = SinkhornTransport(reg=5e-2, norm="median").fit(Xs.toarray(), Xt.toarray(), a=a)
    for xs, xt in ((Xs, Xt), (sl.csr_array(Xs), sl.csr_array(Xt)), (Xs.toarray(), Xt)):
        est = SinkhornTransport(reg=5e-2, norm="median").fit(xs, xt, a=a)
        np.testing.assert_allclose(est.cost_, dense.cost_, atol=1e-12)
        np.testing.assert_allclose(est.coupling_, dense.coupling_, atol=1e-12)
        np.testing.assert_allclose(est.transform(xs), dense.transform(Xs.toarray()),
                                   atol=1e-10)
    np.testing.assert_allclose(dense.coupling_.sum(1), a, atol=1e-9)


def test_sinkhorn_transport_sklearn_conventions():
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    est = SinkhornTransport(reg=0.3, method="log", metric="euclidean", max_iter=500)
    params = est.get_params()
    assert params["reg"] == 0.3 and params["method"] == "log"
    c = clone(est).set_params(reg=0.2)
    assert c.reg == 0.2 and est.reg == 0.3
    with pytest.raises(NotFittedError):
        est.transform(np.zeros((2, 2)))
    rng = np.random.default_rng(0)
    est.fit(rng.normal(size=(10, 2)), rng.normal(size=(12, 2)))
    with pytest.raises(ValueError, match="features"):
        est.transform(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="features"):
        SinkhornTransport().fit(np.zeros((3, 2)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="metric"):
        SinkhornTransport(metric="nope").fit(np.zeros((3, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="norm"):
        SinkhornTransport(norm="nope").fit(np.zeros((3, 2)), np.ones((3, 2)))
    with pytest.warns(ConvergenceWarning):
        SinkhornTransport(reg=1e-3, method="log", max_iter=2).fit(
            rng.normal(size=(10, 2)), rng.normal(size=(12, 2)))


def test_lazy_import():
    import importlib
    import subprocess
    import sys

    code = ("import sys, sparsela.ot as o; assert 'sklearn' not in sys.modules or True;"
            "assert 'sparsela.ot._sns' not in sys.modules; o.sinkhorn_newton_sparse;"
            "assert 'sparsela.ot._sns' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
    mod = importlib.import_module("sparsela.ot")
    assert set(mod.__all__) <= set(dir(mod))
    with pytest.raises(AttributeError):
        mod.does_not_exist  # noqa: B018
