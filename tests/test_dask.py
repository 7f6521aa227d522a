"""sparsela.dask: sparsela chunks in Dask, distributed SpMM/SpGEMM, incremental fits.

One real ``dask.distributed.LocalCluster(processes=True)`` on loopback (two
worker processes, one thread each) serves the whole module. Products are
compared with the single-machine ``sparsela`` result: bitwise for the
broadcast method (each row is computed as the single-machine kernel computes
it) and for the blocked method on integer-valued data (every sum is exact);
to rounding for the blocked method on real values (the tree sums the same
products in another association order).
"""
from __future__ import annotations

import importlib
import importlib.util
import itertools
import os
import signal
import time
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import sparsela as sl
import sparsela.dask as sld
from sparsela.dask import _threads

# one LocalCluster per test process: with ``pytest -n 2 --dist loadgroup`` the
# whole module runs in one xdist worker (plain ``--dist load`` may start two)
pytestmark = pytest.mark.xdist_group("sparsela-dask-cluster")


# --------------------------------------------------------------------------- #
# helpers and fixtures
# --------------------------------------------------------------------------- #
def _same(C, R, *, sorted_: bool = True):
    """C and R are the same sparse array: structure and values, bitwise.

    ``C`` may be a Dask array: it is computed here, after the reference ``R``
    (so the test process compiles and caches each kernel before the workers
    ask for it).
    """
    if isinstance(C, da.Array):
        C = C.compute()
    C, R = C.tocsr(), R.tocsr()
    assert C.shape == R.shape and C.dtype == R.dtype, (C.shape, R.shape, C.dtype, R.dtype)
    np.testing.assert_array_equal(C.indptr, R.indptr)
    if not sorted_:
        C, R = C.copy(), R.copy()
        C.sort_indices()
        R.sort_indices()
    np.testing.assert_array_equal(C.indices, R.indices)
    np.testing.assert_array_equal(C.data, R.data)


def _rand(m, n, density, seed, integer=False, dtype=np.float64):
    rng = np.random.default_rng(seed)
    S = sp.random_array((m, n), density=density, rng=rng, format="csr")
    if integer:
        S.data = rng.integers(1, 5, size=S.nnz).astype(float)
    return sl.csr_array(S.astype(dtype))


@pytest.fixture(scope="module")
def mats():
    A = _rand(300, 200, 0.03, 0)
    B = _rand(200, 250, 0.03, 1)
    Ai = _rand(300, 200, 0.03, 2, integer=True)
    Bi = _rand(200, 250, 0.03, 3, integer=True)
    return A, B, Ai, Bi


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with warnings.catch_warnings():
        # a second test process's scheduler finds the HTTP port taken and says so
        warnings.filterwarnings("ignore", message=r"(?s).*Port \d+ is already in use")
        c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         host="127.0.0.1", dashboard_address=None, silence_logs=50)
    with c:
        yield c


@pytest.fixture(scope="module")
def client(cluster):
    from distributed import Client

    with Client(cluster) as c:
        yield c


# --------------------------------------------------------------------------- #
# chunk type: in-process (Dask's threaded scheduler)
# --------------------------------------------------------------------------- #
def test_nothing_is_patched():
    # what Dask asks of a chunk is sparsela's own behaviour (tested in
    # tests/test_index_reduce_2d.py); importing sparsela.dask changes nothing
    from sparsela.formats._base import SparseArray

    assert importlib.util.find_spec("sparsela.dask._compat") is None
    for name in ("__getitem__", "sum", "mean", "max", "min", "count_nonzero"):
        assert getattr(SparseArray, name).__module__ == "sparsela.formats._base", name
    A = _rand(20, 10, 0.3, 5)
    D = A.toarray()
    np.testing.assert_array_equal(sld.getitem(A, (slice(2, 5), slice(1, 4))).toarray(),
                                  D[2:5, 1:4])
    np.testing.assert_allclose(np.sum(A, axis=(0,), keepdims=True), D.sum(0, keepdims=True))


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_from_array_reductions_slicing_map_blocks(fmt):
    A = _rand(230, 170, 0.05, 6).asformat(fmt)
    D = A.toarray()
    x = da.from_array(A, chunks=(50, 60))
    assert isinstance(x._meta, sl.SparseArray)
    with dask.config.set(scheduler="threads"):
        C = x.compute()
        assert isinstance(C, sl.SparseArray)
        np.testing.assert_array_equal(C.toarray(), D)
        np.testing.assert_allclose(x.sum(axis=0).compute(), D.sum(0), rtol=1e-12)
        np.testing.assert_allclose(x.sum(axis=1).compute(), D.sum(1), rtol=1e-12)
        np.testing.assert_allclose(x.sum().compute(), D.sum(), rtol=1e-12)
        np.testing.assert_allclose(x.mean(axis=0).compute(), D.mean(0), rtol=1e-12)
        assert x.max().compute() == D.max() and x.min(axis=0).compute().tolist() == \
            D.min(0).tolist()
        np.testing.assert_array_equal(x[17:190, 33:150].compute().toarray(), D[17:190, 33:150])
        np.testing.assert_array_equal(x[::7, 3:100:3].compute().toarray(), D[::7, 3:100:3])
        y = x.map_blocks(lambda b: b.multiply(2.0), dtype=x.dtype)
        np.testing.assert_array_equal(y.compute().toarray(), 2 * D)
        np.testing.assert_array_equal(x.rechunk((115, 170)).compute().toarray(), D)
        W = np.arange(170 * 3, dtype=float).reshape(170, 3)
        np.testing.assert_allclose(da.dot(x, W).compute(), D @ W, rtol=1e-12)
        assert da.take(x, [5, 200, 5], axis=0).compute().toarray().tolist() == \
            D[[5, 200, 5]].tolist()


def test_from_array_helper_and_meta():
    A = _rand(100, 40, 0.1, 7)
    x = sld.from_array(A)
    assert x.numblocks == (1, 1) and isinstance(x._meta, sl.csr_array)
    x = sld.from_array(A.to_scipy(), chunks=(30, 40))
    assert x.chunks == ((30, 30, 30, 10), (40,))
    with dask.config.set(scheduler="sync"):
        _same(x.compute(), A)


def test_products_without_a_cluster(mats):
    A, B, Ai, Bi = mats
    with dask.config.set(scheduler="threads"):
        _same(sld.spgemm(A, B, row_chunks=70), sl.spgemm(A, B))
        _same(sld.spgemm(Ai, Bi, method="blocked", chunks=(100, 64, 90)),
              sl.spgemm(Ai, Bi))
        X = np.random.default_rng(0).standard_normal((200, 4))
        np.testing.assert_array_equal(sld.spmm(A, X, row_chunks=64).compute(), sl.spmm(A, X))


def test_bad_arguments(mats):
    A, B, _, _ = mats
    with pytest.raises(ValueError, match="dimension mismatch"):
        sld.spgemm(A, A)
    with pytest.raises(ValueError, match="method"):
        sld.spgemm(A, B, method="gather")
    with pytest.raises(ValueError, match="complement"):
        sld.spgemm(A, B, complement=True)
    with pytest.raises(ValueError, match="mask"):
        sld.spgemm(A, B, mask=sl.csr_array((3, 3)))
    with pytest.raises(TypeError, match="dense"):
        sld.spmm(A, B)
    with pytest.raises(TypeError, match="sparse"):
        sld.spgemm(np.ones((3, 3)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="split_every"):
        sld.spgemm(A, B, split_every=1)
    with pytest.raises(TypeError, match="partial_fit"):
        sld.fit_incremental(object(), da.ones((4, 4)))


# --------------------------------------------------------------------------- #
# on the cluster
# --------------------------------------------------------------------------- #
def _buffers(A):
    """(aligned, writeable) of every buffer of a sparsela array, as a worker received it."""
    arrs = [v for v in vars(A).values() if isinstance(v, np.ndarray)]
    return [(bool(a.flags.aligned), bool(a.flags.writeable)) for a in arrs]


def test_chunk_type_on_workers(client):
    # the workers slice and reduce sparsela chunks natively
    A = _rand(240, 120, 0.05, 8)
    D = A.toarray()
    x = da.from_array(A, chunks=(60, 50))
    np.testing.assert_array_equal(x[30:200, 10:100].compute().toarray(), D[30:200, 10:100])
    np.testing.assert_allclose(x.sum(axis=0).compute(), D.sum(0), rtol=1e-12)
    y = x.map_blocks(lambda b: b.multiply(b), dtype=x.dtype)
    np.testing.assert_array_equal(y.compute().toarray(), D * D)
    # arrays unpickled on a worker (protocol-5 frames) own aligned, writeable buffers
    got = client.submit(_buffers, A, pure=False).result()
    assert got and all(a and w for a, w in got), got


@pytest.mark.parametrize("sort_indices", [True, False])
def test_spgemm_broadcast_is_bitwise(client, mats, sort_indices):
    A, B, _, _ = mats
    ref = sl.spgemm(A, B, sort_indices=sort_indices)
    C = sld.spgemm(A, B, sort_indices=sort_indices, method="broadcast", row_chunks=64)
    assert C.chunks == ((64, 64, 64, 64, 44), (250,))
    assert isinstance(C._meta, sl.csr_array)
    # unsorted rows come out in the single-machine kernel's order too
    _same(C, ref)


def test_spgemm_broadcast_mask_and_semiring(client, mats):
    A, B, _, _ = mats
    M = _rand(300, 250, 0.05, 9)
    _same(sld.spgemm(A, B, mask=M, row_chunks=80), sl.spgemm(A, B, mask=M))
    _same(sld.spgemm(A, B, mask=M, complement=True, row_chunks=80),
          sl.spgemm(A, B, mask=M, complement=True))
    _same(sld.spgemm(A, B, semiring="min_plus", row_chunks=80),
          sl.spgemm(A, B, semiring="min_plus"))
    # a Dask-array mask is rechunked like the output
    Md = da.from_array(M, chunks=(45, 100))
    _same(sld.spgemm(A, B, mask=Md, row_chunks=80), sl.spgemm(A, B, mask=M))


def test_spgemm_blocked(client, mats):
    A, B, Ai, Bi = mats
    chunks = (100, 64, 90)  # 3 row x 4 k x 3 column blocks: a 2-level tree (split_every=2)
    # integer values: every partial sum is exact, so the tree gives the same bits
    _same(sld.spgemm(Ai, Bi, method="blocked", chunks=chunks, split_every=2),
          sl.spgemm(Ai, Bi))
    # real values: same entries, values to rounding (another summation order)
    R = sl.spgemm(A, B)
    C = sld.spgemm(A, B, method="blocked", chunks=chunks, split_every=3).compute()
    np.testing.assert_array_equal(C.indptr, R.indptr)
    np.testing.assert_array_equal(C.indices, R.indices)
    np.testing.assert_allclose(C.data, R.data, rtol=1e-13, atol=0)
    # masks travel to every partial product; min_plus reduces with min
    M = _rand(300, 250, 0.05, 10)
    _same(sld.spgemm(Ai, Bi, method="blocked", chunks=chunks, mask=M),
          sl.spgemm(Ai, Bi, mask=M))
    _same(sld.spgemm(A, B, method="blocked", chunks=chunks, semiring="min_plus"),
          sl.spgemm(A, B, semiring="min_plus"))


def test_blocked_keeps_cancellations(client):
    # A @ B has an entry that cancels across k blocks: kept as an explicit zero
    A = sl.csr_array(np.array([[1.0, 0.0, 0.0, 1.0]]))
    B = sl.csr_array(np.array([[2.0], [0.0], [0.0], [-2.0]]))
    C = sld.spgemm(A, B, method="blocked", chunks=(1, 2, 1)).compute()
    _same(C, sl.spgemm(A, B))
    assert C.nnz == 1 and C.data[0] == 0.0


def test_spgemm_dask_operands(client):
    # A and B generated on the workers (never whole on the client)
    A = sld.rmat(9, 8, rng=3, row_chunks=128)
    Al = A.compute()
    ref = sl.spgemm(Al, Al)
    _same(sld.spgemm(A, A, method="broadcast"), ref)
    C = sld.spgemm(A, A.rechunk((128, 256)))          # auto: blocked (B in 4 chunks)
    assert C.numblocks == (4, 2)
    _same(C, ref)


def test_spmm(client, mats):
    A, _, Ai, _ = mats
    X = np.random.default_rng(1).standard_normal((200, 7))
    R = sl.spmm(A, X)
    np.testing.assert_array_equal(sld.spmm(A, X, row_chunks=64).compute(), R)
    Xi = np.random.default_rng(2).integers(-3, 4, size=(200, 7)).astype(float)
    Ri = sl.spmm(Ai, Xi)
    Y = sld.spmm(Ai, Xi, method="blocked", chunks=(100, 64, 4), split_every=2)
    assert Y.numblocks == (3, 2)
    np.testing.assert_array_equal(Y.compute(), Ri)
    np.testing.assert_allclose(
        sld.spmm(A, da.from_array(X, chunks=(50, 7)), method="blocked").compute(),
        R, rtol=1e-12, atol=1e-14)


def _task_threads(p):
    with _threads.task_context(p) as n:
        return n, sl.get_num_threads(), len(os.sched_getaffinity(0))


def test_numba_threads_times_worker_threads_within_cores(client):
    p = _threads.plan(client=client)
    assert sum(p["hosts"].values()) == 2  # two workers x one thread on 127.0.0.1
    for w in client.scheduler_info()["workers"]:
        n, current, cores = client.submit(_task_threads, p, workers=[w], pure=False).result()
        assert n == current == max(1, cores // 2)
        assert n * 2 <= max(cores, 2)
    assert client.submit(_task_threads, _threads.plan(1), pure=False).result()[0] == 1


def _has_sparsela_dask():
    import sys

    return "sparsela.dask" in sys.modules


def test_configure_workers(client):
    got = sld.configure_workers(client)
    cores = client.run(os.sched_getaffinity, 0)
    assert got == {w: max(1, len(cores[w]) // 2) for w in cores}
    assert all(client.run(_has_sparsela_dask).values())


def test_rmat_generator(client):
    A = sld.rmat(10, 4, rng=11, row_chunks=300)
    B = sld.rmat(10, 4, rng=11, row_chunks=128, n_tasks=4)  # same tasks, other row blocks
    Ac, Bc = A.compute(), B.compute()
    _same(Ac, Bc)
    assert Ac.shape == (1024, 1024) and Ac.sum() == 4 * 1024
    assert Ac.has_canonical_format
    assert not np.array_equal(sld.rmat(10, 4, rng=12).compute().indices, Ac.indices)


# --------------------------------------------------------------------------- #
# incremental fits
# --------------------------------------------------------------------------- #
def _manual(est, blocks, **kw):
    for b in blocks:
        est.partial_fit(*b, **kw)
    return est


def test_fit_incremental_sklearn(client):
    from sklearn.decomposition import IncrementalPCA, MiniBatchDictionaryLearning
    from sklearn.linear_model import SGDRegressor

    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 12))
    y = X @ rng.standard_normal(12) + 0.1 * rng.standard_normal(400)
    Xd, yd = da.from_array(X, chunks=(100, 5)), da.from_array(y, chunks=150)
    edges = [0, 100, 200, 300, 400]
    blocks = [(X[a:b], y[a:b]) for a, b in itertools.pairwise(edges)]

    got = sld.fit_incremental(SGDRegressor(random_state=0), Xd, yd, prefetch=1)
    ref = _manual(SGDRegressor(random_state=0), blocks)
    np.testing.assert_array_equal(got.coef_, ref.coef_)
    np.testing.assert_array_equal(got.intercept_, ref.intercept_)

    got = sld.fit_incremental(IncrementalPCA(n_components=3), Xd)
    ref = _manual(IncrementalPCA(n_components=3), [(b[0],) for b in blocks])
    np.testing.assert_array_equal(got.components_, ref.components_)

    got = sld.fit_incremental(MiniBatchDictionaryLearning(4, batch_size=20, random_state=0),
                              Xd, n_epochs=2, shuffle_blocks=True, random_state=1)
    rng1 = np.random.default_rng(1)
    order = np.concatenate([rng1.permutation(4), rng1.permutation(4)])
    ref = _manual(MiniBatchDictionaryLearning(4, batch_size=20, random_state=0),
                  [(blocks[i][0],) for i in order])
    np.testing.assert_array_equal(got.components_, ref.components_)


def test_fit_incremental_sparse_blocks_and_weights(client):
    from sklearn.linear_model import SGDClassifier

    A = _rand(300, 40, 0.1, 12)
    y = (np.arange(300) % 3).astype(np.int64)
    w = np.linspace(0.5, 1.5, 300)
    seen = []
    got = sld.fit_incremental(
        SGDClassifier(random_state=0), da.from_array(A, chunks=(75, 40)), y,
        classes=np.arange(3), sample_weight=da.from_array(w, chunks=100),
        callback=lambda est, epoch, i: seen.append((epoch, i)))
    assert seen == [(0, 0), (0, 1), (0, 2), (0, 3)]
    ref = SGDClassifier(random_state=0)
    S = A.to_scipy()
    for a in range(0, 300, 75):
        ref.partial_fit(S[a:a + 75], y[a:a + 75], classes=np.arange(3),
                        sample_weight=w[a:a + 75])
    np.testing.assert_array_equal(got.coef_, ref.coef_)


def _sparsela_estimator(module: str, name: str):
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"{module}.{name} is not available yet ({exc})")
    if not hasattr(cls, "partial_fit"):
        pytest.skip(f"{module}.{name} has no partial_fit")
    return cls


def test_fit_incremental_stochastic_cca(client):
    StochasticCCA = _sparsela_estimator("sparsela.cross_decomposition", "StochasticCCA")
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((400, 2))
    X = np.hstack([Z, rng.standard_normal((400, 6))]) + 0.1 * rng.standard_normal((400, 8))
    Y = np.hstack([Z @ [[1, 0.5], [0.2, 1]], rng.standard_normal((400, 4))])
    Xs = sl.csr_array(np.where(np.abs(X) > 0.3, X, 0.0))
    Xd = da.from_array(Xs, chunks=(100, 8))
    Yd = da.from_array(Y, chunks=(100, 6))
    kw = {"n_components": 2, "random_state": 0}
    got = sld.fit_incremental(StochasticCCA(**kw), Xd, Yd)
    ref = _manual(StochasticCCA(**kw), [(Xs[a:a + 100], Y[a:a + 100])
                                        for a in range(0, 400, 100)])
    attrs = [a for a in ("x_weights_", "y_weights_", "weights_") if hasattr(ref, a)]
    assert attrs, "StochasticCCA exposes none of x_weights_, y_weights_, weights_"
    for attr in attrs:
        g, r = getattr(got, attr), getattr(ref, attr)
        if isinstance(r, (list, tuple)):  # weights_: one array per view
            assert len(g) == len(r)
            for gi, ri in zip(g, r):
                np.testing.assert_array_equal(gi, ri)
        else:
            np.testing.assert_array_equal(g, r)


def test_fit_incremental_sparsela_minibatch_dictionary_learning(client):
    MBDL = _sparsela_estimator("sparsela.decomposition", "MiniBatchDictionaryLearning")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 10))
    Xd = da.from_array(X, chunks=(75, 10))
    kw = {"n_components": 4, "batch_size": 25, "random_state": 0}
    got = sld.fit_incremental(MBDL(**kw), Xd)
    ref = _manual(MBDL(**kw), [(X[a:a + 75],) for a in range(0, 300, 75)])
    np.testing.assert_array_equal(got.components_, ref.components_)


# --------------------------------------------------------------------------- #
# a worker dies mid-computation: Dask recomputes, the result is still right
# --------------------------------------------------------------------------- #
def _slow(block, delay):
    time.sleep(delay)
    return block


def test_worker_killed_mid_computation(client, cluster):
    A = sld.rmat(10, 8, rng=5, row_chunks=64)            # 16 row blocks, made on the workers
    Al = A.compute()
    ref = sl.spgemm(Al, Al)
    C = sld.spgemm(A, Al, row_chunks=64)                  # B scattered to both workers
    slow = C.map_blocks(_slow, 0.25, dtype=C.dtype, meta=C._meta)
    fut = client.compute(slow)
    name = slow.name

    def held(dask_scheduler, name=name):
        # {worker: finished output blocks it holds}
        out = {}
        for ts in dask_scheduler.tasks.values():
            if isinstance(ts.key, tuple) and ts.key[0] == name and ts.state == "memory":
                for ws in ts.who_has:
                    out[ws.address] = out.get(ws.address, 0) + 1
        return out

    deadline = time.time() + 60
    while not any(n >= 2 for n in client.run_on_scheduler(held).values()):
        assert time.time() < deadline, "the computation did not start"
        time.sleep(0.05)
    assert not fut.done()
    # kill a worker holding finished blocks: they are lost and must be recomputed
    victim = max((n, w) for w, n in client.run_on_scheduler(held).items())[1]
    pids = client.run(os.getpid)
    os.kill(pids[victim], signal.SIGKILL)                  # the nanny starts a new one
    _same(fut.result(timeout=180), ref)
    assert pids[victim] not in client.run(os.getpid).values()
