"""GPU SpGEMM (``sparsela/backends/gpu/spgemm.py``) against the CPU kernel and SciPy.

Runs on the GPU when CuPy sees one, else in Numba's CUDA simulator on the
simulated device (``tests/conftest.py``), where every thread of a block is a
Python thread: inputs stay tiny. The bin fixture shrinks the shared-memory
tables (and the global batch budget) so that a matrix of a dozen rows lands
rows in every bin, the global-memory one included, and in several global
batches.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsela._device import cupy
from sparsela.backends.cpu import spgemm as cpu
from sparsela.backends.gpu import _cuda
from sparsela.backends.gpu import spgemm as gpu

VALUE_DTYPES = tuple(np.dtype(t) for t in (np.float32, np.float64, np.complex64,
                                           np.complex128, np.int32, np.int64))


@pytest.fixture(scope="module")
def xp():
    return cupy()


@pytest.fixture
def small_bins(monkeypatch):
    """Tiny shared tables: symbolic bins flops <= 2, 4, 8; numeric nnz <= 2, 4;
    larger rows take the global tables, 16 slots a batch."""
    monkeypatch.setattr(gpu, "SYMBOLIC_TABLE_SIZES", (4, 8, 16))
    monkeypatch.setattr(gpu, "NUMERIC_TABLE_SIZES", (4, 8))
    monkeypatch.setattr(gpu, "GLOBAL_TABLE_SLOTS", 16)


@pytest.fixture
def launches(monkeypatch):
    """Records the size of every kernel launch (items for launch, blocks for launch_grid)."""
    seen = []
    launch, launch_grid = _cuda.launch, _cuda.launch_grid

    def rec_launch(kern, n, *args, **kw):
        seen.append(int(n))
        return launch(kern, n, *args, **kw)

    def rec_grid(kern, grid, threads, *args, **kw):
        seen.append(int(grid))
        return launch_grid(kern, grid, threads, *args, **kw)

    monkeypatch.setattr(_cuda, "launch", rec_launch)
    monkeypatch.setattr(_cuda, "launch_grid", rec_grid)
    return seen


# --------------------------------------------------------------------------
# inputs and the comparison
# --------------------------------------------------------------------------
def _values(rng, n, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        return rng.integers(-3, 4, n).astype(dtype)
    x = rng.integers(-4, 5, n) / 2.0
    if dtype.kind == "c":
        x = x + 1j * (rng.integers(-4, 5, n) / 2.0)
    return x.astype(dtype)


def _csr(rows, cols, vals, n_row, idx=np.int32):
    """CSR arrays keeping the given in-row order (unsorted, duplicates kept)."""
    rows = np.asarray(rows, dtype=np.int64)
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(n_row + 1, dtype=idx)
    np.cumsum(np.bincount(rows, minlength=n_row), out=indptr[1:])
    return (indptr, np.asarray(cols, dtype=idx)[order], np.asarray(vals)[order])


def _random_csr(rng, n_row, n_col, nnz, dtype, idx=np.int32, zeros=0.2):
    """Random CSR with duplicates, unsorted rows and explicit zeros."""
    if n_row == 0 or n_col == 0:
        nnz = 0
    r = rng.integers(0, max(n_row, 1), nnz)
    c = rng.integers(0, max(n_col, 1), nnz)
    v = _values(rng, nnz, dtype)
    v[rng.random(nnz) < zeros] = 0
    return _csr(r, c, v, n_row, idx)


def _sorted_rows(Cp, Cj, Cx):
    """Each row's entries in column order (for unsorted output)."""
    rows = np.repeat(np.arange(len(Cp) - 1), np.diff(Cp))
    order = np.lexsort((Cj, rows))
    return Cj[order], Cx[order]


def _scipy(n_row, k, n_col, A, B):
    Am = sp.csr_matrix((A[2], A[1], A[0]), shape=(n_row, k))
    Bm = sp.csr_matrix((B[2], B[1], B[0]), shape=(k, n_col))
    return (Am @ Bm).toarray()


def _check(xp, n_row, k, n_col, A, B, *, sort_indices=True, b_canonical=False,
           scipy_ref=True):
    """GPU product == CPU product (structure exactly, values to rounding) and
    == SciPy's dense result; inputs unchanged. Returns the GPU (Cp, Cj, Cx)."""
    args = (*A, *B)
    before = [a.copy() for a in args]
    dev = [xp.asarray(a) for a in args]
    Cp, Cj, Cx = gpu.csr_spgemm(n_row, n_col, *dev, sort_indices=sort_indices,
                                b_canonical=b_canonical)
    Cp, Cj, Cx = Cp.get(), Cj.get(), Cx.get()
    for d, a in zip(dev, before):
        np.testing.assert_array_equal(d.get(), a)
    Rp, Rj, Rx = cpu.csr_spgemm(n_row, n_col, *args, sort_indices=True,
                                b_canonical=b_canonical)
    assert Cp.dtype == Rp.dtype and Cj.dtype == Rj.dtype, (Cp.dtype, Rp.dtype)
    assert Cx.dtype == A[2].dtype
    np.testing.assert_array_equal(Cp, Rp)
    if sort_indices:
        Sj, Sx = Cj, Cx
    else:
        Sj, Sx = _sorted_rows(Cp, Cj, Cx)
    np.testing.assert_array_equal(Sj, Rj)
    assert_close(Sx, Rx, Cx.dtype)
    if scipy_ref:
        C = sp.csr_matrix((Sx, Sj, Cp), shape=(n_row, n_col))
        assert C.has_canonical_format or C.nnz == 0
        assert_close(C.toarray(), _scipy(n_row, k, n_col, A, B), Cx.dtype, check_dtype=False)
    return Cp, Cj, Cx


def _binned_case(dtype, idx=np.int32, seed=0):
    """A (14 x 10) @ B (10 x 30) whose rows, under ``small_bins``, fall in
    every bin: empty (no entries / only empty B rows), copy (one product),
    each shared table by flops and by nnz, and the global tables (with a row
    of many products but few distinct columns, which is global by flops and
    shared by nnz). A and B have duplicates, unsorted rows, explicit zeros."""
    rng = np.random.default_rng(seed)
    k, n_col = 10, 30
    # B: row lengths 0..6, rows 8 and 9 repeat one column (duplicates)
    b_len = [0, 1, 2, 3, 4, 5, 6, 0, 4, 3]
    br, bc = [], []
    for i, ln in enumerate(b_len):
        cols = rng.permutation(n_col)[:ln]
        if i >= 8:
            cols = np.full(ln, 7 + i)
        br += [i] * ln
        bc += list(cols)
    bv = _values(rng, len(br), dtype)
    bv[3] = 0  # an explicit zero in B
    B = _csr(br, bc, bv, k, idx)
    # A: row -> list of B rows it hits (repeats = duplicates in A)
    a_rows = [
        [],                 # 0: empty row of A
        [0, 7],             # 1: only empty rows of B (flops 0)
        [1],                # 2: one product (copy)
        [1, 0],             # 3: one product via two entries
        [2],                # 4: flops 2, one A entry
        [1, 1],             # 5: duplicate A entry, flops 2, nnz 1
        [2, 3],             # 6: flops 5
        [6, 2],             # 7: flops 8
        [6, 5, 1],          # 8: flops 12 (global by flops)
        [6, 5, 4, 3, 2, 1],  # 9: flops 21 (global)
        [9, 8, 9, 8],       # 10: flops 14, nnz 2 (global by flops, shared by nnz)
        [4, 3],             # 11: flops 7
        [6, 6, 5],          # 12: duplicates, flops 17
        [1, 3],             # 13: flops 4
    ]
    ar, ac = [], []
    for i, ks in enumerate(a_rows):
        ks = list(ks)
        rng.shuffle(ks)
        ar += [i] * len(ks)
        ac += ks
    av = _values(rng, len(ar), dtype)
    av[av == 0] = 1
    A = _csr(ar, ac, av, len(a_rows), idx)
    return len(a_rows), k, n_col, A, B


def _assert_every_bin(n_row, k, n_col, A, B):
    """Under ``small_bins``: every symbolic and numeric bin gets a row."""
    Am = sp.csr_matrix((np.ones(len(A[1])), A[1], A[0]), shape=(n_row, k))
    Bm = sp.csr_matrix((np.ones(len(B[1])), B[1], B[0]), shape=(k, n_col))
    flops = np.asarray(Am @ Bm.sum(axis=1)).ravel()
    nnz = np.diff((Am @ Bm).tocsr().indptr)  # all-ones: nothing cancels
    assert {0, 1} <= set(flops.tolist())
    sym = np.searchsorted([2, 4, 8], flops[flops > 1])  # 3 = global
    metric = np.maximum(nnz, -(-flops // (gpu.LOAD_DIV * gpu.NUMERIC_PRODUCTS_PER_SLOT)))
    num = np.searchsorted([2, 4], metric[flops > 1])  # 2 = global
    assert set(sym.tolist()) == {0, 1, 2, 3}
    assert set(num.tolist()) == {0, 1, 2}


# --------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", VALUE_DTYPES, ids=str)
def test_every_bin_sorted(xp, small_bins, dtype):
    case = _binned_case(dtype)
    _assert_every_bin(*case)
    _check(xp, *case, sort_indices=True)


@pytest.mark.parametrize("dtype", [np.float64, np.complex64, np.int32], ids=str)
def test_every_bin_unsorted(xp, small_bins, dtype):
    _check(xp, *_binned_case(np.dtype(dtype), seed=1), sort_indices=False)


def test_default_bins_and_int64_indices(xp):
    """The shipped table sizes, int64 input indices (output int32 as on the CPU)."""
    case = _binned_case(np.dtype(np.float64), idx=np.int64, seed=2)
    Cp, Cj, _ = _check(xp, *case)
    assert Cp.dtype == np.int32 and Cj.dtype == np.int32


@pytest.mark.parametrize("sort_indices", [True, False])
def test_b_canonical_copy_rows(xp, small_bins, sort_indices):
    """With a canonical B, rows of A with one nonzero are scaled copies of B's rows."""
    rng = np.random.default_rng(3)
    Bm = sp.random(8, 25, density=0.3, format="csr", random_state=4, dtype=np.float64)
    Bm.sum_duplicates()
    Bm.sort_indices()
    B = (Bm.indptr.astype(np.int32), Bm.indices.astype(np.int32), Bm.data)
    A = _random_csr(rng, 12, 8, 18, np.float64)
    assert (np.diff(A[0]) == 1).sum() >= 2
    _check(xp, 12, 8, 25, A, B, sort_indices=sort_indices, b_canonical=True)
    if sort_indices:
        nnz = gpu.spgemm_row_nnz(12, 25, *(xp.asarray(a) for a in (A[0], A[1], B[0], B[1])),
                                 b_canonical=True)
        np.testing.assert_array_equal(
            nnz.get(), cpu.spgemm_row_nnz(12, 25, A[0], A[1], B[0], B[1], b_canonical=True))


@pytest.mark.parametrize("bins", ["default", "small"])
def test_cancellation_keeps_explicit_zeros(xp, monkeypatch, bins):
    """Products that cancel stay in C as explicit zeros, like the CPU kernel."""
    if bins == "small":
        monkeypatch.setattr(gpu, "SYMBOLIC_TABLE_SIZES", (4,))
        monkeypatch.setattr(gpu, "NUMERIC_TABLE_SIZES", (4,))
    # row 0: (1*1 + 1*(-1)) at col 0 cancels; rows 1, 2 with more products
    A = _csr([0, 0, 1, 1, 1, 2, 2], [0, 1, 0, 1, 2, 2, 0],
             np.array([1.0, 1.0, 2.0, 2.0, 1.0, 1.0, -1.0]), 3)
    B = _csr([0, 0, 0, 1, 1, 1, 2, 2], [0, 3, 4, 0, 3, 5, 4, 1],
             np.array([1.0, 2.0, 1.0, -1.0, -2.0, 1.0, -1.0, 3.0]), 3)
    Cp, Cj, Cx = _check(xp, 3, 3, 6, A, B)
    row0 = dict(zip(Cj[Cp[0]:Cp[1]], Cx[Cp[0]:Cp[1]]))
    assert row0[0] == 0 and row0[3] == 0  # kept, not dropped
    assert (Cx == 0).sum() >= 3


@pytest.mark.parametrize("shape", [(0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0), (3, 4, 5)])
def test_empty_and_zero_size(xp, launches, shape):
    """0-row / 0-col / 0-inner shapes and nnz = 0: nothing zero-sized is launched."""
    n_row, k, n_col = shape
    rng = np.random.default_rng(5)
    A = _random_csr(rng, n_row, k, 0, np.float64)
    B = _random_csr(rng, k, n_col, 0 if shape != (3, 4, 5) else 6, np.float64)
    Cp, Cj, Cx = _check(xp, n_row, k, n_col, A, B)
    assert Cp.shape == (n_row + 1,) and not Cp.any() and Cj.size == 0 and Cx.size == 0
    assert all(n > 0 for n in launches)
    if n_row == 0:
        assert not launches


def test_row_nnz_and_index_dtype(xp, small_bins):
    n_row, _, n_col, A, B = _binned_case(np.dtype(np.float64), seed=6)
    nnz = gpu.spgemm_row_nnz(n_row, n_col, xp.asarray(A[0]), xp.asarray(A[1]),
                             xp.asarray(B[0]), xp.asarray(B[1]))
    ref = cpu.spgemm_row_nnz(n_row, n_col, A[0], A[1], B[0], B[1])
    assert nnz.dtype == np.int64
    np.testing.assert_array_equal(nnz.get(), ref)
    assert gpu.spgemm_index_dtype(nnz, n_col) == np.int32
    assert gpu.spgemm_index_dtype(nnz, 2**31) == np.int64
    assert gpu.spgemm_index_dtype(xp.asarray(np.array([2**30, 2**30], dtype=np.int64)),
                                  4) == np.int64
    assert gpu.spgemm_index_dtype(xp.asarray(np.zeros(0, dtype=np.int64)), 0) == np.int32


def test_columns_beyond_int32(xp):
    """n_col > 2**31 - 1: int64 output indices, 64-bit hash keys (global tables only)."""
    big = 2**31 + 7
    cols = np.array([0, 5, big - 1, 2**31, 2**31 + 3, 5, big - 1, 2**31 + 3, 17],
                    dtype=np.int64)
    B = _csr([0, 0, 0, 1, 1, 1, 2, 2, 2], cols,
             np.arange(1.0, 10.0), 3, idx=np.int64)
    A = _csr([0, 0, 1, 1, 1, 2], [0, 1, 2, 0, 2, 1],
             np.array([1.0, 2.0, -1.0, 0.5, 3.0, 1.0]), 3, idx=np.int64)
    Cp, Cj, Cx = _check(xp, 3, 3, big, A, B, scipy_ref=False)
    assert Cj.dtype == np.int64 and Cj.max() == big - 1
    # SciPy on the columns renumbered 0..m-1
    uniq, inv = np.unique(B[1], return_inverse=True)
    Bs = (B[0], inv.astype(np.int64), B[2])
    ref = _scipy(3, 3, len(uniq), A, Bs)
    dense = np.zeros((3, len(uniq)))
    rows = np.repeat(np.arange(3), np.diff(Cp))
    dense[rows, np.searchsorted(uniq, Cj)] = Cx
    np.testing.assert_allclose(dense, ref, rtol=1e-12)


@settings(max_examples=6, deadline=None)
@given(n_row=st.integers(0, 9), k=st.integers(0, 7), n_col=st.integers(0, 40),
       a_nnz=st.integers(0, 30), b_nnz=st.integers(0, 40),
       dtype=st.sampled_from([np.float64, np.complex128, np.int64, np.float32]),
       idx=st.sampled_from([np.int32, np.int64]), sort_indices=st.booleans(),
       small=st.booleans(), seed=st.integers(0, 2**16))
def test_random_against_cpu_and_scipy(xp, n_row, k, n_col, a_nnz, b_nnz, dtype, idx,
                                      sort_indices, small, seed):
    rng = np.random.default_rng(seed)
    A = _random_csr(rng, n_row, k, a_nnz, dtype, idx)
    B = _random_csr(rng, k, n_col, b_nnz, dtype, idx)
    sizes = ((4, 8, 16), (4, 8)) if small else (gpu.SYMBOLIC_TABLE_SIZES,
                                               gpu.NUMERIC_TABLE_SIZES)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gpu, "SYMBOLIC_TABLE_SIZES", sizes[0])
        mp.setattr(gpu, "NUMERIC_TABLE_SIZES", sizes[1])
        _check(xp, n_row, k, n_col, A, B, sort_indices=sort_indices)


@pytest.mark.parametrize("dtype,sort_indices", [(np.float64, True), (np.complex128, False)],
                         ids=["float64-sorted", "complex128-unsorted"])
def test_larger_default_bins(xp, dtype, sort_indices):
    """Rows of 40..240 products over 500 columns: the shipped shared tables of
    128, 256 and 512 slots (group = a warp or more), with hashing (n_col > S)."""
    rng = np.random.default_rng(7)
    k, n_col = 6, 500
    br = np.repeat(np.arange(k), 40)
    bc = np.concatenate([rng.permutation(n_col)[:40] for _ in range(k)])
    B = _csr(br, bc, _values(rng, len(br), dtype), k)
    a_rows = [[0], [0, 0], [2, 0, 1], [5, 3, 1, 0, 2, 4], [4, 1]]
    ar = np.repeat(np.arange(len(a_rows)), [len(r) for r in a_rows])
    ac = np.concatenate(a_rows)
    A = _csr(ar, ac, _values(rng, len(ar), dtype) + 5, len(a_rows))
    _check(xp, len(a_rows), k, n_col, A, B, sort_indices=sort_indices)
