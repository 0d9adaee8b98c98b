"""坐标定位: typed coordinates (decimal or 度分秒, full-width, 东经/北纬, latitude first) and 复制坐标."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from safemap.layers.store import FeatureStore
from tests.webmap.browsing import LiveServer, Visit, app_for

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots14")
LON = 82 + 58 / 60 + 47 / 3600
LAT = 46 + 12 / 60 + 1 / 3600


@pytest.fixture(scope="module")
def server(demo_store: FeatureStore) -> Iterator[LiveServer]:
    s = LiveServer(app_for(demo_store))
    yield s
    s.stop()


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    k = math.pi / 180
    dx = (lon2 - lon1) * k * math.cos(lat1 * k) * 6_371_000
    dy = (lat2 - lat1) * k * 6_371_000
    return math.hypot(dx, dy)


def _locate(v: Visit, text: str, crs: str = "WGS84") -> tuple[float, float]:
    page = v.page
    if page.locator(".sm-coord-form").is_hidden():
        page.click(".sm-coord-toggle")
    page.fill(".sm-coord-input", text)
    page.select_option(".sm-coord-crs", crs)
    page.click(".sm-coord-go")
    expect(page.locator(".sm-coord-msg")).to_contain_text("已定位到", timeout=10_000)
    v.painted()
    return tuple(v.js("() => { const c = SafeMap.state.map.getCenter(); return [c.lat, c.lng]; }"))


@pytest.mark.parametrize(
    "text",
    [
        "82°58′47″E 46°12′01″N",
        "东经82°58′47″，北纬46°12′01″",
        "４６°１２′０１″Ｎ　８２°５８′４７″Ｅ",
        f"{LAT:.7f}, {LON:.7f}",  # latitude first, no letters: swapped by the county's extent
    ],
)
def test_typed_coordinates_go_to_the_place(browser: Any, server: LiveServer, text: str) -> None:
    v = Visit(browser, server.url, size=(1600, 1000))
    try:
        lat, lon = _locate(v, text, "CGCS2000" if "东经" in text else "WGS84")
        assert _metres(lat, lon, LAT, LON) < 1.0
        marker = v.js("() => { const m = SafeMap.coords.marker.getLatLng(); return [m.lat, m.lng]; }")
        assert _metres(marker[0], marker[1], LAT, LON) < 1.0
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()


def test_unreadable_coordinates_say_why(browser: Any, server: LiveServer) -> None:
    v = Visit(browser, server.url)
    try:
        v.page.click(".sm-coord-toggle")
        v.page.fill(".sm-coord-input", "82°75′00″E 46°12′01″N")
        v.page.click(".sm-coord-go")
        expect(v.page.locator(".sm-coord-msg")).to_contain_text("分或秒应小于 60")
    finally:
        v.close()


def test_copy_coordinates(browser: Any, server: LiveServer, demo_store: FeatureStore) -> None:
    v = Visit(browser, server.url, size=(1600, 1000))
    try:
        page = v.page
        v.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url.rstrip("/"))
        _locate(v, "82°58′47″E 46°12′01″N")
        # The 定位 marker's popup copies both forms.
        v.js("() => { SafeMap.coords.marker.openPopup(); }")
        page.click(".leaflet-popup .sm-copy-coords")
        expected = "82.979722, 46.200278\n82°58′47.00″E 46°12′01.00″N"
        page.wait_for_function("t => SafeMap.coords.lastCopied === t", arg=expected)
        assert page.evaluate("() => navigator.clipboard.readText()") == expected
        expect(page.locator(".sm-toast")).to_contain_text("已复制坐标")
        # A feature's popup copies its point.
        hydrant = demo_store.query("hydrants", limit=1)
        fid, geom = int(hydrant.rows[0]["id"]), hydrant.geometries[0]
        v.js("() => { SafeMap.state.map.closePopup(); }")
        page.wait_for_function("() => document.querySelectorAll('.leaflet-popup').length === 0")
        v.js("id => { SafeMap.show('hydrants', id); }", fid)
        v.popup_shown()
        page.click(".leaflet-popup .sm-copy-coords")
        decimal = f"{geom.x:.6f}, {geom.y:.6f}"
        page.wait_for_function("x => (SafeMap.coords.lastCopied || '').startsWith(x)", arg=decimal)
        # A right-click anywhere offers the same.
        box = page.locator(".leaflet-container").bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, button="right")
        menu = page.locator(".sm-coord-menu")
        expect(menu).to_be_visible()
        assert "°" in menu.inner_text() and "″" in menu.inner_text()
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "coords-menu-desktop.png"))
        menu.locator(".sm-copy-coords").click()
        page.wait_for_function("() => /″N$/.test(SafeMap.coords.lastCopied)")
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()


@pytest.mark.parametrize("size", [(1600, 1000), (1366, 768), (390, 844)])
def test_coordinate_control_screenshots(browser: Any, server: LiveServer, size: tuple[int, int]) -> None:
    v = Visit(browser, server.url, size=size)
    try:
        _locate(v, "82°58′47″E 46°12′01″N")
        SHOTS.mkdir(exist_ok=True)
        v.page.screenshot(path=str(SHOTS / f"coords-{size[0]}x{size[1]}.png"))
        form = v.page.locator(".sm-coord-form").bounding_box()
        assert form is not None and form["x"] + form["width"] <= size[0]
    finally:
        v.close()


def test_locate_endpoint(browser: Any, server: LiveServer) -> None:
    """GET api/locate/coordinates reads what the incident form reads; a bad text is a 422 naming why."""
    v = Visit(browser, server.url)
    try:
        ok = v.js("() => SafeMap.coords.read('46.200278 N, 82.979722 E', 'CGCS2000')")
        assert abs(ok["lon"] - 82.979722) < 1e-6 and abs(ok["lat"] - 46.200278) < 1e-6
        assert any("调换" in n for n in ok["notes"]) and any("CGCS2000" in n for n in ok["notes"])
        status = v.js(
            "() => fetch(SafeMap.url('api/locate/coordinates?text=abc')).then(r => r.json().then(b => [r.status, b]))"
        )
        assert status[0] == 422 and status[1]["problems"][0]["field"] == "text"
    finally:
        v.close()
