"""Public ``transpose``: a view-like transpose that shares buffers."""
from __future__ import annotations

from ._validation import as_sparse

__all__ = ["transpose"]


def transpose(A, *, copy: bool = False):
    """Transpose of a sparse array.

    CSR becomes CSC (and back) sharing the same buffers, as in SciPy; call
    ``.tocsr()`` on the result for a materialised CSR transpose.

    Parameters
    ----------
    A : sparse array
        A sparsela or ``scipy.sparse`` array (a SciPy input is wrapped
        without copying).
    copy : bool, default False
        Copy the buffers instead of sharing them.

    Returns
    -------
    SparseArray
        The ``(N, M)`` transpose: a ``csc_array`` for CSR input, a
        ``csr_array`` for CSC input, a ``coo_array`` for COO input and a
        ``bsr_array`` (with transposed blocks, newly built) for BSR input.

    Raises
    ------
    TypeError
        If ``A`` is not a sparse array.
    """
    return as_sparse(A, "A").transpose(copy=copy)
