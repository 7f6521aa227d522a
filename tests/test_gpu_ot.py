"""sparsela.ot on the GPU: Sinkhorn (plain and log), solve and
SinkhornTransport on CuPy input give the CPU's results on the device
(Sinkhorn-Newton-Sparse and the cdist metrics on the GPU: test_gpu_sns.py).

Parametrised with the ``device`` fixture (tests/conftest.py): each problem is
solved from NumPy input (the reference) and from input on ``device`` (a real
CUDA device when CuPy sees one, else the simulated device); plans,
potentials, log entries and iteration counts must agree. The problems are
dense and tiny (n <= 30), so the simulated device runs them at NumPy speed.
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
from sparsela.ot import (
    SinkhornTransport,
    marginal_error,
    sinkhorn,
    sinkhorn_knopp,
    sinkhorn_log,
    solve,
)

RTOL = 1e-10
ATOL = 1e-13


def assert_on(x, device):
    """``x`` lives on ``device`` (a CuPy/simulated array on the GPU, NumPy on the CPU)."""
    if device == "gpu":
        assert is_gpu_array(x), f"expected a device array, got {type(x).__name__}"
    else:
        assert isinstance(x, np.ndarray), f"expected an ndarray, got {type(x).__name__}"


def close(x, ref, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(to_host(x), ref, rtol=rtol, atol=atol)


def run_quiet(fn, *args, **kwargs):
    """``fn(...)`` and the messages of the warnings it raised."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, [str(w.message) for w in rec]


def assert_same_log(log, ref, device):
    assert log["n_iter"] == ref["n_iter"] and log["niter"] == ref["niter"]
    assert log["converged"] == ref["converged"]
    assert len(log["err"]) == len(ref["err"])
    assert all(isinstance(e, float) for e in log["err"])
    np.testing.assert_allclose(log["err"], ref["err"], rtol=1e-6, atol=1e-15)
    for key in ("log_u", "log_v", "u", "v"):
        assert_on(log[key], device)
        # -inf where a weight is zero, on both devices
        close(log[key], ref[key])
    for f, f_ref in zip(log["potentials"], ref["potentials"]):
        assert_on(f, device)
        close(f, f_ref)


# =========================================================================== #
# sinkhorn: plain and log domain
# =========================================================================== #
@pytest.mark.parametrize("method", ["sinkhorn", "log"])
@pytest.mark.parametrize("reg,zero_a", [(0.5, False), (0.05, True), (0.01, False)])
def test_sinkhorn_matches_cpu(device, method, reg, zero_a):
    a, b, M = gaussian_clouds(14, 19, zero_a=zero_a)
    (P_ref, log_ref), w_ref = run_quiet(sinkhorn, a, b, M, reg, method=method, log=True)
    (P, log), w = run_quiet(sinkhorn, *on_devices(device, a, b, M), reg, method=method, log=True)
    assert_on(P, device)
    close(P, P_ref)
    assert_same_log(log, log_ref, device)
    assert w == w_ref  # the same ConvergenceWarning (or none)
    # the plan has the marginals the CPU plan has
    assert abs(marginal_error(P, *on_devices(device, a, b)) - marginal_error(P_ref, a, b)) < 1e-12


@pytest.mark.parametrize("solver", [sinkhorn_knopp, sinkhorn_log])
def test_not_converged_uniform_and_warmstart(device, solver):
    """max_iter reached (warning, err list), uniform weights (None / []),
    a warm start on the device."""
    _, _, M = gaussian_clouds(11, 13, seed=3)
    kw = {"reg": 0.005, "numItermax": 37}
    (P_ref, log_ref), w_ref = run_quiet(solver, None, [], M, log=True, **kw)
    (P, log), w = run_quiet(solver, None, [], on_device(M, device), log=True, **kw)
    assert log["n_iter"] == 37 and not log["converged"]
    assert w == w_ref and any("did not converge" in m for m in w)
    close(P, P_ref)
    assert_same_log(log, log_ref, device)
    # warm start from the potentials just found: the same continuation
    ws_ref = (log_ref["log_u"], log_ref["log_v"])
    ws = on_devices(device, *ws_ref)
    (P2_ref, l2_ref), _ = run_quiet(solver, None, None, M, warmstart=ws_ref, log=True, **kw)
    (P2, l2), _ = run_quiet(solver, None, None, on_device(M, device), warmstart=ws,
                           log=True, **kw)
    close(P2, P2_ref)
    assert_same_log(l2, l2_ref, device)


def _breakdown_problem():
    """No plan with these marginals lives on the support of K (row 2 can reach
    column 0 only, which has 0.05 to give): the scalings grow geometrically
    and plain Sinkhorn breaks down (inf) at iteration 332, between two checks."""
    M = np.array([[0., 0., 0.3], [0., 1e6, 0.2], [0.5, 1e6, 1e6]])
    return np.array([0.1, 0.85, 0.05]), np.array([0.05, 0.85, 0.1]), M


@pytest.mark.parametrize("max_iter", [335, 400, 1000])
def test_plain_sinkhorn_breakdown_same_iterate(device, max_iter):
    """The GPU tests for a breakdown only at the checks and replays from the last
    good one: it stops at the same iteration with the same (previous) iterate
    as the CPU, which tests every iteration. 335: the loop ends before the next
    check; 400 and 1000: a check sees it."""
    a, b, M = _breakdown_problem()
    (P_ref, log_ref), w_ref = run_quiet(sinkhorn, a, b, M, 1.0, numItermax=max_iter,
                                        log=True)
    assert log_ref["niter"] == 332 and any("numerical errors at iteration 332" in m
                                           for m in w_ref)
    (P, log), w = run_quiet(sinkhorn, *on_devices(device, a, b, M), 1.0, numItermax=max_iter,
                            log=True)
    assert w == w_ref
    assert np.isfinite(to_host(P)).all()
    close(P, P_ref)
    assert_same_log(log, log_ref, device)


def test_underflow_at_start(device):
    """A row of K = exp(-M/reg) entirely 0: breakdown at iteration 0 (a check)."""
    a, b, M = gaussian_clouds(6, 7, seed=1)
    M[3] += 2000.0
    (P_ref, log_ref), w_ref = run_quiet(sinkhorn, a, b, M, 1.0, log=True)
    (P, log), w = run_quiet(sinkhorn, *on_devices(device, a, b, M), 1.0, log=True)
    assert log_ref["niter"] == 0 and w == w_ref
    close(P, P_ref)
    assert_same_log(log, log_ref, device)


def test_log_domain_small_reg_no_nan(device):
    a, b, M = gaussian_clouds(9, 8, seed=2)
    (P_ref, log_ref), _ = run_quiet(sinkhorn_log, a, b, M, 1e-4, numItermax=50, log=True)
    (P, log), _ = run_quiet(sinkhorn_log, *on_devices(device, a, b, M), 1e-4, numItermax=50,
                            log=True)
    assert np.isfinite(to_host(P)).all()
    close(P, P_ref, atol=1e-12)
    assert_same_log(log, log_ref, device)


# =========================================================================== #
# solve
# =========================================================================== #
@pytest.mark.parametrize("method", ["sinkhorn", "log"])
def test_solve_matches_cpu(device, method):
    a, b, M = gaussian_clouds(12, 10, seed=4, zero_a=True)
    ref = solve(M, a, b, reg=0.05, method=method)
    res = solve(*on_devices(device, M, a, b), reg=0.05, method=method)
    assert_on(res.plan, device)
    close(res.plan, ref.plan)
    for f, f_ref in zip(res.potentials, ref.potentials):
        assert_on(f, device)
        close(f, f_ref)
    assert res.status == ref.status == "converged" and res.n_iter == ref.n_iter
    for name in ("value", "value_linear", "marginal_error"):
        assert isinstance(getattr(res, name), float)
        np.testing.assert_allclose(getattr(res, name), getattr(ref, name), rtol=1e-9,
                                   atol=1e-15)
    # uniform weights
    ref = solve(M, reg=0.1, method=method)
    res = solve(on_device(M, device), reg=0.1, method=method)
    close(res.plan, ref.plan)
    assert res.n_iter == ref.n_iter


# =========================================================================== #
# SinkhornTransport
# =========================================================================== #
@pytest.mark.parametrize("method,norm", [("log", None), ("sinkhorn", "max"),
                                         ("log", "median")])
def test_transport_dense_matches_cpu(device, method, norm):
    rng = np.random.default_rng(5)
    Xs, Xt = rng.normal(size=(13, 3)), rng.normal(size=(16, 3)) + 1.0
    est = {"reg": 0.1, "method": method, "norm": norm, "tol": 1e-9}
    ref = SinkhornTransport(**est).fit(Xs, Xt)
    ot = SinkhornTransport(**est).fit(*on_devices(device, Xs, Xt))
    for name in ("coupling_", "cost_", "a_", "b_", "xs_", "xt_"):
        assert_on(getattr(ot, name), device)
        close(getattr(ot, name), getattr(ref, name))
    for f, f_ref in zip(ot.potentials_, ref.potentials_):
        assert_on(f, device)
        close(f, f_ref)
    assert ot.n_iter_ == ref.n_iter_ and ot.n_features_in_ == 3
    assert ot.norm_cost_ == pytest.approx(ref.norm_cost_, rel=1e-12)
    assert ot.marginal_error_ == pytest.approx(ref.marginal_error_, rel=1e-6, abs=1e-15)
    # fitted samples, new samples (nearest-neighbour displacement), inverse
    for X, X_ref, fn in ((Xs, Xs, "transform"), (Xs[:4] + 0.05, Xs[:4] + 0.05, "transform"),
                         (Xt, Xt, "inverse_transform")):
        out = getattr(ot, fn)(on_device(X, device), batch_size=3)
        assert_on(out, device)
        close(out, getattr(ref, fn)(X_ref, batch_size=3))
    out = ot.fit_transform(*on_devices(device, Xs, Xt))
    assert_on(out, device)
    close(out, ref.transform(Xs))


def test_transport_sparse_matches_cpu(device):
    """Sparse samples stay sparse on the device (a tiny problem: the simulated
    device runs every sparse product as simulated kernels)."""
    S = sp.random(8, 5, density=0.5, random_state=0, format="csr")
    T = sp.random(7, 5, density=0.5, random_state=1, format="csr")
    ref = SinkhornTransport(reg=0.5, method="log", norm="max").fit(S, T)
    Sd, Td = sl.csr_array(S).to_device(device), sl.csr_array(T).to_device(device)
    ot = SinkhornTransport(reg=0.5, method="log", norm="max").fit(Sd, Td)
    assert_on(ot.coupling_, device)
    close(ot.coupling_, ref.coupling_)
    close(ot.cost_, ref.cost_, atol=1e-12)
    assert ot.n_iter_ == ref.n_iter_
    assert ot.xs_.device == device
    out = ot.transform(Sd)
    assert_on(out, device)
    close(out, ref.transform(S), atol=1e-12)
    # new samples: nearest fitted sample by sparse products, sparse row gathers
    new = S[:3] * 1.5
    out = ot.transform(sl.csr_array(new).to_device(device))
    assert_on(out, device)
    close(out, ref.transform(new), atol=1e-12)


def test_transport_euclidean_metric(device):
    rng = np.random.default_rng(6)
    Xs, Xt = rng.normal(size=(9, 2)), rng.normal(size=(10, 2))
    ref = SinkhornTransport(reg=0.2, method="log", metric="euclidean").fit(Xs, Xt)
    ot = SinkhornTransport(reg=0.2, method="log", metric="euclidean").fit(
        *on_devices(device, Xs, Xt))
    close(ot.cost_, ref.cost_, atol=1e-12)
    close(ot.coupling_, ref.coupling_)


# =========================================================================== #
# errors: mixed devices
# =========================================================================== #
def test_mixed_devices_raise():
    xp = cupy()
    a, b, M = gaussian_clouds(5, 6)
    Mg, ag, bg = xp.asarray(M), xp.asarray(a), xp.asarray(b)
    for fn in (sinkhorn_knopp, sinkhorn_log):
        with pytest.raises(TypeError, match=r"a is on the CPU and M on the GPU"):
            fn(a, bg, Mg, 0.1)
        with pytest.raises(TypeError, match=r"b is on the CPU and M on the GPU"):
            fn(ag, b, Mg, 0.1)
        with pytest.raises(TypeError, match=r"a is on the GPU and M on the CPU"):
            fn(ag, b, M, 0.1)
        with pytest.raises(TypeError, match=r"a is on the CPU and M on the GPU"):
            fn(list(a), None, Mg, 0.1)  # host lists are not moved either
        with pytest.raises(TypeError, match=r"warmstart\[0\] is on the CPU"):
            fn(ag, bg, Mg, 0.1, warmstart=(np.zeros(5), xp.zeros(6)))
        with pytest.raises(TypeError, match=r"warmstart\[1\] is on the GPU"):
            fn(a, b, M, 0.1, warmstart=(np.zeros(5), xp.zeros(6)))
    with pytest.raises(TypeError, match=r"b is on the CPU and M on the GPU"):
        solve(Mg, ag, b, reg=0.1, method="log")
    rng = np.random.default_rng(0)
    Xs, Xt = rng.normal(size=(6, 2)), rng.normal(size=(7, 2))
    with pytest.raises(TypeError, match=r"Xs is on the GPU and Xt on the CPU"):
        SinkhornTransport(method="log").fit(xp.asarray(Xs), Xt)
    with pytest.raises(TypeError, match=r"on the CPU and M on the GPU"):
        SinkhornTransport(method="log").fit(xp.asarray(Xs), xp.asarray(Xt), a=np.ones(6) / 6)
    cpu_fit = SinkhornTransport(method="log").fit(Xs, Xt)
    with pytest.raises(TypeError, match=r"Xs is on the GPU and the fitted SinkhornTransport "
                                        r"on the CPU"):
        cpu_fit.transform(xp.asarray(Xs))
    gpu_fit = SinkhornTransport(method="log").fit(xp.asarray(Xs), xp.asarray(Xt))
    with pytest.raises(TypeError, match=r"Xt is on the CPU and the fitted SinkhornTransport "
                                        r"on the GPU"):
        gpu_fit.inverse_transform(Xt)


# =========================================================================== #
# data stays on the device: one scalar copy per stopping test
# =========================================================================== #
@pytest.mark.skipif(GPU_MODE != "simulated", reason="counts copies on the simulated "
                    "device, whose host<->device moves go through a few Python methods")
@pytest.mark.parametrize("solver", [sinkhorn_knopp, sinkhorn_log])
def test_one_transfer_per_check(monkeypatch, solver):
    """No host->device copy at all; the device->host copies (``.get()``,
    ``float()``, ``bool()``, ``int()`` of a device value) grow by exactly one
    per check (every 10 iterations): 40 more iterations, 4 more copies."""
    xp = cupy()
    a, b, M = (xp.asarray(x) for x in gaussian_clouds(8, 9, seed=7))
    copies = record_transfers(monkeypatch, forbid_uploads=True)

    def count(n_iter):
        copies.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            P, log = solver(a, b, M, 1e-3, numItermax=n_iter, log=True)
        assert log["n_iter"] == n_iter and is_gpu_array(P)
        return len(copies)

    assert count(41) - count(1) == 4
