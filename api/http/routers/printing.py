"""Printing: the 调度单 of a dispatch batch, and the current map as PDF/PNG rendered on the server.

* ``GET /api/dispatch/{plan_id}/sheet`` — the A4 调度单 (HTML; the browser prints it).
* ``POST /api/print`` — the map page in headless Chromium with the browser's map state
  (centre, zoom, visible layers, basemap) in the print layout (title, legend, scale,
  north arrow, date, sources, 制图单位), as A4/A3 landscape PDF or PNG. Without Chromium
  on the server it answers 503 saying how to install it; the map's own 打印 button
  (browser print, ``webmap/static/js/print.js``) works without it.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import Field
from starlette.responses import HTMLResponse, Response

from safemap.api.http.deps import get_settings, get_store
from safemap.api.http.errors import ApiError
from safemap.api.http.models.base import RequestModel
from safemap.api.services import printing
from safemap.api.settings import Settings
from safemap.layers.store import FeatureStore

router = APIRouter(tags=["打印"])


class PrintRequest(RequestModel):
    """The browser's map state (``SafeMap.print.state()``) and the page wanted."""

    center: tuple[float, float] = Field(description="地图中心 [纬度, 经度]")
    zoom: float = Field(ge=3, le=20, description="缩放级别")
    layers: list[str] | None = Field(default=None, max_length=200, description="显示的图层名；缺省为页面默认")
    basemap: str | None = Field(default=None, max_length=100, description="底图名称（图层控制中的标签）")
    paper: Literal["A4", "A3"] = "A4"
    format: Literal["pdf", "png"] = "pdf"
    title: str | None = Field(default=None, max_length=100, description="图名；缺省为系统标题")


@router.get(
    "/api/dispatch/{plan_id}/sheet",
    summary="打印调度单（HTML，A4）",
    response_class=HTMLResponse,
)
async def dispatch_sheet(
    plan_id: str,
    store: FeatureStore = Depends(get_store),
    settings: Settings = Depends(get_settings),
) -> HTMLResponse:
    """One confirmed batch: incident, teams and depots, vehicles, route 分秒 and km, times in SAFEMAP_TIMEZONE."""
    html = await run_in_threadpool(printing.dispatch_sheet_html, store, plan_id[:40], map_unit=settings.map_unit)
    return HTMLResponse(html)


@router.post(
    "/api/print",
    summary="服务器端打印地图（PDF/PNG，A4/A3 横向）",
    responses={
        200: {"content": {"application/pdf": {}, "image/png": {}}, "description": "PDF 或 PNG"},
        503: {"description": "服务器未安装 Chromium（附安装方法）"},
    },
)
def print_map(request: Request, body: PrintRequest, settings: Settings = Depends(get_settings)) -> Response:
    """Render the map page with the given state in headless Chromium (runs in the thread pool)."""
    job = printing.PrintJob(
        center=body.center,
        zoom=body.zoom,
        layers=None if body.layers is None else tuple(body.layers),
        basemap=body.basemap,
        paper=body.paper,
        fmt=body.format,
        title=body.title,
    )
    try:
        data = printing.render_map(str(request.base_url), job, settings.chromium_path)
    except printing.PrintUnavailable as exc:
        raise ApiError(503, "print_unavailable", str(exc)) from None
    media = "application/pdf" if body.format == "pdf" else "image/png"
    name = f"地图_{body.paper}.{body.format}"
    from urllib.parse import quote

    return Response(
        data, media_type=media, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"}
    )
