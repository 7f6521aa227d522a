"""Row selection on the GPU: gather arbitrary rows of a CSR array (mirror of
``backends/cpu/index.py``).

The ops layer does the count pass (``Ap[rows + 1] - Ap[rows]``) and the scan
(``cumsum`` into ``Bp``) with array operations, which CuPy runs on the
device; the fill pass is the kernel here.

Launch geometry: one thread per *output* entry (``Bj.shape[0]`` threads in
blocks of ``THREADS``). A thread finds its selected row by binary search in
``Bp`` (log(len(rows)) cached reads) and copies one entry, so consecutive
threads read and write consecutive addresses (coalesced) and a long row
never serialises a thread, whatever the row lengths.
"""
from __future__ import annotations

from numba import cuda

from . import _cuda
from ._search import last_le

__all__ = ["csr_row_gather"]


@_cuda.kernel
def _row_gather_kernel(Ap, Aj, Ax, rows, Bp, Bj, Bx):
    t = cuda.grid(1)
    if t >= Bj.shape[0]:
        return
    # selected row of output entry t: the last r with Bp[r] <= t
    r = last_le(Bp, rows.shape[0], t)
    src = Ap[rows[r]] + (t - Bp[r])
    Bj[t] = Aj[src]
    Bx[t] = Ax[src]


def csr_row_gather(Ap, Aj, Ax, rows, Bp, Bj, Bx) -> None:
    """Copy rows ``rows`` of (Ap, Aj, Ax) into preallocated (Bp, Bj, Bx).

    ``Bp`` holds the prefix sum of the selected rows' lengths. ``Bj`` and
    ``Bx`` are written in place (``Bp[-1]`` entries each); all arrays live on
    the device.
    """
    n = int(Bj.shape[0])
    if n == 0 or rows.shape[0] == 0:
        return
    _cuda.launch(_row_gather_kernel, n, Ap, Aj, Ax, rows, Bp, Bj, Bx)
