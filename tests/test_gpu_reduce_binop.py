"""GPU reduction and elementwise-merge kernels against their CPU twins and NumPy.

``sparsela.backends.gpu.{reduce,binop}`` mirror ``backends/cpu/{reduce,binop}``:
each test calls the GPU function on device arrays (CuPy on a GPU, the
simulated device elsewhere, see ``tests/conftest.py``) and the CPU function
of the same name on the same NumPy arrays, and checks both against NumPy on
the dense array. Inputs are tiny: under the simulator every thread of a
block is a Python thread.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import assert_close, compressed_arrays, coo_triplets

from sparsela._device import cupy

SETTINGS = settings(max_examples=6, deadline=None)
#: value dtypes of the sums (bool and small ints sum into int64, as NumPy)
SUM_DTYPES = tuple(np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128,
                                         np.int32, np.int64, np.bool_, np.int8))
#: value dtypes of max/min (bool arrays arrive as their uint8 view); no float16:
#: the CPU kernels (Numba) do not take it
EXT_DTYPES = tuple(np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int64, np.uint8,
                                         np.int16))
INDEX = (np.dtype(np.int32), np.dtype(np.int64))


@pytest.fixture(scope="module")
def xp():
    return cupy()


def dev(xp, *arrays):
    return tuple(xp.asarray(a) for a in arrays)


def sum_dtype(dt):
    return np.zeros(1, dtype=dt).sum().dtype


def canonical(t, dtype=None):
    """Canonical CSR arrays (sorted, duplicates summed, explicit zeros kept) of triplets."""
    data = t.data if dtype is None else t.data.astype(dtype)
    A = sp.coo_array((data, (t.row.astype(np.int64), t.col.astype(np.int64))), shape=t.shape)
    A = A.tocsr()
    A.sum_duplicates()
    A.sort_indices()
    idx = t.row.dtype
    return A.data, A.indices.astype(idx), A.indptr.astype(idx)


# --------------------------------------------------------------------------- #
# sums
# --------------------------------------------------------------------------- #
def check_sums(xp, data, indices, indptr, shape, dense):
    from sparsela.backends.cpu import reduce as cpu
    from sparsela.backends.gpu import reduce as gpu

    m, n = shape
    acc = sum_dtype(data.dtype)
    d_ptr, d_idx, d_data = dev(xp, indptr, indices, data)
    rows_cpu = np.zeros(m, dtype=acc)
    cpu.csr_row_sums(indptr, data, rows_cpu)
    d_rows = xp.zeros(m, dtype=acc)
    gpu.csr_row_sums(d_ptr, d_data, d_rows)
    cols_cpu = np.zeros(n, dtype=acc)
    cpu.csr_col_sums(indices, data, cols_cpu)
    d_cols = xp.zeros(n, dtype=acc)
    gpu.csr_col_sums(d_idx, d_data, d_cols)
    assert_close(d_rows.get(), rows_cpu, acc)
    assert_close(d_cols.get(), cols_cpu, acc)
    assert_close(d_rows.get(), dense.sum(axis=1, dtype=acc), acc)
    assert_close(d_cols.get(), dense.sum(axis=0, dtype=acc), acc)
    np.testing.assert_array_equal(d_data.get(), data)


@SETTINGS
@given(t=coo_triplets(dtypes=SUM_DTYPES, max_dim=30, max_nnz=150, bool_duplicates=True))
def test_sums_random(xp, t):
    data, indices, indptr = compressed_arrays(t, "row")
    dense = np.zeros(t.shape, dtype=sum_dtype(t.dtype))
    np.add.at(dense, (t.row, t.col), t.data.astype(dense.dtype))
    check_sums(xp, data, indices, indptr, t.shape, dense)


def fixed_arrays(dtype, index, shape=(6, 5)):
    """Non-canonical CSR: empty rows, duplicates, unsorted columns, explicit zeros."""
    rows = np.array([0, 0, 0, 2, 2, 2, 3, 5, 5, 5, 5])
    cols = np.array([3, 1, 3, 4, 0, 2, 2, 4, 0, 1, 0])
    vals = np.array([1, -2, 3, 0, 4, -1, 2, 1, 1, -3, 2]).astype(dtype)
    indptr = np.zeros(shape[0] + 1, dtype=index)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    dense = np.zeros(shape, dtype=sum_dtype(dtype))
    np.add.at(dense, (rows, cols), vals.astype(dense.dtype))
    return vals, cols.astype(index), indptr, dense


@pytest.mark.parametrize("index", INDEX, ids=str)
@pytest.mark.parametrize("dtype", SUM_DTYPES, ids=str)
def test_sums_dtypes(xp, dtype, index):
    vals, cols, indptr, dense = fixed_arrays(dtype, index)
    check_sums(xp, vals, cols, indptr, (6, 5), dense)


@pytest.mark.parametrize("shape", [(0, 0), (0, 4), (4, 0), (3, 4)], ids=str)
def test_sums_empty(xp, shape):
    indptr = np.zeros(shape[0] + 1, dtype=np.int32)
    check_sums(xp, np.zeros(0, dtype=np.complex128), np.zeros(0, dtype=np.int32), indptr, shape,
               np.zeros(shape, dtype=np.complex128))


def test_row_sums_long_rows(xp):
    """Rows long enough for a 32-thread group, an empty row, and accumulation into out."""
    from sparsela.backends.gpu import reduce as gpu

    rng = np.random.default_rng(0)
    lens = np.array([40, 0, 70, 33])
    indptr = np.concatenate(([0], np.cumsum(lens))).astype(np.int64)
    data = rng.integers(-5, 6, size=indptr[-1]).astype(np.float64)
    out = xp.asarray(np.arange(4.0))  # the kernel adds into out, as the CPU's
    gpu.csr_row_sums(xp.asarray(indptr), xp.asarray(data), out)
    expected = np.arange(4.0) + np.add.reduceat(data, indptr[:-1]) * (lens > 0)
    np.testing.assert_array_equal(out.get(), expected)


# --------------------------------------------------------------------------- #
# max / min
# --------------------------------------------------------------------------- #
def extreme_reference(data, indices, indptr, shape, axis, take_max, explicit):
    """NumPy on the dense array (implicit zeros seen) or over stored values only."""
    m, n = shape
    if not explicit:
        dense = np.zeros(shape, dtype=data.dtype)
        dense[np.repeat(np.arange(m), np.diff(indptr)), indices] = data
        f = np.max if take_max else np.min
        if dense.shape[axis] == 0:
            return np.zeros(shape[1 - axis], dtype=data.dtype)
        with np.errstate(invalid="ignore"):
            return f(dense, axis=axis)
    rows = np.repeat(np.arange(m), np.diff(indptr))
    major = rows if axis == 1 else indices
    out = np.zeros(shape[0] if axis == 1 else shape[1], dtype=data.dtype)
    for j in range(out.size):
        v = data[major == j]
        if v.size:
            out[j] = np.max(v) if take_max else np.min(v)
    return out


def check_extremes(xp, data, indices, indptr, shape):
    from sparsela.backends.cpu import reduce as cpu
    from sparsela.backends.gpu import reduce as gpu

    m, n = shape
    dt = data.dtype
    d_ptr, d_idx, d_data = dev(xp, indptr, indices, data)
    for take_max in (True, False):
        for explicit in (False, True):
            rows_cpu = np.zeros(m, dtype=dt)
            cpu.csr_row_extreme(indptr, data, 0 if explicit else n, take_max, rows_cpu)
            d_rows = xp.zeros(m, dtype=dt)
            gpu.csr_row_extreme(d_ptr, d_data, 0 if explicit else n, take_max, d_rows)
            cols_cpu = np.zeros(n, dtype=dt)
            count_cpu = np.zeros(n, dtype=np.int64)
            cpu.csr_col_extreme(indices, data, 0 if explicit else m, take_max, count_cpu,
                                cols_cpu)
            d_cols = xp.zeros(n, dtype=dt)
            d_count = xp.zeros(n, dtype=np.int64)
            gpu.csr_col_extreme(d_idx, d_data, 0 if explicit else m, take_max, d_count, d_cols)
            what = f"max={take_max} explicit={explicit}"
            # max/min are exact: same values (NaN where NaN) as the CPU kernels
            np.testing.assert_array_equal(d_rows.get(), rows_cpu, err_msg=what)
            np.testing.assert_array_equal(d_cols.get(), cols_cpu, err_msg=what)
            np.testing.assert_array_equal(d_count.get(), count_cpu, err_msg=what)
            np.testing.assert_array_equal(
                d_rows.get(), extreme_reference(data, indices, indptr, shape, 1, take_max,
                                                explicit), err_msg=what)
            np.testing.assert_array_equal(
                d_cols.get(), extreme_reference(data, indices, indptr, shape, 0, take_max,
                                                explicit), err_msg=what)


@SETTINGS
@given(t=coo_triplets(dtypes=EXT_DTYPES[:4], max_dim=25, max_nnz=120),
       nan=st.booleans())
def test_extremes_random(xp, t, nan):
    data, indices, indptr = canonical(t)
    if nan and data.dtype.kind == "f" and data.size:
        data = data.copy()
        data[::3] = np.nan
    check_extremes(xp, data, indices, indptr, t.shape)


@pytest.mark.parametrize("index", INDEX, ids=str)
@pytest.mark.parametrize("dtype", EXT_DTYPES, ids=str)
def test_extremes_dtypes(xp, dtype, index):
    vals, cols, indptr, _ = fixed_arrays(dtype, index)
    wide = np.float64 if np.dtype(dtype).kind == "f" else np.int64  # SciPy lacks float16
    A = sp.csr_array((vals.astype(wide), cols, indptr), shape=(6, 5))
    A.sum_duplicates()  # canonical, explicit zeros kept; integer sums wrap back on the cast
    check_extremes(xp, A.data.astype(dtype), A.indices.astype(index), A.indptr.astype(index),
                   (6, 5))


def test_extremes_nan_and_full_rows(xp):
    """NaN propagates; full rows/columns do not see an implicit zero; explicit zeros count."""
    rows = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    cols = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2])
    vals = np.array([-1.0, -2.0, -3.0, np.nan, 1.0, 0.0, 4.0, 5.0, -6.0])  # (1, 2) explicit 0
    indptr = np.array([0, 3, 6, 9, 9])  # row 3 empty
    check_extremes(xp, vals, cols, indptr, (4, 3))


@pytest.mark.parametrize("take_max", [True, False])
def test_row_extreme_long_rows_same_bits(xp, take_max):
    """Groups of up to 32 threads per row keep the entry the CPU loop keeps:
    the first of tied zeros (0.0 vs -0.0) and the first NaN (its payload)."""
    from sparsela.backends.cpu import reduce as cpu
    from sparsela.backends.gpu import reduce as gpu

    rng = np.random.default_rng(7)
    n_col = 80
    lens = np.array([45, 0, 80, 37, 50])
    indptr = np.concatenate(([0], np.cumsum(lens))).astype(np.int32)
    indices = np.concatenate([rng.choice(n_col, k, replace=False) for k in lens]).astype(np.int32)
    data = -rng.integers(1, 5, size=indptr[-1]).astype(np.float64)
    data[indptr[0] + 5], data[indptr[0] + 30] = -0.0, 0.0  # row 0: tie of zeros
    data[indptr[2] + 3], data[indptr[2] + 40] = 0.0, -0.0  # row 2 is full: no implicit 0
    data[indptr[2] + 20] = 5.0
    data[indptr[2] + 21] = 5.0
    neg_nan = -np.float64(np.nan)
    data[indptr[3] + 33], data[indptr[3] + 2] = np.nan, neg_nan  # row 3: first NaN is -nan
    for n in (0, n_col):
        out_cpu = np.zeros(5)
        cpu.csr_row_extreme(indptr, data, n, take_max, out_cpu)
        d_out = xp.zeros(5)
        gpu.csr_row_extreme(xp.asarray(indptr), xp.asarray(data), n, take_max, d_out)
        np.testing.assert_array_equal(d_out.get().view(np.int64), out_cpu.view(np.int64))


@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (3, 0), (2, 3)], ids=str)
def test_extremes_empty(xp, shape):
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    check_extremes(xp, np.zeros(0), np.zeros(0, dtype=np.int64), indptr, shape)


# --------------------------------------------------------------------------- #
# diagonal
# --------------------------------------------------------------------------- #
def check_diagonal(xp, data, indices, indptr, shape, dense):
    from sparsela.backends.cpu import reduce as cpu
    from sparsela.backends.gpu import reduce as gpu

    m, n = shape
    d = dev(xp, indptr, indices, data)
    for k in sorted({0, 1, -1, 2, -3, n - 1, 1 - m}):
        length = max(0, min(m + min(k, 0), n - max(k, 0)))
        out_cpu = np.zeros(length, dtype=data.dtype)
        if length:  # the ops layer calls the kernel only for a non-empty diagonal
            cpu.csr_diagonal(indptr, indices, data, k, out_cpu)
        d_out = xp.zeros(length, dtype=data.dtype)
        gpu.csr_diagonal(*d, k, d_out)
        assert_close(d_out.get(), out_cpu, data.dtype, err_msg=f"k={k}")
        assert_close(d_out.get(), np.diagonal(dense, k).astype(data.dtype), data.dtype,
                     err_msg=f"k={k}")


@SETTINGS
@given(t=coo_triplets(dtypes=SUM_DTYPES[:6], max_dim=25, max_nnz=120))
def test_diagonal_random(xp, t):
    data, indices, indptr = compressed_arrays(t, "row")  # duplicates, unsorted
    check_diagonal(xp, data, indices, indptr, t.shape, t.dense())


@pytest.mark.parametrize("index", INDEX, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.complex128, np.int64, np.uint8], ids=str)
def test_diagonal_dtypes(xp, dtype, index):
    vals, cols, indptr, dense = fixed_arrays(dtype, index)
    check_diagonal(xp, vals, cols, indptr, (6, 5), dense)


# --------------------------------------------------------------------------- #
# elementwise merge (union / intersection of canonical rows)
# --------------------------------------------------------------------------- #
def check_merge(xp, a, b, shape):
    from sparsela.backends.cpu import binop as cpu
    from sparsela.backends.gpu import binop as gpu

    (Ax, Aj, Ap), (Bx, Bj, Bp) = a, b
    m = shape[0]
    dA = dev(xp, Ap, Aj)
    dB = dev(xp, Bp, Bj)
    for intersect in (False, True):
        counts_cpu = np.empty(m, dtype=np.int64)
        cpu.csr_merge_count(Ap, Aj, Bp, Bj, intersect, counts_cpu)
        d_counts = xp.asarray(np.full(m, -5, dtype=np.int64))
        gpu.csr_merge_count(*dA, *dB, intersect, d_counts)
        np.testing.assert_array_equal(d_counts.get(), counts_cpu)
        Cp = np.zeros(m + 1, dtype=Ap.dtype)
        np.cumsum(counts_cpu, out=Cp[1:])
        nnz = int(Cp[-1])
        outs_cpu = (np.empty(nnz, dtype=Cp.dtype), np.empty(nnz, dtype=np.int64),
                    np.empty(nnz, dtype=np.int64))
        cpu.csr_merge_fill(Ap, Aj, Bp, Bj, intersect, Cp, *outs_cpu)
        d_outs = dev(xp, *(np.full_like(o, -7) for o in outs_cpu))
        gpu.csr_merge_fill(*dA, *dB, intersect, xp.asarray(Cp), *d_outs)
        Cj, ia, ib = (o.get() for o in d_outs)
        for got, want in zip((Cj, ia, ib), outs_cpu):
            np.testing.assert_array_equal(got, want)
        # the structure is SciPy's: the union (intersection) of the stored positions
        a_pos = sp.csr_array((np.ones(Aj.size), Aj, Ap), shape=shape)
        b_pos = sp.csr_array((np.ones(Bj.size), Bj, Bp), shape=shape)
        ref = (a_pos.multiply(b_pos) if intersect else a_pos + b_pos).tocsr()
        ref.sort_indices()
        np.testing.assert_array_equal(Cp, ref.indptr)
        np.testing.assert_array_equal(Cj, ref.indices)
        # and the recorded sources point at the right entries
        rows = np.repeat(np.arange(m), np.diff(Cp))
        for src, (Xj, Xp) in ((ia, (Aj, Ap)), (ib, (Bj, Bp))):
            have = src >= 0
            np.testing.assert_array_equal(Xj[src[have]], Cj[have])
            assert ((src[have] >= Xp[rows[have]]) & (src[have] < Xp[rows[have] + 1])).all()
            if intersect:
                assert have.all()


@SETTINGS
@given(t=coo_triplets(dtypes=(np.dtype(np.float64),), max_dim=25, max_nnz=120),
       seed=st.integers(0, 2**16), index_b=st.sampled_from(INDEX))
def test_merge_random(xp, t, seed, index_b):
    rng = np.random.default_rng(seed)
    m, n = t.shape
    B = sp.random(m, n, density=rng.choice([0.0, 0.2, 0.6]), random_state=rng, format="csr")
    b = (B.data, B.indices.astype(index_b), B.indptr.astype(index_b))
    check_merge(xp, canonical(t), b, t.shape)


@pytest.mark.parametrize("shape", [(0, 0), (0, 4), (4, 0), (3, 4)], ids=str)
def test_merge_empty(xp, shape):
    empty = (np.zeros(0), np.zeros(0, dtype=np.int32), np.zeros(shape[0] + 1, dtype=np.int32))
    check_merge(xp, empty, empty, shape)


def test_merge_disjoint_and_equal_rows(xp):
    A = sp.csr_array(np.array([[1, 0, 2, 0], [0, 0, 0, 0], [1, 1, 1, 1], [0, 3, 0, 0]]))
    B = sp.csr_array(np.array([[0, 5, 0, 6], [7, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]]))
    a = (A.data, A.indices.astype(np.int64), A.indptr.astype(np.int64))
    b = (B.data, B.indices, B.indptr)
    check_merge(xp, a, b, A.shape)


def test_merge_long_rows_and_offset_pointers(xp):
    """A long row against a short one and an interleaved one; pointers that start
    past leading entries (positions are absolute, as on the CPU)."""
    rng = np.random.default_rng(5)
    rows_a = [np.arange(0, 60), np.sort(rng.choice(60, 7, replace=False)), np.arange(0, 60, 2),
              np.array([], dtype=int)]
    rows_b = [np.sort(rng.choice(60, 9, replace=False)), np.arange(60), np.arange(1, 60, 2),
              np.arange(3)]

    def arrays(rows, lead):
        Aj = np.concatenate([np.array([59] * lead)] + rows).astype(np.int32)
        Ap = lead + np.concatenate(([0], np.cumsum([r.size for r in rows]))).astype(np.int32)
        return np.ones(Aj.size), Aj, Ap

    a, b = arrays(rows_a, 2), arrays(rows_b, 0)
    check_merge_offsets(xp, a, b, 4)


def check_merge_offsets(xp, a, b, m):
    """GPU == CPU for count and fill (pointers need not start at 0)."""
    from sparsela.backends.cpu import binop as cpu
    from sparsela.backends.gpu import binop as gpu

    (_, Aj, Ap), (_, Bj, Bp) = a, b
    for intersect in (False, True):
        counts_cpu = np.empty(m, dtype=np.int64)
        cpu.csr_merge_count(Ap, Aj, Bp, Bj, intersect, counts_cpu)
        d_counts = xp.zeros(m, dtype=np.int64)
        gpu.csr_merge_count(*dev(xp, Ap, Aj, Bp, Bj), intersect, d_counts)
        np.testing.assert_array_equal(d_counts.get(), counts_cpu)
        Cp = np.concatenate(([0], np.cumsum(counts_cpu))).astype(np.int64)
        outs = [np.empty(Cp[-1], dtype=np.int64) for _ in range(3)]
        cpu.csr_merge_fill(Ap, Aj, Bp, Bj, intersect, Cp, *outs)
        d_outs = dev(xp, *(np.full_like(o, -7) for o in outs))
        gpu.csr_merge_fill(*dev(xp, Ap, Aj, Bp, Bj), intersect, xp.asarray(Cp), *d_outs)
        for got, want in zip(d_outs, outs):
            np.testing.assert_array_equal(got.get(), want)

