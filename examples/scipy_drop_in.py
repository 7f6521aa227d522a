"""
Switch a SciPy workflow to sparsela
===================================

Change the import and keep the code: build a 2-D Poisson matrix, square it,
run a few Jacobi sweeps with SpMV, and check every result against SciPy.

Run: ``python examples/scipy_drop_in.py``
"""
import numpy as np
import scipy.sparse as sp

import sparsela as sl
from sparsela.generators import poisson2d

A = poisson2d(100)  # 10_000 x 10_000, 5-point Laplacian
A_sp = A.to_scipy()  # the same buffers, seen by SciPy

# SpGEMM: the 9-point stencil structure of A @ A
C = A @ A
assert np.allclose((C - sp.csr_array(A_sp @ A_sp)).data, 0)

# Jacobi iterations for A u = b with SpMV
b = np.ones(A.shape[0])
d = A.diagonal()
u = np.zeros_like(b)
for _ in range(50):
    u = u + (b - A @ u) / d
print(f"Jacobi residual after 50 sweeps: {np.linalg.norm(b - A_sp @ u):.3e}")

# elementwise ops and reductions keep SciPy's semantics
B = (A + A.T).multiply(0.5)
print("symmetric part equals A:", abs(B - A).max() == 0)
print("row sums (first 5):", (A.sum(axis=1))[:5])
with sl.config_context(num_threads=1):
    C1 = A @ A
print("1 thread and all threads agree:", np.array_equal(C1.data, C.data))
