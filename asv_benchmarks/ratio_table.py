"""Print sparsela's time ratios against the other libraries from an asv result file.

Not a benchmark (asv imports it during discovery and finds nothing to run).
Usage, from the repository root, after ``asv run``::

    python -m asv_benchmarks.ratio_table                  # newest result file
    python -m asv_benchmarks.ratio_table .asv/results/MACHINE/FILE.json [MORE.json ...]
    python -m asv_benchmarks.ratio_table --threads 1 FILE.json   # 1-thread columns only

With several files, later files override earlier ones value by value (e.g. a
first full run, then a longer re-run of some parameter combinations).

Each cell is ``sparsela time / other library time`` at the same thread count
(``< 1``: sparsela is faster), from asv's recorded value (the median of the
samples). ``-`` where either side was skipped or failed.
"""
from __future__ import annotations

import argparse
import glob
import itertools
import json
import math
import os

COLUMNS = [
    # (label, sparsela threads, other library, other threads)
    ("vs SciPy (1 thr)", 1, "scipy", 1),
    ("vs GraphBLAS (1 thr)", 1, "graphblas", 1),
    ("vs MKL (1 thr)", 1, "mkl", 1),
    ("vs SciPy (sparsela 2 thr)", 2, "scipy", 1),
    ("vs GraphBLAS (2 thr)", 2, "graphblas", 2),
    ("vs MKL (2 thr)", 2, "mkl", 2),
    ("sparsela 2 thr / 1 thr", 2, "sparsela", 1),
]


def newest_result(root: str = ".asv/results") -> str:
    files = [
        f for f in glob.glob(os.path.join(root, "*", "*.json"))
        if os.path.basename(f) != "machine.json"
    ]
    if not files:
        raise SystemExit(f"no asv result files under {root}; run asv first")
    return max(files, key=os.path.getmtime)


def load(path: str) -> dict:
    """{benchmark name: ({(library, threads, case): seconds}, [case, ...])} for time_
    benchmarks; ``case`` is the matrix, followed by any further parameter
    (e.g. ``"poisson 64"`` for SpMM with k = 64)."""
    with open(path) as f:
        data = json.load(f)
    cols = data["result_columns"]
    out = {}
    for name, row in data["results"].items():
        rec = dict(zip(cols, row))
        if ".time_" not in name or not rec.get("params"):
            continue
        params = rec["params"]
        if len(params) < 3:
            continue
        libs, threads, rest = params[0], params[1], params[2:]
        values = rec["result"] or []
        cases = [" ".join(p.strip("'") for p in combo) for combo in itertools.product(*rest)]
        table = {}
        for i, (lib, thr, case) in enumerate(itertools.product(libs, threads, cases)):
            v = values[i] if i < len(values) else None
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            table[(lib.strip("'"), int(thr), case)] = float(v)
        out[name] = (table, cases)
    return out


def markdown(results: dict, columns=COLUMNS) -> str:
    lines = ["| benchmark | matrix | " + " | ".join(c[0] for c in columns) + " |",
             "|---|---|" + "---|" * len(columns)]
    for name in sorted(results):
        table, mats = results[name]
        short = name.split(".", 1)[1] if "." in name else name
        for mat in mats:
            cells = []
            for _, st, lib, ot in columns:
                a = table.get(("sparsela", st, mat))
                b = table.get((lib, ot, mat))
                cells.append(f"{a / b:.2f}" if a and b else "-")
            if all(c == "-" for c in cells):
                continue
            lines.append(f"| {short} | {mat} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def merge(paths) -> dict:
    merged: dict = {}
    for path in paths:
        for name, (table, mats) in load(path).items():
            old, _ = merged.get(name, ({}, mats))
            merged[name] = ({**old, **table}, mats)
    return merged


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="asv result files (default: the newest)")
    parser.add_argument("--threads", choices=["1", "2", "all"], default="all",
                        help="columns with sparsela on 1 thread, on 2 threads, or all")
    args = parser.parse_args(argv)
    paths = args.paths or [newest_result()]
    columns = [c for c in COLUMNS if args.threads == "all" or c[1] == int(args.threads)]
    print(f"<!-- from {', '.join(paths)} -->")
    print(markdown(merge(paths), columns))


if __name__ == "__main__":
    main()
