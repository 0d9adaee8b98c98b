"""Tailings dam breach for planners and the command centre: store glue around :mod:`safemap.gis.dam_breach`.

Reads the tailings ponds (``hazard_sources`` of kind ``tailings_pond``) with their dam height
and stored volume, the DEM in use (:mod:`safemap.layers.dem`: synthetic until a real one is
loaded), settlements, protected targets and roads; returns the flow path, the inundation
corridor, the run-out and who is reached when, in lon/lat and Chinese.

The breach point is the lowest DEM point on the pond's outline unless the caller gives one:
a valley pond's dam closes the valley at its lowest side, so that is where the outline meets
the dam (the pour point).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

from safemap.api.services import safety as safety_service
from safemap.gis import dam_breach as db
from safemap.gis.numbers import finite
from safemap.layers.definitions import get_layer
from safemap.layers.dem import provenance, read_dem
from safemap.layers.errors import FeatureNotFound, Problem, Unprocessable
from safemap.layers.labels import distance_text, duration_text, enum_label
from safemap.layers.store import FeatureStore

POND_KIND = "tailings_pond"
#: DEM read around the pond beyond the run-out (and the corridor's half-width), metres: the fill
#: treats the window's edge as an outlet, so the path must not reach it before D_max.
WINDOW_MARGIN_M = 3000.0
#: Farthest a caller's breach point may lie from the pond outline, metres.
MAX_BREACH_OFFSET_M = 1000.0
END_REASONS = {
    "runout": "到达经验冲出距离",
    "edge": "流出高程数据范围（冲出距离可能更远）",
    "basin": "流入洼地，下泄量不足以填满，在洼地底部停积",
    "sink": "流入无出口洼地后停止",
}
SYNTHETIC_WARNING = (
    "高程数据（DEM）为合成演示数据，不是实测地形：流路、淹没范围和到达时间仅供演示，导入真实 DEM 后方可用于决策"
)


def _label(field: str) -> str:
    return get_layer("hazard_sources").field(field).label


#: Labels of the inputs that are not catalogue fields.
INPUT_LABELS = {"dem": "高程数据", "breach": "溃口位置", "released_m3": "下泄量"}


def _refuse(field: str, message: str) -> Unprocessable:
    label = INPUT_LABELS.get(field) or _label(field)
    return Unprocessable(f"{label}：{message}", [Problem(field, message)])


def _pond_rows(store: FeatureStore) -> gpd.GeoDataFrame:
    data = safety_service.load(store)
    hz = data.hazards
    return hz[hz["kind"] == POND_KIND]


def pond_reasons(height: float | None, volume: float | None) -> list[str]:
    """Why a pond cannot be checked (empty list: it can)."""
    out = []
    if height is None or height <= 0:
        out.append(f"缺少{_label('dam_height_m')}（m）")
    if volume is None or volume <= 0:
        out.append(f"缺少{_label('tailings_volume_m3')}（m³）")
    return out


def ponds(store: FeatureStore) -> list[dict[str, Any]]:
    """Every tailings pond with its dam data, its centre (lon/lat) and the reasons it cannot be checked."""
    rows = _pond_rows(store)
    centres = gpd.GeoSeries(rows.geometry.representative_point(), crs=rows.crs).to_crs(4326)
    out = []
    for r, c in zip(rows.itertuples(index=False), centres, strict=True):
        height, volume = finite(r.dam_height_m), finite(r.tailings_volume_m3)
        reasons = pond_reasons(height, volume)
        out.append(
            {
                "id": int(r.id),
                "name": r.name,
                "enterprise_name": r.enterprise_name if isinstance(r.enterprise_name, str) else None,
                "township": r.township if isinstance(r.township, str) else None,
                "dam_height_m": height,
                "tailings_volume_m3": volume,
                "lon": round(c.x, 6),
                "lat": round(c.y, 6),
                "checkable": not reasons,
                "reasons": reasons,
            }
        )
    return out


def _pond(store: FeatureStore, pond_id: int) -> tuple[Any, CRS]:
    data = safety_service.load(store)
    hz = data.hazards
    hit = hz[hz["id"] == pond_id]
    if not len(hit):
        raise FeatureNotFound(f"没有编号为 {pond_id} 的危险源")
    row = hit.iloc[0]
    if row["kind"] != POND_KIND:
        raise FeatureNotFound(f"危险源 {pond_id}（{row['name']}）不是尾矿库")
    return row, data.crs


def _to(src: Any, dst: Any) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def breach(
    store: FeatureStore,
    pond_id: int,
    *,
    breach_lonlat: tuple[float, float] | None = None,
    stored_m3: float | None = None,
    released_m3: float | None = None,
    depth_m: float = db.FLOW_DEPTH_M,
    dem_file: Path | None = None,
) -> dict[str, Any]:
    """Flow path, corridor, run-out and affected people, roads and targets of a breach of pond ``pond_id``.

    Parameters
    ----------
    store
        The feature store.
    pond_id
        ``hazard_sources`` id of a tailings pond.
    breach_lonlat
        Breach point (lon, lat); default the pour point of the outline.
    stored_m3
        Stored volume override, m³ (default the pond's ``tailings_volume_m3``).
    released_m3
        Released volume override, m³ (default the Concha Larrauri & Lall 2018 relation).
    depth_m
        Flow depth for the front speed, metres.
    dem_file
        DEM to read (default the one in use, :func:`safemap.layers.dem.dem_path`).

    Raises
    ------
    FeatureNotFound
        No such pond (404).
    Unprocessable
        Dam height or stored volume missing, no DEM under the pond, a geographic DEM, or a
        breach point far from the pond (422, naming the field).
    """
    row, metric = _pond(store, pond_id)
    height = finite(row["dam_height_m"])
    stored = stored_m3 if stored_m3 is not None else finite(row["tailings_volume_m3"])
    if height is None or height <= 0:
        raise _refuse("dam_height_m", f"尾矿库“{row['name']}”未填写坝高，无法估算溃坝冲出距离")
    if stored is None or stored <= 0:
        raise _refuse("tailings_volume_m3", f"尾矿库“{row['name']}”未填写尾矿库存量，无法估算下泄量")
    if released_m3 is not None and released_m3 > stored:
        raise _refuse("released_m3", "下泄量不能大于尾矿库存量")
    run = db.runout(height, stored, released_m3)
    pond_m = row.geometry
    reach = run.runout_m + db.MAX_HALF_WIDTH_M + WINDOW_MARGIN_M
    box = shapely.box(*pond_m.buffer(reach).bounds)
    lonlat_box = shapely.transform(box, lambda xy: np.column_stack(_to(metric, 4326).transform(xy[:, 0], xy[:, 1])))
    dem = read_dem(dem_file, bounds_lonlat=tuple(lonlat_box.bounds))  # type: ignore[arg-type]
    if dem is None or not np.isfinite(dem.heights).any():
        raise _refuse("dem", "没有覆盖该尾矿库的高程数据（DEM），请用 safemap dem load 导入")
    dem_crs = CRS.from_user_input(dem.crs)
    if dem_crs.is_geographic:
        raise _refuse("dem", "高程数据为经纬度坐标，请用 safemap dem load 投影到本县 UTM 带后再用")
    to_dem, to_ll = _to(metric, dem_crs), _to(dem_crs, 4326)
    pond = shapely.transform(pond_m, lambda xy: np.column_stack(to_dem.transform(xy[:, 0], xy[:, 1])))
    cell = abs(dem.transform[0])
    if breach_lonlat is not None:
        bx, by = _to(4326, dem_crs).transform(*breach_lonlat)
        point = shapely.Point(bx, by)
        if point.distance(pond.boundary) > MAX_BREACH_OFFSET_M:
            raise _refuse("breach", f"溃口应在尾矿库坝体附近（库区边界 {MAX_BREACH_OFFSET_M:g} m 内）")
        origin = "request"
    else:
        point = db.pour_point(pond, dem.heights, dem.transform, step_m=cell / 10.0)
        origin = "pour_point"
    start = db.cell_of(dem.transform, point.x, point.y)
    rows, cols = dem.heights.shape
    if not (0 <= start[0] < rows and 0 <= start[1] < cols) or math.isnan(dem.heights[start]):
        raise _refuse("breach", "溃口不在高程数据范围内")
    a, _b, c, _d, e, f = dem.transform
    xs = c + (np.arange(cols) + 0.5) * a
    ys = f + (np.arange(rows) + 0.5) * e
    gx, gy = np.meshgrid(xs, ys)
    blocked = shapely.contains_xy(pond, gx, gy)
    blocked[start] = False
    # The impoundment is a wall for the fill: what leaves the breach flows away from the pond.
    walled = np.where(blocked, np.nanmax(dem.heights) + 1000.0, dem.heights)
    filled = db.fill_depressions(walled)
    path = db.trace_path(
        filled, dem.transform, start, run.runout_m, blocked=blocked, heights=walled, volume_m3=run.released_m3
    )
    mask = db.corridor_mask(dem.heights, dem.transform, path, run.runout_m, height)
    mask &= ~blocked
    mask[path.rows, path.cols] = True
    corridor = db.mask_polygon(mask, dem.transform)
    on_path = path.level_m
    times = db.arrival_times(path.distance_m, on_path, depth_m=depth_m)
    line = shapely.LineString(path.xy) if len(path.xy) > 1 else shapely.Point(path.xy[0]).buffer(0.01).exterior
    affected = _affected(store, metric, dem_crs, corridor, line, path, times)
    ll = _lonlat(to_ll)
    info = provenance(Path(dem.path))
    info["path"] = Path(info["path"]).name  # the file's name: the server's folders are not shown
    warnings = [SYNTHETIC_WARNING] if dem.synthetic else []
    if path.reason != "runout":
        warnings.append(f"流路在 {distance_text(path.length_m)} 处{END_REASONS[path.reason]}，短于经验冲出距离")
    population = sum(s["population"] or 0 for s in affected["settlements"])
    result = {
        "pond": {
            "id": int(row["id"]),
            "name": row["name"],
            "enterprise_name": row.get("enterprise_name"),
            "dam_height_m": height,
            "tailings_volume_m3": stored,
        },
        "breach": {
            "lon": round(to_ll.transform(point.x, point.y)[0], 6),
            "lat": round(to_ll.transform(point.x, point.y)[1], 6),
            "height_m": round(float(dem.heights[start]), 1),
            "origin": origin,
            "origin_label": "请求给定" if origin == "request" else "库区边界上的最低点（坝址）",
        },
        "runout": {
            "stored_m3": run.stored_m3,
            "released_m3": round(run.released_m3, 1),
            "released_origin": "request" if released_m3 is not None else "relation",
            "dam_factor": round(run.dam_factor, 4),
            "runout_m": round(run.runout_m, 1),
            "relation": db.RUNOUT_SOURCE,
            "scatter": "经验回归离散大（Rico et al. 2008 冲出距离回归 r²=0.57），结果为中值估计，不是上限",
        },
        "front": {
            "depth_m": depth_m,
            "manning_n": db.MANNING_N,
            "method": f"曼宁公式 v = h^(2/3)·S^(1/2)/n，流深 {depth_m:g} m，n = {db.MANNING_N}（Chow 1959 表5-6），"
            f"坡度按流路 ±{db.SLOPE_WINDOW_M:g} m 计、不小于 {db.MIN_SLOPE * 100:g}%",
        },
        "path": {
            "type": "Feature",
            "geometry": shapely.geometry.mapping(ll(line)),
            "properties": {
                "length_m": round(path.length_m, 1),
                "end": path.reason,
                "end_label": END_REASONS[path.reason],
                "arrival_end_s": round(float(db.time_at(path.distance_m, times, path.length_m)), 1),
            },
        },
        "profile": [
            {
                "distance_m": round(float(d), 1),
                "height_m": round(float(z), 2),
                "level_m": round(float(w), 3),
                "arrival_s": round(float(t), 1),
            }
            for d, z, w, t in zip(path.distance_m, dem.heights[path.rows, path.cols], on_path, times, strict=True)
            if d <= path.length_m + 1e-6
        ],
        "corridor": {
            "type": "Feature",
            "geometry": shapely.geometry.mapping(ll(corridor)),
            "properties": {"area_m2": round(float(corridor.area), 0), "cells": int(mask.sum())},
        },
        **affected,
        "population": int(population + sum(t["population"] or 0 for t in affected["targets"])),
        "dem": info,
        "synthetic": bool(dem.synthetic),
        "warnings": warnings,
    }
    result["summary"] = summary_text(result)
    return result


def _lonlat(to_ll: Transformer) -> Any:
    def apply(geom: Any) -> Any:
        return shapely.transform(geom, lambda xy: np.round(np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])), 6))

    return apply


def _when(line: Any, geom: Any, path: db.FlowPath, times: np.ndarray) -> tuple[float, float]:
    """Distance along the path (metres) of the part of ``geom`` nearest the dam, and the front's time there."""
    pts = shapely.get_coordinates(geom)
    along = min(float(line.project(shapely.Point(p))) for p in pts) if len(pts) else 0.0
    return along, float(db.time_at(path.distance_m, times, along))


def _affected(
    store: FeatureStore, metric: CRS, dem_crs: CRS, corridor: Any, line: Any, path: db.FlowPath, times: np.ndarray
) -> dict[str, list[dict[str, Any]]]:
    data = safety_service.load(store)
    ll = _to(dem_crs, 4326)

    def entry(geom: Any) -> dict[str, Any]:
        along, t = _when(line, geom, path, times)
        p = geom.representative_point() if geom.geom_type != "Point" else geom
        lon, lat = ll.transform(p.x, p.y)
        return {
            "distance_m": round(along, 1),
            "arrival_s": round(t, 1),
            "arrival_text": duration_text(t),
            "lon": round(lon, 6),
            "lat": round(lat, 6),
        }

    settlements = store.to_geodataframe("settlements").to_crs(dem_crs)
    hit = (
        settlements[shapely.intersects(corridor, settlements.geometry.to_numpy())] if len(settlements) else settlements
    )
    s_out = [
        {
            "id": int(r.id),
            "name": r.name,
            "kind_label": enum_label("settlement_kind", r.kind),
            "population": None if finite(r.population) is None else int(r.population),
            **entry(r.geometry),
        }
        for r in hit.itertuples(index=False)
    ]
    protected = data.protected.to_crs(dem_crs)
    hit = protected[shapely.intersects(corridor, protected.geometry.to_numpy())] if len(protected) else protected
    t_out = [
        {
            "id": int(r.id),
            "name": r.name,
            "category_label": enum_label("target_category", r.category),
            "population": None if finite(r.population) is None else int(r.population),
            **entry(r.geometry),
        }
        for r in hit.itertuples(index=False)
    ]
    roads = data.targets[data.targets["layer"] == "roads"].to_crs(dem_crs)
    # A road is stored as many segments: one entry per named road (name, ref), its parts merged.
    parts: dict[tuple[str, str], dict[str, Any]] = {}
    if len(roads):
        inside = shapely.intersection(roads.geometry.to_numpy(), corridor)
        for r, part in zip(roads.itertuples(index=False), inside, strict=True):
            if part is None or part.is_empty or part.length <= 0:
                continue
            ref = r.ref if isinstance(r.ref, str) and r.ref else None
            key = (str(r.name), ref or "")
            hit_road = parts.setdefault(
                key,
                {
                    "ids": [],
                    "name": r.name,
                    "ref": ref,
                    "road_class_label": enum_label("road_class", r.road_class),
                    "geoms": [],
                },
            )
            hit_road["ids"].append(int(r.id))
            hit_road["geoms"].append(part)
    r_out = []
    for road in parts.values():
        merged = shapely.union_all(road.pop("geoms"))
        r_out.append({**road, "length_inside_m": round(float(merged.length), 1), **entry(merged)})
    return {
        "settlements": sorted(s_out, key=lambda x: x["distance_m"]),
        "targets": sorted(t_out, key=lambda x: x["distance_m"]),
        "roads": sorted(r_out, key=lambda x: x["distance_m"]),
    }


def summary_text(result: dict[str, Any]) -> str:
    """The breach analysis as Chinese text (CLI, reports)."""
    pond, run, path = result["pond"], result["runout"], result["path"]["properties"]
    lines = [
        f"{pond['name']}溃坝分析（坝高 {pond['dam_height_m']:g} m，"
        f"尾矿库存量 {pond['tailings_volume_m3'] / 1e4:.0f} 万m³）",
        f"溃口：{result['breach']['origin_label']}，经度 {result['breach']['lon']}，纬度 {result['breach']['lat']}，"
        f"高程 {result['breach']['height_m']} m",
        f"下泄量 {run['released_m3'] / 1e4:.1f} 万m³，经验冲出距离 {distance_text(run['runout_m'])}；"
        f"流路长 {distance_text(path['length_m'])}（{path['end_label']}），"
        f"前锋到达末端约 {duration_text(path['arrival_end_s'])}",
        f"淹没范围 {result['corridor']['properties']['area_m2'] / 1e6:.2f} km²",
        f"依据：{run['relation']}；{run['scatter']}",
        f"到达时间：{result['front']['method']}",
    ]
    for title, key in (("居民点", "settlements"), ("防护目标", "targets")):
        items = result[key]
        lines.append(f"{title} {len(items)} 处：" if items else f"{title}：无")
        for s in items:
            people = f"，{s['population']} 人" if s["population"] is not None else ""
            lines.append(
                f"  {s['name']}：距溃口 {distance_text(s['distance_m'])}{people}，约 {s['arrival_text']} 后到达"
            )
    lines.append(f"道路 {len(result['roads'])} 条：" if result["roads"] else "道路：无")
    for r in result["roads"]:
        ref = f"（{r['ref']}）" if r["ref"] else ""
        lines.append(
            f"  {r['name']}{ref}：淹没段 {distance_text(r['length_inside_m'])}，"
            f"距溃口 {distance_text(r['distance_m'])}，约 {r['arrival_text']} 后到达"
        )
    lines.extend(f"注意：{w}" for w in result["warnings"])
    return "\n".join(lines)
