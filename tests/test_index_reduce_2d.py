"""2-D indexing, NumPy-style reductions, pickling and thread-safe kernel loading.

What a SciPy/NumPy user (and Dask, which slices chunks with ``A[r0:r1, c0:c1]``
and reduces them with ``np.sum(chunk, axis=(0,), keepdims=True)``) expects of
the core, checked against SciPy's ``csr_array`` and dense NumPy:

* ``A[rows, cols]`` for every row key and a column key that is an int, a
  slice (any step), an integer array or a mask; ``...``; the format is kept
  (BSR gives CSR); an int keeps its axis with length 1 (sparsela is 2-D);
  stored duplicates are kept, as in SciPy;
* ``sum``/``mean``/``max``/``min``/``count_nonzero`` with ``axis`` tuples,
  ``keepdims`` and ``out``;
* unpickling replaces unaligned or read-only buffers by aligned, writeable
  copies (what ``distributed`` hands a worker), while a user's read-only
  buffers are kept as they are;
* ``sparsela.backends.lazy`` loads kernel modules safely from many threads.
"""
from __future__ import annotations

import ast
import pickle
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import (
    FORMATS,
    assert_close,
    assert_unchanged,
    coo_triplets,
    make_pair,
    make_scipy,
    make_sparsela,
    raw_arrays,
)
from hypothesis import given
from hypothesis import strategies as st

import sparsela as sl
from sparsela.formats._base import SparseArray

FMT = pytest.mark.parametrize("fmt", FORMATS)
INDEX_DTYPES_2D = [np.float64, np.float32, np.complex64, np.int32, np.bool_]


# --------------------------------------------------------------------------- #
# key strategies
# --------------------------------------------------------------------------- #
def _axis_keys(n: int, *, arrays: bool = True):
    """A key for an axis of length ``n``: int, slice, integer array/list or mask."""
    keys = [st.slices(max(n, 1)), st.just(slice(None)),
            st.builds(slice, st.integers(-n - 3, n + 3) | st.none(),
                      st.integers(-n - 3, n + 3) | st.none(),
                      st.sampled_from([-3, -2, -1, 1, 2, 5]))]
    if n:
        keys.append(st.integers(-n, n - 1))
    if arrays:
        ints = st.lists(st.integers(-n, n - 1), max_size=8) if n else st.just([])
        keys += [ints,
                 ints.map(lambda v: np.array(v, dtype=np.int64)),
                 ints.map(lambda v: np.array(v, dtype=np.int32)),
                 st.lists(st.booleans(), min_size=n, max_size=n).map(
                     lambda v: np.array(v, dtype=bool))]
    return st.one_of(*keys)


def _is_array(k) -> bool:
    return not isinstance(k, (int, slice))


def _dense_positions(k, n: int) -> np.ndarray:
    """The positions key ``k`` selects on an axis of length ``n`` (an int keeps its axis)."""
    if isinstance(k, int):
        return np.array([k % n])
    if isinstance(k, slice):
        return np.arange(n)[k]
    arr = np.asarray(k)
    if arr.dtype == bool:
        return np.flatnonzero(arr)
    return arr.astype(np.int64) % max(n, 1)


def _scipy_key(k, n: int):
    """``k`` for SciPy so that it keeps the axis: an int becomes a length-1 slice."""
    if isinstance(k, int):
        i = k % n
        return slice(i, i + 1)
    if isinstance(k, list):
        return np.array(k, dtype=np.intp)  # an empty list is a float array to SciPy
    return k


def _expected_format(fmt: str) -> str:
    return "csr" if fmt == "bsr" else fmt


# --------------------------------------------------------------------------- #
# 2-D indexing
# --------------------------------------------------------------------------- #
@FMT
@given(t=coo_triplets(dtypes=INDEX_DTYPES_2D, max_dim=12), data=st.data())
def test_2d_keys_match_scipy_and_numpy(fmt, t, data):
    A = make_sparsela(t, fmt)
    S = make_scipy(t, "csc" if fmt == "csc" else "csr")
    D = t.dense()
    m, n = t.shape
    r = data.draw(_axis_keys(m), label="rows")
    c = data.draw(_axis_keys(n, arrays=not _is_array(r)), label="cols")
    before = raw_arrays(A)
    out = A[r, c]
    assert_unchanged(A, before, "A")
    if isinstance(r, int) and isinstance(c, int):
        assert np.ndim(out) == 0
        assert_close(np.asarray(out), np.asarray(D[r, c]))
        return
    assert isinstance(out, SparseArray) and out.format == _expected_format(fmt)
    exp = D[_dense_positions(r, m)][:, _dense_positions(c, n)]
    assert out.shape == exp.shape and out.dtype == D.dtype
    assert_close(out.toarray(), exp, err_msg=f"A[{r!r}, {c!r}]")
    # Ellipsis stands for the full axes
    assert_close(A[..., c].toarray(), D[:, _dense_positions(c, n)])
    assert_close(A[r, ...].toarray(), D[_dense_positions(r, m)])
    # SciPy (its CSR/CSC keep stored duplicates, as sparsela does)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sp.SparseEfficiencyWarning)
        try:
            ref = S[_scipy_key(r, m), _scipy_key(c, n)]
        except ValueError:
            # SciPy 1.17 fails on some selections with an empty result (e.g.
            # ([0], ::-1) of a 2 x 0 array, or a row mask with an empty column
            # slice) and on an index array with a strided slice (([-1], ::2)
            # "cannot reshape"); NumPy above is the oracle there
            strided = any(isinstance(k, slice) and k.step not in (None, 1) for k in (r, c))
            if exp.size and not ((_is_array(r) or _is_array(c)) and strided):
                raise
            return
    # SciPy 1.17 answers an index array with a negative-step slice by a dense
    # ndarray, with wrong values (S[[0, 0], 1:0:-1] of [[6, -4, 0]] gives
    # [-4, 0]); NumPy above is the oracle there
    if sp.issparse(ref):
        assert_close(out.toarray(), ref.toarray())
    if fmt in ("csr", "csc"):
        # stored duplicates are kept: one stored entry per selected triplet
        count = np.zeros(t.shape, dtype=np.int64)
        np.add.at(count, (t.row, t.col), 1)
        assert out.nnz == count[_dense_positions(r, m)][:, _dense_positions(c, n)].sum()


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@given(t=coo_triplets(dtypes=[np.float64, np.complex128], index_dtypes=[np.int64], max_dim=10),
       data=st.data())
def test_2d_keys_int64_indices(fmt, t, data):
    A = make_sparsela(t, fmt)
    # the constructors shrink int64 indices that fit to int32; keep them int64
    if fmt == "coo":
        A = sl.coo_array._from_arrays(A.data, A.row.astype(np.int64), A.col.astype(np.int64),
                                      A.shape)
    else:
        A = type(A)._from_arrays(A.data, A.indices.astype(np.int64),
                                 A.indptr.astype(np.int64), A.shape)
    D = t.dense()
    m, n = t.shape
    r = data.draw(_axis_keys(m), label="rows")
    c = data.draw(_axis_keys(n, arrays=not _is_array(r)), label="cols")
    out = A[r, c]
    if isinstance(r, int) and isinstance(c, int):
        assert_close(np.asarray(out), np.asarray(D[r, c]))
        return
    assert_close(out.toarray(), D[_dense_positions(r, m)][:, _dense_positions(c, n)])
    if fmt != "coo":
        assert out.indices.dtype == out.indptr.dtype == np.int64


@FMT
def test_int_keeps_its_axis_and_scalar_entries(fmt):
    D = np.arange(20.0).reshape(4, 5) * (np.arange(20).reshape(4, 5) % 3 == 0)
    A = sl.csr_array(D).asformat(fmt)
    assert A[1].shape == (1, 5) and A[1, :].shape == (1, 5)
    assert A[:, 2].shape == (4, 1) and A[..., -1].shape == (4, 1)
    assert A[2, 1:4].shape == (1, 3) and A[[3, 0], 4].shape == (2, 1)
    assert A[1, 3] == D[1, 3] and A[..., 3, 0] == D[3, 0] and np.ndim(A[-1, -2]) == 0
    full = A[...]
    assert full.shape == (4, 5) and full.format == _expected_format(fmt)
    np.testing.assert_array_equal(full.toarray(), D)
    np.testing.assert_array_equal(A[()].toarray(), D)


@pytest.mark.parametrize("shape", [(0, 5), (4, 0), (0, 0)])
@FMT
def test_empty_shapes(fmt, shape):
    A = sl.csr_array(shape).asformat(fmt) if fmt != "bsr" else sl.bsr_array(shape)
    m, n = shape
    D = np.zeros(shape)
    for r, c in [(slice(None), slice(1, 3)), (slice(None, None, -1), [0] * (n > 0)),
                 (slice(0, 0), slice(None)), (np.zeros(m, bool), slice(None, None, 2)),
                 (Ellipsis, slice(2, 1))]:
        out = A[r, c]
        exp = D[r][:, c]
        assert out.shape == exp.shape, (r, c, out.shape, exp.shape)
        assert out.nnz == 0


def test_duplicates_are_kept_not_summed():
    # row 0 stores column 2 twice; SciPy keeps both entries under indexing too
    data, indices, indptr = [1.0, 2.0, 3.0], [2, 0, 2], [0, 3, 3]
    A = sl.csr_array((np.array(data), np.array(indices), np.array(indptr)), shape=(2, 4))
    S = sp.csr_array((np.array(data), np.array(indices), np.array(indptr)), shape=(2, 4))
    for key, skey in [((slice(None), [2]), None), ((slice(None), slice(1, 3)), None),
                      ((slice(None), [2, 2, 0]), None),
                      ((slice(None), slice(None, None, -1)), None),
                      ((0, slice(None)), (slice(0, 1), slice(None)))]:
        out, ref = A[key], S[skey or key]
        assert out.nnz == ref.nnz, key
        np.testing.assert_array_equal(out.toarray(), ref.toarray())
    # the scalar entry sums them, as toarray() does
    assert A[0, 2] == 4.0
    # repeated columns repeat the entries; output columns follow the key
    np.testing.assert_array_equal(A[:, [2, 2, 0]].toarray(), [[4.0, 4.0, 2.0], [0, 0, 0]])


def test_sorted_and_canonical_flags_follow_the_key():
    A = sl.csr_array(sp.random_array((30, 20), density=0.3, rng=1, format="csr"))
    assert A.has_canonical_format
    for key in [(slice(None), slice(2, 15)), (slice(None), slice(1, None, 3)),
                (slice(None), np.arange(20) % 3 == 0), (slice(None), [1, 5, 9])]:
        out = A[key]
        assert out.has_canonical_format, key
    # decreasing or repeated columns: the flags are worked out from the indices
    for key in [(slice(None), slice(None, None, -1)), (slice(None), [9, 1, 5]),
                (slice(None), [1, 1]), (slice(2, 9), [4, 3])]:
        out = A[key]
        rows = np.split(out.indices, out.indptr[1:-1])
        really_sorted = all(np.all(np.diff(r) >= 0) for r in rows)
        assert out.has_sorted_indices == really_sorted, key
        assert out.has_canonical_format == (really_sorted and all(
            np.all(np.diff(r) > 0) for r in rows)), key
        np.testing.assert_array_equal(out.toarray(), A.to_scipy()[key].toarray())


def test_column_selection_does_not_densify_or_convert(monkeypatch):
    D = np.arange(48.0).reshape(6, 8) * (np.arange(48).reshape(6, 8) % 4 == 1)
    A, C = sl.csr_array(D), sl.csc_array(D)

    def forbidden(*args, **kwargs):
        raise AssertionError("indexing densified or converted the array")

    for cls in (sl.csr_array, sl.csc_array):
        for meth in ("toarray", "tocoo"):
            monkeypatch.setattr(cls, meth, forbidden)
    monkeypatch.setattr(sl.csr_array, "tocsc", forbidden)
    monkeypatch.setattr(sl.csc_array, "tocsr", forbidden)
    outs = [A[:, 2:7], A[1:5, ::-2], A[:, [7, 0, 0]], A[2, 3:],
            C[2:5, :], C[::2, 1:4], C[[5, 1], :], C[:, 3]]
    monkeypatch.undo()
    refs = [D[:, 2:7], D[1:5, ::-2], D[:, [7, 0, 0]], D[2:3, 3:],
            D[2:5, :], D[::2, 1:4], D[[5, 1], :], D[:, 3:4]]
    for out, ref in zip(outs, refs):
        np.testing.assert_array_equal(out.toarray(), ref)
    assert [o.format for o in outs] == ["csr"] * 4 + ["csc"] * 4


@FMT
def test_index_errors_2d(fmt):
    A = sl.csr_array(np.eye(3, 4)).asformat(fmt)
    for key in [(slice(None), 4), (slice(None), -5), (0, [0, 4]), (slice(None), np.array([-5]))]:
        with pytest.raises(IndexError, match="column"):
            A[key]
    with pytest.raises(IndexError, match="mask"):
        A[:, np.array([True, False])]
    with pytest.raises(IndexError, match="pairs"):
        A[[0, 1], [1, 2]]
    with pytest.raises(IndexError, match="pairs"):
        A[np.array([True, False, True]), [1, 2]]
    with pytest.raises(IndexError, match="None"):
        A[None, :]
    with pytest.raises(IndexError, match="ellipsis"):
        A[..., ...]
    with pytest.raises(IndexError, match="too many"):
        A[0, 1, 2]
    with pytest.raises(IndexError, match="too many"):
        A[0, 1, 2, ...]
    assert A[0, 1, ...] == A[0, 1]  # Ellipsis may stand for no axis, as in NumPy
    with pytest.raises(IndexError, match="column"):
        A[:, 1.5]
    with pytest.raises(IndexError, match="column"):
        A[:, np.array([[0, 1]])]


# --------------------------------------------------------------------------- #
# reductions
# --------------------------------------------------------------------------- #
AXES = [None, 0, 1, -1, -2, (0,), (1,), (-1,), (-2,), (0, 1), (1, 0), (-1, -2)]


def _numpy(fn, D, axis, keepdims, **kw):
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # mean of an empty axis
        return fn(D, axis=axis, keepdims=keepdims, **kw)


@FMT
@given(t=coo_triplets(dtypes=[np.float64, np.float32, np.complex128, np.int32, np.bool_],
                      max_dim=10),
       axis=st.sampled_from(AXES), keepdims=st.booleans())
def test_sum_mean_count_match_numpy(fmt, t, axis, keepdims):
    A, _ = make_pair(t, fmt)
    D = t.dense()
    before = raw_arrays(A)
    for name in ("sum", "mean"):
        exp = _numpy(getattr(np, name), D, axis, keepdims)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            # NumPy's function calls the method (method dispatch)
            got = getattr(np, name)(A, axis=axis, keepdims=keepdims)
            assert_close(got, exp, err_msg=f"{name} axis={axis} keepdims={keepdims}")
            got = getattr(A, name)(axis=axis, keepdims=keepdims)
        assert_close(got, exp, err_msg=f"{name} axis={axis} keepdims={keepdims}")
        out = np.empty(np.shape(exp), dtype=np.asarray(exp).dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            assert getattr(A, name)(axis=axis, keepdims=keepdims, out=out) is out
        assert_close(out, exp)
    exp = np.count_nonzero(D, axis=axis, keepdims=keepdims)
    got = A.count_nonzero(axis=axis, keepdims=keepdims)
    np.testing.assert_array_equal(got, exp)
    assert np.shape(got) == np.shape(exp)
    assert_unchanged(A, before, "A")


@FMT
@given(t=coo_triplets(dtypes=[np.float64, np.float32, np.int32, np.bool_], max_dim=10),
       axis=st.sampled_from(AXES), keepdims=st.booleans())
def test_max_min_match_numpy(fmt, t, axis, keepdims):
    A, _ = make_pair(t, fmt)
    D = t.dense()
    for name in ("max", "min"):
        try:
            exp = getattr(np, name)(D, axis=axis, keepdims=keepdims)
        except ValueError:  # a zero-size reduction: no identity
            with pytest.raises(ValueError):
                getattr(A, name)(axis=axis, keepdims=keepdims)
            continue
        assert_close(getattr(np, name)(A, axis=axis, keepdims=keepdims), exp,
                     err_msg=f"{name} axis={axis} keepdims={keepdims}")
        out = np.empty(np.shape(exp), dtype=D.dtype)
        assert getattr(A, name)(axis, out, keepdims) is out
        assert_close(out, exp)


def test_dask_style_chunk_reduction():
    A = sl.csr_array(sp.random_array((9, 7), density=0.4, rng=3, format="csr"))
    D = A.toarray()
    for fn in (np.sum, np.mean, np.max, np.min):
        for axis in [(0,), (1,), (0, 1)]:
            assert_close(fn(A, axis=axis, keepdims=True), fn(D, axis=axis, keepdims=True))
    assert_close(np.sum(A, axis=(0,), keepdims=True, dtype=np.float32),
                 np.sum(D, axis=(0,), keepdims=True, dtype=np.float32))


def test_bad_axis_keepdims_out():
    A = sl.csr_array(np.eye(3))
    for meth in (A.sum, A.mean, A.max, A.min, A.count_nonzero):
        for axis in [(0, 0), (1, -1), (), (0, 2), (-3,), 2]:
            with pytest.raises(ValueError, match="axis"):
                meth(axis=axis)
        for axis in [(0.5,), (0, "1"), [0], 1.0, (True,)]:
            with pytest.raises(TypeError, match="axis"):
                meth(axis=axis)
    with pytest.raises(np.exceptions.AxisError):
        A.sum(axis=(0, 5))
    with pytest.raises(ValueError, match="out"):
        A.sum(axis=0, out=np.empty((1, 3)))
    with pytest.raises(ValueError, match="out"):
        A.max(axis=(0,), keepdims=True, out=np.empty(3))
    with pytest.raises(TypeError, match="out"):
        A.mean(axis=1, out=[0.0, 0.0, 0.0])


# --------------------------------------------------------------------------- #
# pickling
# --------------------------------------------------------------------------- #
def _unaligned(raw: memoryview) -> memoryview:
    """A copy of ``raw`` that starts one byte past an allocation (unaligned)."""
    buf = bytearray(len(raw) + 1)
    buf[1:] = raw
    return memoryview(buf)[1:]


def _readonly(raw: memoryview) -> memoryview:
    return memoryview(bytes(raw))


def _buffers(A):
    return [v for v in vars(A).values() if isinstance(v, np.ndarray)]


@FMT
@pytest.mark.parametrize("make", [_unaligned, _readonly])
def test_unpickled_buffers_are_aligned_writeable_copies(fmt, make):
    D = np.arange(24.0).reshape(4, 6) * (np.arange(24).reshape(4, 6) % 3 == 0)
    A = sl.csr_array(D).asformat(fmt, copy=True) if fmt != "bsr" else \
        sl.csr_array(D).tobsr(blocksize=(2, 3))
    # out-of-band buffers, as distributed sends them in its frames
    frames = []
    payload = pickle.dumps(A, protocol=5, buffer_callback=frames.append)
    assert frames
    received = [make(f.raw()) for f in frames]
    # the premise: NumPy rebuilds arrays on exactly these (unaligned / read-only) buffers
    probe = np.frombuffer(received[0], dtype=np.uint8)
    assert not (probe.flags.writeable and probe.ctypes.data % 8 == 0)
    B = pickle.loads(payload, buffers=received)
    assert type(B) is type(A) and B.shape == A.shape and B.dtype == A.dtype
    assert all(a.flags.aligned and a.flags.writeable for a in _buffers(B))
    assert all(a.ctypes.data % a.dtype.alignment == 0 for a in _buffers(B))
    np.testing.assert_array_equal(B.toarray(), D)
    # and the unpickled array computes as the original does (same kernels, same order)
    x = np.linspace(-1.0, 1.0, 6)
    np.testing.assert_array_equal(B @ x, A @ x)
    np.testing.assert_array_equal(B.sum(axis=0), A.sum(axis=0))


@FMT
def test_pickle_round_trip_in_band(fmt):
    rng = np.random.default_rng(0)
    A = sl.csr_array(sp.random_array((8, 6), density=0.4, rng=rng, format="csr")).asformat(fmt)
    for proto in (2, 4, 5):
        B = pickle.loads(pickle.dumps(A, protocol=proto))
        assert type(B) is type(A)
        np.testing.assert_array_equal(B.toarray(), A.toarray())
        assert all(a.flags.aligned and a.flags.writeable for a in _buffers(B))


def test_user_readonly_and_unaligned_buffers_are_not_copied():
    # buffers a user hands to a constructor stay theirs: sparsela neither
    # copies nor writes into them; only unpickling makes private copies
    raw = bytearray(3 * 8 + 1)
    data = np.frombuffer(raw, dtype=np.float64, offset=1, count=3)
    data[:] = [1.0, 2.0, 3.0]
    assert not data.flags.aligned
    ro = np.array([0, 2, 1], dtype=np.int32)
    ro.setflags(write=False)
    A = sl.csr_array((data, ro, np.array([0, 2, 3], dtype=np.int32)), shape=(2, 3))
    assert np.shares_memory(A.data, data) and np.shares_memory(A.indices, ro)
    assert not A.indices.flags.writeable
    # (NumPy-only operations: a kernel would compile an unaligned specialisation)
    np.testing.assert_array_equal(A[:, 1:].toarray(), [[0.0, 2.0], [3.0, 0.0]])
    assert A.sum() == 6.0
    import copy

    C = copy.copy(A)   # a shallow copy shares the buffers as they are
    assert C.data is A.data and C.indices is A.indices
    B = pickle.loads(pickle.dumps(A))
    assert not np.shares_memory(B.data, data)
    assert all(a.flags.aligned and a.flags.writeable for a in _buffers(B))
    assert list(data) == [1.0, 2.0, 3.0] and not ro.flags.writeable


# --------------------------------------------------------------------------- #
# thread-safe lazy kernel loading (CPython gh-114763 with importlib's LazyLoader)
# --------------------------------------------------------------------------- #
_CPU = Path(sl.__file__).parent / "backends" / "cpu"


def _kernel_names() -> dict:
    """Top-level function names of the kernel modules, read from their source."""
    out = {}
    for name in ("canonical", "convert", "index", "reduce", "spmv", "spmm", "binop"):
        tree = ast.parse((_CPU / f"{name}.py").read_text())
        out[f"cpu.{name}"] = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    return out


_HAMMER = """
import sys, threading
import numpy as np
import sparsela as sl
from sparsela.backends import lazy
assert "numba" not in sys.modules
names = {names!r}
from sparsela.ops._backend import kernels
# the stand-ins sparsela.ops itself holds (kernels() caches one per module)
shared = {{f"cpu.{{m}}": kernels(m) for m in ("canonical", "convert", "index", "reduce")}}
errors = []
n_threads = 16
barrier = threading.Barrier(n_threads)
# built from its arrays (no kernel runs): every kernel module is still unloaded
D = np.eye(4) + np.eye(4, k=1)
A = sl.csr_array((D[D != 0], np.nonzero(D)[1], np.array([0, 2, 4, 6, 7])), shape=(4, 4))
assert "numba" not in sys.modules

def work(k):
    try:
        barrier.wait()
        mods = list(names.items())
        mods = mods[k % len(mods):] + mods[:k % len(mods)]
        for full, attrs in mods:
            # odd threads share the stand-ins sparsela.ops holds, even ones make new ones
            mod = shared[full] if k % 2 and full in shared else lazy(full)
            for a in attrs:
                getattr(mod, a)
        assert np.array_equal(A[:, 1:3].toarray(), D[:, 1:3])
        assert A.sum(axis=(0,), keepdims=True).shape == (1, 4)
    except BaseException as exc:
        errors.append(repr(exc))

threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(len(errors), errors[:3])
for full in names:
    assert lazy(full) is sys.modules["sparsela.backends." + full], full
"""


def test_lazy_kernel_loading_is_thread_safe():
    code = textwrap.dedent(_HAMMER.format(names=_kernel_names()))
    res = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True,
                         text=True, timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip() == "0 []", res.stdout
