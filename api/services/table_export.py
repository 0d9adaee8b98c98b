"""Export of a layer's features, or a chosen few of them, as the attribute table shows them.

The export route (``GET /api/layers/{layer}/export``) writes GeoJSON, GeoPackage, Shapefile
and CSV with :mod:`layers.writers`, and XLSX here: the same columns as the Chinese CSV
(labels with units, enum labels, 是/否, times in the county's zone, 经度/纬度 or WKT).
A selection (``ids``), a name search (``q``) and an order (``sort``) narrow and order
what is written, so the attribute table's "export the selection" gives what it shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import shapely

from safemap.api.reports.incident import exposure_xlsx
from safemap.layers import writers
from safemap.layers.catalogue import Field
from safemap.layers.labels import source_text
from safemap.layers.model import BBox, Page
from safemap.layers.store import FeatureStore


def _cell(f: Field, value: Any, tz: ZoneInfo) -> Any:
    if value is None:
        return None
    if f.name == "source":
        return source_text(value)  # "synthetic: …" -> 合成演示数据：…, as on the map
    if f.type == "enum" and f.enum is not None:
        return f.enum.label(value)
    if f.type == "bool":
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        local = value.astimezone(tz) if value.tzinfo is not None else value
        return local.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def xlsx_rows(page: Page, tz: ZoneInfo) -> list[list[Any]]:
    """The page as rows for a workbook, Chinese header first (as the Chinese CSV)."""
    layer = page.layer
    points = layer.geometry_types == ("Point",)
    header: list[Any] = [f.display_label for f in layer.fields]
    if layer.is_spatial:
        header += ["经度", "纬度"] if points else ["WKT"]
    rows = [header]
    for row, geom in zip(page.rows, page.geometries, strict=True):
        cells = [_cell(f, row.get(f.name), tz) for f in layer.fields]
        if points and geom is not None:
            cells += [float(geom.x), float(geom.y)]
        elif layer.is_spatial:
            cells.append(None if geom is None else shapely.to_wkt(geom, rounding_precision=7))
        rows.append(cells)
    return rows


def export_features(
    store: FeatureStore,
    layer_name: str,
    path: Path,
    *,
    fmt: str,
    bbox: BBox | None = None,
    filters: Mapping[str, Sequence[Any]] | None = None,
    q: str | None = None,
    ids: Sequence[int] | None = None,
    sort: str | None = None,
    owner: int | None = None,
    counties: Sequence[str] | None = None,
) -> int:
    """Write the matching features of ``layer_name`` to ``path`` in ``fmt`` (``xlsx`` or a writers format).

    ``owner``: only that enterprise's rows (an enterprise user's export); ``counties``: only those
    counties' rows (the reader's, :mod:`safemap.layers.counties`).
    """
    layer = store.layer(layer_name)
    kind = "xlsx" if fmt == "xlsx" else writers.format_for(path, fmt, layer_is_spatial=layer.is_spatial)
    page = store.query(
        layer.name,
        bbox=bbox,
        filters=filters,
        q=q,
        ids=ids,
        sort=sort,
        owner=owner,
        counties=counties,
        limit=None,
        count=False,
        children=kind != "xlsx",
    )
    if kind == "xlsx":
        path.write_bytes(exposure_xlsx(xlsx_rows(page, store.tz), title=layer.label))
        return len(page)
    return writers.write(page, path, kind, tz=store.tz)
