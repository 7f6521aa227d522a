"""Lasso, ElasticNet and GroupLasso (block coordinate descent) on the GPU.

Parametrised with the ``device`` fixture (tests/conftest.py): every problem is
fitted on the CPU (the reference) and again with its inputs on ``device``
(the real GPU when CuPy sees one, else the simulated device, where the
persistent BCD kernel runs in Numba's CUDA simulator). Cyclic and greedy
rules make the CPU's choices, so ``coef_`` agrees to rounding with the same
``n_iter_``; the random rules draw from another generator on the GPU, so
their fits are compared at convergence only. Problems are tiny (<= 20 x 10)
because every GPU step runs simulated kernels without a GPU.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import (
    GPU_MODE,
    fast_thread_switches,
    on_device,
    record_transfers,
    to_host,
)
from sklearn.exceptions import ConvergenceWarning

import sparsela as sl
from sparsela._device import cupy, is_gpu_array
from sparsela.linear_model import ElasticNet, GroupLasso, Lasso

# the TypeError names both devices (sparsela._device.mismatch)
GPU = r"(?is)(gpu.*cpu|cpu.*gpu)"
DETERMINISTIC = ("cyclic", "gs", "gsl", "gsq")


@pytest.fixture(autouse=True, scope="module")
def _fast_thread_switches():
    # the persistent kernel passes a few barriers per block step: see
    # conftest.fast_thread_switches
    with fast_thread_switches():
        yield


def _problem(n=20, p=10, density=0.5, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * (rng.random((n, p)) < density)
    X[:, 3] *= 4.0  # unequal column norms: the rules differ
    w = np.zeros(p)
    w[[0, 3, 7]] = [1.5, -1.0, 0.8]
    y = X @ w + 0.1 * rng.standard_normal(n) + 0.5
    return X.astype(dtype), y


def _design(X, sparse, device):
    if sparse:
        return sl.csc_array(sp.csc_array(X)).to_device(device)
    return on_device(X, device)


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def _compare(make, X, y, device, sparse, *, exact, atol=1e-10):
    """Fit ``make()`` on the CPU and on ``device``; compare the fits."""
    ref = _fit(make(), _design(X, sparse, "cpu"), y)
    Xd = _design(X, sparse, device)
    est = _fit(make(), Xd, on_device(y, device))
    coef = to_host(est.coef_)
    if device == "gpu":
        assert is_gpu_array(est.coef_) and is_gpu_array(est.intercept_)
    assert coef.dtype == ref.coef_.dtype
    np.testing.assert_allclose(coef, ref.coef_, rtol=0, atol=atol)
    np.testing.assert_allclose(float(to_host(est.intercept_)), ref.intercept_, rtol=0,
                               atol=atol * 10)
    if exact and not sparse:
        assert est.n_iter_ == ref.n_iter_
    elif exact:
        # sparse X on the GPU: X.T @ r (and the greedy gradient updates) add
        # with atomics in whatever order the threads arrive, so a stopping
        # test that sits on its threshold may flip by one epoch
        assert abs(est.n_iter_ - ref.n_iter_) <= 1, (est.n_iter_, ref.n_iter_)
    pred = est.predict(Xd)
    if device == "gpu":
        assert is_gpu_array(pred)
    np.testing.assert_allclose(to_host(pred), ref.predict(_design(X, sparse, "cpu")),
                               rtol=1e-6, atol=atol * 100)
    return ref, est


# sparse GPU input runs every sparse operation as simulated kernels without a
# GPU: each rule runs on one or both kinds of X, not on every combination
@pytest.mark.parametrize("selection, sparse", [
    ("cyclic", False), ("cyclic", True), ("random", False), ("lipschitz", True),
    ("gs", False), ("gsl", True), ("gsq", False), ("gsq", True),
], ids=lambda v: {False: "dense", True: "sparse"}.get(v, v) if isinstance(v, bool) else v)
def test_lasso_rules_match_cpu(device, selection, sparse):
    X, y = _problem()
    exact = selection in DETERMINISTIC
    tol = 1e-8 if exact else 1e-12

    def make():
        return Lasso(alpha=0.1, selection=selection, tol=tol, max_iter=200,
                     random_state=0)

    _compare(make, X, y, device, sparse, exact=exact, atol=1e-10 if exact else 1e-6)


@pytest.mark.parametrize("selection, fit_intercept, dtype, sparse", [
    ("cyclic", False, np.float32, True),
    ("gsq", True, np.float32, False),
    ("gs", False, np.float64, False),
])
def test_lasso_dtype_and_intercept(device, selection, fit_intercept, dtype, sparse):
    X, y = _problem(dtype=dtype, seed=1)

    def make():
        return Lasso(alpha=0.05, selection=selection, fit_intercept=fit_intercept,
                     tol=1e-8, max_iter=200)

    _ref, est = _compare(make, X, y, device, sparse, exact=True, atol=1e-6)
    assert to_host(est.coef_).dtype == dtype


@pytest.mark.parametrize("params, sparse", [
    ({"selection": "gsl", "block_size": 3}, False),
    ({"selection": "cyclic", "block_size": 3, "update": "newton"}, True),
    ({"selection": "gsq", "blocks": "variable", "block_size": 3}, True),
    ({"selection": "gs", "blocks": "variable", "block_size": 2, "update": "newton"}, False),
    ({"selection": "cyclic", "working_set": False, "active_set_newton": False}, False),
    ({"selection": "gsl", "history": "iteration", "positive": True}, False),
], ids=["gsl-b3", "cyclic-newton-b3-sparse", "gsq-variable-sparse", "gs-variable-newton",
        "no-ws", "history-positive"])
def test_elastic_net_options_match_cpu(device, params, sparse):
    X, y = _problem(seed=2)

    def make():
        return ElasticNet(alpha=0.05, l1_ratio=0.7, tol=1e-8, max_iter=200, **params)

    ref, est = _compare(make, X, y, device, sparse, exact=True, atol=1e-9)
    if params.get("history") == "iteration":
        np.testing.assert_allclose(est.objective_path_, ref.objective_path_, rtol=1e-9)
        np.testing.assert_array_equal(est.iteration_path_, ref.iteration_path_)


@pytest.mark.parametrize("selection, sparse", [("random", False), ("lipschitz", True)])
def test_random_variable_blocks_converge_to_cpu(device, selection, sparse):
    X, y = _problem(seed=3)

    def make():
        return Lasso(alpha=0.1, selection=selection, blocks="variable", block_size=2,
                     tol=1e-12, max_iter=300, random_state=1)

    _compare(make, X, y, device, sparse, exact=False, atol=1e-6)


@pytest.mark.parametrize("selection, update, block_size, sparse", [
    ("cyclic", "gradient", 1, True), ("gsl", "gradient", 2, False),
    ("gsq", "newton", 2, False),
])
def test_group_lasso_matches_cpu(device, selection, update, block_size, sparse):
    X, y = _problem(seed=4)
    groups = [0, 0, 1, 1, 1, 2, 3, 3, 4, 4]

    def make():
        return GroupLasso(groups=groups, alpha=0.08, selection=selection, update=update,
                          block_size=block_size, weights=[1.0, 1.5, 0.5, 1.0, 2.0],
                          tol=1e-8, max_iter=200)

    # the group steps end without an exact Newton solve: agreement to the
    # rounding amplified along the run, far below the tolerance's accuracy
    _compare(make, X, y, device, sparse, exact=True, atol=1e-7)


def test_warm_start_and_zero_columns(device):
    # a zero column (dead coordinate) and a warm start from the previous fit
    X, y = _problem(seed=5)
    X[:, 5] = 0.0
    ref = Lasso(alpha=0.05, tol=1e-8, warm_start=True)
    est = Lasso(alpha=0.05, tol=1e-8, warm_start=True)
    Xd, yd = on_device(X, device), on_device(y, device)
    for alpha in (0.1, 0.05):
        ref.set_params(alpha=alpha)
        est.set_params(alpha=alpha)
        _fit(ref, X, y)
        _fit(est, Xd, yd)
        assert est.n_iter_ == ref.n_iter_
        np.testing.assert_allclose(to_host(est.coef_), ref.coef_, rtol=0, atol=1e-10)
    assert to_host(est.coef_)[5] == 0.0


def test_matches_sklearn_on_the_device(device):
    from sklearn.linear_model import Lasso as SkLasso

    X, y = _problem(seed=6)
    sk = SkLasso(alpha=0.05, tol=1e-10, max_iter=10000).fit(X, y)
    est = _fit(Lasso(alpha=0.05, tol=1e-10, selection="gs"), on_device(X, device),
               on_device(y, device))
    np.testing.assert_allclose(to_host(est.coef_), sk.coef_, atol=1e-6)
    np.testing.assert_allclose(float(to_host(est.intercept_)), sk.intercept_, atol=1e-6)
    np.testing.assert_array_equal(to_host(est.sparse_coef_).toarray().ravel(),
                                  to_host(est.coef_))


def test_device_mismatch_is_a_type_error():
    xp = cupy()
    X, y = _problem()
    Xg, yg = xp.asarray(X), xp.asarray(y)
    for Xa, ya in ((Xg, y), (X, yg)):
        with pytest.raises(TypeError, match=GPU):
            Lasso(alpha=0.1).fit(Xa, ya)
    with pytest.raises(TypeError, match=GPU):
        Lasso(alpha=0.1).fit(sl.csc_array(sp.csc_array(X)).to_device("gpu"), y)
    cpu_fit = _fit(Lasso(alpha=0.1, max_iter=5), X, y)
    gpu_fit = _fit(Lasso(alpha=0.1, max_iter=5), Xg, yg)
    with pytest.raises(TypeError, match=GPU):
        cpu_fit.predict(Xg)
    with pytest.raises(TypeError, match=GPU):
        gpu_fit.predict(X)
    with pytest.raises(TypeError, match=GPU):
        gpu_fit.predict(sl.csr_array(sp.csr_array(X)))
    # a warm start from coefficients on the other device
    est = _fit(Lasso(alpha=0.1, max_iter=5, warm_start=True), X, y)
    with pytest.raises(TypeError, match=GPU):
        est.fit(Xg, yg)


def test_gpu_kernels_match_cpu_kernels():
    # the mirrored functions the estimators do not reach with these sizes
    from sparsela.backends.cpu import bcd as cpu
    from sparsela.backends.gpu import bcd as gpu

    xp = cupy()
    X, y = _problem(seed=7)
    A = sp.csc_array(X)
    n, p = X.shape
    mu = X.mean(axis=0)
    args = (A.indptr.astype(np.int64), A.indices.astype(np.int64), A.data)
    dargs = tuple(xp.asarray(a) for a in args)
    dummy = np.zeros((1, 1), order="F")
    cols = np.array([7, 0, 3], dtype=np.int64)
    G = cpu.gram(False, dummy, *args, mu, float(n), cols)
    Gd = gpu.gram(False, xp.asarray(dummy), *dargs, xp.asarray(mu), float(n),
                  xp.asarray(cols))
    np.testing.assert_allclose(to_host(Gd), G, rtol=1e-13, atol=1e-12)
    out, outd = np.empty(3), xp.empty(3)
    cpu.csc_corr_subset(*args, y, mu, 1.5, cols, out)
    gpu.csc_corr_subset(*dargs, xp.asarray(y), xp.asarray(mu), 1.5, xp.asarray(cols), outd)
    np.testing.assert_allclose(to_host(outd), out, rtol=1e-12, atol=1e-12)
    # Lipschitz constants of sets (Jacobi vs LAPACK), dense and sparse
    ptr = np.array([0, 3, 3, 4, 7], dtype=np.int64)
    idx = np.array([1, 2, 3, 9, 4, 5, 6], dtype=np.int64)
    for dense in (False, True):
        Xd = np.asfortranarray(X - mu) if dense else dummy
        L, Ld = np.empty(4), xp.empty(4)
        cpu.set_lipschitz(dense, Xd, *args, mu * (not dense), float(n), ptr, idx, L)
        gpu.set_lipschitz(dense, xp.asarray(Xd, order="F"), *dargs,
                          xp.asarray(mu * (not dense)), float(n), xp.asarray(ptr),
                          xp.asarray(idx), Ld)
        np.testing.assert_allclose(to_host(Ld), L, rtol=1e-12)
    # block violations over groups
    g_ptr = np.array([0, 2, 3, 5, 10], dtype=np.int64)
    g_idx = np.arange(p, dtype=np.int64)
    wt = np.array([1.0, 0.5, 2.0, 1.0])
    w = np.linspace(-0.5, 0.5, p)
    corr = np.linspace(-3.0, 2.0, p)
    blk_ptr = np.array([0, 1, 3, 4], dtype=np.int64)
    L_blk = np.array([2.0, 0.0, 3.5])
    v, vd = np.empty(3), xp.empty(3)
    cpu.block_violations(g_ptr, g_idx, wt, blk_ptr, g_idx[:4], L_blk, w, corr, 0.1, 0.01,
                         float(n), False, v)
    d = [xp.asarray(a) for a in (g_ptr, g_idx, wt, blk_ptr, g_idx[:4], L_blk, w, corr)]
    gpu.block_violations(*d, 0.1, 0.01, float(n), False, vd)
    np.testing.assert_allclose(to_host(vd), v, rtol=1e-13)


@pytest.mark.skipif(GPU_MODE != "simulated", reason="counts transfers of the simulated device")
@pytest.mark.parametrize("params", [{"selection": "cyclic"}, {"selection": "gsq"},
                                    {"selection": "cyclic", "working_set": False}])
def test_few_device_to_host_transfers_per_epoch(monkeypatch, params):
    # every .get() / float() / int() / bool() of a device array is a synchronising
    # transfer: the block steps never make one; each epoch reads a few scalars
    # (step count, stopping tests, working-set size) and the gap's in one .get()
    xp = cupy()
    X, y = _problem(n=20, p=30, seed=3)
    X, y = xp.asarray(X), xp.asarray(y)
    copies = record_transfers(monkeypatch)
    est = _fit(Lasso(alpha=0.02, tol=1e-10, max_iter=30, **params), X, y)
    assert est.n_iter_ >= 2
    assert len(copies) <= 6 * est.n_iter_ + 12, (len(copies), est.n_iter_)
