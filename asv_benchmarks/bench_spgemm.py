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

``track_nnz`` records nnz(C) per library (SciPy drops entries that cancel to
exactly zero, the others keep the structural product), :class:`SpGEMMMemory`
the memory, and :class:`SpGEMMExtras` the products with a mask, another
semiring and top-k, where this sparsela has them (``hasattr`` guards).
"""
from __future__ import annotations

import inspect

import numpy as np
import scipy.sparse as sp

from .common import (
    MATRICES,
    SDDMM_COLUMNS,
    THREADS,
    LibraryBenchmark,
    convert,
    get_dense,
    memory_params,
    nnz_of,
    peak_rss_growth,
    skip,
    sl,
)


def _mkl_dot(A, B, **kw):
    from sparse_dot_mkl import dot_product_mkl

    return dot_product_mkl(A, B, **kw)


def _scipy_sorted(A, B):
    C = A @ B
    C.sort_indices()
    return C


def _graphblas_sorted(A, B):
    C = A.mxm(B).new()
    C.wait()
    return C


SORTED = {
    "sparsela": lambda A, B: sl.spgemm(A, B, sort_indices=True),
    "scipy": _scipy_sorted,
    "graphblas": _graphblas_sorted,
    "mkl": lambda A, B: _mkl_dot(A, B, reorder_output=True),
}
UNSORTED = {
    "sparsela": lambda A, B: sl.spgemm(A, B, sort_indices=False),
    "scipy": lambda A, B: A @ B,
    "graphblas": lambda A, B: A.mxm(B).new(),
    "mkl": lambda A, B: _mkl_dot(A, B),
}


class _Product(LibraryBenchmark):
    """C = A @ A: operands (A, A)."""

    timeout = 600

    def operands(self, library, S, *extra):
        A = convert(library, S)
        return (A, A)


class SpGEMM(_Product):
    """C = A @ A on R-MAT, Erdos-Renyi, 2-D Poisson and real matrices."""

    functions = {"sorted": SORTED, "unsorted": UNSORTED}

    def time_spgemm_sorted(self, library, threads, matrix):
        self.call("sorted")

    def time_spgemm_unsorted(self, library, threads, matrix):
        self.call("unsorted")

    def track_nnz(self, library, threads, matrix):
        return nnz_of(self.call("unsorted"))

    track_nnz.unit = "nnz"


class SpGEMMMemory(_Product):
    """Memory of C = A @ A (1 thread), one process per combination.

    ``peakmem_spgemm`` (sorted) and ``peakmem_spgemm_unsorted`` are asv's peak
    RSS of the whole process (imports, input and product).
    ``track_spgemm_extra_mb`` is the peak RSS during the sorted product alone,
    above the RSS just before it: workspace plus the result, in MiB.
    """

    params = memory_params(_Product.params)
    functions = {"sorted": SORTED, "unsorted": UNSORTED}

    def peakmem_spgemm(self, library, threads, matrix):
        self.call("sorted")

    def peakmem_spgemm_unsorted(self, library, threads, matrix):
        self.call("unsorted")

    def track_spgemm_extra_mb(self, library, threads, matrix):
        return peak_rss_growth(lambda: self.call("sorted")) / 2**20

    track_spgemm_extra_mb.unit = "MiB"


# --------------------------------------------------------------------------
# masked, semiring and top-k products (where sparsela has them)
# --------------------------------------------------------------------------
def _has_spgemm_option(name: str) -> bool:
    try:
        return name in inspect.signature(sl.spgemm).parameters
    except (AttributeError, TypeError, ValueError):  # no sparsela
        return False


def _scipy_masked(A, B, M):
    return (A @ B).multiply(M)  # the full product, then the pattern of M


class MaskedSpGEMM(LibraryBenchmark):
    """C = (A @ A) restricted to the pattern of A (e.g. triangle counting).

    sparsela ``spgemm(A, A, mask=A)``; GraphBLAS ``A.mxm(A).new(mask=A.S)``;
    SciPy (no masked product) computes the full product and keeps the pattern:
    ``(A @ A).multiply(P)`` with ``P`` the 0/1 pattern of A.
    """

    functions = {"default": {
        "sparsela": lambda A, B, M: sl.spgemm(A, B, mask=M, sort_indices=False),
        "scipy": _scipy_masked,
        "graphblas": lambda A, B, M: A.mxm(B).new(mask=M.S),
    }}

    def skip_if(self, library, threads, matrix, *extra):
        if not _has_spgemm_option("mask"):
            skip("this sparsela's spgemm has no mask")

    def operands(self, library, S, *extra):
        A = convert(library, S)
        if library == "scipy":
            P = S.copy()
            P.data[:] = 1.0
            return (A, A, P)
        return (A, A, A)

    def time_masked_spgemm(self, library, threads, matrix):
        self.call()


class SemiringSpGEMM(LibraryBenchmark):
    """C = A min.+ A (tropical semiring: one step of all-pairs shortest paths).

    sparsela ``spgemm(A, A, semiring="min_plus")``; GraphBLAS
    ``A.mxm(A, gb.semiring.min_plus).new()``. SciPy and MKL have no semirings.
    """

    functions = {"default": {
        "sparsela": lambda A: sl.spgemm(A, A, semiring="min_plus", sort_indices=False),
        "graphblas": lambda A: A.mxm(A, _gb_min_plus()).new(),
    }}

    def skip_if(self, library, threads, matrix, *extra):
        if not _has_spgemm_option("semiring"):
            skip("this sparsela's spgemm has no semiring")

    def time_min_plus(self, library, threads, matrix):
        self.call()


def _gb_min_plus():
    import graphblas as gb

    return gb.semiring.min_plus


_VXM_OPERANDS: dict = {}


def _frontier(S: sp.csr_array, stride: int, offset: int) -> sp.csr_array:
    """A 1 x n sparse row holding every ``stride``-th column from ``offset``
    (values 1, 2, ...), float64 and int32 indices like the inputs."""
    n = S.shape[1]
    cols = np.arange(offset, n, stride, dtype=np.int32)
    return sp.csr_array((np.arange(1, cols.size + 1, dtype=np.float64), cols,
                         np.array([0, cols.size], dtype=np.int32)), shape=(1, n))


class SemiringVxM(LibraryBenchmark):
    """One sparse row times the matrix over a semiring: a step of
    Bellman-Ford (``min_plus``) and of a BFS (``or_and``, the visited set as
    complemented mask). The whole product is one row of C: sparsela splits
    it across threads (``spgemm_heavy.py``).

    The frontier holds every 8th column, the visited set every 4th from 1.
    sparsela ``spgemm(x, A, semiring=...)`` (``mask=visited, complement=True``
    for the BFS); GraphBLAS ``x.mxm(A, min_plus).new()`` and
    ``x.mxm(A, lor_land).new(mask=~visited.S)``, x a 1 x n Matrix. The BFS
    operands are bool for both libraries.
    """

    functions = {
        "min_plus": {
            "sparsela": lambda x, A, xb, Ab, v: sl.spgemm(x, A, semiring="min_plus",
                                                         sort_indices=False),
            "graphblas": lambda x, A, xb, Ab, v: x.mxm(A, _gb_min_plus()).new(),
        },
        "bfs": {
            "sparsela": lambda x, A, xb, Ab, v: sl.spgemm(xb, Ab, semiring="or_and", mask=v,
                                                         complement=True, sort_indices=False),
            "graphblas": lambda x, A, xb, Ab, v: xb.mxm(Ab, _gb_lor_land()).new(mask=~v.S),
        },
    }

    def skip_if(self, library, threads, matrix, *extra):
        if not _has_spgemm_option("semiring"):
            skip("this sparsela's spgemm has no semiring")

    def operands(self, library, S, *extra):
        # the derived inputs are kept alive here: convert caches by id()
        key = (library, id(S))
        if key not in _VXM_OPERANDS:
            x, v = _frontier(S, 8, 0), _frontier(S, 4, 1)
            inputs = (x, S, x.astype(bool), S.astype(bool), v)
            _VXM_OPERANDS[key] = (inputs, tuple(convert(library, M) for M in inputs))
        return _VXM_OPERANDS[key][1]

    def time_vxm_min_plus(self, library, threads, matrix):
        self.call("min_plus")

    def time_bfs_step(self, library, threads, matrix):
        self.call("bfs")


def _gb_lor_land():
    import graphblas as gb

    return gb.semiring.lor_land


TOPK = 10


class TopK(LibraryBenchmark):
    """The TOPK = 10 largest entries of every row of A @ A, sorted by value.

    sparsela ``spgemm_topk(A, A, 10)``; sparse_dot_topn
    ``sp_matmul_topn(A, A, top_n=10, sort=True, n_threads=threads)``.
    """

    params = [["sparsela", "sparse_dot_topn"], THREADS, MATRICES]

    functions = {"default": {
        "sparsela": lambda A, threads: sl.spgemm_topk(A, A, TOPK),
        "sparse_dot_topn": lambda A, threads: _topn(A, threads),
    }}

    def skip_if(self, library, threads, matrix, *extra):
        if not hasattr(sl, "spgemm_topk"):
            skip("this sparsela has no spgemm_topk")

    def operands(self, library, S, *extra):
        return (convert(library, S), self._threads)

    def setup(self, library, threads, matrix):
        self._threads = threads
        super().setup(library, threads, matrix)

    def time_topk(self, library, threads, matrix):
        self.call()


def _topn(A, threads):
    from sparse_dot_topn import sp_matmul_topn

    return sp_matmul_topn(A, A, top_n=TOPK, sort=True, n_threads=threads if threads > 1 else None)


class SDDMM(LibraryBenchmark):
    """Sampled dense-dense product: (X @ Y.T) at the pattern of A, X and Y
    dense n x 64.

    sparsela ``sddmm(A, X, Y)``; GraphBLAS ``X.mxm(Y.T).new(mask=A.S)`` (a
    masked dot-product mxm); SciPy/NumPy gathers the rows:
    ``einsum("ij,ij->i", X[rows], Y[cols])`` into a CSR with A's pattern.
    """

    params = [["sparsela", "scipy", "graphblas"], THREADS, MATRICES]
    functions = {"default": {
        "sparsela": lambda A, X, Y: sl.sddmm(A, X, Y),
        "scipy": lambda A, X, Y: _numpy_sddmm(A, X, Y),
        "graphblas": lambda A, X, Y: X.mxm(Y.T).new(mask=A.S),
    }}

    def skip_if(self, library, threads, matrix, *extra):
        if not hasattr(sl, "sddmm"):
            skip("this sparsela has no sddmm")

    def operands(self, library, S, *extra):
        A = convert(library, S)
        X = get_dense(S.shape[0], SDDMM_COLUMNS)
        Y = get_dense(S.shape[1], SDDMM_COLUMNS)
        if library == "graphblas":
            import graphblas as gb

            return (A, gb.Matrix.from_dense(X), gb.Matrix.from_dense(Y))
        if library == "scipy":
            rows = S.tocoo().row
            return ((S, rows), X, Y)
        return (A, X, Y)

    def time_sddmm(self, library, threads, matrix):
        self.call()


def _numpy_sddmm(A_rows, X, Y):
    import numpy as np
    import scipy.sparse as sp

    A, rows = A_rows
    vals = np.einsum("ij,ij->i", X[rows], Y[A.indices])
    return sp.csr_array((vals, A.indices, A.indptr), shape=A.shape)

