"""The fire-access review as a printable HTML report and as a CSV table of findings.

The HTML comes from ``templates/access_review.html.j2`` (on ``base.html.j2``).
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from safemap.api.reports._jinja import render
from safemap.api.reports.clock import stamp
from safemap.layers.csvsafe import csv_writer

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
    w = csv_writer(buf)  # formula-like text gets a leading '
    w.writerow([label for _, label in _COLUMNS])
    for f in review["findings"]["features"]:
        p = f["properties"]
        w.writerow(
            ["" if p.get(k) is None else (_LAYER.get(p[k], p[k]) if k == "layer" else p[k]) for k, _ in _COLUMNS]
        )
    return buf.getvalue()


def render_html(
    review: dict[str, Any], title: str, late: list[dict[str, Any]], tz: dt.tzinfo | str | None = None
) -> str:
    """A self-contained page (no scripts, print CSS) a fire officer can print or save as PDF.

    Parameters
    ----------
    review
        The fire-access review as the service returns it (``standard``, ``summary``,
        ``findings``, ``sites``, ``rules``, optional ``township`` and ``dem``).
    title
        The deployment's title (the county), shown under the heading.
    late
        The sites that fail the arrival-time standard, as
        :func:`safemap.api.services.access_review.late_sites` finds them (the rule is the
        service's; the report only lists them).
    tz
        Zone the report is dated in (the store's, ``SAFEMAP_TIMEZONE``); never the server's.

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
        when=stamp(tz=tz),
        std=review["standard"],
        dem=review.get("dem") or {},
        groups=list(groups.items()),
        late=late,
        layer_names=_LAYER,
    )
