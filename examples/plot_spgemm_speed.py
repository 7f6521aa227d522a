"""
SpGEMM speed against SciPy, GraphBLAS and MKL
=============================================

``sparsela bench --json`` times the same products in sparsela and in every
installed peer — SciPy, python-graphblas (SuiteSparse:GraphBLAS) and Intel MKL
through ``sparse_dot_mkl`` — each library in its own process, and records
medians. This example runs the quick SpGEMM sizes on this machine (or reads a
saved run: ``SPARSELA_BENCH_JSON=bench.json``) and draws each library's time
relative to SciPy: bars below 1 are faster than SciPy.

The full-size table and what bounds each row are in the benchmarks page.
"""
# %%
# Run the benchmark (about a minute with ``--quick``) or load a saved run.
import json
import os
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np

saved = os.environ.get("SPARSELA_BENCH_JSON")
if saved:
    with open(saved) as f:
        result = json.load(f)
else:
    out = subprocess.run(
        [sys.executable, "-m", "sparsela", "bench", "--quick", "--ops", "spgemm",
         "--json", "--no-progress"],
        check=True, capture_output=True, text=True).stdout
    result = json.loads(out)

print("threads:", result["config"]["threads"], "| libraries:",
      ", ".join(f"{k} {v.get('version', '')}" for k, v in result["libraries"].items()
                if v.get("available", True)))

# %%
# Time of ``A @ A`` (unsorted output) relative to SciPy, per matrix.
cells = [c for c in result["cells"] if c["op"] == "spgemm"
         and c.get("variant", "unsorted") == "unsorted" and c.get("median_s")]
libraries = [lib for lib in ("sparsela", "scipy", "graphblas", "mkl")
             if any(c["library"] == lib for c in cells)]
matrices = [m["name"] for m in result["matrices"]
            if any(c["matrix"] == m["name"] and c["library"] == "scipy" for c in cells)]
median = {(c["library"], c["matrix"]): c["median_s"] for c in cells}
# the tiny real matrices take microseconds: keep those SciPy needs >= 1 ms for
matrices = [m for m in matrices if median[("scipy", m)] >= 1e-3]

x = np.arange(len(matrices))
width = 0.8 / len(libraries)
fig, ax = plt.subplots(figsize=(9, 4))
for i, lib in enumerate(libraries):
    rel = [median.get((lib, m), np.nan) / median[("scipy", m)] for m in matrices]
    ax.bar(x + (i - (len(libraries) - 1) / 2) * width, rel, width, label=lib)
ax.axhline(1.0, color="k", lw=0.8)
ax.set_xticks(x, matrices, rotation=30, ha="right")
ax.set_ylabel("time / SciPy time (lower is faster)")
ax.set_title(f"A @ A, {result['config']['threads']} threads "
             f"({'quick sizes' if result['config']['quick'] else 'full sizes'})")
ax.legend()
fig.tight_layout()
plt.show()
