"""Structure of elementwise CSR (op) CSR on the GPU: merge sorted rows into a union
or intersection.

Mirror of ``backends/cpu/binop.py``: the same functions, signatures and
results. The kernels only merge column indices and record, for each result
entry, where its operands live (``ia``/``ib``, -1 for an implicit zero); the
caller computes the values with array ufuncs. Inputs must be canonical
(sorted, no duplicates).

Instead of the CPU kernel's two-pointer merge per row (one thread per row
would leave a long row to a single thread), every stored entry finds its
own place in the merged row by binary search, so work is balanced however
skewed the rows are:

1. one thread per entry of A (1-D grid over nnz(A)) finds its row (binary
   search in ``Ap``) and the rank of its column in B's row (lower bound in
   ``Bj``); a match flags the column as common to both;
2. an exclusive prefix sum of the flags (``xp.cumsum``) counts the common
   columns before any entry;
3. the merged position of A's entry is ``Cp[i]`` + (A's columns before it)
   + (B's columns before it) - (common columns before it); one thread per
   entry of B (1-D grid over nnz(B)) does the same for B's entries that A
   lacks. An intersection keeps the flagged entries of A, at ``Cp[i]`` +
   (common columns before it).

``csr_merge_count`` runs steps 1-2 and one thread per row for the counts;
``csr_merge_fill`` runs 1-3. Scratch: two int64 arrays of length nnz(A) + 1.
No host synchronisation.
"""
from __future__ import annotations

import numpy as np
from numba import cuda

from . import _cuda
from ._search import last_le, lower_bound
from .spmv import gid

__all__ = ["csr_merge_count", "csr_merge_fill"]


@_cuda.kernel
def _match_a(Ap, Aj, Bp, Bj, flag, where):
    # flag[a + 1] = 1 when A's entry a has its column in B's row too;
    # where[a] = position in Bj of the first column >= Aj[a] in that row
    a = gid()
    n = Ap.shape[0] - 1
    if a < Aj.shape[0]:
        f = 0
        if n > 0 and a >= Ap[0] and a < Ap[n]:
            i = last_le(Ap, n, a)
            b1 = Bp[i + 1]
            k = lower_bound(Bj, Bp[i], b1, Aj[a])
            where[a] = k
            if k < b1 and Bj[k] == Aj[a]:
                f = 1
        flag[a + 1] = f


@_cuda.kernel
def _count_rows(Ap, Bp, common, intersect, counts):
    # common[p] = columns shared with B among A's entries before position p
    i = gid()
    if i < counts.shape[0]:
        c = common[Ap[i + 1]] - common[Ap[i]]
        if intersect:
            counts[i] = c
        else:
            counts[i] = (Ap[i + 1] - Ap[i]) + (Bp[i + 1] - Bp[i]) - c


@_cuda.kernel
def _fill_a(Ap, Aj, Bp, common, where, intersect, Cp, Cj, ia, ib):
    # A's entry a: merged position from the ranks of its column in both rows
    a = gid()
    n = Ap.shape[0] - 1
    if a < Aj.shape[0] and n > 0 and a >= Ap[0] and a < Ap[n]:
        i = last_le(Ap, n, a)
        matched = common[a + 1] != common[a]
        before = common[a] - common[Ap[i]]
        k = where[a]
        if intersect:
            if matched:
                dest = Cp[i] + before
                Cj[dest] = Aj[a]
                ia[dest] = a
                ib[dest] = k
        else:
            dest = Cp[i] + (a - Ap[i]) + (k - Bp[i]) - before
            Cj[dest] = Aj[a]
            ia[dest] = a
            if matched:
                ib[dest] = k
            else:
                ib[dest] = -1


@_cuda.kernel
def _fill_b(Ap, Aj, Bp, Bj, common, Cp, Cj, ia, ib):
    # B's entry b, when A's row lacks its column (a union only)
    b = gid()
    n = Bp.shape[0] - 1
    if b < Bj.shape[0] and n > 0 and b >= Bp[0] and b < Bp[n]:
        i = last_le(Bp, n, b)
        a0 = Ap[i]
        a1 = Ap[i + 1]
        k = lower_bound(Aj, a0, a1, Bj[b])
        if k < a1 and Aj[k] == Bj[b]:
            return  # written by A's entry k
        dest = Cp[i] + (b - Bp[i]) + (k - a0) - (common[k] - common[a0])
        Cj[dest] = Bj[b]
        ia[dest] = -1
        ib[dest] = b


def _common_prefix(Ap, Aj, Bp, Bj):
    """``(common, where)``: ``common[p]`` = A's entries before ``p`` whose
    column B's row holds too (a prefix sum of match flags), and ``where``
    (steps 1-2 of the module docstring)."""
    xp = _cuda.array_module(Ap)
    n_a = Aj.shape[0]
    flag = xp.zeros(n_a + 1, dtype=np.int64)
    where = xp.empty(n_a, dtype=np.int64)
    _cuda.launch(_match_a, n_a, Ap, Aj, Bp, Bj, flag, where)
    return xp.cumsum(flag), where


def csr_merge_count(Ap, Aj, Bp, Bj, intersect, counts) -> None:
    """``counts[i]`` = size of the union (or intersection) of row ``i``'s columns.

    One thread per entry of A (binary searches, module docstring), a prefix
    sum, then one thread per row: ``|A_i| + |B_i| - common`` (union) or
    ``common`` (intersection).
    """
    n_row = Ap.shape[0] - 1
    if n_row <= 0:
        return
    common, _ = _common_prefix(Ap, Aj, Bp, Bj)
    _cuda.launch(_count_rows, n_row, Ap, Bp, common, bool(intersect), counts)


def csr_merge_fill(Ap, Aj, Bp, Bj, intersect, Cp, Cj, ia, ib) -> None:
    """Write merged columns ``Cj`` and source positions ``ia``/``ib`` (-1: absent).

    One thread per entry of A, then (union) one per entry of B, each writing
    its own merged position (module docstring); rows start at ``Cp[i]``.
    """
    n_row = Ap.shape[0] - 1
    if n_row <= 0 or Cj.shape[0] == 0:
        return
    common, where = _common_prefix(Ap, Aj, Bp, Bj)
    _cuda.launch(_fill_a, Aj.shape[0], Ap, Aj, Bp, common, where, bool(intersect), Cp, Cj,
                 ia, ib)
    if not intersect:
        _cuda.launch(_fill_b, Bj.shape[0], Ap, Aj, Bp, Bj, common, Cp, Cj, ia, ib)
