"""Numba threads inside Dask tasks: (Numba threads per task) x (Dask threads
on the host) <= cores.

A Dask worker runs ``nthreads`` tasks at once, and a host may run several
worker processes (``LocalCluster(n_workers=2, threads_per_worker=1)``). Each
sparsela kernel inside a task uses ``sparsela.get_num_threads()`` Numba
threads, all the cores by default: without a cap, 2 workers x 1 thread x
``cores`` Numba threads oversubscribe the machine ``2x``. Every task of
:mod:`sparsela.dask` runs its kernels under ``sparsela.config_context``
with ``max(1, cores // dask_threads_on_this_host)`` threads, where

* ``cores`` is what this process may run on (``os.sched_getaffinity``), read
  inside the task, on the worker;
* ``dask_threads_on_this_host`` is the sum of ``nthreads`` of the workers
  on the task's host, read from the scheduler when the graph is built
  (:func:`plan`), or, outside ``dask.distributed``, the threaded scheduler's
  pool size.

Numba's ``omp`` and ``tbb`` threading layers may be entered from several
Dask threads at once; ``workqueue`` may not (Numba aborts), so with
``threads_per_worker > 1`` install ``tbb`` or an OpenMP runtime, or give
every task one thread (``num_threads=1``).
"""
from __future__ import annotations

import contextlib
import os

__all__ = ["configure_workers", "plan", "task_context", "task_threads"]


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _host(address: str) -> str:
    """The host part of a Dask address (``tcp://127.0.0.1:4321`` -> ``127.0.0.1``)."""
    addr = address.split("://", 1)[-1]
    if addr.startswith("["):  # IPv6
        return addr[1:addr.index("]")]
    return addr.rsplit(":", 1)[0]


def _client():
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:
        return None


def plan(num_threads: int | None = None, client=None) -> dict:
    """How many Numba threads the tasks of a graph should use (see the module docstring).

    Parameters
    ----------
    num_threads : int, optional
        Use this many in every task (no planning).
    client : distributed.Client, optional
        Default: the current client if there is one.

    Returns
    -------
    dict
        ``{"fixed": n}`` or ``{"hosts": {host: dask threads on it}}`` (empty
        for the local threaded scheduler), a small argument for every task.
    """
    if num_threads is not None:
        n = int(num_threads)
        if n < 1:
            raise ValueError(f"num_threads must be >= 1, got {num_threads}")
        return {"fixed": n}
    client = client if client is not None else _client()
    hosts: dict[str, int] = {}
    if client is not None:
        try:
            workers = client.scheduler_info(n_workers=-1)["workers"]
        except TypeError:  # older distributed: no n_workers argument
            workers = client.scheduler_info()["workers"]
        for addr, info in workers.items():
            h = info.get("host") or _host(addr)
            hosts[h] = hosts.get(h, 0) + int(info.get("nthreads", 1))
    return {"hosts": hosts}


def task_threads(p: dict | None) -> int:
    """Numba threads for the task running now, from a :func:`plan`."""
    import numba

    limit = int(numba.config.NUMBA_NUM_THREADS)
    if p and "fixed" in p:
        return max(1, min(int(p["fixed"]), limit))
    cores = _cores()
    dask_threads = None
    try:
        from distributed import get_worker

        w = get_worker()
    except (ImportError, ValueError):
        w = None
    if w is not None:
        hosts = (p or {}).get("hosts", {})
        dask_threads = hosts.get(_host(w.address)) or int(w.state.nthreads)
    else:
        import dask

        pool = dask.config.get("num_workers", None)
        scheduler = dask.config.get("scheduler", None)
        if scheduler in ("sync", "synchronous", "single-threaded"):
            dask_threads = 1
        else:
            dask_threads = int(pool) if pool else cores
    return max(1, min(cores // max(1, dask_threads), limit))


@contextlib.contextmanager
def task_context(p: dict | None):
    """``sparsela.config_context(num_threads=task_threads(p))`` for a task body."""
    from .._config import config_context

    n = task_threads(p)
    with config_context(num_threads=n):
        yield n


try:
    from distributed import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - dask without distributed
    _WorkerPlugin = object


class SparselaWorkerPlugin(_WorkerPlugin):
    """Load :mod:`sparsela.dask` on a worker and cap its default sparsela threads.

    Parameters
    ----------
    num_threads : int or None
        Threads per worker; ``None``: ``cores // (Dask threads on its host)``.
    hosts : dict
        ``{host: Dask threads on it}`` from :func:`plan`.
    """

    name = "sparsela-dask"

    def __init__(self, num_threads=None, hosts=None):
        self.num_threads = num_threads
        self.hosts = dict(hosts or {})

    def setup(self, worker):
        """Run on each worker when it starts (and when the plugin is registered).

        Parameters
        ----------
        worker : distributed.Worker
            The worker being set up.
        """
        import numba

        import sparsela.dask  # noqa: F401  (chunk type, shims, kernels, pickling)

        from .._config import set_num_threads

        n = self.num_threads
        if n is None:
            dask_threads = self.hosts.get(_host(worker.address)) or worker.state.nthreads
            n = max(1, _cores() // max(1, int(dask_threads)))
        n = max(1, min(int(n), int(numba.config.NUMBA_NUM_THREADS)))
        os.environ["SPARSELA_NUM_THREADS"] = str(n)
        set_num_threads(n)


def _env_threads() -> int:
    return int(os.environ["SPARSELA_NUM_THREADS"])


def configure_workers(client=None, num_threads: int | None = None) -> dict:
    """Prepare every worker of a ``distributed`` cluster for sparsela, now and after restarts.

    Registers a worker plugin that imports :mod:`sparsela.dask` on each
    worker (chunk type, shims, kernels) and sets the worker's default thread
    count for sparsela kernels (``SPARSELA_NUM_THREADS``) to
    ``cores // (Dask threads on its host)``, so that Dask operations on
    sparsela chunks outside :mod:`sparsela.dask`'s own tasks (``x.sum()``,
    ``map_blocks``...) do not oversubscribe the host either.

    Parameters
    ----------
    client : distributed.Client, optional
        Default: the current client.
    num_threads : int, optional
        Threads per worker instead of the computed share.

    Returns
    -------
    dict
        ``{worker address: sparsela thread count}`` of the current workers.
    """
    client = client if client is not None else _client()
    if client is None:
        raise ValueError("configure_workers needs a distributed Client (none is running)")
    p = plan(num_threads, client)
    client.register_plugin(SparselaWorkerPlugin(num_threads, p.get("hosts", {})))
    return client.run(_env_threads)
