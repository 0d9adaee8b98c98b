"""On a phone (390×844) the layer tree and the legend start folded, so the dock and the map are usable.

Before, the layer tree opened over the dock's tabs and the legend over the map's lower half.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.webmap.browsing import LiveServer, Visit

pytestmark = pytest.mark.browser

#: A point of the screen (lowest first) where a tap reaches the map itself, not a feature or a control (the dock
#: is a bottom sheet on phones, so the map may start higher up).
_BLANK_SPOT = """() => {
  for (let y = 820; y > 120; y -= 20) {
    for (let x = 40; x < 360; x += 20) {
      const el = document.elementFromPoint(x, y);
      if (el && !el.closest(".leaflet-interactive, .leaflet-control, .leaflet-marker-icon")
          && el.closest(".leaflet-container")) return [x, y];
    }
  }
  throw new Error("no blank spot");
}"""


def test_layer_tree_and_legend_fold_on_a_phone(browser: Any, county_server: LiveServer) -> None:
    v = Visit(browser, county_server.url, size=(390, 844))
    try:
        tree = v.page.locator(".leaflet-control-layers")
        assert "leaflet-control-layers-expanded" not in (tree.get_attribute("class") or "")
        assert "sm-collapsed" in (v.page.locator(".sm-legend").get_attribute("class") or "")
        v.page.click(".sm-dock-tab[data-panel=planner]")  # the dock's tabs are not covered
        v.page.click(".leaflet-control-layers-toggle")
        assert "leaflet-control-layers-expanded" in (tree.get_attribute("class") or "")
        assert v.page.locator(".leaflet-control-layers-overlays").is_visible()
        x, y = v.js(_BLANK_SPOT)
        v.page.mouse.click(x, y)  # a tap on the map (not on a feature) folds it again
        assert "leaflet-control-layers-expanded" not in (tree.get_attribute("class") or "")
    finally:
        v.close()


def test_layer_tree_stays_open_on_a_desktop(browser: Any, county_server: LiveServer) -> None:
    v = Visit(browser, county_server.url, size=(1366, 768))
    try:
        tree = v.page.locator(".leaflet-control-layers")
        assert "leaflet-control-layers-expanded" in (tree.get_attribute("class") or "")
        x, y = v.js(_BLANK_SPOT.replace("x < 360", "x < 1000"))
        v.page.mouse.click(x, y)
        assert "leaflet-control-layers-expanded" in (tree.get_attribute("class") or "")
    finally:
        v.close()
