"""The dispatch panel in headless Chromium: plan, routes drawn, confirm, live recolouring, 409 shown."""

from __future__ import annotations

from typing import Any

import pytest

from safemap.layers.enums import TEAM_STATUS
from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token
from tests.webmap.browsing import LiveServer, Visit, app_for

pytestmark = pytest.mark.browser


@pytest.fixture
def county(demo_copy: FeatureStore) -> FeatureStore:
    """The test dispatches and confirms: it writes, so it gets its own copy of the demo county."""
    return demo_copy


def test_plan_confirm_and_live_status(browser: Any, county: FeatureStore) -> None:
    app = app_for(county)
    app.state.events_poll_s = 0.2
    server = LiveServer(app)
    token = create_token(county, "调度员甲", "dispatcher")
    incident = county.query("enterprises", limit=10).geometries[5]
    a = Visit(browser, server.url)
    b = Visit(browser, server.url)
    try:
        a.js("t => SafeMap.setToken(t)", token)
        a.js("() => SafeMap.openPanel('dispatch')")
        a.js("([x, y]) => SafeMap.panel('dispatch').setIncident(L.latLng(y, x))", [incident.x, incident.y])
        a.page.fill(".sm-dp-radius", "500")
        a.page.select_option(".sm-dp-wind", "270")
        a.page.select_option(".sm-dp-ikind", "leak")
        a.page.click(".sm-dp-plan")
        a.page.wait_for_selector(".sm-dp-confirm", timeout=20_000)
        # Experts for a 泄漏中毒: the chemical experts first (layers/park_tables.EXPERT_FIELDS_BY_INCIDENT).
        experts = a.page.inner_text(".sm-dp-experts")
        assert "建议联系的应急专家（泄漏中毒）" in experts and experts.index("危险化学品") < experts.index("环境监测")
        rows = a.js("() => document.querySelectorAll('.sm-dp-pickteam:checked').length")
        assert rows == 2
        assert a.js("() => SafeMap.panel('dispatch').drawn.getLayers().length") >= 3  # zone + routes + labels
        assert "上风向进入" in a.page.inner_text(".sm-dp-result")
        team = int(a.js("() => Number(document.querySelector('.sm-dp-pickteam:checked').dataset.team)"))
        a.page.screenshot(path="/tmp/safemap-dispatch-plan.png")
        a.page.click(".sm-dp-confirm")
        a.page.wait_for_selector(".sm-dp-ok", timeout=20_000)
        # The other open map rings the team in the catalogue's colour of 出动中, without a reload.
        b.page.wait_for_function(
            "id => SafeMap.find('rescue_teams', id).options.color === SafeMap.enumColor('team_status', 'dispatched')",
            arg=team,
            timeout=15_000,
        )
        assert b.js("() => SafeMap.enumColor('team_status', 'dispatched')") == TEAM_STATUS.members[1].color
        # Confirming the same plan again: the 409 reason is shown, nothing crashes.
        a.js("() => { document.querySelector('.sm-dp-confirm').disabled = false; }")
        a.page.click(".sm-dp-confirm")
        a.page.wait_for_selector(".sm-dp-error", timeout=20_000)
        assert "已被 调度员甲" in a.page.inner_text(".sm-dp-error")
        a.page.screenshot(path="/tmp/safemap-dispatch-409.png")
        assert a.errors == [] and b.errors == [] and a.blocked == [] and b.blocked == []
    finally:
        a.close()
        b.close()
        server.wait_idle()  # the closed pages' event streams have ended
        server.stop()
