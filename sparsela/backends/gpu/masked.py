"""Masked SpGEMM on the GPU: C = (A ⊕.⊗ B) restricted to the structure of a
mask M (mirror of ``backends/cpu/masked.py``).

Every entry of C is an entry of M, so products are accumulated *in M's
slots*: the expansion kernel of ``semiring.py`` (one thread per partial
product, see there for its geometry) looks each product's column up in its
mask row — a binary search in the sorted ``Mj[Mp[i]:Mp[i + 1]]``, global
memory, O(log nnz(M[i, :])) reads that stay in cache for the row's
neighbouring threads — and drops it when the mask does not hold it. The
kept products are stably sorted by slot (slots run in row-major order over
the canonical mask) and one thread per reached slot folds ⊕ over them in
generation order. Reached slots are the entries of C, so C comes out sorted
and only the mask's columns are ever stored.

Both CPU paths (row-wise and dot) fold ⊕ over k in ascending order; the
products of one slot are generated in that order too (canonical A, one
product per k), so the result equals the CPU kernel's on either path,
rounding included. Scratch is O(flops) (the expanded products); the CPU's
dot path (cheaper for very sparse masks) has no GPU counterpart here, so
``bt`` and ``path`` are accepted and not used.
"""
from __future__ import annotations

from numba import cuda  # noqa: F401  (the kernels are semiring.py's numba.cuda kernels)

from ..._sputils import get_index_dtype
from . import _cuda
from .semiring import empty_csr, expand_sort_reduce

__all__ = ["csr_spgemm_masked"]


def csr_spgemm_masked(n_row: int, n_col: int, Ap, Aj, Ax, Bp, Bj, Bx, Mp, Mj, add_op: int,
                      mul_op: int, *, bt=None, path: str = "auto"):
    """C = (A ⊕.⊗ B) masked by the structure of M, without forming A ⊕.⊗ B.

    Parameters
    ----------
    n_row, n_col : int
        Shape of C (and of M).
    Ap, Aj, Ax, Bp, Bj, Bx : device array
        *Canonical* CSR arrays of A (``n_row x k``) and B (``k x n_col``),
        one index dtype, one value dtype.
    Mp, Mj : device array
        Canonical CSR structure of the mask (sorted, no repeats), index dtype
        of A. Its values play no part (structural mask).
    add_op, mul_op : int
        Operator codes of ``semiring.py``.
    bt : callable, optional
        Accepted for the CPU signature (B in CSC for its dot path); unused.
    path : {"auto", "row", "dot"}
        Accepted for the CPU signature; the GPU has one path, whose results
        equal both CPU paths'.

    Returns
    -------
    Cp, Cj, Cx : device array
        CSR arrays of C, rows sorted, index dtype int32 while it fits.

    Notes
    -----
    Inputs are never modified; ``Cj`` never shares memory with ``Mj``.
    """
    if path not in ("auto", "row", "dot"):
        raise ValueError(f"path must be 'auto', 'row' or 'dot', got {path!r}")
    xp = _cuda.array_module(Ap, Aj, Ax, Bp, Bj, Bx, Mp, Mj)
    n_row, n_col = int(n_row), int(n_col)
    if Mj.shape[0] == 0:
        return empty_csr(xp, n_row, n_col, Ax.dtype)
    _, _, vals, slots = expand_sort_reduce(xp, n_row, n_col, Ap, Aj, Ax, Bp, Bj, Bx, add_op,
                                           mul_op, Mp, Mj, keep="in")
    if vals is None:
        return empty_csr(xp, n_row, n_col, Ax.dtype)
    nnz = int(vals.shape[0])
    cidx = get_index_dtype(maxval=max(nnz, n_col))
    # C[i] holds the reached slots of M[i]: Cp[i] = reached slots before Mp[i]
    Cp = xp.searchsorted(slots, Mp.astype(slots.dtype), side="left").astype(cidx)
    return Cp, Mj[slots].astype(cidx), vals
