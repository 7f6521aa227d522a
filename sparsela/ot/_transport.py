"""An estimator front for entropic OT between two point clouds (after POT's
``ot.da.SinkhornTransport``).

GPU input (CuPy arrays or sparsela arrays on the GPU) is fitted on the GPU
with every method and metric: the cost, the plan and every fitted array
live on the device, and ``transform`` of GPU input returns CuPy arrays.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._device import device_of, mismatch, namespace_of
from ..formats import SparseArray
from ..utils.validation import check_array, validate_data
from ._solve import solve

__all__ = ["SinkhornTransport"]

_METRICS_SCIPY = ("cityblock", "cosine", "chebyshev", "minkowski", "correlation",
                  "canberra", "braycurtis")




def _dense(X):
    return X.toarray() if isinstance(X, SparseArray) else namespace_of(X).asarray(X)


def _row_sqnorms(X):
    xp = namespace_of(X)
    if isinstance(X, SparseArray):
        return xp.asarray(X.multiply(X).sum(axis=1), dtype=np.float64).ravel()
    return xp.einsum("ij,ij->i", X, X)


def _cross(A, B):
    """``A @ B.T`` as a dense array for any mix of dense and sparsela inputs
    (all on one device; the result is on it)."""
    if isinstance(A, SparseArray):
        R = A @ B.T
    elif isinstance(B, SparseArray):
        R = (B @ A.T).T
    else:
        R = A @ B.T
    return R.toarray() if isinstance(R, SparseArray) else namespace_of(R).asarray(R)


#: rows of Xs per broadcast block of the GPU metrics: at most ~2**22
#: differences (32 MiB of float64) in flight
_BLOCK_ENTRIES = 1 << 22


def _cdist_device(A, B, metric: str):
    """:func:`scipy.spatial.distance.cdist`'s ``metric`` for dense device
    arrays, with ``xp`` (cdist's definitions: ``'minkowski'`` with ``p=2``,
    the cosine clipped to ``[-1, 1]``, canberra's ``0/0`` terms 0).

    The angle metrics are one matrix product (cuBLAS) and row norms; the
    coordinate-wise ones broadcast ``A[i] - B[j]`` over blocks of rows of
    ``A`` (bounded memory), one elementwise pass and one reduction each.
    """
    xp = namespace_of(A, B)
    A = A.astype(np.float64, copy=False)
    B = B.astype(np.float64, copy=False)
    if metric in ("cosine", "correlation"):
        if metric == "correlation":
            A = A - A.mean(axis=1, keepdims=True)
            B = B - B.mean(axis=1, keepdims=True)
        na = xp.sqrt(xp.einsum("ij,ij->i", A, A))
        nb = xp.sqrt(xp.einsum("ij,ij->i", B, B))
        cos = xp.clip((A @ B.T) / (na[:, None] * nb[None, :]), -1.0, 1.0)
        return 1.0 - cos
    n, m, d = A.shape[0], B.shape[0], A.shape[1]
    out = xp.empty((n, m))
    step = max(1, _BLOCK_ENTRIES // max(1, m * d))
    for lo in range(0, n, step):
        Ab = A[lo:lo + step, None, :]
        diff = xp.abs(Ab - B[None, :, :])
        if metric == "cityblock":
            out[lo:lo + step] = diff.sum(axis=2)
        elif metric == "chebyshev":
            out[lo:lo + step] = diff.max(axis=2)
        elif metric == "minkowski":  # cdist's default p = 2
            out[lo:lo + step] = xp.sqrt((diff * diff).sum(axis=2))
        elif metric == "canberra":
            den = xp.abs(Ab) + xp.abs(B)[None, :, :]
            pos = den > 0
            out[lo:lo + step] = xp.where(pos, diff / xp.where(pos, den, 1.0), 0.0).sum(axis=2)
        else:  # braycurtis
            out[lo:lo + step] = diff.sum(axis=2) / xp.abs(Ab + B[None, :, :]).sum(axis=2)
    return out


def pairwise_cost(Xs, Xt, metric: str = "sqeuclidean") -> np.ndarray:
    """Cost matrix between the rows of ``Xs`` and ``Xt``.

    ``'sqeuclidean'`` and ``'euclidean'`` use ``|x|^2 + |y|^2 - 2 x.y`` with
    sparsela products (sparse inputs stay sparse). The metrics of
    :func:`scipy.spatial.distance.cdist` densify sparse inputs; on the CPU
    they are cdist's, on the GPU the same definitions computed with CuPy
    (equal to rounding). Both devices: the cost lives where the samples do.
    """
    xp = namespace_of(Xs, Xt)
    if metric in ("sqeuclidean", "euclidean"):
        D = _row_sqnorms(Xs)[:, None] + _row_sqnorms(Xt)[None, :] - 2.0 * _cross(Xs, Xt)
        xp.maximum(D, 0.0, out=D)
        return xp.sqrt(D, out=D) if metric == "euclidean" else D
    if metric in _METRICS_SCIPY:
        if xp is not np:
            return _cdist_device(_dense(Xs), _dense(Xt), metric)
        from scipy.spatial.distance import cdist

        return cdist(_dense(Xs), _dense(Xt), metric=metric)
    raise ValueError(f"unknown metric {metric!r}; use 'sqeuclidean', 'euclidean' or one of "
                     f"{_METRICS_SCIPY}")


class SinkhornTransport(BaseEstimator):
    """Entropic OT between two samples, with barycentric mapping.

    ``fit(Xs, Xt)`` computes the cost between the source rows ``Xs`` and the
    target rows ``Xt`` and the entropic plan (``coupling_``) by
    :func:`sparsela.ot.sinkhorn_newton_sparse` (default) or Sinkhorn;
    ``transform`` maps source samples onto the target by the barycentric
    mapping ``diag(1 / coupling 1) coupling Xt`` (new samples: the
    displacement of their nearest fitted source sample, as POT does).

    GPU input (CuPy arrays or sparsela arrays on the GPU, ``Xs`` and ``Xt``
    on one device) is fitted on the GPU with any ``method`` and ``metric``;
    the fitted arrays are then CuPy arrays, and ``transform`` takes and
    returns GPU arrays.

    Parameters
    ----------
    reg : float, default=1e-1
        Entropic regularization (> 0), in the units of the (normalized) cost.
    method : {'sns', 'log', 'sinkhorn'}, default='sns'
        Solver: Sinkhorn-Newton-Sparse, log-domain or plain Sinkhorn.
    metric : str, default='sqeuclidean'
        Ground cost (see :func:`pairwise_cost`).
    norm : {None, 'max', 'median', 'mean'}, default=None
        Divide the cost by its maximum/median/mean (so ``reg`` is relative).
    max_iter : int, optional
        Maximum iterations (Newton steps for ``'sns'``; default 100 for
        ``'sns'``, 1000 otherwise).
    tol : float, default=1e-9
        Marginal-error tolerance.
    n_sinkhorn_warmup : int, default=20
        Sinkhorn warm-up iterations of ``'sns'``.
    verbose : bool, default=False
        Progress bar.

    Attributes
    ----------
    coupling_ : ndarray of shape (n_source, n_target)
        The transport plan. This and the other arrays below live on the
        device of the fitted samples (CuPy arrays after a GPU fit).
    cost_ : ndarray of shape (n_source, n_target)
        The (normalized) cost matrix.
    norm_cost_ : float
        What the cost was divided by (1.0 without ``norm``).
    potentials_ : tuple of ndarray
        Dual potentials ``(f, g)``.
    a_, b_ : ndarray
        Source and target weights.
    xs_, xt_ : ndarray or sparsela array
        The fitted samples.
    n_iter_ : int
        Solver iterations.
    marginal_error_ : float
        Marginal error of ``coupling_``.
    log_ : dict
        The solver's log.
    n_features_in_ : int
        Number of features.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsela.ot import SinkhornTransport
    >>> rng = np.random.default_rng(0)
    >>> Xs, Xt = rng.normal(size=(30, 2)), rng.normal(size=(40, 2)) + 3
    >>> ot = SinkhornTransport(reg=1e-2, norm="max").fit(Xs, Xt)
    >>> ot.coupling_.shape, bool(ot.transform(Xs).mean() > 2)
    ((30, 40), True)
    """

    def __init__(self, reg: float = 1e-1, method: str = "sns", metric: str = "sqeuclidean",
                 norm: str | None = None, max_iter: int | None = None, tol: float = 1e-9,
                 n_sinkhorn_warmup: int = 20, verbose=False):
        self.reg = reg
        self.method = method
        self.metric = metric
        self.norm = norm
        self.max_iter = max_iter
        self.tol = tol
        self.n_sinkhorn_warmup = n_sinkhorn_warmup
        self.verbose = verbose

    def fit(self, Xs, Xt, a=None, b=None):
        """Compute the cost and the entropic plan between ``Xs`` and ``Xt``.

        Parameters
        ----------
        Xs : array-like or sparse of shape (n_source, n_features)
            Source samples.
        Xt : array-like or sparse of shape (n_target, n_features)
            Target samples.
        a, b : array-like, optional
            Sample weights (uniform by default), equal total mass.

        Returns
        -------
        self : SinkhornTransport
            The fitted estimator.
        """
        Xs = validate_data(self, Xs, accept_gpu=True)
        Xt = check_array(Xt, input_name="Xt", accept_gpu=True)
        if device_of(Xs) != device_of(Xt):
            raise mismatch("Xs", device_of(Xs), "Xt", device_of(Xt))
        if Xt.shape[1] != Xs.shape[1]:
            raise ValueError(f"Xt has {Xt.shape[1]} features, Xs has {Xs.shape[1]}")
        xp = namespace_of(Xs)
        M = pairwise_cost(Xs, Xt, self.metric)
        norm_value = 1.0
        if self.norm is not None:
            funcs = {"max": xp.max, "median": xp.median, "mean": xp.mean}
            if self.norm not in funcs:
                raise ValueError(f"norm must be None, 'max', 'median' or 'mean', got {self.norm!r}")
            norm_value = float(funcs[self.norm](M))
            if norm_value > 0:
                M = M / norm_value
            else:
                norm_value = 1.0
        kwargs = {}
        if self.method in ("sns", "sinkhorn_newton_sparse"):
            kwargs["n_sinkhorn_warmup"] = self.n_sinkhorn_warmup
        res = solve(M, a, b, reg=self.reg, method=self.method, max_iter=self.max_iter,
                    tol=self.tol, verbose=self.verbose, **kwargs)
        n, m = M.shape
        self.cost_ = M
        self.norm_cost_ = norm_value
        self.coupling_ = res.plan
        self.potentials_ = res.potentials
        # a, b were checked by solve: on the device of M when given
        self.a_ = xp.full(n, 1.0 / n) if a is None else xp.asarray(a, dtype=np.float64)
        self.b_ = xp.full(m, 1.0 / m) if b is None else xp.asarray(b, dtype=np.float64)
        self.xs_ = Xs
        self.xt_ = Xt
        self.n_iter_ = res.n_iter
        self.marginal_error_ = res.marginal_error
        self.log_ = res.log
        return self

    def fit_transform(self, Xs, Xt, a=None, b=None):
        """Fit, then map the source samples onto the target domain.

        Parameters
        ----------
        Xs : array-like or sparse of shape (n_source, n_features)
            Source samples.
        Xt : array-like or sparse of shape (n_target, n_features)
            Target samples.
        a, b : array-like, optional
            Sample weights (uniform by default).

        Returns
        -------
        ndarray of shape (n_source, n_features)
            ``fit(Xs, Xt, a, b).transform(Xs)``.
        """
        return self.fit(Xs, Xt, a, b).transform(Xs)

    @staticmethod
    def _map(plan, Y):
        w = plan.sum(axis=1)
        xp = namespace_of(plan)
        if xp is np:
            T = np.divide(plan, w[:, None], out=np.zeros_like(plan), where=w[:, None] > 0)
        else:  # CuPy's divide has no where=; a row of zero mass is all zeros
            T = plan / xp.where(w > 0, w, 1.0)[:, None]
        return _cross(T, Y.T) if isinstance(Y, SparseArray) else T @ Y

    @staticmethod
    def _same(X, ref) -> bool:
        if X is ref:
            return True
        if X.shape != ref.shape:
            return False
        xp = namespace_of(X)
        if isinstance(X, SparseArray) or isinstance(ref, SparseArray):
            return bool(xp.array_equal(_dense(X), _dense(ref)))
        return bool(xp.array_equal(X, ref))

    def _check_device(self, X, name: str) -> None:
        """TypeError when ``X`` and the fitted arrays live apart (no implicit moves)."""
        dx, dfit = device_of(X), device_of(self.coupling_)
        if dx != dfit:
            raise mismatch(name, dx, f"the fitted {type(self).__name__}", dfit)

    def _transport(self, X, fitted, plan, other, batch_size):
        mapped = self._map(plan, other)
        if self._same(X, fitted):
            return mapped
        xp = namespace_of(mapped)
        out = xp.empty((X.shape[0], mapped.shape[1]))
        for lo in range(0, X.shape[0], batch_size):
            Xb = X[lo:lo + batch_size]
            idx = xp.argmin(pairwise_cost(Xb, fitted, "sqeuclidean"), axis=1)
            out[lo:lo + batch_size] = mapped[idx] + _dense(Xb) - _dense(fitted[idx])
        return out

    def transform(self, Xs, batch_size: int = 128):
        """Map source samples onto the target domain.

        The fitted ``Xs`` get the barycentric mapping
        ``diag(1 / coupling 1) coupling Xt``; other samples are moved by the
        displacement of their nearest fitted source sample.

        Parameters
        ----------
        Xs : array-like or sparse of shape (n_samples, n_features)
            Source samples.
        batch_size : int, default=128
            Rows per nearest-neighbour batch (out-of-sample samples).

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            The transported samples (a CuPy array for GPU input).
        """
        check_is_fitted(self, "coupling_")
        Xs = validate_data(self, Xs, reset=False, accept_gpu=True)
        self._check_device(Xs, "Xs")
        return self._transport(Xs, self.xs_, self.coupling_, self.xt_, batch_size)

    def inverse_transform(self, Xt, batch_size: int = 128):
        """Map target samples onto the source domain (transposed plan).

        Parameters
        ----------
        Xt : array-like or sparse of shape (n_samples, n_features)
            Target samples.
        batch_size : int, default=128
            Rows per nearest-neighbour batch (out-of-sample samples).

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            The samples mapped onto the source domain.
        """
        check_is_fitted(self, "coupling_")
        Xt = validate_data(self, Xt, reset=False, accept_gpu=True)
        self._check_device(Xt, "Xt")
        return self._transport(Xt, self.xt_, self.coupling_.T, self.xs_, batch_size)
