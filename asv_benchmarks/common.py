"""Inputs and library adapters shared by the benchmark modules.

Inputs (all float64, CSR, canonical: sorted indices, no duplicates, int32
indices) are made with fixed seeds, so every run and every library sees the
same matrices:

===========  ===============================================================
``rmat12``   R-MAT (Graph500 generator), scale 12, edge factor 16, seed 42
``rmat14``   R-MAT, scale 14, edge factor 16, seed 42
``poisson``  2-D 5-point Poisson matrix on a 300 x 300 grid (n = 90,000)
``bcsstk13`` ``pushpull`` ``cryg2500``: real matrices read from
             ``../shared/data/real/`` relative to the repository root
             (SuiteSparse collection via LAGraph's test data); skipped when
             that folder is absent, as it is for a lone clone of the project.
===========  ===============================================================

Libraries compared side by side (parameter ``library``):

``sparsela``   this project (Numba kernels), thread count from ``threads``
``scipy``      ``scipy.sparse`` (single threaded: ``threads=2`` is skipped)
``graphblas``  python-graphblas on SuiteSparse:GraphBLAS, ``gb.ss.config["nthreads"]``
``mkl``        Intel MKL through ``sparse_dot_mkl``, ``mkl_set_num_threads``

A library that is not installed, an operation a library does not offer, a
thread count above the machine's, or a missing real-matrix folder all make
``setup`` raise ``NotImplementedError``, which asv records as a skipped
parameter combination ("n/a"), never a failure.

Everything expensive (input generation, conversion to a library's format,
first call that compiles or loads Numba's cache) is cached per process, so a
``setup`` that asv re-runs between timed calls costs next to nothing, and no
conversion or compilation is ever inside a timed function.
"""
from __future__ import annotations

import glob
import os
import sys
from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse as sp

REPO_ROOT = Path(__file__).resolve().parent.parent
#: real matrices: ``../shared/data/real`` relative to the repository root,
#: overridable with ``SPARSELA_BENCH_DATA``
REAL_DIR = Path(os.environ.get("SPARSELA_BENCH_DATA", REPO_ROOT.parent / "shared" / "data" / "real"))

# ``environment_type: existing`` does not install the project: benchmark the
# working tree this file lives in when sparsela is not importable otherwise.
SPARSELA_IMPORT_ERROR = None
try:
    import sparsela as sl
except ImportError:
    sys.path.insert(0, str(REPO_ROOT))
    try:
        import sparsela as sl
    except ImportError as exc:  # reported by every sparsela setup
        sl = None
        SPARSELA_IMPORT_ERROR = repr(exc)

LIBRARIES = ["sparsela", "scipy", "graphblas", "mkl"]
THREADS = [1, 2]
SYNTHETIC = ["rmat12", "rmat14", "poisson"]
REAL = ["bcsstk13", "pushpull", "cryg2500"]
MATRICES = SYNTHETIC + REAL

SEED = 42
RMAT_EDGE_FACTOR = 16
POISSON_N = 300
SPMM_COLUMNS = 32


def skip(reason: str):
    """Skip this parameter combination (asv's convention)."""
    raise NotImplementedError(reason)


# --------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------
def _rmat_numpy(scale: int, edge_factor: int, seed: int) -> sp.csr_array:
    """Graph500 R-MAT (a, b, c = 0.57, 0.19, 0.19) with NumPy only.

    Used only when ``sparsela.generators.rmat`` is unavailable.
    """
    rng = np.random.default_rng(seed)
    n = 1 << scale
    m = edge_factor * n
    a, b, c = 0.57, 0.19, 0.19
    i = np.zeros(m, dtype=np.int64)
    j = np.zeros(m, dtype=np.int64)
    ab = a + b
    c_norm = c / (1.0 - ab)
    a_norm = a / ab
    for level in range(scale):
        ii = rng.random(m) > ab
        jj = rng.random(m) > np.where(ii, c_norm, a_norm)
        i += ii.astype(np.int64) << level
        j += jj.astype(np.int64) << level
    perm = rng.permutation(n)
    i, j = perm[i], perm[j]
    A = sp.coo_array((np.ones(m), (i, j)), shape=(n, n)).tocsr()
    A.sum_duplicates()
    return A


def _rmat(scale: int) -> sp.csr_array:
    try:
        rmat = sl.generators.rmat  # type: ignore[union-attr]
    except (AttributeError, ImportError):  # no sparsela, or generators not written yet
        return _rmat_numpy(scale, RMAT_EDGE_FACTOR, SEED)
    return rmat(scale, RMAT_EDGE_FACTOR, rng=SEED).to_scipy()


def _poisson(n: int) -> sp.csr_array:
    try:
        poisson2d = sl.generators.poisson2d  # type: ignore[union-attr]
    except (AttributeError, ImportError):
        T = sp.diags_array([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], offsets=[-1, 0, 1])
        eye = sp.eye_array(n)
        return sp.csr_array(sp.kron(eye, T) + sp.kron(T, eye))
    return poisson2d(n).to_scipy()


def _real(name: str) -> sp.csr_array:
    path = REAL_DIR / f"{name}.mtx"
    if not path.is_file():
        skip(f"real matrix {name}: {path} not found (the ../shared/data/real folder is absent)")
    return sp.csr_array(scipy.io.mmread(str(path)))


_INPUTS: dict = {}


def get_matrix(name: str) -> sp.csr_array:
    """The input ``name`` as a canonical float64 ``scipy.sparse.csr_array``."""
    if name not in _INPUTS:
        if name == "rmat12":
            A = _rmat(12)
        elif name == "rmat14":
            A = _rmat(14)
        elif name == "poisson":
            A = _poisson(POISSON_N)
        elif name in REAL:
            A = _real(name)
        else:
            raise ValueError(f"unknown benchmark matrix {name!r}")
        A = sp.csr_array(A, dtype=np.float64)
        A.sum_duplicates()  # also sorts indices
        A.indices = A.indices.astype(np.int32, copy=False)
        A.indptr = A.indptr.astype(np.int32, copy=False)
        _INPUTS[name] = A
    return _INPUTS[name]


def get_transpose(name: str) -> sp.csr_array:
    """``0.5 * A.T`` materialised as canonical CSR: the second operand of the
    elementwise benchmarks (a different pattern for non-symmetric inputs)."""
    key = ("T", name)
    if key not in _INPUTS:
        A = get_matrix(name)
        B = sp.csr_array(A.T * 0.5)
        B.sort_indices()
        B.indices = B.indices.astype(np.int32, copy=False)
        B.indptr = B.indptr.astype(np.int32, copy=False)
        _INPUTS[key] = B
    return _INPUTS[key]


def get_dense(n: int, k: int | None = None) -> np.ndarray:
    """Fixed-seed dense operand: a vector (``k is None``) or a C-ordered n x k block."""
    key = ("dense", n, k)
    if key not in _INPUTS:
        rng = np.random.default_rng(SEED)
        _INPUTS[key] = rng.standard_normal(n if k is None else (n, k))
    return _INPUTS[key]


# --------------------------------------------------------------------------
# libraries
# --------------------------------------------------------------------------
def _max_threads() -> int:
    n = os.cpu_count() or 1
    try:
        import numba

        n = min(n, int(numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass
    return n


def _import_graphblas():
    try:
        import graphblas as gb
    except ImportError as exc:
        skip(f"python-graphblas is not installed ({exc})")
    return gb


def _import_mkl():
    # The ``mkl`` wheel puts libmkl_rt.so.N in <prefix>/lib, which is not on
    # the loader path of a virtual environment; point sparse_dot_mkl at it.
    if "MKL_RT" not in os.environ:
        found = sorted(glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt.so*")))
        if found:
            os.environ["MKL_RT"] = found[0]
    try:
        import sparse_dot_mkl
    except ImportError as exc:
        skip(f"sparse_dot_mkl is not usable ({exc})")
    return sparse_dot_mkl


def use_library(library: str, threads: int) -> None:
    """Check that ``library`` can run on ``threads`` threads and set them."""
    if threads > _max_threads():
        skip(f"{threads} threads > {_max_threads()} available on this machine")
    if library == "sparsela":
        if sl is None:
            print(f"sparsela cannot be imported: {SPARSELA_IMPORT_ERROR}", file=sys.stderr)
            skip(f"sparsela cannot be imported: {SPARSELA_IMPORT_ERROR}")
        sl.set_num_threads(threads)
    elif library == "scipy":
        if threads != 1:
            skip("scipy.sparse is single threaded")
    elif library == "graphblas":
        gb = _import_graphblas()
        if hasattr(gb, "ss") and "nthreads" in gb.ss.config:
            gb.ss.config["nthreads"] = threads
        elif threads != 1:
            skip("this GraphBLAS backend has no thread setting")
    elif library == "mkl":
        _import_mkl().mkl_set_num_threads(threads)
    else:
        raise ValueError(f"unknown library {library!r}")


def convert(library: str, A: sp.csr_array):
    """``A`` (scipy CSR) in the native sparse type of ``library`` (cached)."""
    key = ("conv", library, id(A))
    if key not in _INPUTS:
        if library == "sparsela":
            out = sl.csr_array(A)  # zero copy
        elif library == "scipy":
            out = A
        elif library == "graphblas":
            out = _import_graphblas().io.from_scipy_sparse(A)
        elif library == "mkl":
            out = sp.csr_matrix(A)  # shares the buffers
        else:
            raise ValueError(f"unknown library {library!r}")
        _INPUTS[key] = (A, out)  # keep A alive so id(A) stays unique
    return _INPUTS[key][1]


def convert_dense(library: str, x: np.ndarray):
    """Dense operand in the type ``library`` multiplies by (cached)."""
    key = ("dconv", library, id(x))
    if key not in _INPUTS:
        if library == "graphblas":
            gb = _import_graphblas()
            out = gb.Vector.from_dense(x) if x.ndim == 1 else gb.Matrix.from_dense(x)
        else:
            out = x
        _INPUTS[key] = (x, out)
    return _INPUTS[key][1]


def tiny_matrix() -> sp.csr_array:
    """A 64 x 64 float64 CSR input with int32 indices (the dtypes of every
    benchmark input), for warm-up calls that must not cost much or set the
    process's peak memory."""
    key = ("tiny",)
    if key not in _INPUTS:
        T = sp.random_array((64, 64), density=0.1, format="csr", dtype=np.float64, rng=0)
        T.indices = T.indices.astype(np.int32)
        T.indptr = T.indptr.astype(np.int32)
        _INPUTS[key] = T
    return _INPUTS[key]


_WARM: set = set()


def warm_up(key, func) -> None:
    """Call ``func`` once per process for ``key``: Numba compiles or loads its
    cache on the first call, and the other libraries load their code paths.

    Numba specialises on dtypes, not sizes, so a call on :func:`tiny_matrix`
    compiles everything the real input needs; asv's own warm-up calls then
    settle caches before the samples that are recorded.
    """
    if key not in _WARM:
        func()
        _WARM.add(key)


def nnz_of(C) -> int:
    """Stored entries of a product from any of the libraries."""
    if hasattr(C, "nvals"):
        return int(C.nvals)
    return int(C.nnz)
