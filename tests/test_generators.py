"""Tests of sparsela.generators against independent SciPy constructions."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import sparsela as sl
from sparsela import generators
from sparsela.generators import _kronecker_edges, poisson2d, poisson3d, rmat


def _tridiag(n: int) -> sp.csr_array:
    return sp.diags_array(
        [-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], offsets=[-1, 0, 1], format="csr"
    )


def _assert_canonical_csr(A):
    assert isinstance(A, sl.csr_array)
    S = A.to_scipy()
    assert S.has_sorted_indices
    assert S.has_canonical_format  # sorted and no duplicates
    for i in range(min(A.shape[0], 200)):  # explicit check on the first rows
        row = A.indices[A.indptr[i]:A.indptr[i + 1]]
        assert np.all(np.diff(row) > 0)


def _assert_equal(A, R):
    R = sp.csr_array(R)
    R.sum_duplicates()
    R.eliminate_zeros()  # scipy's kron can store explicit zeros
    S = A.to_scipy()
    assert S.shape == R.shape
    np.testing.assert_array_equal(S.indptr, R.indptr)
    np.testing.assert_array_equal(S.indices, R.indices)
    np.testing.assert_array_equal(S.data, R.data)


# ----------------------------------------------------------------------------
# Poisson
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_poisson2d_matches_kron(n):
    A = poisson2d(n)
    I = sp.eye_array(n)
    T = _tridiag(n)
    _assert_equal(A, sp.kron(I, T) + sp.kron(T, I))
    _assert_canonical_csr(A)
    assert A.shape == (n * n, n * n)
    assert A.indices.dtype == np.int32 and A.indptr.dtype == np.int32
    assert A.dtype == np.float64
    np.testing.assert_array_equal(A.diagonal(), 4.0)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_poisson3d_matches_kron(n):
    A = poisson3d(n)
    I = sp.eye_array(n)
    T = _tridiag(n)
    R = sp.kron(sp.kron(T, I), I) + sp.kron(sp.kron(I, T), I) + sp.kron(sp.kron(I, I), T)
    _assert_equal(A, R)
    _assert_canonical_csr(A)
    assert A.shape == (n**3, n**3)
    np.testing.assert_array_equal(A.diagonal(), 6.0)


def test_poisson_structure():
    A = poisson2d(3).toarray()
    np.testing.assert_array_equal(A[4], [0, -1, 0, -1, 4, -1, 0, -1, 0])  # centre point
    np.testing.assert_array_equal(A[0], [4, -1, 0, -1, 0, 0, 0, 0, 0])  # corner
    np.testing.assert_array_equal(A, A.T)
    assert np.linalg.eigvalsh(A).min() > 0  # symmetric positive definite
    B = poisson3d(3).toarray()
    assert (B != 0).sum(axis=1).max() == 7
    assert np.linalg.eigvalsh(B).min() > 0
    assert poisson2d(10).nnz == 5 * 100 - 4 * 10  # 4n boundary neighbours missing


def test_poisson_empty_and_options():
    for gen, n in ((poisson2d, 0), (poisson3d, 0)):
        A = gen(n)
        assert A.shape == (0, 0) and A.nnz == 0
    A = poisson2d(4, dtype=np.float32, format="coo")
    assert isinstance(A, sl.coo_array) and A.dtype == np.float32
    B = poisson3d(3, dtype=np.complex128, format="csc")
    assert isinstance(B, sl.csc_array) and B.dtype == np.complex128
    np.testing.assert_array_equal(B.toarray(), poisson3d(3).toarray())
    np.testing.assert_array_equal(A.toarray(), poisson2d(4).toarray())
    assert poisson2d(5, dtype=np.int8).dtype == np.int8


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n=-1), ValueError, "n must be >= 0"),
        (dict(n=2.5), TypeError, "n must be an integer"),
        (dict(n=True), TypeError, "n must be an integer"),
        (dict(n=3, format="dok"), ValueError, "format"),
        (dict(n=3, dtype="U3"), TypeError, "dtype"),
        (dict(n=3, dtype=np.uint8), TypeError, "signed"),
        (dict(n=3, dtype=bool), TypeError, "signed"),
    ],
)
@pytest.mark.parametrize("gen", [poisson2d, poisson3d])
def test_poisson_bad_arguments(gen, kwargs, error, match):
    with pytest.raises(error, match=match):
        gen(**kwargs)


# ----------------------------------------------------------------------------
# R-MAT
# ----------------------------------------------------------------------------
def test_rmat_basic_statistics():
    scale, ef = 12, 16
    A = rmat(scale, ef, rng=1)
    n = 2**scale
    _assert_canonical_csr(A)
    assert A.shape == (n, n)
    assert A.indices.dtype == np.int32
    assert 0 < A.nnz <= ef * n
    # values count the generated edges: they add up to the number of edges
    assert A.data.sum() == ef * n
    assert np.all(A.data >= 1) and np.all(A.data == np.round(A.data))
    deg = np.diff(A.indptr)
    assert deg.max() > 10 * deg.mean()  # power-law: a few hubs
    assert (deg == 0).sum() > 0  # and isolated vertices
    # Graph500 permutes the vertices: hubs are not the low vertex numbers
    hubs = np.argsort(deg)[-20:]
    assert hubs.mean() > n / 8


def test_rmat_quadrant_probabilities():
    a, b, c = 0.57, 0.19, 0.19
    d = 1 - a - b - c
    m = 200_000
    i, j = _kronecker_edges(10, m, a, b, c, np.random.default_rng(7))
    assert i.max() < 1024 and j.max() < 1024 and i.min() >= 0
    for level in (0, 5, 9):
        bi, bj = (i >> level) & 1, (j >> level) & 1
        for p, mask in ((a, (bi == 0) & (bj == 0)), (b, (bi == 0) & (bj == 1)),
                        (c, (bi == 1) & (bj == 0)), (d, (bi == 1) & (bj == 1))):
            sigma = np.sqrt(p * (1 - p) / m)
            assert abs(mask.mean() - p) < 6 * sigma


def test_rmat_reproducible():
    A = rmat(10, 8, rng=42)
    B = rmat(10, 8, rng=np.random.default_rng(42))
    _assert_equal(A, B.to_scipy())
    C = rmat(10, 8, rng=43)
    assert not (A.nnz == C.nnz and np.array_equal(A.indices, C.indices))
    D = rmat(10, 8)  # rng=None: fresh entropy, still valid
    assert D.shape == (1024, 1024) and D.data.sum() == 8 * 1024


def test_rmat_symmetric():
    A = rmat(10, 8, rng=3, symmetric=True)
    S = A.to_scipy()
    assert abs(S - S.T).max() == 0
    # each edge i -> j (i != j) counted in both directions, self loops once
    loops = S.diagonal().sum()
    assert S.sum() == 2 * 8 * 1024 - loops
    _assert_canonical_csr(A)


def test_rmat_edge_cases():
    A = rmat(0, 5, rng=0)  # one vertex: every edge is a self loop
    assert A.shape == (1, 1)
    np.testing.assert_array_equal(A.toarray(), [[5.0]])
    E = rmat(6, 0, rng=0)
    assert E.shape == (64, 64) and E.nnz == 0
    # a = 1: every edge lands in quadrant (0, 0) at every level -> one vertex pair
    P = rmat(5, 4, a=1.0, b=0.0, c=0.0, rng=0)
    assert P.nnz == 1 and P.data[0] == 4 * 32
    # b = 1: row bits 0, column bits 1 at every level -> one edge slot off the diagonal
    Q = rmat(5, 2, a=0.0, b=1.0, c=0.0, rng=0)
    assert Q.nnz == 1 and Q.diagonal().sum() == 0
    # d = 1 (a = b = c = 0)
    R = rmat(4, 2, a=0.0, b=0.0, c=0.0, rng=0)
    assert R.nnz == 1 and R.diagonal().sum() == 32


def test_rmat_dtype_and_format():
    A = rmat(8, 4, rng=0, dtype=np.float32, format="coo")
    assert isinstance(A, sl.coo_array) and A.dtype == np.float32
    B = rmat(8, 4, rng=0, dtype=bool, format="csc")
    assert isinstance(B, sl.csc_array) and B.dtype == np.bool_
    C = rmat(8, 4, rng=0)
    np.testing.assert_array_equal(A.toarray(), C.toarray())
    np.testing.assert_array_equal(B.toarray(), C.toarray() != 0)


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        ((-1,), {}, ValueError, "scale"),
        ((2.0,), {}, TypeError, "scale"),
        ((True,), {}, TypeError, "scale"),
        ((63,), {}, ValueError, "scale"),
        ((4, -1), {}, ValueError, "edge_factor"),
        ((4, 1.5), {}, TypeError, "edge_factor"),
        ((4,), dict(a=1.5), ValueError, "a must be in"),
        ((4,), dict(b=-0.1), ValueError, "b must be in"),
        ((4,), dict(c=float("nan")), ValueError, "c must be in"),
        ((4,), dict(a="x"), TypeError, "a must be"),
        ((4,), dict(a=0.5, b=0.3, c=0.3), ValueError, "a \\+ b \\+ c"),
        ((4,), dict(format="dense"), ValueError, "format"),
        ((4,), dict(dtype="U2"), TypeError, "dtype"),
        ((4,), dict(rng="seed"), TypeError, "rng"),
        ((4,), dict(symmetric=1), TypeError, "symmetric"),
    ],
)
def test_rmat_bad_arguments(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        rmat(*args, **kwargs)


def test_public_access():
    assert sl.generators is generators
    assert sl.generators.rmat is rmat
