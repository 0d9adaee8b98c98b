"""Who reaches what in time: one multi-source search per vehicle, site times, paths, coverage tables.

Builds on :mod:`gis.network` and :mod:`gis.routing` (read, not changed): the segment costs
of a vehicle come from :meth:`Router.segment_cost` (blocked segments ``inf``), points snap
with :meth:`Router.snap`. What those modules do not offer is added here:

- :func:`multi_source` — one Dijkstra from all facilities at once
  (:func:`scipy.sparse.csgraph.dijkstra` with ``min_only=True`` and a ``limit``): each
  facility is a virtual node with edges to the two ends of its segment carrying the partial
  times, so the search also tells *which* facility is nearest to every junction
  (routing-and-coverage.md §4: one search for N stations, not N isochrones);
- :func:`site_times` — time from the nearest facility to each snapped site, through either
  end of the site's segment (or straight along a shared segment);
- :func:`path_segments` — the segments of the best path to a site (the fire lanes it uses);
- :func:`coverage_tables` — shares covered within the standard time by layer, grade and
  township, from a table of site times (pure pandas).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from safemap.gis.major_hazard import GRADE_LABELS
from safemap.gis.network import Network
from safemap.gis.routing import Snap
from safemap.gis.service_areas import Band, service_area_bands


@dataclass
class MultiSearch:
    """Result of one search from many facilities.

    Attributes
    ----------
    dist
        Seconds from the nearest facility to each junction (``inf``: not reached within the limit).
    pred
        Predecessor of each junction on its best path (``-9999`` none; ``>= n`` a facility's virtual node).
    source
        Index (into the facility list) of the nearest facility of each junction, ``-1`` if none.
    seg_cost
        Seconds to traverse each segment (``inf`` blocked) for the vehicle searched.
    snaps
        The facilities' positions.
    n
        Number of real junctions.
    """

    dist: np.ndarray
    pred: np.ndarray
    source: np.ndarray
    seg_cost: np.ndarray
    snaps: list[Snap | None]
    n: int


def directed_costs(net: Network, seg_cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Seconds to traverse each segment in and against drawing order (``inf`` against a one-way)."""
    back = np.where(net.oneway, np.inf, seg_cost)
    return np.asarray(seg_cost, float), back


def multi_source(
    net: Network, seg_cost: np.ndarray, snaps: Sequence[Snap | None], limit: float = np.inf
) -> MultiSearch:
    """Dijkstra from all facilities at once, remembering the nearest one of each junction.

    Parameters
    ----------
    net
        The road network.
    seg_cost
        Seconds per segment for the vehicle (``inf``: blocked), e.g. :meth:`Router.segment_cost`.
    snaps
        Facility positions on the network (``None``: not on the network, ignored).
    limit
        Stop the search beyond this many seconds (the largest threshold asked for).
    """
    n = net.n_nodes
    graph = _graph_with_sources(net, seg_cost, snaps)
    starts = np.array([n + i for i, s in enumerate(snaps) if s is not None and math.isfinite(seg_cost[s.seg])])
    if not len(starts):
        empty = np.full(n, np.inf)
        return MultiSearch(empty, np.full(n, -9999), np.full(n, -1), np.asarray(seg_cost), list(snaps), n)
    dist, pred, src = dijkstra(
        graph, directed=True, indices=starts, min_only=True, return_predecessors=True, limit=limit
    )
    source = np.where(src[:n] >= n, src[:n] - n, -1)
    return MultiSearch(dist[:n], pred[:n], source, np.asarray(seg_cost, float), list(snaps), n)


def _graph_with_sources(net: Network, seg_cost: np.ndarray, snaps: Sequence[Snap | None]) -> sp.csr_matrix:
    """The network's CSR graph plus one virtual node per facility (rows ``n..n+k-1``)."""
    n = net.n_nodes
    k = len(snaps)
    heads = net.edge_head
    edge_cost = np.asarray(seg_cost, float)[net.edge_seg]
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for i, snap in enumerate(snaps):
        if snap is None or not math.isfinite(seg_cost[snap.seg]):
            continue
        c = float(seg_cost[snap.seg])
        u, v = int(net.seg_u[snap.seg]), int(net.seg_v[snap.seg])
        seeds = [(v, (1.0 - snap.fraction) * c)]
        if not net.oneway[snap.seg]:
            seeds.append((u, snap.fraction * c))
        for node, d in seeds:
            rows.append(n + i)
            cols.append(node)
            vals.append(max(d, 1e-9))  # scipy drops explicit zeros: a station on a junction costs 1 ns
    # Rows n..n+k-1 are the facilities' virtual nodes (edges out only).
    extra = np.bincount(np.asarray(rows, dtype=np.int64) - n, minlength=k) if rows else np.zeros(k, np.int64)
    indptr = np.concatenate([net.indptr, net.indptr[-1] + np.cumsum(extra)]).astype(np.int64)
    order = np.argsort(np.asarray(rows, dtype=np.int64), kind="stable") if rows else np.zeros(0, np.int64)
    idx = np.concatenate([heads, np.asarray(cols, dtype=np.int64)[order]]).astype(np.int32)
    val = np.concatenate([edge_cost, np.asarray(vals, float)[order]])
    # Blocked edges stay in the graph with an infinite cost: Dijkstra never relaxes through them.
    return sp.csr_matrix((val, idx, indptr), shape=(n + k, n + k))


def site_times(
    net: Network, search: MultiSearch, sites: Sequence[Snap | None]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time from the nearest facility to each site and which facility that is.

    Returns
    -------
    time_s, facility, via
        Seconds (``inf`` unreachable), facility index (``-1``), and the junction the path
        enters the site's segment through (``-1``: along the facility's own segment, ``-2``: none).
    """
    m = len(sites)
    time_s = np.full(m, np.inf)
    facility = np.full(m, -1)
    via = np.full(m, -2)
    by_seg: dict[int, list[int]] = {}
    for i, f in enumerate(search.snaps):
        if f is not None:
            by_seg.setdefault(f.seg, []).append(i)
    for k, snap in enumerate(sites):
        if snap is None:
            continue
        s, t = snap.seg, snap.fraction
        c = search.seg_cost[s]
        if not math.isfinite(c):
            continue
        u, v = int(net.seg_u[s]), int(net.seg_v[s])
        options = [(search.dist[u] + t * c, int(search.source[u]), u)]
        if not net.oneway[s]:
            options.append((search.dist[v] + (1 - t) * c, int(search.source[v]), v))
        for i in by_seg.get(s, ()):
            f = search.snaps[i]
            if f is not None and (t >= f.fraction or not net.oneway[s]):
                options.append((abs(t - f.fraction) * c, i, -1))
        best = min(options, key=lambda o: o[0])
        if math.isfinite(best[0]):
            time_s[k], facility[k], via[k] = best
    return time_s, facility, via


def path_segments(net: Network, search: MultiSearch, site: Snap, via: int) -> list[int]:
    """Segments of the best path from the nearest facility to ``site``, facility first."""
    if via == -2:
        return []
    if via == -1:
        return [site.seg]
    nodes = [via]
    while True:
        p = int(search.pred[nodes[-1]])
        if p < 0 or p >= search.n:
            break
        nodes.append(p)
    nodes.reverse()
    segs: list[int] = []
    first = search.pred[nodes[0]]
    if first >= search.n:
        f = search.snaps[int(first) - search.n]
        if f is not None:
            segs.append(f.seg)
    for p, q in itertools.pairwise(nodes):
        lo, hi = net.indptr[p], net.indptr[p + 1]
        cand = np.arange(lo, hi)[net.edge_head[lo:hi] == q]
        if len(cand):
            segs.append(int(net.edge_seg[cand[np.argmin(search.seg_cost[net.edge_seg[cand]])]]))
    segs.append(site.seg)
    out: list[int] = []
    for s in segs:
        if not out or out[-1] != s:
            out.append(s)
    return out


def service_areas(
    net: Network,
    search: MultiSearch,
    thresholds_s: Sequence[float],
    *,
    buffer_m: float = 100.0,
    cell_m: float | None = None,
    infill_m2: float = 250_000.0,
    max_cells: int = 6_000_000,
) -> list[Band]:
    """Service-area bands of a multi-source search (see :func:`gis.service_areas.service_area_bands`)."""
    fwd, back = directed_costs(net, search.seg_cost)
    sources = [(s.seg, s.fraction) for s in search.snaps if s is not None and math.isfinite(search.seg_cost[s.seg])]
    return service_area_bands(
        search.dist,
        net.seg_u,
        net.seg_v,
        net.seg_offsets,
        net.coords,
        fwd,
        back,
        thresholds_s,
        buffer_m=buffer_m,
        cell_m=cell_m,
        infill_m2=infill_m2,
        max_cells=max_cells,
        sources=sources,
    )


def coverage_tables(sites: pd.DataFrame, standard_s: float) -> dict[str, pd.DataFrame]:
    """Shares of sites, hazard sources by grade and population reached within ``standard_s``.

    Parameters
    ----------
    sites
        One row per site with ``layer``, ``township``, ``population`` (persons, may be 0),
        ``grade`` (hazard sources; NaN not graded) and ``time_s`` (response time, seconds).
    standard_s
        The standard response time, seconds.

    Returns
    -------
    dict
        ``by_layer`` (count, covered, share, population, population covered, share),
        ``by_grade`` (hazard sources by grade, "未分级" for none) and ``by_township``
        (per township and layer).
    """
    df = sites.copy()
    df["covered"] = df["time_s"] <= standard_s
    df["population"] = pd.to_numeric(df["population"], errors="coerce").fillna(0.0)
    df["pop_covered"] = df["population"].where(df["covered"], 0.0)

    def summarise(g: pd.DataFrame) -> pd.Series:
        n = len(g)
        pop = float(g["population"].sum())
        return pd.Series(
            {
                "count": n,
                "covered": int(g["covered"].sum()),
                "share": float(g["covered"].mean()) if n else float("nan"),
                "population": pop,
                "population_covered": float(g["pop_covered"].sum()),
                "population_share": float(g["pop_covered"].sum() / pop) if pop > 0 else float("nan"),
            }
        )

    # include_groups=False (needed on pandas 2.2, the default on 3) is missing from pandas-stubs'
    # DataFrameGroupBy.apply, whose **kwargs are those of ``func``.
    by_layer = df.groupby("layer", sort=False).apply(summarise, include_groups=False)  # type: ignore[call-overload]
    hz = df[df["layer"] == "hazard_sources"].copy()
    hz["grade_label"] = hz["grade"].map(_grade_label)
    by_grade = (
        hz.groupby("grade_label").apply(summarise, include_groups=False)  # type: ignore[call-overload]
        if len(hz)
        else pd.DataFrame()
    )
    town = df.copy()
    town["township"] = town["township"].fillna("（未注明乡镇）")
    by_township = town.groupby(["township", "layer"]).apply(summarise, include_groups=False)  # type: ignore[call-overload]
    return {"by_layer": by_layer, "by_grade": by_grade, "by_township": by_township}


def _grade_label(grade: Any) -> str:
    # The same words as everywhere else (一级–四级, GB 18218), never "3级".
    return "未分级" if pd.isna(grade) else GRADE_LABELS.get(int(grade), f"{int(grade)}级")


def time_matrix(
    net: Network,
    seg_cost: np.ndarray,
    facilities: Sequence[Snap | None],
    sites: Sequence[Snap | None],
    limit: float = np.inf,
) -> np.ndarray:
    """Seconds from every facility to every site, ``(n_sites, n_facilities)`` (``inf``: unreachable).

    One Dijkstra per facility on the shared graph (scipy runs them in C); used for depot
    reach and the cost matrix of location-allocation.
    """
    n = net.n_nodes
    k = len(facilities)
    out = np.full((len(sites), k), np.inf)
    valid = [i for i, f in enumerate(facilities) if f is not None and math.isfinite(seg_cost[f.seg])]
    if not valid or not len(sites):
        return out
    graph = _graph_with_sources(net, seg_cost, facilities)
    seg = np.array([s.seg if s is not None else 0 for s in sites])
    frac = np.array([s.fraction if s is not None else 0.0 for s in sites])
    has = np.array([s is not None for s in sites])
    c = np.asarray(seg_cost, float)[seg]
    u, v = net.seg_u[seg], net.seg_v[seg]
    back = np.where(net.oneway[seg], np.inf, 1.0)
    best = np.empty((len(valid), len(sites)))
    # In chunks, so a large network never holds a (facilities × junctions) matrix at once.
    for a in range(0, len(valid), 64):
        chunk = valid[a : a + 64]
        dist = dijkstra(graph, directed=True, indices=[n + i for i in chunk], limit=limit)
        with np.errstate(invalid="ignore"):
            best[a : a + len(chunk)] = np.minimum(dist[:, u] + frac * c, (dist[:, v] + (1 - frac) * c) * back)
    # A site on a facility's own segment: straight along it.
    for row, i in enumerate(valid):
        f = facilities[i]
        assert f is not None  # ``valid`` holds only placed facilities
        for j in np.nonzero(has & (seg == f.seg))[0]:
            if frac[j] >= f.fraction or not net.oneway[f.seg]:
                best[row, j] = min(best[row, j], abs(frac[j] - f.fraction) * c[j])
    best[:, ~has] = np.inf
    best = np.where(np.isnan(best), np.inf, best)
    out[:, valid] = best.T
    return out
