"""SpGEMM over a semiring on the GPU: C[i, j] = ⊕_k A[i, k] ⊗ B[k, j] on CSR
arrays (mirror of ``backends/cpu/semiring.py``), optionally without the
entries of an excluded pattern (complemented mask).

Algorithm: expand, sort, reduce (ESC), the GPU formulation that needs no
per-row scratch and no atomics, so it serves every ⊕ (NaN-ignoring min/max,
complex plus, bool or) with the same three kernels (flag, expand, reduce):

1. *expand* — one thread per partial product ``A[i, k] ⊗ B[k, j]``, numbered
   in the CPU kernel's order (row, then A's stored order, then B's). A
   thread finds its entry of A by binary search in the exclusive scan of
   ``nnz(B[k, :])`` over A's entries, and its row by binary search in
   ``Ap``; consecutive threads read consecutive entries of the same row of
   B and write consecutive slots (coalesced), and a long row is spread
   over as many threads as it has products (no load imbalance). With a
   mask (or an excluded pattern) a first pass of the same geometry looks
   each product's column up in its (row-sorted) mask row by binary search
   and writes a 1-byte keep flag; only the kept products are expanded, so
   the scratch is 1 byte per product plus the kept products.
2. *sort* — a stable sort of the kept products by (row, column) (CuPy's
   radix sort); stability keeps each entry's products in generation order.
3. *reduce* — one thread per distinct (row, column) folds ⊕ over its run in
   that order: exactly the CPU kernel's fold order, so results agree with
   it bit for bit (min/max/or trivially, plus including its rounding).

C comes out with sorted rows whether or not ``sort_indices`` asks for it.
Memory is O(kept products) for the expanded products (a row-wise hash kernel would
need O(nnz(C)); that is the plain-product ``spgemm.py``'s job). Also holds
the helpers ``masked.py`` and ``topk.py`` share (operator device functions,
the ESC pipeline).
"""
from __future__ import annotations

import numpy as np
from numba import cuda

from ..._sputils import get_index_dtype
from ..cpu.semiring import AND, MAX, MIN, OR, PLUS, TIMES
from . import _cuda
from ._search import last_le, lower_bound

__all__ = [
    "AND",
    "MAX",
    "MIN",
    "OR",
    "PLUS",
    "TIMES",
    "csr_spgemm_semiring",
]

_I64 = np.int64


# --------------------------------------------------------------------------
# operators
# --------------------------------------------------------------------------
if _cuda.SIMULATOR:
    # The simulator runs kernels as Python: the operators dispatch on the
    # value type at run time, as the CPU overloads do at compile time.
    @_cuda.device
    def sr_add(op, x, y):
        if isinstance(x, (complex, np.complexfloating)):
            return x + y
        if isinstance(x, (bool, np.bool_)):
            return x | y
        if op == PLUS:
            return x + y
        if op == MIN:
            return y if (y < x or x != x) else x  # noqa: PLR0124 (NaN test)
        return y if (y > x or x != x) else x  # noqa: PLR0124

    @_cuda.device
    def sr_mul(op, x, y):
        if isinstance(x, (complex, np.complexfloating)):
            return x * y
        if isinstance(x, (bool, np.bool_)):
            return x & y
        if op == TIMES:
            return x * y
        if op == PLUS:
            return x + y
        return y if (y < x or x != x) else x  # noqa: PLR0124
else:
    # On the real target the CPU module's overloads (generic target) compile
    # for CUDA too: one definition of every operator's semantics.
    from ..cpu.semiring import _sr_add as sr_add
    from ..cpu.semiring import _sr_mul as sr_mul


# --------------------------------------------------------------------------
# device helpers and kernels
# --------------------------------------------------------------------------
@_cuda.kernel
def _flag_kernel(Ap, Aj, Bp, Bj, offs, Mp, Mj, keep_in, flags):
    # flags[t] = 1 when product t is kept: its column is (keep_in) or is not
    # (not keep_in) stored in its mask row; 1 byte a product instead of the
    # expanded product's ~24
    t = cuda.grid(1)
    if t >= flags.shape[0]:
        return
    jj = last_le(offs, offs.shape[0] - 1, t)       # entry of A
    i = last_le(Ap, Ap.shape[0] - 1, jj)           # its row
    j = Bj[Bp[Aj[jj]] + (t - offs[jj])]
    hi = Mp[i + 1]
    q = lower_bound(Mj, Mp[i], hi, j)
    found = q < hi and Mj[q] == j
    flags[t] = 1 if found == (keep_in != 0) else 0


@_cuda.kernel
def _expand_kernel(Ap, Aj, Ax, Bp, Bj, Bx, offs, sel, use_sel, Mp, Mj, use_mask, mul_op, prow,
                   pcol, pval, pslot):
    # product u of the expansion is product sel[u] of A ⊕.⊗ B (all of them,
    # in order, without sel)
    u = cuda.grid(1)
    if u >= pval.shape[0]:
        return
    t = sel[u] if use_sel else u
    jj = last_le(offs, offs.shape[0] - 1, t)       # entry of A
    i = last_le(Ap, Ap.shape[0] - 1, jj)           # its row
    kk = Bp[Aj[jj]] + (t - offs[jj])               # entry of B
    j = Bj[kk]
    prow[u] = i
    pcol[u] = j
    pval[u] = sr_mul(mul_op, Ax[jj], Bx[kk])
    if use_mask:
        hi = Mp[i + 1]
        q = lower_bound(Mj, Mp[i], hi, j)
        pslot[u] = q if (q < hi and Mj[q] == j) else -1


@_cuda.kernel
def _reduce_kernel(starts, order, pval, add_op, out):
    s = cuda.grid(1)
    n_runs = starts.shape[0]
    if s >= n_runs:
        return
    lo = starts[s]
    hi = starts[s + 1] if s + 1 < n_runs else order.shape[0]
    v = pval[order[lo]]
    for q in range(lo + 1, hi):
        v = sr_add(add_op, v, pval[order[q]])
    out[s] = v


# --------------------------------------------------------------------------
# the ESC pipeline (host side: CuPy array operations and kernel launches)
# --------------------------------------------------------------------------
def row_ids(xp, indptr, nnz: int):
    """Row of each of the first ``nnz`` entries of a CSR ``indptr`` (int64)."""
    return xp.searchsorted(indptr.astype(_I64), xp.arange(nnz, dtype=_I64), side="right") - 1


def lex_order(xp, major, minor, n_major: int, n_minor: int):
    """Stable order of the entries by (major, minor): nonnegative int arrays
    with values below ``n_major`` and ``n_minor``."""
    if major.shape[0] <= 1:
        return xp.arange(major.shape[0], dtype=_I64)
    if int(n_major) * int(n_minor) < 2**62:
        key = major.astype(_I64) * _I64(max(int(n_minor), 1)) + minor.astype(_I64)
        return xp.argsort(key, kind="stable")
    order = xp.argsort(minor, kind="stable")
    return order[xp.argsort(major[order], kind="stable")]


def sort_rows(xp, n_row: int, n_col: int, Xp, Xj):
    """Column indices of the CSR structure ``(Xp, Xj)`` sorted within each row
    (a copy; repeats kept), for binary-search look-ups."""
    nnz = int(Xp[-1])
    cols = Xj[:nnz]
    if nnz <= 1:
        return cols.copy()
    return cols[lex_order(xp, row_ids(xp, Xp, nnz), cols, n_row, n_col)]


def expand_sort_reduce(xp, n_row: int, n_col: int, Ap, Aj, Ax, Bp, Bj, Bx, add_op: int,
                       mul_op: int, Mp=None, Mj=None, keep: str = "all"):
    """The distinct entries of A ⊕.⊗ B, sorted by (row, column).

    Parameters
    ----------
    Mp, Mj : device array, optional
        CSR structure with *sorted* rows (repeats allowed) looked up per
        product: ``keep="in"`` keeps only the products it holds (masked
        product), ``keep="out"`` only those it does not (complemented mask).

    Returns
    -------
    rows, cols, vals, slots : device arrays
        One element per distinct entry: row (int64), column (dtype of
        ``Bj``), ⊕ of its products (dtype of ``Ax``) and, with a mask, its
        position in ``Mj`` (int64; else None). ``None`` for all four when
        there is no product.
    """
    n_a = int(Ap[-1])
    blen = xp.diff(Bp).astype(_I64)
    offs = xp.zeros(n_a + 1, dtype=_I64)
    if n_a:
        offs[1:] = xp.cumsum(blen[Aj[:n_a]])
    total = int(offs[-1])
    if total == 0:
        return None, None, None, None
    sel = xp.zeros(1, dtype=_I64)
    if keep != "all":
        # count pass: which products the mask keeps, then expand only those
        flags = xp.empty(total, dtype=np.int8)
        _cuda.launch(_flag_kernel, total, Ap, Aj, Bp, Bj, offs, Mp, Mj,
                     np.int8(keep == "in"), flags)
        sel = xp.flatnonzero(flags)
        total = int(sel.shape[0])
        if total == 0:
            return None, None, None, None
    use_mask = keep == "in"  # slots are the masked product's sort key
    prow = xp.empty(total, dtype=_I64)
    pcol = xp.empty(total, dtype=Bj.dtype)
    pval = xp.empty(total, dtype=Ax.dtype)
    pslot = xp.empty(total if use_mask else 1, dtype=_I64)
    if Mp is None:
        Mp = xp.zeros(2, dtype=Ap.dtype)
        Mj = xp.zeros(1, dtype=Aj.dtype)
    _cuda.launch(_expand_kernel, total, Ap, Aj, Ax, Bp, Bj, Bx, offs, sel,
                 np.int8(keep != "all"), Mp, Mj, np.int8(use_mask), _I64(mul_op), prow, pcol,
                 pval, pslot)
    head = xp.empty(total, dtype=bool)
    head[0] = True
    if use_mask:
        # slots run in row-major order over the (canonical) mask
        order = xp.argsort(pslot, kind="stable")
        srt = pslot[order]
        head[1:] = srt[1:] != srt[:-1]
    else:
        order = lex_order(xp, prow, pcol, n_row, n_col)
        sr, sc = prow[order], pcol[order]
        head[1:] = (sr[1:] != sr[:-1]) | (sc[1:] != sc[:-1])
    starts = xp.flatnonzero(head)
    vals = xp.empty(starts.shape[0], dtype=Ax.dtype)
    _cuda.launch(_reduce_kernel, starts.shape[0], starts, order, pval, _I64(add_op), vals)
    rep = order[starts]
    return prow[rep], pcol[rep], vals, (pslot[rep] if use_mask else None)


def empty_csr(xp, n_row: int, n_col: int, value_dtype):
    cidx = get_index_dtype(maxval=int(n_col))
    return (xp.zeros(n_row + 1, dtype=cidx), xp.zeros(0, dtype=cidx),
            xp.zeros(0, dtype=value_dtype))


def indptr_of_rows(xp, rows, n_row: int, dtype):
    """CSR ``indptr`` of entries whose (nondecreasing) rows are ``rows``."""
    return xp.searchsorted(rows, xp.arange(n_row + 1, dtype=_I64), side="left").astype(dtype)


# --------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------
def csr_spgemm_semiring(n_row: int, n_col: int, Ap, Aj, Ax, Bp, Bj, Bx, add_op: int,
                        mul_op: int, *, sort_indices: bool = True, Xp=None, Xj=None,
                        b_canonical: bool = False):
    """C = A ⊕.⊗ B for CSR A (``n_row x k``) and CSR B (``k x n_col``),
    optionally without the entries of an excluded pattern X (complemented mask).

    Parameters
    ----------
    n_row, n_col : int
        Shape of C.
    Ap, Aj, Ax, Bp, Bj, Bx : device array
        CSR arrays of A and B, one index dtype, one value dtype. For any
        semiring but plus_times they must be canonical (a repeated A[i, k]
        would enter ⊕ twice); the caller sums duplicates first.
    add_op, mul_op : int
        Operator codes (``PLUS``/``MIN``/``MAX``/``OR`` and
        ``TIMES``/``PLUS``/``MIN``/``AND``). Complex values support
        plus/times only, bool values or/and only.
    sort_indices : bool
        Sort the columns of every row of C (they always come out sorted here).
    Xp, Xj : device array, optional
        CSR structure (``n_row x n_col``, index dtype of A; repeats and
        unsorted rows allowed) of the pattern to leave out of C.
    b_canonical : bool
        Accepted for the CPU signature; the expansion does not need it.

    Returns
    -------
    Cp, Cj, Cx : device array
        CSR arrays of C, index dtype int32 while it fits, value dtype of ``Ax``.

    Notes
    -----
    Each entry folds ⊕ over its products in the CPU kernel's order (A's row
    as stored, then B's), so results equal the CPU kernel's. Inputs are
    never modified. Launches: the expansion (one thread per product) and the
    reduction (one thread per entry of C); see the module docstring.
    """
    xp = _cuda.array_module(Ap, Aj, Ax, Bp, Bj, Bx)
    n_row, n_col = int(n_row), int(n_col)
    keep, Xs = "all", None
    if Xp is not None and Xj is not None and Xj.shape[0] and int(Xp[-1]):
        keep, Xs = "out", sort_rows(xp, n_row, n_col, Xp, Xj)
    rows, cols, vals, _ = expand_sort_reduce(xp, n_row, n_col, Ap, Aj, Ax, Bp, Bj, Bx, add_op,
                                             mul_op, Xp if Xs is not None else None, Xs, keep)
    if rows is None:
        return empty_csr(xp, n_row, n_col, Ax.dtype)
    nnz = int(rows.shape[0])
    cidx = get_index_dtype(maxval=max(nnz, n_col))
    return indptr_of_rows(xp, rows, n_row, cidx), cols.astype(cidx), vals
