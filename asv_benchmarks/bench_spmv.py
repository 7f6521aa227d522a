"""SpMV, y = A @ x (dense float64 vector), side by side.

sparsela ``spmv(A, x)``; SciPy ``A @ x``; GraphBLAS ``A.mxv(v).new()`` with
``v`` a full ``gb.Vector``; MKL ``dot_product_mkl(A, x)``. Every call
allocates its output, as the public APIs do. SpMV on these inputs takes
tens of microseconds to a few milliseconds, so per-call overhead (argument
checks, MKL handle creation) is part of what is measured.
"""
from __future__ import annotations

from .common import (
    LibraryBenchmark,
    convert,
    convert_dense,
    get_dense,
    memory_params,
    mkl_dot,
    sl,
)


SPMV = {
    "sparsela": lambda A, x: sl.spmv(A, x),
    "scipy": lambda A, x: A @ x,
    "graphblas": lambda A, x: A.mxv(x).new(),
    "mkl": mkl_dot,
}


class _SpMV(LibraryBenchmark):
    functions = {"default": SPMV}

    def operands(self, library, S, *extra):
        return (convert(library, S), convert_dense(library, get_dense(S.shape[1])))


class SpMV(_SpMV):
    """y = A @ x."""

    def time_spmv(self, library, threads, matrix):
        self.call()


class SpMVMemory(_SpMV):
    """Peak RSS of the process with y = A @ x (1 thread)."""

    params = memory_params(_SpMV.params)

    def peakmem_spmv(self, library, threads, matrix):
        self.call()
