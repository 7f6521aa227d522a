"""Progress bars for long fits (``verbose``)."""
from __future__ import annotations

import sys

__all__ = ["progress"]


class _Plain:
    """A minimal text bar used when tqdm is not installed."""

    def __init__(self, total, desc):
        self.total, self.desc, self.n = total, desc, 0

    def update(self, k=1):
        self.n += k
        if self.total and (self.n == self.total or self.n % max(self.total // 20, 1) == 0):
            sys.stderr.write(f"\r{self.desc}: {self.n}/{self.total}")
            sys.stderr.flush()

    def set_postfix(self, **kw):
        pass

    def close(self):
        sys.stderr.write("\n")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Null:
    def update(self, k=1):
        pass

    def set_postfix(self, **kw):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def progress(total: int | None, verbose, desc: str = ""):
    """A progress bar over ``total`` steps, or a no-op when ``verbose`` is falsy.

    Uses tqdm when installed (``pip install tqdm``), a plain stderr counter
    otherwise. Use as a context manager and call ``update()`` per iteration;
    ``set_postfix(gap=...)`` shows the current convergence measure.

    Parameters
    ----------
    total : int or None
        Number of steps (``max_iter``).
    verbose : bool or int
        Show the bar when truthy.
    desc : str, default ""
        Label (usually the estimator's name).

    Returns
    -------
    object
        A context manager with ``update(k=1)``, ``set_postfix(**kw)`` and
        ``close()``: a ``tqdm`` bar writing to stderr (removed when done),
        a plain stderr counter when tqdm is missing, or an object whose
        methods do nothing when ``verbose`` is falsy.
    """
    if not verbose:
        return _Null()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _Plain(total, desc)
    return tqdm(total=total, desc=desc, leave=False, file=sys.stderr)
