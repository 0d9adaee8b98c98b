"""园区整体性安全风险评估 (issue 18 item 2): ``/api/park/*``.

- ``GET /api/park/areas`` — the industrial parks (``admin_boundaries`` of level ``industrial_park``);
- ``POST /api/park/assessment`` — the assessment of an area (id or polygon) with an optional
  proposed unit, as JSON;
- ``POST /api/park/assessment/report.html|.pdf`` — the same body → the printable report (PDF by
  headless Chromium; 503 saying how to install it when missing).

Analyses only: nothing here writes to the store (a proposed unit is never stored), so, like
the safety routes, they are open to every signed-in user.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from shapely.geometry import shape
from starlette.responses import HTMLResponse, Response

from safemap.api.http.deps import get_settings, get_store
from safemap.api.http.errors import ApiError
from safemap.api.http.models.park import AssessmentIn
from safemap.api.http.models.safety import validated
from safemap.api.http.openapi import request_body
from safemap.api.http.params import json_body
from safemap.api.http.responses import json_response
from safemap.api.reports import park as park_report
from safemap.api.services import park_assessment
from safemap.api.services import safety as safety_service
from safemap.api.services.labels import content_disposition
from safemap.api.services.printing import PrintUnavailable
from safemap.api.services.problems import invalid
from safemap.api.settings import Settings
from safemap.gis.individual_risk import Weather
from safemap.layers.store import FeatureStore

router = APIRouter(tags=["园区与矿山"])


@router.get("/api/park/areas", summary="工业园区边界列表（整体评估的范围）")
async def get_areas(store: FeatureStore = Depends(get_store)) -> dict[str, Any]:
    """The industrial parks with their id, name, area (km²) and outline (GeoJSON geometry, lon/lat)."""
    return {"areas": await run_in_threadpool(park_assessment.areas, store)}


def _run(store: FeatureStore, settings: Settings, raw: Any) -> dict[str, Any]:
    body = validated(AssessmentIn, raw)
    polygon = None
    if body.area is not None:
        try:
            polygon = shape(body.area)
        except Exception:
            raise invalid("area", "不是有效的 GeoJSON 几何") from None
        x0, y0, x1, y1 = settings.extent
        b = polygon.bounds
        if polygon.is_empty or b[0] < x0 or b[2] > x1 or b[1] < y0 or b[3] > y1:
            raise invalid("area", f"超出服务范围（经度 {x0}–{x1}，纬度 {y0}–{y1}）")
    area = park_assessment.resolve_area(store, area_id=body.area_id, name=body.name, polygon=polygon)
    proposed = None
    if body.proposed is not None:
        proposed = park_assessment.parse_proposed(body.proposed.model_dump(), settings.extent)
    weather = (Weather(body.stability, body.wind_m_s, 1.0),)
    return park_assessment.assess(store, area, proposed=proposed, weather=weather)


@router.post(
    "/api/park/assessment",
    summary="园区整体性安全风险评估（个人风险、社会风险、多米诺效应、入园项目准入）",
    openapi_extra=request_body(AssessmentIn),
)
async def post_assessment(
    request: Request, store: FeatureStore = Depends(get_store), settings: Settings = Depends(get_settings)
) -> Response:
    """The assessment as JSON: ``summary`` (key figures and verdicts) and every section in full."""
    raw = await json_body(request)
    result = await run_in_threadpool(_run, store, settings, raw)
    return json_response({"summary": park_assessment.summary(result), **result})


def _html(store: FeatureStore, settings: Settings, raw: Any) -> tuple[str, str]:
    result = _run(store, settings, raw)
    crs = safety_service.load(store).crs
    return park_report.park_report_html(result, crs, None, store.tz), result["area"]["name"]


@router.post(
    "/api/park/assessment/report.html",
    summary="园区整体性安全风险评估报告（HTML，含地图与 F–N 曲线）",
    response_class=HTMLResponse,
    openapi_extra=request_body(AssessmentIn),
)
async def post_report_html(
    request: Request, store: FeatureStore = Depends(get_store), settings: Settings = Depends(get_settings)
) -> HTMLResponse:
    """The self-contained printable report (inline SVG, nothing fetched)."""
    raw = await json_body(request)
    html, _ = await run_in_threadpool(_html, store, settings, raw)
    return HTMLResponse(html)


@router.post(
    "/api/park/assessment/report.pdf",
    summary="园区整体性安全风险评估报告（PDF，A4）",
    openapi_extra=request_body(AssessmentIn),
    responses={200: {"content": {"application/pdf": {}}}, 503: {"description": "服务器未安装 Chromium（附安装方法）"}},
)
async def post_report_pdf(
    request: Request, store: FeatureStore = Depends(get_store), settings: Settings = Depends(get_settings)
) -> Response:
    """The same report printed by headless Chromium."""
    raw = await json_body(request)
    html, name = await run_in_threadpool(_html, store, settings, raw)
    try:
        pdf = await run_in_threadpool(park_report.report_pdf, html, settings.chromium_path)
    except PrintUnavailable as exc:
        raise ApiError(503, "print_unavailable", str(exc)) from None
    headers = {"Content-Disposition": content_disposition(f"园区整体评估_{name}.pdf", fallback="park_assessment.pdf")}
    return Response(pdf, media_type="application/pdf", headers=headers)
