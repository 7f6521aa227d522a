"""Sparse coding with ISTA/FISTA: :func:`sparse_encode` and :class:`SparseCoder`.

Each signal ``x`` (a row of ``X``) is coded against a dictionary ``D``
(``n_components x n_features``) by the Lasso::

    min_z  0.5 ||x - z D||^2 + alpha ||z||_1          (z >= 0 if positive)

which is scikit-learn's ``sparse_encode(..., algorithm="lasso_cd", alpha=alpha)``
objective (there, ``0.5 / n_features ||x - D^T z||^2 + alpha / n_features
||z||_1``, the same problem scaled by ``1 / n_features``), so the codes agree.

The problem only enters through ``C = X D^T``, the Gram matrix ``G = D D^T``
and the squared norms ``||x||^2``: ``X`` is touched once, by one product
(a sparsela SpMM when ``X`` is sparse; it is never densified). A signal stops
when its Lasso duality gap is at most ``tol * ||x||^2``; the step is ``1/L``
with ``L`` from 20 Lanczos steps (on ``G``, or on ``D^T D`` when that is cheaper)
widened by 1% and capped by Gershgorin's bound; the momentum restarts when a
step is non-monotone. Two engines run the same method:

* on the CPU, a Numba kernel (``sparsela.backends.cpu.sparse_coding``) runs
  FISTA signal by signal, in parallel, each signal's state in cache, on
  working sets of atoms with support polishing (see that module). This is
  what makes it several times faster than scikit-learn's coordinate descent:
  a batch iteration over all signals streams the whole ``n x k`` state
  through memory every step;
* the batch engine: FISTA on all signals at once with array operations only,
  one product ``Y @ G`` per iteration (a sparsela SpMM while the iterates are
  sparse), finished signals dropped from the batch -- the path used when the
  Numba kernel is not available; it needs nothing but array operations.

GPU input (a CuPy array or a sparsela array on the GPU, with the dictionary
a CuPy array) always runs the batch engine, written with the array module of
the input (``namespace_of``): one GEMM per iteration on the device and one
device->host sync (the stopping test) per iteration. The Numba kernel reads
host memory and never sees device arrays. The learned fast approximator
trains and predicts on the device of its training data too (see below).

The learned fast approximator (Kavukcuoglu, Ranzato & LeCun, "Fast inference
in sparse coding algorithms with applications to object recognition", 2008:
predictive sparse decomposition) fits ``z ~ g * tanh(W x + b)`` to the exact
codes: ``W, b, g`` start from the least-squares linear map (each component's
tanh range and gain chosen to fit), then minibatch Adam on the squared error,
keeping the best epoch. ``transform(X, fast=True)`` then codes in one product.
On the GPU the same steps run with the array module of ``X``: the start
point, the Adam state, the minibatch products and the tanh layer live on the
device; the minibatch order is drawn on the host with the estimator's
``random_state`` (the same order as on the CPU) and moved once per epoch;
the loss costs one device->host sync per epoch.
"""
from __future__ import annotations

import contextlib
import numbers
import warnings

import numpy as np
from scipy import linalg
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils import check_array as sk_check_array
from sklearn.utils import check_random_state

from .._device import device_of, namespace_of, same_device
from ..formats import SparseArray, csr_array
from ..utils import check_array, progress, validate_data

__all__ = ["SparseCoder", "sparse_encode"]

_ALGORITHMS = ("fista", "ista")
#: iterates sparser than this go through a sparsela SpMM in the batch engine
_BATCH_SPARSE_DENSITY = 0.1


# --------------------------------------------------------------------------- #
# validation helpers
# --------------------------------------------------------------------------- #
def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _check_int(name, v, low):
    if not (_is_int(v) and v >= low):
        raise ValueError(f"{name} must be an int >= {low}, got {v!r}.")
    return int(v)


def _check_nonneg(name, v, *, allow_none=False, positive=False):
    if v is None and allow_none:
        return None
    ok = _is_real(v) and np.isfinite(v) and (v > 0 if positive else v >= 0)
    if not ok:
        what = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a finite float {what}, got {v!r}.")
    return float(v)


def _check_bool(name, v):
    if not isinstance(v, (bool, np.bool_)):
        raise ValueError(f"{name} must be a bool, got {v!r}.")  # noqa: TRY004 (as sklearn)
    return bool(v)


def _check_algorithm(name, v):
    if v not in _ALGORITHMS:
        raise ValueError(f"{name} must be one of {_ALGORITHMS}, got {v!r}.")
    return v


def _check_dictionary(dictionary, name="dictionary") -> np.ndarray:
    """A dense float dictionary of shape (n_components, n_features), on its
    own device (a CuPy dictionary is validated on the GPU)."""
    if isinstance(dictionary, SparseArray) or hasattr(dictionary, "tocsr"):
        raise TypeError(f"{name} must be a dense array; call .toarray() on a sparse one.")
    if namespace_of(dictionary) is not np:
        return check_array(dictionary, input_name=name, accept_sparse=False,
                           accept_gpu=True)
    return sk_check_array(dictionary, dtype=[np.float64, np.float32],
                          input_name=name)






def _errstate(xp):
    """NumPy's errstate on the CPU (CuPy has none and does not warn)."""
    return np.errstate(divide="ignore", invalid="ignore") if xp is np else \
        contextlib.nullcontext()


# --------------------------------------------------------------------------- #
# the problem: C = X D^T, G = D D^T, ||x||^2, L
# --------------------------------------------------------------------------- #
def _row_sq_norms(X) -> np.ndarray:
    """``||x_i||^2`` for every row, in float64 (sparse ``X`` stays sparse)."""
    xp = namespace_of(X)
    if isinstance(X, SparseArray):
        Xd = X.astype(np.float64, copy=False)
        return xp.asarray(Xd.power(2).sum(axis=1), dtype=xp.float64).ravel()
    X = xp.asarray(X, dtype=xp.float64)
    return xp.einsum("ij,ij->i", X, X)


def _cross(X, D: np.ndarray) -> np.ndarray:
    """``X @ D.T`` as a C-ordered float64 array (a sparsela SpMM for sparse X)."""
    xp = namespace_of(X, D)
    if isinstance(X, SparseArray):
        # the SpMM reads one row of D.T per nonzero of X: D.T must be C-ordered
        Dt = xp.ascontiguousarray(xp.asarray(D, dtype=xp.float64).T)
        out = X.astype(np.float64, copy=False) @ Dt
    else:
        # BLAS takes the transposed operand as it is: no copy of D
        out = xp.asarray(X, dtype=xp.float64) @ xp.asarray(D, dtype=xp.float64).T
    return xp.ascontiguousarray(out, dtype=xp.float64)


def _gram(D: np.ndarray) -> np.ndarray:
    xp = namespace_of(D)
    D = xp.asarray(D, dtype=xp.float64)
    return xp.ascontiguousarray(D @ D.T)


def _lanczos_max(matvec, dim: int, steps: int = 20, device: str = "cpu") -> float:
    """Largest eigenvalue of a symmetric PSD operator by Lanczos (from below).

    The top Ritz value is a lower bound that converges far faster than power
    iteration when the top of the spectrum is clustered (a random
    dictionary: Marchenko-Pastur); ``steps`` is small, so the basis is kept
    and reorthogonalised in full, and the Ritz value is computed once.
    """
    v = np.random.RandomState(0).standard_normal(dim)
    v /= np.linalg.norm(v)
    xp = np
    if device == "gpu":
        # the basis stays on the device; a and b (one scalar per step) come
        # to the host for the small tridiagonal eigenproblem
        from .._device import cupy

        xp = cupy()
        v = xp.asarray(v)
    V = xp.empty((min(steps, dim), dim))
    a = np.empty(V.shape[0])
    b = np.empty(V.shape[0])
    m = V.shape[0]
    for j in range(V.shape[0]):
        V[j] = v
        w = matvec(v)
        a[j] = float(v @ w)
        Vj = V[:j + 1]
        w -= Vj.T @ (Vj @ w)
        w -= Vj.T @ (Vj @ w)                # twice is enough (Kahan)
        b[j] = float(xp.linalg.norm(w))
        if b[j] <= 1e-12 * abs(a[0]):       # invariant subspace: exact
            m = j + 1
            break
        v = w / b[j]
    lam = linalg.eigvalsh_tridiagonal(a[:m], b[:m - 1], select="i",
                                      select_range=(m - 1, m - 1))[0]
    return max(float(lam), 0.0)


def _lipschitz(D: np.ndarray, G: np.ndarray) -> float:
    """A safe step constant: ``>= ||D||_2^2``, the largest eigenvalue of G.

    Lanczos (a lower bound converging from below) widened by 1%, and never
    above Gershgorin's bound (max absolute row sum of ``G``), which is a
    rigorous upper bound.
    """
    if G.size == 0:
        return 1.0
    xp = namespace_of(G)
    dev = "cpu" if xp is np else "gpu"
    gersh = float(xp.abs(G).sum(axis=1).max())
    k, p = D.shape
    if k <= 2 * p:
        # on G itself: k^2 per step instead of 2 k p
        lam = _lanczos_max(lambda v: G @ v, k, device=dev)
    else:
        Dd = xp.asarray(D, dtype=xp.float64)
        lam = _lanczos_max(lambda v: Dd.T @ (Dd @ v), p, device=dev)
    L = min(gersh, max(1.01 * lam, float(xp.max(xp.diag(G)))))
    return L if L > 0 else 1.0


# --------------------------------------------------------------------------- #
# engines
# --------------------------------------------------------------------------- #
def _kernel_module():
    """The CPU kernel module, or None when Numba cannot be imported."""
    try:
        from ..backends import lazy

        mod = lazy("cpu.sparse_coding")
        mod.lasso_rows  # noqa: B018  (loads the module, and Numba)
        return mod
    except ImportError:
        return None


def _solve_kernel(mod, C, G, xx, alpha, L, tol, max_iter, positive, accelerate,
                  Z, verbose):
    n = C.shape[0]
    n_iter = np.zeros(n, dtype=np.int64)
    gaps = np.zeros(n, dtype=np.float64)
    if not verbose:
        mod.lasso_rows(C, G, xx, alpha, L, tol, max_iter, positive, accelerate,
                       Z, n_iter, gaps)
        return n_iter, gaps
    step = max(256, -(-n // 50))
    with progress(n, verbose, desc="sparse_encode (signals)") as bar:
        for s in range(0, n, step):
            e = min(n, s + step)
            mod.lasso_rows(C[s:e], G, xx[s:e], alpha, L, tol, max_iter, positive,
                           accelerate, Z[s:e], n_iter[s:e], gaps[s:e])
            bar.update(e - s)
    return n_iter, gaps


def _gram_product(Y: np.ndarray, G: np.ndarray) -> np.ndarray:
    """``Y @ G``: a sparsela SpMM while ``Y`` is sparse, a GEMM otherwise.

    On the GPU always the GEMM: the density test would cost a device->host
    sync per iteration, and a dense GEMM is what the GPU does best.
    """
    if namespace_of(Y) is not np:
        return Y @ G
    if Y.size and Y.shape[1] >= 16 and \
            np.count_nonzero(Y) <= _BATCH_SPARSE_DENSITY * Y.size:
        return np.asarray(csr_array(Y) @ G)
    return Y @ G


def _gaps(Y, P, C, xx, alpha, positive):
    """Duality gap of every row at ``Y`` given ``P = Y @ G``."""
    xp = namespace_of(Y)
    grad = P - C
    yP = xp.einsum("ij,ij->i", Y, P)
    yc = xp.einsum("ij,ij->i", Y, C)
    rr = xp.maximum(xx - 2.0 * yc + yP, 0.0)
    l1 = xp.abs(Y).sum(axis=1)
    if Y.shape[1] == 0:
        dn = xp.zeros(Y.shape[0])
    else:
        dn = (-grad).max(axis=1) if positive else xp.abs(grad).max(axis=1)
    with _errstate(xp):
        s = xp.where(dn > alpha, alpha / xp.where(dn > 0, dn, 1.0), 1.0)
    return grad, 0.5 * rr + alpha * l1 - s * (xx - yc) + 0.5 * s * s * rr


def _solve_batch(C, G, xx, alpha, L, tol, max_iter, positive, accelerate, Z,
                 verbose):
    """FISTA on all rows at once; ``Z`` (start points) receives the codes.

    Array operations only, on the arrays' device (``xp``): one ``Y @ G``
    per iteration, and one device->host sync (``done.any()``, the stopping
    test) per iteration.
    """
    xp = namespace_of(C)
    n = C.shape[0]
    n_iter = xp.full(n, max_iter, dtype=xp.int64)
    gaps = xp.full(n, np.inf)
    if max_iter == 0 or n == 0:
        if n:
            _, gaps[:] = _gaps(Z, Z @ G, C, xx, alpha, positive)
        return n_iter, gaps
    thr = alpha / L
    active = xp.arange(n)
    Ca, xa = C, xx
    Za = Z.copy()
    Ya = Za.copy()
    t = xp.ones(n)
    target = tol * xx
    with progress(max_iter, verbose, desc="sparse_encode (FISTA)") as bar:
        for it in range(max_iter):
            P = _gram_product(Ya, G)
            grad, gap = _gaps(Ya, P, Ca, xa, alpha, positive)
            V = Ya - grad / L
            if positive:
                Zn = xp.maximum(V - thr, 0.0)
            else:
                Zn = V - xp.clip(V, -thr, thr)
            done = gap <= target[active]
            any_done = bool(done.any())
            if any_done:
                # certify the prox step itself (its own dual point), not only y
                cand = xp.flatnonzero(done)
                Zc = Zn[cand]
                _, gz = _gaps(Zc, Zc @ G, Ca[cand], xa[cand], alpha, positive)
                ok = gz <= target[active[cand]]
                done[cand[~ok]] = False
                gap[cand[ok]] = gz[ok]
                any_done = bool(done.any())
            if accelerate:
                restart = xp.einsum("ij,ij->i", Ya - Zn, Zn - Za) > 0.0
                tn = 0.5 * (1.0 + xp.sqrt(1.0 + 4.0 * t * t))
                beta = xp.where(restart, 0.0, (t - 1.0) / tn)
                t = xp.where(restart, 1.0, tn)
                Yn = Zn + beta[:, None] * (Zn - Za)
            else:
                Yn = Zn
            gaps[active] = gap
            if any_done:
                fin = active[done]
                Z[fin] = Zn[done]
                n_iter[fin] = it + 1
                keep = ~done
                active, Ca, xa, t = active[keep], Ca[keep], xa[keep], t[keep]
                Zn, Yn = Zn[keep], Yn[keep]
            Za, Ya = Zn, Yn
            bar.update()
            if hasattr(bar, "set_postfix") and it % 10 == 0:
                bar.set_postfix(active=active.size)
            if active.size == 0:
                break
    if active.size:
        Z[active] = Za
    return n_iter, gaps


def _lasso_codes(C, G, xx, alpha, *, L, algorithm="fista", tol=1e-12,
                 max_iter=1000, positive=False, init=None, verbose=False,
                 engine="auto"):
    """Solve every row's Lasso from ``C = X D^T``, ``G``, ``||x||^2``.

    Returns
    -------
    Z : ndarray of shape (n_samples, n_components), float64
    n_iter : ndarray of shape (n_samples,)
        FISTA steps per signal.
    gaps : ndarray of shape (n_samples,)
        Final duality gap per signal.
    """
    n, k = C.shape
    xp = namespace_of(C)
    if init is None:
        Z = xp.zeros((n, k), dtype=xp.float64)
    elif xp is np:
        Z = np.array(init, dtype=np.float64, order="C", copy=True)
        if positive:
            np.maximum(Z, 0.0, out=Z)
    else:
        Z = init.astype(xp.float64, order="C", copy=True)   # never the caller's init
        if positive:
            Z = xp.maximum(Z, 0.0)
    accelerate = algorithm == "fista"
    mod = None
    if xp is not np:
        # the Numba kernel works on host memory: device arrays never reach it
        if engine == "kernel":
            raise TypeError("engine='kernel' (the Numba CPU kernel) cannot code arrays "
                            "on the GPU; the GPU runs the batch engine")
        engine = "batch"
    if engine in ("auto", "kernel"):
        mod = _kernel_module()
        if mod is None and engine == "kernel":
            raise ImportError("engine='kernel' needs Numba, which cannot be imported")
    if mod is not None:
        n_iter, gaps = _solve_kernel(mod, C, G, xx, alpha, L, tol, max_iter, positive,
                                     accelerate, Z, verbose)
    else:
        n_iter, gaps = _solve_batch(C, G, xx, alpha, L, tol, max_iter, positive,
                                    accelerate, Z, verbose)
    return Z, n_iter, gaps


def _not_converged(gaps, xx, tol):
    """Mask of the signals whose gap is above ``tol * ||x||^2``."""
    return gaps > tol * xx


def _warn_not_converged(where, bad, gaps, xx, max_iter, tol, stacklevel=3):
    n_bad = int(bad.sum())
    if not n_bad:
        return
    xp = namespace_of(gaps)
    with _errstate(xp):
        rel = xp.where(xx[bad] > 0, gaps[bad] / xx[bad], np.inf)
    warnings.warn(
        f"{where}: {n_bad} of {bad.size} signals did not reach the duality-gap "
        f"tolerance (gap <= tol * ||x||^2, tol={tol:g}) within max_iter={max_iter} "
        f"iterations (largest relative gap {float(xp.max(rel)):.2e}). Increase max_iter "
        "or tol, or check the scale of the dictionary.",
        ConvergenceWarning, stacklevel=stacklevel)


def _encode(X, D, *, alpha, algorithm, tol, max_iter, positive, init, verbose,
            where, engine="auto", warn=True):
    """Code validated ``X`` (ndarray or sparsela) against dense ``D``.

    Returns ``(codes float64, n_iter int, converged bool)``.
    """
    C = _cross(X, D)
    G = _gram(D)
    xx = _row_sq_norms(X)
    L = _lipschitz(D, G)
    Z, n_iter, gaps = _lasso_codes(C, G, xx, alpha, L=L, algorithm=algorithm,
                                   tol=tol, max_iter=max_iter, positive=positive,
                                   init=init, verbose=verbose, engine=engine)
    bad = _not_converged(gaps, xx, tol)
    if warn:
        _warn_not_converged(where, bad, gaps, xx, max_iter, tol, stacklevel=4)
    return Z, int(n_iter.max()) if n_iter.size else 0, not bool(bad.any())


def sparse_encode(X, dictionary, *, algorithm="fista", alpha=1.0, max_iter=1000,
                  tol=1e-12, positive=False, init=None, verbose=False,
                  return_n_iter=False):
    """Sparse coding: the Lasso code of every row of ``X`` against a dictionary.

    Each row ``z`` of the result solves::

        min_z  0.5 ||x - z @ dictionary||^2 + alpha ||z||_1

    the problem of scikit-learn's ``sparse_encode(..., algorithm="lasso_cd")``
    (which scales both terms by ``1 / n_features``), so the codes agree with
    it. All signals are coded in one call; ``X`` enters through one product
    ``X @ dictionary.T`` and is never densified.

    Parameters
    ----------
    X : {array-like, SciPy sparse, sparsela array} of shape (n_samples, n_features)
        The signals, one per row. A CuPy array or a sparsela array on the GPU
        is coded on the GPU (the batch engine), and the codes stay there.
    dictionary : array-like of shape (n_components, n_features)
        The atoms, one per row (dense). Unit-norm rows are usual but not
        required. On the device of ``X`` (a CuPy array for GPU ``X``);
        devices are never mixed implicitly (``TypeError``).
    algorithm : {"fista", "ista"}, default="fista"
        Accelerated (FISTA) or plain (ISTA) proximal gradient.
    alpha : float, default=1.0
        The L1 penalty (>= 0).
    max_iter : int, default=1000
        Most proximal-gradient steps per signal.
    tol : float, default=1e-12
        A signal is coded when its Lasso duality gap is at most
        ``tol * ||x||^2``. The gap bounds the objective's distance to the
        optimum, so it certifies the codes.
    positive : bool, default=False
        Constrain the codes to be nonnegative.
    init : array-like of shape (n_samples, n_components), default=None
        Start point (warm start); zeros when None.
    verbose : bool or int, default=False
        Show a progress bar (tqdm when installed).
    return_n_iter : bool, default=False
        Also return the largest number of steps any signal took.

    Returns
    -------
    code : ndarray of shape (n_samples, n_components)
        The codes, in the dtype of ``X`` (float32 or float64), on the device
        of ``X`` (a CuPy array for GPU input).
    n_iter : int
        Largest number of steps taken; returned only if ``return_n_iter``.

    Warns
    -----
    ConvergenceWarning
        When some signal's gap is still above the tolerance after
        ``max_iter`` steps.

    See Also
    --------
    SparseCoder : The same as a scikit-learn transformer.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsela.decomposition import sparse_encode
    >>> X = np.array([[-1., -1., -1.], [0., 0., 3.]])
    >>> D = np.array([[0., 1., 0.], [-1., -1., 2.], [1., 1., 1.],
    ...               [0., 1., 1.], [0., 2., 1.]])
    >>> D /= np.linalg.norm(D, axis=1, keepdims=True)
    >>> sparse_encode(X, D, alpha=0.1).round(3)
    array([[ 0.   ,  0.   , -1.632,  0.   ,  0.   ],
           [ 0.   ,  2.337,  1.598,  0.042,  0.   ]])
    """
    algorithm = _check_algorithm("algorithm", algorithm)
    alpha = _check_nonneg("alpha", alpha)
    max_iter = _check_int("max_iter", max_iter, 0)
    tol = _check_nonneg("tol", tol)
    positive = _check_bool("positive", positive)
    X = check_array(X, accept_sparse=True, dtype=(np.float64, np.float32),
                    accept_gpu=True)
    same_device("X", X, "dictionary", dictionary)
    D = _check_dictionary(dictionary)
    if D.shape[1] != X.shape[1]:
        raise ValueError(
            "Dictionary and X have different numbers of features: "
            f"dictionary.shape={D.shape}, X.shape={X.shape}.")
    if init is not None:
        same_device("X", X, "init", init)
        if device_of(init) == "gpu":
            init = check_array(init, input_name="init", accept_sparse=False,
                               dtype=np.float64, accept_gpu=True)
        else:
            init = sk_check_array(init, dtype=np.float64, input_name="init")
        if init.shape != (X.shape[0], D.shape[0]):
            raise ValueError(
                f"init must have shape (n_samples, n_components)="
                f"{(X.shape[0], D.shape[0])}, got {init.shape}.")
    code, n_iter, _ = _encode(X, D, alpha=alpha, algorithm=algorithm, tol=tol,
                              max_iter=max_iter, positive=positive, init=init,
                              verbose=verbose, where="sparse_encode")
    code = code.astype(X.dtype, copy=False)
    if return_n_iter:
        return code, n_iter
    return code


# --------------------------------------------------------------------------- #
# the learned fast approximator  z ~ g * tanh(W x + b)
# --------------------------------------------------------------------------- #
def _adam(param, grad, m, v, t, lr, b1=0.9, b2=0.999, eps=1e-8, xp=np):
    """One Adam step, updating ``param``, ``m`` and ``v`` in place (NumPy or
    CuPy arrays, ``xp``)."""
    m *= b1
    m += (1 - b1) * grad
    v *= b2
    v += (1 - b2) * grad * grad
    mh = m / (1 - b1 ** t)
    vh = v / (1 - b2 ** t)
    param -= lr * mh / (xp.sqrt(vh) + eps)


#: the approximator starts from the least-squares linear map when the
#: ``n_features x n_features`` normal equations are at most this large
_LINEAR_INIT_MAX_FEATURES = 4096
#: tanh ranges (in standard deviations of the linear map) tried at the start
_TANH_RANGES = (1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 100.0)


def _linear_fit(X, Z):
    """Least-squares ``Z ~ X W^T + b`` (tiny ridge), or None when too large.

    Normal equations through ``X^T X`` (a sparsela SpGEMM for sparse ``X``),
    solved on the device of ``X`` (``xp``).
    """
    n, p = X.shape
    if p > _LINEAR_INIT_MAX_FEATURES or n == 0:
        return None
    xp = namespace_of(X, Z)
    if isinstance(X, SparseArray):
        Xd = X.astype(np.float64, copy=False)
        XtX = (Xd.T @ Xd)
        XtX = XtX.toarray() if hasattr(XtX, "toarray") else xp.asarray(XtX)
        xs = xp.asarray(Xd.sum(axis=0)).ravel()
        XtZ = xp.asarray(Xd.T @ Z)
    else:
        Xd = xp.asarray(X, dtype=xp.float64)
        XtX = Xd.T @ Xd
        xs = Xd.sum(axis=0)
        XtZ = Xd.T @ Z
    M = xp.empty((p + 1, p + 1))
    M[:p, :p] = XtX
    M[:p, p] = xs
    M[p, :p] = xs
    M[p, p] = n
    rhs = xp.vstack([XtZ, Z.sum(axis=0)[None, :]])
    lam = 1e-6 * (xp.trace(M) / (p + 1)) + 1e-12
    M[xp.diag_indices_from(M)] += lam
    try:
        sol = xp.linalg.solve(M, rhs)
    except np.linalg.LinAlgError:
        return None
    # CuPy does not raise for a singular system (it returns nan/inf): one
    # device->host check instead
    if xp is not np and not bool(xp.isfinite(sol).all()):
        return None
    return xp.ascontiguousarray(sol[:p].T), sol[p].copy()


def _predictor_init(X, Z, D, C, xx):
    """Adam state for a predictor of ``Z`` from ``X``.

    The weights act on ``X / sx`` and fit ``Z / sz`` (``sx``, ``sz``: root
    mean squares of the entries), so the learning rate does not depend on
    the scale of the data. The start point is the least-squares linear map
    ``X W^T + b`` put in the near-linear range of tanh (``g = 3 std``), or
    ``W ~ D`` (the dictionary correlations) when that is too large to solve.
    Every array of the state lives on the device of ``X`` (``xp``); the
    scales ``sx``, ``sz`` are host floats (one sync each).
    """
    xp = namespace_of(X, Z)
    n, p = X.shape
    k = Z.shape[1]
    sx = float(xp.sqrt(xx.sum() / max(n * p, 1))) or 1.0
    sz = float(xp.sqrt(xp.mean(Z * Z))) if Z.size else 0.0
    sz = sz or 1.0
    lin = _linear_fit(X, Z)
    if lin is not None:
        W, b = lin
        pred = (xp.asarray(X @ xp.ascontiguousarray(W.T)) if isinstance(X, SparseArray)
                else xp.asarray(X, dtype=xp.float64) @ W.T) + b
        sd = pred.std(axis=0)
        sd = xp.where(sd > 0, sd, 1.0)
        # per component, the tanh range (and least-squares gain) that fits best
        best_err = xp.full(k, np.inf)
        a = xp.ones(k)
        gain = xp.zeros(k)
        for c in _TANH_RANGES:
            T = xp.tanh(pred / (c * sd))
            tt = xp.einsum("ij,ij->j", T, T)
            gc = xp.where(tt > 0, xp.einsum("ij,ij->j", T, Z) / xp.where(tt > 0, tt, 1), 0.0)
            err = xp.einsum("ij,ij->j", Z, Z) - gc * gc * tt
            better = err < best_err
            best_err = xp.where(better, err, best_err)
            a = xp.where(better, c * sd, a)
            gain = xp.where(better, gc, gain)
        W = W * (sx / a)[:, None]
        b = b / a
        g = gain / sz
    else:
        sc = float(xp.sqrt(xp.mean(C * C))) if C.size else 0.0
        sc = sc or 1.0
        W = xp.asarray(D, dtype=xp.float64) * (sx / sc)       # u = X D^T / sc
        b = xp.zeros(k)
        g = xp.ones(k)
    state = {
        "W": xp.ascontiguousarray(W), "b": xp.asarray(b, dtype=xp.float64),
        "g": xp.asarray(g, dtype=xp.float64),
        "sx": sx, "sz": sz, "t": 0, "epochs": 0, "loss": np.inf,
    }
    for name in ("W", "b", "g"):
        state["m" + name] = xp.zeros_like(state[name])
        state["v" + name] = xp.zeros_like(state[name])
    return state


def _rows(X, idx):
    return X[idx]


def _predictor_loss(X, Z, state, batch_size):
    """Mean ``0.5 ||z / sz - g tanh(W x / sx + b)||^2`` over all rows.

    On the GPU the sum stays on the device until the end: one sync per call.
    """
    xp = namespace_of(state["W"])
    total = 0.0
    Wt = xp.ascontiguousarray(state["W"].T)
    for s in range(0, X.shape[0], max(batch_size, 1024)):
        Xb = X[s:s + max(batch_size, 1024)]
        U = xp.asarray(Xb @ Wt) / state["sx"] + state["b"]
        E = state["g"] * xp.tanh(U) - Z[s:s + max(batch_size, 1024)] / state["sz"]
        if xp is np:
            total += 0.5 * float(np.sum(E * E))
        else:
            total = total + 0.5 * xp.sum(E * E)
    return float(total) / max(X.shape[0], 1)


def _predictor_epochs(X, Z, state, *, n_epochs, batch_size, learning_rate, rng,
                      verbose=False, patience=5, rel_tol=1e-4):
    """Minibatch Adam on ``mean 0.5 ||z - g tanh(W x + b)||^2``.

    Each epoch ends with the loss on all of ``(X, Z)``; the parameters of the
    best epoch are kept (the start point counts), and training stops after
    ``patience`` epochs without a relative improvement of ``rel_tol``.
    Updates ``state`` in place.

    The arrays of ``state`` live on the device of ``X`` (``xp``). The
    minibatch order is drawn on the host with ``rng`` (the same stream on
    both devices); on the GPU the epoch's sorted minibatch indices are moved
    in one copy and sliced on the device.
    """
    xp = namespace_of(state["W"])
    n = X.shape[0]
    sx, sz = state["sx"], state["sz"]
    W, b, g = state["W"], state["b"], state["g"]
    best = _predictor_loss(X, Z, state, batch_size)
    kept = (W.copy(), b.copy(), g.copy())
    stall = 0
    with progress(n_epochs, verbose, desc="fast predictor (epochs)") as bar:
        for _ in range(n_epochs):
            perm = rng.permutation(n)
            if xp is not np:
                # each minibatch sorted, as on the CPU; one host->device copy an epoch
                order = perm.copy()
                for s in range(0, n, batch_size):
                    order[s:s + batch_size].sort()
                order = xp.asarray(order)
            for s in range(0, n, batch_size):
                idx = np.sort(perm[s:s + batch_size]) if xp is np else \
                    order[s:s + batch_size]
                Xb = _rows(X, idx)
                Zb = Z[idx] / sz
                nb = idx.size
                U = xp.asarray(Xb @ xp.ascontiguousarray(W.T)) / sx + b
                T = xp.tanh(U)
                E = g * T - Zb
                dg = xp.sum(E * T, axis=0) / nb
                dU = E * (g * (1.0 - T * T)) / nb
                dW = xp.asarray(Xb.T @ dU).T / sx
                db = dU.sum(axis=0)
                state["t"] += 1
                t = state["t"]
                _adam(W, dW, state["mW"], state["vW"], t, learning_rate, xp=xp)
                _adam(b, db, state["mb"], state["vb"], t, learning_rate, xp=xp)
                _adam(g, dg, state["mg"], state["vg"], t, learning_rate, xp=xp)
            state["epochs"] += 1
            loss = _predictor_loss(X, Z, state, batch_size)
            bar.update()
            bar.set_postfix(loss=f"{loss:.4g}")
            if loss < best:
                improved = loss < best * (1.0 - rel_tol)
                best = loss
                kept = (W.copy(), b.copy(), g.copy())
                if improved:
                    stall = 0
                    continue
            stall += 1
            if stall >= patience:
                break
    W[:], b[:], g[:] = kept
    state["loss"] = best
    return state


class _BaseSparseCoding(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """Shared transform / inverse_transform / fast predictor of the coders."""

    # -- parameters ---------------------------------------------------------
    def _check_coding_params(self):
        _check_algorithm("transform_algorithm", self.transform_algorithm)
        _check_nonneg("transform_alpha", self.transform_alpha, allow_none=True)
        _check_int("transform_max_iter", self.transform_max_iter, 0)
        _check_nonneg("transform_tol", self.transform_tol)
        _check_bool("split_sign", self.split_sign)
        _check_bool("positive_code", self.positive_code)
        _check_bool("fit_predictor", self.fit_predictor)
        _check_int("predictor_max_iter", self.predictor_max_iter, 1)
        _check_int("predictor_batch_size", self.predictor_batch_size, 1)
        _check_nonneg("predictor_learning_rate", self.predictor_learning_rate,
                      positive=True)

    def _transform_alpha(self):
        if self.transform_alpha is not None:
            return float(self.transform_alpha)
        return float(getattr(self, "alpha", 1.0))

    # -- exact codes --------------------------------------------------------
    def _exact_codes(self, X, dictionary, init=None, warn=True):
        Z, n_iter, _ = _encode(
            X, dictionary, alpha=self._transform_alpha(),
            algorithm=self.transform_algorithm, tol=self.transform_tol,
            max_iter=self.transform_max_iter, positive=self.positive_code,
            init=init, verbose=getattr(self, "verbose", False),
            where=f"{type(self).__name__}.transform", warn=warn)
        return Z, n_iter

    def _finish(self, code, dtype):
        if self.split_sign:
            xp = namespace_of(code)
            n, k = code.shape
            split = xp.empty((n, 2 * k), dtype=code.dtype)
            split[:, :k] = xp.maximum(code, 0)
            split[:, k:] = -xp.minimum(code, 0)
            code = split
        return code.astype(dtype, copy=False)

    def _transform(self, X, dictionary, fast=False):
        X = validate_data(self, X, reset=False, accept_sparse=True,
                          dtype=(np.float64, np.float32), accept_gpu=True)
        same_device("X", X, f"the dictionary of {type(self).__name__}", dictionary)
        if device_of(X) != "gpu":
            dictionary = np.asarray(dictionary)
        if X.shape[1] != dictionary.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features, but the dictionary of "
                f"{type(self).__name__} has {dictionary.shape[1]} "
                f"(dictionary.shape={dictionary.shape}).")
        if fast:
            code = self._fast_codes(X)
        else:
            code, _ = self._exact_codes(X, dictionary)
        return self._finish(code, X.dtype)

    def _inverse_transform(self, code, dictionary):
        same_device("X", code, f"the dictionary of {type(self).__name__}", dictionary)
        if device_of(code) == "gpu":
            code = check_array(code, input_name="X", accept_sparse=False,
                               accept_gpu=True)
        else:
            code = sk_check_array(code, dtype=[np.float64, np.float32], input_name="X")
        k = dictionary.shape[0]
        expected = 2 * k if self.split_sign else k
        if code.shape[1] != expected:
            raise ValueError(
                "The number of components in the code is different from the "
                f"number of components in the dictionary. Expected {expected}, "
                f"got {code.shape[1]}.")
        if self.split_sign:
            code = code[:, :k] - code[:, k:]
        return code @ namespace_of(dictionary).asarray(dictionary, dtype=code.dtype)

    # -- the fast predictor -------------------------------------------------
    def _clear_predictor(self):
        for name in ("predictor_coef_", "predictor_intercept_", "predictor_gain_",
                     "predictor_n_iter_", "predictor_loss_", "_predictor_state"):
            if hasattr(self, name):
                delattr(self, name)

    def _publish_predictor(self, state):
        sx, sz = state["sx"], state["sz"]
        self.predictor_coef_ = state["W"] / sx
        self.predictor_intercept_ = state["b"].copy()
        self.predictor_gain_ = state["g"] * sz
        self.predictor_n_iter_ = int(state["epochs"])
        self.predictor_loss_ = float(state["loss"]) * sz * sz
        self._predictor_state = state

    def _train_predictor(self, X, Z, dictionary, rng, *, n_epochs=None, reset=True):
        """Fit (or, ``reset=False``, continue fitting) ``Z ~ g tanh(W X + b)``."""
        state = getattr(self, "_predictor_state", None)
        if reset or state is None:
            C = _cross(X, dictionary)
            state = _predictor_init(X, Z, dictionary, C, _row_sq_norms(X))
        _predictor_epochs(
            X, Z, state,
            n_epochs=self.predictor_max_iter if n_epochs is None else n_epochs,
            batch_size=self.predictor_batch_size,
            learning_rate=self.predictor_learning_rate, rng=rng,
            verbose=getattr(self, "verbose", False))
        self._publish_predictor(state)

    def _fast_codes(self, X):
        if not hasattr(self, "predictor_coef_"):
            raise NotFittedError(
                f"{type(self).__name__}.transform(X, fast=True) needs the learned fast "
                "approximator, which is not fitted: set fit_predictor=True and call "
                "fit first (or use fast=False for the exact codes).")
        same_device("X", X, f"the fast approximator of {type(self).__name__}",
                    self.predictor_coef_)
        xp = namespace_of(X)
        W = xp.ascontiguousarray(self.predictor_coef_.T)
        if isinstance(X, SparseArray):
            U = xp.asarray(X.astype(np.float64, copy=False) @ W)
        else:
            U = xp.asarray(X, dtype=xp.float64) @ W
        Z = self.predictor_gain_ * xp.tanh(U + self.predictor_intercept_)
        if self.positive_code:
            if xp is np:
                np.maximum(Z, 0.0, out=Z)
            else:
                Z = xp.maximum(Z, 0.0)
        return Z


class SparseCoder(_BaseSparseCoding, BaseEstimator):
    """Sparse coding against a fixed dictionary, with ISTA/FISTA.

    Finds, for each row ``x`` of ``X``, the Lasso code ``z`` with
    ``x ~= z @ dictionary``::

        min_z  0.5 ||x - z @ dictionary||^2 + transform_alpha ||z||_1

    (scikit-learn's ``SparseCoder(transform_algorithm="lasso_cd")`` objective,
    same codes). Dense, SciPy sparse and sparsela inputs are accepted; sparse
    input is never densified. Like scikit-learn's ``SparseCoder`` it is
    stateless: ``fit`` only validates, unless ``fit_predictor=True``, when it
    also trains the fast approximator ``z ~ g * tanh(W x + b)`` used by
    ``transform(X, fast=True)``.

    Parameters
    ----------
    dictionary : array-like of shape (n_components, n_features)
        The atoms, one per row; unit-norm rows are usual.
    transform_algorithm : {"fista", "ista"}, default="fista"
        Accelerated (FISTA) or plain (ISTA) proximal gradient.
    transform_alpha : float, default=None
        The L1 penalty; None means 1.0.
    transform_max_iter : int, default=1000
        Most proximal-gradient steps per signal.
    transform_tol : float, default=1e-12
        A signal is coded when its Lasso duality gap is at most
        ``transform_tol * ||x||^2``.
    split_sign : bool, default=False
        Return ``[max(z, 0), -min(z, 0)]`` (``2 * n_components`` columns), as
        scikit-learn does.
    positive_code : bool, default=False
        Constrain the codes to be nonnegative.
    fit_predictor : bool, default=False
        In ``fit``, code the training data and train the fast approximator.
    predictor_max_iter : int, default=100
        Most training epochs of the fast approximator.
    predictor_batch_size : int, default=256
        Minibatch size of its training.
    predictor_learning_rate : float, default=0.001
        Adam step size of its training (on standardised data).
    random_state : int, RandomState instance or None, default=None
        Seeds the minibatch order of the approximator's training.
    verbose : bool or int, default=False
        Show progress bars (tqdm when installed).

    Attributes
    ----------
    n_components_ : int
        Number of atoms.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X`
        has feature names that are all strings.
    n_iter_ : int
        Largest number of FISTA steps taken to code the training data; set
        only with ``fit_predictor=True``.
    predictor_coef_ : ndarray of shape (n_components, n_features)
        ``W`` of the fast approximator (``fit_predictor=True`` only); like
        the two below, on the device of the training data (a CuPy array
        after a fit on the GPU).
    predictor_intercept_ : ndarray of shape (n_components,)
        ``b`` of the fast approximator.
    predictor_gain_ : ndarray of shape (n_components,)
        ``g`` of the fast approximator.
    predictor_n_iter_ : int
        Training epochs run.
    predictor_loss_ : float
        Last epoch's mean ``0.5 ||z - g tanh(W x + b)||^2``.

    See Also
    --------
    sparse_encode : The function behind ``transform``.
    DictionaryLearning : Learns the dictionary too.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsela.decomposition import SparseCoder
    >>> X = np.array([[-1., -1., -1.], [0., 0., 3.]])
    >>> D = np.array([[0., 1., 0.], [-1., -1., 2.], [1., 1., 1.],
    ...               [0., 1., 1.], [0., 2., 1.]])
    >>> D /= np.linalg.norm(D, axis=1, keepdims=True)
    >>> coder = SparseCoder(D, transform_alpha=0.1)
    >>> coder.transform(X).round(3)
    array([[ 0.   ,  0.   , -1.632,  0.   ,  0.   ],
           [ 0.   ,  2.337,  1.598,  0.042,  0.   ]])
    """

    def __init__(self, dictionary, *, transform_algorithm="fista",
                 transform_alpha=None, transform_max_iter=1000,
                 transform_tol=1e-12, split_sign=False, positive_code=False,
                 fit_predictor=False, predictor_max_iter=100,
                 predictor_batch_size=256, predictor_learning_rate=0.001,
                 random_state=None, verbose=False):
        self.dictionary = dictionary
        self.transform_algorithm = transform_algorithm
        self.transform_alpha = transform_alpha
        self.transform_max_iter = transform_max_iter
        self.transform_tol = transform_tol
        self.split_sign = split_sign
        self.positive_code = positive_code
        self.fit_predictor = fit_predictor
        self.predictor_max_iter = predictor_max_iter
        self.predictor_batch_size = predictor_batch_size
        self.predictor_learning_rate = predictor_learning_rate
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @property
    def _n_features_out(self):
        return self.n_components_ * (2 if self.split_sign else 1)

    @property
    def components_(self):
        """The dictionary, ndarray of shape (n_components, n_features) (a CuPy
        array for a dictionary on the GPU)."""
        if device_of(self.dictionary) == "gpu":
            return self.dictionary
        return np.asarray(self.dictionary)

    def fit(self, X, y=None):
        """Validate the parameters (and train the fast approximator if asked).

        Parameters
        ----------
        X : {array-like, SciPy sparse, sparsela array} of shape (n_samples, n_features)
            Training data: only validated, unless ``fit_predictor=True``.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The estimator.
        """
        self._check_coding_params()
        X = validate_data(self, X, accept_sparse=True, dtype=(np.float64, np.float32),
                          accept_gpu=True)
        same_device("X", X, "dictionary", self.dictionary)
        D = _check_dictionary(self.dictionary)
        if X.shape[1] != D.shape[1]:
            raise ValueError(
                "Dictionary and X have different numbers of features: "
                f"dictionary.shape={D.shape}, X.shape={X.shape}.")
        self.n_components_ = D.shape[0]
        self._clear_predictor()
        if hasattr(self, "n_iter_"):
            del self.n_iter_
        if self.fit_predictor:
            Z, self.n_iter_ = self._exact_codes(X, D)
            self._train_predictor(X, Z, D, check_random_state(self.random_state))
        return self

    def transform(self, X, y=None, *, fast=False):
        """Encode the data as sparse combinations of the atoms.

        Parameters
        ----------
        X : {array-like, SciPy sparse, sparsela array} of shape (n_samples, n_features)
            The signals.
        y : Ignored
            Not used, present for API consistency by convention.
        fast : bool, default=False
            Use the learned approximator ``g * tanh(W x + b)`` (one product,
            approximate codes) instead of solving the Lasso. Needs
            ``fit_predictor=True`` and ``fit``.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The codes (``2 * n_components`` columns with ``split_sign``), in
            the dtype of ``X``.
        """
        self._check_coding_params()
        D = _check_dictionary(self.dictionary)
        return self._transform(X, D, fast=fast)

    def inverse_transform(self, X):
        """Map codes back to signals: ``X @ dictionary``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes (``2 * n_components`` columns with ``split_sign``).

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            The reconstructed signals.
        """
        return self._inverse_transform(X, _check_dictionary(self.dictionary))
