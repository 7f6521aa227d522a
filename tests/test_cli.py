"""Tests of the ``sparsela`` command line (sparsela/__main__.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

import sparsela as sl
from sparsela import io as slio
from sparsela.__main__ import compare_with_scipy, main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
REAL = DATA / "real"
MALFORMED = DATA / "malformed"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(reason=f"shared test data not found at {path}")
    return path


def _small(tmp_path: Path, name: str = "a.mtx", seed: int = 0, shape=(30, 30)) -> Path:
    m = sp.random_array(shape, density=0.15, rng=seed, format="csr")
    path = tmp_path / name
    scipy.io.mmwrite(path, m, symmetry="general")
    return path


def _one_error_line(capsys, rc: int, *needles: str) -> str:
    out, err = capsys.readouterr()
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("sparsela: error: ")
    assert "Traceback" not in err and "Traceback" not in out
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


# ----------------------------------------------------------------------------
# help and version
# ----------------------------------------------------------------------------
def test_help_and_version(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for cmd in ("info", "multiply", "demo"):
        assert cmd in out
    assert main(["--version"]) == 0
    assert sl.__version__ in capsys.readouterr().out
    for cmd in ("info", "multiply", "demo"):
        assert main([cmd, "--help"]) == 0
        assert "usage: sparsela " + cmd in capsys.readouterr().out


def test_python_m_sparsela_help():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "sparsela", "--help"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "multiply" in proc.stdout and "usage: sparsela" in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "sparsela", "info", "no_such_file.mtx"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("sparsela: error:")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "no_such_file.mtx" in proc.stderr


# ----------------------------------------------------------------------------
# info
# ----------------------------------------------------------------------------
def test_info_real_file(capsys):
    path = _need(REAL / "bcsstk13.mtx")
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2003 x 2003" in out
    assert "83883" in out and "42943 entries in the file" in out
    assert "symmetric" in out and "float64" in out
    assert "row nnz" in out and "empty rows  0" in out


def test_info_statistics(tmp_path, capsys):
    m = np.array([[1.0, 0, 2], [0, 0, 0], [3, 4, 5], [0, 0, 0]])
    path = tmp_path / "m.mtx"
    slio.mmwrite(path, sl.csr_array(m))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "4 x 3" in out and "nnz         5" in out
    assert "min 0, mean 1.25, max 3" in out
    assert f"std {np.std([2, 0, 3, 0]):.2f}" in out
    assert "empty rows  2" in out


def test_info_array_and_empty(capsys):
    assert main(["info", str(_need(REAL / "complex.mtx"))]) == 0
    out = capsys.readouterr().out
    assert "array" in out and "complex128" in out
    assert main(["info", str(REAL / "empty.mtx")]) == 0
    out = capsys.readouterr().out
    assert "3 x 4" in out and "empty rows  3" in out


def test_info_duplicates_option(tmp_path, capsys):
    path = tmp_path / "dup.mtx"
    path.write_text("%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n1 1 2\n")
    _one_error_line(capsys, main(["info", str(path)]), "dup.mtx", "duplicate")
    assert main(["info", str(path), "--duplicates", "sum"]) == 0
    assert "nnz         1" in capsys.readouterr().out


# ----------------------------------------------------------------------------
# multiply
# ----------------------------------------------------------------------------
def test_multiply_writes_product(tmp_path, capsys):
    a = _small(tmp_path, "a.mtx", seed=1)
    b = _small(tmp_path, "b.mtx", seed=2, shape=(30, 20))
    out = tmp_path / "c.mtx"
    rc = main(["multiply", str(a), str(b), "-o", str(out), "--threads", "1", "--check"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "check: OK" in text and "30 x 20" in text
    ref = scipy.io.mmread(a) @ scipy.io.mmread(b)
    got = slio.mmread(out)
    np.testing.assert_allclose(got.toarray(), ref.toarray(), rtol=1e-13)


def test_multiply_square_default_b_unsorted(tmp_path, capsys):
    a = _small(tmp_path, seed=3)
    out = tmp_path / "c.mtx.gz"
    assert main(["multiply", str(a), "-o", str(out), "--no-sorted", "--check"]) == 0
    assert "check: OK" in capsys.readouterr().out
    A = scipy.io.mmread(a)
    np.testing.assert_allclose(slio.mmread(out).toarray(), (A @ A).toarray(), rtol=1e-13)


def test_multiply_real_files_and_npz(tmp_path, capsys):
    w = _need(REAL / "west0067.mtx")
    npz = tmp_path / "w.npz"
    slio.save_npz(npz, slio.mmread(w).tocsr())
    assert main(["multiply", str(w), str(npz), "--check"]) == 0
    out = capsys.readouterr().out
    assert "67 x 67" in out and "check: OK" in out
    # pattern x pattern, dense complex array file
    assert main(["multiply", str(REAL / "karate.mtx"), "--check"]) == 0
    assert main(["multiply", str(REAL / "complex.mtx"), "--check"]) == 0
    assert main(["multiply", str(REAL / "empty.mtx"), str(tmp_path / "e.npz")]) == 2
    capsys.readouterr()


def test_multiply_check_mismatch_exit_1(tmp_path, capsys, monkeypatch):
    a = _small(tmp_path, seed=4)
    real_spgemm = sl.spgemm

    def wrong(A, B, **kw):
        C = real_spgemm(A, B, **kw)
        return C * 2.0

    monkeypatch.setattr(sl, "spgemm", wrong)
    assert main(["multiply", str(a), "--check"]) == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_multiply_shape_mismatch(tmp_path, capsys):
    a = _small(tmp_path, "a.mtx", shape=(30, 30))
    b = _small(tmp_path, "b.mtx", shape=(20, 30))
    rc = main(["multiply", str(a), str(b), "-o", str(tmp_path / "c.mtx")])
    _one_error_line(capsys, rc, "cannot multiply", "a.mtx", "b.mtx", "30 and 20")
    assert not (tmp_path / "c.mtx").exists()


@pytest.mark.parametrize("name", ["mangled1.mtx", "mangled5.mtx", "mangled7.mtx",
                                  "mangled_format.mtx"])
def test_malformed_input_is_one_line(name, capsys):
    path = _need(MALFORMED / name)
    _one_error_line(capsys, main(["multiply", str(path)]), name)
    _one_error_line(capsys, main(["info", str(path)]), name)


@pytest.mark.parametrize(
    "argv, needles",
    [
        (["info", "missing.mtx"], ["missing.mtx", "not found"]),
        (["multiply", "missing.mtx"], ["missing.mtx"]),
        (["multiply", "A.mtx", "--threads", "0"], ["--threads", "positive integer"]),
        (["multiply", "A.mtx", "--threads", "many"], ["--threads", "'many'"]),
        (["demo", "--threads", "-2"], ["--threads"]),
        (["demo", "--repeat", "0"], ["--repeat"]),
        (["demo", "--scale", "-1"], ["--scale"]),
        (["demo", "--scale", "31"], ["--scale"]),
        (["demo", "--kind", "banded"], ["--kind", "invalid choice"]),
        (["frobnicate"], ["invalid choice"]),
        ([], ["required"]),
        (["info"], ["required"]),
        (["info", "a.mtx", "--bogus"], ["unrecognized arguments"]),
    ],
)
def test_usage_errors_are_one_line(argv, needles, capsys):
    _one_error_line(capsys, main(argv), *needles)


def test_too_many_threads_is_one_line(tmp_path, capsys):
    a = _small(tmp_path)
    _one_error_line(capsys, main(["multiply", str(a), "--threads", "100000"]), "num_threads")


def test_output_directory_missing(tmp_path, capsys):
    a = _small(tmp_path)
    rc = main(["multiply", str(a), "-o", str(tmp_path / "nodir" / "c.mtx")])
    _one_error_line(capsys, rc, "nodir")


def test_internal_error_is_one_line_unless_debug(tmp_path, capsys, monkeypatch):
    a = _small(tmp_path)

    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(sl, "spgemm", boom)
    monkeypatch.delenv("SPARSELA_DEBUG", raising=False)
    _one_error_line(capsys, main(["multiply", str(a)]), "internal error", "kaboom")
    monkeypatch.setenv("SPARSELA_DEBUG", "1")
    with pytest.raises(RuntimeError, match="kaboom"):
        main(["multiply", str(a)])


# ----------------------------------------------------------------------------
# demo
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["rmat", "poisson2d", "poisson3d"])
def test_demo_small(kind, capsys):
    rc = main(["demo", "--kind", kind, "--scale", "7", "--repeat", "1", "--threads", "1"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "warm-up" in out and "Numba" in out
    for word in ("operation", "sparsela", "scipy", "nnz(C)", "scipy/sparsela", "match"):
        assert word in out
    spgemm_row = next(line for line in out.splitlines() if line.startswith("C = A @ A"))
    spmv_row = next(line for line in out.splitlines() if line.startswith("y = A @ x"))
    assert spgemm_row.rstrip().endswith("yes") and spmv_row.rstrip().endswith("yes")


def test_demo_mismatch_exit_1(capsys, monkeypatch):
    real_spgemm = sl.spgemm

    def wrong(A, B, **kw):
        C = real_spgemm(A, B, **kw)
        C.data[:1] += 1.0
        return C

    monkeypatch.setattr(sl, "spgemm", wrong)
    assert main(["demo", "--scale", "6", "--repeat", "1"]) == 1
    out = capsys.readouterr().out
    assert "NO" in out and "differs" in out


# ----------------------------------------------------------------------------
# the comparison used by --check and demo
# ----------------------------------------------------------------------------
def test_compare_with_scipy():
    rng = np.random.default_rng(0)
    A = sp.random_array((40, 40), density=0.2, rng=rng, format="csr")
    ref = A @ A
    C = sl.spgemm(sl.csr_array(A), sl.csr_array(A))
    ok, detail = compare_with_scipy(C, (A @ A), A, A)
    assert ok, detail
    # rounding-level differences are accepted
    Cp = sl.csr_array(ref.copy())
    Cp.data[:] = Cp.data * (1 + 1e-14)
    assert compare_with_scipy(Cp, A @ A, A, A)[0]
    # explicit zeros in the sparsela result are ignored
    Z = sp.csr_array(ref.copy())
    Z.data[0] = 0.0
    R = sp.csr_array(Z.copy())
    R.eliminate_zeros()
    assert compare_with_scipy(sl.csr_array(Z), R, A, A)[0]
    # real differences are not
    W = sl.csr_array(ref.copy())
    W.data[3] += 1e-3
    ok, detail = compare_with_scipy(W, A @ A, A, A)
    assert not ok and "differs" in detail
    # a missing entry is not
    M = sp.csr_array(ref.copy())
    M.data[5] = 0.0
    M.eliminate_zeros()
    assert not compare_with_scipy(sl.csr_array(M), A @ A, A, A)[0]
    # integers must be equal
    I = sp.csr_array(np.array([[1, 2], [0, 3]]))
    assert compare_with_scipy(sl.csr_array(I), I @ I)[0] is False
    assert compare_with_scipy(sl.csr_array(I @ I), I @ I)[0] is True
    assert compare_with_scipy(sl.csr_array(np.ones((2, 3))), I)[0] is False
