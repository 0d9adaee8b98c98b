"""Safety distances for planners: ``/api/safety/*`` (separation audit, GB 18218, consequences, risk, site check).

Also keeps the stored GB 18218 fields current: after a successful write to hazard
sources, protected targets or the GB 18218 tables through the layer API (create, edit,
delete, import), :class:`RecomputeGrades` recomputes S, R, grade and exposed population
of every hazard source before the response is released, so the next read sees them.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Literal

import orjson
import shapely
from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from shapely.geometry import shape
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safemap.api.http.auth import require_role
from safemap.api.http.errors import ApiError
from safemap.api.http.params import json_body, parse_bbox
from safemap.api.reports import safety as safety_report
from safemap.api.services import consequence as safety_consequence
from safemap.api.services import risk_raster as safety_raster
from safemap.api.services import safety as safety_service
from safemap.api.services.site_check import site_check
from safemap.gis.individual_risk import Weather, fn_curve
from safemap.gis.site_check import SITE_KINDS
from safemap.layers.errors import Problem
from safemap.layers.store import Actor, FeatureStore
from safemap.layers.validation import describe_error

log = logging.getLogger(__name__)
GEOJSON = "application/geo+json"
TAGS = ["安全间距与风险"]
#: Layer-API paths whose writes change GB 18218 inputs.
GRADING_INPUTS = ("hazard_sources", "protected_targets", "gb18218_substances", "gb18218_classes")


def _store(request: Request) -> FeatureStore:
    return request.app.state.store


def _json(body: Any, status: int = 200, media: str = "application/json") -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY, default=_default), status_code=status, media_type=media
    )


def _default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    raise TypeError(type(value).__name__)


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid", f"{field}: {message}", [Problem(field, message)])


def _model(cls: type[BaseModel], body: Any) -> Any:
    try:
        return cls.model_validate(body)
    except ValidationError as exc:
        problems = [
            Problem(".".join(str(p) for p in e["loc"]) or "body", describe_error(e)) for e in exc.errors()
        ]
        raise ApiError(422, "invalid", f"{problems[0].field}: {problems[0].message}", problems) from None


def _geometry(request: Request, value: Any, field: str = "geometry", allowed: tuple[str, ...] = ()) -> Any:
    try:
        geom = shape(value)
    except Exception:
        raise _invalid(field, "不是有效的 GeoJSON 几何") from None
    if allowed and geom.geom_type not in allowed:
        raise _invalid(field, f"几何类型应为 {'、'.join(allowed)}，收到 {geom.geom_type}")
    if geom.is_empty or not geom.is_valid:
        raise _invalid(field, f"几何无效：{shapely.is_valid_reason(geom)}")
    x0, y0, x1, y1 = request.app.state.settings.extent
    b = geom.bounds
    if b[0] < x0 or b[2] > x1 or b[1] < y0 or b[3] > y1:
        raise _invalid(field, f"超出服务范围（经度 {x0}–{x1}，纬度 {y0}–{y1}）")
    return geom


class SubstanceIn(BaseModel):
    """One substance of a GB 18218 unit."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=100)
    cas: str | None = Field(None, max_length=20)
    hazard_class: str | None = Field(None, max_length=40, description="GB 18218 表2类别，如 W5.4；多个用逗号分隔")
    quantity_t: float = Field(ge=0, le=1e7, description="设计最大量 t")


class MajorHazardIn(BaseModel):
    """``POST /api/safety/major-hazard``."""

    model_config = ConfigDict(extra="forbid")
    substances: list[SubstanceIn] = Field(min_length=1, max_length=200)
    exposed_population: int | None = Field(None, ge=0, le=10_000_000)
    geometry: dict[str, Any] | None = None


class SiteIn(BaseModel):
    """``POST /api/safety/site-check``."""

    model_config = ConfigDict(extra="forbid")
    geometry: dict[str, Any]
    kind: Literal[tuple(SITE_KINDS)]  # type: ignore[valid-type]
    name: str | None = Field(None, max_length=100)
    properties: dict[str, Any] = Field(default_factory=dict)
    vicinity_m: float = Field(1000.0, ge=0, le=20_000)


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
                raise _invalid(where, f"应为 {lo:g}–{hi:g} 之间的数")
            out[key] = float(value)
        elif key in SITE_TEXT:
            if not isinstance(value, str) or len(value) > 50:
                raise _invalid(where, "应为文字代码")
            out[key] = value
        elif key == "substances":
            out[key] = [s.model_dump() for s in _model(MajorHazardIn, {"substances": value}).substances]
        else:
            raise _invalid(where, "不认识的属性")
    return out


def _weather(stability: str, wind: float) -> tuple[Weather, ...]:
    return (Weather(stability, wind, 1.0),)


def install(app: FastAPI) -> None:
    """Register the ``/api/safety`` routes and the GB 18218 recompute hook."""
    app.add_middleware(RecomputeGrades)

    @app.get("/api/safety/violations", tags=TAGS, summary="安全间距违规清单（GeoJSON 连线或 CSV）")
    async def violations(request: Request, format: Literal["geojson", "csv"] = Query("geojson")) -> Response:
        frame = await run_in_threadpool(safety_service.violations, _store(request))
        features = _features(frame)
        if format == "csv":
            return Response(
                safety_report.checks_csv(features),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="violations.csv"'},
            )
        return _json({"type": "FeatureCollection", "numberMatched": len(features), "features": features}, media=GEOJSON)

    @app.post("/api/safety/major-hazard", tags=TAGS, summary="重大危险源辨识与分级（GB 18218-2018）")
    async def major_hazard(request: Request) -> Response:
        body = _model(MajorHazardIn, await json_body(request))
        if body.exposed_population is None and body.geometry is None:
            raise _invalid("exposed_population", "请给出 exposed_population（500 m 内人数）或 geometry（由地图计算）")
        geom = None if body.geometry is None else _geometry(request, body.geometry)
        subs = [s.model_dump() for s in body.substances]
        for i, s in enumerate(subs):
            if not (s["name"] or s["cas"]):
                raise _invalid(f"substances.{i}.name", "请给出物质名称或 CAS 号")
        grading, _people = await run_in_threadpool(
            safety_service.grade_request, _store(request), subs, body.exposed_population, geom
        )
        return _json(
            {
                **grading.as_dict(),
                "population_source": "request"
                if body.exposed_population is not None
                else "map: protected targets within 500 m",
            }
        )

    @app.post("/api/safety/recompute-grades", tags=TAGS, summary="重新计算全部危险源的 S、R、等级")
    async def recompute(request: Request) -> Response:
        actor = require_role(request, "planner", "admin")
        return _json(await run_in_threadpool(safety_service.recompute_grades, _store(request), actor))

    @app.post("/api/safety/consequence", tags=TAGS, summary="事故后果模型（vce、bleve、pool_fire、gaussian_plume）")
    async def consequence(request: Request) -> Response:
        req = safety_consequence.parse(await json_body(request))
        data = await run_in_threadpool(safety_service.load, _store(request))
        extent = request.app.state.settings.extent
        return _json(await run_in_threadpool(safety_consequence.compute, data, req, extent))

    async def _risk(request: Request, bbox: str | None, cell_m: float, stability: str, wind: float) -> Any:
        box = parse_bbox(bbox)
        try:
            return await run_in_threadpool(
                safety_service.risk, _store(request), bbox=box, cell_m=cell_m, weather=_weather(stability, wind)
            )
        except ValueError as exc:
            raise _invalid("cell_m", f"{exc}（请缩小 bbox 或增大 cell_m）") from None
        except LookupError as exc:
            raise ApiError(404, "not_found", str(exc)) from None

    risk_params = {
        "bbox": Query(None, description="最小经度,最小纬度,最大经度,最大纬度；默认为全部场景影响范围"),
        "cell_m": Query(10.0, ge=2, le=200, description="网格边长 m"),
        "stability": Query("D", pattern="^[A-F]$", description="大气稳定度 A–F"),
        "wind_m_s": Query(3.0, ge=0.5, le=30, description="风速 m/s"),
    }

    @app.get(
        "/api/safety/risk-raster",
        tags=TAGS,
        summary="个人风险栅格（GeoTIFF，UTM 投影，单位 /a）",
        response_class=Response,
    )
    async def risk_raster(
        request: Request,
        bbox: str | None = risk_params["bbox"],
        cell_m: float = risk_params["cell_m"],
        stability: str = risk_params["stability"],
        wind_m_s: float = risk_params["wind_m_s"],
        format: Literal["tiff", "png", "contours"] = Query(
            "tiff", description="tiff；png（叠加图，JSON）；contours（GeoJSON）"
        ),
    ) -> Response:
        result = await _risk(request, bbox, cell_m, stability, wind_m_s)
        if format == "png":
            return _json(await run_in_threadpool(safety_raster.overlay, result))
        if format == "contours":
            return _json(await run_in_threadpool(safety_raster.contours_geojson, result), media=GEOJSON)
        data = await run_in_threadpool(safety_raster.geotiff_bytes, result)
        return Response(
            data, media_type="image/tiff", headers={"Content-Disposition": 'attachment; filename="individual_risk.tif"'}
        )

    @app.get("/api/safety/risk-contours", tags=TAGS, summary="个人风险等值线（GB 36894 基准值，GeoJSON）")
    async def risk_contours(
        request: Request,
        bbox: str | None = risk_params["bbox"],
        cell_m: float = risk_params["cell_m"],
        stability: str = risk_params["stability"],
        wind_m_s: float = risk_params["wind_m_s"],
    ) -> Response:
        result = await _risk(request, bbox, cell_m, stability, wind_m_s)
        return _json(await run_in_threadpool(safety_raster.contours_geojson, result), media=GEOJSON)

    @app.get("/api/safety/risk-targets", tags=TAGS, summary="防护目标个人风险与 GB 36894 基准比较")
    async def risk_targets(
        request: Request,
        only_exceeding: bool = Query(False),
        stability: str = risk_params["stability"],
        wind_m_s: float = risk_params["wind_m_s"],
    ) -> Response:
        store = _store(request)
        data = await run_in_threadpool(safety_service.load, store)
        scenarios = await run_in_threadpool(safety_service.stored_scenarios, data, _weather(stability, wind_m_s))
        frame = await run_in_threadpool(safety_service.risk_targets, data, scenarios)
        if only_exceeding and len(frame):
            frame = frame[frame["exceeds"]]
        return _json({"scenarios": len(scenarios), "targets": frame.to_dict("records")})

    @app.get("/api/safety/fn-curve", tags=TAGS, summary="社会风险 F–N 曲线（SVG 图或 JSON）", response_class=Response)
    async def fn(
        request: Request,
        format: Literal["svg", "json"] = Query("svg"),
        stability: str = risk_params["stability"],
        wind_m_s: float = risk_params["wind_m_s"],
    ) -> Response:
        data = await run_in_threadpool(safety_service.load, _store(request))
        scenarios = await run_in_threadpool(safety_service.stored_scenarios, data, _weather(stability, wind_m_s))
        protected = data.protected
        result = await run_in_threadpool(
            fn_curve, scenarios, protected.geometry.to_numpy(), protected["population"].to_numpy(dtype=float)
        )
        if format == "json":
            return _json({k: v for k, v in result.items() if k != "outcomes"} | {"outcomes": len(result["outcomes"])})
        svg = await run_in_threadpool(safety_report.fn_svg, result["curve"])
        return Response(svg, media_type="image/svg+xml")

    @app.get("/api/safety/site-kinds", tags=TAGS, summary="可核查的拟建场所类型")
    async def site_kinds() -> dict[str, Any]:
        return {
            "kinds": [
                {"code": k.code, "label": k.label, "role": k.role, "defaults": dict(k.defaults)}
                for k in SITE_KINDS.values()
            ]
        }

    async def _site(request: Request) -> tuple[dict[str, Any], Any]:
        body = _model(SiteIn, await json_body(request))
        geom = _geometry(request, body.geometry, allowed=("Point", "Polygon", "MultiPolygon"))
        overrides = _site_properties(body.properties)
        data = await run_in_threadpool(safety_service.load, _store(request))
        result = await run_in_threadpool(
            lambda: site_check(data, geom, body.kind, name=body.name, overrides=overrides, vicinity_m=body.vicinity_m)
        )
        return result, data

    @app.post("/api/safety/site-check", tags=TAGS, summary="拟建场所选址核查：全部适用规则、后果影响区、个人风险")
    async def site(request: Request) -> Response:
        result, _ = await _site(request)
        return _json(result)

    @app.post(
        "/api/safety/site-check/report",
        tags=TAGS,
        summary="选址核查报告（HTML 含地图、CSV、GeoJSON）",
        response_class=Response,
    )
    async def site_report(request: Request, format: Literal["html", "csv", "geojson"] = Query("html")) -> Response:
        result, data = await _site(request)
        if format == "csv":
            return Response(
                safety_report.checks_csv(result["checks"]["features"]),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="site_check.csv"'},
            )
        if format == "geojson":
            return _json(safety_report.report_geojson(result), media=GEOJSON)
        return HTMLResponse(await run_in_threadpool(safety_report.site_report_html, result, data.crs))

    @app.get("/api/safety/hazard-grades", tags=TAGS, summary="危险源重大危险源等级（地图图例用）")
    async def hazard_grades(request: Request) -> Response:
        data = await run_in_threadpool(safety_service.load, _store(request))
        h = data.hazards.to_crs(4326)
        rows = []
        for r in h.itertuples(index=False):
            c = r.geometry.representative_point()
            rows.append(
                {
                    "id": r.id,
                    "name": r.name,
                    "enterprise": r.enterprise_name,
                    "kind": r.kind,
                    "s_value": r.s_value,
                    "r_value": r.r_value,
                    "grade": r.grade,
                    "exposed_population": r.exposed_population,
                    "lon": c.x,
                    "lat": c.y,
                }
            )
        return _json({"hazards": rows})


def _features(frame: Any) -> list[dict[str, Any]]:
    out = []
    for row, geom in zip(frame.drop(columns="geometry").to_dict("records"), frame.geometry, strict=True):
        out.append({"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": row})
    return out


class RecomputeGrades:
    """ASGI middleware: after a successful write that changes GB 18218 inputs, recompute the grades.

    The response is held until the recompute has finished, so a client that reads right
    after its write sees the new S, R and grade. The write's own response body shows the
    feature as written (computed fields as they were before the recompute).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    def _watched(scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PATCH", "PUT", "DELETE"):
            return False
        path = scope["path"]
        return any(path == f"/api/layers/{n}" or path.startswith(f"/api/layers/{n}/") for n in GRADING_INPUTS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; recompute between the handler and the response when needed."""
        if not self._watched(scope):
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        status = next((m["status"] for m in held if m["type"] == "http.response.start"), 500)
        if status < 300 and not scope["path"].endswith("/validate"):
            app = scope.get("app")
            store = getattr(getattr(app, "state", None), "store", None)
            if store is not None and "dry_run" not in scope.get("query_string", b"").decode():
                try:
                    await run_in_threadpool(safety_service.recompute_grades, store, Actor("system:gb18218", "admin"))
                except Exception:  # the write succeeded; a failed recompute must not turn it into an error
                    log.exception("GB 18218 recompute after a write failed")
        for m in held:
            await send(m)
