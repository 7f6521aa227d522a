"""Lasso by block coordinate descent, side by side: ``sparsela.linear_model.Lasso``
(working-set coordinate descent with the active-set Newton finish),
scikit-learn's ``Lasso`` (coordinate descent with gap-safe screening) and
skglm's ``Lasso`` (working sets with Anderson acceleration).

Problem: ``X`` sparse CSC, ``n x p`` with N(0, 1) values at uniformly random
positions (density ``DENSITY``), ``y = X w + 0.1 N(0, 1)`` with 1% of ``w``
non-zero (N(0, 1)), an intercept, and ``alpha = alpha_max / 20``
(``alpha_max = ||X_c^T y_c||_inf / n``, the smallest alpha giving ``w = 0``).
Every library gets the same ``X`` (SciPy for the peers, a sparsela array
sharing its buffers for sparsela), ``tol = 1e-6`` (sklearn and sparsela stop
on the same duality gap; skglm's ``tol`` bounds its optimality violation) and
one thread.

Sizes (parameter ``size``): ``small`` (2,000 x 20,000, density 1e-3, for
``asv run --quick``) and ``large`` (10,000 x 100,000, density 1e-3, 1e6
non-zeros), which runs only with ``SPARSELA_ASV_LARGE=1`` (a skipped
parameter combination otherwise).

``time_fit`` times one ``fit``; ``track_objective`` and ``track_dual_gap``
record the objective ``1/(2n) ||y - X w - b||^2 + alpha ||w||_1`` reached and
the duality gap of the result (scikit-learn's formulation, divided by ``n``,
computed here the same way for every library), so equal accuracy is visible
next to the times.
"""
from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp

from .common import skip, sl

SIZES = {"small": (2_000, 20_000), "large": (10_000, 100_000)}
DENSITY = 1e-3
TOL = 1e-6
LARGE_ON = os.environ.get("SPARSELA_ASV_LARGE", "") not in ("", "0")


def make_problem(n, p, density=DENSITY, seed=0):
    """The benchmark's sparse regression problem and its ``alpha``."""
    rng = np.random.default_rng(seed)
    X = sp.random_array((n, p), density=density, format="csc", rng=rng,
                        data_sampler=rng.standard_normal)
    w = np.zeros(p)
    k = max(1, p // 100)
    w[rng.choice(p, k, replace=False)] = rng.standard_normal(k)
    y = X @ w + 0.1 * rng.standard_normal(n)
    yc = y - y.mean()
    alpha_max = np.abs(X.T @ yc - np.asarray(X.mean(axis=0)).ravel() * yc.sum()).max() / n
    return sp.csc_array(X), y, alpha_max / 20


def lasso_objective_gap(X, y, coef, intercept, alpha):
    """Objective and duality gap (scikit-learn's formulation, / n) of a Lasso
    solution with intercept; the dual point is the centred residual, scaled."""
    n = X.shape[0]
    r = y - X @ coef - intercept
    obj = float(r @ r / (2 * n) + alpha * np.abs(coef).sum())
    rc = r - r.mean()
    a = alpha * n
    dual_norm = float(np.abs(X.T @ rc).max())
    scale = a / dual_norm if dual_norm > a else 1.0
    R2 = float(rc @ rc)
    yc = y - y.mean()
    primal = 0.5 * R2 + a * np.abs(coef).sum()
    dual = -0.5 * scale ** 2 * R2 + scale * float(rc @ yc)
    return obj, max(primal - dual, 0.0) / n


def _estimator(library, alpha):
    if library == "sparsela":
        if sl is None:
            skip("sparsela is not importable")
        from sparsela.linear_model import Lasso

        return Lasso(alpha=alpha, tol=TOL, max_iter=10_000)
    if library == "sklearn":
        try:
            from sklearn.linear_model import Lasso
        except ImportError:
            skip("scikit-learn is not installed")
        return Lasso(alpha=alpha, tol=TOL, max_iter=10_000)
    try:
        from skglm import Lasso
    except ImportError:
        skip("skglm is not installed")
    return Lasso(alpha=alpha, tol=TOL, fit_intercept=True, max_iter=200,
                 max_epochs=100_000)


class LassoBCD:
    """``Lasso.fit`` on a sparse problem, sparsela vs scikit-learn vs skglm."""

    params = (["sparsela", "sklearn", "skglm"], list(SIZES))
    param_names = ["library", "size"]
    timeout = 600
    number = 1
    repeat = (1, 5, 60.0)
    warmup_time = 0

    def setup(self, library, size):
        if size == "large" and not LARGE_ON:
            skip("large size: set SPARSELA_ASV_LARGE=1")
        n, p = SIZES[size]
        self.X, self.y, self.alpha = make_problem(n, p)
        self.make = lambda: _estimator(library, self.alpha)
        if library == "sparsela":
            sl.set_num_threads(1)
            self.Xfit = sl.csc_array(self.X)
            # Numba compiles / loads here: on the real problem, since the
            # product kernels are chosen by size (a slice runs other ones)
            self._fit()
        else:
            self.Xfit = self.X
        try:
            from threadpoolctl import threadpool_limits

            threadpool_limits(1)
        except ImportError:
            pass
        self.result = None

    def _fit(self):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.make().fit(self.Xfit, self.y)

    def time_fit(self, library, size):
        self._fit()

    def _metrics(self):
        if self.result is None:
            m = self._fit()
            self.result = lasso_objective_gap(self.X, self.y, np.asarray(m.coef_),
                                              float(m.intercept_), self.alpha)
        return self.result

    def track_objective(self, library, size):
        return self._metrics()[0]

    track_objective.unit = "objective"

    def track_dual_gap(self, library, size):
        return self._metrics()[1]

    track_dual_gap.unit = "gap"
