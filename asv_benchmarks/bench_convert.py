"""Format conversions, side by side (MKL via sparse_dot_mkl has none: skipped).

``ToCSC``          CSR -> CSC, materialised. sparsela/SciPy ``A.tocsc()``;
                   GraphBLAS ``A.ss.export("csc", sort=True)`` (copies out
                   CSC arrays; a GraphBLAS matrix has no user-visible CSC type).
``ToCSR``          CSC -> CSR, materialised. sparsela/SciPy ``A.tocsr()`` on
                   a CSC array; GraphBLAS ``A.ss.export("csr", sort=True)`` on
                   a matrix imported from CSC (stored by column).
``Transpose``      CSR of A.T, materialised. sparsela ``transpose(A).tocsr()``,
                   SciPy ``A.T.tocsr()``, GraphBLAS ``A.T.new()``.
``COOToCSR``       COO with entries in random order (no duplicates) -> CSR.
                   sparsela/SciPy ``coo.tocsr()``; GraphBLAS
                   ``Matrix.from_coo(rows, cols, values)`` (GrB_Matrix_build).
``SumDuplicates``  CSR with every entry stored twice, rows unsorted ->
                   canonical, in place: sparsela/SciPy ``A.sum_duplicates()``.
                   A fresh copy is made in setup before every timed call.

Every class has a ``time_`` benchmark, and a ``...Memory`` twin the ``peakmem_``
one (whole-process peak RSS, 1 thread).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .common import _INPUTS, SEED, LibraryBenchmark, convert, memory_params, sl


def _gb_from_csc(S: sp.csr_array):
    import graphblas as gb

    C = S.tocsc()
    return gb.Matrix.ss.import_csc(nrows=S.shape[0], ncols=S.shape[1], indptr=C.indptr,
                                   row_indices=C.indices, values=C.data, sorted_rows=True,
                                   take_ownership=False)


class _ToCSC(LibraryBenchmark):
    functions = {"default": {
        "sparsela": lambda A: A.tocsc(),
        "scipy": lambda A: A.tocsc(),
        "graphblas": lambda A: A.ss.export("csc", sort=True),
    }}



class ToCSC(_ToCSC):
    def time_tocsc(self, library, threads, matrix):
        self.call()


class ToCSCMemory(_ToCSC):
    params = memory_params(_ToCSC.params)

    def peakmem_tocsc(self, library, threads, matrix):
        self.call()



class _ToCSR(LibraryBenchmark):
    functions = {"default": {
        "sparsela": lambda A: A.tocsr(),
        "scipy": lambda A: A.tocsr(),
        "graphblas": lambda A: A.ss.export("csr", sort=True),
    }}

    def operands(self, library, S, *extra):
        key = ("csc", library, id(S))
        if key not in _INPUTS:
            if library == "graphblas":
                out = _gb_from_csc(S)
            else:
                out = convert(library, S).tocsc()
            _INPUTS[key] = (S, out)
        return (_INPUTS[key][1],)



class ToCSR(_ToCSR):
    def time_tocsr(self, library, threads, matrix):
        self.call()


class ToCSRMemory(_ToCSR):
    params = memory_params(_ToCSR.params)

    def peakmem_tocsr(self, library, threads, matrix):
        self.call()



class _Transpose(LibraryBenchmark):
    functions = {"default": {
        "sparsela": lambda A: sl.transpose(A).tocsr(),
        "scipy": lambda A: A.T.tocsr(),
        "graphblas": lambda A: A.T.new(),
    }}



class Transpose(_Transpose):
    def time_transpose_tocsr(self, library, threads, matrix):
        self.call()


class TransposeMemory(_Transpose):
    params = memory_params(_Transpose.params)

    def peakmem_transpose_tocsr(self, library, threads, matrix):
        self.call()



def _shuffled_coo(S: sp.csr_array) -> sp.coo_array:
    """The entries of S in a fixed random order (cached)."""
    key = ("coo", id(S))
    if key not in _INPUTS:
        C = S.tocoo()
        p = np.random.default_rng(SEED).permutation(C.nnz)
        _INPUTS[key] = (S, sp.coo_array((C.data[p], (C.row[p], C.col[p])), shape=S.shape))
    return _INPUTS[key][1]


def _gb_from_coo(t):
    import graphblas as gb

    return gb.Matrix.from_coo(t[0], t[1], t[2], nrows=t[3][0], ncols=t[3][1])


class _COOToCSR(LibraryBenchmark):
    functions = {"default": {
        "sparsela": lambda C: C.tocsr(),
        "scipy": lambda C: C.tocsr(),
        "graphblas": _gb_from_coo,  # raw triplets, built in the timed call
    }}

    def operands(self, library, S, *extra):
        C = _shuffled_coo(S)
        if library == "sparsela":
            return (sl.coo_array(C),)
        if library == "scipy":
            return (C,)
        return ((C.row, C.col, C.data, C.shape),)



class COOToCSR(_COOToCSR):
    def time_coo_tocsr(self, library, threads, matrix):
        self.call()


class COOToCSRMemory(_COOToCSR):
    params = memory_params(_COOToCSR.params)

    def peakmem_coo_tocsr(self, library, threads, matrix):
        self.call()



def _duplicated_csr_arrays(S: sp.csr_array):
    """CSR arrays holding every entry of S twice (values halved), rows in
    random order: (data, indices, indptr), cached."""
    key = ("dup", id(S))
    if key not in _INPUTS:
        n = S.shape[0]
        counts = 2 * np.diff(S.indptr)
        indptr = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(counts, out=indptr[1:])
        cols = np.concatenate([S.indices, S.indices])
        vals = np.concatenate([S.data, S.data]) * 0.5
        crow = np.concatenate([np.repeat(np.arange(n), np.diff(S.indptr))] * 2)
        # order by row, randomly within a row
        r = np.random.default_rng(SEED).random(cols.size)
        order = np.lexsort((r, crow))
        _INPUTS[key] = (S, (vals[order], cols[order].astype(np.int32), indptr))
    return _INPUTS[key][1]


class _SumDuplicates(LibraryBenchmark):
    functions = {"default": {
        "sparsela": lambda A: A.sum_duplicates(),
        "scipy": lambda A: A.sum_duplicates(),
    }}
    number = 1  # the timed call changes its input: a fresh copy before each call
    repeat = (3, 7, 3.0)
    warmup_time = 0

    def operands(self, library, S, *extra):
        data, indices, indptr = _duplicated_csr_arrays(S)
        cls = sl.csr_array if library == "sparsela" else sp.csr_array
        return (cls((data.copy(), indices.copy(), indptr.copy()), shape=S.shape),)



class SumDuplicates(_SumDuplicates):
    def time_sum_duplicates(self, library, threads, matrix):
        self.call()


class SumDuplicatesMemory(_SumDuplicates):
    params = memory_params(_SumDuplicates.params)

    def peakmem_sum_duplicates(self, library, threads, matrix):
        self.call()

