"""
Stochastic CCA: correlation captured against samples seen
=========================================================

:class:`sparsela.cross_decomposition.StochasticCCA` minimises the
unconstrained Eckart-Young loss of Chapman et al. ("Unconstrained Stochastic
CCA", ICLR 2024) by minibatch SGD. Streamed with ``partial_fit``, it never
holds more than one chunk of the data, and the correlation it captures climbs
towards the exact CCA's (:class:`sparsela.cross_decomposition.CCA`, one
eigendecomposition on all the data).

The data: two views of 20,000 samples (60 and 40 features, the first a sparse
CSR array) generated from three shared latent factors, so exactly three
canonical correlations are large.
"""
# %%
# Two views with known canonical structure; X is sparse.
import time

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp

from sparsela.cross_decomposition import CCA, StochasticCCA

rng = np.random.default_rng(0)
n, p, q, k = 20_000, 60, 40, 3
L = rng.standard_normal((n, k))
mask = rng.random((n, p)) < 0.3  # X keeps 30 % of its entries: sparse
X = sp.csr_array((L @ rng.standard_normal((k, p)) + rng.standard_normal((n, p))) * mask)
Y = L @ (rng.standard_normal((k, q)) * [[1.0], [0.6], [0.4]]) + rng.standard_normal((n, q))

exact = CCA(n_components=k).fit(X, Y)
print("exact canonical correlations:", np.round(exact.canonical_correlations_, 4))


# %%
# The captured correlation of a model is the sum of the canonical correlations
# between its k-dimensional projections of the two views (rotation invariant),
# here on the whole data set.
def captured(model):
    xs, ys = model.transform(X, Y)
    return CCA(n_components=k).fit(xs, ys).canonical_correlations_.sum()


# %%
# Stream the data in chunks of 1,000 samples through ``partial_fit`` (two
# passes), recording the captured correlation after every chunk.
model = StochasticCCA(n_components=k, batch_size=256, learning_rate=0.5, random_state=0)
seen, curve = [], []
t0 = time.perf_counter()
for epoch in range(2):
    order = rng.permutation(n)
    for start in range(0, n, 1_000):
        rows = np.sort(order[start:start + 1_000])
        model.partial_fit(X[rows], Y[rows])
        seen.append(model.n_samples_seen_)
        curve.append(captured(model))
print(f"streamed {model.n_samples_seen_:,} samples in {time.perf_counter() - t0:.1f} s")

# ``fit`` on all the data, for comparison (its own step-size schedule)
t0 = time.perf_counter()
full = StochasticCCA(n_components=k, random_state=0).fit(X, Y)
print(f"fit: {full.n_iter_} epochs in {time.perf_counter() - t0:.1f} s, "
      f"{captured(full) / exact.canonical_correlations_.sum():.4%} of the exact sum")

# %%
# The captured correlation approaches the exact CCA's within the first pass.
total = exact.canonical_correlations_.sum()
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(seen, np.array(curve) / total, marker=".", label="StochasticCCA.partial_fit")
ax.axhline(1.0, color="k", lw=0.8, ls="--", label="exact CCA")
ax.axhline(0.995, color="grey", lw=0.8, ls=":", label="99.5 % of exact")
ax.set_xscale("log")
ax.set_ylim(0.9, 1.005)
ax.set_xlabel("samples seen")
ax.set_ylabel("captured / exact correlation")
ax.legend(loc="lower right")
fig.tight_layout()
plt.show()
