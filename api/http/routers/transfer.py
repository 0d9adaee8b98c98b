"""Import (upload) and export (download) of a layer's features through the API."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, JSONResponse

from safemap.api.http import uploads
from safemap.api.http.auth import county_scope, read_scope, require_editor
from safemap.api.http.deps import get_settings, get_store
from safemap.api.http.openapi import GeoJSONResponse, also
from safemap.api.http.params import bad, parse_bbox
from safemap.api.services import editing
from safemap.api.services.table_export import export_features
from safemap.api.settings import Settings, zip_limits
from safemap.layers.catalogue import Layer
from safemap.layers.errors import LayerError
from safemap.layers.filters import parse_filters
from safemap.layers.store import FeatureStore
from safemap.layers.transfer import export_layer

FORMATS = {
    "geojson": (".geojson", "application/geo+json"),
    "gpkg": (".gpkg", "application/geopackage+sqlite3"),
    "shp": (".zip", "application/zip"),
    "csv": (".csv", "text/csv; charset=utf-8"),
    "xlsx": (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}
UPLOAD_SUFFIXES = (
    ".geojson",
    ".json",
    ".gpkg",
    ".zip",
    ".csv",
    ".txt",
    ".tsv",
    ".xlsx",
    ".xlsm",
    ".xls",  # refused by the reader, with how to save it as .xlsx
    ".kml",
    ".kmz",
)
UPLOAD_FORM = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": (
                            "GeoJSON, GeoPackage, zipped Shapefile (.zip), CSV/text (UTF-8, GBK, UTF-16), "
                            "Excel (.xlsx) or KML/KMZ"
                        ),
                    },
                    "crs": {"type": "string", "description": "文件未声明坐标系时指定，如 EPSG:4490"},
                    "gcj02": {
                        "type": "boolean",
                        "default": False,
                        "description": "坐标为 GCJ-02（高德/DataV），转换为 WGS 84",
                    },
                    "source_layer": {"type": "string", "description": "GeoPackage 中的图层名"},
                    "lon_field": {"type": "string", "description": "经度列名（CSV/Excel），如 东经"},
                    "lat_field": {"type": "string", "description": "纬度列名（CSV/Excel），如 北纬"},
                    "sheet": {"type": "string", "description": "Excel 工作表名（默认第一个）"},
                    "dry_run": {"type": "boolean", "default": False, "description": "只校验，不写入"},
                },
            }
        }
    },
}

SHEET_QUERY = {
    "name": "sheet",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "Excel 工作表名（也可作为表单字段 sheet 提交；默认第一个）",
}


def _parse_ids(text: str | None) -> list[int] | None:
    """``1,2,3`` as feature ids (``None`` when not given)."""
    if text is None or not text.strip():
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise bad("ids", "要素编号应为逗号分隔的整数，如 1,2,3") from None


def add_routes(router: APIRouter, layer: Layer, tag: str) -> None:
    """Register ``/api/layers/{layer}/import`` and ``/export`` for one layer."""
    name = layer.name

    @router.post(
        f"/{name}/import",
        tags=[tag],
        summary=f"导入{layer.label}（全部成功才写入）",
        openapi_extra={"requestBody": UPLOAD_FORM, "parameters": [SHEET_QUERY]},
    )
    async def upload(
        request: Request,
        store: FeatureStore = Depends(get_store),
        settings: Settings = Depends(get_settings),
    ) -> JSONResponse:
        # Token and role first: the body is read (streamed to disk) only for an editor.
        actor = require_editor(request, layer)
        folder = uploads.new_folder(uploads.upload_root(settings, store))
        try:
            form = await uploads.receive_form(
                request, folder, max_bytes=settings.max_upload_bytes, suffixes=UPLOAD_SUFFIXES
            )
            fields = form.fields
            dry_run = uploads.form_bool(fields, "dry_run")
            report = await run_in_threadpool(
                editing.import_features,
                store,
                name,
                form.path,
                actor,
                crs=fields.get("crs") or None,
                gcj02=uploads.form_bool(fields, "gcj02"),
                source_layer=fields.get("source_layer") or None,
                lon_field=fields.get("lon_field") or None,
                lat_field=fields.get("lat_field") or None,
                sheet=fields.get("sheet") or request.query_params.get("sheet") or None,
                dry_run=dry_run,
                zip_limits=zip_limits(settings, scratch_dir=folder),
            )
        except LayerError as exc:
            raise uploads.scrub(exc, folder) from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        body: dict[str, Any] = {
            "layer": report.layer,
            "count": report.count,
            "ids": report.ids,
            "warnings": report.warnings,
            "source_crs": report.source_crs,
            "converted_from_gcj02": report.converted_from_gcj02,
            "dry_run": report.dry_run,
        }
        return JSONResponse(body, status_code=200 if dry_run else 201)

    @router.get(
        f"/{name}/export",
        tags=[tag],
        summary=f"导出{layer.label}",
        response_class=GeoJSONResponse,
        responses=also(*(media for _, media in FORMATS.values())),
    )
    async def download(
        request: Request,
        format: str = Query("geojson", description="geojson, gpkg, shp (zipped), csv or xlsx"),
        bbox: str | None = Query(None),
        ids: str | None = Query(None, max_length=20_000, description="只导出这些要素编号，逗号分隔（属性表所选）"),
        q: str | None = Query(None, max_length=100, description="名称包含的文字"),
        sort: str | None = Query(None, max_length=200, description="排序字段，前加 - 为降序"),
        store: FeatureStore = Depends(get_store),
    ) -> FileResponse:
        if format not in FORMATS:
            raise bad("format", f"不支持 {format!r}；可选：{', '.join(FORMATS)}")
        owner = read_scope(request, layer)
        seen = county_scope(request)
        chosen = _parse_ids(ids)
        raw = {k: v for k, v in request.query_params.items() if k not in ("format", "bbox", "ids", "q", "sort")}
        filters = parse_filters(store.layer(name), raw) if raw else None
        suffix, media = FORMATS[format]
        folder = Path(tempfile.mkdtemp(prefix="safemap-export-"))
        stamp = dt.datetime.now(store.tz).strftime("%Y%m%d")  # the store's zone, not the server's
        path = folder / f"{name}_{stamp}{suffix}"
        try:
            if chosen is not None or q or sort or format == "xlsx" or owner is not None or seen is not None:
                await run_in_threadpool(
                    lambda: export_features(
                        store,
                        name,
                        path,
                        fmt=format,
                        bbox=parse_bbox(bbox),
                        filters=filters,
                        q=q,
                        ids=chosen,
                        sort=sort,
                        owner=owner,
                        counties=seen,
                    )
                )
            else:
                await run_in_threadpool(
                    export_layer, store, name, path, fmt=format, bbox=parse_bbox(bbox), filters=filters
                )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return FileResponse(
            path,
            media_type=media,
            filename=path.name,
            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
        )
