"""The base class of all sparse arrays: shape, dtype and the operators.

Operators and reductions delegate to ``sparsela.ops``; this module knows no
kernels. Semantics follow ``scipy.sparse`` *arrays* (``sparray``): ``*`` is
elementwise, ``@`` is the matrix product.
"""
from __future__ import annotations

import importlib
import sys

import numpy as np

from .._device import check_device, cupy, device_of, is_gpu_array, same_device
from .._sputils import check_dtype, isscalarlike

__all__ = ["SparseArray", "SparseEfficiencyWarning", "issparse"]


class SparseEfficiencyWarning(UserWarning):
    """An operation produced (close to) dense output; a dense array may serve better."""


_FORMAT_NAMES = {
    "csr": "Compressed Sparse Row",
    "csc": "Compressed Sparse Column",
    "coo": "COOrdinate",
    "bsr": "Block Sparse Row",
}


_OPS = None


def _ops():
    # ops imports the format classes, so formats reach ops at call time (once:
    # the import statements cost a microsecond per operator call)
    global _OPS
    if _OPS is None:
        from .. import ops
        from ..ops import elementwise, index, matmul, reduce  # noqa: F401

        _OPS = ops
    return _OPS


class SparseArray:
    """Base class of ``coo_array``, ``csr_array``, ``csc_array`` and ``bsr_array``.

    Not meant to be instantiated directly.
    """

    format: str = ""
    ndim = 2
    # numpy defers binary operators (``x @ A``, ``x * A``) to us
    __array_ufunc__ = None
    __array_priority__ = 10.1

    # -- basic attributes -------------------------------------------------
    @property
    def device(self) -> str:
        """Where the arrays live: ``'cpu'`` (NumPy) or ``'gpu'`` (CuPy)."""
        return device_of(self.data)

    @property
    def shape(self) -> tuple[int, int]:
        """The ``(M, N)`` shape, a tuple of two ints."""
        return self._shape

    @property
    def data(self) -> np.ndarray:
        """Stored values (``(nnzb, R, C)`` blocks for BSR)."""
        return self._data

    @data.setter
    def data(self, value):
        same_device("data", value, "the array", self._data)
        value = value if is_gpu_array(value) else np.asarray(value)
        if value.shape != self._data.shape:
            raise ValueError(f"data must have shape {self._data.shape}, got {value.shape}")
        self._data = value

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the stored values."""
        return self.data.dtype

    @property
    def nnz(self) -> int:
        """Number of stored entries, explicit zeros and duplicates included."""
        return int(self.data.shape[0])

    @property
    def size(self) -> int:
        """Number of stored entries (as ``scipy.sparse``; not ``m * n``)."""
        return self.nnz

    def __repr__(self) -> str:
        name = _FORMAT_NAMES.get(self.format, self.format)
        extra = ""
        if self.format == "bsr":
            extra = " (blocksize={}x{})".format(*self.blocksize)
        return (
            f"<{name} sparse array of dtype '{self.dtype}'\n"
            f"\twith {self.nnz} stored elements{extra} and shape {self.shape}>"
        )

    def __len__(self):
        raise TypeError("sparse array length is ambiguous; use shape[0] or nnz")

    def __bool__(self) -> bool:
        if self.shape == (1, 1):
            return self.nnz != 0 and bool(self.toarray()[0, 0])
        raise ValueError(
            "The truth value of an array with more than one element is ambiguous. "
            "Use a.any() or a.all()."
        )

    def __iter__(self):
        raise TypeError(
            f"iterating over a {self.format}_array is not supported; index rows with A[i]"
        )

    # -- conversions (subclasses implement tocsr and tocoo) ----------------
    def asformat(self, format: str | None, copy: bool = False):
        """Return this array in another sparse format.

        Parameters
        ----------
        format : {'csr', 'csc', 'coo', 'bsr'} or None
            Target format; ``None`` means this array's own format.
        copy : bool, default False
            When no conversion is needed, return a copy instead of ``self``.
            A conversion always builds a new array object, which may share
            buffers with this one (CSR to COO shares ``data``, for example).

        Returns
        -------
        SparseArray
            The array in ``format``; ``self`` when the format already matches
            and ``copy`` is False.

        Raises
        ------
        ValueError
            If ``format`` is not one of the four names.
        """
        if format is None or format == self.format:
            return self.copy() if copy else self
        if format not in _FORMAT_NAMES:
            raise ValueError(f"format must be one of 'csr', 'csc', 'coo', 'bsr', got {format!r}")
        return getattr(self, "to" + format)()

    def tocsc(self, copy: bool = False):
        """Return the array in CSC format.

        Parameters
        ----------
        copy : bool, default False
            For a ``csc_array``, return a copy instead of ``self``. A
            conversion from another format always builds new arrays.

        Returns
        -------
        csc_array
            The same array in Compressed Sparse Column format.
        """
        return self.tocsr().tocsc()

    def tobsr(self, blocksize=None, copy: bool = False):
        """Return the array in BSR format.

        Parameters
        ----------
        blocksize : (int, int), optional
            Block shape ``(R, C)``; it must divide the array's shape. By
            default a ``bsr_array`` keeps its own blocks and other formats
            get ``(1, 1)`` blocks.
        copy : bool, default False
            For a ``bsr_array`` whose blocksize already matches, return a copy
            instead of ``self``. A conversion always builds new arrays.

        Returns
        -------
        bsr_array
            The same array in Block Sparse Row format; every block that holds
            a stored entry is stored whole.

        Raises
        ------
        TypeError
            If ``blocksize`` is not a pair of integers.
        ValueError
            If ``blocksize`` is not positive or does not divide the shape.
        """
        return self.tocsr().tobsr(blocksize=blocksize)

    def toarray(self, order: str | None = None, out=None) -> np.ndarray:
        """Return a dense ``numpy.ndarray`` of this array (duplicates summed).

        Parameters
        ----------
        order : {'C', 'F'}, optional
            Memory layout of the result; C (row-major) by default.
        out : ndarray, optional
            Array of this shape to write the result into (it is zeroed
            first); it must have a dtype the values can be cast to.

        Returns
        -------
        ndarray
            The dense array, of this array's shape and dtype (``out`` when
            given).

        Raises
        ------
        ValueError
            If ``out`` does not have this array's shape.
        """
        return self.tocsr().toarray(order=order, out=out)

    def todense(self, order: str | None = None, out=None) -> np.ndarray:
        """Return a dense ``numpy.ndarray``, the same as :meth:`toarray`.

        Sparse arrays densify to ``ndarray``, not ``numpy.matrix``, as
        ``scipy.sparse`` arrays do.

        Parameters
        ----------
        order : {'C', 'F'}, optional
            Memory layout of the result; C (row-major) by default.
        out : ndarray, optional
            Array of this shape to write the result into.

        Returns
        -------
        ndarray
            The dense array (``out`` when given).
        """
        return self.toarray(order=order, out=out)

    def to_device(self, device: str):
        """Return the array on ``device``; moves between devices are always explicit.

        Parameters
        ----------
        device : {'cpu', 'gpu'}
            ``'cpu'`` (alias ``'numpy'``) or ``'gpu'`` (aliases ``'cuda'``,
            ``'cupy'``; needs CuPy and a CUDA device).

        Returns
        -------
        SparseArray
            ``self`` when it is on ``device`` already; otherwise a new array
            of the same format whose index and value arrays were copied to
            ``device`` (one transfer per array, no conversion).

        Raises
        ------
        ValueError
            If ``device`` is not a known name.
        ImportError
            If ``device`` is ``'gpu'`` and CuPy is not installed.
        RuntimeError
            If ``device`` is ``'gpu'`` and no CUDA device is usable.
        """
        device = check_device(device)
        if device == self.device:
            return self
        if device == "gpu":
            xp = cupy()
            move = xp.asarray
        else:
            def move(a):
                return a.get()
        new = self.__class__.__new__(self.__class__)
        new.__dict__.update({k: move(v) if _is_buffer(v) else v
                             for k, v in self.__dict__.items()})
        return new

    def get(self):
        """Return the array on the CPU (as ``cupy.ndarray.get``).

        Returns
        -------
        SparseArray
            ``self`` for an array on the CPU, else a copy on the CPU.
        """
        return self.to_device("cpu")

    def _require_cpu(self, what: str) -> None:
        """TypeError when this array is on the GPU (``what`` needs host buffers)."""
        if self.device != "cpu":
            raise TypeError(f"{what} needs an array on the CPU, but this one is on the GPU; "
                            f"move it explicitly with .get() (or use to_cupyx())")

    def to_cupyx(self):
        """Return the equivalent ``cupyx.scipy.sparse`` matrix of an array on the GPU.

        Returns
        -------
        cupyx.scipy.sparse.spmatrix
            A ``csr_matrix``, ``csc_matrix`` or ``coo_matrix`` sharing this
            array's buffers (no copy; cupyx takes int32 indices, so int64
            ones are cast).

        Raises
        ------
        TypeError
            If the array is on the CPU (use :meth:`to_device` first) or is a
            ``bsr_array``.
        RuntimeError
            On the simulated device (there is no cupyx there).
        """
        if self.device != "gpu":
            raise TypeError("to_cupyx needs an array on the GPU; this one is on the CPU "
                            "(move it with .to_device('gpu'), or use to_scipy())")
        from .._device import simulated

        if simulated():
            raise RuntimeError("cupyx.scipy.sparse is not available on the simulated device")
        import cupyx.scipy.sparse as csp

        if self.format == "coo":
            return csp.coo_matrix((self.data, (self.row, self.col)), shape=self.shape)
        if self.format not in ("csr", "csc"):
            raise TypeError(f"cupyx has no {self.format} format; convert with tocsr() first")
        cls = csp.csr_matrix if self.format == "csr" else csp.csc_matrix
        return cls((self.data, self.indices.astype("int32", copy=False),
                    self.indptr.astype("int32", copy=False)), shape=self.shape, copy=False)

    def _deduped(self):
        """Self when canonical, else a canonical copy (self is left as it is).

        Nonlinear maps of the values (abs, power, casts) must see each entry
        once, as SciPy's do.
        """
        if self.has_canonical_format:
            return self
        A = self.copy()
        A.sum_duplicates()
        return A

    def _map_values(self, fn, copy: bool = True):
        """New array with ``fn(values)`` on the canonical entries."""
        A = self._deduped()
        return A._with_data(fn(A.data), copy=copy and A is self)

    def _bool_deduped(self):
        """Self, or a canonical copy when bool duplicates would count twice.

        A duplicated ``True`` is one ``True`` in ``toarray()``; linear kernels
        (sums, products) would count it twice, so they get canonical input.
        """
        return self._deduped() if self.dtype == np.bool_ else self

    def astype(self, dtype, casting: str = "unsafe", copy: bool = True):
        """Cast the values to ``dtype``.

        Duplicate entries are summed first (a cast must see each entry once).

        Parameters
        ----------
        dtype : dtype
            Target value dtype: bool, an integer, float32/float64 or
            complex64/complex128.
        casting : {'no', 'equiv', 'safe', 'same_kind', 'unsafe'}, default 'unsafe'
            Casting rule, as in :meth:`numpy.ndarray.astype`.
        copy : bool, default True
            If False, return ``self`` when it already has ``dtype``, and let
            the result share the index arrays with this array otherwise.

        Returns
        -------
        SparseArray
            An array of the same format with values of ``dtype``.

        Raises
        ------
        TypeError
            If ``dtype`` is not a supported value dtype, or ``casting``
            forbids the cast.
        """
        dt = check_dtype(dtype)
        if dt == self.dtype and not copy:
            return self
        # checked here, on the dtypes: CuPy's astype takes no casting rule
        if not np.can_cast(self.dtype, dt, casting=casting):
            raise TypeError(f"astype: cannot cast the values from {self.dtype} to {dt} "
                            f"under the rule casting={casting!r}")
        return self._map_values(lambda d: d.astype(dt, copy=True), copy=copy)

    def copy(self):
        """Return a deep copy (values and indices).

        Returns
        -------
        SparseArray
            An array of the same format sharing no buffer with this one.
        """
        return self._with_data(self.data.copy(), copy=True)

    def conjugate(self, copy: bool = True):
        """Elementwise complex conjugate.

        Parameters
        ----------
        copy : bool, default True
            If False, the result may share the index arrays with this array,
            and a real array is returned as ``self``.

        Returns
        -------
        SparseArray
            An array of the same format and structure with conjugated values
            (the values themselves for real dtypes).
        """
        if self.dtype.kind == "c":
            return self._with_data(self.data.conjugate(), copy=copy)
        return self.copy() if copy else self

    conj = conjugate

    @property
    def T(self):
        """The transpose, as :meth:`transpose` (CSR and CSC share buffers)."""
        return self.transpose()

    @property
    def mT(self):
        """The matrix transpose; the same as :attr:`T` for 2-D arrays."""
        return self.transpose()

    @property
    def H(self):
        """The conjugate transpose."""
        return self.transpose().conjugate(copy=False)

    # -- elementwise on stored values ----------------------------------------
    def __abs__(self):
        return self._map_values(np.abs)

    def __neg__(self):
        if self.dtype == np.bool_:
            raise TypeError("negating a bool sparse array is not supported; use ~ or logical ops")
        return self._with_data(-self.data)

    def __pos__(self):
        return self.copy()

    def power(self, n, dtype=None):
        """Elementwise power of the stored values.

        Implicit zeros stay zero; duplicate entries are summed first.

        Parameters
        ----------
        n : scalar
            The exponent; it must be nonzero with a positive real part, as
            other exponents would turn the implicit zeros into ones or
            infinities.
        dtype : dtype, optional
            Cast the values to this dtype before taking the power.

        Returns
        -------
        SparseArray
            An array of the same format and structure holding ``value ** n``.

        Raises
        ------
        TypeError
            If ``n`` is not a scalar.
        ValueError
            If ``n`` is zero or has a negative real part.
        """
        if not isscalarlike(n):
            raise TypeError(f"n must be a scalar exponent, got {type(n).__name__}")
        if n == 0:
            raise ValueError("n = 0 would make every implicit zero 1 (a dense result); "
                             "use np.ones(A.shape) explicitly")
        if np.real(n) < 0:
            raise ValueError(f"n = {n} would divide by the implicit zeros; n must be positive")
        dt = None if dtype is None else check_dtype(dtype)
        return self._map_values(lambda d: (d if dt is None else d.astype(dt)) ** n)

    # -- arithmetic ---------------------------------------------------------
    def __add__(self, other):
        return _ops().elementwise.add_any(self, other, 1, 1)

    def __radd__(self, other):
        return _ops().elementwise.add_any(self, other, 1, 1)

    def __sub__(self, other):
        return _ops().elementwise.add_any(self, other, 1, -1)

    def __rsub__(self, other):
        return _ops().elementwise.add_any(self, other, -1, 1)

    def __mul__(self, other):
        return self.multiply(other)

    def __rmul__(self, other):
        return self.multiply(other)

    def multiply(self, other):
        """Elementwise product with a scalar, a sparse array or a dense array.

        The result is sparse: its pattern is contained in this array's.

        Parameters
        ----------
        other : scalar, sparse array or array_like
            A scalar; a sparsela or ``scipy.sparse`` array of the same shape;
            or a dense array that broadcasts to this array's shape (a row or
            column vector, for example), read without being densified.

        Returns
        -------
        SparseArray
            For a scalar, an array of this format with the values scaled. For
            a sparse ``other``, a canonical ``csr_array`` (``csc_array`` when
            both are CSC) without the products that are zero. For a dense
            ``other``, a ``csr_array`` with this array's structure.

        Raises
        ------
        ValueError
            If the shapes do not match or ``other`` would broadcast this array
            to a larger shape.
        TypeError
            If a dense ``other`` is not numeric.
        """
        return _ops().elementwise.multiply(self, other)

    def __truediv__(self, other):
        if isscalarlike(other):
            return _ops().elementwise.divide_scalar(self, other)
        raise TypeError(
            "sparse arrays divide by scalars only: A / x with x an array would divide the "
            "implicit zeros too; use A.multiply(1 / x) for the stored entries"
        )

    def __rtruediv__(self, other):
        raise TypeError("dividing by a sparse array would divide by its implicit zeros")

    def maximum(self, other):
        """Elementwise maximum with a sparse array or a scalar.

        Parameters
        ----------
        other : sparse array or scalar
            A sparsela or ``scipy.sparse`` array of the same shape, or a
            real scalar.

        Returns
        -------
        csr_array or csc_array
            Canonical, without zero entries; CSC only when both operands are
            CSC. A positive scalar makes every entry nonzero: the result then
            stores all entries and a :class:`SparseEfficiencyWarning` is
            emitted.

        Raises
        ------
        TypeError
            For complex values or a dense ``other``.
        ValueError
            If the shapes do not match.
        """
        return _ops().elementwise.extremum(self, other, "maximum")

    def minimum(self, other):
        """Elementwise minimum with a sparse array or a scalar.

        Parameters
        ----------
        other : sparse array or scalar
            A sparsela or ``scipy.sparse`` array of the same shape, or a
            real scalar.

        Returns
        -------
        csr_array or csc_array
            Canonical, without zero entries; CSC only when both operands are
            CSC. A negative scalar makes every entry nonzero: the result then
            stores all entries and a :class:`SparseEfficiencyWarning` is
            emitted.

        Raises
        ------
        TypeError
            For complex values or a dense ``other``.
        ValueError
            If the shapes do not match.
        """
        return _ops().elementwise.extremum(self, other, "minimum")

    # -- comparisons --------------------------------------------------------
    def __eq__(self, other):
        return _ops().elementwise.compare(self, other, "eq")

    def __ne__(self, other):
        return _ops().elementwise.compare(self, other, "ne")

    def __lt__(self, other):
        return _ops().elementwise.compare(self, other, "lt")

    def __gt__(self, other):
        return _ops().elementwise.compare(self, other, "gt")

    def __le__(self, other):
        return _ops().elementwise.compare(self, other, "le")

    def __ge__(self, other):
        return _ops().elementwise.compare(self, other, "ge")

    __hash__ = None

    # -- products -----------------------------------------------------------
    def __matmul__(self, other):
        return _ops().matmul.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops().matmul.rmatmul(self, other)

    def dot(self, other):
        """Matrix product ``self @ other``; a scalar multiplies elementwise.

        Parameters
        ----------
        other : scalar, sparse array or array_like
            A scalar, a sparse array (sparsela or ``scipy.sparse``) or a dense
            1-D or 2-D array whose first dimension is this array's number of
            columns.

        Returns
        -------
        SparseArray or ndarray
            Sparse for a scalar or sparse ``other`` (see :func:`spgemm`), a
            dense ndarray for dense ``other`` (see :func:`spmv`,
            :func:`spmm`).
        """
        if isscalarlike(other):
            return self.multiply(other)
        return self @ other

    # -- reductions -----------------------------------------------------------
    def sum(self, axis=None, dtype=None, out=None, keepdims: bool = False):
        """Sum of the entries, as NumPy's ``sum`` on the dense array.

        ``np.sum(A, axis=..., keepdims=...)`` calls this method.

        Parameters
        ----------
        axis : None, int or tuple of ints, optional
            ``None`` (or ``(0, 1)``) over all entries, 0 (or ``(0,)``) down
            the columns, 1 (or ``(1,)``) along the rows; negative axes count
            from the end.
        dtype : dtype, optional
            Accumulator and result dtype; by default the one NumPy's ``sum``
            gives for this array's dtype (bool and small integers accumulate
            in the default integer).
        out : ndarray, optional
            Array of the result's shape to write the result into.
        keepdims : bool, default False
            Keep the reduced axes with length 1, as NumPy does (the result
            is then a 2-D ndarray).

        Returns
        -------
        scalar or ndarray
            A NumPy scalar when all entries are summed, a 1-D ndarray
            otherwise (length ``shape[1]`` for ``axis=0``, ``shape[0]`` for
            ``axis=1``); 2-D with ``keepdims``; ``out`` when given.

        Raises
        ------
        TypeError
            If ``axis`` is not an integer, a tuple of integers or None, or
            ``out`` is not an ndarray.
        ValueError
            If ``axis`` is out of bounds or repeated, or ``out`` has the
            wrong shape.
        """
        return _ops().reduce.sum(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, out=None, keepdims: bool = False):
        """Mean of the entries, implicit zeros included, as NumPy on the dense array.

        Parameters
        ----------
        axis : None, int or tuple of ints, optional
            ``None`` (or ``(0, 1)``) over all entries, 0 (or ``(0,)``) down
            the columns, 1 (or ``(1,)``) along the rows; negative axes count
            from the end.
        dtype : dtype, optional
            Dtype of the computation and result; by default NumPy's (float64
            for integer and bool values).
        out : ndarray, optional
            Array of the result's shape to write the result into.
        keepdims : bool, default False
            Keep the reduced axes with length 1, as NumPy does (the result
            is then a 2-D ndarray).

        Returns
        -------
        scalar or ndarray
            A NumPy scalar when all entries are averaged, a 1-D ndarray
            otherwise (2-D with ``keepdims``); ``out`` when given. NaN for an
            empty axis.
        """
        return _ops().reduce.mean(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def max(self, axis=None, out=None, keepdims: bool = False, *, explicit: bool = False):
        """Maximum of the entries, implicit zeros included unless ``explicit``.

        Parameters
        ----------
        axis : None, int or tuple of ints, optional
            ``None`` (or ``(0, 1)``) over all entries, 0 (or ``(0,)``) down
            the columns, 1 (or ``(1,)``) along the rows; negative axes count
            from the end.
        out : ndarray, optional
            Array of the result's shape to write the result into.
        keepdims : bool, default False
            Keep the reduced axes with length 1, as NumPy does (the result
            is then a 2-D ndarray).
        explicit : bool, default False
            Only the stored values count (an empty row or column gives 0).

        Returns
        -------
        scalar or ndarray
            A NumPy scalar when all entries are reduced, a 1-D ndarray
            otherwise (2-D with ``keepdims``); ``out`` when given.

        Raises
        ------
        TypeError
            For complex values (they are not ordered).
        ValueError
            If the reduced axis (or the whole array) has size zero.
        """
        return _ops().reduce.extreme(self, axis, True, explicit, out, keepdims)

    def min(self, axis=None, out=None, keepdims: bool = False, *, explicit: bool = False):
        """Minimum of the entries, implicit zeros included unless ``explicit``.

        Parameters
        ----------
        axis : None, int or tuple of ints, optional
            ``None`` (or ``(0, 1)``) over all entries, 0 (or ``(0,)``) down
            the columns, 1 (or ``(1,)``) along the rows; negative axes count
            from the end.
        out : ndarray, optional
            Array of the result's shape to write the result into.
        keepdims : bool, default False
            Keep the reduced axes with length 1, as NumPy does (the result
            is then a 2-D ndarray).
        explicit : bool, default False
            Only the stored values count (an empty row or column gives 0).

        Returns
        -------
        scalar or ndarray
            A NumPy scalar when all entries are reduced, a 1-D ndarray
            otherwise (2-D with ``keepdims``); ``out`` when given.

        Raises
        ------
        TypeError
            For complex values (they are not ordered).
        ValueError
            If the reduced axis (or the whole array) has size zero.
        """
        return _ops().reduce.extreme(self, axis, False, explicit, out, keepdims)

    def count_nonzero(self, axis=None, *, keepdims: bool = False):
        """Number of nonzero entries, after summing duplicates.

        Explicit zeros (and duplicates summing to zero) are not counted. The
        signature is :func:`numpy.count_nonzero`'s (no ``out``).

        Parameters
        ----------
        axis : None, int or tuple of ints, optional
            ``None`` (or ``(0, 1)``) counts over the whole array, 0 (or
            ``(0,)``) per column, 1 (or ``(1,)``) per row.
        keepdims : bool, default False
            Keep the reduced axes with length 1, as NumPy does (the result
            is then a 2-D ndarray).

        Returns
        -------
        int or ndarray
            An int when the whole array is counted, a 1-D integer ndarray
            otherwise (2-D with ``keepdims``).
        """
        return _ops().reduce.count_nonzero(self, axis=axis, keepdims=keepdims)

    def diagonal(self, k: int = 0) -> np.ndarray:
        """Return the ``k``-th diagonal as a dense 1-D array.

        Parameters
        ----------
        k : int, default 0
            Diagonal offset: 0 the main diagonal, ``k > 0`` above it,
            ``k < 0`` below it.

        Returns
        -------
        ndarray
            The diagonal entries (duplicates summed), in this array's dtype;
            empty when the diagonal lies outside the array.

        Raises
        ------
        TypeError
            If ``k`` is not an integer.
        """
        return _ops().reduce.diagonal(self, k)

    def trace(self, offset: int = 0):
        """Sum of the entries on a diagonal.

        Parameters
        ----------
        offset : int, default 0
            Diagonal offset, as ``k`` in :meth:`diagonal`.

        Returns
        -------
        scalar
            The sum, a NumPy scalar (0 when the diagonal lies outside the
            array).
        """
        return self.diagonal(offset).sum()

    # -- indexing -------------------------------------------------------------
    def __getitem__(self, key):
        """``A[key]``: rows, columns, 2-D selections and entries.

        See :func:`sparsela.ops.index.getitem`: ``key`` is a row key or a
        pair ``(rows, cols)`` of ints, slices (any step), integer arrays or
        boolean masks (at most one array), with ``...`` for full axes. The
        result keeps the format (BSR gives CSR) and is 2-D (an integer keeps
        its axis with length 1); ``A[i, j]`` is a scalar. Stored duplicates
        are kept, not summed.
        """
        return _ops().index.getitem(self, key)

    # -- pickling ---------------------------------------------------------------
    def __copy__(self):
        # a shallow copy shares the buffers exactly as they are (read-only or
        # unaligned ones included); only unpickling replaces them
        new = self.__class__.__new__(self.__class__)
        new.__dict__.update(self.__dict__)
        return new

    def __setstate__(self, state):
        """Restore a pickled array, copying buffers that arrive unaligned or read-only.

        Arrays that ``pickle`` rebuilds from out-of-band buffers (protocol 5,
        as Dask's ``distributed`` sends them) may start at any byte or be
        read-only. Numba compiles every kernel again for such arrays (they
        are another type to it), and NumPy's unaligned loops sum in another
        order than the aligned ones (results differ in the last bits). An
        unpickled array owns its buffers, so such buffers are replaced by
        aligned, writeable copies here; aligned, writeable ones are used as
        they are (no copy). Arrays built by a user from read-only buffers
        (``csr_array((data, indices, indptr))``) keep them: only unpickling
        copies.

        Parameters
        ----------
        state : dict
            The pickled attributes (``__dict__``).
        """
        if isinstance(state, tuple) and len(state) == 2:  # (dict, slots) form
            state = state[0] or {}
        self.__dict__.update({k: _owned(v) for k, v in state.items()})
        _register_with_dask()


def _register_with_dask() -> None:
    """Register sparsela arrays with Dask in a process that runs Dask (once).

    Dask keeps its dispatch tables (how to concatenate, tensordot or take
    chunks) per process. A Dask worker that receives a sparsela chunk needs
    sparsela's entries in its own tables before it joins chunks, and nothing
    else of sparsela runs there first when the graph was built with plain
    ``dask.array.from_array``. Unpickling is the step every such process goes
    through, so it imports :mod:`sparsela.dask` (whose import registers the
    chunk type; nothing is patched) when Dask is loaded and sparsela.dask is
    not. Afterwards this is two dictionary lookups.
    """
    if "dask" in sys.modules and "sparsela.dask" not in sys.modules:
        importlib.import_module("sparsela.dask")


def _is_buffer(value) -> bool:
    """An index or value array of a format (NumPy or device array)."""
    return isinstance(value, np.ndarray) or is_gpu_array(value)


def _owned(value):
    """``value``, or an aligned, writeable copy of an ndarray that is neither."""
    if isinstance(value, np.ndarray) and not (value.flags.aligned and value.flags.writeable):
        return np.array(value, copy=True, order="K")
    return value


def issparse(x) -> bool:
    """Return whether ``x`` is a sparsela sparse array.

    Parameters
    ----------
    x : object
        Any object.

    Returns
    -------
    bool
        True for an instance of a sparsela format (``csr_array``,
        ``csc_array``, ``coo_array``, ``bsr_array``); False otherwise,
        ``scipy.sparse`` arrays included.
    """
    return isinstance(x, SparseArray)
