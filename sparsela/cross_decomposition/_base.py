"""What every CCA-family estimator shares: reading ``fit(X, Y)`` and
``fit([X1, ..., Xm])`` into a list of validated views, ``transform``,
``score`` and the captured correlations.

Views are NumPy arrays or sparsela arrays (SciPy sparse input is wrapped,
sharing its buffers), or, on the GPU, CuPy arrays and sparsela arrays on the
GPU: every view of a call must live on one device, and a model fitted on one
device takes data on that device only (fitted attributes live on the
device of the training data; nothing is moved implicitly). Sparse views are never densified: every product with a
view is ``X @ W`` or ``X.T @ Z`` and centring is implicit
(:func:`sparsela.utils.center_dot`).
"""
from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    MultiOutputMixin,
    TransformerMixin,
)
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from .._device import is_gpu_array, mismatch, namespace_of
from ..formats import SparseArray
from ..utils import center_dot, check_array, is_sparse_input, validate_data

__all__ = ["_BaseCCA", "captured_correlations", "is_multiview"]


def _is_2d(v) -> bool:
    if is_sparse_input(v):
        return True
    shape = getattr(v, "shape", None)
    if shape is not None:
        return len(shape) == 2
    if isinstance(v, (list, tuple)):
        try:
            return np.ndim(v) == 2
        except ValueError:  # ragged
            return False
    return False


def is_multiview(X, y=None) -> bool:
    """True when ``X`` is a list of views (``fit([X1, ..., Xm])``).

    A list of 2-D arrays (NumPy, SciPy/sparsela sparse, DataFrames, nested
    lists) with ``Y`` not given. A nested list of numbers is one 2-D ``X``.
    """
    return (y is None and isinstance(X, (list, tuple)) and len(X) >= 2
            and all(_is_2d(v) for v in X))


def device_of(X) -> str:
    """``'gpu'`` for a CuPy array or a sparsela array on the GPU, else ``'cpu'``."""
    return "gpu" if is_gpu_array(X) or getattr(X, "device", None) == "gpu" else "cpu"


def column_means(X) -> np.ndarray:
    """Column means of a dense or sparse view, in float64, on the view's device."""
    xp = namespace_of(X)
    if isinstance(X, SparseArray):
        return xp.asarray(X.sum(axis=0, dtype=np.float64), dtype=xp.float64).ravel() / X.shape[0]
    return xp.asarray(X, dtype=xp.float64).mean(axis=0)


def captured_correlations(scores: list[np.ndarray]) -> np.ndarray:
    """Per-component Pearson correlation of the views' scores.

    The mean over pairs of distinct views (one pair for two views), as
    cca-zoo's ``average_pairwise_correlations``.

    Parameters
    ----------
    scores : list of ndarray of shape (n_samples, n_components)

    Returns
    -------
    ndarray of shape (n_components,)
        On the scores' device.
    """
    xp = namespace_of(*scores)
    Z = [xp.asarray(z, dtype=xp.float64) for z in scores]
    Z = [z - z.mean(axis=0) for z in Z]
    norms = [xp.linalg.norm(z, axis=0) for z in Z]
    Z = [z / xp.where(nz > 1e-300, nz, 1.0) for z, nz in zip(Z, norms)]
    m = len(Z)
    total = xp.zeros(Z[0].shape[1])
    for i in range(m):
        for j in range(i + 1, m):
            total += xp.einsum("ij,ij->j", Z[i], Z[j])
    return total / (m * (m - 1) / 2)


def flip_signs(weights: list[np.ndarray]) -> list[np.ndarray]:
    """Deterministic signs: the largest-magnitude entry of each component of
    the first view's weights is positive (all views flip together)."""
    W0 = weights[0]
    if W0.size == 0:
        return weights
    xp = namespace_of(W0)
    idx = xp.argmax(xp.abs(W0), axis=0)
    s = xp.sign(W0[idx, xp.arange(W0.shape[1])])
    s[s == 0] = 1.0
    return [w * s for w in weights]


class _BaseCCA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, MultiOutputMixin,
               BaseEstimator):
    """Base class: view handling, ``transform``, ``score``.

    Subclasses implement ``_fit_views(views)`` that sets ``weights_`` (one
    ``(n_features_i, n_components)`` array per view) and ``means_``.
    """

    #: views below this many samples cannot have a covariance
    _min_samples = 2

    # -- the ridge parameter -------------------------------------------------
    def _ridge(self, n_views: int) -> list[float]:
        """``c_i`` of each view (``c`` broadcast), checked to be in [0, 1]."""
        c = getattr(self, "c", 0.0)
        if isinstance(c, Real) and not isinstance(c, bool):
            cs = [float(c)] * n_views
        else:
            try:
                cs = [float(ci) for ci in c]
            except TypeError:
                raise ValueError(f"c must be a float or a list of floats, got {c!r}") from None
            if len(cs) != n_views:
                raise ValueError(f"c has {len(cs)} values for {n_views} views")
        for ci in cs:
            if not 0.0 <= ci <= 1.0 or not np.isfinite(ci):
                raise ValueError(f"c must be in [0, 1], got {c!r}")
        return cs

    def _check_n_components(self, views) -> int:
        k = self.n_components
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise ValueError(f"n_components must be a positive int, got {k!r}")
        bound = min(v.shape[1] for v in views)
        if k > bound:
            raise ValueError(
                f"n_components={k} must be at most {bound}, the number of "
                "features of the narrowest view")
        return int(k)

    # -- reading views -------------------------------------------------------
    def _validate_views(self, X, Y, *, reset: bool) -> list:
        """The views of ``fit(X, Y)`` / ``fit([X1, ..., Xm])`` / ``transform``.

        ``reset=True`` (fit) records ``n_features_in_``, ``n_views_`` and
        ``n_features_per_view_``; otherwise the views are checked against
        them. A 1-D ``Y`` is one column.
        """
        if is_multiview(X, Y):
            views = list(X)
            first = validate_data(self, views[0], reset=reset,
                                  ensure_min_samples=self._min_samples if reset else 1,
                                  accept_gpu=True)
            rest = [check_array(v, input_name=f"views[{i}]",
                                ensure_min_samples=self._min_samples if reset else 1,
                                accept_gpu=True)
                    for i, v in enumerate(views[1:], start=1)]
            views = [first, *rest]
            names = ["views[0]"] + [f"views[{i}]" for i in range(1, len(views))]
        else:
            if Y is None:
                if reset:
                    raise ValueError(
                        f"{type(self).__name__} requires y to be passed, but the "
                        "target y is None (pass Y, or a list of views "
                        "[X1, ..., Xm] as X)")
                views = [validate_data(self, X, reset=False, accept_gpu=True)]
                self._check_device(views, ["X"])
                return views
            Xv = validate_data(self, X, reset=reset,
                               ensure_min_samples=self._min_samples if reset else 1,
                               accept_gpu=True)
            Yv = check_array(Y, input_name="Y", ensure_2d=False,
                             ensure_min_samples=self._min_samples if reset else 1,
                             accept_gpu=True)
            if not is_sparse_input(Yv) and Yv.ndim == 1:
                Yv = Yv.reshape(-1, 1)
            views = [Xv, Yv]
            names = ["X", "Y"]
        # no implicit moves: every view on one device, the model's when fitted
        devices = [device_of(v) for v in views]
        for name, dev in zip(names[1:], devices[1:]):
            if dev != devices[0]:
                raise mismatch(names[0], devices[0], name, dev)
        if not reset:
            self._check_device(views, names)
        n = views[0].shape[0]
        for v in views[1:]:
            if v.shape[0] != n:
                check_consistent_length(*views)
        if reset:
            self.n_views_ = len(views)
            self.n_features_per_view_ = [v.shape[1] for v in views]
        else:
            if len(views) > self.n_views_:
                raise ValueError(f"{type(self).__name__} was fitted on {self.n_views_} "
                                 f"views, got {len(views)}")
            for i, v in enumerate(views):
                if v.shape[1] != self.n_features_per_view_[i]:
                    raise ValueError(
                        f"view {i} has {v.shape[1]} features, but "
                        f"{type(self).__name__} is expecting "
                        f"{self.n_features_per_view_[i]} features as input")
        return views

    def _check_device(self, views, names):
        """TypeError when the views are not on the device the model was fitted on."""
        if hasattr(self, "weights_"):
            fitted = device_of(self.weights_[0])
            if device_of(views[0]) != fitted:
                raise mismatch(names[0], device_of(views[0]),
                               f"the fitted {type(self).__name__}", fitted)

    def _set_fitted(self, weights: list[np.ndarray], means: list[np.ndarray]):
        self.weights_ = weights
        self.means_ = means
        self.x_weights_ = weights[0]
        self.y_weights_ = weights[1]
        self.x_mean_ = means[0]
        self.y_mean_ = means[1]
        self._n_features_out = weights[0].shape[1]

    # -- public API ------------------------------------------------------------
    def _scores(self, views) -> list[np.ndarray]:
        return [center_dot(v, self.weights_[i], self.means_[i])
                for i, v in enumerate(views)]

    def transform(self, X, y=None):
        """Project onto the canonical directions.

        Parameters
        ----------
        X : {array-like, sparse array} of shape (n_samples, n_features), or list
            The first view, or a list of views ``[X1, ..., Xm]`` (as in fit).
        y : {array-like, sparse array} of shape (n_samples, n_targets), optional
            The second view (``Y``).

        Returns
        -------
        x_scores : ndarray of shape (n_samples, n_components)
            When only ``X`` is given.
        (x_scores, y_scores) : tuple of ndarray
            When ``Y`` is given (as :class:`sklearn.cross_decomposition.CCA`).
        list of ndarray
            For a list of views.
        """
        check_is_fitted(self)
        multi = is_multiview(X, y)
        views = self._validate_views(X, y, reset=False)
        scores = self._scores(views)
        if multi:
            return scores
        return scores[0] if len(scores) == 1 else tuple(scores)

    def fit_transform(self, X, y=None, **fit_params):
        """Fit, then transform the training views (``fit(X, y).transform(X, y)``).

        Parameters
        ----------
        X : {array-like, sparse array} of shape (n_samples, n_features), or list
            The first view, or a list of views ``[X1, ..., Xm]``.
        y : {array-like, sparse array} of shape (n_samples, n_targets), optional
            The second view (``Y``).
        **fit_params : dict
            Passed to :meth:`fit` (none are used).

        Returns
        -------
        x_scores, (x_scores, y_scores) or list of ndarray
            As :meth:`transform`.
        """
        return self.fit(X, y, **fit_params).transform(X, y)

    def score(self, X, y=None):
        """Sum over components of the canonical correlations captured on the data.

        The Pearson correlation between the views' scores, per component
        (averaged over pairs of views for more than two), summed.

        Parameters
        ----------
        X : {array-like, sparse array} of shape (n_samples, n_features), or list
            The first view, or a list of views ``[X1, ..., Xm]``.
        y : {array-like, sparse array} of shape (n_samples, n_targets), optional
            The second view (required unless ``X`` is a list of views).

        Returns
        -------
        float
            The summed correlations (at most ``n_components``).
        """
        check_is_fitted(self)
        views = self._validate_views(X, y, reset=False)
        if len(views) < 2:
            raise ValueError("score needs at least two views (pass y)")
        corr = captured_correlations(self._scores(views))
        return float(namespace_of(corr).sum(corr))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.required = True
        return tags
