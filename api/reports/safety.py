"""Reports of the safety analyses: printable HTML (with an SVG map), CSV and GeoJSON; the F–N plot.

The HTML is self-contained (inline SVG and CSS, no script, nothing fetched), so it opens
and prints on an offline intranet PC and can be archived with a planning file. It is rendered
from ``templates/site_report.html.j2`` (on ``base.html.j2``, with ``site_map.svg.j2``); this
module only projects the geometry and picks the values. Text in
the SVGs stays text, drawn with the reader's own Chinese fonts.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from pyproj import CRS, Transformer
from shapely.geometry import shape

from safemap.api.reports._jinja import render
from safemap.api.reports.clock import stamp
from safemap.gis.individual_risk import F_LOWER_AT_1, F_UPPER_AT_1
from safemap.layers.csvsafe import csv_writer
from safemap.layers.enums import CLASS_BASIS, GB36894_CLASS, GB50156_CLASS, TARGET_CATEGORY, VERDICT_STATUS

CSV_COLUMNS = (
    ("status", "结论"),
    ("rule", "规则"),
    ("standard", "标准"),
    ("clause", "条款"),
    ("hazard_name", "危险源"),
    ("target_name", "防护目标"),
    ("target_class", "目标类别"),
    ("required_m", "要求间距(m)"),
    ("actual_m", "实际间距(m)"),
    ("shortfall_m", "不足(m)"),
    ("measured_between", "间距起止点"),
    ("reason", "无法核查的原因"),
    ("class_basis", "类别来源"),
    ("note", "备注"),
)
ZONE_COLOURS = ("#b71c1c", "#e65100", "#f9a825", "#1565c0", "#6a1b9a", "#00838f")


def check_status(props: dict[str, Any]) -> str:
    """A check record's status code; a record from before three-valued verdicts has only ``passed``."""
    status = props.get("status")
    if status in VERDICT_STATUS.codes:
        return str(status)
    return "pass" if props.get("passed") else "fail"


def class_label(code: Any) -> Any:
    """A target class code (``general_1``, ``civil_2``, ``school``) in catalogue words; unknown codes as they are."""
    if not isinstance(code, str) or not code:
        return code
    for kind in (GB36894_CLASS, GB50156_CLASS, TARGET_CATEGORY):
        if code in kind.codes:
            return kind.label(code)
    return code


def checks_csv(features: Iterable[dict[str, Any]]) -> str:
    """Checks (or violations) as CSV with Chinese headers, UTF-8 with BOM so Excel reads it."""
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv_writer(buf)  # formula-like text gets a leading '
    w.writerow([label for _, label in CSV_COLUMNS])
    for f in features:
        p = f["properties"]
        row = []
        for key, _ in CSV_COLUMNS:
            v = p.get(key)
            if key == "status":
                v = VERDICT_STATUS.label(check_status(p))
            elif key == "class_basis":
                v = CLASS_BASIS.label(v) if v else None
            elif key == "target_class":
                v = class_label(v)
            row.append("" if v is None or (isinstance(v, float) and math.isnan(v)) else v)
        w.writerow(row)
    return buf.getvalue()


def report_geojson(result: dict[str, Any]) -> dict[str, Any]:
    """The site, its zones and its check lines in one FeatureCollection (``part`` says which)."""
    feats = [{**result["site"], "properties": {**result["site"]["properties"], "part": "site"}}]
    feats += [{**f, "properties": {**f["properties"], "part": "zone"}} for f in result["zones"]["features"]]
    feats += [{**f, "properties": {**f["properties"], "part": "check"}} for f in result["checks"]["features"]]
    return {"type": "FeatureCollection", "features": feats}


class _Canvas:
    """Projects lon/lat shapes to an SVG box in a metric CRS (true shapes and distances)."""

    def __init__(self, geoms: Sequence[Any], crs: CRS, width: int = 760, height: int = 520) -> None:
        self.t = Transformer.from_crs(4326, crs, always_xy=True)
        pts = np.vstack([self._xy(g) for g in geoms if g is not None and not g.is_empty] or [np.zeros((1, 2))])
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        pad = max(x1 - x0, y1 - y0, 100.0) * 0.08
        self.x0, self.y0, self.x1, self.y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
        self.scale = min(width / (self.x1 - self.x0), height / (self.y1 - self.y0))
        self.width, self.height = width, height

    def _xy(self, g: Any) -> np.ndarray:
        import shapely

        c = shapely.get_coordinates(g)
        x, y = self.t.transform(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    def pt(self, x: float, y: float) -> tuple[float, float]:
        return (x - self.x0) * self.scale, self.height - (y - self.y0) * self.scale

    def path(self, g: Any) -> str:
        import shapely

        parts = []
        geoms = getattr(g, "geoms", [g])
        for part in geoms:
            rings = [part.exterior, *part.interiors] if part.geom_type == "Polygon" else [part]
            for ring in rings:
                xy = self._xy(shapely.LineString(ring.coords) if part.geom_type == "Polygon" else ring)
                if not len(xy):
                    continue
                pts = [self.pt(x, y) for x, y in xy]
                d = "M" + " L".join(f"{px:.1f},{py:.1f}" for px, py in pts)
                parts.append(d + (" Z" if part.geom_type == "Polygon" else ""))
        return " ".join(parts)

    def scale_bar(self) -> tuple[float, float]:
        """A round length near a fifth of the map's width: (metres, pixels)."""
        target = (self.x1 - self.x0) / 5
        nice = 10 ** np.floor(np.log10(target))
        for m in (1, 2, 5, 10):
            if nice * m >= target:
                nice *= m
                break
        return float(nice), float(nice * self.scale)


def _map(result: dict[str, Any], crs: CRS) -> dict[str, Any]:
    """What ``site_map.svg.j2`` draws, projected to its box: paths, points, the scale bar."""
    site = shape(result["site"]["geometry"])
    zones = [(f["properties"], shape(f["geometry"])) for f in result["zones"]["features"]]
    checks = [(f["properties"], shape(f["geometry"])) for f in result["checks"]["features"]]
    canvas = _Canvas([site, *[g for _, g in zones], *[g for _, g in checks]], crs)
    centre = canvas.pt(*canvas.t.transform(site.centroid.x, site.centroid.y))
    drawn_checks = []
    for props, g in checks:
        # The other object's end of the line is the one farther from the site: it gets the dot and
        # the distance (the lines of a busy check all start at the site, so labels at their
        # midpoints would pile up on one another).
        ends = [canvas.pt(*canvas.t.transform(*g.coords[i])) for i in (0, -1)]
        far = max(ends, key=lambda p: (p[0] - centre[0]) ** 2 + (p[1] - centre[1]) ** 2)
        right = far[0] > canvas.width - 90
        drawn_checks.append(
            {
                "d": canvas.path(g),
                "passed": bool(props.get("passed")),
                "status": check_status(props),
                "end": far,
                "label_at": (far[0] - 7 if right else far[0] + 7, far[1] - 5),
                "label_anchor": "end" if right else "start",
                "actual_m": props.get("actual_m", 0),
                "required_m": props.get("required_m", 0),
            }
        )
    bar_m, bar_px = canvas.scale_bar()
    return {
        "width": canvas.width,
        "height": canvas.height,
        # drawn last zone first (as before); each keeps the colour of its position in the list
        "zones": [
            {"d": canvas.path(g), "colour": ZONE_COLOURS[i % len(ZONE_COLOURS)], "label": props.get("label")}
            for i, (props, g) in reversed(list(enumerate(zones)))
        ],
        "checks": drawn_checks,
        "site": canvas.path(site),
        "site_point": canvas.pt(*canvas.t.transform(site.x, site.y)) if site.geom_type == "Point" else None,
        "bar_m": bar_m,
        "bar_px": bar_px,
    }


def map_svg(result: dict[str, Any], crs: CRS) -> str:
    """An SVG map of the site, its zones, and each check drawn with its distance.

    Parameters
    ----------
    result
        A site check as the service returns it (``site``, ``zones``, ``checks``).
    crs
        A metric CRS to draw in (true shapes and distances).

    Returns
    -------
    str
        The ``<svg>`` element, rendered from ``templates/site_map.svg.j2``.
    """
    return render("site_map.svg.j2", map=_map(result, crs))


def site_report_html(
    result: dict[str, Any], crs: CRS, generated: dt.datetime | None = None, tz: dt.tzinfo | str | None = None
) -> str:
    """A printable HTML report of a site check.

    Parameters
    ----------
    result
        A site check as the service returns it: ``site``, ``summary`` (``status``, ``verdict``,
        ``reason`` and the counts ``passed``/``failed``/``cannot_check``), ``checks``, ``zones``,
        and optionally ``unchecked_rules`` (each 无法核查 with its ``reason``), ``risk`` and
        ``gb18218``. Every verdict word comes from the catalogue enum ``verdict_status``.
    crs
        A metric CRS for the map.
    generated
        The time printed as the report's date; now if not given.
    tz
        Zone the report is dated in (the store's, ``SAFEMAP_TIMEZONE``); never the server's.

    Returns
    -------
    str
        The self-contained HTML page, rendered from ``templates/site_report.html.j2``.
    """
    return render(
        "site_report.html.j2",
        result=result,
        site=result["site"]["properties"],
        summary=result["summary"],
        labels={code: VERDICT_STATUS.label(code) for code in VERDICT_STATUS.codes},
        gb36894_labels={m.code: m.label for m in GB36894_CLASS.members},
        checks=[{**f["properties"], "status": check_status(f["properties"])} for f in result["checks"]["features"]],
        unchecked=result.get("unchecked_rules", []),
        wind_checks=result.get("wind_checks", []),
        zones=[z["properties"] for z in result["zones"]["features"]],
        map=_map(result, crs),
        when=stamp(generated, tz),
    )


def fn_svg(curve: Sequence[tuple[float, float]], title: str = "社会风险 F–N 曲线") -> str:
    """The F–N curve against 10⁻³/N and 10⁻⁵/N as SVG (matplotlib; text kept as text)."""
    import logging
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Text stays text in the SVG and is drawn by the reader's Chinese fonts; matplotlib's own
    # fonts (used only to lay it out) lack CJK glyphs, which is harmless here.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    with warnings.catch_warnings(), plt.rc_context({"svg.fonttype": "none", "font.family": "sans-serif"}):
        warnings.simplefilter("ignore", UserWarning)
        svg = _fn_plot(plt, curve, title)
    return re.sub(r"font-family: ?'DejaVu Sans'[^;\"]*", FONT_STACK, svg)


FONT_STACK = "font-family: 'Microsoft YaHei', 'PingFang SC', 'Noto Sans CJK SC', sans-serif"


def _fn_plot(plt: Any, curve: Sequence[tuple[float, float]], title: str) -> str:
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    n = np.logspace(0, 4, 50)
    ax.loglog(n, F_UPPER_AT_1 / n, color="#c62828", lw=1.5, label="不可接受线 F = 10⁻³/N")
    ax.loglog(n, F_LOWER_AT_1 / n, color="#2e7d32", lw=1.5, label="可接受线 F = 10⁻⁵/N")
    ax.fill_between(n, F_LOWER_AT_1 / n, F_UPPER_AT_1 / n, color="#fff59d", alpha=0.5, label="尽可能降低区")
    if curve:
        ns = np.array([c[0] for c in curve])
        fs = np.array([c[1] for c in curve])
        ax.step(ns, fs, where="post", color="#0d47a1", lw=2, label="本区域 F–N 曲线")
    ax.set_xlim(1, 1e4)
    ax.set_ylim(1e-10, 1e-2)
    ax.set_xlabel("死亡人数 N")
    ax.set_ylabel("累计频率 F（/a）")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
