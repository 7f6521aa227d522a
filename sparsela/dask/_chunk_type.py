"""sparsela arrays as a Dask chunk type.

:func:`register` (run on ``import sparsela.dask``) tells Dask that a
``sparsela.SparseArray`` is a chunk it may hold and work on, as
``dask/array/backends.py`` does for ``scipy.sparse``:

* ``register_chunk_type(SparseArray)``: Dask wraps sparsela chunks and does
  not defer to them in arithmetic;
* ``concatenate_lookup``: ``sparsela.vstack`` / ``hstack`` (CSR stays CSR,
  CSC stays CSC), used when Dask joins chunks (``compute()``, rechunking);
* ``tensordot_lookup``: 2-D products with one contracted axis through
  sparsela's ``@`` (``da.dot``, ``da.tensordot``, ``@`` of Dask arrays);
* ``take_lookup``: row/column selections (``da.take``, shuffles);
* ``numel_lookup``: the element counts of ``mean``/``var`` (NumPy counts for
  CPU chunks, as Dask makes for any array; CuPy counts for GPU chunks, so
  the aggregation does not mix devices);
* ``to_numpy_dispatch`` / ``to_cupy_dispatch``: what
  ``x.to_backend("numpy")`` / ``x.to_backend("cupy")`` do to a chunk (a
  dense NumPy array; a sparsela array on the GPU): the only two places a
  chunk changes device, both asked for by name.

With it, ``da.from_array(A, chunks=...)`` of a sparsela array, ``map_blocks``,
reductions (``sum``, ``mean``, ``max``, ``min``) and slicing work on the
chunks. Nothing is patched: sparsela arrays slice with 2-D keys
(``A[r0:r1, c0:c1]``), reduce with ``axis`` tuples, ``keepdims`` and ``out``
(what ``np.sum(chunk, axis=(0,), keepdims=True)`` asks), load their kernels
safely from Dask's threads, and unpickle on a worker into aligned, writeable
buffers, all natively.

Chunks may live on the GPU (sparsela arrays with CuPy buffers, as Dask
holds CuPy chunks): every chunk operation above is a sparsela operation,
which computes on the device of its operands and returns device results
(CuPy arrays for dense ones), so slicing, reductions, ``map_blocks`` and
joins stay on the GPU. :func:`meta` takes a ``device`` so that Dask's meta
says where the chunks are; a dense chunk among GPU sparse ones is joined
with CuPy. Chunks on different devices are a ``TypeError`` (sparsela never
moves data implicitly).
"""
from __future__ import annotations

import numpy as np

from .._device import device_of, namespace_of, same_device
from ..formats import SparseArray, csc_array, csr_array

__all__ = ["from_array", "getitem", "meta", "register"]

_REGISTERED = False


def _concatenate(L, axis=0):
    from ..construct import hstack, vstack

    L = list(L)
    if axis in (0, -2):
        fn = vstack
    elif axis in (1, -1):
        fn = hstack
    else:
        raise ValueError(f"sparsela arrays are 2-D: can only concatenate along axis 0 or 1, "
                         f"got {axis}")
    fmt = None
    if all(isinstance(a, csr_array) for a in L):
        fmt = "csr"
    elif all(isinstance(a, csc_array) for a in L):
        fmt = "csc"
    for k, a in enumerate(L[1:], 1):
        same_device("chunk 0", L[0], f"chunk {k}", a)
    if any(not isinstance(a, SparseArray) for a in L):
        # a dense chunk among sparse ones: the joined array is dense (on the
        # chunks' device)
        xp = namespace_of(*L)
        return xp.concatenate([a.toarray() if isinstance(a, SparseArray) else xp.asarray(a)
                               for a in L], axis=axis)
    if len(L) == 1:
        return L[0]
    return fn(L, format=fmt or "csr")


def _tensordot(a, b, axes):
    """``np.tensordot(a, b, axes)`` for 2-D operands with one contracted axis."""
    (a_axis,), (b_axis,) = axes
    a_axis %= 2
    b_axis %= 2
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError("sparsela chunks are 2-D: tensordot needs 2-D operands")
    if a_axis == 0:
        a = a.T
    if b_axis == 1:
        b = b.T
    return a @ b


def _take(x, idx, axis=0):
    # a host index of a GPU chunk is copied to the device by sparsela's
    # indexing (a key, not data, as CuPy does)
    if axis in (0, -2):
        return x[idx] if isinstance(x, SparseArray) else namespace_of(x).take(x, idx, axis=0)
    if axis in (1, -1):
        return x[:, idx] if isinstance(x, SparseArray) else \
            namespace_of(x).take(x, idx, axis=1)
    raise ValueError(f"sparsela arrays are 2-D: take along axis 0 or 1, got {axis}")


def _numel(x, **kwargs):
    """Dask's element count of a chunk (``mean``, ``var``): from the shape only,
    on the chunk's device."""
    from dask.array.backends import _numel_ndarray

    n = _numel_ndarray(x, **kwargs)
    if x.device != "gpu":
        return n
    # made from the shape on the host, like the CPU count: no chunk data moves
    return namespace_of(x).asarray(np.asarray(n))


def _to_numpy(x, **kwargs):
    """``x.to_backend("numpy")``: a dense NumPy chunk (a GPU chunk is copied to
    the host: the caller asked for NumPy by name)."""
    dense = x.toarray()
    return dense.get() if x.device == "gpu" else dense


def _to_cupy(x, **kwargs):
    """``x.to_backend("cupy")``: the chunk as a sparsela array on the GPU (it
    stays sparse; an explicit move for a CPU chunk)."""
    return x.to_device("gpu")


def register() -> None:
    """Register sparsela arrays with Dask (idempotent; done on import)."""
    global _REGISTERED
    if _REGISTERED:
        return
    from dask.array.chunk_types import is_valid_chunk_type, register_chunk_type
    from dask.array.dispatch import (
        concatenate_lookup,
        numel_lookup,
        take_lookup,
        tensordot_lookup,
        to_cupy_dispatch,
        to_numpy_dispatch,
    )

    if not is_valid_chunk_type(SparseArray):
        register_chunk_type(SparseArray)
    concatenate_lookup.register(SparseArray, _concatenate)
    tensordot_lookup.register(SparseArray, _tensordot)
    take_lookup.register(SparseArray, _take)
    numel_lookup.register(SparseArray, _numel)
    to_numpy_dispatch.register(SparseArray, _to_numpy)
    to_cupy_dispatch.register(SparseArray, _to_cupy)
    _REGISTERED = True


def meta(dtype=np.float64, format: str = "csr", *, device: str = "cpu") -> SparseArray:
    """An empty ``(0, 0)`` sparsela array: the ``meta`` of a Dask array of sparsela chunks.

    Parameters
    ----------
    dtype : dtype, default float64
        Value dtype.
    format : {'csr', 'csc', 'coo'}, default 'csr'
        Format of the chunks.
    device : {'cpu', 'gpu'}, default 'cpu'
        Where the chunks live. A GPU meta makes Dask's derived metas (of
        reductions, ``map_blocks``...) CuPy arrays or GPU sparsela arrays, as
        the chunks' results are.

    Returns
    -------
    SparseArray
        Shape ``(0, 0)``, on ``device``.
    """
    from ..formats import asarray

    return asarray(csr_array((0, 0), dtype=np.dtype(dtype)), format=format, device=device)


def getitem(a, b, asarray=False, lock=None):
    """Getter of :func:`from_array`: ``a[b]``, never densified.

    sparsela arrays take Dask's 2-D keys themselves (``a[r0:r1, c0:c1]``,
    see :meth:`sparsela.csr_array.__getitem__`); this getter only keeps
    ``asarray`` from turning a sparse chunk into a dense one.

    Parameters
    ----------
    a : sparsela array or array_like
        The array to slice.
    b : index
        The key, e.g. a pair of slices.
    asarray : bool, default False
        Ignored (chunks stay sparse); part of Dask's getter signature.
    lock : lock, optional
        Held while slicing.

    Returns
    -------
    SparseArray or ndarray
        ``a[b]``.
    """
    if lock:
        lock.acquire()
    try:
        return a[b]
    finally:
        if lock:
            lock.release()


def _aligned(a):
    """``a``, or an aligned, writeable copy of an ndarray that is neither (others pass).

    Dense blocks that ``distributed`` hands back from its network frames may
    start at any byte or be read-only; Numba compiles every kernel again for
    such arrays and NumPy's unaligned loops sum in another order. sparsela
    arrays take care of their own buffers when unpickled
    (``SparseArray.__setstate__``); dense operands received here (``X`` in
    :func:`sparsela.dask.spmm`, blocks fed to ``partial_fit``) go through this.
    """
    if isinstance(a, np.ndarray) and not (a.flags.aligned and a.flags.writeable):
        return np.array(a, copy=True, order="K")
    return a    # device arrays (CuPy) included: they never come unaligned


def _chunks_device(x) -> str:
    """``'gpu'`` or ``'cpu'``: where the chunks of a Dask array live (its
    meta says), or where an in-memory array lives."""
    import dask.array as da

    if isinstance(x, da.Array):
        return device_of(x._meta)
    return device_of(x)


def from_array(A, chunks="auto", *, name=None, format: str | None = None):
    """A Dask array of sparsela chunks from an in-memory sparse array.

    Same as ``dask.array.from_array(A, chunks=chunks)`` once sparsela is
    registered, except that the chunks are sliced by :func:`getitem` (never
    densified) and ``"auto"`` chunks by
    rows (about 64 MiB of stored entries per chunk, every column in one
    chunk), the layout :func:`sparsela.dask.spmm` and ``spgemm`` use.

    A sparsela array on the GPU (or a ``cupyx.scipy.sparse`` matrix) gives
    GPU chunks, sliced on the device, and a GPU meta.

    Parameters
    ----------
    A : sparsela, scipy.sparse or cupyx.scipy.sparse array, 2-D
        The array to chunk (its buffers are shared by the chunks' source).
    chunks : "auto", int, tuple
        As ``dask.array.from_array``.
    name : str, optional
        Dask key prefix. Default: a token of the inputs on the CPU; a random
        name on the GPU (a token would hash, and so copy to the host, every
        device buffer).
    format : {'csr', 'csc', 'coo'}, optional
        Convert ``A`` first.

    Returns
    -------
    dask.array.Array
        With sparsela chunks and meta, on the device of ``A``.
    """
    import dask.array as da

    from ..formats import asarray

    register()
    A = asarray(A, format=format)
    if A.format == "bsr":
        A = A.tocsr()
    if isinstance(chunks, str) and chunks == "auto":
        chunks = (auto_row_chunks(A), A.shape[1])
    device = device_of(A)
    if name is None and device == "gpu":
        name = False
    return da.from_array(A, chunks=chunks, name=name, asarray=False, fancy=False,
                         getitem=getitem, meta=meta(A.dtype, A.format, device=device))


def auto_row_chunks(A, target_bytes: int = 64 << 20) -> int:
    """Rows per chunk so that a row block holds about ``target_bytes`` of entries."""
    M = A.shape[0]
    if M == 0:
        return 1
    itemsize = A.dtype.itemsize + np.dtype(np.int64).itemsize
    per_row = max(1.0, A.nnz * itemsize / M)
    return int(max(1, min(M, target_bytes // per_row)))
