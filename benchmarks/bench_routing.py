"""Dispatch routing on a ~1 million-edge network, side by side with networkx and pgRouting.

The query is the dispatcher's: travel times from 100 teams to an incident (one search
towards the incident) plus the 5 best routes with their geometry. The network is a
``side`` × ``side`` junction grid (default 500), 100 m blocks with jitter and mixed speeds:
499,000 two-way segments = 998,000 directed edges at the default size. Teams and the
incident sit on junctions, so all three engines answer exactly the same shortest-path
problem (costs must agree within 1e-6 relative). Two cases: teams spread over the whole
network (the search must settle everything) and teams within ±2.5 km of the incident in
x and y, a ~5 km square (a bounded search can stop early).

Every contender answers the same ``--queries`` queries (default 15) in the same order,
interleaved query by query after one untimed warm-up query each, so medians and p90s
cover the same set. Each peer is in its fastest idiomatic form, and its exact call is
printed:

- networkx: ``dijkstra_predecessor_and_distance`` on the reversed graph
  (``G.reverse(copy=False)``) from the incident, with the cutoff SafeMap's router uses
  (``Router._guess_limit``: 2.5 × straight-line distance to the farthest team × median
  seconds per metre + 600 s; rerun without cutoff if a team was not reached, as SafeMap
  does), then the 5 paths walked back along the predecessors;
- pgRouting: ONE statement per query, so the graph is loaded once: one-to-many
  ``pgr_dijkstra(reversed edges, incident, teams[])`` (one Dijkstra, source/target and
  cost/reverse_cost swapped in the edge SQL), costs of all teams and the 5 best routes'
  geometry (``ST_LineMerge(ST_Collect(geom ORDER BY path_seq DESC))``) built in the same
  statement, over one kept connection. For local teams the edge SQL keeps only the edges
  in the teams' (and incident's) envelope + 2 km (``geom && ST_MakeEnvelope(...)``, GiST
  index), as a pgRouting user bounds the graph (SafeMap bounds its own search).

Run: ``python -m benchmarks bench_routing [--side 500] [--queries 15] [--no-nx] [--no-pg]``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import networkx as nx
import numpy as np
import psycopg

from benchmarks import report
from safemap.gis.hierarchy import Hierarchy
from safemap.gis.network import Network
from safemap.gis.routes import many_to_one
from safemap.gis.routing import Router, Vehicle
from tests.support import pg_cluster

SIDE = 500
BLOCK_M = 100.0
ORIGIN_XY = (420_000.0, 5_080_000.0)  # UTM 44N, near 裕民县
N_TEAMS = 100
N_QUERIES = 15
BOX_MARGIN_M = 2_000.0  # pgRouting's edge query for local teams: teams' envelope + 2 km
LOCAL_BLOCKS = 25  # local teams: within ±25 blocks (±2.5 km) of the incident

# pgRouting, fastest idiomatic form: one-to-many on the reversed graph (one Dijkstra from the
# incident), one statement so the edges are loaded once, the 5 routes' geometry built in SQL.
PG_REVERSED_EDGES = (
    "SELECT id, target AS source, source AS target, reverse_cost AS cost, cost AS reverse_cost FROM edges"
)
PG_BOX = " WHERE geom && ST_MakeEnvelope({x0}, {y0}, {x1}, {y1}, 32644)"
PG_QUERY = """
WITH p AS (
    SELECT end_vid, path_seq, edge, agg_cost
    FROM pgr_dijkstra(%(edges_sql)s, %(incident)s::bigint, %(teams)s::bigint[], directed => true)
), total AS (
    SELECT end_vid, agg_cost FROM p WHERE edge = -1
), best AS (
    SELECT end_vid FROM total ORDER BY agg_cost LIMIT 5
), geom AS (
    SELECT p.end_vid, ST_AsBinary(ST_LineMerge(ST_Collect(e.geom ORDER BY p.path_seq DESC))) AS wkb
    FROM p JOIN best USING (end_vid) JOIN edges e ON e.id = p.edge
    GROUP BY p.end_vid
)
SELECT total.end_vid, total.agg_cost, geom.wkb FROM total LEFT JOIN geom USING (end_vid)
"""
NX_CALL = (
    "pred, dist = nx.dijkstra_predecessor_and_distance(G.reverse(copy=False), incident, cutoff=limit, "
    "weight='weight')  # limit = SafeMap's Router._guess_limit; rerun without cutoff if a team is missing; "
    "5 paths walked back along pred"
)


def grid_network(seed: int = 3, side: int = SIDE) -> Network:
    """A jittered grid of ``side`` × ``side`` junctions in EPSG:32644 with mixed road speeds."""
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    xy = np.column_stack([ii.ravel() * BLOCK_M, jj.ravel() * BLOCK_M]) + ORIGIN_XY
    xy += rng.uniform(-20, 20, xy.shape)
    node = (ii * side + jj).ravel()
    right = node.reshape(side, side)[:, :-1].ravel(), node.reshape(side, side)[:, 1:].ravel()
    up = node.reshape(side, side)[:-1, :].ravel(), node.reshape(side, side)[1:, :].ravel()
    u = np.concatenate([right[0], up[0]]).astype(np.int32)
    v = np.concatenate([right[1], up[1]]).astype(np.int32)
    n = len(u)
    coords = np.empty((2 * n, 2))
    coords[0::2], coords[1::2] = xy[u], xy[v]
    return Network(
        crs="EPSG:32644",
        node_xy=xy,
        seg_u=u,
        seg_v=v,
        seg_offsets=np.arange(0, 2 * n + 1, 2, dtype=np.int64),
        coords=coords,
        seg_len=np.hypot(*(xy[v] - xy[u]).T),
        seg_speed=rng.choice([20.0, 30.0, 40.0, 60.0, 80.0], n),
        seg_width=np.full(n, np.nan),
        seg_height=np.full(n, np.nan),
        seg_weight=np.full(n, np.nan),
        seg_closed=np.zeros(n, bool),
        seg_layer=np.zeros(n, np.int8),
        seg_fid=np.arange(n, dtype=np.int64),
        seg_name=np.full(n, None, dtype=object),
        seg_ref=np.full(n, None, dtype=object),
        seg_kind=np.full(n, "county", dtype=object),
        seg_oneway=np.zeros(n, bool),
    )


def load_edges(con: psycopg.Connection, net: Network, cost: np.ndarray) -> None:
    """The network's segments as a pgRouting ``edges`` table (same costs both ways) in PostGIS."""
    con.execute("CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS pgrouting")
    con.execute(
        "CREATE TABLE edges (id bigint PRIMARY KEY, source bigint, target bigint, cost float8, "
        "reverse_cost float8, geom geometry(LineString, 32644))"
    )
    buf = io.StringIO()
    c, xy, us, vs = cost.tolist(), net.coords.tolist(), net.seg_u.tolist(), net.seg_v.tolist()
    for s in range(net.n_segments):
        (x0, y0), (x1, y1) = xy[2 * s], xy[2 * s + 1]
        buf.write(f"{s}\t{us[s]}\t{vs[s]}\t{c[s]!r}\t{c[s]!r}\tSRID=32644;LINESTRING({x0} {y0},{x1} {y1})\n")
    with con.cursor().copy("COPY edges FROM STDIN") as copy:
        copy.write(buf.getvalue())
    con.execute("CREATE INDEX edges_geom ON edges USING gist (geom)")
    con.execute("ANALYZE edges")


def pick_queries(
    rng: np.random.Generator, local: bool, side: int = SIDE, n_queries: int = N_QUERIES
) -> list[tuple[int, np.ndarray]]:
    """(incident node, 100 team nodes) per query; ``local``: teams within ±25 blocks."""
    margin = min(60, side // 4)
    out = []
    for _ in range(n_queries):
        ci, cj = rng.integers(margin, side - margin, 2)
        if local:
            ti = np.clip(ci + rng.integers(-LOCAL_BLOCKS, LOCAL_BLOCKS + 1, N_TEAMS), 0, side - 1)
            tj = np.clip(cj + rng.integers(-LOCAL_BLOCKS, LOCAL_BLOCKS + 1, N_TEAMS), 0, side - 1)
        else:
            ti, tj = rng.integers(0, side, N_TEAMS), rng.integers(0, side, N_TEAMS)
        out.append((int(ci * side + cj), (ti * side + tj).astype(int)))
    return out


def safemap_query(router: Router, lonlat: np.ndarray, incident: int, teams: np.ndarray, truck: Vehicle) -> np.ndarray:
    """Times from each team to the incident, plus the 5 best routes with geometry."""
    legs = many_to_one(router, [tuple(p) for p in lonlat[teams]], tuple(lonlat[incident]), truck)
    times = np.array([leg.duration_s for leg in legs])
    for k in np.argsort(times)[:5]:
        route = legs[k].route()
        router.net.to_lonlat(route.xy)  # the geometry as the API returns it
    return times


def safemap_limit(net: Network, cost: np.ndarray, incident: int, teams: np.ndarray) -> float:
    """The search bound SafeMap's router guesses for this query (mirrors ``Router._guess_limit``)."""
    finite = np.isfinite(cost) & (cost > 0)
    pace = float(np.median(cost[finite] / np.maximum(net.seg_len[finite], 1e-9)))
    d = net.node_xy[teams] - net.node_xy[incident]
    return 2.5 * float(np.max(np.hypot(d[:, 0], d[:, 1]))) * pace + 600.0


def nx_query(rev: nx.DiGraph, net: Network, limit: float, incident: int, teams: np.ndarray) -> np.ndarray:
    """networkx: one bounded search from the incident on the reversed graph, 5 paths from the predecessors."""
    pred, dist = nx.dijkstra_predecessor_and_distance(rev, incident, cutoff=limit, weight="weight")
    if any(int(t) not in dist for t in teams):
        pred, dist = nx.dijkstra_predecessor_and_distance(rev, incident, weight="weight")
    times = np.array([dist.get(int(t), np.inf) for t in teams])
    for k in np.argsort(times)[:5]:
        node, path = int(teams[k]), [int(teams[k])]
        while node != incident and pred.get(node):
            node = pred[node][0]
            path.append(node)
        _ = net.node_xy[path]  # geometry of the route, team -> incident
    return times


def pg_edges_sql(net: Network, incident: int, teams: np.ndarray, boxed: bool) -> str:
    """The reversed edge query, bounded to the teams' and incident's envelope + 2 km when ``boxed``."""
    if not boxed:
        return PG_REVERSED_EDGES
    xy = net.node_xy[np.append(teams, incident)]
    (x0, y0), (x1, y1) = xy.min(axis=0) - BOX_MARGIN_M, xy.max(axis=0) + BOX_MARGIN_M
    return PG_REVERSED_EDGES + PG_BOX.format(x0=f"{x0:.3f}", y0=f"{y0:.3f}", x1=f"{x1:.3f}", y1=f"{y1:.3f}")


def pg_query(con: psycopg.Connection, net: Network, incident: int, teams: np.ndarray, boxed: bool) -> np.ndarray:
    """pgRouting: one statement, one graph load, one Dijkstra; costs of all teams and the 5 best routes."""
    params = {"edges_sql": pg_edges_sql(net, incident, teams, boxed), "incident": incident, "teams": teams.tolist()}
    rows = con.execute(PG_QUERY, params).fetchall()
    found = {int(v): c for v, c, _ in rows}
    routes = sum(wkb is not None for *_, wkb in rows)
    assert routes == min(5, len(found)), (routes, len(found))
    return np.array([0.0 if t == incident else found.get(int(t), np.inf) for t in teams])


def _rel_err(mine: np.ndarray, theirs: np.ndarray) -> float:
    both = np.isfinite(mine) & np.isfinite(theirs)
    if (np.isfinite(mine) != np.isfinite(theirs)).any():
        return np.inf
    return float(np.max(np.abs(mine[both] - theirs[both]) / np.maximum(theirs[both], 1e-9), initial=0.0))


def _summary(label: str, key: str, samples: list[float], base: float | None) -> None:
    p50, p90 = statistics.median(samples), float(np.percentile(samples, 90))
    ratio = ""
    if base is not None:
        ratio = f"  -> SafeMap {p50 / base:.1f}x faster" if p50 >= base else f"  -> SafeMap {base / p50:.1f}x SLOWER"
    print(f"    {label:<16} p50 {p50 * 1000:8.1f} ms  p90 {p90 * 1000:8.1f} ms  ({len(samples)} queries){ratio}")
    report.figure(f"{key}.p50", round(p50 * 1000, 3), "ms", queries=len(samples))
    report.figure(f"{key}.p90", round(p90 * 1000, 3), "ms", queries=len(samples))
    if base is not None:
        report.figure(f"{key}.ratio_to_safemap", round(p50 / base, 2), "x")


@report.recorded("bench_routing")
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=SIDE, help="junctions per grid side (500: ~1M directed edges)")
    parser.add_argument("--queries", type=int, default=N_QUERIES, help="queries per case, the same for every engine")
    parser.add_argument("--no-nx", action="store_true", help="skip networkx")
    parser.add_argument("--no-pg", action="store_true", help="skip pgRouting")
    parser.add_argument("--no-hierarchy", action="store_true", help="SafeMap without its contraction hierarchy only")
    args = parser.parse_args(argv)
    side = args.side
    print("SafeMap dispatch routing vs networkx and pgRouting")
    t0 = time.perf_counter()
    net = grid_network(side=side)
    router = Router(net)
    truck = Vehicle("fire_engine", "水罐消防车", width_m=2.5, height_m=3.5, weight_t=18)
    cost = router.segment_cost(truck)
    lonlat = net.to_lonlat(net.node_xy)
    router.net.tree()  # the snapping index is built once with the network
    print(
        f"  network: {side} x {side} grid, {net.n_nodes:,} junctions, {net.n_edges:,} directed edges "
        f"(built in {time.perf_counter() - t0:.1f} s); {N_TEAMS} teams, {args.queries} queries per case"
    )
    report.figure("network.directed_edges", int(net.n_edges), side=side, teams=N_TEAMS, queries=args.queries)
    print("  SafeMap: safemap.gis.routes.many_to_one(router, teams, incident, truck) + Leg.route() for the 5 best")
    hierarchy = None
    if not args.no_hierarchy:
        hierarchy = Hierarchy(net, background=False)
        t0 = time.perf_counter()
        hierarchy.prepare(cost)
        custom_s = time.perf_counter() - t0
        print(
            f"    with its contraction hierarchy (gis.hierarchy, RoutingKit CCH): order + hierarchy built in "
            f"{hierarchy.build_s:.1f} s once per network, customized for the truck in {custom_s:.1f} s once per "
            f"vehicle profile (closures afterwards: in-place partial updates); tick {hierarchy.tick_s * 1e6:.0f} µs"
        )
        report.figure("hierarchy.build_s", round(hierarchy.build_s, 2), "s")
        report.figure("hierarchy.customize_s", round(custom_s, 2), "s")
        print("    and without it (router.hierarchy = None: one bounded scipy Dijkstra), for comparison")
    if not args.no_nx:
        report.peer("networkx", NX_CALL)
    if not args.no_pg:
        report.peer("pgRouting", PG_QUERY.replace("%(edges_sql)s", "'" + PG_REVERSED_EDGES + "'"))
        report.peer(
            "pgRouting local-teams edge SQL", PG_REVERSED_EDGES + PG_BOX.format(x0="x0", y0="y0", x1="x1", y1="y1")
        )
        print("    (x0, y0, x1, y1) = envelope of the teams and the incident + 2 km, per query")

    rev = None
    if not args.no_nx:
        t0 = time.perf_counter()
        graph = nx.DiGraph()
        pairs = list(zip(net.seg_u.tolist(), net.seg_v.tolist(), cost.tolist(), strict=True))
        graph.add_weighted_edges_from(pairs)
        graph.add_weighted_edges_from((b, a, c) for a, b, c in pairs)
        del pairs
        rev = graph.reverse(copy=False)  # a view: no copy
        print(f"  networkx graph built in {time.perf_counter() - t0:.1f} s")

    cluster = None if args.no_pg else pg_cluster.start()
    con = None
    try:
        if cluster is not None:
            t0 = time.perf_counter()
            con = psycopg.connect(cluster.dsn(), autocommit=True)  # kept for every query
            load_edges(con, net, cost)
            print(f"  pgRouting edges table loaded in {time.perf_counter() - t0:.1f} s")
        rng = np.random.default_rng(11)
        for label, key, local in (
            ("teams spread over the network", "spread", False),
            ("teams within ~5 km", "local", True),
        ):
            queries = pick_queries(rng, local, side, args.queries)
            ours: list[float] = []
            peers: dict[str, list[float]] = {"networkx": [], "pgRouting": [], "SafeMap Dijkstra": []}
            worst = {"networkx": 0.0, "pgRouting": 0.0, "SafeMap Dijkstra": 0.0}
            # One untimed warm-up per contender (SafeMap's cached search graph, PostgreSQL's buffers).
            incident, teams = queries[0]
            router.hierarchy = hierarchy
            safemap_query(router, lonlat, incident, teams, truck)
            if hierarchy is not None:
                router.hierarchy = None
                safemap_query(router, lonlat, incident, teams, truck)
            if rev is not None:
                nx_query(rev, net, safemap_limit(net, cost, incident, teams), incident, teams)
            if con is not None:
                pg_query(con, net, incident, teams, boxed=local)
            for incident, teams in queries:
                router.hierarchy = hierarchy
                t = time.perf_counter()
                mine = safemap_query(router, lonlat, incident, teams, truck)
                ours.append(time.perf_counter() - t)
                if hierarchy is not None:
                    router.hierarchy = None
                    t = time.perf_counter()
                    theirs = safemap_query(router, lonlat, incident, teams, truck)
                    peers["SafeMap Dijkstra"].append(time.perf_counter() - t)
                    worst["SafeMap Dijkstra"] = max(worst["SafeMap Dijkstra"], _rel_err(mine, theirs))
                if rev is not None:
                    limit = safemap_limit(net, cost, incident, teams)
                    t = time.perf_counter()
                    theirs = nx_query(rev, net, limit, incident, teams)
                    peers["networkx"].append(time.perf_counter() - t)
                    worst["networkx"] = max(worst["networkx"], _rel_err(mine, theirs))
                if con is not None:
                    t = time.perf_counter()
                    theirs = pg_query(con, net, incident, teams, boxed=local)
                    peers["pgRouting"].append(time.perf_counter() - t)
                    worst["pgRouting"] = max(worst["pgRouting"], _rel_err(mine, theirs))
            p50 = statistics.median(ours)
            print(f"  {label}:")
            _summary("SafeMap", f"{key}.safemap", ours, None)
            for name, samples in peers.items():
                if samples:
                    _summary(name, f"{key}.{name.lower().replace(' ', '_')}", samples, p50)
                    ok = "OK" if worst[name] <= 1e-6 else "OVER 1e-6"
                    print(f"      largest relative cost difference to SafeMap: {worst[name]:.2e} ({ok})")
                    report.figure(f"{key}.{name.lower().replace(' ', '_')}.max_rel_diff", worst[name])
    finally:
        if con is not None:
            con.close()
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
