"""Canonical correlation analysis and partial least squares as scikit-learn
estimators.

Exact models solve the generalised eigenproblem ``A w = lambda B w`` with the
between-view covariances in ``A`` and the ridge-blended within-view
covariances ``B_i = (1 - c_i) S_ii + c_i I`` in ``B``:

=================  ==========================================================
``CCA``            ``c = 0``, two views (``fit(X, Y)``)
``RidgeCCA``       ``c`` in ``[0, 1]`` (``c = 1`` is PLS)
``PLS``            ``c = 1``: the SVD of the cross-covariance
``MCCA``           any number of views (``fit([X1, ..., Xm])``), ``c`` per view
=================  ==========================================================

Stochastic models minimise the unconstrained Eckart-Young loss of Chapman
et al. (ICLR 2024) by minibatch SGD, for data too large for the exact ones:
``StochasticCCA`` and ``StochasticPLS`` (``partial_fit`` streams batches).

Every model takes NumPy, SciPy sparse or sparsela input; sparse views are
never densified (centring is implicit). Views on the GPU (CuPy arrays,
sparsela arrays on the GPU) are fitted there: the fitted arrays are CuPy
arrays, and views on two devices are a ``TypeError``.

Names load on first use, so ``import sparsela.cross_decomposition`` does not
import scikit-learn until an estimator is touched.
"""
import importlib

_MODULES = {
    "CCA": "_cca",
    "RidgeCCA": "_cca",
    "PLS": "_cca",
    "MCCA": "_cca",
    "StochasticCCA": "_stochastic",
    "StochasticPLS": "_stochastic",
}

__all__ = ["CCA", "MCCA", "PLS", "RidgeCCA", "StochasticCCA", "StochasticPLS"]


def __getattr__(name):
    if name in _MODULES:
        return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_MODULES))
