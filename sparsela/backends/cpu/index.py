"""Row selection: gather arbitrary rows of a CSR array."""
from __future__ import annotations

from numba import prange

from ._jit import jit


@jit(parallel=True)
def csr_row_gather(Ap, Aj, Ax, rows, Bp, Bj, Bx):
    """Copy rows ``rows`` of (Ap, Aj, Ax) into preallocated (Bp, Bj, Bx).

    ``Bp`` holds the prefix sum of the selected rows' lengths.
    """
    for r in prange(rows.shape[0]):
        src = Ap[rows[r]]
        dest = Bp[r]
        for t in range(Bp[r + 1] - dest):
            Bj[dest + t] = Aj[src + t]
            Bx[dest + t] = Ax[src + t]
