"""Sinkhorn-Newton-Sparse on the GPU: ``sinkhorn_newton_sparse``,
``sinkhorn(method='sns')``, ``solve`` and ``SinkhornTransport`` on device
input give the CPU's plan on the device; the GPU kernels of
``backends/gpu/ot.py`` give the CPU kernels' results.

Parametrised with the ``device`` fixture (tests/conftest.py): each problem is
solved from NumPy input (the reference) and from input on ``device`` (a real
CUDA device when CuPy sees one, else the simulated device, where the sparse
products of the CG solves run as simulated kernels: the problems are tiny).
The GPU's iterates agree with the CPU's to rounding (cuBLAS and the sparse
kernels sum in other orders), so plans are compared to tolerances, and
iteration counts to within a step or two.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import (
    GPU_MODE,
    gaussian_clouds,
    on_device,
    on_devices,
    record_transfers,
    to_host,
)

import sparsela as sl
from sparsela._device import cupy, is_gpu_array
from sparsela.backends import lazy
from sparsela.ot import (
    SinkhornTransport,
    marginal_error,
    sinkhorn,
    sinkhorn_newton_sparse,
    solve,
)

ot = pytest.importorskip("ot")

TOL = 1e-9


def assert_on(x, device):
    if device == "gpu":
        assert is_gpu_array(x), f"expected a device array, got {type(x).__name__}"
    else:
        assert isinstance(x, np.ndarray), f"expected an ndarray, got {type(x).__name__}"


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def check_against_cpu(P, log, P_ref, log_ref, a, b, device, max_step_diff=2):
    assert_on(P, device)
    Ph = to_host(P)
    assert Ph.dtype == np.float64
    # both converged plans lie within tol of the one solution
    np.testing.assert_allclose(Ph, P_ref, rtol=1e-6, atol=1e-9)
    assert log["converged"] == log_ref["converged"]
    if log_ref["converged"]:
        assert marginal_error(Ph, a, b) <= TOL
    assert abs(log["n_newton"] - log_ref["n_newton"]) <= max_step_diff
    assert abs(log["n_sinkhorn"] - log_ref["n_sinkhorn"]) <= 5 * max_step_diff
    assert log["n_iter"] == log["n_sinkhorn"] + log["n_newton"]
    assert log["niter"] == max(log["n_iter"] - 1, 0)


# =========================================================================== #
# the solver: device vs CPU vs POT (tiny problems: on the simulated device
# every CG iteration is two simulated SpMV launches, ~0.1 s each)
# =========================================================================== #
def test_sns_matches_cpu_and_pot(device):
    """reg = 1e-2 on a cost of max 1: exp(-M/reg) reaches 1e-43, the Newton
    stage does the work (4 steps, 18 CG iterations)."""
    a, b, M = gaussian_clouds(8, 6, seed=0)
    reg = 1e-2
    P_ref, log_ref = sinkhorn_newton_sparse(a, b, M, reg, tol=TOL, log=True)
    P, log = sinkhorn_newton_sparse(*on_devices(device, a, b, M), reg, tol=TOL, log=True)
    check_against_cpu(P, log, P_ref, log_ref, a, b, device)
    assert log["converged"] and log["n_newton"] >= 3
    Q = ot.sinkhorn(a, b, M, reg, method="sinkhorn_log", numItermax=200_000, stopThr=1e-12)
    np.testing.assert_allclose(to_host(P), Q, rtol=1e-5, atol=1e-9)
    # the log's arrays live on the device and match the CPU's
    for key in ("u", "v", "log_u", "log_v"):
        assert_on(log[key], device)
        np.testing.assert_allclose(to_host(log[key]), log_ref[key], rtol=1e-6)
    for f, f_ref in zip(log["potentials"], log_ref["potentials"]):
        assert_on(f, device)
        np.testing.assert_allclose(to_host(f), f_ref, rtol=1e-6, atol=1e-12)
    f, g = (to_host(x) for x in log["potentials"])
    np.testing.assert_allclose(np.exp((f[:, None] + g[None, :] - M) / reg), to_host(P),
                               rtol=1e-8, atol=1e-15)
    # host lists of host numbers, one entry per step, the CPU's keys
    assert set(log) == set(log_ref)
    for key in ("err", "err_sinkhorn", "density", "cg_iter", "step", "damping"):
        assert isinstance(log[key], list)
        assert all(isinstance(x, (float, int)) and not is_gpu_array(x) for x in log[key])
    assert len(log["err"]) == log["n_newton"] + 1 and log["err"][-1] < TOL
    assert len(log["density"]) == len(log["cg_iter"]) == len(log["step"]) == log["n_newton"]
    assert len(log["err_sinkhorn"]) == log["n_sinkhorn"]
    assert all(0 < d <= 1 for d in log["density"])
    np.testing.assert_allclose(log["err_sinkhorn"], log_ref["err_sinkhorn"], rtol=1e-6)
    if log["n_newton"] == log_ref["n_newton"]:  # the same path: the same steps
        assert log["density"] == log_ref["density"] and log["step"] == log_ref["step"]
        np.testing.assert_allclose(log["err"], log_ref["err"], rtol=1e-3, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sns_dtypes_small_reg_and_zero_weight(device, dtype):
    """reg = 1e-3 (plain Sinkhorn would underflow: exp(-1000)), a zero
    weight (solved on the support, embedded back with -inf potentials),
    float32 input (solved in float64); two Newton steps compared step by
    step with the CPU's."""
    a, b, M = gaussian_clouds(6, 5, seed=1, zero_a=True, dtype=dtype)
    kw = {"tol": TOL, "log": True, "max_newton": 2, "n_sinkhorn_warmup": 10,
          "sinkhorn_finish": 0, "warn": False}
    P_ref, log_ref = sinkhorn_newton_sparse(a, b, M, 1e-3, **kw)
    P, log = sinkhorn_newton_sparse(*on_devices(device, a, b, M), 1e-3, **kw)
    assert_on(P, device)
    Ph = to_host(P)
    assert Ph.dtype == np.float64 and np.isfinite(Ph).all() and (Ph[2] == 0).all()
    assert log["n_newton"] == log_ref["n_newton"] == 2 and log["n_sinkhorn"] == 10
    np.testing.assert_allclose(log["err"], log_ref["err"], rtol=1e-6)
    np.testing.assert_allclose(Ph, P_ref, rtol=1e-6, atol=1e-12)
    assert to_host(log["log_u"])[2] == -np.inf
    assert np.isfinite(to_host(log["log_v"])).all()


def test_sns_fronts_on_device(device):
    """ot.sinkhorn(method='sns'), solve (whose default is 'sns') and a warm
    start on the device; the paper's two stages with a fixed density."""
    a, b, M = gaussian_clouds(9, 8, seed=2)
    da, db, dM = on_devices(device, a, b, M)
    # reg = 0.05: Sinkhorn finishes (no Newton step: cheap on the simulator)
    ref, ref_log = sinkhorn(a, b, M, 0.05, method="sns", log=True)
    P, log = sinkhorn(da, db, dM, 0.05, method="sinkhorn_newton_sparse", log=True)
    check_against_cpu(P, log, ref, ref_log, a, b, device, max_step_diff=0)
    res_ref = solve(M, a, b, reg=0.05)
    res = solve(dM, da, db, reg=0.05)
    assert_on(res.plan, device) and res.status == res_ref.status == "converged"
    np.testing.assert_allclose(to_host(res.plan), res_ref.plan, rtol=1e-6, atol=1e-9)
    assert res.n_iter == res_ref.n_iter
    for name in ("value", "value_linear"):
        assert isinstance(getattr(res, name), float)
        np.testing.assert_allclose(getattr(res, name), getattr(res_ref, name), rtol=1e-8)
    assert res.marginal_error <= TOL
    # a warm start on the device (the potentials of a looser solve)
    reg = 5e-3
    _, lw = sinkhorn_newton_sparse(a, b, M, reg, tol=1e-3, log=True, warn=False)
    ws = (lw["log_u"], lw["log_v"])
    kw = {"log": True, "n_sinkhorn_warmup": 2, "sinkhorn_finish": 0, "max_newton": 2,
          "warn": False}
    P2_ref, l2_ref = sinkhorn_newton_sparse(a, b, M, reg, **kw, warmstart=ws)
    P2, l2 = sinkhorn_newton_sparse(da, db, dM, reg, **kw, warmstart=on_devices(device, *ws))
    assert l2["n_sinkhorn"] == l2_ref["n_sinkhorn"] == 2
    assert l2["n_newton"] == l2_ref["n_newton"]
    np.testing.assert_allclose(l2["err"], l2_ref["err"], rtol=1e-5)
    np.testing.assert_allclose(to_host(P2), P2_ref, rtol=1e-6, atol=1e-12)
    # the paper's rule: a fixed density, Newton after exactly N_1 iterations
    kw = {"n_sinkhorn_warmup": 5, "sinkhorn_finish": 0, "adaptive": False,
          "density": 0.3, "log": True, "max_newton": 2, "warn": False}
    Pf_ref, lf_ref = sinkhorn_newton_sparse(a, b, M, reg, **kw)
    Pf, lf = sinkhorn_newton_sparse(da, db, dM, reg, **kw)
    assert lf["n_sinkhorn"] == lf_ref["n_sinkhorn"] == 5
    assert lf["density"] == lf_ref["density"] and len(lf["density"]) == 2
    np.testing.assert_allclose(lf["err"], lf_ref["err"], rtol=1e-5)
    np.testing.assert_allclose(to_host(Pf), Pf_ref, rtol=1e-6, atol=1e-12)


def test_sns_kernel_underflow_log_domain(device):
    """exp(-M/reg) is 0 everywhere, and a column has no mass after the row
    shift: the first iteration falls back to the log domain (on the device;
    then Sinkhorn finishes: no Newton step, cheap on the simulator)."""
    rng = np.random.default_rng(3)
    M = 800.0 + 10.0 * rng.random((6, 7))
    M[:, 0] += 1000.0
    a, b = np.full(6, 1 / 6), np.full(7, 1 / 7)
    P_ref, log_ref = sinkhorn_newton_sparse(a, b, M, 1.0, tol=1e-10, log=True)
    P, log = sinkhorn_newton_sparse(*on_devices(device, a, b, M), 1.0, tol=1e-10, log=True)
    assert log_ref["converged"] and log["converged"]
    assert np.isfinite(to_host(P)).all()
    np.testing.assert_allclose(to_host(P), P_ref, rtol=1e-8, atol=1e-13)
    assert (log["n_sinkhorn"], log["n_newton"]) == (log_ref["n_sinkhorn"], log_ref["n_newton"])
    Q = ot.sinkhorn(a, b, M, 1.0, method="sinkhorn_log", numItermax=20_000, stopThr=1e-12)
    np.testing.assert_allclose(to_host(P), Q, atol=1e-10)


def test_sns_not_converged_warns(device):
    a, b, M = gaussian_clouds(6, 7, seed=3)
    kw = {"tol": 1e-15, "max_newton": 2, "n_sinkhorn_warmup": 3, "sinkhorn_finish": 0,
          "log": True}
    with pytest.warns(Warning, match="did not converge"):
        P, log = sinkhorn_newton_sparse(*on_devices(device, a, b, M), 1e-3, **kw)
    assert not log["converged"] and log["n_newton"] == 2 and log["n_sinkhorn"] == 3
    assert_on(P, device)
    _, log_ref = quiet(sinkhorn_newton_sparse, a, b, M, 1e-3, **kw)
    np.testing.assert_allclose(log["err"], log_ref["err"], rtol=1e-4)


# =========================================================================== #
# errors
# =========================================================================== #
def test_bad_input_on_device():
    xp = cupy()
    a, b, M = gaussian_clouds(5, 6)
    da, db, dM = xp.asarray(a), xp.asarray(b), xp.asarray(M)
    with pytest.raises(ValueError, match="same total mass"):
        sinkhorn_newton_sparse(da, db * 2, dM, 0.1)
    with pytest.raises(ValueError, match="non-negative"):
        sinkhorn_newton_sparse(-da, db, dM, 0.1)
    bad = M.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        sinkhorn_newton_sparse(da, db, xp.asarray(bad), 0.1)
    with pytest.raises(ValueError, match="reg"):
        sinkhorn_newton_sparse(da, db, dM, 0.0)
    with pytest.raises(ValueError, match="density"):
        sinkhorn_newton_sparse(da, db, dM, 0.1, density=2.0)
    with pytest.raises(ValueError, match="a has 4 weights"):
        sinkhorn_newton_sparse(da[:4], db, dM, 0.1)
    with pytest.raises(ValueError, match="warmstart shapes"):
        sinkhorn_newton_sparse(da, db, dM, 0.1, warmstart=(xp.zeros(4), xp.zeros(6)))


def test_device_mismatch_raises():
    xp = cupy()
    a, b, M = gaussian_clouds(5, 6)
    da, db, dM = xp.asarray(a), xp.asarray(b), xp.asarray(M)
    with pytest.raises(TypeError, match=r"a is on the CPU and M on the GPU"):
        sinkhorn_newton_sparse(a, db, dM, 0.1)
    with pytest.raises(TypeError, match=r"b is on the GPU and M on the CPU"):
        sinkhorn_newton_sparse(a, db, M, 0.1)
    with pytest.raises(TypeError, match=r"warmstart\[0\] is on the CPU and M on the GPU"):
        sinkhorn_newton_sparse(da, db, dM, 0.1, warmstart=(np.zeros(5), xp.zeros(6)))
    with pytest.raises(TypeError, match=r"warmstart\[1\] is on the GPU and M on the CPU"):
        sinkhorn(a, b, M, 0.1, method="sns", warmstart=(np.zeros(5), xp.zeros(6)))
    with pytest.raises(TypeError, match=r"b is on the CPU and M on the GPU"):
        solve(dM, da, b, reg=0.1)
    rng = np.random.default_rng(0)
    Xs, Xt = rng.normal(size=(6, 2)), rng.normal(size=(7, 2))
    with pytest.raises(TypeError, match=r"Xs is on the GPU and Xt on the CPU"):
        SinkhornTransport().fit(xp.asarray(Xs), Xt)
    with pytest.raises(TypeError, match=r"on the CPU and M on the GPU"):
        SinkhornTransport(metric="cityblock").fit(xp.asarray(Xs), xp.asarray(Xt),
                                                  a=np.ones(6) / 6)


# =========================================================================== #
# SinkhornTransport: SNS and every metric on the device
# =========================================================================== #
def test_transport_sns_on_device(device):
    rng = np.random.default_rng(5)
    Xs, Xt = rng.normal(size=(9, 3)), rng.normal(size=(10, 3)) + 1.0
    # method='sns' (the default); reg = 0.05: Sinkhorn finishes (no Newton
    # step: the simulated device runs every CG iteration as sparse kernels)
    est = {"reg": 5e-2, "norm": "max"}
    ref = SinkhornTransport(**est).fit(Xs, Xt)
    tr = SinkhornTransport(**est).fit(*on_devices(device, Xs, Xt))
    for name in ("coupling_", "cost_", "a_", "b_"):
        assert_on(getattr(tr, name), device)
    np.testing.assert_allclose(to_host(tr.cost_), ref.cost_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(to_host(tr.coupling_), ref.coupling_, rtol=1e-6, atol=1e-9)
    assert tr.n_iter_ == ref.n_iter_ and tr.marginal_error_ <= TOL
    assert tr.log_["n_newton"] == ref.log_["n_newton"]
    out = tr.transform(on_device(Xs, device))
    assert_on(out, device)
    np.testing.assert_allclose(to_host(out), ref.transform(Xs), rtol=1e-6, atol=1e-8)


METRICS = ["cityblock", "cosine", "chebyshev", "minkowski", "correlation", "canberra",
           "braycurtis", "euclidean", "sqeuclidean"]


@pytest.mark.parametrize("metric", METRICS)
def test_transport_metrics_on_device(device, metric):
    """The cdist metrics on the device: scipy's definitions, with CuPy."""
    rng = np.random.default_rng(6)
    Xs, Xt = rng.normal(size=(9, 3)), rng.normal(size=(10, 3)) + 0.5
    Xs[0, 1] = Xt[0, 1] = 0.0  # canberra's 0/0 terms (taken as 0)
    Xs[1, :] = Xt[1, :] = [0.0, 0.0, 1.0]
    est = {"reg": 0.1, "method": "log", "metric": metric, "norm": "max"}
    ref = SinkhornTransport(**est).fit(Xs, Xt)
    tr = SinkhornTransport(**est).fit(*on_devices(device, Xs, Xt))
    assert_on(tr.cost_, device)
    np.testing.assert_allclose(to_host(tr.cost_), ref.cost_, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(to_host(tr.coupling_), ref.coupling_, rtol=1e-9, atol=1e-13)
    assert tr.n_iter_ == ref.n_iter_


def test_transport_metric_sparse_samples(device):
    """Sparse samples on the device: cdist metrics densify them (as on the CPU)."""
    S = sp.random(7, 4, density=0.5, random_state=0, format="csr")
    T = sp.random(6, 4, density=0.5, random_state=1, format="csr")
    est = {"reg": 0.5, "method": "log", "metric": "cityblock"}
    ref = SinkhornTransport(**est).fit(S, T)
    tr = SinkhornTransport(**est).fit(sl.csr_array(S).to_device(device),
                                      sl.csr_array(T).to_device(device))
    assert_on(tr.cost_, device)
    np.testing.assert_allclose(to_host(tr.cost_), ref.cost_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(to_host(tr.coupling_), ref.coupling_, rtol=1e-9, atol=1e-13)


# =========================================================================== #
# backends/gpu/ot.py against backends/cpu/ot.py
# =========================================================================== #
def _random_plan(n, m, seed):
    """Positive entries over many decades, exact zeros and ties."""
    rng = np.random.default_rng(seed)
    K = np.exp(rng.uniform(-60.0, 0.0, size=(n, m)))
    K[rng.random((n, m)) < 0.1] = 0.0
    K[rng.random((n, m)) < 0.05] = 0.5
    u, v = np.exp(rng.normal(size=n)), np.exp(rng.normal(size=m))
    v[:2] = 1.0
    if seed == 0:
        u[:] = 1.0  # ties survive the scaling
    return K, u, v


def test_gpu_kernels_select_and_top_entries():
    """Every histogram launch is a simulated kernel: few calls."""
    cpu, gpu, xp = lazy("cpu.ot"), lazy("gpu.ot"), cupy()
    n, m = 13, 9
    K, u, v = _random_plan(n, m, 1)  # scaled: no ties survive but K's zeros
    total = float((K * u[:, None] * v[None, :]).sum())
    assert gpu.select_threshold(*(xp.asarray(x) for x in (K, u, v)), 7, 0.5 * total) == \
        cpu.select_threshold(K, u, v, 7, 0.5 * total)
    K, u, v = _random_plan(n, m, 0)  # u = 1: ties across rows
    dK, du, dv = xp.asarray(K), xp.asarray(u), xp.asarray(v)
    total = float((K * u[:, None] * v[None, :]).sum())
    for k, retain in ((2, 0.0), (2, 0.9), (35, 0.5), (n * m, 0.0), (1, 0.999999),
                      (1, 1.0 + 1e-12)):
        target = retain * total
        assert gpu.select_threshold(dK, du, dv, k, target) == \
            cpu.select_threshold(K, u, v, k, target)
        I, J, V, tau = cpu.top_entries(K, u, v, k, target)
        # lo: the full histogram, a good guess, a guess above the threshold
        for lo in (0.0, tau / 16, tau * 2.0):
            dI, dJ, dV, dtau = gpu.top_entries(dK, du, dv, k, target, lo=lo)
            assert is_gpu_array(dI) and dI.dtype == np.int64 and dJ.dtype == np.int64
            np.testing.assert_array_equal(dI.get(), I)
            np.testing.assert_array_equal(dJ.get(), J)
            np.testing.assert_array_equal(dV.get(), V)
            assert dtau == tau
    # one value everywhere: the first k in row-major order
    one6, one7 = xp.ones(6), xp.ones(7)
    assert gpu.select_threshold(xp.full((6, 7), 0.25), one6, one7, 5, 0.0) == (0.25, 5, 5)
    # all zero but one entry
    Z = np.zeros((4, 5))
    Z[2, 3] = 1.0
    dI, dJ, dV, dtau = gpu.top_entries(xp.asarray(Z), xp.ones(4), xp.ones(5), 3, 0.5)
    np.testing.assert_array_equal(dI.get(), [0, 0, 2])
    np.testing.assert_array_equal(dJ.get(), [0, 1, 3])
    assert dtau == 0.0


def test_gpu_hessian_solve():
    """The same Newton solve (sparsela.linalg.cg on the Schur complement) on
    device arrays as on host arrays: ``B^T`` is a sorted CSR copy there and
    the transpose kernel on ``B`` here, so the directions agree to rounding."""
    from sparsela.ot._sns import _hessian_solve

    n, m = 9, 6
    cpu, xp = lazy("cpu.ot"), cupy()
    K, u, v = _random_plan(n, m, 4)
    P = K * u[:, None] * v[None, :]
    I, J, V, _ = cpu.top_entries(K, u, v, 2 * max(n, m), 0.0)
    Bp = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(I, minlength=n), out=Bp[1:])
    rng = np.random.default_rng(1)
    dr, dc = P.sum(1) * 1.01 + 1e-3, P.sum(0) * 1.01 + 1e-3
    g = rng.normal(size=n + m)
    B = sp.csr_array((V, J, Bp), shape=(n, m)).toarray()
    H = np.block([[np.diag(dr), B], [B.T, np.diag(dc)]])
    for rtol, maxiter in ((1e-12, 500), (1e-3, 500), (1e-14, 2)):
        d_ref, it_ref, ok_ref = _hessian_solve(Bp, J, V, dr, dc, g, rtol, maxiter)
        d, it, ok = _hessian_solve(*(xp.asarray(x) for x in (Bp, J, V, dr, dc, g)),
                                   rtol, maxiter)
        assert is_gpu_array(d) and ok == ok_ref and abs(it - it_ref) <= 1
        np.testing.assert_allclose(d.get(), d_ref, rtol=1e-6, atol=1e-9 * np.abs(d_ref).max())
        if ok:  # the stopping rule: the whole system's residual
            assert np.linalg.norm(H @ d.get() - g) <= 1.01 * rtol * np.linalg.norm(g)
    assert (it, ok) == (2, False)


# =========================================================================== #
# data stays on the device: the Sinkhorn stage reads back one scalar set per test
# =========================================================================== #
@pytest.mark.skipif(GPU_MODE != "simulated", reason="counts copies on the simulated "
                    "device, whose host<->device moves go through a few Python methods")
def test_sinkhorn_stage_transfers(monkeypatch):
    """No host->device copy; per Sinkhorn iteration of the warm-up one
    device->host copy for its breakdown/range tests and one for the error."""
    from sparsela.ot._sinkhorn import _log_domain_setup
    from sparsela.ot._sns import _Plan

    xp = cupy()
    a, b, M = (xp.asarray(x) for x in gaussian_clouds(8, 9, seed=7))
    _, a, b, _, _, _, Mr, alpha, beta, _, _, work = _log_domain_setup(a, b, M, 0.1, None)
    plan = _Plan(Mr, alpha, beta, a, b, work)
    plan.start()
    copies = record_transfers(monkeypatch, forbid_uploads=True)
    errs = []
    for _ in range(10):
        plan.sinkhorn()
        errs.append(plan.error())
    assert len(copies) == 20 and errs[-1] < errs[0]
