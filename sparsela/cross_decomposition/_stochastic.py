"""Stochastic CCA and PLS: the Eckart-Young loss minimised by minibatch SGD.

Chapman, Wells & Lawry Aguila, "Unconstrained Stochastic CCA: Unifying
Multiview and Self-Supervised Learning" (ICLR 2024). For weights ``W_i``
(``p_i x k``) and scores ``Z_i = X_i W_i`` (centred) of ``m`` views,

    A(W) = sum_{i != j} Cov(Z_i, Z_j) + B(W)
    B(W) = sum_i (1 - c_i) Var(Z_i) + c_i W_i^T W_i

    L_EY(W) = -2 tr A(W) + tr(B(W) B(W))

``A(W) = W^T (A_gep + B_gep) W`` and ``B(W) = W^T B_gep W`` for the
generalised eigenproblem ``A_gep w = lambda B_gep w`` of :class:`RidgeCCA`
(``A_gep`` has the between-view blocks). Adding ``B_gep`` to ``A_gep``, as the
paper does for CCA (its ``A`` sums every pair of views, ``i = j``
included), shifts every eigenvalue by one and keeps the eigenvectors: CCA's
are then ``1 + rho`` in [0, 2], never negative. The loss has no constraint,
and its minima are exactly the weights whose span is the top-``k``
generalised eigenspace (with ``W^T B W`` = the top eigenvalues): the
Eckart-Young theorem.

Each SGD step estimates the loss on two independent half-batches: ``A`` from
both, the quadratic term as ``tr(B_1 B_2)``, which is unbiased where
``tr(B_1 B_1)`` is not (``E[B_1 B_2] = B B``). Its gradient with respect to
``W_i`` is ``X_i^T R_i`` (one transposed product per view and half-batch)
plus ``c_i W_i (2 (B_1 + B_2) - 4 I)``, so a step costs four products of a
half-batch of each view with ``k`` dense columns: sparse views stay sparse,
and memory is ``O(nnz + sum p_i k)``.

The loss is invariant to rotations ``W -> W Q``, so SGD finds the canonical
subspace, not the individual directions: after fitting, one pass over the
data solves the small ``(m k) x (m k)`` eigenproblem within that subspace
(Rayleigh-Ritz), which orders the components and makes them the canonical
pairs of the subspace.

On the GPU (views that are CuPy arrays or sparsela arrays on the GPU) every
batch product and the dense algebra run on the device; the random draws
(batch order, starting weights) are made on the host with the same
generator as on the CPU and moved once, so a fixed ``random_state`` gives
the same fit on either device. The per-step loss stays on the device (a
0-d array) and is read once per epoch for the step-size schedule.
"""
from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.linalg
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from .._device import namespace_of
from ..utils import center_dot, center_tdot, column_mean_var, progress
from ._base import _BaseCCA, captured_correlations, column_means, flip_signs

__all__ = ["StochasticCCA", "StochasticPLS"]


#: the fit has converged once stalls have cut the step below this fraction
LR_FLOOR = 1e-3
#: fewest SGD steps over which the mean loss is compared with the best
MIN_WINDOW = 50
#: rows the preconditioner's column variances are estimated on
PRECOND_ROWS = 8192


class _Diverged(ArithmeticError):
    """Non-finite weights or loss in an epoch."""


def _rows(X, idx):
    """Rows ``idx`` (host indices) of a view (CSR row gather for sparse views);
    on the GPU the indices move to the device, explicitly, once."""
    xp = namespace_of(X)
    if xp is not np:
        idx = xp.asarray(idx)
    return X[idx]


def _as_float(Z):
    return namespace_of(Z).asarray(Z, dtype=np.float64)


def _host(x):
    """A 0-d result as a Python float on the CPU; left on the device (no
    synchronisation) on the GPU."""
    return float(x) if isinstance(x, (np.ndarray, np.generic)) else x


def _top_singular_sq(X, n_iter=20, seed=0, scale=None):
    """Largest eigenvalue of the centred ``X^T X / (n - 1)`` (of ``X
    diag(scale)`` when ``scale`` is given) by power iteration (implicit
    centring: ``X`` is never centred or densified)."""
    n, p = X.shape
    if n < 2 or p == 0:
        return 0.0
    mean = column_means(X)
    xp = namespace_of(X)
    sc = xp.ones(p) if scale is None else scale
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(p)
    v /= np.linalg.norm(v)
    v = xp.asarray(v)  # drawn on the host, moved once
    est = 0.0
    for _ in range(n_iter):
        u = _as_float(X @ (sc * v)) - mean @ (sc * v)
        u -= u.mean()
        w = sc * (_as_float(X.T @ u) - mean * u.sum())
        new = float(xp.linalg.norm(w))  # the stopping test: one scalar per step
        if new == 0.0:
            return 0.0
        v = w / new
        if abs(new - est) <= 1e-3 * new:
            est = new
            break
        est = new
    return est / (n - 1)


def _rayleigh_ritz(moments, grams, cs, k):
    """Rotations ``R_i`` (``b x k``) making ``W_i R_i`` the top ``k`` canonical
    pairs within the span of ``W`` (``b`` columns per view).

    ``moments`` is the stacked ``(m b) x (m b)`` covariance of the scores,
    ``grams[i] = W_i^T W_i``. The small generalised eigenproblem of the
    projected ``A`` and ``B`` is solved by whitening each view's block.
    """
    m = len(cs)
    b = moments.shape[0] // m
    xp = namespace_of(moments)
    blocks, whit = [], []
    for i in range(m):
        Vi = moments[i * b:(i + 1) * b, i * b:(i + 1) * b]
        Bi = (1.0 - cs[i]) * Vi + cs[i] * grams[i]
        lam, V = xp.linalg.eigh((Bi + Bi.T) / 2)
        keep = lam > max(lam[-1], 0.0) * b * 1e-12
        T = V[:, keep] / xp.sqrt(lam[keep])
        whit.append(T)
        blocks.append(T.shape[1])
    edges = np.concatenate([[0], np.cumsum(blocks)])
    size = int(edges[-1])
    M = xp.zeros((size, size))
    for i in range(m):
        for j in range(m):
            if i == j:
                continue
            Cij = moments[i * b:(i + 1) * b, j * b:(j + 1) * b]
            M[edges[i]:edges[i + 1], edges[j]:edges[j + 1]] = whit[i].T @ Cij @ whit[j]
    if m == 2:
        # SciPy's LAPACK drivers on the CPU, CuPy's on the GPU (no subset
        # driver there: the full eigh of this (m b) x (m b) matrix)
        if xp is np:
            U, _, Vt = scipy.linalg.svd(M[:edges[1], edges[1]:], full_matrices=False)
        else:
            U, _, Vt = xp.linalg.svd(M[:edges[1], edges[1]:], full_matrices=False)
        coefs = [U[:, :k], Vt[:k].T]
    else:
        kk = min(k, size)
        if xp is np:
            _, vecs = scipy.linalg.eigh((M + M.T) / 2,
                                        subset_by_index=(size - kk, size - 1))
        else:
            vecs = xp.linalg.eigh((M + M.T) / 2)[1][:, size - kk:]
        vecs = vecs[:, ::-1]
        coefs = []
        for i in range(m):
            Ui = vecs[edges[i]:edges[i + 1]]
            nrm = xp.linalg.norm(Ui, axis=0)
            coefs.append(Ui / xp.where(nrm > 0, nrm, 1.0))
    rots = []
    for T, U in zip(whit, coefs):
        R = T @ U
        if R.shape[1] < k:
            R = xp.hstack([R, xp.zeros((b, k - R.shape[1]))])
        rots.append(R)
    return rots


class _StochasticEY(_BaseCCA):
    """Minibatch SGD on the Eckart-Young loss (shared by CCA and PLS)."""

    def _validate_params(self):
        for name in ("learning_rate",):
            v = getattr(self, name)
            if not isinstance(v, Real) or isinstance(v, bool) or not v > 0:
                raise ValueError(f"{name} must be a positive float, got {v!r}")
        if not isinstance(self.batch_size, Integral) or isinstance(self.batch_size, bool) \
                or self.batch_size < 4:
            raise ValueError(f"batch_size must be an int >= 4, got {self.batch_size!r}")
        if not isinstance(self.max_iter, Integral) or isinstance(self.max_iter, bool) \
                or self.max_iter < 1:
            raise ValueError(f"max_iter must be a positive int, got {self.max_iter!r}")
        if not isinstance(self.momentum, Real) or not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if not isinstance(self.tol, Real) or self.tol < 0:
            raise ValueError(f"tol must be a non-negative float, got {self.tol!r}")
        if not isinstance(self.refine, Integral) or self.refine < 0:
            raise ValueError(f"refine must be a non-negative int, got {self.refine!r}")
        if not isinstance(self.n_iter_no_change, Integral) or self.n_iter_no_change < 1:
            raise ValueError("n_iter_no_change must be a positive int, got "
                             f"{self.n_iter_no_change!r}")

    # -- state ---------------------------------------------------------------
    def _init_state(self, views, rng):
        """Step sizes and starting weights from one batch of ``views``."""
        k = self._check_n_components(views)
        cs = self._ridge(len(views))
        n = views[0].shape[0]
        xp = namespace_of(*views)
        bs = min(self.batch_size, n)
        idx = np.sort(rng.choice(n, bs, replace=False))
        batch = [_rows(X, idx) for X in views]
        # Jacobi preconditioner: 1 / diag(B_i), from the column variances of
        # up to PRECOND_ROWS rows (the same steps as SGD on standardised
        # features, which leaves CCA unchanged and removes the feature
        # scales from its conditioning)
        rows = np.sort(rng.choice(n, min(n, PRECOND_ROWS), replace=False))
        self._prec = []
        for X, c in zip(views, cs):
            if c == 1.0:  # B_i = I: no preconditioner
                self._prec.append(None)
                continue
            var = column_mean_var(_rows(X, rows) if len(rows) < n else X)[1]
            d = (1.0 - c) * var + c
            d = xp.maximum(d, 1e-3 * max(float(d.mean()), 1e-300))
            self._prec.append(1.0 / d)
        # curvature: lambda_max of each view's preconditioned B_i (batch
        # estimate) times a bound on the top eigenvalue of the shifted problem
        s = [_top_singular_sq(b, seed=int(rng.integers(2**31))) for b in batch]
        t = [(1.0 - c) * si + c for si, c in zip(s, cs)]
        r = [si / ti if ti > 0 else 0.0 for si, ti in zip(s, t)]
        mu = 1.0 + (len(views) - 1) * max(r)
        tp = [ti if P is None else
              (1.0 - c) * _top_singular_sq(b, seed=int(rng.integers(2**31)),
                                           scale=xp.sqrt(P)) + c * float(P.max())
              for b, c, P, ti in zip(batch, cs, self._prec, t)]
        # the loss's curvature at the minimum is about 8 mu lambda_max(B_i)
        self._steps = [1.0 / (8.0 * ti * mu) if ti > 0 else 0.0 for ti in tp]
        # start: one block power step on the batch's cross-covariances, so the
        # starting span already leans towards the shared directions
        Z0 = []
        for b in batch:
            Om = xp.asarray(rng.standard_normal((b.shape[1], k)))
            z = _as_float(b @ Om)
            Z0.append(z - z.mean(axis=0))
        S = sum(Z0)
        W = []
        for i, b in enumerate(batch):
            Wi = _as_float(b.T @ (S - Z0[i])) if len(views) > 1 else Om
            Wi += (1e-3 * xp.linalg.norm(Wi) / np.sqrt(Wi.size)
                   * xp.asarray(rng.standard_normal(Wi.shape)))
            W.append(self._b_normalise(Wi, b, cs[i]))
        self._W = W
        self._vel = [xp.zeros_like(w) for w in W]
        self._cs = cs
        self._k = k
        self._lr = float(self.learning_rate)

    @staticmethod
    def _b_normalise(W, batch, c):
        """``W G^{-1/2}`` with ``G = W^T B_i W`` estimated on ``batch``."""
        xp = namespace_of(W)
        z = _as_float(batch @ W)
        z -= z.mean(axis=0)
        G = (1.0 - c) * (z.T @ z) / max(batch.shape[0] - 1, 1) + c * (W.T @ W)
        lam, V = xp.linalg.eigh((G + G.T) / 2)
        lam = xp.maximum(lam, max(lam[-1], 1e-300) * 1e-12)
        return W @ (V / xp.sqrt(lam)) @ V.T

    # -- one SGD step -----------------------------------------------------------
    def _step(self, batch):
        """One step on a batch (list of views' rows); returns the loss estimate
        and the stacked score moments of the batch.

        The batch's two halves are the independent half-batches; each view
        costs one product ``X_b @ W_i`` and one ``X_b^T R_i`` over the whole
        batch (the halves' rows stacked)."""
        W, cs = self._W, self._cs
        m = len(W)
        xp = namespace_of(W[0])
        nb = batch[0].shape[0]
        h = nb // 2
        Zfull = [_as_float(b @ w) for b, w in zip(batch, W)]
        grams = [w.T @ w if c > 0 else 0.0 for w, c in zip(W, cs)]
        parts = (slice(0, h), slice(h, nb))
        Zs, Bs, trA = [], [], 0.0
        for part in parts:
            Z = [z[part] - z[part].mean(axis=0) for z in Zfull]
            d = Z[0].shape[0] - 1
            V = [z.T @ z / d for z in Z]
            B = sum((1.0 - c) * v + c * g for v, c, g in zip(V, cs, grams))
            S = sum(Z)
            # _host: Python floats on the CPU, 0-d device arrays on the GPU
            # (no synchronisation per step)
            trA += (_host(xp.sum(S * S)) - sum(_host(xp.trace(v)) * d for v in V)) / d \
                + _host(xp.trace(B))
            Zs.append((Z, S, d))
            Bs.append(B)
        loss = -trA + _host(xp.sum(Bs[0] * Bs[1]))
        lr, mom = self._lr, self.momentum
        for i in range(m):
            c = cs[i]
            R = xp.vstack([
                (2.0 / d) * ((1.0 - c) * (Z[i] @ Bs[1 - s]) - (S - Z[i]) - (1.0 - c) * Z[i])
                for s, (Z, S, d) in enumerate(Zs)])
            G = _as_float(batch[i].T @ R)
            if c > 0:
                G += c * (W[i] @ (2.0 * (Bs[0] + Bs[1]) - 4.0 * xp.eye(len(Bs[0]))))
            if self._prec[i] is not None:
                G *= self._prec[i][:, None]
            step = lr * self._steps[i]
            if mom > 0:
                self._vel[i] *= mom
                self._vel[i] -= step * G
                W[i] += self._vel[i]
            else:
                W[i] -= step * G
        Zcat = xp.hstack([xp.vstack([Zs[0][0][i], Zs[1][0][i]]) for i in range(m)])
        return loss, Zcat.T @ Zcat / max(nb - 1, 1)

    def _epoch(self, views, rng, shuffled=False):
        """One pass of minibatch steps over ``views``; returns the mean loss
        and the mean score moments.

        ``shuffled=False``: batches are random rows (a row gather per batch).
        ``shuffled=True``: ``views`` are already in random row order, and the
        batches are contiguous blocks (views, no copy) from a random offset,
        taken in random order, so their composition changes every epoch.
        """
        n = views[0].shape[0]
        bs = min(getattr(self, "_bs", self.batch_size), n)
        nb = max(n // bs, 1)
        if shuffled and nb > 1:
            offset = int(rng.integers(bs))
            starts = np.arange(offset, n - bs + 1, bs)
            blocks = [(int(a), int(a) + bs) for a in rng.permutation(starts)]
            batches = ([X[a:b] for X in views] for a, b in blocks)
        else:
            perm = rng.permutation(n)
            sort, xv = np.sort, namespace_of(views[0])
            if xv is not np:  # the permutation moves once; batches sort on the device
                perm, sort = xv.asarray(perm), xv.sort
            batches = ([_rows(X, sort(perm[b * bs:(b + 1) * bs if b < nb - 1 else n]))
                        for X in views] for b in range(nb))
        losses, mom = [], 0.0
        for batch in batches:
            loss, M = self._step(batch)
            losses.append(loss)
            mom = mom + M
        xp = namespace_of(self._W[0])
        if not xp.isfinite(losses[-1]) or not all(xp.isfinite(w).all() for w in self._W):
            raise _Diverged
        if xp is np:
            return float(np.mean(losses)), mom / len(losses)
        # the epoch's one read of the loss from the device
        return float(xp.stack(losses).mean()), mom / len(losses)

    def _reset_schedule(self, n):
        self._bs = min(self.batch_size, n)
        self._best, self._stalled = np.inf, 0
        self._window, self._window_loss = 0, 0.0

    def _schedule(self, loss, steps):
        """Step-size rule after ``steps`` SGD steps of mean loss ``loss``;
        returns True once converged.

        The loss is judged over windows of at least MIN_WINDOW steps (several
        epochs of a small data set, several ``partial_fit`` calls), not one
        noisy epoch. ``n_iter_no_change`` windows without a relative
        improvement of ``tol`` on the best are SGD's noise floor: the step is
        divided by 5, and the fit has converged once it is below
        ``LR_FLOOR * learning_rate``.
        """
        self._window += steps
        self._window_loss += loss * steps
        if self._window < MIN_WINDOW:
            return False
        loss = self._window_loss / self._window
        self._window, self._window_loss = 0, 0.0
        if loss > self._best - self.tol * max(abs(self._best), 1.0):
            self._stalled += 1
        else:
            self._stalled = 0
        self._best = min(self._best, loss)
        if self._stalled >= self.n_iter_no_change:
            self._stalled = 0
            if self._lr >= self.learning_rate * LR_FLOOR:
                self._lr /= 5.0
            return self._lr < self.learning_rate * LR_FLOOR
        return False

    def _guarded_epoch(self, views, rng, best, shuffled=False):
        """An epoch that is taken back, with half the step, when it diverges
        (non-finite weights, or a loss a hundred times the best so far)."""
        for _ in range(30):
            saved = ([w.copy() for w in self._W], [v.copy() for v in self._vel])
            try:
                loss, _ = self._epoch(views, rng, shuffled)
                # a diverging quartic loss explodes: far past any noise
                ok = not (np.isfinite(best) and loss > 100.0 * (abs(best) + 1.0))
            except _Diverged:
                ok = False
            if ok:
                return loss
            self._W, self._vel = saved[0], [namespace_of(v).zeros_like(v) for v in saved[1]]
            self._lr /= 2.0
        raise ValueError(f"{type(self).__name__} diverged: lower learning_rate "
                         "or scale the views (e.g. StandardScaler)")

    def _gradient_basis(self, views, means, W, Z, D=None, ZD=None):
        """``[W_i, G_i, D_i]`` and their scores: ``G_i`` the preconditioned
        full-data gradient of the loss (one transposed and one plain product
        per view), ``D_i`` the previous refinement's step (LOBPCG's third
        block), each column scaled to ``g^T B_i g = 1``."""
        cs = self._cs
        n = views[0].shape[0]
        xp = namespace_of(*W)
        V = [z.T @ z / (n - 1) for z in Z]
        B = sum((1.0 - c) * v + c * (w.T @ w) for v, c, w in zip(V, cs, W))
        S = sum(Z)
        Wa, Za = [], []
        for i, (X, mu, w, z, c, P) in enumerate(zip(views, means, W, Z, cs, self._prec)):
            R = -(S - z) - (1.0 - c) * z + (1.0 - c) * (z @ B)
            G = (4.0 / (n - 1)) * center_tdot(X, R, mu) + 4.0 * c * (w @ (B - xp.eye(len(B))))
            if P is not None:  # the preconditioned gradient, as in the SGD steps
                G *= P[:, None]
            zg = center_dot(X, G, mu)
            blocks, zblocks = [G], [zg]
            if D is not None:
                blocks.append(D[i])
                zblocks.append(ZD[i])
            E, ZE = xp.hstack(blocks), xp.hstack(zblocks)
            d = xp.sqrt((1.0 - c) * xp.einsum("ij,ij->j", ZE, ZE) / (n - 1)
                        + c * xp.einsum("ij,ij->j", E, E))
            d = xp.where(d > 0, d, 1.0)
            Wa.append(xp.hstack([w, E / d]))
            Za.append(xp.hstack([z, ZE / d]))
        return Wa, Za

    def _finalise(self, views, means, moments=None):
        """Rayleigh-Ritz rotation within the learned span; sets the fitted
        attributes. ``moments`` (from streamed batches) replaces the pass over
        ``views`` when given."""
        W, cs, k = self._W, self._cs, self._k
        xp = namespace_of(*W)

        def cov(Z):
            Zcat = xp.hstack(Z)
            Zcat = Zcat - Zcat.mean(axis=0)
            return Zcat.T @ Zcat / max(views[0].shape[0] - 1, 1)

        if moments is None:
            Z = [center_dot(X, w, mu) for X, w, mu in zip(views, W, means)]
            D = ZD = None
            for _ in range(int(self.refine)):
                # LOBPCG-style: Rayleigh-Ritz over [W, G, D]; scores of the
                # new blocks are combinations of known scores (no extra pass)
                Wa, Za = self._gradient_basis(views, means, W, Z, D, ZD)
                rots = _rayleigh_ritz(cov(Za), [w.T @ w for w in Wa], cs, k)
                W = [wa @ R for wa, R in zip(Wa, rots)]
                Z = [za @ R for za, R in zip(Za, rots)]
                D = [wa[:, k:] @ R[k:] for wa, R in zip(Wa, rots)]
                ZD = [za[:, k:] @ R[k:] for za, R in zip(Za, rots)]
            moments = cov(Z)
        rots = _rayleigh_ritz(moments, [w.T @ w for w in W], cs, k)
        weights = flip_signs([w @ R for w, R in zip(W, rots)])
        self._set_fitted(weights, [xp.asarray(mu, dtype=np.float64) for mu in means])
        if len(views):
            self.canonical_correlations_ = captured_correlations(self._scores(views))

    # -- public API ---------------------------------------------------------
    def fit(self, X, y=None):
        """Fit by minibatch SGD on the Eckart-Young loss.

        Parameters
        ----------
        X : {array-like, sparse array} of shape (n_samples, n_features) or list
            The first view, or a list of views ``[X1, ..., Xm]``.
        y : {array-like, sparse array} of shape (n_samples,) or \
(n_samples, n_targets)
            The second view (``Y``; sklearn's name).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        views = self._validate_views(X, y, reset=True)
        if hasattr(self, "_means_sum"):  # a fit restarts any partial_fit stream
            del self._means_sum
        rng = check_random_state(self.random_state)
        rng = np.random.default_rng(rng.randint(2**31))
        self._init_state(views, rng)
        means = [column_means(v) for v in views]
        n = views[0].shape[0]
        self._reset_schedule(n)
        converged = False
        # one shuffled copy of the views; epochs then take contiguous blocks
        order = rng.permutation(n)
        shuffled_views = [_rows(X, order) for X in views]
        with progress(self.max_iter, self.verbose, desc=type(self).__name__) as bar:
            for epoch in range(1, self.max_iter + 1):
                loss = self._guarded_epoch(shuffled_views, rng, self._best, shuffled=True)
                bar.update(1)
                bar.set_postfix(loss=loss, lr=self._lr)
                if self._schedule(loss, max(n // self._bs, 1)):
                    converged = True
                    break
        del shuffled_views
        self.n_iter_ = epoch
        self.n_samples_seen_ = views[0].shape[0]
        if not converged:
            warnings.warn(
                f"{type(self).__name__} did not converge in max_iter={self.max_iter} "
                "epochs; increase max_iter", ConvergenceWarning, stacklevel=2)
        self._finalise(views, means)
        return self

    def partial_fit(self, X, y=None):
        """One pass of minibatch SGD over the given samples (streaming).

        The first call sets the step sizes and starting weights from its data;
        later calls continue from the current weights. Column means are
        running means over every sample seen. The canonical rotation is
        re-estimated from the score moments of the call's batches, averaged
        with those of earlier calls (earlier calls' weight halves each call).

        Parameters
        ----------
        X : {array-like, sparse array} of shape (n_samples, n_features) or list
            The first view, or a list of views.
        y : {array-like, sparse array}, optional
            The second view (``Y``).

        Returns
        -------
        self : object
            The estimator.
        """
        first = not hasattr(self, "_means_sum")
        self._validate_params()
        views = self._validate_views(X, y, reset=first)
        if first:
            rng = check_random_state(self.random_state)
            self._rng = np.random.default_rng(rng.randint(2**31))
            self._init_state(views, self._rng)
            self.n_samples_seen_ = 0
            self.n_iter_ = 0
            self._reset_schedule(views[0].shape[0])
            self._means_sum = [namespace_of(v).zeros(v.shape[1]) for v in views]
            self._mom_w = 0.0
            self._mom = 0.0
        elif len(views) != self.n_views_:
            raise ValueError(f"partial_fit got {len(views)} views, expected {self.n_views_}")
        n = views[0].shape[0]
        if n < 4:
            raise ValueError("partial_fit needs at least 4 samples per call")
        for i, v in enumerate(views):
            self._means_sum[i] += column_means(v) * n
        self.n_samples_seen_ += n
        try:
            loss, M = self._epoch(views, self._rng)
            self._schedule(loss, max(n // min(self.batch_size, n), 1))
        except _Diverged:
            raise ValueError(f"{type(self).__name__} diverged: lower learning_rate "
                             "or scale the views (e.g. StandardScaler)") from None
        self._mom = (0.5 * self._mom_w * self._mom + n * M) / (0.5 * self._mom_w + n)
        self._mom_w = 0.5 * self._mom_w + n
        self.n_iter_ += 1
        means = [s / self.n_samples_seen_ for s in self._means_sum]
        self._finalise([], means, moments=self._mom)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


_SGD_PARAMS = """
    learning_rate : float, default=1.0
        Initial step, as a fraction of ``1 / L_i`` for view ``i``, where
        ``L_i`` bounds the loss's curvature (the largest eigenvalue of
        ``B_i = (1 - c_i) S_ii + c_i I`` on a batch times a bound on the top
        eigenvalue), so the default suits views in any units.
    batch_size : int, default=512
        Samples per SGD step (split into two independent halves).
    max_iter : int, default=100
        Maximum epochs (passes over the data).
    momentum : float, default=0.9
        Heavy-ball momentum (0: plain SGD).
    tol : float, default=1e-4
        A window (one epoch, or as many as make 50 steps) whose mean loss does
        not improve on the best by ``tol`` (relative) counts as stalled.
    n_iter_no_change : int, default=2
        Stalled windows before the step is divided by 5; the fit has
        converged once the step is below ``1e-3 * learning_rate``.
    refine : int, default=2
        Refinement passes after the last epoch of ``fit``: each takes the
        canonical pairs from the span of the weights, the preconditioned
        full-data gradient of the loss and the previous pass's step
        (Rayleigh-Ritz, one step of a LOBPCG-style block eigensolver: two
        products per view over the data, less than one epoch). 0: the
        canonical pairs of the span of the SGD weights alone. Not used by
        ``partial_fit``, which never sees the whole data.
    random_state : int, RandomState instance or None, default=None
        Seed of the batch order and starting weights.
    verbose : bool, default=False
        Show a progress bar over epochs (with the loss).
"""

_SGD_ATTRS = """
    Attributes
    ----------
    x_weights_, y_weights_ : ndarray
        Weights of the first two views (canonical pairs of the learned span). Like every fitted
        array, a CuPy array when the model was fitted on GPU input; it then
        takes GPU input only.
    weights_ : list of ndarray
        Weights of every view, each ``(n_features_i, n_components)``.
    x_mean_, y_mean_, means_ : ndarray, list of ndarray
        Column means (running means under ``partial_fit``).
    canonical_correlations_ : ndarray of shape (n_components,)
        Correlations of the training scores per component (``fit`` only).
    n_iter_ : int
        Epochs run (``fit``) or ``partial_fit`` calls made.
    n_samples_seen_ : int
        Samples used.
    n_views_, n_features_per_view_, n_features_in_, feature_names_in_
        As in :class:`CCA`.
"""


class StochasticCCA(_StochasticEY):
    __doc__ = """CCA by minibatch SGD on the Eckart-Young loss (Chapman et al.).

    The unconstrained loss ``-2 tr A(W) + tr B(W)^2`` of "Unconstrained
    Stochastic CCA" (ICLR 2024), with the quadratic term estimated without
    bias from two independent half-batches, minimised by SGD with momentum.
    Each step costs products of a batch with ``n_components`` dense columns,
    so it scales to sparse views with very many features; ``c > 0`` is
    stochastic ridge CCA (``c=1``: :class:`StochasticPLS`). Takes ``fit(X,
    Y)``, ``fit([X1, ..., Xm])`` and ``partial_fit``.

    Parameters
    ----------
    n_components : int, default=2
        Number of canonical pairs.
    c : float or list of float, default=0.0
        Shrinkage of each view's covariance towards the identity, in [0, 1].
    """ + _SGD_PARAMS + _SGD_ATTRS + """
    See Also
    --------
    CCA : The exact solution (one eigendecomposition).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsela.cross_decomposition import StochasticCCA
    >>> rng = np.random.default_rng(0)
    >>> L = rng.standard_normal((2000, 2))
    >>> X = L @ rng.standard_normal((2, 10)) + rng.standard_normal((2000, 10))
    >>> Y = L @ rng.standard_normal((2, 8)) + rng.standard_normal((2000, 8))
    >>> model = StochasticCCA(n_components=2, random_state=0).fit(X, Y)
    >>> model.x_weights_.shape
    (10, 2)
    """

    def __init__(self, n_components=2, *, c=0.0, learning_rate=1.0, batch_size=512,
                 max_iter=100, momentum=0.9, tol=1e-4, n_iter_no_change=2,
                 refine=2, random_state=None, verbose=False):
        self.n_components = n_components
        self.c = c
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.momentum = momentum
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.refine = refine
        self.random_state = random_state
        self.verbose = verbose


class StochasticPLS(_StochasticEY):
    __doc__ = """PLS by minibatch SGD on the Eckart-Young loss: ``StochasticCCA(c=1)``.

    Finds the top singular subspace of the cross-covariance without forming
    it: each step multiplies a batch of each view by ``n_components`` dense
    columns, so memory is the data plus ``O(n_features * n_components)`` —
    PLS on biobank-scale sparse genotypes (see
    ``examples/stochastic_pls_genotypes.py``).

    Parameters
    ----------
    n_components : int, default=2
        Number of components.
    """ + _SGD_PARAMS + _SGD_ATTRS + """
    Examples
    --------
    >>> import numpy as np
    >>> from sparsela.cross_decomposition import StochasticPLS
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.standard_normal((1000, 20)), rng.standard_normal((1000, 3))
    >>> StochasticPLS(n_components=2, random_state=0).fit(X, Y).y_weights_.shape
    (3, 2)
    """

    def __init__(self, n_components=2, *, learning_rate=1.0, batch_size=512,
                 max_iter=100, momentum=0.9, tol=1e-4, n_iter_no_change=2,
                 refine=2, random_state=None, verbose=False):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.momentum = momentum
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.refine = refine
        self.random_state = random_state
        self.verbose = verbose

    def _ridge(self, n_views):
        return [1.0] * n_views
