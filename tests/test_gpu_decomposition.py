"""sparsela.decomposition on the GPU: SparsePCA, sparse_encode, SparseCoder,
DictionaryLearning, MiniBatchDictionaryLearning.

Parametrised with the ``device`` fixture (tests/conftest.py): the same small
problem is solved on "cpu" and on "gpu" (a real CUDA device when CuPy sees
one, else the simulated device) and compared with the CPU solution: fitted
attributes, outputs, iteration counts. Dense device work is cheap in the
simulator, but every sparse GPU product launches simulated kernels, so the
sparse-input cases are tiny.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import on_device, to_host
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

import sparsela as sl
from sparsela._device import cupy, is_gpu_array
from sparsela.decomposition import (
    DictionaryLearning,
    MiniBatchDictionaryLearning,
    SparseCoder,
    SparsePCA,
    sparse_encode,
)
from sparsela.decomposition._sparse_coding import _encode
from sparsela.decomposition._sparse_pca import adjusted_variance

GPU = r"(?i)gpu"


def _on_its_device(a, device):
    """``a`` is a dense array on ``device``."""
    assert is_gpu_array(a) == (device == "gpu"), (type(a), device)


def _close(a, b, **kw):
    np.testing.assert_allclose(to_host(a), to_host(b), **{"rtol": 1e-7, "atol": 1e-9, **kw})


# =========================================================================== #
# SparsePCA
# =========================================================================== #
def _pca_data(shape):
    rng = np.random.default_rng(0)
    n, p = shape
    X = rng.standard_normal((n, p))
    X[:, :3] += 3 * rng.standard_normal((n, 1))     # a sparse leading factor
    X[:, 3:5] += 2 * rng.standard_normal((n, 1))
    return X


PCA_CASES = [("tpower", {"sparsity": 3}), ("gpower_l1", {"alpha": 0.2}),
             ("gpower_l0", {"alpha": 0.1}), ("spca", {"alpha": 0.5})]


@pytest.mark.parametrize("method,kw", PCA_CASES, ids=[c[0] for c in PCA_CASES])
@pytest.mark.parametrize("shape", [(50, 10), (14, 70)], ids=["explicit", "implicit"])
def test_sparse_pca_dense_matches_cpu(device, method, kw, shape):
    # (50, 10): the explicit p x p covariance; (14, 70): the implicit operator
    # with the device Lanczos eigensolver (p > 64) against ARPACK on the CPU
    X = _pca_data(shape)
    ref = SparsePCA(3, method=method, random_state=0, **kw).fit(X)
    est = SparsePCA(3, method=method, random_state=0, **kw).fit(on_device(X, device))
    for name in ("components_", "mean_", "explained_variance_",
                 "explained_variance_ratio_"):
        _on_its_device(getattr(est, name), device)
    # components_ carry the sign convention (largest entry positive) on both
    _close(est.components_, ref.components_, atol=1e-7)
    _close(est.explained_variance_, ref.explained_variance_)
    _close(est.explained_variance_ratio_, ref.explained_variance_ratio_)
    _close(est.mean_, ref.mean_)
    assert est.n_iter_ == ref.n_iter_ and est.n_components_ == ref.n_components_
    T = est.transform(on_device(X, device))
    _on_its_device(T, device)
    _close(T, ref.transform(X), atol=1e-8)
    back = est.inverse_transform(T)
    _on_its_device(back, device)
    _close(back, ref.inverse_transform(ref.transform(X)), atol=1e-8)


def test_sparse_pca_float32_and_adjusted_variance(device):
    X = _pca_data((30, 8)).astype(np.float32)
    ref = SparsePCA(2, sparsity=3, random_state=0).fit(X)
    est = SparsePCA(2, sparsity=3, random_state=0).fit(on_device(X, device))
    _close(est.components_, ref.components_, rtol=1e-5, atol=1e-6)
    T = est.transform(on_device(X, device))
    assert T.dtype == np.float64
    # the public adjusted_variance on the device (QR of the scores)
    ev = adjusted_variance(on_device(X, device), est.components_)
    _on_its_device(ev, device)
    _close(ev, ref.explained_variance_, rtol=1e-5)
    # a dependent component: QR falls back to the Gram-Schmidt rule (0 for it)
    V = np.vstack([ref.components_[0], ref.components_[0], ref.components_[1]])
    _close(adjusted_variance(on_device(X, device), on_device(V, device)),
           adjusted_variance(X, V), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("method", ["gpower_l0", "spca"])
def test_sparse_pca_sparse_input(device, method):
    # sparse X on the device: the covariance products and the column moments
    # run as sparsela GPU ops (tiny: simulated kernels are slow)
    S = sp.random(12, 8, density=0.4, random_state=1, format="csr")
    A = sl.csr_array(S)
    ref = SparsePCA(1, method=method, random_state=0).fit(S)
    est = SparsePCA(1, method=method, random_state=0).fit(A.to_device(device))
    _on_its_device(est.components_, device)
    _close(est.components_, ref.components_, atol=1e-7)
    _close(est.explained_variance_, ref.explained_variance_)
    assert est.n_iter_ == ref.n_iter_
    _close(est.transform(A.to_device(device)), ref.transform(S), atol=1e-9)


def test_sparse_pca_mixed_devices_raise():
    xp = cupy()
    X = _pca_data((20, 6))
    cpu_fit = SparsePCA(2, sparsity=2, random_state=0).fit(X)
    gpu_fit = SparsePCA(2, sparsity=2, random_state=0).fit(xp.asarray(X))
    with pytest.raises(TypeError, match=GPU):
        cpu_fit.transform(xp.asarray(X))
    with pytest.raises(TypeError, match=GPU):
        gpu_fit.transform(X)
    with pytest.raises(TypeError, match=GPU):
        gpu_fit.inverse_transform(np.ones((3, 2)))
    with pytest.raises(TypeError, match=GPU):
        cpu_fit.inverse_transform(xp.ones((3, 2)))
    with pytest.raises(TypeError, match=GPU):
        adjusted_variance(xp.asarray(X), cpu_fit.components_)


# =========================================================================== #
# sparse_encode / SparseCoder
# =========================================================================== #
def _coding_problem(n=25, k=8, p=12, seed=0):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((k, p))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    Z = rng.standard_normal((n, k)) * (rng.random((n, k)) < 0.3)
    X = Z @ D + 0.05 * rng.standard_normal((n, p))
    return X, D


@pytest.mark.parametrize("algorithm", ["fista", "ista"])
@pytest.mark.parametrize("positive", [False, True])
def test_sparse_encode_matches_cpu(device, algorithm, positive):
    X, D = _coding_problem()
    kw = {"alpha": 0.1, "algorithm": algorithm, "positive": positive, "max_iter": 2000,
              "tol": 1e-12}
    # the CPU default (the Numba kernel: working sets, its own step count)
    ref, it_ref = sparse_encode(X, D, return_n_iter=True, **kw)
    # the batch engine on the CPU: the GPU runs it and takes the same steps
    ref_b, it_b, conv = _encode(X, D, init=None, verbose=False, where="test",
                                engine="batch", **kw)
    assert conv
    code, n_iter = sparse_encode(on_device(X, device), on_device(D, device),
                                 return_n_iter=True, **kw)
    _on_its_device(code, device)
    assert n_iter == (it_b if device == "gpu" else it_ref)
    if device == "gpu":
        _close(code, ref_b, rtol=1e-9, atol=1e-11)
    _close(code, ref, rtol=0, atol=1e-6)
    if positive:
        assert float(to_host(code).min()) >= 0


def test_sparse_encode_warm_start_float32_and_max_iter(device):
    X, D = _coding_problem(n=10, seed=1)
    X32 = X.astype(np.float32)
    init = np.full((10, 8), 0.1)
    kw = {"alpha": 0.05, "max_iter": 7}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ConvergenceWarning):
            sparse_encode(on_device(X32, device), on_device(D, device),
                          init=on_device(init, device), **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref, _, _ = _encode(sl.utils.check_array(X32), D, algorithm="fista", tol=1e-12,
                            positive=False, init=init, verbose=False, where="t",
                            engine="batch", **kw)
        init_d = on_device(init, device)
        code, n_iter = sparse_encode(on_device(X32, device), on_device(D, device),
                                     init=init_d, return_n_iter=True, **kw)
    np.testing.assert_array_equal(to_host(init_d), init)    # the input is not modified
    assert code.dtype == np.float32 and n_iter == 7
    if device == "gpu":     # the batch engine's 7 steps (the CPU kernel's differ)
        _close(code, ref.astype(np.float32), rtol=1e-6, atol=1e-6)


def test_sparse_encode_sparse_input(device):
    S = sp.random(12, 10, density=0.3, random_state=1, format="csr")
    _, D = _coding_problem(k=6, p=10, seed=2)
    ref = sparse_encode(S, D, alpha=0.05)
    code = sparse_encode(sl.csr_array(S).to_device(device), on_device(D, device),
                         alpha=0.05)
    _on_its_device(code, device)
    _close(code, ref, rtol=0, atol=1e-7)


def test_sparse_coder_matches_cpu(device):
    X, D = _coding_problem()
    ref = SparseCoder(D, transform_alpha=0.1, split_sign=True)
    est = SparseCoder(on_device(D, device), transform_alpha=0.1, split_sign=True)
    est.fit(on_device(X, device))
    _on_its_device(est.components_, device)
    Z = est.transform(on_device(X, device))
    _on_its_device(Z, device)
    Zr = ref.fit(X).transform(X)
    _close(Z, Zr, rtol=0, atol=1e-6)
    back = est.inverse_transform(Z)
    _on_its_device(back, device)
    _close(back, ref.inverse_transform(Zr), rtol=0, atol=1e-5)


def test_sparse_coding_mixed_devices_raise():
    xp = cupy()
    X, D = _coding_problem(n=5)
    with pytest.raises(TypeError, match=GPU):
        sparse_encode(xp.asarray(X), D)
    with pytest.raises(TypeError, match=GPU):
        sparse_encode(X, xp.asarray(D))
    with pytest.raises(TypeError, match=GPU):
        sparse_encode(xp.asarray(X), xp.asarray(D), init=np.zeros((5, 8)))
    with pytest.raises(TypeError, match=GPU):
        SparseCoder(D).fit(xp.asarray(X))
    with pytest.raises(TypeError, match=GPU):
        SparseCoder(xp.asarray(D)).transform(X)
    with pytest.raises(TypeError, match=GPU):
        SparseCoder(D).inverse_transform(xp.ones((5, 8)))
    # the fast approximator lives where it was trained: a CPU-trained one
    # refuses GPU signals even when the dictionary has been moved
    cpu_fit = SparseCoder(D, fit_predictor=True, predictor_max_iter=1,
                          random_state=0).fit(X)
    cpu_fit.set_params(dictionary=xp.asarray(D))
    with pytest.raises(TypeError, match=GPU):
        cpu_fit.transform(xp.asarray(X), fast=True)


# =========================================================================== #
# DictionaryLearning / MiniBatchDictionaryLearning
# =========================================================================== #
def _dl_estimators():
    return [DictionaryLearning(6, alpha=0.3, max_iter=15, random_state=0),
            MiniBatchDictionaryLearning(6, alpha=0.3, max_iter=3, batch_size=8,
                                        random_state=0)]


@pytest.mark.parametrize("est", _dl_estimators(), ids=lambda e: type(e).__name__)
def test_dictionary_learning_matches_cpu(device, est):
    X, _ = _coding_problem(n=30, k=6, p=10, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = clone(est).fit(X)
        fitted = clone(est).fit(on_device(X, device))
    _on_its_device(fitted.components_, device)
    # the coding steps: the CPU kernel vs the GPU batch engine, both to a
    # duality gap of 1e-12 ||x||^2, so the alternations agree closely
    _close(fitted.components_, ref.components_, rtol=0, atol=1e-6)
    assert fitted.n_iter_ == ref.n_iter_
    Z = fitted.transform(on_device(X, device))
    _on_its_device(Z, device)
    _close(Z, ref.transform(X), rtol=0, atol=1e-5)
    back = fitted.inverse_transform(Z)
    _on_its_device(back, device)
    _close(back, ref.inverse_transform(ref.transform(X)), rtol=0, atol=1e-5)


@pytest.mark.parametrize("est", [DictionaryLearning(4, alpha=0.1, max_iter=3,
                                                    random_state=0),
                                 MiniBatchDictionaryLearning(4, alpha=0.1, max_iter=1,
                                                             batch_size=8,
                                                             random_state=0)],
                         ids=lambda e: type(e).__name__)
def test_dictionary_learning_sparse_input(device, est):
    S = sp.random(15, 8, density=0.3, random_state=1, format="csr")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = clone(est).fit(S)
        fitted = clone(est).fit(sl.csr_array(S).to_device(device))
    _on_its_device(fitted.components_, device)
    _close(fitted.components_, ref.components_, rtol=0, atol=1e-7)
    assert fitted.n_iter_ == ref.n_iter_


def test_dictionary_learning_mixed_devices_raise():
    xp = cupy()
    X, _ = _coding_problem(n=12, k=4, p=6, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cpu_fit = DictionaryLearning(3, max_iter=2, random_state=0).fit(X)
        mb = MiniBatchDictionaryLearning(3, max_iter=1, random_state=0).fit(X)
        with pytest.raises(TypeError, match=GPU):
            cpu_fit.transform(xp.asarray(X))
        with pytest.raises(TypeError, match=GPU):
            mb.partial_fit(xp.asarray(X))
        with pytest.raises(TypeError, match=GPU):
            DictionaryLearning(3, max_iter=2, dict_init=np.eye(3, 6)).fit(xp.asarray(X))
        gpu_fit = DictionaryLearning(3, max_iter=2, random_state=0).fit(xp.asarray(X))
        with pytest.raises(TypeError, match=GPU):
            gpu_fit.transform(X)
        with pytest.raises(TypeError, match=GPU):
            gpu_fit.inverse_transform(np.ones((2, 3)))
        # warm start and dict_init on the device stay on the device
        gpu_fit.set_params(warm_start=True).fit(xp.asarray(X))
        _on_its_device(gpu_fit.components_, "gpu")
        D0 = xp.asarray(np.eye(3, 6))
        dl = DictionaryLearning(3, max_iter=2, dict_init=D0).fit(xp.asarray(X))
        _on_its_device(dl.components_, "gpu")
        np.testing.assert_array_equal(D0.get(), np.eye(3, 6))   # not modified
        mb_gpu = MiniBatchDictionaryLearning(3, max_iter=1, random_state=0)
        mb_gpu.partial_fit(xp.asarray(X)).partial_fit(xp.asarray(X))
        _on_its_device(mb_gpu.components_, "gpu")
        assert mb_gpu.n_steps_ == 2


# =========================================================================== #
# the learned fast approximator (fit_predictor=True, transform(X, fast=True))
# =========================================================================== #
PREDICTOR_ATTRS = ("predictor_coef_", "predictor_intercept_", "predictor_gain_")


def _same_predictor(est, ref, device, rtol=1e-6, atol=1e-8):
    """The GPU-trained approximator matches the CPU one (same epochs: the
    minibatch order comes from the same host stream)."""
    for name in PREDICTOR_ATTRS:
        _on_its_device(getattr(est, name), device)
        _close(getattr(est, name), getattr(ref, name), rtol=rtol, atol=atol)
    assert est.predictor_n_iter_ == ref.predictor_n_iter_
    assert isinstance(est.predictor_loss_, float)
    np.testing.assert_allclose(est.predictor_loss_, ref.predictor_loss_, rtol=1e-6)


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("linear_init", [True, False], ids=["lstsq-init", "dict-init"])
def test_sparse_coder_predictor_matches_cpu(device, positive, linear_init, monkeypatch):
    if not linear_init:
        # the start point W ~ D used when the normal equations are too large
        monkeypatch.setattr("sparsela.decomposition._sparse_coding."
                            "_LINEAR_INIT_MAX_FEATURES", 0)
    X, D = _coding_problem(n=30, k=6, p=10, seed=5)
    kw = {"transform_alpha": 0.1, "positive_code": positive, "fit_predictor": True,
          "predictor_max_iter": 4, "predictor_batch_size": 8, "random_state": 0}
    ref = SparseCoder(D, **kw).fit(X)
    est = SparseCoder(on_device(D, device), **kw).fit(on_device(X, device))
    # the training codes: the CPU kernel vs the GPU batch engine, equal to
    # ~1e-7, so the approximators agree to about that
    _same_predictor(est, ref, device, rtol=1e-4, atol=1e-6)
    Xt = X[:7] + 0.01
    fast = est.transform(on_device(Xt, device), fast=True)
    _on_its_device(fast, device)
    assert fast.dtype == np.float64
    _close(fast, ref.transform(Xt, fast=True), rtol=1e-4, atol=1e-6)
    if positive:
        assert float(to_host(fast).min()) >= 0
    # float32 signals: codes in float32, from the float64 approximator
    fast32 = est.transform(on_device(Xt.astype(np.float32), device), fast=True)
    assert fast32.dtype == np.float32
    _close(fast32, ref.transform(Xt.astype(np.float32), fast=True), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_predictor_training_matches_cpu_on_same_codes(device, sparse):
    # the training itself, fed the same codes on both devices: the start
    # point, every Adam step (same host minibatch order) and the kept epoch
    from sparsela.decomposition._sparse_coding import (
        _cross,
        _predictor_epochs,
        _predictor_init,
        _row_sq_norms,
    )

    X, D = _coding_problem(n=20, k=5, p=8, seed=9)
    if sparse:
        X = sp.random(14, 8, density=0.4, random_state=4, format="csr")
    Z = sparse_encode(X, D, alpha=0.05)
    states = {}
    for dev in ("cpu", device):
        Xd = on_device(sl.csr_array(X) if sparse else X, dev)
        Zd, Dd = on_device(Z, dev), on_device(D, dev)
        state = _predictor_init(Xd, Zd, Dd, _cross(Xd, Dd), _row_sq_norms(Xd))
        _predictor_epochs(Xd, Zd, state, n_epochs=3, batch_size=6, learning_rate=1e-2,
                          rng=np.random.RandomState(0))
        states[dev] = state
    ref, got = states["cpu"], states[device]
    for name in ("W", "b", "g", "mW", "vW", "mg"):
        _on_its_device(got[name], device)
        _close(got[name], ref[name], rtol=1e-9, atol=1e-12)
    assert (got["t"], got["epochs"]) == (ref["t"], ref["epochs"])
    assert got["loss"] == pytest.approx(ref["loss"], rel=1e-9)


def test_sparse_coder_predictor_cpu_is_unchanged():
    # the device branch leaves the CPU path as it was: a refit gives the same
    # bits, and the attributes are NumPy arrays
    X, D = _coding_problem(n=30, k=6, p=10, seed=5)
    kw = {"transform_alpha": 0.1, "fit_predictor": True, "predictor_max_iter": 3,
          "predictor_batch_size": 8, "random_state": 0}
    a = SparseCoder(D, **kw).fit(X)
    b = SparseCoder(D, **kw).fit(X)
    for name in PREDICTOR_ATTRS:
        assert type(getattr(a, name)) is np.ndarray
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_sparse_coder_predictor_sparse_input(device):
    # sparse X on the device: X^T X (SpGEMM), the minibatch row gathers with a
    # device index array, X @ W and X^T @ dU (tiny: simulated kernels are slow)
    S = sp.random(12, 8, density=0.4, random_state=3, format="csr")
    _, D = _coding_problem(k=5, p=8, seed=6)
    kw = {"transform_alpha": 0.05, "fit_predictor": True, "predictor_max_iter": 2,
          "predictor_batch_size": 6, "random_state": 1}
    ref = SparseCoder(D, **kw).fit(S)
    A = sl.csr_array(S).to_device(device)
    est = SparseCoder(on_device(D, device), **kw).fit(A)
    _same_predictor(est, ref, device)
    fast = est.transform(A, fast=True)
    _on_its_device(fast, device)
    _close(fast, ref.transform(S, fast=True), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("est", [
    DictionaryLearning(4, alpha=0.2, max_iter=5, random_state=0, fit_predictor=True,
                       predictor_max_iter=3, predictor_batch_size=8),
    MiniBatchDictionaryLearning(4, alpha=0.2, max_iter=2, batch_size=8, random_state=0,
                                fit_predictor=True, predictor_max_iter=3,
                                predictor_batch_size=8)],
    ids=lambda e: type(e).__name__)
def test_dictionary_learning_predictor_matches_cpu(device, est):
    X, _ = _coding_problem(n=24, k=4, p=8, seed=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = clone(est).fit(X)
        fitted = clone(est).fit(on_device(X, device))
    # the dictionaries agree to ~1e-7 (kernel vs batch coding engine), so the
    # approximators trained on them agree to about that too
    _same_predictor(fitted, ref, device, rtol=1e-4, atol=1e-5)
    fast = fitted.transform(on_device(X, device), fast=True)
    _on_its_device(fast, device)
    _close(fast, ref.transform(X, fast=True), rtol=1e-4, atol=1e-5)


def test_minibatch_partial_fit_predictor_on_device(device):
    # partial_fit trains one epoch per call and carries the Adam state over,
    # on the device of the data
    X, _ = _coding_problem(n=16, k=4, p=8, seed=8)
    kw = {"alpha": 0.2, "batch_size": 8, "random_state": 0, "fit_predictor": True,
          "predictor_batch_size": 8}
    ref = MiniBatchDictionaryLearning(4, **kw)
    est = MiniBatchDictionaryLearning(4, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for half in (X[:8], X[8:]):
            ref.partial_fit(half)
            est.partial_fit(on_device(half, device))
    _on_its_device(est._predictor_state["mW"], device)
    assert est._predictor_state["t"] == ref._predictor_state["t"] == 2
    _same_predictor(est, ref, device, rtol=1e-4, atol=1e-5)
    _close(est.transform(on_device(X, device), fast=True), ref.transform(X, fast=True),
           rtol=1e-4, atol=1e-5)
    if device == "gpu":
        with pytest.raises(TypeError, match=GPU):
            est.transform(X, fast=True)
