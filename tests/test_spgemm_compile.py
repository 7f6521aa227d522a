"""What the first product compiles (issue 3: first call of each kernel).

Every distinct argument-type tuple of a ``@jit`` function is a compile of
its own, and a callee is compiled anew inside every caller's module, so the
first ``A @ A`` on an empty Numba cache costs what the one-thread path
compiles. These tests count it in a fresh interpreter with the on-disk cache
off (``SPARSELA_NUMBA_CACHE=0``): the unsorted product compiles no sort code,
the sorted one compiles each sort once (one signature each),
and neither compiles the parallel kernels or the helpers that are inlined.
They count compiles, never time them.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import force_parallel

import sparsela as sl

_SCRIPT = textwrap.dedent("""
    import json
    from collections import Counter

    import numpy as np
    import scipy.sparse as sp
    from numba.core import event

    import sparsela as sl

    A = sl.csr_array(sp.random_array((300, 300), density=0.02, format="csr",
                                     random_state=0))
    A.has_canonical_format  # the format check compiles outside the product
    log = []

    class Compiles(event.Listener):
        def on_start(self, ev):
            f = ev.data["dispatcher"].py_func
            if f.__module__.startswith("sparsela.backends.cpu.spgemm"):
                log.append(f.__qualname__)

        def on_end(self, ev):
            pass

    with event.install_listener("numba:compile", Compiles()):
        C0 = sl.spgemm(A, A, sort_indices=False)
        unsorted = dict(Counter(log))
        log.clear()
        C1 = sl.spgemm(A, A, sort_indices=True)
        sorted_ = dict(Counter(log))
    print(json.dumps({
        "unsorted": unsorted, "sorted": sorted_,
        "C0": [np.asarray(x).tolist() for x in (C0.indptr, C0.indices, C0.data)],
        "C1": [np.asarray(x).tolist() for x in (C1.indptr, C1.indices, C1.data)],
    }))
""")


def _run():
    env = dict(os.environ, SPARSELA_NUMBA_CACHE="0", SPARSELA_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True,
                         text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_first_products_compile_each_kernel_once():
    res = _run()
    block = "_make_numeric.<locals>.block"
    # one-thread unsorted product of small matrices: flops and the one pass
    # in one kernel (spgemm_onepass.py) with the block kernel it calls, once
    # each; no parallel region, no sort code, no standalone copy of inlined
    # helpers
    assert res["unsorted"] == {"small_onepass": 1, "_block": 1}
    # the sorted one: flops, symbolic pass and allocation in one kernel (with
    # the symbolic block kernel it calls), the sorted numeric kernel and the
    # sorts, one signature each (_sort_rows is called from six places with
    # the same argument types; _sort_row once compiled three times, one per
    # call site's types, and _sort_rows twice when a row count was typed as
    # the literal 0)
    assert res["sorted"] == {"_small_count": 1, "_make_symbolic.<locals>.block": 1, block: 1,
                             "_sort_rows": 1, "_rank_sort_pairs": 1, "_sort_row": 1,
                             "_sort_keys": 1}

    S = sp.random_array((300, 300), density=0.02, format="csr", random_state=0)
    ref = (S @ S).tocsr()
    ref.sort_indices()
    p1, j1, x1 = (np.asarray(v) for v in res["C1"])
    np.testing.assert_array_equal(p1, ref.indptr)
    np.testing.assert_array_equal(j1, ref.indices)
    np.testing.assert_allclose(x1, ref.data, rtol=1e-12, atol=0)
    # the unsorted product has the same rows, in some order
    p0, j0, x0 = (np.asarray(v) for v in res["C0"])
    C0 = sp.csr_array((x0, j0, p0), shape=S.shape)
    assert not C0.has_canonical_format or np.array_equal(j0, j1)
    C0.sort_indices()
    np.testing.assert_array_equal(C0.indices, ref.indices)
    np.testing.assert_allclose(C0.data, ref.data, rtol=1e-12, atol=0)


@pytest.mark.parametrize("parallel", [False, True])
def test_sort_kernel_variants_match(parallel):
    """The sorted and unsorted numeric kernels (two compiled variants) give
    the same entries, the sorted one in column order, on one thread and on
    the parallel path."""
    rng = np.random.default_rng(3)
    ctx = force_parallel() if parallel else contextlib.nullcontext()
    with ctx:
        for shape, density in (((40, 60), 0.2), ((200, 150), 0.05)):
            A = sp.random_array(shape, density=density, format="csr", rng=rng)
            B = sp.random_array(shape[::-1], density=density, format="csr", rng=rng)
            out = {}
            for sort in (False, True):
                C = sl.spgemm(sl.csr_array(A), sl.csr_array(B), sort_indices=sort)
                out[sort] = sp.csr_array((np.asarray(C.data), np.asarray(C.indices),
                                          np.asarray(C.indptr)), shape=C.shape)
            assert out[True].has_canonical_format
            np.testing.assert_array_equal(out[True].indptr, out[False].indptr)
            U = out[False].copy()
            U.sort_indices()
            np.testing.assert_array_equal(U.indices, out[True].indices)
            np.testing.assert_array_equal(U.data, out[True].data)
            np.testing.assert_allclose(out[True].toarray(), (A @ B).toarray(), rtol=1e-12,
                                       atol=1e-15)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("sort", [False, True])
def test_small_inputs_one_call_path(index_dtype, sort):
    """Small inputs run flops, symbolic pass and allocation in one kernel
    call, then the numeric block; small inputs whose product is big (flops
    + rows >= PARALLEL_MIN_WORK) hand their flops back to the chunked path.
    Both agree with SciPy, with int32 result indices whatever the input's
    index dtype (as spgemm_index_dtype chooses for nnz and columns that
    fit)."""
    from sparsela.backends.cpu import _jit

    rng = np.random.default_rng(7)
    # small: 30 x 40 at 10%; big product: a dense column of A times a dense
    # row of B (60 x 60 dense product, 600 nonzeros in each input)
    small = (sp.random_array((30, 40), density=0.1, format="csr", rng=rng),
             sp.random_array((40, 25), density=0.1, format="csr", rng=rng))
    col = sp.csr_array((rng.random(600), (np.repeat(np.arange(60), 10),
                                          np.tile(np.arange(10), 60))), shape=(60, 10))
    big = (col, col.T.tocsr())
    assert big[0].nnz + 60 < _jit.PARALLEL_MIN_WORK
    assert big[0].nnz * 60 + 60 >= _jit.PARALLEL_MIN_WORK  # flops of the product
    for A, B in (small, big):
        a, b = sl.csr_array(A), sl.csr_array(B)
        for M in (a, b):
            M.indices = M.indices.astype(index_dtype)
            M.indptr = M.indptr.astype(index_dtype)
        C = sl.spgemm(a, b, sort_indices=sort)
        assert C.indices.dtype == np.int32 and C.indptr.dtype == np.int32
        ref = (A @ B).tocsr()
        got = sp.csr_array((np.asarray(C.data), np.asarray(C.indices), np.asarray(C.indptr)),
                           shape=C.shape)
        if sort:
            assert got.has_canonical_format
        np.testing.assert_allclose(got.toarray(), ref.toarray(), rtol=1e-12, atol=1e-15)


_SECOND_PROCESS = textwrap.dedent("""
    import json
    from collections import Counter

    import numpy as np
    import scipy.sparse as sp
    from numba.core import event

    import sparsela as sl
    from sparsela.backends.cpu import _jit, _prefetch

    rng = np.random.default_rng(0)
    A = sl.csr_array(sp.random_array((200, 200), density=0.05, format="csr", rng=rng))
    M = sl.csr_array(sp.random_array((200, 200), density=0.05, format="csr", rng=rng))
    X = rng.standard_normal((200, 8))
    A.has_canonical_format
    log = Counter()

    class Compiles(event.Listener):
        def on_start(self, ev):
            f = ev.data["dispatcher"].py_func
            if f.__module__.startswith("sparsela."):
                log[f.__module__ + "." + f.__qualname__] += 1

        def on_end(self, ev):
            pass

    _jit.PARALLEL_MIN_WORK = 0  # the parallel kernels, however small the input
    _prefetch.FAR_BYTES = 0
    with sl.config_context(num_threads=2), event.install_listener("numba:compile", Compiles()):
        for min_bytes in (1 << 62, 0):  # prefetching off, then on
            _prefetch.MIN_BYTES = min_bytes
            for sort in (False, True):
                sl.spgemm(A, A, sort_indices=sort)
            sl.spgemm(A, A, semiring="min_plus")
            sl.spgemm(A, A, mask=M)
            sl.spgemm(A, A, mask=M, complement=True)
            sl.spgemm_topk(A, A, 3)
            sl.spmm(A, X)
    print(json.dumps(dict(log)))
""")


def test_second_process_compiles_nothing():
    # The parallel kernels made by factories (spgemm's passes, semiring,
    # masked, top-k, SpMM rows: one variant each per closure constant) call
    # the factory's serial kernel. As a closure over it they were compiled
    # anew in every process: Numba keys its cache on the pickled closure,
    # whose dispatcher carries an id drawn per process (numba#6264). With the
    # on-disk cache on, a second process must load all of them.
    env = dict(os.environ, SPARSELA_NUMBA_CACHE="1")
    env.pop("NUMBA_DISABLE_JIT", None)
    runs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", _SECOND_PROCESS], env=env,
                             capture_output=True, text=True, timeout=900, check=False)
        assert out.returncode == 0, out.stderr[-3000:]
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert runs[1] == {}, f"compiled again in a second process: {runs[1]}"
