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
    A : sparse array (sparsela or scipy.sparse)
    copy : bool
        Copy the buffers instead of sharing them.
    """
    return as_sparse(A, "A").transpose(copy=copy)
