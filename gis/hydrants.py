"""Hydrant cover of sites and hydrant spacing along roads (GB 50974-2014 §7.2.5).

- **Cover**: a site farther than the protection radius (150 m) from every working
  hydrant is not covered. The distance is the straight line from the hydrant to the
  nearest part of the site (its outline, or the point), measured with a shapely STRtree.
  Sites farther than ``zone_m`` from every hydrant lie outside the municipal hydrant
  network (rural areas draw on other water sources, GB 50039) and are listed, not judged.
- **Spacing**: hydrants are assigned to the nearest road within ``snap_m``; the road
  segments of one street (same name) are merged into continuous lines; consecutive
  hydrants along each line farther apart than 120 m leave a gap, reported with the stretch
  of road between them.

Only hydrants in working order count: a damaged or dry hydrant leaves the gap it would fill.
Geometry in a metric CRS (metres).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd
import shapely
from shapely import STRtree
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

if TYPE_CHECKING:
    import geopandas as gpd


@dataclass(frozen=True)
class SpacingGap:
    """Two consecutive working hydrants along a street farther apart than allowed.

    Attributes
    ----------
    street
        Name of the street (or the road id when it has none).
    road_ids
        Road segments of the stretch between the two hydrants.
    from_id, to_id
        The two hydrants.
    gap_m
        Distance between them along the street centreline, metres.
    geometry
        The stretch of street between them (metric CRS).
    """

    street: str
    road_ids: tuple[int, ...]
    from_id: int
    to_id: int
    gap_m: float
    geometry: BaseGeometry


def hydrant_cover(sites: gpd.GeoDataFrame, hydrants: gpd.GeoDataFrame, radius_m: float, zone_m: float) -> pd.DataFrame:
    """Distance from each site to its nearest working hydrant.

    Parameters
    ----------
    sites
        GeoDataFrame of sites (points or polygons), metric CRS; the index identifies a site.
    hydrants
        GeoDataFrame of hydrants (points), metric CRS, index = hydrant id, with ``status``
        (only ``ok`` counts; a missing column counts every hydrant).
    radius_m
        Protection radius, metres (GB 50974-2014 §7.2.5: 150 m).
    zone_m
        Sites farther than this from every hydrant are outside the hydrant network.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``sites``: ``hydrant_id`` (nearest working hydrant or NaN),
        ``distance_m``, ``in_zone`` and ``covered`` (``distance_m <= radius_m``).
    """
    working = _working(hydrants)
    out = pd.DataFrame(index=sites.index, columns=["hydrant_id", "distance_m", "in_zone", "covered"])
    out["hydrant_id"] = np.nan
    out["distance_m"] = np.inf
    if len(working) and len(sites):
        tree = STRtree(working.geometry.values)
        site_idx, hyd_idx = tree.query_nearest(sites.geometry.values, all_matches=False)
        dist = shapely.distance(sites.geometry.values[site_idx], working.geometry.values[hyd_idx])
        # The column labels are unique, so get_loc gives one position, not a slice or mask.
        hyd_col = cast(int, out.columns.get_loc("hydrant_id"))
        dist_col = cast(int, out.columns.get_loc("distance_m"))
        out.iloc[site_idx, hyd_col] = working.index.to_numpy()[hyd_idx]
        out.iloc[site_idx, dist_col] = dist
    out["distance_m"] = out["distance_m"].astype(float)
    out["in_zone"] = out["distance_m"] <= zone_m
    out["covered"] = out["distance_m"] <= radius_m
    return out


def hydrant_spacing(
    hydrants: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    spacing_m: float,
    *,
    snap_m: float = 30.0,
    street_column: str = "name",
) -> list[SpacingGap]:
    """Gaps between consecutive working hydrants along each street longer than ``spacing_m``.

    Parameters
    ----------
    hydrants
        GeoDataFrame of hydrant points, metric CRS, index = hydrant id, optional ``status``.
    roads
        GeoDataFrame of road centrelines, metric CRS, index = road id, with ``street_column``.
    spacing_m
        Largest allowed spacing, metres (GB 50974-2014 §7.2.5: 120 m).
    snap_m
        Hydrants farther than this from every road belong to no street.
    street_column
        Column naming the street a segment belongs to (segments of one name are merged).
    """
    working = _working(hydrants)
    if not len(working) or not len(roads):
        return []
    road_geoms = roads.geometry.values
    tree = STRtree(road_geoms)
    h_idx, r_idx = tree.query_nearest(working.geometry.values, max_distance=snap_m, all_matches=False)
    if not len(h_idx):
        return []
    names = roads[street_column] if street_column in roads.columns else pd.Series(index=roads.index, dtype=object)
    labels = [str(v) if isinstance(v, str) and v else f"道路 {rid}" for rid, v in zip(roads.index, names, strict=True)]
    street = np.array(labels, dtype=object)
    wanted = sorted(set(street[r_idx]))
    gaps: list[SpacingGap] = []
    for name in wanted:
        members = np.nonzero(street == name)[0]
        merged = shapely.line_merge(shapely.union_all(road_geoms[members]))
        parts = list(shapely.get_parts(merged))
        on_street = h_idx[street[r_idx] == name]
        if not len(on_street):
            continue
        pts = working.geometry.values[on_street]
        # Each hydrant goes to the nearest continuous part of the street.
        part_tree = STRtree(np.array(parts, dtype=object))
        p_idx, part_idx = part_tree.query_nearest(pts, all_matches=False)
        for k, line in enumerate(parts):
            mine = p_idx[part_idx == k]
            if len(mine) < 2:
                continue
            along = shapely.line_locate_point(line, pts[mine])
            order = np.argsort(along, kind="stable")
            along = along[order]
            ids = working.index.to_numpy()[on_street[mine][order]]
            for a in range(len(along) - 1):
                gap = float(along[a + 1] - along[a])
                if gap > spacing_m + 1e-9:
                    stretch = substring(line, float(along[a]), float(along[a + 1]))
                    touching = tree.query(stretch.buffer(0.5), predicate="intersects")
                    rids = tuple(sorted(int(roads.index[i]) for i in touching if street[i] == name))
                    gaps.append(SpacingGap(name, rids, int(ids[a]), int(ids[a + 1]), gap, stretch))
    return gaps


def _working(hydrants: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if "status" not in hydrants.columns:
        return hydrants
    return hydrants[hydrants["status"].fillna("ok") == "ok"]
