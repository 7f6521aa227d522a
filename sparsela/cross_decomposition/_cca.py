"""Exact CCA, ridge CCA, PLS and multiview CCA as a generalised eigenproblem.

For centred views ``X_1, ..., X_m`` with covariances
``S_ij = X_i^T X_j / (n - 1)`` the canonical directions solve

    A w = lambda B w,   A = [S_ij]_{i != j} (zero diagonal blocks),
                        B = blockdiag((1 - c_i) S_ii + c_i I),

``c = 0`` is CCA, ``c = 1`` PLS. Three solvers, all on sparse-aware products:

``"direct"``
    Each view is whitened by its regularised covariance, computed in the
    feature space (``p_i x p_i`` covariance, when ``p_i <= n``) or in the
    sample space (``n x n`` Gram matrix ``X_i X_i^T``, when ``p_i > n``: the
    kernel form, which never builds a ``p_i x p_i`` matrix). The whitened
    cross-covariances then give the answer by one SVD (two views) or one
    symmetric eigendecomposition (more views).
``"iterative"``
    ARPACK (:func:`scipy.sparse.linalg.eigsh`) on ``LinearOperator``\\ s that
    apply ``A`` and ``B`` by products with the views (``X @ v``,
    ``X.T @ u``), ``B^{-1}`` by conjugate gradients; no covariance or Gram
    matrix is formed, so memory stays ``O(nnz + sum p_i)``. For views too
    wide and too tall for the direct solver (PLS on genotype data).
``"auto"``
    ``"direct"`` when every view has ``min(n_samples, n_features_i) <=
    4000``, else ``"iterative"``.

On the GPU (views that are CuPy arrays or sparsela arrays on the GPU) the
products with the views run on the device and the dense algebra through
CuPy (``xp.linalg.eigh``/``svd`` where the CPU path calls SciPy's LAPACK
drivers); the iterative solver keeps ARPACK's reverse communication on the
host and moves one vector of length ``sum p_i`` each way per operator
application, while the views and every product with them stay on the device.
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh
from sklearn.exceptions import ConvergenceWarning

from .._device import namespace_of
from ..formats import SparseArray
from ..linalg import cg
from ..utils import center_dot, center_tdot, progress
from ._base import _BaseCCA, captured_correlations, column_means, flip_signs

__all__ = ["CCA", "MCCA", "PLS", "RidgeCCA"]

#: largest ``min(n_samples, n_features)`` of a view the direct solver whitens
DIRECT_MAX = 4000


# ---------------------------------------------------------------------------
# per-view whitening (the direct solver)
# ---------------------------------------------------------------------------
def _covariance(X, mean: np.ndarray) -> np.ndarray:
    """``(X - mean)^T (X - mean) / (n - 1)`` as a dense ``p x p`` array.

    Sparse ``X``: ``X^T X`` by SpGEMM (sparse result, then the ``p x p``
    matrix), minus ``n mean mean^T``; ``X`` is never centred or densified.
    """
    n = X.shape[0]
    xp = namespace_of(X)
    if isinstance(X, SparseArray):
        G = X.T @ X
        G = G.toarray() if isinstance(G, SparseArray) else xp.asarray(G)
        G = G.astype(np.float64, copy=False) - n * xp.outer(mean, mean)
    else:
        Xc = xp.asarray(X, dtype=xp.float64) - mean
        G = Xc.T @ Xc
    return (G + G.T) / (2 * (n - 1))


def _gram(X, mean: np.ndarray) -> np.ndarray:
    """Centred Gram matrix ``(X - mean)(X - mean)^T`` (``n x n``), sparse-aware."""
    xp = namespace_of(X)
    if isinstance(X, SparseArray):
        K = X @ X.T
        K = K.toarray() if isinstance(K, SparseArray) else xp.asarray(K)
        K = K.astype(np.float64, copy=False)
        a = xp.asarray(X @ mean, dtype=xp.float64)
        K = K - a[:, None] - a[None, :] + float(mean @ mean)
    else:
        Xc = xp.asarray(X, dtype=xp.float64) - mean
        K = Xc @ Xc.T
    return (K + K.T) / 2


class _Whitened:
    """One view in whitened coordinates.

    ``Z`` (``n x r``) are the scores of an orthonormal basis of the view's
    row space scaled by ``((1 - c) lambda + c)^{-1/2}``, so that a unit vector
    ``u`` of coefficients is a weight vector with ``w^T B_i w = 1``;
    ``weights(U)`` maps coefficients back to ``(p, k)`` weights.
    """

    def __init__(self, X, mean: np.ndarray, c: float):
        n, p = X.shape
        eps = np.finfo(np.float64).eps
        xp = namespace_of(X)
        self.X, self.mean = X, mean
        if p <= n:
            lam, V = xp.linalg.eigh(_covariance(X, mean))
            top = max(lam[-1], 0.0)
            keep = lam > top * p * eps
            lam, V = lam[keep], V[:, keep]
            d = 1.0 / xp.sqrt((1.0 - c) * lam + c)
            self.T = V * d
            self._Z = None  # n x r: formed only when needed
            self.dual = False
        else:
            mu, U = xp.linalg.eigh(_gram(X, mean))
            top = max(mu[-1], 0.0)
            keep = mu > top * max(n, p) * eps
            mu, U = mu[keep], U[:, keep]
            sigma = xp.sqrt(mu)
            d = 1.0 / xp.sqrt((1.0 - c) * mu / (n - 1) + c)
            # X_c = U diag(sigma) V^T: scores of V diag(d) are U diag(sigma d)
            self._Z = U * (sigma * d)
            self.U, self.scale = U, d / sigma
            self.dual = True
        self.rank = self.T.shape[1] if not self.dual else self._Z.shape[1]

    @property
    def Z(self) -> np.ndarray:
        """Whitened scores, ``n x r``."""
        if self._Z is None:
            self._Z = center_dot(self.X, self.T, self.mean)
        return self._Z

    def cross(self, Zj: np.ndarray) -> np.ndarray:
        """``Z^T Zj`` for column-centred ``Zj``; in the feature space by one
        transposed product (``T^T X_c^T Zj``) without forming ``Z``."""
        if self.dual or self._Z is not None:
            return self.Z.T @ Zj
        return self.T.T @ center_tdot(self.X, Zj, self.mean)

    def weights(self, coef: np.ndarray) -> np.ndarray:
        if not self.dual:
            return self.T @ coef
        # w = V diag(d) coef with V = X_c^T U diag(1 / sigma)
        return center_tdot(self.X, self.U @ (coef * self.scale[:, None]), self.mean)


def _svd(M):
    """Thin SVD: SciPy's LAPACK driver on the CPU, ``xp.linalg.svd`` on the GPU."""
    xp = namespace_of(M)
    if xp is np:
        return scipy.linalg.svd(M, full_matrices=False)
    return xp.linalg.svd(M, full_matrices=False)


def _eigh_top(M, kk):
    """The ``kk`` largest eigenpairs of symmetric ``M``, ascending.

    SciPy's subset driver on the CPU; on the GPU the full ``xp.linalg.eigh``
    (CuPy has no subset driver; the matrices here are ``sum rank_i`` wide).
    """
    xp = namespace_of(M)
    size = M.shape[0]
    if xp is np:
        return scipy.linalg.eigh(M, subset_by_index=(size - kk, size - 1))
    evals, vecs = xp.linalg.eigh(M)
    return evals[size - kk:], vecs[:, size - kk:]


def _solve_direct(views, means, cs, k):
    """Top-``k`` generalised eigenvectors through per-view whitening."""
    n = views[0].shape[0]
    xp = namespace_of(*views)
    white = [_Whitened(X, mu, c) for X, mu, c in zip(views, means, cs)]
    m = len(white)
    if m == 2:
        # the scores of the lower-rank view only: Z_0^T Z_1 by one transposed
        # product with the other view (a wide sparse view is never whitened
        # into an n x p dense matrix)
        if white[1].rank <= white[0].rank:
            M = white[0].cross(white[1].Z) / (n - 1)
        else:
            M = white[1].cross(white[0].Z).T / (n - 1)
        if M.size == 0:
            U1 = xp.zeros((white[0].rank, k))
            U2 = xp.zeros((white[1].rank, k))
            s = xp.zeros(k)
        else:
            U, s, Vt = _svd(M)
            U1, U2 = U[:, :k], Vt[:k].T
            s = s[:k]
        coefs = [U1, U2]
        evals = s
    else:
        sizes = [w.rank for w in white]
        edges = np.concatenate([[0], np.cumsum(sizes)])
        Zall = xp.hstack([w.Z for w in white])
        M = Zall.T @ Zall / (n - 1)
        for i in range(m):
            M[edges[i]:edges[i + 1], edges[i]:edges[i + 1]] = 0.0
        size = M.shape[0]
        kk = min(k, size)
        evals, vecs = _eigh_top(M, kk)
        evals, vecs = evals[::-1], vecs[:, ::-1]
        coefs = []
        for i in range(m):
            Ui = vecs[edges[i]:edges[i + 1]]
            nrm = xp.linalg.norm(Ui, axis=0)
            coefs.append(Ui / xp.where(nrm > 0, nrm, 1.0))
    weights = []
    for w, U in zip(white, coefs):
        W = w.weights(U)
        if W.shape[1] < k:  # fewer directions than asked: pad with zeros
            W = xp.hstack([W, xp.zeros((W.shape[0], k - W.shape[1]))])
        weights.append(W)
    evals = xp.concatenate([evals, xp.zeros(k - len(evals))])
    return weights, evals, np.ones(k, dtype=np.int64)


# ---------------------------------------------------------------------------
# the iterative solver (no covariance matrix formed)
# ---------------------------------------------------------------------------
def _solve_iterative(views, means, cs, k, *, tol, max_iter, random_state, verbose,
                     name):
    n = views[0].shape[0]
    sizes = [v.shape[1] for v in views]
    edges = np.concatenate([[0], np.cumsum(sizes)])
    total = int(edges[-1])
    m = len(views)
    xp = namespace_of(*views)
    gpu = xp is not np

    # ARPACK runs on the host: its vectors move to the views' device and the
    # products' results back, one vector of length sum p_i per application
    def to_views(v):
        v = np.asarray(v, dtype=np.float64).ravel()
        return xp.asarray(v) if gpu else v

    def to_arpack(v):
        return v.get() if gpu else v
    for X, c in zip(views, cs):
        if c == 0.0 and X.shape[1] >= n:
            raise ValueError(
                "the iterative solver needs c > 0 for a view with at least as many "
                f"features ({X.shape[1]}) as samples ({n}): its covariance is "
                "singular and CCA is degenerate there; use RidgeCCA with c > 0")
    counter = {"n": 0}
    bar = progress(None, verbose, desc=f"{name} (eigsh matvecs)")

    def split(v):
        return [v[edges[i]:edges[i + 1]] for i in range(m)]

    def a_matvec(v):
        v = to_views(v)
        z = [center_dot(X, vi, mu) for X, vi, mu in zip(views, split(v), means)]
        s = sum(z)
        out = [center_tdot(X, s - zi, mu) / (n - 1)
               for X, zi, mu in zip(views, z, means)]
        counter["n"] += 1
        bar.update(1)
        return to_arpack(xp.concatenate(out))

    def b_block(i, vi):
        X, mu, c = views[i], means[i], cs[i]
        if c == 1.0:
            return vi
        z = center_dot(X, vi, mu)
        return (1.0 - c) * center_tdot(X, z, mu) / (n - 1) + c * vi

    A = LinearOperator((total, total), matvec=a_matvec, dtype=np.float64)
    rng = np.random.default_rng(random_state)
    v0 = rng.standard_normal(total)
    kw = {"k": k, "which": "LA", "tol": tol, "maxiter": max_iter, "v0": v0,
          "ncv": min(total, max(2 * k + 1, 20))}
    try:
        with bar:
            if all(c == 1.0 for c in cs):
                evals, vecs = eigsh(A, **kw)
            else:
                def b_matvec(v):
                    v = to_views(v)
                    return to_arpack(xp.concatenate(
                        [b_block(i, vi) for i, vi in enumerate(split(v))]))

                def binv_matvec(v):
                    v = to_views(v)
                    out = []
                    for i, vi in enumerate(split(v)):
                        if cs[i] == 1.0:
                            out.append(vi)
                            continue
                        x, _ = cg(lambda u, i=i: b_block(i, u), vi, rtol=1e-10,
                                     maxiter=10 * sizes[i])
                        out.append(x)
                    return to_arpack(xp.concatenate(out))

                B = LinearOperator((total, total), matvec=b_matvec, dtype=np.float64)
                Binv = LinearOperator((total, total), matvec=binv_matvec,
                                      dtype=np.float64)
                evals, vecs = eigsh(A, M=B, Minv=Binv, **kw)
    except ArpackNoConvergence as exc:
        warnings.warn(f"{name}: eigsh did not converge in {max_iter} iterations "
                      f"({len(exc.eigenvalues)} of {k} eigenpairs found); increase "
                      "max_iter or tol", ConvergenceWarning, stacklevel=3)
        evals, vecs = exc.eigenvalues, exc.eigenvectors
        if len(evals) == 0:
            evals, vecs = np.zeros(0), np.zeros((total, 0))
    order = np.argsort(evals)[::-1]
    evals, vecs = evals[order], vecs[:, order]
    if gpu:  # the eigenpairs join the views on the device, once
        evals, vecs = xp.asarray(evals), xp.asarray(vecs)
    weights = []
    for i in range(m):
        W = vecs[edges[i]:edges[i + 1]]
        # scale each view's block to w^T B_i w = 1
        BW = xp.column_stack([b_block(i, W[:, j]) for j in range(W.shape[1])]) \
            if W.shape[1] else W
        nrm = xp.sqrt(xp.maximum(xp.einsum("ij,ij->j", W, BW), 0.0))
        W = W / xp.where(nrm > 0, nrm, 1.0)
        if W.shape[1] < k:
            W = xp.hstack([W, xp.zeros((W.shape[0], k - W.shape[1]))])
        weights.append(W)
    evals = xp.concatenate([evals, xp.zeros(k - len(evals))])
    return weights, evals, np.full(k, counter["n"], dtype=np.int64)


# ---------------------------------------------------------------------------
# estimators
# ---------------------------------------------------------------------------
class _GEPCCA(_BaseCCA):
    """Shared ``fit`` of the exact estimators."""

    def fit(self, X, y=None):
        """Fit the canonical directions.

        Parameters
        ----------
        X : {array-like, sparse array} of shape (n_samples, n_features) or list
            The first view, or a list of views ``[X1, ..., Xm]`` (then ``y``
            is not given).
        y : {array-like, sparse array} of shape (n_samples,) or \
(n_samples, n_targets)
            The second view (``Y``; sklearn's name).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        views = self._validate_views(X, y, reset=True)
        k = self._check_n_components(views)
        cs = self._ridge(len(views))
        if self.solver not in ("auto", "direct", "iterative"):
            raise ValueError(f"solver must be 'auto', 'direct' or 'iterative', "
                             f"got {self.solver!r}")
        n = views[0].shape[0]
        solver = self.solver
        if solver == "auto":
            solver = ("direct" if all(min(n, v.shape[1]) <= DIRECT_MAX for v in views)
                      else "iterative")
        means = [column_means(v) for v in views]
        if solver == "direct":
            weights, evals, n_iter = _solve_direct(views, means, cs, k)
        else:
            total = sum(v.shape[1] for v in views)
            if k >= total - 1:
                raise ValueError(f"the iterative solver needs n_components < "
                                 f"{total - 1}; use solver='direct'")
            weights, evals, n_iter = _solve_iterative(
                views, means, cs, k, tol=self.tol, max_iter=self.max_iter,
                random_state=0, verbose=self.verbose, name=type(self).__name__)
        weights = flip_signs(weights)
        self._set_fitted(weights, means)
        self.eigenvalues_ = evals
        self.n_iter_ = n_iter
        self.canonical_correlations_ = captured_correlations(self._scores(views))
        return self


_PARAMS_DOC = """
    solver : {'auto', 'direct', 'iterative'}, default='auto'
        ``'direct'`` whitens each view (feature space when ``n_features <=
        n_samples``, sample space otherwise) and solves one small dense
        problem; ``'iterative'`` runs ARPACK on operators built from products
        with the views, forming no covariance matrix. ``'auto'``: direct when
        every view has ``min(n_samples, n_features) <= 4000``.
    tol : float, default=0.0
        Relative accuracy of the eigenvalues for the iterative solver (0:
        machine precision).
    max_iter : int, default=None
        Maximum ARPACK restarts of the iterative solver (None: scipy's
        default, ``n * 10``).
    verbose : bool, default=False
        Show a progress bar of the iterative solver's operator applications.
"""

_ATTRS_DOC = """
    Attributes
    ----------
    x_weights_ : ndarray of shape (n_features, n_components)
        Weights of the first view, scaled so that ``w^T B_x w = 1`` (unit
        training variance for CCA, unit norm for PLS). Like every fitted array
        (not ``n_iter_``), a CuPy array when the model was fitted on GPU
        input; it then takes GPU input only.
    y_weights_ : ndarray of shape (n_targets, n_components)
        Weights of the second view.
    weights_ : list of ndarray
        Weights of every view (``[x_weights_, y_weights_]`` for two).
    x_mean_, y_mean_ : ndarray
        Column means of the first two views.
    means_ : list of ndarray
        Column means of every view (subtracted implicitly).
    eigenvalues_ : ndarray of shape (n_components,)
        Generalised eigenvalues: the canonical correlations for CCA, the
        singular values of the cross-covariance for PLS (two views).
    canonical_correlations_ : ndarray of shape (n_components,)
        Correlations of the training scores per component (mean over pairs of
        views for more than two): the correlation each component captures.
    n_iter_ : ndarray of shape (n_components,)
        Iterations per component, as in :class:`sklearn.cross_decomposition.CCA`:
        operator applications of the iterative solver (shared by all
        components), 1 for the direct solver.
    n_views_ : int
        Number of views fitted.
    n_features_per_view_ : list of int
        Features of each view.
    n_features_in_ : int
        Features of the first view.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the first view's features, when it had string names.
"""


class RidgeCCA(_GEPCCA):
    __doc__ = """Ridge-regularised CCA (canonical ridge): ``c=0`` is CCA, ``c=1`` PLS.

    Maximises ``sum_{i != j} w_i^T S_ij w_j`` subject to
    ``w_i^T ((1 - c_i) S_ii + c_i I) w_i = 1``, solved exactly as the
    generalised eigenproblem ``A w = lambda B w``. Dense, SciPy sparse and
    sparsela views are accepted; sparse views are centred implicitly and never
    densified.

    Parameters
    ----------
    n_components : int, default=2
        Number of canonical pairs.
    c : float or list of float, default=0.0
        Shrinkage of each view's covariance towards the identity, in [0, 1];
        one value for all views or one per view.
    """ + _PARAMS_DOC + _ATTRS_DOC + """
    See Also
    --------
    CCA : The case ``c=0``.
    PLS : The case ``c=1``.
    MCCA : More than two views.
    StochasticCCA : Minibatch SGD for data too large for an exact solve.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsela.cross_decomposition import RidgeCCA
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.standard_normal((100, 5)), rng.standard_normal((100, 3))
    >>> x_scores, y_scores = RidgeCCA(n_components=2, c=0.1).fit_transform(X, Y)
    >>> x_scores.shape
    (100, 2)
    """

    def __init__(self, n_components=2, *, c=0.0, solver="auto", tol=0.0,
                 max_iter=None, verbose=False):
        self.n_components = n_components
        self.c = c
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose


class MCCA(RidgeCCA):
    __doc__ = """Multiview (multiset) CCA: ``fit([X1, ..., Xm])``.

    Maximises the sum of all between-view covariances
    ``sum_{i != j} w_i^T S_ij w_j`` subject to
    ``sum_i w_i^T ((1 - c_i) S_ii + c_i I) w_i = 1``, the generalised
    eigenproblem with every off-diagonal block in ``A``. Two views give CCA
    (``c=0``) or PLS (``c=1``). Each view's weights are then scaled to
    ``w_i^T B_i w_i = 1``.

    Parameters
    ----------
    n_components : int, default=2
        Number of components.
    c : float or list of float, default=0.0
        Shrinkage of each view's covariance towards the identity, in [0, 1].
    """ + _PARAMS_DOC + _ATTRS_DOC + """
    Examples
    --------
    >>> import numpy as np
    >>> from sparsela.cross_decomposition import MCCA
    >>> rng = np.random.default_rng(0)
    >>> views = [rng.standard_normal((100, p)) for p in (5, 4, 3)]
    >>> [z.shape for z in MCCA(n_components=2, c=0.1).fit_transform(views)]
    [(100, 2), (100, 2), (100, 2)]
    """


class CCA(_GEPCCA):
    __doc__ = """Canonical correlation analysis (exact, as a generalised eigenproblem).

    ``RidgeCCA`` with ``c=0``: maximises ``corr(X w_x, Y w_y)`` over
    uncorrelated pairs of components. The same correlations as
    :class:`sklearn.cross_decomposition.CCA` (NIPALS, converged) in one
    eigendecomposition, on dense or sparse views (never densified).
    ``fit([X1, ..., Xm])`` gives multiview CCA (:class:`MCCA` with ``c=0``).

    Parameters
    ----------
    n_components : int, default=2
        Number of canonical pairs.
    """ + _PARAMS_DOC + _ATTRS_DOC + """
    Examples
    --------
    >>> import numpy as np
    >>> from sparsela.cross_decomposition import CCA
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 4))
    >>> Y = X[:, :2] + 0.5 * rng.standard_normal((200, 2))
    >>> cca = CCA(n_components=2).fit(X, Y)
    >>> bool(cca.score(X, Y) > 1.5)
    True
    """

    def __init__(self, n_components=2, *, solver="auto", tol=0.0, max_iter=None,
                 verbose=False):
        self.n_components = n_components
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose

    def _ridge(self, n_views):
        return [0.0] * n_views


class PLS(CCA):
    __doc__ = """Partial least squares (canonical, SVD form): ``RidgeCCA`` with ``c=1``.

    Maximises ``cov(X w_x, Y w_y)`` with ``||w_x|| = ||w_y|| = 1``: the top
    singular vectors of the cross-covariance ``X_c^T Y_c / (n - 1)``
    (``eigenvalues_`` are its singular values). The iterative solver applies
    the cross-covariance by two products with the views per step, so it runs
    on sparse data of any width.

    Parameters
    ----------
    n_components : int, default=2
        Number of components.
    """ + _PARAMS_DOC + _ATTRS_DOC + """
    Examples
    --------
    >>> import numpy as np
    >>> from sparsela.cross_decomposition import PLS
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.standard_normal((100, 6)), rng.standard_normal((100, 3))
    >>> PLS(n_components=2).fit(X, Y).x_weights_.shape
    (6, 2)
    """

    def _ridge(self, n_views):
        return [1.0] * n_views
