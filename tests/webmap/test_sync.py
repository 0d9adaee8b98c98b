"""Every open map follows what others change (issue 14: "edits by others don't redraw other maps").

Two maps are open; changes made elsewhere — a hydrant added, moved and deleted through the API,
a dispatch confirmed by another dispatcher after the pages loaded, a road closed while roads are
drawn from vector tiles — appear on both without reloading, and an open 属性表 re-reads its page.
Each test failed before js/sync.js and the ``features`` events of api/events.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token
from tests.webmap.browsing import LiveServer, Visit, app_for
from tests.webmap.test_defects import _dispatch

pytestmark = pytest.mark.browser

WAIT = 15_000
CONNECTED = "() => SafeMap.events.connected()"


def _server(store: FeatureStore, **settings: Any) -> LiveServer:
    app = app_for(store, **settings)
    app.state.events_poll_s = 0.2
    return LiveServer(app)


def _client(server: LiveServer, store: FeatureStore) -> httpx.Client:
    token = create_token(store, "值班员乙", "admin")
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def _hydrant(lon: float, lat: float) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"name": "同步测试消火栓", "status": "ok"},
    }


def test_a_feature_added_moved_and_deleted_elsewhere_is_redrawn_on_every_map(
    browser: Any, demo_copy: FeatureStore
) -> None:
    server = _server(demo_copy)
    a = b = None
    try:
        a = Visit(browser, server.url, size=(1600, 1000))
        b = Visit(browser, server.url, size=(1366, 768))
        b.js("() => { SafeMap.table.open('hydrants'); }")
        b.page.wait_for_function("() => SafeMap.table.state() && SafeMap.table.state().total > 0", timeout=WAIT)
        before = b.js("() => SafeMap.table.state().total")
        for v in (a, b):
            v.page.wait_for_function(CONNECTED, timeout=WAIT)
        with _client(server, demo_copy) as api:
            r = api.post("api/layers/hydrants", json=_hydrant(82.985, 46.205))
            assert r.status_code == 201, r.text
            fid, version = r.json()["id"], r.json()["properties"]["version"]
            for v in (a, b):
                v.page.wait_for_function("id => !!SafeMap.find('hydrants', id)", arg=fid, timeout=WAIT)
            b.page.wait_for_function("n => SafeMap.table.state().total === n + 1", arg=before, timeout=WAIT)
            r = api.patch(
                f"api/layers/hydrants/{fid}",
                json={"geometry": {"type": "Point", "coordinates": [82.99, 46.21]}},
                headers={"If-Match": f'"{version}"'},
            )
            assert r.status_code == 200, r.text
            moved = (
                "id => { const l = SafeMap.find('hydrants', id);"
                " return !!l && Math.abs(l.getLatLng().lat - 46.21) < 1e-6; }"
            )
            for v in (a, b):
                v.page.wait_for_function(moved, arg=fid, timeout=WAIT)
            r = api.delete(f"api/layers/hydrants/{fid}", headers={"If-Match": f'"{r.json()["properties"]["version"]}"'})
            assert r.status_code in (200, 204), r.text
            for v in (a, b):
                v.page.wait_for_function("id => !SafeMap.find('hydrants', id)", arg=fid, timeout=WAIT)
        assert a.errors == [] and b.errors == []
    finally:
        for v in (a, b):
            if v is not None:
                v.close()
        server.stop()


def test_a_dispatch_confirmed_after_load_is_drawn_and_its_team_ringed(browser: Any, demo_copy: FeatureStore) -> None:
    server = _server(demo_copy)
    a = None
    try:
        a = Visit(browser, server.url, size=(1600, 1000))
        a.js("() => { SafeMap.openPanel('dispatch'); }")
        a.page.wait_for_function(CONNECTED, timeout=WAIT)
        with _client(server, demo_copy) as api:
            confirmed = _dispatch(api, demo_copy)
        record = confirmed["dispatches"][0]
        a.page.wait_for_function("id => !!SafeMap.find('dispatches', id)", arg=record["id"], timeout=WAIT)
        team = record["properties"]["team_id"] if "properties" in record else record["team_id"]
        ring = (
            "id => { const l = SafeMap.find('rescue_teams', id);"
            " return !!l && !!l.getElement() && l.getElement().getAttribute('data-status') === 'dispatched'; }"
        )
        a.page.wait_for_function(ring, arg=team, timeout=WAIT)
        assert a.errors == []
    finally:
        if a is not None:
            a.close()
        server.stop()


def test_a_road_closed_elsewhere_is_redrawn_from_fresh_tiles(browser: Any, demo_copy: FeatureStore) -> None:
    server = _server(demo_copy, map_tile_threshold=0)
    a = None
    try:
        a = Visit(browser, server.url, size=(1600, 1000))
        assert a.js("() => !!(SafeMap.state.tiles && SafeMap.state.tiles.roads)")
        a.js("() => { SafeMap.openPanel('dispatch'); }")
        a.page.wait_for_function(CONNECTED, timeout=WAIT)
        road = demo_copy.query("roads", filters={"road_class": ["national"]}, limit=1).rows[0]
        fresh = a.page.expect_request(lambda req: "/tiles/roads/" in req.url and "?v=" in req.url, timeout=WAIT)
        with fresh, _client(server, demo_copy) as api:
            r = api.patch(
                f"api/layers/roads/{road['id']}",
                json={"properties": {"status": "closed"}},
                headers={"If-Match": f'"{road["version"]}"'},
            )
            assert r.status_code == 200, r.text
        assert a.errors == []
    finally:
        if a is not None:
            a.close()
        server.stop()
