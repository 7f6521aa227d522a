"""Real matrices (``../shared/data/real/*.mtx``, read with ``scipy.io.mmread``):
round trips through every sparsela format, and the products ``A @ A``,
``A @ A.T``, ``A @ X`` (8 dense columns) and ``A @ x`` against SciPy; the
Sparse-DNN chain ``Y <- Y @ W_l`` (l = 1..3) from the images subset.

Values are compared entrywise within ``rtol * (|A| @ |B|) + atol``, the scale of
a rounding-error bound for a product computed in a different summation order.
Skipped with a clear reason when the data folder is absent (a user's clone).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

import sparsela as sl
from conftest import DATA_DIR, FORMATS

REAL_DIR = DATA_DIR / "real"
_ABSENT = (f"real test matrices not found: {REAL_DIR} is absent (the shared data "
           "folder lives beside the project and is not shipped with sparsela)")

if REAL_DIR.is_dir():
    FILES = sorted(p.name for p in REAL_DIR.glob("*.mtx"))
else:
    FILES = [pytest.param("absent", marks=pytest.mark.skip(reason=_ABSENT))]


@functools.lru_cache(maxsize=None)
def _load(name: str) -> sp.csr_array:
    """The file as a canonical SciPy CSR array (dense 'array' files -> CSR)."""
    M = scipy.io.mmread(REAL_DIR / name)
    S = sp.csr_array(M)
    S.sum_duplicates()
    return S


def _read(name: str):
    """The raw object mmread returns (a coo_matrix, or an ndarray for 'array' files)."""
    return scipy.io.mmread(REAL_DIR / name)


def _blocksize(shape):
    # 2x2 keeps the fill (explicit zeros stored in blocks) and the test time small
    for b in ((2, 2), (3, 3), (2, 1)):
        if shape[0] % b[0] == 0 and shape[1] % b[1] == 0:
            return b
    return (1, 1)


def _as_format(S, fmt):
    """sparsela array of format ``fmt`` built from the scipy array ``S``."""
    if fmt == "bsr":
        return sl.bsr_array(S, blocksize=_blocksize(S.shape))
    return sl.asarray(S, format=fmt)


def _rtol(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        return 0.0
    if dtype in (np.float32, np.complex64):
        return 1e-4
    return 1e-10


def _to_scipy_csr(C):
    if isinstance(C, sl.SparseArray):
        C = C.to_scipy()
    return sp.csr_array(C)


def assert_sparse_close(C, E, scale, dtype, what=""):
    """sparsela ``C`` equals scipy ``E`` within ``rtol * scale`` entrywise."""
    assert isinstance(C, sl.SparseArray), (what, type(C))
    C.check_format(full_check=True)
    assert C.shape == E.shape, (what, C.shape, E.shape)
    assert C.dtype == E.dtype, (what, C.dtype, E.dtype)
    Cs = _to_scipy_csr(C)
    D = abs(Cs - E)
    D.eliminate_zeros()
    rtol = _rtol(dtype)
    if rtol == 0:
        assert D.nnz == 0, f"{what}: {D.nnz} entries differ"
        return
    bound = rtol * abs(scale) + sp.csr_array(abs(E)) * rtol
    bad = D > bound
    assert bad.nnz == 0, (
        f"{what}: {bad.nnz} entries differ beyond rtol={rtol}; max |diff| = {D.max()}")


def assert_dense_close(y, e, scale, dtype, what=""):
    assert isinstance(y, np.ndarray), (what, type(y))
    assert y.shape == e.shape and y.dtype == e.dtype, (what, y.shape, e.shape, y.dtype, e.dtype)
    rtol = _rtol(dtype)
    if rtol == 0:
        np.testing.assert_array_equal(y, e, err_msg=what)
        return
    bad = np.abs(y - e) > rtol * (np.abs(scale) + np.abs(e))
    assert not bad.any(), f"{what}: {int(bad.sum())} entries differ beyond rtol={rtol}"


def _dense_operand(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        X = X + 1j * rng.standard_normal(shape)
    return X.astype(np.result_type(dtype, np.float64))


# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", FILES)
def test_read_matches_mmread(name):
    """sparsela builds every file's mmread output (coo_matrix or dense ndarray) exactly."""
    raw = _read(name)
    S = _load(name)
    A = sl.csr_array(raw)
    assert A.shape == S.shape and A.dtype == S.dtype
    assert (_to_scipy_csr(A) != S).nnz == 0
    if sp.issparse(raw):
        B = sl.coo_array(raw)
        assert B.nnz == raw.nnz
        assert (_to_scipy_csr(B) != S).nnz == 0


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_every_format(name, fmt):
    S = _load(name)
    A = _as_format(S, fmt)
    assert A.format == fmt and A.shape == S.shape and A.dtype == S.dtype
    A.check_format(full_check=True)
    for target in FORMATS:
        kw = {"blocksize": _blocksize(S.shape)} if target == "bsr" else {}
        B = getattr(A, "to" + target)(**kw)
        B.check_format(full_check=True)
        assert B.format == target and B.shape == S.shape and B.dtype == S.dtype
        back = _to_scipy_csr(B)
        assert (back != S).nnz == 0, f"{fmt} -> {target} changed values"
        assert (_to_scipy_csr(B.tocsr()) != S).nnz == 0
    # to_scipy gives a scipy array of the same format and values
    T = A.to_scipy()
    assert T.format == fmt
    assert (sp.csr_array(T) != S).nnz == 0
    if S.shape[0] * S.shape[1] <= 10**6:
        np.testing.assert_array_equal(A.toarray(), S.toarray())


@functools.lru_cache(maxsize=2)
def _oracle(name: str) -> dict:
    """SciPy's products of the file's matrix and their error scales (computed once)."""
    S = _load(name)
    absS = abs(S)
    m, n = S.shape
    o = {"S": S}
    if m == n:
        o["AA"] = (S @ S, absS @ absS)
    o["AAT"] = (S @ S.T, absS @ absS.T)
    o["ATA"] = (S.T @ S, absS.T @ absS)
    o["X"] = X = _dense_operand((n, 8), S.dtype, seed=1)
    o["x"] = x = _dense_operand((n,), S.dtype, seed=2)
    o["xt"] = xt = _dense_operand((m,), S.dtype, seed=3)
    o["AX"] = (S @ X, absS @ np.abs(X))
    o["Ax"] = (S @ x, absS @ np.abs(x))
    o["xA"] = (xt @ S, np.abs(xt) @ absS)
    return o


@pytest.mark.parametrize("fmt", FORMATS)  # (formats vary fastest: the oracle cache hits)
@pytest.mark.parametrize("name", FILES)
def test_products_match_scipy(name, fmt):
    o = _oracle(name)
    S = o["S"]
    A = _as_format(S, fmt)
    dt = S.dtype
    what = f"{name} as {fmt}"
    if "AA" in o:
        assert_sparse_close(A @ A, *o["AA"], dt, f"{what}: A @ A")
        assert_sparse_close(sl.spgemm(A, A, sort_indices=False), *o["AA"], dt,
                            f"{what}: spgemm(A, A, sort_indices=False)")
    assert_sparse_close(A @ A.T, *o["AAT"], dt, f"{what}: A @ A.T")
    assert_sparse_close(A.T @ A, *o["ATA"], dt, f"{what}: A.T @ A")
    X, x, xt = o["X"], o["x"], o["xt"]
    assert_dense_close(A @ X, *o["AX"], dt, f"{what}: A @ X")
    assert_dense_close(sl.spmm(A, X), *o["AX"], dt, f"{what}: spmm")
    assert_dense_close(A @ x, *o["Ax"], dt, f"{what}: A @ x")
    assert_dense_close(sl.spmv(A, x), *o["Ax"], dt, f"{what}: spmv")
    assert_dense_close(xt @ A, *o["xA"], dt, f"{what}: x @ A")


@pytest.mark.parametrize("name", FILES)
def test_products_thread_counts_agree(name):
    S = _load(name)
    A = sl.csr_array(S)
    x = _dense_operand((S.shape[1],), S.dtype, seed=4)
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("Numba's thread pool has fewer than 2 threads (NUMBA_NUM_THREADS)")
    res = []
    for n in (1, 2):
        with sl.config_context(num_threads=n):
            C = A @ A.T
            res.append((C.indptr, C.indices, C.data, A @ x))
    for u, v in zip(*res):
        np.testing.assert_array_equal(u, v)


# --------------------------------------------------------------------------- #
# the Sparse-DNN chain
# --------------------------------------------------------------------------- #
DNN_IMAGES = "dnn-sparse-images-1024_subset.mtx"
DNN_LAYERS = [f"dnn-n1024-l{i}.mtx" for i in (1, 2, 3)]


def _require_dnn():
    if not REAL_DIR.is_dir():
        pytest.skip(_ABSENT)
    missing = [f for f in [DNN_IMAGES, *DNN_LAYERS] if not (REAL_DIR / f).is_file()]
    if missing:
        pytest.skip(f"Sparse-DNN files missing from {REAL_DIR}: {missing}")


@pytest.mark.parametrize("wfmt", FORMATS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_dnn_chain(wfmt, dtype):
    """Y <- Y @ W_l for l = 1..3 from the images subset, against SciPy at every layer."""
    _require_dnn()
    Y_sp = _load(DNN_IMAGES).astype(dtype)
    Y = sl.csr_array(Y_sp)
    scale = abs(Y_sp)
    for i, layer in enumerate(DNN_LAYERS, 1):
        W_sp = _load(layer).astype(dtype)
        W = _as_format(W_sp, wfmt)
        Y = Y @ W
        Y_sp = Y_sp @ W_sp
        scale = scale @ abs(W_sp)
        assert_sparse_close(Y, Y_sp, scale, dtype, f"layer {i} (W as {wfmt}, {np.dtype(dtype)})")
    assert Y.shape == (1200, 1024)
