"""Site check: a proposed school, home, fuel station, LPG depot … against every separation rule.

A proposed *receptor* (school, hospital, homes, fire station …) is checked as a target
against every existing hazard source; a proposed *hazard* (fuel station, LPG depot,
chemical warehouse, tank farm, explosives store) as a hazard against every existing
target. Each pair a rule covers within the required distance plus ``vicinity_m`` is
reported with pass/fail, so the planner sees the rules that hold as well as those broken.

The defaults of each kind (target classes, tank volumes) are the common case; the caller
overrides any of them (``properties``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry

from safemap.gis.separation import SubstanceProperties, describe_issues, describe_pairs, evaluate

LPG_DENSITY_T_M3 = 0.55
FILL_FRACTION = 0.85


@dataclass(frozen=True)
class SiteKind:
    """A kind of proposed site: its Chinese label, role and default properties."""

    code: str
    label: str
    role: str  # "target" or "hazard"
    layer: str
    defaults: Mapping[str, Any] = field(default_factory=dict)


def _t(code: str, label: str, **defaults: Any) -> SiteKind:
    return SiteKind(code, label, "target", "protected_targets", defaults)


SITE_KINDS: dict[str, SiteKind] = {
    k.code: k
    for k in (
        # No GB 50156 class here: it is derived from the category by the target_class_rules
        # table (GB 50156-2021 附录B) unless the caller gives one. GB 36894 counts schools,
        # hospitals, kindergartens and nursing homes as 高敏感 targets (reference §2).
        _t(
            "school",
            "新建学校",
            category="school",
            gb36894_class="high_sensitive",
            population=800,
        ),
        _t(
            "kindergarten",
            "幼儿园",
            category="kindergarten",
            gb36894_class="high_sensitive",
            population=200,
        ),
        _t(
            "hospital",
            "医院",
            category="hospital",
            gb36894_class="high_sensitive",
            population=300,
        ),
        _t(
            "nursing_home",
            "养老院",
            category="nursing_home",
            gb36894_class="high_sensitive",
            population=100,
        ),
        _t("residential", "居民住宅", category="residential", population=300),
        _t("market", "商场/集贸市场", category="market", population=500),
        _t("office", "办公楼", category="government", population=200),
        SiteKind("fire_station", "消防站", "target", "rescue_teams", {"kind": "fire_station", "population": 30}),
        SiteKind(
            "fuel_station",
            "加油站",
            "hazard",
            "hazard_sources",
            {
                "kind": "fuel_station_tank",
                "gasoline_m3": 60.0,
                "diesel_m3": 60.0,
                "max_tank_m3": 30.0,
                "vapour_recovery": "full",
            },
        ),
        SiteKind(
            "lpg_depot",
            "液化石油气储配站",
            "hazard",
            "hazard_sources",
            {"kind": "lpg_tank", "volume_m3": 150.0, "single_tank_m3": 50.0},
        ),
        SiteKind("chemical_warehouse", "化学品仓库", "hazard", "hazard_sources", {"kind": "warehouse"}),
        SiteKind(
            "tank_farm",
            "易燃液体储罐区",
            "hazard",
            "hazard_sources",
            {"kind": "tank_farm", "volume_m3": 2000.0, "single_tank_m3": 1000.0, "liquid": "汽油"},
        ),
        SiteKind(
            "explosives_store", "爆炸物品库", "hazard", "hazard_sources", {"kind": "explosives_store", "tnt_kg": 1000.0}
        ),
    )
}


def gb36894_class_for(population: float | None) -> str:
    """GB 36894 一般防护目标 class from the number of people (reference Table 2.1): ≥100 一类, 30–99 二类, <30 三类."""
    n = float(population or 0)
    return "general_1" if n >= 100 else "general_2" if n >= 30 else "general_3"


def proposed_properties(kind: SiteKind, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """The site's properties: the kind's defaults, then the caller's overrides, then derived values."""
    props: dict[str, Any] = {**kind.defaults, **{k: v for k, v in (overrides or {}).items() if v is not None}}
    if kind.role == "target" and kind.layer == "protected_targets" and not props.get("gb36894_class"):
        props["gb36894_class"] = gb36894_class_for(props.get("population"))
    if kind.role == "hazard" and not props.get("substances"):
        props["substances"] = default_substances(kind.code, props)
    return props


def default_substances(code: str, props: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Substances implied by the kind and its volumes (LPG at 0.55 t/m³ filled to 85 %, …)."""
    if code == "lpg_depot":
        q = float(props.get("volume_m3") or 0) * LPG_DENSITY_T_M3 * FILL_FRACTION
        return [{"name": "液化石油气", "cas": "68476-85-7", "quantity_t": round(q, 3)}]
    if code == "fuel_station":
        return [
            {
                "name": "汽油",
                "cas": "86290-81-5",
                "quantity_t": round(float(props.get("gasoline_m3") or 0) * 0.74 * 0.85, 3),
            },
            {
                "name": "柴油",
                "hazard_class": "W5.4",
                "quantity_t": round(float(props.get("diesel_m3") or 0) * 0.84 * 0.85, 3),
            },
        ]
    if code == "tank_farm":
        return [
            {
                "name": str(props.get("liquid") or "汽油"),
                "quantity_t": round(float(props.get("volume_m3") or 0) * 0.74 * 0.85, 3),
            }
        ]
    if code == "explosives_store":
        return [
            {"name": "炸药（TNT当量）", "hazard_class": "W1.1", "quantity_t": float(props.get("tnt_kg") or 0) / 1000}
        ]
    return []


def proposed_frame(
    kind: SiteKind, geometry: BaseGeometry, props: Mapping[str, Any], crs: Any, name: str
) -> gpd.GeoDataFrame:
    """A one-row frame (metric CRS) of the proposed site, shaped like the existing layer's rows."""
    row = {"id": 0, "name": name, "layer": kind.layer, "enterprise_id": None, **props}
    return gpd.GeoDataFrame([row], geometry=[geometry], crs=crs)


def site_checks(
    kind: SiteKind,
    site: gpd.GeoDataFrame,
    hazards: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame,
    rules: pd.DataFrame,
    props: SubstanceProperties,
    vicinity_m: float = 1000.0,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Every rule check of the site within ``vicinity_m`` beyond each required distance.

    Parameters
    ----------
    kind
        What is proposed; a *target* is checked against the existing ``hazards``, a *hazard*
        against the existing ``targets``.
    site
        The one-row frame of :func:`proposed_frame` (metric CRS), its classes already
        derived where the caller has a class table (:func:`gis.target_classes.derive_classes`).
    hazards, targets, rules, props
        As for :func:`gis.separation.evaluate`.
    vicinity_m
        Passing pairs up to this far (m) beyond the required distance are listed too.

    Returns
    -------
    (checks, issues)
        ``checks`` as from :func:`gis.separation.describe_pairs` with ``status`` pass, fail or
        cannot_check and the ``reason``; ``issues`` (a proposed hazard only) as from
        :func:`gis.separation.describe_issues`: the site's rules whose targets have no map
        layer (railways, substations …), or why the site cannot be graded (a fuel station
        beyond 一级 or without volumes) — each 无法核查.
    """
    rules = rules.reset_index(drop=True)
    if kind.role == "target":
        pairs, _ = evaluate(hazards, site, rules, props, extra_m=vicinity_m, report_passes=True)
        checks = describe_pairs(pairs, hazards, site, rules)
        issues = describe_issues(pd.DataFrame(columns=_ISSUE_COLS), site, rules)
    else:
        pairs, found = evaluate(
            site, targets, rules, props, extra_m=vicinity_m, report_passes=True, ungradable_extra_m=0.0
        )
        checks = describe_pairs(pairs, site, targets, rules)
        issues = describe_issues(found, site, rules)
    return checks, issues


_ISSUE_COLS = ["pos", "hazard_category", "rule_pos", "required_m", "status", "reason"]
