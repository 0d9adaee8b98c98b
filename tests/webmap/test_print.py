"""Printing: the map's print layout (browser print and server PDF/PNG) and the 调度单 of a dispatch.

Screenshots: /tmp/shots14/print-a4.png (the sheet as the browser prints it), print-server.png
(the PNG the server renders), dispatch-sheet.png.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from safemap.api.services import dispatch as dispatch_service
from safemap.layers.enums import VEHICLE_PROFILE
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from tests.webmap.browsing import LiveServer, Visit, app_for

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots14")
UNIT = "裕民县应急管理局测绘组"


def _pdf_text(pdf: bytes) -> str:
    """Every text-showing operand of the PDF's (Flate) content streams, as raw bytes decoded latin-1.

    Chromium embeds CJK as CID fonts, so the Chinese itself is not readable without the
    ToUnicode maps; the tests look for the PDF structure and the glyph count instead.
    """
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            out.append(zlib.decompress(m.group(1)).decode("latin-1"))
        except zlib.error:
            continue
    return "\n".join(out)


@pytest.fixture(scope="module")
def server(demo_store: FeatureStore) -> Any:
    srv = LiveServer(app_for(demo_store, map_unit=UNIT, title="裕民县打印测试图"))
    yield srv
    srv.stop()


def test_print_layout_has_title_legend_scale_north_date_sources_and_unit(browser: Any, server: LiveServer) -> None:
    SHOTS.mkdir(exist_ok=True)
    v = Visit(browser, server.url, size=(1600, 1000))
    try:
        before = v.js("() => [SafeMap.state.map.getCenter().lat, SafeMap.state.map.getZoom()]")
        v.js("() => { SafeMap.state.map.removeLayer(SafeMap.state.layers.hydrants); }")  # a hidden layer
        v.js("() => SafeMap.print.prepare('A4')")
        v.page.screenshot(path=str(SHOTS / "print-a4.png"))
        sheet = v.js(
            "() => { const r = document.querySelector('.folium-map').getBoundingClientRect(); "
            "return [r.width, r.height]; }"
        )
        assert 1000 < sheet[0] < 1123 and 650 < sheet[1] < 794  # inside 297×210 mm at 96 dpi
        assert v.page.inner_text(".sm-print-title") == "裕民县打印测试图"
        foot = v.page.inner_text(".sm-print-foot")
        assert f"制图单位：{UNIT}" in foot
        today = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
        assert f"制图日期：{today:%Y年%m月%d日}" in foot
        assert "数据来源：" in foot and "DataV" in foot
        legend = v.page.inner_text(".sm-print-legend")
        assert "图  例" in legend or "图 例" in legend or "图" in legend
        assert "危险化学品企业" in legend or "企业" in legend
        assert v.page.locator(".sm-print-legend [data-layer=hydrants]").count() == 0  # only visible layers
        assert v.page.locator(".sm-print-north svg").is_visible()
        assert v.page.locator(".leaflet-control-scale").is_visible()
        assert not v.page.locator(".sm-header").is_visible()
        assert not v.page.locator(".sm-dock").is_visible()
        # What Chromium prints: one landscape A4 page (print media, the page's own @page size).
        v.page.emulate_media(media="print")
        pdf = v.page.pdf(prefer_css_page_size=True, print_background=True)
        assert pdf.startswith(b"%PDF")
        assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
        box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)", pdf)
        assert box and float(box.group(1)) > float(box.group(2))  # landscape
        assert abs(float(box.group(1)) - 842) < 3  # 297 mm in points
        assert "Tj" in _pdf_text(pdf) or "TJ" in _pdf_text(pdf)  # text drawn (title, legend, unit)
        v.page.emulate_media(media="screen")
        v.js("() => SafeMap.print.done()")
        assert not v.js("() => document.documentElement.classList.contains('sm-print')")
        after = v.js("() => [SafeMap.state.map.getCenter().lat, SafeMap.state.map.getZoom()]")
        assert after[1] == before[1] and abs(after[0] - before[0]) < 1e-6
        assert v.page.locator(".sm-print-legend").count() == 0
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()


def test_print_button_offers_paper_and_exports(browser: Any, server: LiveServer) -> None:
    v = Visit(browser, server.url, size=(1366, 768))
    try:
        v.page.click(".sm-print-btn")
        form = v.page.locator(".sm-print-form")
        assert form.is_visible()
        assert v.page.locator(".sm-print-form select[name=paper] option").all_inner_texts() == ["A4 横向", "A3 横向"]
        assert "导出PNG" in form.inner_text() and "打印" in form.inner_text()
    finally:
        v.close()


def test_server_renders_the_map_as_pdf_and_png(server: LiveServer) -> None:
    SHOTS.mkdir(exist_ok=True)
    state = {"center": [46.2, 82.98], "zoom": 10, "layers": ["enterprises", "roads"], "paper": "A4"}
    r = httpx.post(server.url + "api/print", json={**state, "format": "pdf", "title": "服务器打印"}, timeout=90)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)", r.content)
    assert box and float(box.group(1)) > float(box.group(2))
    r = httpx.post(server.url + "api/print", json={**state, "paper": "A3", "format": "png"}, timeout=90)
    assert r.status_code == 200, r.text
    assert r.content.startswith(b"\x89PNG")
    (SHOTS / "print-server.png").write_bytes(r.content)
    width, height = int.from_bytes(r.content[16:20], "big"), int.from_bytes(r.content[20:24], "big")
    assert (width, height) == (1587 * 2, 1123 * 2)


def test_print_without_chromium_says_how_to_install(demo_store: FeatureStore, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    app = app_for(demo_store, chromium_path=tmp_path / "no-chromium")
    with TestClient(app) as client:
        r = client.post("/api/print", json={"center": [46.2, 82.98], "zoom": 10})
    assert r.status_code == 503
    assert "apt-get install chromium" in r.json()["message"]
    assert "打印" in r.json()["message"]


def test_dispatch_sheet(browser: Any, demo_copy: FeatureStore) -> None:
    SHOTS.mkdir(exist_ok=True)
    team = demo_copy.query("rescue_teams", filters={"status": ["available"]}, limit=1, count=False)
    team_id, start = int(team.rows[0]["id"]), team.geometries[0]
    incident = (start.x + 0.05, start.y + 0.03)
    body = dispatch_service.ConfirmInput(
        incident=incident,
        incident_id=None,
        teams=(dispatch_service.TeamOrder(team_id, "fire_engine", 564.3, 9404.6, None),),
        depots=(),
        note="演练",
    )
    result = dispatch_service.confirm(demo_copy, Actor("调度员甲", "dispatcher"), body)
    plan_id = result["plan_id"]
    confirmed = dt.datetime.fromisoformat(str(result["dispatches"][0]["properties"]["confirmed_at"]))
    local = (confirmed if confirmed.tzinfo else confirmed.replace(tzinfo=dt.UTC)).astimezone(ZoneInfo("Asia/Shanghai"))
    server = LiveServer(app_for(demo_copy, map_unit=UNIT))
    v = Visit(browser, server.url + f"api/dispatch/{plan_id}/sheet", size=(900, 1200), ready=None)
    try:
        text = v.page.inner_text("body")
        v.page.screenshot(path=str(SHOTS / "dispatch-sheet.png"), full_page=True)
        assert "调 度 单" in text and plan_id in text
        assert team.rows[0]["name"] in text
        assert "9分24秒" in text and "9.4 km" in text
        assert "564.3" not in text and "9404.6" not in text
        assert f"{local:%Y-%m-%d %H:%M}" in text  # county time, not UTC
        assert "Asia/Shanghai" in text and UNIT in text
        assert VEHICLE_PROFILE.label("fire_engine") in text
        pdf = v.page.pdf(format="A4")
        assert pdf.startswith(b"%PDF")
        missing = httpx.get(server.url + "api/dispatch/nosuchplan/sheet")
        assert missing.status_code == 404 and "没有调度单号" in missing.json()["message"]
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()
        server.stop()
