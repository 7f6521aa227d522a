"""Matrix decompositions as scikit-learn estimators: sparse coding
(ISTA/FISTA), dictionary learning and sparse PCA.

Names load on first use, so ``import sparsela.decomposition`` does not import
scikit-learn until an estimator is touched.
"""
import importlib

_MODULES = {
    "sparse_encode": "_sparse_coding",
    "SparseCoder": "_sparse_coding",
    "DictionaryLearning": "_dict_learning",
    "MiniBatchDictionaryLearning": "_dict_learning",
    "SparsePCA": "_sparse_pca",
    "adjusted_variance": "_sparse_pca",
}

__all__ = sorted(_MODULES)


def __getattr__(name):
    if name in _MODULES:
        return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_MODULES))
