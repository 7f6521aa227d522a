"""Helpers shared by the estimators: input validation, sparse-aware maths,
progress bars. Public for users writing their own estimators on sparsela."""
from .extmath import (
    center_dot,
    center_tdot,
    column_mean_var,
    safe_dot,
    squared_spectral_norm,
)
from .progress import progress
from .validation import check_array, is_sparse_input, validate_data

__all__ = [
    "validate_data", "check_array", "is_sparse_input",
    "safe_dot", "center_dot", "center_tdot", "column_mean_var",
    "squared_spectral_norm", "progress",
]
