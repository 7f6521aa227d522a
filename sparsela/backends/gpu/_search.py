"""Binary searches shared by the GPU kernels (device functions, inlined).

Every kernel that gives a thread to an entry (or a product) and needs the
row it belongs to, or the rank of a column in a sorted row, searches with
these two, so the search is written once.
"""
from __future__ import annotations

from . import _cuda

__all__ = ["last_le", "lower_bound"]


@_cuda.device
def last_le(a, n, v):
    """The last index ``q < n`` with ``a[q] <= v`` (``a[:n]`` nondecreasing,
    ``a[0] <= v``).

    With ``a`` the row pointers of ``n`` rows and ``a[0] <= v < a[n]`` this is
    the row holding entry ``v`` (empty rows skipped). The top levels of the
    search read the same few entries of ``a`` in every thread (cached).
    """
    lo = 0
    hi = n - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[mid] <= v:
            lo = mid
        else:
            hi = mid - 1
    return lo


@_cuda.device
def lower_bound(a, lo, hi, v):
    """The first ``q`` in ``[lo, hi)`` with ``a[q] >= v``, ``hi`` if none
    (``a[lo:hi]`` sorted); ``v`` is stored there when ``q < hi and a[q] == v``."""
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo
