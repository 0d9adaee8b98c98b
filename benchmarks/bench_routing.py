"""Dispatch routing on a ~1 million-edge network, side by side with networkx and pgRouting.

The query is the dispatcher's: travel times from 100 teams to an incident (one search
towards the incident) plus the 5 best routes with their geometry. The network is a
500 × 500 junction grid, 100 m blocks with jitter and mixed speeds: 499,000 two-way
segments = 998,000 directed edges. Teams and the incident sit on junctions, so all three
engines answer exactly the same shortest-path problem (costs must agree within 1e-6
relative). Two cases: teams spread over the whole network (the search must settle
everything) and teams within ~5 km of the incident (a bounded search can stop early).

Peers, with the same edge costs:
- networkx 3: ``single_source_dijkstra`` on the reversed graph from the incident (costs
  and paths for all teams at once);
- pgRouting 3.4: ``pgr_dijkstraCost`` (100 teams → incident) and ``pgr_dijkstra`` for the
  5 best routes joined to their edge geometry, in a throwaway PostGIS; every call loads
  the edges from ``edges_sql`` as pgRouting does.

Run: ``python -m benchmarks bench_routing``.
"""

from __future__ import annotations

import io
import statistics
import time

import networkx as nx
import numpy as np
import psycopg

from safemap.gis.network import Network
from safemap.gis.routes import many_to_one
from safemap.gis.routing import Router, Vehicle
from tests.support import pg_cluster

SIDE = 500
BLOCK_M = 100.0
ORIGIN_XY = (420_000.0, 5_080_000.0)  # UTM 44N, near 裕民县
N_TEAMS = 100
N_QUERIES = 15
N_PG_QUERIES = 5


def grid_network(seed: int = 3) -> Network:
    """A jittered grid of SIDE × SIDE junctions in EPSG:32644 with mixed road speeds."""
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(SIDE), np.arange(SIDE), indexing="ij")
    xy = np.column_stack([ii.ravel() * BLOCK_M, jj.ravel() * BLOCK_M]) + ORIGIN_XY
    xy += rng.uniform(-20, 20, xy.shape)
    node = (ii * SIDE + jj).ravel()
    right = node.reshape(SIDE, SIDE)[:, :-1].ravel(), node.reshape(SIDE, SIDE)[:, 1:].ravel()
    up = node.reshape(SIDE, SIDE)[:-1, :].ravel(), node.reshape(SIDE, SIDE)[1:, :].ravel()
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
    con.execute("ANALYZE edges")


def pick_queries(net: Network, rng: np.random.Generator, local: bool) -> list[tuple[int, np.ndarray]]:
    """(incident node, 100 team nodes) per query; ``local``: teams within ±25 blocks."""
    out = []
    for _ in range(N_QUERIES):
        ci, cj = rng.integers(60, SIDE - 60, 2)
        if local:
            ti = np.clip(ci + rng.integers(-25, 26, N_TEAMS), 0, SIDE - 1)
            tj = np.clip(cj + rng.integers(-25, 26, N_TEAMS), 0, SIDE - 1)
        else:
            ti, tj = rng.integers(0, SIDE, N_TEAMS), rng.integers(0, SIDE, N_TEAMS)
        out.append((int(ci * SIDE + cj), (ti * SIDE + tj).astype(int)))
    return out


def safemap_query(router: Router, lonlat: np.ndarray, incident: int, teams: np.ndarray, truck: Vehicle) -> np.ndarray:
    """Times from each team to the incident, plus the 5 best routes with geometry."""
    legs = many_to_one(router, [tuple(p) for p in lonlat[teams]], tuple(lonlat[incident]), truck)
    times = np.array([leg.duration_s for leg in legs])
    for k in np.argsort(times)[:5]:
        route = legs[k].route()
        router.net.to_lonlat(route.xy)  # the geometry as the API returns it
    return times


def main() -> None:
    print("SafeMap dispatch routing vs networkx and pgRouting on a ~1M-edge network")
    t0 = time.perf_counter()
    net = grid_network()
    router = Router(net)
    truck = Vehicle("fire_engine", "水罐消防车", width_m=2.5, height_m=3.5, weight_t=18)
    cost = router.segment_cost(truck)
    lonlat = net.to_lonlat(net.node_xy)
    router.net.tree()  # the snapping index is built once with the network
    print(
        f"  network: {net.n_nodes:,} junctions, {net.n_edges:,} directed edges (built in {time.perf_counter() - t0:.1f} s)"
    )

    # Every segment is two-way, so the reversed graph (teams -> incident) is the graph itself.
    graph = nx.DiGraph()
    pairs = list(zip(net.seg_u.tolist(), net.seg_v.tolist(), cost.tolist(), strict=True))
    graph.add_weighted_edges_from(pairs)
    graph.add_weighted_edges_from((b, a, c) for a, b, c in pairs)

    cluster = pg_cluster.start()
    try:
        with psycopg.connect(cluster.dsn(), autocommit=True) as con:
            load_edges(con, net, cost)
            edges_sql = "SELECT id, source, target, cost, reverse_cost FROM edges"

            def pg_query(incident: int, teams: np.ndarray) -> np.ndarray:
                rows = con.execute(
                    "SELECT start_vid, agg_cost FROM pgr_dijkstraCost(%s, %s::bigint[], %s::bigint, directed => true)",
                    (edges_sql, teams.tolist(), incident),
                ).fetchall()
                found = dict(rows)
                times = np.array([0.0 if t == incident else found.get(int(t), np.inf) for t in teams])
                best = [int(t) for t in teams[np.argsort(times)[:5]]]
                con.execute(
                    "SELECT d.start_vid, ST_AsBinary(ST_LineMerge(ST_Collect(e.geom ORDER BY d.path_seq))) "
                    "FROM pgr_dijkstra(%s, %s::bigint[], %s::bigint, directed => true) d JOIN edges e ON e.id = d.edge "
                    "GROUP BY d.start_vid",
                    (edges_sql, best, incident),
                ).fetchall()
                return times

            def nx_query(incident: int, teams: np.ndarray) -> np.ndarray:
                dist, paths = nx.single_source_dijkstra(graph, incident, weight="weight")
                times = np.array([dist.get(int(t), np.inf) for t in teams])
                for k in np.argsort(times)[:5]:
                    _ = net.node_xy[paths[int(teams[k])]]  # geometry of the route
                return times

            rng = np.random.default_rng(11)
            for label, local in (("teams spread over the network", False), ("teams within ~5 km", True)):
                queries = pick_queries(net, rng, local)
                ours, peers_nx, peers_pg, worst = [], [], [], 0.0
                for i, (incident, teams) in enumerate(queries):
                    t = time.perf_counter()
                    mine = safemap_query(router, lonlat, incident, teams, truck)
                    ours.append(time.perf_counter() - t)
                    if i < 3:
                        t = time.perf_counter()
                        theirs = nx_query(incident, teams)
                        peers_nx.append(time.perf_counter() - t)
                        worst = max(worst, float(np.max(np.abs(mine - theirs) / np.maximum(theirs, 1e-9))))
                    if i < N_PG_QUERIES:
                        t = time.perf_counter()
                        theirs = pg_query(incident, teams)
                        peers_pg.append(time.perf_counter() - t)
                        worst = max(worst, float(np.max(np.abs(mine - theirs) / np.maximum(theirs, 1e-9))))
                p50 = statistics.median(ours)
                p50_nx, p50_pg = statistics.median(peers_nx), statistics.median(peers_pg)
                print(f"  {label}:")
                print(
                    f"    SafeMap  p50 {p50 * 1000:8.1f} ms  (p90 {np.percentile(ours, 90) * 1000:.1f} ms, {len(ours)} queries)"
                )
                print(f"    networkx p50 {p50_nx * 1000:8.1f} ms  -> SafeMap {p50_nx / p50:6.1f}x faster")
                print(f"    pgRouting p50 {p50_pg * 1000:7.1f} ms  -> SafeMap {p50_pg / p50:6.1f}x faster")
                print(f"    largest relative cost difference to the peers: {worst:.2e}")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
