"""Compute backends: ``cpu`` (Numba) and ``gpu`` (CuPy), mirrored file for file."""
