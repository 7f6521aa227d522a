"""SpGEMM, C = A @ A, side by side: sparsela, SciPy, GraphBLAS, MKL.

Two timings per library, because the libraries differ in what they return:

``time_spgemm_sorted``
    C with sorted column indices in every row (canonical CSR, what most
    consumers expect). sparsela ``spgemm(A, A)`` (default ``sort_indices=True``);
    SciPy ``A @ A`` then ``C.sort_indices()`` (SciPy's product leaves rows
    unsorted); GraphBLAS ``A.mxm(A).new()`` then ``C.wait()`` (materialise:
    SuiteSparse sorts "jumbled" rows lazily, wait forces it); MKL
    ``dot_product_mkl(A, A, reorder_output=True)``.
``time_spgemm_unsorted``
    Each library's fastest call, column order within a row unspecified:
    sparsela ``sort_indices=False``, SciPy ``A @ A``, GraphBLAS
    ``A.mxm(A).new()`` (may stay jumbled), MKL ``dot_product_mkl(A, A)``.

``track_nnz`` records nnz(C) per library (all must agree: every library keeps
the full structural product), and :class:`SpGEMMMemory` the memory.
"""
from __future__ import annotations

import resource

from .common import (
    LIBRARIES,
    MATRICES,
    THREADS,
    convert,
    get_matrix,
    nnz_of,
    sl,
    tiny_matrix,
    use_library,
    warm_up,
)


def _sparsela_sorted(A, B):
    return sl.spgemm(A, B, sort_indices=True)


def _sparsela_unsorted(A, B):
    return sl.spgemm(A, B, sort_indices=False)


def _scipy_sorted(A, B):
    C = A @ B
    C.sort_indices()
    return C


def _scipy_unsorted(A, B):
    return A @ B


def _graphblas_sorted(A, B):
    C = A.mxm(B).new()
    C.wait()
    return C


def _graphblas_unsorted(A, B):
    return A.mxm(B).new()


def _mkl_sorted(A, B):
    from sparse_dot_mkl import dot_product_mkl

    return dot_product_mkl(A, B, reorder_output=True)


def _mkl_unsorted(A, B):
    from sparse_dot_mkl import dot_product_mkl

    return dot_product_mkl(A, B)


PRODUCTS = {
    "sparsela": (_sparsela_sorted, _sparsela_unsorted),
    "scipy": (_scipy_sorted, _scipy_unsorted),
    "graphblas": (_graphblas_sorted, _graphblas_unsorted),
    "mkl": (_mkl_sorted, _mkl_unsorted),
}


class SpGEMM:
    """C = A @ A on R-MAT, 2-D Poisson and real matrices."""

    params = [LIBRARIES, THREADS, MATRICES]
    param_names = ["library", "threads", "matrix"]
    timeout = 600

    def setup(self, library, threads, matrix):
        use_library(library, threads)
        self.A = convert(library, get_matrix(matrix))
        self.sorted_product, self.unsorted_product = PRODUCTS[library]
        # first call compiles or loads Numba's cache: keep it out of the timings
        T = convert(library, tiny_matrix())
        warm_up(("spgemm", library), lambda: (self.sorted_product(T, T), self.unsorted_product(T, T)))

    def time_spgemm_sorted(self, library, threads, matrix):
        self.sorted_product(self.A, self.A)

    def time_spgemm_unsorted(self, library, threads, matrix):
        self.unsorted_product(self.A, self.A)

    def track_nnz(self, library, threads, matrix):
        return nnz_of(self.unsorted_product(self.A, self.A))

    track_nnz.unit = "nnz"


class SpGEMMMemory:
    """Memory of C = A @ A (sorted output), one process per combination.

    ``peakmem_spgemm`` is asv's peak RSS of the whole process (imports, input
    and product). ``track_spgemm_extra_mb`` is the growth of the peak RSS
    across the product alone: workspace plus the result, in MiB. Warm-up runs
    on a 64 x 64 matrix so it does not set the peak itself.
    """

    params = [LIBRARIES, THREADS, MATRICES]
    param_names = ["library", "threads", "matrix"]
    timeout = 600

    def setup(self, library, threads, matrix):
        use_library(library, threads)
        self.A = convert(library, get_matrix(matrix))
        self.product = PRODUCTS[library][0]
        T = convert(library, tiny_matrix())
        warm_up(("spgemm", library), lambda: self.product(T, T))

    def peakmem_spgemm(self, library, threads, matrix):
        self.product(self.A, self.A)

    def track_spgemm_extra_mb(self, library, threads, matrix):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        C = self.product(self.A, self.A)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        del C
        return (after - before) / 1024.0  # ru_maxrss is in KiB on Linux

    track_spgemm_extra_mb.unit = "MiB"
