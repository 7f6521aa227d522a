"""Product kernels on raw arrays (SpGEMM, SpMV, SpMM) against SciPy.

Inputs are built non-canonical on purpose (unsorted columns, duplicates,
explicit zeros); the SciPy oracle gets the same matrix summed into canonical
form. SpGEMM keeps structurally present entries that cancel to zero while
SciPy drops them, so values are compared densely (``toarray``) and the
structure is checked against a product of sparsity patterns.
"""
from __future__ import annotations

from pathlib import Path

import numba
import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparsela.backends.cpu import _prefetch as prefetch_mod
from sparsela.backends.cpu import spgemm as spgemm_mod
from sparsela.backends.cpu._prefetch import scattered_reads, worth_prefetching
from sparsela.backends.cpu.spgemm import csr_spgemm, spgemm_index_dtype, spgemm_row_nnz
from sparsela.backends.cpu.spmm import bsr_spmm, csr_spmm, csr_spmm_t
from sparsela.backends.cpu.spmv import bsr_spmv, csr_spmv, csr_spmv_t

try:
    from sparsela import config_context
except ImportError:  # package __init__ not exporting it (yet)
    from sparsela._config import config_context

VALUE_DTYPES = [np.float32, np.float64, np.complex64, np.complex128, np.int64]
ALL_KERNEL_DTYPES = VALUE_DTYPES + [np.int32]
INDEX_DTYPES = [np.int32, np.int64]
REAL_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"

SETTINGS = settings(max_examples=30, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])



@pytest.fixture(autouse=True)
def _two_passes(monkeypatch):
    """The two-pass SpGEMM here, every accumulator and heavy-row split of it
    (unsorted small products would otherwise run in one pass: they have
    their own tests in test_spgemm_onepass.py)."""
    from sparsela.backends.cpu import spgemm_onepass

    monkeypatch.setattr(spgemm_onepass, "ONE_PASS_MAX_BYTES", 0)


two_threads = pytest.mark.skipif(
    numba.config.NUMBA_NUM_THREADS < 2, reason="needs a Numba thread pool of at least 2 threads"
)


# --------------------------------------------------------------------------- #
# builders and oracles
# --------------------------------------------------------------------------- #
def _values(rng, n, dtype, zero_frac=0.15):
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        v = rng.integers(-4, 5, size=n)
    elif dtype.kind == "c":
        v = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    else:
        v = rng.standard_normal(n)
    v = v.astype(dtype)
    v[rng.random(n) < zero_frac] = 0  # explicit zeros
    return v


def random_csr(rng, shape, density, dtype, index_dtype, dup_frac=0.2, canonical=False):
    """Raw CSR arrays of a random matrix and the SciPy csr_array they represent.

    Unless ``canonical``, rows hold unsorted and repeated columns (repeats are
    drawn by re-emitting existing entries, then all entries are shuffled).
    """
    n_row, n_col = shape
    nnz = int(round(density * n_row * n_col)) if n_row and n_col else 0
    rows = rng.integers(0, n_row, size=nnz) if nnz else np.zeros(0, np.int64)
    cols = rng.integers(0, n_col, size=nnz) if nnz else np.zeros(0, np.int64)
    vals = _values(rng, nnz, dtype)
    if nnz and not canonical and dup_frac:
        extra = rng.integers(0, nnz, size=max(1, int(dup_frac * nnz)))
        rows = np.concatenate([rows, rows[extra]])
        cols = np.concatenate([cols, cols[extra]])
        vals = np.concatenate([vals, _values(rng, extra.size, dtype)])
    ref = sp.coo_array((vals, (rows, cols)), shape=shape).tocsr()
    ref.sum_duplicates()
    if canonical:
        Ap, Aj, Ax = ref.indptr, ref.indices, ref.data
    else:
        perm = rng.permutation(rows.size)
        order = perm[np.argsort(rows[perm], kind="stable")]  # by row, shuffled within
        Aj, Ax = cols[order], vals[order]
        Ap = np.zeros(n_row + 1, np.int64)
        np.cumsum(np.bincount(rows, minlength=n_row), out=Ap[1:])
    pattern = sp.coo_array((np.ones(rows.size, np.int64), (rows, cols)), shape=shape).tocsr()
    raw = (np.ascontiguousarray(Ap, dtype=index_dtype),
           np.ascontiguousarray(Aj, dtype=index_dtype),
           np.ascontiguousarray(Ax, dtype=dtype))
    return raw, ref, pattern


def tolerance(dtype):
    return {np.dtype(np.float32): 2e-4, np.dtype(np.complex64): 2e-4}.get(np.dtype(dtype), 1e-10)


def assert_product_close(actual, expected, bound, dtype):
    """Dense comparison; ``bound`` = |A| @ |B| scales the absolute tolerance."""
    if np.dtype(dtype).kind in "iu":
        np.testing.assert_array_equal(actual, expected)
        return
    rtol = tolerance(dtype)
    atol = rtol * (float(np.max(bound)) if np.size(bound) else 0.0) + 1e-30
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def abs_dense(ref):
    return abs(ref).astype(np.float64).toarray()


def check_csr_output(Cp, Cj, Cx, n_row, n_col, dtype, sort_indices):
    """Well-formed CSR: index dtypes agree, no repeated column, sorted if asked."""
    assert Cp.dtype == Cj.dtype and Cp.dtype in (np.int32, np.int64)
    assert Cx.dtype == np.dtype(dtype)
    assert Cp.shape == (n_row + 1,) and Cp[0] == 0
    assert np.all(np.diff(Cp) >= 0)
    assert Cp[-1] == Cj.size == Cx.size
    if Cj.size:
        assert Cj.min() >= 0 and Cj.max() < n_col
    rows = np.repeat(np.arange(n_row), np.diff(Cp))
    keys = np.sort(rows.astype(np.int64) * max(n_col, 1) + Cj)
    assert not np.any(keys[1:] == keys[:-1]), "repeated column within a row"
    if sort_indices and Cj.size > 1:
        same_row = rows[1:] == rows[:-1]
        assert np.all(np.diff(Cj.astype(np.int64))[same_row] > 0), "row not sorted"


def to_dense(Cp, Cj, Cx, shape):
    return sp.csr_array((Cx, Cj, Cp), shape=shape).toarray()


def snapshot(*arrays):
    return [a.copy() for a in arrays]


def assert_unchanged(before, after):
    for b, a in zip(before, after):
        assert b.dtype == a.dtype
        np.testing.assert_array_equal(b, a)


def garbage_like(shape, dtype):
    """Preallocated output full of junk: kernels must overwrite, not accumulate."""
    dtype = np.dtype(dtype)
    return np.full(shape, 7 if dtype.kind in "iu" else np.nan, dtype=dtype)


# --------------------------------------------------------------------------- #
# SpGEMM: hypothesis
# --------------------------------------------------------------------------- #
dims = st.one_of(st.integers(0, 3), st.integers(0, 25), st.integers(40, 90))


@st.composite
def spgemm_case(draw):
    return dict(
        n_row=draw(dims), k=draw(dims), n_col=draw(dims),
        dA=draw(st.floats(0, 1)), dB=draw(st.floats(0, 1)),
        dtype=draw(st.sampled_from(VALUE_DTYPES)),
        index_dtype=draw(st.sampled_from(INDEX_DTYPES)),
        sort_indices=draw(st.booleans()),
        b_canonical=draw(st.booleans()),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def run_spgemm_case(c):
    rng = np.random.default_rng(c["seed"])
    dt, it = c["dtype"], c["index_dtype"]
    (Ap, Aj, Ax), Aref, Apat = random_csr(rng, (c["n_row"], c["k"]), c["dA"], dt, it)
    (Bp, Bj, Bx), Bref, Bpat = random_csr(rng, (c["k"], c["n_col"]), c["dB"], dt, it,
                                          canonical=c["b_canonical"])
    inputs = (Ap, Aj, Ax, Bp, Bj, Bx)
    before = snapshot(*inputs)
    Cp, Cj, Cx = csr_spgemm(c["n_row"], c["n_col"], *inputs, sort_indices=c["sort_indices"],
                            b_canonical=c["b_canonical"])
    assert_unchanged(before, inputs)
    check_csr_output(Cp, Cj, Cx, c["n_row"], c["n_col"], dt, c["sort_indices"])
    shape = (c["n_row"], c["n_col"])
    assert_product_close(to_dense(Cp, Cj, Cx, shape), (Aref @ Bref).toarray(),
                         abs_dense(Aref) @ abs_dense(Bref), dt)
    # structure: every structurally reachable column, cancelled or not
    expected_nnz = np.count_nonzero((Apat @ Bpat).toarray(), axis=1)
    np.testing.assert_array_equal(np.diff(Cp.astype(np.int64)), expected_nnz)
    row_nnz = spgemm_row_nnz(c["n_row"], c["n_col"], Ap, Aj, Bp, Bj,
                             b_canonical=c["b_canonical"])
    assert row_nnz.dtype == np.int64
    np.testing.assert_array_equal(row_nnz, expected_nnz)
    assert_unchanged(before, inputs)


@SETTINGS
@given(spgemm_case())
def test_spgemm_random(c):
    run_spgemm_case(c)


@pytest.mark.parametrize("mode", ["hash", "spa", "dense"])
def test_spgemm_random_forced_accumulator(mode):
    # every non-trivial row through one accumulator, whatever its density
    ratio = 1 << 30 if mode == "dense" else 0
    spa_cols = 1 << 30 if mode == "spa" else -1
    saved = spgemm_mod.DENSE_RATIO, spgemm_mod.DENSE_RATIO_SORTED, spgemm_mod.SPA_MAX_COLS
    spgemm_mod.DENSE_RATIO = spgemm_mod.DENSE_RATIO_SORTED = ratio
    spgemm_mod.SPA_MAX_COLS = spa_cols
    try:
        SETTINGS(given(spgemm_case())(run_spgemm_case))()
    finally:
        spgemm_mod.DENSE_RATIO, spgemm_mod.DENSE_RATIO_SORTED, spgemm_mod.SPA_MAX_COLS = saved


# --------------------------------------------------------------------------- #
# SpGEMM: targeted cases
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("dtype", VALUE_DTYPES + [np.int32])
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("sort_indices", [True, False])
def test_spgemm_long_rows_all_dtypes(dtype, index_dtype, sort_indices):
    # rows of C long enough for the radix sort (hash rows) and rows hitting
    # most columns of B (dense accumulator), plus empty rows
    rng = np.random.default_rng(3)
    (Ap, Aj, Ax), Aref, _ = random_csr(rng, (60, 300), 0.04, dtype, index_dtype)
    (Bp, Bj, Bx), Bref, _ = random_csr(rng, (300, 5000), 0.01, dtype, index_dtype)
    # row 0 of A: 250 entries hit nearly all of B's columns -> dense rows
    Aref = Aref.tolil()
    Aref[0, :250] = 1
    Aref[5, :] = 0
    Aref = Aref.tocsr()
    Ap, Aj, Ax = (Aref.indptr.astype(index_dtype), Aref.indices.astype(index_dtype),
                  Aref.data.astype(dtype))
    Cp, Cj, Cx = csr_spgemm(60, 5000, Ap, Aj, Ax, Bp, Bj, Bx, sort_indices=sort_indices)
    check_csr_output(Cp, Cj, Cx, 60, 5000, dtype, sort_indices)
    assert np.diff(Cp)[0] > 4000 and np.diff(Cp)[5] == 0
    assert_product_close(to_dense(Cp, Cj, Cx, (60, 5000)), (Aref @ Bref).toarray(),
                         abs_dense(Aref) @ abs_dense(Bref), dtype)


@pytest.mark.parametrize("sort_indices", [True, False])
def test_spgemm_dense_accumulator_rows(sort_indices):
    # A's rows hit most of B's columns (flops >> n_col): dense accumulator,
    # with many repeated columns to sum
    rng = np.random.default_rng(5)
    (Ap, Aj, Ax), Aref, _ = random_csr(rng, (12, 40), 0.9, np.float64, np.int32)
    (Bp, Bj, Bx), Bref, _ = random_csr(rng, (40, 30), 0.7, np.float64, np.int32)
    flops = np.bincount(np.repeat(np.arange(12), np.diff(Ap)), weights=np.diff(Bp)[Aj],
                        minlength=12)
    assert np.all(spgemm_mod.DENSE_RATIO * flops >= 30)
    Cp, Cj, Cx = csr_spgemm(12, 30, Ap, Aj, Ax, Bp, Bj, Bx, sort_indices=sort_indices)
    check_csr_output(Cp, Cj, Cx, 12, 30, np.float64, sort_indices)
    np.testing.assert_allclose(to_dense(Cp, Cj, Cx, (12, 30)), (Aref @ Bref).toarray(),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("sort_indices", [True, False])
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_spgemm_single_nonzero_rows(sort_indices, index_dtype):
    # each row of A has one entry: with a canonical B each row of C is a
    # scaled copy of a row of B (no hashing); checks the shortcut agrees
    rng = np.random.default_rng(7)
    n, k, m = 50, 20, 300
    Aref = sp.csr_array((rng.standard_normal(n), rng.integers(0, k, n), np.arange(n + 1)),
                        shape=(n, k))
    (Bp, Bj, Bx), Bref, _ = random_csr(rng, (k, m), 0.3, np.float64, index_dtype,
                                       canonical=True)
    Ap, Aj = Aref.indptr.astype(index_dtype), Aref.indices.astype(index_dtype)
    inputs = (Ap, Aj, Aref.data, Bp, Bj, Bx)
    before = snapshot(*inputs)
    res = csr_spgemm(n, m, *inputs, sort_indices=sort_indices, b_canonical=True)
    assert_unchanged(before, inputs)
    check_csr_output(*res, n, m, np.float64, sort_indices)
    np.testing.assert_allclose(to_dense(*res, (n, m)), (Aref @ Bref).toarray(), rtol=1e-14)
    # same answer without the shortcut
    ref = csr_spgemm(n, m, *inputs, sort_indices=True, b_canonical=False)
    np.testing.assert_array_equal(to_dense(*res, (n, m)), to_dense(*ref, (n, m)))
    # row nnz is B's row nnz
    np.testing.assert_array_equal(
        spgemm_row_nnz(n, m, Ap, Aj, Bp, Bj, b_canonical=True), np.diff(Bp)[Aj])


def test_spgemm_index_dtype_huge_nnz_without_allocating():
    # ones(n, 1) @ ones(1, n): nnz(C) = n**2 = 2_147_488_281 > 2**31 - 1.
    # The single-nonzero shortcut gives the row counts in O(n); C is never built.
    n = 46341
    Ap = np.arange(n + 1, dtype=np.int32)
    Aj = np.zeros(n, dtype=np.int32)
    Bp = np.array([0, n], dtype=np.int32)
    Bj = np.arange(n, dtype=np.int32)
    row_nnz = spgemm_row_nnz(n, n, Ap, Aj, Bp, Bj, b_canonical=True)
    assert row_nnz.dtype == np.int64
    assert np.all(row_nnz == n)
    assert int(row_nnz.sum()) == n * n > np.iinfo(np.int32).max
    assert spgemm_index_dtype(row_nnz, n) == np.int64
    assert spgemm_index_dtype(row_nnz[: n // 2], n) == np.int32


def test_spgemm_index_dtype_rules():
    assert spgemm_index_dtype(np.zeros(0, np.int64), 0) == np.int32
    assert spgemm_index_dtype(np.array([2**31 - 1], np.int64), 5) == np.int32
    assert spgemm_index_dtype(np.array([2**31 - 1, 1], np.int64), 5) == np.int64
    assert spgemm_index_dtype(np.array([3], np.int64), 2**31) == np.int64


def test_spgemm_huge_n_col_gives_int64_indices():
    # n_col > int32 max: C needs int64 column indices although nnz is tiny
    n_col = 2**31 + 10
    cols = np.array([5, 2**31 + 3, 7, 2**31 + 9, 2**31 + 3], dtype=np.int64)
    Bp = np.array([0, 2, 2, 5], dtype=np.int64)
    Bj = cols
    Bx = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    Ap = np.array([0, 2, 3], dtype=np.int64)
    Aj = np.array([2, 0, 2], dtype=np.int64)
    Ax = np.array([10.0, 100.0, 1.0])
    for sort_indices in (True, False):
        Cp, Cj, Cx = csr_spgemm(2, n_col, Ap, Aj, Ax, Bp, Bj, Bx, sort_indices=sort_indices)
        assert Cj.dtype == np.int64 and Cp.dtype == np.int64
        got = {(r, int(j)): v for r in range(2) for j, v in
               zip(Cj[Cp[r]:Cp[r + 1]], Cx[Cp[r]:Cp[r + 1]])}
        assert got == {(0, 7): 30.0, (0, 2**31 + 9): 40.0, (0, 2**31 + 3): 50.0 + 200.0,
                       (0, 5): 100.0, (1, 7): 3.0, (1, 2**31 + 9): 4.0, (1, 2**31 + 3): 5.0}


def test_spgemm_int64_input_small_result_gives_int32():
    rng = np.random.default_rng(1)
    (Ap, Aj, Ax), Aref, _ = random_csr(rng, (20, 15), 0.3, np.float64, np.int64)
    (Bp, Bj, Bx), Bref, _ = random_csr(rng, (15, 25), 0.3, np.float64, np.int64)
    Cp, Cj, Cx = csr_spgemm(20, 25, Ap, Aj, Ax, Bp, Bj, Bx)
    assert Cp.dtype == Cj.dtype == np.int32
    np.testing.assert_allclose(to_dense(Cp, Cj, Cx, (20, 25)), (Aref @ Bref).toarray(),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(0, 4, 5), (4, 0, 5), (4, 5, 0), (0, 0, 0), (3, 4, 5)])
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_spgemm_empty_edges(shape, index_dtype):
    # zero-size dimensions and nnz(A) = 0
    n, k, m = shape
    Ap = np.zeros(n + 1, index_dtype)
    Aj = np.zeros(0, index_dtype)
    Ax = np.zeros(0, np.float64)
    rng = np.random.default_rng(0)
    (Bp, Bj, Bx), _, _ = random_csr(rng, (k, m), 0.5, np.float64, index_dtype)
    for sort_indices in (True, False):
        Cp, Cj, Cx = csr_spgemm(n, m, Ap, Aj, Ax, Bp, Bj, Bx, sort_indices=sort_indices)
        check_csr_output(Cp, Cj, Cx, n, m, np.float64, sort_indices)
        assert Cj.size == 0
    assert spgemm_row_nnz(n, m, Ap, Aj, Bp, Bj).shape == (n,)


def test_spgemm_keeps_cancelled_entries():
    # [1 1] @ [[1], [-1]] = 0: structurally present, numerically zero -> kept
    Ap = np.array([0, 2], np.int32)
    Aj = np.array([1, 0], np.int32)
    Ax = np.array([1.0, 1.0])
    Bp = np.array([0, 1, 2], np.int32)
    Bj = np.array([0, 0], np.int32)
    Bx = np.array([1.0, -1.0])
    Cp, Cj, Cx = csr_spgemm(1, 1, Ap, Aj, Ax, Bp, Bj, Bx)
    assert Cp.tolist() == [0, 1] and Cj.tolist() == [0] and Cx.tolist() == [0.0]


@pytest.mark.parametrize("layout", ["uniform", "clustered"])
def test_sort_row_all_strategies(layout):
    # the row sort on its own: insertion (budgeted or not), bucket and radix
    # (clustered columns make the bucket pass give up), column spans needing
    # 1..5 radix passes
    rng = np.random.default_rng(11)
    m = spgemm_mod.INSERTION_MAX
    for n in (0, 1, 2, m, m + 1, 100, 3000):
        for span in (n, 300, 70000, 2**33):
            if span < n:
                continue
            if span <= 100000:
                keys = rng.permutation(span)[:n]
            else:
                keys = np.unique(rng.integers(0, span, size=2 * n + 10))
                rng.shuffle(keys)
                keys = keys[:n]
            if layout == "clustered" and n > 3:
                # all but two keys within a narrow range, the two extremes far apart
                keys = np.concatenate([[0, span], 10 * span + np.arange(n - 2)])
                rng.shuffle(keys)
            keys = (keys + 2**20).astype(np.int64)
            vals = rng.standard_normal(n)
            kmin = int(keys.min()) if n else 0
            kmax = int(keys.max()) if n else 0
            tk = np.empty(n, np.int64)
            tv = np.empty(n, np.float64)
            count = np.empty(max(256, 4 * n), np.int64)
            order = np.argsort(keys)
            for maybe_ordered in (False, True):
                k2, v2 = keys.copy(), vals.copy()
                spgemm_mod._sort_row(k2, v2, 0, n, kmin, kmax, tk, tv, count, maybe_ordered)
                np.testing.assert_array_equal(k2, keys[order])
                np.testing.assert_array_equal(v2, vals[order])
            # nearly sorted input: the budgeted insertion sort finishes it (two
            # neighbours swapped), or gives up and leaves it to the others (the
            # second and the last but one swapped: about 2n moves)
            for far in (False, True):
                k2, v2 = keys[order].copy(), vals[order].copy()
                if n > 3:
                    swap = [1, n - 2] if far else [1, 2]
                    k2[swap] = k2[swap[::-1]]
                    v2[swap] = v2[swap[::-1]]
                spgemm_mod._sort_row(k2, v2, 0, n, kmin, kmax, tk, tv, count, True)
                np.testing.assert_array_equal(k2, keys[order])
                np.testing.assert_array_equal(v2, vals[order])
            # radix sort on its own too
            k3, v3 = keys.copy(), vals.copy()
            spgemm_mod._radix_sort_pairs(k3, v3, 0, n, kmin, kmax - kmin, tk, tv, count)
            np.testing.assert_array_equal(k3, keys[order])
            np.testing.assert_array_equal(v3, vals[order])


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("value_dtype", [np.float32, np.float64, np.complex128])
def test_sort_rows_batches(index_dtype, value_dtype):
    # the batched row sort of the numeric pass: rows of every length class
    # (insertion, insertion in first-appearance order, rank, radix/bucket),
    # in hashed or nearly sorted order, flagged ordered or not; rows not in
    # the batch stay as they are
    rng = np.random.default_rng(12)
    m = spgemm_mod
    lengths = [0, 1, 2, m.INSERTION_MAX, m.INSERTION_MAX + 1, m.RANK_MAX, m.RANK_MAX + 1,
               m.ORDERED_INSERTION_MAX, m.ORDERED_INSERTION_MAX + 1, 300, 5000]
    rows_k, rows_v = [], []
    for n in lengths * 2:
        keys = rng.choice(2**20, size=n, replace=False)
        if rng.random() < 0.5:  # nearly sorted: sorted runs, as B's rows give
            keys = np.concatenate([np.sort(r) for r in np.array_split(keys, 3)])
        rows_k.append(keys)
        vals = rng.standard_normal(n)
        if np.iscomplexobj(value_dtype(0)):
            vals = vals + 1j * rng.standard_normal(n)
        rows_v.append(vals)
    Cp = np.concatenate([[0], np.cumsum([len(k) for k in rows_k])]).astype(index_dtype)
    Cj = np.concatenate(rows_k).astype(index_dtype)
    Cx = np.concatenate(rows_v).astype(value_dtype)
    nrow = len(rows_k)
    batch = np.array([i for i in range(nrow) if i % 5 != 3], dtype=np.int64)
    ordered = rng.random(batch.shape[0]) < 0.5
    ns = max(max(lengths), m.RANK_MAX)
    tk, tv = np.empty(ns, index_dtype), np.empty(ns, value_dtype)
    count = np.empty(max(2048, 4 * ns), np.int64)
    Cj2, Cx2 = Cj.copy(), Cx.copy()
    m._sort_rows(batch, np.int64(batch.shape[0]), ordered, Cp, Cj2, Cx2, tk, tv, count)
    for i in range(nrow):
        lo, hi = Cp[i], Cp[i + 1]
        order = np.argsort(Cj[lo:hi]) if i in batch else np.arange(hi - lo)
        np.testing.assert_array_equal(Cj2[lo:hi], Cj[lo:hi][order])
        np.testing.assert_array_equal(Cx2[lo:hi], Cx[lo:hi][order])


@two_threads
@pytest.mark.parametrize("sort_indices", [True, False])
def test_spgemm_same_result_for_1_and_2_threads(sort_indices):
    rng = np.random.default_rng(2)
    (Ap, Aj, Ax), _, _ = random_csr(rng, (400, 300), 0.03, np.float64, np.int32)
    (Bp, Bj, Bx), _, _ = random_csr(rng, (300, 500), 0.05, np.float64, np.int32)
    # heavy rows at the start skew the flop partition
    Ap2, Aj2, Ax2 = _with_dense_rows(Ap, Aj, Ax, 300, rows=3)
    out = []
    for nt in (1, 2):
        with config_context(num_threads=nt):
            out.append(csr_spgemm(400, 500, Ap2, Aj2, Ax2, Bp, Bj, Bx, sort_indices=sort_indices))
    for a, b in zip(*out):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


@SETTINGS
@given(st.lists(st.integers(0, 10**6) | st.just(0), max_size=200), st.integers(1, 8))
def test_balanced_chunks_match_prefix_sum_search(cost, nthreads):
    # the chunk-bound kernel against its NumPy definition: chunk c ends after
    # the first row where the prefix sum of cost + 1 reaches c * total / nchunks
    cost = np.asarray(cost, dtype=np.int64)
    bounds = spgemm_mod.balanced_chunks(cost, nthreads)
    nchunks = max(1, min(cost.size, spgemm_mod.CHUNKS_PER_THREAD * nthreads))
    cum = np.cumsum(cost + 1)
    ref = np.empty(nchunks + 1, dtype=np.int64)
    ref[0], ref[-1] = 0, cost.size
    if nchunks > 1:
        targets = np.arange(1, nchunks) * int(cum[-1]) // nchunks
        ref[1:-1] = np.minimum(np.searchsorted(cum, targets, side="left") + 1, cost.size)
    assert bounds.dtype == np.int64
    np.testing.assert_array_equal(bounds, ref)


@pytest.mark.parametrize("nt", [1, pytest.param(2, marks=two_threads)])
@pytest.mark.parametrize("sort_indices", [True, False])
def test_spgemm_thread_block_mixes_accumulators(nt, sort_indices):
    # A thread runs its chunks as one block with one set of scratch arrays:
    # the SPA's position marks and the stamp array are never reset between
    # chunks, and hash chunks run between SPA chunks. Each half of A starts
    # with heavy rows (their chunks take the SPA), then mostly empty rows
    # (hash tables), so every thread's block holds both kinds of chunk.
    rng = np.random.default_rng(11)
    k, n_col, heavy, light = 2000, 20000, 50, 50_000
    (Bp, Bj, Bx), Bref, Bpat = random_csr(rng, (k, n_col), 11 / n_col, np.float64, np.int32,
                                          canonical=True)
    half = heavy + light
    n_row = 2 * half
    counts = np.zeros(n_row, dtype=np.int64)
    for h in (0, half):
        counts[h:h + heavy] = 100
        counts[h + heavy:h + half:100] = 2
    rows = np.repeat(np.arange(n_row), counts)
    Aref = sp.csr_array((rng.standard_normal(rows.size), (rows, rng.integers(0, k, rows.size))),
                        shape=(n_row, k))
    Ap, Aj, Ax = Aref.indptr.astype(np.int32), Aref.indices.astype(np.int32), Aref.data
    flops = spgemm_mod._row_flops_on(n_row, Ap, Aj, Bp, 1)
    bounds = spgemm_mod.balanced_chunks(flops, nt)
    spa = [spgemm_mod._use_spa(bounds[c], bounds[c + 1], n_col, flops, spgemm_mod.SPA_MAX_COLS)
           for c in range(bounds.size - 1)]
    per_block = len(spa) // nt
    for t in range(nt):
        block = spa[t * per_block:(t + 1) * per_block]
        assert any(block) and not all(block)
    with config_context(num_threads=nt):
        Cp, Cj, Cx = csr_spgemm(n_row, n_col, Ap, Aj, Ax, Bp, Bj, Bx, sort_indices=sort_indices,
                                b_canonical=True)
    check_csr_output(Cp, Cj, Cx, n_row, n_col, np.float64, sort_indices)
    # structure: B's explicit zeros count (SciPy drops what they produce)
    Apat = sp.csr_array((np.ones(Aj.size), Aj, Ap), shape=Aref.shape)
    np.testing.assert_array_equal(np.diff(Cp), np.diff((Apat @ Bpat).indptr))
    got = sp.csr_array((Cx, Cj, Cp), shape=(n_row, n_col))
    assert abs(got - Aref @ Bref).max() < 1e-12


@pytest.mark.parametrize("dtype", [np.float64, np.complex64])
def test_spgemm_dense_rows_with_repeated_columns(dtype, monkeypatch):
    # Dense rows whose products hit each column >= REPEAT_SPA times take the
    # SPA in SPA chunks (unsorted), the branch-free append elsewhere: the
    # same entries in the same order either way (so whatever the chunking),
    # with SciPy's values.
    rng = np.random.default_rng(4)
    n_row, k, n_col, pool = 4000, 300, 500, 40
    (Ap, Aj, Ax), _, _ = random_csr(rng, (n_row, k), 0.05, dtype, np.int32)
    Ap, Aj, Ax = _with_dense_rows(Ap, Aj, Ax, k, rows=30)
    cols = rng.choice(n_col, pool, replace=False)[rng.integers(0, pool, 20 * k)]
    Bref = sp.csr_array((_values(rng, cols.size, dtype), (np.repeat(np.arange(k), 20), cols)),
                        shape=(k, n_col))
    Bref.sum_duplicates()
    Bp, Bj, Bx = Bref.indptr.astype(np.int32), Bref.indices.astype(np.int32), Bref.data
    flops = spgemm_mod._row_flops_on(n_row, Ap, Aj, Bp, 1)

    def product(nt):
        with config_context(num_threads=nt):
            return csr_spgemm(n_row, n_col, Ap, Aj, Ax, Bp, Bj, Bx, sort_indices=False,
                              b_canonical=True)

    out = [product(1)]
    if numba.config.NUMBA_NUM_THREADS >= 2:
        out.append(product(2))
    monkeypatch.setattr(spgemm_mod, "SPA_MAX_COLS", -1)  # no SPA chunk: append only
    out.append(product(1))
    Cp, Cj, Cx = out[0]
    nnz = np.diff(Cp)
    # the setup: dense rows that repeat their columns >= REPEAT_SPA times,
    # not emitted by scan (n_col > 2 nnz)
    assert np.all(spgemm_mod.REPEAT_SPA * nnz[:30] <= flops[:30])
    assert np.all(n_col > 2 * nnz[:30])
    for other in out[1:]:
        for a, b in zip(out[0], other):
            np.testing.assert_array_equal(a, b)
    check_csr_output(Cp, Cj, Cx, n_row, n_col, dtype, False)
    Aref = sp.csr_array((Ax, Aj, Ap), shape=(n_row, k))
    # the symbolic pass counts these rows with a branch (after one such row)
    Apat = sp.csr_array((np.ones(Aj.size), Aj, Ap), shape=(n_row, k))
    Bpat = sp.csr_array((np.ones(Bj.size), Bj, Bp), shape=(k, n_col))
    np.testing.assert_array_equal(nnz, np.diff((Apat @ Bpat).indptr))
    assert_product_close(to_dense(Cp, Cj, Cx, (n_row, n_col)), (Aref @ Bref).toarray(),
                         abs_dense(Aref) @ abs_dense(Bref), dtype)


@pytest.mark.parametrize("nt", [1, pytest.param(2, marks=two_threads)])
@pytest.mark.parametrize("sort_indices", [True, False])
@pytest.mark.parametrize("dtype,index_dtype", [(np.float64, np.int32), (np.complex64, np.int64)])
def test_spgemm_prefetching_kernels_match(nt, sort_indices, dtype, index_dtype, monkeypatch):
    # The passes that prefetch the rows of B (chosen for large B read in
    # scattered order) are separate compiled kernels: forced on here for a
    # product that is not large, they give the same arrays, bit for bit, as
    # the kernels that do not prefetch, and SciPy's values. A has unsorted
    # and repeated columns, dense rows (column-indexed accumulators) and
    # sparse ones (hash tables), and B empty rows (prefetches at the end of B).
    rng = np.random.default_rng(12)
    n_row, k, n_col = 3000, 2000, 40000
    (Ap, Aj, Ax), Aref, _ = random_csr(rng, (n_row, k), 0.006, dtype, index_dtype)
    Ap, Aj, Ax = _with_dense_rows(Ap, Aj, Ax, k, rows=5)
    Aref = sp.csr_array((Ax, Aj, Ap), shape=(n_row, k))
    _, Bref, _ = random_csr(rng, (k, n_col), 0.0004, dtype, index_dtype, canonical=True)
    Bref = sp.csr_array(sp.vstack([Bref[:k - 50], sp.csr_array((50, n_col), dtype=dtype)]))
    Bref.sort_indices()
    Bp, Bj, Bx = (Bref.indptr.astype(index_dtype), Bref.indices.astype(index_dtype),
                  Bref.data.astype(dtype))
    assert np.all(np.diff(Bp)[-50:] == 0)
    b_bytes = Bj.nbytes + Bx.nbytes

    def product():
        with config_context(num_threads=nt):
            return csr_spgemm(n_row, n_col, Ap, Aj, Ax, Bp, Bj, Bx, sort_indices=sort_indices,
                              b_canonical=True)

    assert not worth_prefetching(Ap, Aj, k, b_bytes)  # B is small
    plain = product()
    monkeypatch.setattr(prefetch_mod, "MIN_BYTES", 0)
    assert worth_prefetching(Ap, Aj, k, b_bytes)  # random A: scattered reads
    fetched = product()
    for a, b in zip(plain, fetched):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    Cp, Cj, Cx = fetched
    check_csr_output(Cp, Cj, Cx, n_row, n_col, dtype, sort_indices)
    got = sp.csr_array((Cx, Cj, Cp), shape=(n_row, n_col))
    assert abs(got - Aref @ Bref).max() < 100 * tolerance(dtype)
    # the symbolic pass alone (spgemm_row_nnz) prefetches too
    with config_context(num_threads=nt):
        row_nnz = spgemm_row_nnz(n_row, n_col, Ap, Aj, Bp, Bj, b_canonical=True)
    np.testing.assert_array_equal(row_nnz, np.diff(Cp))


def test_scattered_reads_tells_meshes_from_random_graphs():
    from sparsela.generators import erdos_renyi, poisson2d

    mesh = poisson2d(200)  # rows read their neighbours' rows: in order
    assert not scattered_reads(mesh.indptr, mesh.indices, 60.0)
    graph = erdos_renyi(4096, 16, rng=0)
    assert scattered_reads(graph.indptr, graph.indices, 200.0)
    # ... unless the rows read are tiny: 4096 rows of one byte fit in a page
    assert not scattered_reads(graph.indptr, graph.indices, 1.0 / 4096)
    for Ap, Aj in [(np.zeros(1, np.int32), np.zeros(0, np.int32)),  # no rows
                   (np.zeros(6, np.int64), np.zeros(0, np.int64)),  # empty rows
                   (np.array([0, 3], np.int32), np.array([5, 1, 9], np.int32))]:  # one row
        assert scattered_reads(Ap, Aj, 1e6) is False


def _with_dense_rows(Ap, Aj, Ax, k, rows):
    """Make the first ``rows`` rows of a CSR matrix full (columns 0..k-1)."""
    counts = np.diff(Ap).astype(np.int64)
    start = int(Ap[rows])
    counts[:rows] = k
    Ap2 = np.zeros_like(Ap)
    np.cumsum(counts, out=Ap2[1:])
    Aj2 = np.concatenate([np.tile(np.arange(k, dtype=Aj.dtype), rows), Aj[start:]])
    Ax2 = np.concatenate([np.ones(rows * k, Ax.dtype), Ax[start:]])
    return Ap2, Aj2, Ax2


# --------------------------------------------------------------------------- #
# SpMV / SpMM: hypothesis
# --------------------------------------------------------------------------- #
@st.composite
def dense_case(draw):
    return dict(
        n_row=draw(dims), n_col=draw(dims), m=draw(st.integers(0, 6)),
        density=draw(st.floats(0, 1)),
        dtype=draw(st.sampled_from(ALL_KERNEL_DTYPES)),
        index_dtype=draw(st.sampled_from(INDEX_DTYPES)),
        order=draw(st.sampled_from("CF")),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def dense_operand(rng, shape, dtype, order="C"):
    return np.asarray(_values(rng, int(np.prod(shape)), dtype, 0.1).reshape(shape), order=order)


@SETTINGS
@given(dense_case())
def test_spmv_spmm_random(c):
    rng = np.random.default_rng(c["seed"])
    dt = c["dtype"]
    n, k, m = c["n_row"], c["n_col"], c["m"]
    (Ap, Aj, Ax), ref, _ = random_csr(rng, (n, k), c["density"], dt, c["index_dtype"])
    absA = abs_dense(ref)
    x = dense_operand(rng, (k,), dt)
    xt = dense_operand(rng, (n,), dt)
    X = dense_operand(rng, (k, m), dt, c["order"])
    Xt = dense_operand(rng, (n, m), dt, c["order"])
    before = snapshot(Ap, Aj, Ax, x, xt, X, Xt)

    y = garbage_like(n, dt)
    csr_spmv(Ap, Aj, Ax, x, y)
    assert_product_close(y, ref @ x, absA @ abs(x), dt)
    y = garbage_like(k, dt)
    csr_spmv_t(Ap, Aj, Ax, xt, y)
    assert_product_close(y, ref.T @ xt, absA.T @ abs(xt), dt)
    Y = garbage_like((n, m), dt)
    csr_spmm(Ap, Aj, Ax, X, Y)
    assert_product_close(Y, ref @ X, absA @ abs(X), dt)
    Y = garbage_like((k, m), dt)
    csr_spmm_t(Ap, Aj, Ax, Xt, Y)
    assert_product_close(Y, ref.T @ Xt, absA.T @ abs(Xt), dt)
    assert_unchanged(before, (Ap, Aj, Ax, x, xt, X, Xt))


@pytest.mark.parametrize("nt", [1, pytest.param(2, marks=two_threads)])
@pytest.mark.parametrize("m,order", [(3, "C"), (16, "C"), (40, "C"), (70, "F")])
@pytest.mark.parametrize("dtype", [np.float64, np.complex64])
def test_spmm_prefetching_kernel_matches(nt, m, order, dtype, monkeypatch):
    # The row kernel that prefetches rows of X (chosen for a large X read in
    # scattered order) is a separate compiled kernel: forced on here for a
    # small product, it gives the same bits as the one that does not, through
    # the C-order path, the F-order panels (70 columns: a panel of 64 and
    # one of 6) and the four-entries-a-pass loop with its remainders.
    rng = np.random.default_rng(5)
    n, k = 700, 900
    (Ap, Aj, Ax), ref, _ = random_csr(rng, (n, k), 0.02, dtype, np.int32)
    X = dense_operand(rng, (k, m), dtype, order)
    before = snapshot(Ap, Aj, Ax, X)

    def product():
        Y = garbage_like((n, m), dtype)
        with config_context(num_threads=nt):
            csr_spmm(Ap, Aj, Ax, X, Y)
        return Y

    assert not worth_prefetching(Ap, Aj, k, X.nbytes)  # X is small
    plain = product()
    monkeypatch.setattr(prefetch_mod, "MIN_BYTES", 0)
    assert worth_prefetching(Ap, Aj, k, X.nbytes)
    fetched = product()
    np.testing.assert_array_equal(fetched, plain)
    assert_product_close(fetched, ref @ X, abs_dense(ref) @ abs(X), dtype)
    assert_unchanged(before, (Ap, Aj, Ax, X))


@st.composite
def bsr_case(draw):
    return dict(
        n_brow=draw(st.integers(0, 8)), n_bcol=draw(st.integers(0, 8)),
        R=draw(st.integers(1, 4)), C=draw(st.integers(1, 4)), m=draw(st.integers(0, 5)),
        density=draw(st.floats(0, 1)),
        dtype=draw(st.sampled_from(ALL_KERNEL_DTYPES)),
        index_dtype=draw(st.sampled_from(INDEX_DTYPES)),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def random_bsr(rng, n_brow, n_bcol, R, C, density, dtype, index_dtype):
    """Raw BSR arrays with repeated, unsorted block columns; dense oracle."""
    nb = int(round(density * n_brow * n_bcol)) if n_brow and n_bcol else 0
    nb += nb // 3  # repeats
    brow = np.sort(rng.integers(0, n_brow, nb)) if nb else np.zeros(0, np.int64)
    bcol = rng.integers(0, n_bcol, nb) if nb else np.zeros(0, np.int64)
    blocks = _values(rng, nb * R * C, dtype).reshape(nb, R, C)
    Ap = np.zeros(n_brow + 1, index_dtype)
    np.cumsum(np.bincount(brow, minlength=n_brow), out=Ap[1:])
    dense = np.zeros((n_brow * R, n_bcol * C), dtype=dtype)
    rr = (brow[:, None, None] * R + np.arange(R)[None, :, None]) + 0 * np.arange(C)
    cc = (bcol[:, None, None] * C + np.arange(C)[None, None, :]) + 0 * np.arange(R)[:, None]
    np.add.at(dense, (rr, cc), blocks)
    return (Ap, bcol.astype(index_dtype), blocks), dense


@SETTINGS
@given(bsr_case())
def test_bsr_spmv_spmm_random(c):
    rng = np.random.default_rng(c["seed"])
    dt, R, C = c["dtype"], c["R"], c["C"]
    (Ap, Aj, Ax), dense = random_bsr(rng, c["n_brow"], c["n_bcol"], R, C, c["density"], dt,
                                     c["index_dtype"])
    n, k = dense.shape
    x = dense_operand(rng, (k,), dt)
    X = dense_operand(rng, (k, c["m"]), dt)
    before = snapshot(Ap, Aj, Ax, x, X)
    y = garbage_like(n, dt)
    bsr_spmv(R, C, Ap, Aj, Ax, x, y)
    bound = abs(dense).astype(np.float64)
    assert_product_close(y, dense @ x, bound @ abs(x), dt)
    Y = garbage_like((n, c["m"]), dt)
    bsr_spmm(R, C, Ap, Aj, Ax, X, Y)
    assert_product_close(Y, dense @ X, bound @ abs(X), dt)
    assert_unchanged(before, (Ap, Aj, Ax, x, X))


def test_bsr_matches_scipy_bsr():
    rng = np.random.default_rng(4)
    D = (rng.random((12, 15)) < 0.3) * rng.standard_normal((12, 15))
    B = sp.bsr_array(D, blocksize=(3, 5))
    x = rng.standard_normal(15)
    X = rng.standard_normal((15, 4))
    y = np.empty(12)
    Y = np.empty((12, 4))
    bsr_spmv(3, 5, B.indptr, B.indices, B.data, x, y)
    bsr_spmm(3, 5, B.indptr, B.indices, B.data, X, Y)
    np.testing.assert_allclose(y, B @ x, rtol=1e-12)
    np.testing.assert_allclose(Y, B @ X, rtol=1e-12)


# --------------------------------------------------------------------------- #
# transposed products: every strategy, and thread-count independence
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("shape, density", [((40000, 6), 0.5), ((3000, 2500), 0.004),
                                            ((5, 7), 0.5)],
                         ids=["tall-private-copies", "scatter", "tiny"])
@pytest.mark.parametrize("dtype", [np.float64, np.complex64, np.int32])
@pytest.mark.parametrize("order", ["C", "F"])
def test_transposed_products_strategies(shape, density, dtype, order):
    rng = np.random.default_rng(9)
    (Ap, Aj, Ax), ref, _ = random_csr(rng, shape, density, dtype, np.int64)
    absA = abs_dense(ref)
    xt = dense_operand(rng, (shape[0],), dtype)
    Xt = dense_operand(rng, (shape[0], 7), dtype, order)
    results = []
    for nt in (1, 2) if numba.config.NUMBA_NUM_THREADS >= 2 else (1,):
        with config_context(num_threads=nt):
            y = garbage_like(shape[1], dtype)
            csr_spmv_t(Ap, Aj, Ax, xt, y)
            Y = garbage_like((shape[1], 7), dtype)
            csr_spmm_t(Ap, Aj, Ax, Xt, Y)
        assert_product_close(y, ref.T @ xt, absA.T @ abs(xt), dtype)
        assert_product_close(Y, ref.T @ Xt, absA.T @ abs(Xt), dtype)
        results.append((y, Y))
    for a, b in zip(results[0], results[-1]):
        np.testing.assert_array_equal(a, b)  # bit-identical for 1 and 2 threads


@two_threads
@pytest.mark.parametrize("order", ["C", "F"])
def test_products_same_result_for_1_and_2_threads(order):
    rng = np.random.default_rng(8)
    (Ap, Aj, Ax), _, _ = random_csr(rng, (3000, 2000), 0.005, np.float32, np.int32)
    x = dense_operand(rng, (2000,), np.float32)
    X = dense_operand(rng, (2000, 7), np.float32, order)
    out = []
    for nt in (1, 2):
        with config_context(num_threads=nt):
            y = np.empty(3000, np.float32)
            Y = np.empty((3000, 7), np.float32)
            csr_spmv(Ap, Aj, Ax, x, y)
            csr_spmm(Ap, Aj, Ax, X, Y)
            out.append((y, Y))
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- #
# real matrices
# --------------------------------------------------------------------------- #
def real_files():
    if not REAL_DIR.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(
            reason=f"real test matrices not found: {REAL_DIR} is absent (it lives beside "
                   "the project as ../shared/data and is not shipped with sparsela)"))]
    return sorted(p.name for p in REAL_DIR.glob("*.mtx"))


def load_real(name):
    if name is None or not REAL_DIR.is_dir():
        pytest.skip(f"real test matrices not found: {REAL_DIR} is absent")
    A = sp.csr_array(scipy.io.mmread(REAL_DIR / name))
    if A.dtype not in [np.dtype(d) for d in ALL_KERNEL_DTYPES]:
        A = A.astype(np.float64 if A.dtype.kind in "biuf" else np.complex128)
    A.sum_duplicates()
    return A


def assert_sparse_close(C, ref, bound_max, dtype):
    """``C`` (may keep cancelled zeros) against SciPy's ``ref``, without densifying."""
    diff = (C - ref).tocsr()
    diff.eliminate_zeros()
    if np.dtype(dtype).kind in "iu":
        assert diff.nnz == 0
    elif diff.nnz:
        assert abs(diff).max() <= tolerance(dtype) * bound_max


@pytest.mark.parametrize("name", real_files())
def test_real_matrices(name):
    A = load_real(name)
    dt = A.dtype
    n, k = A.shape
    absA = abs(A).astype(np.float64)
    args = (A.indptr, A.indices, A.data)
    before = snapshot(*args)
    products = [A.T.tocsr()] + ([A] if n == k else [])
    for B in products:
        bound = (absA @ abs(B).astype(np.float64)).max() if A.nnz and B.nnz else 0.0
        ref = A @ B
        for sort_indices in (True, False):
            Cp, Cj, Cx = csr_spgemm(n, B.shape[1], *args, B.indptr, B.indices, B.data,
                                    sort_indices=sort_indices, b_canonical=True)
            check_csr_output(Cp, Cj, Cx, n, B.shape[1], dt, sort_indices)
            C = sp.csr_array((Cx, Cj, Cp), shape=(n, B.shape[1]))
            assert_sparse_close(C, ref, bound, dt)
    rng = np.random.default_rng(0)
    X = dense_operand(rng, (k, 7), dt)
    x = X[:, 0].copy()
    Y = garbage_like((n, 7), dt)
    csr_spmm(*args, X, Y)
    assert_product_close(Y, A @ X, absA @ abs(X), dt)
    y = garbage_like(n, dt)
    csr_spmv(*args, x, y)
    assert_product_close(y, A @ x, absA @ abs(x), dt)
    # A.T @ x through A's CSR arrays (the CSC path)
    Xt = dense_operand(rng, (n, 7), dt)
    Yt = garbage_like((k, 7), dt)
    csr_spmm_t(*args, Xt, Yt)
    assert_product_close(Yt, A.T @ Xt, absA.T @ abs(Xt), dt)
    yt = garbage_like(k, dt)
    csr_spmv_t(*args, Xt[:, 0].copy(), yt)
    assert_product_close(yt, A.T @ Xt[:, 0], absA.T @ abs(Xt[:, 0]), dt)
    assert_unchanged(before, args)


# --------------------------------------------------------------------------- #
# SpGEMM: heavy rows split across threads (spgemm_heavy.py)
# --------------------------------------------------------------------------- #
def test_heavy_rows_criterion():
    from sparsela.backends.cpu import spgemm_heavy as heavy_mod

    flops = np.array([0, 10, 5000, 70000, 300000, 200000], dtype=np.int64)
    total = int(flops.sum()) + flops.size
    # more than a chunk's share (total / (chunks * nparts)), >= HEAVY_MIN_FLOPS and >= n_col
    assert heavy_mod.heavy_rows(flops, total, 100, 2, 4).tolist() == [4, 5]
    assert total // 8 < 200000 and total // 16 < 70000
    assert heavy_mod.heavy_rows(flops, total, 100, 4, 4).tolist() == [3, 4, 5]
    # fewer products than columns
    assert heavy_mod.heavy_rows(flops, total, 250000, 4, 4).tolist() == [4]
    assert heavy_mod.heavy_rows(flops, total, 100, 1, 4).size == 0  # one part: no split
    assert heavy_mod.heavy_rows(np.zeros(0, np.int64), 0, 100, 4, 4).size == 0
    assert heavy_mod.heavy_rows(flops, total, 100, 2, 4).dtype == np.int64
    # the parts: at most the pool and HEAVY_MAX_PARTS; fewer for wide rows (memory)
    parts = heavy_mod.heavy_parts(1000, 8)
    assert 1 <= parts <= min(numba.config.NUMBA_NUM_THREADS, heavy_mod.HEAVY_MAX_PARTS)
    assert heavy_mod.heavy_parts(heavy_mod.HEAVY_MAX_BYTES // 9, 8) == 1
    assert heavy_mod.heavy_parts(heavy_mod.HEAVY_MAX_BYTES, 16) == 0


def _heavy_case(rng, dtype, index_dtype, n_row, k, n_col, heavy_rows, b_canonical):
    """A with dense rows (unsorted, repeated columns, explicit zeros) at
    ``heavy_rows`` and sparse ones elsewhere; B with empty rows at its end."""
    (Ap, Aj, Ax), _, _ = random_csr(rng, (n_row, k), 0.003, dtype, index_dtype)
    rows = [np.arange(Ap[i], Ap[i + 1]) for i in range(n_row)]
    cols = [Aj[r] for r in rows]
    vals = [Ax[r] for r in rows]
    for i in heavy_rows:
        c = np.concatenate([rng.permutation(k)[: k - 3], rng.integers(0, k, 40)])
        cols[i] = c.astype(index_dtype)
        vals[i] = _values(rng, c.size, dtype)
    Ap = np.zeros(n_row + 1, dtype=index_dtype)
    np.cumsum([c.size for c in cols], out=Ap[1:])
    Aj, Ax = np.concatenate(cols).astype(index_dtype), np.concatenate(vals).astype(dtype)
    (Bp, Bj, Bx), _, _ = random_csr(rng, (k, n_col), 0.05, dtype, index_dtype,
                                       canonical=b_canonical)
    Bp = Bp.copy()
    Bp[k - 20:] = Bp[k - 20]  # the last 20 rows of B empty
    Bj, Bx = Bj[: Bp[-1]], Bx[: Bp[-1]]
    return (Ap, Aj, Ax), (Bp, Bj, Bx)


@pytest.mark.parametrize("nparts", [2, 3])
@pytest.mark.parametrize("sort_indices", [True, False])
@pytest.mark.parametrize("dtype,index_dtype,b_canonical", [
    (np.float64, np.int32, True), (np.complex128, np.int64, False),
    (np.float32, np.int32, False), (np.int64, np.int64, True)])
def test_spgemm_heavy_rows_split(nparts, sort_indices, dtype, index_dtype, b_canonical,
                                 monkeypatch):
    # Rows with a large share of the products are cut into parts (by A's
    # entries) accumulated apart and gathered by column ranges. Forced here
    # on a small product (any number of parts, also more than threads): the
    # result is SciPy's, heavy rows come out sorted even unsorted, inputs
    # are unchanged, and 1 and 2 threads give the same bits.
    from sparsela.backends.cpu import _jit
    from sparsela.backends.cpu import spgemm_heavy as heavy_mod

    rng = np.random.default_rng(21)
    n_row, k, n_col = 300, 400, 500
    heavy = [0, 7, 8, 150, 299]
    (Ap, Aj, Ax), (Bp, Bj, Bx) = _heavy_case(rng, dtype, index_dtype, n_row, k, n_col, heavy,
                                             b_canonical)
    monkeypatch.setattr(heavy_mod, "HEAVY_MIN_FLOPS", 1)
    monkeypatch.setattr(spgemm_mod, "heavy_parts", lambda n_col, itemsize: nparts)
    monkeypatch.setattr(_jit, "PARALLEL_MIN_WORK", 0)  # not the one-call small path
    flops = spgemm_mod._row_flops_on(n_row, Ap, Aj, Bp, 1)
    total = int(flops.sum()) + n_row
    assert heavy_mod.heavy_rows(flops, total, n_col, nparts,
                                spgemm_mod.CHUNKS_PER_THREAD).tolist() == heavy
    before = snapshot(Ap, Aj, Ax, Bp, Bj, Bx)
    out = []
    for nt in [1, 2] if numba.config.NUMBA_NUM_THREADS >= 2 else [1]:
        with config_context(num_threads=nt):
            out.append(csr_spgemm(n_row, n_col, Ap, Aj, Ax, Bp, Bj, Bx,
                                  sort_indices=sort_indices, b_canonical=b_canonical))
    assert_unchanged(before, [Ap, Aj, Ax, Bp, Bj, Bx])
    Cp, Cj, Cx = out[0]
    for a, b in zip(out[0], out[-1]):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    check_csr_output(Cp, Cj, Cx, n_row, n_col, dtype, sort_indices)
    for i in heavy:
        assert np.all(np.diff(Cj[Cp[i]:Cp[i + 1]].astype(np.int64)) > 0)
    Aref = sp.csr_array((Ax, Aj, Ap), shape=(n_row, k))
    Bref = sp.csr_array((Bx, Bj, Bp), shape=(k, n_col))
    expect = (Aref @ Bref).toarray()
    bound = (abs(Aref) @ abs(Bref)).toarray()
    assert_product_close(to_dense(Cp, Cj, Cx, (n_row, n_col)), expect, bound, dtype)
    # the structure: every column some product reaches, explicit zeros kept
    pattern = (sp.csr_array((np.ones(Aj.size), Aj, Ap), shape=(n_row, k))
               @ sp.csr_array((np.ones(Bj.size), Bj, Bp), shape=(k, n_col)))
    np.testing.assert_array_equal(np.diff(Cp), np.diff(pattern.indptr))
    # the same as the product with no row split
    monkeypatch.setattr(spgemm_mod, "heavy_parts", lambda n_col, itemsize: 1)
    whole = csr_spgemm(n_row, n_col, Ap, Aj, Ax, Bp, Bj, Bx, sort_indices=True,
                       b_canonical=b_canonical)
    np.testing.assert_array_equal(whole[0], Cp)
    if sort_indices:
        np.testing.assert_array_equal(whole[1], Cj)


@pytest.mark.parametrize("n_col", [1, 2, 5])
def test_spgemm_heavy_rows_narrower_than_parts(n_col, monkeypatch):
    # fewer columns than parts: some column ranges are empty
    from sparsela.backends.cpu import _jit
    from sparsela.backends.cpu import spgemm_heavy as heavy_mod

    rng = np.random.default_rng(22)
    (Ap, Aj, Ax), (Bp, Bj, Bx) = _heavy_case(rng, np.float64, np.int32, 40, 300, n_col, [3],
                                             True)
    Bx = Bx.copy()
    Bx[::3] = 0.0  # explicit zeros in B too
    monkeypatch.setattr(heavy_mod, "HEAVY_MIN_FLOPS", 1)
    monkeypatch.setattr(spgemm_mod, "heavy_parts", lambda n_col, itemsize: 4)
    monkeypatch.setattr(_jit, "PARALLEL_MIN_WORK", 0)
    for sort_indices in (True, False):
        Cp, Cj, Cx = csr_spgemm(40, n_col, Ap, Aj, Ax, Bp, Bj, Bx, sort_indices=sort_indices,
                                b_canonical=True)
        check_csr_output(Cp, Cj, Cx, 40, n_col, np.float64, sort_indices)
        Aref = sp.csr_array((Ax, Aj, Ap), shape=(40, 300))
        Bref = sp.csr_array((Bx, Bj, Bp), shape=(300, n_col))
        np.testing.assert_allclose(to_dense(Cp, Cj, Cx, (40, n_col)), (Aref @ Bref).toarray(),
                                   rtol=1e-12, atol=1e-12)


@two_threads
def test_spgemm_vector_times_matrix_splits_by_default():
    # one row of A (a sparse vector times a matrix) is all of the product:
    # without the split it would run on one thread. Default thresholds.
    import sparsela as sl
    from sparsela.backends.cpu import spgemm_heavy as heavy_mod

    rng = np.random.default_rng(23)
    n = 4096
    _, Bref, _ = random_csr(rng, (n, n), 32 / n, np.float64, np.int32,
                            canonical=True)
    m = 3 * n // 4
    a = sp.csr_array((rng.standard_normal(m), (np.zeros(m, int), rng.choice(n, m, replace=False))),
                     shape=(1, n))
    flops = spgemm_mod._row_flops_on(1, a.indptr, a.indices, Bref.indptr, 1)
    assert heavy_mod.heavy_rows(flops, int(flops[0]) + 1, n, 2,
                                spgemm_mod.CHUNKS_PER_THREAD).tolist() == [0]
    A, B = sl.csr_array(a), sl.csr_array(Bref)
    res = []
    for nt in (1, 2):
        with config_context(num_threads=nt):
            res.append([sl.spgemm(A, B, sort_indices=s) for s in (True, False)])
    for C1, C2 in zip(*res):
        np.testing.assert_array_equal(C1.indices, C2.indices)
        np.testing.assert_array_equal(C1.data, C2.data)
    ref = (a @ Bref).toarray()
    np.testing.assert_allclose(res[0][0].toarray(), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(res[0][0].indices, res[0][1].indices)  # sorted either way
