"""Entropic OT: sparsela's Sinkhorn-Newton-Sparse vs POT, side by side.

Solvers (parameter ``library``):

=========================  ==================================================
``sparsela-sns``           :func:`sparsela.ot.sinkhorn_newton_sparse`
                           (defaults: 20 Sinkhorn iterations, more while
                           Sinkhorn is about to converge, then sparse Newton)
``sparsela-sinkhorn-log``  :func:`sparsela.ot.sinkhorn_log`
``pot-sinkhorn``           POT ``ot.sinkhorn`` (its default ``method="sinkhorn"``,
                           plain scaling)
``pot-sinkhorn-log``       POT ``ot.sinkhorn(method="sinkhorn_log")``
``pot-emd``                POT ``ot.emd`` (exact, unregularized: a wall-time
                           reference; timed under the first ``reg`` only)
=========================  ==================================================

Problems (fixed seeds, uniform-vs-random weights as noted): ``random`` -- the
random assignment case of Tang et al. (ICLR 2024, Table 1): ``C_ij ~ U[0,
1]``, uniform marginals; ``gauss`` -- squared-Euclidean cost (divided by its
maximum) between two 2-D Gaussian clouds, random weights. Sizes ``n = 500``
and ``n = 1000`` (``random-1000``, ``gauss-1000``; the log-domain Sinkhorns
are skipped there: minutes per solve). ``reg`` in {1e-2, 1e-3}.

Every solver is asked for the marginal error ``1e-9``. The Sinkhorns stop at
``MAX_SINKHORN`` (plain) or ``MAX_SINKHORN_LOG`` (log-domain, ``n m``
exponentials per iteration) iterations at most, so the module runs in a few
minutes: POT's log-domain Sinkhorn needs 4,831 iterations (random) and 521
(gauss) at ``reg=1e-3``, n=500 -- 290 s and 20 s per solve on one core. ``track_marginal_error``
(``sqrt(||P1 - a||^2 + ||P^T 1 - b||^2)`` of the returned plan) shows which
solvers reached ``1e-9`` and which stopped short, so a ``time_solve`` is only
compared at equal accuracy where the errors agree; ``track_iterations``
(Sinkhorn plus Newton iterations for SNS; POT's ``niter + 1``) and, for SNS,
``track_cg_iterations`` show the work. POT's plain Sinkhorn may stop early
on numerical errors (its kernel ``exp(-M/reg)`` underflows at small ``reg``):
its marginal error then stays large.

Threads: the machine's default (BLAS and sparsela's Numba pool); the
solvers' dense products are BLAS calls for both libraries.
"""
from __future__ import annotations

import warnings

import numpy as np

from .common import skip, sl

TOL = 1e-9
#: iteration caps of the Sinkhorns (documented above; the error is tracked)
MAX_SINKHORN = 20_000
MAX_SINKHORN_LOG = 300
LIBRARIES = ["sparsela-sns", "sparsela-sinkhorn-log", "pot-sinkhorn", "pot-sinkhorn-log",
             "pot-emd"]
PROBLEMS = ["random", "gauss", "random-1000", "gauss-1000"]
REGS = [1e-2, 1e-3]

_CACHE: dict = {}


def problem(name: str, n: int | None = None):
    """``(a, b, M)`` of the named problem (cached per process)."""
    base, _, size = name.partition("-")
    n = n if n is not None else int(size or 500)
    key = (base, n)
    if key not in _CACHE:
        if base == "random":
            rng = np.random.default_rng(0)
            a = np.full(n, 1.0 / n)
            _CACHE[key] = (a, a.copy(), rng.random((n, n)))
        elif base == "gauss":
            rng = np.random.default_rng(1)
            X = rng.normal(size=(n, 2))
            Y = rng.normal(size=(n, 2)) + 1.0
            M = ((X[:, None, :] - Y[None]) ** 2).sum(-1)
            M /= M.max()
            a = rng.random(n) + 0.5
            b = rng.random(n) + 0.5
            _CACHE[key] = (a / a.sum(), b / b.sum(), M)
        else:
            raise ValueError(name)
    return _CACHE[key]


def marginal_error(P, a, b) -> float:
    return float(np.hypot(np.linalg.norm(P.sum(1) - a), np.linalg.norm(P.sum(0) - b)))


def solve(library: str, a, b, M, reg):
    """``(plan, iterations, cg_iterations)`` of one solve."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if library == "sparsela-sns":
            P, log = sl.ot.sinkhorn_newton_sparse(a, b, M, reg, tol=TOL, log=True)
            return P, log["n_iter"], sum(log["cg_iter"])
        if library == "sparsela-sinkhorn-log":
            P, log = sl.ot.sinkhorn_log(a, b, M, reg, numItermax=MAX_SINKHORN_LOG,
                                        stopThr=TOL, log=True)
            return P, log["n_iter"], 0
        import ot

        if library == "pot-emd":
            return ot.emd(a, b, M), np.nan, 0
        if library == "pot-sinkhorn-log":
            P, log = ot.sinkhorn(a, b, M, reg, method="sinkhorn_log",
                                 numItermax=MAX_SINKHORN_LOG, stopThr=TOL, log=True)
        else:
            P, log = ot.sinkhorn(a, b, M, reg, numItermax=MAX_SINKHORN, stopThr=TOL,
                                 log=True)
        return P, log["niter"] + 1, 0


class _Solve:
    """Parameters and setup shared by the classes below (no benchmarks)."""

    params = [LIBRARIES, PROBLEMS, REGS]
    param_names = ["library", "problem", "reg"]
    rounds = 1
    repeat = (1, 3, 20.0)
    number = 1
    warmup_time = 0.0
    timeout = 300

    def setup(self, library, problem_name, reg):
        if library.startswith("sparsela"):
            if sl is None:
                skip("sparsela cannot be imported")
            import sparsela.ot  # noqa: F401  (loads the solvers)
        else:
            try:
                import ot  # noqa: F401
            except ImportError as exc:
                skip(f"POT is not installed ({exc})")
        if library == "pot-emd" and reg != REGS[0]:
            skip("ot.emd has no reg: timed once, under the first reg")
        if library.endswith("sinkhorn-log") and problem_name.endswith("1000"):
            skip("log-domain Sinkhorn at n=1000: minutes per solve")
        self.args = problem(problem_name)
        if library == "sparsela-sns":  # Numba compiles / loads its kernels here,
            # on the real problem (the SpMV kernels of its CG are chosen by size)
            a, b, M = self.args
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sl.ot.sinkhorn_newton_sparse(a, b, M, reg, tol=TOL)


class EntropicOT(_Solve):
    """One entropic OT solve, asked for the marginal error 1e-9: time and
    reached marginal error."""

    def time_solve(self, library, problem_name, reg):
        solve(library, *self.args, reg)

    def track_marginal_error(self, library, problem_name, reg):
        a, b, M = self.args
        return marginal_error(solve(library, a, b, M, reg)[0], a, b)

    track_marginal_error.unit = "marginal error"


class EntropicOTIterations(_Solve):
    """Iterations of the entropic solvers (Sinkhorn plus Newton for SNS)."""

    params = [LIBRARIES[:-1], PROBLEMS, REGS]

    def track_iterations(self, library, problem_name, reg):
        return solve(library, *self.args, reg)[1]

    track_iterations.unit = "iterations"


class SNSConjugateGradient(_Solve):
    """SNS's inner CG iterations (all Newton steps)."""

    params = [LIBRARIES[:1], PROBLEMS, REGS]

    def track_cg_iterations(self, library, problem_name, reg):
        return solve(library, *self.args, reg)[2]

    track_cg_iterations.unit = "CG iterations"
