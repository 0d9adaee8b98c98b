"""The 物资调配 panel in headless Chromium: two villages cut off by snow, a plan, its flows, confirmation.

Known answers (tests/api/test_allocation_api.py, data/demo/allocation_blizzard.csv): 融雪剂 is held by no
demo depot, so asking for it leaves a shortfall explained as 无库存; 棉被 is held, so 300 of them are sent.
"""

from __future__ import annotations

from typing import Any

import pytest

from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token
from tests.webmap.browsing import LiveServer, Visit, app_for

pytestmark = pytest.mark.browser


def test_plan_flows_shortfall_and_confirm(browser: Any, demo_copy: FeatureStore) -> None:
    server = LiveServer(app_for(demo_copy))
    token = create_token(demo_copy, "调度员甲", "dispatcher")
    v = Visit(browser, server.url, size=(1366, 768))
    try:
        v.page.on("dialog", lambda d: d.accept())
        v.js("t => SafeMap.setToken(t)", token)
        v.js("() => SafeMap.openPanel('allocation')")
        v.page.wait_for_function("() => document.querySelectorAll('.sm-al-settle option').length > 10", timeout=20_000)
        first = v.js("() => document.querySelector('.sm-al-settle optgroup option').value")
        v.page.select_option(".sm-al-settle", first)
        v.page.wait_for_selector(".sm-al-point")
        v.page.fill(".sm-al-iname", "棉被")
        v.page.dispatch_event(".sm-al-iname", "change")
        v.page.fill(".sm-al-qty", "300")
        v.page.dispatch_event(".sm-al-qty", "change")
        v.page.click(".sm-al-addi")
        v.page.locator(".sm-al-iname").nth(1).fill("融雪剂")
        v.page.locator(".sm-al-iname").nth(1).dispatch_event("change")
        v.page.locator(".sm-al-qty").nth(1).fill("5")
        v.page.locator(".sm-al-qty").nth(1).dispatch_event("change")
        v.page.click(".sm-al-solve")
        v.page.wait_for_selector(".sm-al-confirm", timeout=60_000)
        text = v.page.inner_text(".sm-al-result")
        assert "融雪剂" in v.page.inner_text(".sm-al-short") and "棉被" in text
        assert v.js("() => SafeMap.panel('allocation').drawn.getLayers().length") >= 2
        v.page.screenshot(path="/tmp/safemap-allocation-plan.png")
        v.page.click(".sm-al-confirm")
        confirmed = "() => document.querySelector('.sm-al-result').innerText.includes('已确认')"
        v.page.wait_for_function(confirmed, timeout=30_000)
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()
        server.wait_idle()
        server.stop()
