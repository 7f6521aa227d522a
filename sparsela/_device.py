"""Where arrays live: ``'cpu'`` (NumPy) or ``'gpu'`` (CuPy), and explicit moves.

Data lives where its arrays live; nothing here moves data unless asked to
(:func:`to_device`). CuPy is imported only when a GPU array is made or met,
so a CPU-only install never imports it.

Setting ``SPARSELA_GPU_SIMULATOR=1`` together with ``NUMBA_ENABLE_CUDASIM=1``
makes ``'gpu'`` a simulated device (``backends/gpu/_simulator.py``): device
arrays wrap NumPy buffers, refuse implicit conversion as CuPy does, and the
GPU kernels run in Numba's CUDA simulator. It exists to test the GPU code
path on machines without a GPU and is not meant for users.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = [
    "check_device",
    "cupy",
    "device_of",
    "is_gpu_array",
    "namespace",
    "namespace_of",
    "simulated",
    "to_device",
]

CPU_NAMES = ("cpu", "numpy")
GPU_NAMES = ("gpu", "cuda", "cupy")


def simulated() -> bool:
    """Whether ``'gpu'`` is the simulated device (tests on GPU-less machines)."""
    return os.environ.get("SPARSELA_GPU_SIMULATOR", "0") == "1"


def check_device(device, name: str = "device") -> str:
    """The canonical name, ``'cpu'`` or ``'gpu'``, of a device argument."""
    if isinstance(device, str):
        low = device.lower()
        if low in CPU_NAMES:
            return "cpu"
        if low in GPU_NAMES or low.startswith(("cuda:", "gpu:")):
            return "gpu"
    raise ValueError(f"{name} must be 'cpu' or 'gpu' (aliases 'numpy'; 'cuda', 'cupy'), "
                     f"got {device!r}")


def is_gpu_array(x) -> bool:
    """True for a CuPy array or cupyx sparse matrix (or a simulated device
    array), without importing CuPy."""
    if type(x) is np.ndarray:  # the common case, first: operators call this often
        return False
    mod = type(x).__module__.split(".")[0]
    return mod in ("cupy", "cupyx") or getattr(x, "_sparsela_simulated_device", False)


def as_array(x):
    """``(xp, arr)``: a device array as it is, with its array module (CuPy or
    the simulated one); anything else as a NumPy array, with NumPy."""
    if is_gpu_array(x):
        return cupy(), x
    return np, np.asarray(x)


def device_of(x) -> str:
    """``'gpu'`` for a CuPy array, a cupyx matrix or a sparsela array on the
    GPU, else ``'cpu'``."""
    dev = getattr(x, "device", None)  # a str for sparsela arrays (and NumPy's "cpu")
    return "gpu" if is_gpu_array(x) or (isinstance(dev, str) and dev == "gpu") else "cpu"


def cupy():
    """The device array module: ``cupy``, or the simulated one; clear errors otherwise."""
    if simulated():
        from .backends.gpu import _simulator

        return _simulator.xp
    try:
        import cupy as cp
    except ImportError as exc:
        raise ImportError(
            "the GPU backend needs CuPy: install sparsela[cuda12] or sparsela[cuda13] "
            "(the one matching your CUDA driver)"
        ) from exc
    try:
        ndev = cp.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError without a driver
        raise RuntimeError(f"CuPy is installed but no CUDA device is usable: {exc}") from exc
    if ndev < 1:
        raise RuntimeError("CuPy is installed but no CUDA device is visible")
    return cp


def namespace(device: str):
    """The array module of ``device``: ``numpy`` or ``cupy``."""
    return np if check_device(device) == "cpu" else cupy()


def namespace_of(*arrays):
    """The array module of ``arrays`` (``cupy`` when any lives on the GPU).

    Takes dense arrays and sparsela arrays (whose ``device`` says where
    their buffers live).
    """
    for a in arrays:
        if is_gpu_array(a) or getattr(a, "device", None) == "gpu":
            return cupy()
    return np


def to_device(a, device: str):
    """Dense array ``a`` on ``device`` (``a`` itself when it is there already)."""
    device = check_device(device)
    if device == "cpu":
        return a.get() if is_gpu_array(a) else np.asarray(a)
    if is_gpu_array(a):
        return a
    return cupy().asarray(np.asarray(a))


def same_device(name_a: str, a, name_b: str, b) -> str:
    """The device of ``a`` and ``b``; TypeError when they differ (no implicit moves)."""
    if type(a) is np.ndarray and type(b) is np.ndarray:  # the common case, first
        return "cpu"
    da, db = device_of(a), device_of(b)
    if da != db:
        raise mismatch(name_a, da, name_b, db)
    return da


def mismatch(name_a: str, device_a: str, name_b: str, device_b: str) -> TypeError:
    """The error for operands on different devices."""
    return TypeError(
        f"{name_a} is on the {device_a.upper()} and {name_b} on the {device_b.upper()}; "
        f"sparsela never moves data implicitly: move one with .to_device({device_a!r}) / "
        f".to_device({device_b!r}) (or .get() for a CuPy array)"
    )
