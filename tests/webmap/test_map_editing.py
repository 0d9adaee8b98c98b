"""Editing on the map in headless Chromium: add, move, reshape and delete with the catalogue's form.

A planner draws a protected target (a bad value is refused beside its field, in Chinese),
moves it, reshapes an area and deletes the point after confirming; a stale edit shows who
changed what and offers 重新载入; a viewer gets no editing tools. Screenshots at three
window sizes go to /tmp/shots14/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shapely
from playwright.sync_api import expect
from shapely.geometry import shape

from safemap.layers.errors import FeatureNotFound
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token
from tests.webmap.browsing import LiveServer, Visit, app_for

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots14")
SIZES = {"desktop": (1600, 1000), "laptop": (1366, 768), "phone": (390, 844)}


@pytest.fixture
def county(demo_copy: FeatureStore) -> FeatureStore:
    """The tests write: each gets its own copy of the demo county."""
    return demo_copy


@pytest.fixture
def server(county: FeatureStore) -> Iterator[LiveServer]:
    s = LiveServer(app_for(county))
    yield s
    s.stop()


def _signed_in(browser: Any, server: LiveServer, token: str, size: tuple[int, int] = (1600, 1000)) -> Visit:
    v = Visit(browser, server.url, size=size)
    v.js("t => SafeMap.setToken(t)", token)
    return v


def _settle(v: Visit) -> None:
    """Wait until the map stops moving (an animated pan would carry the target away under the mouse)."""
    v.page.wait_for_function(
        """() => new Promise(done => {
             const m = SafeMap.state.map, a = m.getPixelOrigin(), c = m.getCenter();
             setTimeout(() => {
               const b = m.getPixelOrigin(), d = m.getCenter();
               done(a.equals(b) && c.equals(d) && !m._panAnim?._inProgress);
             }, 400);
           })""",
        timeout=10_000,
    )


def _map_point(v: Visit, lat: float, lon: float) -> tuple[float, float]:
    return tuple(
        v.js(
            """([lat, lon]) => {
              const m = SafeMap.state.map, p = m.latLngToContainerPoint([lat, lon]);
              const r = m.getContainer().getBoundingClientRect();
              return [r.left + p.x, r.top + p.y];
            }""",
            [lat, lon],
        )
    )


def _drag(v: Visit, start: tuple[float, float], end: tuple[float, float]) -> None:
    mouse = v.page.mouse
    mouse.move(*start)
    mouse.down()
    for i in range(1, 11):
        mouse.move(start[0] + (end[0] - start[0]) * i / 10, start[1] + (end[1] - start[1]) * i / 10)
    mouse.up()


def _open_popup(v: Visit, layer: str, fid: int) -> None:
    v.js("([l, id]) => { SafeMap.show(l, id); }", [layer, fid])
    v.popup_shown()


def _saved(v: Visit, text: str) -> None:
    expect(v.page.locator(".sm-edit-msg")).to_contain_text(text, timeout=15_000)


def test_planner_adds_moves_reshapes_and_deletes(browser: Any, county: FeatureStore, server: LiveServer) -> None:
    token = create_token(county, "规划员甲", "planner")
    v = _signed_in(browser, server, token)
    try:
        page = v.page
        page.wait_for_selector(".sm-edit-toggle", timeout=15_000)
        page.click(".sm-edit-toggle")
        page.select_option(".sm-edit-layer", "protected_targets")
        # Chinese drawing hints (geoman's zh strings), then a click places the point.
        page.click('.sm-edit-add[data-shape="Point"]')
        centre = v.js("() => { const c = SafeMap.state.map.getCenter(); return [c.lat, c.lng]; }")
        x, y = _map_point(v, centre[0], centre[1])
        page.mouse.move(x + 5, y + 5)
        page.mouse.click(x, y)
        form = page.locator(".sm-edit-form")
        expect(form).to_be_visible()
        # The form comes from the catalogue: labels with units, required marks, Chinese pick lists.
        assert "人数（人）" in form.inner_text()
        assert form.locator('.sm-edit-field[data-field="name"] .sm-req').count() == 1
        options = form.locator('select[name="category"] option').all_inner_texts()
        assert "学校" in "".join(options) or len(options) > 2
        page.fill('.sm-edit-form input[name="name"]', "测试幼儿园")
        page.select_option('.sm-edit-form select[name="category"]', index=1)
        page.fill('.sm-edit-form input[name="population"]', "-5")
        page.click(".sm-edit-save")
        error = page.locator('.sm-edit-error[data-path="properties.population"]')
        expect(error).to_be_visible()
        assert error.inner_text().startswith("人数：")
        assert "不小于 0" in error.inner_text()
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "edit-form-error-desktop.png"))
        # The API's own 422 lands beside the field too (the page's check loosened to let it through).
        v.js(
            """() => SafeMap.edit.catalogue.protected_targets.fields
                 .find(f => f.name === 'population').minimum = -100"""
        )
        page.click(".sm-edit-save")
        expect(page.locator(".sm-edit-msg")).to_contain_text("未保存", timeout=15_000)
        expect(error).to_be_visible()
        assert error.inner_text().startswith("人数：")
        page.fill('.sm-edit-form input[name="population"]', "120")
        page.click(".sm-edit-save")
        _saved(v, "已新增")
        fid = v.js("() => SafeMap.edit.last.feature.id")
        stored = county.get("protected_targets", fid)
        assert stored["properties"]["name"] == "测试幼儿园"
        assert stored["properties"]["population"] == 120
        here = shape(stored["geometry"])
        assert abs(here.x - centre[1]) < 1e-4 and abs(here.y - centre[0]) < 1e-4
        # The new point is on the map; its popup offers 编辑, 删除 and 复制坐标.
        assert v.js("id => !!SafeMap.find('protected_targets', id)", fid)

        # Move it: edit from the popup, drag the marker 60 px east, save.
        _open_popup(v, "protected_targets", fid)
        page.click(".sm-popup-edit")
        expect(page.locator(".sm-edit-form")).to_be_visible()
        _settle(v)  # the popup's closing pan must end before the marker is grabbed
        tip = _map_point(v, here.y, here.x)
        start = (tip[0], tip[1] - 15)  # on the marker's pin, above its tip
        _drag(v, start, (start[0] + 60, start[1]))
        page.click(".sm-edit-save")
        _saved(v, "已保存")
        moved = county.get("protected_targets", fid)
        assert shape(moved["geometry"]).x > here.x + 1e-4
        assert moved["properties"]["version"] == stored["properties"]["version"] + 1

        # Reshape an area: drag one vertex of a protected target polygon.
        area = next(
            f for f in county.query("protected_targets", limit=None).features() if f["geometry"]["type"] == "Polygon"
        )
        aid = int(area["id"])
        before = shape(area["geometry"])
        _open_popup(v, "protected_targets", aid)
        page.click(".sm-popup-edit")
        expect(page.locator(".sm-edit-form")).to_be_visible()
        v.js(
            """() => { SafeMap.state.map.fitBounds(SafeMap.edit.session.geom.getBounds(),
                                                 {animate: false, padding: [200, 200]}); }"""
        )
        v.painted()
        _settle(v)
        corner = before.exterior.coords[0]
        vertex = _map_point(v, corner[1], corner[0])
        _drag(v, vertex, (vertex[0] + 40, vertex[1] - 30))
        page.screenshot(path=str(SHOTS / "edit-reshape-desktop.png"))
        page.click(".sm-edit-save")
        _saved(v, "已保存")
        after = shape(county.get("protected_targets", aid)["geometry"])
        assert not after.equals(before)
        assert shapely.hausdorff_distance(after, before) > 1e-5

        # Delete the new point: asked first, then gone from the store and the map.
        _open_popup(v, "protected_targets", fid)
        page.click(".sm-popup-delete")
        confirm = page.locator(".sm-edit-confirm")
        expect(confirm).to_be_visible()
        assert "确定删除" in confirm.inner_text() and "测试幼儿园" in confirm.inner_text()
        page.screenshot(path=str(SHOTS / "edit-delete-confirm-desktop.png"))
        page.click(".sm-edit-confirm-delete")
        _saved(v, "已删除")
        with pytest.raises(FeatureNotFound):
            county.get("protected_targets", fid)
        assert not v.js("id => !!SafeMap.find('protected_targets', id)", fid)
        # Every edit is in the audit log under the planner's name.
        actions = [e["action"] for e in county.audit_log(layer="protected_targets", feature_id=fid)]
        assert len(actions) == 3 and all(e["actor"] == "规划员甲" for e in county.audit_log(feature_id=fid))
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()


def test_stale_edit_names_who_changed_it(browser: Any, county: FeatureStore, server: LiveServer) -> None:
    token = create_token(county, "规划员甲", "planner")
    target = county.query("protected_targets", limit=1).features()[0]
    fid = int(target["id"])
    v = _signed_in(browser, server, token)
    try:
        page = v.page
        page.wait_for_selector(".sm-edit-toggle", timeout=15_000)
        _open_popup(v, "protected_targets", fid)
        page.click(".sm-popup-edit")
        expect(page.locator(".sm-edit-form")).to_be_visible()
        # Meanwhile a colleague changes the number of people.
        version = target["properties"]["version"]
        county.update(
            "protected_targets",
            fid,
            {"properties": {"population": 4321}},
            Actor("规划员乙", "planner"),
            expected_version=version,
        )
        page.fill('.sm-edit-form input[name="address"]', "新地址 1 号")
        page.click(".sm-edit-save")
        box = page.locator(".sm-edit-conflict")
        expect(box).to_be_visible(timeout=15_000)
        text = box.inner_text()
        assert "规划员乙" in text and "人数" in text and "规划/应急管理" in text
        page.screenshot(path=str(SHOTS / "edit-conflict-desktop.png"))
        page.click(".sm-edit-reload")
        expect(page.locator('.sm-edit-form input[name="population"]')).to_have_value("4321", timeout=15_000)
        assert county.get("protected_targets", fid)["properties"]["address"] != "新地址 1 号"
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()


def test_hazard_source_substances_are_editable(browser: Any, county: FeatureStore, server: LiveServer) -> None:
    """The child table of a hazard source takes a flash point (the value the consequence models need)."""
    token = create_token(county, "规划员甲", "planner")
    source = next(f for f in county.query("hazard_sources", limit=50).features() if f["properties"].get("substances"))
    fid = int(source["id"])
    v = _signed_in(browser, server, token)
    try:
        page = v.page
        page.wait_for_selector(".sm-edit-toggle", timeout=15_000)
        v.js("id => { SafeMap.edit.open('hazard_sources', id); }", fid)
        field = page.locator('.sm-edit-input[data-path="properties.substances[0].flash_point_c"]')
        expect(field).to_be_visible()
        field.fill("-20")
        page.click(".sm-edit-save")
        _saved(v, "已保存")
        subs = county.get("hazard_sources", fid)["properties"]["substances"]
        assert subs[0]["flash_point_c"] == -20
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()


def test_viewer_sees_no_editing_tools(browser: Any, county: FeatureStore, server: LiveServer) -> None:
    token = create_token(county, "值班员", "viewer")
    fid = int(county.query("protected_targets", limit=1).features()[0]["id"])
    v = _signed_in(browser, server, token)
    try:
        v.page.wait_for_function("() => SafeMap.edit.me && SafeMap.edit.me.role === 'viewer'", timeout=15_000)
        assert v.page.locator(".sm-edit-toggle").count() == 0
        _open_popup(v, "protected_targets", fid)
        actions = v.page.locator(".leaflet-popup .sm-popup-actions")
        expect(actions).to_be_visible()
        assert actions.locator(".sm-copy-coords").count() == 1
        assert actions.locator(".sm-popup-edit, .sm-popup-delete").count() == 0
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_editing_screenshots(browser: Any, county: FeatureStore, server: LiveServer, size: str) -> None:
    token = create_token(county, "规划员甲", "planner")
    fid = int(county.query("protected_targets", limit=1).features()[0]["id"])
    v = _signed_in(browser, server, token, SIZES[size])
    try:
        page = v.page
        page.wait_for_selector(".sm-edit-toggle", timeout=15_000)
        v.js("id => { SafeMap.edit.open('protected_targets', id); }", fid)
        expect(page.locator(".sm-edit-form")).to_be_visible()
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / f"edit-form-{size}.png"))
        # The panel stays inside the window.
        box = page.locator(".sm-edit-panel").bounding_box()
        width, height = SIZES[size]
        assert box is not None and box["x"] >= 0
        assert box["x"] + box["width"] <= width and box["y"] + box["height"] <= height
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()
