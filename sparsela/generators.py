"""Generators of standard sparse test matrices.

* :func:`rmat` — the Graph500 R-MAT / Kronecker graph generator (power-law
  degree distribution; the usual SpGEMM benchmark input).
* :func:`erdos_renyi` — uniform random sparsity: a fixed number of random
  columns per row (no locality, no skew; the usual "random sparse" input).
* :func:`poisson2d`, :func:`poisson3d` — finite-difference Laplacians on square
  and cubic grids (the usual sparse-solver input, regular structure).

All are built with vectorised NumPy (no Python loop over rows or edges) and
return sparsela arrays with sorted indices and no duplicate entries; the index
dtype is int32 while the sizes fit, int64 beyond.
"""
from __future__ import annotations

import importlib
import numbers

import numpy as np

__all__ = ["erdos_renyi", "poisson2d", "poisson3d", "rmat"]

_FORMATS = ("csr", "csc", "coo")
_INT32_MAX = np.iinfo(np.int32).max


def _sl():
    return importlib.import_module("sparsela")


def _check_int(value, name: str, minimum: int = 0) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _check_prob(value, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number in [0, 1], got {value!r}")
    value = float(value)
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return value


def _check_format(format) -> str:
    if format not in _FORMATS:
        raise ValueError(f"format must be one of {', '.join(map(repr, _FORMATS))}, got {format!r}")
    return format


def _check_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a NumPy numeric dtype, got {dtype!r}") from None
    if dt.kind not in "biufc":
        raise TypeError(f"dtype must be a NumPy numeric or bool dtype, got {dt}")
    return dt


def _index_dtype(*maxvals: int) -> np.dtype:
    return np.dtype(np.int32 if max(maxvals, default=0) <= _INT32_MAX else np.int64)


def _rng(rng) -> np.random.Generator:
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"rng must be None, an int seed, a numpy.random.Generator, BitGenerator or "
            f"SeedSequence, got {type(rng).__name__}"
        ) from exc


def _from_sorted_csr(indptr, indices, data, shape, format: str):
    """Wrap canonical CSR arrays (sorted, no duplicates) as a sparsela array."""
    sl = _sl()
    A = sl.csr_array((data, indices, indptr), shape=shape)
    if format == "csr":
        return A
    if format == "coo":
        return A.tocoo()
    return A.tocsc()


def _kronecker_edges(scale: int, nedges: int, a: float, b: float, c: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Edge endpoints of the Kronecker generator, before vertex permutation.

    At each of the ``scale`` levels every edge picks one quadrant of the
    adjacency matrix, (0,0), (0,1), (1,0), (1,1), with probabilities a, b, c,
    d = 1 - a - b - c; the level's quadrant gives one bit of the row and one bit
    of the column.  Vectorised over edges, looped over levels (the Graph500
    reference formulation).
    """
    idx = np.int64 if scale > 31 else np.int32
    i = np.zeros(nedges, dtype=idx)
    j = np.zeros(nedges, dtype=idx)
    ab = a + b
    # P(row bit = 1) = c + d = 1 - ab; P(col bit = 1 | row bit) = b/(a+b) or d/(c+d)
    a_norm = a / ab if ab > 0 else 0.0
    c_norm = c / (1.0 - ab) if ab < 1 else 0.0
    for level in range(scale):
        ibit = rng.random(nedges) >= ab
        thresh = np.where(ibit, c_norm, a_norm)
        jbit = rng.random(nedges) >= thresh
        bit = idx(1) << idx(level)
        i |= ibit.astype(idx) * bit
        j |= jbit.astype(idx) * bit
    return i, j


def rmat(
    scale: int,
    edge_factor: int = 16,
    a: float = 0.57,
    b: float = 0.19,
    c: float = 0.19,
    *,
    rng=None,
    dtype=np.float64,
    symmetric: bool = False,
    format: str = "csr",
):
    """R-MAT / Kronecker random graph adjacency matrix (Graph500 generator).

    ``n = 2**scale`` vertices and ``edge_factor * n`` directed edges.  Each
    edge chooses, level by level, one quadrant of the adjacency matrix with
    probabilities ``a, b, c, d = 1 - a - b - c``; then the vertex labels are
    shuffled by a random permutation (as Graph500 does, so that high degree is
    not tied to low vertex numbers).

    Parameters
    ----------
    scale : int
        Base-2 logarithm of the number of vertices, ``>= 0``.
    edge_factor : int, default 16
        Edges generated per vertex, ``>= 0``.
    a, b, c : float, default 0.57, 0.19, 0.19
        Quadrant probabilities (Graph500 defaults); each in ``[0, 1]``,
        ``a + b + c <= 1``.
    rng : None, int or numpy.random.Generator, optional
        Random source; an int seeds a new Generator (reproducible output).
    dtype : dtype, default float64
        Value dtype.
    symmetric : bool, default False
        Make the graph undirected: each generated edge ``(i, j)`` with
        ``i != j`` is also added as ``(j, i)``, so ``A == A.T``.
    format : {'csr', 'csc', 'coo'}, default 'csr'
        Format of the result.

    Returns
    -------
    sparsela array of shape (2**scale, 2**scale)
        ``A[i, j]`` is the number of generated edges ``i -> j`` (duplicate
        edges are summed, so values are positive integer counts cast to
        ``dtype``).  Self loops ``i -> i`` are kept, as the generator produces
        them.  ``A.nnz <= edge_factor * 2**scale`` (``2 *`` that if
        ``symmetric``).

    Raises
    ------
    TypeError, ValueError
        Invalid argument; the message names it.

    Examples
    --------
    >>> import sparsela as sl
    >>> A = sl.generators.rmat(10, rng=0)
    >>> A.shape
    (1024, 1024)
    """
    scale = _check_int(scale, "scale")
    if scale > 62:
        raise ValueError(f"scale must be <= 62 (vertex ids are int64), got {scale}")
    edge_factor = _check_int(edge_factor, "edge_factor")
    a = _check_prob(a, "a")
    b = _check_prob(b, "b")
    c = _check_prob(c, "c")
    if a + b + c > 1.0 + 1e-12:
        raise ValueError(f"a + b + c must be <= 1 (d = 1 - a - b - c), got {a + b + c:.6g}")
    dtype = _check_dtype(dtype)
    format = _check_format(format)
    if not isinstance(symmetric, (bool, np.bool_)):
        raise TypeError(f"symmetric must be a bool, got {symmetric!r}")
    gen = _rng(rng)

    n = 1 << scale
    nedges = edge_factor * n
    i, j = _kronecker_edges(scale, nedges, a, b, c, gen)
    perm = gen.permutation(n).astype(i.dtype, copy=False)
    i = perm[i]
    j = perm[j]
    if symmetric:
        off = i != j
        i, j = np.concatenate([i, j[off]]), np.concatenate([j, i[off]])
    # sort by (row, col) and count duplicates: one key per edge
    key = i.astype(np.int64) << np.int64(scale)
    key |= j.astype(np.int64)
    key, counts = np.unique(key, return_counts=True)
    idx = _index_dtype(n, key.size)
    rows = (key >> np.int64(scale)).astype(idx)
    cols = (key & np.int64(n - 1)).astype(idx)
    indptr = np.zeros(n + 1, dtype=idx)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return _from_sorted_csr(indptr, cols, counts.astype(dtype), (n, n), format)


def erdos_renyi(
    n: int,
    nnz_per_row: int,
    *,
    m: int | None = None,
    dtype=np.float64,
    format: str = "csr",
    rng=None,
):
    """Erdős–Rényi-style random sparse matrix with a fixed number of draws per row.

    Every row draws ``nnz_per_row`` column indices uniformly at random from
    ``range(m)`` (independently, with replacement); columns drawn twice in the
    same row are stored once.  Rows are therefore statistically identical (no
    skew, no locality), unlike :func:`rmat` or the grid Laplacians.

    Parameters
    ----------
    n : int
        Number of rows, ``>= 0``.
    nnz_per_row : int
        Column draws per row, ``>= 0``.  Each row has at most this many entries
        (fewer where draws collide: about ``nnz_per_row**2 / (2 * m)`` fewer).
    m : int, optional
        Number of columns, ``>= 0`` (default ``n``, a square matrix).  With
        ``m = 0`` the matrix has no entries.
    dtype : dtype, default float64
        Value dtype.
    format : {'csr', 'csc', 'coo'}, default 'csr'
        Format of the result.
    rng : None, int or numpy.random.Generator, optional
        Random source; an int seeds a new Generator (reproducible output).

    Returns
    -------
    sparsela array of shape (n, m)
        Every stored value is 1 (an adjacency matrix of a random directed
        graph with out-degree about ``nnz_per_row``), in canonical form: sorted
        column indices, no duplicates.  Index dtype int32 while the sizes fit.

    Raises
    ------
    TypeError, ValueError
        Invalid argument; the message names it.

    Examples
    --------
    >>> import sparsela as sl
    >>> A = sl.generators.erdos_renyi(1000, 8, rng=0)
    >>> A.shape, A.nnz <= 8 * 1000
    ((1000, 1000), True)
    """
    n = _check_int(n, "n")
    nnz_per_row = _check_int(nnz_per_row, "nnz_per_row")
    m = n if m is None else _check_int(m, "m")
    dtype = _check_dtype(dtype)
    format = _check_format(format)
    gen = _rng(rng)
    k = nnz_per_row if m > 0 else 0
    if n * k > np.iinfo(np.int64).max // 2:
        raise ValueError(f"n * nnz_per_row = {n * k} entries is too large")
    idx = _index_dtype(n, m, n * k)
    # one draw matrix, rows sorted in place: duplicates end up adjacent
    cols = gen.integers(0, max(m, 1), size=(n, k), dtype=np.int64)
    cols.sort(axis=1)
    keep = np.ones((n, k), dtype=bool)
    if k > 1:
        keep[:, 1:] = cols[:, 1:] != cols[:, :-1]
    indptr = np.zeros(n + 1, dtype=idx)
    np.cumsum(keep.sum(axis=1), out=indptr[1:])
    indices = cols[keep].astype(idx)
    data = np.ones(indices.size, dtype=dtype)
    return _from_sorted_csr(indptr, indices, data, (n, m), format)


def _laplacian(dims: tuple[int, ...], dtype, format: str):
    """Finite-difference Laplacian on a grid with ``dims`` points per axis.

    Dirichlet boundary (points outside the grid are dropped): diagonal ``2 * d``,
    ``-1`` for each grid neighbour.  Points are numbered row-major (last axis
    fastest), so the result equals ``sum_k I x .. x T_k x .. x I`` with the 1-D
    tridiagonal ``T = tridiag(-1, 2, -1)``.
    """
    dtype = _check_dtype(dtype)
    if dtype.kind in "bu":
        raise TypeError(f"dtype must be signed (the Laplacian has -1 entries), got {dtype}")
    format = _check_format(format)
    ndim = len(dims)
    N = int(np.prod(dims, dtype=np.int64))
    strides = [int(np.prod(dims[k + 1:], dtype=np.int64)) for k in range(ndim)]
    max_nnz = (2 * ndim + 1) * N
    idx = _index_dtype(N, max_nnz)
    p = np.arange(N, dtype=np.int64)
    coords = np.unravel_index(p, dims) if N else [p] * ndim
    # (axis, column offset) in increasing offset order, so rows come out sorted:
    # strides decrease with the axis, so -stride[0] < ... < -1 < 0 < 1 < ... < stride[0]
    stencil = [(k, -strides[k]) for k in range(ndim)]
    stencil += [(None, 0)] + [(k, strides[k]) for k in reversed(range(ndim))]
    cols = np.empty((N, len(stencil)), dtype=np.int64)
    vals = np.empty((N, len(stencil)), dtype=dtype)
    valid = np.ones((N, len(stencil)), dtype=bool)
    for t, (k, off) in enumerate(stencil):
        cols[:, t] = p + off
        if k is None:
            vals[:, t] = 2 * ndim
        else:
            vals[:, t] = -1
            step = 1 if off > 0 else -1
            valid[:, t] = (coords[k] + step >= 0) & (coords[k] + step < dims[k])
    counts = valid.sum(axis=1)
    indptr = np.zeros(N + 1, dtype=idx)
    np.cumsum(counts, out=indptr[1:])
    return _from_sorted_csr(indptr, cols[valid].astype(idx), vals[valid], (N, N), format)


def poisson2d(n: int, dtype=np.float64, format: str = "csr"):
    """5-point Laplacian on an ``n x n`` grid (Dirichlet boundary).

    Parameters
    ----------
    n : int
        Grid points per side, ``>= 0``.
    dtype : dtype, default float64
        Value dtype.
    format : {'csr', 'csc', 'coo'}, default 'csr'
        Format of the result.

    Returns
    -------
    sparsela array of shape (n**2, n**2)
        4 on the diagonal, -1 for each of the (up to 4) grid neighbours;
        equal to ``kron(I, T) + kron(T, I)`` with ``T = tridiag(-1, 2, -1)``.
        Symmetric positive definite for ``n >= 1``.

    Examples
    --------
    >>> import sparsela as sl
    >>> sl.generators.poisson2d(3).toarray()[4]
    array([ 0., -1.,  0., -1.,  4., -1.,  0., -1.,  0.])
    """
    n = _check_int(n, "n")
    return _laplacian((n, n), dtype, format)


def poisson3d(n: int, dtype=np.float64, format: str = "csr"):
    """7-point Laplacian on an ``n x n x n`` grid (Dirichlet boundary).

    Parameters
    ----------
    n : int
        Grid points per side, ``>= 0``.
    dtype : dtype, default float64
        Value dtype.
    format : {'csr', 'csc', 'coo'}, default 'csr'
        Format of the result.

    Returns
    -------
    sparsela array of shape (n**3, n**3)
        6 on the diagonal, -1 for each of the (up to 6) grid neighbours;
        equal to ``kron(kron(T, I), I) + kron(kron(I, T), I) + kron(kron(I, I), T)``.
    """
    n = _check_int(n, "n")
    return _laplacian((n, n, n), dtype, format)
