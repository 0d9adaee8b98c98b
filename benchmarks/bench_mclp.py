"""MCLP 500 candidate sites × 10,000 demand points, k = 10 and 20: proven optimal within 60 s?

The instance (bench_coverage's before it moved here): the routing benchmark's
500 × 500 junction grid (:func:`benchmarks.bench_routing.grid_network`), fire-engine segment
costs, ``numpy.random.default_rng(9)`` drawing 10,000 demand junctions, 500 candidate
junctions and weights 20–1999 people, and the travel-time matrix within 600 s from
:func:`gis.coverage.time_matrix`. The matrix is cached in ``var/bench/mclp_matrix.npz``
(``--rebuild`` recomputes it; the file is not committed).

For each k the run prints the wall time of :func:`gis.location.mclp` (reductions and greedy
start included), whether the optimum was proven, the objective and the bound, the gap, the
greedy start's gap to the bound, and the trajectory of the best solution and the bound
over time. "Proven optimal" means the bound equals the objective: with integer weights
the bound is rounded down to an integer and must not exceed the objective (gap 0).

Run: ``python -m benchmarks bench_mclp [--k 10 20] [--time-limit 60] [--rebuild]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks import report
from benchmarks.bench_coverage import _on_junctions
from benchmarks.bench_routing import SIDE, grid_network
from safemap.gis.coverage import time_matrix
from safemap.gis.location import mclp
from safemap.gis.routing import Router, Vehicle

RADIUS_S = 600.0
CACHE = report.OUT_DIR / "mclp_matrix.npz"


def instance(rebuild: bool = False, cache: Path = CACHE, side: int = SIDE) -> tuple[np.ndarray, np.ndarray, float]:
    """The ``(10,000 × 500)`` travel-time matrix, seconds, the weights and the build time (0: cached)."""
    if cache.exists() and not rebuild:
        with np.load(cache) as f:
            return f["matrix"], f["weights"], 0.0
    t = time.perf_counter()
    net = grid_network(side=side)
    engine = Vehicle("fire_engine", "水罐消防车", width_m=2.5, height_m=3.4, weight_t=18, speed_factor=0.8)
    cost = Router(net).segment_cost(engine)
    # The same draws, in the same order, as bench_coverage.main's MCLP section.
    rng = np.random.default_rng(9)
    demand = rng.choice(net.n_nodes, 10_000, replace=False)
    cand = rng.choice(net.n_nodes, 500, replace=False)
    weights = rng.integers(20, 2000, len(demand)).astype(float)
    matrix = time_matrix(net, cost, _on_junctions(net, cand), _on_junctions(net, demand), limit=RADIUS_S)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, matrix=matrix, weights=weights)
    return matrix, weights, time.perf_counter() - t


def _trajectory(points: list[tuple[float, float, float]], most: int = 12) -> str:
    """``t s: best / bound (gap)`` at most ``most`` points (first, last, evenly between)."""
    if len(points) > most:
        pick = np.unique(np.linspace(0, len(points) - 1, most).round().astype(int))
        points = [points[i] for i in pick]
    return "; ".join(
        f"{t:.1f} s {best:,.0f}/{bound:,.0f} ({(bound - best) / bound if bound > 0 else 0.0:.3%})"
        for t, best, bound in points
    )


@report.recorded("bench_mclp")
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[10, 20], help="numbers of new sites")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per solve")
    parser.add_argument("--rebuild", action="store_true", help="recompute the cached travel-time matrix")
    parser.add_argument("--side", type=int, default=SIDE, help="junctions per grid side (500: ~1M directed edges)")
    parser.add_argument(
        "--peer", action="store_true", help="also scipy.optimize.milp (HiGHS) on the same reduced model"
    )
    args = parser.parse_args(argv)
    print("SafeMap MCLP, 500 candidates x 10,000 demand points (grid junctions, 10 min radius)")
    cache = CACHE if args.side == SIDE else CACHE.with_name(f"mclp_matrix.side{args.side}.npz")
    matrix, weights, built = instance(args.rebuild, cache, args.side)
    print(f"  network: {args.side} x {args.side} junction grid ({4 * args.side * (args.side - 1):,} directed edges)")
    report.figure("network.directed_edges", 4 * args.side * (args.side - 1), side=args.side)
    how = f"built in {built:.1f} s" if built else f"cached in {cache}"
    print(f"  travel-time matrix {matrix.shape[0]:,} x {matrix.shape[1]} within {RADIUS_S / 60:g} min ({how})")
    for k in args.k:
        r = mclp(matrix, weights, RADIUS_S, k, time_limit_s=args.time_limit)
        g_gap = (r.bound - r.greedy_objective) / r.bound if r.bound > 0 else 0.0
        within = "yes" if r.optimal and r.seconds <= 60.0 else "NO"
        proof = "proven optimal (bound = objective)" if r.optimal else f"NOT proven optimal, gap {r.gap:.4%}"
        print(
            f"  MCLP k={k}: {r.seconds:.1f} s, {proof}; proven optimal within 60 s: {within}; "
            f"covered {r.objective:,.0f} of {weights.sum():,.0f}, bound {r.bound:,.0f}, gap {r.gap:.2e}; "
            f"greedy {r.greedy_objective:,.0f} (gap {g_gap:.3%})"
        )
        print(f"    method: {r.method}")
        print("    sizes: " + ", ".join(f"{name} {v:,}" for name, v in r.stats.items()))
        print(f"    best/bound over time: {_trajectory(r.trajectory)}")
        report.figure(f"mclp.k{k}.seconds", round(r.seconds, 2), "s", optimal=r.optimal)
        report.figure(f"mclp.k{k}.objective", r.objective, "people", bound=r.bound, gap=r.gap)
        report.figure(f"mclp.k{k}.greedy_gap", round(g_gap, 6), "", greedy=r.greedy_objective)
        report.figure(f"mclp.k{k}.trajectory", str([tuple(round(v, 3) for v in p) for p in r.trajectory]))
        if args.peer:
            report.peer(
                f"scipy milp k={k}",
                f"safemap.gis.location.mclp(matrix, weights, {RADIUS_S:g}, {k}, time_limit_s={args.time_limit:g}, "
                "solver='milp')  # scipy.optimize.milp (HiGHS) on the same merged rows and undominated sites",
            )
            p = mclp(matrix, weights, RADIUS_S, k, time_limit_s=args.time_limit, solver="milp")
            state = "proven optimal" if p.optimal else f"NOT proven, gap {p.gap:.4%}"
            ratio = p.seconds / r.seconds if r.seconds > 0 else float("nan")
            print(
                f"    peer scipy milp: {p.seconds:.1f} s, {state}, covered {p.objective:,.0f}, bound {p.bound:,.0f}"
                f" -> SafeMap {ratio:.1f}x faster"
                + ("" if p.optimal and r.optimal else " (not both proven: time ratio only)")
            )
            report.figure(f"mclp.k{k}.milp_seconds", round(p.seconds, 2), "s", optimal=p.optimal, gap=p.gap)


if __name__ == "__main__":
    main()
