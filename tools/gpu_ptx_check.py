#!/usr/bin/env python
"""Compile every GPU kernel of ``sparsela/backends/gpu/`` to PTX, without a GPU.

Numba's CUDA simulator (what the test suite runs the kernels in on a CPU
machine) accepts Python that the real CUDA target rejects, so this script
compiles every ``numba.cuda`` kernel -- the module-level ones and the ones
built by kernel factories, for every size/dtype the module builds -- with
``numba.cuda.compile_ptx`` for a real compute capability (default 9.0, the
H100), once for every dtype combination ``sparsela.ops`` launches it with.

Kernels are found automatically: every ``numba.cuda`` kernel dispatcher
defined in a module of the package, and every module-level function that
builds kernels (a factory). The signature table below (``TABLES``) must name
each of them; a kernel or factory found without signatures, or a table entry
naming nothing, is a failure, so a new kernel cannot be left out silently.

Usage (with numba-cuda and the CUDA NVVM installed, e.g. ``pip install
sparsela[cuda12]``; no GPU or driver needed)::

    python tools/gpu_ptx_check.py                   # every module, sm_90
    python tools/gpu_ptx_check.py --cc 8.0          # sm_80
    python tools/gpu_ptx_check.py --only spgemm,spmv
    python tools/gpu_ptx_check.py --list            # the table, no compiling
    python tools/gpu_ptx_check.py --ptxas           # also assemble with ptxas

About 860 signatures at 0.1-1 s of CPU each (spgemm's hash-table kernels are
the big ones), compiled by ``-j`` processes (default: the CPU count): about
4 minutes on two idle cores.

Exit status: 0 when every signature compiled, 1 on any failure (a compile
error, a kernel without signatures, a stale table entry), 2 when numba-cuda
or NVVM is missing.
"""
from __future__ import annotations

import os

# Before anything imports Numba: the simulator replaces the CUDA target.
for _var in ("NUMBA_ENABLE_CUDASIM", "SPARSELA_GPU_SIMULATOR"):
    os.environ.pop(_var, None)

import argparse
import ast
import importlib
import inspect
import itertools
import multiprocessing
import pkgutil
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import types as pytypes

MISSING_HINT = "install numba-cuda with the CUDA NVVM: pip install sparsela[cuda12] (or [cuda13])"


# --------------------------------------------------------------------------- #
# environment
# --------------------------------------------------------------------------- #
def probe(cc: tuple[int, int]) -> str | None:
    """None when PTX can be compiled here, else why not (one line).

    The CUDA target is the ``numba-cuda`` package (what the ``cuda12`` /
    ``cuda13`` extras install); the deprecated ``numba.cuda`` built into older
    Numba releases is not what the GPU backend runs on, so it does not count.
    """
    import importlib.util

    if importlib.util.find_spec("numba_cuda") is None:
        return "numba-cuda is not installed"
    try:
        from numba import cuda
        from numba.core import types as nt
    except Exception as e:  # noqa: BLE001 (any import failure means "missing")
        return f"numba.cuda is not importable ({type(e).__name__}: {e})"

    def _probe_kernel(a):
        a[0] = 1

    try:
        cuda.compile_ptx(_probe_kernel, (nt.int32[::1],), cc=cc)
    except Exception as e:  # noqa: BLE001
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return f"numba.cuda cannot compile PTX ({type(e).__name__}: {first[:200]})"
    return None


def fake_device(cc: tuple[int, int]) -> None:
    """Kernels that call device functions compile those for "the current device";
    without a driver there is none, so stand in one of compute capability ``cc``
    for that look-up (``compile_ptx`` gets ``cc`` itself)."""
    import numba.cuda.dispatcher as disp

    disp.get_current_device = lambda: pytypes.SimpleNamespace(compute_capability=cc)


# --------------------------------------------------------------------------- #
# type vocabulary of the tables
# --------------------------------------------------------------------------- #
try:
    import numpy as np
    from numba.core import types as nt  # plain Numba; no CUDA needed
except ImportError as _e:
    print(f"gpu_ptx_check: cannot compile PTX here: numba is not importable ({_e}); "
          f"{MISSING_HINT}")
    sys.exit(2)

i8, i32, i64, b1 = nt.int8, nt.int32, nt.int64, nt.boolean
#: index dtypes of CSR/CSC/COO/BSR arrays
IDX = (i32, i64)
#: every value dtype a sparsela array holds (float16 is stored as float32)
VALUES = (nt.boolean, nt.int8, nt.int16, nt.int32, nt.int64, nt.uint8, nt.uint16, nt.uint32,
          nt.uint64, nt.float32, nt.float64, nt.complex64, nt.complex128)
#: dtypes the products compute in (ops._validation.kernel_dtype)
KERNEL = (nt.int32, nt.int64, nt.float32, nt.float64, nt.complex64, nt.complex128)
#: dtypes of the semiring/masked/top-k kernels: plus_times in KERNEL, ordered
#: semirings and top-k in int64/uint64/floats (ops.spgemm._ordered_kernel_dtype),
#: or_and in bool
SEMIRING = (nt.boolean, nt.int32, nt.int64, nt.uint64, nt.float32, nt.float64, nt.complex64,
            nt.complex128)
#: dtypes ``cuda.atomic.add/max/min`` take
ATOMIC = (nt.int32, nt.int64, nt.uint32, nt.uint64, nt.float32, nt.float64)
#: dtypes without atomics, summed by one thread per row (convert.csr_todense)
SMALL = (nt.boolean, nt.int8, nt.int16, nt.uint8, nt.uint16)
#: complex dtype -> its float view (two float atomics per value)
FLOAT_OF = {nt.complex64: nt.float32, nt.complex128: nt.float64}
#: value dtypes of max/min (ops.reduce.extreme: no complex, bool viewed as uint8)
ORDERED_VALUES = tuple(d for d in VALUES if d not in FLOAT_OF and d != nt.boolean)


def v(dt):
    """1-D C-contiguous array (every kernel argument array is one)."""
    return nt.Array(dt, 1, "C")


def m(dt):
    """2-D C-contiguous array."""
    return nt.Array(dt, 2, "C")


def b3(dt):
    """3-D C-contiguous array (BSR blocks)."""
    return nt.Array(dt, 3, "C")


def flt(dt):
    """``dt``, or its float view when complex (``spmv.real_view``)."""
    return FLOAT_OF.get(dt, dt)


def dstr(dt) -> str:
    """NumPy dtype string of a Numba type (the factories' dtype argument)."""
    return np.dtype(str(dt)).str


def dname(dt) -> str:
    return np.dtype(str(dt)).name


def sum_dtype(dt):
    """NumPy's default ``sum`` dtype (ops.reduce.sum)."""
    from numba.np.numpy_support import from_dtype

    return from_dtype(np.zeros(1, dtype=str(dt)).sum().dtype)


def atomic_dtype(dt):
    """reduce._atomic_dtype: the accumulator of column max/min."""
    if dt in ATOMIC:
        return dt
    if isinstance(dt, nt.Float):
        return nt.float64
    return nt.uint64 if dt in (nt.uint8, nt.uint16) else nt.int64


def fmt(sig) -> str:
    """A signature the way the tables write it: ``(int32[::1], float64[:, ::1], int64)``."""
    def one(ty):
        if isinstance(ty, nt.Array):
            dims = [":"] * (ty.ndim - 1) + ["::1" if ty.layout == "C" else ":"]
            return f"{ty.dtype}[{', '.join(dims)}]"
        return str(ty)

    return "(" + ", ".join(one(ty) for ty in sig) + ")"


def P(*pairs):
    """itertools.product, for the tables."""
    return itertools.product(*pairs)


# --------------------------------------------------------------------------- #
# the signature tables: one generator per module, yielding (kernel, signature)
# where kernel is the attribute name of a kernel, or (factory name, arguments)
# for a kernel built by a factory. Types follow what each module's host code
# and sparsela.ops pass: Python ints are int64, Python bools boolean, argsort
# permutations and scratch counters int64.
# --------------------------------------------------------------------------- #
def table_binop(mod, T):
    for a, bi, c in P(IDX, IDX, IDX):  # A's, B's and C's index dtypes
        if c == IDX[0]:
            yield "_match_a", (v(a), v(a), v(bi), v(bi), v(i64), v(i64))
            yield "_count_rows", (v(a), v(bi), v(i64), b1, v(i64))
        yield "_fill_a", (v(a), v(a), v(bi), v(i64), v(i64), b1, v(c), v(c), v(i64), v(i64))
        yield "_fill_b", (v(a), v(a), v(bi), v(bi), v(i64), v(c), v(c), v(i64), v(i64))


def table_canonical(mod, T):
    for p in IDX:
        yield "_unsorted_flag", (v(p), v(p), b1, v(i32))
        yield "_expand_rows", (v(p), v(p))
        yield "_head_flags", (v(p), v(p), v(i8))
        yield "_segment_counts", (v(p), v(i64), v(p))
        for x in VALUES:
            yield "_insertion_sort_rows", (v(p), v(p), v(x), i64)
            yield "_sum_runs", (v(p), v(p), v(x), v(i8), v(i64), v(p), v(p), v(x))
            yield "_compact_nonzero", (v(p), v(p), v(x), v(i64), v(p), v(p), v(x))


def table_convert(mod, T):
    for src, dst in P(IDX, IDX):  # COO/CSR index dtype in, CSR/CSC index dtype out
        yield "_count_keys", (v(src), i64, v(dst))
        for x in VALUES:
            yield "_gather_pairs", (v(i64), v(src), v(x), v(dst), v(x), i64)
            yield "_transpose_gather", (v(i64), v(src), v(x), v(dst), v(x), i64)
    yield "_segment_heads", (v(b1), v(i64), v(i64), v(i64), v(i64))
    for p in IDX:
        for x in ATOMIC:
            yield "_todense_atomic", (v(p), v(p), v(x), v(x), i64, i64)
        for c, f in FLOAT_OF.items():
            yield "_todense_atomic_complex", (v(p), v(p), v(c), v(f), i64, i64)
        for x in SMALL:
            yield "_todense_rows", (v(p), v(p), v(x), v(x), i64, i64)
        yield "_block_keys", (v(p), v(p), i64, i64, i64, i64, v(i64))
    for p, q, x in P(IDX, IDX, VALUES):  # CSR and BSR index dtypes (chosen apart)
        yield "_fill_blocks", (v(i64), v(i64), v(i64), v(i64), v(p), v(p), v(x), i64, i64, i64,
                               v(q), v(q), b3(x))
        yield "_expand_blocks", (i64, i64, v(q), v(q), b3(x), v(p), v(p), v(x))


def table_index(mod, T):
    for p, x in P(IDX, VALUES):
        yield "_row_gather_kernel", (v(p), v(p), v(x), v(i64), v(p), v(p), v(x))


def table_reduce(mod, T):
    # sum: out in NumPy's sum dtype (or float64: mean of integers)
    sums = {(x, sum_dtype(x)) for x in VALUES}
    sums |= {(x, nt.float64) for x in VALUES if isinstance(x, (nt.Integer, nt.Boolean))}
    for p in IDX:
        for x, out in sorted(sums, key=str):
            yield ("_row_sums_kernel", (dstr(out), T)), (v(p), v(x), v(out), i64)
        for acc in ATOMIC:
            yield "_csr_col_sums_real", (v(p), v(acc), v(acc))
        for c, f in FLOAT_OF.items():
            yield "_csr_col_sums_complex", (v(p), v(c), v(f))
        for x in ORDERED_VALUES:
            yield ("_row_extreme_kernel", (dstr(x), T)), (v(p), v(x), i64, b1, v(x), i64)
        for w in ATOMIC:
            yield "_col_extreme_scatter", (v(p), v(w), b1, v(i64), v(i32), v(w))
        for x in VALUES:
            if x != nt.boolean:  # diagonal views bool as uint8
                yield "_csr_diagonal", (v(p), v(p), v(x), i64, v(x))
    for x in ORDERED_VALUES:
        w = atomic_dtype(x)
        yield "_col_extreme_finish", (i64, b1, v(i64), v(i32), v(w), v(x))


def table_sddmm(mod, T):
    for p, x in P(IDX, KERNEL):
        yield "_sddmm_kernel", (v(p), v(p), m(x), m(x), x, i64, v(x))


def table_semiring(mod, T):
    for p in IDX:
        yield "_flag_kernel", (v(p), v(p), v(p), v(p), v(i64), v(p), v(p), i8, v(i8))
        for x in SEMIRING:
            yield "_expand_kernel", (v(p), v(p), v(x), v(p), v(p), v(x), v(i64), v(i64), i8,
                                     v(p), v(p), i8, i64, v(i64), v(p), v(x), v(i64))
    for x in SEMIRING:
        yield "_reduce_kernel", (v(i64), v(i64), v(x), i64, v(x))


def table_spgemm(mod, T):
    rows = v(i64)
    for p in IDX:
        yield "_row_flops", (v(p), v(p), v(p), v(i64))
        yield "_bin_rows", (v(i64), v(i64), v(p), v(i64), i64, i64, i64, v(i32), v(i64))
        for S in mod.SYMBOLIC_TABLE_SIZES:
            yield (("_symbolic_shared", (S, mod._group_size(S, T), T)),
                   (rows, v(p), v(p), v(p), v(p), v(i64), i64, v(i64)))
    yield "_global_table_sizes", (rows, v(i64), i64, v(i64))
    # global tables: int64 keys only when n_col > INT32_MAX, so with int64
    # indices in and out
    keyed = [(i32, p, c) for p, c in P(IDX, IDX)] + [(i64, i64, i64)]
    for key, p in sorted({(k, p) for k, p, _ in keyed}, key=str):
        yield (("_symbolic_global", (dname(key),)),
               (rows, v(i64), v(i64), i64, v(p), v(p), v(p), v(p), v(i64), i64, v(key), v(i64)))
    for x in KERNEL:
        cx = v(flt(x))  # Cx as launched: the float view for complex
        for p, c in P(IDX, IDX):  # input index dtype, C's index dtype
            yield "_copy_rows", (rows, v(p), v(p), v(x), v(p), v(p), v(x), v(c), v(c), cx, i64)
            for S in mod.NUMERIC_TABLE_SIZES:
                yield (("_numeric_shared", (S, mod._group_size(S, T), T, dname(x))),
                       (rows, v(p), v(p), v(x), v(p), v(p), v(x), v(i64), v(c), v(c), cx, i64,
                        b1))
        for key, p, c in keyed:
            yield (("_numeric_global", (dname(key), dname(x))),
                   (rows, v(i64), v(i64), i64, v(p), v(p), v(x), v(p), v(p), v(x), v(i64), i64,
                    v(key), cx, v(c), v(c), cx))


def table_spmv(mod, T):
    for p, x in P(IDX, KERNEL):
        yield ("_vector_kernel", (dstr(x), T)), (v(p), v(p), v(x), v(x), v(x), x, i64)
        if x in FLOAT_OF:
            yield "_csr_spmv_t_complex", (v(p), v(p), v(x), v(x), v(flt(x)), i64)
        else:
            yield "_csr_spmv_t_real", (v(p), v(p), v(x), v(x), v(x), i64)
        yield "_bsr_spmv", (i64, i64, v(p), v(p), b3(x), v(x), v(x), x)


def table_spmm(mod, T):
    for p, x in P(IDX, KERNEL):
        yield "_csr_spmm", (v(p), v(p), v(x), m(x), m(x), x, i64, i64)
        if x in FLOAT_OF:
            yield "_csr_spmm_t_complex", (v(p), v(p), v(x), m(x), m(flt(x)), i64, i64)
        else:
            yield "_csr_spmm_t_real", (v(p), v(p), v(x), m(x), m(x), i64, i64)
        yield "_bsr_spmm", (i64, i64, v(p), v(p), b3(x), m(x), m(x), x, i64, i64)


def table_bcd(mod, T):
    f64 = nt.float64
    Fd = nt.Array(f64, 2, "F")   # dense X (Fortran order)
    Cd = m(f64)                  # the (1, 1) dummy of sparse X (typed C-contiguous)
    designs = [(Fd, i32, i32)] + [(Cd, p, q) for p, q in P(IDX, IDX)]
    for xd, xi, ri in designs:
        yield (("_run_kernel", (T,)),
               (b1, xd, v(xi), v(xi), v(f64), v(ri), v(ri), v(f64), v(f64), b1,
                v(i64), v(i64), v(f64), v(f64), v(i64), v(i64), v(f64), v(i64),
                b1, i64, i64, b1, b1, f64, f64, f64, v(f64), v(f64), v(f64), v(f64),
                i64, i64, v(i64), v(f64),
                v(i64), v(i64), v(i64), v(f64), v(f64), m(f64), m(f64), v(f64), v(f64),
                v(i64), v(i32), v(f64), v(i32), v(f64), v(i64)))
    for xd, xi in [(Fd, i32)] + [(Cd, p) for p in IDX]:
        yield "_set_lipschitz_kernel", (b1, xd, v(xi), v(xi), v(f64), v(f64), f64, v(i64),
                                        v(i64), b3(f64), v(f64))
        yield (("_ws_kernel", (T,)),
               (b1, xd, v(xi), v(xi), v(f64), v(f64), f64, v(f64), v(i64), v(i64), v(f64),
                v(i64), v(i64), v(f64), v(i64), v(f64), v(f64), f64, f64, f64, b1, m(f64),
                v(f64)))
    for p in IDX:
        yield ("_corr_kernel", (T,)), (v(p), v(p), v(f64), v(f64), v(f64), f64, v(i64),
                                       v(f64))
        yield "_gram_kernel", (b1, Cd, v(p), v(p), v(f64), v(f64), f64, v(i64), m(f64))
    yield "_block_violations_kernel", (v(i64), v(i64), v(f64), v(i64), v(i64), v(f64),
                                       v(f64), v(f64), f64, f64, f64, b1, m(f64), v(f64))
    yield "_atom_stats_kernel", (v(i64), v(i64), v(f64), v(f64), v(f64), v(f64), f64, f64,
                                 f64, b1, v(f64), m(f64), m(f64))


def table_ot(mod, T):
    # the histogram of top_entries/select_threshold: P's uint64 view, P, counts, masses
    yield "_histogram_kernel", (v(nt.uint64), v(nt.float64), v(i64), v(nt.float64))


#: module name -> its table (modules without kernels need none)
TABLES = {name[len("table_"):]: fn for name, fn in dict(globals()).items()
          if name.startswith("table_")}

PACKAGE = "sparsela.backends.gpu"
TOOL_PATH = "tools/gpu_ptx_check.py"


# --------------------------------------------------------------------------- #
# discovery: what each module defines
# --------------------------------------------------------------------------- #
def _is_kernel(obj) -> bool:
    from numba.cuda.dispatcher import CUDADispatcher

    return isinstance(obj, CUDADispatcher) and not obj.targetoptions.get("device", False)


def _builds_kernels(func) -> bool:
    """Whether a module-level function defines a kernel inside it (a factory):
    a nested def decorated with, or a call to, ``_cuda.kernel`` / ``cuda.jit``."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return False

    def names_kernel(node) -> bool:
        if isinstance(node, ast.Call):
            node = node.func
        return isinstance(node, ast.Attribute) and (
            node.attr == "kernel"
            or (node.attr == "jit" and isinstance(node.value, ast.Name)
                and node.value.id == "cuda"))

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and names_kernel(node.func):
            return True
        if (isinstance(node, ast.FunctionDef) and node is not tree.body[0]
                and any(names_kernel(d) for d in node.decorator_list)):
            return True
    return False


def discover(mod):
    """(kernel names, factory names) defined in ``mod`` itself."""
    kernels, factories = [], []
    for name, obj in vars(mod).items():
        if _is_kernel(obj):
            if getattr(obj.py_func, "__module__", None) == mod.__name__:
                kernels.append(name)
            continue
        func = inspect.unwrap(obj) if callable(obj) else None
        if (inspect.isfunction(func) and func.__module__ == mod.__name__
                and _builds_kernels(func)):
            factories.append(name)
    return sorted(kernels), sorted(factories)


def gpu_modules() -> list[str]:
    pkg = importlib.import_module(PACKAGE)
    return sorted(info.name for info in pkgutil.iter_modules(pkg.__path__))


# --------------------------------------------------------------------------- #
# jobs
# --------------------------------------------------------------------------- #
class Plan:
    """What to compile and what is wrong before compiling."""

    def __init__(self):
        self.jobs = []       # (module, row label, dispatcher, signature)
        self.rows = {}       # (module, row label) -> [n signatures, n builds]
        self.problems = []   # (module, what, why): failures found without compiling
        self.empty = []      # modules without kernels


def build_plan(modules, threads: int) -> Plan:
    plan = Plan()
    for name in modules:
        full = f"{PACKAGE}.{name}"
        try:
            mod = importlib.import_module(full)
        except Exception as e:  # noqa: BLE001
            plan.problems.append((name, "import", f"{type(e).__name__}: {e}"))
            continue
        kernels, factories = discover(mod)
        table = TABLES.get(name)
        if table is None:
            if kernels or factories:
                for k in kernels + factories:
                    why = f"kernel with no signature table (add table_{name} to {TOOL_PATH})"
                    plan.problems.append((name, k, why))
            else:
                plan.empty.append(name)
            continue
        covered = set()
        built = {}
        try:
            entries = list(table(mod, threads))
        except Exception as e:  # noqa: BLE001 (a renamed constant, a changed factory)
            plan.problems.append((name, f"table_{name}", f"{type(e).__name__}: {e}"))
            continue
        for kern, sig in entries:
            if isinstance(kern, tuple):
                fname, fargs = kern
                label = fname
                if fname not in factories:
                    why = ("not a kernel factory of the module" if hasattr(mod, fname)
                           else "no such factory (stale table entry)")
                    plan.problems.append((name, fname, why))
                    covered.add(fname)
                    continue
                key = (fname, fargs)
                if key not in built:
                    try:
                        built[key] = getattr(mod, fname)(*fargs)
                    except Exception as e:  # noqa: BLE001
                        built[key] = e
                    plan.rows.setdefault((name, label), [0, 0])[1] += 1
                disp = built[key]
                if isinstance(disp, Exception) or not _is_kernel(disp):
                    why = (f"{type(disp).__name__}: {disp}" if isinstance(disp, Exception)
                           else f"returned {type(disp).__name__}, not a kernel")
                    plan.problems.append((name, f"{fname}{fargs}", why))
                    covered.add(fname)
                    continue
                sub = f"{fname}{fargs}"
            else:
                label = sub = kern
                if kern not in kernels:
                    why = ("not a kernel" if hasattr(mod, kern)
                           else "no such kernel (stale table entry)")
                    plan.problems.append((name, kern, why))
                    covered.add(kern)
                    continue
                disp = getattr(mod, kern)
            covered.add(label)
            plan.rows.setdefault((name, label), [0, 0])[0] += 1
            plan.jobs.append((name, label, sub, disp, sig))
        for k in kernels + factories:
            if k not in covered:
                why = f"kernel found but no signature for it in table_{name} ({TOOL_PATH})"
                plan.problems.append((name, k, why))
    return plan


# --------------------------------------------------------------------------- #
# compiling (forked workers inherit the plan)
# --------------------------------------------------------------------------- #
_PLAN: Plan | None = None
_CC: tuple[int, int] = (9, 0)


_VERBOSE = False
_PTXAS: str | None = None


def _condense(e: Exception) -> str:
    """The gist of a Numba error: its first line, the specific errors it wraps
    and where it happened (``-v`` prints it whole)."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    keep = lines[:2] + [ln for ln in lines[2:]
                        if re.search(r"Error:|During:|File \"|, line \d+|\(\d+\)$", ln)]
    seen = []
    for ln in keep:
        if ln not in seen:
            seen.append(ln)
    return f"{type(e).__name__}: " + " | ".join(seen[:8])[:1200]


def _compile(i: int):
    from numba import cuda

    _, _, _, disp, sig = _PLAN.jobs[i]
    t0 = time.perf_counter()
    try:
        ptx, _ = cuda.compile_ptx(disp.py_func, sig, cc=_CC)
        err = None if _PTXAS is None else _assemble(ptx)
    except Exception as e:  # noqa: BLE001
        err = f"{type(e).__name__}: {e}" if _VERBOSE else _condense(e)
    return i, err, time.perf_counter() - t0


def _assemble(ptx: str) -> str | None:
    """Run ptxas on the PTX (what the driver does at load time): catches what
    PTX cannot, e.g. more static shared memory than the target has."""
    with tempfile.NamedTemporaryFile("w", suffix=".ptx") as f:
        f.write(ptx)
        f.flush()
        res = subprocess.run([_PTXAS, f"-arch=sm_{_CC[0]}{_CC[1]}", f.name, "-o", os.devnull],
                             capture_output=True, text=True, check=False)
    if res.returncode == 0:
        return None
    return "ptxas: " + " | ".join((res.stderr + res.stdout).strip().splitlines()[:4])


def find_ptxas() -> str | None:
    """ptxas of the nvidia-cuda-nvcc wheel (the CUDA release of the NVVM that
    numba-cuda uses), else $CUDA_HOME/bin, else PATH."""
    candidates = []
    try:
        import nvidia.cuda_nvcc as nvcc

        candidates += [os.path.join(d, "bin", "ptxas") for d in nvcc.__path__]
    except ImportError:
        pass
    home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    if home:
        candidates.append(os.path.join(home, "bin", "ptxas"))
    found = next((c for c in candidates if os.access(c, os.X_OK)), None)
    return found or shutil.which("ptxas")


def main(argv=None) -> int:
    global _PLAN, _CC, _VERBOSE, _PTXAS
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cc", default="9.0", help="compute capability, e.g. 9.0 or 8.0")
    ap.add_argument("--only", action="append", default=[], metavar="MODULE",
                    help="module(s) to check, comma-separated or repeated (default: all)")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="compiler processes (default: the CPU count)")
    ap.add_argument("--list", action="store_true",
                    help="print the signature table and the discovery check, compile nothing")
    ap.add_argument("--probe", action="store_true",
                    help="only check that numba-cuda and NVVM are usable (exit 0 or 2)")
    ap.add_argument("--ptxas", action="store_true",
                    help="also assemble every PTX with ptxas (resource limits such as "
                         "shared memory; needs ptxas, e.g. from nvidia-cuda-nvcc)")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per signature")
    args = ap.parse_args(argv)
    _VERBOSE = args.verbose
    try:
        major, minor = (int(s) for s in args.cc.split("."))
    except ValueError:
        ap.error(f"--cc must look like 9.0, got {args.cc!r}")
    _CC = (major, minor)

    why = probe(_CC)
    if why is not None:
        print(f"gpu_ptx_check: cannot compile PTX here: {why}; {MISSING_HINT}")
        return 2
    if args.probe:
        print(f"gpu_ptx_check: numba-cuda with NVVM is available (sm_{major}{minor})")
        return 0
    fake_device(_CC)
    if args.ptxas:
        _PTXAS = find_ptxas()
        if _PTXAS is None:
            print("gpu_ptx_check: --ptxas: no ptxas found (PATH, $CUDA_HOME/bin, "
                  "nvidia-cuda-nvcc); pip install nvidia-cuda-nvcc-cu12")
            return 2

    from sparsela.backends.gpu import _cuda

    if _cuda.SIMULATOR:  # the env was cleaned above, so Numba was imported before
        print("gpu_ptx_check: sparsela.backends.gpu runs under the CUDA simulator; "
              "run without NUMBA_ENABLE_CUDASIM")
        return 2
    every = gpu_modules()
    only = [s for arg in args.only for s in arg.split(",") if s]
    unknown = sorted(set(only) - set(every))
    if unknown:
        ap.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(every)}")
    modules = only or every

    import numba

    numba_cuda = sys.modules.get("numba_cuda")
    version = getattr(numba_cuda, "__version__", None) or numba.__version__
    plan = build_plan(modules, _cuda.THREADS)
    _PLAN = plan
    step = f"PTX + ptxas ({_PTXAS})" if _PTXAS else "PTX"
    print(f"sparsela GPU kernels -> {step} for sm_{major}{minor} (numba-cuda {version}, "
          f"{_cuda.THREADS} threads a block), {len(plan.jobs)} signatures in "
          f"{len(modules)} modules")
    for mod, what, why in plan.problems:  # before compiling: shown even if cut short
        print(f"PROBLEM {mod}.{what}: {why}", flush=True)

    failed: dict[int, str] = {}
    seconds: dict[int, float] = {}
    t0 = time.perf_counter()
    if not args.list and plan.jobs:
        njobs = max(1, min(args.jobs, len(plan.jobs)))
        if njobs == 1:
            results = map(_compile, range(len(plan.jobs)))
            pool = None
        else:
            pool = multiprocessing.get_context("fork").Pool(njobs)
            results = pool.imap_unordered(_compile, range(len(plan.jobs)), chunksize=2)
        # progress: a failure as soon as it happens, a line when a module is done
        pending: dict[str, int] = {}
        for job in plan.jobs:
            pending[job[0]] = pending.get(job[0], 0) + 1
        reported = set()
        for i, err, dt in results:
            seconds[i] = dt
            mod, label, sub, _, sig = plan.jobs[i]
            if err is not None:
                failed[i] = err
                brief = err if (mod, label) not in reported or args.verbose else "(as above)"
                reported.add((mod, label))
                print(f"FAILED  {mod}.{sub} {fmt(sig)}\n        {brief}", flush=True)
            elif args.verbose:
                print(f"  ok {mod}.{sub} {fmt(sig)} ({dt:.1f} s)", flush=True)
            pending[mod] -= 1
            if pending[mod] == 0:
                nfail = sum(1 for j in failed if plan.jobs[j][0] == mod)
                print(f"  done {mod} ({time.perf_counter() - t0:.0f} s), {nfail} failed",
                      flush=True)
        if pool is not None:
            pool.close()
            pool.join()
    wall = time.perf_counter() - t0

    # the table: signatures (and factory builds) per kernel, per module
    print(f"\n{'module':<10} {'kernel':<28} {'builds':>6} {'sigs':>5} {'failed':>6}")
    by_row: dict[tuple, int] = {}
    for i in failed:
        by_row[plan.jobs[i][:2]] = by_row.get(plan.jobs[i][:2], 0) + 1
    per_module: dict[str, list[int]] = {}
    for (mod, label), (nsig, nbuild) in sorted(plan.rows.items()):
        nfail = by_row.get((mod, label), 0)
        print(f"{mod:<10} {label:<28} {nbuild or '':>6} {nsig:>5} "
              f"{'-' if args.list else nfail:>6}")
        tot = per_module.setdefault(mod, [0, 0, 0.0])
        tot[0] += nsig
        tot[1] += nfail
    for i, dt in seconds.items():
        per_module[plan.jobs[i][0]][2] += dt
    print()
    for mod in modules:
        if mod in per_module:
            nsig, nfail, cpu = per_module[mod]
            extra = "" if args.list else f", {nfail} failed ({cpu:.0f} s in the compiler)"
            print(f"  {mod}: {nsig} signatures{extra}")
    if plan.empty:
        print(f"  no kernels (nothing to compile): {', '.join(plan.empty)}")

    for mod, what, why in plan.problems:
        print(f"PROBLEM {mod}.{what}: {why}")
    for i in sorted(failed):  # again, all together (also printed as they happened)
        mod, _, sub, _, sig = plan.jobs[i]
        print(f"FAILED  {mod}.{sub} {fmt(sig)}")
    if args.list:
        print(f"listed {len(plan.jobs)} signatures, {len(plan.problems)} problems")
        return 1 if plan.problems else 0
    nbad = len(failed) + len(plan.problems)
    print(f"compiled {len(plan.jobs) - len(failed)} signatures, {nbad} failed "
          f"({len(failed)} compile errors, {len(plan.problems)} kernels without signatures "
          f"or stale entries) in {wall:.0f} s")
    return 1 if nbad else 0


if __name__ == "__main__":
    sys.exit(main())
