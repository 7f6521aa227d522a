"""Iterative solvers and norms built on the sparsela operations."""
from ._isolve import cg
from ._norm import norm

__all__ = ["cg", "norm"]
