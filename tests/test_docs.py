"""The documentation builds with warnings as errors (numpydoc validation
included), without running the gallery: CI runs this on every commit.

``make -C docs html`` builds the full site with the gallery executed.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("sphinx", reason="the docs extra is not installed (pip install -e '.[docs]')")
for _mod in ("numpydoc", "sphinx_gallery", "pydata_sphinx_theme", "myst_parser"):
    pytest.importorskip(_mod, reason=f"{_mod} (docs extra) is not installed")


def test_docs_build_without_warnings(tmp_path):
    # build from a copy: autosummary and sphinx-gallery write into the source tree
    shutil.copytree(ROOT / "docs", tmp_path / "docs",
                    ignore=shutil.ignore_patterns("_build", "generated", "auto_examples"))
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q",
         "-D", "plot_gallery=0", str(tmp_path / "docs"), str(tmp_path / "html")],
        capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-6000:]
    assert (tmp_path / "html" / "api.html").exists()
    assert (tmp_path / "html" / "auto_examples" / "index.html").exists()
