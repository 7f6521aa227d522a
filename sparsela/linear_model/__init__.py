"""Linear models as scikit-learn estimators: block coordinate descent
(Lasso, ElasticNet, GroupLasso with greedy block selection) and sparse
Bayesian learning (SBLRegression, KroneckerSBL).

Names load on first use, so ``import sparsela.linear_model`` does not import
scikit-learn until an estimator is touched.
"""
import importlib

_MODULES = {
    "Lasso": "_bcd",
    "ElasticNet": "_bcd",
    "GroupLasso": "_bcd",
    "SBLRegression": "_sbl",
    "KroneckerSBL": "_sbl",
}

__all__ = sorted(_MODULES)


def __getattr__(name):
    if name in _MODULES:
        return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_MODULES))
