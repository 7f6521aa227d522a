"""Distributed products: ``spmm(A, X)`` and ``spgemm(A, B)`` on Dask.

Dask's own ``A @ B`` / ``da.dot`` on sparse chunks gathers and concatenates
every block of the contracted axis (dask/dask#6916, #7050); these two
functions build the two graphs that do not:

``method="broadcast"``
    A in row blocks (every column in one chunk), B sent whole to every
    worker once (``client.scatter(B, broadcast=True)``; a Dask-array B is
    computed into one chunk and ``client.replicate``-d to every worker when
    the function is called), one task per row block: ``C[i] = A[i] @ B``.
    An in-memory A is cut into row blocks that sit in the graph (not
    scattered), so a worker that dies loses nothing Dask cannot recompute. Each output row is computed exactly as the
    single-machine product computes it, so the result is bitwise identical
    to ``sparsela.spgemm(A, B)`` (``sparsela.spmm(A, X)``), stored entries,
    their order and values.

``method="blocked"``
    For a B too big for one worker: A in (row x k) blocks and B in
    (k x column) blocks; one task per (i, k, j) computes the partial product
    ``A[i, k] @ B[k, j]``, and the partials of every output block (i, j) are
    summed by a tree reduction over k (``split_every`` partials per node).
    No task holds more than ``split_every`` partials, one A block and one B
    block. The sum keeps entries that cancel to zero, as the single-machine
    SpGEMM does, so the *pattern* is that of ``sparsela.spgemm(A, B)``; the
    values are sums of the same products in another association order (equal
    to rounding; exactly equal whenever the sums are exact, e.g. integer
    values below 2**53).

Both return a ``dask.array.Array`` (sparsela CSR chunks for ``spgemm``,
NumPy chunks for ``spmm``), lazily: nothing is computed until you ask.

GPU operands (sparsela arrays on the GPU, CuPy arrays, or Dask arrays of
such chunks) compute on the GPU: every task calls sparsela's GPU products,
the broadcast ``B`` is the device array itself (in the graph, or scattered
as it is), the tree reduction sums the partial products with device arrays
(a COO -> CSR conversion on the GPU for ``plus``; a stable sort and segment
pick for ``min``/``max``/``or``), and the result has GPU chunks (sparsela
CSR on the GPU; CuPy for ``spmm``) and a GPU meta. Operands on different
devices are a ``TypeError``; nothing is copied between host and device.
"""
from __future__ import annotations

import itertools
import math
import uuid

import numpy as np

from .._device import is_gpu_array, mismatch, namespace_of
from .._sputils import upcast
from ..formats import SparseArray, asarray, coo_array
from . import _chunk_type
from ._threads import _client, plan, task_context

__all__ = ["spgemm", "spmm"]

_METHODS = ("auto", "broadcast", "blocked")
#: In-memory B at most this big (bytes) is broadcast by ``method="auto"``
#: when no worker memory limit is known.
DEFAULT_BROADCAST_BYTES = 256 << 20


# --------------------------------------------------------------------------- #
# tasks (run on the workers)
# --------------------------------------------------------------------------- #
def _task_spgemm(A, B, M=None, *, opts, tplan):
    from ..ops.spgemm import spgemm as _spgemm

    with task_context(tplan):
        return _spgemm(A, B, mask=M, **opts)


def _task_spmm(A, X, *, tplan):
    from ..ops.matmul import spmm as _spmm

    if not is_gpu_array(X):
        X = _chunk_type._aligned(np.asarray(X))
    with task_context(tplan):
        return _spmm(A, X)


def _sum_dense(*parts):
    if is_gpu_array(parts[0]):
        out = parts[0].copy()
        for p in parts[1:]:
            out = out + p
        return out
    out = np.array(parts[0], copy=True, order="K")
    for p in parts[1:]:
        out += p
    return out


_REDUCE_UFUNCS = {"plus": np.add, "min": np.fmin, "max": np.fmax, "or": np.logical_or}


def _sum_sparse(*parts, add="plus", tplan=None):
    """Entrywise ⊕ of sparse partial products, keeping entries that are zero.

    Entries at the same position combine in the order of ``parts`` (so a
    chain is a left fold in k order). Result: canonical CSR.
    """
    from ..ops import _canonical as _c

    parts = [p.tocsr() for p in parts]
    if len(parts) == 1:
        return parts[0]
    xp = namespace_of(parts[0].data)  # the parts' device (one for all)
    shape = parts[0].shape
    dtype = np.result_type(*(p.dtype for p in parts))
    rows = xp.concatenate([_c.expand_indptr(p.indptr, np.int64) for p in parts])
    cols = xp.concatenate([p.indices.astype(np.int64, copy=False) for p in parts])
    vals = xp.concatenate([p.data.astype(dtype, copy=False) for p in parts])
    if add == "plus":
        # COO -> CSR sums duplicates (in input order) and keeps zeros, on
        # either device
        with task_context(tplan):
            return coo_array((vals, (rows, cols)), shape=shape).tocsr()
    if xp is not np:
        return _reduce_gpu(xp, rows, cols, vals, shape, add)
    ufunc = _REDUCE_UFUNCS[add]
    key = rows * np.int64(max(shape[1], 1)) + cols
    order = np.argsort(key, kind="stable")
    key, vals = key[order], vals[order]
    starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]])) if key.size \
        else np.zeros(0, dtype=np.int64)
    red = ufunc.reduceat(vals, starts) if key.size else vals
    ukey = key[starts]
    r = ukey // max(shape[1], 1)
    c = ukey - r * max(shape[1], 1)
    return coo_array((red.astype(dtype, copy=False), (r, c)), shape=shape).tocsr()


def _reduce_gpu(xp, rows, cols, vals, shape, add):
    """The ``min``/``max``/``or`` combination of :func:`_sum_sparse` on the
    GPU, with device arrays only (CuPy has no ``ufunc.reduceat``): a stable
    sort by (position, value rank) puts each position's result first in its
    run (NaN sorts last, so ``min``/``max`` skip NaN as ``fmin``/``fmax`` do;
    for integer ``max`` the last of the run, sorted ascending).
    """
    ncol = max(shape[1], 1)
    key = rows * ncol + cols
    last = False
    if add == "min":
        rank = vals
    elif add == "max" and vals.dtype.kind in "fc":
        rank = -vals                    # NaN still sorts last
    elif add == "max":
        rank, last = vals, True         # integers: the run's last is its max
    else:                               # "or": True first
        rank = (~vals.astype(np.bool_)).astype(np.int8)
    order = xp.argsort(rank, kind="stable")
    order = order[xp.argsort(key[order], kind="stable")]
    key, vals = key[order], vals[order]
    edge = xp.ones(key.size, dtype=np.bool_)
    if last:
        edge[:-1] = key[1:] != key[:-1]
    else:
        edge[1:] = key[1:] != key[:-1]
    starts = xp.flatnonzero(edge)
    ukey = key[starts]
    r = ukey // ncol
    return coo_array((vals[starts], (r, ukey - r * ncol)), shape=shape).tocsr()


# --------------------------------------------------------------------------- #
# inputs
# --------------------------------------------------------------------------- #
def _da():
    import dask.array as da

    return da


def _is_dask(x) -> bool:
    return isinstance(x, _da().Array)


def _nbytes(A) -> int:
    if isinstance(A, SparseArray):
        n = A.data.nbytes
        for name in ("indices", "indptr", "row", "col"):
            arr = getattr(A, name, None)
            if isinstance(arr, np.ndarray) or is_gpu_array(arr):
                n += arr.nbytes
        return int(n)
    if is_gpu_array(A):
        return int(A.nbytes)
    return int(np.asarray(A).nbytes)


def _device(x) -> str:
    """Where ``x`` lives: a Dask array's chunks (its meta), or the array."""
    return _chunk_type._chunks_device(x)


def _check_devices(**operands):
    """TypeError when the operands (None skipped) are not all on one device."""
    named = [(name, _device(x)) for name, x in operands.items() if x is not None]
    for name, dev in named[1:]:
        if dev != named[0][1]:
            raise mismatch(named[0][0], named[0][1], name, dev)
    return named[0][1]


def _normalize(chunks, n: int, default: int) -> tuple:
    """Chunk sizes along one axis of length ``n`` (int, tuple or None)."""
    from dask.array.core import normalize_chunks

    if chunks is None:
        chunks = default
    if isinstance(chunks, (int, np.integer)):
        chunks = max(1, min(int(chunks), max(n, 1)))
    return normalize_chunks((chunks,), (n,))[0]


def _bounds(sizes) -> list[tuple[int, int]]:
    edges = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).tolist()
    return list(itertools.pairwise(edges))


def _meta_like(x, dtype):
    if isinstance(x, SparseArray):
        return _chunk_type.meta(dtype, device=x.device)
    return namespace_of(x).empty((0, 0), dtype=dtype)


def _grid_to_dask(blocks, row_sizes, col_sizes, dtype):
    """A Dask array from a grid (list of lists) of in-memory blocks.

    The blocks sit in the graph (as ``da.from_array`` puts NumPy chunks
    there), not scattered: a worker that dies loses nothing the scheduler
    cannot give again, so Dask can recompute its tasks. (Scattered data has
    no lineage: losing its only holder fails the computation.)
    """
    from dask.highlevelgraph import HighLevelGraph

    da = _da()
    meta = _meta_like(blocks[0][0], dtype)
    name = "sparsela-block-" + uuid.uuid4().hex
    dsk = {(name, i, j): blocks[i][j]
           for i in range(len(row_sizes)) for j in range(len(col_sizes))}
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=())
    return da.Array(graph, name, (tuple(row_sizes), tuple(col_sizes)), meta=meta, dtype=dtype)


def _split(A, row_sizes, col_sizes):
    """In-memory blocks of ``A`` (sparse: sparsela CSR/CSC; dense: views)."""
    rows, cols = _bounds(row_sizes), _bounds(col_sizes)
    return [[A[r0:r1, c0:c1] for c0, c1 in cols] for r0, r1 in rows]


def _as_sparse_operand(x, name: str):
    if _is_dask(x):
        if x.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got a Dask array of shape {x.shape}")
        return x
    try:
        A = asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a sparse array (sparsela or scipy.sparse) or a "
                        f"Dask array of sparse chunks, got {type(x).__name__}") from exc
    if not isinstance(x, SparseArray) and not hasattr(x, "tocsr"):
        raise TypeError(f"{name} must be a sparse array (sparsela or scipy.sparse) or a "
                        f"Dask array of sparse chunks, got {type(x).__name__}")
    return A.tocsr() if A.format not in ("csr", "csc") else A


def _as_dense_operand(x, name: str):
    if _is_dask(x):
        if x.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got a Dask array of shape {x.shape}")
        return x
    if isinstance(x, SparseArray) or hasattr(x, "tocsr"):
        raise TypeError(f"{name} must be dense for spmm; use spgemm for sparse @ sparse")
    X = x if is_gpu_array(x) else np.asarray(x)     # a CuPy X stays on the GPU
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D for spmm, got shape {X.shape}")
    return X


def _rows_operand(A, row_sizes):
    """``A`` as a Dask array in ``row_sizes`` row blocks, one column chunk."""
    if _is_dask(A):
        return A.rechunk((row_sizes, -1))
    return _grid_to_dask(_split(A, row_sizes, (A.shape[1],)), row_sizes, (A.shape[1],),
                         A.dtype)


def _grid_operand(A, row_sizes, col_sizes):
    if _is_dask(A):
        return A.rechunk((row_sizes, col_sizes))
    return _grid_to_dask(_split(A, row_sizes, col_sizes), row_sizes, col_sizes, A.dtype)


def _broadcast_ref(B, client):
    """What every task of the broadcast graph reads B from."""
    import dask

    if _is_dask(B):
        Bc = B.rechunk((-1, -1))
        if client is None:
            return Bc, True
        (fut,) = client.compute(Bc.to_delayed().ravel().tolist())
        client.replicate([fut])
        return fut, False
    if client is not None:
        return client.scatter(B, broadcast=True, hash=False), False
    return dask.delayed(B, name="sparsela-operand-" + uuid.uuid4().hex, pure=True), False


def _worker_memory(client) -> int | None:
    if client is None:
        return None
    try:
        workers = client.scheduler_info(n_workers=-1)["workers"]
    except TypeError:
        workers = client.scheduler_info()["workers"]
    limits = [int(w.get("memory_limit") or 0) for w in workers.values()]
    limits = [m for m in limits if m > 0]
    return min(limits) if limits else None


def _choose_method(method, B, client, broadcast_limit):
    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, _METHODS))}, "
                         f"got {method!r}")
    if method != "auto":
        return method
    if _is_dask(B):
        # already distributed: keep it so unless it is one chunk
        return "broadcast" if all(n == 1 for n in B.numblocks) else "blocked"
    if broadcast_limit is None:
        mem = _worker_memory(client)
        broadcast_limit = mem // 8 if mem else DEFAULT_BROADCAST_BYTES
    return "broadcast" if _nbytes(B) <= broadcast_limit else "blocked"


def _blocked_default(n: int, nbytes: int, target: int = 64 << 20) -> int:
    """Block length along an axis of length n so that a B block holds about ``target`` bytes."""
    nb = max(1, math.ceil(math.sqrt(max(nbytes, 1) / target)))
    return max(1, math.ceil(max(n, 1) / nb))


# --------------------------------------------------------------------------- #
# the two graphs
# --------------------------------------------------------------------------- #
def _broadcast_graph(kind, A, B, M, *, row_sizes, out_dt, meta, client, tplan, opts):
    da = _da()
    Ad = _rows_operand(A, row_sizes)
    Bref, is_array = _broadcast_ref(B, client)
    n = B.shape[1]
    if kind == "spmm":
        func, kw = _task_spmm, {"tplan": tplan}
    else:
        func, kw = _task_spgemm, {"opts": opts, "tplan": tplan}
    args = [Ad, "ik", Bref, "kj" if is_array else None]
    new_axes = {}
    if M is not None:
        Md = _rows_operand(M, Ad.chunks[0])
        args += [Md, "ij"]
    elif not is_array:
        new_axes = {"j": n}
    return da.blockwise(func, "ij", *args, new_axes=new_axes, concatenate=True,
                        dtype=out_dt, meta=meta, name=f"sparsela-{kind}-" + uuid.uuid4().hex,
                        **kw)


def _blocked_graph(kind, A, B, M, *, row_sizes, k_sizes, col_sizes, out_dt, meta, client,
                   tplan, opts, split_every):
    import dask

    da = _da()
    Ad = _grid_operand(A, row_sizes, k_sizes)
    Bd = _grid_operand(B, k_sizes, col_sizes)
    Md = None if M is None else _grid_operand(M, row_sizes, col_sizes)
    Adl, Bdl = Ad.to_delayed(), Bd.to_delayed()
    Mdl = None if Md is None else Md.to_delayed()
    n_k = len(k_sizes)
    add = opts.get("_add", "plus")
    if kind == "spmm":
        partial = dask.delayed(_task_spmm, pure=True)
        combine = dask.delayed(_sum_dense, pure=True)
    else:
        partial = dask.delayed(_task_spgemm, pure=True)
        combine = dask.delayed(_sum_sparse, pure=True)
        popts = {k: v for k, v in opts.items() if not k.startswith("_")}
        if n_k > 1 and M is None:
            # the tree sum sorts every row anyway
            popts["sort_indices"] = False
    rows = []
    for i, r in enumerate(row_sizes):
        row = []
        for j, c in enumerate(col_sizes):
            if kind == "spmm":
                parts = [partial(Adl[i, k], Bdl[k, j], tplan=tplan) for k in range(n_k)]
            else:
                m = None if Mdl is None else Mdl[i, j]
                parts = [partial(Adl[i, k], Bdl[k, j], m, opts=popts, tplan=tplan)
                         for k in range(n_k)]
            while len(parts) > 1:
                groups = [parts[g:g + split_every] for g in range(0, len(parts), split_every)]
                if kind == "spmm":
                    parts = [combine(*g) if len(g) > 1 else g[0] for g in groups]
                else:
                    parts = [combine(*g, add=add, tplan=tplan) if len(g) > 1 else g[0]
                             for g in groups]
            row.append(da.from_delayed(parts[0], (r, c), dtype=out_dt, meta=meta))
        rows.append(row)
    return da.block(rows)


def _check_threads_arg(num_threads):
    if num_threads is not None and (isinstance(num_threads, bool)
                                    or not isinstance(num_threads, (int, np.integer))):
        raise TypeError(f"num_threads must be a positive integer or None, got {num_threads!r}")


def _check_split_every(split_every) -> int:
    if isinstance(split_every, bool) or not isinstance(split_every, (int, np.integer)):
        raise TypeError(f"split_every must be an integer >= 2, got {split_every!r}")
    if split_every < 2:
        raise ValueError(f"split_every must be >= 2, got {split_every}")
    return int(split_every)


def _row_default(A) -> int:
    if _is_dask(A):
        return A.chunks[0]
    return _chunk_type.auto_row_chunks(A) if isinstance(A, SparseArray) else \
        max(1, (64 << 20) // max(1, A.shape[1] * A.dtype.itemsize))


def _common(A, B, row_chunks, chunks, method, client, broadcast_limit, num_threads,
            split_every):
    _check_threads_arg(num_threads)
    split_every = _check_split_every(split_every)
    if A.shape[1] != B.shape[0]:
        raise ValueError(f"dimension mismatch: A has shape {A.shape}, B has shape {B.shape}")
    client = client if client is not None else _client()
    method = _choose_method(method, B, client, broadcast_limit)
    M, K = A.shape
    N = B.shape[1]
    if chunks is not None:
        if row_chunks is not None:
            raise TypeError("give row_chunks or chunks, not both")
        if not (isinstance(chunks, tuple) and len(chunks) == 3):
            raise TypeError("chunks must be a tuple (rows, k, columns) of chunk sizes")
        row_chunks, k_chunks, col_chunks = chunks
    else:
        k_chunks = col_chunks = None
    row_sizes = _normalize(row_chunks, M, _row_default(A)) if not (
        row_chunks is None and _is_dask(A)) else A.chunks[0]
    tplan = plan(num_threads, client)
    sizes = {"row_sizes": row_sizes}
    if method == "blocked":
        if k_chunks is None:
            k_chunks = A.chunks[1] if _is_dask(A) else (
                B.chunks[0] if _is_dask(B) else _blocked_default(K, _nbytes(B)))
        if col_chunks is None:
            col_chunks = B.chunks[1] if _is_dask(B) else _blocked_default(N, _nbytes(B))
        sizes["k_sizes"] = _normalize(k_chunks, K, K)
        sizes["col_sizes"] = _normalize(col_chunks, N, N)
    return method, client, tplan, sizes, split_every


def spgemm(A, B, *, sort_indices: bool = True, mask=None, complement: bool = False,
           semiring="plus_times", method: str = "auto", row_chunks=None, chunks=None,
           split_every: int = 4, broadcast_limit: int | None = None,
           num_threads: int | None = None, client=None):
    """Distributed sparse x sparse product ``A @ B`` (see the module docstring).

    Parameters
    ----------
    A : sparse array or dask.array.Array, shape (M, K)
        A sparsela or scipy.sparse array, or a Dask array of sparse chunks
        (on the CPU or the GPU: see the module docstring).
    B : sparse array or dask.array.Array, shape (K, N)
        Same kinds as ``A``, on the same device.
    sort_indices : bool, default True
        As :func:`sparsela.spgemm`: sorted column indices in every row.
    mask : sparse array or dask.array.Array, shape (M, N), optional
        As :func:`sparsela.spgemm`; chunked like the output, every task gets
        its block of it.
    complement : bool, default False
        As :func:`sparsela.spgemm`: keep the entries *not* in ``mask``.
    semiring : str or (str, str), default "plus_times"
        As :func:`sparsela.spgemm`. The blocked method reduces the partial
        products with the semiring's addition (plus, min, max or or).
    method : {"auto", "broadcast", "blocked"}, default "auto"
        "auto" broadcasts an in-memory ``B`` no bigger than
        ``broadcast_limit`` and blocks otherwise (and for a Dask-array ``B``
        of more than one chunk).
    row_chunks : int or tuple of int, optional
        Row blocks of ``A`` and ``C``. Default: a Dask array's own row
        chunks; about 64 MiB of ``A`` per block for an in-memory ``A``.
    chunks : (rows, k, columns), optional
        Blocked method: chunk sizes of ``A``'s rows, of the contracted axis
        and of ``B``'s columns. Default: a Dask array's own chunks; else
        ``B`` cut so that a block holds about 64 MiB.
    split_every : int, default 4
        Blocked method: partial products summed by each node of the tree.
    broadcast_limit : int, optional
        Bytes. Default: 1/8 of the smallest worker memory limit, or 256 MiB
        without a ``distributed`` client.
    num_threads : int, optional
        Numba threads per task. Default: the host's cores divided by the
        Dask threads on that host.
    client : distributed.Client, optional
        Default: the current client. Without one the graph runs on any Dask
        scheduler and ``B`` sits in the graph instead of being scattered.

    Returns
    -------
    dask.array.Array
        Shape (M, N), sparsela CSR chunks (row blocks x one column chunk for
        "broadcast"; row blocks x column blocks for "blocked"), on the
        operands' device. ``compute()`` joins them into one ``csr_array``.

    Raises
    ------
    ValueError
        Mismatched shapes, a mask of the wrong shape, ``complement`` without
        a mask, an unknown method or semiring, ``split_every < 2``.
    TypeError
        An operand that is not sparse; operands on different devices.
    """
    from ..ops.spgemm import _semiring_name

    name = _semiring_name(semiring)
    if not isinstance(complement, (bool, np.bool_)):
        raise TypeError(f"complement must be a bool, got {type(complement).__name__}")
    if complement and mask is None:
        raise ValueError("complement=True needs a mask")
    A = _as_sparse_operand(A, "A")
    B = _as_sparse_operand(B, "B")
    if mask is not None:
        mask = _as_sparse_operand(mask, "mask")
        if tuple(mask.shape) != (A.shape[0], B.shape[1]):
            raise ValueError(f"mask must have the shape of A @ B, {(A.shape[0], B.shape[1])}, "
                             f"got {tuple(mask.shape)}")
    device = _check_devices(A=A, B=B, mask=mask)
    method, client, tplan, sizes, split_every = _common(
        A, B, row_chunks, chunks, method, client, broadcast_limit, num_threads, split_every)
    out_dt = np.dtype(np.bool_) if name == "or_and" else upcast(A.dtype, B.dtype)
    meta = _chunk_type.meta(out_dt, device=device)
    opts = {"sort_indices": bool(sort_indices), "complement": bool(complement),
            "semiring": name}
    _chunk_type.register()
    if method == "broadcast":
        return _broadcast_graph("spgemm", A, B, mask, out_dt=out_dt, meta=meta, client=client,
                                tplan=tplan, opts=opts, **sizes)
    opts["_add"] = name.split("_")[0]
    return _blocked_graph("spgemm", A, B, mask, out_dt=out_dt, meta=meta, client=client,
                          tplan=tplan, opts=opts, split_every=split_every, **sizes)


def spmm(A, X, *, method: str = "auto", row_chunks=None, chunks=None, split_every: int = 4,
         broadcast_limit: int | None = None, num_threads: int | None = None, client=None):
    """Distributed sparse x dense product ``A @ X`` (see the module docstring).

    Parameters
    ----------
    A : sparse array or dask.array.Array, shape (M, K)
        A sparsela or scipy.sparse array, or a Dask array of sparse chunks
        (on the CPU or the GPU).
    X : array_like or dask.array.Array, shape (K, N)
        Dense, on the device of ``A`` (a CuPy array, or a Dask array of
        CuPy chunks, for a GPU ``A``).
    method : {"auto", "broadcast", "blocked"}, default "auto"
        As :func:`spgemm`.
    row_chunks : int or tuple of int, optional
        As :func:`spgemm`.
    chunks : (rows, k, columns), optional
        As :func:`spgemm`.
    split_every : int, default 4
        As :func:`spgemm`.
    broadcast_limit : int, optional
        As :func:`spgemm`.
    num_threads : int, optional
        As :func:`spgemm`.
    client : distributed.Client, optional
        As :func:`spgemm`.

    Returns
    -------
    dask.array.Array
        Shape (M, N), NumPy chunks (CuPy chunks on the GPU), dtype
        ``np.result_type(A.dtype, X.dtype)``. The broadcast method equals
        ``sparsela.spmm(A, X)`` bitwise.

    Raises
    ------
    ValueError
        Mismatched shapes, an unknown method, ``split_every < 2``.
    TypeError
        A sparse ``X`` or a dense ``A``; operands on different devices.
    """
    A = _as_sparse_operand(A, "A")
    X = _as_dense_operand(X, "X")
    device = _check_devices(A=A, X=X)
    method, client, tplan, sizes, split_every = _common(
        A, X, row_chunks, chunks, method, client, broadcast_limit, num_threads, split_every)
    out_dt = np.result_type(A.dtype, X.dtype)
    meta = (np if device == "cpu" else namespace_of(X._meta if _is_dask(X) else X)
            ).empty((0, 0), dtype=out_dt)     # NumPy or CuPy, as the chunks
    _chunk_type.register()
    if method == "broadcast":
        return _broadcast_graph("spmm", A, X, None, out_dt=out_dt, meta=meta, client=client,
                                tplan=tplan, opts={}, **sizes)
    return _blocked_graph("spmm", A, X, None, out_dt=out_dt, meta=meta, client=client,
                          tplan=tplan, opts={}, split_every=split_every, **sizes)

