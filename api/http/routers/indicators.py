"""The plan's 专栏1 indicators and the accident density map (issue 17).

- ``GET /api/indicators?through=`` — every indicator year by year, judged against its target;
- ``GET /api/indicators/plots/{code}.png|.svg`` — one indicator's plot;
- ``GET /api/indicators/report.html|.pdf?through=`` — the yearly report (PDF by headless
  Chromium; 503 saying how to install it when missing);
- ``GET /api/accidents/density`` — the kernel density as a PNG overlay (data URI) with its bounds;
- ``GET /api/accidents/density.tif`` — the same raster as a GeoTIFF (local UTM, per km²).

Reads are open like the layer API (accidents are not private). A bad parameter is answered 422
naming the field in Chinese by the service; nothing here writes to the store.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from safemap.api.http.deps import get_settings, get_store
from safemap.api.http.errors import ApiError
from safemap.api.reports import indicators as report
from safemap.api.services import indicators as svc
from safemap.api.services.labels import content_disposition
from safemap.api.services.printing import PrintUnavailable
from safemap.api.settings import Settings
from safemap.layers.errors import FeatureNotFound
from safemap.layers.store import FeatureStore

router = APIRouter(tags=["规划指标"])

_THROUGH = Query(None, description="截至年份（默认：有事故或基础数据的最近一年）")
_MEDIA = {"png": "image/png", "svg": "image/svg+xml"}


def _stem(through: int) -> str:
    return f"规划指标年度报告_{through}"


@router.get("/api/indicators", summary="规划专栏1指标逐年进度")
async def get_indicators(through: int | None = _THROUGH, store: FeatureStore = Depends(get_store)) -> dict[str, Any]:
    """Every indicator from its baseline year to ``through``: values, states (按进度/滞后/无法判断) and reasons."""
    return await run_in_threadpool(svc.indicator_table, store, through)


@router.get(
    "/api/indicators/plots/{code}.{fmt}",
    summary="单项指标趋势图（PNG/SVG）",
    responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}, 404: {"description": "没有该指标"}},
)
async def get_plot(
    code: str, fmt: str, through: int | None = _THROUGH, store: FeatureStore = Depends(get_store)
) -> Response:
    """The indicator's yearly values against its baseline and linear target path."""
    if fmt not in _MEDIA:
        raise FeatureNotFound(f"不支持的图片格式 {fmt!r}；可选：png、svg")
    item = await run_in_threadpool(svc.indicator, store, code[:100], through)
    data = await run_in_threadpool(report.indicator_plot, item, fmt)
    return Response(data, media_type=_MEDIA[fmt])


def _html(store: FeatureStore, settings: Settings, through: int | None) -> tuple[str, int]:
    table, png = svc.report_inputs(store, through)
    return report.report_html(settings.title, table, png, None, tz=store.tz), int(table["through"])


@router.get("/api/indicators/report.html", summary="规划指标年度报告（HTML）", response_class=HTMLResponse)
async def get_report_html(
    through: int | None = _THROUGH,
    store: FeatureStore = Depends(get_store),
    settings: Settings = Depends(get_settings),
) -> HTMLResponse:
    """The printable yearly report: summary, table, plots, the year's accidents, density map."""
    html, _ = await run_in_threadpool(_html, store, settings, through)
    return HTMLResponse(html)


@router.get(
    "/api/indicators/report.pdf",
    summary="规划指标年度报告（PDF，A4）",
    responses={200: {"content": {"application/pdf": {}}}, 503: {"description": "服务器未安装 Chromium（附安装方法）"}},
)
async def get_report_pdf(
    through: int | None = _THROUGH,
    store: FeatureStore = Depends(get_store),
    settings: Settings = Depends(get_settings),
) -> Response:
    """The same report printed by headless Chromium."""
    html, year = await run_in_threadpool(_html, store, settings, through)
    try:
        pdf = await run_in_threadpool(report.report_pdf, html, settings.chromium_path)
    except PrintUnavailable as exc:
        raise ApiError(503, "print_unavailable", str(exc)) from None
    headers = {"Content-Disposition": content_disposition(f"{_stem(year)}.pdf", fallback=f"indicators_{year}.pdf")}
    return Response(pdf, media_type="application/pdf", headers=headers)


def _density_args(
    cell_m: float = Query(250.0, description="栅格边长（米，10–5000）"),
    radius_m: float | None = Query(None, description="搜索半径（米；默认按 ArcGIS Pro 规则）"),
    weight: str = Query("count", description="权重：count 事故起数，deaths 死亡人数"),
    since: str | None = Query(None, description="起始日期/时间（含），如 2021-01-01"),
    until: str | None = Query(None, description="截止日期/时间（含），如 2023-12-31"),
) -> dict[str, Any]:
    return {"cell_m": cell_m, "radius_m": radius_m, "weight": weight, "since": since, "until": until}


@router.get("/api/accidents/density", summary="事故核密度（地图叠加 PNG 与范围）")
async def get_density(
    args: dict[str, Any] = Depends(_density_args), store: FeatureStore = Depends(get_store)
) -> dict[str, Any]:
    """The density as a transparent PNG data URI with its Leaflet bounds ``[[south, west], [north, east]]``."""
    grid = await run_in_threadpool(lambda: svc.density(store, **args))
    w, s, e, n = grid["bounds_lonlat"]
    return {
        "bounds": [[s, w], [n, e]],
        "image": "data:image/png;base64," + base64.b64encode(grid["png"]).decode("ascii"),
        "radius_m": grid["radius_m"],
        "cell_m": grid["cell_m"],
        "count": grid["count"],
        "max_per_km2": grid["max_per_km2"],
        "weight": grid["weight"],
        "weight_label": grid["weight_label"],
    }


@router.get(
    "/api/accidents/density.tif",
    summary="事故核密度 GeoTIFF（UTM，每平方公里）",
    responses={200: {"content": {"image/tiff": {}}}},
)
async def get_density_tif(
    args: dict[str, Any] = Depends(_density_args), store: FeatureStore = Depends(get_store)
) -> Response:
    """The density raster for QGIS/ArcGIS: float32, local UTM zone, accidents (or deaths) per km²."""
    grid = await run_in_threadpool(lambda: svc.density(store, **args))
    day = dt.datetime.now(store.tz).strftime("%Y%m%d")
    disposition = content_disposition(f"事故密度_{day}.tif", fallback=f"accident_density_{day}.tif")
    return Response(grid["geotiff"], media_type="image/tiff", headers={"Content-Disposition": disposition})
