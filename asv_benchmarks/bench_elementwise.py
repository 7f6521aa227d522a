"""Elementwise sparse (op) sparse, side by side: C = A + B and C = A .* B.

``B = 0.5 * A.T`` materialised as canonical CSR (a different pattern from A
for the non-symmetric inputs: R-MAT, cryg2500; the same pattern for the
symmetric ones). sparsela ``add(A, B)`` / ``A.multiply(B)``; SciPy ``A + B`` /
``A.multiply(B)``; GraphBLAS ``A.ewise_add(B).new()`` /
``A.ewise_mult(B).new()``. MKL (sparse_dot_mkl) offers no elementwise
operation: skipped.
"""
from __future__ import annotations

from .common import (
    LIBRARIES,
    MATRICES,
    THREADS,
    convert,
    get_matrix,
    get_transpose,
    sl,
    skip,
    tiny_matrix,
    use_library,
    warm_up,
)

ADD = {
    "sparsela": lambda A, B: sl.add(A, B),
    "scipy": lambda A, B: A + B,
    "graphblas": lambda A, B: A.ewise_add(B).new(),
}
MULTIPLY = {
    "sparsela": lambda A, B: A.multiply(B),
    "scipy": lambda A, B: A.multiply(B),
    "graphblas": lambda A, B: A.ewise_mult(B).new(),
}


class Elementwise:
    """A + B (union of patterns) and A .* B (intersection)."""

    params = [LIBRARIES, THREADS, MATRICES]
    param_names = ["library", "threads", "matrix"]

    def setup(self, library, threads, matrix):
        if library not in ADD:
            skip(f"{library} has no sparse elementwise add/multiply")
        use_library(library, threads)
        self.A = convert(library, get_matrix(matrix))
        self.B = convert(library, get_transpose(matrix))
        self.add, self.multiply = ADD[library], MULTIPLY[library]
        T = convert(library, tiny_matrix())
        warm_up(("elementwise", library), lambda: (self.add(T, T), self.multiply(T, T)))

    def time_add(self, library, threads, matrix):
        self.add(self.A, self.B)

    def time_multiply(self, library, threads, matrix):
        self.multiply(self.A, self.B)
