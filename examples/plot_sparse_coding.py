"""
Sparse coding with FISTA, dictionary learning and a fast encoder
================================================================

:class:`sparsela.decomposition.SparseCoder` codes every signal against a
dictionary by the Lasso, ``min_z 0.5 ||x - z D||^2 + alpha ||z||_1``, with
FISTA stopped on the duality gap. It solves scikit-learn's ``lasso_cd``
problem, so the codes agree with scikit-learn's. This example

1. codes 1000 synthetic signals with both libraries and compares codes and time;
2. codes sparse signals (a SciPy CSR matrix) without densifying them;
3. learns a dictionary of handwritten-digit strokes with
   :class:`~sparsela.decomposition.MiniBatchDictionaryLearning`;
4. trains the learned fast encoder ``z ~ g * tanh(W x + b)``
   (``fit_predictor=True``) and compares its one-product codes with the exact
   ones on held-out digits.
"""
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_digits, make_sparse_coded_signal
from sklearn.decomposition import SparseCoder as SkSparseCoder

from sparsela.decomposition import MiniBatchDictionaryLearning, SparseCoder


def best_time(f, repeat=3):
    """Shortest wall time of ``repeat`` calls, and the last result."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return best, out


# %%
# Coding against a fixed dictionary
# ---------------------------------
# 1000 signals, each a combination of 5 of 128 atoms in 64 dimensions.
X, D, _ = make_sparse_coded_signal(n_samples=1000, n_components=128, n_features=64,
                                   n_nonzero_coefs=5, random_state=0)
coder = SparseCoder(D, transform_alpha=0.1)
coder.transform(X[:5])  # the Numba kernel compiles (or loads its cache) once

t_sl, Z = best_time(lambda: coder.transform(X))
sk = SkSparseCoder(D, transform_algorithm="lasso_cd", transform_alpha=0.1)
t_sk, Z_sk = best_time(lambda: sk.transform(X), repeat=1)
print(f"sparsela FISTA     : {1e3 * t_sl:7.1f} ms")
print(f"scikit-learn CD    : {1e3 * t_sk:7.1f} ms  ({t_sk / t_sl:.1f}x)")
print(f"max |code difference| = {np.abs(Z - Z_sk).max():.1e}, "
      f"{(Z != 0).sum(1).mean():.1f} non-zeros per code")

# %%
# Sparse signals
# --------------
# A sparse ``X`` enters only through ``X @ D.T`` (a sparsela product) and its
# row norms: it is never densified.
rng = np.random.default_rng(0)
S = sp.random_array((1000, 2000), density=0.01, format="csr", rng=rng,
                    data_sampler=rng.standard_normal)
atoms = rng.standard_normal((200, 2000))
atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
alpha = 0.5 * np.abs(S @ atoms.T).max(axis=1).mean()
Z_sparse = SparseCoder(atoms, transform_alpha=alpha).transform(S)
print(f"sparse input: codes {Z_sparse.shape}, "
      f"{(Z_sparse != 0).sum(1).mean():.1f} non-zeros per code")

# %%
# Learning a dictionary of digit strokes
# --------------------------------------
# Centred 8 x 8 digits; 36 atoms learned online, and the fast encoder trained
# on the exact codes of the training images.
digits = load_digits().data / 16.0
digits -= digits.mean(axis=1, keepdims=True)
train, test = digits[:1400], digits[1400:]
dl = MiniBatchDictionaryLearning(n_components=36, alpha=0.1, batch_size=64, max_iter=5,
                                 random_state=0, fit_predictor=True)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")   # a short run: no convergence claimed
    dl.fit(train)

fig, axes = plt.subplots(6, 6, figsize=(5, 5))
for atom, ax in zip(dl.components_, axes.ravel()):
    ax.imshow(atom.reshape(8, 8), cmap="gray_r")
    ax.set_axis_off()
fig.suptitle("MiniBatchDictionaryLearning: 36 atoms of handwritten digits")

# %%
# The fast encoder
# ----------------
# ``transform(X, fast=True)`` is one product and a ``tanh``; the exact codes
# solve the Lasso. On held-out digits:
t_exact, Z_exact = best_time(lambda: dl.transform(test))
t_fast, Z_fast = best_time(lambda: dl.transform(test, fast=True))
rel = np.linalg.norm(Z_fast - Z_exact) / np.linalg.norm(Z_exact)
print(f"exact {1e3 * t_exact:.1f} ms, fast {1e3 * t_fast:.2f} ms; "
      f"relative error of the fast codes {rel:.2f} (zero codes: 1)")

fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.scatter(Z_exact.ravel(), Z_fast.ravel(), s=2, alpha=0.3)
lim = np.abs(Z_exact).max()
ax.plot([-lim, lim], [-lim, lim], "k--", lw=1)
ax.set_xlabel("exact code (FISTA)")
ax.set_ylabel("fast code  g tanh(W x + b)")
ax.set_title(f"held-out digits, relative error {rel:.2f}")
plt.show()
