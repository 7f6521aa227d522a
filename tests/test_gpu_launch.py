"""The direct kernel launch of ``sparsela.backends.gpu._cuda.launch_grid``.

After the first launch of a kernel for a set of argument types (through
Numba's dispatcher, which compiles or loads it), ``launch_grid`` marshals the
arguments itself and launches the compiled function. These tests check, on
a real GPU, that the marshalled parameters are exactly those Numba's own
``_Kernel._prepare_args`` makes, that the direct launch is the one taken and
computes what the dispatcher's launch computes, and that arguments without a
direct path still run. Without a GPU the kernels run in Numba's CUDA
simulator, where there is no direct launch: those tests skip.

The last test checks, in a subprocess with numba-cuda (``SPARSELA_PTX_PYTHON``
names its interpreter, as for ``tests/test_gpu_ptx.py``), that a NumPy that
numba-cuda cannot compile with is a clear ImportError, not an AttributeError
from inside the compiler; no GPU is needed for it.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import GPU_MODE

real_gpu = pytest.mark.skipif(
    GPU_MODE != "real", reason="the direct launch exists on a real GPU only "
    "(the CUDA simulator runs kernels through Numba's dispatcher)")


@pytest.fixture(scope="module")
def env():
    import cupy as cp
    from numba import cuda

    from sparsela.backends.gpu import _cuda

    @cuda.jit
    def axpb(x, y, M, n, a, b, c, flag):
        # y[i] = a * x[i] + b + n + M[i, 0] + |Re c| + |Im c| (+1 when flag)
        i = cuda.grid(1)
        if i < y.shape[0]:
            v = a * x[i] + b + n + M[i, 0] + abs(c.real) + abs(c.imag)
            if flag:
                v += 1
            y[i] = v

    return cp, _cuda, axpb


def _args(cp, dtype, n=1000):
    rng = np.random.default_rng(0)
    x = cp.asarray(rng.standard_normal(2 * n)).astype(dtype)[::2]  # strided: layout A
    y = cp.zeros(n, dtype=dtype)
    M = cp.asfortranarray(cp.asarray(rng.standard_normal((n, 3))).astype(dtype))
    return x, y, M


@real_gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("n_type", [int, np.int32, np.int64])
def test_direct_launch_matches_the_dispatcher(env, dtype, n_type):
    cp, _cuda, axpb = env
    x, y, M = _args(cp, dtype)
    n, a, b, c = n_type(3), dtype(2), dtype(0.5), np.complex128(1 - 2j)
    args = (x, y, M, n, a, b, c, True)
    key = _cuda._signature_key(axpb, args)
    _cuda.launch(axpb, y.shape[0], *args, threads=128)  # the dispatcher's launch
    first = y.get()
    entry = _cuda._FAST[key]
    assert entry, "the kernel got no direct launch"
    y.fill(0)
    _cuda.launch(axpb, y.shape[0], *args, threads=128)  # the direct launch
    np.testing.assert_array_equal(y.get(), first)
    xh, Mh = x.get(), M.get()
    expect = (dtype(2) * xh + dtype(0.5) + 3 + Mh[:, 0] + 3 + 1).astype(dtype)
    np.testing.assert_allclose(first, expect, rtol=1e-5)

    # the parameters are Numba's own, value for value
    _kernel, argtypes = entry
    overload = axpb.overloads[argtypes]
    raw = tuple(_cuda._raw(v) for v in args)
    stream = _cuda._external_stream(cp.cuda.get_current_stream().ptr)
    numba_params: list = []
    for t, v in zip(argtypes, raw):
        overload._prepare_args(t, v, stream, [], numba_params)
    ours = _cuda._fast_args(argtypes, args)

    def value(p):
        return getattr(p, "value", p)

    assert [type(p) for p in ours] == [type(p) for p in numba_params]
    assert [value(p) for p in ours] == [value(p) for p in numba_params]


@real_gpu
def test_other_arguments_take_the_dispatcher(env):
    cp, _cuda, axpb = env
    x, y, M = _args(cp, np.float64)
    big = 2 ** 64 - 1  # a Python int beyond int64: typed by its value
    assert _cuda._signature_key(axpb, (x, y, M, big, 1.0, 0.0, 0j, False)) is None
    assert _cuda._signature_key(axpb, (x, y, M, [1], 1.0, 0.0, 0j, False)) is None
    # a NumPy array is no device array: no key, Numba's dispatcher copies it
    assert _cuda._signature_key(axpb, (x.get(), y, M, 1, 1.0, 0.0, 0j, False)) is None


@real_gpu
def test_sparse_products_use_the_direct_launch(env):
    """A product's kernels are launched directly from the second call on."""
    cp, _cuda, _ = env
    import scipy.sparse as sp

    import sparsela as sl

    S = sp.random(300, 200, density=0.05, format="csr", random_state=1)
    A = sl.csr_array(S).to_device("gpu")
    x = cp.arange(200, dtype=np.float64)
    X = cp.ones((200, 8))
    first = (A @ x).get(), (A @ X).get(), sl.spgemm(A, A.T).to_device("cpu").toarray()
    before = sum(1 for v in _cuda._FAST.values() if v)
    second = (A @ x).get(), (A @ X).get(), sl.spgemm(A, A.T).to_device("cpu").toarray()
    assert sum(1 for v in _cuda._FAST.values() if v) == before  # nothing new to set up
    assert before > 0
    for f, s in zip(first, second):
        np.testing.assert_allclose(s, f, rtol=1e-12)
    np.testing.assert_allclose(second[0], S @ x.get(), rtol=1e-12)
    np.testing.assert_allclose(second[2], (S @ S.T).toarray(), rtol=1e-12)


_NO_ROW_STACK = """
import importlib.util, sys
import numpy as np
if importlib.util.find_spec("numba_cuda") is None:
    print("SKIP numba-cuda is not installed in", sys.executable)
    sys.exit()
np.__dict__.pop("row_stack", None)  # as in NumPy 2.5, which removed it
from sparsela.backends.gpu import _cuda
try:
    _cuda.check_numpy_support()
except ImportError as exc:
    print("ERROR", exc)
else:
    print("SKIP this numba-cuda compiles without np.row_stack")
"""


def test_unsupported_numpy_is_a_clear_import_error():
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_ENABLE_CUDASIM", "SPARSELA_GPU_SIMULATOR")}
    root = Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    python = os.environ.get("SPARSELA_PTX_PYTHON", sys.executable)
    out = subprocess.run([python, "-c", _NO_ROW_STACK], env=env, cwd=root, text=True,
                         capture_output=True, timeout=120, check=True).stdout.strip()
    if out.startswith("SKIP"):
        pytest.skip(out[5:])
    assert out.startswith("ERROR numba-cuda"), out
    assert "does not support NumPy" in out and "numpy<2.5" in out
