"""airspeed velocity (asv) benchmarks of sparsela, side by side with SciPy,
python-graphblas (SuiteSparse:GraphBLAS) and Intel MKL (sparse_dot_mkl).

Run from the repository root (see ``docs/benchmarks.md``)::

    asv machine --yes
    asv run -E existing:$(which python) --quick --show-stderr

Shared input generation and library adapters live in :mod:`.common`.
"""
