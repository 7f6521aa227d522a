"""Constructors: eye, identity, diags, random, kron, hstack, vstack, block_diag."""
from __future__ import annotations

__all__: list[str] = []
