"""Inputs, library adapters and the base class shared by the benchmark modules.

Inputs (all float64, CSR, canonical: sorted indices, no duplicates, int32
indices) are made with fixed seeds, so every run and every library sees the
same matrices:

===============  ============================================================
``rmat12``       R-MAT (Graph500 generator), scale 12, edge factor 16, seed 42
``rmat14``       R-MAT, scale 14, edge factor 16, seed 42
``er14``         Erdos-Renyi, 2**14 rows, 16 random columns per row, seed 42
``poisson``      2-D 5-point Poisson matrix on a 300 x 300 grid (n = 90,000)
``bcsstk13`` ``pushpull`` ``cryg2500``: real matrices read from
                 ``../shared/data/real/`` relative to the repository root
                 (SuiteSparse collection via LAGraph's test data); skipped when
                 that folder is absent, as it is for a lone clone of the project.
===============  ============================================================

``SPARSELA_ASV_LARGE=1`` adds the sizes of ``sparsela bench`` (issue 3):
``poisson1000`` (1000 x 1000 grid), ``er16`` (2**16 rows) and ``rmat16``
(scale 16) -- minutes per benchmark on 2 cores, so not in the default run.

Generated inputs are cached on disk in ``.asv/inputs`` (git-ignored; keyed by
the generator source), so the one process asv starts per benchmark and
parameter combination loads them instead of generating them again.

Libraries compared side by side (parameter ``library``):

``sparsela``   this project (Numba kernels), thread count from ``threads``
``scipy``      ``scipy.sparse`` (single threaded: ``threads=2`` is skipped)
``graphblas``  python-graphblas on SuiteSparse:GraphBLAS, ``gb.ss.config["nthreads"]``
``mkl``        Intel MKL through ``sparse_dot_mkl``, ``mkl_set_num_threads``

A library that is not installed, an operation a library does not offer, a
thread count above the machine's, or a missing real-matrix folder all make
``setup`` raise ``NotImplementedError``, which asv records as a skipped
parameter combination ("n/a"), never a failure.

:class:`LibraryBenchmark` is the setup every benchmark class shares: skip
what cannot run, set the threads, convert the inputs to the library's types
and make the first call on a tiny input (Numba compiles or loads its cache
there), so no conversion or compilation is ever inside a timed function.
"""
from __future__ import annotations

import glob
import hashlib
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

def _fix_malloc_threshold() -> None:
    """glibc: serve every allocation >= 128 KiB by mmap (returned to the system
    on free), so peak-memory figures do not depend on what earlier calls left
    in the heap. Without this glibc raises the threshold after large frees."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        M_MMAP_THRESHOLD, M_TRIM_THRESHOLD = -3, -1
        libc.mallopt(M_MMAP_THRESHOLD, 128 * 1024)
        libc.mallopt(M_TRIM_THRESHOLD, 128 * 1024)
    except (OSError, AttributeError):  # not glibc
        pass


_fix_malloc_threshold()

LIBRARIES = ["sparsela", "scipy", "graphblas", "mkl"]
THREADS = [1, 2]
SYNTHETIC = ["rmat12", "rmat14", "er14", "poisson"]
#: the sizes of ``sparsela bench`` (too slow for the default run on 2 cores)
LARGE = ["poisson1000", "er16", "rmat16"]
if os.environ.get("SPARSELA_ASV_LARGE", "") not in ("", "0"):
    SYNTHETIC = SYNTHETIC + LARGE
REAL = ["bcsstk13", "pushpull", "cryg2500"]
MATRICES = SYNTHETIC + REAL

SEED = 42
RMAT_EDGE_FACTOR = 16
ER_NNZ_PER_ROW = 16
POISSON_N = 300
#: peak memory is recorded on one thread (halves the number of processes;
#: the per-thread workspaces are small next to the inputs and the result)
MEMORY_THREADS = [1]
#: dense columns of SpMM (``bench_spmm``) and of SDDMM's factors
SPMM_COLUMNS = [16, 64, 256]
SDDMM_COLUMNS = 64
#: on-disk cache of generated inputs
INPUT_CACHE = REPO_ROOT / ".asv" / "inputs"


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


def _er(scale: int) -> sp.csr_array:
    try:
        er = sl.generators.erdos_renyi  # type: ignore[union-attr]
    except (AttributeError, ImportError):  # an older sparsela: the same model in NumPy
        rng = np.random.default_rng(SEED)
        n = 1 << scale
        cols = rng.integers(0, n, size=(n, ER_NNZ_PER_ROW))
        rows = np.repeat(np.arange(n), ER_NNZ_PER_ROW)
        A = sp.coo_array((np.ones(rows.size), (rows, cols.ravel())), shape=(n, n)).tocsr()
        A.sum_duplicates()
        A.data[:] = 1.0
        return A
    return er(1 << scale, ER_NNZ_PER_ROW, rng=SEED).to_scipy()


def _generate(name: str) -> sp.csr_array:
    if name.startswith("rmat"):
        return _rmat(int(name[4:]))
    if name.startswith("er"):
        return _er(int(name[2:]))
    if name == "poisson":
        return _poisson(POISSON_N)
    if name.startswith("poisson"):
        return _poisson(int(name[7:]))
    raise ValueError(f"unknown benchmark matrix {name!r}")


def _cache_key() -> str:
    """Changes when the generators do (their source, or their absence)."""
    src = b""
    path = REPO_ROOT / "sparsela" / "generators.py"
    if sl is not None and path.is_file():
        src = path.read_bytes()
    return hashlib.sha1(src + f"{SEED}-{np.__version__}".encode()).hexdigest()[:12]


def _cached_generate(name: str) -> sp.csr_array:
    """``_generate(name)``, through ``.asv/inputs/NAME-KEY.npz``."""
    path = INPUT_CACHE / f"{name}-{_cache_key()}.npz"
    if path.is_file():
        try:
            return sp.csr_array(sp.load_npz(path))
        except Exception:  # a truncated file: make it again
            pass
    A = _generate(name)
    try:
        INPUT_CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        sp.save_npz(tmp, sp.csr_array(A), compressed=False)
        os.replace(tmp, path)
    except OSError:  # read-only checkout: no cache
        pass
    return A


def _real(name: str) -> sp.csr_array:
    path = REAL_DIR / f"{name}.mtx"
    if not path.is_file():
        skip(f"real matrix {name}: {path} not found (the ../shared/data/real folder is absent)")
    return sp.csr_array(scipy.io.mmread(str(path)))


_INPUTS: dict = {}


def get_matrix(name: str) -> sp.csr_array:
    """The input ``name`` as a canonical float64 ``scipy.sparse.csr_array``."""
    if name not in _INPUTS:
        A = _real(name) if name in REAL else _cached_generate(name)
        A = sp.csr_array(A, dtype=np.float64)
        A.sum_duplicates()  # also sorts indices
        A.indices = A.indices.astype(np.int32, copy=False)
        A.indptr = A.indptr.astype(np.int32, copy=False)
        _INPUTS[name] = A
    return _INPUTS[name]


def transpose_half(A: sp.csr_array) -> sp.csr_array:
    """``0.5 * A.T`` materialised as canonical CSR (cached): the second operand
    of the elementwise benchmarks (a different pattern for non-symmetric inputs)."""
    key = ("T", id(A))
    if key not in _INPUTS:
        B = sp.csr_array(A.T * 0.5)
        B.sort_indices()
        B.indices = B.indices.astype(np.int32, copy=False)
        B.indptr = B.indptr.astype(np.int32, copy=False)
        _INPUTS[key] = (A, B)  # keep A alive so id(A) stays unique
    return _INPUTS[key][1]


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
    elif library == "sparse_dot_topn":  # threads are an argument of each call
        try:
            import sparse_dot_topn  # noqa: F401
        except ImportError as exc:
            skip(f"sparse_dot_topn is not installed ({exc})")
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
        elif library in ("mkl", "sparse_dot_topn"):
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


def peak_rss_growth(func):
    """Run ``func()`` once; return the growth of the process's peak RSS in bytes.

    The measurement of ``sparsela bench`` (:func:`sparsela.bench.measure_memory`):
    on Linux the peak (VmHWM) is first reset to the current RSS through
    ``/proc/self/clear_refs``, so the figure is the memory the call needed
    even when an earlier call peaked higher.
    """
    if sl is None:
        skip(f"sparsela cannot be imported: {SPARSELA_IMPORT_ERROR}")
    from sparsela.bench import measure_memory

    result, peak, _ = measure_memory(func)
    del result
    return peak


def mkl_dot(A, X):
    """``A @ X`` through MKL (sparse_dot_mkl), for any operand it takes."""
    from sparse_dot_mkl import dot_product_mkl

    return dot_product_mkl(A, X)


# --------------------------------------------------------------------------
# the setup every benchmark class shares
# --------------------------------------------------------------------------
def memory_params(params: list) -> list:
    """``params`` with the thread counts replaced by :data:`MEMORY_THREADS`."""
    return [params[0], MEMORY_THREADS, *params[2:]]


class LibraryBenchmark:
    """Base class: one operation, several libraries, parameters
    ``(library, threads, matrix, *extra)``.

    Subclasses set :attr:`functions` (``{variant: {library: function}}``;
    every library must have every variant, a library absent from them is
    skipped) and, when the operands are not just ``(A,)``, override
    :meth:`operands`. Their ``time_*``/``peakmem_*`` methods call
    ``self.call(variant)``. ``setup`` skips what cannot run, sets the threads,
    converts the operands (cached per process) and warms every variant up on
    :func:`tiny_matrix` so that Numba's compilation is never timed.
    """

    params = [LIBRARIES, THREADS, MATRICES]
    param_names = ["library", "threads", "matrix"]
    # bounded sampling, so that the whole default run stays short: at least 3
    # samples, at most 7, none started after 3 s; one round (one process)
    rounds = 1
    repeat = (3, 7, 3.0)
    warmup_time = 0.05
    timeout = 300
    functions: dict = {}

    def operands(self, library: str, S: sp.csr_array, *extra) -> tuple:
        """The arguments of the functions for input ``S`` in ``library``'s types."""
        return (convert(library, S),)

    def skip_if(self, library: str, threads: int, matrix: str, *extra) -> None:
        """Hook: raise :func:`skip` for combinations a subclass does not run."""

    def setup(self, library, threads, matrix, *extra):
        if not self.functions or any(library not in fs for fs in self.functions.values()):
            skip(f"{library} has no {type(self).__name__} operation")
        self.skip_if(library, threads, matrix, *extra)
        use_library(library, threads)
        self.args = self.operands(library, get_matrix(matrix), *extra)
        self.f = {variant: fs[library] for variant, fs in self.functions.items()}
        tiny = self.operands(library, tiny_matrix(), *extra)
        warm_up((type(self).__name__, library, extra),
                lambda: [f(*tiny) for f in self.f.values()])
        if threads > 1:
            # the tiny input runs on one thread; the first parallel call starts
            # the library's thread pool (~10 ms for Numba, more for OpenMP),
            # which a single-sample `asv run --quick` would otherwise time
            for f in self.f.values():
                f(*self.args)

    def call(self, variant: str = "default"):
        return self.f[variant](*self.args)
