"""SpMM/SpMV layouts: ``A @ X``, ``A.T @ X`` and ``X @ A`` against SciPy/NumPy.

Covers C/F-ordered and non-contiguous X, widths around the kernels' special
cases (1 -> SpMV, the 4-nonzero unroll, the F-order panel width), every
format, value dtype, empty rows, 0-sized shapes, duplicates and unsorted
indices; 1 and 2 threads give the same bits; inputs are never modified.
"""
from __future__ import annotations

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import sparsela as sl
from sparsela.backends.cpu import spmm as kspmm
from sparsela.backends.cpu.spmv import row_parts

from conftest import (
    FORMATS,
    assert_close,
    assert_unchanged,
    coo_triplets,
    dense_operand,
    force_parallel,
    make_pair,
    raw_arrays,
)

KS = (1, 2, 3, 7, 16, 17, 64, 256, 1024)
two_threads = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                                 reason="needs a Numba thread pool of at least 2 threads")


def layouts(X):
    """X in C order, F order, and as a non-contiguous view (every other column)."""
    wide = np.zeros((X.shape[0], 2 * X.shape[1]), dtype=X.dtype)
    wide[:, ::2] = X
    return {"C": np.ascontiguousarray(X), "F": np.asfortranarray(X), "view": wide[:, ::2]}


def random_csr(n, m, nnz_per_row, seed, dtype=np.float64):
    """CSR with empty rows, a dense row, duplicates and unsorted indices."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(nnz_per_row, n)
    counts[::7] = 0                       # empty rows
    if n > 3 and m:
        counts[3] = 2 * m                 # a dense row with repeats
    if not m:
        counts[:] = 0
    row = np.repeat(np.arange(n), counts)
    col = rng.integers(0, max(m, 1), row.size)
    val = dense_operand((row.size,), dtype, seed=seed + 1)
    A = sp.coo_array((val, (row, col)), shape=(n, m))
    return A, A.toarray()


@pytest.mark.parametrize("k", KS)
def test_csr_spmm_widths_and_layouts(k):
    n, m = (300, 200) if k < 256 else (60, 50)
    S, D = random_csr(n, m, 6, seed=k)
    A = sl.csr_array(S.tocsr())
    snap = raw_arrays(A)
    X = dense_operand((m, k), np.float64, seed=k)
    exp = D @ X
    for name, Xl in layouts(X).items():
        X0 = Xl.copy()
        for nt in (1, 2) if numba.config.NUMBA_NUM_THREADS >= 2 else (1,):
            with sl.config_context(num_threads=nt), force_parallel():
                Y = A @ Xl
            assert Y.flags.c_contiguous
            np.testing.assert_array_equal(Y, exp, err_msg=f"{name} nt={nt}")  # exact values
        np.testing.assert_array_equal(Xl, X0)
    assert_unchanged(A, snap, "A")


@pytest.mark.parametrize("k", (1, 3, 17, 64, 130))
@pytest.mark.parametrize("fmt", FORMATS)
def test_transposed_and_right_products(k, fmt):
    S, D = random_csr(90, 60, 4, seed=k)
    A = {"csr": sl.csr_array, "csc": sl.csc_array, "coo": sl.coo_array}.get(
        fmt, lambda a: sl.bsr_array(a, blocksize=(3, 2)))(S)
    snap = raw_arrays(A)
    X = dense_operand((90, k), np.float64, seed=3)
    Z = dense_operand((k, 90), np.float64, seed=4)
    for Xl in layouts(X).values():
        assert_close(A.T @ Xl, D.T @ X)
    for Zl in layouts(Z).values():
        assert_close(Zl @ A, Z @ D)
    with force_parallel():
        assert_close(A.T @ X, D.T @ X)
        assert_close(Z @ A, Z @ D)
    assert_unchanged(A, snap, "A")


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128,
                                   np.int32, np.int64, np.int8, np.bool_])
@pytest.mark.parametrize("k", (1, 5, 70))
def test_dtypes(dtype, k):
    S, D = random_csr(50, 40, 5, seed=1, dtype=dtype)
    for fmt in FORMATS:
        A = {"csr": sl.csr_array, "csc": sl.csc_array, "coo": sl.coo_array}.get(
            fmt, lambda a: sl.bsr_array(a, blocksize=(5, 4)))(S)
        for Xl in layouts(dense_operand((40, k), dtype, seed=2)).values():
            exp = D @ Xl
            Y = A @ Xl
            assert Y.dtype == exp.dtype
            assert_close(Y, exp, dtype)


@pytest.mark.parametrize("shape, k", [((0, 5), 3), ((5, 0), 3), ((0, 0), 2), ((4, 6), 0),
                                      ((0, 5), 1), ((5, 0), 100), ((1, 1), 1)])
@pytest.mark.parametrize("order", "CF")
def test_zero_sized(shape, k, order):
    A = sl.csr_array(sp.random_array(shape, density=0.5, format="csr", rng=0))
    X = np.asarray(np.ones((shape[1], k)), order=order)
    Xt = np.asarray(np.ones((shape[0], k)), order=order)
    D = A.toarray()
    for B in (A, sl.csc_array(A), sl.coo_array(A)):
        assert_close(B @ X, D @ X)
        assert_close(B.T @ Xt, D.T @ Xt)
        assert_close(X.T @ B.T, X.T @ D.T)


def test_one_column_is_spmv():
    S, D = random_csr(500, 400, 8, seed=5)
    A = sl.csr_array(S.tocsr())
    x = dense_operand((400,), np.float64, seed=6)
    for X in (x[:, None], np.asfortranarray(x[:, None])):
        np.testing.assert_array_equal((A @ X)[:, 0], A @ x)


@two_threads
@pytest.mark.parametrize("k", (1, 4, 16, 65))
@pytest.mark.parametrize("order", "CF")
def test_same_bits_for_1_and_2_threads(k, order):
    # float32 random values: any change of summation order would show
    rng = np.random.default_rng(k)
    S = sp.random_array((3000, 2000), density=0.01, format="csr", rng=rng, dtype=np.float32)
    A = sl.csr_array(S)
    X = np.asarray(rng.standard_normal((2000, k)).astype(np.float32), order=order)
    Xt = np.asarray(rng.standard_normal((3000, k)).astype(np.float32), order=order)
    out = []
    for nt in (1, 2):
        with sl.config_context(num_threads=nt), force_parallel():
            out.append((A @ X, A.T @ Xt, Xt.T @ A, sl.csc_array(A) @ X))
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)
    # SciPy's order, one nonzero at a time: the same bits
    np.testing.assert_array_equal(out[0][0], S @ X)


def test_panels_are_exact_and_x_never_copied_whole(monkeypatch):
    """F-ordered X wider than F_PANEL runs panel by panel (a ragged last panel)."""
    monkeypatch.setattr(kspmm, "F_PANEL", 8)
    S, D = random_csr(200, 150, 5, seed=7)
    A = sl.csr_array(S.tocsr())
    X = np.asfortranarray(dense_operand((150, 21), np.float64, seed=8))
    with force_parallel():
        np.testing.assert_array_equal(A @ X, D @ X)


@pytest.mark.parametrize("nparts", (1, 2, 3, 8))
def test_row_parts_balanced(nparts):
    rng = np.random.default_rng(0)
    counts = rng.zipf(1.5, 1000).clip(0, 5000)
    Ap = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    rb = row_parts(Ap, nparts)
    assert rb[0] == 0 and rb[-1] == 1000 and np.all(np.diff(rb) >= 0)
    cost = Ap[rb[1:]] - Ap[rb[:-1]] + np.diff(rb)
    total = Ap[-1] + 1000
    assert cost.max() <= total / nparts + counts.max() + 1
    assert list(row_parts(np.zeros(1, np.int64), nparts)) == [0] * (nparts + 1)


@given(t=coo_triplets(max_dim=30), fmt=st.sampled_from(FORMATS),
       k=st.sampled_from(KS[:7]), order=st.sampled_from("CFV"), nt=st.sampled_from([1, 2]))
def test_property_products(t, fmt, k, order, nt):
    A, S = make_pair(t, fmt)
    snap = raw_arrays(A)
    D = t.dense()
    X = dense_operand((t.shape[1], k), t.dtype, seed=1)
    Xt = dense_operand((t.shape[0], k), t.dtype, seed=2)
    if order != "C":
        X, Xt = (layouts(X)["F" if order == "F" else "view"],
                 layouts(Xt)["F" if order == "F" else "view"])
    X0, Xt0 = X.copy(), Xt.copy()
    nt = min(nt, numba.config.NUMBA_NUM_THREADS)
    with sl.config_context(num_threads=nt), force_parallel(), np.errstate(all="ignore"):
        Y, Yt, Z = A @ X, A.T @ Xt, Xt.T @ A
        expY, expYt, expZ = D @ X, D.T @ Xt, Xt.T @ D
    assert_close(Y, expY, t.dtype)
    assert_close(Yt, expYt, t.dtype)
    assert_close(Z, expZ, t.dtype)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Xt, Xt0)
    assert_unchanged(A, snap, "A")
