"""A simulated GPU for testing the GPU code path on machines without one.

Active when ``SPARSELA_GPU_SIMULATOR=1`` (with ``NUMBA_ENABLE_CUDASIM=1``, so
the ``numba.cuda`` kernels run in Numba's simulator). :class:`DeviceArray`
stands in for ``cupy.ndarray`` and :data:`xp` for the ``cupy`` module. They
keep the rules CuPy enforces, so host/device mix-ups fail here as they
would on a GPU:

- ``np.asarray(device_array)`` raises ``TypeError`` (use ``.get()``);
- NumPy arrays cannot be mixed with device arrays in arithmetic, ufuncs,
  NumPy functions or item assignment (CuPy raises ``TypeError``);
- reductions and scalar indexing give 0-d device arrays, not scalars;
- ``xp.asarray``/``xp.array`` (host -> device) and ``.get()``
  (device -> host) are the only moves.

This is a test double, not a backend: everything runs on NumPy.
"""
from __future__ import annotations

import operator

import numpy as np

__all__ = ["DeviceArray", "xp"]


def _implicit():
    return TypeError("Implicit conversion to a NumPy array is not allowed. "
                     "Please use `.get()` to construct a NumPy array explicitly.")


def _unwrap(obj, allow_host: bool = False):
    """NumPy buffers of device arrays in ``obj`` (nested lists/tuples/dicts)."""
    if isinstance(obj, DeviceArray):
        return obj._a
    if isinstance(obj, np.ndarray) and obj.ndim > 0 and not allow_host:
        raise TypeError(f"Unsupported type {type(obj)}: a NumPy array cannot be mixed "
                        "with device arrays (move it explicitly with xp.asarray)")
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(o, allow_host) for o in obj)
    if isinstance(obj, dict):
        return {k: _unwrap(v, allow_host) for k, v in obj.items()}
    return obj


def _wrap(obj):
    """Device arrays for the arrays and NumPy scalars in ``obj`` (as CuPy returns)."""
    if isinstance(obj, np.ndarray):
        return DeviceArray(obj)
    if isinstance(obj, np.generic):
        return DeviceArray(np.asarray(obj))
    if isinstance(obj, tuple):
        return tuple(_wrap(o) for o in obj)
    if isinstance(obj, list):
        return [_wrap(o) for o in obj]
    return obj


def _call(fn, args, kwargs, allow_host=False):
    return _wrap(fn(*_unwrap(args, allow_host), **_unwrap(kwargs, allow_host)))


class DeviceArray:
    """A NumPy buffer posing as a ``cupy.ndarray`` on the simulated device."""

    __slots__ = ("_a",)
    _sparsela_simulated_device = True
    __array_priority__ = 100

    def __init__(self, a: np.ndarray):
        self._a = a

    def _sparsela_host_buffer(self) -> np.ndarray:
        """The buffer a simulated kernel launch works on (shared, not copied)."""
        return self._a

    # -- explicit moves, and the refusal of implicit ones -------------------
    def get(self, stream=None, order="C", out=None) -> np.ndarray:
        return self._a.copy()

    def __array__(self, dtype=None, copy=None):
        raise _implicit()

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _call(getattr(ufunc, method), inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _call(func, args, kwargs)

    # -- attributes ----------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: DeviceArray(self._a.T))
    real = property(lambda self: DeviceArray(self._a.real))
    imag = property(lambda self: DeviceArray(self._a.imag))
    device = property(lambda self: "simulated-gpu")

    def __getattr__(self, name):
        if name.startswith("__"):
            # no __array_interface__ / __array_struct__ through the buffer:
            # NumPy would use them to convert silently
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if callable(attr):
            return lambda *args, **kwargs: _call(attr, args, kwargs)
        return _wrap(attr)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (DeviceArray(np.asarray(v)) for v in self._a)

    def __repr__(self):
        return f"DeviceArray({self._a!r})"

    def __getitem__(self, key):
        # CuPy accepts host integer/bool arrays as indices (it copies them)
        return _wrap(self._a[_unwrap(key, allow_host=True)])

    def __setitem__(self, key, value):
        self._a[_unwrap(key, allow_host=True)] = _unwrap(value)

    # scalars out of 0-d arrays: CuPy synchronises and allows these
    def __int__(self):
        return int(self._a)

    def __float__(self):
        return float(self._a)

    def __complex__(self):
        return complex(self._a)

    def __bool__(self):
        return bool(self._a)

    # no __index__: CuPy arrays cannot be used as Python indices (range(a[-1]))


def _binary(op, reflected=False):
    def method(self, other):
        if not isinstance(other, (DeviceArray, np.ndarray, np.generic, int, float, complex,
                                  bool)):
            return NotImplemented  # let the other operand's reflected method decide
        other = _unwrap(other)
        return _wrap(op(other, self._a) if reflected else op(self._a, other))
    return method


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or",
              "xor", "lshift", "rshift", "matmul"):
    _op = getattr(operator, _name if _name not in ("and", "or") else _name + "_")
    setattr(DeviceArray, f"__{_name}__", _binary(_op))
    setattr(DeviceArray, f"__r{_name}__", _binary(_op, reflected=True))
for _name in ("lt", "le", "eq", "ne", "gt", "ge"):
    setattr(DeviceArray, f"__{_name}__", _binary(getattr(operator, _name)))


def _inplace(op):
    # CuPy's ``x += y`` writes into x's buffer (views and aliases see it);
    # without these Python would fall back to ``x = x + y`` and rebind
    def method(self, other):
        if not isinstance(other, (DeviceArray, np.ndarray, np.generic, int, float, complex,
                                  bool)):
            return NotImplemented
        op(self._a, _unwrap(other))
        return self
    return method


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or",
              "xor", "lshift", "rshift"):
    _op = getattr(operator, f"i{_name}")
    setattr(DeviceArray, f"__i{_name}__", _inplace(_op))


def _unary(op):
    def method(self):
        return _wrap(op(self._a))
    return method


for _name in ("neg", "pos", "abs", "invert"):
    setattr(DeviceArray, f"__{_name}__", _unary(getattr(operator, _name)))
DeviceArray.__hash__ = None


class _Namespace:
    """The ``cupy`` module of the simulated device: NumPy, returning device arrays."""

    ndarray = DeviceArray

    @staticmethod
    def asarray(a, dtype=None, order=None):
        """Host (or device) data -> a device array: the explicit move."""
        if isinstance(a, DeviceArray):
            return a if dtype is None else DeviceArray(a._a.astype(dtype, copy=False))
        return DeviceArray(np.array(a, dtype=dtype, order=order or "K", copy=True))

    array = asarray

    @staticmethod
    def asnumpy(a):
        return a.get() if isinstance(a, DeviceArray) else np.asarray(a)

    def __getattr__(self, name):
        attr = getattr(np, name)
        if isinstance(attr, type) or not callable(attr):
            return attr  # dtypes, constants, np.dtype itself
        if name in ("result_type", "promote_types", "can_cast", "iinfo", "finfo",
                    "dtype", "isscalar", "ndim", "shape"):
            return attr
        if isinstance(attr, np.ufunc):
            return _UFunc(attr)
        return lambda *args, **kwargs: _call(attr, args, kwargs)


class _UFunc:
    __slots__ = ("_u",)

    def __init__(self, u):
        self._u = u

    def __call__(self, *args, **kwargs):
        return _call(self._u, args, kwargs)

    def __getattr__(self, name):
        attr = getattr(self._u, name)
        if callable(attr):
            return lambda *args, **kwargs: _call(attr, args, kwargs)
        return attr


#: Stand-in for the ``cupy`` module.
xp = _Namespace()
