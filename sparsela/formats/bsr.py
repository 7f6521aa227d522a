"""Block Sparse Row arrays: CSR over dense R x C blocks."""
from __future__ import annotations

import numpy as np

from .._device import same_device
from .._sputils import as_index_array, check_shape, get_index_dtype
from ..backends.cpu._jit import threads
from ..ops import _canonical as _c
from ..ops._backend import kernels, xp_of
from ._base import SparseArray
from ._compressed import _as_data, _is_scipy_sparse

__all__ = ["bsr_array"]


def _check_blocksize(blocksize, shape):
    try:
        R, C = (int(b) for b in blocksize)
    except (TypeError, ValueError):
        raise TypeError(f"blocksize must be a pair of positive integers, got {blocksize!r}") from None
    if R < 1 or C < 1:
        raise ValueError(f"blocksize must be positive, got {blocksize!r}")
    M, N = shape
    if M % R or N % C:
        raise ValueError(f"blocksize {(R, C)} must divide the shape {tuple(shape)}")
    return R, C


class bsr_array(SparseArray):
    """Block Sparse Row array, a drop-in for ``scipy.sparse.bsr_array``.

    Parameters
    ----------
    arg1 : array_like, sparse array, tuple
        A dense 2-D array; a sparsela or ``scipy.sparse`` array; ``(M, N)``;
        ``(data, (row, col))``; or ``(data, indices, indptr)`` with ``data``
        of shape ``(nnzb, R, C)``.
    shape : tuple of int, optional
        Shape ``(M, N)``; inferred from the input when omitted (for the
        triplet form: ``len(indptr) - 1`` block rows and ``max(indices) + 1``
        block columns).
    dtype : dtype, optional
        Value dtype (bool, integers, float32/64, complex64/128); by default
        that of the input.
    copy : bool, default False
        Copy the input buffers instead of sharing them.
    blocksize : (int, int), optional
        Block shape; must divide ``shape``. Defaults to the blocks of
        ``data`` for the triplet form and to ``(1, 1)`` otherwise.
    """

    format = "bsr"

    def __init__(self, arg1, shape=None, dtype=None, copy: bool = False, blocksize=None):
        from .csr import csr_array

        if shape is not None:
            shape = check_shape(shape)
        if isinstance(arg1, tuple) and len(arg1) == 3:
            data, indices, indptr = arg1
            same_device("data", data, "indices", indices)
            same_device("data", data, "indptr", indptr)
            data = _as_data(data, dtype, copy)
            if data.ndim != 3:
                raise ValueError(f"data must be 3-D (nnzb, R, C), got shape {data.shape}")
            R, C = data.shape[1:]
            if blocksize is not None and tuple(blocksize) != (R, C):
                raise ValueError(f"blocksize {tuple(blocksize)} does not match data blocks {(R, C)}")
            indices = as_index_array(indices, "indices")
            indptr = as_index_array(indptr, "indptr")
            if shape is None:
                nb = int(indices.max()) + 1 if indices.size else 0
                shape = ((indptr.shape[0] - 1) * R, nb * C)
            _check_blocksize((R, C), shape)
            idx = get_index_dtype(indices, indptr, maxval=max(shape), check_contents=True)
            self._set(data, indices.astype(idx, copy=copy), indptr.astype(idx, copy=copy),
                      shape)
            self.check_format(full_check=True)
            return
        if _is_scipy_sparse(arg1) and arg1.format == "bsr" and (
            blocksize is None or tuple(blocksize) == arg1.blocksize
        ):
            if shape is not None and tuple(shape) != arg1.shape:
                raise ValueError(f"shape {shape} does not match the input's shape {arg1.shape}")
            idx = arg1.indices.copy() if copy else arg1.indices
            ptr = arg1.indptr.copy() if copy else arg1.indptr
            self._set(_as_data(arg1.data, dtype, copy), idx, ptr, arg1.shape)
            return
        if isinstance(arg1, bsr_array) and (blocksize is None or tuple(blocksize) == arg1.blocksize):
            src = arg1.copy() if copy else arg1
            self._set(src.data, src.indices, src.indptr, src.shape)
            if dtype is not None:
                self._data = self._data.astype(dtype)
            return
        # anything else: through CSR
        A = csr_array(arg1, shape=shape, dtype=dtype, copy=copy)
        B = bsr_array._from_csr(A, blocksize)
        self._set(B.data, B.indices, B.indptr, B.shape)

    def _set(self, data, indices, indptr, shape):
        self._data = data
        self.indices = indices
        self.indptr = indptr
        self._shape = tuple(int(s) for s in shape)

    @classmethod
    def _from_csr(cls, A, blocksize=None):
        """BSR of a csr_array with the given blocksize (default (1, 1))."""
        M, N = A.shape
        R, C = _check_blocksize(blocksize if blocksize is not None else (1, 1), (M, N))
        n_brow, n_bcol = M // R, N // C
        xp, conv = xp_of(A.indptr), kernels("convert", A.indptr)
        nnzb = conv.csr_bsr_nnzb(n_brow, n_bcol, R, C, A.indptr, A.indices)
        idx = get_index_dtype(A.indptr, maxval=max(nnzb, n_brow, n_bcol))
        Bp = xp.zeros(n_brow + 1, dtype=idx)
        Bj = xp.empty(nnzb, dtype=idx)
        Bx = xp.zeros((nnzb, R, C), dtype=A.dtype)
        conv.csr_tobsr(n_brow, n_bcol, R, C, A.indptr, A.indices, A.data, Bp, Bj, Bx)
        # the kernel emits blocks in first-touch order; sort them within block rows
        # (keys as one 2-D array: cupy.lexsort takes no tuple)
        order = xp.lexsort(xp.stack([Bj, _c.expand_indptr(Bp)]))
        if bool((order != xp.arange(nnzb)).any()):
            Bj, Bx = Bj[order], Bx[order]
        out = cls.__new__(cls)
        out._set(Bx, Bj, Bp, (M, N))
        return out

    @property
    def blocksize(self) -> tuple[int, int]:
        """The block shape ``(R, C)``."""
        return (int(self._data.shape[1]), int(self._data.shape[2]))

    @property
    def nnz(self) -> int:
        """Stored entries: blocks times block size (as SciPy)."""
        R, C = self.blocksize
        return int(self.indptr[-1]) * R * C

    @property
    def has_sorted_indices(self) -> bool:
        """Whether block column indices are non-decreasing in every block row."""
        return _c.has_sorted_indices(self.indptr, self.indices)

    @property
    def has_canonical_format(self) -> bool:
        """Whether block indices are sorted and free of duplicates."""
        return _c.has_canonical_format(self.indptr, self.indices)

    def check_format(self, full_check: bool = True) -> None:
        """Check that the block arrays describe a valid array of this shape.

        Parameters
        ----------
        full_check : bool, default True
            Also check that ``indptr`` is non-decreasing and every block
            column index is within the shape (O(nnzb)); otherwise only the
            array lengths are checked.

        Raises
        ------
        ValueError
            If ``indptr`` does not have one entry per block row plus one,
            ``indptr[0]`` is not 0, ``indices`` or ``data`` do not hold
            ``indptr[-1]`` blocks, or (with ``full_check``) ``indptr``
            decreases or a block column is out of range.
        """
        R, C = self.blocksize
        M, N = self._shape
        if self.indptr.shape[0] != M // R + 1:
            raise ValueError(f"indptr must have length {M // R + 1}, got {self.indptr.shape[0]}")
        if int(self.indptr[0]) != 0:
            raise ValueError("indptr[0] must be 0")
        nnzb = int(self.indptr[-1])
        if self.indices.shape[0] != nnzb or self._data.shape[0] != nnzb:
            raise ValueError(
                f"indices and data must hold indptr[-1] = {nnzb} blocks, got "
                f"{self.indices.shape[0]} and {self._data.shape[0]}"
            )
        if full_check:
            if bool((self.indptr[1:] < self.indptr[:-1]).any()):
                raise ValueError("indptr must be non-decreasing")
            if nnzb and (int(self.indices.min()) < 0 or int(self.indices.max()) >= N // C):
                raise ValueError(f"indices hold a block column out of range for shape {self._shape}")

    def _with_data(self, data, copy: bool = True):
        out = bsr_array.__new__(bsr_array)
        out._set(data.reshape(self._data.shape),
                 self.indices.copy() if copy else self.indices,
                 self.indptr.copy() if copy else self.indptr, self._shape)
        return out

    def tobsr(self, blocksize=None, copy: bool = False):
        if blocksize is None or tuple(blocksize) == self.blocksize:
            return self.copy() if copy else self
        return bsr_array._from_csr(self.tocsr(), blocksize)

    def tocsr(self, copy: bool = False):
        """Return the array in CSR format, every block entry stored.

        The zeros inside the stored blocks are kept as explicit zeros, as
        SciPy does.

        Parameters
        ----------
        copy : bool, default False
            Accepted for SciPy compatibility; the CSR arrays are always newly
            allocated, so the result never shares memory with this array.

        Returns
        -------
        csr_array
            An array with ``nnz = nnzb * R * C`` stored entries.
        """
        from .csr import csr_array

        R, C = self.blocksize
        M, N = self._shape
        xp = xp_of(self.indptr)
        counts = xp.repeat((self.indptr[1:] - self.indptr[:-1]) * C, R)
        indptr = _c.prefix_sum(counts)
        nnz = int(indptr[-1])
        idx = get_index_dtype(indptr, maxval=max(nnz, M, N))
        indptr = indptr.astype(idx, copy=False)
        indices = xp.empty(nnz, dtype=idx)
        data = xp.empty(nnz, dtype=self.dtype)
        with threads(work=nnz):
            kernels("convert", indptr).bsr_tocsr(R, C, self.indptr, self.indices, self._data, indptr, indices, data)
        return csr_array._from_arrays(data, indices, indptr, self._shape)

    def tocoo(self, copy: bool = False):
        """Return the array in COO format, every block entry stored.

        Parameters
        ----------
        copy : bool, default False
            Accepted for SciPy compatibility; the COO arrays are always newly
            allocated.

        Returns
        -------
        coo_array
            An array with ``nnz = nnzb * R * C`` stored entries (zeros inside
            the blocks kept as explicit zeros).
        """
        return self.tocsr().tocoo()

    def transpose(self, axes=None, copy: bool = False):
        """Return the transpose, a ``bsr_array`` with transposed blocks.

        Parameters
        ----------
        axes : None or (1, 0), optional
            Only the reversal of the two axes is supported, as in SciPy.
        copy : bool, default False
            Accepted for SciPy compatibility; the transpose is always built
            in new arrays.

        Returns
        -------
        bsr_array
            The ``(N, M)`` transpose, with blocksize ``(C, R)``.

        Raises
        ------
        ValueError
            If ``axes`` is not None or ``(1, 0)``.
        """
        if axes is not None and tuple(axes) != (1, 0):
            raise ValueError("axes must be None or (1, 0) for a 2-D sparse array")
        R, C = self.blocksize
        return bsr_array._from_csr(self.tocsr().transpose().tocsr(), (C, R))

    def to_scipy(self):
        """Return the equivalent ``scipy.sparse.bsr_array``.

        Returns
        -------
        scipy.sparse.bsr_array
            An array sharing this array's buffers (no copy).
        """
        self._require_cpu("to_scipy")
        import scipy.sparse as sp

        return sp.bsr_array((self._data, self.indices, self.indptr), shape=self._shape,
                            copy=False)

    def sum_duplicates(self) -> None:
        """Merge duplicate blocks and sort block indices, in place."""
        if self.has_canonical_format:
            return
        B = bsr_array._from_csr(self.tocsr(), self.blocksize)
        self._set(B.data, B.indices, B.indptr, B.shape)

    def sort_indices(self) -> None:
        """Sort blocks by block column within each block row, in place (no merging)."""
        if self.has_sorted_indices:
            return
        xp = xp_of(self.indptr)
        order = xp.lexsort(xp.stack([self.indices, _c.expand_indptr(self.indptr)]))
        self._set(self._data[order], self.indices[order], self.indptr, self._shape)

    def eliminate_zeros(self) -> None:
        """Remove blocks whose entries are all zero, in place."""
        R, C = self.blocksize
        xp = xp_of(self.indptr)
        keep = (self._data.reshape(self._data.shape[0], R * C) != 0).any(axis=1)
        if bool(keep.all()):
            return
        brow = _c.expand_indptr(self.indptr)[keep]
        counts = xp.bincount(brow, minlength=self.indptr.shape[0] - 1)
        indptr = _c.prefix_sum(counts, self.indptr.dtype)
        self._set(self._data[keep], self.indices[keep], indptr, self._shape)

