"""``import sparsela`` stays light: Numba and the kernels load on first use."""
from __future__ import annotations

import subprocess
import sys

import numpy as np


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_import_does_not_load_numba_or_kernels():
    out = _run("import sys, sparsela; "
               "print('numba' in sys.modules, "
               # a module still lazy has the class importlib.util._LazyModule;
               # touching any attribute would load it, so only its type is read
               "any(m.startswith('sparsela.backends.cpu.') and m != 'sparsela.backends.cpu._jit' "
               "and type(sys.modules[m]).__name__ == 'module' for m in list(sys.modules)))")
    assert out == "False False"


def test_kernels_load_on_first_use():
    out = _run("import sys, numpy as np, sparsela as sl; "
               "A = sl.csr_array(np.eye(3)); C = A @ A; y = A @ np.ones(3); "
               "print('numba' in sys.modules, C.nnz, y.tolist())")
    assert out == "True 3 [1.0, 1.0, 1.0]"


def test_lazy_returns_the_loaded_module():
    from sparsela.backends import lazy
    from sparsela.backends.cpu import spgemm

    assert lazy("cpu.spgemm") is spgemm
    Cp, Cj, Cx = lazy("cpu.spgemm").csr_spgemm(
        1, 1, np.array([0, 1], np.int32), np.array([0], np.int32), np.array([2.0]),
        np.array([0, 1], np.int32), np.array([0], np.int32), np.array([3.0]))
    assert Cx.tolist() == [6.0]


def test_import_does_not_load_the_extras():
    # the estimators' and scale-out's dependencies load only when used
    out = _run("import sys, sparsela, sparsela.decomposition, sparsela.linear_model; "
               "print(sorted(m for m in ('sklearn', 'dask', 'ot', 'cupy', 'numba', 'tqdm') "
               "if m in sys.modules))")
    assert out == "[]"


def test_subpackages_resolve_lazily():
    out = _run("import sparsela as sl; "
               "print(sl.linalg.cg.__name__, sl.utils.center_dot.__name__, "
               "sl.decomposition.__name__, sl.linear_model.__name__)")
    assert out == "cg center_dot sparsela.decomposition sparsela.linear_model"
