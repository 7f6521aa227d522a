"""The one Numba ``jit`` wrapper used by every CPU kernel.

Kernels are compiled with ``cache=True`` so a second process loads machine
code from ``__pycache__`` instead of recompiling; set ``SPARSELA_NUMBA_CACHE=0``
to opt out (read-only installs, debugging).
"""
from __future__ import annotations

import contextlib
import os

import numba

from ..._config import get_num_threads

CACHE = os.environ.get("SPARSELA_NUMBA_CACHE", "1") != "0"


def jit(func=None, *, parallel: bool = False, inline: str = "never"):
    """``numba.njit`` with the project's defaults (nogil, cache, no fastmath).

    fastmath stays off: reassociating sums would make results differ from
    SciPy beyond rounding on ill-conditioned rows.
    """
    opts = dict(cache=CACHE, nogil=True, parallel=parallel, inline=inline)
    if func is None:
        return lambda f: numba.njit(**opts)(f)
    return numba.njit(**opts)(func)


#: Below this many nonzeros (or flops) a kernel runs on one thread: waking
#: the pool costs more than the work, and far more when the cores are busy.
PARALLEL_MIN_WORK = 1 << 15


@contextlib.contextmanager
def threads(work: int | None = None):
    """Run the enclosed kernels on ``sparsela.get_num_threads()`` threads.

    Parameters
    ----------
    work : int, optional
        Size of the job (nonzeros touched); below ``PARALLEL_MIN_WORK`` the
        kernels run on one thread.
    """
    old = numba.get_num_threads()
    n = get_num_threads() if work is None or work >= PARALLEL_MIN_WORK else 1
    if n != old:
        numba.set_num_threads(n)
    try:
        yield n
    finally:
        if n != old:
            numba.set_num_threads(old)
