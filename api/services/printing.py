"""Printing: the 调度单 of a confirmed dispatch batch, and the map as PDF/PNG rendered by headless Chromium.

* :func:`dispatch_sheet` reads the ``dispatches`` rows of one batch (``plan_id``, written by
  :func:`layers.dispatching.confirm`) with their teams, depots, incident and routes, in
  ``SAFEMAP_TIMEZONE``; :func:`dispatch_sheet_html` renders the A4 page.
* :func:`render_map` opens the app's own map page in headless Chromium (Debian's
  ``/usr/bin/chromium``, ``SAFEMAP_CHROMIUM_PATH``), applies the browser's map state
  (centre, zoom, visible layers, basemap) and the same print layout the browser's 打印
  button uses (``SafeMap.print``, webmap/static/js/print.js), and returns PDF or PNG bytes.
  Without Chromium or Playwright it raises :class:`PrintUnavailable` (HTTP 503) saying
  how to install them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from safemap.api.reports._jinja import render
from safemap.api.reports.clock import local_text as _local
from safemap.api.services.dispatch import durations
from safemap.layers.enums import VEHICLE_PROFILE
from safemap.layers.errors import FeatureNotFound
from safemap.layers.model import utc_now
from safemap.layers.network_tables import DISPATCH_STATUS
from safemap.layers.store import FeatureStore

Paper = Literal["A4", "A3"]
#: Landscape page sizes in CSS pixels (96 per inch), as the print layout lays them out.
PAPER_PX: dict[str, tuple[int, int]] = {"A4": (1123, 794), "A3": (1587, 1123)}
INSTALL_HINT = (
    "请在服务器上安装 Chromium：sudo apt-get install chromium（或设置 SAFEMAP_CHROMIUM_PATH 指向已安装的 Chromium）"
)
BROWSER_HINT = "也可在地图上用“打印”按钮由浏览器打印。"


class PrintUnavailable(Exception):
    """The server cannot render (no Chromium or no Playwright): HTTP 503 with the Chinese reason."""


def distance_text(metres: float | None) -> str:
    """Metres as ``850 m`` below 1 km, else ``12.3 km``."""
    if metres is None:
        return "—"
    return f"{metres:.0f} m" if metres < 1000 else f"{metres / 1000:.1f} km"


def _names(store: FeatureStore, layer: str, ids: set[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    page = store.query(layer, ids=sorted(ids), limit=None, count=False, children=False)
    return {int(r["id"]): r for r in page.rows}


def dispatch_sheet(store: FeatureStore, plan_id: str, *, map_unit: str = "") -> dict[str, Any]:
    """The 调度单 of batch ``plan_id``: incident, each team/depot with vehicle, route 分秒 and km, times.

    Raises
    ------
    FeatureNotFound
        No dispatch has that batch id (HTTP 404).
    """
    page = store.query("dispatches", filters={"plan_id": [plan_id]}, limit=None, count=False, children=False)
    if not page.rows:
        raise FeatureNotFound(f"没有调度单号 {plan_id}")
    tz = store.tz
    rows = sorted(page.rows, key=lambda r: int(r["id"]))
    teams = _names(store, "rescue_teams", {int(r["team_id"]) for r in rows if r.get("team_id")})
    depots = _names(store, "material_depots", {int(r["depot_id"]) for r in rows if r.get("depot_id")})
    first = rows[0]
    incident: dict[str, Any] = {
        "id": first.get("incident_id"),
        "name": None,
        "kind": None,
        "lon": first.get("incident_lon"),
        "lat": first.get("incident_lat"),
        "reported_at": None,
        "address": None,
    }
    if first.get("incident_id"):
        found = store.query("incidents", ids=[int(first["incident_id"])], limit=1, count=False, children=False).rows
        if found:
            from safemap.layers.enums import INCIDENT_KIND

            inc = found[0]
            incident.update(
                name=inc.get("name"),
                kind=INCIDENT_KIND.label(inc.get("kind")),
                reported_at=_local(inc.get("reported_at"), tz),
                address=inc.get("address"),
            )
    items = []
    for k, r in enumerate(rows, 1):
        team = teams.get(int(r["team_id"])) if r.get("team_id") else None
        depot = depots.get(int(r["depot_id"])) if r.get("depot_id") else None
        who = team or depot or {}
        items.append(
            {
                "n": k,
                "kind": "救援队伍" if r.get("team_id") else "物资储备库",
                "name": who.get("name") or f"编号 {r.get('team_id') or r.get('depot_id')}",
                "phone": who.get("phone") or who.get("contact_phone") or who.get("duty_phone"),
                "vehicle": VEHICLE_PROFILE.label(r.get("vehicle")) or "—",
                "eta": durations(r.get("eta_s")),
                "distance": distance_text(r.get("distance_m")),
                "materials": r.get("materials"),
                "status": DISPATCH_STATUS.label(r.get("status")) or r.get("status"),
                "confirmed_at": _local(r.get("confirmed_at"), tz),
                "arrived_at": _local(r.get("arrived_at"), tz),
                "released_at": _local(r.get("released_at"), tz),
            }
        )
    return {
        "plan_id": plan_id,
        "incident": incident,
        "items": items,
        "dispatcher": first.get("dispatcher") or "—",
        "confirmed_at": _local(first.get("confirmed_at"), tz),
        "note": first.get("note"),
        "map_unit": map_unit,
        "printed_at": utc_now().astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        "timezone": str(tz),
    }


def dispatch_sheet_html(store: FeatureStore, plan_id: str, *, map_unit: str = "") -> str:
    """The printable A4 调度单 (HTML, no script, nothing fetched)."""
    return render("dispatch_sheet.html.j2", **dispatch_sheet(store, plan_id, map_unit=map_unit))


# ---------------------------------------------------------------------------- the map, server-side
@dataclass(frozen=True)
class PrintJob:
    """What the browser sends to ``POST /api/print``: its map state and the page wanted."""

    center: tuple[float, float]  # lat, lon
    zoom: float
    layers: tuple[str, ...] | None = None
    basemap: str | None = None
    paper: Paper = "A4"
    fmt: Literal["pdf", "png"] = "pdf"
    title: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def render_map(page_url: str, job: PrintJob, chromium: Path, timeout_s: float = 40.0) -> bytes:
    """Render the map page at ``page_url`` with ``job``'s state as PDF or PNG bytes.

    Raises
    ------
    PrintUnavailable
        Chromium or Playwright is missing, or the page did not render in time.
    """
    if not chromium.exists():
        raise PrintUnavailable(f"服务器端打印不可用：未找到 Chromium（{chromium}）。{INSTALL_HINT}。{BROWSER_HINT}")
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        why = f"服务器端打印不可用：未安装 playwright（pip install playwright）。{BROWSER_HINT}"
        raise PrintUnavailable(why) from None
    width, height = PAPER_PX[job.paper]
    state = {
        "center": list(job.center),
        "zoom": job.zoom,
        "layers": None if job.layers is None else list(job.layers),
        "basemap": job.basemap,
        "title": job.title,
    }
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(chromium),
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
            )
            try:
                context = browser.new_context(
                    viewport={"width": width, "height": height},
                    device_scale_factor=2 if job.fmt == "png" else 1,
                    locale="zh-CN",
                )
                page = context.new_page()
                page.goto(page_url, timeout=timeout_s * 1000)
                page.wait_for_function(
                    "() => !!(window.SafeMap && SafeMap.state && SafeMap.state.ready === true)",
                    timeout=timeout_s * 1000,
                )
                page.evaluate("([paper, st]) => SafeMap.print.prepare(paper, st)", [job.paper, state])
                if job.fmt == "png":
                    return page.screenshot(full_page=False, type="png")
                return page.pdf(prefer_css_page_size=True, print_background=True)
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise PrintUnavailable(f"服务器端打印失败：{str(exc).splitlines()[0]}。{INSTALL_HINT}") from None
