"""The CCA family on the GPU: the same fits on either device.

Parametrised with the ``device`` fixture (tests/conftest.py): each problem is
fitted on the CPU and on ``device`` (a real CUDA device when CuPy sees one,
else the simulated device) and the fitted attributes, ``transform`` and
``score`` are compared with the CPU fit, after bringing them back with
``to_host``. Sparse views on the simulated device launch simulated kernels,
so those problems are tiny.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import on_device, to_host

import sparsela as sl
from sparsela._device import cupy, is_gpu_array
from sparsela.cross_decomposition import (
    CCA,
    MCCA,
    PLS,
    RidgeCCA,
    StochasticCCA,
    StochasticPLS,
)

GPU = r"(?i)gpu"
#: SGD fits: the same steps on either device, but a real GPU's BLAS sums in
#: another order, and a few dozen momentum steps carry that rounding along
SGD_TOL = {"rtol": 1e-5, "atol": 1e-7}
# the short SGD runs here stop at max_iter on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
RTOL, ATOL = 1e-7, 1e-9


def _views(n=80, p=(6, 4), seed=0):
    """Dense views sharing two latent factors."""
    rng = np.random.default_rng(seed)
    L = rng.standard_normal((n, 2))
    return [L @ rng.standard_normal((2, q)) + 0.7 * rng.standard_normal((n, q)) for q in p]


def _sparse_view(n, p, seed, density=0.3):
    S = sp.random(n, p, density=density, format="csr", random_state=seed)
    S.data = np.round(4 * S.data, 1) + 0.5  # no values close to zero
    return sl.csr_array(S)


def _same_up_to_sign(a, b, rtol=RTOL, atol=ATOL):
    """Columns of ``a`` equal those of ``b`` up to one sign per column."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    for j in range(a.shape[1]):
        s = 1.0 if np.abs(a[:, j] - b[:, j]).sum() <= np.abs(a[:, j] + b[:, j]).sum() else -1.0
        np.testing.assert_allclose(s * a[:, j], b[:, j], rtol=rtol, atol=atol,
                                   err_msg=f"component {j}")


def _check_on(model, device):
    """Every fitted array lives on ``device``."""
    on_gpu = device == "gpu"
    for w in model.weights_:
        assert is_gpu_array(w) == on_gpu
    for mu in model.means_:
        assert is_gpu_array(mu) == on_gpu
    if hasattr(model, "canonical_correlations_"):
        assert is_gpu_array(model.canonical_correlations_) == on_gpu


def _compare(ref, model, views_cpu, views_dev, device, rtol=RTOL, atol=ATOL):
    """Fitted weights (up to sign), means, transform and score: ``model``
    (fitted on ``device``) against ``ref`` (fitted on the CPU)."""
    _check_on(model, device)
    for w_ref, w in zip(ref.weights_, model.weights_):
        _same_up_to_sign(to_host(w), w_ref, rtol, atol)
    for mu_ref, mu in zip(ref.means_, model.means_):
        np.testing.assert_allclose(to_host(mu), mu_ref, rtol=1e-12, atol=1e-12)
    if len(views_cpu) == 2:
        z_ref = ref.transform(*views_cpu)
        z = model.transform(*views_dev)
        s_ref, s = ref.score(*views_cpu), model.score(*views_dev)
    else:
        z_ref, z = ref.transform(views_cpu), model.transform(views_dev)
        s_ref, s = ref.score(views_cpu), model.score(views_dev)
    for a, b in zip(z, z_ref):
        assert is_gpu_array(a) == (device == "gpu")
        _same_up_to_sign(to_host(a), b, rtol, atol)
    assert isinstance(s, float)
    np.testing.assert_allclose(s, s_ref, rtol=max(rtol, 1e-8))
    # transform of the first view alone
    x_only = model.transform(views_dev[0])
    _same_up_to_sign(to_host(x_only), ref.transform(views_cpu[0]), rtol, atol)


# --------------------------------------------------------------------------- #
# exact models
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("make", [
    lambda: CCA(n_components=2),
    lambda: RidgeCCA(n_components=2, c=0.3),
    lambda: PLS(n_components=2),
    lambda: RidgeCCA(n_components=2, c=[0.2, 0.6]),
], ids=["CCA", "RidgeCCA", "PLS", "RidgeCCA-per-view"])
def test_exact_dense(device, make):
    X, Y = _views()
    Xd, Yd = on_device(X, device), on_device(Y, device)
    ref = make().fit(X, Y)
    model = make().fit(Xd, Yd)
    _compare(ref, model, [X, Y], [Xd, Yd], device)
    np.testing.assert_allclose(to_host(model.eigenvalues_), ref.eigenvalues_, rtol=1e-8)
    np.testing.assert_allclose(to_host(model.canonical_correlations_),
                               ref.canonical_correlations_, rtol=1e-8)
    np.testing.assert_array_equal(model.n_iter_, ref.n_iter_)
    # input not modified, 1-D Y accepted
    np.testing.assert_array_equal(to_host(Xd), X)
    m1 = make().set_params(n_components=1).fit(Xd, Yd[:, 0])
    r1 = make().set_params(n_components=1).fit(X, Y[:, 0])
    _same_up_to_sign(to_host(m1.x_weights_), r1.x_weights_)


def test_exact_wide_view_dual_whitening(device):
    """More features than samples: whitening in the sample space (Gram matrix)."""
    X, Y = _views(n=20, p=(30, 4), seed=1)
    Xd, Yd = on_device(X, device), on_device(Y, device)
    ref = RidgeCCA(n_components=2, c=0.4).fit(X, Y)
    model = RidgeCCA(n_components=2, c=0.4).fit(Xd, Yd)
    _compare(ref, model, [X, Y], [Xd, Yd], device, rtol=1e-6, atol=1e-8)


def test_mcca_multiview(device):
    views = _views(n=60, p=(5, 4, 3), seed=2)
    dev = [on_device(v, device) for v in views]
    ref = MCCA(n_components=2, c=0.1).fit(views)
    model = MCCA(n_components=2, c=0.1).fit(dev)
    assert model.n_views_ == 3
    _compare(ref, model, views, dev, device)
    np.testing.assert_allclose(to_host(model.eigenvalues_), ref.eigenvalues_, rtol=1e-8)
    out = model.fit_transform(dev)
    assert isinstance(out, list) and len(out) == 3
    assert all(is_gpu_array(z) == (device == "gpu") for z in out)


@pytest.mark.parametrize("make", [
    lambda: PLS(n_components=2, solver="iterative"),
    lambda: RidgeCCA(n_components=2, c=0.5, solver="iterative"),
], ids=["PLS", "RidgeCCA"])
def test_iterative_solver(device, make):
    """ARPACK on the host, the operator (products with the views, CG for
    B^-1) on the device: the same eigenpairs as the CPU fit."""
    X, Y = _views(n=50, p=(7, 5), seed=3)
    Xd, Yd = on_device(X, device), on_device(Y, device)
    ref = make().fit(X, Y)
    model = make().fit(Xd, Yd)
    _compare(ref, model, [X, Y], [Xd, Yd], device, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(to_host(model.eigenvalues_), ref.eigenvalues_, rtol=1e-8)


@pytest.mark.parametrize("make,shape", [
    (lambda: CCA(n_components=2), (16, 5)),
    (lambda: RidgeCCA(n_components=2, c=0.5), (12, 18)),
    (lambda: PLS(n_components=2, solver="iterative"), (14, 6)),
], ids=["CCA-covariance", "RidgeCCA-wide-gram", "PLS-iterative"])
def test_exact_sparse(device, make, shape):
    """A sparse view on the device (tiny: simulated kernels), centred implicitly:
    ``X^T X`` (feature space), ``X X^T`` (sample space, wide view) or only
    products with vectors (iterative)."""
    n, p = shape
    X = _sparse_view(n, p, seed=4)
    Y = _views(n=n, p=(3,), seed=4)[0] + X.toarray()[:, :3]
    Xd, Yd = X.to_device(device), on_device(Y, device)
    ref = make().fit(X, Y)
    model = make().fit(Xd, Yd)
    assert Xd.device == device
    _compare(ref, model, [X, Y], [Xd, Yd], device, rtol=1e-6, atol=1e-8)
    # and the dense CPU fit of the same data
    dense = make().fit(X.toarray(), Y)
    _same_up_to_sign(to_host(model.x_weights_), dense.x_weights_, 1e-6, 1e-8)


def test_exact_both_views_sparse(device):
    X = _sparse_view(14, 5, seed=11, density=0.4)
    Y = _sparse_view(14, 4, seed=12, density=0.4)
    Xd, Yd = X.to_device(device), Y.to_device(device)
    ref = RidgeCCA(n_components=2, c=0.1).fit(X, Y)
    model = RidgeCCA(n_components=2, c=0.1).fit(Xd, Yd)
    _compare(ref, model, [X, Y], [Xd, Yd], device, rtol=1e-6, atol=1e-8)


def test_exact_float32(device):
    X, Y = (v.astype(np.float32) for v in _views(seed=10))
    Xd, Yd = on_device(X, device), on_device(Y, device)
    ref = CCA(n_components=2).fit(X, Y)
    model = CCA(n_components=2).fit(Xd, Yd)
    _compare(ref, model, [X, Y], [Xd, Yd], device, rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------- #
# stochastic models
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("make", [
    lambda: StochasticCCA(n_components=2, batch_size=32, max_iter=6, random_state=0),
    lambda: StochasticPLS(n_components=2, batch_size=32, max_iter=6, random_state=0),
    lambda: StochasticCCA(n_components=2, c=0.3, batch_size=32, max_iter=6, momentum=0.0,
                          random_state=1),
], ids=["StochasticCCA", "StochasticPLS", "StochasticRidgeCCA"])
def test_stochastic_dense_same_fit(device, make):
    """The random draws are made on the host, so a fixed random_state gives
    the same SGD path, and the same fit, on either device."""
    X, Y = _views(n=160, p=(6, 4), seed=5)
    Xd, Yd = on_device(X, device), on_device(Y, device)
    ref = make().fit(X, Y)
    model = make().fit(Xd, Yd)
    assert model.n_iter_ == ref.n_iter_
    assert model.n_samples_seen_ == ref.n_samples_seen_
    _compare(ref, model, [X, Y], [Xd, Yd], device, **SGD_TOL)


def test_stochastic_partial_fit(device):
    X, Y = _views(n=120, p=(5, 4), seed=6)
    ref = StochasticCCA(n_components=2, batch_size=20, random_state=0)
    model = StochasticCCA(n_components=2, batch_size=20, random_state=0)
    for a, b in ((0, 60), (60, 120)):
        ref.partial_fit(X[a:b], Y[a:b])
        model.partial_fit(on_device(X[a:b], device), on_device(Y[a:b], device))
    assert model.n_iter_ == ref.n_iter_ == 2
    _compare(ref, model, [X, Y], [on_device(X, device), on_device(Y, device)], device,
             **SGD_TOL)


def test_stochastic_multiview(device):
    views = _views(n=96, p=(4, 3, 3), seed=7)
    dev = [on_device(v, device) for v in views]
    kw = {"n_components": 2, "c": 0.2, "batch_size": 24, "max_iter": 4, "random_state": 0}
    ref = StochasticCCA(**kw).fit(views)
    model = StochasticCCA(**kw).fit(dev)
    _compare(ref, model, views, dev, device, **SGD_TOL)


@pytest.mark.parametrize("cls", [StochasticPLS, StochasticCCA])
def test_stochastic_sparse(device, cls):
    """Sparse GPU view, kept tiny (every batch product is a simulated kernel):
    row gathers, batch products and (CCA) the column variances on the device."""
    X = _sparse_view(16, 6, seed=8, density=0.4)
    Y = _views(n=16, p=(3,), seed=8)[0] + X.toarray()[:, :3]
    kw = {"n_components": 1, "batch_size": 8, "max_iter": 1, "refine": 1,
          "random_state": 0}
    Xd, Yd = X.to_device(device), on_device(Y, device)
    ref = cls(**kw).fit(X, Y)
    model = cls(**kw).fit(Xd, Yd)
    _compare(ref, model, [X, Y], [Xd, Yd], device, **SGD_TOL)


# --------------------------------------------------------------------------- #
# devices are never mixed
# --------------------------------------------------------------------------- #
def test_mixed_devices_are_type_errors():
    xp = cupy()
    X, Y, Z = _views(n=40, p=(4, 3, 3), seed=9)
    Xg, Yg, Zg = xp.asarray(X), xp.asarray(Y), xp.asarray(Z)
    for est in (CCA(n_components=1), StochasticPLS(n_components=1, batch_size=8,
                                                   max_iter=1)):
        with pytest.raises(TypeError, match=GPU):
            est.fit(Xg, Y)
        with pytest.raises(TypeError, match=GPU):
            est.fit(X, Yg)
    with pytest.raises(TypeError, match=GPU):
        MCCA(n_components=1).fit([Xg, Y, Zg])
    with pytest.raises(TypeError, match=GPU):
        CCA(n_components=1).fit(_sparse_view(40, 4, seed=9).to_device("gpu"), Y)
    # a model fitted on one device takes data on that device only
    cpu = CCA(n_components=1).fit(X, Y)
    gpu = CCA(n_components=1).fit(Xg, Yg)
    for call in (lambda: cpu.transform(Xg), lambda: cpu.transform(Xg, Yg),
                 lambda: cpu.score(Xg, Yg), lambda: gpu.transform(X),
                 lambda: gpu.score(X, Y)):
        with pytest.raises(TypeError, match=GPU):
            call()
    mc = MCCA(n_components=1).fit([X, Y, Z])
    with pytest.raises(TypeError, match=GPU):
        mc.transform([Xg, Yg, Zg])
    sgd = StochasticCCA(n_components=1, batch_size=8).partial_fit(X, Y)
    with pytest.raises(TypeError, match=GPU):
        sgd.partial_fit(Xg, Yg)
    # refitting on the other device is a fresh fit, not a mix
    assert is_gpu_array(cpu.fit(Xg, Yg).x_weights_)
