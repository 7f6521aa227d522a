"""The one Numba ``jit`` wrapper used by every CPU kernel.

Kernels are compiled with ``cache=True`` so a second process loads machine
code from ``__pycache__`` instead of recompiling; set ``SPARSELA_NUMBA_CACHE=0``
to opt out (read-only installs, debugging).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from ..._config import get_num_threads

CACHE = os.environ.get("SPARSELA_NUMBA_CACHE", "1") != "0"

_cache_checked = False


def drop_stale_cache(folder: Path | None = None, sources=None) -> None:
    """Empty a kernel folder's cache when any of its source files changed
    since it was written.

    Numba keys a cached function on its own source file only, but kernels
    here call helpers from other files (``masked.py`` uses ``spgemm.py``'s
    hash and sort; the GPU kernels call device functions of other files), so
    an edit to the helper's file would leave the caller's cached machine
    code stale. A stamp of the size and mtime of every file in ``sources``
    (default: the folder's own ``*.py``) guards ``folder/__pycache__``
    (default: this CPU folder). Best effort: a read-only install just skips
    it (and ``NUMBA_CACHE_DIR`` elsewhere is not covered).
    """
    here = Path(__file__).parent if folder is None else Path(folder)
    files = sorted(here.glob("*.py") if sources is None else sources,
                   key=lambda p: (p.parent.name, p.name))
    stamp = hashlib.sha1(repr([(p.parent.name, p.name, p.stat().st_mtime_ns, p.stat().st_size)
                               for p in files]).encode()).hexdigest()
    cache = here / "__pycache__"
    mark = cache / "sparsela-kernels.stamp"
    try:
        if mark.read_text() == stamp:
            return
    except OSError:
        pass
    try:
        for p in cache.glob("*.nb[ic]"):
            p.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        mark.write_text(stamp)
    except OSError:
        pass


def jit(func=None, *, parallel: bool = False, inline: str = "never"):
    """``numba.njit`` with the project's defaults (nogil, cache, no fastmath).

    fastmath stays off: reassociating sums would make results differ from
    SciPy beyond rounding on ill-conditioned rows.
    """
    import numba

    global _cache_checked
    if CACHE and not _cache_checked:
        _cache_checked = True
        drop_stale_cache()
    opts = dict(cache=CACHE, nogil=True, parallel=parallel, inline=inline)
    if func is None:
        return lambda f: numba.njit(**opts)(f)
    return numba.njit(**opts)(func)


def bind_globals(func, variant: str, **callees):
    """A copy of ``func``, a kernel made by a factory, that reaches the
    factory's other kernels ``callees`` as globals, named after ``variant``.

    A closure over them would not do: Numba keys its cache on the pickled
    closure, and pickles a dispatcher with an id drawn anew in every process
    (numba#6264), so every process compiled such a kernel again (12 s of
    first calls per process for SpGEMM, semirings, masks, top-k and SpMM).
    As globals the callees are resolved when the kernel compiles and are not
    part of the key; the variant's name gives each variant cache files of
    its own, as their code is the same. ``func`` must name the callees as
    globals (names not bound in the factory).
    """
    import types

    names = dict(func.__globals__)
    names.update(callees)
    copy = types.FunctionType(func.__code__, names, func.__name__, func.__defaults__,
                              func.__closure__)
    copy.__qualname__ = f"{func.__qualname__}_{variant}"
    copy.__module__ = func.__module__
    copy.__doc__ = func.__doc__
    return copy


#: Below this many nonzeros (or flops) a kernel runs on one thread: waking
#: the pool costs more than the work, and far more when the cores are busy.
PARALLEL_MIN_WORK = 1 << 15


def thread_count(work: int | None = None) -> int:
    """The threads a job of ``work`` nonzeros runs on: 1 below
    ``PARALLEL_MIN_WORK``, else ``sparsela.get_num_threads()``.

    Entry points with a serial kernel call it without :func:`threads` when
    this is 1: a serial kernel has no parallel region, so Numba's pool size
    need not be read and set (three calls, about a fifth of a small SpMV).
    """
    return get_num_threads() if work is None or work >= PARALLEL_MIN_WORK else 1


def threads_or_serial(work: int | None = None):
    """:func:`threads`, or (yielding 1) nothing when the job runs on one
    thread: for entry points whose one-thread path calls serial kernels
    only, where Numba's pool size does not matter."""
    return contextlib.nullcontext(1) if thread_count(work) == 1 else threads(work)


@contextlib.contextmanager
def threads(work: int | None = None):
    """Run the enclosed kernels on ``sparsela.get_num_threads()`` threads.

    Parameters
    ----------
    work : int, optional
        Size of the job (nonzeros touched); below ``PARALLEL_MIN_WORK`` the
        kernels run on one thread.
    """
    import numba  # loaded by the kernels already; not at ``import sparsela``

    old = numba.get_num_threads()
    n = thread_count(work)
    if n != old:
        numba.set_num_threads(n)
    try:
        yield n
    finally:
        if n != old:
            numba.set_num_threads(old)
