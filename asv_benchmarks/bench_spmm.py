"""SpMM, Y = A @ X with a dense C-ordered float64 X of k = 16, 64, 256 columns.

sparsela ``spmm(A, X)``; SciPy ``A @ X``; GraphBLAS ``A.mxm(Xg).new()`` with
``Xg`` a full ``gb.Matrix`` (row-major "fullr"); MKL ``dot_product_mkl(A, X)``.
"""
from __future__ import annotations

from .common import (
    LIBRARIES,
    MATRICES,
    SPMM_COLUMNS,
    THREADS,
    LibraryBenchmark,
    convert,
    convert_dense,
    get_dense,
    memory_params,
    mkl_dot,
    sl,
)


SPMM = {
    "sparsela": lambda A, X: sl.spmm(A, X),
    "scipy": lambda A, X: A @ X,
    "graphblas": lambda A, X: A.mxm(X).new(),
    "mkl": mkl_dot,
}


class _SpMM(LibraryBenchmark):
    params = [LIBRARIES, THREADS, MATRICES, SPMM_COLUMNS]
    param_names = ["library", "threads", "matrix", "k"]
    functions = {"default": SPMM}

    def operands(self, library, S, k):
        return (convert(library, S), convert_dense(library, get_dense(S.shape[1], k)))


class SpMM(_SpMM):
    """Y = A @ X, X dense n x k."""

    def time_spmm(self, library, threads, matrix, k):
        self.call()


class SpMMMemory(_SpMM):
    """Peak RSS of the process with Y = A @ X (1 thread)."""

    params = memory_params(_SpMM.params)

    def peakmem_spmm(self, library, threads, matrix, k):
        self.call()
