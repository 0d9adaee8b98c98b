"""The map page in headless Chromium, served by the real app, with every other host blocked.

The app is ``api.app.create_app`` (the product's own ``/`` and ``/static``) on a free
127.0.0.1 port in a background thread. Any request to another host is aborted and
recorded; with ``basemap="none"`` there must be none. Screenshots go to
``/tmp/safemap-*.png`` for a human to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from safemap.layers.definitions import GROUPS
from safemap.layers.store import FeatureStore, open_store
from tests.webmap.browsing import LiveServer, Visit, app_for
from tests.webmap.sample import EXTENT, MAP_LAYERS, fill

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FeatureStore]:
    store = open_store(tmp_path_factory.mktemp("map") / "map.gpkg", extent=EXTENT)
    fill(store)
    yield store
    store.close()


def _server(store: FeatureStore, basemap: str) -> Iterator[LiveServer]:
    server = LiveServer(app_for(store, basemap, extent=EXTENT))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def offline(demo: FeatureStore) -> Iterator[LiveServer]:
    yield from _server(demo, "none")


@pytest.fixture
def visit(browser: Any, offline: LiveServer) -> Iterator[Visit]:
    v = Visit(browser, offline.url)
    yield v
    v.close()


def _feature_id(v: Visit, layer: str, name: str) -> int:
    return v.js(
        "([l, n]) => SafeMap.state.features[l].find(x => x.smFeature[1] === n).smFeature[0]",
        [layer, name],
    )


def test_page_works_offline(visit: Visit) -> None:
    visit.page.screenshot(path="/tmp/safemap-overview.png")
    assert visit.blocked == [], "the page tried to reach the internet"
    assert visit.errors == []
    assert visit.console == []
    assert visit.page.title() == "裕民县安全生产风险与应急资源一张图"
    control = visit.page.inner_text(".leaflet-control-layers")
    for layer in MAP_LAYERS:
        assert layer.label in control, layer.label
    for group in GROUPS:
        assert group in control
    handles = visit.js("Object.keys(SafeMap.state.layers)")
    assert sorted(handles) == sorted(layer.name for layer in MAP_LAYERS)
    assert visit.js("SafeMap.state.map.hasLayer(SafeMap.state.layers.roads)")
    # One global of our own: everything hangs under SafeMap.
    assert visit.js("typeof window.safemap") == "undefined"
    # The legend starts collapsed when the layer control above leaves it no room (1600×900 since the
    # 双重预防 group joined the control); one click on 图例 opens it.
    if visit.js("document.querySelector('.sm-legend').classList.contains('sm-collapsed')"):
        visit.page.click(".sm-legend-toggle")
    legend = visit.page.inner_text(".sm-legend")
    assert "图例" in legend and "红（重大风险）" in legend
    # Measuring (Chinese build) and full screen are there, with Chinese titles.
    assert visit.page.locator(".leaflet-control-measure").count() == 1
    assert visit.page.get_attribute(".leaflet-control-zoom-fullscreen", "title") == "全屏显示"
    assert visit.page.get_attribute(".leaflet-control-zoom-in", "title") == "放大"
    attribution = visit.page.inner_text(".leaflet-control-attribution")
    assert "DataV.GeoAtlas" in attribution


def test_clicking_a_marker_opens_its_popup(visit: Visit) -> None:
    fid = _feature_id(visit, "enterprises", "裕民县示例化工有限公司")
    # Zoom in close (markers of other layers sit near it) and wait for markercluster
    # to draw the marker itself, then click it.
    visit.js(
        """(id) => { SafeMap.state.map.setView(SafeMap.find('enterprises', id).getLatLng(), 18,
                                              {animate: false}); }""",
        fid,
    )
    visit.page.wait_for_function("(id) => SafeMap.state.map.hasLayer(SafeMap.find('enterprises', id))", arg=fid)
    x, y = visit.screen_point("enterprises", fid)
    visit.page.mouse.click(x, y)
    popup = visit.popup_shown()
    text = popup.inner_text()
    assert "裕民县示例化工有限公司" in text
    assert "风险等级" in text and "红（重大风险）" in text
    assert "危化品生产" in text
    visit.page.screenshot(path="/tmp/safemap-popup.png")


def test_clicking_a_road_opens_its_popup(visit: Visit) -> None:
    fid = _feature_id(visit, "roads", "文化路")
    visit.js(
        """(id) => { SafeMap.state.map.fitBounds(SafeMap.find('roads', id).getBounds(),
                                              {maxZoom: 15, animate: false}); }""",
        fid,
    )
    visit.painted()
    # A quarter along the road: the midpoint may carry a marker of another layer.
    x, y = visit.js(
        """(id) => { const m = SafeMap.state.map, lyr = SafeMap.find('roads', id), ll = lyr.getLatLngs();
           const a = m.latLngToContainerPoint(ll[0]), b = m.latLngToContainerPoint(ll[1]);
           const r = m.getContainer().getBoundingClientRect();
           return [r.left + a.x + (b.x - a.x) / 4, r.top + a.y + (b.y - a.y) / 4]; }""",
        fid,
    )
    visit.page.mouse.click(x, y)
    text = visit.popup_shown().inner_text()
    assert "文化路" in text and "道路等级" in text and "城市主干路" in text and "封闭" in text


def test_search_finds_a_feature_by_chinese_name(visit: Visit) -> None:
    box = visit.page.locator(".sm-search-input")
    box.click()
    box.type("消防救援")
    hits = visit.page.locator(".sm-search-results li[data-i]")
    hits.first.wait_for(timeout=5_000)
    assert "裕民县消防救援大队" in hits.first.inner_text()
    assert "救援队伍" in hits.first.inner_text()
    box.press("Enter")
    popup = visit.popup_shown()
    assert "裕民县消防救援大队" in popup.inner_text()
    assert "水罐消防车×3" in popup.inner_text()
    visit.page.screenshot(path="/tmp/safemap-search.png")
    box.fill("没有这个名字")
    expect(visit.page.locator(".sm-search-results")).to_contain_text("未找到")


def test_layer_control_switches_layers_and_legend(visit: Visit) -> None:
    label = visit.page.locator(".leaflet-control-layers label", has_text="道路").first
    label.locator("input").uncheck()
    assert not visit.js("SafeMap.state.map.hasLayer(SafeMap.state.layers.roads)")
    expect(visit.page.locator('.sm-lg-layer[data-layer="roads"]')).to_have_class(re.compile(r"\bsm-off\b"))
    label.locator("input").check()
    assert visit.js("SafeMap.state.map.hasLayer(SafeMap.state.layers.roads)")


def test_measure_control_speaks_chinese(visit: Visit) -> None:
    control = visit.page.locator(".leaflet-control-measure")
    visit.page.hover(".leaflet-control-measure")
    expect(control.locator(".js-start")).to_be_visible()
    expect(control).to_contain_text("测量", use_inner_text=True)
    visit.page.click(".leaflet-control-measure .js-start")
    expect(control).to_contain_text("点击地图加点", use_inner_text=True)
    assert visit.errors == []


def test_small_screen_keeps_controls_apart(browser: Any, offline: LiveServer) -> None:
    """On a 1366×768 screen the legend starts folded and does not cover the layer control."""
    v = Visit(browser, offline.url, size=(1366, 768))
    try:
        v.page.screenshot(path="/tmp/safemap-small.png")
        tree = v.page.locator(".leaflet-control-layers").bounding_box()
        legend = v.page.locator(".sm-legend").bounding_box()
        assert tree and legend
        assert tree["y"] + tree["height"] <= legend["y"]
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()


def test_osm_basemap_only_asks_for_tiles(browser: Any, demo: FeatureStore) -> None:
    for server in _server(demo, "osm"):
        v = Visit(browser, server.url)
        try:
            assert v.blocked, "no tile was requested"
            assert all(u.startswith("https://tile.openstreetmap.org/") for u in v.blocked)
            assert v.errors == []
            # Blocked tiles are logged as failed loads; nothing else may be.
            assert [c for c in v.console if "Failed to load resource" not in c] == []
            assert v.js("SafeMap.state.features.roads.length") == 1
        finally:
            v.close()


def test_full_screen_button_toggles(visit: Visit) -> None:
    button = visit.page.locator(".leaflet-control-zoom-fullscreen")
    button.click()
    visit.page.wait_for_function("SafeMap.state.map._isFullscreen === true", timeout=5_000)
    expect(button).to_have_attribute("title", "退出全屏")
    # The map has taken the whole window and redrawn at that size.
    visit.page.wait_for_function(
        """() => { const s = SafeMap.state.map.getSize();
                   return s.x === window.innerWidth && s.y === window.innerHeight; }"""
    )
    visit.painted()
    visit.page.screenshot(path="/tmp/safemap-fullscreen.png")
    button.click()
    visit.page.wait_for_function("SafeMap.state.map._isFullscreen === false", timeout=5_000)
    assert visit.errors == []


def test_missing_vendor_files_are_explained(browser: Any, offline: LiveServer) -> None:
    """When /static/vendor is not there (vendor step skipped) the page says what to do."""
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    try:
        page.route("**/static/vendor/**", lambda route: route.fulfill(status=404, body="not found"))
        page.goto(offline.url, wait_until="load")
        banner = page.locator("#sm-fail")
        banner.wait_for(state="visible", timeout=5_000)
        assert "python -m webmap.vendor" in banner.inner_text()
        assert "地图组件未能加载" in banner.inner_text()
    finally:
        context.close()


@pytest.fixture(scope="module")
def tiled(demo: FeatureStore) -> Iterator[LiveServer]:
    # Threshold 0: every layer with features comes as vector tiles, as a 100,000-road county would.
    server = LiveServer(app_for(demo, extent=EXTENT, map_tile_threshold=0))
    yield server
    server.stop()


def test_large_layers_come_as_vector_tiles(browser: Any, tiled: LiveServer) -> None:
    v = Visit(browser, tiled.url)
    try:
        tiles: list[tuple[str, int]] = []
        v.page.on("response", lambda r: tiles.append((r.url, r.status)) if ".mvt" in r.url else None)
        assert v.js("() => SafeMap.state.features.roads.length") == 0
        assert v.js("() => !!(SafeMap.state.tiles && SafeMap.state.tiles.roads)")
        v.js("() => SafeMap.state.map.fitBounds([[46.195, 82.97], [46.205, 82.99]], {animate: false})")
        # Every tile of the new view has come and been drawn.
        v.page.wait_for_function(
            "() => { const g = SafeMap.state.tiles.roads; return Object.keys(g._tiles).length > 0 && !g.isLoading(); }",
            timeout=10_000,
        )
        assert tiles and all(status == 200 for _, status in tiles), tiles
        # A quarter along 文化路 (82.97→82.99 at 46.20): the midpoint may carry other markers.
        x, y = v.js(
            """() => { const m = SafeMap.state.map, p = m.latLngToContainerPoint([46.20, 82.975]);
               const r = m.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }"""
        )
        v.page.mouse.click(x, y)
        popup = v.page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=5_000)
        v.page.wait_for_function(
            "() => document.querySelector('.leaflet-popup-content').innerText.includes('道路等级')", timeout=5_000
        )
        text = popup.inner_text()
        assert "文化路" in text and "城市主干路" in text and "封闭" in text
        v.page.fill(".sm-search-input", "文化路")
        v.page.wait_for_selector(".sm-search-results li[data-i]", timeout=5_000)
        assert "文化路" in v.page.inner_text(".sm-search-results")
        v.page.screenshot(path="/tmp/safemap-tiles.png")
        assert not v.errors and not v.console and not v.blocked
    finally:
        v.close()
