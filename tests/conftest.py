"""Shared fixtures, hypothesis strategies and oracle helpers for the sparsela tests.

The central strategy is :func:`coo_triplets`: random COO triplets with shapes that
include 0 in either dimension, densities from 0 to 1, DUPLICATE entries, UNSORTED
order, EXPLICIT ZEROS, int32/int64 indices and every value dtype the suites sweep.
:func:`make_sparsela` and :func:`make_scipy` build the *same* (non-canonical)
matrix in every format for sparsela and for the SciPy oracle, from private copies
of the triplets, so neither library can see (or mutate) the other's buffers.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from pathlib import Path


# --------------------------------------------------------------------------- #
# GPU: the real one when CuPy sees a device, else the simulated device
# --------------------------------------------------------------------------- #
# Must run before Numba is imported: NUMBA_ENABLE_CUDASIM is read at import.
def _real_gpu() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no CuPy, no driver, no device
        return False


#: "real" (CuPy on a CUDA device) or "simulated" (sparsela.backends.gpu._simulator
#: with the numba.cuda kernels in Numba's CUDA simulator, on the CPU)
GPU_MODE = "real" if _real_gpu() else "simulated"
if GPU_MODE == "simulated":
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
    os.environ["SPARSELA_GPU_SIMULATOR"] = "1"

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

# --------------------------------------------------------------------------- #
# hypothesis profiles
# --------------------------------------------------------------------------- #
settings.register_profile(
    "ci",
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)
settings.register_profile(
    "dev",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    # quick triage: no shrinking (failures are reported as first found)
    "triage",
    parent=settings.get_profile("ci"),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
settings.register_profile("smoke", parent=settings.get_profile("triage"), max_examples=5)
settings.load_profile(os.environ.get("SPARSELA_HYPOTHESIS_PROFILE", "ci"))

# --------------------------------------------------------------------------- #
# data files
# --------------------------------------------------------------------------- #
#: ``<project>/../shared/data``: real and malformed Matrix Market files (not shipped)
DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def data_dir(sub: str = "") -> Path:
    """``DATA_DIR / sub``, or skip the test with a clear reason when it is absent."""
    path = DATA_DIR / sub if sub else DATA_DIR
    if not path.is_dir():
        pytest.skip(
            f"test data folder {path} is absent (it lives beside the project as "
            "../shared/data and is not shipped with sparsela)"
        )
    return path


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    return data_dir()


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    return data_dir("real")


# --------------------------------------------------------------------------- #
# dtypes
# --------------------------------------------------------------------------- #
FORMATS = ("csr", "csc", "coo", "bsr")
ALL_DTYPES = tuple(np.dtype(t) for t in (
    np.float32, np.float64, np.complex64, np.complex128, np.int32, np.int64, np.bool_))
#: a smaller sweep that still covers every dtype kind (float, complex, int, bool)
REPR_DTYPES = tuple(np.dtype(t) for t in (np.float32, np.complex128, np.int64, np.bool_))
INDEX_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))


def tolerance(*dtypes) -> dict:
    """``rtol``/``atol`` for comparing results computed in the promoted dtype."""
    dt = np.result_type(*dtypes)
    if dt.kind in "biu":
        return {"rtol": 0, "atol": 0}
    if dt in (np.float32, np.complex64):
        return {"rtol": 2e-5, "atol": 1e-5}
    return {"rtol": 1e-12, "atol": 1e-12}


def assert_close(actual, expected, *dtypes, check_dtype: bool = True, err_msg: str = ""):
    """Compare dense results, exactly for integer/bool dtypes, with ``tolerance`` else."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape, err_msg)
    if check_dtype:
        assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype, err_msg)
    tol = tolerance(*(dtypes or (expected.dtype,)))
    if tol["rtol"] == 0 and tol["atol"] == 0:
        np.testing.assert_array_equal(actual, expected, err_msg=err_msg)
    else:
        np.testing.assert_allclose(actual, expected, equal_nan=True, err_msg=err_msg, **tol)


def dense_of(x) -> np.ndarray:
    """Dense ndarray of a sparsela/scipy sparse array or array_like (brought
    back from the GPU with ``.get()``)."""
    x = to_host(x)
    if hasattr(x, "toarray"):
        return x.toarray()
    return np.asarray(x)


# --------------------------------------------------------------------------- #
# the random COO triplets strategy
# --------------------------------------------------------------------------- #
@dataclasses.dataclass(frozen=True)
class Triplets:
    """COO triplets (possibly with duplicates, unsorted, explicit zeros)."""

    data: np.ndarray
    row: np.ndarray
    col: np.ndarray
    shape: tuple
    blocksize: tuple  # divides shape; used to build the BSR variant

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def dense(self) -> np.ndarray:
        """The oracle's dense array (duplicates summed, as NumPy's add.at)."""
        out = np.zeros(self.shape, dtype=self.dtype)
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf, int wraparound
            np.add.at(out, (self.row, self.col), self.data)
        return out

    def copies(self):
        return self.data.copy(), self.row.copy(), self.col.copy()

    def __repr__(self) -> str:  # readable hypothesis falsifying examples
        return (f"Triplets(shape={self.shape}, blocksize={self.blocksize}, "
                f"dtype={self.dtype}, index={self.row.dtype},\n  data={self.data!r},\n"
                f"  row={self.row!r},\n  col={self.col!r})")


def _values(rng, n: int, dtype: np.dtype, zero_frac: float) -> np.ndarray:
    """Small dyadic values (exact in every float dtype), some explicit zeros."""
    if dtype == np.bool_:
        vals = rng.random(n) >= zero_frac
        return vals.astype(np.bool_)
    re = rng.integers(-8, 9, size=n) * 0.5
    if dtype.kind in "iu":
        re = rng.integers(-9, 10, size=n)
    zeros = rng.random(n) < zero_frac
    if dtype.kind == "c":
        im = rng.integers(-8, 9, size=n) * 0.5
        vals = re + 1j * im
    else:
        vals = re
    vals = np.where(zeros, 0, vals)
    return np.asarray(vals).astype(dtype)


def _divisors(n: int, limit: int = 4):
    if n == 0:
        return list(range(1, limit + 1))
    return [d for d in range(1, limit + 1) if n % d == 0]


@st.composite
def coo_triplets(draw, dtypes=ALL_DTYPES, index_dtypes=INDEX_DTYPES, max_dim: int = 40,
                 min_dim: int = 0, shape=None, square: bool = False, max_nnz: int | None = None,
                 duplicates: bool = True, bool_duplicates: bool = False):
    """Random COO triplets.

    Parameters
    ----------
    dtypes : sequence of dtype
        Value dtypes to draw from.
    max_dim, min_dim : int
        Range of each dimension (0 included by default).
    shape : tuple, optional
        A fixed shape.
    square : bool
        Draw a square shape.
    max_nnz : int, optional
        Cap on the number of distinct positions.
    duplicates : bool
        Allow duplicate (row, col) entries.
    bool_duplicates : bool
        Allow duplicates in bool arrays too. Off by default: how a bool array's
        duplicates combine (logical OR in ``toarray``) has dedicated tests.
    """
    if shape is None:
        # small shapes are the interesting ones: weight 0/1/2 and the bounds
        dim = st.one_of(st.integers(min_dim, max(min_dim, min(max_dim, 3))),
                        st.integers(min_dim, max_dim))
        m = draw(dim)
        n = m if square else draw(dim)
    else:
        m, n = shape
    dtype = np.dtype(draw(st.sampled_from(list(dtypes))))
    idx = np.dtype(draw(st.sampled_from(list(index_dtypes))))
    density = draw(st.sampled_from([0.0, 0.05, 0.2, 0.5, 1.0]) | st.floats(0, 1))
    dup_frac = draw(st.sampled_from([0.0, 0.0, 0.3, 1.0]))
    if not duplicates or (dtype == np.bool_ and not bool_duplicates):
        dup_frac = 0.0
    zero_frac = draw(st.sampled_from([0.0, 0.0, 0.2, 1.0]))
    sort_mode = draw(st.sampled_from(["shuffle", "shuffle", "rowmajor", "reversed"]))
    seed = draw(st.integers(0, 2**32 - 1))
    R = draw(st.sampled_from(_divisors(m)))
    C = draw(st.sampled_from(_divisors(n)))
    rng = np.random.default_rng(seed)

    size = m * n
    n_unique = int(round(density * size))
    if max_nnz is not None:
        n_unique = min(n_unique, max_nnz)
    if size and n_unique:
        flat = rng.choice(size, size=n_unique, replace=False)
    else:
        flat = np.zeros(0, dtype=np.int64)
    n_dup = int(round(dup_frac * flat.size))
    if n_dup:
        flat = np.concatenate([flat, rng.choice(flat, size=n_dup, replace=True)])
    if sort_mode == "shuffle":
        flat = rng.permutation(flat)
    elif sort_mode == "rowmajor":
        flat = np.sort(flat, kind="stable")
    else:
        flat = np.sort(flat, kind="stable")[::-1]
    row = (flat // n if n else flat).astype(idx)
    col = (flat % n if n else flat).astype(idx)
    data = _values(rng, flat.size, dtype, zero_frac)
    return Triplets(data, row, col, (m, n), (R, C))


@st.composite
def matmul_pair(draw, dtypes=ALL_DTYPES, max_dim: int = 30, **kw):
    """Two triplets with compatible shapes for ``A @ B``: (m, k) and (k, n)."""
    dim = st.one_of(st.integers(0, 3), st.integers(0, max_dim))
    m, k, n = draw(dim), draw(dim), draw(dim)
    A = draw(coo_triplets(dtypes=dtypes, shape=(m, k), **kw))
    B = draw(coo_triplets(dtypes=dtypes, shape=(k, n), **kw))
    return A, B


@st.composite
def same_shape_pair(draw, dtypes=ALL_DTYPES, max_dim: int = 30, **kw):
    """Two triplets of the same shape."""
    A = draw(coo_triplets(dtypes=dtypes, max_dim=max_dim, **kw))
    B = draw(coo_triplets(dtypes=dtypes, shape=A.shape, **kw))
    return A, B


def dense_operand(shape, dtype, seed: int = 0, order: str = "C") -> np.ndarray:
    """Deterministic dense array of small dyadic values (exact float products)."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return np.asarray(rng.random(shape) < 0.5, order=order)
    x = rng.integers(-4, 5, size=shape) * (1 if dtype.kind in "iu" else 0.5)
    if dtype.kind == "c":
        x = x + 1j * rng.integers(-4, 5, size=shape) * 0.5
    return np.asarray(x, dtype=dtype, order=order)


# --------------------------------------------------------------------------- #
# building the same matrix in every format (non-canonical on purpose)
# --------------------------------------------------------------------------- #
def compressed_arrays(t: Triplets, by: str = "row"):
    """``(data, indices, indptr)`` of CSR (``by='row'``) or CSC (``by='col'``),
    grouping the triplets by major index only: duplicates and the triplets'
    (unsorted) minor order are kept."""
    data, row, col = t.copies()
    major, minor = (row, col) if by == "row" else (col, row)
    n_major = t.shape[0] if by == "row" else t.shape[1]
    order = np.argsort(major, kind="stable")
    indptr = np.zeros(n_major + 1, dtype=row.dtype)
    np.cumsum(np.bincount(major.astype(np.int64), minlength=n_major), out=indptr[1:])
    return data[order], minor[order].astype(row.dtype), indptr


def bsr_arrays(t: Triplets, blocksize=None):
    """``(data, indices, indptr)`` of BSR with ONE block per triplet: duplicate
    blocks, unsorted block columns, and explicit zeros inside every block."""
    R, C = blocksize or t.blocksize
    data, row, col = t.copies()
    brow, bcol = row // R, col // C
    n_brow = t.shape[0] // R
    order = np.argsort(brow, kind="stable")
    blocks = np.zeros((data.size, R, C), dtype=data.dtype)
    blocks[np.arange(data.size), row % R, col % C] = data
    indptr = np.zeros(n_brow + 1, dtype=row.dtype)
    np.cumsum(np.bincount(brow.astype(np.int64), minlength=n_brow), out=indptr[1:])
    return blocks[order], bcol[order].astype(row.dtype), indptr


def make_sparsela(t: Triplets, fmt: str, blocksize=None, device: str = "cpu"):
    """The matrix of ``t`` as a sparsela array of format ``fmt``, NON-canonical
    (duplicates and unsorted indices kept) wherever the format can hold that,
    on ``device`` (moved there with ``to_device``)."""
    A = _make_sparsela(t, fmt, blocksize)
    return A if device == "cpu" else A.to_device(device)


def _make_sparsela(t: Triplets, fmt: str, blocksize=None):
    import sparsela as sl

    if fmt == "coo":
        data, row, col = t.copies()
        return sl.coo_array((data, (row, col)), shape=t.shape)
    if fmt == "csr":
        return sl.csr_array(compressed_arrays(t, "row"), shape=t.shape)
    if fmt == "csc":
        return sl.csc_array(compressed_arrays(t, "col"), shape=t.shape)
    if fmt == "bsr":
        return sl.bsr_array(bsr_arrays(t, blocksize), shape=t.shape)
    raise ValueError(fmt)


def make_scipy(t: Triplets, fmt: str, blocksize=None):
    """The same matrix as :func:`make_sparsela`, as a SciPy sparse array (own copies)."""
    if fmt == "coo":
        data, row, col = t.copies()
        return sp.coo_array((data, (row, col)), shape=t.shape)
    if fmt == "csr":
        return sp.csr_array(compressed_arrays(t, "row"), shape=t.shape)
    if fmt == "csc":
        return sp.csc_array(compressed_arrays(t, "col"), shape=t.shape)
    if fmt == "bsr":
        bs = blocksize or t.blocksize
        return sp.bsr_array(bsr_arrays(t, bs), shape=t.shape, blocksize=bs)
    raise ValueError(fmt)


def make_pair(t: Triplets, fmt: str, blocksize=None):
    """``(sparsela array, scipy array)`` holding the same matrix in format ``fmt``."""
    return make_sparsela(t, fmt, blocksize), make_scipy(t, fmt, blocksize)


def raw_arrays(A) -> dict:
    """Copies of the buffers of a sparsela/scipy array (to check for mutation)."""
    out = {}
    for name in ("data", "indices", "indptr", "row", "col"):
        arr = getattr(A, name, None)
        if isinstance(arr, np.ndarray):
            out[name] = arr.copy()
    return out


def assert_unchanged(A, snapshot: dict, what: str = "input"):
    now = raw_arrays(A)
    assert now.keys() == snapshot.keys(), (what, now.keys(), snapshot.keys())
    for name, before in snapshot.items():
        after = now[name]
        assert after.dtype == before.dtype and after.shape == before.shape, (what, name)
        assert np.array_equal(after, before, equal_nan=True), f"{what}.{name} was modified"


@pytest.fixture(params=FORMATS)
def fmt(request) -> str:
    return request.param


@contextlib.contextmanager
def force_parallel():
    """Run every kernel on ``sparsela.get_num_threads()`` threads, however small its
    input (sparsela runs inputs below ``PARALLEL_MIN_WORK`` on one thread), so that
    tiny edge cases (empty rows, fewer rows than threads) go through the parallel
    code paths too."""
    from sparsela.backends.cpu import _jit

    old = getattr(_jit, "PARALLEL_MIN_WORK", None)
    if old is not None:
        _jit.PARALLEL_MIN_WORK = 0
    try:
        yield
    finally:
        if old is not None:
            _jit.PARALLEL_MIN_WORK = old


# --------------------------------------------------------------------------- #
# devices
# --------------------------------------------------------------------------- #
#: the devices a test parametrised with the ``device`` fixture runs on
DEVICES = ("cpu", "gpu")


@pytest.fixture(params=DEVICES, scope="session")
def device(request) -> str:
    """``'cpu'``, then ``'gpu'``: a real CUDA device when CuPy sees one, else the
    simulated device (``GPU_MODE``), whose kernels run in Numba's CUDA
    simulator. Tests move their inputs with ``to_gpu``/``A.to_device(device)``
    and bring results back with :func:`to_host`."""
    return request.param


@pytest.fixture(autouse=True, scope="session")
def _simulator_thread_safety():
    # Two races of Numba's CUDA simulator (each GPU thread is a Python
    # thread), closed with locks for the whole session: cuda.shared.array
    # looks its array up and stores a new one unlocked (two threads of a
    # block can get different "shared" arrays: silently wrong results), and
    # every call of a device function of another module than the kernel's
    # swaps that module's ``cuda`` for the fake one and back (one thread's
    # restore can hit another thread mid-call: "module 'numba.cuda' has no
    # attribute 'blockDim'"). A short GIL switch interval (see
    # :func:`fast_thread_switches`) makes both far more likely.
    if GPU_MODE != "simulated":
        yield
        return
    import contextlib
    import threading

    from numba.cuda.simulator import kernel, kernelapi

    lock = threading.Lock()
    real = kernelapi.FakeCUDAShared.array
    real_swap = kernel.swapped_cuda_module
    swaps = {}  # id(module globals) -> [users, original entries]

    @contextlib.contextmanager
    def swapped(fn, fake):
        from numba import cuda

        globs = fn.__globals__
        with lock:
            entry = swaps.get(id(globs))
            if entry is None:
                orig = {k: v for k, v in globs.items() if v is cuda}
                globs.update(dict.fromkeys(orig, fake))
                entry = swaps[id(globs)] = [0, orig]
            entry[0] += 1
        try:
            yield
        finally:
            with lock:
                entry[0] -= 1
                if entry[0] == 0:
                    globs.update(entry[1])
                    del swaps[id(globs)]

    def locked(self, shape, dtype):
        if shape == 0:  # dynamic shared memory: one buffer, no look-up
            return real(self, shape, dtype)
        from numba.core import types
        from numba.np import numpy_support

        if isinstance(dtype, types.Type):
            dtype = numpy_support.as_dtype(dtype)
        # keyed by the kernel's source line, as the simulator does (read
        # from the caller's frame: the simulator's traceback.extract_stack
        # formats the whole stack on every call)
        frame = sys._getframe(1)
        caller = (frame.f_code.co_filename, frame.f_lineno)
        with lock:
            res = self._allocations.get(caller)
            if res is None:
                res = self._allocations[caller] = np.empty(shape, dtype)
        return res

    kernelapi.FakeCUDAShared.array = locked
    kernel.swapped_cuda_module = swapped
    try:
        yield
    finally:
        kernelapi.FakeCUDAShared.array = real
        kernel.swapped_cuda_module = real_swap


@contextlib.contextmanager
def fast_thread_switches(interval: float = 2e-5):
    """A short GIL switch interval, for simulated kernels that pass many
    barriers (the persistent BCD kernel: ~5x faster). The simulator polls its
    Python threads at each barrier, and with the default 5 ms interval a
    launch mostly waits for switches; suite-wide, though, the short interval
    makes the other simulated kernels slower (threads convoy on the GIL), so
    only the files that gain use it."""
    old = sys.getswitchinterval()
    if GPU_MODE == "simulated":
        sys.setswitchinterval(interval)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def record_transfers(monkeypatch, *, forbid_uploads: bool = False) -> list:
    """On the simulated device, the names of the device->host copies made from
    now on: ``.get()``, ``float()``, ``int()``, ``bool()`` and ``complex()`` of
    a device array, each a synchronising transfer on a GPU. With
    ``forbid_uploads``, a host->device copy (``xp.asarray``/``xp.array`` of a
    host array) fails the test where it happens."""
    from sparsela.backends.gpu import _simulator as sim

    copies = []
    def counting(name):
        real = getattr(sim.DeviceArray, name)

        def method(self, *args, **kwargs):
            copies.append(name)
            return real(self, *args, **kwargs)
        return method

    for name in ("get", "__float__", "__int__", "__bool__", "__complex__"):
        monkeypatch.setattr(sim.DeviceArray, name, counting(name))
    if forbid_uploads:
        real_asarray = sim._Namespace.asarray

        def device_only(x, dtype=None, order=None):
            assert isinstance(x, sim.DeviceArray), f"host->device copy of {type(x).__name__}"
            return real_asarray(x, dtype, order)

        monkeypatch.setattr(sim._Namespace, "asarray", staticmethod(device_only))
        monkeypatch.setattr(sim._Namespace, "array", staticmethod(device_only))
    return copies


def on_device(x, device: str):
    """A dense NumPy array or sparsela array ``x`` on ``device`` (an explicit move)."""
    import sparsela as sl

    if isinstance(x, sl.SparseArray):
        return x.to_device(device)
    if device == "cpu":
        return x
    from sparsela._device import cupy

    return cupy().asarray(x)


def on_devices(device: str, *arrays) -> tuple:
    """Each of ``arrays`` on ``device`` (:func:`on_device`)."""
    return tuple(on_device(x, device) for x in arrays)


def to_host(x):
    """A result back on the host: sparsela arrays with ``.get()``, device arrays
    with ``.get()``, everything else as it is."""
    get = getattr(x, "get", None)
    return get() if get is not None and not isinstance(x, dict) else x


# --------------------------------------------------------------------------- #
# optimal transport problems
# --------------------------------------------------------------------------- #
def gaussian_clouds(n, m=None, seed=0, *, zero_a=False, dtype=np.float64):
    """Squared-Euclidean cost (divided by its max) between two Gaussian clouds
    of ``n`` and ``m`` (default ``n``) points, random non-uniform weights;
    ``zero_a`` sets one source weight to zero (solved on the support,
    embedded back)."""
    m = n if m is None else m
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    Y = rng.normal(size=(m, 2)) + 1.0
    M = ((X[:, None, :] - Y[None]) ** 2).sum(-1)
    M /= M.max()
    a = rng.random(n) + 0.5
    b = rng.random(m) + 0.5
    if zero_a:
        a[2] = 0.0
    a, b = a / a.sum(), b / b.sum()
    return a.astype(dtype, copy=False), b.astype(dtype, copy=False), M.astype(dtype, copy=False)
