"""GPU SpMV / SpMM kernels against their CPU twins, SciPy and NumPy.

``sparsela.backends.gpu.{spmv,spmm}`` mirror ``backends/cpu/{spmv,spmm}``:
each test calls the GPU function on device arrays (CuPy on a GPU, the
simulated device elsewhere, see ``tests/conftest.py``) and the CPU function
of the same name on the same NumPy arrays, and checks both against a dense
reference (SciPy for the products). Inputs are tiny: under the simulator
every thread of a block is a Python thread.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import assert_close, bsr_arrays, compressed_arrays, coo_triplets, dense_operand

from sparsela._device import cupy

SETTINGS = settings(max_examples=6, deadline=None)
#: the value dtypes the ops layer passes to the product kernels
DTYPES = tuple(np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128,
                                     np.int32, np.int64))
INDEX = (np.dtype(np.int32), np.dtype(np.int64))
GARBAGE = 7  # outputs start as this: the kernels must overwrite, not accumulate


@pytest.fixture(scope="module")
def xp():
    return cupy()


def dev(xp, *arrays):
    return tuple(xp.asarray(a) for a in arrays)


def scipy_csr(data, indices, indptr, shape):
    """SciPy's CSR of the raw arrays; duplicates are summed by its products."""
    return sp.csr_array((data, indices, indptr), shape=shape)


def fixed_csr(dtype, index, shape=(9, 7)):
    """A small CSR with empty rows, duplicates, unsorted columns and explicit zeros."""
    rng = np.random.default_rng(3)
    m, n = shape
    rows = [0, 0, 0, 2, 2, 2, 2, 5, 5, 6, 8, 8, 8, 8, 8, 8]
    cols = [3, 1, 3, 6, 0, 2, 0, 4, 1, 5, 6, 5, 4, 3, 2, 1]
    vals = dense_operand((len(rows),), dtype, seed=1)
    vals[4] = 0  # explicit zero
    rows = np.asarray(rows)
    cols = np.asarray(cols)
    keep = (rows < m) & (cols < n)
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    perm = rng.permutation(rows.size)
    order = np.argsort(rows[perm], kind="stable")  # grouped by row, columns unsorted
    rows, cols, vals = rows[perm][order], cols[perm][order], vals[perm][order]
    indptr = np.zeros(m + 1, dtype=index)
    np.cumsum(np.bincount(rows, minlength=m), out=indptr[1:])
    return vals, cols.astype(index), indptr


# --------------------------------------------------------------------------- #
# SpMV
# --------------------------------------------------------------------------- #
def check_spmv(xp, data, indices, indptr, shape, x_seed=0):
    """csr_spmv and csr_spmv_t: GPU == CPU == SciPy; inputs unchanged."""
    from sparsela.backends.cpu import spmv as cpu
    from sparsela.backends.gpu import spmv as gpu

    m, n = shape
    dt = data.dtype
    A = scipy_csr(data, indices, indptr, shape)
    for name, x_len, y_len, ref in (("csr_spmv", n, m, lambda x: A @ x),
                                    ("csr_spmv_t", m, n, lambda x: A.T @ x)):
        x = dense_operand((x_len,), dt, seed=x_seed)
        y_cpu = np.full(y_len, GARBAGE, dtype=dt)
        getattr(cpu, name)(indptr, indices, data, x, y_cpu)
        d_ptr, d_idx, d_data, d_x = dev(xp, indptr, indices, data, x)
        d_y = xp.asarray(np.full(y_len, GARBAGE, dtype=dt))
        getattr(gpu, name)(d_ptr, d_idx, d_data, d_x, d_y)
        y = d_y.get()
        assert_close(y, y_cpu, dt, err_msg=name)
        assert_close(y, np.asarray(ref(x), dtype=dt), dt, err_msg=name)
        np.testing.assert_array_equal(d_x.get(), x)
        np.testing.assert_array_equal(d_data.get(), data)


@SETTINGS
@given(t=coo_triplets(dtypes=DTYPES, max_dim=30, max_nnz=150))
def test_spmv_random(xp, t):
    data, indices, indptr = compressed_arrays(t, "row")
    check_spmv(xp, data, indices, indptr, t.shape)


@pytest.mark.parametrize("index", INDEX, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_spmv_dtypes(xp, dtype, index):
    data, indices, indptr = fixed_csr(dtype, index)
    check_spmv(xp, data, indices, indptr, (9, 7))


@pytest.mark.parametrize("shape", [(0, 0), (0, 5), (5, 0), (4, 6)], ids=str)
def test_spmv_empty(xp, shape):
    """0-row / 0-column shapes and nnz = 0: no launch, y zeroed (or untouched when empty)."""
    m, _ = shape
    indptr = np.zeros(m + 1, dtype=np.int32)
    check_spmv(xp, np.zeros(0), np.zeros(0, dtype=np.int32), indptr, shape)


@pytest.mark.parametrize("row_len", [1, 3, 17, 64], ids=lambda r: f"len{r}")
def test_spmv_group_sizes(xp, row_len):
    """Mean row lengths that pick 1 to 32 threads per row, plus one skewed row."""
    from sparsela.backends.gpu.spmv import group_size

    rng = np.random.default_rng(row_len)
    n_rows, n_cols = 5, 70
    lens = np.full(n_rows, row_len)
    lens[1] = 0  # an empty row
    lens[3] = 70  # a long row in the group
    indptr = np.concatenate(([0], np.cumsum(lens))).astype(np.int64)
    indices = np.concatenate([rng.choice(n_cols, k, replace=False) for k in lens]).astype(np.int64)
    data = dense_operand((indices.size,), np.float64, seed=row_len)
    assert 1 <= group_size(indices.size, n_rows) <= 32
    check_spmv(xp, data, indices, indptr, (n_rows, n_cols))


@pytest.mark.parametrize("name", ["csr_spmv", "csr_spmv_t"])
def test_spmv_strided_vectors(xp, name):
    """Strided x and y (views of every other entry) work as on the CPU."""
    from sparsela.backends.cpu import spmv as cpu
    from sparsela.backends.gpu import spmv as gpu

    data, indices, indptr = fixed_csr(np.dtype(np.complex128), np.dtype(np.int32))
    x_len, y_len = (7, 9) if name == "csr_spmv" else (9, 7)
    xb = dense_operand((2 * x_len,), np.complex128, seed=3)
    y_cpu = np.full(2 * y_len, GARBAGE, dtype=np.complex128)
    getattr(cpu, name)(indptr, indices, data, xb[::2], y_cpu[1::2])
    d_y = xp.asarray(np.full(2 * y_len, GARBAGE, dtype=np.complex128))
    getattr(gpu, name)(*dev(xp, indptr, indices, data), xp.asarray(xb)[::2], d_y[1::2])
    assert_close(d_y.get(), y_cpu, np.complex128)
    assert (d_y.get()[::2] == GARBAGE).all()


@pytest.mark.parametrize("nparts", [1, 2, 3, 7])
@pytest.mark.parametrize("lens", [[], [0, 0], [5, 0, 1, 9, 2, 2, 0, 30]], ids=str)
def test_row_parts(xp, lens, nparts):
    from sparsela.backends.cpu import spmv as cpu
    from sparsela.backends.gpu import spmv as gpu

    Ap = np.concatenate(([3], 3 + np.cumsum(lens, dtype=np.int64))).astype(np.int32)
    np.testing.assert_array_equal(gpu.row_parts(xp.asarray(Ap), nparts).get(),
                                  cpu.row_parts(Ap, nparts))


def test_group_size():
    from sparsela.backends.gpu.spmv import group_size

    assert group_size(0, 0) == 1
    assert group_size(10, 10) == 1
    assert group_size(30, 10) == 4
    assert group_size(10**6, 10) == 32


def test_gather_group_size():
    """Short rows get at most half as many threads as nonzeros; long ones as before."""
    from sparsela.backends.gpu.spmv import gather_group_size, group_size

    assert gather_group_size(0, 0) == 1
    assert gather_group_size(3 * 10, 10) == 1
    assert gather_group_size(5 * 10**6, 10**6) == 2  # Poisson: 5 a row
    assert gather_group_size(8 * 10, 10) == 4
    for mean in (9, 16, 15, 100):
        assert gather_group_size(mean * 1000, 1000) == group_size(mean * 1000, 1000)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.int64], ids=str)
def test_bsr_spmv(xp, dtype):
    from sparsela.backends.cpu import spmv as cpu
    from sparsela.backends.gpu import spmv as gpu

    rng = np.random.default_rng(0)
    S = sp.random(12, 10, density=0.3, random_state=rng, format="csr")
    t_rows, t_cols = S.nonzero()
    vals = dense_operand((t_rows.size,), dtype, seed=2)
    from conftest import Triplets

    t = Triplets(vals, t_rows.astype(np.int32), t_cols.astype(np.int32), (12, 10), (3, 2))
    Ax, Aj, Ap = bsr_arrays(t)  # one block per entry: duplicate blocks, unsorted
    x = dense_operand((10,), dtype, seed=4)
    y_cpu = np.full(12, GARBAGE, dtype=dtype)
    cpu.bsr_spmv(3, 2, Ap, Aj, Ax, x, y_cpu)
    d = dev(xp, Ap, Aj, Ax, x)
    d_y = xp.asarray(np.full(12, GARBAGE, dtype=dtype))
    gpu.bsr_spmv(3, 2, *d, d_y)
    assert_close(d_y.get(), y_cpu, dtype)
    assert_close(d_y.get(), t.dense() @ x, dtype)


# --------------------------------------------------------------------------- #
# SpMM
# --------------------------------------------------------------------------- #
def operand(xp, shape, dtype, layout, seed=0):
    """Dense X of ``shape`` on the host and the device, in a layout: 'C', 'F', or
    'strided' (every other column of a wider array, sliced on each side)."""
    if layout == "strided":
        k, m = shape
        base = dense_operand((k, 2 * m), dtype, seed=seed)
        return base[:, ::2], xp.asarray(base)[:, ::2]
    X = dense_operand(shape, dtype, seed=seed, order=layout)
    return X, xp.asarray(X)


def check_spmm(xp, data, indices, indptr, shape, m, layout, seed=0):
    """csr_spmm and csr_spmm_t: GPU == CPU == SciPy; X unchanged."""
    from sparsela.backends.cpu import spmm as cpu
    from sparsela.backends.gpu import spmm as gpu

    n_row, n_col = shape
    dt = data.dtype
    A = scipy_csr(data, indices, indptr, shape)
    for name, k, n_out, ref in (("csr_spmm", n_col, n_row, lambda X: A @ X),
                                ("csr_spmm_t", n_row, n_col, lambda X: A.T @ X)):
        X, d_X = operand(xp, (k, m), dt, layout, seed=seed)
        Y_cpu = np.full((n_out, m), GARBAGE, dtype=dt)
        getattr(cpu, name)(indptr, indices, data, X, Y_cpu)
        d_ptr, d_idx, d_data = dev(xp, indptr, indices, data)
        d_Y = xp.asarray(np.full((n_out, m), GARBAGE, dtype=dt))
        X_before = d_X.get()
        getattr(gpu, name)(d_ptr, d_idx, d_data, d_X, d_Y)
        Y = d_Y.get()
        assert_close(Y, Y_cpu, dt, err_msg=f"{name} {layout}")
        assert_close(Y, np.asarray(ref(X), dtype=dt).reshape(n_out, m), dt,
                     err_msg=f"{name} {layout}")
        np.testing.assert_array_equal(d_X.get(), X_before)


@SETTINGS
@given(t=coo_triplets(dtypes=DTYPES, max_dim=20, max_nnz=100),
       m=st.sampled_from([1, 2, 5]), layout=st.sampled_from(["C", "F", "strided"]))
def test_spmm_random(xp, t, m, layout):
    data, indices, indptr = compressed_arrays(t, "row")
    check_spmm(xp, data, indices, indptr, t.shape, m, layout)


@pytest.mark.parametrize("index", INDEX, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_spmm_dtypes(xp, dtype, index):
    data, indices, indptr = fixed_csr(dtype, index)
    check_spmm(xp, data, indices, indptr, (9, 7), 3, "C")


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
@pytest.mark.parametrize("m", [1, 4, 40], ids=lambda m: f"m{m}")
def test_spmm_layouts(xp, m, layout):
    """One column (SpMV path), several, and wider than a block (several column tiles)."""
    data, indices, indptr = fixed_csr(np.dtype(np.float64), np.dtype(np.int32), shape=(6, 7))
    check_spmm(xp, data, indices, indptr, (6, 7), m, layout)


@pytest.mark.parametrize("shape,m", [((0, 0), 3), ((0, 4), 2), ((4, 0), 2), ((3, 5), 0),
                                     ((4, 6), 3)], ids=str)
def test_spmm_empty(xp, shape, m):
    n_row, _ = shape
    indptr = np.zeros(n_row + 1, dtype=np.int64)
    check_spmm(xp, np.zeros(0, dtype=np.complex128), np.zeros(0, dtype=np.int64), indptr,
               shape, m, "C")


@pytest.mark.parametrize("name", ["csr_spmm", "csr_spmm_t"])
def test_spmm_f_ordered_output(xp, name):
    """Y that is not C-ordered (the CPU kernels accept it) is written correctly."""
    from sparsela.backends.cpu import spmm as cpu
    from sparsela.backends.gpu import spmm as gpu

    data, indices, indptr = fixed_csr(np.dtype(np.complex64), np.dtype(np.int64))
    k, n_out = (7, 9) if name == "csr_spmm" else (9, 7)
    X = dense_operand((k, 3), np.complex64, seed=6)
    Y_cpu = np.full((n_out, 3), GARBAGE, dtype=np.complex64, order="F")
    getattr(cpu, name)(indptr, indices, data, X, Y_cpu)
    d_Y = xp.asarray(np.full((n_out, 3), GARBAGE, dtype=np.complex64, order="F"))
    assert not d_Y.flags.c_contiguous
    getattr(gpu, name)(*dev(xp, indptr, indices, data, X), d_Y)
    assert_close(d_Y.get(), Y_cpu, np.complex64)


def test_spmm_tiles():
    from sparsela.backends.gpu.spmm import _tiles

    assert _tiles(1, 256) == (1, 1)
    assert _tiles(5, 256) == (8, 1)
    assert _tiles(256, 256) == (256, 1)
    assert _tiles(300, 256) == (256, 2)


@pytest.mark.parametrize("layout", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float32, np.complex128, np.int64], ids=str)
def test_bsr_spmm(xp, dtype, layout):
    from conftest import Triplets
    from sparsela.backends.cpu import spmm as cpu
    from sparsela.backends.gpu import spmm as gpu

    rng = np.random.default_rng(1)
    S = sp.random(8, 9, density=0.3, random_state=rng, format="csr")
    t_rows, t_cols = S.nonzero()
    vals = dense_operand((t_rows.size,), dtype, seed=2)
    t = Triplets(vals, t_rows.astype(np.int64), t_cols.astype(np.int64), (8, 9), (2, 3))
    Ax, Aj, Ap = bsr_arrays(t)
    X = dense_operand((9, 3), dtype, seed=5, order=layout)
    Y_cpu = np.full((8, 3), GARBAGE, dtype=dtype)
    cpu.bsr_spmm(2, 3, Ap, Aj, Ax, np.ascontiguousarray(X), Y_cpu)
    d = dev(xp, Ap, Aj, Ax, X)
    d_Y = xp.asarray(np.full((8, 3), GARBAGE, dtype=dtype))
    gpu.bsr_spmm(2, 3, *d, d_Y)
    assert_close(d_Y.get(), Y_cpu, dtype)
    assert_close(d_Y.get(), t.dense() @ X, dtype)
