"""Structure of elementwise CSR (op) CSR on the GPU: merge sorted rows into a union
or intersection.

Mirror of ``backends/cpu/binop.py``: the same functions, signatures and
results. The kernels only merge column indices and record, for each result
entry, where its operands live (``ia``/``ib``, -1 for an implicit zero); the
caller computes the values with array ufuncs. Inputs must be canonical
(sorted, no duplicates).

Launch geometry (first version): one thread per row (1-D grid over
``n_row``), each running the CPU kernel's two-pointer merge of its row of A
and B. Simple and exact, but a row much longer than the others is merged
by a single thread, and neighbouring threads read different rows (loads are
not coalesced). A merge-path split of long rows over a group of threads is
the next step.
"""
from __future__ import annotations

from numba import cuda

from . import _cuda
from .spmv import gid

__all__ = ["csr_merge_count", "csr_merge_fill"]


@_cuda.device
def _merge_row(i, Ap, Aj, Bp, Bj, intersect, Cj, ia, ib, dest, write):
    # the CPU kernel's merge, verbatim
    a = Ap[i]
    a_end = Ap[i + 1]
    b = Bp[i]
    b_end = Bp[i + 1]
    n = 0
    while a < a_end or b < b_end:
        if b >= b_end or (a < a_end and Aj[a] < Bj[b]):
            if not intersect:
                if write:
                    Cj[dest + n] = Aj[a]
                    ia[dest + n] = a
                    ib[dest + n] = -1
                n += 1
            a += 1
        elif a >= a_end or Bj[b] < Aj[a]:
            if not intersect:
                if write:
                    Cj[dest + n] = Bj[b]
                    ia[dest + n] = -1
                    ib[dest + n] = b
                n += 1
            b += 1
        else:
            if write:
                Cj[dest + n] = Aj[a]
                ia[dest + n] = a
                ib[dest + n] = b
            n += 1
            a += 1
            b += 1
    return n


@_cuda.kernel
def _csr_merge_count(Ap, Aj, Bp, Bj, intersect, counts):
    i = gid()
    if i < Ap.shape[0] - 1:
        counts[i] = _merge_row(i, Ap, Aj, Bp, Bj, intersect, Aj, Aj, Aj, 0, False)


@_cuda.kernel
def _csr_merge_fill(Ap, Aj, Bp, Bj, intersect, Cp, Cj, ia, ib):
    i = gid()
    if i < Ap.shape[0] - 1:
        _merge_row(i, Ap, Aj, Bp, Bj, intersect, Cj, ia, ib, Cp[i], True)


def csr_merge_count(Ap, Aj, Bp, Bj, intersect, counts) -> None:
    """``counts[i]`` = size of the union (or intersection) of row ``i``'s columns.

    One thread per row (module docstring).
    """
    n_row = Ap.shape[0] - 1
    if n_row <= 0:
        return
    _cuda.launch(_csr_merge_count, n_row, Ap, Aj, Bp, Bj, bool(intersect), counts)


def csr_merge_fill(Ap, Aj, Bp, Bj, intersect, Cp, Cj, ia, ib) -> None:
    """Write merged columns ``Cj`` and source positions ``ia``/``ib`` (-1: absent).

    One thread per row (module docstring), writing from ``Cp[i]``.
    """
    n_row = Ap.shape[0] - 1
    if n_row <= 0 or Cj.shape[0] == 0:
        return
    _cuda.launch(_csr_merge_fill, n_row, Ap, Aj, Bp, Bj, bool(intersect), Cp, Cj, ia, ib)
