"""Tests of sparsela.construct against scipy.sparse's constructors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sparsela as sl
from sparsela import construct

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

DTYPES = [np.float32, np.float64, np.complex64, np.complex128, np.int32, np.int64, np.bool_]
FORMATS = [None, "csr", "csc", "coo", "bsr"]
KINDS = ["sl-csr", "sl-csc", "sl-coo", "sl-bsr", "sp-csr", "sp-coo", "sp-matrix", "dense"]


# -- helpers ------------------------------------------------------------------------
def _dense(m, n, density, dtype, seed):
    """Small dense array with small integer-valued entries (exact arithmetic)."""
    rng = np.random.default_rng(seed)
    mask = rng.random((m, n)) < density
    vals = rng.integers(1, 4, size=(m, n)) * rng.choice([-1, 1], size=(m, n))
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return mask.copy()
    if dt.kind == "c":
        out = (vals + 1j * rng.integers(-2, 3, size=(m, n))) * mask
    else:
        out = vals * mask
    return out.astype(dt)


def _as_kind(dense, kind):
    S = sp.csr_array(dense)
    if kind == "sl-csr":
        return sl.csr_array(S)
    if kind == "sl-csc":
        return sl.csc_array(S)
    if kind == "sl-coo":
        return sl.coo_array(S)
    if kind == "sl-bsr":
        return sl.bsr_array(S)
    if kind == "sp-csr":
        return S
    if kind == "sp-coo":
        return S.tocoo()
    if kind == "sp-matrix":
        return sp.csr_matrix(dense)
    return dense


def _check(A, expected, fmt=None, dtype=None):
    """A is a sparsela array equal to the dense ``expected`` (values, shape, dtype)."""
    assert isinstance(A, sl.SparseArray)
    exp = expected.toarray() if sp.issparse(expected) else np.asarray(expected)
    assert A.shape == exp.shape
    assert A.dtype == (exp.dtype if dtype is None else np.dtype(dtype))
    if fmt is not None:
        assert A.format == fmt
    np.testing.assert_array_equal(A.toarray(), exp)


def _snapshot(x):
    if isinstance(x, sl.SparseArray) or sp.issparse(x):
        if x.format == "coo":
            arrays = (x.data, x.row, x.col)
        else:
            arrays = (x.data, x.indices, x.indptr)
        return [(a, a.copy()) for a in arrays]
    return [(x, np.array(x, copy=True))]


def _unchanged(snap):
    for arr, ref in snap:
        np.testing.assert_array_equal(arr, ref)


def _messy_csr():
    """CSR with unsorted indices and a duplicate entry (non-canonical)."""
    data = np.array([1.0, 2.0, 3.0, 4.0])
    indices = np.array([2, 0, 2, 1], dtype=np.int32)
    indptr = np.array([0, 3, 4], dtype=np.int32)
    return sl.csr_array((data, indices, indptr), shape=(2, 3))


def _messy_dense():
    return np.array([[2.0, 0.0, 4.0], [0.0, 4.0, 0.0]])


# -- public names ---------------------------------------------------------------------
def test_public_names():
    names = {"eye", "identity", "diags", "random", "kron", "hstack", "vstack", "block_diag"}
    assert names <= set(construct.__all__)
    assert names <= set(sl.__all__)
    for name in names:
        assert getattr(sl, name) is getattr(construct, name)


# -- eye / identity ---------------------------------------------------------------------
@SETTINGS
@given(m=st.integers(0, 8), n=st.integers(0, 8), k=st.integers(-10, 10),
       dtype=st.sampled_from(DTYPES), fmt=st.sampled_from(FORMATS))
def test_eye_matches_numpy_and_scipy(m, n, k, dtype, fmt):
    A = sl.eye(m, n, k=k, dtype=dtype, format=fmt)
    _check(A, np.eye(m, n, k=k, dtype=dtype), fmt or "csr")
    if -m <= k <= n and m and n:   # scipy raises for a diagonal outside the array
        S = sp.eye_array(m, n, k=k, dtype=dtype)
        _check(A, S)
    assert A.nnz == np.count_nonzero(np.eye(m, n, k=k))


def test_eye_defaults_and_index_dtype():
    A = sl.eye(3)
    assert A.format == "csr" and A.dtype == np.float64 and A.shape == (3, 3)
    assert A.indices.dtype == np.int32 and A.indptr.dtype == np.int32
    _check(sl.eye(2, 4, k=1), sp.eye_array(2, 4, k=1))
    B = sl.eye(2**31 + 3, format="coo", k=2**31)
    assert B.row.dtype == np.int64 and B.nnz == 3
    assert B.col.tolist() == [2**31, 2**31 + 1, 2**31 + 2]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_identity(fmt, dtype):
    _check(sl.identity(4, dtype=dtype, format=fmt), sp.identity(4, dtype=dtype), fmt or "csr")
    _check(sl.identity(0, dtype=dtype, format=fmt), np.zeros((0, 0), dtype=dtype))
    assert sl.identity(3).dtype == np.float64


@pytest.mark.parametrize("call, exc, match", [
    (lambda: sl.eye(-1), ValueError, "m must be non-negative"),
    (lambda: sl.eye(2, -3), ValueError, "n must be non-negative"),
    (lambda: sl.eye(2.0), TypeError, "m must be an integer"),
    (lambda: sl.eye(True), TypeError, "m must be an integer"),
    (lambda: sl.eye(2, k=0.5), TypeError, "k must be an integer"),
    (lambda: sl.eye(2, format="dia"), ValueError, "format must be one of"),
    (lambda: sl.eye(2, dtype=object), TypeError, "dtype"),
    (lambda: sl.identity(-2), ValueError, "n must be non-negative"),
    (lambda: sl.identity(3, format="lil"), ValueError, "format must be one of"),
])
def test_eye_identity_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# -- diags -----------------------------------------------------------------------------
@st.composite
def _diag_case(draw):
    m = draw(st.integers(1, 7))
    n = draw(st.integers(1, 7))
    offs = draw(st.lists(st.integers(-(m - 1), n - 1), min_size=1, max_size=4, unique=True))
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    diagonals = []
    for k in offs:
        length = min(m + k, n - k, min(m, n))
        kind = draw(st.sampled_from(["full", "one", "scalar"]))
        vals = _dense(1, max(length, 1), 0.7, dtype, rng.integers(2**16))[0]
        if kind == "full":
            diagonals.append(vals[:length])
        elif kind == "one":
            diagonals.append(vals[:1])
        else:
            diagonals.append(vals[0].item())
    return m, n, offs, dtype, diagonals


@SETTINGS
@given(case=_diag_case(), fmt=st.sampled_from(FORMATS))
def test_diags_matches_scipy(case, fmt):
    m, n, offs, dtype, diagonals = case
    snap = [_snapshot(d) for d in diagonals if isinstance(d, np.ndarray)]
    A = sl.diags(diagonals, offs, shape=(m, n), format=fmt, dtype=dtype)
    S = sp.diags_array(diagonals, offsets=offs, shape=(m, n), dtype=dtype)
    _check(A, S, fmt or "csr")
    assert A.nnz == S.tocsr().nnz        # zeros on the diagonals are not stored
    for s in snap:
        _unchanged(s)


@pytest.mark.parametrize("dtype", DTYPES)
def test_diags_dtype_inferred(dtype):
    d = _dense(1, 4, 1.0, dtype, 3)[0]
    A = sl.diags([d, d[:3]], [0, 1])
    S = sp.diags_array([d, d[:3]], offsets=[0, 1], dtype=None)
    _check(A, S, "csr")
    assert A.dtype == np.dtype(dtype)
    # mixed diagonals: their common dtype
    assert sl.diags([[1, 2], [1.5]], [0, 1]).dtype == np.float64


def test_diags_shapes_and_forms():
    # a single diagonal with a scalar offset; shape inferred from the first diagonal
    _check(sl.diags([1.0, 2.0, 3.0]), np.diag([1.0, 2.0, 3.0]))
    _check(sl.diags([1.0, 2.0], 1), np.diag([1.0, 2.0], 1))
    _check(sl.diags([[1.0, 2.0]], 0), np.diag([1.0, 2.0]))
    _check(sl.diags(np.array([1.0, 2.0]), -1), np.diag([1.0, 2.0], -1))
    _check(sl.diags([[1, 2], [3]], [0, 1]), np.array([[1, 3], [0, 2]]))
    # scalar broadcast along each diagonal
    S = sp.diags_array([1, -2, 1], offsets=[-1, 0, 1], shape=(5, 5), dtype=None)
    _check(sl.diags([1, -2, 1], [-1, 0, 1], shape=(5, 5)), S)
    _check(sl.diags(7.0, 0, shape=(2, 3)), np.array([[7.0, 0, 0], [0, 7.0, 0]]))
    # rectangular, offsets unsorted, a too-long diagonal is truncated (as scipy)
    diags_ = [[1, 2, 3, 4, 5], [6, 7], [8, 9, 10]]
    S = sp.diags_array(diags_, offsets=[1, -2, 0], shape=(4, 3), dtype=None)
    _check(sl.diags(diags_, [1, -2, 0], shape=(4, 3)), S)
    # empty diagonals at the edge of the array
    _check(sl.diags([[], [1.0]], [3, 0], shape=(3, 3)), np.eye(3))
    # explicit zeros are dropped, as scipy's DIA -> CSR
    A = sl.diags([0.0, 1.0, 0.0], 0)
    assert A.nnz == 1
    assert A.indices.dtype == np.int32


@pytest.mark.parametrize("call, exc, match", [
    (lambda: sl.diags([[1, 2], [1]], [0, 0]), ValueError, r"offsets must be distinct.*\[0\]"),
    (lambda: sl.diags([[1, 2, 3], [1, 2]], [0]), ValueError,
     "diagonals holds 2 diagonals but offsets holds 1"),
    (lambda: sl.diags([[1, 2, 3], [1, 2]], 0), ValueError,
     "diagonals holds 2 diagonals but offsets is a single offset"),
    (lambda: sl.diags([[1, 2], [1, 2]], [0, 1], shape=(4, 4)), ValueError,
     r"diagonals\[0\] has length 2, expected 4"),
    (lambda: sl.diags([[1], [1]], [0, 5], shape=(3, 3)), ValueError,
     r"offsets\[1\] = 5 is out of bounds"),
    (lambda: sl.diags([[1, 2]], [0.5]), TypeError, "offsets must hold integers"),
    (lambda: sl.diags([[[1, 2]]], [0]), ValueError, r"diagonals\[0\] must be 1-D"),
    (lambda: sl.diags([["a"]], [0]), TypeError, r"diagonals\[0\] must be numeric"),
    (lambda: sl.diags([1, 2], 0, format="dia"), ValueError, "format must be one of"),
    (lambda: sl.diags([1, 2], 0, shape=(-1, 2)), ValueError, "shape must be non-negative"),
    (lambda: sl.diags([], []), ValueError, "shape is required"),
])
def test_diags_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# -- random ------------------------------------------------------------------------------
@SETTINGS
@given(m=st.integers(0, 40), n=st.integers(0, 40), density=st.floats(0, 1),
       fmt=st.sampled_from(FORMATS), seed=st.integers(0, 2**32 - 1))
def test_random_exact_nnz_distinct_positions(m, n, density, fmt, seed):
    A = sl.random(m, n, density=density, format=fmt, rng=seed)
    k = int(round(density * m * n))
    assert A.format == (fmt or "coo") and A.shape == (m, n) and A.dtype == np.float64
    C = A.tocoo()
    assert C.nnz == k
    lin = C.row.astype(np.int64) * n + C.col
    assert np.unique(lin).size == k                         # no repeated position
    if k:
        assert C.row.min() >= 0 and C.row.max() < m and C.col.max() < n
        assert np.all((C.data >= 0) & (C.data < 1))
    assert np.count_nonzero(A.toarray()) == np.count_nonzero(C.data)


def test_random_default_is_canonical_coo():
    A = sl.random(30, 20, density=0.3, rng=1)
    assert A.format == "coo" and A.nnz == 180
    assert A.has_canonical_format
    assert A.row.dtype == np.int32


def test_random_reproducible():
    a = sl.random(50, 60, density=0.2, rng=42)
    b = sl.random(50, 60, density=0.2, rng=42)
    np.testing.assert_array_equal(a.toarray(), b.toarray())
    c = sl.random(50, 60, density=0.2, rng=43)
    assert not np.array_equal(a.toarray(), c.toarray())
    g1, g2 = np.random.default_rng(7), np.random.default_rng(7)
    d = sl.random(500, 700, density=0.01, rng=g1, format="csr")
    e = sl.random(500, 700, density=0.01, rng=g2, format="csr")
    np.testing.assert_array_equal(d.toarray(), e.toarray())
    # the generator advances: a second draw differs
    f = sl.random(500, 700, density=0.01, rng=g1, format="csr")
    assert not np.array_equal(d.toarray(), f.toarray())
    assert sl.random(5, 5, density=0.5).nnz == 12     # rng=None: fresh entropy


def test_random_large_sparse_does_not_materialise():
    # 10**12 positions: only the sampled ones are ever held in memory
    A = sl.random(10**6, 10**6, density=1e-7, rng=0)
    assert A.nnz == 100_000 and A.row.dtype == np.int32
    lin = A.row.astype(np.int64) * 10**6 + A.col
    assert np.all(np.diff(lin) > 0)
    # positions beyond int64 linear indices: (row, col) pairs are sampled
    B = sl.random(2**40, 2**40, density=1e-20, rng=1)
    assert B.nnz == round(1e-20 * 2**80) and B.row.dtype == np.int64
    assert B.has_canonical_format
    # the sparse path spreads over the whole array
    C = sl.random(4000, 4000, density=0.01, rng=3)
    assert C.nnz == 160_000
    counts = np.bincount(C.row, minlength=4000)
    assert counts.min() > 10 and counts.max() < 80


@pytest.mark.parametrize("fmt", ["coo", "csr", "csc", "bsr"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_random_dtypes(dtype, fmt):
    A = sl.random(20, 30, density=0.25, dtype=dtype, format=fmt, rng=5)
    assert A.dtype == np.dtype(dtype) and A.format == fmt and A.nnz == 150
    d = A.tocoo().data
    dt = np.dtype(dtype)
    if dt.kind == "f":
        assert np.all((d >= 0) & (d < 1))
    elif dt.kind == "c":
        assert np.all((d.real >= 0) & (d.real < 1) & (d.imag >= 0) & (d.imag < 1))
        assert np.any(d.imag != 0)
    elif dt.kind == "i":
        assert np.unique(d).size > 100      # spread over the integer range
        assert d.min() < 0 < d.max()
    else:
        assert d.all()
    S = sp.random_array((20, 30), density=0.25, dtype=dtype, rng=5)
    assert S.dtype == A.dtype and S.nnz == A.nnz


def test_random_data_sampler():
    A = sl.random(10, 10, density=0.3, rng=0, data_sampler=lambda size: np.arange(1, size + 1))
    assert A.dtype == np.float64 and A.nnz == 30
    np.testing.assert_array_equal(np.sort(A.data), np.arange(1, 31))
    B = sl.random(10, 10, density=0.3, rng=0, dtype=np.int32,
                  data_sampler=np.random.default_rng(1).standard_normal)
    assert B.dtype == np.int32 and B.nnz == 30
    with pytest.raises(ValueError, match=r"data_sampler\(size=30\) must return 30 values"):
        sl.random(10, 10, density=0.3, data_sampler=lambda size: np.ones(size + 1))
    with pytest.raises(TypeError, match="data_sampler must be callable"):
        sl.random(10, 10, data_sampler=3)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: sl.random(3, 3, density=1.5), ValueError, r"density must be in \[0, 1\]"),
    (lambda: sl.random(3, 3, density=-0.1), ValueError, r"density must be in \[0, 1\]"),
    (lambda: sl.random(3, 3, density=float("nan")), ValueError, "density must be in"),
    (lambda: sl.random(3, 3, density="0.5"), TypeError, "density must be a real number"),
    (lambda: sl.random(-3, 3), ValueError, "m must be non-negative"),
    (lambda: sl.random(3, -1), ValueError, "n must be non-negative"),
    (lambda: sl.random(3.0, 3), TypeError, "m must be an integer"),
    (lambda: sl.random(3, 3, format="dok"), ValueError, "format must be one of"),
    (lambda: sl.random(3, 3, rng="seed"), TypeError, "rng must be None, an int seed"),
    (lambda: sl.random(3, 3, dtype="U3"), TypeError, "dtype"),
])
def test_random_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_random_edge_densities():
    assert sl.random(7, 9, density=1.0, rng=0).toarray().all()
    assert sl.random(7, 9, density=0.0, rng=0).nnz == 0
    assert sl.random(0, 9, density=1.0).nnz == 0
    assert sl.random(1, 1, density=0.5, rng=0).nnz == 0       # round(0.5) == 0


# -- kron -------------------------------------------------------------------------------
@SETTINGS
@given(sa=st.tuples(st.integers(0, 4), st.integers(0, 4)),
       sb=st.tuples(st.integers(0, 4), st.integers(0, 4)),
       da=st.sampled_from(DTYPES), db=st.sampled_from(DTYPES),
       ka=st.sampled_from(KINDS), kb=st.sampled_from(KINDS),
       fmt=st.sampled_from(FORMATS), density=st.sampled_from([0.2, 0.6, 1.0]),
       seed=st.integers(0, 2**16))
def test_kron_matches_scipy(sa, sb, da, db, ka, kb, fmt, density, seed):
    Ad = _dense(*sa, density, da, seed)
    Bd = _dense(*sb, density, db, seed + 1)
    A, B = _as_kind(Ad, ka), _as_kind(Bd, kb)
    snaps = _snapshot(A) + _snapshot(B)
    K = sl.kron(A, B, format=fmt)
    S = sp.kron(sp.csr_array(Ad), sp.csr_array(Bd))
    # (scipy gives float64 when the product is empty; sparsela keeps the common dtype)
    _check(K, S, fmt or "csr", dtype=np.result_type(da, db))
    _unchanged(snaps)
    if K.format == "csr":
        assert K.has_canonical_format and K.indices.dtype == np.int32


def test_kron_bsr_blocks_and_defaults():
    A = sp.random_array((5, 4), density=0.4, rng=0, format="csr")
    B = np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 5.0]])        # dense-ish
    K = sl.kron(A, B, format="bsr")
    assert K.format == "bsr" and K.blocksize == (2, 3)
    _check(K, sp.kron(A, B))
    Bs = sp.eye_array(6, format="csr")                     # sparse B: 1x1 blocks
    K = sl.kron(A, Bs, format="bsr")
    assert K.blocksize == (1, 1)
    _check(K, sp.kron(A, Bs))
    assert sl.kron(A, B).format == "csr"


def test_kron_keeps_explicit_zeros_and_sums_duplicates():
    M = _messy_csr()
    snap = _snapshot(M)
    K = sl.kron(M, sl.eye(2))
    np.testing.assert_array_equal(K.toarray(), np.kron(_messy_dense(), np.eye(2)))
    assert K.has_canonical_format
    _unchanged(snap)
    assert not M.has_canonical_format         # the input object is untouched too
    Z = sl.csr_array((np.array([0.0, 1.0]), np.array([0, 1]), np.array([0, 2])), shape=(1, 2))
    S = sp.kron(Z.to_scipy(), sp.eye_array(2), format="coo")
    assert sl.kron(Z, sl.eye(2)).nnz == 4 == S.nnz


def test_kron_int64_indices():
    # 50000 x 50000 arrays with one entry: the product is 2.5e9 square, beyond int32
    A = sl.coo_array((np.array([2.0]), (np.array([49999]), np.array([3]))), shape=(50000, 50000))
    B = sl.coo_array((np.array([5.0]), (np.array([7]), np.array([49998]))), shape=(50000, 50000))
    K = sl.kron(A, B, format="coo")
    assert K.shape == (2_500_000_000, 2_500_000_000) and K.nnz == 1
    assert K.row.dtype == np.int64 and K.col.dtype == np.int64
    assert int(K.row[0]) == 49999 * 50000 + 7 and int(K.col[0]) == 3 * 50000 + 49998
    assert K.data.tolist() == [10.0]
    # one row: CSR with column indices beyond int32
    r = sl.csr_array((np.array([1.0]), np.array([49999]), np.array([0, 1])), shape=(1, 50000))
    K = sl.kron(r, r, format="csr")
    assert K.shape == (1, 2_500_000_000)
    assert K.indices.dtype == np.int64 and K.indptr.dtype == np.int64
    assert int(K.indices[0]) == 49999 * 50000 + 49999
    K = sl.kron(r.T, r.T, format="csc")
    assert K.format == "csc" and K.shape == (2_500_000_000, 1)
    assert K.indices.dtype == np.int64 and int(K.indices[0]) == 2_499_999_999
    # small products stay int32
    assert sl.kron(sl.eye(3), sl.eye(4)).indices.dtype == np.int32


@pytest.mark.parametrize("call, exc, match", [
    (lambda: sl.kron(np.ones(3), np.ones((2, 2))), ValueError, "A must be 2-D"),
    (lambda: sl.kron(np.ones((2, 2)), "x"), TypeError, "B must be numeric"),
    (lambda: sl.kron(np.eye(2), np.eye(2), format="dia"), ValueError, "format must be one of"),
])
def test_kron_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# -- hstack / vstack ------------------------------------------------------------------------
@st.composite
def _stack_case(draw):
    shared = draw(st.integers(0, 5))
    nblocks = draw(st.integers(1, 4))
    sizes = draw(st.lists(st.integers(0, 4), min_size=nblocks, max_size=nblocks))
    dtypes = draw(st.lists(st.sampled_from(DTYPES), min_size=nblocks, max_size=nblocks))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=nblocks, max_size=nblocks))
    seed = draw(st.integers(0, 2**16))
    density = draw(st.sampled_from([0.0, 0.3, 0.8]))
    return shared, sizes, dtypes, kinds, seed, density


@SETTINGS
@given(case=_stack_case(), fmt=st.sampled_from(FORMATS),
       dtype=st.sampled_from([None, np.float64, np.complex64, np.int64]))
def test_hstack_matches_scipy(case, fmt, dtype):
    m, sizes, dtypes, kinds, seed, density = case
    dense = [_dense(m, s, density, dt, seed + i) for i, (s, dt) in enumerate(zip(sizes, dtypes))]
    blocks = [_as_kind(d, k) for d, k in zip(dense, kinds)]
    snaps = [_snapshot(b) for b in blocks]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        H = sl.hstack(blocks, format=fmt, dtype=dtype)
        S = sp.hstack([sp.coo_array(d) for d in dense], dtype=dtype)
    _check(H, S)
    assert H.format == (fmt or ("csr" if all(k in ("sl-csr", "sp-csr", "sp-matrix")
                                             for k in kinds) else
                                "csc" if all(k == "sl-csc" for k in kinds) else "coo"))
    for s in snaps:
        _unchanged(s)
    if H.format in ("csr", "csc"):
        assert H.has_canonical_format


@SETTINGS
@given(case=_stack_case(), fmt=st.sampled_from(FORMATS),
       dtype=st.sampled_from([None, np.float32, np.complex128, np.int32]))
def test_vstack_matches_scipy(case, fmt, dtype):
    n, sizes, dtypes, kinds, seed, density = case
    dense = [_dense(s, n, density, dt, seed + i) for i, (s, dt) in enumerate(zip(sizes, dtypes))]
    blocks = [_as_kind(d, k) for d, k in zip(dense, kinds)]
    snaps = [_snapshot(b) for b in blocks]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        V = sl.vstack(blocks, format=fmt, dtype=dtype)
        S = sp.vstack([sp.coo_array(d) for d in dense], dtype=dtype)
    _check(V, S)
    assert V.format == (fmt or ("csr" if all(k in ("sl-csr", "sp-csr", "sp-matrix")
                                             for k in kinds) else
                                "csc" if all(k == "sl-csc" for k in kinds) else "coo"))
    for s in snaps:
        _unchanged(s)
    if V.format in ("csr", "csc"):
        assert V.has_canonical_format


@pytest.mark.parametrize("fmt", FORMATS)
def test_stack_default_formats_follow_scipy(fmt):
    a = sp.random_array((3, 3), density=0.5, rng=0)
    for stack, sl_stack in ((sp.hstack, sl.hstack), (sp.vstack, sl.vstack)):
        for conv in ("csr", "csc", "coo"):
            blocks = [a.asformat(conv), a.asformat(conv)]
            expected = stack(blocks).format if fmt is None else fmt
            out = sl_stack([sl.asarray(b) for b in blocks], format=fmt)
            assert out.format == expected
            _check(out, stack(blocks))
        mixed = sl_stack([sl.csr_array(a), sl.csc_array(a)], format=fmt)
        assert mixed.format == (fmt or "coo")


def test_stack_messy_inputs_and_none():
    M = _messy_csr()
    snap = _snapshot(M)
    for fmt in FORMATS:
        np.testing.assert_array_equal(sl.vstack([M, M], format=fmt).toarray(),
                                      np.vstack([_messy_dense()] * 2))
        np.testing.assert_array_equal(sl.hstack([M, None, M], format=fmt).toarray(),
                                      np.hstack([_messy_dense()] * 2))
    _unchanged(snap)
    _check(sl.hstack([[[1, 2]], [[3]]]), np.array([[1, 2, 3]]))
    _check(sl.vstack([[[1, 2]], [[3, 4]]]), np.array([[1, 2], [3, 4]]))
    gen = (b for b in [np.eye(2), np.ones((1, 2))])
    _check(sl.vstack(gen), np.vstack([np.eye(2), np.ones((1, 2))]))


def test_stack_index_dtype():
    H = sl.hstack([sl.eye(3), sl.eye(3)], format="csr")
    assert H.indices.dtype == np.int32 and H.indptr.dtype == np.int32
    wide = sl.csr_array((np.array([1.0]), np.array([5]), np.array([0, 1])), shape=(1, 2**31))
    H = sl.hstack([wide, wide], format="csr")
    assert H.shape == (1, 2**32) and H.indices.dtype == np.int64
    assert H.indices.tolist() == [5, 2**31 + 5]
    H = sl.hstack([wide, wide], format="coo")
    assert H.col.dtype == np.int64 and sorted(H.col.tolist()) == [5, 2**31 + 5]


@pytest.mark.parametrize("call, exc, match", [
    (lambda: sl.hstack([np.ones((4, 2)), np.ones((3, 2))]), ValueError,
     r"blocks\[1\] has 3 rows, expected 4"),
    (lambda: sl.vstack([np.ones((2, 4)), np.ones((2, 4)), sl.eye(2, 3)]), ValueError,
     r"blocks\[2\] has 3 columns, expected 4"),
    (lambda: sl.hstack([]), ValueError, "blocks must not be empty"),
    (lambda: sl.vstack([None, None]), ValueError, "holds only None"),
    (lambda: sl.hstack(sl.eye(2)), TypeError, "blocks must be a sequence of arrays"),
    (lambda: sl.vstack(3), TypeError, "blocks must be a sequence of arrays"),
    (lambda: sl.hstack([np.ones(3)]), ValueError, r"blocks\[0\] must be 2-D"),
    (lambda: sl.hstack([np.eye(2)], format="dia"), ValueError, "format must be one of"),
    (lambda: sl.vstack([np.eye(2)], dtype="U2"), TypeError, "dtype"),
    (lambda: sl.vstack([np.array([["a"]])]), TypeError, r"blocks\[0\] must be numeric"),
])
def test_stack_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# -- block_diag ------------------------------------------------------------------------------
@SETTINGS
@given(shapes=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=4),
       dtypes=st.lists(st.sampled_from(DTYPES), min_size=4, max_size=4),
       kinds=st.lists(st.sampled_from(KINDS), min_size=4, max_size=4),
       fmt=st.sampled_from(FORMATS), dtype=st.sampled_from([None, np.float64, np.int32]),
       seed=st.integers(0, 2**16))
def test_block_diag_matches_scipy(shapes, dtypes, kinds, fmt, dtype, seed):
    dense = [_dense(m, n, 0.5, dt, seed + i) for i, ((m, n), dt) in enumerate(zip(shapes, dtypes))]
    mats = [_as_kind(d, k) for d, k in zip(dense, kinds)]
    snaps = [_snapshot(b) for b in mats]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        D = sl.block_diag(mats, format=fmt, dtype=dtype)
        S = sp.block_diag([sp.coo_array(d) for d in dense], dtype=dtype)
    _check(D, S, fmt or "coo")
    for s in snaps:
        _unchanged(s)
    if D.format in ("csr", "csc"):
        assert D.has_canonical_format
        assert D.indices.dtype == np.int32


def test_block_diag_scalars_and_messy():
    _check(sl.block_diag([1, [[1, 2]], [[3], [4]]]),
           sp.block_diag([1, [[1, 2]], [[3], [4]]]))
    _check(sl.block_diag([[[1, 2]], 3]), np.array([[1, 2, 0], [0, 0, 3]]))
    M = _messy_csr()
    snap = _snapshot(M)
    expected = np.zeros((4, 6))
    expected[:2, :3] = expected[2:, 3:] = _messy_dense()
    for fmt in FORMATS:
        np.testing.assert_array_equal(sl.block_diag([M, M], format=fmt).toarray(), expected)
    _unchanged(snap)


@pytest.mark.parametrize("fmt", FORMATS)
def test_results_never_share_memory_with_inputs(fmt):
    A = sl.csr_array(sp.random_array((4, 3), density=0.5, rng=0))
    Bd = np.arange(1.0, 7.0).reshape(2, 3)
    outs = [sl.vstack([A], format=fmt), sl.hstack([A], format=fmt),
            sl.block_diag([A], format=fmt), sl.kron(A, Bd, format=fmt),
            sl.kron(Bd, A, format=fmt)]
    for out in outs:
        for name in ("data", "indices", "indptr", "row", "col"):
            got = getattr(out, name, None)
            if got is None:
                continue
            for src in (A.data, A.indices, A.indptr, Bd):
                assert not np.shares_memory(got, src)
    d = np.array([1.0, 2.0, 3.0])
    assert not np.shares_memory(sl.diags(d, format=fmt).data, d)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: sl.block_diag([]), ValueError, "mats must not be empty"),
    (lambda: sl.block_diag([np.eye(2), None]), TypeError, r"mats\[1\] is None"),
    (lambda: sl.block_diag(sl.eye(2)), TypeError, "mats must be a sequence of arrays"),
    (lambda: sl.block_diag([np.ones((2, 2, 2))]), ValueError, r"mats\[0\] must be 2-D"),
    (lambda: sl.block_diag([np.eye(2)], format="lil"), ValueError, "format must be one of"),
])
def test_block_diag_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
