"""The GPU device model and the public operations on every device.

Parametrised with the ``device`` fixture (tests/conftest.py): each test runs
on the CPU and on the GPU, which is a real CUDA device when CuPy sees one
and otherwise the simulated device (``sparsela/backends/gpu/_simulator.py``)
whose numba.cuda kernels run in Numba's CUDA simulator. The GPU results are
compared with the CPU results and with SciPy/NumPy. The simulator runs every
GPU thread as a Python thread, so inputs are tiny.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import GPU_MODE, assert_close, on_device, to_host

import sparsela as sl
from sparsela._device import cupy, is_gpu_array

GPU = r"(?i)(gpu|cupy)"


def _triplets(m, n, nnz, dtype=np.float64, seed=0, dup=True, zeros=True):
    """Unsorted COO triplets with duplicates and explicit zeros."""
    rng = np.random.default_rng(seed)
    row = rng.integers(0, max(m, 1), nnz) if m and n else np.zeros(0, np.int64)
    col = rng.integers(0, max(n, 1), nnz) if m and n else np.zeros(0, np.int64)
    if dup and row.size > 3:
        row[-2:], col[-2:] = row[:2], col[:2]
    vals = rng.integers(-3, 4, row.size).astype(dtype)
    if np.dtype(dtype).kind == "c":
        vals = vals + 1j * rng.integers(-2, 3, row.size)
    if zeros and vals.size > 4:
        vals[3] = 0
    return vals.astype(dtype), row, col


def _pair(fmt, m=9, n=7, nnz=25, dtype=np.float64, seed=0, idx=np.int32):
    """The same matrix in sparsela (non-canonical: unsorted, duplicated, explicit
    zeros) and SciPy."""
    data, row, col = _triplets(m, n, nnz, dtype, seed)
    row, col = row.astype(idx), col.astype(idx)
    S = sp.coo_array((data, (row, col)), shape=(m, n))
    if fmt == "coo":
        return sl.coo_array((data.copy(), (row.copy(), col.copy())), shape=(m, n)), S
    # compressed arrays straight from the triplets: rows (columns for CSC) in
    # order, the entries within them in the triplets' random order
    major, minor, n_major = (row, col, m) if fmt == "csr" else (col, row, n)
    perm = np.argsort(major, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(major, minlength=n_major))])
    cls = sl.csr_array if fmt == "csr" else sl.csc_array
    return cls((data[perm], minor[perm], indptr.astype(idx)), shape=(m, n)), S


FMT3 = pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])


# =========================================================================== #
# the device model
# =========================================================================== #
@FMT3
def test_to_device_round_trip(fmt):
    A, S = _pair(fmt)
    G = A.to_device("gpu")
    assert G.device == "gpu" and A.device == "cpu"
    assert G.format == fmt and G.shape == A.shape and G.dtype == A.dtype
    assert is_gpu_array(G.data)
    assert G.to_device("gpu") is G and A.to_device("cpu") is A
    H = G.get()
    assert H.device == "cpu" and isinstance(H.data, np.ndarray)
    np.testing.assert_array_equal(H.toarray(), S.toarray())
    # the move copies: the CPU array's buffers are not the host copies
    assert H.data is not A.data
    with pytest.raises(ValueError, match="device"):
        A.to_device("tpu")


def test_asarray_device_and_constructors_from_device_arrays():
    xp = cupy()
    data, row, col = _triplets(6, 5, 12)
    S = sp.coo_array((data, (row, col)), shape=(6, 5))
    G = sl.asarray(S, device="gpu")
    assert G.device == "gpu" and G.format == "coo"
    np.testing.assert_array_equal(to_host(G).toarray(), S.toarray())
    # (data, (row, col)) of device arrays stays on the device
    C = sl.coo_array((xp.asarray(data), (xp.asarray(row), xp.asarray(col))), shape=(6, 5))
    assert C.device == "gpu"
    np.testing.assert_array_equal(C.get().toarray(), S.toarray())
    # (data, indices, indptr) of device arrays
    R = S.tocsr()
    C = sl.csr_array((xp.asarray(R.data), xp.asarray(R.indices), xp.asarray(R.indptr)),
                     shape=R.shape)
    assert C.device == "gpu"
    np.testing.assert_array_equal(C.get().toarray(), S.toarray())
    # a dense device array
    D = sl.csr_array(xp.asarray(S.toarray()))
    assert D.device == "gpu" and D.nnz == np.count_nonzero(S.toarray())
    np.testing.assert_array_equal(D.get().toarray(), S.toarray())
    assert sl.asarray(D, device="cpu").device == "cpu"


@pytest.mark.skipif(GPU_MODE != "real", reason="cupyx.scipy.sparse needs a real GPU "
                    "(this run uses the simulated device)")
def test_constructors_accept_cupyx_sparse():
    import cupyx.scipy.sparse as csp

    S = sp.random(20, 15, density=0.2, format="csr", random_state=0)
    X = csp.csr_matrix(S)
    for cls in (sl.csr_array, sl.csc_array, sl.coo_array):
        A = cls(X)
        assert A.device == "gpu"
        np.testing.assert_allclose(A.get().toarray(), S.toarray())
    assert sl.asarray(X).device == "gpu"


def test_mixing_devices_is_a_type_error():
    xp = cupy()
    A, _ = _pair("csr")
    G = A.to_device("gpu")
    x = np.ones(A.shape[1])
    X = np.ones((A.shape[1], 2))
    ops = [lambda: G @ x, lambda: G @ X, lambda: A @ xp.asarray(x), lambda: A @ xp.asarray(X),
           lambda: x[:A.shape[0]] @ G, lambda: G @ A.T, lambda: A @ G.T, lambda: G + A,
           lambda: A - G, lambda: G.multiply(A), lambda: sl.spgemm(A, G.T),
           lambda: sl.spmv(G, x), lambda: sl.spmm(A, xp.asarray(X)),
           lambda: sl.sddmm(G, np.ones((9, 2)), np.ones((7, 2))),
           lambda: sl.spgemm(G, G.T, mask=A @ A.T), lambda: G.multiply(X[:, 0][:7])]
    for op in ops:
        with pytest.raises(TypeError, match=GPU):
            op()
    # constructor inputs on two devices
    data, row, col = _triplets(4, 4, 6)
    with pytest.raises(TypeError, match=GPU):
        sl.coo_array((xp.asarray(data), (row, col)), shape=(4, 4))
    R = sp.coo_array((data, (row, col)), shape=(4, 4)).tocsr()
    with pytest.raises(TypeError, match=GPU):
        sl.csr_array((R.data, xp.asarray(R.indices), R.indptr), shape=(4, 4))


@pytest.mark.skipif(GPU_MODE != "simulated", reason="checks the simulated device itself")
def test_simulated_device_updates_in_place_as_cupy():
    # CuPy's augmented assignments write into the buffer (a view and every
    # alias see it); the stand-in must not rebind instead
    xp = cupy()
    a = xp.asarray(np.arange(4.0))
    alias, view = a, a[1:3]
    view += 10
    alias *= 2
    assert alias is a
    np.testing.assert_array_equal(a.get(), [0.0, 22.0, 24.0, 6.0])
    with pytest.raises(TypeError, match="NumPy array cannot be mixed"):
        a += np.ones(4)


def test_files_are_written_from_the_host(tmp_path):
    # writing a file is a host operation: a GPU array is never copied for it
    A, _ = _pair("csr")
    G = A.to_device("gpu")
    for call in (lambda: sl.io.mmwrite(tmp_path / "g.mtx", G),
                 lambda: sl.io.mmwrite(tmp_path / "d.mtx", G.toarray()),
                 lambda: sl.io.save_npz(tmp_path / "g.npz", G)):
        with pytest.raises(TypeError, match=r"lives on the GPU.*\.get\(\)"):
            call()
    assert not any(tmp_path.iterdir())
    sl.io.mmwrite(tmp_path / "h.mtx", G.get())
    np.testing.assert_array_equal(sl.io.mmread(tmp_path / "h.mtx").toarray(), A.toarray())


def test_results_stay_on_the_device():
    A, _ = _pair("csr")
    G = A.to_device("gpu")
    xp = cupy()
    assert is_gpu_array(G @ xp.ones(7))
    assert is_gpu_array(G @ xp.ones((7, 3)))
    assert (G @ G.T).device == "gpu"
    assert is_gpu_array(G.toarray())
    assert is_gpu_array(G.sum(axis=0))
    with pytest.raises(TypeError, match="(?i)implicit"):
        np.asarray(G.toarray())  # no implicit device -> host conversion


def test_cupy_is_imported_lazily():
    code = ("import sys, numpy as np, sparsela as sl\n"
            "A = sl.random(50, 50, density=0.1, rng=0)\n"
            "(A @ A) @ np.ones(50)\n"
            "assert 'cupy' not in sys.modules, 'cupy imported'\n"
            "assert 'sparsela.backends.gpu' not in sys.modules\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("SPARSELA_GPU_SIMULATOR", "NUMBA_ENABLE_CUDASIM")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=300)


@pytest.mark.skipif(GPU_MODE == "real", reason="this machine has a GPU")
def test_to_device_gpu_without_a_gpu_is_a_clear_error():
    code = ("import sparsela as sl\n"
            "try:\n"
            "    sl.eye(3).to_device('gpu')\n"
            "except (ImportError, RuntimeError) as e:\n"
            "    print(type(e).__name__, e)\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("SPARSELA_GPU_SIMULATOR", "NUMBA_ENABLE_CUDASIM")}
    out = subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=300,
                         capture_output=True, text=True).stdout
    assert "sparsela[cuda12]" in out or "CUDA device" in out, out


def test_cusparse_backend():
    A, S = _pair("csr")
    G = A.to_device("gpu")
    xp = cupy()
    x = np.arange(7.0)
    if GPU_MODE != "real":
        with sl.config_context(backend="cusparse"), \
                pytest.raises(RuntimeError, match="cuSPARSE"):
            G @ xp.asarray(x)
        return
    with sl.config_context(backend="cusparse"):
        y = G @ xp.asarray(x)
        C = G @ G.T
    np.testing.assert_allclose(y.get(), S @ x)
    np.testing.assert_allclose(C.get().toarray(), (S @ S.T).toarray())


# =========================================================================== #
# the operations, on every device
# =========================================================================== #
@FMT3
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128, np.int64])
def test_products_with_dense(device, fmt, dtype):
    A, S = _pair(fmt, dtype=dtype, seed=1)
    D = A.to_device(device)
    rng = np.random.default_rng(2)
    x = rng.integers(-3, 4, 7).astype(dtype)
    X = rng.integers(-3, 4, (7, 3)).astype(dtype)
    Xf = np.asfortranarray(X)
    xt = rng.integers(-3, 4, 9).astype(dtype)
    Xt = rng.integers(-3, 4, (9, 4)).astype(dtype)
    dense = S.toarray()
    assert_close(to_host(D @ on_device(x, device)), dense @ x, dtype)
    assert_close(to_host(D @ on_device(X, device)), dense @ X, dtype)
    assert_close(to_host(D @ on_device(Xf, device)), dense @ X, dtype)
    assert_close(to_host(D.T @ on_device(xt, device)), dense.T @ xt, dtype)
    assert_close(to_host(D.T @ on_device(Xt, device)), dense.T @ Xt, dtype)
    assert_close(to_host(on_device(xt, device) @ D), xt @ dense, dtype)


@pytest.mark.parametrize("fmts", [("csr", "csr"), ("csc", "csc"), ("csr", "coo")])
@pytest.mark.parametrize("sort_indices", [True, False])
@pytest.mark.parametrize("idx", [np.int32, np.int64])
def test_spgemm(device, fmts, sort_indices, idx):
    A, SA = _pair(fmts[0], 8, 6, 20, seed=3, idx=idx)
    B, SB = _pair(fmts[1], 6, 9, 22, seed=4, idx=idx)
    C = sl.spgemm(A.to_device(device), B.to_device(device), sort_indices=sort_indices)
    assert C.device == device
    H = to_host(C)
    assert_close(H.toarray(), (SA @ SB).toarray(), np.float64)
    if sort_indices:
        assert H.has_canonical_format


def test_spgemm_empty_shapes(device):
    for m, k, n in [(0, 3, 4), (3, 0, 4), (3, 4, 0), (2, 3, 2)]:
        A = sl.csr_array((m, k)).to_device(device)
        B = sl.csr_array((k, n)).to_device(device)
        C = to_host(A @ B)
        assert C.shape == (m, n) and C.nnz == 0


@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.int64, np.bool_])
def test_elementwise(device, dtype):
    A, SA = _pair("csr", dtype=dtype, seed=5)
    B, SB = _pair("csr", dtype=dtype, seed=6)
    GA, GB = A.to_device(device), B.to_device(device)
    a, b = SA.toarray(), SB.toarray()
    assert_close(to_host(GA + GB).toarray(), a + b, dtype)
    assert_close(to_host(GA.multiply(GB)).toarray(), a * b, dtype)
    if dtype != np.bool_:
        assert_close(to_host(GA - GB).toarray(), a - b, dtype)
        assert_close(to_host(GA * 2).toarray(), a * 2, dtype)
        assert_close(to_host(abs(GA)).toarray(), np.abs(a), dtype)
    assert_close(to_host(GA != GB).toarray(), a != b, np.bool_)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.complex128])
def test_reductions(device, fmt, dtype):
    A, S = _pair(fmt, dtype=dtype, seed=7)
    D = A.to_device(device)
    a = S.toarray()
    assert_close(np.asarray(to_host(D.sum())), np.asarray(a.sum()), dtype, check_dtype=False)
    for axis in (0, 1):
        assert_close(to_host(D.sum(axis=axis)), a.sum(axis=axis), dtype, check_dtype=False)
        assert_close(to_host(D.mean(axis=axis)), a.mean(axis=axis), dtype, check_dtype=False)
        if dtype != np.complex128:
            assert_close(to_host(D.max(axis=axis)), a.max(axis=axis), dtype)
            assert_close(to_host(D.min(axis=axis)), a.min(axis=axis), dtype)
    if dtype != np.complex128:
        assert float(to_host(D.max())) == a.max() and float(to_host(D.min())) == a.min()
    assert_close(to_host(D.diagonal()), np.diagonal(a), dtype)
    assert_close(to_host(D.diagonal(2)), np.diagonal(a, 2), dtype)


@FMT3
def test_conversions_and_canonical_form(device, fmt):
    A, S = _pair(fmt, seed=8)
    D = A.to_device(device)
    a = S.toarray()
    for conv in ("tocsr", "tocsc", "tocoo"):
        E = getattr(D, conv)()
        assert E.device == device
        np.testing.assert_array_equal(to_host(E).toarray(), a)
    np.testing.assert_array_equal(to_host(D.toarray()), a)
    np.testing.assert_array_equal(to_host(D.T).toarray(), a.T)
    E = D.copy()
    E.sum_duplicates()
    H = to_host(E)
    assert H.has_canonical_format
    np.testing.assert_array_equal(H.toarray(), a)
    E.eliminate_zeros()
    assert to_host(E).nnz == np.count_nonzero(a)
    np.testing.assert_array_equal(to_host(D.astype(np.float32)).toarray(), a.astype(np.float32))


def test_indexing(device):
    A, S = _pair("csr", 9, 7, 30, seed=9)
    D = A.to_device(device)
    a = S.toarray()
    np.testing.assert_array_equal(to_host(D[2]).toarray(), a[2:3])
    np.testing.assert_array_equal(to_host(D[1:7:2]).toarray(), a[1:7:2])
    np.testing.assert_array_equal(to_host(D[[4, 0, 4]]).toarray(), a[[4, 0, 4]])
    np.testing.assert_array_equal(to_host(D[:, 1:5]).toarray(), a[:, 1:5])
    np.testing.assert_array_equal(to_host(D[:, [6, 0, 6]]).toarray(), a[:, [6, 0, 6]])
    assert float(to_host(D[3, 2])) == a[3, 2]


def test_sddmm_masked_semiring_topk(device):
    M, SM = _pair("csr", 6, 5, 14, seed=10)
    rng = np.random.default_rng(0)
    X, Y = rng.integers(-2, 3, (6, 3)).astype(float), rng.integers(-2, 3, (5, 3)).astype(float)
    Md = M.to_device(device)
    R = sl.sddmm(Md, on_device(X, device), on_device(Y, device))
    # M's stored positions (explicit zeros included), from its canonical COO
    SMc = SM.tocoo()
    SMc.sum_duplicates()
    mask_dense = np.zeros(SM.shape, bool)
    mask_dense[SMc.row, SMc.col] = True
    np.testing.assert_allclose(to_host(R).toarray(), np.where(mask_dense, X @ Y.T, 0))
    A, SA = _pair("csr", 6, 4, 12, seed=11)
    B, SB = _pair("csr", 4, 5, 10, seed=12)
    Ad, Bd = A.to_device(device), B.to_device(device)
    C = to_host(sl.spgemm(Ad, Bd, mask=Md))
    np.testing.assert_allclose(C.toarray(), np.where(mask_dense, (SA @ SB).toarray(), 0))
    T = to_host(sl.spgemm_topk(Ad, Bd, 2))
    ref = to_host(sl.spgemm_topk(A, B, 2))
    np.testing.assert_allclose(T.toarray(), ref.toarray())
    P = to_host(sl.spgemm(Ad, Bd, semiring="min_plus"))
    Q = sl.spgemm(A, B, semiring="min_plus")
    np.testing.assert_allclose(P.toarray(), Q.toarray())


def test_cg(device):
    n = 12
    rng = np.random.default_rng(3)
    B = sp.random(n, n, density=0.3, random_state=4, format="csr")
    S = (B @ B.T + sp.eye(n) * n).tocsr()
    b = rng.standard_normal(n)
    A = sl.csr_array(S).to_device(device)
    x, info = sl.linalg.cg(A, on_device(b, device), rtol=1e-10)
    assert info == 0
    np.testing.assert_allclose(to_host(x), np.linalg.solve(S.toarray(), b), rtol=1e-7)
    if device == "gpu":
        with pytest.raises(TypeError, match=GPU):
            sl.linalg.cg(A, b)


def test_to_scipy_and_to_cupyx():
    A, S = _pair("csr")
    G = A.to_device("gpu")
    with pytest.raises(TypeError, match=r"\.get\(\)"):
        G.to_scipy()
    with pytest.raises(TypeError, match="to_device"):
        A.to_cupyx()
    if GPU_MODE != "real":
        with pytest.raises(RuntimeError, match="simulated"):
            G.to_cupyx()
        return
    for fmt in ("csr", "csc", "coo"):
        X = G.asformat(fmt).to_cupyx()
        np.testing.assert_array_equal(X.toarray().get(), S.toarray())


def test_bsr(device):
    A, S = _pair("csr", 6, 4, 14, seed=13)
    B = sl.bsr_array(A, blocksize=(3, 2)).to_device(device)
    assert B.device == device and B.blocksize == (3, 2)
    a = S.toarray()
    np.testing.assert_array_equal(to_host(B).toarray(), a)
    np.testing.assert_array_equal(to_host(B.tocsr()).toarray(), a)
    np.testing.assert_array_equal(to_host(B.T).toarray(), a.T)
    x = np.arange(4.0)
    X = np.arange(8.0).reshape(4, 2)
    np.testing.assert_allclose(to_host(B @ on_device(x, device)), a @ x)
    np.testing.assert_allclose(to_host(B @ on_device(X, device)), a @ X)
    np.testing.assert_allclose(to_host(B @ B.T).toarray(), a @ a.T)
    C = B.copy()
    C.eliminate_zeros()
    C.sort_indices()
    np.testing.assert_array_equal(to_host(C).toarray(), a)
    # a BSR array from device arrays stays on the device
    H = sl.bsr_array(A, blocksize=(3, 2))
    xp = cupy() if device == "gpu" else np
    D = sl.bsr_array((xp.asarray(H.data), xp.asarray(H.indices), xp.asarray(H.indptr)),
                     shape=H.shape)
    assert D.device == device
    np.testing.assert_array_equal(to_host(D).toarray(), a)


def test_validate_data_on_the_gpu():
    from sklearn.base import BaseEstimator

    from sparsela.utils import check_array, validate_data

    xp = cupy()
    est = BaseEstimator()
    X = np.arange(12.0).reshape(4, 3)
    y = np.arange(4.0)
    Xg, yg = validate_data(est, xp.asarray(X), xp.asarray(y), accept_gpu=True)
    assert is_gpu_array(Xg) and is_gpu_array(yg) and est.n_features_in_ == 3
    np.testing.assert_array_equal(Xg.get(), X)
    Xi = validate_data(est, xp.asarray(X.astype(np.int32)), reset=False, accept_gpu=True)
    assert Xi.dtype == np.float64
    A = sl.csr_array(X).to_device("gpu")
    As = validate_data(est, A, sparse_format="csc", reset=False, accept_gpu=True)
    assert As.format == "csc" and As.device == "gpu"
    with pytest.raises(TypeError, match="GPU"):
        validate_data(est, xp.asarray(X), y, accept_gpu=True)  # y on the host
    with pytest.raises(ValueError, match="NaN"):
        validate_data(est, xp.asarray(X * np.nan), accept_gpu=True)
    with pytest.raises(ValueError, match="features"):
        validate_data(est, xp.asarray(X[:, :2]), reset=False, accept_gpu=True)
    with pytest.raises(TypeError, match="GPU"):
        validate_data(est, xp.asarray(X))  # accept_gpu=False
    assert is_gpu_array(check_array(xp.asarray(X), accept_gpu=True))


def test_extmath_on_every_device(device):
    from sparsela.utils import extmath

    A, S = _pair("csr", 9, 7, 30, seed=15)
    D = A.to_device(device)
    a = S.toarray()
    rng = np.random.default_rng(1)
    W, Y = rng.standard_normal((7, 2)), rng.standard_normal((9, 3))
    mu, nu = a.mean(axis=0), Y.mean(axis=0)
    np.testing.assert_allclose(
        to_host(extmath.center_dot(D, on_device(W, device), on_device(mu, device))),
        (a - mu) @ W)
    np.testing.assert_allclose(
        to_host(extmath.center_tdot(D, on_device(Y, device), on_device(mu, device),
                                    on_device(nu, device))), (a - mu).T @ (Y - nu))
    m, v = extmath.column_mean_var(D)
    np.testing.assert_allclose(to_host(m), a.mean(axis=0))
    np.testing.assert_allclose(to_host(v), a.var(axis=0), atol=1e-12)
    est = extmath.squared_spectral_norm(D, n_iter=200, tol=1e-12, random_state=0)
    assert est == pytest.approx(np.linalg.norm(a, 2) ** 2, rel=1e-6)
