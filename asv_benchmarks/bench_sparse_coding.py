"""Sparse coding of 1000 signals, side by side: sparsela's FISTA
``SparseCoder`` (``sparsela.decomposition``) against scikit-learn's
``SparseCoder(transform_algorithm="lasso_cd")``.

Both minimise, per signal, ``0.5 ||x - z D||^2 + alpha ||z||_1`` (scikit-learn
scales it by ``1 / n_features``: same codes). scikit-learn's coordinate descent
stops at its fixed duality-gap tolerance (``1e-8 ||x||^2``), sparsela at its
default ``transform_tol=1e-12`` (gap ``<= 1e-12 ||x||^2``), so sparsela's codes
are at least as accurate; ``SparseCodingError.track_code_max_abs_diff`` (largest
absolute difference between the two libraries' codes) and
``SparseCodingError.track_objective_rel_diff`` (sparsela's mean objective
minus scikit-learn's, relative; negative: sparsela lower) make the equal error
visible next to the times.

Problems (parameter ``problem``), all with 1000 signals and unit-norm atoms:

=================  ===========================================================
``k128-p64``       ``make_sparse_coded_signal``: 128 atoms, 64 features, 5
                   non-zeros per code, ``alpha = 0.1``
``k256-p64``       256 atoms, 64 features, 8 non-zeros, ``alpha = 0.1``
``k512-p100``      512 atoms, 100 features, 10 non-zeros, ``alpha = 0.1``
``sparse-k256``    sparse signals: ``X`` 1000 x 4000 CSR with density 1%
                   (N(0, 1) values), 256 random atoms, ``alpha`` = 0.6 x the
                   mean ``||D x||_inf``. sparsela codes the sparse ``X`` (a
                   sparsela array); scikit-learn's ``lasso_cd`` takes dense
                   input only, so it gets ``X.toarray()`` (made in setup,
                   not timed)
=================  ===========================================================

``threads`` sets sparsela's thread count, scikit-learn's ``n_jobs`` (``None``
for 1) and the BLAS threads of both (threadpoolctl).
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp

from .common import _max_threads, skip, sl

LIBRARIES = ["sparsela", "sklearn"]
THREADS = [1, 2]
PROBLEMS = ["k128-p64", "k256-p64", "k512-p100", "sparse-k256"]
N_SIGNALS = 1000

_CACHE: dict = {}


def make_problem(name: str):
    """``(X_sparsela_or_dense, X_dense, D, alpha)`` for a problem name (cached)."""
    if name in _CACHE:
        return _CACHE[name]
    if name == "sparse-k256":
        rng = np.random.default_rng(0)
        S = sp.random_array((N_SIGNALS, 4000), density=0.01, format="csr", rng=rng,
                            data_sampler=rng.standard_normal)
        D = rng.standard_normal((256, 4000))
        D /= np.linalg.norm(D, axis=1, keepdims=True)
        alpha = 0.6 * float(np.abs(S @ D.T).max(axis=1).mean())
        out = (S, S.toarray(), D, alpha)
    else:
        from sklearn.datasets import make_sparse_coded_signal

        k, p = (int(s[1:]) for s in name.split("-"))
        nnz = {128: 5, 256: 8, 512: 10}[k]
        X, D, _ = make_sparse_coded_signal(n_samples=N_SIGNALS, n_components=k,
                                           n_features=p, n_nonzero_coefs=nnz,
                                           random_state=0)
        out = (X, X, D, 0.1)
    _CACHE[name] = out
    return out


def objective(X, Z, D, alpha) -> float:
    """Mean over signals of ``0.5 ||x - z D||^2 + alpha ||z||_1`` (dense X)."""
    R = X - Z @ D
    return float((0.5 * (R * R).sum(axis=1) + alpha * np.abs(Z).sum(axis=1)).mean())


def _coder(library, D, alpha, threads):
    if library == "sparsela":
        from sparsela.decomposition import SparseCoder

        return SparseCoder(D, transform_alpha=alpha)
    try:
        from sklearn.decomposition import SparseCoder
    except ImportError:
        skip("scikit-learn is not installed")
    return SparseCoder(D, transform_algorithm="lasso_cd", transform_alpha=alpha,
                       n_jobs=None if threads == 1 else threads)


class SparseCoding:
    """``SparseCoder.transform`` of 1000 signals: sparsela FISTA vs sklearn lasso_cd."""

    params = (LIBRARIES, THREADS, PROBLEMS)
    param_names = ("library", "threads", "problem")
    rounds = 1
    repeat = (3, 10, 20.0)
    number = 1
    warmup_time = 0.0
    timeout = 600

    def setup(self, library, threads, problem):
        if threads > _max_threads():
            skip(f"{threads} threads > {_max_threads()} available on this machine")
        if library == "sparsela" and sl is None:
            skip("sparsela cannot be imported")
        try:
            from threadpoolctl import threadpool_limits

            self._limits = threadpool_limits(threads)
        except ImportError:
            self._limits = None
        Xs, Xd, D, alpha = make_problem(problem)
        if library == "sparsela":
            sl.set_num_threads(threads)
            self.X = sl.csr_array(Xs) if sp.issparse(Xs) else Xs
        else:
            self.X = Xd
        self.coder = _coder(library, D, alpha, threads)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Numba compiles / loads here, on the real input: the product
            # kernels are chosen by size (a slice runs other ones)
            self.coder.transform(self.X)

    def teardown(self, library, threads, problem):
        if getattr(self, "_limits", None) is not None:
            self._limits.restore_original_limits()

    def _transform(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.coder.transform(self.X)

    def time_transform(self, library, threads, problem):
        self._transform()


class SparseCodingError:
    """Equal error: how far sparsela's codes are from scikit-learn's (1 thread)."""

    params = (PROBLEMS,)
    param_names = ("problem",)
    timeout = 600

    def setup(self, problem):
        if sl is None:
            skip("sparsela cannot be imported")
        sl.set_num_threads(1)
        Xs, Xd, D, alpha = make_problem(problem)
        X = sl.csr_array(Xs) if sp.issparse(Xs) else Xs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.Z = _coder("sparsela", D, alpha, 1).transform(X)
            self.Zsk = _coder("sklearn", D, alpha, 1).transform(Xd)
        self.f = objective(Xd, self.Z, D, alpha)
        self.fsk = objective(Xd, self.Zsk, D, alpha)

    def track_code_max_abs_diff(self, problem):
        return float(np.abs(self.Z - self.Zsk).max())

    track_code_max_abs_diff.unit = "max |z_sparsela - z_sklearn|"

    def track_objective_rel_diff(self, problem):
        return (self.f - self.fsk) / self.fsk

    track_objective_rel_diff.unit = "(f_sparsela - f_sklearn) / f_sklearn"
