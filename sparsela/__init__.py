"""sparsela: sparse linear algebra for Python.

SciPy-compatible sparse arrays (``csr_array``, ``csc_array``, ``coo_array``,
``bsr_array``) whose products and elementwise operations run on Numba-parallel
kernels. Switching from SciPy is one import::

    import sparsela as sl
    A = sl.csr_array(scipy_matrix)     # shares scipy's buffers
    C = sl.spgemm(A, A)                # same as A @ A
"""
from __future__ import annotations

import importlib

from ._config import (
    backend,
    config_context,
    get_config,
    get_num_threads,
    set_config,
    set_num_threads,
)
from .construct import *  # noqa: F401,F403
from .construct import __all__ as _construct_all
from .formats import (
    SparseArray,
    SparseEfficiencyWarning,
    asarray,
    bsr_array,
    coo_array,
    csc_array,
    csr_array,
    issparse,
)
from .ops.elementwise import add
from .ops.matmul import spmm, spmv
from .ops.sddmm import sddmm
from .ops.spgemm import spgemm, spgemm_topk
from .ops.transpose import transpose

__version__ = "0.1.0.dev0"

__all__ = [
    "SparseArray", "SparseEfficiencyWarning", "issparse", "asarray",
    "coo_array", "csr_array", "csc_array", "bsr_array",
    "spmv", "spmm", "spgemm", "spgemm_topk", "sddmm", "add", "transpose",
    "backend", "config_context", "get_config", "set_config",
    "get_num_threads", "set_num_threads",
    "io", "generators", "linalg", "utils",
    "decomposition", "linear_model", "cross_decomposition", "ot", "dask",
    *_construct_all,
]

# submodules load on first use, keeping ``import sparsela`` light
_SUBMODULES = {"io", "generators", "linalg", "utils", "decomposition",
               "linear_model", "cross_decomposition", "ot", "dask"}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'sparsela' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES)
