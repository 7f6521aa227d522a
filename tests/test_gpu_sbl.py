"""SBLRegression and KroneckerSBL on the GPU: the same fits as on the CPU.

Parametrised with the ``device`` fixture (tests/conftest.py): every problem is
fitted on the CPU (the reference) and again with its inputs on ``device``
(the real GPU when CuPy sees one, else the simulated device), and the fitted
attributes and predictions, brought back with ``to_host``, must agree with
the CPU fit, with the same number of iterations (the algorithms are
deterministic). Dense GPU work runs as NumPy on the simulated device, so the
dense problems are the ones of test_sbl.py's size; sparse GPU input launches
simulated kernels and is kept tiny.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import GPU_MODE, on_device, record_transfers, to_host
from sklearn.exceptions import ConvergenceWarning

import sparsela as sl
from sparsela._device import cupy, is_gpu_array
from sparsela.linear_model import KroneckerSBL, SBLRegression

# the TypeError names both devices (sparsela._device.mismatch)
GPU = r"(?is)(gpu.*cpu|cpu.*gpu)"
# a real GPU's cuSOLVER/cuBLAS round differently from LAPACK along the iterations
RTOL, ATOL = 1e-6, 1e-8


def _on(device, *arrays):
    return [on_device(a, device) for a in arrays]


def _problem(n=30, p=60, cplx=False, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[[2, 17, 40]] = [2.0, -1.5, 1.0]
    if cplx:
        X = X + 1j * rng.standard_normal((n, p))
        w = w.astype(complex)
        w[17] += 0.5j
    y = X @ w + 0.05 * rng.standard_normal(n) + 0.3
    return X, y


def _fit_quiet(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def _assert_same_fit(ref, est, device, attrs):
    assert est.n_iter_ == ref.n_iter_
    for name in attrs:
        a, b = getattr(est, name), getattr(ref, name)
        if device == "gpu":
            assert is_gpu_array(a), name  # fitted arrays live on the input's device
        np.testing.assert_allclose(to_host(a), b, rtol=RTOL, atol=ATOL, err_msg=name)
    np.testing.assert_allclose(est.alpha_, ref.alpha_, rtol=RTOL)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("update, fit_intercept, cplx, solver", [
    ("em", True, False, "auto"),
    ("mackay", True, False, "auto"),
    ("mackay", False, False, "auto"),
    ("em", False, True, "auto"),
    ("mackay", True, True, "auto"),
    ("mackay", True, False, "primal"),
    ("em", True, False, "woodbury"),
])
def test_sbl_dense_matches_cpu(device, update, fit_intercept, cplx, solver):
    X, y = _problem(cplx=cplx)
    params = {"update": update, "fit_intercept": fit_intercept, "solver": solver,
              "max_iter": 60}
    ref = _fit_quiet(SBLRegression(**params), X, y)
    Xd, yd = _on(device, X, y)
    est = _fit_quiet(SBLRegression(**params), Xd, yd)
    _assert_same_fit(ref, est, device,
                     ["coef_", "lambda_", "sigma_", "scores_", "X_offset_"])
    assert est.sigma_.shape == ref.sigma_.shape
    # predictions (and their std) on the device, equal to the CPU ones
    Xt = _problem(n=8, cplx=cplx, seed=1)[0]
    mean, std = est.predict(on_device(Xt, device), return_std=True)
    mean_ref, std_ref = ref.predict(Xt, return_std=True)
    if device == "gpu":
        assert is_gpu_array(mean) and is_gpu_array(std)
    np.testing.assert_allclose(to_host(mean), mean_ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(to_host(std), std_ref, rtol=RTOL, atol=ATOL)


def test_sbl_tall_problem_and_complex_y_real_X(device):
    # p <= n: the Gram matrix of all features at once; a real X with a complex y
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 12))
    y = X @ (rng.standard_normal(12) + 1j * rng.standard_normal(12))
    ref = _fit_quiet(SBLRegression(update="em", max_iter=40), X, y)
    est = _fit_quiet(SBLRegression(update="em", max_iter=40), *_on(device, X, y))
    _assert_same_fit(ref, est, device, ["coef_", "lambda_", "sigma_"])
    assert np.iscomplexobj(to_host(est.coef_))
    np.testing.assert_allclose(to_host(est.predict(on_device(X, device))), ref.predict(X),
                               rtol=RTOL, atol=1e-8)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sbl_sparse_matches_cpu(device, fit_intercept):
    # tiny: every sparse GPU operation runs simulated kernels without a GPU
    S = sp.random(16, 12, density=0.35, format="csr", random_state=2)
    y = S @ np.r_[1.5, np.zeros(5), -2.0, np.zeros(5)] + 0.2
    A = sl.csr_array(S)
    params = {"update": "mackay", "fit_intercept": fit_intercept, "max_iter": 4}
    ref = _fit_quiet(SBLRegression(**params), A, y)
    Ad = A.to_device(device)
    est = _fit_quiet(SBLRegression(**params), Ad, on_device(y, device))
    _assert_same_fit(ref, est, device, ["coef_", "lambda_", "sigma_", "X_offset_"])
    mean, std = est.predict(Ad, return_std=True)
    mean_ref, std_ref = ref.predict(A, return_std=True)
    np.testing.assert_allclose(to_host(mean), mean_ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(to_host(std), std_ref, rtol=RTOL, atol=ATOL)


def test_sbl_float32_and_int_y(device):
    # float32 X and an integer y are validated on the device and fitted in float64
    X, y = _problem()
    X32, yi = X.astype(np.float32), np.round(4 * y).astype(np.int64)
    ref = _fit_quiet(SBLRegression(max_iter=30), X32, yi)
    est = _fit_quiet(SBLRegression(max_iter=30), *_on(device, X32, yi))
    _assert_same_fit(ref, est, device, ["coef_", "lambda_", "sigma_"])
    assert to_host(est.coef_).dtype == np.float64


def test_sbl_warm_start_on_the_device(device):
    X, y = _problem()
    ref = SBLRegression(max_iter=3, warm_start=True)
    est = SBLRegression(max_iter=3, warm_start=True)
    Xd, yd = _on(device, X, y)
    for _ in range(2):
        _fit_quiet(ref, X, y)
        _fit_quiet(est, Xd, yd)
    _assert_same_fit(ref, est, device, ["coef_", "lambda_"])


def _kron_problem(cplx=False, seed=0):
    rng = np.random.default_rng(seed)
    A = [rng.standard_normal((m, 5)) / np.sqrt(m) for m in (4, 5, 3)]
    if cplx:
        A = [a + 1j * rng.standard_normal(a.shape) / np.sqrt(a.shape[0]) for a in A]
    x = np.zeros((5, 5, 5))
    x[np.ix_([1, 3], [0, 4], [2, 3])] = rng.standard_normal((2, 2, 2)) + 2.0
    H = np.kron(A[0], np.kron(A[1], A[2]))
    y = H @ x.ravel() + 0.01 * rng.standard_normal(H.shape[0])
    return A, y


@pytest.mark.parametrize("method", ["am", "svd"])
@pytest.mark.parametrize("cplx", [False, True])
def test_kronecker_sbl_matches_cpu(device, method, cplx):
    A, y = _kron_problem(cplx=cplx)
    ref = _fit_quiet(KroneckerSBL(method, max_iter=80), A, y)
    Ad = _on(device, *A)
    est = _fit_quiet(KroneckerSBL(method, max_iter=80), Ad, on_device(y, device))
    assert est.n_iter_ == ref.n_iter_
    assert [s.tolist() for s in est.support_] == [s.tolist() for s in ref.support_]
    for name in ("coef_", "lambda_", "scores_"):
        a = getattr(est, name)
        if device == "gpu":
            assert is_gpu_array(a), name
        np.testing.assert_allclose(to_host(a), getattr(ref, name), rtol=1e-6, atol=1e-8,
                                   err_msg=name)
    for g, gr in zip(est.gammas_, ref.gammas_):
        np.testing.assert_allclose(to_host(g), gr, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(est.alpha_, ref.alpha_, rtol=1e-6)
    pred = est.predict(Ad)
    if device == "gpu":
        assert is_gpu_array(pred)
    np.testing.assert_allclose(to_host(pred), ref.predict(A), rtol=1e-6, atol=1e-8)
    H = np.kron(A[0], np.kron(A[1], A[2]))
    np.testing.assert_allclose(to_host(est.predict(on_device(H, device))), ref.predict(H),
                               rtol=1e-6, atol=1e-8)


def test_kronecker_sbl_sparse_factors_match_cpu(device):
    # tiny and few iterations: sparse GPU factors run simulated kernels without a GPU
    A, y = _kron_problem()
    rng = np.random.default_rng(5)
    A = [a * (rng.random(a.shape) < 0.7) for a in A]
    S = [sl.csr_array(sp.csr_array(a)) for a in A]
    ref = _fit_quiet(KroneckerSBL("am", max_iter=3), S, y)
    Sd = [a.to_device(device) for a in S]
    est = _fit_quiet(KroneckerSBL("am", max_iter=3), Sd, on_device(y, device))
    assert est.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(to_host(est.coef_), ref.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(to_host(est.predict(Sd)), ref.predict(S), rtol=1e-6, atol=1e-8)
    # the same fit as with the dense factors
    np.testing.assert_allclose(ref.coef_, _fit_quiet(KroneckerSBL("am", max_iter=3), A, y).coef_,
                               rtol=1e-8, atol=1e-10)


def test_kronecker_sbl_one_factor_matches_cpu(device):
    X, y = _problem(n=20, p=45)
    ref = _fit_quiet(KroneckerSBL(max_iter=50), X, y)
    est = _fit_quiet(KroneckerSBL(max_iter=50), *_on(device, X, y))
    assert est.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(to_host(est.coef_), ref.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(to_host(est.predict(on_device(X, device))), ref.predict(X),
                               rtol=1e-6, atol=1e-8)


def test_mixed_devices_are_type_errors():
    xp = cupy()
    X, y = _problem(n=10, p=45)
    Xg, yg = xp.asarray(X), xp.asarray(y)
    for Xa, ya in ((Xg, y), (X, yg)):
        with pytest.raises(TypeError, match=GPU):
            SBLRegression(max_iter=2).fit(Xa, ya)
        with pytest.raises(TypeError, match=GPU):
            KroneckerSBL(max_iter=2).fit(Xa, ya)
    with pytest.raises(TypeError, match=GPU):
        SBLRegression(max_iter=2).fit(sl.csr_array(sp.csr_array(X)).to_device("gpu"), y)
    cpu_fit = _fit_quiet(SBLRegression(max_iter=2), X, y)
    gpu_fit = _fit_quiet(SBLRegression(max_iter=2), Xg, yg)
    with pytest.raises(TypeError, match=GPU):
        cpu_fit.predict(Xg)
    with pytest.raises(TypeError, match=GPU):
        gpu_fit.predict(X, return_std=True)
    A, yk = _kron_problem()
    with pytest.raises(TypeError, match=GPU):  # factors on two devices
        KroneckerSBL(max_iter=2).fit([A[0], xp.asarray(A[1]), A[2]], yk)
    with pytest.raises(TypeError, match=GPU):  # factors and y apart
        KroneckerSBL(max_iter=2).fit([xp.asarray(a) for a in A], yk)
    kron_cpu = _fit_quiet(KroneckerSBL(max_iter=2), A, yk)
    with pytest.raises(TypeError, match=GPU):
        kron_cpu.predict([xp.asarray(a) for a in A])
    with pytest.raises(TypeError, match=GPU):
        kron_cpu.predict(xp.asarray(np.kron(A[0], np.kron(A[1], A[2]))))


@pytest.mark.skipif(GPU_MODE != "simulated", reason="counts transfers of the simulated device")
@pytest.mark.parametrize("which", ["sbl-em", "sbl-mackay", "kron-am"])
def test_one_device_to_host_transfer_per_iteration(monkeypatch, which):
    # every .get() / float() / int() / bool() of a device array is a synchronising
    # transfer; the fits make one per iteration plus a few for set-up and the end
    xp = cupy()
    if which.startswith("sbl"):
        X, y = _problem()
        args = (xp.asarray(X), xp.asarray(y))
        est = SBLRegression(update=which[4:], max_iter=40)
    else:
        A, y = _kron_problem()
        args = ([xp.asarray(a) for a in A], xp.asarray(y))
        est = KroneckerSBL("am", max_iter=40)
    copies = record_transfers(monkeypatch)
    _fit_quiet(est, *args)
    assert est.n_iter_ > 5
    assert len(copies) <= est.n_iter_ + 12, (len(copies), est.n_iter_)
