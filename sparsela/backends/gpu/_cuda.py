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

__all__ = ["kernel", "launch", "array_module", "SIMULATOR", "THREADS", "WARP"]

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

    global _cache_checked
    if CACHE and not _cache_checked:
        _cache_checked = True
        # kernels call device functions of other files, the CPU kernels'
        # scalar maths among them (bcd): an edit to any of these files makes
        # every cached GPU kernel stale
        here = Path(__file__).parent
        drop_stale_cache(here, [*here.glob("*.py"), *(here.parent / "cpu").glob("*.py")])
    return cuda().jit(cache=CACHE)(func)


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
    (nothing when ``grid`` is 0), on CuPy's current stream."""
    if grid <= 0:
        return
    raw = tuple(_raw(a) for a in args)
    stream = _stream()
    kern[grid, threads, 0 if stream is None else stream, shared](*raw)


def _stream():
    if SIMULATOR:
        return None
    import cupy

    return _external_stream(cupy.cuda.get_current_stream().ptr)


@functools.lru_cache(maxsize=8)
def _external_stream(ptr: int):
    return cuda().external_stream(ptr)
