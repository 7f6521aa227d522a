"""What Dask asks of a chunk that sparsela arrays do not (yet) do themselves.

Dask slices chunks with a full 2-D key, ``a[r0:r1, c0:c1]`` (``da.from_array``,
``x[...]`` on a Dask array, ``x[:0, :0]`` for the meta), and reduces them with
``np.sum(chunk, axis=(0,))`` and friends. sparsela's ``A[key]`` selects rows
only (a column slice raises ``IndexError``) and its reductions take ``axis``
as an int, ``None`` or ``(0, 1)``. This module supplies:

* :func:`getitem` -- ``A[rows, cols]`` for every row key sparsela takes and a
  column key that is an int, a slice (any step), an integer array or a
  boolean mask. The result keeps the input's format (BSR gives CSR, as
  sparsela's row indexing does) and is 2-D: an integer keeps its axis with
  length 1, as ``A[i]`` does in sparsela.
* :func:`install` -- makes ``SparseArray.__getitem__`` fall back on
  :func:`getitem` for those keys, and the reductions (``sum``, ``mean``,
  ``max``, ``min``, ``count_nonzero``) take a one-element ``axis`` tuple and
  ``keepdims``. Both only *extend*: every call sparsela answered before is
  passed to sparsela's own method unchanged, and each shim is installed only
  when the probe shows sparsela lacks the feature, so once ``sparsela.formats``
  does these things natively the shims switch themselves off.
* pickling hooks (:func:`register_pickle`): a sparsela array pickled in a
  process that imported :mod:`sparsela.dask` unpickles through this module,
  so a Dask worker that receives a chunk (or a task holding a whole array,
  as ``da.from_array`` makes) has the shims installed before it slices.

No Dask import here: unpickling works without Dask.
"""
from __future__ import annotations

import copyreg
import functools
import numbers
import operator
import pickle
import threading

import numpy as np

__all__ = ["aligned", "getitem", "install", "installed", "load_kernels", "register_pickle"]

_INSTALLED: dict[str, bool] = {}
_KERNELS_LOADED = False
_LOCK = threading.Lock()
_INSTALL_LOCK = threading.Lock()


# --------------------------------------------------------------------------- #
# 2-D indexing
# --------------------------------------------------------------------------- #
def _is_int(k) -> bool:
    return isinstance(k, (numbers.Integral, np.integer)) and not isinstance(k, (bool, np.bool_))


def _is_full(k, n: int) -> bool:
    """True when ``k`` selects every index of an axis of length ``n`` in order."""
    if not isinstance(k, slice):
        return False
    return k.indices(n) == (0, n, 1) or (n == 0 and k.step in (None, 1))


def _expand_key(key) -> tuple:
    """``key`` as a pair ``(rows, cols)``: Ellipsis and missing entries become ``:``."""
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is None for k in key):
        raise IndexError("sparsela arrays are 2-D: None (np.newaxis) in an index is not supported")
    n_ell = sum(1 for k in key if k is Ellipsis)
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if n_ell:
        i = next(i for i, k in enumerate(key) if k is Ellipsis)
        fill = 2 - (len(key) - 1)
        if fill < 0:
            raise IndexError(f"too many indices for a 2-D array: {len(key) - 1}")
        key = key[:i] + (slice(None),) * fill + key[i + 1:]
    if len(key) > 2:
        raise IndexError(f"too many indices for a 2-D array: {len(key)}")
    return key + (slice(None),) * (2 - len(key))


def _col_range_csr(A, start: int, stop: int):
    """Columns ``start:stop`` of a CSR array (one pass over the nonzeros)."""
    from ..formats.csr import csr_array

    M, N = A.shape
    if start == 0 and stop == N:
        return A
    j = A.indices
    keep = (j >= start) & (j < stop)
    counts = np.empty(keep.size + 1, dtype=np.int64)
    counts[0] = 0
    np.cumsum(keep, out=counts[1:])
    indptr = counts[A.indptr].astype(A.indptr.dtype, copy=False)
    indices = j[keep]
    if start:
        indices = indices - indices.dtype.type(start)
    return csr_array._from_arrays(A.data[keep], indices, indptr, (M, stop - start),
                                  A._sorted, A._canonical)


def _cols_csr(A, c):
    """``A[:, c]`` for a CSR array and any column key, as a CSR array."""
    from ..formats.csr import csr_array

    N = A.shape[1]
    if isinstance(c, slice):
        start, stop, step = c.indices(N)
        if step == 1:
            return _col_range_csr(A, start, max(start, stop))
    elif _is_int(c):
        i = operator.index(c)
        if not -N <= i < N:
            raise IndexError(f"column index {i} is out of range for size {N}")
        i += N if i < 0 else 0
        return _col_range_csr(A, i, i + 1)
    # any other selection: rows of the transpose (A.T is a CSC view of A's
    # buffers; indexing it selects rows of its CSR conversion)
    from ..ops.index import getitem as _rows_getitem

    sel = _rows_getitem(A.transpose(), c)
    return csr_array(sel.transpose())


def getitem(A, key):
    """``A[rows, cols]`` for a sparsela array (see the module docstring).

    Parameters
    ----------
    A : sparsela array
        The indexed array.
    key : index
        Anything sparsela's ``A[key]`` takes, or a pair ``(rows, cols)`` where
        ``rows`` is a row key sparsela takes and ``cols`` is an int, slice,
        integer array or boolean mask.

    Returns
    -------
    SparseArray or scalar
        A 2-D array of ``A``'s format (CSR for BSR), or the entry ``A[i, j]``.
    """
    from ..formats.csc import csc_array
    from ..ops.index import getitem as _native

    r, c = _expand_key(key)
    M, N = A.shape
    if _is_int(r) and _is_int(c):
        return _native(A, (r, c))
    if _is_full(c, N):
        return A if _is_full(r, M) else _native(A, r)
    if isinstance(A, csc_array):
        # the transpose of a CSC array is a CSR view of the same buffers
        return getitem(A.transpose(), (c, r)).transpose()
    fmt = A.format
    S = A.tocsr()
    if not _is_full(r, M):
        S = _native(S, r)
    out = _cols_csr(S, c)
    if fmt == "coo":
        return out.tocoo()
    return out


# --------------------------------------------------------------------------- #
# reductions: one-element axis tuples and keepdims
# --------------------------------------------------------------------------- #
def _norm_axis(axis):
    """``(axis for sparsela, axes reduced for keepdims)``."""
    if isinstance(axis, tuple):
        if len(axis) == 1:
            (a,) = axis
            return a, (a % 2,) if _is_int(a) else axis
        if len(axis) == 0:
            raise ValueError("axis=() (no reduction) is not supported by sparse reductions")
        return axis, (0, 1)
    if axis is None:
        return None, (0, 1)
    return axis, ((axis % 2,) if _is_int(axis) else (axis,))


def _keep(result, reduced):
    res = np.asarray(result)
    if res.ndim == 0:
        return res.reshape(1, 1)
    if reduced == (0,):
        return res.reshape(1, -1)
    return res.reshape(-1, 1)


def _wrap_reduction(method):
    @functools.wraps(method)
    def wrapper(self, *args, keepdims=False, **kwargs):
        if args:
            axis, args = args[0], args[1:]
        else:
            axis = kwargs.pop("axis", None)
        sl_axis, reduced = _norm_axis(axis)
        out = kwargs.pop("out", None)
        result = method(self, sl_axis, *args, **kwargs)
        if keepdims:
            result = _keep(result, reduced)
        if out is not None:
            out[...] = result
            return out
        return result

    wrapper.__sparsela_dask_shim__ = True
    return wrapper


def _wrap_getitem(method):
    @functools.wraps(method)
    def __getitem__(self, key):
        try:
            return method(self, key)
        except IndexError:
            # keys sparsela's own indexing rejects: the 2-D ones Dask makes
            if not isinstance(key, tuple) and key is not Ellipsis:
                raise
            return getitem(self, key)

    __getitem__.__sparsela_dask_shim__ = True
    return __getitem__


def _probe():
    from ..formats.csr import csr_array

    return csr_array(np.array([[1.0, 0.0], [2.0, 3.0]]))


def _needs_getitem() -> bool:
    P = _probe()
    try:
        out = P[0:1, 1:2]
        return not (out.shape == (1, 1) and out.toarray()[0, 0] == 0.0)
    except (IndexError, TypeError, ValueError):
        return True


def _needs_reduction(name: str) -> bool:
    P = _probe()
    try:
        a = getattr(P, name)(axis=(0,))
        b = getattr(P, name)(axis=1, keepdims=True)
        return np.shape(a) != (2,) or np.shape(b) != (2, 1)
    except (IndexError, TypeError, ValueError):
        return True


_REDUCTIONS = ("sum", "mean", "max", "min", "count_nonzero")


def load_kernels() -> None:
    """Finish loading every lazily imported kernel module, under a lock.

    ``sparsela.backends.lazy`` uses :class:`importlib.util.LazyLoader`,
    which on Python < 3.12 is not safe when two threads touch a module that
    is still loading (CPython gh-114763): Dask's threaded scheduler running
    two sparsela tasks at once raised ``AttributeError: module
    'sparsela.backends.cpu.canonical' has no attribute ...``. Loading them
    all here, once, before any task runs, avoids the race.
    """
    global _KERNELS_LOADED
    if _KERNELS_LOADED:
        return
    import importlib.util
    import sys

    with _LOCK:
        if _KERNELS_LOADED:
            return
        lazy_type = getattr(importlib.util, "_LazyModule", None)
        for name, mod in list(sys.modules.items()):
            if name.startswith("sparsela.backends.") and lazy_type is not None \
                    and isinstance(mod, lazy_type):
                getattr(mod, "__name__", None)  # any attribute finishes the load
        _KERNELS_LOADED = True


def install() -> dict[str, bool]:
    """Install the shims that sparsela lacks (idempotent), and load the kernels.

    Returns
    -------
    dict
        ``{feature: installed}``; ``False`` where sparsela does it natively.
    """
    load_kernels()
    if _INSTALLED:
        return dict(_INSTALLED)
    with _INSTALL_LOCK:
        if not _INSTALLED:
            _install()
        return dict(_INSTALLED)


def _install() -> None:
    from ..formats._base import SparseArray

    res: dict[str, bool] = {}
    cls_get = SparseArray.__dict__["__getitem__"]
    if _needs_getitem() and not getattr(cls_get, "__sparsela_dask_shim__", False):
        SparseArray.__getitem__ = _wrap_getitem(cls_get)
        res["getitem"] = True
    else:
        res["getitem"] = False
    for name in _REDUCTIONS:
        meth = SparseArray.__dict__.get(name)
        if meth is None or getattr(meth, "__sparsela_dask_shim__", False):
            res[name] = False
            continue
        if _needs_reduction(name):
            setattr(SparseArray, name, _wrap_reduction(meth))
            res[name] = True
        else:
            res[name] = False
    _INSTALLED.update(res)  # at once: readers outside the lock see all or nothing


def installed() -> dict[str, bool]:
    """Which shims :func:`install` put in place (empty before it ran)."""
    return dict(_INSTALLED)


# --------------------------------------------------------------------------- #
# pickling: unpickle through this module so that the receiver installs the shims
# --------------------------------------------------------------------------- #
def aligned(a):
    """``a``, or an aligned, writeable copy when it is not (other objects pass).

    Arrays that ``distributed`` deserialises from its network frames may start
    at any byte (an 8-byte float at an odd address) or be read-only. Numba
    types such arrays apart (``aligned=False``, ``readonly``), so every
    kernel would be compiled again for them, and NumPy's unaligned loops sum
    in another order than BLAS (results differ in the last bits).
    """
    if isinstance(a, np.ndarray) and not (a.flags.aligned and a.flags.writeable):
        return np.array(a, copy=True, order="K")
    return a


def _rebuild(func, args, state):
    """Unpickle a sparsela array (see :func:`register_pickle`)."""
    install()
    obj = func(*args)
    if state:
        if isinstance(state, dict):
            state = {k: aligned(v) for k, v in state.items()}
        setstate = getattr(type(obj), "__setstate__", None)
        if setstate is not None and setstate is not getattr(object, "__setstate__", None):
            obj.__setstate__(state)
        else:
            obj.__dict__.update(state)
    return obj


def _reduce(obj):
    # the class's own reduction (its __getstate__ included), rebuilt through
    # _rebuild; the Pickler consults copyreg, ``__reduce_ex__`` itself does not
    rv = obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
    if not isinstance(rv, tuple) or len(rv) < 3 or any(x is not None for x in rv[3:]):
        return rv
    return _rebuild, (rv[0], rv[1], rv[2])


_PICKLE_REGISTERED = False


def register_pickle() -> None:
    """Pickle the sparsela format classes through :func:`_rebuild` (idempotent)."""
    global _PICKLE_REGISTERED
    if _PICKLE_REGISTERED:
        return
    from ..formats import bsr_array, coo_array, csc_array, csr_array

    for cls in (csr_array, csc_array, coo_array, bsr_array):
        copyreg.pickle(cls, _reduce)
    _PICKLE_REGISTERED = True
