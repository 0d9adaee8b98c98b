"""The park-wide assessment report (园区整体性安全风险评估报告): self-contained HTML, and PDF by Chromium.

Rendered from ``templates/park_report.html.j2`` on ``base.html.j2``. The map is inline SVG
drawn in the analyses' metric CRS (true shapes) with the projection of the site report
(:class:`safemap.api.reports.safety._Canvas`); the F–N plots are the site report's
(:func:`safemap.api.reports.safety.fn_svg`). Nothing is fetched: the page opens offline.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from pyproj import CRS
from shapely.geometry import Point, shape

from safemap.api.reports import indicators as indicators_report
from safemap.api.reports._jinja import render
from safemap.api.reports.clock import stamp
from safemap.api.reports.safety import _Canvas, fn_svg

#: Contour colours per GB 36894 level (per year), as the map's risk layer (risk_raster.BANDS).
LEVEL_COLOURS = {3e-5: "#7f0000", 1e-5: "#d32f2f", 3e-6: "#f57c00", 3e-7: "#fbc02d"}
GRADE_COLOURS = {1: "#b71c1c", 2: "#e65100", 3: "#f9a825", 4: "#1565c0"}
#: Most domino pairs and chains printed (a dense park has thousands; the JSON keeps them all).
MAX_PAIRS, MAX_CHAINS = 100, 20


def _map(result: dict[str, Any], crs: CRS) -> dict[str, Any]:
    """What the template's SVG map draws, projected into its box."""
    zone = shape(result["area"]["geometry"])
    contours = [
        (f["properties"]["level_per_year"], shape(f["geometry"])) for f in result["risk"]["contours"]["features"]
    ]
    adm = result.get("admission") or {}
    if adm.get("risk"):
        contours = [
            (f["properties"]["level_per_year"], shape(f["geometry"])) for f in adm["risk"]["contours"]["features"]
        ]
    sources = [(s, Point(s["lon"], s["lat"])) for s in result["sources"]]
    targets = [(t, Point(t["lon"], t["lat"])) for t in _targets(result) if t.get("lon") is not None]
    proposed = shape(adm["geometry"]) if adm.get("geometry") else None
    canvas = _Canvas(
        [zone, *[g for _, g in contours], *[g for _, g in targets]] + ([proposed] if proposed else []), crs
    )

    def xy(p: Point) -> tuple[float, float]:
        return canvas.pt(*canvas.t.transform(p.x, p.y))

    bar_m, bar_px = canvas.scale_bar()
    return {
        "width": canvas.width,
        "height": canvas.height,
        "zone": canvas.path(zone),
        "contours": [{"d": canvas.path(g), "colour": LEVEL_COLOURS.get(lv, "#555")} for lv, g in contours],
        "sources": [
            {
                "at": xy(p),
                "colour": GRADE_COLOURS.get(s["grade"], "#424242"),
                "name": s["name"],
                "major": s["grade"] is not None,
            }
            for s, p in sources
        ],
        "targets": [{"at": xy(p), "name": t["target_name"], "exceeds": t["exceeds"]} for t, p in targets],
        "proposed": None if proposed is None else {"d": canvas.path(proposed), "at": xy(proposed.centroid)},
        "bar_m": bar_m,
        "bar_px": bar_px,
    }


def _targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    adm = result.get("admission") or {}
    return (adm.get("risk") or result["risk"])["targets"]


def park_report_html(
    result: dict[str, Any], crs: CRS, generated: dt.datetime | None = None, tz: dt.tzinfo | str | None = None
) -> str:
    """The printable report of a park-wide assessment.

    Parameters
    ----------
    result
        :func:`safemap.api.services.park_assessment.assess` output.
    crs
        A metric CRS for the map (the analyses' local UTM zone).
    generated
        The time printed as the report's date; now if not given.
    tz
        Zone the report is dated in (the store's); never the server's.

    Returns
    -------
    str
        The self-contained HTML page.
    """
    esc = result["domino"].get("escalation") or {}
    adm = result.get("admission") or {}
    plots = {"base": fn_svg([tuple(p) for p in result["fn"]["curve"]], "社会风险 F–N 曲线（现状）")}
    if esc.get("fn"):
        plots["domino"] = fn_svg([tuple(p) for p in esc["fn"]["curve"]], "社会风险 F–N 曲线（计入多米诺效应）")
    if adm.get("fn"):
        plots["proposed"] = fn_svg([tuple(p) for p in adm["fn"]["curve"]], "社会风险 F–N 曲线（增加拟建项目后）")
    dom = result["domino"]
    pairs = sorted(dom["pairs"], key=lambda p: -(p.get("probability") or 0.0))[:MAX_PAIRS]
    chains = sorted(dom["chains"], key=lambda c: -len(c["ids"]))[:MAX_CHAINS]
    return render(
        "park_report.html.j2",
        r=result,
        pairs=pairs,
        chains=chains,
        fn_rows=_fn_rows(result),
        adm=adm,
        esc=esc,
        map=_map(result, crs),
        plots=plots,
        level_colours=LEVEL_COLOURS,
        when=stamp(generated, tz),
    )


def _fn_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """F of N or more deaths (per year) now, with escalation and with the proposed unit, side by side."""
    esc = (result["domino"].get("escalation") or {}).get("fn") or {}
    adm = (result.get("admission") or {}).get("fn") or {}
    rows = []
    for i, point in enumerate(result["fn"]["f_at"]):
        rows.append(
            {
                "n": point["n"],
                "base": point["f_per_year"],
                "domino": esc["f_at"][i]["f_per_year"] if esc else None,
                "proposed": adm["f_at"][i]["f_per_year"] if adm else None,
            }
        )
    return rows


def report_pdf(html: str, chromium_path: Path | str) -> bytes:
    """The report printed to A4 PDF by headless Chromium (``PrintUnavailable`` when missing: HTTP 503)."""
    return indicators_report.report_pdf(html, chromium_path)
