"""The 园区与矿山 panel in headless Chromium: domino arrows on the demo park, the tailings breach path.

Known answers from the demo county (tests/api/test_domino_api.py, tests/api/test_tailings_api.py):
the demo park has domino pairs (the LPG tanks reach each other by overpressure); the copper mine's
tailings pond releases 100.2 万m³ (Concha Larrauri & Lall 2018) over a synthetic DEM, which the
panel must say.
"""

from __future__ import annotations

from typing import Any

import pytest

from safemap.layers.store import FeatureStore
from tests.webmap.browsing import LiveServer, Visit, app_for

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(demo_store: FeatureStore) -> Any:
    live = LiveServer(app_for(demo_store))
    yield live
    live.wait_idle()
    live.stop()


def test_domino_tab_draws_arrows_and_lists_pairs(browser: Any, server: Any) -> None:
    v = Visit(browser, server.url)
    try:
        v.js("() => SafeMap.openPanel('park')")
        v.page.wait_for_function(
            "() => { const s = document.querySelector('.sm-park-domino-area'); return s && s.value !== ''; }",
            timeout=20_000,
        )
        assert "裕民县工业园区" in v.page.inner_text(".sm-park-domino-area")
        v.page.click(".sm-park-domino-run")
        v.page.wait_for_selector(".sm-park-domino-table", timeout=60_000)
        text = v.page.inner_text(".sm-park-domino-result")
        assert "冲击波超压" in text and "液化石油气" in text
        assert v.js("() => SafeMap.panel('park').ctx.layer('domino').getLayers().length") > 10
        v.page.wait_for_selector(".sm-park-domino-fn", timeout=60_000)
        v.page.screenshot(path="/tmp/safemap-park-domino.png")
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()


def test_tailings_tab_draws_the_path_and_says_the_dem_is_synthetic(browser: Any, server: Any) -> None:
    v = Visit(browser, server.url, size=(390, 844))
    try:
        v.js("() => SafeMap.openPanel('park')")
        v.js("() => SafeMap.panel('park').showTab('tailings')")
        v.page.wait_for_function(
            "() => { const s = document.querySelector('.sm-park-tailings-pond'); return s && s.value !== ''; }",
            timeout=20_000,
        )
        v.page.click(".sm-park-tailings-run")
        v.page.wait_for_selector(".sm-park-tailings-table", timeout=60_000)
        text = v.page.inner_text(".sm-park-tailings-result")
        assert "合成" in text and "100.2" in text
        assert v.js("() => SafeMap.panel('park').ctx.layer('tailings').getLayers().length") >= 2
        v.page.screenshot(path="/tmp/safemap-park-tailings-phone.png")
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()


def test_assessment_tab_gives_figures_a_verdict_and_the_report(browser: Any, server: Any) -> None:
    """The demo park without a proposed unit: the F–N verdict and the GB 36894 contours, and the HTML report opens."""
    v = Visit(browser, server.url, size=(1366, 768))
    try:
        v.js("() => SafeMap.openPanel('park')")
        v.js("() => SafeMap.panel('park').showTab('assess')")
        v.page.wait_for_function(
            "() => { const s = document.querySelector('.sm-park-assess-area'); return s && s.value !== ''; }",
            timeout=20_000,
        )
        v.page.click(".sm-park-assess-run")
        v.page.wait_for_selector(".sm-park-assess-verdict", timeout=90_000)
        text = v.page.inner_text(".sm-park-assess-result")
        assert "社会风险" in text and "个人风险" in text
        assert v.js("() => SafeMap.panel('park').ctx.layer('assess').getLayers().length") >= 1
        v.page.screenshot(path="/tmp/safemap-park-assess.png")
        with v.page.context.expect_page(timeout=90_000) as popup:
            v.page.click(".sm-park-assess-html")
        report = popup.value
        report.wait_for_load_state()
        assert "园区" in report.title() or "园区" in report.inner_text("h1")
        report.close()
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()
