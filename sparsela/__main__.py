"""The ``sparsela`` command line.

::

    sparsela info A.mtx                      # shape, nnz, dtype, symmetry, row statistics
    sparsela multiply A.mtx [B.mtx] -o C.mtx [--threads N] [--no-sorted] [--check]
    sparsela demo [--kind rmat|poisson2d|poisson3d] [--scale S] [--threads N] [--repeat R]
    sparsela bench [--device cpu|gpu] [--quick] [--threads N] [--runs R] [--ops OP ...]
                   [--libraries LIB ...] [--matrices NAME ...] [--json]

Exit status: 0 success, 1 a result differs from SciPy's (``--check``, ``demo``) or,
for ``bench``, between the libraries or a benchmark cell failed,
2 an error (bad arguments, missing or malformed file, incompatible shapes),
reported as one line on stderr starting with ``sparsela: error:``.  Set
``SPARSELA_DEBUG=1`` to get the Python traceback instead.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from typing import Sequence

import numpy as np

PROG = "sparsela"


class CLIError(Exception):
    """An error reported to the user as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors raised instead of printed with the usage text."""

    def error(self, message: str):  # noqa: D102 - argparse API
        raise CLIError(message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return value


def _version() -> str:
    from . import __version__

    return __version__


def _scipy_version() -> str:
    import scipy

    return scipy.__version__


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------
def _threads_context(threads: int | None):
    import sparsela as sl

    if threads is None:
        return contextlib.nullcontext()
    return sl.config_context(num_threads=threads)


def _load(path: str, duplicates: str):
    """Read a Matrix Market or .npz file as a sparsela CSR array."""
    import sparsela as sl
    from . import io as slio

    if path.endswith(".npz"):
        M = slio.load_npz(path)
    else:
        M = slio.mmread(path, duplicates=duplicates)
    if isinstance(M, np.ndarray):
        return sl.csr_array(M)
    return M.tocsr()


def _fmt_shape(shape) -> str:
    return f"{shape[0]} x {shape[1]}"


def _canonical_scipy(M, *, owned: bool = False):
    """``M`` as a SciPy CSR array with sorted indices, no duplicates and no explicit zeros.

    The arrays of ``M`` are shared when they already have that form; a copy is
    made before any change unless ``owned`` (then ``M`` may be sorted in place,
    which does not change the matrix it holds).
    """
    import scipy.sparse

    S = M.to_scipy() if hasattr(M, "to_scipy") else M
    if S.format != "csr":
        S, owned = scipy.sparse.csr_array(S), True
    if not S.has_canonical_format:
        if not owned:
            S, owned = S.copy(), True
        S.sum_duplicates()  # sorts the indices too
    if S.nnz and not np.all(S.data != 0):
        if not owned:
            S = S.copy()
        S.eliminate_zeros()
    return S


def compare_with_scipy(C, C_ref, A=None, B=None) -> tuple[bool, str]:
    """Check a sparsela product against SciPy's, allowing for rounding.

    Parameters
    ----------
    C : sparsela array
        The product computed by sparsela (not modified).
    C_ref : scipy.sparse array
        The product computed by SciPy; its indices may be sorted in place.
    A, B : scipy.sparse arrays, optional
        The factors, used to bound the rounding error of each entry when the
        values are not equal to within 1e-12 relative.

    Returns
    -------
    ok : bool
        Whether the products agree.
    detail : str
        One line describing the comparison.

    Notes
    -----
    Both products are put in canonical form (sorted indices, duplicates summed)
    and explicit zeros are dropped (SciPy drops exact zeros that arise from
    cancellation; sparsela keeps them).  The products agree when the structures
    are identical and the values equal to 1e-12 relative, or else when every
    entry differs by at most ``rtol * (|A| @ |B|)[i, j]``, the standard bound on
    the rounding error of a sum of products added in a different order
    (``rtol`` = 1e-9 in double, 1e-4 in single precision; integers must be equal).
    """
    import scipy.sparse

    if tuple(C.shape) != tuple(C_ref.shape):
        return False, f"shapes differ: {_fmt_shape(C.shape)} vs {_fmt_shape(C_ref.shape)}"
    X = _canonical_scipy(C)
    Y = _canonical_scipy(C_ref, owned=True)
    dt = np.result_type(X.dtype, Y.dtype)
    inexact = dt.kind in "fc"
    if np.array_equal(X.indptr, Y.indptr) and np.array_equal(X.indices, Y.indices):
        if np.array_equal(X.data, Y.data, equal_nan=inexact):
            return True, f"identical to SciPy (nnz {Y.nnz})"
        if inexact and np.allclose(X.data, Y.data, rtol=1e-12, atol=0.0, equal_nan=True):
            err = float(np.max(np.abs(X.data - Y.data), initial=0.0))
            return True, (f"same structure as SciPy (nnz {Y.nnz}), values equal to "
                          f"rounding (max abs diff {err:.3g})")
    D = abs(X.astype(dt) - Y.astype(dt)).tocsr()
    err = float(np.max(D.data, initial=0.0)) if D.nnz else 0.0
    if not inexact or A is None or B is None or np.isnan(D.data).any():
        return False, f"differs from SciPy: nnz {X.nnz} vs {Y.nnz}, max abs diff {err:.3g}"
    # values differ beyond 1e-12 relative: bound each entry's rounding error
    rtol = 1e-4 if dt in (np.float32, np.complex64) else 1e-9
    E = abs(scipy.sparse.csr_array(A)) @ abs(scipy.sparse.csr_array(B))
    excess = (D - rtol * E).tocsr()
    if excess.nnz and bool(np.any(excess.data > 0)):
        return False, (f"differs from SciPy beyond rounding: nnz {X.nnz} vs {Y.nnz}, "
                       f"max abs diff {err:.3g}")
    return True, (f"equal to SciPy within rounding (nnz {X.nnz} vs {Y.nnz} without "
                  f"explicit zeros, max abs diff {err:.3g})")


# ----------------------------------------------------------------------------
# sparsela info
# ----------------------------------------------------------------------------
def _cmd_info(args) -> int:
    from . import io as slio

    rows, cols, entries, fmt, field, symmetry = slio.mminfo(args.file)
    M = slio.mmread(args.file, duplicates=args.duplicates)
    if isinstance(M, np.ndarray):
        row_nnz = np.count_nonzero(M, axis=1)
        nnz = int(row_nnz.sum())
        dtype = M.dtype
        stored = f"{entries} values stored densely"
    else:
        C = M.tocsr()
        row_nnz = np.diff(C.indptr)
        nnz = C.nnz
        dtype = C.dtype
        stored = f"{entries} entries in the file"
        if symmetry != "general":
            stored += f", expanded from the {symmetry} storage"
    density = nnz / (rows * cols) if rows and cols else 0.0
    lines = [
        ("file", args.file),
        ("shape", _fmt_shape((rows, cols))),
        ("nnz", f"{nnz} ({stored})"),
        ("density", f"{density:.3e}"),
        ("dtype", str(dtype)),
        ("format", fmt),
        ("field", field),
        ("symmetry", symmetry),
    ]
    if rows:
        lines.append((
            "row nnz",
            f"min {int(row_nnz.min())}, mean {row_nnz.mean():.2f}, max {int(row_nnz.max())}, "
            f"std {row_nnz.std():.2f}",
        ))
        lines.append(("empty rows", str(int(np.count_nonzero(row_nnz == 0)))))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")
    return 0


# ----------------------------------------------------------------------------
# sparsela multiply
# ----------------------------------------------------------------------------
def _cmd_multiply(args) -> int:
    import sparsela as sl
    from . import io as slio

    A = _load(args.A, args.duplicates)
    B = A if args.B is None else _load(args.B, args.duplicates)
    b_name = args.A if args.B is None else args.B
    if A.shape[1] != B.shape[0]:
        raise CLIError(
            f"cannot multiply {args.A} ({_fmt_shape(A.shape)}) by {b_name} "
            f"({_fmt_shape(B.shape)}): inner dimensions {A.shape[1]} and {B.shape[0]} differ"
        )
    with _threads_context(args.threads):
        threads = sl.get_num_threads()
        t0 = time.perf_counter()
        C = sl.spgemm(A, B, sort_indices=args.sorted)
        elapsed = time.perf_counter() - t0
    print(
        f"C = {args.A} @ {b_name}: {_fmt_shape(C.shape)}, nnz {C.nnz}, {C.dtype}, "
        f"{elapsed * 1e3:.1f} ms on {threads} thread(s) "
        "(first product in this process: includes Numba compilation or cache load)"
    )
    status = 0
    if args.check:
        As, Bs = A.to_scipy(), B.to_scipy()
        ok, detail = compare_with_scipy(C, As @ Bs, As, Bs)
        print(f"check: {'OK' if ok else 'MISMATCH'}: {detail}")
        status = 0 if ok else 1
    if args.output:
        slio.mmwrite(
            args.output,
            C,
            comment=f" C = A @ B by sparsela {_version()}; A = {args.A}, B = {b_name}",
            symmetry="general",
        )
        print(f"wrote {args.output}")
    return status


# ----------------------------------------------------------------------------
# sparsela demo
# ----------------------------------------------------------------------------
_DEFAULT_SCALE = {"rmat": 14, "poisson2d": 18, "poisson3d": 18}
_WARMUP_SCALE = 8
_AUTO_RUNS, _AUTO_SECONDS = 3, 1.0


def _demo_matrix(kind: str, scale: int, edge_factor: int, seed: int):
    """The bundled demo input and a one-line description of it."""
    from . import generators

    if kind == "rmat":
        A = generators.rmat(scale, edge_factor, rng=seed)
        desc = (f"R-MAT (Graph500 Kronecker, a=0.57 b=0.19 c=0.19) scale {scale}, "
                f"edge factor {edge_factor}, seed {seed}")
    elif kind == "poisson2d":
        n = max(1, round(2 ** (scale / 2)))
        A = generators.poisson2d(n)
        desc = f"2-D Poisson 5-point Laplacian on a {n} x {n} grid"
    else:
        n = max(1, round(2 ** (scale / 3)))
        A = generators.poisson3d(n)
        desc = f"3-D Poisson 7-point Laplacian on a {n} x {n} x {n} grid"
    return A, desc


def _best_time(fn, repeat: int | None):
    """Best wall time of ``repeat`` runs (auto: up to 3 runs, stopping after 1 s)."""
    best, total, runs, out = float("inf"), 0.0, 0, None
    while True:
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        best, total, runs = min(best, dt), total + dt, runs + 1
        if repeat is not None and runs >= repeat:
            break
        if repeat is None and (runs >= _AUTO_RUNS or total >= _AUTO_SECONDS):
            break
    return best, runs, out


def _cmd_demo(args) -> int:
    import sparsela as sl

    scale = _DEFAULT_SCALE[args.kind] if args.scale is None else args.scale
    if scale > 30:
        raise CLIError(f"argument --scale: at most 30 for the demo, got {scale}")
    t0 = time.perf_counter()
    A, desc = _demo_matrix(args.kind, scale, args.edge_factor, args.seed)
    t_gen = time.perf_counter() - t0
    As = A.to_scipy()
    x = np.random.default_rng(args.seed).standard_normal(A.shape[1])
    with _threads_context(args.threads):
        threads = sl.get_num_threads()
        print(f"sparsela {_version()} demo: C = A @ A (SpGEMM) and y = A @ x (SpMV) "
              f"against SciPy {_scipy_version()}, {threads} thread(s)")
        print(f"input:   {desc}")
        print(f"         {_fmt_shape(A.shape)}, nnz {A.nnz}, generated in {t_gen:.2f} s")
        # The first call of a Numba kernel compiles it (or loads it from the
        # on-disk cache). Warm up on a small matrix with the same dtypes, so
        # that the timed calls below measure the product only.
        W, _ = _demo_matrix(args.kind, min(scale, _WARMUP_SCALE), args.edge_factor, args.seed)
        if W.dtype != A.dtype or W.indices.dtype != A.indices.dtype:
            W = A
        t0 = time.perf_counter()
        sl.spgemm(W, W)
        W @ np.ones(W.shape[1], dtype=x.dtype)
        t_warm = time.perf_counter() - t0
        print(f"warm-up: {t_warm:.2f} s for the first calls on a {_fmt_shape(W.shape)} matrix "
              "(Numba compilation or cache load), not included in the timings")
        t_sl, n_sl, C = _best_time(lambda: sl.spgemm(A, A), args.repeat)
        t_sl_mv, n_sl_mv, y = _best_time(lambda: A @ x, args.repeat)
    t_sp, n_sp, Cs = _best_time(lambda: As @ As, args.repeat)
    t_sp_mv, n_sp_mv, ys = _best_time(lambda: As @ x, args.repeat)

    nnz_c = C.nnz
    ok_mm, detail_mm = compare_with_scipy(C, Cs, As, As)
    bound = 1e-9 * (abs(As) @ np.abs(x))
    diff_mv = np.abs(y - ys)
    ok_mv = bool(np.all(diff_mv <= bound))
    rows = [
        ("C = A @ A  (SpGEMM)", t_sl, t_sp, f"{n_sl}/{n_sp}", str(nnz_c), ok_mm),
        ("y = A @ x  (SpMV)", t_sl_mv, t_sp_mv, f"{n_sl_mv}/{n_sp_mv}", "-", ok_mv),
    ]
    header = ("operation", "sparsela", "scipy", "runs", "nnz(C)", "scipy/sparsela", "match")
    table = [header] + [
        (op, f"{ts * 1e3:.2f} ms", f"{tp * 1e3:.2f} ms", runs, nnz,
         f"{tp / ts:.2f}x" if ts > 0 else "-", "yes" if ok else "NO")
        for op, ts, tp, runs, nnz, ok in rows
    ]
    widths = [max(len(r[k]) for r in table) for k in range(len(header))]
    print()
    for r in table:
        print("  ".join(
            cell.ljust(w) if k == 0 else cell.rjust(w) for k, (cell, w) in enumerate(zip(r, widths))
        ))
    print()
    print("times: best wall time of the runs (sparsela/scipy); scipy/sparsela > 1 means "
          "sparsela is faster")
    print(f"SpGEMM check: {detail_mm}")
    err = float(np.max(diff_mv, initial=0.0))
    print(f"SpMV check:   {'agrees with' if ok_mv else 'DIFFERS from'} SciPy "
          f"(max abs diff {err:.3g}, allowed 1e-9 * (|A| @ |x|) per entry)")
    return 0 if ok_mm and ok_mv else 1


# ----------------------------------------------------------------------------
# sparsela bench
# ----------------------------------------------------------------------------
def _choice_list(choices):
    """argparse type: one or more comma-separated names out of ``choices``."""

    def parse(text: str) -> list[str]:
        names = [t.strip() for t in text.split(",") if t.strip()]
        if not names:
            raise argparse.ArgumentTypeError(f"expected one of {', '.join(choices)}, got {text!r}")
        for name in names:
            if name not in choices:
                raise argparse.ArgumentTypeError(
                    f"invalid choice {name!r} (choose from {', '.join(choices)})")
        return names

    return parse


def _cmd_bench(args) -> int:
    from . import bench

    if args.ops:
        args.ops = [name for group in args.ops for name in group]
    if args.libraries:
        args.libraries = [name for group in args.libraries for name in group]
        allowed = bench.libraries_for(args.device)
        wrong = [name for name in args.libraries if name not in allowed]
        if wrong:
            other = "gpu" if args.device == "cpu" else "cpu"
            raise CLIError(f"--libraries: {wrong[0]!r} runs only with --device {other} "
                           f"(with --device {args.device}: {', '.join(allowed)})")
    if args.matrices:
        args.matrices = [name for group in args.matrices for name in group]
    if args.real_dir is not None and not os.path.isdir(args.real_dir):
        raise CLIError(f"--real-dir: not a folder: {args.real_dir}")
    if args.device == "gpu":
        # before any worker starts: one line naming what is missing, exit status 2
        reason = bench.gpu_unavailable_reason()
        if reason is not None:
            raise CLIError(f"--device gpu: {reason}")
    return bench.cli(args)


# ----------------------------------------------------------------------------
# parser and entry point
# ----------------------------------------------------------------------------
def _build_parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        description="Sparse linear algebra with Numba kernels: inspect Matrix Market files, "
        "multiply sparse matrices, run the SpGEMM demo against SciPy.",
        epilog="Exit status: 0 success, 1 result differs from SciPy, 2 error.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    dup_help = ("what to do with a position listed twice in a coordinate file: "
                "'error' (default) rejects the file, 'sum' adds the values as scipy.io.mmread does")

    p = sub.add_parser("info", help="describe a Matrix Market file",
                       description="Print shape, nnz, dtype, symmetry and row-length "
                       "statistics of a Matrix Market file.")
    p.add_argument("file", help="Matrix Market file (.mtx, .mtx.gz, .mtx.bz2)")
    p.add_argument("--duplicates", choices=("error", "sum"), default="error", help=dup_help)
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("multiply", help="C = A @ B with sparsela's SpGEMM",
                       description="Compute C = A @ B (B defaults to A) with sparsela.spgemm "
                       "and write it as Matrix Market.")
    p.add_argument("A", help="left factor (.mtx or .npz)")
    p.add_argument("B", nargs="?", help="right factor (.mtx or .npz; default: A)")
    p.add_argument("-o", "--output", metavar="C.mtx",
                   help="write C here (Matrix Market; .gz/.bz2 compressed)")
    p.add_argument("--threads", type=_positive_int, metavar="N",
                   help="number of threads (default: all of Numba's)")
    p.add_argument("--sorted", action=argparse.BooleanOptionalAction, default=True,
                   help="sort the column indices of each row of C (default: sorted)")
    p.add_argument("--check", action="store_true",
                   help="also compute C with SciPy and verify that they agree (exit 1 if not)")
    p.add_argument("--duplicates", choices=("error", "sum"), default="error", help=dup_help)
    p.set_defaults(func=_cmd_multiply)

    p = sub.add_parser("demo", help="time A @ A and A @ x against SciPy on a generated matrix",
                       description="Generate the demo matrix (default: Graph500 R-MAT, scale 14, "
                       "edge factor 16), compute A @ A and A @ x with sparsela and with SciPy, "
                       "verify that they agree and print the timings.")
    p.add_argument("--kind", choices=("rmat", "poisson2d", "poisson3d"), default="rmat",
                   help="matrix generator (default: rmat)")
    p.add_argument("--scale", type=_nonneg_int, metavar="S",
                   help="about 2**S rows (default: 14 for rmat, 18 for poisson2d/3d)")
    p.add_argument("--edge-factor", type=_nonneg_int, default=16, metavar="E",
                   help="R-MAT edges per vertex (default: 16)")
    p.add_argument("--seed", type=_nonneg_int, default=0, help="random seed (default: 0)")
    p.add_argument("--threads", type=_positive_int, metavar="N",
                   help="number of threads (default: all of Numba's)")
    p.add_argument("--repeat", type=_positive_int, metavar="R",
                   help="timed runs per operation, the best is shown (default: up to 3, "
                   "fewer when the runs already took 1 s)")
    p.set_defaults(func=_cmd_demo)

    from . import bench as _bench  # standard library imports only

    p = sub.add_parser(
        "bench", help="time sparsela against SciPy, GraphBLAS and MKL, or cupyx on the GPU "
        "(one process each)",
        description="Time SpGEMM (A @ A, A @ A.T), SpMM (k = 16, 64, 256) and SpMV with "
        "sparsela and every installed peer (scipy, python-graphblas, MKL via sparse_dot_mkl), "
        "each library in its own worker process, on 2-D Poisson (1000 x 1000 grid), "
        "Erdos-Renyi (2^16 rows, 16 per row), R-MAT (scale 16) and the real matrices in "
        "../shared/data/real. Prints medians, sparsela/peer ratios, peak extra memory and "
        "a cross-library nnz check. With --device gpu: sparsela's own CUDA kernels, sparsela "
        "with backend='cusparse' and cupyx.scipy.sparse (cuSPARSE) on one GPU, on the same "
        "matrices plus R-MAT scale 18 and 20, every call synchronised, device memory from "
        "CuPy's pool. See docs/benchmarks.md.",
        epilog="Exit status: 0 success, 1 the libraries disagree or a cell failed, 2 error "
        "(also: --device gpu without CuPy or a CUDA device).")
    p.add_argument("--device", choices=_bench.DEVICES, default="cpu",
                   help="cpu (default): sparsela's Numba kernels against SciPy, GraphBLAS and "
                   "MKL; gpu: sparsela on the GPU against cupyx (needs CuPy and a CUDA device)")
    p.add_argument("--quick", action="store_true",
                   help="small sizes (Poisson 200, ER 2^13, R-MAT 12) and 3 runs, for a quick look")
    p.add_argument("--threads", type=_positive_int, metavar="N",
                   help="threads for sparsela, GraphBLAS and MKL (default: all CPUs; "
                   "SciPy is single threaded and always runs on 1)")
    p.add_argument("--runs", type=_positive_int, metavar="R",
                   help=f"timed runs per cell, the median is shown (default: "
                   f"{_bench.DEFAULT_RUNS}, {_bench.QUICK_RUNS} with --quick)")
    p.add_argument("--ops", type=_choice_list(_bench.OPS), action="extend", nargs="+",
                   metavar="OP", help="operations to run, space or comma separated: "
                   + ", ".join(_bench.OPS) + " (spgemm_at: A @ A.T; default: all)")
    p.add_argument("--libraries", type=_choice_list(_bench.ALL_LIBRARIES), action="extend",
                   nargs="+", metavar="LIB", help="libraries to run: "
                   + ", ".join(_bench.LIBRARIES) + "; with --device gpu: "
                   + ", ".join(_bench.GPU_LIBRARIES) + " (default: all; missing ones are noted)")

    def _names(text: str) -> list[str]:
        # checked against the table's matrices once they are known (bench.select_matrices)
        names = [t.strip() for t in text.split(",") if t.strip()]
        if not names:
            raise argparse.ArgumentTypeError(f"expected matrix names, got {text!r}")
        return names

    p.add_argument("--matrices", type=_names, action="extend", nargs="+",
                   metavar="NAME", help="only these matrices, by the names the table shows "
                   "(e.g. rmat18 er16 bcsstk13; default: all)")
    p.add_argument("--real-dir", metavar="DIR",
                   help="folder of real Matrix Market matrices (default: $SPARSELA_BENCH_DATA "
                   "or ../shared/data/real beside the source tree)")
    p.add_argument("--json", action="store_true",
                   help="print the results as JSON (schema sparsela-bench/1) instead of tables")
    p.add_argument("--no-progress", action="store_true", help="no progress output on stderr")
    p.add_argument("--sizes", help=argparse.SUPPRESS)  # e.g. poisson=8,er=6,rmat=6 (tests)
    p.set_defaults(func=_cmd_bench)
    return parser


def _error(message: str) -> int:
    text = " ".join(str(message).split())  # one line
    print(f"{PROG}: error: {text}", file=sys.stderr)
    return 2


def _describe_os_error(exc: OSError) -> str:
    name = exc.filename if exc.filename is not None else ""
    if isinstance(exc, FileNotFoundError):
        return f"{exc.strerror or 'file not found'}: {name}" if name else str(exc)
    reason = exc.strerror or str(exc)
    return f"{reason}: {name}" if name else reason


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``sparsela`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 success, 1 mismatch with SciPy, 2 error.
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except CLIError as exc:
        return _error(exc)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    debug = os.environ.get("SPARSELA_DEBUG", "") not in ("", "0")
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `sparsela info A.mtx | head -1`
        with contextlib.suppress(Exception):
            sys.stdout = open(os.devnull, "w")
        return 0
    except Exception as exc:
        if debug:
            raise
        if isinstance(exc, CLIError):
            return _error(str(exc))
        if isinstance(exc, OSError):
            return _error(_describe_os_error(exc))
        if isinstance(exc, (ValueError, TypeError)):
            return _error(str(exc))
        if isinstance(exc, MemoryError):
            return _error(f"out of memory ({exc})" if str(exc) else "out of memory")
        return _error(
            f"internal error: {type(exc).__name__}: {exc} "
            "(set SPARSELA_DEBUG=1 for the traceback and please report it)"
        )


if __name__ == "__main__":
    sys.exit(main())
