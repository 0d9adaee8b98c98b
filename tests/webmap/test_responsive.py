"""The page at a phone's 390×844, a laptop's 1366×768 and a desktop's 1600×1000.

Phone: the tool dock is a bottom sheet (at most ~45 % of the screen or, with 展开, all but the
header; a handle folds it to its tabs), the map stays visible above it and the search box
reachable. Laptop: nothing
needs horizontal scrolling and a panel's results scroll inside the dock, not the page.
Screenshots go to /tmp/shots14/ for a person to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.webmap.browsing import LiveServer, Visit

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots14")
RECT = (
    "s => { const r = document.querySelector(s).getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }"
)


def test_phone_dock_is_a_bottom_sheet(browser: Any, county_server: LiveServer) -> None:
    SHOTS.mkdir(exist_ok=True)
    v = Visit(browser, county_server.url, size=(390, 844))
    try:
        v.page.screenshot(path=str(SHOTS / "phone-390-start.png"))
        v.page.click(".sm-dock-tab[data-panel=planner]")
        v.painted()
        v.page.screenshot(path=str(SHOTS / "phone-390-panel.png"))
        _, top, width, height = v.js(RECT, ".sm-dock")
        _, map_top, _, map_height = v.js(RECT, ".folium-map")
        assert width == 390 and top + height == pytest.approx(844, abs=1)  # along the bottom edge
        assert height <= 0.46 * 844
        assert top - map_top >= 0.5 * map_height  # the map above it: at least half of it visible
        assert v.page.locator(".sm-panel-planner .sm-panel-body").is_visible()
        # The bottom controls (legend button, scale) sit above the sheet, not under it.
        _, legend_top, _, legend_h = v.js(RECT, ".sm-legend")
        assert legend_top + legend_h <= top + 1
        # The search box is not covered: a tap on it reaches it, and its results show.
        x, y, w, h = v.js(RECT, ".sm-search-input")
        hit = "([x, y]) => document.elementFromPoint(x, y).classList.contains('sm-search-input')"
        assert v.js(hit, [x + w / 2, y + h / 2])
        v.page.click(".sm-search-input")
        v.page.keyboard.type("裕民")
        v.page.wait_for_selector(".sm-search-results li", timeout=10_000)
        v.page.keyboard.press("Escape")
        # The handle folds the sheet to its tabs and opens it again.
        v.page.click(".sm-dock-handle")
        v.painted()
        folded = v.js(RECT, ".sm-dock")
        assert folded[3] < 110
        v.page.screenshot(path=str(SHOTS / "phone-390-folded.png"))
        v.page.click(".sm-dock-handle")
        v.painted()
        assert v.js(RECT, ".sm-dock")[3] > 200
        # 展开 raises it to all but the page header (long results, forms); 收起 back to half.
        v.page.click(".sm-dock-grow")
        v.painted()
        _, top, _, height = v.js(RECT, ".sm-dock")
        assert height >= 0.85 * 844 and top >= 48
        assert v.page.inner_text(".sm-dock-grow") == "收起"
        v.page.screenshot(path=str(SHOTS / "phone-390-full.png"))
        v.page.click(".sm-dock-grow")
        v.painted()
        assert v.js(RECT, ".sm-dock")[3] <= 0.46 * 844
        assert v.js("() => document.documentElement.scrollWidth") <= 390
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()


@pytest.mark.parametrize("panel", ["planner", "dispatch", "coverage"])
def test_laptop_needs_no_page_scrolling(browser: Any, county_server: LiveServer, panel: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    v = Visit(browser, county_server.url, size=(1366, 768))
    try:
        v.page.click(f".sm-dock-tab[data-panel={panel}]")
        v.painted()
        v.page.screenshot(path=str(SHOTS / f"laptop-1366-{panel}.png"))
        assert v.js("() => document.documentElement.scrollWidth <= window.innerWidth")
        assert v.js("() => document.documentElement.scrollHeight <= window.innerHeight")
        _, top, _, height = v.js(RECT, ".sm-dock-body")
        assert top + height <= 768  # the body ends on screen and scrolls inside itself
        assert v.js("() => getComputedStyle(document.querySelector('.sm-dock-body')).overflowY") == "auto"
        room = v.js("() => parseFloat(document.querySelector('.sm-dock-body').style.maxHeight)")
        assert room >= 768 - top - 80 and room > 379  # the room below the tabs, not a fixed 379 px
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()


def test_desktop_screenshot(browser: Any, county_server: LiveServer) -> None:
    SHOTS.mkdir(exist_ok=True)
    v = Visit(browser, county_server.url, size=(1600, 1000))
    try:
        v.page.click(".sm-dock-tab[data-panel=dispatch]")
        v.painted()
        v.page.screenshot(path=str(SHOTS / "desktop-1600.png"))
        assert v.js("() => document.documentElement.scrollWidth <= window.innerWidth")
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()
