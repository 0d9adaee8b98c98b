"""The 选址核查 (planner) panel in headless Chromium against the demo county, offline.

Screenshots go to ``/tmp/safemap-planner-*.png``.
"""

from __future__ import annotations

from typing import Any

import pytest
from shapely.geometry import shape

from safemap.layers.store import FeatureStore
from tests.webmap.browsing import LiveServer, Visit

pytestmark = pytest.mark.browser


def test_site_check_on_the_map(browser: Any, county_server: LiveServer, graded_county: FeatureStore) -> None:
    tank = graded_county.query("hazard_sources", q="城东加油站", limit=1).features()[0]
    c = shape(tank["geometry"]).centroid
    v = Visit(browser, county_server.url)
    try:
        v.page.click(".sm-dock-tab[data-panel=planner]")
        v.page.select_option(".sm-pl-kind", "school")
        v.page.fill(".sm-pl-name", "城东新建小学")
        # Place the site by clicking the map where the point is drawn.
        v.js("(ll) => { SafeMap.state.map.setView(ll, 17, {animate: false}); }", [c.y, c.x + 0.0003])
        v.page.click(".sm-pl-click")
        box = v.page.locator("#" + v.js("SafeMap.state.map.getContainer().id")).bounding_box()
        point = v.js(
            "(ll) => { const p = SafeMap.state.map.latLngToContainerPoint(ll); return [p.x, p.y]; }",
            [c.y, c.x + 0.0003],
        )
        v.page.mouse.click(box["x"] + point[0], box["y"] + point[1])
        assert v.js("SafeMap.panel('planner').geometry.type") == "Point"
        v.painted()
        assert v.page.locator(".leaflet-popup").count() == 0  # placing a site opens no feature popup
        v.page.click(".sm-pl-run")
        v.page.wait_for_selector(".sm-pl-verdict", timeout=30_000)
        verdict = v.page.inner_text(".sm-pl-verdict")
        assert "城东新建小学" in verdict and "不符合" in verdict
        assert "GB 50156-2021 4.0.4" in v.page.inner_text(".sm-pl-checks")
        # The failing distance is labelled on the map: actual/required metres.
        labels = v.page.locator(".sm-pl-dist.sm-pl-fail").all_inner_texts()
        assert labels and labels[0].endswith("/40 m")
        v.page.screenshot(path="/tmp/safemap-planner-school.png")

        # Overlays: risk raster (an image with bounds), major-hazard grades, violations.
        for name in ("risk", "grades", "violations", "fourcolour"):
            v.page.check(f"[data-overlay={name}]")
        v.page.wait_for_function("Object.keys(SafeMap.panel('planner').overlays).length === 4", timeout=30_000)
        assert v.js("SafeMap.panel('planner').overlays.risk.getElement().tagName") == "IMG"
        legend = v.page.inner_text(".sm-pl-legend")
        for text in ("四级", "个人风险", "现有安全间距核查", "不符合 6 处", "红（重大风险）"):
            assert text in legend, text

        # Draw a polygon LPG depot: three clicks and a double click.
        v.page.select_option(".sm-pl-kind", "lpg_depot")
        v.page.fill(".sm-pl-name", "")
        v.js("(ll) => { SafeMap.state.map.setView(ll, 16, {animate: false}); }", [c.y + 0.002, c.x + 0.004])
        v.page.click(".sm-pl-draw")
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        for dx, dy in ((0, 0), (60, 0), (60, 40)):
            v.page.mouse.click(cx + dx, cy + dy)
        v.page.mouse.dblclick(cx, cy + 40)
        assert v.js("SafeMap.panel('planner').geometry.type") == "Polygon"
        assert v.js("SafeMap.panel('planner').geometry.coordinates[0].length") == 5  # 4 vertices + closing point
        v.page.click(".sm-pl-run")
        v.page.wait_for_function(
            "document.querySelector('.sm-pl-verdict').textContent.indexOf('液化石油气') >= 0", timeout=30_000
        )
        assert "BLEVE" in v.page.inner_text(".sm-pl-result")
        # Export: the HTML report opens in a new tab.
        with v.context.expect_page() as popup:
            v.page.click(".sm-pl-export button[data-fmt=html]")
        report = popup.value
        report.wait_for_load_state()
        assert "选址安全间距核查报告" in report.content()
        v.page.screenshot(path="/tmp/safemap-planner-lpg.png")
        assert v.blocked == [] and v.errors == [] and v.console == []
    finally:
        v.close()


SHOTS = "/tmp/shots-verdicts"


def _place(v: Visit, lat: float, lon: float, zoom: int = 17) -> None:
    v.js("(a) => { SafeMap.state.map.setView([a[0], a[1]], a[2], {animate: false}); }", [lat, lon, zoom])
    v.js("(ll) => SafeMap.panel('planner').setSite({type: 'Point', coordinates: ll})", [lon, lat])


@pytest.mark.parametrize("size", [(1600, 1000), (1366, 768), (390, 844)])
def test_ungradable_station_shows_cannot_check(
    browser: Any, county_server: LiveServer, graded_county: FeatureStore, size: tuple[int, int]
) -> None:
    """Issue 11: 汽油 200 m³ + 柴油 100 m³ (V = 250 m³ > 210 m³, GB 50156 表3.0.9) has no grade: 无法核查."""
    tank = graded_county.query("hazard_sources", q="城东加油站", limit=1).features()[0]
    c = shape(tank["geometry"]).centroid
    v = Visit(browser, county_server.url, size=size)
    try:
        v.page.click(".sm-dock-tab[data-panel=planner]")
        v.page.select_option(".sm-pl-kind", "fuel_station")
        v.page.fill(".sm-pl-name", "拟建城东二号加油站")
        v.page.fill("[data-prop=gasoline_m3]", "200")
        v.page.fill("[data-prop=diesel_m3]", "100")
        v.page.fill("[data-prop=max_tank_m3]", "50")
        _place(v, c.y + 0.0004, c.x + 0.0006)
        v.page.click(".sm-pl-run")
        v.page.wait_for_selector(".sm-pl-verdict.sm-pl-unknown", timeout=30_000)
        verdict = v.page.inner_text(".sm-pl-verdict")
        assert "拟建城东二号加油站：无法核查" in verdict
        assert "汽油 200 m³、柴油 100 m³ 超出 GB 50156 一级站容积上限，无法定级" in verdict
        for word in ("符合 ", "不符合 ", "无法核查 "):
            assert word in verdict
        assert "请现场核实" in v.page.inner_text(".sm-pl-unchecked")
        v.page.locator(".sm-pl-verdict").scroll_into_view_if_needed()
        v.page.screenshot(path=f"{SHOTS}/planner-station-{size[0]}x{size[1]}.png")
        if size[0] < 500:
            # On a phone the page's layer tree (expanded by default, webmap/page.py) covers the panel;
            # a second picture without it shows what the panel itself says.
            v.js("document.querySelector('.leaflet-control-layers').style.visibility = 'hidden'")
            v.page.screenshot(path=f"{SHOTS}/planner-station-{size[0]}x{size[1]}-no-layer-tree.png")
            v.js("document.querySelector('.leaflet-control-layers').style.visibility = ''")

        # A proposed hospital (split by beds in GB 50156 附录B) 20 m from the station: 无法核查 with the reason;
        # the same hospital entered as 一类保护物 is checked (二级 station, unloading recovery: 16 m, 表4.0.4).
        v.page.select_option(".sm-pl-kind", "hospital")
        v.page.fill(".sm-pl-name", "拟建城东医院")
        assert v.page.locator("[data-prop=gb50156_class] option").first.inner_text() == "按类别推定"
        tank_shape = shape(tank["geometry"])
        _x0, y0, x1, y1 = tank_shape.bounds
        _place(v, (y0 + y1) / 2, x1 + 20 / 77_100)
        v.page.click(".sm-pl-run")
        v.page.wait_for_function(
            "document.querySelector('.sm-pl-verdict').textContent.indexOf('医院') >= 0", timeout=30_000
        )
        assert "无法核查" in v.page.inner_text(".sm-pl-verdict")
        assert "床位" in v.page.inner_text(".sm-pl-result")
        assert "可在上方“GB 50156 保护物类别”中选择" in v.page.inner_text(".sm-pl-class")
        assert v.page.locator(".sm-pl-dist.sm-pl-unsure").count() >= 1
        v.page.locator(".sm-pl-verdict").scroll_into_view_if_needed()
        v.page.screenshot(path=f"{SHOTS}/planner-hospital-{size[0]}x{size[1]}.png")
        v.page.select_option("[data-prop=gb50156_class]", "civil_1")
        v.page.click(".sm-pl-run")
        v.page.wait_for_function(
            "document.querySelector('.sm-pl-class') && "
            "document.querySelector('.sm-pl-class').textContent.indexOf('目标已填写') >= 0",
            timeout=30_000,
        )
        assert v.blocked == [] and v.errors == [] and v.console == []
    finally:
        v.close()
