"""Safety distances for planners: ``/api/safety/*`` (separation audit, GB 18218, consequences, risk, site check).

The stored GB 18218 fields (S, R, grade, exposed population) are kept current by the
service layer on every write (:mod:`safemap.api.services.editing`), not here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import shapely
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from shapely.geometry import shape
from starlette.responses import HTMLResponse, Response

from safemap.api.http.auth import require_role
from safemap.api.http.deps import get_settings, get_store
from safemap.api.http.errors import ApiError
from safemap.api.http.models.safety import ConsequenceIn, MajorHazardIn, SiteIn, parse_consequence, validated
from safemap.api.http.openapi import GeoJSONResponse, also, request_body
from safemap.api.http.params import json_body, parse_bbox
from safemap.api.http.responses import json_response
from safemap.api.reports import safety as safety_report
from safemap.api.services import consequence as safety_consequence
from safemap.api.services import region_analysis
from safemap.api.services import risk_raster as safety_raster
from safemap.api.services import safety as safety_service
from safemap.api.services.labels import content_disposition, export_filename, number_text
from safemap.api.services.problems import invalid
from safemap.api.services.site_check import site_check
from safemap.api.services.wind import prevailing_wind
from safemap.api.settings import Settings
from safemap.gis.individual_risk import Weather, fn_curve
from safemap.gis.site_check import SITE_KINDS
from safemap.layers.store import FeatureStore

GEOJSON = "application/geo+json"
TAGS = ["安全间距与风险"]

router = APIRouter(tags=TAGS)


def _geometry(
    extent: tuple[float, float, float, float], value: Any, field: str = "geometry", allowed: tuple[str, ...] = ()
) -> Any:
    try:
        geom = shape(value)
    except Exception:
        raise invalid(field, "不是有效的 GeoJSON 几何") from None
    if allowed and geom.geom_type not in allowed:
        raise invalid(field, f"几何类型应为 {'、'.join(allowed)}，收到 {geom.geom_type}")
    if geom.is_empty or not geom.is_valid:
        raise invalid(field, f"几何无效：{shapely.is_valid_reason(geom)}")
    x0, y0, x1, y1 = extent
    b = geom.bounds
    if b[0] < x0 or b[2] > x1 or b[1] < y0 or b[3] > y1:
        raise invalid(field, f"超出服务范围（经度 {x0}–{x1}，纬度 {y0}–{y1}）")
    return geom


SITE_PROPERTIES = {
    "population": (0, 1e6),
    "gasoline_m3": (0, 1000),
    "diesel_m3": (0, 1000),
    "max_tank_m3": (0, 1e5),
    "volume_m3": (0, 1e6),
    "single_tank_m3": (0, 1e5),
    "tnt_kg": (0, 1e7),
}
SITE_TEXT = {"gb50156_class", "gb36894_class", "vapour_recovery", "category", "liquid"}


def _site_properties(props: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in props.items():
        where = f"properties.{key}"
        if key in SITE_PROPERTIES:
            lo, hi = SITE_PROPERTIES[key]
            if not isinstance(value, int | float) or isinstance(value, bool) or not lo <= value <= hi:
                raise invalid(where, f"应为 {number_text(lo)}–{number_text(hi)} 之间的数")
            out[key] = float(value)
        elif key in SITE_TEXT:
            if not isinstance(value, str) or len(value) > 50:
                raise invalid(where, "应为文字代码")
            out[key] = value
        elif key == "substances":
            out[key] = [s.model_dump() for s in validated(MajorHazardIn, {"substances": value}).substances]
        else:
            raise invalid(where, "不认识的属性")
    return out


def _dated_file(stem: str, code_stem: str, store: FeatureStore) -> str:
    """``attachment`` naming ``选址核查_20261201.csv`` (the code stem as the ASCII fallback)."""
    day = dt.datetime.now(store.tz).date()
    name, fallback = export_filename(stem, "csv", day=day), export_filename(code_stem, "csv", day=day)
    return content_disposition(name, fallback=fallback)


def _weather(stability: str, wind: float) -> tuple[Weather, ...]:
    return (Weather(stability, wind, 1.0),)


RISK_PARAMS = {
    "bbox": Query(None, description="最小经度,最小纬度,最大经度,最大纬度；默认为全部场景影响范围"),
    "cell_m": Query(10.0, ge=2, le=200, description="网格边长 m"),
    "stability": Query("D", pattern="^[A-F]$", description="大气稳定度 A–F"),
    "wind_m_s": Query(3.0, ge=0.5, le=30, description="风速 m/s"),
}


@router.get(
    "/api/safety/violations",
    summary="安全间距违规清单（GeoJSON 连线或 CSV）",
    response_class=GeoJSONResponse,
    responses=also("text/csv; charset=utf-8"),
)
async def violations(
    format: Literal["geojson", "csv"] = Query("geojson"),
    store: FeatureStore = Depends(get_store),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Every separation-rule pair 不符合 or 无法核查, as lines between the pair (GeoJSON) or a CSV table.

    The GeoJSON also carries ``summary`` (counts per verdict) and ``issues``: the
    source-level findings that cannot be checked (an ungradable fuel station, a rule whose
    targets have no map layer …), each with its reason.
    """
    # With SAFEMAP_DASK_SCHEDULER set, the same audit runs partitioned on the Dask cluster.
    scheduler = settings.dask_scheduler
    frame = await run_in_threadpool(region_analysis.violations, store, scheduler)
    features = safety_service.geojson_features(frame)
    if format == "csv":
        return Response(
            safety_report.checks_csv(features),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": _dated_file("安全间距违规清单", "violations", store)},
        )
    summary = await run_in_threadpool(region_analysis.audit_summary, store, scheduler)
    issues = await run_in_threadpool(region_analysis.separation_issues, store, scheduler)
    body = {
        "type": "FeatureCollection",
        "numberMatched": len(features),
        "summary": summary,
        "issues": issues,
        "features": features,
    }
    return json_response(body, media=GEOJSON)


@router.post(
    "/api/safety/major-hazard",
    summary="重大危险源辨识与分级（GB 18218-2018）",
    openapi_extra=request_body(MajorHazardIn),
)
async def major_hazard(
    request: Request, store: FeatureStore = Depends(get_store), settings: Settings = Depends(get_settings)
) -> Response:
    """GB 18218 identification and grade of a unit described in the body."""
    body = validated(MajorHazardIn, await json_body(request))
    if body.exposed_population is None and body.geometry is None:
        raise invalid("exposed_population", "请给出 exposed_population（500 m 内人数）或 geometry（由地图计算）")
    geom = None if body.geometry is None else _geometry(settings.extent, body.geometry)
    subs = [s.model_dump() for s in body.substances]
    for i, s in enumerate(subs):
        if not (s["name"] or s["cas"]):
            raise invalid(f"substances.{i}.name", "请给出物质名称或 CAS 号")
    grading, _people = await run_in_threadpool(safety_service.grade_request, store, subs, body.exposed_population, geom)
    return json_response(
        {
            **grading.as_dict(),
            "population_source": "request"
            if body.exposed_population is not None
            else "map: protected targets within 500 m",
        }
    )


@router.post("/api/safety/recompute-grades", summary="重新计算全部危险源的 S、R、等级")
async def recompute(request: Request, store: FeatureStore = Depends(get_store)) -> Response:
    """Recompute S, R, grade and exposed population of every hazard source."""
    actor = require_role(request, "planner", "admin")
    return json_response(await run_in_threadpool(safety_service.recompute_grades, store, actor))


@router.post(
    "/api/safety/consequence",
    summary="事故后果模型（vce、bleve、pool_fire、gaussian_plume）",
    openapi_extra=request_body(ConsequenceIn),
)
async def consequence(
    request: Request, store: FeatureStore = Depends(get_store), settings: Settings = Depends(get_settings)
) -> Response:
    """Zones of a consequence model at a point, with the people inside each."""
    req = parse_consequence(await json_body(request))
    return json_response(await run_in_threadpool(safety_consequence.run, store, req, settings.extent))


async def _risk(
    store: FeatureStore, bbox: str | None, cell_m: float, stability: str, wind: float, scheduler: str | None = None
) -> Any:
    box = parse_bbox(bbox)
    try:
        # With SAFEMAP_DASK_SCHEDULER set, the grid is computed in strips on the Dask cluster.
        return await run_in_threadpool(
            lambda: region_analysis.risk(store, scheduler, bbox=box, cell_m=cell_m, weather=_weather(stability, wind))
        )
    except ValueError as exc:
        raise invalid("cell_m", f"{exc}（请缩小 bbox 或增大 cell_m）") from None
    except LookupError as exc:
        raise ApiError(404, "not_found", str(exc)) from None


@router.get(
    "/api/safety/risk-raster",
    summary="个人风险栅格（GeoTIFF，UTM 投影，单位 /a）",
    response_class=Response,
    responses=also("image/tiff", "application/json", GEOJSON),
)
async def risk_raster(
    bbox: str | None = RISK_PARAMS["bbox"],
    cell_m: float = RISK_PARAMS["cell_m"],
    stability: str = RISK_PARAMS["stability"],
    wind_m_s: float = RISK_PARAMS["wind_m_s"],
    format: Literal["tiff", "png", "contours"] = Query(
        "tiff", description="tiff；png（叠加图，JSON）；contours（GeoJSON）"
    ),
    store: FeatureStore = Depends(get_store),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Individual risk on a grid: GeoTIFF, a PNG overlay (JSON) or contours (GeoJSON)."""
    result = await _risk(store, bbox, cell_m, stability, wind_m_s, settings.dask_scheduler)
    if format == "png":
        return json_response(await run_in_threadpool(safety_raster.overlay, result))
    if format == "contours":
        return json_response(await run_in_threadpool(safety_raster.contours_geojson, result), media=GEOJSON)
    data = await run_in_threadpool(safety_raster.geotiff_bytes, result)
    return Response(
        data, media_type="image/tiff", headers={"Content-Disposition": 'attachment; filename="individual_risk.tif"'}
    )


@router.get(
    "/api/safety/risk-contours", summary="个人风险等值线（GB 36894 基准值，GeoJSON）", response_class=GeoJSONResponse
)
async def risk_contours(
    bbox: str | None = RISK_PARAMS["bbox"],
    cell_m: float = RISK_PARAMS["cell_m"],
    stability: str = RISK_PARAMS["stability"],
    wind_m_s: float = RISK_PARAMS["wind_m_s"],
    store: FeatureStore = Depends(get_store),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Individual-risk contours at the GB 36894 limits (GeoJSON)."""
    result = await _risk(store, bbox, cell_m, stability, wind_m_s, settings.dask_scheduler)
    return json_response(await run_in_threadpool(safety_raster.contours_geojson, result), media=GEOJSON)


@router.get("/api/safety/risk-targets", summary="防护目标个人风险与 GB 36894 基准比较")
async def risk_targets(
    only_exceeding: bool = Query(False),
    stability: str = RISK_PARAMS["stability"],
    wind_m_s: float = RISK_PARAMS["wind_m_s"],
    store: FeatureStore = Depends(get_store),
) -> Response:
    """Individual risk at each protected target compared with its GB 36894 limit."""
    data = await run_in_threadpool(safety_service.load, store)
    scenarios = await run_in_threadpool(safety_service.stored_scenarios, data, _weather(stability, wind_m_s))
    frame = await run_in_threadpool(safety_service.risk_targets, data, scenarios)
    if only_exceeding and len(frame):
        frame = frame[frame["exceeds"]]
    return json_response({"scenarios": len(scenarios), "targets": frame.to_dict("records")})


@router.get(
    "/api/safety/fn-curve",
    summary="社会风险 F–N 曲线（SVG 图或 JSON）",
    response_class=Response,
    responses=also("image/svg+xml", "application/json"),
)
async def fn(
    format: Literal["svg", "json"] = Query("svg"),
    stability: str = RISK_PARAMS["stability"],
    wind_m_s: float = RISK_PARAMS["wind_m_s"],
    store: FeatureStore = Depends(get_store),
) -> Response:
    """Societal risk as an F–N curve (SVG chart or JSON)."""
    data = await run_in_threadpool(safety_service.load, store)
    scenarios = await run_in_threadpool(safety_service.stored_scenarios, data, _weather(stability, wind_m_s))
    protected = data.protected
    result = await run_in_threadpool(
        fn_curve, scenarios, protected.geometry.to_numpy(), protected["population"].to_numpy(dtype=float)
    )
    if format == "json":
        return json_response(
            {k: v for k, v in result.items() if k != "outcomes"} | {"outcomes": len(result["outcomes"])}
        )
    svg = await run_in_threadpool(safety_report.fn_svg, result["curve"])
    return Response(svg, media_type="image/svg+xml")


@router.get("/api/safety/site-kinds", summary="可核查的拟建场所类型")
async def site_kinds() -> dict[str, Any]:
    """The kinds of proposed site that can be checked, with their default properties."""
    return {
        "kinds": [
            {"code": k.code, "label": k.label, "role": k.role, "defaults": dict(k.defaults)}
            for k in SITE_KINDS.values()
        ]
    }


async def _site(request: Request, store: FeatureStore, settings: Settings) -> tuple[dict[str, Any], Any]:
    body = validated(SiteIn, await json_body(request))
    geom = _geometry(settings.extent, body.geometry, allowed=("Point", "Polygon", "MultiPolygon"))
    overrides = _site_properties(body.properties)
    data = await run_in_threadpool(safety_service.load, store)
    wind = await run_in_threadpool(prevailing_wind, store) if body.kind == "fire_station" else None
    result = await run_in_threadpool(
        lambda: site_check(
            data, geom, body.kind, name=body.name, overrides=overrides, vicinity_m=body.vicinity_m, wind=wind
        )
    )
    return result, data


@router.post(
    "/api/safety/site-check",
    summary="拟建场所选址核查：全部适用规则、后果影响区、个人风险",
    openapi_extra=request_body(SiteIn),
)
async def site(
    request: Request, store: FeatureStore = Depends(get_store), settings: Settings = Depends(get_settings)
) -> Response:
    """Every rule, consequence zone and individual risk that applies to a proposed site."""
    result, _ = await _site(request, store, settings)
    return json_response(result)


@router.post(
    "/api/safety/site-check/report",
    summary="选址核查报告（HTML 含地图、CSV、GeoJSON）",
    response_class=Response,
    openapi_extra=request_body(SiteIn),
    responses=also("text/html", "text/csv; charset=utf-8", GEOJSON),
)
async def site_report(
    request: Request,
    format: Literal["html", "csv", "geojson"] = Query("html"),
    store: FeatureStore = Depends(get_store),
    settings: Settings = Depends(get_settings),
) -> Response:
    """The site check as a printable report (HTML with map), CSV or GeoJSON."""
    result, data = await _site(request, store, settings)
    if format == "csv":
        return Response(
            safety_report.checks_csv(result["checks"]["features"]),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": _dated_file("选址核查", "site_check", store)},
        )
    if format == "geojson":
        return json_response(safety_report.report_geojson(result), media=GEOJSON)
    return HTMLResponse(await run_in_threadpool(safety_report.site_report_html, result, data.crs, None, store.tz))


@router.get("/api/safety/hazard-grades", summary="危险源与危险化学品单元的重大危险源等级（地图图例用）")
async def hazard_grades(store: FeatureStore = Depends(get_store)) -> Response:
    """S, R, grade and exposed population of every hazard source and GB 18218 unit, with a point for the legend.

    A source in a unit (``unit_id``) carries its unit's values; ``units`` lists the units
    with their members.
    """
    data = await run_in_threadpool(safety_service.load, store)
    h = data.hazards.to_crs(4326)
    units = data.units.to_crs(4326) if data.units is not None else None
    unit_names = {} if units is None else dict(zip(units["id"], units["name"], strict=True))
    rows = []
    members: dict[int, list[int]] = {}
    for r in h.itertuples(index=False):
        c = r.geometry.representative_point()
        unit_id = None if r.unit_id is None or r.unit_id != r.unit_id else int(r.unit_id)
        if unit_id is not None:
            members.setdefault(unit_id, []).append(int(r.id))
        rows.append(
            {
                "id": r.id,
                "name": r.name,
                "enterprise": r.enterprise_name,
                "kind": r.kind,
                "unit_id": unit_id,
                "unit_name": unit_names.get(unit_id),
                "s_value": r.s_value,
                "r_value": r.r_value,
                "grade": r.grade,
                "exposed_population": r.exposed_population,
                "lon": c.x,
                "lat": c.y,
            }
        )
    unit_rows = []
    for u in [] if units is None else units.itertuples(index=False):
        c = u.geometry.representative_point()
        unit_rows.append(
            {
                "id": u.id,
                "name": u.name,
                "unit_kind": u.unit_kind,
                "enterprise_id": u.enterprise_id,
                "member_ids": members.get(int(u.id), []),
                "s_value": u.s_value,
                "r_value": u.r_value,
                "grade": u.grade,
                "exposed_population": u.exposed_population,
                "lon": c.x,
                "lat": c.y,
            }
        )
    return json_response({"hazards": rows, "units": unit_rows})
