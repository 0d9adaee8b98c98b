"""The incident's printable 处置记录 (HTML with an SVG map) and the exposure lists as CSV and XLSX.

The HTML is self-contained (inline SVG and CSS, no script, nothing fetched) like the site
report: the incident, its current zone's bands and what is inside them drawn to scale in the
local UTM zone, the timeline with the time since 接警 in 分秒, the zone history, the exposure
tables and the dispatches. Times are already in SAFEMAP_TIMEZONE when they reach here.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
from pyproj import CRS, Transformer
from shapely.geometry import shape

from safemap.api.reports._jinja import render
from safemap.layers.csvsafe import csv_writer, safe_cell

BAND_COLOURS = ("#b71c1c", "#e65100", "#f9a825", "#1565c0", "#6a1b9a", "#00838f")
MARKS = {
    "protected_targets": "#43a047",
    "settlements": "#8d6e63",
    "enterprises": "#0068b7",
    "rescue_teams": "#d50000",
    "material_depots": "#00695c",
}


def exposure_csv(rows: list[list[Any]]) -> bytes:
    """Rows (header first) as CSV: UTF-8 with BOM for Excel, formula-like text quoted."""
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv_writer(buf)
    for row in rows:
        w.writerow(["" if v is None else v for v in row])
    return buf.getvalue().encode("utf-8")


def exposure_xlsx(rows: list[list[Any]], title: str = "影响范围内对象") -> bytes:
    """Rows (header first) as an XLSX workbook (formula-like text quoted as in CSV)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    for r, row in enumerate(rows):
        ws.append([safe_cell(v) for v in row])
        if r == 0:
            for cell in ws[1]:
                cell.font = Font(bold=True)
    for col in ws.columns:
        width = max(len(str(c.value or "")) for c in col)
        ws.column_dimensions[col[0].column_letter].width = min(40, max(8, width * 1.6))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _canvas(lonlat: tuple[float, float], geoms: list[Any], width: int = 640, height: int = 440) -> Any:
    zone = int((lonlat[0] + 180) // 6) + 1
    crs = CRS.from_epsg(32600 + zone if lonlat[1] >= 0 else 32700 + zone)
    to_xy = Transformer.from_crs(4326, crs, always_xy=True).transform
    cx, cy = to_xy(*lonlat)
    xs, ys = [cx - 300, cx + 300], [cy - 300, cy + 300]
    for g in geoms:
        b = g.bounds
        x0, y0 = to_xy(b[0], b[1])
        x1, y1 = to_xy(b[2], b[3])
        xs += [x0, x1]
        ys += [y0, y1]
    span = max(max(xs) - min(xs), (max(ys) - min(ys)) * width / height) * 1.1
    scale = width / span
    mx, my = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2

    def px(lon: float, lat: float) -> tuple[float, float]:
        x, y = to_xy(lon, lat)
        return width / 2 + (x - mx) * scale, height / 2 - (y - my) * scale

    bar_m = 10 ** math.floor(math.log10(span / 4))
    for step in (5, 2):
        if bar_m * step <= span / 4:
            bar_m *= step
            break
    return px, scale, bar_m, width, height


def _path(geom: Any, px: Any) -> str:
    polys = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
    parts = []
    for poly in polys:
        for ring in (poly.exterior, *poly.interiors):
            pts = [px(x, y) for x, y in np.asarray(ring.coords)[:, :2]]
            parts.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts) + " Z")
    return " ".join(parts)


def incident_map(
    lonlat: tuple[float, float],
    zone: dict[str, Any] | None,
    found: list[dict[str, Any]],
    points: dict[tuple[str, int], tuple[float, float]],
) -> dict[str, Any]:
    """What the SVG draws: bands (outermost first), the incident, features inside, a scale bar."""
    bands = [] if zone is None else [shape(b["geometry"]) for b in zone["bands"]]
    px, scale, bar_m, width, height = _canvas(lonlat, bands)
    drawn = [
        {
            "d": _path(g, px),
            "colour": BAND_COLOURS[k % len(BAND_COLOURS)],
            "label": zone["bands"][k]["label"] if zone else "",
        }
        for k, g in enumerate(bands)
    ][::-1]
    marks = []
    for item in found:
        at = points.get((item["layer"], item["id"]))
        if at is None:
            continue
        x, y = px(*at)
        marks.append({"x": x, "y": y, "colour": MARKS.get(item["layer"], "#333"), "label": item["name"]})
    ix, iy = px(*lonlat)
    return {
        "width": width,
        "height": height,
        "bands": drawn,
        "marks": marks,
        "incident": (ix, iy),
        "bar_m": bar_m,
        "bar_px": bar_m * scale,
    }


def incident_html(context: dict[str, Any]) -> str:
    """Render ``incident_report.html.j2`` with ``context`` (:func:`safemap.api.services.incident_report.context`)."""
    return render("incident_report.html.j2", **context)
