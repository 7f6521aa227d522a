"""GPU conversion and canonicalisation kernels against their CPU twins and SciPy.

``sparsela.backends.gpu.{convert,canonical}`` mirror the CPU modules of the
same names: every test calls the GPU function on device arrays (CuPy on a
GPU, the simulated device elsewhere; see ``tests/conftest.py``) and the CPU
function on the same NumPy arrays, and checks that both give the same arrays
(exactly: the GPU kernels keep the CPU's entry order and summation order
wherever the CPU defines one) and that they agree with SciPy. Inputs are
tiny: under the simulator every thread of a block is a Python thread.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import assert_close, compressed_arrays, coo_triplets
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsela._device import cupy
from sparsela.backends.cpu import canonical as cpu_can
from sparsela.backends.cpu import convert as cpu_conv
from sparsela.backends.gpu import canonical as gpu_can
from sparsela.backends.gpu import convert as gpu_conv

SETTINGS = settings(max_examples=5, deadline=None)
#: distinct positions per random matrix (duplicates add up to as many again)
MAX_NNZ = 100
#: value dtypes the kernels are called with (conftest's set plus small/unsigned ints)
DTYPES = tuple(np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128,
                                     np.int32, np.int64, np.bool_))
EXTRA_DTYPES = tuple(np.dtype(t) for t in (np.int8, np.int16, np.uint8, np.uint16,
                                           np.uint32, np.uint64))


@pytest.fixture(scope="module")
def xp():
    return cupy()


def dev(*arrays):
    xp = cupy()
    return tuple(xp.asarray(a) for a in arrays)


def host(*arrays):
    return tuple(a.get() for a in arrays)


def assert_same(gpu, cpu, what=""):
    """Same dtype, shape and values (NaN-aware) — the mirror must be exact."""
    gpu, cpu = np.asarray(gpu), np.asarray(cpu)
    assert gpu.dtype == cpu.dtype, (what, gpu.dtype, cpu.dtype)
    assert gpu.shape == cpu.shape, (what, gpu.shape, cpu.shape)
    np.testing.assert_array_equal(gpu, cpu, err_msg=what)


def csr_of(t):
    """(data, indices, indptr) of triplets: duplicates and unsorted order kept."""
    return compressed_arrays(t, "row")


def make_csr(rng, shape, nnz, dtype, idx, *, dup=True, zeros=0.2, sort=False):
    """Random CSR arrays (duplicates, unsorted rows, explicit zeros)."""
    m, n = shape
    dtype = np.dtype(dtype)
    if m * n == 0:
        nnz = 0
    row = rng.integers(0, max(m, 1), nnz)
    col = rng.integers(0, max(n, 1), nnz) if dup else rng.permutation(m * n)[:nnz] % max(n, 1)
    vals = rng.integers(-4, 5, nnz) * (1 if dtype.kind in "iub" else 0.5)
    if dtype.kind == "c":
        vals = vals + 0.5j * rng.integers(-4, 5, nnz)
    vals = np.where(rng.random(nnz) < zeros, 0, vals)
    data = vals.astype(dtype) if dtype.kind != "u" else np.abs(vals).astype(dtype)
    order = np.argsort(row, kind="stable")
    if sort:
        order = np.lexsort((col, row))
    indptr = np.zeros(m + 1, dtype=idx)
    np.cumsum(np.bincount(row, minlength=m)[:m], out=indptr[1:])
    return data[order], col[order].astype(idx), indptr


# --------------------------------------------------------------------------- #
# COO -> CSR
# --------------------------------------------------------------------------- #
def check_coo_tocsr(row, col, data, shape, ptr_dtype=None):
    m = shape[0]
    nnz = row.size
    dt = np.dtype(ptr_dtype or row.dtype)
    ref = np.zeros(m + 1, dt), np.empty(nnz, dt), np.empty(nnz, data.dtype)
    cpu_conv.coo_tocsr(m, row, col, data, *ref)
    xp = cupy()
    out = xp.zeros(m + 1, dtype=dt), xp.empty(nnz, dtype=dt), xp.empty(nnz, dtype=data.dtype)
    drow, dcol, ddata = dev(row, col, data)
    gpu_conv.coo_tocsr(m, drow, dcol, ddata, *out)
    for name, g, c in zip(("indptr", "indices", "data"), host(*out), ref):
        assert_same(g, c, name)
    # SciPy: the same matrix (duplicates kept, so toarray sums them alike)
    indptr, indices, vals = ref
    if data.dtype != np.bool_:
        S = sp.coo_array((data, (row, col)), shape=shape).toarray()
        np.testing.assert_array_equal(
            sp.csr_array((vals, indices, indptr), shape=shape).toarray(), S)
    # input untouched
    assert_same(drow.get(), row), assert_same(dcol.get(), col), assert_same(ddata.get(), data)


@SETTINGS
@given(t=coo_triplets(dtypes=DTYPES, max_nnz=MAX_NNZ))
def test_coo_tocsr_random(t):
    check_coo_tocsr(t.row, t.col, t.data, t.shape)


@pytest.mark.parametrize("shape", [(0, 0), (0, 4), (4, 0), (5, 3)])
def test_coo_tocsr_empty(shape):
    z = np.zeros(0, np.int32)
    check_coo_tocsr(z, z, np.zeros(0, np.float64), shape)


def test_coo_tocsr_stable_and_mixed_index_dtypes():
    # many entries per row, unsorted: the within-row order must be the input order
    rng = np.random.default_rng(1)
    row = rng.integers(0, 4, 60).astype(np.int64)
    col = rng.integers(0, 9, 60).astype(np.int64)
    data = np.arange(60, dtype=np.complex128) * (1 + 1j)
    check_coo_tocsr(row, col, data, (6, 9), ptr_dtype=np.int32)


# --------------------------------------------------------------------------- #
# CSR -> CSC (transpose)
# --------------------------------------------------------------------------- #
def check_tocsc(data, indices, indptr, shape):
    m, n = shape
    nnz = int(indptr[-1])
    dt = indptr.dtype
    ref = np.zeros(n + 1, dt), np.empty(nnz, dt), np.empty(nnz, data.dtype)
    cpu_conv.csr_tocsc(m, n, indptr, indices, data, *ref)
    xp = cupy()
    out = xp.zeros(n + 1, dtype=dt), xp.empty(nnz, dtype=dt), xp.empty(nnz, dtype=data.dtype)
    gpu_conv.csr_tocsc(m, n, *dev(indptr, indices, data), *out)
    for name, g, c in zip(("indptr", "indices", "data"), host(*out), ref):
        assert_same(g, c, name)
    # SciPy keeps duplicates and sorts row indices within columns too
    S = sp.csr_array((data, indices, indptr), shape=shape).tocsc()
    assert_same(ref[0].astype(np.int64), S.indptr.astype(np.int64), "scipy indptr")
    assert_same(ref[1].astype(np.int64), S.indices.astype(np.int64), "scipy indices")
    assert_same(ref[2], S.data, "scipy data")


@SETTINGS
@given(t=coo_triplets(dtypes=DTYPES, max_nnz=MAX_NNZ))
def test_csr_tocsc_random(t):
    check_tocsc(*csr_of(t), t.shape)


@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (3, 0), (4, 5)])
def test_csr_tocsc_empty(shape):
    check_tocsc(np.zeros(0), np.zeros(0, np.int64), np.zeros(shape[0] + 1, np.int64), shape)


# --------------------------------------------------------------------------- #
# CSR -> dense
# --------------------------------------------------------------------------- #
def check_todense(data, indices, indptr, shape, out_dtype=None, order="C", base=None):
    out_dtype = np.dtype(out_dtype or data.dtype)
    ref = np.zeros(shape, dtype=out_dtype, order=order)
    if base is not None:
        ref[...] = base
    gpu_out = cupy().asarray(ref)
    if order == "F":  # the simulated asarray keeps the layout; CuPy's too (order="K")
        assert gpu_out.flags.f_contiguous
    cpu_conv.csr_todense(indptr, indices, data, ref)
    gpu_conv.csr_todense(*dev(indptr, indices, data), gpu_out)
    got = gpu_out.get()
    # atomics add in any order: exact for integers/bool and for the dyadic test values
    assert_same(got, ref, "dense")
    if base is None and data.dtype == out_dtype:
        with np.errstate(over="ignore"):
            expected = sp.csr_array((data, indices, indptr), shape=shape).toarray()
        assert_same(got, expected, "scipy")


@SETTINGS
@given(t=coo_triplets(dtypes=DTYPES + EXTRA_DTYPES, max_nnz=MAX_NNZ, bool_duplicates=True),
       order=st.sampled_from("CF"))
def test_csr_todense_random(t, order):
    check_todense(*csr_of(t), t.shape, order=order)
    np.testing.assert_array_equal(gpu_dense(*csr_of(t), t.shape), t.dense())


def gpu_dense(data, indices, indptr, shape):
    out = cupy().zeros(shape, dtype=data.dtype)
    gpu_conv.csr_todense(*dev(indptr, indices, data), out)
    return out.get()


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # simulated int8 wrap
@pytest.mark.parametrize("dtype, out_dtype", [
    (np.float32, np.float64), (np.int32, np.complex128), (np.float64, np.complex64),
    (np.bool_, np.bool_), (np.int8, np.int8), (np.uint64, np.uint64), (np.int64, np.float64)])
def test_csr_todense_dtypes_and_accumulate(dtype, out_dtype):
    """Values cast to the output dtype; ``out`` already holding values (``A + X``);
    duplicates summed (bool: logical or; int8: wrapping)."""
    rng = np.random.default_rng(3)
    data, indices, indptr = make_csr(rng, (6, 5), 40, dtype, np.int32)
    if np.dtype(dtype) == np.int8:
        data = np.full_like(data, 100)  # duplicates overflow int8: wrap as on the CPU
    base = np.ones((6, 5), dtype=out_dtype)
    check_todense(data, indices, indptr, (6, 5), out_dtype=out_dtype, base=base)
    check_todense(data, indices, indptr, (6, 5), out_dtype=out_dtype, order="F")


def test_csr_todense_strided_out():
    """A non-contiguous ``out`` (a view) is filled through a contiguous copy."""
    rng = np.random.default_rng(4)
    data, indices, indptr = make_csr(rng, (5, 4), 20, np.complex128, np.int64)
    xp = cupy()
    big = xp.zeros((5, 8), dtype=np.complex128)
    view = big[:, ::2]
    gpu_conv.csr_todense(*dev(indptr, indices, data), view)
    ref = np.zeros((5, 4), np.complex128)
    cpu_conv.csr_todense(indptr, indices, data, ref)
    got = big.get()
    assert_same(got[:, ::2], ref)
    assert not got[:, 1::2].any()


@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (3, 0), (4, 5)])
def test_csr_todense_empty(shape):
    check_todense(np.zeros(0, np.complex64), np.zeros(0, np.int32),
                  np.zeros(shape[0] + 1, np.int32), shape)


# --------------------------------------------------------------------------- #
# CSR <-> BSR
# --------------------------------------------------------------------------- #
def check_bsr(data, indices, indptr, shape, blocksize):
    M, N = shape
    R, C = blocksize
    n_brow, n_bcol = M // R, N // C
    dindptr, dindices, ddata = dev(indptr, indices, data)
    nnzb = cpu_conv.csr_bsr_nnzb(n_brow, n_bcol, R, C, indptr, indices)
    gnnzb = gpu_conv.csr_bsr_nnzb(n_brow, n_bcol, R, C, dindptr, dindices)
    assert type(gnnzb) is int and gnnzb == nnzb
    dt = indptr.dtype
    ref = np.zeros(n_brow + 1, dt), np.empty(nnzb, dt), np.zeros((nnzb, R, C), data.dtype)
    cpu_conv.csr_tobsr(n_brow, n_bcol, R, C, indptr, indices, data, *ref)
    xp = cupy()
    out = (xp.zeros(n_brow + 1, dtype=dt), xp.empty(nnzb, dtype=dt),
           xp.zeros((nnzb, R, C), dtype=data.dtype))
    gpu_conv.csr_tobsr(n_brow, n_bcol, R, C, dindptr, dindices, ddata, *out)
    Bp, Bj, Bx = host(*out)
    # same blocks in the same (first-touch) order, same sums
    for name, g, c in zip(("indptr", "indices", "data"), (Bp, Bj, Bx), ref):
        assert_same(g, c, name)
    if data.dtype != np.bool_:
        dense = sp.csr_array((data, indices, indptr), shape=shape).toarray()
        np.testing.assert_array_equal(
            sp.bsr_array((Bx, Bj, Bp), shape=shape, blocksize=blocksize).toarray(), dense)
    # and back: every block entry kept
    counts = np.repeat(np.diff(Bp) * C, R)
    Ap = np.zeros(M + 1, dt)
    np.cumsum(counts, out=Ap[1:])
    nnz = int(Ap[-1])
    cref = np.empty(nnz, dt), np.empty(nnz, data.dtype)
    cpu_conv.bsr_tocsr(R, C, Bp, Bj, Bx, Ap, *cref)
    cout = xp.empty(nnz, dtype=dt), xp.empty(nnz, dtype=data.dtype)
    gpu_conv.bsr_tocsr(R, C, *dev(Bp, Bj, Bx, Ap), *cout)
    for name, g, c in zip(("indices", "data"), host(*cout), cref):
        assert_same(g, c, "bsr_tocsr " + name)


@SETTINGS
@given(t=coo_triplets(dtypes=DTYPES, max_dim=24, max_nnz=MAX_NNZ, bool_duplicates=True))
def test_csr_bsr_roundtrip_random(t):
    check_bsr(*csr_of(t), t.shape, t.blocksize)


@pytest.mark.parametrize("shape, blocksize", [((0, 0), (1, 1)), ((0, 4), (1, 2)),
                                              ((4, 0), (2, 1)), ((6, 6), (3, 2))])
def test_csr_bsr_empty(shape, blocksize):
    check_bsr(np.zeros(0, np.float32), np.zeros(0, np.int64), np.zeros(shape[0] + 1, np.int64),
              shape, blocksize)


def test_csr_tobsr_dense_blocks_with_duplicates():
    rng = np.random.default_rng(5)
    data, indices, indptr = make_csr(rng, (8, 9), 70, np.complex128, np.int32)
    check_bsr(data, indices, indptr, (8, 9), (2, 3))


# --------------------------------------------------------------------------- #
# canonical form
# --------------------------------------------------------------------------- #
def check_canonical(data, indices, indptr, shape):
    """Every canonical.py function, GPU vs CPU vs SciPy, in the order ops/_canonical
    calls them (sort -> count unique -> prefix sum -> sum duplicates; eliminate zeros)."""
    xp = cupy()
    n_row = shape[0]
    dt = indptr.dtype
    dindptr, dindices, ddata = dev(indptr, indices, data)
    S = sp.csr_array((data.copy(), indices.copy(), indptr.copy()), shape=shape)
    for fname in ("csr_has_sorted_indices", "csr_has_canonical_format"):
        c = getattr(cpu_can, fname)(indptr, indices)
        g = getattr(gpu_can, fname)(dindptr, dindices)
        assert type(g) is bool and g == bool(c), fname
    assert gpu_can.csr_has_sorted_indices(dindptr, dindices) == bool(
        sp.csr_array((data, indices, indptr), shape=shape).has_sorted_indices)

    # sort in place; values follow; stable
    ci, cx = indices.copy(), data.copy()
    cpu_can.csr_sort_indices(indptr, ci, cx)
    gi, gx = dindices.copy(), ddata.copy()
    gpu_can.csr_sort_indices(dindptr, gi, gx)
    assert_same(gi.get(), ci, "sorted indices")
    assert_same(gx.get(), cx, "sorted data")
    assert gpu_can.csr_has_sorted_indices(dindptr, gi)

    # count unique + sum duplicates (on sorted rows)
    ccount = np.empty(n_row, dt)
    cpu_can.csr_count_unique(indptr, ci, ccount)
    gcount = xp.full(n_row, 7, dtype=dt)  # not zeroed: the kernel must overwrite
    gpu_can.csr_count_unique(dindptr, gi, gcount)
    assert_same(gcount.get(), ccount, "count_unique")
    Bp = np.zeros(n_row + 1, dt)
    np.cumsum(ccount, out=Bp[1:])
    nnz = int(Bp[-1])
    cref = np.empty(nnz, dt), np.empty(nnz, data.dtype)
    cpu_can.csr_sum_duplicates(indptr, ci, cx, Bp, *cref)
    gout = xp.empty(nnz, dtype=dt), xp.empty(nnz, dtype=data.dtype)
    gpu_can.csr_sum_duplicates(dindptr, gi, gx, xp.asarray(Bp), *gout)
    gj, gv = host(*gout)
    assert_same(gj, cref[0], "sum_duplicates indices")
    assert_same(gv, cref[1], "sum_duplicates data")
    if data.dtype != np.bool_:
        S.sum_duplicates()
        assert_same(Bp.astype(np.int64), S.indptr.astype(np.int64), "scipy indptr")
        assert_same(gj.astype(np.int64), S.indices.astype(np.int64), "scipy indices")
        assert_close(gv, S.data, data.dtype)
    assert gpu_can.csr_has_canonical_format(xp.asarray(Bp), xp.asarray(gj))

    # count nonzero values + eliminate zeros (on the unsorted input)
    ccount = np.empty(n_row, dt)
    cpu_can.csr_count_nonzero_values(indptr, data, ccount)
    gcount = xp.full(n_row, 7, dtype=dt)
    gpu_can.csr_count_nonzero_values(dindptr, ddata, gcount)
    assert_same(gcount.get(), ccount, "count_nonzero_values")
    Bp = np.zeros(n_row + 1, dt)
    np.cumsum(ccount, out=Bp[1:])
    nnz = int(Bp[-1])
    cref = np.empty(nnz, dt), np.empty(nnz, data.dtype)
    cpu_can.csr_eliminate_zeros(indptr, indices, data, Bp, *cref)
    gout = xp.empty(nnz, dtype=dt), xp.empty(nnz, dtype=data.dtype)
    gpu_can.csr_eliminate_zeros(dindptr, dindices, ddata, xp.asarray(Bp), *gout)
    assert_same(gout[0].get(), cref[0], "eliminate_zeros indices")
    assert_same(gout[1].get(), cref[1], "eliminate_zeros data")
    E = sp.csr_array((data.copy(), indices.copy(), indptr.copy()), shape=shape)
    E.eliminate_zeros()
    assert_same(gout[1].get(), E.data, "scipy eliminate_zeros")
    # inputs untouched
    assert_same(dindices.get(), indices), assert_same(ddata.get(), data)


@SETTINGS
@given(t=coo_triplets(dtypes=DTYPES + EXTRA_DTYPES, max_nnz=MAX_NNZ, bool_duplicates=True))
def test_canonical_random(t):
    check_canonical(*csr_of(t), t.shape)


@SETTINGS
@given(t=coo_triplets(dtypes=DTYPES, shape=(3, 40), max_nnz=MAX_NNZ),
       force_global=st.booleans())
def test_canonical_long_rows(t, force_global):
    """Rows longer than 32 entries take the global (row, column) stable sort path;
    ``force_global`` sends short rows there too (insertion-sort limit 0)."""
    with pytest.MonkeyPatch.context() as mp:
        if force_global:
            mp.setattr(gpu_can, "_INSERTION_MAX", 0)
        check_canonical(*csr_of(t), t.shape)


@pytest.mark.parametrize("insertion_max", [0, 32])
def test_sort_indices_both_paths(insertion_max, monkeypatch):
    """One row of 60 entries with repeated columns (stability visible in the values),
    an empty row and a short row: global sort (limit 0 or a row > 32) vs CPU."""
    monkeypatch.setattr(gpu_can, "_INSERTION_MAX", insertion_max)
    rng = np.random.default_rng(11)
    indices = np.concatenate([rng.integers(0, 9, 60), [4, 2, 2]]).astype(np.int32)
    data = np.arange(indices.size, dtype=np.float64)
    indptr = np.array([0, 60, 60, 63], dtype=np.int32)
    assert np.diff(indptr).max() > 32
    check_canonical(data, indices, indptr, (3, 9))


@pytest.mark.parametrize("idx", [np.int32, np.int64])
@pytest.mark.parametrize("dtype", [np.float32, np.complex128, np.int64, np.uint8, np.bool_])
def test_canonical_mixed_lengths(idx, dtype):
    """Empty rows, single entries, short and long rows, runs of duplicates."""
    rng = np.random.default_rng(7)
    data, indices, indptr = make_csr(rng, (5, 6), 80, dtype, idx, zeros=0.3)
    indptr[2] = indptr[1]  # make row 1 empty
    indices = indices.copy()
    check_canonical(data, indices, indptr, (5, 6))


@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (3, 0), (4, 5)])
def test_canonical_empty(shape):
    check_canonical(np.zeros(0, np.float64), np.zeros(0, np.int32),
                    np.zeros(shape[0] + 1, np.int32), shape)


def test_canonical_flags_edge_cases():
    xp = cupy()
    cases = [
        (np.array([0, 2, 2, 4]), np.array([1, 3, 0, 2])),   # sorted, empty row between
        (np.array([0, 2, 2, 4]), np.array([1, 1, 0, 2])),   # duplicate: sorted, not canonical
        (np.array([0, 2, 4]), np.array([3, 1, 0, 2])),      # unsorted in row 0
        (np.array([0, 2, 4]), np.array([1, 3, 0, 3])),      # descent only across rows
        (np.array([0, 3, 2, 4]), np.array([0, 1, 2, 3])),   # decreasing indptr
        (np.array([0]), np.array([], dtype=np.int64)),      # no rows
    ]
    for Ap, Aj in cases:
        for dt in (np.int32, np.int64):
            Ap_, Aj_ = Ap.astype(dt), Aj.astype(dt)
            for fname in ("csr_has_canonical_format",) + (
                    ("csr_has_sorted_indices",) if np.all(np.diff(Ap) >= 0) else ()):
                c = bool(getattr(cpu_can, fname)(Ap_, Aj_))
                g = getattr(gpu_can, fname)(xp.asarray(Ap_), xp.asarray(Aj_))
                assert g is c, (fname, Ap, Aj)
