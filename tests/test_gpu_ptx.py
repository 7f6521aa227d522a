"""Every GPU kernel compiles for the real CUDA target (PTX), not only in the simulator.

The GPU tests run the ``numba.cuda`` kernels under Numba's CUDA simulator when
no GPU is present, and the simulator accepts Python that the real target
rejects. ``tools/gpu_ptx_check.py`` compiles every kernel of
``sparsela/backends/gpu/`` (factory-built ones included) to PTX for sm_90,
for every dtype combination ``sparsela.ops`` launches; it needs numba-cuda
with the CUDA NVVM (``pip install sparsela[cuda12]``) but no GPU or driver.

The tool runs in a subprocess with ``NUMBA_ENABLE_CUDASIM`` and
``SPARSELA_GPU_SIMULATOR`` removed (``tests/conftest.py`` turns the simulator
on for this process when there is no GPU, and Numba reads that at import).
Where numba-cuda or NVVM is missing (the ``test`` extras do not install them,
so in CI) the tests skip. The interpreter defaults to the test's own;
``SPARSELA_PTX_PYTHON`` names another one (e.g. a venv with the cuda extras).
"""
from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "gpu_ptx_check.py"
PYTHON = os.environ.get("SPARSELA_PTX_PYTHON", sys.executable)


def _env() -> dict:
    env = dict(os.environ)
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    env.pop("SPARSELA_GPU_SIMULATOR", None)
    return env


def _run(*args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, str(TOOL), *args], env=_env(), capture_output=True,
                          text=True, check=False, timeout=timeout, cwd=TOOL.parents[1])


@functools.cache
def _unavailable() -> str | None:
    """Why PTX cannot be compiled with ``PYTHON`` (None when it can)."""
    res = _run("--probe", timeout=300)
    if res.returncode == 2:
        return (res.stdout.strip() or res.stderr.strip()).removeprefix("gpu_ptx_check: ")
    assert res.returncode == 0, res.stdout + res.stderr
    return None


@pytest.fixture
def ptx_compiler():
    why = _unavailable()
    if why is not None:
        pytest.skip(f"PTX check needs numba-cuda with the CUDA NVVM in {PYTHON}: {why}")


def test_tool_exits_2_with_one_clear_line_without_numba():
    # `-S`: no site-packages, so no Numba (whether or not this interpreter has it)
    res = subprocess.run([PYTHON, "-S", str(TOOL)], env=_env(), capture_output=True,
                         text=True, check=False, timeout=120)
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr == ""
    assert len(res.stdout.strip().splitlines()) == 1
    assert "pip install sparsela[cuda12]" in res.stdout


def test_every_kernel_has_signatures(ptx_compiler):
    # the discovery check alone (no compiling): every kernel dispatcher and
    # kernel factory of every GPU module is named in the tool's table
    res = _run("--list", timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "PROBLEM" not in out
    for module in ("convert", "canonical", "spmv", "spmm", "spgemm", "reduce", "binop",
                   "index", "sddmm", "semiring"):
        assert f"  {module}: " in out, out


@pytest.mark.slow
def test_every_kernel_compiles_to_ptx_for_sm90(ptx_compiler):
    # ~860 signatures at 0.1-1 s of CPU each, spread over the CPU count: about
    # 5 minutes on 2 cores, about 1 on 16 (deselect with -m "not slow")
    res = _run("--cc", "9.0", timeout=3600)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-20000:]
    last = out.strip().splitlines()[-1]
    assert last.startswith("compiled ") and " 0 failed" in last, out[-20000:]
