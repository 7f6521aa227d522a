"""SpMV, y = A @ x (dense float64 vector), side by side.

sparsela ``spmv(A, x)``; SciPy ``A @ x``; GraphBLAS ``A.mxv(v).new()`` with
``v`` a full ``gb.Vector``; MKL ``dot_product_mkl(A, x)``. Every call
allocates its output, as the public APIs do. SpMV on these inputs takes
tens of microseconds to a few milliseconds, so per-call overhead (argument
checks, MKL handle creation) is part of what is measured.
"""
from __future__ import annotations

from .common import (
    LIBRARIES,
    MATRICES,
    THREADS,
    convert,
    convert_dense,
    get_dense,
    get_matrix,
    sl,
    tiny_matrix,
    use_library,
    warm_up,
)


def _sparsela(A, x):
    return sl.spmv(A, x)


def _scipy(A, x):
    return A @ x


def _graphblas(A, x):
    return A.mxv(x).new()


def _mkl(A, x):
    from sparse_dot_mkl import dot_product_mkl

    return dot_product_mkl(A, x)


SPMV = {"sparsela": _sparsela, "scipy": _scipy, "graphblas": _graphblas, "mkl": _mkl}


class SpMV:
    """y = A @ x."""

    params = [LIBRARIES, THREADS, MATRICES]
    param_names = ["library", "threads", "matrix"]

    def setup(self, library, threads, matrix):
        use_library(library, threads)
        S = get_matrix(matrix)
        self.A = convert(library, S)
        self.x = convert_dense(library, get_dense(S.shape[1]))
        self.spmv = SPMV[library]
        T = tiny_matrix()
        Tl, tx = convert(library, T), convert_dense(library, get_dense(T.shape[1]))
        warm_up(("spmv", library), lambda: self.spmv(Tl, tx))

    def time_spmv(self, library, threads, matrix):
        self.spmv(self.A, self.x)
