"""Which backend runs an operation: the one where its arrays live.

``ops`` modules ask here for the kernel module of a family (``"spmv"``,
``"canonical"``...) and the array module (NumPy or CuPy) of their operands,
so one code path serves both devices and no data moves between them.
"""
from __future__ import annotations

import numpy as np

from .._device import cupy, is_gpu_array
from ..backends import lazy

__all__ = ["kernels", "on_gpu", "xp_of"]

_modules: dict[str, object] = {}


def on_gpu(*arrays) -> bool:
    """True when any of ``arrays`` lives on the GPU."""
    for a in arrays:  # a loop, not any(generator): called several times a product
        if type(a) is not np.ndarray and is_gpu_array(a):
            return True
    return False


def kernels(name: str, *arrays):
    """The kernel module ``backends/<device>/<name>.py`` for ``arrays``' device."""
    key = ("gpu." if on_gpu(*arrays) else "cpu.") + name
    mod = _modules.get(key)
    if mod is None:
        mod = _modules[key] = lazy(key)
    return mod


def xp_of(*arrays):
    """``numpy``, or ``cupy`` when any of ``arrays`` lives on the GPU."""
    return cupy() if on_gpu(*arrays) else np
