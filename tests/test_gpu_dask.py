"""sparsela.dask with chunks on the GPU.

The chunks are sparsela arrays on the GPU (or CuPy arrays): a real CUDA
device when CuPy sees one, else the simulated device (tests/conftest.py),
whose kernels run in Numba's CUDA simulator. Every result is compared with
the same computation on CPU chunks and with SciPy/NumPy. The simulated
device runs each kernel's threads as Python threads and is not meant to be
entered from several Dask tasks at once, so every test runs Dask's
synchronous scheduler; the matrices are tiny (<= 20 x 20).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")

from conftest import to_host
from sklearn.exceptions import ConvergenceWarning

import sparsela as sl
import sparsela.dask as sld
from sparsela._device import cupy, is_gpu_array

GPU = r"(?i)gpu"


@pytest.fixture(autouse=True)
def _synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def _rand(m, n, density, seed, integer=False):
    rng = np.random.default_rng(seed)
    S = sp.random_array((m, n), density=density, rng=rng, format="csr")
    if integer:
        S.data = rng.integers(1, 5, size=S.nnz).astype(float)
    return sl.csr_array(S)


def _on_gpu_sparse(x):
    assert isinstance(x, sl.SparseArray) and x.device == "gpu", type(x)


def _same_sparse(C, R, **kw):
    """GPU sparse ``C`` equals CPU sparse ``R`` (pattern and values)."""
    _on_gpu_sparse(C)
    C, R = C.get().tocsr(), R.tocsr()
    C.sort_indices()
    R = R.copy()
    R.sort_indices()
    assert C.shape == R.shape and C.dtype == R.dtype
    np.testing.assert_array_equal(C.indptr, R.indptr)
    np.testing.assert_array_equal(C.indices, R.indices)
    np.testing.assert_allclose(C.data, R.data, **{"rtol": 1e-13, "atol": 0, **kw})


# --------------------------------------------------------------------------- #
# chunk type
# --------------------------------------------------------------------------- #
def test_from_array_gpu_chunks_and_meta():
    A = _rand(17, 13, 0.3, 0)
    D = A.toarray()
    x = sld.from_array(A.to_device("gpu"), chunks=(6, 7))
    assert x.chunks == ((6, 6, 5), (7, 6))
    _on_gpu_sparse(x._meta)
    blk = x.blocks[1, 0].compute()
    _on_gpu_sparse(blk)
    np.testing.assert_array_equal(blk.get().toarray(), D[6:12, :7])
    C = x.compute()
    _on_gpu_sparse(C)
    np.testing.assert_array_equal(C.get().toarray(), D)
    # the public meta() on either device; SciPy input stays on the CPU
    _on_gpu_sparse(sld.meta(np.float32, "csc", device="gpu"))
    assert sld.meta(np.float32, "csc").device == "cpu"
    assert sld.from_array(A.to_scipy(), chunks=(6, 13))._meta.device == "cpu"


def test_gpu_chunks_reductions_slicing_map_blocks():
    A = _rand(16, 12, 0.35, 1)
    D = A.toarray()
    x = sld.from_array(A.to_device("gpu"), chunks=(6, 5))
    cases = {
        "sum0": (x.sum(axis=0), D.sum(0)),
        "sum1": (x.sum(axis=1), D.sum(1)),
        "sum": (x.sum(), D.sum()),
        "mean0": (x.mean(axis=0), D.mean(0)),
    }
    for name, (lazy, ref) in cases.items():
        assert is_gpu_array(lazy._meta), (name, type(lazy._meta))
        got = lazy.compute()
        assert is_gpu_array(got), (name, type(got))
        np.testing.assert_allclose(to_host(got), ref, rtol=1e-12, err_msg=name)
    mx = x.max(axis=0).compute()
    assert is_gpu_array(mx)
    np.testing.assert_array_equal(to_host(mx), D.max(0))
    # slicing (a step across chunk boundaries too) and a rechunk join on the device
    for key in [(slice(3, 14), slice(2, 11)), (slice(None, None, 3), slice(1, 12, 2))]:
        part = x[key].compute()
        _on_gpu_sparse(part)
        np.testing.assert_array_equal(part.get().toarray(), D[key])
    _on_gpu_sparse(x.rechunk((8, 12)).compute())
    # map_blocks: the function gets GPU chunks, and its result stays there
    y = x.map_blocks(lambda b: b.multiply(2.0), dtype=x.dtype)
    _on_gpu_sparse(y._meta)
    out = y.compute()
    _on_gpu_sparse(out)
    np.testing.assert_array_equal(out.get().toarray(), 2 * D)
    # row selection (take) with a host index, joined on the device
    t = da.take(x, [5, 13, 5], axis=0).compute()
    _on_gpu_sparse(t)
    np.testing.assert_array_equal(t.get().toarray(), D[[5, 13, 5]])


def test_explicit_backend_moves_only():
    A = _rand(10, 8, 0.4, 2)
    x = sld.from_array(A.to_device("gpu"), chunks=(5, 8))
    # the two moves Dask makes when asked by name: to NumPy (dense, host) ...
    h = x.to_backend("numpy")
    assert isinstance(h._meta, np.ndarray)
    got = h.compute()
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, A.toarray())
    # ... and to CuPy: a CPU chunk goes to the GPU and stays sparse (the
    # dispatch that x.to_backend("cupy") maps over the chunks)
    from dask.array.dispatch import to_cupy_dispatch

    g = sld.from_array(A, chunks=(5, 8)).map_blocks(to_cupy_dispatch, dtype=A.dtype)
    _on_gpu_sparse(g._meta)
    _same_sparse(g.compute(), A)


def test_mixed_device_chunks_raise():
    A = _rand(10, 8, 0.4, 3)
    top = sld.from_array(A[:5].to_device("gpu"), chunks=(5, 8))
    bottom = sld.from_array(A[5:], chunks=(5, 8))
    with pytest.raises(TypeError, match=GPU):
        da.concatenate([top, bottom], axis=0).compute()


# --------------------------------------------------------------------------- #
# products
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def mats():
    return (_rand(18, 14, 0.25, 4), _rand(14, 16, 0.25, 5),
            _rand(18, 14, 0.25, 6, integer=True), _rand(14, 16, 0.25, 7, integer=True))


def test_spgemm_broadcast_on_gpu(mats):
    A, B, _, _ = mats
    Ag, Bg = A.to_device("gpu"), B.to_device("gpu")
    C = sld.spgemm(Ag, Bg, row_chunks=7)
    _on_gpu_sparse(C._meta)
    assert C.numblocks == (3, 1)
    _on_gpu_sparse(C.blocks[1, 0].compute())
    ref = sl.spgemm(A, B)
    _same_sparse(C.compute(), ref)
    np.testing.assert_allclose(C.compute().get().toarray(),
                               (A.to_scipy() @ B.to_scipy()).toarray(), rtol=1e-13)
    # a Dask-array A of GPU chunks, with a mask on the GPU
    M = _rand(18, 16, 0.4, 8)
    Cm = sld.spgemm(sld.from_array(Ag, chunks=(9, 14)), Bg, mask=M.to_device("gpu"))
    _same_sparse(Cm.compute(), sl.spgemm(A, B, mask=M))


@pytest.mark.parametrize("semiring", ["plus_times", "min_plus", "max_plus", "or_and"])
def test_spgemm_blocked_tree_sum_on_gpu(mats, semiring):
    _, _, Ai, Bi = mats
    # integer values: every sum is exact, so the tree order does not matter
    C = sld.spgemm(Ai.to_device("gpu"), Bi.to_device("gpu"), method="blocked",
                   chunks=(9, 4, 8), split_every=2, semiring=semiring)
    _on_gpu_sparse(C._meta)
    assert C.numblocks == (2, 2)
    _same_sparse(C.compute(), sl.spgemm(Ai, Bi, semiring=semiring), rtol=0)


def test_spgemm_blocked_real_values_on_gpu(mats):
    A, B, _, _ = mats
    C = sld.spgemm(A.to_device("gpu"), B.to_device("gpu"), method="blocked",
                   chunks=(10, 5, 16))
    _same_sparse(C.compute(), sl.spgemm(A, B), rtol=1e-12)


def test_spmm_on_gpu(mats):
    A, _, _, _ = mats
    xp = cupy()
    X = np.random.default_rng(0).standard_normal((14, 3))
    ref = A.to_scipy() @ X
    Ag, Xg = A.to_device("gpu"), xp.asarray(X)
    for kw in ({"row_chunks": 7}, {"method": "blocked", "chunks": (9, 5, 2)}):
        Y = sld.spmm(Ag, Xg, **kw)
        assert is_gpu_array(Y._meta), kw
        got = Y.compute()
        assert is_gpu_array(got), kw
        np.testing.assert_allclose(to_host(got), ref, rtol=1e-12, err_msg=str(kw))
    # broadcast: each row as the single-device product computes it
    np.testing.assert_array_equal(to_host(sld.spmm(Ag, Xg, row_chunks=5).compute()),
                                  to_host(sl.spmm(Ag, Xg)))
    # X as a Dask array of CuPy chunks
    Xd = da.from_array(Xg, chunks=(7, 3), name=False)
    np.testing.assert_allclose(to_host(sld.spmm(Ag, Xd, row_chunks=9).compute()), ref,
                               rtol=1e-12)


def test_products_mixed_devices_raise(mats):
    A, B, _, _ = mats
    xp = cupy()
    Ag = A.to_device("gpu")
    with pytest.raises(TypeError, match=GPU):
        sld.spgemm(Ag, B)
    with pytest.raises(TypeError, match=GPU):
        sld.spgemm(sld.from_array(A, chunks=(9, 14)), B.to_device("gpu"))
    with pytest.raises(TypeError, match=GPU):
        sld.spgemm(Ag, B.to_device("gpu"), mask=sl.csr_array((18, 16)))
    with pytest.raises(TypeError, match=GPU):
        sld.spmm(Ag, np.ones((14, 2)))
    with pytest.raises(TypeError, match=GPU):
        sld.spmm(A, xp.ones((14, 2)))


# --------------------------------------------------------------------------- #
# generator and incremental fits
# --------------------------------------------------------------------------- #
def test_rmat_on_gpu():
    kw = {"rng": 3, "row_chunks": 4}
    G = sld.rmat(4, 4, device="gpu", **kw)
    _on_gpu_sparse(G._meta)
    _on_gpu_sparse(G.blocks[2, 0].compute())
    _same_sparse(G.compute(), sld.rmat(4, 4, **kw).compute(), rtol=0)
    with pytest.raises(ValueError, match="device"):
        sld.rmat(3, device="tpu")


def _manual(est, blocks):
    for b in blocks:
        est.partial_fit(*b)
    return est


def test_fit_incremental_gpu_blocks_minibatch_dictionary_learning():
    from sparsela.decomposition import MiniBatchDictionaryLearning

    xp = cupy()
    X = np.random.default_rng(0).standard_normal((20, 6))
    kw = {"n_components": 3, "batch_size": 5, "random_state": 0}
    Xd = da.from_array(xp.asarray(X), chunks=(5, 6), name=False)
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        got = sld.fit_incremental(MiniBatchDictionaryLearning(**kw), Xd,
                                  callback=lambda e, ep, i: seen.append(
                                      is_gpu_array(e.components_)))
        ref = _manual(MiniBatchDictionaryLearning(**kw), [(X[a:a + 5],)
                                                         for a in range(0, 20, 5)])
    assert seen == [True] * 4
    # the coding steps: the GPU batch engine vs the CPU kernel (same gap tolerance)
    np.testing.assert_allclose(to_host(got.components_), ref.components_, atol=1e-6)


def test_fit_incremental_gpu_sparse_blocks_stochastic_cca():
    from sparsela.cross_decomposition import StochasticCCA

    xp = cupy()
    rng = np.random.default_rng(1)
    Z = rng.standard_normal((16, 1))
    X = np.hstack([Z, rng.standard_normal((16, 3))])
    Xs = sl.csr_array(np.where(np.abs(X) > 0.4, X, 0.0))
    Y = np.hstack([Z, rng.standard_normal((16, 2))])
    Xd = sld.from_array(Xs.to_device("gpu"), chunks=(8, 4))
    Yd = da.from_array(xp.asarray(Y), chunks=(8, 3), name=False)
    est_kw = {"n_components": 1, "random_state": 0}
    got = sld.fit_incremental(StochasticCCA(**est_kw), Xd, Yd)
    ref = _manual(StochasticCCA(**est_kw), [(Xs[a:a + 8], Y[a:a + 8]) for a in (0, 8)])
    names = [n for n in ("x_weights_", "y_weights_") if hasattr(ref, n)]
    assert names, "StochasticCCA exposes neither x_weights_ nor y_weights_"
    for name in names:
        assert is_gpu_array(getattr(got, name)), name
        np.testing.assert_allclose(to_host(getattr(got, name)), getattr(ref, name),
                                   rtol=1e-7, atol=1e-9)
    # blocks never leave the device: no scipy blocks, no host y for GPU X
    with pytest.raises(TypeError, match=GPU):
        sld.fit_incremental(StochasticCCA(**est_kw), Xd, Yd, block_format="scipy")
    with pytest.raises(TypeError, match=GPU):
        sld.fit_incremental(StochasticCCA(**est_kw), Xd, Y)
