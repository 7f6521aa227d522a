"""Compute backends: ``cpu`` (Numba) and ``gpu`` (CuPy), mirrored file for file."""

import importlib
import sys
import threading
from types import ModuleType

__all__ = ["lazy"]

# One lock for every first load of a kernel module. Reentrant, so that a kernel
# module whose import needs another lazily loaded one cannot deadlock.
_LOAD_LOCK = threading.RLock()


class _LazyModule:
    """Stand-in for a kernel module that is imported on first attribute access.

    Not a module and not in ``sys.modules``: ``import sparsela`` registers
    nothing under ``sparsela.backends.cpu.*`` until a kernel is needed.
    Every attribute is read from the real module, so a test that
    monkeypatches a kernel module is seen through the stand-in too.

    The standard library's :class:`importlib.util.LazyLoader` is not used:
    on Python < 3.12 two threads touching a module it is still executing see
    a half-initialised module (CPython gh-114763); Dask's threaded scheduler
    hit ``AttributeError: module 'sparsela.backends.cpu.canonical' has no
    attribute ...``. Here the first access imports the module with a plain
    import under :data:`_LOAD_LOCK`, and no thread gets the module before
    its import has finished.
    """

    __slots__ = ("_full", "_module")

    def __init__(self, full: str):
        self._full = full
        self._module = None

    def _load(self) -> ModuleType:
        module = self._module
        if module is None:
            with _LOAD_LOCK:
                module = self._module
                if module is None:
                    module = importlib.import_module(self._full)
                    self._module = module
        return module

    def __getattr__(self, attr: str):
        # only called for names that are not slots: the module's attributes
        return getattr(self._load(), attr)

    def __dir__(self):
        return dir(self._load())

    def __repr__(self) -> str:
        state = "loaded" if self._module is not None else "not loaded yet"
        return f"<lazy kernel module {self._full!r} ({state})>"


def lazy(name: str):
    """The kernel module ``sparsela.backends.<name>``, loaded on first use.

    Kernel modules import Numba (about half a second); loading them when a
    kernel is first needed keeps ``import sparsela`` fast. Safe to use from
    several threads at once: the first attribute access imports the module
    under a lock, and every thread sees the module only once its import has
    finished.

    Parameters
    ----------
    name : str
        Module path below ``sparsela.backends``, e.g. ``"cpu.spgemm"``.

    Returns
    -------
    module or stand-in
        The module itself when it is already imported; otherwise a stand-in
        whose attributes are those of the module, imported on first access.
    """
    full = f"{__name__}.{name}"
    if full in sys.modules:
        # already imported, or being imported by another thread: import_module
        # returns it once its import has finished (it waits on the module's
        # import lock), never half-initialised
        return importlib.import_module(full)
    return _LazyModule(full)
