"""Tests of ``sparsela bench --device gpu`` (sparsela/bench.py) and of
``asv_benchmarks/bench_gpu.py``.

Nothing here times anything or needs a GPU: the command line is parsed, the
one-line error of ``--device gpu`` on a machine without CuPy or a CUDA
device is checked in a subprocess that sees the real absence of a GPU (the
simulator variables removed), the GPU table is formatted from synthetic
records, the GPU adapters run on the simulated device of ``conftest.py``,
and the GPU cell and worker code paths run in-process on a tiny matrix (on
the GPU when there is one, else on the simulated device) once the core's
device model (``A.to_device("gpu")``) is there.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import GPU_MODE

import sparsela as sl
from sparsela import bench
from sparsela.__main__ import _build_parser, main

ROOT = Path(__file__).resolve().parents[1]
TINY_ARG = "poisson=5,er=5,rmat=5"
SIM_VARS = ("SPARSELA_GPU_SIMULATOR", "NUMBA_ENABLE_CUDASIM")

needs_no_gpu = pytest.mark.skipif(GPU_MODE == "real",
                                  reason="a CUDA device is present: the no-GPU paths cannot be seen")


def _no_sim_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SIM_VARS}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    env.pop("SPARSELA_DEBUG", None)
    return env


def _one_error_line(capsys, rc: int, *needles: str) -> str:
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("sparsela: error: ")
    assert "Traceback" not in err and "Traceback" not in out
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# ----------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------
def test_cli_parses_device():
    parser = _build_parser()
    args = parser.parse_args(["bench"])
    assert args.device == "cpu" and args.matrices is None
    args = parser.parse_args(["bench", "--device", "gpu", "--quick", "--runs", "2",
                              "--ops", "spgemm,spmv", "--libraries", "cupyx", "sparsela-cusparse",
                              "--matrices", "rmat18,er16", "--json"])
    assert args.device == "gpu" and args.quick and args.runs == 2 and args.json
    assert args.ops == [["spgemm", "spmv"]]
    assert args.libraries == [["cupyx"], ["sparsela-cusparse"]]
    assert args.matrices == [["rmat18", "er16"]]


@pytest.mark.parametrize(
    "argv, needles",
    [
        (["--device", "tpu"], ["--device", "'tpu'"]),
        (["--device"], ["--device", "expected one argument"]),
        (["--libraries", "cupyx"], ["--libraries", "'cupyx'", "--device gpu"]),
        (["--device", "gpu", "--libraries", "sparsela,scipy"],
         ["--libraries", "'scipy'", "--device cpu"]),
        (["--libraries", "cuda"], ["--libraries", "'cuda'"]),
        (["--matrices", ","], ["--matrices"]),
    ],
)
def test_cli_bad_device_flags(capsys, argv, needles):
    _one_error_line(capsys, main(["bench", *argv]), *needles)


def test_bench_help_mentions_gpu(capsys):
    assert main(["bench", "--help"]) == 0
    text = capsys.readouterr().out
    for needle in ("--device", "cupyx", "sparsela-cusparse", "--matrices"):
        assert needle in text


@needs_no_gpu
def test_device_gpu_without_gpu_is_one_line_exit_2():
    # the real absence of a GPU: no simulator variables in the child
    proc = subprocess.run([sys.executable, "-m", "sparsela", "bench", "--device", "gpu", "--quick"],
                          capture_output=True, text=True, env=_no_sim_env(), timeout=120,
                          check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("sparsela: error: --device gpu: "), line
    assert "Traceback" not in proc.stderr
    assert "CuPy" in line
    assert "not installed" in line or "no CUDA device" in line, line


@pytest.mark.parametrize(
    "exc, needle",
    [
        (ImportError("the GPU backend needs CuPy: install sparsela[cuda12]"), "CuPy is not installed"),
        (RuntimeError("CuPy is installed but no CUDA device is visible"), "no CUDA device"),
    ],
)
def test_device_gpu_missing_piece_is_named(capsys, monkeypatch, exc, needle):
    from sparsela import _device

    def missing():
        raise exc

    monkeypatch.setattr(_device, "cupy", missing)
    line = _one_error_line(capsys, main(["bench", "--device", "gpu", "--quick"]),
                           "--device gpu", needle)
    assert bench.gpu_unavailable_reason() == line.split("--device gpu: ", 1)[1]


def test_cpu_json_has_device_field_and_matrix_filter(tmp_path, capsys):
    rc = main(["bench", "--quick", "--sizes", TINY_ARG, "--runs", "1", "--threads", "1",
               "--libraries", "scipy", "--ops", "spmv", "--matrices", "poisson5",
               "--real-dir", str(tmp_path), "--json", "--no-progress"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["schema"] == "sparsela-bench/1"
    assert doc["device"] == "cpu" and doc["config"]["device"] == "cpu"
    assert "gpu" not in doc["machine"]
    assert doc["config"]["matrices"] == ["poisson5"]
    assert "extra_rmat" not in doc["config"]  # GPU-only keys stay out of the CPU document
    assert [m["name"] for m in doc["matrices"]] == ["poisson5"]
    (row,) = doc["rows"]  # one worker only (keeps the test short): no cross-check
    assert row["op"] == "spmv" and row["median_s"].keys() == {"scipy"}
    assert set(row["ratio"]) == {"scipy"} and "ratio_cupyx" not in row
    for c in doc["cells"]:
        assert len(c["times_s"]) == 1 and c["mem_method"] in ("rss", "tracemalloc")


def test_unknown_matrix_name_is_one_line(tmp_path, capsys):
    rc = main(["bench", "--sizes", TINY_ARG, "--ops", "spmv", "--matrices", "rmat99",
               "--real-dir", str(tmp_path), "--no-progress"])
    _one_error_line(capsys, rc, "--matrices", "'rmat99'", "poisson5, er5, rmat5")


# ----------------------------------------------------------------------------
# matrices, summary and table of the GPU run (no device needed)
# ----------------------------------------------------------------------------
def test_gpu_matrices():
    names = [m["name"] for m in bench.synthetic_matrices(bench.FULL_SIZES, bench.GPU_EXTRA_RMAT)]
    assert names == ["poisson1000", "er16", "rmat16", "rmat18", "rmat20"]
    quick = bench.synthetic_matrices(bench.QUICK_SIZES, bench.GPU_QUICK_EXTRA_RMAT)
    assert [m["name"] for m in quick] == ["poisson200", "er13", "rmat12", "rmat16"]
    assert quick[-1]["scale"] == 16 and quick[-1]["kind"] == "rmat"
    # an extra scale equal to the base one is not listed twice
    same = bench.synthetic_matrices(bench.FULL_SIZES, (16, 18, 18))
    assert [m["name"] for m in same] == ["poisson1000", "er16", "rmat16", "rmat18"]
    assert bench.libraries_for("gpu") == ("sparsela", "sparsela-cusparse", "cupyx")
    assert bench.peers_for("gpu") == ("cupyx",)
    cells = bench.make_cells(quick, ["spgemm"])
    assert bench.cells_for("cupyx", cells) == [c for c in cells if c["variant"] == "unsorted"]
    assert bench.cells_for("sparsela-cusparse", cells) == bench.cells_for("cupyx", cells)
    assert bench.cells_for("sparsela", cells) == cells
    with pytest.raises(ValueError, match="device"):
        bench.run_bench(device="tpu")


def _gpu_rec(lib, median, variant="unsorted", nnz=10, op="spgemm", runs=5):
    return {"library": lib, "matrix": "rmat18", "op": op, "k": None, "variant": variant,
            "nnz": nnz, "nnz_nonzero": nnz, "checksum": 7.0, "abs_checksum": 7.0,
            "times_s": [median] * runs, "median_s": median, "input_bytes": 2**20,
            "output_bytes": 2**20, "peak_extra_bytes": 3 * 2**20, "mem_method": "cupy-pool"}


def _gpu_doc(cells):
    doc = {
        "schema": bench.SCHEMA, "device": "gpu",
        "config": {"quick": False, "runs": 5, "threads": 1, "ops": ["spgemm"],
                   "libraries": list(bench.GPU_LIBRARIES), "sizes": dict(bench.FULL_SIZES),
                   "real_dir": "x", "spmm_columns": [16, 64, 256], "device": "gpu",
                   "extra_rmat": [18, 20], "cell_budget_s": bench.GPU_CELL_BUDGET_S},
        "machine": {"cpus": 16, "processor": "x86_64", "python": "3.12", "platform": "Linux",
                    "gpu": {"name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0",
                            "total_memory_bytes": 80 * 2**30, "cuda_runtime": 12090,
                            "cupy": "14.0.0"}},
        "libraries": {lib: {"library": lib, "available": True, "version": "1", "threads": None,
                            "dense_order": "F" if lib == "cupyx" else "C"}
                      for lib in bench.GPU_LIBRARIES},
        "matrices": [{"name": "rmat18", "shape": [8, 8], "nnz": 20, "description": "R-MAT"}],
        "notes": [], "cells": cells, "elapsed_s": 1.0,
    }
    doc["rows"] = bench.summarize(doc)
    return doc


def test_gpu_summary_and_table():
    doc = _gpu_doc([_gpu_rec("sparsela", 1e-3), _gpu_rec("sparsela", 1.5e-3, variant="sorted"),
                    _gpu_rec("sparsela-cusparse", 4.4e-3, runs=2), _gpu_rec("cupyx", 4e-3)])
    (row,) = doc["rows"]
    assert row["check"] == "ok"
    assert row["ratio"] == {"cupyx": pytest.approx(0.25)}
    assert row["fastest_peer"] == "cupyx"
    assert row["ratio_cupyx"] == {"sparsela": pytest.approx(0.25),
                                  "sparsela_sorted": pytest.approx(0.375),
                                  "sparsela-cusparse": pytest.approx(1.1)}
    text = bench.format_table(doc)
    assert text.startswith("sparsela bench --device gpu (full): median of 5")
    assert "GPU: NVIDIA H100 80GB HBM3 (compute capability 9.0, 80 GiB, CUDA runtime 12.9, " \
           "CuPy 14.0.0)" in text
    assert "cupyx" in text and "(X in F order)" in text
    head = next(line for line in text.splitlines() if line.startswith("matrix") and "check" in line)
    for col in ("sparsela", "sl sorted", "sparsela-cusparse", "cupyx", "sl/cupyx",
                "sorted/cupyx", "cusp/cupyx"):
        assert col in head
    assert "/fastest" not in head and "thread" not in text
    data = next(line for line in text.splitlines() if line.startswith("rmat18 "))
    assert data.split()[-4:] == ["0.25", "0.38", "1.10", "ok"]
    assert "device memory: peak extra MiB in CuPy's memory pool" in text
    assert "3.00 (1.50x)" in text
    assert "fewer timed runs" in text and "sparsela-cusparse rmat18 A @ A (2)" in text
    assert "issue 4 targets" in text
    assert bench.exit_status(doc) == 0


def test_gpu_nnz_disagreement_is_flagged():
    doc = _gpu_doc([_gpu_rec("sparsela", 1e-3), _gpu_rec("cupyx", 2e-3, nnz=9)])
    (row,) = doc["rows"]
    assert row["check"] == "DIFF" and "sparsela 10" in row["check_detail"]
    assert "DIFF rmat18 A @ A" in bench.format_table(doc)
    assert bench.exit_status(doc) == 1


# ----------------------------------------------------------------------------
# the GPU adapters on the simulated device (tests/conftest.py)
# ----------------------------------------------------------------------------
@pytest.fixture
def simulated_device():
    from sparsela import _device

    if not _device.simulated():
        pytest.skip("needs the simulated device (SPARSELA_GPU_SIMULATOR=1, set by conftest "
                    "when no GPU is present)")
    return _device.cupy()


def test_gpu_adapter_plumbing_on_simulated_device(simulated_device):
    xp = simulated_device
    ad = bench.make_adapter("sparsela", 1, device="gpu")
    assert ad.name == "sparsela" and ad.threads is None and ad.alive()
    assert ad.hello()["device"]["simulated"] is True
    for peer in ("cupyx", "sparsela-cusparse"):
        with pytest.raises(bench.Unavailable, match="simulated"):
            bench.make_adapter(peer, 1, device="gpu")
    with pytest.raises(ValueError, match="unknown GPU library"):
        bench.make_adapter("scipy", 1, device="gpu")
    # results are summarised on the device; only scalars come back
    C = xp.asarray(np.array([[1.0, 0.0], [2.0, -3.0]]))
    assert ad.describe(C) == {"nnz": 4, "nnz_nonzero": 3, "checksum": 0.0, "abs_checksum": 6.0,
                              "output_bytes": 32}
    X = np.arange(6.0).reshape(3, 2)
    Xd = ad.dense(X)
    assert Xd.flags.c_contiguous and np.array_equal(Xd.get(), X)
    ad.dense_order = "F"  # cupyx's layout
    assert ad.dense(X).flags.f_contiguous and ad.dense(X[:, 0]).ndim == 1
    # synchronised calls return the result; memory falls back to the host's measure
    f = ad._synced(lambda A, B: A + B)
    out, extra, method = ad.measure_memory(lambda: f(Xd, Xd))
    assert np.array_equal(out.get(), 2 * X) and extra >= 0 and method in ("rss", "tracemalloc")
    assert bench.gpu_info()["simulated"] is True
    assert bench.gpu_unavailable_reason() is None


def test_gpu_adapter_real_device_branches(monkeypatch):
    """The branches only a real device takes (device name, synchronisation, the
    memory pool, a lost context), on a stand-in for the cupy module."""
    from sparsela import _device
    from sparsela.backends.gpu._simulator import xp

    calls = []

    class Pool:
        total = 1000

        def free_all_blocks(self):
            calls.append("free")

        def total_bytes(self):
            return Pool.total

    class Device:
        id = 0

        def synchronize(self):
            calls.append("sync")

    class Runtime:
        fail = False

        @staticmethod
        def getDeviceProperties(i):
            assert i == 0
            return {"name": b"Fake H100", "major": 9, "minor": 0, "totalGlobalMem": 80 * 2**30}

        @staticmethod
        def runtimeGetVersion():
            return 12090

        @staticmethod
        def driverGetVersion():
            return 12080

        @staticmethod
        def deviceSynchronize():
            if Runtime.fail:
                raise RuntimeError("cudaErrorIllegalAddress: an illegal memory access")

    class Cuda:
        pass

    Cuda.Device, Cuda.runtime = Device, Runtime
    pool = Pool()

    class FakeCupy:
        __version__ = "14.0.0"
        cuda = Cuda

        def get_default_memory_pool(self):
            return pool

        def __getattr__(self, name):
            return getattr(xp, name)

    monkeypatch.setattr(_device, "cupy", FakeCupy)
    monkeypatch.setattr(_device, "simulated", lambda: False)
    info = bench.gpu_info()
    assert info == {"name": "Fake H100", "device_id": 0, "compute_capability": "9.0",
                    "total_memory_bytes": 80 * 2**30, "cupy": "14.0.0", "simulated": False,
                    "cuda_runtime": 12090, "cuda_driver": 12080}
    ad = bench._GPUAdapter(1)
    assert ad.hello()["device"] == info
    f = ad._synced(lambda A, B: A + B)

    def call():
        Pool.total += 4096  # the call's allocations
        return f(1, 2)

    assert ad.measure_memory(call) == (3, 4096, "cupy-pool")
    assert calls == ["sync", "free", "sync"]  # settle, empty the cache, the call's own sync
    assert ad.alive()
    Runtime.fail = True
    assert not ad.alive()
    ad.recover()
    assert calls[-1] == "free"
    try:
        import cupyx.scipy.sparse  # noqa: F401
    except ImportError:
        with pytest.raises(bench.Unavailable, match="cupyx"):
            bench.make_adapter("cupyx", 1, device="gpu")


_LOST_CONTEXT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from sparsela import bench

    class Lost:
        threads = None
        def version(self):
            return "0"
        def op(self, name, variant):
            raise RuntimeError("cudaErrorIllegalAddress")
        def alive(self):
            return False

    bench.make_adapter = lambda library, threads, device="cpu": Lost()
    spec = {{"library": "sparsela", "threads": 1, "runs": 1, "device": "gpu",
             "matrices": bench.synthetic_matrices({{"poisson": 3, "er": 3, "rmat": 3}})[:1],
             "cells": [{{"index": 0, "matrix": "poisson3", "op": "spmv", "k": None,
                        "variant": None}},
                       {{"index": 1, "matrix": "poisson3", "op": "spmv", "k": None,
                        "variant": None}}]}}
    bench.worker(spec, lambda e: print(e["type"], flush=True))
""")


def test_worker_exits_when_the_cuda_context_is_lost():
    # the parent then blames the first cell without a result and starts a fresh
    # worker for the others (tests/test_bench.py::test_parent_survives_worker_crashes)
    proc = subprocess.run([sys.executable, "-c", _LOST_CONTEXT.format(root=str(ROOT))],
                          capture_output=True, text=True, env=_no_sim_env(), timeout=120,
                          check=False)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.split() == ["hello"]  # no record for the cell, no "done"
    assert "CUDA context lost after RuntimeError: cudaErrorIllegalAddress" in proc.stderr


@pytest.fixture
def device_module():
    """The device array module: CuPy on a GPU, else the simulated device's."""
    from sparsela import _device

    try:
        return _device.cupy()
    except (ImportError, RuntimeError) as exc:
        pytest.skip(f"no device, real or simulated: {exc}")


def _tiny_positive() -> sp.csr_array:
    """12 x 12, ~40 entries, positive values (no cancellation): simulator-sized."""
    S = sp.random_array((12, 12), density=0.3, format="csr", dtype=np.float64, rng=3)
    S.data[:] = np.arange(1, S.nnz + 1, dtype=np.float64) / 8
    S.indices = S.indices.astype(np.int32)
    S.indptr = S.indptr.astype(np.int32)
    return S


def _device_api_or_skip(S):
    """Skip (with the reason) while the core has no device model yet."""
    try:
        A = sl.csr_array(S).to_device("gpu")
    except (ValueError, NotImplementedError, AttributeError, TypeError) as exc:
        pytest.skip(f"the core's device model is not there yet: A.to_device('gpu') raised "
                    f"{type(exc).__name__}: {exc}")
    if getattr(A, "device", None) != "gpu":
        pytest.skip(f"A.to_device('gpu').device is {getattr(A, 'device', None)!r}, not 'gpu': "
                    "the core's device model is not there yet")


def test_gpu_cells_in_process(device_module):
    S = _tiny_positive()
    _device_api_or_skip(S)
    ad = bench.make_adapter("sparsela", 1, device="gpu")
    operands = bench._Operands(ad, S)
    cells = [{"matrix": "t", "op": "spgemm", "k": None, "variant": "unsorted"},
             {"matrix": "t", "op": "spgemm", "k": None, "variant": "sorted"},
             {"matrix": "t", "op": "spmm", "k": 3, "variant": None},
             {"matrix": "t", "op": "spmv", "k": None, "variant": None}]
    # no separate warm-up: the untimed call compiles (and the simulator compiles nothing)
    warmed = {(c["op"], c["variant"]) for c in cells}
    P = S @ S
    for cell in cells:
        try:
            rec = bench.run_cell(ad, cell, operands, 1, warmed)
        except NotImplementedError as exc:
            pytest.skip(f"{cell['op']} on the GPU is not wired into the core yet: {exc}")
        assert len(rec["times_s"]) == 1 and rec["median_s"] >= 0
        if cell["op"] == "spgemm":
            assert rec["nnz"] == rec["nnz_nonzero"] == P.nnz
            assert rec["checksum"] == pytest.approx(P.sum(), rel=1e-12)
        else:
            X = bench._dense_operand(12, cell["k"])
            Y = S @ X
            assert rec["nnz"] == Y.size
            assert rec["checksum"] == pytest.approx(Y.sum(), rel=1e-12, abs=1e-12)
            assert rec["abs_checksum"] == pytest.approx(np.abs(Y).sum(), rel=1e-12)
        assert rec["input_bytes"] > 0 and rec["output_bytes"] > 0


def test_gpu_worker_in_process(device_module, monkeypatch):
    S = _tiny_positive()
    _device_api_or_skip(S)
    monkeypatch.setattr(bench, "_tiny_matrix", lambda: S)  # simulator-sized warm-up
    mats = bench.synthetic_matrices({"poisson": 3, "er": 3, "rmat": 3})[:1]
    cells = bench.make_cells(mats, ["spgemm", "spmv"])
    for i, c in enumerate(cells):
        c["index"] = i
    events = []
    spec = {"library": "sparsela", "threads": 1, "runs": 1, "matrices": mats, "cells": cells,
            "device": "gpu"}
    assert bench.worker(spec, events.append) == 0
    hello, *recs, done = events
    assert hello["available"] is True and hello["threads"] is None
    assert hello["device"]["simulated"] is (GPU_MODE != "real") and hello["dense_order"] == "C"
    assert done == {"type": "done"}
    P = sl.generators.poisson2d(3).to_scipy()
    assert [r["index"] for r in recs] == [0, 1, 2]
    for r, c in zip(recs, cells):
        assert "error" not in r, r
        assert r["shape"] == [9, 9] and r["nnz_A"] == P.nnz
        if c["op"] == "spgemm":
            assert r["nnz"] == (P @ P).nnz and r["flops"] == bench.spgemm_flops(P)
        else:
            assert r["nnz"] == 9 and "flops" not in r


def test_spgemm_flops():
    S = sp.csr_array(np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 3.0], [4.0, 0.0, 0.0]]))
    dense = (S.toarray() != 0).astype(np.int64)
    # multiply-adds of A @ B = sum over (i, k, j) of [A_ik != 0][B_kj != 0]
    assert bench.spgemm_flops(S) == int((dense @ dense).sum())
    assert bench.spgemm_flops(S, "spgemm_at") == int((dense @ dense.T).sum())
    assert bench.spgemm_flops(sp.csr_array((0, 0))) == 0


# ----------------------------------------------------------------------------
# asv_benchmarks/bench_gpu.py
# ----------------------------------------------------------------------------
_ASV_PROBE = textwrap.dedent("""
    import json, os, sys
    sys.path.insert(0, {root!r})
    from asv_benchmarks import bench_gpu as b

    out = {{}}
    for mode in ("absent", "simulated"):
        if mode == "simulated":
            os.environ["SPARSELA_GPU_SIMULATOR"] = "1"
        for cls in (b.GPUSpGEMM, b.GPUSpGEMMSorted, b.GPUSpMM, b.GPUSpMV):
            args = [p[0] for p in cls.params]
            try:
                cls().setup(*args)
                res = "no exception"
            except NotImplementedError as exc:
                res = "NotImplementedError: " + str(exc)
            except Exception as exc:
                res = type(exc).__name__ + ": " + str(exc)
            out[mode + " " + cls.__name__] = res
    out["params"] = {{c.__name__: c.params for c in (b.GPUSpGEMM, b.GPUSpGEMMSorted, b.GPUSpMM)}}
    print(json.dumps(out))
""")


@needs_no_gpu
def test_asv_gpu_setup_skips_without_gpu():
    proc = subprocess.run([sys.executable, "-c", _ASV_PROBE.format(root=str(ROOT))],
                          capture_output=True, text=True, env=_no_sim_env(), timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    params = out.pop("params")
    assert params["GPUSpGEMM"][0] == ["sparsela", "sparsela-cusparse", "cupyx"]
    assert params["GPUSpGEMMSorted"][0] == ["sparsela", "sparsela-cusparse"]
    assert params["GPUSpMM"][2] == [16, 64, 256]
    assert {"rmat16", "rmat18", "er16", "poisson1000"} <= set(params["GPUSpGEMM"][1])
    assert len(out) == 8
    for key, res in out.items():
        assert res.startswith("NotImplementedError: "), (key, res)
        if key.startswith("absent"):
            assert "CuPy" in res and ("not installed" in res or "no CUDA device" in res), res
        else:
            assert "simulated" in res, res


# The asv module's setup/call/track path on the simulated device: a stand-in
# for the cupy module adds what the simulator lacks (device synchronisation,
# the memory pool), and the inputs are a 12 x 12 matrix (simulator-sized).
_ASV_SIMULATED = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {root!r})
    import numpy as np
    import scipy.sparse as sp
    import sparsela as sl
    from asv_benchmarks import bench_gpu as b
    from sparsela.backends.gpu._simulator import xp

    S = sp.random_array((12, 12), density=0.3, format="csr", dtype=np.float64, rng=3)
    S.data[:] = np.arange(1, S.nnz + 1) / 8
    S.indices = S.indices.astype(np.int32)
    S.indptr = S.indptr.astype(np.int32)
    try:
        sl.csr_array(S).to_device("gpu")
    except Exception as exc:
        print(json.dumps({{"skip": type(exc).__name__ + ": " + str(exc)}}))
        raise SystemExit(0)

    class Pool:
        def free_all_blocks(self):
            pass

        def total_bytes(self):
            return 4096

    class Device:
        syncs = 0

        def synchronize(self):
            Device.syncs += 1

    class Cuda:
        pass

    Cuda.Device = Device

    class StandIn:
        cuda = Cuda

        def get_default_memory_pool(self):
            return Pool()

        def __getattr__(self, name):
            return getattr(xp, name)

    b.gpu_module = lambda: StandIn()
    b.get_matrix = lambda name: S
    b.tiny_matrix = lambda: S
    out = {{}}
    g = b.GPUSpGEMM()
    g.setup("sparsela", "rmat16")
    before = Device.syncs
    g.time_spgemm("sparsela", "rmat16")
    out["synced"] = Device.syncs - before
    out["nnz"] = g.track_nnz("sparsela", "rmat16")
    out["mb"] = g.track_spgemm_device_mb("sparsela", "rmat16")
    s = b.GPUSpGEMMSorted()
    s.setup("sparsela", "rmat16")
    C = s.call().get().to_scipy()
    out["sorted"] = all(np.all(np.diff(C.indices[C.indptr[i]:C.indptr[i + 1]]) > 0)
                        for i in range(12))
    out["sum"] = float(C.sum())
    m = b.GPUSpMM()
    m.setup("sparsela", "rmat16", 16)
    out["spmm"] = float(np.abs(m.call().get() - S @ b.get_dense(12, 16)).max())
    v = b.GPUSpMV()
    v.setup("sparsela", "rmat16")
    out["spmv"] = float(np.abs(v.call().get() - S @ b.get_dense(12)).max())
    try:
        b.GPUSpMV().setup("cupyx", "rmat16")
        out["cupyx"] = "no exception"
    except Exception as exc:  # with CuPy installed, cupyx meets the stand-in's arrays
        out["cupyx"] = type(exc).__name__ + ": " + str(exc)
    print(json.dumps(out))
""")


def test_asv_gpu_benchmarks_run_on_simulated_device():
    env = _no_sim_env()
    env.update({k: "1" for k in SIM_VARS})
    proc = subprocess.run([sys.executable, "-c", _ASV_SIMULATED.format(root=str(ROOT))],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if "skip" in out:
        pytest.skip(f"the core's device model is not there yet: {out['skip']}")
    S = _tiny_positive()
    P = S @ S
    assert out["synced"] == 1  # the timed call waits for the device
    assert out["nnz"] == P.nnz
    assert out["mb"] == 0.0  # the stand-in pool does not grow
    assert out["sorted"] is True and out["sum"] == pytest.approx(P.sum(), rel=1e-12)
    assert out["spmm"] < 1e-12 and out["spmv"] < 1e-12
    try:
        import cupyx.scipy.sparse  # noqa: F401
    except ImportError:  # skipped, with the reason
        assert out["cupyx"].startswith("NotImplementedError: ") and "cupyx" in out["cupyx"]
