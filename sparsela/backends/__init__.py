"""Compute backends: ``cpu`` (Numba) and ``gpu`` (CuPy), mirrored file for file."""

import importlib.util
import sys
from types import ModuleType

__all__ = ["lazy"]


def lazy(name: str) -> ModuleType:
    """The kernel module ``sparsela.backends.<name>``, loaded on first use.

    Kernel modules import Numba (about half a second); loading them when a
    kernel is first needed keeps ``import sparsela`` fast. Uses the standard
    library's :class:`importlib.util.LazyLoader`.
    """
    full = f"{__name__}.{name}"
    if full in sys.modules:
        return sys.modules[full]
    spec = importlib.util.find_spec(full)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[full] = module
    loader.exec_module(module)
    return module
