"""
Sinkhorn-Newton-Sparse vs Sinkhorn on a random assignment problem
=================================================================

The random assignment case of Tang et al., "Accelerating Sinkhorn Algorithm
with Sparse Newton Iterations" (ICLR 2024, Table 1): ``n = 500`` points, cost
``C_ij ~ U[0, 1]``, uniform marginals, ``eta = 1200`` (POT's ``reg = 1/1200``),
solved to the marginal error ``1e-9``.

Sinkhorn's matrix scaling converges linearly, slowly at this small ``reg``;
Sinkhorn-Newton-Sparse (:func:`sparsela.ot.sinkhorn_newton_sparse`) runs 20
log-domain Sinkhorn iterations, then Newton steps whose Hessian keeps only the
largest entries of the plan (a ``sparsela.csr_array`` solved by
:func:`sparsela.linalg.cg`), and reaches ``1e-9`` in tens of iterations.

Run: ``python examples/plot_sinkhorn_newton_sparse.py`` (about half a minute;
``SPARSELA_EXAMPLE_N=200`` for a quicker run).
"""
# %%
# The problem
# -----------
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from sparsela.ot import marginal_error, sinkhorn, sinkhorn_newton_sparse

n = int(os.environ.get("SPARSELA_EXAMPLE_N", "500"))
rng = np.random.default_rng(0)
C = rng.random((n, n))
a = np.full(n, 1.0 / n)
b = a.copy()
reg = 1.0 / 1200  # eta = 1200
tol = 1e-9

# %%
# Sinkhorn-Newton-Sparse
# ----------------------
t0 = time.perf_counter()
P_sns, log_sns = sinkhorn_newton_sparse(a, b, C, reg, tol=tol, log=True)
t_sns = time.perf_counter() - t0
print(f"SNS: {log_sns['n_sinkhorn']} Sinkhorn + {log_sns['n_newton']} Newton iterations "
      f"({sum(log_sns['cg_iter'])} CG iterations), marginal error "
      f"{marginal_error(P_sns, a, b):.1e}, {t_sns:.2f} s")
print("density of the kept plan entries per Newton step:",
      ", ".join(f"{d:.3f}" for d in log_sns["density"]))

# %%
# Sinkhorn
# --------
# POT's plain scaling algorithm (the error is checked every 10 iterations).
t0 = time.perf_counter()
P_sk, log_sk = sinkhorn(a, b, C, reg, numItermax=30_000, stopThr=tol, log=True, warn=False)
t_sk = time.perf_counter() - t0
print(f"Sinkhorn: {log_sk['n_iter']} iterations, marginal error "
      f"{marginal_error(P_sk, a, b):.1e}, {t_sk:.2f} s")
print(f"max |P_sns - P_sinkhorn| = {np.abs(P_sns - P_sk).max():.1e} "
      f"(plan entries up to {P_sns.max():.1e})")

# %%
# Marginal error against iterations
# ---------------------------------
# SNS's curve starts after its warm-up; each of its later points is a Newton
# step (a sparse CG solve and a line search, a few n^2 exponentials).
it_sk = 10 * np.arange(len(log_sk["err"])) + 1
it_sns = log_sns["n_sinkhorn"] + np.arange(len(log_sns["err"]))
fig, ax = plt.subplots(figsize=(6, 4))
ax.semilogy(it_sk, log_sk["err"], label=f"Sinkhorn ({log_sk['n_iter']} it.)")
ax.semilogy(it_sns, log_sns["err"], "o-", label=f"SNS ({log_sns['n_iter']} it.)")
ax.axhline(tol, color="gray", ls=":", lw=1)
ax.set_xscale("symlog", linthresh=100)
ax.set_xlim(0, 1.2 * max(it_sk[-1], it_sns[-1]))
ax.set_xlabel("iteration")
ax.set_ylabel("marginal error")
ax.set_title(f"random assignment, n={n}, eta=1200")
ax.legend()
fig.tight_layout()
out = os.environ.get("SPARSELA_EXAMPLE_OUT")
if out:
    fig.savefig(out, dpi=100)
