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
        for text in ("四级", "个人风险", "现有安全间距违规：6 处", "红（重大风险）"):
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
