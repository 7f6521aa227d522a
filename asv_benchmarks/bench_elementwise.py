"""Elementwise sparse (op) sparse, side by side: C = A + B and C = A .* B.

``B = 0.5 * A.T`` materialised as canonical CSR (a different pattern from A
for the non-symmetric inputs: R-MAT, Erdos-Renyi, cryg2500; the same pattern
for the symmetric ones). sparsela ``add(A, B)`` / ``A.multiply(B)``; SciPy
``A + B`` / ``A.multiply(B)``; GraphBLAS ``A.ewise_add(B).new()`` /
``A.ewise_mult(B).new()``. MKL (sparse_dot_mkl) offers no elementwise
operation: skipped.
"""
from __future__ import annotations

import scipy.sparse as sp

from .common import LibraryBenchmark, convert, sl, transpose_half

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


class Elementwise(LibraryBenchmark):
    """A + B (union of patterns) and A .* B (intersection)."""

    functions = {"add": ADD, "multiply": MULTIPLY}

    def operands(self, library, S: sp.csr_array, *extra):
        return (convert(library, S), convert(library, transpose_half(S)))

    def time_add(self, library, threads, matrix):
        self.call("add")

    def time_multiply(self, library, threads, matrix):
        self.call("multiply")
