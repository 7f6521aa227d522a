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


def test_stale_kernel_cache_is_dropped(tmp_path):
    # Numba keys a cache entry on its own file only; a kernel folder's cache
    # goes when any of the files it depends on (its own, or a helper folder's)
    # changes, and stays while none does
    from sparsela.backends.cpu._jit import drop_stale_cache

    kern, helper = tmp_path / "gpu", tmp_path / "cpu"
    kern.mkdir()
    helper.mkdir()
    (kern / "k.py").write_text("x = 1\n")
    (helper / "h.py").write_text("y = 1\n")
    cache = kern / "__pycache__"

    def deps():
        return [*kern.glob("*.py"), *helper.glob("*.py")]

    drop_stale_cache(kern, deps())  # first use: stamps
    entry = cache / "k.f-1.py311.nbi"
    entry.write_text("index")
    drop_stale_cache(kern, deps())
    assert entry.exists()  # nothing changed
    (helper / "h.py").write_text("y = 22\n")
    drop_stale_cache(kern, deps())
    assert not entry.exists()  # a helper file changed
    entry.write_text("index")
    drop_stale_cache(kern, deps())
    assert entry.exists()
