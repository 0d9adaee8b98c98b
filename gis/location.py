"""Location-allocation on a travel-time matrix: MCLP (maximal covering) and p-center.

Both problems take a cost matrix ``cost[i, j]`` (seconds from candidate site ``j`` to
demand point ``i``; ``inf`` where unreachable), the number ``k`` of new facilities, and the
times from the facilities that already exist, which stay open.

Solver: the MILP solver HiGHS through :func:`scipy.optimize.milp` (maintained, exact,
already a dependency, takes sparse matrices so no Python-level model building).
spopt's PuLP/CBC route was not used: its model is built term by term in Python (millions
of terms at 500 × 10,000) and CBC fails on PCenter (pysal/spopt#396). Each answer
states how far it may be from the optimum: HiGHS's own gap between the best solution
and its dual bound (0 when proven optimal), and for the greedy start the gap to that bound.

- **MCLP** (Church & ReVelle 1974): maximise the weight of demand within ``radius`` of an
  open facility. Demand already covered by existing facilities, and demand no candidate
  can reach, is set aside; demand points with identical candidate sets are merged (their
  weights added), which shrinks county-scale problems by an order of magnitude.
- **p-center**: minimise the longest time from any demand point to its nearest open
  facility. Exact by bisection over the distinct times (Minieka 1970): a radius is
  feasible when a set cover of the demand it leaves uncovered needs at most ``k`` sites
  (each set cover solved by HiGHS, greedy first when it already proves feasibility).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp


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
        Whether the solver proved optimality (within its 1e-4 tolerance).
    greedy_objective
        The greedy heuristic's figure, to show what the exact solver added.
    seconds
        Wall time of the solve.
    method
        What produced the answer (for the report).
    stats
        Problem sizes before and after reduction.
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
        Time limit of the exact solver; the best solution found and its gap are returned.
    """
    t0 = time.perf_counter()
    cost = _check(cost, k)
    w = np.asarray(weights, dtype="float64")
    if w.shape != (cost.shape[0],) or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("weights must be one finite, non-negative number per demand point")
    covered0 = _existing_best(cost_existing, cost.shape[0]) <= radius
    before = float(w[covered0].sum())
    a = cost <= radius
    open_rows = ~covered0 & a.any(axis=1) & (w > 0)
    cover = sparse.csr_matrix(a[open_rows], dtype="float64")
    rows, wts = _merge_rows(cover, w[open_rows])
    n_cand = cost.shape[1]
    stats = {"demand": cost.shape[0], "candidates": n_cand, "rows": int(rows.shape[0])}
    greedy = _greedy_cover(rows, wts, k)
    g_obj = before + float(_covered_weight(rows, wts, greedy))
    if rows.shape[0] == 0:
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
    greedy = _swap_improve(rows, wts, greedy)
    g_obj = before + float(_covered_weight(rows, wts, greedy))
    m = rows.shape[0]
    # A candidate covering a subset of another's demand never needs to be chosen instead of it.
    cols = _undominated(rows, k)
    sub = rows[:, cols]
    n_var = len(cols)
    stats["candidates_kept"] = n_var
    # Variables: x (n_var, binary) then y (m, continuous 0–1). maximise wᵀy  ⇔  minimise −wᵀy.
    c = np.concatenate([np.zeros(n_var), -wts])
    link = sparse.hstack([-sub, sparse.identity(m, format="csr")], format="csr")  # y_i − Σ a_ij x_j ≤ 0
    count = sparse.csr_matrix(np.concatenate([np.ones(n_var), np.zeros(m)])[None, :])
    constraints = [LinearConstraint(link, -np.inf, 0.0), LinearConstraint(count, k, k)]
    integrality = np.concatenate([np.ones(n_var), np.zeros(m)])
    left = max(float(time_limit_s) - (time.perf_counter() - t0), 1.0)
    res = milp(
        c,
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": left, "mip_rel_gap": 1e-4, "disp": False},
    )
    # Read before ``res.x is None`` narrows ``res``: scipy-stubs tie a solution to status 0, but a
    # run stopped by the time limit (status 1) returns its best solution too.
    status: int = res.status
    if res.x is None:
        return LocationResult(
            "mclp",
            greedy,
            g_obj,
            before,
            np.inf,
            np.inf,
            False,
            g_obj,
            time.perf_counter() - t0,
            f"HiGHS 未找到解（{res.message}），返回贪心解",
            stats,
        )
    x = res.x[:n_var] > 0.5
    chosen = [int(cols[j]) for j in np.nonzero(x)[0]]
    obj = before + float(_covered_weight(rows, wts, chosen))
    if obj < g_obj:  # time limit hit before HiGHS matched the greedy start
        chosen, obj = greedy, g_obj
    dual = getattr(res, "mip_dual_bound", None)
    bound = before + (-float(dual) if dual is not None and np.isfinite(dual) else obj - before)
    bound = max(bound, obj)
    gap = (bound - obj) / bound if bound > 0 else 0.0
    optimal = status == 0 and gap <= 1e-4 + 1e-12
    return LocationResult(
        "mclp",
        chosen,
        obj,
        before,
        bound,
        gap,
        optimal,
        g_obj,
        time.perf_counter() - t0,
        "HiGHS 混合整数规划（scipy.optimize.milp），贪心解作对照",
        stats,
    )


def _merge_rows(cover: sparse.csr_matrix, w: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Merge demand rows with the same set of covering candidates, adding their weights."""
    if cover.shape[0] == 0:
        return cover, w
    cover.sort_indices()
    keys = [cover.indices[cover.indptr[i] : cover.indptr[i + 1]].tobytes() for i in range(cover.shape[0])]
    _, first, inverse = np.unique(np.array(keys, dtype=object), return_index=True, return_inverse=True)
    merged_w = np.bincount(inverse, weights=w, minlength=len(first))
    return cover[first], merged_w


def _undominated(rows: sparse.csr_matrix, k: int) -> np.ndarray:
    """Columns whose covered set is not contained in another column's (ties: the first kept).

    At least ``k`` columns are kept (dominated ones fill up, best coverage first), so a
    solution with ``k`` distinct sites always exists.
    """
    a = (rows > 0).astype(np.float64).tocsc()
    size = np.asarray(a.sum(axis=0)).ravel()
    inter = (a.T @ a).tocoo()
    dominated = np.zeros(a.shape[1], bool)
    i, j, v = inter.row, inter.col, inter.data
    # Column i is inside column j when they share all of i's rows; equal sets: the later one goes.
    inside = (i != j) & (v >= size[i]) & ((size[j] > size[i]) | (j < i))
    dominated[i[inside]] = True
    dominated[size == 0] = True
    keep = np.nonzero(~dominated)[0]
    if len(keep) < k:
        extra = [c for c in np.argsort(-size, kind="stable") if dominated[c]][: k - len(keep)]
        keep = np.sort(np.concatenate([keep, np.array(extra, dtype=np.int64)]))
    return keep


def _swap_improve(rows: sparse.csr_matrix, w: np.ndarray, chosen: list[int], rounds: int = 50) -> list[int]:
    """Teitz–Bart interchange: swap a chosen site for another while that covers more weight."""
    if rows.shape[0] == 0 or not chosen:
        return chosen
    a = (rows > 0).astype(np.float64).tocsc()
    chosen = list(chosen)
    for _ in range(rounds):
        count = np.asarray(a[:, chosen].sum(axis=1)).ravel()
        free = w * (count == 0)
        gain_in = np.asarray(a.T @ free).ravel()  # weight a newcomer would add
        only = a[:, chosen].multiply((count == 1)[:, None]).multiply(w[:, None]).tocsc()  # weight only j covers
        loss = np.asarray(only.sum(axis=0)).ravel()
        kept_back = (a.T @ only).toarray()  # of j's sole weight, what newcomer j' also covers
        delta = gain_in[:, None] + kept_back - loss[None, :]
        delta[chosen, :] = -np.inf
        jn, jo = np.unravel_index(int(np.argmax(delta)), delta.shape)
        if delta[jn, jo] <= 1e-9:
            break
        chosen[jo] = int(jn)
    return chosen


def _covered_weight(rows: sparse.csr_matrix, w: np.ndarray, chosen: Sequence[int]) -> float:
    if not len(chosen) or rows.shape[0] == 0:
        return 0.0
    hit = np.asarray(rows[:, list(chosen)].sum(axis=1)).ravel() > 0
    return float(w[hit].sum())


def _greedy_cover(rows: sparse.csr_matrix, w: np.ndarray, k: int) -> list[int]:
    """Pick, ``k`` times, the site covering the most still-uncovered weight."""
    n = rows.shape[1]
    chosen: list[int] = []
    left = w.copy()
    csc = rows.tocsc()
    for _ in range(k):
        gain = csc.T @ left if rows.shape[0] else np.zeros(n)
        gain = np.asarray(gain, dtype="float64").ravel()
        gain[chosen] = -1.0
        j = int(np.argmax(gain))
        chosen.append(j)
        if rows.shape[0]:
            hit = csc[:, j].toarray().ravel() > 0
            left[hit] = 0.0
    return chosen


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
    rows, _ = _merge_rows(sparse.csr_matrix(a, dtype="float64"), np.ones(int(need.sum())))
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
