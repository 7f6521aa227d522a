"""``fit_incremental``: feed an estimator's ``partial_fit`` from Dask blocks.

The row blocks of a Dask array are computed one at a time (plus
``prefetch`` blocks ahead when a ``distributed`` client runs them) and handed
to ``estimator.partial_fit`` in order, so the whole array is never in memory.
Any estimator with ``partial_fit`` works: scikit-learn's (``SGDRegressor``,
``IncrementalPCA``, ``MiniBatchDictionaryLearning``...) and sparsela's
(``StochasticCCA``: ``partial_fit(X, Y)`` with two views,
``MiniBatchDictionaryLearning``).

Blocks on the GPU (sparsela arrays on the GPU, CuPy arrays) are handed over
as they are, so a GPU-capable estimator (``StochasticCCA``,
``MiniBatchDictionaryLearning``...) fits on the device; they are never
copied to the host (``block_format="scipy"`` is a ``TypeError`` for them).
"""
from __future__ import annotations

import collections
import itertools

import numpy as np

from .._device import device_of, mismatch
from ..formats import SparseArray
from ._chunk_type import _aligned, _chunks_device
from ._threads import _client

__all__ = ["fit_incremental", "iter_blocks"]

_FORMATS = ("auto", "keep", "sparsela", "scipy", "dense")


def _as_block_format(block, fmt: str, estimator):
    on_gpu = block is not None and device_of(block) == "gpu"
    if fmt == "auto":
        mod = type(estimator).__module__ or ""
        # GPU blocks stay as they are (scipy.sparse would be a host copy)
        fmt = "keep" if mod.split(".")[0] == "sparsela" or on_gpu else "scipy"
    if fmt == "keep" or block is None:
        return block
    if on_gpu and fmt == "scipy":
        raise TypeError("block_format='scipy' would copy the GPU blocks to the host; "
                        "sparsela never moves data implicitly: use block_format='keep' "
                        "(or 'dense' for CuPy blocks), or move the data with "
                        ".to_backend('numpy') / .to_device('cpu') first")
    if isinstance(block, SparseArray):
        if fmt == "scipy":
            return block.to_scipy()
        if fmt == "dense":
            return block.toarray()
        return block
    if fmt == "sparsela" and hasattr(block, "tocsr") and not isinstance(block, np.ndarray):
        from ..formats import asarray

        return asarray(block)
    if fmt == "dense" and hasattr(block, "toarray"):
        return block.toarray()
    return block


def _rows_like(v, row_chunks, name: str):
    """``v`` (Dask or in-memory, 1-D or 2-D) split like ``row_chunks``: a list of
    Dask arrays or in-memory slices."""
    import dask.array as da

    n = int(sum(row_chunks))
    if v is None:
        return [None] * len(row_chunks)
    if isinstance(v, da.Array):
        if v.shape[0] != n:
            raise ValueError(f"{name} has {v.shape[0]} rows, X has {n}")
        v = v.rechunk((row_chunks,) + (-1,) * (v.ndim - 1))
        return [v.blocks[i] for i in range(len(row_chunks))]
    if not hasattr(v, "shape"):
        v = np.asarray(v)
    if v.shape[0] != n:
        raise ValueError(f"{name} has {v.shape[0]} rows, X has {n}")
    edges = np.concatenate([[0], np.cumsum(row_chunks)]).tolist()
    return [v[a:b] for a, b in itertools.pairwise(edges)]


def iter_blocks(X, *others, order=None, prefetch: int = 0, client=None):
    """Yield ``(i, X_i, *others_i)`` for the row blocks of a Dask array, computed one by one.

    Parameters
    ----------
    X : dask.array.Array, 1-D or 2-D
        Its column chunks are joined first (every block has all columns).
    *others : Dask arrays, array_likes or None
        Split along rows like ``X`` (y, sample weights...).
    order : sequence of int, optional
        Block order (default: 0, 1, ...).
    prefetch : int, default 0
        Blocks computed ahead on a ``distributed`` client while the caller
        works on the current one (at most ``1 + prefetch`` blocks are held).
    client : distributed.Client, optional
        Default: the current client, if any; else ``dask.compute``.
    """
    import dask
    import dask.array as da

    if not isinstance(X, da.Array):
        raise TypeError(f"X must be a dask.array.Array, got {type(X).__name__}")
    if X.ndim == 2 and X.numblocks[1] > 1:
        X = X.rechunk((X.chunks[0], -1))
    row_chunks = X.chunks[0]
    xb = [X.blocks[i] for i in range(len(row_chunks))]
    ob = [_rows_like(v, row_chunks, f"argument {k + 1}") for k, v in enumerate(others)]
    order = list(range(len(row_chunks))) if order is None else [int(i) for i in order]
    if isinstance(prefetch, bool) or not isinstance(prefetch, (int, np.integer)) or prefetch < 0:
        raise ValueError(f"prefetch must be an integer >= 0, got {prefetch!r}")
    client = client if client is not None else _client()

    def parts(i):
        return [xb[i]] + [o[i] for o in ob]

    def lazy(objs):
        return [o for o in objs if isinstance(o, da.Array)]

    def fill(objs, values):
        # dense blocks off the network may be unaligned: copy those (see _aligned)
        it = iter(values)
        return [_aligned(next(it)) if isinstance(o, da.Array) else o for o in objs]

    if client is None or prefetch == 0:
        for i in order:
            objs = parts(i)
            if client is None:
                values = dask.compute(*lazy(objs))
            else:
                values = client.gather(client.compute(lazy(objs)))
            yield (i, *fill(objs, values))
        return
    pending = collections.deque()
    pos = 0
    while pos < len(order) or pending:
        while pos < len(order) and len(pending) <= prefetch:
            objs = parts(order[pos])
            pending.append((order[pos], objs, client.compute(lazy(objs))))
            pos += 1
        i, objs, futs = pending.popleft()
        values = client.gather(futs)
        del futs
        yield (i, *fill(objs, values))


def fit_incremental(estimator, X, y=None, *, classes=None, sample_weight=None,
                    n_epochs: int = 1, shuffle_blocks: bool = False, random_state=None,
                    block_format: str = "auto", prefetch: int = 0, client=None,
                    callback=None, **fit_params):
    """Fit ``estimator`` with ``partial_fit`` on the row blocks of a Dask array.

    Equivalent to::

        for epoch in range(n_epochs):
            for X_i, y_i in blocks:          # in order, or shuffled per epoch
                estimator.partial_fit(X_i, y_i, classes=classes, **fit_params)

    with each block computed just before its call (only ``1 + prefetch``
    blocks in memory).

    Parameters
    ----------
    estimator : object with ``partial_fit``
        Fitted in place and returned.
    X : dask.array.Array, (n_samples, n_features)
        Dense or sparse (sparsela, scipy.sparse) chunks, on the CPU or the
        GPU (CuPy or GPU sparsela chunks: the estimator must take GPU
        input). Row chunks are the blocks; column chunks are joined.
    y : Dask array or array_like, optional
        Targets, or the second view for two-view estimators
        (``StochasticCCA.partial_fit(X, Y)``); split like X's rows and passed
        as the second positional argument. Omitted from the call when None.
        On the device of ``X`` (``TypeError`` otherwise).
    classes : array_like, optional
        Passed as ``classes=`` to every call (classifiers).
    sample_weight : Dask array or array_like, optional
        Split like X's rows and passed as ``sample_weight=``.
    n_epochs : int, default 1
        Passes over the data.
    shuffle_blocks : bool, default False
        Visit the blocks in a new random order every epoch.
    random_state : int or numpy.random.Generator, optional
        Seed of the block order.
    block_format : {"auto", "keep", "sparsela", "scipy", "dense"}
        What sparse blocks are converted to before the call. "auto": kept
        for sparsela estimators and for blocks on the GPU,
        ``scipy.sparse`` for CPU blocks and any other estimator. GPU blocks
        are never copied to the host: "dense" gives CuPy blocks and
        "scipy" is a ``TypeError`` for them.
    prefetch : int, default 0
        Blocks computed ahead on a ``distributed`` client while the
        estimator works on the current one.
    client : distributed.Client, optional
        Default: the current client, if any; else ``dask.compute``.
    callback : callable, optional
        ``callback(estimator, epoch, block_index)`` after every call.
    **fit_params
        Passed unchanged to every call.

    Returns
    -------
    estimator
        The estimator passed in, fitted.
    """
    if not hasattr(estimator, "partial_fit"):
        raise TypeError(f"{type(estimator).__name__} has no partial_fit method")
    if block_format not in _FORMATS:
        raise ValueError(f"block_format must be one of {', '.join(map(repr, _FORMATS))}, "
                         f"got {block_format!r}")
    if isinstance(n_epochs, bool) or not isinstance(n_epochs, (int, np.integer)) \
            or n_epochs < 1:
        raise ValueError(f"n_epochs must be an integer >= 1, got {n_epochs!r}")
    import dask.array as da

    if not isinstance(X, da.Array):
        raise TypeError(f"X must be a dask.array.Array, got {type(X).__name__} "
                        "(wrap in-memory data with dask.array.from_array or "
                        "sparsela.dask.from_array)")
    # no implicit moves: X and y on one device (Dask arrays: as their metas say)
    if y is not None and _chunks_device(X) != _chunks_device(y):
        raise mismatch("X", _chunks_device(X), "y", _chunks_device(y))
    nblocks = X.numblocks[0]
    rng = np.random.default_rng(random_state)
    for epoch in range(n_epochs):
        order = rng.permutation(nblocks) if shuffle_blocks else None
        for i, Xb, yb, wb in iter_blocks(X, y, sample_weight, order=order,
                                         prefetch=prefetch, client=client):
            Xb = _as_block_format(Xb, block_format, estimator)
            yb = _as_block_format(yb, block_format, estimator)
            kw = dict(fit_params)
            if classes is not None:
                kw["classes"] = classes
            if wb is not None:
                kw["sample_weight"] = wb
            if yb is None:
                estimator.partial_fit(Xb, **kw)
            else:
                estimator.partial_fit(Xb, yb, **kw)
            if callback is not None:
                callback(estimator, epoch, int(i))
    return estimator
