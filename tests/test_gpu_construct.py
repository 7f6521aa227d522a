"""Constructors (sparsela.construct) and sparsela.linalg.norm on every device.

Parametrised with the ``device`` fixture (tests/conftest.py): each test runs
on the CPU and on the GPU, a real CUDA device when CuPy sees one, else the
simulated device whose numba.cuda kernels run in Numba's CUDA simulator. The
result on the device (brought back with ``to_host``) is compared with the
CPU result (values, format, dtype, index dtype) and with SciPy. The
simulator runs every GPU thread as a Python thread, so inputs are tiny.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from conftest import GPU_MODE, assert_close, on_device, record_transfers, to_host

import sparsela as sl
from sparsela._device import cupy, is_gpu_array

GPU = r"(?i)(gpu|cupy)"
FMT_OUT = [None, "csr", "csc", "coo"]
# (value dtype, index dtype) pairs: every kind, both index widths
DTYPES = [(np.float64, np.int32), (np.complex128, np.int64), (np.int64, np.int32),
          (np.float32, np.int64)]


def _triplets(m, n, nnz, dtype, idx, seed):
    """Unsorted COO triplets with duplicates and an explicit zero."""
    rng = np.random.default_rng(seed)
    if m == 0 or n == 0:
        nnz = 0
    row = rng.integers(0, max(m, 1), nnz)
    col = rng.integers(0, max(n, 1), nnz)
    if nnz > 3:
        row[-2:], col[-2:] = row[:2], col[:2]          # duplicates
    vals = rng.integers(-3, 4, nnz).astype(np.float64)
    if np.dtype(dtype).kind == "c":
        vals = vals + 1j * rng.integers(-2, 3, nnz)
    if nnz > 4:
        vals[3] = 0                                    # explicit zero
    return vals.astype(dtype), row.astype(idx), col.astype(idx)


def _make(fmt, m, n, nnz=8, dtype=np.float64, idx=np.int32, seed=0):
    """The same matrix as (sparsela array on the CPU, SciPy array); sparsela's is
    non-canonical (unsorted rows, duplicates) wherever its format can be."""
    data, row, col = _triplets(m, n, nnz, dtype, idx, seed)
    S = sp.coo_array((data, (row, col)), shape=(m, n))
    if fmt == "coo":
        return sl.coo_array((data.copy(), (row.copy(), col.copy())), shape=(m, n)), S
    if fmt == "dense":
        return S.toarray(), S
    major, minor, n_major = (row, col, m) if fmt == "csr" else (col, row, n)
    perm = np.argsort(major, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(major, minlength=n_major))])
    cls = sl.csr_array if fmt == "csr" else sl.csc_array
    return cls((data[perm], minor[perm], indptr.astype(idx)), shape=(m, n)), S


def _check(R, C, S, device):
    """``R`` (computed on ``device``) matches the CPU result ``C`` and SciPy's ``S``."""
    assert isinstance(R, sl.SparseArray)
    assert R.device == device
    if device == "gpu":
        assert is_gpu_array(R.data)
    H = to_host(R)
    assert H.device == "cpu"
    assert (H.format, H.shape, H.dtype) == (C.format, C.shape, C.dtype)
    for name in ("indices", "indptr", "row", "col"):
        if hasattr(C, name):
            assert getattr(H, name).dtype == getattr(C, name).dtype, name
    assert H.nnz == C.nnz      # explicit zeros and duplicates kept alike
    np.testing.assert_array_equal(H.toarray(), C.toarray())
    expected = S.toarray() if sp.issparse(S) else np.asarray(S)
    assert_close(H.toarray(), expected, check_dtype=False)


# =========================================================================== #
# hstack / vstack / block_diag
# =========================================================================== #
def _blocks(kinds, axis, dtype, idx):
    """Blocks for a stack along ``axis`` (sharing 4 rows / columns), one of
    them empty along the stacking axis, plus ``None``."""
    lengths = [3, 0, 2, 1]
    out, ref = [], []
    for j, (kind, ln) in enumerate(zip(kinds, lengths)):
        shape = (4, ln) if axis == 1 else (ln, 4)
        A, S = _make(kind, *shape, nnz=6, dtype=dtype, idx=idx, seed=j)
        out.append(A)
        ref.append(S)
    return out, ref


STACK_KINDS = {"csr": ["csr"] * 4, "csc": ["csc"] * 4,
               "mixed": ["coo", "csr", "dense", "csc"]}


@pytest.mark.parametrize("fmt", FMT_OUT)
@pytest.mark.parametrize("kinds", list(STACK_KINDS))
@pytest.mark.parametrize("fname, axis", [("hstack", 1), ("vstack", 0)])
def test_stack_matches_cpu_and_scipy(device, fname, axis, kinds, fmt):
    dtype, idx = DTYPES[(FMT_OUT.index(fmt) + axis) % len(DTYPES)]
    blocks, ref = _blocks(STACK_KINDS[kinds], axis, dtype, idx)
    fn = getattr(sl, fname)
    moved = [on_device(b, device) for b in blocks]
    R = fn(moved[:2] + [None] + moved[2:], format=fmt)
    C = fn(blocks[:2] + [None] + blocks[2:], format=fmt)
    S = getattr(sp, fname)(ref, format=fmt)
    _check(R, C, S, device)
    # default format as SciPy: csr/csc when all blocks are, else coo
    assert C.format == (fmt or {"mixed": "coo"}.get(kinds, kinds))


@pytest.mark.parametrize("fname", ["hstack", "vstack"])
def test_stack_dtype_argument_and_all_empty(device, fname):
    A, SA = _make("csr", 3, 3, nnz=0)
    B, SB = _make("csc", 3, 3, nnz=5, dtype=np.int32, seed=2)
    fn = getattr(sl, fname)
    R = fn([on_device(A, device), on_device(B, device)], dtype=np.complex64)
    C = fn([A, B], dtype=np.complex64)
    _check(R, C, getattr(sp, fname)([SA, SB], dtype=np.complex64), device)
    # zero-size result: 0 x 0 blocks
    Z = sl.csr_array((0, 0))
    R = fn([on_device(Z, device), on_device(Z, device)], format="csr")
    _check(R, fn([Z, Z], format="csr"), np.zeros((0, 0)), device)


@pytest.mark.parametrize("fmt", FMT_OUT)
def test_block_diag_matches_cpu_and_scipy(device, fmt):
    dtype, idx = DTYPES[FMT_OUT.index(fmt)]
    shapes = [(2, 3), (0, 2), (3, 0), (3, 2)]
    kinds = ["csr", "coo", "csc", "dense"]
    mats, ref = [], []
    for j, (kind, shape) in enumerate(zip(kinds, shapes)):
        A, S = _make(kind, *shape, nnz=5, dtype=dtype, idx=idx, seed=10 + j)
        mats.append(A)
        ref.append(S)
    row = np.array([1, 0, 2], dtype=dtype)       # 1-D: one row
    mats.append(row)
    ref.append(row[None, :])
    R = sl.block_diag([on_device(b, device) for b in mats], format=fmt)
    C = sl.block_diag(mats, format=fmt)
    _check(R, C, sp.block_diag(ref, format=fmt), device)


# =========================================================================== #
# kron
# =========================================================================== #
@pytest.mark.parametrize("fmt", FMT_OUT)
@pytest.mark.parametrize("kinds", [("csr", "csc"), ("coo", "dense")])
def test_kron_matches_cpu_and_scipy(device, kinds, fmt):
    dtype, idx = DTYPES[(FMT_OUT.index(fmt) + len(kinds[1])) % len(DTYPES)]
    A, SA = _make(kinds[0], 4, 3, nnz=7, dtype=dtype, idx=idx, seed=1)
    B, SB = _make(kinds[1], 3, 2, nnz=5, dtype=np.float32, idx=idx, seed=2)
    GA, GB = on_device(A, device), on_device(B, device)
    before = to_host(GA.data).copy() if device == "gpu" else A.data.copy()
    R = sl.kron(GA, GB, format=fmt)
    C = sl.kron(A, B, format=fmt)
    _check(R, C, sp.kron(SA, SB), device)
    # inputs are not modified (duplicates are summed on copies)
    np.testing.assert_array_equal(to_host(GA.data), before)


@pytest.mark.parametrize("shapes", [((0, 3), (2, 2)), ((3, 2), (2, 0)), ((2, 2), (3, 3))])
def test_kron_empty(device, shapes):
    (sa, sb), fmt = shapes, "csr"
    A, SA = _make(fmt, *sa, nnz=4, seed=3)
    B, SB = _make("coo", *sb, nnz=0)          # nnz = 0 (and zero-size shapes)
    for X, Y, SX, SY in ((A, B, SA, SB), (B, A, SB, SA)):
        R = sl.kron(on_device(X, device), on_device(Y, device))
        _check(R, sl.kron(X, Y), sp.kron(SX, SY), device)


# =========================================================================== #
# eye / identity / diags / random with device=
# =========================================================================== #
@pytest.mark.parametrize("fmt", FMT_OUT)
def test_eye_identity_on_device(device, fmt):
    for m, n, k, dt in ((4, 6, 1, np.float32), (5, 3, -2, np.complex128), (3, 3, 4, np.int64),
                        (0, 2, 0, np.float64)):
        R = sl.eye(m, n, k=k, dtype=dt, format=fmt, device=device)
        _check(R, sl.eye(m, n, k=k, dtype=dt, format=fmt),
               sp.eye_array(m, n, k=k, dtype=dt) if abs(k) < max(m, n, 1) else
               np.zeros((m, n), dt), device)
    R = sl.identity(3, dtype=np.int32, format=fmt, device=device)
    _check(R, sl.identity(3, dtype=np.int32, format=fmt), np.eye(3, dtype=np.int32), device)


@pytest.mark.parametrize("fmt", FMT_OUT)
def test_diags_on_device(device, fmt):
    diagonals = [[1, 2, 0, 4], [5, 6, 7], [3]]      # an explicit zero, a broadcast
    offsets = [0, -1, 2]
    R = sl.diags(diagonals, offsets, shape=(4, 5), format=fmt, device=device)
    C = sl.diags(diagonals, offsets, shape=(4, 5), format=fmt)
    S = sp.diags_array(diagonals, offsets=offsets, shape=(4, 5), dtype=np.int64)
    _check(R, C, S, device)
    # diagonals already on the device (CuPy arrays) stay there
    d = [on_device(np.asarray(v, dtype=np.complex128), device) for v in diagonals]
    R = sl.diags(d, offsets, shape=(4, 5), format=fmt, device=device)
    _check(R, sl.diags(diagonals, offsets, shape=(4, 5), format=fmt, dtype=np.complex128),
           S.astype(np.complex128), device)
    # one CuPy diagonal with a scalar offset
    R = sl.diags(on_device(np.array([2.0, 0.0, 3.0]), device), 1, device=device)
    _check(R, sl.diags([2.0, 0.0, 3.0], 1), sp.diags_array([2.0, 0.0, 3.0], offsets=1),
           device)
    # nothing to store: all zeros, and a 0-size shape
    R = sl.diags([[0.0, 0.0]], [0], shape=(2, 2), format=fmt, device=device)
    _check(R, sl.diags([[0.0, 0.0]], [0], shape=(2, 2), format=fmt), np.zeros((2, 2)), device)
    R = sl.diags([], [], shape=(0, 3), format=fmt, device=device)
    _check(R, sl.diags([], [], shape=(0, 3), format=fmt), np.zeros((0, 3)), device)


@pytest.mark.parametrize("fmt", ["coo", "csr", "csc"])
def test_random_on_device_is_the_host_draw(device, fmt):
    for dt in (np.float32, np.complex128, np.int64):
        R = sl.random(6, 5, density=0.4, format=fmt, dtype=dt, rng=7, device=device)
        C = sl.random(6, 5, density=0.4, format=fmt, dtype=dt, rng=7)
        _check(R, C, C.to_scipy(), device)
    R = sl.random(0, 4, density=0.5, format=fmt, rng=0, device=device)
    _check(R, sl.random(0, 4, density=0.5, format=fmt, rng=0), np.zeros((0, 4)), device)


def test_device_argument_errors():
    for call in (lambda: sl.eye(3, device="tpu"), lambda: sl.identity(3, device=1),
                 lambda: sl.diags([1, 2], device="npu"),
                 lambda: sl.random(3, 3, device="x")):
        with pytest.raises(ValueError, match="device"):
            call()
    # BSR on the GPU, as on the CPU
    for call, ref in ((lambda d: sl.eye(2, format="bsr", device=d), None),
                      (lambda d: sl.diags([1, 2], format="bsr", device=d), None),
                      (lambda d: sl.hstack([sl.eye(2, device=d)], format="bsr"), None),
                      (lambda d: sl.kron(sl.eye(2, device=d), sl.eye(2, device=d),
                                         format="bsr"), None)):
        G = call("gpu")
        assert G.format == "bsr" and G.device == "gpu"
        np.testing.assert_array_equal(G.get().toarray(), call("cpu").toarray())
    # a CuPy diagonal for a CPU result: no implicit move
    with pytest.raises(TypeError, match=GPU):
        sl.diags([cupy().asarray(np.ones(3))], [0])


# =========================================================================== #
# operands on two devices
# =========================================================================== #
def test_mixed_devices_are_a_type_error():
    xp = cupy()
    A, S = _make("csr", 3, 3, nnz=4)
    G = A.to_device("gpu")
    D = np.ones((3, 3))
    cases = [
        (lambda: sl.hstack([G, A]), "blocks\\[1\\]"),
        (lambda: sl.vstack([A, None, G]), "blocks\\[2\\]"),
        (lambda: sl.hstack([G, D]), "blocks\\[1\\]"),
        (lambda: sl.vstack([xp.asarray(D), S]), "blocks\\[1\\]"),
        (lambda: sl.block_diag([S, G]), "mats\\[1\\]"),
        (lambda: sl.block_diag([G, 3]), "mats\\[1\\]"),
        (lambda: sl.kron(G, A), "A is on the GPU and B"),
        (lambda: sl.kron(A, xp.asarray(D)), "A is on the CPU and B"),
        (lambda: sl.kron(S, G), "B"),
    ]
    for call, name in cases:
        with pytest.raises(TypeError, match=name):
            call()


def test_dense_device_blocks_are_accepted():
    xp = cupy()
    D = np.array([[1.0, 0.0], [0.0, 2.0]])
    R = sl.hstack([xp.asarray(D), xp.asarray(D)])
    assert R.device == "gpu" and R.format == "coo"
    np.testing.assert_array_equal(R.get().toarray(), np.hstack([D, D]))
    R = sl.kron(xp.asarray(D), xp.asarray(D[:1]))
    assert R.device == "gpu"
    np.testing.assert_array_equal(R.get().toarray(), np.kron(D, D[:1]))
    with pytest.raises(ValueError, match="mats\\[0\\] must be 2-D"):
        sl.block_diag([xp.asarray(np.ones((2, 2, 2)))])


# =========================================================================== #
# norm
# =========================================================================== #
MATRIX_ORDS = [None, "fro", 1, -1, np.inf, -np.inf]
VECTOR_ORDS = [None, 2, 1, np.inf, -np.inf, 0]


@pytest.mark.parametrize("fmt, dtype, idx", [("csr", np.float64, np.int32),
                                             ("coo", np.complex128, np.int64),
                                             ("csc", np.float32, np.int64),
                                             ("csr", np.int64, np.int64)])
def test_norm_matches_cpu_and_scipy(device, fmt, dtype, idx):
    A, S = _make(fmt, 6, 5, nnz=14, dtype=dtype, idx=idx, seed=4)   # duplicates inside
    G = on_device(A, device)
    S = S.tocsr()
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for ord in MATRIX_ORDS:
        r = sl.linalg.norm(G, ord=ord)
        assert type(r) is float, (ord, type(r))
        np.testing.assert_allclose(r, sl.linalg.norm(A, ord=ord), rtol=rtol)
        np.testing.assert_allclose(r, spla.norm(S, ord=ord), rtol=rtol)
    for axis in (0, -1):
        for ord in VECTOR_ORDS:
            r = sl.linalg.norm(G, ord=ord, axis=axis)
            if device == "gpu":
                assert is_gpu_array(r), (ord, axis)
            h, c = to_host(r), sl.linalg.norm(A, ord=ord, axis=axis)
            assert h.shape == c.shape and h.dtype == c.dtype, (ord, axis, h.dtype, c.dtype)
            np.testing.assert_allclose(h, c, rtol=rtol)
            np.testing.assert_allclose(h, np.asarray(spla.norm(S, ord=ord, axis=axis)).ravel(),
                                       rtol=rtol, err_msg=f"ord={ord} axis={axis}")


def test_norm_empty(device):
    for shape, nnz in (((0, 3), 0), ((3, 4), 0)):
        A, _ = _make("csr", *shape, nnz=nnz)
        G = on_device(A, device)
        for ord in MATRIX_ORDS:
            assert sl.linalg.norm(G, ord=ord) == sl.linalg.norm(A, ord=ord)
        r = sl.linalg.norm(G, axis=0)
        np.testing.assert_array_equal(to_host(r), np.zeros(shape[1]))
    with pytest.raises(ValueError, match="ord"):
        sl.linalg.norm(G, ord=2)
    with pytest.raises(ValueError, match="axis"):
        sl.linalg.norm(G, axis=2)


# =========================================================================== #
# no data moves between host and device
# =========================================================================== #
@pytest.mark.skipif(GPU_MODE != "simulated", reason="counts moves on the simulated device, "
                    "whose host<->device copies go through two Python functions")
def test_no_host_device_transfers(monkeypatch):
    """On GPU inputs, nothing is copied host->device (``xp.asarray`` of host
    data) or device->host (``.get()``); reading a size back (``int()`` of a
    0-d array) is allowed."""
    xp = cupy()
    A, _ = _make("coo", 5, 4, nnz=9, seed=5)
    blocks = [A.to_device("gpu"), A.tocsr().to_device("gpu"), A.tocsc().to_device("gpu"),
              xp.asarray(np.ones((5, 2)))]
    diag = xp.asarray(np.arange(4.0))
    copies = record_transfers(monkeypatch, forbid_uploads=True)
    G, C, D = blocks[0], blocks[1], blocks[2]
    results = [sl.hstack(blocks), sl.hstack([C, C]), sl.hstack([D, D]), sl.vstack([C, D]),
               sl.vstack([C, C]), sl.vstack([D, D], format="csr"),
               sl.block_diag(blocks), sl.block_diag([G, C], format="csr"),
               sl.block_diag([G, C], format="csc"), sl.kron(G, C), sl.kron(C, D, format="csc"),
               sl.kron(D, G, format="coo"), sl.eye(4, 3, k=1, device="gpu"),
               sl.eye(4, format="csc", device="gpu"), sl.identity(3, format="coo", device="gpu"),
               sl.diags([diag, diag[:3]], [0, 1], device="gpu"),
               sl.linalg.norm(G, axis=0), sl.linalg.norm(C, ord=np.inf, axis=1),
               sl.linalg.norm(D, ord=0, axis=0)]
    for R in results:
        assert (R.device == "gpu") if isinstance(R, sl.SparseArray) else is_gpu_array(R)
    for ord in MATRIX_ORDS:
        assert isinstance(sl.linalg.norm(G, ord=ord), float)
    assert "get" not in copies  # no array came back to the host
