"""Tests of ``sparsela bench`` (sparsela/bench.py) and ``generators.erdos_renyi``.

Nothing here asserts on a timing: the benchmark runs on tiny inputs (hidden
``--sizes`` override, sparsela and SciPy only, one run) to check the worker
protocol, the JSON document, the tables and the command-line errors.
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

import sparsela as sl
from sparsela import bench
from sparsela.__main__ import main
from sparsela.generators import erdos_renyi

ROOT = Path(__file__).resolve().parents[1]
TINY = {"poisson": 5, "er": 5, "rmat": 5}
TINY_ARG = "poisson=5,er=5,rmat=5"


def _one_error_line(capsys, rc: int, *needles: str) -> str:
    out, err = capsys.readouterr()
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("sparsela: error: ")
    assert "Traceback" not in err and "Traceback" not in out
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# ----------------------------------------------------------------------------
# generators.erdos_renyi
# ----------------------------------------------------------------------------
def _assert_canonical(A):
    S = A.to_scipy()
    assert S.has_canonical_format
    rows = np.diff(S.indptr)
    for i in range(S.shape[0]):
        row = S.indices[S.indptr[i]:S.indptr[i + 1]]
        assert np.all(np.diff(row) > 0)
    return rows


def test_er_shape_nnz_and_canonical():
    n, k = 2000, 16
    A = erdos_renyi(n, k, rng=0)
    assert isinstance(A, sl.csr_array)
    assert A.shape == (n, n)
    assert A.dtype == np.float64
    assert A.indices.dtype == np.int32 and A.indptr.dtype == np.int32
    rows = _assert_canonical(A)
    assert rows.max() <= k
    # duplicates removed: about k^2 / (2 n) collisions per row
    expected = n * (1 - (1 - 1 / n) ** k)
    assert abs(rows.mean() - expected) < 0.05
    assert rows.min() >= k - 3
    np.testing.assert_array_equal(A.data, 1.0)
    assert A.indices.min() >= 0 and A.indices.max() < n


def test_er_columns_uniform():
    n, k = 500, 40
    A = erdos_renyi(n, k, rng=1)
    counts = np.bincount(A.indices, minlength=n)
    mean = A.nnz / n
    # Poisson-like counts per column: no column far from the mean
    assert counts.max() < mean + 8 * np.sqrt(mean)
    assert counts.min() > mean - 8 * np.sqrt(mean)
    # rows are independent of each other: no two rows equal
    S = A.to_scipy()
    first = set(S.indices[S.indptr[0]:S.indptr[1]])
    second = set(S.indices[S.indptr[1]:S.indptr[2]])
    assert first != second


def test_er_duplicates_removed_with_few_columns():
    A = erdos_renyi(300, 16, m=4, rng=2)
    assert A.shape == (300, 4)
    rows = _assert_canonical(A)
    assert rows.max() <= 4
    assert rows.mean() > 3.9  # 16 draws out of 4 columns: nearly always all four
    np.testing.assert_array_equal(A.data, 1.0)


def test_er_seeds():
    A = erdos_renyi(300, 8, rng=42)
    B = erdos_renyi(300, 8, rng=np.random.default_rng(42))
    np.testing.assert_array_equal(A.indptr, B.indptr)
    np.testing.assert_array_equal(A.indices, B.indices)
    C = erdos_renyi(300, 8, rng=43)
    assert not (A.nnz == C.nnz and np.array_equal(A.indices, C.indices))
    D = erdos_renyi(300, 8)  # rng=None: fresh entropy, still valid
    assert D.shape == (300, 300) and np.diff(D.indptr).max() <= 8


def test_er_rectangular_and_empty():
    A = erdos_renyi(50, 5, m=1000, rng=0)
    assert A.shape == (50, 1000)
    assert A.indices.max() < 1000
    _assert_canonical(A)
    for n, k, m in ((0, 5, None), (10, 0, None), (10, 5, 0), (0, 0, 0)):
        E = erdos_renyi(n, k, m=m, rng=0)
        assert E.shape == (n, n if m is None else m)
        assert E.nnz == 0
        assert E.indptr.shape == (n + 1,)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8, np.int64, np.complex128, bool])
@pytest.mark.parametrize("format", ["csr", "csc", "coo"])
def test_er_dtypes_and_formats(dtype, format):
    A = erdos_renyi(64, 6, rng=3, dtype=dtype, format=format)
    assert A.dtype == np.dtype(dtype)
    assert A.format == format
    ref = erdos_renyi(64, 6, rng=3).toarray()
    np.testing.assert_array_equal(A.toarray(), ref.astype(dtype))


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        ((-1, 3), {}, ValueError, "n must be >= 0"),
        ((2.0, 3), {}, TypeError, "n must be an integer"),
        ((True, 3), {}, TypeError, "n must be an integer"),
        ((10, -2), {}, ValueError, "nnz_per_row must be >= 0"),
        ((10, 1.5), {}, TypeError, "nnz_per_row must be an integer"),
        ((10, 3), dict(m=-1), ValueError, "m must be >= 0"),
        ((10, 3), dict(m=4.0), TypeError, "m must be an integer"),
        ((10, 3), dict(format="dense"), ValueError, "format"),
        ((10, 3), dict(dtype="U2"), TypeError, "dtype"),
        ((10, 3), dict(rng="seed"), TypeError, "rng"),
    ],
)
def test_er_bad_arguments(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        erdos_renyi(*args, **kwargs)


def test_er_keyword_only_and_public():
    with pytest.raises(TypeError):
        erdos_renyi(10, 3, 5)  # m is keyword-only
    assert sl.generators.erdos_renyi is erdos_renyi
    assert "erdos_renyi" in sl.generators.__all__


# ----------------------------------------------------------------------------
# cells, sizes and real-matrix selection (no processes)
# ----------------------------------------------------------------------------
def _real_dir(tmp_path: Path) -> Path:
    """A folder of tiny Matrix Market files: usable, non-square, complex, one row, dense."""
    d = tmp_path / "real"
    d.mkdir()
    scipy.io.mmwrite(d / "sq.mtx", sp.random_array((30, 30), density=0.2, rng=0))
    scipy.io.mmwrite(d / "rect.mtx", sp.random_array((20, 12), density=0.3, rng=1))
    scipy.io.mmwrite(d / "cplx.mtx", sp.coo_array(np.array([[1 + 2j, 0], [0, 1j]])))
    scipy.io.mmwrite(d / "onerow.mtx", sp.coo_array(np.ones((1, 5))))
    scipy.io.mmwrite(d / "dense.mtx", np.ones((3, 3)))
    return d


def test_real_matrix_selection(tmp_path):
    specs, notes = bench.real_matrices(_real_dir(tmp_path))
    assert [s["name"] for s in specs] == ["rect", "sq"]
    assert {s["name"]: s["square"] for s in specs} == {"rect": False, "sq": True}
    text = " ".join(notes)
    assert "cplx.mtx" in text and "complex" in text
    assert "onerow.mtx" in text and "1 row" in text
    assert "dense.mtx" in text and "array" in text
    specs, notes = bench.real_matrices(tmp_path / "absent")
    assert specs == [] and "not found" in notes[0]


def test_make_cells():
    mats = bench.synthetic_matrices(TINY) + [
        {"name": "r", "kind": "real", "square": False, "path": "x"}]
    cells = bench.make_cells(mats, bench.OPS)
    syn = [c for c in cells if c["matrix"] == "poisson5"]
    assert [(c["op"], c["k"], c["variant"]) for c in syn] == [
        ("spgemm", None, "unsorted"), ("spgemm", None, "sorted"),
        ("spmm", 16, None), ("spmm", 64, None), ("spmm", 256, None), ("spmv", None, None)]
    # non-square real matrix: A @ A.T only
    assert {(c["op"], c["variant"]) for c in cells if c["matrix"] == "r"} == {
        ("spgemm_at", "unsorted"), ("spgemm_at", "sorted")}
    assert all(c["variant"] != "sorted" for c in bench.cells_for("scipy", cells))
    assert bench.cells_for("sparsela", cells) == cells
    only_mv = bench.make_cells(mats, ["spmv"])
    assert {c["op"] for c in only_mv} == {"spmv"}
    assert [m["name"] for m in bench.synthetic_matrices(bench.QUICK_SIZES)] == [
        "poisson200", "er13", "rmat12"]
    assert [m["name"] for m in bench.synthetic_matrices(bench.FULL_SIZES)] == [
        "poisson1000", "er16", "rmat16"]


def test_parse_sizes():
    assert bench.parse_sizes("poisson=8, er=6,rmat=7") == {"poisson": 8, "er": 6, "rmat": 7}
    for bad in ("poisson", "foo=3", "er=x", "rmat=0", "er=40"):
        with pytest.raises(ValueError, match="--sizes"):
            bench.parse_sizes(bad)


def test_build_matrix_is_canonical_and_identical():
    for spec in bench.synthetic_matrices(TINY):
        S = bench.build_matrix(spec)
        T = bench.build_matrix(spec)
        assert S.dtype == np.float64 and S.has_canonical_format
        assert S.indices.dtype == np.int32
        assert (S != T).nnz == 0  # fixed seeds: every worker sees the same input


# ----------------------------------------------------------------------------
# check column and summary (synthetic records)
# ----------------------------------------------------------------------------
def _rec(lib, nnz, nonzero, checksum, op="spgemm", median=1e-3, variant="unsorted"):
    return {"library": lib, "matrix": "m", "op": op, "k": None, "variant": variant,
            "nnz": nnz, "nnz_nonzero": nonzero, "checksum": checksum,
            "abs_checksum": abs(checksum) + 1.0, "times_s": [median], "median_s": median,
            "input_bytes": 100, "output_bytes": 100, "peak_extra_bytes": 150,
            "mem_method": "rss"}


@pytest.mark.parametrize(
    "recs, op, status",
    [
        ([("sparsela", 10, 10, 5.0), ("scipy", 10, 10, 5.0)], "spgemm", "ok"),
        ([("sparsela", 10, 8, 5.0), ("scipy", 8, 8, 5.0)], "spgemm", "ok*"),
        ([("sparsela", 10, 10, 5.0), ("scipy", 9, 9, 5.0)], "spgemm", "DIFF"),
        ([("sparsela", 10, 10, 5.0), ("scipy", 10, 10, 5.5)], "spgemm", "DIFF"),
        ([("sparsela", 12, 9, 5.0), ("graphblas", 9, 9, 5.0)], "spmm", "ok"),
        ([("sparsela", 10, 10, 5.0)], "spgemm", "-"),
    ],
)
def test_check_column(recs, op, status):
    doc = {"cells": [_rec(lib, n, z, c, op=op) for lib, n, z, c in recs]}
    (row,) = bench.summarize(doc)
    assert row["check"] == status, row["check_detail"]


def test_summary_ratios_and_fastest_peer():
    cells = [_rec("sparsela", 5, 5, 1.0, median=2e-3),
             _rec("sparsela", 5, 5, 1.0, median=3e-3, variant="sorted"),
             _rec("scipy", 5, 5, 1.0, median=4e-3),
             _rec("mkl", 5, 5, 1.0, median=1e-3),
             {"library": "graphblas", "matrix": "m", "op": "spgemm", "k": None,
              "variant": "unsorted", "error": "MemoryError: boom"}]
    (row,) = bench.summarize({"cells": cells})
    assert row["median_s"] == {"sparsela": 2e-3, "sparsela_sorted": 3e-3, "scipy": 4e-3,
                               "mkl": 1e-3}
    assert row["ratio"]["scipy"] == pytest.approx(0.5)
    assert row["ratio"]["mkl"] == pytest.approx(2.0)
    assert row["ratio"]["graphblas"] is None
    assert row["fastest_peer"] == "mkl"
    assert row["ratio_fastest_peer"] == pytest.approx(2.0)
    assert row["mem_ratio"]["sparsela"] == pytest.approx(0.75)
    assert row["errors"] == {"graphblas": "MemoryError: boom"}


# ----------------------------------------------------------------------------
# worker protocol
# ----------------------------------------------------------------------------
def _spec(library, ops=("spgemm", "spmv"), runs=1):
    mats = bench.synthetic_matrices(TINY)[:1]
    cells = bench.cells_for(library, bench.make_cells(mats, ops))
    for i, c in enumerate(cells):
        c["index"] = i
    return {"library": library, "threads": 1, "runs": runs, "matrices": mats, "cells": cells}


def test_worker_protocol_subprocess():
    spec = _spec("scipy", runs=2)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "sparsela.bench", "--worker"],
                          input=json.dumps(spec), capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]  # every line is JSON
    assert events[0]["type"] == "hello" and events[0]["available"] is True
    assert events[0]["library"] == "scipy" and events[0]["threads"] == 1
    assert events[-1] == {"type": "done"}
    cells = events[1:-1]
    assert [e["index"] for e in cells] == [c["index"] for c in spec["cells"]]
    for e in cells:
        assert e["type"] == "cell" and "error" not in e
        assert len(e["times_s"]) == 2 and e["median_s"] >= 0
        assert 1 <= e["calls_per_run"] <= bench.MAX_CALLS_PER_RUN
        assert e["shape"] == [25, 25] and e["nnz_A"] == 105
        assert e["input_bytes"] > 0 and e["output_bytes"] > 0 and e["peak_extra_bytes"] >= 0
        assert e["mem_method"] in ("rss", "tracemalloc")
    spgemm, spmv = cells
    P = sl.generators.poisson2d(5).to_scipy()
    assert spgemm["nnz"] == (P @ P).nnz
    assert spmv["nnz"] == 25


def test_worker_unavailable_library(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphblas", None)  # import fails
    events = []
    assert bench.worker(_spec("graphblas"), events.append) == 0
    assert events[0]["available"] is False and "python-graphblas" in events[0]["reason"]
    assert events[-1] == {"type": "done"} and len(events) == 2


def test_worker_cell_error_is_reported(monkeypatch):
    spec = _spec("scipy", ops=("spmv",))
    spec["matrices"][0] = {**spec["matrices"][0], "kind": "nonsense"}
    events = []
    bench.worker(spec, events.append)
    (cell,) = [e for e in events if e["type"] == "cell"]
    assert "unknown matrix kind" in cell["error"]


def _fake_python(tmp_path: Path, body: str) -> str:
    """An executable standing in for ``python -m sparsela.bench --worker``."""
    path = tmp_path / "fake_python"
    path.write_text(f"#!{sys.executable}\nimport json, sys\nspec = json.load(sys.stdin)\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_parent_survives_worker_crashes(tmp_path):
    # emits hello and the first pending cell, then dies: the next cell is blamed,
    # a new worker runs the rest
    body = (
        "print(json.dumps({'type': 'hello', 'library': 'scipy', 'available': True, "
        "'version': '0', 'threads': 1}), flush=True)\n"
        "c = spec['cells'][0]\n"
        "print(json.dumps({'type': 'cell', 'index': c['index'], 'median_s': 0.5}), flush=True)\n"
        "print('crash details', file=sys.stderr)\n"
        "sys.exit(3)"
    )
    spec = _spec("scipy", ops=("spmm",))  # 3 cells: k = 16, 64, 256
    progress = bench._Progress(3, enabled=False)
    hello, results = bench.run_library("scipy", spec["cells"], spec["matrices"], threads=1,
                                       runs=1, progress=progress,
                                       python=_fake_python(tmp_path, body))
    assert hello["available"] is True
    assert results[0]["median_s"] == 0.5 and results[2]["median_s"] == 0.5
    assert "worker exited with status 3" in results[1]["error"]
    assert "crash details" in results[1]["error"]
    assert progress.done == 3


def test_parent_reports_worker_that_never_starts(tmp_path):
    spec = _spec("scipy")
    progress = bench._Progress(len(spec["cells"]), enabled=False)
    hello, results = bench.run_library("scipy", spec["cells"], spec["matrices"], threads=1,
                                       runs=1, progress=progress,
                                       python=_fake_python(tmp_path, "raise SystemExit(5)"))
    assert hello["available"] is False and "status 5" in hello["reason"]
    assert results == {} and progress.done == len(spec["cells"])


# ----------------------------------------------------------------------------
# the whole run, tiny (sparsela and SciPy only, one run)
# ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_doc(tmp_path_factory):
    real = _real_dir(tmp_path_factory.mktemp("bench"))
    return bench.run_bench(threads=1, runs=1, libraries=["sparsela", "scipy"], sizes=TINY,
                           real_dir=real, progress=False)


def test_json_document_schema(tiny_doc):
    doc = json.loads(json.dumps(tiny_doc))  # JSON-able, no NaN
    assert doc["schema"] == "sparsela-bench/1"
    assert set(doc) >= {"config", "machine", "libraries", "matrices", "notes", "cells", "rows",
                        "elapsed_s"}
    cfg = doc["config"]
    assert cfg["runs"] == 1 and cfg["threads"] == 1 and cfg["quick"] is False
    assert cfg["libraries"] == ["sparsela", "scipy"] and cfg["ops"] == list(bench.OPS)
    assert cfg["sizes"] == TINY and cfg["spmm_columns"] == [16, 64, 256]
    assert doc["libraries"]["scipy"]["threads"] == 1
    assert doc["libraries"]["sparsela"]["threads"] == 1
    assert doc["libraries"]["sparsela"]["version"] == sl.__version__
    names = [m["name"] for m in doc["matrices"]]
    assert names == ["poisson5", "er5", "rmat5", "rect", "sq"]
    assert all("shape" in m and "nnz" in m for m in doc["matrices"])
    # 3 synthetic x (2 spgemm + 3 spmm + 1 spmv) + rect (2) + sq (4) for sparsela,
    # without the sorted SpGEMMs for scipy
    per_lib = {lib: [c for c in doc["cells"] if c["library"] == lib] for lib in ("sparsela", "scipy")}
    assert len(per_lib["sparsela"]) == 3 * 6 + 2 + 4
    assert len(per_lib["scipy"]) == 3 * 5 + 1 + 2
    for c in doc["cells"]:
        assert "error" not in c, c
        assert len(c["times_s"]) == 1
        for key in ("nnz", "nnz_nonzero", "input_bytes", "output_bytes", "peak_extra_bytes"):
            assert isinstance(c[key], int) and c[key] >= 0
        assert isinstance(c["checksum"], float)
    assert len(doc["rows"]) == 3 * 5 + 1 + 2
    for r in doc["rows"]:
        assert r["check"] in ("ok", "ok*"), r
        assert set(r["median_s"]) >= {"sparsela", "scipy"}
        assert r["fastest_peer"] == "scipy"
        assert r["ratio"]["scipy"] == pytest.approx(r["median_s"]["sparsela"] / r["median_s"]["scipy"])
        assert ("sparsela_sorted" in r["median_s"]) == r["op"].startswith("spgemm")
    assert any("cplx.mtx" in n for n in doc["notes"])
    assert bench.exit_status(doc) == 0


def test_table_formatting(tiny_doc):
    text = bench.format_table(tiny_doc)
    lines = text.splitlines()
    assert lines[0].startswith("sparsela bench (full, custom sizes): median of 1 timed run(s)")
    assert any("scipy" in line and "single-threaded" in line for line in lines)
    head = next(line for line in lines if line.startswith("matrix") and "/scipy" in line)
    for col in ("sparsela", "sl sorted", "scipy", "/fastest", "check"):
        assert col in head
    assert "graphblas" not in head and "mkl" not in head  # not requested
    for name in ("poisson5", "er5", "rmat5", "rect", "sq"):
        assert any(line.startswith(name) for line in lines)
    for label in ("A @ A", "A @ A.T", "A @ X (k=16)", "A @ X (k=256)", "A @ x"):
        assert label in text
    assert "memory: peak extra MiB" in text
    assert any(line.startswith("note:") and "cplx.mtx" in line for line in lines)
    # table rows align: every data row of the time table as wide as its rule
    i = lines.index(head)
    rule = lines[i + 1]
    assert set(rule.replace(" ", "")) == {"-"}


def test_table_marks_missing_library_and_diff(tiny_doc):
    doc = json.loads(json.dumps(tiny_doc))
    doc["config"]["libraries"] = ["sparsela", "scipy", "mkl"]
    doc["libraries"]["mkl"] = {"library": "mkl", "available": False, "reason": "not installed"}
    doc["cells"][0]["checksum"] += 1e6
    doc["rows"] = bench.summarize(doc)
    text = bench.format_table(doc)
    assert "mkl        not run: not installed" in text
    assert "DIFF" in text and bench.exit_status(doc) == 1


# ----------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------
def test_cli_json_and_plain_progress(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # no tqdm: one line per cell
    rc = main(["bench", "--sizes", TINY_ARG, "--runs", "1", "--threads", "1",
               "--libraries", "sparsela,scipy", "--ops", "spgemm", "spmv",
               "--real-dir", str(tmp_path), "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["config"]["ops"] == ["spgemm", "spmv"]
    assert {r["op"] for r in doc["rows"]} == {"spgemm", "spmv"}
    progress = [line for line in err.splitlines() if line.startswith("[")]
    assert len(progress) == 3 * 3 + 3 * 2  # sparsela: A@A, sorted, A@x; scipy: A@A, A@x
    assert progress[0].startswith("[ 1/15] sparsela poisson5 A @ A: ")
    assert progress[-1].startswith("[15/15] scipy rmat5 A @ x: ")


def test_cli_help_lists_bench(capsys):
    assert main(["--help"]) == 0
    assert "bench" in capsys.readouterr().out
    assert main(["bench", "--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--quick", "--threads", "--json", "--runs", "--ops", "--libraries"):
        assert flag in text
    assert "--sizes" not in text  # internal


@pytest.mark.parametrize(
    "argv, needles",
    [
        (["--bogus"], ["unrecognized arguments", "--bogus"]),
        (["--runs", "0"], ["--runs", "positive integer"]),
        (["--threads", "-2"], ["--threads"]),
        (["--threads", "two"], ["--threads", "positive integer"]),
        (["--ops", "spgemm,fft"], ["--ops", "'fft'"]),
        (["--ops"], ["--ops", "expected"]),
        (["--libraries", "numpy"], ["--libraries", "'numpy'"]),
        (["--libraries", ","], ["--libraries"]),
        (["--sizes", "er=x"], ["--sizes", "er"]),
        (["--real-dir", "/nonexistent/folder"], ["--real-dir", "/nonexistent/folder"]),
    ],
)
def test_cli_bad_flags(capsys, argv, needles):
    rc = main(["bench", *argv])
    _one_error_line(capsys, rc, *needles)


def test_python_m_sparsela_bench_bad_flag():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "sparsela.bench", "--runs", "x"],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("sparsela: error: ")
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("call_s,expect", [(0.02, 1), (bench.SAMPLE_S, 1), (0.001, 10),
                                           (0.003, 4), (0.0, bench.MAX_CALLS_PER_RUN)])
def test_calls_per_run_fill_the_sample_time(call_s, expect, monkeypatch):
    # a fake clock that a call advances by call_s: no timing is measured
    clock = [0.0]
    monkeypatch.setattr(bench.time, "perf_counter", lambda: clock[0])

    def fn(A, B):
        clock[0] += call_s
        return A

    assert bench.calls_per_run(fn, 1, 2) == expect
