"""The conformance suite's properties on every device (the ``device`` fixture).

Random matrices from the suite's strategies (every value dtype, int32/int64
indices, 0 in shapes, duplicates, unsorted indices, explicit zeros), built
non-canonical in every format, moved to ``device``, and every operation
compared with the dense NumPy result of the same triplets. On the CPU these
repeat a part of ``test_conformance.py``; on the GPU they are the same checks
for the GPU kernels. Without a GPU the GPU runs on the simulated device
(Numba's CUDA simulator, a Python thread per GPU thread), so there only the
GPU variant runs, on smaller matrices and fewer examples.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import (
    ALL_DTYPES,
    FORMATS,
    GPU_MODE,
    assert_close,
    coo_triplets,
    dense_of,
    dense_operand,
    make_sparsela,
    matmul_pair,
    on_device,
    same_shape_pair,
)
from hypothesis import given, settings

import sparsela as sl

SIMULATED = GPU_MODE == "simulated"
#: the simulated GPU is slow: small matrices, few examples (both devices, so
#: the CPU and GPU variants see the same examples)
MAX_DIM = 8 if SIMULATED else 40
EXAMPLES = settings(max_examples=4) if SIMULATED else settings()
FMT = pytest.mark.parametrize("fmt", FORMATS)
# On the simulated GPU only the GPU runs here (the CPU has test_conformance.py;
# the simulator is slow): this parametrisation overrides the ``device`` fixture.
pytestmark = pytest.mark.parametrize("device", ["gpu"] if SIMULATED else ["cpu", "gpu"])
REAL = [d for d in ALL_DTYPES if d.kind != "c"]


def _build(t, fmt, device):
    A = make_sparsela(t, fmt, device=device)
    assert A.device == device
    return A


@FMT
@EXAMPLES
@given(t=coo_triplets(max_dim=MAX_DIM))
def test_conversions_and_canonical_form(device, fmt, t):
    A = _build(t, fmt, device)
    d = t.dense()
    for target in FORMATS:
        kw = {"blocksize": t.blocksize} if target == "bsr" else {}
        B = getattr(A, "to" + target)(**kw)
        assert B.format == target and B.device == device
        assert_close(dense_of(B), d, err_msg=f"{fmt} -> {target}")
    assert_close(dense_of(A.T), d.T)
    C = A.copy()
    C.sum_duplicates()
    assert to_host_canonical(C)
    assert_close(dense_of(C), d)
    C.eliminate_zeros()
    assert_close(dense_of(C), d)
    if fmt != "bsr":  # BSR drops whole zero blocks only
        assert C.nnz == np.count_nonzero(d)
    assert_close(dense_of(A), d)  # the source is unchanged


def to_host_canonical(A) -> bool:
    H = A.get()
    return bool(H.has_canonical_format)


@FMT
@EXAMPLES
@given(t=coo_triplets(dtypes=[np.float64, np.float32, np.int64, np.complex128, np.bool_],
                      max_dim=MAX_DIM))
def test_reductions(device, fmt, t):
    A = _build(t, fmt, device)
    d = t.dense()
    for axis in (None, 0, 1):
        assert_close(np.asarray(dense_of(A.sum(axis=axis))), np.asarray(d.sum(axis=axis)),
                     err_msg=f"sum axis={axis}")
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            exp = d.mean(axis=axis)
            got = dense_of(A.mean(axis=axis))
        assert_close(np.asarray(got), np.asarray(exp), err_msg=f"mean axis={axis}")
        if t.dtype.kind != "c" and (axis is None and d.size or axis is not None
                                    and d.shape[axis]):
            for name in ("max", "min"):
                assert_close(np.asarray(dense_of(getattr(A, name)(axis=axis))),
                             np.asarray(getattr(d, name)(axis=axis)),
                             err_msg=f"{name} axis={axis}")
    for k in (0, 1, -2):
        assert_close(dense_of(A.diagonal(k)), np.diagonal(d, k))


@FMT
@EXAMPLES
@given(pair=matmul_pair(dtypes=[np.float64, np.float32, np.complex128, np.int64, np.bool_],
                        max_dim=MAX_DIM))
def test_products_with_dense(device, fmt, pair):
    a, _ = pair
    A = _build(a, fmt, device)
    d = a.dense()
    m, k = a.shape
    dt = a.dtype
    for order in "CF":
        x = dense_operand((k,), dt, seed=1)
        X = dense_operand((k, 3), dt, seed=2, order=order)
        z = dense_operand((m,), dt, seed=3)
        Z = dense_operand((m, 2), dt, seed=4, order=order)
        assert_close(dense_of(A @ on_device(x, device)), d @ x)
        assert_close(dense_of(A @ on_device(X, device)), d @ X)
        assert_close(dense_of(A.T @ on_device(Z, device)), d.T @ Z)
        assert_close(dense_of(on_device(z, device) @ A), z @ d)


@FMT
@pytest.mark.parametrize("other", ["csr", "csc", "coo"])
@EXAMPLES
@given(pair=matmul_pair(dtypes=[np.float64, np.complex128, np.int32, np.bool_],
                        max_dim=MAX_DIM))
def test_spgemm(device, fmt, other, pair):
    a, b = pair
    A, B = _build(a, fmt, device), _build(b, other, device)
    exp = a.dense() @ b.dense()
    for sort in (True, False):
        C = sl.spgemm(A, B, sort_indices=sort)
        assert C.device == device and C.dtype == exp.dtype
        assert_close(dense_of(C), exp)
        if sort:
            assert to_host_canonical(C.tocsr())


@FMT
@EXAMPLES
@given(pair=same_shape_pair(dtypes=REAL + [np.dtype(np.complex128)], max_dim=MAX_DIM))
def test_elementwise(device, fmt, pair):
    a, b = pair
    A, B = _build(a, fmt, device), _build(b, "csr", device)
    da, db = a.dense(), b.dense()
    with np.errstate(all="ignore"):
        assert_close(dense_of(A + B), da + db)
        assert_close(dense_of(A.multiply(B)), da * db)
        assert_close(dense_of(A != B), da != db)
        if da.dtype != np.bool_ and db.dtype != np.bool_:
            assert_close(dense_of(A - B), da - db)
        if da.dtype.kind != "c" and db.dtype.kind != "c":
            assert_close(dense_of(A.maximum(B)), np.maximum(da, db))
        assert_close(dense_of(A * 3), da * 3)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@EXAMPLES
@given(t=coo_triplets(dtypes=[np.float64, np.int64], max_dim=MAX_DIM, min_dim=1))
def test_indexing(device, fmt, t):
    A = _build(t, fmt, device)
    d = t.dense()
    m, n = t.shape
    rows = np.array([m - 1, 0, m - 1])
    assert_close(dense_of(A[rows]), d[rows])
    assert_close(dense_of(A[::2]), d[::2])
    assert_close(dense_of(A[:, n - 1:0:-1]), d[:, n - 1:0:-1])
    assert_close(dense_of(A[m // 2]), d[m // 2:m // 2 + 1])
    assert_close(np.asarray(dense_of(A[m - 1, n - 1])), np.asarray(d[m - 1, n - 1]))
