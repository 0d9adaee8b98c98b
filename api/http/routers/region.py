"""Region-wide analyses over every county: ``/api/region/audit``, ``/api/region/risk``, ``/api/region/coverage``.

Each runs partitioned by county (行政区划代码) — on the Dask cluster of ``SAFEMAP_DASK_SCHEDULER``
when set, in this process otherwise, with the same answer — and answers one row per county
plus how it ran (``run``: 进程内/Dask, workers, partitions, seconds). ``?counties=`` limits
it to some counties (comma-separated codes). Reads only.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from starlette.responses import Response

from safemap.api.http.deps import coverage_store, get_settings, get_store
from safemap.api.http.openapi import also
from safemap.api.http.params import parse_bbox
from safemap.api.services import region_analysis as region
from safemap.api.services import risk_raster as raster
from safemap.api.services.labels import content_disposition, export_filename
from safemap.api.services.problems import bad
from safemap.api.settings import Settings
from safemap.layers.enums import VERDICT_STATUS
from safemap.layers.store import FeatureStore

TAGS = ["全区分析"]
router = APIRouter(tags=TAGS)

COUNTIES = Query(None, max_length=2000, description="只算这些县：行政区划代码，逗号分隔（如 654225,654221）；默认全部")


class RunOut(BaseModel):
    """How the analysis ran."""

    engine: Literal["local", "dask"] = Field(description="local 进程内 / dask")
    engine_label: str = Field(description="计算方式：进程内 或 Dask")
    workers: int = Field(description="参与计算的进程数")
    partitions: int = Field(description="分区数（县或条带）")
    seconds: float = Field(description="用时，秒")
    duration: str = Field(description="用时（X分Y秒）")


class AuditSummaryOut(BaseModel):
    """Totals of the audit."""

    fail: int = Field(description="不符合（对）")
    cannot_check: int = Field(description="无法核查（对）")
    issues: int = Field(description="危险源层面无法核查（项）")


class AuditCountyOut(BaseModel):
    """One county's (or tile's) share of the audit."""

    county_code: str | None = Field(description="行政区划代码")
    county_name: str = Field(description="区县名称（或分区）")
    partition: str = Field(description="分区")
    targets: int = Field(description="防护目标数")
    hazard_sources: int = Field(description="本县危险源数")
    halo_sources: int = Field(description="邻县危险源数（影响范围跨县）")
    fail: int = Field(description="不符合（对）")
    cannot_check: int = Field(description="无法核查（对）")
    issues: int = Field(description="危险源层面无法核查（项）")


class AuditOut(BaseModel):
    """``GET /api/region/audit``."""

    summary: AuditSummaryOut
    labels: dict[str, str] = Field(description="核查结论代码与中文")
    counties: list[AuditCountyOut]
    run: RunOut


class LevelOut(BaseModel):
    """Targets at or above one GB 36894 level."""

    level_per_year: float = Field(description="个人风险基准，/年")
    targets: int = Field(description="达到或超过该值的防护目标数")


class RiskCountyOut(BaseModel):
    """Individual risk at one county's protected targets."""

    county_code: str | None = Field(description="行政区划代码")
    county_name: str = Field(description="区县名称（或分区）")
    protected_targets: int = Field(description="防护目标数")
    max_ir_per_year: float = Field(description="防护目标处最大个人风险，/年")
    above_levels: list[LevelOut]


class GridOut(BaseModel):
    """The raster's size."""

    nx: int
    ny: int
    cell_m: float = Field(description="网格边长，m")


class RiskOut(BaseModel):
    """``GET /api/region/risk``."""

    grid: GridOut
    scenarios: int = Field(description="事故场景数")
    max_ir_per_year: float = Field(description="最大个人风险，/年")
    counties: list[RiskCountyOut]
    run: RunOut


class CoverageCountyOut(BaseModel):
    """One county's coverage within the standard response time."""

    county_code: str | None = Field(description="行政区划代码")
    county_name: str = Field(description="区县名称（或分区）")
    partition: str = Field(description="分区")
    sites: int = Field(description="对象数（企业、危险源、防护目标）")
    covered: int = Field(description="标准时间内可到达的对象数")
    share: float | None = Field(description="覆盖率（0–1）")
    population: float = Field(description="人口（人）")
    population_covered: float = Field(description="覆盖人口（人）")
    unreachable: int = Field(description="道路不通或远离道路的对象数")


class CoverageOut(BaseModel):
    """``GET /api/region/coverage``."""

    standard_min: float = Field(description="标准响应时间，分钟")
    vehicle: str = Field(description="车辆类型")
    counties: list[CoverageCountyOut]
    run: RunOut


@router.get("/api/region/audit", summary="全区安全间距核查（按县分区，可在 Dask 集群上计算）", response_model=AuditOut)
async def audit(
    counties: str | None = COUNTIES,
    store: FeatureStore = Depends(get_store),
    settings: Settings = Depends(get_settings),
) -> AuditOut:
    """Pairs 不符合 / 无法核查 per county: a pair across a county border counts once, in the target's county."""
    result = await run_in_threadpool(region.audit, store, settings, counties)
    return AuditOut(
        summary=AuditSummaryOut(**result.summary()),
        labels={code: VERDICT_STATUS.label(code) for code in VERDICT_STATUS.codes},
        counties=[AuditCountyOut(**r) for r in result.counties],
        run=RunOut(**result.run.as_dict()),
    )


@router.get(
    "/api/region/risk",
    summary="全区个人风险栅格（分条带计算后拼接；format=geotiff 下载 GeoTIFF）",
    response_model=RiskOut,
    responses=also("image/tiff"),
)
async def risk(
    bbox: str | None = Query(None, description="最小经度,最小纬度,最大经度,最大纬度；默认为全部场景影响范围"),
    cell_m: float = Query(10.0, ge=2, le=200, description="网格边长 m"),
    format: Literal["json", "geotiff"] = Query("json", description="json 各县统计 / geotiff 栅格文件"),
    store: FeatureStore = Depends(get_store),
    settings: Settings = Depends(get_settings),
) -> RiskOut | Response:
    """Individual risk over every county, and per county the largest risk at its protected targets."""
    box = parse_bbox(bbox)
    try:
        result = await run_in_threadpool(region.risk_raster, store, settings, bbox=box, cell_m=cell_m)
    except ValueError as exc:  # the grid would exceed its cell limit (safety.risk's max_cells)
        raise bad("cell_m", "网格数超过 400 万的上限（请缩小 bbox 或增大网格边长）", 422) from exc
    except LookupError as exc:  # no scenario and no bbox
        raise bad("bbox", str(exc), 422) from None
    if format == "geotiff":
        day = dt.datetime.now(store.tz).date()
        name = content_disposition(
            export_filename("全区个人风险", "tif", day=day), fallback=export_filename("region_risk", "tif", day=day)
        )
        return Response(
            raster.geotiff_bytes(result.result), media_type="image/tiff", headers={"Content-Disposition": name}
        )
    g = result.result.grid
    return RiskOut(
        grid=GridOut(nx=g.nx, ny=g.ny, cell_m=g.cell_m),
        scenarios=len(result.result.scenarios),
        max_ir_per_year=float(result.result.ir.max()) if result.result.ir.size else 0.0,
        counties=[RiskCountyOut(**r) for r in result.counties],
        run=RunOut(**result.run.as_dict()),
    )


@router.get(
    "/api/region/coverage",
    summary="全区救援覆盖（按县分区，标准响应时间内可到达的对象与人口）",
    response_model=CoverageOut,
)
async def coverage(
    counties: str | None = COUNTIES,
    vehicle: str = Query("fire_engine", max_length=50, description="车辆类型"),
    store: FeatureStore = Depends(coverage_store),
    settings: Settings = Depends(get_settings),
) -> CoverageOut:
    """Per county: sites reached by the fire teams within the standard response time."""
    result = await run_in_threadpool(region.coverage, store, settings, vehicle=vehicle, counties=counties)
    return CoverageOut(
        standard_min=round(result.standard_s / 60.0, 2),
        vehicle=vehicle,
        counties=[CoverageCountyOut(**r) for r in result.counties],
        run=RunOut(**result.run.as_dict()),
    )
