"""Format conversions, side by side (MKL via sparse_dot_mkl has none: skipped).

``ToCSC``          CSR -> CSC, materialised. sparsela/SciPy ``A.tocsc()``;
                   GraphBLAS ``A.ss.export("csc", sort=True)`` (copies out
                   CSC arrays; a GraphBLAS matrix has no user-visible CSC type).
``Transpose``      CSR of A.T, materialised. sparsela ``transpose(A).tocsr()``,
                   SciPy ``A.T.tocsr()``, GraphBLAS ``A.T.new()``.
``COOToCSR``       COO with entries in random order (no duplicates) -> CSR.
                   sparsela/SciPy ``coo.tocsr()``; GraphBLAS
                   ``Matrix.from_coo(rows, cols, values)`` (GrB_Matrix_build).
``SumDuplicates``  CSR with every entry stored twice, rows unsorted ->
                   canonical, in place: sparsela/SciPy ``A.sum_duplicates()``.
                   A fresh copy is made in setup before every timed call.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .common import (
    LIBRARIES,
    MATRICES,
    SEED,
    THREADS,
    convert,
    get_matrix,
    sl,
    skip,
    tiny_matrix,
    use_library,
    warm_up,
    _INPUTS,
)


class ToCSC:
    params = [LIBRARIES, THREADS, MATRICES]
    param_names = ["library", "threads", "matrix"]

    def setup(self, library, threads, matrix):
        if library == "mkl":
            skip("sparse_dot_mkl has no format conversions")
        use_library(library, threads)
        self.A = convert(library, get_matrix(matrix))
        if library == "graphblas":
            self.func = lambda A: A.ss.export("csc", sort=True)
        else:
            self.func = lambda A: A.tocsc()
        T = convert(library, tiny_matrix())
        warm_up(("tocsc", library), lambda: self.func(T))

    def time_tocsc(self, library, threads, matrix):
        self.func(self.A)


class Transpose:
    params = [LIBRARIES, THREADS, MATRICES]
    param_names = ["library", "threads", "matrix"]

    def setup(self, library, threads, matrix):
        if library == "mkl":
            skip("sparse_dot_mkl has no format conversions")
        use_library(library, threads)
        self.A = convert(library, get_matrix(matrix))
        if library == "sparsela":
            self.func = lambda A: sl.transpose(A).tocsr()
        elif library == "scipy":
            self.func = lambda A: A.T.tocsr()
        else:
            self.func = lambda A: A.T.new()
        T = convert(library, tiny_matrix())
        warm_up(("transpose", library), lambda: self.func(T))

    def time_transpose_tocsr(self, library, threads, matrix):
        self.func(self.A)


def _shuffled_coo(S: sp.csr_array, name) -> sp.coo_array:
    """The entries of S in a fixed random order (cached)."""
    key = ("coo", name)
    if key not in _INPUTS:
        C = S.tocoo()
        p = np.random.default_rng(SEED).permutation(C.nnz)
        _INPUTS[key] = sp.coo_array((C.data[p], (C.row[p], C.col[p])), shape=S.shape)
    return _INPUTS[key]


def _coo_in(library, C: sp.coo_array):
    if library == "sparsela":
        return sl.coo_array(C)
    if library == "scipy":
        return C
    # graphblas: raw triplets, built in the timed call
    return (C.row, C.col, C.data, C.shape)


class COOToCSR:
    params = [LIBRARIES, THREADS, MATRICES]
    param_names = ["library", "threads", "matrix"]

    def setup(self, library, threads, matrix):
        if library == "mkl":
            skip("sparse_dot_mkl has no format conversions")
        use_library(library, threads)
        self.C = _coo_in(library, _shuffled_coo(get_matrix(matrix), matrix))
        if library == "graphblas":
            import graphblas as gb

            self.func = lambda t: gb.Matrix.from_coo(t[0], t[1], t[2], nrows=t[3][0], ncols=t[3][1])
        else:
            self.func = lambda C: C.tocsr()
        T = _coo_in(library, _shuffled_coo(tiny_matrix(), "tiny"))
        warm_up(("coo", library), lambda: self.func(T))

    def time_coo_tocsr(self, library, threads, matrix):
        self.func(self.C)


def _duplicated_csr_arrays(S: sp.csr_array, name):
    """CSR arrays holding every entry of S twice (values halved), rows in
    random order: (data, indices, indptr), cached."""
    key = ("dup", name)
    if key not in _INPUTS:
        n = S.shape[0]
        counts = 2 * np.diff(S.indptr)
        indptr = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(counts, out=indptr[1:])
        rows = np.repeat(np.arange(n), counts)
        cols = np.concatenate([S.indices, S.indices])
        vals = np.concatenate([S.data, S.data]) * 0.5
        crow = np.concatenate([np.repeat(np.arange(n), np.diff(S.indptr))] * 2)
        # order by row, randomly within a row
        r = np.random.default_rng(SEED).random(cols.size)
        order = np.lexsort((r, crow))
        assert np.array_equal(crow[order], rows)
        _INPUTS[key] = (vals[order], cols[order].astype(np.int32), indptr)
    return _INPUTS[key]


class SumDuplicates:
    params = [LIBRARIES, THREADS, MATRICES]
    param_names = ["library", "threads", "matrix"]
    number = 1  # the timed call changes its input: fresh copy before each call

    def setup(self, library, threads, matrix):
        if library not in ("sparsela", "scipy"):
            skip(f"{library} has no CSR-with-duplicates type")
        use_library(library, threads)
        S = get_matrix(matrix)
        data, indices, indptr = _duplicated_csr_arrays(S, matrix)
        cls = sl.csr_array if library == "sparsela" else sp.csr_array
        self.A = cls((data.copy(), indices.copy(), indptr.copy()), shape=S.shape)
        if library == "sparsela":
            def warm():
                T = tiny_matrix()
                t = _duplicated_csr_arrays(T, "tiny")
                sl.csr_array((t[0].copy(), t[1].copy(), t[2].copy()), shape=T.shape).sum_duplicates()

            warm_up(("sum_duplicates", library), warm)

    def time_sum_duplicates(self, library, threads, matrix):
        self.A.sum_duplicates()
