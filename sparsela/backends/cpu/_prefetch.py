"""Software prefetch for the kernels that read rows of an operand at random.

SpGEMM reads the row of B named by each entry of A, SpMM the row of X. When
those rows are scattered (random graphs, power-law graphs) every one is a
cache miss that the hardware prefetchers cannot foresee: they follow strides
within a page. The kernels then read A's column index a few entries ahead
and ask for that row (``llvm.prefetch``, which never faults and changes no
result), so several misses are in flight at once. When the rows are read in
order (meshes, banded matrices) the hardware streams them already, and the
extra instructions only cost time, so :func:`scattered_reads` decides from a
sample of A's entries.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ._jit import jit

__all__ = ["prefetch", "prefetch2", "scattered_reads", "worth_prefetching"]

#: Kernels prefetch only an operand of this many bytes or more: a smaller one
#: stays in the L2 cache once read.
MIN_BYTES = 1 << 20

#: Rows of A sampled by :func:`scattered_reads` (spread evenly over A).
SAMPLE_ROWS = 256
#: A read is *scattered* when it lands this many bytes or more from the row
#: the entry at the same position of the previous row of A read: past a page,
#: where the hardware prefetchers stop following a stream.
FAR_BYTES = 4096


def _codegen(context, builder, sig, args):
    # read prefetch (rw = 0) into every cache level (locality 3), data cache (1)
    # of arr[idx...]; declared with an i8* argument: the canonical name on
    # typed-pointer LLVM, which newer (opaque-pointer) LLVM upgrades to its own
    # when it loads the IR
    aryty = sig.args[0]
    ary = context.make_array(aryty)(context, builder, args[0])
    idx = [context.cast(builder, v, t, types.intp) for v, t in zip(args[1:], sig.args[1:])]
    ptr = cgutils.get_item_pointer(context, builder, aryty, ary, idx, wraparound=False)
    i8p = ir.IntType(8).as_pointer()
    i32 = ir.IntType(32)
    fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
    fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
    builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3),
                      ir.Constant(i32, 1)])
    return context.get_dummy_value()


@intrinsic
def prefetch(typingctx, arr, i):
    """Ask the cache for the line holding ``arr[i]`` (1-D ``arr``); no
    bounds check (a prefetch never faults) and no effect on any value."""
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and isinstance(i, types.Integer)):
        return None
    return types.void(arr, i), _codegen


@intrinsic
def prefetch2(typingctx, arr, i, j):
    """:func:`prefetch` of ``arr[i, j]`` for a 2-D ``arr``."""
    if not (isinstance(arr, types.Array) and arr.ndim == 2 and isinstance(i, types.Integer)
            and isinstance(j, types.Integer)):
        return None
    return types.void(arr, i, j), _codegen


@jit
def _far_fraction(Ap, Aj, row_bytes, far_bytes, sample_rows):
    # entry q of row i against entry min(q, len - 1) of row i - 1: a mesh or
    # band moves by a row or so, a random graph anywhere
    n_row = Ap.shape[0] - 1
    step = max(1, n_row // sample_rows)
    far = np.int64(0)
    total = np.int64(0)
    for i in range(1, n_row, step):
        p0 = Ap[i - 1]
        n0 = Ap[i] - p0
        if n0 == 0:
            continue
        for q in range(Ap[i + 1] - Ap[i]):
            d = abs(np.int64(Aj[Ap[i] + q]) - np.int64(Aj[p0 + min(q, n0 - 1)]))
            far += d * row_bytes >= far_bytes
            total += 1
    return far, total


def scattered_reads(Ap: np.ndarray, Aj: np.ndarray, row_bytes: float) -> bool:
    """Whether the rows that A's entries name are read in scattered order.

    Parameters
    ----------
    Ap, Aj : ndarray
        CSR index arrays of A: row ``i`` reads the rows ``Aj[Ap[i]:Ap[i + 1]]``
        of the other operand.
    row_bytes : float
        Average size in bytes of a row of the other operand.

    Returns
    -------
    bool
        True when most sampled entries read a row at least ``FAR_BYTES``
        away from the one read by the entry at the same position of the
        previous row: prefetching then pays.
    """
    far, total = _far_fraction(Ap, Aj, float(row_bytes), float(FAR_BYTES), SAMPLE_ROWS)
    return bool(2 * far > total)


def worth_prefetching(Ap: np.ndarray, Aj: np.ndarray, n_rows: int, nbytes: int) -> bool:
    """Whether a kernel that reads, for every entry of A, the row ``Aj[..]``
    of an operand of ``n_rows`` rows and ``nbytes`` bytes should prefetch
    those rows: the operand is large (``MIN_BYTES``) and read in scattered
    order (:func:`scattered_reads`)."""
    return bool(nbytes >= MIN_BYTES and n_rows > 0
                and scattered_reads(Ap, Aj, nbytes / n_rows))
