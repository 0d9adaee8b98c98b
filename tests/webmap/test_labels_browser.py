"""Chinese for people on the map (issue 14, defects 5 and 7), in headless Chromium on the demo county.

Each check reproduces a reported defect: "数据来源 synthetic: …" in popups, 166 identical
"G219" search hits, township labels under cluster bubbles, the uncovered list that shows 30
of 111 without saying so, new-site markers that look like cluster bubbles, the solver's name
and a count without its unit in the new-site result. Screenshots: ``/tmp/safemap-labels-*.png``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.webmap.browsing import LiveServer, Visit

pytestmark = pytest.mark.browser


def test_popups_search_and_labels_speak_chinese(browser: Any, county_server: LiveServer) -> None:
    v = Visit(browser, county_server.url)
    try:
        # The popup footer names a demo record's source in words, not "synthetic: …".
        v.js("() => { SafeMap.show('rescue_teams', SafeMap.state.features.rescue_teams[0].smFeature[0]); }")
        text = v.popup_shown().inner_text()
        assert "数据来源 合成演示数据：" in text and "synthetic" not in text, text

        # Searching a road number gives one hit per road name, counting its segments.
        box = v.page.locator(".sm-search-input")
        box.fill("G219")
        hits = v.page.locator(".sm-search-results li[data-i]")
        hits.first.wait_for(timeout=5_000)
        names = [hits.nth(i).inner_text() for i in range(hits.count())]
        roads = [n for n in names if "道路" in n]
        assert len(roads) == len({n for n in roads}), names  # no identical entries
        assert any("共" in n and "段" in n for n in roads), names
        segments = v.js(
            "SafeMap.state.index.filter(e => e.ld.name === 'roads' && e.name === 'G219线（裕民—塔城段）').length"
        )
        box.press("Enter")
        v.page.wait_for_timeout(300)
        shown = v.js(
            """(() => { const b = SafeMap.state.map.getBounds();
                 return SafeMap.state.index.filter(e => e.ld.name === 'roads' && e.name === 'G219线（裕民—塔城段）')
                   .every(e => b.intersects(e.lyr.getBounds())); })()"""
        )
        assert segments > 1 and shown  # zoomed to the union of the segments
        v.page.screenshot(path="/tmp/safemap-labels-search.png")

        # Township names are drawn above cluster bubbles (marker pane 600).
        labels = int(v.js("getComputedStyle(SafeMap.state.map.getPane('smLabels')).zIndex"))
        markers = int(v.js("getComputedStyle(SafeMap.state.map.getPane('markerPane')).zIndex"))
        assert labels > markers
        assert not v.errors and not v.console and not v.blocked
    finally:
        v.close()


def test_coverage_results_say_what_they_show(browser: Any, county_server: LiveServer) -> None:
    v = Visit(browser, county_server.url)
    try:
        v.page.click(".sm-dock-tab[data-panel=coverage]")
        v.page.click(".sm-cv-tabs button[data-tab=report]")
        v.page.click(".sm-cv-report")
        v.page.wait_for_selector(".sm-cv-report-out table", timeout=60_000)
        total = v.js("SafeMap.panel('coverage').last.report.uncovered.length")
        out = v.page.inner_text(".sm-cv-report-out")
        if total > 30:
            assert f"显示前 30 个，共 {total} 个" in out, out
        assert v.page.locator(".sm-cv-report-out li[data-layer]").count() == min(total, 30)
        assert "未覆盖对象" in out  # the CSV link named as the file is

        v.page.click(".sm-cv-tabs button[data-tab=locate]")
        v.page.fill(".sm-cv-k", "2")
        v.page.click(".sm-cv-locate")
        v.page.wait_for_selector(".sm-cv-locate-out table", timeout=60_000)
        pins = v.page.locator(".sm-cv-site")
        assert pins.count() == 2 and pins.first.inner_text() == "新址1"
        result = v.page.inner_text(".sm-cv-locate-out")
        assert "最优选址（混合整数规划）" in result and "HiGHS" not in result and "scipy" not in result, result
        assert "单独新增覆盖" in result and "人" in result.split("单独新增覆盖", 1)[1].split("\n", 1)[0], result
        v.page.screenshot(path="/tmp/safemap-labels-locate.png")
        assert not v.errors and not v.console and not v.blocked
    finally:
        v.close()
