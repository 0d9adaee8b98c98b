"""The fire-access review for the fire service (issue 5, item 4).

For every enterprise and protected target: can a fire engine and an aerial ladder reach it
within the standard time (GB 51080-2015 §4.1.3), from which station, by which fire lanes;
every lane rule broken (GB 50016-2014 §7.1.8–7.1.10, slope from the DEM where the lane has
none); hydrant cover and spacing (GB 50974-2014 §7.2.5). Each finding: rule, measured value,
required value, clause and location (GeoJSON, lon/lat).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from safemap.api.services import coverage as svc
from safemap.gis.coverage import path_segments
from safemap.gis.fire_access import (
    Finding,
    check_lanes,
    classify_site,
    hydrant_findings,
    spacing_findings,
    status_findings,
)
from safemap.gis.hydrants import hydrant_cover, hydrant_spacing
from safemap.gis.network import FIRE_LANES
from safemap.gis.terrain import line_slopes
from safemap.gis.verdicts import CANNOT_CHECK, FAIL, PASS
from safemap.layers.dem import read_dem
from safemap.layers.enums import VERDICT_STATUS
from safemap.layers.store import FeatureStore

REVIEWED = ("enterprises", "protected_targets")


def access_review(
    store: FeatureStore,
    *,
    engine: str = "fire_engine",
    ladder: str = "aerial_ladder",
    kinds: Sequence[str] | None = svc.FIRE_KINDS,
    standard_min: float | None = None,
    turnout_s: float | None = None,
    township: str | None = None,
) -> dict[str, Any]:
    """The review as a JSON-ready dict: ``summary``, ``rules``, ``findings`` (GeoJSON), ``sites``, ``dem``."""
    rules = svc.rulebook(store)
    standard_s = standard_min * 60.0 if standard_min is not None else rules.value("response_time")
    turnout = turnout_s if turnout_s is not None else rules.value("turnout_time")
    net, router = svc.network(store)
    crs = net.crs
    filters = {"township": [township]} if township else None
    lanes = store.to_geodataframe("fire_lanes", filters=filters).to_crs(crs)
    site_frames = {name: store.to_geodataframe(name, filters=filters).to_crs(crs) for name in REVIEWED}
    all_sites = {name: store.to_geodataframe(name).to_crs(crs) for name in REVIEWED}
    classes = {(name, int(i)): classify_site(name, r, rules) for name, f in all_sites.items() for i, r in f.iterrows()}
    veh_engine, veh_ladder = svc.vehicle(store, engine, "engine"), svc.vehicle(store, ladder, "ladder")
    dem_info, dem_slopes = _dem_slopes(lanes)
    roads = store.to_geodataframe("roads").to_crs(crs)
    others = pd.concat([roads[["geometry"]], store.to_geodataframe("fire_lanes").to_crs(crs)[["geometry"]]])
    findings: list[Finding] = check_lanes(
        lanes,
        rules,
        sites=classes,
        dem_slopes=dem_slopes,
        heavy_weight_t=veh_ladder.weight_t,
        engine_weight_t=veh_engine.weight_t,
        network_lines=gpd.GeoDataFrame(others, crs=crs),
    )
    hydrants = store.to_geodataframe("hydrants").to_crs(crs)
    radius, zone = rules.value("hydrant_cover"), rules.value("hydrant_zone")
    covers = {}
    for name, frame in site_frames.items():
        covers[name] = hydrant_cover(frame, hydrants, radius, zone)
        findings += hydrant_findings(covers[name], frame, rules, name)
    road_scope = roads if not township else roads[roads["township"] == township]
    gaps = hydrant_spacing(hydrants, road_scope, rules.value("hydrant_spacing"))
    findings += spacing_findings(gaps, rules)
    hyd_scope = hydrants if not township else hydrants[hydrants["township"] == township]
    findings += status_findings(hyd_scope, rules)
    lane_rules: dict[tuple[str, int], list[str]] = {}
    for f in findings:
        if f.layer == "fire_lanes" and f.site_layer:
            lane_rules.setdefault((f.site_layer, int(f.site_id)), []).append(f.label)
    reach = {}
    for role, code in (("engine", engine), ("ladder", ladder)):
        teams = svc.facilities(store, "rescue_teams", kinds=kinds, vehicle_code=code)
        _n, _r, cost, search, _ = svc.search_from(store, code, teams)
        reach[role] = (teams, cost, search)
    sites_out = []
    for name, frame in site_frames.items():
        lonlat = (
            np.column_stack(
                [
                    frame.to_crs(4326).geometry.representative_point().x,
                    frame.to_crs(4326).geometry.representative_point().y,
                ]
            )
            if len(frame)
            else np.zeros((0, 2))
        )
        per_role = {}
        for role, (teams, cost, search) in reach.items():
            snaps = svc.snap_points(router, lonlat, cost)
            from safemap.gis.coverage import site_times

            t, fac, via = site_times(net, search, snaps)
            per_role[role] = (teams, snaps, t, fac, via, search)
        site_lanes = lanes.groupby([lanes["site_layer"], lanes["site_id"]]).groups if len(lanes) else {}
        for k, (sid, row) in enumerate(frame.iterrows()):
            cls = classes[(name, int(sid))]
            rec: dict[str, Any] = {
                "layer": name,
                "id": int(sid),
                "name": row["name"],
                "township": row.get("township"),
                "height_m": cls.height_m,
                "high_rise": cls.high_rise,
                "lanes": [int(i) for i in site_lanes.get((name, int(sid)), [])],
                "lane_findings": sorted(set(lane_rules.get((name, int(sid)), []))),
                "hydrant_m": _round(covers[name].loc[sid, "distance_m"]),
            }
            for role, (teams, snaps, t, fac, via, search) in per_role.items():
                resp = t[k] + turnout if math.isfinite(t[k]) else math.inf
                path = path_segments(net, search, snaps[k], via[k]) if snaps[k] is not None else []
                rec[role] = {
                    "minutes": _round(resp / 60.0) if math.isfinite(resp) else None,
                    "ok": bool(resp <= standard_s),
                    "team": teams.iloc[fac[k]]["name"] if fac[k] >= 0 else None,
                    "via_lanes": [int(net.seg_fid[s]) for s in path if net.seg_layer[s] == FIRE_LANES],
                }
            reach_findings = _reach_findings(rec, row, rules, standard_s)
            own = [f for f in findings if f.layer == name and f.feature_id == int(sid)] + reach_findings
            unmeasured = _unmeasured_lanes(lanes, rec["lanes"], dem_slopes)
            rec["verdict"] = site_verdict(rec, own, unmeasured, row.geometry)
            sites_out.append(rec)
            findings += reach_findings
    summary = Counter(f.rule for f in findings)
    verdicts = Counter(s["verdict"]["status"] for s in sites_out)
    return {
        "standard": {
            "minutes": round(standard_s / 60.0, 2),
            "turnout_s": turnout,
            "clause": rules["response_time"].citation,
        },
        "vehicles": {"engine": engine, "ladder": ladder},
        "township": township,
        "verdicts": {
            "counts": {code: int(verdicts.get(code, 0)) for code in (PASS, FAIL, CANNOT_CHECK)},
            "labels": {code: VERDICT_STATUS.label(code) for code in (PASS, FAIL, CANNOT_CHECK)},
        },
        "summary": [
            {"rule": code, "label": rules[code].label, "clause": rules[code].citation, "count": n}
            for code, n in sorted(summary.items(), key=lambda kv: -kv[1])
        ],
        "rules": [
            {"code": r.code, "label": r.label, "value": r.value, "unit": r.unit, "clause": r.citation}
            for r in rules.rules.values()
        ],
        "findings": {"type": "FeatureCollection", "features": [_feature(f, net) for f in findings]},
        "sites": sites_out,
        "dem": dem_info,
    }


def site_verdict(
    rec: dict[str, Any], findings: Sequence[Finding], unmeasured: Sequence[str], geometry: Any
) -> dict[str, Any]:
    """The three-valued verdict of one site of the review.

    Parameters
    ----------
    rec
        The site's record (``lane_findings``: lane rules broken on the lanes serving it).
    findings
        The findings about the site itself (arrival time, hydrant cover); a site no engine can
        reach is a finding (不符合), not a missing input.
    unmeasured
        Why lanes serving the site could not be checked (width, clear height or slope unknown).
    geometry
        The site's geometry (metric); none or empty cannot be checked.

    Returns
    -------
    dict
        ``status`` (``fail`` when any finding or lane rule is broken, else ``cannot_check`` when
        something could not be measured, else ``pass``), ``status_label`` from the catalogue,
        ``reasons`` (Chinese; the failures or what could not be checked).
    """
    reasons_fail = [f.message for f in findings] + [f"消防车道：{x}" for x in rec.get("lane_findings", [])]
    unsure: list[str] = list(unmeasured)
    if geometry is None or getattr(geometry, "is_empty", True):
        unsure.append("场所没有位置（几何为空），未核查")
    if reasons_fail:
        status, reasons = FAIL, reasons_fail + unsure
    elif unsure:
        status, reasons = CANNOT_CHECK, unsure
    else:
        status, reasons = PASS, []
    return {"status": status, "status_label": VERDICT_STATUS.label(status), "reasons": reasons}


def _unmeasured_lanes(lanes: gpd.GeoDataFrame, ids: Sequence[int], dem_slopes: dict[int, float]) -> list[str]:
    """Lanes serving a site whose width, clear height or slope is unknown (GB 50016 §7.1.8 cannot be checked)."""
    out = []
    for i in ids:
        if i not in lanes.index:
            continue
        row = lanes.loc[i]
        gaps = [
            label
            for col, label in (("width_m", "净宽"), ("clear_height_m", "净空高度"))
            if _round(row.get(col)) is None
        ]
        if _round(row.get("slope_pct")) is None and int(i) not in dem_slopes:
            gaps.append("坡度（且无 DEM）")
        if gaps:
            out.append(f"消防车道「{row.get('name')}」未填写{'、'.join(gaps)}，无法核查")
    return out


def late_sites(review: dict[str, Any]) -> list[dict[str, Any]]:
    """The sites a fire engine (or, for a high-rise, a ladder truck) cannot reach in time.

    Parameters
    ----------
    review
        The answer of :func:`access_review`.

    Returns
    -------
    list of dict
        ``{"site", "engine_late", "ladder_late"}`` in the review's order: the engine counts for
        every site, the ladder only for a high-rise site (GB 50016-2014 §7.2 aerial access).
    """
    out = []
    for s in review["sites"]:
        engine_late = not s["engine"]["ok"]
        ladder_late = bool(s["high_rise"] and not s["ladder"]["ok"])
        if engine_late or ladder_late:
            out.append({"site": s, "engine_late": engine_late, "ladder_late": ladder_late})
    return out


def _reach_findings(rec: dict[str, Any], row: pd.Series, rules: Any, standard_s: float) -> list[Finding]:
    rule = rules["response_time"]
    out = []
    roles = [("engine", "水罐消防车")] + ([("ladder", "登高消防车")] if rec["high_rise"] else [])
    for role, label in roles:
        r = rec[role]
        if r["ok"]:
            continue
        got = f"{r['minutes']:.1f} min" if r["minutes"] is not None else "无法到达"
        out.append(
            Finding(
                rule=rule.code,
                label=f"{label}到场时间",
                layer=rec["layer"],
                feature_id=rec["id"],
                name=rec["name"],
                measured=r["minutes"],
                required=round(standard_s / 60.0, 2),
                unit="min",
                comparison="≤",
                clause=rule.citation,
                geometry=row.geometry.representative_point(),
                message=f"{rec['name']}：{label}{got}（{r['team'] or '无可用队站'}），标准 {standard_s / 60:g} min",
                extra={"vehicle": role, "team": r["team"]},
            )
        )
    return out


def _dem_slopes(lanes: gpd.GeoDataFrame) -> tuple[dict[str, Any], dict[int, float]]:
    """Steepest DEM grade of each lane without a surveyed slope."""
    need = lanes[lanes["slope_pct"].isna()] if len(lanes) else lanes
    if not len(need):
        return {"used": False}, {}
    bounds = tuple(need.to_crs(4326).total_bounds)
    dem = read_dem(bounds_lonlat=bounds)
    if dem is None:
        return {"used": False, "note": "未找到 DEM 文件，未填坡度的车道不核查坡度"}, {}
    slopes = line_slopes(need.geometry, dem.heights, dem.transform, dem.crs)
    out = {int(i): s.max_pct for i, s in zip(need.index, slopes, strict=True) if s is not None}
    return {
        "used": True,
        "synthetic": dem.synthetic,
        "path": dem.path.split("/")[-1],
        "lanes": len(out),
        "note": "合成演示 DEM（非实测）" if dem.synthetic else "",
    }, out


def _round(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return None if not math.isfinite(f) else round(f, 1)


def _feature(f: Finding, net: Any) -> dict[str, Any]:
    props = f.as_dict()
    geom = f.geometry
    centre = shapely.get_coordinates(geom.representative_point() if geom.geom_type != "Point" else geom)[0]
    lon, lat = net.to_lonlat(np.array([centre]))[0]
    props["lon"], props["lat"] = round(float(lon), 6), round(float(lat), 6)
    return {"type": "Feature", "geometry": svc.geojson_geometry(geom, net), "properties": props}
