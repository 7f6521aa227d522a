"""Public operations. Each validates its operands once and calls the backend kernels.

This is the only layer that joins format classes and kernels.
"""
