"""Dictionary learning on the ISTA/FISTA sparse coder.

Both estimators solve::

    min_{Z, D}  0.5 ||X - Z D||_F^2 + alpha ||Z||_1,1   s.t. ||D_k||_2 <= 1

by alternating a coding step (all signals at once, :mod:`._sparse_coding`)
and a dictionary step (block coordinate descent over the atoms, as
scikit-learn's ``_update_dict``). ``DictionaryLearning`` alternates on the
whole data set; ``MiniBatchDictionaryLearning`` is Mairal et al.'s online
algorithm (2009), with scikit-learn's early stopping and ``partial_fit``.

Sparse ``X`` (SciPy or sparsela) is never densified: it enters through
``X @ D.T`` and ``X.T @ Z`` (sparsela products), the row norms, and
one row at a time when an unused atom is resampled. The objective is
computed from those products (``||X||^2 - 2 <Z, X D^T> + <Z^T Z, D D^T>``).

GPU input (a CuPy array or a sparsela array on the GPU) is fitted on the
device: the coding steps run the coder's batch engine there, the dictionary
update and the initial SVD use the array module of ``X``
(``namespace_of``), random draws are made on the host and moved, and
``components_`` lives on the GPU. ``dict_init``/``code_init`` must then be
CuPy arrays (devices are never mixed implicitly). The fast approximator
(``fit_predictor=True``) trains on the device too, and its attributes live
there (see :mod:`._sparse_coding`).
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils.extmath import svd_flip
from sklearn.utils.validation import check_is_fitted

from .._device import device_of, namespace_of, same_device
from ..formats import SparseArray
from ..utils import progress, validate_data
from ._sparse_coding import (
    _BaseSparseCoding,
    _check_algorithm,
    _check_bool,
    _check_int,
    _check_nonneg,
    _cross,
    _gram,
    _lasso_codes,
    _lipschitz,
    _not_converged,
    _row_sq_norms,
)

__all__ = ["DictionaryLearning", "MiniBatchDictionaryLearning"]


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #
def _tdot(X, Z: np.ndarray) -> np.ndarray:
    """``X.T @ Z`` in float64 (a transposed sparsela SpMM for sparse X)."""
    xp = namespace_of(X, Z)
    if isinstance(X, SparseArray):
        return xp.asarray(X.astype(np.float64, copy=False).T @ Z)
    return xp.asarray(X, dtype=xp.float64).T @ Z


def _row(X, i: int) -> np.ndarray:
    """Row ``i`` of ``X`` as a dense 1-D float64 array."""
    if isinstance(X, SparseArray):
        return X[[i]].toarray().ravel().astype(np.float64)
    xp = namespace_of(X)
    return xp.asarray(X[i], dtype=xp.float64).copy()


def _svd_flip(U, Vt):
    """scikit-learn's ``svd_flip`` (u-based): NumPy through scikit-learn,
    device arrays by the same rule with their own module."""
    xp = namespace_of(U)
    if xp is np:
        return svd_flip(U, Vt)
    signs = xp.sign(U[xp.argmax(xp.abs(U), axis=0), xp.arange(U.shape[1])])
    return U * signs[None, :], Vt * signs[:, None]


def _randomized_svd(X, k: int, rng, n_oversamples: int = 10, n_iter: int = 4):
    """Top ``k`` singular triplets by a randomized range finder (Halko et al.)
    through ``X @`` and ``X.T @`` only (sparse ``X`` is not densified)."""
    n, p = X.shape
    xp = namespace_of(X)
    ell = min(k + n_oversamples, n, p)
    Q = rng.standard_normal((p, ell))
    if xp is not np:
        Q = xp.asarray(Q)   # drawn on the host (the CPU's stream), moved once
    Y = _cross(X, Q.T)                        # X @ Q
    for _ in range(n_iter):
        Q, _ = xp.linalg.qr(Y)
        Q, _ = xp.linalg.qr(_tdot(X, Q))
        Y = _cross(X, Q.T)
    Q, _ = xp.linalg.qr(Y)
    B = _tdot(X, Q).T                         # (ell, p) = Q^T X
    Ub, S, Vt = xp.linalg.svd(B, full_matrices=False)
    U = Q @ Ub
    U, Vt = _svd_flip(U, Vt)
    return U[:, :k], S[:k], Vt[:k]


def _svd_init(X, k: int, rng, exact: bool):
    """Code and dictionary from the SVD of X: ``(U, S Vt)``, padded to k."""
    n, p = X.shape
    xp = namespace_of(X)
    if exact and not isinstance(X, SparseArray):
        U, S, Vt = xp.linalg.svd(xp.asarray(X, dtype=xp.float64), full_matrices=False)
        U, Vt = _svd_flip(U, Vt)
    else:
        U, S, Vt = _randomized_svd(X, min(k, n, p), rng)
    code = U[:, :k]
    dictionary = S[:k, None] * Vt[:k]
    r = dictionary.shape[0]
    if k > r:
        code = xp.hstack([code, xp.zeros((n, k - r))])
        dictionary = xp.vstack([dictionary, xp.zeros((k - r, p))])
    return xp.ascontiguousarray(code), xp.ascontiguousarray(dictionary)


def _update_dict(dictionary, X, code, A=None, B=None, rng=None, positive=False,
                 verbose=False):
    """Block coordinate descent over the atoms, in place (scikit-learn's rule).

    ``A = code^T code`` and ``B = X^T code`` are the sufficient statistics;
    an atom that is almost never used (``A[k, k] <= 1e-6``) is replaced by a
    random signal plus 1% noise. Each atom is projected on the unit ball.
    Returns the number of resampled atoms.
    """
    n_samples, n_components = code.shape
    xp = namespace_of(dictionary)
    if A is None:
        A = code.T @ code
    if B is None:
        B = _tdot(X, code)
    # the usage test needs diag(A) on the host: one transfer, not one per atom
    A_diag = A.diagonal() if xp is np else A.diagonal().get()
    n_unused = 0
    for k in range(n_components):
        if A_diag[k] > 1e-6:
            dictionary[k] += (B[:, k] - A[k] @ dictionary) / A[k, k]
        else:
            newd = _row(X, int(rng.choice(n_samples)))
            noise_level = 0.01 * (float(newd.std()) or 1.0)
            noise = rng.normal(0.0, noise_level, size=newd.size)
            dictionary[k] = newd + (noise if xp is np else xp.asarray(noise))
            code[:, k] = 0.0
            n_unused += 1
        if xp is np:
            if positive:
                np.clip(dictionary[k], 0, None, out=dictionary[k])
            dictionary[k] /= max(np.linalg.norm(dictionary[k]), 1.0)
        else:   # no host sync per atom
            if positive:
                dictionary[k] = xp.maximum(dictionary[k], 0.0)
            dictionary[k] /= xp.maximum(xp.linalg.norm(dictionary[k]), 1.0)
    if verbose and n_unused:
        print(f"{n_unused} unused atoms resampled.")
    return n_unused


def _objective(xx_sum, code, C, G, alpha):
    """``0.5 ||X - code D||_F^2 + alpha ||code||_1`` from ``C = X D^T``, ``G``."""
    xp = namespace_of(code)
    A = code.T @ code
    rss = xx_sum - 2.0 * float(xp.sum(code * C)) + float(xp.sum(A * G))
    return 0.5 * max(rss, 0.0) + alpha * float(xp.abs(code).sum())


def _check_n_components(v):
    if v is None:
        return None
    return _check_int("n_components", v, 1)


class _DictionaryLearningBase(_BaseSparseCoding, BaseEstimator):
    """Shared parameter checks, coding step, tags and transform."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @property
    def _n_features_out(self):
        return self.components_.shape[0] * (2 if self.split_sign else 1)

    def _check_common(self):
        self._check_coding_params()
        _check_n_components(self.n_components)
        _check_nonneg("alpha", self.alpha)
        _check_int("max_iter", self.max_iter, 0)
        _check_nonneg("tol", self.tol)
        _check_algorithm("fit_algorithm", self.fit_algorithm)
        _check_bool("positive_dict", self.positive_dict)
        _check_bool("warm_start", self.warm_start)
        if self.callback is not None and not callable(self.callback):
            raise ValueError(f"callback must be callable or None, got {self.callback!r}.")

    def _code(self, C, G, xx, D, init, alpha=None):
        """One coding step of the fit (``fit_algorithm``, ``alpha``)."""
        Z, _, gaps = _lasso_codes(
            C, G, xx, self.alpha if alpha is None else alpha, L=_lipschitz(D, G),
            algorithm=self.fit_algorithm, tol=self.transform_tol,
            max_iter=self.transform_max_iter, positive=self.positive_code, init=init)
        return Z, not bool(_not_converged(gaps, xx, self.transform_tol).any())

    def _check_gpu_fit(self, X):
        """TypeErrors for a fit on the GPU that would need a transfer."""
        if device_of(X) != "gpu":
            return
        for name in ("dict_init", "code_init"):
            init = getattr(self, name, None)
            if init is not None:
                same_device("X", X, name, init)

    def _warm_dictionary(self, n_features, k, X=None):
        if self.warm_start and hasattr(self, "components_") and \
                self.components_.shape == (k, n_features):
            if X is not None:
                same_device("X", X, f"the fitted {type(self).__name__} (warm_start)",
                             self.components_)
            if device_of(self.components_) == "gpu":
                return self.components_.astype(np.float64, order="C", copy=True)
            return np.array(self.components_, dtype=np.float64, order="C")
        return None

    def _check_dict_init(self, n_features, k):
        if self.dict_init is None:
            return None
        if device_of(self.dict_init) == "gpu":
            D = self.dict_init.astype(np.float64, order="C", copy=True)
        else:
            D = np.array(self.dict_init, dtype=np.float64, order="C")
        if D.shape != (k, n_features):
            raise ValueError(
                f"dict_init must have shape (n_components, n_features)={(k, n_features)}, "
                f"got {D.shape}.")
        return D

    def _after_fit(self, X, rng):
        """Train the fast approximator on the exact codes of X, if asked.
        Returns those codes (None without the approximator)."""
        self._clear_predictor()
        if not self.fit_predictor:
            return None
        Z, _ = self._exact_codes(X, self.components_, warn=False)
        self._train_predictor(X, Z, self.components_, rng)
        return Z

    def transform(self, X, *, fast=False):
        """Encode the data as sparse combinations of the learned atoms.

        Parameters
        ----------
        X : {array-like, SciPy sparse, sparsela array} of shape (n_samples, n_features)
            The signals.
        fast : bool, default=False
            Use the learned approximator ``g * tanh(W x + b)`` (needs
            ``fit_predictor=True``) instead of solving the Lasso.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The codes (``2 * n_components`` columns with ``split_sign``).
        """
        check_is_fitted(self)
        self._check_coding_params()
        return self._transform(X, self.components_, fast=fast)

    def inverse_transform(self, X):
        """Map codes back to signals: ``X @ components_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes (``2 * n_components`` columns with ``split_sign``).

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            The reconstructed signals.
        """
        check_is_fitted(self)
        return self._inverse_transform(X, self.components_)


class DictionaryLearning(_DictionaryLearningBase):
    """Dictionary learning with an ISTA/FISTA sparse coder.

    Finds a dictionary ``D`` (``components_``) and codes ``Z`` minimising::

        0.5 ||X - Z D||_F^2 + alpha ||Z||_1,1    with ||D_k||_2 <= 1

    by alternating batch FISTA coding of all signals and block coordinate
    descent on the atoms (scikit-learn's ``DictionaryLearning`` with
    ``fit_algorithm="cd"``, same objective and dictionary update). Dense,
    SciPy sparse and sparsela inputs are accepted; sparse ``X`` is never
    densified.

    Parameters
    ----------
    n_components : int, default=None
        Number of atoms; None means ``n_features``.
    alpha : float, default=1.0
        Sparsity penalty of the fit.
    max_iter : int, default=1000
        Most alternations.
    tol : float, default=1e-8
        Stop when the objective decreases by less than ``tol`` times its value.
    fit_algorithm : {"fista", "ista"}, default="fista"
        Coder used during the fit.
    transform_algorithm : {"fista", "ista"}, default="fista"
        Coder used by ``transform``.
    transform_alpha : float, default=None
        Penalty used by ``transform``; None means ``alpha``.
    transform_max_iter : int, default=1000
        Most coder steps per signal (fit and transform).
    transform_tol : float, default=1e-12
        Coder tolerance: duality gap ``<= transform_tol * ||x||^2``.
    code_init : ndarray of shape (n_samples, n_components), default=None
        Start codes (used with ``dict_init``).
    dict_init : ndarray of shape (n_components, n_features), default=None
        Start dictionary.
    callback : callable, default=None
        Called every five iterations with a dict of the local variables.
    verbose : bool or int, default=False
        Show a progress bar over the alternations (tqdm when installed).
    split_sign : bool, default=False
        ``transform`` returns ``[max(z, 0), -min(z, 0)]``.
    random_state : int, RandomState instance or None, default=None
        Seeds the resampling of unused atoms, the randomized SVD of sparse
        ``X`` and the approximator's minibatches.
    positive_code : bool, default=False
        Nonnegative codes.
    positive_dict : bool, default=False
        Nonnegative atoms.
    warm_start : bool, default=False
        Start a new ``fit`` from the current ``components_`` (same shape).
    fit_predictor : bool, default=False
        After the fit, train the fast approximator ``z ~ g * tanh(W x + b)``
        on the exact codes of the training data (``transform(X, fast=True)``).
    predictor_max_iter : int, default=100
        Most training epochs of the approximator.
    predictor_batch_size : int, default=256
        Its minibatch size.
    predictor_learning_rate : float, default=0.001
        Its Adam step size (on standardised data).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The atoms.
    error_ : list of float
        Objective after each alternation.
    n_iter_ : int
        Number of alternations run.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X`
        has feature names that are all strings.
    predictor_coef_ : ndarray of shape (n_components, n_features)
        ``W`` of the fast approximator (``fit_predictor=True`` only); like
        the two below, on the device of the training data (a CuPy array
        after a fit on the GPU).
    predictor_intercept_ : ndarray of shape (n_components,)
        ``b`` of the fast approximator.
    predictor_gain_ : ndarray of shape (n_components,)
        ``g`` of the fast approximator.
    predictor_n_iter_ : int
        Its training epochs.
    predictor_loss_ : float
        Its last epoch's mean ``0.5 ||z - g tanh(W x + b)||^2``.

    See Also
    --------
    MiniBatchDictionaryLearning : The online version.
    SparseCoder : Coding against a fixed dictionary.

    Examples
    --------
    >>> from sklearn.datasets import make_sparse_coded_signal
    >>> from sparsela.decomposition import DictionaryLearning
    >>> X, _, _ = make_sparse_coded_signal(n_samples=30, n_components=15,
    ...                                    n_features=20, n_nonzero_coefs=10,
    ...                                    random_state=42)
    >>> dl = DictionaryLearning(n_components=15, alpha=0.1, random_state=42)
    >>> Z = dl.fit_transform(X)
    >>> Z.shape, dl.components_.shape
    ((30, 15), (15, 20))
    """

    def __init__(self, n_components=None, *, alpha=1.0, max_iter=1000, tol=1e-8,
                 fit_algorithm="fista", transform_algorithm="fista",
                 transform_alpha=None, transform_max_iter=1000,
                 transform_tol=1e-12, code_init=None, dict_init=None,
                 callback=None, verbose=False, split_sign=False,
                 random_state=None, positive_code=False, positive_dict=False,
                 warm_start=False, fit_predictor=False, predictor_max_iter=100,
                 predictor_batch_size=256, predictor_learning_rate=0.001):
        self.n_components = n_components
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.fit_algorithm = fit_algorithm
        self.transform_algorithm = transform_algorithm
        self.transform_alpha = transform_alpha
        self.transform_max_iter = transform_max_iter
        self.transform_tol = transform_tol
        self.code_init = code_init
        self.dict_init = dict_init
        self.callback = callback
        self.verbose = verbose
        self.split_sign = split_sign
        self.random_state = random_state
        self.positive_code = positive_code
        self.positive_dict = positive_dict
        self.warm_start = warm_start
        self.fit_predictor = fit_predictor
        self.predictor_max_iter = predictor_max_iter
        self.predictor_batch_size = predictor_batch_size
        self.predictor_learning_rate = predictor_learning_rate

    def fit(self, X, y=None):
        """Learn the dictionary from X.

        Parameters
        ----------
        X : {array-like, SciPy sparse, sparsela array} of shape (n_samples, n_features)
            Training signals, one per row.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        """Learn the dictionary from X and return the codes of X.

        The codes are those of ``transform(X)`` (the coder's settings, the
        final dictionary).

        Parameters
        ----------
        X : {array-like, SciPy sparse, sparsela array} of shape (n_samples, n_features)
            Training signals, one per row.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The codes.
        """
        X, code = self._fit(X)
        if code is None:
            code, _ = self._exact_codes(X, self.components_)
        return self._finish(code, X.dtype)

    def _fit(self, X):
        self._check_common()
        X = validate_data(self, X, accept_sparse=True, dtype=(np.float64, np.float32),
                          accept_gpu=True)
        self._check_gpu_fit(X)
        n, p = X.shape
        k = p if self.n_components is None else self.n_components
        rng = check_random_state(self.random_state)

        D = self._warm_dictionary(p, k, X)
        code = None
        if D is None:
            D = self._check_dict_init(p, k)
            if D is not None:
                same_device("X", X, "dict_init", D)
            if D is not None and self.code_init is not None:
                same_device("X", X, "code_init", self.code_init)
                if device_of(self.code_init) == "gpu":
                    code = self.code_init.astype(np.float64, order="C", copy=True)
                else:
                    code = np.array(self.code_init, dtype=np.float64, order="C")
                if code.shape != (n, k):
                    raise ValueError(
                        f"code_init must have shape (n_samples, n_components)={(n, k)}, "
                        f"got {code.shape}.")
        if D is None:
            code, D = _svd_init(X, k, rng, exact=True)

        xx = _row_sq_norms(X)
        xx_sum = float(xx.sum())
        G = _gram(D)
        C = _cross(X, D)
        errors = []
        converged = self.max_iter == 0
        coded = True
        ii = -1
        with progress(self.max_iter, self.verbose, desc=type(self).__name__) as bar:
            for ii in range(self.max_iter):
                code, ok = self._code(C, G, xx, D, code)
                coded &= ok
                _update_dict(D, X, code, rng=rng, positive=self.positive_dict,
                             verbose=self.verbose > 1)
                G = _gram(D)
                C = _cross(X, D)
                current_cost = _objective(xx_sum, code, C, G, self.alpha)
                errors.append(current_cost)
                bar.update()
                bar.set_postfix(cost=f"{current_cost:.6g}")
                if ii > 0 and errors[-2] - errors[-1] < self.tol * errors[-1]:
                    converged = True
                    break
                if ii % 5 == 0 and self.callback is not None:
                    self.callback({"ii": ii, "dictionary": D, "code": code,
                                   "errors": errors, "current_cost": current_cost})
        if not converged:
            warnings.warn(
                f"DictionaryLearning did not converge in max_iter={self.max_iter} "
                f"alternations (tol={self.tol:g}); increase max_iter or tol.",
                ConvergenceWarning, stacklevel=3)
        if not coded:
            warnings.warn(
                "DictionaryLearning: some coding steps stopped at transform_max_iter="
                f"{self.transform_max_iter} before the duality-gap tolerance "
                f"transform_tol={self.transform_tol:g}; increase transform_max_iter.",
                ConvergenceWarning, stacklevel=3)
        self.components_ = D.astype(X.dtype, copy=False)
        self.error_ = errors
        self.n_iter_ = ii + 1
        return X, self._after_fit(X, rng)


class MiniBatchDictionaryLearning(_DictionaryLearningBase):
    """Online (mini-batch) dictionary learning with an ISTA/FISTA coder.

    Mairal, Bach, Ponce & Sapiro's online algorithm (2009) as in
    scikit-learn's ``MiniBatchDictionaryLearning``: each minibatch is coded
    (batch FISTA), the sufficient statistics ``A = sum z z^T`` and
    ``B = sum x z^T`` are updated with a forgetting factor, and the atoms take
    one block-coordinate pass. Early stopping on a small dictionary change
    (``tol``) or no improvement of the smoothed batch cost
    (``max_no_improvement``). ``partial_fit`` takes one step on the batch it
    is given, for streaming (e.g. Dask incremental) fits. Sparse ``X`` is
    never densified.

    Parameters
    ----------
    n_components : int, default=None
        Number of atoms; None means ``n_features``.
    alpha : float, default=1.0
        Sparsity penalty of the fit.
    max_iter : int, default=1000
        Most passes over the data.
    fit_algorithm : {"fista", "ista"}, default="fista"
        Coder used during the fit.
    batch_size : int, default=256
        Signals per minibatch.
    shuffle : bool, default=True
        Shuffle the signals before forming minibatches.
    dict_init : ndarray of shape (n_components, n_features), default=None
        Start dictionary.
    transform_algorithm : {"fista", "ista"}, default="fista"
        Coder used by ``transform``.
    transform_alpha : float, default=None
        Penalty used by ``transform``; None means ``alpha``.
    verbose : bool or int, default=False
        Show a progress bar over the minibatch steps (tqdm when installed).
    split_sign : bool, default=False
        ``transform`` returns ``[max(z, 0), -min(z, 0)]``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial randomized SVD, the shuffling, the resampling of
        unused atoms and the approximator's minibatches.
    positive_code : bool, default=False
        Nonnegative codes.
    positive_dict : bool, default=False
        Nonnegative atoms.
    transform_max_iter : int, default=1000
        Most coder steps per signal (fit and transform).
    transform_tol : float, default=1e-12
        Coder tolerance: duality gap ``<= transform_tol * ||x||^2``.
    callback : callable, default=None
        Called after every minibatch step with a dict of the local variables.
    tol : float, default=1e-3
        Stop when the dictionary changes by at most ``tol`` (Frobenius norm
        over ``n_components``) between two steps; 0 disables it.
    max_no_improvement : int, default=10
        Stop after this many steps without improvement of the smoothed batch
        cost; None disables it.
    warm_start : bool, default=False
        Start a new ``fit`` from the current ``components_`` (same shape).
    fit_predictor : bool, default=False
        Train the fast approximator ``z ~ g * tanh(W x + b)`` on the exact
        codes: after ``fit`` on the training data, and in ``partial_fit`` one
        epoch on each batch.
    predictor_max_iter : int, default=100
        Most training epochs of the approximator in ``fit``.
    predictor_batch_size : int, default=256
        Its minibatch size.
    predictor_learning_rate : float, default=0.001
        Its Adam step size (on standardised data).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The atoms.
    n_iter_ : int
        Number of passes over the data.
    n_steps_ : int
        Number of minibatch steps.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X`
        has feature names that are all strings.
    predictor_coef_ : ndarray of shape (n_components, n_features)
        ``W`` of the fast approximator (``fit_predictor=True`` only); like
        the two below, on the device of the training data (a CuPy array
        after a fit on the GPU).
    predictor_intercept_ : ndarray of shape (n_components,)
        ``b`` of the fast approximator.
    predictor_gain_ : ndarray of shape (n_components,)
        ``g`` of the fast approximator.
    predictor_n_iter_ : int
        Its training epochs.
    predictor_loss_ : float
        Its last epoch's mean ``0.5 ||z - g tanh(W x + b)||^2``.

    See Also
    --------
    DictionaryLearning : The batch version.
    SparseCoder : Coding against a fixed dictionary.

    Examples
    --------
    >>> from sklearn.datasets import make_sparse_coded_signal
    >>> from sparsela.decomposition import MiniBatchDictionaryLearning
    >>> X, _, _ = make_sparse_coded_signal(n_samples=100, n_components=15,
    ...                                    n_features=20, n_nonzero_coefs=10,
    ...                                    random_state=42)
    >>> dl = MiniBatchDictionaryLearning(n_components=15, batch_size=16,
    ...                                  alpha=0.1, random_state=42)
    >>> dl.fit(X).transform(X).shape
    (100, 15)
    """

    def __init__(self, n_components=None, *, alpha=1.0, max_iter=1000,
                 fit_algorithm="fista", batch_size=256, shuffle=True,
                 dict_init=None, transform_algorithm="fista", transform_alpha=None,
                 verbose=False, split_sign=False, random_state=None,
                 positive_code=False, positive_dict=False, transform_max_iter=1000,
                 transform_tol=1e-12, callback=None, tol=1e-3,
                 max_no_improvement=10, warm_start=False, fit_predictor=False,
                 predictor_max_iter=100, predictor_batch_size=256,
                 predictor_learning_rate=0.001):
        self.n_components = n_components
        self.alpha = alpha
        self.max_iter = max_iter
        self.fit_algorithm = fit_algorithm
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.dict_init = dict_init
        self.transform_algorithm = transform_algorithm
        self.transform_alpha = transform_alpha
        self.verbose = verbose
        self.split_sign = split_sign
        self.random_state = random_state
        self.positive_code = positive_code
        self.positive_dict = positive_dict
        self.transform_max_iter = transform_max_iter
        self.transform_tol = transform_tol
        self.callback = callback
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.warm_start = warm_start
        self.fit_predictor = fit_predictor
        self.predictor_max_iter = predictor_max_iter
        self.predictor_batch_size = predictor_batch_size
        self.predictor_learning_rate = predictor_learning_rate

    # -- set-up ----------------------------------------------------------------
    def _check_params(self, X):
        self._check_common()
        _check_int("batch_size", self.batch_size, 1)
        _check_bool("shuffle", self.shuffle)
        if self.max_no_improvement is not None:
            _check_int("max_no_improvement", self.max_no_improvement, 0)
        p = X.shape[1]
        self._n_components = p if self.n_components is None else self.n_components
        self._batch_size = min(self.batch_size, X.shape[0])

    def _initialize_dict(self, X, rng):
        k, p = self._n_components, X.shape[1]
        D = self._warm_dictionary(p, k, X)
        if D is None:
            D = self._check_dict_init(p, k)
            if D is not None:
                same_device("X", X, "dict_init", D)
        if D is None:
            _, D = _svd_init(X, k, rng, exact=False)
        xp = namespace_of(X)
        return xp.ascontiguousarray(D, dtype=xp.float64)

    def _reset_stats(self, p, xp=np):
        k = self._n_components
        self._A = xp.zeros((k, k))
        self._B = xp.zeros((p, k))
        self._ewa_cost = None
        self._ewa_cost_min = None
        self._no_improvement = 0

    # -- one step --------------------------------------------------------------
    def _update_inner_stats(self, X, code, batch_size, step):
        if step < batch_size - 1:
            theta = (step + 1) * batch_size
        else:
            theta = batch_size ** 2 + step + 1 - batch_size
        beta = (theta + 1 - batch_size) / (theta + 1)
        self._A *= beta
        self._A += code.T @ code / batch_size
        self._B *= beta
        self._B += _tdot(X, code) / batch_size

    def _minibatch_step(self, X, dictionary, rng, step):
        batch_size = X.shape[0]
        G = _gram(dictionary)
        C = _cross(X, dictionary)
        xx = _row_sq_norms(X)
        code, ok = self._code(C, G, xx, dictionary, None)
        self._coded &= ok
        batch_cost = _objective(float(xx.sum()), code, C, G, self.alpha) / batch_size
        self._update_inner_stats(X, code, batch_size, step)
        _update_dict(dictionary, X, code, self._A, self._B, rng=rng,
                     positive=self.positive_dict, verbose=self.verbose > 1)
        return batch_cost

    def _check_convergence(self, batch_size, batch_cost, new_dict, old_dict,
                           n_samples, step):
        step = step + 1
        if step <= min(100, n_samples / batch_size):
            return False
        if self._ewa_cost is None:
            self._ewa_cost = batch_cost
        else:
            a = min(batch_size / (n_samples + 1), 1.0)
            self._ewa_cost = self._ewa_cost * (1 - a) + batch_cost * a
        dict_diff = float(namespace_of(new_dict).linalg.norm(new_dict - old_dict)) \
            / self._n_components
        if self.tol > 0 and dict_diff <= self.tol:
            return True
        if self._ewa_cost_min is None or self._ewa_cost < self._ewa_cost_min:
            self._no_improvement = 0
            self._ewa_cost_min = self._ewa_cost
        else:
            self._no_improvement += 1
        return (self.max_no_improvement is not None
                and self._no_improvement >= self.max_no_improvement)

    # -- public ----------------------------------------------------------------
    def fit(self, X, y=None):
        """Learn the dictionary from X by minibatch steps.

        Parameters
        ----------
        X : {array-like, SciPy sparse, sparsela array} of shape (n_samples, n_features)
            Training signals, one per row.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X = validate_data(self, X, accept_sparse=True, dtype=(np.float64, np.float32),
                          accept_gpu=True)
        self._check_params(X)
        self._check_gpu_fit(X)
        xp = namespace_of(X)
        rng = check_random_state(self.random_state)
        self._random_state = rng
        dictionary = self._initialize_dict(X, rng)
        old_dict = dictionary.copy()
        n_samples, n_features = X.shape
        if self.shuffle:
            perm = rng.permutation(n_samples)   # the host's stream, moved once
            X_train = X[perm if xp is np else xp.asarray(perm)]
        else:
            X_train = X
        self._reset_stats(n_features, xp)
        self._coded = True

        bs = self._batch_size
        batches = itertools.cycle(gen_batches(n_samples, bs))
        n_steps_per_iter = int(np.ceil(n_samples / bs))
        n_steps = self.max_iter * n_steps_per_iter
        stopped = n_steps == 0
        i = -1
        with progress(n_steps, self.verbose, desc=type(self).__name__) as bar:
            for i, batch in zip(range(n_steps), batches):
                X_batch = X_train[batch]
                batch_cost = self._minibatch_step(X_batch, dictionary, rng, i)
                bar.update()
                if self._check_convergence(X_batch.shape[0], batch_cost, dictionary,
                                           old_dict, n_samples, i):
                    stopped = True
                    break
                if self.callback is not None:
                    self.callback({"i": i, "dictionary": dictionary,
                                   "batch_cost": batch_cost})
                old_dict[:] = dictionary
        if not stopped:
            warnings.warn(
                f"MiniBatchDictionaryLearning did not converge in max_iter="
                f"{self.max_iter} passes (tol={self.tol:g}, max_no_improvement="
                f"{self.max_no_improvement}); increase max_iter.",
                ConvergenceWarning, stacklevel=2)
        if not self._coded:
            warnings.warn(
                "MiniBatchDictionaryLearning: some coding steps stopped at "
                f"transform_max_iter={self.transform_max_iter} before the duality-gap "
                f"tolerance transform_tol={self.transform_tol:g}.",
                ConvergenceWarning, stacklevel=2)
        self.n_steps_ = i + 1
        self.n_iter_ = int(np.ceil(self.n_steps_ / n_steps_per_iter))
        self.components_ = dictionary.astype(X.dtype, copy=False)
        self._after_fit(X, rng)
        return self

    def partial_fit(self, X, y=None):
        """Update the dictionary with one minibatch step on X.

        Parameters
        ----------
        X : {array-like, SciPy sparse, sparsela array} of shape (n_samples, n_features)
            The minibatch.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The updated estimator.
        """
        has_components = hasattr(self, "components_")
        X = validate_data(self, X, accept_sparse=True, dtype=(np.float64, np.float32),
                          reset=not has_components, accept_gpu=True)
        self._check_gpu_fit(X)
        if not has_components:
            self._check_params(X)
            self._random_state = check_random_state(self.random_state)
            dictionary = self._initialize_dict(X, self._random_state)
            self.n_steps_ = 0
            self._reset_stats(X.shape[1], namespace_of(X))
        else:
            self._check_common()
            same_device("X", X, "the fitted MiniBatchDictionaryLearning",
                         self.components_)
            if device_of(X) == "gpu":
                dictionary = self.components_.astype(np.float64, order="C", copy=True)
            else:
                dictionary = np.array(self.components_, dtype=np.float64, order="C")
        self._coded = True
        self._minibatch_step(X, dictionary, self._random_state, self.n_steps_)
        self.components_ = dictionary.astype(X.dtype, copy=False)
        self.n_steps_ += 1
        if self.fit_predictor:
            Z, _ = self._exact_codes(X, self.components_, warn=False)
            self._train_predictor(X, Z, self.components_, self._random_state,
                                  n_epochs=1, reset=not hasattr(self, "_predictor_state"))
        return self
