"""Coverage of rescue forces and depots, location of new ones, and the fire-access review (issue 5).

- ``POST /api/coverage/service-areas`` — bands reached within 5/10/15/30 min (GeoJSON);
- ``GET /api/coverage/report`` — shares covered within the standard time, uncovered sites,
  per township, depot reach (``format=csv&table=…`` for spreadsheets);
- ``POST /api/coverage/locate`` — k new stations or depots by MCLP or p-center, before/after;
- ``GET /api/access/review`` — fire-access findings (JSON with GeoJSON findings; ``format=csv``
  for the findings table, ``format=html`` for the printable report).

Reads are open like the layer API; every parameter is checked and a bad one is answered
400/422 naming the field. Nothing here writes to the store.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import Field, StrictBool, field_validator
from starlette.responses import HTMLResponse, Response

from safemap.api.http.deps import coverage_store, get_settings
from safemap.api.http.models.base import BodyId, Float, Int, RequestModel, Text
from safemap.api.http.openapi import also
from safemap.api.http.params import bad
from safemap.api.reports import access as access_report
from safemap.api.services import access_review, coverage_report
from safemap.api.services import coverage as svc
from safemap.api.services import locate as coverage_locate
from safemap.api.services.labels import content_disposition, export_filename
from safemap.api.settings import Settings
from safemap.layers.enums import DEPOT_LEVEL, TEAM_KIND, VEHICLE_PROFILE
from safemap.layers.store import FeatureStore

Minutes = Annotated[Float, Field(gt=0, le=180)]
LonLat = tuple[Annotated[Float, Field(ge=-180, le=180)], Annotated[Float, Field(ge=-90, le=90)]]


def _kinds(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    bad = [k for k in value if k not in TEAM_KIND.codes]
    if bad:
        raise ValueError(f"未知队伍类型 {bad[0]!r}；可选：{TEAM_KIND.describe()}")
    return value


def _vehicle(value: str) -> str:
    if value not in VEHICLE_PROFILE.codes:
        raise ValueError(f"未知车辆类型 {value!r}；可选：{VEHICLE_PROFILE.describe()}")
    return value


class _ForceRequest(RequestModel):
    """Which teams count: their kinds and the vehicle they send (checked against the catalogue)."""

    @field_validator("kinds", check_fields=False)
    @classmethod
    def _check_kinds(cls, v: list[str] | None) -> list[str] | None:
        return _kinds(v)

    @field_validator("vehicle", check_fields=False)
    @classmethod
    def _check_vehicle(cls, v: str) -> str:
        return _vehicle(v)


class ServiceAreaRequest(_ForceRequest):
    """Body of ``POST /api/coverage/service-areas``."""

    layer: Literal["rescue_teams", "material_depots"] = "rescue_teams"
    kinds: list[str] | None = Field(default=list(svc.FIRE_KINDS), max_length=20, description="队伍类型（仅救援队伍）")
    vehicle: Text = Field(default="fire_engine", description="车辆类型：只计入配有该车辆的队伍，并按其尺寸、车速通行")
    thresholds_min: list[Minutes] = Field(default=[5, 10, 15, 30], min_length=1, max_length=8)
    ids: list[BodyId] | None = Field(default=None, max_length=1000, description="只计这些编号的队伍/储备库")
    levels: list[str] | None = Field(default=None, description="储备库级别（仅储备库）")
    only_available: StrictBool = False
    extra_points: list[LonLat] = Field(default=[], max_length=50, description="拟建点 [经度, 纬度]，与现有点一起计算")
    buffer_m: Float = Field(default=100.0, ge=10, le=1000)

    @field_validator("levels")
    @classmethod
    def _check_levels(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and any(x not in DEPOT_LEVEL.codes for x in v):
            raise ValueError(f"未知储备库级别；可选：{DEPOT_LEVEL.describe()}")
        return v


class Candidates(RequestModel):
    """Where new sites may go."""

    source: Literal["nodes", "grid", "list"] = "nodes"
    spacing_m: Float = Field(default=1000.0, ge=100, le=20_000, description="节点抽稀/网格间距")
    max: Int = Field(default=500, ge=1, le=1000)
    points: list[LonLat] = Field(default=[], max_length=1000)


class LocateRequest(_ForceRequest):
    """Body of ``POST /api/coverage/locate``."""

    problem: Literal["mclp", "pcenter"] = "mclp"
    k: Int = Field(default=1, ge=1, le=10)
    layer: Literal["rescue_teams", "material_depots"] = "rescue_teams"
    kinds: list[str] | None = Field(default=list(svc.FIRE_KINDS), max_length=20)
    vehicle: Text = "fire_engine"
    demand: Literal["population", "hazard_sources", "enterprises"] = "population"
    standard_min: Minutes | None = None
    turnout_s: Float | None = Field(default=None, ge=0, le=1800)
    candidates: Candidates = Candidates()
    time_limit_s: Float = Field(default=30.0, gt=0, le=120)


def _list(text: str | None, field: str, allowed: tuple[str, ...], describe: str) -> list[str] | None:
    if text is None or text == "":
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    for t in items:
        if t not in allowed:
            raise bad(field, f"未知取值 {t!r}；可选：{describe}")
    return items


def _in_extent(settings: Settings, points: list[tuple[float, float]], field: str) -> None:
    x0, y0, x1, y1 = settings.extent
    for i, (lon, lat) in enumerate(points):
        if not (x0 <= lon <= x1 and y0 <= lat <= y1):
            raise bad(f"{field}[{i}]", f"({lon}, {lat}) 不在服务范围 {x0},{y0},{x1},{y1} 内", 422)


router = APIRouter()


def _dated_file(stem: str, code_stem: str, store: FeatureStore, ext: str = "csv") -> str:
    """``attachment`` naming ``消防通道核查_20261201.csv`` (the code stem as the ASCII fallback)."""
    day = dt.datetime.now(store.tz).date()
    return content_disposition(export_filename(stem, ext, day=day), fallback=export_filename(code_stem, ext, day=day))


@router.post("/api/coverage/service-areas", tags=["覆盖分析"], summary="救援力量/储备库服务范围（等时圈）")
async def post_service_areas(
    body: ServiceAreaRequest,
    store: FeatureStore = Depends(coverage_store),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    """Bands reached within the thresholds from the chosen teams or depots (GeoJSON)."""
    _in_extent(settings, list(body.extra_points), "extra_points")
    return await run_in_threadpool(
        coverage_report.service_areas,
        store,
        layer=body.layer,
        kinds=body.kinds,
        vehicle=body.vehicle,
        thresholds_min=body.thresholds_min,
        ids=body.ids,
        levels=body.levels,
        only_available=body.only_available,
        extra_points=[list(p) for p in body.extra_points],
        buffer_m=body.buffer_m,
    )


@router.get(
    "/api/coverage/report",
    tags=["覆盖分析"],
    summary="覆盖率报告（标准时间内覆盖的企业、危险源、防护目标与人口）",
    responses=also("text/csv; charset=utf-8"),
)
async def get_report(
    vehicle: str = Query("fire_engine", description="车辆类型"),
    kinds: str | None = Query(",".join(svc.FIRE_KINDS), description="队伍类型，逗号分隔"),
    standard_min: float | None = Query(None, gt=0, le=180, description="标准到场时间（分钟，默认规则表5 min）"),
    turnout_s: float | None = Query(None, ge=0, le=1800, description="出动准备时间（秒）"),
    depot_vehicle: str = Query("materials_truck"),
    depot_min: float | None = Query(None, gt=0, le=600, description="储备库到达时间上限（分钟）"),
    only_available: bool = Query(False),
    format: Literal["json", "csv"] = Query("json"),
    table: Literal["summary", "by_grade", "by_township", "uncovered", "depots"] = Query("uncovered"),
    headers: Literal["zh", "code"] = Query("zh", description="CSV 表头与文件名：zh 中文（默认），code 字段代码"),
    store: FeatureStore = Depends(coverage_store),
    settings: Settings = Depends(get_settings),
) -> Any:
    """Shares covered within the standard time, uncovered sites, townships, depot reach (JSON or CSV)."""
    for name, value in (("vehicle", vehicle), ("depot_vehicle", depot_vehicle)):
        if value not in VEHICLE_PROFILE.codes:
            raise bad(name, f"未知车辆类型 {value!r}；可选：{VEHICLE_PROFILE.describe()}")
    kind_list = _list(kinds, "kinds", TEAM_KIND.codes, TEAM_KIND.describe())
    report = await run_in_threadpool(
        coverage_report.coverage_report,
        store,
        vehicle=vehicle,
        kinds=kind_list,
        standard_min=standard_min,
        turnout_s=turnout_s,
        depot_vehicle=depot_vehicle,
        depot_min=depot_min,
        only_available=only_available,
        scheduler=settings.dask_scheduler,
    )
    if format == "csv":
        text = coverage_report.report_csv(report, table, headers)
        day = dt.datetime.now(store.tz).date()
        name = coverage_report.report_filename(table, headers, day)
        fallback = coverage_report.report_filename(table, "code", day)
        return Response(
            "\ufeff" + text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": content_disposition(name, fallback=fallback)},
        )
    return report


@router.post("/api/coverage/locate", tags=["覆盖分析"], summary="新建消防站/储备库选址（MCLP 或 p-center）")
async def post_locate(
    body: LocateRequest,
    store: FeatureStore = Depends(coverage_store),
    settings: Settings = Depends(get_settings),
) -> dict[str, Any]:
    """Sites for k new stations or depots (MCLP or p-center), with coverage before and after."""
    if body.candidates.source == "list":
        if not body.candidates.points:
            raise bad("candidates.points", "候选点来源为 list 时须给出候选点 [经度, 纬度]", 422)
        _in_extent(settings, list(body.candidates.points), "candidates.points")
    return await run_in_threadpool(
        coverage_locate.locate,
        store,
        problem=body.problem,
        k=body.k,
        layer=body.layer,
        kinds=body.kinds,
        vehicle=body.vehicle,
        demand=body.demand,
        standard_min=body.standard_min,
        turnout_s=body.turnout_s,
        candidates=body.candidates.source,
        spacing_m=body.candidates.spacing_m,
        max_candidates=body.candidates.max,
        points=[list(p) for p in body.candidates.points],
        time_limit_s=body.time_limit_s,
    )


@router.get(
    "/api/access/review",
    tags=["消防通道核查"],
    summary="消防车通道与消火栓核查（逐条给出规则、实测值、限值、条款、位置）",
    responses=also("text/csv; charset=utf-8", "text/html"),
)
async def get_review(
    township: str | None = Query(None, max_length=100, description="只核查该乡镇"),
    standard_min: float | None = Query(None, gt=0, le=180),
    turnout_s: float | None = Query(None, ge=0, le=1800),
    format: Literal["json", "csv", "html"] = Query("json"),
    store: FeatureStore = Depends(coverage_store),
    settings: Settings = Depends(get_settings),
) -> Any:
    """Fire-access findings (JSON with GeoJSON findings, CSV table or printable HTML)."""
    if township:
        known = {r["name"] for r in store.query("townships", limit=None, count=False, children=False).rows}
        if township not in known:
            raise bad("township", f"没有名为 {township!r} 的乡镇；可选：{'、'.join(sorted(known))}")
    review = await run_in_threadpool(
        access_review.access_review, store, standard_min=standard_min, turnout_s=turnout_s, township=township
    )
    if format == "csv":
        return Response(
            "\ufeff" + access_report.findings_csv(review),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": _dated_file("消防通道核查", "fire_access_findings", store)},
        )
    if format == "html":
        late = access_review.late_sites(review)
        return HTMLResponse(access_report.render_html(review, settings.title, late, store.tz))
    return review
