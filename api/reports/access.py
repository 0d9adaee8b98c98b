"""The fire-access review as a printable HTML report and as a CSV table of findings.

The HTML comes from ``templates/access_review.html.j2`` (on ``base.html.j2``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from safemap.api.reports._jinja import render

_COLUMNS = (
    ("rule", "规则代码"),
    ("label", "规则"),
    ("layer", "图层"),
    ("feature_id", "要素编号"),
    ("name", "名称"),
    ("measured", "实测值"),
    ("comparison", "要求"),
    ("required", "限值"),
    ("unit", "单位"),
    ("clause", "条款"),
    ("basis", "依据"),
    ("lon", "经度"),
    ("lat", "纬度"),
    ("message", "说明"),
)
_LAYER = {
    "fire_lanes": "消防车道",
    "hydrants": "消火栓",
    "roads": "道路",
    "enterprises": "企业",
    "protected_targets": "防护目标",
}


def findings_csv(review: dict[str, Any]) -> str:
    """One row per finding with Chinese headers (Excel opens it with the BOM the route adds)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([label for _, label in _COLUMNS])
    for f in review["findings"]["features"]:
        p = f["properties"]
        w.writerow(
            ["" if p.get(k) is None else (_LAYER.get(p[k], p[k]) if k == "layer" else p[k]) for k, _ in _COLUMNS]
        )
    return buf.getvalue()


def _late_sites(review: dict[str, Any]) -> list[dict[str, Any]]:
    """The sites a fire engine (or, for a high-rise, a ladder truck) cannot reach in time.

    NOTE(issue 9): this is a domain rule (which sites fail the arrival-time standard, and that
    the ladder counts only for high-rise sites); it belongs in the access-review service, which
    could hand the report these flags. Kept here, unchanged, until that move.
    """
    out = []
    for s in review["sites"]:
        engine_late = not s["engine"]["ok"]
        ladder_late = bool(s["high_rise"] and not s["ladder"]["ok"])
        if engine_late or ladder_late:
            out.append({"site": s, "engine_late": engine_late, "ladder_late": ladder_late})
    return out


def render_html(review: dict[str, Any], title: str) -> str:
    """A self-contained page (no scripts, print CSS) a fire officer can print or save as PDF.

    Parameters
    ----------
    review
        The fire-access review as the service returns it (``standard``, ``summary``,
        ``findings``, ``sites``, ``rules``, optional ``township`` and ``dem``).
    title
        The deployment's title (the county), shown under the heading.

    Returns
    -------
    str
        The HTML page, rendered from ``templates/access_review.html.j2``.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for f in review["findings"]["features"]:
        groups.setdefault(f["properties"]["label"], []).append(f["properties"])
    return render(
        "access_review.html.j2",
        review=review,
        title=title,
        when=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        std=review["standard"],
        dem=review.get("dem") or {},
        groups=list(groups.items()),
        late=_late_sites(review),
        layer_names=_LAYER,
    )
