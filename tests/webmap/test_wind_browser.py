"""The 主导风向 (wind) panel in headless Chromium against the demo county, offline.

The demo rose is synthetic 【未核实】 (east wind 13 %, calm 18 %). Screenshots at 1600×1000,
1366×768 and 390×844 go to ``/tmp/shots-wind/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.webmap.browsing import LiveServer, Visit

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots-wind")
#: 500 m due west of the 甲类危险化学品仓库 (centroid 83.00887 E, 46.18398 N): downwind of an east wind.
WEST_OF_WAREHOUSE = (83.00887 - 500 / (111_320 * 0.69219), 46.18398)


@pytest.mark.parametrize("size", [(1600, 1000), (1366, 768), (390, 844)])
def test_wind_panel(browser: Any, county_server: LiveServer, size: tuple[int, int]) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    v = Visit(browser, county_server.url, size=size)
    try:
        if size[0] < 600:
            # On a phone the layer tree covers the dock's tabs (page-wide layout): open it by its entry point.
            v.js("SafeMap.openPanel('wind')")
        else:
            v.page.click(".sm-dock-tab[data-panel=wind]")
        v.page.wait_for_selector(".sm-wd-svg", timeout=20_000)
        head = v.page.inner_text(".sm-wd-head")
        assert "常年主导风向" in head and "东风（90°）" in head and "静风 18.0%" in head
        assert v.page.locator(".sm-wd-bar").count() == 16
        assert v.page.locator(".sm-wd-bar.sm-wd-top").get_attribute("data-sector") == "E"
        assert "示例数据" in v.page.inner_text(".sm-wd-flag") and "【未核实】" in v.page.inner_text(".sm-wd-flag")
        assert "东东南风" in (v.page.text_content(".sm-wd-table") or "")
        assert v.page.locator("mark.sm-wd-unverified").count() >= 1
        assert "【未核实】" in (v.page.text_content(".sm-wd-source") or "")
        tag = f"{size[0]}x{size[1]}"
        v.painted()
        v.page.screenshot(path=str(SHOTS / f"wind-rose-{tag}.png"))

        # Place a station by clicking the map: the click goes to the check, not to a popup.
        v.js(
            "([lon, lat]) => { SafeMap.state.map.setView([lat, lon], 15, {animate: false}); }",
            list(WEST_OF_WAREHOUSE),
        )
        v.painted()
        if size[0] < 600:
            # On a phone the layer tree and legend cover the map and part of the dock (page-wide
            # layout): check through the panel's entry point instead of a map click.
            v.js("([lon, lat]) => SafeMap.panel('wind').check([lon, lat])", list(WEST_OF_WAREHOUSE))
        else:
            v.page.click(".sm-wd-pick")
            assert "单击" in v.page.inner_text(".sm-wd-hint")
            point = v.js(
                """([lon, lat]) => {
                     const m = SafeMap.state.map, p = m.latLngToContainerPoint([lat, lon]);
                     const r = m.getContainer().getBoundingClientRect();
                     return [r.left + p.x, r.top + p.y];
                   }""",
                list(WEST_OF_WAREHOUSE),
            )
            v.page.mouse.click(point[0], point[1])
        v.page.wait_for_selector(".sm-wd-checks", timeout=30_000)
        out = v.page.inner_text(".sm-wd-out")
        assert "甲类危险化学品仓库" in out and "不符合" in out and "下风" in out and "建标152-2017" in out
        assert v.page.locator(".leaflet-popup").count() == 0
        last = v.js("SafeMap.panel('wind').last()")
        mine = next(c for c in last["checks"] if c["target_name"] == "甲类危险化学品仓库")
        assert mine["status"] == "fail" and mine["relation"] == "downwind"
        assert v.js("SafeMap.panel('wind').layers.getLayers().length") >= 3
        v.painted()
        v.page.screenshot(path=str(SHOTS / f"wind-check-{tag}.png"))
        assert v.blocked == [] and v.errors == [] and v.console == []
    finally:
        v.close()
