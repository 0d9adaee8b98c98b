"""Fire-lane rules of GB 50016-2014 §7.1 and the findings of the fire-access review.

Every limit and clause comes from a :class:`RuleBook` built from the ``fire_access_rules``
table (``data/standards/fire_access_rules.csv``), never from this module. A
:class:`Finding` says which rule a feature breaks, the measured and required values, the
clause, and where (geometry in the metric CRS of the inputs).

Lane rules (the table's codes):

- ``lane_width``, ``lane_clear_height``: clear width and clear height ≥ 4.0 m (§7.1.8 (1));
- ``lane_slope``: longitudinal slope ≤ 8 % (§7.1.8 (5)); the lane's own ``slope_pct``, or
  the steepest grade read from the DEM when that is empty (``gis.terrain``);
- ``turnaround``: a dead-end lane needs a turnaround of at least 12 × 12 m, 15 × 15 m for
  a high-rise building and 18 × 18 m where heavy fire engines operate (§7.1.9); both
  sides must reach the size, and a lane without one fails;
- ``lane_obstructed``: an occupied lane (消防法 第二十八条);
- ``lane_load``: a lane rated below the heaviest fire engine expected (§7.1.10).

High-rise follows GB 50016 §2.1.1: residential buildings taller than 27 m, other buildings
taller than 24 m. Heavy fire engines (18 × 18 m) are expected at hazardous-chemical
production and storage sites, LPG and CNG/LNG stations, and at buildings taller than the
``heavy_vehicle_building`` height (large aerial platforms, §7.2.2).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

if TYPE_CHECKING:
    import geopandas as gpd

#: Enterprise industries where heavy foam and water tenders operate (the 18 × 18 m turnaround).
HEAVY_INDUSTRIES = frozenset({"hazchem_production", "hazchem_storage", "lpg_station", "cng_station"})
#: Protected-target categories judged as residential buildings (27 m high-rise threshold).
RESIDENTIAL = frozenset({"residential", "village"})


@dataclass(frozen=True)
class Rule:
    """One limit of the review: value, unit and the clause it comes from."""

    code: str
    label: str
    value: float
    unit: str
    standard: str
    clause: str

    @property
    def citation(self) -> str:
        """``standard clause`` as printed in a finding, e.g. ``GB 50016-2014（2018年版） 第7.1.8条第1款``."""
        return f"{self.standard} {self.clause}".strip()


class RuleBook:
    """The rules by code, built from the rows of the ``fire_access_rules`` table."""

    def __init__(self, rules: Mapping[str, Rule]) -> None:
        self.rules = dict(rules)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> RuleBook:
        """Rules from table rows (``code``, ``name``, ``value``, ``unit``, ``standard``, ``clause``)."""
        rules = {}
        for r in rows:
            code = str(r["code"])
            rules[code] = Rule(
                code,
                str(r.get("name") or code),
                float(r["value"]),
                str(r.get("unit") or ""),
                str(r.get("standard") or ""),
                str(r.get("clause") or ""),
            )
        return cls(rules)

    def __getitem__(self, code: str) -> Rule:
        try:
            return self.rules[code]
        except KeyError:
            raise KeyError(f"规则表 fire_access_rules 缺少规则 {code}") from None

    def value(self, code: str) -> float:
        """The limit of rule ``code``."""
        return self[code].value


@dataclass
class Finding:
    """One broken rule at one place.

    ``measured`` is ``None`` when the thing is missing (no turnaround); ``geometry`` is in
    the metric CRS of the inputs and marks the place to look at.
    """

    rule: str
    label: str
    layer: str
    feature_id: int | None
    name: str
    measured: float | None
    required: float
    unit: str
    comparison: str
    clause: str
    message: str
    geometry: BaseGeometry
    basis: str = ""
    site_layer: str | None = None
    site_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain properties (no geometry) for JSON, CSV and reports."""
        return {
            "rule": self.rule,
            "label": self.label,
            "layer": self.layer,
            "feature_id": self.feature_id,
            "name": self.name,
            "measured": None if self.measured is None else round(float(self.measured), 2),
            "required": self.required,
            "unit": self.unit,
            "comparison": self.comparison,
            "clause": self.clause,
            "message": self.message,
            "basis": self.basis,
            "site_layer": self.site_layer,
            "site_id": self.site_id,
            **self.extra,
        }


@dataclass(frozen=True)
class SiteClass:
    """What a site needs from its lanes: high-rise and heavy-vehicle status, with the height used."""

    height_m: float | None
    high_rise: bool
    heavy: bool


def classify_site(layer: str, props: Mapping[str, Any], rules: RuleBook) -> SiteClass:
    """High-rise and heavy-vehicle status of an enterprise or protected target (GB 50016 §2.1.1, §7.2.2).

    Parameters
    ----------
    layer
        ``enterprises`` or ``protected_targets``.
    props
        The site's properties (``height_m``, ``category``; ``industry`` for enterprises).
    """
    height = _num(props.get("height_m"))
    if layer == "enterprises":
        heavy = props.get("industry") in HEAVY_INDUSTRIES
        return SiteClass(
            height, False, bool(heavy or (height is not None and height > rules.value("heavy_vehicle_building")))
        )
    limit = rules.value("high_rise_residential" if props.get("category") in RESIDENTIAL else "high_rise_other")
    high = height is not None and height > limit
    heavy = height is not None and height > rules.value("heavy_vehicle_building")
    return SiteClass(height, high, heavy)


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def required_turnaround(site: SiteClass | None, rules: RuleBook) -> tuple[str, float]:
    """The turnaround rule a dead end of this site must meet and its side length, metres."""
    code = "turnaround"
    if site is not None and site.heavy:
        code = "turnaround_heavy"
    elif site is not None and site.high_rise:
        code = "turnaround_high_rise"
    return code, rules.value(code)


def check_lanes(
    lanes: gpd.GeoDataFrame,
    rules: RuleBook,
    *,
    sites: Mapping[tuple[str, int], SiteClass] | None = None,
    dem_slopes: Mapping[int, float] | None = None,
    heavy_weight_t: float | None = None,
    engine_weight_t: float | None = None,
    network_lines: gpd.GeoDataFrame | None = None,
) -> list[Finding]:
    """Every rule each fire lane breaks.

    Parameters
    ----------
    lanes
        GeoDataFrame of fire lanes in a metric CRS, index = lane id, with the catalogue's
        fields (``width_m``, ``clear_height_m``, ``slope_pct``, ``dead_end``,
        ``turnaround_length_m``, ``turnaround_width_m``, ``max_weight_t``, ``obstructed``,
        ``site_layer``, ``site_id``, ``name``).
    rules
        The review's rule book.
    sites
        Class of each lane's site, by ``(site_layer, site_id)``.
    dem_slopes
        Steepest grade (%) from the DEM by lane id, used where ``slope_pct`` is empty.
    heavy_weight_t
        Laden mass of the heaviest appliance (aerial platform), tonnes: required of the lanes of
        high-rise and heavy-vehicle sites when above the ``lane_load`` rule's value.
    engine_weight_t
        Laden mass of the ordinary fire engine, tonnes: required of every lane when above the
        ``lane_load`` rule's value.
    network_lines
        Other roads and lanes (metric CRS): an end of a dead-end lane touching none of
        them is where the turnaround belongs (default: the lane's last vertex).
    """
    sites = sites or {}
    dem_slopes = dem_slopes or {}
    findings: list[Finding] = []
    other_tree = shapely.STRtree(np.asarray(network_lines.geometry.values)) if network_lines is not None else None
    for ix, row in lanes.iterrows():
        lane_id = cast(int, ix)  # pandas-stubs types iterrows() labels as Hashable; ids are ints
        geom = row.geometry
        name = str(row.get("name") or f"消防车道 {lane_id}")
        site_key = _site_key(row)
        site = sites.get(site_key) if site_key else None
        base = {
            "layer": "fire_lanes",
            "feature_id": int(lane_id),
            "name": name,
            "site_layer": site_key[0] if site_key else None,
            "site_id": site_key[1] if site_key else None,
        }
        for code, column, what in (
            ("lane_width", "width_m", "净宽"),
            ("lane_clear_height", "clear_height_m", "净空高度"),
        ):
            value = _num(row.get(column))
            rule = rules[code]
            if value is not None and value < rule.value:
                findings.append(
                    _finding(rule, base, value, "≥", geom, f"{name}：{what} {value:g} m，应不小于 {rule.value:g} m")
                )
        slope, basis = _num(row.get("slope_pct")), "实测"
        if slope is None and int(lane_id) in dem_slopes:
            slope, basis = _num(dem_slopes[int(lane_id)]), "DEM"
        rule = rules["lane_slope"]
        if slope is not None and slope > rule.value:
            findings.append(
                _finding(
                    rule,
                    base,
                    slope,
                    "≤",
                    geom,
                    f"{name}：坡度 {slope:.1f}%（{basis}），应不大于 {rule.value:g}%",
                    basis=basis,
                )
            )
        if bool(row.get("obstructed")):
            rule = rules["lane_obstructed"]
            findings.append(_finding(rule, base, 1, "=", geom, f"{name}：被占用或堵塞，应保持畅通"))
        load = _num(row.get("max_weight_t"))
        need = max(rules.value("lane_load"), engine_weight_t or 0.0)
        if site is not None and (site.high_rise or site.heavy):
            need = max(need, heavy_weight_t or 0.0)
        if load is not None and load < need:
            rule = rules["lane_load"]
            findings.append(
                _finding(
                    rule,
                    base,
                    load,
                    "≥",
                    geom,
                    f"{name}：承载 {load:g} t，低于消防车满载总质量 {need:g} t",
                    required=need,
                )
            )
        if bool(row.get("dead_end")):
            code, size = required_turnaround(site, rules)
            rule = rules[code]
            length, width = _num(row.get("turnaround_length_m")), _num(row.get("turnaround_width_m"))
            have = None if length is None or width is None else min(length, width)
            if have is None or have < size:
                where = _dead_end_point(geom, other_tree, network_lines)
                why = (
                    "高层建筑" if code == "turnaround_high_rise" else "重型消防车" if code == "turnaround_heavy" else ""
                )
                got = "未设回车场" if have is None else f"回车场 {length:g}×{width:g} m"
                findings.append(
                    _finding(
                        rule,
                        base,
                        have,
                        "≥",
                        where,
                        f"{name}：尽头式车道{got}，{why}应不小于 {size:g}×{size:g} m",
                        extra={"turnaround_m": None if have is None else [length, width]},
                    )
                )
    return findings


def _site_key(row: pd.Series | Mapping[str, Any]) -> tuple[str, int] | None:
    layer, sid = row.get("site_layer"), row.get("site_id")
    if not isinstance(layer, str) or sid is None or (isinstance(sid, float) and math.isnan(sid)):
        return None
    return layer, int(sid)


def _finding(
    rule: Rule,
    base: Mapping[str, Any],
    measured: float | None,
    comparison: str,
    geom: BaseGeometry,
    message: str,
    *,
    required: float | None = None,
    basis: str = "",
    extra: dict | None = None,
) -> Finding:
    return Finding(
        rule=rule.code,
        label=rule.label,
        measured=measured,
        required=rule.value if required is None else required,
        unit=rule.unit,
        comparison=comparison,
        clause=rule.citation,
        message=message,
        geometry=geom,
        basis=basis,
        extra=extra or {},
        **base,
    )


def _dead_end_point(geom: BaseGeometry, tree: shapely.STRtree | None, others: gpd.GeoDataFrame | None) -> BaseGeometry:
    coords = list(geom.coords)
    ends = [Point(coords[0]), Point(coords[-1])]
    if tree is None:
        return ends[1]
    assert others is not None  # the tree is built from ``others``
    for end in (ends[1], ends[0]):
        hits = tree.query(end, predicate="dwithin", distance=0.5)
        touching = [h for h in hits if not others.geometry.values[h].equals(geom)]
        if not touching:
            return end
    return ends[1]


def hydrant_findings(cover: pd.DataFrame, sites: gpd.GeoDataFrame, rules: RuleBook, layer: str) -> list[Finding]:
    """Findings for sites in the hydrant network but beyond the protection radius (GB 50974 §7.2.5).

    Parameters
    ----------
    cover
        :func:`gis.hydrants.hydrant_cover` of ``sites``.
    sites
        GeoDataFrame of the sites (metric CRS) with ``name``.
    layer
        The sites' layer name.
    """
    rule = rules["hydrant_cover"]
    out: list[Finding] = []
    bad = cover[cover["in_zone"] & ~cover["covered"]]
    for ix, row in bad.iterrows():
        sid = cast(int, ix)  # pandas-stubs types iterrows() labels as Hashable; ids are ints
        site = cast(pd.Series, sites.loc[sid])  # a label of a unique index selects one row
        name = str(site.get("name") or sid)
        d = float(row["distance_m"])
        out.append(
            Finding(
                rule=rule.code,
                label=rule.label,
                layer=layer,
                feature_id=int(sid),
                name=name,
                measured=d,
                required=rule.value,
                unit=rule.unit,
                comparison="≤",
                clause=rule.citation,
                message=f"{name}距最近完好消火栓 {d:.0f} m，超过保护半径 {rule.value:g} m",
                geometry=site.geometry,
                extra={"hydrant_id": None if pd.isna(row["hydrant_id"]) else int(row["hydrant_id"])},
            )
        )
    return out


def spacing_findings(gaps: Iterable[Any], rules: RuleBook) -> list[Finding]:
    """Findings for hydrant spacing gaps along streets (:func:`gis.hydrants.hydrant_spacing`)."""
    rule = rules["hydrant_spacing"]
    out = []
    for g in gaps:
        out.append(
            Finding(
                rule=rule.code,
                label=rule.label,
                layer="roads",
                feature_id=g.road_ids[0] if g.road_ids else None,
                name=g.street,
                measured=g.gap_m,
                required=rule.value,
                unit=rule.unit,
                comparison="≤",
                clause=rule.citation,
                message=f"{g.street}上消火栓 {g.from_id} 与 {g.to_id} 间距 {g.gap_m:.0f} m，超过 {rule.value:g} m",
                geometry=g.geometry,
                extra={"hydrant_ids": [g.from_id, g.to_id], "road_ids": list(g.road_ids)},
            )
        )
    return out


def status_findings(hydrants: gpd.GeoDataFrame, rules: RuleBook) -> list[Finding]:
    """Findings for hydrants that are damaged or without water (they count for nothing)."""
    rule = rules["hydrant_status"]
    labels = {"damaged": "损坏", "no_water": "无水/压力不足"}
    out: list[Finding] = []
    if "status" not in hydrants.columns:
        return out
    for ix, row in hydrants[hydrants["status"].isin(list(labels))].iterrows():
        hid = cast(int, ix)  # pandas-stubs types iterrows() labels as Hashable; ids are ints
        name = str(row.get("name") or hid)
        out.append(
            Finding(
                rule=rule.code,
                label=rule.label,
                layer="hydrants",
                feature_id=int(hid),
                name=name,
                measured=None,
                required=rule.value,
                unit="",
                comparison="=",
                clause=rule.citation,
                message=f"{name}{labels[row['status']]}，不计入保护半径和间距",
                geometry=row.geometry,
            )
        )
    return out
