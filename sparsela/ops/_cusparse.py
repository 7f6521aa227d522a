"""Products of GPU arrays through cuSPARSE (``cupyx.scipy.sparse``).

Selected with ``sparsela.config_context(backend="cusparse")``: the baseline
sparsela's own CUDA kernels are measured against, and a fallback. Buffers
are shared with cupyx, not copied; nothing moves between devices.
"""
from __future__ import annotations

import numpy as np

from .._config import get_config
from .._device import simulated

__all__ = ["active", "dense_product", "spgemm"]


def active(*arrays) -> bool:
    """True when cuSPARSE is selected and the operands live on the GPU."""
    return get_config()["backend"] == "cusparse" and all(a.device == "gpu" for a in arrays)


def _cupyx_sparse():
    if simulated():
        raise RuntimeError("backend='cusparse' needs a real GPU: cuSPARSE is not available "
                           "on the simulated device")
    import cupyx.scipy.sparse as csp

    return csp


def _to_cupyx(A, dtype):
    """A cupyx CSR/CSC matrix sharing A's buffers (values cast to ``dtype``)."""
    csp = _cupyx_sparse()
    if A.format not in ("csr", "csc"):
        A = A.tocsr()
    cls = csp.csr_matrix if A.format == "csr" else csp.csc_matrix
    data = A.data.astype(dtype, copy=False)
    # cuSPARSE takes int32 indices only
    return cls((data, A.indices.astype(np.int32, copy=False),
                A.indptr.astype(np.int32, copy=False)), shape=A.shape, copy=False)


def _cusparse_dtype(dt):
    # cuSPARSE computes in float32/float64/complex64/complex128 only
    dt = np.dtype(dt)
    return dt if dt.kind in "fc" else np.dtype(np.float64)


def dense_product(A, X, transpose: bool, out_dt):
    """``A @ X`` (or ``A.T @ X``) by cuSPARSE, in ``out_dt``."""
    cdt = _cusparse_dtype(out_dt)
    S = _to_cupyx(A, cdt)
    if transpose:
        S = S.T
    Y = S @ X.astype(cdt, copy=False)
    return Y if Y.dtype == out_dt else Y.astype(out_dt)


def spgemm(A, B, out_dt):
    """CSR arrays (indptr, indices, data) of ``A @ B`` by cuSPARSE (unsorted)."""
    cdt = _cusparse_dtype(out_dt)
    C = (_to_cupyx(A.tocsr(), cdt) @ _to_cupyx(B.tocsr(), cdt)).tocsr()
    data = C.data if C.data.dtype == out_dt else C.data.astype(out_dt)
    return C.indptr, C.indices, data
