"""R-MAT matrices generated on the workers, row block by row block.

:func:`rmat` makes the Graph500 Kronecker graph of
:func:`sparsela.generators.rmat` without ever holding it on one machine:
``n_tasks`` tasks each draw their share of the edges with their own seed
(``SeedSequence.spawn``), relabel the vertices and cut their edges by
destination row block; one task per row block then joins its pieces and
counts duplicate edges into a CSR block. No task holds more than its share of
the edges or one row block. With ``device="gpu"`` each row block is drawn and
assembled on the host as above and moved to the GPU once, by its own task:
the chunks and the meta live on the GPU, and the matrix is the same as on
the CPU.
"""
from __future__ import annotations

import itertools
import numbers

import numpy as np

__all__ = ["rmat"]


def _kronecker(scale: int, nedges: int, a: float, b: float, c: float, rng) -> tuple:
    """Edge endpoints (row, col) of the Kronecker generator, as uint64."""
    i = np.zeros(nedges, dtype=np.uint64)
    j = np.zeros(nedges, dtype=np.uint64)
    ab = a + b
    a_norm = a / ab if ab > 0 else 0.0
    c_norm = c / (1.0 - ab) if ab < 1 else 0.0
    for level in range(scale):
        ibit = rng.random(nedges) >= ab
        jbit = rng.random(nedges) >= np.where(ibit, c_norm, a_norm)
        bit = np.uint64(1) << np.uint64(level)
        i |= ibit.astype(np.uint64) * bit
        j |= jbit.astype(np.uint64) * bit
    return i, j


def _relabel(v: np.ndarray, scale: int, keys) -> np.ndarray:
    """A pseudo-random bijection of ``[0, 2**scale)``: rounds of an odd
    multiplier and an xor-shift (both invertible modulo ``2**scale``)."""
    if scale == 0:
        return v
    mask = np.uint64((1 << scale) - 1)
    shift = np.uint64(max(1, scale // 2))
    v = v.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        for mult, add in keys:
            v = (v * np.uint64(mult) + np.uint64(add)) & mask
            v ^= v >> shift
    return v


def _generate(scale, nedges, a, b, c, seed, keys, bounds):
    """One generation task: its edges as sorted ``row << scale | col`` keys,
    cut into one array per row block."""
    rng = np.random.default_rng(seed)
    i, j = _kronecker(scale, nedges, a, b, c, rng)
    i = _relabel(i, scale, keys)
    j = _relabel(j, scale, keys)
    key = (i << np.uint64(scale)) | j
    key.sort()
    cuts = np.searchsorted(key, np.asarray(bounds, dtype=np.uint64) << np.uint64(scale))
    return [key[cuts[k]:cuts[k + 1]] for k in range(len(bounds) - 1)]


def _pick(pieces, k):
    return pieces[k]


def _assemble(scale, r0, r1, dtype, *pieces, device="cpu"):
    """The CSR row block ``r0:r1`` from the pieces every generation task cut for
    it, on ``device`` (one host->device copy of the block for the GPU)."""
    from ..formats import csr_array

    n = 1 << scale
    key = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint64)
    key, counts = np.unique(key, return_counts=True)
    rows = (key >> np.uint64(scale)).astype(np.int64) - r0
    cols = (key & np.uint64(n - 1)).astype(np.int64)
    big = max(n, key.size) > np.iinfo(np.int32).max
    idx = np.int64 if big else np.int32
    indptr = np.zeros(r1 - r0 + 1, dtype=idx)
    np.cumsum(np.bincount(rows, minlength=r1 - r0), out=indptr[1:])
    block = csr_array((counts.astype(dtype), cols.astype(idx), indptr), shape=(r1 - r0, n))
    return block if device == "cpu" else block.to_device(device)


def rmat(scale: int, edge_factor: int = 16, a: float = 0.57, b: float = 0.19,
         c: float = 0.19, *, rng=None, dtype=np.float64, row_chunks=None,
         n_tasks: int | None = None, device: str = "cpu"):
    """R-MAT (Graph500 Kronecker) adjacency matrix as a Dask array of CSR row blocks.

    The distribution of :func:`sparsela.generators.rmat` (``2**scale``
    vertices, ``edge_factor * 2**scale`` directed edges, quadrant
    probabilities a, b, c, d; duplicate edges counted in the values), drawn on
    the workers: see the module docstring. The random stream differs from
    :func:`sparsela.generators.rmat`'s, and vertices are relabelled by a
    pseudo-random bijection (multiply and xor-shift rounds) instead of a
    uniform random permutation, which a task could not apply without the
    whole permutation.

    Parameters
    ----------
    scale : int
        Base-2 logarithm of the number of vertices, 0 to 31.
    edge_factor : int, default 16
        Edges generated per vertex.
    a, b, c : float, default 0.57, 0.19, 0.19
        Quadrant probabilities, ``a + b + c <= 1``.
    rng : None, int or numpy.random.SeedSequence
        Seed; the matrix depends only on it, ``scale`` ... ``c`` and
        ``n_tasks`` (not on the row chunks or the cluster).
    dtype : dtype, default float64
        Value dtype.
    row_chunks : int or tuple, optional
        Rows per block (default: 8 blocks).
    n_tasks : int, optional
        Generation tasks (default: the number of row blocks).
    device : {'cpu', 'gpu'}, default 'cpu'
        Where the chunks live. The edges are drawn on the host either way
        (the same matrix for the same seed); with 'gpu' every row block is
        moved to the GPU once, in the task that assembles it.

    Returns
    -------
    dask.array.Array
        Shape ``(2**scale, 2**scale)``, sparsela CSR chunks with sorted
        indices and no duplicates, one column chunk, on ``device``.
    """
    import dask
    import dask.array as da
    from dask.array.core import normalize_chunks

    from .._device import check_device
    from ..generators import _check_dtype, _check_int, _check_prob
    from . import _chunk_type

    scale = _check_int(scale, "scale")
    if scale > 31:
        raise ValueError(f"scale must be <= 31 here (row << scale | col keys), got {scale}")
    edge_factor = _check_int(edge_factor, "edge_factor")
    a, b, c = _check_prob(a, "a"), _check_prob(b, "b"), _check_prob(c, "c")
    if a + b + c > 1.0 + 1e-12:
        raise ValueError(f"a + b + c must be <= 1, got {a + b + c:.6g}")
    dtype = _check_dtype(dtype)
    device = check_device(device)
    n = 1 << scale
    if row_chunks is None:
        row_chunks = max(1, -(-n // 8))
    sizes = normalize_chunks((row_chunks,), (n,))[0]
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64).tolist()
    if n_tasks is None:
        n_tasks = len(sizes)
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, numbers.Integral) or n_tasks < 1:
        raise ValueError(f"n_tasks must be a positive integer, got {n_tasks!r}")
    n_tasks = int(n_tasks)
    ss = rng if isinstance(rng, np.random.SeedSequence) else np.random.SeedSequence(rng)
    key_seq, *task_seqs = ss.spawn(n_tasks + 1)
    kr = np.random.default_rng(key_seq)
    keys = [(int(kr.integers(0, 2**62)) * 2 + 1, int(kr.integers(0, 2**62))) for _ in range(3)]
    nedges = edge_factor * n
    per = [nedges // n_tasks + (1 if t < nedges % n_tasks else 0) for t in range(n_tasks)]
    gen = dask.delayed(_generate, pure=True)
    pick = dask.delayed(_pick, pure=True)
    assemble = dask.delayed(_assemble, pure=True)
    tasks = [gen(scale, per[t], a, b, c, task_seqs[t], keys, bounds) for t in range(n_tasks)]
    _chunk_type.register()
    meta = _chunk_type.meta(dtype, device=device)
    blocks = []
    for k, (r0, r1) in enumerate(itertools.pairwise(bounds)):
        pieces = [pick(t, k) for t in tasks]
        blk = assemble(scale, r0, r1, dtype, *pieces, device=device)
        blocks.append(da.from_delayed(blk, (r1 - r0, n), dtype=dtype, meta=meta))
    return da.concatenate(blocks, axis=0)
