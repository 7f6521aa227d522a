"""``sparsela bench``: sparsela against SciPy, python-graphblas and MKL, side by side.

The table (``docs/benchmarks.md`` explains every column):

========================================  ====================================
matrix                                    operations
========================================  ====================================
2-D Poisson, 1000 x 1000 grid             A @ A, A @ X (k = 16, 64, 256), A @ x
Erdős–Rényi, n = 2**16, 16 draws per row  same
Graph500 R-MAT, scale 16, edge factor 16  same
real matrices in ``../shared/data/real``  A @ A (square ones), A @ A.T
========================================  ====================================

(``--quick``: Poisson 200, ER 2**13, R-MAT 12 and 3 runs.)

How it measures
---------------
* **One process per library.** The command (the *parent*) starts
  ``python -m sparsela.bench --worker`` once per library, writes the list of
  cells (matrix, operation) to its stdin as JSON and reads one JSON line per
  finished cell from its stdout. Libraries never share a process: no
  competing thread pools, no allocator state left by another library, and a
  library that is not installed (or crashes) costs only its own column.
  Workers run one after the other, never at the same time.
* **Per cell:** the operands are built and converted to the library's own
  types (not timed); one call on a tiny matrix of the same dtypes compiles
  or loads the Numba kernels (for sparsela, two more with its size
  thresholds at zero load the parallel kernels, with and without
  prefetching); one untimed call on the real input measures
  memory and gives the result that is checked; then ``runs`` timed runs
  (``time.perf_counter``). A run is one call, its result freed outside the
  timing, when a call takes ``SAMPLE_S`` (10 ms) or more; a faster call is
  repeated until the run lasts about that long (at most 1000 calls, each
  result freed by the next call, as in ``timeit``) and the run gives the
  mean call: microsecond products timed once were mostly timer and
  scheduler noise. The table shows the median of the runs; the JSON has
  every run and ``calls_per_run``.
* **Memory:** peak resident memory of the worker during that untimed call,
  minus its resident memory just before (Linux: the high-water mark is reset
  through ``/proc/self/clear_refs``, so every allocator counts: NumPy, Numba,
  SuiteSparse, MKL, C++). The workers run with glibc's ``mmap`` threshold
  fixed at 128 KiB, so large buffers go back to the system when freed and
  one cell does not hide memory from the next. Elsewhere ``tracemalloc``
  (NumPy/Numba/Python allocations only) stands in; the JSON says which.
* **Check:** every library's nnz(C) must be equal (sparsela, GraphBLAS and
  MKL keep entries that cancel to exactly zero; SciPy's SpGEMM drops them, so
  counts that agree once exact zeros are not counted are shown as ``ok*``),
  and the sum of the entries of the result must agree to 1e-9 of the sum of
  their absolute values.
* **Threads:** ``--threads N`` (default: the CPUs this process may use) for
  sparsela (``set_num_threads``), GraphBLAS (``nthreads``) and MKL
  (``mkl_set_num_threads``); SciPy's sparse products are single threaded, so
  SciPy always runs on 1 thread, and the table says so.

On the GPU (``--device gpu``)
----------------------------
``sparsela bench --device gpu`` times three columns on one CUDA device:
``sparsela`` (its own kernels, ``A.to_device("gpu")``), ``sparsela-cusparse``
(the same calls inside ``config_context(backend="cusparse")``, i.e. cuSPARSE
through cupyx behind sparsela's API) and ``cupyx`` (``cupyx.scipy.sparse``,
cuSPARSE directly: the baseline). The matrices are those of the CPU table
plus R-MAT scale 18 and 20 (issue 4's targets; ``--quick``: R-MAT 16), and
the operations A @ A (unsorted; sorted for ``sparsela`` too), A @ X
(k = 16, 64, 256) and A @ x. It works as on the CPU (one worker process per
library, the same cells, checks and JSON document, with ``"device": "gpu"``
and the GPU's name), except:

* **Moves:** each worker builds the matrices on the CPU (the same fixed
  seeds) and moves them to the device once, outside any timing. X is
  C-ordered for sparsela and F-ordered for cupyx (cuSPARSE's column-major
  layout: cupyx would otherwise copy X to F order inside every call).
* **Synchronised timing:** every timed call ends with a device-wide
  synchronisation (``cupy.cuda.Device().synchronize()``, which also waits for
  work on streams other than CuPy's current one), so the wall time
  ``time.perf_counter`` measures is the time the product took on the GPU,
  launch and host overhead included. The tiny warm-up call compiles the
  Numba CUDA kernels; the untimed call on the real input then compiles
  whatever the real input needs beyond that (kernels per row-size bin) and
  lets cuSPARSE set up.
* **Memory:** device memory through CuPy's memory pool: the pool's cached
  blocks are released before the untimed call, and what the pool then grew
  by during that call is its peak (the pool keeps every block it allocated;
  a small over-estimate through its rounding). cuSPARSE's work buffers
  come from the pool too (cupyx allocates them with ``cupy.empty``).
* **Size:** A @ A of R-MAT 20 has 2.1e10 multiply-adds and about 9.5e9
  nonzeros (estimated from 0.2% of its rows; R-MAT 18: 2.9e9 and 1.2e9), so C
  alone needs ~150 GB with int64 indices: more than an 80 GB H100 or a
  141 GB H200 holds. Those cells report the out-of-memory error; A @ X and
  A @ x of R-MAT 20 fit. SpGEMM records carry ``flops`` (the multiply-adds)
  for GFlop/s figures.
* **Time budget:** a cell whose untimed call took long gets fewer timed
  runs (at least 1) so that it stays within ``GPU_CELL_BUDGET_S``; the
  number of runs is in ``times_s``.
* **Faults:** after an error the worker checks that the CUDA context still
  works; when it does not (an illegal address poisons it), the worker
  exits and the parent starts a fresh one for the cells after the failed
  one, as after a crash on the CPU. Out-of-memory errors are reported in
  the table and the pool is emptied for the next cell.

Without CuPy or a CUDA device, ``--device gpu`` stops before any worker
starts, with a one-line error naming what is missing (exit status 2).

This module imports only the standard library at the top: the peers are
imported inside the worker of each library, and ``tqdm`` (the progress bar)
only when it is installed.
"""
from __future__ import annotations

import gc
import glob
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

__all__ = ["DEVICES", "GPU_LIBRARIES", "LIBRARIES", "OPS", "format_table", "gpu_info",
           "gpu_unavailable_reason", "run_bench", "summarize"]

SCHEMA = "sparsela-bench/1"

#: libraries in column order; the last three are the peers
LIBRARIES = ("sparsela", "scipy", "graphblas", "mkl")
PEERS = LIBRARIES[1:]
#: ``--device``
DEVICES = ("cpu", "gpu")
#: GPU columns: sparsela's own kernels, sparsela routed to cuSPARSE, cupyx (the peer)
GPU_LIBRARIES = ("sparsela", "sparsela-cusparse", "cupyx")
GPU_PEERS = ("cupyx",)
#: every name ``--libraries`` accepts (which ones run depends on ``--device``)
ALL_LIBRARIES = LIBRARIES + GPU_LIBRARIES[1:]
#: R-MAT scales the GPU table adds to the CPU matrices (issue 4: scale 18-20)
GPU_EXTRA_RMAT = (18, 20)
GPU_QUICK_EXTRA_RMAT = (16,)
#: seconds of timed runs per GPU cell at most (fewer runs for slow cells, >= 1)
GPU_CELL_BUDGET_S = 60.0
#: operation names for ``--ops``
OPS = ("spgemm", "spgemm_at", "spmm", "spmv")
OP_LABELS = {"spgemm": "A @ A", "spgemm_at": "A @ A.T", "spmm": "A @ X", "spmv": "A @ x"}
SPMM_COLUMNS = (16, 64, 256)
#: synthetic matrix sizes: Poisson grid side, log2 rows of ER, R-MAT scale
FULL_SIZES = {"poisson": 1000, "er": 16, "rmat": 16}
QUICK_SIZES = {"poisson": 200, "er": 13, "rmat": 12}
ER_NNZ_PER_ROW = 16
RMAT_EDGE_FACTOR = 16
SEED = 0
DEFAULT_RUNS = 5
QUICK_RUNS = 3
#: A timed run of a cell repeats the call until it lasts about this long and
#: reports the mean call (timeit's autorange, asv's ``sample_time``): a
#: 20-microsecond product timed once is mostly timer and scheduler noise.
SAMPLE_S = 0.01
#: ... at most this many calls a run.
MAX_CALLS_PER_RUN = 1000
#: relative tolerance of the checksum comparison
CHECK_RTOL = 1e-9
#: glibc: serve allocations >= 128 KiB by mmap, returned to the system on free
_MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}


def default_real_dir() -> Path:
    """``$SPARSELA_BENCH_DATA``, else ``../shared/data/real`` beside the source tree."""
    env = os.environ.get("SPARSELA_BENCH_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# ============================================================================
# the cells: which matrix, which operation
# ============================================================================
def libraries_for(device: str) -> tuple:
    """The columns of the table on ``device``, in order."""
    return GPU_LIBRARIES if device == "gpu" else LIBRARIES


def peers_for(device: str) -> tuple:
    """The libraries sparsela is compared with on ``device``."""
    return GPU_PEERS if device == "gpu" else PEERS


def _rmat_spec(r: int) -> dict:
    return {"name": f"rmat{r}", "kind": "rmat", "scale": r, "edge_factor": RMAT_EDGE_FACTOR,
            "description": f"Graph500 R-MAT, scale {r}, edge factor {RMAT_EDGE_FACTOR} "
                           f"(generators.rmat({r}, {RMAT_EDGE_FACTOR}, rng={SEED}))"}


def synthetic_matrices(sizes: dict, extra_rmat=()) -> list[dict]:
    """Specs (JSON-able) of the three generated matrices, then R-MAT at the
    scales ``extra_rmat`` (the GPU table's larger ones; duplicates left out)."""
    p, e, r = int(sizes["poisson"]), int(sizes["er"]), int(sizes["rmat"])
    extra = [_rmat_spec(int(x)) for x in dict.fromkeys(extra_rmat) if int(x) != r]
    return [
        {"name": f"poisson{p}", "kind": "poisson2d", "n": p,
         "description": f"2-D Poisson 5-point Laplacian, {p} x {p} grid "
                        f"(generators.poisson2d({p}))"},
        {"name": f"er{e}", "kind": "er", "scale": e, "nnz_per_row": ER_NNZ_PER_ROW,
         "description": f"Erdos-Renyi, n = 2^{e}, {ER_NNZ_PER_ROW} random columns per row "
                        f"(generators.erdos_renyi(2**{e}, {ER_NNZ_PER_ROW}, rng={SEED}))"},
        _rmat_spec(r),
    ] + extra


def real_matrices(real_dir: Path) -> tuple[list[dict], list[str]]:
    """Specs of the usable Matrix Market files in ``real_dir`` and notes on the others.

    Usable: coordinate (sparse) storage, a real, integer or pattern field and at
    least 2 rows. Values are read as float64.
    """
    notes: list[str] = []
    real_dir = Path(real_dir)
    if not real_dir.is_dir():
        return [], [f"real matrices skipped: {real_dir} not found"]
    import scipy.io

    specs = []
    for path in sorted(real_dir.glob("*.mtx")):
        try:
            rows, cols, entries, fmt, field, _sym = scipy.io.mminfo(str(path))
        except Exception as exc:  # malformed header
            notes.append(f"{path.name}: skipped (unreadable header: {exc})")
            continue
        if fmt != "coordinate":
            notes.append(f"{path.name}: skipped (dense '{fmt}' storage)")
        elif field not in ("real", "integer", "pattern"):
            notes.append(f"{path.name}: skipped ({field} values; the table compares float64)")
        elif rows < 2:
            notes.append(f"{path.name}: skipped ({rows} row(s))")
        else:
            specs.append({"name": path.stem, "kind": "real", "path": str(path),
                          "description": f"{path.name} ({rows} x {cols}, {field}, "
                                         f"{entries} entries in the file)",
                          "square": rows == cols})
    return specs, notes


def make_cells(matrices: list[dict], ops) -> list[dict]:
    """The cells of the table, in order; ``variant`` 'sorted' is sparsela-only."""
    cells = []
    for m in matrices:
        if m["kind"] == "real":
            mops = [op for op in ("spgemm", "spgemm_at") if op in ops]
            if not m.get("square", True):
                mops = [op for op in mops if op != "spgemm"]
        else:
            mops = [op for op in ("spgemm", "spmm", "spmv") if op in ops]
        for op in mops:
            if op == "spmm":
                for k in SPMM_COLUMNS:
                    cells.append({"matrix": m["name"], "op": op, "k": k, "variant": None})
            elif op in ("spgemm", "spgemm_at"):
                cells.append({"matrix": m["name"], "op": op, "k": None, "variant": "unsorted"})
                cells.append({"matrix": m["name"], "op": op, "k": None, "variant": "sorted"})
            else:
                cells.append({"matrix": m["name"], "op": op, "k": None, "variant": None})
    return cells


def cells_for(library: str, cells: list[dict]) -> list[dict]:
    """Sorted SpGEMM is timed for sparsela only (the peers' unsorted call is the headline)."""
    if library == "sparsela":
        return list(cells)
    return [c for c in cells if c["variant"] != "sorted"]


# ============================================================================
# worker side: library adapters
# ============================================================================
class Unavailable(Exception):
    """The library cannot be imported in this environment."""


def _csr_nbytes(M) -> int:
    return int(M.data.nbytes + M.indices.nbytes + M.indptr.nbytes)


class _SciPyLike:
    """Adapter for libraries whose sparse type has data/indices/indptr."""

    name = "scipy"
    threads = 1

    def version(self) -> str:
        import scipy

        return scipy.__version__

    def sparse(self, S):
        return S

    def dense(self, X):
        return X

    def transpose(self, A):
        return A.T  # lazy: a CSC view, converted inside the product

    def op(self, name, variant):
        if name in ("spgemm", "spgemm_at"):
            return lambda A, B: A @ B
        return lambda A, X: A @ X

    def nbytes(self, obj) -> int:
        if hasattr(obj, "indptr"):
            return _csr_nbytes(obj)
        return int(obj.nbytes)

    def describe(self, C) -> dict:
        """nnz, nnz of nonzero values, checksums and bytes of a result."""
        import numpy as np

        if hasattr(C, "indptr"):
            vals = np.asarray(C.data)
            nnz = int(C.nnz)
        else:
            vals = np.asarray(C).ravel()
            nnz = int(vals.size)
        return _value_summary(vals, nnz, self.nbytes(C))


def _value_summary(vals, nnz, nbytes) -> dict:
    import numpy as np

    return {
        "nnz": nnz,
        "nnz_nonzero": int(np.count_nonzero(vals)),
        "checksum": float(np.sum(vals, dtype=np.float64)),
        "abs_checksum": float(np.sum(np.abs(vals), dtype=np.float64)),
        "output_bytes": int(nbytes),
    }


class _SparselaAdapter(_SciPyLike):
    name = "sparsela"

    def __init__(self, threads: int):
        import sparsela as sl

        self.sl = sl
        sl.set_num_threads(threads)
        self.threads = sl.get_num_threads()

    def version(self) -> str:
        return self.sl.__version__

    def sparse(self, S):
        return self.sl.csr_array(S)  # shares SciPy's buffers

    def warm_up(self, fn, A, B):
        """The tiny call, then again on the parallel path with and without
        prefetching (size thresholds at zero, the prefetch test forced each
        way): the kernels a large input takes are compiled or loaded here,
        not in the call whose memory is measured (loading them there added
        20-40 MiB to Erdos-Renyi A @ A, and 19 MiB to cryg2500 A @ A when
        only the prefetching ones had been loaded)."""
        from .backends.cpu import _jit, _prefetch

        fn(A, B)
        saved = _jit.PARALLEL_MIN_WORK, _prefetch.MIN_BYTES, _prefetch.FAR_BYTES
        try:
            for min_bytes in (1 << 62, 0):  # prefetch off, then on
                _jit.PARALLEL_MIN_WORK, _prefetch.MIN_BYTES, _prefetch.FAR_BYTES = (
                    0, min_bytes, 0)
                fn(A, B)
        finally:
            _jit.PARALLEL_MIN_WORK, _prefetch.MIN_BYTES, _prefetch.FAR_BYTES = saved

    def op(self, name, variant):
        sl = self.sl
        if name in ("spgemm", "spgemm_at"):
            sort = variant == "sorted"
            return lambda A, B: sl.spgemm(A, B, sort_indices=sort)
        if name == "spmm":
            return sl.spmm
        return sl.spmv


class _SciPyAdapter(_SciPyLike):
    def __init__(self, threads: int):
        import scipy.sparse  # noqa: F401  (fails early if missing)

        self.threads = 1  # scipy.sparse products are single threaded


class _GraphBLASAdapter:
    name = "graphblas"

    def __init__(self, threads: int):
        try:
            import graphblas as gb
        except ImportError as exc:
            raise Unavailable(f"python-graphblas is not installed ({exc})") from None
        self.gb = gb
        try:
            gb.ss.config["nthreads"] = threads
            self.threads = int(gb.ss.config["nthreads"])
        except (AttributeError, KeyError):
            self.threads = None

    def version(self) -> str:
        gb = self.gb
        v = gb.__version__
        try:
            ver = gb.ss.about["library_version"]
            if isinstance(ver, (tuple, list)):
                ver = ".".join(map(str, ver))
            v += f" (SuiteSparse:GraphBLAS {ver})"
        except Exception:
            pass
        return v

    def sparse(self, S):
        return self.gb.io.from_scipy_sparse(S)

    def dense(self, X):
        gb = self.gb
        return gb.Vector.from_dense(X) if X.ndim == 1 else gb.Matrix.from_dense(X)

    def transpose(self, A):
        return A.T  # lazy: a transposed descriptor

    def op(self, name, variant):
        if name in ("spgemm", "spgemm_at", "spmm"):
            return lambda A, B: A.mxm(B).new()
        return lambda A, x: A.mxv(x).new()

    def nbytes(self, obj) -> int:
        """Bytes of a GraphBLAS object from its storage format (int64 indices)."""
        item = obj.dtype.np_type.itemsize
        if obj.ndim == 1:
            fmt = getattr(obj.ss, "format", "full")
            n = obj.size
            if fmt == "full":
                return n * item
            if fmt == "bitmap":
                return n * (item + 1)
            return obj.nvals * (item + 8)
        fmt = getattr(obj.ss, "format", "csr")
        nr, nc = obj.nrows, obj.ncols
        if fmt.startswith("full"):
            return nr * nc * item
        if fmt.startswith("bitmap"):
            return nr * nc * (item + 1)
        nvec = nr if fmt.endswith("r") else nc
        if fmt.startswith("hyper"):
            nvec = min(nvec, obj.nvals)
            return obj.nvals * (item + 8) + nvec * 16 + 8
        return obj.nvals * (item + 8) + (nvec + 1) * 8

    def describe(self, C) -> dict:
        """Reductions inside GraphBLAS (a full result is never copied out)."""
        gb = self.gb
        C.wait()

        def total(M):
            r = (M.reduce if M.ndim == 1 else M.reduce_scalar)(gb.monoid.plus).new().value
            return 0.0 if r is None else float(r)

        return {
            "nnz": int(C.nvals),
            "nnz_nonzero": int(gb.select.valuene(C, 0).new().nvals),
            "checksum": total(C),
            "abs_checksum": total(gb.unary.abs(C).new()),
            "output_bytes": int(self.nbytes(C)),
        }


class _MKLAdapter(_SciPyLike):
    name = "mkl"

    def __init__(self, threads: int):
        if "MKL_RT" not in os.environ:
            # the ``mkl`` wheel puts libmkl_rt.so.N in <prefix>/lib, not on the loader path
            found = sorted(glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt.so*")))
            if found:
                os.environ["MKL_RT"] = found[0]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import sparse_dot_mkl
        except (ImportError, OSError) as exc:
            raise Unavailable(f"sparse_dot_mkl is not usable ({' '.join(str(exc).split())})") from None
        self.mkl = sparse_dot_mkl
        sparse_dot_mkl.mkl_set_num_threads(threads)
        try:
            self.threads = int(sparse_dot_mkl.mkl_get_max_threads())
        except Exception:
            self.threads = threads

    def version(self) -> str:
        v = self.mkl.__version__
        try:
            import re

            text = self.mkl.mkl_get_version_string()
            found = re.search(r"Version\s+([0-9][0-9.]*)", text)
            v += f" (MKL {found.group(1) if found else ' '.join(text.split())})"
        except Exception:
            pass
        return v

    def sparse(self, S):
        import scipy.sparse as sp

        return sp.csr_matrix(S)  # shares the buffers

    def op(self, name, variant):
        dot = self.mkl.dot_product_mkl
        return lambda A, B: dot(A, B)


# ---------------------------------------------------------------------------
# GPU adapters (``--device gpu``)
# ---------------------------------------------------------------------------
def _device_module():
    """The device array module (``cupy``, or the simulated one), or Unavailable."""
    from ._device import cupy

    try:
        return cupy()
    except ImportError as exc:
        raise Unavailable(f"CuPy is not installed ({' '.join(str(exc).split())})") from None
    except RuntimeError as exc:
        raise Unavailable(" ".join(str(exc).split())) from None


def gpu_unavailable_reason() -> str | None:
    """None when ``--device gpu`` can run here, else one line naming what is missing."""
    try:
        _device_module()
    except Unavailable as exc:
        return str(exc)
    except Exception as exc:  # a broken CuPy install fails in its own ways
        return f"CuPy cannot be used: {type(exc).__name__}: {' '.join(str(exc).split())}"
    return None


def gpu_info() -> dict:
    """Name, memory and CUDA versions of the current device (JSON-able).

    Raises :class:`Unavailable` without CuPy or a CUDA device.
    """
    from ._device import simulated

    cp = _device_module()
    if simulated():
        return {"name": "simulated GPU (NumPy buffers, Numba CUDA simulator)",
                "simulated": True}
    dev = cp.cuda.Device()
    props = cp.cuda.runtime.getDeviceProperties(dev.id)
    name = props["name"]
    if isinstance(name, bytes):
        name = name.decode(errors="replace")
    info = {"name": str(name), "device_id": int(dev.id),
            "compute_capability": f"{props['major']}.{props['minor']}",
            "total_memory_bytes": int(props["totalGlobalMem"]),
            "cupy": cp.__version__, "simulated": False}
    for key, call in (("cuda_runtime", cp.cuda.runtime.runtimeGetVersion),
                      ("cuda_driver", cp.cuda.runtime.driverGetVersion)):
        try:
            info[key] = int(call())
        except Exception:  # pragma: no cover - informational only
            pass
    return info


class _GPUAdapter:
    """The part the GPU libraries share: device operands, synchronised calls,
    device memory through CuPy's pool, fault detection.

    ``op`` returns functions that synchronise the device before returning,
    so :func:`run_cell` times each product to its end on the GPU.
    """

    name = "gpu"
    threads = None
    #: memory layout of the dense factor X (the library's fast one)
    dense_order = "C"
    cell_budget_s = GPU_CELL_BUDGET_S

    def __init__(self, threads: int):
        from ._device import simulated

        self.cp = _device_module()
        self.simulated = simulated()
        try:
            self.device = gpu_info()
        except Exception as exc:  # informational
            self.device = {"name": f"unknown ({type(exc).__name__}: {exc})"}

    def hello(self) -> dict:
        """Extra fields of the worker's hello record."""
        return {"device": self.device, "dense_order": self.dense_order}

    def sync(self) -> None:
        """Wait for every stream of the device (no-op on the simulated device)."""
        if not self.simulated:
            self.cp.cuda.Device().synchronize()

    def _synced(self, f):
        sync = self.sync

        def call(A, B):
            C = f(A, B)
            sync()
            return C

        return call

    def dense(self, X):
        cp = self.cp
        if X.ndim == 2 and self.dense_order == "F":
            return cp.asarray(X, order="F")
        return cp.asarray(X)

    def transpose(self, A):
        return A.T

    def nbytes(self, obj) -> int:
        if hasattr(obj, "indptr"):
            return _csr_nbytes(obj)
        return int(obj.nbytes)

    def describe(self, C) -> dict:
        """nnz and checksums, reduced on the device (only scalars come back)."""
        from ._device import is_gpu_array

        if hasattr(C, "indptr"):
            vals, nnz = C.data, int(C.nnz)
        else:
            vals = C
            nnz = int(C.size)
        if not is_gpu_array(vals):  # a result on the host: summarise it there
            import numpy as np

            return _value_summary(np.asarray(vals).ravel(), nnz, self.nbytes(C))
        xp = self.cp
        return {
            "nnz": nnz,
            "nnz_nonzero": int(xp.count_nonzero(vals)),
            "checksum": float(xp.sum(vals, dtype=xp.float64)),
            "abs_checksum": float(xp.sum(xp.abs(vals), dtype=xp.float64)),
            "output_bytes": int(self.nbytes(C)),
        }

    def measure_memory(self, fn):
        """(result, peak extra device bytes, method) of one call of ``fn``."""
        if self.simulated:  # no memory pool: the host's measurement
            return measure_memory(fn)
        pool = self.cp.get_default_memory_pool()
        self.sync()
        pool.free_all_blocks()  # cached blocks would hide the call's allocations
        before = pool.total_bytes()
        C = fn()
        return C, max(0, int(pool.total_bytes()) - int(before)), "cupy-pool"

    def alive(self) -> bool:
        """Whether the CUDA context still works (an illegal address poisons it)."""
        if self.simulated:
            return True
        try:
            self.cp.cuda.runtime.deviceSynchronize()
            return True
        except Exception:
            return False

    def recover(self) -> None:
        """After a failed cell: give the pool's cached blocks back (e.g. after OOM)."""
        if not self.simulated:
            try:
                self.cp.get_default_memory_pool().free_all_blocks()
            except Exception:
                pass


class _GPUSparselaAdapter(_GPUAdapter):
    """sparsela on the GPU: ``A.to_device("gpu")``, ``spgemm``, ``A @ X``."""

    name = "sparsela"
    backend = None  # the default: sparsela's own kernels for arrays on the GPU

    def __init__(self, threads: int):
        super().__init__(threads)
        import sparsela as sl

        self.sl = sl

    def version(self) -> str:
        return self.sl.__version__

    def sparse(self, S):
        return self.sl.csr_array(S).to_device("gpu")

    def _within_backend(self, f):
        if self.backend is None:
            return f
        context = self.sl.config_context

        def call(A, B, backend=self.backend):
            with context(backend=backend):
                return f(A, B)

        return call

    def op(self, name, variant):
        sl = self.sl
        if name in ("spgemm", "spgemm_at"):
            sort = variant == "sorted"
            def f(A, B):
                return sl.spgemm(A, B, sort_indices=sort)
        else:
            def f(A, X):
                return A @ X
        return self._synced(self._within_backend(f))


class _GPUSparselaCusparseAdapter(_GPUSparselaAdapter):
    """sparsela's API with ``config_context(backend="cusparse")``: cuSPARSE via cupyx."""

    name = "sparsela-cusparse"
    backend = "cusparse"

    def __init__(self, threads: int):
        super().__init__(threads)
        if self.simulated:
            raise Unavailable("backend='cusparse' needs a real GPU (no cuSPARSE on the "
                              "simulated device)")


class _CupyxAdapter(_GPUAdapter):
    """``cupyx.scipy.sparse`` (cuSPARSE): the GPU baseline."""

    name = "cupyx"
    dense_order = "F"  # cuSPARSE's SpMM layout; a C-ordered X is copied in every call

    def __init__(self, threads: int):
        super().__init__(threads)
        if self.simulated:
            raise Unavailable("cupyx.scipy.sparse does not run on the simulated device")
        try:
            import cupyx.scipy.sparse as csp
        except ImportError as exc:
            raise Unavailable(f"cupyx.scipy.sparse cannot be imported ({exc})") from None
        self.csp = csp

    def version(self) -> str:
        return f"CuPy {self.cp.__version__}"

    def sparse(self, S):
        cp = self.cp
        return self.csp.csr_matrix((cp.asarray(S.data), cp.asarray(S.indices),
                                    cp.asarray(S.indptr)), shape=S.shape)

    def op(self, name, variant):
        return self._synced(lambda A, B: A @ B)


def make_adapter(library: str, threads: int, device: str = "cpu"):
    if device == "gpu":
        if library == "sparsela":
            return _GPUSparselaAdapter(threads)
        if library == "sparsela-cusparse":
            return _GPUSparselaCusparseAdapter(threads)
        if library == "cupyx":
            return _CupyxAdapter(threads)
        raise ValueError(f"unknown GPU library {library!r} (choose from "
                         f"{', '.join(GPU_LIBRARIES)})")
    if library == "sparsela":
        return _SparselaAdapter(threads)
    if library == "scipy":
        return _SciPyAdapter(threads)
    if library == "graphblas":
        return _GraphBLASAdapter(threads)
    if library == "mkl":
        return _MKLAdapter(threads)
    raise ValueError(f"unknown library {library!r}")


# ============================================================================
# worker side: inputs, memory, timing
# ============================================================================
def build_matrix(spec: dict):
    """The input of ``spec`` as a canonical float64 SciPy CSR array with int32
    indices where they fit (identical in every worker: fixed seeds)."""
    import numpy as np
    import scipy.sparse as sp

    kind = spec["kind"]
    if kind == "real":
        import scipy.io

        S = sp.csr_array(scipy.io.mmread(spec["path"]))
    else:
        from . import generators

        if kind == "poisson2d":
            S = generators.poisson2d(spec["n"]).to_scipy()
        elif kind == "er":
            S = generators.erdos_renyi(1 << spec["scale"], spec["nnz_per_row"], rng=SEED).to_scipy()
        elif kind == "rmat":
            S = generators.rmat(spec["scale"], spec["edge_factor"], rng=SEED).to_scipy()
        else:
            raise ValueError(f"unknown matrix kind {kind!r}")
    S = sp.csr_array(S, dtype=np.float64)
    S.sum_duplicates()  # canonical: sorted, no duplicates
    if max(S.shape + (S.nnz,)) < np.iinfo(np.int32).max:
        S.indices = S.indices.astype(np.int32, copy=False)
        S.indptr = S.indptr.astype(np.int32, copy=False)
    return S


def _dense_operand(n: int, k):
    import numpy as np

    rng = np.random.default_rng(SEED)
    return rng.standard_normal(n if k is None else (n, k))  # C order


def _tiny_matrix():
    import numpy as np
    import scipy.sparse as sp

    T = sp.random_array((64, 64), density=0.1, format="csr", dtype=np.float64, rng=0)
    T.indices = T.indices.astype(np.int32)
    T.indptr = T.indptr.astype(np.int32)
    return T


def _proc_status() -> dict:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) * 1024
    return out


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        _proc_status()
        return True
    except OSError:
        return False


def measure_memory(fn):
    """Call ``fn()`` once; return (result, peak extra bytes during the call, method)."""
    import tracemalloc

    if _reset_peak_rss():
        before = _proc_status()["VmRSS"]
        C = fn()
        peak = _proc_status()["VmHWM"]
        return C, max(0, peak - before), "rss"
    tracemalloc.start()
    try:
        C = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return C, int(peak), "tracemalloc"


class _Operands:
    """The operands of one matrix in a library's types, built once per matrix."""

    def __init__(self, adapter, S):
        self.adapter, self.S = adapter, S
        self._cache: dict = {}

    def get(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def sparse(self):
        return self.get("A", lambda: self.adapter.sparse(self.S))

    def dense(self, k):
        """(library operand, NumPy array) of the dense factor: a vector or n x k, C order."""
        def make():
            # one dense operand at a time (n x 256 float64 is 2 GB at n = 10**6)
            for key in [key for key in self._cache if key != "A"]:
                del self._cache[key]
            X = _dense_operand(self.S.shape[1], k)
            return self.adapter.dense(X), X

        return self.get(("X", k), make)


def run_cell(adapter, cell: dict, operands: _Operands, runs: int, warmed: set) -> dict:
    """Warm up, measure memory and check on one untimed call, then time ``runs`` calls."""
    op = cell["op"]
    k = cell["k"] if op == "spmm" else None
    fn = adapter.op(op, cell["variant"])
    A = operands.sparse()
    if op in ("spgemm", "spgemm_at"):
        B = A if op == "spgemm" else adapter.transpose(A)
        inputs = adapter.nbytes(A)
    else:
        B, X = operands.dense(k)
        inputs = adapter.nbytes(A) + int(X.nbytes)
    key = (op, cell["variant"])
    if key not in warmed:  # Numba compiles or loads its cache on the first call
        tiny = _Operands(adapter, _tiny_matrix())
        At = tiny.sparse()
        if op == "spgemm":
            Bt = At
        elif op == "spgemm_at":
            Bt = adapter.transpose(At)
        else:
            Bt = tiny.dense(k)[0]
        getattr(adapter, "warm_up", lambda f, a, b: f(a, b))(fn, At, Bt)
        warmed.add(key)
    measure = getattr(adapter, "measure_memory", measure_memory)
    budget = getattr(adapter, "cell_budget_s", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. MKL's "converting B to CSR"
        t_first = time.perf_counter()
        C, extra, method = measure(lambda: fn(A, B))
        t_first = time.perf_counter() - t_first
        out = adapter.describe(C)
        del C
        if budget is not None:  # GPU: slow cells get fewer runs (at least one)
            runs = max(1, min(runs, int(budget // max(t_first, 1e-9))))
        times = []
        gc_was = gc.isenabled()
        gc.disable()
        try:
            number = 1 if t_first >= SAMPLE_S else calls_per_run(fn, A, B)
            for _ in range(runs):
                if number == 1:  # the result is freed outside the timing
                    t0 = time.perf_counter()
                    C = fn(A, B)
                    t1 = time.perf_counter()
                    del C
                else:  # each result freed by the next call, as in timeit
                    t0 = time.perf_counter()
                    for _ in range(number):
                        C = fn(A, B)
                    t1 = time.perf_counter()
                    del C
                times.append((t1 - t0) / number)
        finally:
            if gc_was:
                gc.enable()
    return {**out, "times_s": times, "median_s": statistics.median(times),
            "calls_per_run": number, "input_bytes": int(inputs), "peak_extra_bytes": int(extra),
            "mem_method": method}


def calls_per_run(fn, A, B) -> int:
    """Calls a timed run makes: enough to last ``SAMPLE_S`` by one untimed
    call (1 for calls that long), at most ``MAX_CALLS_PER_RUN``."""
    t0 = time.perf_counter()
    C = fn(A, B)
    t = time.perf_counter() - t0
    del C
    if t >= SAMPLE_S:
        return 1
    return int(min(MAX_CALLS_PER_RUN, -(-SAMPLE_S // max(t, 1e-9))))


def spgemm_flops(S, op: str = "spgemm") -> int:
    """Multiply-adds of ``S @ S`` (``op='spgemm'``) or ``S @ S.T`` (``'spgemm_at'``),
    from the row and column counts: sum over k of nnz(A[:, k]) * nnz(B[k, :])."""
    import numpy as np

    rows = np.diff(S.indptr).astype(np.int64)
    cols = np.bincount(S.indices, minlength=S.shape[1]).astype(np.int64)
    if op == "spgemm_at":  # B = S.T: nnz(B[k, :]) = nnz(S[:, k])
        return int(cols @ cols)
    return int(cols @ rows)


def worker(spec: dict, emit) -> int:
    """Run the cells of ``spec`` for one library, emitting one JSON object per event.

    Events: ``{"type": "hello", "library", "available", "reason" | "version",
    "threads"}``, then ``{"type": "cell", "index", ...}`` per cell, then
    ``{"type": "done"}``.
    """
    library, threads = spec["library"], int(spec["threads"])
    device = spec.get("device", "cpu")
    try:
        adapter = make_adapter(library, threads, device)
    except Unavailable as exc:
        emit({"type": "hello", "library": library, "available": False, "reason": str(exc)})
        emit({"type": "done"})
        return 0
    hello = {"type": "hello", "library": library, "available": True,
             "version": adapter.version(), "threads": adapter.threads}
    if hasattr(adapter, "hello"):
        hello.update(adapter.hello())
    emit(hello)
    matrices = {m["name"]: m for m in spec["matrices"]}
    current, operands, warmed = None, None, set()
    for cell in spec["cells"]:
        record = {"type": "cell", "index": cell["index"]}
        try:
            if cell["matrix"] != current:
                operands = None  # free the previous matrix first
                current = None
                operands = _Operands(adapter, build_matrix(matrices[cell["matrix"]]))
                current = cell["matrix"]
            S = operands.S
            record["shape"] = list(S.shape)
            record["nnz_A"] = int(S.nnz)
            if cell["op"] == "spgemm" and S.shape[0] != S.shape[1]:
                raise ValueError(f"A @ A needs a square matrix, got {S.shape}")
            if device == "gpu" and cell["op"] in ("spgemm", "spgemm_at"):
                record["flops"] = spgemm_flops(S, cell["op"])  # for GFlop/s
            record.update(run_cell(adapter, cell, operands, int(spec["runs"]), warmed))
        except Exception as exc:  # reported in the table, the other cells go on
            record["error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
            if hasattr(adapter, "alive") and not adapter.alive():
                # a poisoned CUDA context fails every later call: die without
                # reporting, so the parent blames this cell and starts a fresh worker
                print(f"sparsela bench: CUDA context lost after {record['error']}",
                      file=sys.stderr, flush=True)
                os._exit(3)
            if hasattr(adapter, "recover"):
                adapter.recover()
        emit(record)
    emit({"type": "done"})
    return 0


def _worker_main() -> int:
    """``python -m sparsela.bench --worker``: spec on stdin, JSON lines on stdout."""
    spec = json.load(sys.stdin)
    # keep the protocol channel clean: anything a library prints goes to stderr
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def emit(obj):
        channel.write(json.dumps(obj) + "\n")
        channel.flush()

    return worker(spec, emit)


# ============================================================================
# parent side
# ============================================================================
class _Progress:
    """tqdm when importable, else one line per cell on stderr."""

    def __init__(self, total: int, enabled: bool, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.total, self.done = total, 0
        self.bar = None
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, file=self.stream, unit="cell", leave=False,
                                dynamic_ncols=True, desc="sparsela bench")

    def step(self, text: str, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(n)
        else:
            width = len(str(self.total))
            print(f"[{self.done:>{width}}/{self.total}] {text}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _worker_env(library: str, threads: int) -> dict:
    env = dict(os.environ)
    env.update(_MALLOC_ENV)
    # the worker imports the same sparsela as this process
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
    t = 1 if library == "scipy" else threads
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(t)
    # Numba's pool must be at least as large as the threads asked for
    env["NUMBA_NUM_THREADS"] = str(max(t, int(env.get("NUMBA_NUM_THREADS") or 0), available_cpus()))
    env.pop("SPARSELA_DEBUG", None)
    return env


def _describe_exit(rc: int) -> str:
    if rc < 0:
        import signal

        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        return f"worker killed by {name}" + (" (out of memory?)" if name == "SIGKILL" else "")
    return f"worker exited with status {rc}"


def run_library(library: str, cells: list[dict], matrices: list[dict], *, threads: int,
                runs: int, progress: _Progress, python: str = sys.executable,
                device: str = "cpu") -> tuple[dict, dict]:
    """Run ``cells`` in worker processes of ``library``; a crashed worker is restarted
    for the cells after the one it died on. Returns (hello record, {index: record})."""
    results: dict = {}
    hello: dict = {"library": library, "available": False, "reason": "worker did not start"}
    pending = list(cells)
    while pending:
        spec = {"library": library, "threads": threads, "runs": runs,
                "matrices": matrices, "cells": pending}
        if device != "cpu":
            spec["device"] = device
        with tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(
                [python, "-m", "sparsela.bench", "--worker"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                env=_worker_env(library, threads), text=True,
            )
            try:
                proc.stdin.write(json.dumps(spec))
                proc.stdin.close()
            except BrokenPipeError:
                pass
            finished = False
            for line in proc.stdout:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("type") == "hello":
                    hello = {k: v for k, v in event.items() if k != "type"}
                    if not event.get("available"):
                        progress.step(f"{library}: not available", len(pending))
                elif event.get("type") == "cell":
                    results[event["index"]] = event
                    cell = next(c for c in pending if c["index"] == event["index"])
                    progress.step(_progress_text(library, cell, event))
                elif event.get("type") == "done":
                    finished = True
            rc = proc.wait()
            err.seek(0)
            stderr_tail = " ".join(err.read().split()[-40:])
        if "version" not in hello and not hello.get("available"):
            if hello.get("reason") == "worker did not start":  # died before saying hello
                hello["reason"] = f"{_describe_exit(rc)}: {stderr_tail}".strip()
                progress.step(f"{library}: failed", len(pending))
            break
        if finished:
            break
        # the worker died: blame the first cell without a result, go on after it
        left = [c for c in pending if c["index"] not in results]
        if not left:
            break
        bad = left[0]
        results[bad["index"]] = {"index": bad["index"],
                                 "error": f"{_describe_exit(rc)}: {stderr_tail}".strip()}
        progress.step(_progress_text(library, bad, results[bad["index"]]))
        pending = left[1:]
    return hello, results


def _cell_label(cell: dict) -> str:
    label = OP_LABELS[cell["op"]]
    if cell["op"] == "spmm":
        label += f" (k={cell['k']})"
    if cell.get("variant") == "sorted":
        label += " sorted"
    return label


def _progress_text(library: str, cell: dict, record: dict) -> str:
    what = f"{library} {cell['matrix']} {_cell_label(cell)}"
    if "error" in record:
        return f"{what}: error"
    return f"{what}: {_fmt_ms(record['median_s'])} ms"


def select_matrices(matrices: list[dict], names) -> list[dict]:
    """The matrices named in ``names`` (``--matrices``), in table order."""
    known = [m["name"] for m in matrices]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"--matrices: unknown matrix {unknown[0]!r} with these options "
                         f"(available: {', '.join(known)})")
    return [m for m in matrices if m["name"] in set(names)]


def run_bench(*, quick: bool = False, threads: int | None = None, runs: int | None = None,
              ops=None, libraries=None, real_dir=None, sizes: dict | None = None,
              progress: bool = True, python: str = sys.executable, device: str = "cpu",
              matrices=None) -> dict:
    """Run the benchmark table and return the JSON-able result document.

    ``sizes`` overrides the synthetic sizes (keys ``poisson``, ``er``, ``rmat``:
    grid side, log2 rows, R-MAT scale), e.g. tiny ones for tests; on the GPU
    it also drops the extra R-MAT scales. ``device`` is ``'cpu'`` (SciPy,
    GraphBLAS, MKL) or ``'gpu'`` (cupyx; raises :class:`Unavailable` without
    CuPy or a CUDA device). ``matrices`` keeps only the matrices of these names.
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    t_start = time.time()
    try:
        load_start = list(os.getloadavg())
    except OSError:
        load_start = None
    gpu = gpu_info() if device == "gpu" else None  # fails early without a GPU
    columns = libraries_for(device)
    threads = available_cpus() if threads is None else int(threads)
    runs = (QUICK_RUNS if quick else DEFAULT_RUNS) if runs is None else int(runs)
    ops = list(OPS) if not ops else [op for op in OPS if op in ops]
    libraries = list(columns) if not libraries else [lib for lib in columns if lib in libraries]
    base_sizes = QUICK_SIZES if quick else FULL_SIZES
    extra_rmat = ()
    if device == "gpu" and not sizes:
        extra_rmat = GPU_QUICK_EXTRA_RMAT if quick else GPU_EXTRA_RMAT
    sizes = {**base_sizes, **(sizes or {})}
    real_dir = default_real_dir() if real_dir is None else Path(real_dir)

    notes: list[str] = []
    all_matrices = synthetic_matrices(sizes, extra_rmat)
    if "spgemm" in ops or "spgemm_at" in ops:
        real, real_notes = real_matrices(real_dir)
        all_matrices += real
        notes += real_notes
    selected = bool(matrices)
    matrices = select_matrices(all_matrices, matrices) if selected else all_matrices
    cells = make_cells(matrices, ops)
    for i, c in enumerate(cells):
        c["index"] = i
    if threads > available_cpus() and device == "cpu":
        notes.append(f"{threads} threads on {available_cpus()} CPUs: oversubscribed")

    per_lib = {lib: cells_for(lib, cells) for lib in libraries}
    bar = _Progress(sum(len(v) for v in per_lib.values()), progress)
    lib_info, records = {}, []
    try:
        for lib in libraries:
            t_lib = time.perf_counter()
            hello, res = run_library(lib, per_lib[lib], matrices, threads=threads, runs=runs,
                                     progress=bar, python=python, device=device)
            hello["elapsed_s"] = round(time.perf_counter() - t_lib, 3)
            lib_info[lib] = hello
            if not hello.get("available"):
                notes.append(f"{lib}: not run ({hello.get('reason', 'unavailable')})")
                continue
            for c in per_lib[lib]:
                rec = dict(res.get(c["index"], {"error": "no result from the worker"}))
                rec.pop("type", None)
                rec.pop("index", None)
                records.append({"library": lib, "matrix": c["matrix"], "op": c["op"],
                                "k": c["k"], "variant": c["variant"], **rec})
    finally:
        bar.close()

    # matrix shapes and nnz as the workers saw them
    seen = {}
    for r in records:
        if "shape" in r:
            seen.setdefault(r["matrix"], (r["shape"], r["nnz_A"]))
    for m in matrices:
        if m["name"] in seen:
            m["shape"], m["nnz"] = seen[m["name"]]
    try:
        load = list(os.getloadavg())
    except OSError:
        load = None
    machine = {"cpus": available_cpus(), "platform": platform.platform(),
               "processor": platform.processor() or platform.machine(),
               "python": platform.python_version(), "load_average_start": load_start,
               "load_average_end": load}
    if gpu is not None:
        machine["gpu"] = gpu
    doc = {
        "schema": SCHEMA,
        "device": device,
        "config": {"quick": quick, "runs": runs, "threads": threads, "ops": ops,
                   "libraries": libraries, "sizes": sizes, "real_dir": str(real_dir),
                   "spmm_columns": list(SPMM_COLUMNS), "device": device},
        "machine": machine,
        "libraries": lib_info,
        "matrices": matrices,
        "notes": notes,
        "cells": records,
        "elapsed_s": None,
    }
    if device == "gpu":
        doc["config"]["extra_rmat"] = list(extra_rmat)
        doc["config"]["cell_budget_s"] = GPU_CELL_BUDGET_S
    if selected:
        doc["config"]["matrices"] = [m["name"] for m in matrices]
    doc["rows"] = summarize(doc)
    doc["elapsed_s"] = round(time.time() - t_start, 3)
    return doc


# ============================================================================
# summary and table
# ============================================================================
def _check(recs: dict, dense_output: bool = False) -> tuple[str, str]:
    """(status, detail) comparing the results of the libraries of one row.

    Sparse results (SpGEMM) must have the same nnz; dense results (SpMM, SpMV)
    the same number of nonzero values (GraphBLAS leaves the rows of an empty
    row of A out of its result instead of storing zeros). Both must have the
    same sum of entries to ``CHECK_RTOL`` of the sum of absolute values."""
    ok = {lib: r for lib, r in recs.items() if "error" not in r and "nnz" in r}
    if len(ok) < 2:
        return "-", "fewer than two results"
    nnz = {lib: r["nnz"] for lib, r in ok.items()}
    nonzero = {lib: r["nnz_nonzero"] for lib, r in ok.items()}
    ref = "sparsela" if "sparsela" in ok else next(iter(ok))
    scale = max(r["abs_checksum"] for r in ok.values()) or 1.0
    sums_ok = all(abs(r["checksum"] - ok[ref]["checksum"]) <= CHECK_RTOL * scale + 1e-300
                  for r in ok.values())
    detail = ", ".join(f"{lib} {n}" for lib, n in nnz.items())
    if not sums_ok:
        sums = ", ".join(f"{lib} {r['checksum']:.12g}" for lib, r in ok.items())
        return "DIFF", f"sums of entries differ: {sums}"
    if dense_output and len(set(nonzero.values())) == 1:
        return "ok", f"{next(iter(nonzero.values()))} nonzero values in every library"
    if not dense_output and len(set(nnz.values())) == 1:
        return "ok", f"nnz {next(iter(nnz.values()))} in every library"
    if not dense_output and len(set(nonzero.values())) == 1:
        return "ok*", (f"nnz {detail}: equal without entries that are exactly zero "
                       f"({next(iter(nonzero.values()))})")
    return "DIFF", f"nnz differs: {detail}"


def summarize(doc: dict) -> list[dict]:
    """One row per (matrix, operation): medians, ratios, memory and check.

    ``ratio`` is sparsela's time over each peer's (< 1: sparsela faster). On
    the GPU, ``ratio_cupyx`` also gives every other column's time over
    cupyx's (sparsela sorted, sparsela-cusparse).
    """
    device = doc.get("device", "cpu")
    peer_names = peers_for(device)
    rows: dict = {}
    for r in doc["cells"]:
        key = (r["matrix"], r["op"], r["k"])
        row = rows.setdefault(key, {"matrix": r["matrix"], "op": r["op"], "k": r["k"],
                                    "label": _cell_label(r), "median_s": {}, "errors": {},
                                    "peak_extra_bytes": {}, "io_bytes": {}, "_recs": {}})
        name = r["library"] + ("_sorted" if r.get("variant") == "sorted" else "")
        if "error" in r:
            row["errors"][name] = r["error"]
            continue
        row["median_s"][name] = r["median_s"]
        if r.get("variant") != "sorted":
            row["_recs"][r["library"]] = r
            row["peak_extra_bytes"][r["library"]] = r["peak_extra_bytes"]
            row["io_bytes"][r["library"]] = r["input_bytes"] + r["output_bytes"]
    out = []
    for row in rows.values():
        med = row["median_s"]
        sl_t = med.get("sparsela")
        row["ratio"] = {p: (sl_t / med[p] if sl_t and med.get(p) else None) for p in peer_names
                        if p in med or p in row["errors"]}
        peers = {p: med[p] for p in peer_names if med.get(p)}
        fastest = min(peers, key=peers.get) if peers else None
        row["fastest_peer"] = fastest
        row["ratio_fastest_peer"] = sl_t / peers[fastest] if sl_t and fastest else None
        if device == "gpu":
            base = med.get("cupyx")
            row["ratio_cupyx"] = {name: (t / base if base else None)
                                  for name, t in med.items() if name != "cupyx"}
        row["mem_ratio"] = {lib: (row["peak_extra_bytes"][lib] / row["io_bytes"][lib]
                                  if row["io_bytes"][lib] else None)
                            for lib in row["peak_extra_bytes"]}
        row["check"], row["check_detail"] = _check(row.pop("_recs"),
                                                  dense_output=row["op"] in ("spmm", "spmv"))
        out.append(row)
    return out


def _fmt_ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    ms = seconds * 1e3
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


def _fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _render(header: list[str], rows: list[list[str]], left: int = 2) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = []
    for r in [header] + rows:
        cells = [str(c).ljust(w) if i < left else str(c).rjust(w)
                 for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
        if r is header:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def format_table(doc: dict) -> str:
    """The human-readable report of a :func:`run_bench` document."""
    cfg = doc["config"]
    device = doc.get("device", "cpu")
    gpu = device == "gpu"
    libs = [lib for lib in cfg["libraries"] if doc["libraries"].get(lib, {}).get("available")]
    peers = [p for p in peers_for(device) if p in libs]
    lines = []
    mode = "quick" if cfg["quick"] else "full"
    if cfg["sizes"] != (QUICK_SIZES if cfg["quick"] else FULL_SIZES):
        mode += ", custom sizes"
    if gpu:
        lines.append(f"sparsela bench --device gpu ({mode}): median of {cfg['runs']} timed "
                     "run(s) per cell after an untimed call, every call synchronised; "
                     "each library in its own process")
    else:
        lines.append(f"sparsela bench ({mode}): median of {cfg['runs']} timed run(s) per cell "
                     "after an untimed call; each library in its own process")
    lines.append(f"machine: {doc['machine']['cpus']} CPU(s), {doc['machine']['processor']}, "
                 f"Python {doc['machine']['python']}"
                 + (f", load average {doc['machine']['load_average_end'][0]:.2f}"
                    if doc["machine"].get("load_average_end") else ""))
    if gpu:
        lines.append(f"GPU: {_describe_gpu(doc['machine'].get('gpu') or {})}")
    width = max([10] + [len(lib) for lib in cfg["libraries"]])
    for lib in cfg["libraries"]:
        info = doc["libraries"].get(lib, {})
        if info.get("available") and gpu:
            order = info.get("dense_order")
            lines.append(f"  {lib:<{width}} {info.get('version', '?')}"
                         + (f" (X in {order} order)" if order else ""))
        elif info.get("available"):
            thr = info.get("threads")
            extra = " (single-threaded library)" if lib == "scipy" else ""
            lines.append(f"  {lib:<{width}} {info.get('version', '?')}: {thr} thread(s){extra}")
        else:
            lines.append(f"  {lib:<{width}} not run: {info.get('reason', 'unavailable')}")
    lines.append("")
    lines.append("matrices:")
    for m in doc["matrices"]:
        if "shape" in m:
            lines.append(f"  {m['name']:<12} {m['shape'][0]} x {m['shape'][1]}, nnz {m['nnz']}: "
                         f"{m['description']}")
    rows = doc["rows"]
    has_sorted = any("sparsela_sorted" in r["median_s"] for r in rows)

    lines.append("")
    if gpu:
        lines.append("time (ms, median); x/cupyx = time / cupyx's time, < 1: faster than "
                     "cupyx (cuSPARSE); SpGEMM: unsorted output unless 'sorted'")
    else:
        lines.append("time (ms, median); ratio = sparsela / peer, < 1: sparsela faster; "
                     "SpGEMM: unsorted output in every library")
    header = ["matrix", "op"] + [lib for lib in libs]
    if has_sorted and "sparsela" in libs:
        header.insert(3, "sl sorted")
    # GPU: every sparsela column against cupyx; CPU: sparsela against every peer
    gpu_ratios = [(name, label) for name, label in (
        ("sparsela", "sl/cupyx"), ("sparsela_sorted", "sorted/cupyx"),
        ("sparsela-cusparse", "cusp/cupyx"))
        if gpu and "cupyx" in libs and name.split("_")[0] in libs
        and (name != "sparsela_sorted" or has_sorted)]
    if gpu:
        header += [label for _, label in gpu_ratios] + ["check"]
    else:
        header += [f"/{p}" for p in peers] + (["/fastest"] if peers else []) + ["check"]
    body = []
    for r in rows:
        med, err = r["median_s"], r["errors"]

        def t(name, med=med, err=err):
            return "err" if name in err else _fmt_ms(med.get(name))

        line = [r["matrix"], r["label"]] + [t(lib) for lib in libs]
        if has_sorted and "sparsela" in libs:
            line.insert(3, t("sparsela_sorted") if r["op"].startswith("spgemm") else "")
        if gpu:
            line += [_fmt_ratio(r.get("ratio_cupyx", {}).get(name)) for name, _ in gpu_ratios]
        else:
            line += [_fmt_ratio(r["ratio"].get(p)) for p in peers]
            if peers:
                f = r["ratio_fastest_peer"]
                line.append(f"{f:.2f} {r['fastest_peer']}" if f is not None else "-")
        line.append(r["check"])
        body.append(line)
    lines += _render(header, body)

    lines.append("")
    if gpu:
        lines.append("device memory: peak extra MiB in CuPy's memory pool during one call "
                     "(x = / (inputs + output) bytes)")
    else:
        lines.append("memory: peak extra MiB during one call (x = / (inputs + output) bytes)")
    header = ["matrix", "op"] + libs
    body = []
    for r in rows:
        line = [r["matrix"], r["label"]]
        for lib in libs:
            if lib not in r["peak_extra_bytes"]:
                line.append("err" if lib in r["errors"] else "-")
                continue
            mib = r["peak_extra_bytes"][lib] / 2**20
            x = r["mem_ratio"][lib]
            txt = f"{mib:.1f}" if mib >= 10 else f"{mib:.2f}"
            line.append(f"{txt} ({x:.2f}x)" if x is not None else txt)
        body.append(line)
    lines += _render(header, body)

    foot = []
    if any(r["check"] == "ok*" for r in rows):
        foot.append("ok*: nnz(C) equal once entries that are exactly zero are not counted "
                    "(SciPy's SpGEMM drops entries that cancel; sparsela, GraphBLAS and MKL keep them)")
    if gpu:
        short = sorted({f"{c['library']} {c['matrix']} {_cell_label(c)} ({len(c['times_s'])})"
                        for c in doc["cells"]
                        if "times_s" in c and len(c["times_s"]) < cfg["runs"]})
        if short:
            foot.append(f"fewer timed runs (cells over {cfg.get('cell_budget_s', '?')} s): "
                        + ", ".join(short))
        foot.append("issue 4 targets: SpGEMM sl/cupyx <= 0.67 (1.5x) on R-MAT 18-20 and "
                    "<= 1.0 on Poisson/ER; SpMM sl/cupyx <= 1.0")
        if (doc["machine"].get("gpu") or {}).get("simulated"):
            foot.append("SIMULATED device (SPARSELA_GPU_SIMULATOR=1): times and memory are "
                        "those of Numba's CUDA simulator on the CPU, not of a GPU")
    for r in rows:
        if r["check"] == "DIFF":
            foot.append(f"DIFF {r['matrix']} {r['label']}: {r['check_detail']}")
        for name, e in r["errors"].items():
            foot.append(f"err {name} {r['matrix']} {r['label']}: {e}")
    methods = {c.get("mem_method") for c in doc["cells"] if c.get("mem_method")}
    if "tracemalloc" in methods:
        foot.append("memory measured with tracemalloc (NumPy/Numba/Python allocations only)")
    foot += doc["notes"]
    if foot:
        lines.append("")
        lines += [f"note: {f}" for f in foot]
    if doc.get("elapsed_s") is not None:
        lines.append(f"({doc['elapsed_s']:.1f} s)")
    return "\n".join(lines)


def _describe_gpu(info: dict) -> str:
    """One line for the GPU of a document's ``machine["gpu"]``."""
    text = info.get("name", "?")
    details = []
    if info.get("compute_capability"):
        details.append(f"compute capability {info['compute_capability']}")
    if info.get("total_memory_bytes"):
        details.append(f"{info['total_memory_bytes'] / 2**30:.0f} GiB")
    for key, label in (("cuda_runtime", "CUDA runtime"), ("cuda_driver", "driver")):
        v = info.get(key)
        if v:  # 12090 -> 12.9
            details.append(f"{label} {v // 1000}.{(v % 1000) // 10}")
    if info.get("cupy"):
        details.append(f"CuPy {info['cupy']}")
    return text + (f" ({', '.join(details)})" if details else "")


def exit_status(doc: dict) -> int:
    """1 when a result check failed or a cell errored, else 0."""
    bad = any(r["check"] == "DIFF" or r["errors"] for r in doc["rows"])
    return 1 if bad else 0


def parse_sizes(text: str) -> dict:
    """``'poisson=8,er=6,rmat=6'`` -> dict (the hidden ``--sizes`` option)."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in FULL_SIZES:
            raise ValueError(f"--sizes: expected NAME=INT with NAME in "
                             f"{', '.join(FULL_SIZES)}, got {part!r}")
        try:
            v = int(value)
        except ValueError:
            raise ValueError(f"--sizes: {key} must be an integer, got {value!r}") from None
        if v < 1 or (key != "poisson" and v > 30):
            raise ValueError(f"--sizes: {key}={v} is out of range")
        out[key] = v
    return out


def cli(args) -> int:
    """The ``sparsela bench`` subcommand (argparse namespace from ``__main__``)."""
    sizes = parse_sizes(args.sizes) if args.sizes else None
    doc = run_bench(quick=args.quick, threads=args.threads, runs=args.runs, ops=args.ops,
                    libraries=args.libraries, real_dir=args.real_dir, sizes=sizes,
                    progress=not args.no_progress, device=getattr(args, "device", "cpu"),
                    matrices=getattr(args, "matrices", None))
    if args.json:
        print(json.dumps(doc, indent=1))
    else:
        print(format_table(doc))
    return exit_status(doc)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        sys.exit(_worker_main())
    from .__main__ import main

    sys.exit(main(["bench", *sys.argv[1:]]))
