"""Partitions of region-wide analyses (gis/partitions.py): halos, ownership, strips — hand-built cases."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from safemap.gis import individual_risk as ir
from safemap.gis import partitions as parts
from safemap.gis.separation import audit, describe_issues, describe_pairs, evaluate
from tests.gis.standards import substance_properties, table

RULES = table("separation_rules")
PROPS = substance_properties()
CRS = "EPSG:32644"
TILE = 20_000.0


def _hazards(xy: list[tuple[float, float]], enterprise: list[int | None] | None = None) -> gpd.GeoDataFrame:
    rows = [
        {
            "id": i + 1,
            "name": f"H{i + 1}",
            "kind": "warehouse",
            "enterprise_id": None if enterprise is None else enterprise[i],
            "gasoline_m3": None,
            "diesel_m3": None,
            "max_tank_m3": None,
            "vapour_recovery": None,
            "substances": [{"name": "氯", "quantity_t": 1}],
        }
        for i in range(len(xy))
    ]
    return gpd.GeoDataFrame(rows, geometry=[shapely.Point(p) for p in xy], crs=CRS)


def _stations(xy: list[tuple[float, float]]) -> gpd.GeoDataFrame:
    rows = [
        {"id": i + 1, "name": f"T{i + 1}", "layer": "rescue_teams", "kind": "fire_station", "category": None}
        for i in range(len(xy))
    ]
    for r in rows:
        r.update(gb50156_class=None, road_class=None, gb36894_class=None)
    return gpd.GeoDataFrame(rows, geometry=[shapely.Point(p) for p in xy], crs=CRS)


def _partitioned_audit(hz: gpd.GeoDataFrame, tg: gpd.GeoDataFrame) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    reach = parts.separation_reach(hz, RULES, PROPS)
    split = parts.split(tg.geometry.to_numpy(), hz.geometry.to_numpy(), reach, tile_m=TILE)
    frames, issues = [], []
    for p in split:
        h = hz.iloc[p.hazards].reset_index(drop=True)
        t = tg.iloc[p.targets].reset_index(drop=True)
        pairs, iss = evaluate(h, t, RULES, PROPS)
        owned = np.isin(p.hazards, p.owned)
        iss = iss[owned[iss["pos"].to_numpy(dtype=int)]].reset_index(drop=True)
        frames.append(describe_pairs(pairs, h, t, RULES))
        issues.append(describe_issues(iss, h, RULES))
    key = ["hazard_id", "target_id", "rule_id"]
    return parts.merge_frames(frames, key), parts.merge_frames(issues, ["hazard_id", "rule", "reason"]), len(split)


def test_pair_across_a_tile_border_is_found_once() -> None:
    """A chlorine warehouse 5 m west of a tile edge, fire stations 10 m, 255 m and 405 m east of it.

    Known answer: the fire-station rule for a toxic store asks 300 m (test_separation's
    ``test_fire_station_siting``), so the stations at 10 m and 255 m fail and the one at
    405 m passes — two violations, each found once, though the warehouse sits in another tile;
    every hazard-level issue of the warehouse is reported once, by the tile that owns it.
    """
    hz = _hazards([(TILE - 5, 5_000.0)])
    tg = _stations([(TILE + 5, 5_000.0), (TILE + 250, 5_000.0), (TILE + 400, 5_000.0)])
    whole = audit(hz, tg, RULES, PROPS)
    assert sorted(whole["actual_m"].tolist()) == [10.0, 255.0]
    merged, issues, n = _partitioned_audit(hz, tg)
    assert n == 2  # the warehouse's tile (no targets: issues only) and the stations' tile
    assert sorted(merged["actual_m"].tolist()) == [10.0, 255.0]
    assert merged["target_id"].tolist() == [1, 2] and merged["required_m"].tolist() == [300.0, 300.0]
    _, whole_issues = evaluate(hz, tg, RULES, PROPS)
    assert len(issues) == len(whole_issues)


def test_halo_reaches_only_as_far_as_the_rules() -> None:
    """The halo holds a source only where one of its rules can reach: 300 m (+1 m) for this warehouse.

    Known answer: stations 299 m and 5 km east of the warehouse, the far one in the next tile
    but beyond any rule: the far tile's partition gets no hazard source.
    """
    hz = _hazards([(TILE - 200, 5_000.0)])
    tg = _stations([(TILE + 99, 5_000.0), (2 * TILE + 5_000, 5_000.0)])
    reach = parts.separation_reach(hz, RULES, PROPS)
    assert reach[0] >= 301.0
    split = {p.key: p for p in parts.split(tg.geometry.to_numpy(), hz.geometry.to_numpy(), reach, tile_m=TILE)}
    assert split["1_0"].hazards.tolist() == [0] and split["1_0"].owned.tolist() == []
    assert split["2_0"].hazards.tolist() == [] and split["0_0"].owned.tolist() == [0]


def test_sources_of_one_enterprise_travel_together() -> None:
    """Two sources of enterprise 7, 30 km apart: a partition needing one gets both (the band adds their volumes)."""
    hz = _hazards([(TILE - 10, 100.0), (TILE + 30_000, 100.0)], enterprise=[7, 7])
    tg = _stations([(TILE + 10, 100.0)])
    reach = parts.separation_reach(hz, RULES, PROPS)
    split = {
        p.key: p
        for p in parts.split(
            tg.geometry.to_numpy(),
            hz.geometry.to_numpy(),
            reach,
            tile_m=TILE,
            hazard_groups=hz["enterprise_id"].to_numpy(dtype=object),
        )
    }
    assert split["1_0"].hazards.tolist() == [0, 1]


def test_keys_split_by_county_code() -> None:
    """With county codes, partitions are the codes; each target in exactly one, counts add up (3 + 2)."""
    hz = _hazards([(0.0, 0.0)])
    tg = _stations([(10.0, 0.0), (20.0, 0.0), (30.0, 0.0), (40.0, 0.0), (50.0, 0.0)])
    split = parts.split(
        tg.geometry.to_numpy(),
        hz.geometry.to_numpy(),
        np.array([301.0]),
        target_keys=["654225", "654225", "654221", "654225", "654221"],
        hazard_keys=["654221"],
    )
    assert [p.key for p in split] == ["654221", "654225"]
    assert [p.targets.tolist() for p in split] == [[2, 4], [0, 1, 3]]
    assert [p.owned.tolist() for p in split] == [[0], []] and [p.hazards.tolist() for p in split] == [[0], [0]]


def test_raster_strips_mosaic_to_the_whole_grid_exactly() -> None:
    """Two BLEVEs on a 60×50 grid of 10 m cells cut into 4 strips: the mosaic equals one run cell for cell."""
    scenarios = [
        ir.bleve_scenario(1, (150.0, 120.0), 1e-5, 20_000.0, "A"),
        ir.bleve_scenario(2, (420.0, 380.0), 3e-6, 5_000.0, "B"),
    ]
    for s in scenarios:
        s.tabulate()
    grid = ir.Grid(0.0, 0.0, 10.0, 60, 50)
    whole = ir.risk_grid(scenarios, grid)
    windows = [
        parts.rows_touched(s.x, s.y, s.reach_m, grid.x0, grid.y0, grid.cell_m, grid.nx, grid.ny) for s in scenarios
    ]
    blocks = []
    for rows in parts.strips(grid.ny, 4):
        which = parts.scenarios_reaching(windows, rows)
        blocks.append(ir.risk_grid([scenarios[i] for i in which], grid)[rows[0] : rows[1]])
    assert whole.max() > 0 and np.array_equal(np.vstack(blocks), whole)
    assert parts.strips(5, 8) == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]


def test_tile_keys_place_missing_geometries_apart() -> None:
    """Points at (5 m, 5 m) and (25 km, −1 m) fall in tiles 0_0 and 1_-1; a missing geometry in 无位置."""
    geoms = np.array([shapely.Point(5, 5), shapely.Point(25_000, -1), None], dtype=object)
    assert parts.tile_keys(geoms, TILE).tolist() == ["0_0", "1_-1", parts.NO_POSITION]
