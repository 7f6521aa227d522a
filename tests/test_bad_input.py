"""Bad input raises a clear ValueError/TypeError that names the argument, and
inputs are never modified, on error paths or on success paths.

Every ``pytest.raises`` checks the message (``match=``) for the name of the
offending argument (``shape``, ``indices``, ``indptr``, ``dtype``, ``format`` ...)
or, for arrays on another device, the device (CuPy/GPU).
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import (
    FORMATS,
    bsr_arrays,
    compressed_arrays,
    coo_triplets,
    dense_operand,
    make_sparsela,
)
from hypothesis import given

import sparsela as sl
from sparsela._device import cupy

SL_CLASS = {"csr": sl.csr_array, "csc": sl.csc_array, "coo": sl.coo_array, "bsr": sl.bsr_array}
FMT = pytest.mark.parametrize("fmt", FORMATS)


def _A(fmt="csr", shape=(3, 3)):
    d = np.arange(shape[0] * shape[1], dtype=np.float64).reshape(shape) % 3
    return SL_CLASS[fmt](d)


def _coo_args(n=2):
    return np.ones(n), (np.arange(n), np.arange(n))


GPU = r"(?i)(cupy|gpu)"


# =========================================================================== #
# shape mismatches
# =========================================================================== #
@FMT
def test_matmul_shape_mismatch(fmt):
    A = _A(fmt, (3, 4))
    B = _A("csr", (3, 2))
    with pytest.raises(ValueError, match="shape"):
        A @ B
    with pytest.raises(ValueError, match="shape"):
        A @ np.ones(3)
    with pytest.raises(ValueError, match="shape"):
        A @ np.ones((3, 2))
    with pytest.raises(ValueError, match="shape"):
        np.ones(4) @ A
    with pytest.raises(ValueError, match="shape"):
        np.ones((2, 4)) @ A
    with pytest.raises(ValueError, match="shape"):
        A @ np.ones((4, 2, 2))
    with pytest.raises(ValueError, match="shape"):
        A @ sp.csr_array((3, 3))
    with pytest.raises(ValueError, match=r"(?i)scalar"):
        A @ 2.0
    with pytest.raises(ValueError, match=r"(?i)scalar"):
        2 @ A


@FMT
def test_elementwise_shape_mismatch(fmt):
    A = _A(fmt, (3, 4))
    B = _A("csr", (4, 3))
    for op in (lambda: A + B, lambda: A - B, lambda: A.multiply(B), lambda: A * B,
               lambda: A.maximum(B), lambda: A.minimum(B), lambda: A == B, lambda: A < B,
               lambda: A + sp.csr_array((4, 3))):
        with pytest.raises(ValueError, match="shape"):
            op()
    for X in (np.ones((3, 3)), np.ones((4, 4)), np.ones(3), np.ones((2, 3, 4))):
        with pytest.raises(ValueError, match="shape"):
            A.multiply(X)
        with pytest.raises(ValueError, match="shape"):
            A + X
    # broadcasting that would enlarge the sparse array is refused
    with pytest.raises(ValueError, match="shape"):
        _A(fmt, (1, 4)).multiply(np.ones((3, 4)))


def test_public_functions_shape_mismatch():
    A = _A("csr", (3, 4))
    with pytest.raises(ValueError, match=r"A has shape \(3, 4\).*B has shape"):
        sl.spgemm(A, _A("csr", (3, 4)))
    with pytest.raises(ValueError, match=r"\bx\b.*shape"):
        sl.spmv(A, np.ones(3))
    with pytest.raises(ValueError, match=r"\bx\b"):
        sl.spmv(A, np.ones((4, 1)))
    with pytest.raises(ValueError, match=r"\bX\b.*shape"):
        sl.spmm(A, np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"\bX\b"):
        sl.spmm(A, np.ones(4))
    with pytest.raises(ValueError, match="shape"):
        sl.add(A, _A("csr", (4, 3)))


def test_public_functions_reject_non_sparse():
    A = _A()
    with pytest.raises(TypeError, match=r"\bA\b"):
        sl.spmv(np.eye(3), np.ones(3))
    with pytest.raises(TypeError, match=r"\bA\b"):
        sl.spmm([[1.0]], np.ones((1, 1)))
    with pytest.raises(TypeError, match=r"\bB\b"):
        sl.spgemm(A, np.eye(3))
    with pytest.raises(TypeError, match=r"\bB\b"):
        sl.add(A, np.eye(3))
    with pytest.raises(TypeError, match=r"\bA\b"):
        sl.transpose(np.eye(3))
    with pytest.raises(TypeError, match="alpha"):
        sl.add(A, A, alpha=np.ones(3))
    with pytest.raises(TypeError, match="beta"):
        sl.add(A, A, beta="2")
    with pytest.raises(TypeError):
        sl.spgemm(A, A, True)  # sort_indices is keyword-only


# =========================================================================== #
# dtypes
# =========================================================================== #
@FMT
@pytest.mark.parametrize("bad", [object, str, "U3", "S2", "M8[s]", "V4"])
def test_unsupported_dtype_argument(fmt, bad):
    with pytest.raises(TypeError, match="dtype"):
        SL_CLASS[fmt](np.eye(2), dtype=bad)
    with pytest.raises(TypeError, match="dtype"):
        _A(fmt).astype(bad)


@FMT
def test_astype_casting_rule(fmt):
    A = _A(fmt).astype(np.float64)
    with pytest.raises(TypeError, match=r"float64 to float32.*casting='safe'"):
        A.astype(np.float32, casting="safe")
    assert A.astype(np.float32, casting="same_kind").dtype == np.float32
    assert A.astype(np.complex128, casting="safe").dtype == np.complex128
    with pytest.raises(ValueError, match="casting"):
        A.astype(np.float32, casting="sometimes")


@FMT
def test_object_and_string_values(fmt):
    cls = SL_CLASS[fmt]
    with pytest.raises(TypeError, match=r"(?i)dtype|numeric|object|dense array"):
        cls(np.array([[object(), None]]))
    with pytest.raises(TypeError, match=r"dtype"):
        cls(np.array([["a", "b"]]))
    with pytest.raises((TypeError, ValueError)):
        cls("not a matrix")
    with pytest.raises(TypeError, match=r"data"):
        cls((np.array(["a", "b"]), (np.array([0, 1]), np.array([0, 1]))), shape=(2, 2))
    with pytest.raises(TypeError, match=r"data"):
        cls((np.array([object(), object()], dtype=object), (np.array([0, 1]), np.array([0, 1]))),
            shape=(2, 2))


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_object_data_in_compressed_triplet(fmt):
    with pytest.raises(TypeError, match="data"):
        SL_CLASS[fmt]((np.array([object()], dtype=object), np.array([0]), np.array([0, 1])),
                      shape=(1, 1))
    with pytest.raises(TypeError, match="data"):
        SL_CLASS[fmt]((np.array(["x"]), np.array([0]), np.array([0, 1])), shape=(1, 1))


def test_operands_with_bad_dtype():
    A = _A()
    for X in (np.array(["a", "b", "c"]), np.array([object()] * 3, dtype=object)):
        with pytest.raises(TypeError, match=r"\bx\b.*(dtype|numeric)"):
            sl.spmv(A, X)
        with pytest.raises(TypeError, match=r"(dtype|numeric)"):
            A @ X
        with pytest.raises(TypeError, match=r"\bX\b.*(dtype|numeric)"):
            sl.spmm(A, X.reshape(3, 1))
        with pytest.raises(TypeError, match=r"(dtype|numeric)"):
            A.multiply(X)
        with pytest.raises(TypeError, match=r"(dtype|numeric)"):
            A + np.stack([X] * 3)


def test_complex_ordering_raises_type_error():
    C = sl.csr_array(np.array([[1 + 1j, 0], [0, 2]]))
    for op in (lambda: C < 1, lambda: C >= C, lambda: C.max(), lambda: C.min(axis=0),
               lambda: C.maximum(0), lambda: C.minimum(C)):
        with pytest.raises(TypeError, match=r"(?i)complex"):
            op()


def test_division_only_by_scalars():
    A = _A()
    with pytest.raises(TypeError, match=r"(?i)scalar"):
        A / np.ones((3, 3))
    with pytest.raises(TypeError, match=r"(?i)scalar"):
        A / A
    with pytest.raises(TypeError):
        1 / A
    with pytest.raises(TypeError):
        np.ones((3, 3)) / A


def test_adding_nonzero_scalar_not_implemented():
    A = _A()
    with pytest.raises(NotImplementedError, match=r"(?i)scalar"):
        A + 1
    with pytest.raises(NotImplementedError, match=r"(?i)scalar"):
        2.5 - A


def test_power_arguments():
    A = _A()
    with pytest.raises(TypeError, match=r"\bn\b"):
        A.power(np.ones(3))
    with pytest.raises(ValueError, match=r"\bn\b"):
        A.power(0)
    with pytest.raises(ValueError, match=r"\bn\b"):
        A.power(-1)


# =========================================================================== #
# shapes
# =========================================================================== #
@FMT
@pytest.mark.parametrize("shape", [(-1, 3), (3, -2), (-1, -1)])
def test_negative_shape(fmt, shape):
    with pytest.raises(ValueError, match="shape"):
        SL_CLASS[fmt](shape)
    with pytest.raises(ValueError, match="shape"):
        SL_CLASS[fmt](_coo_args(), shape=shape)


@FMT
@pytest.mark.parametrize("shape", [(np.nan, 3), (2.0, 3), (3, 2.5), (np.inf, 2), ("3", 3),
                                   (True, 2), (None, 2)])
def test_non_integer_shape(fmt, shape):
    with pytest.raises(TypeError, match="shape"):
        SL_CLASS[fmt](_coo_args(), shape=shape)
    with pytest.raises(TypeError, match="shape"):
        SL_CLASS[fmt](np.eye(2), shape=shape)


@FMT
@pytest.mark.parametrize("shape", [(2, 3, 4), (2,), (), (1, 1, 1, 1)])
def test_wrong_number_of_dimensions(fmt, shape):
    with pytest.raises(ValueError, match="shape"):
        SL_CLASS[fmt](_coo_args(), shape=shape)
    with pytest.raises(ValueError, match="shape"):
        SL_CLASS[fmt](np.eye(2), shape=shape)


@FMT
def test_positional_shape_with_too_many_dims(fmt):
    with pytest.raises((TypeError, ValueError), match=r"(?i)shape|dimension"):
        SL_CLASS[fmt]((2, 3, 4))


@FMT
def test_dense_input_must_be_2d(fmt):
    for d in (np.ones(3), np.ones((2, 2, 2)), np.float64(1.0)):
        with pytest.raises(ValueError, match=r"2-D|dimension"):
            SL_CLASS[fmt](d)


@FMT
def test_shape_argument_disagrees_with_input(fmt):
    with pytest.raises(ValueError, match="shape"):
        SL_CLASS[fmt](np.eye(2), shape=(3, 3))
    with pytest.raises(ValueError, match="shape"):
        SL_CLASS[fmt](sp.csr_array(np.eye(2)), shape=(2, 4))
    with pytest.raises(ValueError, match="shape"):
        SL_CLASS[fmt](sl.csr_array(np.eye(2)), shape=(4, 2))


def test_empty_coo_needs_shape():
    with pytest.raises(ValueError, match="shape"):
        sl.coo_array((np.zeros(0), (np.zeros(0, int), np.zeros(0, int))))
    with pytest.raises((TypeError, ValueError), match="shape"):
        sl.csr_array(None)


# =========================================================================== #
# indices
# =========================================================================== #
@FMT
@pytest.mark.parametrize("which", ["row", "col"])
def test_float_coordinates(fmt, which):
    row, col = np.array([0, 1]), np.array([0, 1])
    if which == "row":
        row = row.astype(np.float64)
    else:
        col = col.astype(np.float64) + 0.5
    with pytest.raises(TypeError, match=which):
        SL_CLASS[fmt]((np.ones(2), (row, col)), shape=(2, 2))


@pytest.mark.parametrize("fmt", ["csr", "csc", "bsr"])
@pytest.mark.parametrize("which", ["indices", "indptr"])
def test_float_compressed_indices(fmt, which):
    data = np.ones((2, 1, 1)) if fmt == "bsr" else np.ones(2)
    indices, indptr = np.array([0, 1]), np.array([0, 1, 2])
    if which == "indices":
        indices = indices.astype(np.float32)
    else:
        indptr = indptr.astype(np.float64)
    with pytest.raises(TypeError, match=which):
        SL_CLASS[fmt]((data, indices, indptr), shape=(2, 2))


@FMT
@pytest.mark.parametrize("row,col,name", [
    ([0, 5], [0, 1], "row"), ([0, 1], [0, 2], "col"), ([0, -1], [0, 1], "row"),
    ([0, 1], [-3, 1], "col"), ([2**40, 0], [0, 0], "row"),
])
def test_coordinates_out_of_range(fmt, row, col, name):
    with pytest.raises(ValueError, match=name):
        SL_CLASS[fmt]((np.ones(2), (np.array(row), np.array(col))), shape=(2, 2))


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("bad", [5, -1, 2])
def test_compressed_indices_out_of_range(fmt, bad):
    with pytest.raises(ValueError, match="indices"):
        SL_CLASS[fmt]((np.ones(2), np.array([0, bad]), np.array([0, 1, 2])), shape=(2, 2))


def test_bsr_indices_out_of_range():
    with pytest.raises(ValueError, match="indices"):
        sl.bsr_array((np.ones((2, 1, 1)), np.array([0, 2]), np.array([0, 1, 2])), shape=(2, 2))
    with pytest.raises(ValueError, match="indices"):
        sl.bsr_array((np.ones((2, 1, 1)), np.array([0, -1]), np.array([0, 1, 2])), shape=(2, 2))


@FMT
def test_inconsistent_coo_lengths(fmt):
    for data, row, col in (([1.0, 2, 3], [0, 1], [0, 1]), ([1.0, 2], [0, 1], [0]),
                           ([1.0], [0, 1], [0, 1])):
        with pytest.raises(ValueError, match=r"length"):
            SL_CLASS[fmt]((np.array(data), (np.array(row), np.array(col))), shape=(2, 2))


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_compressed_inconsistent_arrays(fmt):
    cls = SL_CLASS[fmt]
    with pytest.raises(ValueError, match=r"(indices|data).*length|length.*(indices|data)"):
        cls((np.ones(3), np.array([0, 1]), np.array([0, 1, 2])), shape=(2, 2))
    with pytest.raises(ValueError, match="indptr"):
        cls((np.ones(2), np.array([0, 1]), np.array([0, 2, 1, 2])), shape=(3, 2) if fmt == "csr"
            else (2, 3))
    with pytest.raises(ValueError, match="indptr"):
        cls((np.ones(2), np.array([0, 1]), np.array([0, 1, 2])), shape=(3, 3))
    with pytest.raises(ValueError, match="indptr"):
        cls((np.ones(2), np.array([0, 1]), np.array([1, 1, 2])), shape=(2, 2))
    with pytest.raises(ValueError, match="indptr"):
        cls((np.ones(2), np.array([0, 1]), np.array([0, 1, 5])), shape=(2, 2))
    with pytest.raises(ValueError, match="indptr"):
        cls((np.ones(0), np.zeros(0, int), np.zeros(0, int)))
    with pytest.raises(ValueError, match="indptr"):
        cls((np.ones(2), np.array([0, 1]), np.array([[0, 1, 2]])), shape=(2, 2))
    with pytest.raises(ValueError, match="indices"):
        cls((np.ones(2), np.array([[0, 1]]), np.array([0, 1, 2])), shape=(2, 2))
    with pytest.raises(ValueError, match="data"):
        cls((np.ones((2, 1)), np.array([0, 1]), np.array([0, 1, 2])), shape=(2, 2))


def test_bsr_inconsistent_arrays():
    with pytest.raises(ValueError, match="indptr"):
        sl.bsr_array((np.ones((2, 1, 1)), np.array([0, 1]), np.array([0, 2, 1, 2])), shape=(3, 2))
    with pytest.raises(ValueError, match="indptr"):
        sl.bsr_array((np.ones((2, 1, 1)), np.array([0, 1]), np.array([0, 1, 2])), shape=(3, 2))
    with pytest.raises(ValueError, match="data"):
        sl.bsr_array((np.ones((2, 1)), np.array([0, 1]), np.array([0, 1, 2])), shape=(2, 2))
    with pytest.raises(ValueError, match=r"indices|data|blocks"):
        sl.bsr_array((np.ones((3, 1, 1)), np.array([0, 1]), np.array([0, 1, 2])), shape=(2, 2))


def test_bsr_blocksize_arguments():
    with pytest.raises(ValueError, match="blocksize"):
        sl.bsr_array(np.eye(3), blocksize=(2, 2))
    with pytest.raises(ValueError, match="blocksize"):
        sl.bsr_array(np.eye(4), blocksize=(0, 2))
    with pytest.raises(ValueError, match="blocksize"):
        sl.bsr_array(np.eye(4), blocksize=(-2, 2))
    with pytest.raises(TypeError, match="blocksize"):
        sl.bsr_array(np.eye(4), blocksize=2)
    with pytest.raises(ValueError, match="blocksize"):
        sl.csr_array(np.eye(3)).tobsr(blocksize=(2, 1))
    with pytest.raises(ValueError, match="blocksize"):
        sl.bsr_array((np.ones((1, 2, 2)), np.array([0]), np.array([0, 1])), shape=(2, 2),
                     blocksize=(1, 1))


@FMT
def test_check_format_catches_corruption(fmt):
    """Arrays corrupted after construction are caught by check_format(full_check=True)."""
    A = _A(fmt, (4, 4))
    if fmt == "coo":
        A.col[0] = 9
        with pytest.raises(ValueError, match="col"):
            A.check_format(full_check=True)
    else:
        A.indices[0] = 9
        with pytest.raises(ValueError, match="indices"):
            A.check_format(full_check=True)


# =========================================================================== #
# indexing
# =========================================================================== #
@FMT
def test_index_errors(fmt):
    A = _A(fmt, (3, 4))
    for key in (3, -4, [0, 3], np.array([-5]), (0, 4), (3, 0), (-4, 0), (0, -5)):
        with pytest.raises(IndexError, match=r"(?i)row|column|index"):
            A[key]
    for key in (1.5, np.array([0.5]), "a", np.array([[0, 1]])):
        with pytest.raises(IndexError, match=r"(?i)row|integer"):
            A[key]
    with pytest.raises(IndexError, match=r"(?i)mask"):
        A[np.array([True, False])]
    with pytest.raises(IndexError):
        A[0, 0, 0]


# =========================================================================== #
# formats, axes and other arguments
# =========================================================================== #
@FMT
@pytest.mark.parametrize("name", ["dok", "lil", "dia", "CSR", "", "dense"])
def test_unsupported_format_names(fmt, name):
    A = _A(fmt)
    with pytest.raises(ValueError, match="format"):
        A.asformat(name)
    with pytest.raises(ValueError, match="format"):
        sl.asarray(A, format=name)
    with pytest.raises(ValueError, match="format"):
        sl.asarray(np.eye(2), format=name)


@FMT
def test_bad_axis(fmt):
    A = _A(fmt)
    for axis in (2, -3, 5):
        for meth in (A.sum, A.mean, A.max, A.min, A.count_nonzero):
            with pytest.raises(ValueError, match="axis"):
                meth(axis=axis)
    for axis in (1.0, "0", [0]):
        with pytest.raises(TypeError, match="axis"):
            A.sum(axis=axis)


def test_other_arguments():
    A = _A()
    with pytest.raises(ValueError, match="axes"):
        A.transpose(axes=(0, 1))
    with pytest.raises(TypeError, match=r"\bk\b"):
        A.diagonal(k="a")
    with pytest.raises(ValueError, match="out"):
        A.toarray(out=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="data"):
        A.data = np.ones(A.nnz + 1)
    with pytest.raises(ValueError, match="device"):
        A.to_device("tpu")
    with pytest.raises(TypeError, match="length"):
        len(A)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(A)


def test_config_arguments():
    with pytest.raises(ValueError, match="num_threads"):
        sl.set_num_threads(0)
    with pytest.raises(ValueError, match="num_threads"):
        with sl.config_context(num_threads=10**6):
            pass
    with pytest.raises(TypeError, match="num_threads"):
        sl.set_num_threads(1.5)
    with pytest.raises(ValueError, match="backend"):
        sl.set_config(backend="tpu")
    with pytest.raises(ValueError, match="backend"), sl.backend("opencl"):
        pass


# =========================================================================== #
# GPU (CuPy) arrays mixed with CPU arrays: a TypeError, never a silent transfer
# =========================================================================== #
# Device arrays are CuPy's on a GPU machine, the simulated device's otherwise
# (tests/conftest.py); both refuse implicit conversion to NumPy.
def _dev(x):
    return cupy().asarray(x)


@FMT
def test_device_arrays_mixed_with_host_arrays_in_constructors(fmt):
    cls = SL_CLASS[fmt]
    with pytest.raises(TypeError, match=GPU):
        cls((_dev(np.ones(2)), (np.array([0, 1]), np.array([0, 1]))), shape=(2, 2))


@FMT
@pytest.mark.parametrize("which", ["row", "col"])
def test_device_coordinates(fmt, which):
    row, col = np.array([0, 1]), np.array([0, 1])
    if which == "row":
        row = _dev(row)
    else:
        col = _dev(col)
    with pytest.raises(TypeError, match=GPU):
        SL_CLASS[fmt]((np.ones(2), (row, col)), shape=(2, 2))


@pytest.mark.parametrize("fmt", ["csr", "csc", "bsr"])
@pytest.mark.parametrize("which", ["data", "indices", "indptr"])
def test_device_compressed_arrays(fmt, which):
    arrays = {"data": np.ones((2, 1, 1)) if fmt == "bsr" else np.ones(2),
              "indices": np.array([0, 1]), "indptr": np.array([0, 1, 2])}
    arrays[which] = _dev(arrays[which])
    with pytest.raises(TypeError, match=GPU):
        SL_CLASS[fmt]((arrays["data"], arrays["indices"], arrays["indptr"]), shape=(2, 2))


@FMT
def test_device_operands_in_cpu_operations(fmt):
    A = _A(fmt)
    x = _dev(np.ones(3))
    X = _dev(np.ones((3, 2)))
    for op in (lambda: sl.spmv(A, x), lambda: sl.spmm(A, X), lambda: A @ x, lambda: A @ X,
               lambda: x @ A, lambda: A.multiply(X), lambda: A * X, lambda: A + X,
               lambda: A - X, lambda: X - A, lambda: A == X, lambda: A < X):
        with pytest.raises(TypeError, match=GPU):
            op()


@FMT
def test_gpu_sparse_operands_in_cpu_operations(fmt):
    A = _A(fmt)
    G = _A("csr").to_device("gpu")
    for op in (lambda: sl.spgemm(A, G), lambda: sl.spgemm(G, A), lambda: sl.add(A, G),
               lambda: A @ G, lambda: A + G, lambda: A.multiply(G), lambda: A.maximum(G),
               lambda: G @ A, lambda: sl.sddmm(G, np.ones((3, 2)), np.ones((3, 2)))):
        with pytest.raises(TypeError, match=GPU):
            op()


# =========================================================================== #
# inputs are never modified
# =========================================================================== #
def _snap(*arrays):
    return [np.array(a, copy=True) for a in arrays]


def _same(arrays, snaps):
    for a, s in zip(arrays, snaps):
        np.testing.assert_array_equal(a, s)
        assert a.dtype == s.dtype


@FMT
@given(t=coo_triplets(dtypes=[np.float64, np.int64, np.complex64]))
def test_constructor_inputs_never_modified(fmt, t):
    """Arrays given to constructors (shared, not copied) stay as given after every
    method that canonicalises, sorts, converts or computes."""
    if fmt == "coo":
        data, row, col = t.copies()
        arrays = (data, row, col)
        A = sl.coo_array((data, (row, col)), shape=t.shape)
    elif fmt == "bsr":
        arrays = bsr_arrays(t)
        A = sl.bsr_array(arrays, shape=t.shape)
    else:
        arrays = compressed_arrays(t, "row" if fmt == "csr" else "col")
        A = SL_CLASS[fmt](arrays, shape=t.shape)
    snaps = _snap(*arrays)
    x = dense_operand((t.shape[1],), np.float64, seed=1)
    X = dense_operand((t.shape[1], 2), np.float64, seed=2)
    xs, Xs = x.copy(), X.copy()
    A.tocsr(), A.tocsc(), A.tocoo(), A.toarray(), A.T.toarray()
    A @ x, A @ X, A @ A.T, A + A, A * 2, abs(A), A.sum(axis=0), A.diagonal()
    A.has_canonical_format, A.has_sorted_indices
    A.sort_indices() if fmt != "coo" else None
    A.sum_duplicates()
    if A.nnz:
        A.eliminate_zeros()
    _same(arrays, snaps)
    _same((x, X), (xs, Xs))


@FMT
def test_dense_input_never_modified(fmt):
    d = np.array([[0, 1.5, 0, 2], [3, 0, 0, -1], [0, 0, 0, 0], [1, 1, 0, 0]])
    d0 = d.copy()
    A = SL_CLASS[fmt](d, **({"blocksize": (2, 2)} if fmt == "bsr" else {}))
    A.sum_duplicates()
    (A * 3).toarray()
    A.multiply(d)
    A + d
    d @ A
    A.data[...] = 7  # writing into the sparse array's values does not reach the dense input
    np.testing.assert_array_equal(d, d0)


@FMT
def test_scipy_input_never_modified(fmt):
    S = sp.coo_array((np.array([1.0, 2, 3, -3]), (np.array([1, 0, 1, 1]), np.array([1, 0, 1, 0]))),
                     shape=(2, 2)).asformat("csr" if fmt == "bsr" else fmt)
    if fmt == "coo":
        snaps = _snap(S.data, S.row, S.col)
    else:
        snaps = _snap(S.data, S.indices, S.indptr)
    A = SL_CLASS[fmt](S)
    A.sum_duplicates()
    A.sort_indices() if fmt != "coo" else None
    if A.nnz:
        A.eliminate_zeros()
    A @ A, A + A, abs(A), A.power(2), A.max(), A.tocsc(), A.tocoo(), A.toarray()
    _same((S.data, S.row, S.col) if fmt == "coo" else (S.data, S.indices, S.indptr), snaps)


@FMT
def test_inputs_never_modified_on_error_paths(fmt):
    """A constructor or operation that raises leaves its input arrays as they were."""
    data = np.array([3.0, 1, 2])
    row = np.array([2, 0, 0], dtype=np.int64)
    col = np.array([1, 5, 0], dtype=np.int64)  # 5 is out of range
    snaps = _snap(data, row, col)
    with pytest.raises(ValueError):
        SL_CLASS[fmt]((data, (row, col)), shape=(4, 4))
    _same((data, row, col), snaps)
    if fmt in ("csr", "csc"):
        indices = np.array([1, 0, 9])
        indptr = np.array([0, 2, 3, 3, 3])
        s2 = _snap(indices, indptr)
        with pytest.raises(ValueError):
            SL_CLASS[fmt]((data, indices, indptr), shape=(4, 4))
        indptr_bad = np.array([0, 3, 2, 3, 3])
        with pytest.raises(ValueError):
            SL_CLASS[fmt]((data, np.array([1, 0, 2]), indptr_bad), shape=(4, 4))
        _same((data, indices, indptr), snaps[:1] + s2)
        np.testing.assert_array_equal(indptr_bad, [0, 3, 2, 3, 3])
    A = make_sparsela(_t_small(), fmt)
    before = A.toarray()
    x = np.ones(7)
    with pytest.raises(ValueError):
        A @ x
    with pytest.raises(ValueError):
        A + np.ones((5, 5))
    with pytest.raises((TypeError, ValueError)):
        A / np.ones((4, 4))
    np.testing.assert_array_equal(x, np.ones(7))
    np.testing.assert_array_equal(A.toarray(), before)


def _t_small():
    from conftest import Triplets

    return Triplets(np.array([1.0, 2.0, -1.0, 4.0]), np.array([0, 0, 3, 1]),
                    np.array([1, 1, 2, 0]), (4, 4), (2, 2))
