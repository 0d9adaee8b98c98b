"""Partitions of a region-wide analysis: which targets, hazards and raster rows each task gets.

A region-wide analysis (the separation audit, the individual-risk raster, coverage) is split
into partitions that can run anywhere (in this process or on a Dask worker) and merged back
into exactly the answer of one run over everything:

* **Targets** are split by a key (行政区划代码 when the data carry one) or, without a key,
  by square tiles of ``tile_m`` metres. Every target belongs to exactly one partition.
* **Hazard sources** go to every partition whose targets' bounding box lies within the
  source's *reach* (its largest rule or effect distance, metres) — the halo — so a pair
  across a county border is found exactly once: by the partition holding its target.
  Sources of one group (one enterprise: GB 50156/GB 50160 bands add up an enterprise's
  tanks) travel together, so every partition derives the same profile for a source.
* Each source is *owned* by one partition (by its own key or tile), which alone reports its
  source-level findings.
* A raster is split into strips of rows; a strip is computed from the scenarios whose
  window reaches it (:func:`scenarios_reaching`).

Merging is concatenation plus a stable sort on a full key (:func:`merge_frames`), so the
result is equal row for row whatever the number of partitions or the order they finish in.

Everything here is pure: arrays and frames in, plain data out; lengths in metres.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from safemap.gis.separation import SubstanceProperties, applicable_rules, hazard_profiles
from safemap.gis.verdicts import STATUS_ORDER

#: Default tile side when the data carry no county code, metres.
DEFAULT_TILE_M = 20_000.0
#: Key of the partition holding features without a position.
NO_POSITION = "无位置"


@dataclass(frozen=True)
class Partition:
    """One task's share of a region-wide analysis (positions into the caller's arrays).

    Attributes
    ----------
    key
        County code or tile name (``"x_y"`` in tiles of ``tile_m`` metres).
    targets
        Positions of the targets this partition holds (each target in exactly one partition).
    hazards
        Positions of the hazard sources it needs: its own plus the halo, sorted.
    owned
        Positions of the hazard sources whose source-level findings it reports.
    bounds
        Bounding box of its targets (min x, min y, max x, max y), metres; ``None`` when empty.
    """

    key: str
    targets: np.ndarray
    hazards: np.ndarray
    owned: np.ndarray
    bounds: tuple[float, float, float, float] | None


def tile_keys(geoms: np.ndarray, tile_m: float = DEFAULT_TILE_M) -> np.ndarray:
    """The tile (``"column_row"`` of squares of ``tile_m`` m) holding each geometry's first coordinate.

    A geometry is placed by one representative position only — which tile holds a polygon
    straddling a tile edge does not matter, the halo brings every source near it.
    Missing or empty geometries get :data:`NO_POSITION`.
    """
    if tile_m <= 0:
        raise ValueError("tile_m must be positive")
    out = np.full(len(geoms), NO_POSITION, dtype=object)
    if not len(geoms):
        return out
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if ok.any():
        b = shapely.bounds(geoms[ok])
        col = np.floor(b[:, 0] / tile_m).astype(np.int64)
        row = np.floor(b[:, 1] / tile_m).astype(np.int64)
        out[ok] = [f"{c}_{r}" for c, r in zip(col, row, strict=True)]
    return out


def _keys(values: Sequence[Any] | np.ndarray | None, geoms: np.ndarray, tile_m: float) -> np.ndarray:
    if values is None:
        return tile_keys(geoms, tile_m)
    arr = np.asarray(values, dtype=object)
    return np.array([NO_POSITION if v is None or v != v or v == "" else str(v) for v in arr], dtype=object)


def _positions(keys: np.ndarray) -> dict[Any, np.ndarray]:
    """Positions of each key, ascending (one pass, not one comparison of every row per key)."""
    codes, uniques = pd.factorize(keys)
    order = np.argsort(codes, kind="stable")
    edges = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return {u: order[edges[i] : edges[i + 1]].astype(np.int64) for i, u in enumerate(uniques)}


def split(
    target_geoms: np.ndarray,
    hazard_geoms: np.ndarray,
    hazard_reach_m: np.ndarray,
    *,
    target_keys: Sequence[Any] | np.ndarray | None = None,
    hazard_keys: Sequence[Any] | np.ndarray | None = None,
    hazard_groups: Sequence[Any] | np.ndarray | None = None,
    tile_m: float = DEFAULT_TILE_M,
) -> list[Partition]:
    """Partitions of targets (by key or tile) with the hazard sources each one needs.

    Parameters
    ----------
    target_geoms, hazard_geoms
        Shapely geometries in one metric CRS (missing ones allowed).
    hazard_reach_m
        Per source, the farthest a target can be and still be checked against it, metres
        (e.g. :func:`separation_reach`).
    target_keys, hazard_keys
        Partition key per feature (行政区划代码); ``None``: tiles of ``tile_m`` m. Give both or neither.
    hazard_groups
        Per source, a group (enterprise id) whose sources must travel together; ``None``/NaN: alone.
    tile_m
        Tile side when no keys are given, metres.

    Returns
    -------
    list of Partition
        Sorted by key; one per key of any target or source.
    """
    if (target_keys is None) != (hazard_keys is None):
        raise ValueError("give target_keys and hazard_keys together")
    tkeys = _keys(target_keys, target_geoms, tile_m)
    hkeys = _keys(hazard_keys, hazard_geoms, tile_m)
    reach = np.asarray(hazard_reach_m, dtype=float)
    h_ok = (
        ~(shapely.is_missing(hazard_geoms) | shapely.is_empty(hazard_geoms)) if len(hazard_geoms) else np.zeros(0, bool)
    )
    hb = shapely.bounds(hazard_geoms[h_ok]) if h_ok.any() else np.zeros((0, 4))
    r = np.nan_to_num(reach[h_ok], nan=0.0)
    tree = STRtree(shapely.box(hb[:, 0] - r, hb[:, 1] - r, hb[:, 2] + r, hb[:, 3] + r)) if len(hb) else None
    h_pos = np.flatnonzero(h_ok)
    groups = None if hazard_groups is None else pd.Series(np.asarray(hazard_groups, dtype=object))
    t_ok = (
        ~(shapely.is_missing(target_geoms) | shapely.is_empty(target_geoms)) if len(target_geoms) else np.zeros(0, bool)
    )
    out = []
    t_by, h_by = _positions(tkeys), _positions(hkeys)
    empty = np.zeros(0, dtype=np.int64)
    for key in sorted(set(t_by) | set(h_by)):
        tsel, owned = t_by.get(key, empty), h_by.get(key, empty)
        located = tsel[t_ok[tsel]]
        bounds = None
        halo = np.zeros(0, dtype=np.int64)
        if len(located) and tree is not None:
            b = shapely.bounds(target_geoms[located])
            bounds = (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))
            halo = h_pos[tree.query(shapely.box(*bounds))]
        elif len(located):
            b = shapely.bounds(target_geoms[located])
            bounds = (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))
        need = np.union1d(owned, halo).astype(np.int64)
        if groups is not None and len(need):
            wanted = set(groups.iloc[need].dropna())
            if wanted:
                need = np.union1d(need, np.flatnonzero(groups.isin(wanted).to_numpy())).astype(np.int64)
        out.append(Partition(str(key), tsel.astype(np.int64), need, owned.astype(np.int64), bounds))
    return out


def separation_reach(hazards: pd.DataFrame, rules: pd.DataFrame, props: SubstanceProperties) -> np.ndarray:
    """Per hazard source, the largest distance any separation rule may check it at, metres.

    The largest required distance of the rules that apply to it (including distances from a
    TNT mass and an overpressure) and, for a source that cannot be graded, the largest
    distance of its whole rule family (those make every target within it 无法核查).
    """
    reach = np.zeros(len(hazards))
    if not len(hazards):
        return reach
    profiles = hazard_profiles(hazards, props)
    if not len(profiles):
        return reach
    applicable = applicable_rules(profiles, rules.reset_index(drop=True))
    if len(applicable):
        top = applicable.groupby("pos")["required_m"].max()
        np.maximum.at(reach, top.index.to_numpy(dtype=np.int64), top.to_numpy(dtype=float))
    fam = rules[rules["min_distance_m"].notna()].groupby("hazard_category")["min_distance_m"].max().astype(float)
    fam_reach = profiles["hazard_category"].map(fam).fillna(0.0).to_numpy(dtype=float)
    np.maximum.at(reach, profiles["pos"].to_numpy(dtype=np.int64), fam_reach)
    # A metre more: the candidate boxes of the audit are closed, the halo must not cut them.
    return reach + 1.0


def strips(n_rows: int, n_strips: int) -> list[tuple[int, int]]:
    """``n_strips`` contiguous row ranges ``[start, stop)`` covering ``n_rows`` rows (none empty)."""
    n = max(1, min(n_strips, n_rows))
    edges = np.linspace(0, n_rows, n + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]


def rows_touched(
    x: float, y: float, reach_m: float, x0: float, y0: float, cell_m: float, nx: int, ny: int
) -> tuple[int, int]:
    """North-up rows ``[start, stop)`` a scenario at (x, y) with ``reach_m`` writes to (as ``risk_grid`` does).

    The same integer arithmetic as :func:`gis.individual_risk.risk_grid`, so a strip gets every
    scenario that adds to any of its cells; ``(0, 0)`` when it writes none.
    """
    if reach_m <= 0:
        return 0, 0
    c0 = max(int((x - reach_m - x0) // cell_m), 0)
    c1 = min(int((x + reach_m - x0) // cell_m) + 1, nx)
    r0 = max(int((y - reach_m - y0) // cell_m), 0)
    r1 = min(int((y + reach_m - y0) // cell_m) + 1, ny)
    if c0 >= c1 or r0 >= r1:
        return 0, 0
    return ny - r1, ny - r0


def scenarios_reaching(windows: Sequence[tuple[int, int]], rows: tuple[int, int]) -> list[int]:
    """Positions of the scenarios whose row window (:func:`rows_touched`) overlaps ``rows``, in order.

    Keeping the original order keeps the sums of every cell bit for bit those of one run.
    """
    a, b = rows
    return [i for i, (s, e) in enumerate(windows) if s < e and s < b and e > a]


def merge_frames(
    frames: Sequence[pd.DataFrame], by: Sequence[str], ascending: Sequence[bool] | bool = True
) -> pd.DataFrame:
    """Concatenate partial results and sort them stably on ``by`` (a key unique per row)."""
    parts = [f for f in frames if len(f)]
    if not parts:
        return frames[0].iloc[0:0].reset_index(drop=True) if frames else pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(list(by), ascending=ascending, kind="mergesort").reset_index(drop=True)


#: The total order of audit pairs: the one-county order (verdict, then largest shortfall) with the
#: ties broken on county, hazard, target and rule — so no tie falls differently between runs.
AUDIT_ORDER = ["_order", "shortfall_m", "county_code", "hazard_id", "target_layer", "target_id", "rule_id"]
AUDIT_ASCENDING = [True, False, True, True, True, True, True]


def audit_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Audit pairs (:func:`gis.separation.describe_pairs`, with ``county_code``) in :data:`AUDIT_ORDER`."""
    out = frame.copy()
    if "county_code" not in out:
        out["county_code"] = None
    out["_order"] = out["status"].map(STATUS_ORDER).fillna(3)
    out = out.sort_values(AUDIT_ORDER, ascending=AUDIT_ASCENDING, kind="mergesort", na_position="last")
    return out.drop(columns="_order").reset_index(drop=True)
