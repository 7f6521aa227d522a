"""GPU products side by side: sparsela's own CUDA kernels, sparsela routed to
cuSPARSE, and cupyx.scipy.sparse (cuSPARSE) -- issue 4's comparison.

Parameter ``library``:

``sparsela``           ``A.to_device("gpu")``; ``spgemm(A, A)`` / ``A @ X`` / ``A @ x``
                       on sparsela's own kernels (the default for arrays on the GPU)
``sparsela-cusparse``  the same calls inside ``config_context(backend="cusparse")``:
                       cuSPARSE through cupyx behind sparsela's API (its overhead)
``cupyx``              ``cupyx.scipy.sparse.csr_matrix``: ``A @ A``, ``A @ X``, ``A @ x``

Matrices (``matrix``): the sizes of ``sparsela bench`` and issue 4's R-MAT
targets -- ``poisson1000`` (1000 x 1000 grid), ``er16`` (2**16 rows),
``rmat16`` and ``rmat18`` (A @ A: 0.4 and 2.9 G multiply-adds);
``SPARSELA_ASV_LARGE=1`` adds ``rmat20`` (21 G multiply-adds, several G
nonzeros: it may not fit in the device memory, which is then a failed
sample, not a skip) and the real matrices of ``common.REAL`` (a few
thousand rows: launch overhead on a GPU; ``sparsela bench --device gpu``
has them). The inputs are built on the CPU by ``common.get_matrix`` (cached
on disk) and moved to the device once, in setup.

How it measures:

* every benchmarked call ends with ``cupy.cuda.Device().synchronize()``
  (device-wide: also work on streams other than CuPy's current one), so
  asv's wall-clock timer sees the whole product, not its launch;
* setup calls every variant once on ``common.tiny_matrix()`` (Numba compiles
  or loads the CUDA kernels) and once on the real input (kernels of the
  row-size bins the tiny input does not reach, cuSPARSE's first-call setup),
  so no compilation is timed;
* X is C-ordered for sparsela and F-ordered for cupyx (cuSPARSE's layout;
  cupyx copies a C-ordered X inside every call);
* ``track_*_device_mb``: device memory the call needs on top of its inputs,
  from CuPy's memory pool -- cached blocks are freed first, and the pool's
  growth during the call is its peak (cuSPARSE's buffers come from the
  pool too). asv's ``peakmem_`` would only see host memory.

``setup`` raises ``NotImplementedError`` (asv: skipped, "n/a") without CuPy,
without a CUDA device, on the simulated device of the tests
(``SPARSELA_GPU_SIMULATOR=1``: nothing to time there), when cupyx is not
importable, and for a missing real-matrix folder. Run on a GPU machine with
(one class per command keeps each under ~10 minutes: asv starts a process,
with CUDA and the kernel cache, per benchmark and parameter combination)::

    asv machine --yes
    asv run -E existing:same --quick --show-stderr --bench "bench_gpu.GPUSpGEMM"
    asv run -E existing:same --quick --show-stderr --bench "bench_gpu.GPUSpMM"
    asv run -E existing:same --quick --show-stderr --bench "bench_gpu.GPUSpMV"
"""
from __future__ import annotations

import os

from .common import REAL, get_dense, get_matrix, nnz_of, skip, sl, tiny_matrix

GPU_LIBRARIES = ["sparsela", "sparsela-cusparse", "cupyx"]
#: sparsela's own kernels and its cuSPARSE route (cupyx has no "unsorted" call)
SPARSELA_GPU = GPU_LIBRARIES[:2]
GPU_MATRICES = ["poisson1000", "er16", "rmat16", "rmat18"]
if os.environ.get("SPARSELA_ASV_LARGE", "") not in ("", "0"):
    GPU_MATRICES = GPU_MATRICES + ["rmat20"] + REAL
SPMM_COLUMNS = [16, 64, 256]


def gpu_module():
    """The ``cupy`` module, or skip (NotImplementedError) with the reason."""
    if sl is None:
        skip("sparsela cannot be imported")
    from sparsela import _device

    if _device.simulated():
        skip("SPARSELA_GPU_SIMULATOR=1: the simulated GPU is for tests, there is nothing to time")
    try:
        return _device.cupy()
    except ImportError as exc:
        skip(f"CuPy is not installed ({exc})")
    except RuntimeError as exc:  # CuPy without a driver or a device
        skip(str(exc))


def _cupyx_sparse():
    try:
        import cupyx.scipy.sparse as csp
    except ImportError as exc:
        skip(f"cupyx.scipy.sparse cannot be imported ({exc})")
    return csp


def synchronize(cp) -> None:
    """Wait until everything queued on the device has run."""
    cp.cuda.Device().synchronize()


_DEVICE_INPUTS: dict = {}


def to_gpu(library: str, S, cp):
    """SciPy CSR ``S`` on the device, in ``library``'s type (cached per process)."""
    key = ("sparse", library == "cupyx", id(S))
    if key not in _DEVICE_INPUTS:
        if library == "cupyx":
            A = _cupyx_sparse().csr_matrix(
                (cp.asarray(S.data), cp.asarray(S.indices), cp.asarray(S.indptr)), shape=S.shape)
        else:
            A = sl.csr_array(S).to_device("gpu")
        _DEVICE_INPUTS[key] = (S, A)  # keep S alive so id(S) stays unique
    return _DEVICE_INPUTS[key][1]


def dense_to_gpu(library: str, x, cp):
    """Dense ``x`` on the device: C order for sparsela, F order (2-D) for cupyx."""
    fortran = library == "cupyx" and x.ndim == 2
    key = ("dense", fortran, id(x))
    if key not in _DEVICE_INPUTS:
        _DEVICE_INPUTS[key] = (x, cp.asarray(x, order="F" if fortran else "C"))
    return _DEVICE_INPUTS[key][1]


def _spgemm(sort_indices: bool):
    return lambda A, B: sl.spgemm(A, B, sort_indices=sort_indices)


def _matmul(A, B):
    return A @ B


class GPUBenchmark:
    """Base class: one operation on the GPU, parameters ``(library, matrix, *extra)``.

    Subclasses set :attr:`functions` (``{variant: {library: function}}``) and,
    when the operands are not just ``(A, A)``, override :meth:`operands`.
    Their ``time_*``/``track_*`` methods call ``self.call(variant)``, which
    synchronises the device before it returns.
    """

    params = [GPU_LIBRARIES, GPU_MATRICES]
    param_names = ["library", "matrix"]
    # as common.LibraryBenchmark: at least 3 samples, at most 7, none started
    # after 3 s; one round (one process)
    rounds = 1
    repeat = (3, 7, 3.0)
    warmup_time = 0.05
    timeout = 600
    functions: dict = {}

    def operands(self, library, S, *extra) -> tuple:
        A = to_gpu(library, S, self.cp)
        return (A, A)

    def setup(self, library, matrix, *extra):
        if not self.functions or any(library not in fs for fs in self.functions.values()):
            skip(f"{library} has no {type(self).__name__} operation")
        self.cp = cp = gpu_module()
        if library == "cupyx":
            _cupyx_sparse()
        S = get_matrix(matrix)  # skips a missing real matrix
        self.f = {variant: self._synchronised(library, fs[library])
                  for variant, fs in self.functions.items()}
        tiny = self.operands(library, tiny_matrix(), *extra)
        for f in self.f.values():  # Numba compiles (or loads) the CUDA kernels
            f(*tiny)
        self.args = self.operands(library, S, *extra)
        for f in self.f.values():  # kernels only the real input reaches; cuSPARSE setup
            f(*self.args)
        cp.get_default_memory_pool().free_all_blocks()

    def _synchronised(self, library, f):
        cp = self.cp
        if library == "sparsela-cusparse":
            context = sl.config_context

            def call(*args):
                with context(backend="cusparse"):
                    out = f(*args)
                synchronize(cp)
                return out
        else:
            def call(*args):
                out = f(*args)
                synchronize(cp)
                return out
        return call

    def call(self, variant: str = "default"):
        return self.f[variant](*self.args)

    def device_extra_mb(self, variant: str = "default") -> float:
        """Device memory (MiB) one call needs on top of what is allocated before it."""
        pool = self.cp.get_default_memory_pool()
        synchronize(self.cp)
        pool.free_all_blocks()
        before = pool.total_bytes()
        out = self.call(variant)
        grown = pool.total_bytes() - before
        del out
        return grown / 2**20


class GPUSpGEMM(GPUBenchmark):
    """C = A @ A, unsorted output where the library allows it (cuSPARSE decides)."""

    functions = {"default": {"sparsela": _spgemm(False), "sparsela-cusparse": _spgemm(False),
                             "cupyx": _matmul}}

    def time_spgemm(self, library, matrix):
        self.call()

    def track_nnz(self, library, matrix):
        return nnz_of(self.call())

    track_nnz.unit = "nnz"

    def track_spgemm_device_mb(self, library, matrix):
        return self.device_extra_mb()

    track_spgemm_device_mb.unit = "MiB"


class GPUSpGEMMSorted(GPUBenchmark):
    """C = A @ A with sorted column indices (``sort_indices=True``), sparsela only
    (compare with ``GPUSpGEMM.time_spgemm`` of cupyx)."""

    params = [SPARSELA_GPU, GPU_MATRICES]
    functions = {"default": {"sparsela": _spgemm(True), "sparsela-cusparse": _spgemm(True)}}

    def time_spgemm_sorted(self, library, matrix):
        self.call()


class GPUSpMM(GPUBenchmark):
    """Y = A @ X, X dense n x k float64."""

    params = [GPU_LIBRARIES, GPU_MATRICES, SPMM_COLUMNS]
    param_names = ["library", "matrix", "k"]
    functions = {"default": {lib: _matmul for lib in GPU_LIBRARIES}}

    def operands(self, library, S, k):
        return (to_gpu(library, S, self.cp), dense_to_gpu(library, get_dense(S.shape[1], k), self.cp))

    def time_spmm(self, library, matrix, k):
        self.call()

    def track_spmm_device_mb(self, library, matrix, k):
        return self.device_extra_mb()

    track_spmm_device_mb.unit = "MiB"


class GPUSpMV(GPUBenchmark):
    """y = A @ x, x a dense float64 vector."""

    functions = {"default": {lib: _matmul for lib in GPU_LIBRARIES}}

    def operands(self, library, S, *extra):
        return (to_gpu(library, S, self.cp), dense_to_gpu(library, get_dense(S.shape[1]), self.cp))

    def time_spmv(self, library, matrix):
        self.call()

    def track_spmv_device_mb(self, library, matrix):
        return self.device_extra_mb()

    track_spmv_device_mb.unit = "MiB"
