"""Structure of elementwise CSR (op) CSR: merge sorted rows into a union or intersection.

The kernel only merges column indices and records, for each result entry,
where its operands live (``ia``/``ib``, -1 for an implicit zero). The values
are then computed by the caller with NumPy ufuncs, so every op (add,
comparisons, maximum, ...) on every dtype has NumPy's semantics exactly and
the kernel is compiled once per index dtype, not once per op and dtype.
Inputs must be canonical (sorted, no duplicates).
"""
from __future__ import annotations

from numba import prange

from ._jit import jit


@jit(inline="always")
def _merge_row(i, Ap, Aj, Bp, Bj, intersect, Cj, ia, ib, dest, write):
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


@jit(parallel=True)
def csr_merge_count(Ap, Aj, Bp, Bj, intersect, counts):
    """``counts[i]`` = size of the union (or intersection) of row ``i``'s columns."""
    n_row = Ap.shape[0] - 1
    for i in prange(n_row):
        counts[i] = _merge_row(i, Ap, Aj, Bp, Bj, intersect, Aj, Aj, Aj, 0, False)


@jit(parallel=True)
def csr_merge_fill(Ap, Aj, Bp, Bj, intersect, Cp, Cj, ia, ib):
    """Write merged columns ``Cj`` and source positions ``ia``/``ib`` (-1: absent)."""
    n_row = Ap.shape[0] - 1
    for i in prange(n_row):
        _merge_row(i, Ap, Aj, Bp, Bj, intersect, Cj, ia, ib, Cp[i], True)
