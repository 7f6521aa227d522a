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


@contextlib.contextmanager
def threads():
    """Run the enclosed kernels on ``sparsela.get_num_threads()`` threads."""
    old = numba.get_num_threads()
    n = get_num_threads()
    if n != old:
        numba.set_num_threads(n)
    try:
        yield n
    finally:
        if n != old:
            numba.set_num_threads(old)
