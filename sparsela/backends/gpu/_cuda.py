"""The one ``numba.cuda`` wrapper used by every GPU kernel (mirror of ``cpu/_jit.py``).

Kernels are written once with :func:`kernel` and launched with :func:`launch`
on the arrays of one array module: CuPy arrays on a GPU, or NumPy arrays
under Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), which runs the
same kernel code on the CPU so that a GPU-less machine (CI) executes the
kernel logic. Host code in the GPU modules allocates through
:func:`array_module` and never calls NumPy on device arrays.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

__all__ = ["SIMULATOR", "THREADS", "WARP", "array_module", "kernel", "launch"]

#: Kernels run under Numba's CUDA simulator (set before Numba is imported).
SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "1"

#: Threads per block of the row-parallel kernels. The simulator runs every
#: thread of a block as a Python thread, so there blocks are small.
THREADS = 32 if SIMULATOR else 256

WARP = 32


def cuda():
    """``numba.cuda``, imported on first use (it takes ~0.3 s)."""
    from numba import cuda as _cuda

    return _cuda


_cache_checked = False


def kernel(func):
    """``numba.cuda.jit`` for a kernel (compiled on its first launch, cached on
    disk unless ``SPARSELA_NUMBA_CACHE=0``, as the CPU kernels are)."""
    if SIMULATOR:
        return cuda().jit(func)
    from ..cpu._jit import CACHE, drop_stale_cache

    check_numpy_support()
    global _cache_checked
    if CACHE and not _cache_checked:
        _cache_checked = True
        # kernels call device functions of other files, the CPU kernels'
        # scalar maths among them (bcd): an edit to any of these files makes
        # every cached GPU kernel stale
        here = Path(__file__).parent
        drop_stale_cache(here, [*here.glob("*.py"), *(here.parent / "cpu").glob("*.py")])
    return cuda().jit(cache=CACHE)(func)


@functools.lru_cache(maxsize=1)
def check_numpy_support() -> None:
    """Raise ImportError when this numba-cuda cannot compile with this NumPy.

    numba-cuda registers its NumPy overloads when it first compiles a kernel;
    one that names a function this NumPy removed fails there, deep inside the
    compiler (numba-cuda 0.30.4 registers ``np.row_stack``, which NumPy 2.5
    removed). This loads the same module up front, so the error names the
    versions and the way out.
    """
    import importlib
    import importlib.util

    try:
        if importlib.util.find_spec("numba.cuda.np.arrayobj") is not None:
            importlib.import_module("numba.cuda.np.arrayobj")
    except AttributeError as exc:
        try:
            from importlib.metadata import version

            which = f"numba-cuda {version('numba-cuda')}"
        except ImportError:  # PackageNotFoundError: installed without metadata
            which = "this numba-cuda"
        raise ImportError(
            f"{which} does not support NumPy {np.__version__} ({exc}), so sparsela's "
            "GPU kernels cannot be compiled: install a NumPy it supports "
            "(pip install 'numpy<2.5') or a numba-cuda release that supports "
            f"NumPy {np.__version__}") from exc


def device(func):
    """``numba.cuda.jit(device=True)``: a device function the kernels inline."""
    return cuda().jit(device=True)(func)


def array_module(*arrays):
    """The array module of ``arrays``: ``cupy`` for device arrays, else ``numpy``.

    The GPU modules allocate with it, so under the simulator (NumPy arrays)
    the same host code runs on the CPU.
    """
    from ..._device import namespace_of

    return namespace_of(*arrays)


def _raw(a):
    """What a kernel launch takes for ``a``.

    A CuPy array becomes a Numba device-array view without the stream
    synchronisation Numba makes by default for foreign arrays (kernels run
    on CuPy's stream, so order is kept without it); a simulated device
    array (``sparsela.backends.gpu._simulator``) gives its NumPy buffer.
    """
    raw = getattr(a, "_sparsela_host_buffer", None)
    if raw is not None:
        return raw()
    if not SIMULATOR and hasattr(a, "__cuda_array_interface__"):
        return cuda().as_cuda_array(a, sync=False)
    return a


def blocks(n: int, threads: int = THREADS) -> int:
    """Blocks of ``threads`` threads that cover ``n`` work items (at least one)."""
    return max(1, -(-int(n) // threads))


def launch(kern, n: int, *args, threads: int = THREADS, shared: int = 0):
    """Launch ``kern`` on ``ceil(n / threads)`` blocks of ``threads`` threads.

    On a GPU the launch goes to CuPy's current stream, so kernels and CuPy
    calls stay ordered without a device-wide synchronisation.

    Parameters
    ----------
    kern : kernel
        A function decorated with :func:`kernel`.
    n : int
        Work items (one thread each); nothing is launched when 0.
    *args
        Kernel arguments: device arrays and scalars.
    threads : int
        Threads per block.
    shared : int
        Dynamic shared memory in bytes.
    """
    if n > 0:
        launch_grid(kern, blocks(n, threads), threads, *args, shared=shared)


def launch_grid(kern, grid: int, threads: int, *args, shared: int = 0):
    """Launch ``kern`` on exactly ``grid`` blocks of ``threads`` threads
    (nothing when ``grid`` is 0), on CuPy's current stream.

    On a GPU the first launch of a kernel for a set of argument types goes
    through Numba's dispatcher (it compiles or loads the kernel); later ones
    marshal the arguments themselves and launch the compiled function
    directly (see :func:`_fast_args`). Numba's dispatcher wraps each CuPy
    array and re-types every argument on each launch: an empty kernel of five
    arrays took about 290 us of host time that way on an H100 machine, 20 us
    directly, and that overhead was most of the time of a SpMV or a small SpGEMM.
    """
    if grid <= 0:
        return
    if SIMULATOR:
        kern[grid, threads, 0, shared](*(_raw(a) for a in args))
        return
    import cupy

    ptr = cupy.cuda.get_current_stream().ptr
    key = _signature_key(kern, args)
    fast = _FAST.get(key) if key is not None else False
    if fast:
        kernel, argtypes = fast
        _core().launch(_core_stream(ptr), _config(grid, threads, shared), kernel,
                       *_fast_args(argtypes, args))
        return
    raw = tuple(_raw(a) for a in args)
    kern[grid, threads, _external_stream(ptr), shared](*raw)
    if fast is None:  # first launch of this signature: remember the compiled kernel
        _FAST[key] = _compiled(kern, raw)


#: (kernel, device, argument key) -> (cuda.core kernel, Numba argument types),
#: or False where the direct launch is not used (see :func:`_compiled`)
_FAST: dict = {}


def _signature_key(kern, args):
    """A cheap key that fixes the Numba types of ``args`` (array dtype, ndim and
    layout; scalar type), or None when one of them has no such key."""
    import cupy

    key = [kern, cupy.cuda.runtime.getDevice()]
    for a in args:
        if isinstance(a, cupy.ndarray):
            f = a.flags
            key.append((a.dtype, a.ndim, f.c_contiguous, f.f_contiguous))
        elif type(a) is int:
            if not -(2 ** 63) <= a < 2 ** 63:  # Numba types it by its value then
                return None
            key.append(int)
        elif isinstance(a, (bool, float, complex, np.generic)):
            key.append(type(a))
        else:
            return None
    return tuple(key)


def _compiled(kern, raw):
    """``(cuda.core kernel, argument types)`` of the overload of ``kern`` that
    Numba's dispatcher launched for ``raw``, or False when the dispatcher
    converted an argument to reach it (no exact overload), the kernel has
    argument extensions, or this numba-cuda lacks the internals used."""
    try:
        argtypes = tuple(kern.typeof_pyval(a) for a in raw)
        overload = kern.overloads.get(argtypes)
        if overload is None or kern.targetoptions.get("extensions") or overload.debug:
            return False
        if not all(_marshallable(t) for t in argtypes):
            return False
        return overload._codelibrary.get_cufunc().kernel, argtypes
    except (AttributeError, KeyError, TypeError, ImportError):  # another numba-cuda
        return False  # keep to the dispatcher


def _types():
    """The module of Numba's types that numba-cuda types kernel arguments with."""
    try:
        from numba.cuda import types
    except ImportError:  # numba-cuda before its own type module
        from numba.core import types
    return types


def _marshallable(t) -> bool:
    types = _types()
    return isinstance(t, (types.Array, types.Integer, types.Float, types.Complex,
                          types.Boolean)) and t != types.float16


def _fast_args(argtypes, args) -> list:
    """Kernel parameters as Numba's ``_Kernel._prepare_args`` makes them: an
    array is (meminfo, parent, size, itemsize, data, *shape, *strides), a
    scalar a ctypes value of its Numba type (a complex one, two)."""
    import ctypes

    types = _types()
    out = []
    for t, a in zip(argtypes, args):
        if isinstance(t, types.Array):
            out += (0, 0, a.size, a.itemsize, a.data.ptr, *a.shape, *a.strides)
        elif isinstance(t, types.Boolean):
            out.append(a)
        elif isinstance(t, types.Integer):
            out.append(getattr(ctypes, f"c_{t}")(a))
        elif isinstance(t, types.Complex):
            c = ctypes.c_float if t == types.complex64 else ctypes.c_double
            out += (c(a.real), c(a.imag))
        else:
            out.append((ctypes.c_float if t == types.float32 else ctypes.c_double)(a))
    return out


@functools.lru_cache(maxsize=1)
def _core():
    import cuda.core

    return cuda.core


@functools.lru_cache(maxsize=256)
def _config(grid: int, threads: int, shared: int):
    return _core().LaunchConfig(grid=grid, block=threads, shmem_size=shared)


@functools.lru_cache(maxsize=8)
def _external_stream(ptr: int):
    return cuda().external_stream(ptr)


@functools.lru_cache(maxsize=8)
def _core_stream(ptr: int):
    """cuda.core's handle of the stream ``ptr`` (cuda.core deprecates being
    given Numba's stream object); Numba's where this cuda.core cannot wrap it."""
    try:
        return _core().Stream.from_handle(ptr)
    except Exception:  # noqa: BLE001 -- any failure: Numba's object works too
        return _external_stream(ptr)
