"""CUDA kernels on raw CSR/CSC/COO arrays that live on the GPU (CuPy).

Mirrors ``backends/cpu`` file for file and function for function: the same
names, the same signatures and the same results, on CuPy arrays. Kernels are
``numba.cuda`` kernels launched on CuPy arrays through the CUDA array
interface, with CuPy for scans, sorts and allocation (see ``_cuda.py`` and
``docs/design.md`` for why). Nothing here is imported by ``import sparsela``:
``sparsela.ops`` loads a module the first time an array on the GPU needs it.
"""
