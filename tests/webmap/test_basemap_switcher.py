"""The basemap switcher in headless Chromium: exactly the configured basemaps, tiles of the shown one only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from safemap.layers.store import FeatureStore
from tests.webmap.browsing import LiveServer, Visit, app_for

pytestmark = pytest.mark.browser

KEY = "0123456789abcdef"
WMTS = (
    "http://10.0.0.9/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=dom&STYLE=default"
    "&TILEMATRIXSET=w&FORMAT=image/png&TILEMATRIX={TileMatrix}&TILEROW={TileRow}&TILECOL={TileCol}"
)
SHOTS = Path("/tmp/shots14")


def test_switcher_lists_the_configured_basemaps_and_loads_only_the_shown_one(
    browser: Any, gpkg_store: FeatureStore
) -> None:
    listed = "tianditu_vec,tianditu_img,custom,none"
    app = app_for(gpkg_store, basemap="osm", basemaps=listed, tianditu_key=KEY, basemap_url=WMTS)
    server = LiveServer(app)
    v = Visit(browser, server.url, size=(1366, 768))
    try:
        base = v.page.locator(".leaflet-control-layers-base label")
        assert [t.strip() for t in base.all_inner_texts()] == ["天地图矢量", "天地图影像", "自定义底图", "空白底图"]
        v.page.wait_for_function("() => document.querySelectorAll('.leaflet-tile').length > 0")
        hosts = {re.sub(r"^https?://([^/]+)/(\w+)_w.*", r"\1 \2", u) for u in v.blocked}
        assert hosts and all(re.fullmatch(r"t[0-7]\.tianditu\.gov\.cn (vec|cva)", h) for h in hosts), hosts
        SHOTS.mkdir(exist_ok=True)
        v.page.screenshot(path=str(SHOTS / "basemaps-switcher.png"))
        seen = len(v.blocked)
        v.page.click(".leaflet-control-layers-base label:has-text('自定义底图') input")
        v.page.wait_for_function("n => true", arg=seen)
        v.page.wait_for_timeout(500)
        custom = [u for u in v.blocked[seen:] if u.startswith("http://10.0.0.9/")]
        assert custom and all(re.search(r"TILEMATRIX=\d+&TILEROW=\d+&TILECOL=\d+", u) for u in custom)
        assert not any("img_w" in u or "cia_w" in u or "openstreetmap" in u for u in v.blocked)
        v.page.click(".leaflet-control-layers-base label:has-text('空白底图') input")
        seen = len(v.blocked)
        v.js("() => { SafeMap.state.map.panBy([300, 200], {animate: false}); }")
        v.page.wait_for_timeout(500)
        assert v.blocked[seen:] == []  # the blank basemap loads nothing
        assert v.errors == []
    finally:
        v.close()
        server.stop()
