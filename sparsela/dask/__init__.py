"""Sparse linear algebra on Dask, for when one machine is not enough.

Dask is the engine; this package gives it sparsela chunks and the sparse
algorithms Dask does not have::

    import dask.array as da
    import sparsela as sl
    import sparsela.dask as sld
    from distributed import Client

    client = Client()                              # or any Dask scheduler
    X = da.from_array(A, chunks=(10_000, -1))      # sparsela chunks
    X.sum(axis=0).compute(); X[100:200].compute()  # reductions, slicing, map_blocks
    C = sld.spgemm(A, B)                           # Dask array of CSR row blocks
    Y = sld.spmm(A, W)                             # Dask array of dense row blocks
    sld.fit_incremental(estimator, X, y)           # partial_fit, block by block

* Chunk type (:mod:`._chunk_type`): ``import sparsela.dask`` registers
  ``sparsela.SparseArray`` with Dask (``register_chunk_type``, and the
  ``concatenate``/``tensordot``/``take``/``to_numpy`` dispatches), so
  ``da.from_array(A, chunks=...)``, ``map_blocks``, reductions and slicing
  work on sparsela chunks, in the client and on every worker. What Dask
  asks of a chunk (2-D slices, ``axis``-tuple reductions with ``keepdims``,
  thread-safe kernel loading, aligned buffers after unpickling) sparsela
  arrays do natively: nothing is patched.
* Products (:mod:`._products`): :func:`spmm` and :func:`spgemm` with A in
  row blocks and B broadcast to every worker once, or, for a B too big for
  one worker, both 2-D blocked with the partial products summed by a tree
  reduction. Dask's own ``A @ B`` concatenates whole block rows and columns
  of sparse chunks instead (dask/dask#6916, #7050).
* Threads (:mod:`._threads`): every task of this package runs sparsela's
  kernels on ``cores // (Dask threads on the host)`` Numba threads.
* Estimators (:mod:`._incremental`): :func:`fit_incremental` feeds
  ``partial_fit`` one computed block at a time.
* Generators (:mod:`._generators`): :func:`rmat` draws an R-MAT matrix on the
  workers, row block by row block.

Chunks may live on the GPU, as Dask holds CuPy chunks:
``from_array(A.to_device("gpu"), chunks=...)`` gives sparsela chunks on the
GPU with a GPU meta (``meta(..., device="gpu")``); slicing, reductions and
``map_blocks`` then compute on the device and give CuPy / GPU sparsela
results; ``spmm``/``spgemm`` of GPU operands run every task and the tree
sums on the GPU; ``fit_incremental`` hands GPU blocks to ``partial_fit`` as
they are; ``rmat(..., device="gpu")`` moves each generated row block to the
GPU once. Operands on different devices are a ``TypeError``, and nothing is
copied between host and device unless asked for by name
(``x.to_backend("numpy")``, ``x.to_backend("cupy")``).

Needs ``dask[array]`` (``pip install "sparsela[dask]"``) and, for clusters,
``distributed``.
"""
from __future__ import annotations

try:
    import dask.array  # noqa: F401
except ImportError as _exc:  # pragma: no cover - exercised without dask
    _IMPORT_ERROR: ImportError | None = _exc
else:
    _IMPORT_ERROR = None

__all__ = [
    "configure_workers",
    "fit_incremental",
    "from_array",
    "getitem",
    "iter_blocks",
    "meta",
    "register",
    "rmat",
    "spgemm",
    "spmm",
]

if _IMPORT_ERROR is None:
    from ._chunk_type import from_array, getitem, meta, register
    from ._generators import rmat
    from ._incremental import fit_incremental, iter_blocks
    from ._products import spgemm, spmm
    from ._threads import configure_workers

    register()
else:  # pragma: no cover
    # Keep the package importable without Dask; the public names say what is
    # missing.
    def __getattr__(name):
        if name in __all__:
            raise ImportError(
                f"sparsela.dask.{name} needs Dask: pip install 'sparsela[dask]' "
                f"(import failed: {_IMPORT_ERROR})"
            ) from _IMPORT_ERROR
        raise AttributeError(f"module 'sparsela.dask' has no attribute {name!r}")
