"""Sampled dense-dense matrix product: ``sddmm(M, X, Y)`` = (X @ Y.T) at M's pattern."""
from __future__ import annotations

from .._sputils import upcast
from ..formats.csr import csr_array
from ._backend import kernels, xp_of
from ._validation import as_dense, as_sparse, from_kernel, kernel_dtype

__all__ = ["sddmm"]


def sddmm(M, X, Y) -> csr_array:
    """Sampled dense-dense product: ``(X @ Y.T)`` at the stored positions of ``M``.

    Only the sampled entries are computed (``nnz(M) * k`` multiply-adds), the
    core of attention with a sparse pattern, of factorisation-machine and
    matrix-completion gradients, and of graph neural networks.

    Parameters
    ----------
    M : sparse array (sparsela or scipy.sparse), shape (m, n)
        The sampling pattern. Only its *structure* counts: every stored
        position, explicit zeros included; duplicates are one position.
        Its values are not used (multiply the result by ``M`` for the
        scaled variant ``M * (X @ Y.T)``).
    X : array_like, shape (m, k)
        Dense, numeric.
    Y : array_like, shape (n, k)
        Dense, numeric. Used as it is: ``X @ Y.T`` is computed **without
        conjugation** for complex input (pass ``Y.conj()`` for Hermitian
        inner products).

    Returns
    -------
    csr_array, shape (m, n)
        Canonical (sorted rows, no duplicates), with M's structure and the
        values ``(X @ Y.T)[i, j]``. Value dtype is NumPy's promotion of X's
        and Y's dtypes (float16 computes as float32; integer types compute in
        int64 and wrap back as NumPy's; bool gives ``any(X[i] & Y[j])``).

    Raises
    ------
    TypeError
        ``M`` not sparse, or ``X``/``Y`` not numeric.
    ValueError
        ``X``/``Y`` not 2-D, or shapes not matching ``M`` and each other.
    """
    M = as_sparse(M, "M")
    X = as_dense(X, "X", M.device)
    Y = as_dense(Y, "Y", M.device)
    m, n = M.shape
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array of shape (m, k) = ({m}, k), "
                         f"got {X.ndim}-D shape {X.shape}")
    if Y.ndim != 2:
        raise ValueError(f"Y must be a 2-D array of shape (n, k) = ({n}, k), "
                         f"got {Y.ndim}-D shape {Y.shape}")
    if X.shape[0] != m:
        raise ValueError(f"X must have M.shape[0] = {m} rows, got shape {X.shape}")
    if Y.shape[0] != n:
        raise ValueError(f"Y must have M.shape[1] = {n} rows (sddmm samples X @ Y.T), "
                         f"got shape {Y.shape}")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must have the same number of columns k, got X.shape "
                         f"{X.shape} and Y.shape {Y.shape}")
    out_dt = upcast(X.dtype, Y.dtype)
    kdt = kernel_dtype(out_dt)
    Mc = M.tocsr()
    Mp, Mj, _ = Mc._canonical_arrays()
    if Mc.has_canonical_format:
        # the result must not share index buffers with the caller's M
        Mp, Mj = Mp.copy(), Mj.copy()
    xp = xp_of(Mp)
    Xk = xp.ascontiguousarray(X.astype(kdt, copy=False))
    Yk = xp.ascontiguousarray(Y.astype(kdt, copy=False))
    vals = kernels("sddmm", Mp).csr_sddmm(Mp, Mj, Xk, Yk)
    return csr_array._from_arrays(from_kernel(vals, out_dt), Mj, Mp, (m, n), True, True)
