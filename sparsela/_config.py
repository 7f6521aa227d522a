"""Global configuration: thread count and default backend.

Settings live in a :class:`contextvars.ContextVar` so that ``config_context``
nests and stays local to a thread or asyncio task, as scikit-learn's
``config_context`` does.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator

__all__ = [
    "backend",
    "config_context",
    "get_config",
    "get_num_threads",
    "set_config",
    "set_num_threads",
]

_BACKENDS = ("cpu", "gpu", "cusparse")


def _default_threads() -> int:
    env = os.environ.get("SPARSELA_NUM_THREADS")
    if env:
        return _check_threads(int(env))
    import numba

    return int(numba.config.NUMBA_NUM_THREADS)


def _check_threads(n) -> int:
    import numba

    if isinstance(n, bool) or not isinstance(n, (int,)) and not hasattr(n, "__index__"):
        raise TypeError(f"num_threads must be a positive integer, got {n!r}")
    n = int(n)
    limit = int(numba.config.NUMBA_NUM_THREADS)
    if n < 1:
        raise ValueError(f"num_threads must be >= 1, got {n}")
    if n > limit:
        raise ValueError(
            f"num_threads must be <= {limit} (NUMBA_NUM_THREADS, the size of "
            f"Numba's thread pool), got {n}"
        )
    return n


def _check_backend(name) -> str:
    if name == "cupy":
        name = "gpu"
    if name == "numba" or name == "numpy":
        name = "cpu"
    if name not in _BACKENDS:
        raise ValueError(
            "backend must be one of 'cpu' (alias 'numba'), 'gpu' (alias 'cupy') or "
            f"'cusparse', got {name!r}"
        )
    return name


_config: contextvars.ContextVar[dict] = contextvars.ContextVar("sparsela_config")


def _current() -> dict:
    try:
        return _config.get()
    except LookupError:
        cfg = {"num_threads": _default_threads(), "backend": "cpu"}
        _config.set(cfg)
        return cfg


def get_config() -> dict:
    """Return a copy of the current configuration.

    Returns
    -------
    dict
        Keys ``num_threads`` (int) and ``backend`` (``'cpu'``, ``'gpu'`` or
        ``'cusparse'``).
    """
    return dict(_current())


def set_config(*, num_threads: int | None = None, backend: str | None = None) -> None:
    """Set configuration values globally for the current context.

    Parameters
    ----------
    num_threads : int, optional
        Number of threads the CPU kernels use (1 .. ``NUMBA_NUM_THREADS``).
    backend : {'cpu', 'gpu', 'cusparse'}, optional
        Backend (aliases ``'numba'``/``'numpy'`` for ``'cpu'``, ``'cupy'``
        for ``'gpu'``). Operations run where their arrays live whatever
        this says: data is never moved implicitly. ``'cusparse'`` makes
        products of arrays on the GPU (SpGEMM, SpMM, SpMV) run through
        cuSPARSE (``cupyx.scipy.sparse``) instead of sparsela's own CUDA
        kernels, as a baseline; ``'cpu'`` and ``'gpu'`` use sparsela's
        kernels of the arrays' device.

    Raises
    ------
    TypeError
        If ``num_threads`` is not an integer.
    ValueError
        If ``num_threads`` is not between 1 and ``NUMBA_NUM_THREADS``, or
        ``backend`` is not a known name.
    """
    cfg = dict(_current())
    if num_threads is not None:
        cfg["num_threads"] = _check_threads(num_threads)
    if backend is not None:
        cfg["backend"] = _check_backend(backend)
    _config.set(cfg)


@contextlib.contextmanager
def config_context(*, num_threads: int | None = None, backend: str | None = None) -> Iterator[None]:
    """Temporarily change the configuration (see :func:`set_config`).

    The previous configuration is restored on exit, also when the block
    raises. Contexts nest and are local to the thread or asyncio task.

    Parameters
    ----------
    num_threads : int, optional
        Number of threads the CPU kernels use inside the block
        (1 .. ``NUMBA_NUM_THREADS``); unchanged when None.
    backend : {'cpu', 'gpu', 'cusparse'}, optional
        Backend inside the block (see :func:`set_config`); unchanged when
        None.

    Yields
    ------
    None
        The block runs with the changed configuration.

    Raises
    ------
    TypeError, ValueError
        For an invalid ``num_threads`` or ``backend``, on entry.

    Examples
    --------
    >>> import sparsela as sl
    >>> with sl.config_context(num_threads=1):
    ...     sl.get_num_threads()
    1
    """
    token = _config.set(dict(_current()))
    try:
        set_config(num_threads=num_threads, backend=backend)
        yield
    finally:
        _config.reset(token)


def set_num_threads(n: int) -> None:
    """Set the number of threads used by the CPU kernels.

    Same as ``set_config(num_threads=n)``.

    Parameters
    ----------
    n : int
        Number of threads, from 1 to ``NUMBA_NUM_THREADS`` (the size of
        Numba's thread pool).

    Raises
    ------
    TypeError
        If ``n`` is not an integer.
    ValueError
        If ``n`` is out of range.
    """
    set_config(num_threads=n)


def get_num_threads() -> int:
    """Return the number of threads the CPU kernels use.

    Returns
    -------
    int
        The configured thread count: by default the environment variable
        ``SPARSELA_NUM_THREADS`` when set, else ``NUMBA_NUM_THREADS``.
    """
    return _current()["num_threads"]


def backend(name: str):
    """Context manager selecting the default backend.

    ``with sparsela.backend("cupy"): ...`` is ``config_context(backend="gpu")``.

    Parameters
    ----------
    name : {'cpu', 'gpu', 'cusparse', 'numba', 'numpy', 'cupy'}
        Backend name; ``'numba'`` and ``'numpy'`` are aliases of ``'cpu'``,
        ``'cupy'`` of ``'gpu'``.

    Returns
    -------
    contextlib.AbstractContextManager
        The :func:`config_context` that sets the backend on entry and
        restores the previous configuration on exit.
    """
    return config_context(backend=name)
