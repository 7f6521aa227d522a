"""Block coordinate descent (BCD) for the Lasso, the elastic net and the
group Lasso, with the greedy block selection rules of Nutini, Laradji and
Schmidt, "Let's Make Block Coordinate Descent Converge Faster: Faster Greedy
Rules, Message-Passing, Active-Set Complexity, and Superlinear Convergence",
JMLR 23 (2022).

Objective (scikit-learn's scaling, so ``coef_`` matches
:class:`sklearn.linear_model.Lasso` / ``ElasticNet`` on the same problem)::

    1/(2 n) ||y - X w - b||^2 + lam2/2 ||w||^2 + lam1 sum_g wt_g ||w_g||_2

Lasso: ``lam1 = alpha``, ``lam2 = 0``, one coordinate per group.
ElasticNet: ``lam1 = alpha * l1_ratio``, ``lam2 = alpha * (1 - l1_ratio)``.
GroupLasso: ``lam1 = alpha``, groups from ``groups``.

Selection rules (``selection``)
-------------------------------
Scores use the proximal-gradient step ``d_b = prox_{h/L}(w_b - grad_b / L)
- w_b`` of a block (zero exactly when the block is optimal), the flavour of
the greedy rules suited to the non-smooth term (GS-r/GS-q of Nutini et al.):

``"cyclic"``     blocks in order.
``"random"``     blocks uniformly at random (with replacement).
``"lipschitz"``  blocks with probability proportional to ``L_b``.
``"gs"``         Gauss-Southwell, GS-r flavour: largest ``||d_b||`` with one
                 global ``L = max_b L_b``; the largest gradient norm when
                 there is no penalty.
``"gsl"``        Gauss-Southwell-Lipschitz (GSL-r): largest
                 ``sqrt(L_b) ||d_b||`` with the block's own ``L_b``;
                 ``||grad_b|| / sqrt(L_b)`` without a penalty.
``"gsq"``        Gauss-Southwell-quadratic (GS-q): the block whose quadratic
                 upper bound (with ``L_b``) decreases most.

``blocks="fixed"`` partitions the (groups of) coordinates into consecutive
blocks of ``block_size``; ``blocks="variable"`` forms each block anew from
the ``block_size`` best-scored groups (greedy rules) or a random draw
(``"random"``, ``"lipschitz"``); the block's Lipschitz constant then comes
from its Gram matrix, formed on the fly.

Updates (``update``)
--------------------
``"gradient"``: one proximal-gradient step with step ``1/L_b``,
``L_b = lambda_max(X_b^T X_b)/n + lam2`` (per block, computed once for fixed
blocks). With one coordinate per block this is the exact coordinate
minimisation of scikit-learn's solver. ``"newton"``: exact minimisation of
the block's quadratic model with the block Hessian ``X_b^T X_b / n + lam2 I``
(proximal Newton; since ``f`` is quadratic, this is exact block
minimisation), solved by coordinate descent inside the block.

Cost of the greedy rules
------------------------
They need the whole gradient ``X^T r``, kept up to date after each block
step with ``X^T (X_b delta)``: for sparse ``X`` a pass over the rows the
block's columns touch, through a CSR copy of ``X`` (twice the memory of
``X``); for dense ``X`` one ``X^T u`` (O(n p)). Picking the block scans all
blocks, O(p). Cyclic and random rules only read the block's columns. The
whole gradient is recomputed exactly once per epoch (for the duality gap).

Working sets and the active-set Newton finish
---------------------------------------------
For cyclic/random/lipschitz rules with fixed blocks and an L1/group penalty,
``working_set=True`` runs the rule on a working set of blocks (the non-zero
ones plus the worst violators of the optimality conditions, doubling in size
with the support) and checks the whole problem once per outer iteration.
With ``active_set_newton=True``, once the support (and signs) of ``w`` have
not changed between two gap checks, the problem restricted to the active
set, where it is smooth, is solved by Newton's method (one linear solve for
L1 penalties; damped Newton for groups); the step is kept when it keeps the
support and lowers the objective. This is the superlinear finish of Nutini
et al. (Sec. 7-8: active-set identification, then Newton on the manifold).

Intercept: sparse ``X`` is never centred; the column means enter the maths
(``X_offset``) as in scikit-learn. Stopping: duality gap (scikit-learn's
formulation) ``<= tol * ||y - mean(y)||^2``, checked once per epoch.

GPU
---
Every option runs on the GPU when ``X`` and ``y`` are there (CuPy arrays or
sparsela arrays on the GPU): the block steps run in one persistent CUDA
kernel per epoch (``sparsela/backends/gpu/bcd.py``), the gap, working sets
and the active-set Newton step in CuPy; per epoch only a few scalars come
back for the stopping tests. ``coef_`` and ``intercept_`` (a 0-d array) are
then CuPy arrays and ``predict`` of GPU input returns a CuPy array; input on
another device than the fit's is a ``TypeError``. Cyclic and greedy fits give
the CPU's ``coef_`` to rounding, with the same ``n_iter_``; the random rules
draw from another generator on the GPU, so ``'random'``/``'lipschitz'`` fits
agree with the CPU's at convergence, not step by step (likewise the working
set may pick other blocks among equally violated ones).
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._device import device_of, mismatch, namespace_of, same_device
from ..backends import lazy
from ..formats import SparseArray
from ..utils.progress import progress
from ..utils.validation import validate_data

__all__ = ["ElasticNet", "GroupLasso", "Lasso", "make_data_a"]

_RULES = {"cyclic": 0, "random": 1, "lipschitz": 2, "gs": 3, "gsl": 4, "gsq": 5}
_GREEDY = ("gs", "gsl", "gsq")


def _kernels(gpu=False):
    """The kernel module of the device: ``backends/cpu/bcd.py`` or its GPU mirror."""
    return lazy("gpu.bcd" if gpu else "cpu.bcd")


def _gather_atoms(xp, g_ptr, g_idx, atoms):
    """The coordinates of ``atoms`` in order, on the device (the GPU twin of
    ``np.concatenate([g_idx[g_ptr[a]:g_ptr[a + 1]] for a in atoms])``); one
    scalar read for the size."""
    starts = g_ptr[atoms]
    sizes = g_ptr[atoms + 1] - starts
    if atoms.shape[0] == 0:
        return xp.zeros(0, dtype=np.int64)
    ends = xp.cumsum(sizes)
    total = int(ends[-1])
    pos = xp.arange(total, dtype=np.int64)
    seg = xp.searchsorted(ends, pos, side="right")
    return g_idx[starts[seg] + pos - (ends - sizes)[seg]]


# --------------------------------------------------------------------------- #
# problem data
# --------------------------------------------------------------------------- #
class _Design:
    """``X`` as the kernels want it (CSC arrays or dense F-ordered float64),
    with the column means ``mu`` used for implicit centering."""

    def __init__(self, X, fit_intercept, need_csr):
        self.n, self.p = X.shape
        n, p = self.n, self.p
        self.gpu = device_of(X) == "gpu"
        xp = self.xp = namespace_of(X) if self.gpu else np
        dummy_i = xp.zeros(1, dtype=np.int32)
        dummy_x = xp.zeros(1)
        if isinstance(X, SparseArray):
            self.dense = False
            Xc = X.tocsc()
            Xc = Xc if Xc.dtype == np.float64 else Xc.astype(np.float64)
            if self.gpu and not Xc.has_canonical_format:
                # the GPU kernels update a column's rows without atomics
                Xc = Xc.copy()  # never modify the caller's X
                Xc.sum_duplicates()
            self.X = Xc
            self.Xd = xp.zeros((1, 1), order="F")
            self.Xp, self.Xi, self.Xx = Xc.indptr, Xc.indices, Xc.data
            if fit_intercept:
                self.mu = xp.asarray(Xc.sum(axis=0), dtype=np.float64).ravel() / n
            else:
                self.mu = xp.zeros(p)
            self.center = bool(fit_intercept)
            sq = xp.asarray(Xc.power(2).sum(axis=0), dtype=np.float64).ravel()
            self.raw_sq = sq
            self.col_sq = sq - n * self.mu ** 2
            if need_csr:
                Xr = Xc.tocsr()
                self.Rp, self.Rj, self.Rx = Xr.indptr, Xr.indices, Xr.data
            else:
                self.Rp, self.Rj, self.Rx = dummy_i, dummy_i, dummy_x
            self.X_offset = self.mu
        else:
            self.dense = True
            Xd = X.astype(np.float64, order="F", copy=True)
            self.mu = xp.zeros(p)
            self.X_offset = Xd.mean(axis=0) if fit_intercept else xp.zeros(p)
            if fit_intercept:
                self.raw_sq = (Xd ** 2).sum(axis=0)
                Xd -= self.X_offset  # our own copy: centre it explicitly
            self.Xd = Xd
            self.X = Xd
            self.center = False
            self.Xp, self.Xi, self.Xx = dummy_i, dummy_i, dummy_x
            self.Rp, self.Rj, self.Rx = dummy_i, dummy_i, dummy_x
            self.col_sq = (Xd ** 2).sum(axis=0)
            if not fit_intercept:
                self.raw_sq = self.col_sq

    def matvec(self, w):
        """``X w`` (uncentred for sparse ``X``)."""
        return self.xp.asarray(self.X @ w, dtype=np.float64).ravel()

    def corr(self, r, S):
        """``Z^T r`` for the residual ``r`` (``S = sum(r)`` for centering)."""
        out = self.xp.asarray(self.X.T @ r, dtype=np.float64).ravel()
        if self.center:
            out -= self.mu * S
        return out

    def corr_subset(self, r, S, cols):
        if self.dense:
            return self.Xd[:, cols].T @ r
        if self.gpu:
            out = self.xp.empty(len(cols))
            _kernels(True).csc_corr_subset(self.Xp, self.Xi, self.Xx, r, self.mu, float(S),
                                           cols.astype(np.int64), out)
            return out
        from ..backends.cpu._jit import threads

        out = np.empty(len(cols))
        cols = np.ascontiguousarray(cols, dtype=np.int64)
        work = int(np.sum(self.Xp[cols + 1] - self.Xp[cols]))
        with threads(work=work):
            _kernels().csc_corr_subset(self.Xp, self.Xi, self.Xx, r, self.mu, S, cols, out)
        return out

    def gram(self, cols):
        if self.dense:
            Xa = self.Xd[:, cols]
            return Xa.T @ Xa
        if self.gpu:
            return _kernels(True).gram(False, self.Xd, self.Xp, self.Xi, self.Xx, self.mu,
                                       float(self.n), cols.astype(np.int64))
        return _kernels().gram(False, self.Xd, self.Xp, self.Xi, self.Xx, self.mu,
                               float(self.n), np.ascontiguousarray(cols, dtype=np.int64))

    def set_lipschitz(self, ptr, idx):
        out = self.xp.empty(len(ptr) - 1)
        _kernels(self.gpu).set_lipschitz(self.dense, self.Xd, self.Xp, self.Xi, self.Xx, self.mu,
                                 float(self.n), ptr.astype(np.int64), idx.astype(np.int64),
                                 out)
        return out


def _groups_arrays(groups, p):
    """Atoms (groups of coordinates) as ``(ptr, idx)``; ``None``: singletons."""
    if groups is None:
        return np.arange(p + 1, dtype=np.int64), np.arange(p, dtype=np.int64), True
    if isinstance(groups, numbers.Integral):
        if groups < 1:
            raise ValueError(f"groups={groups} must be >= 1 when given as a group size.")
        labels = np.arange(p) // int(groups)
    else:
        labels = np.asarray(groups)
        if labels.ndim != 1 or labels.shape[0] != p:
            raise ValueError(
                f"groups must be an array of one group label per feature (length {p}); "
                f"got shape {labels.shape}.")
    _, inv = np.unique(labels, return_inverse=True)
    order = np.argsort(inv, kind="stable").astype(np.int64)
    counts = np.bincount(inv)
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return ptr, order, bool(np.all(counts == 1))


# --------------------------------------------------------------------------- #
# the estimators
# --------------------------------------------------------------------------- #
class _BaseBCD(RegressorMixin, BaseEstimator):
    """Shared fit/predict of the BCD estimators (not public)."""

    def _penalties(self):  # (lam1, lam2)
        raise NotImplementedError

    def _groups(self, p):
        return _groups_arrays(None, p)

    def _group_weights(self, ptr):
        return np.ones(len(ptr) - 1)

    def _check_params(self):
        if not isinstance(self.alpha, numbers.Real) or self.alpha < 0:
            raise ValueError(f"alpha must be a non-negative number; got {self.alpha!r}.")
        if self.selection not in _RULES:
            raise ValueError(f"selection must be one of {sorted(_RULES)}; got {self.selection!r}.")
        if self.blocks not in ("fixed", "variable"):
            raise ValueError(f"blocks must be 'fixed' or 'variable'; got {self.blocks!r}.")
        if self.blocks == "variable" and self.selection == "cyclic":
            raise ValueError("blocks='variable' needs a random or greedy selection, "
                             "not 'cyclic'.")
        if self.update not in ("gradient", "newton"):
            raise ValueError(f"update must be 'gradient' or 'newton'; got {self.update!r}.")
        if not isinstance(self.block_size, numbers.Integral) or self.block_size < 1:
            raise ValueError(f"block_size must be a positive integer; got {self.block_size!r}.")
        if not isinstance(self.max_iter, numbers.Integral) or self.max_iter < 1:
            raise ValueError(f"max_iter must be a positive integer; got {self.max_iter!r}.")
        if not isinstance(self.tol, numbers.Real) or self.tol < 0:
            raise ValueError(f"tol must be a non-negative number; got {self.tol!r}.")
        if self.history not in ("epoch", "iteration"):
            raise ValueError(f"history must be 'epoch' or 'iteration'; got {self.history!r}.")

    # ------------------------------------------------------------------ fit
    def fit(self, X, y):
        """Fit the model by block coordinate descent.

        Parameters
        ----------
        X : {ndarray, SciPy sparse, sparsela array} of shape (n_samples, n_features)
            Training data. Sparse input is used as CSC, never densified nor
            centred. CuPy arrays and sparsela arrays on the GPU fit on the GPU.
        y : ndarray of shape (n_samples,)
            Target values, on the device of ``X``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._check_params()
        same_device("X", X, "y", y)
        X, y = validate_data(self, X, y, accept_sparse=True, sparse_format="csc",
                             dtype=(np.float64, np.float32), y_numeric=True, accept_gpu=True)
        # on the GPU every array below is a device array (xp = cupy) and the
        # kernels are backends/gpu/bcd.py's; the CPU path is unchanged
        gpu = device_of(X) == "gpu"
        xp = namespace_of(X) if gpu else np
        out_dtype = X.dtype
        y = xp.asarray(y, dtype=np.float64)
        n, p = X.shape
        lam1, lam2 = self._penalties()
        greedy = self.selection in _GREEDY
        D = _Design(X, self.fit_intercept, need_csr=greedy)
        y_mean = y.mean() if self.fit_intercept else 0.0
        yc = y - y_mean
        g_ptr, g_idx, singletons = self._groups(p)
        wt = np.asarray(self._group_weights(g_ptr), dtype=np.float64)
        K = _kernels(gpu)
        host_groups = (g_ptr, g_idx)
        if gpu:  # the group structure moves once; the fit never reads it back
            atom_of = xp.asarray(np.repeat(np.arange(len(g_ptr) - 1), np.diff(g_ptr)))
            g_ptr, g_idx, wt = xp.asarray(g_ptr), xp.asarray(g_idx), xp.asarray(wt)

        # Lipschitz constants of the atoms (groups); dead atoms: zero columns
        if singletons:
            col = D.col_sq[g_idx]
            raw = D.raw_sq[g_idx]
            La = col / n
            dead = col <= 1e-10 * xp.maximum(raw, np.finfo(float).tiny)
        else:
            La = D.set_lipschitz(g_ptr, g_idx) / n
            if gpu:
                raw = xp.bincount(atom_of, weights=D.raw_sq[g_idx], minlength=len(g_ptr) - 1)
            else:
                raw = np.add.reduceat(D.raw_sq[g_idx], g_ptr[:-1]) if p else np.zeros(0)
            dead = La * n <= 1e-10 * xp.maximum(raw, np.finfo(float).tiny)
        La = xp.where(dead, 0.0, La + lam2)
        live = xp.flatnonzero(~dead).astype(np.int64)

        # blocks
        bs = int(self.block_size)
        variable = self.blocks == "variable"
        if variable:
            blk_ptr = xp.zeros(2, dtype=np.int64)
            blk_atoms = xp.zeros(1, dtype=np.int64)
            L_blk = xp.zeros(1)
            all_blocks = live
            n_blocks_epoch = max(1, -(-len(live) // bs))
        else:
            blk_atoms = live
            blk_ptr = np.append(np.arange(0, len(live), bs, dtype=np.int64), len(live))
            if gpu:
                blk_ptr = xp.asarray(blk_ptr)
            if bs == 1:
                L_blk = La[live].copy()
            elif gpu:
                cidx = _gather_atoms(xp, g_ptr, g_idx, blk_atoms)
                # blocks are runs of bs atoms: their coordinate counts by padding
                nbk = len(blk_ptr) - 1
                sizes = xp.zeros(nbk * bs, dtype=np.int64)
                sizes[:len(live)] = g_ptr[blk_atoms + 1] - g_ptr[blk_atoms]
                cptr = xp.concatenate([xp.zeros(1, dtype=np.int64),
                                       xp.cumsum(sizes.reshape(nbk, bs).sum(axis=1))])
                L_blk = D.set_lipschitz(cptr, cidx) / n + lam2
            else:
                sizes = np.diff(g_ptr)[blk_atoms]
                cptr = np.concatenate([[0], np.cumsum(np.add.reduceat(sizes, blk_ptr[:-1]))]) \
                    if len(live) else np.zeros(1, dtype=np.int64)
                cidx = (np.concatenate([g_idx[g_ptr[a]:g_ptr[a + 1]] for a in blk_atoms])
                        if len(live) else np.zeros(0, dtype=np.int64))
                L_blk = D.set_lipschitz(np.asarray(cptr, dtype=np.int64), cidx) / n + lam2
            all_blocks = xp.arange(len(blk_ptr) - 1, dtype=np.int64)
            n_blocks_epoch = max(1, len(all_blocks))

        # initial point
        w = xp.zeros(p)
        if self.warm_start and getattr(self, "coef_", None) is not None \
                and np.shape(self.coef_) == (p,):
            if device_of(self.coef_) != device_of(X):
                raise mismatch("X", device_of(X), "the warm-start coef_", device_of(self.coef_))
            w = xp.asarray(self.coef_, dtype=np.float64).copy()
            if gpu:
                w[g_idx[dead[atom_of]]] = 0.0
            else:
                w[g_idx[np.repeat(dead, np.diff(g_ptr))]] = 0.0
        rng = check_random_state(self.random_state)

        state = _State(D, yc, w, g_ptr, g_idx, wt, La, lam1, lam2, self.positive,
                       host_groups=host_groups)
        state.block_size = bs
        tol_abs = self.tol * _dot(yc, yc)
        hist_iter = self.history == "iteration"
        path = []
        it_path = []
        n_iter = 0
        converged = False
        steps_total = 0
        newton_tried = None
        prev_support = None
        use_ws = self.working_set and not greedy and not variable and lam1 > 0
        rule = _RULES[self.selection]
        n_f = float(n)

        def run(blk_list, n_steps, cyc):
            nonlocal steps_total
            hist = xp.empty(n_steps if hist_iter else 0)
            done = K.bcd_run(D.dense, D.Xd, D.Xp, D.Xi, D.Xx, D.Rp, D.Rj, D.Rx, D.mu,
                             D.center, g_ptr, g_idx, wt, La, blk_ptr, blk_atoms, L_blk,
                             blk_list, variable, bs, rule, self.update == "newton",
                             bool(self.positive), float(lam1), float(lam2), n_f, state.w,
                             state.rt, state.corr, state.st, int(n_steps),
                             int(rng.randint(0, 2**31 - 1)), cyc, hist)
            if hist_iter:
                path.extend(hist[:done].tolist())
                it_path.extend(range(steps_total + 1, steps_total + done + 1))
            steps_total += done
            return done

        def check():
            """Exact state, duality gap, history; True when converged."""
            nonlocal prev_support, newton_tried
            state.refresh(residual=False)
            gap = state.gap()
            if not hist_iter:
                path.append(state.objective())
                it_path.append(steps_total)
            if gap <= tol_abs:
                return gap, True
            if self.active_set_newton and lam1 > 0:
                sup = state.support()
                if prev_support is not None and _same(sup, prev_support) \
                        and not _same(sup, newton_tried):
                    newton_tried = sup
                    if state.newton(self.positive):
                        gap = state.gap()
                        if hist_iter:
                            path.append(state.objective())
                            it_path.append(steps_total)
                        else:
                            path[-1] = state.objective()
                        if gap <= tol_abs:
                            return gap, True
                prev_support = sup
            return gap, False

        gap, converged = check()
        with progress(self.max_iter, self.verbose, type(self).__name__) as bar:
            if use_ws and not converged:
                ws_size = 0
                while n_iter < self.max_iter and not converged:
                    ws, viol = state.working_set(blk_ptr, blk_atoms, ws_size)
                    ws_size = len(ws)
                    cyc = xp.zeros(1, dtype=np.int64)
                    target = 0.3 * viol
                    while n_iter < self.max_iter:
                        run(ws, len(ws), cyc)
                        n_iter += 1
                        bar.update(1)
                        if state.ws_violation(ws, blk_ptr, blk_atoms, L_blk,
                                              self.positive) <= target:
                            break
                    gap, converged = check()
                    bar.set_postfix(gap=gap / n)
            elif not converged:
                cyc = xp.zeros(1, dtype=np.int64)
                while n_iter < self.max_iter:
                    done = run(all_blocks, n_blocks_epoch, cyc)
                    n_iter += 1
                    bar.update(1)
                    gap, converged = check()
                    bar.set_postfix(gap=gap / n)
                    if converged or (greedy and done < n_blocks_epoch):
                        # greedy: every score zero, w is optimal to rounding
                        break
        if not converged:
            warnings.warn(
                "Objective did not converge. You might want to increase the number "
                f"of iterations. Duality gap: {gap:.3e}, tolerance: {tol_abs:.3e}",
                ConvergenceWarning, stacklevel=2)
        self.n_iter_ = max(n_iter, 1)
        self.dual_gap_ = float(gap / n)
        self.coef_ = state.w.astype(out_dtype, copy=True)
        X_offset = D.X_offset
        if gpu:  # a 0-d device array, in the dtype of coef_ (as its products)
            icpt = (y_mean - (X_offset * state.w).sum() if self.fit_intercept
                    else xp.zeros(()))
            self.intercept_ = xp.asarray(icpt, dtype=out_dtype)
        else:
            self.intercept_ = (float(y_mean - _dot(X_offset, state.w)) if self.fit_intercept
                               else 0.0)
        self.objective_path_ = np.asarray(path)
        self.iteration_path_ = np.asarray(it_path, dtype=np.int64)
        return self

    # --------------------------------------------------------------- predict
    def predict(self, X):
        """Predict with the fitted linear model.

        Parameters
        ----------
        X : {ndarray, SciPy sparse, sparsela array} of shape (n_samples, n_features)
            Samples, on the device of the fit.

        Returns
        -------
        ndarray of shape (n_samples,)
            ``X @ coef_ + intercept_`` (a CuPy array for GPU input).
        """
        check_is_fitted(self)
        same_device("X", X, "the fitted model (coef_)", self.coef_)
        X = validate_data(self, X, reset=False, accept_sparse=True,
                          sparse_format="csr", dtype=(np.float64, np.float32),
                          accept_gpu=True)
        if device_of(X) == "gpu":
            return namespace_of(X).asarray(X @ self.coef_).ravel() + self.intercept_
        return np.asarray(X @ self.coef_).ravel() + self.intercept_

    @property
    def sparse_coef_(self):
        """``coef_`` as a 1 x n_features sparsela CSR array."""
        from ..formats import csr_array

        return csr_array(self.coef_.reshape(1, -1))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _dot(a, b):
    """Vector dot product without BLAS (whose threads cost more than the
    work on these sizes, and far more on a busy machine)."""
    return float(np.multiply(a, b).sum())


def _same(a, b):
    return b is not None and a[0].shape == b[0].shape and np.array_equal(a[0], b[0]) \
        and np.array_equal(a[1], b[1])


class _State:
    """Coefficients, residual and gradient of one fit, with the duality gap,
    working-set selection and active-set Newton step."""

    def __init__(self, D, yc, w, g_ptr, g_idx, wt, L_atom, lam1, lam2, positive,
                 host_groups=None):
        self.D, self.yc, self.w = D, yc, w
        self.g_ptr, self.g_idx, self.wt, self.L_atom = g_ptr, g_idx, wt, L_atom
        self.lam1, self.lam2, self.positive = lam1, lam2, bool(positive)
        self.n = D.n
        self.gpu = D.gpu
        xp = self.xp = D.xp
        # the group structure from its host copies (no reads from the device)
        gp, gi = (g_ptr, g_idx) if host_groups is None else host_groups
        self.singletons = bool(np.all(np.diff(gp) == 1))
        self.identity = self.singletons and bool(np.array_equal(gi, np.arange(len(gi))))
        self.n_atoms = len(gp) - 1
        if self.gpu:
            self.atom_of = xp.asarray(np.repeat(np.arange(self.n_atoms), np.diff(gp)))
        self.st = xp.zeros(5)
        self.viol = xp.zeros(self.n_atoms)
        self.refresh()

    # exact recomputation (kills the drift of the incremental updates)
    def refresh(self, residual=True):
        """Recompute the gradient, the sums and the per-atom optimality
        violations (one SpMV and one pass over the atoms); ``residual=False``
        keeps the incrementally updated ``rt`` (its rounding drift is
        negligible)."""
        if self.gpu:
            return self._refresh_gpu(residual)
        D, w = self.D, self.w
        if residual or not hasattr(self, "rt"):
            self.rt = self.yc - D.matvec(w) if np.any(w) else self.yc.copy()
        S = float(self.rt.sum())
        c = _dot(D.mu, w) if D.center else 0.0
        self.corr = D.corr(self.rt, S)
        self.dual_norm, pen1, w2 = _kernels().atom_stats(
            self.g_ptr, self.g_idx, self.wt, self.L_atom, w, self.corr,
            float(self.lam1), float(self.lam2), float(self.n), self.positive, self.viol)
        self.st[:] = [S, c, _dot(self.rt, self.rt), pen1, w2]

    def _refresh_gpu(self, residual):
        """:meth:`refresh` on the device; the scalars of the gap and objective
        come back in ONE transfer (``self._h``)."""
        D, w, xp = self.D, self.w, self.xp
        if residual or not hasattr(self, "rt"):
            self.rt = self.yc - D.matvec(w) if bool(xp.any(w)) else self.yc.copy()
        rt = self.rt
        S = rt.sum()
        c = (D.mu * w).sum() if D.center else xp.zeros(())
        self.corr = D.corr(rt, S)
        dual, pen1, w2 = _kernels(True).atom_stats(
            self.g_ptr, self.g_idx, self.wt, self.L_atom, w, self.corr,
            float(self.lam1), float(self.lam2), float(self.n), self.positive, self.viol)
        self.st[:] = xp.stack([S, c, (rt * rt).sum(), pen1, w2])
        r = rt + c
        h = xp.stack([dual, pen1, w2, (r * r).sum(), (r * self.yc).sum(),
                      (self.corr * self.corr).sum()]).get()
        self._h = [float(v) for v in h]
        self.dual_norm = self._h[0]

    def _group_norms(self, v):
        if self.gpu and not self.singletons:
            xp = self.xp
            return xp.sqrt(xp.bincount(self.atom_of, weights=v[self.g_idx] ** 2,
                                       minlength=self.n_atoms))
        if self.singletons:
            return np.abs(v if self.identity else v[self.g_idx])
        sq = np.add.reduceat(v[self.g_idx] ** 2, self.g_ptr[:-1]) if len(v) else np.zeros(0)
        return np.sqrt(sq)

    def _pen1(self, w):
        return _dot(self.wt, self._group_norms(w))

    def residual(self):
        return self.rt + self.st[1]

    def objective(self):
        if self.gpu:
            _, pen1, w2, R2 = self._h[:4]
            return float(R2 / (2 * self.n) + self.lam1 * pen1 + 0.5 * self.lam2 * w2)
        r = self.residual()
        return float(_dot(r, r) / (2 * self.n) + self.lam1 * self.st[3]
                     + 0.5 * self.lam2 * self.st[4])

    def gap(self):
        """Duality gap in scikit-learn's unscaled form (n times the objective),
        from the last :meth:`refresh`."""
        n = self.n
        alpha, beta = n * self.lam1, n * self.lam2
        if self.gpu:
            dual_norm, pen1, w2, R2, Ry, cc = self._h
            if alpha == 0:
                return cc if beta == 0 else R2 + 0.5 * beta * w2 - Ry + cc / (2 * beta)
            scale = alpha / dual_norm if dual_norm > alpha else 1.0
            primal = 0.5 * (R2 + beta * w2) + alpha * pen1
            dual = -0.5 * scale ** 2 * (R2 + beta * w2) + scale * Ry
            return max(primal - dual, 0.0)
        r = self.residual()
        R2 = _dot(r, r)
        Ry = _dot(r, self.yc)
        w2 = self.st[4]
        if alpha == 0:
            dn = _dot(self.corr, self.corr)  # ||X^T R||^2 (formulation B)
            if beta == 0:
                return dn
            return R2 + 0.5 * beta * w2 - Ry + dn / (2 * beta)
        dual_norm = self.dual_norm
        scale = alpha / dual_norm if dual_norm > alpha else 1.0
        primal = 0.5 * (R2 + beta * w2) + alpha * self.st[3]
        dual = -0.5 * scale ** 2 * (R2 + beta * w2) + scale * Ry
        return max(primal - dual, 0.0)

    def support(self):
        """Non-zero atoms and, for one-coordinate atoms, their signs."""
        xp = self.xp
        atoms = xp.flatnonzero(self._group_norms(self.w) > 0)
        if self.singletons:
            return atoms, xp.sign(self.w[self.g_idx[atoms]])
        return atoms, xp.ones(len(atoms))

    # -------------------------------------------------- optimality violation
    def working_set(self, blk_ptr, blk_atoms, prev_size):
        """The non-zero blocks plus the worst violators (from the last
        :meth:`refresh`); the size doubles with the support (at least 10).
        Returns ``(blocks, max violation)``. On the device, among blocks of
        equal violation (typically zero) the choice may differ from the
        CPU's (CuPy has no ``argpartition``: a stable ``argsort`` instead)."""
        nb = len(blk_ptr) - 1
        xp = self.xp
        if nb == 0:
            return xp.zeros(0, dtype=np.int64), 0.0
        viol, blk_nz = self._block_maxima(blk_ptr, blk_atoms, nb)
        n_nz = int(xp.count_nonzero(blk_nz))
        size = min(nb, max(10, 2 * n_nz, prev_size if prev_size > 2 * n_nz else 0))
        if size < nb:
            viol_ws = viol.copy()
            viol_ws[blk_nz] = np.inf
            if self.gpu:
                ws = xp.argsort(-viol_ws, kind="stable")[:size]
            else:
                ws = np.argpartition(-viol_ws, size - 1)[:size]
        else:
            ws = xp.arange(nb)
        return xp.sort(ws).astype(np.int64), float(viol.max())

    def _block_maxima(self, blk_ptr, blk_atoms, nb):
        """Per block: the largest violation of its atoms, and whether any of
        its atoms is non-zero. On the device blocks are runs of
        ``block_size`` atoms, so the maxima come from a padded reshape (CuPy
        has no ``reduceat``)."""
        wn = self._group_norms(self.w)
        if len(blk_atoms) == nb:  # one atom per block
            return self.viol[blk_atoms], wn[blk_atoms] > 0
        if not self.gpu:
            return (np.maximum.reduceat(self.viol[blk_atoms], blk_ptr[:-1]),
                    np.maximum.reduceat(wn[blk_atoms], blk_ptr[:-1]) > 0)
        bs = self.block_size
        pad = self.xp.zeros((2, nb * bs))
        pad[0, :len(blk_atoms)] = self.viol[blk_atoms]
        pad[1, :len(blk_atoms)] = wn[blk_atoms]
        pad = pad.reshape(2, nb, bs).max(axis=2)
        return pad[0], pad[1] > 0

    def ws_violation(self, ws, blk_ptr, blk_atoms, L_blk, positive):
        """Max violation over the working set (its gradient recomputed)."""
        D = self.D
        return _kernels(self.gpu).ws_violation(
            D.dense, D.Xd, D.Xp, D.Xi, D.Xx, D.mu, float(self.st[0]), self.rt,
            self.g_ptr, self.g_idx, self.wt, blk_ptr, blk_atoms, L_blk, ws, self.w,
            self.corr, float(self.lam1), float(self.lam2), float(self.n), bool(positive))

    # ------------------------------------------------------ active-set Newton
    def newton(self, positive, max_size=2500):
        from threadpoolctl import threadpool_limits

        # small dense solves: one BLAS thread (spinning threads cost more)
        if self.gpu:
            return self._newton_gpu(positive, max_size)
        with threadpool_limits(limits=1, user_api="blas"):
            return self._newton(positive, max_size)

    def _newton_gpu(self, positive, max_size):
        """:meth:`_newton` on the device (xp.linalg solves; the tests of the
        support and of the objective read scalars back)."""
        xp, n, w = self.xp, self.n, self.w
        atoms = xp.flatnonzero(self._group_norms(w) > 0)
        cols = (self.g_idx[atoms] if self.singletons else
                _gather_atoms(xp, self.g_ptr, self.g_idx, atoms))
        m = len(cols)
        if m == 0 or m > max_size or (m > n and self.lam2 == 0):
            return False
        H = self.D.gram(cols) / n
        diag = xp.arange(m)
        H[diag, diag] += self.lam2
        b = self.D.corr_subset(self.yc, float(self.yc.sum()), cols) / n
        wa = w[cols].copy()
        lam1 = self.lam1
        k = len(atoms)
        if not self.singletons:  # group of each active coordinate, 0..k-1
            sizes = self.g_ptr[atoms + 1] - self.g_ptr[atoms]
            seg = xp.searchsorted(xp.cumsum(sizes), xp.arange(m), side="right")
            gw = self.wt[atoms][seg]

        def pen(z):
            if self.singletons:
                return (self.wt[atoms] * xp.abs(z)).sum()
            return (self.wt[atoms] * xp.sqrt(xp.bincount(seg, weights=z ** 2,
                                                         minlength=k))).sum()

        def F(z):
            return float(0.5 * z @ (H @ z) - b @ z + lam1 * pen(z))

        F0 = F(wa)
        if self.singletons:
            s = xp.sign(wa)
            try:  # CuPy returns non-finite values where LAPACK raises
                z = xp.linalg.solve(H, b - lam1 * self.wt[atoms] * s)
            except np.linalg.LinAlgError:
                return False
            ok = xp.all(xp.isfinite(z)) & xp.all(xp.sign(z) == s)
            if positive:
                ok &= xp.all(z > 0)
            if not bool(ok):
                return False
        else:
            z = wa.copy()
            same = seg[:, None] == seg[None, :]
            for _ in range(50):
                nrm2 = xp.bincount(seg, weights=z ** 2, minlength=k)
                if bool(xp.any(nrm2 == 0)):
                    return False
                nrm = xp.sqrt(nrm2)[seg]
                grad = H @ z - b + lam1 * gw * z / nrm
                Hn = H - same * ((lam1 * gw * z / nrm ** 3)[:, None] * z[None, :])
                Hn[diag, diag] += lam1 * gw / nrm
                try:
                    d = xp.linalg.solve(Hn, -grad)
                except np.linalg.LinAlgError:
                    return False
                if not bool(xp.all(xp.isfinite(d))):
                    return False
                t, Fz, slope = 1.0, F(z), float(grad @ d)
                while t > 1e-10 and F(z + t * d) > Fz + 1e-4 * t * slope:
                    t *= 0.5
                z = z + t * d
                if float(xp.linalg.norm(t * d)) <= 1e-14 * max(float(xp.linalg.norm(z)),
                                                               1e-300):
                    break
            if positive and bool(xp.any(z < 0)):
                return False
        if not F(z) <= F0:
            return False
        w[cols] = z
        self.refresh()
        return True

    def _newton(self, positive, max_size):
        """Solve the problem restricted to the active set (smooth there) by
        Newton's method; keep the result when the support is kept and the
        objective decreases. Returns True when ``w`` changed."""
        n, w = self.n, self.w
        atoms = np.flatnonzero(self._group_norms(w) > 0)
        cols = (self.g_idx[atoms] if self.singletons else
                np.concatenate([self.g_idx[self.g_ptr[a]:self.g_ptr[a + 1]] for a in atoms]))
        m = len(cols)
        if m == 0 or m > max_size or (m > n and self.lam2 == 0):
            return False
        H = self.D.gram(cols) / n
        H[np.diag_indices(m)] += self.lam2
        b = self.D.corr_subset(self.yc, float(self.yc.sum()), cols) / n
        wa = w[cols].copy()
        lam1 = self.lam1

        def F(z):
            return 0.5 * z @ H @ z - b @ z + lam1 * self._pen_active(z, atoms)

        F0 = F(wa)
        if self.singletons:
            s = np.sign(wa)
            try:
                z = np.linalg.solve(H, b - lam1 * self.wt[atoms] * s)
            except np.linalg.LinAlgError:
                return False
            if not np.all(np.sign(z) == s) or (positive and np.any(z <= 0)):
                return False
        else:
            z = wa.copy()
            sizes = np.diff(self.g_ptr)[atoms]
            starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            gw = np.repeat(self.wt[atoms], sizes)
            for _ in range(50):
                nrm = np.repeat(np.sqrt(np.add.reduceat(z ** 2, starts)), sizes)
                if np.any(nrm == 0):
                    return False
                grad = H @ z - b + lam1 * gw * z / nrm
                Hn = H.copy()
                Hn[np.diag_indices(m)] += lam1 * gw / nrm
                for k, s0 in enumerate(starts):
                    sl_ = slice(s0, s0 + sizes[k])
                    zz = z[sl_]
                    Hn[sl_, sl_] -= lam1 * gw[s0] * np.outer(zz, zz) / nrm[s0] ** 3
                try:
                    d = np.linalg.solve(Hn, -grad)
                except np.linalg.LinAlgError:
                    return False
                t, Fz = 1.0, F(z)
                while t > 1e-10 and F(z + t * d) > Fz + 1e-4 * t * (grad @ d):
                    t *= 0.5
                z = z + t * d
                if np.linalg.norm(t * d) <= 1e-14 * max(np.linalg.norm(z), 1e-300):
                    break
            if positive and np.any(z < 0):
                return False
        if not F(z) <= F0:
            return False
        w[cols] = z
        self.refresh()
        return True

    def _pen_active(self, z, atoms):
        if self.singletons:
            return float(self.wt[atoms] @ np.abs(z))
        sizes = np.diff(self.g_ptr)[atoms]
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        return float(self.wt[atoms] @ np.sqrt(np.add.reduceat(z ** 2, starts)))


_DOC_COMMON = """
    max_iter : int, default=1000
        Maximum number of epochs (passes of as many block updates as there
        are blocks; with working sets, passes over the working set).
    tol : float, default=1e-4
        Stop when the duality gap (scikit-learn's formulation, unscaled) is
        below ``tol * ||y - mean(y)||^2``; checked after every epoch.
    warm_start : bool, default=False
        Start from the previous ``coef_``.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    random_state : int, RandomState instance or None, default=None
        Seed of the random block choices (``selection`` 'random' or
        'lipschitz', or random variable blocks).
    selection : {'cyclic', 'random', 'lipschitz', 'gs', 'gsl', 'gsq'}, default='cyclic'
        Block selection rule (see the module docstring): cyclic order,
        uniform, proportional to the block Lipschitz constants, or the greedy
        Gauss-Southwell (GS-r), Gauss-Southwell-Lipschitz (GSL-r) and
        Gauss-Southwell-quadratic (GS-q) rules of Nutini et al. (2022).
    block_size : int, default=1
        Number of coordinates (groups for ``GroupLasso``) per block.
    blocks : {'fixed', 'variable'}, default='fixed'
        'fixed': a partition into consecutive blocks of ``block_size``;
        'variable': each block formed anew from the best-scored (greedy
        rules) or randomly drawn coordinates.
    update : {'gradient', 'newton'}, default='gradient'
        Proximal-gradient block step with ``1/L_b``, or exact minimisation of
        the block's quadratic model with the block Hessian (proximal Newton).
    working_set : bool, default=True
        Cyclic/random/lipschitz rules with fixed blocks run on a growing
        working set of blocks (non-zero ones plus the worst violators).
    active_set_newton : bool, default=True
        Once the support is stable between two gap checks, solve the
        problem restricted to it by Newton's method (superlinear finish).
    history : {'epoch', 'iteration'}, default='epoch'
        Record the objective after every epoch or after every block update
        (``objective_path_``).
    verbose : bool or int, default=0
        Show a progress bar (tqdm when installed) with the duality gap.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Coefficients (a CuPy array after a GPU fit).
    intercept_ : float
        Intercept (0.0 when ``fit_intercept=False``); after a GPU fit a 0-d
        CuPy array of the dtype of ``coef_``.
    n_iter_ : int
        Number of epochs run.
    dual_gap_ : float
        Duality gap at the end, divided by ``n_samples`` as in scikit-learn.
    objective_path_ : ndarray
        Objective after each epoch (or block update, see ``history``); with
        ``active_set_newton`` a Newton step counts as a point of the path.
    iteration_path_ : ndarray of int
        Number of block updates done at each point of ``objective_path_``.
    n_features_in_ : int
        Number of features seen in ``fit``.
"""


class Lasso(_BaseBCD):
    __doc__ = """Lasso by block coordinate descent with greedy or random block rules.

    Minimises ``1/(2 n) ||y - X w - b||^2 + alpha ||w||_1``, the objective of
    :class:`sklearn.linear_model.Lasso`. Dense, SciPy sparse and sparsela
    input; sparse input is never densified. CuPy arrays and sparsela arrays
    on the GPU fit on the GPU (every option; see the module docstring).

    Parameters
    ----------
    alpha : float, default=1.0
        L1 penalty.
    fit_intercept : bool, default=True
        Fit an intercept (sparse ``X`` is centred implicitly).
""" + _DOC_COMMON + """
    See Also
    --------
    ElasticNet : L1 plus squared L2 penalty.
    GroupLasso : L2 norms of groups of coefficients.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsela.linear_model import Lasso
    >>> X = np.array([[0., 0.], [1., 1.], [2., 2.]])
    >>> Lasso(alpha=0.1).fit(X, [0., 1., 2.]).coef_.round(3)
    array([0.85, 0.  ])
"""

    def __init__(self, alpha=1.0, *, fit_intercept=True, max_iter=1000, tol=1e-4,
                 warm_start=False, positive=False, random_state=None,
                 selection="cyclic", block_size=1, blocks="fixed", update="gradient",
                 working_set=True, active_set_newton=True, history="epoch", verbose=0):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.block_size = block_size
        self.blocks = blocks
        self.update = update
        self.working_set = working_set
        self.active_set_newton = active_set_newton
        self.history = history
        self.verbose = verbose

    def _penalties(self):
        return float(self.alpha), 0.0


class ElasticNet(_BaseBCD):
    __doc__ = """Elastic net by block coordinate descent with greedy or random block rules.

    Minimises ``1/(2 n) ||y - X w - b||^2 + alpha l1_ratio ||w||_1
    + alpha (1 - l1_ratio)/2 ||w||^2``, the objective of
    :class:`sklearn.linear_model.ElasticNet`.

    Parameters
    ----------
    alpha : float, default=1.0
        Penalty strength.
    l1_ratio : float, default=0.5
        Share of the L1 penalty, in [0, 1].
    fit_intercept : bool, default=True
        Fit an intercept (sparse ``X`` is centred implicitly).
""" + _DOC_COMMON + """
    See Also
    --------
    Lasso : L1 penalty only.
    GroupLasso : L2 norms of groups of coefficients.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsela.linear_model import ElasticNet
    >>> X = np.array([[0., 0.], [1., 1.], [2., 2.]])
    >>> ElasticNet(alpha=0.1, l1_ratio=0.5).fit(X, [0., 1., 2.]).predict(X).round(2)
    array([0.11, 1.  , 1.89])
"""

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, max_iter=1000,
                 tol=1e-4, warm_start=False, positive=False, random_state=None,
                 selection="cyclic", block_size=1, blocks="fixed", update="gradient",
                 working_set=True, active_set_newton=True, history="epoch", verbose=0):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.block_size = block_size
        self.blocks = blocks
        self.update = update
        self.working_set = working_set
        self.active_set_newton = active_set_newton
        self.history = history
        self.verbose = verbose

    def _check_params(self):
        super()._check_params()
        if not isinstance(self.l1_ratio, numbers.Real) or not 0 <= self.l1_ratio <= 1:
            raise ValueError(f"l1_ratio must be in [0, 1]; got {self.l1_ratio!r}.")

    def _penalties(self):
        a, r = float(self.alpha), float(self.l1_ratio)
        return a * r, a * (1.0 - r)


class GroupLasso(_BaseBCD):
    __doc__ = """Group Lasso by block coordinate descent with greedy or random block rules.

    Minimises ``1/(2 n) ||y - X w - b||^2 + alpha sum_g weight_g ||w_g||_2``.
    A block is ``block_size`` whole groups.

    Parameters
    ----------
    groups : array-like of shape (n_features,), int or None, default=None
        Group label of each feature (any hashable labels; features of a group
        need not be contiguous); an int ``k`` means contiguous groups of
        ``k`` features; None puts every feature in its own group (the Lasso).
    alpha : float, default=1.0
        Penalty strength.
    weights : array-like of shape (n_groups,) or None, default=None
        Weight of each group, in the order of the sorted group labels; None
        gives weight 1 to every group (as skglm's ``GroupLasso``; use
        ``sqrt(group size)`` for the Yuan & Lin scaling). A zero weight
        leaves the group unpenalised.
    fit_intercept : bool, default=True
        Fit an intercept (sparse ``X`` is centred implicitly).
""" + _DOC_COMMON + """
    See Also
    --------
    Lasso : L1 penalty (one coordinate per group).
    ElasticNet : L1 plus squared L2 penalty.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsela.linear_model import GroupLasso
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 6))
    >>> y = X[:, :2] @ [1.0, -1.0]
    >>> GroupLasso(groups=[0, 0, 1, 1, 2, 2], alpha=0.1).fit(X, y).coef_[2:].tolist()
    [0.0, 0.0, 0.0, 0.0]
"""

    def __init__(self, groups=None, alpha=1.0, *, weights=None, fit_intercept=True,
                 max_iter=1000, tol=1e-4, warm_start=False, positive=False,
                 random_state=None, selection="cyclic", block_size=1, blocks="fixed",
                 update="gradient", working_set=True, active_set_newton=True,
                 history="epoch", verbose=0):
        self.groups = groups
        self.alpha = alpha
        self.weights = weights
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.block_size = block_size
        self.blocks = blocks
        self.update = update
        self.working_set = working_set
        self.active_set_newton = active_set_newton
        self.history = history
        self.verbose = verbose

    def _penalties(self):
        return float(self.alpha), 0.0

    def _groups(self, p):
        return _groups_arrays(self.groups, p)

    def _group_weights(self, ptr):
        n_groups = len(ptr) - 1
        if self.weights is None:
            return np.ones(n_groups)
        wts = np.asarray(self.weights, dtype=np.float64)
        if wts.shape != (n_groups,) or np.any(wts < 0) or not np.all(np.isfinite(wts)):
            raise ValueError(
                f"weights must be {n_groups} non-negative finite numbers (one per "
                f"group); got shape {wts.shape}.")
        return wts


# --------------------------------------------------------------------------- #
# the paper's synthetic least-squares problem
# --------------------------------------------------------------------------- #
def make_data_a(n_samples=1000, n_features=10000, *, random_state=None):
    """Least-squares "Data A" of Nutini, Laradji and Schmidt (JMLR 2022).

    ``X`` is sparse: each entry is non-zero with probability
    ``10 log(n_features) / n_features`` with N(0, 1) values, and each column
    is then multiplied by ``10 * N(0, 1)`` (so the coordinate Lipschitz
    constants differ widely). ``w_true`` has 10% non-zeros (N(0, 1));
    ``y = X w_true + N(0, 1)`` noise.

    Parameters
    ----------
    n_samples, n_features : int
        Size of ``X`` (the paper: 1000 x 10000).
    random_state : int, RandomState instance or None
        Seed.

    Returns
    -------
    X : sparsela.csc_array of shape (n_samples, n_features)
        The design matrix.
    y : ndarray of shape (n_samples,)
        Noisy targets.
    w_true : ndarray of shape (n_features,)
        The coefficients that generated ``y``.
    """
    import scipy.sparse as sp

    from ..formats import csc_array

    rng = check_random_state(random_state)
    density = min(1.0, 10 * np.log(n_features) / n_features)
    A = sp.random_array((n_samples, n_features), density=density, format="csc",
                        rng=rng, data_sampler=rng.standard_normal)
    A = A @ sp.diags_array(10 * rng.standard_normal(n_features))
    A = sp.csc_array(A)
    w_true = np.zeros(n_features)
    k = max(1, n_features // 10)
    w_true[rng.choice(n_features, k, replace=False)] = rng.standard_normal(k)
    y = A @ w_true + rng.standard_normal(n_samples)
    return csc_array(A), y, w_true
