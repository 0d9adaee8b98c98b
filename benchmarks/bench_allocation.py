"""物资分配方案: SafeMap's HiGHS LP against OR-Tools' min-cost flow and networkx's network simplex.

The instance (``numpy.random.default_rng(18)``): 9 depots, 30 items, 200 demand points, every point
asking for every item (6,000 demand rows, priorities 1–3); stock per depot and item 0–400 (about
60 % of what is asked is held); delivery times 10–180 min, whole seconds, from every depot to every
point. No truck capacity and no time limit: then the plan is a transportation problem, which every
peer solves exactly, so the three answers must agree on both objectives (weighted unmet demand,
then Σ time × quantity) — the benchmark checks it.

SafeMap: :func:`safemap.gis.allocation.solve` (two HiGHS LPs through ``scipy.optimize.linprog``:
least weighted unmet, then least time with that fixed; ``explain=False``). The peers solve the
lexicographic objective in one min-cost flow, an unmet unit costing ``weight × (max time + 1)``
(larger than any delivery, so no delivery is ever traded for a shorter one):

* OR-Tools ``SimpleMinCostFlow`` built with the vectorised ``add_arcs_with_capacity_and_unit_cost``
  / ``set_nodes_supplies`` and solved once with ``solve()`` (its fastest idiomatic form);
* networkx ``nx.network_simplex(G)`` on a ``DiGraph`` with integer ``demand``/``weight``/``capacity``.

Times are the median of ``--repeat`` runs, the model build included for every solver (SafeMap builds
its sparse matrices inside ``solve``). Run: ``python -m benchmarks bench_allocation [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from benchmarks import report
from safemap.gis.allocation import AllocationProblem, solve, weight_of

N_DEPOTS, N_ITEMS, N_POINTS = 9, 30, 200


def instance(seed: int = 18) -> AllocationProblem:
    """The benchmark's transportation instance (integer quantities and seconds)."""
    rng = np.random.default_rng(seed)
    rows = N_POINTS * N_ITEMS
    row_point = np.repeat(np.arange(N_POINTS), N_ITEMS)
    row_item = np.tile(np.arange(N_ITEMS), N_POINTS)
    quantity = rng.integers(1, 20, rows).astype(float)
    weight = np.array([weight_of(int(p)) for p in rng.integers(1, 4, rows)])
    stock = rng.integers(0, 400, (N_DEPOTS, N_ITEMS)).astype(float)
    time_s = rng.integers(600, 10_800, (N_DEPOTS, N_POINTS)).astype(float)
    return AllocationProblem(
        row_item=row_item,
        row_point=row_point,
        quantity=quantity,
        weight=weight,
        stock=stock,
        time_s=time_s,
        unit_kg=np.full(N_ITEMS, np.nan),
        capacity_t=np.full(N_DEPOTS, np.inf),
    )


def _objectives(p: AllocationProblem, depot: np.ndarray, row: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    sent = np.bincount(row, weights=x, minlength=p.n_rows)
    unmet = p.quantity - sent
    return float(np.dot(p.weight, unmet)), float(np.sum(p.time_s[depot, p.row_point[row]] * x))


def _arcs(p: AllocationProblem) -> tuple[np.ndarray, np.ndarray]:
    """Every (depot, row) pair whose depot holds the row's item."""
    depot, row = np.nonzero(p.stock[:, p.row_item] > 0)
    return depot, row


def ortools_solve(p: AllocationProblem) -> tuple[float, float]:
    """One ``SimpleMinCostFlow``: supply nodes (depot, item), demand rows, one slack node per row."""
    from ortools.graph.python import min_cost_flow

    depot, row = _arcs(p)
    n_supply = N_DEPOTS * N_ITEMS
    big = int(p.time_s.max()) + 1
    slack = n_supply + p.n_rows  # one node supplying every shortfall
    smcf = min_cost_flow.SimpleMinCostFlow()
    tails = np.concatenate([depot * N_ITEMS + p.row_item[row], np.full(p.n_rows, slack)])
    heads = np.concatenate([n_supply + row, n_supply + np.arange(p.n_rows)])
    caps = np.concatenate([p.quantity[row], p.quantity]).astype(np.int64)
    costs = np.concatenate([p.time_s[depot, p.row_point[row]], p.weight * big]).astype(np.int64)
    smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.zeros(slack + 1, dtype=np.int64)
    supplies[:n_supply] = p.stock.reshape(-1).astype(np.int64)
    supplies[n_supply:slack] = -p.quantity.astype(np.int64)
    supplies[slack] = int(p.quantity.sum())
    # Stock nobody asks for must be able to stay home: a return arc to the slack node at no cost.
    smcf.add_arcs_with_capacity_and_unit_cost(
        np.arange(n_supply), np.full(n_supply, slack), supplies[:n_supply], np.zeros(n_supply, dtype=np.int64)
    )
    supplies[slack] -= int(supplies[:n_supply].sum())
    # Balance: the slack node supplies the shortfall and takes back unused stock.
    smcf.set_nodes_supplies(np.arange(slack + 1), supplies)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"OR-Tools: status {status}")
    n = len(row)
    x = smcf.flows(np.arange(n)).astype(float)
    return _objectives(p, depot, row, x)


def networkx_solve(p: AllocationProblem) -> tuple[float, float]:
    """``nx.network_simplex`` on the same network."""
    import networkx as nx

    depot, row = _arcs(p)
    big = int(p.time_s.max()) + 1
    g = nx.DiGraph()
    total = int(p.quantity.sum())
    stock_total = int(p.stock.sum())
    g.add_node("slack", demand=-(total - stock_total))
    for d in range(N_DEPOTS):
        for i in range(N_ITEMS):
            s = int(p.stock[d, i])
            g.add_node(("s", d, i), demand=-s)
            g.add_edge(("s", d, i), "slack", weight=0, capacity=s)
    for j in range(p.n_rows):
        q = int(p.quantity[j])
        g.add_node(("r", j), demand=q)
        g.add_edge("slack", ("r", j), weight=int(p.weight[j] * big), capacity=q)
    for d, j in zip(depot.tolist(), row.tolist(), strict=True):
        g.add_edge(
            ("s", d, int(p.row_item[j])), ("r", j), weight=int(p.time_s[d, p.row_point[j]]), capacity=int(p.quantity[j])
        )
    _, flow = nx.network_simplex(g)
    x = np.array([flow[("s", d, int(p.row_item[j]))][("r", j)] for d, j in zip(depot, row, strict=True)], dtype=float)
    return _objectives(p, depot, row, x)


def _timed(fn, repeat: int) -> tuple[float, tuple[float, float]]:  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out  # type: ignore[return-value]


@report.recorded("bench_allocation")
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    p = instance()
    print(f"instance: {N_DEPOTS} depots × {N_ITEMS} items, {N_POINTS} points → {p.n_rows} demand rows")
    report.peer(
        "OR-Tools",
        "SimpleMinCostFlow(); add_arcs_with_capacity_and_unit_cost(arrays); set_nodes_supplies(arrays); solve()",
    )
    report.peer("networkx", "nx.network_simplex(G)")

    def ours() -> tuple[float, float]:
        r = solve(p, explain=False)
        return r.weighted_unmet, r.time_quantity_s

    t_ours, o_ours = _timed(ours, args.repeat)
    t_ort, o_ort = _timed(lambda: ortools_solve(p), args.repeat)
    t_nx, o_nx = _timed(lambda: networkx_solve(p), max(1, args.repeat // 3))
    for name, t, o in (("SafeMap (HiGHS LP ×2)", t_ours, o_ours), ("OR-Tools", t_ort, o_ort), ("networkx", t_nx, o_nx)):
        print(f"{name:24s} {t:8.3f} s   weighted unmet {o[0]:14.1f}   Σ time×qty {o[1]:16.1f}")
    agree = all(abs(o[0] - o_ours[0]) <= 1e-6 * max(1.0, o_ours[0]) for o in (o_ort, o_nx)) and all(
        abs(o[1] - o_ours[1]) <= 1e-6 * max(1.0, o_ours[1]) for o in (o_ort, o_nx)
    )
    print(f"objectives agree: {agree}")
    print(f"ratio SafeMap / OR-Tools: {t_ours / t_ort:.2f}   SafeMap / networkx: {t_ours / t_nx:.2f}")
    report.figure("safemap_s", t_ours, "s")
    report.figure("ortools_s", t_ort, "s")
    report.figure("networkx_s", t_nx, "s")
    report.figure("ratio_vs_ortools", t_ours / t_ort)
    report.figure("objectives_agree", str(agree))


if __name__ == "__main__":
    main()
