"""Service areas and the coverage report of rescue forces and depots (issue 5, items 1–2).

- :func:`service_areas`: one multi-source search per vehicle from all teams (or depots) of
  the requested kinds, bands at the requested thresholds, as GeoJSON in lon/lat.
- :func:`coverage_report`: shares of enterprises, hazard sources (by grade), protected
  targets and their population reached within the standard time (GB 51080-2015 §4.1.3:
  5 min from the turn-out order, turnout time included); the uncovered sites with their
  nearest team and its time; a per-township table; depot reach to every township seat and
  hazard source, and the townships with no depot within N minutes.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from safemap.api.services import coverage as svc
from safemap.api.services.region_sites import partitioned_site_times
from safemap.gis.coverage import coverage_tables, time_matrix
from safemap.gis.coverage import service_areas as search_bands
from safemap.layers import labels
from safemap.layers.csvsafe import csv_writer
from safemap.layers.enums import TEAM_KIND
from safemap.layers.store import FeatureStore


def _minutes(seconds: float) -> float | None:
    return None if not math.isfinite(seconds) else round(seconds / 60.0, 2)


def service_areas(
    store: FeatureStore,
    *,
    layer: str = "rescue_teams",
    kinds: Sequence[str] | None = svc.FIRE_KINDS,
    vehicle: str = "fire_engine",
    thresholds_min: Sequence[float] = (5, 10, 15, 30),
    ids: Sequence[int] | None = None,
    levels: Sequence[str] | None = None,
    only_available: bool = False,
    extra_points: Sequence[Sequence[float]] = (),
    buffer_m: float = 100.0,
) -> dict[str, Any]:
    """Bands reached within each threshold from all facilities at once (GeoJSON FeatureCollection).

    Parameters
    ----------
    layer
        ``rescue_teams`` or ``material_depots``.
    kinds
        Team kinds taking part (teams only); ``None``: all.
    vehicle
        Vehicle profile: only teams holding one take part, and its limits and speed apply.
    thresholds_min
        Travel-time thresholds, minutes.
    extra_points
        Proposed sites ``[lon, lat]`` searched together with the existing ones (before/after).
    buffer_m
        Width either side of a reached road that counts as served, metres.
    """
    thresholds = sorted({float(t) for t in thresholds_min})
    frame = svc.facilities(
        store,
        layer,
        kinds=kinds if layer == "rescue_teams" else None,
        vehicle_code=vehicle if layer == "rescue_teams" else None,
        ids=ids,
        only_available=only_available,
        levels=levels,
    )
    extra = np.asarray(extra_points, float).reshape(-1, 2) if len(extra_points) else None
    net, _router, _cost, search, snaps = svc.search_from(store, vehicle, frame, thresholds[-1] * 60.0, extra)
    bands = search_bands(net, search, [t * 60.0 for t in thresholds], buffer_m=buffer_m)
    features = []
    prev = 0.0
    for k, b in enumerate(bands):
        geom = svc.geojson_geometry(b.band, net)
        features.append(
            {
                "type": "Feature",
                "geometry": geom,
                "properties": {
                    "band": k,
                    "from_min": prev,
                    "to_min": thresholds[k],
                    "label": f"{prev:g}–{thresholds[k]:g} 分钟",
                    "band_km2": round(b.band.area / 1e6, 3),
                    "area_km2": round(b.area.area / 1e6, 3),
                },
            }
        )
        prev = thresholds[k]
    names = list(frame["name"]) + [f"拟建点 {i + 1}" for i in range(0 if extra is None else len(extra))]
    ids_out = list(frame["id"]) + [None] * (0 if extra is None else len(extra))
    fac = []
    for i, (fid, name) in enumerate(zip(ids_out, names, strict=True)):
        s = snaps[i]
        fac.append(
            {
                "id": None if fid is None else int(fid),
                "name": name,
                "proposed": fid is None,
                "on_network": s is not None,
                "snap_m": None if s is None else round(s.dist_m, 1),
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "vehicle": vehicle,
        "layer": layer,
        "thresholds_min": thresholds,
        "facilities": fac,
        "method": "一次多源最短路（scipy.sparse.csgraph.dijkstra, min_only）；按到达时间沿路段取样（含部分到达路段），"
        f"道路两侧 {buffer_m:g} m 视为可服务，街区空洞填充；非凸包",
    }


def coverage_report(
    store: FeatureStore,
    *,
    vehicle: str = "fire_engine",
    kinds: Sequence[str] | None = svc.FIRE_KINDS,
    standard_min: float | None = None,
    turnout_s: float | None = None,
    depot_vehicle: str = "materials_truck",
    depot_min: float | None = None,
    only_available: bool = False,
    scheduler: str | None = None,
) -> dict[str, Any]:
    """The coverage report (JSON-ready): summary shares, grades, townships, uncovered sites, depots.

    ``scheduler``: a Dask scheduler's address (``SAFEMAP_DASK_SCHEDULER``): the sites are snapped
    and timed in partitions on it (:mod:`region_sites`), with the same answer.
    """
    rules = svc.rulebook(store)
    standard_s = standard_min * 60.0 if standard_min is not None else rules.value("response_time")
    turnout = turnout_s if turnout_s is not None else rules.value("turnout_time")
    travel_s = max(standard_s - turnout, 0.0)
    depot_s = depot_min * 60.0 if depot_min is not None else rules.value("depot_reach")
    teams = svc.facilities(store, "rescue_teams", kinds=kinds, vehicle_code=vehicle, only_available=only_available)
    net, router, cost, search, _snaps = svc.search_from(store, vehicle, teams)
    site_frame = svc.sites(store)
    if scheduler:
        t, fac, on_network, _run = partitioned_site_times(site_frame, net, cost, search, scheduler)
    else:
        t, fac, _via, snaps = svc.times_to_sites(net, router, cost, search, site_frame)
        on_network = np.array([s is not None for s in snaps], dtype=bool)
    response = np.where(np.isfinite(t), t + turnout, np.inf)
    df = pd.DataFrame(
        {
            "layer": site_frame["layer"],
            "id": site_frame["id"],
            "name": site_frame["name"],
            "township": site_frame["township"],
            "population": site_frame["population"],
            "grade": site_frame["grade"],
            "time_s": response,
        }
    )
    tables = coverage_tables(df, standard_s)
    uncovered = []
    for k in np.argsort(-np.where(np.isfinite(response), response, 1e12), kind="stable"):
        if response[k] <= standard_s:
            continue
        team = teams.iloc[fac[k]] if fac[k] >= 0 else None
        reason = (
            "超出标准时间"
            if math.isfinite(response[k])
            else (f"距可通行道路超过 {svc.MAX_ACCESS_M:g} m" if not on_network[k] else "道路不通")
        )
        uncovered.append(
            {
                "layer": df["layer"][k],
                "layer_label": svc.SITE_LABELS[df["layer"][k]],
                "id": int(df["id"][k]),
                "name": df["name"][k],
                "township": df["township"][k],
                "population": None if pd.isna(df["population"][k]) else int(df["population"][k]),
                "grade": None if pd.isna(df["grade"][k]) else int(df["grade"][k]),
                "response_min": _minutes(response[k]),
                "nearest_team_id": None if team is None else int(team["id"]),
                "nearest_team": None if team is None else team["name"],
                "reason": reason,
            }
        )
    depots = depot_reach(store, depot_vehicle, depot_s)
    return {
        "standard": {
            "minutes": round(standard_s / 60.0, 2),
            "turnout_s": turnout,
            "travel_s": travel_s,
            "clause": rules["response_time"].citation,
            "turnout_note": rules["turnout_time"].citation,
        },
        "vehicle": vehicle,
        "kinds": list(kinds or []),
        "kind_labels": [TEAM_KIND.label(k) for k in kinds or []],
        "teams": [{"id": int(r["id"]), "name": r["name"], "kind": r["kind"]} for _, r in teams.iterrows()],
        "summary": _records(tables["by_layer"], "layer", label=svc.SITE_LABELS),
        "by_grade": _records(tables["by_grade"], "grade"),
        "by_township": _township_records(tables["by_township"]),
        "uncovered": uncovered,
        "depots": depots,
    }


def _records(frame: pd.DataFrame, key: str, label: dict[str, str] | None = None) -> list[dict[str, Any]]:
    out = []
    for idx, row in frame.iterrows():
        rec = {key: idx}
        if label:
            rec["label"] = label.get(idx, idx)
        rec.update(_clean(row))
        out.append(rec)
    return out


def _township_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for (town, layer), row in frame.iterrows():
        rec = out.setdefault(town, {"township": town})
        r = _clean(row)
        rec[f"{layer}_count"] = r["count"]
        rec[f"{layer}_covered"] = r["covered"]
        rec[f"{layer}_share"] = r["share"]
        if layer == "protected_targets":
            rec["population"] = r["population"]
            rec["population_covered"] = r["population_covered"]
            rec["population_share"] = r["population_share"]
    return list(out.values())


def _clean(row: pd.Series) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, float | np.floating):
            v = None if math.isnan(v) else round(float(v), 4)
            if k in ("count", "covered") and v is not None:
                v = int(v)
        out[str(k)] = v
    return out


def depot_reach(store: FeatureStore, vehicle_code: str, limit_s: float) -> dict[str, Any]:
    """Travel time from every depot to every township seat and hazard source; townships beyond ``limit_s``."""
    depots = svc.facilities(store, "material_depots")
    net, router = svc.network(store)
    veh = svc.vehicle(store, vehicle_code)
    cost = router.segment_cost(veh)
    d_snaps = svc.snap_points(router, svc.lonlat_of(depots), cost)
    seats = store.to_geodataframe("settlements")
    seats = seats[seats["kind"].isin(["county_seat", "township_seat"])]
    hazards = store.to_geodataframe("hazard_sources")
    targets = pd.concat([seats.assign(_layer="settlements"), hazards.assign(_layer="hazard_sources")])
    t_snaps = svc.snap_points(router, svc.lonlat_of(targets), cost)
    matrix = time_matrix(net, cost, d_snaps, t_snaps)
    rows = []
    for k, (_, r) in enumerate(targets.iterrows()):
        j = int(np.argmin(matrix[k])) if len(depots) else -1
        best = float(matrix[k, j]) if j >= 0 else math.inf
        rows.append(
            {
                "layer": r["_layer"],
                "id": int(r["id"]),
                "name": r["name"],
                "township": r["township"],
                "nearest_depot_id": int(depots.iloc[j]["id"]) if j >= 0 and math.isfinite(best) else None,
                "nearest_depot": depots.iloc[j]["name"] if j >= 0 and math.isfinite(best) else None,
                "minutes": _minutes(best),
                "by_depot_min": [_minutes(float(x)) for x in matrix[k]],
            }
        )
    seat_rows = [r for r in rows if r["layer"] == "settlements"]
    lacking = []
    for town in sorted({r["township"] for r in seat_rows if r["township"]}):
        best = min((r["minutes"] if r["minutes"] is not None else math.inf) for r in seat_rows if r["township"] == town)
        if best * 60.0 > limit_s:
            lacking.append({"township": town, "best_minutes": None if math.isinf(best) else best})
    return {
        "vehicle": vehicle_code,
        "limit_min": round(limit_s / 60.0, 2),
        "depots": [
            {"id": int(r["id"]), "name": r["name"], "level": r["level"], "township": r["township"]}
            for _, r in depots.iterrows()
        ],
        "seats": seat_rows,
        "hazard_sources": [r for r in rows if r["layer"] == "hazard_sources"],
        "townships_without_depot": lacking,
    }


_CSV_TABLES = ("summary", "by_grade", "by_township", "uncovered", "depots")

#: File names of the CSV tables: Chinese for people, the code stem for machine exports.
CSV_FILES: dict[str, tuple[str, str]] = {
    "summary": ("覆盖统计", "coverage_summary"),
    "by_grade": ("危险源分级覆盖", "coverage_by_grade"),
    "by_township": ("乡镇覆盖统计", "coverage_by_township"),
    "uncovered": ("未覆盖对象", "coverage_uncovered"),
    "depots": ("储备库可达", "coverage_depots"),
}

#: Chinese headers of the CSV tables (``headers=code`` writes the keys instead).
CSV_WORDS: dict[str, str] = {
    "layer": "类型",
    "label": "图层",
    "layer_label": "图层",
    "count": "对象数",
    "covered": "覆盖数",
    "share": "覆盖率（%）",
    "population": "人口（人）",
    "population_covered": "覆盖人口（人）",
    "population_share": "人口覆盖率（%）",
    "grade": "重大危险源等级",
    "township": "乡镇",
    "id": "编号",
    "name": "名称",
    "response_min": "到场时间（min）",
    "nearest_team_id": "最近队站编号",
    "nearest_team": "最近队站",
    "reason": "原因",
    "nearest_depot_id": "最近储备库编号",
    "nearest_depot": "最近储备库",
    "minutes": "最短到达时间（min）",
}
_PLACE_LABELS = {**svc.SITE_LABELS, "settlements": "乡镇驻地"}


def _csv_words(keys: Sequence[str]) -> dict[str, str]:
    words = dict(CSV_WORDS)
    for key in keys:
        for layer, label in svc.SITE_LABELS.items():
            for suffix, word in (("_count", "数"), ("_covered", "覆盖数"), ("_share", "覆盖率（%）")):
                if key == layer + suffix:
                    words[key] = label + word
    return words


def _for_people(key: str, value: Any) -> Any:
    """A cell as an official reads it: shares in per cent, type codes as words."""
    if value is None or value == "":
        return value
    if key.endswith("share") and isinstance(value, int | float):
        return round(float(value) * 100, 1)
    if key == "layer":
        return _PLACE_LABELS.get(str(value), value)
    return value


def report_filename(table: str, mode: labels.HeaderMode = "zh", day: dt.date | None = None) -> str:
    """``覆盖统计_20261201.csv`` (``coverage_summary_20261201.csv`` with code headers)."""
    zh, code = CSV_FILES[table]
    return labels.export_filename(zh, "csv", code_stem=code, mode=mode, day=day)


def report_csv(report: dict[str, Any], table: str, headers: labels.HeaderMode = "zh") -> str:
    """One table of the report as CSV text: Chinese headers (``headers="code"``: the field codes)."""
    if table == "depots":
        rows = [
            {k: v for k, v in r.items() if k != "by_depot_min"}
            for r in report["depots"]["seats"] + report["depots"]["hazard_sources"]
        ]
        names = [d["name"] for d in report["depots"]["depots"]]
        for r, src in zip(rows, report["depots"]["seats"] + report["depots"]["hazard_sources"], strict=True):
            r.update({f"至{n}(min)": m for n, m in zip(names, src["by_depot_min"], strict=True)})
    else:
        rows = report[table]
    buf = io.StringIO()
    if rows:
        keys: list[str] = []
        for r in rows:
            keys.extend(k for k in r if k not in keys)
        if headers == "zh":
            # The label column says what the code column does: people get the words only.
            keys = [k for k in keys if not (k == "layer" and ("label" in keys or "layer_label" in keys))]
        w = csv_writer(buf)  # formula-like text (a depot or target name) gets a leading '
        w.writerow(labels.csv_header(keys, _csv_words(keys), headers))
        if headers == "zh":
            w.writerows([_for_people(k, r.get(k, "")) for k in keys] for r in rows)
        else:
            w.writerows([r.get(k, "") for k in keys] for r in rows)
    return buf.getvalue()
