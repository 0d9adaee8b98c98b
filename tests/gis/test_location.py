"""MCLP and p-center (gis.location) against exhaustive search, and a worked example."""

import itertools

import numpy as np
import pytest
from scipy import sparse

from safemap.gis.location import mclp, pcenter
from safemap.gis.location_mclp import branch_and_bound, covered_weight, merge_rows, undominated

SOLVERS = ("bnb", "milp")


def brute(cost, weights, radius, k, existing=None):
    n = cost.shape[0]
    ex = np.full(n, np.inf) if existing is None else existing.min(axis=1)
    best_cover, best_center = -1.0, np.inf
    for combo in itertools.combinations(range(cost.shape[1]), k):
        d = np.minimum(ex, cost[:, list(combo)].min(axis=1))
        best_cover = max(best_cover, weights[d <= radius].sum())
        best_center = min(best_center, d.max())
    return best_cover, best_center


@pytest.mark.parametrize("solver", SOLVERS)
def test_worked_example_on_a_line(solver):
    # Villages at 0, 2, 4, 10, 12 km on one road, 1 km/min; a station covers 2 km (2 min).
    # Weights 100, 50, 100, 300, 10. One station: at 10 or 12 km? 10 covers {10, 12} = 310,
    # 2 covers {0, 2, 4} = 250: MCLP picks a site from 10 to 12 km. p-center (one site) picks 6: worst 6 min.
    villages = np.array([0, 2, 4, 10, 12.0])
    sites = np.arange(0, 13.0)
    cost = np.abs(villages[:, None] - sites[None, :])
    w = np.array([100, 50, 100, 300, 10.0])
    r = mclp(cost, w, 2.0, 1, solver=solver)
    assert sites[r.chosen][0] in (10.0, 11.0, 12.0)
    assert r.objective == 310 and r.optimal and r.gap == 0
    p = pcenter(cost, 1)
    assert sites[p.chosen] == [6.0] and p.objective == 6.0 and p.optimal
    # Two sites: 2 and 10 cover everything (560); the p-center radius drops to 2.
    assert mclp(cost, w, 2.0, 2, solver=solver).objective == 560
    assert pcenter(cost, 2).objective == 2.0
    # An existing station at 10 km stays open: one new site then goes to 2 km.
    ex = np.abs(villages - 10.0)[:, None]
    r = mclp(cost, w, 2.0, 1, cost_existing=ex, solver=solver)
    assert r.before == 310 and r.objective == 560 and sites[r.chosen] == [2.0]


def _instance(seed, n_lo=8, n_hi=40, m_lo=4, m_hi=9, k_hi=4, integer=True):
    rng = np.random.default_rng(seed)
    n, m, k = int(rng.integers(n_lo, n_hi)), int(rng.integers(m_lo, m_hi)), int(rng.integers(1, k_hi))
    demand = rng.uniform(0, 100, (n, 2))
    cand = rng.uniform(0, 100, (m, 2))
    cost = np.hypot(*(demand[:, None, :] - cand[None, :, :]).transpose(2, 0, 1))
    if seed % 3 == 0:
        cost[rng.random(cost.shape) < 0.15] = np.inf  # unreachable pairs
    existing = (
        np.hypot(*(demand[:, None, :] - rng.uniform(0, 100, (1, 2))[None]).transpose(2, 0, 1)) if seed % 2 else None
    )
    w = rng.integers(1, 100, n).astype(float) if integer else rng.uniform(0.1, 10.0, n)
    return cost, w, min(k, m), existing


@pytest.mark.parametrize("seed", range(12))
def test_exact_against_exhaustive_search(seed):
    cost, w, k, existing = _instance(seed)
    cover, center = brute(cost, w, 30.0, k, existing)
    for solver in SOLVERS:
        r = mclp(cost, w, 30.0, k, cost_existing=existing, solver=solver)
        assert r.objective == pytest.approx(cover) and r.optimal and len(set(r.chosen)) == len(r.chosen) == k
        assert r.greedy_objective <= r.objective + 1e-9
        # The figure is what the chosen sites really cover.
        ex = np.full(len(w), np.inf) if existing is None else existing.min(axis=1)
        assert w[np.minimum(ex, cost[:, r.chosen].min(axis=1)) <= 30.0].sum() == pytest.approx(r.objective)
    p = pcenter(cost, k, cost_existing=existing)
    if np.isfinite(center):
        assert p.objective == pytest.approx(center) and p.optimal
    else:
        assert not np.isfinite(p.objective)


@pytest.mark.parametrize("seed", range(16))
@pytest.mark.parametrize("integer", [True, False])
def test_branch_and_bound_on_twelve_sites(seed, integer):
    """Larger than the greedy can guess: 12 candidates, k up to 5, against all k-subsets."""
    cost, w, k, existing = _instance(seed + 100, 60, 120, 12, 13, 6, integer)
    cover, _ = brute(cost, w, 25.0, k, existing)
    r = mclp(cost, w, 25.0, k, cost_existing=existing)
    assert r.optimal and r.gap == 0 and r.bound == pytest.approx(r.objective)
    assert r.objective == pytest.approx(cover, rel=1e-9) and len(set(r.chosen)) == k
    _t, best, bound = r.trajectory[-1]  # best and bound over time end on the answer
    assert best == pytest.approx(r.objective) and bound == pytest.approx(r.bound)
    assert all(b >= s - 1e-6 for _, s, b in r.trajectory)
    assert all(later >= earlier for (_, earlier, _), (_, later, _) in itertools.pairwise(r.trajectory))


def _rows(cost, w, radius):
    a = cost <= radius
    live = a.any(axis=1)
    return merge_rows(sparse.csr_matrix(a[live], dtype=float), w[live])


def _best(rows, w, k, cols=None):
    cols = range(rows.shape[1]) if cols is None else cols
    return max(covered_weight(rows, w, c) for c in itertools.combinations(cols, k))


@pytest.mark.parametrize("seed", range(20))
def test_search_from_any_start_and_the_reductions(seed):
    """Merged rows and dropped dominated sites keep the optimum; the search finds it from the worst start."""
    cost, w, k, _ = _instance(seed, 20, 60, 8, 12, 5)
    a = cost <= 30.0
    live = a.any(axis=1)
    full = max(w[live][a[live][:, list(c)].any(axis=1)].sum() for c in itertools.combinations(range(a.shape[1]), k))
    rows, wts = _rows(cost, w, 30.0)
    assert rows.shape[0] <= live.sum() and wts.sum() == pytest.approx(w[live].sum())
    assert _best(rows, wts, k) == pytest.approx(full)
    kept = undominated(rows, k)
    assert _best(rows, wts, k, kept) == pytest.approx(full)
    best_set = max(itertools.combinations(range(rows.shape[1]), k), key=lambda c: covered_weight(rows, wts, c))
    worst_set = min(itertools.combinations(range(rows.shape[1]), k), key=lambda c: covered_weight(rows, wts, c))
    for start in (list(worst_set), list(best_set), []):
        s = branch_and_bound(rows, wts, k, start, time_limit_s=30.0)
        assert s.proven and s.value == pytest.approx(full) and s.bound == s.value
        assert covered_weight(rows, wts, s.chosen) == s.value and len(set(s.chosen)) <= k


def test_time_limit_returns_a_bound_not_a_proof():
    rng = np.random.default_rng(1)
    demand, cand = rng.uniform(0, 100, (400, 2)), rng.uniform(0, 100, (60, 2))
    cost = np.hypot(*(demand[:, None, :] - cand[None, :, :]).transpose(2, 0, 1))
    w = rng.integers(1, 100, 400).astype(float)
    r = mclp(cost, w, 20.0, 6, time_limit_s=0.0)  # stops after the root node
    assert r.bound >= r.objective >= r.greedy_objective and len(r.chosen) == 6
    if not r.optimal:
        assert r.gap == pytest.approx((r.bound - r.objective) / r.bound) and r.gap > 0


def test_merged_demand_rows_and_input_checks():
    cost = np.array([[1.0, 5.0], [1.0, 5.0], [9.0, 1.0]])
    r = mclp(cost, np.array([1.0, 2.0, 4.0]), 2.0, 1)
    assert r.stats["rows"] == 2 and r.chosen == [1] and r.objective == 4.0
    with pytest.raises(ValueError):
        mclp(cost, np.array([1.0, 2.0]), 2.0, 1)
    with pytest.raises(ValueError):
        mclp(cost, np.array([1.0, -2.0, 1.0]), 2.0, 1)
    with pytest.raises(ValueError):
        mclp(cost, np.array([1.0, 2.0, 4.0]), 2.0, 1, solver="cplex")
    with pytest.raises(ValueError):
        pcenter(cost, 3)
