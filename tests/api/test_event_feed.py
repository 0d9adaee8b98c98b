"""The map's event stream tells every open map about every feature change (issue 14: edits by others).

A hydrant added, moved and deleted by one user reaches another map as ``features`` events
(layer, id, action, version) — on GeoPackage through the real server — while account changes,
audited in the same log, never reach the stream.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from safemap.api.services import accounts, event_feed
from safemap.layers import dispatching
from safemap.layers.model import Actor
from safemap.layers.store import FeatureStore
from safemap.layers.tokens import create_token
from tests.support.background_server import BackgroundServer

ADMIN = Actor("admin", "admin")


def _hydrant(lon: float = 82.98, lat: float = 46.2) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"name": "测试消火栓", "status": "ok"},
    }


def _events_since(store: FeatureStore, start: int) -> list[tuple[str, dict[str, Any]]]:
    cursor = event_feed.AuditCursor(start)
    return [e for row in cursor.rows(store) for e in event_feed.events(row, store)]


def test_every_layer_change_is_a_features_event_and_accounts_are_not(gpkg_store: FeatureStore) -> None:
    start = dispatching.latest_audit_id(gpkg_store)
    f = gpkg_store.create("hydrants", _hydrant(), ADMIN)
    moved = {**f, "geometry": {"type": "Point", "coordinates": [82.99, 46.21]}}
    f2 = gpkg_store.update("hydrants", f["id"], moved, ADMIN, expected_version=f["properties"]["version"])
    accounts.add_user(gpkg_store, "zhangsan", "张三", "planner", "Safe-Map-2026!", ADMIN)
    gpkg_store.delete("hydrants", f["id"], ADMIN, expected_version=f2["properties"]["version"])
    got = _events_since(gpkg_store, start)
    assert [name for name, _ in got] == ["features"] * 3
    assert [(d["layer"], d["id"], d["action"]) for _, d in got] == [
        ("hydrants", f["id"], "create"),
        ("hydrants", f["id"], "update"),
        ("hydrants", f["id"], "delete"),
    ]
    assert got[1][1]["version"] == f2["properties"]["version"] and got[1][1]["actor"] == "admin"


def test_followed_layers_also_get_their_own_event(gpkg_store: FeatureStore) -> None:
    from tests.api.test_dispatch_api import _seed

    ids = _seed(gpkg_store)
    start = dispatching.latest_audit_id(gpkg_store)
    road = gpkg_store.get("roads", ids["渡槽下穿"])
    closed = {**road, "properties": {**road["properties"], "status": "closed"}}
    gpkg_store.update("roads", road["id"], closed, ADMIN, expected_version=road["properties"]["version"])
    got = _events_since(gpkg_store, start)
    assert [name for name, _ in got] == ["features", "roads"]
    assert got[1][1]["status"] == "closed" and got[0][1]["layer"] == "roads"


def test_a_cursor_resends_nothing_and_skips_nothing(gpkg_store: FeatureStore) -> None:
    start = dispatching.latest_audit_id(gpkg_store)
    cursor = event_feed.AuditCursor(start)
    made = [gpkg_store.create("hydrants", _hydrant(82.9 + i / 1000), ADMIN)["id"] for i in range(3)]
    first = [row["feature_id"] for row in cursor.rows(gpkg_store)]
    assert first == made and list(cursor.rows(gpkg_store)) == []
    more = gpkg_store.create("hydrants", _hydrant(82.95), ADMIN)["id"]
    assert [row["feature_id"] for row in cursor.rows(gpkg_store)] == [more]


def test_an_edit_through_the_api_reaches_another_map(gpkg_store: FeatureStore, gpkg_path: Any) -> None:
    token = create_token(gpkg_store, "规划员甲", "admin")
    gpkg_store.close()
    auth = {"Authorization": f"Bearer {token}"}
    with BackgroundServer(gpkg_path) as url, httpx.stream("GET", url + "/api/events", timeout=20) as stream:
        lines = stream.iter_lines()
        for line in lines:
            if line.startswith("event: snapshot"):
                break
        r = httpx.post(url + "/api/layers/hydrants", json=_hydrant(), headers=auth)
        assert r.status_code == 201, r.text
        new_id = r.json()["id"]
        deadline, seen = time.monotonic() + 15, []
        for line in lines:
            seen.append(line)
            if line.startswith("data:") and f'"id":{new_id}' in line.replace(" ", "") and "hydrants" in line:
                break
            assert time.monotonic() < deadline, seen
    assert "event: features" in seen
