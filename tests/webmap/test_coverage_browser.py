"""The 覆盖与通道 (coverage) panel in headless Chromium against the demo county, offline.

Screenshots go to ``/tmp/safemap-coverage-*.png``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.webmap.browsing import LiveServer, Visit

pytestmark = pytest.mark.browser


def test_coverage_panel_on_the_map(browser: Any, county_server: LiveServer) -> None:
    v = Visit(browser, county_server.url)
    try:
        v.page.click(".sm-dock-tab[data-panel=coverage]")
        # Service areas: four bands drawn, with their areas in the legend.
        v.page.click(".sm-cv-areas")
        v.page.wait_for_selector(".sm-cv-legend div", timeout=60_000)
        assert v.js("SafeMap.panel('coverage').bands.getLayers().length") == 4
        legend = v.page.inner_text(".sm-cv-legend")
        assert "0–5 分钟" in legend and "15–30 分钟" in legend and "非凸包" in legend
        v.js("() => { SafeMap.state.map.setView([46.19, 82.99], 12, {animate: false}); }")
        v.page.screenshot(path="/tmp/safemap-coverage-areas.png")

        # Coverage report: shares, uncovered list; clicking one shows it on the map.
        v.page.click(".sm-cv-tabs button[data-tab=report]")
        assert v.js("SafeMap.state.map.hasLayer(SafeMap.panel('coverage').bands)") is False
        v.page.click(".sm-cv-report")
        v.page.wait_for_selector(".sm-cv-report-out table", timeout=60_000)
        out = v.page.inner_text(".sm-cv-report-out")
        assert "GB 51080-2015" in out and "防护目标" in out and "未覆盖" in out
        v.page.click(".sm-cv-report-out li[data-layer=protected_targets]")
        v.page.wait_for_selector(".leaflet-popup", timeout=10_000)

        # Location-allocation: one new station, before/after drawn.
        v.page.click(".sm-cv-tabs button[data-tab=locate]")
        v.page.fill(".sm-cv-k", "1")
        v.page.click(".sm-cv-locate")
        v.page.wait_for_selector(".sm-cv-locate-out table", timeout=60_000)
        assert v.page.locator(".sm-cv-site").count() == 1
        assert "已证明最优" in v.page.inner_text(".sm-cv-locate-out")
        v.page.screenshot(path="/tmp/safemap-coverage-locate.png")

        # Fire-access review: the deficient lanes drawn, each finding with its clause.
        v.page.click(".sm-cv-tabs button[data-tab=review]")
        v.page.click(".sm-cv-review")
        v.page.wait_for_selector(".sm-cv-review-out table", timeout=120_000)
        text = v.page.inner_text(".sm-cv-review-out")
        assert "GB 50016-2014" in text and "GB 50974-2014" in text and "净宽 3.6 m" in text
        lanes = v.js(
            """SafeMap.panel('coverage').last.review.findings.features
                 .filter(f => f.properties.layer === 'fire_lanes').length"""
        )
        assert lanes >= 8
        v.page.click(".sm-cv-review-out li[data-layer=fire_lanes]")
        v.js("() => { SafeMap.state.map.setView([46.204, 82.985], 15, {animate: false}); }")
        v.page.screenshot(path="/tmp/safemap-coverage-review.png")
        with v.context.expect_page() as popup:
            v.page.click(".sm-cv-links a[target=_blank]")
        report = popup.value
        report.wait_for_load_state()
        assert "消防车通道与消火栓核查报告" in report.content()
        assert v.blocked == [] and v.errors == [] and v.console == []
    finally:
        v.close()
