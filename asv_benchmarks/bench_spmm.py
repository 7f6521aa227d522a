"""SpMM, Y = A @ X with a dense C-ordered float64 X of 32 columns, side by side.

sparsela ``spmm(A, X)``; SciPy ``A @ X``; GraphBLAS ``A.mxm(Xg).new()`` with
``Xg`` a full ``gb.Matrix`` (row-major "fullr"); MKL ``dot_product_mkl(A, X)``.
"""
from __future__ import annotations

from .common import (
    LIBRARIES,
    MATRICES,
    SPMM_COLUMNS,
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


def _sparsela(A, X):
    return sl.spmm(A, X)


def _scipy(A, X):
    return A @ X


def _graphblas(A, X):
    return A.mxm(X).new()


def _mkl(A, X):
    from sparse_dot_mkl import dot_product_mkl

    return dot_product_mkl(A, X)


SPMM = {"sparsela": _sparsela, "scipy": _scipy, "graphblas": _graphblas, "mkl": _mkl}


class SpMM:
    """Y = A @ X, X dense n x 32."""

    params = [LIBRARIES, THREADS, MATRICES]
    param_names = ["library", "threads", "matrix"]
    timeout = 300

    def setup(self, library, threads, matrix):
        use_library(library, threads)
        S = get_matrix(matrix)
        self.A = convert(library, S)
        self.X = convert_dense(library, get_dense(S.shape[1], SPMM_COLUMNS))
        self.spmm = SPMM[library]
        T = tiny_matrix()
        Tl = convert(library, T)
        TX = convert_dense(library, get_dense(T.shape[1], SPMM_COLUMNS))
        warm_up(("spmm", library), lambda: self.spmm(Tl, TX))

    def time_spmm(self, library, threads, matrix):
        self.spmm(self.A, self.X)
