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
from conftest import assert_close, compressed_arrays, coo_triplets
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsela._device import cupy

SETTINGS = settings(max_examples=5, deadline=None)
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
       dt=st.sampled_from([np.float32, np.float64, np.complex128, np.int64, np.complex64,
                           np.int32]),
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


# --------------------------------------------------------------------------- #
# semiring / masked / top-k products
# --------------------------------------------------------------------------- #
def _ops():
    from sparsela.backends.cpu import semiring as sr

    return sr


SEMIRINGS = {  # name: (add code name, mul code name, python add, python mul)
    "plus_times": ("PLUS", "TIMES", lambda x, y: x + y, lambda x, y: x * y),
    "min_plus": ("MIN", "PLUS", lambda x, y: y if (y < x or x != x) else x, lambda x, y: x + y),  # noqa: PLR0124
    "max_plus": ("MAX", "PLUS", lambda x, y: y if (y > x or x != x) else x, lambda x, y: x + y),  # noqa: PLR0124
    "max_min": ("MAX", "MIN", lambda x, y: y if (y > x or x != x) else x,  # noqa: PLR0124
                lambda x, y: y if (y < x or x != x) else x),  # noqa: PLR0124
    "or_and": ("OR", "AND", lambda x, y: x | y, lambda x, y: x & y),
}
SEMIRING_DTYPES = {
    "plus_times": (np.float32, np.float64, np.complex128, np.int64),
    "min_plus": (np.float32, np.float64, np.int64),
    "max_plus": (np.float64, np.int64, np.uint64),
    "max_min": (np.float32, np.int64),
    "or_and": (np.bool_,),
}


def canonical(t, dtype, idx):
    """Canonical CSR arrays (sorted rows, duplicates summed) of the triplets' structure
    with values cast to ``dtype`` (explicit zeros kept as stored entries)."""
    import scipy.sparse as sp

    m, n = t.shape
    key = t.row.astype(np.int64) * max(n, 1) + t.col.astype(np.int64)
    uniq, inv = np.unique(key, return_inverse=True)
    vals = np.zeros(uniq.size, dtype=np.float64 if dtype != np.bool_ else np.int64)
    np.add.at(vals, inv, np.abs(t.data.real) if dtype in (np.bool_, np.uint64) else t.data.real)
    rows, cols = (uniq // max(n, 1)), (uniq % max(n, 1))
    Ap = np.zeros(m + 1, dtype=idx)
    np.cumsum(np.bincount(rows, minlength=m), out=Ap[1:])
    x = vals.astype(dtype) if dtype != np.complex128 else vals + 0.5j * (vals % 3)
    assert sp.csr_array((x, cols, Ap), shape=t.shape).has_canonical_format
    return Ap, cols.astype(idx), np.asarray(x, dtype=dtype)


def to_dense(n_row, n_col, Cp, Cj, Cx):
    """Dense values and pattern of canonical CSR arrays (asserting no repeats)."""
    vals = np.zeros((n_row, n_col), dtype=Cx.dtype)
    pat = np.zeros((n_row, n_col), dtype=bool)
    for i in range(n_row):
        for p in range(Cp[i], Cp[i + 1]):
            assert not pat[i, Cj[p]], "repeated column"
            pat[i, Cj[p]] = True
            vals[i, Cj[p]] = Cx[p]
    return vals, pat


def semiring_dense(m, n, A, B, name, excluded=None, mask=None):
    """(values, pattern) of A (+).(x) B from the CSR arrays, folding over stored pairs."""
    _, _, add, mul = SEMIRINGS[name]
    Ap, Aj, Ax = A
    Bp, Bj, Bx = B
    vals = np.zeros((m, n), dtype=Ax.dtype)
    pat = np.zeros((m, n), dtype=bool)
    for i in range(m):
        for p in range(Ap[i], Ap[i + 1]):
            k = Aj[p]
            for q in range(Bp[k], Bp[k + 1]):
                j = Bj[q]
                if excluded is not None and excluded[i, j]:
                    continue
                if mask is not None and not mask[i, j]:
                    continue
                v = mul(Ax[p], Bx[q])
                vals[i, j] = add(vals[i, j], v) if pat[i, j] else v
                pat[i, j] = True
    return vals, pat


def check_csr_equal(gpu_out, cpu_out, sorted_rows=True):
    """The GPU result equals the CPU kernel's: same dtypes, same structure, same values."""
    gCp, gCj, gCx = (a.get() for a in gpu_out)
    Cp, Cj, Cx = cpu_out
    assert gCp.dtype == Cp.dtype and gCj.dtype == Cj.dtype and gCx.dtype == Cx.dtype
    np.testing.assert_array_equal(gCp, Cp)
    if sorted_rows:
        np.testing.assert_array_equal(gCj, Cj)
        assert_close(gCx, Cx, Cx.dtype)
    return gCp, gCj, gCx


def pattern_of(m, n, Xp, Xj):
    pat = np.zeros((m, n), dtype=bool)
    for i in range(m):
        pat[i, Xj[Xp[i]:Xp[i + 1]]] = True
    return pat


def rand_triplets(rng, shape, density, idx, nan=False):
    """Random COO triplets: repeated positions, shuffled order, explicit zeros
    (and a few NaN when ``nan``), small dyadic values (exact sums)."""
    from conftest import Triplets

    m, n = shape
    flat = rng.choice(m * n, round(density * m * n), replace=False) if m * n else \
        np.zeros(0, np.int64)
    flat = rng.permutation(np.concatenate([flat, rng.choice(flat, flat.size // 4)]))
    vals = rng.integers(-4, 5, flat.size) * 0.5
    if nan:
        vals[rng.random(flat.size) < 0.05] = np.nan
    n_ = max(n, 1)
    return Triplets(vals, (flat // n_).astype(idx), (flat % n_).astype(idx), shape, (1, 1))


@st.composite
def product_case(draw, names=tuple(SEMIRINGS)):
    name = draw(st.sampled_from(names))
    dtype = np.dtype(draw(st.sampled_from(SEMIRING_DTYPES[name])))
    idx = np.dtype(draw(st.sampled_from([np.int32, np.int64])))
    # nontrivial products: zero and one-sized shapes have their own tests
    m, k, n = (draw(st.integers(2, 9)) for _ in range(3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dens = st.sampled_from([0.4, 0.2, 0.7, 0.05])
    nan = dtype.kind in "fc"
    ta = rand_triplets(rng, (m, k), draw(dens), idx, nan)
    tb = rand_triplets(rng, (k, n), draw(dens), idx, nan)
    tm = rand_triplets(rng, (m, n), draw(dens), idx)
    return name, dtype, idx, (m, k, n), ta, tb, tm


@SETTINGS
@given(case=product_case(), complement=st.booleans())
def test_semiring_random(xp, case, complement):
    from sparsela.backends.cpu import semiring as cpu
    from sparsela.backends.gpu import semiring as gpu

    name, dtype, idx, (m, _, n), ta, tb, tm = case
    A, B = canonical(ta, dtype, idx), canonical(tb, dtype, idx)
    add_op, mul_op = (getattr(cpu, c) for c in SEMIRINGS[name][:2])
    kw, gkw, excluded = {}, {}, None
    if complement:
        _, Xj, Xp = csr_of(tm)  # unsorted rows and repeats allowed here
        Xp, Xj = Xp.astype(idx), Xj.astype(idx)
        kw, gkw = {"Xp": Xp, "Xj": Xj}, dict(zip(("Xp", "Xj"), dev(xp, Xp, Xj)))
        excluded = pattern_of(m, n, Xp, Xj)
    out = gpu.csr_spgemm_semiring(m, n, *dev(xp, *A, *B), add_op, mul_op, **gkw)
    ref = cpu.csr_spgemm_semiring(m, n, *A, *B, add_op, mul_op, **kw)
    Cp, Cj, Cx = check_csr_equal(out, ref)
    vals, pat = to_dense(m, n, Cp, Cj, Cx)
    evals, epat = semiring_dense(m, n, A, B, name, excluded=excluded)
    np.testing.assert_array_equal(pat, epat)
    assert_close(vals, evals, dtype)


def test_semiring_plus_times_keeps_duplicates_summed(xp):
    # plus_times accepts non-canonical operands: unsorted rows, a repeated A[i, k]
    from sparsela.backends.cpu import semiring as cpu
    from sparsela.backends.gpu import semiring as gpu

    Ap = np.array([0, 3, 3, 4], dtype=np.int32)
    Aj = np.array([1, 0, 1, 2], dtype=np.int32)
    Ax = np.array([1.0, 2.0, 0.5, 0.0])       # A[0, 1] twice, an explicit zero
    Bp = np.array([0, 2, 3, 4], dtype=np.int32)
    Bj = np.array([2, 0, 1, 0], dtype=np.int32)
    Bx = np.array([1.0, -3.0, 4.0, 5.0])
    args = (Ap, Aj, Ax, Bp, Bj, Bx)
    out = gpu.csr_spgemm_semiring(3, 3, *dev(xp, *args), cpu.PLUS, cpu.TIMES)
    Cp, Cj, Cx = check_csr_equal(out, cpu.csr_spgemm_semiring(3, 3, *args, cpu.PLUS, cpu.TIMES))
    vals, pat = to_dense(3, 3, Cp, Cj, Cx)
    Ad = np.zeros((3, 3))
    np.add.at(Ad, (np.repeat(np.arange(3), np.diff(Ap)), Aj), Ax)
    Bd = np.zeros((3, 3))
    np.add.at(Bd, (np.repeat(np.arange(3), np.diff(Bp)), Bj), Bx)
    np.testing.assert_array_equal(vals, Ad @ Bd)
    # the explicit zero in row 2 still makes structural entries (0 * B[2, 0])
    assert pat[2, 0] and vals[2, 0] == 0


def test_min_max_ignore_nan(xp):
    from sparsela.backends.cpu import semiring as cpu
    from sparsela.backends.gpu import semiring as gpu

    Ap = np.array([0, 3, 4], dtype=np.int64)
    Aj = np.array([0, 1, 2, 0], dtype=np.int64)
    Ax = np.array([np.nan, 1.0, 2.0, np.nan])
    Bp = np.array([0, 1, 2, 3], dtype=np.int64)
    Bj = np.array([0, 0, 0], dtype=np.int64)
    Bx = np.array([0.0, 5.0, 1.0])
    args = (Ap, Aj, Ax, Bp, Bj, Bx)
    for add in (cpu.MIN, cpu.MAX):
        out = gpu.csr_spgemm_semiring(2, 1, *dev(xp, *args), add, cpu.PLUS)
        _, _, Cx = check_csr_equal(out, cpu.csr_spgemm_semiring(2, 1, *args, add, cpu.PLUS))
        assert Cx[0] == (3.0 if add == cpu.MIN else 6.0)
        assert np.isnan(Cx[1])  # only NaN products: NaN


@pytest.mark.parametrize("shape", [(0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0)])
def test_semiring_empty_shapes(xp, shape):
    from sparsela.backends.cpu import semiring as cpu
    from sparsela.backends.gpu import semiring as gpu

    m, k, n = shape
    A = (np.zeros(m + 1, np.int32), np.zeros(0, np.int32), np.zeros(0))
    B = (np.zeros(k + 1, np.int32), np.zeros(0, np.int32), np.zeros(0))
    out = gpu.csr_spgemm_semiring(m, n, *dev(xp, *A, *B), cpu.MIN, cpu.PLUS)
    check_csr_equal(out, cpu.csr_spgemm_semiring(m, n, *A, *B, cpu.MIN, cpu.PLUS))


@SETTINGS
@given(case=product_case())
def test_masked_random(xp, case):
    from sparsela.backends.cpu import masked as cpu
    from sparsela.backends.cpu import semiring as sr
    from sparsela.backends.gpu import masked as gpu

    name, dtype, idx, (m, _, n), ta, tb, tm = case
    A, B = canonical(ta, dtype, idx), canonical(tb, dtype, idx)
    Mp, Mj, _ = canonical(tm, np.float64, idx)
    add_op, mul_op = (getattr(sr, c) for c in SEMIRINGS[name][:2])
    dMp, dMj = dev(xp, Mp, Mj)
    out = gpu.csr_spgemm_masked(m, n, *dev(xp, *A, *B), dMp, dMj, add_op, mul_op)
    ref = cpu.csr_spgemm_masked(m, n, *A, *B, Mp, Mj, add_op, mul_op)
    Cp, Cj, Cx = check_csr_equal(out, ref)
    np.testing.assert_array_equal(dMj.get(), Mj)  # the mask is not modified
    vals, pat = to_dense(m, n, Cp, Cj, Cx)
    evals, epat = semiring_dense(m, n, A, B, name, mask=pattern_of(m, n, Mp, Mj))
    np.testing.assert_array_equal(pat, epat)
    assert_close(vals, evals, dtype)


def test_masked_edges(xp):
    from sparsela.backends.cpu import masked as cpu
    from sparsela.backends.cpu import semiring as sr
    from sparsela.backends.gpu import masked as gpu

    # A 3x2 (row 1 empty), B 2x4; mask: an empty row, a row the product misses,
    # and a slot reached only by a zero product (structure, not value, counts)
    Ap, Aj, Ax = (np.array([0, 2, 2, 3], np.int64), np.array([0, 1, 1], np.int64),
                  np.array([1.0, 2.0, 0.0]))
    Bp, Bj, Bx = (np.array([0, 2, 4], np.int64), np.array([0, 3, 1, 3], np.int64),
                  np.array([1.0, 1.0, 5.0, 1.0]))
    Mp, Mj = np.array([0, 2, 3, 5], np.int64), np.array([1, 3, 0, 1, 2], np.int64)
    args = (Ap, Aj, Ax, Bp, Bj, Bx, Mp, Mj)
    out = gpu.csr_spgemm_masked(3, 4, *dev(xp, *args), sr.PLUS, sr.TIMES)
    Cp, Cj, Cx = check_csr_equal(out, cpu.csr_spgemm_masked(3, 4, *args, sr.PLUS, sr.TIMES))
    np.testing.assert_array_equal(Cp, [0, 2, 2, 3])
    np.testing.assert_array_equal(Cj, [1, 3, 1])
    np.testing.assert_array_equal(Cx, [10.0, 3.0, 0.0])
    # an empty mask, and a mask no product reaches
    for Mp2, Mj2 in ((np.zeros(4, np.int64), np.zeros(0, np.int64)),
                     (np.array([0, 1, 1, 1], np.int64), np.array([2], np.int64))):
        args = (Ap, Aj, Ax, Bp, Bj, Bx, Mp2, Mj2)
        out = gpu.csr_spgemm_masked(3, 4, *dev(xp, *args), sr.PLUS, sr.TIMES)
        _, Cj, _ = check_csr_equal(out, cpu.csr_spgemm_masked(3, 4, *args, sr.PLUS, sr.TIMES))
        assert Cj.size == 0


def topk_dense(vals, pat, k, lower_bound):
    """Per row: stored entries, NaN and values <= lower_bound dropped, best k by
    (value desc, column asc)."""
    out = []
    for i in range(vals.shape[0]):
        cand = [(vals[i, j], j) for j in np.flatnonzero(pat[i])
                if vals[i, j] == vals[i, j] and (lower_bound is None or vals[i, j] > lower_bound)]
        cand.sort(key=lambda e: (-float(e[0]), e[1]))
        out.append(cand[:k])
    return out


@SETTINGS
@given(case=product_case(names=("plus_times", "or_and")), k=st.sampled_from([1, 2, 3, 50]),
       lb=st.sampled_from([None, 0, -1.5]))
def test_topk_random(xp, case, k, lb):
    from sparsela.backends.cpu import semiring as sr
    from sparsela.backends.cpu import topk as cpu
    from sparsela.backends.gpu import topk as gpu

    name, dtype, idx, (m, _, n), ta, tb, _ = case
    if dtype.kind == "c":
        dtype = np.dtype(np.float32)
    if dtype == np.bool_:
        lb = None if lb is None else lb > 0
    # plus_times takes duplicates and unsorted rows: use the raw triplets
    if name == "plus_times":
        Ax, Aj, Ap = csr_of(ta)
        Bx, Bj, Bp = csr_of(tb)
        A = (Ap.astype(idx), Aj.astype(idx), Ax.astype(dtype))
        B = (Bp.astype(idx), Bj.astype(idx), Bx.astype(dtype))
    else:
        A, B = canonical(ta, dtype, idx), canonical(tb, dtype, idx)
    add_op, mul_op = (getattr(sr, c) for c in SEMIRINGS[name][:2])
    out = gpu.csr_spgemm_topk(m, n, *dev(xp, *A, *B), k, lb, add_op=add_op, mul_op=mul_op)
    ref = cpu.csr_spgemm_topk(m, n, *A, *B, k, lb, add_op=add_op, mul_op=mul_op)
    Cp, Cj, Cx = check_csr_equal(out, ref)
    vals, pat = semiring_dense(m, n, A, B, name)
    expect = topk_dense(vals, pat, k, lb)
    for i in range(m):
        got = list(zip(Cx[Cp[i]:Cp[i + 1]].tolist(), Cj[Cp[i]:Cp[i + 1]].tolist()))
        assert got == [(v.item(), int(j)) for v, j in expect[i]], i


def test_topk_nan_ties_and_bounds(xp):
    from sparsela.backends.cpu import topk as cpu
    from sparsela.backends.gpu import topk as gpu

    # C = A @ I: row 0 = [nan, 2, 2, 1, 2], row 1 empty, row 2 = [-1, 0 (explicit), ...]
    Ap = np.array([0, 5, 5, 7], np.int32)
    Aj = np.array([4, 0, 1, 2, 3, 1, 0], np.int32)
    Ax = np.array([2.0, np.nan, 2.0, 2.0, 1.0, 0.0, -1.0], dtype=np.float32)
    Bp = np.arange(6, dtype=np.int32)
    Bj = np.arange(5, dtype=np.int32)
    Bx = np.ones(5, dtype=np.float32)
    args = (Ap, Aj, Ax, Bp, Bj, Bx)
    for k, lb, exp_cols in ((2, None, [1, 2, 1, 0]), (5, 1.0, [1, 2, 4]), (1, -5, [1, 1])):
        out = gpu.csr_spgemm_topk(3, 5, *dev(xp, *args), k, lb)
        _, Cj, Cx = check_csr_equal(out, cpu.csr_spgemm_topk(3, 5, *args, k, lb))
        np.testing.assert_array_equal(Cj, exp_cols)
        assert not np.isnan(Cx).any()


@pytest.mark.parametrize("name", list(SEMIRINGS))
def test_products_fixed_dense_inputs(xp, name):
    """Every semiring on inputs dense enough that entries fold many products,
    plain, complemented and masked; one dtype each beyond the random tests."""
    from sparsela.backends.cpu import masked as cpu_masked
    from sparsela.backends.cpu import semiring as cpu
    from sparsela.backends.gpu import masked as gpu_masked
    from sparsela.backends.gpu import semiring as gpu

    rng = np.random.default_rng(7)
    dtype = np.dtype(SEMIRING_DTYPES[name][-1])
    idx = np.int32 if name in ("plus_times", "max_min") else np.int64
    m, k, n = 7, 6, 8

    def rand(shape, density):
        from conftest import Triplets

        flat = rng.choice(shape[0] * shape[1], int(density * shape[0] * shape[1]), replace=False)
        vals = rng.integers(-4, 5, flat.size) * 0.5
        return Triplets(vals, (flat // shape[1]).astype(idx), (flat % shape[1]).astype(idx),
                        shape, (1, 1))

    A, B = canonical(rand((m, k), 0.6), dtype, idx), canonical(rand((k, n), 0.6), dtype, idx)
    Mp, Mj, _ = canonical(rand((m, n), 0.5), np.float64, idx)
    add_op, mul_op = (getattr(cpu, c) for c in SEMIRINGS[name][:2])
    dA, dB = dev(xp, *A), dev(xp, *B)
    mask = pattern_of(m, n, Mp, Mj)
    runs = [
        (gpu.csr_spgemm_semiring(m, n, *dA, *dB, add_op, mul_op),
         cpu.csr_spgemm_semiring(m, n, *A, *B, add_op, mul_op), {}),
        (gpu.csr_spgemm_semiring(m, n, *dA, *dB, add_op, mul_op, Xp=xp.asarray(Mp),
                                 Xj=xp.asarray(Mj)),
         cpu.csr_spgemm_semiring(m, n, *A, *B, add_op, mul_op, Xp=Mp, Xj=Mj),
         {"excluded": mask}),
        (gpu_masked.csr_spgemm_masked(m, n, *dA, *dB, *dev(xp, Mp, Mj), add_op, mul_op),
         cpu_masked.csr_spgemm_masked(m, n, *A, *B, Mp, Mj, add_op, mul_op), {"mask": mask}),
    ]
    for before, after in zip(A + B, host(*dA, *dB)):  # inputs never modified
        np.testing.assert_array_equal(after, before)
    for out, ref, kw in runs:
        Cp, Cj, Cx = check_csr_equal(out, ref)
        vals, pat = to_dense(m, n, Cp, Cj, Cx)
        evals, epat = semiring_dense(m, n, A, B, name, **kw)
        np.testing.assert_array_equal(pat, epat)
        assert_close(vals, evals, dtype)
        assert pat.sum() >= 5  # the case is not trivially empty


# --------------------------------------------------------------------------- #
# through the public operations: ops dispatches to these modules on the device
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("dtype", [np.float64, np.int64])
def test_public_operations_on_the_device(xp, dtype):
    import scipy.sparse as sp

    import sparsela as sl

    rng = np.random.default_rng(3)

    def rand(m, n, seed):
        S = sp.random(m, n, density=0.4, format="csr", random_state=seed)
        S.data = rng.integers(-3, 4, S.nnz).astype(dtype)
        return S

    A, B, M = rand(8, 6, 1), rand(6, 7, 2), rand(8, 7, 3)
    cpu = [sl.csr_array(x) for x in (A, B, M)]
    gpu = [x.to_device("gpu") for x in cpu]
    X = dense_operand(rng, (8, 3), dtype)
    Y = dense_operand(rng, (7, 3), dtype)
    cases = {
        "sddmm": lambda a, b, m, x, y: sl.sddmm(m, x, y),
        "rows": lambda a, b, m, x, y: a[np.array([3, 1, 1, 7])],
        "min_plus": lambda a, b, m, x, y: sl.spgemm(a, b, semiring="min_plus"),
        "masked": lambda a, b, m, x, y: sl.spgemm(a, b, mask=m),
        "complement": lambda a, b, m, x, y: sl.spgemm(a, b, mask=m, complement=True),
        "topk": lambda a, b, m, x, y: sl.spgemm_topk(a, b, 2),
    }
    for name, f in cases.items():
        g = f(*gpu, *dev(xp, X, Y))
        c = f(*cpu, X, Y)
        assert g.device == "gpu", name
        g = g.get()
        assert g.dtype == c.dtype, name
        np.testing.assert_array_equal(g.toarray(), c.toarray(), err_msg=name)


def test_semiring_huge_column_ids(xp):
    """n_row * n_col past int64: the (row, column) sort takes two stable passes."""
    from sparsela.backends.cpu import semiring as cpu
    from sparsela.backends.gpu import semiring as gpu

    n_col = 2**61
    big = np.array([5, 2**60, n_col - 1], dtype=np.int64)
    Ap, Aj, Ax = (np.array([0, 2, 2, 3], np.int64), np.array([0, 1, 1], np.int64),
                  np.array([1.0, 2.0, 3.0]))
    Bp, Bj, Bx = np.array([0, 2, 4], np.int64), big[[2, 0, 0, 1]], np.array([1.0, 2.0, 4.0, 8.0])
    Xp, Xj = np.array([0, 1, 1, 2], np.int64), big[[0, 1]]  # C[0, 5] and C[2, 2**60] out
    args = (Ap, Aj, Ax, Bp, Bj, Bx)
    for kw in ({}, {"Xp": Xp, "Xj": Xj}):
        gkw = {k: xp.asarray(v) for k, v in kw.items()}
        out = gpu.csr_spgemm_semiring(3, n_col, *dev(xp, *args), cpu.PLUS, cpu.TIMES, **gkw)
        Cp, Cj, Cx = check_csr_equal(
            out, cpu.csr_spgemm_semiring(3, n_col, *args, cpu.PLUS, cpu.TIMES, **kw))
        assert Cj.dtype == np.int64
        if kw:
            np.testing.assert_array_equal(Cp, [0, 2, 2, 3])
            np.testing.assert_array_equal(Cj, [2**60, n_col - 1, 5])
            np.testing.assert_array_equal(Cx, [16.0, 1.0, 12.0])
        else:
            np.testing.assert_array_equal(Cp, [0, 3, 3, 5])
            np.testing.assert_array_equal(Cj, [5, 2**60, n_col - 1, 5, 2**60])
            np.testing.assert_array_equal(Cx, [10.0, 16.0, 1.0, 12.0, 24.0])
