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
    # the fast approximator trains and runs on the CPU only
    with pytest.raises(TypeError, match=GPU):
        SparseCoder(xp.asarray(D), fit_predictor=True).fit(xp.asarray(X))
    with pytest.raises(TypeError, match=GPU):
        SparseCoder(xp.asarray(D)).transform(xp.asarray(X), fast=True)


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
        with pytest.raises(TypeError, match=GPU):
            DictionaryLearning(3, max_iter=2, fit_predictor=True).fit(xp.asarray(X))
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
