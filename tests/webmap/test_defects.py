"""Issue 14's trust-breaking defects, reproduced in headless Chromium (each test failed before its fix).

1. closure mode takes the click on a road a dispatch has used (the 调度记录 layer is on top);
2. one style for closed roads (red dashed) at load, on closure, removed on reopening, on every map;
3. team status tells one story: popup 出动中 after a dispatch, a legend for the rings, a released
   record not "已归队", durations 分秒 and distances m/km, release confirmed, 调度单号 not hex;
6. analysis results are named entries of the layer control (分析结果) with a legend and 清除,
   kept when their panel closes; the risk raster says 放大查看 at county zoom; contours have a
   legend; violation lines are not drawn like red fire lanes.

Screenshots of each screen at 1600×1000, 1366×768 and 390×844 go to /tmp/shots14/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token
from tests.webmap.browsing import LiveServer, Visit, app_for

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots14")
SIZES = ((1600, 1000), (1366, 768), (390, 844))
FIRE_TEAMS = ["fire_station", "professional_fire"]


def shots(v: Visit, name: str) -> None:
    """The current screen at the three sizes (the page reflows; the map keeps its centre)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for w, h in SIZES:
        v.page.set_viewport_size({"width": w, "height": h})
        v.js("() => { SafeMap.state.map.invalidateSize({animate: false}); }")
        v.painted()
        v.page.screenshot(path=str(SHOTS / f"{name}-{w}x{h}.png"))
    v.page.set_viewport_size({"width": 1600, "height": 1000})
    v.js("() => { SafeMap.state.map.invalidateSize({animate: false}); }")


@pytest.fixture
def county(demo_copy: FeatureStore) -> FeatureStore:
    return demo_copy


@pytest.fixture
def live(county: FeatureStore) -> Any:
    app = app_for(county)
    app.state.events_poll_s = 0.2
    server = LiveServer(app)
    yield server
    server.wait_idle()
    server.stop()


def _api(server: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def _dispatch(client: httpx.Client, county: FeatureStore) -> dict[str, Any]:
    """Plan and confirm one fire team to a demo enterprise, as the panel does; the confirm answer."""
    incident = county.query("enterprises", limit=10).geometries[5]
    plan = client.post(
        "api/dispatch/plan",
        json={"incident": [incident.x, incident.y], "needs": [{"kinds": FIRE_TEAMS, "count": 1}]},
    ).json()
    c = next(c for c in plan["needs"][0]["candidates"] if c["selected"])
    body = {
        "incident": [incident.x, incident.y],
        "teams": [
            {
                "team_id": c["team_id"],
                "vehicle": c["vehicle"],
                "eta_s": c["eta_s"],
                "distance_m": c["distance_m"],
                "route": c["geometry"],
            }
        ],
    }
    r = client.post("api/dispatch/confirm", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def _road_under_dispatch(v: Visit) -> tuple[float, float]:
    """Zoom to the middle of the last dispatch record's route; its screen point (a road lies under it)."""
    return tuple(
        v.js(
            """() => {
              const m = SafeMap.state.map, list = SafeMap.state.features.dispatches;
              const lyr = list[list.length - 1];
              let pts = lyr.getLatLngs(); if (!L.LineUtil.isFlat(pts)) pts = pts[0];
              // the longest segment's middle: on a road, away from junctions
              let best = 1, len = 0;
              for (let i = 1; i < pts.length; i++) {
                const d = pts[i].distanceTo(pts[i - 1]); if (d > len) { len = d; best = i; }
              }
              const mid = L.latLng((pts[best].lat + pts[best - 1].lat) / 2, (pts[best].lng + pts[best - 1].lng) / 2);
              m.setView(mid, 17, {animate: false});
              const p = m.latLngToContainerPoint(mid), r = m.getContainer().getBoundingClientRect();
              return [r.left + p.x, r.top + p.y];
            }"""
        )
    )


# ---------------------------------------------------------------------------- defect 1


def test_closure_takes_the_click_on_a_road_a_dispatch_used(browser: Any, county: FeatureStore, live: Any) -> None:
    token = create_token(county, "调度员甲", "dispatcher")
    with _api(live, token) as client:
        done = _dispatch(client, county)
        client.post("api/dispatch/release", json={"dispatch_ids": [d["id"] for d in done["dispatches"]]})
    before = {r["name"] for r in county.query("roads", filters={"status": ["closed"]}, limit=None).rows}
    v = Visit(browser, live.url, size=(1600, 1000))
    try:
        v.js("t => { SafeMap.setToken(t); }", token)
        v.js("() => { SafeMap.openPanel('dispatch'); }")
        x, y = _road_under_dispatch(v)
        v.painted()
        # What is on top here is the 调度记录 route: a plain click opens its popup.
        v.page.mouse.click(x, y)
        assert "调度记录" in v.popup_shown().inner_text()
        v.js("() => { SafeMap.state.map.closePopup(); }")
        v.page.click(".sm-dp-close")
        x, y = _road_under_dispatch(v)  # the popup may have panned the map
        v.painted()
        v.page.mouse.click(x, y)
        v.page.wait_for_function(
            "() => /已封闭|未能|没有/.test(document.querySelector('.sm-dp-closehint').textContent)", timeout=15_000
        )
        hint = v.page.inner_text(".sm-dp-closehint")
        assert "已封闭" in hint, hint
        name = hint.split(" 已封闭")[0]
        # The note at the click says it too, and the road is closed in the store.
        assert "已封闭" in v.page.inner_text(".leaflet-popup-content")
        closed = {r["name"] for r in county.query("roads", filters={"status": ["closed"]}, limit=None).rows}
        assert closed - before == {name}
        shots(v, "d1-closure")
        # A second click reopens it.
        v.page.mouse.click(x, y)
        v.page.wait_for_function(
            "() => /已解除封闭/.test(document.querySelector('.sm-dp-closehint').textContent)", timeout=15_000
        )
        assert {r["name"] for r in county.query("roads", filters={"status": ["closed"]}, limit=None).rows} == before
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()


# ---------------------------------------------------------------------------- defect 2

STYLE = """id => { const l = SafeMap.find('roads', id);
  return [l.options.color, l.options.dashArray || null, SafeMap.enumColor('road_status', 'closed')]; }"""


def test_closed_roads_are_red_dashed_at_load_and_solid_again_when_reopened(
    browser: Any, county: FeatureStore, live: Any
) -> None:
    token = create_token(county, "调度员甲", "dispatcher")
    roads = county.query("roads", filters={"road_class": ["national"]}, limit=2).rows
    shut, other = roads[0], roads[1]
    with _api(live, token) as client:
        r = client.patch(
            f"api/layers/roads/{shut['id']}",
            json={"properties": {"status": "closed"}},
            headers={"If-Match": f'"{shut["version"]}"'},
        )
        assert r.status_code == 200, r.text
        a = Visit(browser, live.url, size=(1600, 1000))
        b = Visit(browser, live.url, size=(1600, 1000))
        try:
            # Closed at load: the catalogue's 封闭 red, dashed (not the road class's orange).
            color, dash, red = a.js(STYLE, shut["id"])
            assert (color, dash) == (red, "8 6")
            # The legend's swatch of 封闭 is red dashed too.
            legend = a.js("() => document.querySelector('.sm-legend .sm-lg-layer[data-layer=\"roads\"]').innerHTML")
            assert "dashed" in legend and red.lower() in legend.lower()
            a.js("() => { SafeMap.openPanel('dispatch'); }")
            b.js("() => { SafeMap.openPanel('dispatch'); }")
            a.page.wait_for_function("() => SafeMap.events.connected()", timeout=15_000)
            b.page.wait_for_function("() => SafeMap.events.connected()", timeout=15_000)
            a.js("id => { SafeMap.show('roads', id); }", shut["id"])
            shots(a, "d2-closed-at-load")
            a.js("() => { SafeMap.state.map.closePopup(); }")
            # Reopened elsewhere: both maps draw it solid in its class colour, the popup says 通行.
            version = county.get("roads", shut["id"])["properties"]["version"]
            client.patch(
                f"api/layers/roads/{shut['id']}",
                json={"properties": {"status": "open"}},
                headers={"If-Match": f'"{version}"'},
            )
            for v in (a, b):
                v.page.wait_for_function(
                    "id => !SafeMap.find('roads', id).options.dashArray", arg=shut["id"], timeout=15_000
                )
                color, dash, red = v.js(STYLE, shut["id"])
                assert color != red and dash is None
            a.js("id => { SafeMap.show('roads', id); }", shut["id"])
            assert "通行" in a.popup_shown().inner_text() and "封闭" not in a.page.inner_text(".leaflet-popup-content")
            # Closed elsewhere: the same red dashed on every open map.
            version = county.get("roads", other["id"])["properties"]["version"]
            client.patch(
                f"api/layers/roads/{other['id']}",
                json={"properties": {"status": "closed"}},
                headers={"If-Match": f'"{version}"'},
            )
            b.page.wait_for_function(
                "id => SafeMap.find('roads', id).options.dashArray === '8 6'", arg=other["id"], timeout=15_000
            )
            color, dash, red = b.js(STYLE, other["id"])
            assert color == red
            assert a.errors == [] and b.errors == []
        finally:
            a.close()
            b.close()


# ---------------------------------------------------------------------------- defect 3


def test_team_status_tells_one_story(browser: Any, county: FeatureStore, live: Any) -> None:
    token = create_token(county, "调度员甲", "dispatcher")
    with _api(live, token) as client:
        first = _dispatch(client, county)
        client.post("api/dispatch/release", json={"dispatch_ids": [d["id"] for d in first["dispatches"]]})
    # The 调度单号 is a number people can read out: date, time and three digits, never hex.
    assert re.fullmatch(r"\d{8}-\d{6}-\d{3}", first["plan_id"]), first["plan_id"]
    v = Visit(browser, live.url, size=(1600, 1000))
    try:
        v.js("t => { SafeMap.setToken(t); }", token)
        v.js("() => { SafeMap.openPanel('dispatch'); }")
        v.page.wait_for_function("() => SafeMap.events.connected()", timeout=15_000)
        # The released record: not "已归队", durations 分秒 and distances m/km.
        record = first["dispatches"][0]["id"]
        v.js("id => { SafeMap.show('dispatches', id); }", record)
        text = v.popup_shown().inner_text()
        assert "已归队" not in text and "已解除调度" in text
        assert re.search(r"\d+分\d\d秒", text) and re.search(r"\d+(\.\d)? (km|m)\b", text)
        assert not re.search(r"\d+\.\d+ s\b|\d+\.\d+ m\b|\(s\)|\(m\)", text), text
        assert not re.search(r"\b[0-9a-f]{12}\b", text)
        shots(v, "d3-released-record")
        v.js("() => { SafeMap.state.map.closePopup(); }")
        # The legend explains the status rings.
        rings = v.page.inner_text(".sm-dp-rings")
        assert all(word in rings for word in ("待命", "出动中", "休整"))
        # Dispatch again while the map is open: the team's popup says 出动中 (live), not 待命.
        with _api(live, token) as client:
            second = _dispatch(client, county)
        team = second["dispatches"][0]["properties"]["team_id"]
        v.page.wait_for_function(
            "id => SafeMap.find('rescue_teams', id).options.color === SafeMap.enumColor('team_status', 'dispatched')",
            arg=team,
            timeout=15_000,
        )
        v.js("id => { SafeMap.show('rescue_teams', id); }", team)
        text = v.popup_shown().inner_text()
        assert "出动中" in text and "待命" not in text
        shots(v, "d3-team-dispatched")
        v.js("() => { SafeMap.state.map.closePopup(); }")
        # Release asks first: dismissed, nothing happens; accepted, the team is released.
        v.page.wait_for_selector(".sm-dp-release", timeout=15_000)
        asked: list[str] = []

        def dismiss(d: Any) -> None:
            asked.append(d.message)
            d.dismiss()

        v.page.once("dialog", dismiss)
        v.page.click(".sm-dp-release")
        v.page.wait_for_function("() => true")
        assert asked and "解除" in asked[0]
        assert county.get("rescue_teams", team)["properties"]["status"] == "dispatched"
        v.page.once("dialog", lambda d: d.accept())
        v.page.click(".sm-dp-release")
        v.page.wait_for_function(
            "id => SafeMap.find('rescue_teams', id).options.color === SafeMap.enumColor('team_status', 'available')",
            arg=team,
            timeout=15_000,
        )
        assert county.get("rescue_teams", team)["properties"]["status"] == "available"
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()


# ---------------------------------------------------------------------------- defect 6 / deliver 9


def _tree_results(v: Visit) -> list[str]:
    return v.js(
        "() => Array.from(document.querySelectorAll('.leaflet-control-layers .sm-res-name')).map(e => e.textContent)"
    )


def test_analysis_results_are_layers_with_legend_and_clear(browser: Any, county_server: LiveServer) -> None:
    v = Visit(browser, county_server.url, size=(1600, 1000))
    try:
        # Service areas (覆盖分析), then close the panel: the result stays, named, in the layer control.
        v.js("() => { SafeMap.openPanel('coverage'); }")
        v.page.fill(".sm-cv-thresholds", "5,10")
        v.page.click(".sm-cv-areas")
        v.page.wait_for_function("() => SafeMap.results && SafeMap.results.has('coverage-areas')", timeout=60_000)
        v.js("() => { SafeMap.state.dock.toggle('coverage', false); }")
        assert v.js("() => SafeMap.state.map.hasLayer(SafeMap.panel('coverage').bands)")
        names = _tree_results(v)
        assert any(n.startswith("服务范围") for n in names), names
        assert "分析结果" in v.page.inner_text(".leaflet-control-layers")
        assert "服务范围" in v.page.inner_text(".sm-res-legend")
        # Violations: dashed magenta, not the red of fire lanes.
        v.js("() => { SafeMap.openPanel('planner'); }")
        v.page.check('[data-overlay="violations"]')
        v.page.wait_for_function("() => SafeMap.results.has('planner-violations')", timeout=60_000)
        style = v.js(
            """() => { const out = []; SafeMap.panel('planner').overlays.violations.eachLayer(l => out.push(
                 [l.options.color, l.options.dashArray])); return out[0]; }"""
        )
        lane = v.js("() => SafeMap.state.info.fire_lanes.paints[0].c")
        assert style[0].lower() != lane.lower() and style[1]
        # Contours have a legend.
        v.page.check('[data-overlay="contours"]')
        v.page.wait_for_function("() => SafeMap.results.has('planner-contours')", timeout=60_000)
        assert "等值线" in v.page.inner_text(".sm-res-legend")
        # The risk raster at county zoom says 放大查看.
        v.js("() => { SafeMap.state.map.setZoom(11, {animate: false}); }")
        v.page.check('[data-overlay="risk"]')
        v.page.wait_for_function("() => SafeMap.results.has('planner-risk')", timeout=60_000)
        v.page.wait_for_selector(".sm-pl-zoomhint", timeout=10_000)
        assert "放大查看" in v.page.inner_text(".sm-pl-zoomhint")
        v.js("() => { SafeMap.state.dock.toggle('planner', false); }")
        shots(v, "d6-results")
        # 清除 in the legend: the service areas leave the map, the layer control and the legend.
        v.page.click('.sm-res-legend [data-result="coverage-areas"] .sm-res-clear')
        assert not v.js("() => SafeMap.results.has('coverage-areas')")
        assert v.js("() => SafeMap.panel('coverage').bands.getLayers().length") == 0
        assert not any(n.startswith("服务范围") for n in _tree_results(v))
        # 全部清除 in the layer control: nothing left; the planner's boxes are unticked.
        v.page.click(".leaflet-control-layers .sm-res-clearall")
        assert v.js("() => SafeMap.results.keys()") == []
        assert v.page.query_selector(".sm-res-legend") is None
        assert not v.page.is_checked('[data-overlay="violations"]')
        assert v.page.query_selector(".sm-pl-zoomhint") is None
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()


def test_site_check_and_dispatch_plan_are_results(browser: Any, county: FeatureStore, live: Any) -> None:
    v = Visit(browser, live.url, size=(1600, 1000))
    try:
        incident = county.query("enterprises", limit=10).geometries[5]
        v.js("() => { SafeMap.openPanel('dispatch'); }")
        v.js("([x, y]) => { SafeMap.panel('dispatch').setIncident(L.latLng(y, x)); }", [incident.x, incident.y])
        v.page.click(".sm-dp-plan")
        v.page.wait_for_selector(".sm-dp-confirm", timeout=30_000)
        assert "调度方案" in _tree_results(v)
        v.js("() => { SafeMap.state.dock.toggle('dispatch', false); }")
        assert v.js("() => SafeMap.panel('dispatch').drawn.getLayers().length") > 0
        shots(v, "d6-dispatch-plan")
        v.page.click('.sm-res-legend [data-result="dispatch"] .sm-res-clear')
        assert v.js("() => SafeMap.panel('dispatch').drawn.getLayers().length") == 0
        assert "调度方案" not in _tree_results(v)
        assert v.errors == [] and v.blocked == []
    finally:
        v.close()
