"""MCLP and p-center (gis.location) against exhaustive search, and a worked example."""

import itertools

import numpy as np
import pytest

from safemap.gis.location import mclp, pcenter


def brute(cost, weights, radius, k, existing=None):
    n = cost.shape[0]
    ex = np.full(n, np.inf) if existing is None else existing.min(axis=1)
    best_cover, best_center = -1.0, np.inf
    for combo in itertools.combinations(range(cost.shape[1]), k):
        d = np.minimum(ex, cost[:, list(combo)].min(axis=1))
        best_cover = max(best_cover, weights[d <= radius].sum())
        best_center = min(best_center, d.max())
    return best_cover, best_center


def test_worked_example_on_a_line():
    # Villages at 0, 2, 4, 10, 12 km on one road, 1 km/min; a station covers 2 km (2 min).
    # Weights 100, 50, 100, 300, 10. One station: at 10 or 12 km? 10 covers {10, 12} = 310,
    # 2 covers {0, 2, 4} = 250: MCLP picks a site from 10 to 12 km. p-center (one site) picks 6: worst 6 min.
    villages = np.array([0, 2, 4, 10, 12.0])
    sites = np.arange(0, 13.0)
    cost = np.abs(villages[:, None] - sites[None, :])
    w = np.array([100, 50, 100, 300, 10.0])
    r = mclp(cost, w, 2.0, 1)
    assert sites[r.chosen][0] in (10.0, 11.0, 12.0)
    assert r.objective == 310 and r.optimal and r.gap == 0
    p = pcenter(cost, 1)
    assert sites[p.chosen] == [6.0] and p.objective == 6.0 and p.optimal
    # Two sites: 2 and 10 cover everything (560); the p-center radius drops to 2.
    assert mclp(cost, w, 2.0, 2).objective == 560
    assert pcenter(cost, 2).objective == 2.0
    # An existing station at 10 km stays open: one new site then goes to 2 km.
    ex = np.abs(villages - 10.0)[:, None]
    r = mclp(cost, w, 2.0, 1, cost_existing=ex)
    assert r.before == 310 and r.objective == 560 and sites[r.chosen] == [2.0]


@pytest.mark.parametrize("seed", range(12))
def test_exact_against_exhaustive_search(seed):
    rng = np.random.default_rng(seed)
    n, m, k = int(rng.integers(8, 40)), int(rng.integers(4, 9)), int(rng.integers(1, 4))
    demand = rng.uniform(0, 100, (n, 2))
    cand = rng.uniform(0, 100, (m, 2))
    cost = np.hypot(*(demand[:, None, :] - cand[None, :, :]).transpose(2, 0, 1))
    if seed % 3 == 0:
        cost[rng.random(cost.shape) < 0.15] = np.inf  # unreachable pairs
    existing = (
        np.hypot(*(demand[:, None, :] - rng.uniform(0, 100, (1, 2))[None]).transpose(2, 0, 1)) if seed % 2 else None
    )
    w = rng.integers(1, 100, n).astype(float)
    cover, center = brute(cost, w, 30.0, k, existing)
    r = mclp(cost, w, 30.0, k, cost_existing=existing)
    assert r.objective == pytest.approx(cover) and r.optimal and len(r.chosen) == k
    assert r.greedy_objective <= r.objective + 1e-9
    p = pcenter(cost, k, cost_existing=existing)
    if np.isfinite(center):
        assert p.objective == pytest.approx(center) and p.optimal
    else:
        assert not np.isfinite(p.objective)


def test_merged_demand_rows_and_input_checks():
    cost = np.array([[1.0, 5.0], [1.0, 5.0], [9.0, 1.0]])
    r = mclp(cost, np.array([1.0, 2.0, 4.0]), 2.0, 1)
    assert r.stats["rows"] == 2 and r.chosen == [1] and r.objective == 4.0
    with pytest.raises(ValueError):
        mclp(cost, np.array([1.0, 2.0]), 2.0, 1)
    with pytest.raises(ValueError):
        mclp(cost, np.array([1.0, -2.0, 1.0]), 2.0, 1)
    with pytest.raises(ValueError):
        pcenter(cost, 3)
