"""Sphinx configuration of the sparsela documentation.

Build: ``make -C docs html`` (``make -C docs html-noplot`` skips running the
gallery examples). Warnings are errors (``SPHINXOPTS=-W``).
"""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NUMBA_NUM_THREADS", "2")

import sparsela  # noqa: E402

project = "sparsela"
author = "the sparsela developers"
copyright = "2026, the sparsela developers"
release = sparsela.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.md5",
                    "auto_examples/*.json", "sg_execution_times.rst"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]

autosummary_generate = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"  # numpydoc renders the types from the docstrings

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Numpydoc validation of every public docstring (sphinx build fails with -W).
# Checks left out: ES01 (extended summary), SA01 (See Also), EX01 (Examples on
# every function), GL08 (private helpers without docstrings pulled in by
# autodoc), RT02 (named return values are our style), SS05 (summary verb form).
numpydoc_validation_checks = {"all", "ES01", "SA01", "EX01", "GL08", "RT02", "SS05",
                              "SS06", "GL01", "GL02", "PR09", "RT05", "YD01"}
numpydoc_validation_exclude = {
    r"\.__init__$", r"\.__call__$", r"\.__repr__$", r"\.__getattr__$", r"\.__dir__$",
    r"\.set_.*_request$",  # scikit-learn's metadata-routing methods
}

html_theme = "pydata_sphinx_theme"
html_title = "sparsela"
html_static_path = []
templates_path = ["_templates"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # only plot_*.py run; others are shown as code
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "min_reported_time": 5,
    "reference_url": {"sparsela": None},
}
