"""Sparse array containers: COO, CSR, CSC, BSR."""
from __future__ import annotations


from ._base import SparseArray, SparseEfficiencyWarning, issparse
from ._compressed import _is_cupyx_sparse
from .bsr import bsr_array
from .coo import coo_array
from .csc import csc_array
from .csr import csr_array

__all__ = [
    "SparseArray",
    "SparseEfficiencyWarning",
    "asarray",
    "bsr_array",
    "coo_array",
    "csc_array",
    "csr_array",
    "issparse",
]

_CLASSES = {"csr": csr_array, "csc": csc_array, "coo": coo_array, "bsr": bsr_array}


def asarray(obj, format: str | None = None, dtype=None, *,
            device: str | None = None) -> SparseArray:
    """Return ``obj`` as a sparsela sparse array, without copying when possible.

    Parameters
    ----------
    obj : sparsela array, scipy.sparse array/matrix or dense array_like
        Sparse inputs keep their format (and share buffers); dense input
        becomes CSR.
    format : {'csr', 'csc', 'coo', 'bsr'}, optional
        Convert to this format.
    dtype : dtype, optional
        Cast the values (no copy when they already have this dtype).
    device : {'cpu', 'gpu'}, optional
        Put the result on this device (an explicit move when ``obj`` lives
        elsewhere). By default the result stays where ``obj`` lives: NumPy
        and ``scipy.sparse`` input on the CPU, CuPy and
        ``cupyx.scipy.sparse`` input on the GPU.

    Returns
    -------
    SparseArray
        ``obj`` itself when it is a sparsela array already in the requested
        format and dtype; otherwise a sparsela array that shares buffers with
        ``obj`` where no conversion or cast was needed.

    Raises
    ------
    ValueError
        If ``format`` is not one of the four names, or dense input is not
        2-D.
    TypeError
        If dense input is not numeric.
    """
    if format is not None and format not in _CLASSES:
        raise ValueError(f"format must be one of {sorted(_CLASSES)}, got {format!r}")
    if isinstance(obj, SparseArray):
        out = obj
    else:
        import scipy.sparse as sp

        if sp.issparse(obj) or _is_cupyx_sparse(obj):
            fmt = obj.format if obj.format in _CLASSES else "csr"
            out = _CLASSES[fmt](obj)
        else:
            out = csr_array(obj)
    if device is not None:
        out = out.to_device(device)
    if format is not None:
        out = out.asformat(format)
    if dtype is not None:
        out = out.astype(dtype, copy=False)
    return out
