"""Entropic optimal transport: Sinkhorn (plain and log-domain), the
Sinkhorn-Newton-Sparse solver of Tang et al. (ICLR 2024) whose sparsified
Hessian is a sparsela array solved by :func:`sparsela.linalg.cg`, a
``solve`` front and the :class:`SinkhornTransport` estimator.

Conventions are POT's (``ot.sinkhorn``): ``reg`` is the entropic
regularization (``1 / eta`` in the paper), the plan is
``diag(u) exp(-M / reg) diag(v)``.

On the GPU: ``sinkhorn`` (every method), ``sinkhorn_newton_sparse``,
``solve`` and ``SinkhornTransport`` take CuPy input (sparsela GPU arrays
for the estimator's samples) and keep the plan, the potentials and the
fitted arrays on the device, with the CPU's results (Sinkhorn: the same
iteration counts; Sinkhorn-Newton-Sparse: counts that can differ by a step
or two, its adaptive decisions seeing the GPU's rounding).

Names load on first use, so ``import sparsela.ot`` imports neither
scikit-learn nor the solvers until a name is touched.
"""
import importlib

_MODULES = {
    "sinkhorn": "_sinkhorn",
    "sinkhorn_knopp": "_sinkhorn",
    "sinkhorn_log": "_sinkhorn",
    "sinkhorn_newton_sparse": "_sns",
    "solve": "_solve",
    "OTResult": "_solve",
    "SinkhornTransport": "_transport",
    "ConvergenceWarning": "_utils",
    "marginal_error": "_utils",
}

__all__ = sorted(_MODULES)


def __getattr__(name):
    if name in _MODULES:
        return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_MODULES))
