"""Sparse x sparse products: ``spgemm`` (row-wise hash SpGEMM, semirings,
masks) and ``spgemm_topk`` (the k largest entries of every row of A @ B).

CSR operands run as they are; CSC x CSC runs as ``(B.T @ A.T).T`` on the
CSC arrays (the CSR arrays of the transposes; every semiring's ⊗ here is
commutative, so this holds for all of them); other formats go through CSR.
The default product (plus_times, no mask) is ``backends/cpu/spgemm.py``;
semirings and complemented masks are ``semiring.py``, masks ``masked.py``,
top-k ``topk.py``.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .._device import same_device
from .._sputils import get_index_dtype, upcast
from ..formats._base import SparseArray
from ..formats.csc import csc_array
from ..formats.csr import csr_array
from . import _canonical as _c
from . import _cusparse
from ._backend import kernels, xp_of
from ._validation import as_sparse, from_kernel, kernel_dtype, to_kernel

__all__ = ["SEMIRINGS", "spgemm", "spgemm_topk"]

#: Semirings of ``spgemm``: name -> (⊕, ⊗), as the names of the operator
#: codes in ``backends/cpu/semiring.py`` (read there at call time, so that
#: ``import sparsela`` does not load the kernels).
SEMIRINGS = {
    "plus_times": ("PLUS", "TIMES"),
    "min_plus": ("MIN", "PLUS"),
    "max_plus": ("MAX", "PLUS"),
    "max_min": ("MAX", "MIN"),
    "or_and": ("OR", "AND"),
}


def _semiring_name(semiring) -> str:
    """The canonical name of ``semiring`` (a name or an (add, mul) pair)."""
    if isinstance(semiring, tuple) and len(semiring) == 2 and all(
            isinstance(s, str) for s in semiring):
        name = f"{semiring[0].lower()}_{semiring[1].lower()}"
    elif isinstance(semiring, str):
        name = semiring.lower()
    else:
        name = None
    if name not in SEMIRINGS:
        valid = ", ".join(repr(n) for n in SEMIRINGS)
        raise ValueError(f"unknown semiring {semiring!r}; semiring must be one of {valid} "
                         "or an (add, multiply) pair such as ('min', 'plus')")
    return name


def _ordered_kernel_dtype(dt: np.dtype) -> np.dtype:
    """Compute dtype where values are *ordered* (min/max, top-k): floats as
    they are, signed integers and bool as int64, unsigned as uint64 (the int64
    view that plus_times uses would misorder values >= 2**63)."""
    dt = np.dtype(dt)
    if dt.kind == "f":
        return dt
    if dt.kind == "u":
        return np.dtype(np.uint64)
    return np.dtype(np.int64)


def _canonical_csr(X: SparseArray) -> csr_array:
    """CSR with sorted, duplicate-free rows (X itself when it already is)."""
    X = X.tocsr()
    if X.has_canonical_format:
        return X
    p, j, x = X._canonical_arrays()
    return csr_array._from_arrays(x, j, p, X.shape, True, True)


def _mask_csr(mask, shape, transposed: bool) -> csr_array:
    """The CSR arrays of ``mask`` (``mask.T`` when ``transposed``), validated."""
    M = as_sparse(mask, "mask")
    if M.shape != tuple(shape):
        raise ValueError(f"mask must have the shape of A @ B, {tuple(shape)}, "
                         f"got {M.shape}")
    if transposed:
        return M.transpose().tocsr()
    return M.tocsr()


def spgemm(A, B, *, sort_indices: bool = True, mask=None, complement: bool = False,
           semiring: str | tuple[str, str] = "plus_times") -> SparseArray:
    """Sparse matrix - sparse matrix product ``A @ B``, over a semiring, masked.

    Parameters
    ----------
    A, B : sparse array
        The operands, sparsela or ``scipy.sparse`` arrays in any format, of
        shapes ``(M, K)`` and ``(K, N)``.
    sort_indices : bool, default True
        Sort the column indices of every row of the result, so it is in
        canonical format (SciPy's own ``A @ B`` leaves rows unsorted).
        ``False`` skips the per-row sort and is faster. Masked results are
        always sorted (they inherit the mask's order).
    mask : sparse array, shape (M, N), optional
        Structural mask (GraphBLAS ``M.S``): C keeps only the positions
        *stored* in ``mask``, explicit zeros included; mask values play no
        part. C is computed without forming ``A @ B``: only products landing
        in the mask are accumulated, rows with an empty mask row are skipped,
        and rows whose mask is much sparser than their products use inner
        products with B's columns instead.
    complement : bool, default False
        With ``mask``: keep the entries of ``A @ B`` *not* stored in the mask
        (GraphBLAS ``!M.S``). Requires ``mask``.
    semiring : str or (str, str), default "plus_times"
        ``"plus_times"`` (the ordinary product), ``"min_plus"`` (shortest
        paths), ``"max_plus"``, ``"max_min"`` (bottleneck paths) or
        ``"or_and"`` (reachability; bool result), or a pair such as
        ``("min", "plus")``. As in GraphBLAS, C[i, j] exists when some k has
        A[i, k] and B[k, j] *stored*, and is ⊕ over those k of
        A[i, k] ⊗ B[k, j]: absent entries take no part (they are not zeros),
        stored zeros do. min/max ignore NaN (as ``np.fmin``/``np.fmax``).
        Duplicate input entries are summed first (the array's value is their
        sum, as ``toarray`` shows). ``or_and`` reads values as ``value != 0``.

    Returns
    -------
    csr_array (csc_array when both operands are CSC)
        Entries that cancel to zero are kept as explicit zeros (call
        ``eliminate_zeros`` to drop them); duplicates in the inputs are summed.
        Index dtype is int32 unless nnz or N needs int64. Value dtype is
        NumPy's promotion of A's and B's (bool for ``or_and``).

    Raises
    ------
    ValueError
        Mismatched shapes, a mask of the wrong shape, ``complement`` without
        ``mask``, or an unknown semiring (the message lists the valid ones).
    TypeError
        Complex operands with a min/max semiring (complex numbers are not
        ordered), a mask that is not a sparse array, or operands (mask
        included) on two devices. On one device the product runs there: the
        GPU kernels for arrays on the GPU (cuSPARSE with
        ``config_context(backend="cusparse")`` for the plain product).
    """
    name = _semiring_name(semiring)
    A = as_sparse(A, "A")
    B = as_sparse(B, "B")
    same_device("A", A.data, "B", B.data)
    if A.shape[1] != B.shape[0]:
        raise ValueError(f"dimension mismatch: A has shape {A.shape}, B has shape {B.shape}")
    if not isinstance(complement, (bool, np.bool_)):
        raise TypeError(f"complement must be a bool, got {type(complement).__name__}")
    if complement and mask is None:
        raise ValueError("complement=True needs a mask (it selects the entries of A @ B "
                         "not stored in mask)")
    out_dt = upcast(A.dtype, B.dtype)
    if name != "plus_times" and name != "or_and" and out_dt.kind == "c":
        raise TypeError(f"semiring {name!r} orders values, which complex numbers are not "
                        f"(A has dtype {A.dtype}, B has dtype {B.dtype}); use 'plus_times' "
                        "or take the real part or abs first")
    if name == "plus_times" and mask is None:
        return _plain_product(A, B, out_dt, sort_indices)
    shape = (A.shape[0], B.shape[1])
    both_csc = isinstance(A, csc_array) and isinstance(B, csc_array)
    M = None if mask is None else _mask_csr(mask, shape, both_csc)
    if M is not None:
        same_device("A", A.data, "mask", M.data)
    if both_csc:
        # C.T = B.T (+).(x) A.T, as (x) commutes; the CSC arrays are the
        # CSR arrays of the transposes
        A, B = B.transpose(), A.transpose()
    Ct = _extra_product(A.tocsr(), B.tocsr(), out_dt, name, M, bool(complement),
                        bool(sort_indices))
    return Ct.transpose() if both_csc else Ct


def _plain_product(A, B, out_dt, sort_indices):
    if A.data.shape[0] == 0 or B.data.shape[0] == 0:
        # no stored entry in an operand: C has none either, without
        # converting the other operand (its length is known on any device)
        return _empty_product(A, B, out_dt)
    A, B = A._bool_deduped(), B._bool_deduped()
    if isinstance(A, csc_array) and isinstance(B, csc_array):
        # C.T = B.T @ A.T, and the CSC arrays are the CSR arrays of the transposes
        Ct = _csr_product(B.transpose(), A.transpose(), out_dt, sort_indices)
        return Ct.transpose()
    if isinstance(B, csc_array):
        # the kernel needs B's canonical flag: checked on B itself, where it is
        # cached (a B.T used in several products is checked once), and passed
        # on to the CSR copy by tocsr
        B.has_canonical_format  # noqa: B018 -- computes and caches the flag
    return _csr_product(A.tocsr(), B.tocsr(), out_dt, sort_indices)


def _empty_product(A, B, out_dt) -> csr_array | csc_array:
    """The structurally empty ``A @ B``: CSC when both operands are, as the
    kernels' result would be; int32 indices unless the dimension needs int64."""
    M, N = A.shape[0], B.shape[1]
    xp = xp_of(A.data, B.data)
    if isinstance(A, csc_array) and isinstance(B, csc_array):
        cls, n_ptr, maxval = csc_array, N, M
    else:
        cls, n_ptr, maxval = csr_array, M, N
    idx = get_index_dtype(maxval=maxval)
    return cls._from_arrays(xp.empty(0, dtype=out_dt), xp.empty(0, dtype=idx),
                            xp.zeros(n_ptr + 1, dtype=idx), (M, N), True, True)


def _extra_product(A: csr_array, B: csr_array, out_dt, name: str, M: csr_array | None,
                   complement: bool, sort_indices: bool) -> csr_array:
    """A (+).(x) B for CSR operands: a semiring other than plus_times, or a mask."""
    _sr, _masked = kernels("semiring", A.data), kernels("masked", A.data)
    add_op, mul_op = (getattr(_sr, op) for op in SEMIRINGS[name])
    if name == "or_and":
        out_dt = np.dtype(np.bool_)
        kdt = out_dt
    elif name == "plus_times":
        kdt = kernel_dtype(out_dt)
    else:
        kdt = _ordered_kernel_dtype(out_dt)
    # Every path but the plain product folds each A[i, k] once: duplicates
    # must be summed first (also gives the masked kernel the ascending k it
    # relies on). Canonical inputs pass through without a copy.
    A, B = _canonical_csr(A), _canonical_csr(B)
    if name == "or_and":
        # bool operands as they are (a BFS step reuses its matrix every call)
        Ax, Bx = (X.data if X.data.dtype == np.bool_ else X.data != 0 for X in (A, B))
    else:
        Ax, Bx = to_kernel(A.data, kdt), to_kernel(B.data, kdt)
    n_row, n_col = A.shape[0], B.shape[1]
    dts = [A.indices.dtype, B.indices.dtype] + ([M.indices.dtype] if M is not None else [])
    idx = np.result_type(*dts)
    Ap, Aj = A.indptr.astype(idx, copy=False), A.indices.astype(idx, copy=False)
    Bp, Bj = B.indptr.astype(idx, copy=False), B.indices.astype(idx, copy=False)
    if M is not None and not complement:
        Mc = _canonical_csr(M)
        Mp, Mj = Mc.indptr.astype(idx, copy=False), Mc.indices.astype(idx, copy=False)
        Cp, Cj, Cx = _masked.csr_spgemm_masked(
            n_row, n_col, Ap, Aj, Ax, Bp, Bj, Bx, Mp, Mj, add_op, mul_op,
            bt=lambda: _c.csr_to_csc(B.shape[0], n_col, Bp, Bj, Bx))
        sorted_ = True
    else:
        Xp = Xj = None
        if M is not None:
            Xp, Xj = M.indptr.astype(idx, copy=False), M.indices.astype(idx, copy=False)
        Cp, Cj, Cx = _sr.csr_spgemm_semiring(
            n_row, n_col, Ap, Aj, Ax, Bp, Bj, Bx, add_op, mul_op, sort_indices=sort_indices,
            Xp=Xp, Xj=Xj, b_canonical=True)
        sorted_ = sort_indices
    return csr_array._from_arrays(from_kernel(Cx, out_dt), Cj, Cp, (n_row, n_col),
                                  True if sorted_ else None, True if sorted_ else None)


def _csr_product(A: csr_array, B: csr_array, out_dt, sort_indices: bool) -> csr_array:
    kdt = kernel_dtype(out_dt)
    idx = np.promote_types(A.indices.dtype, B.indices.dtype)
    M, N = A.shape[0], B.shape[1]
    if _cusparse.active(A, B):
        Cp, Cj, Cx = _cusparse.spgemm(A, B, out_dt)
        C = csr_array._from_arrays(Cx, Cj, Cp, (M, N))
        if sort_indices:
            C.sort_indices()
        return C
    Cp, Cj, Cx = kernels("spgemm", A.data).csr_spgemm(
        M, N,
        A.indptr.astype(idx, copy=False), A.indices.astype(idx, copy=False),
        to_kernel(A.data, kdt),
        B.indptr.astype(idx, copy=False), B.indices.astype(idx, copy=False),
        to_kernel(B.data, kdt),
        sort_indices=sort_indices, b_canonical=B.has_canonical_format,
    )
    return csr_array._from_arrays(from_kernel(Cx, out_dt), Cj, Cp, (M, N),
                                  True if sort_indices else None, True if sort_indices else None)


def spgemm_topk(A, B, k: int, *, lower_bound: float | None = None,
                sort: bool = True) -> csr_array:
    """The ``k`` largest entries of every row of ``A @ B``, without forming ``A @ B``.

    The sparse_dot_topn use case: with the rows of A and B L2-normalised,
    ``spgemm_topk(A, B.T, 10, lower_bound=0.8)`` keeps, for every row of A,
    its 10 most cosine-similar rows of B above 0.8.

    Parameters
    ----------
    A, B : sparse arrays (sparsela or scipy.sparse), shapes (M, K) and (K, N)
        Real or bool values (complex numbers are not ordered).
    k : int
        Entries kept per row (>= 1). Rows with fewer entries keep them all.
    lower_bound : real scalar, optional
        Keep only entries whose value is ``> lower_bound`` (compared as NumPy
        compares the result dtype with a Python scalar).
    sort : bool, default True
        Order each row by value descending, ties by column ascending. With
        ``False`` the order within a row is unspecified (but deterministic).

    Returns
    -------
    csr_array, shape (M, N)
        Value dtype as ``A @ B``; index dtype int32 while it fits. The entries
        of every row are those of ``A @ B`` (stored ones, cancellation zeros
        included) that rank best by value, ties broken by the smaller column,
        so the result does not depend on the thread count. NaN values are
        never kept.

    Notes
    -----
    Each row is accumulated in a thread-private hash table and its best k
    selected with a bounded heap (O(r log k) for a row of r entries). Peak
    memory is about ``min(k, nnz(C[i, :]))`` per row plus the scratch of one
    row per thread.
    """
    A = as_sparse(A, "A")
    B = as_sparse(B, "B")
    same_device("A", A.data, "B", B.data)
    if A.shape[1] != B.shape[0]:
        raise ValueError(f"dimension mismatch: A has shape {A.shape}, B has shape {B.shape}")
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k must be a positive integer, got {k!r}")
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be a positive integer, got {k}")
    if not isinstance(sort, (bool, np.bool_)):
        raise TypeError(f"sort must be a bool, got {type(sort).__name__}")
    out_dt = upcast(A.dtype, B.dtype)
    if out_dt.kind == "c":
        raise TypeError(f"spgemm_topk ranks values, which complex numbers are not (A has "
                        f"dtype {A.dtype}, B has dtype {B.dtype}); pass the real part or abs")
    if lower_bound is not None:
        if (isinstance(lower_bound, (bool, np.bool_))
                or not isinstance(lower_bound, (numbers.Real, np.floating, np.integer))):
            raise TypeError(f"lower_bound must be a real number or None, got {lower_bound!r}")
        lower_bound = float(lower_bound) if not isinstance(lower_bound, numbers.Integral) \
            else int(lower_bound)
    A, B = A._bool_deduped().tocsr(), B._bool_deduped().tocsr()
    n_row, n_col = A.shape[0], B.shape[1]
    _sr, _topk = kernels("semiring", A.data), kernels("topk", A.data)
    if out_dt == np.bool_:
        kdt = out_dt
        add_op, mul_op = _sr.OR, _sr.AND
    else:
        kdt = _ordered_kernel_dtype(out_dt)
        add_op, mul_op = _sr.PLUS, _sr.TIMES
    lb, empty = _kernel_lower_bound(lower_bound, out_dt, kdt)
    idx = np.promote_types(A.indices.dtype, B.indices.dtype)
    if empty:
        xp = xp_of(A.data)
        Cp = xp.zeros(n_row + 1, dtype=np.int32 if n_col < 2**31 else np.int64)
        return csr_array._from_arrays(xp.zeros(0, dtype=out_dt), Cp[:0].copy(), Cp,
                                      (n_row, n_col), True, True)
    Cp, Cj, Cx = _topk.csr_spgemm_topk(
        n_row, n_col, A.indptr.astype(idx, copy=False), A.indices.astype(idx, copy=False),
        to_kernel(A.data, kdt) if kdt != np.bool_ else A.data,
        B.indptr.astype(idx, copy=False), B.indices.astype(idx, copy=False),
        to_kernel(B.data, kdt) if kdt != np.bool_ else B.data,
        k, lb, sort=bool(sort), add_op=add_op, mul_op=mul_op)
    return csr_array._from_arrays(from_kernel(Cx, out_dt), Cj, Cp, (n_row, n_col))


def _kernel_lower_bound(lb, out_dt: np.dtype, kdt: np.dtype):
    """``(bound in the kernel dtype or None, result is empty)`` for ``value > lb``.

    Integer (and bool) values v satisfy ``v > lb`` exactly when
    ``v > floor(lb)``; a float bound compares in the result dtype, as NumPy
    compares an array with a Python scalar.
    """
    if lb is None:
        return None, False
    if kdt.kind == "f":
        if math.isnan(lb):
            return None, True
        return out_dt.type(lb), False
    if math.isnan(lb) or lb == math.inf:
        return None, True
    if lb == -math.inf:
        return None, False
    fl = math.floor(lb)
    if out_dt == np.bool_:
        if fl >= 1:
            return None, True
        return (False if fl == 0 else None), False
    info = np.iinfo(kdt)
    if fl < info.min:
        return None, False
    if fl >= info.max:
        return None, True
    return kdt.type(fl), False
