"""Constructors: eye, identity, diags, random, kron, hstack, vstack, block_diag.

These mirror the array-API constructors of ``scipy.sparse`` (``eye_array``,
``identity``, ``diags_array``, ``random_array``, ``kron``, ``hstack``,
``vstack``, ``block_diag``) and return sparsela arrays. Inputs may be sparsela
arrays, ``scipy.sparse`` arrays or matrices, or dense array_likes; inputs are
never modified.

Everything is built with vectorised NumPy on the index arrays (no Python loop
over stored entries). Index arrays are int32 while the shape and the number of
stored entries fit, int64 otherwise.

On the GPU (issue 4): ``hstack``, ``vstack``, ``block_diag`` and ``kron`` of
arrays that live on the GPU compute with CuPy where the arrays live and
return arrays on the GPU, without moving data to the host (a few host reads
of sizes for allocations). All operands must live on one device: a TypeError
names the ones that do not. ``eye``, ``identity``, ``diags`` and ``random``
take ``device=``. Every output format, BSR included, lives on either device.

Default output formats differ from SciPy in two places, because sparsela has
no DIA format and its BSR format is a secondary one:

* ``eye``, ``identity`` and ``diags`` return CSR (SciPy: DIA);
* ``kron`` returns CSR (SciPy: BSR when ``B`` is dense-ish, else COO).

``random`` returns COO, ``hstack``/``vstack``/``block_diag`` return COO, as
SciPy; ``hstack`` and ``vstack`` keep CSR (CSC) when every block is CSR (CSC),
as SciPy does.
"""
from __future__ import annotations

import numbers
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._device import check_device, device_of, is_gpu_array, mismatch, namespace
from ._sputils import check_dtype, check_shape, get_index_dtype, isscalarlike, upcast
from .formats import SparseArray, asarray, bsr_array, coo_array, csc_array, csr_array
from .ops._backend import xp_of

__all__ = [
    "block_diag",
    "diags",
    "eye",
    "hstack",
    "identity",
    "kron",
    "random",
    "vstack",
]

_FORMATS = ("csr", "csc", "coo", "bsr")
_INT64_MAX = np.iinfo(np.int64).max
# below this many positions, ``random`` samples by a permutation of all of them
_SMALL_POPULATION = 1 << 20


# -- argument validation -------------------------------------------------------
def _check_size(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    value = operator.index(value)
    if value < 0:
        raise ValueError(f"{name} must be non-negative, got {value}")
    return int(value)


def _check_int(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    return int(operator.index(value))


def _check_format(format, default: str) -> str:
    if format is None:
        return default
    if not isinstance(format, str) or format not in _FORMATS:
        raise ValueError(
            f"format must be one of 'csr', 'csc', 'coo', 'bsr' or None, got {format!r}"
        )
    return format


def _block_device(x) -> str:
    """Where a block lives: sparsela arrays by their buffers, else by their type."""
    return x.device if isinstance(x, SparseArray) else device_of(x)


def _as_gpu_sparse(x, name: str, promote_1d: bool) -> SparseArray:
    """A cupyx sparse matrix or dense CuPy array as a sparsela array on the GPU."""
    if type(x).__module__.split(".")[0] == "cupyx":   # cupyx.scipy.sparse
        if x.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got a {x.ndim}-D sparse array")
        return asarray(x)
    if x.dtype.kind not in "biufc":
        raise TypeError(f"{name} must be numeric, got dtype {x.dtype}")
    if promote_1d and x.ndim < 2:
        x = x.reshape(1, -1)
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got an array of shape {x.shape}")
    return csr_array(x)


def _as_sparse(x, name: str, *, promote_1d: bool = False) -> SparseArray:
    """``x`` as a sparsela array: sparse inputs share buffers, dense ones become CSR."""
    if isinstance(x, SparseArray):
        return x
    if is_gpu_array(x):
        return _as_gpu_sparse(x, name, promote_1d)
    import scipy.sparse as sp

    if sp.issparse(x):
        if x.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got a {x.ndim}-D sparse array")
        return asarray(x)
    try:
        dense = np.asarray(x)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a sparse or dense array, got {type(x).__name__}"
        ) from None
    if dense.dtype == object or dense.dtype.kind not in "biufc":
        raise TypeError(f"{name} must be numeric, got dtype {dense.dtype}")
    if promote_1d and dense.ndim < 2:
        dense = np.atleast_2d(dense)
    if dense.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got an array of shape {dense.shape}")
    return csr_array(dense)


def _finish_csr(data, indices, indptr, shape, format: str) -> SparseArray:
    """Wrap CSR arrays and convert them to ``format``."""
    if is_gpu_array(data):
        # built here, valid by construction: the constructor's checks would
        # each read device values back to the host
        return csr_array._from_arrays(data, indices, indptr, shape).asformat(format)
    A = csr_array((data, indices, indptr), shape=shape)
    return A.asformat(format)


def _make_csc(data, indices, indptr, shape, sorted_=None, canonical=None) -> csc_array:
    if is_gpu_array(data):
        return csc_array._from_arrays(data, indices, indptr, shape, sorted_, canonical)
    return csc_array((data, indices, indptr), shape=shape)


def _make_coo(data, row, col, shape, canonical=None) -> coo_array:
    if is_gpu_array(data):
        return coo_array._from_arrays(data, row, col, shape, canonical)
    return coo_array((data, (row, col)), shape=shape)


def _repeat(xp, values, counts, total: int):
    """``np.repeat(values, counts)`` where ``counts`` sums to ``total``.

    CuPy's ``repeat`` takes host counts only: on the GPU each output
    position finds its source by a binary search in the running counts.
    """
    if xp is np:
        return np.repeat(values, counts)
    ends = xp.cumsum(counts)
    return values[xp.searchsorted(ends, xp.arange(total, dtype=ends.dtype), side="right")]


def _bounds(xp, indptr, indices) -> tuple[int, int]:
    """First and end position of the stored entries of compressed arrays.

    On the GPU they are 0 and ``len(indices)`` (sparsela keeps
    ``indptr[0] == 0`` and trims unused space), so nothing is read back.
    """
    if xp is np:
        return int(indptr[0]), int(indptr[-1])
    return 0, int(indices.shape[0])


# -- eye / identity ---------------------------------------------------------------
def _eye_csr_arrays(m: int, n: int, k: int, dtype: np.dtype, xp=np):
    """CSR arrays of the ``m x n`` array with ones on diagonal ``k``, made by ``xp``."""
    idx = get_index_dtype(maxval=max(m, n))
    i0 = max(0, -k)
    length = max(0, min(m, n - k) - i0)
    # rows before i0 are empty, rows i0 .. i0 + length - 1 hold one entry each
    indptr = xp.empty(m + 1, dtype=idx)
    indptr[:i0 + 1] = 0
    indptr[i0 + 1:i0 + length + 1] = xp.arange(1, length + 1, dtype=idx)
    indptr[i0 + length + 1:] = length
    indices = xp.arange(i0 + k, i0 + k + length, dtype=idx)
    return xp.ones(length, dtype=dtype), indices, indptr


def eye(m: int, n: int | None = None, *, k: int = 0, dtype: Any = float,
        format: str | None = None, device: str = "cpu") -> SparseArray:
    """Sparse array with ones on the ``k``-th diagonal, as ``scipy.sparse.eye_array``.

    Parameters
    ----------
    m : int
        Number of rows.
    n : int, optional
        Number of columns; defaults to ``m``.
    k : int, default 0
        Diagonal holding the ones: 0 the main one, ``k > 0`` above it,
        ``k < 0`` below it. A diagonal outside the array gives an array with
        no stored entries (SciPy raises there; NumPy's ``eye`` does not).
    dtype : dtype, default float
        Value dtype.
    format : {'csr', 'csc', 'coo', 'bsr'}, optional
        Output format; default 'csr' (SciPy's default is DIA, which sparsela
        does not have).
    device : {'cpu', 'gpu'}, default 'cpu'
        Where the result lives. On the GPU its arrays are built there
        directly (``cupy.arange``/``ones``), nothing is copied from the host.

    Returns
    -------
    SparseArray
        The ``(m, n)`` array in ``format``, with ``dtype`` ones stored on
        diagonal ``k`` only (canonical).

    Examples
    --------
    >>> import sparsela as sl
    >>> sl.eye(2, 3, k=1).toarray()
    array([[0., 1., 0.],
           [0., 0., 1.]])
    """
    m = _check_size(m, "m")
    n = m if n is None else _check_size(n, "n")
    k = _check_int(k, "k")
    dt = check_dtype(dtype)
    fmt = _check_format(format, "csr")
    xp = namespace(device)
    if fmt == "csc":
        # the CSC arrays of this array are the CSR arrays of its transpose
        data, indices, indptr = _eye_csr_arrays(n, m, -k, dt, xp)
        return _make_csc(data, indices, indptr, (m, n), True, True)
    if fmt == "coo":
        # no row pointers: O(length of the diagonal) whatever the shape
        idx = get_index_dtype(maxval=max(m, n))
        i0 = max(0, -k)
        length = max(0, min(m, n - k) - i0)
        row = xp.arange(i0, i0 + length, dtype=np.int64)
        return _make_coo(xp.ones(length, dtype=dt), row.astype(idx), (row + k).astype(idx),
                         (m, n), True)
    data, indices, indptr = _eye_csr_arrays(m, n, k, dt, xp)
    return _finish_csr(data, indices, indptr, (m, n), fmt)


def identity(n: int, dtype: Any = "d", format: str | None = None, *,
             device: str = "cpu") -> SparseArray:
    """The ``n x n`` identity, as ``scipy.sparse.identity``.

    Parameters
    ----------
    n : int
        Number of rows and columns.
    dtype : dtype, default float64
        Value dtype.
    format : {'csr', 'csc', 'coo', 'bsr'}, optional
        Output format; default 'csr' (SciPy: DIA).
    device : {'cpu', 'gpu'}, default 'cpu'
        Where the result lives; on the GPU it is built there directly (as
        :func:`eye`).

    Returns
    -------
    SparseArray
        The ``(n, n)`` identity in ``format``, with its ``n`` ones stored.

    Examples
    --------
    >>> import sparsela as sl
    >>> sl.identity(2, dtype=int).toarray()
    array([[1, 0],
           [0, 1]])
    """
    n = _check_size(n, "n")
    return eye(n, n, dtype=dtype, format=format, device=device)


# -- diags ----------------------------------------------------------------------
def _diagonal_array(d, j: int, device: str) -> np.ndarray:
    if is_gpu_array(d):
        if device != "gpu":
            raise mismatch(f"diagonals[{j}]", "gpu", "device", device)
        arr = d
    else:
        arr = np.asarray(d)
    if arr.dtype == object or arr.dtype.kind not in "biufc":
        raise TypeError(f"diagonals[{j}] must be numeric, got dtype {arr.dtype}")
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"diagonals[{j}] must be 1-D, got an array of shape {arr.shape}")
    return arr


def diags(diagonals, offsets=0, shape: tuple[int, int] | None = None,
          format: str | None = None, dtype: Any = None, *,
          device: str = "cpu") -> SparseArray:
    """Sparse array from diagonals, as ``scipy.sparse.diags_array``.

    Parameters
    ----------
    diagonals : sequence of array_like, or array_like
        The diagonals. With a scalar ``offsets``, a single 1-D diagonal (or a
        scalar) may be given directly. A diagonal of length 1 (or a scalar) is
        broadcast along its whole length; a longer one than the diagonal of
        the array is truncated, as SciPy does. With ``device='gpu'`` a
        diagonal may also be a CuPy array.
    offsets : int or sequence of int, default 0
        Diagonal of each entry of ``diagonals``: 0 the main one, ``k > 0``
        above it, ``k < 0`` below it. Offsets must be distinct.
    shape : (int, int), optional
        Output shape; by default square and just large enough for the first
        diagonal: ``len(diagonals[0]) + abs(offsets[0])``.
    format : {'csr', 'csc', 'coo', 'bsr'}, optional
        Output format; default 'csr' (SciPy's default is DIA, which sparsela
        does not have).
    dtype : dtype, optional
        Value dtype; by default the common dtype of the diagonals (SciPy 1.17
        still casts integer diagonals to float64 when ``dtype`` is omitted,
        with a FutureWarning announcing this behaviour).
    device : {'cpu', 'gpu'}, default 'cpu'
        Where the result lives. On the GPU it is built there directly: the
        values of each host diagonal are copied to the device once (CuPy
        diagonals stay where they are), positions, the zero filter and the
        format conversion run on the device.

    Returns
    -------
    SparseArray
        Zero values of the diagonals are not stored (as SciPy's conversion
        of a DIA array to other formats).

    Raises
    ------
    TypeError
        If a diagonal is a CuPy array and ``device`` is 'cpu'.

    Examples
    --------
    >>> import sparsela as sl
    >>> sl.diags([1, -2, 1], [-1, 0, 1], shape=(3, 3)).toarray()
    array([[-2,  1,  0],
           [ 1, -2,  1],
           [ 0,  1, -2]])
    """
    fmt = _check_format(format, "csr")
    device = check_device(device)
    xp = namespace(device)
    if isinstance(diagonals, SparseArray):
        raise TypeError("diagonals must be array_like, got a sparse array")
    if np.ndim(offsets) == 0:
        if isscalarlike(diagonals) or (is_gpu_array(diagonals) and diagonals.ndim <= 1):
            diag_list = [diagonals]
        else:
            seq = list(diagonals)
            if len(seq) == 0 or isscalarlike(seq[0]):
                diag_list = [seq]
            elif len(seq) == 1:
                diag_list = seq
            else:
                raise ValueError(
                    f"diagonals holds {len(seq)} diagonals but offsets is a single "
                    "offset; pass one offset per diagonal"
                )
        offsets = [offsets]
    else:
        if isscalarlike(diagonals):
            raise ValueError(
                "diagonals must be a sequence of diagonals when offsets is a sequence"
            )
        diag_list = list(diagonals)
    diag_arrays = [_diagonal_array(d, j, device) for j, d in enumerate(diag_list)]
    offs = np.asarray(offsets)
    if offs.ndim != 1:
        raise ValueError(f"offsets must be an integer or a 1-D sequence, got shape {offs.shape}")
    if offs.size and offs.dtype.kind not in "iu":
        raise TypeError(f"offsets must hold integers, got dtype {offs.dtype}")
    offs = [int(o) for o in offs]
    if len(diag_arrays) != len(offs):
        raise ValueError(
            f"diagonals holds {len(diag_arrays)} diagonals but offsets holds "
            f"{len(offs)} offsets; they must match"
        )
    if len(set(offs)) != len(offs):
        seen, repeated = set(), []
        for o in offs:
            if o in seen:
                repeated.append(o)
            seen.add(o)
        raise ValueError(f"offsets must be distinct; repeated offset(s) {sorted(set(repeated))}")
    if shape is None:
        if not diag_arrays:
            raise ValueError("shape is required when diagonals is empty")
        size = diag_arrays[0].shape[0] + abs(offs[0])
        m = n = size
    else:
        m, n = check_shape(shape)
    if dtype is None:
        dt = upcast(*[d.dtype for d in diag_arrays]) if diag_arrays else np.dtype(np.float64)
    else:
        dt = check_dtype(dtype)

    rows, cols, vals = [], [], []
    for j, (d, k) in enumerate(zip(diag_arrays, offs)):
        length = min(m + k, n - k, min(m, n))
        if length < 0:
            raise ValueError(f"offsets[{j}] = {k} is out of bounds for shape {(m, n)}")
        if d.shape[0] == 1:
            v = xp_of(d).broadcast_to(d, (length,))
        elif d.shape[0] >= length:
            v = d[:length]
        else:
            raise ValueError(
                f"diagonals[{j}] has length {d.shape[0]}, expected {length} (or 1) for "
                f"offset {k} in shape {(m, n)}"
            )
        r = xp.arange(length, dtype=np.int64) + max(0, -k)
        rows.append(r)
        cols.append(r + k)
        # host diagonals go to the device here, each once (asarray: no copy on the CPU)
        vals.append(xp.asarray(v.astype(dt)))
    if rows:
        row, col, data = xp.concatenate(rows), xp.concatenate(cols), xp.concatenate(vals)
    else:
        row = col = xp.zeros(0, dtype=np.int64)
        data = xp.zeros(0, dtype=dt)
    keep = data != 0
    if not keep.all():
        row, col, data = row[keep], col[keep], data[keep]
    idx = get_index_dtype(maxval=max(m, n, data.shape[0]))
    A = _make_coo(data, row.astype(idx), col.astype(idx), (m, n))
    if fmt == "csc":
        return A.tocsc()
    # COO -> CSR is a stable counting sort: canonical CSR, and COO back from it
    A = A.tocsr()
    return A.tocoo() if fmt == "coo" else A.asformat(fmt)


# -- random -------------------------------------------------------------------------
def _check_density(density) -> float:
    if isinstance(density, (bool, np.bool_)) or not isinstance(density, numbers.Real):
        raise TypeError(f"density must be a real number in [0, 1], got {density!r}")
    density = float(density)
    if not 0.0 <= density <= 1.0:  # also rejects NaN
        raise ValueError(f"density must be in [0, 1], got {density}")
    return density


def _as_rng(rng) -> np.random.Generator:
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            "rng must be None, an int seed, a numpy.random.Generator, BitGenerator or "
            f"SeedSequence, got {type(rng).__name__}"
        ) from exc


def _distinct_draws(draw: Callable[[int], np.ndarray], k: int, total: int,
                    rng: np.random.Generator,
                    unique: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``k`` distinct keys out of repeated uniform draws among ``total``, sorted.

    The distinct values of i.i.d. uniform draws form, given their number, a
    uniformly random subset (by symmetry); removing a uniform random part of
    the surplus keeps it uniform. Used when ``k`` is at most a quarter of
    ``total``, so few draws collide.
    """
    chosen = unique(draw(0))
    while chosen.shape[0] < k:
        have = chosen.shape[0]
        need = k - have
        # draws expected to be new: about 1 - (have + need / 2) / total of them
        hit = 1.0 - (have + need / 2) / total
        chosen = unique(np.concatenate([chosen, draw(int(need / hit * 1.01) + 32)]))
    surplus = chosen.shape[0] - k
    if surplus:
        keep = np.ones(chosen.shape[0], dtype=bool)
        keep[rng.choice(chosen.shape[0], size=surplus, replace=False)] = False
        chosen = chosen[keep]
    return chosen


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """Distinct values of a 1-D int64 array, sorted (a sort and a mask)."""
    keys = np.sort(keys)
    if keys.shape[0] > 1:
        keep = np.empty(keys.shape[0], dtype=bool)
        keep[0] = True
        np.not_equal(keys[1:], keys[:-1], out=keep[1:])
        keys = keys[keep]
    return keys


def _sorted_unique_pairs(pairs: np.ndarray) -> np.ndarray:
    """Distinct rows of an ``(k, 2)`` int64 array, in lexicographic order."""
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    if pairs.shape[0] > 1:
        keep = np.empty(pairs.shape[0], dtype=bool)
        keep[0] = True
        np.any(pairs[1:] != pairs[:-1], axis=1, out=keep[1:])
        pairs = pairs[keep]
    return pairs


def _sample_positions(m: int, n: int, k: int, rng: np.random.Generator):
    """``k`` distinct (row, col) positions of an ``m x n`` array, row-major sorted."""
    total = m * n
    if k == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if total < _INT64_MAX // 2:
        if total <= _SMALL_POPULATION or 4 * k >= total:
            # the output is comparable to the population: sample it directly
            lin = np.sort(rng.choice(total, size=k, replace=False).astype(np.int64))
        else:
            lin = _distinct_draws(
                lambda size: rng.integers(0, total, size=size, dtype=np.int64),
                k, total, rng, _sorted_unique,
            )
        return lin // n, lin % n
    # positions do not fit a linear int64 index: sample (row, col) pairs

    def draw(size):
        return np.stack([rng.integers(0, m, size=size, dtype=np.int64),
                         rng.integers(0, n, size=size, dtype=np.int64)], axis=1)

    pairs = _distinct_draws(draw, k, total, rng, _sorted_unique_pairs)
    return pairs[:, 0].copy(), pairs[:, 1].copy()


def _random_values(k: int, dt: np.dtype, rng: np.random.Generator) -> np.ndarray:
    if dt.kind == "f":
        return rng.random(k, dtype=dt if dt in (np.float32, np.float64) else np.float64).astype(dt)
    if dt.kind == "c":
        part = np.float32 if dt == np.complex64 else np.float64
        out = np.empty(k, dtype=dt)
        out.real = rng.random(k, dtype=part)
        out.imag = rng.random(k, dtype=part)
        return out
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return rng.integers(info.min, info.max, size=k, dtype=dt, endpoint=True)
    # bool: every stored entry is True
    return np.ones(k, dtype=dt)


def random(m: int, n: int, density: float = 0.01, format: str = "coo", dtype: Any = None,
           rng: Any = None,
           data_sampler: Callable[..., Any] | None = None, *,
           device: str = "cpu") -> SparseArray:
    """Random sparse array, as ``scipy.sparse.random_array((m, n), ...)``.

    Exactly ``round(density * m * n)`` distinct positions are drawn uniformly
    without replacement; the ``m * n`` positions are never materialised when
    the density is small.

    Parameters
    ----------
    m, n : int
        Shape of the array.
    density : float, default 0.01
        Fraction of stored entries, in ``[0, 1]``.
    format : {'coo', 'csr', 'csc', 'bsr'}, default 'coo'
        Output format (``None`` means 'coo').
    dtype : dtype, optional
        Value dtype, float64 by default. Floats are uniform on ``[0, 1)``;
        complex values have uniform real and imaginary parts; integers are
        uniform over the whole range of the dtype; bool entries are True.
    rng : None, int, numpy.random.Generator, optional
        Source of randomness (anything ``numpy.random.default_rng`` accepts);
        the same seed gives the same array.
    data_sampler : callable, optional
        Called as ``data_sampler(size=nnz)``; returns the ``nnz`` stored
        values (host array_like), cast to ``dtype``.
    device : {'cpu', 'gpu'}, default 'cpu'
        Where the result lives. The positions and values are always drawn
        on the host with ``rng`` (so a seed gives the same array on every
        device), the array is built there in ``format``, then moved to the
        device once (one copy of each of its arrays).

    Returns
    -------
    SparseArray
        Entries in row-major order without duplicates. Stored values may be
        zero (for an integer dtype or a custom sampler); they still count in
        ``nnz``.

    Examples
    --------
    >>> import sparsela as sl
    >>> A = sl.random(100, 50, density=0.1, rng=0)
    >>> A.nnz, A.format
    (500, 'coo')
    """
    m = _check_size(m, "m")
    n = _check_size(n, "n")
    density = _check_density(density)
    fmt = _check_format(format, "coo")
    device = check_device(device)
    dt = np.dtype(np.float64) if dtype is None else check_dtype(dtype)
    if data_sampler is not None and not callable(data_sampler):
        raise TypeError(f"data_sampler must be callable, got {type(data_sampler).__name__}")
    gen = _as_rng(rng)
    total = m * n
    k = min(round(density * total), total)
    row, col = _sample_positions(m, n, k, gen)
    if data_sampler is None:
        data = _random_values(k, dt, gen)
    else:
        data = np.asarray(data_sampler(size=k))
        if data.shape != (k,):
            raise ValueError(
                f"data_sampler(size={k}) must return {k} values, got an array of "
                f"shape {data.shape}"
            )
        data = data.astype(dt)
    idx = get_index_dtype(maxval=max(m, n, k))
    A = coo_array((data, (row.astype(idx), col.astype(idx))), shape=(m, n))
    return A.asformat(fmt).to_device(device)


# -- kron ---------------------------------------------------------------------------
def _canonical_compressed(A: SparseArray, fmt: str):
    """(indptr, indices, data) of ``A`` in ``fmt`` ('csr'/'csc'), sorted, no duplicates.

    Never changes ``A``: duplicates are summed on a new object sharing its buffers.
    """
    C = A.asformat(fmt)
    if not C.has_canonical_format:
        C = type(C)(C)
        C.sum_duplicates()
    return C.indptr, C.indices, C.data


def _exclusive_cumsum(counts: np.ndarray, xp=np) -> np.ndarray:
    out = xp.zeros(counts.shape[0], dtype=np.int64)
    if counts.shape[0] > 1:
        if xp is np:
            np.cumsum(counts[:-1], out=out[1:])
        else:
            out[1:] = xp.cumsum(counts[:-1])
    return out


def _kron_arrays(Ap, Aj, Ax, Bp, Bj, Bx, mB: int, nB: int, dtype, want_rows: bool):
    """Entries of ``kron(A, B)`` from the CSR arrays of A and B, row-major.

    Returns the entries' (row, col, data) (row None unless ``want_rows``)
    and, per nonempty output row, its index and count. Only the nonempty
    rows of A and B are paired, so a huge mostly-empty result costs O(nnz).

    Output row ``(i, p)`` (``i * mB + p``) holds, for every entry ``e`` of
    row ``i`` of A in order, a "segment": the entries of row ``p`` of B scaled
    by ``A[e]``. Segments are laid out with np.repeat, entries within a
    segment with one arange.

    The arrays may live on the GPU (all of them): the same steps then run
    with CuPy, repeats by a searchsorted expansion (``_repeat``), and the
    sizes come from the canonical inputs' lengths instead of device reads.
    """
    xp = xp_of(Ap)
    ca = xp.diff(Ap).astype(np.int64)
    cb = xp.diff(Bp).astype(np.int64)
    ia = xp.flatnonzero(ca)
    pb = xp.flatnonzero(cb)
    # nonempty output rows: pairs (i, p), row-major
    I = xp.repeat(ia, pb.shape[0])
    P = xp.tile(pb, ia.shape[0])
    out_rows = I * mB + P
    counts = ca[I] * cb[P]
    # segments: (pair, A entry), with the length of B's row
    seg_per_pair = ca[I]
    if xp is np:
        nnz = int(counts.sum())
        n_seg = int(seg_per_pair.sum())
    else:
        # canonical compressed arrays hold exactly indptr[-1] entries: every
        # entry of A meets every nonempty row (every entry) of B
        n_seg = int(Aj.shape[0]) * int(pb.shape[0])
        nnz = int(Aj.shape[0]) * int(Bj.shape[0])
    seg_pair = _repeat(xp, xp.arange(I.shape[0], dtype=np.int64), seg_per_pair, n_seg)
    seg_a = (xp.arange(n_seg, dtype=np.int64)
             - _repeat(xp, _exclusive_cumsum(seg_per_pair, xp) - Ap[I].astype(np.int64),
                       seg_per_pair, n_seg))
    seg_p = P[seg_pair]
    seg_len = cb[seg_p]
    seg_first = _exclusive_cumsum(seg_len, xp)
    # entry t of segment s takes B entry Bp[p] + (t - seg_first[s])
    b_idx = (xp.arange(nnz, dtype=np.int64)
             + _repeat(xp, Bp[seg_p].astype(np.int64) - seg_first, seg_len, nnz))
    row = _repeat(xp, out_rows, counts, nnz) if want_rows else None
    col = _repeat(xp, Aj[seg_a].astype(np.int64) * nB, seg_len, nnz)
    col += Bj[b_idx]
    data = xp.multiply(_repeat(xp, Ax[seg_a], seg_len, nnz), Bx[b_idx], dtype=dtype)
    return row, col, data, out_rows, counts


def kron(A, B, format: str | None = None) -> SparseArray:
    """Kronecker product of two arrays, as ``scipy.sparse.kron``.

    Parameters
    ----------
    A, B : sparse array or array_like
        The factors: sparsela or ``scipy.sparse`` arrays/matrices, or dense
        2-D arrays; on the GPU, sparsela arrays there, ``cupyx.scipy.sparse``
        matrices or dense CuPy arrays. Both must live on one device; the
        product is computed and returned there.
    format : {'csr', 'csc', 'coo', 'bsr'}, optional
        Output format; default 'csr' (SciPy returns BSR when ``B`` is
        dense-ish and COO otherwise). With 'bsr' and a dense-ish ``B`` (at
        least half its entries stored) the blocks are ``B``-shaped, as SciPy.

    Returns
    -------
    SparseArray
        Of shape ``(A.shape[0] * B.shape[0], A.shape[1] * B.shape[1])`` and
        dtype the common dtype of ``A`` and ``B``; explicit zeros are kept.
        Indices are int64 when the shape or the number of stored entries
        exceeds int32. On the device of ``A`` and ``B``.

    Raises
    ------
    TypeError
        If ``A`` and ``B`` live on different devices.

    Examples
    --------
    >>> import numpy as np, sparsela as sl
    >>> sl.kron(sl.eye(2), np.array([[1, 2]])).toarray()
    array([[1., 2., 0., 0.],
           [0., 0., 1., 2.]])
    """
    fmt = _check_format(format, "csr")
    A = _as_sparse(A, "A")
    B = _as_sparse(B, "B")
    if A.device != B.device:
        raise mismatch("A", A.device, "B", B.device)
    xp = xp_of(A.data)
    (mA, nA), (mB, nB) = A.shape, B.shape
    M, N = mA * mB, nA * nB
    if max(M, N) > _INT64_MAX // 2:
        raise ValueError(f"kron result shape {(M, N)} is too large for int64 indices")
    dt = upcast(A.dtype, B.dtype)

    if fmt == "bsr" and mB * nB > 0 and 2 * B.nnz >= mB * nB:
        Ap, Aj, Ax = _canonical_compressed(A, "csr")
        blocks = Ax.astype(dt)[:, None, None] * B.toarray().astype(dt)[None, :, :]
        # own index arrays: the result never shares memory with an input
        return bsr_array((blocks, Aj.copy(), Ap.copy()), shape=(M, N))

    if fmt == "csc":
        # kron(A, B).T = kron(A.T, B.T): the CSC arrays of the result are the
        # CSR arrays of kron(A.T, B.T), built from the CSC arrays of A and B
        Ap, Aj, Ax = _canonical_compressed(A, "csc")
        Bp, Bj, Bx = _canonical_compressed(B, "csc")
        _, minor_idx, data, out_major, counts = _kron_arrays(
            Ap, Aj, Ax, Bp, Bj, Bx, nB, mB, dt, want_rows=False)
        n_major = N
    else:
        Ap, Aj, Ax = _canonical_compressed(A, "csr")
        Bp, Bj, Bx = _canonical_compressed(B, "csr")
        row, minor_idx, data, out_major, counts = _kron_arrays(
            Ap, Aj, Ax, Bp, Bj, Bx, mB, nB, dt, want_rows=(fmt == "coo"))
        n_major = M
    nnz = data.shape[0]
    idx = get_index_dtype(maxval=max(M, N, nnz))
    if fmt == "coo":
        return _make_coo(data, row.astype(idx), minor_idx.astype(idx), (M, N))
    indptr = xp.zeros(n_major + 1, dtype=idx)
    indptr[out_major + 1] = counts
    if xp is np:
        np.cumsum(indptr, out=indptr)
    else:
        indptr = xp.cumsum(indptr, dtype=idx)
    if fmt == "csc":
        return _make_csc(data, minor_idx.astype(idx), indptr, (M, N))
    return _finish_csr(data, minor_idx.astype(idx), indptr, (M, N), fmt)


# -- hstack / vstack / block_diag -----------------------------------------------------
def _block_list(blocks, fname: str, allow_none: bool, promote_1d: bool = False):
    """Validate ``blocks``.

    Returns the (position, sparsela array) of every block, ``None`` skipped,
    and the format the output takes by default: 'csr' ('csc') when every
    block is a CSR (CSC) sparse array, else 'coo' (as SciPy). All blocks must
    live on one device (TypeError naming two that do not).
    """
    import scipy.sparse as sp

    name = "mats" if fname == "block_diag" else "blocks"
    if isinstance(blocks, SparseArray) or sp.issparse(blocks) or isinstance(blocks, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of arrays, got {type(blocks).__name__}")
    try:
        items = list(blocks)
    except TypeError:
        raise TypeError(
            f"{name} must be a sequence of arrays, got {type(blocks).__name__}"
        ) from None
    if not items:
        raise ValueError(f"{fname}: {name} must not be empty")
    out = []
    formats = set()
    first = None  # (position, device) of the first block
    for i, b in enumerate(items):
        if b is None:
            if allow_none:
                continue
            raise TypeError(f"{name}[{i}] is None; {fname} needs arrays")
        dev = _block_device(b)
        if first is None:
            first = (i, dev)
        elif dev != first[1]:
            raise mismatch(f"{name}[{first[0]}]", first[1], f"{name}[{i}]", dev)
        is_sparse = (isinstance(b, SparseArray) or sp.issparse(b)
                     or type(b).__module__.split(".")[0] == "cupyx")
        formats.add(b.format if is_sparse else None)
        out.append((i, _as_sparse(b, f"{name}[{i}]", promote_1d=promote_1d)))
    if not out:
        raise ValueError(f"{fname}: {name} holds only None; at least one array is needed")
    default = formats.pop() if len(formats) == 1 and formats <= {"csr", "csc"} else "coo"
    return out, default


def _result_dtype(arrays, dtype) -> np.dtype:
    if dtype is not None:
        return check_dtype(dtype)
    return upcast(*[a.dtype for a in arrays])


def _concat_major(parts, minor_offsets, n_major: int, n_minor: int, dt):
    """Compressed arrays stacked along the major axis (CSR rows / CSC columns).

    ``parts`` holds (indptr, indices, data); the indices of part ``i`` are
    shifted by ``minor_offsets[i]`` (nonzero for ``block_diag``).
    """
    xp = xp_of(parts[0][0])
    bounds = [_bounds(xp, p, ind) for p, ind, _ in parts]
    nnz = sum(p1 - p0 for p0, p1 in bounds)
    idx = get_index_dtype(maxval=max(nnz, n_major, n_minor))
    # every value fits ``idx``: offsets arithmetic runs in it directly
    ptrs = [xp.zeros(1, dtype=idx)]
    inds, vals = [], []
    done = 0
    for (p, ind, d), off, (p0, p1) in zip(parts, minor_offsets, bounds):
        ptrs.append(xp.add(p[1:], done - p0, dtype=idx, casting="unsafe"))
        inds.append(xp.add(ind[p0:p1], off, dtype=idx, casting="unsafe") if off else ind[p0:p1])
        vals.append(d[p0:p1])
        done += p1 - p0
    indptr = xp.concatenate(ptrs)
    indices = xp.concatenate(inds, dtype=idx, casting="unsafe")
    data = xp.concatenate(vals, dtype=dt, casting="unsafe")
    return data, indices, indptr


def _concat_minor(parts, minor_offsets, n_major: int, n_minor: int, dt):
    """Compressed arrays of one major length side by side along the minor axis.

    Every output row (CSR) / column (CSC) holds the entries of the parts in
    order; each part's entries are scattered to their place in one vectorised
    step.
    """
    xp = xp_of(parts[0][0])
    counts = [xp.diff(p).astype(np.int64) for p, _, _ in parts]
    bounds = [_bounds(xp, p, ind) for p, ind, _ in parts]
    total = xp.zeros(n_major, dtype=np.int64)
    for c in counts:
        total += c
    out_ptr = xp.zeros(n_major + 1, dtype=np.int64)
    if xp is np:
        np.cumsum(total, out=out_ptr[1:])
        nnz = int(out_ptr[-1])
    else:
        out_ptr[1:] = xp.cumsum(total)
        nnz = sum(p1 - p0 for p0, p1 in bounds)   # no device read
    idx = get_index_dtype(maxval=max(nnz, n_major, n_minor))
    indices = xp.empty(nnz, dtype=idx)
    data = xp.empty(nnz, dtype=dt)
    placed = xp.zeros(n_major, dtype=np.int64)
    for (p, ind, d), c, off, (p0, p1) in zip(parts, counts, minor_offsets, bounds):
        if p1 > p0:
            # destination of entry e of major row r: out_ptr[r] + placed[r] + (e - p[r])
            shift = out_ptr[:-1] + placed - p[:-1].astype(np.int64)
            dest = _repeat(xp, shift, c, p1 - p0) + xp.arange(p0, p1, dtype=np.int64)
            indices[dest] = ind[p0:p1].astype(np.int64) + off
            data[dest] = d[p0:p1]
        placed += c
    return data, indices, out_ptr.astype(idx)


def _concat_coo(arrays, row_offsets, col_offsets, shape, dt):
    cooz = [a.tocoo() for a in arrays]
    xp = xp_of(cooz[0].data)
    nnz = sum(c.nnz for c in cooz)
    idx = get_index_dtype(maxval=max(nnz, *shape))
    row = xp.concatenate([xp.zeros(0, dtype=np.int64)] +
                         [c.row.astype(np.int64) + r for c, r in zip(cooz, row_offsets)])
    col = xp.concatenate([xp.zeros(0, dtype=np.int64)] +
                         [c.col.astype(np.int64) + o for c, o in zip(cooz, col_offsets)])
    data = xp.concatenate([xp.zeros(0, dtype=dt)] + [c.data.astype(dt) for c in cooz])
    return _make_coo(data, row.astype(idx), col.astype(idx), shape)


def _stack(blocks, format, dtype, axis: int, fname: str) -> SparseArray:
    items, default = _block_list(blocks, fname, allow_none=True)
    fmt = _check_format(format, default)
    # the axis blocks share (rows for hstack, columns for vstack)
    shared = 1 - axis
    what = "rows" if shared == 0 else "columns"
    first_pos, first = items[0]
    expected = first.shape[shared]
    for i, a in items[1:]:
        if a.shape[shared] != expected:
            raise ValueError(
                f"blocks[{i}] has {a.shape[shared]} {what}, expected {expected} "
                f"(as blocks[{first_pos}])"
            )
    arrays = [a for _, a in items]
    dt = _result_dtype(arrays, dtype)
    sizes = [a.shape[axis] for a in arrays]
    offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])[:-1].tolist()
    length = int(sum(sizes))
    shape = (length, expected) if axis == 0 else (expected, length)
    zeros = [0] * len(arrays)
    if fmt == "coo":
        if axis == 0:
            return _concat_coo(arrays, offsets, zeros, shape, dt)
        return _concat_coo(arrays, zeros, offsets, shape, dt)
    if fmt == "csc":
        parts = [(c.indptr, c.indices, c.data) for c in (a.tocsc() for a in arrays)]
        if axis == 1:   # columns follow one another: CSC major axis
            data, indices, indptr = _concat_major(parts, zeros, shape[1], shape[0], dt)
        else:
            data, indices, indptr = _concat_minor(parts, offsets, shape[1], shape[0], dt)
        return _make_csc(data, indices, indptr, shape)
    parts = [(c.indptr, c.indices, c.data) for c in (a.tocsr() for a in arrays)]
    if axis == 0:       # rows follow one another: CSR major axis
        data, indices, indptr = _concat_major(parts, zeros, shape[0], shape[1], dt)
    else:
        data, indices, indptr = _concat_minor(parts, offsets, shape[0], shape[1], dt)
    return _finish_csr(data, indices, indptr, shape, fmt)


def hstack(blocks: Sequence[Any], format: str | None = None, dtype: Any = None) -> SparseArray:
    """Stack arrays side by side (column-wise), as ``scipy.sparse.hstack``.

    Parameters
    ----------
    blocks : sequence of sparse arrays or 2-D array_likes
        All with the same number of rows; ``None`` entries are skipped.
        All on one device: on the GPU, sparsela arrays there,
        ``cupyx.scipy.sparse`` matrices or dense CuPy arrays.
    format : {'csr', 'csc', 'coo', 'bsr'}, optional
        Output format. By default CSR when every block is CSR, CSC when every
        block is CSC, COO otherwise (as SciPy).
    dtype : dtype, optional
        Value dtype; by default the common dtype of the blocks.

    Returns
    -------
    SparseArray
        The stacked array in ``format``, holding every stored entry of the
        blocks (explicit zeros included), on the blocks' device.

    Raises
    ------
    TypeError
        If two blocks live on different devices.

    Examples
    --------
    >>> import numpy as np, sparsela as sl
    >>> sl.hstack([sl.eye(2), np.array([[5], [6]])]).toarray()
    array([[1., 0., 5.],
           [0., 1., 6.]])
    """
    return _stack(blocks, format, dtype, 1, "hstack")


def vstack(blocks: Sequence[Any], format: str | None = None, dtype: Any = None) -> SparseArray:
    """Stack arrays one above the other (row-wise), as ``scipy.sparse.vstack``.

    Parameters
    ----------
    blocks : sequence of sparse arrays or 2-D array_likes
        All with the same number of columns; ``None`` entries are skipped.
        All on one device: on the GPU, sparsela arrays there,
        ``cupyx.scipy.sparse`` matrices or dense CuPy arrays.
    format : {'csr', 'csc', 'coo', 'bsr'}, optional
        Output format. By default CSR when every block is CSR, CSC when every
        block is CSC, COO otherwise (as SciPy).
    dtype : dtype, optional
        Value dtype; by default the common dtype of the blocks.

    Returns
    -------
    SparseArray
        The stacked array in ``format``, holding every stored entry of the
        blocks (explicit zeros included), on the blocks' device.

    Raises
    ------
    TypeError
        If two blocks live on different devices.

    Examples
    --------
    >>> import numpy as np, sparsela as sl
    >>> sl.vstack([sl.eye(2), np.array([[5, 6]])]).toarray()
    array([[1., 0.],
           [0., 1.],
           [5., 6.]])
    """
    return _stack(blocks, format, dtype, 0, "vstack")


def block_diag(mats: Sequence[Any], format: str | None = None, dtype: Any = None) -> SparseArray:
    """Block-diagonal array from the given arrays, as ``scipy.sparse.block_diag``.

    Parameters
    ----------
    mats : sequence of sparse arrays or array_likes
        The diagonal blocks, in order; scalars and 1-D arrays count as one
        row. Blocks may have zero rows or columns. All on one device: on the
        GPU, sparsela arrays there, ``cupyx.scipy.sparse`` matrices or dense
        CuPy arrays (Python scalars and lists are host data).
    format : {'csr', 'csc', 'coo', 'bsr'}, optional
        Output format; default 'coo' (as SciPy).
    dtype : dtype, optional
        Value dtype; by default the common dtype of the blocks.

    Returns
    -------
    SparseArray
        The array of shape ``(sum of the rows, sum of the columns)`` of the
        blocks, in ``format``, with block ``i`` at the rows and columns
        following block ``i - 1``, on the blocks' device.

    Raises
    ------
    TypeError
        If two blocks live on different devices.

    Examples
    --------
    >>> import sparsela as sl
    >>> sl.block_diag([[[1, 2]], 3]).toarray()
    array([[1, 2, 0],
           [0, 0, 3]])
    """
    items, _ = _block_list(mats, "block_diag", allow_none=False, promote_1d=True)
    fmt = _check_format(format, "coo")
    arrays = [a for _, a in items]
    dt = _result_dtype(arrays, dtype)
    rows = [a.shape[0] for a in arrays]
    cols = [a.shape[1] for a in arrays]
    row_off = np.concatenate([[0], np.cumsum(rows, dtype=np.int64)])[:-1].tolist()
    col_off = np.concatenate([[0], np.cumsum(cols, dtype=np.int64)])[:-1].tolist()
    shape = (int(sum(rows)), int(sum(cols)))
    if fmt == "coo":
        return _concat_coo(arrays, row_off, col_off, shape, dt)
    if fmt == "csc":
        parts = [(c.indptr, c.indices, c.data) for c in (a.tocsc() for a in arrays)]
        data, indices, indptr = _concat_major(parts, row_off, shape[1], shape[0], dt)
        return _make_csc(data, indices, indptr, shape)
    parts = [(c.indptr, c.indices, c.data) for c in (a.tocsr() for a in arrays)]
    data, indices, indptr = _concat_major(parts, col_off, shape[0], shape[1], dt)
    return _finish_csr(data, indices, indptr, shape, fmt)
