"""One conformance suite for every sparse format, with SciPy as the oracle.

In the spirit of ``scipy.sparse.tests.test_base.sparse_test_class``: every test
runs for csr, csc, coo and bsr (bsr with a blocksize dividing the shape), on
random matrices from ``conftest.coo_triplets`` holding duplicates, unsorted
indices, explicit zeros and 0-sized dimensions. Each matrix is built twice from
private copies of the same triplets, once with sparsela and once with SciPy.

Every operation is tested on float64; ``test_dtype_sweep`` runs a representative
set of operations on every value dtype (each Numba specialisation compiles once).

Documented deviations from SciPy that the suite accepts:
``A[i]`` is a (1, N) array; max/min along an axis return 1-D ndarrays; products
keep entries that cancel to zero as explicit zeros (values compared densely).
"""
from __future__ import annotations

import operator
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import sparsela as sl
from conftest import (
    ALL_DTYPES,
    FORMATS,
    REPR_DTYPES,
    assert_close,
    bsr_arrays,
    compressed_arrays,
    coo_triplets,
    dense_operand,
    force_parallel,
    make_pair,
    make_scipy,
    make_sparsela,
    matmul_pair,
    same_shape_pair,
)

F64 = coo_triplets(dtypes=[np.float64])
F64_PAIR = same_shape_pair(dtypes=[np.float64])
FMT = pytest.mark.parametrize("fmt", FORMATS)
SL_CLASS = {"csr": sl.csr_array, "csc": sl.csc_array, "coo": sl.coo_array, "bsr": sl.bsr_array}
SP_CLASS = {"csr": sp.csr_array, "csc": sp.csc_array, "coo": sp.coo_array, "bsr": sp.bsr_array}
SP_MATRIX = {"csr": sp.csr_matrix, "csc": sp.csc_matrix, "coo": sp.coo_matrix,
             "bsr": sp.bsr_matrix}


def _kw(fmt, t):
    return {"blocksize": t.blocksize} if fmt == "bsr" else {}


def _check(R, fmt=None):
    """A result is a valid sparsela array (of ``fmt`` when given)."""
    assert isinstance(R, sl.SparseArray), type(R)
    assert R.ndim == 2
    if fmt is not None:
        assert R.format == fmt, (R.format, fmt)
    R.check_format(full_check=True)
    return R


def _dense(x):
    return x.toarray() if hasattr(x, "toarray") else np.asarray(x)


def _truth_sorted(indptr, indices, strict: bool) -> bool:
    for i in range(indptr.shape[0] - 1):
        seg = indices[indptr[i]:indptr[i + 1]]
        d = np.diff(seg)
        if (np.any(d <= 0) if strict else np.any(d < 0)):
            return False
    return True


def _no_stored_zeros(R):
    if R.format == "bsr":
        blocks = R.data.reshape(R.data.shape[0], R.blocksize[0] * R.blocksize[1])
        return bool(np.all(np.any(blocks != 0, axis=1)))
    return bool(np.all(R.data != 0))


# =========================================================================== #
# construction
# =========================================================================== #
@FMT
@given(t=coo_triplets())
def test_construct_from_coo_triplets(fmt, t):
    data, row, col = t.copies()
    A = SL_CLASS[fmt]((data, (row, col)), shape=t.shape, **_kw(fmt, t))
    S = SP_CLASS[fmt]((data.copy(), (row.copy(), col.copy())), shape=t.shape, **_kw(fmt, t))
    _check(A, fmt)
    assert A.shape == t.shape and A.dtype == t.dtype
    assert_close(A.toarray(), S.toarray())
    assert A.nnz == S.nnz
    if fmt == "bsr":
        assert A.blocksize == S.blocksize


@FMT
@given(t=coo_triplets(dtypes=[np.float64, np.int64], min_dim=1))
def test_construct_infers_shape(fmt, t):
    if t.data.size == 0:
        return
    data, row, col = t.copies()
    A = SL_CLASS["coo"]((data, (row, col)))
    S = SP_CLASS["coo"]((data.copy(), (row.copy(), col.copy())))
    assert A.shape == S.shape
    A = SL_CLASS[fmt](A) if fmt != "bsr" else A.tobsr()
    assert A.shape == S.shape
    assert_close(A.toarray(), S.toarray())


@pytest.mark.parametrize("fmt", ["csr", "csc", "bsr"])
@given(t=coo_triplets())
def test_construct_from_compressed_triplet(fmt, t):
    if fmt == "bsr":
        arrays = bsr_arrays(t)
    else:
        arrays = compressed_arrays(t, "row" if fmt == "csr" else "col")
    before = [a.copy() for a in arrays]
    A = SL_CLASS[fmt](arrays, shape=t.shape)
    S = make_scipy(t, fmt)
    _check(A, fmt)
    assert A.shape == t.shape and A.dtype == t.dtype and A.nnz == S.nnz
    assert_close(A.toarray(), S.toarray())
    assert_close(A.toarray(), t.dense())
    # the constructor never writes into the caller's arrays, even after canonicalising
    A.sum_duplicates()
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@given(t=coo_triplets(dtypes=[np.float64]))
def test_construct_compressed_infers_shape(fmt, t):
    arrays = compressed_arrays(t, "row" if fmt == "csr" else "col")
    if arrays[1].size == 0:
        return  # SciPy cannot infer the minor dimension without indices
    A = SL_CLASS[fmt](arrays)
    S = SP_CLASS[fmt](tuple(a.copy() for a in arrays))
    assert A.shape == S.shape
    assert_close(A.toarray(), S.toarray())


@FMT
@given(t=coo_triplets(dtypes=[np.float64, np.complex64, np.int32, np.bool_]))
def test_construct_from_dense(fmt, t):
    d = t.dense()
    A = SL_CLASS[fmt](d, **_kw(fmt, t))
    S = SP_CLASS[fmt](d, **_kw(fmt, t))
    _check(A, fmt)
    assert A.dtype == d.dtype and A.shape == d.shape
    assert A.nnz == S.nnz
    assert_close(A.toarray(), d)
    assert A.has_canonical_format


@FMT
@given(t=F64)
def test_construct_from_nested_list_and_dtype(fmt, t):
    d = t.dense()
    if d.size == 0:
        return
    A = SL_CLASS[fmt](d.tolist(), **_kw(fmt, t))
    assert_close(A.toarray(), d)
    B = SL_CLASS[fmt](d, dtype=np.complex128, **_kw(fmt, t))
    assert B.dtype == np.complex128
    assert_close(B.toarray(), d.astype(np.complex128))


@FMT
@pytest.mark.parametrize("src", FORMATS)
@settings(max_examples=12)
@given(t=coo_triplets(dtypes=[np.float64, np.int32]), kind=st.sampled_from(["array", "matrix"]))
def test_construct_from_scipy(fmt, src, kind, t):
    S = make_scipy(t, src)
    if kind == "matrix":
        S = SP_MATRIX[src](S)
    expected = S.toarray()
    A = SL_CLASS[fmt](S, **(_kw(fmt, t) if src != "bsr" else {}))
    _check(A, fmt)
    assert A.dtype == S.dtype and A.shape == S.shape
    assert_close(A.toarray(), expected)
    np.testing.assert_array_equal(S.toarray(), expected)  # input untouched
    B = sl.asarray(S)
    assert B.format == (src if src in FORMATS else "csr")
    assert_close(B.toarray(), expected)


def _strided(a):
    """A non-contiguous view holding the values of ``a``."""
    b = np.empty(a.shape + (2,), dtype=a.dtype)
    b[..., 0] = a
    return b[..., 0]


def _byteswapped(a):
    """The values of ``a`` in non-native byte order."""
    return a.astype(a.dtype.newbyteorder("S"))


@FMT
@pytest.mark.parametrize("layout", ["strided", "byteswapped"])
@given(t=coo_triplets(dtypes=[np.float64, np.int32, np.complex128]))
def test_construct_from_strided_and_byteswapped_arrays(fmt, layout, t):
    conv = _strided if layout == "strided" else _byteswapped
    if fmt == "coo":
        data, row, col = t.copies()
        args = (conv(data), (conv(row), conv(col)))
    elif fmt == "bsr":
        args = tuple(conv(a) for a in bsr_arrays(t))
    else:
        args = tuple(conv(a) for a in compressed_arrays(t, "row" if fmt == "csr" else "col"))
    if layout == "strided":
        assert not args[0].flags.c_contiguous or args[0].size <= 1
    A = SL_CLASS[fmt](args, shape=t.shape)
    _check(A, fmt)
    assert A.dtype == t.dtype  # native byte order
    # contiguous buffers (the kernels are compiled for those only)
    for name in ("data", "indices", "indptr", "row", "col"):
        assert getattr(A, name, np.empty(0)).flags.c_contiguous, name
    d = t.dense()
    assert_close(A.toarray(), d)
    x = dense_operand((t.shape[1],), np.float64, seed=1)
    assert_close(A @ conv(x), d @ x)
    assert_close((A @ A.T).toarray(), d @ d.T)
    assert_close((A + A).toarray(), d + d)
    A.sum_duplicates()
    assert_close(A.toarray(), d)
    D = conv(d)
    B = SL_CLASS[fmt](D, **_kw(fmt, t))
    assert_close(B.toarray(), d)
    assert_close(A.multiply(conv(d)).toarray(), d * d)


@FMT
@pytest.mark.parametrize("kind", ["array", "matrix"])
@given(t=coo_triplets(dtypes=[np.float64, np.int64, np.complex64]))
def test_construct_from_scipy_is_zero_copy(fmt, kind, t):
    S = make_scipy(t, fmt)
    if kind == "matrix":
        S = SP_MATRIX[fmt](S)
    A = SL_CLASS[fmt](S)
    assert A.dtype == S.dtype
    if S.data.size:  # (empty buffers never "share memory")
        assert np.shares_memory(A.data, S.data), "data was copied"
        if fmt == "coo":
            assert np.shares_memory(A.row, S.row) and np.shares_memory(A.col, S.col)
        else:
            assert np.shares_memory(A.indices, S.indices), "indices were copied"
    if fmt != "coo" and S.indptr.size > 1:
        assert np.shares_memory(A.indptr, S.indptr), "indptr was copied"
    # copy=True gives independent buffers
    B = SL_CLASS[fmt](S, copy=True)
    assert not np.shares_memory(B.data, S.data)
    assert_close(B.toarray(), S.toarray())
    # canonicalising the wrapper must not rewrite the scipy buffers it shares
    snap = {k: getattr(S, k).copy() for k in ("data", "indices", "indptr", "row", "col")
            if hasattr(S, k)}
    A.sum_duplicates()
    if A.nnz:
        A.eliminate_zeros()
    for k, v in snap.items():
        np.testing.assert_array_equal(getattr(S, k), v, err_msg=f"scipy {k} was modified")


@FMT
@pytest.mark.parametrize("shape", [(0, 0), (0, 4), (3, 0), (4, 6), (1, 1)])
@pytest.mark.parametrize("dtype", [None, np.int32, np.complex128, np.bool_])
def test_construct_empty(fmt, shape, dtype):
    kw = {"blocksize": (1, 2) if shape[1] % 2 == 0 else (1, 1)} if fmt == "bsr" else {}
    A = SL_CLASS[fmt](shape, dtype=dtype, **kw)
    S = SP_CLASS[fmt](shape, dtype=dtype, **kw)
    _check(A, fmt)
    assert A.shape == shape and A.nnz == 0 and A.dtype == S.dtype
    assert_close(A.toarray(), np.zeros(shape, dtype=S.dtype))
    if fmt == "bsr":
        assert A.blocksize == S.blocksize


@FMT
@given(t=F64)
def test_construct_with_larger_shape(fmt, t):
    m, n = t.shape
    shape = (m + 2, n + 4) if fmt != "bsr" else (m + t.blocksize[0], n + 2 * t.blocksize[1])
    data, row, col = t.copies()
    A = SL_CLASS[fmt]((data, (row, col)), shape=shape, **_kw(fmt, t))
    assert A.shape == shape
    expected = np.zeros(shape)
    expected[:m, :n] = t.dense()
    assert_close(A.toarray(), expected)


@FMT
@pytest.mark.parametrize("src", FORMATS)
@settings(max_examples=12)
@given(t=coo_triplets(dtypes=[np.float64]))
def test_construct_from_sparsela(fmt, src, t):
    B = make_sparsela(t, src)
    A = SL_CLASS[fmt](B, **(_kw(fmt, t) if src != "bsr" else {}))
    _check(A, fmt)
    assert_close(A.toarray(), t.dense())
    C = SL_CLASS[fmt](B, copy=True)
    assert not np.shares_memory(C.data, B.data)
    D = SL_CLASS[fmt](B, dtype=np.complex64)
    assert D.dtype == np.complex64
    assert_close(D.toarray(), t.dense().astype(np.complex64))


# =========================================================================== #
# attributes
# =========================================================================== #
@FMT
@given(t=coo_triplets())
def test_attributes(fmt, t):
    A, S = make_pair(t, fmt)
    assert A.shape == S.shape == t.shape
    assert A.dtype == S.dtype == t.dtype
    assert A.nnz == S.nnz
    assert A.ndim == 2
    assert A.format == fmt
    assert sl.issparse(A) and not sl.issparse(S) and not sl.issparse(t.dense())
    if fmt in ("csr", "csc", "bsr"):
        assert A.has_sorted_indices == _truth_sorted(A.indptr, A.indices, strict=False)
        assert A.has_canonical_format == _truth_sorted(A.indptr, A.indices, strict=True)
        assert A.has_sorted_indices == S.has_sorted_indices
    else:
        key = A.row.astype(np.int64) * max(t.shape[1], 1) + A.col
        assert A.has_canonical_format == bool(np.all(np.diff(key) > 0))
    if fmt == "bsr":
        assert A.blocksize == S.blocksize


# =========================================================================== #
# conversions
# =========================================================================== #
@pytest.mark.parametrize("fmt", ["csr", "csc"])
@given(t=coo_triplets(dtypes=[np.float64]))
def test_transposing_conversion_flags(fmt, t):
    """csr <-> csc sorts the indices; a source known to be canonical passes its
    flag on (the transpose of sorted, duplicate-free rows has no duplicates),
    any other leaves it to be computed from the new arrays, never guessed."""
    A = make_sparsela(t, fmt)
    convert = (lambda X: X.tocsc()) if fmt == "csr" else (lambda X: X.tocsr())
    first = convert(A)
    known = A.has_canonical_format
    second = convert(A)
    assert second._canonical is (True if known else None)
    for X in (first, second):
        truth = _truth_sorted(X.indptr, X.indices, strict=True)
        assert not X._canonical or truth
        assert X.has_sorted_indices and X.has_canonical_format == truth
        assert_close(X.toarray(), t.dense())


@FMT
@given(t=coo_triplets())
def test_conversions_round_trip(fmt, t):
    A = make_sparsela(t, fmt)
    d = t.dense()
    for target in FORMATS:
        kw = {"blocksize": t.blocksize} if target == "bsr" else {}
        B = getattr(A, "to" + target)(**kw)
        _check(B, target)
        assert B.dtype == A.dtype and B.shape == A.shape
        assert_close(B.toarray(), d, err_msg=f"{fmt} -> {target}")
        if target == "bsr":
            assert B.blocksize == t.blocksize
        for back in FORMATS:
            C = B.asformat(back)
            _check(C, back)
            assert_close(C.toarray(), d, err_msg=f"{fmt} -> {target} -> {back}")
        E = sl.asarray(A, format=target)
        _check(E, target)
        assert_close(E.toarray(), d)
    assert_close(A.toarray(), d)  # the source is unchanged


@FMT
@given(t=coo_triplets())
def test_to_scipy_round_trip(fmt, t):
    A = make_sparsela(t, fmt)
    d = t.dense()
    S = A.to_scipy()
    assert isinstance(S, sp.sparray) and S.format == fmt
    assert S.dtype == A.dtype and S.shape == A.shape
    assert_close(S.toarray(), d)
    B = sl.asarray(S)
    _check(B, fmt)
    assert_close(B.toarray(), d)
    assert_close(sl.asarray(S, format="csr").toarray(), d)


@FMT
@given(t=F64)
def test_toarray_order_and_out(fmt, t):
    A = make_sparsela(t, fmt)
    d = t.dense()
    F = A.toarray(order="F")
    assert F.flags.f_contiguous
    assert_close(F, d)
    Cc = A.toarray(order="C")
    assert Cc.flags.c_contiguous
    assert_close(Cc, d)
    out = np.full(t.shape, 7.0)
    R = A.toarray(out=out)
    assert R is out
    assert_close(out, d)
    assert_close(A.todense(), d)
    assert isinstance(A.todense(), np.ndarray)


@FMT
@given(t=coo_triplets())
def test_transpose(fmt, t):
    A, S = make_pair(t, fmt)
    d = t.dense()
    for T in (A.T, A.transpose(), A.transpose(axes=(1, 0)), sl.transpose(A)):
        assert isinstance(T, sl.SparseArray)
        T.check_format(full_check=True)
        assert T.shape == (t.shape[1], t.shape[0]) and T.dtype == A.dtype
        assert_close(T.toarray(), d.T)
    assert_close(A.T.T.toarray(), d)
    assert_close(A.transpose(copy=True).toarray(), d.T)
    if A.dtype.kind == "c":
        assert_close(A.H.toarray(), d.conj().T)
        assert_close(A.conj().toarray(), d.conj())
    assert_close(A.toarray(), d)


@FMT
@given(t=coo_triplets(), target=st.sampled_from(REPR_DTYPES + (np.dtype(np.float64),)))
def test_astype(fmt, t, target):
    A, S = make_pair(t, fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        B = A.astype(target)
        E = S.astype(target)
    _check(B, fmt)
    assert B.dtype == target
    assert_close(B.toarray(), E.toarray())
    assert_close(A.toarray(), t.dense())  # source unchanged
    assert not np.shares_memory(B.data, A.data)


@FMT
@given(t=coo_triplets(dtypes=[np.float64, np.int64]))
def test_copy_is_independent(fmt, t):
    A = make_sparsela(t, fmt)
    d = t.dense()
    B = A.copy()
    _check(B, fmt)
    assert_close(B.toarray(), d)
    for name in ("data", "indices", "indptr", "row", "col"):
        if hasattr(A, name):
            a, b = getattr(A, name), getattr(B, name)
            assert not (a.size and np.shares_memory(a, b)), f"copy shares {name}"
    if B.nnz:
        B.data[...] = 5
    B.sum_duplicates()
    assert_close(A.toarray(), d)


# =========================================================================== #
# canonical form
# =========================================================================== #
@FMT
@given(t=coo_triplets())
def test_sum_duplicates(fmt, t):
    A, S = make_pair(t, fmt)
    A.sum_duplicates()
    S.sum_duplicates()
    _check(A, fmt)
    assert A.has_canonical_format
    assert A.nnz == S.nnz
    assert_close(A.toarray(), t.dense())
    if fmt != "coo":
        assert _truth_sorted(A.indptr, A.indices, strict=True)
    else:
        key = A.row.astype(np.int64) * max(t.shape[1], 1) + A.col
        assert np.all(np.diff(key) > 0)


@pytest.mark.parametrize("fmt", ["csr", "csc", "bsr"])
@given(t=coo_triplets())
def test_sort_indices(fmt, t):
    A, S = make_pair(t, fmt)
    nnz = A.nnz
    A.sort_indices()
    S.sort_indices()
    _check(A, fmt)
    assert A.has_sorted_indices
    assert _truth_sorted(A.indptr, A.indices, strict=False)
    assert A.nnz == S.nnz == nnz, "sort_indices must not merge duplicates (as SciPy)"
    assert_close(A.toarray(), t.dense())
    B = make_sparsela(t, fmt)
    C = B.sorted_indices() if fmt != "bsr" else B.copy()
    if fmt != "bsr":
        assert C.has_sorted_indices
        assert_close(C.toarray(), t.dense())
        assert_close(B.toarray(), t.dense())


@FMT
@given(t=coo_triplets())
def test_eliminate_zeros(fmt, t):
    A, S = make_pair(t, fmt)
    A.eliminate_zeros()
    S.eliminate_zeros()
    _check(A, fmt)
    assert A.nnz == S.nnz
    assert _no_stored_zeros(A)
    assert_close(A.toarray(), t.dense())


# =========================================================================== #
# reductions
# =========================================================================== #
AXES = [None, 0, 1, -1]


@FMT
@given(t=F64)
def test_sum(fmt, t):
    A, S = make_pair(t, fmt)
    for axis in AXES:
        got = A.sum(axis=axis)
        exp = S.sum(axis=axis)
        assert np.ndim(got) == (0 if axis is None else 1)
        assert_close(got, exp, err_msg=f"axis={axis}")
        assert_close(got, t.dense().sum(axis=axis), err_msg=f"axis={axis}")
    out = np.zeros(t.shape[1])
    assert A.sum(axis=0, out=out) is out
    assert_close(out, t.dense().sum(axis=0))
    assert_close(A.sum(axis=(0, 1)), t.dense().sum())


@FMT
@given(t=F64)
def test_mean(fmt, t):
    A, S = make_pair(t, fmt)
    for axis in AXES:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            got = A.mean(axis=axis)
            try:
                exp = S.mean(axis=axis)
            except ZeroDivisionError:  # scipy on 0-sized arrays; NumPy gives nan
                exp = t.dense().mean(axis=axis)
        assert np.ndim(got) == (0 if axis is None else 1)
        assert_close(got, exp, err_msg=f"axis={axis}")


def _scipy_extreme(S, name, axis, explicit=False):
    try:
        r = getattr(S, name)(axis=axis, explicit=explicit)
    except ValueError:
        return ValueError
    return _dense(r)


@FMT
@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("explicit", [False, True])
@given(t=F64)
def test_max_min(fmt, name, explicit, t):
    A, S = make_pair(t, fmt)
    for axis in AXES:
        exp = _scipy_extreme(S, name, axis, explicit)
        if exp is ValueError:
            with pytest.raises(ValueError):
                getattr(A, name)(axis=axis, explicit=explicit)
            continue
        got = getattr(A, name)(axis=axis, explicit=explicit)
        if axis is not None:
            assert isinstance(got, np.ndarray) and got.ndim == 1
        assert_close(got, exp, err_msg=f"axis={axis}")
        if not explicit:
            assert_close(got, getattr(t.dense(), name)(axis=axis), err_msg=f"axis={axis}")


@FMT
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_complex_raises(fmt, name):
    A = SL_CLASS[fmt](np.array([[1 + 1j, 0], [0, 2]]))
    with pytest.raises(TypeError):
        getattr(A, name)()
    with pytest.raises(TypeError):
        getattr(A, name)(axis=0)


@FMT
@given(t=F64, k=st.integers(-45, 45))
def test_diagonal(fmt, t, k):
    A, S = make_pair(t, fmt)
    if fmt == "bsr":
        S = make_scipy(t, "csr")  # scipy's bsr_array.diagonal can segfault (scipy 1.17)
    m, n = t.shape
    for kk in {k, 0, 1, -1, n - 1, -(m - 1), n, -m}:
        got = A.diagonal(kk)
        exp = S.diagonal(kk)
        assert isinstance(got, np.ndarray) and got.ndim == 1
        assert_close(got, exp, err_msg=f"k={kk}")
        assert_close(got, np.diagonal(t.dense(), kk))


@FMT
@given(t=F64, k=st.integers(-5, 5))
def test_trace(fmt, t, k):
    A = make_sparsela(t, fmt)
    S = make_scipy(t, "csr" if fmt == "bsr" else fmt)  # scipy bsr diagonal can segfault
    assert_close(A.trace(), S.trace())
    assert_close(A.trace(k), np.trace(t.dense(), k))


@FMT
@given(t=F64)
def test_count_nonzero(fmt, t):
    A = make_sparsela(t, fmt)
    S = make_scipy(t, "csr" if fmt == "bsr" else fmt)  # scipy bsr lacks the axis form
    for axis in AXES:
        got = A.count_nonzero(axis=axis)
        exp = np.count_nonzero(t.dense(), axis=axis)
        assert_close(got, exp, check_dtype=False, err_msg=f"axis={axis}")
        assert_close(got, S.count_nonzero(axis=axis), check_dtype=False)


# =========================================================================== #
# indexing
# =========================================================================== #
def _index_result(R, fmt):
    assert isinstance(R, sl.SparseArray)
    R.check_format(full_check=True)
    if fmt in ("csr", "csc", "coo"):
        assert R.format == fmt
    return R.toarray()


@FMT
@given(t=F64, data=st.data())
def test_row_slicing(fmt, t, data):
    A = make_sparsela(t, fmt)
    d = t.dense()
    m = t.shape[0]
    key = data.draw(st.slices(max(m, 1)) | st.just(slice(None)) | st.just(slice(-3, None)),
                    label="slice")
    got = _index_result(A[key], fmt)
    assert_close(got, d[key], err_msg=str(key))
    assert_close(_index_result(A[key, :], fmt), d[key])


@FMT
@given(t=coo_triplets(dtypes=[np.float64], min_dim=1), data=st.data())
def test_integer_row_index(fmt, t, data):
    A = make_sparsela(t, fmt)
    d = t.dense()
    m = t.shape[0]
    i = data.draw(st.integers(-m, m - 1), label="i")
    for key in (i, np.int64(i), np.int32(i)):
        got = _index_result(A[key], fmt)
        assert got.shape == (1, t.shape[1])  # documented: A[i] is 2-D (1, N)
        assert_close(got, d[i][None, :])


@FMT
@given(t=F64, data=st.data())
def test_array_row_index(fmt, t, data):
    A = make_sparsela(t, fmt)
    d = t.dense()
    m = t.shape[0]
    rows = data.draw(st.lists(st.integers(-m, m - 1), max_size=12) if m else st.just([]),
                     label="rows")
    for key in (rows, np.array(rows, dtype=np.int64), np.array(rows, dtype=np.int32)):
        if isinstance(key, list) and not key:
            continue
        got = _index_result(A[key], fmt)
        assert_close(got, d[np.asarray(key, dtype=np.int64)])
    got = _index_result(A[np.array(rows, dtype=np.intp), :], fmt)
    assert_close(got, d[np.array(rows, dtype=np.intp)])


@FMT
@given(t=F64, data=st.data())
def test_boolean_row_index(fmt, t, data):
    A = make_sparsela(t, fmt)
    d = t.dense()
    m = t.shape[0]
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=m, max_size=m), label="mask"),
                    dtype=bool)
    assert_close(_index_result(A[mask], fmt), d[mask])


@FMT
@given(t=coo_triplets(dtypes=[np.float64, np.int32, np.complex64], min_dim=1), data=st.data())
def test_scalar_index(fmt, t, data):
    A = make_sparsela(t, fmt)
    d = t.dense()
    m, n = t.shape
    i = data.draw(st.integers(-m, m - 1), label="i")
    j = data.draw(st.integers(-n, n - 1), label="j")
    got = A[i, j]
    assert np.ndim(got) == 0
    assert np.asarray(got).dtype == d.dtype
    assert_close(np.asarray(got), np.asarray(d[i, j]))


# =========================================================================== #
# elementwise arithmetic
# =========================================================================== #
@FMT
@pytest.mark.parametrize("other_fmt", ["same", "csr", "scipy"])
@given(pair=F64_PAIR)
def test_multiply_sparse(fmt, other_fmt, pair):
    a, b = pair
    A = make_sparsela(a, fmt)
    if other_fmt == "scipy":
        B = make_scipy(b, "csr")
    else:
        B = make_sparsela(b, fmt if other_fmt == "same" else other_fmt,
                          blocksize=a.blocksize if fmt == "bsr" else None)
    exp = a.dense() * b.dense()
    for R in (A.multiply(B), A * B):
        _check(R)
        assert _no_stored_zeros(R), "elementwise results drop zeros (as SciPy)"
        assert_close(R.toarray(), exp)
    S = make_scipy(a, fmt).multiply(make_scipy(b, "csr"))
    assert_close(A.multiply(B).toarray(), _dense(S))


@FMT
@given(t=F64)
def test_multiply_scalar(fmt, t):
    A, S = make_pair(t, fmt)
    d = t.dense()
    for scalar in (2, -0.5, 0, 1j, np.float32(3), np.int64(-3)):
        for R in (A * scalar, scalar * A, A.multiply(scalar), A.dot(scalar)):
            _check(R, fmt)
            assert R.dtype == (S * scalar).dtype
            assert_close(R.toarray(), d * scalar)


@FMT
@given(t=F64)
def test_multiply_broadcast_dense(fmt, t):
    A, S = make_pair(t, fmt)
    m, n = t.shape
    for kind, shape in {"row": (1, n), "col": (m, 1), "full": (m, n), "1d": (n,),
                        "scalar2d": (1, 1)}.items():
        X = dense_operand(shape, np.float64, seed=m * 100 + n)
        exp = t.dense() * X
        for R in (A.multiply(X), A * X, X * A):
            assert sl.issparse(R), kind
            R.check_format(full_check=True)
            assert R.shape == t.shape
            assert_close(R.toarray(), exp, err_msg=kind)
        assert_close(A.multiply(X).toarray(), _dense(S.multiply(X)), err_msg=kind)


@FMT
@pytest.mark.parametrize("op", ["add", "sub"])
@pytest.mark.parametrize("other_fmt", ["same", "csr", "scipy"])
@given(pair=F64_PAIR)
def test_add_sub_sparse(fmt, op, other_fmt, pair):
    a, b = pair
    A = make_sparsela(a, fmt)
    if other_fmt == "scipy":
        B = make_scipy(b, "csc")
    else:
        B = make_sparsela(b, fmt if other_fmt == "same" else other_fmt,
                          blocksize=a.blocksize if fmt == "bsr" else None)
    f = operator.add if op == "add" else operator.sub
    R = f(A, B)
    _check(R)
    assert _no_stored_zeros(R), "elementwise results drop zeros (as SciPy)"
    assert R.has_canonical_format
    assert_close(R.toarray(), f(a.dense(), b.dense()))
    E = f(make_scipy(a, fmt), make_scipy(b, "csr"))
    assert R.dtype == E.dtype
    assert_close(R.toarray(), E.toarray())
    E = f(make_scipy(a, "csr"), make_scipy(b, "csr"))
    assert R.nnz == E.nnz


@FMT
@given(t=F64)
def test_add_sub_dense(fmt, t):
    A, S = make_pair(t, fmt)
    X = dense_operand(t.shape, np.float64, seed=3)
    Xr = dense_operand((1, t.shape[1]), np.float64, seed=4)  # a broadcast row
    d = t.dense()
    for f in (operator.add, operator.sub):
        for got, exp, sexp in ((f(A, X), f(d, X), f(S, X)), (f(X, A), f(X, d), f(X, S))):
            assert isinstance(got, np.ndarray) and isinstance(sexp, np.ndarray)
            assert_close(got, exp, err_msg=f.__name__)
        assert_close(f(A, Xr), f(d, Xr), err_msg=f.__name__)


@FMT
@given(t=F64)
def test_add_scalar(fmt, t):
    A = make_sparsela(t, fmt)
    d = t.dense()
    for R in (A + 0, 0 + A, A - 0):
        _check(R)
        assert_close(R.toarray(), d)
    with pytest.raises(NotImplementedError):
        A + 1
    with pytest.raises(NotImplementedError):
        1.5 + A
    with pytest.raises(NotImplementedError):
        A - 2


@FMT
@given(t=coo_triplets(dtypes=[np.float64, np.int64]))
def test_divide_scalar(fmt, t):
    A, S = make_pair(t, fmt)
    for scalar in (2, 0.5, -4.0, 1j):
        R = A / scalar
        _check(R, fmt)
        E = S / scalar
        assert R.dtype == E.dtype
        assert_close(R.toarray(), t.dense() / scalar)
        assert_close(R.toarray(), E.toarray())


@FMT
@given(t=F64)
def test_unary(fmt, t):
    A, S = make_pair(t, fmt)
    d = t.dense()
    N = -A
    _check(N, fmt)
    assert_close(N.toarray(), -d)
    P = +A
    assert_close(P.toarray(), d)
    # abs and power act on the matrix (duplicates summed), not on raw stored entries
    B = abs(A)
    _check(B, fmt)
    assert_close(B.toarray(), np.abs(d))
    assert_close(B.toarray(), abs(S).toarray())
    assert_close(A.toarray(), d)


@FMT
@given(t=coo_triplets(dtypes=[np.float64]))
def test_power(fmt, t):
    d = t.dense()
    for n in (2, 3, 0.5):
        A, S = make_pair(t, fmt)
        with np.errstate(invalid="ignore"):
            R = A.power(n)
            exp = d ** n
            E = S.power(n).toarray()
        _check(R, fmt)
        assert_close(R.toarray(), exp, err_msg=f"n={n}")
        assert_close(R.toarray(), E, err_msg=f"n={n}")


@FMT
@given(t=coo_triplets(dtypes=[np.complex128]))
def test_abs_complex(fmt, t):
    A, S = make_pair(t, fmt)
    B = abs(A)
    assert B.dtype == abs(S).dtype == np.float64
    assert_close(B.toarray(), np.abs(t.dense()))


# =========================================================================== #
# comparisons, maximum/minimum
# =========================================================================== #
COMPARE_OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
               "<=": operator.le, ">=": operator.ge}


def _warns_sparse_eff(fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = fn()
    names = [type(x.message).__name__ for x in w
             if issubclass(x.category, (sl.SparseEfficiencyWarning, sp.SparseEfficiencyWarning))]
    return r, bool(names)


@FMT
@pytest.mark.parametrize("op", list(COMPARE_OPS))
@given(pair=F64_PAIR)
def test_compare_sparse(fmt, op, pair):
    a, b = pair
    f = COMPARE_OPS[op]
    A = make_sparsela(a, fmt)
    B = make_sparsela(b, fmt, blocksize=a.blocksize if fmt == "bsr" else None)
    R, warned = _warns_sparse_eff(lambda: f(A, B))
    E, sp_warned = _warns_sparse_eff(lambda: f(make_scipy(a, "csr"), make_scipy(b, "csr")))
    _check(R)
    assert R.dtype == np.bool_ and E.dtype == np.bool_
    assert_close(R.toarray(), f(a.dense(), b.dense()))
    assert_close(R.toarray(), E.toarray())
    assert warned == sp_warned, f"SparseEfficiencyWarning: sparsela {warned}, scipy {sp_warned}"
    # mixed formats too
    R2, _ = _warns_sparse_eff(lambda: f(A, make_sparsela(b, "csr")))
    assert_close(R2.toarray(), f(a.dense(), b.dense()))


@FMT
@pytest.mark.parametrize("op", list(COMPARE_OPS))
@given(t=F64)
def test_compare_scalar(fmt, op, t):
    f = COMPARE_OPS[op]
    A, S = make_pair(t, fmt)
    for scalar in (0, 1, -1, 0.5, -0.5):
        R, warned = _warns_sparse_eff(lambda: f(A, scalar))
        E, sp_warned = _warns_sparse_eff(lambda: f(S, scalar))
        msg = f"A {op} {scalar}"
        assert sl.issparse(R) == sp.issparse(E), msg
        if sl.issparse(R):
            R.check_format(full_check=True)
        assert np.asarray(_dense(R)).dtype == np.bool_, msg
        assert_close(_dense(R), f(t.dense(), scalar), err_msg=msg)
        assert warned == sp_warned, \
            f"{msg}: SparseEfficiencyWarning from sparsela {warned}, from scipy {sp_warned}"


@FMT
@given(t=F64)
def test_compare_dense(fmt, t):
    A, S = make_pair(t, fmt)
    X = dense_operand(t.shape, np.float64, seed=5)
    for op, f in COMPARE_OPS.items():
        R = f(A, X)
        E = f(S, X)
        assert sl.issparse(R) == sp.issparse(E), op
        assert_close(_dense(R), f(t.dense(), X), err_msg=op)


@FMT
@pytest.mark.parametrize("op", ["<", ">", "<=", ">="])
def test_compare_complex_ordering_raises(fmt, op):
    A = SL_CLASS[fmt](np.array([[1 + 1j, 0], [0, 2]]))
    with pytest.raises(TypeError):
        COMPARE_OPS[op](A, A)
    with pytest.raises(TypeError):
        COMPARE_OPS[op](A, 1)


@FMT
@pytest.mark.parametrize("name", ["maximum", "minimum"])
@given(pair=F64_PAIR)
def test_maximum_minimum_sparse(fmt, name, pair):
    a, b = pair
    A = make_sparsela(a, fmt)
    B = make_sparsela(b, fmt, blocksize=a.blocksize if fmt == "bsr" else None)
    R = getattr(A, name)(B)
    _check(R)
    assert _no_stored_zeros(R)
    assert_close(R.toarray(), getattr(np, name)(a.dense(), b.dense()))
    E = getattr(make_scipy(a, "csr"), name)(make_scipy(b, "csr"))
    assert_close(R.toarray(), E.toarray())


@FMT
@pytest.mark.parametrize("name", ["maximum", "minimum"])
@given(t=F64)
def test_maximum_minimum_scalar(fmt, name, t):
    A, S = make_pair(t, fmt)
    for scalar in (0, 1, -1, 2.5, -0.5):
        msg = f"A.{name}({scalar})"
        R, warned = _warns_sparse_eff(lambda: getattr(A, name)(scalar))
        E, sp_warned = _warns_sparse_eff(lambda: getattr(S, name)(scalar))
        assert sl.issparse(R)
        R.check_format(full_check=True)
        assert_close(R.toarray(), getattr(np, name)(t.dense(), scalar), err_msg=msg)
        assert_close(R.toarray(), _dense(E), err_msg=msg)
        assert warned == sp_warned, \
            f"{msg}: SparseEfficiencyWarning from sparsela {warned}, from scipy {sp_warned}"


# =========================================================================== #
# products
# =========================================================================== #
@FMT
@pytest.mark.parametrize("other_fmt", ["same", "csr", "csc", "scipy"])
@given(pair=matmul_pair(dtypes=[np.float64]))
def test_matmul_sparse(fmt, other_fmt, pair):
    a, b = pair
    A = make_sparsela(a, fmt)
    if other_fmt == "scipy":
        B = make_scipy(b, "csr")
    else:
        B = make_sparsela(b, fmt if other_fmt == "same" else other_fmt)
    exp = a.dense() @ b.dense()
    R = A @ B
    _check(R)
    assert R.shape == exp.shape and R.dtype == exp.dtype
    assert_close(R.toarray(), exp)
    assert_close(A.dot(B).toarray(), exp)
    E = make_scipy(a, fmt) @ make_scipy(b, "csr")
    assert_close(R.toarray(), E.toarray())
    # scipy on the left
    R2 = make_scipy(a, "csr") @ make_sparsela(b, "csr")
    assert_close(_dense(R2), exp)


@FMT
@given(pair=matmul_pair(dtypes=[np.float64]), ncols=st.integers(0, 5),
       order=st.sampled_from("CF"))
def test_matmul_dense(fmt, pair, ncols, order):
    a, _ = pair
    A, S = make_pair(a, fmt)
    d = a.dense()
    m, k = a.shape
    x = dense_operand((k,), np.float64, seed=1)
    X = dense_operand((k, ncols), np.float64, seed=2, order=order)
    y = A @ x
    assert isinstance(y, np.ndarray) and y.shape == (m,)
    assert_close(y, d @ x)
    # SciPy 1.17's coo_array returns a 0-d result for a one-row matrix times a
    # vector; NumPy (and sparsela) keep shape (1,), so compare values only.
    assert_close(y, np.reshape(S @ x, y.shape))
    assert_close(A.dot(x), d @ x)
    Y = A @ X
    assert isinstance(Y, np.ndarray) and Y.shape == (m, ncols)
    assert_close(Y, d @ X)
    if k and ncols:
        assert_close(A @ X.tolist(), d @ X)
    # dense on the left
    z = dense_operand((m,), np.float64, seed=3)
    Z = dense_operand((ncols, m), np.float64, seed=4, order=order)
    assert_close(z @ A, z @ d)
    assert_close(Z @ A, Z @ d)
    assert_close(Z @ A, Z @ S)


@FMT
@pytest.mark.parametrize("shape", [(1, 1), (1, 3)])
def test_one_row_matvec_keeps_shape(fmt, shape):
    # NumPy gives shape (1,) here; SciPy 1.17's coo_array gives a 0-d result.
    d = np.arange(1.0, shape[1] + 1)[None, :]
    A = sl.csr_array(d).asformat(fmt)
    x = np.ones(shape[1])
    y = A @ x
    assert y.shape == (1,)
    assert_close(y, d @ x)


@FMT
@given(t=F64)
def test_check_format_and_repr(fmt, t):
    A, S = make_pair(t, fmt)
    A.check_format(full_check=True)
    A.check_format(full_check=False)
    assert repr(A) == repr(S)
    r = repr(A)
    assert str(t.dtype) in r and str(A.nnz) in r and str(t.shape) in r


# =========================================================================== #
# dtype sweep: a representative set of operations on every dtype
# =========================================================================== #
@FMT
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@settings(max_examples=8)
@given(data=st.data())
def test_dtype_sweep(fmt, dtype, data):
    with force_parallel():  # every dtype through the multi-threaded kernels too
        _dtype_sweep(fmt, dtype, data)


def _dtype_sweep(fmt, dtype, data):
    # bool duplicates have their own tests (test_bool_duplicates_*)
    dup = dtype != np.bool_
    a = data.draw(coo_triplets(dtypes=[dtype], max_dim=20, duplicates=dup), label="a")
    b = data.draw(coo_triplets(dtypes=[dtype], shape=a.shape, duplicates=dup), label="b")
    c = data.draw(coo_triplets(dtypes=[dtype], shape=(a.shape[1], 7), duplicates=dup),
                  label="c")
    A, S = make_pair(a, fmt)
    B = make_sparsela(b, fmt, blocksize=a.blocksize if fmt == "bsr" else None)
    C = make_sparsela(c, "csr")
    da, db, dc = a.dense(), b.dense(), c.dense()
    assert A.dtype == dtype
    assert_close(A.toarray(), da)
    for target in FORMATS:
        R = A.asformat(target)
        assert R.dtype == dtype
        assert_close(R.toarray(), da)
    assert_close(A.T.toarray(), da.T)
    for axis in (None, 0, 1):
        assert_close(A.sum(axis=axis), S.sum(axis=axis))
    if dtype.kind != "c":
        for axis in (None, 0, 1):
            exp = _scipy_extreme(S, "max", axis)
            if exp is not ValueError:
                assert_close(A.max(axis=axis), exp)
    assert_close(A.diagonal(), da.diagonal())
    x = dense_operand((a.shape[1],), dtype, seed=1)
    X = dense_operand((a.shape[1], 3), dtype, seed=2)
    assert_close(A @ x, da @ x)
    assert_close(A @ X, da @ X)
    P = A @ C
    assert P.dtype == (da @ dc).dtype
    assert_close(P.toarray(), da @ dc)
    R = A * 2
    assert_close(R.toarray(), da * 2)
    SS = make_scipy(a, fmt)
    for scalar in (2, 2.5, np.float32(2), 1j):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert (A * scalar).dtype == (SS * scalar).dtype, f"A * {scalar!r}"
            if dtype != np.bool_:
                # NumPy's rule (SciPy upcasts float32 / scalar to float64)
                assert (A / scalar).dtype == (da / scalar).dtype, f"A / {scalar!r}"
    Sm = A.multiply(B)
    assert_close(Sm.toarray(), da * db)
    Ad = A + B
    assert_close(Ad.toarray(), da + db)
    assert_close(Ad.toarray(), (make_scipy(a, fmt) + make_scipy(b, "csr")).toarray())
    Ne = A != B
    assert Ne.dtype == np.bool_
    assert_close(Ne.toarray(), da != db)
    if dtype != np.bool_:
        assert_close((-A).toarray(), -da)
        assert_close((A - B).toarray(), da - db)


@pytest.mark.parametrize("da", REPR_DTYPES, ids=str)
@pytest.mark.parametrize("db", REPR_DTYPES, ids=str)
@settings(max_examples=8)
@given(data=st.data())
def test_mixed_dtype_promotion(da, db, data):
    # bool duplicates have their own tests (test_bool_duplicates_*)
    a = data.draw(coo_triplets(dtypes=[da], max_dim=12, duplicates=da != np.bool_), label="a")
    b = data.draw(coo_triplets(dtypes=[db], shape=a.shape, duplicates=db != np.bool_),
                  label="b")
    c = data.draw(coo_triplets(dtypes=[db], shape=(a.shape[1], 4),
                               duplicates=db != np.bool_), label="c")
    A, B, C = make_sparsela(a, "csr"), make_sparsela(b, "csr"), make_sparsela(c, "csr")
    SA, SB, SC = make_scipy(a, "csr"), make_scipy(b, "csr"), make_scipy(c, "csr")
    P = A @ C
    assert P.dtype == (SA @ SC).dtype
    assert_close(P.toarray(), a.dense() @ c.dense())
    Ad = A + B
    assert Ad.dtype == (SA + SB).dtype
    assert_close(Ad.toarray(), a.dense() + b.dense())
    M = A.multiply(B)
    assert M.dtype == SA.multiply(SB).dtype
    assert_close(M.toarray(), a.dense() * b.dense())
    x = dense_operand((a.shape[1],), db, seed=1)
    y = A @ x
    assert y.dtype == (SA @ x).dtype
    assert_close(y, a.dense() @ x)


# --------------------------------------------------------------------------- #
# bool arrays with duplicate entries: toarray() combines them as logical OR
# --------------------------------------------------------------------------- #
@FMT
@given(t=coo_triplets(dtypes=[np.bool_], bool_duplicates=True))
def test_bool_duplicates_reductions(fmt, t):
    """sum/mean/count_nonzero of a bool array with duplicates agree with toarray()
    (and with SciPy, which sums duplicates before reducing)."""
    A, S = make_pair(t, fmt)
    d = t.dense()
    for axis in (None, 0, 1):
        assert_close(A.sum(axis=axis), d.sum(axis=axis), err_msg=f"sum axis={axis}")
        assert_close(A.sum(axis=axis), S.sum(axis=axis), err_msg=f"sum axis={axis}")
        assert_close(A.count_nonzero(axis=axis), np.count_nonzero(d, axis=axis),
                     check_dtype=False, err_msg=f"count_nonzero axis={axis}")
    if d.size:
        assert_close(A.mean(), d.mean())
    assert_close(A.trace(), np.trace(d))


@FMT
@given(pair=matmul_pair(dtypes=[np.bool_], bool_duplicates=True))
def test_bool_duplicates_products_follow_toarray(fmt, pair):
    """Products of a bool array with duplicates by a numeric operand equal the
    products of its toarray() (a duplicated True is one True, not 2).
    Note: SciPy upcasts before summing duplicates and gives 2 here."""
    a, b = pair
    A = make_sparsela(a, fmt)
    d = a.dense()
    x = dense_operand((a.shape[1],), np.float64, seed=1)
    X = dense_operand((a.shape[1], 3), np.int64, seed=2)
    assert_close(A @ x, d @ x)
    assert_close(A @ X, d @ X)
    B = make_sparsela(b, "csr")
    B.sum_duplicates()
    B = B.astype(np.float32)  # canonical first: the cast itself is not under test
    assert_close((A @ B).toarray(), d @ b.dense().astype(np.float32))
    assert_close((A + A).toarray(), d + d)
    assert_close((A @ make_sparsela(b, "csr")).toarray(), d @ b.dense())


# =========================================================================== #
# NaN and infinities: NumPy's semantics on the dense array
# =========================================================================== #
@st.composite
def _with_nonfinite(draw, dtypes=(np.float64,)):
    t = draw(coo_triplets(dtypes=list(dtypes), max_dim=12))
    if t.data.size:
        k = draw(st.integers(1, max(1, t.data.size // 3)))
        pos = draw(st.lists(st.integers(0, t.data.size - 1), min_size=k, max_size=k))
        vals = draw(st.lists(st.sampled_from([np.nan, np.inf, -np.inf, np.nan]),
                             min_size=k, max_size=k))
        data = t.data.copy()
        data[pos] = vals
        t = type(t)(data, t.row, t.col, t.shape, t.blocksize)
    return t


@FMT
@given(pair=st.data())
def test_nan_and_inf_follow_numpy(fmt, pair):
    """Comparisons, max/min, maximum/minimum, reductions and elementwise products
    with NaN/inf stored values give what NumPy gives on toarray()."""
    a = pair.draw(_with_nonfinite(), label="a")
    b = pair.draw(_with_nonfinite(), label="b_raw")
    if a.shape[0] and a.shape[1]:  # b's entries folded into a's shape
        b = type(b)(b.data, b.row % a.shape[0], b.col % a.shape[1], a.shape, a.blocksize)
    else:
        b = type(a)(a.data[:0], a.row[:0], a.col[:0], a.shape, a.blocksize)
    A = make_sparsela(a, fmt)
    B = make_sparsela(b, fmt, blocksize=a.blocksize if fmt == "bsr" else None)
    da, db = a.dense(), b.dense()
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for op, f in COMPARE_OPS.items():
            assert_close(f(A, B).toarray(), f(da, db), err_msg=f"A {op} B")
            for s in (0, 1.0, -1.0, np.inf):
                assert_close(_dense(f(A, s)), f(da, s), err_msg=f"A {op} {s}")
        for name in ("maximum", "minimum"):
            assert_close(getattr(A, name)(B).toarray(), getattr(np, name)(da, db), err_msg=name)
            for s in (0, 2.0, -2.0):
                assert_close(getattr(A, name)(s).toarray(), getattr(np, name)(da, s),
                             err_msg=f"{name}({s})")
        for axis in (None, 0, 1):
            assert_close(A.sum(axis=axis), da.sum(axis=axis), err_msg=f"sum axis={axis}")
            if da.size:
                for name in ("max", "min"):
                    if axis is not None and da.shape[axis] == 0:
                        continue
                    assert_close(getattr(A, name)(axis=axis), getattr(da, name)(axis=axis),
                                 err_msg=f"{name} axis={axis}")
            assert_close(A.count_nonzero(axis=axis), np.count_nonzero(da, axis=axis),
                         check_dtype=False, err_msg=f"count_nonzero axis={axis}")
        # 0 * inf and 0 * nan are NaN, also where one operand has an implicit zero
        # (SciPy's sparse * sparse agrees with NumPy here)
        assert_close(A.multiply(B).toarray(), da * db, err_msg="A.multiply(B)")
        assert_close(A.multiply(B).toarray(),
                     make_scipy(a, "csr").multiply(make_scipy(b, "csr")).toarray())
        assert_close((A + B).toarray(), da + db)
        x = dense_operand((a.shape[1],), np.float64, seed=1)  # finite: no 0 * inf
        assert_close(A @ x, da @ x)
