"""Location-allocation on a travel-time matrix: MCLP (maximal covering) and p-center.

Both problems take a cost matrix ``cost[i, j]`` (seconds from candidate site ``j`` to
demand point ``i``; ``inf`` where unreachable), the number ``k`` of new facilities, and the
times from the facilities that already exist, which stay open.

- **MCLP** (Church & ReVelle 1974): maximise the weight of demand within ``radius`` of an
  open facility. Demand already covered by existing facilities, and demand no candidate
  can reach, is set aside; demand points with identical candidate sets are merged (their
  weights added), and a candidate whose demand set lies inside another's is dropped. The
  greedy answer, improved by interchange, starts an exact Lagrangian branch-and-bound
  (:mod:`gis.location_mclp`: the LP bound at a few milliseconds a node, bound-based fixing
  of sites, best-first search with plunging). "Proven optimal" means the search finished:
  with integer weights no answer covers even one more unit of weight (gap 0), otherwise
  the relative gap is at most 1e-9. The best answer and the bound over time are returned
  (``trajectory``). ``solver="milp"`` solves the textbook MILP with HiGHS through
  :func:`scipy.optimize.milp` instead (no starting solution; its 1e-4 gap tolerance).
  spopt's PuLP/CBC route was not used: its model is built term by term in Python (millions
  of terms at 500 × 10,000) and CBC fails on PCenter (pysal/spopt#396).
- **p-center**: minimise the longest time from any demand point to its nearest open
  facility. Exact by bisection over the distinct times (Minieka 1970): a radius is
  feasible when a set cover of the demand it leaves uncovered needs at most ``k`` sites
  (each set cover solved by HiGHS through :func:`scipy.optimize.milp`, greedy first when
  it already proves feasibility).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from safemap.gis.location_mclp import (
    branch_and_bound,
    covered_weight,
    greedy_cover,
    merge_rows,
    swap_improve,
    undominated,
)


@dataclass
class LocationResult:
    """A proposal of new facility sites.

    Attributes
    ----------
    problem
        ``mclp`` or ``pcenter``.
    chosen
        Column indices (candidates) of the proposed sites, in the order found.
    objective
        MCLP: covered weight (existing + new). p-center: the worst time, seconds.
    before
        The same figure with the existing facilities only.
    bound
        Best proven bound on the optimum (upper for MCLP, lower for p-center).
    gap
        Relative gap between ``objective`` and ``bound`` (0: proven optimal).
    optimal
        Whether optimality was proven: MCLP branch-and-bound and p-center exactly (gap 0 with
        integer weights, else ≤ 1e-9 relative); ``solver="milp"`` within HiGHS's 1e-4.
    greedy_objective
        The greedy heuristic's figure, to show what the exact solver added.
    seconds
        Wall time of the solve.
    method
        What produced the answer (for the report).
    stats
        Problem sizes before and after reduction, search counts.
    trajectory
        MCLP branch-and-bound: ``(seconds, best objective, bound)`` each time either moved
        noticeably, from the root to the end (units of ``objective``).
    """

    problem: str
    chosen: list[int]
    objective: float
    before: float
    bound: float
    gap: float
    optimal: bool
    greedy_objective: float
    seconds: float
    method: str
    stats: dict[str, int] = field(default_factory=dict)
    trajectory: list[tuple[float, float, float]] = field(default_factory=list)


def _existing_best(cost_existing: np.ndarray | None, n_demand: int) -> np.ndarray:
    if cost_existing is None or np.size(cost_existing) == 0:
        return np.full(n_demand, np.inf)
    best = np.min(np.asarray(cost_existing, dtype="float64").reshape(n_demand, -1), axis=1)
    return np.where(np.isnan(best), np.inf, best)


def _check(cost: np.ndarray, k: int) -> np.ndarray:
    cost = np.asarray(cost, dtype="float64")
    if cost.ndim != 2:
        raise ValueError("cost must be a 2-D matrix (demand × candidates)")
    if k < 1 or k > cost.shape[1]:
        raise ValueError(f"k must be between 1 and the number of candidates ({cost.shape[1]})")
    return np.where(np.isnan(cost), np.inf, cost)


# ---------------------------------------------------------------------------- MCLP
def mclp(
    cost: np.ndarray,
    weights: Sequence[float] | np.ndarray,
    radius: float,
    k: int,
    *,
    cost_existing: np.ndarray | None = None,
    time_limit_s: float = 60.0,
    solver: str = "bnb",
) -> LocationResult:
    """Maximal covering location: ``k`` new sites covering the most demand weight within ``radius``.

    Parameters
    ----------
    cost
        ``(n_demand, n_candidates)`` travel times, seconds (``inf``: unreachable).
    weights
        Weight of each demand point (population, number of hazard sources, …).
    radius
        Service standard, seconds: demand within it of an open facility is covered.
    k
        Number of new sites.
    cost_existing
        ``(n_demand, n_existing)`` times from the facilities that stay open.
    time_limit_s
        Time limit of the whole solve, seconds; on expiry the best answer found and its
        proven bound and gap are returned (``optimal`` false).
    solver
        ``bnb``: Lagrangian branch-and-bound from the greedy answer
        (:func:`gis.location_mclp.branch_and_bound`). ``milp``: HiGHS through
        :func:`scipy.optimize.milp` (no starting solution, 1e-4 gap tolerance).
    """
    if solver not in ("bnb", "milp"):
        raise ValueError("solver must be 'bnb' or 'milp'")
    t0 = time.perf_counter()
    cost = _check(cost, k)
    w = np.asarray(weights, dtype="float64")
    if w.shape != (cost.shape[0],) or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("weights must be one finite, non-negative number per demand point")
    covered0 = _existing_best(cost_existing, cost.shape[0]) <= radius
    before = float(w[covered0].sum())
    a = cost <= radius
    open_rows = ~covered0 & a.any(axis=1) & (w > 0)
    rows, wts = merge_rows(sparse.csr_matrix(a[open_rows], dtype="float64"), w[open_rows])
    stats = {"demand": cost.shape[0], "candidates": cost.shape[1], "rows": int(rows.shape[0])}
    greedy = greedy_cover(rows, wts, k)
    if rows.shape[0] == 0:
        g_obj = before
        return LocationResult(
            "mclp",
            greedy,
            g_obj,
            before,
            g_obj,
            0.0,
            True,
            g_obj,
            time.perf_counter() - t0,
            "无可新增覆盖的需求点",
            stats,
        )
    greedy = swap_improve(rows, wts, greedy)
    g_obj = before + covered_weight(rows, wts, greedy)
    # A candidate covering a subset of another's demand never needs to be chosen instead of it.
    cols = undominated(rows, k)
    stats["candidates_kept"] = len(cols)
    left = max(float(time_limit_s) - (time.perf_counter() - t0), 1.0)
    if solver == "bnb":
        sub, sub_w = merge_rows(sparse.csr_matrix(rows[:, cols]), wts)
        stats["rows_kept"] = int(sub.shape[0])
        pos = {int(c): i for i, c in enumerate(cols)}
        start = [pos[j] for j in greedy if j in pos]
        found = branch_and_bound(sub, sub_w, k, start, time_limit_s=float(time_limit_s), t0=t0)
        stats.update(found.stats)
        chosen = greedy_cover(rows, wts, k, [int(cols[j]) for j in found.chosen])  # k distinct sites
        obj = before + covered_weight(rows, wts, chosen)
        bound = max(before + found.bound, obj)
        method = "拉格朗日分支定界（贪心+交换解为初始解，界限固定候选点），贪心解作对照"
        return LocationResult(
            "mclp",
            chosen,
            obj,
            before,
            bound,
            0.0 if found.proven else (bound - obj) / bound,
            found.proven,
            g_obj,
            time.perf_counter() - t0,
            method,
            stats,
            [(t, before + v, before + b) for t, v, b in found.trajectory],
        )
    chosen, bound, status = _mclp_milp(rows[:, cols], wts, k, left)
    chosen = [int(cols[j]) for j in chosen]
    obj = before + covered_weight(rows, wts, chosen)
    if obj < g_obj or len(chosen) != k:  # time limit hit before HiGHS matched the greedy start
        chosen, obj = greedy, g_obj
    bound = max(before + bound, obj) if np.isfinite(bound) else np.inf
    gap = (bound - obj) / bound if np.isfinite(bound) and bound > 0 else (0.0 if bound == obj else np.inf)
    return LocationResult(
        "mclp",
        chosen,
        obj,
        before,
        bound,
        gap,
        status == 0 and gap <= 1e-4 + 1e-12,
        g_obj,
        time.perf_counter() - t0,
        "HiGHS 混合整数规划（scipy.optimize.milp），贪心解作对照",
        stats,
    )


def _mclp_milp(sub: sparse.csr_matrix, wts: np.ndarray, k: int, time_limit_s: float) -> tuple[list[int], float, int]:
    """The textbook MCLP MILP through :func:`scipy.optimize.milp`: chosen columns, dual bound, status."""
    m, n_var = sub.shape
    # Variables: x (n_var, binary) then y (m, continuous 0–1). maximise wᵀy  ⇔  minimise −wᵀy.
    c = np.concatenate([np.zeros(n_var), -wts])
    link = sparse.hstack([-sub, sparse.identity(m, format="csr")], format="csr")  # y_i − Σ a_ij x_j ≤ 0
    count = sparse.csr_matrix(np.concatenate([np.ones(n_var), np.zeros(m)])[None, :])
    res = milp(
        c,
        constraints=[LinearConstraint(link, -np.inf, 0.0), LinearConstraint(count, k, k)],
        integrality=np.concatenate([np.ones(n_var), np.zeros(m)]),
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": time_limit_s, "mip_rel_gap": 1e-4, "disp": False},
    )
    # Read before ``res.x is None`` narrows ``res``: scipy-stubs tie a solution to status 0, but a
    # run stopped by the time limit (status 1) returns its best solution too.
    status: int = res.status
    dual = getattr(res, "mip_dual_bound", None)
    bound = -float(dual) if dual is not None and np.isfinite(dual) else np.inf
    if res.x is None:
        return [], bound, status
    return [int(j) for j in np.nonzero(res.x[:n_var] > 0.5)[0]], bound, status


# ---------------------------------------------------------------------------- p-center
def pcenter(
    cost: np.ndarray,
    k: int,
    *,
    cost_existing: np.ndarray | None = None,
    time_limit_s: float = 60.0,
) -> LocationResult:
    """p-center: ``k`` new sites minimising the longest time to the nearest open facility.

    Parameters
    ----------
    cost
        ``(n_demand, n_candidates)`` travel times, seconds (``inf``: unreachable).
    k
        Number of new sites.
    cost_existing
        ``(n_demand, n_existing)`` times from the facilities that stay open.
    time_limit_s
        Overall time limit; on expiry the best feasible radius found is returned with its gap.
    """
    t0 = time.perf_counter()
    cost = _check(cost, k)
    existing = _existing_best(cost_existing, cost.shape[0])
    before = float(existing.max()) if existing.size else np.inf
    stats = {"demand": cost.shape[0], "candidates": cost.shape[1]}
    # No choice of sites can do better than each demand's best over all candidates and existing sites.
    best_any = np.minimum(cost.min(axis=1), existing)
    lower = float(best_any.max())
    greedy = _greedy_pcenter(cost, existing, k)
    g_obj = _worst(cost, existing, greedy)
    if not np.isfinite(lower):
        return LocationResult(
            "pcenter",
            greedy,
            g_obj,
            before,
            lower,
            np.inf,
            False,
            g_obj,
            time.perf_counter() - t0,
            "存在任何候选点都无法到达的需求点",
            stats,
        )
    values = np.unique(np.concatenate([cost[np.isfinite(cost)], existing[np.isfinite(existing)]]))
    values = values[(values >= lower) & (values <= g_obj)]
    best_r, best_sites = g_obj, greedy
    if not np.isfinite(g_obj):
        sites, _ = _cover_within(cost, existing, float(values[-1]), k, time_limit_s)
        if sites is None:
            return LocationResult(
                "pcenter",
                greedy,
                g_obj,
                before,
                lower,
                np.inf,
                False,
                g_obj,
                time.perf_counter() - t0,
                f"{k} 个新站点无法使所有需求点可达",
                stats,
            )
        best_r, best_sites = _worst(cost, existing, sites), sites
    lo, hi = 0, len(values) - 1  # values[hi] (the greedy's worst time or the largest time) is feasible
    proven = True
    while lo < hi:
        if time.perf_counter() - t0 > time_limit_s:
            proven = False
            break
        mid = (lo + hi) // 2
        sites, exact = _cover_within(cost, existing, float(values[mid]), k, time_limit_s)
        if sites is not None:
            hi = mid
            best_r, best_sites = _worst(cost, existing, sites), sites
        else:
            if not exact:
                proven = False
            lo = mid + 1
    bound = float(values[lo]) if proven and len(values) else lower
    gap = (best_r - bound) / best_r if best_r > 0 else 0.0
    return LocationResult(
        "pcenter",
        best_sites,
        best_r,
        before,
        bound,
        max(gap, 0.0),
        proven and gap <= 1e-9,
        g_obj,
        time.perf_counter() - t0,
        "对分搜索半径 + HiGHS 集合覆盖（scipy.optimize.milp），贪心解作对照",
        stats,
    )


def _worst(cost: np.ndarray, existing: np.ndarray, sites: Sequence[int]) -> float:
    best = existing.copy()
    if len(sites):
        best = np.minimum(best, cost[:, list(sites)].min(axis=1))
    return float(best.max())


def _greedy_pcenter(cost: np.ndarray, existing: np.ndarray, k: int) -> list[int]:
    """Repeatedly open the candidate that most reduces the current worst time (ties: the sum)."""
    best = existing.copy()
    chosen: list[int] = []
    for _ in range(k):
        new = np.minimum(best[:, None], cost)
        worst = new.max(axis=0)
        total = np.where(np.isfinite(new), new, 1e12).sum(axis=0)
        worst[chosen] = np.inf
        score = np.lexsort((total, worst))
        j = int(score[0])
        chosen.append(j)
        best = new[:, j]
    return chosen


def _cover_within(
    cost: np.ndarray, existing: np.ndarray, r: float, k: int, time_limit_s: float
) -> tuple[list[int] | None, bool]:
    """Sites (≤ k) covering every demand point within ``r``, or ``None``; and whether that is proven."""
    need = existing > r
    if not need.any():
        return [], True
    a = cost[need] <= r
    if not a.any(axis=1).all():
        return None, True
    rows, _ = merge_rows(sparse.csr_matrix(a, dtype="float64"), np.ones(int(need.sum())))
    greedy = _greedy_setcover(rows)
    if len(greedy) <= k:
        return greedy, True
    n = rows.shape[1]
    res = milp(
        np.ones(n),
        constraints=[LinearConstraint(rows, 1.0, np.inf)],
        integrality=np.ones(n, np.uint8),  # milp converts to uint8; the stubs want integers
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": float(time_limit_s), "disp": False},
    )
    if res.x is None:
        return None, False
    sites = [int(j) for j in np.nonzero(res.x > 0.5)[0]]
    if len(sites) <= k:
        return sites, True
    dual = getattr(res, "mip_dual_bound", None)
    proven = res.status == 0 or (dual is not None and np.ceil(float(dual) - 1e-6) > k)
    return None, bool(proven)


def _greedy_setcover(rows: sparse.csr_matrix) -> list[int]:
    left = np.ones(rows.shape[0], bool)
    csc = rows.tocsc()
    chosen: list[int] = []
    while left.any():
        gain = np.asarray(csc.T @ left.astype(float)).ravel()
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        chosen.append(j)
        left &= ~(csc[:, j].toarray().ravel() > 0)
    return chosen
