"""Sparse principal component analysis.

Three families of methods behind one scikit-learn estimator,
:class:`SparsePCA`:

``"tpower"``
    Truncated power method (Yuan & Zhang, 2013): ``x <- truncate_k(S x)``,
    normalised, on the covariance ``S``; exactly ``k`` non-zeros per
    component.
``"gpower_l1"``, ``"gpower_l0"``
    Single-unit generalised power method (Journee, Nesterov, Richtarik &
    Sepulchre, 2010) with an l1 or l0 penalty ``gamma``, followed by the
    paper's post-processing (the loadings of a pattern are the leading
    eigenvector of the covariance restricted to it).
``"spca"``
    Zou, Hastie & Tibshirani's (2006) SPCA: alternating elastic nets
    (coordinate descent on the ``p x p`` covariance) and a Procrustes (SVD)
    step.

Only the ``"spca"`` method forms the ``p x p`` covariance. ``"tpower"`` and
the ``"gpower"`` methods apply ``S v = Xc^T (Xc v) / (n - 1)`` through
:func:`sparsela.utils.center_dot` / :func:`sparsela.utils.center_tdot`
(``Xc = X - 1 mu^T`` is never formed), except for dense ``X`` with at
least as many samples as features, where the explicit ``p x p`` matrix is
cheaper to iterate on.

Several components: Schur complement deflation (Mackey, 2009),
``S <- S - S z z^T S / (z^T S z)``, kept as a rank-one correction of the
operator. It is the covariance of ``X`` once the scores of the previous
components are regressed out, so each component maximises Zou's adjusted
variance given the previous ones.

GPU input (a CuPy array or a sparsela array on the GPU) is validated and
fitted on the device: the products and dense work run through the array
module of ``X`` (``namespace_of``), the leading eigenvectors by a restarted
Lanczos on the device (ARPACK has no GPU twin), the adjusted variance by one
``xp.linalg.qr`` of the scores, and the fitted attributes live on the GPU.
``spca`` forms its ``p x p`` covariance on the device but runs Zou's
elastic nets (sequential coordinate descent) on the host, then moves the
loadings back.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._device import device_of, mismatch, namespace_of, same_device
from ..formats import SparseArray
from ..utils import center_dot, center_tdot, column_mean_var, progress, validate_data

__all__ = ["SparsePCA", "adjusted_variance"]

_METHODS = ("tpower", "gpower_l1", "gpower_l0", "spca")


# --------------------------------------------------------------------------- #
# Zou's adjusted variance
# --------------------------------------------------------------------------- #
def adjusted_variance(X, components, mean=None) -> np.ndarray:
    """Zou, Hastie & Tibshirani's adjusted variance of sparse components.

    Sparse loadings are not orthogonal and their scores are correlated, so
    the variances of the scores over-count. Zou et al. (2006, section 3.4)
    take the QR decomposition of the scores ``Z = (X - mean) V^T = Q R`` and
    report ``R_jj^2``: the variance of score ``j`` left once scores
    ``1..j-1`` are regressed out. (Computed by Gram-Schmidt, so that a zero
    score, or one in the span of the previous ones, gets 0 and leaves the
    others unchanged.) With the ``1 / (n - 1)`` normalisation
    used here, orthonormal PCA loadings give the PCA eigenvalues
    (scikit-learn's ``PCA.explained_variance_``).

    Parameters
    ----------
    X : {array-like, SciPy sparse, sparsela array} of shape (n_samples, n_features)
        Data; sparse ``X`` is not densified.
    components : array-like of shape (n_components, n_features)
        Loadings, one per row. Rows are normalised to unit length first (a
        zero row has adjusted variance 0). The order matters.
    mean : array-like of shape (n_features,), optional
        Column means to centre with; ``None`` computes them from ``X``.

    Returns
    -------
    ndarray of shape (n_components,)
        Adjusted variance of each component, in the order of ``components``.
        Their sum is the adjusted total variance.

    References
    ----------
    H. Zou, T. Hastie and R. Tibshirani, "Sparse principal component
    analysis", J. Comput. Graph. Statist. 15(2), 265-286, 2006.
    """
    from ..utils import check_array

    X = check_array(X, input_name="X", accept_gpu=True)
    xp = namespace_of(X)
    same_device("X", X, "components", components)
    V = xp.asarray(components, dtype=xp.float64)
    if V.ndim != 2 or V.shape[1] != X.shape[1]:
        raise ValueError(
            f"components must have shape (n_components, {X.shape[1]}), got {V.shape}.")
    if mean is None:
        mean, _ = column_mean_var(X)
    else:
        same_device("X", X, "mean", mean)
    mean = xp.asarray(mean, dtype=xp.float64)
    return _adjusted_variance(X, V, mean)




def _adjusted_variance(X, V, mean) -> np.ndarray:
    xp = namespace_of(X, V)
    if xp is not np:
        return _adjusted_variance_qr(X, V, mean, xp)
    n = X.shape[0]
    norms = np.linalg.norm(V, axis=1)
    Vn = np.divide(V, norms[:, None], out=np.zeros_like(V), where=norms[:, None] > 0)
    K = Vn.shape[0]
    out = np.zeros(K)
    if K == 0 or n == 0:
        return out
    Z = np.asarray(center_dot(X, Vn.T, mean), dtype=np.float64).reshape(n, K)
    return _gram_schmidt_variance(Z, np, out)


def _gram_schmidt_variance(Z, xp, out):
    """``R_jj ** 2 / (n - 1)`` of ``Z = QR`` by Gram-Schmidt (twice, for
    stability), into ``out``: a zero or dependent score explains nothing and
    leaves the later ones unchanged (Householder QR would hand it a direction
    of its own)."""
    n, K = Z.shape
    basis = xp.zeros((n, 0))
    for j in range(K):
        z = Z[:, j]
        r = z.copy()
        for _ in range(2):
            r -= basis @ (basis.T @ r)
        nr = float(xp.linalg.norm(r))
        if nr > 1e-10 * float(xp.linalg.norm(z)):
            out[j] = nr ** 2 / max(n - 1, 1)
            basis = xp.column_stack([basis, r / nr])
    return out


def _adjusted_variance_qr(X, V, mean, xp):
    """:func:`_adjusted_variance` on the device: ``R_jj`` from one
    ``xp.linalg.qr`` of the scores (one factorisation instead of ``K``
    dependent Gram-Schmidt steps). When some score is zero or dependent on
    the previous ones (``|R_jj|`` negligible), Householder QR hands it a
    direction of its own that would change the later ``R_ll``, so that rare
    case falls back to the CPU's Gram-Schmidt rule, written with ``xp``."""
    n, K = X.shape[0], V.shape[0]
    if K == 0 or n == 0:
        return xp.zeros(K)
    norms = xp.linalg.norm(V, axis=1)
    Vn = V / xp.where(norms > 0, norms, 1.0)[:, None]
    Z = xp.asarray(center_dot(X, Vn.T, mean), dtype=xp.float64).reshape(n, K)
    znorm = xp.linalg.norm(Z, axis=0)
    denom = max(n - 1, 1)
    if n >= K:
        R = xp.linalg.qr(Z, mode="r")
        rdiag = xp.abs(xp.diagonal(R))
        if bool(xp.all(rdiag > 1e-10 * znorm)):  # one sync: no degenerate score
            return rdiag ** 2 / denom
    return _gram_schmidt_variance(Z, xp, xp.zeros(K))


# --------------------------------------------------------------------------- #
# the covariance operator with Schur complement deflation
# --------------------------------------------------------------------------- #
class _Covariance:
    """``S_t v`` for the deflated covariance ``S_t = S - U U^T``.

    ``S = (X - 1 mu^T)^T (X - 1 mu^T) / (n - 1)``, applied implicitly
    (``explicit=False``) or held as a dense ``p x p`` matrix. Each
    :meth:`deflate` call adds a column to ``U`` (implicit) or subtracts the
    rank-one term from the matrix (explicit).
    """

    def __init__(self, X, mean, var, explicit: bool):
        n, p = X.shape
        self.X, self.mean, self.p = X, mean, p
        self.xp = namespace_of(X)
        self.denom = float(max(n - 1, 1))
        # ``column_mean_var`` is biased (ddof=0)
        self.diag0 = var * (n / self.denom)
        self.diag = self.diag0.copy()
        self.trace0 = float(self.diag0.sum())
        self.U: list = []
        self.matrix = _explicit_covariance(X, mean, self.denom) if explicit else None

    @property
    def explicit(self) -> bool:
        return self.matrix is not None

    def matvec(self, V: np.ndarray) -> np.ndarray:
        """``S_t V`` for ``V`` of shape ``(p,)`` or ``(p, m)``."""
        if self.matrix is not None:
            return self.matrix @ V
        # Xc^T (Xc V) with Xc = X - 1 mu^T never formed
        Y = center_dot(self.X, V, self.mean)
        xp = self.xp
        out = xp.asarray(center_tdot(self.X, Y, self.mean), dtype=xp.float64)
        out /= self.denom
        if self.U:
            U = xp.column_stack(self.U)
            out = out - U @ (U.T @ V)
        return out

    def submatrix(self, idx: np.ndarray) -> np.ndarray:
        """``S_t[idx][:, idx]`` (dense, ``len(idx)`` columns of the operator)."""
        if self.matrix is not None:
            return self.matrix[self.xp.ix_(idx, idx)]
        E = self.xp.zeros((self.p, idx.size))
        E[idx, self.xp.arange(idx.size)] = 1.0
        M = self.matvec(E)[idx]
        return 0.5 * (M + M.T)

    def deflate(self, z: np.ndarray) -> None:
        """Schur complement deflation: ``S_t <- S_t - S_t z z^T S_t / (z^T S_t z)``."""
        a = self.matvec(z)
        c = float(z @ a)
        if not c > 1e-12 * max(self.trace0, np.finfo(float).tiny):
            return  # no variance left along z: nothing to remove
        u = a / math.sqrt(c)
        if self.matrix is not None:
            self.matrix -= self.xp.outer(u, u)
        else:
            self.U.append(u)
        self.diag = self.xp.maximum(self.diag - u ** 2, 0.0)

    def exhausted(self) -> bool:
        return not float(self.diag.sum()) > 1e-12 * max(self.trace0, np.finfo(float).tiny)


def _explicit_covariance(X, mean, denom) -> np.ndarray:
    """The ``p x p`` covariance; sparse ``X`` through ``X.T @ X`` (SpGEMM)."""
    n = X.shape[0]
    xp = namespace_of(X)
    if isinstance(X, SparseArray):
        Xd = X.astype(np.float64, copy=False)
        G = (Xd.T @ Xd).toarray()
        G -= n * xp.outer(mean, mean)
    else:
        Xc = xp.asarray(X, dtype=xp.float64) - mean
        G = Xc.T @ Xc
    G /= denom
    return 0.5 * (G + G.T)


def _leading_eigvec(cov: _Covariance, idx, rng, tol: float = 1e-10) -> np.ndarray:
    """Leading eigenvector of ``S_t`` restricted to ``idx`` (all when None):
    dense ``eigh`` up to 64 variables (explicit matrix) or 2 (implicit),
    Lanczos (ARPACK ``eigsh``) on the operator beyond."""
    from scipy.sparse.linalg import (
        ArpackError,
        ArpackNoConvergence,
        LinearOperator,
        eigsh,
    )

    p = cov.p if idx is None else idx.size
    xp = cov.xp
    if (cov.explicit and p <= 64) or p <= 2:
        M = cov.submatrix(xp.arange(cov.p) if idx is None else idx)
        return xp.linalg.eigh(M)[1][:, -1]
    if xp is not np:
        return _leading_eigvec_device(cov, idx, rng, tol)
    if cov.explicit:
        M = cov.matrix if idx is None else cov.submatrix(idx)
        mv = M.__matmul__
    elif idx is None:
        mv = cov.matvec
    else:
        def mv(v):
            full = np.zeros((cov.p,) + v.shape[1:])
            full[idx] = v
            return cov.matvec(full)[idx]
    op = LinearOperator((p, p), matvec=mv, matmat=mv, dtype=np.float64)
    v0 = rng.uniform(-1.0, 1.0, p)
    try:
        return eigsh(op, k=1, which="LA", v0=v0, tol=tol)[1][:, 0]
    except ArpackNoConvergence as exc:
        if exc.eigenvectors.size:
            return exc.eigenvectors[:, 0]
        return v0 / np.linalg.norm(v0)
    except ArpackError:  # e.g. S_t v0 = 0
        return v0 / np.linalg.norm(v0)


#: Lanczos basis size per restart of the device eigensolver
_LANCZOS_STEPS = 40


def _leading_eigvec_device(cov: _Covariance, idx, rng, tol: float):
    """Leading eigenvector on the device: restarted Lanczos with full
    reorthogonalisation (no ARPACK on the GPU), restarted from the Ritz
    vector until ``||S v - theta v|| <= tol * theta``.

    The Krylov basis (at most ``_LANCZOS_STEPS`` vectors of length ``p``)
    stays on the device; only the tridiagonal coefficients (one scalar per
    step, the sync the stopping test needs anyway) go to the host, where the
    small tridiagonal eigenproblem is solved. The start vector is drawn on
    the host with ``rng``, like ARPACK's ``v0`` on the CPU, and moved once.
    """
    from scipy.linalg import eigh_tridiagonal

    xp = cov.xp
    p = cov.p if idx is None else idx.size
    if cov.explicit:
        M = cov.matrix if idx is None else cov.submatrix(idx)
        mv = M.__matmul__
    elif idx is None:
        mv = cov.matvec
    else:
        def mv(v):
            full = xp.zeros(cov.p)
            full[idx] = v
            return cov.matvec(full)[idx]
    v = xp.asarray(rng.uniform(-1.0, 1.0, p))
    v /= xp.linalg.norm(v)
    m = min(_LANCZOS_STEPS, p)
    for _restart in range(100):
        Q = xp.zeros((m, p))
        a, b = [], []
        for j in range(m):
            Q[j] = v
            w = mv(v)
            a.append(float(v @ w))
            Qj = Q[:j + 1]
            w -= Qj.T @ (Qj @ w)
            w -= Qj.T @ (Qj @ w)             # twice is enough (Kahan)
            bj = float(xp.linalg.norm(w))
            if j + 1 == m or bj <= 1e-12 * max(abs(a[0]), 1e-300):
                break                         # basis full, or invariant subspace
            b.append(bj)
            v = w / bj
        k = len(a)
        theta, S = eigh_tridiagonal(np.array(a), np.array(b[:k - 1]))
        y = xp.asarray(S[:, -1])
        v = Q[:k].T @ y
        v /= xp.linalg.norm(v)
        res = float(xp.linalg.norm(mv(v) - theta[-1] * v))
        if res <= tol * max(abs(float(theta[-1])), 1e-300) or k < m:
            break
    return v


def _flip(v):
    """Sign convention: the entry of largest magnitude is positive."""
    xp = namespace_of(v)
    if v.size and v[xp.argmax(xp.abs(v))] < 0:
        return -v
    return v


def _truncate(v, k: int):
    """``v`` with all but its ``k`` largest-magnitude entries set to zero."""
    if k >= v.size:
        return v.copy()
    xp = namespace_of(v)
    keep = xp.argpartition(xp.abs(v), v.size - k)[v.size - k:]
    out = xp.zeros_like(v)
    out[keep] = v[keep]
    return out


# --------------------------------------------------------------------------- #
# single components
# --------------------------------------------------------------------------- #
def _tpower_component(cov: _Covariance, k: int, max_iter: int, tol: float, rng):
    """Truncated power iteration from two starts; the better one is kept.

    Starts: the leading eigenvector of ``S_t`` truncated to its ``k``
    largest entries, and the indicator of the ``k`` largest diagonal
    entries of ``S_t``; the run ending with the larger ``x^T S_t x`` is
    kept (the method increases it monotonically from either start, Yuan &
    Zhang, 2013, but may stop at different local maxima).
    Returns ``(x, n_iter, converged)``.
    """
    # the start only needs the large entries right: a loose eigensolve
    starts = [_truncate(_leading_eigvec(cov, None, rng, tol=1e-4), k)]
    diag_start = cov.xp.zeros(cov.p)
    diag_start[cov.xp.argsort(-cov.diag, kind="stable")[:k]] = 1.0
    starts.append(diag_start)
    best = None
    for x0 in starts:
        x, it, ok = _tpower(cov, x0, k, max_iter, tol)
        val = float(x @ cov.matvec(x))
        if best is None or val > best[0] * (1 + 1e-12):
            best = (val, x, it, ok)
    return best[1], best[2], best[3]


def _tpower(cov, x, k, max_iter, tol):
    xp = cov.xp
    nrm = float(xp.linalg.norm(x))
    if nrm == 0:
        x = xp.zeros(cov.p)
        x[xp.argmax(cov.diag)] = 1.0
    else:
        x = x / nrm
    for it in range(1, max_iter + 1):
        s = _truncate(cov.matvec(x), k)
        nrm = float(xp.linalg.norm(s))  # the stopping tests: two scalars per step
        if nrm == 0:  # x is in the null space of S_t: any k-sparse x is optimal
            return x, it, True
        s /= nrm
        delta = float(xp.linalg.norm(s - x))
        x = s
        if delta <= tol:
            return x, it, True
    return x, max_iter, False


def _gpower_component(cov: _Covariance, alpha: float, l0: bool, max_iter: int,
                      tol: float, rng):
    """Single-unit GPower (l1 or l0) in loading space, then post-processing.

    GPower's iterate lives in sample space, ``x = D w / ||D w||`` with
    ``D = Xc_t / sqrt(n - 1)`` the deflated, centred data; then
    ``D^T x = S_t w / sqrt(w^T S_t w)`` and the whole method runs on the
    covariance operator. ``gamma = alpha * max_i ||d_i||`` (l1) or
    ``alpha * max_i ||d_i||^2`` (l0), ``d_i`` the columns of ``D``.
    Returns ``(z, n_iter, converged)``.
    """
    xp = cov.xp
    diag = cov.diag
    w = xp.zeros(cov.p)
    w[xp.argmax(diag)] = 1.0  # x0 = the column of largest norm (Journee et al.)
    gamma = alpha * (math.sqrt(float(diag.max())) if not l0 else float(diag.max()))
    f_old = -np.inf
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        s = cov.matvec(w)
        q = float(w @ s)
        if not q > 0:
            converged = True
            break
        t = s / math.sqrt(q)
        if l0:
            mask = t * t > gamma
            w_new = xp.where(mask, t, 0.0)
            f = float(xp.sum(t[mask] ** 2 - gamma))
        else:
            w_new = xp.sign(t) * xp.maximum(xp.abs(t) - gamma, 0.0)
            f = float(w_new @ w_new)
        if not w_new.any():  # gamma above every correlation: keep the last pattern
            converged = True
            break
        w = w_new
        if abs(f - f_old) <= tol * abs(f):
            converged = True
            break
        f_old = f
    pattern = xp.flatnonzero(w)
    # post-processing: the best loadings on this pattern
    z = xp.zeros(cov.p)
    z[pattern] = _leading_eigvec(cov, pattern, rng)
    return z, it, converged


# --------------------------------------------------------------------------- #
# Zou's SPCA
# --------------------------------------------------------------------------- #
class _ElasticNetGram:
    """``b_j = argmin (a_j - b)^T G (a_j - b) + ridge ||b||^2 + l1 ||b||_1``,
    one column per component, by coordinate descent warm started from the
    previous ``B``.

    scikit-learn's :func:`~sklearn.linear_model.enet_path` on the square
    root ``R = diag(sqrt(w)) V^T`` of ``G = V diag(w) V^T``: ``R^T R = G``,
    so ``||R a - R b||^2 = (a - b)^T G (a - b)``, and ``G`` is passed as the
    precomputed Gram matrix. Coordinate descent rather than LARS-EN: LARS
    lets only one of several exactly tied variables enter (scikit-learn's
    ``lars_path`` skips zero-length steps), which breaks the descent.
    """

    def __init__(self, G, ridge, l1, tol):
        w, V = np.linalg.eigh(G)
        p = self.p = G.shape[0]
        self.R = np.asfortranarray(np.sqrt(np.maximum(w, 0.0))[:, None] * V.T)
        self.Gram = np.ascontiguousarray(self.R.T @ self.R)
        # sklearn: (1 / (2 p)) ||y - R b||^2 + c r ||b||_1 + (c (1 - r) / 2) ||b||^2
        self.c = l1 / (2 * p) + ridge / p
        self.ratio = (l1 / (2 * p)) / self.c if self.c > 0 else 1.0
        self.tol = tol

    def solve(self, A: np.ndarray, B0: np.ndarray) -> np.ndarray:
        import sklearn
        from sklearn.linear_model import enet_path

        if self.c == 0:  # no penalty: b_j = a_j is a minimiser
            return A.copy()
        B = np.empty_like(A)
        # inputs are checked here; skip scikit-learn's per-call validation
        with sklearn.config_context(skip_parameter_validation=True), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for j in range(A.shape[1]):
                y = self.R @ A[:, j]
                _, coefs, _ = enet_path(
                    self.R, y, l1_ratio=self.ratio, alphas=[self.c],
                    precompute=self.Gram, Xy=self.R.T @ y, check_input=False,
                    coef_init=np.ascontiguousarray(B0[:, j]), max_iter=10_000,
                    tol=self.tol)
                B[:, j] = coefs[:, 0]
        return B


def _spca(G: np.ndarray, n_components: int, l1, ridge, max_iter, tol, bar):
    """Zou's SPCA (algorithm 1) from the leading PCA loadings: ``B`` given
    ``A`` by one elastic net per component (coordinate descent), then
    ``A = U V^T`` from the SVD ``G B = U D V^T``.

    Zou's criterion (on the covariance scale),
    ``tr(G) - 2 tr(A^T G B) + tr(B^T G B) + ridge ||B||^2 + l1 ||B||_1``,
    decreases at every pass; stops when its relative decrease is at most
    ``tol`` and the supports of ``B`` did not change in the pass.
    Returns ``(B.T, n_iter, converged)``.
    """
    _evals, evecs = np.linalg.eigh(G)
    A = evecs[:, ::-1][:, :n_components].copy()
    B = np.zeros_like(A)
    enet = _ElasticNetGram(G, ridge, l1, min(tol, 1e-6))
    trace = float(np.trace(G))
    f_old = np.inf
    support = B != 0
    for it in range(1, max_iter + 1):
        B = enet.solve(A, B)
        support_old, support = support, B != 0
        GB = G @ B
        U, _, Vt = np.linalg.svd(GB, full_matrices=False)
        A = U @ Vt
        f = (trace - 2 * float(np.sum(A * GB)) + float(np.sum(B * GB))
             + ridge * float(np.sum(B * B)) + l1 * float(np.abs(B).sum()))
        change = (f_old - f) / max(abs(f), np.finfo(float).tiny) if np.isfinite(f_old) else np.inf
        f_old = f
        bar.update()
        bar.set_postfix(change=f"{change:.2e}")
        if abs(change) <= tol and np.array_equal(support, support_old):
            return B.T, it, True
    return B.T, max_iter, False


# --------------------------------------------------------------------------- #
# the estimator
# --------------------------------------------------------------------------- #
class SparsePCA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Sparse principal component analysis.

    Finds ``n_components`` sparse loading vectors (rows of
    ``components_``) that explain as much variance of the centred data as
    their sparsity allows. Dense, SciPy sparse and sparsela input are
    accepted; sparse ``X`` is never densified and never centred explicitly
    (scikit-learn's :class:`~sklearn.decomposition.SparsePCA` rejects it).

    Parameters
    ----------
    n_components : int or None, default=None
        Number of components; ``None`` keeps ``n_features``. At most
        ``n_features``.
    method : {"tpower", "gpower_l1", "gpower_l0", "spca"}, default="tpower"
        ``"tpower"``: truncated power method (Yuan & Zhang, 2013), exactly
        ``sparsity`` non-zeros per component. ``"gpower_l1"`` /
        ``"gpower_l0"``: single-unit generalised power method with an l1 /
        l0 penalty (Journee et al., 2010), sparsity set by ``alpha``, the
        loadings of the found pattern re-optimised (the paper's
        post-processing). ``"spca"``: Zou, Hastie & Tibshirani's (2006)
        alternating elastic net / Procrustes algorithm, sparsity set by
        ``alpha``. ``tpower`` and ``gpower`` find one component at a time
        and deflate by Schur complement (see Notes).
    sparsity : int, array-like of int or None, default=None
        Non-zeros per component (``tpower`` only); an array gives one count
        per component. ``None``: ``ceil(sqrt(n_features))``.
    alpha : float or None, default=None
        Sparsity penalty of the ``gpower`` and ``spca`` methods, relative,
        so that it does not depend on the scale of ``X`` (larger is
        sparser; ``None``: 0.1). ``gpower_l1``: ``gamma = alpha * max_i
        ||x_i||``, ``gpower_l0``: ``gamma = alpha * max_i ||x_i||^2``, with
        ``x_i`` the centred columns scaled by ``1 / sqrt(n - 1)`` (of the
        deflated data), so ``0 <= alpha < 1``. ``spca``: the l1 penalty of
        Zou's criterion on the covariance scale (``lambda_1 / (n - 1)``) is
        ``alpha * max_i S_ii``, ``S`` the covariance; components become
        zero as ``alpha`` grows past ``2 lambda_max(S) / max_i S_ii``.
        Not used by ``tpower``.
    ridge_alpha : float, default=0.0
        Ridge penalty of Zou's elastic net (``spca`` only), relative like
        ``alpha``: ``lambda_2 / (n - 1) = ridge_alpha * max_i S_ii``. Zou
        et al. use 0 when ``n_samples > n_features`` and a positive value
        otherwise.
    max_iter : int, default=1000
        Maximum iterations per component (``tpower``, ``gpower``) or of
        the alternation (``spca``).
    tol : float, default=1e-6
        Stopping tolerance: change of the unit iterate (``tpower``),
        relative change of the objective (``gpower``, ``spca``).
    random_state : int, RandomState instance or None, default=None
        Seeds the start vectors of the Lanczos (ARPACK) eigensolves used
        for starting points and post-processing.
    verbose : bool or int, default=False
        Show a progress bar (tqdm when installed).

    Attributes
    ----------
    components_ : ndarray of shape (`n_components_`, n_features)
        (All array attributes live on the device of the training data: CuPy
        arrays after a fit on GPU input, see the module docstring.)
        Sparse loadings, unit length, largest-magnitude entry positive
        (``spca`` sets a component to zero when ``alpha`` removes all its
        loadings).
    n_components_ : int
        Number of components.
    mean_ : ndarray of shape (n_features,)
        Column means of the training data.
    explained_variance_ : ndarray of shape (`n_components_`,)
        Zou's adjusted variance of each component (see
        :func:`adjusted_variance`): variance of its score once the scores
        of the previous components are regressed out, ``1 / (n - 1)``
        normalisation. For non-sparse components, PCA's eigenvalues.
    explained_variance_ratio_ : ndarray of shape (`n_components_`,)
        ``explained_variance_`` over the total variance of the data.
    n_iter_ : int
        Largest number of iterations a component took (``tpower``,
        ``gpower``), or the number of alternations (``spca``).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` has string column names.

    See Also
    --------
    sklearn.decomposition.SparsePCA : Dictionary-learning sparse PCA (dense
        input only).
    sklearn.decomposition.PCA : Non-sparse PCA.

    Notes
    -----
    Covariance ``S = Xc^T Xc / (n - 1)`` with ``Xc = X - 1 mean_^T``. The
    ``tpower`` and ``gpower`` methods apply ``S`` as
    ``X^T (X v - 1 mean_^T v) - mean_ (...)`` (sparsela products, no
    centred copy) unless ``X`` is dense with ``n_samples >= n_features``,
    where the explicit ``p x p`` matrix is formed once. ``spca`` always
    forms the ``p x p`` covariance (``X.T @ X`` by SpGEMM for sparse ``X``),
    as Zou's algorithm works on the Gram matrix: memory ``O(p^2)``.

    Deflation (``tpower``, ``gpower``): after component ``z``,
    ``S <- S - S z z^T S / (z^T S z)`` (Schur complement deflation, Mackey
    2009), kept as a rank-one correction of the operator. It equals the
    covariance of the data with the score ``Xc z`` regressed out, so
    ``z^T S z`` of the next component is exactly its adjusted variance and
    the components are chosen greedily for Zou's adjusted variance.
    ``spca`` fits all components jointly and needs no deflation.

    ``transform`` is the projection ``(X - mean_) @ components_.T`` (not
    scikit-learn's ridge regression on the components), and
    ``inverse_transform`` maps back with ``Z @ components_ + mean_``; the
    two are exact inverses only when the components span the data and are
    orthonormal.

    References
    ----------
    X.-T. Yuan and T. Zhang, "Truncated power method for sparse eigenvalue
    problems", JMLR 14, 899-925, 2013.

    M. Journee, Yu. Nesterov, P. Richtarik and R. Sepulchre, "Generalized
    power method for sparse principal component analysis", JMLR 11,
    517-553, 2010.

    H. Zou, T. Hastie and R. Tibshirani, "Sparse principal component
    analysis", J. Comput. Graph. Statist. 15(2), 265-286, 2006.

    L. Mackey, "Deflation methods for sparse PCA", NIPS 21, 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsela.decomposition import SparsePCA
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 10))
    >>> X[:, :3] += 3 * rng.standard_normal((200, 1))
    >>> spca = SparsePCA(n_components=2, sparsity=3, random_state=0).fit(X)
    >>> np.flatnonzero(spca.components_[0])
    array([0, 1, 2])
    >>> spca.transform(X).shape
    (200, 2)
    """

    def __init__(self, n_components=None, *, method="tpower", sparsity=None,
                 alpha=None, ridge_alpha=0.0, max_iter=1000, tol=1e-6,
                 random_state=None, verbose=False):
        self.n_components = n_components
        self.method = method
        self.sparsity = sparsity
        self.alpha = alpha
        self.ridge_alpha = ridge_alpha
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    # ------------------------------------------------------------------ #
    def _check_params(self, n_features):
        if self.method not in _METHODS:
            raise ValueError(
                f"method must be one of {_METHODS}, got {self.method!r}.")
        if self.n_components is None:
            K = n_features
        elif (isinstance(self.n_components, numbers.Integral)
              and not isinstance(self.n_components, bool)
              and 1 <= self.n_components <= n_features):
            K = int(self.n_components)
        else:
            raise ValueError(
                f"n_components must be None or an int in [1, n_features={n_features}], "
                f"got {self.n_components!r}.")
        for name in ("max_iter",):
            v = getattr(self, name)
            if not (isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1):
                raise ValueError(f"{name} must be an int >= 1, got {v!r}.")
        if not (isinstance(self.tol, numbers.Real) and self.tol >= 0):
            raise ValueError(f"tol must be a float >= 0, got {self.tol!r}.")
        if not (isinstance(self.ridge_alpha, numbers.Real) and self.ridge_alpha >= 0):
            raise ValueError(f"ridge_alpha must be a float >= 0, got {self.ridge_alpha!r}.")

        m = self.method
        ks = alpha = None
        if m.startswith("gpower"):
            if self.sparsity is not None:
                raise ValueError(
                    f"method={m!r} sets the sparsity with alpha; sparsity must be None.")
            alpha = 0.1 if self.alpha is None else self.alpha
            if not (isinstance(alpha, numbers.Real) and 0 <= alpha < 1):
                raise ValueError(
                    f"alpha must be a float in [0, 1) for method={m!r}, got {alpha!r}.")
            return K, ks, float(alpha)
        if m == "tpower" and self.alpha is not None:
            raise ValueError(
                "method='tpower' sets the sparsity with sparsity (non-zeros per "
                "component); alpha must be None.")
        if m == "spca":
            if self.sparsity is not None:
                raise ValueError(
                    "method='spca' sets the sparsity with alpha; sparsity must be "
                    "None. (Zou et al.'s fixed number of non-zeros -- LARS-EN "
                    "stopped at k -- changes the penalty every pass and the "
                    "alternation need not converge; method='tpower' gives exactly "
                    "k non-zeros.)")
            alpha = 0.1 if self.alpha is None else self.alpha
            if not (isinstance(alpha, numbers.Real) and alpha >= 0):
                raise ValueError(f"alpha must be a float >= 0, got {alpha!r}.")
            return K, None, float(alpha)
        sp = self.sparsity
        if sp is None:
            ks = np.full(K, max(1, math.ceil(math.sqrt(n_features))))
        else:
            arr = np.asarray(sp)
            if arr.dtype.kind not in "iu" and not (
                    arr.dtype.kind == "f" and np.all(arr == np.round(arr))):
                raise ValueError(f"sparsity must be an int or ints, got {sp!r}.")
            arr = arr.astype(np.int64)
            if arr.ndim == 0:
                arr = np.full(K, int(arr))
            if arr.shape != (K,):
                raise ValueError(
                    f"sparsity must be an int or have shape (n_components,)=({K},), "
                    f"got shape {arr.shape}.")
            if np.any(arr < 1) or np.any(arr > n_features):
                raise ValueError(
                    f"sparsity must be between 1 and n_features={n_features}, got {sp!r}.")
            ks = arr
        return K, ks, alpha

    def fit(self, X, y=None):
        """Fit the sparse components.

        Parameters
        ----------
        X : {array-like, SciPy sparse, sparsela array} of shape (n_samples, n_features)
            Training data. Sparse input stays sparse.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : SparsePCA
            The fitted estimator.
        """
        X = validate_data(self, X, sparse_format="csr", accept_gpu=True)
        xp = namespace_of(X)
        n, p = X.shape
        K, ks, alpha = self._check_params(p)
        rng = check_random_state(self.random_state)
        mean, var = column_mean_var(X)
        mean = xp.asarray(mean, dtype=xp.float64)
        var = xp.asarray(var, dtype=xp.float64)
        denom = float(max(n - 1, 1))
        desc = f"SparsePCA({self.method})"

        if self.method == "spca":
            G = _explicit_covariance(X, mean, denom)
            if xp is not np:
                # Zou's elastic nets are coordinate descent (scikit-learn's
                # Cython, sequential by nature): the p x p covariance, formed
                # on the device, comes to the host once; the loadings go back
                G = G.get()
            with progress(self.max_iter, self.verbose, desc) as bar:
                # both penalties are relative to the largest variance
                scale = float(G.diagonal().max(initial=0.0))
                V, n_iter, converged = _spca(G, K, alpha * scale, self.ridge_alpha * scale,
                                             self.max_iter, self.tol, bar)
            norms = np.linalg.norm(V, axis=1)
            V = np.divide(V, norms[:, None], out=np.zeros_like(V),
                          where=norms[:, None] > 0)
            if not converged:
                warnings.warn(
                    f"SparsePCA(method='spca') did not converge in max_iter="
                    f"{self.max_iter} iterations; increase max_iter or tol.",
                    ConvergenceWarning, stacklevel=2)
            V = xp.asarray(V) if xp is not np else V
        else:
            explicit = not isinstance(X, SparseArray) and n >= p
            cov = _Covariance(X, mean, var, explicit)
            V = xp.zeros((K, p))
            n_iter, not_converged = 0, []
            with progress(K, self.verbose, desc) as bar:
                for j in range(K):
                    if cov.exhausted():
                        # no variance left: unit vectors on the largest diagonal
                        k = int(ks[j]) if ks is not None else 1
                        z = xp.zeros(p)
                        z[xp.argsort(-cov.diag0, kind="stable")[:k]] = 1.0
                        it, ok = 1, True
                    elif self.method == "tpower":
                        z, it, ok = _tpower_component(cov, int(ks[j]), self.max_iter,
                                                      self.tol, rng)
                    else:
                        z, it, ok = _gpower_component(
                            cov, alpha, self.method == "gpower_l0", self.max_iter,
                            self.tol, rng)
                    nrm = float(xp.linalg.norm(z))
                    z = z / nrm if nrm > 0 else z
                    V[j] = z
                    n_iter = max(n_iter, it)
                    if not ok:
                        not_converged.append(j)
                    cov.deflate(z)
                    bar.update()
                    bar.set_postfix(iter=it, nnz=int(xp.count_nonzero(z)))
            if not_converged:
                warnings.warn(
                    f"SparsePCA(method={self.method!r}) did not converge in "
                    f"max_iter={self.max_iter} iterations for component(s) "
                    f"{not_converged}; increase max_iter or tol.",
                    ConvergenceWarning, stacklevel=2)

        V = xp.stack([_flip(V[j]) for j in range(K)]).reshape(K, p)
        self.components_ = V
        self.n_components_ = K
        self.mean_ = mean
        self.n_iter_ = int(max(n_iter, 1))
        self.explained_variance_ = _adjusted_variance(X, V, mean)
        total = float(var.sum()) * n / denom
        self.explained_variance_ratio_ = (
            self.explained_variance_ / total if total > 0
            else xp.zeros_like(self.explained_variance_))
        return self

    def _check_device(self, X) -> None:
        """TypeError when ``X`` and the fitted attributes live apart."""
        dx = "gpu" if namespace_of(X) is not np else "cpu"
        dfit = device_of(self.components_)
        if dx != dfit:
            raise mismatch("X", dx, f"the fitted {type(self).__name__}", dfit)

    def transform(self, X):
        """Project ``X`` on the sparse components.

        Parameters
        ----------
        X : {array-like, SciPy sparse, sparsela array} of shape (n_samples, n_features)
            Data; sparse input is not densified.

        Returns
        -------
        X_new : ndarray of shape (n_samples, `n_components_`)
            ``(X - mean_) @ components_.T``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, sparse_format="csr", accept_gpu=True)
        self._check_device(X)
        xp = namespace_of(X)
        return xp.asarray(center_dot(X, self.components_.T, self.mean_),
                          dtype=xp.float64)

    def inverse_transform(self, X):
        """Map scores back to the feature space.

        Parameters
        ----------
        X : array-like of shape (n_samples, `n_components_`)
            Scores, as returned by :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            ``X @ components_ + mean_``. Exact only when the components are
            orthonormal and span the data.
        """
        from sklearn.utils import check_array as sk_check_array

        check_is_fitted(self)
        if namespace_of(X) is not np:
            from ..utils import check_array

            Z = check_array(X, accept_sparse=False, accept_gpu=True)
        else:
            Z = sk_check_array(X, dtype=(np.float64, np.float32))
        self._check_device(Z)
        if Z.shape[1] != self.components_.shape[0]:
            raise ValueError(
                f"X has {Z.shape[1]} columns, but SparsePCA has "
                f"{self.components_.shape[0]} components.")
        return Z @ self.components_ + self.mean_
