"""The one-pass SpGEMM (``spgemm_onepass.py``) against SciPy and the two-pass kernel.

The one pass accumulates each row into a scratch buffer and copies C out of
it. It must give the same structure as the two passes, the same value bits
(both sum in A's order), rows in first-appearance order that do not depend
on the thread count, and leave its inputs alone. Each accumulator (column
array, hash table, branch-free append of dense rows, column array for dense
rows that repeat their columns) is forced in turn.
"""
from __future__ import annotations

import contextlib

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
from conftest import force_parallel
from hypothesis import given
from hypothesis import strategies as st
from test_kernels_products import (
    INDEX_DTYPES,
    REAL_DIR,
    SETTINGS,
    VALUE_DTYPES,
    abs_dense,
    assert_product_close,
    assert_unchanged,
    check_csr_output,
    dims,
    random_csr,
    snapshot,
    to_dense,
    two_threads,
)

from sparsela import config_context
from sparsela.backends.cpu import spgemm as spgemm_mod
from sparsela.backends.cpu import spgemm_onepass as onepass
from sparsela.backends.cpu.spgemm import csr_spgemm


@contextlib.contextmanager
def passes(one: bool, **knobs):
    """Every unsorted product in one pass (``one``) or in two; ``knobs`` set
    spgemm's accumulator thresholds (read at call time)."""
    saved = {k: getattr(spgemm_mod, k) for k in knobs}
    saved_one = onepass.ONE_PASS_MAX_BYTES, onepass.ONE_PASS_ALWAYS
    onepass.ONE_PASS_MAX_BYTES, onepass.ONE_PASS_ALWAYS = ((1 << 62, 1 << 62) if one else (0, 0))
    for k, v in knobs.items():
        setattr(spgemm_mod, k, v)
    try:
        yield
    finally:
        onepass.ONE_PASS_MAX_BYTES, onepass.ONE_PASS_ALWAYS = saved_one
        for k, v in saved.items():
            setattr(spgemm_mod, k, v)


def sorted_rows(Cp, Cj, Cx, shape):
    C = sp.csr_array((Cx, Cj, Cp), shape=shape)
    C.sort_indices()
    return C


def check_against_two_pass(n_row, n_col, inputs, dtype, b_canonical, parallel, **knobs):
    before = snapshot(*inputs)
    ctx = force_parallel() if parallel else contextlib.nullcontext()
    with ctx:
        with passes(True, **knobs):
            one = csr_spgemm(n_row, n_col, *inputs, sort_indices=False, b_canonical=b_canonical)
            with config_context(num_threads=1):
                one_1t = csr_spgemm(n_row, n_col, *inputs, sort_indices=False,
                                    b_canonical=b_canonical)
        with passes(False, **knobs):
            two = csr_spgemm(n_row, n_col, *inputs, sort_indices=False, b_canonical=b_canonical)
    assert_unchanged(before, inputs)
    check_csr_output(*one, n_row, n_col, dtype, False)
    # the thread count changes nothing, order included
    for a, b in zip(one, one_1t):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    # the two passes: the same index dtype, structure and value bits
    for a, b in zip(one, two):
        assert a.dtype == b.dtype
    np.testing.assert_array_equal(one[0], two[0])
    S1, S2 = sorted_rows(*one, (n_row, n_col)), sorted_rows(*two, (n_row, n_col))
    np.testing.assert_array_equal(S1.indices, S2.indices)
    np.testing.assert_array_equal(S1.data.view(np.uint8), S2.data.view(np.uint8))
    return one


@st.composite
def onepass_case(draw):
    return {
        "n_row": draw(dims), "k": draw(dims), "n_col": draw(dims),
        "dA": draw(st.floats(0, 1)), "dB": draw(st.floats(0, 1)),
        "dtype": draw(st.sampled_from(VALUE_DTYPES)),
        "index_dtype": draw(st.sampled_from(INDEX_DTYPES)),
        "b_canonical": draw(st.booleans()),
        "parallel": draw(st.booleans()),
        "accumulator": draw(st.sampled_from(["default", "hash", "spa", "dense"])),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }


KNOBS = {
    "default": {},
    "hash": {"SPA_MAX_COLS": 0, "DENSE_RATIO": 0},  # every row hashed
    "spa": {"SPA_MAX_COLS": 1 << 30, "DENSE_RATIO": 0},  # column array (chunks allowing)
    "dense": {"DENSE_RATIO": 1 << 30},  # every row dense: append or column array
}


@SETTINGS
@given(onepass_case())
def test_onepass_matches_scipy_and_two_pass(c):
    rng = np.random.default_rng(c["seed"])
    dt, it = c["dtype"], c["index_dtype"]
    (Ap, Aj, Ax), Aref, Apat = random_csr(rng, (c["n_row"], c["k"]), c["dA"], dt, it)
    (Bp, Bj, Bx), Bref, Bpat = random_csr(rng, (c["k"], c["n_col"]), c["dB"], dt, it,
                                          canonical=c["b_canonical"])
    shape = (c["n_row"], c["n_col"])
    Cp, Cj, Cx = check_against_two_pass(*shape, (Ap, Aj, Ax, Bp, Bj, Bx), dt, c["b_canonical"],
                                        c["parallel"], **KNOBS[c["accumulator"]])
    assert_product_close(to_dense(Cp, Cj, Cx, shape), (Aref @ Bref).toarray(),
                         abs_dense(Aref) @ abs_dense(Bref), dt)
    expected_nnz = np.count_nonzero((Apat @ Bpat).toarray(), axis=1)
    np.testing.assert_array_equal(np.diff(Cp.astype(np.int64)), expected_nnz)


@two_threads
def test_onepass_dense_rows_both_accumulators():
    """Dense rows take the branch-free append, or the column array after a
    dense row that repeated its columns REPEAT_SPA+ times: rows of few
    columns hit many times and rows of many distinct columns, interleaved,
    so each row takes the accumulator the other kind chose."""
    rng = np.random.default_rng(11)
    n_row, k, n_col = 60, 200, 64
    rows, cols = [], []
    for i in range(n_row):
        # even rows: 40 entries of A onto rows of B that share 4 columns
        # (many repeats); odd rows: entries onto spread rows of B
        ks = rng.choice(k // 2, 40, replace=False) if i % 2 == 0 else \
            k // 2 + rng.choice(k // 2, 40, replace=False)
        rows += [i] * 40
        cols += list(ks)
    A = sp.csr_array((rng.standard_normal(len(rows)), (rows, cols)), shape=(n_row, k))
    Brows, Bcols = [], []
    for r in range(k):
        c = rng.choice(4, 3, replace=False) if r < k // 2 else rng.choice(n_col, 6, replace=False)
        Brows += [r] * len(c)
        Bcols += list(c)
    B = sp.csr_array((rng.standard_normal(len(Brows)), (Brows, Bcols)), shape=(k, n_col))
    B.sort_indices()
    inputs = (A.indptr, A.indices, A.data, B.indptr, B.indices, B.data)
    Cp, Cj, Cx = check_against_two_pass(n_row, n_col, inputs, np.float64, True, True,
                                        DENSE_RATIO=1 << 30)
    np.testing.assert_allclose(to_dense(Cp, Cj, Cx, (n_row, n_col)), (A @ B).toarray(),
                               rtol=1e-12, atol=1e-12)


def test_onepass_choice():
    """Meshes (rows repeat columns) run in one pass, products of rows
    without repeats in two; over the byte limit, two."""
    n = 100  # 2-D Poisson on a 100 x 100 grid: 250k products, 3 MB of scratch
    lap = sp.diags_array([-1.0, 2.0, -1.0], offsets=[-1, 0, 1], shape=(n, n))
    L = sp.kronsum(lap, lap, format="csr")
    L.sort_indices()
    flops = spgemm_mod._row_flops_on(L.shape[0], L.indptr, L.indices, L.indptr, 1)
    total = int(flops.sum())
    assert total > onepass.ONE_PASS_ALWAYS
    args = (L.shape[1], L.indptr, L.indices, L.indptr, L.indices, flops, total, 8)
    assert onepass.use_onepass(*args)
    # random rows: no repeats in nearly every row
    rng = np.random.default_rng(0)
    m = 1 << 15
    R = sp.random_array((m, m), density=4 / m, format="csr", rng=rng)
    R.sort_indices()
    Rf = spgemm_mod._row_flops_on(m, R.indptr, R.indices, R.indptr, 1)
    assert not onepass.use_onepass(m, R.indptr, R.indices, R.indptr, R.indices, Rf,
                                   int(Rf.sum()), 8)
    saved = onepass.ONE_PASS_MAX_BYTES
    try:
        onepass.ONE_PASS_MAX_BYTES = total * 12 - 1
        assert not onepass.use_onepass(*args)
    finally:
        onepass.ONE_PASS_MAX_BYTES = saved


@pytest.mark.parametrize("name", ["jagmesh7", "cryg2500", "zenios", "dnn-n1024-l1", "karate",
                                  "west0067"])
@pytest.mark.parametrize("parallel", [False, True])
def test_onepass_real_matrices(name, parallel):
    path = REAL_DIR / f"{name}.mtx"
    if not path.exists():
        pytest.skip(f"{path} not found (../shared/data is not in a user's clone)")
    S = sp.csr_array(scipy.io.mmread(path)).astype(np.float64)
    S.sum_duplicates()
    for B in (S, S.T.tocsr()):
        inputs = (S.indptr, S.indices, S.data, B.indptr, B.indices, B.data)
        Cp, Cj, Cx = check_against_two_pass(S.shape[0], B.shape[1], inputs, np.float64, True,
                                            parallel)
        ref = (S @ B).toarray()
        np.testing.assert_allclose(to_dense(Cp, Cj, Cx, ref.shape), ref, rtol=1e-12,
                                   atol=1e-12 * np.abs(ref).max())
