"""Numba kernels on raw CSR/CSC/COO/BSR arrays.

Each module holds one family of kernels and knows nothing of the format
classes; ``sparsela.ops`` is the only caller. ``backends/gpu`` mirrors these
files name for name.
"""
