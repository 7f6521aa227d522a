"""GPU kernels of the extra products against their CPU twins and dense references.

``sparsela.backends.gpu.{sddmm,index,masked,semiring,topk}`` mirror the CPU
modules of the same names: every test calls the GPU function on device arrays
(CuPy on a GPU, the simulated device elsewhere; see ``tests/conftest.py``)
and the CPU function on the same NumPy arrays, and checks both against a
dense NumPy reference. Inputs are tiny: under the simulator every thread of
a block is a Python thread.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import assert_close, compressed_arrays, coo_triplets

from sparsela._device import cupy

SETTINGS = settings(max_examples=8, deadline=None)
FLOATS = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.complex128))


@pytest.fixture(scope="module")
def xp():
    return cupy()


def dev(xp, *arrays):
    return tuple(xp.asarray(a) for a in arrays)


def host(*arrays):
    return tuple(a.get() for a in arrays)


def csr_of(t):
    """(data, indices, indptr) of the triplets, duplicates and unsorted order kept."""
    return compressed_arrays(t, "row")


def dense_operand(rng, shape, dtype):
    dtype = np.dtype(dtype)
    x = rng.integers(-4, 5, size=shape) * (1 if dtype.kind in "iu" else 0.5)
    if dtype.kind == "c":
        x = x + 1j * rng.integers(-4, 5, size=shape) * 0.5
    return np.ascontiguousarray(x, dtype=dtype)


# --------------------------------------------------------------------------- #
# sddmm
# --------------------------------------------------------------------------- #
def sddmm_reference(Mp, Mj, X, Y):
    rows = np.repeat(np.arange(Mp.size - 1), np.diff(Mp))
    return (X @ Y.T)[rows, Mj[:Mp[-1]]] if X.shape[1] else np.zeros(int(Mp[-1]), X.dtype)


def check_sddmm(xp, Mp, Mj, X, Y):
    from sparsela.backends.cpu import sddmm as cpu
    from sparsela.backends.gpu import sddmm as gpu

    out = gpu.csr_sddmm(*dev(xp, Mp, Mj, X, Y)).get()
    ref = cpu.csr_sddmm(Mp, Mj, X, Y)
    assert out.dtype == ref.dtype == X.dtype
    assert_close(out, ref, X.dtype)
    assert_close(out, sddmm_reference(Mp, Mj, X, Y).astype(X.dtype), X.dtype)


@SETTINGS
@given(t=coo_triplets(dtypes=(np.float64,), max_dim=12, max_nnz=30),
       k=st.sampled_from([0, 1, 3, 5]),
       dt=st.sampled_from([np.float32, np.float64, np.complex128, np.int64]),
       seed=st.integers(0, 2**16))
def test_sddmm_random(xp, t, k, dt, seed):
    rng = np.random.default_rng(seed)
    _, Mj, Mp = csr_of(t)
    m, n = t.shape
    check_sddmm(xp, Mp, Mj, dense_operand(rng, (m, k), dt), dense_operand(rng, (n, k), dt))


@pytest.mark.parametrize("idx", [np.int32, np.int64])
def test_sddmm_edges(xp, idx):
    rng = np.random.default_rng(1)
    # empty rows (first, middle, last), repeats and unsorted columns, k > warp
    Mp = np.array([0, 0, 3, 3, 6, 6], dtype=idx)
    Mj = np.array([4, 0, 4, 2, 2, 1], dtype=idx)
    check_sddmm(xp, Mp, Mj, dense_operand(rng, (5, 37), np.float64),
                dense_operand(rng, (5, 37), np.float64))
    # nnz = 0, and 0 rows
    check_sddmm(xp, np.zeros(4, idx), np.zeros(0, idx), dense_operand(rng, (3, 2), np.float32),
                dense_operand(rng, (2, 2), np.float32))
    check_sddmm(xp, np.zeros(1, idx), np.zeros(0, idx), np.zeros((0, 3)), np.zeros((4, 3)))


def test_sddmm_not_conjugated(xp):
    Mp = np.array([0, 1], dtype=np.int32)
    Mj = np.array([0], dtype=np.int32)
    X = np.array([[1j, 2.0]])
    Y = np.array([[1j, 1.0]])
    from sparsela.backends.gpu import sddmm as gpu

    assert gpu.csr_sddmm(*dev(xp, Mp, Mj, X, Y)).get()[0] == 1.0  # 1j * 1j + 2


# --------------------------------------------------------------------------- #
# index (row gather)
# --------------------------------------------------------------------------- #
def check_row_gather(xp, Ax, Aj, Ap, rows):
    from sparsela.backends.cpu import index as cpu
    from sparsela.backends.gpu import index as gpu

    counts = (Ap[rows + 1] - Ap[rows]).astype(np.int64)
    Bp = np.zeros(rows.size + 1, dtype=Ap.dtype)
    np.cumsum(counts, out=Bp[1:])
    nnz = int(Bp[-1])
    Bj = np.empty(nnz, dtype=Aj.dtype)
    Bx = np.empty(nnz, dtype=Ax.dtype)
    cpu.csr_row_gather(Ap, Aj, Ax, rows, Bp, Bj, Bx)
    dAp, dAj, dAx, drows, dBp = dev(xp, Ap, Aj, Ax, rows, Bp)
    gBj = xp.empty(nnz, dtype=Aj.dtype)
    gBx = xp.empty(nnz, dtype=Ax.dtype)
    assert gpu.csr_row_gather(dAp, dAj, dAx, drows, dBp, gBj, gBx) is None
    np.testing.assert_array_equal(gBj.get(), Bj)
    np.testing.assert_array_equal(gBx.get(), Bx)
    # the reference: the same rows, entries in stored order
    ref_j = np.concatenate([Aj[Ap[r]:Ap[r + 1]] for r in rows] + [Aj[:0]])
    ref_x = np.concatenate([Ax[Ap[r]:Ap[r + 1]] for r in rows] + [Ax[:0]])
    np.testing.assert_array_equal(Bj, ref_j)
    np.testing.assert_array_equal(Bx, ref_x)
    # inputs untouched
    np.testing.assert_array_equal(dAj.get(), Aj)
    np.testing.assert_array_equal(dAx.get(), Ax)


@SETTINGS
@given(t=coo_triplets(max_dim=20, max_nnz=60), seed=st.integers(0, 2**16),
       n_sel=st.integers(0, 25))
def test_row_gather_random(xp, t, seed, n_sel):
    Ax, Aj, Ap = csr_of(t)
    m = t.shape[0]
    rows = (np.random.default_rng(seed).integers(0, m, n_sel) if m else
            np.zeros(0, np.int64)).astype(np.int64)
    check_row_gather(xp, Ax, Aj, Ap, rows)


@pytest.mark.parametrize("dt", [np.bool_, np.complex64, np.int32])
def test_row_gather_edges(xp, dt):
    Ap = np.array([0, 2, 2, 5, 5], dtype=np.int64)
    Aj = np.array([3, 1, 0, 0, 2], dtype=np.int64)
    Ax = np.array([1, 0, 2, 3, 0]).astype(dt)  # explicit zeros, a repeated column
    check_row_gather(xp, Ax, Aj, Ap, np.array([3, 1, 2, 0, 2, 1], dtype=np.int64))
    check_row_gather(xp, Ax, Aj, Ap, np.array([1, 3], dtype=np.int64))  # only empty rows
    check_row_gather(xp, Ax, Aj, Ap, np.zeros(0, dtype=np.int64))
