"""Semiring and masked SpGEMM, SDDMM and top-k SpGEMM against dense NumPy references.

The references work on the *structure* as GraphBLAS defines it: a position of
an operand exists when it is stored (explicit zeros included, duplicates are
one position whose value is their sum), and C[i, j] exists when some k has
A[i, k] and B[k, j] stored. They are built from SciPy copies of the inputs
(never from sparsela), on inputs with duplicates, unsorted rows, explicit
zeros, empty rows/columns, 0-sized dimensions and int32/int64 indices.
"""
from __future__ import annotations

import contextlib
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
from conftest import (
    FORMATS,
    _values,
    assert_close,
    assert_unchanged,
    coo_triplets,
    dense_operand,
    force_parallel,
    make_scipy,
    make_sparsela,
    matmul_pair,
    raw_arrays,
)
from hypothesis import given
from hypothesis import strategies as st

import sparsela as sl
from sparsela.backends.cpu import masked as masked_kernels
from sparsela.backends.cpu import semiring as semiring_kernels
from sparsela.backends.cpu import topk as topk_kernels
from sparsela.backends.cpu.spgemm import CHUNKS_PER_THREAD, _row_flops_on

SEMIRING_NAMES = ("plus_times", "min_plus", "max_plus", "max_min", "or_and")
ORDERED = ("min_plus", "max_plus", "max_min")
REAL_DTYPES = tuple(np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int64, np.bool_))
ANY_DTYPES = REAL_DTYPES + (np.dtype(np.complex64), np.dtype(np.complex128))
ANY_FMT = st.sampled_from(FORMATS)


# --------------------------------------------------------------------------- #
# dense references
# --------------------------------------------------------------------------- #
def pattern(t, fmt: str) -> np.ndarray:
    """Stored positions of the triplets as ``fmt`` holds them (a BSR block stores
    all its entries), from SciPy's copy."""
    S = make_scipy(t, fmt).tocoo()
    pat = np.zeros(t.shape, dtype=bool)
    pat[S.row, S.col] = True
    return pat


def stored(C) -> np.ndarray:
    """Stored positions of a result, checking that no position repeats."""
    C = C.tocsr() if C.format != "csr" else C
    pat = np.zeros(C.shape, dtype=bool)
    rows = np.repeat(np.arange(C.shape[0]), np.diff(C.indptr))
    assert not np.any(pat[rows, C.indices]), "repeated position"
    pat[rows, C.indices] = True
    assert pat.sum() == C.nnz, "repeated position in a row"
    return pat


_BOOL_OPS = {"plus": np.logical_or, "times": np.logical_and, "min": np.logical_and,
             "max": np.logical_or, "or": np.logical_or, "and": np.logical_and}
_OPS = {"plus": np.add, "times": np.multiply, "min": np.fmin, "max": np.fmax}


def semiring_reference(Ad, Ap, Bd, Bp, name: str):
    """(values, pattern) of A (+).(x) B with GraphBLAS structure, densely."""
    add, mul = name.split("_")
    if name == "or_and":
        Ad, Bd = Ad != 0, Bd != 0
    dt = np.result_type(Ad.dtype, Bd.dtype)
    valid = Ap[:, :, None] & Bp[None, :, :]
    pat = valid.any(axis=1)
    if dt == np.bool_:
        addf, mulf = _BOOL_OPS[add], _BOOL_OPS[mul]
        P = mulf(Ad[:, :, None], Bd[None, :, :])
        vals = addf.reduce(P, axis=1, where=valid, initial=add in ("min", "and"))
    else:
        addf, mulf = _OPS[add], _OPS[mul]
        with np.errstate(over="ignore", invalid="ignore"):
            P = mulf(Ad[:, :, None], Bd[None, :, :]).astype(dt)
            if add == "plus":
                init = 0
            else:
                big = np.inf if dt.kind == "f" else np.iinfo(dt).max
                init = big if add == "min" else (-big if dt.kind == "f" else np.iinfo(dt).min)
            vals = addf.reduce(P, axis=1, where=valid, initial=init)
    return np.where(pat, vals, 0).astype(dt), pat


def dense_pair(a, b, ka, kb):
    return make_scipy(a, ka).toarray(), pattern(a, ka), make_scipy(b, kb).toarray(), pattern(b, kb)


def check_result(C, exp_vals, exp_pat, *dtypes, sorted_rows=True):
    assert C.shape == exp_pat.shape
    assert C.dtype == exp_vals.dtype, (C.dtype, exp_vals.dtype)
    C.check_format(full_check=True)
    np.testing.assert_array_equal(stored(C), exp_pat)
    assert_close(C.toarray(), exp_vals, *dtypes)
    if sorted_rows:
        assert C.has_canonical_format
        Cr = C if C.format == "csr" else C.tocsr()
        for i in range(Cr.shape[0]):
            assert np.all(np.diff(Cr.indices[Cr.indptr[i]:Cr.indptr[i + 1]]) > 0)


@contextlib.contextmanager
def masked_path(path: str):
    """Force every row of a masked product onto one path of the cost model;
    "row-hash" also makes the row-wise path (and the complement's exclusion)
    look mask columns up in hash tables instead of column stamps."""
    with pytest.MonkeyPatch.context() as mp:
        if path == "row-hash":
            mp.setattr(masked_kernels, "MARK_MAX_COLS", 0)
            mp.setattr(semiring_kernels, "MARK_MAX_COLS", 0)
        if path == "dot":
            mp.setattr(masked_kernels, "DOT_COST", 0.0)
            mp.setattr(masked_kernels, "TRANSPOSE_COST", -1.0)
        else:
            mp.setattr(masked_kernels, "DOT_COST", 1e30)
        yield


# --------------------------------------------------------------------------- #
# semirings
# --------------------------------------------------------------------------- #
@st.composite
def semiring_case(draw):
    name = draw(st.sampled_from(SEMIRING_NAMES))
    dtypes = REAL_DTYPES if name in ORDERED else ANY_DTYPES
    a, b = draw(matmul_pair(dtypes=dtypes))
    return name, a, b


@given(case=semiring_case(), ka=ANY_FMT, kb=ANY_FMT, sort=st.booleans())
def test_semiring_matches_dense(case, ka, kb, sort):
    name, a, b = case
    A, B = make_sparsela(a, ka), make_sparsela(b, kb)
    sa, sb = raw_arrays(A), raw_arrays(B)
    C = sl.spgemm(A, B, semiring=name, sort_indices=sort)
    vals, pat = semiring_reference(*dense_pair(a, b, ka, kb), name)
    check_result(C, vals, pat, a.dtype, b.dtype, sorted_rows=sort or name == "plus_times")
    assert isinstance(C, sl.csc_array if ka == kb == "csc" else sl.csr_array)
    assert_unchanged(A, sa, "A")
    assert_unchanged(B, sb, "B")


@given(case=semiring_case())
def test_semiring_threads_agree(case):
    name, a, b = case
    A, B = make_sparsela(a, "csr"), make_sparsela(b, "csr")
    with force_parallel():
        with sl.config_context(num_threads=1):
            C1 = sl.spgemm(A, B, semiring=name)
        with sl.config_context(num_threads=2):
            C2 = sl.spgemm(A, B, semiring=name)
    np.testing.assert_array_equal(C1.indptr, C2.indptr)
    np.testing.assert_array_equal(C1.indices, C2.indices)
    np.testing.assert_array_equal(C1.data, C2.data)


@pytest.mark.parametrize("name,complement", [("min_plus", False), ("max_min", False),
                                             ("min_plus", True), ("plus_times", True)])
def test_semiring_prefetching_kernel_matches(name, complement, monkeypatch):
    # The semiring numeric kernel that prefetches B's rows (chosen for a large
    # B read in scattered order) is a separate compiled variant: forced on for
    # small random operands it gives the same bits as the one that does not,
    # with and without an excluded pattern (a complemented mask).
    from sparsela.backends.cpu import _prefetch

    rng = np.random.default_rng(9)
    a = sp.random_array((300, 200), density=0.05, format="csr", rng=rng)
    b = sp.random_array((200, 400), density=0.05, format="csr", rng=rng)
    m = sp.random_array((300, 400), density=0.1, format="csr", rng=rng)
    A, B, M = (sl.csr_array(x) for x in (a, b, m))
    kw = {"mask": M, "complement": True} if complement else {}
    plain = sl.spgemm(A, B, semiring=name, **kw)
    monkeypatch.setattr(_prefetch, "MIN_BYTES", 0)
    monkeypatch.setattr(_prefetch, "FAR_BYTES", 0)
    assert _prefetch.worth_prefetching(a.indptr, a.indices, 200, b.indices.nbytes)
    fetched = sl.spgemm(A, B, semiring=name, **kw)
    for x, y in ((plain.indptr, fetched.indptr), (plain.indices, fetched.indices),
                 (plain.data, fetched.data)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("name,dtype", [("min_plus", np.float64), ("max_min", np.float32),
                                        ("max_plus", np.int32), ("or_and", np.bool_),
                                        ("plus_times", np.complex128)])
@pytest.mark.parametrize("sort", [True, False])
def test_semiring_dense_and_hashed_rows_agree(name, dtype, sort, monkeypatch):
    # Rows with many products per column of C accumulate in column-indexed
    # arrays, the others by their position in C, found in a column array or
    # a hash table. Forced each way in turn: the same bits in the same order
    # (all emit first-appearance order and fold ⊕ in A's stored order), NaN
    # products included, with and without a complemented mask, on 1 and 2
    # threads; and the dense reference.
    rng = np.random.default_rng(33)
    a = sp.random_array((80, 120), density=0.08, format="csr", rng=rng)
    b = sp.random_array((120, 150), density=0.08, format="csr", rng=rng)
    m = sp.random_array((80, 150), density=0.2, format="csr", rng=rng)
    a, b = (sp.csr_array((_values(rng, x.nnz, np.dtype(dtype), 0.15), x.indices, x.indptr),
                         shape=x.shape) for x in (a, b))
    A, B, M = sl.csr_array(a), sl.csr_array(b), sl.csr_array(m)
    if np.dtype(dtype).kind == "f":
        An = a.copy()
        An.data[::5] = np.nan
        An = sl.csr_array(An)
    for kw in ({}, {"mask": M, "complement": True}):
        if name == "plus_times" and not kw:
            continue  # the tuned kernel
        results = []
        # every row by column position (SPA), by hash table, then dense
        for ratio, mark_cols in ((0, 1 << 20), (0, 0), (1 << 40, 1 << 20)):
            monkeypatch.setattr(semiring_kernels, "DENSE_RATIO", ratio)
            monkeypatch.setattr(semiring_kernels, "MARK_MAX_COLS", mark_cols)
            with force_parallel():
                for nt in (1, 2):
                    with sl.config_context(num_threads=nt):
                        results.append([sl.spgemm(X, B, semiring=name, sort_indices=sort, **kw)
                                        for X in ((A, An) if np.dtype(dtype).kind == "f"
                                                  else (A,))])
        for res in results[1:]:
            for C, D in zip(results[0], res):
                np.testing.assert_array_equal(C.indptr, D.indptr)
                np.testing.assert_array_equal(C.indices, D.indices)
                np.testing.assert_array_equal(C.data, D.data)
        vals, pat = semiring_reference(a.toarray(), stored(a), b.toarray(), stored(b),
                                       name)
        if kw:
            keep = ~stored(m)
            vals, pat = np.where(keep, vals, 0).astype(vals.dtype), pat & keep
        check_result(results[0][0], vals, pat, a.dtype, b.dtype, sorted_rows=sort)


# plus_times without a mask runs the tuned kernel (its own heavy-row tests)
_HEAVY_SEMIRING_CASES = [
    (name, dtype, complement)
    for name, dtype in [("min_plus", np.float64), ("max_plus", np.int64),
                        ("max_min", np.float32), ("or_and", np.bool_),
                        ("plus_times", np.float64), ("plus_times", np.complex128)]
    for complement in (False, True) if complement or name != "plus_times"]


@pytest.mark.parametrize("nparts", [2, 3])
@pytest.mark.parametrize("name,dtype,complement", _HEAVY_SEMIRING_CASES)
def test_semiring_heavy_rows_split(nparts, name, dtype, complement, monkeypatch):
    # Rows with a large share of the products are split across threads as in
    # the plain product (spgemm_heavy.py), here over a semiring and with a
    # complemented mask: forced on a small product, the result is the dense
    # reference, split rows come out sorted whether asked or not, 1 and 2
    # threads give the same bits, and min/max/or give the same bits as the
    # unsplit rows (the parts fold in A's stored order).
    from sparsela.backends.cpu import spgemm_heavy

    rng = np.random.default_rng(31)
    n_row, k, n_col = 60, 300, 200
    heavy = [0, 17, 59]
    a = sp.random_array((n_row, k), density=0.02, format="lil", rng=rng)
    for i in heavy:
        a[i, rng.permutation(k)[: k - 10]] = 1.0
    a = a.tocsr()
    b = sp.random_array((k, n_col), density=0.05, format="csr", rng=rng)
    m = sp.random_array((n_row, n_col), density=0.3, format="csr", rng=rng)
    # values with explicit zeros (explicit False for bool)
    a, b = (sp.csr_array((_values(rng, x.nnz, np.dtype(dtype), 0.15), x.indices, x.indptr),
                         shape=x.shape) for x in (a, b))
    A, B, M = sl.csr_array(a), sl.csr_array(b), sl.csr_array(m)
    kw = {"mask": M, "complement": True} if complement else {}
    monkeypatch.setattr(spgemm_heavy, "HEAVY_MIN_FLOPS", 1)
    monkeypatch.setattr(semiring_kernels, "heavy_parts", lambda n_col, itemsize: nparts)
    flops = _row_flops_on(n_row, a.indptr, a.indices, b.indptr, 1)
    assert spgemm_heavy.heavy_rows(flops, int(flops.sum()) + n_row, n_col, nparts,
                                   CHUNKS_PER_THREAD).tolist() == heavy
    sa, sb = raw_arrays(A), raw_arrays(B)
    out = []
    with force_parallel():
        for nt, sort in ((1, True), (2, True), (2, False)):
            with sl.config_context(num_threads=nt):
                out.append(sl.spgemm(A, B, semiring=name, sort_indices=sort, **kw))
    assert_unchanged(A, sa, "A")
    assert_unchanged(B, sb, "B")
    C = out[0]
    for D in out[1:2]:
        np.testing.assert_array_equal(C.indptr, D.indptr)
        np.testing.assert_array_equal(C.indices, D.indices)
        np.testing.assert_array_equal(C.data, D.data)
    vals, pat = semiring_reference(a.toarray(), stored(a), b.toarray(), stored(b), name)
    if complement:
        keep = ~stored(m)
        vals, pat = np.where(keep, vals, 0).astype(vals.dtype), pat & keep
    check_result(C, vals, pat, a.dtype, b.dtype)
    U = out[2]  # unsorted: the split rows are sorted all the same
    np.testing.assert_array_equal(U.indptr, C.indptr)
    for i in heavy:
        row = U.indices[U.indptr[i]:U.indptr[i + 1]]
        np.testing.assert_array_equal(row, C.indices[C.indptr[i]:C.indptr[i + 1]])
    # the same as without the split: bit for bit where ⊕ is exact, also
    # with NaN products (min/max ignore them: the parts' fold must too)
    if np.dtype(dtype).kind == "f":
        a.data[::7] = np.nan
        A = sl.csr_array(a)
    with force_parallel(), sl.config_context(num_threads=2):
        split = sl.spgemm(A, B, semiring=name, **kw)
        monkeypatch.setattr(semiring_kernels, "heavy_parts", lambda n_col, itemsize: 1)
        whole = sl.spgemm(A, B, semiring=name, **kw)
    np.testing.assert_array_equal(whole.indptr, split.indptr)
    np.testing.assert_array_equal(whole.indices, split.indices)
    if name != "plus_times":
        np.testing.assert_array_equal(whole.data, split.data)


@pytest.mark.parametrize("kind", ["masked_row", "masked_table", "topk", "topk_table"])
def test_masked_and_topk_prefetching_kernels_match(kind, monkeypatch):
    # The masked (row-wise path) and top-k kernels that prefetch B's rows are
    # separate compiled variants too: forced on, the same bits as without,
    # on 1 and 2 threads, with the column stamp and (n_col past the stamp's
    # limit) with hash tables. A has rows long enough to reach the prefetch.
    from sparsela.backends.cpu import _jit, _prefetch
    from sparsela.backends.cpu import masked as masked_mod
    from sparsela.backends.cpu import topk as topk_mod

    rng = np.random.default_rng(10)
    a = sp.random_array((300, 200), density=0.15, format="csr", rng=rng)
    b = sp.random_array((200, 400), density=0.05, format="csr", rng=rng)
    m = sp.random_array((300, 400), density=0.1, format="csr", rng=rng)
    A, B, M = (sl.csr_array(x) for x in (a, b, m))
    if kind.endswith("table"):
        monkeypatch.setattr(masked_mod, "MARK_MAX_COLS", 10)
        monkeypatch.setattr(topk_mod, "MARK_MAX_COLS", 10)
    if kind.startswith("masked"):
        def run():
            return sl.spgemm(A, B, mask=M)
    else:
        def run():
            return sl.spgemm_topk(A, B, 5)
    monkeypatch.setattr(_jit, "PARALLEL_MIN_WORK", 0)  # chunks on both threads
    out = {}
    for pf in (False, True):
        if pf:
            monkeypatch.setattr(_prefetch, "MIN_BYTES", 0)
            monkeypatch.setattr(_prefetch, "FAR_BYTES", 0)
        assert _prefetch.worth_prefetching(a.indptr, a.indices, 200, b.indices.nbytes) is pf
        for nt in (1, 2):
            with sl.config_context(num_threads=nt):
                out[pf, nt] = run()
    ref = (a @ b).toarray()
    if kind.startswith("masked"):
        np.testing.assert_allclose(out[True, 2].toarray(), ref * (m.toarray() != 0),
                                   rtol=1e-12, atol=1e-12)
    for key, C in out.items():
        for x, y in ((out[False, 1].indptr, C.indptr), (out[False, 1].indices, C.indices),
                     (out[False, 1].data, C.data)):
            np.testing.assert_array_equal(x, y, err_msg=str(key))


def test_semiring_structure_not_zeros():
    """Absent entries take no part; stored zeros do (min_plus shortest paths)."""
    # A = [[0 (stored), absent], [absent, 5]], B = [[1, absent], [2, 3]]
    A = sl.csr_array((np.array([0.0, 5.0]), np.array([0, 1]), np.array([0, 1, 2])), shape=(2, 2))
    B = sp.csr_array(np.array([[1.0, 0.0], [2.0, 3.0]]))
    C = sl.spgemm(A, B, semiring="min_plus")
    # C[0, 0] = 0 + 1 (A[0, 1] absent, not 0 + 2); C[0, 1]: no path -> absent
    np.testing.assert_array_equal(stored(C), [[True, False], [True, True]])
    np.testing.assert_array_equal(C.toarray(), [[1.0, 0.0], [7.0, 8.0]])
    Cmax = sl.spgemm(A, B, semiring=("max", "min"))
    np.testing.assert_array_equal(Cmax.toarray(), [[0.0, 0.0], [2.0, 3.0]])
    # or_and: a stored explicit zero is False, so the entry exists but is False
    Cb = sl.spgemm(A, B, semiring="or_and")
    assert Cb.dtype == np.bool_
    np.testing.assert_array_equal(stored(Cb), [[True, False], [True, True]])
    np.testing.assert_array_equal(Cb.toarray(), [[False, False], [True, True]])


def test_semiring_duplicates_sum_first():
    """An operand's value at a position is the sum of its duplicates (as toarray)."""
    A = sl.coo_array((np.array([1.0, 2.0, 10.0]), (np.array([0, 0, 0]), np.array([0, 0, 1]))),
                     shape=(1, 2))
    B = sl.csr_array(np.array([[1.0], [1.0]]))
    assert sl.spgemm(A, B, semiring="min_plus").toarray()[0, 0] == 4.0  # min(3 + 1, 10 + 1)
    assert sl.spgemm(A, B, semiring="max_plus").toarray()[0, 0] == 11.0


def test_min_max_ignore_nan():
    A = sl.csr_array(np.array([[np.nan, 1.0]]))
    B = sl.csr_array(np.array([[2.0], [3.0]]))
    assert sl.spgemm(A, B, semiring="min_plus").toarray()[0, 0] == 4.0
    assert sl.spgemm(A, B, semiring="max_plus").toarray()[0, 0] == 4.0
    assert np.isnan(sl.spgemm(A, B).toarray()[0, 0])


def test_semiring_unsigned_and_small_ints_keep_order():
    big = np.iinfo(np.uint64).max
    A = sl.csr_array((np.array([big, 1], dtype=np.uint64), np.array([0, 1]),
                      np.array([0, 2])), shape=(1, 2))
    B = sl.csr_array((np.array([0, 0], dtype=np.uint64), np.array([0, 0]), np.array([0, 1, 2])),
                     shape=(2, 1))
    assert sl.spgemm(A, B, semiring="max_plus").toarray()[0, 0] == big
    assert sl.spgemm(A, B, semiring="min_plus").toarray()[0, 0] == 1
    A8 = sl.csr_array(np.array([[-3, 2]], dtype=np.int8))
    B8 = sl.csr_array(np.array([[1], [-7]], dtype=np.int8))
    C = sl.spgemm(A8, B8, semiring="min_plus")
    assert C.dtype == np.int8 and C.toarray()[0, 0] == -5


def test_semiring_tuple_and_case_aliases():
    A = sp.random_array((6, 5), density=0.4, random_state=1, format="csr")
    B = sp.random_array((5, 7), density=0.4, random_state=2, format="csr")
    C1 = sl.spgemm(A, B, semiring="max_min")
    C2 = sl.spgemm(A, B, semiring=("max", "min"))
    C3 = sl.spgemm(A, B, semiring="MAX_MIN")
    for C in (C2, C3):
        np.testing.assert_array_equal(C.indptr, C1.indptr)
        np.testing.assert_array_equal(C.data, C1.data)


def test_plus_times_without_mask_uses_the_tuned_kernel(monkeypatch):
    from sparsela.backends.cpu import semiring
    from sparsela.backends.cpu import spgemm as tuned

    calls = []
    orig = tuned.csr_spgemm
    monkeypatch.setattr(tuned, "csr_spgemm", lambda *a, **k: calls.append(1) or orig(*a, **k))
    monkeypatch.setattr(semiring, "csr_spgemm_semiring",
                        lambda *a, **k: pytest.fail("semiring kernel used for plus_times"))
    A = sp.random_array((8, 8), density=0.3, random_state=3, format="csr")
    C = sl.spgemm(A, A, semiring="plus_times")
    assert calls == [1]
    assert_close(C.toarray(), (A @ A).toarray())
    C = sl.spgemm(A, A, semiring=("plus", "times"))
    assert calls == [1, 1]


def test_semiring_errors():
    A = sl.csr_array(np.eye(3))
    with pytest.raises(ValueError, match="semiring must be one of.*'min_plus'.*'or_and'"):
        sl.spgemm(A, A, semiring="min_times")
    with pytest.raises(ValueError, match="semiring"):
        sl.spgemm(A, A, semiring=("min",))
    with pytest.raises(ValueError, match="semiring"):
        sl.spgemm(A, A, semiring=3)
    Z = sl.csr_array(np.eye(3, dtype=np.complex128))
    for name in ORDERED:
        with pytest.raises(TypeError, match="complex"):
            sl.spgemm(Z, A, semiring=name)
    # complex is fine where nothing is ordered
    assert sl.spgemm(Z, Z, semiring="or_and").dtype == np.bool_
    assert sl.spgemm(Z, Z, mask=A).dtype == np.complex128
    with pytest.raises(ValueError, match="dimension mismatch"):
        sl.spgemm(A, sl.csr_array(np.eye(4)), semiring="min_plus")


def test_semiring_int64_column_ids():
    """Columns beyond int32 give int64 indices; nothing is sized by n_col."""
    n = 2**31 + 5
    A = sl.csr_array((np.array([1.0, 2.0]), np.array([0, 1]), np.array([0, 2])), shape=(1, 2))
    B = sl.csr_array((np.array([3.0, 4.0]), np.array([n - 1, 7], dtype=np.int64),
                      np.array([0, 1, 2])), shape=(2, n))
    C = sl.spgemm(A, B, semiring="min_plus")
    assert C.indices.dtype == np.int64 and C.shape == (1, n)
    np.testing.assert_array_equal(C.indices, [7, n - 1])
    np.testing.assert_array_equal(C.data, [6.0, 4.0])
    M = sl.csr_array((np.array([1.0]), np.array([n - 1], dtype=np.int64), np.array([0, 1])),
                     shape=(1, n))
    for complement, cols, vals in ((False, [n - 1], [3.0]), (True, [7], [8.0])):
        Cm = sl.spgemm(A, B, mask=M, complement=complement)
        assert Cm.indices.dtype == np.int64
        np.testing.assert_array_equal(Cm.indices, cols)
        np.testing.assert_array_equal(Cm.data, vals)


# --------------------------------------------------------------------------- #
# masks
# --------------------------------------------------------------------------- #
@st.composite
def masked_case(draw):
    name = draw(st.sampled_from(SEMIRING_NAMES))
    dtypes = REAL_DTYPES if name in ORDERED else ANY_DTYPES
    a, b = draw(matmul_pair(dtypes=dtypes))
    m = draw(coo_triplets(shape=(a.shape[0], b.shape[1])))
    return name, a, b, m


@pytest.mark.parametrize("path", ["row", "row-hash", "dot"])
@given(case=masked_case(), ka=ANY_FMT, kb=ANY_FMT, km=ANY_FMT, complement=st.booleans())
def test_masked_matches_dense(path, case, ka, kb, km, complement):
    name, a, b, m = case
    A, B, M = make_sparsela(a, ka), make_sparsela(b, kb), make_sparsela(m, km)
    snaps = [(X, raw_arrays(X)) for X in (A, B, M)]
    with masked_path(path):
        C = sl.spgemm(A, B, mask=M, complement=complement, semiring=name)
    vals, pat = semiring_reference(*dense_pair(a, b, ka, kb), name)
    mpat = pattern(m, km)
    keep = pat & (~mpat if complement else mpat)
    check_result(C, np.where(keep, vals, 0).astype(vals.dtype), keep, a.dtype, b.dtype)
    for X, snap in snaps:
        assert_unchanged(X, snap)


@given(case=masked_case(), complement=st.booleans())
def test_masked_paths_and_threads_agree_exactly(case, complement):
    """Row-wise and dot paths fold in the same order: bit-identical results,
    for 1 and 2 threads; a SciPy mask gives the same result."""
    name, a, b, m = case
    A, B, M = make_sparsela(a, "csr"), make_sparsela(b, "csr"), make_sparsela(m, "coo")
    results = []
    with force_parallel():
        for path in ("row", "row-hash", "dot"):
            for nt in (1, 2):
                with masked_path(path), sl.config_context(num_threads=nt):
                    results.append(sl.spgemm(A, B, mask=M, complement=complement,
                                             semiring=name))
    results.append(sl.spgemm(A, B, mask=make_scipy(m, "coo"), complement=complement,
                             semiring=name))
    first = results[0]
    for C in results[1:]:
        np.testing.assert_array_equal(C.indptr, first.indptr)
        np.testing.assert_array_equal(C.indices, first.indices)
        np.testing.assert_array_equal(C.data, first.data)


def test_mask_explicit_zeros_count_and_values_do_not():
    A = sl.csr_array(np.array([[1.0, 2.0], [3.0, 4.0]]))
    # mask stores an explicit zero at (0, 1) and a 0.0/duplicate pair at (1, 0)
    M = sl.coo_array((np.array([0.0, 5.0, -5.0]), (np.array([0, 1, 1]), np.array([1, 0, 0]))),
                     shape=(2, 2))
    C = sl.spgemm(A, A, mask=M)
    np.testing.assert_array_equal(stored(C), [[False, True], [True, False]])
    np.testing.assert_array_equal(C.toarray(), [[0.0, 10.0], [15.0, 0.0]])
    Cc = sl.spgemm(A, A, mask=M, complement=True)
    np.testing.assert_array_equal(Cc.toarray(), [[7.0, 0.0], [0.0, 22.0]])


def test_mask_empty_rows_and_shapes():
    A = sl.csr_array(np.ones((3, 4)))
    B = sl.csr_array(np.ones((4, 5)))
    empty = sl.csr_array((3, 5))
    C = sl.spgemm(A, B, mask=empty)
    assert C.nnz == 0 and C.shape == (3, 5)
    Cc = sl.spgemm(A, B, mask=empty, complement=True)
    np.testing.assert_array_equal(Cc.toarray(), np.full((3, 5), 4.0))
    Z = sl.spgemm(sl.csr_array((0, 4)), B, mask=sl.csr_array((0, 5)))
    assert Z.shape == (0, 5) and Z.nnz == 0
    Z = sl.spgemm(sl.csr_array((3, 0)), sl.csr_array((0, 5)), mask=sl.csr_array(np.ones((3, 5))))
    assert Z.shape == (3, 5) and Z.nnz == 0


def test_mask_errors():
    A = sl.csr_array(np.eye(3))
    with pytest.raises(ValueError, match="mask must have the shape"):
        sl.spgemm(A, A, mask=sl.csr_array(np.eye(4)))
    with pytest.raises(TypeError, match="mask must be a sparse array"):
        sl.spgemm(A, A, mask=np.eye(3))
    with pytest.raises(ValueError, match="complement=True needs a mask"):
        sl.spgemm(A, A, complement=True)
    with pytest.raises(TypeError, match="complement must be a bool"):
        sl.spgemm(A, A, mask=A, complement="yes")


def test_mask_cost_model_picks_dot_for_a_tiny_mask():
    """A few mask entries against dense rows: the dot path is cheaper per row,
    and pays for the transpose of B."""
    rng = np.random.default_rng(0)
    n = 300
    A = sp.random_array((n, n), density=0.3, random_state=rng, format="csr")
    Ms = sp.csr_array((np.ones(n), (np.arange(n), rng.integers(0, n, n))), shape=(n, n))
    idx = np.int32
    Ap, Aj = A.indptr.astype(idx), A.indices.astype(idx)
    Mp, Mj = Ms.indptr.astype(idx), Ms.indices.astype(idx)
    row, dot = masked_kernels.masked_row_costs(n, Ap, Aj, Ap, Aj, Mp, Mj, n, 1)
    assert np.all(dot < row)
    C = sl.spgemm(A, A, mask=Ms)
    E = (A @ A).toarray() * (Ms.toarray() != 0)
    assert_close(C.toarray(), E)


# --------------------------------------------------------------------------- #
# SDDMM
# --------------------------------------------------------------------------- #
SDDMM_DTYPES = (np.float32, np.float64, np.complex64, np.complex128, np.int64, np.bool_)


@given(t=coo_triplets(max_dim=25), fmt=ANY_FMT, k=st.integers(0, 6),
       xdt=st.sampled_from(SDDMM_DTYPES), ydt=st.sampled_from(SDDMM_DTYPES))
def test_sddmm_matches_dense(t, fmt, k, xdt, ydt):
    M = make_sparsela(t, fmt)
    snap = raw_arrays(M)
    X = dense_operand((t.shape[0], k), xdt, seed=1)
    Y = dense_operand((t.shape[1], k), ydt, seed=2, order="F")
    X0, Y0 = X.copy(), Y.copy()
    with force_parallel():
        C = sl.sddmm(M, X, Y)
        with sl.config_context(num_threads=1):
            C1 = sl.sddmm(M, X, Y)
    pat = pattern(t, fmt)
    full = X @ Y.T
    check_result(C, np.where(pat, full, 0).astype(full.dtype), pat, full.dtype)
    assert isinstance(C, sl.csr_array)
    np.testing.assert_array_equal(C.data, C1.data)
    assert_unchanged(M, snap, "M")
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)


def test_sddmm_no_conjugation_and_buffers_not_shared():
    M = sl.csr_array(np.array([[1.0, 0.0], [1.0, 1.0]]))
    X = np.array([[1j, 2.0], [1.0, 1.0]])
    Y = np.array([[1j, 0.0], [0.0, 1j]])
    C = sl.sddmm(M, X, Y)
    assert C.toarray()[0, 0] == -1.0  # 1j * 1j, not 1j * conj(1j)
    assert C.indices is not M.indices and not np.shares_memory(C.indices, M.indices)
    C.indices[0] = 1
    assert M.indices[0] == 0


def test_sddmm_errors():
    M = sl.csr_array(np.eye(3, 4))
    X, Y = np.ones((3, 2)), np.ones((4, 2))
    with pytest.raises(TypeError, match="M must be a sparse array"):
        sl.sddmm(np.eye(3, 4), X, Y)
    with pytest.raises(TypeError, match="X must be numeric"):
        sl.sddmm(M, np.full((3, 2), "a"), Y)
    with pytest.raises(ValueError, match="X must be a 2-D"):
        sl.sddmm(M, np.ones(3), Y)
    with pytest.raises(ValueError, match="Y must be a 2-D"):
        sl.sddmm(M, X, np.ones((4, 2, 1)))
    with pytest.raises(ValueError, match="X must have M.shape\\[0\\] = 3 rows"):
        sl.sddmm(M, np.ones((4, 2)), Y)
    with pytest.raises(ValueError, match="Y must have M.shape\\[1\\] = 4 rows"):
        sl.sddmm(M, X, np.ones((3, 2)))
    with pytest.raises(ValueError, match="same number of columns"):
        sl.sddmm(M, X, np.ones((4, 3)))


# --------------------------------------------------------------------------- #
# top-k
# --------------------------------------------------------------------------- #
def topk_reference(vals, pat, k, lower_bound):
    """Per row: [(col, value)] of the k best stored entries, value descending,
    ties by column; NaN never, only values > lower_bound."""
    rows = []
    for i in range(pat.shape[0]):
        cols = np.flatnonzero(pat[i])
        v = vals[i, cols]
        ok = ~np.isnan(v) if v.dtype.kind == "f" else np.ones(v.shape, bool)
        if lower_bound is not None:
            ok &= v > lower_bound
        cols, v = cols[ok], v[ok]
        order = np.lexsort((cols, -v.astype(np.float64)))[:k]
        rows.append((cols[order], v[order]))
    return rows


@pytest.mark.parametrize("acc", ["stamp", "hash"])
@given(pair=matmul_pair(dtypes=REAL_DTYPES), ka=ANY_FMT, kb=ANY_FMT, k=st.integers(1, 6),
       lower_bound=st.sampled_from([None, 0, 0.5, -1.5, 2]), sort=st.booleans())
def test_topk_matches_dense(acc, pair, ka, kb, k, lower_bound, sort):
    a, b = pair
    A, B = make_sparsela(a, ka), make_sparsela(b, kb)
    sa, sb = raw_arrays(A), raw_arrays(B)
    with pytest.MonkeyPatch.context() as mp:
        if acc == "hash":
            mp.setattr(topk_kernels, "MARK_MAX_COLS", 0)
        C = sl.spgemm_topk(A, B, k, lower_bound=lower_bound, sort=sort)
    vals, pat = semiring_reference(*dense_pair(a, b, ka, kb), "plus_times")
    assert isinstance(C, sl.csr_array) and C.dtype == vals.dtype and C.shape == pat.shape
    C.check_format(full_check=True)
    for i, (cols, v) in enumerate(topk_reference(vals, pat, k, lower_bound)):
        got_c = C.indices[C.indptr[i]:C.indptr[i + 1]]
        got_v = C.data[C.indptr[i]:C.indptr[i + 1]]
        if not sort:
            order = np.argsort(got_c)
            got_c, got_v = got_c[order], got_v[order]
            o2 = np.argsort(cols)
            cols, v = cols[o2], v[o2]
        np.testing.assert_array_equal(got_c, cols, err_msg=f"row {i}")
        np.testing.assert_array_equal(got_v, v, err_msg=f"row {i}")
    assert_unchanged(A, sa, "A")
    assert_unchanged(B, sb, "B")


@given(pair=matmul_pair(dtypes=[np.float64, np.int64]), k=st.integers(1, 4))
def test_topk_threads_agree(pair, k):
    a, b = pair
    A, B = make_sparsela(a, "csr"), make_sparsela(b, "csr")
    out = []
    with force_parallel():
        for nt in (1, 2):
            with sl.config_context(num_threads=nt):
                out.append(sl.spgemm_topk(A, B, k))
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(out[0], name), getattr(out[1], name))


def test_topk_ties_nan_and_large_k():
    A = sl.csr_array(np.array([[1.0, 1.0, 1.0]]))
    B = sl.csr_array(np.array([[1.0, 0.0, 2.0, 0.0, 1.0],
                               [0.0, 0.0, 0.0, 0.0, 0.0],
                               [0.0, np.nan, 0.0, 3.0, 0.0]]))
    C = sl.spgemm_topk(A, B, 3)
    np.testing.assert_array_equal(C.indices, [3, 2, 0])  # 3, 2, then tie 1 vs 1: column 0
    np.testing.assert_array_equal(C.data, [3.0, 2.0, 1.0])
    C = sl.spgemm_topk(A, B, 10**9)  # larger than any row: every non-NaN entry
    np.testing.assert_array_equal(C.indices, [3, 2, 0, 4])
    assert sl.spgemm_topk(A, B, 2, lower_bound=np.inf).nnz == 0
    assert sl.spgemm_topk(A, B, 2, lower_bound=np.nan).nnz == 0
    np.testing.assert_array_equal(sl.spgemm_topk(A, B, 5, lower_bound=1.0).indices, [3, 2])


def test_topk_cosine_similarity_use_case():
    rng = np.random.default_rng(5)
    X = sp.random_array((60, 40), density=0.2, random_state=rng, format="csr")
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1))).ravel()
    norms[norms == 0] = 1
    Xn = sp.csr_array(sp.diags_array(1 / norms) @ X)
    C = sl.spgemm_topk(Xn, Xn.T, 5, lower_bound=0.1)
    S = (Xn @ Xn.T).toarray()
    for i in range(60):
        row = C.data[C.indptr[i]:C.indptr[i + 1]]
        cand = np.sort(S[i][S[i] > 0.1])[::-1][:5]
        np.testing.assert_allclose(row, cand, rtol=1e-12)
        if X[[i]].nnz:
            assert math.isclose(row[0], 1.0)  # a row is most similar to itself


def test_topk_errors():
    A = sl.csr_array(np.eye(3))
    for bad in (0, -2):
        with pytest.raises(ValueError, match="k must be a positive integer"):
            sl.spgemm_topk(A, A, bad)
    for bad in (1.5, True, "3", None):
        with pytest.raises(TypeError, match="k must be a positive integer"):
            sl.spgemm_topk(A, A, bad)
    assert sl.spgemm_topk(A, A, np.int64(2)).nnz == 3
    with pytest.raises(TypeError, match="complex"):
        sl.spgemm_topk(sl.csr_array(np.eye(3, dtype=complex)), A, 2)
    with pytest.raises(TypeError, match="lower_bound must be a real number"):
        sl.spgemm_topk(A, A, 2, lower_bound=1j)
    with pytest.raises(ValueError, match="dimension mismatch"):
        sl.spgemm_topk(A, sl.csr_array(np.eye(2)), 2)


# --------------------------------------------------------------------------- #
# real matrices
# --------------------------------------------------------------------------- #
MAX_REAL_FLOPS = 3_000_000


def _real_operands(path: Path):
    S = scipy.io.mmread(path)
    if not sp.issparse(S):
        pytest.skip(f"{path.name} is dense")
    A = sp.csr_array(S)
    if A.dtype.kind == "c":
        A = sp.csr_array(abs(A))
    A = A.astype(np.float64)
    B = sp.csr_array(A.T)  # A @ A.T: square, defined for any shape
    flops = int(np.diff(B.indptr)[A.indices].sum())
    if flops > MAX_REAL_FLOPS:
        pytest.skip(f"{path.name}: A @ A.T has {flops} flops (> {MAX_REAL_FLOPS}, kept quick)")
    return A, B


def _real_paths():
    from conftest import DATA_DIR

    real = DATA_DIR / "real"
    return sorted(real.glob("*.mtx")) if real.is_dir() else []


@pytest.mark.parametrize("path", _real_paths() or [None], ids=lambda p: p.stem if p else "none")
def test_real_matrices(real_data_dir, path):
    if path is None:
        pytest.skip("no real matrices in ../shared/data/real")
    A, B = _real_operands(path)
    E = A @ B
    E.sum_duplicates()
    # the structure of A @ B (SciPy drops cancelled entries, sparsela keeps them)
    P = sp.csr_array((np.ones(A.nnz), A.indices, A.indptr), shape=A.shape) @ \
        sp.csr_array((np.ones(B.nnz), B.indices, B.indptr), shape=B.shape)
    P.sum_duplicates()
    # masked by A's own pattern shape-permitting, else by a sparse random mask
    rng = np.random.default_rng(0)
    m, n = E.shape
    nm = min(m * n, 4 * max(1, A.nnz))
    flat = rng.choice(m * n, size=nm, replace=False) if m * n else np.zeros(0, int)
    Msk = sp.csr_array((np.ones(nm), (flat // max(n, 1), flat % max(n, 1))), shape=(m, n))
    C = sl.spgemm(A, B, mask=Msk)
    mask_d = Msk.toarray() != 0 if m * n <= 4_000_000 else None
    Es = E.toarray() if m * n <= 4_000_000 else None
    if Es is not None:
        exp_pat = (P.toarray() != 0) & mask_d
        np.testing.assert_array_equal(stored(C), exp_pat)
        assert_close(C.toarray(), np.where(exp_pat, Es, 0))
        Cc = sl.spgemm(A, B, mask=Msk, complement=True)
        assert_close(Cc.toarray() + C.toarray(), Es)
        assert Cc.nnz + C.nnz == P.nnz
    # semirings: masked by the product's own pattern == unmasked; paths agree
    for name in ("min_plus", "max_min"):
        U = sl.spgemm(A, B, semiring=name)
        W = sl.spgemm(A, B, semiring=name, mask=P)
        assert U.nnz == P.nnz
        np.testing.assert_array_equal(U.indptr, W.indptr)
        np.testing.assert_array_equal(U.indices, W.indices)
        np.testing.assert_array_equal(U.data, W.data)
    # top-k against the SciPy product
    T = sl.spgemm_topk(A, B, 3, lower_bound=0.0)
    for i in range(0, m, max(1, m // 50)):
        row = E.data[E.indptr[i]:E.indptr[i + 1]]
        exp = np.sort(row[row > 0])[::-1][:3]
        assert_close(T.data[T.indptr[i]:T.indptr[i + 1]], exp)
    # sddmm on A's pattern
    X = dense_operand((A.shape[0], 8), np.float64, seed=3)
    Y = dense_operand((A.shape[1], 8), np.float64, seed=4)
    D = sl.sddmm(A, X, Y)
    Ac = A.copy()
    Ac.sum_duplicates()
    rows = np.repeat(np.arange(A.shape[0]), np.diff(Ac.indptr))
    np.testing.assert_array_equal(D.indices, Ac.indices)
    assert_close(D.data, np.einsum("ij,ij->i", X[rows], Y[Ac.indices]))


@pytest.mark.parametrize("formats", [("csr", "csr"), ("csc", "csc"), ("csr", "csc"),
                                     ("coo", "csr"), ("bsr", "csc")])
@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((0, 4), (4, 5)), ((3, 0), (0, 5))])
@pytest.mark.parametrize("empty", ["A", "B", "both"])
def test_plain_product_with_an_empty_operand(formats, shapes, empty):
    # no stored entry in an operand: the empty product comes straight back,
    # as the kernels would give it (CSC for two CSC operands, int32 indices,
    # NumPy's result dtype, canonical), and the operands are untouched
    rng = np.random.default_rng(0)
    dens = {"A": (0.0, 0.6), "B": (0.6, 0.0), "both": (0.0, 0.0)}[empty]
    SA = sp.random_array(shapes[0], density=dens[0], format="csr", rng=rng, dtype=np.float32)
    SB = sp.random_array(shapes[1], density=dens[1], format="csr", rng=rng,
                         dtype=np.complex128)
    A = getattr(sl.csr_array(SA), "to" + formats[0])()
    B = getattr(sl.csr_array(SB), "to" + formats[1])()
    before = [np.asarray(x).copy() for x in (B.data, A.data)]
    C = sl.spgemm(A, B)
    assert type(C) is (sl.csc_array if formats == ("csc", "csc") else sl.csr_array)
    assert C.shape == (shapes[0][0], shapes[1][1]) and C.nnz == 0
    assert C.indptr.dtype == C.indices.dtype == np.int32
    assert C.dtype == np.complex128 and C.has_canonical_format
    np.testing.assert_array_equal(C.toarray(), (SA @ SB).toarray())
    for b, x in zip(before, (B.data, A.data)):
        np.testing.assert_array_equal(b, np.asarray(x))
    np.testing.assert_array_equal((A @ B).toarray(), C.toarray())
