"""The selection kernels of Sinkhorn-Newton-Sparse (``sparsela/backends/cpu/ot.py``:
``top_entries``, ``select_threshold``) against a NumPy reference: a stable
sort of ``P = K * u[:, None] * v[None, :]``, largest first (ties in row-major
order), and the shortest prefix holding at least ``k`` entries and ``target``
mass. Covers random plans (hypothesis), ties, zeros, threshold guesses ``lo``
too low / too high / exact (and past the candidate cap), ``k = 1`` and
``k = P.size``, single rows and columns."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsela.backends import lazy


@pytest.fixture(scope="module")
def ker():
    return lazy("cpu.ot")


# --------------------------------------------------------------------------- #
# reference and checks
# --------------------------------------------------------------------------- #
def plan_of(K, u, v):
    # the kernels' products, in their order
    return K * u[:, None] * v[None, :]


def reference(K, u, v, k, target):
    """``(kept flat indices in row-major order, tau)`` by a full stable sort."""
    flat = plan_of(K, u, v).ravel()
    order = np.argsort(-flat, kind="stable")  # largest first, ties row-major
    cum = np.cumsum(flat[order])
    k = min(max(k, 1), flat.size)
    need = k
    if target > 0:
        need = max(need, int(np.searchsorted(cum, target, side="left")) + 1)
    need = min(need, flat.size)
    return np.sort(order[:need]), float(flat[order[need - 1]])


def clear_target(K, u, v, retain):
    """A mass target near ``retain`` of the total, halfway between two
    partial sums of the sorted entries (so rounding in the kernels' sums,
    taken in another order, cannot move the kept count); 0 where the entry
    that crosses it is too small for that."""
    if retain <= 0:
        return 0.0
    flat = plan_of(K, u, v).ravel()
    vals = -np.sort(-flat)
    cum = np.cumsum(vals)
    total = cum[-1]
    j = min(int(np.searchsorted(cum, retain * total, side="left")), vals.size - 1)
    if vals[j] <= 1e-9 * total:
        return 0.0
    return float((cum[j - 1] if j else 0.0) + 0.5 * vals[j])


def check_top_entries(ker, K, u, v, k, target, lo=0.0):
    m = K.shape[1]
    copies = K.copy(), u.copy(), v.copy()
    flat = plan_of(K, u, v).ravel()
    kept, tau_ref = reference(K, u, v, k, target)
    I, J, V, tau = ker.top_entries(K, u, v, k, target, lo=lo)
    assert I.dtype == np.int64 and J.dtype == np.int64 and V.dtype == np.float64
    assert I.shape == J.shape == V.shape == kept.shape
    np.testing.assert_array_equal(I * m + J, kept)  # same entries, row-major
    assert np.array_equal(V, flat[kept])  # bit for bit
    assert tau == tau_ref
    for a, b in zip((K, u, v), copies):  # inputs untouched
        assert np.array_equal(a, b)
    return kept, tau_ref


def check_select_threshold(ker, K, u, v, k, target):
    flat = plan_of(K, u, v).ravel()
    kept, tau_ref = reference(K, u, v, k, target)
    tau, n_eq, count = ker.select_threshold(K, u, v, k, target)
    assert count == kept.size
    assert tau == tau_ref
    eq = flat == tau
    chosen = (flat > tau) | (eq & (np.cumsum(eq) <= n_eq))
    np.testing.assert_array_equal(np.flatnonzero(chosen), kept)


def random_problem(rng, n, m, kind):
    """``K`` over many decades (with exact zeros), or from a few values (many
    ties); ``u``, ``v`` positive (ones where ties should survive)."""
    if kind == "decades":
        K = np.exp(rng.uniform(-40.0, 0.0, size=(n, m)))
        K[rng.random((n, m)) < 0.15] = 0.0
        u, v = np.exp(rng.normal(size=n)), np.exp(rng.normal(size=m))
    elif kind == "ties":
        K = rng.choice([0.0, 0.125, 0.25, 0.5, 1.0], size=(n, m))
        u, v = np.ones(n), np.ones(m)
    else:  # "mixed": ties after scaling by u, v in two columns
        K = rng.random((n, m))
        K[rng.random((n, m)) < 0.3] = 0.5
        u = np.exp(rng.normal(size=n))
        v = np.exp(rng.normal(size=m))
        v[: min(2, m)] = 1.0
        u[: max(1, n // 2)] = 1.0
    return K, u, v


# --------------------------------------------------------------------------- #
# property test
# --------------------------------------------------------------------------- #
@settings(max_examples=15)
@given(n=st.integers(1, 9), m=st.integers(1, 9), seed=st.integers(0, 2**32 - 1),
       kind=st.sampled_from(["decades", "ties", "mixed"]),
       k_frac=st.floats(0.0, 1.0), retain=st.sampled_from([0.0, 0.3, 0.9, 0.999]),
       lo_scale=st.sampled_from([0.0, 1e-3, 0.5, 1.0, 2.0, 1e3]))
def test_random_plans_match_the_sort(n, m, seed, kind, k_frac, retain, lo_scale):
    ker = lazy("cpu.ot")
    rng = np.random.default_rng(seed)
    K, u, v = random_problem(rng, n, m, kind)
    k = max(1, round(k_frac * n * m))
    target = clear_target(K, u, v, retain)
    check_select_threshold(ker, K, u, v, k, target)
    _, tau = check_top_entries(ker, K, u, v, k, target)
    # a guess of the threshold: too low, a bit low, exact, too high (the
    # kernel then falls back to the histogram of all of P)
    check_top_entries(ker, K, u, v, k, target, lo=lo_scale * tau)


# --------------------------------------------------------------------------- #
# edge cases
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("kind", ["decades", "ties", "mixed"])
@pytest.mark.parametrize("shape", [(1, 1), (1, 17), (19, 1), (7, 11)])
@pytest.mark.parametrize("k_of", ["one", "all", "third"])
def test_k_extremes_and_single_rows_columns(ker, kind, shape, k_of):
    n, m = shape
    rng = np.random.default_rng(n * 100 + m)
    K, u, v = random_problem(rng, n, m, kind)
    k = {"one": 1, "all": n * m, "third": max(1, n * m // 3)}[k_of]
    check_select_threshold(ker, K, u, v, k, 0.0)
    kept, tau = check_top_entries(ker, K, u, v, k, 0.0)
    assert kept.size == k
    for scale in (0.01, 1.0, 4.0):
        check_top_entries(ker, K, u, v, k, 0.0, lo=scale * tau)
    # a mass target on top of k
    target = clear_target(K, u, v, 0.8)
    check_select_threshold(ker, K, u, v, k, target)
    check_top_entries(ker, K, u, v, k, target)
    check_top_entries(ker, K, u, v, k, target, lo=0.5 * tau)


def test_k_beyond_the_size_is_clipped(ker):
    K, u, v = random_problem(np.random.default_rng(3), 4, 5, "mixed")
    for k in (0, -3, 21, 1000):
        kept, _ = check_top_entries(ker, K, u, v, k, 0.0)
        assert kept.size == min(max(k, 1), 20)
        check_select_threshold(ker, K, u, v, k, 0.0)


def test_all_equal_keeps_the_first_in_row_major_order(ker):
    K, u, v = np.full((6, 7), 0.25), np.ones(6), np.ones(7)
    assert ker.select_threshold(K, u, v, 5, 0.0) == (0.25, 5, 5)
    for lo in (0.0, 0.1, 0.25, 0.3):
        I, J, V, tau = ker.top_entries(K, u, v, 5, 0.0, lo=lo)
        np.testing.assert_array_equal(I, 0)
        np.testing.assert_array_equal(J, np.arange(5))
        assert tau == 0.25 and np.all(V == 0.25)
    # ties spanning rows: the tie at tau is cut inside the second row
    check_top_entries(ker, K, u, v, 10, 0.0, lo=0.25)
    check_select_threshold(ker, K, u, v, 10, 0.0)


def test_ties_at_the_threshold_across_rows(ker):
    # many entries equal to the threshold in every row, some larger ones:
    # the first n_eq ties in row-major order are kept, whichever path runs
    rng = np.random.default_rng(7)
    n, m = 30, 40
    K = np.where(rng.random((n, m)) < 0.5, 0.5, rng.random((n, m)) * 0.4)
    K[rng.random((n, m)) < 0.1] = 0.9
    u, v = np.ones(n), np.ones(m)
    n_big = int((K > 0.5).sum())
    for k in (n_big + 1, n_big + 37, n_big + 300):
        for lo in (0.0, 0.25, 0.5, 0.6):
            check_top_entries(ker, K, u, v, k, 0.0, lo=lo)
        check_select_threshold(ker, K, u, v, k, 0.0)


@pytest.mark.parametrize("target_retain", [0.0, 0.5, 0.95])
def test_guess_with_too_little_mass_falls_back(ker, target_retain):
    # enough entries above lo for k but not the mass target (or not enough
    # entries): the result is the same exact selection
    rng = np.random.default_rng(11)
    K, u, v = random_problem(rng, 25, 30, "decades")
    target = clear_target(K, u, v, target_retain)
    for k in (5, 60, 400):
        _, tau = check_top_entries(ker, K, u, v, k, target)
        for scale in (1e-6, 0.1, 1.0, 1.5, 10.0):
            check_top_entries(ker, K, u, v, k, target, lo=scale * tau)


@pytest.mark.parametrize("n, m", [(90, 80), (300, 240)])
def test_candidate_cap(ker, n, m):
    # P.size > 4 k + 4096: a guess lo keeping more than the cap of candidates
    # must give up (at the end of the row that crosses it) and fall back; one
    # keeping just the cap, or one less, still selects from the candidates.
    # (300 x 240 >= 16 caps: the gather branches per entry instead of
    # compacting branch-free)
    rng = np.random.default_rng(5)
    K = rng.random((n, m))
    K[rng.random((n, m)) < 0.05] = 0.5  # ties
    u, v = np.exp(rng.normal(size=n)), np.exp(rng.normal(size=m))
    v[:3] = 1.0
    k = 100
    cap = 4 * k + 4096
    assert cap < n * m
    desc = -np.sort(-plan_of(K, u, v).ravel())
    for count in (k, k + 1, 2 * k, cap - 1, cap, cap + 1, cap + m, n * m):
        lo = desc[count - 1]  # at least `count` entries are >= lo
        check_top_entries(ker, K, u, v, k, 0.0, lo=lo)
        check_top_entries(ker, K, u, v, k, clear_target(K, u, v, 0.2), lo=lo)
    check_top_entries(ker, K, u, v, k, 0.0, lo=1e-300)
    check_top_entries(ker, K, u, v, 1, 0.0, lo=desc[0])
    check_top_entries(ker, K, u, v, 1, 0.0, lo=2 * desc[0])


def test_larger_plan_all_paths(ker):
    # several rows per candidate buffer, many histogram bins, zeros
    rng = np.random.default_rng(9)
    K, u, v = random_problem(rng, 70, 60, "decades")
    for k, retain in ((1, 0.0), (50, 0.0), (300, 0.9), (2000, 0.0), (4200, 0.0)):
        target = clear_target(K, u, v, retain)
        check_select_threshold(ker, K, u, v, k, target)
        _, tau = check_top_entries(ker, K, u, v, k, target)
        for scale in (1.0 / 16, 1.0, 3.0):
            check_top_entries(ker, K, u, v, k, target, lo=scale * tau)
